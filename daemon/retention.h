/*
 * retention.h — prunes items older than `retention` (from first seen), in the background.
 *
 * A pass runs at start and then every RETENTION_PERIOD_MAX_S (an hour; half the retention
 * when that is shorter). It prunes in batches of at most RETENTION_BATCH items, each its own
 * transaction in the store's writer (writer.h), one batch queued at a time: the next goes
 * behind the polls that finished meanwhile, so a poll waits for one short batch at most. A pruned
 * item keeps its (feed, key) row (store.h); the search index forgets its words (search.h). `status`
 * shows the tallies (retention_json). Loop thread only.
 */
#ifndef FEEDWATCH_RETENTION_H
#define FEEDWATCH_RETENTION_H

#include <jansson.h>

#define RETENTION_BATCH 500                      /* items pruned per transaction at most */
#define RETENTION_BATCH_BYTES (8u * 1024 * 1024) /* text of a batch handed to the index */
#define RETENTION_PERIOD_MAX_S 3600              /* a pass at least this often */

struct dctx;
struct retention;

/*
 * Starts pruning with the daemon's services d (dctx.h): a pass now, then periodically; reads
 * the tallies from the store.
 */
int retention_new(struct dctx *d, struct retention **ret);

/*
 * {"retention_s", "pruned_items", "last_prune", "pruning", "prune_error"} for `status`
 * (a new reference; NULL on OOM).
 */
json_t *retention_json(const struct retention *r);

/* Frees r after the loop has ended (its timer is closed by then); accepts NULL. */
void retention_free(struct retention *r);

#endif
