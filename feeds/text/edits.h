/*
 * edits.h — edited items: whether a stored item's title or text, as its feed gives them, changed
 * materially between two polls, and the field-level diff of the change (PRODUCT.md, "Edited
 * items").
 *
 * The fingerprint (base/hash.h, hash_item_fields) is a 64-bit hash of the exact bytes of an
 * item's title, summary and content: equal fingerprints mean nothing changed and nothing more
 * is read. When they differ, the two
 * versions are compared as plain text (edits_feed_text: the content, else the summary, from
 * HTML to text): an edit is material when the title's words change, or when a sentence of the
 * text is removed or added. Words are compared normalized (normalize.h: case, accents, width
 * and Unicode form folded; punctuation and whitespace are not words), and the tracking
 * parameters of the links written in the text (utm_*, fbclid, gclid, ...: edits_is_tracking)
 * are left out first, so none of those alone is an edit; sentences that only moved are not one
 * either.
 *
 * Sentences: the text splits at a line break and after '.', '!', '?' or '…' followed by a
 * space (and after '。', '！', '？'), at most EDITS_MAX_SENTENCES of them (the rest of a longer
 * text is one more piece); only the first EDITS_MAX_TEXT bytes of a text are compared.
 *
 * The diff, as JSON (what hooks get as `changes`): an array of {"field": "title", "before":
 * TITLE, "after": TITLE} when the title changed, and {"field": "text", "before": [REMOVED
 * SENTENCES], "after": [ADDED SENTENCES], "removed": N, "added": M} when the text did, in text
 * order; a list holds at most EDITS_MAX_LISTED sentences (N and M count them all), each cut at
 * EDITS_MAX_SENTENCE bytes, and a title is cut at EDITS_MAX_SENTENCE bytes too: a diff stays
 * under about 2 × 20 × 1 KiB whatever the item.
 *
 * Pure: no I/O, no clock; any thread.
 */
#ifndef FEEDWATCH_EDITS_H
#define FEEDWATCH_EDITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDITS_MAX_TEXT (256u * 1024)  /* bytes of a text compared */
#define EDITS_MAX_HTML (1024u * 1024) /* bytes of an item's HTML made into text to compare */
#define EDITS_MAX_SENTENCES 4096      /* sentences of a text compared one by one */
#define EDITS_MAX_LISTED 20           /* sentences listed in a diff, each side */
#define EDITS_MAX_SENTENCE 1024       /* bytes of a listed sentence or title */

/*
 * The plain text of an item as its feed gives it: its content, else its summary, HTML to text
 * (html.h), of its first EDITS_MAX_HTML bytes. 0 with *ret_text (malloc'ed; "" when there is
 * none), or -ENOMEM.
 */
int edits_feed_text(const char *summary, const char *content, char **ret_text);

/* Whether name, a URL query parameter's name, is a tracking parameter (utm_*, fbclid, ...). */
bool edits_is_tracking(const char *name, size_t len);

/*
 * text with the tracking parameters of every http(s) URL in it left out (a new string), or
 * NULL on OOM.
 */
char *edits_strip_tracking(const char *text, size_t len);

/* One piece of a text: a sentence, as bytes of the text it was split from. */
struct edits_span {
    size_t off, len;
};

/*
 * Splits len bytes of text into sentences (leading and trailing whitespace left out, empty
 * ones dropped) into *ret_spans (malloc'ed; NULL when there are none), *ret_n of them.
 * 0 or -ENOMEM.
 */
int edits_sentences(const char *text, size_t len, struct edits_span **ret_spans, size_t *ret_n);

/*
 * Compares two versions of an item (titles and plain texts; each may be NULL, as ""): 1 when
 * the edit is material, with *ret_changes the diff as JSON (malloc'ed), 0 when it is not
 * (*ret_changes NULL), or -ENOMEM.
 */
int edits_compare(const char *title_before, const char *text_before, const char *title_after,
                  const char *text_after, char **ret_changes);

#endif
