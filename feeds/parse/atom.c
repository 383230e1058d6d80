/*
 * atom.c — Atom 1.0 (RFC 4287), Atom 0.3, Atom without its namespace, and Atom entry
 * documents: SAX handlers for feedparse.c.
 *
 * The Atom elements are those in the root's namespace (feedparse.c reads the pre-1.0 draft
 * namespaces as 1.0's). Text constructs (§3.1) come out by type: a title is always plain
 * text; summary and content keep HTML (type="html" as published; type="xhtml" and XML media
 * types re-serialised, xhtml without its div wrapper; type="text", an empty or missing type
 * and other text types escaped into HTML; in content any other media type decoded from base64
 * and kept when it is text, in a title or summary any other type read as text). Atom 0.3 puts a
 * media type in "type" and says how the content is carried in "mode" (xml, escaped, base64), and
 * names its dates issued, modified and created. Dublin Core at the feed level stands in for a
 * missing title, language or update date. The link of an entry or the feed is the first
 * rel="alternate" (or rel-less) link of an HTML-ish type, else the first alternate, else the
 * first other link; rel="enclosure" links are enclosures. An entry without an author takes
 * the feed's (§4.2.1). The extension elements of feedext.c are read in entries.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "parse/feedparse-internal.h"

#define ATOM_REL_PREFIX "http://www.iana.org/assignments/relation/"

static bool
is_atom(struct feedparse *p, const struct fp_elem *el, enum fp_name id)
{
    return el->id == id && el->ns == fp_atom(p)->ns;
}

enum text_class { TEXT_PLAIN, TEXT_HTML, TEXT_XHTML, TEXT_XML, TEXT_OTHER };

/*
 * The class of a text construct's type (RFC 4287 §3.1.1, §4.1.3.1): the three names, or a
 * media type compared without its parameters. No type, or an empty one, is text.
 */
static enum text_class
text_class(const char *type)
{
    size_t n;

    if (!type)
        return TEXT_PLAIN;
    while (*type == ' ' || *type == '\t' || *type == '\n' || *type == '\r')
        type++;
    for (n = 0; type[n] && type[n] != ';' && type[n] != ' ' && type[n] != '\t' && type[n] != '\n' &&
                type[n] != '\r';
         n++)
        ;
    if (n == 0 || (n == 4 && fp_ascii_iprefix(type, "text")) ||
        (n == 10 && fp_ascii_iprefix(type, "text/plain")))
        return TEXT_PLAIN;
    if ((n == 4 && fp_ascii_iprefix(type, "html")) ||
        (n == 9 && fp_ascii_iprefix(type, "text/html")))
        return TEXT_HTML;
    if ((n == 5 && fp_ascii_iprefix(type, "xhtml")) ||
        (n == 21 && fp_ascii_iprefix(type, "application/xhtml+xml")))
        return TEXT_XHTML;
    if (fp_ascii_iprefix(type, "text/"))
        return TEXT_PLAIN; /* text/css, text/x-markdown: text, markup characters kept as text */
    if ((n >= 4 && fp_ascii_iprefix(type + n - 4, "+xml")) ||
        (n >= 4 && fp_ascii_iprefix(type + n - 4, "/xml")))
        return TEXT_XML;
    return TEXT_OTHER;
}

/*
 * How a text construct is read. A title is always plain text; summary and content keep HTML:
 * type="html" as published (escaped markup in it stays escaped), type="xhtml" and XML media
 * types re-serialised (xhtml without its div wrapper), text escaped into HTML. In atom:content
 * Atom 1.0 says any other media type is base64 (§4.1.3.3): decoded, and kept when it is text
 * (what is not base64 at all is text under a wrong type, kept as text). The other text
 * constructs allow only text, html and xhtml (§3.1.1): another type there ("plain",
 * "markdown", a media type) is read as text, never decoded. Atom 0.3 says how the content is
 * carried in mode (xml, escaped, base64) apart from its media type, in every construct.
 */
struct fp_text_type
fp_text_type(const char *type, const char *mode, enum fp_construct which)
{
    enum text_class cls = text_class(type);
    struct fp_text_type tt = {.capture = FP_CAPTURE_TEXT};
    bool title = which == FP_CONSTRUCT_TITLE;
    bool markup;

    if (!mode && which != FP_CONSTRUCT_CONTENT && (cls == TEXT_OTHER || cls == TEXT_XML))
        cls = TEXT_PLAIN;
    markup = cls == TEXT_HTML || cls == TEXT_XHTML;

    if (mode && fp_ascii_ieq(mode, "base64")) {
        tt.base64 = true;
        tt.kind = markup ? (title ? FEEDTEXT_HTML_LINE : FEEDTEXT_HTML)
                         : (title ? FEEDTEXT_LINE : FEEDTEXT_TEXT_HTML);
        return tt;
    }
    if (mode && fp_ascii_ieq(mode, "escaped") && cls != TEXT_PLAIN) {
        /* Atom 0.3: markup escaped as text, whatever the media type names. */
        tt.capture = FP_CAPTURE_HTML;
        tt.kind = title ? FEEDTEXT_HTML_LINE : FEEDTEXT_HTML;
        return tt;
    }
    switch (cls) {
    case TEXT_PLAIN:
        tt.kind = title ? FEEDTEXT_LINE : FEEDTEXT_TEXT_HTML;
        break;
    case TEXT_HTML:
        if (mode && fp_ascii_ieq(mode, "xml")) {
            tt.kind = title ? FEEDTEXT_LINE : FEEDTEXT_HTML;
            tt.capture = title ? FP_CAPTURE_TEXT : FP_CAPTURE_XHTML;
        } else {
            tt.kind = title ? FEEDTEXT_HTML_LINE : FEEDTEXT_HTML;
            tt.capture = FP_CAPTURE_HTML;
        }
        break;
    case TEXT_XHTML:
    case TEXT_XML:
        /* A title keeps only the text of the markup; content keeps the markup. */
        tt.kind = title ? FEEDTEXT_LINE : FEEDTEXT_HTML;
        if (!title)
            tt.capture = cls == TEXT_XHTML ? FP_CAPTURE_XHTML : FP_CAPTURE_XML;
        break;
    case TEXT_OTHER:
        if (mode) {
            tt.ignore = true; /* Atom 0.3 in xml mode: an XML vocabulary we do not show */
        } else {
            tt.base64 = true;
            tt.kind = title ? FEEDTEXT_LINE : FEEDTEXT_TEXT_HTML;
        }
        break;
    }
    return tt;
}

/* Stores a text construct's captured text into *field (first value wins). */
int
fp_set_text_construct(char **field, const char *text, size_t len, const struct fp_text_type *tt)
{
    char *dec = NULL;
    size_t n = 0;
    int r;

    if (*field || !text || tt->ignore)
        return 0;
    if (!tt->base64)
        return feedtext_clean(text, len, tt->kind, field);
    r = feedtext_base64(text, len, &dec, &n);
    if (r == -EINVAL && !feedtext_base64_like(text, len))
        return feedtext_clean(text, len, tt->kind, field); /* text under a wrong type */
    if (r == -EINVAL)
        return 0; /* base64 of a binary file (an image): nothing to show */
    if (r < 0)
        return r;
    r = feedtext_clean(dec, n, tt->kind, field);
    free(dec);
    return r;
}

/* Chooses capture mode and cleaning for a text construct from its type (and 0.3 mode). */
static void
text_construct(struct feedparse *p, const struct fp_elem *el, enum fp_construct which)
{
    struct fp_atom_state *st = fp_atom(p);
    const char *mode = st->ns == FP_NS_ATOM03 ? fp_attr(el, FP_NS_NONE, "mode") : NULL;

    st->cap = fp_text_type(fp_attr(el, FP_NS_NONE, "type"), mode, which);
    fp_capture(p, st->cap.capture);
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
            text_construct(p, el, FP_CONSTRUCT_TITLE);
        } else if (is_atom(p, el, FPN_SUMMARY)) {
            text_construct(p, el, FP_CONSTRUCT_TEXT);
        } else if (is_atom(p, el, FPN_CONTENT)) {
            /* Out-of-line content (src=...) has no text here. */
            if (!fp_attr(el, FP_NS_NONE, "src"))
                text_construct(p, el, FP_CONSTRUCT_CONTENT);
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
            text_construct(p, el, FP_CONSTRUCT_TITLE);
        } else if (is_atom(p, el, FPN_UPDATED) || is_atom(p, el, FPN_MODIFIED)) {
            fp_capture(p, FP_CAPTURE_TEXT);
        } else if (is_atom(p, el, FPN_LINK)) {
            return atom_link(p, el, &doc->link, &st->feed_link_rank);
        } else if (is_atom(p, el, FPN_AUTHOR)) {
            st->author_depth = el->depth;
            st->author_is_feed = true;
        } else if (el->ns == FP_NS_SY) {
            fp_capture(p, FP_CAPTURE_TEXT); /* sy:updatePeriod / sy:updateFrequency */
        } else if (el->ns != st->ns) {
            (void)fp_ext_feed_start(p, el);
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
    if (it &&
        (el->ns == FP_NS_MEDIA || el->ns == FP_NS_DC || el->ns == FP_NS_DCTERMS ||
         el->ns == FP_NS_ITUNES) &&
        el->ns != st->ns)
        return fp_ext_end(p, el, text, len);
    if (it && el->depth == item_depth + 1) {
        if (is_atom(p, el, FPN_TITLE))
            return fp_set_text_construct(&it->title, text, len, &st->cap);
        if (is_atom(p, el, FPN_SUMMARY))
            return fp_set_text_construct(&it->summary, text, len, &st->cap);
        if (is_atom(p, el, FPN_CONTENT))
            return fp_set_text_construct(&it->content, text, len, &st->cap);
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
            return fp_set_text_construct(&doc->title, text, len, &st->cap);
        if ((is_atom(p, el, FPN_UPDATED) || is_atom(p, el, FPN_MODIFIED)) &&
            doc->updated_at == FEED_TIME_NONE)
            doc->updated_at = fp_date(text);
        if (el->ns == FP_NS_SY && el->id == FPN_UPDATEPERIOD)
            fp_refresh_period(p, text);
        else if (el->ns == FP_NS_SY && el->id == FPN_UPDATEFREQUENCY)
            fp_refresh_frequency(p, text);
        else if (el->ns == FP_NS_DC || el->ns == FP_NS_DCTERMS)
            return fp_ext_feed_end(p, el, text, len);
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
