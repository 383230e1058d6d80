/* feedjson.c — a parsed feed as the JSON of `feedwatch parse`, members in a fixed order. */
#include "parse/feedjson.h"

#include <stdbool.h>

#include "parse/date.h"

static json_t *
str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *
time_or_null(int64_t at)
{
    char buf[DATE_RFC3339_LEN];

    if (at == FEED_TIME_NONE)
        return json_null();
    date_format(at, buf);
    return json_string(buf);
}

/* Adds a member, taking the reference; false when the value could not be made. */
static bool
set_new(json_t *obj, const char *key, json_t *value)
{
    return value && json_object_set_new(obj, key, value) == 0;
}

static json_t *
enclosure_json(const struct feed_enclosure *e)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    if (!set_new(o, "url", str_or_null(e->url)) || !set_new(o, "type", str_or_null(e->type)) ||
        !set_new(o, "length", e->length >= 0 ? json_integer(e->length) : json_null())) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* New JSON object for one item, or NULL on OOM. */
json_t *
feedjson_item(const struct feed_item *item)
{
    json_t *o = json_object(), *cats = json_array(), *encs = json_array();

    if (!o || !cats || !encs)
        goto fail;
    for (size_t i = 0; i < item->n_categories; i++) {
        if (json_array_append_new(cats, json_string(item->categories[i])) < 0)
            goto fail;
    }
    for (size_t i = 0; i < item->n_enclosures; i++) {
        if (json_array_append_new(encs, enclosure_json(&item->enclosures[i])) < 0)
            goto fail;
    }
    if (!set_new(o, "id", str_or_null(item->id)) || !set_new(o, "key", str_or_null(item->key)) ||
        !set_new(o, "title", str_or_null(item->title)) ||
        !set_new(o, "link", str_or_null(item->link)) ||
        !set_new(o, "published", time_or_null(item->published_at)) ||
        !set_new(o, "updated", time_or_null(item->updated_at)) ||
        !set_new(o, "author", str_or_null(item->author)) ||
        !set_new(o, "summary", str_or_null(item->summary)) ||
        !set_new(o, "content", str_or_null(item->content)))
        goto fail;
    if (json_object_set_new(o, "categories", cats) < 0) {
        cats = NULL;
        goto fail;
    }
    cats = NULL;
    if (json_object_set_new(o, "enclosures", encs) < 0) {
        encs = NULL;
        goto fail;
    }
    encs = NULL;
    if (!set_new(o, "image", str_or_null(item->image)) ||
        !set_new(o, "duration", item->duration > 0 ? json_integer(item->duration) : json_null()) ||
        !set_new(o, "language", str_or_null(item->language)))
        goto fail;
    return o;

fail:
    json_decref(cats);
    json_decref(encs);
    json_decref(o);
    return NULL;
}

/* New JSON object for doc (a new reference), or NULL on OOM. */
json_t *
feedjson_doc(const struct feed_doc *doc)
{
    json_t *root = json_object(), *feed = json_object(), *items = json_array();

    if (!root || !feed || !items)
        goto fail;
    if (!set_new(feed, "title", str_or_null(doc->title)) ||
        !set_new(feed, "link", str_or_null(doc->link)) ||
        !set_new(feed, "language", str_or_null(doc->language)) ||
        !set_new(feed, "updated", time_or_null(doc->updated_at)) ||
        !set_new(feed, "format", json_string(feed_format_name(doc->format))) ||
        !set_new(feed, "recovered", json_boolean(doc->recovered)))
        goto fail;
    for (size_t i = 0; i < doc->n_items; i++) {
        if (json_array_append_new(items, feedjson_item(&doc->items[i])) < 0)
            goto fail;
    }
    if (json_object_set_new(root, "feed", feed) < 0) {
        feed = NULL;
        goto fail;
    }
    feed = NULL;
    if (json_object_set_new(root, "items", items) < 0) {
        items = NULL;
        goto fail;
    }
    return root;

fail:
    json_decref(feed);
    json_decref(items);
    json_decref(root);
    return NULL;
}
