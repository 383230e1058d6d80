/*
 * htmlfrag.c — html_fragment_blocks(): simple item markup read directly, without libxml2.
 *
 * Most items carry a few paragraphs of well-formed markup. A small tokenizer reads such a
 * fragment into the same block builder as the DOM walk of html.c (html-internal.h), giving
 * the blocks libxml2's tree would give; whatever it does not know for sure (an unknown tag, a
 * nesting libxml2 repairs, invalid UTF-8, a reference it cannot decode) makes it give up,
 * and the fragment goes through libxml2 and the walk as before.
 */
#include "text/html.h"
#include "text/html-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>

#include "base/buf.h"
#include "base/utf8.h"

#define FAST_MAX_INPUT (512u * 1024u) /* bytes: no block or document limit is reachable */
#define FAST_MAX_DEPTH 64             /* open elements */
#define FAST_ATTR_BYTES 4096          /* attribute values the builder reads, per start tag */
#define FAST_NAME_MAX 16              /* bytes of a tag or attribute name the table knows */

/*
 * How the tokenizer treats a tag: what it may hold, so that libxml2 builds exactly the tree
 * it reads (none of these pairs makes libxml2 close or open an element by itself).
 */
enum fast_class {
    FC_NONE = 0, /* not known: libxml2 decides */
    FC_INLINE,   /* holds text, FC_INLINE, <br>, <img> */
    FC_PHRASE,   /* <p>, <h1>-<h6>: the same */
    FC_FLOW,     /* holds anything but <li> */
    FC_LIST,     /* <ul>, <ol>: holds <li> and text */
    FC_LI,       /* only in FC_LIST, holds anything but <li> */
    FC_BR,       /* void, where FC_INLINE may be */
    FC_IMG,      /* void, where FC_INLINE may be; its attributes are not read */
    FC_HR,       /* void, where FC_FLOW may be */
};

struct fast_tag {
    const char *name;
    enum fast_class cls;
};

/* Sorted by name. */
static const struct fast_tag fast_tags[] = {
    {"a", FC_INLINE},    {"abbr", FC_INLINE},   {"article", FC_FLOW},    {"aside", FC_FLOW},
    {"b", FC_INLINE},    {"big", FC_INLINE},    {"blockquote", FC_FLOW}, {"br", FC_BR},
    {"cite", FC_INLINE}, {"code", FC_INLINE},   {"del", FC_INLINE},      {"dfn", FC_INLINE},
    {"div", FC_FLOW},    {"em", FC_INLINE},     {"figcaption", FC_FLOW}, {"figure", FC_FLOW},
    {"footer", FC_FLOW}, {"h1", FC_PHRASE},     {"h2", FC_PHRASE},       {"h3", FC_PHRASE},
    {"h4", FC_PHRASE},   {"h5", FC_PHRASE},     {"h6", FC_PHRASE},       {"header", FC_FLOW},
    {"hr", FC_HR},       {"i", FC_INLINE},      {"img", FC_IMG},         {"ins", FC_INLINE},
    {"kbd", FC_INLINE},  {"li", FC_LI},         {"main", FC_FLOW},       {"mark", FC_INLINE},
    {"nav", FC_FLOW},    {"ol", FC_LIST},       {"p", FC_PHRASE},        {"q", FC_INLINE},
    {"s", FC_INLINE},    {"samp", FC_INLINE},   {"section", FC_FLOW},    {"small", FC_INLINE},
    {"span", FC_INLINE}, {"strong", FC_INLINE}, {"sub", FC_INLINE},      {"sup", FC_INLINE},
    {"time", FC_INLINE}, {"tt", FC_INLINE},     {"u", FC_INLINE},        {"ul", FC_LIST},
    {"var", FC_INLINE},
};

static int
fast_tag_cmp(const void *key, const void *member)
{
    return strcmp(key, ((const struct fast_tag *)member)->name);
}

static enum fast_class
fast_class_of(const char *name)
{
    const struct fast_tag *t = bsearch(name, fast_tags, sizeof(fast_tags) / sizeof(fast_tags[0]),
                                       sizeof(fast_tags[0]), fast_tag_cmp);
    return t ? t->cls : FC_NONE;
}

/* Whether an element of class child may stand in one of class parent (FC_FLOW: the body). */
static bool
fast_may_hold(enum fast_class parent, enum fast_class child)
{
    switch (parent) {
    case FC_INLINE:
    case FC_PHRASE:
        return child == FC_INLINE || child == FC_BR || child == FC_IMG;
    case FC_LIST:
        return child == FC_LI;
    case FC_FLOW:
    case FC_LI:
        return child != FC_LI;
    default:
        return false;
    }
}

/* One open element of the tokenizer. */
struct fast_open {
    enum fast_class cls;
    char name[FAST_NAME_MAX];
    bool entered; /* html_builder_open() said true: html_builder_close() at its end */
    bool link;    /* an <a> */
    struct frame f;
};

struct fast {
    struct walk *w;
    const unsigned char *p, *end;
    struct fast_open open[FAST_MAX_DEPTH];
    unsigned n;
    unsigned skip_from; /* open[skip_from..] give nothing (FAST_MAX_DEPTH: none) */
    unsigned links;     /* open <a> elements */
};

static bool
is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/*
 * Whether the bytes are UTF-8 libxml2 reads as they are: valid (no overlong form, surrogate
 * or code point past U+10FFFF), no NUL or C0 control but tab, LF and CR, no U+FFFE/U+FFFF,
 * no byte order mark at the start.
 */
static bool
fast_plain_utf8(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;

    if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        return false;
    while (p < end) {
        if (end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, sizeof(v));
            /* eight ASCII bytes, none below 0x20 */
            if ((v & 0x8080808080808080ULL) == 0 &&
                ((v - 0x2020202020202020ULL) & ~v & 0x8080808080808080ULL) == 0) {
                p += 8;
                continue;
            }
        }
        uint32_t cp;
        int n = utf8_decode(p, (size_t)(end - p), &cp);
        if (n <= 0 || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xfffe ||
            cp == 0xffff)
            return false;
        p += n;
    }
    return true;
}

/*
 * Reads a reference at f->p ('&') as libxml2's HTML parser decodes it in text into out (4
 * bytes): a known named entity with ';', a numeric one with ';' naming a character XML
 * allows, or a lone '&' before a byte that cannot start a name. Returns the bytes, 0 to
 * give up (f->p unchanged).
 */
static size_t
fast_reference(struct fast *f, unsigned char *out)
{
    const unsigned char *p = f->p + 1, *end = f->end;
    uint32_t cp = 0;

    if (p == end || (*p < 0x80 && !is_alpha(*p) && *p != '#' && *p != '_' && *p != ':')) {
        out[0] = '&';
        f->p = p;
        return 1;
    }
    if (*p == '#') {
        p++;
        bool hex = p < end && (*p == 'x' || *p == 'X');
        p += hex;
        size_t digits = 0;
        for (; p < end && digits < 8; p++, digits++) {
            unsigned d;
            if (is_digit(*p))
                d = *p - '0';
            else if (hex && *p >= 'a' && *p <= 'f')
                d = *p - 'a' + 10u;
            else if (hex && *p >= 'A' && *p <= 'F')
                d = *p - 'A' + 10u;
            else
                break;
            cp = cp * (hex ? 16u : 10u) + d;
        }
        if (digits == 0 || digits >= 8 || p == end || *p != ';')
            return 0;
        /* IS_CHAR: what libxml2 keeps (it drops the rest) */
        if (!(cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
              (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)))
            return 0;
        f->p = p + 1;
        return utf8_encode(cp, out);
    }
    char name[32];
    size_t n = 0;
    while (p < end && (is_alpha(*p) || is_digit(*p)) && n < sizeof(name) - 1)
        name[n++] = (char)*p++;
    if (n == 0 || p == end || *p != ';')
        return 0;
    name[n] = '\0';
    if (strcmp(name, "amp") == 0)
        cp = '&';
    else if (strcmp(name, "lt") == 0)
        cp = '<';
    else if (strcmp(name, "gt") == 0)
        cp = '>';
    else if (strcmp(name, "quot") == 0)
        cp = '"';
    else if (strcmp(name, "nbsp") == 0)
        cp = 0xa0;
    else {
        const htmlEntityDesc *ent = htmlEntityLookup((const xmlChar *)name);
        if (!ent || ent->value == 0 || ent->value > 0x10ffff)
            return 0;
        cp = ent->value;
    }
    f->p = p + 1;
    return utf8_encode(cp, out);
}

/* The attributes of enum attr_id a class of element needs the values of. */
static bool
fast_value_needed(enum fast_class cls, enum attr_id a)
{
    if (cls == FC_IMG)
        return false; /* a skipped kind: hidden or not, it gives nothing */
    if (a == ATTR_STYLE || a == ATTR_ARIA_HIDDEN)
        return true; /* whether it is hidden */
    return cls != FC_INLINE && cls != FC_BR && a != ATTR_HREF && a != ATTR_HIDDEN;
}

/*
 * Reads the attributes of a start tag from f->p (after its name) to its '>' into av (values
 * the builder reads, copied NUL-terminated into store); *ret_empty tells "/>". False to give
 * up: an unquoted value, a value the builder reads with a reference or control character in
 * it, anything unusual.
 */
static bool
fast_attributes(struct fast *f, enum fast_class cls, const char **av, char *store, bool *ret_empty)
{
    const unsigned char *p = f->p, *end = f->end;
    size_t used = 0;

    for (size_t a = 0; a < N_ATTRS; a++)
        av[a] = NULL;
    for (;;) {
        bool blank = false;
        while (p < end && is_blank(*p)) {
            p++;
            blank = true;
        }
        if (p == end)
            return false;
        if (*p == '>') {
            f->p = p + 1;
            *ret_empty = false;
            return true;
        }
        if (*p == '/') {
            if (p + 1 == end || p[1] != '>')
                return false;
            f->p = p + 2;
            *ret_empty = true;
            return true;
        }
        if (!blank || !is_alpha(*p))
            return false;
        char name[FAST_NAME_MAX];
        size_t nl = 0;
        bool long_name = false;
        const unsigned char *ns = p;
        while (p < end &&
               (is_alpha(*p) || is_digit(*p) || *p == '-' || *p == '_' || *p == ':' || *p == '.')) {
            if (nl < sizeof(name) - 1)
                name[nl++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            else
                long_name = true;
            if (p - ns > 64)
                return false; /* libxml2 cuts long names */
            p++;
        }
        name[nl] = '\0';
        int which = -1;
        for (int a = 0; !long_name && a < N_ATTRS; a++)
            if (strcmp(name, html_attr_names[a]) == 0)
                which = a;
        const unsigned char *v = NULL;
        size_t vl = 0;
        const unsigned char *q = p;
        while (q < end && is_blank(*q))
            q++;
        if (q < end && *q == '=') {
            q++;
            while (q < end && is_blank(*q))
                q++;
            if (q == end || (*q != '"' && *q != '\''))
                return false;
            const unsigned char *close = memchr(q + 1, *q, (size_t)(end - q - 1));
            if (!close)
                return false;
            v = q + 1;
            vl = (size_t)(close - v);
            p = close + 1;
            /* a value must be followed by a blank, '>' or "/>" */
            if (p < end && !is_blank(*p) && *p != '>' && *p != '/')
                return false;
        }
        if (which < 0 || av[which] || !fast_value_needed(cls, (enum attr_id)which)) {
            if (which >= 0 && !av[which])
                av[which] = ""; /* present; its value is not read */
            continue;
        }
        for (size_t k = 0; k < vl; k++)
            if (v[k] == '&' || v[k] < 0x20)
                return false;
        if (vl + 1 > FAST_ATTR_BYTES - used)
            return false;
        if (vl)
            memcpy(store + used, v, vl);
        store[used + vl] = '\0';
        av[which] = store + used;
        used += vl + 1;
    }
}

/* Enters an element into the builder unless an open one is being left out. */
static void
fast_enter(struct fast *f, struct fast_open *o, const struct el *e)
{
    o->entered = false;
    if (f->skip_from < FAST_MAX_DEPTH)
        return;
    o->entered = html_builder_open(f->w, e, f->n + 2, &o->f);
    if (!o->entered && o->cls != FC_BR && o->cls != FC_IMG && o->cls != FC_HR)
        f->skip_from = f->n;
}

/* Closes the innermost open element. */
static void
fast_pop(struct fast *f)
{
    struct fast_open *o = &f->open[--f->n];

    if (o->entered)
        html_builder_close(f->w, &o->f);
    if (f->skip_from == f->n)
        f->skip_from = FAST_MAX_DEPTH;
    f->links -= o->link;
}

/*
 * Reads a tag name at *pp (letters and digits) lower-cased into name (FAST_NAME_MAX bytes)
 * and moves *pp past it: its length, or SIZE_MAX when it is too long for the fast path.
 */
static size_t
fast_tag_name(const unsigned char **pp, const unsigned char *end, char *name)
{
    const unsigned char *p = *pp;
    size_t nl = 0;
    while (p < end && (is_alpha(*p) || is_digit(*p))) {
        if (nl == FAST_NAME_MAX - 1)
            return SIZE_MAX;
        name[nl++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        p++;
    }
    name[nl] = '\0';
    *pp = p;
    return nl;
}

/* A start tag at f->p ('<' and a letter). False to give up. */
static bool
fast_start_tag(struct fast *f)
{
    const unsigned char *p = f->p + 1, *end = f->end;
    char name[FAST_NAME_MAX];
    size_t nl = fast_tag_name(&p, end, name);
    if (nl == SIZE_MAX)
        return false;
    if (p == end || (!is_blank(*p) && *p != '>' && *p != '/'))
        return false;
    enum fast_class cls = fast_class_of(name);
    enum fast_class parent = f->n ? f->open[f->n - 1].cls : FC_FLOW;
    if (cls == FC_NONE || !fast_may_hold(parent, cls) || f->n == FAST_MAX_DEPTH)
        return false;
    bool link = strcmp(name, "a") == 0;
    if (link && f->links > 0)
        return false;
    const char *av[N_ATTRS];
    char store[FAST_ATTR_BYTES];
    bool empty;
    f->p = p;
    if (!fast_attributes(f, cls, av, store, &empty))
        return false;
    bool isvoid = cls == FC_BR || cls == FC_IMG || cls == FC_HR;
    if (empty && !isvoid)
        return false;
    struct fast_open *o = &f->open[f->n];
    o->cls = cls;
    memcpy(o->name, name, nl + 1);
    o->link = link;
    struct el e = {.te = html_tag_lookup(name), .name = o->name, .av = av};
    fast_enter(f, o, &e);
    if (isvoid)
        return true; /* the builder never enters a void element */
    f->n++;
    f->links += link;
    return true;
}

/* An end tag at f->p ("</"): it must close the innermost open element. False to give up. */
static bool
fast_end_tag(struct fast *f)
{
    const unsigned char *p = f->p + 2, *end = f->end;
    char name[FAST_NAME_MAX];
    size_t nl = fast_tag_name(&p, end, name);
    if (nl == SIZE_MAX)
        return false;
    while (p < end && is_blank(*p))
        p++;
    if (nl == 0 || p == end || *p != '>' || f->n == 0 || strcmp(f->open[f->n - 1].name, name) != 0)
        return false;
    f->p = p + 1;
    fast_pop(f);
    return true;
}

/*
 * The tokenizer: the blocks of a fragment it fully understands into w, as the DOM walk of
 * libxml2's tree would give them. False when it gives up (w then holds partial blocks).
 */
static bool
fast_run(struct fast *f)
{
    static const char *const no_attrs[N_ATTRS];
    struct el html = {.te = html_tag_lookup("html"), .name = "html", .av = no_attrs};
    struct el body = {.te = html_tag_lookup("body"), .name = "body", .av = no_attrs};
    struct frame fh, fb;

    /* libxml2 puts a fragment into <html><body> (text before any tag into a <p>, which
     * gives the same blocks as the body: it has no flags and ends where a block starts). */
    if (!html_builder_open(f->w, &html, 0, &fh) || !html_builder_open(f->w, &body, 1, &fb))
        return false;
    while (f->p < f->end) {
        const unsigned char *p = f->p;
        if (*p == '<') {
            if (p + 1 < f->end && is_alpha(p[1])) {
                if (!fast_start_tag(f))
                    return false;
            } else if (p + 2 < f->end && p[1] == '/' && is_alpha(p[2])) {
                if (!fast_end_tag(f))
                    return false;
            } else {
                return false; /* comment, doctype, processing instruction, stray '<' */
            }
        } else if (*p == '&') {
            unsigned char out[4];
            size_t n = fast_reference(f, out);
            if (n == 0)
                return false;
            if (f->skip_from == FAST_MAX_DEPTH)
                html_walk_text(f->w, out, out + n);
        } else {
            const unsigned char *e = p + 1;
            while (e < f->end && *e != '<' && *e != '&')
                e++;
            if (f->skip_from == FAST_MAX_DEPTH)
                html_walk_text(f->w, p, e);
            f->p = e;
        }
        if (f->w->err)
            return false;
    }
    while (f->n > 0)
        fast_pop(f);
    html_builder_close(f->w, &fb);
    html_builder_close(f->w, &fh);
    return f->w->err == 0;
}

/* Frees the blocks past the first n0 (a fast path that gave up). */
static void
blocks_truncate(struct html_blocks *blocks, size_t n0, size_t bytes0)
{
    for (size_t i = n0; i < blocks->n; i++)
        free(blocks->v[i].text);
    blocks->n = n0;
    blocks->text_bytes = bytes0;
}

/* fast_run() over a fragment into blocks; false when it gave up (blocks then as before). */
static bool
fast_blocks(const char *html, size_t len, unsigned flags, struct html_blocks *blocks, int *ret_err)
{
    size_t n0 = blocks->n, bytes0 = blocks->text_bytes;
    struct walk w = {
        .out = blocks,
        .flags = flags,
        .next_group = (uint32_t)blocks->n * 4 + 1000000u,
    };
    struct fast f = {
        .w = &w,
        .p = (const unsigned char *)html,
        .end = (const unsigned char *)html + len,
        .skip_from = FAST_MAX_DEPTH,
    };

    *ret_err = 0;
    if (len > FAST_MAX_INPUT || !fast_plain_utf8((const unsigned char *)html, len))
        return false;
    buf_init(&w.cur, BLOCK_TEXT_MAX);
    bool done = fast_run(&f);
    if (done)
        html_walk_flush(&w);
    buf_done(&w.cur);
    if (done && w.err == 0)
        return true;
    blocks_truncate(blocks, n0, bytes0);
    *ret_err = w.err;
    return false;
}

bool
html_fragment_is_simple(const char *html, size_t len)
{
    struct html_blocks blocks = {0};
    int err;
    bool simple = len == 0 || fast_blocks(html, len, HTML_WALK_DROP_FORMS, &blocks, &err);

    html_blocks_done(&blocks);
    return simple;
}

int
html_fragment_blocks(const char *html, size_t len, unsigned flags, struct html_blocks *blocks)
{
    int err;

    if (len > HTML_MAX_INPUT)
        return -EMSGSIZE;
    if (len == 0)
        return 0;
    if (fast_blocks(html, len, flags, blocks, &err))
        return 0;
    if (err == -ENOMEM)
        return -ENOMEM;

    size_t n0 = blocks->n;
    xmlDoc *doc = NULL;
    int r = html_parse(html, len, "UTF-8", &doc);
    if (r < 0 || !doc)
        return r;
    r = html_blocks_collect((const xmlNode *)doc, flags, NULL, NULL, blocks);
    xmlFreeDoc(doc);
    for (size_t i = n0; i < blocks->n; i++)
        blocks->v[i].elem = NULL;
    return r;
}
