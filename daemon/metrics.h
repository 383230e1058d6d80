/*
 * metrics.h — what the daemon counts for monitoring, and the Prometheus text format of it
 * (version 0.0.4), served by `feedwatch metrics` and, with `[daemon] metrics_listen`, over
 * HTTP at /metrics (metrics_http.h).
 *
 * Counters only grow (until a restart; alerts by topic are read from the store and survive
 * restarts); gauges are read from the daemon at render time (struct metrics_gauges). Label
 * values are bounded: topics and hooks are the config's names, HTTP statuses are counted by class,
 * and hosts are the first METRICS_HOSTS_MAX hosts that had errors, the rest counted as
 * host="other". Loop thread only; no I/O.
 */
#ifndef FEEDWATCH_METRICS_H
#define FEEDWATCH_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_HOSTS_MAX 100

struct metrics;

enum metrics_poll {
    METRICS_POLL_OK,           /* 200: a document parsed and stored */
    METRICS_POLL_NOT_MODIFIED, /* 304 */
    METRICS_POLL_ERROR,        /* anything else: HTTP error, network, parse, store */
    METRICS_POLL__N
};

/* Alerts ever raised for one topic (read from the store: alerts are never deleted). */
struct metrics_topic {
    const char *topic;
    uint64_t alerts;
};

/* How the store's tallies of struct metrics_gauges were read. */
enum metrics_store {
    METRICS_STORE_LOCAL, /* on the loop (SQLite) */
    METRICS_STORE_FRESH, /* off the loop, for this rendering */
    METRICS_STORE_STALE, /* off the loop, the last read: the database did not answer in time */
};

/* What the daemon is now, filled by the caller for each rendering. */
struct metrics_gauges {
    const struct metrics_topic *topics;
    size_t n_topics;
    uint64_t feeds_ok, feeds_failing, feeds_disabled, feeds_paused;
    uint64_t items_total;
    uint64_t polls_active;  /* polls started and not ended */
    uint64_t polls_waiting; /* due feeds waiting for a poll slot (the FIFO) */
    uint64_t store_queue;   /* writes queued in the store's writer, not done yet */
    uint64_t hooks_running;
    int64_t alerts_delivered, alerts_pending, alerts_failed, alerts_no_hook;
    int64_t item_events_failed; /* item-updated and story-source with a failed delivery */
    uint64_t search_lag_items;
    uint64_t database_bytes;
    uint64_t rss_bytes; /* 0: unknown */
    double uptime_s;
    /*
     * The store's tallies (topics, alerts_*, database_bytes, search_lag_items) with PostgreSQL,
     * read off the loop (storestat.h): fresh when read for this rendering, stale when they are the
     * last read (the database did not answer in time: feedwatch_store_stale 1); with SQLite they
     * are read on the loop (METRICS_STORE_LOCAL: no feedwatch_store_stale line);
     * store_unknown: none was ever read, their families are rendered without samples.
     */
    enum metrics_store store_read;
    bool store_unknown;
};

/* New, all counters at zero; NULL on OOM. */
struct metrics *metrics_new(void);

void metrics_free(struct metrics *m);

/*
 * One poll ended: its outcome, the HTTP status (0: none, e.g. a network error or file:),
 * the feed URL's host (for per-host error counts; NULL or "" when none), the body bytes
 * received, the new items stored, and how late the poll started after it was due (seconds,
 * < 0 when unknown).
 */
void metrics_poll_done(struct metrics *m, enum metrics_poll outcome, long http_status,
                       const char *host, uint64_t bytes, uint64_t new_items, double lag_s);

/*
 * A hook run or webhook POST ended: delivered or failed (a failure that will be retried
 * counts too), and for a delivery the seconds from the alert's raise to its delivery.
 */
void metrics_delivery(struct metrics *m, const char *hook, bool delivered, double latency_s);

/* A poll kept edits material edits of stored items and raised updates item-updated events. */
void metrics_item_edits(struct metrics *m, uint64_t edits, uint64_t updates);

/* A batch run of a hook with a `batch` window ended (its deliveries count in metrics_delivery). */
void metrics_batch(struct metrics *m, const char *hook, bool delivered);

/* A feed event (feed-disabled, ...) was raised and stored. */
void metrics_feed_event(struct metrics *m, const char *event);

/* The exposition text (new heap string), or NULL on OOM. */
char *metrics_render(const struct metrics *m, const struct metrics_gauges *g);

#endif
