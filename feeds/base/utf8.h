/*
 * utf8.h — UTF-8 as Unicode defines it (table 3-7 of the standard): no overlong form, no
 * surrogate (U+D800..U+DFFF), nothing past U+10FFFF. The one decoder of the project: the
 * feed parser's byte stage and text cleaning, the HTML walk, queries and the config reader
 * all read UTF-8 through it.
 *
 * utf8_decode and utf8_encode are inline (the parser's hot loops call them per letter);
 * the others walk whole strings. Pure; any thread.
 */
#ifndef FEEDWATCH_UTF8_H
#define FEEDWATCH_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_MAX 4 /* bytes of one encoded code point */

/*
 * Decodes the sequence at s (n > 0 bytes available). Returns its length (1..4) with the code
 * point in *ret_cp; 0 when s[0..n) is the valid start of a sequence that n cuts; -1 when
 * s[0] does not start a valid sequence (a lone continuation byte, 0xc0, 0xc1, 0xf5..0xff, an
 * overlong form, a surrogate, past U+10FFFF, a missing continuation byte). *ret_cp is only
 * written on success.
 */
static inline int
utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    uint32_t cp;
    int need;

    if (c < 0x80) {
        *ret_cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        cp = c & 0x0fu;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        cp = c & 0x07u;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return -1;
    }
    for (int k = 1; k < need; k++) {
        if ((size_t)k >= n)
            return 0;
        unsigned char b = s[k];
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf))
            return -1;
        cp = cp << 6 | (b & 0x3fu);
    }
    *ret_cp = cp;
    return need;
}

/* utf8_decode without the code point: the length of the sequence at s, 0 when cut, -1. */
static inline int
utf8_len(const unsigned char *s, size_t n)
{
    uint32_t cp;
    return utf8_decode(s, n, &cp);
}

/*
 * Encodes cp (at most U+10FFFF; a surrogate is encoded as it is, so callers that take code
 * points from outside check them first) into out; returns the bytes written, 1..4.
 */
static inline size_t
utf8_encode(uint32_t cp, unsigned char out[UTF8_MAX])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the longest valid UTF-8 prefix of s[0..n): n when all of it is valid. */
size_t utf8_valid_prefix(const char *s, size_t n);

/*
 * Length of the longest prefix of s[0..n) of at most max bytes that does not end inside a
 * sequence (it backs off over continuation bytes): where to cut a string for a message.
 */
size_t utf8_cut(const char *s, size_t n, size_t max);

#endif
