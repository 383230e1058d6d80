/*
 * store.h — the SQLite store: feeds' poll state and items, in WAL mode.
 *
 * One struct store is one connection, used by one thread at a time. The daemon writes through
 * one connection only, its writer's (writer.h: one thread, one queue, in order); the loop
 * thread and the control socket's queries read through connections of their own
 * (store_open_reader; in WAL mode they read while the writer writes, and see a write once
 * its commit is done). The schema is versioned (PRAGMA user_version) and migrated forward at
 * open, each migration in its own transaction. Every statement is prepared once with bound
 * parameters. An item is stored once per (feed, key): store_item_add() on a known key is a
 * no-op that returns 0. Everything written for one poll goes between store_begin() and
 * store_commit(); on any error the caller calls store_rollback() and nothing of it remains.
 *
 * Returns: 0 (or a count) on success, negative errno on failure; the SQLite message of the
 * last failure is in store_errmsg(). Instants are Unix seconds, FEED_TIME_NONE when absent.
 */
#ifndef FEEDWATCH_STORE_H
#define FEEDWATCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/feed.h"

#define STORE_SCHEMA_VERSION 9

struct store;

/* A feed's persisted state (one row of `feeds`). Strings owned; see store_feed_done(). */
struct store_feed {
    int64_t id;
    char *name;
    char *configured_url;
    char *url; /* in use, after permanent redirects; NULL = configured_url */
    char *etag;
    char *last_modified;
    int last_status;   /* HTTP status of the last poll, 0 when none (or a non-HTTP error) */
    char *last_error;  /* NULL after a good poll */
    unsigned failures; /* consecutive */
    int64_t last_poll_at;
    int64_t next_poll_at;
    bool recovered; /* the last document needed XML recovery */
    bool paused;
    char *disabled_reason; /* NULL unless disabled */
    char *runtime_url;     /* the URL given to `feedwatch add`; NULL for a config feed */
    char *runtime_opts;    /* JSON of `feedwatch add`'s options; NULL: none (read only) */
    bool removed;          /* removed at run time (`feedwatch remove`) */
    double item_rate;      /* new items per hour, decaying average; < 0: no evidence yet */
    int64_t items;         /* number of stored items; filled by loads and lists, ignored by save */
};

/* One stored item as the CLI lists it. Borrowed by the callback for the call only. */
struct store_item_row {
    int64_t id;
    const char *feed;
    const char *key;
    const char *title;
    const char *url;
    int64_t published_at;
    int64_t updated_at;
    const char *author;
    const char *language;
    const char *summary;
    const char *text; /* NULL unless asked for (and known) */
    int64_t first_seen_at;
};

/* One alert as listed, or (store_alert_get) with everything a hook needs. Borrowed. */
struct store_alert_row {
    int64_t id;
    const char *topic;
    int64_t item_id;
    const char *feed;
    const char *title;
    const char *url;
    const char *state; /* pending, running, delivered, failed, no-hook */
    int attempts;
    int64_t raised_at;
    /* store_alert_get only (NULL / FEED_TIME_NONE in lists): */
    int64_t published_at;
    const char *author;
    const char *language;
    const char *text;    /* the cleaned text, else the summary or content */
    const char *matched; /* JSON array [{"term","field","snippet"}] */
};

/* One delivery of an alert (one hook's), as listed. Borrowed. */
struct store_delivery_row {
    const char *hook;
    const char *state; /* pending, running, delivered, failed */
    unsigned attempts;
    int64_t next_attempt_at; /* pending: not before this; FEED_TIME_NONE otherwise */
    const char *last_error;  /* why the last attempt failed; NULL when it did not */
    int64_t last_attempt_at; /* when the last attempt ended; FEED_TIME_NONE: none yet */
};

typedef int (*store_feed_cb)(void *userdata, const struct store_feed *feed);
typedef int (*store_item_cb)(void *userdata, const struct store_item_row *row);
typedef int (*store_alert_cb)(void *userdata, const struct store_alert_row *row);
/* Returns 0 to go on, 1 to stop (found), <0 on error. */
typedef int (*store_story_cb)(void *userdata, int64_t alert_id, uint64_t simhash, int64_t feed_id);
/* Returns 0 to go on, 1 to stop, <0 on error. */
typedef int (*store_story_key_cb)(void *userdata, int64_t alert_id);
typedef int (*store_delivery_cb)(void *userdata, int64_t alert_id, const char *hook,
                                 unsigned attempts);
typedef int (*store_delivery_row_cb)(void *userdata, const struct store_delivery_row *row);
typedef int (*store_requeued_cb)(void *userdata, int64_t alert_id, const char *hook);
typedef int (*store_prune_cb)(void *userdata, int64_t item_id, const char *title, const char *body);
typedef int (*store_source_cb)(void *userdata, const char *feed, const char *url, const char *title,
                               int64_t item_id);

/* Opens (creating if needed) the database at path, WAL, synchronous=NORMAL, migrated. */
int store_open(const char *path, struct store **ret_store, char **reterr_msg);

/*
 * A read-only connection to an existing database of this schema version, for queries run
 * off the loop thread (one thread at a time): only the functions that read may be used.
 */
int store_open_reader(const char *path, struct store **ret_store, char **reterr_msg);

/*
 * Checks the structure of the whole file (PRAGMA quick_check, after reading the file once
 * in order so that its pages are cached: about 1.5 s for 200 MB on a cold cache). 0, or
 * -EBADMSG (damaged) or another negative errno with *reterr_msg naming the file and what to
 * do (malloc'd).
 */
int store_check(struct store *store, char **reterr_msg);

/* Finalizes every statement and closes the connection; accepts NULL. */
void store_free(struct store *store);

/* The last SQLite error message of this connection. */
const char *store_errmsg(const struct store *store);

int store_begin(struct store *store);
/* A read transaction (one snapshot, the file's locks taken once for many lookups). */
int store_begin_read(struct store *store);
int store_commit(struct store *store);
void store_rollback(struct store *store);

/*
 * Parts of a transaction (savepoints): a batch of polls commits together, and a poll whose
 * writes fail is undone alone (store_part_rollback) while the others go on.
 */
int store_part_begin(struct store *store);
int store_part_end(struct store *store);
void store_part_rollback(struct store *store);

/*
 * Loads the feed called name, creating its row if it is new. When the stored configured_url
 * differs from configured_url, the row takes the new one and forgets the URL in use, the
 * validators (ETag, Last-Modified) and the failure count: it is a different feed source now.
 * *ret_feed is filled (the caller frees it with store_feed_done).
 */
int store_feed_ensure(struct store *store, const char *name, const char *configured_url,
                      struct store_feed *ret_feed);

/* Writes every state column of the feed with feed->id (not name, configured_url or items). */
int store_feed_save(struct store *store, const struct store_feed *feed);

/*
 * Marks the feed with id as added at run time (runtime_url, the URL given to `feedwatch add`)
 * or as a config feed (NULL), and as removed at run time or not. Not part of store_feed_save.
 */
int store_feed_set_runtime(struct store *store, int64_t id, const char *runtime_url, bool removed);

/* Sets the options of a feed added at run time (JSON text, NULL: none). */
int store_feed_set_runtime_opts(struct store *store, int64_t id, const char *runtime_opts);

/* Frees the strings of a struct store_feed and zeroes it; accepts a zeroed struct. */
void store_feed_done(struct store_feed *feed);

/* Copies src into *dst (deep); -ENOMEM on failure. */
int store_feed_copy(struct store_feed *dst, const struct store_feed *src);

/*
 * Stores item under feed_id, with its cleaned text and story signature (NULL / 0 when none),
 * unless (feed_id, item->key) is known: 1 stored (*ret_id set if not NULL), 0 known, <0 error.
 */
int store_item_add(struct store *store, int64_t feed_id, const struct feed_item *item,
                   const char *text, uint64_t simhash, int64_t now_at, int64_t *ret_id);

/* Whether (feed_id, key) is stored: 1 yes, 0 no, <0 error. */
int store_item_known(struct store *store, int64_t feed_id, const char *key);

/*
 * The feed's saved boilerplate model (boilerplate_model_save() bytes): 0 with *ret_data
 * (malloc'ed and NUL-terminated, NULL when none) and *ret_len, or a negative errno.
 */
int store_feed_model_get(struct store *store, int64_t feed_id, char **ret_data, size_t *ret_len);

/* Saves the feed's boilerplate model (len bytes of data; NULL forgets it). */
int store_feed_model_set(struct store *store, int64_t feed_id, const char *data, size_t len);

/* Calls cb for every feed row, ordered by name, with its item count. Stops at cb's error. */
int store_feed_list(struct store *store, store_feed_cb cb, void *userdata);

/*
 * Calls cb for the newest items not pruned first (published, else first seen), of one feed when
 * feed_name is not NULL, at most limit of them; with_text also reads the cleaned text.
 */
int store_items_list(struct store *store, const char *feed_name, unsigned limit, bool with_text,
                     store_item_cb cb, void *userdata);

/* As store_items_list, of the feeds named in feeds_json (a JSON array of feed names). */
int store_items_list_feeds(struct store *store, const char *feeds_json, unsigned limit,
                           bool with_text, store_item_cb cb, void *userdata);

/* What an items query asks for; each member that is set narrows it (NULL, FEED_TIME_NONE: not). */
struct store_items_filter {
    const char *feed;       /* one feed's name */
    const char *feeds_json; /* a JSON array of feed names (items --tag); wins over feed */
    const char *topic;      /* the items that matched this topic: alerts' items and sources */
    int64_t since_at;       /* published (else first seen) at or after this */
};

/* As store_items_list, of the items that pass every member of f that is set. */
int store_items_query(struct store *store, const struct store_items_filter *f, unsigned limit,
                      bool with_text, store_item_cb cb, void *userdata);

/* One item in full (`feedwatch item ID`). Borrowed by the callback for the call only. */
struct store_item_full {
    struct store_item_row row; /* text included when known */
    const char *categories;    /* JSON array of strings; NULL when none */
    int64_t pruned_at;         /* when retention cleared it; FEED_TIME_NONE: not */
};
typedef int (*store_item_full_cb)(void *userdata, const struct store_item_full *item);

/* Calls cb once with item_id, pruned or not; -ENOENT when there is none. */
int store_item_get(struct store *store, int64_t item_id, store_item_full_cb cb, void *userdata);

/*
 * Calls cb for each alert raised on item_id (source false; row->matched set), then for each
 * alert it was attached to as another source (source true; the row is the alert's own item).
 */
typedef int (*store_item_alert_cb)(void *userdata, const struct store_alert_row *row, bool source);
int store_item_alerts(struct store *store, int64_t item_id, store_item_alert_cb cb, void *userdata);

/* One feed's tallies from the store (`feedwatch feeds NAME`). */
struct store_feed_counts {
    int64_t items;            /* stored, pruned ones included */
    int64_t pruned_items;     /* of those, cleared by retention */
    int64_t last_new_item_at; /* when its newest item was first seen; FEED_TIME_NONE: none */
    /* raised on its items */
    int64_t alerts_delivered, alerts_pending, alerts_failed, alerts_no_hook;
};

/* Fills *ret for the feed called name (all zero when the store does not know it). */
int store_feed_counts(struct store *store, const char *name, struct store_feed_counts *ret);

/* Number of stored items, of all feeds. */
int store_count_items(struct store *store, int64_t *ret_count);

/* Bytes on disk of every file of the store (the database, -wal, -shm, ...). */
int store_disk_bytes(struct store *store, uint64_t *ret_bytes);

/*
 * Alerts. An alert is one (topic, item), raised once ever; each has one delivery row per hook
 * of its topic, and its state is the worst of theirs (failed, running, pending, delivered), or
 * no-hook when it has none. Deliveries go pending -> running -> delivered, or back to pending
 * with a later next_attempt_at, or failed after the hook's retries; `redeliver` makes one
 * pending again with its attempts reset (store_delivery_requeue, a delivery to a hook the
 * alert did not have is created; store_deliveries_requeue_failed). A hook added to a topic
 * later gets no delivery of the alerts raised before unless `redeliver` asks.
 */
int store_alert_add(struct store *store, const char *topic, int64_t item_id,
                    const char *matched_json, char *const *hooks, size_t n_hooks, int64_t raised_at,
                    int64_t *ret_id);
int store_story_candidates(struct store *store, const char *topic, int64_t since_at,
                           uint64_t simhash, int64_t feed_id, store_story_cb cb, void *userdata,
                           uint64_t *steps);
/* Cross-language story candidates (feeds/topics/story.h): keys, signatures (store.c). */
int store_alert_set_story(struct store *store, int64_t alert_id, const char *topic,
                          int64_t raised_at, const void *sig, size_t sig_len, const uint32_t *keys,
                          size_t n_keys);
int store_story_key_candidates(struct store *store, const char *topic, int64_t since_at,
                               uint32_t key, unsigned limit, store_story_key_cb cb, void *userdata,
                               uint64_t *steps);
int store_alert_story_sig(struct store *store, int64_t alert_id, void *buf, size_t size,
                          size_t *ret_len, int64_t *ret_raised_at, uint64_t *steps);
int store_alert_add_source(struct store *store, int64_t alert_id, int64_t item_id);
int store_deliveries_due(struct store *store, int64_t now_at, unsigned limit, store_delivery_cb cb,
                         void *userdata);
int store_delivery_next_due(struct store *store, int64_t *ret_at);
int store_delivery_set(struct store *store, int64_t alert_id, const char *hook, const char *state,
                       unsigned attempts, int64_t next_attempt_at, const char *last_error,
                       int64_t ended_at);
int store_deliveries_reset_running(struct store *store);
int store_delivery_requeue(struct store *store, int64_t alert_id, const char *hook, int64_t now_at);
int store_deliveries_requeue_failed(struct store *store, const char *hook, const char *hooks_json,
                                    int64_t now_at, store_requeued_cb cb, void *userdata);
int store_alert_deliveries(struct store *store, int64_t alert_id, store_delivery_row_cb cb,
                           void *userdata);
int store_alert_get(struct store *store, int64_t alert_id, store_alert_cb cb, void *userdata);
int store_alert_sources(struct store *store, int64_t alert_id, store_source_cb cb, void *userdata);
int store_alerts_list(struct store *store, const char *topic, bool failed_only, unsigned limit,
                      store_alert_cb cb, void *userdata);
/* Alerts ever raised per topic (cb once per topic; a negative return stops with it). */
typedef int (*store_topic_count_cb)(void *userdata, const char *topic, int64_t count);
int store_alert_topic_counts(struct store *store, store_topic_count_cb cb, void *userdata);
/* ret_no_hook may be NULL. */
int store_alert_counts(struct store *store, int64_t *ret_delivered, int64_t *ret_pending,
                       int64_t *ret_failed, int64_t *ret_no_hook);

/*
 * Retention: prunes at most limit items first seen before cutoff_at (and with an id of at
 * most max_id: the search index follows the store, see search.h) in one transaction of its
 * own: their text and metadata are cleared, their (feed, key, first seen) row stays so an item
 * a feed still lists is neither stored nor alerted again, and the `matched` snippets of their
 * alerts go too. Items with an alert not yet delivered (pending, running) keep their text.
 * Before clearing, cb (may be NULL) gets each item's title and body (the text the index was
 * given); a batch also stops once max_bytes of them were handed over. 0 with *ret_pruned (0:
 * nothing was due), or a negative errno (nothing of the batch remains).
 */
int store_prune_batch(struct store *store, int64_t cutoff_at, int64_t max_id, unsigned limit,
                      size_t max_bytes, int64_t now_at, store_prune_cb cb, void *userdata,
                      unsigned *ret_pruned);

/* What retention has pruned so far, and when it last did (FEED_TIME_NONE: never). */
int store_retention_get(struct store *store, int64_t *ret_pruned_items, int64_t *ret_last_at);

#endif
