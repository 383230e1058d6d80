/*
 * search.h — full-text search over stored items, kept off the poll's critical path.
 *
 * The index is kept by an engine of the store's kind (search-internal.h): with SQLite, an FTS5
 * table in its own file beside the database (`<database>-search`, search_sqlite.c); with
 * PostgreSQL, a GIN index of tsvectors in the store's own database (search_pg.c). One indexer
 * thread with its own connections reads the items not indexed yet from the store in batches
 * (the store's WAL, or PostgreSQL's snapshots, let it read while the writer writes) and indexes
 * their normalized title and text (normalize.h), so the index's tokens are the matcher's
 * tokens. Search may lag polling by seconds; the index can always be rebuilt from the store
 * (a missing or unreadable index file is rebuilt from item 1).
 *
 * A query in the topic language (query.h) runs in two steps: the index finds candidates with
 * a query that matches a superset (every positive word; NOT, phrases and proximity left to the
 * second step), and the matcher (match.h) keeps those that really match and says why. Hits
 * come newest first as `items` lists them (published, else first seen; then by id): the
 * candidates (at most SEARCH_CANDIDATES_MAX, the latest stored) reach the matcher in that
 * order: a few are sorted by their order key; many are met by walking the newest-first index
 * (items_newest) until enough match. A query FTS5 cannot narrow (only NOTs) takes the newest
 * items instead, bounded.
 *
 * Retention (store_prune_batch) prunes only items the indexer has reached (search_hwm), and
 * hands each pruned item's title and body to search_forget() once its batch is committed:
 * the indexer takes their words out of the index (a contentless FTS5 table forgets a row only
 * when told the words it was given). A forget lost to a crash leaves words that point at a
 * pruned item; search never shows a pruned item.
 *
 * search_new, search_kick, search_lag, search_hwm, search_forget_pending, search_run and
 * search_free are called from the loop thread, search_forget from any thread; the indexer
 * thread is private to search.c. A search_reader has read-only connections of its own, so
 * queries can run on a pool thread (one thread at a time per reader), never in the way of
 * the store's writer or the loop; the struct search must outlive its readers.
 */
#ifndef FEEDWATCH_SEARCH_H
#define FEEDWATCH_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEARCH_BATCH 2000            /* items indexed per transaction */
#define SEARCH_SCAN_MAX 20000        /* items scanned for a query FTS5 cannot narrow */
#define SEARCH_CANDIDATES_MAX 100000 /* candidates verified for one query */
#define SEARCH_WALK_RATIO 16         /* candidates above 1/16 of the items: walk items_newest */

struct search;

/* One hit: borrowed by the callback for the call only. */
struct search_hit {
    int64_t item_id;
    const char *feed;
    const char *key;
    const char *title;
    const char *url;
    int64_t published_at; /* FEED_TIME_NONE when absent */
    int64_t updated_at;   /* FEED_TIME_NONE when absent */
    const char *author;
    const char *language;
    const char *summary;
    const char *matched_json; /* [{"term","field","snippet"}] */
};

typedef int (*search_hit_cb)(void *userdata, const struct search_hit *hit);

/*
 * Opens (creating or rebuilding) the index of the store `database` names (a file, or a
 * PostgreSQL connection string: dbspec.h) and starts the indexer thread.
 */
int search_new(const char *database, struct search **ret_search, char **reterr_msg);

/* Tells the indexer that items were committed (wakes it; cheap, never blocks for long). */
void search_kick(struct search *s);

/* Items stored but not indexed yet (0 when the indexer has caught up). */
int64_t search_lag(struct search *s);

/* The highest item id indexed: retention prunes no item above it. */
int64_t search_hwm(struct search *s);

/*
 * Queues an item to take out of the index: its id, title and body as they were indexed
 * (copied). 0 or -ENOMEM. The indexer works through the queue before its next batch. Any
 * thread (retention calls it in the thread pool, right after its batch commits).
 */
int search_forget(struct search *s, int64_t item_id, const char *title, const char *body);

/*
 * Queues an edited item to index again (a material edit changed its title or text: edits.h):
 * its id, and the title and body it had before the edit (copied), which were indexed unless
 * the indexer had not reached it. With SQLite the indexer takes those words out and indexes
 * the item's current ones; PostgreSQL's store queues the item in the edit's own transaction
 * (search_queue), and this does nothing more there. Call it once the edit is committed, in
 * commit order with search_forget: the queue is worked through in order. 0 or -ENOMEM. A
 * reindex lost to a crash leaves the item found by its old words (search checks every
 * candidate against its current text, so it is not shown for them) and not by its new ones.
 */
int search_reindex(struct search *s, int64_t item_id, const char *title, const char *body);

/* Items queued by search_forget() or search_reindex() and not worked through yet. */
size_t search_forget_pending(struct search *s);

/*
 * Runs a query (topic language) over the index, newest items first (published, else first
 * seen), at most limit hits.
 * 0, -EINVAL with *reterr_msg for a bad query, or another negative errno.
 */
int search_run(struct search *s, const char *query, unsigned limit, search_hit_cb cb,
               void *userdata, char **reterr_msg);

struct search_reader;

/* Opens read-only connections of its own (any thread): 0, -ENOMEM or -EIO. */
int search_reader_open(struct search *s, struct search_reader **ret_reader);

/* Closes a reader's connections; accepts NULL. */
void search_reader_free(struct search_reader *r);

/* search_run() and search_lag() through a reader, on the thread that uses it. */
int search_reader_run(struct search *s, struct search_reader *r, const char *query, unsigned limit,
                      search_hit_cb cb, void *userdata, char **reterr_msg);
int64_t search_reader_lag(struct search *s, struct search_reader *r);

/* Stops the indexer (finishing its batch), joins it and closes everything; accepts NULL. */
void search_free(struct search *s);

#endif
