/*
 * jsonfeed.c — JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) into the shared
 * model, from the whole document (jansson has no push parser; feedparse.c buffers it).
 *
 * A JSON document is a feed only with a "version" of https://jsonfeed.org/version/1.x;
 * anything else (RSS written as JSON, a JSON API answer) is "not a feed". Item fields:
 * id (a string, or a number as published), url (else external_url) as the link, title,
 * content_html (else content_text) as content, summary, date_published / date_modified,
 * authors[0] (1.1) else author (1.0), tags, language (1.1), image / banner_image,
 * attachments as enclosures. Plain-text fields that land in HTML fields are escaped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "parse/feedparse-internal.h"

static const char *
jstr(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
set_str(char **field, const char *s, enum feedtext_kind kind)
{
    if (!s)
        return 0;
    return fp_set_text(field, s, strlen(s), kind);
}

/* The first author's name (1.1 "authors", else 1.0 "author"); NULL when none. */
static const char *
author_name(const json_t *obj)
{
    const json_t *authors = json_object_get(obj, "authors");
    const json_t *a = json_is_array(authors) ? json_array_get(authors, 0) : NULL;
    const char *name;

    if (!a)
        a = json_object_get(obj, "author");
    if (!json_is_object(a))
        return NULL;
    name = jstr(a, "name");
    return name && *name ? name : jstr(a, "url");
}

static int
item_url(struct feedparse *p, const char *s, char **field)
{
    if (!s || *field)
        return 0;
    return fp_url(p, s, strlen(s), field);
}

static int
item_attachments(struct feedparse *p, const json_t *item)
{
    const json_t *list = json_object_get(item, "attachments");
    const json_t *a;
    size_t i;
    int r;

    if (!json_is_array(list))
        return 0;
    json_array_foreach(list, i, a)
    {
        const json_t *size = json_object_get(a, "size_in_bytes");
        const json_t *dur = json_object_get(a, "duration_in_seconds");
        char len[32] = "";

        if (!json_is_object(a))
            continue;
        if (json_is_integer(size) && json_integer_value(size) >= 0)
            (void)snprintf(len, sizeof(len), "%lld", (long long)json_integer_value(size));
        r = fp_item_add_enclosure(p, jstr(a, "url"), jstr(a, "mime_type"), len[0] ? len : NULL);
        if (r < 0)
            return r;
        if (json_is_number(dur) && json_number_value(dur) > 0 && json_number_value(dur) < 1e9 &&
            fp_item(p)->duration == 0)
            fp_item(p)->duration = (int64_t)json_number_value(dur);
    }
    return 0;
}

static int
item_parse(struct feedparse *p, const json_t *item)
{
    const json_t *id = json_object_get(item, "id"), *tags = json_object_get(item, "tags"), *t;
    struct feed_item *it;
    char num[32];
    size_t i;
    int r;

    if ((r = fp_item_begin(p, 1)) < 0)
        return r;
    it = fp_item(p);
    if (!it)
        return 0; /* past max_items */
    if (json_is_string(id)) {
        r = set_str(&it->id, json_string_value(id), FEEDTEXT_TOKEN);
    } else if (json_is_integer(id)) {
        (void)snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(id));
        r = set_str(&it->id, num, FEEDTEXT_TOKEN);
    }
    if (r < 0 || (r = item_url(p, jstr(item, "url"), &it->link)) < 0 ||
        (r = item_url(p, jstr(item, "external_url"), &it->link)) < 0 ||
        (r = set_str(&it->title, jstr(item, "title"), FEEDTEXT_HTML_LINE)) < 0 ||
        (r = set_str(&it->content, jstr(item, "content_html"), FEEDTEXT_HTML)) < 0 ||
        (r = set_str(&it->content, jstr(item, "content_text"), FEEDTEXT_TEXT_HTML)) < 0 ||
        (r = set_str(&it->summary, jstr(item, "summary"), FEEDTEXT_TEXT_HTML)) < 0 ||
        (r = set_str(&it->author, author_name(item), FEEDTEXT_LINE)) < 0 ||
        (r = item_url(p, jstr(item, "image"), &it->image)) < 0 ||
        (r = item_url(p, jstr(item, "banner_image"), &it->image)) < 0 ||
        (r = item_attachments(p, item)) < 0)
        return r;
    if (jstr(item, "language")) {
        free(it->language);
        it->language = NULL;
        if ((r = set_str(&it->language, jstr(item, "language"), FEEDTEXT_TOKEN)) < 0)
            return r;
    }
    it->published_at = fp_date(jstr(item, "date_published"));
    it->updated_at = fp_date(jstr(item, "date_modified"));
    if (json_is_array(tags)) {
        json_array_foreach(tags, i, t)
        {
            if (json_is_string(t) && (r = fp_item_add_category(p, json_string_value(t),
                                                               strlen(json_string_value(t)))) < 0)
                return r;
        }
    }
    return fp_item_end(p);
}

/* Parses a whole JSON document as a JSON Feed into the document being built. */
int
fp_jsonfeed_parse(struct feedparse *p, const char *buf, size_t len)
{
    struct feed_doc *doc = fp_doc(p);
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_ALLOW_NUL, &jerr);
    const char *version, *feed_author;
    const json_t *items, *item;
    size_t i;
    int r = 0;

    if (!root) {
        /* jansson counts the position of an unexpected end as the last byte. */
        if (jerr.position >= (int)len - 1 || strstr(jerr.text, "end of file"))
            return fp_fail(p, -EPROTO, "line %d: truncated JSON: %s", jerr.line, jerr.text);
        return fp_fail(p, -EPROTO, "line %d, column %d: malformed JSON: %s", jerr.line, jerr.column,
                       jerr.text);
    }
    version = jstr(root, "version");
    if (!json_is_object(root) || !version ||
        (strncmp(version, "https://jsonfeed.org/version/1", 30) != 0 &&
         strncmp(version, "http://jsonfeed.org/version/1", 29) != 0)) {
        json_decref(root);
        return fp_fail(p, -EPROTO, "not a feed: JSON without a JSON Feed version");
    }
    doc->format = FEED_FORMAT_JSON;
    if ((r = set_str(&doc->title, jstr(root, "title"), FEEDTEXT_HTML_LINE)) < 0 ||
        (r = set_str(&doc->language, jstr(root, "language"), FEEDTEXT_TOKEN)) < 0)
        goto done;
    if (jstr(root, "home_page_url") &&
        (r = fp_url(p, jstr(root, "home_page_url"), strlen(jstr(root, "home_page_url")),
                    &doc->link)) < 0)
        goto done;
    items = json_object_get(root, "items");
    if (!json_is_array(items)) {
        r = fp_fail(p, -EPROTO, "not a feed: JSON Feed without \"items\"");
        goto done;
    }
    json_array_foreach(items, i, item)
    {
        if (!json_is_object(item))
            continue;
        if ((r = item_parse(p, item)) < 0)
            goto done;
    }
    /* Items without an author take the feed's (as in Atom). */
    feed_author = author_name(root);
    for (i = 0; feed_author && i < doc->n_items; i++) {
        if (!doc->items[i].author &&
            (r = set_str(&doc->items[i].author, feed_author, FEEDTEXT_LINE)) < 0)
            goto done;
    }
done:
    json_decref(root);
    return r;
}
