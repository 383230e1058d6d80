/*
 * store_sqlite.c — the store's SQLite engine (store-internal.h): open, WAL, migrations, prepared
 * statements, transactions. store.h says what each operation does; store.c dispatches to the
 * functions of store_sqlite_engine at the end of this file.
 *
 * The schema lives in store_migrations[] below; migration N brings PRAGMA user_version from
 * N-1 to N in its own transaction. Every statement the store runs more than once is in
 * store_sql[], prepared once at open and reset (with its bindings cleared) after each use,
 * so no read transaction stays open between calls. Nothing here calls into feeds/: only the
 * struct feed_item definition and FEED_TIME_NONE are used.
 */
#include "store-internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/hash.h"

/* The newest SQL the statements use is RETURNING (SQLite 3.35). */
#define STORE_SQLITE_MIN 3035000
#if SQLITE_VERSION_NUMBER < STORE_SQLITE_MIN
#error "feedwatch needs SQLite 3.35 or newer"
#endif

/* How long a statement waits for another connection's lock before failing with -EBUSY. */
#define STORE_BUSY_TIMEOUT_MS 5000

/* Mode of a database file the store creates; SQLite gives -wal and -shm the same mode. */
#define STORE_FILE_MODE 0640

/* PRAGMA application_id of a feedwatch database ("FWDB"), set by migration 1. */
#define STORE_APPLICATION_ID 0x46574442

/* What to do about a damaged database file, after the error that says so. */
#define STORE_DAMAGED_ADVICE                                                                       \
    " (the file is damaged or is not a feedwatch database: stop feedwatch, move the file and"      \
    " its -wal and -shm files aside and start again for a new, empty database, or put back a"      \
    " backup; `sqlite3 FILE .recover` may save what it holds)"

/*
 * Schema migrations. Entry N-1 brings a database from user_version N-1 to N; store_migrate()
 * runs it inside BEGIN IMMEDIATE, then sets user_version = N and commits. Applied entries
 * are never edited: a schema change is a new entry and a bump of STORE_SCHEMA_VERSION.
 * The comments are part of the CREATE text, so `sqlite3 feedwatch.db .schema` shows them.
 * Instants are Unix seconds (UTC); NULL means absent (FEED_TIME_NONE in C).
 */
static const char *const store_migrations[] = {
    /* 1: feeds and items. */
    "PRAGMA application_id = 1180124226;\n" /* STORE_APPLICATION_ID, "FWDB" */
    "CREATE TABLE feeds ( -- one row per configured or added feed, with its poll state\n"
    "    id INTEGER PRIMARY KEY,       -- stable row id, referenced by items.feed_id\n"
    "    name TEXT NOT NULL UNIQUE,    -- the feed's name in the config or `feedwatch add`\n"
    "    configured_url TEXT NOT NULL, -- the URL as configured\n"
    "    url TEXT,                     -- URL in use after permanent redirects; NULL = "
    "configured_url\n"
    "    etag TEXT,                    -- ETag of the last 200 response, for If-None-Match\n"
    "    last_modified TEXT,           -- Last-Modified of the last 200, for If-Modified-Since\n"
    "    last_status INTEGER NOT NULL DEFAULT 0, -- HTTP status of the last poll; 0 none or "
    "non-HTTP\n"
    "    last_error TEXT,              -- why the last poll failed; NULL after a good poll\n"
    "    failures INTEGER NOT NULL DEFAULT 0,    -- consecutive failed polls\n"
    "    last_poll_at INTEGER,         -- when the last poll finished\n"
    "    next_poll_at INTEGER,         -- when the next poll is due\n"
    "    recovered INTEGER NOT NULL DEFAULT 0,   -- 1: the last document needed XML recovery\n"
    "    paused INTEGER NOT NULL DEFAULT 0,      -- 1: paused at run time (`feedwatch pause`)\n"
    "    disabled_reason TEXT,         -- why it was disabled after too many failures; NULL if "
    "not\n"
    "    created_at INTEGER NOT NULL   -- when the row was created\n"
    ");\n"
    "CREATE TABLE items ( -- one row per (feed, key) ever seen; retention clears, never deletes\n"
    "    id INTEGER PRIMARY KEY,       -- stable item id shown by the CLI and in alerts\n"
    "    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE, -- the feed that carried "
    "it\n"
    "    key TEXT NOT NULL,            -- identity within the feed: guid/id, else link, else a "
    "hash\n"
    "    guid TEXT,                    -- guid / atom:id as published\n"
    "    title TEXT,                   -- plain text\n"
    "    url TEXT,                     -- the item's link, absolute when it could be resolved\n"
    "    published_at INTEGER,         -- publication time given by the feed\n"
    "    updated_at INTEGER,           -- last update time given by the feed\n"
    "    author TEXT,                  -- author as given by the feed\n"
    "    language TEXT,                -- xml:lang of the item or the feed's language\n"
    "    summary TEXT,                 -- summary/description as HTML\n"
    "    content TEXT,                 -- full content as HTML\n"
    "    categories TEXT,              -- JSON array of strings; NULL when none\n"
    "    text TEXT,                    -- cleaned main text from the content stage; NULL until "
    "then\n"
    "    first_seen_at INTEGER NOT NULL, -- when this store first stored the item\n"
    "    UNIQUE (feed_id, key)         -- an item is stored once per feed\n"
    ");\n"
    "-- store_items_list of all feeds: newest first, by publication time else first seen.\n"
    "CREATE INDEX items_newest ON items (COALESCE(published_at, first_seen_at));\n"
    "-- store_items_list of one feed, same order.\n"
    "CREATE INDEX items_feed_newest ON items (feed_id, COALESCE(published_at, first_seen_at));\n",

    /* 2: alerts, their sources and their deliveries; story signatures of items. */
    "ALTER TABLE items ADD COLUMN simhash INTEGER; -- 64-bit story signature (simhash.h); NULL: "
    "none\n"
    "CREATE TABLE alerts ( -- one row per (topic, item) ever raised: an alert is raised once\n"
    "    id INTEGER PRIMARY KEY,       -- the alert id given to hooks (FEEDWATCH_ALERT_ID)\n"
    "    topic TEXT NOT NULL,          -- the [topic] name\n"
    "    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE, -- the first item\n"
    "    state TEXT NOT NULL DEFAULT 'pending', -- pending, running, delivered or failed: the\n"
    "                                  -- worst state of its deliveries (delivered when none)\n"
    "    attempts INTEGER NOT NULL DEFAULT 0,   -- the most attempts of any of its deliveries\n"
    "    matched TEXT,                 -- JSON [{\"term\",\"field\",\"snippet\"}]: why it matched\n"
    "    raised_at INTEGER NOT NULL,   -- when it was raised\n"
    "    UNIQUE (topic, item_id)\n"
    ");\n"
    "CREATE INDEX alerts_topic_raised ON alerts (topic, raised_at); -- story window lookups\n"
    "CREATE INDEX alerts_state ON alerts (state);\n"
    "CREATE TABLE alert_sources ( -- the same story from other feeds, attached to the first alert\n"
    "    alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,\n"
    "    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,\n"
    "    PRIMARY KEY (alert_id, item_id)\n"
    ");\n"
    "CREATE TABLE deliveries ( -- one row per (alert, hook): the hook runner works from these\n"
    "    alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,\n"
    "    hook TEXT NOT NULL,           -- the [hook] name\n"
    "    state TEXT NOT NULL DEFAULT 'pending', -- pending, running, delivered, failed\n"
    "    attempts INTEGER NOT NULL DEFAULT 0,   -- runs started so far\n"
    "    next_attempt_at INTEGER,      -- when pending: not before this\n"
    "    last_error TEXT,              -- why the last attempt failed\n"
    "    PRIMARY KEY (alert_id, hook)\n"
    ");\n"
    "CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);\n",

    /* 3: feeds added at run time, their removal, and each feed's observed item rate. */
    "ALTER TABLE feeds ADD COLUMN runtime_url TEXT; -- URL given to `feedwatch add`; NULL: a "
    "config feed\n"
    "ALTER TABLE feeds ADD COLUMN removed INTEGER; -- 1: removed with `feedwatch remove`; NULL or "
    "0: not\n"
    "ALTER TABLE feeds ADD COLUMN item_rate REAL; -- new items per hour (decaying average); NULL: "
    "none yet\n",

    /* 4: each feed's boilerplate model (blocks seen across its items, boilerplate.h). */
    "ALTER TABLE feeds ADD COLUMN boilerplate BLOB; -- boilerplate_model_save() text; NULL: none "
    "yet\n",

    /* 5: the options given to `feedwatch add` (interval, tags, fetch_article). */
    "ALTER TABLE feeds ADD COLUMN runtime_opts TEXT; -- JSON {interval_s, tags, fetch_article} of"
    " `feedwatch add`; NULL: none\n",

    /* 6: retention: pruned items keep (feed, key, first seen), and the tally of pruning. */
    "ALTER TABLE items ADD COLUMN pruned_at INTEGER; -- when retention cleared its text and\n"
    "                                  -- metadata (the row stays: nothing is stored twice); NULL: "
    "not\n"
    "-- store_prune_batch: the oldest items not pruned yet, straight off an index.\n"
    "CREATE INDEX items_unpruned ON items (first_seen_at) WHERE pruned_at IS NULL;\n"
    "CREATE TABLE retention ( -- one row: what retention has pruned so far\n"
    "    id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "    pruned_items INTEGER NOT NULL DEFAULT 0, -- items whose text and metadata were cleared\n"
    "    last_prune_at INTEGER         -- when the last batch was pruned; NULL: never\n"
    ");\n"
    "INSERT INTO retention (id) VALUES (1);\n",

    /* 7: story bands: the story-window lookup reads the alerts that share a band, not all. */
    "CREATE TABLE story_bands ( -- the 7 bands of each alert's story signature (simhash.h)\n"
    "    alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,\n"
    "    topic TEXT NOT NULL,          -- the alert's topic\n"
    "    band_no INTEGER NOT NULL,     -- 0..6: bits 9*band_no.. of the signature (band 6: 10 "
    "bits)\n"
    "    band_value INTEGER NOT NULL,  -- those bits; two signatures within 6 bits share a band\n"
    "    raised_at INTEGER NOT NULL,   -- the alert's raised_at\n"
    "    feed_id INTEGER NOT NULL,     -- its item's feed\n"
    "    simhash INTEGER NOT NULL,     -- its item's signature; retention deletes the rows\n"
    "    PRIMARY KEY (alert_id, band_no)\n"
    ");\n"
    "-- store_story_candidates: the alerts of a topic in the window that share a band, read\n"
    "-- from the index alone.\n"
    "CREATE INDEX story_bands_lookup ON story_bands (topic, band_no, band_value, raised_at,"
    " feed_id, simhash, alert_id);\n"
    "INSERT INTO story_bands (alert_id, topic, band_no, band_value, raised_at, feed_id, simhash)"
    " SELECT a.id, a.topic, b.n, (i.simhash >> (9 * b.n)) & (CASE b.n WHEN 6 THEN 1023 ELSE 511"
    " END), a.raised_at, i.feed_id, i.simhash FROM alerts AS a JOIN items AS i ON i.id = a.item_id"
    " JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3"
    " UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6) AS b"
    " WHERE i.simhash IS NOT NULL AND i.simhash != 0;\n",

    /* 8: when each delivery's last attempt ended; alerts of topics without hooks. */
    "ALTER TABLE deliveries ADD COLUMN last_attempt_at INTEGER; -- when its last attempt ended;"
    " NULL: none yet\n"
    "-- alerts.state gains no-hook: the alert's topic named no hook (it was stored as delivered).\n"
    "UPDATE alerts SET state = 'no-hook' WHERE state = 'delivered' AND NOT EXISTS"
    " (SELECT 1 FROM deliveries AS d WHERE d.alert_id = alerts.id);\n",

    /*
     * 9: the due read walks its index in its own order and stops at now: a range on the
     * expression it filters and sorts by, alert_id last (review16: with 200,000 pending the old
     * index sorted every pending row into a temporary b-tree for each batch, and the next-due
     * min() read them all).
     */
    "DROP INDEX deliveries_due;\n"
    "CREATE INDEX deliveries_due ON deliveries (state, COALESCE(next_attempt_at, 0), alert_id);\n",

    /*
     * 10: alerts and sources by item. Retention's batch skips items with alerts still to
     * deliver, then clears their alerts' matches and story bands: without an index each item
     * read every pending alert (the 1,300-kill fault run: 3,900 pending alerts made each batch
     * 2.8 s, 8 s on a busy machine, with the writer, so polls and hooks, waiting behind it).
     */
    "CREATE INDEX IF NOT EXISTS alerts_item ON alerts (item_id, state);\n"
    "CREATE INDEX IF NOT EXISTS alert_sources_item ON alert_sources (item_id);\n",

    /* 11: the URL each feed's last document came from (review17: a temporary redirect's). */
    "ALTER TABLE feeds ADD COLUMN base_url TEXT; -- the last document's URL, after every redirect:"
    " its relative links resolve against it; NULL: none yet\n",

    /*
     * 12: feed events (feed-disabled, feed-moved, ...), their deliveries, and the state of each
     * feed that decides them, saved with its polls (docs/DESIGN.md, "Feed events").
     */
    "ALTER TABLE feeds ADD COLUMN move_url TEXT; -- target of the permanent redirect the last polls"
    " saw, not applied yet; NULL: none\n"
    "ALTER TABLE feeds ADD COLUMN move_seen INTEGER NOT NULL DEFAULT 0; -- consecutive polls that"
    " saw it\n"
    "ALTER TABLE feeds ADD COLUMN last_new_at INTEGER; -- when a poll last found a new item\n"
    "ALTER TABLE feeds ADD COLUMN new_gap REAL; -- usual seconds between new items (decaying"
    " average); NULL: unknown\n"
    "ALTER TABLE feeds ADD COLUMN stalled INTEGER NOT NULL DEFAULT 0; -- 1: feed-stalled was"
    " raised, no new item since\n"
    "ALTER TABLE feeds ADD COLUMN doc_items INTEGER; -- items of the last document; NULL: none\n"
    "ALTER TABLE feeds ADD COLUMN life TEXT; -- the state feed events last saw: failing, disabled;"
    " NULL: ok\n"
    "CREATE TABLE feed_events ( -- one row per feed event raised\n"
    "    id INTEGER PRIMARY KEY,       -- the event id (FEEDWATCH_EVENT_ID)\n"
    "    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,\n"
    "    event TEXT NOT NULL,          -- feed-disabled, feed-moved, feed-recovered, ...\n"
    "    url TEXT,                     -- the feed's URL in use when it was raised\n"
    "    feed_state TEXT NOT NULL,     -- ok, failing, disabled, paused: the feed's then\n"
    "    reason TEXT,                  -- what happened, in words\n"
    "    raised_at INTEGER NOT NULL,\n"
    "    state TEXT NOT NULL DEFAULT 'pending', -- of its deliveries, as alerts.state\n"
    "    attempts INTEGER NOT NULL DEFAULT 0    -- the most attempts of any of its deliveries\n"
    ");\n"
    "CREATE INDEX feed_events_state ON feed_events (state);\n"
    "CREATE TABLE event_deliveries ( -- one row per (feed event, hook), as deliveries\n"
    "    event_id INTEGER NOT NULL REFERENCES feed_events(id) ON DELETE CASCADE,\n"
    "    hook TEXT NOT NULL,\n"
    "    state TEXT NOT NULL DEFAULT 'pending', -- pending, running, delivered, failed\n"
    "    attempts INTEGER NOT NULL DEFAULT 0,\n"
    "    next_attempt_at INTEGER,\n"
    "    last_error TEXT,\n"
    "    last_attempt_at INTEGER,\n"
    "    PRIMARY KEY (event_id, hook)\n"
    ");\n"
    "CREATE INDEX event_deliveries_due ON event_deliveries (state, COALESCE(next_attempt_at, 0),"
    " event_id);\n"
    "-- feed-ids-changed: a feed's stored item by its link (store_items_by_url).\n"
    "CREATE INDEX items_feed_url ON items (feed_id, url);\n",

    /*
     * 13: edited items (docs/DESIGN.md, "Edited items"): each item's fingerprint, the versions
     * its edits replaced, and item-updated deliveries as feed events of their alert.
     */
    "ALTER TABLE items ADD COLUMN fingerprint INTEGER; -- hash of its title, summary and content"
    " as its feed last gave them (base/hash.h); NULL: none yet\n"
    "ALTER TABLE items ADD COLUMN edited_at INTEGER; -- when an edit of it was last kept; NULL:"
    " never\n"
    "CREATE TABLE item_versions ( -- the versions edits replaced, at most 10 an item\n"
    "    id INTEGER PRIMARY KEY,\n"
    "    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,\n"
    "    title TEXT,                   -- the title it had\n"
    "    text TEXT,                    -- the text its feed gave, as plain text\n"
    "    seen_at INTEGER NOT NULL,     -- since when it was the item's\n"
    "    replaced_at INTEGER NOT NULL, -- when the edit replaced it\n"
    "    changes TEXT NOT NULL         -- the edit's diff, JSON [{field, before, after}]\n"
    ");\n"
    "CREATE INDEX item_versions_item ON item_versions (item_id, id);\n"
    "-- Retention clears an item's versions with its text.\n"
    "CREATE TRIGGER item_versions_pruned AFTER UPDATE OF pruned_at ON items"
    " WHEN NEW.pruned_at IS NOT NULL BEGIN"
    " DELETE FROM item_versions WHERE item_id = NEW.id; END;\n"
    "ALTER TABLE feed_events ADD COLUMN alert_id INTEGER; -- item-updated: the alert it is"
    " delivered on; NULL: a feed event\n"
    "ALTER TABLE feed_events ADD COLUMN version_id INTEGER; -- item-updated: the version the edit"
    " replaced\n"
    "CREATE INDEX feed_events_alert ON feed_events (alert_id) WHERE alert_id IS NOT NULL;\n",
    /* 14: the windows of hooks with a `batch` (store_batch_take), kept across restarts. */
    "CREATE TABLE hook_batches ( -- one row per hook that ran a batch\n"
    "    hook TEXT PRIMARY KEY,        -- the [hook] name\n"
    "    last_run_at INTEGER           -- when its last batch started; NULL: none\n"
    ");\n",
    /*
     * 15: story keys (issue 17, part 2): an item of any language finds the alerts of its topic
     * whose story signature (feeds/topics/story.h) shares a place, a name or a number with it.
     */
    "ALTER TABLE alerts ADD COLUMN story_sig BLOB; -- story_sig_pack() of its item; NULL: none\n"
    "CREATE TABLE story_keys ( -- the place, name and number keys of each alert's story_sig\n"
    "    alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,\n"
    "    topic TEXT NOT NULL,          -- the alert's topic\n"
    "    key INTEGER NOT NULL,         -- one key (story.h); retention deletes the rows\n"
    "    raised_at INTEGER NOT NULL,   -- the alert's raised_at\n"
    "    PRIMARY KEY (alert_id, key)\n"
    ");\n"
    "-- store_story_key_candidates: the newest alerts of a topic in the window with one key.\n"
    "CREATE INDEX story_keys_lookup ON story_keys (topic, key, raised_at, alert_id);\n"
    "-- story-source: an item became a source of an alert, delivered as feed events are.\n"
    "ALTER TABLE feed_events ADD COLUMN item_id INTEGER; -- story-source: the item that became"
    " a source of the alert\n",
};

#define STORE_N_MIGRATIONS (sizeof(store_migrations) / sizeof(store_migrations[0]))

_Static_assert(STORE_N_MIGRATIONS == STORE_SCHEMA_VERSION, "one migration per schema version");
_Static_assert(STORE_APPLICATION_ID == 1180124226, "application_id in migration 1");

/* The statements prepared at open, by index into store_sql[]. */
enum store_stmt {
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
    STMT_PRUNE_ITEM,
    STMT_PRUNE_ALERTS,
    STMT_PRUNE_BANDS,
    STMT_PRUNE_KEYS,
    STMT_PRUNE_TALLY,
    STMT_RETENTION_GET,
    STMT_FEED_LIFE_SAVE,
    STMT_ITEM_BY_URL,
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
    STMT_ITEM_SEEN,
    STMT_ITEM_FIELDS,
    STMT_ITEM_FP_SET,
    STMT_VERSION_ADD,
    STMT_VERSIONS_TRIM,
    STMT_ITEM_EDIT,
    STMT_VERSIONS,
    STMT_ALERT_FIND,
    STMT_UPDATE_ADD,
    STMT_ALERT_ITEM_EVENTS,
    STMT_EVENT_DELIVERIES_REQUEUE_FAILED,
    STMT_EVENTS_PRUNE,
    STMT_BATCH_GET,
    STMT_BATCH_SET,
    STMT_BATCH_DEFER,
    STMT_BATCH_EVENT_DEFER,
    STMT_BATCH_REWINDOW,
    STMT_BATCH_EVENT_REWINDOW,
    STMT_BATCH_DUE,
    STMT_BATCH_EVENT_DUE,
    STMT__COUNT,
};

/* The columns of a feed row, in the order feed_from_row() reads them. */
#define STORE_FEED_COLUMNS                                                                         \
    "f.id, f.name, f.configured_url, f.url, f.etag, f.last_modified, f.last_status, "              \
    "f.last_error, f.failures, f.last_poll_at, f.next_poll_at, f.recovered, f.paused, "            \
    "f.disabled_reason, f.runtime_url, f.removed, f.item_rate, f.runtime_opts, f.base_url, "       \
    "f.move_url, f.move_seen, f.last_new_at, f.new_gap, f.stalled, f.doc_items, f.life"
/* The column after them (a count of items) */
#define STORE_FEED_NCOL 26

/* The columns of a feed event row, in the order event_from_row() reads them. */
#define STORE_EVENT_COLUMNS                                                                        \
    "e.id, e.event, f.name, e.url, e.feed_state, e.reason, e.raised_at, e.state, e.attempts, "     \
    "e.alert_id, e.version_id, v.changes, COALESCE(e.item_id, v.item_id)"
/* What STORE_EVENT_COLUMNS reads from. */
#define STORE_EVENT_FROM                                                                           \
    " FROM feed_events AS e JOIN feeds AS f ON f.id = e.feed_id"                                   \
    " LEFT JOIN item_versions AS v ON v.id = e.version_id"

/*
 * The columns of an item row, in the order items_list reads them; ?2 asks for the text.
 * The ORDER BY expression must stay the one of the items_newest and items_feed_newest indexes,
 * so the newest rows come straight off an index without a sort.
 */
#define STORE_ITEM_COLUMNS                                                                         \
    "i.id, f.name, i.key, i.title, i.url, i.published_at, i.updated_at, i.author, i.language, "    \
    "i.summary, CASE WHEN ?2 THEN i.text END, i.first_seen_at"
#define STORE_ITEM_ORDER                                                                           \
    " ORDER BY COALESCE(i.published_at, i.first_seen_at) DESC, i.id DESC LIMIT ?1"
/* items --since: ?4 is the lower bound of the order key (INT64_MIN for none), an index range. */
#define STORE_ITEM_SINCE " AND COALESCE(i.published_at, i.first_seen_at) >= ?4"

/* The columns of an alert row, in the order alert_from_row() reads them. */
#define STORE_ALERT_COLUMNS                                                                        \
    "a.id, a.topic, i.id, f.name, i.title, i.url, a.state, a.attempts, a.raised_at"

/* The alerts an item's band may share, per band (sqlite_story_candidates). */
#define STORY_BAND_ROWS 16

static const char *const store_sql[STMT__COUNT] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_BEGIN_READ] = "BEGIN DEFERRED",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_SAVEPOINT] = "SAVEPOINT part",
    [STMT_RELEASE] = "RELEASE part",
    [STMT_ROLLBACK_TO] = "ROLLBACK TO part",
    [STMT_FEED_INSERT] = "INSERT INTO feeds (name, configured_url, created_at) VALUES (?1, ?2, ?3)"
                         " ON CONFLICT (name) DO NOTHING",
    [STMT_FEED_GET] = "SELECT " STORE_FEED_COLUMNS ","
                      " (SELECT count(*) FROM items WHERE feed_id = f.id)"
                      " FROM feeds AS f WHERE f.name = ?1",
    [STMT_FEED_RESET_SOURCE] = "UPDATE feeds SET configured_url = ?2, url = NULL, etag = NULL,"
                               " last_modified = NULL, failures = 0, last_error = NULL,"
                               " disabled_reason = NULL, item_rate = NULL, base_url = NULL,"
                               " move_url = NULL, move_seen = 0, doc_items = NULL, new_gap = NULL,"
                               " stalled = 0"
                               " WHERE id = ?1",
    [STMT_FEED_SAVE] = "UPDATE feeds SET url = ?2, etag = ?3, last_modified = ?4,"
                       " last_status = ?5, last_error = ?6, failures = ?7, last_poll_at = ?8,"
                       " next_poll_at = ?9, recovered = ?10, paused = ?11,"
                       " disabled_reason = ?12, item_rate = ?13,"
                       " base_url = COALESCE(?14, base_url) WHERE id = ?1",
    [STMT_FEED_LIST] = "SELECT " STORE_FEED_COLUMNS ", COALESCE(c.n, 0) FROM feeds AS f"
                       " LEFT JOIN (SELECT feed_id, count(*) AS n FROM items GROUP BY feed_id)"
                       " AS c ON c.feed_id = f.id ORDER BY f.name",
    [STMT_FEED_SET_RUNTIME] = "UPDATE feeds SET runtime_url = ?2, removed = ?3 WHERE id = ?1",
    [STMT_FEED_SET_RUNTIME_OPTS] = "UPDATE feeds SET runtime_opts = ?2 WHERE id = ?1",
    [STMT_ITEM_ADD] = "INSERT INTO items (feed_id, key, guid, title, url, published_at,"
                      " updated_at, author, language, summary, content, categories,"
                      " first_seen_at, text, simhash, fingerprint) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                      " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
                      " ON CONFLICT (feed_id, key) DO NOTHING",
    [STMT_ITEM_KNOWN] = "SELECT 1 FROM items WHERE feed_id = ?1 AND key = ?2",
    [STMT_FEED_MODEL_GET] = "SELECT boilerplate FROM feeds WHERE id = ?1",
    [STMT_FEED_MODEL_SET] = "UPDATE feeds SET boilerplate = ?2 WHERE id = ?1",
    /* Pruned items (retention) are keys without text: lists leave them out. */
    [STMT_ITEMS_ALL] =
        "SELECT " STORE_ITEM_COLUMNS " FROM items AS i"
        " JOIN feeds AS f ON f.id = i.feed_id WHERE i.pruned_at IS NULL" STORE_ITEM_SINCE
            STORE_ITEM_ORDER,
    [STMT_ITEMS_FEED] = "SELECT " STORE_ITEM_COLUMNS " FROM items AS i"
                        " JOIN feeds AS f ON f.id = i.feed_id WHERE f.name = ?3"
                        " AND i.pruned_at IS NULL" STORE_ITEM_SINCE STORE_ITEM_ORDER,
    [STMT_ITEMS_FEEDS] = "SELECT " STORE_ITEM_COLUMNS " FROM items AS i"
                         " JOIN feeds AS f ON f.id = i.feed_id"
                         " WHERE f.name IN (SELECT value FROM json_each(?3))"
                         " AND i.pruned_at IS NULL" STORE_ITEM_SINCE STORE_ITEM_ORDER,
    /*
     * items --topic ?5: the items that matched it (an alert's item, or another source of one),
     * read from the topic's alerts first (alerts_topic_raised, alert_sources' key), then sorted;
     * ?3 one feed's name, ?6 a JSON array of names (either may be NULL).
     */
    [STMT_ITEMS_TOPIC] =
        "SELECT " STORE_ITEM_COLUMNS " FROM (SELECT item_id FROM alerts WHERE topic = ?5"
        " UNION SELECT s.item_id FROM alerts AS a JOIN alert_sources AS s ON s.alert_id = a.id"
        " WHERE a.topic = ?5) AS t CROSS JOIN items AS i ON i.id = t.item_id"
        " JOIN feeds AS f ON f.id = i.feed_id WHERE i.pruned_at IS NULL"
        " AND (?3 IS NULL OR f.name = ?3)"
        " AND (?6 IS NULL OR f.name IN (SELECT value FROM json_each(?6)))" STORE_ITEM_SINCE
            STORE_ITEM_ORDER,
    /* item ID: one item, pruned or not, with its text, categories and when it was pruned. */
    [STMT_ITEM_GET] = "SELECT i.id, f.name, i.key, i.title, i.url, i.published_at, i.updated_at,"
                      " i.author, i.language, i.summary, i.text, i.first_seen_at, i.categories,"
                      " i.pruned_at FROM items AS i JOIN feeds AS f ON f.id = i.feed_id"
                      " WHERE i.id = ?1",
    /*
     * The alerts raised on item ?1 (0), then those it is another source of (1). alerts has no
     * index on item_id alone: the first part walks its topics (few) and looks up (topic, item)
     * in the UNIQUE index of each.
     */
    [STMT_ITEM_ALERTS] =
        "WITH RECURSIVE t(topic) AS (SELECT min(topic) FROM alerts UNION ALL"
        " SELECT (SELECT min(topic) FROM alerts WHERE topic > t.topic) FROM t"
        " WHERE t.topic IS NOT NULL)"
        " SELECT " STORE_ALERT_COLUMNS ", a.matched, 0 FROM t CROSS JOIN alerts AS a"
        " ON a.topic = t.topic AND a.item_id = ?1 JOIN items AS i ON i.id = a.item_id"
        " JOIN feeds AS f ON f.id = i.feed_id"
        " UNION ALL SELECT " STORE_ALERT_COLUMNS ", NULL, 1 FROM alert_sources AS s"
        " JOIN alerts AS a ON a.id = s.alert_id JOIN items AS i ON i.id = a.item_id"
        " JOIN feeds AS f ON f.id = i.feed_id WHERE s.item_id = ?1",
    /* feeds NAME: its items (pruned ones too), how many were pruned, the newest first seen. */
    [STMT_FEED_COUNTS] = "SELECT count(*), count(i.pruned_at), max(i.first_seen_at) FROM items AS i"
                         " WHERE i.feed_id = (SELECT id FROM feeds WHERE name = ?1)",
    /* feeds NAME: the alerts raised on its items by state (a walk of alerts, no item scan). */
    [STMT_FEED_ALERT_COUNTS] =
        "SELECT a.state, count(*) FROM alerts AS a CROSS JOIN items AS i ON i.id = a.item_id"
        " WHERE i.feed_id = (SELECT id FROM feeds WHERE name = ?1) GROUP BY a.state",
    /* What the socket's group may see of a feed's items' URLs: the URLs the feed had. */
    [STMT_FEED_URLS] =
        "SELECT configured_url, url, runtime_url, base_url FROM feeds WHERE name = ?1",
    [STMT_COUNT_ITEMS] = "SELECT count(*) FROM items",
    [STMT_ALERT_ADD] = "INSERT INTO alerts (topic, item_id, state, matched, raised_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (topic, item_id) DO NOTHING",
    [STMT_DELIVERY_ADD] = "INSERT INTO deliveries (alert_id, hook, next_attempt_at)"
                          " VALUES (?1, ?2, ?3) ON CONFLICT (alert_id, hook) DO NOTHING",
    [STMT_STORY_BANDS_ADD] = "INSERT INTO story_bands (alert_id, topic, band_no, band_value,"
                             " raised_at, feed_id, simhash) SELECT a.id, a.topic, b.n,"
                             " (i.simhash >> (9 * b.n)) & (CASE b.n WHEN 6 THEN 1023 ELSE 511"
                             " END), a.raised_at, i.feed_id, i.simhash"
                             " FROM alerts AS a JOIN items AS i ON i.id = a.item_id"
                             " JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2"
                             " UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5"
                             " UNION ALL SELECT 6) AS b WHERE a.id = ?1"
                             " AND i.simhash IS NOT NULL AND i.simhash != 0"
                             " ON CONFLICT (alert_id, band_no) DO NOTHING",
    /* One index range per band (?3..?9 the bands of the new signature), each alert once, by id. */
    /* The newest ?5 alerts of topic ?1 raised at or after ?2, not of feed ?6, whose band ?3 is
     * ?4: one index range read backwards. */
    [STMT_STORY_CANDIDATES] = "SELECT alert_id, simhash, feed_id FROM story_bands WHERE topic = ?1"
                              " AND band_no = ?3 AND band_value = ?4 AND raised_at >= ?2"
                              " AND feed_id != ?6 ORDER BY raised_at DESC LIMIT ?5",
    [STMT_STORY_SIG_SET] = "UPDATE alerts SET story_sig = ?2 WHERE id = ?1",
    [STMT_STORY_KEY_ADD] = "INSERT INTO story_keys (alert_id, topic, key, raised_at)"
                           " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (alert_id, key) DO NOTHING",
    /* The newest ?4 alerts of topic ?1 raised at or after ?2 with key ?3, off the index. */
    [STMT_STORY_KEY_CANDIDATES] = "SELECT alert_id FROM story_keys WHERE topic = ?1 AND key = ?3"
                                  " AND raised_at >= ?2 ORDER BY raised_at DESC, alert_id DESC"
                                  " LIMIT ?4",
    [STMT_STORY_SIG_GET] = "SELECT story_sig, raised_at FROM alerts WHERE id = ?1",
    [STMT_SOURCE_ADD] = "INSERT INTO alert_sources (alert_id, item_id) VALUES (?1, ?2)"
                        " ON CONFLICT (alert_id, item_id) DO NOTHING",
    [STMT_DELIVERIES_DUE] = "SELECT alert_id, hook, attempts FROM deliveries"
                            " WHERE state = 'pending' AND COALESCE(next_attempt_at, 0) <= ?1"
                            " ORDER BY COALESCE(next_attempt_at, 0), alert_id LIMIT ?2",
    /* Both read deliveries_due (migration 9) in order: the expressions must stay as there. */
    [STMT_DELIVERY_NEXT] = "SELECT COALESCE(next_attempt_at, 0) FROM deliveries"
                           " WHERE state = 'pending' ORDER BY COALESCE(next_attempt_at, 0) LIMIT 1",
    [STMT_DELIVERY_SET] = "UPDATE deliveries SET state = ?3, attempts = ?4, next_attempt_at = ?5,"
                          " last_error = ?6, last_attempt_at = COALESCE(?7, last_attempt_at)"
                          " WHERE alert_id = ?1 AND hook = ?2",
    [STMT_ALERT_REFRESH] = "UPDATE alerts SET (state, attempts) = (SELECT CASE"
                           " WHEN count(*) = 0 THEN 'no-hook'"
                           " WHEN sum(state = 'failed') > 0 THEN 'failed'"
                           " WHEN sum(state = 'running') > 0 THEN 'running'"
                           " WHEN sum(state = 'pending') > 0 THEN 'pending'"
                           " ELSE 'delivered' END, COALESCE(max(attempts), 0)"
                           " FROM deliveries WHERE alert_id = ?1) WHERE id = ?1",
    [STMT_DELIVERIES_RESET] = "UPDATE deliveries SET state = 'pending' WHERE state = 'running'",
    [STMT_ALERTS_RESET] = "UPDATE alerts SET state = 'pending' WHERE state = 'running'",
    /* `redeliver`: due now with its attempts reset, unless it is running (it ends as it ends). */
    [STMT_DELIVERY_REQUEUE] = "INSERT INTO deliveries (alert_id, hook, next_attempt_at)"
                              " VALUES (?1, ?2, ?3) ON CONFLICT (alert_id, hook) DO UPDATE SET"
                              " state = 'pending', attempts = 0, next_attempt_at = ?3,"
                              " last_error = NULL WHERE state != 'running'",
    /*
     * A batch of them: the first ?6 after the key (?4, ?5), in key order (hook.c goes on);
     * "+state" keeps the planner on the key's index (from the key on, no sort) rather than
     * deliveries_due (every failed one, sorted, for each batch).
     */
    [STMT_DELIVERIES_REQUEUE_FAILED] =
        "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?3,"
        " last_error = NULL WHERE rowid IN (SELECT rowid FROM deliveries"
        " WHERE (alert_id, hook) > (?4, ?5) AND +state = 'failed' AND (?1 IS NULL OR hook = ?1)"
        " AND hook IN (SELECT value FROM json_each(?2)) ORDER BY alert_id, hook LIMIT ?6)"
        " RETURNING alert_id, hook",
    [STMT_ALERT_DELIVERIES] = "SELECT hook, state, attempts, next_attempt_at, last_error,"
                              " last_attempt_at FROM deliveries WHERE alert_id = ?1 ORDER BY hook",
    [STMT_ALERT_GET] = "SELECT " STORE_ALERT_COLUMNS ", i.published_at, i.author, i.language,"
                       " COALESCE(i.text, i.summary, i.content), a.matched FROM alerts AS a"
                       " JOIN items AS i ON i.id = a.item_id JOIN feeds AS f ON f.id = i.feed_id"
                       " WHERE a.id = ?1",
    /*
     * The first ?2 sources by item id (the primary key's order: ?2 index entries read), and
     * item ?3 when it is one of them past those; the count of all from the index alone.
     */
    [STMT_ALERT_SOURCES] = "SELECT f.name, i.url, i.title, i.id,"
                           " (SELECT count(*) FROM alert_sources WHERE alert_id = ?1)"
                           " FROM (SELECT item_id FROM (SELECT item_id FROM alert_sources"
                           " WHERE alert_id = ?1 ORDER BY item_id LIMIT ?2)"
                           " UNION SELECT item_id FROM alert_sources"
                           " WHERE alert_id = ?1 AND item_id = ?3) AS s"
                           " JOIN items AS i ON i.id = s.item_id"
                           " JOIN feeds AS f ON f.id = i.feed_id ORDER BY i.id",
    [STMT_ALERTS_LIST] = "SELECT " STORE_ALERT_COLUMNS " FROM alerts AS a"
                         " JOIN items AS i ON i.id = a.item_id JOIN feeds AS f ON f.id = i.feed_id"
                         " WHERE (?1 IS NULL OR a.topic = ?1) ORDER BY a.id DESC LIMIT ?2",
    /*
     * `alerts --failed`: those whose own state is failed and those an item event (item-updated,
     * story-source) failed on; the ids come off alerts_state and feed_events_state (only the
     * failed rows are read), then the newest of them by id.
     */
    [STMT_ALERTS_FAILED] = "SELECT " STORE_ALERT_COLUMNS " FROM alerts AS a"
                           " JOIN items AS i ON i.id = a.item_id"
                           " JOIN feeds AS f ON f.id = i.feed_id"
                           " WHERE a.id IN (SELECT id FROM alerts WHERE state = 'failed'"
                           " UNION SELECT alert_id FROM feed_events"
                           " WHERE state = 'failed' AND alert_id IS NOT NULL)"
                           " AND (?1 IS NULL OR a.topic = ?1) ORDER BY a.id DESC LIMIT ?2",
    [STMT_ALERT_COUNTS] = "SELECT state, count(*) FROM alerts GROUP BY state",
    /* Item events with a failed delivery (feed_events_state: the failed rows only). */
    [STMT_ITEM_EVENTS_FAILED] = "SELECT count(*) FROM feed_events"
                                " WHERE state = 'failed' AND alert_id IS NOT NULL",
    /* alerts_topic_raised's first column: a walk of the index, no table rows */
    [STMT_ALERT_TOPIC_COUNTS] = "SELECT topic, count(*) FROM alerts GROUP BY topic",
    /* An item whose alert still waits for a hook keeps its text until it is delivered. */
    [STMT_PRUNE_SELECT] = "SELECT i.id, i.title, COALESCE(i.text, i.summary, i.content)"
                          " FROM items AS i INDEXED BY items_unpruned"
                          " WHERE i.pruned_at IS NULL AND i.first_seen_at < ?1 AND i.id <= ?2"
                          " AND NOT EXISTS (SELECT 1 FROM alerts AS a WHERE a.item_id = i.id"
                          " AND a.state IN ('pending', 'running'))"
                          " ORDER BY i.first_seen_at LIMIT ?3",
    [STMT_PRUNE_ITEM] = "UPDATE items SET guid = NULL, title = NULL, url = NULL,"
                        " published_at = NULL, updated_at = NULL, author = NULL, language = NULL,"
                        " summary = NULL, content = NULL, categories = NULL, text = NULL,"
                        " simhash = NULL, pruned_at = ?2 WHERE id = ?1 AND pruned_at IS NULL",
    [STMT_PRUNE_ALERTS] = "UPDATE alerts SET matched = NULL, story_sig = NULL WHERE item_id = ?1",
    [STMT_PRUNE_BANDS] = "DELETE FROM story_bands WHERE alert_id IN"
                         " (SELECT id FROM alerts WHERE item_id = ?1)",
    [STMT_PRUNE_KEYS] = "DELETE FROM story_keys WHERE alert_id IN"
                        " (SELECT id FROM alerts WHERE item_id = ?1)",
    [STMT_PRUNE_TALLY] = "UPDATE retention SET pruned_items = pruned_items + ?1,"
                         " last_prune_at = ?2 WHERE id = 1",
    [STMT_RETENTION_GET] = "SELECT pruned_items, last_prune_at FROM retention WHERE id = 1",
    [STMT_FEED_LIFE_SAVE] = "UPDATE feeds SET move_url = ?2, move_seen = ?3, last_new_at = ?4,"
                            " new_gap = ?5, stalled = ?6, doc_items = ?7, life = ?8 WHERE id = ?1",
    [STMT_ITEM_BY_URL] = "SELECT id, key, title, published_at, fingerprint FROM items"
                         " WHERE feed_id = ?1 AND url = ?2 LIMIT 2",
    [STMT_ITEM_REKEY] = "UPDATE items SET key = ?3, guid = ?4 WHERE id = ?2 AND feed_id = ?1"
                        " AND NOT EXISTS (SELECT 1 FROM items WHERE feed_id = ?1 AND key = ?3)",
    [STMT_EVENT_ADD] = "INSERT INTO feed_events (feed_id, event, url, feed_state, reason,"
                       " raised_at, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [STMT_SOURCE_EVENT_ADD] = "INSERT INTO feed_events (feed_id, event, feed_state, raised_at,"
                              " state, alert_id, item_id)"
                              " VALUES (?1, 'story-source', 'ok', ?2, ?3, ?4, ?5)",
    [STMT_EVENT_DELIVERY_ADD] = "INSERT INTO event_deliveries (event_id, hook, next_attempt_at)"
                                " VALUES (?1, ?2, ?3) ON CONFLICT (event_id, hook) DO NOTHING",
    [STMT_EVENT_DELIVERIES_DUE] = "SELECT event_id, hook, attempts FROM event_deliveries"
                                  " WHERE state = 'pending' AND COALESCE(next_attempt_at, 0) <= ?1"
                                  " ORDER BY COALESCE(next_attempt_at, 0), event_id LIMIT ?2",
    [STMT_EVENT_DELIVERY_NEXT] =
        "SELECT COALESCE(next_attempt_at, 0) FROM event_deliveries"
        " WHERE state = 'pending' ORDER BY COALESCE(next_attempt_at, 0) LIMIT 1",
    [STMT_EVENT_DELIVERY_SET] =
        "UPDATE event_deliveries SET state = ?3, attempts = ?4, next_attempt_at = ?5,"
        " last_error = ?6, last_attempt_at = COALESCE(?7, last_attempt_at)"
        " WHERE event_id = ?1 AND hook = ?2",
    [STMT_EVENT_REFRESH] = "UPDATE feed_events SET (state, attempts) = (SELECT CASE"
                           " WHEN count(*) = 0 THEN 'no-hook'"
                           " WHEN sum(state = 'failed') > 0 THEN 'failed'"
                           " WHEN sum(state = 'running') > 0 THEN 'running'"
                           " WHEN sum(state = 'pending') > 0 THEN 'pending'"
                           " ELSE 'delivered' END, COALESCE(max(attempts), 0)"
                           " FROM event_deliveries WHERE event_id = ?1) WHERE id = ?1",
    [STMT_EVENT_DELIVERIES_RESET] =
        "UPDATE event_deliveries SET state = 'pending' WHERE state = 'running'",
    [STMT_EVENTS_RESET] = "UPDATE feed_events SET state = 'pending' WHERE state = 'running'",
    [STMT_EVENT_GET] = "SELECT " STORE_EVENT_COLUMNS STORE_EVENT_FROM " WHERE e.id = ?1",
    /* Feed events only: item events are listed with their alert (STMT_ALERT_ITEM_EVENTS). */
    [STMT_EVENTS_LIST] = "SELECT " STORE_EVENT_COLUMNS STORE_EVENT_FROM
                         " WHERE e.alert_id IS NULL AND (?1 = 0 OR e.state = 'failed')"
                         " ORDER BY e.id DESC LIMIT ?2",
    [STMT_EVENT_DELIVERIES] = "SELECT hook, state, attempts, next_attempt_at, last_error,"
                              " last_attempt_at FROM event_deliveries WHERE event_id = ?1"
                              " ORDER BY hook",
    [STMT_ITEM_SEEN] = "SELECT id, fingerprint, edited_at, pruned_at IS NOT NULL FROM items"
                       " WHERE feed_id = ?1 AND key = ?2",
    [STMT_ITEM_FIELDS] = "SELECT title, summary, content, fingerprint, pruned_at IS NOT NULL,"
                         " COALESCE(edited_at, first_seen_at), COALESCE(text, summary, content),"
                         " simhash, text IS NOT NULL FROM items WHERE id = ?1",
    [STMT_ITEM_FP_SET] = "UPDATE items SET fingerprint = ?2 WHERE id = ?1",
    [STMT_VERSION_ADD] = "INSERT INTO item_versions (item_id, title, text, seen_at, replaced_at,"
                         " changes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STMT_VERSIONS_TRIM] = "DELETE FROM item_versions WHERE item_id = ?1 AND id NOT IN (SELECT id"
                           " FROM item_versions WHERE item_id = ?1 ORDER BY id DESC LIMIT ?2)",
    [STMT_ITEM_EDIT] = "UPDATE items SET title = ?2, summary = ?3, content = ?4,"
                       " text = COALESCE(?5, text), simhash = CASE WHEN ?5 IS NULL THEN simhash"
                       " ELSE ?8 END, fingerprint = ?6, edited_at = ?7 WHERE id = ?1",
    [STMT_VERSIONS] = "SELECT id, title, text, seen_at, replaced_at, changes FROM item_versions"
                      " WHERE item_id = ?1 ORDER BY id DESC",
    [STMT_ALERT_FIND] = "SELECT id FROM alerts WHERE topic = ?1 AND item_id = ?2",
    /* item_id: the item edited, kept when its version is trimmed (edited_item in hooks' JSON). */
    [STMT_UPDATE_ADD] = "INSERT INTO feed_events (feed_id, event, feed_state, raised_at, state,"
                        " alert_id, version_id, item_id) VALUES (?1, 'item-updated', 'ok', ?4, ?5,"
                        " ?2, ?3, (SELECT item_id FROM item_versions WHERE id = ?3))",
    /* item-updated and story-source raised on alert ?1 (feed_events_alert). */
    [STMT_ALERT_ITEM_EVENTS] =
        "SELECT " STORE_EVENT_COLUMNS STORE_EVENT_FROM " WHERE e.alert_id = ?1 ORDER BY e.id",
    /* As STMT_DELIVERIES_REQUEUE_FAILED, of feed events' deliveries. */
    [STMT_EVENT_DELIVERIES_REQUEUE_FAILED] =
        "UPDATE event_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?3,"
        " last_error = NULL WHERE rowid IN (SELECT rowid FROM event_deliveries"
        " WHERE (event_id, hook) > (?4, ?5) AND +state = 'failed' AND (?1 IS NULL OR hook = ?1)"
        " AND hook IN (SELECT value FROM json_each(?2)) ORDER BY event_id, hook LIMIT ?6)"
        " RETURNING event_id, hook",
    /* Retention: old events done with (their deliveries go with them: ON DELETE CASCADE). */
    [STMT_EVENTS_PRUNE] = "DELETE FROM feed_events WHERE id IN (SELECT e.id FROM feed_events AS e"
                          " WHERE e.raised_at < ?1 AND NOT EXISTS (SELECT 1 FROM event_deliveries"
                          " AS d WHERE d.event_id = e.id AND d.state IN ('pending', 'running'))"
                          " ORDER BY e.id LIMIT ?2)",
    [STMT_BATCH_GET] = "SELECT last_run_at FROM hook_batches WHERE hook = ?1",
    [STMT_BATCH_SET] = "INSERT INTO hook_batches (hook, last_run_at) VALUES (?1, ?2)"
                       " ON CONFLICT (hook) DO UPDATE SET last_run_at = excluded.last_run_at",
    /*
     * A closed window: the hook's due deliveries (at ?3) wait for its end ?2 (deliveries_due's
     * range). Only due ones: one waiting for a retry's backoff keeps it until it is due, so
     * that a next attempt at the window's end is always a deferral (STMT_BATCH_REWINDOW).
     */
    [STMT_BATCH_DEFER] = "UPDATE deliveries SET next_attempt_at = ?2 WHERE state = 'pending'"
                         " AND COALESCE(next_attempt_at, 0) <= ?3 AND hook = ?1",
    [STMT_BATCH_EVENT_DEFER] = "UPDATE event_deliveries SET next_attempt_at = ?2"
                               " WHERE state = 'pending' AND COALESCE(next_attempt_at, 0) <= ?3"
                               " AND hook = ?1",
    /* A shorter window (a reload): the deliveries deferred to the old end ?2 wait until ?3. */
    /* ?4: a start (the old window unknown): every first attempt waiting past the new end. */
    [STMT_BATCH_REWINDOW] = "UPDATE deliveries SET next_attempt_at = ?3 WHERE state = 'pending'"
                            " AND hook = ?1 AND (next_attempt_at = ?2 OR (?4 AND attempts = 0"
                            " AND next_attempt_at > ?3))",
    [STMT_BATCH_EVENT_REWINDOW] = "UPDATE event_deliveries SET next_attempt_at = ?3"
                                  " WHERE state = 'pending' AND hook = ?1 AND (next_attempt_at = ?2"
                                  " OR (?4 AND attempts = 0 AND next_attempt_at > ?3))",
    [STMT_BATCH_DUE] = "SELECT alert_id, attempts FROM deliveries"
                       " WHERE state = 'pending' AND COALESCE(next_attempt_at, 0) <= ?2"
                       " AND hook = ?1 ORDER BY COALESCE(next_attempt_at, 0), alert_id LIMIT ?3",
    [STMT_BATCH_EVENT_DUE] = "SELECT event_id, attempts FROM event_deliveries"
                             " WHERE state = 'pending' AND COALESCE(next_attempt_at, 0) <= ?2"
                             " AND hook = ?1 ORDER BY COALESCE(next_attempt_at, 0), event_id"
                             " LIMIT ?3",
};

struct store_sqlite {
    struct store base; /* first: what every engine shares (store-internal.h) */
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt[STMT__COUNT];
};

/* The SQLite connection behind a struct store this engine made. */
static struct store_sqlite *
sqlite_of(struct store *base)
{
    return (struct store_sqlite *)base; /* base is its first member; NULL stays NULL */
}

/* Maps a (possibly extended) SQLite result code to a negative errno. */
static int
store_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return -EEXIST;
        return -EINVAL;
    case SQLITE_TOOBIG:
        return -EMSGSIZE;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_INTERRUPT:
        return -EINTR;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
        return -EINVAL;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EBADMSG;
    default:
        return -EIO;
    }
}

/* Records SQLite's message for rc right after the failing call and returns the errno. */
static int
store_fail(struct store_sqlite *store, int rc)
{
    const char *msg = store->db ? sqlite3_errmsg(store->db) : NULL;

    if (!msg || !*msg)
        msg = sqlite3_errstr(rc);
    return store_set_error(&store->base, store_errno(rc), "%s", msg);
}

/* Resets a statement after use and drops its bindings, so it holds no lock or borrowed text. */
static void
stmt_done(sqlite3_stmt *st)
{
    (void)sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows, then resets it. */
/* A binding failed: records why, resets the statement and returns the error. */
static int
bind_failed(struct store_sqlite *store, sqlite3_stmt *st, int rc)
{
    int r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

static int
stmt_run(struct store_sqlite *store, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    int r = 0;

    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

/* Binds text, or NULL for a NULL pointer; does nothing once *rc holds an error. */
static void
bind_str(sqlite3_stmt *st, int idx, const char *s, int *rc)
{
    if (*rc != SQLITE_OK)
        return;
    if (s)
        *rc = sqlite3_bind_text64(st, idx, s, strlen(s), SQLITE_STATIC, SQLITE_UTF8);
    else
        *rc = sqlite3_bind_null(st, idx);
}

/* Binds an integer; does nothing once *rc holds an error. */
static void
bind_int(sqlite3_stmt *st, int idx, int64_t v, int *rc)
{
    if (*rc != SQLITE_OK)
        return;
    *rc = sqlite3_bind_int64(st, idx, v);
}

/* Binds an instant, FEED_TIME_NONE as NULL; does nothing once *rc holds an error. */
static void
bind_time(sqlite3_stmt *st, int idx, int64_t at, int *rc)
{
    if (*rc != SQLITE_OK)
        return;
    if (at == FEED_TIME_NONE)
        *rc = sqlite3_bind_null(st, idx);
    else
        *rc = sqlite3_bind_int64(st, idx, at);
}

/* Reads an instant column, NULL as FEED_TIME_NONE. */
static int64_t
col_time(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return FEED_TIME_NONE;
    return sqlite3_column_int64(st, col);
}

/*
 * Reads a text column as a borrowed string (NULL for SQL NULL) into *ret; -ENOMEM when SQLite
 * could not convert a non-NULL value.
 */
static int
col_text(struct store_sqlite *store, sqlite3_stmt *st, int col, const char **ret)
{
    const char *s = (const char *)sqlite3_column_text(st, col);

    if (!s && sqlite3_column_type(st, col) != SQLITE_NULL)
        return store_set_error(&store->base, -ENOMEM, "out of memory");
    *ret = s;
    return 0;
}

/* Reads a text column as a malloc'd copy (NULL for SQL NULL) into *ret. */
static int
col_strdup(struct store_sqlite *store, sqlite3_stmt *st, int col, char **ret)
{
    const char *s = NULL;
    char *copy = NULL;
    int r;

    r = col_text(store, st, col, &s);
    if (r < 0)
        return r;
    if (s) {
        copy = strdup(s);
        if (!copy)
            return store_set_error(&store->base, -ENOMEM, "out of memory");
    }
    *ret = copy;
    return 0;
}

/* Fills *ret (zeroed by the caller) from the current row of a STORE_FEED_COLUMNS statement. */
static int
feed_from_row(struct store_sqlite *store, sqlite3_stmt *st, struct store_feed *ret)
{
    int64_t failures;
    int r;

    ret->id = sqlite3_column_int64(st, 0);
    if ((r = col_strdup(store, st, 1, &ret->name)) < 0 ||
        (r = col_strdup(store, st, 2, &ret->configured_url)) < 0 ||
        (r = col_strdup(store, st, 3, &ret->url)) < 0 ||
        (r = col_strdup(store, st, 4, &ret->etag)) < 0 ||
        (r = col_strdup(store, st, 5, &ret->last_modified)) < 0 ||
        (r = col_strdup(store, st, 7, &ret->last_error)) < 0 ||
        (r = col_strdup(store, st, 13, &ret->disabled_reason)) < 0 ||
        (r = col_strdup(store, st, 14, &ret->runtime_url)) < 0 ||
        (r = col_strdup(store, st, 17, &ret->runtime_opts)) < 0 ||
        (r = col_strdup(store, st, 18, &ret->base_url)) < 0)
        return r;
    /* NOT NULL columns, but a hand-edited file might still hold NULL. */
    if (!ret->name || !ret->configured_url)
        return store_set_error(&store->base, -EIO, "feed row %lld has no name or URL",
                               (long long)ret->id);
    ret->last_status = sqlite3_column_int(st, 6);
    failures = sqlite3_column_int64(st, 8);
    ret->failures = failures < 0 ? 0 : failures > UINT_MAX ? UINT_MAX : (unsigned)failures;
    ret->last_poll_at = col_time(st, 9);
    ret->next_poll_at = col_time(st, 10);
    ret->recovered = sqlite3_column_int64(st, 11) != 0;
    ret->paused = sqlite3_column_int64(st, 12) != 0;
    ret->removed = sqlite3_column_int64(st, 15) != 0;
    /* A rate that is absent, negative or not a number is no evidence. */
    ret->item_rate = -1.0;
    if (sqlite3_column_type(st, 16) != SQLITE_NULL) {
        double rate = sqlite3_column_double(st, 16);
        if (rate >= 0.0 && rate < 1e9)
            ret->item_rate = rate;
    }
    if ((r = col_strdup(store, st, 19, &ret->move_url)) < 0 ||
        (r = col_strdup(store, st, 25, &ret->life)) < 0)
        return r;
    int64_t seen = sqlite3_column_int64(st, 20);
    ret->move_seen = seen < 0 ? 0 : seen > UINT_MAX ? UINT_MAX : (unsigned)seen;
    ret->last_new_at = col_time(st, 21);
    ret->new_gap_s =
        sqlite3_column_type(st, 22) == SQLITE_NULL ? -1.0 : sqlite3_column_double(st, 22);
    ret->stalled = sqlite3_column_int64(st, 23) != 0;
    ret->doc_items = sqlite3_column_type(st, 24) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 24);
    ret->items = sqlite3_column_int64(st, STORE_FEED_NCOL);
    return 0;
}

/* Reads one integer PRAGMA (user_version, application_id) into *ret. */
static int
pragma_int(struct store_sqlite *store, const char *sql, int *ret)
{
    sqlite3_stmt *st = NULL;
    int rc, r = 0;

    rc = sqlite3_prepare_v2(store->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_fail(store, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int(st, 0);
    else
        r = store_fail(store, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
    (void)sqlite3_finalize(st);
    return r;
}

/* Runs constant SQL (pragmas, migrations, transaction control) with no bound data. */
static int
store_exec(struct store_sqlite *store, const char *sql)
{
    int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return store_fail(store, rc);
    return 0;
}

/* Switches the database to WAL and checks that it took (it cannot on some file systems). */
static int
store_enable_wal(struct store_sqlite *store)
{
    sqlite3_stmt *st = NULL;
    const char *mode;
    int rc, r = 0;

    rc = sqlite3_prepare_v2(store->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_fail(store, rc);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        r = store_fail(store, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
    } else {
        mode = (const char *)sqlite3_column_text(st, 0);
        if (!mode || strcmp(mode, "wal") != 0)
            r = store_set_error(&store->base, -ENOTSUP,
                                "cannot enable WAL mode (journal mode is '%s')",
                                mode ? mode : "unknown");
    }
    (void)sqlite3_finalize(st);
    return r;
}

/* Refuses a database another program made, or one of a newer feedwatch. */
static int
store_check_version(struct store_sqlite *store, int version)
{
    int app_id = 0, r;

    if (version > STORE_SCHEMA_VERSION)
        return store_set_error(&store->base, -EPROTONOSUPPORT,
                               "database schema %d is newer than this feedwatch (%d)", version,
                               STORE_SCHEMA_VERSION);
    if (version < 0)
        return store_set_error(&store->base, -EPROTONOSUPPORT, "database schema %d is not valid",
                               version);
    r = pragma_int(store, "PRAGMA application_id", &app_id);
    if (r < 0)
        return r;
    if ((version > 0 || app_id != 0) && app_id != STORE_APPLICATION_ID)
        return store_set_error(&store->base, -EPROTONOSUPPORT,
                               "not a feedwatch database (application_id %d)", app_id);
    return 0;
}

/*
 * Applies the migrations the database lacks, each in its own BEGIN IMMEDIATE transaction.
 * The version is read again under the write lock, so two processes opening a new database
 * at once do not both apply a migration.
 */
static int
store_migrate(struct store_sqlite *store)
{
    char sql[64];
    int version = 0, r;

    r = pragma_int(store, "PRAGMA user_version", &version);
    if (r < 0)
        return r;
    r = store_check_version(store, version);
    if (r < 0)
        return r;
    while (version < STORE_SCHEMA_VERSION) {
        r = store_exec(store, "BEGIN IMMEDIATE");
        if (r < 0)
            return r;
        if ((r = pragma_int(store, "PRAGMA user_version", &version)) < 0 ||
            (r = store_check_version(store, version)) < 0)
            goto rollback;
        if (version == STORE_SCHEMA_VERSION) {
            r = store_exec(store, "COMMIT");
            if (r < 0)
                goto rollback;
            break;
        }
        /* The version is our own integer: PRAGMA takes no bound parameters. */
        (void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
        if ((r = store_exec(store, store_migrations[version])) < 0 ||
            (r = store_exec(store, sql)) < 0 || (r = store_exec(store, "COMMIT")) < 0)
            goto rollback;
        version++;
    }
    return 0;

rollback:
    if (!sqlite3_get_autocommit(store->db))
        (void)sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

/* Prepares every statement of store_sql[] for the life of the connection. */
static int
store_prepare(struct store_sqlite *store)
{
    for (size_t i = 0; i < STMT__COUNT; i++) {
        int rc = sqlite3_prepare_v3(store->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &store->stmt[i], NULL);
        if (rc != SQLITE_OK)
            return store_fail(store, rc);
    }
    return 0;
}

/*
 * Creates the database file with STORE_FILE_MODE if it does not exist yet; SQLite would use
 * 0644. A failure is left for sqlite3_open_v2() to report in its own words. O_EXCL: an
 * existing file is never opened here, because closing any descriptor of a file drops every
 * POSIX lock the process holds on it, the SHARED lock of this process's other connections
 * included; without it, another process closing its connection would find itself the last,
 * checkpoint and delete the WAL, and the commits made after that would be lost.
 */
static void
store_create_file(const char *path)
{
    int fd =
        open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, STORE_FILE_MODE);

    if (fd >= 0)
        (void)close(fd);
}

/* Sets up a freshly opened connection: pragmas, WAL, migrations, statements. */
static int
store_setup(struct store_sqlite *store)
{
    int r;

#ifndef SQLITE_OPEN_EXRESCODE
    (void)sqlite3_extended_result_codes(store->db, 1);
#endif
    (void)sqlite3_busy_timeout(store->db, STORE_BUSY_TIMEOUT_MS);
#ifdef SQLITE_DBCONFIG_DEFENSIVE
    (void)sqlite3_db_config(store->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
#endif
    if (sqlite3_db_readonly(store->db, "main") == 1)
        return store_set_error(&store->base, -EROFS,
                               "database file is read-only (feedwatch writes the file, and the"
                               " -wal and -shm files beside it: check the mount and the folder)");
    r = store_exec(store, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;"
                          " PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 8192;"
                          " PRAGMA temp_store = MEMORY");
    if (r < 0)
        return r;
    r = store_enable_wal(store);
    if (r < 0)
        return r;
    r = store_migrate(store);
    if (r < 0)
        return r;
    return store_prepare(store);
}

/* A new struct store for path, or NULL (out of memory, said in *reterr_msg when not NULL). */
static struct store_sqlite *
store_alloc(const char *path, char **reterr_msg)
{
    struct store_sqlite *store = calloc(1, sizeof(*store));
    if (!store || !(store->path = strdup(path))) {
        free(store);
        if (reterr_msg &&
            asprintf(reterr_msg, "cannot open database '%s': out of memory", path) < 0)
            *reterr_msg = NULL;
        return NULL;
    }
    store->base.engine = &store_sqlite_engine;
    return store;
}

/* 0, or -ENOTSUP with a message when the SQLite loaded at run time is older than 3.35. */
static int
store_sqlite_version_ok(const char *path, char **reterr_msg)
{
    if (sqlite3_libversion_number() >= STORE_SQLITE_MIN)
        return 0;
    if (reterr_msg && asprintf(reterr_msg,
                               "cannot open database '%s': SQLite %s is older than 3.35, which"
                               " feedwatch needs",
                               path, sqlite3_libversion()) < 0)
        *reterr_msg = NULL;
    return -ENOTSUP;
}

static void sqlite_free(struct store *base);

/* Opens (creating if needed) the database at path, WAL, synchronous=NORMAL, migrated. */
static int
sqlite_open(const char *path, struct store **ret_store, char **reterr_msg)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    struct store_sqlite *store;
    int rc, r;

    assert(path);
    assert(ret_store);
#ifdef SQLITE_OPEN_EXRESCODE
    flags |= SQLITE_OPEN_EXRESCODE;
#endif
    if ((r = store_sqlite_version_ok(path, reterr_msg)) < 0)
        return r;
    store = store_alloc(path, reterr_msg);
    if (!store)
        return -ENOMEM;
    store_create_file(path);
    rc = sqlite3_open_v2(path, &store->db, flags, NULL);
    if (rc != SQLITE_OK) {
        int sys = store->db ? sqlite3_system_errno(store->db) : 0;

        r = store_fail(store, rc);
        if (sys > 0) {
            r = -sys;
            (void)snprintf(store->base.errmsg + strlen(store->base.errmsg),
                           sizeof(store->base.errmsg) - strlen(store->base.errmsg), " (%s)",
                           strerror(sys));
        }
    } else {
        r = store_setup(store);
    }
    if (r < 0) {
        if (reterr_msg &&
            asprintf(reterr_msg, "cannot open database '%s': %s%s", path, store->base.errmsg,
                     r == -EBADMSG ? STORE_DAMAGED_ADVICE : "") < 0)
            *reterr_msg = NULL;
        sqlite_free(&store->base);
        return r;
    }
    *ret_store = &store->base;
    return 0;
}

/*
 * Opens a read-only connection to an existing database of this schema version, for queries
 * run off the loop thread (the control socket's): it never writes, never migrates, never
 * takes the write lock, and works on a read-only database file too.
 */
static int
sqlite_open_reader(const char *path, struct store **ret_store, char **reterr_msg)
{
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
    struct store_sqlite *store;
    int version = 0, rc, r;

#ifdef SQLITE_OPEN_EXRESCODE
    flags |= SQLITE_OPEN_EXRESCODE;
#endif
    if ((r = store_sqlite_version_ok(path, reterr_msg)) < 0)
        return r;
    store = store_alloc(path, reterr_msg);
    if (!store)
        return -ENOMEM;
    rc = sqlite3_open_v2(path, &store->db, flags, NULL);
    if (rc != SQLITE_OK) {
        r = store_fail(store, rc);
    } else {
        (void)sqlite3_busy_timeout(store->db, STORE_BUSY_TIMEOUT_MS);
        r = store_exec(store, "PRAGMA query_only = ON; PRAGMA cache_size = -4096");
        if (r == 0)
            r = pragma_int(store, "PRAGMA user_version", &version);
        if (r == 0 && version != STORE_SCHEMA_VERSION)
            r = store_set_error(&store->base, -EPROTONOSUPPORT, "database schema %d, not %d",
                                version, STORE_SCHEMA_VERSION);
        if (r == 0)
            r = store_check_version(store, version);
        if (r == 0)
            r = store_prepare(store);
    }
    if (r < 0) {
        if (reterr_msg && asprintf(reterr_msg, "cannot open database '%s' for reading: %s", path,
                                   store->base.errmsg) < 0)
            *reterr_msg = NULL;
        sqlite_free(&store->base);
        return r;
    }
    *ret_store = &store->base;
    return 0;
}

/* Finalizes every statement and closes the connection; accepts NULL. */
static void
sqlite_free(struct store *base)
{
    struct store_sqlite *store = sqlite_of(base);
    if (!store)
        return;
    for (size_t i = 0; i < STMT__COUNT; i++)
        (void)sqlite3_finalize(store->stmt[i]);
    /* Closing rolls back a transaction left open; the last connection checkpoints the WAL. */
    (void)sqlite3_close_v2(store->db);
    free(store->path);
    free(store);
}

/* Starts the write transaction of a poll (IMMEDIATE: the write lock is taken up front). */
static int
sqlite_begin(struct store *base)
{
    struct store_sqlite *store = sqlite_of(base);
    assert(store);
    if (!sqlite3_get_autocommit(store->db))
        return store_set_error(&store->base, -EALREADY, "a transaction is already open");
    return stmt_run(store, store->stmt[STMT_BEGIN]);
}

/*
 * Opens a read transaction: the lookups that follow see one snapshot and take the file's
 * locks once (end it with store_commit or store_rollback).
 */
static int
sqlite_begin_read(struct store *base)
{
    struct store_sqlite *store = sqlite_of(base);
    assert(store);
    if (!sqlite3_get_autocommit(store->db))
        return store_set_error(&store->base, -EALREADY, "a transaction is already open");
    return stmt_run(store, store->stmt[STMT_BEGIN_READ]);
}

/* Commits the transaction opened by store_begin(); on failure it stays open for rollback. */
static int
sqlite_commit(struct store *base)
{
    struct store_sqlite *store = sqlite_of(base);
    assert(store);
    if (sqlite3_get_autocommit(store->db))
        return store_set_error(&store->base, -EINVAL, "no transaction is open");
    return stmt_run(store, store->stmt[STMT_COMMIT]);
}

/*
 * Rolls back the open transaction, if any. The error that made the caller roll back stays
 * in store_errmsg(): a failing ROLLBACK only leaves SQLite to roll back at close.
 */
static void
sqlite_rollback(struct store *base)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st;

    assert(store);
    if (sqlite3_get_autocommit(store->db))
        return;
    st = store->stmt[STMT_ROLLBACK];
    (void)sqlite3_step(st);
    stmt_done(st);
}

/* Opens a savepoint inside the open transaction: one part of a batch (one poll). */
static int
sqlite_part_begin(struct store *base)
{
    struct store_sqlite *store = sqlite_of(base);
    assert(store);
    if (sqlite3_get_autocommit(store->db))
        return store_set_error(&store->base, -EINVAL, "no transaction is open");
    return stmt_run(store, store->stmt[STMT_SAVEPOINT]);
}

/* Keeps what the part wrote (it commits with the transaction). */
static int
sqlite_part_end(struct store *base)
{
    struct store_sqlite *store = sqlite_of(base);
    assert(store);
    return stmt_run(store, store->stmt[STMT_RELEASE]);
}

/*
 * Undoes what the part wrote and closes it; the transaction stays open. The error that made
 * the caller roll back stays in store_errmsg().
 */
static void
sqlite_part_rollback(struct store *base)
{
    struct store_sqlite *store = sqlite_of(base);
    char saved[STORE_ERRMSG_MAX];
    assert(store);
    if (sqlite3_get_autocommit(store->db))
        return;
    memcpy(saved, store->base.errmsg, sizeof(saved));
    sqlite3_stmt *st = store->stmt[STMT_ROLLBACK_TO];
    (void)sqlite3_step(st);
    stmt_done(st);
    st = store->stmt[STMT_RELEASE];
    (void)sqlite3_step(st);
    stmt_done(st);
    memcpy(store->base.errmsg, saved, sizeof(saved));
}

/* Loads the feed called name into *ret (zeroed by the caller); -ENOENT when there is none. */
static int
feed_get(struct store_sqlite *store, const char *name, struct store_feed *ret)
{
    sqlite3_stmt *st = store->stmt[STMT_FEED_GET];
    int rc = SQLITE_OK, r;

    bind_str(st, 1, name, &rc);
    if (rc != SQLITE_OK) {
        r = store_fail(store, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        r = feed_from_row(store, st, ret);
    else if (rc == SQLITE_DONE)
        r = store_set_error(&store->base, -ENOENT, "no feed named '%s'", name);
    else
        r = store_fail(store, rc);
out:
    stmt_done(st);
    return r;
}

/* Loads the feed called name, creating its row if it is new; resets it on a new URL. */
static int
sqlite_feed_ensure(struct store *base, const char *name, const char *configured_url,
                   struct store_feed *ret_feed)
{
    struct store_sqlite *store = sqlite_of(base);
    struct store_feed feed = {0};
    sqlite3_stmt *st;
    char *url_copy;
    int rc = SQLITE_OK, r;

    assert(store);
    assert(ret_feed);
    if (!name || !configured_url)
        return store_set_error(&store->base, -EINVAL, "feed without a name or URL");

    st = store->stmt[STMT_FEED_INSERT];
    bind_str(st, 1, name, &rc);
    bind_str(st, 2, configured_url, &rc);
    bind_int(st, 3, (int64_t)time(NULL), &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    r = stmt_run(store, st);
    if (r < 0)
        return r;

    r = feed_get(store, name, &feed);
    if (r < 0)
        goto fail;
    if (strcmp(feed.configured_url, configured_url) != 0) {
        url_copy = strdup(configured_url);
        if (!url_copy) {
            r = store_set_error(&store->base, -ENOMEM, "out of memory");
            goto fail;
        }
        st = store->stmt[STMT_FEED_RESET_SOURCE];
        rc = SQLITE_OK;
        bind_int(st, 1, feed.id, &rc);
        bind_str(st, 2, configured_url, &rc);
        if (rc != SQLITE_OK) {
            r = store_fail(store, rc);
            stmt_done(st);
        } else {
            r = stmt_run(store, st);
        }
        if (r < 0) {
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
sqlite_feed_save(struct store *base, const struct store_feed *feed)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_FEED_SAVE];
    int rc = SQLITE_OK, r;

    assert(store);
    assert(feed);
    bind_int(st, 1, feed->id, &rc);
    bind_str(st, 2, feed->url, &rc);
    bind_str(st, 3, feed->etag, &rc);
    bind_str(st, 4, feed->last_modified, &rc);
    bind_int(st, 5, feed->last_status, &rc);
    bind_str(st, 6, feed->last_error, &rc);
    bind_int(st, 7, feed->failures, &rc);
    bind_time(st, 8, feed->last_poll_at, &rc);
    bind_time(st, 9, feed->next_poll_at, &rc);
    bind_int(st, 10, feed->recovered, &rc);
    bind_int(st, 11, feed->paused, &rc);
    bind_str(st, 12, feed->disabled_reason, &rc);
    if (rc == SQLITE_OK)
        rc = feed->item_rate >= 0.0 ? sqlite3_bind_double(st, 13, feed->item_rate)
                                    : sqlite3_bind_null(st, 13);
    bind_str(st, 14, feed->base_url, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    r = stmt_run(store, st);
    if (r < 0)
        return r;
    if (sqlite3_changes(store->db) != 1)
        return store_set_error(&store->base, -ENOENT, "no feed with id %lld", (long long)feed->id);
    st = store->stmt[STMT_FEED_LIFE_SAVE];
    bind_int(st, 1, feed->id, &rc);
    bind_str(st, 2, feed->move_url, &rc);
    bind_int(st, 3, feed->move_seen, &rc);
    bind_time(st, 4, feed->last_new_at, &rc);
    if (rc == SQLITE_OK)
        rc = feed->new_gap_s > 0.0 ? sqlite3_bind_double(st, 5, feed->new_gap_s)
                                   : sqlite3_bind_null(st, 5);
    bind_int(st, 6, feed->stalled, &rc);
    if (rc == SQLITE_OK)
        rc = feed->doc_items >= 0 ? sqlite3_bind_int64(st, 7, feed->doc_items)
                                  : sqlite3_bind_null(st, 7);
    bind_str(st, 8, feed->life, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    return stmt_run(store, st);
}

/* Marks the feed with id as added at run time (runtime_url) or not (NULL), removed or not. */
static int
sqlite_feed_set_runtime(struct store *base, int64_t id, const char *runtime_url, bool removed)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_FEED_SET_RUNTIME];
    int rc = SQLITE_OK, r;

    assert(store);
    bind_int(st, 1, id, &rc);
    bind_str(st, 2, runtime_url, &rc);
    bind_int(st, 3, removed, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    r = stmt_run(store, st);
    if (r < 0)
        return r;
    if (sqlite3_changes(store->db) != 1)
        return store_set_error(&store->base, -ENOENT, "no feed with id %lld", (long long)id);
    return 0;
}

/* Sets the options of a feed added at run time (JSON text, NULL: none). */
static int
sqlite_feed_set_runtime_opts(struct store *base, int64_t id, const char *runtime_opts)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_FEED_SET_RUNTIME_OPTS];
    int rc = SQLITE_OK, r;

    assert(store);
    bind_int(st, 1, id, &rc);
    bind_str(st, 2, runtime_opts, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    r = stmt_run(store, st);
    if (r < 0)
        return r;
    if (sqlite3_changes(store->db) != 1)
        return store_set_error(&store->base, -ENOENT, "no feed with id %lld", (long long)id);
    return 0;
}

/* Stores item under feed_id unless (feed_id, item->key) is known: 1 stored, 0 known, <0 error. */
static int
sqlite_item_add(struct store *base, int64_t feed_id, const struct feed_item *item, const char *text,
                uint64_t simhash, int64_t now_at, int64_t *ret_id)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ITEM_ADD];
    char *categories = NULL;
    int rc = SQLITE_OK, r;

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
    bind_int(st, 1, feed_id, &rc);
    bind_str(st, 2, item->key, &rc);
    bind_str(st, 3, item->id, &rc);
    bind_str(st, 4, item->title, &rc);
    bind_str(st, 5, item->link, &rc);
    bind_time(st, 6, item->published_at, &rc);
    bind_time(st, 7, item->updated_at, &rc);
    bind_str(st, 8, item->author, &rc);
    bind_str(st, 9, item->language, &rc);
    bind_str(st, 10, item->summary, &rc);
    bind_str(st, 11, item->content, &rc);
    bind_str(st, 12, categories, &rc);
    bind_int(st, 13, now_at, &rc);
    bind_str(st, 14, text, &rc);
    if (simhash)
        bind_int(st, 15, (int64_t)simhash, &rc);
    else if (rc == SQLITE_OK)
        rc = sqlite3_bind_null(st, 15);
    bind_int(st, 16, (int64_t)hash_item_fields(item->title, item->summary, item->content), &rc);
    if (rc != SQLITE_OK) {
        r = store_fail(store, rc);
        stmt_done(st);
    } else {
        r = stmt_run(store, st);
    }
    /* The bindings were SQLITE_STATIC: free only after the statement was reset. */
    free(categories);
    if (r < 0)
        return r;
    if (sqlite3_changes(store->db) != 1)
        return 0;
    if (ret_id)
        *ret_id = sqlite3_last_insert_rowid(store->db);
    return 1;
}

/* Whether (feed_id, key) is stored: 1 yes, 0 no, <0 error. */
static int
sqlite_item_known(struct store *base, int64_t feed_id, const char *key)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ITEM_KNOWN];
    int rc = SQLITE_OK, r;

    assert(store);
    assert(key);
    bind_int(st, 1, feed_id, &rc);
    bind_str(st, 2, key, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        r = 1;
    else if (rc == SQLITE_DONE)
        r = 0;
    else
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

/* The feed's saved boilerplate model: 0 with *ret_data (malloc'ed, NULL when none). */
static int
sqlite_feed_model_get(struct store *base, int64_t feed_id, char **ret_data, size_t *ret_len)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_FEED_MODEL_GET];
    int rc = SQLITE_OK, r = 0;

    assert(store);
    assert(ret_data);
    assert(ret_len);
    *ret_data = NULL;
    *ret_len = 0;
    bind_int(st, 1, feed_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        const void *blob = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        if (blob && n > 0) {
            char *copy = malloc((size_t)n + 1);
            if (!copy) {
                r = store_set_error(&store->base, -ENOMEM, "out of memory");
            } else {
                memcpy(copy, blob, (size_t)n);
                copy[n] = '\0';
                *ret_data = copy;
                *ret_len = (size_t)n;
            }
        }
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        r = store_fail(store, rc);
    }
    stmt_done(st);
    return r;
}

/* Saves the feed's boilerplate model (len bytes of data; NULL forgets it). */
static int
sqlite_feed_model_set(struct store *base, int64_t feed_id, const char *data, size_t len)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_FEED_MODEL_SET];
    int rc = SQLITE_OK;

    assert(store);
    if (len > INT_MAX)
        return store_set_error(&store->base, -EMSGSIZE, "boilerplate model too large");
    bind_int(st, 1, feed_id, &rc);
    if (rc == SQLITE_OK)
        rc = data ? sqlite3_bind_blob(st, 2, data, (int)len, SQLITE_STATIC)
                  : sqlite3_bind_null(st, 2);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    return stmt_run(store, st);
}

/* Calls cb for every feed row, ordered by name, with its item count. Stops at cb's error. */
static int
sqlite_feed_list(struct store *base, store_feed_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_FEED_LIST];
    int rc, r = 0;

    assert(store);
    assert(cb);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_feed feed = {0};

        r = feed_from_row(store, st, &feed);
        if (r >= 0)
            r = cb(userdata, &feed);
        store_feed_done(&feed);
        if (r < 0)
            break;
        r = 0;
    }
    if (r >= 0 && rc != SQLITE_DONE)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

static int alert_from_row(struct store_sqlite *store, sqlite3_stmt *st,
                          struct store_alert_row *row);

/*
 * Runs one of the item list statements with the filter's members its SQL reads: ?3 a feed's
 * name (or, for STMT_ITEMS_FEEDS, a JSON array of names), ?4 the lower bound, ?5 the topic,
 * ?6 a JSON array of names (STMT_ITEMS_TOPIC).
 */
static int
items_list_run(struct store_sqlite *store, sqlite3_stmt *st, const struct store_items_filter *f,
               unsigned limit, bool with_text, store_item_cb cb, void *userdata)
{
    int rc = SQLITE_OK, r = 0;
    bool by_topic = st == store->stmt[STMT_ITEMS_TOPIC];

    /* A limit of 0 means no limit: SQLite reads a negative LIMIT that way. */
    bind_int(st, 1, limit > 0 ? (int64_t)limit : -1, &rc);
    bind_int(st, 2, with_text, &rc);
    if (by_topic || f->feeds_json || f->feed)
        bind_str(st, 3, by_topic || !f->feeds_json ? f->feed : f->feeds_json, &rc);
    bind_int(st, 4, f->since_at == FEED_TIME_NONE ? INT64_MIN : f->since_at, &rc);
    if (by_topic) {
        bind_str(st, 5, f->topic, &rc);
        bind_str(st, 6, f->feeds_json, &rc);
    }
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_item_row row = {
            .id = sqlite3_column_int64(st, 0),
            .published_at = col_time(st, 5),
            .updated_at = col_time(st, 6),
            .first_seen_at = col_time(st, 11),
        };

        if ((r = col_text(store, st, 1, &row.feed)) < 0 ||
            (r = col_text(store, st, 2, &row.key)) < 0 ||
            (r = col_text(store, st, 3, &row.title)) < 0 ||
            (r = col_text(store, st, 4, &row.url)) < 0 ||
            (r = col_text(store, st, 7, &row.author)) < 0 ||
            (r = col_text(store, st, 8, &row.language)) < 0 ||
            (r = col_text(store, st, 9, &row.summary)) < 0 ||
            (r = col_text(store, st, 10, &row.text)) < 0)
            break;
        r = cb(userdata, &row);
        if (r < 0)
            break;
        r = 0;
    }
    if (r >= 0 && rc != SQLITE_DONE)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

/* Calls cb for the newest items first that pass every member of f that is set. */
static int
sqlite_items_query(struct store *base, const struct store_items_filter *f, unsigned limit,
                   bool with_text, store_item_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    enum store_stmt which = f->topic        ? STMT_ITEMS_TOPIC
                            : f->feeds_json ? STMT_ITEMS_FEEDS
                            : f->feed       ? STMT_ITEMS_FEED
                                            : STMT_ITEMS_ALL;
    assert(store);
    assert(cb);
    return items_list_run(store, store->stmt[which], f, limit, with_text, cb, userdata);
}

/* Calls cb once with the item item_id, text, categories and pruning included; -ENOENT: none. */
static int
sqlite_item_get(struct store *base, int64_t item_id, store_item_full_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ITEM_GET];
    int rc = SQLITE_OK, r;
    bind_int(st, 1, item_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        struct store_item_full it = {
            .row = {.id = sqlite3_column_int64(st, 0),
                    .published_at = col_time(st, 5),
                    .updated_at = col_time(st, 6),
                    .first_seen_at = col_time(st, 11)},
            .pruned_at = col_time(st, 13),
        };
        if ((r = col_text(store, st, 1, &it.row.feed)) >= 0 &&
            (r = col_text(store, st, 2, &it.row.key)) >= 0 &&
            (r = col_text(store, st, 3, &it.row.title)) >= 0 &&
            (r = col_text(store, st, 4, &it.row.url)) >= 0 &&
            (r = col_text(store, st, 7, &it.row.author)) >= 0 &&
            (r = col_text(store, st, 8, &it.row.language)) >= 0 &&
            (r = col_text(store, st, 9, &it.row.summary)) >= 0 &&
            (r = col_text(store, st, 10, &it.row.text)) >= 0 &&
            (r = col_text(store, st, 12, &it.categories)) >= 0)
            r = cb(userdata, &it);
    } else if (rc == SQLITE_DONE) {
        r = store_set_error(&store->base, -ENOENT, "no item %lld", (long long)item_id);
    } else {
        r = store_fail(store, rc);
    }
    stmt_done(st);
    return r;
}

/* Calls cb for each alert raised on item_id (source false), then each it is a source of. */
static int
sqlite_item_alerts(struct store *base, int64_t item_id, store_item_alert_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ITEM_ALERTS];
    int rc = SQLITE_OK, r = 0;
    bind_int(st, 1, item_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_alert_row row = {.published_at = FEED_TIME_NONE};
        if ((r = alert_from_row(store, st, &row)) < 0 ||
            (r = col_text(store, st, 9, &row.matched)) < 0)
            break;
        r = cb(userdata, &row, sqlite3_column_int(st, 10) != 0);
        if (r < 0)
            break;
        r = 0;
    }
    if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

/* The URLs the row of the feed called name holds (store.h). */
static int
sqlite_feed_urls(struct store *base, const char *name, char *ret_urls[STORE_FEED_URLS])
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_FEED_URLS];
    char *urls[STORE_FEED_URLS] = {NULL};
    int rc = SQLITE_OK, r = 0;
    assert(store);
    bind_str(st, 1, name, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        for (int i = 0; i < STORE_FEED_URLS && r == 0; i++)
            r = col_strdup(store, st, i, &urls[i]);
        r = r < 0 ? r : 1;
    } else if (rc != SQLITE_DONE) {
        r = store_fail(store, rc);
    }
    stmt_done(st);
    if (r < 0) {
        for (int i = 0; i < STORE_FEED_URLS; i++)
            free(urls[i]);
        return r;
    }
    for (int i = 0; i < STORE_FEED_URLS; i++)
        ret_urls[i] = urls[i];
    return r;
}

/* One feed's tallies (zero for a feed the store does not know). */
static int
sqlite_feed_counts(struct store *base, const char *name, struct store_feed_counts *ret)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_FEED_COUNTS];
    int rc = SQLITE_OK, r = 0;
    assert(store);
    assert(ret);
    *ret = (struct store_feed_counts){.last_new_item_at = FEED_TIME_NONE};
    bind_str(st, 1, name, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        ret->items = sqlite3_column_int64(st, 0);
        ret->pruned_items = sqlite3_column_int64(st, 1);
        ret->last_new_item_at = col_time(st, 2);
    } else {
        r = store_fail(store, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
    }
    stmt_done(st);
    if (r < 0)
        return r;
    st = store->stmt[STMT_FEED_ALERT_COUNTS];
    rc = SQLITE_OK;
    bind_str(st, 1, name, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);
        if (state && strcmp(state, "delivered") == 0)
            ret->alerts_delivered += n;
        else if (state && strcmp(state, "failed") == 0)
            ret->alerts_failed += n;
        else if (state && strcmp(state, "no-hook") == 0)
            ret->alerts_no_hook += n;
        else
            ret->alerts_pending += n; /* pending and running, as store_alert_counts */
    }
    if (rc != SQLITE_DONE)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

/* Number of stored items, of all feeds. */
static int
sqlite_count_items(struct store *base, int64_t *ret_count)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_COUNT_ITEMS];
    int rc, r = 0;

    assert(store);
    assert(ret_count);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ret_count = sqlite3_column_int64(st, 0);
    else
        r = store_fail(store, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
    stmt_done(st);
    return r;
}

/* Bytes on disk of every file of the store (the database, -wal, -shm, ...). */
static int
sqlite_disk_bytes(struct store *base, uint64_t *ret_bytes)
{
    struct store_sqlite *store = sqlite_of(base);
    /* Every file SQLite keeps beside the database; -journal only outside WAL mode. */
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    size_t len;
    uint64_t total = 0;
    char *name;

    assert(store);
    assert(ret_bytes);
    len = strlen(store->path) + sizeof("-journal");
    name = malloc(len);
    if (!name)
        return store_set_error(&store->base, -ENOMEM, "out of memory");
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        struct stat stbuf;

        (void)snprintf(name, len, "%s%s", store->path, suffixes[i]);
        if (stat(name, &stbuf) < 0) {
            int err = errno;

            if (err == ENOENT)
                continue;
            (void)store_set_error(&store->base, -err, "cannot stat '%s': %s", name, strerror(err));
            free(name);
            return -err;
        }
        if (stbuf.st_size > 0)
            total += (uint64_t)stbuf.st_size;
    }
    free(name);
    *ret_bytes = total;
    return 0;
}

/* Reads the common alert columns (STORE_ALERT_COLUMNS) of the current row. */
static int
alert_from_row(struct store_sqlite *store, sqlite3_stmt *st, struct store_alert_row *row)
{
    int r;
    row->id = sqlite3_column_int64(st, 0);
    row->item_id = sqlite3_column_int64(st, 2);
    row->attempts = sqlite3_column_int(st, 7);
    row->raised_at = col_time(st, 8);
    if ((r = col_text(store, st, 1, &row->topic)) < 0 ||
        (r = col_text(store, st, 3, &row->feed)) < 0 ||
        (r = col_text(store, st, 4, &row->title)) < 0 ||
        (r = col_text(store, st, 5, &row->url)) < 0 ||
        (r = col_text(store, st, 6, &row->state)) < 0)
        return r;
    return 0;
}

/*
 * Raises the alert (topic, item_id) with one pending delivery per hook, due at raised_at.
 * 1 raised (*ret_id set), 0 when that (topic, item) was raised before, <0 error.
 */
static int
sqlite_alert_add(struct store *base, const char *topic, int64_t item_id, const char *matched_json,
                 char *const *hooks, size_t n_hooks, int64_t raised_at, int64_t *ret_id)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ALERT_ADD];
    int rc = SQLITE_OK, r;

    bind_str(st, 1, topic, &rc);
    bind_int(st, 2, item_id, &rc);
    bind_str(st, 3, n_hooks ? "pending" : "no-hook", &rc);
    bind_str(st, 4, matched_json, &rc);
    bind_int(st, 5, raised_at, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    if ((r = stmt_run(store, st)) < 0)
        return r;
    if (sqlite3_changes(store->db) != 1)
        return 0;
    int64_t id = sqlite3_last_insert_rowid(store->db);
    st = store->stmt[STMT_STORY_BANDS_ADD];
    bind_int(st, 1, id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    if ((r = stmt_run(store, st)) < 0)
        return r;
    st = store->stmt[STMT_DELIVERY_ADD];
    for (size_t i = 0; i < n_hooks; i++) {
        bind_int(st, 1, id, &rc);
        bind_str(st, 2, hooks[i], &rc);
        bind_int(st, 3, raised_at, &rc);
        if (rc != SQLITE_OK)
            return bind_failed(store, st, rc);
        if ((r = stmt_run(store, st)) < 0)
            return r;
    }
    if (ret_id)
        *ret_id = id;
    return 1;
}

/*
 * Calls cb(alert_id, simhash, feed_id), in alert id order, for the alerts of topic raised at or
 * after since_at whose item, from a feed other than feed_id, has a story signature that agrees
 * with simhash on at least one of the 7 bands of story_bands (9 bits each, the last 10): the
 * candidates a new item of feed_id may be the same story as (the same feed repeating itself is
 * a new item). By pigeonhole every signature within 6 bits of simhash shares a band with it, so
 * the first that passes simhash_same_story() is the first alert of the window that would, as
 * long as its band value has at most STORY_BAND_ROWS newer alerts in the window (a band value is
 * one in 512: a topic of 8,000 alerts in the window has 16 of each); past that, the newest are
 * read (a copy comes soon after its story), so an item costs at most 7 * STORY_BAND_ROWS rows
 * however many alerts the window holds. Adds the statement's VM steps to *steps (may be NULL).
 */
struct story_band_row {
    int64_t alert_id, feed_id;
    uint64_t simhash;
};

static int
cmp_band_row(const void *a, const void *b)
{
    int64_t x = ((const struct story_band_row *)a)->alert_id;
    int64_t y = ((const struct story_band_row *)b)->alert_id;
    return x < y ? -1 : x > y;
}

static int
sqlite_story_candidates(struct store *base, const char *topic, int64_t since_at, uint64_t simhash,
                        int64_t feed_id, store_story_cb cb, void *userdata, uint64_t *steps)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_STORY_CANDIDATES];
    struct story_band_row rows[7 * STORY_BAND_ROWS];
    size_t n_rows = 0;
    int rc = SQLITE_OK, r = 0;
    for (int n = 0; n < 7 && r == 0; n++) {
        rc = SQLITE_OK;
        bind_str(st, 1, topic, &rc);
        bind_int(st, 2, since_at, &rc);
        bind_int(st, 3, n, &rc);
        bind_int(st, 4, (int64_t)((simhash >> (9 * n)) & (n == 6 ? 1023u : 511u)), &rc);
        bind_int(st, 5, STORY_BAND_ROWS, &rc);
        bind_int(st, 6, feed_id, &rc);
        if (rc != SQLITE_OK)
            return bind_failed(store, st, rc);
        while (n_rows < sizeof(rows) / sizeof(rows[0]) && (rc = sqlite3_step(st)) == SQLITE_ROW)
            rows[n_rows++] = (struct story_band_row){
                .alert_id = sqlite3_column_int64(st, 0),
                .simhash = (uint64_t)sqlite3_column_int64(st, 1),
                .feed_id = sqlite3_column_int64(st, 2),
            };
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
            r = store_fail(store, rc);
        if (steps)
            *steps += (uint64_t)sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
        stmt_done(st);
    }
    if (r < 0)
        return r;
    qsort(rows, n_rows, sizeof(rows[0]), cmp_band_row);
    for (size_t i = 0; i < n_rows && r == 0; i++)
        if (i == 0 || rows[i].alert_id != rows[i - 1].alert_id)
            r = cb(userdata, rows[i].alert_id, rows[i].simhash, rows[i].feed_id);
    return r < 0 ? r : 0;
}

/* Keeps the story signature of alert_id: its bytes and its keys (store.h). */
static int
sqlite_alert_set_story(struct store *base, int64_t alert_id, const char *topic, int64_t raised_at,
                       const void *sig, size_t sig_len, const uint32_t *keys, size_t n_keys)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_STORY_SIG_SET];
    int rc = SQLITE_OK, r;
    if (sig_len > INT_MAX)
        return store_set_error(&store->base, -EINVAL, "story signature too long");
    bind_int(st, 1, alert_id, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, sig, (int)sig_len, SQLITE_TRANSIENT);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    if ((r = stmt_run(store, st)) < 0)
        return r;
    st = store->stmt[STMT_STORY_KEY_ADD];
    for (size_t i = 0; i < n_keys; i++) {
        bind_int(st, 1, alert_id, &rc);
        bind_str(st, 2, topic, &rc);
        bind_int(st, 3, (int64_t)keys[i], &rc);
        bind_int(st, 4, raised_at, &rc);
        if (rc != SQLITE_OK)
            return bind_failed(store, st, rc);
        if ((r = stmt_run(store, st)) < 0)
            return r;
    }
    return 0;
}

/* The newest limit alerts of topic in the window with key, newest first (store.h). */
static int
sqlite_story_key_candidates(struct store *base, const char *topic, int64_t since_at, uint32_t key,
                            unsigned limit, store_story_key_cb cb, void *userdata, uint64_t *steps)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_STORY_KEY_CANDIDATES];
    int rc = SQLITE_OK, r = 0;
    bind_str(st, 1, topic, &rc);
    bind_int(st, 2, since_at, &rc);
    bind_int(st, 3, (int64_t)key, &rc);
    bind_int(st, 4, limit, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r = cb(userdata, sqlite3_column_int64(st, 0));
        if (r != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = store_fail(store, rc);
    if (steps)
        *steps += (uint64_t)sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
    stmt_done(st);
    return r < 0 ? r : 0;
}

/* The story signature bytes of alert_id (store.h). */
static int
sqlite_alert_story_sig(struct store *base, int64_t alert_id, void *buf, size_t size,
                       size_t *ret_len, int64_t *ret_raised_at, uint64_t *steps)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_STORY_SIG_GET];
    int rc = SQLITE_OK, r = 0;
    bind_int(st, 1, alert_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (b && n <= size) {
            memcpy(buf, b, n);
            *ret_len = n;
            if (ret_raised_at)
                *ret_raised_at = sqlite3_column_int64(st, 1);
            r = 1;
        }
    } else if (rc != SQLITE_DONE) {
        r = store_fail(store, rc);
    }
    if (steps)
        *steps += (uint64_t)sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
    stmt_done(st);
    return r;
}

/* Attaches item_id to alert_id as another source of the same story. */
static int
sqlite_alert_add_source(struct store *base, int64_t alert_id, int64_t item_id)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_SOURCE_ADD];
    int rc = SQLITE_OK;
    bind_int(st, 1, alert_id, &rc);
    bind_int(st, 2, item_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    return stmt_run(store, st);
}

/* Calls cb for up to limit pending deliveries due at now_at, oldest first. */
static int
deliveries_due_run(struct store *base, enum store_stmt which, int64_t now_at, unsigned limit,
                   store_delivery_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[which];
    int rc = SQLITE_OK, r = 0;
    bind_int(st, 1, now_at, &rc);
    bind_int(st, 2, limit, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *hook = NULL;
        if ((r = col_text(store, st, 1, &hook)) < 0)
            break;
        r = cb(userdata, sqlite3_column_int64(st, 0), hook, (unsigned)sqlite3_column_int(st, 2));
        if (r < 0)
            break;
        r = 0;
    }
    if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

static int
sqlite_deliveries_due(struct store *base, int64_t now_at, unsigned limit, store_delivery_cb cb,
                      void *userdata)
{
    return deliveries_due_run(base, STMT_DELIVERIES_DUE, now_at, limit, cb, userdata);
}

/* When the earliest pending delivery is due: 1 with *ret_at, 0 when none is pending. */
static int
delivery_next_run(struct store *base, enum store_stmt which, int64_t *ret_at)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[which];
    int rc = sqlite3_step(st), r = 0;
    if (rc == SQLITE_ROW) {
        *ret_at = sqlite3_column_int64(st, 0);
        r = 1;
    } else if (rc != SQLITE_DONE) {
        r = store_fail(store, rc);
    }
    stmt_done(st);
    return r;
}

static int
sqlite_delivery_next_due(struct store *base, int64_t *ret_at)
{
    return delivery_next_run(base, STMT_DELIVERY_NEXT, ret_at);
}

/*
 * Writes a delivery's new state and refreshes its alert's aggregate state; ended_at, when not
 * FEED_TIME_NONE, is when the attempt that led to it ended (last_attempt_at). which: the
 * statement that sets, refresh: the one that refreshes (alerts' or feed events').
 */
static int
delivery_set_run(struct store *base, enum store_stmt which, enum store_stmt refresh,
                 int64_t alert_id, const char *hook, const char *state, unsigned attempts,
                 int64_t next_attempt_at, const char *last_error, int64_t ended_at)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[which];
    int rc = SQLITE_OK, r;
    bind_int(st, 1, alert_id, &rc);
    bind_str(st, 2, hook, &rc);
    bind_str(st, 3, state, &rc);
    bind_int(st, 4, attempts, &rc);
    bind_time(st, 5, next_attempt_at, &rc);
    bind_str(st, 6, last_error, &rc);
    bind_time(st, 7, ended_at, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    /*
     * The delivery and its alert's state change together: a kill between the two would leave
     * the alert pending for good beside a delivered delivery (the kill -9 test found it).
     */
    if ((r = stmt_run(store, store->stmt[STMT_SAVEPOINT])) < 0) {
        stmt_done(st);
        return r;
    }
    if ((r = stmt_run(store, st)) < 0)
        goto undo;
    st = store->stmt[refresh];
    bind_int(st, 1, alert_id, &rc);
    if (rc != SQLITE_OK) {
        r = bind_failed(store, st, rc);
        goto undo;
    }
    if ((r = stmt_run(store, st)) < 0 || (r = stmt_run(store, store->stmt[STMT_RELEASE])) < 0)
        goto undo;
    return 0;

undo:
    sqlite_part_rollback(&store->base);
    return r;
}

static int
sqlite_delivery_set(struct store *base, int64_t alert_id, const char *hook, const char *state,
                    unsigned attempts, int64_t next_attempt_at, const char *last_error,
                    int64_t ended_at)
{
    return delivery_set_run(base, STMT_DELIVERY_SET, STMT_ALERT_REFRESH, alert_id, hook, state,
                            attempts, next_attempt_at, last_error, ended_at);
}

/*
 * After a crash or kill, deliveries left running never finished: they become pending again
 * (at-least-once delivery). Returns the number reset.
 */
static int
sqlite_deliveries_reset_running(struct store *base)
{
    struct store_sqlite *store = sqlite_of(base);
    /* Both tables at once, for the same reason as store_delivery_set. */
    int r = stmt_run(store, store->stmt[STMT_SAVEPOINT]);
    if (r < 0)
        return r;
    if ((r = stmt_run(store, store->stmt[STMT_DELIVERIES_RESET])) < 0)
        goto undo;
    int n = sqlite3_changes(store->db);
    if ((r = stmt_run(store, store->stmt[STMT_ALERTS_RESET])) < 0 ||
        (r = stmt_run(store, store->stmt[STMT_EVENT_DELIVERIES_RESET])) < 0)
        goto undo;
    n += sqlite3_changes(store->db);
    if ((r = stmt_run(store, store->stmt[STMT_EVENTS_RESET])) < 0 ||
        (r = stmt_run(store, store->stmt[STMT_RELEASE])) < 0)
        goto undo;
    return n;

undo:
    sqlite_part_rollback(&store->base);
    return r;
}

/* Refreshes the aggregate state of alert_id from its deliveries. */
static int
alert_refresh(struct store_sqlite *store, int64_t alert_id)
{
    sqlite3_stmt *st = store->stmt[STMT_ALERT_REFRESH];
    int rc = SQLITE_OK;
    bind_int(st, 1, alert_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    return stmt_run(store, st);
}

/*
 * `redeliver` of one delivery: (alert_id, hook) becomes pending, due at now_at, its attempts
 * and last error cleared; created when the alert had no delivery to that hook. A running
 * delivery is left as it is. 1 queued, 0 running (nothing changed), or a negative errno.
 */
static int
sqlite_delivery_requeue(struct store *base, int64_t alert_id, const char *hook, int64_t now_at)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_DELIVERY_REQUEUE];
    int rc = SQLITE_OK, r;
    assert(store);
    assert(hook);
    bind_int(st, 1, alert_id, &rc);
    bind_str(st, 2, hook, &rc);
    bind_int(st, 3, now_at, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    /* With its alert's state, as store_delivery_set. */
    if ((r = stmt_run(store, store->stmt[STMT_SAVEPOINT])) < 0) {
        stmt_done(st);
        return r;
    }
    if ((r = stmt_run(store, st)) < 0)
        goto undo;
    int queued = sqlite3_changes(store->db) > 0;
    if ((r = alert_refresh(store, alert_id)) < 0 ||
        (r = stmt_run(store, store->stmt[STMT_RELEASE])) < 0)
        goto undo;
    return queued;

undo:
    sqlite_part_rollback(&store->base);
    return r;
}

/*
 * `redeliver --failed`: every failed delivery (only hook's when hook is not NULL) to one of
 * the hooks of hooks_json (a JSON array of names: the hooks configured now) becomes pending,
 * due at now_at, attempts and last error cleared; cb (may be NULL) gets each, in no order,
 * and their alerts' states follow. The number queued, or a negative errno (nothing changed).
 */
static int
requeue_failed_run(struct store *base, enum store_stmt which, enum store_stmt refresh,
                   const char *hook, const char *hooks_json, int64_t now_at, int64_t after_alert,
                   const char *after_hook, unsigned limit, store_requeued_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[which];
    int64_t *alerts = NULL;
    size_t n = 0, cap = 0;
    int rc = SQLITE_OK, r;
    assert(store);
    assert(hooks_json);
    bind_str(st, 1, hook, &rc);
    bind_str(st, 2, hooks_json, &rc);
    bind_int(st, 3, now_at, &rc);
    bind_int(st, 4, after_alert, &rc);
    bind_str(st, 5, after_hook ? after_hook : "", &rc);
    bind_int(st, 6, limit ? (int64_t)limit : -1, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    if ((r = stmt_run(store, store->stmt[STMT_SAVEPOINT])) < 0) {
        stmt_done(st);
        return r;
    }
    /* Every change is made by the first step; the rows that follow say which. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = NULL;
        int64_t alert_id = sqlite3_column_int64(st, 0);
        if ((r = col_text(store, st, 1, &name)) < 0)
            break;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            int64_t *grown = realloc(alerts, ncap * sizeof(*alerts));
            if (!grown) {
                r = store_set_error(&store->base, -ENOMEM, "out of memory");
                break;
            }
            alerts = grown;
            cap = ncap;
        }
        alerts[n++] = alert_id;
        if (cb && (r = cb(userdata, alert_id, name ? name : "")) < 0)
            break;
        r = 0;
    }
    if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = store_fail(store, rc);
    stmt_done(st);
    for (size_t i = 0; r >= 0 && i < n; i++) {
        if (i > 0 && alerts[i] == alerts[i - 1])
            continue;
        sqlite3_stmt *rs = store->stmt[refresh];
        rc = SQLITE_OK;
        bind_int(rs, 1, alerts[i], &rc);
        r = rc != SQLITE_OK ? bind_failed(store, rs, rc) : stmt_run(store, rs);
    }
    free(alerts);
    if (r < 0 || (r = stmt_run(store, store->stmt[STMT_RELEASE])) < 0)
        goto undo;
    return n > INT_MAX ? INT_MAX : (int)n;

undo:
    sqlite_part_rollback(&store->base);
    return r;
}

static int
sqlite_deliveries_requeue_failed(struct store *base, const char *hook, const char *hooks_json,
                                 int64_t now_at, int64_t after_alert, const char *after_hook,
                                 unsigned limit, store_requeued_cb cb, void *userdata)
{
    return requeue_failed_run(base, STMT_DELIVERIES_REQUEUE_FAILED, STMT_ALERT_REFRESH, hook,
                              hooks_json, now_at, after_alert, after_hook, limit, cb, userdata);
}

static int
sqlite_event_deliveries_requeue_failed(struct store *base, const char *hook, const char *hooks_json,
                                       int64_t now_at, int64_t after_event, const char *after_hook,
                                       unsigned limit, store_requeued_cb cb, void *userdata)
{
    return requeue_failed_run(base, STMT_EVENT_DELIVERIES_REQUEUE_FAILED, STMT_EVENT_REFRESH, hook,
                              hooks_json, now_at, after_event, after_hook, limit, cb, userdata);
}

/* Calls cb for each delivery of alert_id (an alert's, or a feed event's), by hook name. */
static int
deliveries_rows_run(struct store *base, enum store_stmt which, int64_t alert_id,
                    store_delivery_row_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[which];
    int rc = SQLITE_OK, r = 0;
    assert(store);
    assert(cb);
    bind_int(st, 1, alert_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_delivery_row row = {
            .attempts = (unsigned)sqlite3_column_int(st, 2),
            .next_attempt_at = col_time(st, 3),
            .last_attempt_at = col_time(st, 5),
        };
        if ((r = col_text(store, st, 0, &row.hook)) < 0 ||
            (r = col_text(store, st, 1, &row.state)) < 0 ||
            (r = col_text(store, st, 4, &row.last_error)) < 0)
            break;
        r = cb(userdata, &row);
        if (r < 0)
            break;
        r = 0;
    }
    if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

static int
sqlite_alert_deliveries(struct store *base, int64_t alert_id, store_delivery_row_cb cb,
                        void *userdata)
{
    return deliveries_rows_run(base, STMT_ALERT_DELIVERIES, alert_id, cb, userdata);
}

/* Calls cb once with everything a hook needs about alert_id; -ENOENT when there is none. */
static int
sqlite_alert_get(struct store *base, int64_t alert_id, store_alert_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ALERT_GET];
    int rc = SQLITE_OK, r;
    bind_int(st, 1, alert_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        struct store_alert_row row = {0};
        row.published_at = col_time(st, 9);
        if ((r = alert_from_row(store, st, &row)) >= 0 &&
            (r = col_text(store, st, 10, &row.author)) >= 0 &&
            (r = col_text(store, st, 11, &row.language)) >= 0 &&
            (r = col_text(store, st, 12, &row.text)) >= 0 &&
            (r = col_text(store, st, 13, &row.matched)) >= 0)
            r = cb(userdata, &row);
    } else if (rc == SQLITE_DONE) {
        r = store_set_error(&store->base, -ENOENT, "no alert %lld", (long long)alert_id);
    } else {
        r = store_fail(store, rc);
    }
    stmt_done(st);
    return r;
}

/* Calls cb(feed, url, title, item_id) for the other sources of alert_id (store.h). */
static int
sqlite_alert_sources(struct store *base, int64_t alert_id, unsigned limit, int64_t also_item,
                     int64_t *ret_total, store_source_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ALERT_SOURCES];
    int rc = SQLITE_OK, r = 0;
    bind_int(st, 1, alert_id, &rc);
    bind_int(st, 2, limit ? (int64_t)limit : INT64_MAX, &rc);
    bind_int(st, 3, also_item, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    *ret_total = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *feed = NULL, *url = NULL, *title = NULL;
        *ret_total = sqlite3_column_int64(st, 4);
        if ((r = col_text(store, st, 0, &feed)) < 0 || (r = col_text(store, st, 1, &url)) < 0 ||
            (r = col_text(store, st, 2, &title)) < 0)
            break;
        r = cb(userdata, feed, url, title, sqlite3_column_int64(st, 3));
        if (r < 0)
            break;
        r = 0;
    }
    if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

/* Calls cb for the newest alerts first (of one topic, or only failed ones), at most limit. */
static int
sqlite_alerts_list(struct store *base, const char *topic, bool failed_only, unsigned limit,
                   store_alert_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[failed_only ? STMT_ALERTS_FAILED : STMT_ALERTS_LIST];
    int rc = SQLITE_OK, r = 0;
    bind_str(st, 1, topic, &rc);
    bind_int(st, 2, limit > 0 ? (int64_t)limit : -1, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_alert_row row = {0};
        row.published_at = FEED_TIME_NONE;
        if ((r = alert_from_row(store, st, &row)) < 0)
            break;
        r = cb(userdata, &row);
        if (r < 0)
            break;
        r = 0;
    }
    if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

/* Alerts ever raised per topic, in topic order (rows are never deleted: a counter). */
static int
sqlite_alert_topic_counts(struct store *base, store_topic_count_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ALERT_TOPIC_COUNTS];
    int rc, r = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *topic = (const char *)sqlite3_column_text(st, 0);
        if (topic && (r = cb(userdata, topic, sqlite3_column_int64(st, 1))) < 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

/* Alerts by state: delivered, pending (pending or running), failed and no-hook. */
static int
sqlite_alert_counts(struct store *base, int64_t *ret_delivered, int64_t *ret_pending,
                    int64_t *ret_failed, int64_t *ret_no_hook)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ALERT_COUNTS];
    int64_t delivered = 0, pending = 0, failed = 0, no_hook = 0;
    int rc, r = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);
        if (!state)
            continue;
        if (strcmp(state, "delivered") == 0)
            delivered += n;
        else if (strcmp(state, "failed") == 0)
            failed += n;
        else if (strcmp(state, "no-hook") == 0)
            no_hook += n;
        else
            pending += n;
    }
    if (rc != SQLITE_DONE)
        r = store_fail(store, rc);
    stmt_done(st);
    if (r < 0)
        return r;
    *ret_delivered = delivered;
    *ret_pending = pending;
    *ret_failed = failed;
    if (ret_no_hook)
        *ret_no_hook = no_hook;
    return 0;
}

static int
sqlite_item_events_failed(struct store *base, int64_t *ret_count)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ITEM_EVENTS_FAILED];
    int rc = sqlite3_step(st), r = 0;
    if (rc == SQLITE_ROW)
        *ret_count = sqlite3_column_int64(st, 0);
    else
        r = store_fail(store, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
    stmt_done(st);
    return r;
}

/* Prunes at most limit items first seen before cutoff_at, in one transaction of its own. */
static int
sqlite_prune_batch(struct store *base, int64_t cutoff_at, int64_t max_id, unsigned limit,
                   size_t max_bytes, int64_t now_at, store_prune_cb cb, void *userdata,
                   unsigned *ret_pruned)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_PRUNE_SELECT];
    int64_t *ids = NULL;
    unsigned n = 0;
    size_t bytes = 0;
    int rc = SQLITE_OK, r;

    assert(store);
    assert(ret_pruned);
    *ret_pruned = 0;
    if (limit == 0)
        return 0;
    ids = malloc(limit * sizeof(*ids));
    if (!ids)
        return store_set_error(&store->base, -ENOMEM, "out of memory");
    r = sqlite_begin(&store->base);
    if (r < 0) {
        free(ids);
        return r;
    }
    /* The rows are read first and changed after: a statement must not see its own writes. */
    bind_int(st, 1, cutoff_at, &rc);
    bind_int(st, 2, max_id, &rc);
    bind_int(st, 3, limit, &rc);
    if (rc != SQLITE_OK) {
        r = bind_failed(store, st, rc);
        goto fail;
    }
    while (n < limit && bytes < max_bytes && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *title = NULL, *body = NULL;

        ids[n] = sqlite3_column_int64(st, 0);
        if ((r = col_text(store, st, 1, &title)) < 0 || (r = col_text(store, st, 2, &body)) < 0)
            break;
        bytes += (title ? strlen(title) : 0) + (body ? strlen(body) : 0) + 1;
        if (cb && (r = cb(userdata, ids[n], title, body)) < 0) {
            (void)store_set_error(&store->base, r, "cannot note a pruned item: %s", strerror(-r));
            break;
        }
        n++;
    }
    if (r >= 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = store_fail(store, rc);
    stmt_done(st);
    for (unsigned i = 0; r >= 0 && i < n; i++) {
        sqlite3_stmt *up = store->stmt[STMT_PRUNE_ITEM];
        sqlite3_stmt *al = store->stmt[STMT_PRUNE_ALERTS];

        rc = SQLITE_OK;
        bind_int(up, 1, ids[i], &rc);
        bind_int(up, 2, now_at, &rc);
        if (rc != SQLITE_OK) {
            r = bind_failed(store, up, rc);
            break;
        }
        if ((r = stmt_run(store, up)) < 0)
            break;
        bind_int(al, 1, ids[i], &rc);
        if (rc != SQLITE_OK) {
            r = bind_failed(store, al, rc);
            break;
        }
        if ((r = stmt_run(store, al)) < 0)
            break;
        /* A pruned item has no signature: its alerts are no story's candidates any more. */
        sqlite3_stmt *sb = store->stmt[STMT_PRUNE_BANDS];
        bind_int(sb, 1, ids[i], &rc);
        if (rc != SQLITE_OK) {
            r = bind_failed(store, sb, rc);
            break;
        }
        if ((r = stmt_run(store, sb)) < 0)
            break;
        sqlite3_stmt *sk = store->stmt[STMT_PRUNE_KEYS];
        bind_int(sk, 1, ids[i], &rc);
        if (rc != SQLITE_OK) {
            r = bind_failed(store, sk, rc);
            break;
        }
        r = stmt_run(store, sk);
    }
    if (r >= 0 && n > 0) {
        sqlite3_stmt *t = store->stmt[STMT_PRUNE_TALLY];

        rc = SQLITE_OK;
        bind_int(t, 1, n, &rc);
        bind_int(t, 2, now_at, &rc);
        r = rc != SQLITE_OK ? bind_failed(store, t, rc) : stmt_run(store, t);
    }
    if (r >= 0)
        r = sqlite_commit(&store->base);
    if (r < 0)
        goto fail;
    free(ids);
    *ret_pruned = n;
    return 0;

fail:
    sqlite_rollback(&store->base);
    free(ids);
    return r;
}

/* What retention has pruned so far, and when it last did. */
static int
sqlite_retention_get(struct store *base, int64_t *ret_pruned_items, int64_t *ret_last_at)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_RETENTION_GET];
    int rc, r = 0;

    assert(store);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *ret_pruned_items = sqlite3_column_int64(st, 0);
        *ret_last_at = col_time(st, 1);
    } else if (rc == SQLITE_DONE) {
        *ret_pruned_items = 0;
        *ret_last_at = FEED_TIME_NONE;
    } else {
        r = store_fail(store, rc);
    }
    stmt_done(st);
    return r;
}

/* The one item of feed_id with each URL (store.h). */
static int
sqlite_items_by_url(struct store *base, int64_t feed_id, const char *const *urls, size_t n,
                    struct store_item_ref *ret)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ITEM_BY_URL];
    for (size_t i = 0; i < n; i++) {
        int rc = SQLITE_OK, r = 0, rows = 0;
        struct store_item_ref ref = {.published_at = FEED_TIME_NONE};
        bind_int(st, 1, feed_id, &rc);
        bind_str(st, 2, urls[i], &rc);
        if (rc != SQLITE_OK)
            return bind_failed(store, st, rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && ++rows == 1) {
            ref.id = sqlite3_column_int64(st, 0);
            ref.published_at = col_time(st, 3);
            ref.fingerprint = (uint64_t)sqlite3_column_int64(st, 4);
            if ((r = col_strdup(store, st, 1, &ref.key)) < 0 ||
                (r = col_strdup(store, st, 2, &ref.title)) < 0)
                break;
        }
        if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
            r = store_fail(store, rc);
        stmt_done(st);
        if (r < 0 || rows != 1) {
            store_item_ref_done(&ref);
            if (r < 0)
                return r;
            continue;
        }
        ret[i] = ref;
    }
    return 0;
}

/* A new key and guid for item_id of feed_id unless the feed has that key: 1, 0, or <0. */
static int
sqlite_item_rekey(struct store *base, int64_t feed_id, int64_t item_id, const char *key,
                  const char *guid)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ITEM_REKEY];
    int rc = SQLITE_OK, r;
    bind_int(st, 1, feed_id, &rc);
    bind_int(st, 2, item_id, &rc);
    bind_str(st, 3, key, &rc);
    bind_str(st, 4, guid, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    if ((r = stmt_run(store, st)) < 0)
        return r;
    return sqlite3_changes(store->db) == 1;
}

/*
 * Runs st, a bound INSERT of an event (feed_events), and adds one pending delivery per hook,
 * due at raised_at: the event's id into *ret_id (may be NULL).
 */
static int
sqlite_event_insert(struct store_sqlite *store, sqlite3_stmt *st, char *const *hooks,
                    size_t n_hooks, int64_t raised_at, int64_t *ret_id)
{
    int rc = SQLITE_OK, r;

    if ((r = stmt_run(store, st)) < 0)
        return r;
    int64_t id = sqlite3_last_insert_rowid(store->db);
    st = store->stmt[STMT_EVENT_DELIVERY_ADD];
    for (size_t i = 0; i < n_hooks; i++) {
        bind_int(st, 1, id, &rc);
        bind_str(st, 2, hooks[i], &rc);
        bind_int(st, 3, raised_at, &rc);
        if (rc != SQLITE_OK)
            return bind_failed(store, st, rc);
        if ((r = stmt_run(store, st)) < 0)
            return r;
    }
    if (ret_id)
        *ret_id = id;
    return 0;
}

/* Raises a feed event with one pending delivery per hook (none: no-hook), due at raised_at. */
static int
sqlite_feed_event_add(struct store *base, int64_t feed_id, const char *event, const char *url,
                      const char *feed_state, const char *reason, char *const *hooks,
                      size_t n_hooks, int64_t raised_at, int64_t *ret_id)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_EVENT_ADD];
    int rc = SQLITE_OK;

    bind_int(st, 1, feed_id, &rc);
    bind_str(st, 2, event, &rc);
    bind_str(st, 3, url, &rc);
    bind_str(st, 4, feed_state, &rc);
    bind_str(st, 5, reason, &rc);
    bind_int(st, 6, raised_at, &rc);
    bind_str(st, 7, n_hooks ? "pending" : "no-hook", &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    return sqlite_event_insert(store, st, hooks, n_hooks, raised_at, ret_id);
}

/* Raises story-source: item_id became a source of alert_id (store.h). */
static int
sqlite_story_source_add(struct store *base, int64_t feed_id, int64_t alert_id, int64_t item_id,
                        char *const *hooks, size_t n_hooks, int64_t raised_at, int64_t *ret_id)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_SOURCE_EVENT_ADD];
    int rc = SQLITE_OK;

    bind_int(st, 1, feed_id, &rc);
    bind_int(st, 2, raised_at, &rc);
    bind_str(st, 3, n_hooks ? "pending" : "no-hook", &rc);
    bind_int(st, 4, alert_id, &rc);
    bind_int(st, 5, item_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    return sqlite_event_insert(store, st, hooks, n_hooks, raised_at, ret_id);
}

static int
sqlite_event_deliveries_due(struct store *base, int64_t now_at, unsigned limit,
                            store_delivery_cb cb, void *userdata)
{
    return deliveries_due_run(base, STMT_EVENT_DELIVERIES_DUE, now_at, limit, cb, userdata);
}

static int
sqlite_event_delivery_next_due(struct store *base, int64_t *ret_at)
{
    return delivery_next_run(base, STMT_EVENT_DELIVERY_NEXT, ret_at);
}

static int
sqlite_event_delivery_set(struct store *base, int64_t event_id, const char *hook, const char *state,
                          unsigned attempts, int64_t next_attempt_at, const char *last_error,
                          int64_t ended_at)
{
    return delivery_set_run(base, STMT_EVENT_DELIVERY_SET, STMT_EVENT_REFRESH, event_id, hook,
                            state, attempts, next_attempt_at, last_error, ended_at);
}

static int
sqlite_event_deliveries(struct store *base, int64_t event_id, store_delivery_row_cb cb,
                        void *userdata)
{
    return deliveries_rows_run(base, STMT_EVENT_DELIVERIES, event_id, cb, userdata);
}

/* Deletes old feed events done with (store.h). */
static int
sqlite_feed_events_prune(struct store *base, int64_t cutoff_at, unsigned limit,
                         unsigned *ret_pruned)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_EVENTS_PRUNE];
    int rc = SQLITE_OK, r;

    bind_int(st, 1, cutoff_at, &rc);
    bind_int(st, 2, limit, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    if ((r = stmt_run(store, st)) < 0)
        return r;
    *ret_pruned = (unsigned)sqlite3_changes(store->db);
    return 0;
}

/* The hook's window: when its last batch started (FEED_TIME_NONE: none); with set, made at. */
static int
sqlite_batch_window(struct store *base, const char *hook, bool set, int64_t at, int64_t *ret_at)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[set ? STMT_BATCH_SET : STMT_BATCH_GET];
    int rc = SQLITE_OK, r = 0;

    bind_str(st, 1, hook, &rc);
    if (set)
        bind_time(st, 2, at, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    if (set) {
        if ((r = stmt_run(store, st)) < 0)
            return r;
        *ret_at = at;
        return 0;
    }
    rc = sqlite3_step(st);
    *ret_at = FEED_TIME_NONE;
    if (rc == SQLITE_ROW)
        *ret_at = col_time(st, 0);
    else if (rc != SQLITE_DONE)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

struct batch_row {
    bool ev;
    int64_t id;
    unsigned attempts;
};

/* Reads at most limit due deliveries of hook with which into rows at *n (room for limit). */
static int
batch_due_read(struct store_sqlite *store, enum store_stmt which, bool ev, const char *hook,
               int64_t now_at, unsigned limit, struct batch_row *rows, size_t *n)
{
    sqlite3_stmt *st = store->stmt[which];
    int rc = SQLITE_OK, r = 0;

    bind_str(st, 1, hook, &rc);
    bind_int(st, 2, now_at, &rc);
    bind_int(st, 3, limit, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    rc = SQLITE_DONE; /* the room may be full already: nothing to read */
    while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows[*n] = (struct batch_row){.ev = ev,
                                      .id = sqlite3_column_int64(st, 0),
                                      .attempts = (unsigned)sqlite3_column_int(st, 1)};
        (*n)++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

/* Takes a batch of hook's due deliveries, or defers them to the end of its window (store.h). */
static int
sqlite_batch_take(struct store *base, const char *hook, int64_t window_s, int64_t now_at,
                  unsigned limit, const char *node, int64_t lease_s, store_batch_cb cb,
                  void *userdata, int64_t *ret_open_at)
{
    struct store_sqlite *store = sqlite_of(base);
    struct batch_row *rows = NULL;
    int64_t last = FEED_TIME_NONE;
    size_t n = 0;
    int rc = SQLITE_OK, r;

    (void)node; /* one daemon per file: nothing is leased */
    (void)lease_s;
    *ret_open_at = 0;
    if (limit == 0)
        return 0;
    if ((r = stmt_run(store, store->stmt[STMT_SAVEPOINT])) < 0)
        return r;
    if ((r = sqlite_batch_window(base, hook, false, 0, &last)) < 0)
        goto undo;
    if (last != FEED_TIME_NONE && last + window_s > now_at) {
        /* The window is closed: the due ones wait for its end, and the timer with them. */
        int64_t open_at = last + window_s;
        enum store_stmt defer[] = {STMT_BATCH_DEFER, STMT_BATCH_EVENT_DEFER};
        for (size_t i = 0; i < 2 && r >= 0; i++) {
            sqlite3_stmt *st = store->stmt[defer[i]];
            bind_str(st, 1, hook, &rc);
            bind_int(st, 2, open_at, &rc);
            bind_int(st, 3, now_at, &rc);
            r = rc != SQLITE_OK ? bind_failed(store, st, rc) : stmt_run(store, st);
        }
        if (r < 0 || (r = stmt_run(store, store->stmt[STMT_RELEASE])) < 0)
            goto undo;
        *ret_open_at = open_at;
        return 0;
    }
    if (!(rows = calloc(limit, sizeof(*rows)))) {
        r = store_set_error(base, -ENOMEM, "out of memory");
        goto undo;
    }
    if ((r = batch_due_read(store, STMT_BATCH_DUE, false, hook, now_at, limit, rows, &n)) < 0 ||
        (r = batch_due_read(store, STMT_BATCH_EVENT_DUE, true, hook, now_at, limit, rows, &n)) < 0)
        goto undo;
    /* Running, attempts counted, as the "running" state of one delivery (store_delivery_set). */
    for (size_t i = 0; i < n && r >= 0; i++)
        r = delivery_set_run(base, rows[i].ev ? STMT_EVENT_DELIVERY_SET : STMT_DELIVERY_SET,
                             rows[i].ev ? STMT_EVENT_REFRESH : STMT_ALERT_REFRESH, rows[i].id, hook,
                             "running", rows[i].attempts + 1, FEED_TIME_NONE, NULL, FEED_TIME_NONE);
    if (r >= 0 && n > 0 && n < limit)
        r = sqlite_batch_window(base, hook, true, now_at, &last);
    for (size_t i = 0; i < n && r >= 0; i++)
        r = cb(userdata, rows[i].ev, rows[i].id, rows[i].attempts);
    if (r < 0 || (r = stmt_run(store, store->stmt[STMT_RELEASE])) < 0)
        goto undo;
    free(rows);
    return (int)n;

undo:
    free(rows);
    sqlite_part_rollback(base);
    return r;
}

/*
 * A reload changed hook's window from old_window_s to new_window_s (store.h): the deliveries
 * deferred to the end of the old one (their next attempt at exactly last + old_window_s, which
 * only the deferral writes: see STMT_BATCH_DEFER) wait until the new one's end, or none.
 */
static int
sqlite_batch_rewindow(struct store *base, const char *hook, int64_t old_window_s,
                      int64_t new_window_s, int64_t now_at)
{
    struct store_sqlite *store = sqlite_of(base);
    int64_t last = FEED_TIME_NONE;
    int rc = SQLITE_OK, r, moved = 0;

    bool start = old_window_s < 0;
    if (!start && new_window_s >= old_window_s)
        return 0; /* a longer window: its next take defers them again, to the new end */
    if ((r = stmt_run(store, store->stmt[STMT_SAVEPOINT])) < 0)
        return r;
    if ((r = sqlite_batch_window(base, hook, false, 0, &last)) < 0)
        goto undo;
    int64_t from = start ? -1 : last + old_window_s, to = last + new_window_s;
    if (to < now_at)
        to = now_at;
    enum store_stmt which[] = {STMT_BATCH_REWINDOW, STMT_BATCH_EVENT_REWINDOW};
    for (size_t i = 0; last != FEED_TIME_NONE && (start || from > now_at) && i < 2 && r >= 0; i++) {
        sqlite3_stmt *st = store->stmt[which[i]];
        bind_str(st, 1, hook, &rc);
        bind_int(st, 2, from, &rc);
        bind_int(st, 3, to, &rc);
        bind_int(st, 4, start, &rc);
        r = rc != SQLITE_OK ? bind_failed(store, st, rc) : stmt_run(store, st);
        if (r >= 0)
            moved += sqlite3_changes(store->db);
    }
    if (r < 0 || (r = stmt_run(store, store->stmt[STMT_RELEASE])) < 0)
        goto undo;
    return moved;

undo:
    sqlite_part_rollback(base);
    return r;
}

/* Reads a STORE_EVENT_COLUMNS row into *row (borrowed strings). */
static int
event_from_row(struct store_sqlite *store, sqlite3_stmt *st, struct store_feed_event_row *row)
{
    int r;
    row->id = sqlite3_column_int64(st, 0);
    row->raised_at = col_time(st, 6);
    row->attempts = sqlite3_column_int(st, 8);
    row->alert_id = sqlite3_column_int64(st, 9);
    row->version_id = sqlite3_column_int64(st, 10);
    row->item_id = sqlite3_column_int64(st, 12);
    if ((r = col_text(store, st, 11, &row->changes)) < 0 ||
        (r = col_text(store, st, 1, &row->event)) < 0 ||
        (r = col_text(store, st, 2, &row->feed)) < 0 ||
        (r = col_text(store, st, 3, &row->url)) < 0 ||
        (r = col_text(store, st, 4, &row->feed_state)) < 0 ||
        (r = col_text(store, st, 5, &row->reason)) < 0 ||
        (r = col_text(store, st, 7, &row->state)) < 0)
        return r;
    return 0;
}

/* Calls cb with each row of a bound STORE_EVENT_COLUMNS statement; -ENOENT for none if one. */
static int
events_rows(struct store_sqlite *store, sqlite3_stmt *st, bool one, int64_t id,
            store_feed_event_cb cb, void *userdata)
{
    int rc, r = 0;
    bool any = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_feed_event_row row = {0};
        any = true;
        if ((r = event_from_row(store, st, &row)) < 0 || (r = cb(userdata, &row)) < 0)
            break;
        r = 0;
    }
    if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = store_fail(store, rc);
    stmt_done(st);
    if (r >= 0 && one && !any)
        r = store_set_error(&store->base, -ENOENT, "no feed event %lld", (long long)id);
    return r;
}

static int
sqlite_feed_event_get(struct store *base, int64_t id, store_feed_event_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_EVENT_GET];
    int rc = SQLITE_OK;
    bind_int(st, 1, id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    return events_rows(store, st, true, id, cb, userdata);
}

static int
sqlite_feed_events_list(struct store *base, bool failed_only, unsigned limit,
                        store_feed_event_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_EVENTS_LIST];
    int rc = SQLITE_OK;
    bind_int(st, 1, failed_only, &rc);
    bind_int(st, 2, limit > 0 ? (int64_t)limit : -1, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    return events_rows(store, st, false, 0, cb, userdata);
}

/*
 * Reads the database once from start to end, so that the page cache holds it: quick_check
 * walks the b-trees in page order, which on a cold cache is a random read per page (a 200 MB
 * file: 16 s cold, 1.3 s after this sequential read). It reads through the connection's own
 * file handle: opening and closing a descriptor of the file here would drop every POSIX lock
 * of the process on it (the connections' SHARED lock), and another process closing its
 * connection would then delete the WAL under us. Errors are left to SQLite to report.
 */
static void
store_prefetch(struct store_sqlite *store)
{
    enum { CHUNK = 1 << 20 };
    sqlite3_file *file = NULL;
    sqlite3_int64 size = 0;

    if (sqlite3_file_control(store->db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
        !file || !file->pMethods || file->pMethods->xFileSize(file, &size) != SQLITE_OK)
        return;
    char *buf = malloc(CHUNK);
    for (sqlite3_int64 off = 0; buf && off < size; off += CHUNK) {
        int n = size - off < CHUNK ? (int)(size - off) : CHUNK;
        if (file->pMethods->xRead(file, buf, n, off) != SQLITE_OK)
            break;
    }
    free(buf);
}

/* Checks the whole file's structure (PRAGMA quick_check): 0, or -EBADMSG with *reterr_msg. */
static int
sqlite_check(struct store *base, char **reterr_msg)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = NULL;
    int rc, r = 0;

    assert(store);
    store_prefetch(store);
    rc = sqlite3_prepare_v2(store->db, "PRAGMA quick_check(1)", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        r = store_fail(store, rc);
    } else {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const char *res = (const char *)sqlite3_column_text(st, 0);
            if (!res || strcmp(res, "ok") != 0)
                r = store_set_error(&store->base, -EBADMSG, "%s", res ? res : "check failed");
        } else {
            r = store_fail(store, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
        }
    }
    (void)sqlite3_finalize(st);
    if (r < 0 && reterr_msg &&
        asprintf(reterr_msg, "database '%s' failed its check: %s%s", store->path,
                 store->base.errmsg, r == -EBADMSG ? STORE_DAMAGED_ADVICE : "") < 0)
        *reterr_msg = NULL;
    return r;
}

/* What a poll knows of each key (store.h): a lookup per key (no round trips here). */
static int
sqlite_items_seen(struct store *base, int64_t feed_id, const char *const *keys, size_t n,
                  struct store_item_seen *ret)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ITEM_SEEN];
    for (size_t i = 0; i < n; i++) {
        int rc = SQLITE_OK, r = 0;
        ret[i] = (struct store_item_seen){.edited_at = FEED_TIME_NONE};
        bind_int(st, 1, feed_id, &rc);
        bind_str(st, 2, keys[i], &rc);
        if (rc != SQLITE_OK)
            return bind_failed(store, st, rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            ret[i].id = sqlite3_column_int64(st, 0);
            ret[i].fingerprint = (uint64_t)sqlite3_column_int64(st, 1);
            ret[i].edited_at = col_time(st, 2);
            ret[i].pruned = sqlite3_column_int(st, 3) != 0;
        } else if (rc != SQLITE_DONE) {
            r = store_fail(store, rc);
        }
        stmt_done(st);
        if (r < 0)
            return r;
    }
    return 0;
}

static int
sqlite_item_fields_get(struct store *base, int64_t item_id, struct store_item_fields *ret)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ITEM_FIELDS];
    int rc = SQLITE_OK, r = 0;
    bind_int(st, 1, item_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        ret->fingerprint = (uint64_t)sqlite3_column_int64(st, 3);
        ret->pruned = sqlite3_column_int(st, 4) != 0;
        ret->since_at = col_time(st, 5);
        ret->simhash = (uint64_t)sqlite3_column_int64(st, 7);
        ret->has_text = sqlite3_column_int(st, 8) != 0;
        if ((r = col_strdup(store, st, 0, &ret->title)) >= 0 &&
            (r = col_strdup(store, st, 1, &ret->summary)) >= 0 &&
            (r = col_strdup(store, st, 2, &ret->content)) >= 0)
            r = col_strdup(store, st, 6, &ret->body);
    } else if (rc == SQLITE_DONE) {
        r = store_set_error(&store->base, -ENOENT, "no item %lld", (long long)item_id);
    } else {
        r = store_fail(store, rc);
    }
    stmt_done(st);
    return r;
}

static int
sqlite_item_fingerprint_set(struct store *base, int64_t item_id, uint64_t fingerprint)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ITEM_FP_SET];
    int rc = SQLITE_OK;
    bind_int(st, 1, item_id, &rc);
    bind_int(st, 2, (int64_t)fingerprint, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    return stmt_run(store, st);
}

/* Keeps the version an edit replaces (the oldest beyond STORE_VERSIONS_MAX dropped), then
 * gives the item its new fields. */
static int
sqlite_item_edit(struct store *base, int64_t item_id, const struct store_item_edit *e,
                 int64_t now_at, int64_t *ret_version_id)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_VERSION_ADD];
    int rc = SQLITE_OK, r;
    bind_int(st, 1, item_id, &rc);
    bind_str(st, 2, e->prev_title, &rc);
    bind_str(st, 3, e->prev_text, &rc);
    bind_int(st, 4, e->prev_seen_at, &rc);
    bind_int(st, 5, now_at, &rc);
    bind_str(st, 6, e->changes, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    if ((r = stmt_run(store, st)) < 0)
        return r;
    int64_t version_id = sqlite3_last_insert_rowid(store->db);
    st = store->stmt[STMT_VERSIONS_TRIM];
    bind_int(st, 1, item_id, &rc);
    bind_int(st, 2, STORE_VERSIONS_MAX, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    if ((r = stmt_run(store, st)) < 0)
        return r;
    st = store->stmt[STMT_ITEM_EDIT];
    bind_int(st, 1, item_id, &rc);
    bind_str(st, 2, e->item->title, &rc);
    bind_str(st, 3, e->item->summary, &rc);
    bind_str(st, 4, e->item->content, &rc);
    bind_str(st, 5, e->text, &rc);
    bind_int(st, 6, (int64_t)e->fingerprint, &rc);
    bind_int(st, 7, now_at, &rc);
    if (e->simhash)
        bind_int(st, 8, (int64_t)e->simhash, &rc);
    else if (rc == SQLITE_OK)
        rc = sqlite3_bind_null(st, 8);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    if ((r = stmt_run(store, st)) < 0)
        return r;
    if (ret_version_id)
        *ret_version_id = version_id;
    return 0;
}

static int
sqlite_item_versions(struct store *base, int64_t item_id, store_item_version_cb cb, void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_VERSIONS];
    int rc = SQLITE_OK, r = 0;
    bind_int(st, 1, item_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_item_version v = {
            .id = sqlite3_column_int64(st, 0),
            .seen_at = col_time(st, 3),
            .replaced_at = col_time(st, 4),
        };
        if ((r = col_text(store, st, 1, &v.title)) < 0 ||
            (r = col_text(store, st, 2, &v.text)) < 0 ||
            (r = col_text(store, st, 5, &v.changes)) < 0 || (r = cb(userdata, &v)) < 0)
            break;
        r = 0;
    }
    if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = store_fail(store, rc);
    stmt_done(st);
    return r;
}

static int
sqlite_alert_find(struct store *base, const char *topic, int64_t item_id, int64_t *ret_id)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ALERT_FIND];
    int rc = SQLITE_OK, r = 0;
    bind_str(st, 1, topic, &rc);
    bind_int(st, 2, item_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *ret_id = sqlite3_column_int64(st, 0);
        r = 1;
    } else if (rc != SQLITE_DONE) {
        r = store_fail(store, rc);
    }
    stmt_done(st);
    return r;
}

/* Raises item-updated on an alert: a feed_events row with one pending delivery per hook. */
static int
sqlite_item_update_add(struct store *base, int64_t feed_id, int64_t alert_id, int64_t version_id,
                       char *const *hooks, size_t n_hooks, int64_t raised_at, int64_t *ret_id)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_UPDATE_ADD];
    int rc = SQLITE_OK;
    bind_int(st, 1, feed_id, &rc);
    bind_int(st, 2, alert_id, &rc);
    bind_int(st, 3, version_id, &rc);
    bind_int(st, 4, raised_at, &rc);
    bind_str(st, 5, n_hooks ? "pending" : "no-hook", &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    return sqlite_event_insert(store, st, hooks, n_hooks, raised_at, ret_id);
}

static int
sqlite_alert_item_events(struct store *base, int64_t alert_id, store_feed_event_cb cb,
                         void *userdata)
{
    struct store_sqlite *store = sqlite_of(base);
    sqlite3_stmt *st = store->stmt[STMT_ALERT_ITEM_EVENTS];
    int rc = SQLITE_OK;
    bind_int(st, 1, alert_id, &rc);
    if (rc != SQLITE_OK)
        return bind_failed(store, st, rc);
    return events_rows(store, st, false, 0, cb, userdata);
}

/* The SQLite engine: a database file (store-internal.h). */
const struct store_engine store_sqlite_engine = {
    .name = "sqlite",
    .kind = DBSPEC_FILE,
    .open = sqlite_open,
    .open_reader = sqlite_open_reader,
    .check = sqlite_check,
    .free = sqlite_free,
    .begin = sqlite_begin,
    .begin_read = sqlite_begin_read,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .part_begin = sqlite_part_begin,
    .part_end = sqlite_part_end,
    .part_rollback = sqlite_part_rollback,
    .feed_ensure = sqlite_feed_ensure,
    .feed_save = sqlite_feed_save,
    .feed_set_runtime = sqlite_feed_set_runtime,
    .feed_set_runtime_opts = sqlite_feed_set_runtime_opts,
    .item_add = sqlite_item_add,
    .item_known = sqlite_item_known,
    .feed_model_get = sqlite_feed_model_get,
    .feed_model_set = sqlite_feed_model_set,
    .feed_list = sqlite_feed_list,
    .items_query = sqlite_items_query,
    .item_get = sqlite_item_get,
    .item_alerts = sqlite_item_alerts,
    .feed_urls = sqlite_feed_urls,
    .feed_counts = sqlite_feed_counts,
    .count_items = sqlite_count_items,
    .disk_bytes = sqlite_disk_bytes,
    .alert_add = sqlite_alert_add,
    .story_candidates = sqlite_story_candidates,
    .alert_set_story = sqlite_alert_set_story,
    .story_key_candidates = sqlite_story_key_candidates,
    .alert_story_sig = sqlite_alert_story_sig,
    .alert_add_source = sqlite_alert_add_source,
    .deliveries_due = sqlite_deliveries_due,
    .delivery_next_due = sqlite_delivery_next_due,
    .delivery_set = sqlite_delivery_set,
    .deliveries_reset_running = sqlite_deliveries_reset_running,
    .feed_event_add = sqlite_feed_event_add,
    .story_source_add = sqlite_story_source_add,
    .items_by_url = sqlite_items_by_url,
    .item_rekey = sqlite_item_rekey,
    .event_deliveries_due = sqlite_event_deliveries_due,
    .event_delivery_next_due = sqlite_event_delivery_next_due,
    .event_delivery_set = sqlite_event_delivery_set,
    .feed_event_get = sqlite_feed_event_get,
    .feed_events_list = sqlite_feed_events_list,
    .event_deliveries = sqlite_event_deliveries,
    .items_seen = sqlite_items_seen,
    .item_fields_get = sqlite_item_fields_get,
    .item_fingerprint_set = sqlite_item_fingerprint_set,
    .item_edit = sqlite_item_edit,
    .item_versions = sqlite_item_versions,
    .alert_find = sqlite_alert_find,
    .item_update_add = sqlite_item_update_add,
    .alert_item_events = sqlite_alert_item_events,
    .event_deliveries_requeue_failed = sqlite_event_deliveries_requeue_failed,
    .feed_events_prune = sqlite_feed_events_prune,
    .batch_take = sqlite_batch_take,
    .batch_window = sqlite_batch_window,
    .batch_rewindow = sqlite_batch_rewindow,
    .delivery_requeue = sqlite_delivery_requeue,
    .deliveries_requeue_failed = sqlite_deliveries_requeue_failed,
    .alert_deliveries = sqlite_alert_deliveries,
    .alert_get = sqlite_alert_get,
    .alert_sources = sqlite_alert_sources,
    .alerts_list = sqlite_alerts_list,
    .alert_topic_counts = sqlite_alert_topic_counts,
    .alert_counts = sqlite_alert_counts,
    .item_events_failed = sqlite_item_events_failed,
    .prune_batch = sqlite_prune_batch,
    .retention_get = sqlite_retention_get,
};
