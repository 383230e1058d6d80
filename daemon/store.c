/*
 * store.c — the store's one interface (store.h) in front of its engines (store-internal.h).
 *
 * store_open and store_open_reader pick the engine for the database; every other store_*
 * function calls the operation of the store's engine. What needs no engine lives here: the
 * last error's message, the copy and the release of a struct store_feed, and the item lists
 * that are items queries, and the categories JSON both engines store. No SQL here: it is in
 * the engine files.
 */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

/* Records a message of the engine's own as the store's last error and returns r. */
int
store_set_error(struct store *store, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(store->errmsg, sizeof(store->errmsg), fmt, ap);
    va_end(ap);
    return r;
}

/* The message of the store's last failure. */
const char *
store_errmsg(const struct store *store)
{
    assert(store);
    return store->errmsg;
}

/* Writes c at out[*n] unless out is NULL (measuring), and counts it. */
static void
put(char *out, size_t *n, unsigned char c)
{
    if (out)
        out[*n] = (char)c;
    (*n)++;
}

/*
 * Writes the JSON string for s (quotes included) to out, or only measures it when out is
 * NULL, and returns its length. Control characters, quotes and backslashes are escaped;
 * UTF-8 passes through, and each byte that is not part of a valid UTF-8 sequence becomes
 * U+FFFD, so the result is always valid JSON.
 */
static size_t
json_string(const char *s, char *out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;

    put(out, &n, '"');
    while (*p) {
        unsigned char c = *p;
        size_t len = 0;

        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                put(out, &n, '\\');
                put(out, &n, c);
            } else if (c < 0x20) {
                const char *short_esc = c == '\b'   ? "b"
                                        : c == '\f' ? "f"
                                        : c == '\n' ? "n"
                                        : c == '\r' ? "r"
                                        : c == '\t' ? "t"
                                                    : NULL;

                put(out, &n, '\\');
                if (short_esc) {
                    put(out, &n, (unsigned char)short_esc[0]);
                } else {
                    put(out, &n, 'u');
                    put(out, &n, '0');
                    put(out, &n, '0');
                    put(out, &n, (unsigned char)hex[c >> 4]);
                    put(out, &n, (unsigned char)hex[c & 0xf]);
                }
            } else {
                put(out, &n, c);
            }
            p++;
            continue;
        }
        /* RFC 3629 section 4: the well-formed multi-byte sequences. */
        if (c >= 0xc2 && c <= 0xdf && (p[1] & 0xc0) == 0x80)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
                 !(c == 0xe0 && p[1] < 0xa0) && !(c == 0xed && p[1] > 0x9f))
            len = 3;
        else if (c >= 0xf0 && c <= 0xf4 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
                 (p[3] & 0xc0) == 0x80 && !(c == 0xf0 && p[1] < 0x90) &&
                 !(c == 0xf4 && p[1] > 0x8f))
            len = 4;
        if (len == 0) {
            /* U+FFFD REPLACEMENT CHARACTER */
            put(out, &n, 0xef);
            put(out, &n, 0xbf);
            put(out, &n, 0xbd);
            p++;
            continue;
        }
        for (size_t i = 0; i < len; i++)
            put(out, &n, p[i]);
        p += len;
    }
    put(out, &n, '"');
    return n;
}

/*
 * Builds the JSON array text of an item's categories into *ret_json (malloc'd), or NULL when
 * it has none. From the first category that would take the array past STORE_CATEGORIES_MAX on,
 * the rest are left out (parsers cap their input; this only bounds a hostile worst case).
 */
int
store_categories_json(char *const *categories, size_t n_categories, char **ret_json)
{
    size_t len = 1, used = 0, keep = 0;
    char *json;

    for (size_t i = 0; i < n_categories; i++) {
        size_t add;

        if (!categories[i])
            continue;
        /* Each escaped byte takes at most 6 bytes, so measure only what could fit. */
        if (strnlen(categories[i], STORE_CATEGORIES_MAX) >= STORE_CATEGORIES_MAX)
            break;
        add = json_string(categories[i], NULL) + (used > 0);
        if (add > STORE_CATEGORIES_MAX - 1 - len)
            break;
        len += add;
        used++;
        keep = i + 1;
    }
    if (used == 0) {
        *ret_json = NULL;
        return 0;
    }
    json = malloc(len + 2);
    if (!json)
        return -ENOMEM;
    len = 0;
    json[len++] = '[';
    for (size_t i = 0; i < keep; i++) {
        if (!categories[i])
            continue;
        if (len > 1)
            json[len++] = ',';
        len += json_string(categories[i], json + len);
    }
    json[len++] = ']';
    json[len] = '\0';
    *ret_json = json;
    return 0;
}

/* The engines of this build; the first one of a database's kind opens it. */
static const struct store_engine *const store_engines[] = {
    &store_sqlite_engine,
    &store_pg_engine,
};

#define STORE_N_ENGINES (sizeof(store_engines) / sizeof(store_engines[0]))

/* The engine that opens database; NULL, with why in *reterr_msg when not NULL, when none. */
static const struct store_engine *
store_engine_for(const char *database, char **reterr_msg)
{
    enum dbspec_kind kind = dbspec_kind(database);
    char names[128] = "";
    size_t len = 0;

    for (size_t i = 0; i < STORE_N_ENGINES; i++) {
        if (store_engines[i]->kind == kind)
            return store_engines[i];
        int n = snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "",
                         store_engines[i]->name);
        if (n > 0)
            len = (size_t)n < sizeof(names) - len ? len + (size_t)n : sizeof(names) - 1;
    }
    /* Both engines are always built: only a build that leaves one out gets here. */
    if (reterr_msg) {
        char *shown = dbspec_redact(database);
        if (asprintf(reterr_msg,
                     "database: '%s' needs the %s engine, which this feedwatch does not have"
                     " (its engines: %s)",
                     shown ? shown : "\xe2\x80\xa6",
                     kind == DBSPEC_POSTGRES ? "PostgreSQL" : "SQLite", names) < 0)
            *reterr_msg = NULL;
        free(shown);
    }
    return NULL;
}

/* Whether this build has an engine for database (store.h). */
int
store_supports(const char *database, char **reterr_msg)
{
    assert(database);
    const struct store_engine *engine = store_engine_for(database, reterr_msg);
    if (!engine)
        return -EPROTONOSUPPORT;
    return engine->check_value ? engine->check_value(database, reterr_msg) : 0;
}

/* Opens database through the engine that takes it: its open, or its open_reader when reader. */
static int
open_with_engine(const char *database, bool reader, struct store **ret_store, char **reterr_msg)
{
    const struct store_engine *engine;

    assert(database);
    assert(ret_store);
    engine = store_engine_for(database, reterr_msg);
    if (!engine)
        return -EPROTONOSUPPORT;
    return (reader ? engine->open_reader : engine->open)(database, ret_store, reterr_msg);
}

/* Opens (creating if needed) the database, through the engine that takes it. */
int
store_open(const char *database, struct store **ret_store, char **reterr_msg)
{
    return open_with_engine(database, false, ret_store, reterr_msg);
}

/* Opens a read-only connection to the database, through the engine that takes it. */
int
store_open_reader(const char *database, struct store **ret_store, char **reterr_msg)
{
    return open_with_engine(database, true, ret_store, reterr_msg);
}

/* Frees the strings of a struct store_feed and zeroes it; accepts a zeroed struct. */
void
store_feed_done(struct store_feed *feed)
{
    if (!feed)
        return;
    free(feed->name);
    free(feed->configured_url);
    free(feed->url);
    free(feed->base_url);
    free(feed->etag);
    free(feed->last_modified);
    free(feed->last_error);
    free(feed->disabled_reason);
    free(feed->runtime_url);
    free(feed->runtime_opts);
    free(feed->move_url);
    free(feed->life);
    *feed = (struct store_feed){0};
}

/* Copies s into *ret, NULL staying NULL; false when out of memory. */
static bool
dup_or_null(const char *s, char **ret)
{
    *ret = s ? strdup(s) : NULL;
    return !s || *ret;
}

/* Copies src into *dst (deep); -ENOMEM on failure. */
int
store_feed_copy(struct store_feed *dst, const struct store_feed *src)
{
    struct store_feed copy = *src;

    assert(dst);
    assert(src);
    copy.name = copy.configured_url = copy.url = copy.etag = NULL;
    copy.last_modified = copy.last_error = copy.disabled_reason = copy.runtime_url = NULL;
    copy.runtime_opts = copy.base_url = copy.move_url = copy.life = NULL;
    if (!dup_or_null(src->name, &copy.name) || !dup_or_null(src->base_url, &copy.base_url) ||
        !dup_or_null(src->configured_url, &copy.configured_url) ||
        !dup_or_null(src->url, &copy.url) || !dup_or_null(src->etag, &copy.etag) ||
        !dup_or_null(src->last_modified, &copy.last_modified) ||
        !dup_or_null(src->last_error, &copy.last_error) ||
        !dup_or_null(src->disabled_reason, &copy.disabled_reason) ||
        !dup_or_null(src->runtime_url, &copy.runtime_url) ||
        !dup_or_null(src->runtime_opts, &copy.runtime_opts) ||
        !dup_or_null(src->move_url, &copy.move_url) || !dup_or_null(src->life, &copy.life)) {
        store_feed_done(&copy);
        return -ENOMEM;
    }
    *dst = copy;
    return 0;
}

/* Calls cb for the newest items first, of one feed when feed_name is set, at most limit. */
int
store_items_list(struct store *store, const char *feed_name, unsigned limit, bool with_text,
                 store_item_cb cb, void *userdata)
{
    struct store_items_filter f = {.feed = feed_name, .since_at = FEED_TIME_NONE};
    return store_items_query(store, &f, limit, with_text, cb, userdata);
}

/* As store_items_list, of the feeds named in feeds_json (a JSON array of names). */
int
store_items_list_feeds(struct store *store, const char *feeds_json, unsigned limit, bool with_text,
                       store_item_cb cb, void *userdata)
{
    assert(feeds_json);
    struct store_items_filter f = {.feeds_json = feeds_json, .since_at = FEED_TIME_NONE};
    return store_items_query(store, &f, limit, with_text, cb, userdata);
}

/*
 * The operations: each calls the one of the store's engine (store.h says what it does).
 */

int
store_check(struct store *store, char **reterr_msg)
{
    assert(store);
    return store->engine->check(store, reterr_msg);
}

void
store_free(struct store *store)
{
    if (store)
        store->engine->free(store);
}

int
store_set_statement_timeout(struct store *store, unsigned ms)
{
    assert(store);
    return store->engine->set_statement_timeout ? store->engine->set_statement_timeout(store, ms)
                                                : 0;
}

int
store_begin(struct store *store)
{
    assert(store);
    return store->engine->begin(store);
}

int
store_begin_read(struct store *store)
{
    assert(store);
    return store->engine->begin_read(store);
}

int
store_commit(struct store *store)
{
    assert(store);
    return store->engine->commit(store);
}

void
store_rollback(struct store *store)
{
    assert(store);
    store->engine->rollback(store);
}

int
store_part_begin(struct store *store)
{
    assert(store);
    return store->engine->part_begin(store);
}

int
store_part_end(struct store *store)
{
    assert(store);
    return store->engine->part_end(store);
}

void
store_part_rollback(struct store *store)
{
    assert(store);
    store->engine->part_rollback(store);
}

int
store_feed_ensure(struct store *store, const char *name, const char *configured_url,
                  struct store_feed *ret_feed)
{
    assert(store);
    return store->engine->feed_ensure(store, name, configured_url, ret_feed);
}

int
store_feed_save(struct store *store, const struct store_feed *feed)
{
    assert(store);
    return store->engine->feed_save(store, feed);
}

int
store_feed_set_runtime(struct store *store, int64_t id, const char *runtime_url, bool removed)
{
    assert(store);
    return store->engine->feed_set_runtime(store, id, runtime_url, removed);
}

int
store_feed_set_runtime_opts(struct store *store, int64_t id, const char *runtime_opts)
{
    assert(store);
    return store->engine->feed_set_runtime_opts(store, id, runtime_opts);
}

int
store_item_add(struct store *store, int64_t feed_id, const struct feed_item *item, const char *text,
               uint64_t simhash, int64_t now_at, int64_t *ret_id)
{
    assert(store);
    return store->engine->item_add(store, feed_id, item, text, simhash, now_at, ret_id);
}

int
store_items_add(struct store *store, int64_t feed_id, const struct store_new_item *items, size_t n,
                int64_t now_at, int64_t *ret_ids)
{
    assert(store);
    assert(items || n == 0);
    assert(ret_ids || n == 0);
    if (store->engine->items_add)
        return store->engine->items_add(store, feed_id, items, n, now_at, ret_ids);
    int stored = 0;
    for (size_t i = 0; i < n; i++) {
        ret_ids[i] = 0;
        int r = store->engine->item_add(store, feed_id, items[i].item, items[i].text,
                                        items[i].simhash, now_at, &ret_ids[i]);
        if (r < 0)
            return r;
        stored += r;
    }
    return stored;
}

int
store_item_known(struct store *store, int64_t feed_id, const char *key)
{
    assert(store);
    return store->engine->item_known(store, feed_id, key);
}

int
store_items_known(struct store *store, int64_t feed_id, const char *const *keys, size_t n,
                  bool *ret_known)
{
    assert(store);
    assert(keys || n == 0);
    assert(ret_known || n == 0);
    if (store->engine->items_known)
        return store->engine->items_known(store, feed_id, keys, n, ret_known);
    for (size_t i = 0; i < n; i++) {
        int r = store->engine->item_known(store, feed_id, keys[i]);
        if (r < 0)
            return r;
        ret_known[i] = r == 1;
    }
    return 0;
}

void
store_item_ref_done(struct store_item_ref *ref)
{
    free(ref->key);
    free(ref->title);
    *ref = (struct store_item_ref){.published_at = FEED_TIME_NONE};
}

int
store_items_by_url(struct store *store, int64_t feed_id, const char *const *urls, size_t n,
                   struct store_item_ref *ret)
{
    assert(store);
    assert((urls && ret) || n == 0);
    for (size_t i = 0; i < n; i++)
        ret[i] = (struct store_item_ref){.published_at = FEED_TIME_NONE};
    int r = store->engine->items_by_url(store, feed_id, urls, n, ret);
    if (r < 0)
        for (size_t i = 0; i < n; i++)
            store_item_ref_done(&ret[i]);
    return r;
}

int
store_item_rekey(struct store *store, int64_t feed_id, int64_t item_id, const char *key,
                 const char *guid)
{
    assert(store && key);
    return store->engine->item_rekey(store, feed_id, item_id, key, guid);
}

int
store_feed_model_get(struct store *store, int64_t feed_id, char **ret_data, size_t *ret_len)
{
    assert(store);
    return store->engine->feed_model_get(store, feed_id, ret_data, ret_len);
}

int
store_feed_model_set(struct store *store, int64_t feed_id, const char *data, size_t len)
{
    assert(store);
    return store->engine->feed_model_set(store, feed_id, data, len);
}

int
store_feed_list(struct store *store, store_feed_cb cb, void *userdata)
{
    assert(store);
    return store->engine->feed_list(store, cb, userdata);
}

int
store_items_query(struct store *store, const struct store_items_filter *f, unsigned limit,
                  bool with_text, store_item_cb cb, void *userdata)
{
    assert(store);
    return store->engine->items_query(store, f, limit, with_text, cb, userdata);
}

int
store_item_get(struct store *store, int64_t item_id, store_item_full_cb cb, void *userdata)
{
    assert(store);
    return store->engine->item_get(store, item_id, cb, userdata);
}

int
store_item_alerts(struct store *store, int64_t item_id, store_item_alert_cb cb, void *userdata)
{
    assert(store);
    return store->engine->item_alerts(store, item_id, cb, userdata);
}

int
store_feed_urls(struct store *store, const char *name, char *ret_urls[STORE_FEED_URLS])
{
    assert(store);
    return store->engine->feed_urls(store, name, ret_urls);
}

int
store_feed_counts(struct store *store, const char *name, struct store_feed_counts *ret)
{
    assert(store);
    return store->engine->feed_counts(store, name, ret);
}

int
store_count_items(struct store *store, int64_t *ret_count)
{
    assert(store);
    return store->engine->count_items(store, ret_count);
}

int
store_disk_bytes(struct store *store, uint64_t *ret_bytes)
{
    assert(store);
    return store->engine->disk_bytes(store, ret_bytes);
}

int
store_alert_add(struct store *store, const char *topic, int64_t item_id, const char *matched_json,
                char *const *hooks, size_t n_hooks, int64_t raised_at, int64_t *ret_id)
{
    assert(store);
    return store->engine->alert_add(store, topic, item_id, matched_json, hooks, n_hooks, raised_at,
                                    ret_id);
}

int
store_story_candidates(struct store *store, const char *topic, int64_t since_at, uint64_t simhash,
                       int64_t feed_id, store_story_cb cb, void *userdata, uint64_t *steps)
{
    assert(store);
    return store->engine->story_candidates(store, topic, since_at, simhash, feed_id, cb, userdata,
                                           steps);
}

int
store_story_lock(struct store *store)
{
    assert(store);
    return store->engine->story_lock ? store->engine->story_lock(store) : 0;
}

int
store_alert_set_story(struct store *store, int64_t alert_id, const char *topic, int64_t raised_at,
                      const void *sig, size_t sig_len, const uint32_t *keys, size_t n_keys)
{
    assert(store);
    return store->engine->alert_set_story(store, alert_id, topic, raised_at, sig, sig_len, keys,
                                          n_keys);
}

int
store_story_key_candidates(struct store *store, const char *topic, int64_t since_at, uint32_t key,
                           unsigned limit, store_story_key_cb cb, void *userdata, uint64_t *steps)
{
    assert(store);
    return store->engine->story_key_candidates(store, topic, since_at, key, limit, cb, userdata,
                                               steps);
}

int
store_alert_story_sig(struct store *store, int64_t alert_id, void *buf, size_t size,
                      size_t *ret_len, int64_t *ret_raised_at, uint64_t *steps)
{
    assert(store);
    return store->engine->alert_story_sig(store, alert_id, buf, size, ret_len, ret_raised_at,
                                          steps);
}

int
store_alert_add_source(struct store *store, int64_t alert_id, int64_t item_id)
{
    assert(store);
    return store->engine->alert_add_source(store, alert_id, item_id);
}

int
store_deliveries_due(struct store *store, int64_t now_at, unsigned limit, store_delivery_cb cb,
                     void *userdata)
{
    assert(store);
    return store->engine->deliveries_due(store, now_at, limit, cb, userdata);
}

int
store_delivery_next_due(struct store *store, int64_t *ret_at)
{
    assert(store);
    return store->engine->delivery_next_due(store, ret_at);
}

int
store_delivery_set(struct store *store, int64_t alert_id, const char *hook, const char *state,
                   unsigned attempts, int64_t next_attempt_at, const char *last_error,
                   int64_t ended_at)
{
    assert(store);
    return store->engine->delivery_set(store, alert_id, hook, state, attempts, next_attempt_at,
                                       last_error, ended_at);
}

int
store_deliveries_reset_running(struct store *store)
{
    assert(store);
    return store->engine->deliveries_reset_running(store);
}

int
store_delivery_requeue(struct store *store, int64_t alert_id, const char *hook, int64_t now_at)
{
    assert(store);
    return store->engine->delivery_requeue(store, alert_id, hook, now_at);
}

int
store_deliveries_requeue_failed(struct store *store, const char *hook, const char *hooks_json,
                                int64_t now_at, int64_t after_alert, const char *after_hook,
                                unsigned limit, store_requeued_cb cb, void *userdata)
{
    assert(store);
    return store->engine->deliveries_requeue_failed(store, hook, hooks_json, now_at, after_alert,
                                                    after_hook, limit, cb, userdata);
}

int
store_alert_deliveries(struct store *store, int64_t alert_id, store_delivery_row_cb cb,
                       void *userdata)
{
    assert(store);
    return store->engine->alert_deliveries(store, alert_id, cb, userdata);
}

int
store_alert_get(struct store *store, int64_t alert_id, store_alert_cb cb, void *userdata)
{
    assert(store);
    return store->engine->alert_get(store, alert_id, cb, userdata);
}

int
store_alert_sources(struct store *store, int64_t alert_id, unsigned limit, int64_t also_item,
                    int64_t *ret_total, store_source_cb cb, void *userdata)
{
    assert(store);
    int64_t total = 0;
    int r = store->engine->alert_sources(store, alert_id, limit, also_item, &total, cb, userdata);
    if (ret_total)
        *ret_total = r < 0 ? 0 : total;
    return r;
}

int
store_alerts_list(struct store *store, const char *topic, bool failed_only, unsigned limit,
                  store_alert_cb cb, void *userdata)
{
    assert(store);
    return store->engine->alerts_list(store, topic, failed_only, limit, cb, userdata);
}

int
store_alert_topic_counts(struct store *store, store_topic_count_cb cb, void *userdata)
{
    assert(store);
    return store->engine->alert_topic_counts(store, cb, userdata);
}

int
store_alert_counts(struct store *store, int64_t *ret_delivered, int64_t *ret_pending,
                   int64_t *ret_failed, int64_t *ret_no_hook)
{
    assert(store);
    return store->engine->alert_counts(store, ret_delivered, ret_pending, ret_failed, ret_no_hook);
}

int
store_item_events_failed(struct store *store, int64_t *ret_count)
{
    assert(store && ret_count);
    return store->engine->item_events_failed(store, ret_count);
}

int
store_prune_batch(struct store *store, int64_t cutoff_at, int64_t max_id, unsigned limit,
                  size_t max_bytes, int64_t now_at, store_prune_cb cb, void *userdata,
                  unsigned *ret_pruned)
{
    assert(store);
    return store->engine->prune_batch(store, cutoff_at, max_id, limit, max_bytes, now_at, cb,
                                      userdata, ret_pruned);
}

int
store_retention_get(struct store *store, int64_t *ret_pruned_items, int64_t *ret_last_at)
{
    assert(store);
    return store->engine->retention_get(store, ret_pruned_items, ret_last_at);
}

/* Whether the store's engine has clusters (its cluster operations are set). */
bool
store_clustered(const struct store *store)
{
    assert(store);
    return store->engine->feeds_claim != NULL;
}

/* An engine without clusters: the operation is not supported. */
static int
no_cluster(struct store *store)
{
    return store_set_error(store, -EOPNOTSUPP, "the %s store has no clusters", store->engine->name);
}

int
store_node_join(struct store *store, const struct store_node_self *self, int64_t prune_s,
                store_node_cb may_join, void *userdata, int64_t *ret_now)
{
    assert(store);
    assert(self && self->name && self->instance);
    if (!store->engine->node_join)
        return no_cluster(store);
    return store->engine->node_join(store, self, prune_s, may_join, userdata, ret_now);
}

int
store_node_beat(struct store *store, const struct store_node_self *self,
                const struct store_node_hand *hand, int64_t *ret_now)
{
    assert(store);
    assert(self && self->name && self->instance);
    if (!store->engine->node_beat)
        return no_cluster(store);
    return store->engine->node_beat(store, self, hand, ret_now);
}

int
store_node_leave(struct store *store, const struct store_node_self *self)
{
    assert(store);
    assert(self && self->name && self->instance);
    if (!store->engine->node_leave)
        return no_cluster(store);
    return store->engine->node_leave(store, self);
}

int
store_nodes_prune(struct store *store, int64_t prune_s)
{
    assert(store);
    if (!store->engine->nodes_prune)
        return no_cluster(store);
    return store->engine->nodes_prune(store, prune_s);
}

int
store_feeds_skip(struct store *store, const char *node, bool clear, const int64_t *ids, size_t n)
{
    assert(store);
    assert(node);
    if (!store->engine->feeds_skip)
        return no_cluster(store);
    return store->engine->feeds_skip(store, node, clear, ids, n);
}

int
store_feeds_changed(struct store *store, struct store_changes_pos *pos, unsigned limit,
                    store_feed_cb cb, void *userdata)
{
    assert(store);
    assert(pos && cb);
    if (!store->engine->feeds_changed)
        return no_cluster(store);
    return store->engine->feeds_changed(store, pos, limit, cb, userdata);
}

int
store_feed_set_state(struct store *store, int64_t id, bool paused, unsigned failures,
                     const char *disabled_reason)
{
    assert(store);
    if (!store->engine->feed_set_state)
        return no_cluster(store);
    return store->engine->feed_set_state(store, id, paused, failures, disabled_reason);
}

int
store_nodes_list(struct store *store, store_node_cb cb, void *userdata)
{
    assert(store);
    if (!store->engine->nodes_list)
        return no_cluster(store);
    return store->engine->nodes_list(store, cb, userdata);
}

int
store_feeds_claim(struct store *store, const char *node, int64_t lease_s, unsigned limit,
                  const int64_t *hand, size_t n_hand, int64_t only_id, store_feed_cb cb,
                  void *userdata)
{
    assert(store);
    if (!store->engine->feeds_claim)
        return no_cluster(store);
    return store->engine->feeds_claim(store, node, lease_s, limit, hand, n_hand, only_id, cb,
                                      userdata);
}

int
store_deliveries_claim(struct store *store, const char *node, int64_t now_at, int64_t lease_s,
                       unsigned limit, char *const *hooks, size_t n_hooks, store_delivery_cb cb,
                       void *userdata)
{
    assert(store);
    if (!store->engine->deliveries_claim)
        return no_cluster(store);
    return store->engine->deliveries_claim(store, node, now_at, lease_s, limit, hooks, n_hooks, cb,
                                           userdata);
}

int
store_feed_event_add(struct store *store, int64_t feed_id, const char *event, const char *url,
                     const char *feed_state, const char *reason, char *const *hooks, size_t n_hooks,
                     int64_t raised_at, int64_t *ret_id)
{
    assert(store && event && feed_state);
    return store->engine->feed_event_add(store, feed_id, event, url, feed_state, reason, hooks,
                                         n_hooks, raised_at, ret_id);
}

int
store_story_source_add(struct store *store, int64_t feed_id, int64_t alert_id, int64_t item_id,
                       char *const *hooks, size_t n_hooks, int64_t raised_at, int64_t *ret_id)
{
    assert(store);
    return store->engine->story_source_add(store, feed_id, alert_id, item_id, hooks, n_hooks,
                                           raised_at, ret_id);
}

int
store_event_deliveries_due(struct store *store, int64_t now_at, unsigned limit,
                           store_delivery_cb cb, void *userdata)
{
    assert(store);
    return store->engine->event_deliveries_due(store, now_at, limit, cb, userdata);
}

int
store_event_delivery_next_due(struct store *store, int64_t *ret_at)
{
    assert(store);
    return store->engine->event_delivery_next_due(store, ret_at);
}

int
store_event_delivery_set(struct store *store, int64_t event_id, const char *hook, const char *state,
                         unsigned attempts, int64_t next_attempt_at, const char *last_error,
                         int64_t ended_at)
{
    assert(store);
    return store->engine->event_delivery_set(store, event_id, hook, state, attempts,
                                             next_attempt_at, last_error, ended_at);
}

int
store_event_deliveries_claim(struct store *store, const char *node, int64_t now_at, int64_t lease_s,
                             unsigned limit, char *const *hooks, size_t n_hooks,
                             store_delivery_cb cb, void *userdata)
{
    assert(store);
    if (!store->engine->event_deliveries_claim)
        return no_cluster(store);
    return store->engine->event_deliveries_claim(store, node, now_at, lease_s, limit, hooks,
                                                 n_hooks, cb, userdata);
}

int
store_feed_event_get(struct store *store, int64_t id, store_feed_event_cb cb, void *userdata)
{
    assert(store);
    return store->engine->feed_event_get(store, id, cb, userdata);
}

int
store_feed_events_list(struct store *store, bool failed_only, unsigned limit,
                       store_feed_event_cb cb, void *userdata)
{
    assert(store);
    return store->engine->feed_events_list(store, failed_only, limit, cb, userdata);
}

int
store_event_deliveries(struct store *store, int64_t event_id, store_delivery_row_cb cb,
                       void *userdata)
{
    assert(store);
    return store->engine->event_deliveries(store, event_id, cb, userdata);
}

int
store_items_seen(struct store *store, int64_t feed_id, const char *const *keys, size_t n,
                 struct store_item_seen *ret)
{
    assert(store);
    assert(keys || n == 0);
    assert(ret || n == 0);
    return store->engine->items_seen(store, feed_id, keys, n, ret);
}

int
store_item_fields_get(struct store *store, int64_t item_id, struct store_item_fields *ret)
{
    assert(store && ret);
    memset(ret, 0, sizeof(*ret));
    int r = store->engine->item_fields_get(store, item_id, ret);
    if (r < 0)
        store_item_fields_done(ret);
    return r;
}

void
store_item_fields_done(struct store_item_fields *f)
{
    free(f->title);
    free(f->summary);
    free(f->content);
    free(f->body);
    memset(f, 0, sizeof(*f));
}

int
store_item_fingerprint_set(struct store *store, int64_t item_id, uint64_t fingerprint)
{
    assert(store);
    return store->engine->item_fingerprint_set(store, item_id, fingerprint);
}

int
store_item_edit(struct store *store, int64_t item_id, const struct store_item_edit *e,
                int64_t now_at, int64_t *ret_version_id)
{
    assert(store && e && e->item && e->changes);
    return store->engine->item_edit(store, item_id, e, now_at, ret_version_id);
}

int
store_item_versions(struct store *store, int64_t item_id, store_item_version_cb cb, void *userdata)
{
    assert(store && cb);
    return store->engine->item_versions(store, item_id, cb, userdata);
}

int
store_alert_find(struct store *store, const char *topic, int64_t item_id, int64_t *ret_id)
{
    assert(store && topic && ret_id);
    return store->engine->alert_find(store, topic, item_id, ret_id);
}

int
store_item_update_add(struct store *store, int64_t feed_id, int64_t alert_id, int64_t version_id,
                      char *const *hooks, size_t n_hooks, int64_t raised_at, int64_t *ret_id)
{
    assert(store);
    return store->engine->item_update_add(store, feed_id, alert_id, version_id, hooks, n_hooks,
                                          raised_at, ret_id);
}

int
store_alert_item_events(struct store *store, int64_t alert_id, store_feed_event_cb cb,
                        void *userdata)
{
    assert(store && cb);
    return store->engine->alert_item_events(store, alert_id, cb, userdata);
}

int
store_batch_take(struct store *store, const char *hook, int64_t window_s, int64_t now_at,
                 unsigned limit, const char *node, int64_t lease_s, store_batch_cb cb,
                 void *userdata, int64_t *ret_open_at)
{
    int64_t open_at = 0;
    assert(store);
    assert(hook);
    assert(cb);
    int r = store->engine->batch_take(store, hook, window_s, now_at, limit, node, lease_s, cb,
                                      userdata, &open_at);
    if (ret_open_at)
        *ret_open_at = r >= 0 ? open_at : 0;
    return r;
}

int
store_batch_window(struct store *store, const char *hook, bool set, int64_t at, int64_t *ret_at)
{
    int64_t got = FEED_TIME_NONE;
    assert(store);
    assert(hook);
    int r = store->engine->batch_window(store, hook, set, at, &got);
    if (ret_at)
        *ret_at = got;
    return r;
}

int
store_batch_rewindow(struct store *store, const char *hook, int64_t old_window_s,
                     int64_t new_window_s, int64_t now_at)
{
    assert(store);
    assert(hook);
    return store->engine->batch_rewindow(store, hook, old_window_s, new_window_s, now_at);
}

int
store_event_deliveries_requeue_failed(struct store *store, const char *hook, const char *hooks_json,
                                      int64_t now_at, int64_t after_event, const char *after_hook,
                                      unsigned limit, store_requeued_cb cb, void *userdata)
{
    assert(store);
    return store->engine->event_deliveries_requeue_failed(
        store, hook, hooks_json, now_at, after_event, after_hook, limit, cb, userdata);
}

int
store_feed_events_prune(struct store *store, int64_t cutoff_at, unsigned limit,
                        unsigned *ret_pruned)
{
    unsigned n = 0;
    assert(store);
    int r = store->engine->feed_events_prune(store, cutoff_at, limit, &n);
    if (ret_pruned)
        *ret_pruned = r < 0 ? 0 : n;
    return r;
}
