/*
 * feedpoll.h — one poll of one feed: fetch with a streaming parse, the content stage of the
 * new items in the thread pool (and their article pages with fetch_article), then one part
 * of a store transaction that holds the new items and the feed's new state (a poll either
 * happened or did not); the polls that finish together commit together, written by the
 * store's writer thread (writer.h).
 *
 * The poll owns its parser and parsed items until the transaction commits; nothing of them
 * outlives it but rows. When it ends it tells the daemon (daemon_poll_done) and frees itself.
 * Loop thread only.
 */
#ifndef FEEDWATCH_FEEDPOLL_H
#define FEEDWATCH_FEEDPOLL_H

#include "daemon.h"

/* Starts polling f (f->poll is set); negative errno when the transfer could not start. */
int feedpoll_start(struct daemon *d, struct dfeed *f);

/* Aborts the poll; it ends through the normal completion path before this returns. */
void feedpoll_cancel(struct feedpoll *p);

#endif
