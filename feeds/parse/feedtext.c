/* feedtext.c — string cleaning for parsed feeds: UTF-8, control characters, plain titles. */
#include "parse/feedtext.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/buf.h"
#include "base/utf8.h"
#include "parse/charset.h"

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
            cp = (int32_t)charset_cp1252_c1((uint32_t)cp); /* what "&#146;" meant (HTML5) */
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

/* Appends cp (a valid code point: feedtext_entity gives no other) as UTF-8. */
static int
append_cp(struct buf *b, int32_t cp)
{
    unsigned char enc[UTF8_MAX];

    return buf_append(b, enc, utf8_encode((uint32_t)cp, enc));
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
        size_t j = i;
        char c;

        while (j < len && s[j] != '<' && s[j] != '&')
            j++;
        if (j > i && (r = buf_append(out, s + i, j - i)) < 0)
            return r;
        i = j;
        if (i >= len)
            break;
        c = s[i];
        if (c == '<' && i + 1 < len &&
            ((s[i + 1] >= 'a' && s[i + 1] <= 'z') || (s[i + 1] >= 'A' && s[i + 1] <= 'Z') ||
             s[i + 1] == '/' || s[i + 1] == '!' || s[i + 1] == '?')) {
            const char *end;

            if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
                end = memmem(s + i + 4, len - i - 4, "-->", 3);
                i = end ? (size_t)(end - s) + 3 : len;
                continue;
            }
            end = memchr(s + i, '>', len - i);
            if (!end)
                return buf_append(out, s + i, len - i);
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

/* Whether s holds a '<' or a '&' (what html_to_text changes). */
static bool
has_markup(const char *s, size_t len)
{
    size_t i = 0;

#if defined(__SSE2__)
    const __m128i lt = _mm_set1_epi8('<'), amp = _mm_set1_epi8('&');

    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));

        if (_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, lt), _mm_cmpeq_epi8(v, amp))))
            return true;
    }
#endif
    for (; i < len; i++) {
        if (s[i] == '<' || s[i] == '&')
            return true;
    }
    return false;
}

/* Whether s is escaped markup as a whole: no '<' at all, and "&lt;tag" with "&gt;". */
static bool
double_escaped(const char *s, size_t len)
{
    const char *p;
    size_t left = len;

    if (memchr(s, '<', len))
        return false;
    for (p = s; (p = memmem(p, left, "&lt;", 4)) != NULL; p += 4, left = len - (size_t)(p - s)) {
        char c = (size_t)(p - s) + 4 < len ? p[4] : '\0';

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '/' || c == '!')
            return memmem(s, len, "&gt;", 4) != NULL;
        if ((size_t)(p - s) + 4 >= len)
            break;
    }
    return false;
}

/* Decodes every character reference of s once. */
static int
html_unescape(const char *s, size_t len, struct buf *out)
{
    size_t i = 0;
    int r;

    while (i < len) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t j = amp ? (size_t)(amp - s) : len, n;
        int32_t cp;

        if (j > i && (r = buf_append(out, s + i, j - i)) < 0)
            return r;
        i = j;
        if (i >= len)
            break;
        n = feedtext_entity(
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
    }
    return 0;
}

/* The value of a base64 digit (RFC 4648 §4), or -1. */
static int
base64_digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Whether s is made of base64 digits, '=' and whitespace only. */
bool
feedtext_base64_like(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!ascii_space(c) && c != '=' && base64_digit(c) < 0)
            return false;
    }
    return true;
}

/* Decodes base64 text into *ret; -EINVAL unless it is base64 of UTF-8 text. */
int
feedtext_base64(const char *s, size_t len, char **ret, size_t *ret_len)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char *out = malloc(len / 4 * 3 + 3 + 1);
    uint32_t acc = 0;
    size_t o = 0, n = 0, pad = 0;

    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        int d;

        if (ascii_space(u[i]))
            continue;
        if (u[i] == '=') {
            pad++;
            continue;
        }
        if (pad > 0 || (d = base64_digit(u[i])) < 0)
            goto invalid; /* a digit after padding, or not a digit */
        acc = acc << 6 | (uint32_t)d;
        if (++n % 4 == 0) {
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            acc = 0;
        }
    }
    /* A final group of 2 or 3 digits gives 1 or 2 bytes; of 1 digit, nothing whole. */
    if (n % 4 == 1 || pad > 2)
        goto invalid;
    if (n % 4 == 2) {
        out[o++] = (unsigned char)(acc >> 4);
    } else if (n % 4 == 3) {
        out[o++] = (unsigned char)(acc >> 10);
        out[o++] = (unsigned char)(acc >> 2);
    }
    for (size_t i = 0; i < o;) {
        uint32_t cp;
        int k;

        if (out[i] < 0x80) {
            if (out[i] < 0x20 && out[i] != '\t' && out[i] != '\n' && out[i] != '\r')
                goto invalid;
            i++;
            continue;
        }
        if ((k = utf8_decode(out + i, o - i, &cp)) <= 0 || is_control(cp))
            goto invalid;
        i += (size_t)k;
    }
    out[o] = '\0';
    *ret = (char *)out;
    *ret_len = o;
    return 0;

invalid:
    free(out);
    return -EINVAL;
}

/* Index of the first byte of u[i..len) that is not printable ASCII (0x20..0x7e), or len. */
static size_t
skip_printable(const unsigned char *u, size_t i, size_t len)
{
#if defined(__SSE2__)
    const __m128i low = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);

    while (i + 16 <= len) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
        /* Signed: bytes 0x80..0xff are negative, so below 0x20 as well. */
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmplt_epi8(v, low), _mm_cmpeq_epi8(v, del)));

        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#else
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;

    while (i + 8 <= len) {
        uint64_t w;

        memcpy(&w, u + i, 8);
        if ((((w - ones * 0x20) & ~w) | ((w + ones) | w)) & high)
            break;
        i += 8;
    }
#endif
    while (i < len && u[i] >= 0x20 && u[i] < 0x7f)
        i++;
    return i;
}

#if defined(__SSE2__)
/* Which ASCII bytes skip_plain_utf8 copies as they are. */
enum plain_mode {
    PLAIN_TOKEN,     /* TOKEN: 0x20..0x7e */
    PLAIN_HTML,      /* HTML: 0x20..0x7e, \t \n \r */
    PLAIN_LINE,      /* LINE kinds: 0x21..0x7e, and a single space between two of them */
    PLAIN_TEXT_HTML, /* TEXT_HTML: 0x20..0x7e but & < >, \t \n \r */
};

/* The byte classes of 16 bytes, one bit per byte (see skip_plain_utf8). */
struct plain_masks {
    unsigned pr;     /* plain ASCII of the mode (for PLAIN_LINE: 0x20..0x7e, space included) */
    unsigned spaces; /* ' ' (PLAIN_LINE only) */
    unsigned cont;   /* 0x80..0xbf */
    unsigned l2;     /* 0xc3..0xdf */
    unsigned l3;     /* 0xe1..0xec, 0xee */
};

static inline __attribute__((always_inline)) struct plain_masks
plain_classify(__m128i v, enum plain_mode mode)
{
    const __m128i c1f = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f), sp = _mm_set1_epi8(' '),
                  amp = _mm_set1_epi8('&'), lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'),
                  tab = _mm_set1_epi8('\t'), nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
    const __m128i c0 = _mm_set1_epi8((char)0xc0), c2 = _mm_set1_epi8((char)0xc2),
                  e0 = _mm_set1_epi8((char)0xe0), ed = _mm_set1_epi8((char)0xed),
                  ee = _mm_set1_epi8((char)0xee);
    /* Signed compares: 0x80..0xff are -128..-1 (0x80..0xbf below 0xc0 = -64). */
    __m128i prv = _mm_andnot_si128(_mm_cmpeq_epi8(v, del), _mm_cmpgt_epi8(v, c1f));
    struct plain_masks m;

    m.cont = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(v, c0));
    m.l2 = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpgt_epi8(v, c2), _mm_cmplt_epi8(v, e0)));
    m.l3 = (unsigned)_mm_movemask_epi8(_mm_or_si128(
        _mm_and_si128(_mm_cmpgt_epi8(v, e0), _mm_cmplt_epi8(v, ed)), _mm_cmpeq_epi8(v, ee)));
    if (mode == PLAIN_HTML || mode == PLAIN_TEXT_HTML)
        prv = _mm_or_si128(
            prv, _mm_or_si128(_mm_cmpeq_epi8(v, tab),
                              _mm_or_si128(_mm_cmpeq_epi8(v, nl), _mm_cmpeq_epi8(v, cr))));
    if (mode == PLAIN_TEXT_HTML)
        prv = _mm_andnot_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, amp),
                         _mm_or_si128(_mm_cmpeq_epi8(v, lt), _mm_cmpeq_epi8(v, gt))),
            prv);
    m.pr = (unsigned)_mm_movemask_epi8(prv);
    m.spaces = mode == PLAIN_LINE ? (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, sp)) : 0;
    return m;
}

/*
 * Where the bytes of m stop being taken (m.pr of PLAIN_LINE already has its spaces
 * settled): the index in the block of the first byte not taken, with a sequence cut by it
 * left whole to the caller; or n when all n bytes are taken. Bits at n and above are zero.
 */
static inline __attribute__((always_inline)) unsigned
plain_stop(const struct plain_masks *m, unsigned n)
{
    unsigned valid = n >= 32 ? ~0u : (1u << n) - 1;
    unsigned expect = (m->l2 << 1) | (m->l3 << 1) | (m->l3 << 2);
    unsigned any = m->pr | m->cont | m->l2 | m->l3;
    /* A lead whose sequence runs past the block counts as a stop at n. */
    unsigned bad = ((~any | (m->cont ^ expect)) & valid) | ((expect & ~valid) ? 1u << n : 0);
    unsigned k;

    if (bad == 0)
        return n;
    k = (unsigned)__builtin_ctz(bad);
    /* A sequence that starts before k but is not complete by then is not taken. */
    if (k >= 1 && ((m->l2 | m->l3) >> (k - 1)) & 1)
        k -= 1;
    else if (k >= 2 && (m->l3 >> (k - 2)) & 1)
        k -= 2;
    return k;
}

/* PLAIN_LINE: a space is taken only between a letter before it and one starting after it. */
static inline __attribute__((always_inline)) void
plain_line_spaces(struct plain_masks *m)
{
    unsigned letter = (m->pr & ~m->spaces) | m->cont | m->l2 | m->l3; /* checked by plain_stop */
    unsigned starts = (m->pr & ~m->spaces) | m->l2 | m->l3;

    m->pr = (m->pr & ~m->spaces) | (m->spaces & (letter << 1) & (starts >> 1));
}

/*
 * Index of the first byte of u[i..len) that is neither a plain ASCII byte of mode nor part
 * of a complete two-byte sequence led by 0xc3..0xdf or three-byte sequence led by
 * 0xe1..0xec / 0xee, or len. Those sequences are valid UTF-8 (no overlong form, no
 * surrogate) and are never a control, U+00A0 or U+FFFE / U+FFFF, so they are copied as they
 * are; anything else (0xc2, 0xe0, 0xed, 0xef, four bytes, invalid bytes) is left to the
 * caller. In PLAIN_LINE a space is taken only between two letters (a run never starts or
 * ends with one), which is what collapsing whitespace gives there. 16 bytes at a time: the
 * text of most languages written in Latin, Greek or Cyrillic letters runs through without a
 * stop. u[0..len) is readable and i is at the start of a character: the last, partial block
 * is read as the 16 bytes that end at len (when len >= 16), its bytes before i dropped.
 */
static size_t
skip_plain_utf8(const unsigned char *u, size_t i, size_t len, enum plain_mode mode)
{
    const __m128i c1f = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f);
    struct plain_masks m;
    unsigned k, sh;

    while (i + 16 <= len) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + i));

        if ((mode == PLAIN_TOKEN || mode == PLAIN_HTML) &&
            _mm_movemask_epi8(_mm_andnot_si128(_mm_cmpeq_epi8(v, del), _mm_cmpgt_epi8(v, c1f))) ==
                0xffff) {
            i += 16; /* printable ASCII only */
            continue;
        }
        m = plain_classify(v, mode);
        if (mode == PLAIN_LINE)
            plain_line_spaces(&m);
        k = plain_stop(&m, 16);
        if (k == 16) {
            i += 16;
            continue;
        }
        /* Nor a space that ends up last (the byte after it was not taken after all). */
        if (mode == PLAIN_LINE && k >= 1 && u[i + k - 1] == ' ')
            k -= 1;
        return i + k;
    }
    if (i >= len || len < 16)
        return i;
    /* The rest, 1 to 15 bytes: the last 16 bytes of u, shifted so that bit 0 is byte i. */
    sh = (unsigned)(i - (len - 16));
    m = plain_classify(_mm_loadu_si128((const __m128i *)(const void *)(u + len - 16)), mode);
    m.pr >>= sh;
    m.spaces >>= sh;
    m.cont >>= sh;
    m.l2 >>= sh;
    m.l3 >>= sh;
    if (mode == PLAIN_LINE)
        plain_line_spaces(&m);
    k = plain_stop(&m, 16 - sh);
    if (mode == PLAIN_LINE && k >= 1 && u[i + k - 1] == ' ')
        k -= 1;
    return i + k;
}
#endif

/*
 * End of the run of s[i..len) that is copied as it is: plain bytes of kind (tab), and valid
 * UTF-8 sequences that are neither controls nor (line kinds) U+00A0. wide: every printable
 * ASCII byte is plain for kind, so they are skipped 16 at a time. Sequences the inline
 * checks below do not take end the run; the caller's per-character path decides on them.
 * mode (enum plain_mode, for kind) is what skip_plain_utf8 takes 16 bytes at a time.
 */
static size_t
plain_run(const unsigned char *u, size_t i, size_t len, const bool *tab, bool line, bool wide,
          int mode)
{
    (void)mode; /* enum plain_mode, used where SSE2 is there */
    for (;;) {
        unsigned char c;
        uint32_t cp;
        int k;

#if defined(__SSE2__)
        i = skip_plain_utf8(u, i, len, mode);
#endif
        if (wide && i < len && u[i] < 0x80)
            i = skip_printable(u, i, len);
        if (i >= len)
            return len;
        c = u[i];
        if (tab[c]) {
            i++;
            if (!wide) {
                while (i < len && tab[u[i]])
                    i++;
            }
            continue;
        }
        if (c < 0x80)
            return i;
        /* A letter: not a control (C1, U+FFFE, U+FFFF), nor U+00A0 (a space) on a line. */
        k = utf8_decode(u + i, len - i, &cp);
        if (k <= 0 || is_control(cp) || (line && cp == 0xa0))
            return i;
        i += (size_t)k;
    }
}

/*
 * Bytes copied as they are, per kind: printable ASCII always (but & < > for TEXT_HTML), the
 * space for all but the LINE kinds, \t \n \r for the HTML kinds. Constant tables, written
 * by the preprocessor from that rule, so any thread may clean text with no first-use step.
 */
#define PLAIN_BYTE(c, k)                                                                           \
    ((c) > 0x20 && (c) < 0x7f                                                                      \
         ? !((k) == FEEDTEXT_TEXT_HTML && ((c) == '&' || (c) == '<' || (c) == '>'))                \
     : (c) == ' ' ? ((k) != FEEDTEXT_LINE && (k) != FEEDTEXT_HTML_LINE)                            \
     : ((c) == '\t' || (c) == '\n' || (c) == '\r')                                                 \
         ? ((k) == FEEDTEXT_HTML || (k) == FEEDTEXT_TEXT_HTML)                                     \
         : false)
#define PLAIN_4(c, k)                                                                              \
    PLAIN_BYTE(c, k), PLAIN_BYTE((c) + 1, k), PLAIN_BYTE((c) + 2, k), PLAIN_BYTE((c) + 3, k)
#define PLAIN_16(c, k) PLAIN_4(c, k), PLAIN_4((c) + 4, k), PLAIN_4((c) + 8, k), PLAIN_4((c) + 12, k)
#define PLAIN_64(c, k)                                                                             \
    PLAIN_16(c, k), PLAIN_16((c) + 16, k), PLAIN_16((c) + 32, k), PLAIN_16((c) + 48, k)
#define PLAIN_ROW(k)                                                                               \
    {                                                                                              \
        PLAIN_64(0, k), PLAIN_64(64, k), PLAIN_64(128, k), PLAIN_64(192, k)                        \
    }

static const bool plain[5][256] = {
    PLAIN_ROW(FEEDTEXT_HTML),  PLAIN_ROW(FEEDTEXT_LINE),      PLAIN_ROW(FEEDTEXT_HTML_LINE),
    PLAIN_ROW(FEEDTEXT_TOKEN), PLAIN_ROW(FEEDTEXT_TEXT_HTML),
};

/* Cleans len bytes of s as kind into *ret (NULL when nothing is left). */
int
feedtext_clean(const char *s, size_t len, enum feedtext_kind kind, char **ret)
{
    struct buf tmp;
    const unsigned char *u;
    const bool *tab;
    bool line, wide, pending_space = false;
    int mode = 0; /* enum plain_mode where SSE2 is there */
    size_t i = 0, o = 0, cap, start, end;
    char *out;
    int r = 0;

    tmp = (struct buf){.max = SIZE_MAX}; /* buf_init, inline: most fields never use it */
    if (kind == FEEDTEXT_HTML_AUTO) {
        kind = FEEDTEXT_HTML;
        if (double_escaped(s, len)) {
            if ((r = html_unescape(s, len, &tmp)) < 0)
                goto done;
            s = buf_str(&tmp);
            len = tmp.len;
        }
    } else if (kind == FEEDTEXT_HTML_LINE && has_markup(s, len)) {
        /* Without '<' or '&' html_to_text would copy the text as it is. */
        if ((r = html_to_text(s, len, &tmp)) < 0)
            goto done;
        s = buf_str(&tmp);
        len = tmp.len;
    }
    line = kind == FEEDTEXT_LINE || kind == FEEDTEXT_HTML_LINE;
    tab = plain[kind];
    wide = kind == FEEDTEXT_HTML || kind == FEEDTEXT_TOKEN;
#if defined(__SSE2__)
    mode = kind == FEEDTEXT_HTML    ? PLAIN_HTML
           : kind == FEEDTEXT_TOKEN ? PLAIN_TOKEN
           : line                   ? PLAIN_LINE
                                    : PLAIN_TEXT_HTML;
#endif
    /*
     * ASCII whitespace at either end of the input can only give whitespace at the ends of the
     * output, which is trimmed below (or a pending space that is never written): skip it.
     */
    while (len > 0 && ascii_space((unsigned char)s[0])) {
        s++;
        len--;
    }
    while (len > 0 && ascii_space((unsigned char)s[len - 1]))
        len--;
    if (len > SIZE_MAX / 5 - 1) {
        r = -ENOMEM;
        goto done;
    }
    /*
     * The output is about as long as the input: start there and grow only for what
     * lengthens it (an invalid byte becomes U+FFFD, 3 bytes; an escaped '&' 5). Invariant:
     * o + (len - i) + 1 <= cap, so copying the rest as it is always fits.
     */
    cap = len + 16;
    out = malloc(cap);
    if (!out) {
        r = -ENOMEM;
        goto done;
    }
    u = (const unsigned char *)s;
    while (i < len) {
        size_t j = i;
        unsigned char c;
        uint32_t cp;
        int k;

        j = plain_run(u, i, len, tab, line, wide, mode);
        if (j > i) {
            if (pending_space && o > 0)
                out[o++] = ' ';
            pending_space = false;
            memcpy(out + o, s + i, j - i);
            o += j - i;
            i = j;
            if (i >= len)
                break;
        }
        c = u[i];
        if (o + (len - i) + 8 > cap) {
            char *bigger;

            cap = cap * 2 + 8;
            bigger = realloc(out, cap);
            if (!bigger) {
                free(out);
                r = -ENOMEM;
                goto done;
            }
            out = bigger;
        }
        if (c < 0x80) {
            const char *rep = NULL;

            i++;
            if (ascii_space(c) && line) {
                pending_space = true;
                continue;
            }
            if (c == '&')
                rep = "&amp;";
            else if (c == '<')
                rep = "&lt;";
            else if (c == '>')
                rep = "&gt;";
            if (!rep || kind != FEEDTEXT_TEXT_HTML)
                continue; /* a control character (or \t \n \r in a token) */
            if (pending_space && o > 0)
                out[o++] = ' ';
            pending_space = false;
            memcpy(out + o, rep, strlen(rep));
            o += strlen(rep);
            continue;
        }
        k = utf8_decode(u + i, len - i, &cp);
        if (k <= 0) {
            /* One invalid byte becomes one U+FFFD, then decoding resumes. */
            cp = 0xfffd;
            k = 1;
        }
        i += (size_t)k;
        if (line && cp == 0xa0) {
            pending_space = true;
            continue;
        }
        if (is_control(cp))
            continue;
        if (pending_space && o > 0)
            out[o++] = ' ';
        pending_space = false;
        if (cp == 0xfffd && k == 1) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
        } else {
            memcpy(out + o, s + i - (size_t)k, (size_t)k);
            o += (size_t)k;
        }
    }
    /* Trim what is left at both ends (LINE kinds never start or end with a space). */
    start = 0;
    end = o;
    while (start < end && ascii_space((unsigned char)out[start]))
        start++;
    while (end > start && ascii_space((unsigned char)out[end - 1]))
        end--;
    if (start == end) {
        free(out);
        *ret = NULL;
    } else {
        char *res;

        if (start > 0)
            memmove(out, out + start, end - start);
        out[end - start] = '\0';
        /* Give back what was reserved only when it is worth a realloc. */
        if (cap - (end - start + 1) > 64) {
            res = realloc(out, end - start + 1);
            out = res ? res : out;
        }
        *ret = out;
    }
done:
    if (tmp.data)
        buf_done(&tmp);
    return r;
}
