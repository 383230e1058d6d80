/* feed.c — the shared feed model: destructors and names. */
#include "parse/feed.h"

#include <stdlib.h>
#include <string.h>

/* strlen(s) + 1, or 0 for NULL. */
static size_t
str_bytes(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

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

/* Bytes an item holds: its struct, strings and lists. */
size_t
feed_item_bytes(const struct feed_item *item)
{
    size_t n = sizeof(*item) + str_bytes(item->key) + str_bytes(item->id) + str_bytes(item->title) +
               str_bytes(item->link) + str_bytes(item->author) + str_bytes(item->summary) +
               str_bytes(item->content) + str_bytes(item->language) + str_bytes(item->image);
    n += item->n_categories * sizeof(*item->categories);
    for (size_t i = 0; i < item->n_categories; i++)
        n += str_bytes(item->categories[i]);
    n += item->n_enclosures * sizeof(*item->enclosures);
    for (size_t i = 0; i < item->n_enclosures; i++)
        n += str_bytes(item->enclosures[i].url) + str_bytes(item->enclosures[i].type);
    return n;
}

/* Bytes a document holds, its items included. */
size_t
feed_doc_bytes(const struct feed_doc *doc)
{
    if (!doc)
        return 0;
    size_t n =
        sizeof(*doc) + str_bytes(doc->title) + str_bytes(doc->link) + str_bytes(doc->language);
    for (size_t i = 0; i < doc->n_items; i++)
        n += feed_item_bytes(&doc->items[i]);
    return n;
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
