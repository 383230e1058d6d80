/*
 * test_store_iface.c — the store's interface (store.h), the same cases for every engine.
 *
 * Each case uses store.h alone, never an engine's library, so that every engine must pass
 * it as it stands: the suite runs once per entry of iface_engines[] below, each case on a
 * new, empty database the entry makes. An engine adds itself with a row there (its name, and
 * how to make and drop a database for one case: a file for SQLite, a database on the test
 * PostgreSQL server for PostgreSQL, pgtest.h). What only one engine has (SQLite's schema,
 * its files, its migrations, its allocation failures) is tested beside that engine
 * (test_store.c for SQLite).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/dbspec.h"
#include "base/hash.h"
#include "parse/feed.h"
#include "pgtest.h"
#include "store.h"

/* One case's database: its `database` value, and the engine's own scratch (a folder). */
struct iface_db {
    char database[256];
    char dir[128];
};

/* An engine under test: how to make a new empty database for one case, and drop it. */
struct iface_engine {
    const char *name;
    void (*make)(struct iface_db *db);
    void (*drop)(struct iface_db *db);
};

/*
 * SQLite: a file in a folder of its own, on tmpfs when there is one (these cases are about
 * what the store keeps, not about the disk's fsync).
 */
static void
sqlite_make(struct iface_db *db)
{
    (void)snprintf(db->dir, sizeof(db->dir), "/dev/shm/test_store_iface.XXXXXX");
    if (!mkdtemp(db->dir)) {
        (void)snprintf(db->dir, sizeof(db->dir), "/tmp/test_store_iface.XXXXXX");
        assert_non_null(mkdtemp(db->dir));
    }
    (void)snprintf(db->database, sizeof(db->database), "%s/feedwatch.db", db->dir);
}

/* Removes the folder and every file of the store in it. */
static void
sqlite_drop(struct iface_db *db)
{
    DIR *d = opendir(db->dir);
    struct dirent *de;

    assert_non_null(d);
    while ((de = readdir(d))) {
        char path[400];

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        (void)snprintf(path, sizeof(path), "%s/%s", db->dir, de->d_name);
        assert_int_equal(unlink(path), 0);
    }
    (void)closedir(d);
    assert_int_equal(rmdir(db->dir), 0);
}

/*
 * PostgreSQL: a new database on the test server (pgtest.h: FW_TEST_PG), its name in dir; the
 * case's `database` is a keyword=value connection string.
 */
static void
pg_make(struct iface_db *db)
{
    pgtest_create(db->dir, sizeof(db->dir), db->database, sizeof(db->database));
    assert_int_equal(dbspec_kind(db->database), DBSPEC_POSTGRES);
}

/* Drops the case's database (its stores are closed by then). */
static void
pg_drop(struct iface_db *db)
{
    pgtest_drop(db->dir);
}

/* The engines the suite runs on. */
static const struct iface_engine iface_engines[] = {
    {"sqlite", sqlite_make, sqlite_drop},
    {"pg", pg_make, pg_drop},
};

/* The engine of the group being run. */
static const struct iface_engine *g_engine;

static int
setup(void **state)
{
    struct iface_db *db = calloc(1, sizeof(*db));

    assert_non_null(db);
    g_engine->make(db);
    *state = db;
    return 0;
}

static int
teardown(void **state)
{
    struct iface_db *db = *state;

    g_engine->drop(db);
    free(db);
    return 0;
}

static struct store *
open_store(const struct iface_db *db)
{
    struct store *store = NULL;
    char *msg = NULL;
    int r = store_open(db->database, &store, &msg);

    if (r < 0)
        fail_msg("%s: store_open: %d %s", g_engine->name, r, msg ? msg : "(no message)");
    assert_null(msg);
    assert_non_null(store);
    return store;
}

static struct feed_item
mkitem(const char *key, int64_t published_at)
{
    return (struct feed_item){
        .key = (char *)key,
        .published_at = published_at,
        .updated_at = FEED_TIME_NONE,
    };
}

static int64_t
ensure_feed(struct store *store, const char *name, const char *url)
{
    struct store_feed feed = {0};
    int64_t id;

    assert_int_equal(store_feed_ensure(store, name, url, &feed), 0);
    id = feed.id;
    assert_true(id > 0);
    store_feed_done(&feed);
    return id;
}

static int64_t
add_item(struct store *store, int64_t feed_id, const char *key, int64_t published_at,
         int64_t now_at, int expect)
{
    struct feed_item item = mkitem(key, published_at);
    int64_t id = 0;

    assert_int_equal(store_item_add(store, feed_id, &item, "text", 0, now_at, &id), expect);
    return id;
}

static int64_t
count_items(struct store *store)
{
    int64_t n = -1;

    assert_int_equal(store_count_items(store, &n), 0);
    return n;
}

static void
set_str(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
    if (value)
        assert_non_null(*field);
}

/* What store_feed_list gave. */
struct feed_seen {
    size_t n, stop_at;
    char names[8][16];
    int64_t items[8];
    unsigned failures[8];
    bool runtime[8], removed[8];
};

static int
on_feed(void *userdata, const struct store_feed *feed)
{
    struct feed_seen *seen = userdata;
    size_t i = seen->n;

    assert_true(i < 8);
    (void)snprintf(seen->names[i], sizeof(seen->names[0]), "%s", feed->name);
    seen->items[i] = feed->items;
    seen->failures[i] = feed->failures;
    seen->runtime[i] = feed->runtime_url != NULL;
    seen->removed[i] = feed->removed;
    seen->n++;
    return seen->stop_at && seen->n >= seen->stop_at ? -ECANCELED : 0;
}

/* The keys store_items_list gave, in order. */
struct item_seen {
    size_t n;
    char keys[16][16];
};

static int
on_item(void *userdata, const struct store_item_row *row)
{
    struct item_seen *seen = userdata;

    assert_true(seen->n < 16);
    assert_true(row->id > 0);
    (void)snprintf(seen->keys[seen->n++], sizeof(seen->keys[0]), "%s", row->key);
    return 0;
}

/* What an alert list or store_alert_get gave. */
struct alert_seen {
    size_t n;
    int64_t ids[8];
    char states[8][16];
    char topic[16], text[32], matched[64];
};

static int
on_alert(void *userdata, const struct store_alert_row *row)
{
    struct alert_seen *seen = userdata;

    assert_true(seen->n < 8);
    seen->ids[seen->n] = row->id;
    (void)snprintf(seen->states[seen->n], sizeof(seen->states[0]), "%s", row->state);
    (void)snprintf(seen->topic, sizeof(seen->topic), "%s", row->topic);
    (void)snprintf(seen->text, sizeof(seen->text), "%s", row->text ? row->text : "");
    (void)snprintf(seen->matched, sizeof(seen->matched), "%s", row->matched ? row->matched : "");
    seen->n++;
    return 0;
}

static int
on_due(void *userdata, int64_t alert_id, const char *hook, unsigned attempts)
{
    int *n = userdata;

    assert_true(alert_id > 0);
    assert_non_null(hook);
    (void)attempts;
    (*n)++;
    return 0;
}

/* One alert's deliveries, in hook order. */
struct deliveries_seen {
    size_t n;
    char hook[4][16], state[4][16];
    unsigned attempts[4];
    int64_t next_at[4];
};

static int
on_delivery(void *userdata, const struct store_delivery_row *row)
{
    struct deliveries_seen *s = userdata;

    assert_true(s->n < 4);
    (void)snprintf(s->hook[s->n], sizeof(s->hook[0]), "%s", row->hook);
    (void)snprintf(s->state[s->n], sizeof(s->state[0]), "%s", row->state);
    s->attempts[s->n] = row->attempts;
    s->next_at[s->n] = row->next_attempt_at;
    s->n++;
    return 0;
}

static void
deliveries_of(struct store *store, int64_t alert, struct deliveries_seen *s)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(store_alert_deliveries(store, alert, on_delivery, s), 0);
}

static const char *
alert_state(struct store *store, int64_t alert, struct alert_seen *seen)
{
    memset(seen, 0, sizeof(*seen));
    assert_int_equal(store_alert_get(store, alert, on_alert, seen), 0);
    assert_int_equal(seen->n, 1);
    return seen->states[0];
}

static int
on_requeued(void *userdata, int64_t alert_id, const char *hook)
{
    int *n = userdata;

    assert_true(alert_id > 0);
    assert_non_null(hook);
    (*n)++;
    return 0;
}

/* A feed's state survives a save and a load whole, absent values included. */
static void
test_store_iface_feed_ensure_and_save(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    struct store_feed feed = {0}, back = {0};

    assert_int_equal(store_feed_ensure(store, "rt", "https://example.org/rt.xml", &feed), 0);
    assert_true(feed.id > 0);
    assert_string_equal(feed.name, "rt");
    assert_string_equal(feed.configured_url, "https://example.org/rt.xml");
    assert_null(feed.url);
    assert_null(feed.etag);
    assert_int_equal(feed.failures, 0);
    assert_true(feed.last_poll_at == FEED_TIME_NONE);
    assert_true(feed.next_poll_at == FEED_TIME_NONE);
    assert_false(feed.paused);
    assert_int_equal(feed.items, 0);

    set_str(&feed.url, "https://example.org/moved.xml");
    set_str(&feed.etag, "\"etag-1\"");
    set_str(&feed.last_modified, "Wed, 15 Nov 2023 08:00:00 GMT");
    set_str(&feed.last_error, "timeout after 30s: 'quoted' \"text\"");
    set_str(&feed.disabled_reason, "gone (410)");
    feed.last_status = 410;
    feed.failures = UINT_MAX;
    feed.last_poll_at = -86400; /* before 1970 is still an instant */
    feed.next_poll_at = INT64_MAX;
    feed.recovered = true;
    feed.paused = true;
    feed.items = 12345; /* ignored by save */
    assert_int_equal(store_feed_save(store, &feed), 0);
    assert_int_equal(store_feed_ensure(store, "rt", "https://example.org/rt.xml", &back), 0);
    assert_int_equal(back.id, feed.id);
    assert_string_equal(back.url, feed.url);
    assert_string_equal(back.etag, feed.etag);
    assert_string_equal(back.last_modified, feed.last_modified);
    assert_string_equal(back.last_error, feed.last_error);
    assert_string_equal(back.disabled_reason, feed.disabled_reason);
    assert_int_equal(back.last_status, 410);
    assert_int_equal(back.failures, UINT_MAX);
    assert_true(back.last_poll_at == -86400);
    assert_true(back.next_poll_at == INT64_MAX);
    assert_true(back.recovered);
    assert_true(back.paused);
    assert_int_equal(back.items, 0);
    store_feed_done(&back);

    /* Back to absent. */
    set_str(&feed.url, NULL);
    set_str(&feed.etag, NULL);
    set_str(&feed.last_error, NULL);
    feed.last_poll_at = FEED_TIME_NONE;
    feed.next_poll_at = FEED_TIME_NONE;
    feed.recovered = false;
    assert_int_equal(store_feed_save(store, &feed), 0);
    assert_int_equal(store_feed_ensure(store, "rt", "https://example.org/rt.xml", &back), 0);
    assert_null(back.url);
    assert_null(back.etag);
    assert_null(back.last_error);
    assert_true(back.last_poll_at == FEED_TIME_NONE);
    assert_true(back.next_poll_at == FEED_TIME_NONE);
    assert_false(back.recovered);
    store_feed_done(&back);

    /* A new configured URL forgets the source (URL in use, validators, failures, the last
     * document's URL), keeps the pause, the schedule and the items. */
    set_str(&feed.url, "https://new-home.example.org/rt.xml");
    set_str(&feed.etag, "\"e1\"");
    set_str(&feed.base_url, "https://cdn.example.org/rt.xml");
    feed.failures = 12;
    feed.next_poll_at = 1700003600;
    assert_int_equal(store_feed_save(store, &feed), 0);
    (void)add_item(store, feed.id, "k1", 100, 1000, 1);
    assert_int_equal(store_feed_ensure(store, "rt", "https://example.org/rt2.xml", &back), 0);
    assert_int_equal(back.id, feed.id);
    assert_string_equal(back.configured_url, "https://example.org/rt2.xml");
    assert_null(back.url);
    assert_null(back.etag);
    assert_null(back.base_url); /* as the row: a save of it must not bring the old one back */
    assert_int_equal(back.failures, 0);
    assert_true(back.paused);
    assert_true(back.next_poll_at == 1700003600);
    assert_int_equal(back.items, 1);
    store_feed_done(&back);

    /* An id that is not there. */
    feed.id += 1000;
    assert_int_equal(store_feed_save(store, &feed), -ENOENT);
    assert_true(strlen(store_errmsg(store)) > 0);
    store_feed_done(&feed);
    store_free(store);
}

/* Feeds list by name with their item counts and run-time marks; a callback error stops it. */
static void
test_store_iface_feed_list(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    struct feed_seen seen = {0};
    struct store_feed feed = {0};

    assert_int_equal(store_feed_list(store, on_feed, &seen), 0);
    assert_int_equal(seen.n, 0);
    int64_t b = ensure_feed(store, "beta", "https://example.org/b.xml");
    (void)ensure_feed(store, "alpha", "https://example.org/a.xml");
    int64_t c = ensure_feed(store, "gamma", "https://example.org/c.xml");
    (void)add_item(store, b, "1", 1, 10, 1);
    (void)add_item(store, c, "1", 1, 10, 1);
    (void)add_item(store, c, "2", 2, 10, 1);
    assert_int_equal(store_feed_ensure(store, "gamma", "https://example.org/c.xml", &feed), 0);
    feed.failures = 4;
    assert_int_equal(store_feed_save(store, &feed), 0);
    store_feed_done(&feed);
    assert_int_equal(store_feed_set_runtime(store, b, "https://example.org/b.xml", true), 0);
    assert_int_equal(store_feed_set_runtime_opts(store, b, "{\"interval\":600}"), 0);

    assert_int_equal(store_feed_list(store, on_feed, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.names[0], "alpha");
    assert_string_equal(seen.names[1], "beta");
    assert_string_equal(seen.names[2], "gamma");
    assert_int_equal(seen.items[0], 0);
    assert_int_equal(seen.items[1], 1);
    assert_int_equal(seen.items[2], 2);
    assert_int_equal(seen.failures[2], 4);
    assert_false(seen.runtime[0]);
    assert_true(seen.runtime[1]);
    assert_true(seen.removed[1]);

    memset(&seen, 0, sizeof(seen));
    seen.stop_at = 2;
    assert_int_equal(store_feed_list(store, on_feed, &seen), -ECANCELED);
    assert_int_equal(seen.n, 2);
    /* The store goes on after a stopped walk. */
    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_commit(store), 0);
    store_free(store);
}

/* An item is stored once per (feed, key), and its key is kept across connections. */
static void
test_store_iface_item_dedup(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");

    assert_int_equal(store_item_known(store, a, "k1"), 0);
    assert_true(add_item(store, a, "k1", 100, 1000, 1) > 0);
    (void)add_item(store, a, "k1", 100, 1000, 0);
    (void)add_item(store, a, "k1", 999, 5000, 0); /* other data, same key: still known */
    (void)add_item(store, b, "k1", 100, 1000, 1); /* another feed's key */
    (void)add_item(store, a, "k2", 200, 1000, 1);
    assert_int_equal(store_item_known(store, a, "k1"), 1);
    assert_int_equal(store_item_known(store, a, "K1"), 0); /* keys are exact */
    assert_int_equal(count_items(store), 3);
    store_free(store);

    store = open_store(db);
    (void)add_item(store, a, "k2", 200, 3000, 0);
    (void)add_item(store, a, "k3", FEED_TIME_NONE, 3000, 1);
    assert_int_equal(count_items(store), 4);
    /* Newest first (published, else first seen), of one feed or of all. */
    struct item_seen seen = {0};
    assert_int_equal(store_items_list(store, "a", 0, false, on_item, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.keys[0], "k3");
    assert_string_equal(seen.keys[1], "k2");
    assert_string_equal(seen.keys[2], "k1");
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_list(store, NULL, 2, false, on_item, &seen), 0);
    assert_int_equal(seen.n, 2);
    store_free(store);
}

/*
 * A poll's lookups at once (store_items_known): exact keys of the one feed, any text (quotes,
 * backslashes, braces, commas), and more keys than one PostgreSQL statement takes.
 */
static void
test_store_iface_items_known(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    const char *keys[] = {"k2", "K1", "k1", "q\"{x},\\y", "k3", "", "NULL"};
    bool known[7];

    (void)add_item(store, a, "k1", 100, 1000, 1);
    (void)add_item(store, a, "k2", 200, 1000, 1);
    (void)add_item(store, a, "q\"{x},\\y", 300, 1000, 1);
    (void)add_item(store, b, "k1", 100, 1000, 1);
    memset(known, 0xff, sizeof(known));
    assert_int_equal(store_items_known(store, a, keys, 7, known), 0);
    assert_true(known[0] && !known[1] && known[2] && known[3] && !known[4] && !known[5] &&
                !known[6]);
    assert_int_equal(store_items_known(store, b, keys, 7, known), 0);
    assert_true(!known[0] && !known[1] && known[2] && !known[3] && !known[4]);
    assert_int_equal(store_items_known(store, a, keys, 0, known), 0);
    /* In a read transaction, as a poll asks. */
    assert_int_equal(store_begin_read(store), 0);
    assert_int_equal(store_items_known(store, a, keys, 3, known), 0);
    assert_true(known[0] && !known[1] && known[2]);
    store_rollback(store);

    enum { MANY = STORE_KNOWN_BATCH * 2 + 7 };
    const char **many = calloc(MANY, sizeof(*many));
    bool *many_known = calloc(MANY, sizeof(*many_known));
    assert_non_null(many);
    assert_non_null(many_known);
    for (size_t i = 0; i < MANY; i++)
        many[i] = i % 500 == 3 ? "k1" : i == MANY - 1 ? "k2" : "nope";
    assert_int_equal(store_items_known(store, a, many, MANY, many_known), 0);
    for (size_t i = 0; i < MANY; i++)
        assert_int_equal(many_known[i], i % 500 == 3 || i == MANY - 1);
    free(many);
    free(many_known);
    store_free(store);
}

/*
 * The transaction of a poll: its parts commit together, a failed part is undone alone, a
 * rolled-back transaction leaves nothing, and the misuses are errors.
 */
static void
test_store_iface_poll_transaction(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    struct store_feed feed = {0};
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");

    assert_int_equal(store_feed_ensure(store, "a", "https://example.org/a.xml", &feed), 0);
    int64_t a = feed.id;
    assert_true(store_part_begin(store) < 0); /* only inside a transaction */
    assert_int_equal(store_commit(store), -EINVAL);
    assert_true(strlen(store_errmsg(store)) > 0);
    store_rollback(store); /* none open: nothing to do */

    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_begin(store), -EALREADY);
    assert_int_equal(store_part_begin(store), 0);
    (void)add_item(store, a, "k1", 100, 1000, 1);
    assert_int_equal(store_part_end(store), 0);
    assert_int_equal(store_part_begin(store), 0);
    (void)add_item(store, b, "k1", 100, 1000, 1);
    store_part_rollback(store);
    assert_int_equal(store_part_begin(store), 0);
    (void)add_item(store, a, "k2", 100, 1000, 1);
    assert_int_equal(store_part_end(store), 0);
    assert_int_equal(store_commit(store), 0);
    assert_int_equal(store_item_known(store, a, "k2"), 1);
    assert_int_equal(store_item_known(store, b, "k1"), 0);
    assert_int_equal(count_items(store), 2);

    /* A poll that fails halfway: the caller rolls back and nothing of it remains. */
    assert_int_equal(store_begin(store), 0);
    (void)add_item(store, a, "k3", 100, 2000, 1);
    set_str(&feed.etag, "\"v2\"");
    feed.failures = 3;
    assert_int_equal(store_feed_save(store, &feed), 0);
    struct feed_item orphan = mkitem("k9", 100);
    assert_true(store_item_add(store, a + b + 100, &orphan, NULL, 0, 2000, NULL) < 0);
    store_rollback(store);
    store_feed_done(&feed);
    assert_int_equal(count_items(store), 2);
    assert_int_equal(store_item_known(store, a, "k3"), 0);
    assert_int_equal(store_feed_ensure(store, "a", "https://example.org/a.xml", &feed), 0);
    assert_null(feed.etag);
    assert_int_equal(feed.failures, 0);
    store_feed_done(&feed);
    store_free(store);

    /* What was committed is there for the next connection. */
    store = open_store(db);
    assert_int_equal(count_items(store), 2);
    store_free(store);
}

/* A reader sees what was committed and writes nothing. */
static void
test_store_iface_reader(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db), *reader = NULL;
    char *msg = NULL;
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");

    assert_int_equal(store_open_reader(db->database, &reader, &msg), 0);
    assert_null(msg);
    (void)add_item(store, a, "k1", 100, 1000, 1);
    assert_int_equal(count_items(reader), 1);
    assert_int_equal(store_item_known(reader, a, "k1"), 1);
    struct feed_item item = mkitem("k2", 100);
    assert_true(store_item_add(reader, a, &item, NULL, 0, 1000, NULL) < 0);
    assert_int_equal(count_items(store), 1);
    store_free(reader);
    store_free(store);
}

/* An alert is raised once per (topic, item); a topic without hooks gives no-hook. */
static void
test_store_iface_alerts_once(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t item = add_item(store, a, "k1", 100, 1000, 1);
    int64_t alert = 0, again = 0, quiet = 0;
    char *hooks[] = {"notify", "webhook"};
    struct alert_seen seen;

    assert_int_equal(
        store_alert_add(store, "osce", item, "[{\"term\":\"OSCE\"}]", hooks, 2, 1000, &alert), 1);
    assert_true(alert > 0);
    assert_int_equal(store_alert_add(store, "osce", item, NULL, hooks, 2, 2000, &again), 0);
    assert_int_equal(again, 0);
    assert_int_equal(store_alert_add(store, "quiet", item, NULL, NULL, 0, 1000, &quiet), 1);
    assert_true(quiet > 0 && quiet != alert);

    assert_string_equal(alert_state(store, alert, &seen), "pending");
    assert_string_equal(seen.topic, "osce");
    assert_string_equal(seen.text, "text");
    assert_string_equal(seen.matched, "[{\"term\":\"OSCE\"}]");
    assert_string_equal(alert_state(store, quiet, &seen), "no-hook");
    assert_int_equal(store_alert_get(store, alert + quiet + 100, on_alert, &seen), -ENOENT);

    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_alerts_list(store, "osce", false, 10, on_alert, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ids[0], alert);

    int64_t delivered, pending, failed, no_hook;
    assert_int_equal(store_alert_counts(store, &delivered, &pending, &failed, &no_hook), 0);
    assert_true(delivered == 0 && pending == 1 && failed == 0 && no_hook == 1);

    struct store_feed_counts fc;
    assert_int_equal(store_feed_counts(store, "a", &fc), 0);
    assert_int_equal(fc.items, 1);
    assert_int_equal(fc.pruned_items, 0);
    assert_int_equal(fc.last_new_item_at, 1000);
    assert_int_equal(fc.alerts_pending, 1);
    assert_int_equal(fc.alerts_no_hook, 1);
    assert_int_equal(store_feed_counts(store, "nobody", &fc), 0);
    assert_int_equal(fc.items, 0);
    store_free(store);
}

/*
 * Deliveries: due from their time on, the next due one, states set, running ones made
 * pending again after a restart, one requeued, failed ones requeued in batches.
 */
static void
test_store_iface_deliveries(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t item = add_item(store, a, "k1", 100, 1000, 1);
    int64_t alert = 0, at = 0;
    char *hooks[] = {"notify", "webhook"};
    struct deliveries_seen s;
    struct alert_seen seen;
    int due = 0, requeued = 0;

    assert_int_equal(store_delivery_next_due(store, &at), 0); /* none */
    assert_int_equal(store_alert_add(store, "t", item, "[]", hooks, 2, 1000, &alert), 1);
    assert_int_equal(store_deliveries_due(store, 999, 10, on_due, &due), 0);
    assert_int_equal(due, 0);
    assert_int_equal(store_deliveries_due(store, 1000, 10, on_due, &due), 0);
    assert_int_equal(due, 2);
    due = 0;
    assert_int_equal(store_deliveries_due(store, 1000, 1, on_due, &due), 0);
    assert_int_equal(due, 1);
    assert_int_equal(store_delivery_next_due(store, &at), 1);
    assert_int_equal(at, 1000);

    /* notify runs; a restart makes it pending again. */
    assert_int_equal(store_delivery_set(store, alert, "notify", "running", 1, FEED_TIME_NONE, NULL,
                                        FEED_TIME_NONE),
                     0);
    assert_string_equal(alert_state(store, alert, &seen), "running");
    store_free(store);
    store = open_store(db);
    assert_int_equal(store_deliveries_reset_running(store), 1);
    assert_string_equal(alert_state(store, alert, &seen), "pending");

    /* notify delivered, webhook retried later then failed: the alert is failed. */
    assert_int_equal(
        store_delivery_set(store, alert, "notify", "delivered", 1, FEED_TIME_NONE, NULL, 1100), 0);
    assert_int_equal(
        store_delivery_set(store, alert, "webhook", "pending", 1, 1500, "HTTP 503", 1100), 0);
    assert_int_equal(store_delivery_next_due(store, &at), 1);
    assert_int_equal(at, 1500);
    assert_int_equal(
        store_delivery_set(store, alert, "webhook", "failed", 3, FEED_TIME_NONE, "HTTP 500", 1600),
        0);
    assert_string_equal(alert_state(store, alert, &seen), "failed");
    assert_int_equal(store_delivery_next_due(store, &at), 0);
    deliveries_of(store, alert, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.hook[0], "notify");
    assert_string_equal(s.state[0], "delivered");
    assert_string_equal(s.hook[1], "webhook");
    assert_string_equal(s.state[1], "failed");
    assert_int_equal(s.attempts[1], 3);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_alerts_list(store, NULL, true, 10, on_alert, &seen), 0);
    assert_int_equal(seen.n, 1);

    /* --failed, in batches after a key: nothing after (alert, "webhook"); then webhook. */
    assert_int_equal(store_deliveries_requeue_failed(store, NULL, "[\"notify\",\"webhook\"]", 2000,
                                                     alert, "webhook", 0, on_requeued, &requeued),
                     0);
    assert_int_equal(store_deliveries_requeue_failed(store, NULL, "[\"notify\",\"webhook\"]", 2000,
                                                     0, NULL, 1, on_requeued, &requeued),
                     1);
    assert_int_equal(requeued, 1);
    deliveries_of(store, alert, &s);
    assert_string_equal(s.state[0], "delivered");
    assert_string_equal(s.state[1], "pending");
    assert_int_equal(s.attempts[1], 0);
    assert_int_equal(s.next_at[1], 2000);
    assert_string_equal(alert_state(store, alert, &seen), "pending");

    /* One delivery again; one to a hook the alert never had is created. */
    assert_int_equal(store_delivery_requeue(store, alert, "notify", 3000), 1);
    assert_int_equal(store_delivery_requeue(store, alert, "later", 3000), 1);
    deliveries_of(store, alert, &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.hook[0], "later");
    assert_string_equal(s.state[0], "pending");
    assert_string_equal(s.state[1], "pending");
    assert_int_equal(s.next_at[1], 3000);
    int64_t delivered, pending, failed;
    assert_int_equal(store_alert_counts(store, &delivered, &pending, &failed, NULL), 0);
    assert_true(delivered == 0 && pending == 1 && failed == 0);
    store_free(store);
}

static int
on_pruned(void *userdata, int64_t item_id, const char *title, const char *body)
{
    int *n = userdata;

    assert_true(item_id > 0);
    (void)title;
    (void)body;
    (*n)++;
    return 0;
}

static int
on_item_full(void *userdata, const struct store_item_full *item)
{
    struct store_item_full *copy = userdata;

    copy->pruned_at = item->pruned_at;
    copy->row.title = item->row.title ? "" : NULL; /* only whether it is there */
    return 0;
}

/*
 * Retention prunes in batches the items first seen before the cutoff, keeps their keys,
 * spares the items whose alert still waits for a hook, and counts what it did.
 */
static void
test_store_iface_prune_batch(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t ids[4] = {0}, pruned = -1, last = 0, alert = 0;
    char *hooks[] = {"notify"};
    unsigned n = 99;
    int handed = 0;

    for (int i = 0; i < 4; i++) {
        char key[8];
        (void)snprintf(key, sizeof(key), "k%d", i);
        struct feed_item item = mkitem(key, 100);
        item.title = key;
        assert_int_equal(store_item_add(store, a, &item, "text", 0, 1000 + i, &ids[i]), 1);
    }
    assert_int_equal(store_alert_add(store, "t", ids[2], "[]", hooks, 1, 1000, &alert), 1);
    assert_int_equal(store_retention_get(store, &pruned, &last), 0);
    assert_int_equal(pruned, 0);
    assert_true(last == FEED_TIME_NONE);

    assert_int_equal(store_prune_batch(store, 1000, INT64_MAX, 10, 1 << 20, 5000, NULL, NULL, &n),
                     0);
    assert_int_equal(n, 0);
    assert_int_equal(
        store_prune_batch(store, 1003, INT64_MAX, 1, 1 << 20, 5000, on_pruned, &handed, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(
        store_prune_batch(store, 1003, INT64_MAX, 10, 1 << 20, 6000, on_pruned, &handed, &n), 0);
    assert_int_equal(n, 1); /* k1; k2 waits for its hook, k3 is newer */
    assert_int_equal(handed, 2);
    assert_int_equal(store_retention_get(store, &pruned, &last), 0);
    assert_int_equal(pruned, 2);
    assert_int_equal(last, 6000);

    struct store_item_full full = {0};
    assert_int_equal(store_item_get(store, ids[0], on_item_full, &full), 0);
    assert_int_equal(full.pruned_at, 5000);
    assert_null(full.row.title);
    assert_int_equal(store_item_get(store, ids[2], on_item_full, &full), 0);
    assert_true(full.pruned_at == FEED_TIME_NONE);
    assert_non_null(full.row.title);

    /* Keys stay; lists leave pruned items out; counts keep them. */
    (void)add_item(store, a, "k0", 100, 8000, 0);
    struct item_seen seen = {0};
    assert_int_equal(store_items_list(store, NULL, 0, false, on_item, &seen), 0);
    assert_int_equal(seen.n, 2);
    assert_int_equal(count_items(store), 4);
    struct store_feed_counts fc;
    assert_int_equal(store_feed_counts(store, "a", &fc), 0);
    assert_int_equal(fc.pruned_items, 2);
    uint64_t bytes = 0;
    assert_int_equal(store_disk_bytes(store, &bytes), 0);
    assert_true(bytes > 0);
    store_free(store);
}

/*
 * A feed's boilerplate model (bytes, a NUL among them) round-trips, belongs to its feed, is
 * undone with its transaction and forgotten with NULL; the URLs of a feed's row come back
 * as stored, an unknown name gives none.
 */
static void
test_store_iface_feed_model_and_urls(void **state)
{
    static const char blob[] = "feedwatch-boilerplate 1\n\0\xff\x01 3\n";
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    struct store_feed feed = {0};
    char *urls[STORE_FEED_URLS] = {NULL};
    char *data = (char *)&data;
    size_t len = 99;

    assert_int_equal(store_feed_ensure(store, "a", "https://example.org/a.xml", &feed), 0);
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    assert_int_equal(store_feed_model_get(store, feed.id, &data, &len), 0);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_feed_model_set(store, feed.id, blob, sizeof(blob) - 1), 0);
    assert_int_equal(store_commit(store), 0);
    assert_int_equal(store_feed_model_get(store, feed.id, &data, &len), 0);
    assert_int_equal(len, sizeof(blob) - 1);
    assert_memory_equal(data, blob, len);
    assert_int_equal(data[len], '\0');
    free(data);
    assert_int_equal(store_feed_model_get(store, b, &data, &len), 0);
    assert_null(data);
    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_feed_model_set(store, feed.id, "x", 1), 0);
    store_rollback(store);
    assert_int_equal(store_feed_model_get(store, feed.id, &data, &len), 0);
    assert_int_equal(len, sizeof(blob) - 1);
    free(data);
    assert_int_equal(store_feed_model_set(store, feed.id, NULL, 0), 0);
    assert_int_equal(store_feed_model_get(store, feed.id, &data, &len), 0);
    assert_null(data);

    set_str(&feed.url, "https://example.org/moved.xml");
    set_str(&feed.base_url, "https://cdn.example.org/a.xml?sig=S");
    assert_int_equal(store_feed_save(store, &feed), 0);
    set_str(&feed.base_url, NULL); /* a save without a document keeps it */
    assert_int_equal(store_feed_save(store, &feed), 0);
    assert_int_equal(store_feed_set_runtime(store, b, "https://example.org/b2.xml", false), 0);
    assert_int_equal(store_feed_urls(store, "a", urls), 1);
    assert_string_equal(urls[0], "https://example.org/a.xml");
    assert_string_equal(urls[1], "https://example.org/moved.xml");
    assert_null(urls[2]);
    assert_string_equal(urls[3], "https://cdn.example.org/a.xml?sig=S");
    for (int i = 0; i < STORE_FEED_URLS; i++)
        free(urls[i]);
    assert_int_equal(store_feed_urls(store, "b", urls), 1);
    assert_string_equal(urls[2], "https://example.org/b2.xml");
    for (int i = 0; i < STORE_FEED_URLS; i++)
        free(urls[i]);
    urls[0] = urls[1] = urls[2] = urls[3] = (char *)"untouched";
    assert_int_equal(store_feed_urls(store, "none", urls), 0);
    for (int i = 0; i < STORE_FEED_URLS; i++)
        assert_null(urls[i]);
    store_feed_done(&feed);
    store_free(store);
}

/* The text an items query gave (with_text), besides its keys. */
static int
on_item_text(void *userdata, const struct store_item_row *row)
{
    struct item_seen *seen = userdata;

    assert_true(seen->n < 16);
    (void)snprintf(seen->keys[seen->n++], sizeof(seen->keys[0]), "%s:%s", row->key,
                   row->text ? row->text : "-");
    return 0;
}

/*
 * Items queries narrow by each member of the filter that is set: a feed, a JSON array of
 * feeds, a topic (its alerts' items and their other sources), a lower bound; the text only
 * when asked; an item in full with its categories.
 */
static void
test_store_iface_items_query(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    int64_t c = ensure_feed(store, "c", "https://example.org/c.xml");
    int64_t a1 = add_item(store, a, "a1", 100, 1000, 1);
    (void)add_item(store, a, "a2", 300, 1000, 1);
    int64_t b1 = add_item(store, b, "b1", FEED_TIME_NONE, 200, 1);
    int64_t c1 = add_item(store, c, "c1", 400, 1000, 1);
    int64_t alert = 0, other = 0;
    struct item_seen seen = {0};

    struct store_items_filter f = {.feeds_json = "[\"a\",\"b\"]", .since_at = FEED_TIME_NONE};
    assert_int_equal(store_items_query(store, &f, 0, true, on_item_text, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.keys[0], "a2:text");
    assert_string_equal(seen.keys[1], "b1:text"); /* no date: first seen, 200 */
    assert_string_equal(seen.keys[2], "a1:text");
    memset(&seen, 0, sizeof(seen));
    f = (struct store_items_filter){.feed = "a", .since_at = 200};
    assert_int_equal(store_items_query(store, &f, 0, false, on_item_text, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.keys[0], "a2:-");

    /* The topic's items: an alert's, and another source of it; not the other topic's. */
    assert_int_equal(store_alert_add(store, "t", a1, "[]", NULL, 0, 1000, &alert), 1);
    assert_int_equal(store_alert_add_source(store, alert, b1), 0);
    assert_int_equal(store_alert_add_source(store, alert, b1), 0); /* once */
    assert_int_equal(store_alert_add(store, "u", c1, "[]", NULL, 0, 1000, &other), 1);
    memset(&seen, 0, sizeof(seen));
    f = (struct store_items_filter){.topic = "t", .since_at = FEED_TIME_NONE};
    assert_int_equal(store_items_query(store, &f, 0, false, on_item_text, &seen), 0);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.keys[0], "b1:-");
    assert_string_equal(seen.keys[1], "a1:-");
    memset(&seen, 0, sizeof(seen));
    f = (struct store_items_filter){.topic = "t", .feed = "a", .since_at = FEED_TIME_NONE};
    assert_int_equal(store_items_query(store, &f, 0, false, on_item_text, &seen), 0);
    assert_int_equal(seen.n, 1);
    memset(&seen, 0, sizeof(seen));
    f = (struct store_items_filter){
        .topic = "t", .feeds_json = "[\"b\",\"c\"]", .since_at = FEED_TIME_NONE};
    assert_int_equal(store_items_query(store, &f, 1, false, on_item_text, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.keys[0], "b1:-");
    store_free(store);
}

/* What the story and item calls gave. */
struct story_seen {
    int n, topics;
    int64_t ids[4];
    uint64_t simhash[4];
    bool source[4];
    char names[4][16];
    int64_t counts[4];
};

static int
on_story(void *userdata, int64_t alert_id, uint64_t simhash, int64_t feed_id)
{
    struct story_seen *s = userdata;

    assert_true(s->n < 4 && feed_id > 0);
    s->ids[s->n] = alert_id;
    s->simhash[s->n++] = simhash;
    return 0;
}

static int
on_item_alert(void *userdata, const struct store_alert_row *row, bool source)
{
    struct story_seen *s = userdata;

    assert_true(s->n < 4);
    s->ids[s->n] = row->id;
    s->source[s->n] = source;
    (void)snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", row->topic);
    return 0;
}

static int
on_source(void *userdata, const char *feed, const char *url, const char *title, int64_t item_id)
{
    struct story_seen *s = userdata;

    assert_true(s->n < 4 && item_id > 0);
    (void)url;
    (void)title;
    s->ids[s->n] = item_id;
    (void)snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", feed);
    return 0;
}

static int
on_topic_count(void *userdata, const char *topic, int64_t count)
{
    struct story_seen *s = userdata;

    assert_true(s->topics < 4);
    (void)snprintf(s->names[s->topics], sizeof(s->names[0]), "%s", topic);
    s->counts[s->topics++] = count;
    return 0;
}

/*
 * Story candidates: the alerts of a topic in the window, of other feeds, whose signature
 * shares a band with the new one, with their 64 bits; an item's alerts and the alerts it is
 * another source of; an alert's sources; the alerts of each topic.
 */
static void
test_store_iface_stories_and_sources(void **state)
{
    const uint64_t sig = UINT64_C(0x8123456789abcdef); /* top bit set */
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    struct feed_item item = mkitem("a1", 100), other = mkitem("b1", 100);
    int64_t a1 = 0, b1 = 0, alert = 0, alert_b = 0;
    struct story_seen s = {0};

    assert_int_equal(store_item_add(store, a, &item, "text", sig, 1000, &a1), 1);
    assert_int_equal(store_item_add(store, b, &other, "text", 0, 1000, &b1), 1);
    assert_int_equal(store_alert_add(store, "t", a1, "[]", NULL, 0, 1000, &alert), 1);
    assert_int_equal(store_alert_add(store, "u", b1, "[]", NULL, 0, 1000, &alert_b), 1);

    /* Only the lowest band agrees (bits 0..8): still a candidate, its signature whole. */
    uint64_t probe = (sig & 511u) | (~sig & ~(uint64_t)511u);
    assert_int_equal(store_story_candidates(store, "t", 1000, probe, b, on_story, &s, NULL), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ids[0], alert);
    assert_true(s.simhash[0] == sig);
    memset(&s, 0, sizeof(s));
    assert_int_equal(store_story_candidates(store, "t", 1001, sig, b, on_story, &s, NULL), 0);
    assert_int_equal(s.n, 0); /* raised before the window */
    assert_int_equal(store_story_candidates(store, "t", 0, sig, a, on_story, &s, NULL), 0);
    assert_int_equal(s.n, 0); /* its own feed */
    assert_int_equal(store_story_candidates(store, "t", 0, ~sig, b, on_story, &s, NULL), 0);
    assert_int_equal(s.n, 0); /* no band in common */

    /* b1 is another source of the alert on a1. */
    assert_int_equal(store_alert_add_source(store, alert, b1), 0);
    assert_int_equal(store_item_alerts(store, b1, on_item_alert, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ids[0], alert_b);
    assert_false(s.source[0]);
    assert_string_equal(s.names[0], "u");
    assert_int_equal(s.ids[1], alert);
    assert_true(s.source[1]);
    memset(&s, 0, sizeof(s));
    int64_t total = -1;
    assert_int_equal(store_alert_sources(store, alert, 0, 0, &total, on_source, &s), 0);
    assert_int_equal(total, 1);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ids[0], b1);
    assert_string_equal(s.names[0], "b");
    memset(&s, 0, sizeof(s));
    assert_int_equal(store_alert_topic_counts(store, on_topic_count, &s), 0);
    assert_int_equal(s.topics, 2);
    assert_string_equal(s.names[0], "t");
    assert_int_equal(s.counts[0], 1);
    assert_string_equal(s.names[1], "u");
    store_free(store);
}

struct sources_seen {
    int n;
    int64_t ids[16];
};

static int
on_source_id(void *userdata, const char *feed, const char *url, const char *title, int64_t item_id)
{
    struct sources_seen *s = userdata;

    (void)feed;
    (void)url;
    (void)title;
    assert_true(s->n < 16);
    s->ids[s->n++] = item_id;
    return 0;
}

/*
 * A story of many sources (hostile review M5): the store reads the first `limit` of them by
 * item id, and the one asked for besides (a story-source's new source) when it is past those,
 * with the count of all; without a limit, all of them.
 */
static void
test_store_iface_alert_sources_capped(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    struct feed_item first = mkitem("a1", 100);
    int64_t a1 = 0, alert = 0, ids[12], total = -1;
    struct sources_seen s = {0};

    assert_int_equal(store_item_add(store, a, &first, "text", 0, 1000, &a1), 1);
    assert_int_equal(store_alert_add(store, "t", a1, "[]", NULL, 0, 1000, &alert), 1);
    assert_int_equal(store_alert_sources(store, alert, 3, 0, &total, on_source_id, &s), 0);
    assert_int_equal(total, 0);
    assert_int_equal(s.n, 0);
    for (int i = 0; i < 12; i++) {
        char key[16];
        (void)snprintf(key, sizeof(key), "b%d", i);
        struct feed_item item = mkitem(key, 100);
        assert_int_equal(store_item_add(store, b, &item, "text", 0, 1000, &ids[i]), 1);
        assert_int_equal(store_alert_add_source(store, alert, ids[i]), 0);
    }
    /* The first 3 by item id, the count of all 12. */
    assert_int_equal(store_alert_sources(store, alert, 3, 0, &total, on_source_id, &s), 0);
    assert_int_equal(total, 12);
    assert_int_equal(s.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(s.ids[i], ids[i]);
    /* The ninth asked for: it comes last, after the first 3. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(store_alert_sources(store, alert, 3, ids[8], &total, on_source_id, &s), 0);
    assert_int_equal(total, 12);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.ids[2], ids[2]);
    assert_int_equal(s.ids[3], ids[8]);
    /* One among the first: listed once. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(store_alert_sources(store, alert, 3, ids[1], &total, on_source_id, &s), 0);
    assert_int_equal(s.n, 3);
    /* An item that is no source of the alert: not listed. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(store_alert_sources(store, alert, 3, a1, &total, on_source_id, &s), 0);
    assert_int_equal(s.n, 3);
    /* No limit: all of them. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(store_alert_sources(store, alert, 0, 0, NULL, on_source_id, &s), 0);
    assert_int_equal(s.n, 12);
    assert_int_equal(s.ids[11], ids[11]);
    store_free(store);
}

struct key_cands {
    int64_t ids[16];
    unsigned n;
};

static int
on_key_cand(void *userdata, int64_t alert_id)
{
    struct key_cands *c = userdata;
    if (c->n < 16)
        c->ids[c->n] = alert_id;
    c->n++;
    return 0;
}

/*
 * Story keys (issue 17, part 2): an alert's signature bytes come back as stored (NUL and
 * high bytes included), with its raise time, and not into a buffer too small; a key gives the
 * newest alerts of the topic in the window that have it, at most limit, newest first (keys
 * of every kind: the top bits set too); setting a story again adds keys, the old stay; a
 * pruned item's alerts lose their keys and signature.
 */
static void
test_store_iface_story_keys(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t alerts[5];
    const uint8_t sig[12] = {1, 0, 0xff, 4, 5, 6, 7, 0x80, 0x2a, 0, 0, 0x40};
    const uint32_t keys[3] = {42, 0x4000002au, 0x8000002au};
    char key[8];

    for (int i = 0; i < 5; i++) {
        struct feed_item item;
        int64_t item_id = 0;

        (void)snprintf(key, sizeof(key), "s%d", i);
        item = mkitem(key, 100);
        assert_int_equal(store_item_add(store, a, &item, NULL, 0, 1000 + i, &item_id), 1);
        assert_int_equal(store_alert_add(store, "t", item_id, NULL, NULL, 0, 1000 + i, &alerts[i]),
                         1);
        assert_int_equal(store_alert_set_story(store, alerts[i], "t", 1000 + i, sig, sizeof(sig),
                                               keys, i == 2 ? 1 : 2),
                         0);
    }
    uint8_t buf[64];
    size_t len = 0;
    int64_t raised = 0;
    assert_int_equal(store_alert_story_sig(store, alerts[3], buf, sizeof(buf), &len, &raised, NULL),
                     1);
    assert_int_equal(len, sizeof(sig));
    assert_memory_equal(buf, sig, sizeof(sig));
    assert_int_equal(raised, 1003);
    assert_int_equal(store_alert_story_sig(store, alerts[3], buf, 4, &len, NULL, NULL), 0);

    /* Newest first, limit 3; the window starts at 1001; alert 2 lacks the second key. */
    struct key_cands c = {.n = 0};
    uint64_t steps = 0;
    assert_int_equal(
        store_story_key_candidates(store, "t", 1001, keys[1], 3, on_key_cand, &c, &steps), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.ids[0], alerts[4]);
    assert_int_equal(c.ids[1], alerts[3]);
    assert_int_equal(c.ids[2], alerts[1]);
    assert_true(steps > 0);
    c.n = 0;
    assert_int_equal(store_story_key_candidates(store, "u", 0, keys[0], 8, on_key_cand, &c, NULL),
                     0);
    assert_int_equal(c.n, 0); /* another topic */

    /* Alert 2 set again with the third key (a number's: top bit set): it keeps the first. */
    assert_int_equal(
        store_alert_set_story(store, alerts[2], "t", 1002, sig, sizeof(sig), &keys[2], 1), 0);
    c.n = 0;
    assert_int_equal(store_story_key_candidates(store, "t", 0, keys[2], 8, on_key_cand, &c, NULL),
                     0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ids[0], alerts[2]);
    c.n = 0;
    assert_int_equal(store_story_key_candidates(store, "t", 0, keys[0], 8, on_key_cand, &c, NULL),
                     0);
    assert_int_equal(c.n, 5);

    /* Retention: the pruned items' alerts lose their keys and signature. */
    unsigned n = 0;
    assert_int_equal(store_prune_batch(store, 1002, INT64_MAX, 10, 1 << 20, 5000, NULL, NULL, &n),
                     0);
    assert_int_equal(n, 2);
    c.n = 0;
    assert_int_equal(store_story_key_candidates(store, "t", 0, keys[0], 8, on_key_cand, &c, NULL),
                     0);
    assert_int_equal(c.n, 3);
    assert_int_equal(store_alert_story_sig(store, alerts[0], buf, sizeof(buf), &len, NULL, NULL),
                     0);
    assert_int_equal(store_alert_story_sig(store, alerts[2], buf, sizeof(buf), &len, NULL, NULL),
                     1);
    store_free(store);
}

/* What store_item_get gave of an item, copied. */
struct item_copy {
    char key[32], title[32], url[64], author[32], language[8], summary[64], text[32], cats[64];
    bool title_null, author_null, summary_null, text_null, cats_null;
    int64_t published_at, updated_at, first_seen_at;
};

static void
copy_field(char *dst, size_t size, const char *src, bool *ret_null)
{
    if (ret_null)
        *ret_null = src == NULL;
    (void)snprintf(dst, size, "%s", src ? src : "");
}

static int
on_item_copy(void *userdata, const struct store_item_full *item)
{
    struct item_copy *c = userdata;
    const struct store_item_row *row = &item->row;

    copy_field(c->key, sizeof(c->key), row->key, NULL);
    copy_field(c->title, sizeof(c->title), row->title, &c->title_null);
    copy_field(c->url, sizeof(c->url), row->url, NULL);
    copy_field(c->author, sizeof(c->author), row->author, &c->author_null);
    copy_field(c->language, sizeof(c->language), row->language, NULL);
    copy_field(c->summary, sizeof(c->summary), row->summary, &c->summary_null);
    copy_field(c->text, sizeof(c->text), row->text, &c->text_null);
    copy_field(c->cats, sizeof(c->cats), item->categories, &c->cats_null);
    c->published_at = row->published_at;
    c->updated_at = row->updated_at;
    c->first_seen_at = row->first_seen_at;
    return 0;
}

/*
 * A poll's new items at once (store_items_add): each field as store_item_add stores it (any
 * text: quotes, backslashes, braces, commas, the word NULL, bytes that are not UTF-8; NULLs;
 * the signature's top bit), known keys and keys repeated in the call left out (the first
 * stored), ids in the items' order, more items than one PostgreSQL statement takes, and
 * nothing left after a rollback.
 */
static void
test_store_iface_items_add(void **state)
{
    const uint64_t sig = UINT64_C(0x8123456789abcdef); /* top bit set */
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    char *cats[] = {"x", "y\"z}"};
    struct feed_item full = mkitem("k2", 100), known = mkitem("k1", 5), again = mkitem("k2", 7);
    struct feed_item odd = mkitem("q\"{x},\\y", FEED_TIME_NONE), nul = mkitem("NULL", 300);
    struct feed_item bad_key = mkitem("k\xc3(", 400); /* not UTF-8: repaired on PostgreSQL */
    int64_t ids[6], before = 0;

    (void)add_item(store, a, "k1", 100, 1000, 1);
    full.id = "urn:k2";
    full.title = "T \"quoted\" {a,b} \\ NULL";
    full.link = "https://example.org/k2";
    full.updated_at = 150;
    full.author = "ab\xff"; /* not UTF-8: PostgreSQL keeps it repaired */
    full.language = "en";
    full.summary = "<p>s, {1} \"2\" \\3</p>";
    full.content = "<p>content</p>";
    full.categories = cats;
    full.n_categories = 2;
    nul.title = "NULL";
    const struct store_new_item items[6] = {
        {&full, "the text", sig}, {&known, "x", 0}, {&again, "y", 0},
        {&odd, NULL, 0},          {&nul, "", 0},    {&bad_key, NULL, 0},
    };
    memset(ids, 0xff, sizeof(ids));
    assert_int_equal(store_items_add(store, a, items, 6, 2000, ids), 4);
    assert_true(ids[0] > 0 && ids[3] > ids[0] && ids[4] > ids[3] && ids[5] > ids[4]);
    assert_int_equal(ids[1], 0);
    assert_int_equal(ids[2], 0);
    assert_int_equal(count_items(store), 5);
    int64_t again_id = -1;
    assert_int_equal(store_items_add(store, a, &items[5], 1, 2000, &again_id), 0); /* known now */
    assert_int_equal(again_id, 0);

    struct item_copy c = {0};
    assert_int_equal(store_item_get(store, ids[0], on_item_copy, &c), 0);
    assert_string_equal(c.key, "k2");
    assert_string_equal(c.title, "T \"quoted\" {a,b} \\ NULL");
    assert_string_equal(c.url, "https://example.org/k2");
    assert_int_equal(strncmp(c.author, "ab", 2), 0);
    assert_true(strlen(c.author) > 2);
    assert_string_equal(c.language, "en");
    assert_string_equal(c.summary, "<p>s, {1} \"2\" \\3</p>");
    assert_string_equal(c.text, "the text");
    assert_string_equal(c.cats, "[\"x\",\"y\\\"z}\"]");
    assert_int_equal(c.published_at, 100);
    assert_int_equal(c.updated_at, 150);
    assert_int_equal(c.first_seen_at, 2000);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_item_get(store, ids[3], on_item_copy, &c), 0);
    assert_string_equal(c.key, "q\"{x},\\y");
    assert_true(c.title_null && c.author_null && c.summary_null && c.text_null && c.cats_null);
    assert_true(c.published_at == FEED_TIME_NONE && c.updated_at == FEED_TIME_NONE);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_item_get(store, ids[4], on_item_copy, &c), 0);
    assert_string_equal(c.key, "NULL");
    assert_string_equal(c.title, "NULL");
    assert_false(c.text_null);
    assert_string_equal(c.text, "");
    /* The signature, all 64 bits: a story candidate of another feed sees it whole. */
    int64_t alert = 0;
    struct story_seen s = {0};
    assert_int_equal(store_alert_add(store, "t", ids[0], "[]", NULL, 0, 2000, &alert), 1);
    assert_int_equal(store_story_candidates(store, "t", 0, sig, b, on_story, &s, NULL), 0);
    assert_int_equal(s.n, 1);
    assert_true(s.simhash[0] == sig);

    /* Nothing, and an item without a key: an error, nothing stored. */
    assert_int_equal(store_items_add(store, a, items, 0, 2000, ids), 0);
    struct feed_item keyless = mkitem(NULL, 1);
    const struct store_new_item bad[2] = {{&nul, NULL, 0}, {&keyless, NULL, 0}};
    before = count_items(store);
    assert_int_equal(store_begin(store), 0);
    assert_true(store_items_add(store, b, bad, 2, 2000, ids) < 0);
    store_rollback(store);
    assert_int_equal(count_items(store), before);

    /* More than one statement's worth, a key repeated across them; a rollback keeps none. */
    enum { MANY = STORE_ADD_BATCH * 2 + 5 };
    struct feed_item *mi = calloc(MANY, sizeof(*mi));
    struct store_new_item *mn = calloc(MANY, sizeof(*mn));
    int64_t *mids = calloc(MANY, sizeof(*mids));
    char(*mk)[16] = calloc(MANY, sizeof(*mk));
    assert_true(mi && mn && mids && mk);
    for (size_t i = 0; i < MANY; i++) {
        (void)snprintf(mk[i], sizeof(mk[i]), "m%zu", i == STORE_ADD_BATCH + 1 ? (size_t)3 : i);
        mi[i] = mkitem(mk[i], (int64_t)i);
        mn[i] = (struct store_new_item){.item = &mi[i], .text = "t"};
    }
    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_items_add(store, b, mn, MANY, 3000, mids), MANY - 1);
    store_rollback(store);
    assert_int_equal(count_items(store), before);
    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_items_add(store, b, mn, MANY, 3000, mids), MANY - 1);
    assert_int_equal(store_commit(store), 0);
    assert_int_equal(count_items(store), before + MANY - 1);
    for (size_t i = 0; i < MANY; i++) {
        if (i == STORE_ADD_BATCH + 1) {
            assert_int_equal(mids[i], 0);
            continue;
        }
        assert_true(mids[i] > 0);
        assert_true(i == 0 || mids[i] > mids[i - (i == STORE_ADD_BATCH + 2 ? 2 : 1)]);
        memset(&c, 0, sizeof(c));
        assert_int_equal(store_item_get(store, mids[i], on_item_copy, &c), 0);
        assert_string_equal(c.key, mk[i]);
        assert_int_equal(c.published_at, (int64_t)i);
    }
    free(mi);
    free(mn);
    free(mids);
    free(mk);
    store_free(store);
}

/*
 * A database value goes to the engine of its kind, and a PostgreSQL URI is never taken for a
 * file (it once was a relative file name): a server that is not there is an error whose
 * message shows the value with its password hidden, and nothing is created. Runs once, in a
 * folder of its own as the working folder; the server is a Unix socket that does not exist,
 * so nothing leaves the machine.
 */
static void
test_store_iface_engine_by_value(void **state)
{
    const char *uri = "postgresql://feeds:s3cret@%2Fnonexistent%2Ffwpg/feedwatch";
    struct store *store = NULL;
    char *msg = NULL;
    char cwd[PATH_MAX], dir[64] = "/tmp/test_store_iface.XXXXXX";

    (void)state;
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(store_supports("feedwatch.db", &msg), 0);
    assert_null(msg);
    assert_int_equal(store_supports(uri, &msg), 0);
    assert_null(msg);
    assert_true(store_open(uri, &store, &msg) < 0);
    assert_null(store);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "'postgresql://***@%2Fnonexistent%2Ffwpg/feedwatch'"));
    assert_null(strstr(msg, "s3cret"));
    free(msg);
    msg = NULL;
    assert_true(store_open_reader("service=feeds", &store, &msg) < 0);
    assert_null(store);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "'service=feeds'"));
    free(msg);
    assert_int_equal(chdir(cwd), 0);
    /* Nothing was made: the folder is still empty. */
    assert_int_equal(rmdir(dir), 0);
}

/*
 * A feed's life (what decides its feed events: a move seen, the stall baseline, the last
 * state) survives a save and a load, and a part rolled back keeps neither it nor its events.
 */
static void
test_store_iface_feed_life(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    struct store_feed feed = {0}, back = {0};
    char *hooks[] = {"notify"};
    int64_t ev = 0;

    assert_int_equal(store_feed_ensure(store, "life", "https://example.org/l.xml", &feed), 0);
    assert_null(feed.move_url);
    assert_int_equal(feed.move_seen, 0);
    assert_true(feed.last_new_at == FEED_TIME_NONE);
    assert_true(feed.new_gap_s <= 0.0);
    assert_false(feed.stalled);
    assert_true(feed.doc_items < 0);
    assert_null(feed.life);

    set_str(&feed.move_url, "https://example.org/new.xml");
    feed.move_seen = 2;
    feed.last_new_at = 1700000000;
    feed.new_gap_s = 3600.5;
    feed.stalled = true;
    feed.doc_items = 20;
    set_str(&feed.life, "failing");
    assert_int_equal(store_feed_save(store, &feed), 0);
    assert_int_equal(store_feed_ensure(store, "life", "https://example.org/l.xml", &back), 0);
    assert_string_equal(back.move_url, "https://example.org/new.xml");
    assert_int_equal(back.move_seen, 2);
    assert_true(back.last_new_at == 1700000000);
    assert_true(back.new_gap_s > 3600.4 && back.new_gap_s < 3600.6);
    assert_true(back.stalled);
    assert_int_equal(back.doc_items, 20);
    assert_string_equal(back.life, "failing");
    struct store_feed copy = {0};
    assert_int_equal(store_feed_copy(&copy, &back), 0);
    assert_string_equal(copy.move_url, back.move_url);
    assert_string_equal(copy.life, back.life);
    store_feed_done(&copy);
    store_feed_done(&back);

    /* A poll's part undone: its state and its event go together. */
    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_part_begin(store), 0);
    feed.move_seen = 3;
    set_str(&feed.life, NULL);
    assert_int_equal(store_feed_event_add(store, feed.id, "feed-moved", "https://example.org/l.xml",
                                          "ok", "moved", hooks, 1, 1700000100, &ev),
                     0);
    assert_int_equal(store_feed_save(store, &feed), 0);
    store_part_rollback(store);
    assert_int_equal(store_commit(store), 0);
    assert_int_equal(store_feed_ensure(store, "life", "https://example.org/l.xml", &back), 0);
    assert_int_equal(back.move_seen, 2);
    assert_string_equal(back.life, "failing");
    store_feed_done(&back);
    int64_t at = 0;
    assert_int_equal(store_event_delivery_next_due(store, &at), 0);

    /* Back to absent; a new configured URL forgets a move not applied yet. */
    feed.last_new_at = FEED_TIME_NONE;
    feed.new_gap_s = -1.0;
    feed.stalled = false;
    feed.doc_items = -1;
    assert_int_equal(store_feed_save(store, &feed), 0);
    assert_int_equal(store_feed_ensure(store, "life", "https://example.org/l.xml", &back), 0);
    assert_true(back.last_new_at == FEED_TIME_NONE);
    assert_true(back.new_gap_s <= 0.0);
    assert_false(back.stalled);
    assert_true(back.doc_items < 0);
    assert_null(back.life);
    assert_string_equal(back.move_url, "https://example.org/new.xml");
    store_feed_done(&back);
    /* ... and the old source's pace, stall and document size (review20 L3). */
    feed.last_new_at = 1700000000;
    feed.new_gap_s = 3600.0;
    feed.stalled = true;
    feed.doc_items = 12;
    assert_int_equal(store_feed_save(store, &feed), 0);
    for (int pass = 0; pass < 2; pass++) { /* as the source changes, then as stored */
        assert_int_equal(store_feed_ensure(store, "life", "https://example.org/l2.xml", &back), 0);
        assert_null(back.move_url);
        assert_int_equal(back.move_seen, 0);
        assert_true(back.new_gap_s <= 0.0);
        assert_false(back.stalled);
        assert_true(back.doc_items < 0);
        store_feed_done(&back);
    }
    store_feed_done(&feed);
    store_free(store);
}

struct events_seen {
    int n;
    int64_t id[8];
    char event[8][32];
    char feed[8][32];
    char state[8][16];
    char feed_state[8][16];
    char reason[8][64];
    char url[8][64];
    int64_t alert_id[8], item_id[8];
};

static int
on_feed_event(void *userdata, const struct store_feed_event_row *row)
{
    struct events_seen *s = userdata;

    assert_true(s->n < 8);
    s->id[s->n] = row->id;
    (void)snprintf(s->event[s->n], sizeof(s->event[0]), "%s", row->event);
    (void)snprintf(s->feed[s->n], sizeof(s->feed[0]), "%s", row->feed);
    (void)snprintf(s->state[s->n], sizeof(s->state[0]), "%s", row->state);
    (void)snprintf(s->feed_state[s->n], sizeof(s->feed_state[0]), "%s", row->feed_state);
    (void)snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s", row->reason ? row->reason : "-");
    (void)snprintf(s->url[s->n], sizeof(s->url[0]), "%s", row->url ? row->url : "-");
    s->alert_id[s->n] = row->alert_id;
    s->item_id[s->n] = row->item_id;
    s->n++;
    return 0;
}

struct claimed {
    int n;
    int64_t id[4];
    unsigned attempts[4];
};

static int
on_claimed_event(void *userdata, int64_t id, const char *hook, unsigned attempts)
{
    struct claimed *c = userdata;

    assert_non_null(hook);
    assert_true(c->n < 4);
    c->id[c->n] = id;
    c->attempts[c->n] = attempts;
    c->n++;
    return 0;
}

/*
 * story-source (issue 17, part 2): an item that became a source of an alert is an event of
 * its own with the alert and the item, one pending delivery per hook, due at once, delivered
 * as feed events are; none when no hook takes it; not among the feed events listed.
 */
static void
test_store_iface_story_source_events(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    struct feed_item first = mkitem("a1", 100), copy = mkitem("b1", 100);
    char *hooks[] = {"notify", "webhook"};
    int64_t a1 = 0, b1 = 0, alert = 0, ev = 0, quiet = 0;
    struct events_seen seen = {0};
    int due = 0;

    assert_int_equal(store_item_add(store, a, &first, "text", 0, 1000, &a1), 1);
    assert_int_equal(store_item_add(store, b, &copy, "text", 0, 1001, &b1), 1);
    assert_int_equal(store_alert_add(store, "t", a1, "[]", hooks, 2, 1000, &alert), 1);
    assert_int_equal(store_alert_add_source(store, alert, b1), 0);
    assert_int_equal(store_story_source_add(store, b, alert, b1, hooks, 2, 1001, &ev), 0);
    assert_int_equal(store_story_source_add(store, b, alert, b1, NULL, 0, 1001, &quiet), 0);
    assert_true(ev > 0 && quiet > ev);
    assert_int_equal(store_event_deliveries_due(store, 1001, 10, on_due, &due), 0);
    assert_int_equal(due, 2);

    assert_int_equal(store_feed_event_get(store, ev, on_feed_event, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.event[0], "story-source");
    assert_string_equal(seen.feed[0], "b");
    assert_string_equal(seen.state[0], "pending");
    assert_int_equal(seen.alert_id[0], alert);
    assert_int_equal(seen.item_id[0], b1);
    assert_int_equal(store_feed_event_get(store, quiet, on_feed_event, &seen), 0);
    assert_string_equal(seen.state[1], "no-hook");

    /* Delivered as a feed event's: its state follows its deliveries. */
    assert_int_equal(
        store_event_delivery_set(store, ev, "notify", "delivered", 1, FEED_TIME_NONE, NULL, 1100),
        0);
    assert_int_equal(
        store_event_delivery_set(store, ev, "webhook", "delivered", 2, FEED_TIME_NONE, NULL, 1100),
        0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_feed_event_get(store, ev, on_feed_event, &seen), 0);
    assert_string_equal(seen.state[0], "delivered");

    /* Feed events only in the list; a feed event has no alert. */
    assert_int_equal(
        store_feed_event_add(store, a, "feed-stalled", NULL, "ok", NULL, NULL, 0, 1200, NULL), 0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_feed_events_list(store, false, 10, on_feed_event, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.event[0], "feed-stalled");
    assert_int_equal(seen.alert_id[0], 0);
    assert_int_equal(seen.item_id[0], 0);
    store_free(store);
}

/*
 * An item event whose delivery failed shows with its alert (M2): `alerts --failed` lists the
 * alerts whose own delivery failed and those an item event failed on (newest first, of a topic,
 * at most limit), the alert's own state staying its own deliveries'; the alert's item events
 * (story-source among them) are read with it; the failed ones are counted apart from the
 * alerts; a failed feed event is neither; `redeliver --failed` takes the alert off the list.
 */
static void
test_store_iface_failed_item_events(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    int64_t a1 = add_item(store, a, "a1", 100, 1000, 1);
    int64_t a2 = add_item(store, a, "a2", 100, 1000, 1);
    int64_t b1 = add_item(store, b, "b1", 100, 1001, 1);
    int64_t a3 = add_item(store, a, "a3", 100, 1000, 1);
    char *notify[] = {"notify"}, *hooks[] = {"src", "other"};
    int64_t sourced = 0, failing = 0, edited = 0, ev = 0, upd = 0, fev = 0, n = -1;
    int64_t delivered, pending, failed;
    struct alert_seen seen;
    struct events_seen evs = {0};
    int requeued = 0;

    assert_int_equal(store_alert_add(store, "t", a1, "[]", notify, 1, 1000, &sourced), 1);
    assert_int_equal(store_alert_add(store, "u", a2, "[]", notify, 1, 1000, &failing), 1);
    assert_true(failing > sourced);
    assert_int_equal(store_alert_add(store, "t", a3, "[]", NULL, 0, 1000, &edited), 1);
    assert_int_equal(store_item_update_add(store, a, edited, 0, hooks, 1, 1003, &upd), 0);
    assert_int_equal(store_alert_add_source(store, sourced, b1), 0);
    assert_int_equal(store_story_source_add(store, b, sourced, b1, hooks, 2, 1001, &ev), 0);
    assert_int_equal(store_feed_event_add(store, a, "feed-disabled", NULL, "disabled", NULL, hooks,
                                          1, 1002, &fev),
                     0);
    assert_int_equal(
        store_delivery_set(store, sourced, "notify", "delivered", 1, FEED_TIME_NONE, NULL, 1100),
        0);
    assert_int_equal(
        store_delivery_set(store, failing, "notify", "failed", 2, FEED_TIME_NONE, "HTTP 500", 1100),
        0);
    assert_int_equal(store_event_delivery_set(store, ev, "src", "failed", 3, FEED_TIME_NONE,
                                              "exit status 1", 1200),
                     0);
    assert_int_equal(
        store_event_delivery_set(store, ev, "other", "delivered", 1, FEED_TIME_NONE, NULL, 1200),
        0);
    assert_int_equal(store_event_delivery_set(store, fev, "src", "failed", 1, FEED_TIME_NONE,
                                              "exit status 1", 1200),
                     0);

    /* A failed item-updated lists its alert too (one without hooks of its own: no-hook). */
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_alerts_list(store, NULL, true, 10, on_alert, &seen), 0);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ids[0], failing);
    assert_int_equal(seen.ids[1], sourced);
    assert_int_equal(
        store_event_delivery_set(store, upd, "src", "failed", 2, FEED_TIME_NONE, "timed out", 1300),
        0);

    /* All three are --failed, newest first; the other two keep their own states. */
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_alerts_list(store, NULL, true, 10, on_alert, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.ids[0], edited);
    assert_int_equal(seen.ids[1], failing);
    assert_int_equal(seen.ids[2], sourced);
    assert_string_equal(seen.states[0], "no-hook");
    assert_string_equal(seen.states[1], "failed");
    assert_string_equal(seen.states[2], "delivered");
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_alerts_list(store, "t", true, 10, on_alert, &seen), 0);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ids[0], edited);
    assert_int_equal(seen.ids[1], sourced);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_alerts_list(store, NULL, true, 1, on_alert, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ids[0], edited);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_alerts_list(store, NULL, false, 0, on_alert, &seen), 0);
    assert_int_equal(seen.n, 3);

    /* Its story-source comes with it: the item, its state, each hook's delivery. */
    assert_int_equal(store_alert_item_events(store, sourced, on_feed_event, &evs), 0);
    assert_int_equal(evs.n, 1);
    assert_true(evs.id[0] == ev);
    assert_string_equal(evs.event[0], "story-source");
    assert_string_equal(evs.state[0], "failed");
    assert_string_equal(evs.feed[0], "b");
    assert_int_equal(evs.item_id[0], b1);
    struct deliveries_seen ds = {0};
    assert_int_equal(store_event_deliveries(store, ev, on_delivery, &ds), 0);
    assert_int_equal(ds.n, 2);
    assert_string_equal(ds.hook[1], "src");
    assert_string_equal(ds.state[1], "failed");
    assert_int_equal(ds.attempts[1], 3);
    memset(&evs, 0, sizeof(evs));
    assert_int_equal(store_alert_item_events(store, failing, on_feed_event, &evs), 0);
    assert_int_equal(evs.n, 0);
    assert_int_equal(store_alert_item_events(store, edited, on_feed_event, &evs), 0);
    assert_int_equal(evs.n, 1);
    assert_true(evs.id[0] == upd);
    assert_string_equal(evs.event[0], "item-updated");
    assert_string_equal(evs.state[0], "failed");

    /* Counted apart: one alert failed (its own), two item events (not the feed event). */
    assert_int_equal(store_alert_counts(store, &delivered, &pending, &failed, NULL), 0);
    assert_true(delivered == 1 && pending == 0 && failed == 1);
    assert_int_equal(store_item_events_failed(store, &n), 0);
    assert_int_equal(n, 2);

    /* `redeliver --failed` of events' deliveries: the alerts leave the list, the count 0. */
    assert_int_equal(store_event_deliveries_requeue_failed(store, NULL, "[\"src\",\"other\"]", 2000,
                                                           0, NULL, 0, on_requeued, &requeued),
                     3);
    assert_int_equal(requeued, 3);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_alerts_list(store, NULL, true, 10, on_alert, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ids[0], failing);
    assert_int_equal(store_item_events_failed(store, &n), 0);
    assert_int_equal(n, 0);
    store_free(store);
}

/*
 * Feed events are delivered as alerts are: one delivery per hook, due, running, reset after a
 * restart, retried, failed; the event's state is the worst of its deliveries', no-hook without
 * any; listed newest first, --failed ones alone; on a cluster they are claimed under a lease.
 */
static void
test_store_iface_feed_events(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    char *hooks[] = {"notify", "webhook"};
    int64_t ev = 0, quiet = 0, at = 0;
    struct events_seen seen = {0};
    struct deliveries_seen s;
    int due = 0;

    assert_int_equal(store_event_delivery_next_due(store, &at), 0);
    assert_int_equal(store_feed_event_add(store, a, "feed-disabled", "https://example.org/a.xml",
                                          "disabled", "HTTP 410 Gone", hooks, 2, 1000, &ev),
                     0);
    assert_int_equal(
        store_feed_event_add(store, a, "feed-stalled", NULL, "ok", NULL, NULL, 0, 1001, &quiet), 0);
    assert_true(ev > 0 && quiet > ev);
    /* Alerts' deliveries and events' are apart. */
    assert_int_equal(store_deliveries_due(store, 5000, 10, on_due, &due), 0);
    assert_int_equal(due, 0);
    assert_int_equal(store_event_deliveries_due(store, 999, 10, on_due, &due), 0);
    assert_int_equal(due, 0);
    assert_int_equal(store_event_deliveries_due(store, 1000, 10, on_due, &due), 0);
    assert_int_equal(due, 2);
    assert_int_equal(store_event_delivery_next_due(store, &at), 1);
    assert_int_equal(at, 1000);

    assert_int_equal(store_feed_event_get(store, ev, on_feed_event, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.event[0], "feed-disabled");
    assert_string_equal(seen.feed[0], "a");
    assert_string_equal(seen.url[0], "https://example.org/a.xml");
    assert_string_equal(seen.feed_state[0], "disabled");
    assert_string_equal(seen.reason[0], "HTTP 410 Gone");
    assert_string_equal(seen.state[0], "pending");
    assert_int_equal(store_feed_event_get(store, quiet + 100, on_feed_event, &seen), -ENOENT);

    /* Running, then a restart: pending again. */
    assert_int_equal(store_event_delivery_set(store, ev, "notify", "running", 1, FEED_TIME_NONE,
                                              NULL, FEED_TIME_NONE),
                     0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_feed_event_get(store, ev, on_feed_event, &seen), 0);
    assert_string_equal(seen.state[0], "running");
    store_free(store);
    store = open_store(db);
    assert_int_equal(store_deliveries_reset_running(store), 1);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_feed_event_get(store, ev, on_feed_event, &seen), 0);
    assert_string_equal(seen.state[0], "pending");

    /* Delivered to one, failed to the other: failed, listed with --failed. */
    assert_int_equal(
        store_event_delivery_set(store, ev, "notify", "delivered", 1, FEED_TIME_NONE, NULL, 1100),
        0);
    assert_int_equal(
        store_event_delivery_set(store, ev, "webhook", "pending", 1, 1500, "HTTP 503", 1100), 0);
    assert_int_equal(store_event_delivery_next_due(store, &at), 1);
    assert_int_equal(at, 1500);
    assert_int_equal(store_event_delivery_set(store, ev, "webhook", "failed", 3, FEED_TIME_NONE,
                                              "HTTP 500", 1600),
                     0);
    assert_int_equal(store_event_delivery_next_due(store, &at), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(store_event_deliveries(store, ev, on_delivery, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.hook[0], "notify");
    assert_string_equal(s.state[0], "delivered");
    assert_string_equal(s.state[1], "failed");
    assert_int_equal(s.attempts[1], 3);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_feed_events_list(store, false, 10, on_feed_event, &seen), 0);
    assert_int_equal(seen.n, 2);
    assert_true(seen.id[0] == quiet && seen.id[1] == ev);
    assert_string_equal(seen.state[0], "no-hook");
    assert_string_equal(seen.state[1], "failed");
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_feed_events_list(store, true, 10, on_feed_event, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_true(seen.id[0] == ev);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_feed_events_list(store, false, 1, on_feed_event, &seen), 0);
    assert_int_equal(seen.n, 1);

    /* `redeliver --failed`: the failed one (not the delivered) is pending again, from attempt 1;
     * past its key, or to a hook not configured, nothing. */
    int requeued = 0;
    assert_int_equal(store_event_deliveries_requeue_failed(store, NULL, "[\"notify\"]", 1700, 0,
                                                           NULL, 10, on_requeued, &requeued),
                     0);
    assert_int_equal(store_event_deliveries_requeue_failed(store, NULL, "[\"webhook\"]", 1700, ev,
                                                           "webhook", 10, on_requeued, &requeued),
                     0);
    assert_int_equal(store_event_deliveries_requeue_failed(store, "webhook", "[\"webhook\"]", 1700,
                                                           0, NULL, 10, on_requeued, &requeued),
                     1);
    assert_int_equal(requeued, 1);
    memset(&s, 0, sizeof(s));
    assert_int_equal(store_event_deliveries(store, ev, on_delivery, &s), 0);
    assert_string_equal(s.state[0], "delivered");
    assert_string_equal(s.state[1], "pending");
    assert_int_equal(s.attempts[1], 0);
    assert_int_equal(s.next_at[1], 1700);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_feed_event_get(store, ev, on_feed_event, &seen), 0);
    assert_string_equal(seen.state[0], "pending");
    assert_int_equal(store_event_delivery_set(store, ev, "webhook", "failed", 1, FEED_TIME_NONE,
                                              "HTTP 500", 1800),
                     0);

    /* A cluster claims them under a lease; an engine without clusters says it has none. */
    int64_t moved = 0;
    assert_int_equal(
        store_feed_event_add(store, a, "feed-moved", NULL, "ok", "to b", hooks, 1, 2000, &moved),
        0);
    struct claimed c = {0};
    /* n1 joins first (a join ends its earlier life's leases; a leave its own). */
    struct store_node_self n1 = {
        .name = "n1", .instance = "n1-life", .pid = 1, .started_at = 1, .lease_s = 60};
    if (store_clustered(store)) {
        assert_int_equal(store_begin(store), 0);
        assert_int_equal(store_node_join(store, &n1, 3600, NULL, NULL, NULL), 0);
        assert_int_equal(store_commit(store), 0);
    }
    int r = store_event_deliveries_claim(store, "n1", 2000, 60, 4, hooks, 2, on_claimed_event, &c);
    if (store_clustered(store)) {
        assert_int_equal(r, 1);
        assert_int_equal(c.n, 1);
        assert_true(c.id[0] == moved);
        assert_int_equal(c.attempts[0], 0);
        memset(&seen, 0, sizeof(seen));
        assert_int_equal(store_feed_event_get(store, moved, on_feed_event, &seen), 0);
        assert_string_equal(seen.state[0], "running");
        /* Held by n1's lease: not claimed again; its leave makes it pending. */
        c.n = 0;
        assert_int_equal(
            store_event_deliveries_claim(store, "n2", 2000, 60, 4, hooks, 2, on_claimed_event, &c),
            0);
        assert_int_equal(store_node_leave(store, &n1), 0);
        memset(&seen, 0, sizeof(seen));
        assert_int_equal(store_feed_event_get(store, moved, on_feed_event, &seen), 0);
        assert_string_equal(seen.state[0], "pending");
        assert_int_equal(
            store_event_deliveries_claim(store, "n2", 2000, 60, 4, hooks, 2, on_claimed_event, &c),
            1);
        assert_int_equal(c.attempts[0], 1);
    } else {
        assert_int_equal(r, -EOPNOTSUPP);
    }
    store_free(store);
}

/*
 * Retention of feed events: those raised before the cutoff whose deliveries are all done
 * (delivered, failed, or none) go, with their deliveries, oldest first, limit at a time; one
 * with a delivery pending or running stays, and so does a newer one.
 */
static void
test_store_iface_feed_events_prune(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    char *hooks[] = {"notify", "webhook"};
    int64_t done = 0, nohook = 0, failed = 0, half = 0, running = 0, young = 0;
    struct events_seen seen = {0};
    unsigned n = 99;

    assert_int_equal(store_feed_event_add(store, a, "feed-disabled", NULL, "disabled", "r", hooks,
                                          2, 1000, &done),
                     0);
    assert_int_equal(
        store_feed_event_add(store, a, "feed-stalled", NULL, "ok", "r", NULL, 0, 1001, &nohook), 0);
    assert_int_equal(
        store_feed_event_add(store, a, "feed-purged", NULL, "ok", "r", hooks, 1, 1002, &failed), 0);
    assert_int_equal(
        store_feed_event_add(store, a, "feed-moved", NULL, "ok", "r", hooks, 2, 1003, &half), 0);
    assert_int_equal(
        store_feed_event_add(store, a, "feed-recovered", NULL, "ok", "r", hooks, 1, 1004, &running),
        0);
    assert_int_equal(
        store_feed_event_add(store, a, "feed-purged", NULL, "ok", "r", hooks, 1, 5000, &young), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(store_event_delivery_set(store, done, hooks[i], "delivered", 1,
                                                  FEED_TIME_NONE, NULL, 1100),
                         0);
    assert_int_equal(store_event_delivery_set(store, failed, "notify", "failed", 3, FEED_TIME_NONE,
                                              "exit status 1", 1100),
                     0);
    /* Failed to one hook, still pending for the other: kept. */
    assert_int_equal(store_event_delivery_set(store, half, "notify", "failed", 3, FEED_TIME_NONE,
                                              "exit status 1", 1100),
                     0);
    assert_int_equal(store_event_delivery_set(store, running, "notify", "running", 1,
                                              FEED_TIME_NONE, NULL, FEED_TIME_NONE),
                     0);
    assert_int_equal(store_event_delivery_set(store, young, "notify", "delivered", 1,
                                              FEED_TIME_NONE, NULL, 5001),
                     0);

    /* Two at a time: the oldest first. */
    assert_int_equal(store_feed_events_prune(store, 4000, 2, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_feed_event_get(store, done, on_feed_event, &seen), -ENOENT);
    assert_int_equal(store_feed_event_get(store, nohook, on_feed_event, &seen), -ENOENT);
    assert_int_equal(store_feed_events_prune(store, 4000, 100, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_feed_event_get(store, failed, on_feed_event, &seen), -ENOENT);
    assert_int_equal(store_feed_events_prune(store, 4000, 100, &n), 0);
    assert_int_equal(n, 0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_feed_events_list(store, false, 10, on_feed_event, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_true(seen.id[0] == young && seen.id[1] == running && seen.id[2] == half);
    /* Their deliveries went with them: nothing of theirs is due or failed any more. */
    int requeued = 0;
    assert_int_equal(store_event_deliveries_requeue_failed(store, NULL, "[\"notify\"]", 6000, 0,
                                                           NULL, 10, on_requeued, &requeued),
                     1); /* half's only */
    store_free(store);
}

/* What store_batch_take gave. */
struct batch_seen {
    size_t n;
    bool ev[8];
    int64_t id[8];
    unsigned attempts[8];
};

static int
on_batch(void *userdata, bool ev, int64_t id, unsigned attempts)
{
    struct batch_seen *b = userdata;

    assert_true(b->n < 8);
    b->ev[b->n] = ev;
    b->id[b->n] = id;
    b->attempts[b->n] = attempts;
    b->n++;
    return 0;
}

/* The delivery of alert to hook: its state and next attempt. */
static const char *
delivery_of(struct store *store, int64_t alert, const char *hook, struct deliveries_seen *s,
            int64_t *ret_next)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(store_alert_deliveries(store, alert, on_delivery, s), 0);
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->hook[i], hook) == 0) {
            if (ret_next)
                *ret_next = s->next_at[i];
            return s->state[i];
        }
    fail_msg("no delivery of alert %lld to %s", (long long)alert, hook);
    return NULL;
}

/*
 * Batches: a hook's due deliveries, alerts' and feed events', taken together and made
 * running; the window kept in the store (across a reopen) defers the next ones to its end; a
 * full batch leaves the window open; only that hook's deliveries are taken.
 */
static void
test_store_iface_batches(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t i1 = add_item(store, a, "k1", 100, 1000, 1);
    int64_t i2 = add_item(store, a, "k2", 100, 1000, 1);
    int64_t i3 = add_item(store, a, "k3", 100, 1000, 1);
    int64_t al1 = 0, al2 = 0, al3 = 0, ev = 0, at = 0, open_at = -1, next = 0;
    char *both[] = {"digest", "notify"};
    char *digest[] = {"digest"};
    struct batch_seen b = {0};
    struct deliveries_seen s;
    struct alert_seen seen;
    int due = 0;

    assert_int_equal(store_batch_window(store, "digest", false, 0, &at), 0);
    assert_int_equal(at, FEED_TIME_NONE);
    assert_int_equal(store_alert_add(store, "t", i1, "[]", both, 2, 1000, &al1), 1);
    assert_int_equal(store_alert_add(store, "t", i2, "[]", digest, 1, 1001, &al2), 1);
    assert_int_equal(store_feed_event_add(store, a, "feed-disabled", NULL, "disabled", "gone",
                                          digest, 1, 1002, &ev),
                     0);
    if (store_clustered(store)) {
        struct store_node_self n1 = {
            .name = "n1", .instance = "n1-life", .pid = 1, .started_at = 1, .lease_s = 60};
        assert_int_equal(store_begin(store), 0);
        assert_int_equal(store_node_join(store, &n1, 3600, NULL, NULL, NULL), 0);
        assert_int_equal(store_commit(store), 0);
    }
    /* Nothing due yet at 999. */
    assert_int_equal(
        store_batch_take(store, "digest", 60, 999, 10, "n1", 60, on_batch, &b, &open_at), 0);
    assert_int_equal(open_at, 0);
    assert_int_equal(store_batch_window(store, "digest", false, 0, &at), 0);
    assert_int_equal(at, FEED_TIME_NONE); /* an empty take starts no window */

    /* At 1010: the two alerts' and the event's, alerts first, running, attempts counted. */
    assert_int_equal(
        store_batch_take(store, "digest", 60, 1010, 10, "n1", 60, on_batch, &b, &open_at), 3);
    assert_int_equal(b.n, 3);
    assert_true(!b.ev[0] && b.id[0] == al1 && !b.ev[1] && b.id[1] == al2);
    assert_true(b.ev[2] && b.id[2] == ev);
    assert_int_equal(b.attempts[0] + b.attempts[1] + b.attempts[2], 0);
    assert_string_equal(delivery_of(store, al1, "digest", &s, NULL), "running");
    assert_int_equal(s.attempts[0], 1);
    assert_string_equal(delivery_of(store, al1, "notify", &s, NULL), "pending"); /* not its */
    assert_string_equal(alert_state(store, al2, &seen), "running");
    assert_int_equal(store_batch_window(store, "digest", false, 0, &at), 0);
    assert_int_equal(at, 1010);

    /* Outcomes are each delivery's; a new alert inside the window waits for its end. */
    assert_int_equal(
        store_delivery_set(store, al1, "digest", "delivered", 1, FEED_TIME_NONE, NULL, 1011), 0);
    assert_int_equal(
        store_delivery_set(store, al2, "digest", "delivered", 1, FEED_TIME_NONE, NULL, 1011), 0);
    assert_int_equal(
        store_event_delivery_set(store, ev, "digest", "delivered", 1, FEED_TIME_NONE, NULL, 1011),
        0);
    assert_int_equal(store_alert_add(store, "t", i3, "[]", digest, 1, 1030, &al3), 1);
    store_free(store); /* the window holds across a restart */
    store = open_store(db);
    memset(&b, 0, sizeof(b));
    assert_int_equal(
        store_batch_take(store, "digest", 60, 1040, 10, "n1", 60, on_batch, &b, &open_at), 0);
    assert_int_equal(b.n, 0);
    assert_int_equal(open_at, 1070);
    assert_string_equal(delivery_of(store, al3, "digest", &s, &next), "pending");
    assert_int_equal(next, 1070);
    /* Not due before the window's end, for every reader of due deliveries. */
    assert_int_equal(store_deliveries_due(store, 1069, 10, on_due, &due), 0);
    assert_int_equal(due, 1); /* notify's of al1 only */
    assert_int_equal(store_delivery_next_due(store, &at), 1);
    assert_int_equal(at, 1000);
    assert_int_equal(
        store_delivery_set(store, al1, "notify", "delivered", 1, FEED_TIME_NONE, NULL, 1011), 0);
    assert_int_equal(store_delivery_next_due(store, &at), 1);
    assert_int_equal(at, 1070);
    /* Another hook's window is its own. */
    assert_int_equal(
        store_batch_take(store, "other", 60, 1040, 10, "n1", 60, on_batch, &b, &open_at), 0);
    assert_int_equal(open_at, 0);

    /* At 1070 it is taken; with a limit of one the batch is full and the window stays open. */
    assert_int_equal(store_batch_window(store, "digest", true, 900, &at), 0);
    assert_int_equal(at, 900);
    assert_int_equal(
        store_batch_take(store, "digest", 60, 1070, 1, "n1", 60, on_batch, &b, &open_at), 1);
    assert_true(b.n == 1 && b.id[0] == al3 && !b.ev[0]);
    assert_int_equal(store_batch_window(store, "digest", false, 0, &at), 0);
    assert_int_equal(at, 900);
    /* Forgetting the window: the next due one is taken at once. */
    assert_int_equal(store_batch_window(store, "digest", true, FEED_TIME_NONE, &at), 0);
    assert_int_equal(store_batch_window(store, "digest", false, 0, &at), 0);
    assert_int_equal(at, FEED_TIME_NONE);
    store_free(store);
}

/*
 * A reload shortens a hook's window (review M1): the deliveries deferred to the old window's
 * end (alerts' and feed events') wait for the new one's end, or none; one waiting for its own
 * retry backoff keeps it (the deferral moves due ones only); a longer window moves nothing.
 */
static void
test_store_iface_batch_rewindow(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t i1 = add_item(store, a, "k1", 100, 1000, 1);
    int64_t i2 = add_item(store, a, "k2", 100, 1000, 1);
    int64_t i3 = add_item(store, a, "k3", 100, 1000, 1);
    int64_t i4 = add_item(store, a, "k4", 100, 1000, 1);
    int64_t al1 = 0, al2 = 0, al3 = 0, al4 = 0, ev = 0, open_at = -1, next = 0;
    char *digest[] = {"digest"};
    struct batch_seen b = {0};
    struct deliveries_seen s;
    int due = 0;

    if (store_clustered(store)) {
        struct store_node_self n1 = {
            .name = "n1", .instance = "n1-life", .pid = 1, .started_at = 1, .lease_s = 60};
        assert_int_equal(store_begin(store), 0);
        assert_int_equal(store_node_join(store, &n1, 3600, NULL, NULL, NULL), 0);
        assert_int_equal(store_commit(store), 0);
    }
    /* A batch at 1010 opens an hour's window. */
    assert_int_equal(store_alert_add(store, "t", i1, "[]", digest, 1, 1000, &al1), 1);
    assert_int_equal(
        store_batch_take(store, "digest", 3600, 1010, 10, "n1", 60, on_batch, &b, &open_at), 1);
    assert_int_equal(
        store_delivery_set(store, al1, "digest", "delivered", 1, FEED_TIME_NONE, NULL, 1011), 0);
    /* Inside it: a new alert and a feed event, a retry whose backoff ended (due at 1025) and
     * one whose backoff runs until 1500. */
    assert_int_equal(store_alert_add(store, "t", i2, "[]", digest, 1, 1020, &al2), 1);
    assert_int_equal(store_feed_event_add(store, a, "feed-disabled", NULL, "disabled", "gone",
                                          digest, 1, 1020, &ev),
                     0);
    assert_int_equal(store_alert_add(store, "t", i3, "[]", digest, 1, 1020, &al3), 1);
    assert_int_equal(
        store_delivery_set(store, al3, "digest", "pending", 1, 1500, "exit status 1", 1020), 0);
    assert_int_equal(store_alert_add(store, "t", i4, "[]", digest, 1, 1020, &al4), 1);
    assert_int_equal(
        store_delivery_set(store, al4, "digest", "pending", 1, 1025, "exit status 1", 1020), 0);
    /* At 1030 the window is closed: the due ones wait for its end, the backoff is kept. */
    memset(&b, 0, sizeof(b));
    assert_int_equal(
        store_batch_take(store, "digest", 3600, 1030, 10, "n1", 60, on_batch, &b, &open_at), 0);
    assert_int_equal(open_at, 4610);
    assert_string_equal(delivery_of(store, al2, "digest", &s, &next), "pending");
    assert_int_equal(next, 4610);
    assert_string_equal(delivery_of(store, al4, "digest", &s, &next), "pending");
    assert_int_equal(next, 4610);
    assert_string_equal(delivery_of(store, al3, "digest", &s, &next), "pending");
    assert_int_equal(next, 1500);

    /* A longer window, or a hook without one, moves nothing. */
    assert_int_equal(store_batch_rewindow(store, "digest", 3600, 7200, 1040), 0);
    assert_int_equal(store_batch_rewindow(store, "other", 3600, 60, 1040), 0);
    assert_string_equal(delivery_of(store, al2, "digest", &s, &next), "pending");
    assert_int_equal(next, 4610);

    /* 1h -> 1m at 1040: the deferred ones are due at 1010 + 60; the retry keeps its 1500. */
    assert_int_equal(store_batch_rewindow(store, "digest", 3600, 60, 1040), 3);
    assert_string_equal(delivery_of(store, al2, "digest", &s, &next), "pending");
    assert_int_equal(next, 1070);
    assert_string_equal(delivery_of(store, al4, "digest", &s, &next), "pending");
    assert_int_equal(next, 1070);
    assert_string_equal(delivery_of(store, al3, "digest", &s, &next), "pending");
    assert_int_equal(next, 1500);
    assert_int_equal(store_event_deliveries_due(store, 1069, 10, on_due, &due), 0);
    assert_int_equal(due, 0);
    assert_int_equal(store_event_deliveries_due(store, 1070, 10, on_due, &due), 0);
    assert_int_equal(due, 1);

    /* A start (the window the deferrals were made with unknown: review11 M5): with the same
     * window, nothing moves; with none, the first attempts waiting past 1045 are due then (the
     * alert and the event), the retries keep theirs (al4 the window's end, al3 its backoff). */
    assert_int_equal(store_batch_rewindow(store, "digest", -1, 60, 1045), 0);
    assert_int_equal(store_batch_rewindow(store, "digest", -1, 0, 1045), 2);
    assert_string_equal(delivery_of(store, al2, "digest", &s, &next), "pending");
    assert_int_equal(next, 1045);
    assert_string_equal(delivery_of(store, al4, "digest", &s, &next), "pending");
    assert_int_equal(next, 1070);
    assert_string_equal(delivery_of(store, al3, "digest", &s, &next), "pending");
    assert_int_equal(next, 1500);

    /* 1m -> none at 1050: due at once (al4: the others were); the retry keeps its backoff. */
    assert_int_equal(store_batch_rewindow(store, "digest", 60, 0, 1050), 1);
    due = 0;
    assert_int_equal(store_deliveries_due(store, 1050, 10, on_due, &due), 0);
    assert_int_equal(due, 2);
    due = 0;
    assert_int_equal(store_event_deliveries_due(store, 1050, 10, on_due, &due), 0);
    assert_int_equal(due, 1);
    assert_string_equal(delivery_of(store, al3, "digest", &s, &next), "pending");
    assert_int_equal(next, 1500);
    store_free(store);
}

/*
 * A feed's items by their link (one item per URL, or none), and a new key for one: the
 * lookup of a feed whose ids changed while its links stayed (feed-ids-changed).
 */
static void
test_store_iface_items_by_url(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    struct feed_item one = mkitem("urn:1", 1), two = mkitem("urn:2", 2), dup1 = mkitem("urn:3", 3),
                     dup2 = mkitem("urn:4", 4), other = mkitem("urn:1", 5);
    one.link = "https://x.test/1";
    one.title = "One";
    two.link = "https://x.test/2";
    dup1.link = dup2.link = "https://x.test/same";
    other.link = "https://x.test/2"; /* another feed's */
    int64_t id1 = 0, id2 = 0;
    assert_int_equal(store_item_add(store, a, &one, NULL, 0, 100, &id1), 1);
    assert_int_equal(store_item_add(store, a, &two, NULL, 0, 100, &id2), 1);
    assert_int_equal(store_item_add(store, a, &dup1, NULL, 0, 100, NULL), 1);
    assert_int_equal(store_item_add(store, a, &dup2, NULL, 0, 100, NULL), 1);
    assert_int_equal(store_item_add(store, b, &other, NULL, 0, 100, NULL), 1);

    const char *urls[] = {"https://x.test/2", "https://x.test/none", "https://x.test/same",
                          "https://x.test/1"};
    struct store_item_ref refs[4];
    assert_int_equal(store_items_by_url(store, a, urls, 4, refs), 0);
    assert_true(refs[0].id == id2 && refs[1].id == 0 && refs[2].id == 0 && refs[3].id == id1);
    assert_string_equal(refs[0].key, "urn:2");
    assert_null(refs[1].key);
    assert_null(refs[2].key); /* two items have it: neither is the one */
    assert_string_equal(refs[3].key, "urn:1");
    /* What tells whether an item under a new key is the same: its title and date. */
    assert_string_equal(refs[3].title, "One");
    assert_int_equal(refs[3].published_at, 1);
    assert_null(refs[0].title);
    assert_int_equal(refs[1].published_at, FEED_TIME_NONE);
    for (int i = 0; i < 4; i++)
        store_item_ref_done(&refs[i]);

    /* A new key; not one the feed has already. */
    assert_int_equal(store_item_rekey(store, a, id1, "urn:new:1", "urn:new:1"), 1);
    assert_int_equal(store_item_known(store, a, "urn:new:1"), 1);
    assert_int_equal(store_item_known(store, a, "urn:1"), 0);
    assert_int_equal(store_item_rekey(store, a, id2, "urn:new:1", "urn:new:1"), 0);
    assert_int_equal(store_item_known(store, a, "urn:2"), 1);
    /* Only its own feed's item. */
    assert_int_equal(store_item_rekey(store, b, id2, "urn:x", NULL), 0);
    store_free(store);
}

struct versions_seen {
    int n;
    int64_t id[12];
    char title[12][32];
    char changes[12][96];
};

static int
on_version(void *userdata, const struct store_item_version *v)
{
    struct versions_seen *s = userdata;
    assert_true(s->n < 12);
    s->id[s->n] = v->id;
    (void)snprintf(s->title[s->n], sizeof(s->title[0]), "%s", v->title ? v->title : "-");
    (void)snprintf(s->changes[s->n], sizeof(s->changes[0]), "%s", v->changes);
    s->n++;
    return 0;
}

/*
 * Edited items: every item stored has the fingerprint of its fields (one at a time or a poll's
 * batch), a poll reads it with the item's id, last edit and pruning; an edit keeps the version
 * it replaced (the newest STORE_VERSIONS_MAX), the item takes the new fields; item-updated rides
 * on an alert as a feed_events row delivered as feed events are, listed with its alert and not
 * by `events`; retention clears the versions.
 */
static void
test_store_iface_item_edits(void **state)
{
    struct iface_db *db = *state;
    struct store *store = open_store(db);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    struct feed_item one = mkitem("urn:1", 100), two = mkitem("urn:2", 100);
    one.title = "Talks planned";
    one.summary = "<p>Talks are planned.</p>";
    two.title = "Other";
    two.content = "<p>Body</p>";
    int64_t id1 = 0, ids[1] = {0};
    assert_int_equal(store_item_add(store, a, &one, "Talks are planned.", 0, 1000, &id1), 1);
    struct store_new_item add = {.item = &two, .text = "Body"};
    assert_int_equal(store_items_add(store, a, &add, 1, 1000, ids), 1);

    const char *keys[] = {"urn:2", "urn:none", "urn:1"};
    struct store_item_seen seen[3];
    assert_int_equal(store_items_seen(store, a, keys, 3, seen), 0);
    assert_true(seen[0].id == ids[0] && seen[2].id == id1 && seen[1].id == 0);
    assert_true(seen[0].fingerprint == hash_item_fields("Other", NULL, "<p>Body</p>"));
    assert_true(seen[2].fingerprint ==
                hash_item_fields("Talks planned", "<p>Talks are planned.</p>", NULL));
    assert_true(seen[2].edited_at == FEED_TIME_NONE && !seen[2].pruned);
    assert_true(seen[1].fingerprint == 0 && seen[1].edited_at == FEED_TIME_NONE);

    struct store_item_fields f;
    assert_int_equal(store_item_fields_get(store, id1, &f), 0);
    assert_string_equal(f.title, "Talks planned");
    assert_string_equal(f.summary, "<p>Talks are planned.</p>");
    assert_null(f.content);
    assert_false(f.pruned);
    assert_int_equal(f.since_at, 1000);
    store_item_fields_done(&f);
    assert_int_equal(store_item_fields_get(store, id1 + 1000, &f), -ENOENT);

    assert_int_equal(store_item_fingerprint_set(store, id1, 42), 0);
    assert_int_equal(store_items_seen(store, a, keys + 2, 1, seen), 0);
    assert_true(seen[0].fingerprint == 42);

    /* An alert on the item, then an edit and its item-updated. */
    char *hooks[] = {"edits"};
    int64_t alert = 0, found = 0;
    assert_int_equal(store_alert_find(store, "osce", id1, &found), 0);
    assert_int_equal(store_alert_add(store, "osce", id1, NULL, NULL, 0, 1000, &alert), 1);
    assert_int_equal(store_alert_find(store, "osce", id1, &found), 1);
    assert_true(found == alert);
    assert_int_equal(store_alert_find(store, "other", id1, &found), 0);

    struct feed_item edited = one;
    edited.title = "Talks collapse";
    struct store_item_edit e = {
        .item = &edited,
        .text = "Talks collapsed.",
        .fingerprint = 77,
        .prev_title = "Talks planned",
        .prev_text = "Talks are planned.",
        .prev_seen_at = 1000,
        .changes =
            "[{\"field\":\"title\",\"before\":\"Talks planned\",\"after\":\"Talks collapse\"}]",
        .simhash = UINT64_C(0xf00dfeedcafe0123),
    };
    int64_t v1 = 0, upd = 0;
    assert_int_equal(store_item_edit(store, id1, &e, 2000, &v1), 0);
    assert_true(v1 > 0);
    assert_int_equal(store_items_seen(store, a, keys + 2, 1, seen), 0);
    assert_true(seen[0].fingerprint == 77 && seen[0].edited_at == 2000);
    assert_int_equal(store_item_fields_get(store, id1, &f), 0);
    assert_string_equal(f.title, "Talks collapse");
    assert_int_equal(f.since_at, 2000);
    store_item_fields_done(&f);
    /* The edited text's SimHash is the item's: an alert raised on it now has its bands. */
    int64_t later = 0;
    struct story_seen ss = {0};
    assert_int_equal(store_alert_add(store, "later", id1, NULL, NULL, 0, 2000, &later), 1);
    assert_int_equal(store_story_candidates(store, "later", 0, e.simhash, 0, on_story, &ss, NULL),
                     0);
    assert_true(ss.n == 1 && ss.ids[0] == later && ss.simhash[0] == e.simhash);

    assert_int_equal(store_item_update_add(store, a, alert, v1, hooks, 1, 2000, &upd), 0);
    struct events_seen ev = {0};
    assert_int_equal(store_feed_event_get(store, upd, on_feed_event, &ev), 0);
    assert_string_equal(ev.event[0], "item-updated");
    assert_string_equal(ev.state[0], "pending");
    ev.n = 0;
    assert_int_equal(store_feed_events_list(store, false, 10, on_feed_event, &ev), 0);
    assert_int_equal(ev.n, 0); /* feed events only */
    assert_int_equal(store_alert_item_events(store, alert, on_feed_event, &ev), 0);
    assert_int_equal(ev.n, 1);
    assert_true(ev.id[0] == upd);
    /* Delivered as feed events are. */
    struct claimed c = {0};
    assert_int_equal(store_event_deliveries_due(store, 2000, 10, on_claimed_event, &c), 0);
    assert_int_equal(c.n, 1);
    assert_true(c.id[0] == upd);
    assert_int_equal(
        store_event_delivery_set(store, upd, "edits", "delivered", 1, FEED_TIME_NONE, NULL, 2001),
        0);
    ev.n = 0;
    assert_int_equal(store_alert_item_events(store, alert, on_feed_event, &ev), 0);
    assert_string_equal(ev.state[0], "delivered");

    /* The newest STORE_VERSIONS_MAX versions stay, newest first. */
    for (int i = 0; i < STORE_VERSIONS_MAX + 2; i++) {
        char t[32];
        (void)snprintf(t, sizeof(t), "v%d", i);
        e.prev_title = t;
        assert_int_equal(store_item_edit(store, id1, &e, 3000 + i, NULL), 0);
    }
    struct versions_seen vs = {0};
    assert_int_equal(store_item_versions(store, id1, on_version, &vs), 0);
    assert_int_equal(vs.n, STORE_VERSIONS_MAX);
    char want[32];
    (void)snprintf(want, sizeof(want), "v%d", STORE_VERSIONS_MAX + 1);
    assert_string_equal(vs.title[0], want);
    assert_string_equal(vs.title[STORE_VERSIONS_MAX - 1], "v2");
    assert_true(vs.id[0] > vs.id[1]);
    assert_true(strstr(vs.changes[0], "Talks collapse") != NULL);
    /* The update's version was dropped: its changes with it. */
    memset(&ev, 0, sizeof(ev));
    assert_int_equal(store_feed_event_get(store, upd, on_feed_event, &ev), 0);

    /* Retention clears the versions with the item. */
    unsigned n = 0;
    assert_int_equal(store_prune_batch(store, 5000, INT64_MAX, 10, 1 << 20, 6000, NULL, NULL, &n),
                     0);
    assert_true(n >= 1);
    memset(&vs, 0, sizeof(vs));
    assert_int_equal(store_item_versions(store, id1, on_version, &vs), 0);
    assert_int_equal(vs.n, 0);
    assert_int_equal(store_items_seen(store, a, keys + 2, 1, seen), 0);
    assert_true(seen[0].pruned);
    store_free(store);
}

#define IFACE_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest per_engine[] = {
        IFACE_TEST(test_store_iface_feed_ensure_and_save),
        IFACE_TEST(test_store_iface_feed_list),
        IFACE_TEST(test_store_iface_item_dedup),
        IFACE_TEST(test_store_iface_items_known),
        IFACE_TEST(test_store_iface_items_add),
        IFACE_TEST(test_store_iface_poll_transaction),
        IFACE_TEST(test_store_iface_reader),
        IFACE_TEST(test_store_iface_alerts_once),
        IFACE_TEST(test_store_iface_deliveries),
        IFACE_TEST(test_store_iface_prune_batch),
        IFACE_TEST(test_store_iface_feed_model_and_urls),
        IFACE_TEST(test_store_iface_items_query),
        IFACE_TEST(test_store_iface_stories_and_sources),
        IFACE_TEST(test_store_iface_alert_sources_capped),
        IFACE_TEST(test_store_iface_story_keys),
        IFACE_TEST(test_store_iface_story_source_events),
        IFACE_TEST(test_store_iface_failed_item_events),
        IFACE_TEST(test_store_iface_feed_life),
        IFACE_TEST(test_store_iface_feed_events),
        IFACE_TEST(test_store_iface_batches),
        IFACE_TEST(test_store_iface_batch_rewindow),
        IFACE_TEST(test_store_iface_feed_events_prune),
        IFACE_TEST(test_store_iface_items_by_url),
        IFACE_TEST(test_store_iface_item_edits),
    };
    const struct CMUnitTest once[] = {
        cmocka_unit_test(test_store_iface_engine_by_value),
    };
    int failed = 0;

    for (size_t i = 0; i < sizeof(iface_engines) / sizeof(iface_engines[0]); i++) {
        char group[64];

        g_engine = &iface_engines[i];
        (void)snprintf(group, sizeof(group), "store_iface/%s", g_engine->name);
        print_message("%s\n", group);
        failed += _cmocka_run_group_tests(group, per_engine,
                                          sizeof(per_engine) / sizeof(per_engine[0]), NULL, NULL);
    }
    failed += cmocka_run_group_tests_name("store_iface", once, NULL, NULL);
    return failed;
}
