/*
 * test_store_pg.c — what only the store's PostgreSQL engine has (store_pg.c): the migration
 * lock, the schema version and encodings it refuses, connection strings in messages, a lost
 * connection, its check, the mapping of the 64-bit story signature to a signed bigint, and
 * text that is not UTF-8. What every
 * engine does is test_store_iface.c's. Each case runs on a new database of the test server
 * (pgtest.h: FW_TEST_PG; unset, every case fails).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "parse/feed.h"
#include "pgtest.h"
#include "store.h"

/* How long a case waits for the server to reach a state (generous: a loaded machine). */
#define WAIT_MS 30000

/* One case's database. */
struct pg_db {
    char name[64];
    char database[512];
};

static int
setup(void **state)
{
    struct pg_db *db = calloc(1, sizeof(*db));

    assert_non_null(db);
    pgtest_create(db->name, sizeof(db->name), db->database, sizeof(db->database));
    *state = db;
    return 0;
}

static int
teardown(void **state)
{
    struct pg_db *db = *state;
    char other[96];

    pgtest_drop(db->name);
    /* A second database a case made (refuses_other_encodings), even when it failed. */
    (void)snprintf(other, sizeof(other), "%s_latin1", db->name);
    pgtest_drop(other);
    free(db);
    return 0;
}

static struct store *
open_store(const char *database)
{
    struct store *store = NULL;
    char *msg = NULL;
    int r = store_open(database, &store, &msg);

    if (r < 0)
        fail_msg("store_open: %d %s", r, msg ? msg : "(no message)");
    assert_null(msg);
    return store;
}

/* The first column of the first row of sql on the database name, as an integer. */
static long long
query_int(const char *name, const char *sql)
{
    char conninfo[512];
    PGconn *conn;
    PGresult *res;
    long long v;

    pgtest_conninfo(name, conninfo, sizeof(conninfo));
    conn = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(conn);
    return v;
}

/* Sleeps 10 ms (a poll of the server's state, bounded by WAIT_MS). */
static void
nap(void)
{
    struct timespec ts = {0, 10 * 1000 * 1000};
    (void)nanosleep(&ts, NULL);
}

/* One of the threads that open a new database at once. */
struct opener {
    const char *database;
    pthread_barrier_t *start;
    int r;
    char *msg;
};

static void *
opener_run(void *arg)
{
    struct opener *o = arg;
    struct store *store = NULL;

    (void)pthread_barrier_wait(o->start);
    o->r = store_open(o->database, &store, &o->msg);
    store_free(store);
    return NULL;
}

/*
 * Several daemons opening a new database at once: one migrates, and the others, let in by the
 * advisory lock after it, find the schema there and open it (without the lock two would
 * create the same tables and one would fail).
 */
static void
test_store_pg_migrates_once(void **state)
{
    enum { N = 4 };
    struct pg_db *db = *state;
    struct opener openers[N];
    pthread_t threads[N];
    pthread_barrier_t start;

    assert_int_equal(pthread_barrier_init(&start, NULL, N), 0);
    for (int i = 0; i < N; i++) {
        openers[i] = (struct opener){.database = db->database, .start = &start};
        assert_int_equal(pthread_create(&threads[i], NULL, opener_run, &openers[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        if (openers[i].r < 0)
            fail_msg("opener %d: %d %s", i, openers[i].r, openers[i].msg ? openers[i].msg : "");
        assert_null(openers[i].msg);
    }
    (void)pthread_barrier_destroy(&start);
    assert_int_equal(query_int(db->name, "SELECT version FROM feedwatch_schema"), 8);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM feedwatch_schema"), 1);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM retention"), 1);
}

static void *
open_in_thread(void *arg)
{
    struct opener *o = arg;
    struct store *store = NULL;

    o->r = store_open(o->database, &store, &o->msg);
    store_free(store);
    return NULL;
}

/*
 * The migration waits for the documented advisory lock ("FWDB" << 32 | 1): while another
 * session holds it, the open waits on it, and goes on once it is released.
 */
static void
test_store_pg_migration_lock_key(void **state)
{
    struct pg_db *db = *state;
    struct opener o = {.database = db->database};
    char conninfo[512];
    pthread_t thread;
    PGconn *conn;
    PGresult *res;
    int waited = 0;

    pgtest_conninfo(db->name, conninfo, sizeof(conninfo));
    conn = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    res = PQexec(conn, "SELECT pg_advisory_lock(5068594955887312897)"); /* 0x4657444200000001 */
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    assert_int_equal(pthread_create(&thread, NULL, open_in_thread, &o), 0);
    /* An advisory lock on a bigint key: classid the high half, objid the low, objsubid 1. */
    while (query_int(db->name, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                               " AND NOT granted AND classid = 1180124226 AND objid = 1"
                               " AND objsubid = 1") != 1) {
        assert_true(waited++ < WAIT_MS / 10);
        nap();
    }
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM pg_tables WHERE tablename ="
                                         " 'feedwatch_schema'"),
                     0);
    res = PQexec(conn, "SELECT pg_advisory_unlock(5068594955887312897)");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    assert_int_equal(pthread_join(thread, NULL), 0);
    PQfinish(conn);
    if (o.r < 0)
        fail_msg("open: %d %s", o.r, o.msg ? o.msg : "");
    assert_int_equal(query_int(db->name, "SELECT version FROM feedwatch_schema"), 8);
}

/* A database of a newer feedwatch, or of another program, is refused, and left as it is. */
static void
test_store_pg_refuses_newer_schema(void **state)
{
    struct pg_db *db = *state;
    struct store *store = open_store(db->database);
    char *msg = NULL;

    store_free(store);
    store = NULL;
    pgtest_exec(db->name, "UPDATE feedwatch_schema SET version = version + 1");
    assert_int_equal(store_open(db->database, &store, &msg), -EPROTONOSUPPORT);
    assert_null(store);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "database schema 9 is newer than this feedwatch (8)"));
    free(msg);
    msg = NULL;
    assert_int_equal(store_open_reader(db->database, &store, &msg), -EPROTONOSUPPORT);
    assert_non_null(strstr(msg, "database schema 9, not 8"));
    free(msg);
    msg = NULL;
    assert_int_equal(query_int(db->name, "SELECT version FROM feedwatch_schema"), 9);

    /* Another program's tables: not migrated over. */
    pgtest_exec(db->name, "DROP TABLE feedwatch_schema");
    assert_int_equal(store_open(db->database, &store, &msg), -EPROTONOSUPPORT);
    assert_non_null(strstr(msg, "not a feedwatch database"));
    free(msg);
}

/* A password in the connection string never reaches a message, in either form. */
static void
test_store_pg_message_hides_password(void **state)
{
    struct pg_db *db = *state;
    struct store *store = NULL;
    char database[600], missing[512], *msg = NULL;

    /* The server is there, the database is not (the test server trusts every user). */
    (void)db;
    pgtest_conninfo("fwt_not_there", missing, sizeof(missing));
    (void)snprintf(database, sizeof(database), "%s password='s3cretpw'", missing);
    assert_int_equal(store_open(database, &store, &msg), -ENOENT);
    assert_null(store);
    assert_non_null(msg);
    assert_null(strstr(msg, "s3cretpw"));
    assert_non_null(strstr(msg, "password=***"));
    assert_non_null(strstr(msg, "does not exist"));
    assert_null(strchr(msg, '\n')); /* one line, whatever libpq's message spans */
    free(msg);
    msg = NULL;
    assert_true(store_open_reader(database, &store, &msg) < 0);
    assert_null(strstr(msg, "s3cretpw"));
    free(msg);
    msg = NULL;

    /* The URI form, to a server that is not there. */
    assert_int_equal(store_open("postgresql://u:s3cretpw@%2Fnonexistent%2Ffwpg/db", &store, &msg),
                     -ECONNREFUSED);
    assert_null(strstr(msg, "s3cretpw"));
    assert_null(strchr(msg, '\n'));
    assert_non_null(strstr(msg, "postgresql://***@"));
    free(msg);
    msg = NULL;

    /*
     * Values libpq cannot read: its own message quotes the part it stopped at, here the
     * password (review18 F8). store_supports (--check) and the opens say so without it.
     */
    const char *const unreadable[] = {
        "postgresql://feedwatch:Sup3r%Secret@/postgres?host=/nonexistent",
        "host=/nonexistent dbname=x password=Sup3r Secret",
    };
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(store_supports(unreadable[i], &msg), -EINVAL);
        assert_non_null(msg);
        assert_null(strstr(msg, "Secret"));
        assert_non_null(strstr(msg, "not a connection string"));
        free(msg);
        msg = NULL;
        assert_int_equal(store_open(unreadable[i], &store, &msg), -EINVAL);
        assert_null(store);
        assert_non_null(msg);
        assert_null(strstr(msg, "Secret"));
        free(msg);
        msg = NULL;
    }
}

/*
 * The backend pid of the store's connection (its application name is feedwatch's); the
 * cases end it with pg_terminate_backend(pid, timeout), which waits until it is gone.
 */
static long long
store_backend(const char *name)
{
    char sql[256];

    (void)snprintf(sql, sizeof(sql),
                   "SELECT pid FROM pg_stat_activity WHERE datname = '%s'"
                   " AND application_name = 'feedwatch'",
                   name);
    return query_int(name, sql);
}

/*
 * A connection the server drops is an error the caller sees inside a transaction: the
 * transaction is gone (every call fails until the rollback); outside one, the store connects
 * again, its statements prepared anew.
 */
static void
test_store_pg_lost_connection(void **state)
{
    struct pg_db *db = *state;
    struct store *store = open_store(db->database);
    struct store_feed feed = {0};
    char sql[128];
    int64_t n = -1;

    assert_int_equal(store_feed_ensure(store, "kept", "https://example.org/k.xml", &feed), 0);
    store_feed_done(&feed);
    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_feed_ensure(store, "lost", "https://example.org/l.xml", &feed), 0);
    store_feed_done(&feed);
    (void)snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld, 30000)",
                   store_backend(db->name));
    pgtest_exec(db->name, sql);
    assert_int_equal(store_count_items(store, &n), -ECONNRESET);
    assert_non_null(strstr(store_errmsg(store), "lost"));
    assert_int_equal(store_commit(store), -ECONNRESET);
    store_rollback(store);
    assert_int_equal(store_count_items(store, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_feed_ensure(store, "lost", "https://example.org/l.xml", &feed), 0);
    int64_t id = feed.id;
    assert_true(id > 0);
    store_feed_done(&feed);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM feeds"), 2);

    /*
     * Lost outside a transaction (a server restart while the daemon was idle): a read or a
     * BEGIN connects again and goes on; a write fails, and the next call connects again.
     */
    (void)snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld, 30000)",
                   store_backend(db->name));
    pgtest_exec(db->name, sql);
    assert_int_equal(store_count_items(store, &n), 0);
    assert_int_equal(n, 0);
    (void)snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld, 30000)",
                   store_backend(db->name));
    pgtest_exec(db->name, sql);
    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_feed_set_runtime_opts(store, id, "{\"a\":1}"), 0);
    assert_int_equal(store_commit(store), 0);
    (void)snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld, 30000)",
                   store_backend(db->name));
    pgtest_exec(db->name, sql);
    assert_int_equal(store_feed_set_runtime_opts(store, id, "{}"), -ECONNRESET);
    assert_int_equal(store_feed_set_runtime_opts(store, id, "{}"), 0);
    store_free(store);
}

/* store_check: a whole schema passes; a missing or invalid index is named. */
static void
test_store_pg_check(void **state)
{
    struct pg_db *db = *state;
    struct store *store = open_store(db->database);
    char *msg = NULL;

    assert_int_equal(store_check(store, &msg), 0);
    assert_null(msg);
    pgtest_exec(db->name, "DROP INDEX items_unpruned");
    assert_int_equal(store_check(store, &msg), -EBADMSG);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "missing: items_unpruned"));
    free(msg);
    msg = NULL;
    pgtest_exec(db->name, "UPDATE pg_index SET indisvalid = false"
                          " WHERE indexrelid = 'deliveries_due'::regclass");
    pgtest_exec(db->name, "CREATE INDEX items_unpruned ON items (first_seen_at)"
                          " WHERE pruned_at IS NULL");
    assert_int_equal(store_check(store, &msg), -EBADMSG);
    assert_non_null(strstr(msg, "index not valid: deliveries_due"));
    free(msg);
    store_free(store);
}

struct story_seen {
    int n;
    uint64_t simhash;
};

static int
on_story(void *userdata, int64_t alert_id, uint64_t simhash, int64_t feed_id)
{
    struct story_seen *seen = userdata;

    assert_true(alert_id > 0 && feed_id > 0);
    seen->simhash = simhash;
    seen->n++;
    return 0;
}

/*
 * A signature with its top bit set is stored as a negative bigint and comes back as the same
 * 64 bits, and its bands (the top one from the sign bits) find it.
 */
static void
test_store_pg_simhash_top_bit(void **state)
{
    const uint64_t sig = UINT64_C(0xfedcba9876543210);
    struct pg_db *db = *state;
    struct store *store = open_store(db->database);
    struct store_feed a = {0}, b = {0};
    struct feed_item item = {.key = "k", .published_at = 1, .updated_at = FEED_TIME_NONE};
    struct story_seen seen = {0};
    int64_t id = 0, alert = 0;

    assert_int_equal(store_feed_ensure(store, "a", "https://example.org/a.xml", &a), 0);
    assert_int_equal(store_feed_ensure(store, "b", "https://example.org/b.xml", &b), 0);
    assert_int_equal(store_item_add(store, a.id, &item, "text", sig, 1000, &id), 1);
    assert_int_equal(store_alert_add(store, "t", id, "[]", NULL, 0, 1000, &alert), 1);
    assert_true(query_int(db->name, "SELECT simhash FROM items") < 0);
    /* Only the top band (bits 54..63) agrees: the others are flipped. */
    uint64_t probe = (sig & (UINT64_C(1023) << 54)) | (~sig & ((UINT64_C(1) << 54) - 1));
    assert_int_equal(store_story_candidates(store, "t", 0, probe, b.id, on_story, &seen, NULL), 0);
    assert_int_equal(seen.n, 1);
    assert_true(seen.simhash == sig);
    /* Its own feed's items are not candidates. */
    seen.n = 0;
    assert_int_equal(store_story_candidates(store, "t", 0, sig, a.id, on_story, &seen, NULL), 0);
    assert_int_equal(seen.n, 0);
    store_feed_done(&a);
    store_feed_done(&b);
    store_free(store);
}

/*
 * The search index's queue (schema 2): every stored item waits in it until an indexer takes
 * it, those stored before the migration to 2 included.
 */
static void
test_store_pg_search_queue(void **state)
{
    struct pg_db *db = *state;
    struct store *store = open_store(db->database);
    struct store_feed feed = {0};
    struct feed_item one = {.key = "1", .published_at = 1, .updated_at = FEED_TIME_NONE};
    struct feed_item two = {.key = "2", .published_at = 2, .updated_at = FEED_TIME_NONE};
    struct feed_item three = {.key = "3", .published_at = 3, .updated_at = FEED_TIME_NONE};
    char *msg = NULL;

    assert_int_equal(store_feed_ensure(store, "a", "https://example.org/a.xml", &feed), 0);
    assert_int_equal(store_item_add(store, feed.id, &one, "text", 0, 1000, NULL), 1);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM search_queue"), 1);
    store_free(store);
    /* A database of schema 1: no search tables (nor clusters), an item stored without them. */
    pgtest_exec(db->name, "DROP TABLE story_keys; ALTER TABLE alerts DROP COLUMN story_sig");
    pgtest_exec(db->name, "DROP TABLE feed_skips; DROP TRIGGER feeds_state_changed ON feeds;"
                          " DROP FUNCTION feedwatch_feed_changed();"
                          " ALTER TABLE feeds DROP COLUMN state_xid, DROP COLUMN bucket");
    pgtest_exec(db->name,
                "DROP TRIGGER item_versions_pruned ON items; DROP FUNCTION item_versions_pruned();"
                " DROP TABLE item_versions; ALTER TABLE items DROP COLUMN fingerprint,"
                " DROP COLUMN edited_at;"
                "DROP TABLE hook_batches; DROP INDEX items_feed_url; DROP TABLE event_deliveries, "
                "feed_events;"
                " ALTER TABLE feeds DROP COLUMN move_url,"
                " DROP COLUMN move_seen, DROP COLUMN last_new_at, DROP COLUMN new_gap,"
                " DROP COLUMN stalled, DROP COLUMN doc_items, DROP COLUMN life;"
                "DROP TABLE nodes; DROP INDEX feeds_due; ALTER TABLE feeds DROP COLUMN lease_node,"
                " DROP COLUMN lease_until, DROP COLUMN lease_epoch, DROP COLUMN host;"
                " ALTER TABLE deliveries DROP COLUMN lease_node, DROP COLUMN lease_until");
    pgtest_exec(db->name, "DROP TRIGGER items_search_enqueue ON items;"
                          " DROP FUNCTION feedwatch_search_enqueue();"
                          " DROP TABLE search_docs, search_queue;"
                          " UPDATE feedwatch_schema SET version = 1");
    store = NULL;
    /* Stored while the database was at 1 (by hand: no store opens it without migrating). */
    pgtest_exec(db->name, "INSERT INTO items (feed_id, key, first_seen_at)"
                          " SELECT id, '2', 1000 FROM feeds");
    if (store_open(db->database, &store, &msg) < 0)
        fail_msg("open: %s", msg ? msg : "?");
    assert_int_equal(query_int(db->name, "SELECT version FROM feedwatch_schema"), 8);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM search_queue"), 2);
    assert_int_equal(store_item_add(store, feed.id, &two, "text", 0, 1000, NULL), 0); /* known */
    assert_int_equal(store_item_add(store, feed.id, &three, "text", 0, 1000, NULL), 1);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM search_queue"), 3);
    store_feed_done(&feed);
    store_free(store);
}

/* The feeds a claim gave: their ids and epochs. */
struct claimed {
    int n;
    int64_t ids[64];
    int64_t epochs[64];
    char names[64][16];
};

static int
on_claimed(void *userdata, const struct store_feed *feed)
{
    struct claimed *c = userdata;

    assert_true(c->n < 64);
    assert_true(feed->lease_epoch > 0);
    c->ids[c->n] = feed->id;
    c->epochs[c->n] = feed->lease_epoch;
    (void)snprintf(c->names[c->n], sizeof(c->names[0]), "%s", feed->name);
    c->n++;
    return 0;
}

static struct claimed
claim(struct store *store, const char *node, unsigned limit, int64_t only_id)
{
    struct claimed c = {0};
    int n = store_feeds_claim(store, node, 60, limit, NULL, 0, only_id, on_claimed, &c);

    if (n < 0)
        fail_msg("claim: %d %s", n, store_errmsg(store));
    assert_int_equal(n, c.n);
    return c;
}

/* What a node has in hand: n feeds of ids. */
#define FEEDS_HAND(ids, n) ((struct store_node_hand){.feed_ids = (ids), .n_feeds = (n)})

/* A node of the tests: name, a life of its own, this machine. */
static struct store_node_self
node_self(const char *name, const char *instance)
{
    return (struct store_node_self){.name = name,
                                    .instance = instance,
                                    .host_name = "test-host",
                                    .config_hash = "hash",
                                    .pid = 1,
                                    .started_at = 100,
                                    .lease_s = 60};
}

/* Joins as name's life instance, refused when a live row is another life's. */
static int
refuse_other_life(void *userdata, const struct store_node *row)
{
    const char *instance = userdata;

    return row->alive && row->instance && strcmp(row->instance, instance) != 0 ? -EADDRINUSE : 0;
}

static int
join(struct store *store, const char *name, const char *instance, int64_t *ret_now)
{
    struct store_node_self self = node_self(name, instance);

    return store_node_join(store, &self, 3600, refuse_other_life, (void *)instance, ret_now);
}

static int
on_node(void *userdata, const struct store_node *node)
{
    struct store_node *out = userdata;

    for (int i = 0; i < 2; i++)
        if (strcmp(node->name, i ? "b" : "a") == 0) {
            out[i] = *node;
            out[i].name = out[i].config_hash = out[i].instance = out[i].host_name = NULL;
        }
    return 0;
}

/*
 * Clusters: two nodes share the due feeds by host (each host to one node, every feed leased
 * once); a node that dies loses its hosts once its beat is older than its lease, and the
 * other takes its feeds once their leases end; a save under a lease that was taken over is
 * refused and changes nothing; a node that leaves frees its leases at once.
 */
static void
test_store_pg_cluster_leases(void **state)
{
    struct pg_db *db = *state;
    struct store *store = open_store(db->database);
    struct store_node nodes[2];
    int64_t now = 0;

    assert_true(store_clustered(store));
    for (int i = 0; i < 40; i++) {
        char name[16], url[64];
        struct store_feed f = {0};

        (void)snprintf(name, sizeof(name), "f%02d", i);
        (void)snprintf(url, sizeof(url), "https://h%d.example/%d.xml", i % 10, i);
        assert_int_equal(store_feed_ensure(store, name, url, &f), 0);
        store_feed_done(&f);
    }
    assert_int_equal(join(store, "a", "a1", &now), 0);
    assert_true(now > 1700000000);
    assert_int_equal(join(store, "b", "b1", NULL), 0);
    struct claimed a = claim(store, "a", 64, 0), b = claim(store, "b", 64, 0);
    assert_int_equal(a.n + b.n, 40); /* all of them, each once */
    assert_true(a.n > 0 && b.n > 0);
    for (int i = 0; i < a.n; i++)
        for (int j = 0; j < b.n; j++) {
            assert_true(a.ids[i] != b.ids[j]);
            /* A host is one node's: f07 and f17 are both h7's. */
            assert_true(atoi(a.names[i] + 1) % 10 != atoi(b.names[j] + 1) % 10);
        }
    /* Leased and in a's hands: nothing more is due, to a or to b. */
    struct claimed again = {0};
    assert_int_equal(
        store_feeds_claim(store, "a", 60, 64, a.ids, (size_t)a.n, 0, on_claimed, &again), 0);
    assert_int_equal(
        store_feeds_claim(store, "b", 60, 64, b.ids, (size_t)b.n, 0, on_claimed, &again), 0);
    /*
     * A lease of its own that a node no longer has in hand (a claim it dropped) it takes again,
     * once not renewed for 5 s: one just made (another claim of the node's, its poll not in
     * the hand it told yet: review19 F7) is left alone.
     */
    assert_int_equal(
        store_feeds_claim(store, "b", 60, 1, b.ids + 1, (size_t)b.n - 1, 0, on_claimed, &again), 0);
    char sql[160];
    (void)snprintf(sql, sizeof(sql),
                   "UPDATE feeds SET lease_until = lease_until - 6 WHERE id = %lld",
                   (long long)b.ids[0]);
    pgtest_exec(db->name, sql);
    assert_int_equal(
        store_feeds_claim(store, "b", 60, 1, b.ids + 1, (size_t)b.n - 1, 0, on_claimed, &again), 1);
    assert_int_equal(again.ids[0], b.ids[0]);
    assert_true(again.epochs[0] > b.epochs[0]);
    b.epochs[0] = again.epochs[0];
    memset(nodes, 0, sizeof(nodes));
    assert_int_equal(store_nodes_list(store, on_node, nodes), 0);
    assert_true(nodes[0].alive && nodes[1].alive);
    assert_int_equal(nodes[0].feed_leases, a.n);
    assert_int_equal(nodes[1].feed_leases, b.n);

    /* b dies: its beat and its leases grow old. a takes its feeds, with a new epoch. */
    pgtest_exec(db->name, "UPDATE nodes SET seen_at = seen_at - 120 WHERE name = 'b';"
                          " UPDATE feeds SET lease_until = lease_until - 120"
                          " WHERE lease_node = 'b'");
    struct claimed taken = {0};
    assert_int_equal(
        store_feeds_claim(store, "a", 60, 64, a.ids, (size_t)a.n, 0, on_claimed, &taken), b.n);
    assert_int_equal(taken.n, b.n);
    for (int i = 0; i < taken.n; i++)
        assert_true(taken.epochs[i] > 0);
    /* b's poll of one of them ends late: its save is refused, a's goes through. */
    struct store_feed st = {0};
    assert_int_equal(store_feed_ensure(store, b.names[0], "https://unused.example/", &st), 0);
    st.etag = strdup("\"from-b\"");
    st.lease_epoch = b.epochs[0];
    assert_int_equal(store_feed_save(store, &st), -ESTALE);
    assert_non_null(strstr(store_errmsg(store), "lease"));
    for (int i = 0; i < taken.n; i++)
        if (taken.ids[i] == st.id)
            st.lease_epoch = taken.epochs[i];
    assert_true(st.lease_epoch > b.epochs[0]);
    free(st.etag);
    st.etag = strdup("\"from-a\"");
    st.next_poll_at = now + 3600;
    assert_int_equal(store_feed_save(store, &st), 0);
    store_feed_done(&st);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM feeds WHERE etag = '\"from-a\"'"
                                         " AND lease_node IS NULL"),
                     1);

    /* `poll NAME`: a feed not due (its next poll an hour away) is claimed when asked for. */
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM feeds WHERE lease_node IS NULL"), 1);
    int64_t id = query_int(db->name, "SELECT id FROM feeds WHERE lease_node IS NULL");
    assert_int_equal(claim(store, "b", 64, 0).n, 0);
    struct claimed one = claim(store, "b", 64, id);
    assert_int_equal(one.n, 1);
    assert_int_equal(one.ids[0], id);

    /* a leaves: its leases end at once, and it is not alive. */
    struct store_node_self a1 = node_self("a", "a1");
    assert_int_equal(store_node_leave(store, &a1), 0);
    memset(nodes, 0, sizeof(nodes));
    assert_int_equal(store_nodes_list(store, on_node, nodes), 0);
    assert_false(nodes[0].alive);
    assert_int_equal(nodes[0].feed_leases, 0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM feeds WHERE lease_node = 'a'"), 0);
    store_free(store);
}

/*
 * A node's lives: a second daemon given a live node's name is refused at its join, and the
 * first's leases stand; once the first stops beating for longer than its lease the second
 * takes the name (the first's leases end), after which the first's beat is refused
 * (-EADDRINUSE) and its leave ends nothing of the second's. A node not alive for longer than
 * the prune age is forgotten, with its skips.
 */
static void
test_store_pg_node_lives(void **state)
{
    struct pg_db *db = *state;
    struct store *store = open_store(db->database);
    struct store_node_self one = node_self("n", "life-1"), two = node_self("n", "life-2");
    struct store_feed f = {0};

    assert_int_equal(store_feed_ensure(store, "f", "https://h.example/f.xml", &f), 0);
    assert_int_equal(join(store, "n", "life-1", NULL), 0);
    struct claimed c = claim(store, "n", 8, 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(join(store, "n", "life-2", NULL), -EADDRINUSE);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM feeds WHERE lease_node = 'n'"), 1);
    assert_int_equal(store_node_beat(store, &one, &FEEDS_HAND(c.ids, 1), NULL), 0);

    /* life-1 stops beating (frozen, or its network is cut): life-2 may take the name. */
    pgtest_exec(db->name, "UPDATE nodes SET seen_at = seen_at - 120 WHERE name = 'n'");
    assert_int_equal(join(store, "n", "life-2", NULL), 0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM feeds WHERE lease_node = 'n'"), 0);
    assert_int_equal(store_node_beat(store, &one, &FEEDS_HAND(c.ids, 1), NULL), -EADDRINUSE);
    assert_non_null(strstr(store_errmsg(store), "another daemon joined as node 'n'"));
    struct claimed c2 = claim(store, "n", 8, 0);
    assert_int_equal(c2.n, 1);
    assert_int_equal(store_node_leave(store, &one), 0); /* not life-1's any more: nothing */
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM feeds WHERE lease_node = 'n'"), 1);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM nodes WHERE name = 'n'"
                                         " AND seen_at > 0 AND instance = 'life-2'"),
                     1);
    assert_int_equal(store_node_beat(store, &two, &FEEDS_HAND(c2.ids, 1), NULL), 0);
    assert_int_equal(store_node_leave(store, &two), 0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM nodes WHERE name = 'n'"
                                         " AND seen_at = 0 AND left_at > 0"),
                     1);

    /* Forgotten a day after it left (here: an hour, the prune age of join()), skips too. */
    assert_int_equal(store_feeds_skip(store, "n", false, &f.id, 1), 0);
    assert_int_equal(join(store, "m", "m1", NULL), 0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM nodes WHERE name = 'n'"), 1);
    pgtest_exec(db->name, "UPDATE nodes SET left_at = left_at - 7200 WHERE name = 'n'");
    assert_int_equal(store_nodes_prune(store, 3600), 0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM nodes WHERE name = 'n'"), 0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM feed_skips"), 0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM nodes WHERE name = 'm'"), 1);
    store_feed_done(&f);
    store_free(store);
}

/*
 * A feed that its host's node cannot poll (not in its config, or off there) goes to the next
 * node of that host's order, while the host's other feeds stay with their node; the node's
 * lease on it ends when it records the skip; a join (a new config) forgets the skips.
 */
static void
test_store_pg_cluster_skips(void **state)
{
    struct pg_db *db = *state;
    struct store *store = open_store(db->database);

    for (int i = 0; i < 4; i++) {
        char name[16], url[64];
        struct store_feed f = {0};

        (void)snprintf(name, sizeof(name), "s%d", i);
        (void)snprintf(url, sizeof(url), "https://one-host.example/%d.xml", i);
        assert_int_equal(store_feed_ensure(store, name, url, &f), 0);
        store_feed_done(&f);
    }
    assert_int_equal(join(store, "a", "a1", NULL), 0);
    assert_int_equal(join(store, "b", "b1", NULL), 0);
    struct claimed a = claim(store, "a", 8, 0), b = claim(store, "b", 8, 0);
    assert_int_equal(a.n + b.n, 4);
    assert_true(a.n == 0 || b.n == 0); /* one host: one node */
    const char *owner = a.n ? "a" : "b", *other = a.n ? "b" : "a";
    struct claimed *own = a.n ? &a : &b;

    /* The owner cannot poll its first feed: its lease ends, and the other node claims it. */
    assert_int_equal(store_feeds_skip(store, owner, false, own->ids, 1), 0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM feeds WHERE lease_node IS NULL"), 1);
    struct claimed o = claim(store, other, 8, 0);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.ids[0], own->ids[0]);
    struct claimed none = {0};
    assert_int_equal(store_feeds_claim(store, owner, 60, 8, own->ids + 1, 3, 0, on_claimed, &none),
                     0);

    /* Due again: the skipped feed stays the other's, the rest the owner's. */
    pgtest_exec(db->name, "UPDATE feeds SET lease_node = NULL, lease_until = NULL");
    assert_int_equal(claim(store, other, 8, 0).n, 1);
    assert_int_equal(claim(store, owner, 8, 0).n, 3);

    /* Both nodes skip it: nobody polls it. A join of the owner forgets its skips. */
    pgtest_exec(db->name, "UPDATE feeds SET lease_node = NULL, lease_until = NULL");
    assert_int_equal(store_feeds_skip(store, other, false, own->ids, 1), 0);
    assert_int_equal(claim(store, other, 8, 0).n, 0);
    assert_int_equal(claim(store, owner, 8, 0).n, 3);
    pgtest_exec(db->name, "UPDATE feeds SET lease_node = NULL, lease_until = NULL");
    assert_int_equal(join(store, owner, strcmp(owner, "a") == 0 ? "a1" : "b1", NULL), 0);
    assert_int_equal(claim(store, owner, 8, 0).n, 4);
    /* A clear (a reload) forgets them too. */
    assert_int_equal(store_feeds_skip(store, other, true, NULL, 0), 0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM feed_skips"), 0);
    store_free(store);
}

#define CHANGED_MAX 64
struct changed {
    int n;
    char names[CHANGED_MAX][16];
    bool paused[CHANGED_MAX];
};

static int
on_changed(void *userdata, const struct store_feed *feed)
{
    struct changed *c = userdata;

    if (c->n < CHANGED_MAX) {
        (void)snprintf(c->names[c->n], sizeof(c->names[0]), "%s", feed->name);
        c->paused[c->n] = feed->paused;
    }
    c->n++;
    return 0;
}

/* Whether the changes c gave hold feed name, paused or not as asked. */
static bool
changed_has(const struct changed *c, const char *name, bool paused)
{
    for (int i = 0; i < c->n && i < CHANGED_MAX; i++)
        if (strcmp(c->names[i], name) == 0 && c->paused[i] == paused)
            return true;
    return false;
}

/*
 * The feeds another node changed: a poll's save and a pause are seen once they are
 * committed (not before), a claim (leases only) is no change, and the position moves on. The
 * server is shared with other tests running at once: a transaction of theirs may hold the
 * position back, so a row may come twice (never missed): the checks are on what comes.
 */
static void
test_store_pg_feeds_changed(void **state)
{
    struct pg_db *db = *state;
    struct store *store = open_store(db->database), *other = open_store(db->database);
    struct store_feed x = {0}, y = {0};
    struct store_changes_pos since = {0};

    assert_int_equal(store_feed_ensure(store, "x", "https://x.example/f.xml", &x), 0);
    assert_int_equal(store_feed_ensure(store, "y", "https://y.example/f.xml", &y), 0);
    struct changed c = {0};
    assert_true(store_feeds_changed(store, &since, 100, on_changed, &c) >= 2); /* new rows */
    assert_true(changed_has(&c, "x", false) && changed_has(&c, "y", false));
    assert_true(since.since > 0 || since.sweep_xmin > 0);

    /* A claim writes leases only: the rows' change stamps stay. */
    int64_t before = query_int(db->name, "SELECT sum(state_xid::text::bigint) FROM feeds");
    assert_int_equal(join(store, "a", "a1", NULL), 0);
    assert_int_equal(claim(store, "a", 8, 0).n, 2);
    assert_int_equal(query_int(db->name, "SELECT sum(state_xid::text::bigint) FROM feeds"), before);

    /* Another node pauses y in a transaction not committed yet: not seen, then seen. */
    assert_int_equal(store_begin(other), 0);
    assert_int_equal(store_feed_set_state(other, y.id, true, 0, NULL), 0);
    c = (struct changed){0};
    assert_true(store_feeds_changed(store, &since, 100, on_changed, &c) >= 0);
    assert_false(changed_has(&c, "y", true));
    assert_int_equal(store_commit(other), 0);
    c = (struct changed){0};
    assert_true(store_feeds_changed(store, &since, 100, on_changed, &c) >= 1);
    assert_true(changed_has(&c, "y", true));
    store_feed_done(&x);
    store_feed_done(&y);
    store_free(other);
    store_free(store);
}

/*
 * review19 F8: a transaction left open holds the oldest running transaction back, and more
 * feeds than a read takes change meanwhile: each read goes on from the last, so all of them
 * come (before, every read gave the same first page for as long as the transaction ran).
 */
static void
test_store_pg_feeds_changed_long_transaction(void **state)
{
    struct pg_db *db = *state;
    struct store *store = open_store(db->database), *other = open_store(db->database);
    struct store_feed z = {0};
    struct store_changes_pos pos = {0};
    struct changed c = {0};
    char name[16], url[64];

    assert_int_equal(store_feed_ensure(store, "z", "https://z.example/f.xml", &z), 0);
    while (store_feeds_changed(store, &pos, 100, on_changed, &c) == 100)
        ;
    assert_int_equal(store_begin(other), 0);
    assert_int_equal(store_feed_set_state(other, z.id, true, 0, NULL), 0); /* held open */
    for (int i = 0; i < 7; i++) {
        struct store_feed f = {0};
        snprintf(name, sizeof(name), "f%d", i);
        snprintf(url, sizeof(url), "https://f%d.example/f.xml", i);
        assert_int_equal(store_feed_ensure(store, name, url, &f), 0);
        store_feed_done(&f);
    }
    c = (struct changed){0};
    for (int k = 0; k < 8; k++)
        assert_true(store_feeds_changed(store, &pos, 2, on_changed, &c) >= 0);
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        assert_true(changed_has(&c, name, false));
    }
    assert_false(changed_has(&c, "z", true)); /* not committed yet */
    assert_int_equal(store_commit(other), 0);
    c = (struct changed){0};
    for (int k = 0; k < 8 && !changed_has(&c, "z", true); k++)
        assert_true(store_feeds_changed(store, &pos, 2, on_changed, &c) >= 0);
    assert_true(changed_has(&c, "z", true));
    store_feed_done(&z);
    store_free(other);
    store_free(store);
}

struct story_locker {
    struct store *store;
    atomic_int got; /* 1 once the lock is this session's */
};

static void *
story_lock_run(void *arg)
{
    struct story_locker *l = arg;

    assert_int_equal(store_begin(l->store), 0);
    assert_int_equal(store_story_lock(l->store), 0);
    atomic_store(&l->got, 1);
    assert_int_equal(store_commit(l->store), 0);
    return NULL;
}

/*
 * Story grouping across nodes: while one node's transaction holds the lock of story grouping
 * (it may be raising a story's alert), another node's lookup waits until it ends, and so sees
 * that alert (else both raise one for the same story).
 */
static void
test_store_pg_story_lock(void **state)
{
    struct pg_db *db = *state;
    struct store *a = open_store(db->database);
    struct story_locker b = {.store = open_store(db->database)};
    pthread_t thread;

    assert_int_equal(store_begin(a), 0);
    assert_int_equal(store_story_lock(a), 0);
    assert_int_equal(store_story_lock(a), 0); /* again in one transaction: no wait */
    assert_int_equal(pthread_create(&thread, NULL, story_lock_run, &b), 0);
    (void)usleep(300 * 1000);
    assert_int_equal(atomic_load(&b.got), 0);
    assert_int_equal(store_commit(a), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(atomic_load(&b.got), 1);
    store_free(b.store);
    store_free(a);
}

/* The deliveries a claim gave. */
struct dclaimed {
    int n;
    int64_t alerts[16];
    char hooks[16][8];
    unsigned attempts[16];
};

static int
on_dclaimed(void *userdata, int64_t alert_id, const char *hook, unsigned attempts)
{
    struct dclaimed *c = userdata;

    assert_true(c->n < 16);
    c->alerts[c->n] = alert_id;
    (void)snprintf(c->hooks[c->n], sizeof(c->hooks[0]), "%s", hook);
    c->attempts[c->n++] = attempts;
    return 0;
}

static char *both_hooks[] = {"h1", "h2"};

/* A claim by node of at most limit deliveries to the n_hooks hooks it has. */
static struct dclaimed
dclaim_of(struct store *store, const char *node, unsigned limit, char **hooks, size_t n_hooks)
{
    struct dclaimed c = {0};
    int r = store_deliveries_claim(store, node, 2000, 60, limit, hooks, n_hooks, on_dclaimed, &c);

    if (r < 0)
        fail_msg("claim: %s", store_errmsg(store));
    assert_int_equal(r, c.n);
    return c;
}

static struct dclaimed
dclaim(struct store *store, const char *node, unsigned limit)
{
    return dclaim_of(store, node, limit, both_hooks, 2);
}

/*
 * Hook deliveries across nodes: two nodes claim disjoint deliveries, even while one's claim
 * is not committed yet (SKIP LOCKED, no wait); a running delivery of a dead node (its lease
 * ended) is claimed by the other with its attempt counted, a live node's is not; the
 * delivery's next state ends its lease; one not due yet is not claimed.
 */
static void
test_store_pg_deliveries_claim(void **state)
{
    struct pg_db *db = *state;
    struct store *store = open_store(db->database), *other = open_store(db->database);
    struct store_feed feed = {0};
    char *hooks[] = {"h1", "h2"};
    int64_t alerts[4];

    assert_int_equal(store_feed_ensure(store, "f", "https://example.org/f.xml", &feed), 0);
    for (int i = 0; i < 4; i++) {
        char key[8];
        struct feed_item item = {.key = key, .published_at = 1, .updated_at = FEED_TIME_NONE};
        int64_t id;

        (void)snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(store_item_add(store, feed.id, &item, "text", 0, 1000, &id), 1);
        /* The last alert's deliveries are due later than the claims' now (2000). */
        assert_int_equal(
            store_alert_add(store, "t", id, "[]", hooks, 2, i == 3 ? 5000 : 1000 + i, &alerts[i]),
            1);
    }
    store_feed_done(&feed);
    assert_int_equal(join(store, "b", "b1", NULL), 0);
    assert_int_equal(join(other, "a", "a1", NULL), 0);
    /* A node whose config lacks h2 claims only h1's (review19 F2: it failed h2's for good). */
    assert_int_equal(store_begin(store), 0);
    struct dclaimed h1only = dclaim_of(store, "b", 16, both_hooks, 1);
    assert_int_equal(h1only.n, 3);
    for (int i = 0; i < h1only.n; i++)
        assert_string_equal(h1only.hooks[i], "h1");
    store_rollback(store);

    /* a's claim is open (not committed) while b claims: b takes the others at once. */
    assert_int_equal(store_begin(other), 0);
    struct dclaimed a = dclaim(other, "a", 2);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.alerts[0], alerts[0]); /* in due order */
    assert_int_equal(a.alerts[1], alerts[0]);
    struct dclaimed b = dclaim(store, "b", 16);
    assert_int_equal(b.n, 4); /* alerts 1 and 2, both hooks; alert 3 is not due */
    assert_int_equal(store_commit(other), 0);
    for (int i = 0; i < b.n; i++) {
        assert_true(b.alerts[i] == alerts[1] || b.alerts[i] == alerts[2]);
        assert_int_equal(b.attempts[i], 0);
    }
    assert_int_equal(dclaim(store, "a", 16).n, 0); /* every due one is leased */
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM deliveries WHERE state = 'running'"
                                         " AND lease_node = 'a' AND attempts = 1"),
                     2);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM alerts WHERE state = 'running'"), 3);

    /* a dies: its leases end. b takes its running deliveries, a second attempt; a does not
     * take b's, whose lease goes on. */
    pgtest_exec(db->name, "UPDATE deliveries SET lease_until = lease_until - 120"
                          " WHERE lease_node = 'a'");
    struct dclaimed taken = dclaim(store, "b", 16);
    assert_int_equal(taken.n, 2);
    for (int i = 0; i < taken.n; i++) {
        assert_int_equal(taken.alerts[i], alerts[0]);
        assert_int_equal(taken.attempts[i], 1);
    }
    assert_int_equal(dclaim(store, "a", 16).n, 0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM deliveries WHERE lease_node = 'b'"),
                     6);
    /* a wakes up and writes its old attempt's outcome: refused, b's run stands (F6). */
    assert_int_equal(
        store_delivery_set(other, alerts[0], "h1", "failed", 1, FEED_TIME_NONE, "late", 2001),
        -ESTALE);
    assert_non_null(strstr(store_errmsg(other), "another node's now"));
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM deliveries WHERE lease_node = 'b'"
                                         " AND state = 'running' AND attempts = 2"),
                     2);
    /* b's beat renews only the deliveries it has in hand (F1: a delivery whose write failed
     * was renewed for as long as its node lived, and never retried). */
    struct store_node_self b1 = node_self("b", "b1");
    int64_t hand_ids[] = {alerts[1]};
    char *hand_hooks[] = {"h1"};
    pgtest_exec(db->name, "UPDATE deliveries SET lease_until = 1 WHERE lease_node = 'b'");
    assert_int_equal(store_node_beat(store, &b1,
                                     &(struct store_node_hand){.alert_ids = hand_ids,
                                                               .hooks = hand_hooks,
                                                               .n_deliveries = 1},
                                     NULL),
                     0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM deliveries WHERE lease_node = 'b'"
                                         " AND lease_until > 1"),
                     1);
    assert_int_equal(query_int(db->name, "SELECT alert_id FROM deliveries WHERE lease_until > 1"),
                     alerts[1]);
    pgtest_exec(db->name, "UPDATE deliveries SET lease_until = lease_until + 1000000000"
                          " WHERE lease_node = 'b'");

    /* Delivered, or back to pending: the lease ends with the run. */
    assert_int_equal(
        store_delivery_set(store, alerts[0], "h1", "delivered", 2, FEED_TIME_NONE, NULL, 2001), 0);
    assert_int_equal(
        store_delivery_set(store, alerts[0], "h2", "pending", 2, 2100, "exit status 1", 2001), 0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM deliveries WHERE alert_id = "
                                         "(SELECT min(id) FROM alerts) AND lease_node IS NULL"
                                         " AND lease_until IS NULL"),
                     2);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM alerts WHERE state = 'pending'"),
                     2); /* the retried one's alert, and the one not due yet */
    /* b beats and leaves: its running deliveries are pending again, for anyone. */
    assert_int_equal(store_node_beat(store, &b1, NULL, NULL), 0);
    assert_int_equal(store_node_leave(store, &b1), 0);
    assert_int_equal(dclaim(store, "a", 16).n, 4);
    store_free(other);
    store_free(store);
}

static int
on_event_claimed(void *userdata, int64_t id, const char *hook, unsigned attempts)
{
    (void)id;
    (void)hook;
    (void)attempts;
    ++*(int *)userdata;
    return 0;
}

/*
 * Feed events' deliveries are renewed by a beat only while in the node's hand, as alerts'
 * (review19 F1 for them: the beat renewed every running one of the node, so one whose write
 * failed stayed leased while its node lived, never retried); an alert's id in the hand never
 * renews the event of the same id (the two sequences are apart), nor the other way round.
 */
static void
test_store_pg_event_deliveries_in_hand(void **state)
{
    struct pg_db *db = *state;
    struct store *store = open_store(db->database);
    struct store_feed feed = {0};
    char *hooks[] = {"h1"};
    int64_t e1 = 0, e2 = 0;
    int n = 0;

    assert_int_equal(store_feed_ensure(store, "f", "https://example.org/f.xml", &feed), 0);
    assert_int_equal(
        store_feed_event_add(store, feed.id, "feed-stalled", NULL, "ok", "r1", hooks, 1, 1000, &e1),
        0);
    assert_int_equal(
        store_feed_event_add(store, feed.id, "feed-purged", NULL, "ok", "r2", hooks, 1, 1000, &e2),
        0);
    store_feed_done(&feed);
    assert_int_equal(join(store, "b", "b1", NULL), 0);
    assert_int_equal(
        store_event_deliveries_claim(store, "b", 2000, 60, 16, hooks, 1, on_event_claimed, &n), 2);
    assert_int_equal(n, 2);
    pgtest_exec(db->name, "UPDATE event_deliveries SET lease_until = 1 WHERE lease_node = 'b'");

    struct store_node_self b1 = node_self("b", "b1");
    int64_t ev_ids[] = {e1}, alert_ids[] = {e2};
    char *hand_hooks[] = {"h1"};
    /* An alert (e2, h1) in hand: no event delivery is renewed. */
    assert_int_equal(store_node_beat(store, &b1,
                                     &(struct store_node_hand){.alert_ids = alert_ids,
                                                               .hooks = hand_hooks,
                                                               .n_deliveries = 1},
                                     NULL),
                     0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM event_deliveries"
                                         " WHERE lease_until > 1"),
                     0);
    /* The event (e1, h1) in hand: that one only. */
    assert_int_equal(store_node_beat(store, &b1,
                                     &(struct store_node_hand){.event_ids = ev_ids,
                                                               .event_hooks = hand_hooks,
                                                               .n_events = 1},
                                     NULL),
                     0);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM event_deliveries"
                                         " WHERE lease_node = 'b' AND lease_until > 1"),
                     1);
    assert_int_equal(
        query_int(db->name, "SELECT event_id FROM event_deliveries WHERE lease_until > 1"), e1);
    /* e2's lease ended: another node claims it, its attempt counted again. */
    n = 0;
    assert_int_equal(
        store_event_deliveries_claim(store, "c", 2000, 60, 16, hooks, 1, on_event_claimed, &n), 1);
    assert_int_equal(query_int(db->name, "SELECT attempts FROM event_deliveries"
                                         " WHERE event_id = (SELECT max(id) FROM feed_events)"),
                     2);
    store_free(store);
}

static int
on_batch_taken(void *userdata, bool ev, int64_t id, unsigned attempts)
{
    (void)ev;
    (void)id;
    (void)attempts;
    ++*(int *)userdata;
    return 0;
}

/*
 * A hook's batch across nodes: a takes it (leased to a, the window started, committed with
 * the take); b, in the same window, takes nothing; once a died (its lease ended) and the
 * window passed, b takes a's running deliveries with their attempt counted, and a's late
 * outcome is refused.
 */
static void
test_store_pg_batch_take_across_nodes(void **state)
{
    struct pg_db *db = *state;
    struct store *sa = open_store(db->database), *sb = open_store(db->database);
    struct store_feed feed = {0};
    char *hooks[] = {"digest"};
    int64_t alerts[3], open_at = 0;
    int n = 0;

    assert_int_equal(store_feed_ensure(sa, "f", "https://example.org/f.xml", &feed), 0);
    for (int i = 0; i < 3; i++) {
        char key[8];
        struct feed_item item = {.key = key, .published_at = 1, .updated_at = FEED_TIME_NONE};
        int64_t id;

        (void)snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(store_item_add(sa, feed.id, &item, "text", 0, 1000, &id), 1);
        assert_int_equal(store_alert_add(sa, "t", id, "[]", hooks, 1, 1000, &alerts[i]), 1);
    }
    store_feed_done(&feed);
    assert_int_equal(join(sa, "a", "a1", NULL), 0);
    assert_int_equal(join(sb, "b", "b1", NULL), 0);
    assert_int_equal(store_begin(sa), 0);
    assert_int_equal(
        store_batch_take(sa, "digest", 300, 2000, 100, "a", 60, on_batch_taken, &n, &open_at), 3);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM deliveries WHERE lease_node = 'a'"),
                     0); /* not committed yet */
    assert_int_equal(store_commit(sa), 0);
    n = 0;
    assert_int_equal(
        store_batch_take(sb, "digest", 300, 2010, 100, "b", 60, on_batch_taken, &n, &open_at), 0);
    assert_int_equal(open_at, 2300);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM deliveries WHERE lease_node = 'a'"
                                         " AND state = 'running' AND attempts = 1"),
                     3);
    /* a dies; after the window b takes its batch again, a second attempt each. */
    pgtest_exec(db->name, "UPDATE deliveries SET lease_until = lease_until - 120"
                          " WHERE lease_node = 'a'");
    assert_int_equal(
        store_batch_take(sb, "digest", 300, 2300, 100, "b", 60, on_batch_taken, &n, &open_at), 3);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM deliveries WHERE lease_node = 'b'"
                                         " AND state = 'running' AND attempts = 2"),
                     3);
    assert_int_equal(
        store_delivery_set(sa, alerts[0], "digest", "delivered", 1, FEED_TIME_NONE, NULL, 2001),
        -ESTALE);
    assert_int_equal(
        store_delivery_set(sb, alerts[0], "digest", "delivered", 2, FEED_TIME_NONE, NULL, 2301), 0);
    store_free(sb);
    store_free(sa);
}

static int
on_any_feed(void *userdata, const struct store_feed *feed)
{
    (void)feed;
    ++*(int *)userdata;
    return 0;
}

/*
 * A statement blocked (here by a lock another session holds) is cancelled by the server after
 * the session's statement_timeout: the operation fails with the server's reason instead of
 * blocking the writer or the loop for good, and the store works again afterwards. The default
 * is 60 s; the connection string's `options` replace it (1 s here, a test of seconds).
 */
static void
test_store_pg_statement_timeout(void **state)
{
    struct pg_db *db = *state;
    char conninfo[600], lockinfo[512];
    struct store *store;
    struct timespec t0, t1;
    int n = 0;

    (void)snprintf(conninfo, sizeof(conninfo), "%s options='-c statement_timeout=1s'",
                   db->database);
    /* The default, seen by a trigger in the store's own session (after its migration). */
    store = open_store(db->database);
    pgtest_exec(db->name,
                "CREATE TABLE seen (v text);"
                " CREATE FUNCTION seen_timeout() RETURNS trigger LANGUAGE plpgsql AS"
                " 'BEGIN INSERT INTO seen VALUES (current_setting(''statement_timeout''));"
                " RETURN NEW; END';"
                " CREATE TRIGGER seen_timeout BEFORE INSERT ON feeds FOR EACH ROW"
                " EXECUTE FUNCTION seen_timeout()");
    struct store_feed f = {0};
    assert_int_equal(store_feed_ensure(store, "f", "https://example.org/f.xml", &f), 0);
    store_feed_done(&f);
    assert_int_equal(query_int(db->name, "SELECT count(*) FROM seen WHERE v = '1min'"), 1);
    store_free(store);

    store = open_store(conninfo);
    pgtest_conninfo(db->name, lockinfo, sizeof(lockinfo));
    PGconn *holder = PQconnectdb(lockinfo);
    assert_int_equal(PQstatus(holder), CONNECTION_OK);
    PQclear(PQexec(holder, "BEGIN"));
    PGresult *res = PQexec(holder, "LOCK TABLE feeds IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);

    (void)clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(store_feed_list(store, on_any_feed, &n), -EINTR);
    (void)clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_non_null(strstr(store_errmsg(store), "statement timeout"));
    assert_true(t1.tv_sec - t0.tv_sec < 30);
    /* The lock is gone: the same connection answers again. */
    PQclear(PQexec(holder, "ROLLBACK"));
    PQfinish(holder);
    assert_int_equal(store_feed_list(store, on_any_feed, &n), 0);
    store_free(store);
}

static int
on_item_title(void *userdata, const struct store_item_row *row)
{
    (void)snprintf(userdata, 64, "%s", row->title ? row->title : "(null)");
    return 0;
}

/*
 * Text that is not valid UTF-8 (a hostile server's ETag, a feed's bytes) is stored, each
 * invalid byte as U+FFFD, rather than failing the poll: SQLite keeps any bytes, and a UTF-8
 * database refuses them.
 */
static void
test_store_pg_invalid_utf8_is_repaired(void **state)
{
    struct pg_db *db = *state;
    struct store *store = open_store(db->database);
    struct store_feed feed = {0}, back = {0};
    struct feed_item item = {.key = "k\xff",
                             .title = "caf\xe9 ok \xc3\xa9",
                             .published_at = 1,
                             .updated_at = FEED_TIME_NONE};
    char title[64] = "";

    assert_int_equal(store_feed_ensure(store, "a", "https://example.org/a.xml", &feed), 0);
    feed.etag = strdup("\"\xff\xfe\"");
    assert_non_null(feed.etag);
    assert_int_equal(store_feed_save(store, &feed), 0);
    assert_int_equal(store_feed_ensure(store, "a", "https://example.org/a.xml", &back), 0);
    assert_string_equal(back.etag, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    assert_int_equal(store_item_add(store, feed.id, &item, NULL, 0, 1000, NULL), 1);
    assert_int_equal(store_item_known(store, feed.id, "k\xff"), 1); /* the same repair */
    assert_int_equal(store_items_list(store, "a", 1, false, on_item_title, title), 0);
    assert_string_equal(title, "caf\xef\xbf\xbd ok \xc3\xa9");
    store_feed_done(&feed);
    store_feed_done(&back);
    store_free(store);
}

/* A database whose encoding is not UTF8 is refused at open, saying so. */
static void
test_store_pg_refuses_other_encodings(void **state)
{
    struct pg_db *db = *state;
    char name[96], sql[256], database[512], *msg = NULL;
    struct store *store = NULL;

    (void)snprintf(name, sizeof(name), "%s_latin1", db->name);
    (void)snprintf(sql, sizeof(sql),
                   "CREATE DATABASE %s ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'"
                   " TEMPLATE template0",
                   name);
    pgtest_exec(NULL, sql);
    pgtest_conninfo(name, database, sizeof(database));
    assert_int_equal(store_open(database, &store, &msg), -EPROTONOSUPPORT);
    assert_null(store);
    assert_non_null(strstr(msg, "encoding is LATIN1, not UTF8"));
    free(msg);
    pgtest_drop(name);
}

#define PG_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        PG_TEST(test_store_pg_migrates_once),
        PG_TEST(test_store_pg_migration_lock_key),
        PG_TEST(test_store_pg_refuses_newer_schema),
        PG_TEST(test_store_pg_message_hides_password),
        PG_TEST(test_store_pg_lost_connection),
        PG_TEST(test_store_pg_check),
        PG_TEST(test_store_pg_simhash_top_bit),
        PG_TEST(test_store_pg_search_queue),
        PG_TEST(test_store_pg_cluster_leases),
        PG_TEST(test_store_pg_deliveries_claim),
        PG_TEST(test_store_pg_event_deliveries_in_hand),
        PG_TEST(test_store_pg_batch_take_across_nodes),
        PG_TEST(test_store_pg_node_lives),
        PG_TEST(test_store_pg_cluster_skips),
        PG_TEST(test_store_pg_feeds_changed),
        PG_TEST(test_store_pg_feeds_changed_long_transaction),
        PG_TEST(test_store_pg_story_lock),
        PG_TEST(test_store_pg_statement_timeout),
        PG_TEST(test_store_pg_invalid_utf8_is_repaired),
        PG_TEST(test_store_pg_refuses_other_encodings),
    };

    return cmocka_run_group_tests_name("store_pg", tests, NULL, NULL);
}
