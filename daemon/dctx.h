/*
 * dctx.h — the services the daemon's modules share (prefix dctx_): the loop, the config in
 * force, the loop's read-only store connection, the store's writer, the fetcher, the
 * scheduler, the events registry, the hook runner, the search index, the metrics, the
 * random generator, the topics writer jobs match with, and whether the daemon runs --once
 * or is stopping.
 *
 * daemon.c owns a struct dctx (it is the first part of struct daemon) and every object it
 * points to; it replaces conf and alerting at a reload and sets stopping at a stop. The
 * modules below daemon.c (feedtable, dfeed, feedpoll, hook, retention) are handed a
 * struct dctx * and read it; they never replace its members, and they call back into
 * daemon.c only through the callbacks they were given, never through daemon.h.
 * Loop thread only.
 */
#ifndef FEEDWATCH_DCTX_H
#define FEEDWATCH_DCTX_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

struct alerts;
struct cluster;
struct conf;
struct events;
struct feedpoll;
struct fetcher;
struct hooks;
struct metrics;
struct sched;
struct search;
struct store;
struct storestat;
struct topics_pin;
struct writer;

struct dctx {
    uv_loop_t loop;
    struct conf *conf;
    struct store *store;           /* the loop thread's connection */
    struct writer *writer;         /* every write goes through it (writer.h) */
    struct topics_pin *topics_pin; /* alerting as pinned by writer jobs; NULL when none is */
    struct fetcher *fetcher;
    struct sched *sched;
    struct events *events;       /* items, alerts and feed changes for who listens (events.h) */
    struct alerts *alerting;     /* the topics of conf, compiled */
    struct hooks *hooks;         /* NULL once a stop closed the runner */
    struct search *search;       /* full-text index; NULL with --once or when it failed */
    struct metrics *metrics;     /* counters for `feedwatch metrics` and metrics_listen */
    struct util_rng rng;         /* jitter and the restart spread */
    bool once;                   /* --once: poll everything once, then stop */
    bool clustered;              /* the database schedules the polls (cluster.h), not sched */
    struct cluster *cluster;     /* this node of the cluster; NULL when not clustered */
    struct storestat *storestat; /* status's and metrics' tallies off the loop; NULL: SQLite */
    int64_t clock_offset_s;      /* the database server's clock minus this node's (cluster.h) */
    bool stopping;
    /*
     * Article pages held in memory, all polls: each download reserves max_article_size up to
     * max_article_memory; polls with downloads that do not fit wait here (FIFO, feedpoll.c).
     */
    uint64_t article_bytes;
    struct feedpoll *article_wait_head, *article_wait_tail;
    /*
     * Bytes the polls in flight hold, all feeds (feedpoll.c accounts them as they grow), and
     * the most seen: downloads pause while max_poll_memory is full, and due feeds wait in the
     * ready queue while the polls past their download fill it (scheduler.h, sched_mem_*). The
     * downloading polls in start order: the first always goes on, the paused ones resume
     * oldest first.
     */
    uint64_t poll_memory, poll_memory_peak;
    uint64_t poll_memory_fetching; /* of poll_memory: held by the downloading polls */
    unsigned poll_memory_paused;
    struct feedpoll *fetching_head, *fetching_tail;
    /* Told when poll memory was released (the feed table starts the feeds waiting for it). */
    void (*poll_memory_released)(void *ctx);
    void *poll_memory_released_ctx;
};

/* Poll memory was released (feedpoll.c): tells poll_memory_released, when set. */
void dctx_poll_memory_released(struct dctx *d);

/*
 * The compiled topics (d->alerting) for a writer job that matches items on the writer thread:
 * pinned until the job's done callback unpins them, so that a reload meanwhile retires them
 * instead of freeing them (with the config they point into). NULL when out of memory.
 */
struct topics_pin *dctx_topics_pin(struct dctx *d);
struct alerts *dctx_topics_alerting(const struct topics_pin *pin);
void dctx_topics_unpin(struct topics_pin *pin);

/*
 * A reload replaces the topics (and their config): d->alerting and old_conf are freed now
 * unless writer jobs still match with them, then by the last of those.
 */
void dctx_topics_retire(struct dctx *d, struct conf *old_conf);

#endif
