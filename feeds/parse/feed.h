/*
 * feed.h — the model every stage shares: one parsed feed document and its items.
 *
 * A struct feed_doc owns everything it points to; feed_doc_free() releases it all.
 * Strings are NUL-terminated UTF-8 (never containing NUL), or NULL when absent.
 * Instants are Unix seconds (int64_t, *_at); FEED_TIME_NONE marks "absent or unreadable".
 * Pure data: no I/O, callable from any thread.
 */
#ifndef FEEDWATCH_FEED_H
#define FEEDWATCH_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FEED_TIME_NONE INT64_MIN

enum feed_format {
    FEED_FORMAT_UNKNOWN = 0,
    FEED_FORMAT_RSS,  /* RSS 0.91-0.94 / 2.0 (<rss>) */
    FEED_FORMAT_RDF,  /* RSS 0.90 / 1.0 (<rdf:RDF>) */
    FEED_FORMAT_ATOM, /* Atom 1.0 and 0.3, feed or entry document */
    FEED_FORMAT_JSON, /* JSON Feed 1.0 / 1.1 */
};

struct feed_enclosure {
    char *url;
    char *type;
    int64_t length; /* bytes, -1 when unknown */
};

struct feed_item {
    char *key;   /* id, else link, else "hash:" + 16 hex digits; never NULL */
    char *id;    /* guid / atom:id as published */
    char *title; /* plain text */
    char *link;  /* absolute when it could be resolved */
    char *author;
    char *summary;  /* HTML kept for the content stage */
    char *content;  /* HTML kept for the content stage */
    char *language; /* xml:lang or the feed's language */
    int64_t published_at;
    int64_t updated_at;
    char **categories;
    size_t n_categories;
    struct feed_enclosure *enclosures;
    size_t n_enclosures;
    /* Added for issue 3 (kept at the end: older initialisers stay valid). */
    char *image;      /* thumbnail or illustration URL (media:thumbnail, itunes:image ...) */
    int64_t duration; /* seconds of the item's audio or video (itunes:duration ...); 0 unknown */
};

struct feed_doc {
    enum feed_format format;
    char *title;
    char *link;
    char *language;
    int64_t updated_at;
    bool recovered; /* the document was malformed and recovered */
    struct feed_item *items;
    size_t n_items;
    /* Added for issue 3 (kept at the end: older initialisers stay valid). */
    int64_t refresh_s; /* the feed's own minimum refresh in seconds (<ttl>, sy:updatePeriod /
                          sy:updateFrequency), 0 when none */
};

/* Releases a document and everything it owns; accepts NULL. */
void feed_doc_free(struct feed_doc *doc);

/* Cleans an item embedded elsewhere (frees its members, not the struct). */
void feed_item_done(struct feed_item *item);

/*
 * Bytes an item holds: its struct and what feed_item_done frees (strings with their NULs,
 * the category and enclosure arrays). The allocator's own overhead is not counted.
 */
size_t feed_item_bytes(const struct feed_item *item);

/* Bytes a document holds: its struct, its strings and its items (feed_item_bytes); 0 for NULL. */
size_t feed_doc_bytes(const struct feed_doc *doc);

/* Name of a format for messages and JSON ("rss", "rdf", "atom", "json", "unknown"). */
const char *feed_format_name(enum feed_format format);

#endif
