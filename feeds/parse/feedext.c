/*
 * feedext.c — extension elements that carry content inside an item, for every XML format:
 * Dublin Core (dc:title, dc:description, dc:creator, dc:author, dc:publisher, dc:date,
 * dc:subject, dc:language, dcterms:modified / issued / created), Media RSS (media:content
 * and media:thumbnail anywhere in the item, media:group included; media:description), and
 * the iTunes podcast basics (itunes:author, itunes:summary, itunes:duration, itunes:image);
 * and Dublin Core at the channel or feed level (dc:title, dc:language, dc:date,
 * dcterms:modified), whatever the format.
 *
 * They fill what the format's own elements left empty, at the end of the item: the title
 * comes from <title>, else dc:title; the author from <author>, else dc:creator, else
 * dc:author, else dc:publisher, else itunes:author; the summary from <description> or
 * <summary>, else dc:description, else (when the item has no content either)
 * itunes:summary or media:description; the publication date from the format's date, else
 * dc:date, else dcterms:issued, else dcterms:created; the update date from the format's,
 * else dcterms:modified, else dc:date. dc:subject is a category. media:content becomes an
 * enclosure; the first media:thumbnail, itunes:image, or image enclosure becomes the item's
 * image. At the
 * feed level they stand in for the format's title, language and update date (struct
 * fp_feed_alt, applied when the document ends).
 */
#include <stdlib.h>
#include <string.h>

#include "parse/feedparse-internal.h"

static bool
is(const struct fp_elem *el, enum fp_ns ns, enum fp_name id)
{
    return el->id == id && el->ns == ns;
}

static bool
image_type(const char *type, const char *medium)
{
    return (type && fp_ascii_iprefix(type, "image/")) || (medium && fp_ascii_ieq(medium, "image"));
}

/* Releases what the extension state of an item holds and clears it. */
void
fp_ext_clear(struct fp_ext_state *st)
{
    free(st->creator);
    free(st->dc_author);
    free(st->dc_publisher);
    free(st->itunes_author);
    free(st->dc_title);
    free(st->dc_summary);
    free(st->alt_summary);
    *st = (struct fp_ext_state){
        .dcdate_at = FEED_TIME_NONE,
        .dcmodified_at = FEED_TIME_NONE,
        .dcissued_at = FEED_TIME_NONE,
        .dccreated_at = FEED_TIME_NONE,
    };
}

/* Clears the per-item state as an item opens. */
void
fp_ext_item_begin(struct feedparse *p)
{
    fp_ext_clear(fp_ext(p));
}

static int
media_content(struct feedparse *p, const struct fp_elem *el)
{
    const char *url = fp_attr(el, FP_NS_NONE, "url");
    const char *type = fp_attr(el, FP_NS_NONE, "type");
    const char *medium = fp_attr(el, FP_NS_NONE, "medium");
    const char *duration = fp_attr(el, FP_NS_NONE, "duration");
    struct feed_item *it = fp_item(p);
    int r;

    if (!url)
        return 0;
    if ((r = fp_item_add_enclosure(p, url, type, fp_attr(el, FP_NS_NONE, "fileSize"))) < 0)
        return r;
    if (image_type(type, medium) && (r = fp_item_set_image(p, url)) < 0)
        return r;
    if (duration && it->duration == 0)
        it->duration = fp_duration(duration);
    return 0;
}

/*
 * An element starts inside the open item (depth relative to the feed root). Returns 1 when
 * it is an extension element this file handles, 0 when not, or a negative errno.
 */
int
fp_ext_start(struct feedparse *p, const struct fp_elem *el)
{
    size_t item_depth = fp_item_depth(p);
    int r;

    if (!item_depth || el->depth <= item_depth)
        return 0;
    if (el->ns == FP_NS_MEDIA) {
        /* Media RSS nests freely: media:group > media:content > media:thumbnail ... */
        if (el->id == FPN_CONTENT)
            return (r = media_content(p, el)) < 0 ? r : 1;
        if (el->id == FPN_THUMBNAIL)
            return (r = fp_item_set_image(p, fp_attr(el, FP_NS_NONE, "url"))) < 0 ? r : 1;
        if (el->id == FPN_DESCRIPTION) {
            const char *type = fp_attr(el, FP_NS_NONE, "type");

            fp_ext(p)->media_html = type && fp_ascii_ieq(type, "html");
            fp_capture(p, FP_CAPTURE_TEXT);
            return 1;
        }
        return 0;
    }
    if (el->depth != item_depth + 1)
        return 0;
    if (el->ns == FP_NS_DC) {
        if (el->id == FPN_DESCRIPTION) {
            fp_capture(p, FP_CAPTURE_HTML);
            return 1;
        }
        if (el->id == FPN_CREATOR || el->id == FPN_DATE || el->id == FPN_SUBJECT ||
            el->id == FPN_LANGUAGE || el->id == FPN_TITLE || el->id == FPN_AUTHOR ||
            el->id == FPN_PUBLISHER) {
            fp_capture(p, FP_CAPTURE_TEXT);
            return 1;
        }
        return 0;
    }
    if (el->ns == FP_NS_DCTERMS) {
        if (is(el, FP_NS_DCTERMS, FPN_MODIFIED) || is(el, FP_NS_DCTERMS, FPN_CREATED) ||
            is(el, FP_NS_DCTERMS, FPN_ISSUED)) {
            fp_capture(p, FP_CAPTURE_TEXT);
            return 1;
        }
        return 0;
    }
    if (el->ns == FP_NS_ITUNES) {
        if (is(el, FP_NS_ITUNES, FPN_IMAGE))
            return (r = fp_item_set_image(p, fp_attr(el, FP_NS_NONE, "href"))) < 0 ? r : 1;
        if (is(el, FP_NS_ITUNES, FPN_AUTHOR) || is(el, FP_NS_ITUNES, FPN_SUMMARY) ||
            is(el, FP_NS_ITUNES, FPN_DURATION)) {
            fp_capture(p, FP_CAPTURE_TEXT);
            return 1;
        }
    }
    return 0;
}

/* The end of an element fp_ext_start took, with its captured text (or NULL). */
int
fp_ext_end(struct feedparse *p, const struct fp_elem *el, const char *text, size_t len)
{
    struct fp_ext_state *st = fp_ext(p);
    struct feed_item *it = fp_item(p);

    if (!it || !text)
        return 0;
    if (is(el, FP_NS_MEDIA, FPN_DESCRIPTION))
        return fp_set_text(&st->alt_summary, text, len,
                           st->media_html ? FEEDTEXT_HTML_AUTO : FEEDTEXT_TEXT_HTML);
    if (el->depth != fp_item_depth(p) + 1)
        return 0;
    if (is(el, FP_NS_DC, FPN_CREATOR))
        return fp_set_text(&st->creator, text, len, FEEDTEXT_LINE);
    if (is(el, FP_NS_DC, FPN_AUTHOR))
        return fp_set_text(&st->dc_author, text, len, FEEDTEXT_LINE);
    if (is(el, FP_NS_DC, FPN_PUBLISHER))
        return fp_set_text(&st->dc_publisher, text, len, FEEDTEXT_LINE);
    if (is(el, FP_NS_DC, FPN_TITLE))
        return fp_set_text(&st->dc_title, text, len, FEEDTEXT_HTML_LINE);
    if (is(el, FP_NS_DC, FPN_DESCRIPTION))
        return fp_set_text(&st->dc_summary, text, len, FEEDTEXT_HTML_AUTO);
    if (is(el, FP_NS_DC, FPN_SUBJECT))
        return fp_item_add_category(p, text, len);
    if (is(el, FP_NS_DC, FPN_LANGUAGE)) {
        char *lang = NULL;
        int r = fp_lang(text, len, &lang);

        if (r < 0 || !lang)
            return r;
        free(it->language);
        it->language = lang;
        return 0;
    }
    if (is(el, FP_NS_DC, FPN_DATE) && st->dcdate_at == FEED_TIME_NONE)
        st->dcdate_at = fp_date(text);
    else if (is(el, FP_NS_DCTERMS, FPN_MODIFIED) && st->dcmodified_at == FEED_TIME_NONE)
        st->dcmodified_at = fp_date(text);
    else if (is(el, FP_NS_DCTERMS, FPN_ISSUED) && st->dcissued_at == FEED_TIME_NONE)
        st->dcissued_at = fp_date(text);
    else if (is(el, FP_NS_DCTERMS, FPN_CREATED) && st->dccreated_at == FEED_TIME_NONE)
        st->dccreated_at = fp_date(text);
    else if (is(el, FP_NS_ITUNES, FPN_AUTHOR))
        return fp_set_text(&st->itunes_author, text, len, FEEDTEXT_LINE);
    else if (is(el, FP_NS_ITUNES, FPN_SUMMARY) && !st->alt_summary)
        return fp_set_text(&st->alt_summary, text, len, FEEDTEXT_TEXT_HTML);
    else if (is(el, FP_NS_ITUNES, FPN_DURATION) && it->duration == 0)
        it->duration = fp_duration(text);
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

/* Fills what the format left empty from the extensions, before the item closes. */
void
fp_ext_item_end(struct feedparse *p)
{
    struct fp_ext_state *st = fp_ext(p);
    struct feed_item *it = fp_item(p);

    if (!it)
        return;
    take(&it->title, &st->dc_title);
    take(&it->author, &st->creator);
    take(&it->author, &st->dc_author);
    take(&it->author, &st->dc_publisher);
    take(&it->author, &st->itunes_author);
    take(&it->summary, &st->dc_summary);
    if (!it->summary && !it->content)
        take(&it->summary, &st->alt_summary);
    if (it->published_at == FEED_TIME_NONE)
        it->published_at = st->dcdate_at != FEED_TIME_NONE     ? st->dcdate_at
                           : st->dcissued_at != FEED_TIME_NONE ? st->dcissued_at
                                                               : st->dccreated_at;
    /* dc:date is the item's date: its publication date and, lacking another, its update. */
    if (it->updated_at == FEED_TIME_NONE)
        it->updated_at = st->dcmodified_at != FEED_TIME_NONE ? st->dcmodified_at : st->dcdate_at;
    for (size_t i = 0; !it->image && i < it->n_enclosures; i++) {
        if (image_type(it->enclosures[i].type, NULL) &&
            !(it->image = strdup(it->enclosures[i].url)))
            return; /* OOM: the item simply has no image */
    }
}

/* A Dublin Core element starts as a child of the channel or feed: 1 when it is read here. */
int
fp_ext_feed_start(struct feedparse *p, const struct fp_elem *el)
{
    if (is(el, FP_NS_DC, FPN_TITLE) || is(el, FP_NS_DC, FPN_LANGUAGE) ||
        is(el, FP_NS_DC, FPN_DATE) || is(el, FP_NS_DCTERMS, FPN_MODIFIED)) {
        fp_capture(p, FP_CAPTURE_TEXT);
        return 1;
    }
    return 0;
}

/* The end of an element fp_ext_feed_start took: the feed's fallbacks, first value wins. */
int
fp_ext_feed_end(struct feedparse *p, const struct fp_elem *el, const char *text, size_t len)
{
    struct fp_feed_alt *alt = fp_feed_alt(p);

    if (!text)
        return 0;
    if (is(el, FP_NS_DC, FPN_TITLE))
        return fp_set_text(&alt->title, text, len, FEEDTEXT_HTML_LINE);
    if (is(el, FP_NS_DC, FPN_LANGUAGE))
        return alt->language ? 0 : fp_lang(text, len, &alt->language);
    if ((is(el, FP_NS_DC, FPN_DATE) || is(el, FP_NS_DCTERMS, FPN_MODIFIED)) &&
        alt->updated_at == FEED_TIME_NONE)
        alt->updated_at = fp_date(text);
    return 0;
}
