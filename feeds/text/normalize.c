#include "text/normalize.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "base/buf.h"

#define MAX_PARTS 16               /* parts of one hyphenated word */
#define POS_LIMIT (UINT32_MAX / 2) /* tokenizing stops there (hostile input) */
#define NORMALIZE_MAX_TEXT (64u * 1024u * 1024u)
#define OUT_INLINE 512 /* bytes of normalized word kept on the stack */

/* Options of the word normalization: NFKC, case folding, marks and ignorables dropped. */
#define NORM_OPTS                                                                                  \
    (UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_IGNORE)

enum ncls {
    N_SEP,    /* separates words */
    N_WORD,   /* letter, digit or mark */
    N_JOIN,   /* hyphen or apostrophe: joins two word characters */
    N_IGNORE, /* format characters (soft hyphen, zero-width joiner): skipped inside words */
    N_CJK,    /* Han or kana: bigrams */
};

/* A piece of source text and its normalized bytes in st->out. */
struct npiece {
    size_t off, len;
    size_t noff, nlen;
};

struct ntok {
    normalize_token_cb cb;
    void *userdata;
    const char *text;
    uint32_t pos;
    uint32_t run;
    utf8proc_int32_t *cps; /* utf8proc scratch, allocated at the first non-ASCII piece */
    size_t cps_cap;
    char *out; /* normalized bytes of the current word or run: out_inline, else the heap */
    size_t out_len, out_cap;
    struct npiece parts[MAX_PARTS];
    struct npiece chars[NORMALIZE_MAX_WORD];
    char out_inline[OUT_INLINE];
};

/* The class of each ASCII byte (N_SEP for bytes >= 0x80, which take the slow path). */
static const unsigned char ascii_cls[256] = {
    ['0'] = N_WORD, ['1'] = N_WORD, ['2'] = N_WORD, ['3'] = N_WORD,  ['4'] = N_WORD, ['5'] = N_WORD,
    ['6'] = N_WORD, ['7'] = N_WORD, ['8'] = N_WORD, ['9'] = N_WORD,  ['A'] = N_WORD, ['B'] = N_WORD,
    ['C'] = N_WORD, ['D'] = N_WORD, ['E'] = N_WORD, ['F'] = N_WORD,  ['G'] = N_WORD, ['H'] = N_WORD,
    ['I'] = N_WORD, ['J'] = N_WORD, ['K'] = N_WORD, ['L'] = N_WORD,  ['M'] = N_WORD, ['N'] = N_WORD,
    ['O'] = N_WORD, ['P'] = N_WORD, ['Q'] = N_WORD, ['R'] = N_WORD,  ['S'] = N_WORD, ['T'] = N_WORD,
    ['U'] = N_WORD, ['V'] = N_WORD, ['W'] = N_WORD, ['X'] = N_WORD,  ['Y'] = N_WORD, ['Z'] = N_WORD,
    ['a'] = N_WORD, ['b'] = N_WORD, ['c'] = N_WORD, ['d'] = N_WORD,  ['e'] = N_WORD, ['f'] = N_WORD,
    ['g'] = N_WORD, ['h'] = N_WORD, ['i'] = N_WORD, ['j'] = N_WORD,  ['k'] = N_WORD, ['l'] = N_WORD,
    ['m'] = N_WORD, ['n'] = N_WORD, ['o'] = N_WORD, ['p'] = N_WORD,  ['q'] = N_WORD, ['r'] = N_WORD,
    ['s'] = N_WORD, ['t'] = N_WORD, ['u'] = N_WORD, ['v'] = N_WORD,  ['w'] = N_WORD, ['x'] = N_WORD,
    ['y'] = N_WORD, ['z'] = N_WORD, ['-'] = N_JOIN, ['\''] = N_JOIN,
};

/* An ASCII word character folded to lower case; 0 for anything else. */
static const char ascii_fold[256] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5', ['6'] = '6',
    ['7'] = '7', ['8'] = '8', ['9'] = '9', ['A'] = 'a', ['a'] = 'a', ['B'] = 'b', ['b'] = 'b',
    ['C'] = 'c', ['c'] = 'c', ['D'] = 'd', ['d'] = 'd', ['E'] = 'e', ['e'] = 'e', ['F'] = 'f',
    ['f'] = 'f', ['G'] = 'g', ['g'] = 'g', ['H'] = 'h', ['h'] = 'h', ['I'] = 'i', ['i'] = 'i',
    ['J'] = 'j', ['j'] = 'j', ['K'] = 'k', ['k'] = 'k', ['L'] = 'l', ['l'] = 'l', ['M'] = 'm',
    ['m'] = 'm', ['N'] = 'n', ['n'] = 'n', ['O'] = 'o', ['o'] = 'o', ['P'] = 'p', ['p'] = 'p',
    ['Q'] = 'q', ['q'] = 'q', ['R'] = 'r', ['r'] = 'r', ['S'] = 's', ['s'] = 's', ['T'] = 't',
    ['t'] = 't', ['U'] = 'u', ['u'] = 'u', ['V'] = 'v', ['v'] = 'v', ['W'] = 'w', ['w'] = 'w',
    ['X'] = 'x', ['x'] = 'x', ['Y'] = 'y', ['y'] = 'y', ['Z'] = 'z', ['z'] = 'z',
};

static enum ncls
ascii_class(unsigned char c)
{
    return (enum ncls)ascii_cls[c];
}

static bool
is_cjk(utf8proc_int32_t cp)
{
    return (cp >= 0x3040 && cp <= 0x30ff) || /* hiragana, katakana */
           (cp >= 0x31f0 && cp <= 0x31ff) || /* katakana phonetic extensions */
           (cp >= 0x3400 && cp <= 0x4dbf) || /* Han extension A */
           (cp >= 0x4e00 && cp <= 0x9fff) || /* Han */
           (cp >= 0xf900 && cp <= 0xfaff) || /* Han compatibility */
           (cp >= 0xff66 && cp <= 0xff9d) || /* half-width katakana */
           (cp >= 0x20000 && cp <= 0x3134f); /* Han extensions B.. */
}

static enum ncls
classify(utf8proc_int32_t cp)
{
    if (cp < 0x80)
        return ascii_class((unsigned char)cp);
    if (is_cjk(cp))
        return N_CJK;
    switch (cp) {
    case 0x2010: /* hyphen */
    case 0x2011: /* non-breaking hyphen */
    case 0xfe63: /* small hyphen-minus */
    case 0xff0d: /* full-width hyphen-minus */
    case 0x2019: /* right single quotation mark, the usual typographic apostrophe */
    case 0xff07: /* full-width apostrophe */
        return N_JOIN;
    default:
        break;
    }
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return N_WORD;
    case UTF8PROC_CATEGORY_CF:
        return N_IGNORE;
    default:
        return N_SEP;
    }
}

/* Decodes the code point at text[i]; its length, or 1 with *cp = -1 for an invalid byte. */
static size_t
decode(const char *text, size_t len, size_t i, utf8proc_int32_t *cp)
{
    unsigned char c = (unsigned char)text[i];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t avail = len - i < 4 ? len - i : 4;
    utf8proc_ssize_t n =
        utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)avail, cp);
    if (n <= 0) {
        *cp = -1;
        return 1;
    }
    return (size_t)n;
}

/* Letters without a decomposition that accent-insensitive matching must still fold. */
static utf8proc_int32_t
on_utf8proc_fold(utf8proc_int32_t cp, void *data)
{
    (void)data;
    switch (cp) {
    case 0x0110:
    case 0x0111:
        return 'd'; /* Đ đ (Vietnamese, Croatian) */
    case 0x0141:
    case 0x0142:
        return 'l'; /* Ł ł */
    case 0x00d8:
    case 0x00f8:
        return 'o'; /* Ø ø */
    case 0x0126:
    case 0x0127:
        return 'h'; /* Ħ ħ */
    case 0x0131:
        return 'i'; /* dotless ı */
    case 0x0166:
    case 0x0167:
        return 't'; /* Ŧ ŧ */
    default:
        return cp;
    }
}

static int
out_reserve(struct ntok *st, size_t more)
{
    if (more <= st->out_cap - st->out_len)
        return 0;
    size_t cap = st->out_cap ? st->out_cap : 256;
    while (cap - st->out_len < more) {
        if (cap > SIZE_MAX / 2)
            return -ENOMEM;
        cap *= 2;
    }
    char *p;
    if (st->out == st->out_inline) {
        p = malloc(cap);
        if (p)
            memcpy(p, st->out, st->out_len);
    } else {
        p = realloc(st->out, cap);
    }
    if (!p)
        return -ENOMEM;
    st->out = p;
    st->out_cap = cap;
    return 0;
}

static int
cps_reserve(struct ntok *st, size_t n)
{
    if (n <= st->cps_cap)
        return 0;
    if (n > SIZE_MAX / sizeof(*st->cps))
        return -ENOMEM;
    utf8proc_int32_t *p = realloc(st->cps, n * sizeof(*p));
    if (!p)
        return -ENOMEM;
    st->cps = p;
    st->cps_cap = n;
    return 0;
}

static bool
keep_category(utf8proc_int32_t cp)
{
    if (cp < 0x80)
        return ascii_class((unsigned char)cp) == N_WORD;
    utf8proc_category_t c = utf8proc_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
           (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

/*
 * Appends the normalized form of a piece (word characters and ignorables only) to st->out
 * and records where it went. ascii: the piece is pure ASCII and scan_word() has already
 * written it, lowered, at st->out + st->out_len.
 */
static int
norm_piece(struct ntok *st, size_t off, size_t len, bool ascii, struct npiece *p)
{
    const char *s = st->text + off;
    int r;

    p->off = off;
    p->len = len;
    p->noff = st->out_len;
    p->nlen = 0;
    if (ascii) {
        st->out_len += len;
        p->nlen = len;
        return 0;
    }

    if (st->cps_cap == 0) {
        r = cps_reserve(st, 4 * NORMALIZE_MAX_WORD + 1);
        if (r < 0)
            return r;
    }
    utf8proc_ssize_t n;
    for (;;) {
        n = utf8proc_decompose_custom((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, st->cps,
                                      (utf8proc_ssize_t)st->cps_cap, NORM_OPTS, on_utf8proc_fold,
                                      NULL);
        if (n < 0)
            return n == UTF8PROC_ERROR_NOMEM ? -ENOMEM : 0; /* valid input: cannot happen */
        if ((size_t)n + 1 <= st->cps_cap)
            break;
        r = cps_reserve(st, (size_t)n + 1 + 64);
        if (r < 0)
            return r;
    }
    size_t kept = 0;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        if (keep_category(st->cps[i]))
            st->cps[kept++] = st->cps[i];
    }
    if (kept == 0)
        return 0;
    /* utf8proc_reencode writes UTF-8 over the array, plus a NUL: kept + 1 slots suffice. */
    utf8proc_ssize_t blen = utf8proc_reencode(st->cps, (utf8proc_ssize_t)kept, NORM_OPTS);
    if (blen <= 0)
        return 0;
    r = out_reserve(st, (size_t)blen);
    if (r < 0)
        return r;
    memcpy(st->out + st->out_len, st->cps, (size_t)blen);
    st->out_len += (size_t)blen;
    p->nlen = (size_t)blen;
    return 0;
}

static int
emit(struct ntok *st, const char *norm, size_t nlen, uint32_t pos, uint32_t span, size_t off,
     size_t len, bool joined, bool cjk)
{
    struct normalize_token t = {
        .norm = norm,
        .norm_len = nlen,
        .pos = pos,
        .span = span,
        .off = off,
        .len = len,
        .run = st->run,
        .joined = joined,
        .cjk = cjk,
    };
    return st->cb(&t, st->userdata);
}

/* Emits the parts of a word, then its joined form. */
static int
emit_word(struct ntok *st, size_t n_parts)
{
    size_t first = SIZE_MAX, last = 0, n_kept = 0;
    uint32_t pos = st->pos;
    int r;

    for (size_t i = 0; i < n_parts; i++) {
        struct npiece *p = &st->parts[i];
        if (p->nlen == 0)
            continue;
        if (first == SIZE_MAX)
            first = i;
        last = i;
        r = emit(st, st->out + p->noff, p->nlen, pos, 0, p->off, p->len, false, false);
        if (r != 0)
            return r;
        pos++;
        n_kept++;
    }
    if (n_kept == 0)
        return 0;
    if (n_kept > 1) {
        struct npiece *a = &st->parts[first], *b = &st->parts[last];
        r = emit(st, st->out + a->noff, b->noff + b->nlen - a->noff, st->pos,
                 (uint32_t)(n_kept - 1), a->off, b->off + b->len - a->off, true, false);
        if (r != 0)
            return r;
    }
    st->pos = pos;
    st->run++;
    return 0;
}

/* Emits the bigrams of a Han/kana run (a single character stays a unigram). */
static int
emit_cjk(struct ntok *st, size_t n_chars)
{
    size_t idx[NORMALIZE_MAX_WORD];
    size_t n = 0;
    int r;

    for (size_t i = 0; i < n_chars; i++)
        if (st->chars[i].nlen > 0)
            idx[n++] = i;
    if (n == 0)
        return 0;
    if (n == 1) {
        struct npiece *c = &st->chars[idx[0]];
        r = emit(st, st->out + c->noff, c->nlen, st->pos, 0, c->off, c->len, false, true);
        if (r != 0)
            return r;
        st->pos++;
        st->run++;
        return 0;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        struct npiece *a = &st->chars[idx[i]], *b = &st->chars[idx[i + 1]];
        char pair[64];
        size_t plen = a->nlen + b->nlen;
        const char *norm;
        if (b->noff == a->noff + a->nlen) {
            norm = st->out + a->noff; /* contiguous: no copy */
        } else if (plen <= sizeof(pair)) {
            memcpy(pair, st->out + a->noff, a->nlen);
            memcpy(pair + a->nlen, st->out + b->noff, b->nlen);
            norm = pair;
        } else {
            continue; /* a pathological expansion: skip the pair, keep positions */
        }
        r = emit(st, norm, plen, st->pos + (uint32_t)i, 0, a->off, b->off + b->len - a->off, false,
                 true);
        if (r != 0)
            return r;
    }
    st->pos += (uint32_t)(n - 1);
    st->run++;
    return 0;
}

/* Scans a word starting at text[i]; returns the index after it. */
static int
scan_word(struct ntok *st, size_t len, size_t *io)
{
    size_t i = *io, n_parts = 0;
    utf8proc_int32_t cp;
    int r;

    st->out_len = 0;
    for (;;) {
        size_t start = i, n_cps;
        bool ascii = true;
        /* Fast path: ASCII word characters lowered straight into st->out, one lookup each. */
        if (NORMALIZE_MAX_WORD > st->out_cap - st->out_len) {
            r = out_reserve(st, NORMALIZE_MAX_WORD);
            if (r < 0)
                return r;
        }
        /* locals: a store through o may alias anything in *st, not a local */
        char *o = st->out + st->out_len;
        const unsigned char *in = (const unsigned char *)st->text + start;
        size_t n_max = len - start < NORMALIZE_MAX_WORD ? len - start : NORMALIZE_MAX_WORD;
        size_t j = 0;
        while (j < n_max) {
            char f = ascii_fold[in[j]];
            if (!f)
                break;
            o[j] = f;
            j++;
        }
        i = start + j;
        n_cps = j;
        while (i < len && n_cps < NORMALIZE_MAX_WORD) {
            unsigned char b = (unsigned char)st->text[i];
            if (b < 0x80) {
                if (ascii_cls[b] != N_WORD)
                    break;
                i++;
                n_cps++;
                continue;
            }
            size_t n = decode(st->text, len, i, &cp);
            enum ncls c = cp < 0 ? N_SEP : classify(cp);
            if (c != N_WORD && c != N_IGNORE)
                break;
            ascii = false;
            i += n;
            n_cps++;
        }
        if (ascii) { /* norm_piece() for an ASCII piece, inline */
            st->parts[n_parts++] = (struct npiece){start, i - start, st->out_len, i - start};
            st->out_len += i - start;
        } else {
            r = norm_piece(st, start, i - start, false, &st->parts[n_parts++]);
            if (r < 0)
                return r;
        }
        if (n_cps >= NORMALIZE_MAX_WORD || n_parts == MAX_PARTS || i >= len)
            break;
        /* A joiner continues the word only when a word character follows it. */
        unsigned char b = (unsigned char)st->text[i];
        if (b < 0x80 && ascii_cls[b] != N_JOIN)
            break;
        size_t jn = decode(st->text, len, i, &cp);
        if (cp < 0 || classify(cp) != N_JOIN || i + jn >= len)
            break;
        utf8proc_int32_t next;
        (void)decode(st->text, len, i + jn, &next);
        if (next < 0 || classify(next) != N_WORD)
            break;
        i += jn;
    }
    *io = i;
    return emit_word(st, n_parts);
}

static int
scan_cjk(struct ntok *st, size_t len, size_t *io)
{
    size_t i = *io, n_chars = 0;
    utf8proc_int32_t cp;
    int r;

    st->out_len = 0;
    while (i < len && n_chars < NORMALIZE_MAX_WORD) {
        size_t n = decode(st->text, len, i, &cp);
        if (cp < 0)
            break;
        enum ncls c = classify(cp);
        if (c == N_CJK) {
            r = norm_piece(st, i, n, false, &st->chars[n_chars++]);
            if (r < 0)
                return r;
        } else if (c == N_IGNORE || (c == N_WORD && utf8proc_category(cp) >= UTF8PROC_CATEGORY_MN &&
                                     utf8proc_category(cp) <= UTF8PROC_CATEGORY_ME)) {
            /* marks and format characters inside a run are skipped */
        } else {
            break;
        }
        i += n;
    }
    *io = i;
    return emit_cjk(st, n_chars);
}

/* Tokenizes text, calling cb for each token. */
int
normalize_tokenize(const char *text, size_t len, uint32_t first_pos, normalize_token_cb cb,
                   void *userdata, uint32_t *ret_next_pos)
{
    /* On the stack (about 5 KB, nothing of it cleared but the header): two calls per item. */
    struct ntok state;
    struct ntok *st = &state;
    int r = 0;

    st->cb = cb;
    st->userdata = userdata;
    st->text = text;
    st->pos = first_pos;
    st->run = 0;
    st->cps = NULL;
    st->cps_cap = 0;
    st->out = st->out_inline;
    st->out_len = 0;
    st->out_cap = sizeof(st->out_inline);
    size_t i = 0;
    const unsigned char *in = (const unsigned char *)text;
    while (r == 0 && i < len && st->pos < POS_LIMIT) {
        unsigned char c = in[i];
        if (c < 0x80) {
            if (ascii_cls[c] != N_WORD) {
                /* ASCII separators up to the next word (or non-ASCII byte) */
                i++;
                while (i < len && in[i] < 0x80 && ascii_cls[in[i]] != N_WORD)
                    i++;
                continue;
            }
            /*
             * Fast path: an ASCII word that ends at an ASCII separator, the end of the text
             * or its NORMALIZE_MAX_WORD-th character is one token, as scan_word() would make
             * it; anything else (a joiner, a non-ASCII byte next) goes to scan_word().
             */
            size_t n_max = len - i < NORMALIZE_MAX_WORD ? len - i : NORMALIZE_MAX_WORD;
            size_t j = 0;
            char *o = st->out; /* out_cap >= OUT_INLINE >= NORMALIZE_MAX_WORD */
            while (j < n_max) {
                char f = ascii_fold[in[i + j]];
                if (!f)
                    break;
                o[j] = f;
                j++;
            }
            size_t e = i + j;
            if (j == n_max || (in[e] < 0x80 && ascii_cls[in[e]] == N_SEP)) {
                st->out_len = j;
                r = emit(st, o, j, st->pos, 0, i, j, false, false);
                st->pos++;
                st->run++;
                i = e;
                continue;
            }
            r = scan_word(st, len, &i);
            continue;
        }
        utf8proc_int32_t cp;
        size_t n = decode(text, len, i, &cp);
        enum ncls k = cp < 0 ? N_SEP : classify(cp);
        if (k == N_WORD)
            r = scan_word(st, len, &i);
        else if (k == N_CJK)
            r = scan_cjk(st, len, &i);
        else
            i += n;
    }
    if (r == 0 && ret_next_pos)
        *ret_next_pos = st->pos;
    free(st->cps);
    if (st->out != st->out_inline)
        free(st->out);
    return r;
}

struct text_ctx {
    struct buf b;
};

static int
on_token_text(const struct normalize_token *tok, void *userdata)
{
    struct text_ctx *ctx = userdata;
    int r;

    if (tok->joined)
        return 0;
    if (ctx->b.len > 0) {
        r = buf_append_char(&ctx->b, ' ');
        if (r < 0)
            return r;
    }
    return buf_append(&ctx->b, tok->norm, tok->norm_len);
}

/* The normalized parts of a text separated by spaces. */
char *
normalize_text(const char *text, size_t len)
{
    struct text_ctx ctx;

    buf_init(&ctx.b, NORMALIZE_MAX_TEXT);
    if (normalize_tokenize(text, len, 0, on_token_text, &ctx, NULL) != 0) {
        buf_done(&ctx.b);
        return NULL;
    }
    if (ctx.b.len == 0) {
        buf_done(&ctx.b);
        return strdup("");
    }
    return buf_steal(&ctx.b);
}
