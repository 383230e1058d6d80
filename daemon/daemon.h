/*
 * daemon.h — struct daemon owns the loop and every subsystem: config, store, scheduler,
 * fetcher, the feed table (feedtable.h), control server, signals and the systemd glue. This
 * header is shared by the daemon's own modules; nothing outside daemon/ includes it.
 *
 * Startup order: config → store (created and migrated, then the loop's read-only connection)
 * → store writer (writer.h; every write goes through it) → fetcher → scheduler → control
 * socket → READY=1.
 * Shutdown order: STOPPING=1 → the writer drained (its done callbacks run) → control listener
 * → scheduler → transfers → multi handle → remaining handles (uv_walk) → loop closed → the
 * loop's connection closed, then the writer's → socket unlinked.
 * Loop thread only (the writer's jobs hand their results back through done callbacks).
 */
#ifndef FEEDWATCH_DAEMON_H
#define FEEDWATCH_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "conf.h"
#include "feedtable.h"
#include "scheduler.h"
#include "store.h"
#include "util.h"

struct alerts;
struct control;
struct events;
struct hooks;
struct retention;
struct topics_pin;
struct writer;
struct search;
struct fetcher;
struct feedpoll;
struct metrics;
struct metrics_http;

struct daemon {
    uv_loop_t loop;
    char *config_path;
    struct conf *conf;
    struct store *store;           /* the loop thread's connection */
    struct writer *writer;         /* every write goes through it (writer.h) */
    struct topics_pin *topics_pin; /* alerting as pinned by writer jobs; NULL when none is */
    struct fetcher *fetcher;
    struct sched *sched;
    struct control *control;
    struct events *events;   /* items, alerts and feed changes for who listens (events.h) */
    struct alerts *alerting; /* the topics of conf, compiled */
    struct hooks *hooks;
    struct search *search;             /* full-text index; NULL with --once or when it failed */
    struct metrics *metrics;           /* counters for `feedwatch metrics` and metrics_listen */
    struct metrics_http *metrics_http; /* GET /metrics; NULL unless metrics_listen is set */
    struct retention *retention;       /* prunes old items through the writer (retention.h) */
    struct feedtable table;            /* the feeds, their ready queue and poll slots */
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t watchdog;
    uv_timer_t status_timer;
    uv_timer_t stop_timer;
    uint64_t watchdog_usec;
    uint64_t started_ms; /* uv_now at start, for uptime */
    struct util_rng rng; /* jitter and the restart spread */
    bool once;           /* --once: poll everything once, then stop */
    unsigned once_remaining;
    bool once_failed;
    struct {
        unsigned polled, ok, not_modified, errors;
        uint64_t new_items, alerts;
    } once_tally;        /* --once: what the cycle did, for its closing summary */
    int64_t items_total; /* rows in items, kept current without count(*) */
    /*
     * Article pages held in memory, all polls: each download reserves max_article_size up to
     * max_article_memory; polls with downloads that do not fit wait here (FIFO, feedpoll.c).
     */
    uint64_t article_bytes;
    struct feedpoll *article_wait_head, *article_wait_tail;
    /*
     * Bytes the polls in flight hold, all feeds (feedpoll.c accounts them as they grow), and
     * the most seen: due feeds wait in the ready queue while max_poll_memory is full or a
     * transfer waits paused for memory (scheduler.h, sched_mem_*). The downloading polls in
     * start order: the first always goes on, the paused ones resume oldest first.
     */
    uint64_t poll_memory, poll_memory_peak;
    uint64_t poll_memory_fetching; /* of poll_memory: held by the downloading polls */
    unsigned poll_memory_paused;
    struct feedpoll *fetching_head, *fetching_tail;
    bool stopping;
    int exit_code;
};

/* Runs the daemon on config_path until a signal (or, with once, one cycle) ends it. */
int daemon_run(const char *config_path, bool once);

/*
 * The compiled topics (d->alerting) for a writer job that matches items on the writer thread:
 * pinned until the job's done callback unpins them, so that a reload meanwhile retires them
 * instead of freeing them (with the config they point into). NULL when out of memory.
 */
struct topics_pin *daemon_topics_pin(struct daemon *d);
struct alerts *daemon_topics_alerting(const struct topics_pin *pin);
void daemon_topics_unpin(struct topics_pin *pin);

/* The Prometheus text of the daemon's metrics now (a new heap string), or NULL on OOM. */
char *daemon_metrics_text(struct daemon *d);

/* Re-reads the config; on error keeps the old one and returns -EINVAL with *reterr_msg. */
int daemon_reload(struct daemon *d, char **reterr_msg);

/* Begins a clean stop with the given exit code. */
void daemon_stop(struct daemon *d, int exit_code);

/* Called by feedpoll when a poll of f has ended (its results are stored by then). */
void daemon_poll_done(struct daemon *d, struct dfeed *f, enum poll_outcome outcome,
                      uint64_t new_items, uint64_t new_alerts);

/* Poll memory was released (feedpoll.c): due feeds that waited for it may start. */
void daemon_poll_memory_released(struct daemon *d);

/* The hook runner finished a run: --once may be done now. */
void daemon_hooks_progress(struct daemon *d);

#endif
