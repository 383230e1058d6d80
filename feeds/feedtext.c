/* feedtext.c — string cleaning for parsed feeds: UTF-8, control characters, plain titles. */
#include "feedtext.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <utf8proc.h>

#include "buf.h"

#define FEEDTEXT_MAX_ENTITY 40 /* longest reference we look at, "&" to ";" */

static bool
ascii_space(int32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* C0, DEL and C1 controls, plus U+FFFE/U+FFFF which no text should carry. */
static bool
is_control(int32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0xfffe || c == 0xffff;
}

/*
 * HTML5 maps numeric references in 0x80..0x9F to windows-1252, since that is what
 * authors meant by "&#146;". Zero entries have no mapping (U+FFFD).
 */
static int32_t
cp1252_c1(int32_t c)
{
    static const uint16_t map[32] = {
        0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
        0x2039, 0x0152, 0,      0x017d, 0,      0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
        0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178,
    };
    int32_t m = map[c - 0x80];

    return m ? m : 0xfffd;
}

/* Decodes one HTML character reference at s; returns the bytes consumed or 0. */
size_t
feedtext_entity(const char *s, size_t len, int32_t *ret_cp)
{
    char name[FEEDTEXT_MAX_ENTITY + 1];
    size_t i = 1, n = 0;
    int32_t cp = 0;

    if (len < 3 || s[0] != '&')
        return 0;
    if (s[1] == '#') {
        bool hex = len > 2 && (s[2] == 'x' || s[2] == 'X');
        size_t digits = 0;

        i = hex ? 3 : 2;
        for (; i < len && digits < 10; i++, digits++) {
            char c = s[i];
            int v;

            if (c >= '0' && c <= '9')
                v = c - '0';
            else if (hex && c >= 'a' && c <= 'f')
                v = c - 'a' + 10;
            else if (hex && c >= 'A' && c <= 'F')
                v = c - 'A' + 10;
            else
                break;
            if (cp <= 0x10ffff)
                cp = cp * (hex ? 16 : 10) + v;
        }
        if (digits == 0 || i >= len || s[i] != ';')
            return 0;
        if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            cp = 0xfffd;
        else if (cp >= 0x80 && cp <= 0x9f)
            cp = cp1252_c1(cp);
        *ret_cp = cp;
        return i + 1;
    }
    for (; i < len && n < FEEDTEXT_MAX_ENTITY; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            break;
        name[n++] = c;
    }
    if (n == 0 || i >= len || s[i] != ';')
        return 0;
    name[n] = '\0';
    if (strcmp(name, "apos") == 0) {
        cp = '\'';
    } else {
        const htmlEntityDesc *e = htmlEntityLookup((const xmlChar *)name);

        if (!e)
            return 0;
        cp = (int32_t)e->value;
    }
    *ret_cp = cp;
    return i + 1;
}

/* Tags that separate words when stripped (anything not known to be inline). */
static bool
tag_is_inline(const char *s, size_t len)
{
    static const char *const inl[] = {
        "a",      "abbr",   "b",    "big", "cite", "code", "em",    "font",
        "i",      "kbd",    "mark", "q",   "s",    "samp", "small", "span",
        "strike", "strong", "sub",  "sup", "time", "tt",   "u",     "var",
    };
    char name[16];
    size_t n = 0;

    if (len > 0 && s[0] == '/') {
        s++;
        len--;
    }
    while (n < len && n < sizeof(name) - 1 &&
           ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z'))) {
        name[n] = (char)(s[n] | 0x20);
        n++;
    }
    name[n] = '\0';
    for (size_t i = 0; i < sizeof(inl) / sizeof(inl[0]); i++) {
        if (strcmp(name, inl[i]) == 0)
            return true;
    }
    return false;
}

static int
append_cp(struct buf *b, int32_t cp)
{
    utf8proc_uint8_t enc[4];
    utf8proc_ssize_t n = utf8proc_encode_char(cp, enc);

    return buf_append(b, enc, (size_t)n);
}

/*
 * HTML to plain text for titles: tags dropped (a non-inline tag becomes a space),
 * comments dropped, character references decoded once. A '<' that does not open a tag
 * ("x < y") stays.
 */
static int
html_to_text(const char *s, size_t len, struct buf *out)
{
    size_t i = 0;
    int r;

    while (i < len) {
        char c = s[i];

        if (c == '<' && i + 1 < len &&
            ((s[i + 1] >= 'a' && s[i + 1] <= 'z') || (s[i + 1] >= 'A' && s[i + 1] <= 'Z') ||
             s[i + 1] == '/' || s[i + 1] == '!' || s[i + 1] == '?')) {
            const char *end;

            if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
                const char *p = s + i + 4;
                size_t left = len - i - 4;

                end = NULL;
                for (size_t k = 0; k + 2 < left + 0 && !end; k++) {
                    if (p[k] == '-' && p[k + 1] == '-' && p[k + 2] == '>')
                        end = p + k + 2;
                }
                i = end ? (size_t)(end - s) + 1 : len;
                continue;
            }
            end = memchr(s + i, '>', len - i);
            if (!end) {
                r = buf_append(out, s + i, len - i);
                return r;
            }
            if (!tag_is_inline(s + i + 1, (size_t)(end - s) - i - 1)) {
                r = buf_append_char(out, ' ');
                if (r < 0)
                    return r;
            }
            i = (size_t)(end - s) + 1;
        } else if (c == '&') {
            int32_t cp;
            size_t n = feedtext_entity(
                s + i, len - i < FEEDTEXT_MAX_ENTITY + 2 ? len - i : FEEDTEXT_MAX_ENTITY + 2, &cp);

            if (n > 0) {
                r = append_cp(out, cp);
                i += n;
            } else {
                r = buf_append_char(out, '&');
                i++;
            }
            if (r < 0)
                return r;
        } else {
            r = buf_append_char(out, c);
            if (r < 0)
                return r;
            i++;
        }
    }
    return 0;
}

/* Cleans len bytes of s as kind into *ret (NULL when nothing is left). */
int
feedtext_clean(const char *s, size_t len, enum feedtext_kind kind, char **ret)
{
    struct buf tmp, out;
    const utf8proc_uint8_t *p;
    size_t n, i = 0;
    bool pending_space = false;
    int r = 0;

    buf_init(&tmp, SIZE_MAX);
    buf_init(&out, SIZE_MAX);
    if (kind == FEEDTEXT_HTML_LINE) {
        r = html_to_text(s, len, &tmp);
        if (r < 0)
            goto done;
        s = buf_str(&tmp);
        len = tmp.len;
    }
    p = (const utf8proc_uint8_t *)s;
    n = len;
    while (i < n) {
        int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);

        if (k < 1) {
            /* One invalid byte becomes one U+FFFD, then decoding resumes. */
            cp = 0xfffd;
            k = 1;
        }
        i += (size_t)k;
        if (kind == FEEDTEXT_LINE || kind == FEEDTEXT_HTML_LINE) {
            if (ascii_space(cp) || cp == 0xa0) {
                pending_space = true;
                continue;
            }
        } else if (kind == FEEDTEXT_TOKEN) {
            if (cp == '\t' || cp == '\n' || cp == '\r')
                continue;
        }
        if (is_control(cp) && !(kind == FEEDTEXT_HTML && (cp == '\t' || cp == '\n' || cp == '\r')))
            continue;
        if (pending_space) {
            pending_space = false;
            if (out.len > 0 && (r = buf_append_char(&out, ' ')) < 0)
                goto done;
        }
        if ((r = append_cp(&out, cp)) < 0)
            goto done;
    }
    /* Trim what is left at both ends (LINE kinds never start or end with a space). */
    {
        size_t start = 0, end = out.len;
        const char *d = buf_str(&out);

        while (start < end && ascii_space((unsigned char)d[start]))
            start++;
        while (end > start && ascii_space((unsigned char)d[end - 1]))
            end--;
        if (start == end) {
            *ret = NULL;
        } else {
            char *res = malloc(end - start + 1);

            if (!res) {
                r = -ENOMEM;
                goto done;
            }
            memcpy(res, d + start, end - start);
            res[end - start] = '\0';
            *ret = res;
        }
    }
done:
    buf_done(&tmp);
    buf_done(&out);
    return r;
}
