#include "html.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

#define HTML_PARSE_FLAGS                                                                     \
    (HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER |     \
     HTML_PARSE_COMPACT)

#define BLOCK_TEXT_MAX (1024u * 1024u) /* bytes of one block */

struct kind_entry {
    const char *name;
    enum html_kind kind;
};

/* Sorted by name (bsearch). Elements not listed are inline. */
static const struct kind_entry kind_table[] = {
    {"address", HTML_KIND_BLOCK},  {"applet", HTML_KIND_SKIP},     {"area", HTML_KIND_SKIP},
    {"article", HTML_KIND_BLOCK},  {"aside", HTML_KIND_BLOCK},     {"audio", HTML_KIND_SKIP},
    {"base", HTML_KIND_SKIP},      {"blockquote", HTML_KIND_BLOCK}, {"body", HTML_KIND_BLOCK},
    {"br", HTML_KIND_BREAK},       {"button", HTML_KIND_SKIP},     {"canvas", HTML_KIND_SKIP},
    {"caption", HTML_KIND_BLOCK},  {"center", HTML_KIND_BLOCK},    {"datalist", HTML_KIND_SKIP},
    {"dd", HTML_KIND_BLOCK},       {"details", HTML_KIND_BLOCK},   {"dialog", HTML_KIND_SKIP},
    {"dir", HTML_KIND_BLOCK},      {"div", HTML_KIND_BLOCK},       {"dl", HTML_KIND_BLOCK},
    {"dt", HTML_KIND_BLOCK},       {"embed", HTML_KIND_SKIP},      {"fieldset", HTML_KIND_BLOCK},
    {"figcaption", HTML_KIND_BLOCK}, {"figure", HTML_KIND_BLOCK},  {"footer", HTML_KIND_BLOCK},
    {"form", HTML_KIND_BLOCK},     {"frame", HTML_KIND_SKIP},      {"frameset", HTML_KIND_SKIP},
    {"h1", HTML_KIND_BLOCK},       {"h2", HTML_KIND_BLOCK},        {"h3", HTML_KIND_BLOCK},
    {"h4", HTML_KIND_BLOCK},       {"h5", HTML_KIND_BLOCK},        {"h6", HTML_KIND_BLOCK},
    {"head", HTML_KIND_SKIP},      {"header", HTML_KIND_BLOCK},    {"hgroup", HTML_KIND_BLOCK},
    {"hr", HTML_KIND_BLOCK},       {"html", HTML_KIND_BLOCK},      {"iframe", HTML_KIND_SKIP},
    {"img", HTML_KIND_SKIP},       {"input", HTML_KIND_SKIP},      {"legend", HTML_KIND_BLOCK},
    {"li", HTML_KIND_BLOCK},       {"link", HTML_KIND_SKIP},       {"listing", HTML_KIND_BLOCK},
    {"main", HTML_KIND_BLOCK},     {"map", HTML_KIND_SKIP},        {"math", HTML_KIND_SKIP},
    {"menu", HTML_KIND_BLOCK},     {"meta", HTML_KIND_SKIP},       {"nav", HTML_KIND_BLOCK},
    {"noembed", HTML_KIND_SKIP},   {"noframes", HTML_KIND_SKIP},   {"noscript", HTML_KIND_SKIP},
    {"object", HTML_KIND_SKIP},    {"ol", HTML_KIND_BLOCK},        {"optgroup", HTML_KIND_SKIP},
    {"option", HTML_KIND_SKIP},    {"p", HTML_KIND_BLOCK},         {"param", HTML_KIND_SKIP},
    {"picture", HTML_KIND_SKIP},   {"plaintext", HTML_KIND_BLOCK}, {"pre", HTML_KIND_BLOCK},
    {"script", HTML_KIND_SKIP},    {"section", HTML_KIND_BLOCK},   {"select", HTML_KIND_SKIP},
    {"source", HTML_KIND_SKIP},    {"style", HTML_KIND_SKIP},      {"summary", HTML_KIND_BLOCK},
    {"svg", HTML_KIND_SKIP},       {"table", HTML_KIND_BLOCK},     {"tbody", HTML_KIND_BLOCK},
    {"td", HTML_KIND_BLOCK},       {"template", HTML_KIND_SKIP},   {"textarea", HTML_KIND_SKIP},
    {"tfoot", HTML_KIND_BLOCK},    {"th", HTML_KIND_BLOCK},        {"thead", HTML_KIND_BLOCK},
    {"title", HTML_KIND_SKIP},     {"tr", HTML_KIND_BLOCK},        {"track", HTML_KIND_SKIP},
    {"ul", HTML_KIND_BLOCK},       {"video", HTML_KIND_SKIP},      {"xmp", HTML_KIND_BLOCK},
};

static int
kind_cmp(const void *key, const void *entry)
{
    return strcmp(key, ((const struct kind_entry *)entry)->name);
}

enum html_kind
html_kind_of(const xmlNode *elem)
{
    const struct kind_entry *e;

    if (!elem || elem->type != XML_ELEMENT_NODE || !elem->name)
        return HTML_KIND_INLINE;
    e = bsearch(elem->name, kind_table, sizeof(kind_table) / sizeof(kind_table[0]),
                sizeof(kind_table[0]), kind_cmp);
    return e ? e->kind : HTML_KIND_INLINE;
}

static bool
name_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->name && strcmp((const char *)n->name, name) == 0;
}

char *
html_attr(const xmlNode *elem, const char *name)
{
    xmlChar *v;
    char *s;

    if (!elem || elem->type != XML_ELEMENT_NODE)
        return NULL;
    v = xmlGetNoNsProp(elem, (const xmlChar *)name);
    if (!v)
        return NULL;
    s = strdup((const char *)v);
    xmlFree(v);
    return s;
}

/* The value of an attribute without copying: first text child of the attribute node. */
static const char *
attr_peek(const xmlNode *elem, const char *name)
{
    for (const xmlAttr *a = elem->properties; a; a = a->next) {
        if (a->name && strcasecmp((const char *)a->name, name) == 0) {
            if (a->children && a->children->type == XML_TEXT_NODE && !a->children->next)
                return a->children->content ? (const char *)a->children->content : "";
            return "";
        }
    }
    return NULL;
}

static bool
attr_present(const xmlNode *elem, const char *name)
{
    for (const xmlAttr *a = elem->properties; a; a = a->next)
        if (a->name && strcasecmp((const char *)a->name, name) == 0)
            return true;
    return false;
}

/* Case-insensitive search of needle in the first len bytes of hay, spaces ignored in hay. */
static bool
style_has(const char *style, const char *prop, const char *value)
{
    char buf[512];
    size_t n = 0;

    for (const char *p = style; *p && n + 1 < sizeof(buf); p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        buf[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    buf[n] = '\0';
    char needle[64];
    size_t pl = strlen(prop), vl = strlen(value);
    if (pl + vl + 2 > sizeof(needle))
        return false;
    memcpy(needle, prop, pl);
    needle[pl] = ':';
    memcpy(needle + pl + 1, value, vl + 1);
    for (const char *hit = strstr(buf, needle); hit; hit = strstr(hit + 1, needle))
        if (hit == buf || hit[-1] == ';' || hit[-1] == '{' || hit[-1] == '"')
            return true;
    return false;
}

bool
html_is_hidden(const xmlNode *elem)
{
    const char *v;

    if (!elem || elem->type != XML_ELEMENT_NODE || !elem->properties)
        return false;
    if (attr_present(elem, "hidden"))
        return true;
    v = attr_peek(elem, "aria-hidden");
    if (v && strcasecmp(v, "true") == 0)
        return true;
    v = attr_peek(elem, "style");
    if (v && (style_has(v, "display", "none") || style_has(v, "visibility", "hidden")))
        return true;
    return false;
}

struct ev_word {
    const char *word;
    uint32_t ev;
};

/* Substrings of a lower-cased "class id role" string and the evidence they carry. */
static const struct ev_word ev_words[] = {
    {"share", HTML_EV_SHARE},       {"social", HTML_EV_SHARE},      {"follow", HTML_EV_SHARE},
    {"newsletter", HTML_EV_SHARE},  {"subscri", HTML_EV_SHARE},     {"app-promo", HTML_EV_SHARE},
    {"apppromo", HTML_EV_SHARE},    {"app-download", HTML_EV_SHARE}, {"sharing", HTML_EV_SHARE},
    {"related", HTML_EV_RELATED},   {"recommend", HTML_EV_RELATED}, {"more-stor", HTML_EV_RELATED},
    {"morestor", HTML_EV_RELATED},  {"read-more", HTML_EV_RELATED}, {"readmore", HTML_EV_RELATED},
    {"read-also", HTML_EV_RELATED}, {"see-also", HTML_EV_RELATED},  {"outbrain", HTML_EV_RELATED},
    {"taboola", HTML_EV_RELATED},   {"teaser", HTML_EV_RELATED},    {"saiba-mais", HTML_EV_RELATED},
    {"know-more", HTML_EV_RELATED}, {"byline", HTML_EV_BYLINE},     {"author", HTML_EV_BYLINE},
    {"dateline", HTML_EV_BYLINE},   {"timestamp", HTML_EV_BYLINE},  {"published", HTML_EV_BYLINE}, {"pubdate", HTML_EV_BYLINE},
    {"post-date", HTML_EV_BYLINE}, {"entry-date", HTML_EV_BYLINE}, {"article-date", HTML_EV_BYLINE},
    {"posted-on", HTML_EV_BYLINE},  {"post-meta", HTML_EV_BYLINE},  {"entry-meta", HTML_EV_BYLINE},
    {"article-meta", HTML_EV_BYLINE}, {"caption", HTML_EV_CAPTION}, {"credit", HTML_EV_CAPTION},
    {"footer", HTML_EV_FOOTER},     {"copyright", HTML_EV_FOOTER},  {"disclaimer", HTML_EV_FOOTER},
    {"breadcrumb", HTML_EV_NAV},    {"menu", HTML_EV_NAV},          {"sidebar", HTML_EV_NAV},
    {"pagination", HTML_EV_NAV},    {"pager", HTML_EV_NAV},         {"navbar", HTML_EV_NAV},
    {"masthead", HTML_EV_NAV},      {"skip-link", HTML_EV_NAV},
    {"advert", HTML_EV_AD},         {"sponsor", HTML_EV_AD},        {"promo", HTML_EV_AD},
    {"banner", HTML_EV_AD},         {"cookie", HTML_EV_AD},         {"gdpr", HTML_EV_AD},
    {"consent", HTML_EV_AD},        {"popup", HTML_EV_AD},          {"modal", HTML_EV_AD},
    {"paywall", HTML_EV_AD},        {"comment", HTML_EV_COMMENT},   {"disqus", HTML_EV_COMMENT},
    {"tags", HTML_EV_TAGS},         {"tag-list", HTML_EV_TAGS},     {"taglist", HTML_EV_TAGS},
    {"categor", HTML_EV_TAGS},      {"keyword", HTML_EV_TAGS},      {"article", HTML_EV_POSITIVE},
    {"content", HTML_EV_POSITIVE},  {"entry", HTML_EV_POSITIVE},    {"post-body", HTML_EV_POSITIVE},
    {"postbody", HTML_EV_POSITIVE}, {"story", HTML_EV_POSITIVE},    {"main", HTML_EV_POSITIVE},
    {"body", HTML_EV_POSITIVE},     {"text", HTML_EV_POSITIVE},     {"blog", HTML_EV_POSITIVE},
};

/* Appends a lower-cased attribute value and a space to buf; returns the new length. */
static size_t
lower_into(char *buf, size_t n, size_t cap, const char *v)
{
    if (n + 2 >= cap)
        return n;
    for (; v && *v && n + 2 < cap; v++) {
        unsigned char c = (unsigned char)*v;
        buf[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    buf[n++] = ' ';
    buf[n] = '\0';
    return n;
}

/* Whether a lower-cased class token (len bytes) starts with prefix. */
static bool
token_starts(const char *tok, size_t len, const char *prefix)
{
    size_t pl = strlen(prefix);

    return len > pl && strncmp(tok, prefix, pl) == 0;
}

size_t
html_class_words(const xmlNode *elem, char *buf, size_t cap)
{
    size_t n = 0;

    if (cap < 3)
        return 0;
    buf[0] = '\0';
    if (!elem || elem->type != XML_ELEMENT_NODE || !elem->properties)
        return 0;
    const char *cls = attr_peek(elem, "class");
    const char *id = attr_peek(elem, "id");
    if (cls) {
        /*
         * A blog post's wrapper lists its taxonomy ("post-123 hentry category-newsletter
         * tag-social"): those tokens name the subject, not the box, and are left out.
         */
        bool post = false;
        for (const char *t = cls; *t;) {
            while (*t == ' ' || *t == '\t' || *t == '\n')
                t++;
            size_t len = strcspn(t, " \t\n");
            if ((len == 6 && strncasecmp(t, "hentry", 6) == 0) ||
                (len == 14 && strncasecmp(t, "status-publish", 14) == 0) ||
                (len == 9 && strncasecmp(t, "type-post", 9) == 0))
                post = true;
            t += len;
        }
        for (const char *t = cls; *t && n + 2 < cap;) {
            while (*t == ' ' || *t == '\t' || *t == '\n')
                t++;
            size_t len = strcspn(t, " \t\n");
            char low[24];
            size_t ll = len < sizeof(low) - 1 ? len : sizeof(low) - 1;
            for (size_t k = 0; k < ll; k++)
                low[k] = (char)((unsigned char)t[k] >= 'A' && (unsigned char)t[k] <= 'Z' ? t[k] + 32 : t[k]);
            low[ll] = '\0';
            bool taxonomy = post && (token_starts(low, ll, "category-") ||
                                     token_starts(low, ll, "tag-"));
            for (size_t k = 0; k < len && !taxonomy && n + 2 < cap; k++) {
                unsigned char c = (unsigned char)t[k];
                buf[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            }
            if (len && !taxonomy)
                buf[n++] = ' ';
            buf[n] = '\0';
            t += len;
        }
    }
    if (id)
        n = lower_into(buf, n, cap, id);
    return n;
}

uint32_t
html_evidence(const xmlNode *elem)
{
    uint32_t ev = 0;
    char buf[384];
    size_t n = 0;

    if (!elem || elem->type != XML_ELEMENT_NODE)
        return 0;
    if (name_is(elem, "nav") || name_is(elem, "aside") || name_is(elem, "menu"))
        ev |= HTML_EV_NAV;
    else if (name_is(elem, "footer"))
        ev |= HTML_EV_FOOTER;
    else if (name_is(elem, "figcaption"))
        ev |= HTML_EV_CAPTION;
    else if (name_is(elem, "article") || name_is(elem, "main"))
        ev |= HTML_EV_POSITIVE;
    if (!elem->properties)
        return ev;
    buf[0] = '\0';
    const char *cls = attr_peek(elem, "class");
    const char *id = attr_peek(elem, "id");
    const char *role = attr_peek(elem, "role");
    const char *rel = attr_peek(elem, "rel");
    const char *itemprop = attr_peek(elem, "itemprop");
    if (cls || id)
        n = html_class_words(elem, buf, sizeof(buf));
    if (itemprop)
        n = lower_into(buf, n, sizeof(buf), itemprop);
    if (rel && strcasecmp(rel, "author") == 0)
        ev |= HTML_EV_BYLINE;
    if (role) {
        if (strcasecmp(role, "navigation") == 0 || strcasecmp(role, "menu") == 0 ||
            strcasecmp(role, "menubar") == 0 || strcasecmp(role, "complementary") == 0)
            ev |= HTML_EV_NAV;
        else if (strcasecmp(role, "contentinfo") == 0)
            ev |= HTML_EV_FOOTER;
        else if (strcasecmp(role, "dialog") == 0 || strcasecmp(role, "alertdialog") == 0 ||
                 strcasecmp(role, "banner") == 0)
            ev |= HTML_EV_AD;
        else if (strcasecmp(role, "main") == 0 || strcasecmp(role, "article") == 0)
            ev |= HTML_EV_POSITIVE;
    }
    if (n == 0)
        return ev;
    for (size_t i = 0; i < sizeof(ev_words) / sizeof(ev_words[0]); i++)
        if (strstr(buf, ev_words[i].word))
            ev |= ev_words[i].ev;
    /* "ad" alone, "ads", "ad-slot": whole tokens only, "head", "shadow" are not ads. */
    for (const char *p = buf; (p = strstr(p, "ad")) != NULL; p += 2) {
        bool start = p == buf || p[-1] == ' ' || p[-1] == '-' || p[-1] == '_';
        char after = p[2] == 's' ? p[3] : p[2];
        bool end = after == ' ' || after == '-' || after == '_' || after == '\0';
        if (start && end) {
            ev |= HTML_EV_AD;
            break;
        }
    }
    return ev;
}

int
html_parse(const char *html, size_t len, const char *encoding, xmlDoc **ret_doc)
{
    htmlDocPtr doc;

    if (len > HTML_MAX_INPUT)
        return -EMSGSIZE;
    if (len == 0) {
        *ret_doc = NULL;
        return 0;
    }
    /* libxml2 ends the document at a NUL byte: parse a copy without them. */
    char *copy = NULL;
    if (memchr(html, '\0', len)) {
        copy = malloc(len);
        if (!copy)
            return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < len; i++)
            if (html[i] != '\0')
                copy[k++] = html[i];
        html = copy;
        len = k;
    }
    doc = len ? htmlReadMemory(html, (int)len, NULL, encoding, HTML_PARSE_FLAGS) : NULL;
    free(copy);
    /* NULL for markup without any node is not an error: there is no text. */
    *ret_doc = doc;
    return 0;
}

/* The state of one walk over a subtree. */
/* Non-space text bytes under n, counting up to limit. */
static size_t
text_bytes_upto(const xmlNode *n, size_t limit, unsigned depth)
{
    size_t total = 0;

    for (const xmlNode *c = n->children; c && total < limit && depth < HTML_MAX_DEPTH;
         c = c->next) {
        if (c->type == XML_TEXT_NODE && c->content) {
            for (const xmlChar *t = c->content; *t && total < limit; t++)
                total += *t > ' ';
        } else if (c->type == XML_ELEMENT_NODE && html_kind_of(c) != HTML_KIND_SKIP) {
            total += text_bytes_upto(c, limit - total, depth + 1);
        }
    }
    return total;
}

bool
html_gives_no_text(const xmlNode *elem)
{
    if (html_is_hidden(elem))
        return true;
    if (html_kind_of(elem) != HTML_KIND_SKIP)
        return false;
    /*
     * <noscript><div></noscript>: libxml2 parses noscript as markup, so an element left open
     * in it swallows the rest of the page. A noscript with that much text is walked.
     */
    if (name_is(elem, "noscript"))
        return text_bytes_upto(elem, 512, 0) < 512;
    return true;
}

struct walk {
    struct html_blocks *out;
    unsigned flags;
    html_skip_cb skip;
    void *userdata;
    int err;
    bool full; /* HTML_MAX_TEXT or HTML_MAX_BLOCKS reached */

    /* the block being filled */
    struct buf cur;
    uint32_t chars, link_chars;
    bool space_pending;
    bool line_pending;
    bool cell_pending;
    unsigned br_run;
    bool lead_time_dropped;

    /* context of the innermost block element */
    const xmlNode *elem;
    uint32_t bflags; /* HTML_BLOCK_* of the context and HTML_EV_* of it and its ancestors */
    uint32_t group;
    uint8_t heading;

    unsigned link_depth;
    unsigned pre_depth;
    uint32_t next_group;
};

static void
flush(struct walk *w)
{
    struct html_blocks *b = w->out;

    w->space_pending = false;
    w->line_pending = false;
    w->cell_pending = false;
    w->br_run = 0;
    /* trailing newlines from <br> */
    while (w->cur.len > 0 && w->cur.data[w->cur.len - 1] == '\n')
        w->cur.data[--w->cur.len] = '\0';
    if (w->cur.len == 0 || w->err)
        goto reset;
    if (b->n >= HTML_MAX_BLOCKS || b->text_bytes >= HTML_MAX_TEXT) {
        w->full = true;
        goto reset;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        struct html_block *v = realloc(b->v, cap * sizeof(*v));
        if (!v) {
            w->err = -ENOMEM;
            goto reset;
        }
        b->v = v;
        b->cap = cap;
    }
    struct html_block *blk = &b->v[b->n];
    blk->len = w->cur.len;
    blk->text = buf_steal(&w->cur);
    if (!blk->text) {
        w->err = -ENOMEM;
        goto reset;
    }
    blk->chars = w->chars;
    blk->link_chars = w->link_chars;
    blk->flags = w->bflags | (w->lead_time_dropped ? HTML_BLOCK_LEAD_TIME : 0);
    blk->group = w->group;
    blk->elem = w->elem;
    blk->heading = w->heading;
    b->text_bytes += blk->len;
    b->n++;
reset:
    buf_reset(&w->cur);
    w->chars = 0;
    w->link_chars = 0;
    w->lead_time_dropped = false;
}

static void
put(struct walk *w, const char *s, size_t n)
{
    if (w->err == 0 && buf_append(&w->cur, s, n) < 0) {
        /* A block past BLOCK_TEXT_MAX keeps what it has; OOM is an error. */
        if (w->cur.len + n <= w->cur.max)
            w->err = -ENOMEM;
    }
}

/* Adds the text of a text node, collapsing whitespace and dropping control characters. */
static void
add_text(struct walk *w, const unsigned char *s)
{
    bool pre = w->pre_depth > 0;

    if (w->full || w->err)
        return;
    while (*s) {
        unsigned char c = *s;
        size_t n = 1;

        if (c < 0x80) {
            if (pre && (c == '\n' || c == ' ' || c == '\t')) {
                /* preformatted: line breaks and spaces as written (a tab as one space) */
                if (c == '\n') {
                    w->line_pending = w->cur.len > 0 || w->line_pending;
                    w->space_pending = false;
                } else if (w->cur.len > 0 && !w->line_pending) {
                    put(w, " ", 1);
                } else if (w->line_pending) {
                    put(w, "\n ", 2);
                    w->line_pending = false;
                }
                s++;
                continue;
            }
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
                w->space_pending = true;
                s++;
                continue;
            }
            if (c < 0x20 || c == 0x7f) {
                s++;
                continue;
            }
        } else {
            if ((c & 0xe0) == 0xc0)
                n = 2;
            else if ((c & 0xf0) == 0xe0)
                n = 3;
            else if ((c & 0xf8) == 0xf0)
                n = 4;
            for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80) {
                    n = 0;
                    break;
                }
            }
            if (n == 0 || (c & 0xc0) == 0x80 || c >= 0xf8) {
                s++; /* invalid UTF-8 (libxml2 does not produce it): dropped */
                continue;
            }
            if (c == 0xc2 && s[1] == 0xa0) { /* NO-BREAK SPACE */
                w->space_pending = true;
                s += 2;
                continue;
            }
            if (c == 0xc2 && s[1] < 0xa0) { /* C1 controls */
                s += 2;
                continue;
            }
            if (c == 0xc2 && s[1] == 0xad) { /* SOFT HYPHEN */
                s += 2;
                continue;
            }
            if (c == 0xe2 && s[1] == 0x80) {
                unsigned char d = s[2];
                if (d <= 0x8a || d == 0xa8 || d == 0xa9 || d == 0xaf) { /* spaces, LS, PS */
                    w->space_pending = true;
                    s += 3;
                    continue;
                }
                if (d >= 0x8b && d <= 0x8d) { /* zero-width space / (non-)joiner */
                    s += 3;
                    continue;
                }
            }
            if (c == 0xe3 && s[1] == 0x80 && s[2] == 0x80) { /* IDEOGRAPHIC SPACE */
                w->space_pending = true;
                s += 3;
                continue;
            }
            if (c == 0xef && s[1] == 0xbb && s[2] == 0xbf) { /* BOM / ZWNBSP */
                s += 3;
                continue;
            }
        }
        /* a character to keep */
        if (w->cur.len > 0) {
            if (w->line_pending)
                put(w, "\n", 1);
            else if (w->cell_pending)
                put(w, " | ", 3);
            else if (w->space_pending)
                put(w, " ", 1);
        }
        w->line_pending = false;
        w->cell_pending = false;
        w->space_pending = false;
        w->br_run = 0;
        put(w, (const char *)s, n);
        w->chars++;
        if (w->link_depth > 0)
            w->link_chars++;
        s += n;
        if (w->cur.len + 8 >= BLOCK_TEXT_MAX)
            flush(w);
    }
}

static void walk_children(struct walk *w, const xmlNode *node, unsigned depth);

static uint8_t
heading_level(const xmlNode *n)
{
    const char *name = (const char *)n->name;

    if (name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && name[2] == '\0')
        return (uint8_t)(name[1] - '0');
    return 0;
}

static void
walk_element(struct walk *w, const xmlNode *n, unsigned depth)
{
    enum html_kind kind;

    if (depth > HTML_MAX_DEPTH || w->full || w->err)
        return;
    kind = html_kind_of(n);
    if (html_gives_no_text(n))
        return;
    if (kind == HTML_KIND_SKIP)
        kind = HTML_KIND_INLINE; /* a noscript that swallowed the page */
    if (w->skip && w->skip(n, w->userdata))
        return;
    if (kind == HTML_KIND_BREAK) {
        if (w->pre_depth > 0 || w->br_run == 0) {
            w->line_pending = w->cur.len > 0;
            w->br_run++;
        } else {
            flush(w);
        }
        return;
    }
    if (kind == HTML_KIND_INLINE) {
        bool link = name_is(n, "a") && attr_present(n, "href");
        if (name_is(n, "time") && (w->flags & HTML_WALK_DROP_LEAD_TIME) && w->cur.len == 0) {
            w->lead_time_dropped = true;
            return;
        }
        w->link_depth += link;
        walk_children(w, n, depth + 1);
        w->link_depth -= link;
        return;
    }

    /* a block element */
    if (name_is(n, "form") && (w->flags & HTML_WALK_DROP_FORMS))
        return;
    bool is_cell = name_is(n, "td") || name_is(n, "th");
    if (is_cell) {
        /* A cell continues its row's line unless it holds blocks of its own. */
        if (w->cur.len > 0)
            w->cell_pending = true;
        walk_children(w, n, depth + 1);
        if (w->cur.len > 0)
            w->cell_pending = true;
        return;
    }
    flush(w);
    if (name_is(n, "hr"))
        return;

    const xmlNode *save_elem = w->elem;
    uint32_t save_flags = w->bflags, save_group = w->group;
    uint8_t save_heading = w->heading;
    unsigned save_pre = w->pre_depth;

    w->elem = n;
    /* The root of a walk was chosen by the caller: its own class says nothing more. */
    w->bflags = (w->bflags & ~(HTML_BLOCK_LIST_ITEM | HTML_BLOCK_ROW)) |
                (depth > 0 ? html_evidence(n) : 0);
    if (name_is(n, "li") || name_is(n, "dt") || name_is(n, "dd")) {
        w->bflags |= HTML_BLOCK_LIST_ITEM;
    } else if (name_is(n, "tr")) {
        w->bflags |= HTML_BLOCK_ROW;
    } else if (name_is(n, "ul") || name_is(n, "ol") || name_is(n, "dl") ||
               name_is(n, "table") || name_is(n, "menu") || name_is(n, "dir")) {
        w->group = ++w->next_group;
    } else if (name_is(n, "figcaption") || name_is(n, "caption")) {
        w->bflags |= HTML_BLOCK_CAPTION;
    } else if (name_is(n, "pre") || name_is(n, "xmp") || name_is(n, "listing") ||
               name_is(n, "plaintext")) {
        w->bflags |= HTML_BLOCK_PRE;
        w->pre_depth++;
    } else if (name_is(n, "blockquote")) {
        w->bflags |= HTML_BLOCK_QUOTE;
    } else if (name_is(n, "figure")) {
        w->bflags |= HTML_BLOCK_FIGURE;
    }
    uint8_t h = heading_level(n);
    if (h) {
        w->heading = h;
        w->bflags |= HTML_BLOCK_HEADING;
    }
    walk_children(w, n, depth + 1);
    flush(w);
    w->elem = save_elem;
    w->bflags = save_flags;
    w->group = save_group;
    w->heading = save_heading;
    w->pre_depth = save_pre;
}

static void
walk_children(struct walk *w, const xmlNode *node, unsigned depth)
{
    for (const xmlNode *c = node->children; c && !w->full && !w->err; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            walk_element(w, c, depth);
        else if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            add_text(w, c->content);
    }
}

int
html_blocks_collect(const xmlNode *root, unsigned flags, html_skip_cb skip, void *userdata,
                    struct html_blocks *blocks)
{
    struct walk w = {
        .out = blocks,
        .flags = flags,
        .skip = skip,
        .userdata = userdata,
        .next_group = (uint32_t)blocks->n * 4 + 1000000u,
    };

    if (!root)
        return 0;
    buf_init(&w.cur, BLOCK_TEXT_MAX);
    if (root->type == XML_DOCUMENT_NODE || root->type == XML_HTML_DOCUMENT_NODE)
        walk_children(&w, root, 0);
    else if (root->type == XML_ELEMENT_NODE)
        walk_element(&w, root, 0);
    flush(&w);
    buf_done(&w.cur);
    return w.err;
}

void
html_blocks_done(struct html_blocks *blocks)
{
    if (!blocks)
        return;
    for (size_t i = 0; i < blocks->n; i++)
        free(blocks->v[i].text);
    free(blocks->v);
    blocks->v = NULL;
    blocks->n = blocks->cap = 0;
    blocks->text_bytes = 0;
}

int
html_blocks_join(const struct html_blocks *blocks, const bool *keep, char **ret_text)
{
    struct buf out;
    const struct html_block *prev = NULL;
    char *s;
    int r = 0;

    buf_init(&out, HTML_MAX_TEXT + 2 * HTML_MAX_BLOCKS + 16);
    for (size_t i = 0; i < blocks->n && r == 0; i++) {
        const struct html_block *b = &blocks->v[i];
        if (keep && !keep[i])
            continue;
        if (prev) {
            bool line = b->group != 0 && b->group == prev->group &&
                        (b->flags & (HTML_BLOCK_LIST_ITEM | HTML_BLOCK_ROW)) &&
                        (prev->flags & (HTML_BLOCK_LIST_ITEM | HTML_BLOCK_ROW));
            r = buf_append(&out, line ? "\n" : "\n\n", line ? 1 : 2);
        }
        if (r == 0)
            r = buf_append(&out, b->text, b->len);
        prev = b;
    }
    if (r < 0) {
        buf_done(&out);
        return r;
    }
    s = out.data ? buf_steal(&out) : strdup("");
    buf_done(&out);
    if (!s)
        return -ENOMEM;
    *ret_text = s;
    return 0;
}

int
html_to_text(const char *html, size_t len, char **ret_text)
{
    struct html_blocks blocks = {0};
    xmlDoc *doc = NULL;
    char *text = NULL;
    int r;

    r = html_parse(html, len, "UTF-8", &doc);
    if (r < 0)
        return r;
    r = html_blocks_collect((const xmlNode *)doc, HTML_WALK_DROP_FORMS, NULL, NULL, &blocks);
    if (r == 0)
        r = html_blocks_join(&blocks, NULL, &text);
    html_blocks_done(&blocks);
    xmlFreeDoc(doc);
    if (r < 0)
        return r;
    *ret_text = text;
    return 0;
}
