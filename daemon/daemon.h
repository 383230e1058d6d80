/*
 * daemon.h — struct daemon owns the loop and every subsystem: config, store, scheduler,
 * fetcher, control server, signals and the systemd glue. This header is shared by the
 * daemon's own modules (daemon.c, feedpoll.c, ctlcmd.c); nothing outside daemon/ includes it.
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

enum poll_outcome {
    POLL_OK,           /* fetched (200 or a file) and stored */
    POLL_NOT_MODIFIED, /* 304: state saved, nothing parsed */
    POLL_FAILED,       /* failure saved in the feed's state; backoff scheduled */
    POLL_ABORTED,      /* cancelled (reload, removal, shutdown): nothing saved */
};

/* Told that a poll asked for with daemon_feed_poll_now has ended (ctx is the caller's). */
typedef void (*daemon_poll_done_cb)(void *ctx, enum poll_outcome outcome, uint64_t new_items,
                                    uint64_t new_alerts);

/* Someone waiting for a feed's current poll to end (`poll --wait`). */
struct dfeed_waiter {
    daemon_poll_done_cb cb;
    void *ctx;
};

/* A configured feed at run time. */
struct dfeed {
    struct daemon *d;
    const struct conf_feed *cfg;   /* points into d->conf (re-pointed on reload), or runtime_cfg */
    struct conf_feed *runtime_cfg; /* owned settings of a feed added at run time; NULL else */
    bool runtime_interval;         /* runtime_cfg's interval was given to `add`: reloads keep it */
    struct store_feed st;          /* persisted state, saved after every poll */
    struct sched_entry sched;
    struct feedpoll *poll;        /* the poll in flight, or NULL */
    struct dfeed_waiter *waiters; /* told when the current poll ends */
    size_t n_waiters;
    bool removed;         /* dropped (config or `remove`) while a poll was in flight */
    bool kept;            /* scratch of a reload: still in the new config */
    int64_t next_poll_ms; /* the last poll's next poll to the ms (the row keeps seconds) */
    bool ready;           /* due, waiting in d's ready queue for a free poll slot */
    uint64_t poll_bytes;  /* body bytes the poll in flight received (metrics) */
    int64_t poll_lag_ms;  /* how late it started after it was due; -1: not known */
    uint64_t st_gen;      /* bumped when the loop changes st outside a poll */
    struct dfeed *ready_prev, *ready_next;
};

enum daemon_feed_state {
    DFEED_OK,
    DFEED_FAILING,
    DFEED_DISABLED,
    DFEED_PAUSED,
};

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
    struct dfeed **feeds;              /* sorted by name */
    size_t n_feeds;
    struct dfeed **adding; /* added at run time, being stored (not in feeds yet) */
    size_t n_adding;
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
     * Polls started and not ended, at most daemon_poll_slots(): a parsed document waits in
     * memory for the thread pool, so due feeds beyond that wait in the ready queue (FIFO).
     */
    unsigned polls_active;
    struct dfeed *ready_head, *ready_tail;
    unsigned n_ready;
    bool starting_ready; /* start_ready() is on the stack */
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

/* The feed called name, or NULL. */
struct dfeed *daemon_feed_find(struct daemon *d, const char *name);

/* The Prometheus text of the daemon's metrics now (a new heap string), or NULL on OOM. */
char *daemon_metrics_text(struct daemon *d);

enum daemon_feed_state daemon_feed_state(const struct dfeed *f);
const char *daemon_feed_state_name(enum daemon_feed_state s);

/* Polls in progress at once: the fetcher's connections, and as many again being processed. */
unsigned daemon_poll_slots(const struct daemon *d);

/*
 * Polls f now (unless it is in flight or waiting already), or queues it until a poll slot
 * frees: 0, or a negative errno when it could not be started or queued. cb, if not NULL, is
 * called exactly once whatever the return: when the poll ends, or at once (POLL_ABORTED)
 * when the daemon is stopping or cannot remember the waiter (-ECANCELED, -ENOMEM).
 */
int daemon_feed_poll_now(struct daemon *d, struct dfeed *f, daemon_poll_done_cb cb, void *ctx);

/*
 * Run-time changes (`feedwatch add/remove/pause/resume`), stored through the writer: each
 * calls cb exactly once, with 0 and the feed (NULL for remove) once the change is stored, or
 * a negative errno and the message for the user (NULL when out of memory) when it was refused
 * or could not be stored. cb may run before the function returns (a refusal) or later, from
 * the writer's done callback on the loop thread. A feed added at run time polls at its own
 * interval (opts) or the daemon's; a config feed cannot be removed at run time (-EPERM).
 * resume also re-enables a feed disabled by its errors and polls it now. pause and resume
 * take effect in memory at once (pause stops the feed's schedule), and are undone when the
 * store refuses them.
 */
#define DAEMON_FEED_TAGS_MAX 32 /* tags of a feed added at run time */
#define DAEMON_FEED_TAG_MAX 256 /* bytes of one such tag */

/* The options of `feedwatch add` (the socket's interval, tags and fetch_article). */
struct daemon_feed_opts {
    uint64_t interval_s; /* seconds, >= 1; 0: the daemon's interval (also after reloads) */
    char **tags;         /* each as a config tag: no comma, no control character, trimmed */
    size_t n_tags;
    bool fetch_article;
};

typedef void (*daemon_change_cb)(void *ctx, int r, struct dfeed *f, const char *err);

void daemon_feed_add(struct daemon *d, const char *name, const char *url,
                     const struct daemon_feed_opts *opts, daemon_change_cb cb, void *ctx);
void daemon_feed_remove(struct daemon *d, const char *name, daemon_change_cb cb, void *ctx);
void daemon_feed_pause(struct daemon *d, const char *name, daemon_change_cb cb, void *ctx);
void daemon_feed_resume(struct daemon *d, const char *name, daemon_change_cb cb, void *ctx);

/* Saves a copy of f's state as it is now through the writer; an error is logged. */
void daemon_feed_save(struct daemon *d, struct dfeed *f);

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
