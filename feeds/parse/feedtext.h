/*
 * feedtext.h — cleaning of the strings a feed carries, before they enter struct feed_item.
 *
 * Every string comes out as valid UTF-8 (invalid bytes become U+FFFD) without NUL, C0 or C1
 * control characters; only HTML keeps its tabs and line breaks. Titles are turned into plain
 * text (tags stripped, HTML entities decoded, whitespace collapsed). Results are malloc'ed;
 * an empty result is NULL, so that absent and blank are the same. Pure; any thread.
 */
#ifndef FEEDWATCH_FEEDTEXT_H
#define FEEDWATCH_FEEDTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum feedtext_kind {
    FEEDTEXT_HTML,      /* markup kept; \t \n \r kept; outer whitespace trimmed */
    FEEDTEXT_LINE,      /* one line of plain text: whitespace runs become one space */
    FEEDTEXT_HTML_LINE, /* HTML turned into one line of plain text (RSS and html titles) */
    FEEDTEXT_TOKEN,     /* ids, URLs, types: outer whitespace and any \t \n \r removed */
    FEEDTEXT_TEXT_HTML, /* plain text kept in an HTML field: cleaned as HTML, & < > escaped */
    FEEDTEXT_HTML_AUTO, /* HTML; when the whole text is escaped markup ("&lt;p&gt;" with no
                           '<', a double-escaped feed), it is unescaped once first */
};

/*
 * Cleans len bytes of s as kind into *ret (NULL when nothing is left). Returns 0 or
 * -ENOMEM; *ret is written only on success.
 */
int feedtext_clean(const char *s, size_t len, enum feedtext_kind kind, char **ret);

/*
 * Decodes the base64 text of len bytes at s (RFC 4648 §4; whitespace anywhere is skipped,
 * '=' padding optional) into *ret, NUL-terminated, its length in *ret_len: at most 3/4 of
 * len, so the input's own bound bounds it. Returns 0, -EINVAL when s is not base64 or the
 * result is not text (not UTF-8, or a control character other than tab and line breaks:
 * a binary file), or -ENOMEM; *ret is written only on success.
 */
int feedtext_base64(const char *s, size_t len, char **ret, size_t *ret_len);

/* Whether s is made of base64 digits, '=' and whitespace only (whether or not it decodes). */
bool feedtext_base64_like(const char *s, size_t len);

/*
 * Decodes one HTML character reference at s ("&amp;", "&#233;", "&#x1F600;"), of at most
 * len bytes. On success writes the code point and returns the bytes consumed; 0 when s
 * does not start with a complete reference.
 */
size_t feedtext_entity(const char *s, size_t len, int32_t *ret_cp);

#endif
