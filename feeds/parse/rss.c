/*
 * rss.c — every RSS: 0.91-0.94 and 2.0 (<rss>), 0.90 and 1.0 (<rdf:RDF>): SAX handlers for
 * feedparse.c.
 *
 * RSS elements are un-namespaced in <rss>, in the RSS 1.0 or 0.90 namespace in <rdf:RDF>,
 * and in RSS 1.1's in its root <Channel>; the same rules read all. An <item> counts wherever it
 * appears outside another item (a child of <channel> in 2.0, beside it in 0.90 / 1.0, and wherever
 * a broken feed leaves it). Read besides the RSS elements: content:encoded, xhtml:body and
 * <fullitem> (the content), the Atom elements an RSS feed borrows (atom:link, the item's link when
 * it has no <link>; atom:title, atom:id, atom:author, atom:published, atom:updated, atom:summary,
 * atom:content, each when the RSS element is absent), an RSS 1.0 item's rdf:about (its id
 * when it has no guid, its link as a last resort), and the extensions of feedext.c. A guid
 * is the item's link only when it is a permalink (isPermaLink absent or "true") and an
 * http(s) URL. The first summary element of an item (<description>, <summary> or
 * atom:summary) is its summary; a second one, when the item has no content element, is its
 * content. <language> and dc:language give the channel's language over an xml:lang.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "parse/feedparse-internal.h"

static bool
rss_ns(enum fp_ns ns)
{
    return ns == FP_NS_NONE || ns == FP_NS_RSS10 || ns == FP_NS_RSS090 || ns == FP_NS_RSS11;
}

static bool
is(const struct fp_elem *el, enum fp_ns ns, enum fp_name id)
{
    return el->id == id && el->ns == ns;
}

static bool
is_rss(const struct fp_elem *el, enum fp_name id)
{
    return el->id == id && rss_ns(el->ns);
}

/* atom:link inside RSS: rel="alternate" (or none) is a candidate for the missing <link>. */
static int
atom_link(struct feedparse *p, const struct fp_elem *el)
{
    struct fp_rss_state *st = fp_rss(p);
    const char *href = fp_attr(el, FP_NS_NONE, "href");
    const char *rel = fp_attr(el, FP_NS_NONE, "rel");
    int rank = !rel || !*rel || fp_ascii_ieq(rel, "alternate") ? 0 : INT_MAX;
    char *url = NULL;
    int r;

    if (!href || rank == INT_MAX || (st->alt_link && st->alt_rank <= rank))
        return 0;
    if ((r = fp_url(p, href, strlen(href), &url)) < 0 || !url)
        return r;
    free(st->alt_link);
    st->alt_link = url;
    st->alt_rank = rank;
    return 0;
}

/* Clears the item state of the RSS handlers. */
static void
item_clear(struct fp_rss_state *st)
{
    free(st->alt_link);
    free(st->about);
    free(st->second_summary);
    free(st->atom_id);
    free(st->atom_title);
    free(st->atom_author);
    st->alt_link = NULL;
    st->about = NULL;
    st->second_summary = NULL;
    st->atom_id = NULL;
    st->atom_title = NULL;
    st->atom_author = NULL;
    st->atom_author_depth = 0;
    st->alt_rank = INT_MAX;
    st->guid_permalink = false;
    st->pubdate_at = FEED_TIME_NONE;
    st->atom_published_at = FEED_TIME_NONE;
}

static int
item_begin(struct feedparse *p, const struct fp_elem *el)
{
    struct fp_rss_state *st = fp_rss(p);
    const char *about = fp_attr(el, FP_NS_RDF, "about");
    int r;

    item_clear(st);
    if ((r = fp_item_begin(p, el->depth)) < 0)
        return r;
    /*
     * RSS 1.0: rdf:about names the item, normally by its URL: its id when it has no guid,
     * and the last choice for a link.
     */
    if (about && fp_item(p)) {
        if ((r = fp_set_text(&st->about, about, strlen(about), FEEDTEXT_TOKEN)) < 0 ||
            (r = fp_url(p, about, strlen(about), &st->alt_link)) < 0)
            return r;
        st->alt_rank = INT_MAX - 1;
    }
    return 0;
}

/* An Atom text construct inside RSS (atom:title, atom:summary, atom:content) starts. */
static void
atom_text(struct feedparse *p, const struct fp_elem *el, enum fp_construct which)
{
    struct fp_rss_state *st = fp_rss(p);

    st->cap = fp_text_type(fp_attr(el, FP_NS_NONE, "type"), NULL, which);
    fp_capture(p, st->cap.capture);
}

/* An Atom element starts as a child of an RSS item. */
static int
item_atom_start(struct feedparse *p, const struct fp_elem *el)
{
    struct fp_rss_state *st = fp_rss(p);

    switch (el->id) {
    case FPN_UPDATED:
    case FPN_PUBLISHED:
    case FPN_ID:
        fp_capture(p, FP_CAPTURE_TEXT);
        return 0;
    case FPN_LINK:
        return atom_link(p, el);
    case FPN_TITLE:
        atom_text(p, el, FP_CONSTRUCT_TITLE);
        return 0;
    case FPN_SUMMARY:
        atom_text(p, el, FP_CONSTRUCT_TEXT);
        return 0;
    case FPN_CONTENT:
        if (!fp_attr(el, FP_NS_NONE, "src"))
            atom_text(p, el, FP_CONSTRUCT_CONTENT);
        return 0;
    case FPN_AUTHOR:
        st->atom_author_depth = el->depth;
        return 0;
    default:
        return 0;
    }
}

static int
rss_start(struct feedparse *p, const struct fp_elem *el)
{
    struct fp_rss_state *st = fp_rss(p);
    size_t item_depth = fp_item_depth(p);
    int r;

    if (el->depth == 1) {
        /* RSS 1.1: the root is the channel, its items are in <items>. */
        if (el->ns == FP_NS_RSS11) {
            st->channel_depth = 1;
            st->seen_channel = true;
        }
        return 0;
    }
    if (el->depth == 2 && is_rss(el, FPN_CHANNEL) && !st->channel_depth) {
        st->channel_depth = el->depth;
        st->seen_channel = true;
        return 0;
    }
    /*
     * An <item> is taken wherever it is, once no item is open: RSS 0.9x put items beside
     * the channel, and a broken feed may leave an element around its items unclosed.
     */
    if (is_rss(el, FPN_ITEM) && !item_depth)
        return item_begin(p, el);
    if (item_depth && (r = fp_ext_start(p, el)) != 0)
        return r < 0 ? r : 0;
    if (st->atom_author_depth && el->depth == st->atom_author_depth + 1) {
        if (is(el, FP_NS_ATOM, FPN_NAME))
            fp_capture(p, FP_CAPTURE_TEXT);
        return 0;
    }
    if (item_depth && el->depth == item_depth + 1) {
        if (rss_ns(el->ns)) {
            if (is_rss(el, FPN_ENCLOSURE))
                return fp_item_add_enclosure(p, fp_attr(el, FP_NS_NONE, "url"),
                                             fp_attr(el, FP_NS_NONE, "type"),
                                             fp_attr(el, FP_NS_NONE, "length"));
            if (is_rss(el, FPN_DESCRIPTION) || is_rss(el, FPN_SUMMARY) ||
                is_rss(el, FPN_FULLITEM)) {
                fp_capture(p, FP_CAPTURE_HTML);
            } else if (is_rss(el, FPN_GUID)) {
                const char *perma = fp_attr(el, FP_NS_NONE, "isPermaLink");

                st->guid_permalink = !perma || fp_ascii_ieq(perma, "true");
                fp_capture(p, FP_CAPTURE_TEXT);
            } else if (is_rss(el, FPN_TITLE) || is_rss(el, FPN_LINK) || is_rss(el, FPN_PUBDATE) ||
                       is_rss(el, FPN_AUTHOR) || is_rss(el, FPN_CATEGORY)) {
                fp_capture(p, FP_CAPTURE_TEXT);
            }
        } else if (is(el, FP_NS_CONTENT, FPN_ENCODED)) {
            fp_capture(p, FP_CAPTURE_HTML);
        } else if (is(el, FP_NS_XHTML, FPN_BODY)) {
            fp_capture(p, FP_CAPTURE_XML);
        } else if (el->ns == FP_NS_ATOM) {
            return item_atom_start(p, el);
        }
        return 0;
    }
    if (!item_depth && st->channel_depth && el->depth == st->channel_depth + 1) {
        if (is_rss(el, FPN_TITLE) || is_rss(el, FPN_LINK) || is_rss(el, FPN_LANGUAGE) ||
            is_rss(el, FPN_LASTBUILDDATE) || is_rss(el, FPN_PUBDATE) ||
            is(el, FP_NS_DC, FPN_DATE) || is(el, FP_NS_DC, FPN_LANGUAGE) || is_rss(el, FPN_TTL) ||
            el->ns == FP_NS_SY || is(el, FP_NS_ATOM, FPN_UPDATED))
            fp_capture(p, FP_CAPTURE_TEXT);
        else if (is(el, FP_NS_ATOM, FPN_TITLE))
            atom_text(p, el, FP_CONSTRUCT_TITLE);
        else if (fp_ext_feed_start(p, el))
            return 0;
        else if (is(el, FP_NS_ATOM, FPN_LINK) && !fp_doc(p)->link) {
            /* The site's page, when <link> is missing (rel="self" is the feed itself). */
            const char *rel = fp_attr(el, FP_NS_NONE, "rel");
            const char *href = fp_attr(el, FP_NS_NONE, "href");

            if (href && (!rel || fp_ascii_ieq(rel, "alternate")))
                return fp_url(p, href, strlen(href), &fp_doc(p)->link);
        }
    }
    return 0;
}

static void
take(char **dst, char **src)
{
    if (!*dst && *src) {
        *dst = *src;
        *src = NULL;
    }
}

static bool
looks_like_http_url(const char *s)
{
    return s && (fp_ascii_iprefix(s, "http://") || fp_ascii_iprefix(s, "https://"));
}

static int
rss_item_end(struct feedparse *p)
{
    struct fp_rss_state *st = fp_rss(p);
    struct feed_item *it = fp_item(p);
    int r;

    if (!it)
        return 0;
    it->published_at = st->pubdate_at != FEED_TIME_NONE ? st->pubdate_at : st->atom_published_at;
    /* RSS 2.0: a permalink guid is the item's URL when it has no <link>. */
    if (!it->link && st->guid_permalink && looks_like_http_url(it->id)) {
        r = fp_url(p, it->id, strlen(it->id), &it->link);
        if (r < 0)
            return r;
    }
    take(&it->link, &st->alt_link);
    take(&it->title, &st->atom_title);
    take(&it->author, &st->atom_author);
    take(&it->content, &st->second_summary);
    /*
     * atom:id, else rdf:about, is the id shown when there is no guid, but the key stays the
     * guid, else the link, else the hash, as it always was: a new key would make every item
     * of the feed new again, and items sharing one rdf:about (the feed's URL) would share a key.
     */
    return fp_item_end_shown_id(p, st->atom_id ? &st->atom_id : &st->about);
}

/* A summary element: the item's summary, or its second summary when it has one. */
static int
summary_field(struct feedparse *p, const char *text, size_t len, const struct fp_text_type *tt)
{
    struct feed_item *it = fp_item(p);

    return fp_set_text_construct(it->summary ? &fp_rss(p)->second_summary : &it->summary, text, len,
                                 tt);
}

/* The end of an Atom element that is a child of an RSS item. */
static int
item_atom_field(struct feedparse *p, const struct fp_elem *el, const char *text, size_t len)
{
    struct fp_rss_state *st = fp_rss(p);
    struct feed_item *it = fp_item(p);

    switch (el->id) {
    case FPN_UPDATED:
        if (it->updated_at == FEED_TIME_NONE)
            it->updated_at = fp_date(text);
        return 0;
    case FPN_PUBLISHED:
        if (st->atom_published_at == FEED_TIME_NONE)
            st->atom_published_at = fp_date(text);
        return 0;
    case FPN_ID:
        return fp_set_text(&st->atom_id, text, len, FEEDTEXT_TOKEN);
    case FPN_TITLE:
        return fp_set_text_construct(&st->atom_title, text, len, &st->cap);
    case FPN_SUMMARY:
        return summary_field(p, text, len, &st->cap);
    case FPN_CONTENT:
        return fp_set_text_construct(&it->content, text, len, &st->cap);
    default:
        return 0;
    }
}

static int
rss_item_field(struct feedparse *p, const struct fp_elem *el, const char *text, size_t len)
{
    struct fp_rss_state *st = fp_rss(p);
    struct feed_item *it = fp_item(p);

    static const struct fp_text_type rss_html = {.kind = FEEDTEXT_HTML_AUTO};

    if (!it)
        return 0;
    if (is(el, FP_NS_CONTENT, FPN_ENCODED) || is_rss(el, FPN_FULLITEM))
        return fp_set_text(&it->content, text, len, FEEDTEXT_HTML_AUTO);
    if (is(el, FP_NS_XHTML, FPN_BODY))
        return fp_set_text(&it->content, text, len, FEEDTEXT_HTML);
    if (el->ns == FP_NS_ATOM)
        return item_atom_field(p, el, text, len);
    if (!rss_ns(el->ns))
        return 0;
    if (is_rss(el, FPN_TITLE))
        return fp_set_text(&it->title, text, len, FEEDTEXT_HTML_LINE);
    if (is_rss(el, FPN_LINK)) {
        if (it->link)
            return 0;
        return fp_url(p, text, len, &it->link);
    }
    if (is_rss(el, FPN_GUID))
        return fp_set_text(&it->id, text, len, FEEDTEXT_TOKEN);
    if (is_rss(el, FPN_DESCRIPTION) || is_rss(el, FPN_SUMMARY))
        return summary_field(p, text, len, &rss_html);
    if (is_rss(el, FPN_AUTHOR))
        return fp_set_text(&it->author, text, len, FEEDTEXT_LINE);
    if (is_rss(el, FPN_CATEGORY))
        return fp_item_add_category(p, text, len);
    if (is_rss(el, FPN_PUBDATE) && st->pubdate_at == FEED_TIME_NONE)
        st->pubdate_at = fp_date(text);
    return 0;
}

static int
rss_channel_field(struct feedparse *p, const struct fp_elem *el, const char *text, size_t len)
{
    struct fp_rss_state *st = fp_rss(p);
    struct feed_doc *doc = fp_doc(p);

    if (is_rss(el, FPN_TITLE))
        return fp_set_text(&doc->title, text, len, FEEDTEXT_HTML_LINE);
    if (is_rss(el, FPN_LINK)) {
        char *url = NULL;
        int r;

        /* <link> wins over an atom:link read before it. */
        if (st->channel_link_set)
            return 0;
        if ((r = fp_url(p, text, len, &url)) < 0 || !url)
            return r;
        free(doc->link);
        doc->link = url;
        st->channel_link_set = true;
        return 0;
    }
    if (is_rss(el, FPN_LANGUAGE) || is(el, FP_NS_DC, FPN_LANGUAGE)) {
        char *lang = NULL;
        int r;

        /* The first one wins over the xml:lang of the root. */
        if (st->lang_set)
            return 0;
        if ((r = fp_lang(text, len, &lang)) < 0 || !lang)
            return r;
        free(doc->language);
        doc->language = lang;
        st->lang_set = true;
        return 0;
    }
    if (is(el, FP_NS_ATOM, FPN_TITLE))
        return fp_set_text_construct(&fp_feed_alt(p)->title, text, len, &st->cap);
    if (is(el, FP_NS_ATOM, FPN_UPDATED)) {
        if (fp_feed_alt(p)->updated_at == FEED_TIME_NONE)
            fp_feed_alt(p)->updated_at = fp_date(text);
        return 0;
    }
    if (is_rss(el, FPN_TTL)) {
        fp_refresh_ttl(p, text);
        return 0;
    }
    if (is(el, FP_NS_SY, FPN_UPDATEPERIOD)) {
        fp_refresh_period(p, text);
        return 0;
    }
    if (is(el, FP_NS_SY, FPN_UPDATEFREQUENCY)) {
        fp_refresh_frequency(p, text);
        return 0;
    }
    if (is_rss(el, FPN_LASTBUILDDATE) && st->channel_lastbuild_at == FEED_TIME_NONE)
        st->channel_lastbuild_at = fp_date(text);
    else if (is_rss(el, FPN_PUBDATE) && st->channel_pubdate_at == FEED_TIME_NONE)
        st->channel_pubdate_at = fp_date(text);
    else if (is(el, FP_NS_DC, FPN_DATE) && st->channel_dcdate_at == FEED_TIME_NONE)
        st->channel_dcdate_at = fp_date(text);
    else
        return fp_ext_feed_end(p, el, text, len);
    return 0;
}

static int
rss_end(struct feedparse *p, const struct fp_elem *el, const char *text, size_t len)
{
    struct fp_rss_state *st = fp_rss(p);
    size_t item_depth = fp_item_depth(p);

    if (item_depth && el->depth == item_depth)
        return rss_item_end(p);
    if (st->channel_depth && el->depth == st->channel_depth) {
        st->channel_depth = 0;
        return 0;
    }
    if (st->atom_author_depth && el->depth == st->atom_author_depth) {
        st->atom_author_depth = 0;
        return 0;
    }
    if (!text)
        return 0;
    if (st->atom_author_depth && el->depth == st->atom_author_depth + 1)
        return is(el, FP_NS_ATOM, FPN_NAME) && fp_item(p)
                   ? fp_set_text(&st->atom_author, text, len, FEEDTEXT_LINE)
                   : 0;
    if (item_depth && (el->ns == FP_NS_MEDIA || el->ns == FP_NS_DC || el->ns == FP_NS_DCTERMS ||
                       el->ns == FP_NS_ITUNES))
        return fp_ext_end(p, el, text, len);
    if (item_depth && el->depth == item_depth + 1)
        return rss_item_field(p, el, text, len);
    if (!item_depth && st->channel_depth && el->depth == st->channel_depth + 1)
        return rss_channel_field(p, el, text, len);
    return 0;
}

static void
rss_init(struct feedparse *p)
{
    struct fp_rss_state *st = fp_rss(p);

    st->channel_pubdate_at = FEED_TIME_NONE;
    st->channel_dcdate_at = FEED_TIME_NONE;
    st->channel_lastbuild_at = FEED_TIME_NONE;
    st->pubdate_at = FEED_TIME_NONE;
    st->atom_published_at = FEED_TIME_NONE;
}

static int
rss_finish(struct feedparse *p)
{
    struct fp_rss_state *st = fp_rss(p);
    struct feed_doc *doc = fp_doc(p);

    if (!st->seen_channel && doc->n_items == 0)
        return fp_fail(p, -EPROTO, "not a feed: <%s> without <channel>",
                       doc->format == FEED_FORMAT_RDF ? "rdf:RDF" : "rss");
    if (st->channel_lastbuild_at != FEED_TIME_NONE)
        doc->updated_at = st->channel_lastbuild_at;
    else if (st->channel_pubdate_at != FEED_TIME_NONE)
        doc->updated_at = st->channel_pubdate_at;
    else
        doc->updated_at = st->channel_dcdate_at;
    return 0;
}

const struct feedparse_format fp_format_rss = {
    .format = FEED_FORMAT_RSS,
    .init = rss_init,
    .start = rss_start,
    .end = rss_end,
    .finish = rss_finish,
};

const struct feedparse_format fp_format_rdf = {
    .format = FEED_FORMAT_RDF,
    .init = rss_init,
    .start = rss_start,
    .end = rss_end,
    .finish = rss_finish,
};
