/*
 * feedprep.c — the byte stage in front of libxml2: its entry points, the output blocks and the
 * markup filter. Sniffing and decoding to UTF-8 are in charset.c, raw gzip in gunzip.c; the
 * three share struct feedprep through feedprep-internal.h.
 *
 * Why a byte stage at all: libxml2 2.9's push parser stalls for good after the first byte
 * that is invalid in the document's encoding (an undeclared Latin-1 feed gives nothing past
 * its first accented letter), its recovery drops a bare '&' with the word after it, it
 * copies only the first byte of an HTML entity inside an attribute value, and it rescans a
 * start tag from its beginning at every push, so an endless attribute costs quadratic time.
 * Here the input becomes valid UTF-8 before libxml2 sees it (which is then told to ignore
 * the declared encoding), and a small state machine over the ASCII bytes of the markup
 * repairs the '&'s and bounds each tag. The hot path (UTF-8 text without '&' or '<')
 * is scanned 16 bytes at a time (SSE2), as is the UTF-8 check of two- and three-byte
 * letters; a reference such as "&lt;" that needs no repair stays in the run, and a block
 * that needed no change goes to libxml2 without a copy.
 *
 * Text inside the document that holds a reference or a letter outside ASCII is handed to
 * libxml2 as a CDATA section from the first of them to the end of the text: "&lt;p&gt;Zürich"
 * becomes "&lt;p&gt;" decoded into "<![CDATA[<p>Zürich]]>". The characters are the same
 * (the SAX handler takes text and CDATA alike), but libxml2 2.9 reads text one reference and
 * one multi-byte letter at a time (xmlParseCharDataComplex, a call and a callback each)
 * and CDATA in one scan: escaped HTML in languages other than English, most of what feeds
 * carry, parses about three times faster. What a section cannot carry as it is ends it
 * and is read as text, as it would have been: markup, other references, ']' (no "]]>" can
 * form), '\r' (text normalises line ends, CDATA does not), controls and U+FFFE/U+FFFF (not
 * XML characters). Every decision sees its whole reference or letter (a reference cut by a
 * push is decided by amp_step the same way), so the characters libxml2 reads do not depend
 * on where the pushes split the input. A section ends with each output block and the next
 * block reopens it (see flush: libxml2 reads an unfinished section badly), and a document
 * with an internal DTD subset gets none (this filter does not follow the subset's comments
 * and PIs, so it could not tell where the document starts). A document that starts with the gzip
 * magic (a server that compressed it without a Content-Encoding) is inflated in front of
 * all this, and its inflated size is bounded (max_size).
 */
#include "parse/feedprep.h"
#include "parse/feedprep-internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define FEEDPREP_OBUF (64u << 10)
#define FEEDPREP_OBUF_SPARE 32 /* after a block: "]]>" and "<![CDATA[" (see flush) */

enum {
    S_TEXT = 0,
    S_LT,      /* after '<' */
    S_BANG,    /* after "<!": a comment, CDATA or a declaration */
    S_TAG,     /* a start or end tag, outside quotes */
    S_TAG_Q,   /* inside a quoted attribute value */
    S_COMMENT, /* "<!--" up to "-->" */
    S_CDATA,   /* "<![CDATA[" up to "]]>" */
    S_PI,      /* "<?" up to "?>" */
    S_DECL,    /* "<!DOCTYPE" and the like, up to '>' outside quotes and brackets */
    S_DECL_Q,
};

/* Bytes that end a run of plain text in each state (besides the run's end): constants. */
#if !defined(__SSE2__)
static const bool text_stop[256] = {['&'] = true, ['<'] = true};
#endif
static const bool decl_stop[256] = {
    ['"'] = true, ['\''] = true, ['>'] = true, ['['] = true, [']'] = true};

/* ---- output ---- */

static int
sink_fail(struct feedprep *pp, int r)
{
    pp->error = FEEDPREP_ERR_SINK;
    return r;
}

/*
 * Hands the output block to the sink. A CDATA section the filter opened ends with the block
 * and the next block opens it again: libxml2 2.9 reads a section whose end is not in what
 * it has 300 bytes per push (a push without '>' not at all), rescanning it for "]]>" each
 * time, so one left open across blocks piled up (past 10 MB it halts the parser) and cost
 * quadratic time. A section is thus at most a block (FEEDPREP_OBUF) long.
 */
static int
flush(struct feedprep *pp)
{
    int r;

    if (pp->cdata_open && !pp->cdata_reopen) {
        memcpy(pp->obuf + pp->olen, "]]>", 3); /* the block's spare room */
        pp->olen += 3;
        pp->cdata_reopen = true;
    }
    if (pp->olen == 0)
        return 0;
    r = pp->out(pp->out_ctx, pp->obuf, pp->olen);
    pp->olen = 0;
    return r < 0 ? sink_fail(pp, r) : 0;
}

/* The output block: FEEDPREP_OBUF bytes, and room for the section marks flush adds. */
static int
obuf_ready(struct feedprep *pp)
{
    if (!pp->obuf && !(pp->obuf = malloc(FEEDPREP_OBUF + FEEDPREP_OBUF_SPARE))) {
        pp->error = FEEDPREP_ERR_NOMEM;
        return -ENOMEM;
    }
    return 0;
}

static int
emit(struct feedprep *pp, const char *s, size_t n)
{
    int r;

    if (n == 0)
        return 0;
    if (n > FEEDPREP_OBUF && !pp->cdata_open) {
        /* A long run outside a section goes to the sink as it is, after what is buffered. */
        if ((r = flush(pp)) < 0)
            return r;
        r = pp->out(pp->out_ctx, s, n);
        return r < 0 ? sink_fail(pp, r) : 0;
    }
    if ((r = obuf_ready(pp)) < 0)
        return r;
    while (n > 0) {
        size_t k;

        if (pp->olen >= FEEDPREP_OBUF && (r = flush(pp)) < 0)
            return r;
        if (pp->cdata_open && pp->cdata_reopen) {
            /* The section goes on in a new block (see flush). */
            if (pp->olen + 9 > FEEDPREP_OBUF && (r = flush(pp)) < 0)
                return r;
            memcpy(pp->obuf + pp->olen, "<![CDATA[", 9);
            pp->olen += 9;
            pp->cdata_reopen = false;
        }
        k = FEEDPREP_OBUF - pp->olen < n ? FEEDPREP_OBUF - pp->olen : n;
        /* A block ends a section: never inside a letter (the section's "]]>" would split it). */
        while (pp->cdata_open && k > 0 && k < n && ((unsigned char)s[k] & 0xc0) == 0x80)
            k--;
        if (k == 0) {
            if ((r = flush(pp)) < 0)
                return r;
            continue;
        }
        memcpy(pp->obuf + pp->olen, s, k);
        pp->olen += k;
        s += k;
        n -= k;
    }
    return 0;
}

/* Opens a CDATA section for the text being read (see filter). */
static int
cdata_begin(struct feedprep *pp)
{
    int r;

    if ((r = obuf_ready(pp)) < 0 || (pp->olen + 9 > FEEDPREP_OBUF && (r = flush(pp)) < 0))
        return r;
    memcpy(pp->obuf + pp->olen, "<![CDATA[", 9);
    pp->olen += 9;
    pp->cdata_open = true;
    pp->cdata_reopen = false;
    return 0;
}

/* Ends the CDATA section the filter opened, if one is open. */
static int
cdata_close(struct feedprep *pp)
{
    if (!pp->cdata_open)
        return 0;
    pp->cdata_open = false;
    if (pp->cdata_reopen) {
        pp->cdata_reopen = false; /* it ended with the last block */
        return 0;
    }
    memcpy(pp->obuf + pp->olen, "]]>", 3); /* olen <= FEEDPREP_OBUF: in the spare room */
    pp->olen += 3;
    return 0;
}

/*
 * Emits the run that ends a filtered block. When nothing is buffered, the run is long and
 * the filter is not inside markup that feedprep_push holds back (a declaration), it goes
 * to the sink as it is, without the copy into the output block.
 */
static int
emit_run(struct feedprep *pp, const char *s, size_t n)
{
    int r;

    if (pp->olen == 0 && n >= 512 && pp->kind == FEEDPREP_XML && !pp->cdata_open &&
        pp->state != S_DECL && pp->state != S_DECL_Q && pp->state != S_BANG && pp->state != S_LT) {
        r = pp->out(pp->out_ctx, s, n);
        return r < 0 ? sink_fail(pp, r) : 0;
    }
    return emit(pp, s, n);
}

/* ---- the markup filter ---- */

static bool
amp_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '#' ||
           c == '_' || c == ':' || c == '-' || c == '.';
}

/*
 * What to do with a complete "&...;" (s, n bytes): 1 keep it, 2 replace it by the
 * character reference written into rep, 0 it is no reference libxml2 can resolve.
 */
static int
amp_classify(const char *s, size_t n, char rep[16])
{
    char name[FEEDPREP_AMP_MAX + 1];
    size_t k = n - 2;
    const htmlEntityDesc *e;
    static const char *const predefined[] = {"amp", "lt", "gt", "quot", "apos"};

    if (k == 0 || k > FEEDPREP_AMP_MAX)
        return 0;
    /* The XML predefined entities, by far the most common, without the copy. */
    if ((k == 2 && (memcmp(s + 1, "lt", 2) == 0 || memcmp(s + 1, "gt", 2) == 0)) ||
        (k == 3 && memcmp(s + 1, "amp", 3) == 0) ||
        (k == 4 && (memcmp(s + 1, "quot", 4) == 0 || memcmp(s + 1, "apos", 4) == 0)))
        return 1;
    memcpy(name, s + 1, k);
    name[k] = '\0';
    if (name[0] == '#') {
        bool hex = name[1] == 'x';
        size_t i = hex ? 2 : 1;

        if (name[i] == '\0')
            return 0;
        for (; name[i]; i++) {
            char c = name[i];

            if (!((c >= '0' && c <= '9') ||
                  (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))))
                return 0;
        }
        return 1;
    }
    if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
          name[0] == '_' || name[0] == ':'))
        return 0;
    for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++) {
        if (strcmp(name, predefined[i]) == 0)
            return 1;
    }
    e = htmlEntityLookup((const xmlChar *)name);
    if (!e)
        return 0;
    /* HTML 4 named entity: as a character reference it works in text and attributes alike. */
    {
        static const char digits[] = "0123456789";
        char tmp[12];
        size_t m = 0, o = 0;
        unsigned v = e->value;

        do {
            tmp[m++] = digits[v % 10];
            v /= 10;
        } while (v && m < sizeof(tmp));
        rep[o++] = '&';
        rep[o++] = '#';
        while (m > 0)
            rep[o++] = tmp[--m];
        rep[o++] = ';';
        rep[o] = '\0';
    }
    return 2;
}

/*
 * The character a held reference (pp->amp) stands for when it is "&lt;", "&gt;", "&amp;"
 * or "&quot;" in text inside the document, which goes into a CDATA section as that
 * character (see filter); 0 otherwise.
 */
static char
amp_held_char(const struct feedprep *pp)
{
    if (!pp->root_seen || pp->dtd_subset || pp->state != S_TEXT)
        return 0;
    if (pp->amp_len == 4 && memcmp(pp->amp, "&lt;", 4) == 0)
        return '<';
    if (pp->amp_len == 4 && memcmp(pp->amp, "&gt;", 4) == 0)
        return '>';
    if (pp->amp_len == 5 && memcmp(pp->amp, "&amp;", 5) == 0)
        return '&';
    if (pp->amp_len == 6 && memcmp(pp->amp, "&quot;", 6) == 0)
        return '"';
    return 0;
}

/* Emits the held "&..." as literal text: "&amp;" and the rest. */
static int
amp_release(struct feedprep *pp)
{
    int r;

    if ((r = cdata_close(pp)) < 0)
        return r;
    pp->n_repairs++;
    r = emit(pp, "&amp;", 5);
    if (r == 0 && pp->amp_len > 1)
        r = emit(pp, pp->amp + 1, pp->amp_len - 1);
    pp->amp_len = 0;
    return r;
}

/* Takes byte c into the held reference; returns 1 when c was consumed, 0 when not, or < 0. */
static int
amp_step(struct feedprep *pp, unsigned char c)
{
    char rep[16];
    int r, k;

    if (c == ';' && pp->amp_len <= FEEDPREP_AMP_MAX) {
        char ch;

        pp->amp[pp->amp_len++] = ';';
        k = amp_classify(pp->amp, pp->amp_len, rep);
        /* As filter decides a reference it sees whole: the stream is the same either way. */
        if (k == 1 && (ch = amp_held_char(pp)) != 0) {
            r = pp->cdata_open ? 0 : cdata_begin(pp);
            if (r == 0)
                r = emit(pp, &ch, 1);
            pp->amp_len = 0;
            return r < 0 ? r : 1;
        }
        if (k != 0 && (r = cdata_close(pp)) < 0)
            return r;
        if (k == 1)
            r = emit(pp, pp->amp, pp->amp_len);
        else if (k == 2)
            r = emit(pp, rep, strlen(rep));
        else
            return amp_release(pp) < 0 ? -1 : 1;
        pp->amp_len = 0;
        return r < 0 ? r : 1;
    }
    if (amp_name_char(c) && pp->amp_len < FEEDPREP_AMP_MAX) {
        pp->amp[pp->amp_len++] = (char)c;
        return 1;
    }
    r = amp_release(pp);
    return r < 0 ? r : 0;
}

/* Length of the "&lt;", "&gt;", "&amp;" or "&quot;" at s[i] (complete before n), else 0. */
static inline __attribute__((always_inline)) size_t
amp_common(const unsigned char *s, size_t i, size_t n)
{
    uint32_t w, lt, gt, amp, quot;

    /* Four bytes compared at once (constants folded): no branch per letter. */
    memcpy(&lt, "&lt;", 4);
    memcpy(&gt, "&gt;", 4);
    memcpy(&amp, "amp;", 4);
    memcpy(&quot, "quot", 4);
    if (i + 4 > n)
        return 0;
    memcpy(&w, s + i, 4);
    if ((w == lt) | (w == gt))
        return 4;
    if (i + 5 > n)
        return 0;
    memcpy(&w, s + i + 1, 4);
    if (w == amp)
        return 5;
    if (w == quot && i + 6 <= n && s[i + 5] == ';')
        return 6;
    return 0;
}

/* Whether the reference starting with the '&' at s[i] runs to n (amp_step decides it later). */
static bool
amp_runs_to_end(const unsigned char *s, size_t i, size_t n)
{
    size_t held = 1;

    for (size_t j = i + 1; j < n; j++, held++) {
        if ((s[j] == ';' && held <= FEEDPREP_AMP_MAX) || !amp_name_char(s[j]) ||
            held >= FEEDPREP_AMP_MAX)
            return false;
    }
    return true;
}

/*
 * The '&' at s[*i] whose reference ends before n, decided at once as amp_step would decide
 * it byte by byte: a reference kept stays in the run being copied (from *start), one that is
 * replaced or released ends it. Returns 1 when done (*i and *start moved on), 0 when the
 * reference runs past n (the caller then holds it byte by byte), or < 0.
 */
static int
amp_fast(struct feedprep *pp, const char *buf, size_t n, size_t *i, size_t *start)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t held = 1, j, at = *i;
    char rep[16];
    int k = -1, r;

    for (j = at + 1; j < n; j++) {
        unsigned char c = s[j];

        if (c == ';' && held <= FEEDPREP_AMP_MAX) {
            k = amp_classify(buf + at, held + 1, rep);
            j++;
            break;
        }
        if (!amp_name_char(c) || held >= FEEDPREP_AMP_MAX)
            break; /* released; c is not part of it */
        held++;
    }
    if (j == n && k < 0)
        return 0;
    if (k == 1) {
        *i = j;
        return 1;
    }
    if ((r = emit(pp, buf + *start, at - *start)) < 0)
        return r;
    if (k == 2) {
        r = emit(pp, rep, strlen(rep));
        *start = j;
    } else {
        /* "&amp;" for the '&'; the bytes after it stay in the run. */
        pp->n_repairs++;
        r = emit(pp, "&amp;", 5);
        *start = at + 1;
    }
    *i = j;
    return r < 0 ? r : 1;
}

static int
markup_grow(struct feedprep *pp, size_t n, bool comment)
{
    size_t max = comment ? pp->max_text : pp->max_tag;

    pp->markup_len += n;
    if (pp->markup_len > max) {
        pp->error = comment ? FEEDPREP_ERR_COMMENT : FEEDPREP_ERR_TAG;
        return -EMSGSIZE;
    }
    return 0;
}

/* ---- attribute and namespace bounds (FEEDPREP_MAX_ATTRS) ---- */

enum { AN_GAP = 0, AN_NAME, AN_AFTER, AN_EQ };

/* A start or end tag begins; c is the byte after '<'. */
static void
tag_begin(struct feedprep *pp, unsigned char c)
{
    pp->tag_end = c == '/';
    pp->tag_slash = false;
    pp->tag_attrs = 0;
    pp->tag_ns = 0;
    pp->an_state = AN_GAP;
}

/*
 * Follows the bytes of a tag outside quotes, s[i..j), far enough to tell whether the next
 * quoted value belongs to an "xmlns" or "xmlns:..." name. Byte by byte and across pushes,
 * so the answer does not depend on where the input was split; only the bytes before a
 * quoted value or a push's end are followed (a tag's last bytes before '>' name nothing).
 */
static void
attr_scan(struct feedprep *pp, const unsigned char *s, size_t i, size_t j)
{
    if (j == i)
        return;
    pp->tag_slash = s[j - 1] == '/';
    for (; i < j; i++) {
        unsigned char c = s[i];

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            if (pp->an_state == AN_NAME) {
                pp->an_ns = (pp->an_len == 5 && pp->an_match == 5) || pp->an_match == 6;
                pp->an_state = AN_AFTER;
            }
        } else if (c == '=') {
            if (pp->an_state == AN_NAME)
                pp->an_ns = (pp->an_len == 5 && pp->an_match == 5) || pp->an_match == 6;
            pp->an_state = pp->an_state == AN_NAME || pp->an_state == AN_AFTER ? AN_EQ : AN_GAP;
        } else if (pp->an_state == AN_NAME) {
            if (pp->an_len < 7) {
                if (pp->an_match == pp->an_len && pp->an_len < 6 &&
                    c == (unsigned char)"xmlns:"[pp->an_len])
                    pp->an_match++;
                pp->an_len++;
            }
        } else if (pp->an_state == AN_EQ) {
            pp->an_state = AN_GAP; /* an unquoted value: not XML */
        } else {
            pp->an_state = AN_NAME;
            pp->an_len = 1;
            pp->an_match = c == 'x';
        }
    }
}

/* A quoted value begins in a tag. */
static int
attr_begin(struct feedprep *pp)
{
    bool ns = pp->an_state == AN_EQ && pp->an_ns;

    pp->an_state = AN_GAP;
    pp->tag_slash = false;
    if (++pp->tag_attrs > FEEDPREP_MAX_ATTRS) {
        pp->error = FEEDPREP_ERR_ATTRS;
        return -EMSGSIZE;
    }
    if (ns)
        pp->tag_ns++;
    return 0;
}

/* A tag ends at '>': the elements and namespaces in scope change as libxml2's do. */
static int
tag_end(struct feedprep *pp)
{
    if (pp->tag_end) {
        if (pp->ns_top > 0 && pp->ns_stack[pp->ns_top - 1].depth == pp->depth) {
            pp->ns_top--;
            pp->ns_scope -= pp->ns_stack[pp->ns_top].n;
        }
        if (pp->depth > 0)
            pp->depth--;
        return 0;
    }
    if (pp->ns_scope + pp->tag_ns > FEEDPREP_MAX_NS_SCOPE) {
        pp->error = FEEDPREP_ERR_NS;
        return -EMSGSIZE;
    }
    if (pp->tag_slash)
        return 0; /* an empty element: its declarations end with it */
    pp->depth++;
    if (pp->tag_ns > 0) {
        pp->ns_stack[pp->ns_top].depth = pp->depth;
        pp->ns_stack[pp->ns_top].n = pp->tag_ns;
        pp->ns_top++;
        pp->ns_scope += pp->tag_ns;
    }
    return 0;
}

/* Scans a run of bytes that stop[] does not flag; returns the index of the stop or n. */
static size_t
scan(const bool *stop, const unsigned char *s, size_t i, size_t n)
{
    while (i < n && !stop[s[i]])
        i++;
    return i;
}

/*
 * Index of the first of a, b or c in s[i..n), or n (b and c may repeat a). 16 bytes at a
 * time where SSE2 is there.
 */
static inline __attribute__((always_inline)) size_t
find3(const unsigned char *s, size_t i, size_t n, unsigned char a, unsigned char b, unsigned char c)
{
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b),
                  vc = _mm_set1_epi8((char)c);

    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)), _mm_cmpeq_epi8(v, vc)));

        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n && s[i] != a && s[i] != b && s[i] != c)
        i++;
    return i;
}

/* Finds c from i on (memchr), or n. */
static size_t
find(const unsigned char *s, size_t i, size_t n, unsigned char c)
{
    const unsigned char *q = memchr(s + i, c, n - i);

    return q ? (size_t)(q - s) : n;
}

/* Index of the first '<', '&' or non-ASCII byte of s[i..n), or n. */
static inline __attribute__((always_inline)) size_t
find_text_stop(const unsigned char *s, size_t i, size_t n)
{
#if defined(__SSE2__)
    const __m128i lt = _mm_set1_epi8('<'), amp = _mm_set1_epi8('&');

    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i markup = _mm_or_si128(_mm_cmpeq_epi8(v, lt), _mm_cmpeq_epi8(v, amp));
        unsigned m = (unsigned)_mm_movemask_epi8(markup) | (unsigned)_mm_movemask_epi8(v);

        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n && s[i] != '<' && s[i] != '&' && s[i] < 0x80)
        i++;
    return i;
}

/*
 * Index of the first byte of s[i..n) that a CDATA section the filter opened cannot carry
 * as it is, or n: '<' and '&' (markup), ']' (it could make "]]>"), '\r' (libxml2
 * normalises line ends in text, not in CDATA), C0 controls but tab and newline (not XML
 * characters: text drops them with an error, CDATA would stop the parser), and 0xef (the
 * lead of U+FFFE / U+FFFF, decided by the caller).
 */
static inline __attribute__((always_inline)) size_t
find_cdata_stop(const unsigned char *s, size_t i, size_t n)
{
#if defined(__SSE2__)
    const __m128i lt = _mm_set1_epi8('<'), amp = _mm_set1_epi8('&'), rb = _mm_set1_epi8(']'),
                  ef = _mm_set1_epi8((char)0xef), sp = _mm_set1_epi8(0x20),
                  none = _mm_set1_epi8(-1), tab = _mm_set1_epi8('\t'), nl = _mm_set1_epi8('\n');

    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* Signed: 0x00..0x1f are the bytes above -1 and below 0x20. */
        __m128i c0 = _mm_and_si128(_mm_cmplt_epi8(v, sp), _mm_cmpgt_epi8(v, none));
        __m128i ctl =
            _mm_andnot_si128(_mm_or_si128(_mm_cmpeq_epi8(v, tab), _mm_cmpeq_epi8(v, nl)), c0);
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, lt), _mm_cmpeq_epi8(v, amp)),
                                    _mm_or_si128(_mm_cmpeq_epi8(v, rb), _mm_cmpeq_epi8(v, ef)));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(stop, ctl));

        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n) {
        unsigned char c = s[i];

        if (c == '<' || c == '&' || c == ']' || c == 0xef || (c < 0x20 && c != '\t' && c != '\n'))
            break;
        i++;
    }
    return i;
}

/* The character "&lt;", "&gt;", "&amp;" or "&quot;" at s[i] stands for (amp_common said which). */
static char
amp_common_char(const unsigned char *s, size_t i)
{
    switch (s[i + 1]) {
    case 'l':
        return '<';
    case 'g':
        return '>';
    case 'a':
        return '&';
    default:
        return '"';
    }
}

/*
 * Holds the '&' at buf[*i], whose reference runs past this block, for amp_step to decide
 * byte by byte; the run before it goes out first.
 */
static int
amp_hold(struct feedprep *pp, const char *buf, size_t *i, size_t *start)
{
    int r = emit(pp, buf + *start, *i - *start);

    if (r < 0)
        return r;
    pp->amp[0] = '&';
    pp->amp_len = 1;
    *start = ++*i;
    return 0;
}

/* Runs UTF-8 bytes through the markup filter into the output. */
int
prep_filter(struct feedprep *pp, const char *buf, size_t n)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0, start = 0, j;
    int r;

    if (pp->kind != FEEDPREP_XML)
        return emit(pp, buf, n);
    while (i < n) {
        unsigned char c;

        if (pp->amp_len > 0) {
            r = amp_step(pp, s[i]);
            if (r < 0)
                return r;
            i += (size_t)r;
            start = i;
            continue;
        }
        switch (pp->state) {
        case S_TEXT:
        l_text:
            if (pp->cdata_open)
                goto l_cdata;
            if (pp->root_seen && !pp->dtd_subset) {
                /*
                 * Inside the document, text holding a reference or a letter outside ASCII
                 * goes to libxml2 as a CDATA section from there on: the same characters,
                 * but libxml2 then hands them over in one piece instead of one reference
                 * at a time and one multi-byte letter at a time (its slow path), which
                 * made up most of its time on escaped HTML in other languages than English.
                 */
                i = find_text_stop(s, i, n);
                if (i == n)
                    break;
                if (s[i] >= 0x80 || (s[i] == '&' && amp_common(s, i, n) > 0)) {
                    /* The section opens here; l_cdata reads the letter or reference. */
                    if ((r = emit(pp, buf + start, i - start)) < 0 || (r = cdata_begin(pp)) < 0)
                        return r;
                    start = i;
                    goto l_cdata;
                }
                goto l_text_stop;
            }
#if defined(__SSE2__)
            i = find3(s, i, n, '<', '&', '&');
#else
            /* Eight bytes at a time while none is '<' or '&' (SWAR zero-byte test). */
            while (i + 8 <= n) {
                uint64_t w, lt, amp;
                const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;

                memcpy(&w, s + i, 8);
                lt = w ^ (ones * '<');
                amp = w ^ (ones * '&');
                if ((((lt - ones) & ~lt) | ((amp - ones) & ~amp)) & high)
                    break;
                i += 8;
            }
            i = scan(text_stop, s, i, n);
#endif
            if (i == n)
                break;
        l_text_stop: /* s[i] is '<' or '&' */
            if (s[i] == '&') {
                if ((j = amp_common(s, i, n)) > 0) {
                    i += j; /* kept as it is, in the run */
                    if (i < n)
                        goto l_text;
                    break;
                }
                if ((r = amp_fast(pp, buf, n, &i, &start)) != 0) {
                    if (r < 0)
                        return r;
                    if (i < n)
                        goto l_text;
                    break;
                }
                if ((r = amp_hold(pp, buf, &i, &start)) < 0)
                    return r;
            } else if (i + 1 < n && s[i + 1] != '!' && s[i + 1] != '?') {
                /*
                 * A start or end tag: straight to S_TAG, as S_LT would decide. The hot
                 * transitions (text, tag, quoted value) jump to their state's code directly
                 * rather than through the switch: the same steps, without an indirect
                 * branch per tag.
                 */
                pp->state = S_TAG;
                pp->root_seen = true;
                pp->markup_len = 1;
                i++;
                tag_begin(pp, s[i]);
                if ((r = markup_grow(pp, 1, false)) < 0)
                    return r;
                goto l_tag; /* i < n here */
            } else {
                pp->state = S_LT;
                pp->markup_len = 1;
                i++;
            }
            break;
        l_cdata:
            /* In a CDATA section the filter opened (still S_TEXT). */
            i = find_cdata_stop(s, i, n);
            if (i == n)
                break;
            c = s[i];
            if (c == '&' && (j = amp_common(s, i, n)) > 0) {
                char ch = amp_common_char(s, i);

                if ((r = emit(pp, buf + start, i - start)) < 0 || (r = emit(pp, &ch, 1)) < 0)
                    return r;
                i += j;
                start = i;
                if (i < n)
                    goto l_cdata;
                break;
            }
            if (c == '&' && amp_runs_to_end(s, i, n)) {
                /* Held in the section; amp_step decides it, as above, when it is whole. */
                if ((r = amp_hold(pp, buf, &i, &start)) < 0)
                    return r;
                break;
            }
            /* Input bytes are whole UTF-8 sequences: a lead 0xef has its two bytes here. */
            if (c == 0xef && !(i + 2 < n && s[i + 1] == 0xbf && s[i + 2] >= 0xbe)) {
                i++;
                if (i < n)
                    goto l_cdata;
                break;
            }
            /* Anything else closes the section and is read as text, as it would be. */
            if ((r = emit(pp, buf + start, i - start)) < 0 || (r = cdata_close(pp)) < 0)
                return r;
            start = i;
            if (c == '<' || c == '&')
                goto l_text_stop;
            i += c == 0xef ? 3 : 1;
            if (i < n)
                goto l_text;
            break;
        case S_LT:
            c = s[i];
            if (c == '!') {
                pp->state = S_BANG;
                pp->match = 0;
                i++;
            } else if (c == '?') {
                pp->state = S_PI;
                pp->match = 0;
                i++;
            } else {
                pp->state = S_TAG;
                pp->root_seen = true;
                tag_begin(pp, c);
            }
            if ((r = markup_grow(pp, 1, false)) < 0)
                return r;
            break;
        case S_BANG:
            c = s[i];
            if (pp->match == 0 && c == '-') {
                pp->quote = '-';
                pp->match = 1;
                i++;
            } else if (pp->match == 0 && c == '[') {
                pp->quote = '[';
                pp->match = 1;
                i++;
            } else if (pp->match == 1 && pp->quote == '-' && c == '-') {
                pp->state = S_COMMENT;
                pp->match = 0;
                pp->markup_len = 4;
                i++;
            } else if (pp->quote == '[' && pp->match > 0 && c == "[CDATA["[pp->match]) {
                pp->match++;
                i++;
                if (pp->match == 7) {
                    pp->state = S_CDATA;
                    pp->match = 0;
                }
            } else {
                pp->state = S_DECL;
                pp->bracket = 0;
            }
            break;
        case S_TAG:
        l_tag:
            j = find3(s, i, n, '"', '\'', '>');
            if ((r = markup_grow(pp, j - i, false)) < 0)
                return r;
            /* Names matter only before a value (or a push's end); '>' just needs the '/'. */
            if (j == n || s[j] != '>')
                attr_scan(pp, s, i, j);
            else if (j > i)
                pp->tag_slash = s[j - 1] == '/';
            i = j;
            if (i == n)
                break;
            c = s[i++];
            if (c == '>') {
                if ((r = tag_end(pp)) < 0)
                    return r;
                pp->state = S_TEXT;
                if (i < n)
                    goto l_text;
            } else {
                if ((r = attr_begin(pp)) < 0)
                    return r;
                pp->state = S_TAG_Q;
                pp->quote = (char)c;
                if (i < n)
                    goto l_tag_q;
            }
            break;
        case S_TAG_Q:
        l_tag_q:
            j = find3(s, i, n, (unsigned char)pp->quote, '&', '&');
            if ((r = markup_grow(pp, j - i, false)) < 0)
                return r;
            i = j;
            if (i == n)
                break;
            if (s[i] == '&') {
                if ((j = amp_common(s, i, n)) > 0) {
                    i += j; /* kept, and not counted, as amp_fast does */
                    if (i < n)
                        goto l_tag_q;
                    break;
                }
                if ((r = amp_fast(pp, buf, n, &i, &start)) != 0) {
                    if (r < 0)
                        return r;
                    if (i < n)
                        goto l_tag_q;
                    break;
                }
                if ((r = amp_hold(pp, buf, &i, &start)) < 0)
                    return r;
            } else {
                pp->state = S_TAG;
                i++;
                if (i < n)
                    goto l_tag;
            }
            break;
        case S_COMMENT:
        case S_CDATA:
        case S_PI: {
            int st0 = pp->state;
            unsigned char body = st0 == S_COMMENT ? '-' : st0 == S_CDATA ? ']' : '?';
            size_t need = st0 == S_PI ? 1 : 2;

            j = i;
            while (j < n) {
                c = s[j];
                if (c == '>' && pp->match >= need) {
                    j++;
                    pp->state = S_TEXT;
                    pp->match = 0;
                    break;
                }
                if (c == body) {
                    pp->match++;
                    j++;
                } else {
                    pp->match = 0;
                    j = find(s, j + 1, n, body);
                }
            }
            /* CDATA is text, streamed by libxml2: not bounded here. */
            if (st0 != S_CDATA && (r = markup_grow(pp, j - i, true)) < 0)
                return r;
            i = j;
            break;
        }
        case S_DECL:
            j = scan(decl_stop, s, i, n);
            if ((r = markup_grow(pp, j - i, false)) < 0)
                return r;
            i = j;
            if (i == n)
                break;
            c = s[i++];
            if (c == '[') {
                /*
                 * An internal subset: its comments and PIs are not followed here, so a "]>"
                 * in one would end the declaration early; no CDATA section is ever opened
                 * in such a document (see filter).
                 */
                pp->dtd_subset = true;
                pp->bracket++;
            } else if (c == ']') {
                if (pp->bracket > 0)
                    pp->bracket--;
            } else if (c == '>') {
                if (pp->bracket == 0)
                    pp->state = S_TEXT;
            } else {
                pp->state = S_DECL_Q;
                pp->quote = (char)c;
            }
            break;
        case S_DECL_Q:
            j = find(s, i, n, (unsigned char)pp->quote);
            if ((r = markup_grow(pp, j - i, false)) < 0)
                return r;
            i = j;
            if (i < n) {
                pp->state = S_DECL;
                i++;
            }
            break;
        default:
            i = n;
            break;
        }
    }
    return emit_run(pp, buf + start, n - start);
}

/* ---- public ---- */

/* Prepares the stage; 0 or -ENOMEM. */
int
feedprep_init(struct feedprep *pp, size_t max_tag, size_t max_text, const char *http_charset,
              feedprep_out_cb out, void *out_ctx)
{
    *pp = (struct feedprep){
        .out = out,
        .out_ctx = out_ctx,
        .max_tag = max_tag,
        .max_text = max_text,
        .cd = (iconv_t)-1,
        .max_size = FEEDPREP_DEFAULT_MAX_SIZE,
    };
    /* The output block is allocated when first needed: most blocks go out without a copy. */
    return http_charset ? feedprep_set_charset(pp, http_charset) : 0;
}

/* Runs len bytes of the (inflated) document through sniffing, decoding and the filter. */
int
prep_plain_push(struct feedprep *pp, const char *buf, size_t len)
{
    int r;

    while (!pp->decided && len > 0) {
        size_t take = sizeof(pp->head) - pp->head_len;

        if (take > len)
            take = len;
        memcpy(pp->head + pp->head_len, buf, take);
        pp->head_len += take;
        buf += take;
        len -= take;
        r = prep_sniff(pp, false);
        if (r < 0)
            return r;
    }
    if (len > 0 && (r = prep_decode(pp, buf, len)) < 0)
        return r;
    /*
     * A declaration (<!DOCTYPE ...>) is handed over whole: libxml2's push parser reads one
     * whose quoted literal runs past a '>' differently when it arrives in pieces. It is
     * bounded by max_tag, and flushed anyway when the block fills.
     */
    if (pp->kind == FEEDPREP_XML &&
        (pp->state == S_DECL || pp->state == S_DECL_Q || pp->state == S_BANG || pp->state == S_LT))
        return 0;
    return flush(pp);
}

/* Runs len more input bytes through the stage. */
int
feedprep_push(struct feedprep *pp, const char *buf, size_t len)
{
    int r;

    if (pp->gz == 2)
        return prep_gz_push(pp, buf, len);
    if (pp->gz == 0) {
        /* The first two bytes decide: the gzip magic, or the document itself. */
        while (pp->gz_magic_len < 2 && len > 0) {
            pp->gz_magic[pp->gz_magic_len++] = (unsigned char)*buf++;
            len--;
            if (pp->gz_magic[0] != 0x1f)
                break;
        }
        if (pp->gz_magic_len < 2 && pp->gz_magic[0] == 0x1f)
            return 0;
        if (pp->gz_magic[0] == 0x1f && pp->gz_magic[1] == 0x8b) {
            static const char magic[2] = {0x1f, (char)0x8b};

            pp->gz_magic_len = 0;
            if ((r = prep_gz_start(pp)) < 0 || (r = prep_gz_push(pp, magic, 2)) < 0)
                return r;
            return prep_gz_push(pp, buf, len);
        }
        pp->gz = 1;
        if ((r = prep_plain_push(pp, (const char *)pp->gz_magic, pp->gz_magic_len)) < 0)
            return r;
    }
    return len > 0 ? prep_plain_push(pp, buf, len) : 0;
}

/* Sets the most bytes a raw gzip document may inflate to, before the first push. */
int
feedprep_set_max_size(struct feedprep *pp, size_t max)
{
    if (pp->gz != 0 || pp->gz_magic_len > 0)
        return -EINVAL;
    pp->max_size = max ? max : FEEDPREP_DEFAULT_MAX_SIZE;
    return 0;
}

/* Ends the input. */
int
feedprep_finish(struct feedprep *pp)
{
    int r;

    if (pp->gz == 0 && pp->gz_magic_len > 0) {
        /* A lone first byte (0x1f): not gzip after all. */
        pp->gz = 1;
        if ((r = prep_plain_push(pp, (const char *)pp->gz_magic, pp->gz_magic_len)) < 0)
            return r;
    }
    if (pp->gz == 2 && !pp->gz_end && !pp->gz_between) {
        /* Cut off: what was inflated is kept (the document is then recovered), if any. */
        if (pp->gz_out == 0)
            return prep_gz_fail(pp, "compressed data cut short");
        pp->gz_truncated = true;
    }

    if (!pp->decided) {
        r = prep_sniff(pp, true);
        if (r < 0)
            return r;
    }
    if ((r = prep_decode_finish(pp)) < 0)
        return r;
    if (pp->amp_len > 0 && (r = amp_release(pp)) < 0)
        return r;
    /* The document ends in text the filter put in a CDATA section: it ends there too. */
    if ((r = cdata_close(pp)) < 0)
        return r;
    return flush(pp);
}

/* Releases what the stage holds. */
void
feedprep_done(struct feedprep *pp)
{
    prep_gz_done(pp);
    prep_charset_done(pp);
    free(pp->obuf);
    pp->obuf = NULL;
}
