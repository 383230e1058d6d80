/*
 * feedtable.h — the daemon's feeds (struct feedtable, prefix feedtable_): the table of
 * run-time feeds (dfeed.h) sorted by name, and those being added; the poll slots and the
 * ready queue of due feeds waiting for one (FIFO); what follows each poll (its waiters, the
 * next schedule); and the run-time changes `feedwatch add/remove/pause/resume`, stored
 * through the writer.
 *
 * The table owns its feeds; a poll in flight (feedpoll.h) borrows one and tells the table
 * when it ends. After each poll the daemon is told (polled) before the feed is
 * scheduled again and its waiters told, for its own tallies (items, metrics, --once).
 * Loop thread only.
 */
#ifndef FEEDWATCH_FEEDTABLE_H
#define FEEDWATCH_FEEDTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dfeed.h"

struct conf;
struct dctx;

/*
 * A gate in front of a poll that is not leased yet (clusters: cluster.c claims the feed first,
 * then polls it with feedtable_poll_now, or tells cb POLL_ABORTED). Same contract as
 * feedtable_poll_now.
 */
typedef int (*feedtable_gate_fn)(void *ctx, struct dfeed *f, dfeed_poll_done_cb cb, void *cb_ctx);

/* A poll of f has ended (or a wait ended without one): the daemon's tallies. */
typedef void (*feedtable_polled_cb)(void *ctx, const struct dfeed *f, enum poll_outcome outcome,
                                    uint64_t new_items, uint64_t new_alerts);

struct feedtable {
    struct dctx *d;
    struct dfeed **feeds; /* sorted by name */
    size_t n_feeds;
    struct dfeed **adding; /* added at run time, being stored (not in feeds yet) */
    size_t n_adding;
    /*
     * Polls started and not ended, at most feedtable_poll_slots(): a parsed document waits in
     * memory for the thread pool, so due feeds beyond that wait in the ready queue (FIFO).
     */
    unsigned polls_active;
    struct dfeed *ready_head, *ready_tail;
    unsigned n_ready;
    bool starting_ready; /* start_ready() is on the stack */
    feedtable_polled_cb polled;
    void *polled_ctx;
    feedtable_gate_fn gate; /* NULL: every feed polls when asked (one daemon) */
    void *gate_ctx;
};

/* Sets up an empty table on the daemon's services d; polled(ctx, ...) is told after each poll. */
void feedtable_init(struct feedtable *t, struct dctx *d, feedtable_polled_cb polled, void *ctx);

/*
 * Turns conf's feeds into run-time feeds in *ret_feeds (the config's order, then the run-time
 * feeds it does not name): the feeds already in t are reused (marked kept), the others built
 * with their rows: from rows at a reload (feedtable_rows_needed, loaded by the writer), loaded
 * now when rows is NULL (at start). Used at start and, diffed, at reload. 0, or a negative
 * errno with *reterr_msg.
 */
int feedtable_build(struct feedtable *t, const struct conf *conf, struct dfeed_rows *rows,
                    struct dfeed ***ret_feeds, size_t *ret_n, char **reterr_msg);

/*
 * Adds to rows those a reload to conf needs: the feeds conf names that t has not (or has as
 * run-time feeds, which `remove` may take out before the reload applies), and the config
 * feeds whose URL conf changes. 0 or -ENOMEM.
 */
int feedtable_rows_needed(struct feedtable *t, const struct conf *conf, struct dfeed_rows *rows);

/* Makes feeds (n, from feedtable_build) the table, sorted by name; the old array is freed. */
void feedtable_take(struct feedtable *t, struct dfeed **feeds, size_t n);

/* Adds the feeds of `feedwatch add` that the config does not name (at start). */
int feedtable_load_runtime(struct feedtable *t, char **reterr_msg);

/*
 * Clusters: the feed of a claimed row that the table lacks, added at run time (on another
 * node): made from the row (its state, its lease) and put in the table. -ENOENT when the row
 * is no run-time feed (a feed of another node's config), -ENOMEM.
 */
int feedtable_adopt(struct feedtable *t, const struct store_feed *row, struct dfeed **ret);

/* Frees every feed, after the loop has ended (no poll is left). */
void feedtable_done(struct feedtable *t);

/* The feed called name, or NULL. */
struct dfeed *feedtable_find(struct feedtable *t, const char *name);

/*
 * Puts a feed on the schedule from its persisted state (not when the database schedules the
 * polls: d->clustered): a feed never polled is due now; a
 * feed whose next poll passed while the daemon was down is due soon, spread over up to 30 s
 * (a tenth of its interval at most); a future next poll is kept (sched_initial_due_ms).
 */
void feedtable_schedule(struct feedtable *t, struct dfeed *f);

/* Drops f (taken out of the table by its caller): an in-flight poll is aborted and frees it. */
void feedtable_drop(struct feedtable *t, struct dfeed *f);

/* Clusters: a run-time feed removed on another node leaves the table (and is dropped). */
void feedtable_forget(struct feedtable *t, struct dfeed *f);

/* Polls in progress at once: the fetcher's connections, and as many again being processed. */
unsigned feedtable_poll_slots(const struct feedtable *t);

/*
 * Polls f now (unless it is in flight or waiting already), or queues it until a poll slot
 * frees: 0, or a negative errno when it could not be started or queued. cb, if not NULL, is
 * called exactly once whatever the return: when the poll ends, or at once (POLL_ABORTED)
 * when the daemon is stopping or cannot remember the waiter (-ECANCELED, -ENOMEM).
 */
int feedtable_poll_now(struct feedtable *t, struct dfeed *f, dfeed_poll_done_cb cb, void *ctx);

/* A stop: the feeds waiting for a slot leave the queue (they are not polled). */
void feedtable_stop(struct feedtable *t);

/*
 * Run-time changes (`feedwatch add/remove/pause/resume`), stored through the writer: each
 * calls cb exactly once (dfeed_change_cb), with 0 and the feed (NULL for remove) once the
 * change is stored, or a negative errno and the message for the user (NULL when out of
 * memory) when it was refused or could not be stored. cb may run before the function returns
 * (a refusal) or later, from the writer's done callback on the loop thread. A feed added at
 * run time polls at its own interval (opts, may be NULL) or the daemon's; a config feed
 * cannot be removed at run time (-EPERM). resume also re-enables a feed disabled by its
 * errors and polls it now. pause and resume take effect in memory at once (pause stops the
 * feed's schedule), and are undone when the store refuses them.
 */
void feedtable_add(struct feedtable *t, const char *name, const char *url,
                   const struct dfeed_opts *opts, dfeed_change_cb cb, void *ctx);
void feedtable_remove(struct feedtable *t, const char *name, dfeed_change_cb cb, void *ctx);
void feedtable_pause(struct feedtable *t, const char *name, dfeed_change_cb cb, void *ctx);
void feedtable_resume(struct feedtable *t, const char *name, dfeed_change_cb cb, void *ctx);

#endif
