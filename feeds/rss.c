/*
 * rss.c — RSS 2.0 (and the <rss> 0.9x it grew from): SAX handlers for feedparse.c.
 *
 * Only un-namespaced elements are RSS; content:encoded, dc:creator, dc:date and
 * atom:updated are the extensions read. An <item> counts wherever it appears outside
 * another item (normally a child of <channel>; of <rss> in old feeds).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feedparse-internal.h"

static bool
is(const struct fp_elem *el, enum fp_ns ns, const char *name)
{
    return el->ns == ns && strcmp(el->name, name) == 0;
}

static int
rss_start(struct feedparse *p, const struct fp_elem *el)
{
    struct fp_rss_state *st = fp_rss(p);
    size_t item_depth = fp_item_depth(p);

    if (el->depth == 1)
        return 0;
    if (el->depth == 2 && is(el, FP_NS_NONE, "channel") && !st->channel_depth) {
        st->channel_depth = el->depth;
        st->seen_channel = true;
        return 0;
    }
    /*
     * An <item> is taken wherever it is, once no item is open: RSS 0.9x put items beside
     * the channel, and a broken feed may leave an element around its items unclosed.
     */
    if (is(el, FP_NS_NONE, "item") && !item_depth) {
        free(st->creator);
        st->creator = NULL;
        st->guid_permalink = false;
        st->dcdate_at = FEED_TIME_NONE;
        st->pubdate_at = FEED_TIME_NONE;
        return fp_item_begin(p, el->depth);
    }
    if (item_depth && el->depth == item_depth + 1) {
        if (el->ns == FP_NS_NONE) {
            if (is(el, FP_NS_NONE, "enclosure"))
                return fp_item_add_enclosure(p, fp_attr(el, FP_NS_NONE, "url"),
                                             fp_attr(el, FP_NS_NONE, "type"),
                                             fp_attr(el, FP_NS_NONE, "length"));
            if (is(el, FP_NS_NONE, "description")) {
                fp_capture(p, FP_CAPTURE_HTML);
            } else if (is(el, FP_NS_NONE, "guid")) {
                const char *perma = fp_attr(el, FP_NS_NONE, "isPermaLink");

                st->guid_permalink = !perma || strcasecmp(perma, "true") == 0;
                fp_capture(p, FP_CAPTURE_TEXT);
            } else if (is(el, FP_NS_NONE, "title") || is(el, FP_NS_NONE, "link") ||
                       is(el, FP_NS_NONE, "pubDate") || is(el, FP_NS_NONE, "author") ||
                       is(el, FP_NS_NONE, "category")) {
                fp_capture(p, FP_CAPTURE_TEXT);
            }
        } else if (is(el, FP_NS_CONTENT, "encoded")) {
            fp_capture(p, FP_CAPTURE_HTML);
        } else if (is(el, FP_NS_DC, "creator") || is(el, FP_NS_DC, "date") ||
                   is(el, FP_NS_ATOM, "updated")) {
            fp_capture(p, FP_CAPTURE_TEXT);
        }
        return 0;
    }
    if (!item_depth && st->channel_depth && el->depth == st->channel_depth + 1) {
        if (is(el, FP_NS_NONE, "title") || is(el, FP_NS_NONE, "link") ||
            is(el, FP_NS_NONE, "language") || is(el, FP_NS_NONE, "lastBuildDate") ||
            is(el, FP_NS_NONE, "pubDate") || is(el, FP_NS_DC, "date") ||
            is(el, FP_NS_DC, "language"))
            fp_capture(p, FP_CAPTURE_TEXT);
    }
    return 0;
}

static bool
looks_like_http_url(const char *s)
{
    return s && (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0);
}

static int
rss_item_end(struct feedparse *p)
{
    struct fp_rss_state *st = fp_rss(p);
    struct feed_item *it = fp_item(p);
    int r;

    if (!it->author && st->creator) {
        it->author = st->creator;
        st->creator = NULL;
    }
    it->published_at = st->pubdate_at != FEED_TIME_NONE ? st->pubdate_at : st->dcdate_at;
    /* RSS 2.0: a permalink guid is the item's URL when it has no <link>. */
    if (!it->link && st->guid_permalink && looks_like_http_url(it->id)) {
        r = fp_url(p, it->id, strlen(it->id), &it->link);
        if (r < 0)
            return r;
    }
    return fp_item_end(p);
}

static int
rss_item_field(struct feedparse *p, const struct fp_elem *el, const char *text, size_t len)
{
    struct fp_rss_state *st = fp_rss(p);
    struct feed_item *it = fp_item(p);

    if (is(el, FP_NS_NONE, "title"))
        return fp_set_text(&it->title, text, len, FEEDTEXT_HTML_LINE);
    if (is(el, FP_NS_NONE, "link")) {
        if (it->link)
            return 0;
        return fp_url(p, text, len, &it->link);
    }
    if (is(el, FP_NS_NONE, "guid"))
        return fp_set_text(&it->id, text, len, FEEDTEXT_TOKEN);
    if (is(el, FP_NS_NONE, "description"))
        return fp_set_text(&it->summary, text, len, FEEDTEXT_HTML);
    if (is(el, FP_NS_CONTENT, "encoded"))
        return fp_set_text(&it->content, text, len, FEEDTEXT_HTML);
    if (is(el, FP_NS_NONE, "author"))
        return fp_set_text(&it->author, text, len, FEEDTEXT_LINE);
    if (is(el, FP_NS_DC, "creator"))
        return fp_set_text(&st->creator, text, len, FEEDTEXT_LINE);
    if (is(el, FP_NS_NONE, "category"))
        return fp_item_add_category(p, text, len);
    if (is(el, FP_NS_NONE, "pubDate")) {
        if (st->pubdate_at == FEED_TIME_NONE)
            st->pubdate_at = fp_date(text);
        return 0;
    }
    if (is(el, FP_NS_DC, "date")) {
        if (st->dcdate_at == FEED_TIME_NONE)
            st->dcdate_at = fp_date(text);
        return 0;
    }
    if (is(el, FP_NS_ATOM, "updated")) {
        if (it->updated_at == FEED_TIME_NONE)
            it->updated_at = fp_date(text);
        return 0;
    }
    return 0;
}

static int
rss_channel_field(struct feedparse *p, const struct fp_elem *el, const char *text, size_t len)
{
    struct fp_rss_state *st = fp_rss(p);
    struct feed_doc *doc = fp_doc(p);

    if (is(el, FP_NS_NONE, "title"))
        return fp_set_text(&doc->title, text, len, FEEDTEXT_HTML_LINE);
    if (is(el, FP_NS_NONE, "link")) {
        if (doc->link)
            return 0;
        return fp_url(p, text, len, &doc->link);
    }
    if (is(el, FP_NS_NONE, "language") || is(el, FP_NS_DC, "language"))
        return fp_set_text(&doc->language, text, len, FEEDTEXT_TOKEN);
    if (is(el, FP_NS_NONE, "lastBuildDate") && st->channel_lastbuild_at == FEED_TIME_NONE)
        st->channel_lastbuild_at = fp_date(text);
    else if (is(el, FP_NS_NONE, "pubDate") && st->channel_pubdate_at == FEED_TIME_NONE)
        st->channel_pubdate_at = fp_date(text);
    else if (is(el, FP_NS_DC, "date") && st->channel_dcdate_at == FEED_TIME_NONE)
        st->channel_dcdate_at = fp_date(text);
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
    if (!text)
        return 0;
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
    st->dcdate_at = FEED_TIME_NONE;
    st->pubdate_at = FEED_TIME_NONE;
}

static int
rss_finish(struct feedparse *p)
{
    struct fp_rss_state *st = fp_rss(p);
    struct feed_doc *doc = fp_doc(p);

    if (!st->seen_channel && doc->n_items == 0)
        return fp_fail(p, -EPROTO, "not a feed: <rss> without <channel>");
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
