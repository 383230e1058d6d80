#include "text/html.h"
#include "text/html-internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/utf8.h"

/* Elements the walk tells apart (TAG_OTHER: any other). */
enum tag_id {
    TAG_OTHER = 0,
    TAG_A,
    TAG_ARTICLE,
    TAG_ASIDE,
    TAG_BLOCKQUOTE,
    TAG_CAPTION,
    TAG_DD,
    TAG_DIR,
    TAG_DL,
    TAG_DT,
    TAG_FIGCAPTION,
    TAG_FIGURE,
    TAG_FOOTER,
    TAG_FORM,
    TAG_HR,
    TAG_LI,
    TAG_LISTING,
    TAG_MAIN,
    TAG_MENU,
    TAG_NAV,
    TAG_NOSCRIPT,
    TAG_OL,
    TAG_PLAINTEXT,
    TAG_PRE,
    TAG_TABLE,
    TAG_TD,
    TAG_TH,
    TAG_TIME,
    TAG_TR,
    TAG_UL,
    TAG_XMP,
};

struct kind_entry {
    const char *name;
    enum html_kind kind;
    enum tag_id id;
};

/* Elements not listed are inline. */
static const struct kind_entry kind_table[] = {
    {"a", HTML_KIND_INLINE, TAG_A},
    {"address", HTML_KIND_BLOCK, TAG_OTHER},
    {"applet", HTML_KIND_SKIP, TAG_OTHER},
    {"area", HTML_KIND_SKIP, TAG_OTHER},
    {"article", HTML_KIND_BLOCK, TAG_ARTICLE},
    {"aside", HTML_KIND_BLOCK, TAG_ASIDE},
    {"audio", HTML_KIND_SKIP, TAG_OTHER},
    {"base", HTML_KIND_SKIP, TAG_OTHER},
    {"blockquote", HTML_KIND_BLOCK, TAG_BLOCKQUOTE},
    {"body", HTML_KIND_BLOCK, TAG_OTHER},
    {"br", HTML_KIND_BREAK, TAG_OTHER},
    {"button", HTML_KIND_SKIP, TAG_OTHER},
    {"canvas", HTML_KIND_SKIP, TAG_OTHER},
    {"caption", HTML_KIND_BLOCK, TAG_CAPTION},
    {"center", HTML_KIND_BLOCK, TAG_OTHER},
    {"datalist", HTML_KIND_SKIP, TAG_OTHER},
    {"dd", HTML_KIND_BLOCK, TAG_DD},
    {"details", HTML_KIND_BLOCK, TAG_OTHER},
    {"dialog", HTML_KIND_SKIP, TAG_OTHER},
    {"dir", HTML_KIND_BLOCK, TAG_DIR},
    {"div", HTML_KIND_BLOCK, TAG_OTHER},
    {"dl", HTML_KIND_BLOCK, TAG_DL},
    {"dt", HTML_KIND_BLOCK, TAG_DT},
    {"embed", HTML_KIND_SKIP, TAG_OTHER},
    {"fieldset", HTML_KIND_BLOCK, TAG_OTHER},
    {"figcaption", HTML_KIND_BLOCK, TAG_FIGCAPTION},
    {"figure", HTML_KIND_BLOCK, TAG_FIGURE},
    {"footer", HTML_KIND_BLOCK, TAG_FOOTER},
    {"form", HTML_KIND_BLOCK, TAG_FORM},
    {"frame", HTML_KIND_SKIP, TAG_OTHER},
    {"frameset", HTML_KIND_SKIP, TAG_OTHER},
    {"h1", HTML_KIND_BLOCK, TAG_OTHER},
    {"h2", HTML_KIND_BLOCK, TAG_OTHER},
    {"h3", HTML_KIND_BLOCK, TAG_OTHER},
    {"h4", HTML_KIND_BLOCK, TAG_OTHER},
    {"h5", HTML_KIND_BLOCK, TAG_OTHER},
    {"h6", HTML_KIND_BLOCK, TAG_OTHER},
    {"head", HTML_KIND_SKIP, TAG_OTHER},
    {"header", HTML_KIND_BLOCK, TAG_OTHER},
    {"hgroup", HTML_KIND_BLOCK, TAG_OTHER},
    {"hr", HTML_KIND_BLOCK, TAG_HR},
    {"html", HTML_KIND_BLOCK, TAG_OTHER},
    {"iframe", HTML_KIND_SKIP, TAG_OTHER},
    {"img", HTML_KIND_SKIP, TAG_OTHER},
    {"input", HTML_KIND_SKIP, TAG_OTHER},
    {"legend", HTML_KIND_BLOCK, TAG_OTHER},
    {"li", HTML_KIND_BLOCK, TAG_LI},
    {"link", HTML_KIND_SKIP, TAG_OTHER},
    {"listing", HTML_KIND_BLOCK, TAG_LISTING},
    {"main", HTML_KIND_BLOCK, TAG_MAIN},
    {"map", HTML_KIND_SKIP, TAG_OTHER},
    {"math", HTML_KIND_SKIP, TAG_OTHER},
    {"menu", HTML_KIND_BLOCK, TAG_MENU},
    {"meta", HTML_KIND_SKIP, TAG_OTHER},
    {"nav", HTML_KIND_BLOCK, TAG_NAV},
    {"noembed", HTML_KIND_SKIP, TAG_OTHER},
    {"noframes", HTML_KIND_SKIP, TAG_OTHER},
    {"noscript", HTML_KIND_SKIP, TAG_NOSCRIPT},
    {"object", HTML_KIND_SKIP, TAG_OTHER},
    {"ol", HTML_KIND_BLOCK, TAG_OL},
    {"optgroup", HTML_KIND_SKIP, TAG_OTHER},
    {"option", HTML_KIND_SKIP, TAG_OTHER},
    {"p", HTML_KIND_BLOCK, TAG_OTHER},
    {"param", HTML_KIND_SKIP, TAG_OTHER},
    {"picture", HTML_KIND_SKIP, TAG_OTHER},
    {"plaintext", HTML_KIND_BLOCK, TAG_PLAINTEXT},
    {"pre", HTML_KIND_BLOCK, TAG_PRE},
    {"script", HTML_KIND_SKIP, TAG_OTHER},
    {"section", HTML_KIND_BLOCK, TAG_OTHER},
    {"select", HTML_KIND_SKIP, TAG_OTHER},
    {"source", HTML_KIND_SKIP, TAG_OTHER},
    {"style", HTML_KIND_SKIP, TAG_OTHER},
    {"summary", HTML_KIND_BLOCK, TAG_OTHER},
    {"svg", HTML_KIND_SKIP, TAG_OTHER},
    {"table", HTML_KIND_BLOCK, TAG_TABLE},
    {"tbody", HTML_KIND_BLOCK, TAG_OTHER},
    {"td", HTML_KIND_BLOCK, TAG_TD},
    {"template", HTML_KIND_SKIP, TAG_OTHER},
    {"textarea", HTML_KIND_SKIP, TAG_OTHER},
    {"tfoot", HTML_KIND_BLOCK, TAG_OTHER},
    {"th", HTML_KIND_BLOCK, TAG_TH},
    {"thead", HTML_KIND_BLOCK, TAG_OTHER},
    {"time", HTML_KIND_INLINE, TAG_TIME},
    {"title", HTML_KIND_SKIP, TAG_OTHER},
    {"tr", HTML_KIND_BLOCK, TAG_TR},
    {"track", HTML_KIND_SKIP, TAG_OTHER},
    {"ul", HTML_KIND_BLOCK, TAG_UL},
    {"video", HTML_KIND_SKIP, TAG_OTHER},
    {"xmp", HTML_KIND_BLOCK, TAG_XMP},
};

#define N_KINDS (sizeof(kind_table) / sizeof(kind_table[0]))
#define TAG_SLOTS 256 /* a power of two, over twice N_KINDS */

/*
 * The table as an open-addressing hash of the element names (lower case, as libxml2's HTML
 * parser writes them): one probe per element instead of a binary search. Built once
 * (pthread_once), read-only afterwards; a slot holds 0 (empty) or a table index + 1.
 */
static uint8_t tag_slots[TAG_SLOTS];
static pthread_once_t tag_once = PTHREAD_ONCE_INIT;

static uint32_t
tag_hash(const char *name)
{
    uint32_t h = 2166136261u;
    for (; *name; name++) {
        h ^= (unsigned char)*name;
        h *= 16777619u;
    }
    return h ^ (h >> 13);
}

static void
on_tag_init(void)
{
    for (size_t k = 0; k < N_KINDS; k++) {
        uint32_t i = tag_hash(kind_table[k].name);
        while (tag_slots[i & (TAG_SLOTS - 1)])
            i++;
        tag_slots[i & (TAG_SLOTS - 1)] = (uint8_t)(k + 1);
    }
}

/* The table entry of a lower-case element name, or NULL (inline, not told apart). */
const struct kind_entry *
html_tag_lookup(const char *name)
{
    (void)pthread_once(&tag_once, on_tag_init);
    for (uint32_t i = tag_hash(name);; i++) {
        unsigned k = tag_slots[i & (TAG_SLOTS - 1)];
        if (k == 0)
            return NULL;
        if (strcmp(kind_table[k - 1].name, name) == 0)
            return &kind_table[k - 1];
    }
}

/* The table entry of an element, or NULL (an inline element the walk does not tell apart). */
static const struct kind_entry *
tag_entry(const xmlNode *elem)
{
    if (!elem || elem->type != XML_ELEMENT_NODE || !elem->name)
        return NULL;
    return html_tag_lookup((const char *)elem->name);
}

static enum tag_id
tag_id_of(const xmlNode *elem)
{
    const struct kind_entry *e = tag_entry(elem);
    return e ? e->id : TAG_OTHER;
}

enum html_kind
html_kind_of(const xmlNode *elem)
{
    const struct kind_entry *e = tag_entry(elem);
    return e ? e->kind : HTML_KIND_INLINE;
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

const char *const html_attr_names[N_ATTRS] = {
    "class", "id", "role", "rel", "itemprop", "style", "aria-hidden", "hidden", "href",
};

static struct el
el_of_node(const xmlNode *n)
{
    return (struct el){.te = tag_entry(n), .name = (const char *)n->name, .node = n};
}

/* The value of one of the attributes the walk reads, "" when it has none, NULL if absent. */
static const char *
el_attr(const struct el *e, enum attr_id a)
{
    if (e->av)
        return e->av[a];
    return e->node->properties ? attr_peek(e->node, html_attr_names[a]) : NULL;
}

static bool
el_is_hidden(const struct el *e)
{
    const char *v;

    if (!e->av && !e->node->properties)
        return false;
    if (el_attr(e, ATTR_HIDDEN))
        return true;
    v = el_attr(e, ATTR_ARIA_HIDDEN);
    if (v && strcasecmp(v, "true") == 0)
        return true;
    v = el_attr(e, ATTR_STYLE);
    if (v && (style_has(v, "display", "none") || style_has(v, "visibility", "hidden")))
        return true;
    return false;
}

bool
html_is_hidden(const xmlNode *elem)
{
    if (!elem || elem->type != XML_ELEMENT_NODE || !elem->properties)
        return false;
    struct el e = el_of_node(elem);
    return el_is_hidden(&e);
}

struct ev_word {
    const char *word;
    uint32_t ev;
};

/* Substrings of a lower-cased "class id role" string and the evidence they carry. */
static const struct ev_word ev_words[] = {
    {"share", HTML_EV_SHARE},
    {"social", HTML_EV_SHARE},
    {"follow", HTML_EV_SHARE},
    {"newsletter", HTML_EV_SHARE},
    {"subscri", HTML_EV_SHARE},
    {"app-promo", HTML_EV_SHARE},
    {"apppromo", HTML_EV_SHARE},
    {"app-download", HTML_EV_SHARE},
    {"sharing", HTML_EV_SHARE},
    {"related", HTML_EV_RELATED},
    {"recommend", HTML_EV_RELATED},
    {"more-stor", HTML_EV_RELATED},
    {"morestor", HTML_EV_RELATED},
    {"read-more", HTML_EV_RELATED},
    {"readmore", HTML_EV_RELATED},
    {"read-also", HTML_EV_RELATED},
    {"see-also", HTML_EV_RELATED},
    {"outbrain", HTML_EV_RELATED},
    {"taboola", HTML_EV_RELATED},
    {"teaser", HTML_EV_RELATED},
    {"saiba-mais", HTML_EV_RELATED},
    {"know-more", HTML_EV_RELATED},
    {"byline", HTML_EV_BYLINE},
    {"author", HTML_EV_BYLINE},
    {"dateline", HTML_EV_BYLINE},
    {"timestamp", HTML_EV_BYLINE},
    {"published", HTML_EV_BYLINE},
    {"pubdate", HTML_EV_BYLINE},
    {"post-date", HTML_EV_BYLINE},
    {"entry-date", HTML_EV_BYLINE},
    {"article-date", HTML_EV_BYLINE},
    {"posted-on", HTML_EV_BYLINE},
    {"post-meta", HTML_EV_BYLINE},
    {"entry-meta", HTML_EV_BYLINE},
    {"article-meta", HTML_EV_BYLINE},
    {"caption", HTML_EV_CAPTION},
    {"credit", HTML_EV_CAPTION},
    {"footer", HTML_EV_FOOTER},
    {"copyright", HTML_EV_FOOTER},
    {"disclaimer", HTML_EV_FOOTER},
    {"breadcrumb", HTML_EV_NAV},
    {"menu", HTML_EV_NAV},
    {"sidebar", HTML_EV_NAV},
    {"pagination", HTML_EV_NAV},
    {"pager", HTML_EV_NAV},
    {"navbar", HTML_EV_NAV},
    {"masthead", HTML_EV_NAV},
    {"skip-link", HTML_EV_NAV},
    {"advert", HTML_EV_AD},
    {"sponsor", HTML_EV_AD},
    {"promo", HTML_EV_AD},
    {"banner", HTML_EV_AD},
    {"cookie", HTML_EV_AD},
    {"gdpr", HTML_EV_AD},
    {"consent", HTML_EV_AD},
    {"popup", HTML_EV_AD},
    {"modal", HTML_EV_AD},
    {"paywall", HTML_EV_AD},
    {"comment", HTML_EV_COMMENT},
    {"disqus", HTML_EV_COMMENT},
    {"tags", HTML_EV_TAGS},
    {"tag-list", HTML_EV_TAGS},
    {"taglist", HTML_EV_TAGS},
    {"categor", HTML_EV_TAGS},
    {"keyword", HTML_EV_TAGS},
    {"article", HTML_EV_POSITIVE},
    {"content", HTML_EV_POSITIVE},
    {"entry", HTML_EV_POSITIVE},
    {"post-body", HTML_EV_POSITIVE},
    {"postbody", HTML_EV_POSITIVE},
    {"story", HTML_EV_POSITIVE},
    {"main", HTML_EV_POSITIVE},
    {"body", HTML_EV_POSITIVE},
    {"text", HTML_EV_POSITIVE},
    {"blog", HTML_EV_POSITIVE},
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

/* html_class_words() from the class and id values (either may be NULL). */
static size_t
class_words(const char *cls, const char *id, char *buf, size_t cap)
{
    size_t n = 0;

    if (cap < 3)
        return 0;
    buf[0] = '\0';
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
                low[k] = (char)((unsigned char)t[k] >= 'A' && (unsigned char)t[k] <= 'Z' ? t[k] + 32
                                                                                         : t[k]);
            low[ll] = '\0';
            bool taxonomy =
                post && (token_starts(low, ll, "category-") || token_starts(low, ll, "tag-"));
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

size_t
html_class_words(const xmlNode *elem, char *buf, size_t cap)
{
    if (cap < 3)
        return 0;
    buf[0] = '\0';
    if (!elem || elem->type != XML_ELEMENT_NODE || !elem->properties)
        return 0;
    return class_words(attr_peek(elem, "class"), attr_peek(elem, "id"), buf, cap);
}

/* HTML_EV_* of an element (html_evidence()). */
static uint32_t
el_evidence(const struct el *e)
{
    uint32_t ev = 0;
    char buf[384];
    size_t n = 0;

    switch (e->te ? e->te->id : TAG_OTHER) {
    case TAG_NAV:
    case TAG_ASIDE:
    case TAG_MENU:
        ev |= HTML_EV_NAV;
        break;
    case TAG_FOOTER:
        ev |= HTML_EV_FOOTER;
        break;
    case TAG_FIGCAPTION:
        ev |= HTML_EV_CAPTION;
        break;
    case TAG_ARTICLE:
    case TAG_MAIN:
        ev |= HTML_EV_POSITIVE;
        break;
    default:
        break;
    }
    if (!e->av && !e->node->properties)
        return ev;
    buf[0] = '\0';
    const char *cls = el_attr(e, ATTR_CLASS);
    const char *id = el_attr(e, ATTR_ID);
    const char *role = el_attr(e, ATTR_ROLE);
    const char *rel = el_attr(e, ATTR_REL);
    const char *itemprop = el_attr(e, ATTR_ITEMPROP);
    if (cls || id)
        n = class_words(cls, id, buf, sizeof(buf));
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

uint32_t
html_evidence(const xmlNode *elem)
{
    if (!elem || elem->type != XML_ELEMENT_NODE)
        return 0;
    struct el e = el_of_node(elem);
    return el_evidence(&e);
}

int
html_parse(const char *html, size_t len, const char *encoding, xmlDoc **ret_doc)
{
    char *text;
    size_t n;
    int r;

    if (len > HTML_MAX_INPUT)
        return -EMSGSIZE;
    if (len == 0) {
        *ret_doc = NULL;
        return 0;
    }
    /*
     * libxml2 reads what html_prep() checked, as UTF-8 (its own charset switches, which
     * would make it read other characters than the ones counted, never happen).
     */
    if ((r = html_prep(html, len, encoding, &text, &n)) < 0)
        return r;
    /* NULL for markup without any node is not an error: there is no text. */
    *ret_doc = n ? htmlReadMemory(text, (int)n, NULL, "UTF-8", HTML_PARSE_OPTIONS) : NULL;
    free(text);
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
    if (tag_id_of(elem) == TAG_NOSCRIPT)
        return text_bytes_upto(elem, 512, 0) < 512;
    return true;
}

void
html_walk_flush(struct walk *w)
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
    /* An exact copy: w->cur keeps its memory for the next block. */
    blk->len = w->cur.len;
    blk->text = malloc(w->cur.len + 1);
    if (!blk->text) {
        w->err = -ENOMEM;
        goto reset;
    }
    memcpy(blk->text, w->cur.data, w->cur.len + 1);
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

/*
 * Bytes of the character at p (before end) when html_walk_text() keeps it as it is with nothing to
 * decide (not a space, control, invalid byte or one of the special characters below), else 0.
 */
static inline size_t
plain_len(const unsigned char *p, const unsigned char *end)
{
    if (p >= end)
        return 0;
    unsigned char c = p[0];

    if (c < 0x80)
        return c > 0x20 && c < 0x7f;
    if (c == 0xc2 || c == 0xe2 || c == 0xe3 || c == 0xef)
        return 0;
    int k = utf8_len(p, (size_t)(end - p));
    return k > 0 ? (size_t)k : 0;
}

/*
 * Adds text (s up to end: a text node, or a run of a fragment's text), collapsing whitespace
 * and dropping control characters. Text cut anywhere between characters gives the same
 * blocks as the whole.
 */
void
html_walk_text(struct walk *w, const unsigned char *s, const unsigned char *end)
{
    bool pre = w->pre_depth > 0;

    if (w->full || w->err)
        return;
    while (s < end) {
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
            int k = utf8_len(s, (size_t)(end - s));
            if (k <= 0) {
                s++; /* invalid UTF-8 (libxml2 does not produce it): dropped */
                continue;
            }
            n = (size_t)k;
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
        /* the plain characters after it go in with it, up to where a block is cut */
        const unsigned char *e = s + n;
        uint32_t k = 1;
        size_t m;
        while (w->cur.len + (size_t)(e - s) + 8 < BLOCK_TEXT_MAX && (m = plain_len(e, end)) > 0) {
            e += m;
            k++;
        }
        put(w, (const char *)s, (size_t)(e - s));
        w->chars += k;
        if (w->link_depth > 0)
            w->link_chars += k;
        s = e;
        if (w->cur.len + 8 >= BLOCK_TEXT_MAX)
            html_walk_flush(w);
    }
}

static uint8_t
heading_level(const char *name)
{
    if (name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && name[2] == '\0')
        return (uint8_t)(name[1] - '0');
    return 0;
}

/*
 * The block builder, fed by the DOM walk or the fragment tokenizer: the start of element e
 * at depth (the document's <html> is 0). False when its content gives nothing (hidden,
 * skipped, a <br>, <hr> or dropped lead <time>): the caller leaves it out and calls no
 * html_builder_close(); else true with *f for html_builder_close() after the content.
 */
bool
html_builder_open(struct walk *w, const struct el *e, unsigned depth, struct frame *f)
{
    if (depth > HTML_MAX_DEPTH || w->full || w->err)
        return false;
    enum html_kind kind = e->te ? e->te->kind : HTML_KIND_INLINE;
    enum tag_id id = e->te ? e->te->id : TAG_OTHER;
    if (el_is_hidden(e))
        return false;
    if (kind == HTML_KIND_SKIP) {
        /* html_gives_no_text(): a noscript that swallowed the page is walked as inline */
        if (id != TAG_NOSCRIPT || !e->node || text_bytes_upto(e->node, 512, 0) < 512)
            return false;
        kind = HTML_KIND_INLINE;
    }
    if (w->skip && e->node && w->skip(e->node, w->userdata))
        return false;
    if (kind == HTML_KIND_BREAK) {
        if (w->pre_depth > 0 || w->br_run == 0) {
            w->line_pending = w->cur.len > 0;
            w->br_run++;
        } else {
            html_walk_flush(w);
        }
        return false;
    }
    if (kind == HTML_KIND_INLINE) {
        bool link = id == TAG_A && el_attr(e, ATTR_HREF) != NULL;
        if (id == TAG_TIME && (w->flags & HTML_WALK_DROP_LEAD_TIME) && w->cur.len == 0) {
            w->lead_time_dropped = true;
            return false;
        }
        w->link_depth += link;
        f->how = FRAME_INLINE;
        f->link = link;
        return true;
    }

    /* a block element */
    if (id == TAG_FORM && (w->flags & HTML_WALK_DROP_FORMS))
        return false;
    if (id == TAG_TD || id == TAG_TH) {
        /* A cell continues its row's line unless it holds blocks of its own. */
        if (w->cur.len > 0)
            w->cell_pending = true;
        f->how = FRAME_CELL;
        return true;
    }
    html_walk_flush(w);
    if (id == TAG_HR)
        return false;

    f->how = FRAME_BLOCK;
    f->elem = w->elem;
    f->bflags = w->bflags;
    f->group = w->group;
    f->heading = w->heading;
    f->pre_depth = w->pre_depth;

    w->elem = e->node;
    /* The root of a walk was chosen by the caller: its own class says nothing more. */
    w->bflags =
        (w->bflags & ~(HTML_BLOCK_LIST_ITEM | HTML_BLOCK_ROW)) | (depth > 0 ? el_evidence(e) : 0);
    switch (id) {
    case TAG_LI:
    case TAG_DT:
    case TAG_DD:
        w->bflags |= HTML_BLOCK_LIST_ITEM;
        break;
    case TAG_TR:
        w->bflags |= HTML_BLOCK_ROW;
        break;
    case TAG_UL:
    case TAG_OL:
    case TAG_DL:
    case TAG_TABLE:
    case TAG_MENU:
    case TAG_DIR:
        w->group = ++w->next_group;
        break;
    case TAG_FIGCAPTION:
    case TAG_CAPTION:
        w->bflags |= HTML_BLOCK_CAPTION;
        break;
    case TAG_PRE:
    case TAG_XMP:
    case TAG_LISTING:
    case TAG_PLAINTEXT:
        w->bflags |= HTML_BLOCK_PRE;
        w->pre_depth++;
        break;
    case TAG_BLOCKQUOTE:
        w->bflags |= HTML_BLOCK_QUOTE;
        break;
    case TAG_FIGURE:
        w->bflags |= HTML_BLOCK_FIGURE;
        break;
    default:
        break;
    }
    uint8_t h = heading_level(e->name);
    if (h) {
        w->heading = h;
        w->bflags |= HTML_BLOCK_HEADING;
    }
    return true;
}

/* The end of an element html_builder_open() entered (f: what it saved). */
void
html_builder_close(struct walk *w, const struct frame *f)
{
    switch (f->how) {
    case FRAME_INLINE:
        w->link_depth -= f->link;
        break;
    case FRAME_CELL:
        if (w->cur.len > 0)
            w->cell_pending = true;
        break;
    default:
        html_walk_flush(w);
        w->elem = f->elem;
        w->bflags = f->bflags;
        w->group = f->group;
        w->heading = f->heading;
        w->pre_depth = f->pre_depth;
        break;
    }
}

static void walk_children(struct walk *w, const xmlNode *node, unsigned depth);

static void
walk_element(struct walk *w, const xmlNode *n, unsigned depth)
{
    struct el e = el_of_node(n);
    struct frame f;

    if (!html_builder_open(w, &e, depth, &f))
        return;
    walk_children(w, n, depth + 1);
    html_builder_close(w, &f);
}

static void
walk_children(struct walk *w, const xmlNode *node, unsigned depth)
{
    for (const xmlNode *c = node->children; c && !w->full && !w->err; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            walk_element(w, c, depth);
        } else if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
            const unsigned char *t = c->content;
            html_walk_text(w, t, t + strlen((const char *)t));
        }
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
    html_walk_flush(&w);
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

/* Whether block b goes on prev's line group (a newline between them, not a blank line). */
static bool
same_group_line(const struct html_block *prev, const struct html_block *b)
{
    return b->group != 0 && b->group == prev->group &&
           (b->flags & (HTML_BLOCK_LIST_ITEM | HTML_BLOCK_ROW)) &&
           (prev->flags & (HTML_BLOCK_LIST_ITEM | HTML_BLOCK_ROW));
}

/* Joins the kept blocks into one text, sized first and allocated once. */
int
html_blocks_join(const struct html_blocks *blocks, const bool *keep, char **ret_text)
{
    const size_t max = HTML_MAX_TEXT + 2 * HTML_MAX_BLOCKS + 16;
    const struct html_block *prev = NULL;
    size_t total = 0;

    for (size_t i = 0; i < blocks->n; i++) {
        const struct html_block *b = &blocks->v[i];
        if (keep && !keep[i])
            continue;
        size_t sep = prev ? (same_group_line(prev, b) ? 1 : 2) : 0;
        if (b->len + sep > max - total)
            return -EMSGSIZE;
        total += sep + b->len;
        prev = b;
    }
    char *s = malloc(total + 1);
    if (!s)
        return -ENOMEM;
    size_t o = 0;
    prev = NULL;
    for (size_t i = 0; i < blocks->n; i++) {
        const struct html_block *b = &blocks->v[i];
        if (keep && !keep[i])
            continue;
        if (prev) {
            bool line = same_group_line(prev, b);
            memcpy(s + o, line ? "\n" : "\n\n", line ? 1 : 2);
            o += line ? 1 : 2;
        }
        memcpy(s + o, b->text, b->len);
        o += b->len;
        prev = b;
    }
    s[o] = '\0';
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
