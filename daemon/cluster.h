/*
 * cluster.h — this daemon as one node of several on one PostgreSQL database (prefix
 * cluster_): its beat, and the feeds it polls, leased from the database rather than timed
 * by its own scheduler.
 *
 * With a clustered store (store_clustered), the database is the schedule: every second the
 * node beats (its row alive, the leases of the feeds in its hands renewed) and claims as many
 * due feeds as it has free poll slots (store_feeds_claim: a host is one live node's, a feed
 * one node's at a time), takes each claimed row as the feed's state (another node may have
 * polled it last), and polls it; the poll's save is fenced by the lease and ends it, and the
 * feed's next poll is its row's next_poll_at, for whichever node claims it then. A feed
 * added at run time on another node is adopted when claimed; a feed of another node's config
 * that this one lacks is skipped (its lease ends, another node takes it). A `poll NAME` (and
 * --once) claims that feed first (the feed table's gate): a feed another node holds is not
 * polled (POLL_ABORTED). At start the node joins (store_node_join: refused while another
 * daemon's life of the name beats; the leases of a life that ended without a stop end); at a
 * stop it leaves, so that the others take its feeds at once. Each tick also brings the
 * changes other nodes made to feeds (store_feeds_changed), which this node's copies follow
 * when not in its hands, and records the feeds it found it cannot poll (store_feeds_skip).
 * Writes go through the writer. Loop thread only.
 */
#ifndef FEEDWATCH_CLUSTER_H
#define FEEDWATCH_CLUSTER_H

#include <stdint.h>

struct cluster;
struct dctx;
struct feedtable;

/* How often a node beats and claims (ms). */
#define CLUSTER_TICK_MS 1000

/* A difference of clocks with the database server this small (s) is taken as none. */
#define CLUSTER_SKEW_MIN_S 3

/* Most feeds one claim leases. */
#define CLUSTER_CLAIM_MAX 500

/* Most changes of other nodes to feeds one tick reads (the rest wait for the next ones). */
#define CLUSTER_CHANGES_MAX 2000

/* A node not alive for this long (s) is forgotten (status no longer lists it). */
#define CLUSTER_PRUNE_S (24 * 3600)

/* Ticks between two prunes of forgotten nodes (the join prunes too). */
#define CLUSTER_PRUNE_TICKS 3600

/* Another daemon joined under this node's name: the node must stop. */
typedef void (*cluster_lost_cb)(void *ctx);

/*
 * Starts the node on the daemon's services d and feed table t (d->store clustered): joins,
 * waiting for the writer (before the loop runs), then ticks. The join is refused
 * (-EADDRINUSE) while another daemon's life holds the node's name and beats (a life of this
 * machine whose process is gone is over: its leases end). Should another daemon take the
 * name later (this one stopped beating for longer than its lease), lost(lost_ctx) is called
 * and the node stops claiming. 0, or a negative errno with *reterr_msg.
 */
int cluster_start(struct dctx *d, struct feedtable *t, cluster_lost_cb lost, void *lost_ctx,
                  struct cluster **ret, char **reterr_msg);

/* The config's hash as status shows it (16 hex digits): nodes that differ are told. */
const char *cluster_config_hash(const struct cluster *c);

/*
 * The config was reloaded: the node's hash and lease follow it, and the feeds it left to the
 * others are claimed again (the new config may name them).
 */
void cluster_reloaded(struct cluster *c);

/* A stop: no more ticks; queues the node's leave (before the writer closes). */
void cluster_stop(struct cluster *c);

/* Frees c after the loop ended; accepts NULL. */
void cluster_free(struct cluster *c);

#endif
