/*
 * charset.c — the byte stage's sniffing and decoding (feedprep.c has the story): which kind
 * of document this is (XML or JSON) and its encoding (BOM > XML declaration > HTTP charset >
 * UTF-8), then its bytes as UTF-8 for the markup filter. UTF-8 input is checked 16 bytes at a
 * time (SSE2) and its invalid bytes read as windows-1252; other encodings go through iconv,
 * an invalid sequence becoming U+FFFD. Also the charset parameter of an HTTP Content-Type
 * (charset.h), which the fetches of the daemon and the CLI hand to feedparse_set_charset.
 */
#include "parse/charset.h"
#include "parse/feedprep.h"
#include "parse/feedprep-internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/utf8.h"

/* windows-1252 for 0x80..0x9F (WHATWG); 0 marks the five unassigned bytes. */
static const uint16_t cp1252_high[32] = {
    0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017d, 0,      0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178,
};

/* windows-1252's character for c in 0x80..0x9F; U+FFFD for an unassigned byte. */
uint32_t
charset_cp1252_c1(uint32_t c)
{
    uint16_t m = cp1252_high[c - 0x80];
    return m ? m : 0xfffd;
}

/* Index of the first byte of s[i..n) that is not ASCII, or n. */
static size_t
skip_ascii(const unsigned char *s, size_t i, size_t n)
{
#if defined(__SSE2__)
    while (i + 16 <= n) {
        unsigned m =
            (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + i)));

        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#else
    while (i + 8 <= n) {
        uint64_t w;

        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ULL)
            break;
        i += 8;
    }
#endif
    while (i < n && s[i] < 0x80)
        i++;
    return i;
}

#if defined(__SSE2__)
/*
 * Index of the first byte of s[i..n) that is not ASCII nor part of a complete two-byte
 * sequence (lead 0xc2..0xdf) or three-byte sequence led by 0xe1..0xec / 0xee..0xef, or n:
 * those are valid UTF-8 whatever follows them; anything else (0xe0, 0xed, four bytes,
 * invalid bytes, a sequence cut by the end) is left to the caller's byte-wise check. 16
 * bytes at a time, without a branch per letter, for text in any script of two or three
 * bytes a character.
 */
static size_t
skip_valid_utf8(const unsigned char *s, size_t i, size_t n)
{
    /* Signed compares: 0x80..0xff are -128..-1. */
    const __m128i c0 = _mm_set1_epi8((char)0xc0), c1 = _mm_set1_epi8((char)0xc1),
                  e0 = _mm_set1_epi8((char)0xe0), ed = _mm_set1_epi8((char)0xed),
                  f0 = _mm_set1_epi8((char)0xf0);

    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned high = (unsigned)_mm_movemask_epi8(v);

        if (high == 0) {
            i += 16; /* all ASCII: the usual case in markup */
            continue;
        }
        unsigned ascii = ~high & 0xffffu;
        unsigned cont = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(v, c0));
        unsigned l2 = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpgt_epi8(v, c1), _mm_cmplt_epi8(v, e0)));
        unsigned l3 = (unsigned)_mm_movemask_epi8(_mm_andnot_si128(
            _mm_cmpeq_epi8(v, ed), _mm_and_si128(_mm_cmpgt_epi8(v, e0), _mm_cmplt_epi8(v, f0))));
        unsigned expect = (l2 << 1) | (l3 << 1) | (l3 << 2);
        unsigned bad = (~(ascii | cont | l2 | l3) & 0xffffu) | (cont ^ expect);
        unsigned k;

        if (bad == 0) {
            i += 16;
            continue;
        }
        k = (unsigned)__builtin_ctz(bad);
        /* A sequence that starts before k but is not complete by then is not taken. */
        if (k >= 1 && ((l2 | l3) >> (k - 1)) & 1)
            k -= 1;
        else if (k >= 2 && (l3 >> (k - 2)) & 1)
            k -= 2;
        return i + k;
    }
    return i;
}
#endif

/* ---- decoding ---- */

/* An invalid byte of UTF-8 input, read as windows-1252 (C1 controls as letters). */
static int
emit_cp1252(struct feedprep *pp, unsigned char b)
{
    uint32_t cp = b;
    unsigned char enc[UTF8_MAX];

    pp->n_invalid++;
    if (b >= 0x80 && b <= 0x9f)
        cp = charset_cp1252_c1(b);
    return prep_filter(pp, (const char *)enc, utf8_encode(cp, enc));
}

static int
decode_utf8(struct feedprep *pp, const char *buf, size_t n)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0, start = 0;
    int r;

    if (pp->pend_len > 0) {
        unsigned char tmp[8];
        size_t take = n < 4 ? n : 4, m = pp->pend_len + take, j = 0, old = pp->pend_len;

        memcpy(tmp, pp->pend, pp->pend_len);
        memcpy(tmp + pp->pend_len, s, take);
        while (j < old) {
            int k = utf8_len(tmp + j, m - j);

            if (k > 0) {
                if ((r = prep_filter(pp, (const char *)tmp + j, (size_t)k)) < 0)
                    return r;
                j += (size_t)k;
            } else if (k == 0) {
                /* Still incomplete: every new byte went into it (n < 4). */
                memmove(pp->pend, tmp + j, m - j);
                pp->pend_len = m - j;
                return 0;
            } else {
                if ((r = emit_cp1252(pp, tmp[j])) < 0)
                    return r;
                j++;
            }
        }
        pp->pend_len = 0;
        s += j - old;
        buf += j - old;
        n -= j - old;
    }
    while (i < n) {
        unsigned char c;
        int k;

#if defined(__SSE2__)
        i = skip_valid_utf8(s, i, n);
        if (i == n)
            break;
#endif
        c = s[i];
        if (c < 0x80) {
            /* A lone ASCII byte between letters of another script; else a run of them. */
            if (i + 1 < n && s[i + 1] >= 0x80) {
                i++;
                continue;
            }
            i = skip_ascii(s, i, n);
            if (i == n)
                break;
        }
        /* A letter the SSE2 scan left to this check (or every letter without SSE2). */
        k = utf8_len(s + i, n - i);
        if (k > 0) {
            i += (size_t)k;
            continue;
        }
        if ((r = prep_filter(pp, buf + start, i - start)) < 0)
            return r;
        if (k == 0) {
            memcpy(pp->pend, s + i, n - i);
            pp->pend_len = n - i;
            return 0;
        }
        if ((r = emit_cp1252(pp, s[i])) < 0)
            return r;
        i++;
        start = i;
    }
    return prep_filter(pp, buf + start, n - start);
}

static int
decode_iconv_block(struct feedprep *pp, char *in, size_t inleft, bool final)
{
    char ubuf[FEEDPREP_ISTAGE];
    int r;

    while (inleft > 0) {
        char *out = ubuf;
        size_t outleft = sizeof(ubuf);
        size_t rc = iconv(pp->cd, &in, &inleft, &out, &outleft);
        int e = errno;

        if ((r = prep_filter(pp, ubuf, sizeof(ubuf) - outleft)) < 0)
            return r;
        if (rc != (size_t)-1)
            break;
        if (e == E2BIG)
            continue;
        if (e == EINVAL && !final && inleft <= sizeof(pp->pend)) {
            memcpy(pp->pend, in, inleft);
            pp->pend_len = inleft;
            return 0;
        }
        /* EILSEQ, or a sequence cut by the end of the input: one U+FFFD, then go on. */
        pp->n_invalid++;
        if ((r = prep_filter(pp, "\xef\xbf\xbd", 3)) < 0)
            return r;
        in++;
        inleft--;
    }
    return 0;
}

static int
decode_iconv(struct feedprep *pp, const char *buf, size_t n, bool final)
{
    char stage[FEEDPREP_ISTAGE + sizeof(pp->pend)];
    int r;

    do {
        size_t take = n < FEEDPREP_ISTAGE ? n : FEEDPREP_ISTAGE, m = pp->pend_len;

        memcpy(stage, pp->pend, m);
        memcpy(stage + m, buf, take);
        pp->pend_len = 0;
        buf += take;
        n -= take;
        if ((r = decode_iconv_block(pp, stage, m + take, final && n == 0)) < 0)
            return r;
    } while (n > 0);
    return 0;
}

int
prep_decode(struct feedprep *pp, const char *buf, size_t n)
{
    if (n == 0)
        return 0;

    return pp->use_iconv ? decode_iconv(pp, buf, n, false) : decode_utf8(pp, buf, n);
}

/* ---- sniffing ---- */

static bool
is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Copies the encoding pseudo-attribute of the XML declaration h[0..n) into out. */
static bool
decl_encoding(const unsigned char *h, size_t n, char *out, size_t size)
{
    size_t i = 5, k = 0;
    char q;

    for (; i + 8 < n; i++) {
        if (h[i] == '?' && h[i + 1] == '>')
            return false;
        if (memcmp(h + i, "encoding", 8) == 0 && is_ws(h[i - 1]))
            break;
    }
    if (i + 8 >= n)
        return false;
    i += 8;
    while (i < n && is_ws(h[i]))
        i++;
    if (i >= n || h[i] != '=')
        return false;
    i++;
    while (i < n && is_ws(h[i]))
        i++;
    if (i >= n || (h[i] != '"' && h[i] != '\''))
        return false;
    q = (char)h[i++];
    for (; i < n && h[i] != (unsigned char)q; i++) {
        char c = (char)h[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':') ||
            k + 1 >= size)
            return false;
        out[k++] = c;
    }
    out[k] = '\0';
    return i < n && k > 0;
}

/*
 * The iconv name for a charset label, following the WHATWG Encoding Standard where labels
 * are known to be used loosely (ISO-8859-1 and US-ASCII are read as windows-1252, GB2312
 * as GB18030, Shift_JIS as windows-31J...). NULL for UTF-8, "" for UTF-16/32 labels.
 */
static const char *
charset_iconv_name(const char *label)
{
    static const struct {
        const char *label, *name;
    } map[] = {
        {"utf-8", NULL},
        {"utf8", NULL},
        {"unicode-1-1-utf-8", NULL},
        {"us-ascii", "WINDOWS-1252"},
        {"ascii", "WINDOWS-1252"},
        {"iso-8859-1", "WINDOWS-1252"},
        {"iso8859-1", "WINDOWS-1252"},
        {"iso_8859-1", "WINDOWS-1252"},
        {"latin1", "WINDOWS-1252"},
        {"l1", "WINDOWS-1252"},
        {"cp819", "WINDOWS-1252"},
        {"iso-8859-9", "WINDOWS-1254"},
        {"latin5", "WINDOWS-1254"},
        {"iso-8859-11", "CP874"},
        {"tis-620", "CP874"},
        {"gb2312", "GB18030"},
        {"gbk", "GB18030"},
        {"x-gbk", "GB18030"},
        {"gb_2312-80", "GB18030"},
        {"chinese", "GB18030"},
        {"shift_jis", "CP932"},
        {"shift-jis", "CP932"},
        {"sjis", "CP932"},
        {"x-sjis", "CP932"},
        {"ms_kanji", "CP932"},
        {"windows-31j", "CP932"},
        {"euc-kr", "CP949"},
        {"ks_c_5601-1987", "CP949"},
        {"big5", "BIG5-HKSCS"},
        {"x-mac-roman", "MACINTOSH"},
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcasecmp(label, map[i].label) == 0)
            return map[i].name;
    }
    if (strncasecmp(label, "utf-16", 6) == 0 || strncasecmp(label, "utf-32", 6) == 0 ||
        strncasecmp(label, "ucs-", 4) == 0 || strcasecmp(label, "unicode") == 0)
        return "";
    return label;
}

/* Opens the converter for label; false when it is UTF-8 (or unusable here). */
static bool
open_label(struct feedprep *pp, const char *label, bool *ret_known)
{
    const char *name = charset_iconv_name(label);

    *ret_known = true;
    if (!name || !*name)
        return false; /* UTF-8, or a UTF-16/32 label on ASCII-compatible bytes: a lie */
    pp->cd = iconv_open("UTF-8", name);
    if (pp->cd == (iconv_t)-1) {
        *ret_known = false;
        return false;
    }
    pp->use_iconv = true;
    return true;
}

static void
set_encoding_name(struct feedprep *pp, const char *name)
{
    size_t n = strlen(name);

    if (n >= sizeof(pp->encoding))
        n = sizeof(pp->encoding) - 1;
    memcpy(pp->encoding, name, n);
    pp->encoding[n] = '\0';
}

/*
 * Decides kind and encoding from the held head. Returns 1 when decided (and the held bytes
 * were run through), 0 when more bytes are needed, < 0 on an error.
 */
int
prep_sniff(struct feedprep *pp, bool final)
{
    const unsigned char *h = pp->head;
    size_t n = pp->head_len, off = 0;
    const char *fixed = NULL; /* an encoding fixed by a BOM or the NUL pattern */
    char label[FEEDPREP_CHARSET_MAX] = "";
    bool known = true;
    int r;

    if (n >= 3 && h[0] == 0xef && h[1] == 0xbb && h[2] == 0xbf) {
        pp->bom_seen = true;
        off = 3;
    } else if (n >= 4 && h[0] == 0 && h[1] == 0 && h[2] == 0xfe && h[3] == 0xff) {
        fixed = "UTF-32BE";
        off = 4;
    } else if (n >= 4 && h[0] == 0xff && h[1] == 0xfe && h[2] == 0 && h[3] == 0) {
        fixed = "UTF-32LE";
        off = 4;
    } else if (n >= 2 && h[0] == 0xfe && h[1] == 0xff) {
        fixed = "UTF-16BE";
        off = 2;
    } else if (n >= 2 && h[0] == 0xff && h[1] == 0xfe && (n >= 4 || final)) {
        fixed = "UTF-16LE";
        off = 2;
    } else if (n < 4 && !final) {
        return 0;
    } else if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b) {
        pp->error = FEEDPREP_ERR_GZIP;
        return -EPROTO;
    } else if (n >= 4 && h[0] == 0 && h[1] == 0 && h[2] == 0 && h[3] == '<') {
        fixed = "UTF-32BE";
    } else if (n >= 4 && h[0] == '<' && h[1] == 0 && h[2] == 0 && h[3] == 0) {
        fixed = "UTF-32LE";
    } else if (n >= 4 && h[0] == 0 && h[1] == '<' && h[2] == 0) {
        fixed = "UTF-16BE";
    } else if (n >= 4 && h[0] == '<' && h[1] == 0 && h[3] == 0) {
        fixed = "UTF-16LE";
    }

    if (fixed) {
        pp->kind = FEEDPREP_XML;
        set_encoding_name(pp, fixed);
        pp->cd = iconv_open("UTF-8", fixed);
        if (pp->cd == (iconv_t)-1) {
            pp->error = FEEDPREP_ERR_NOMEM;
            return -ENOMEM;
        }
        pp->use_iconv = true;
    } else {
        /* ASCII-compatible: whitespace before the first markup is dropped. */
        while (off < n && is_ws(h[off]))
            off++;
        if (off == n && final) {
            pp->error = FEEDPREP_ERR_EMPTY;
            return -EPROTO;
        }
        if (off > 0) {
            /* Forget the BOM and the whitespace (the BOM stays remembered). */
            memmove(pp->head, h + off, n - off);
            n -= off;
            pp->head_len = n;
            off = 0;
            if (n == 0)
                return 0;
        }
        if (h[off] == '{' || h[off] == '[') {
            pp->kind = FEEDPREP_JSON;
        } else {
            pp->kind = FEEDPREP_XML;
            if (n - off < 6 && !final)
                return 0;
            if (n - off >= 6 && memcmp(h + off, "<?xml", 5) == 0 && is_ws(h[off + 5])) {
                bool closed = memmem(h + off, n - off, "?>", 2) != NULL;

                if (!closed && !final && n < sizeof(pp->head))
                    return 0;
                if (!pp->bom_seen)
                    (void)decl_encoding(h + off, n - off, label, sizeof(label));
            }
        }
        /* BOM > XML declaration > HTTP charset > UTF-8. */
        if (pp->bom_seen) {
            set_encoding_name(pp, "UTF-8");
        } else if (label[0] && open_label(pp, label, &known)) {
            set_encoding_name(pp, label);
        } else if (!label[0] && pp->http_charset[0] && open_label(pp, pp->http_charset, &known)) {
            set_encoding_name(pp, pp->http_charset);
        } else {
            set_encoding_name(pp, "UTF-8");
            if (!known)
                pp->unknown_charset = true;
        }
    }
    pp->decided = true;
    r = prep_decode(pp, (const char *)h + off, n - off);
    return r < 0 ? r : 1;
}

/* Sets the HTTP charset (before the first push). */
int
feedprep_set_charset(struct feedprep *pp, const char *charset)
{
    size_t n;

    if (pp->decided || pp->head_len > 0 || pp->gz != 0 || pp->gz_magic_len > 0)
        return -EINVAL;
    if (!charset) {
        pp->http_charset[0] = '\0';
        return 0;
    }
    while (is_ws((unsigned char)*charset) || *charset == '"')
        charset++;
    n = strlen(charset);
    while (n > 0 && (is_ws((unsigned char)charset[n - 1]) || charset[n - 1] == '"'))
        n--;
    if (n >= sizeof(pp->http_charset))
        return -EINVAL;
    memcpy(pp->http_charset, charset, n);
    pp->http_charset[n] = '\0';
    return 0;
}

/* Ends the decoding: the bytes held for a sequence cut by the end of the input. */
int
prep_decode_finish(struct feedprep *pp)
{
    int r = 0;

    if (pp->pend_len == 0)
        return 0;
    if (pp->use_iconv) {
        r = decode_iconv(pp, "", 0, true);
    } else {
        size_t k = pp->pend_len;

        pp->pend_len = 0;
        for (size_t i = 0; i < k && r == 0; i++)
            r = emit_cp1252(pp, pp->pend[i]);
    }
    return r;
}

/* Closes the converter, if one is open. */
void
prep_charset_done(struct feedprep *pp)
{
    if (pp->use_iconv)
        (void)iconv_close(pp->cd);
    pp->use_iconv = false;
    pp->cd = (iconv_t)-1;
}

/* ---- the HTTP charset (charset.h) ---- */

bool
charset_from_content_type(const char *content_type, char *buf, size_t size)
{
    const char *p = content_type ? strchr(content_type, ';') : NULL;

    while (p) {
        p++; /* past the ';' */
        while (*p == ' ' || *p == '\t')
            p++;
        size_t name = strcspn(p, "=;");
        const char *v = p + name + (p[name] == '=');
        if (p[name] == '=' && name == 7 && strncasecmp(p, "charset", 7) == 0) {
            v += *v == '"';
            size_t n = strcspn(v, "\"; \t");
            if (n == 0 || n >= size)
                return false;
            memcpy(buf, v, n);
            buf[n] = '\0';
            return true;
        }
        /* another parameter: past its value (a quoted one may hold a ';') */
        if (*v == '"') {
            v = strchr(v + 1, '"');
            if (!v)
                return false;
        }
        p = strchr(v, ';');
    }
    return false;
}
