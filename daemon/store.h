/*
 * store.h — the store: feeds' poll state, items, alerts and their deliveries.
 *
 * The one interface the daemon uses, whatever the engine behind it (store-internal.h: SQLite,
 * a database file in WAL mode, store_sqlite.c; PostgreSQL, a server reached through libpq,
 * store_pg.c); no SQL and no engine's types outside the engine files.
 *
 * One struct store is one connection, used by one thread at a time. The daemon writes through
 * one connection only, its writer's (writer.h: one thread, one queue, in order); the loop
 * thread and the control socket's queries read through connections of their own
 * (store_open_reader; in WAL mode they read while the writer writes, and see a write once
 * its commit is done). The schema is versioned (STORE_SCHEMA_VERSION) and migrated forward
 * at open, each migration in its own transaction. Every statement is prepared once with
 * bound parameters. An item is stored once per (feed, key): store_item_add() on a known key is a
 * no-op that returns 0. Everything written for one poll goes between store_begin() and
 * store_commit(); on any error the caller calls store_rollback() and nothing of it remains.
 *
 * Returns: 0 (or a count) on success, negative errno on failure; the engine's message of the
 * last failure is in store_errmsg(). Instants are Unix seconds, FEED_TIME_NONE when absent.
 */
#ifndef FEEDWATCH_STORE_H
#define FEEDWATCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/feed.h"

#define STORE_SCHEMA_VERSION 15

struct store;

/* A feed's persisted state (one row of `feeds`). Strings owned; see store_feed_done(). */
struct store_feed {
    int64_t id;
    char *name;
    char *configured_url;
    char *url; /* in use, after permanent redirects; NULL = configured_url */
    /*
     * The URL the last document came from, after every redirect, temporary ones too: its
     * relative links resolve against it (what the socket's group may not see of its items'
     * URLs). NULL: none known. A save writes it only when set.
     */
    char *base_url;
    char *etag;
    char *last_modified;
    int last_status;   /* HTTP status of the last poll, 0 when none (or a non-HTTP error) */
    char *last_error;  /* NULL after a good poll */
    unsigned failures; /* consecutive */
    int64_t last_poll_at;
    int64_t next_poll_at;
    bool recovered; /* the last document needed XML recovery */
    bool paused;
    char *disabled_reason; /* NULL unless disabled */
    char *runtime_url;     /* the URL given to `feedwatch add`; NULL for a config feed */
    char *runtime_opts;    /* JSON of `feedwatch add`'s options; NULL: none (read only) */
    bool removed;          /* removed at run time (`feedwatch remove`) */
    double item_rate;      /* new items per hour, decaying average; < 0: no evidence yet */
    int64_t items;         /* number of stored items; filled by loads and lists, ignored by save */
    /*
     * Clusters: the lease this state was claimed under (store_feeds_claim), 0 for none. A
     * save with one is fenced: it ends the lease, or fails with -ESTALE (nothing written)
     * when the feed was leased again since (another node holds its state now).
     */
    int64_t lease_epoch;
    /*
     * Its life as feed events see it (docs/DESIGN.md, "Feed events"), saved with the poll in
     * its transaction so that a failover neither loses nor repeats an event:
     */
    char *move_url;      /* the target of the permanent redirect seen on the last polls; NULL */
    unsigned move_seen;  /* on how many consecutive polls it was seen */
    int64_t last_new_at; /* when a poll last found a new item; FEED_TIME_NONE: never */
    double new_gap_s;    /* usual seconds between new items (decaying average); <= 0: unknown */
    bool stalled;        /* feed-stalled was raised, no new item since */
    int64_t doc_items;   /* items of the last document; < 0: none yet */
    char *life;          /* the state feed events last saw: "failing", "disabled"; NULL: ok */
};

/* One stored item as the CLI lists it. Borrowed by the callback for the call only. */
struct store_item_row {
    int64_t id;
    const char *feed;
    const char *key;
    const char *title;
    const char *url;
    int64_t published_at;
    int64_t updated_at;
    const char *author;
    const char *language;
    const char *summary;
    const char *text; /* NULL unless asked for (and known) */
    int64_t first_seen_at;
};

/* One alert as listed, or (store_alert_get) with everything a hook needs. Borrowed. */
struct store_alert_row {
    int64_t id;
    const char *topic;
    int64_t item_id;
    const char *feed;
    const char *title;
    const char *url;
    const char *state; /* pending, running, delivered, failed, no-hook */
    int attempts;
    int64_t raised_at;
    /* store_alert_get only (NULL / FEED_TIME_NONE in lists): */
    int64_t published_at;
    const char *author;
    const char *language;
    const char *text;    /* the cleaned text, else the summary or content */
    const char *matched; /* JSON array [{"term","field","snippet"}] */
};

/* One delivery of an alert (one hook's), as listed. Borrowed. */
struct store_delivery_row {
    const char *hook;
    const char *state; /* pending, running, delivered, failed */
    unsigned attempts;
    int64_t next_attempt_at; /* pending: not before this; FEED_TIME_NONE otherwise */
    const char *last_error;  /* why the last attempt failed; NULL when it did not */
    int64_t last_attempt_at; /* when the last attempt ended; FEED_TIME_NONE: none yet */
};

/* One feed event (`feedwatch events`, a hook's JSON). Borrowed by the callback for the call. */
struct store_feed_event_row {
    int64_t id;
    const char *event;      /* feed-disabled, feed-moved, ... */
    const char *feed;       /* the feed's name */
    const char *url;        /* the feed's URL in use when it was raised */
    const char *feed_state; /* ok, failing, disabled, paused */
    const char *reason;     /* what happened, in words; NULL: none */
    int64_t raised_at;
    const char *state; /* of its deliveries, as an alert's: pending ... delivered, no-hook */
    int attempts;
    /* Item events (0 / NULL for feed events): */
    int64_t alert_id;    /* the alert it is delivered on (item-updated, story-source) */
    int64_t version_id;  /* item-updated: the version the edit replaced (store_item_versions) */
    const char *changes; /* item-updated: its diff, JSON (edits.h) */
    int64_t item_id;     /* story-source: the item that became a source of the alert; item-updated:
                            the item edited (the alert's, or a source of it); 0: none */
};

typedef int (*store_feed_event_cb)(void *userdata, const struct store_feed_event_row *row);
typedef int (*store_feed_cb)(void *userdata, const struct store_feed *feed);
typedef int (*store_item_cb)(void *userdata, const struct store_item_row *row);
typedef int (*store_alert_cb)(void *userdata, const struct store_alert_row *row);
/* Returns 0 to go on, 1 to stop (found), <0 on error. */
typedef int (*store_story_cb)(void *userdata, int64_t alert_id, uint64_t simhash, int64_t feed_id);
/* Returns 0 to go on, 1 to stop, <0 on error. */
typedef int (*store_story_key_cb)(void *userdata, int64_t alert_id);
typedef int (*store_delivery_cb)(void *userdata, int64_t alert_id, const char *hook,
                                 unsigned attempts);
typedef int (*store_delivery_row_cb)(void *userdata, const struct store_delivery_row *row);
typedef int (*store_requeued_cb)(void *userdata, int64_t alert_id, const char *hook);
typedef int (*store_prune_cb)(void *userdata, int64_t item_id, const char *title, const char *body);
typedef int (*store_source_cb)(void *userdata, const char *feed, const char *url, const char *title,
                               int64_t item_id);

/*
 * Whether this feedwatch has an engine for database (the `database` key's value: a file path
 * for SQLite, or a PostgreSQL connection string, base/dbspec.h): 0, or -EPROTONOSUPPORT with
 * *reterr_msg (malloc'd; it names the key and this build's engines, the value's password
 * hidden). Opens nothing; store_open and store_open_reader refuse such a value the same way.
 */
int store_supports(const char *database, char **reterr_msg);

/*
 * Opens (creating if needed) the database with the engine that takes it: for a file, SQLite
 * in WAL, synchronous=NORMAL; for a connection string, a database that exists on a PostgreSQL
 * server (its tables are created); migrated to STORE_SCHEMA_VERSION.
 */
int store_open(const char *database, struct store **ret_store, char **reterr_msg);

/*
 * A read-only connection to an existing database of this schema version, for queries run
 * off the loop thread (one thread at a time): only the functions that read may be used.
 */
int store_open_reader(const char *database, struct store **ret_store, char **reterr_msg);

/*
 * Checks the structure of the whole file (PRAGMA quick_check, after reading the file once
 * in order so that its pages are cached: about 1.5 s for 200 MB on a cold cache; PostgreSQL:
 * the connection, the schema's version and that its tables and indexes are there and valid). 0, or
 * -EBADMSG (damaged) or another negative errno with *reterr_msg naming the file and what to
 * do (malloc'd).
 */
int store_check(struct store *store, char **reterr_msg);

/* Finalizes every statement and closes the connection; accepts NULL. */
void store_free(struct store *store);

/*
 * Bounds each statement of this connection (call it outside a transaction) to ms
 * milliseconds from now on (0: the engine's default), also after the connection is made
 * again: a statement that runs longer (a lock held elsewhere) fails with -EINTR. PostgreSQL:
 * the session's statement_timeout (the default is 60 s, PG_SESSION_OPTIONS); SQLite: nothing
 * to bound (a reader of a WAL file waits for no writer), 0 and nothing done. 0 or a negative
 * errno.
 */
int store_set_statement_timeout(struct store *store, unsigned ms);

/* The last error message of this connection (the engine's words). */
const char *store_errmsg(const struct store *store);

int store_begin(struct store *store);
/* A read transaction (one snapshot, the file's locks taken once for many lookups). */
int store_begin_read(struct store *store);
int store_commit(struct store *store);
void store_rollback(struct store *store);

/*
 * Parts of a transaction (savepoints): a batch of polls commits together, and a poll whose
 * writes fail is undone alone (store_part_rollback) while the others go on.
 */
int store_part_begin(struct store *store);
int store_part_end(struct store *store);
void store_part_rollback(struct store *store);

/*
 * Loads the feed called name, creating its row if it is new. When the stored configured_url
 * differs from configured_url, the row takes the new one and forgets the URL in use, the
 * validators (ETag, Last-Modified) and the failure count: it is a different feed source now.
 * *ret_feed is filled (the caller frees it with store_feed_done).
 */
int store_feed_ensure(struct store *store, const char *name, const char *configured_url,
                      struct store_feed *ret_feed);

/* Writes every state column of the feed with feed->id (not name, configured_url or items). */
int store_feed_save(struct store *store, const struct store_feed *feed);

/*
 * Marks the feed with id as added at run time (runtime_url, the URL given to `feedwatch add`)
 * or as a config feed (NULL), and as removed at run time or not. Not part of store_feed_save.
 */
int store_feed_set_runtime(struct store *store, int64_t id, const char *runtime_url, bool removed);

/* Sets the options of a feed added at run time (JSON text, NULL: none). */
int store_feed_set_runtime_opts(struct store *store, int64_t id, const char *runtime_opts);

/* Frees the strings of a struct store_feed and zeroes it; accepts a zeroed struct. */
void store_feed_done(struct store_feed *feed);

/* Copies src into *dst (deep); -ENOMEM on failure. */
int store_feed_copy(struct store_feed *dst, const struct store_feed *src);

/*
 * Stores item under feed_id, with its cleaned text and story signature (NULL / 0 when none),
 * unless (feed_id, item->key) is known: 1 stored (*ret_id set if not NULL), 0 known, <0 error.
 */
int store_item_add(struct store *store, int64_t feed_id, const struct feed_item *item,
                   const char *text, uint64_t simhash, int64_t now_at, int64_t *ret_id);

/* An item for store_items_add(): the item, its cleaned text and signature (NULL / 0: none). */
struct store_new_item {
    const struct feed_item *item;
    const char *text;
    uint64_t simhash;
};

/*
 * Stores the n items under feed_id, in order, each as store_item_add() would (a poll's new
 * items at once: on PostgreSQL a statement per STORE_ADD_BATCH items, not a round trip per
 * item). ret_ids[i]: items[i]'s row id when it was stored, 0 when its key was known (stored
 * before, or by an earlier item of the same call). The number stored, or a negative errno
 * (ret_ids then undefined; what was stored stays in the open transaction, to roll back).
 */
#define STORE_ADD_BATCH 256
int store_items_add(struct store *store, int64_t feed_id, const struct store_new_item *items,
                    size_t n, int64_t now_at, int64_t *ret_ids);

/* Whether (feed_id, key) is stored: 1 yes, 0 no, <0 error. */
int store_item_known(struct store *store, int64_t feed_id, const char *key);

/*
 * Whether each (feed_id, keys[i]) of n is stored, into ret_known[i] (a poll's lookups at once:
 * on PostgreSQL a statement per STORE_KNOWN_BATCH keys, not a round trip per item). 0, or a
 * negative errno (ret_known then undefined).
 */
#define STORE_KNOWN_BATCH 1000
int store_items_known(struct store *store, int64_t feed_id, const char *const *keys, size_t n,
                      bool *ret_known);

/* A stored item found by its link (store_items_by_url): what tells whether it is the same. */
struct store_item_ref {
    int64_t id;           /* 0: none, or several items have the link */
    char *key;            /* malloc'ed */
    char *title;          /* malloc'ed; NULL: none */
    int64_t published_at; /* FEED_TIME_NONE: none */
    uint64_t fingerprint; /* of its fields as last compared (hash_item_fields); 0: none yet */
};

/* Frees what ref holds and zeroes it. */
void store_item_ref_done(struct store_item_ref *ref);

/*
 * For each of the n urls (none NULL), the one item of feed_id stored with that URL into
 * ret[i] (store_item_ref_done frees it), or ret[i].id 0 when none or several items have it
 * (pruned items have no URL). A poll's lookups at once (STORE_KNOWN_BATCH URLs a statement
 * on PostgreSQL). 0, or a negative errno (ret[] all empty).
 */
int store_items_by_url(struct store *store, int64_t feed_id, const char *const *urls, size_t n,
                       struct store_item_ref *ret);

/*
 * Gives the item item_id of feed_id a new key and guid (its feed changed its ids, its link
 * stayed), unless the feed has an item of that key: 1 changed, 0 not, or a negative errno.
 */
int store_item_rekey(struct store *store, int64_t feed_id, int64_t item_id, const char *key,
                     const char *guid);

/*
 * The feed's saved boilerplate model (boilerplate_model_save() bytes): 0 with *ret_data
 * (malloc'ed and NUL-terminated, NULL when none) and *ret_len, or a negative errno.
 */
int store_feed_model_get(struct store *store, int64_t feed_id, char **ret_data, size_t *ret_len);

/* Saves the feed's boilerplate model (len bytes of data; NULL forgets it). */
int store_feed_model_set(struct store *store, int64_t feed_id, const char *data, size_t len);

/* Calls cb for every feed row, ordered by name, with its item count. Stops at cb's error. */
int store_feed_list(struct store *store, store_feed_cb cb, void *userdata);

/*
 * Calls cb for the newest items not pruned first (published, else first seen), of one feed when
 * feed_name is not NULL, at most limit of them; with_text also reads the cleaned text.
 */
int store_items_list(struct store *store, const char *feed_name, unsigned limit, bool with_text,
                     store_item_cb cb, void *userdata);

/* As store_items_list, of the feeds named in feeds_json (a JSON array of feed names). */
int store_items_list_feeds(struct store *store, const char *feeds_json, unsigned limit,
                           bool with_text, store_item_cb cb, void *userdata);

/* What an items query asks for; each member that is set narrows it (NULL, FEED_TIME_NONE: not). */
struct store_items_filter {
    const char *feed;       /* one feed's name */
    const char *feeds_json; /* a JSON array of feed names (items --tag); wins over feed */
    const char *topic;      /* the items that matched this topic: alerts' items and sources */
    int64_t since_at;       /* published (else first seen) at or after this */
};

/* As store_items_list, of the items that pass every member of f that is set. */
int store_items_query(struct store *store, const struct store_items_filter *f, unsigned limit,
                      bool with_text, store_item_cb cb, void *userdata);

/* One item in full (`feedwatch item ID`). Borrowed by the callback for the call only. */
struct store_item_full {
    struct store_item_row row; /* text included when known */
    const char *categories;    /* JSON array of strings; NULL when none */
    int64_t pruned_at;         /* when retention cleared it; FEED_TIME_NONE: not */
};
typedef int (*store_item_full_cb)(void *userdata, const struct store_item_full *item);

/* Calls cb once with item_id, pruned or not; -ENOENT when there is none. */
int store_item_get(struct store *store, int64_t item_id, store_item_full_cb cb, void *userdata);

/*
 * Calls cb for each alert raised on item_id (source false; row->matched set), then for each
 * alert it was attached to as another source (source true; the row is the alert's own item).
 */
typedef int (*store_item_alert_cb)(void *userdata, const struct store_alert_row *row, bool source);
int store_item_alerts(struct store *store, int64_t item_id, store_item_alert_cb cb, void *userdata);

/*
 * The URLs the row of the feed called name holds: configured, in use after permanent
 * redirects, given to `feedwatch add`, and the last document's (base_url) (what the socket's
 * group may not see of its items' URLs, url_item_brief), each malloc'ed or NULL when absent,
 * into ret_urls[0..STORE_FEED_URLS-1] (the caller frees them): 1 found, 0 no feed of that name
 * (all NULL), or a negative errno. Reads only.
 */
#define STORE_FEED_URLS 4
int store_feed_urls(struct store *store, const char *name, char *ret_urls[STORE_FEED_URLS]);

/* One feed's tallies from the store (`feedwatch feeds NAME`). */
struct store_feed_counts {
    int64_t items;            /* stored, pruned ones included */
    int64_t pruned_items;     /* of those, cleared by retention */
    int64_t last_new_item_at; /* when its newest item was first seen; FEED_TIME_NONE: none */
    /* raised on its items */
    int64_t alerts_delivered, alerts_pending, alerts_failed, alerts_no_hook;
};

/* Fills *ret for the feed called name (all zero when the store does not know it). */
int store_feed_counts(struct store *store, const char *name, struct store_feed_counts *ret);

/* Number of stored items, of all feeds. */
int store_count_items(struct store *store, int64_t *ret_count);

/* Bytes on disk of every file of the store (the database, -wal, -shm, ...; PostgreSQL:
 * pg_database_size). */
int store_disk_bytes(struct store *store, uint64_t *ret_bytes);

/*
 * Clusters: several daemons (nodes) on one database (PostgreSQL). An engine without them
 * (SQLite: one daemon per file) has store_clustered() false, and the operations below fail
 * with -EOPNOTSUPP. A lease lasts lease_s seconds of the database server's clock (the nodes'
 * clocks may disagree) unless its node renews it (store_node_beat); a node is alive while its
 * last beat is less than its lease_s old.
 */
bool store_clustered(const struct store *store);

/* One node as store_nodes_list gives it; borrowed by the callback for the call only. */
struct store_node {
    const char *name;
    int64_t pid;
    int64_t started_at;
    int64_t seen_at; /* its last beat, on the database's clock */
    int64_t lease_s;
    bool alive;
    const char *config_hash; /* NULL: not told */
    int64_t feed_leases;     /* feeds it holds a lease on */
    int64_t delivery_leases; /* deliveries it is running */
    const char *instance;    /* the life (start) that beat last; NULL: none yet */
    const char *host_name;   /* the machine it runs on; NULL: not told */
    int64_t left_at;         /* when it stopped (then not alive); 0: it did not */
};

typedef int (*store_node_cb)(void *userdata, const struct store_node *node);

/* This daemon as a node: who it is, for store_node_join, store_node_beat and store_node_leave. */
struct store_node_self {
    const char *name;
    const char *instance;    /* unique to this start of the daemon */
    const char *host_name;   /* NULL: not told */
    const char *config_hash; /* NULL: not told */
    int64_t pid;
    int64_t started_at;
    int64_t lease_s;
};

/*
 * Node self->name starts, in the caller's transaction: its row (created if new) is locked and
 * given to may_join, which returns 0 to go on or a negative errno to refuse (the row is
 * another life's: two daemons given one name). Going on ends the leases of the name's
 * previous life (a crash: its feed leases end, its running deliveries are pending again),
 * forgets the feeds it could not poll (store_feeds_skip: the config may have changed), makes
 * the row self's life, seen now, and forgets nodes dead for more than prune_s. *ret_now (may
 * be NULL): the database's clock, Unix seconds.
 */
int store_node_join(struct store *store, const struct store_node_self *self, int64_t prune_s,
                    store_node_cb may_join, void *userdata, int64_t *ret_now);

/* What a node has in hand, whose leases its beat renews. */
struct store_node_hand {
    const int64_t *feed_ids; /* feeds claimed and not saved yet */
    size_t n_feeds;
    const int64_t *alert_ids; /* deliveries (alert_ids[i], hooks[i]) running or being saved */
    char *const *hooks;
    size_t n_deliveries;
    const int64_t *event_ids; /* feed events' deliveries (event_ids[i], event_hooks[i]), too */
    char *const *event_hooks;
    size_t n_events;
};

/*
 * A beat of node self: its row seen now, and its leases renewed for lease_s: those of the
 * feeds and deliveries in hand (NULL: none; a lease it forgot, a poll aborted, a delivery
 * whose last write failed, ends by itself and is claimed again). -EADDRINUSE when the row
 * is another life's (another daemon of that name joined since: nothing is renewed). *ret_now
 * (may be NULL): the database's clock, Unix seconds.
 */
int store_node_beat(struct store *store, const struct store_node_self *self,
                    const struct store_node_hand *hand, int64_t *ret_now);

/*
 * Node self stops: its feed leases end now, its running deliveries are pending again, and it
 * is not alive, so the others take its hosts and feeds at once. Nothing when its row is
 * another life's.
 */
int store_node_leave(struct store *store, const struct store_node_self *self);

/* Forgets the nodes not alive for more than prune_s (and what they could not poll). */
int store_nodes_prune(struct store *store, int64_t prune_s);

/*
 * The n feeds of ids are ones node cannot poll (its config lacks them, or has them off):
 * node's leases on them end, and claims give their hosts' other nodes these feeds
 * (store_feeds_claim) until node joins again or n is 0 with clear (a reload: forgets them all).
 */
int store_feeds_skip(struct store *store, const char *node, bool clear, const int64_t *ids,
                     size_t n);

/*
 * Where store_feeds_changed reads on from ({0} at first). A read is a sweep over the changes
 * from `since` on, in pages of at most limit rows (`at_xid`, `at_id`: the last row given);
 * a sweep that ends moves `since` to the oldest transaction running when it began
 * (`sweep_xmin`; 0: no sweep under way), so a change committed late is read by the next one.
 */
struct store_changes_pos {
    int64_t since;
    int64_t sweep_xmin;
    int64_t at_xid;
    int64_t at_id;
};

/*
 * The feeds whose state (poll state, paused, disabled, removed, run-time URL) changed since
 * *pos, at most limit, in the order of their changes, with *pos moved on: a node sees what
 * the others did. A change may come twice (a sweep reads again from the oldest transaction
 * running when the last began), never not at all; however many feeds changed while one
 * transaction ran long, each read goes on from the last page's row.
 */
int store_feeds_changed(struct store *store, struct store_changes_pos *pos, unsigned limit,
                        store_feed_cb cb, void *userdata);

/* Every node that ever beat on this database, by name. */
int store_nodes_list(struct store *store, store_node_cb cb, void *userdata);

/*
 * A run-time change of a feed on a cluster (`pause`, `resume`): only its paused flag, failures
 * and disabled reason, never the poll state another node may have written since (a node's
 * copy of it can be old).
 */
int store_feed_set_state(struct store *store, int64_t id, bool paused, unsigned failures,
                         const char *disabled_reason);

/*
 * Leases feeds to node for lease_s and gives each to cb, in due order, with lease_epoch
 * set: at most limit feeds that are due (never polled, or next_poll_at at or before the
 * database's now), not paused, removed or disabled, whose lease is free or ended (or node's
 * own while not among the n_hand of hand, the feeds node has in hand: a claim it dropped),
 * and whose host is node's: of the nodes alive (node counted in) that can poll the feed (not
 * store_feeds_skip's), the one whose name hashes highest with the host (rendezvous hashing),
 * so that a host is polled by one node at a time and max_per_host holds for the cluster (a
 * feed its host's node cannot poll goes to the next node of that host's order). only_id > 0:
 * that feed alone, due or not and whatever its host (`poll NAME`), when its lease is free or
 * ended. The number leased, or a negative errno.
 */
int store_feeds_claim(struct store *store, const char *node, int64_t lease_s, unsigned limit,
                      const int64_t *hand, size_t n_hand, int64_t only_id, store_feed_cb cb,
                      void *userdata);

/*
 * Leases to node, for lease_s, at most limit deliveries that are pending and due at now_at
 * (COALESCE(next_attempt_at, 0) <= now_at) or running under a lease that ended (their node
 * died mid-run; or running with no lease), in due order, skipping those another node's claim
 * holds (never one delivery on two nodes): each is made running with lease_node = node, its
 * attempts counted (+1, as the "running" state store_delivery_set writes) and its alert's
 * state refreshed, and is given to cb with the attempts before this one, as
 * store_deliveries_due gives them. Only deliveries to the n_hooks hooks node has are claimed
 * (a node whose config lacks a hook leaves its deliveries to the nodes that have it). The
 * delivery's next state (store_delivery_set) ends its lease, and is refused (-ESTALE) when
 * another node holds the delivery's lease by then (this node's lease ended meanwhile);
 * store_node_beat renews it meanwhile. The number leased, or a negative errno.
 */
int store_deliveries_claim(struct store *store, const char *node, int64_t now_at, int64_t lease_s,
                           unsigned limit, char *const *hooks, size_t n_hooks, store_delivery_cb cb,
                           void *userdata);

/*
 * Alerts. An alert is one (topic, item), raised once ever; each has one delivery row per hook
 * of its topic, and its state is the worst of theirs (failed, running, pending, delivered), or
 * no-hook when it has none. Deliveries go pending -> running -> delivered, or back to pending
 * with a later next_attempt_at, or failed after the hook's retries; `redeliver` makes one
 * pending again with its attempts reset (store_delivery_requeue, a delivery to a hook the
 * alert did not have is created; store_deliveries_requeue_failed). A hook added to a topic
 * later gets no delivery of the alerts raised before unless `redeliver` asks.
 */
int store_alert_add(struct store *store, const char *topic, int64_t item_id,
                    const char *matched_json, char *const *hooks, size_t n_hooks, int64_t raised_at,
                    int64_t *ret_id);
int store_story_candidates(struct store *store, const char *topic, int64_t since_at,
                           uint64_t simhash, int64_t feed_id, store_story_cb cb, void *userdata,
                           uint64_t *steps);
/*
 * Cross-language story candidates (feeds/topics/story.h). store_alert_set_story keeps the story
 * signature of alert_id (topic, raised_at): its packed bytes (story_sig_pack) and one story key
 * row per key (keys it had stay). store_story_key_candidates calls cb(alert_id) for the
 * newest limit alerts of topic raised at or after since_at whose signature has key, newest
 * first (one index range). store_alert_story_sig copies the signature bytes of alert_id into
 * buf (size bytes): 1 with *ret_len and *ret_raised_at (may be NULL), 0 when it has none (or
 * they do not fit). Both lookups add their cost (SQLite: VM steps; PostgreSQL: rows) to *steps
 * (may be NULL).
 */
int store_alert_set_story(struct store *store, int64_t alert_id, const char *topic,
                          int64_t raised_at, const void *sig, size_t sig_len, const uint32_t *keys,
                          size_t n_keys);
int store_story_key_candidates(struct store *store, const char *topic, int64_t since_at,
                               uint32_t key, unsigned limit, store_story_key_cb cb, void *userdata,
                               uint64_t *steps);
int store_alert_story_sig(struct store *store, int64_t alert_id, void *buf, size_t size,
                          size_t *ret_len, int64_t *ret_raised_at, uint64_t *steps);
int store_alert_add_source(struct store *store, int64_t alert_id, int64_t item_id);

/*
 * Takes, until the end of the caller's transaction, the lock of story grouping: of several
 * daemons on one database (clusters), one transaction at a time looks for an item's story
 * (store_story_candidates) and raises or attaches its alerts, so that two nodes storing the
 * same story at once raise one alert, the other attaching to it. Nothing with one daemon per
 * database (SQLite: its one writer is the lock).
 */
int store_story_lock(struct store *store);
int store_deliveries_due(struct store *store, int64_t now_at, unsigned limit, store_delivery_cb cb,
                         void *userdata);
int store_delivery_next_due(struct store *store, int64_t *ret_at);
int store_delivery_set(struct store *store, int64_t alert_id, const char *hook, const char *state,
                       unsigned attempts, int64_t next_attempt_at, const char *last_error,
                       int64_t ended_at);
int store_deliveries_reset_running(struct store *store);
int store_delivery_requeue(struct store *store, int64_t alert_id, const char *hook, int64_t now_at);
/*
 * Makes failed deliveries pending (to hook, or any; of the hooks in the JSON array
 * hooks_json), at most limit of them (0: all) whose key (alert_id, hook) comes after
 * (after_alert, after_hook) in key order, so that a caller can go on in batches from the
 * greatest key cb was given; the number made pending.
 */
int store_deliveries_requeue_failed(struct store *store, const char *hook, const char *hooks_json,
                                    int64_t now_at, int64_t after_alert, const char *after_hook,
                                    unsigned limit, store_requeued_cb cb, void *userdata);
/*
 * Retention of feed events: deletes at most limit feed events raised before cutoff_at (oldest
 * first) none of whose deliveries is pending or running, with their deliveries, in a
 * transaction of its own (or the caller's). *ret_pruned: how many.
 */
int store_feed_events_prune(struct store *store, int64_t cutoff_at, unsigned limit,
                            unsigned *ret_pruned);
/* As store_deliveries_requeue_failed, of feed events' deliveries (keys (event_id, hook)). */
int store_event_deliveries_requeue_failed(struct store *store, const char *hook,
                                          const char *hooks_json, int64_t now_at,
                                          int64_t after_event, const char *after_hook,
                                          unsigned limit, store_requeued_cb cb, void *userdata);
int store_alert_deliveries(struct store *store, int64_t alert_id, store_delivery_row_cb cb,
                           void *userdata);
int store_alert_get(struct store *store, int64_t alert_id, store_alert_cb cb, void *userdata);
/*
 * Calls cb(feed, url, title, item_id) for the other sources of alert_id (its story), by item
 * id: the first limit of them (0: all) and, when also_item is a source past those, that one
 * too (last); *ret_total (may be NULL) gets how many sources the alert has in all. The limit
 * is the query's: an alert with thousands of sources costs limit rows, not thousands.
 */
int store_alert_sources(struct store *store, int64_t alert_id, unsigned limit, int64_t also_item,
                        int64_t *ret_total, store_source_cb cb, void *userdata);
/*
 * The sources an alert's JSON lists (hooks' JSON, `alerts`, `watch`): the first ones attached,
 * the rest only counted (`sources_total`), so a story of thousands of copies stays small.
 */
#define STORE_SOURCES_LISTED 100
/*
 * Calls cb for the newest alerts first (of topic; NULL: all), at most limit (0: all).
 * failed_only: only the alerts with a delivery that failed, of their own or of an item event
 * raised on them (item-updated, story-source); the alert's state stays its own deliveries'.
 */
int store_alerts_list(struct store *store, const char *topic, bool failed_only, unsigned limit,
                      store_alert_cb cb, void *userdata);
/* Alerts ever raised per topic (cb once per topic; a negative return stops with it). */
typedef int (*store_topic_count_cb)(void *userdata, const char *topic, int64_t count);
int store_alert_topic_counts(struct store *store, store_topic_count_cb cb, void *userdata);
/*
 * Alerts by their own state (an alert's state is its own deliveries'); ret_no_hook may be NULL.
 */
int store_alert_counts(struct store *store, int64_t *ret_delivered, int64_t *ret_pending,
                       int64_t *ret_failed, int64_t *ret_no_hook);
/*
 * Item events (item-updated, story-source) whose delivery to some hook failed: counted apart
 * from the alerts they ride on, whose own state they do not change.
 */
int store_item_events_failed(struct store *store, int64_t *ret_count);

/*
 * Retention: prunes at most limit items first seen before cutoff_at (and with an id of at
 * most max_id: the search index follows the store, see search.h) in one transaction of its
 * own: their text and metadata are cleared, their (feed, key, first seen) row stays so an item
 * a feed still lists is neither stored nor alerted again, and the `matched` snippets of their
 * alerts go too. Items with an alert not yet delivered (pending, running) keep their text.
 * Before clearing, cb (may be NULL) gets each item's title and body (the text the index was
 * given); a batch also stops once max_bytes of them were handed over. 0 with *ret_pruned (0:
 * nothing was due), or a negative errno (nothing of the batch remains).
 */
int store_prune_batch(struct store *store, int64_t cutoff_at, int64_t max_id, unsigned limit,
                      size_t max_bytes, int64_t now_at, store_prune_cb cb, void *userdata,
                      unsigned *ret_pruned);

/* What retention has pruned so far, and when it last did (FEED_TIME_NONE: never). */
int store_retention_get(struct store *store, int64_t *ret_pruned_items, int64_t *ret_last_at);

/*
 * Feed events (feed-disabled, feed-moved, ...): one row per event raised, with one delivery
 * per hook that takes it, delivered as alerts are (pending -> running -> delivered, retried,
 * failed; leased on a cluster). Added in the transaction of the poll that raised it.
 */
int store_feed_event_add(struct store *store, int64_t feed_id, const char *event, const char *url,
                         const char *feed_state, const char *reason, char *const *hooks,
                         size_t n_hooks, int64_t raised_at, int64_t *ret_id);
/*
 * Raises story-source (issue 17, part 2): item_id, of feed_id, became a source of alert_id. A
 * feed_events row (event "story-source", alert_id and item_id set, not listed by
 * store_feed_events_list) with one pending delivery per hook, delivered as feed events are.
 * Added in the transaction of the poll that attached it. 0 with *ret_id (may be NULL).
 */
int store_story_source_add(struct store *store, int64_t feed_id, int64_t alert_id, int64_t item_id,
                           char *const *hooks, size_t n_hooks, int64_t raised_at, int64_t *ret_id);
/* As store_deliveries_due, store_delivery_next_due, store_delivery_set, of feed events. */
int store_event_deliveries_due(struct store *store, int64_t now_at, unsigned limit,
                               store_delivery_cb cb, void *userdata);
int store_event_delivery_next_due(struct store *store, int64_t *ret_at);
int store_event_delivery_set(struct store *store, int64_t event_id, const char *hook,
                             const char *state, unsigned attempts, int64_t next_attempt_at,
                             const char *last_error, int64_t ended_at);
/* As store_deliveries_claim, of feed events (clusters only: -EOPNOTSUPP otherwise). */
int store_event_deliveries_claim(struct store *store, const char *node, int64_t now_at,
                                 int64_t lease_s, unsigned limit, char *const *hooks,
                                 size_t n_hooks, store_delivery_cb cb, void *userdata);
/* Calls cb once with the event of id; -ENOENT when there is none. */
int store_feed_event_get(struct store *store, int64_t id, store_feed_event_cb cb, void *userdata);
/* The newest events first (only those with a failed delivery: failed_only), at most limit. */
int store_feed_events_list(struct store *store, bool failed_only, unsigned limit,
                           store_feed_event_cb cb, void *userdata);
/* The deliveries of one event, by hook. */
int store_event_deliveries(struct store *store, int64_t event_id, store_delivery_row_cb cb,
                           void *userdata);

/*
 * Edited items (docs/PRODUCT.md "Edited items"; text/edits.h decides what an edit is). Each
 * item keeps the fingerprint of its fields as its feed last gave them (title, summary,
 * content), so a poll tells an unchanged item without reading its text; a material edit keeps
 * the version it replaced (at most STORE_VERSIONS_MAX an item, the oldest dropped) with its
 * diff, and the item takes the new fields. Retention clears an item's versions with it.
 */
#define STORE_VERSIONS_MAX 10

/* What a poll knows of one key of its document. */
struct store_item_seen {
    int64_t id;           /* the stored item; 0: not stored */
    uint64_t fingerprint; /* of its fields as last compared; 0: none yet (stored before 13) */
    int64_t edited_at;    /* when an edit of it was last kept; FEED_TIME_NONE: never */
    bool pruned;          /* retention cleared it */
};

/* As store_items_known, with what ret[i] says of each key (one statement per STORE_KNOWN_BATCH
 * keys on PostgreSQL). 0, or a negative errno (ret then undefined). */
int store_items_seen(struct store *store, int64_t feed_id, const char *const *keys, size_t n,
                     struct store_item_seen *ret);

/* An item's fields as its feed last gave them (malloc'ed, NULL when absent). */
struct store_item_fields {
    char *title, *summary, *content;
    char *body;           /* what search indexes of it: its text, else summary, else content */
    uint64_t simhash;     /* its text's (simhash.h; 0: none) */
    bool has_text;        /* it has a cleaned text (with fetch_article: its page's) */
    uint64_t fingerprint; /* 0: none yet */
    bool pruned;
    int64_t since_at; /* since when they are the item's: its last kept edit, else first seen */
};

/* Reads item_id's fields into *ret (store_item_fields_done frees them): 0, -ENOENT, <0. */
int store_item_fields_get(struct store *store, int64_t item_id, struct store_item_fields *ret);
void store_item_fields_done(struct store_item_fields *f);

/* Sets item_id's fingerprint alone (a first one, or an edit that is not material). */
int store_item_fingerprint_set(struct store *store, int64_t item_id, uint64_t fingerprint);

/* A material edit of an item, for store_item_edit. */
struct store_item_edit {
    const struct feed_item *item; /* the new version: its title, summary and content */
    const char *text;             /* its new cleaned text; NULL: the stored text stays */
    uint64_t simhash;             /* text's SimHash, kept with it (0: none); unused without */
    uint64_t fingerprint;         /* of the new version */
    const char *prev_title;       /* the version it replaces, as plain text */
    const char *prev_text;
    int64_t prev_seen_at; /* since when that version was the item's (first seen, last edit) */
    const char *changes;  /* the diff, JSON */
};

/*
 * Keeps the version e replaces (at most STORE_VERSIONS_MAX of item_id's, the oldest dropped)
 * and gives the item e's fields, fingerprint and edited_at = now_at, and with a text its
 * SimHash (the story signature an alert raised on the item from now on takes: story_bands).
 * 0 with *ret_version_id.
 */
int store_item_edit(struct store *store, int64_t item_id, const struct store_item_edit *e,
                    int64_t now_at, int64_t *ret_version_id);

/* One kept version of an item (store_item_versions). Borrowed by the callback. */
struct store_item_version {
    int64_t id;
    const char *title, *text; /* as they were, plain text */
    int64_t seen_at;          /* since when it was the item's */
    int64_t replaced_at;      /* when the edit replaced it */
    const char *changes;      /* the edit's diff, JSON */
};
typedef int (*store_item_version_cb)(void *userdata, const struct store_item_version *v);

/* Calls cb for each kept version of item_id, the newest first. */
int store_item_versions(struct store *store, int64_t item_id, store_item_version_cb cb,
                        void *userdata);

/* The alert of (topic, item_id): 1 with *ret_id, 0 none, or a negative errno. */
int store_alert_find(struct store *store, const char *topic, int64_t item_id, int64_t *ret_id);

/*
 * Raises item-updated on alert_id for the edit that kept version_id: a feed_events row (event
 * "item-updated", not listed by store_feed_events_list) with one pending delivery per hook,
 * delivered as feed events are. 0 with *ret_id.
 */
int store_item_update_add(struct store *store, int64_t feed_id, int64_t alert_id,
                          int64_t version_id, char *const *hooks, size_t n_hooks, int64_t raised_at,
                          int64_t *ret_id);

/*
 * Calls cb for each item event raised on alert_id, item-updated and story-source alike (row->
 * event says which), the oldest first.
 */
int store_alert_item_events(struct store *store, int64_t alert_id, store_feed_event_cb cb,
                            void *userdata);

/*
 * Batches (`[hook] batch`): a hook with a window runs its due deliveries, alerts' and feed
 * events' alike, together, at most once per window. One delivery of a batch, as
 * store_batch_take gives it: ev (a feed event's; else an alert's), its id, its attempts
 * before this run.
 */
typedef int (*store_batch_cb)(void *userdata, bool ev, int64_t id, unsigned attempts);

/*
 * Takes a batch of hook's deliveries, in the caller's transaction (or one of its own). When
 * hook's last batch started less than window_s ago (the store keeps when, across restarts),
 * its pending deliveries due at now_at become due when the window ends instead, and nothing
 * is taken: *ret_open_at (may be NULL) says when that is. Else at most limit deliveries of
 * hook (alerts' first, then feed events', each in due order) that are pending and due at
 * now_at, or, on a cluster, running under a lease that ended, become running with their
 * attempts counted (+1), leased to node for lease_s on a cluster as store_deliveries_claim
 * leases them (node NULL without clusters), and go to cb; when fewer than limit were due the
 * window starts at now_at (a full batch leaves it open: the rest goes in the next run at
 * once); *ret_open_at is 0. On a cluster the hook's window row is locked until the end of
 * the transaction: two nodes never take one hook's batch at once. The number taken, or a
 * negative errno (nothing taken).
 */
int store_batch_take(struct store *store, const char *hook, int64_t window_s, int64_t now_at,
                     unsigned limit, const char *node, int64_t lease_s, store_batch_cb cb,
                     void *userdata, int64_t *ret_open_at);

/*
 * When hook's last batch started (FEED_TIME_NONE: none, or never) into *ret_at; with set,
 * makes it at (FEED_TIME_NONE: forgets it) first: a batch cut short gives its window back.
 */
int store_batch_window(struct store *store, const char *hook, bool set, int64_t at,
                       int64_t *ret_at);

/*
 * hook's window is new_window_s long now (0: it has none), no longer old_window_s (a reload
 * changed its `batch`): when the new window ends sooner, its pending deliveries that wait for
 * the end of the window its last batch opened (a next attempt at exactly that end, the
 * deferral of store_batch_take) wait for the new one's end instead, or none when it is past
 * (due at now_at). A delivery waiting for its own retry backoff keeps it: the deferral only
 * ever moves deliveries that were due, so one whose next attempt is another time waits for
 * a backoff (or was raised) and is left alone. In the caller's transaction (or one of its own;
 * on a cluster the hook's window row is locked as a take locks it). The number of deliveries
 * moved, or a negative errno (none moved).
 * old_window_s < 0: a start, the window the deferrals were made with unknown (it is not
 * stored): every first attempt (attempts 0) of the hook waiting past the new window's end
 * is due at it (a retry deferred by a longer window still waits for that window's end).
 */
int store_batch_rewindow(struct store *store, const char *hook, int64_t old_window_s,
                         int64_t new_window_s, int64_t now_at);

#endif
