/*
 * content.h — the content stage of one poll: the clean text, language and story signature
 * of each new item, and what a downloaded article page adds to an item.
 *
 * content_clean_items() works on all the new items of one poll together, with the feed's
 * boilerplate model (boilerplate.h): it first counts every item's blocks into the model, then
 * decides each item's blocks, so that a promo repeated across the items of a feed's very
 * first poll is already recognised (a block then needs BOILERPLATE_MIN_REPEATS other items,
 * stored earlier or in the same poll). The items' language, when the feed gave none, is
 * detected from the cleaned text and written into the item.
 *
 * Pure: no I/O, no clock; any thread (after xmlInitParser()), one poll's items by one thread.
 * Errors are negative errno values.
 */
#ifndef FEEDWATCH_CONTENT_H
#define FEEDWATCH_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "text/article.h"
#include "text/boilerplate.h"
#include "parse/feed.h"

/* One new item of a poll and what the content stage made of it. */
struct content_item {
    struct feed_item *item; /* borrowed; language (and, from a page, title, author, dates)
                               may be filled in */
    char *text;             /* the cleaned text (malloc'ed), NULL when there is none */
    uint64_t simhash;       /* story signature of the text (simhash.h), 0 when there is none */
    bool from_page;         /* the text is the article downloaded from the item's link */
    bool lang_detected;     /* item->language was detected from the text, not given */
};

/*
 * Cleans n items with model (may be NULL: no repetition signal), counting them into it.
 * Each item's HTML is its content, else its summary. An item whose HTML cannot be read (too
 * large, for instance) gets no text rather than failing the poll. 0 or -ENOMEM.
 */
int content_clean_items(struct content_item *v, size_t n, struct boilerplate_model *model);

/*
 * Takes what an article page of the item's link holds: its text when it is longer than the
 * feed's, and the title, author, publication date and language the feed left out. The
 * signature is recomputed. 0, or -ENOMEM (the item is left as it was).
 */
int content_apply_article(struct content_item *ci, const struct article *art);

/* Releases the texts of n items (not the items). */
void content_items_done(struct content_item *v, size_t n);

#endif
