#include "text/content.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parse/date.h"
#include "text/html.h"
#include "text/lang.h"
#include "text/simhash.h"

/* One item between the two passes: its blocks, or why it has none. */
struct parsed {
    struct html_blocks blocks;
    bool ok; /* parsed (blocks may still be empty) */
};

/* The item's markup: content, else summary; NULL when it has neither. */
static const char *
item_html(const struct feed_item *item)
{
    if (item->content && item->content[0])
        return item->content;
    if (item->summary && item->summary[0])
        return item->summary;
    return NULL;
}

/*
 * The item's HTML as blocks (html_fragment_blocks: simple markup read directly, the rest
 * through libxml2; element pointers are NULL, which the item-mode filter never reads).
 */
static int
parse_item(const struct feed_item *item, struct parsed *p)
{
    const char *html = item_html(item);
    if (!html)
        return 0;
    int r = html_fragment_blocks(html, strlen(html),
                                 HTML_WALK_DROP_FORMS | HTML_WALK_DROP_LEAD_TIME, &p->blocks);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        html_blocks_done(&p->blocks);
        return 0; /* unreadable markup (too large): no text, the poll goes on */
    }
    p->ok = true;
    return 0;
}

/*
 * The language of the cleaned text when nobody gave one (or it was detected from another
 * text); written into the item.
 */
static int
fill_language(struct content_item *ci)
{
    struct feed_item *item = ci->item;
    if (item->language && !ci->lang_detected)
        return 0;
    if (!ci->text || !ci->text[0])
        return 0;
    size_t len = strlen(ci->text);
    const char *lang = lang_detect(ci->text, len < LANG_SAMPLE_MAX ? len : LANG_SAMPLE_MAX);
    if (!lang)
        return 0;
    char *copy = strdup(lang);
    if (!copy)
        return -ENOMEM;
    free(item->language);
    item->language = copy;
    ci->lang_detected = true;
    return 0;
}

/* Cleans n items with model (may be NULL), counting them into it. 0 or -ENOMEM. */
int
content_clean_items(struct content_item *v, size_t n, struct boilerplate_model *model)
{
    struct parsed *p = n ? calloc(n, sizeof(*p)) : NULL;
    int r = 0;
    if (n && !p)
        return -ENOMEM;

    /* Pass 1: every item's blocks, counted into the model. */
    for (size_t i = 0; i < n && r == 0; i++) {
        r = parse_item(v[i].item, &p[i]);
        if (r == 0 && model && p[i].ok && p[i].blocks.n > 0)
            r = boilerplate_model_learn(model, &p[i].blocks);
    }
    /*
     * Pass 2: each item's blocks decided. The model now counts the item itself, so a block
     * is repeated when it was in BOILERPLATE_MIN_REPEATS items besides this one.
     */
    for (size_t i = 0; i < n && r == 0; i++) {
        struct content_item *ci = &v[i];
        if (!p[i].ok || p[i].blocks.n == 0)
            continue;
        bool *keep = calloc(p[i].blocks.n, sizeof(*keep));
        if (!keep) {
            r = -ENOMEM;
            break;
        }
        struct boilerplate_opts opts = {
            .title = ci->item->title,
            .language = ci->item->language,
            .min_repeats = BOILERPLATE_MIN_REPEATS + 1,
        };
        boilerplate_filter(&p[i].blocks, BOILERPLATE_ITEM, &opts, model, keep);
        char *text = NULL;
        r = html_blocks_join(&p[i].blocks, keep, &text);
        free(keep);
        if (r < 0)
            break;
        if (!text[0]) {
            free(text);
            text = NULL;
        }
        free(ci->text);
        ci->text = text;
        ci->simhash = text ? simhash_text(text) : 0;
        r = fill_language(ci);
    }
    for (size_t i = 0; i < n; i++)
        html_blocks_done(&p[i].blocks);
    free(p);
    return r;
}

/* Copies src into *dst when *dst is NULL and src is set. 0 or -ENOMEM. */
static int
fill_str(char **dst, const char *src)
{
    if (*dst || !src || !src[0])
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -ENOMEM;
}

/* Takes the article's text when it is longer, and the metadata the feed left out. */
int
content_apply_article(struct content_item *ci, const struct article *art)
{
    struct feed_item *item = ci->item;
    size_t page_len = art->text ? strlen(art->text) : 0;
    size_t feed_len = ci->text ? strlen(ci->text) : 0;

    if (fill_str(&item->title, art->title) < 0 || fill_str(&item->author, art->author) < 0)
        return -ENOMEM;
    if (ci->lang_detected && art->language) {
        /* The page says what it is written in: that beats a guess from the teaser. */
        char *lang = strdup(art->language);
        if (!lang)
            return -ENOMEM;
        free(item->language);
        item->language = lang;
        ci->lang_detected = false;
    } else if (fill_str(&item->language, art->language) < 0) {
        return -ENOMEM;
    }
    int64_t at;
    if (item->published_at == FEED_TIME_NONE && art->published &&
        date_parse(art->published, &at) == 0)
        item->published_at = at;
    if (page_len > feed_len) {
        char *text = strdup(art->text);
        if (!text)
            return -ENOMEM;
        free(ci->text);
        ci->text = text;
        ci->simhash = simhash_text(text);
        ci->from_page = true;
    }
    return fill_language(ci);
}

/* Releases the texts of n items. */
void
content_items_done(struct content_item *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].text);
        v[i].text = NULL;
    }
}
