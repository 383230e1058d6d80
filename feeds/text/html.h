/*
 * html.h — HTML to plain text over libxml2's HTML parser, and the block model that
 * boilerplate.c and extract.c work on.
 *
 * html_parse() never touches the network (HTML_PARSE_NONET, no DTD), refuses input over
 * HTML_MAX_INPUT and cuts the attributes of a start tag past HTML_MAX_ATTRS (html_prep,
 * htmlprep.c); the walk ignores elements nested deeper than HTML_MAX_DEPTH and stops
 * adding text past HTML_MAX_TEXT. Text comes out as valid UTF-8 with whitespace collapsed, without
 * a tag or any control character except the '\n' the layout puts there. Scripts, styles, embedded
 * objects, form controls and hidden elements (hidden, aria-hidden="true", display:none,
 * visibility:hidden) give no text. Results are malloc'ed and owned by the caller. Pure; any thread,
 * once the caller has run xmlInitParser().
 */
#ifndef FEEDWATCH_HTML_H
#define FEEDWATCH_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#define HTML_MAX_INPUT (32u * 1024u * 1024u) /* bytes of markup */
#define HTML_MAX_DEPTH 256                   /* element nesting the walk follows */
#define HTML_MAX_TEXT (8u * 1024u * 1024u)   /* bytes of text collected from one document */
#define HTML_MAX_BLOCKS 100000               /* blocks collected from one document */
/*
 * Bytes of UTF-8 html_prep() makes of a page, whatever its charset (the rest is cut): as
 * much as the largest page in UTF-8 gives.
 */
#define HTML_MAX_DECODED HTML_MAX_INPUT
/*
 * libxml2 2.9 compares each attribute of a start tag with every one before it: 150k
 * attributes in one tag cost a minute. The same bound as the feed parser's
 * (FEEDPREP_MAX_ATTRS); real pages have a few dozen at most.
 */
#define HTML_MAX_ATTRS 256

/* The options html_parse() gives libxml2's HTML parser. */
#define HTML_PARSE_OPTIONS                                                                         \
    (HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER |           \
     HTML_PARSE_COMPACT)

/* What a block is (struct html_block.flags). */
#define HTML_BLOCK_LIST_ITEM (1u << 0) /* an <li>, <dt> or <dd> */
#define HTML_BLOCK_ROW (1u << 1)       /* a table row */
#define HTML_BLOCK_HEADING (1u << 2)   /* <h1>-<h6> */
#define HTML_BLOCK_CAPTION (1u << 3)   /* inside <figcaption> or a table <caption> */
#define HTML_BLOCK_PRE (1u << 4)       /* inside <pre> */
#define HTML_BLOCK_QUOTE (1u << 5)     /* inside <blockquote> */
#define HTML_BLOCK_FIGURE (1u << 6)    /* inside <figure> */
#define HTML_BLOCK_LEAD_TIME (1u << 7) /* a leading <time> element was dropped from it */
/* Evidence from the class, id, role or tag of the block's element or its ancestors. */
#define HTML_EV_SHARE (1u << 8)     /* share, social, follow, app promo, newsletter */
#define HTML_EV_RELATED (1u << 9)   /* related, recommended, more stories, read-also */
#define HTML_EV_BYLINE (1u << 10)   /* byline, author, date, timestamp, meta */
#define HTML_EV_CAPTION (1u << 11)  /* caption, credit */
#define HTML_EV_FOOTER (1u << 12)   /* footer, copyright, source note */
#define HTML_EV_NAV (1u << 13)      /* nav, menu, breadcrumb, sidebar, aside, pagination */
#define HTML_EV_AD (1u << 14)       /* ads, sponsors, promos, cookie banners */
#define HTML_EV_COMMENT (1u << 15)  /* comments */
#define HTML_EV_TAGS (1u << 16)     /* tag and category lists */
#define HTML_EV_POSITIVE (1u << 17) /* article, content, entry, post body, story, text */

/* The walk may drop these (html_blocks_collect flags). */
#define HTML_WALK_DROP_FORMS (1u << 0)     /* <form> and all in it gives no text */
#define HTML_WALK_DROP_LEAD_TIME (1u << 1) /* a <time> before any text of a block */

/* How an element lays out its text. */
enum html_kind {
    HTML_KIND_INLINE = 0, /* flows with the text around it (and unknown elements) */
    HTML_KIND_BLOCK,      /* a paragraph of its own */
    HTML_KIND_SKIP,       /* gives no text (script, style, iframe, form controls ...) */
    HTML_KIND_BREAK,      /* <br> */
};

/* One paragraph of text: a block element's own text, or a line of a list or table. */
struct html_block {
    char *text;          /* NUL-terminated, never empty; '\n' only where <br> broke a line */
    size_t len;          /* bytes of text */
    uint32_t chars;      /* code points that are not spaces */
    uint32_t link_chars; /* of those, the ones inside <a href> */
    uint32_t flags;      /* HTML_BLOCK_* and HTML_EV_* */
    uint32_t group;      /* the list or table it is a line of (0: none); equal means same */
    const xmlNode *elem; /* the element whose text it is (borrowed from the document) */
    uint8_t heading;     /* 1-6 for a heading, else 0 */
};

struct html_blocks {
    struct html_block *v;
    size_t n;
    size_t cap;
    size_t text_bytes; /* sum of len, capped near HTML_MAX_TEXT */
};

/* Tells the walk to leave out an element and everything in it. */
typedef bool (*html_skip_cb)(const xmlNode *elem, void *userdata);

/*
 * Parses len bytes of HTML: html_prep(), then libxml2 on its output as UTF-8. encoding is the
 * known charset ("UTF-8" for feed item markup) or NULL to take it from the document's <meta>
 * (else UTF-8, invalid bytes read as windows-1252); a BOM wins over both. 0 with *ret_doc
 * (xmlFreeDoc it; NULL when there is no node), -EMSGSIZE over HTML_MAX_INPUT, -ENOMEM.
 */
int html_parse(const char *html, size_t len, const char *encoding, xmlDoc **ret_doc);

/*
 * What html_parse() hands libxml2 (htmlprep.c): len bytes of HTML decoded (encoding as for
 * html_parse) into valid UTF-8 without NUL bytes, which libxml2 reads without switching
 * encodings, in which no '<' and name character starts a tag that libxml2 2.9.14 reads more
 * than HTML_MAX_ATTRS attribute names from: past that many, the rest of such a tag up to its
 * '>' is cut out. A page that decodes to more than HTML_MAX_DECODED bytes is cut there, at a
 * character's boundary (and read as far as that goes). 0 with *ret_text (malloc'ed,
 * NUL-terminated) and *ret_len, -EMSGSIZE over HTML_MAX_INPUT, -ENOMEM. Linear time; holds
 * the result and a few KiB besides the input.
 */
int html_prep(const char *html, size_t len, const char *encoding, char **ret_text, size_t *ret_len);

/*
 * The most attribute names libxml2 2.9.14's htmlParseStartTag could read from one start tag
 * of the UTF-8 markup html[0..len), over-approximated (every '<' and name character counts
 * as a tag's start, whatever the context); it stops early with a result over cap once one
 * passes cap. Linear time.
 */
size_t html_max_attrs(const char *html, size_t len, size_t cap);

/*
 * Turns an HTML fragment or document (UTF-8) into plain text: paragraphs separated by a
 * blank line, lines of a list or table by a newline. 0 with *ret_text ("" when there is no
 * text), -EMSGSIZE, -ENOMEM.
 */
int html_to_text(const char *html, size_t len, char **ret_text);

/* The layout kind of an element (by its lower-case tag name). */
enum html_kind html_kind_of(const xmlNode *elem);

/* Whether an element is hidden by its attributes (hidden, aria-hidden, inline style). */
bool html_is_hidden(const xmlNode *elem);

/*
 * Whether an element gives no text: a skipped kind or hidden (a <noscript> that swallowed
 * the rest of the page through an unclosed element gives its text).
 */
bool html_gives_no_text(const xmlNode *elem);

/*
 * The lower-cased class and id of an element into buf (cap bytes, NUL-terminated), each
 * followed by a space; a blog post's taxonomy classes (category-…, tag-… beside hentry,
 * type-post or status-publish) are left out. Returns the bytes written.
 */
size_t html_class_words(const xmlNode *elem, char *buf, size_t cap);

/* HTML_EV_* evidence from one element's own tag, class, id and role. */
uint32_t html_evidence(const xmlNode *elem);

/* Value of an attribute as a malloc'ed string, or NULL when absent (or on OOM). */
char *html_attr(const xmlNode *elem, const char *name);

/*
 * Appends the blocks of the subtree at root to *blocks (HTML_WALK_* flags; skip may be NULL).
 * 0, or -ENOMEM (the blocks collected so far stay valid).
 */
int html_blocks_collect(const xmlNode *root, unsigned flags, html_skip_cb skip, void *userdata,
                        struct html_blocks *blocks);

/* Releases the blocks' memory (the struct itself is the caller's). */
void html_blocks_done(struct html_blocks *blocks);

/*
 * Joins the blocks whose keep[i] is true (keep may be NULL: all) into one text: a blank line
 * between paragraphs, a newline between lines of one list or table. 0 with *ret_text, or
 * -ENOMEM.
 */
int html_blocks_join(const struct html_blocks *blocks, const bool *keep, char **ret_text);

/*
 * The blocks of an item's HTML fragment (UTF-8) for a walk with flags, as html_parse() +
 * html_blocks_collect() would give them but with elem NULL: simple markup is read
 * directly, anything else through libxml2. Appends to *blocks. 0, -EMSGSIZE, -ENOMEM.
 */
int html_fragment_blocks(const char *html, size_t len, unsigned flags, struct html_blocks *blocks);

/* Whether html_fragment_blocks() reads a fragment directly, without libxml2. */
bool html_fragment_is_simple(const char *html, size_t len);

#endif
