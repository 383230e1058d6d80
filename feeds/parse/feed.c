/* feed.c — the shared feed model: destructors and names. */
#include "parse/feed.h"

#include <stdlib.h>

/* Cleans an item embedded elsewhere (frees its members, not the struct). */
void
feed_item_done(struct feed_item *item)
{
    if (!item)
        return;
    free(item->key);
    free(item->id);
    free(item->title);
    free(item->link);
    free(item->author);
    free(item->summary);
    free(item->content);
    free(item->language);
    for (size_t i = 0; i < item->n_categories; i++)
        free(item->categories[i]);
    free(item->categories);
    for (size_t i = 0; i < item->n_enclosures; i++) {
        free(item->enclosures[i].url);
        free(item->enclosures[i].type);
    }
    free(item->enclosures);
    free(item->image);
    *item = (struct feed_item){
        .published_at = FEED_TIME_NONE,
        .updated_at = FEED_TIME_NONE,
    };
}

/* Releases a document and everything it owns; accepts NULL. */
void
feed_doc_free(struct feed_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->n_items; i++)
        feed_item_done(&doc->items[i]);
    free(doc->items);
    free(doc->title);
    free(doc->link);
    free(doc->language);
    free(doc);
}

/* Name of a format for messages and JSON ("rss", "rdf", "atom", "json", "unknown"). */
const char *
feed_format_name(enum feed_format format)
{
    switch (format) {
    case FEED_FORMAT_RSS:
        return "rss";
    case FEED_FORMAT_RDF:
        return "rdf";
    case FEED_FORMAT_ATOM:
        return "atom";
    case FEED_FORMAT_JSON:
        return "json";
    case FEED_FORMAT_UNKNOWN:
        break;
    }
    return "unknown";
}
