/*
 * feedparse-state.h — struct feedparse, for the two files that hold it: the SAX engine
 * (feedparse.c) and the item builder (feeditem.c). The format handlers (rss.c, atom.c,
 * feedext.c, jsonfeed.c) never see it: they use the functions of feedparse-internal.h.
 */
#ifndef FEEDWATCH_FEEDPARSE_STATE_H
#define FEEDWATCH_FEEDPARSE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/entities.h>
#include <libxml/parser.h>

#include "base/buf.h"
#include "parse/feedparse-internal.h"
#include "parse/feedprep.h"

#define FP_NS_CACHE 16
#define FP_NAME_SLOTS 128 /* open-addressing table of interned names; > 2 * FPN_COUNT */

struct fp_frame {
    const char *name; /* local name, from libxml2's dictionary */
    const xmlChar *prefix;
    enum fp_ns ns;
    enum fp_name id;
    char *base; /* xml:base in scope (owned when base_owned) */
    char *lang; /* xml:lang in scope (owned when lang_owned) */
    bool base_owned;
    bool lang_owned;
};

/* An HTML named entity handed to libxml2 as if it were predefined. */
struct fp_entity {
    xmlEntity ent;
    struct fp_entity *next;
};

struct feedparse {
    xmlParserCtxtPtr ctxt;
    struct feedparse_limits limits;
    char *base_url;
    bool allow_file; /* file: links only in documents that are local files themselves */

    /* The byte stage: sniffing, decoding to UTF-8, '&' repair, markup limits. */
    struct feedprep prep;
    struct buf json; /* a JSON document, parsed whole at finish */

    int err;
    char *errmsg;
    char *xml_error; /* the first libxml2 error, "line N: ..." */
    size_t n_xml_errors;
    bool finished;

    struct feed_doc *doc;
    const struct feedparse_format *fmt;
    bool root_seen;
    bool root_closed;  /* the feed root ended: whatever follows is ignored */
    bool wrapper;      /* the feed sits inside an XHTML <html><body> wrapper */
    size_t root_depth; /* absolute depth of the feed root */
    enum fp_ns root_ns;
    char root_name[128];

    size_t depth;
    struct fp_frame *frames; /* frames[0] is the document level */
    size_t alloc_frames;
    bool *xstack; /* libxml2's open elements: true for a zombie */
    size_t xdepth;
    size_t alloc_xstack;
    char want_close[128]; /* end tag named by the last mismatch error */

    enum fp_capture cap_mode;
    size_t cap_depth;
    size_t cap_wrapper_depth; /* the Atom xhtml <div> wrapper, not serialised */
    bool cap_wrapper_done;
    struct buf text;

    struct fp_attr attrs[FP_MAX_ATTRS];
    struct buf attr_buf;
    bool attrs_xml; /* an attribute of attrs is in the xml: namespace (xml:base, xml:lang) */

    struct fp_item item;
    size_t alloc_items;
    size_t items_bytes; /* feed_item_bytes of the document's items (feedparse_bytes) */

    struct fp_entity *entities;

    struct {
        const xmlChar *uri;
        enum fp_ns ns;
    } ns_cache[FP_NS_CACHE];

    /* enum fp_name by the dictionary pointer of the name (a NULL key ends a probe). */
    struct {
        const xmlChar *name;
        enum fp_name id;
    } names[FP_NAME_SLOTS];

    struct fp_ext_state ext;
    struct fp_feed_alt alt;
    struct fp_refresh_state refresh;
    union {
        struct fp_rss_state rss;
        struct fp_atom_state atom;
    } st;
};

/* Records -ENOMEM ("out of memory") as the parse's error; returns it. */
int fp_fail_oom(struct feedparse *p);

/* The feed's minimum refresh from its hints (feeditem.c), at finish. */
int64_t fp_refresh_compute(const struct fp_refresh_state *st);

#endif
