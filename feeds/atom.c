/*
 * atom.c — Atom 1.0 (RFC 4287), Atom 0.3, Atom without its namespace, and Atom entry
 * documents: SAX handlers for feedparse.c.
 *
 * The Atom elements are those in the root's namespace. Text constructs (§3.1) come out by
 * type: a title is always plain text; summary and content keep HTML (type="html" as
 * published, unescaped once more when double-escaped; type="xhtml" re-serialised without
 * its div wrapper; type="text" escaped into HTML). Atom 0.3 puts a media type in "type" and
 * says how the content is carried in "mode" (xml, escaped, base64), and names its dates
 * issued, modified and created. The link of an entry or the feed is the first
 * rel="alternate" (or rel-less) link of an HTML-ish type, else the first alternate, else the
 * first other link; rel="enclosure" links are enclosures. An entry without an author takes
 * the feed's (§4.2.1). The extension elements of feedext.c are read in entries.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "feedparse-internal.h"

#define ATOM_REL_PREFIX "http://www.iana.org/assignments/relation/"

static bool
is_atom(struct feedparse *p, const struct fp_elem *el, enum fp_name id)
{
    return el->id == id && el->ns == fp_atom(p)->ns;
}

/* Chooses capture mode and cleaning for a text construct from its type (and 0.3 mode). */
static void
text_construct(struct feedparse *p, const struct fp_elem *el, bool title)
{
    struct fp_atom_state *st = fp_atom(p);
    const char *type = fp_attr(el, FP_NS_NONE, "type");
    const char *mode = st->ns == FP_NS_ATOM03 ? fp_attr(el, FP_NS_NONE, "mode") : NULL;
    bool plain = !type || fp_ascii_ieq(type, "text") || fp_ascii_ieq(type, "text/plain");
    bool html = type && (fp_ascii_ieq(type, "html") || fp_ascii_ieq(type, "text/html"));
    bool xhtml = type && (fp_ascii_ieq(type, "xhtml") ||
                          fp_ascii_ieq(type, "application/xhtml+xml"));

    st->cap_ignore = false;
    if (mode && fp_ascii_ieq(mode, "base64")) {
        st->cap_ignore = true;
        fp_capture(p, FP_CAPTURE_TEXT);
    } else if (mode && fp_ascii_ieq(mode, "escaped") && !plain) {
        /* Atom 0.3: markup escaped as text, whatever the media type names. */
        st->cap_kind = title ? FEEDTEXT_HTML_LINE : FEEDTEXT_HTML_AUTO;
        fp_capture(p, FP_CAPTURE_HTML);
    } else if (plain || (type && fp_ascii_iprefix(type, "text/") && !html)) {
        st->cap_kind = title ? FEEDTEXT_LINE : FEEDTEXT_TEXT_HTML;
        fp_capture(p, FP_CAPTURE_TEXT);
    } else if (html && !(st->ns == FP_NS_ATOM03 && mode && fp_ascii_ieq(mode, "xml"))) {
        st->cap_kind = title ? FEEDTEXT_HTML_LINE : FEEDTEXT_HTML_AUTO;
        fp_capture(p, FP_CAPTURE_HTML);
    } else if (xhtml || html) {
        /* A title keeps only the text of the markup; content keeps the markup. */
        st->cap_kind = title ? FEEDTEXT_LINE : FEEDTEXT_HTML;
        fp_capture(p, title ? FP_CAPTURE_TEXT : FP_CAPTURE_XHTML);
    } else {
        /* Other media types (base64 images, XML vocabularies) are not text to show. */
        st->cap_ignore = true;
        fp_capture(p, FP_CAPTURE_TEXT);
    }
}

/* Ranks a link for the role of "the" link: 0 best; -1 when it is an enclosure. */
static int
link_rank(const char *rel, const char *type)
{
    bool html_type = !type || fp_ascii_iprefix(type, "text/html") ||
                     fp_ascii_iprefix(type, "application/xhtml+xml");

    if (rel && strncmp(rel, ATOM_REL_PREFIX, strlen(ATOM_REL_PREFIX)) == 0)
        rel += strlen(ATOM_REL_PREFIX);
    if (rel && fp_ascii_ieq(rel, "enclosure"))
        return -1;
    if (!rel || *rel == '\0' || fp_ascii_ieq(rel, "alternate"))
        return html_type ? 0 : 1;
    return 2;
}

static int
atom_link(struct feedparse *p, const struct fp_elem *el, char **link, int *best)
{
    const char *href = fp_attr(el, FP_NS_NONE, "href");
    const char *rel = fp_attr(el, FP_NS_NONE, "rel");
    const char *type = fp_attr(el, FP_NS_NONE, "type");
    int rank = link_rank(rel, type);
    char *url = NULL;
    int r;

    if (!href)
        return 0;
    if (rank < 0) {
        if (!fp_item(p))
            return 0;
        return fp_item_add_enclosure(p, href, type, fp_attr(el, FP_NS_NONE, "length"));
    }
    if (*link && rank >= *best)
        return 0;
    r = fp_url(p, href, strlen(href), &url);
    if (r < 0)
        return r;
    if (!url)
        return 0;
    free(*link);
    *link = url;
    *best = rank;
    return 0;
}

static int
atom_category(struct feedparse *p, const struct fp_elem *el)
{
    const char *term = fp_attr(el, FP_NS_NONE, "term");
    const char *label = fp_attr(el, FP_NS_NONE, "label");
    const char *v = term && *term ? term : label;

    if (!v)
        return 0;
    return fp_item_add_category(p, v, strlen(v));
}

static int
entry_begin(struct feedparse *p, size_t depth)
{
    struct fp_atom_state *st = fp_atom(p);

    st->link_rank = INT_MAX;
    st->created_at = FEED_TIME_NONE;
    return fp_item_begin(p, depth);
}

static int
atom_start(struct feedparse *p, const struct fp_elem *el)
{
    struct fp_atom_state *st = fp_atom(p);
    size_t item_depth = fp_item_depth(p);
    int r;

    if (el->depth == 1)
        return is_atom(p, el, FPN_ENTRY) ? entry_begin(p, 1) : 0;
    if (st->author_depth && el->depth == st->author_depth + 1) {
        if (is_atom(p, el, FPN_NAME) || is_atom(p, el, FPN_EMAIL))
            fp_capture(p, FP_CAPTURE_TEXT);
        return 0;
    }
    /* An entry is normally a child of the feed; a broken feed may nest it deeper. */
    if (!item_depth && is_atom(p, el, FPN_ENTRY))
        return entry_begin(p, el->depth);
    if (item_depth && (r = fp_ext_start(p, el)) != 0)
        return r < 0 ? r : 0;
    if (item_depth && el->depth == item_depth + 1) {
        struct feed_item *it = fp_item(p);

        if (!it)
            return 0;
        if (is_atom(p, el, FPN_TITLE)) {
            text_construct(p, el, true);
        } else if (is_atom(p, el, FPN_SUMMARY)) {
            text_construct(p, el, false);
        } else if (is_atom(p, el, FPN_CONTENT)) {
            /* Out-of-line content (src=...) has no text here. */
            if (!fp_attr(el, FP_NS_NONE, "src"))
                text_construct(p, el, false);
        } else if (is_atom(p, el, FPN_ID) || is_atom(p, el, FPN_PUBLISHED) ||
                   is_atom(p, el, FPN_UPDATED) || is_atom(p, el, FPN_ISSUED) ||
                   is_atom(p, el, FPN_MODIFIED) || is_atom(p, el, FPN_CREATED)) {
            fp_capture(p, FP_CAPTURE_TEXT);
        } else if (is_atom(p, el, FPN_LINK)) {
            return atom_link(p, el, &it->link, &st->link_rank);
        } else if (is_atom(p, el, FPN_CATEGORY)) {
            return atom_category(p, el);
        } else if (is_atom(p, el, FPN_AUTHOR)) {
            st->author_depth = el->depth;
            st->author_is_feed = false;
        }
        return 0;
    }
    if (!item_depth && el->depth == 2) {
        struct feed_doc *doc = fp_doc(p);

        if (is_atom(p, el, FPN_TITLE)) {
            text_construct(p, el, true);
        } else if (is_atom(p, el, FPN_UPDATED) || is_atom(p, el, FPN_MODIFIED)) {
            fp_capture(p, FP_CAPTURE_TEXT);
        } else if (is_atom(p, el, FPN_LINK)) {
            return atom_link(p, el, &doc->link, &st->feed_link_rank);
        } else if (is_atom(p, el, FPN_AUTHOR)) {
            st->author_depth = el->depth;
            st->author_is_feed = true;
        } else if (el->ns == FP_NS_SY) {
            fp_capture(p, FP_CAPTURE_TEXT); /* sy:updatePeriod / sy:updateFrequency */
        }
    }
    return 0;
}

static int
atom_author_end(struct feedparse *p)
{
    struct fp_atom_state *st = fp_atom(p);
    struct feed_item *it = fp_item(p);
    char **who = st->author_name ? &st->author_name : &st->author_email;
    char **dst = st->author_is_feed ? &st->feed_author : (it ? &it->author : NULL);

    st->author_depth = 0;
    if (dst && !*dst && *who) {
        *dst = *who;
        *who = NULL;
    }
    free(st->author_name);
    free(st->author_email);
    st->author_name = NULL;
    st->author_email = NULL;
    return 0;
}

static int
entry_end(struct feedparse *p)
{
    struct fp_atom_state *st = fp_atom(p);
    struct feed_item *it = fp_item(p);

    if (it && it->published_at == FEED_TIME_NONE)
        it->published_at = st->created_at;
    return fp_item_end(p);
}

static int
atom_end(struct feedparse *p, const struct fp_elem *el, const char *text, size_t len)
{
    struct fp_atom_state *st = fp_atom(p);
    size_t item_depth = fp_item_depth(p);
    struct feed_doc *doc = fp_doc(p);
    struct feed_item *it = fp_item(p);

    if (item_depth && el->depth == item_depth)
        return entry_end(p);
    if (st->author_depth && el->depth == st->author_depth)
        return atom_author_end(p);
    if (!text)
        return 0;
    if (st->author_depth && el->depth == st->author_depth + 1) {
        if (is_atom(p, el, FPN_NAME))
            return fp_set_text(&st->author_name, text, len, FEEDTEXT_LINE);
        if (is_atom(p, el, FPN_EMAIL))
            return fp_set_text(&st->author_email, text, len, FEEDTEXT_LINE);
        return 0;
    }
    if (it && (el->ns == FP_NS_MEDIA || el->ns == FP_NS_DC || el->ns == FP_NS_DCTERMS ||
               el->ns == FP_NS_ITUNES) && el->ns != st->ns)
        return fp_ext_end(p, el, text, len);
    if (it && el->depth == item_depth + 1) {
        if (is_atom(p, el, FPN_TITLE))
            return st->cap_ignore ? 0 : fp_set_text(&it->title, text, len, st->cap_kind);
        if (is_atom(p, el, FPN_SUMMARY))
            return st->cap_ignore ? 0 : fp_set_text(&it->summary, text, len, st->cap_kind);
        if (is_atom(p, el, FPN_CONTENT))
            return st->cap_ignore ? 0 : fp_set_text(&it->content, text, len, st->cap_kind);
        if (is_atom(p, el, FPN_ID))
            return fp_set_text(&it->id, text, len, FEEDTEXT_TOKEN);
        if ((is_atom(p, el, FPN_PUBLISHED) || is_atom(p, el, FPN_ISSUED)) &&
            it->published_at == FEED_TIME_NONE)
            it->published_at = fp_date(text);
        else if ((is_atom(p, el, FPN_UPDATED) || is_atom(p, el, FPN_MODIFIED)) &&
                 it->updated_at == FEED_TIME_NONE)
            it->updated_at = fp_date(text);
        else if (is_atom(p, el, FPN_CREATED) && st->created_at == FEED_TIME_NONE)
            st->created_at = fp_date(text);
        return 0;
    }
    if (!item_depth && el->depth == 2) {
        if (is_atom(p, el, FPN_TITLE))
            return st->cap_ignore ? 0 : fp_set_text(&doc->title, text, len, st->cap_kind);
        if ((is_atom(p, el, FPN_UPDATED) || is_atom(p, el, FPN_MODIFIED)) &&
            doc->updated_at == FEED_TIME_NONE)
            doc->updated_at = fp_date(text);
        if (el->ns == FP_NS_SY && el->id == FPN_UPDATEPERIOD)
            fp_refresh_period(p, text);
        else if (el->ns == FP_NS_SY && el->id == FPN_UPDATEFREQUENCY)
            fp_refresh_frequency(p, text);
    }
    return 0;
}

static void
atom_init(struct feedparse *p)
{
    struct fp_atom_state *st = fp_atom(p);

    st->ns = fp_root_ns(p);
    st->link_rank = INT_MAX;
    st->feed_link_rank = INT_MAX;
    st->created_at = FEED_TIME_NONE;
}

static int
atom_finish(struct feedparse *p)
{
    struct fp_atom_state *st = fp_atom(p);
    struct feed_doc *doc = fp_doc(p);

    if (!st->feed_author)
        return 0;
    for (size_t i = 0; i < doc->n_items; i++) {
        if (!doc->items[i].author && !(doc->items[i].author = strdup(st->feed_author)))
            return -ENOMEM;
    }
    return 0;
}

const struct feedparse_format fp_format_atom = {
    .format = FEED_FORMAT_ATOM,
    .init = atom_init,
    .start = atom_start,
    .end = atom_end,
    .finish = atom_finish,
};
