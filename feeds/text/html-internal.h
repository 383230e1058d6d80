/*
 * html-internal.h — what the DOM walk (html.c) and the fragment tokenizer (htmlfrag.c) share:
 * the block builder. Both feed it elements (struct el) and text; it fills struct html_blocks.
 * Only those two files include it.
 */
#ifndef FEEDWATCH_HTML_INTERNAL_H
#define FEEDWATCH_HTML_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "text/html.h"

#define BLOCK_TEXT_MAX (1024u * 1024u) /* bytes of one block */

struct kind_entry; /* an element the walk tells apart (html.c) */

/* The attributes the walk reads (struct el). */
enum attr_id {
    ATTR_CLASS,
    ATTR_ID,
    ATTR_ROLE,
    ATTR_REL,
    ATTR_ITEMPROP,
    ATTR_STYLE,
    ATTR_ARIA_HIDDEN,
    ATTR_HIDDEN,
    ATTR_HREF,
    N_ATTRS,
};

extern const char *const html_attr_names[N_ATTRS]; /* their names */

/*
 * An element as the block builder sees it: a DOM node (the libxml2 route) or a start tag
 * read by the fragment tokenizer (node NULL, attribute values in av, NULL when absent).
 */
struct el {
    const struct kind_entry *te; /* NULL: inline, not told apart */
    const char *name;            /* lower case */
    const xmlNode *node;
    const char *const *av; /* N_ATTRS values (tokenizer) or NULL (DOM) */
};

/* The block builder's state: one html_blocks_collect() or one fragment. */
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

/* How html_builder_close() ends an element html_builder_open() entered. */
enum frame_how { FRAME_INLINE, FRAME_CELL, FRAME_BLOCK };

/* What html_builder_open() saved of the walk for html_builder_close(). */
struct frame {
    enum frame_how how;
    bool link;
    const xmlNode *elem;
    uint32_t bflags, group;
    uint8_t heading;
    unsigned pre_depth;
};

/* The table entry of a lower-case element name, or NULL (inline, not told apart). */
const struct kind_entry *html_tag_lookup(const char *name);

/* Ends the block being filled (kept when it has text). */
void html_walk_flush(struct walk *w);

/*
 * Adds text (s up to end: a text node, or a run of a fragment's text), collapsing whitespace
 * and dropping control characters. Text cut anywhere between characters gives the same
 * blocks as the whole.
 */
void html_walk_text(struct walk *w, const unsigned char *s, const unsigned char *end);

/*
 * The start of element e at depth (the document's <html> is 0). False when its content gives
 * nothing (hidden, skipped, a <br>, <hr> or dropped lead <time>): the caller leaves it out
 * and calls no html_builder_close(); else true with *f for html_builder_close() after the
 * content.
 */
bool html_builder_open(struct walk *w, const struct el *e, unsigned depth, struct frame *f);

/* The end of an element html_builder_open() entered (f: what it saved). */
void html_builder_close(struct walk *w, const struct frame *f);

#endif
