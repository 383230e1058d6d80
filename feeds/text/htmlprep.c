/*
 * htmlprep.c — html_prep(): what html_parse() hands libxml2's HTML parser, and the bound on
 * attributes per start tag (HTML_MAX_ATTRS).
 *
 * libxml2 2.9.14's htmlParseStartTag compares each attribute of a start tag with every one
 * before it: 150k attributes in one tag (< 1 MiB) cost a minute of CPU. The bound is checked
 * on the very bytes libxml2 reads, so first those bytes are made certain: the page is decoded
 * here (BOM > the caller's charset > a <meta> charset > UTF-8 with invalid bytes read as
 * windows-1252) into valid UTF-8 without NUL bytes, and parsed as "UTF-8". libxml2 then never
 * switches encodings (no <meta> switch, no Latin-1 fallback, no BOM or EBCDIC sniffing: valid
 * UTF-8 starts with none of those patterns), and every ASCII byte is the character libxml2
 * sees there: a '<' hidden in UTF-7, EBCDIC or ISO-2022 is decoded before it is counted.
 *
 * The count over-approximates, never under-counts: every '<' followed by a name character
 * may start a tag, whatever the context (a comment, <script>, CDATA, a quoted value of
 * another tag: libxml2's context is not followed, so it cannot be fooled about it), and each
 * such tag is followed as htmlParseStartTag, htmlParseAttribute, htmlParseAttValue and
 * htmlParseHTMLName read it (a name is at most 100 characters: a longer run of name
 * characters is several attributes; quoted values run to their quote or the end, '<' and
 * '>' included; unquoted ones end at a blank or '>'; a bogus attribute runs to a blank, '>'
 * or "/>"; the tag ends at '>' or "/>" outside a value). The tags being followed at one byte
 * are merged by their state (at most nine), keeping the highest count: linear time.
 *
 * A tag past the bound keeps its first HTML_MAX_ATTRS names: from the next name up to the
 * tag's end ('>' or "/>", kept) the bytes are cut out, so the element and the text after it
 * survive. Where the tag was not one (a '<' inside a script or a comment), the cut falls in
 * text that gives none. Real pages never get there: the most any tag of the extraction
 * corpus gets, counted this way, is about 200 (inside minified scripts); real tags have a
 * few dozen at most.
 */
#include "text/html.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/utf8.h"

#define HTML_NAME_MAX 100           /* libxml2's HTML_PARSER_BUFFER_SIZE */
#define META_SCAN_MAX (64u * 1024u) /* bytes searched for a <meta> charset */
#define LABEL_MAX 64                /* bytes of a charset label */
#define HTML_DECODE_CHUNK 8192      /* bytes iconv writes at a time, repaired into the output */
#define HTML_DECODE_GROWTH 16       /* the most UTF-8 bytes one byte of any charset decodes to */

/* ---- decoding ---- */

/* windows-1252 for 0x80..0x9F (WHATWG); 0 marks the five unassigned bytes. */
static const uint16_t cp1252_high[32] = {
    0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017d, 0,      0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178,
};

static bool
is_utf8_label(const char *label)
{
    return strcasecmp(label, "utf-8") == 0 || strcasecmp(label, "utf8") == 0 ||
           strcasecmp(label, "unicode-1-1-utf-8") == 0;
}

/*
 * Appends valid UTF-8 s[0..n) to out; past out's ceiling, the longest prefix that ends on a
 * character's boundary and -EMSGSIZE (the decoded page is cut there).
 */
static inline int
out_put(struct buf *out, const void *s, size_t n)
{
    int r = buf_append(out, s, n);

    if (r != -EMSGSIZE)
        return r;
    const unsigned char *u = s;
    size_t room = out->max - out->len; /* < n */
    while (room > 0 && (u[room] & 0xc0) == 0x80)
        room--;
    if ((r = buf_append(out, s, room)) < 0)
        return r;
    return -EMSGSIZE;
}

/*
 * s[0..n) as valid UTF-8 without NUL appended to out: valid sequences as they are, a NUL
 * dropped, any other byte read as windows-1252 (U+FFFD for its five holes). -EMSGSIZE when
 * out is full (cut at a character's boundary).
 */
static int
utf8_repair(const unsigned char *s, size_t n, struct buf *out)
{
    size_t i = 0, run = 0;
    int r;

    while (i < n) {
        /* ASCII without NUL, 8 bytes at a time: most of any page */
        while (i + 8 <= n) {
            uint64_t w;

            memcpy(&w, s + i, 8);
            if ((w & 0x8080808080808080ULL) ||
                ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL))
                break;
            i += 8;
        }
        if (i >= n)
            break;
        uint32_t cp;
        int k = s[i] ? utf8_decode(s + i, n - i, &cp) : -1;

        if (k > 0) {
            i += (size_t)k;
            continue;
        }
        if ((r = out_put(out, s + run, i - run)) < 0)
            return r;
        if (s[i]) {
            unsigned char enc[UTF8_MAX];
            uint32_t c = s[i] < 0xa0 ? cp1252_high[s[i] - 0x80] : s[i];

            if ((r = out_put(out, enc, (size_t)utf8_encode(c ? c : 0xfffd, enc))) < 0)
                return r;
        }
        run = ++i;
    }
    return out_put(out, s + run, n - run);
}

/*
 * s[0..n) from the charset of cd into UTF-8 (an invalid or cut sequence: U+FFFD), appended
 * to out a chunk at a time, each chunk repaired on its way (iconv writes whole characters;
 * a NUL is dropped): what the page decodes to is never held twice. -EMSGSIZE when out is
 * full (cut at a character's boundary).
 *
 * iconv is given at most HTML_DECODE_CHUNK / HTML_DECODE_GROWTH bytes at a time, so that
 * what they decode to always fits the chunk: glibc's TSCII converter, whose one byte may be
 * four code points, writes wrong ones after it stops for a full output buffer (E2BIG) in the
 * middle of such a byte. A multibyte sequence cut at the end of a piece (EINVAL) is read
 * again at the start of the next one.
 */
static int
iconv_all(iconv_t cd, const char *s, size_t n, struct buf *out)
{
    char *in = (char *)(uintptr_t)s;
    size_t inleft = n;
    char tmp[HTML_DECODE_CHUNK];
    int r;

    for (;;) {
        char *o = tmp;
        size_t oleft = sizeof(tmp);
        size_t piece =
            inleft < sizeof(tmp) / HTML_DECODE_GROWTH ? inleft : sizeof(tmp) / HTML_DECODE_GROWTH;
        size_t pleft = piece;
        size_t rc = piece ? iconv(cd, &in, &pleft, &o, &oleft) : iconv(cd, NULL, NULL, &o, &oleft);
        int e = errno;
        size_t used = piece - pleft;

        inleft -= used;
        if ((r = utf8_repair((const unsigned char *)tmp, (size_t)(o - tmp), out)) < 0)
            return r;
        if (rc != (size_t)-1) {
            if (piece == 0 && o == tmp)
                return 0; /* the final shift state was written */
            continue;
        }
        if (e == E2BIG || (e == EINVAL && piece < inleft + used && used > 0))
            continue; /* more room, or the rest of a sequence cut at the piece's end */
        /* EILSEQ, EINVAL (cut at the end) and anything else: one byte gives way. */
        if ((r = out_put(out, "\xef\xbf\xbd", 3)) < 0)
            return r;
        if (inleft == 0)
            return 0;
        in++;
        inleft--;
    }
}

static bool
is_label_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
}

/*
 * The charset a <meta> in the first META_SCAN_MAX bytes declares ("charset=..." inside the
 * tag: <meta charset> and <meta http-equiv content> alike) into label; false when none.
 */
static bool
meta_charset(const char *s, size_t n, char label[LABEL_MAX])
{
    if (n > META_SCAN_MAX)
        n = META_SCAN_MAX;
    for (size_t i = 0; i + 5 <= n; i++) {
        const char *lt = memchr(s + i, '<', n - 5 - i + 1);

        if (!lt)
            break;
        i = (size_t)(lt - s);
        if (strncasecmp(s + i + 1, "meta", 4) != 0)
            continue;
        size_t end = i + 5;
        while (end < n && s[end] != '>')
            end++;
        for (size_t j = i + 5; j + 7 <= end; j++) {
            if (strncasecmp(s + j, "charset", 7) != 0)
                continue;
            size_t k = j + 7;
            while (k < end && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r'))
                k++;
            if (k >= end || s[k] != '=')
                continue;
            k++;
            while (k < end && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r' ||
                               s[k] == '"' || s[k] == '\''))
                k++;
            size_t m = 0;
            while (k + m < end && m + 1 < LABEL_MAX && is_label_char((unsigned char)s[k + m]))
                m++;
            if (m == 0)
                continue;
            memcpy(label, s + k, m);
            label[m] = '\0';
            return true;
        }
        i = end;
    }
    return false;
}

/*
 * The page as valid UTF-8 without NUL bytes into out (see the file's comment); -EMSGSIZE
 * when it was cut at out's ceiling.
 */
static int
decode(const char *html, size_t len, const char *encoding, struct buf *out)
{
    const unsigned char *u = (const unsigned char *)html;
    char label[LABEL_MAX];
    const char *name = NULL;

    if (len >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf) {
        name = NULL;
        html += 3;
        len -= 3;
    } else if (len >= 2 && u[0] == 0xff && u[1] == 0xfe) {
        name = "UTF-16LE";
        html += 2;
        len -= 2;
    } else if (len >= 2 && u[0] == 0xfe && u[1] == 0xff) {
        name = "UTF-16BE";
        html += 2;
        len -= 2;
    } else if (encoding && *encoding) {
        name = encoding;
    } else if (meta_charset(html, len, label)) {
        /* A page that says UTF-16 or -32 in ASCII bytes is not (libxml2 refused it too). */
        if (strncasecmp(label, "utf-16", 6) != 0 && strncasecmp(label, "utf-32", 6) != 0 &&
            strncasecmp(label, "ucs-", 4) != 0 && strcasecmp(label, "unicode") != 0)
            name = label;
    }
    if (name && !is_utf8_label(name)) {
        iconv_t cd = iconv_open("UTF-8", name);

        if (cd != (iconv_t)-1) {
            int r = iconv_all(cd, html, len, out);

            iconv_close(cd);
            return r;
        }
        /* An unknown charset: libxml2 ignored it and read UTF-8, and so does this. */
    }
    return utf8_repair((const unsigned char *)html, len, out);
}

/* ---- the attribute bound ---- */

/* Where a start tag being followed is (libxml2's functions in brackets). */
enum tag_state {
    T_ENAME, /* in the element's name [htmlParseHTMLName] */
    T_TOP,   /* before an attribute, blanks skipped [htmlParseStartTag's loop] */
    T_ANAME, /* in an attribute's name [htmlParseHTMLName] */
    T_AFTER, /* after a name, before '=' [htmlParseAttribute] */
    T_EQ,    /* after '=', before the value [htmlParseAttribute] */
    T_UNQ,   /* in an unquoted value [htmlParseHTMLAttribute(0)] */
    T_DQ,    /* in a "value" [htmlParseHTMLAttribute('"')] */
    T_SQ,    /* in a 'value' */
    T_BOGUS, /* in a bogus attribute, dumped up to a blank or the tag's end */
    T_NSTATES,
    T_DONE = T_NSTATES, /* the tag ended */
};

/*
 * Byte classes for the scan's fast skips: the bytes at which a tag in state DQ, SQ, UNQ or
 * BOGUS may change state, '<' (a tag may start), name characters.
 */
enum {
    B_DQ = 1u << 0,    /* '"' ends a "value" */
    B_SQ = 1u << 1,    /* '\'' ends a 'value' */
    B_UNQ = 1u << 2,   /* a blank or '>' ends an unquoted value */
    B_BOGUS = 1u << 3, /* a blank, '>' or '/' ends a bogus attribute */
    B_LT = 1u << 4,    /* '<' */
    B_NAME = 1u << 5,  /* a name character */
};

#define B_END (B_UNQ | B_BOGUS)
#define B_LTR (B_NAME)

static const unsigned char byte_class[256] = {
    [' '] = B_END,  ['\t'] = B_END, ['\n'] = B_END, ['\r'] = B_END, ['>'] = B_END,  ['/'] = B_BOGUS,
    ['"'] = B_DQ,   ['\''] = B_SQ,  ['<'] = B_LT,   ['-'] = B_NAME, ['.'] = B_NAME, [':'] = B_NAME,
    ['_'] = B_NAME, ['0'] = B_NAME, ['1'] = B_NAME, ['2'] = B_NAME, ['3'] = B_NAME, ['4'] = B_NAME,
    ['5'] = B_NAME, ['6'] = B_NAME, ['7'] = B_NAME, ['8'] = B_NAME, ['9'] = B_NAME, ['A'] = B_LTR,
    ['B'] = B_LTR,  ['C'] = B_LTR,  ['D'] = B_LTR,  ['E'] = B_LTR,  ['F'] = B_LTR,  ['G'] = B_LTR,
    ['H'] = B_LTR,  ['I'] = B_LTR,  ['J'] = B_LTR,  ['K'] = B_LTR,  ['L'] = B_LTR,  ['M'] = B_LTR,
    ['N'] = B_LTR,  ['O'] = B_LTR,  ['P'] = B_LTR,  ['Q'] = B_LTR,  ['R'] = B_LTR,  ['S'] = B_LTR,
    ['T'] = B_LTR,  ['U'] = B_LTR,  ['V'] = B_LTR,  ['W'] = B_LTR,  ['X'] = B_LTR,  ['Y'] = B_LTR,
    ['Z'] = B_LTR,  ['a'] = B_LTR,  ['b'] = B_LTR,  ['c'] = B_LTR,  ['d'] = B_LTR,  ['e'] = B_LTR,
    ['f'] = B_LTR,  ['g'] = B_LTR,  ['h'] = B_LTR,  ['i'] = B_LTR,  ['j'] = B_LTR,  ['k'] = B_LTR,
    ['l'] = B_LTR,  ['m'] = B_LTR,  ['n'] = B_LTR,  ['o'] = B_LTR,  ['p'] = B_LTR,  ['q'] = B_LTR,
    ['r'] = B_LTR,  ['s'] = B_LTR,  ['t'] = B_LTR,  ['u'] = B_LTR,  ['v'] = B_LTR,  ['w'] = B_LTR,
    ['x'] = B_LTR,  ['y'] = B_LTR,  ['z'] = B_LTR,
};

struct tag_slot {
    uint32_t count; /* attribute names read (the highest of the tags merged here) */
    uint32_t phase; /* characters of the current name (the highest: reaches 100 first) */
};

static inline bool
is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline bool
is_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
is_name_start(unsigned char c)
{
    return is_letter(c) || c == '_' || c == ':' || c == '.';
}

static inline bool
is_name_char(unsigned char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-';
}

/* One byte c (nx follows it, 0 at the end) of a tag in state st; returns the next state. */
static enum tag_state
tag_step(enum tag_state st, struct tag_slot *t, unsigned char c, unsigned char nx)
{
    for (;;) {
        switch (st) {
        case T_ENAME:
            if (is_name_char(c))
                return ++t->phase == HTML_NAME_MAX ? T_TOP : T_ENAME;
            st = T_TOP;
            continue;
        case T_TOP:
            if (is_blank(c))
                return T_TOP;
            if (c == '>' || (c == '/' && nx == '>'))
                return T_DONE;
            if (is_name_start(c)) {
                t->count++;
                t->phase = 1;
                return T_ANAME;
            }
            return T_BOGUS;
        case T_ANAME:
            if (is_name_char(c))
                return ++t->phase == HTML_NAME_MAX ? T_AFTER : T_ANAME;
            st = T_AFTER;
            continue;
        case T_AFTER:
            if (is_blank(c))
                return T_AFTER;
            if (c == '=')
                return T_EQ;
            st = T_TOP;
            continue;
        case T_EQ:
            if (is_blank(c))
                return T_EQ;
            if (c == '"')
                return T_DQ;
            if (c == '\'')
                return T_SQ;
            st = T_UNQ;
            continue;
        case T_UNQ:
            if (is_blank(c))
                return T_TOP;
            return c == '>' ? T_DONE : T_UNQ;
        case T_DQ:
            return c == '"' ? T_TOP : T_DQ;
        case T_SQ:
            return c == '\'' ? T_TOP : T_SQ;
        case T_BOGUS:
            if (is_blank(c))
                return T_TOP;
            if (c == '>' || (c == '/' && nx == '>'))
                return T_DONE;
            return T_BOGUS;
        default:
            return T_DONE;
        }
    }
}

/*
 * Where a tag in state T_TOP at s[i] ends: the index of its '>' (or of the '/' of "/>"),
 * len when it runs to the end.
 */
static size_t
tag_end(const unsigned char *s, size_t i, size_t len)
{
    enum tag_state st = T_TOP;
    struct tag_slot t = {0, 0};

    for (; i < len; i++) {
        enum tag_state ns = tag_step(st, &t, s[i], i + 1 < len ? s[i + 1] : 0);

        if (ns == T_DONE)
            return i;
        st = ns;
    }
    return len;
}

/*
 * The scan of s[0..len) (see the file's comment). With drop, a name that would be the
 * (cap+1)-th of a tag is cut out with everything up to that tag's end ('>', "/>" or the end):
 * s is compacted in place and *ret_len is its new length; the scan goes on over what is
 * kept, so every tag of the result has at most cap names. Returns the most names of a tag
 * seen (without drop: stops early once one passes cap).
 */
static size_t
attrs_scan(unsigned char *s, size_t len, size_t cap, bool drop, size_t *ret_len)
{
    struct tag_slot cur[T_NSTATES], next[T_NSTATES];
    unsigned live = 0; /* bit st: a tag is being followed in state st */
    size_t best = 0, w = 0;
    size_t next_lt = 0, next_dq = 0, next_sq = 0; /* the next '<', '"', '\'' at or after i */

    for (size_t i = 0; i < len; i++) {
        if (!live) {
            const unsigned char *lt = memchr(s + i, '<', len - i);
            size_t j = lt ? (size_t)(lt - s) : len;

            if (drop && w < i)
                memmove(s + w, s + i, j - i);
            w += j - i;
            if (!lt)
                break;
            i = j;
        }
        /*
         * Fast skips. Tags only in states DQ, SQ, UNQ, BOGUS: the bytes that change none
         * of them and start no tag. One tag in a name: the name characters before its
         * 100th (they change nothing but its length).
         */
        size_t j = i;
        if (live && !(live & ~((1u << T_DQ) | (1u << T_SQ)))) {
            /* in quoted values only: memchr, each search kept until passed (linear) */
            if (next_lt < i) {
                const unsigned char *p = memchr(s + i, '<', len - i);
                next_lt = p ? (size_t)(p - s) : len;
            }
            j = next_lt;
            if (live & (1u << T_DQ)) {
                if (next_dq < i) {
                    const unsigned char *p = memchr(s + i, '"', len - i);
                    next_dq = p ? (size_t)(p - s) : len;
                }
                if (next_dq < j)
                    j = next_dq;
            }
            if (live & (1u << T_SQ)) {
                if (next_sq < i) {
                    const unsigned char *p = memchr(s + i, '\'', len - i);
                    next_sq = p ? (size_t)(p - s) : len;
                }
                if (next_sq < j)
                    j = next_sq;
            }
        } else if (!(live & ~((1u << T_DQ) | (1u << T_SQ) | (1u << T_UNQ) | (1u << T_BOGUS)))) {
            unsigned m = B_LT | (live & (1u << T_DQ) ? B_DQ : 0) |
                         (live & (1u << T_SQ) ? B_SQ : 0) | (live & (1u << T_UNQ) ? B_UNQ : 0) |
                         (live & (1u << T_BOGUS) ? B_BOGUS : 0);

            while (j < len && !(byte_class[s[j]] & m))
                j++;
        } else if (live == 1u << T_ANAME || live == 1u << T_ENAME) {
            struct tag_slot *t = &cur[live == 1u << T_ANAME ? T_ANAME : T_ENAME];

            while (j < len && t->phase + 1 < HTML_NAME_MAX && (byte_class[s[j]] & B_NAME)) {
                t->phase++;
                j++;
            }
        }
        if (j > i) {
            if (drop && w < i)
                memmove(s + w, s + i, j - i);
            w += j - i;
            i = j;
            if (i == len)
                break;
        }
        unsigned char c = s[i], nx = i + 1 < len ? s[i + 1] : 0;
        unsigned nlive = 0;
        bool over = false;

        for (unsigned b = live; b; b &= b - 1) {
            unsigned st = (unsigned)__builtin_ctz(b);
            struct tag_slot t = cur[st];
            enum tag_state ns = tag_step((enum tag_state)st, &t, c, nx);

            if (ns == T_DONE)
                continue;
            if (t.count > cap)
                over = true;
            if (t.count > best)
                best = t.count;
            if (nlive & (1u << ns)) {
                if (t.count > next[ns].count)
                    next[ns].count = t.count;
                if (t.phase > next[ns].phase)
                    next[ns].phase = t.phase;
            } else {
                next[ns] = t;
                nlive |= 1u << ns;
            }
        }
        if (over) {
            if (!drop)
                return best;
            /*
             * A name begins here (only a name can raise a count): the tags that read it
             * are before an attribute, and they all end where one from here ends. Cut
             * s[i..end) and read on from the end with the states of before this byte.
             */
            best = cap;
            i = tag_end(s, i, len);
            if (i == len)
                break;
            c = s[i];
            nx = i + 1 < len ? s[i + 1] : 0;
            nlive = 0;
            for (unsigned b = live; b; b &= b - 1) {
                unsigned st = (unsigned)__builtin_ctz(b);
                struct tag_slot t = cur[st];
                enum tag_state ns = tag_step((enum tag_state)st, &t, c, nx);

                /* c is '>' or '/': no name, no count */
                if (ns == T_DONE)
                    continue;
                if (nlive & (1u << ns)) {
                    if (t.count > next[ns].count)
                        next[ns].count = t.count;
                    if (t.phase > next[ns].phase)
                        next[ns].phase = t.phase;
                } else {
                    next[ns] = t;
                    nlive |= 1u << ns;
                }
            }
        }
        /* libxml2 starts a tag at '<' and a letter; '_', ':' and '.' are names too. */
        if (c == '<' && is_name_start(nx)) {
            if (!(nlive & (1u << T_ENAME)))
                next[T_ENAME] = (struct tag_slot){0, 0};
            nlive |= 1u << T_ENAME;
        }
        live = nlive;
        for (unsigned b = live; b; b &= b - 1)
            cur[__builtin_ctz(b)] = next[__builtin_ctz(b)];
        if (drop)
            s[w] = c;
        w++;
    }
    *ret_len = w;
    return best;
}

size_t
html_max_attrs(const char *html, size_t len, size_t cap)
{
    size_t n;

    return attrs_scan((unsigned char *)(uintptr_t)html, len, cap, false, &n);
}

int
html_prep(const char *html, size_t len, const char *encoding, char **ret_text, size_t *ret_len)
{
    struct buf out;
    size_t n = 0;
    int r;

    if (len > HTML_MAX_INPUT)
        return -EMSGSIZE;
    /*
     * A ceiling of its own, not a multiple of len: one TSCII byte is up to 4 code points
     * (12 bytes of UTF-8). A page that decodes to more is cut at HTML_MAX_DECODED, as the
     * text collected from it is at HTML_MAX_TEXT.
     */
    buf_init(&out, HTML_MAX_DECODED);
    if ((r = decode(html, len, encoding, &out)) < 0 && r != -EMSGSIZE) {
        buf_done(&out);
        return -ENOMEM;
    }
    if (out.data) {
        (void)attrs_scan((unsigned char *)out.data, out.len, HTML_MAX_ATTRS, true, &n);
        out.data[n] = '\0';
        out.len = n;
    }
    *ret_len = n;
    *ret_text = out.data ? buf_steal(&out) : strdup("");
    buf_done(&out);
    return *ret_text ? 0 : -ENOMEM;
}
