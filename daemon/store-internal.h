/*
 * store-internal.h — what store.c shares with the store's engines (store_sqlite.c, store_pg.c);
 * not for use outside the store.
 *
 * The daemon sees only store.h. Each engine fills a struct store_engine with its own function
 * for every operation of store.h (same arguments, same returns, same contract) and makes
 * struct stores that begin with the struct store below: store.c picks the engine at
 * store_open and store_open_reader, and every other store_* function calls the operation of
 * the store's engine. An engine's SQL, its library's types and its error codes stay in its
 * own file: it turns them into negative errnos and a message set with store_set_error, read
 * back by store_errmsg. To add an engine, write its file and add its table to store.c's list.
 */
#ifndef FEEDWATCH_STORE_INTERNAL_H
#define FEEDWATCH_STORE_INTERNAL_H

#include "base/dbspec.h"
#include "store.h"

/* Room for a copy of the last error message. */
#define STORE_ERRMSG_MAX 512

/* What every engine's connection begins with (an engine's own struct embeds it first). */
struct store {
    const struct store_engine *engine; /* whose operations this connection runs */
    char errmsg[STORE_ERRMSG_MAX];     /* the last failure's message (store_errmsg) */
};

/* An engine: its name and one function per operation of store.h, as documented there. */
struct store_engine {
    const char *name;      /* "sqlite": as messages and the interface tests name it */
    enum dbspec_kind kind; /* the database values it opens */
    /*
     * Checks a database value without connecting (NULL: any value of the kind will do): 0, or
     * -EINVAL with *reterr_msg (when not NULL) that quotes no secret of it.
     */
    int (*check_value)(const char *database, char **reterr_msg);
    int (*open)(const char *database, struct store **ret_store, char **reterr_msg);
    int (*open_reader)(const char *database, struct store **ret_store, char **reterr_msg);
    int (*check)(struct store *store, char **reterr_msg);
    void (*free)(struct store *store);
    /* NULL: statements need no bound (store_set_statement_timeout does nothing). */
    int (*set_statement_timeout)(struct store *store, unsigned ms);
    int (*begin)(struct store *store);
    int (*begin_read)(struct store *store);
    int (*commit)(struct store *store);
    void (*rollback)(struct store *store);
    int (*part_begin)(struct store *store);
    int (*part_end)(struct store *store);
    void (*part_rollback)(struct store *store);
    int (*feed_ensure)(struct store *store, const char *name, const char *configured_url,
                       struct store_feed *ret_feed);
    int (*feed_save)(struct store *store, const struct store_feed *feed);
    int (*feed_set_runtime)(struct store *store, int64_t id, const char *runtime_url, bool removed);
    int (*feed_set_runtime_opts)(struct store *store, int64_t id, const char *runtime_opts);
    int (*item_add)(struct store *store, int64_t feed_id, const struct feed_item *item,
                    const char *text, uint64_t simhash, int64_t now_at, int64_t *ret_id);
    /* NULL: store.c calls item_add for each item (SQLite: a prepared statement, no round trip). */
    int (*items_add)(struct store *store, int64_t feed_id, const struct store_new_item *items,
                     size_t n, int64_t now_at, int64_t *ret_ids);
    int (*item_known)(struct store *store, int64_t feed_id, const char *key);
    /* NULL: store.c asks item_known for each key (SQLite: a prepared statement, no round trip). */
    int (*items_known)(struct store *store, int64_t feed_id, const char *const *keys, size_t n,
                       bool *ret_known);
    int (*items_by_url)(struct store *store, int64_t feed_id, const char *const *urls, size_t n,
                        struct store_item_ref *ret);
    int (*item_rekey)(struct store *store, int64_t feed_id, int64_t item_id, const char *key,
                      const char *guid);
    int (*feed_model_get)(struct store *store, int64_t feed_id, char **ret_data, size_t *ret_len);
    int (*feed_model_set)(struct store *store, int64_t feed_id, const char *data, size_t len);
    int (*feed_list)(struct store *store, store_feed_cb cb, void *userdata);
    int (*items_query)(struct store *store, const struct store_items_filter *f, unsigned limit,
                       bool with_text, store_item_cb cb, void *userdata);
    int (*item_get)(struct store *store, int64_t item_id, store_item_full_cb cb, void *userdata);
    int (*item_alerts)(struct store *store, int64_t item_id, store_item_alert_cb cb,
                       void *userdata);
    int (*feed_urls)(struct store *store, const char *name, char *ret_urls[STORE_FEED_URLS]);
    int (*feed_counts)(struct store *store, const char *name, struct store_feed_counts *ret);
    int (*count_items)(struct store *store, int64_t *ret_count);
    int (*disk_bytes)(struct store *store, uint64_t *ret_bytes);
    int (*alert_add)(struct store *store, const char *topic, int64_t item_id,
                     const char *matched_json, char *const *hooks, size_t n_hooks,
                     int64_t raised_at, int64_t *ret_id);
    int (*story_lock)(struct store *store); /* NULL: one writer per database */
    int (*story_candidates)(struct store *store, const char *topic, int64_t since_at,
                            uint64_t simhash, int64_t feed_id, store_story_cb cb, void *userdata,
                            uint64_t *steps);
    int (*alert_set_story)(struct store *store, int64_t alert_id, const char *topic,
                           int64_t raised_at, const void *sig, size_t sig_len, const uint32_t *keys,
                           size_t n_keys);
    int (*story_key_candidates)(struct store *store, const char *topic, int64_t since_at,
                                uint32_t key, unsigned limit, store_story_key_cb cb, void *userdata,
                                uint64_t *steps);
    int (*alert_story_sig)(struct store *store, int64_t alert_id, void *buf, size_t size,
                           size_t *ret_len, int64_t *ret_raised_at, uint64_t *steps);
    int (*alert_add_source)(struct store *store, int64_t alert_id, int64_t item_id);
    int (*deliveries_due)(struct store *store, int64_t now_at, unsigned limit, store_delivery_cb cb,
                          void *userdata);
    int (*delivery_next_due)(struct store *store, int64_t *ret_at);
    int (*delivery_set)(struct store *store, int64_t alert_id, const char *hook, const char *state,
                        unsigned attempts, int64_t next_attempt_at, const char *last_error,
                        int64_t ended_at);
    int (*deliveries_reset_running)(struct store *store);
    int (*delivery_requeue)(struct store *store, int64_t alert_id, const char *hook,
                            int64_t now_at);
    int (*deliveries_requeue_failed)(struct store *store, const char *hook, const char *hooks_json,
                                     int64_t now_at, int64_t after_alert, const char *after_hook,
                                     unsigned limit, store_requeued_cb cb, void *userdata);
    int (*alert_deliveries)(struct store *store, int64_t alert_id, store_delivery_row_cb cb,
                            void *userdata);
    int (*alert_get)(struct store *store, int64_t alert_id, store_alert_cb cb, void *userdata);
    int (*alert_sources)(struct store *store, int64_t alert_id, unsigned limit, int64_t also_item,
                         int64_t *ret_total, store_source_cb cb, void *userdata);
    int (*alerts_list)(struct store *store, const char *topic, bool failed_only, unsigned limit,
                       store_alert_cb cb, void *userdata);
    int (*alert_topic_counts)(struct store *store, store_topic_count_cb cb, void *userdata);
    int (*alert_counts)(struct store *store, int64_t *ret_delivered, int64_t *ret_pending,
                        int64_t *ret_failed, int64_t *ret_no_hook);
    int (*item_events_failed)(struct store *store, int64_t *ret_count);
    int (*prune_batch)(struct store *store, int64_t cutoff_at, int64_t max_id, unsigned limit,
                       size_t max_bytes, int64_t now_at, store_prune_cb cb, void *userdata,
                       unsigned *ret_pruned);
    int (*retention_get)(struct store *store, int64_t *ret_pruned_items, int64_t *ret_last_at);
    /* Clusters: NULL in an engine without them (store_clustered). */
    int (*node_join)(struct store *store, const struct store_node_self *self, int64_t prune_s,
                     store_node_cb may_join, void *userdata, int64_t *ret_now);
    int (*node_beat)(struct store *store, const struct store_node_self *self,
                     const struct store_node_hand *hand, int64_t *ret_now);
    int (*node_leave)(struct store *store, const struct store_node_self *self);
    int (*nodes_prune)(struct store *store, int64_t prune_s);
    int (*nodes_list)(struct store *store, store_node_cb cb, void *userdata);
    int (*feed_set_state)(struct store *store, int64_t id, bool paused, unsigned failures,
                          const char *disabled_reason);
    int (*feeds_skip)(struct store *store, const char *node, bool clear, const int64_t *ids,
                      size_t n);
    int (*feeds_changed)(struct store *store, struct store_changes_pos *pos, unsigned limit,
                         store_feed_cb cb, void *userdata);
    int (*feeds_claim)(struct store *store, const char *node, int64_t lease_s, unsigned limit,
                       const int64_t *hand, size_t n_hand, int64_t only_id, store_feed_cb cb,
                       void *userdata);
    int (*deliveries_claim)(struct store *store, const char *node, int64_t now_at, int64_t lease_s,
                            unsigned limit, char *const *hooks, size_t n_hooks,
                            store_delivery_cb cb, void *userdata);
    /* Feed events (store.h); event_deliveries_claim NULL without clusters. */
    int (*feed_event_add)(struct store *store, int64_t feed_id, const char *event, const char *url,
                          const char *feed_state, const char *reason, char *const *hooks,
                          size_t n_hooks, int64_t raised_at, int64_t *ret_id);
    int (*story_source_add)(struct store *store, int64_t feed_id, int64_t alert_id, int64_t item_id,
                            char *const *hooks, size_t n_hooks, int64_t raised_at, int64_t *ret_id);
    int (*event_deliveries_due)(struct store *store, int64_t now_at, unsigned limit,
                                store_delivery_cb cb, void *userdata);
    int (*event_delivery_next_due)(struct store *store, int64_t *ret_at);
    int (*event_delivery_set)(struct store *store, int64_t event_id, const char *hook,
                              const char *state, unsigned attempts, int64_t next_attempt_at,
                              const char *last_error, int64_t ended_at);
    int (*event_deliveries_claim)(struct store *store, const char *node, int64_t now_at,
                                  int64_t lease_s, unsigned limit, char *const *hooks,
                                  size_t n_hooks, store_delivery_cb cb, void *userdata);
    int (*feed_event_get)(struct store *store, int64_t id, store_feed_event_cb cb, void *userdata);
    int (*feed_events_list)(struct store *store, bool failed_only, unsigned limit,
                            store_feed_event_cb cb, void *userdata);
    int (*event_deliveries)(struct store *store, int64_t event_id, store_delivery_row_cb cb,
                            void *userdata);
    /* Edited items (store.h). */
    int (*items_seen)(struct store *store, int64_t feed_id, const char *const *keys, size_t n,
                      struct store_item_seen *ret);
    int (*item_fields_get)(struct store *store, int64_t item_id, struct store_item_fields *ret);
    int (*item_fingerprint_set)(struct store *store, int64_t item_id, uint64_t fingerprint);
    int (*item_edit)(struct store *store, int64_t item_id, const struct store_item_edit *e,
                     int64_t now_at, int64_t *ret_version_id);
    int (*item_versions)(struct store *store, int64_t item_id, store_item_version_cb cb,
                         void *userdata);
    int (*alert_find)(struct store *store, const char *topic, int64_t item_id, int64_t *ret_id);
    int (*item_update_add)(struct store *store, int64_t feed_id, int64_t alert_id,
                           int64_t version_id, char *const *hooks, size_t n_hooks,
                           int64_t raised_at, int64_t *ret_id);
    int (*alert_item_events)(struct store *store, int64_t alert_id, store_feed_event_cb cb,
                             void *userdata);
    int (*event_deliveries_requeue_failed)(struct store *store, const char *hook,
                                           const char *hooks_json, int64_t now_at,
                                           int64_t after_event, const char *after_hook,
                                           unsigned limit, store_requeued_cb cb, void *userdata);
    int (*feed_events_prune)(struct store *store, int64_t cutoff_at, unsigned limit,
                             unsigned *ret_pruned);
    /* Batches (store.h). */
    int (*batch_take)(struct store *store, const char *hook, int64_t window_s, int64_t now_at,
                      unsigned limit, const char *node, int64_t lease_s, store_batch_cb cb,
                      void *userdata, int64_t *ret_open_at);
    int (*batch_window)(struct store *store, const char *hook, bool set, int64_t at,
                        int64_t *ret_at);
    int (*batch_rewindow)(struct store *store, const char *hook, int64_t old_window_s,
                          int64_t new_window_s, int64_t now_at);
};

/* Records a message of the engine's own as the store's last error and returns r. */
int store_set_error(struct store *store, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ceiling of the categories JSON of one item; categories past it are not stored. */
#define STORE_CATEGORIES_MAX 65536

/*
 * The JSON array text of an item's categories into *ret_json (malloc'd; NULL when it has
 * none), the same text for every engine: 0, or -ENOMEM.
 */
int store_categories_json(char *const *categories, size_t n_categories, char **ret_json);

/* The engines (each in its own file). */
extern const struct store_engine store_sqlite_engine;
extern const struct store_engine store_pg_engine;

#endif
