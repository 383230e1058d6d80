/*
 * feedjson.h — a parsed feed as the stable JSON of `feedwatch parse` (PRODUCT.md):
 * {"feed": {"title","link","language","updated","format","recovered"},
 *  "items": [{"id","key","title","link","published","updated","author","summary","content",
 *             "categories","enclosures"}]}
 * Absent values are null; dates RFC 3339 UTC. Pure; any thread.
 */
#ifndef FEEDWATCH_FEEDJSON_H
#define FEEDWATCH_FEEDJSON_H

#include <jansson.h>

#include "parse/feed.h"

/* New JSON object for doc (a new reference), or NULL on OOM. */
json_t *feedjson_doc(const struct feed_doc *doc);

/* New JSON object for one item, or NULL on OOM. */
json_t *feedjson_item(const struct feed_item *item);

#endif
