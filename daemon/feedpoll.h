/*
 * feedpoll.h — one poll of one feed: fetch with a streaming parse, the content stage of the
 * new items in the thread pool (and their article pages with fetch_article), then one part
 * of a store transaction that holds the new items and the feed's new state (a poll either
 * happened or did not); the polls that finish together commit together, written by the
 * daemon's writer connection in the thread pool (one batch at a time).
 *
 * The poll owns its parser and parsed items until the transaction commits; nothing of them
 * outlives it but rows. When it ends it tells the daemon (daemon_poll_done) and frees itself.
 * Loop thread only.
 */
#ifndef FEEDWATCH_FEEDPOLL_H
#define FEEDWATCH_FEEDPOLL_H

#include "daemon.h"

/* Prepares the store batch of d (its timer); called once at start. */
int feedpoll_init(struct daemon *d);

/*
 * Writes every finished poll waiting in the store batch in one transaction (each poll a part
 * of its own) and ends them; a stop calls it before closing the loop's handles.
 */
void feedpoll_flush(struct daemon *d);

/*
 * The writer connection was given back by other work (retention): writes the finished polls
 * waiting for it when their batch is due (full, stopping, or its delay passed).
 */
void feedpoll_writer_free(struct daemon *d);

/* Starts polling f (f->poll is set); negative errno when the transfer could not start. */
int feedpoll_start(struct daemon *d, struct dfeed *f);

/* Aborts the poll; it ends through the normal completion path before this returns. */
void feedpoll_cancel(struct feedpoll *p);

#endif
