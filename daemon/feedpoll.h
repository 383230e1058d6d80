/*
 * feedpoll.h — one poll of one feed: fetch with a streaming parse, the content stage of the
 * new items in the thread pool (and their article pages with fetch_article), then one part
 * of a store transaction that holds the new items and the feed's new state (a poll either
 * happened or did not); the polls that finish together commit together, written by the
 * store's writer thread (writer.h).
 *
 * The poll owns its parser and parsed items until the transaction commits; nothing of them
 * outlives it but rows. When it ends it frees itself, then tells its starter (done). It reads
 * the daemon's services (dctx.h) and the feed (dfeed.h), never the daemon itself.
 * Loop thread only.
 */
#ifndef FEEDWATCH_FEEDPOLL_H
#define FEEDWATCH_FEEDPOLL_H

#include <stdint.h>

#include "dctx.h"
#include "dfeed.h"

/*
 * A poll of f has ended with outcome (its results are stored by then, and the poll freed):
 * new_items stored, new_alerts raised. Not called when feedpoll_start fails.
 */
typedef void (*feedpoll_done_cb)(void *ctx, struct dfeed *f, enum poll_outcome outcome,
                                 uint64_t new_items, uint64_t new_alerts);

/*
 * Starts polling f (f->poll is set) on the daemon's services d; done(ctx, ...) is told once
 * when it ends. Negative errno when the transfer could not start.
 */
int feedpoll_start(struct dctx *d, struct dfeed *f, feedpoll_done_cb done, void *ctx);

/* Aborts the poll; it ends through the normal completion path before this returns. */
void feedpoll_cancel(struct feedpoll *p);

#endif
