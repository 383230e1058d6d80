#include "text/article.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "text/boilerplate.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "parse/date.h"
#include "parse/feedtext.h"
#include "text/html.h"
#include "text/lang.h"

#define MAX_NODES 2000000u /* elements scored in one page */
#define MIN_PARAGRAPH 25   /* chars of own text for an element to be scored */
#define MIN_ARTICLE 500    /* chars below which extraction retries with fewer removals */
#define META_MAX 2048      /* bytes of one metadata value */

/* Extraction passes, each more lenient (as Readability's flags). */
#define PASS_STRIP_UNLIKELY (1u << 0)
#define PASS_WEIGHT_CLASSES (1u << 1)
#define PASS_CLEAN_CONDITIONALLY (1u << 2)

/* What the scorer knows about one element; found through xmlNode._private (index + 1). */
struct ninfo {
    xmlNode *node;
    double score;
    uint32_t chars;      /* non-space characters of visible text in the subtree */
    uint32_t link_chars; /* of those, inside <a> */
    uint32_t own_chars;  /* text not under a block-level child (the element's own paragraph) */
    uint32_t own_commas;
    uint32_t commas;
    uint32_t n_p, n_img, n_li, n_input, n_embed, n_h;
    int weight;   /* class/id weight */
    bool scored;  /* initialised as a candidate */
    bool dropped; /* gives no text: skip kind, hidden, unlikely */
    bool removed; /* cleaned out of the article */
};

struct page {
    xmlDoc *doc;
    xmlNode *body;
    struct ninfo *info;
    size_t n, cap;
    unsigned pass;
};

static bool
is_name(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->name && strcmp((const char *)n->name, name) == 0;
}

static struct ninfo *
ni(const struct page *p, const xmlNode *n)
{
    uintptr_t i;

    if (!n || n->type != XML_ELEMENT_NODE)
        return NULL;
    i = (uintptr_t)n->_private;
    if (i == 0 || i > p->n)
        return NULL;
    return &p->info[i - 1];
}

/* Lower-cased "class id" of an element into buf. */
static void
class_id(const xmlNode *n, char *buf, size_t cap)
{
    (void)html_class_words(n, buf, cap);
}

static bool
has_word(const char *hay, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(hay, words[i]))
            return true;
    return false;
}

#define HAS_WORD(hay, list) has_word(hay, list, sizeof(list) / sizeof(list[0]))

static const char *const unlikely_words[] = {
    "-ad-",       "ai2html", "banner",     "breadcrumbs",  "combx",      "comment",  "community",
    "cover-wrap", "disqus",  "extra",      "footer",       "gdpr",       "header",   "legends",
    "menu",       "related", "remark",     "replies",      "rss",        "shoutbox", "sidebar",
    "skyscraper", "social",  "sponsor",    "supplemental", "ad-break",   "agegate",  "pagination",
    "pager",      "popup",   "yom-remote", "cookie",       "newsletter", "share",    "sharing",
    "navbar",     "teaser",  "outbrain",   "taboola",      "recommend",
};
static const char *const maybe_words[] = {
    "and", "article", "body", "column", "content", "main", "shadow",
};
static const char *const negative_words[] = {
    "-ad-",       "hidden", "banner",    "combx",      "comment", "com-",       "contact",
    "footer",     "gdpr",   "masthead",  "media",      "meta",    "outbrain",   "promo",
    "related",    "scroll", "share",     "shoutbox",   "sidebar", "skyscraper", "sponsor",
    "shopping",   "tags",   "widget",    "byline",     "author",  "caption",    "social",
    "newsletter", "teaser", "recommend", "breadcrumb", "nav",
};
static const char *const positive_words[] = {
    "article", "body", "content", "entry", "hentry", "h-entry",   "main",
    "page",    "post", "text",    "blog",  "story",  "paragraph", "prose",
};

static int
class_weight(const xmlNode *n)
{
    char buf[512];
    int w = 0;

    if (!n->properties)
        return 0;
    class_id(n, buf, sizeof(buf));
    if (!buf[0])
        return 0;
    if (HAS_WORD(buf, negative_words))
        w -= 25;
    if (HAS_WORD(buf, positive_words))
        w += 25;
    return w;
}

/* How likely an element is to be no part of the article, by its role, tag, class and id. */
enum unlikely {
    UNLIKELY_NO = 0,
    UNLIKELY_CLASS, /* by class or id words alone: a box holding the article may say "share" */
    UNLIKELY_HARD,  /* by role or tag (navigation, dialog, aside) */
};

static const char *const discussion_words[] = {
    "comment", "disqus", "replies", "remark", "shoutbox", "community",
};

static enum unlikely
is_unlikely(const xmlNode *n)
{
    char buf[512];
    const char *role = NULL;

    for (const xmlAttr *a = n->properties; a; a = a->next)
        if (a->name && strcasecmp((const char *)a->name, "role") == 0 && a->children &&
            a->children->type == XML_TEXT_NODE)
            role = (const char *)a->children->content;
    if (role && (strcasecmp(role, "menu") == 0 || strcasecmp(role, "menubar") == 0 ||
                 strcasecmp(role, "complementary") == 0 || strcasecmp(role, "navigation") == 0 ||
                 strcasecmp(role, "alert") == 0 || strcasecmp(role, "alertdialog") == 0 ||
                 strcasecmp(role, "dialog") == 0))
        return UNLIKELY_HARD;
    if (is_name(n, "nav") || is_name(n, "aside"))
        return UNLIKELY_HARD;
    if (is_name(n, "body") || is_name(n, "a") || is_name(n, "html") || is_name(n, "article") ||
        is_name(n, "main"))
        return UNLIKELY_NO;
    class_id(n, buf, sizeof(buf));
    if (!buf[0])
        return UNLIKELY_NO;
    if (!HAS_WORD(buf, unlikely_words) || HAS_WORD(buf, maybe_words))
        return UNLIKELY_NO;
    return HAS_WORD(buf, discussion_words) ? UNLIKELY_HARD : UNLIKELY_CLASS;
}

/*
 * Whether a box whose class alone calls it unlikely holds running prose (several
 * paragraphs, few links): a page wrapper or a text column named after its share buttons.
 */
static bool
holds_prose(const struct ninfo *i)
{
    return i->chars >= 1000 && i->n_p >= 3 && (double)i->link_chars / i->chars < 0.2;
}

/* Counts non-space characters and commas of a text node. */
static void
text_stats(const unsigned char *s, uint32_t *ret_chars, uint32_t *ret_commas)
{
    uint32_t chars = 0, commas = 0;

    for (; *s; s++) {
        unsigned char c = *s;
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || (c & 0xc0) == 0x80)
            continue;
        if (c == 0xc2 && s[1] == 0xa0) {
            s++;
            continue;
        }
        chars++;
        if (c == ',')
            commas++;
        else if (c == 0xef && s[1] == 0xbc && s[2] == 0x8c) /* FULLWIDTH COMMA */
            commas++;
        else if (c == 0xe3 && s[1] == 0x80 && s[2] == 0x81) /* IDEOGRAPHIC COMMA */
            commas++;
    }
    *ret_chars = chars;
    *ret_commas = commas;
}

/* Gives every element an info slot, depth first, and fills the subtree statistics. */
#define NO_OWNER SIZE_MAX

static int
index_tree(struct page *p, xmlNode *n, unsigned depth, bool hidden_ctx, bool in_link,
           size_t block_owner)
{
    if (depth > HTML_MAX_DEPTH)
        return 0;
    if (p->n >= MAX_NODES)
        return 0;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        struct ninfo *v = realloc(p->info, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        p->info = v;
        p->cap = cap;
    }
    size_t idx = p->n++;
    struct ninfo *me = &p->info[idx];
    memset(me, 0, sizeof(*me));
    me->node = n;
    n->_private = (void *)(uintptr_t)(idx + 1);

    enum html_kind kind = html_kind_of(n);
    bool dropped = hidden_ctx || html_gives_no_text(n);
    enum unlikely unlikely = UNLIKELY_NO;
    if (!dropped && (p->pass & PASS_STRIP_UNLIKELY))
        unlikely = is_unlikely(n);
    if (unlikely == UNLIKELY_HARD)
        dropped = true;
    me->dropped = dropped;
    me->weight = (p->pass & PASS_WEIGHT_CLASSES) ? class_weight(n) : 0;

    bool link = in_link || is_name(n, "a");
    size_t owner = kind == HTML_KIND_BLOCK ? idx : block_owner; /* indices: p->info moves */
    uint32_t chars = 0, link_chars = 0, commas = 0;
    uint32_t n_p = is_name(n, "p"), n_img = is_name(n, "img"), n_li = is_name(n, "li");
    uint32_t n_input = is_name(n, "input") || is_name(n, "select") || is_name(n, "textarea") ||
                       is_name(n, "button");
    uint32_t n_embed =
        is_name(n, "iframe") || is_name(n, "embed") || is_name(n, "object") || is_name(n, "video");
    uint32_t n_h =
        n->name && n->name[0] == 'h' && n->name[1] >= '1' && n->name[1] <= '6' && !n->name[2];

    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            size_t ci = p->n;
            int r = index_tree(p, c, depth + 1, dropped, link, owner);
            if (r < 0)
                return r;
            if (ci == p->n)
                continue;
            struct ninfo *ci_info = &p->info[ci];
            chars += ci_info->chars;
            link_chars += ci_info->link_chars;
            commas += ci_info->commas;
            n_p += ci_info->n_p;
            n_img += ci_info->n_img;
            n_li += ci_info->n_li;
            n_input += ci_info->n_input;
            n_embed += ci_info->n_embed;
            n_h += ci_info->n_h;
        } else if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content &&
                   !dropped) {
            uint32_t tc, tm;
            text_stats(c->content, &tc, &tm);
            chars += tc;
            commas += tm;
            if (link)
                link_chars += tc;
            if (owner != NO_OWNER && !link) {
                p->info[owner].own_chars += tc;
                p->info[owner].own_commas += tm;
            }
        }
    }
    me = &p->info[idx];
    if (unlikely == UNLIKELY_CLASS) {
        /* decided on the subtree: prose stays, anything else goes (propagate_dropped) */
        struct ninfo probe = {.chars = chars, .link_chars = link_chars, .n_p = n_p};
        bool list = is_name(n, "ul") || is_name(n, "ol") || is_name(n, "li") || is_name(n, "dl");
        dropped = list || !holds_prose(&probe);
        me->dropped = dropped;
    }
    if (dropped)
        chars = link_chars = commas = 0;
    me->chars = chars;
    me->link_chars = link_chars;
    me->commas = commas;
    me->n_p = n_p;
    me->n_img = n_img;
    me->n_li = n_li;
    me->n_input = n_input;
    me->n_embed = n_embed;
    me->n_h = n_h;
    return 0;
}

/* Marks the subtrees of elements dropped after their children were indexed. */
static void
propagate_dropped(struct page *p)
{
    /* p->info is in document order: a parent's slot comes before its children's */
    for (size_t k = 0; k < p->n; k++) {
        struct ninfo *i = &p->info[k];
        const struct ninfo *pi = i->dropped ? NULL : ni(p, i->node->parent);
        if (pi && pi->dropped)
            i->dropped = true;
    }
}

static double
link_density(const struct ninfo *i)
{
    return i->chars ? (double)i->link_chars / i->chars : 0;
}

static void
init_candidate(struct ninfo *i)
{
    const xmlNode *n = i->node;
    const char *name = (const char *)n->name;

    if (i->scored)
        return;
    i->scored = true;
    i->score = i->weight;
    if (strcmp(name, "div") == 0 || strcmp(name, "article") == 0 || strcmp(name, "main") == 0)
        i->score += 5;
    else if (strcmp(name, "pre") == 0 || strcmp(name, "td") == 0 || strcmp(name, "blockquote") == 0)
        i->score += 3;
    else if (strcmp(name, "address") == 0 || strcmp(name, "ol") == 0 || strcmp(name, "ul") == 0 ||
             strcmp(name, "dl") == 0 || strcmp(name, "dd") == 0 || strcmp(name, "dt") == 0 ||
             strcmp(name, "li") == 0 || strcmp(name, "form") == 0)
        i->score -= 3;
    else if ((name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && !name[2]) ||
             strcmp(name, "th") == 0)
        i->score -= 5;
}

/* Whether an element is one whose own text counts as a paragraph for scoring. */
static bool
scorable(const struct ninfo *i)
{
    const char *name = (const char *)i->node->name;

    if (i->dropped || i->own_chars < MIN_PARAGRAPH)
        return false;
    return strcmp(name, "p") == 0 || strcmp(name, "pre") == 0 || strcmp(name, "td") == 0 ||
           strcmp(name, "div") == 0 || strcmp(name, "section") == 0 ||
           strcmp(name, "article") == 0 || strcmp(name, "blockquote") == 0 ||
           strcmp(name, "main") == 0 || strcmp(name, "font") == 0 || strcmp(name, "span") == 0 ||
           strcmp(name, "center") == 0 || strcmp(name, "dd") == 0 || strcmp(name, "li") == 0;
}

static bool
ancestor_dropped(const struct page *p, const xmlNode *n)
{
    for (; n && n->type == XML_ELEMENT_NODE; n = n->parent) {
        const struct ninfo *i = ni(p, n);
        if (i && i->dropped)
            return true;
    }
    return false;
}

static void
score_paragraphs(struct page *p)
{
    for (size_t k = 0; k < p->n; k++) {
        struct ninfo *i = &p->info[k];
        if (!scorable(i))
            continue;
        uint32_t hundreds = i->own_chars / 100;
        double s = 1.0 + i->own_commas + (hundreds > 3 ? 3 : hundreds);
        xmlNode *a = i->node->parent;
        for (int level = 0; a && a->type == XML_ELEMENT_NODE && level < 5; level++) {
            struct ninfo *ai = ni(p, a);
            if (!ai)
                break;
            init_candidate(ai);
            ai->score += level == 0 ? s : level == 1 ? s / 2 : s / (level * 3);
            a = a->parent;
        }
        /* a div or section with text of its own is a candidate for itself too */
        if (!is_name(i->node, "p") && !is_name(i->node, "td") && !is_name(i->node, "pre") &&
            !is_name(i->node, "li")) {
            init_candidate(i);
            i->score += s;
        }
    }
}

/* The first word of an element's class attribute into buf ("" when none). */
static void
first_class(const xmlNode *n, char *buf, size_t cap)
{
    size_t k = 0;

    buf[0] = '\0';
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        if (!a->name || strcasecmp((const char *)a->name, "class") != 0 || !a->children ||
            a->children->type != XML_TEXT_NODE || !a->children->content)
            continue;
        const char *c = (const char *)a->children->content;
        while (*c == ' ' || *c == '\t' || *c == '\n')
            c++;
        while (*c && *c != ' ' && *c != '\t' && *c != '\n' && k + 1 < cap)
            buf[k++] = *c++;
        buf[k] = '\0';
        return;
    }
}

static bool
is_ancestor(const xmlNode *a, const xmlNode *n)
{
    for (; n; n = n->parent)
        if (n == a)
            return true;
    return false;
}

static const char *attr_v(const xmlNode *n, const char *name);

/* Whether an element wraps one whole entry of a listing (a post, an article, an item). */
static bool
is_entry_box(const xmlNode *n)
{
    char buf[256];

    if (is_name(n, "article") || attr_v(n, "itemtype"))
        return true;
    class_id(n, buf, sizeof(buf));
    return strstr(buf, "hentry") || strstr(buf, "type-post");
}

/* Whether the path from n up to (not including) top crosses a whole-entry wrapper. */
static bool
crosses_entry(const xmlNode *n, const xmlNode *top)
{
    for (; n && n != top; n = n->parent)
        if (is_entry_box(n))
            return true;
    return false;
}

#define SPLIT_SHARE 0.3 /* score, relative to the best, of a box that continues the article */
#define SPLIT_MAX_UP 6  /* levels a common ancestor may sit above the best box */

static xmlNode *
join_split_boxes(const struct page *p, xmlNode *best)
{
    const struct ninfo *bi = ni(p, best);
    char want[128], cls[128];
    xmlNode *common = best;

    if (!bi || !bi->scored || bi->score <= 0)
        return best;
    first_class(best, want, sizeof(want));
    if (!want[0])
        return best;
    for (size_t k = 0; k < p->n; k++) {
        const struct ninfo *i = &p->info[k];
        if (!i->scored || i->dropped || i == bi || i->score < bi->score * SPLIT_SHARE ||
            !is_name(i->node, (const char *)best->name))
            continue;
        first_class(i->node, cls, sizeof(cls));
        if (strcmp(cls, want) != 0 || is_ancestor(i->node, best) || is_ancestor(best, i->node))
            continue;
        if (is_ancestor(common, i->node))
            continue;
        xmlNode *a = common->parent;
        while (a && a->type == XML_ELEMENT_NODE && !is_ancestor(a, i->node))
            a = a->parent;
        if (!a || a->type != XML_ELEMENT_NODE || is_name(a, "body") || is_name(a, "html"))
            continue;
        /* boxes of two posts of a listing are not one article */
        if (crosses_entry(best, a) || crosses_entry(i->node, a))
            continue;
        int depth = 0;
        for (const xmlNode *q = best; q && q != a; q = q->parent)
            depth++;
        if (depth > SPLIT_MAX_UP)
            continue;
        common = a;
    }
    return common;
}

/* The element whose subtree best holds the article. */
static xmlNode *
top_candidate(struct page *p)
{
    struct ninfo *top[5] = {0};

    for (size_t k = 0; k < p->n; k++) {
        struct ninfo *i = &p->info[k];
        if (!i->scored || i->dropped || ancestor_dropped(p, i->node->parent))
            continue;
        i->score *= 1.0 - link_density(i);
        for (int t = 0; t < 5; t++) {
            if (!top[t] || i->score > top[t]->score) {
                memmove(&top[t + 1], &top[t], (size_t)(4 - t) * sizeof(top[0]));
                top[t] = i;
                break;
            }
        }
    }
    if (!top[0] || !top[0]->node)
        return p->body;
    xmlNode *best = top[0]->node;

    /* Several near-best candidates under one ancestor: the ancestor holds the article. */
    int alts = 0;
    const xmlNode *alt[4];
    for (int t = 1; t < 5; t++)
        if (top[t] && top[t]->score >= top[0]->score * 0.75)
            alt[alts++] = top[t]->node;
    if (alts >= 3) {
        for (xmlNode *a = best->parent; a && a->type == XML_ELEMENT_NODE && !is_name(a, "body");
             a = a->parent) {
            int contained = 0;
            for (int t = 0; t < alts; t++)
                for (const xmlNode *q = alt[t]; q; q = q->parent)
                    if (q == a) {
                        contained++;
                        break;
                    }
            if (contained >= 3) {
                best = a;
                break;
            }
        }
    }

    /*
     * The article split into boxes of one kind (first class word alike) at different depths,
     * ads between them: their nearest common ancestor holds it all.
     */
    best = join_split_boxes(p, best);

    /* Climb while the parent scores better (the article is split among siblings). */
    struct ninfo *bi = ni(p, best);
    if (bi) {
        init_candidate(bi);
        double last = bi->score, threshold = last / 3;
        for (xmlNode *a = best->parent; a && a->type == XML_ELEMENT_NODE && !is_name(a, "body");
             a = a->parent) {
            struct ninfo *ai = ni(p, a);
            if (!ai || !ai->scored)
                continue;
            if (ai->score < threshold)
                break;
            if (ai->score > last) {
                best = a;
                break;
            }
            last = ai->score;
        }
    }
    /* An only child stands for its parent. */
    while (best->parent && best->parent->type == XML_ELEMENT_NODE &&
           !is_name(best->parent, "body") && !is_name(best->parent, "html")) {
        size_t elems = 0;
        for (xmlNode *c = best->parent->children; c; c = c->next)
            elems += c->type == XML_ELEMENT_NODE;
        if (elems != 1)
            break;
        best = best->parent;
    }
    return best;
}

static const char *
class_attr(const xmlNode *n)
{
    for (const xmlAttr *a = n->properties; a; a = a->next)
        if (a->name && strcasecmp((const char *)a->name, "class") == 0 && a->children &&
            a->children->type == XML_TEXT_NODE)
            return (const char *)a->children->content;
    return NULL;
}

/* Whether a short sibling paragraph reads as a sentence (ends with a full stop). */
static bool
reads_as_sentence(const xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);
    bool yes = false;

    if (!t)
        return false;
    size_t len = strlen((const char *)t);
    while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\n' || t[len - 1] == '\t'))
        len--;
    yes = (len > 0 && t[len - 1] == '.') || strstr((const char *)t, ". ") != NULL;
    xmlFree(t);
    return yes;
}

/* Readability's conditional cleaning of a box inside the article. */
static bool
clean_conditionally(const struct page *p, const struct ninfo *i)
{
    const xmlNode *n = i->node;
    bool is_list = is_name(n, "ul") || is_name(n, "ol");

    if (!(is_name(n, "form") || is_name(n, "fieldset") || is_name(n, "table") || is_list ||
          is_name(n, "div") || is_name(n, "section") || is_name(n, "aside") ||
          is_name(n, "header") || is_name(n, "footer")))
        return false;
    int weight = i->weight;
    /* a list's score is mostly its own items' (its tag starts it at -3): not a verdict */
    double score = i->scored && !is_list ? i->score : 0;
    if (weight + score < 0)
        return true;
    if (i->commas >= 10)
        return false;
    bool in_figure = false;
    for (const xmlNode *a = n->parent; a && a->type == XML_ELEMENT_NODE; a = a->parent)
        if (is_name(a, "figure"))
            in_figure = true;
    double ld = link_density(i);
    uint32_t len = i->chars;
    int64_t li = (int64_t)i->n_li - 100;
    if (!is_list && i->n_li * 10 >= (uint32_t)(len / 10 + 1) * 9 && len > 0 && i->n_li > 0)
        is_list = false;
    if (i->n_img > 1 && (double)i->n_p / i->n_img < 0.5 && !in_figure)
        return true;
    if (!is_list && li > (int64_t)i->n_p)
        return true;
    if (i->n_input > i->n_p / 3 && i->n_input > 0)
        return true;
    if (!is_list && len < MIN_PARAGRAPH && (i->n_img == 0 || i->n_img > 2) && !in_figure &&
        i->n_h == 0)
        return true;
    if (!is_list && weight < 25 && ld > 0.2)
        return true;
    if (weight >= 25 && ld > 0.5)
        return true;
    if ((i->n_embed == 1 && len < 75) || i->n_embed > 1)
        return true;
    (void)p;
    return false;
}

struct collect_ctx {
    struct page *p;
    const xmlNode *root;
};

static bool
on_walk_skip(const xmlNode *elem, void *userdata)
{
    struct collect_ctx *c = userdata;
    struct ninfo *i = ni(c->p, elem);

    if (!i)
        return false;
    if (i->dropped || i->removed)
        return true;
    if (elem == c->root)
        return false;
    if ((c->p->pass & PASS_CLEAN_CONDITIONALLY) && clean_conditionally(c->p, i)) {
        i->removed = true;
        return true;
    }
    /* headers with a negative class, share boxes */
    if ((c->p->pass & PASS_WEIGHT_CLASSES) && i->weight < 0 && i->chars < 500 &&
        (is_name(elem, "h1") || is_name(elem, "h2") || is_name(elem, "div") ||
         is_name(elem, "span") || is_name(elem, "p") || is_name(elem, "ul")))
        return true;
    return false;
}

/* Runs one extraction pass; returns the chosen blocks in *blocks. */
static int
article_pass(struct page *p, unsigned pass, struct html_blocks *blocks)
{
    xmlNode *root = xmlDocGetRootElement(p->doc);
    int r;

    p->pass = pass;
    p->n = 0;
    for (xmlNode *n = root; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && (r = index_tree(p, n, 0, false, false, NO_OWNER)) < 0)
            return r;
    propagate_dropped(p);
    score_paragraphs(p);
    xmlNode *best = top_candidate(p);
    if (!best)
        return 0;

    struct ninfo *bi = ni(p, best);
    double best_score = bi && bi->scored ? bi->score : 0;
    double threshold = best_score * 0.2 > 10 ? best_score * 0.2 : 10;
    const char *best_class = class_attr(best);
    struct collect_ctx c = {.p = p};

    if (!best->parent || best->parent->type != XML_ELEMENT_NODE || is_name(best, "body")) {
        c.root = best;
        return html_blocks_collect(best, 0, on_walk_skip, &c, blocks);
    }
    for (xmlNode *s = best->parent->children; s; s = s->next) {
        bool take = false;
        if (s == best) {
            take = true;
        } else if (s->type == XML_ELEMENT_NODE) {
            struct ninfo *si = ni(p, s);
            if (!si || si->dropped)
                continue;
            double bonus = 0;
            const char *sc = class_attr(s);
            if (best_class && sc && best_class[0] && strcmp(sc, best_class) == 0)
                bonus = best_score * 0.2;
            if (si->scored && si->score + bonus >= threshold) {
                take = true;
            } else if (is_name(s, "p") || (html_kind_of(s) == HTML_KIND_BLOCK && si->n_p == 0 &&
                                           si->own_chars == si->chars && is_name(s, "div"))) {
                double ld = link_density(si);
                if (si->chars > 80 && ld < 0.25)
                    take = true;
                else if (si->chars < 80 && si->chars > 0 && ld == 0 && reads_as_sentence(s))
                    take = true;
            }
        }
        if (!take)
            continue;
        c.root = s;
        r = html_blocks_collect(s, 0, on_walk_skip, &c, blocks);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- the lead ---- */

#define LEAD_MIN 60    /* bytes of a description worth looking for */
#define LEAD_PREFIX 80 /* bytes of it compared (descriptions are often cut short) */
#define LEAD_MAX 2000  /* chars of an element taken as the lead */

/* s with runs of white space collapsed to one space and trimmed (malloc'ed), or NULL. */
static char *
collapse_ws(const char *s)
{
    size_t len = strlen(s), k = 0;
    char *out = malloc(len + 1);
    bool space = true;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r' ||
            (c == 0xc2 && (unsigned char)s[i + 1] == 0xa0)) {
            if (c == 0xc2)
                i++;
            if (!space)
                out[k++] = ' ';
            space = true;
            continue;
        }
        out[k++] = (char)c;
        space = false;
    }
    while (k > 0 && out[k - 1] == ' ')
        k--;
    out[k] = '\0';
    return out;
}

static bool
skip_dropped(const xmlNode *elem, void *userdata)
{
    const struct ninfo *i = ni(userdata, elem);

    return i && i->dropped;
}

/*
 * The page's description is the article's lead when the page shows it: if the extracted
 * text lacks it, the visible element that carries it (a standfirst above the article body,
 * a question above its answers) is put in front. *text may be replaced; -ENOMEM only.
 */
static int
add_lead(struct page *p, const char *description, char **text)
{
    char *desc, *body = NULL, *lead = NULL;
    size_t dl;
    int r = 0;

    if (!description || strlen(description) < LEAD_MIN)
        return 0;
    desc = collapse_ws(description);
    if (!desc)
        return -ENOMEM;
    dl = strlen(desc);
    /* the element holding it is about as long as the description (whole, not cut) */
    uint32_t full = 0;
    for (const char *c = desc; *c; c++)
        full += *c != ' ' && ((unsigned char)*c & 0xc0) != 0x80;
    uint32_t most = full * 3 + 300 < LEAD_MAX ? full * 3 + 300 : LEAD_MAX;
    if (dl > LEAD_PREFIX) {
        dl = LEAD_PREFIX;
        while (dl > 0 && ((unsigned char)desc[dl] & 0xc0) == 0x80)
            dl--; /* cut at a character boundary */
        desc[dl] = '\0';
    }
    body = collapse_ws(*text);
    if (!body) {
        free(desc);
        return -ENOMEM;
    }
    if (dl < LEAD_MIN / 2 || strstr(body, desc)) {
        free(desc);
        free(body);
        return 0;
    }
    /* the smallest visible block element whose text holds the description */
    uint32_t want = 0;
    for (const char *c = desc; *c; c++)
        want += *c != ' ' && ((unsigned char)*c & 0xc0) != 0x80;
    const struct ninfo *found = NULL;
    for (size_t k = 0; k < p->n; k++) {
        const struct ninfo *i = &p->info[k];
        if (i->dropped || i->chars < want || i->chars > most || i->link_chars * 2 > i->chars ||
            html_kind_of(i->node) != HTML_KIND_BLOCK || ancestor_dropped(p, i->node))
            continue;
        if (found && i->chars >= found->chars)
            continue;
        /* visible text only: a script's JSON may repeat the description too */
        struct html_blocks bl = {0};
        char *t = NULL;
        r = html_blocks_collect(i->node, 0, skip_dropped, p, &bl);
        if (r == 0)
            r = html_blocks_join(&bl, NULL, &t);
        html_blocks_done(&bl);
        if (r < 0)
            break;
        char *ct = collapse_ws(t);
        free(t);
        if (!ct) {
            r = -ENOMEM;
            break;
        }
        if (strstr(ct, desc)) {
            found = i;
            free(lead);
            lead = ct;
        } else {
            free(ct);
        }
    }
    if (r == 0 && lead && lead[0]) {
        size_t ll = strlen(lead), tl = strlen(*text);
        char *joined = malloc(ll + 2 + tl + 1);
        if (!joined) {
            r = -ENOMEM;
        } else {
            memcpy(joined, lead, ll);
            size_t k = ll;
            if (tl) {
                memcpy(joined + k, "\n\n", 2);
                k += 2;
                memcpy(joined + k, *text, tl);
                k += tl;
            }
            joined[k] = '\0';
            free(*text);
            *text = joined;
        }
    }
    free(lead);
    free(desc);
    free(body);
    return r;
}

/* ---- metadata ---- */

struct meta {
    char *title, *og_title, *ld_title, *h1;
    char *description; /* og:description, else description: often the article's lead */
    char *author, *ld_author;
    char *published, *ld_published, *time_published;
    char *lang, *ld_lang;
};

static void
meta_done(struct meta *m)
{
    free(m->title);
    free(m->og_title);
    free(m->description);
    free(m->ld_title);
    free(m->h1);
    free(m->author);
    free(m->ld_author);
    free(m->published);
    free(m->ld_published);
    free(m->time_published);
    free(m->lang);
    free(m->ld_lang);
}

/* One line of clean text from a raw value (entities already decoded by the parser). */
static char *
clean_line(const char *s)
{
    char *out = NULL;
    size_t len;

    if (!s)
        return NULL;
    len = strnlen(s, META_MAX);
    if (feedtext_clean(s, len, FEEDTEXT_LINE, &out) < 0)
        return NULL;
    return out;
}

static void
set_once(char **slot, const char *value)
{
    if (*slot || !value || !*value)
        return;
    *slot = clean_line(value);
}

static void
ld_author_of(json_t *a, struct meta *m)
{
    if (json_is_string(a)) {
        set_once(&m->ld_author, json_string_value(a));
    } else if (json_is_object(a)) {
        set_once(&m->ld_author, json_string_value(json_object_get(a, "name")));
    } else if (json_is_array(a) && json_array_size(a) > 0) {
        /* several authors: joined by ", " */
        struct buf b;
        buf_init(&b, META_MAX);
        for (size_t i = 0; i < json_array_size(a) && i < 8; i++) {
            json_t *e = json_array_get(a, i);
            const char *name = json_is_string(e) ? json_string_value(e)
                                                 : json_string_value(json_object_get(e, "name"));
            if (!name || !*name)
                continue;
            if (b.len)
                (void)buf_append_str(&b, ", ");
            (void)buf_append_str(&b, name);
        }
        if (b.len)
            set_once(&m->ld_author, buf_str(&b));
        buf_done(&b);
    }
}

static bool
is_article_type(json_t *t)
{
    static const char *const types[] = {
        "NewsArticle",
        "Article",
        "BlogPosting",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "ReviewNewsArticle",
        "BackgroundNewsArticle",
        "TechArticle",
        "ScholarlyArticle",
        "Report",
        "LiveBlogPosting",
        "SocialMediaPosting",
        "WebPage",
    };
    if (json_is_array(t)) {
        for (size_t i = 0; i < json_array_size(t); i++)
            if (is_article_type(json_array_get(t, i)))
                return true;
        return false;
    }
    if (!json_is_string(t))
        return false;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(json_string_value(t), types[i]) == 0)
            return true;
    return false;
}

static void
ld_walk(json_t *j, struct meta *m, unsigned depth)
{
    if (depth > 8 || !j)
        return;
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j) && i < 64; i++)
            ld_walk(json_array_get(j, i), m, depth + 1);
        return;
    }
    if (!json_is_object(j))
        return;
    json_t *type = json_object_get(j, "@type");
    if (is_article_type(type)) {
        bool webpage = json_is_string(type) && strcmp(json_string_value(type), "WebPage") == 0;
        if (!webpage)
            set_once(&m->ld_title, json_string_value(json_object_get(j, "headline")));
        ld_author_of(json_object_get(j, "author"), m);
        set_once(&m->ld_published, json_string_value(json_object_get(j, "datePublished")));
        set_once(&m->ld_lang, json_string_value(json_object_get(j, "inLanguage")));
    }
    ld_walk(json_object_get(j, "@graph"), m, depth + 1);
    ld_walk(json_object_get(j, "mainEntity"), m, depth + 1);
}

static void
read_jsonld(const xmlNode *script, struct meta *m)
{
    xmlChar *t = xmlNodeGetContent(script);
    json_error_t err;

    if (!t)
        return;
    size_t len = strlen((const char *)t);
    if (len <= ARTICLE_MAX_JSONLD) {
        json_t *j = json_loadb((const char *)t, len, JSON_DECODE_ANY, &err);
        if (j) {
            ld_walk(j, m, 0);
            json_decref(j);
        }
    }
    xmlFree(t);
}

static const char *
attr_v(const xmlNode *n, const char *name)
{
    for (const xmlAttr *a = n->properties; a; a = a->next)
        if (a->name && strcasecmp((const char *)a->name, name) == 0) {
            if (a->children && a->children->type == XML_TEXT_NODE)
                return (const char *)a->children->content;
            return "";
        }
    return NULL;
}

static void
read_meta_tag(const xmlNode *n, struct meta *m)
{
    const char *key = attr_v(n, "property");
    const char *content = attr_v(n, "content");

    if (!key)
        key = attr_v(n, "name");
    if (!key)
        key = attr_v(n, "itemprop");
    if (!key) {
        const char *he = attr_v(n, "http-equiv");
        if (he && strcasecmp(he, "content-language") == 0)
            set_once(&m->lang, content);
        return;
    }
    if (!content)
        return;
    if (strcasecmp(key, "og:title") == 0 || strcasecmp(key, "twitter:title") == 0)
        set_once(&m->og_title, content);
    else if (strcasecmp(key, "og:description") == 0 || strcasecmp(key, "description") == 0 ||
             strcasecmp(key, "twitter:description") == 0)
        set_once(&m->description, content);
    else if (strcasecmp(key, "author") == 0 || strcasecmp(key, "byl") == 0 ||
             strcasecmp(key, "dc.creator") == 0 || strcasecmp(key, "parsely-author") == 0 ||
             strcasecmp(key, "sailthru.author") == 0 ||
             (strcasecmp(key, "article:author") == 0 && strncmp(content, "http", 4) != 0))
        set_once(&m->author, content);
    else if (strcasecmp(key, "article:published_time") == 0 ||
             strcasecmp(key, "datePublished") == 0 || strcasecmp(key, "pubdate") == 0 ||
             strcasecmp(key, "publishdate") == 0 || strcasecmp(key, "date") == 0 ||
             strcasecmp(key, "dc.date") == 0 || strcasecmp(key, "dc.date.issued") == 0 ||
             strcasecmp(key, "dcterms.created") == 0 || strcasecmp(key, "sailthru.date") == 0 ||
             strcasecmp(key, "parsely-pub-date") == 0 || strcasecmp(key, "og:published_time") == 0)
        set_once(&m->published, content);
    else if (strcasecmp(key, "og:locale") == 0 || strcasecmp(key, "dc.language") == 0 ||
             strcasecmp(key, "language") == 0)
        set_once(&m->lang, content);
}

static void
read_metadata(const xmlNode *n, struct meta *m, unsigned depth)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (depth > HTML_MAX_DEPTH)
            return;
        if (is_name(n, "meta")) {
            read_meta_tag(n, m);
        } else if (is_name(n, "script")) {
            const char *type = attr_v(n, "type");
            if (type && strcasecmp(type, "application/ld+json") == 0)
                read_jsonld(n, m);
            continue;
        } else if (is_name(n, "title") && !m->title) {
            xmlChar *t = xmlNodeGetContent(n);
            if (t)
                set_once(&m->title, (const char *)t);
            xmlFree(t);
            continue;
        } else if (is_name(n, "h1") && !m->h1) {
            xmlChar *t = xmlNodeGetContent(n);
            if (t)
                set_once(&m->h1, (const char *)t);
            xmlFree(t);
            continue;
        } else if (is_name(n, "time") && !m->time_published) {
            const char *dt = attr_v(n, "datetime");
            if (dt)
                set_once(&m->time_published, dt);
        } else if (is_name(n, "html")) {
            const char *l = attr_v(n, "lang");
            if (!l)
                l = attr_v(n, "xml:lang");
            set_once(&m->lang, l);
        } else if (is_name(n, "style") || is_name(n, "svg")) {
            continue;
        }
        if ((is_name(n, "a") || is_name(n, "span") || is_name(n, "div") || is_name(n, "p")) &&
            !m->author) {
            const char *rel = attr_v(n, "rel");
            const char *ip = attr_v(n, "itemprop");
            if ((rel && strcasecmp(rel, "author") == 0) || (ip && strcasecmp(ip, "author") == 0)) {
                xmlChar *t = xmlNodeGetContent(n);
                if (t && strlen((const char *)t) < 100)
                    set_once(&m->author, (const char *)t);
                xmlFree(t);
            }
        }
        read_metadata(n->children, m, depth + 1);
    }
}

/* "Title of the story | Site name" → "Title of the story" when the rest looks like a site. */
static void
trim_site_name(char *t)
{
    static const char *const seps[] = {" | ", " - ", " – ", " — ", " :: ", " / ", " « ", " » "};
    for (size_t i = 0; i < sizeof(seps) / sizeof(seps[0]); i++) {
        char *last = NULL;
        for (char *h = strstr(t, seps[i]); h; h = strstr(h + 1, seps[i]))
            last = h;
        if (!last)
            continue;
        /* keep the part before when it has at least three words */
        size_t words = 1;
        for (char *q = t; q < last; q++)
            words += *q == ' ';
        if (words >= 3) {
            *last = '\0';
            return;
        }
    }
}

static char *
norm_lang(const char *l)
{
    char out[3];

    if (!l)
        return NULL;
    while (*l == ' ')
        l++;
    if (!((l[0] | 32) >= 'a' && (l[0] | 32) <= 'z' && (l[1] | 32) >= 'a' && (l[1] | 32) <= 'z'))
        return NULL;
    if (l[2] && l[2] != '-' && l[2] != '_' && l[2] != ' ' && l[2] != ',')
        return NULL;
    out[0] = (char)(l[0] | 32);
    out[1] = (char)(l[1] | 32);
    out[2] = '\0';
    return strdup(out);
}

static char *
norm_date(const char *s)
{
    int64_t at;
    char buf[DATE_RFC3339_LEN];

    if (!s || date_parse(s, &at) < 0)
        return NULL;
    date_format(at, buf);
    return strdup(buf);
}

void
article_free(struct article *r)
{
    if (!r)
        return;
    free(r->title);
    free(r->author);
    free(r->published);
    free(r->language);
    free(r->text);
    free(r);
}

/* Whether s is valid UTF-8 with at least one multi-byte sequence. */
static bool
utf8_valid_nonascii(const char *s, size_t len)
{
    if (utf8_valid_prefix(s, len) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return true;
    return false;
}

bool
article_is_page(const char *html, size_t len)
{
    char low[2048];
    size_t n = len < sizeof(low) - 1 ? len : sizeof(low) - 1;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)html[i];
        low[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c ? c : ' ');
    }
    low[n] = '\0';
    return strstr(low, "<!doctype html") || strstr(low, "<html") || strstr(low, "<head") ||
           strstr(low, "<body");
}

static xmlNode *
find_body(xmlNode *n, unsigned depth)
{
    for (; n && depth < 8; n = n->next) {
        if (is_name(n, "body"))
            return n;
        if (n->type == XML_ELEMENT_NODE) {
            xmlNode *b = find_body(n->children, depth + 1);
            if (b)
                return b;
        }
    }
    return NULL;
}

int
article_extract(const char *html, size_t len, const char *encoding, struct article **ret_result)
{
    struct page p = {0};
    struct meta m = {0};
    struct article *res;
    struct html_blocks blocks = {0};
    bool *keep = NULL;
    int r;

    if (len > HTML_MAX_INPUT)
        return -EMSGSIZE;
    res = calloc(1, sizeof(*res));
    if (!res)
        return -ENOMEM;
    /*
     * Bytes that are valid UTF-8 (and not plain ASCII) are UTF-8 whatever a stale <meta>
     * says: legacy encodings almost never form valid multi-byte sequences by chance.
     */
    if (!encoding && utf8_valid_nonascii(html, len))
        encoding = "UTF-8";
    r = html_parse(html, len, encoding, &p.doc);
    if (r < 0) {
        free(res);
        return r;
    }
    if (!p.doc || !xmlDocGetRootElement(p.doc)) {
        xmlFreeDoc(p.doc);
        res->text = strdup("");
        if (!res->text) {
            free(res);
            return -ENOMEM;
        }
        *ret_result = res;
        return 0;
    }
    read_metadata(p.doc->children, &m, 0);
    p.body = find_body(p.doc->children, 0);
    if (!p.body)
        p.body = xmlDocGetRootElement(p.doc);

    /* title */
    if (m.og_title)
        res->title = strdup(m.og_title);
    else if (m.ld_title)
        res->title = strdup(m.ld_title);
    else if (m.title) {
        trim_site_name(m.title);
        res->title = strdup(m.title);
    } else if (m.h1)
        res->title = strdup(m.h1);

    /* the article, with fewer removals while it comes out too short */
    static const unsigned passes[] = {
        PASS_STRIP_UNLIKELY | PASS_WEIGHT_CLASSES | PASS_CLEAN_CONDITIONALLY,
        PASS_WEIGHT_CLASSES | PASS_CLEAN_CONDITIONALLY,
        PASS_CLEAN_CONDITIONALLY,
        0,
    };
    char *best_text = NULL;
    size_t best_len = 0;
    for (size_t k = 0; k < sizeof(passes) / sizeof(passes[0]) && r == 0; k++) {
        html_blocks_done(&blocks);
        r = article_pass(&p, passes[k], &blocks);
        if (r < 0)
            break;
        free(keep);
        keep = calloc(blocks.n ? blocks.n : 1, sizeof(*keep));
        if (!keep) {
            r = -ENOMEM;
            break;
        }
        struct boilerplate_opts bo = {
            .title = res->title ? res->title : m.h1,
            .language = NULL,
        };
        char *lang = norm_lang(m.lang ? m.lang : m.ld_lang);
        bo.language = lang;
        boilerplate_filter(&blocks, BOILERPLATE_PAGE, &bo, NULL, keep);
        free(lang);
        char *text = NULL;
        r = html_blocks_join(&blocks, keep, &text);
        if (r < 0)
            break;
        size_t tl = strlen(text);
        if (!best_text || tl > best_len) {
            free(best_text);
            best_text = text;
            best_len = tl;
        } else {
            free(text);
        }
        if (best_len >= MIN_ARTICLE)
            break;
    }
    free(keep);
    html_blocks_done(&blocks);
    if (r < 0) {
        free(best_text);
        goto fail;
    }
    res->text = best_text ? best_text : strdup("");
    if (!res->text) {
        r = -ENOMEM;
        goto fail;
    }
    r = add_lead(&p, m.description, &res->text);
    if (r < 0)
        goto fail;

    res->author = m.author ? strdup(m.author) : m.ld_author ? strdup(m.ld_author) : NULL;
    res->published = norm_date(m.published);
    if (!res->published)
        res->published = norm_date(m.ld_published);
    if (!res->published)
        res->published = norm_date(m.time_published);
    res->language = norm_lang(m.lang);
    if (!res->language)
        res->language = norm_lang(m.ld_lang);
    if (!res->language) {
        const char *l = lang_detect(res->text, strlen(res->text));
        res->language = l ? strdup(l) : NULL;
    }
    meta_done(&m);
    free(p.info);
    xmlFreeDoc(p.doc);
    *ret_result = res;
    return 0;

fail:
    meta_done(&m);
    free(p.info);
    xmlFreeDoc(p.doc);
    article_free(res);
    return r;
}
