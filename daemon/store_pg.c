/*
 * store_pg.c — the store's PostgreSQL engine (store-internal.h): a database on a PostgreSQL
 * server (15 or newer), reached through libpq. store.h says what each operation does, and the
 * SQLite engine (store_sqlite.c) is the reference: same returns, same errnos, same callbacks
 * in the same order; store.c dispatches to the functions of store_pg_engine at the end of
 * this file.
 *
 * Connection. The `database` value is a libpq connection string (base/dbspec.h: a URI or
 * keyword=value pairs), handed to PQconnectdbParams whole (expand_dbname), with a
 * connect_timeout, a statement_timeout (PG_SESSION_OPTIONS) and TCP keepalives and
 * tcp_user_timeout (PG_KEEPALIVES_*) the value may override and client_encoding UTF8 (the
 * store's text is UTF-8) it may not; store_set_statement_timeout bounds one connection's
 * statements more tightly (the loop's). One struct store is one connection,
 * used by one thread at a time and blocking, as a SQLite connection is. Messages name the server by
 * dbspec_redact() of the value, never with its password. A connection the server or the network
 * dropped is made again by the next operation outside a transaction (a BEGIN or a read that met the
 * dropped connection is sent again on the new one; a write outside a transaction is not, and fails
 * with -ECONNRESET); inside one, the operation fails with -ECONNRESET and the transaction is
 * lost: every operation fails until store_rollback. A COMMIT that meets a dropped connection
 * fails, though the server may have committed it.
 *
 * Statements. Every statement is in pg_sql[], prepared once per connection at open
 * (PQprepare, named "fw<index>") and run with PQexecPrepared, its values as text-format
 * parameters: no value is ever put into SQL text. Only constant SQL runs unprepared: the
 * migrations and the session's settings. A result is read whole before any callback runs,
 * so a callback may call the store again; the lists are bounded by their limit, and the
 * lists without one (feeds, deliveries of an alert, topics) are bounded by the config.
 *
 * Migrations. The engine's own schema versions are pg_migrations[] (PG_SCHEMA_VERSION; version
 * 1 is store schema 11, the SQLite schema of this build; 2 adds the search index's tables,
 * which SQLite keeps in a file of their own; 3 the nodes and leases of clusters; 4 nodes' lives,
 * the feeds a node cannot poll and the feeds' state_xid; 5, store schema 12, feed events; 6,
 * store schema 13, the windows of hooks' batches),
 * recorded in the one row of
 * feedwatch_schema. store_open applies those the database lacks in one transaction that first
 * takes the transaction-scoped advisory lock PG_MIGRATE_LOCK_KEY, so that of two daemons
 * starting at once on a new database one migrates and the other, once the lock is its own,
 * finds nothing left to do. A database whose version is newer than this build's is refused.
 *
 * Types. Instants are Unix seconds in bigint columns (NULL: FEED_TIME_NONE). Ids are bigint
 * identity columns. The 64-bit story signature (uint64_t) is stored in a bigint as the
 * two's-complement signed value and converted back on read; its bands (bits 9n..) come from
 * >> and & on that bigint, which agree with the unsigned bits once masked. Flags are boolean.
 * The boilerplate model is bytea, written as a "\x" hex text parameter. Text is UTF-8 (the
 * database must be UTF8): a value that is not valid UTF-8, which SQLite would keep as it is,
 * is stored with U+FFFD for each invalid byte. The text columns that
 * are keys or sort keys (feed names, item keys, topics, hooks) are COLLATE "C": byte order,
 * as SQLite's BINARY, whatever the database's locale, so that ordering and the key ranges of
 * store_deliveries_requeue_failed agree with strcmp.
 *
 * Write transactions are READ COMMITTED (the server's default); store_begin_read's are
 * REPEATABLE READ, one snapshot for its lookups as in SQLite. READ COMMITTED is enough for what
 * this engine serves today: one writer per database (the daemon's writer thread) and read-only
 * readers. Each write either is one statement or reads only rows its own transaction wrote or that
 * cannot change under it (an id just returned), and the inserts that might meet a concurrent
 * one are ON CONFLICT on the table's unique key, which READ COMMITTED resolves against the
 * other transaction's commit. Several daemons writing one database coordinate through
 * leases, a later step of issue 16. A statement that fails inside a transaction aborts it:
 * PostgreSQL refuses every statement after it until a rollback (SQLite undoes only the failed
 * statement), so the callers roll back the part (store_part_rollback) or the transaction after
 * any error, as the writer does; store_commit of such a transaction fails.
 */
#include "store-internal.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libpq-fe.h>

#include "base/hash.h"
#include "base/utf8.h"

/*
 * The key of the advisory lock held while migrating: "FWDB" (the SQLite engine's
 * application_id, 0x46574442) in the high 32 bits, 1 ("schema") in the low ones. Any session
 * of any program taking pg_advisory_lock on this number waits for, or holds up, a migration.
 */
#define PG_MIGRATE_LOCK_KEY INT64_C(0x4657444200000001)

/* The key of the lock of story grouping (store_story_lock): "FWDB", 2 ("stories"). */
#define PG_STORY_LOCK_KEY INT64_C(0x4657444200000002)

/* Seconds libpq waits to connect when the connection string does not say (it waits forever). */
#define PG_CONNECT_TIMEOUT "10"

/*
 * A server gone silent over TCP (a partition, a dead host) is noticed in seconds, not after
 * the kernel's two hours of keepalive or fifteen minutes of retransmissions: keepalive probes
 * after 5 s idle, every 2 s, 3 unanswered end the connection (~11 s); data unacknowledged for
 * 10 s ends it too (tcp_user_timeout). The connection string's own values win; a Unix socket
 * ignores them. A server that answers TCP but not queries (stopped, swamped) is bounded by
 * statement_timeout instead, which its backend enforces, or not at all when it is stopped.
 */
#define PG_KEEPALIVES_IDLE "5"
#define PG_KEEPALIVES_INTERVAL "2"
#define PG_KEEPALIVES_COUNT "3"
#define PG_TCP_USER_TIMEOUT "10000"

/*
 * The longest a statement may run (the server cancels it: the operation fails with -EINTR and
 * the server's message), so that a lock held elsewhere or a stuck server cannot block the
 * writer or the loop forever. libpq's `options` of the connection string replace it whole
 * (e.g. options='-c statement_timeout=0' for none). Migrations are not bounded.
 */
#define PG_SESSION_OPTIONS "-c statement_timeout=60s"

/*
 * A connection bounded by store_set_statement_timeout (the loop's) also waits no longer than
 * that and PG_DEADLINE_GRACE_MS for an answer, on its own clock: a server process that is
 * stopped or starved cannot enforce its statement_timeout, and the loop would wait for as
 * long as it sleeps. Past the deadline the connection is dropped (its socket shut: no cancel
 * request, which would wait for the same server) and not made again for
 * PG_DEADLINE_BACKOFF_MS, each attempt then bounded the same way; meanwhile statements fail
 * at once. The statement may still run once the server wakes: only reads are sent on such
 * a connection.
 */
#define PG_DEADLINE_GRACE_MS 2000
#define PG_DEADLINE_BACKOFF_MS 10000

/* The most parameters of one statement here (STMT_ITEM_ADD's 15). */
#define PG_MAX_PARAMS 16

/* What to do about a database that fails store_check. */
#define PG_DAMAGED_ADVICE                                                                          \
    " (the database lacks part of feedwatch's schema or an index is not valid: restore it from"    \
    " a backup, or REINDEX the invalid index)"

/*
 * The schema. Entry N-1 brings a database from version N-1 to N (feedwatch_schema.version);
 * applied entries are never edited: a change is a new entry and a bump of PG_SCHEMA_VERSION.
 * Version 1 is the SQLite engine's schema 11 (its store_migrations[] explain each column),
 * with the same tables, columns, unique keys and the indexes the statements below read.
 */
static const char *const pg_migrations[] = {
    /* 1: store schema 11. */
    "CREATE TABLE feeds ( -- one row per configured or added feed, with its poll state\n"
    "    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
    "    name text COLLATE \"C\" NOT NULL UNIQUE, -- the feed's name in the config or `add`\n"
    "    configured_url text NOT NULL, -- the URL as configured\n"
    "    url text,                     -- URL in use after permanent redirects; NULL: configured\n"
    "    etag text,                    -- ETag of the last 200 response\n"
    "    last_modified text,           -- Last-Modified of the last 200 response\n"
    "    last_status integer NOT NULL DEFAULT 0, -- HTTP status of the last poll; 0: none\n"
    "    last_error text,              -- why the last poll failed; NULL after a good poll\n"
    "    failures bigint NOT NULL DEFAULT 0,     -- consecutive failed polls\n"
    "    last_poll_at bigint,          -- when the last poll finished\n"
    "    next_poll_at bigint,          -- when the next poll is due\n"
    "    recovered boolean NOT NULL DEFAULT false, -- the last document needed XML recovery\n"
    "    paused boolean NOT NULL DEFAULT false,  -- paused at run time (`feedwatch pause`)\n"
    "    disabled_reason text,         -- why it was disabled; NULL if not\n"
    "    created_at bigint NOT NULL,   -- when the row was created\n"
    "    runtime_url text,             -- URL given to `feedwatch add`; NULL: a config feed\n"
    "    removed boolean,              -- removed with `feedwatch remove`; NULL or false: not\n"
    "    item_rate double precision,   -- new items per hour (decaying average); NULL: none\n"
    "    boilerplate bytea,            -- boilerplate_model_save() bytes; NULL: none yet\n"
    "    runtime_opts text,            -- JSON options of `feedwatch add`; NULL: none\n"
    "    base_url text                 -- the last document's URL after every redirect\n"
    ");\n"
    "CREATE TABLE items ( -- one row per (feed, key) ever seen; retention clears, never deletes\n"
    "    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
    "    feed_id bigint NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,\n"
    "    key text COLLATE \"C\" NOT NULL, -- identity within the feed\n"
    "    guid text, title text, url text,\n"
    "    published_at bigint,          -- publication time given by the feed\n"
    "    updated_at bigint,            -- last update time given by the feed\n"
    "    author text, language text,\n"
    "    summary text,                 -- summary/description as HTML\n"
    "    content text,                 -- full content as HTML\n"
    "    categories text,              -- JSON array of strings; NULL when none\n"
    "    text text,                    -- cleaned main text; NULL until known\n"
    "    first_seen_at bigint NOT NULL, -- when this store first stored the item\n"
    "    simhash bigint,               -- story signature, two's complement; NULL: none\n"
    "    pruned_at bigint,             -- when retention cleared it; NULL: not\n"
    "    UNIQUE (feed_id, key)         -- an item is stored once per feed\n"
    ");\n"
    "-- The items lists, newest first (published, else first seen), of all feeds or of one.\n"
    "CREATE INDEX items_newest ON items ((COALESCE(published_at, first_seen_at)), id);\n"
    "CREATE INDEX items_feed_newest ON items (feed_id, (COALESCE(published_at, first_seen_at)),"
    " id);\n"
    "-- store_prune_batch: the oldest items not pruned yet.\n"
    "CREATE INDEX items_unpruned ON items (first_seen_at) WHERE pruned_at IS NULL;\n"
    "CREATE TABLE alerts ( -- one row per (topic, item) ever raised\n"
    "    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
    "    topic text COLLATE \"C\" NOT NULL, -- the [topic] name\n"
    "    item_id bigint NOT NULL REFERENCES items(id) ON DELETE CASCADE,\n"
    "    state text NOT NULL DEFAULT 'pending', -- pending, running, delivered, failed, no-hook\n"
    "    attempts bigint NOT NULL DEFAULT 0,    -- the most attempts of any of its deliveries\n"
    "    matched text,                 -- JSON [{\"term\",\"field\",\"snippet\"}]\n"
    "    raised_at bigint NOT NULL,\n"
    "    UNIQUE (topic, item_id)\n"
    ");\n"
    "CREATE INDEX alerts_topic_raised ON alerts (topic, raised_at);\n"
    "CREATE INDEX alerts_state ON alerts (state);\n"
    "CREATE INDEX alerts_item ON alerts (item_id, state);\n"
    "CREATE TABLE alert_sources ( -- the same story from other feeds, attached to the first alert\n"
    "    alert_id bigint NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,\n"
    "    item_id bigint NOT NULL REFERENCES items(id) ON DELETE CASCADE,\n"
    "    PRIMARY KEY (alert_id, item_id)\n"
    ");\n"
    "CREATE INDEX alert_sources_item ON alert_sources (item_id);\n"
    "CREATE TABLE deliveries ( -- one row per (alert, hook)\n"
    "    alert_id bigint NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,\n"
    "    hook text COLLATE \"C\" NOT NULL, -- the [hook] name\n"
    "    state text NOT NULL DEFAULT 'pending', -- pending, running, delivered, failed\n"
    "    attempts bigint NOT NULL DEFAULT 0,    -- runs started so far (unsigned in C)\n"
    "    next_attempt_at bigint,       -- when pending: not before this\n"
    "    last_error text,              -- why the last attempt failed\n"
    "    last_attempt_at bigint,       -- when its last attempt ended; NULL: none yet\n"
    "    PRIMARY KEY (alert_id, hook)\n"
    ");\n"
    "-- The due read walks it in order and stops at now; the expressions are the statements'.\n"
    "CREATE INDEX deliveries_due ON deliveries (state, (COALESCE(next_attempt_at, 0)), alert_id);\n"
    "CREATE TABLE retention ( -- one row: what retention has pruned so far\n"
    "    id integer PRIMARY KEY CHECK (id = 1),\n"
    "    pruned_items bigint NOT NULL DEFAULT 0,\n"
    "    last_prune_at bigint          -- NULL: never\n"
    ");\n"
    "INSERT INTO retention (id) VALUES (1);\n"
    "CREATE TABLE story_bands ( -- the 7 bands of each alert's story signature (simhash.h)\n"
    "    alert_id bigint NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,\n"
    "    topic text COLLATE \"C\" NOT NULL,\n"
    "    band_no integer NOT NULL,     -- 0..6: bits 9*band_no.. (band 6: 10 bits)\n"
    "    band_value integer NOT NULL,  -- those bits\n"
    "    raised_at bigint NOT NULL,\n"
    "    feed_id bigint NOT NULL,\n"
    "    simhash bigint NOT NULL,\n"
    "    PRIMARY KEY (alert_id, band_no)\n"
    ");\n"
    "CREATE INDEX story_bands_lookup ON story_bands (topic, band_no, band_value, raised_at)"
    " INCLUDE (feed_id, simhash, alert_id);\n",
    /*
     * 2: the search index (search_pg.c): each item's words, and the queue of the items not
     * indexed yet, which the trigger fills in the transaction that stores the item (ids of
     * several writers commit out of order: no high-water mark can say what is indexed).
     */
    "CREATE TABLE search_docs ( -- the words of each indexed item (the matcher's tokens)\n"
    "    item_id bigint PRIMARY KEY,\n"
    "    words tsvector NOT NULL,\n"
    "    partial boolean NOT NULL DEFAULT false -- words past a tsvector's size left out\n"
    ");\n"
    "CREATE INDEX search_docs_words ON search_docs USING gin (words);\n"
    "CREATE INDEX search_docs_partial ON search_docs (item_id) WHERE partial;\n"
    "CREATE TABLE search_queue ( -- items stored and not indexed yet\n"
    "    item_id bigint PRIMARY KEY\n"
    ");\n"
    "CREATE FUNCTION feedwatch_search_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "    INSERT INTO search_queue (item_id) VALUES (NEW.id);\n"
    "    RETURN NULL;\n"
    "END\n"
    "$$;\n"
    "CREATE TRIGGER items_search_enqueue AFTER INSERT ON items FOR EACH ROW\n"
    "    EXECUTE FUNCTION feedwatch_search_enqueue();\n"
    "INSERT INTO search_queue (item_id) SELECT id FROM items;\n",
    /*
     * 3: clusters (store.h): the nodes, and the leases on feeds and deliveries. A feed's host
     * (of the URL in use) decides which node may poll it; lease_epoch counts its leases and
     * fences the save of a poll whose lease was taken over.
     */
    "CREATE TABLE nodes ( -- one row per daemon that ever beat on this database\n"
    "    name text COLLATE \"C\" PRIMARY KEY,\n"
    "    pid bigint NOT NULL,\n"
    "    started_at bigint NOT NULL,\n"
    "    seen_at bigint NOT NULL, -- its last beat, on the server's clock; 0: it left\n"
    "    lease_s bigint NOT NULL,\n"
    "    config_hash text\n"
    ");\n"
    "ALTER TABLE feeds ADD COLUMN lease_node text COLLATE \"C\",\n"
    "    ADD COLUMN lease_until bigint,\n"
    "    ADD COLUMN lease_epoch bigint NOT NULL DEFAULT 0,\n"
    "    ADD COLUMN host text COLLATE \"C\" GENERATED ALWAYS AS (lower(substring(\n"
    "        COALESCE(url, runtime_url, configured_url)\n"
    "        FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?(\\[[^]/]*\\]|[^/?#:]*)'))) STORED;\n"
    "CREATE INDEX feeds_due ON feeds ((COALESCE(next_poll_at, 0)), id)\n"
    "    WHERE paused IS NOT TRUE AND removed IS NOT TRUE AND disabled_reason IS NULL;\n"
    "CREATE INDEX feeds_lease_node ON feeds (lease_node) WHERE lease_node IS NOT NULL;\n"
    "ALTER TABLE deliveries ADD COLUMN lease_node text COLLATE \"C\",\n"
    "    ADD COLUMN lease_until bigint;\n"
    "CREATE INDEX deliveries_lease_node ON deliveries (lease_node) WHERE lease_node IS NOT NULL;\n",
    /*
     * 4: a node's life (instance: one per start, so that two daemons given one name do not take
     * each other's leases; host_name, left_at), the feeds a node cannot poll (feed_skips: the
     * rendezvous of their host passes over it), the host's bucket (of 1024: a claim finds the
     * buckets it owns once, not the owner of every due feed), and a feed's state_xid, the
     * transaction of the last change of its poll state or flags, so that a node sees what the
     * others did to its feeds (store_feeds_changed reads from the oldest transaction still running
     * on).
     */
    "ALTER TABLE nodes ADD COLUMN instance text COLLATE \"C\",\n"
    "    ADD COLUMN host_name text,\n"
    "    ADD COLUMN left_at bigint; -- when it stopped (seen_at is then 0); NULL: it did not\n"
    "CREATE TABLE feed_skips ( -- a feed this node cannot poll (not in its config, or off there)\n"
    "    feed_id bigint NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,\n"
    "    node text COLLATE \"C\" NOT NULL REFERENCES nodes (name) ON DELETE CASCADE,\n"
    "    PRIMARY KEY (feed_id, node)\n"
    ");\n"
    "CREATE INDEX feed_skips_node ON feed_skips (node);\n"
    "ALTER TABLE feeds ADD COLUMN state_xid xid8 NOT NULL DEFAULT pg_current_xact_id();\n"
    "CREATE INDEX feeds_state_xid ON feeds (state_xid);\n"
    "CREATE FUNCTION feedwatch_feed_changed() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "    NEW.state_xid := pg_current_xact_id();\n"
    "    RETURN NEW;\n"
    "END\n"
    "$$;\n"
    "CREATE TRIGGER feeds_state_changed BEFORE UPDATE OF url, etag, last_status, last_error,\n"
    "    failures, last_poll_at, next_poll_at, paused, disabled_reason, runtime_url, removed,\n"
    "    runtime_opts ON feeds FOR EACH ROW EXECUTE FUNCTION feedwatch_feed_changed();\n"
    /* The host's bucket (the host expression again: a generated column cannot use another). */
    "ALTER TABLE feeds ADD COLUMN bucket integer GENERATED ALWAYS AS (hashtext(COALESCE(lower(\n"
    "    substring(COALESCE(url, runtime_url, configured_url)\n"
    "    FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?(\\[[^]/]*\\]|[^/?#:]*)')), '')) & 1023)\n"
    "    STORED;\n",
    /*
     * 5: store schema 12: feed events, their deliveries (leased as alerts' are), and the state of
     * each feed that decides them (the SQLite engine's migration 12 explains each column).
     */
    "ALTER TABLE feeds ADD COLUMN move_url text,\n"
    "    ADD COLUMN move_seen bigint NOT NULL DEFAULT 0,\n"
    "    ADD COLUMN last_new_at bigint,\n"
    "    ADD COLUMN new_gap double precision,\n"
    "    ADD COLUMN stalled boolean NOT NULL DEFAULT false,\n"
    "    ADD COLUMN doc_items bigint,\n"
    "    ADD COLUMN life text;\n"
    "CREATE TABLE feed_events ( -- one row per feed event raised\n"
    "    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
    "    feed_id bigint NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,\n"
    "    event text COLLATE \"C\" NOT NULL,\n"
    "    url text,\n"
    "    feed_state text NOT NULL,\n"
    "    reason text,\n"
    "    raised_at bigint NOT NULL,\n"
    "    state text NOT NULL DEFAULT 'pending',\n"
    "    attempts integer NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE INDEX feed_events_state ON feed_events (state);\n"
    "CREATE TABLE event_deliveries ( -- one row per (feed event, hook), as deliveries\n"
    "    event_id bigint NOT NULL REFERENCES feed_events(id) ON DELETE CASCADE,\n"
    "    hook text COLLATE \"C\" NOT NULL,\n"
    "    state text NOT NULL DEFAULT 'pending',\n"
    "    attempts integer NOT NULL DEFAULT 0,\n"
    "    next_attempt_at bigint,\n"
    "    last_error text,\n"
    "    last_attempt_at bigint,\n"
    "    lease_node text COLLATE \"C\",\n"
    "    lease_until bigint,\n"
    "    PRIMARY KEY (event_id, hook)\n"
    ");\n"
    "CREATE INDEX event_deliveries_due ON event_deliveries (state, (COALESCE(next_attempt_at, 0)),"
    " event_id);\n"
    "CREATE INDEX event_deliveries_lease_node ON event_deliveries (lease_node)"
    " WHERE lease_node IS NOT NULL;\n"
    "CREATE INDEX items_feed_url ON items (feed_id, url);\n",
    /*
     * 6: store schema 13: edited items, their versions, and item-updated deliveries as feed
     * events of their alert (the SQLite engine's migration 13 explains each column).
     */
    "ALTER TABLE items ADD COLUMN fingerprint bigint, ADD COLUMN edited_at bigint;\n"
    "CREATE TABLE item_versions ( -- the versions edits replaced, at most 10 an item\n"
    "    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
    "    item_id bigint NOT NULL REFERENCES items(id) ON DELETE CASCADE,\n"
    "    title text,\n"
    "    text text,\n"
    "    seen_at bigint NOT NULL,\n"
    "    replaced_at bigint NOT NULL,\n"
    "    changes text NOT NULL\n"
    ");\n"
    "CREATE INDEX item_versions_item ON item_versions (item_id, id);\n"
    "CREATE FUNCTION item_versions_pruned() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN DELETE FROM item_versions WHERE item_id = NEW.id; RETURN NULL; END $$;\n"
    "CREATE TRIGGER item_versions_pruned AFTER UPDATE OF pruned_at ON items FOR EACH ROW"
    " WHEN (NEW.pruned_at IS NOT NULL) EXECUTE FUNCTION item_versions_pruned();\n"
    "ALTER TABLE feed_events ADD COLUMN alert_id bigint, ADD COLUMN version_id bigint;\n"
    "CREATE INDEX feed_events_alert ON feed_events (alert_id) WHERE alert_id IS NOT NULL;\n",
    /* 7: store schema 14: the windows of hooks with a `batch` (store_batch_take). */
    "CREATE TABLE hook_batches ( -- one row per hook that took a batch; locked by each take\n"
    "    hook text COLLATE \"C\" PRIMARY KEY,\n"
    "    last_run_at bigint -- when its last batch started; NULL: none\n"
    ");\n",
    /*
     * 8: store schema 15: story keys (issue 17, part 2), the cross-language candidates of an
     * item (the SQLite engine's migration 15 explains each column).
     */
    "ALTER TABLE alerts ADD COLUMN story_sig bytea;\n"
    "CREATE TABLE story_keys (\n"
    "    alert_id bigint NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,\n"
    "    topic text COLLATE \"C\" NOT NULL,\n"
    "    key bigint NOT NULL,\n"
    "    raised_at bigint NOT NULL,\n"
    "    PRIMARY KEY (alert_id, key)\n"
    ");\n"
    "CREATE INDEX story_keys_lookup ON story_keys (topic, key, raised_at, alert_id);\n"
    "ALTER TABLE feed_events ADD COLUMN item_id bigint;\n",
};

#define PG_SCHEMA_VERSION ((int)(sizeof(pg_migrations) / sizeof(pg_migrations[0])))

/*
 * This build's PostgreSQL schema is store schema 15: a change of the store's schema needs a
 * PostgreSQL migration too (a new entry above), and then this assertion moves with it.
 */
_Static_assert(STORE_SCHEMA_VERSION == 15 && sizeof(pg_migrations) / sizeof(pg_migrations[0]) == 8,
               "store schema 15 is PostgreSQL schema 8 (1, the search index's tables, clusters,"
               " nodes' lives and skips, feed events, edited items, hook batches, story keys)");

/* The relations of the schema, which store_check looks for (a PostgreSQL text[] literal). */
#define PG_RELATIONS                                                                               \
    "{feedwatch_schema,feeds,items,items_newest,items_feed_newest,items_unpruned,alerts,"          \
    "alerts_topic_raised,alerts_state,alerts_item,alert_sources,alert_sources_item,deliveries,"    \
    "deliveries_due,retention,story_bands,story_bands_lookup,search_docs,search_docs_words,"       \
    "search_docs_partial,search_queue,nodes,feeds_due,feeds_lease_node,deliveries_lease_node,"     \
    "feed_skips,feed_skips_node,feeds_state_xid,feed_events,feed_events_state,event_deliveries,"   \
    "event_deliveries_due,event_deliveries_lease_node,items_feed_url,item_versions,"               \
    "item_versions_item,feed_events_alert,hook_batches,story_keys,story_keys_lookup}"

/* The statements prepared at open, by index into pg_sql[]. */
enum pg_stmt {
    STMT_BEGIN,
    STMT_BEGIN_READ,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_SAVEPOINT,
    STMT_RELEASE,
    STMT_ROLLBACK_TO,
    STMT_FEED_INSERT,
    STMT_FEED_GET,
    STMT_FEED_RESET_SOURCE,
    STMT_FEED_SAVE,
    STMT_FEED_LIST,
    STMT_FEED_SET_RUNTIME,
    STMT_FEED_SET_RUNTIME_OPTS,
    STMT_ITEM_ADD,
    STMT_ITEM_KNOWN,
    STMT_ITEMS_KNOWN,
    STMT_ITEMS_ADD,
    STMT_FEED_MODEL_GET,
    STMT_FEED_MODEL_SET,
    STMT_ITEMS_ALL,
    STMT_ITEMS_FEED,
    STMT_ITEMS_FEEDS,
    STMT_ITEMS_TOPIC,
    STMT_ITEM_GET,
    STMT_ITEM_ALERTS,
    STMT_FEED_COUNTS,
    STMT_FEED_ALERT_COUNTS,
    STMT_FEED_URLS,
    STMT_COUNT_ITEMS,
    STMT_DISK_BYTES,
    STMT_ALERT_ADD,
    STMT_DELIVERY_ADD,
    STMT_STORY_BANDS_ADD,
    STMT_STORY_CANDIDATES,
    STMT_STORY_SIG_SET,
    STMT_STORY_KEY_ADD,
    STMT_STORY_KEY_CANDIDATES,
    STMT_STORY_SIG_GET,
    STMT_SOURCE_ADD,
    STMT_DELIVERIES_DUE,
    STMT_DELIVERY_NEXT,
    STMT_DELIVERY_SET,
    STMT_ALERT_REFRESH,
    STMT_DELIVERIES_RESET,
    STMT_ALERTS_RESET,
    STMT_DELIVERY_REQUEUE,
    STMT_DELIVERIES_REQUEUE_FAILED,
    STMT_ALERT_DELIVERIES,
    STMT_ALERT_GET,
    STMT_ALERT_SOURCES,
    STMT_ALERTS_LIST,
    STMT_ALERTS_FAILED,
    STMT_ALERT_COUNTS,
    STMT_ITEM_EVENTS_FAILED,
    STMT_ALERT_TOPIC_COUNTS,
    STMT_PRUNE_SELECT,
    STMT_PRUNE_ITEMS,
    STMT_PRUNE_ALERTS,
    STMT_PRUNE_BANDS,
    STMT_PRUNE_KEYS,
    STMT_PRUNE_TALLY,
    STMT_RETENTION_GET,
    STMT_CHECK,
    STMT_FEED_SAVE_LEASED,
    STMT_NODE_ENSURE,
    STMT_NODE_LOCK,
    STMT_NODE_JOIN,
    STMT_NODE_BEAT,
    STMT_NODE_RENEW_FEEDS,
    STMT_NODE_RENEW_DELIVERIES,
    STMT_NODE_LEAVE_FEEDS,
    STMT_NODE_LEAVE_DELIVERIES,
    STMT_NODE_LEAVE,
    STMT_NODES_LIST,
    STMT_NODES_PRUNE,
    STMT_FEEDS_SKIP_ADD,
    STMT_FEEDS_SKIP_CLEAR,
    STMT_FEEDS_XMIN,
    STMT_FEEDS_CHANGED,
    STMT_FEEDS_CLAIM,
    STMT_FEED_CLAIM_ONE,
    STMT_STORY_LOCK,
    STMT_FEED_SET_STATE,
    STMT_DELIVERIES_CLAIM,
    STMT_FEED_LIFE_SAVE,
    STMT_ITEMS_BY_URL,
    STMT_ITEM_REKEY,
    STMT_EVENT_ADD,
    STMT_EVENT_DELIVERY_ADD,
    STMT_SOURCE_EVENT_ADD,
    STMT_EVENT_DELIVERIES_DUE,
    STMT_EVENT_DELIVERY_NEXT,
    STMT_EVENT_DELIVERY_SET,
    STMT_EVENT_REFRESH,
    STMT_EVENT_DELIVERIES_RESET,
    STMT_EVENTS_RESET,
    STMT_EVENT_GET,
    STMT_EVENTS_LIST,
    STMT_EVENT_DELIVERIES,
    STMT_EVENT_DELIVERIES_CLAIM,
    STMT_NODE_RENEW_EVENT_DELIVERIES,
    STMT_NODE_LEAVE_EVENT_DELIVERIES,
    STMT_ITEMS_SEEN,
    STMT_ITEM_FIELDS,
    STMT_ITEM_FP_SET,
    STMT_ITEM_EDIT,
    STMT_VERSIONS,
    STMT_ALERT_FIND,
    STMT_UPDATE_ADD,
    STMT_ALERT_ITEM_EVENTS,
    STMT_EVENT_DELIVERIES_REQUEUE_FAILED,
    STMT_EVENTS_PRUNE,
    STMT_BATCH_LOCK,
    STMT_BATCH_GET,
    STMT_BATCH_SET,
    STMT_BATCH_DEFER,
    STMT_BATCH_EVENT_DEFER,
    STMT_BATCH_REWINDOW,
    STMT_BATCH_EVENT_REWINDOW,
    STMT__COUNT,
};

/* The database server's clock, Unix seconds: leases never compare two nodes' clocks. */
#define PG_NOW "floor(extract(epoch FROM clock_timestamp()))::bigint"

/* The columns of a feed row, in the order feed_from_row() reads them. */
#define PG_FEED_COLUMNS                                                                            \
    "f.id, f.name, f.configured_url, f.url, f.etag, f.last_modified, f.last_status, "              \
    "f.last_error, f.failures, f.last_poll_at, f.next_poll_at, f.recovered, f.paused, "            \
    "f.disabled_reason, f.runtime_url, f.removed, f.item_rate, f.runtime_opts, f.base_url, "       \
    "f.move_url, f.move_seen, f.last_new_at, f.new_gap, f.stalled, f.doc_items, f.life"
/* The column after them (a count of items; then a claim's lease epoch) */
#define PG_FEED_NCOL 26

/* The columns of a feed event row, in the order event_from_row() reads them. */
#define PG_EVENT_COLUMNS                                                                           \
    "e.id, e.event, f.name, e.url, e.feed_state, e.reason, e.raised_at, e.state, e.attempts, "     \
    "e.alert_id, e.version_id, v.changes, COALESCE(e.item_id, v.item_id)"
/* What PG_EVENT_COLUMNS reads from. */
#define PG_EVENT_FROM                                                                              \
    " FROM feed_events AS e JOIN feeds AS f ON f.id = e.feed_id"                                   \
    " LEFT JOIN item_versions AS v ON v.id = e.version_id"

/* The columns of a node row, in the order node_from_row reads them. */
#define PG_NODE_COLUMNS                                                                            \
    "n.name, n.pid, n.started_at, n.seen_at, n.lease_s, n.seen_at + n.lease_s >= " PG_NOW ", "     \
    "n.config_hash, (SELECT count(*) FROM feeds AS f WHERE f.lease_node = n.name AND "             \
    "f.lease_until >= " PG_NOW "), (SELECT count(*) FROM deliveries AS d WHERE d.lease_node = "    \
    "n.name AND d.state = 'running'), n.instance, n.host_name, n.left_at"

/*
 * The columns of an item row, in the order items_list_run reads them; $2 asks for the text.
 * The ORDER BY is the one of items_newest and items_feed_newest, read backwards.
 */
#define PG_ITEM_COLUMNS                                                                            \
    "i.id, f.name, i.key, i.title, i.url, i.published_at, i.updated_at, i.author, i.language, "    \
    "i.summary, CASE WHEN $2::boolean THEN i.text END, i.first_seen_at"
/* $1: the limit (NULL: none, as PostgreSQL reads LIMIT NULL). */
#define PG_ITEM_ORDER                                                                              \
    " ORDER BY COALESCE(i.published_at, i.first_seen_at) DESC, i.id DESC LIMIT $1::bigint"
/* items --since: $3 is the lower bound of the order key (INT64_MIN for none). */
#define PG_ITEM_SINCE " AND COALESCE(i.published_at, i.first_seen_at) >= $3::bigint"

/* The columns of an alert row, in the order alert_from_row() reads them. */
#define PG_ALERT_COLUMNS                                                                           \
    "a.id, a.topic, i.id, f.name, i.title, i.url, a.state, a.attempts, a.raised_at"

/* The newest 16 alerts of topic $1 raised at or after $2, not of feed $10, whose band band_no is
 * val (the SQLite engine's STORY_BAND_ROWS: an item's lookup is bounded however many the window
 * holds). */
#define PG_STORY_BAND(band_no, val)                                                                \
    "(SELECT alert_id, simhash, feed_id FROM story_bands WHERE topic = $1::text"                   \
    " AND band_no = " band_no " AND band_value = " val "::integer"                                 \
    " AND raised_at >= $2::bigint AND feed_id != $10::bigint"                                      \
    " ORDER BY raised_at DESC LIMIT 16)"
/* The 7 bands, $3..$9 the values of the new signature's (UNION: each alert once). */
#define PG_BAND_0 PG_STORY_BAND("0", "$3")
#define PG_BAND_1 PG_STORY_BAND("1", "$4")
#define PG_BAND_2 PG_STORY_BAND("2", "$5")
#define PG_BAND_3 PG_STORY_BAND("3", "$6")
#define PG_BAND_4 PG_STORY_BAND("4", "$7")
#define PG_BAND_5 PG_STORY_BAND("5", "$8")
#define PG_BAND_6 PG_STORY_BAND("6", "$9")
#define PG_STORY_BANDS                                                                             \
    PG_BAND_0 " UNION " PG_BAND_1 " UNION " PG_BAND_2 " UNION " PG_BAND_3 " UNION " PG_BAND_4      \
              " UNION " PG_BAND_5 " UNION " PG_BAND_6

static const char *const pg_sql[STMT__COUNT] = {
    [STMT_BEGIN] = "BEGIN",
    [STMT_BEGIN_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_SAVEPOINT] = "SAVEPOINT part",
    [STMT_RELEASE] = "RELEASE SAVEPOINT part",
    [STMT_ROLLBACK_TO] = "ROLLBACK TO SAVEPOINT part",
    [STMT_FEED_INSERT] = "INSERT INTO feeds (name, configured_url, created_at)"
                         " VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    [STMT_FEED_GET] = "SELECT " PG_FEED_COLUMNS ","
                      " (SELECT count(*) FROM items WHERE feed_id = f.id)"
                      " FROM feeds AS f WHERE f.name = $1",
    [STMT_FEED_RESET_SOURCE] = "UPDATE feeds SET configured_url = $2, url = NULL, etag = NULL,"
                               " last_modified = NULL, failures = 0, last_error = NULL,"
                               " disabled_reason = NULL, item_rate = NULL, base_url = NULL,"
                               " move_url = NULL, move_seen = 0, doc_items = NULL, new_gap = NULL,"
                               " stalled = false"
                               " WHERE id = $1",
    [STMT_FEED_SAVE] = "UPDATE feeds SET url = $2, etag = $3, last_modified = $4,"
                       " last_status = $5, last_error = $6, failures = $7, last_poll_at = $8,"
                       " next_poll_at = $9, recovered = $10, paused = $11,"
                       " disabled_reason = $12, item_rate = $13,"
                       " base_url = COALESCE($14, base_url) WHERE id = $1",
    [STMT_FEED_LIST] = "SELECT " PG_FEED_COLUMNS ", COALESCE(c.n, 0) FROM feeds AS f"
                       " LEFT JOIN (SELECT feed_id, count(*) AS n FROM items GROUP BY feed_id)"
                       " AS c ON c.feed_id = f.id ORDER BY f.name",
    /* A run-time add or remove: what nodes skipped of the feed no longer holds (cluster.h). */
    [STMT_FEED_SET_RUNTIME] = "WITH s AS (DELETE FROM feed_skips WHERE feed_id = $1)"
                              " UPDATE feeds SET runtime_url = $2, removed = $3 WHERE id = $1",
    [STMT_FEED_SET_RUNTIME_OPTS] = "UPDATE feeds SET runtime_opts = $2 WHERE id = $1",
    [STMT_ITEM_ADD] = "INSERT INTO items (feed_id, key, guid, title, url, published_at,"
                      " updated_at, author, language, summary, content, categories,"
                      " first_seen_at, text, simhash, fingerprint) VALUES ($1, $2, $3, $4, $5,"
                      " $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                      " ON CONFLICT (feed_id, key) DO NOTHING RETURNING id",
    [STMT_ITEM_KNOWN] = "SELECT 1 FROM items WHERE feed_id = $1 AND key = $2",
    /* The positions (from 1) in the text[] $2 of the keys feed $1 has stored. */
    [STMT_ITEMS_KNOWN] = "SELECT k.i FROM unnest($2::text[]) WITH ORDINALITY AS k(key, i)"
                         " JOIN items AS it ON it.feed_id = $1 AND it.key = k.key COLLATE \"C\"",
    /*
     * A poll's new items at once (pg_items_add): $1 the feed, $2 first seen, $3..$15 one array
     * per column (binary, pg_array), in the order of the items, which the ids follow. A key
     * known, or repeated in the arrays, is left out (its first row is stored): the stored
     * keys with their ids.
     */
    [STMT_ITEMS_ADD] =
        "INSERT INTO items (feed_id, key, guid, title, url, published_at, updated_at, author,"
        " language, summary, content, categories, first_seen_at, text, simhash, fingerprint)"
        " SELECT $1, u.key, u.guid, u.title, u.url, u.published_at, u.updated_at, u.author,"
        " u.language, u.summary, u.content, u.categories, $2, u.text, u.simhash, u.fingerprint"
        " FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],"
        " $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],"
        " $14::text[], $15::bigint[], $16::bigint[]) WITH ORDINALITY AS u(key, guid, title, url,"
        " published_at, updated_at, author, language, summary, content, categories, text,"
        " simhash, fingerprint, n)"
        " ORDER BY u.n ON CONFLICT (feed_id, key) DO NOTHING RETURNING id, key",
    [STMT_FEED_MODEL_GET] = "SELECT boilerplate FROM feeds WHERE id = $1",
    [STMT_FEED_MODEL_SET] = "UPDATE feeds SET boilerplate = $2::bytea WHERE id = $1",
    /* Pruned items (retention) are keys without text: lists leave them out. */
    [STMT_ITEMS_ALL] =
        "SELECT " PG_ITEM_COLUMNS " FROM items AS i"
        " JOIN feeds AS f ON f.id = i.feed_id WHERE i.pruned_at IS NULL" PG_ITEM_SINCE
            PG_ITEM_ORDER,
    [STMT_ITEMS_FEED] = "SELECT " PG_ITEM_COLUMNS " FROM items AS i"
                        " JOIN feeds AS f ON f.id = i.feed_id WHERE f.name = $4::text"
                        " AND i.pruned_at IS NULL" PG_ITEM_SINCE PG_ITEM_ORDER,
    [STMT_ITEMS_FEEDS] = "SELECT " PG_ITEM_COLUMNS " FROM items AS i"
                         " JOIN feeds AS f ON f.id = i.feed_id"
                         " WHERE f.name IN (SELECT jsonb_array_elements_text($4::jsonb))"
                         " AND i.pruned_at IS NULL" PG_ITEM_SINCE PG_ITEM_ORDER,
    /*
     * items --topic $5: the items that matched it (an alert's item, or another source of one),
     * read from the topic's alerts first; $4 one feed's name, $6 a JSON array of names (either
     * may be NULL).
     */
    [STMT_ITEMS_TOPIC] =
        "SELECT " PG_ITEM_COLUMNS " FROM (SELECT item_id FROM alerts WHERE topic = $5::text"
        " UNION SELECT s.item_id FROM alerts AS a JOIN alert_sources AS s ON s.alert_id = a.id"
        " WHERE a.topic = $5::text) AS t JOIN items AS i ON i.id = t.item_id"
        " JOIN feeds AS f ON f.id = i.feed_id WHERE i.pruned_at IS NULL"
        " AND ($4::text IS NULL OR f.name = $4::text)"
        " AND ($6::jsonb IS NULL"
        " OR f.name IN (SELECT jsonb_array_elements_text($6::jsonb)))" PG_ITEM_SINCE PG_ITEM_ORDER,
    /* item ID: one item, pruned or not, with its text, categories and when it was pruned. */
    [STMT_ITEM_GET] = "SELECT i.id, f.name, i.key, i.title, i.url, i.published_at, i.updated_at,"
                      " i.author, i.language, i.summary, i.text, i.first_seen_at, i.categories,"
                      " i.pruned_at FROM items AS i JOIN feeds AS f ON f.id = i.feed_id"
                      " WHERE i.id = $1",
    /*
     * The alerts raised on item $1 (false), by topic, then those it is another source of
     * (true), by alert id: the order of the SQLite engine's walk (alerts_item, then
     * alert_sources_item).
     */
    [STMT_ITEM_ALERTS] =
        "SELECT * FROM (SELECT " PG_ALERT_COLUMNS ", a.matched, false AS source"
        " FROM alerts AS a JOIN items AS i ON i.id = a.item_id"
        " JOIN feeds AS f ON f.id = i.feed_id WHERE a.item_id = $1"
        " UNION ALL SELECT " PG_ALERT_COLUMNS ", NULL, true FROM alert_sources AS s"
        " JOIN alerts AS a ON a.id = s.alert_id JOIN items AS i ON i.id = a.item_id"
        " JOIN feeds AS f ON f.id = i.feed_id WHERE s.item_id = $1) AS r"
        " ORDER BY 11, CASE WHEN r.source THEN NULL ELSE r.topic END, 1",
    /* feeds NAME: its items (pruned ones too), how many were pruned, the newest first seen. */
    [STMT_FEED_COUNTS] = "SELECT count(*), count(i.pruned_at), max(i.first_seen_at) FROM items AS i"
                         " WHERE i.feed_id = (SELECT id FROM feeds WHERE name = $1)",
    /* feeds NAME: the alerts raised on its items by state. */
    [STMT_FEED_ALERT_COUNTS] =
        "SELECT a.state, count(*) FROM alerts AS a JOIN items AS i ON i.id = a.item_id"
        " WHERE i.feed_id = (SELECT id FROM feeds WHERE name = $1) GROUP BY a.state",
    [STMT_FEED_URLS] =
        "SELECT configured_url, url, runtime_url, base_url FROM feeds WHERE name = $1",
    [STMT_COUNT_ITEMS] = "SELECT count(*) FROM items",
    [STMT_DISK_BYTES] = "SELECT pg_database_size(current_database())",
    [STMT_ALERT_ADD] = "INSERT INTO alerts (topic, item_id, state, matched, raised_at)"
                       " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (topic, item_id) DO NOTHING"
                       " RETURNING id",
    [STMT_DELIVERY_ADD] = "INSERT INTO deliveries (alert_id, hook, next_attempt_at)"
                          " VALUES ($1, $2, $3) ON CONFLICT (alert_id, hook) DO NOTHING",
    [STMT_STORY_BANDS_ADD] =
        "INSERT INTO story_bands (alert_id, topic, band_no, band_value, raised_at, feed_id,"
        " simhash) SELECT a.id, a.topic, b.n, ((i.simhash >> (9 * b.n))"
        " & (CASE b.n WHEN 6 THEN 1023 ELSE 511 END))::integer, a.raised_at, i.feed_id,"
        " i.simhash FROM alerts AS a JOIN items AS i ON i.id = a.item_id"
        " CROSS JOIN generate_series(0, 6) AS b(n) WHERE a.id = $1"
        " AND i.simhash IS NOT NULL AND i.simhash != 0"
        " ON CONFLICT (alert_id, band_no) DO NOTHING",
    /* One index range per band ($3..$9 the bands of the new signature), each alert once, by id. */
    [STMT_STORY_CANDIDATES] =
        "SELECT alert_id, simhash, feed_id FROM (" PG_STORY_BANDS ") AS c ORDER BY alert_id",
    [STMT_STORY_SIG_SET] = "UPDATE alerts SET story_sig = $2::bytea WHERE id = $1",
    [STMT_STORY_KEY_ADD] = "INSERT INTO story_keys (alert_id, topic, key, raised_at)"
                           " VALUES ($1, $2, $3, $4) ON CONFLICT (alert_id, key) DO NOTHING",
    /* The newest $4 alerts of topic $1 raised at or after $2 with key $3, off the index. */
    [STMT_STORY_KEY_CANDIDATES] = "SELECT alert_id FROM story_keys WHERE topic = $1::text"
                                  " AND key = $3 AND raised_at >= $2"
                                  " ORDER BY raised_at DESC, alert_id DESC LIMIT $4::bigint",
    [STMT_STORY_SIG_GET] = "SELECT story_sig, raised_at FROM alerts WHERE id = $1",
    [STMT_SOURCE_ADD] = "INSERT INTO alert_sources (alert_id, item_id) VALUES ($1, $2)"
                        " ON CONFLICT (alert_id, item_id) DO NOTHING",
    /* Both read deliveries_due in order: the expressions must stay as there. */
    [STMT_DELIVERIES_DUE] = "SELECT alert_id, hook, attempts FROM deliveries"
                            " WHERE state = 'pending' AND COALESCE(next_attempt_at, 0) <= $1"
                            " ORDER BY COALESCE(next_attempt_at, 0), alert_id LIMIT $2",
    [STMT_DELIVERY_NEXT] = "SELECT COALESCE(next_attempt_at, 0) FROM deliveries"
                           " WHERE state = 'pending' ORDER BY COALESCE(next_attempt_at, 0) LIMIT 1",
    /* A state ends the delivery's lease (a claim's running state is the claim's own). */
    [STMT_DELIVERY_SET] = "UPDATE deliveries SET state = $3, attempts = $4, next_attempt_at = $5,"
                          " last_error = $6, last_attempt_at = COALESCE($7, last_attempt_at),"
                          " lease_node = NULL, lease_until = NULL"
                          " WHERE alert_id = $1 AND hook = $2 AND ($8::text IS NULL"
                          " OR lease_node IS NULL OR lease_node = $8)",
    [STMT_ALERT_REFRESH] = "UPDATE alerts SET (state, attempts) = (SELECT CASE"
                           " WHEN count(*) = 0 THEN 'no-hook'"
                           " WHEN count(*) FILTER (WHERE d.state = 'failed') > 0 THEN 'failed'"
                           " WHEN count(*) FILTER (WHERE d.state = 'running') > 0 THEN 'running'"
                           " WHEN count(*) FILTER (WHERE d.state = 'pending') > 0 THEN 'pending'"
                           " ELSE 'delivered' END, COALESCE(max(d.attempts), 0)"
                           " FROM deliveries AS d WHERE d.alert_id = $1) WHERE id = $1",
    [STMT_DELIVERIES_RESET] = "UPDATE deliveries SET state = 'pending' WHERE state = 'running'",
    [STMT_ALERTS_RESET] = "UPDATE alerts SET state = 'pending' WHERE state = 'running'",
    /* `redeliver`: due now with its attempts reset, unless it is running (it ends as it ends). */
    [STMT_DELIVERY_REQUEUE] = "INSERT INTO deliveries AS d (alert_id, hook, next_attempt_at)"
                              " VALUES ($1, $2, $3) ON CONFLICT (alert_id, hook) DO UPDATE SET"
                              " state = 'pending', attempts = 0, next_attempt_at = $3,"
                              " last_error = NULL WHERE d.state != 'running'",
    /* A batch of them: the first $6 (NULL: all) after the key ($4, $5), in key order. */
    [STMT_DELIVERIES_REQUEUE_FAILED] =
        "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $3,"
        " last_error = NULL WHERE (alert_id, hook) IN (SELECT alert_id, hook FROM deliveries"
        " WHERE (alert_id, hook) > ($4::bigint, $5::text) AND state = 'failed'"
        " AND ($1::text IS NULL OR hook = $1::text)"
        " AND hook IN (SELECT jsonb_array_elements_text($2::jsonb))"
        " ORDER BY alert_id, hook LIMIT $6::bigint) RETURNING alert_id, hook",
    [STMT_ALERT_DELIVERIES] = "SELECT hook, state, attempts, next_attempt_at, last_error,"
                              " last_attempt_at FROM deliveries WHERE alert_id = $1 ORDER BY hook",
    [STMT_ALERT_GET] = "SELECT " PG_ALERT_COLUMNS ", i.published_at, i.author, i.language,"
                       " COALESCE(i.text, i.summary, i.content), a.matched FROM alerts AS a"
                       " JOIN items AS i ON i.id = a.item_id JOIN feeds AS f ON f.id = i.feed_id"
                       " WHERE a.id = $1",
    /*
     * The first $2 sources by item id (the primary key's order: $2 index entries read), and
     * item $3 when it is one of them past those; the count of all from the index alone.
     */
    [STMT_ALERT_SOURCES] = "SELECT f.name, i.url, i.title, i.id,"
                           " (SELECT count(*) FROM alert_sources WHERE alert_id = $1)"
                           " FROM (SELECT l.item_id FROM (SELECT item_id FROM alert_sources"
                           " WHERE alert_id = $1 ORDER BY item_id LIMIT $2::bigint) AS l"
                           " UNION SELECT item_id FROM alert_sources"
                           " WHERE alert_id = $1 AND item_id = $3::bigint) AS s"
                           " JOIN items AS i ON i.id = s.item_id"
                           " JOIN feeds AS f ON f.id = i.feed_id ORDER BY i.id",
    [STMT_ALERTS_LIST] = "SELECT " PG_ALERT_COLUMNS " FROM alerts AS a"
                         " JOIN items AS i ON i.id = a.item_id JOIN feeds AS f ON f.id = i.feed_id"
                         " WHERE ($1::text IS NULL OR a.topic = $1::text)"
                         " ORDER BY a.id DESC LIMIT $2::bigint",
    /*
     * `alerts --failed`: those whose own state is failed and those an item event (item-updated,
     * story-source) failed on; the ids come off alerts_state and feed_events_state (only the
     * failed rows are read), then the newest of them by id.
     */
    [STMT_ALERTS_FAILED] = "SELECT " PG_ALERT_COLUMNS " FROM alerts AS a"
                           " JOIN items AS i ON i.id = a.item_id"
                           " JOIN feeds AS f ON f.id = i.feed_id"
                           " WHERE a.id IN (SELECT id FROM alerts WHERE state = 'failed'"
                           " UNION SELECT alert_id FROM feed_events"
                           " WHERE state = 'failed' AND alert_id IS NOT NULL)"
                           " AND ($1::text IS NULL OR a.topic = $1::text)"
                           " ORDER BY a.id DESC LIMIT $2::bigint",
    [STMT_ALERT_COUNTS] = "SELECT state, count(*) FROM alerts GROUP BY state",
    /* Item events with a failed delivery (feed_events_state: the failed rows only). */
    [STMT_ITEM_EVENTS_FAILED] = "SELECT count(*) FROM feed_events"
                                " WHERE state = 'failed' AND alert_id IS NOT NULL",
    [STMT_ALERT_TOPIC_COUNTS] = "SELECT topic, count(*) FROM alerts GROUP BY topic ORDER BY topic",
    /* An item whose alert still waits for a hook keeps its text until it is delivered. */
    [STMT_PRUNE_SELECT] = "SELECT i.id, i.title, COALESCE(i.text, i.summary, i.content)"
                          " FROM items AS i"
                          " WHERE i.pruned_at IS NULL AND i.first_seen_at < $1 AND i.id <= $2"
                          " AND NOT EXISTS (SELECT 1 FROM alerts AS a WHERE a.item_id = i.id"
                          " AND a.state IN ('pending', 'running'))"
                          " ORDER BY i.first_seen_at LIMIT $3",
    /* The batch's items at once ($1: a bigint[] of their ids). */
    [STMT_PRUNE_ITEMS] = "UPDATE items SET guid = NULL, title = NULL, url = NULL,"
                         " published_at = NULL, updated_at = NULL, author = NULL,"
                         " language = NULL, summary = NULL, content = NULL, categories = NULL,"
                         " text = NULL, simhash = NULL, pruned_at = $2"
                         " WHERE id = ANY ($1::bigint[]) AND pruned_at IS NULL",
    [STMT_PRUNE_ALERTS] = "UPDATE alerts SET matched = NULL, story_sig = NULL"
                          " WHERE item_id = ANY ($1::bigint[])",
    [STMT_PRUNE_BANDS] = "DELETE FROM story_bands WHERE alert_id IN"
                         " (SELECT id FROM alerts WHERE item_id = ANY ($1::bigint[]))",
    [STMT_PRUNE_KEYS] = "DELETE FROM story_keys WHERE alert_id IN"
                        " (SELECT id FROM alerts WHERE item_id = ANY ($1::bigint[]))",
    [STMT_PRUNE_TALLY] = "UPDATE retention SET pruned_items = pruned_items + $1,"
                         " last_prune_at = $2 WHERE id = 1",
    [STMT_RETENTION_GET] = "SELECT pruned_items, last_prune_at FROM retention WHERE id = 1",
    /*
     * store_check: the schema version, the relations of $1 (a text[]) that are missing, and
     * the indexes on them that are not valid (a failed CREATE INDEX CONCURRENTLY or REINDEX).
     */
    [STMT_CHECK] = "SELECT (SELECT version FROM feedwatch_schema WHERE id = 1),"
                   " (SELECT string_agg(r, ', ') FROM unnest($1::text[]) AS r"
                   " WHERE to_regclass(r) IS NULL),"
                   " (SELECT string_agg(c.relname::text, ', ') FROM pg_catalog.pg_index AS x"
                   " JOIN pg_catalog.pg_class AS c ON c.oid = x.indexrelid"
                   " WHERE NOT x.indisvalid AND x.indrelid IN"
                   " (SELECT to_regclass(r) FROM unnest($1::text[]) AS r))",
    /*
     * A poll's save under its lease ($15, the epoch it was claimed with): ends the lease. A
     * poll never pauses a feed: $11 is not written, so that a `pause` or `resume` of any node
     * made while the poll ran stands.
     */
    [STMT_FEED_SAVE_LEASED] = "UPDATE feeds SET url = $2, etag = $3, last_modified = $4,"
                              " last_status = $5, last_error = $6, failures = $7,"
                              " last_poll_at = $8, next_poll_at = $9, recovered = $10,"
                              " paused = CASE WHEN $11::boolean IS NULL THEN paused ELSE paused"
                              " END, disabled_reason = $12, item_rate = $13,"
                              " base_url = COALESCE($14, base_url), lease_node = NULL,"
                              " lease_until = NULL WHERE id = $1 AND lease_epoch = $15",
    /* A join: the node's row made if new, then locked, read and made this life's. */
    [STMT_NODE_ENSURE] = "INSERT INTO nodes (name, pid, started_at, seen_at, lease_s)"
                         " VALUES ($1, 0, 0, 0, 0) ON CONFLICT (name) DO NOTHING",
    [STMT_NODE_LOCK] = "SELECT " PG_NODE_COLUMNS " FROM nodes AS n WHERE n.name = $1"
                       " FOR UPDATE OF n",
    [STMT_NODE_JOIN] = "UPDATE nodes SET pid = $2, started_at = $3, seen_at = " PG_NOW ","
                       " lease_s = $4, config_hash = $5, instance = $6, host_name = $7,"
                       " left_at = NULL WHERE name = $1 RETURNING seen_at",
    /* A beat, of this life only ($6): another life of the name has the row since. */
    [STMT_NODE_BEAT] = "UPDATE nodes SET pid = $2, started_at = $3, seen_at = " PG_NOW ","
                       " lease_s = $4, config_hash = $5, host_name = $7, left_at = NULL"
                       " WHERE name = $1 AND instance = $6 RETURNING seen_at",
    [STMT_NODE_RENEW_FEEDS] = "UPDATE feeds SET lease_until = " PG_NOW " + $2"
                              " WHERE lease_node = $1 AND id = ANY ($3::bigint[])",
    [STMT_NODE_RENEW_DELIVERIES] = "UPDATE deliveries SET lease_until = " PG_NOW " + $2"
                                   " WHERE lease_node = $1 AND state = 'running'"
                                   " AND (alert_id, hook) IN (SELECT * FROM"
                                   " unnest($3::bigint[], $4::text[]))",
    [STMT_NODE_LEAVE_FEEDS] = "UPDATE feeds SET lease_node = NULL, lease_until = NULL"
                              " WHERE lease_node = $1",
    /* Its running deliveries are pending again, and so are their alerts (as at a restart). */
    [STMT_NODE_LEAVE_DELIVERIES] =
        "WITH d AS (UPDATE deliveries SET state = 'pending', lease_node = NULL,"
        " lease_until = NULL WHERE lease_node = $1 AND state = 'running' RETURNING alert_id)"
        " UPDATE alerts SET state = 'pending' WHERE state = 'running'"
        " AND id IN (SELECT alert_id FROM d)",
    [STMT_NODE_LEAVE] =
        "UPDATE nodes SET seen_at = 0, left_at = " PG_NOW " WHERE name = $1 AND instance = $2",
    [STMT_NODES_LIST] = "SELECT " PG_NODE_COLUMNS " FROM nodes AS n ORDER BY n.name",
    /* Nodes not alive for $1 s (a left one since it left), with their skips (cascade). */
    [STMT_NODES_PRUNE] = "DELETE FROM nodes WHERE seen_at + lease_s < " PG_NOW " - $1"
                         " AND COALESCE(left_at, 0) < " PG_NOW " - $1",
    /* Feeds $2 that node $1 cannot poll: skipped by its claims, its leases on them ended. */
    [STMT_FEEDS_SKIP_ADD] = "WITH s AS (INSERT INTO feed_skips (feed_id, node)"
                            " SELECT f.id, $1 FROM feeds AS f WHERE f.id = ANY ($2::bigint[])"
                            " ON CONFLICT DO NOTHING)"
                            " UPDATE feeds SET lease_node = NULL, lease_until = NULL"
                            " WHERE lease_node = $1 AND id = ANY ($2::bigint[])",
    [STMT_FEEDS_SKIP_CLEAR] = "DELETE FROM feed_skips WHERE node = $1",
    /*
     * The changes of feeds' states since a transaction: the oldest transaction still running
     * (every older one has ended, committed or not), then the rows changed by it or later
     * that this statement sees (a later read sees again those of transactions that were
     * still running: some rows are given twice, none is missed).
     */
    [STMT_FEEDS_XMIN] = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text",
    [STMT_FEEDS_CHANGED] = "SELECT " PG_FEED_COLUMNS ", 0, f.state_xid::text FROM feeds AS f"
                           " WHERE f.state_xid >= $1::xid8"
                           " AND (f.state_xid, f.id) > ($1::xid8, $2::bigint)"
                           " ORDER BY f.state_xid, f.id LIMIT $3",
    /*
     * The claim ($1 node, $2 lease_s, $3 limit, $4 bigint[] of the feeds in $1's hands): the
     * due feeds whose lease is free, ended, or $1's own but not in its hands and not renewed
     * for 5 s (a claim it dropped: a paused feed `poll NAME` asked for, a poll aborted; not
     * one another claim of $1's made just now, not in the hands it was told yet), and whose
     * host is $1's among the live nodes that can poll the feed, locked without waiting for a
     * claim of another node (SKIP LOCKED), leased, and returned with their new epoch. A host
     * is its bucket's (1024 of them), a bucket the live node whose name hashes highest with it
     * (rendezvous); the buckets that are $1's are found once, so the claim walks the due feeds
     * in order (feeds_due) and stops at the limit, whatever their number. A feed that some
     * nodes skip (feed_skips) is the first of its bucket's order among those that do not.
     */
    [STMT_FEEDS_CLAIM] =
        "WITH now AS (SELECT " PG_NOW " AS t),"
        " live AS (SELECT name FROM nodes, now WHERE seen_at + lease_s >= now.t"
        " UNION SELECT $1::text),"
        " mine AS (SELECT b FROM generate_series(0, 1023) AS b WHERE $1 = (SELECT l.name"
        " FROM live AS l ORDER BY hashtext(b::text || '/' || l.name) DESC, l.name LIMIT 1)),"
        " skipped AS (SELECT DISTINCT feed_id FROM feed_skips),"
        " c AS (SELECT f.id FROM feeds AS f, now WHERE f.removed IS NOT TRUE"
        " AND (f.lease_until IS NULL OR f.lease_until < now.t"
        " OR (f.lease_node = $1 AND NOT (f.id = ANY ($4::bigint[]))"
        " AND f.lease_until < now.t + $2 - 5))"
        " AND COALESCE(f.next_poll_at, 0) <= now.t AND f.paused IS NOT TRUE"
        " AND f.disabled_reason IS NULL"
        " AND ((f.bucket IN (SELECT b FROM mine) AND NOT (f.id IN (SELECT feed_id FROM skipped)))"
        " OR (f.id IN (SELECT feed_id FROM skipped) AND $1 = (SELECT l.name FROM live AS l"
        " WHERE NOT EXISTS (SELECT 1 FROM feed_skips AS s WHERE s.feed_id = f.id"
        " AND s.node = l.name)"
        " ORDER BY hashtext(f.bucket::text || '/' || l.name) DESC, l.name LIMIT 1)))"
        " ORDER BY COALESCE(f.next_poll_at, 0), f.id LIMIT $3 FOR UPDATE OF f SKIP LOCKED)"
        " UPDATE feeds AS f SET lease_node = $1, lease_until = (SELECT t FROM now) + $2,"
        " lease_epoch = f.lease_epoch + 1 FROM c WHERE f.id = c.id"
        " RETURNING " PG_FEED_COLUMNS ", 0, f.lease_epoch",
    /* `poll NAME`: the feed $3 alone, due or not, whatever its bucket ($1, $2, $4 as above). */
    [STMT_FEED_CLAIM_ONE] =
        "WITH now AS (SELECT " PG_NOW " AS t),"
        " c AS (SELECT f.id FROM feeds AS f, now WHERE f.id = $3 AND f.removed IS NOT TRUE"
        " AND (f.lease_until IS NULL OR f.lease_until < now.t"
        " OR (f.lease_node = $1 AND NOT (f.id = ANY ($4::bigint[]))"
        " AND f.lease_until < now.t + $2 - 5))"
        " FOR UPDATE OF f SKIP LOCKED)"
        " UPDATE feeds AS f SET lease_node = $1, lease_until = (SELECT t FROM now) + $2,"
        " lease_epoch = f.lease_epoch + 1 FROM c WHERE f.id = c.id"
        " RETURNING " PG_FEED_COLUMNS ", 0, f.lease_epoch",
    [STMT_STORY_LOCK] = "SELECT pg_advisory_xact_lock($1::bigint)",
    [STMT_FEED_SET_STATE] = "UPDATE feeds SET paused = $2, failures = $3, disabled_reason = $4"
                            " WHERE id = $1",
    /*
     * The claim of deliveries ($1 node, $2 now_at, $3 lease_s, $4 limit): pending ones due at
     * $2 and running ones whose lease ended (by the server's clock) or that have none, in due
     * order, locked without waiting for another node's claim (SKIP LOCKED), made running under
     * $1's lease with their attempt counted; returned with the attempts before it, in due
     * order (the alerts' states are refreshed by the caller, STMT_ALERT_REFRESH).
     */
    [STMT_DELIVERIES_CLAIM] =
        "WITH now AS (SELECT " PG_NOW " AS t),"
        " c AS (SELECT d.alert_id, d.hook FROM deliveries AS d, now"
        " WHERE ((d.state = 'pending' AND COALESCE(d.next_attempt_at, 0) <= $2)"
        " OR (d.state = 'running' AND (d.lease_until IS NULL OR d.lease_until < now.t)))"
        " AND d.hook = ANY ($5::text[])"
        " ORDER BY COALESCE(d.next_attempt_at, 0), d.alert_id, d.hook LIMIT $4"
        " FOR UPDATE OF d SKIP LOCKED),"
        " u AS (UPDATE deliveries AS d SET state = 'running', attempts = d.attempts + 1,"
        " lease_node = $1, lease_until = (SELECT t FROM now) + $3 FROM c"
        " WHERE d.alert_id = c.alert_id AND d.hook = c.hook"
        " RETURNING d.alert_id, d.hook, d.attempts - 1 AS before,"
        " COALESCE(d.next_attempt_at, 0) AS due)"
        " SELECT alert_id, hook, before FROM u ORDER BY due, alert_id, hook",
    [STMT_FEED_LIFE_SAVE] = "UPDATE feeds SET move_url = $2, move_seen = $3, last_new_at = $4,"
                            " new_gap = $5, stalled = $6, doc_items = $7, life = $8 WHERE id = $1",
    /* The positions (from 1) in the text[] $2 of URLs feed $1 has one item of, its id, key. */
    [STMT_ITEMS_BY_URL] = "SELECT k.i, min(it.id), min(it.key), count(*), min(it.title),"
                          " min(it.published_at), min(it.fingerprint)"
                          " FROM unnest($2::text[]) WITH ORDINALITY AS k(url, i)"
                          " JOIN items AS it ON it.feed_id = $1 AND it.url = k.url"
                          " GROUP BY k.i",
    [STMT_ITEM_REKEY] = "UPDATE items SET key = $3, guid = $4 WHERE id = $2 AND feed_id = $1"
                        " AND NOT EXISTS (SELECT 1 FROM items WHERE feed_id = $1 AND key = $3)",
    [STMT_EVENT_ADD] = "INSERT INTO feed_events (feed_id, event, url, feed_state, reason,"
                       " raised_at, state) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    [STMT_SOURCE_EVENT_ADD] = "INSERT INTO feed_events (feed_id, event, feed_state, raised_at,"
                              " state, alert_id, item_id)"
                              " VALUES ($1, 'story-source', 'ok', $2, $3, $4, $5) RETURNING id",
    [STMT_EVENT_DELIVERY_ADD] = "INSERT INTO event_deliveries (event_id, hook, next_attempt_at)"
                                " VALUES ($1, $2, $3) ON CONFLICT (event_id, hook) DO NOTHING",
    [STMT_EVENT_DELIVERIES_DUE] = "SELECT event_id, hook, attempts FROM event_deliveries"
                                  " WHERE state = 'pending' AND COALESCE(next_attempt_at, 0) <= $1"
                                  " ORDER BY COALESCE(next_attempt_at, 0), event_id LIMIT $2",
    [STMT_EVENT_DELIVERY_NEXT] =
        "SELECT COALESCE(next_attempt_at, 0) FROM event_deliveries"
        " WHERE state = 'pending' ORDER BY COALESCE(next_attempt_at, 0) LIMIT 1",
    [STMT_EVENT_DELIVERY_SET] =
        "UPDATE event_deliveries SET state = $3, attempts = $4, next_attempt_at = $5,"
        " last_error = $6, last_attempt_at = COALESCE($7, last_attempt_at),"
        " lease_node = NULL, lease_until = NULL WHERE event_id = $1 AND hook = $2"
        " AND ($8::text IS NULL OR lease_node IS NULL OR lease_node = $8)",
    [STMT_EVENT_REFRESH] = "UPDATE feed_events SET (state, attempts) = (SELECT CASE"
                           " WHEN count(*) = 0 THEN 'no-hook'"
                           " WHEN count(*) FILTER (WHERE d.state = 'failed') > 0 THEN 'failed'"
                           " WHEN count(*) FILTER (WHERE d.state = 'running') > 0 THEN 'running'"
                           " WHEN count(*) FILTER (WHERE d.state = 'pending') > 0 THEN 'pending'"
                           " ELSE 'delivered' END, COALESCE(max(d.attempts), 0)"
                           " FROM event_deliveries AS d WHERE d.event_id = $1) WHERE id = $1",
    [STMT_EVENT_DELIVERIES_RESET] =
        "UPDATE event_deliveries SET state = 'pending' WHERE state = 'running'",
    [STMT_EVENTS_RESET] = "UPDATE feed_events SET state = 'pending' WHERE state = 'running'",
    [STMT_EVENT_GET] = "SELECT " PG_EVENT_COLUMNS PG_EVENT_FROM " WHERE e.id = $1",
    /* Feed events only: item events are listed with their alert (STMT_ALERT_ITEM_EVENTS). */
    [STMT_EVENTS_LIST] = "SELECT " PG_EVENT_COLUMNS PG_EVENT_FROM
                         " WHERE e.alert_id IS NULL AND ($1 = 0 OR e.state = 'failed')"
                         " ORDER BY e.id DESC LIMIT $2::bigint",
    [STMT_EVENT_DELIVERIES] = "SELECT hook, state, attempts, next_attempt_at, last_error,"
                              " last_attempt_at FROM event_deliveries WHERE event_id = $1"
                              " ORDER BY hook",
    /* As STMT_DELIVERIES_CLAIM, of feed events' deliveries. */
    [STMT_EVENT_DELIVERIES_CLAIM] =
        "WITH now AS (SELECT " PG_NOW " AS t),"
        " c AS (SELECT d.event_id, d.hook FROM event_deliveries AS d, now"
        " WHERE ((d.state = 'pending' AND COALESCE(d.next_attempt_at, 0) <= $2)"
        " OR (d.state = 'running' AND (d.lease_until IS NULL OR d.lease_until < now.t)))"
        " AND d.hook = ANY ($5::text[])"
        " ORDER BY COALESCE(d.next_attempt_at, 0), d.event_id, d.hook LIMIT $4"
        " FOR UPDATE OF d SKIP LOCKED),"
        " u AS (UPDATE event_deliveries AS d SET state = 'running', attempts = d.attempts + 1,"
        " lease_node = $1, lease_until = (SELECT t FROM now) + $3 FROM c"
        " WHERE d.event_id = c.event_id AND d.hook = c.hook"
        " RETURNING d.event_id, d.hook, d.attempts - 1 AS before,"
        " COALESCE(d.next_attempt_at, 0) AS due)"
        " SELECT event_id, hook, before FROM u ORDER BY due, event_id, hook",
    [STMT_NODE_RENEW_EVENT_DELIVERIES] = "UPDATE event_deliveries SET lease_until = " PG_NOW " + $2"
                                         " WHERE lease_node = $1 AND state = 'running'"
                                         " AND (event_id, hook) IN (SELECT * FROM"
                                         " unnest($3::bigint[], $4::text[]))",
    [STMT_NODE_LEAVE_EVENT_DELIVERIES] =
        "WITH d AS (UPDATE event_deliveries SET state = 'pending', lease_node = NULL,"
        " lease_until = NULL WHERE lease_node = $1 AND state = 'running' RETURNING event_id)"
        " UPDATE feed_events SET state = 'pending' WHERE state = 'running'"
        " AND id IN (SELECT event_id FROM d)",
    /* What a poll knows of the keys of the text[] $2 (their positions from 1) in feed $1. */
    [STMT_ITEMS_SEEN] = "SELECT k.i, it.id, it.fingerprint, it.edited_at, it.pruned_at IS NOT NULL"
                        " FROM unnest($2::text[]) WITH ORDINALITY AS k(key, i)"
                        " JOIN items AS it ON it.feed_id = $1 AND it.key = k.key COLLATE \"C\"",
    [STMT_ITEM_FIELDS] = "SELECT title, summary, content, fingerprint, pruned_at IS NOT NULL,"
                         " COALESCE(edited_at, first_seen_at), COALESCE(text, summary, content),"
                         " simhash, text IS NOT NULL FROM items WHERE id = $1",
    [STMT_ITEM_FP_SET] = "UPDATE items SET fingerprint = $2 WHERE id = $1",
    /*
     * A material edit: the version it replaces kept, the item's oldest versions past $8 dropped
     * (the statement's snapshot does not see the new one), the item given its new fields and put
     * back on the search queue (its search_docs row is replaced when the indexer takes it; still
     * queued, its row is locked all the same, so that an indexer's take, SKIP LOCKED, cannot read
     * the text before the edit commits and then lose the queue row with it); the
     * kept version's id.
     */
    [STMT_ITEM_EDIT] =
        "WITH v AS (INSERT INTO item_versions (item_id, title, text, seen_at, replaced_at,"
        " changes) VALUES ($1, $9, $10, $11, $12, $13) RETURNING id),"
        " t AS (DELETE FROM item_versions WHERE item_id = $1 AND id NOT IN (SELECT id FROM"
        " item_versions WHERE item_id = $1 ORDER BY id DESC LIMIT $8::bigint - 1)),"
        " u AS (UPDATE items SET title = $2, summary = $3, content = $4,"
        " text = COALESCE($5, text), simhash = CASE WHEN $5 IS NULL THEN simhash"
        " ELSE $14::bigint END, fingerprint = $6, edited_at = $7 WHERE id = $1),"
        " q AS (INSERT INTO search_queue (item_id) VALUES ($1) ON CONFLICT (item_id)"
        " DO UPDATE SET item_id = EXCLUDED.item_id)"
        " SELECT id FROM v",
    [STMT_VERSIONS] = "SELECT id, title, text, seen_at, replaced_at, changes FROM item_versions"
                      " WHERE item_id = $1 ORDER BY id DESC",
    [STMT_ALERT_FIND] = "SELECT id FROM alerts WHERE topic = $1 AND item_id = $2",
    /* item_id: the item edited, kept when its version is trimmed (edited_item in hooks' JSON). */
    [STMT_UPDATE_ADD] = "INSERT INTO feed_events (feed_id, event, feed_state, raised_at, state,"
                        " alert_id, version_id, item_id) VALUES ($1, 'item-updated', 'ok', $4, $5,"
                        " $2, $3, (SELECT item_id FROM item_versions WHERE id = $3)) RETURNING id",
    /* item-updated and story-source raised on alert $1 (feed_events_alert). */
    [STMT_ALERT_ITEM_EVENTS] =
        "SELECT " PG_EVENT_COLUMNS PG_EVENT_FROM " WHERE e.alert_id = $1 ORDER BY e.id",
    /* As STMT_DELIVERIES_REQUEUE_FAILED, of feed events' deliveries. */
    [STMT_EVENT_DELIVERIES_REQUEUE_FAILED] =
        "UPDATE event_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $3,"
        " last_error = NULL WHERE (event_id, hook) IN (SELECT event_id, hook FROM event_deliveries"
        " WHERE (event_id, hook) > ($4::bigint, $5::text) AND state = 'failed'"
        " AND ($1::text IS NULL OR hook = $1::text)"
        " AND hook IN (SELECT jsonb_array_elements_text($2::jsonb))"
        " ORDER BY event_id, hook LIMIT $6::bigint) RETURNING event_id, hook",
    /* Retention: old events done with (their deliveries go with them: ON DELETE CASCADE). */
    [STMT_EVENTS_PRUNE] = "DELETE FROM feed_events WHERE id IN (SELECT e.id FROM feed_events AS e"
                          " WHERE e.raised_at < $1 AND NOT EXISTS (SELECT 1 FROM event_deliveries"
                          " AS d WHERE d.event_id = e.id AND d.state IN ('pending', 'running'))"
                          " ORDER BY e.id LIMIT $2::bigint)",
    /* A take holds its hook's row until its transaction ends: one take of a hook at a time. */
    [STMT_BATCH_LOCK] = "INSERT INTO hook_batches (hook) VALUES ($1) ON CONFLICT (hook) DO NOTHING",
    [STMT_BATCH_GET] = "SELECT last_run_at FROM hook_batches WHERE hook = $1 FOR UPDATE",
    [STMT_BATCH_SET] = "INSERT INTO hook_batches (hook, last_run_at) VALUES ($1, $2)"
                       " ON CONFLICT (hook) DO UPDATE SET last_run_at = excluded.last_run_at",
    /* Only the due ones (at $3): one in a retry's backoff keeps it (store_sqlite.c's). */
    [STMT_BATCH_DEFER] = "UPDATE deliveries SET next_attempt_at = $2 WHERE state = 'pending'"
                         " AND COALESCE(next_attempt_at, 0) <= $3 AND hook = $1",
    [STMT_BATCH_EVENT_DEFER] = "UPDATE event_deliveries SET next_attempt_at = $2"
                               " WHERE state = 'pending' AND COALESCE(next_attempt_at, 0) <= $3"
                               " AND hook = $1",
    /* A shorter window (a reload): the deliveries deferred to the old end $2 wait until $3. */
    /* $4: a start (the old window unknown): every first attempt waiting past the new end. */
    [STMT_BATCH_REWINDOW] = "UPDATE deliveries SET next_attempt_at = $3 WHERE state = 'pending'"
                            " AND hook = $1 AND (next_attempt_at = $2 OR ($4::boolean AND"
                            " attempts = 0 AND next_attempt_at > $3))",
    [STMT_BATCH_EVENT_REWINDOW] = "UPDATE event_deliveries SET next_attempt_at = $3"
                                  " WHERE state = 'pending' AND hook = $1 AND (next_attempt_at = $2"
                                  " OR ($4::boolean AND attempts = 0 AND next_attempt_at > $3))",
};

struct store_pg {
    struct store base; /* first: what every engine shares (store-internal.h) */
    PGconn *conn;
    char *conninfo; /* the `database` value, to connect again after a lost connection */
    char *shown;    /* the same, as messages may show it (dbspec_redact) */
    bool reader;    /* default_transaction_read_only */
    bool lost;      /* the connection broke inside a transaction: it is gone with it */
    bool ready;     /* the session is set up (pg_session): its statements are prepared */
    char *node;     /* the node that joined on this connection (its deliveries' writes) */
    unsigned statement_timeout_ms; /* store_set_statement_timeout's, set by each session; 0: none */
    unsigned deadline_ms; /* the client's own bound on an answer (PG_DEADLINE_GRACE_MS); 0: none */
    int64_t retry_at_ms;  /* after a deadline passed: no new connection before (monotonic) */
};

/* Text-format parameters of one statement: values borrowed, integers formatted here. */
struct pg_params {
    int n;
    const char *v[PG_MAX_PARAMS];
    char buf[PG_MAX_PARAMS][24];
    int len[PG_MAX_PARAMS];    /* a binary parameter's bytes (par_bin) */
    int format[PG_MAX_PARAMS]; /* 0 text, 1 binary (par_bin) */
    bool binary;               /* some parameter is binary */
};

/* The PostgreSQL connection behind a struct store this engine made. */
static struct store_pg *
pg_of(struct store *base)
{
    return (struct store_pg *)base; /* base is its first member; NULL stays NULL */
}

/* Adds a text parameter, NULL for SQL NULL. */
static void
par_str(struct pg_params *p, const char *s)
{
    assert(p->n < PG_MAX_PARAMS);
    p->v[p->n++] = s;
}

/* Adds a binary parameter: len bytes at v, in the type's binary format (pg_array). */
static void
par_bin(struct pg_params *p, const char *v, int len)
{
    assert(p->n < PG_MAX_PARAMS);
    p->v[p->n] = v;
    p->len[p->n] = len;
    p->format[p->n] = 1;
    p->binary = true;
    p->n++;
}

/* Adds an integer parameter. */
static void
par_int(struct pg_params *p, int64_t v)
{
    assert(p->n < PG_MAX_PARAMS);
    (void)snprintf(p->buf[p->n], sizeof(p->buf[0]), "%" PRId64, v);
    p->v[p->n] = p->buf[p->n];
    p->n++;
}

/* Adds an instant, FEED_TIME_NONE as NULL. */
static void
par_time(struct pg_params *p, int64_t at)
{
    if (at == FEED_TIME_NONE)
        par_str(p, NULL);
    else
        par_int(p, at);
}

/* Adds a boolean. */
static void
par_bool(struct pg_params *p, bool b)
{
    par_str(p, b ? "t" : "f");
}

/* Adds a LIMIT: 0 means none, which PostgreSQL reads from LIMIT NULL. */
static void
par_limit(struct pg_params *p, unsigned limit)
{
    if (limit > 0)
        par_int(p, limit);
    else
        par_str(p, NULL);
}

/* Maps a SQLSTATE (NULL: none, the connection's trouble) to a negative errno. */
static int
pg_errno(const char *state)
{
    if (!state || strlen(state) != 5)
        return -EIO;                 /* libpq's own failure (a lost connection is seen before) */
    if (strcmp(state, "23505") == 0) /* unique_violation */
        return -EEXIST;
    if (strcmp(state, "53100") == 0) /* disk_full */
        return -ENOSPC;
    if (strcmp(state, "53200") == 0) /* out_of_memory */
        return -ENOMEM;
    if (strcmp(state, "25006") == 0) /* read_only_sql_transaction */
        return -EROFS;
    if (strcmp(state, "57014") == 0) /* query_canceled */
        return -EINTR;
    if (strcmp(state, "3D000") == 0) /* invalid_catalog_name: no such database */
        return -ENOENT;
    if (strcmp(state, "22021") == 0 || strcmp(state, "22P05") == 0) /* bad UTF-8 */
        return -EILSEQ;
    if (strcmp(state, "54000") == 0 || strcmp(state, "22001") == 0) /* too long */
        return -EMSGSIZE;
    if (strcmp(state, "42501") == 0) /* insufficient_privilege */
        return -EACCES;
    if (strcmp(state, "XX001") == 0 || strcmp(state, "XX002") == 0) /* data corrupted */
        return -EBADMSG;
    switch ((state[0] << 8) | state[1]) {
    case ('0' << 8) | '8': /* connection exception */
    case ('5' << 8) | '7': /* operator intervention: shutdown, terminated */
        return -ECONNRESET;
    case ('2' << 8) | '3': /* integrity constraint violation */
    case ('2' << 8) | '2': /* data exception */
        return -EINVAL;
    case ('2' << 8) | '8': /* invalid authorization */
        return -EACCES;
    case ('4' << 8) | '0': /* transaction rollback: serialization, deadlock */
    case ('5' << 8) | '5': /* object not in prerequisite state: lock not available */
    case ('5' << 8) | '3': /* insufficient resources: too many connections */
        return -EBUSY;
    case ('4' << 8) | '2': /* syntax error or access rule violation: schema mismatch */
        return -EPROTO;
    default:
        return -EIO;
    }
}

/*
 * Copies libpq's message into the store's last error as one line: its line breaks and tabs
 * (libpq's connection failures take several lines) become single spaces, the last dropped.
 */
static int
pg_set_message(struct store_pg *store, int r, const char *msg)
{
    char line[STORE_ERRMSG_MAX];
    size_t n = 0;
    bool blank = true; /* drops leading blanks and runs of them */

    for (const char *c = msg ? msg : ""; *c && n < sizeof(line) - 1; c++) {
        bool space = *c == '\n' || *c == '\r' || *c == '\t' || *c == ' ';
        if (space && blank)
            continue;
        line[n++] = space ? ' ' : *c;
        blank = space;
    }
    while (n > 0 && line[n - 1] == ' ')
        n--;
    line[n] = '\0';
    if (n == 0)
        return store_set_error(&store->base, r, "PostgreSQL error (no message)");
    return store_set_error(&store->base, r, "%s", line);
}

/*
 * Records the failure of a statement whose result is res (NULL: libpq had none) and returns
 * its errno; a broken connection also marks the store lost when a transaction was open.
 */
static int
pg_fail(struct store_pg *store, const PGresult *res, bool in_txn)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* The server's own words ("duplicate key value violates ..."), else libpq's. */
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char copy[STORE_ERRMSG_MAX];

    if (!msg || !*msg)
        msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(store->conn);
    if (PQstatus(store->conn) != CONNECTION_BAD)
        return pg_set_message(store, pg_errno(state), msg);
    if (in_txn)
        store->lost = true;
    (void)pg_set_message(store, -ECONNRESET, msg);
    memcpy(copy, store->base.errmsg, sizeof(copy));
    return store_set_error(&store->base, -ECONNRESET, "connection to '%s' lost: %s", store->shown,
                           copy);
}

static int pg_session(struct store_pg *store);

static int64_t
mono_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or deadline (mono_ms) passes: 1 ready, 0 timed out. */
static int
pg_wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0 || fd < 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0)
            return 1;
        if (n == 0 || errno != EINTR)
            return 0;
    }
}

/*
 * Gives the connection up past its deadline: its socket shut, libpq reads its end and marks it
 * bad (pg_ready makes it again, not before retry_at_ms). An open transaction is lost with it.
 */
static int
pg_abandon(struct store_pg *store, bool in_txn)
{
    int fd = PQsocket(store->conn);
    PGresult *res;

    if (fd >= 0)
        (void)shutdown(fd, SHUT_RDWR);
    (void)PQconsumeInput(store->conn);
    while (PQstatus(store->conn) == CONNECTION_OK && (res = PQgetResult(store->conn)))
        PQclear(res);
    store->ready = false;
    store->retry_at_ms = mono_ms() + PG_DEADLINE_BACKOFF_MS;
    if (in_txn)
        store->lost = true;
    return store_set_error(&store->base, -ETIMEDOUT,
                           "no answer from '%s' in %u ms: connection dropped, made again in %d s",
                           store->shown, store->deadline_ms, PG_DEADLINE_BACKOFF_MS / 1000);
}

/*
 * A new session on a connection with a deadline (pg_ready): the connection is made without
 * blocking past deadline_ms. 0 connected, or <0 (bad; the message recorded by the caller).
 */
static int
pg_reset_bounded(struct store_pg *store)
{
    int64_t deadline = mono_ms() + store->deadline_ms;
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;

    if (!PQresetStart(store->conn))
        return -ECONNREFUSED;
    while (ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
        short ev = ps == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        if (!pg_wait_fd(PQsocket(store->conn), ev, deadline)) {
            int fd = PQsocket(store->conn);
            if (fd >= 0)
                (void)shutdown(fd, SHUT_RDWR);
            (void)PQresetPoll(store->conn); /* sees the end: bad */
            store->retry_at_ms = mono_ms() + PG_DEADLINE_BACKOFF_MS;
            return -ETIMEDOUT;
        }
        ps = PQresetPoll(store->conn);
    }
    return ps == PGRES_POLLING_OK ? 0 : -ECONNREFUSED;
}

/*
 * Makes the connection usable before a statement: a connection lost outside a transaction is
 * made again (statements prepared anew); inside one it is an error until store_rollback.
 */
static int
pg_ready(struct store_pg *store)
{
    if (store->lost)
        return store_set_error(&store->base, -ECONNRESET,
                               "connection to '%s' lost in a transaction: roll it back",
                               store->shown);
    if (PQstatus(store->conn) == CONNECTION_OK && store->ready)
        return 0;
    if (store->deadline_ms > 0 && mono_ms() < store->retry_at_ms)
        return store_set_error(&store->base, -ECONNRESET,
                               "no answer from '%s' lately: connecting again in %" PRId64 " s",
                               store->shown, (store->retry_at_ms - mono_ms() + 999) / 1000);
    /* Lost, or set up only in part by an earlier attempt: a new session from the start. */
    if (store->deadline_ms > 0)
        (void)pg_reset_bounded(store);
    else
        PQreset(store->conn);
    if (PQstatus(store->conn) != CONNECTION_OK) {
        char copy[STORE_ERRMSG_MAX];
        (void)pg_set_message(store, -ECONNREFUSED, PQerrorMessage(store->conn));
        memcpy(copy, store->base.errmsg, sizeof(copy));
        return store_set_error(&store->base, -ECONNREFUSED, "cannot connect to '%s' again: %s",
                               store->shown, copy);
    }
    return pg_session(store);
}

/* Whether a transaction is open (or failed and not yet rolled back). */
static bool
pg_in_txn(const struct store_pg *store)
{
    PGTransactionStatusType ts = PQtransactionStatus(store->conn);
    return store->lost || ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
}

/*
 * A copy of the n bytes at s (not valid UTF-8) with each byte that starts no valid sequence
 * replaced by U+FFFD; NULL when out of memory.
 */
static char *
utf8_repaired(const char *s, size_t n)
{
    char *out = malloc(3 * n + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        int len = utf8_len((const unsigned char *)s + i, n - i);
        if (len > 0) {
            memcpy(out + o, s + i, (size_t)len);
            o += (size_t)len;
            i += (size_t)len;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD REPLACEMENT CHARACTER */
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

/*
 * PQexecPrepared within store->deadline_ms: the statement's last result, or NULL (libpq's
 * error on the connection; *timed_out when the deadline passed: the connection is dropped).
 */
static PGresult *
pg_exec_bounded(struct store_pg *store, const char *name, int n, const char *const *values,
                const int *lens, const int *formats, bool *timed_out)
{
    int64_t deadline = mono_ms() + store->deadline_ms;
    PGresult *last = NULL, *res;

    *timed_out = false;
    if (!PQsendQueryPrepared(store->conn, name, n, values, lens, formats, 0))
        return NULL;
    for (;;) {
        while (PQisBusy(store->conn)) {
            if (!pg_wait_fd(PQsocket(store->conn), POLLIN, deadline)) {
                PQclear(last);
                *timed_out = true;
                return NULL;
            }
            if (!PQconsumeInput(store->conn))
                break; /* the connection failed: PQgetResult says so */
        }
        if (!(res = PQgetResult(store->conn)))
            return last;
        PQclear(last);
        last = res;
    }
}

/*
 * Runs prepared statement which with the parameters p (NULL: none): its result on success
 * (PGRES_COMMAND_OK or PGRES_TUPLES_OK; the caller PQclears it), NULL with *ret_r set (and the
 * message recorded) on failure.
 */
static PGresult *
pg_exec(struct store_pg *store, enum pg_stmt which, const struct pg_params *p, int *ret_r)
{
    char name[16];
    bool in_txn;
    PGresult *res;
    int r;

    r = pg_ready(store);
    if (r < 0) {
        *ret_r = r;
        return NULL;
    }
    /*
     * A UTF-8 database refuses text that is not valid UTF-8, which SQLite keeps as it is
     * (an ETag or a Location header may hold any byte): such a value is sent repaired.
     */
    const char *values[PG_MAX_PARAMS];
    char *repaired[PG_MAX_PARAMS] = {NULL};
    int n = p ? p->n : 0;
    for (int i = 0; i < n; i++) {
        values[i] = p->v[i];
        if (p->format[i] == 1)
            continue; /* binary: its maker checked its text (pg_array) */
        size_t len = p->v[i] ? strlen(p->v[i]) : 0;
        if (len > 0 && utf8_valid_prefix(p->v[i], len) != len) {
            if (!(repaired[i] = utf8_repaired(p->v[i], len))) {
                for (int j = 0; j < i; j++)
                    free(repaired[j]);
                *ret_r = store_set_error(&store->base, -ENOMEM, "out of memory");
                return NULL;
            }
            values[i] = repaired[i];
        }
    }
    in_txn = pg_in_txn(store);
    (void)snprintf(name, sizeof(name), "fw%d", (int)which);
    const int *lens = p && p->binary ? p->len : NULL, *formats = p && p->binary ? p->format : NULL;
    bool timed_out = false;
    if (store->deadline_ms > 0)
        res = pg_exec_bounded(store, name, n, n ? values : NULL, lens, formats, &timed_out);
    else
        res = PQexecPrepared(store->conn, name, n, n ? values : NULL, lens, formats, 0);
    if (timed_out) {
        for (int i = 0; i < n; i++)
            free(repaired[i]);
        *ret_r = pg_abandon(store, in_txn);
        return NULL;
    }
    /*
     * A connection the server dropped while it was idle (a restart, a failover) is found
     * only now. Outside a transaction, a statement that changes nothing (BEGIN, a SELECT) is
     * sent once more on a new connection, so that the writer's next transaction and the
     * readers' queries go on; a write is not: whether it was done is not known.
     */
    if (!in_txn && PQstatus(store->conn) == CONNECTION_BAD &&
        (which == STMT_BEGIN || which == STMT_BEGIN_READ ||
         strncmp(pg_sql[which], "SELECT ", 7) == 0)) {
        PQclear(res);
        res = NULL;
        if ((r = pg_ready(store)) == 0 && store->deadline_ms > 0) {
            res = pg_exec_bounded(store, name, n, n ? values : NULL, lens, formats, &timed_out);
            if (timed_out)
                r = pg_abandon(store, false);
        } else if (r == 0) {
            res = PQexecPrepared(store->conn, name, n, n ? values : NULL, lens, formats, 0);
        }
    }
    for (int i = 0; i < n; i++)
        free(repaired[i]);
    if (r < 0) {
        *ret_r = r;
        return NULL;
    }
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    *ret_r = pg_fail(store, res, in_txn || which == STMT_COMMIT);
    PQclear(res);
    return NULL;
}

/* Runs a statement whose rows (if any) are not read: 0 with *ret_changes (may be NULL). */
static int
pg_run(struct store_pg *store, enum pg_stmt which, const struct pg_params *p, int64_t *ret_changes)
{
    int r = 0;
    PGresult *res = pg_exec(store, which, p, &r);

    if (!res)
        return r;
    if (ret_changes) {
        const char *n = PQcmdTuples(res);
        *ret_changes = n && *n ? strtoll(n, NULL, 10) : 0;
    }
    PQclear(res);
    return 0;
}

/* Reads an integer column (0 for NULL or a value that is not one). */
static int64_t
col_int(const PGresult *res, int row, int col)
{
    const char *s;
    char *end;
    long long v;

    if (PQgetisnull(res, row, col))
        return 0;
    s = PQgetvalue(res, row, col);
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return 0;
    return (int64_t)v;
}

/* Reads an instant column, NULL as FEED_TIME_NONE. */
static int64_t
col_time(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return FEED_TIME_NONE;
    return col_int(res, row, col);
}

/* Reads a boolean column (NULL as false). */
static bool
col_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

/* Reads a text column as a string borrowed from res (NULL for SQL NULL). */
static const char *
col_text(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* Reads a text column as a malloc'd copy (NULL for SQL NULL) into *ret. */
static int
col_strdup(struct store_pg *store, const PGresult *res, int row, int col, char **ret)
{
    const char *s = col_text(res, row, col);
    char *copy = NULL;

    if (s && !(copy = strdup(s)))
        return store_set_error(&store->base, -ENOMEM, "out of memory");
    *ret = copy;
    return 0;
}

/* Fills *ret (zeroed by the caller) from row of a PG_FEED_COLUMNS result. */
static int
feed_from_row(struct store_pg *store, const PGresult *res, int row, struct store_feed *ret)
{
    int64_t failures;
    int r;

    ret->id = col_int(res, row, 0);
    if ((r = col_strdup(store, res, row, 1, &ret->name)) < 0 ||
        (r = col_strdup(store, res, row, 2, &ret->configured_url)) < 0 ||
        (r = col_strdup(store, res, row, 3, &ret->url)) < 0 ||
        (r = col_strdup(store, res, row, 4, &ret->etag)) < 0 ||
        (r = col_strdup(store, res, row, 5, &ret->last_modified)) < 0 ||
        (r = col_strdup(store, res, row, 7, &ret->last_error)) < 0 ||
        (r = col_strdup(store, res, row, 13, &ret->disabled_reason)) < 0 ||
        (r = col_strdup(store, res, row, 14, &ret->runtime_url)) < 0 ||
        (r = col_strdup(store, res, row, 17, &ret->runtime_opts)) < 0 ||
        (r = col_strdup(store, res, row, 18, &ret->base_url)) < 0)
        return r;
    if (!ret->name || !ret->configured_url)
        return store_set_error(&store->base, -EIO, "feed row %lld has no name or URL",
                               (long long)ret->id);
    ret->last_status = (int)col_int(res, row, 6);
    failures = col_int(res, row, 8);
    ret->failures = failures < 0 ? 0 : failures > UINT_MAX ? UINT_MAX : (unsigned)failures;
    ret->last_poll_at = col_time(res, row, 9);
    ret->next_poll_at = col_time(res, row, 10);
    ret->recovered = col_bool(res, row, 11);
    ret->paused = col_bool(res, row, 12);
    ret->removed = col_bool(res, row, 15);
    /* A rate that is absent, negative or not a number is no evidence. */
    ret->item_rate = -1.0;
    if (!PQgetisnull(res, row, 16)) {
        char *end;
        double rate = strtod(PQgetvalue(res, row, 16), &end);
        if (*end == '\0' && rate >= 0.0 && rate < 1e9)
            ret->item_rate = rate;
    }
    if ((r = col_strdup(store, res, row, 19, &ret->move_url)) < 0 ||
        (r = col_strdup(store, res, row, 25, &ret->life)) < 0)
        return r;
    int64_t seen = col_int(res, row, 20);
    ret->move_seen = seen < 0 ? 0 : seen > UINT_MAX ? UINT_MAX : (unsigned)seen;
    ret->last_new_at = col_time(res, row, 21);
    ret->new_gap_s = -1.0;
    if (!PQgetisnull(res, row, 22)) {
        char *end;
        double gap = strtod(PQgetvalue(res, row, 22), &end);
        if (*end == '\0' && gap > 0.0 && gap < 1e15)
            ret->new_gap_s = gap;
    }
    ret->stalled = col_bool(res, row, 23);
    ret->doc_items = PQgetisnull(res, row, 24) ? -1 : col_int(res, row, 24);
    ret->items = col_int(res, row, PG_FEED_NCOL);
    return 0;
}

/* Runs constant SQL (settings, migrations) with no values in it, outside the statement table. */
static int
pg_exec_const(struct store_pg *store, const char *sql)
{
    PGresult *res = PQexec(store->conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int r = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        r = pg_fail(store, res, false);
    PQclear(res);
    return r;
}

/*
 * Reads the schema version into *ret_version: 0 for a database without feedwatch_schema, or
 * -EPROTONOSUPPORT when it has none but holds a table called feeds (another program's).
 */
static int
pg_read_version(struct store_pg *store, int *ret_version)
{
    /*
     * pg_class is read, not looked up by name (to_regclass): a name lookup that finds nothing
     * is cached by the session, and the cache would still say "no such table" after the lock
     * let it in behind a migration another session just committed.
     */
    static const char sql[] =
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'feedwatch_schema'"
        " AND relnamespace = current_schema()::regnamespace),"
        " EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'feeds'"
        " AND relnamespace = current_schema()::regnamespace)";
    PGresult *res = PQexecParams(store->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
    bool has_schema, has_feeds;
    int r = 0;

    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        r = pg_fail(store, res, false);
        PQclear(res);
        return r;
    }
    has_schema = col_bool(res, 0, 0);
    has_feeds = col_bool(res, 0, 1);
    PQclear(res);
    if (!has_schema) {
        if (has_feeds)
            return store_set_error(&store->base, -EPROTONOSUPPORT,
                                   "not a feedwatch database (it has a table 'feeds' but no"
                                   " 'feedwatch_schema')");
        *ret_version = 0;
        return 0;
    }
    res = PQexecParams(store->conn, "SELECT version FROM feedwatch_schema WHERE id = 1", 0, NULL,
                       NULL, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        r = pg_fail(store, res, false);
        PQclear(res);
        return r;
    }
    int64_t v = PQntuples(res) == 1 ? col_int(res, 0, 0) : 0;
    PQclear(res);
    if (v < 0 || v > INT_MAX)
        return store_set_error(&store->base, -EPROTONOSUPPORT,
                               "database schema %" PRId64 " is not valid", v);
    *ret_version = (int)v;
    return 0;
}

/* Refuses a schema version of a newer feedwatch. */
static int
pg_check_version(struct store_pg *store, int version)
{
    if (version > PG_SCHEMA_VERSION)
        return store_set_error(&store->base, -EPROTONOSUPPORT,
                               "database schema %d is newer than this feedwatch (%d)", version,
                               PG_SCHEMA_VERSION);
    return 0;
}

/*
 * Applies the migrations the database lacks, in one transaction that first takes the
 * advisory lock PG_MIGRATE_LOCK_KEY (released at its end): the version is read under the
 * lock, so of two processes opening a new database at once only the first migrates.
 * feedwatch_schema is made under the lock too, as the first thing a new database gets.
 */
static int
pg_migrate(struct store_pg *store)
{
    char key[24], version_text[16];
    const char *params[1] = {key};
    int version = 0, r;
    PGresult *res;

    /* Without the lock first: a database already at this version needs no write at all. */
    if ((r = pg_read_version(store, &version)) < 0 || (r = pg_check_version(store, version)) < 0)
        return r;
    if (version == PG_SCHEMA_VERSION)
        return 0;
    /* Another node's migration (the lock) and a migration of a big database take their time. */
    if ((r = pg_exec_const(store, "BEGIN")) < 0)
        return r;
    if ((r = pg_exec_const(store, "SET LOCAL statement_timeout = 0")) < 0)
        goto rollback;
    (void)snprintf(key, sizeof(key), "%" PRId64, PG_MIGRATE_LOCK_KEY);
    res = PQexecParams(store->conn, "SELECT pg_advisory_xact_lock($1::bigint)", 1, NULL, params,
                       NULL, NULL, 0);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        r = pg_fail(store, res, false);
        PQclear(res);
        goto rollback;
    }
    PQclear(res);
    if ((r = pg_read_version(store, &version)) < 0 || (r = pg_check_version(store, version)) < 0)
        goto rollback;
    if (version == 0 &&
        (r = pg_exec_const(store,
                           "CREATE TABLE feedwatch_schema ( -- the schema version of feedwatch's"
                           " PostgreSQL engine (store_pg.c's pg_migrations)\n"
                           "    id integer PRIMARY KEY CHECK (id = 1),\n"
                           "    version integer NOT NULL\n"
                           ");\n"
                           "INSERT INTO feedwatch_schema (id, version) VALUES (1, 0)")) < 0)
        goto rollback;
    for (; version < PG_SCHEMA_VERSION; version++)
        if ((r = pg_exec_const(store, pg_migrations[version])) < 0)
            goto rollback;
    (void)snprintf(version_text, sizeof(version_text), "%d", version);
    params[0] = version_text;
    res =
        PQexecParams(store->conn, "UPDATE feedwatch_schema SET version = $1::integer WHERE id = 1",
                     1, NULL, params, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        r = pg_fail(store, res, false);
        PQclear(res);
        goto rollback;
    }
    PQclear(res);
    if ((r = pg_exec_const(store, "COMMIT")) < 0)
        goto rollback;
    return 0;

rollback:
    if (PQtransactionStatus(store->conn) != PQTRANS_IDLE) {
        char saved[STORE_ERRMSG_MAX];
        memcpy(saved, store->base.errmsg, sizeof(saved));
        (void)pg_exec_const(store, "ROLLBACK");
        memcpy(store->base.errmsg, saved, sizeof(saved));
    }
    return r;
}

/* Prepares every statement of pg_sql[] on the connection, for its life. */
static int
pg_prepare(struct store_pg *store)
{
    for (int i = 0; i < STMT__COUNT; i++) {
        char name[16];

        (void)snprintf(name, sizeof(name), "fw%d", i);
        PGresult *res = PQprepare(store->conn, name, pg_sql[i], 0, NULL);
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
            int r = pg_fail(store, res, false);
            PQclear(res);
            return r;
        }
        PQclear(res);
    }
    return 0;
}

/*
 * Sets up a session on a fresh connection (at open, and after a lost connection): a reader's
 * transactions are read-only; then the statements are prepared.
 */
static int
pg_session(struct store_pg *store)
{
    int r;

    store->ready = false;
    if (store->reader && (r = pg_exec_const(store, "SET default_transaction_read_only = on")) < 0)
        return r;
    if (store->statement_timeout_ms > 0) {
        char sql[64];
        (void)snprintf(sql, sizeof(sql), "SET statement_timeout = %u", store->statement_timeout_ms);
        if ((r = pg_exec_const(store, sql)) < 0)
            return r;
    }
    /*
     * The long texts a writer stores (items' content, summary and text) are compressed with
     * lz4, not the default pglz, which took a tenth of the writer's server CPU (bench/cluster)
     * for about the same size. A server built without lz4 refuses the setting and keeps pglz.
     */
    if (!store->reader)
        (void)pg_exec_const(store, "SET default_toast_compression = lz4");
    if ((r = pg_prepare(store)) < 0)
        return r;
    store->ready = true;
    return 0;
}

/*
 * Whether libpq can read the connection string. Its own message quotes the part it could not
 * read, which may be the password (a bad percent escape in it, a blank in a keyword value):
 * ours names the value as dbspec_redact shows it.
 */
static int
pg_check_value(const char *database, char **reterr_msg)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(database, &err);

    PQfreemem(err);
    if (opts) {
        PQconninfoFree(opts);
        return 0;
    }
    if (reterr_msg) {
        char *shown = dbspec_redact(database);
        if (asprintf(reterr_msg,
                     "database: '%s' is not a connection string libpq can read (check its"
                     " quoting and percent escapes)",
                     shown ? shown : "\xe2\x80\xa6") < 0)
            *reterr_msg = NULL;
        free(shown);
    }
    return -EINVAL;
}

/* Connects to store->conninfo: 0, or a negative errno with the message recorded. */
static int
pg_connect(struct store_pg *store)
{
    /*
     * The value's own connect_timeout, options and keepalive settings win (they come later);
     * client_encoding does not.
     */
    const char *const keys[] = {"connect_timeout",
                                "options",
                                "keepalives",
                                "keepalives_idle",
                                "keepalives_interval",
                                "keepalives_count",
                                "tcp_user_timeout",
                                "dbname",
                                "fallback_application_name",
                                "client_encoding",
                                NULL};
    const char *const values[] = {PG_CONNECT_TIMEOUT,
                                  PG_SESSION_OPTIONS,
                                  "1",
                                  PG_KEEPALIVES_IDLE,
                                  PG_KEEPALIVES_INTERVAL,
                                  PG_KEEPALIVES_COUNT,
                                  PG_TCP_USER_TIMEOUT,
                                  store->conninfo,
                                  "feedwatch",
                                  "UTF8",
                                  NULL};
    char copy[STORE_ERRMSG_MAX];
    char *bad = NULL;

    if (pg_check_value(store->conninfo, &bad) < 0) {
        int r = store_set_error(&store->base, -EINVAL, "%s", bad ? bad : "database: unreadable");
        free(bad);
        return r;
    }
    store->conn = PQconnectdbParams(keys, values, 1);
    if (!store->conn)
        return store_set_error(&store->base, -ENOMEM, "out of memory");
    if (PQstatus(store->conn) == CONNECTION_OK) {
        /* Text goes in and out as UTF-8: another database encoding would refuse some. */
        const char *enc = PQparameterStatus(store->conn, "server_encoding");
        if (!enc || strcmp(enc, "UTF8") != 0)
            return store_set_error(&store->base, -EPROTONOSUPPORT,
                                   "the database's encoding is %s, not UTF8 (CREATE DATABASE"
                                   " ... ENCODING 'UTF8')",
                                   enc ? enc : "unknown");
        return 0;
    }
    (void)pg_set_message(store, -ECONNREFUSED, PQerrorMessage(store->conn));
    memcpy(copy, store->base.errmsg, sizeof(copy));
    /* libpq's message names the server, never the password; a bad password is EACCES. */
    int r = strstr(copy, "password") || strstr(copy, "authentication") ? -EACCES : -ECONNREFUSED;
    if (strstr(copy, "does not exist") && strstr(copy, "FATAL: database"))
        r = -ENOENT;
    else if (strstr(copy, "does not exist") && strstr(copy, "FATAL: role"))
        r = -EACCES;
    return store_set_error(&store->base, r, "%s", copy);
}

static void pg_free(struct store *base);

/* A new struct store for conninfo, or NULL (out of memory, said in *reterr_msg if not NULL). */
static struct store_pg *
pg_alloc(const char *conninfo, bool reader, char **reterr_msg)
{
    struct store_pg *store = calloc(1, sizeof(*store));

    if (!store || !(store->conninfo = strdup(conninfo)) ||
        !(store->shown = dbspec_redact(conninfo))) {
        if (store)
            free(store->conninfo);
        free(store);
        if (reterr_msg && asprintf(reterr_msg, "cannot open database: out of memory") < 0)
            *reterr_msg = NULL;
        return NULL;
    }
    store->base.engine = &store_pg_engine;
    store->reader = reader;
    return store;
}

/* Opens the database conninfo names, migrated to this build's schema. */
static int
pg_open(const char *conninfo, struct store **ret_store, char **reterr_msg)
{
    struct store_pg *store;
    int r;

    assert(conninfo);
    assert(ret_store);
    store = pg_alloc(conninfo, false, reterr_msg);
    if (!store)
        return -ENOMEM;
    if ((r = pg_connect(store)) == 0 && (r = pg_migrate(store)) == 0)
        r = pg_session(store);
    if (r < 0) {
        if (reterr_msg && asprintf(reterr_msg, "cannot open database '%s': %s", store->shown,
                                   store->base.errmsg) < 0)
            *reterr_msg = NULL;
        pg_free(&store->base);
        return r;
    }
    *ret_store = &store->base;
    return 0;
}

/*
 * Opens a read-only connection (default_transaction_read_only) to a database of this
 * schema version: it never migrates, and every write fails with -EROFS.
 */
static int
pg_open_reader(const char *conninfo, struct store **ret_store, char **reterr_msg)
{
    struct store_pg *store;
    int version = 0, r;

    assert(conninfo);
    assert(ret_store);
    store = pg_alloc(conninfo, true, reterr_msg);
    if (!store)
        return -ENOMEM;
    if ((r = pg_connect(store)) == 0 && (r = pg_read_version(store, &version)) == 0) {
        if (version != PG_SCHEMA_VERSION)
            r = store_set_error(&store->base, -EPROTONOSUPPORT, "database schema %d, not %d",
                                version, PG_SCHEMA_VERSION);
        else
            r = pg_session(store);
    }
    if (r < 0) {
        if (reterr_msg && asprintf(reterr_msg, "cannot open database '%s' for reading: %s",
                                   store->shown, store->base.errmsg) < 0)
            *reterr_msg = NULL;
        pg_free(&store->base);
        return r;
    }
    *ret_store = &store->base;
    return 0;
}

/* Closes the connection (the server rolls back a transaction left open); accepts NULL. */
static void
pg_free(struct store *base)
{
    struct store_pg *store = pg_of(base);

    if (!store)
        return;
    PQfinish(store->conn);
    free(store->conninfo);
    free(store->shown);
    free(store->node);
    free(store);
}

/*
 * Bounds the statements of this connection (its sessions to come too): SET statement_timeout,
 * at once when the connection is up and outside a transaction, else by the next session.
 */
static int
pg_set_statement_timeout(struct store *base, unsigned ms)
{
    struct store_pg *store = pg_of(base);
    char sql[64];

    assert(store);
    store->statement_timeout_ms = ms;
    store->deadline_ms = ms > 0 ? ms + PG_DEADLINE_GRACE_MS : 0;
    if (!store->ready || PQstatus(store->conn) != CONNECTION_OK || pg_in_txn(store))
        return 0;
    if (ms > 0)
        (void)snprintf(sql, sizeof(sql), "SET statement_timeout = %u", ms);
    else
        (void)snprintf(sql, sizeof(sql), "RESET statement_timeout");
    return pg_exec_const(store, sql);
}

/* Starts the write transaction of a poll. */
static int
pg_begin(struct store *base)
{
    struct store_pg *store = pg_of(base);

    assert(store);
    if (pg_in_txn(store))
        return store_set_error(&store->base, -EALREADY, "a transaction is already open");
    return pg_run(store, STMT_BEGIN, NULL, NULL);
}

/*
 * Opens a read transaction (end it with store_commit or store_rollback): REPEATABLE READ, so
 * that the lookups that follow see one snapshot, as in SQLite; any write in it fails (-EROFS).
 */
static int
pg_begin_read(struct store *base)
{
    struct store_pg *store = pg_of(base);

    assert(store);
    if (pg_in_txn(store))
        return store_set_error(&store->base, -EALREADY, "a transaction is already open");
    return pg_run(store, STMT_BEGIN_READ, NULL, NULL);
}

/*
 * Commits the open transaction. One that a failed statement aborted is not committed (COMMIT
 * would roll it back and say nothing): it stays open for store_rollback, as SQLite leaves it.
 */
static int
pg_commit(struct store *base)
{
    struct store_pg *store = pg_of(base);

    assert(store);
    if (store->lost)
        return pg_ready(store);
    switch (PQtransactionStatus(store->conn)) {
    case PQTRANS_INTRANS:
        return pg_run(store, STMT_COMMIT, NULL, NULL);
    case PQTRANS_INERROR:
        return store_set_error(&store->base, -EIO,
                               "the transaction failed and was not committed: roll it back");
    default:
        return store_set_error(&store->base, -EINVAL, "no transaction is open");
    }
}

/*
 * Rolls back the open transaction, if any (a lost one is gone already). The error that made
 * the caller roll back stays in store_errmsg().
 */
static void
pg_rollback(struct store *base)
{
    struct store_pg *store = pg_of(base);
    char saved[STORE_ERRMSG_MAX];

    assert(store);
    if (store->lost) {
        store->lost = false;
        return;
    }
    if (!pg_in_txn(store))
        return;
    memcpy(saved, store->base.errmsg, sizeof(saved));
    (void)pg_run(store, STMT_ROLLBACK, NULL, NULL);
    store->lost = false;
    memcpy(store->base.errmsg, saved, sizeof(saved));
}

/* Opens a savepoint inside the open transaction: one part of a batch (one poll). */
static int
pg_part_begin(struct store *base)
{
    struct store_pg *store = pg_of(base);

    assert(store);
    if (!pg_in_txn(store))
        return store_set_error(&store->base, -EINVAL, "no transaction is open");
    return pg_run(store, STMT_SAVEPOINT, NULL, NULL);
}

/* Keeps what the part wrote (it commits with the transaction). */
static int
pg_part_end(struct store *base)
{
    struct store_pg *store = pg_of(base);

    assert(store);
    if (!pg_in_txn(store))
        return store_set_error(&store->base, -EINVAL, "no transaction is open");
    return pg_run(store, STMT_RELEASE, NULL, NULL);
}

/*
 * Undoes what the part wrote and closes it; the transaction stays open (and usable again
 * after a failed statement). The error that made the caller roll back stays in store_errmsg().
 */
static void
pg_part_rollback(struct store *base)
{
    struct store_pg *store = pg_of(base);
    char saved[STORE_ERRMSG_MAX];

    assert(store);
    if (store->lost || !pg_in_txn(store))
        return;
    memcpy(saved, store->base.errmsg, sizeof(saved));
    if (pg_run(store, STMT_ROLLBACK_TO, NULL, NULL) == 0)
        (void)pg_run(store, STMT_RELEASE, NULL, NULL);
    memcpy(store->base.errmsg, saved, sizeof(saved));
}

/*
 * The writes of one operation that must happen together (a delivery and its alert's state):
 * a savepoint inside an open transaction, else a transaction of their own (SQLite's SAVEPOINT
 * does either by itself). *ret_own says which, for inner_end and inner_undo.
 */
static int
inner_begin(struct store_pg *store, bool *ret_own)
{
    *ret_own = !pg_in_txn(store);
    return pg_run(store, *ret_own ? STMT_BEGIN : STMT_SAVEPOINT, NULL, NULL);
}

/* Keeps the writes since inner_begin. */
static int
inner_end(struct store_pg *store, bool own)
{
    return pg_run(store, own ? STMT_COMMIT : STMT_RELEASE, NULL, NULL);
}

/* Undoes the writes since inner_begin; store_errmsg() keeps the error that led here. */
static void
inner_undo(struct store_pg *store, bool own)
{
    if (own)
        pg_rollback(&store->base);
    else
        pg_part_rollback(&store->base);
}

/* Loads the feed called name into *ret (zeroed by the caller); -ENOENT when there is none. */
static int
feed_get(struct store_pg *store, const char *name, struct store_feed *ret)
{
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    par_str(&p, name);
    res = pg_exec(store, STMT_FEED_GET, &p, &r);
    if (!res)
        return r;
    if (PQntuples(res) == 1)
        r = feed_from_row(store, res, 0, ret);
    else
        r = store_set_error(&store->base, -ENOENT, "no feed named '%s'", name);
    PQclear(res);
    return r;
}

/* Loads the feed called name, creating its row if it is new; resets it on a new URL. */
static int
pg_feed_ensure(struct store *base, const char *name, const char *configured_url,
               struct store_feed *ret_feed)
{
    struct store_pg *store = pg_of(base);
    struct store_feed feed = {0};
    struct pg_params p = {0};
    char *url_copy;
    int r;

    assert(store);
    assert(ret_feed);
    if (!name || !configured_url)
        return store_set_error(&store->base, -EINVAL, "feed without a name or URL");
    par_str(&p, name);
    par_str(&p, configured_url);
    par_int(&p, (int64_t)time(NULL));
    if ((r = pg_run(store, STMT_FEED_INSERT, &p, NULL)) < 0)
        return r;
    if ((r = feed_get(store, name, &feed)) < 0)
        goto fail;
    if (strcmp(feed.configured_url, configured_url) != 0) {
        url_copy = strdup(configured_url);
        if (!url_copy) {
            r = store_set_error(&store->base, -ENOMEM, "out of memory");
            goto fail;
        }
        p = (struct pg_params){0};
        par_int(&p, feed.id);
        par_str(&p, configured_url);
        if ((r = pg_run(store, STMT_FEED_RESET_SOURCE, &p, NULL)) < 0) {
            free(url_copy);
            goto fail;
        }
        free(feed.configured_url);
        feed.configured_url = url_copy;
        free(feed.url);
        free(feed.etag);
        free(feed.last_modified);
        free(feed.last_error);
        free(feed.disabled_reason);
        free(feed.base_url);
        feed.url = feed.etag = feed.last_modified = feed.last_error = NULL;
        feed.disabled_reason = feed.base_url = NULL;
        feed.failures = 0;
        feed.item_rate = -1.0;
        free(feed.move_url);
        feed.move_url = NULL;
        feed.move_seen = 0;
        feed.doc_items = -1;
        feed.new_gap_s = -1.0; /* a new source: its own pace, measured again */
        feed.stalled = false;
    }
    *ret_feed = feed;
    return 0;

fail:
    store_feed_done(&feed);
    return r;
}

/* Writes every state column of the feed with feed->id (not name, configured_url or items). */
static int
pg_feed_save(struct store *base, const struct store_feed *feed)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    char rate[32];
    int64_t changes = 0;
    int r;

    assert(store);
    assert(feed);
    par_int(&p, feed->id);
    par_str(&p, feed->url);
    par_str(&p, feed->etag);
    par_str(&p, feed->last_modified);
    par_int(&p, feed->last_status);
    par_str(&p, feed->last_error);
    par_int(&p, feed->failures);
    par_time(&p, feed->last_poll_at);
    par_time(&p, feed->next_poll_at);
    par_bool(&p, feed->recovered);
    par_bool(&p, feed->paused);
    par_str(&p, feed->disabled_reason);
    (void)snprintf(rate, sizeof(rate), "%.17g", feed->item_rate);
    par_str(&p, feed->item_rate >= 0.0 && feed->item_rate < 1e300 ? rate : NULL);
    par_str(&p, feed->base_url);
    if (feed->lease_epoch > 0)
        par_int(&p, feed->lease_epoch);
    r = pg_run(store, feed->lease_epoch > 0 ? STMT_FEED_SAVE_LEASED : STMT_FEED_SAVE, &p, &changes);
    if (r < 0)
        return r;
    if (changes != 1 && feed->lease_epoch > 0)
        return store_set_error(&store->base, -ESTALE,
                               "feed '%s': its lease was taken over by another node: this"
                               " poll is not stored",
                               feed->name ? feed->name : "?");
    if (changes != 1)
        return store_set_error(&store->base, -ENOENT, "no feed with id %lld", (long long)feed->id);
    /* Its life (feed events): in the same transaction, after the fence above held. */
    char gap[32];
    p = (struct pg_params){0};
    par_int(&p, feed->id);
    par_str(&p, feed->move_url);
    par_int(&p, feed->move_seen);
    par_time(&p, feed->last_new_at);
    (void)snprintf(gap, sizeof(gap), "%.17g", feed->new_gap_s);
    par_str(&p, feed->new_gap_s > 0.0 && feed->new_gap_s < 1e15 ? gap : NULL);
    par_bool(&p, feed->stalled);
    par_time(&p, feed->doc_items >= 0 ? feed->doc_items : FEED_TIME_NONE);
    par_str(&p, feed->life);
    return pg_run(store, STMT_FEED_LIFE_SAVE, &p, NULL);
}

/* Marks the feed with id as added at run time (runtime_url) or not (NULL), removed or not. */
static int
pg_feed_set_runtime(struct store *base, int64_t id, const char *runtime_url, bool removed)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    int64_t changes = 0;
    int r;

    assert(store);
    par_int(&p, id);
    par_str(&p, runtime_url);
    par_bool(&p, removed);
    if ((r = pg_run(store, STMT_FEED_SET_RUNTIME, &p, &changes)) < 0)
        return r;
    if (changes != 1)
        return store_set_error(&store->base, -ENOENT, "no feed with id %lld", (long long)id);
    return 0;
}

/* Sets the options of a feed added at run time (JSON text, NULL: none). */
static int
pg_feed_set_runtime_opts(struct store *base, int64_t id, const char *runtime_opts)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    int64_t changes = 0;
    int r;

    assert(store);
    par_int(&p, id);
    par_str(&p, runtime_opts);
    if ((r = pg_run(store, STMT_FEED_SET_RUNTIME_OPTS, &p, &changes)) < 0)
        return r;
    if (changes != 1)
        return store_set_error(&store->base, -ENOENT, "no feed with id %lld", (long long)id);
    return 0;
}

/* Stores item under feed_id unless (feed_id, item->key) is known: 1 stored, 0 known, <0 error. */
static int
pg_item_add(struct store *base, int64_t feed_id, const struct feed_item *item, const char *text,
            uint64_t simhash, int64_t now_at, int64_t *ret_id)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    char *categories = NULL;
    PGresult *res;
    int r = 0;

    assert(store);
    assert(item);
    if (!item->key)
        return store_set_error(&store->base, -EINVAL, "item without a key");
    if (now_at == FEED_TIME_NONE)
        return store_set_error(&store->base, -EINVAL, "item without a first-seen time");
    if (item->n_categories > 0 && item->categories) {
        r = store_categories_json(item->categories, item->n_categories, &categories);
        if (r < 0)
            return store_set_error(&store->base, r, "out of memory");
    }
    par_int(&p, feed_id);
    par_str(&p, item->key);
    par_str(&p, item->id);
    par_str(&p, item->title);
    par_str(&p, item->link);
    par_time(&p, item->published_at);
    par_time(&p, item->updated_at);
    par_str(&p, item->author);
    par_str(&p, item->language);
    par_str(&p, item->summary);
    par_str(&p, item->content);
    par_str(&p, categories);
    par_int(&p, now_at);
    par_str(&p, text);
    /* The signature's 64 bits as the signed bigint of the same bits. */
    if (simhash)
        par_int(&p, (int64_t)simhash);
    else
        par_str(&p, NULL);
    par_int(&p, (int64_t)hash_item_fields(item->title, item->summary, item->content));
    res = pg_exec(store, STMT_ITEM_ADD, &p, &r);
    free(categories);
    if (!res)
        return r;
    r = PQntuples(res) == 1;
    if (r && ret_id)
        *ret_id = col_int(res, 0, 0);
    PQclear(res);
    return r;
}

/*
 * A one-dimensional array in PostgreSQL's binary format being built (pg_items_add: the server
 * reads it without parsing a literal): the header's room, then each element as its length
 * (-1: NULL) and bytes, big-endian. failed: out of memory, or over a parameter's size.
 */
#define PG_ARRAY_HEADER 20 /* ndim, has-null flag, element type, length, lower bound */
#define PG_OID_INT8 20     /* pg_type.h: bigint */
#define PG_OID_TEXT 25     /* pg_type.h: text */
struct pg_array {
    char *s;
    size_t len, cap;
    uint32_t n;
    bool has_null, failed;
};

/* Appends n bytes to a (the header's room first). */
static void
arr_put(struct pg_array *a, const void *s, size_t n)
{
    if (a->failed)
        return;
    if (a->len == 0 && a->cap == 0) {
        a->cap = 1024;
        if (!(a->s = malloc(a->cap))) {
            a->failed = true;
            return;
        }
        memset(a->s, 0, PG_ARRAY_HEADER);
        a->len = PG_ARRAY_HEADER;
    }
    if (n > (size_t)INT_MAX - a->len) {
        a->failed = true; /* over what one parameter's length says */
        return;
    }
    if (a->cap - a->len < n) {
        size_t cap = a->cap;
        while (cap - a->len < n)
            cap *= 2;
        char *ns = realloc(a->s, cap);
        if (!ns) {
            a->failed = true;
            return;
        }
        a->s = ns;
        a->cap = cap;
    }
    memcpy(a->s + a->len, s, n);
    a->len += n;
}

/* Appends a 32-bit integer, big-endian. */
static void
arr_u32(struct pg_array *a, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    arr_put(a, b, sizeof(b));
}

/* Appends a NULL element. */
static void
arr_null(struct pg_array *a)
{
    arr_u32(a, UINT32_MAX); /* length -1 */
    a->has_null = true;
    a->n++;
}

/*
 * Appends a text element, NULL as NULL; bytes that are not UTF-8 are repaired as pg_exec
 * repairs a text parameter (the server would refuse them).
 */
static void
arr_text(struct pg_array *a, const char *s)
{
    if (!s) {
        arr_null(a);
        return;
    }
    size_t n = strlen(s);
    char *repaired = NULL;
    if (utf8_valid_prefix(s, n) != n) {
        if (!(repaired = utf8_repaired(s, n))) {
            a->failed = true;
            return;
        }
        s = repaired;
        n = strlen(s);
    }
    if (n > (size_t)INT_MAX) {
        a->failed = true;
    } else {
        arr_u32(a, (uint32_t)n);
        arr_put(a, s, n);
        a->n++;
    }
    free(repaired);
}

/* Appends a bigint element, or NULL when none is true. */
static void
arr_int(struct pg_array *a, int64_t v, bool none)
{
    if (none) {
        arr_null(a);
        return;
    }
    uint64_t u = (uint64_t)v;
    arr_u32(a, 8);
    arr_u32(a, (uint32_t)(u >> 32));
    arr_u32(a, (uint32_t)u);
    a->n++;
}

/* Writes the header of a's n elements of type oid: 0, or -1 when a failed. */
static int
arr_finish(struct pg_array *a, uint32_t oid)
{
    if (a->failed || a->len < PG_ARRAY_HEADER)
        return -1;
    uint32_t head[5] = {1, a->has_null ? 1 : 0, oid, a->n, 1};
    for (int i = 0; i < 5; i++) {
        unsigned char *b = (unsigned char *)a->s + 4 * i;
        b[0] = (unsigned char)(head[i] >> 24);
        b[1] = (unsigned char)(head[i] >> 16);
        b[2] = (unsigned char)(head[i] >> 8);
        b[3] = (unsigned char)head[i];
    }
    return 0;
}

/* The columns of STMT_ITEMS_ADD's arrays, in its parameters' order ($3..$15). */
enum {
    ADD_KEY,
    ADD_GUID,
    ADD_TITLE,
    ADD_URL,
    ADD_PUBLISHED,
    ADD_UPDATED,
    ADD_AUTHOR,
    ADD_LANGUAGE,
    ADD_SUMMARY,
    ADD_CONTENT,
    ADD_CATEGORIES,
    ADD_TEXT,
    ADD_SIMHASH,
    ADD_FINGERPRINT,
    ADD__COUNT
};

/* Stores items[0..n) (at most STORE_ADD_BATCH) in one statement: the number stored, or <0. */
static int
items_add_chunk(struct store_pg *store, int64_t feed_id, const struct store_new_item *items,
                size_t n, int64_t now_at, int64_t *ret_ids)
{
    struct pg_array col[ADD__COUNT] = {{0}};
    struct pg_params p = {0};
    PGresult *res = NULL;
    char **fixed = NULL; /* the keys that are not UTF-8, as the server stores them */
    int r = 0;

    for (size_t i = 0; i < n && r == 0; i++) {
        const struct feed_item *item = items[i].item;
        char *categories = NULL;
        size_t key_len = strlen(item->key);

        ret_ids[i] = 0;
        if (utf8_valid_prefix(item->key, key_len) != key_len &&
            ((!fixed && !(fixed = calloc(n, sizeof(*fixed)))) ||
             !(fixed[i] = utf8_repaired(item->key, key_len)))) {
            r = store_set_error(&store->base, -ENOMEM, "out of memory");
            break;
        }
        if (item->n_categories > 0 && item->categories &&
            store_categories_json(item->categories, item->n_categories, &categories) < 0) {
            r = store_set_error(&store->base, -ENOMEM, "out of memory");
            break;
        }
        arr_text(&col[ADD_KEY], item->key);
        arr_text(&col[ADD_GUID], item->id);
        arr_text(&col[ADD_TITLE], item->title);
        arr_text(&col[ADD_URL], item->link);
        arr_int(&col[ADD_PUBLISHED], item->published_at, item->published_at == FEED_TIME_NONE);
        arr_int(&col[ADD_UPDATED], item->updated_at, item->updated_at == FEED_TIME_NONE);
        arr_text(&col[ADD_AUTHOR], item->author);
        arr_text(&col[ADD_LANGUAGE], item->language);
        arr_text(&col[ADD_SUMMARY], item->summary);
        arr_text(&col[ADD_CONTENT], item->content);
        arr_text(&col[ADD_CATEGORIES], categories);
        arr_text(&col[ADD_TEXT], items[i].text);
        /* The signature's 64 bits as the signed bigint of the same bits; 0: none. */
        arr_int(&col[ADD_SIMHASH], (int64_t)items[i].simhash, items[i].simhash == 0);
        arr_int(&col[ADD_FINGERPRINT],
                (int64_t)hash_item_fields(item->title, item->summary, item->content), false);
        free(categories);
    }
    par_int(&p, feed_id);
    par_int(&p, now_at);
    for (int c = 0; c < ADD__COUNT; c++) {
        bool ints =
            c == ADD_PUBLISHED || c == ADD_UPDATED || c == ADD_SIMHASH || c == ADD_FINGERPRINT;
        if (arr_finish(&col[c], ints ? PG_OID_INT8 : PG_OID_TEXT) < 0 && r == 0)
            r = store_set_error(&store->base, -ENOMEM, "out of memory, or a poll over 2 GB");
        par_bin(&p, col[c].s, (int)col[c].len);
    }
    if (r == 0)
        res = pg_exec(store, STMT_ITEMS_ADD, &p, &r);
    for (int c = 0; c < ADD__COUNT; c++)
        free(col[c].s);
    /*
     * Each stored key to the first item of the chunk with that key (a repeated key's later
     * items stay 0, as known): the rows come in the items' order, so the walk goes on from
     * the last match.
     */
    int rows = res ? PQntuples(res) : 0;
    size_t at = 0;
    for (int row = 0; row < rows; row++) {
        const char *key = PQgetvalue(res, row, 1);
        for (size_t k = 0; k < n; k++) {
            size_t i = (at + k) % n;
            const char *sent = fixed && fixed[i] ? fixed[i] : items[i].item->key;
            if (ret_ids[i] == 0 && strcmp(sent, key) == 0) {
                ret_ids[i] = col_int(res, row, 0);
                at = i + 1;
                break;
            }
        }
    }
    for (size_t i = 0; fixed && i < n; i++)
        free(fixed[i]);
    free(fixed);
    PQclear(res);
    return res ? rows : r;
}

/* Stores the n items under feed_id: one statement per STORE_ADD_BATCH items. */
static int
pg_items_add(struct store *base, int64_t feed_id, const struct store_new_item *items, size_t n,
             int64_t now_at, int64_t *ret_ids)
{
    struct store_pg *store = pg_of(base);
    int stored = 0;

    assert(store);
    if (now_at == FEED_TIME_NONE)
        return store_set_error(&store->base, -EINVAL, "item without a first-seen time");
    for (size_t i = 0; i < n; i++)
        if (!items[i].item || !items[i].item->key)
            return store_set_error(&store->base, -EINVAL, "item without a key");
    for (size_t at = 0; at < n; at += STORE_ADD_BATCH) {
        size_t m = n - at < STORE_ADD_BATCH ? n - at : STORE_ADD_BATCH;
        int r = items_add_chunk(store, feed_id, items + at, m, now_at, ret_ids + at);
        if (r < 0)
            return r;
        stored += r;
    }
    return stored;
}

/* Whether (feed_id, key) is stored: 1 yes, 0 no, <0 error. */
static int
pg_item_known(struct store *base, int64_t feed_id, const char *key)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    assert(key);
    par_int(&p, feed_id);
    par_str(&p, key);
    res = pg_exec(store, STMT_ITEM_KNOWN, &p, &r);
    if (!res)
        return r;
    r = PQntuples(res) > 0;
    PQclear(res);
    return r;
}

/*
 * The text[] literal of keys (each quoted, '"' and '\\' escaped: any text is an element) into
 * *ret (malloc'd): 0 or -ENOMEM.
 */
static int
texts_literal(struct store_pg *store, const char *const *keys, size_t n, char **ret)
{
    size_t cap = 3, len = 0;
    char *s;

    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(keys[i]) + 3;
    if (!(s = malloc(cap)))
        return store_set_error(&store->base, -ENOMEM, "out of memory");
    s[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            s[len++] = ',';
        s[len++] = '"';
        for (const char *c = keys[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                s[len++] = '\\';
            s[len++] = *c;
        }
        s[len++] = '"';
    }
    s[len++] = '}';
    s[len] = '\0';
    *ret = s;
    return 0;
}

/* Whether each key is stored for feed_id: one statement per STORE_KNOWN_BATCH keys. */
static int
pg_items_known(struct store *base, int64_t feed_id, const char *const *keys, size_t n,
               bool *ret_known)
{
    struct store_pg *store = pg_of(base);
    int r = 0;

    assert(store);
    for (size_t at = 0; at < n; at += STORE_KNOWN_BATCH) {
        size_t m = n - at < STORE_KNOWN_BATCH ? n - at : STORE_KNOWN_BATCH;
        struct pg_params p = {0};
        char *lit = NULL;
        PGresult *res;

        if ((r = texts_literal(store, keys + at, m, &lit)) < 0)
            return r;
        par_int(&p, feed_id);
        par_str(&p, lit);
        res = pg_exec(store, STMT_ITEMS_KNOWN, &p, &r);
        free(lit);
        if (!res)
            return r;
        memset(ret_known + at, 0, m * sizeof(*ret_known));
        for (int i = 0; i < PQntuples(res); i++) {
            int64_t k = col_int(res, i, 0);

            if (k >= 1 && (size_t)k <= m)
                ret_known[at + (size_t)k - 1] = true;
        }
        PQclear(res);
    }
    return 0;
}

/* The one item of feed_id with each URL (store.h): one statement per STORE_KNOWN_BATCH URLs. */
static int
pg_items_by_url(struct store *base, int64_t feed_id, const char *const *urls, size_t n,
                struct store_item_ref *ret)
{
    struct store_pg *store = pg_of(base);
    int r = 0;

    assert(store);
    for (size_t at = 0; at < n; at += STORE_KNOWN_BATCH) {
        size_t m = n - at < STORE_KNOWN_BATCH ? n - at : STORE_KNOWN_BATCH;
        struct pg_params p = {0};
        char *lit = NULL;
        PGresult *res;

        if ((r = texts_literal(store, urls + at, m, &lit)) < 0)
            return r;
        par_int(&p, feed_id);
        par_str(&p, lit);
        res = pg_exec(store, STMT_ITEMS_BY_URL, &p, &r);
        free(lit);
        if (!res)
            return r;
        for (int i = 0; i < PQntuples(res) && r == 0; i++) {
            int64_t k = col_int(res, i, 0);
            if (k < 1 || (size_t)k > m || col_int(res, i, 3) != 1)
                continue;
            struct store_item_ref *ref = &ret[at + (size_t)k - 1];
            ref->id = col_int(res, i, 1);
            ref->published_at = col_time(res, i, 5);
            ref->fingerprint = (uint64_t)col_int(res, i, 6);
            if ((r = col_strdup(store, res, i, 2, &ref->key)) == 0)
                r = col_strdup(store, res, i, 4, &ref->title);
        }
        PQclear(res);
        if (r < 0)
            return r;
    }
    return 0;
}

/* A new key and guid for item_id of feed_id unless the feed has that key: 1, 0, or <0. */
static int
pg_item_rekey(struct store *base, int64_t feed_id, int64_t item_id, const char *key,
              const char *guid)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    int64_t changes = 0;
    int r;

    assert(store);
    par_int(&p, feed_id);
    par_int(&p, item_id);
    par_str(&p, key);
    par_str(&p, guid);
    if ((r = pg_run(store, STMT_ITEM_REKEY, &p, &changes)) < 0)
        return r;
    return changes == 1;
}

/* The feed's saved boilerplate model: 0 with *ret_data (malloc'ed, NULL when none). */
static int
pg_feed_model_get(struct store *base, int64_t feed_id, char **ret_data, size_t *ret_len)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    assert(ret_data);
    assert(ret_len);
    *ret_data = NULL;
    *ret_len = 0;
    par_int(&p, feed_id);
    res = pg_exec(store, STMT_FEED_MODEL_GET, &p, &r);
    if (!res)
        return r;
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        size_t n = 0;
        unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &n);
        if (!bytes) {
            r = store_set_error(&store->base, -ENOMEM, "out of memory");
        } else if (n > 0) {
            char *copy = malloc(n + 1);
            if (!copy) {
                r = store_set_error(&store->base, -ENOMEM, "out of memory");
            } else {
                memcpy(copy, bytes, n);
                copy[n] = '\0';
                *ret_data = copy;
                *ret_len = n;
            }
        }
        PQfreemem(bytes);
    }
    PQclear(res);
    return r;
}

/* Saves the feed's boilerplate model (len bytes of data; NULL forgets it). */
static int
pg_feed_model_set(struct store *base, int64_t feed_id, const char *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    char *text = NULL;
    int r;

    assert(store);
    if (len > INT_MAX)
        return store_set_error(&store->base, -EMSGSIZE, "boilerplate model too large");
    if (data) {
        /* bytea's hex input form: "\x" and two digits a byte. */
        text = malloc(2 * len + 3);
        if (!text)
            return store_set_error(&store->base, -ENOMEM, "out of memory");
        text[0] = '\\';
        text[1] = 'x';
        for (size_t i = 0; i < len; i++) {
            text[2 + 2 * i] = hex[(unsigned char)data[i] >> 4];
            text[3 + 2 * i] = hex[(unsigned char)data[i] & 0xf];
        }
        text[2 + 2 * len] = '\0';
    }
    par_int(&p, feed_id);
    par_str(&p, text);
    r = pg_run(store, STMT_FEED_MODEL_SET, &p, NULL);
    free(text);
    return r;
}

/* Calls cb for every feed row, ordered by name, with its item count. Stops at cb's error. */
static int
pg_feed_list(struct store *base, store_feed_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    PGresult *res;
    int r = 0;

    assert(store);
    assert(cb);
    res = pg_exec(store, STMT_FEED_LIST, NULL, &r);
    if (!res)
        return r;
    for (int i = 0; i < PQntuples(res); i++) {
        struct store_feed feed = {0};

        r = feed_from_row(store, res, i, &feed);
        if (r >= 0)
            r = cb(userdata, &feed);
        store_feed_done(&feed);
        if (r < 0)
            break;
        r = 0;
    }
    PQclear(res);
    return r;
}

/* Reads the common alert columns (PG_ALERT_COLUMNS) of row i. */
static void
alert_from_row(const PGresult *res, int i, struct store_alert_row *row)
{
    row->id = col_int(res, i, 0);
    row->topic = col_text(res, i, 1);
    row->item_id = col_int(res, i, 2);
    row->feed = col_text(res, i, 3);
    row->title = col_text(res, i, 4);
    row->url = col_text(res, i, 5);
    row->state = col_text(res, i, 6);
    row->attempts = (int)col_int(res, i, 7);
    row->raised_at = col_time(res, i, 8);
}

/* Calls cb for the newest items first that pass every member of f that is set. */
static int
pg_items_query(struct store *base, const struct store_items_filter *f, unsigned limit,
               bool with_text, store_item_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    enum pg_stmt which = f->topic        ? STMT_ITEMS_TOPIC
                         : f->feeds_json ? STMT_ITEMS_FEEDS
                         : f->feed       ? STMT_ITEMS_FEED
                                         : STMT_ITEMS_ALL;
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    assert(cb);
    /* $1 limit, $2 with text, $3 since, then $4 the feed (or names), $5 topic, $6 names. */
    par_limit(&p, limit);
    par_bool(&p, with_text);
    par_int(&p, f->since_at == FEED_TIME_NONE ? INT64_MIN : f->since_at);
    if (which == STMT_ITEMS_TOPIC) {
        par_str(&p, f->feed);
        par_str(&p, f->topic);
        par_str(&p, f->feeds_json);
    } else if (which != STMT_ITEMS_ALL) {
        par_str(&p, f->feeds_json ? f->feeds_json : f->feed);
    }
    res = pg_exec(store, which, &p, &r);
    if (!res)
        return r;
    for (int i = 0; i < PQntuples(res); i++) {
        struct store_item_row row = {
            .id = col_int(res, i, 0),
            .feed = col_text(res, i, 1),
            .key = col_text(res, i, 2),
            .title = col_text(res, i, 3),
            .url = col_text(res, i, 4),
            .published_at = col_time(res, i, 5),
            .updated_at = col_time(res, i, 6),
            .author = col_text(res, i, 7),
            .language = col_text(res, i, 8),
            .summary = col_text(res, i, 9),
            .text = col_text(res, i, 10),
            .first_seen_at = col_time(res, i, 11),
        };
        r = cb(userdata, &row);
        if (r < 0)
            break;
        r = 0;
    }
    PQclear(res);
    return r;
}

/* Calls cb once with the item item_id, text, categories and pruning included; -ENOENT: none. */
static int
pg_item_get(struct store *base, int64_t item_id, store_item_full_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_int(&p, item_id);
    res = pg_exec(store, STMT_ITEM_GET, &p, &r);
    if (!res)
        return r;
    if (PQntuples(res) == 1) {
        struct store_item_full it = {
            .row = {.id = col_int(res, 0, 0),
                    .feed = col_text(res, 0, 1),
                    .key = col_text(res, 0, 2),
                    .title = col_text(res, 0, 3),
                    .url = col_text(res, 0, 4),
                    .published_at = col_time(res, 0, 5),
                    .updated_at = col_time(res, 0, 6),
                    .author = col_text(res, 0, 7),
                    .language = col_text(res, 0, 8),
                    .summary = col_text(res, 0, 9),
                    .text = col_text(res, 0, 10),
                    .first_seen_at = col_time(res, 0, 11)},
            .categories = col_text(res, 0, 12),
            .pruned_at = col_time(res, 0, 13),
        };
        r = cb(userdata, &it);
    } else {
        r = store_set_error(&store->base, -ENOENT, "no item %lld", (long long)item_id);
    }
    PQclear(res);
    return r;
}

/* Calls cb for each alert raised on item_id (source false), then each it is a source of. */
static int
pg_item_alerts(struct store *base, int64_t item_id, store_item_alert_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_int(&p, item_id);
    res = pg_exec(store, STMT_ITEM_ALERTS, &p, &r);
    if (!res)
        return r;
    for (int i = 0; i < PQntuples(res); i++) {
        struct store_alert_row row = {.published_at = FEED_TIME_NONE};

        alert_from_row(res, i, &row);
        row.matched = col_text(res, i, 9);
        r = cb(userdata, &row, col_bool(res, i, 10));
        if (r < 0)
            break;
        r = 0;
    }
    PQclear(res);
    return r;
}

/* The URLs the row of the feed called name holds (store.h). */
static int
pg_feed_urls(struct store *base, const char *name, char *ret_urls[STORE_FEED_URLS])
{
    struct store_pg *store = pg_of(base);
    char *urls[STORE_FEED_URLS] = {NULL};
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_str(&p, name);
    res = pg_exec(store, STMT_FEED_URLS, &p, &r);
    if (!res)
        return r;
    if (PQntuples(res) == 1) {
        for (int i = 0; i < STORE_FEED_URLS && r == 0; i++)
            r = col_strdup(store, res, 0, i, &urls[i]);
        r = r < 0 ? r : 1;
    }
    PQclear(res);
    if (r < 0) {
        for (int i = 0; i < STORE_FEED_URLS; i++)
            free(urls[i]);
        return r;
    }
    for (int i = 0; i < STORE_FEED_URLS; i++)
        ret_urls[i] = urls[i];
    return r;
}

/* Adds n alerts of state to the tally of store_alert_counts and store_feed_counts. */
static void
count_state(const char *state, int64_t n, int64_t *delivered, int64_t *pending, int64_t *failed,
            int64_t *no_hook)
{
    if (!state)
        return;
    if (strcmp(state, "delivered") == 0)
        *delivered += n;
    else if (strcmp(state, "failed") == 0)
        *failed += n;
    else if (strcmp(state, "no-hook") == 0)
        *no_hook += n;
    else
        *pending += n; /* pending and running */
}

/* One feed's tallies (zero for a feed the store does not know). */
static int
pg_feed_counts(struct store *base, const char *name, struct store_feed_counts *ret)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    assert(ret);
    *ret = (struct store_feed_counts){.last_new_item_at = FEED_TIME_NONE};
    par_str(&p, name);
    res = pg_exec(store, STMT_FEED_COUNTS, &p, &r);
    if (!res)
        return r;
    if (PQntuples(res) == 1) {
        ret->items = col_int(res, 0, 0);
        ret->pruned_items = col_int(res, 0, 1);
        ret->last_new_item_at = col_time(res, 0, 2);
    } else {
        r = store_set_error(&store->base, -EIO, "no row from a count");
    }
    PQclear(res);
    if (r < 0)
        return r;
    res = pg_exec(store, STMT_FEED_ALERT_COUNTS, &p, &r);
    if (!res)
        return r;
    for (int i = 0; i < PQntuples(res); i++)
        count_state(col_text(res, i, 0), col_int(res, i, 1), &ret->alerts_delivered,
                    &ret->alerts_pending, &ret->alerts_failed, &ret->alerts_no_hook);
    PQclear(res);
    return 0;
}

/* Runs a statement of one row and one integer column into *ret (NULL: FEED_TIME_NONE). */
static int
pg_one_int(struct store_pg *store, enum pg_stmt which, int64_t *ret)
{
    PGresult *res;
    int r = 0;

    res = pg_exec(store, which, NULL, &r);
    if (!res)
        return r;
    if (PQntuples(res) == 1 && PQnfields(res) >= 1)
        *ret = col_time(res, 0, 0);
    else
        r = store_set_error(&store->base, -EIO, "no row from a count");
    PQclear(res);
    return r;
}

/* Number of stored items, of all feeds. */
static int
pg_count_items(struct store *base, int64_t *ret_count)
{
    assert(base);
    assert(ret_count);
    return pg_one_int(pg_of(base), STMT_COUNT_ITEMS, ret_count);
}

/* Bytes on disk of the database (pg_database_size: its tables, indexes and TOAST). */
static int
pg_disk_bytes(struct store *base, uint64_t *ret_bytes)
{
    int64_t n = 0;
    int r;

    assert(base);
    assert(ret_bytes);
    r = pg_one_int(pg_of(base), STMT_DISK_BYTES, &n);
    if (r < 0)
        return r;
    *ret_bytes = n > 0 ? (uint64_t)n : 0;
    return 0;
}

/*
 * Raises the alert (topic, item_id) with one pending delivery per hook, due at raised_at.
 * 1 raised (*ret_id set), 0 when that (topic, item) was raised before, <0 error.
 */
static int
pg_alert_add(struct store *base, const char *topic, int64_t item_id, const char *matched_json,
             char *const *hooks, size_t n_hooks, int64_t raised_at, int64_t *ret_id)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int64_t id;
    int r = 0;

    assert(store);
    par_str(&p, topic);
    par_int(&p, item_id);
    par_str(&p, n_hooks ? "pending" : "no-hook");
    par_str(&p, matched_json);
    par_int(&p, raised_at);
    res = pg_exec(store, STMT_ALERT_ADD, &p, &r);
    if (!res)
        return r;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return 0;
    }
    id = col_int(res, 0, 0);
    PQclear(res);
    p = (struct pg_params){0};
    par_int(&p, id);
    if ((r = pg_run(store, STMT_STORY_BANDS_ADD, &p, NULL)) < 0)
        return r;
    for (size_t i = 0; i < n_hooks; i++) {
        p = (struct pg_params){0};
        par_int(&p, id);
        par_str(&p, hooks[i]);
        par_int(&p, raised_at);
        if ((r = pg_run(store, STMT_DELIVERY_ADD, &p, NULL)) < 0)
            return r;
    }
    if (ret_id)
        *ret_id = id;
    return 1;
}

/*
 * Calls cb(alert_id, simhash, feed_id), in alert id order, for the alerts of topic raised at or
 * after since_at, of a feed other than feed_id, that share at least one band with simhash (the
 * SQLite engine explains the bands). Adds the rows the statement returned to *steps (may be
 * NULL): PostgreSQL has no count of a statement's VM steps.
 */
static int
pg_story_candidates(struct store *base, const char *topic, int64_t since_at, uint64_t simhash,
                    int64_t feed_id, store_story_cb cb, void *userdata, uint64_t *steps)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_str(&p, topic);
    par_int(&p, since_at);
    for (int n = 0; n < 7; n++)
        par_int(&p, (int64_t)((simhash >> (9 * n)) & (n == 6 ? 1023u : 511u)));
    par_int(&p, feed_id);
    res = pg_exec(store, STMT_STORY_CANDIDATES, &p, &r);
    if (!res)
        return r;
    if (steps)
        *steps += (uint64_t)PQntuples(res);
    for (int i = 0; i < PQntuples(res); i++) {
        r = cb(userdata, col_int(res, i, 0), (uint64_t)col_int(res, i, 1), col_int(res, i, 2));
        if (r != 0)
            break;
    }
    PQclear(res);
    return r < 0 ? r : 0;
}

/* Keeps the story signature of alert_id: its bytes (as bytea's hex text) and its keys. */
static int
pg_alert_set_story(struct store *base, int64_t alert_id, const char *topic, int64_t raised_at,
                   const void *sig, size_t sig_len, const uint32_t *keys, size_t n_keys)
{
    static const char hex[] = "0123456789abcdef";
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    const unsigned char *b = sig;
    char *text;
    int r;

    assert(store);
    if (sig_len > (SIZE_MAX - 3) / 2)
        return store_set_error(&store->base, -EINVAL, "story signature too long");
    if (!(text = malloc(3 + 2 * sig_len)))
        return store_set_error(&store->base, -ENOMEM, "out of memory");
    text[0] = '\\';
    text[1] = 'x';
    for (size_t i = 0; i < sig_len; i++) {
        text[2 + 2 * i] = hex[b[i] >> 4];
        text[3 + 2 * i] = hex[b[i] & 0xf];
    }
    text[2 + 2 * sig_len] = '\0';
    par_int(&p, alert_id);
    par_str(&p, text);
    r = pg_run(store, STMT_STORY_SIG_SET, &p, NULL);
    free(text);
    for (size_t i = 0; r >= 0 && i < n_keys; i++) {
        p = (struct pg_params){0};
        par_int(&p, alert_id);
        par_str(&p, topic);
        par_int(&p, (int64_t)keys[i]);
        par_int(&p, raised_at);
        r = pg_run(store, STMT_STORY_KEY_ADD, &p, NULL);
    }
    return r < 0 ? r : 0;
}

/* The newest limit alerts of topic in the window with key, newest first (store.h). */
static int
pg_story_key_candidates(struct store *base, const char *topic, int64_t since_at, uint32_t key,
                        unsigned limit, store_story_key_cb cb, void *userdata, uint64_t *steps)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_str(&p, topic);
    par_int(&p, since_at);
    par_int(&p, (int64_t)key);
    par_int(&p, limit);
    res = pg_exec(store, STMT_STORY_KEY_CANDIDATES, &p, &r);
    if (!res)
        return r;
    if (steps)
        *steps += (uint64_t)PQntuples(res);
    for (int i = 0; i < PQntuples(res); i++) {
        r = cb(userdata, col_int(res, i, 0));
        if (r != 0)
            break;
    }
    PQclear(res);
    return r < 0 ? r : 0;
}

/* The story signature bytes of alert_id (store.h). */
static int
pg_alert_story_sig(struct store *base, int64_t alert_id, void *buf, size_t size, size_t *ret_len,
                   int64_t *ret_raised_at, uint64_t *steps)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_int(&p, alert_id);
    res = pg_exec(store, STMT_STORY_SIG_GET, &p, &r);
    if (!res)
        return r;
    if (steps)
        *steps += (uint64_t)PQntuples(res);
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        size_t n = 0;
        unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &n);
        if (!bytes) {
            r = store_set_error(&store->base, -ENOMEM, "out of memory");
        } else if (n <= size) {
            memcpy(buf, bytes, n);
            *ret_len = n;
            if (ret_raised_at)
                *ret_raised_at = col_int(res, 0, 1);
            r = 1;
        }
        PQfreemem(bytes);
    }
    PQclear(res);
    return r;
}

/* Attaches item_id to alert_id as another source of the same story. */
static int
pg_alert_add_source(struct store *base, int64_t alert_id, int64_t item_id)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};

    assert(store);
    par_int(&p, alert_id);
    par_int(&p, item_id);
    return pg_run(store, STMT_SOURCE_ADD, &p, NULL);
}

/* Calls cb for up to limit pending deliveries due at now_at, oldest first. */
static int
deliveries_due_run(struct store *base, enum pg_stmt which, int64_t now_at, unsigned limit,
                   store_delivery_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_int(&p, now_at);
    par_int(&p, limit);
    res = pg_exec(store, which, &p, &r);
    if (!res)
        return r;
    for (int i = 0; i < PQntuples(res); i++) {
        r = cb(userdata, col_int(res, i, 0), col_text(res, i, 1), (unsigned)col_int(res, i, 2));
        if (r < 0)
            break;
        r = 0;
    }
    PQclear(res);
    return r;
}

static int
pg_deliveries_due(struct store *base, int64_t now_at, unsigned limit, store_delivery_cb cb,
                  void *userdata)
{
    return deliveries_due_run(base, STMT_DELIVERIES_DUE, now_at, limit, cb, userdata);
}

/* When the earliest pending delivery is due: 1 with *ret_at, 0 when none is pending. */
static int
delivery_next_run(struct store *base, enum pg_stmt which, int64_t *ret_at)
{
    struct store_pg *store = pg_of(base);
    PGresult *res;
    int r = 0;

    assert(store);
    res = pg_exec(store, which, NULL, &r);
    if (!res)
        return r;
    if (PQntuples(res) == 1) {
        *ret_at = col_int(res, 0, 0);
        r = 1;
    }
    PQclear(res);
    return r;
}

static int
pg_delivery_next_due(struct store *base, int64_t *ret_at)
{
    return delivery_next_run(base, STMT_DELIVERY_NEXT, ret_at);
}

/* Refreshes the aggregate state of alert_id (or a feed event's: which) from its deliveries. */
static int
refresh_run(struct store_pg *store, enum pg_stmt which, int64_t alert_id)
{
    struct pg_params p = {0};

    par_int(&p, alert_id);
    return pg_run(store, which, &p, NULL);
}

static int
alert_refresh(struct store_pg *store, int64_t alert_id)
{
    return refresh_run(store, STMT_ALERT_REFRESH, alert_id);
}

/*
 * Writes a delivery's new state and refreshes its alert's aggregate state, together; ended_at,
 * when not FEED_TIME_NONE, is when the attempt that led to it ended (last_attempt_at).
 */
static int
delivery_set_run(struct store *base, enum pg_stmt which, enum pg_stmt refresh, int64_t alert_id,
                 const char *hook, const char *state, unsigned attempts, int64_t next_attempt_at,
                 const char *last_error, int64_t ended_at)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    int64_t changes = 0;
    bool own;
    int r;

    assert(store);
    par_int(&p, alert_id);
    par_str(&p, hook);
    par_str(&p, state);
    par_int(&p, attempts);
    par_time(&p, next_attempt_at);
    par_str(&p, last_error);
    par_time(&p, ended_at);
    par_str(&p, store->node);
    if ((r = inner_begin(store, &own)) < 0)
        return r;
    if ((r = pg_run(store, which, &p, &changes)) < 0 ||
        (r = refresh_run(store, refresh, alert_id)) < 0) {
        inner_undo(store, own);
        return r;
    }
    if (changes == 0 && store->node) {
        inner_undo(store, own);
        return store_set_error(&store->base, -ESTALE,
                               "%s %lld: the delivery to '%s' is another node's now (this"
                               " node's lease on it ended): its outcome here is not stored",
                               which == STMT_DELIVERY_SET ? "alert" : "feed event",
                               (long long)alert_id, hook);
    }
    if ((r = inner_end(store, own)) < 0) {
        inner_undo(store, own);
        return r;
    }
    return 0;
}

static int
pg_delivery_set(struct store *base, int64_t alert_id, const char *hook, const char *state,
                unsigned attempts, int64_t next_attempt_at, const char *last_error,
                int64_t ended_at)
{
    return delivery_set_run(base, STMT_DELIVERY_SET, STMT_ALERT_REFRESH, alert_id, hook, state,
                            attempts, next_attempt_at, last_error, ended_at);
}

/*
 * After a crash or kill, deliveries left running never finished: they become pending again
 * (at-least-once delivery), with their alerts. Returns the number reset.
 */
static int
pg_deliveries_reset_running(struct store *base)
{
    struct store_pg *store = pg_of(base);
    int64_t n = 0;
    bool own;
    int r;

    assert(store);
    if ((r = inner_begin(store, &own)) < 0)
        return r;
    int64_t m = 0;
    if ((r = pg_run(store, STMT_DELIVERIES_RESET, NULL, &n)) < 0 ||
        (r = pg_run(store, STMT_ALERTS_RESET, NULL, NULL)) < 0 ||
        (r = pg_run(store, STMT_EVENT_DELIVERIES_RESET, NULL, &m)) < 0 ||
        (r = pg_run(store, STMT_EVENTS_RESET, NULL, NULL)) < 0 || (r = inner_end(store, own)) < 0) {
        inner_undo(store, own);
        return r;
    }
    n += m;
    return n > INT_MAX ? INT_MAX : (int)n;
}

/*
 * `redeliver` of one delivery: (alert_id, hook) becomes pending, due at now_at, its attempts
 * and last error cleared; created when the alert had no delivery to that hook. A running
 * delivery is left as it is. 1 queued, 0 running (nothing changed), or a negative errno.
 */
static int
pg_delivery_requeue(struct store *base, int64_t alert_id, const char *hook, int64_t now_at)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    int64_t changes = 0;
    bool own;
    int r;

    assert(store);
    assert(hook);
    par_int(&p, alert_id);
    par_str(&p, hook);
    par_int(&p, now_at);
    if ((r = inner_begin(store, &own)) < 0)
        return r;
    if ((r = pg_run(store, STMT_DELIVERY_REQUEUE, &p, &changes)) < 0 ||
        (r = alert_refresh(store, alert_id)) < 0 || (r = inner_end(store, own)) < 0) {
        inner_undo(store, own);
        return r;
    }
    return changes > 0;
}

/*
 * `redeliver --failed`: the failed deliveries (hook's only, when not NULL) to the hooks of
 * hooks_json after the key (after_alert, after_hook), at most limit (0: all), become pending,
 * due at now_at; cb (may be NULL) gets each, and their alerts' states follow. The number
 * queued, or a negative errno (nothing changed).
 */
static int
requeue_failed_run(struct store *base, enum pg_stmt which, enum pg_stmt refresh, const char *hook,
                   const char *hooks_json, int64_t now_at, int64_t after_alert,
                   const char *after_hook, unsigned limit, store_requeued_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int64_t *alerts = NULL;
    int n = 0;
    bool own;
    int r = 0;

    assert(store);
    assert(hooks_json);
    par_str(&p, hook);
    par_str(&p, hooks_json);
    par_int(&p, now_at);
    par_int(&p, after_alert);
    par_str(&p, after_hook ? after_hook : "");
    par_limit(&p, limit);
    if ((r = inner_begin(store, &own)) < 0)
        return r;
    res = pg_exec(store, which, &p, &r);
    if (!res)
        goto undo;
    n = PQntuples(res);
    if (n > 0 && !(alerts = malloc((size_t)n * sizeof(*alerts)))) {
        PQclear(res);
        r = store_set_error(&store->base, -ENOMEM, "out of memory");
        goto undo;
    }
    for (int i = 0; i < n; i++) {
        const char *name = col_text(res, i, 1);

        alerts[i] = col_int(res, i, 0);
        if (cb && (r = cb(userdata, alerts[i], name ? name : "")) < 0)
            break;
        r = 0;
    }
    PQclear(res);
    /* Each alert once: the rows come in no order, so mark the ones seen before. */
    for (int i = 0; r >= 0 && i < n; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = alerts[j] == alerts[i];
        if (!seen)
            r = refresh_run(store, refresh, alerts[i]);
    }
    free(alerts);
    if (r < 0 || (r = inner_end(store, own)) < 0)
        goto undo;
    return n;

undo:
    inner_undo(store, own);
    return r;
}

static int
pg_deliveries_requeue_failed(struct store *base, const char *hook, const char *hooks_json,
                             int64_t now_at, int64_t after_alert, const char *after_hook,
                             unsigned limit, store_requeued_cb cb, void *userdata)
{
    return requeue_failed_run(base, STMT_DELIVERIES_REQUEUE_FAILED, STMT_ALERT_REFRESH, hook,
                              hooks_json, now_at, after_alert, after_hook, limit, cb, userdata);
}

static int
pg_event_deliveries_requeue_failed(struct store *base, const char *hook, const char *hooks_json,
                                   int64_t now_at, int64_t after_event, const char *after_hook,
                                   unsigned limit, store_requeued_cb cb, void *userdata)
{
    return requeue_failed_run(base, STMT_EVENT_DELIVERIES_REQUEUE_FAILED, STMT_EVENT_REFRESH, hook,
                              hooks_json, now_at, after_event, after_hook, limit, cb, userdata);
}

/* Calls cb for each delivery of alert_id (or of a feed event: which), by hook name. */
static int
deliveries_rows_run(struct store *base, enum pg_stmt which, int64_t alert_id,
                    store_delivery_row_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    assert(cb);
    par_int(&p, alert_id);
    res = pg_exec(store, which, &p, &r);
    if (!res)
        return r;
    for (int i = 0; i < PQntuples(res); i++) {
        struct store_delivery_row row = {
            .hook = col_text(res, i, 0),
            .state = col_text(res, i, 1),
            .attempts = (unsigned)col_int(res, i, 2),
            .next_attempt_at = col_time(res, i, 3),
            .last_error = col_text(res, i, 4),
            .last_attempt_at = col_time(res, i, 5),
        };
        r = cb(userdata, &row);
        if (r < 0)
            break;
        r = 0;
    }
    PQclear(res);
    return r;
}

static int
pg_alert_deliveries(struct store *base, int64_t alert_id, store_delivery_row_cb cb, void *userdata)
{
    return deliveries_rows_run(base, STMT_ALERT_DELIVERIES, alert_id, cb, userdata);
}

/* Calls cb once with everything a hook needs about alert_id; -ENOENT when there is none. */
static int
pg_alert_get(struct store *base, int64_t alert_id, store_alert_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_int(&p, alert_id);
    res = pg_exec(store, STMT_ALERT_GET, &p, &r);
    if (!res)
        return r;
    if (PQntuples(res) == 1) {
        struct store_alert_row row = {0};

        alert_from_row(res, 0, &row);
        row.published_at = col_time(res, 0, 9);
        row.author = col_text(res, 0, 10);
        row.language = col_text(res, 0, 11);
        row.text = col_text(res, 0, 12);
        row.matched = col_text(res, 0, 13);
        r = cb(userdata, &row);
    } else {
        r = store_set_error(&store->base, -ENOENT, "no alert %lld", (long long)alert_id);
    }
    PQclear(res);
    return r;
}

/* Calls cb(feed, url, title, item_id) for the other sources of alert_id (store.h). */
static int
pg_alert_sources(struct store *base, int64_t alert_id, unsigned limit, int64_t also_item,
                 int64_t *ret_total, store_source_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_int(&p, alert_id);
    par_int(&p, limit ? (int64_t)limit : INT64_MAX);
    par_int(&p, also_item);
    res = pg_exec(store, STMT_ALERT_SOURCES, &p, &r);
    if (!res)
        return r;
    *ret_total = PQntuples(res) > 0 ? col_int(res, 0, 4) : 0;
    for (int i = 0; i < PQntuples(res); i++) {
        r = cb(userdata, col_text(res, i, 0), col_text(res, i, 1), col_text(res, i, 2),
               col_int(res, i, 3));
        if (r < 0)
            break;
        r = 0;
    }
    PQclear(res);
    return r;
}

/* Calls cb for the newest alerts first (of one topic, or only failed ones), at most limit. */
static int
pg_alerts_list(struct store *base, const char *topic, bool failed_only, unsigned limit,
               store_alert_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_str(&p, topic);
    par_limit(&p, limit);
    res = pg_exec(store, failed_only ? STMT_ALERTS_FAILED : STMT_ALERTS_LIST, &p, &r);
    if (!res)
        return r;
    for (int i = 0; i < PQntuples(res); i++) {
        struct store_alert_row row = {.published_at = FEED_TIME_NONE};

        alert_from_row(res, i, &row);
        r = cb(userdata, &row);
        if (r < 0)
            break;
        r = 0;
    }
    PQclear(res);
    return r;
}

/* Alerts ever raised per topic, in topic order (rows are never deleted: a counter). */
static int
pg_alert_topic_counts(struct store *base, store_topic_count_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    PGresult *res;
    int r = 0;

    assert(store);
    res = pg_exec(store, STMT_ALERT_TOPIC_COUNTS, NULL, &r);
    if (!res)
        return r;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *topic = col_text(res, i, 0);
        if (topic && (r = cb(userdata, topic, col_int(res, i, 1))) < 0)
            break;
    }
    PQclear(res);
    return r;
}

/* Alerts by state: delivered, pending (pending or running), failed and no-hook. */
static int
pg_alert_counts(struct store *base, int64_t *ret_delivered, int64_t *ret_pending,
                int64_t *ret_failed, int64_t *ret_no_hook)
{
    struct store_pg *store = pg_of(base);
    int64_t delivered = 0, pending = 0, failed = 0, no_hook = 0;
    PGresult *res;
    int r = 0;

    assert(store);
    res = pg_exec(store, STMT_ALERT_COUNTS, NULL, &r);
    if (!res)
        return r;
    for (int i = 0; i < PQntuples(res); i++)
        count_state(col_text(res, i, 0), col_int(res, i, 1), &delivered, &pending, &failed,
                    &no_hook);
    PQclear(res);
    *ret_delivered = delivered;
    *ret_pending = pending;
    *ret_failed = failed;
    if (ret_no_hook)
        *ret_no_hook = no_hook;
    return 0;
}

static int
pg_item_events_failed(struct store *base, int64_t *ret_count)
{
    assert(base);
    assert(ret_count);
    return pg_one_int(pg_of(base), STMT_ITEM_EVENTS_FAILED, ret_count);
}

/* Builds the text of a PostgreSQL bigint[] of ids[0..n-1] ("{1,2,3}"), malloc'd. */
static char *
ids_array(const int64_t *ids, unsigned n)
{
    size_t cap = 3 + (size_t)n * 21, len = 0;
    char *s = malloc(cap);

    if (!s)
        return NULL;
    s[len++] = '{';
    for (unsigned i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%" PRId64, i ? "," : "", ids[i]);
    s[len++] = '}';
    s[len] = '\0';
    return s;
}

/* Prunes at most limit items first seen before cutoff_at, in one transaction of its own. */
static int
pg_prune_batch(struct store *base, int64_t cutoff_at, int64_t max_id, unsigned limit,
               size_t max_bytes, int64_t now_at, store_prune_cb cb, void *userdata,
               unsigned *ret_pruned)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    int64_t *ids = NULL;
    char *array = NULL;
    unsigned n = 0;
    size_t bytes = 0;
    PGresult *res;
    int r;

    assert(store);
    assert(ret_pruned);
    *ret_pruned = 0;
    if (limit == 0)
        return 0;
    ids = malloc(limit * sizeof(*ids));
    if (!ids)
        return store_set_error(&store->base, -ENOMEM, "out of memory");
    if ((r = pg_begin(&store->base)) < 0) {
        free(ids);
        return r;
    }
    par_int(&p, cutoff_at);
    par_int(&p, max_id);
    par_int(&p, limit);
    res = pg_exec(store, STMT_PRUNE_SELECT, &p, &r);
    if (!res)
        goto fail;
    for (int i = 0; i < PQntuples(res) && n < limit && bytes < max_bytes; i++) {
        const char *title = col_text(res, i, 1), *body = col_text(res, i, 2);

        ids[n] = col_int(res, i, 0);
        bytes += (title ? strlen(title) : 0) + (body ? strlen(body) : 0) + 1;
        if (cb && (r = cb(userdata, ids[n], title, body)) < 0) {
            (void)store_set_error(&store->base, r, "cannot note a pruned item: %s", strerror(-r));
            break;
        }
        n++;
    }
    PQclear(res);
    if (r < 0)
        goto fail;
    if (n > 0) {
        if (!(array = ids_array(ids, n))) {
            r = store_set_error(&store->base, -ENOMEM, "out of memory");
            goto fail;
        }
        p = (struct pg_params){0};
        par_str(&p, array);
        par_int(&p, now_at);
        if ((r = pg_run(store, STMT_PRUNE_ITEMS, &p, NULL)) < 0)
            goto fail;
        p.n = 1;
        /* A pruned item has no signature: its alerts are no story's candidates any more. */
        if ((r = pg_run(store, STMT_PRUNE_ALERTS, &p, NULL)) < 0 ||
            (r = pg_run(store, STMT_PRUNE_BANDS, &p, NULL)) < 0 ||
            (r = pg_run(store, STMT_PRUNE_KEYS, &p, NULL)) < 0)
            goto fail;
        p = (struct pg_params){0};
        par_int(&p, n);
        par_int(&p, now_at);
        if ((r = pg_run(store, STMT_PRUNE_TALLY, &p, NULL)) < 0)
            goto fail;
    }
    if ((r = pg_commit(&store->base)) < 0)
        goto fail;
    free(array);
    free(ids);
    *ret_pruned = n;
    return 0;

fail:
    pg_rollback(&store->base);
    free(array);
    free(ids);
    return r;
}

/* What retention has pruned so far, and when it last did. */
static int
pg_retention_get(struct store *base, int64_t *ret_pruned_items, int64_t *ret_last_at)
{
    struct store_pg *store = pg_of(base);
    PGresult *res;
    int r = 0;

    assert(store);
    res = pg_exec(store, STMT_RETENTION_GET, NULL, &r);
    if (!res)
        return r;
    if (PQntuples(res) == 1) {
        *ret_pruned_items = col_int(res, 0, 0);
        *ret_last_at = col_time(res, 0, 1);
    } else {
        *ret_pruned_items = 0;
        *ret_last_at = FEED_TIME_NONE;
    }
    PQclear(res);
    return 0;
}

/* Writes a bigint[] literal of the n ids into *ret (malloc'd): "{1,2,3}". */
static int
ids_literal(struct store_pg *store, const int64_t *ids, size_t n, char **ret)
{
    size_t cap = 3 + n * 21, len = 0;
    char *s = malloc(cap);

    if (!s)
        return store_set_error(&store->base, -ENOMEM, "out of memory");
    s[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%" PRId64, i ? "," : "", ids[i]);
    s[len++] = '}';
    s[len] = '\0';
    *ret = s;
    return 0;
}

static int pg_nodes_prune(struct store *base, int64_t prune_s);

/* Fills the node's parameters of STMT_NODE_JOIN and STMT_NODE_BEAT ($1 to $7). */
static void
node_params(struct pg_params *p, const struct store_node_self *self)
{
    par_str(p, self->name);
    par_int(p, self->pid);
    par_int(p, self->started_at);
    par_int(p, self->lease_s);
    par_str(p, self->config_hash);
    par_str(p, self->instance);
    par_str(p, self->host_name);
}

/* A node row of a PG_NODE_COLUMNS result (borrowing its text). */
static struct store_node
node_from_row(const PGresult *res, int i)
{
    return (struct store_node){
        .name = col_text(res, i, 0),
        .pid = col_int(res, i, 1),
        .started_at = col_int(res, i, 2),
        .seen_at = col_int(res, i, 3),
        .lease_s = col_int(res, i, 4),
        .alive = col_bool(res, i, 5),
        .config_hash = col_text(res, i, 6),
        .feed_leases = col_int(res, i, 7),
        .delivery_leases = col_int(res, i, 8),
        .instance = col_text(res, i, 9),
        .host_name = col_text(res, i, 10),
        .left_at = col_int(res, i, 11),
    };
}

/* The leases of node name end: its feeds' now, its running deliveries pending again. */
static int
node_leases_end(struct store_pg *store, const char *name)
{
    struct pg_params p = {0};
    int r;

    par_str(&p, name);
    if ((r = pg_run(store, STMT_NODE_LEAVE_FEEDS, &p, NULL)) < 0 ||
        (r = pg_run(store, STMT_NODE_LEAVE_DELIVERIES, &p, NULL)) < 0)
        return r;
    return pg_run(store, STMT_NODE_LEAVE_EVENT_DELIVERIES, &p, NULL);
}

/* A start: the name's row locked and asked about, its previous life's leases ended. */
static int
pg_node_join(struct store *base, const struct store_node_self *self, int64_t prune_s,
             store_node_cb may_join, void *userdata, int64_t *ret_now)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0}, q = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_str(&p, self->name);
    if ((r = pg_run(store, STMT_NODE_ENSURE, &p, NULL)) < 0)
        return r;
    if (!(res = pg_exec(store, STMT_NODE_LOCK, &p, &r)))
        return r;
    if (PQntuples(res) != 1)
        r = store_set_error(&store->base, -EIO, "node '%s': its row is missing", self->name);
    else if (may_join) {
        struct store_node n = node_from_row(res, 0);
        r = may_join(userdata, &n);
    }
    PQclear(res);
    if (r < 0 || (r = node_leases_end(store, self->name)) < 0 ||
        (r = pg_run(store, STMT_FEEDS_SKIP_CLEAR, &p, NULL)) < 0)
        return r;
    node_params(&q, self);
    if (!(res = pg_exec(store, STMT_NODE_JOIN, &q, &r)))
        return r;
    /* The deliveries this connection writes are this node's (STMT_DELIVERY_SET's fence). */
    if (!store->node || strcmp(store->node, self->name) != 0) {
        char *name = strdup(self->name);
        if (!name) {
            PQclear(res);
            return store_set_error(&store->base, -ENOMEM, "out of memory");
        }
        free(store->node);
        store->node = name;
    }
    if (ret_now)
        *ret_now = PQntuples(res) == 1 ? col_int(res, 0, 0) : 0;
    PQclear(res);
    return prune_s > 0 ? pg_nodes_prune(base, prune_s) : 0;
}

/* A beat: the node's row, and the renewal of every lease it holds. */
static int
pg_node_beat(struct store *base, const struct store_node_self *self,
             const struct store_node_hand *hand, int64_t *ret_now)
{
    static const struct store_node_hand none;
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0}, q = {0}, f = {0};
    char *ids = NULL, *hooks = NULL;
    PGresult *res;
    int r = 0;

    assert(store);
    node_params(&p, self);
    if (!(res = pg_exec(store, STMT_NODE_BEAT, &p, &r)))
        return r;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return store_set_error(&store->base, -EADDRINUSE,
                               "another daemon joined as node '%s' since this one did", self->name);
    }
    if (ret_now)
        *ret_now = col_int(res, 0, 0);
    PQclear(res);
    if (!hand)
        hand = &none;
    if (hand->n_deliveries > 0) {
        if ((r = ids_literal(store, hand->alert_ids, hand->n_deliveries, &ids)) < 0 ||
            (r = texts_literal(store, (const char *const *)hand->hooks, hand->n_deliveries,
                               &hooks)) < 0) {
            free(ids);
            return r;
        }
        par_str(&q, self->name);
        par_int(&q, self->lease_s);
        par_str(&q, ids);
        par_str(&q, hooks);
        r = pg_run(store, STMT_NODE_RENEW_DELIVERIES, &q, NULL);
        free(ids);
        free(hooks);
        ids = NULL;
        if (r < 0)
            return r;
    }
    /* Feed events' deliveries in hand, as the alerts' (a claim it dropped ends by itself). */
    if (hand->n_events > 0) {
        struct pg_params e = {0};
        if ((r = ids_literal(store, hand->event_ids, hand->n_events, &ids)) < 0 ||
            (r = texts_literal(store, (const char *const *)hand->event_hooks, hand->n_events,
                               &hooks)) < 0) {
            free(ids);
            return r;
        }
        par_str(&e, self->name);
        par_int(&e, self->lease_s);
        par_str(&e, ids);
        par_str(&e, hooks);
        r = pg_run(store, STMT_NODE_RENEW_EVENT_DELIVERIES, &e, NULL);
        free(ids);
        free(hooks);
        ids = NULL;
        if (r < 0)
            return r;
    }
    if (hand->n_feeds == 0)
        return 0;
    if ((r = ids_literal(store, hand->feed_ids, hand->n_feeds, &ids)) < 0)
        return r;
    par_str(&f, self->name);
    par_int(&f, self->lease_s);
    par_str(&f, ids);
    r = pg_run(store, STMT_NODE_RENEW_FEEDS, &f, NULL);
    free(ids);
    return r;
}

/* A node leaves: its leases end, its running deliveries are pending again (its life only). */
static int
pg_node_leave(struct store *base, const struct store_node_self *self)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    int64_t changes = 0;
    int r;

    assert(store);
    par_str(&p, self->name);
    par_str(&p, self->instance);
    if ((r = pg_run(store, STMT_NODE_LEAVE, &p, &changes)) < 0)
        return r;
    return changes == 1 ? node_leases_end(store, self->name) : 0;
}

/* `pause`, `resume` on a cluster: those columns only. */
static int
pg_feed_set_state(struct store *base, int64_t id, bool paused, unsigned failures,
                  const char *disabled_reason)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    int64_t changes = 0;
    int r;

    assert(store);
    par_int(&p, id);
    par_bool(&p, paused);
    par_int(&p, failures);
    par_str(&p, disabled_reason);
    if ((r = pg_run(store, STMT_FEED_SET_STATE, &p, &changes)) < 0)
        return r;
    if (changes != 1)
        return store_set_error(&store->base, -ENOENT, "no feed with id %lld", (long long)id);
    return 0;
}

/* Every node, by name. */
static int
pg_nodes_list(struct store *base, store_node_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    PGresult *res;
    int r = 0;

    assert(store);
    assert(cb);
    if (!(res = pg_exec(store, STMT_NODES_LIST, NULL, &r)))
        return r;
    for (int i = 0; i < PQntuples(res) && r >= 0; i++) {
        struct store_node n = node_from_row(res, i);
        r = cb(userdata, &n);
    }
    PQclear(res);
    return r < 0 ? r : 0;
}

/* Nodes dead (or gone) for more than prune_s are forgotten, with their skips. */
static int
pg_nodes_prune(struct store *base, int64_t prune_s)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};

    assert(store);
    par_int(&p, prune_s);
    return pg_run(store, STMT_NODES_PRUNE, &p, NULL);
}

/* Feeds node cannot poll: recorded (or, with clear, all of its records forgotten first). */
static int
pg_feeds_skip(struct store *base, const char *node, bool clear, const int64_t *ids, size_t n)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    char *lit = NULL;
    int r;

    assert(store);
    par_str(&p, node);
    if (clear && (r = pg_run(store, STMT_FEEDS_SKIP_CLEAR, &p, NULL)) < 0)
        return r;
    if (n == 0)
        return 0;
    if ((r = ids_literal(store, ids, n, &lit)) < 0)
        return r;
    par_str(&p, lit);
    r = pg_run(store, STMT_FEEDS_SKIP_ADD, &p, NULL);
    free(lit);
    return r;
}

/*
 * The feeds changed since *pos (store_changes_pos): a page of the sweep under way, or of a new
 * one from pos->since. The rows come in (state_xid, id) order, so a page goes on from the last
 * row given even when one transaction, or a long one holding the oldest running transaction
 * back, changed more feeds than a page holds. A transaction still running when the sweep
 * began has an xid at or after the sweep's xmin, and so has one that began later: the next
 * sweep, from that xmin, reads their rows once they are committed.
 */
static int
pg_feeds_changed(struct store *base, struct store_changes_pos *pos, unsigned limit,
                 store_feed_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    struct store_changes_pos at = *pos;
    PGresult *res;
    int r = 0, n;

    assert(store);
    if (at.sweep_xmin <= 0) {
        if (!(res = pg_exec(store, STMT_FEEDS_XMIN, NULL, &r)))
            return r;
        at.sweep_xmin = PQntuples(res) == 1 ? col_int(res, 0, 0) : 0;
        PQclear(res);
        if (at.sweep_xmin <= 0)
            at.sweep_xmin = at.since > 0 ? at.since : 1;
        at.at_xid = at.since;
        at.at_id = 0;
    }
    par_int(&p, at.at_xid);
    par_int(&p, at.at_id);
    par_int(&p, limit);
    if (!(res = pg_exec(store, STMT_FEEDS_CHANGED, &p, &r)))
        return r;
    n = PQntuples(res);
    for (int i = 0; i < n && r >= 0; i++) {
        struct store_feed feed = {0};

        r = feed_from_row(store, res, i, &feed);
        at.at_xid = col_int(res, i, PG_FEED_NCOL + 1);
        at.at_id = feed.id;
        if (r >= 0)
            r = cb(userdata, &feed);
        store_feed_done(&feed);
    }
    PQclear(res);
    if (r < 0)
        return r;
    if ((unsigned)n < limit) { /* the sweep is over: the next one reads from its xmin */
        if (at.sweep_xmin > at.since)
            at.since = at.sweep_xmin;
        at.sweep_xmin = 0;
    }
    *pos = at;
    return n;
}

/* The lock of story grouping, until the transaction ends (a wait for another node's). */
static int
pg_story_lock(struct store *base)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};

    assert(store);
    par_int(&p, PG_STORY_LOCK_KEY);
    return pg_run(store, STMT_STORY_LOCK, &p, NULL);
}

/* Leases due feeds (or the feed only_id) to node and gives each to cb. */
static int
pg_feeds_claim(struct store *base, const char *node, int64_t lease_s, unsigned limit,
               const int64_t *hand, size_t n_hand, int64_t only_id, store_feed_cb cb,
               void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    char *hand_lit = NULL;
    PGresult *res;
    int r = 0, n;

    assert(store);
    assert(node);
    assert(cb);
    if ((r = ids_literal(store, hand, n_hand, &hand_lit)) < 0)
        return r;
    par_str(&p, node);
    par_int(&p, lease_s);
    if (only_id > 0)
        par_int(&p, only_id);
    else
        par_int(&p, limit);
    par_str(&p, hand_lit);
    res = pg_exec(store, only_id > 0 ? STMT_FEED_CLAIM_ONE : STMT_FEEDS_CLAIM, &p, &r);
    free(hand_lit);
    if (!res)
        return r;
    n = PQntuples(res);
    for (int i = 0; i < n && r >= 0; i++) {
        struct store_feed feed = {0};

        r = feed_from_row(store, res, i, &feed);
        feed.lease_epoch = col_int(res, i, PG_FEED_NCOL + 1);
        if (r >= 0)
            r = cb(userdata, &feed);
        store_feed_done(&feed);
    }
    PQclear(res);
    return r < 0 ? r : n;
}

/* Leases due deliveries (and running ones whose lease ended) to node; gives each to cb. */
static int
deliveries_claim_run(struct store *base, enum pg_stmt which, enum pg_stmt refresh, const char *node,
                     int64_t now_at, int64_t lease_s, unsigned limit, char *const *hooks,
                     size_t n_hooks, store_delivery_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    char *hooks_lit = NULL;
    PGresult *res;
    bool own;
    int r = 0, n;

    assert(store);
    assert(node);
    assert(cb);
    par_str(&p, node);
    par_int(&p, now_at);
    par_int(&p, lease_s);
    par_int(&p, limit);
    if ((r = texts_literal(store, (const char *const *)hooks, n_hooks, &hooks_lit)) < 0)
        return r;
    par_str(&p, hooks_lit);
    if ((r = inner_begin(store, &own)) < 0) {
        free(hooks_lit);
        return r;
    }
    res = pg_exec(store, which, &p, &r);
    free(hooks_lit);
    if (!res) {
        inner_undo(store, own);
        return r;
    }
    n = PQntuples(res);
    /* Each alert once, in the order met (a few rows: a claim is at most max_hooks). */
    for (int i = 0; i < n && r >= 0; i++) {
        int64_t alert_id = col_int(res, i, 0);
        bool seen = false;

        for (int j = 0; j < i && !seen; j++)
            seen = col_int(res, j, 0) == alert_id;
        if (!seen)
            r = refresh_run(store, refresh, alert_id);
    }
    /* Before the lease is kept: a callback's failure leaves every delivery as it was. */
    for (int i = 0; i < n && r >= 0; i++)
        r = cb(userdata, col_int(res, i, 0), col_text(res, i, 1), (unsigned)col_int(res, i, 2));
    PQclear(res);
    if (r >= 0)
        r = inner_end(store, own);
    if (r < 0) {
        inner_undo(store, own);
        return r;
    }
    return n;
}

static int
pg_deliveries_claim(struct store *base, const char *node, int64_t now_at, int64_t lease_s,
                    unsigned limit, char *const *hooks, size_t n_hooks, store_delivery_cb cb,
                    void *userdata)
{
    return deliveries_claim_run(base, STMT_DELIVERIES_CLAIM, STMT_ALERT_REFRESH, node, now_at,
                                lease_s, limit, hooks, n_hooks, cb, userdata);
}

static int
pg_event_deliveries_claim(struct store *base, const char *node, int64_t now_at, int64_t lease_s,
                          unsigned limit, char *const *hooks, size_t n_hooks, store_delivery_cb cb,
                          void *userdata)
{
    return deliveries_claim_run(base, STMT_EVENT_DELIVERIES_CLAIM, STMT_EVENT_REFRESH, node, now_at,
                                lease_s, limit, hooks, n_hooks, cb, userdata);
}

/* Deletes old feed events done with (store.h). */
static int
pg_feed_events_prune(struct store *base, int64_t cutoff_at, unsigned limit, unsigned *ret_pruned)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    int64_t changes = 0;
    int r;

    assert(store);
    par_int(&p, cutoff_at);
    par_int(&p, limit);
    if ((r = pg_run(store, STMT_EVENTS_PRUNE, &p, &changes)) < 0)
        return r;
    *ret_pruned = (unsigned)changes;
    return 0;
}

/* The hook's window (store.h); reading it locks the hook's row until the transaction ends. */
static int
pg_batch_window(struct store *base, const char *hook, bool set, int64_t at, int64_t *ret_at)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_str(&p, hook);
    *ret_at = FEED_TIME_NONE;
    if (set) {
        par_time(&p, at);
        if ((r = pg_run(store, STMT_BATCH_SET, &p, NULL)) < 0)
            return r;
        *ret_at = at;
        return 0;
    }
    if (!(res = pg_exec(store, STMT_BATCH_GET, &p, &r)))
        return r;
    if (PQntuples(res) == 1)
        *ret_at = col_time(res, 0, 0);
    PQclear(res);
    return 0;
}

struct batch_claim {
    bool ev;
    unsigned n;
    store_batch_cb cb;
    void *userdata;
};

static int
on_batch_claimed(void *userdata, int64_t id, const char *hook, unsigned attempts)
{
    struct batch_claim *c = userdata;
    (void)hook;
    c->n++;
    return c->cb(c->userdata, c->ev, id, attempts);
}

/*
 * Takes a batch of hook's due deliveries under node's lease (the claims of
 * store_deliveries_claim, of one hook), or defers them to the end of its window (store.h).
 */
static int
pg_batch_take(struct store *base, const char *hook, int64_t window_s, int64_t now_at,
              unsigned limit, const char *node, int64_t lease_s, store_batch_cb cb, void *userdata,
              int64_t *ret_open_at)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    struct batch_claim c = {.cb = cb, .userdata = userdata};
    char *const hooks[] = {(char *)hook};
    int64_t last = FEED_TIME_NONE;
    bool own;
    int r;

    assert(store);
    *ret_open_at = 0;
    if (limit == 0)
        return 0;
    par_str(&p, hook);
    if ((r = inner_begin(store, &own)) < 0)
        return r;
    if ((r = pg_run(store, STMT_BATCH_LOCK, &p, NULL)) < 0 ||
        (r = pg_batch_window(base, hook, false, 0, &last)) < 0)
        goto undo;
    if (last != FEED_TIME_NONE && last + window_s > now_at) {
        /* The window is closed: the due ones wait for its end, and the timers with them. */
        int64_t open_at = last + window_s;
        par_int(&p, open_at);
        par_int(&p, now_at);
        if ((r = pg_run(store, STMT_BATCH_DEFER, &p, NULL)) < 0 ||
            (r = pg_run(store, STMT_BATCH_EVENT_DEFER, &p, NULL)) < 0 ||
            (r = inner_end(store, own)) < 0)
            goto undo;
        *ret_open_at = open_at;
        return 0;
    }
    r = deliveries_claim_run(base, STMT_DELIVERIES_CLAIM, STMT_ALERT_REFRESH, node ? node : "",
                             now_at, lease_s, limit, hooks, 1, on_batch_claimed, &c);
    if (r >= 0 && c.n < limit) {
        c.ev = true;
        r = deliveries_claim_run(base, STMT_EVENT_DELIVERIES_CLAIM, STMT_EVENT_REFRESH,
                                 node ? node : "", now_at, lease_s, limit - c.n, hooks, 1,
                                 on_batch_claimed, &c);
    }
    if (r >= 0 && c.n > 0 && c.n < limit)
        r = pg_batch_window(base, hook, true, now_at, &last);
    if (r < 0 || (r = inner_end(store, own)) < 0)
        goto undo;
    return (int)c.n;

undo:
    inner_undo(store, own);
    return r;
}

/*
 * A reload changed hook's window from old_window_s to new_window_s (store.h): the deliveries
 * deferred to the end of the old one wait until the new one's end, or none (store_sqlite.c's).
 * The hook's row is locked first, as a take locks it: no node defers them meanwhile.
 */
static int
pg_batch_rewindow(struct store *base, const char *hook, int64_t old_window_s, int64_t new_window_s,
                  int64_t now_at)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    int64_t last = FEED_TIME_NONE, moved = 0;
    bool own;
    int r;

    assert(store);
    bool start = old_window_s < 0;
    if (!start && new_window_s >= old_window_s)
        return 0; /* a longer window: its next take defers them again, to the new end */
    par_str(&p, hook);
    if ((r = inner_begin(store, &own)) < 0)
        return r;
    if ((r = pg_batch_window(base, hook, false, 0, &last)) < 0)
        goto undo;
    int64_t from = start ? -1 : last + old_window_s, to = last + new_window_s;
    if (to < now_at)
        to = now_at;
    if (last != FEED_TIME_NONE && (start || from > now_at)) {
        int64_t n = 0;
        par_int(&p, from);
        par_int(&p, to);
        par_bool(&p, start);
        if ((r = pg_run(store, STMT_BATCH_REWINDOW, &p, &n)) < 0)
            goto undo;
        moved += n;
        if ((r = pg_run(store, STMT_BATCH_EVENT_REWINDOW, &p, &n)) < 0)
            goto undo;
        moved += n;
    }
    if ((r = inner_end(store, own)) < 0)
        goto undo;
    return moved > INT_MAX ? INT_MAX : (int)moved;

undo:
    inner_undo(store, own);
    return r;
}

/*
 * Runs which, an INSERT of an event (feed_events) with the parameters p RETURNING its id, and
 * adds one pending delivery per hook, due at raised_at; what names the event in the error.
 */
static int
pg_event_insert(struct store_pg *store, enum pg_stmt which, const struct pg_params *params,
                const char *what, char *const *hooks, size_t n_hooks, int64_t raised_at,
                int64_t *ret_id)
{
    PGresult *res;
    int r = 0;

    if (!(res = pg_exec(store, which, params, &r)))
        return r;
    int64_t id = PQntuples(res) == 1 ? col_int(res, 0, 0) : 0;
    PQclear(res);
    if (id <= 0)
        return store_set_error(&store->base, -EIO, "the %s event has no id", what);
    for (size_t i = 0; i < n_hooks; i++) {
        struct pg_params p = {0};
        par_int(&p, id);
        par_str(&p, hooks[i]);
        par_int(&p, raised_at);
        if ((r = pg_run(store, STMT_EVENT_DELIVERY_ADD, &p, NULL)) < 0)
            return r;
    }
    if (ret_id)
        *ret_id = id;
    return 0;
}

/* Raises a feed event with one pending delivery per hook (none: no-hook), due at raised_at. */
static int
pg_feed_event_add(struct store *base, int64_t feed_id, const char *event, const char *url,
                  const char *feed_state, const char *reason, char *const *hooks, size_t n_hooks,
                  int64_t raised_at, int64_t *ret_id)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};

    assert(store);
    par_int(&p, feed_id);
    par_str(&p, event);
    par_str(&p, url);
    par_str(&p, feed_state);
    par_str(&p, reason);
    par_int(&p, raised_at);
    par_str(&p, n_hooks ? "pending" : "no-hook");
    return pg_event_insert(store, STMT_EVENT_ADD, &p, "feed", hooks, n_hooks, raised_at, ret_id);
}

/* Raises story-source: item_id became a source of alert_id (store.h). */
static int
pg_story_source_add(struct store *base, int64_t feed_id, int64_t alert_id, int64_t item_id,
                    char *const *hooks, size_t n_hooks, int64_t raised_at, int64_t *ret_id)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};

    assert(store);
    par_int(&p, feed_id);
    par_int(&p, raised_at);
    par_str(&p, n_hooks ? "pending" : "no-hook");
    par_int(&p, alert_id);
    par_int(&p, item_id);
    return pg_event_insert(store, STMT_SOURCE_EVENT_ADD, &p, "story-source", hooks, n_hooks,
                           raised_at, ret_id);
}

static int
pg_event_deliveries_due(struct store *base, int64_t now_at, unsigned limit, store_delivery_cb cb,
                        void *userdata)
{
    return deliveries_due_run(base, STMT_EVENT_DELIVERIES_DUE, now_at, limit, cb, userdata);
}

static int
pg_event_delivery_next_due(struct store *base, int64_t *ret_at)
{
    return delivery_next_run(base, STMT_EVENT_DELIVERY_NEXT, ret_at);
}

static int
pg_event_delivery_set(struct store *base, int64_t event_id, const char *hook, const char *state,
                      unsigned attempts, int64_t next_attempt_at, const char *last_error,
                      int64_t ended_at)
{
    return delivery_set_run(base, STMT_EVENT_DELIVERY_SET, STMT_EVENT_REFRESH, event_id, hook,
                            state, attempts, next_attempt_at, last_error, ended_at);
}

static int
pg_event_deliveries(struct store *base, int64_t event_id, store_delivery_row_cb cb, void *userdata)
{
    return deliveries_rows_run(base, STMT_EVENT_DELIVERIES, event_id, cb, userdata);
}

/* Calls cb with each row of a PG_EVENT_COLUMNS result; -ENOENT for none when one is wanted. */
static int
events_rows(struct store_pg *store, enum pg_stmt which, const struct pg_params *p, bool one,
            int64_t id, store_feed_event_cb cb, void *userdata)
{
    PGresult *res;
    int r = 0;

    if (!(res = pg_exec(store, which, p, &r)))
        return r;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct store_feed_event_row row = {
            .id = col_int(res, i, 0),
            .event = col_text(res, i, 1),
            .feed = col_text(res, i, 2),
            .url = col_text(res, i, 3),
            .feed_state = col_text(res, i, 4),
            .reason = col_text(res, i, 5),
            .raised_at = col_time(res, i, 6),
            .state = col_text(res, i, 7),
            .attempts = (int)col_int(res, i, 8),
            .alert_id = col_int(res, i, 9),
            .version_id = col_int(res, i, 10),
            .changes = col_text(res, i, 11),
            .item_id = col_int(res, i, 12),
        };
        if ((r = cb(userdata, &row)) < 0)
            break;
        r = 0;
    }
    PQclear(res);
    if (r >= 0 && one && n == 0)
        r = store_set_error(&store->base, -ENOENT, "no feed event %lld", (long long)id);
    return r;
}

static int
pg_feed_event_get(struct store *base, int64_t id, store_feed_event_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};

    assert(store);
    par_int(&p, id);
    return events_rows(store, STMT_EVENT_GET, &p, true, id, cb, userdata);
}

static int
pg_feed_events_list(struct store *base, bool failed_only, unsigned limit, store_feed_event_cb cb,
                    void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};

    assert(store);
    par_int(&p, failed_only);
    if (limit > 0)
        par_int(&p, limit);
    else
        par_str(&p, NULL);
    return events_rows(store, STMT_EVENTS_LIST, &p, false, 0, cb, userdata);
}

/*
 * Checks the database as far as a client can (SQLite's quick_check reads every page of the
 * file; a PostgreSQL server checks its own pages, with data checksums when the cluster has
 * them): that the server answers, that the schema is this build's version, that every table
 * and index of the schema is there, and that no index on them is invalid. 0, or -EBADMSG
 * (a part missing or invalid) or another negative errno, with *reterr_msg.
 */
static int
pg_check(struct store *base, char **reterr_msg)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    assert(store);
    par_str(&p, PG_RELATIONS);
    res = pg_exec(store, STMT_CHECK, &p, &r);
    if (res) {
        const char *missing = col_text(res, 0, 1), *invalid = col_text(res, 0, 2);
        int64_t version = col_int(res, 0, 0);

        if (version != PG_SCHEMA_VERSION)
            r = store_set_error(&store->base, -EBADMSG, "schema version %" PRId64 ", not %d",
                                version, PG_SCHEMA_VERSION);
        else if (missing)
            r = store_set_error(&store->base, -EBADMSG, "missing: %s", missing);
        else if (invalid)
            r = store_set_error(&store->base, -EBADMSG, "index not valid: %s", invalid);
        PQclear(res);
    }
    if (r < 0 && reterr_msg &&
        asprintf(reterr_msg, "database '%s' failed its check: %s%s", store->shown,
                 store->base.errmsg, r == -EBADMSG ? PG_DAMAGED_ADVICE : "") < 0)
        *reterr_msg = NULL;
    return r;
}

/* What a poll knows of each key (store.h): one statement per STORE_KNOWN_BATCH keys. */
static int
pg_items_seen(struct store *base, int64_t feed_id, const char *const *keys, size_t n,
              struct store_item_seen *ret)
{
    struct store_pg *store = pg_of(base);
    int r = 0;

    for (size_t i = 0; i < n; i++)
        ret[i] = (struct store_item_seen){.edited_at = FEED_TIME_NONE};
    for (size_t at = 0; at < n; at += STORE_KNOWN_BATCH) {
        size_t m = n - at < STORE_KNOWN_BATCH ? n - at : STORE_KNOWN_BATCH;
        struct pg_params p = {0};
        char *lit = NULL;
        PGresult *res;

        if ((r = texts_literal(store, keys + at, m, &lit)) < 0)
            return r;
        par_int(&p, feed_id);
        par_str(&p, lit);
        res = pg_exec(store, STMT_ITEMS_SEEN, &p, &r);
        free(lit);
        if (!res)
            return r;
        for (int i = 0; i < PQntuples(res); i++) {
            int64_t k = col_int(res, i, 0);
            if (k < 1 || (size_t)k > m)
                continue;
            struct store_item_seen *s = &ret[at + (size_t)k - 1];
            s->id = col_int(res, i, 1);
            s->fingerprint = (uint64_t)col_int(res, i, 2);
            s->edited_at = col_time(res, i, 3);
            s->pruned = col_bool(res, i, 4);
        }
        PQclear(res);
    }
    return 0;
}

static int
pg_item_fields_get(struct store *base, int64_t item_id, struct store_item_fields *ret)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    par_int(&p, item_id);
    if (!(res = pg_exec(store, STMT_ITEM_FIELDS, &p, &r)))
        return r;
    if (PQntuples(res) != 1) {
        r = store_set_error(&store->base, -ENOENT, "no item %lld", (long long)item_id);
    } else {
        ret->fingerprint = (uint64_t)col_int(res, 0, 3);
        ret->pruned = col_bool(res, 0, 4);
        ret->since_at = col_time(res, 0, 5);
        ret->simhash = (uint64_t)col_int(res, 0, 7);
        ret->has_text = col_bool(res, 0, 8);
        if ((r = col_strdup(store, res, 0, 0, &ret->title)) >= 0 &&
            (r = col_strdup(store, res, 0, 1, &ret->summary)) >= 0 &&
            (r = col_strdup(store, res, 0, 2, &ret->content)) >= 0)
            r = col_strdup(store, res, 0, 6, &ret->body);
    }
    PQclear(res);
    return r;
}

static int
pg_item_fingerprint_set(struct store *base, int64_t item_id, uint64_t fingerprint)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};

    par_int(&p, item_id);
    par_int(&p, (int64_t)fingerprint);
    return pg_run(store, STMT_ITEM_FP_SET, &p, NULL);
}

/* Keeps the version an edit replaces and gives the item its new fields: one statement. */
static int
pg_item_edit(struct store *base, int64_t item_id, const struct store_item_edit *e, int64_t now_at,
             int64_t *ret_version_id)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    par_int(&p, item_id);
    par_str(&p, e->item->title);
    par_str(&p, e->item->summary);
    par_str(&p, e->item->content);
    par_str(&p, e->text);
    par_int(&p, (int64_t)e->fingerprint);
    par_int(&p, now_at);
    par_int(&p, STORE_VERSIONS_MAX);
    par_str(&p, e->prev_title);
    par_str(&p, e->prev_text);
    par_int(&p, e->prev_seen_at);
    par_int(&p, now_at);
    par_str(&p, e->changes);
    if (e->simhash) /* the 64 bits as the signed bigint of the same bits */
        par_int(&p, (int64_t)e->simhash);
    else
        par_str(&p, NULL);
    if (!(res = pg_exec(store, STMT_ITEM_EDIT, &p, &r)))
        return r;
    int64_t id = PQntuples(res) == 1 ? col_int(res, 0, 0) : 0;
    PQclear(res);
    if (id <= 0)
        return store_set_error(&store->base, -EIO, "the item's version has no id");
    if (ret_version_id)
        *ret_version_id = id;
    return 0;
}

static int
pg_item_versions(struct store *base, int64_t item_id, store_item_version_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    par_int(&p, item_id);
    if (!(res = pg_exec(store, STMT_VERSIONS, &p, &r)))
        return r;
    for (int i = 0; i < PQntuples(res); i++) {
        struct store_item_version v = {
            .id = col_int(res, i, 0),
            .title = col_text(res, i, 1),
            .text = col_text(res, i, 2),
            .seen_at = col_time(res, i, 3),
            .replaced_at = col_time(res, i, 4),
            .changes = col_text(res, i, 5),
        };
        if ((r = cb(userdata, &v)) < 0)
            break;
        r = 0;
    }
    PQclear(res);
    return r;
}

static int
pg_alert_find(struct store *base, const char *topic, int64_t item_id, int64_t *ret_id)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};
    PGresult *res;
    int r = 0;

    par_str(&p, topic);
    par_int(&p, item_id);
    if (!(res = pg_exec(store, STMT_ALERT_FIND, &p, &r)))
        return r;
    r = PQntuples(res) > 0;
    if (r)
        *ret_id = col_int(res, 0, 0);
    PQclear(res);
    return r;
}

/* Raises item-updated on an alert: a feed_events row with one pending delivery per hook. */
static int
pg_item_update_add(struct store *base, int64_t feed_id, int64_t alert_id, int64_t version_id,
                   char *const *hooks, size_t n_hooks, int64_t raised_at, int64_t *ret_id)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};

    par_int(&p, feed_id);
    par_int(&p, alert_id);
    par_int(&p, version_id);
    par_int(&p, raised_at);
    par_str(&p, n_hooks ? "pending" : "no-hook");
    return pg_event_insert(store, STMT_UPDATE_ADD, &p, "item-updated", hooks, n_hooks, raised_at,
                           ret_id);
}

static int
pg_alert_item_events(struct store *base, int64_t alert_id, store_feed_event_cb cb, void *userdata)
{
    struct store_pg *store = pg_of(base);
    struct pg_params p = {0};

    par_int(&p, alert_id);
    return events_rows(store, STMT_ALERT_ITEM_EVENTS, &p, false, 0, cb, userdata);
}

/* The PostgreSQL engine: a libpq connection string (store-internal.h). */
const struct store_engine store_pg_engine = {
    .name = "postgresql",
    .kind = DBSPEC_POSTGRES,
    .check_value = pg_check_value,
    .open = pg_open,
    .open_reader = pg_open_reader,
    .check = pg_check,
    .free = pg_free,
    .set_statement_timeout = pg_set_statement_timeout,
    .begin = pg_begin,
    .begin_read = pg_begin_read,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .part_begin = pg_part_begin,
    .part_end = pg_part_end,
    .part_rollback = pg_part_rollback,
    .feed_ensure = pg_feed_ensure,
    .feed_save = pg_feed_save,
    .feed_event_add = pg_feed_event_add,
    .story_source_add = pg_story_source_add,
    .items_by_url = pg_items_by_url,
    .item_rekey = pg_item_rekey,
    .event_deliveries_due = pg_event_deliveries_due,
    .event_delivery_next_due = pg_event_delivery_next_due,
    .event_delivery_set = pg_event_delivery_set,
    .event_deliveries_claim = pg_event_deliveries_claim,
    .feed_event_get = pg_feed_event_get,
    .feed_events_list = pg_feed_events_list,
    .event_deliveries = pg_event_deliveries,
    .items_seen = pg_items_seen,
    .item_fields_get = pg_item_fields_get,
    .item_fingerprint_set = pg_item_fingerprint_set,
    .item_edit = pg_item_edit,
    .item_versions = pg_item_versions,
    .alert_find = pg_alert_find,
    .item_update_add = pg_item_update_add,
    .alert_item_events = pg_alert_item_events,
    .event_deliveries_requeue_failed = pg_event_deliveries_requeue_failed,
    .feed_events_prune = pg_feed_events_prune,
    .batch_take = pg_batch_take,
    .batch_window = pg_batch_window,
    .batch_rewindow = pg_batch_rewindow,
    .feed_set_runtime = pg_feed_set_runtime,
    .feed_set_runtime_opts = pg_feed_set_runtime_opts,
    .item_add = pg_item_add,
    .items_add = pg_items_add,
    .item_known = pg_item_known,
    .items_known = pg_items_known,
    .feed_model_get = pg_feed_model_get,
    .feed_model_set = pg_feed_model_set,
    .feed_list = pg_feed_list,
    .items_query = pg_items_query,
    .item_get = pg_item_get,
    .item_alerts = pg_item_alerts,
    .feed_urls = pg_feed_urls,
    .feed_counts = pg_feed_counts,
    .count_items = pg_count_items,
    .disk_bytes = pg_disk_bytes,
    .alert_add = pg_alert_add,
    .story_candidates = pg_story_candidates,
    .alert_set_story = pg_alert_set_story,
    .story_key_candidates = pg_story_key_candidates,
    .alert_story_sig = pg_alert_story_sig,
    .alert_add_source = pg_alert_add_source,
    .deliveries_due = pg_deliveries_due,
    .delivery_next_due = pg_delivery_next_due,
    .delivery_set = pg_delivery_set,
    .deliveries_reset_running = pg_deliveries_reset_running,
    .delivery_requeue = pg_delivery_requeue,
    .deliveries_requeue_failed = pg_deliveries_requeue_failed,
    .alert_deliveries = pg_alert_deliveries,
    .alert_get = pg_alert_get,
    .alert_sources = pg_alert_sources,
    .alerts_list = pg_alerts_list,
    .alert_topic_counts = pg_alert_topic_counts,
    .alert_counts = pg_alert_counts,
    .item_events_failed = pg_item_events_failed,
    .prune_batch = pg_prune_batch,
    .retention_get = pg_retention_get,
    .node_join = pg_node_join,
    .node_beat = pg_node_beat,
    .node_leave = pg_node_leave,
    .nodes_prune = pg_nodes_prune,
    .nodes_list = pg_nodes_list,
    .feeds_skip = pg_feeds_skip,
    .feeds_changed = pg_feeds_changed,
    .feed_set_state = pg_feed_set_state,
    .feeds_claim = pg_feeds_claim,
    .story_lock = pg_story_lock,
    .deliveries_claim = pg_deliveries_claim,
};
