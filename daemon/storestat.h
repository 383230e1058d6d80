/*
 * storestat.h — the store's tallies that `status` and the metrics show (alert counts, alerts
 * per topic, the database's size, the search index's lag, the nodes of a cluster), read off
 * the loop: on a thread of
 * its own with a read-only connection of its own, so that a PostgreSQL server that is slow,
 * locked or silent never holds the loop (review F6). The daemon makes one for a PostgreSQL
 * database only; with SQLite (a local file) the loop reads them itself, as before.
 *
 * storestat_want() asks for tallies read after the call: one read runs at a time, and the
 * wants that come while it runs are served by the next one (a stuck read never piles reads
 * up). The callback runs on the loop with the read's tallies (fresh), or, when the read fails
 * or does not end within STORESTAT_WAIT_MS, with the last tallies read well (stale; none
 * before the first good read) and why. A read still stuck is not abandoned: its result is
 * kept for the next want once it comes.
 *
 * Loop thread only; the reader thread runs the store calls alone.
 */
#ifndef FEEDWATCH_STORESTAT_H
#define FEEDWATCH_STORESTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "metrics.h"
#include "store.h"

#define STORESTAT_WAIT_MS 2000    /* a want is answered stale after this long */
#define STORESTAT_ERROR_MAX 256   /* bytes of the reason a read failed */
#define STORESTAT_MAX_NODES 1024  /* nodes kept of store_nodes_list (the rest are left out) */
#define STORESTAT_MAX_TOPICS 4096 /* topics kept of store_alert_topic_counts */

struct storestat;
struct storestat_want;

/* The tallies of one read. */
struct storestat_snap {
    int64_t read_at; /* when the read ended (Unix seconds); 0: no read has ended well yet */
    uint64_t database_bytes;
    int64_t search_lag; /* items not indexed yet (search_reader_lag); 0 without an index */
    int64_t alerts_delivered, alerts_pending, alerts_failed, alerts_no_hook;
    int64_t item_events_failed;   /* store_item_events_failed */
    struct metrics_topic *topics; /* alerts ever raised per topic (names owned) */
    size_t n_topics;
    struct store_node *nodes; /* the cluster's nodes when clustered (strings owned) */
    size_t n_nodes;
};

/*
 * The answer to a want: snap is the read's (fresh) or the last good one (stale: read_at 0 when
 * there is none), borrowed for the call; error is NULL when fresh, else why it is stale.
 */
typedef void (*storestat_done_cb)(void *ctx, const struct storestat_snap *snap, bool fresh,
                                  const char *error);

/*
 * Starts the reader thread for the database db_path (its connections, to the store and to the
 * index search (NULL: none; it must outlive the struct storestat), are opened by the first
 * read, on the thread); nodes: read the cluster's nodes too. 0, or -ENOMEM / a pthread error.
 */
struct search;
int storestat_new(uv_loop_t *loop, const char *db_path, struct search *search, bool nodes,
                  struct storestat **ret);

/*
 * Asks for tallies read from now on: done(ctx, ...) runs later on the loop, once. NULL when
 * out of memory (done is not called) or when closing.
 */
struct storestat_want *storestat_want(struct storestat *s, storestat_done_cb done, void *ctx);

/* The asker lost interest before done ran (e.g. its connection closed): done never runs. */
void storestat_forget(struct storestat_want *w);

/*
 * Begins the stop: wants not answered yet are dropped (done is not called), the thread is told
 * to end after the read under way, the loop's handles are closed. Accepts NULL.
 */
void storestat_close(struct storestat *s);

/*
 * After the loop ended: joins the thread (it ends once its read under way returns) and frees.
 * Accepts NULL.
 */
void storestat_free(struct storestat *s);

#endif
