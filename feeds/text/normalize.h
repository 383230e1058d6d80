/*
 * normalize.h — Unicode normalization and tokenization, the same for topic queries and item
 * text (utf8proc).
 *
 * A word is normalized to NFKC, case folded, stripped of marks, and a few letters that have
 * no decomposition are folded by hand (đ → d, ł → l, ø → o, ħ → h, ı → i, ŧ → t), so
 * "Oekraïne" = "oekraine", "ОБСЕ" = "обсе", "ＯＳＣＥ" = "osce", "Đà Nẵng" = "da nang".
 * Pure-ASCII words take a fast path (bytes lowered one by one).
 *
 * Tokenizing splits text into words at anything that is not a letter, digit or mark. A hyphen
 * or apostrophe between two word characters joins a word of several parts: each part is a
 * token at its own position and the joined form is one more token that spans all of them, so
 * "co-operation" gives "co"@p, "operation"@p+1 and "cooperation"@p..p+1 and phrases keep
 * their positions. Han and kana runs become overlapping character bigrams (a lone character
 * stays a unigram). A run longer than NORMALIZE_MAX_WORD code points is cut into pieces of
 * that size. Invalid UTF-8 bytes separate words. Pure; any thread; no globals.
 */
#ifndef FEEDWATCH_NORMALIZE_H
#define FEEDWATCH_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NORMALIZE_MAX_WORD 128 /* code points per piece of a word */

/* One token handed to a normalize_tokenize() callback; valid only during the call. */
struct normalize_token {
    const char *norm; /* normalized UTF-8, not NUL-terminated */
    size_t norm_len;
    uint32_t pos;  /* position of the (first) word */
    uint32_t span; /* further positions it covers: 0, or parts - 1 for a joined form */
    size_t off;    /* bytes of the source text it came from */
    size_t len;
    uint32_t run; /* number of the word (or CJK run) it belongs to, from 0 */
    bool joined;  /* the joined form of a hyphenated word */
    bool cjk;     /* a bigram or unigram of a Han/kana run */
};

/* Called for each token in text order (a joined form after its parts); nonzero stops. */
typedef int (*normalize_token_cb)(const struct normalize_token *tok, void *userdata);

/*
 * Tokenizes len bytes of text, numbering positions from first_pos. Calls cb for each token
 * and returns the first nonzero value cb returned, or 0; *ret_next_pos (may be NULL) gets the
 * position after the last word. -ENOMEM on OOM.
 */
int normalize_tokenize(const char *text, size_t len, uint32_t first_pos, normalize_token_cb cb,
                       void *userdata, uint32_t *ret_next_pos);

/*
 * The normalized parts of a text (joined forms left out), separated by single spaces: a new
 * string ("" for a text without words), or NULL on OOM.
 */
char *normalize_text(const char *text, size_t len);

#endif
