/*
 * test_store.c — the SQLite store against real files, one temporary directory per test.
 *
 * The test reads the rows back through its own sqlite3 connection where the store's API
 * does not show a column (schema, NULLs, categories JSON).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "parse/feed.h"
#include "store.h"

struct fixture {
    char dir[64];
    char db[128];
};

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    /*
     * On tmpfs when there is one: these tests are about what the store keeps, not about the
     * disk, and on a busy machine each commit's fsync on /tmp can wait a second (a run took
     * 694 s of wall time for 28 s of CPU).
     */
    (void)snprintf(fx->dir, sizeof(fx->dir), "/dev/shm/test_store.XXXXXX");
    if (!mkdtemp(fx->dir)) {
        (void)snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_store.XXXXXX");
        assert_non_null(mkdtemp(fx->dir));
    }
    (void)snprintf(fx->db, sizeof(fx->db), "%s/feedwatch.db", fx->dir);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;
    struct dirent *de;
    DIR *d = opendir(fx->dir);

    assert_non_null(d);
    while ((de = readdir(d))) {
        char path[400];

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        (void)snprintf(path, sizeof(path), "%s/%s", fx->dir, de->d_name);
        assert_int_equal(unlink(path), 0);
    }
    (void)closedir(d);
    assert_int_equal(rmdir(fx->dir), 0);
    free(fx);
    return 0;
}

static struct store *
open_store(const struct fixture *fx)
{
    struct store *store = NULL;
    char *msg = NULL;
    int r = store_open(fx->db, &store, &msg);

    if (r < 0)
        fail_msg("store_open: %d %s", r, msg ? msg : "(no message)");
    assert_null(msg);
    assert_non_null(store);
    return store;
}

static sqlite3 *
open_raw(const struct fixture *fx)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    (void)sqlite3_busy_timeout(db, 5000);
    return db;
}

static void
raw_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
}

/* Runs a query with one optional text parameter and returns its first column as an integer. */
static int64_t
raw_int(sqlite3 *db, const char *sql, const char *param)
{
    sqlite3_stmt *st = NULL;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (param)
        assert_int_equal(sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    return v;
}

/* Same, for a text (or NULL) result; the caller frees it. */
static char *
raw_text(sqlite3 *db, const char *sql, const char *param)
{
    sqlite3_stmt *st = NULL;
    const unsigned char *s;
    char *v = NULL;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (param)
        assert_int_equal(sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    s = sqlite3_column_text(st, 0);
    if (s) {
        v = strdup((const char *)s);
        assert_non_null(v);
    }
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    return v;
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

static void
add_item(struct store *store, int64_t feed_id, const char *key, int64_t published_at,
         int64_t now_at, int expect)
{
    struct feed_item item = mkitem(key, published_at);

    assert_int_equal(store_item_add(store, feed_id, &item, NULL, 0, now_at, NULL), expect);
}

static int64_t
count_items(struct store *store)
{
    int64_t n = -1;

    assert_int_equal(store_count_items(store, &n), 0);
    return n;
}

static void
test_store_open_creates_schema_v1_in_wal_mode(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    char wal[160];
    struct stat st;
    sqlite3 *db;
    char *mode;

    /* A write makes the WAL file exist, so its mode can be checked too. */
    (void)ensure_feed(store, "a", "https://example.org/a.xml");

    assert_int_equal(stat(fx->db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    (void)snprintf(wal, sizeof(wal), "%s-wal", fx->db);
    assert_int_equal(stat(wal, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);

    db = open_raw(fx);
    assert_int_equal(raw_int(db, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
    assert_int_equal(STORE_SCHEMA_VERSION, 15);
    mode = raw_text(db, "PRAGMA journal_mode", NULL);
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(raw_int(db, "PRAGMA application_id", NULL), 0x46574442);
    assert_int_equal(raw_int(db,
                             "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND"
                             " name IN ('feeds', 'items')",
                             NULL),
                     2);
    assert_int_equal(raw_int(db,
                             "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND"
                             " name IN ('items_newest', 'items_feed_newest')",
                             NULL),
                     2);
    /*
     * Every column of schema v1 is there, the three feed columns of v3, the model of v4, the
     * options of `feedwatch add` of v5, pruned_at of v6 (retention), base_url of v11 and the
     * seven columns of a feed's life of v12 (feed events), an item's fingerprint and last
     * edit of v13 (edited items).
     */
    assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_table_info('feeds')", NULL), 28);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_table_info('items')", NULL), 19);
    /* The CREATE text keeps the column comments. */
    assert_int_equal(raw_int(db,
                             "SELECT instr(sql, '-- identity within the feed') > 0"
                             " FROM sqlite_schema WHERE name = 'items'",
                             NULL),
                     1);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    store_free(store);
}

static void
test_store_reopen_is_idempotent(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    struct store_feed feed = {0};
    int64_t id, objects;
    sqlite3 *db;

    id = ensure_feed(store, "a", "https://example.org/a.xml");
    add_item(store, id, "k1", 1000, 2000, 1);
    store_free(store);

    db = open_raw(fx);
    objects = raw_int(db, "SELECT count(*) FROM sqlite_schema", NULL);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    store = open_store(fx);
    store_free(store);
    store = open_store(fx);
    assert_int_equal(count_items(store), 1);
    assert_int_equal(store_feed_ensure(store, "a", "https://example.org/a.xml", &feed), 0);
    assert_int_equal(feed.id, id);
    assert_int_equal(feed.items, 1);
    store_feed_done(&feed);
    store_free(store);

    db = open_raw(fx);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema", NULL), objects);
    assert_int_equal(raw_int(db, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void
test_store_two_connections_share_the_file(void **state)
{
    struct fixture *fx = *state;
    struct store *one = open_store(fx);
    struct store *two = open_store(fx);
    int64_t a;

    /* The second open finds schema v1 and migrates nothing; both see each other's rows. */
    a = ensure_feed(one, "a", "https://example.org/a.xml");
    assert_int_equal(ensure_feed(two, "a", "https://example.org/a.xml"), a);
    add_item(one, a, "k1", 100, 1000, 1);
    add_item(two, a, "k1", 100, 1000, 0);
    assert_int_equal(count_items(two), 1);

    /* A reader sees the last commit, not the open transaction of the writer. */
    assert_int_equal(store_begin(one), 0);
    add_item(one, a, "k2", 100, 1000, 1);
    assert_int_equal(count_items(two), 1);
    assert_int_equal(store_commit(one), 0);
    assert_int_equal(count_items(two), 2);
    store_free(one);
    store_free(two);
}

static int
on_count_row(void *userdata, const struct store_item_row *row)
{
    (void)row;
    ++*(int *)userdata;
    return 0;
}

/* A reader opened off the loop reads what the writer committed and can never write. */
static void
test_store_reader_reads_and_never_writes(void **state)
{
    struct fixture *fx = *state;
    struct store *w = open_store(fx);
    struct store *r = NULL;
    char *msg = NULL;
    int64_t a = ensure_feed(w, "a", "https://example.org/a.xml");
    int n = 0;

    add_item(w, a, "k1", 100, 1000, 1);
    assert_int_equal(store_open_reader(fx->db, &r, &msg), 0);
    assert_null(msg);
    assert_int_equal(store_items_list(r, NULL, 10, true, on_count_row, &n), 0);
    assert_int_equal(n, 1);
    add_item(w, a, "k2", 100, 1000, 1);
    assert_int_equal(count_items(r), 2);
    /* A write through the reader fails and leaves nothing behind. */
    struct feed_item item = mkitem("k3", 100);
    assert_true(store_item_add(r, a, &item, NULL, 0, 1000, NULL) < 0);
    assert_int_equal(count_items(w), 2);
    store_free(r);
    store_free(w);

    /* A file that is not a database of this schema is refused, with the path named. */
    char other[200];
    (void)snprintf(other, sizeof(other), "%s/none.db", fx->dir);
    assert_true(store_open_reader(other, &r, &msg) < 0);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "none.db"));
    free(msg);
}

static void
test_store_newer_schema_refused(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    struct store *sentinel = (struct store *)&sentinel;
    struct store *got = sentinel;
    char *msg = NULL;
    sqlite3 *db;
    int r;

    store_free(store);
    db = open_raw(fx);
    raw_exec(db, "PRAGMA user_version = 16");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    r = store_open(fx->db, &got, &msg);
    assert_true(r < 0);
    assert_ptr_equal(got, sentinel);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "database schema 16 is newer than this feedwatch (15)"));
    assert_non_null(strstr(msg, fx->db));
    free(msg);

    /* Refused without touching it. */
    db = open_raw(fx);
    assert_int_equal(raw_int(db, "PRAGMA user_version", NULL), 16);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void
test_store_foreign_database_refused(void **state)
{
    struct fixture *fx = *state;
    struct store *got = NULL;
    char *msg = NULL;
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    raw_exec(db, "PRAGMA application_id = 42; CREATE TABLE t (x)");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    assert_true(store_open(fx->db, &got, &msg) < 0);
    assert_null(got);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "not a feedwatch database"));
    free(msg);
}

static void
test_store_open_error_names_the_file(void **state)
{
    struct fixture *fx = *state;
    struct store *got = NULL;
    char path[200], expect[300];
    char *msg = NULL;
    int r;

    (void)snprintf(path, sizeof(path), "%s/missing/feedwatch.db", fx->dir);
    r = store_open(path, &got, &msg);
    assert_int_equal(r, -ENOENT);
    assert_null(got);
    assert_non_null(msg);
    (void)snprintf(expect, sizeof(expect),
                   "cannot open database '%s': unable to open database file", path);
    assert_memory_equal(msg, expect, strlen(expect));
    free(msg);

    /* A file that is not a database at all. */
    {
        FILE *f = fopen(fx->db, "w");

        assert_non_null(f);
        assert_int_equal(fputs("this is not an SQLite database, but it is long enough to "
                               "have a header of one hundred bytes, which it does not match\n",
                               f) >= 0,
                         1);
        assert_int_equal(fclose(f), 0);
    }
    r = store_open(fx->db, &got, &msg);
    assert_true(r < 0);
    assert_null(got);
    assert_non_null(strstr(msg, "file is not a database"));
    free(msg);
}

static void
test_store_item_dedup_per_feed_key(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a, b;
    const char *order[] = {"k3", "k2", "k1"};

    a = ensure_feed(store, "a", "https://example.org/a.xml");
    b = ensure_feed(store, "b", "https://example.org/b.xml");
    add_item(store, a, "k1", 100, 1000, 1);
    add_item(store, a, "k1", 100, 1000, 0);
    add_item(store, a, "k1", 999, 5000, 0); /* other data, same key: still known */
    add_item(store, b, "k1", 100, 1000, 1);
    add_item(store, a, "k2", 200, 1000, 1);
    add_item(store, a, "k3", 300, 1000, 1);
    assert_int_equal(count_items(store), 4);

    /* The feed reorders its items: nothing is new. */
    for (size_t i = 0; i < 3; i++)
        add_item(store, a, order[i], 100, 2000, 0);
    assert_int_equal(count_items(store), 4);
    store_free(store);
}

static void
test_store_item_keys_survive_reopen(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a;

    a = ensure_feed(store, "a", "https://example.org/a.xml");
    assert_int_equal(store_begin(store), 0);
    add_item(store, a, "k1", 100, 1000, 1);
    add_item(store, a, "k2", FEED_TIME_NONE, 1000, 1);
    assert_int_equal(store_commit(store), 0);
    store_free(store);

    store = open_store(fx);
    add_item(store, a, "k1", 100, 3000, 0);
    add_item(store, a, "k2", FEED_TIME_NONE, 3000, 0);
    add_item(store, a, "k3", FEED_TIME_NONE, 3000, 1);
    assert_int_equal(count_items(store), 3);
    store_free(store);
}

static void
test_store_item_known_per_feed(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");

    assert_int_equal(store_item_known(store, a, "k1"), 0);
    add_item(store, a, "k1", 100, 1000, 1);
    assert_int_equal(store_item_known(store, a, "k1"), 1);
    assert_int_equal(store_item_known(store, b, "k1"), 0); /* another feed's key */
    assert_int_equal(store_item_known(store, a, "K1"), 0); /* keys are exact */
    store_free(store);
}

static void
test_store_feed_model_round_trip(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    static const char blob[] = "feedwatch-boilerplate 1\n0123456789abcdef 3\n";
    char *data = (char *)&data;
    size_t len = 99;

    /* None yet. */
    assert_int_equal(store_feed_model_get(store, a, &data, &len), 0);
    assert_null(data);
    assert_int_equal(len, 0);

    /* Saved inside a transaction, it survives a reopen, and belongs to its feed only. */
    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_feed_model_set(store, a, blob, sizeof(blob) - 1), 0);
    assert_int_equal(store_commit(store), 0);
    store_free(store);
    store = open_store(fx);
    assert_int_equal(store_feed_model_get(store, a, &data, &len), 0);
    assert_non_null(data);
    assert_int_equal(len, sizeof(blob) - 1);
    assert_memory_equal(data, blob, len);
    assert_int_equal(data[len], '\0');
    free(data);
    assert_int_equal(store_feed_model_get(store, b, &data, &len), 0);
    assert_null(data);

    /* A rolled-back poll leaves the old model; NULL forgets it. */
    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_feed_model_set(store, a, "x", 1), 0);
    store_rollback(store);
    assert_int_equal(store_feed_model_get(store, a, &data, &len), 0);
    assert_int_equal(len, sizeof(blob) - 1);
    free(data);
    assert_int_equal(store_feed_model_set(store, a, NULL, 0), 0);
    assert_int_equal(store_feed_model_get(store, a, &data, &len), 0);
    assert_null(data);
    store_free(store);
}

static void
test_store_parts_of_one_transaction(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");

    assert_true(store_part_begin(store) < 0); /* only inside a transaction */
    assert_int_equal(store_begin(store), 0);
    /* Poll of a: kept. */
    assert_int_equal(store_part_begin(store), 0);
    add_item(store, a, "k1", 100, 1000, 1);
    assert_int_equal(store_part_end(store), 0);
    /* Poll of b: undone alone, the transaction goes on. */
    assert_int_equal(store_part_begin(store), 0);
    add_item(store, b, "k1", 100, 1000, 1);
    add_item(store, b, "k2", 100, 1000, 1);
    store_part_rollback(store);
    /* Another poll of a: kept. */
    assert_int_equal(store_part_begin(store), 0);
    add_item(store, a, "k2", 100, 1000, 1);
    assert_int_equal(store_part_end(store), 0);
    assert_int_equal(store_commit(store), 0);

    assert_int_equal(store_item_known(store, a, "k1"), 1);
    assert_int_equal(store_item_known(store, a, "k2"), 1);
    assert_int_equal(store_item_known(store, b, "k1"), 0);
    assert_int_equal(count_items(store), 2);

    /* A rolled-back transaction takes every part with it. */
    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_part_begin(store), 0);
    add_item(store, b, "k3", 100, 1000, 1);
    assert_int_equal(store_part_end(store), 0);
    store_rollback(store);
    assert_int_equal(count_items(store), 2);
    store_free(store);
}

static void
test_store_rollback_leaves_nothing(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    struct store_feed feed = {0};
    int64_t a;

    assert_int_equal(store_feed_ensure(store, "a", "https://example.org/a.xml", &feed), 0);
    a = feed.id;

    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_begin(store), -EALREADY);
    add_item(store, a, "k1", 100, 1000, 1);
    add_item(store, a, "k2", 200, 1000, 1);
    free(feed.etag);
    feed.etag = strdup("\"v2\"");
    assert_non_null(feed.etag);
    feed.failures = 3;
    assert_int_equal(store_feed_save(store, &feed), 0);
    store_rollback(store);
    store_feed_done(&feed);

    assert_int_equal(count_items(store), 0);
    assert_int_equal(store_feed_ensure(store, "a", "https://example.org/a.xml", &feed), 0);
    assert_null(feed.etag);
    assert_int_equal(feed.failures, 0);
    assert_int_equal(feed.items, 0);
    store_feed_done(&feed);

    /* Without a transaction: rollback is a no-op, commit an error. */
    store_rollback(store);
    assert_int_equal(store_commit(store), -EINVAL);
    assert_true(strlen(store_errmsg(store)) > 0);

    /* The same keys are new after the rollback, and a commit keeps them. */
    assert_int_equal(store_begin(store), 0);
    add_item(store, a, "k1", 100, 1000, 1);
    add_item(store, a, "k2", 200, 1000, 1);
    assert_int_equal(store_commit(store), 0);
    store_free(store);

    store = open_store(fx);
    assert_int_equal(count_items(store), 2);
    store_free(store);
}

static void
test_store_rollback_of_a_failed_poll(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    struct feed_item item = mkitem("k1", 100);
    int64_t a;

    a = ensure_feed(store, "a", "https://example.org/a.xml");
    assert_int_equal(store_begin(store), 0);
    add_item(store, a, "k0", 100, 1000, 1);
    /* An unknown feed id breaks the foreign key: the error, then the caller rolls back. */
    assert_int_equal(store_item_add(store, a + 100, &item, NULL, 0, 1000, NULL), -EINVAL);
    assert_non_null(strstr(store_errmsg(store), "FOREIGN KEY"));
    store_rollback(store);
    assert_int_equal(count_items(store), 0);
    /* The message of the failure survives the rollback. */
    assert_non_null(strstr(store_errmsg(store), "FOREIGN KEY"));

    item.key = NULL;
    assert_int_equal(store_item_add(store, a, &item, NULL, 0, 1000, NULL), -EINVAL);
    item.key = (char *)"k1";
    assert_int_equal(store_item_add(store, a, &item, NULL, 0, FEED_TIME_NONE, NULL), -EINVAL);
    assert_int_equal(count_items(store), 0);
    store_free(store);
}

static void
set_str(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
    if (value)
        assert_non_null(*field);
}

static void
test_store_feed_ensure_creates_and_loads(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    struct store_feed feed = {0}, again = {0};
    sqlite3 *db;

    assert_int_equal(store_feed_ensure(store, "afp-world", "https://example.org/w.xml", &feed), 0);
    assert_true(feed.id > 0);
    assert_string_equal(feed.name, "afp-world");
    assert_string_equal(feed.configured_url, "https://example.org/w.xml");
    assert_null(feed.url);
    assert_null(feed.etag);
    assert_null(feed.last_modified);
    assert_int_equal(feed.last_status, 0);
    assert_null(feed.last_error);
    assert_int_equal(feed.failures, 0);
    assert_true(feed.last_poll_at == FEED_TIME_NONE);
    assert_true(feed.next_poll_at == FEED_TIME_NONE);
    assert_false(feed.recovered);
    assert_false(feed.paused);
    assert_null(feed.disabled_reason);
    assert_int_equal(feed.items, 0);

    set_str(&feed.etag, "W/\"abc\"");
    feed.last_status = 200;
    feed.next_poll_at = 1700000900;
    assert_int_equal(store_feed_save(store, &feed), 0);
    add_item(store, feed.id, "k1", 100, 1000, 1);

    /* Same URL: the state is loaded as saved. */
    assert_int_equal(store_feed_ensure(store, "afp-world", "https://example.org/w.xml", &again), 0);
    assert_int_equal(again.id, feed.id);
    assert_string_equal(again.etag, "W/\"abc\"");
    assert_int_equal(again.last_status, 200);
    assert_true(again.next_poll_at == 1700000900);
    assert_int_equal(again.items, 1);
    store_feed_done(&again);
    assert_null(again.name);
    store_feed_done(&again);

    db = open_raw(fx);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM feeds", NULL), 1);
    assert_true(raw_int(db, "SELECT created_at FROM feeds", NULL) > 1600000000);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    assert_int_equal(store_feed_ensure(store, NULL, "x", &again), -EINVAL);
    store_feed_done(&feed);
    store_free(store);
}

static void
test_store_feed_ensure_url_change_resets_source(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    struct store_feed feed = {0};
    sqlite3 *db;
    char *s;

    assert_int_equal(store_feed_ensure(store, "a", "https://old.example.org/a.xml", &feed), 0);
    add_item(store, feed.id, "k1", 100, 1000, 1);
    set_str(&feed.url, "https://new-home.example.org/a.xml");
    set_str(&feed.etag, "\"e1\"");
    set_str(&feed.last_modified, "Tue, 14 Nov 2023 10:00:00 GMT");
    set_str(&feed.last_error, "HTTP 404");
    set_str(&feed.disabled_reason, "too many failures");
    feed.last_status = 404;
    feed.failures = 12;
    feed.paused = true;
    feed.last_poll_at = 1700000000;
    feed.next_poll_at = 1700003600;
    assert_int_equal(store_feed_save(store, &feed), 0);
    store_feed_done(&feed);

    assert_int_equal(store_feed_ensure(store, "a", "https://example.org/a2.xml", &feed), 0);
    assert_string_equal(feed.configured_url, "https://example.org/a2.xml");
    assert_null(feed.url);
    assert_null(feed.etag);
    assert_null(feed.last_modified);
    assert_null(feed.last_error);
    assert_null(feed.disabled_reason);
    assert_int_equal(feed.failures, 0);
    /* A run-time pause, the schedule and the items stay. */
    assert_true(feed.paused);
    assert_true(feed.last_poll_at == 1700000000);
    assert_true(feed.next_poll_at == 1700003600);
    assert_int_equal(feed.items, 1);
    store_feed_done(&feed);

    /* The reset is in the database, not only in the returned struct. */
    db = open_raw(fx);
    s = raw_text(db, "SELECT configured_url FROM feeds WHERE name = ?", "a");
    assert_string_equal(s, "https://example.org/a2.xml");
    free(s);
    assert_int_equal(raw_int(db,
                             "SELECT url IS NULL AND etag IS NULL AND last_modified IS NULL AND"
                             " last_error IS NULL AND disabled_reason IS NULL AND failures = 0"
                             " FROM feeds WHERE name = ?",
                             "a"),
                     1);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    store_free(store);
}

static void
test_store_feed_save_round_trip(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    struct store_feed feed = {0}, back = {0};
    sqlite3 *db;

    assert_int_equal(store_feed_ensure(store, "rt", "https://example.org/rt.xml", &feed), 0);
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
    assert_string_equal(back.name, "rt");
    assert_string_equal(back.configured_url, "https://example.org/rt.xml");
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

    /* Back to absent: NULL strings and FEED_TIME_NONE are SQL NULL. */
    set_str(&feed.url, NULL);
    set_str(&feed.etag, NULL);
    set_str(&feed.last_modified, NULL);
    set_str(&feed.last_error, NULL);
    set_str(&feed.disabled_reason, NULL);
    feed.last_status = 0;
    feed.failures = 0;
    feed.last_poll_at = FEED_TIME_NONE;
    feed.next_poll_at = FEED_TIME_NONE;
    feed.recovered = false;
    feed.paused = false;
    assert_int_equal(store_feed_save(store, &feed), 0);

    db = open_raw(fx);
    assert_int_equal(raw_int(db,
                             "SELECT last_poll_at IS NULL AND next_poll_at IS NULL AND"
                             " url IS NULL AND etag IS NULL AND last_modified IS NULL AND"
                             " last_error IS NULL AND disabled_reason IS NULL AND"
                             " last_status = 0 AND failures = 0 AND recovered = 0 AND"
                             " paused = 0 FROM feeds WHERE name = ?",
                             "rt"),
                     1);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    assert_int_equal(store_feed_ensure(store, "rt", "https://example.org/rt.xml", &back), 0);
    assert_null(back.url);
    assert_null(back.etag);
    assert_true(back.last_poll_at == FEED_TIME_NONE);
    assert_true(back.next_poll_at == FEED_TIME_NONE);
    assert_false(back.recovered);
    assert_false(back.paused);
    store_feed_done(&back);

    /* An id that is not there. */
    feed.id += 1000;
    assert_int_equal(store_feed_save(store, &feed), -ENOENT);
    assert_non_null(strstr(store_errmsg(store), "no feed with id"));
    store_feed_done(&feed);
    store_free(store);
}

/*
 * store_feed_urls, through a reader as the control socket's pool uses it: the configured URL,
 * the one in use after a permanent redirect, the one given to `add`; a removed feed keeps
 * its row and its URLs; an unknown name finds nothing.
 */
static void
test_store_feed_urls(void **state)
{
    struct fixture *fx = *state;
    struct store *w = open_store(fx);
    struct store *r = NULL;
    struct store_feed feed = {0};
    char *urls[STORE_FEED_URLS] = {NULL}, *msg = NULL;

    assert_int_equal(store_feed_ensure(w, "moved", "http://u:p@example.org/f.xml?token=T", &feed),
                     0);
    set_str(&feed.url, "https://example.org/private/f.xml?token=T");
    /* The last document came through a temporary redirect (review17). */
    set_str(&feed.base_url, "https://cdn.example.org/f/T2.xml?sig=S");
    assert_int_equal(store_feed_save(w, &feed), 0);
    /* A save without a document (a 304) keeps it. */
    set_str(&feed.base_url, NULL);
    assert_int_equal(store_feed_save(w, &feed), 0);
    store_feed_done(&feed);
    int64_t added = ensure_feed(w, "added", "https://example.org/added.xml");
    assert_int_equal(store_feed_set_runtime(w, added, "https://example.org/added.xml", true), 0);
    assert_int_equal(store_open_reader(fx->db, &r, &msg), 0);

    assert_int_equal(store_feed_urls(r, "moved", urls), 1);
    assert_string_equal(urls[0], "http://u:p@example.org/f.xml?token=T");
    assert_string_equal(urls[1], "https://example.org/private/f.xml?token=T");
    assert_null(urls[2]);
    assert_string_equal(urls[3], "https://cdn.example.org/f/T2.xml?sig=S");
    for (int i = 0; i < STORE_FEED_URLS; i++)
        free(urls[i]);
    assert_int_equal(store_feed_urls(r, "added", urls), 1);
    assert_string_equal(urls[0], "https://example.org/added.xml");
    assert_null(urls[1]);
    assert_string_equal(urls[2], "https://example.org/added.xml");
    assert_null(urls[3]);
    for (int i = 0; i < STORE_FEED_URLS; i++)
        free(urls[i]);
    urls[0] = urls[1] = urls[2] = urls[3] = (char *)"untouched";
    assert_int_equal(store_feed_urls(r, "none", urls), 0);
    assert_null(urls[0]);
    assert_null(urls[1]);
    assert_null(urls[2]);
    assert_null(urls[3]);
    store_free(r);
    store_free(w);
}

static void
test_store_feed_copy_is_deep(void **state)
{
    struct store_feed src = {0}, dst = {0};

    (void)state;
    src.id = 7;
    set_str(&src.name, "n");
    set_str(&src.configured_url, "https://example.org/");
    set_str(&src.etag, "\"e\"");
    src.failures = 3;
    src.next_poll_at = FEED_TIME_NONE;
    src.items = 9;
    assert_int_equal(store_feed_copy(&dst, &src), 0);
    assert_ptr_not_equal(dst.name, src.name);
    assert_ptr_not_equal(dst.etag, src.etag);
    store_feed_done(&src);
    assert_int_equal(dst.id, 7);
    assert_string_equal(dst.name, "n");
    assert_string_equal(dst.configured_url, "https://example.org/");
    assert_string_equal(dst.etag, "\"e\"");
    assert_null(dst.url);
    assert_int_equal(dst.failures, 3);
    assert_true(dst.next_poll_at == FEED_TIME_NONE);
    assert_int_equal(dst.items, 9);
    store_feed_done(&dst);
}

struct feed_seen {
    size_t n;
    size_t stop_at; /* return an error from this call on (0: never) */
    char names[8][16];
    int64_t items[8];
    unsigned failures[8];
};

static int
on_feed(void *userdata, const struct store_feed *feed)
{
    struct feed_seen *seen = userdata;

    assert_true(seen->n < 8);
    (void)snprintf(seen->names[seen->n], sizeof(seen->names[0]), "%s", feed->name);
    seen->items[seen->n] = feed->items;
    seen->failures[seen->n] = feed->failures;
    seen->n++;
    if (seen->stop_at && seen->n >= seen->stop_at)
        return -ECANCELED;
    return 0;
}

static void
test_store_feed_list_orders_by_name_with_counts(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    struct feed_seen seen = {0};
    struct store_feed feed = {0};
    int64_t b, c;

    assert_int_equal(store_feed_list(store, on_feed, &seen), 0);
    assert_int_equal(seen.n, 0);

    b = ensure_feed(store, "beta", "https://example.org/b.xml");
    (void)ensure_feed(store, "alpha", "https://example.org/a.xml");
    c = ensure_feed(store, "gamma", "https://example.org/c.xml");
    add_item(store, b, "1", 1, 10, 1);
    add_item(store, b, "2", 2, 10, 1);
    add_item(store, c, "1", 1, 10, 1);
    add_item(store, c, "2", 2, 10, 1);
    add_item(store, c, "3", 3, 10, 1);
    assert_int_equal(store_feed_ensure(store, "gamma", "https://example.org/c.xml", &feed), 0);
    feed.failures = 4;
    assert_int_equal(store_feed_save(store, &feed), 0);
    store_feed_done(&feed);

    assert_int_equal(store_feed_list(store, on_feed, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.names[0], "alpha");
    assert_string_equal(seen.names[1], "beta");
    assert_string_equal(seen.names[2], "gamma");
    assert_int_equal(seen.items[0], 0);
    assert_int_equal(seen.items[1], 2);
    assert_int_equal(seen.items[2], 3);
    assert_int_equal(seen.failures[2], 4);

    /* The callback's error stops the walk and is returned; the store stays usable. */
    memset(&seen, 0, sizeof(seen));
    seen.stop_at = 2;
    assert_int_equal(store_feed_list(store, on_feed, &seen), -ECANCELED);
    assert_int_equal(seen.n, 2);
    assert_int_equal(store_begin(store), 0);
    assert_int_equal(store_commit(store), 0);
    store_free(store);
}

struct item_seen {
    size_t n;
    size_t stop_at;
    char keys[16][16];
    char feeds[16][16];
    int64_t published[16];
    int64_t first_seen[16];
    bool has_text[16];
    char text[16][32];
    char title[16][48];
    char url[16][64];
    char author[16][16];
    char language[16][8];
    char summary[16][32];
    bool has_title[16];
};

static int
on_item(void *userdata, const struct store_item_row *row)
{
    struct item_seen *seen = userdata;
    size_t i = seen->n;

    assert_true(i < 16);
    assert_true(row->id > 0);
    (void)snprintf(seen->keys[i], sizeof(seen->keys[0]), "%s", row->key);
    (void)snprintf(seen->feeds[i], sizeof(seen->feeds[0]), "%s", row->feed);
    seen->published[i] = row->published_at;
    seen->first_seen[i] = row->first_seen_at;
    seen->has_text[i] = row->text != NULL;
    (void)snprintf(seen->text[i], sizeof(seen->text[0]), "%s", row->text ? row->text : "");
    seen->has_title[i] = row->title != NULL;
    (void)snprintf(seen->title[i], sizeof(seen->title[0]), "%s", row->title ? row->title : "");
    (void)snprintf(seen->url[i], sizeof(seen->url[0]), "%s", row->url ? row->url : "");
    (void)snprintf(seen->author[i], sizeof(seen->author[0]), "%s", row->author ? row->author : "");
    (void)snprintf(seen->language[i], sizeof(seen->language[0]), "%s",
                   row->language ? row->language : "");
    (void)snprintf(seen->summary[i], sizeof(seen->summary[0]), "%s",
                   row->summary ? row->summary : "");
    assert_true(row->updated_at == FEED_TIME_NONE || row->updated_at == 1500);
    seen->n++;
    if (seen->stop_at && seen->n >= seen->stop_at)
        return -ECANCELED;
    return 0;
}

static void
assert_keys(const struct item_seen *seen, size_t n, const char *const *keys)
{
    assert_int_equal(seen->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(seen->keys[i], keys[i]);
}

static void
test_store_items_list_newest_first(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    struct item_seen seen;
    struct feed_item full = mkitem("full", 1200);
    int64_t a, b;
    sqlite3 *db;

    a = ensure_feed(store, "a", "https://example.org/a.xml");
    b = ensure_feed(store, "b", "https://example.org/b.xml");
    /* Order key: published, else first seen; ties by id, newest row first. */
    add_item(store, a, "a-pub-1000", 1000, 5000, 1);
    add_item(store, a, "a-seen-1100", FEED_TIME_NONE, 1100, 1);
    add_item(store, b, "b-pub-1100", 1100, 5000, 1);
    add_item(store, b, "b-pub-900", 900, 5000, 1);
    add_item(store, a, "a-seen-3000", FEED_TIME_NONE, 3000, 1);
    full.title = (char *)"Grenzgespräche — “OSCE”";
    full.link = (char *)"https://example.org/full";
    full.author = (char *)"Jane";
    full.language = (char *)"de";
    full.summary = (char *)"<p>sum</p>";
    full.content = (char *)"<p>content</p>";
    full.id = (char *)"urn:full";
    full.updated_at = 1500;
    assert_int_equal(store_item_add(store, b, &full, NULL, 0, 5000, NULL), 1);

    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_list(store, NULL, 0, false, on_item, &seen), 0);
    {
        static const char *const keys[] = {"a-seen-3000", "full",       "b-pub-1100",
                                           "a-seen-1100", "a-pub-1000", "b-pub-900"};
        assert_keys(&seen, 6, keys);
    }
    assert_string_equal(seen.feeds[0], "a");
    assert_string_equal(seen.feeds[1], "b");
    assert_true(seen.published[0] == FEED_TIME_NONE);
    assert_int_equal(seen.first_seen[0], 3000);
    assert_int_equal(seen.published[1], 1200);
    assert_string_equal(seen.title[1], "Grenzgespräche — “OSCE”");
    assert_string_equal(seen.url[1], "https://example.org/full");
    assert_string_equal(seen.author[1], "Jane");
    assert_string_equal(seen.language[1], "de");
    assert_string_equal(seen.summary[1], "<p>sum</p>");
    assert_false(seen.has_title[0]);
    for (size_t i = 0; i < seen.n; i++)
        assert_false(seen.has_text[i]);

    /* One feed. */
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_list(store, "b", 0, false, on_item, &seen), 0);
    {
        static const char *const keys[] = {"full", "b-pub-1100", "b-pub-900"};
        assert_keys(&seen, 3, keys);
    }
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_list(store, "nope", 0, false, on_item, &seen), 0);
    assert_int_equal(seen.n, 0);

    /* Several feeds by name (items --tag), a limit, and none. */
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_list_feeds(store, "[\"b\", \"nope\"]", 2, false, on_item, &seen),
                     0);
    {
        static const char *const keys[] = {"full", "b-pub-1100"};
        assert_keys(&seen, 2, keys);
    }
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_list_feeds(store, "[\"a\", \"b\"]", 0, false, on_item, &seen), 0);
    assert_int_equal(seen.n, 6);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_list_feeds(store, "[]", 0, false, on_item, &seen), 0);
    assert_int_equal(seen.n, 0);

    /* A limit, alone and with a feed. */
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_list(store, NULL, 2, false, on_item, &seen), 0);
    {
        static const char *const keys[] = {"a-seen-3000", "full"};
        assert_keys(&seen, 2, keys);
    }
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_list(store, "a", 1, false, on_item, &seen), 0);
    {
        static const char *const keys[] = {"a-seen-3000"};
        assert_keys(&seen, 1, keys);
    }

    /* The text, once the content stage has written one, only with with_text. */
    db = open_raw(fx);
    raw_exec(db, "UPDATE items SET text = 'clean text' WHERE key = 'full'");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_list(store, "b", 0, false, on_item, &seen), 0);
    assert_false(seen.has_text[0]);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_list(store, "b", 0, true, on_item, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_true(seen.has_text[0]);
    assert_string_equal(seen.text[0], "clean text");
    assert_false(seen.has_text[1]);

    /* The callback's error stops the walk. */
    memset(&seen, 0, sizeof(seen));
    seen.stop_at = 1;
    assert_int_equal(store_items_list(store, NULL, 0, true, on_item, &seen), -ECANCELED);
    assert_int_equal(seen.n, 1);

    /* Columns the list does not show are stored too. */
    db = open_raw(fx);
    assert_int_equal(raw_int(db,
                             "SELECT guid = 'urn:full' AND content = '<p>content</p>' AND"
                             " updated_at = 1500 AND first_seen_at = 5000 AND"
                             " categories IS NULL FROM items WHERE key = 'full'",
                             NULL),
                     1);
    assert_int_equal(raw_int(db,
                             "SELECT published_at IS NULL AND updated_at IS NULL AND"
                             " title IS NULL AND guid IS NULL FROM items"
                             " WHERE key = 'a-seen-3000'",
                             NULL),
                     1);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    store_free(store);
}

static void
test_store_count_items(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a, b;

    assert_int_equal(count_items(store), 0);
    a = ensure_feed(store, "a", "https://example.org/a.xml");
    b = ensure_feed(store, "b", "https://example.org/b.xml");
    add_item(store, a, "1", 1, 10, 1);
    add_item(store, a, "2", 1, 10, 1);
    add_item(store, b, "1", 1, 10, 1);
    add_item(store, b, "1", 1, 10, 0);
    assert_int_equal(count_items(store), 3);
    store_free(store);
}

static void
test_store_disk_bytes(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    uint64_t bytes = 0, sum = 0;
    const char *suffix[] = {"", "-wal", "-shm"};
    int64_t a;

    a = ensure_feed(store, "a", "https://example.org/a.xml");
    add_item(store, a, "1", 1, 10, 1);
    assert_int_equal(store_disk_bytes(store, &bytes), 0);
    assert_true(bytes > 0);
    for (size_t i = 0; i < 3; i++) {
        char path[160];
        struct stat st;

        (void)snprintf(path, sizeof(path), "%s%s", fx->db, suffix[i]);
        if (stat(path, &st) == 0)
            sum += (uint64_t)st.st_size;
    }
    assert_true(bytes == sum);
    store_free(store);
}

static void
test_store_categories_json_escaping(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    char *cats[] = {
        (char *)"say \"hi\"",
        (char *)"back\\slash",
        NULL, /* skipped */
        (char *)"ctl\x01\n\t\x1f\b\f\r",
        (char *)"Đà Nẵng ОБСЕ 😀",
        (char *)"bad\xff\xc3(\xed\xa0\x80",
        (char *)"",
    };
    struct feed_item item = mkitem("cats", 100);
    struct feed_item none = mkitem("none", 100);
    struct feed_item nulls = mkitem("nulls", 100);
    char *only_null[] = {NULL};
    int64_t a;
    sqlite3 *db;
    char *s;

    a = ensure_feed(store, "a", "https://example.org/a.xml");
    item.categories = cats;
    item.n_categories = sizeof(cats) / sizeof(cats[0]);
    assert_int_equal(store_item_add(store, a, &item, NULL, 0, 1000, NULL), 1);
    assert_int_equal(store_item_add(store, a, &none, NULL, 0, 1000, NULL), 1);
    nulls.categories = only_null;
    nulls.n_categories = 1;
    assert_int_equal(store_item_add(store, a, &nulls, NULL, 0, 1000, NULL), 1);

    db = open_raw(fx);
    s = raw_text(db, "SELECT categories FROM items WHERE key = ?", "cats");
    assert_string_equal(s, "[\"say \\\"hi\\\"\",\"back\\\\slash\","
                           "\"ctl\\u0001\\n\\t\\u001f\\b\\f\\r\","
                           "\"Đà Nẵng ОБСЕ 😀\","
                           "\"bad\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\","
                           "\"\"]");
    free(s);
    assert_int_equal(raw_int(db, "SELECT json_valid(categories) FROM items WHERE key = ?", "cats"),
                     1);
    assert_int_equal(raw_int(db,
                             "SELECT json_array_length(categories) FROM items"
                             " WHERE key = ?",
                             "cats"),
                     6);
    /* SQLite's JSON reader gives back the original strings. */
    s = raw_text(db, "SELECT json_extract(categories, '$[0]') FROM items WHERE key = ?", "cats");
    assert_string_equal(s, "say \"hi\"");
    free(s);
    s = raw_text(db, "SELECT json_extract(categories, '$[1]') FROM items WHERE key = ?", "cats");
    assert_string_equal(s, "back\\slash");
    free(s);
    s = raw_text(db, "SELECT json_extract(categories, '$[2]') FROM items WHERE key = ?", "cats");
    assert_string_equal(s, "ctl\x01\n\t\x1f\b\f\r");
    free(s);
    s = raw_text(db, "SELECT json_extract(categories, '$[3]') FROM items WHERE key = ?", "cats");
    assert_string_equal(s, "Đà Nẵng ОБСЕ 😀");
    free(s);
    assert_int_equal(raw_int(db, "SELECT categories IS NULL FROM items WHERE key = ?", "none"), 1);
    assert_int_equal(raw_int(db, "SELECT categories IS NULL FROM items WHERE key = ?", "nulls"), 1);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    store_free(store);
}

static void
test_store_categories_json_is_bounded(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    enum { N = 3000 };
    char **cats = calloc(N, sizeof(*cats));
    struct feed_item item = mkitem("many", 100);
    int64_t a, len, n;
    sqlite3 *db;

    assert_non_null(cats);
    for (size_t i = 0; i < N; i++) {
        cats[i] = malloc(40);
        assert_non_null(cats[i]);
        (void)snprintf(cats[i], 40, "category-%zu-\"x\"-padding-padding", i);
    }
    a = ensure_feed(store, "a", "https://example.org/a.xml");
    item.categories = cats;
    item.n_categories = N;
    assert_int_equal(store_item_add(store, a, &item, NULL, 0, 1000, NULL), 1);

    db = open_raw(fx);
    len = raw_int(db, "SELECT length(CAST(categories AS BLOB)) FROM items", NULL);
    n = raw_int(db, "SELECT json_array_length(categories) FROM items", NULL);
    assert_true(len < 65536);
    assert_true(n > 100 && n < N);
    assert_int_equal(raw_int(db, "SELECT json_valid(categories) FROM items", NULL), 1);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    for (size_t i = 0; i < N; i++)
        free(cats[i]);
    free(cats);
    store_free(store);
}

/* SQLite's allocator, wrapped to fail the Nth allocation from the start of a round. */
static sqlite3_mem_methods fault_orig;
static long fault_count, fault_at = -1;
static bool fault_hit;

static bool
fault_now(void)
{
    if (fault_at >= 0 && fault_count++ == fault_at) {
        fault_hit = true;
        return true;
    }
    return false;
}

static void *
fault_malloc(int n)
{
    return fault_now() ? NULL : fault_orig.xMalloc(n);
}

static void *
fault_realloc(void *p, int n)
{
    return fault_now() ? NULL : fault_orig.xRealloc(p, n);
}

static void
fault_install(bool on)
{
    sqlite3_mem_methods methods;

    assert_int_equal(sqlite3_shutdown(), SQLITE_OK);
    if (on) {
        assert_int_equal(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &fault_orig), SQLITE_OK);
        methods = fault_orig;
        methods.xMalloc = fault_malloc;
        methods.xRealloc = fault_realloc;
        assert_int_equal(sqlite3_config(SQLITE_CONFIG_MALLOC, &methods), SQLITE_OK);
    } else {
        assert_int_equal(sqlite3_config(SQLITE_CONFIG_MALLOC, &fault_orig), SQLITE_OK);
    }
    assert_int_equal(sqlite3_initialize(), SQLITE_OK);
}

static int
on_item_count(void *userdata, const struct store_item_row *row)
{
    (void)row;
    (*(int *)userdata)++;
    return 0;
}

static int
on_feed_count(void *userdata, const struct store_feed *feed)
{
    (void)feed;
    (*(int *)userdata)++;
    return 0;
}

/* One poll's worth of work; returns the first error, after rolling back. */
static int
fault_round(const struct fixture *fx)
{
    struct store *store = NULL;
    struct store_feed feed = {0};
    char *cats[] = {(char *)"a\"b", (char *)"c"};
    struct feed_item item = mkitem("k", 100);
    int64_t n = 0;
    char *msg = NULL;
    int r, seen = 0;

    item.title = (char *)"title";
    item.categories = cats;
    item.n_categories = 2;
    r = store_open(fx->db, &store, &msg);
    if (r < 0) {
        assert_null(store);
        assert_non_null(msg);
        assert_non_null(strstr(msg, "cannot open database"));
        free(msg);
        return r;
    }
    if ((r = store_feed_ensure(store, "f", "https://example.org/f.xml", &feed)) < 0)
        goto out;
    if ((r = store_begin(store)) < 0)
        goto out;
    if ((r = store_item_add(store, feed.id, &item, NULL, 0, 1000, NULL)) < 0 ||
        (r = store_feed_save(store, &feed)) < 0 || (r = store_commit(store)) < 0) {
        assert_true(strlen(store_errmsg(store)) > 0);
        store_rollback(store);
        goto out;
    }
    if ((r = store_items_list(store, NULL, 10, true, on_item_count, &seen)) < 0 ||
        (r = store_feed_list(store, on_feed_count, &seen)) < 0 ||
        (r = store_count_items(store, &n)) < 0)
        goto out;
    assert_int_equal(n, 1);
out:
    if (r < 0)
        assert_true(strlen(store_errmsg(store)) > 0);
    store_feed_done(&feed);
    store_free(store);
    return r;
}

static void
remove_db(const struct fixture *fx)
{
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};

    for (size_t i = 0; i < 4; i++) {
        char path[160];

        (void)snprintf(path, sizeof(path), "%s%s", fx->db, suffix[i]);
        (void)unlink(path);
    }
}

/* Copies the file at from to the database of fx (its journal files removed): 0 or -1. */
static int
copy_db(const char *from, const struct fixture *fx)
{
    char buf[65536];
    size_t n;
    int r = 0;

    remove_db(fx);
    FILE *in = fopen(from, "rb"), *out = fopen(fx->db, "wb");
    if (!in || !out)
        r = -1;
    while (r == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            r = -1;
    if (in && ferror(in))
        r = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        r = -1;
    return r;
}

/* SQLite's allocations of one round of fault_round. */
static long
fault_allocations(const struct fixture *fx)
{
    fault_at = LONG_MAX; /* counted, never failed */
    fault_count = 0;
    assert_int_equal(fault_round(fx), 0);
    fault_at = -1;
    return fault_count;
}

/*
 * Rounds of fault_round failing allocation 0, step, 2 step... (of n) until one fails none, each
 * on a new database, or a copy of template: most fail, all cleanly. Returns their number.
 */
static long
fault_rounds(const struct fixture *fx, long n, long step, const char *template)
{
    long failed = 0, rounds = 0;
    bool completed = false;

    for (fault_at = 0; fault_at <= n + step; fault_at += step) {
        if (template)
            assert_int_equal(copy_db(template, fx), 0);
        else
            remove_db(fx);
        fault_count = 0;
        fault_hit = false;
        int r = fault_round(fx);
        rounds++;
        if (!fault_hit) {
            assert_int_equal(r, 0);
            completed = true;
            break;
        }
        if (r < 0)
            failed++;
    }
    fault_at = -1;
    /* Each allocation asked for was failed once, and most of those failed the round. */
    assert_true(completed);
    assert_true(failed > 10);
    return rounds;
}

/*
 * Every SQLite allocation of a poll's work on a database (opening it, storing an item,
 * listing) fails once, each in a round of its own: the round fails cleanly or copes, and the
 * database stays whole. Creating a database (its migrations, thousands of allocations as
 * SQLite parses the schema again after each change) fails at one allocation in every few,
 * spread over all of them: every one of them in turn would cost the square of their number.
 */
static void
test_store_allocation_failures_are_clean(void **state)
{
    struct fixture *fx = *state;
    struct fixture shm = {0};
    struct store *store;
    sqlite3 *db;
    char *ok, template[200];
    long rounds = 0, n;

    /*
     * The rounds each open or create a database: on tmpfs when there is one, so the rounds
     * cost CPU rather than fsyncs (the test is about allocations).
     */
    (void)snprintf(shm.dir, sizeof(shm.dir), "/dev/shm/test_store.XXXXXX");
    if (mkdtemp(shm.dir)) {
        (void)snprintf(shm.db, sizeof(shm.db), "%s/feedwatch.db", shm.dir);
        fx = &shm;
    }
    (void)snprintf(template, sizeof(template), "%s.template", fx->db);
    fault_install(true);

    /* Creating the database: about 500 rounds, whatever the schema's size. */
    remove_db(fx);
    n = fault_allocations(fx);
    rounds += fault_rounds(fx, n, n / 500 > 1 ? n / 500 : 1, NULL);

    /* A created database, then each allocation of a poll's work on it failed in turn. */
    remove_db(fx);
    store = open_store(fx);
    store_free(store);
    assert_int_equal(rename(fx->db, template), 0);
    assert_int_equal(copy_db(template, fx), 0);
    n = fault_allocations(fx);
    rounds += fault_rounds(fx, n, 1, template);
    fault_install(false);
    print_message("%ld rounds, %ld allocations in a poll's round\n", rounds, n);

    /* Whatever failed before, the store opens and works afterwards. */
    store = open_store(fx);
    store_free(store);
    db = open_raw(fx);
    ok = raw_text(db, "PRAGMA integrity_check", NULL);
    assert_string_equal(ok, "ok");
    free(ok);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    (void)unlink(template);
    if (fx == &shm) {
        remove_db(fx);
        assert_int_equal(rmdir(shm.dir), 0);
    }
}

struct alert_seen {
    int n;
    int64_t ids[8];
    char states[8][16];
    char topic[32];
    char text[64];
    char matched[64];
};

static int
on_alert(void *userdata, const struct store_alert_row *row)
{
    struct alert_seen *a = userdata;
    if (a->n < 8) {
        a->ids[a->n] = row->id;
        (void)snprintf(a->states[a->n], sizeof(a->states[0]), "%s", row->state);
    }
    (void)snprintf(a->topic, sizeof(a->topic), "%s", row->topic);
    (void)snprintf(a->text, sizeof(a->text), "%s", row->text ? row->text : "");
    (void)snprintf(a->matched, sizeof(a->matched), "%s", row->matched ? row->matched : "");
    a->n++;
    return 0;
}

static int
on_due(void *userdata, int64_t alert_id, const char *hook, unsigned attempts)
{
    int *n = userdata;
    (void)alert_id;
    (void)hook;
    (void)attempts;
    (*n)++;
    return 0;
}

struct story_seen {
    int64_t alert;
    uint64_t simhash;
};

static int
on_story(void *userdata, int64_t alert_id, uint64_t simhash, int64_t feed_id)
{
    struct story_seen *s = userdata;
    (void)feed_id;
    s->alert = alert_id;
    s->simhash = simhash;
    return 1;
}

/* An alert is raised once per (topic, item); deliveries drive its state; running resets. */
static void
test_store_alerts_lifecycle(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    struct feed_item item = mkitem("k1", 100);
    int64_t item_id = 0, item2 = 0, alert = 0, again = 0, at = 0;
    char *hooks[] = {"notify", "webhook"};

    assert_int_equal(store_item_add(store, a, &item, "cleaned text", 0xfeedULL, 1000, &item_id), 1);
    assert_true(item_id > 0);
    assert_int_equal(store_item_add(store, b, &item, NULL, 0xfeefULL, 1001, &item2), 1);
    assert_int_equal(
        store_alert_add(store, "osce", item_id, "[{\"term\":\"OSCE\"}]", hooks, 2, 1000, &alert),
        1);
    assert_true(alert > 0);
    /* Never twice for the same (topic, item). */
    assert_int_equal(store_alert_add(store, "osce", item_id, NULL, hooks, 2, 2000, &again), 0);
    assert_int_equal(again, 0);
    /* A topic without hooks: no-hook at once, never pending. */
    assert_int_equal(store_alert_add(store, "quiet", item_id, NULL, NULL, 0, 1000, &again), 1);

    /* Story candidates of the topic within the window; the other feed's item becomes a source. */
    struct story_seen story = {0};
    assert_int_equal(
        store_story_candidates(store, "osce", 900, 0xfeedULL, b, on_story, &story, NULL), 0);
    assert_int_equal(story.alert, alert);
    assert_int_equal(story.simhash, 0xfeedULL);
    memset(&story, 0, sizeof(story));
    assert_int_equal(
        store_story_candidates(store, "osce", 1001, 0xfeedULL, b, on_story, &story, NULL), 0);
    assert_int_equal(story.alert, 0);
    assert_int_equal(store_alert_add_source(store, alert, item2), 0);
    assert_int_equal(store_alert_add_source(store, alert, item2), 0);

    int due = 0;
    assert_int_equal(store_deliveries_due(store, 999, 10, on_due, &due), 0);
    assert_int_equal(due, 0);
    assert_int_equal(store_deliveries_due(store, 1000, 10, on_due, &due), 0);
    assert_int_equal(due, 2);
    assert_int_equal(store_delivery_next_due(store, &at), 1);
    assert_int_equal(at, 1000);

    int64_t delivered, pending, failed, no_hook;
    assert_int_equal(store_alert_counts(store, &delivered, &pending, &failed, &no_hook), 0);
    assert_int_equal(delivered, 0);
    assert_int_equal(pending, 1);
    assert_int_equal(failed, 0);
    assert_int_equal(no_hook, 1);

    /* One hook running, then delivered; the other fails: the alert is failed. */
    assert_int_equal(store_delivery_set(store, alert, "notify", "running", 1, FEED_TIME_NONE, NULL,
                                        FEED_TIME_NONE),
                     0);
    struct alert_seen seen = {0};
    assert_int_equal(store_alerts_list(store, "osce", false, 10, on_alert, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.states[0], "running");
    /* A crash now: the running delivery is pending again after the restart. */
    store_free(store);
    store = open_store(fx);
    assert_int_equal(store_deliveries_reset_running(store), 1);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_alerts_list(store, NULL, false, 10, on_alert, &seen), 0);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.states[0], "no-hook"); /* quiet: newest first */
    assert_string_equal(seen.states[1], "pending");

    assert_int_equal(store_delivery_set(store, alert, "notify", "delivered", 2, FEED_TIME_NONE,
                                        NULL, FEED_TIME_NONE),
                     0);
    assert_int_equal(store_delivery_set(store, alert, "webhook", "failed", 6, FEED_TIME_NONE,
                                        "HTTP 500", FEED_TIME_NONE),
                     0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_alerts_list(store, NULL, true, 10, on_alert, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ids[0], alert);
    assert_string_equal(seen.states[0], "failed");
    assert_int_equal(store_delivery_next_due(store, &at), 0);

    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_alert_get(store, alert, on_alert, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.topic, "osce");
    assert_string_equal(seen.text, "cleaned text");
    assert_string_equal(seen.matched, "[{\"term\":\"OSCE\"}]");
    assert_int_equal(store_alert_get(store, alert + 100, on_alert, &seen), -ENOENT);
    store_free(store);
}

/* A schema 1 database (from the first release) is migrated to 2 with its rows kept. */
static void
test_store_migrates_schema_1(void **state)
{
    struct fixture *fx = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    raw_exec(db, "PRAGMA application_id = 1180124226;"
                 "CREATE TABLE feeds (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
                 " configured_url TEXT NOT NULL, url TEXT, etag TEXT, last_modified TEXT,"
                 " last_status INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
                 " failures INTEGER NOT NULL DEFAULT 0, last_poll_at INTEGER, next_poll_at INTEGER,"
                 " recovered INTEGER NOT NULL DEFAULT 0, paused INTEGER NOT NULL DEFAULT 0,"
                 " disabled_reason TEXT, created_at INTEGER NOT NULL);"
                 "CREATE TABLE items (id INTEGER PRIMARY KEY, feed_id INTEGER NOT NULL REFERENCES"
                 " feeds(id) ON DELETE CASCADE, key TEXT NOT NULL, guid TEXT, title TEXT, url TEXT,"
                 " published_at INTEGER, updated_at INTEGER, author TEXT, language TEXT, summary"
                 " TEXT, content TEXT, categories TEXT, text TEXT, first_seen_at INTEGER NOT NULL,"
                 " UNIQUE (feed_id, key));"
                 "CREATE INDEX items_newest ON items (COALESCE(published_at, first_seen_at));"
                 "CREATE INDEX items_feed_newest ON items (feed_id,"
                 " COALESCE(published_at, first_seen_at));"
                 "INSERT INTO feeds (name, configured_url, created_at) VALUES ('a', 'u', 1);"
                 "INSERT INTO items (feed_id, key, first_seen_at) VALUES (1, 'k1', 1);"
                 "PRAGMA user_version = 1;");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    struct store *store = open_store(fx);
    int64_t n = 0;
    assert_int_equal(store_count_items(store, &n), 0);
    assert_int_equal(n, 1);
    add_item(store, 1, "k1", 100, 1000, 0); /* still known after the migration */
    add_item(store, 1, "k2", 100, 1000, 1);
    store_free(store);
    db = open_raw(fx);
    assert_int_equal(raw_int(db, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(db,
                             "SELECT count(*) FROM sqlite_schema WHERE name IN"
                             " ('alerts', 'deliveries', 'alert_sources')",
                             NULL),
                     3);
    assert_int_equal(raw_int(db,
                             "SELECT count(*) FROM pragma_table_info('feeds') WHERE name IN"
                             " ('runtime_url', 'removed', 'item_rate')",
                             NULL),
                     3);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Every story candidate given to the callback, in order. */
struct story_all {
    int64_t ids[64];
    int64_t feeds[64];
    unsigned n;
};

static int
on_story_all(void *userdata, int64_t alert_id, uint64_t simhash, int64_t feed_id)
{
    struct story_all *s = userdata;
    (void)simhash;
    if (s->n < 64) {
        s->ids[s->n] = alert_id;
        s->feeds[s->n] = feed_id;
    }
    s->n++;
    return 0;
}

static unsigned
story_count(struct store *store, int64_t since_at, uint64_t simhash, int64_t feed_id,
            struct story_all *s)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(
        store_story_candidates(store, "t", since_at, simhash, feed_id, on_story_all, s, NULL), 0);
    return s->n;
}

/* Raises an alert of topic "t" on a new item of feed_id with signature h at raised_at. */
static int64_t
story_alert(struct store *store, int64_t feed_id, const char *key, uint64_t h, int64_t raised_at)
{
    struct feed_item item = mkitem(key, 100);
    int64_t item_id = 0, alert = 0;
    assert_int_equal(store_item_add(store, feed_id, &item, NULL, h, raised_at, &item_id), 1);
    assert_int_equal(store_alert_add(store, "t", item_id, NULL, NULL, 0, raised_at, &alert), 1);
    return alert;
}

/* Bits 0, 9, 18, 27, 36, 45 flipped: bands 0..5 differ, band 6 agrees, distance 6. */
#define STORY_NEAR_HI 0x0000201008040201ULL
/* Bits 10, 19, 28, 37, 46 and 63: bands 1..6 differ, band 0 agrees, distance 6. */
#define STORY_NEAR_LO 0x8000402010080400ULL
/* One bit in each of the 7 bands: no band agrees (distance 7, not the same story). */
#define STORY_FAR 0x0040201008040201ULL

static uint64_t
xorshift64(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/*
 * Story candidates come from the bands: a signature that agrees on any one band is found (the
 * earliest alert first), one that agrees on none is not read, nor the same feed's alerts, nor
 * alerts before the window; thousands of unrelated alerts in the window are not read either.
 */
static void
test_store_story_candidates_by_band(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    int64_t c = ensure_feed(store, "c", "https://example.org/c.xml");
    int64_t d = ensure_feed(store, "d", "https://example.org/d.xml");
    const uint64_t h = 0xf00dcafe12345678ULL;
    struct story_all s;

    assert_int_equal(store_begin(store), 0);
    int64_t first = story_alert(store, a, "a1", h, 1000);
    int64_t second = story_alert(store, c, "c1", h ^ STORY_NEAR_LO, 1001);
    /* Negative signatures (bit 63 set) band like the others. */
    int64_t neg = story_alert(store, c, "c2", ~h, 1002);
    /* Unrelated alerts of feed d in the window, and one of the same story before it. */
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    char key[32];
    for (int i = 0; i < 3000; i++) {
        (void)snprintf(key, sizeof(key), "d%d", i);
        story_alert(store, d, key, xorshift64(&x), 1100);
    }
    int64_t old = story_alert(store, d, "old", h, 10);
    assert_int_equal(store_commit(store), 0);

    /* Agreeing on band 6 only, or on band 0 only: both earlier alerts, the first first. */
    assert_true(story_count(store, 900, h ^ STORY_NEAR_HI, b, &s) >= 2);
    assert_int_equal(s.ids[0], first);
    assert_true(story_count(store, 900, h ^ STORY_NEAR_LO, b, &s) >= 2);
    assert_int_equal(s.ids[0], first);
    for (unsigned i = 1; i < s.n && i < 64; i++)
        assert_true(s.ids[i] > s.ids[i - 1]);
    bool saw_second = false, saw_old = false;
    for (unsigned i = 0; i < s.n && i < 64; i++) {
        saw_second |= s.ids[i] == second;
        saw_old |= s.ids[i] == old;
        assert_int_not_equal(s.feeds[i], b);
    }
    assert_true(saw_second);
    assert_false(saw_old); /* raised before the window */

    /* The 3000 random signatures of feed d: a few share a 9-bit band by chance, not thousands. */
    assert_true(story_count(store, 900, h, b, &s) < 200);
    assert_int_equal(s.ids[0], first);

    /* Feed a's own alert is not a candidate for feed a's next item. */
    assert_true(story_count(store, 900, h, a, &s) >= 1);
    for (unsigned i = 0; i < s.n && i < 64; i++)
        assert_int_not_equal(s.feeds[i], a);
    assert_int_equal(s.ids[0], second);

    /* No band in common: not read at all (first and second). */
    story_count(store, 900, h ^ STORY_FAR, b, &s);
    for (unsigned i = 0; i < s.n && i < 64; i++) {
        assert_int_not_equal(s.ids[i], first);
        assert_int_not_equal(s.ids[i], second);
    }

    /* All 64 bits flipped: only ~h's alert agrees everywhere. */
    assert_true(story_count(store, 900, ~h, b, &s) >= 1);
    assert_int_equal(s.ids[0], neg);

    /* The window: nothing raised at or after 1200. */
    assert_int_equal(story_count(store, 1200, h, b, &s), 0);
    /* The old alert is found when the window reaches back to it. */
    assert_true(story_count(store, 0, h, b, &s) >= 2);
    assert_int_equal(s.ids[0], first);
    saw_old = false;
    for (unsigned i = 0; i < s.n && i < 64; i++)
        saw_old |= s.ids[i] == old;
    assert_true(saw_old);

    /* Retention clears the signature of the items it prunes: their alerts are no candidates. */
    unsigned pruned = 0;
    assert_int_equal(
        store_prune_batch(store, 1001, INT64_MAX, 10, 1 << 20, 5000, NULL, NULL, &pruned), 0);
    assert_int_equal(pruned, 2); /* first's item (seen at 1000) and old's (at 10) */
    story_count(store, 0, h, b, &s);
    for (unsigned i = 0; i < s.n && i < 64; i++) {
        assert_int_not_equal(s.ids[i], first);
        assert_int_not_equal(s.ids[i], old);
    }
    store_free(store);
}

/* Migration 7 fills the bands of the alerts a schema 6 database already holds. */
static void
test_store_migration_fills_story_bands(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    const uint64_t h = 0x8123456789abcdefULL;
    struct story_all s;

    int64_t first = story_alert(store, a, "a1", h, 1000);
    int64_t none = 0, item_id = 0;
    struct feed_item item = mkitem("a2", 100);
    assert_int_equal(store_item_add(store, a, &item, NULL, 0, 1000, &item_id), 1);
    assert_int_equal(store_alert_add(store, "t", item_id, NULL, NULL, 0, 1000, &none), 1);
    store_free(store);

    /* Back to schema 6: no story_bands table, no deliveries.last_attempt_at, no story keys. */
    sqlite3 *db = open_raw(fx);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM story_bands", NULL), 7);
    raw_exec(db,
             "DROP TABLE story_keys; ALTER TABLE alerts DROP COLUMN story_sig;"
             "DROP TABLE story_bands; ALTER TABLE deliveries DROP COLUMN last_attempt_at;"
             " DROP TABLE hook_batches;"
             " DROP INDEX items_feed_url; DROP TABLE event_deliveries; DROP TABLE feed_events;"
             " DROP TRIGGER item_versions_pruned; DROP TABLE item_versions;"
             " ALTER TABLE items DROP COLUMN fingerprint; ALTER TABLE items DROP COLUMN edited_at;"
             " ALTER TABLE feeds DROP COLUMN "
             "move_url;"
             " ALTER TABLE feeds DROP COLUMN move_seen; ALTER TABLE feeds DROP COLUMN last_new_at;"
             " ALTER TABLE feeds DROP COLUMN new_gap; ALTER TABLE feeds DROP COLUMN stalled;"
             " ALTER TABLE feeds DROP COLUMN doc_items; ALTER TABLE feeds DROP COLUMN life;"
             " ALTER TABLE feeds DROP COLUMN base_url; PRAGMA user_version = 6;");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    store = open_store(fx);
    assert_true(story_count(store, 900, h ^ STORY_NEAR_HI, b, &s) >= 1);
    assert_int_equal(s.ids[0], first);
    assert_true(story_count(store, 900, h ^ STORY_NEAR_LO, b, &s) >= 1);
    assert_int_equal(s.ids[0], first);
    assert_int_equal(story_count(store, 900, h ^ STORY_FAR, b, &s), 0);
    store_free(store);

    db = open_raw(fx);
    assert_int_equal(raw_int(db, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
    /* Seven bands of the signed alert, none for the alert without a signature. */
    assert_int_equal(raw_int(db, "SELECT count(*) FROM story_bands", NULL), 7);
    assert_int_equal(raw_int(db, "SELECT count(DISTINCT alert_id) FROM story_bands", NULL), 1);
    assert_int_equal(raw_int(db, "SELECT band_value FROM story_bands WHERE band_no = 6", NULL),
                     (int64_t)(h >> 54));
    assert_int_equal(raw_int(db, "SELECT band_value FROM story_bands WHERE band_no = 0", NULL),
                     (int64_t)(h & 511));
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

struct runtime_seen {
    unsigned n;
    bool a_runtime, a_removed;
    double a_rate;
};

static int
on_runtime_feed(void *userdata, const struct store_feed *feed)
{
    struct runtime_seen *seen = userdata;
    seen->n++;
    if (strcmp(feed->name, "a") == 0) {
        seen->a_runtime = feed->runtime_url && strcmp(feed->runtime_url, "https://r/a") == 0;
        seen->a_removed = feed->removed;
        seen->a_rate = feed->item_rate;
    }
    return 0;
}

/* Run-time feeds: the marker, the removal and the item rate persist; no rate reads as < 0. */
static void
test_store_feed_runtime_marker_and_rate_persist(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    struct store_feed feed = {0};
    struct runtime_seen seen = {0};

    assert_int_equal(store_feed_ensure(store, "a", "https://r/a", &feed), 0);
    assert_null(feed.runtime_url);
    assert_false(feed.removed);
    assert_true(feed.item_rate < 0.0);
    assert_int_equal(store_feed_set_runtime(store, feed.id, "https://r/a", false), 0);
    feed.item_rate = 6.5;
    assert_int_equal(store_feed_save(store, &feed), 0);
    assert_int_equal(store_feed_set_runtime(store, 9999, NULL, true), -ENOENT);
    assert_null(feed.runtime_opts);
    assert_int_equal(store_feed_set_runtime_opts(store, feed.id, "{\"interval_s\":900}"), 0);
    assert_int_equal(store_feed_set_runtime_opts(store, 9999, NULL), -ENOENT);
    store_feed_done(&feed);
    store_free(store);

    store = open_store(fx);
    assert_int_equal(store_feed_list(store, on_runtime_feed, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_true(seen.a_runtime);
    assert_false(seen.a_removed);
    assert_true(seen.a_rate > 6.49 && seen.a_rate < 6.51);

    assert_int_equal(store_feed_ensure(store, "a", "https://r/a", &feed), 0);
    assert_string_equal(feed.runtime_opts, "{\"interval_s\":900}");
    {
        struct store_feed copy = {0};
        assert_int_equal(store_feed_copy(&copy, &feed), 0);
        assert_string_equal(copy.runtime_opts, "{\"interval_s\":900}");
        assert_ptr_not_equal(copy.runtime_opts, feed.runtime_opts);
        store_feed_done(&copy);
    }
    assert_int_equal(store_feed_set_runtime(store, feed.id, NULL, true), 0);
    feed.item_rate = -1.0;
    assert_int_equal(store_feed_save(store, &feed), 0);
    store_feed_done(&feed);
    assert_int_equal(store_feed_ensure(store, "a", "https://r/a", &feed), 0);
    assert_null(feed.runtime_url);
    assert_true(feed.removed);
    assert_true(feed.item_rate < 0.0);

    /* A new source forgets the rate observed on the old one. */
    feed.item_rate = 3.0;
    assert_int_equal(store_feed_save(store, &feed), 0);
    store_feed_done(&feed);
    assert_int_equal(store_feed_ensure(store, "a", "https://r/other", &feed), 0);
    assert_true(feed.item_rate < 0.0);
    store_feed_done(&feed);
    store_free(store);
}

struct pruned_seen {
    int n;
    int64_t ids[16];
    char titles[16][32];
};

static int
on_pruned(void *userdata, int64_t item_id, const char *title, const char *body)
{
    struct pruned_seen *p = userdata;

    assert_true(p->n < 16);
    assert_non_null(body); /* the summary stands in for a missing text */
    p->ids[p->n] = item_id;
    (void)snprintf(p->titles[p->n], sizeof(p->titles[0]), "%s", title ? title : "");
    p->n++;
    return 0;
}

/*
 * Retention: items first seen before the cutoff lose text and metadata, oldest first, in
 * batches of at most limit; their keys stay (a listed item is known, not stored again); items
 * above max_id and items with an alert waiting for a hook are kept; the tally is kept.
 */
static void
test_store_prune_batch(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t ids[6] = {0}, pruned = -1, last = 0, alert = 0;
    char key[8];
    char *hooks[] = {"notify"};
    unsigned n = 99;

    for (int i = 0; i < 6; i++) {
        struct feed_item item = mkitem(NULL, 100);
        (void)snprintf(key, sizeof(key), "k%d", i);
        item.key = key;
        item.title = key;
        item.summary = "<p>summary</p>";
        assert_int_equal(store_item_add(store, a, &item, "text", 0x1234, 1000 + i, &ids[i]), 1);
    }
    /* k4 has an alert waiting for its hook; k1 one that was delivered. */
    assert_int_equal(store_alert_add(store, "t", ids[4], "[]", hooks, 1, 1000, &alert), 1);
    assert_int_equal(
        store_alert_add(store, "t", ids[1], "[{\"term\":\"x\"}]", NULL, 0, 1000, &alert), 1);
    assert_int_equal(store_retention_get(store, &pruned, &last), 0);
    assert_int_equal(pruned, 0);
    assert_int_equal(last, FEED_TIME_NONE);

    /* Nothing before the oldest first-seen time. */
    assert_int_equal(store_prune_batch(store, 1000, INT64_MAX, 10, 1 << 20, 5000, NULL, NULL, &n),
                     0);
    assert_int_equal(n, 0);

    /* Two at a time, oldest first; the cutoff leaves k5 (first seen at 1005). */
    struct pruned_seen seen = {0};
    assert_int_equal(
        store_prune_batch(store, 1005, INT64_MAX, 2, 1 << 20, 5000, on_pruned, &seen, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ids[0], ids[0]);
    assert_string_equal(seen.titles[1], "k1");
    /* max_id: the search index has not reached k3, so it stays. */
    assert_int_equal(
        store_prune_batch(store, 1005, ids[2], 10, 1 << 20, 6000, on_pruned, &seen, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(seen.ids[2], ids[2]);
    assert_int_equal(
        store_prune_batch(store, 1005, INT64_MAX, 10, 1 << 20, 7000, on_pruned, &seen, &n), 0);
    assert_int_equal(n, 1); /* k3; k4 waits for its hook */
    assert_int_equal(seen.ids[3], ids[3]);
    assert_int_equal(store_retention_get(store, &pruned, &last), 0);
    assert_int_equal(pruned, 4);
    assert_int_equal(last, 7000);

    sqlite3 *db = open_raw(fx);
    assert_int_equal(raw_int(db,
                             "SELECT count(*) FROM items WHERE pruned_at IS NOT NULL AND"
                             " title IS NULL AND text IS NULL AND summary IS NULL AND"
                             " url IS NULL AND simhash IS NULL AND published_at IS NULL",
                             NULL),
                     4);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM items WHERE text = 'text'", NULL), 2);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM alerts WHERE matched IS NULL", NULL), 1);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    /* The keys stay: a feed that still lists k0 does not store it again. */
    assert_int_equal(store_item_known(store, a, "k0"), 1);
    add_item(store, a, "k0", 100, 8000, 0);
    assert_int_equal(count_items(store), 6);
    /* Lists leave pruned items out. */
    struct item_seen listed = {0};
    assert_int_equal(store_items_list(store, NULL, 0, false, on_item, &listed), 0);
    assert_int_equal(listed.n, 2);
    store_free(store);
}

/*
 * A delivery and its alert's state change together or not at all: when the alert's refresh
 * fails (a trigger makes it fail here; a kill -9 between the two did it in the fault test),
 * the delivery keeps its old state, so the two never disagree.
 */
static void
test_store_delivery_set_is_atomic(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    struct feed_item item = mkitem("k1", 100);
    int64_t item_id = 0, alert = 0;
    char *hooks[] = {"notify"};

    assert_int_equal(store_item_add(store, a, &item, "text", 0, 1000, &item_id), 1);
    assert_int_equal(store_alert_add(store, "t", item_id, "[]", hooks, 1, 1000, &alert), 1);
    assert_int_equal(store_delivery_set(store, alert, "notify", "running", 1, FEED_TIME_NONE, NULL,
                                        FEED_TIME_NONE),
                     0);
    sqlite3 *db = open_raw(fx);
    raw_exec(db, "CREATE TRIGGER no_refresh BEFORE UPDATE ON alerts"
                 " BEGIN SELECT RAISE(ABORT, 'refresh refused'); END");
    assert_true(store_delivery_set(store, alert, "notify", "delivered", 1, FEED_TIME_NONE, NULL,
                                   FEED_TIME_NONE) < 0);
    char *st = raw_text(db, "SELECT state FROM deliveries", NULL);
    assert_string_equal(st, "running");
    free(st);
    st = raw_text(db, "SELECT state FROM alerts", NULL);
    assert_string_equal(st, "running");
    free(st);
    /* Same for the reset at start. */
    assert_true(store_deliveries_reset_running(store) < 0);
    st = raw_text(db, "SELECT state FROM deliveries", NULL);
    assert_string_equal(st, "running");
    free(st);
    raw_exec(db, "DROP TRIGGER no_refresh");
    assert_int_equal(store_deliveries_reset_running(store), 1);
    assert_int_equal(store_delivery_set(store, alert, "notify", "delivered", 2, FEED_TIME_NONE,
                                        NULL, FEED_TIME_NONE),
                     0);
    st = raw_text(db, "SELECT state FROM alerts", NULL);
    assert_string_equal(st, "delivered");
    free(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    store_free(store);
}

/* One alert's deliveries as store_alert_deliveries gives them, by hook name. */
struct deliveries_seen {
    unsigned n;
    char hook[4][16];
    char state[4][16];
    unsigned attempts[4];
    int64_t next_at[4], last_at[4];
    char error[4][32];
};

static int
on_delivery_row(void *userdata, const struct store_delivery_row *row)
{
    struct deliveries_seen *s = userdata;
    if (s->n < 4) {
        (void)snprintf(s->hook[s->n], sizeof(s->hook[0]), "%s", row->hook);
        (void)snprintf(s->state[s->n], sizeof(s->state[0]), "%s", row->state);
        s->attempts[s->n] = row->attempts;
        s->next_at[s->n] = row->next_attempt_at;
        s->last_at[s->n] = row->last_attempt_at;
        (void)snprintf(s->error[s->n], sizeof(s->error[0]), "%s",
                       row->last_error ? row->last_error : "(null)");
    }
    s->n++;
    return 0;
}

static void
deliveries_of(struct store *store, int64_t alert, struct deliveries_seen *s)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(store_alert_deliveries(store, alert, on_delivery_row, s), 0);
}

/* The state of alert id (as text) through a connection of the test's own; the caller frees. */
static char *
alert_state(sqlite3 *db, int64_t id)
{
    char sql[96];
    (void)snprintf(sql, sizeof(sql), "SELECT state FROM alerts WHERE id = %lld", (long long)id);
    return raw_text(db, sql, NULL);
}

static void
assert_alert_state(sqlite3 *db, int64_t id, const char *want)
{
    char *got = alert_state(db, id);
    assert_string_equal(got, want);
    free(got);
}

struct requeued_seen {
    unsigned n;
    int64_t alert[8];
    char hook[8][16];
};

static int
on_requeued(void *userdata, int64_t alert_id, const char *hook)
{
    struct requeued_seen *s = userdata;
    if (s->n < 8) {
        s->alert[s->n] = alert_id;
        (void)snprintf(s->hook[s->n], sizeof(s->hook[0]), "%s", hook);
    }
    s->n++;
    return 0;
}

/*
 * Each (alert, hook) keeps its own state, attempts, error, next and last attempt; one hook
 * failing and the other delivering makes the alert failed; `redeliver --failed` makes only
 * the failed one pending again (attempts and error cleared, the other left delivered), only
 * for hooks configured now and only the hook asked for; `redeliver ALERT` of one delivery
 * resets it, leaves a running one alone and creates one for a hook the alert never had (an
 * alert without hooks is no-hook until then).
 */
static void
test_store_per_hook_deliveries_and_requeue(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    struct feed_item item = mkitem("k1", 100), item2 = mkitem("k2", 100);
    int64_t item_id = 0, item2_id = 0, alert = 0, quiet = 0;
    char *hooks[] = {"notify", "webhook"};
    struct deliveries_seen s;
    struct requeued_seen q;
    int64_t delivered, pending, failed, no_hook;

    assert_int_equal(store_item_add(store, a, &item, "text", 0, 1000, &item_id), 1);
    assert_int_equal(store_item_add(store, a, &item2, "text", 0, 1000, &item2_id), 1);
    assert_int_equal(store_alert_add(store, "t", item_id, "[]", hooks, 2, 1000, &alert), 1);
    assert_int_equal(store_alert_add(store, "quiet", item2_id, "[]", NULL, 0, 1000, &quiet), 1);
    sqlite3 *db = open_raw(fx);
    assert_alert_state(db, quiet, "no-hook");
    deliveries_of(store, quiet, &s);
    assert_int_equal(s.n, 0);

    /* notify delivered on its first try, webhook failed after 3 (each with when it ended). */
    assert_int_equal(
        store_delivery_set(store, alert, "notify", "delivered", 1, FEED_TIME_NONE, NULL, 1100), 0);
    assert_int_equal(store_delivery_set(store, alert, "webhook", "running", 3, FEED_TIME_NONE, NULL,
                                        FEED_TIME_NONE),
                     0);
    deliveries_of(store, alert, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.hook[1], "webhook");
    assert_string_equal(s.state[1], "running");
    assert_int_equal(s.last_at[1], FEED_TIME_NONE); /* a start is no end */
    assert_alert_state(db, alert, "running");
    assert_int_equal(store_delivery_set(store, alert, "webhook", "failed", 3, FEED_TIME_NONE,
                                        "exit status 1", 1200),
                     0);
    deliveries_of(store, alert, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.hook[0], "notify");
    assert_string_equal(s.state[0], "delivered");
    assert_int_equal(s.attempts[0], 1);
    assert_int_equal(s.last_at[0], 1100);
    assert_string_equal(s.error[0], "(null)");
    assert_string_equal(s.hook[1], "webhook");
    assert_string_equal(s.state[1], "failed");
    assert_int_equal(s.attempts[1], 3);
    assert_int_equal(s.last_at[1], 1200);
    assert_int_equal(s.next_at[1], FEED_TIME_NONE);
    assert_string_equal(s.error[1], "exit status 1");
    assert_alert_state(db, alert, "failed");
    assert_int_equal(store_alert_counts(store, &delivered, &pending, &failed, &no_hook), 0);
    assert_true(delivered == 0 && pending == 0 && failed == 1 && no_hook == 1);

    /* --failed for a hook no longer configured, or another hook only: nothing. */
    memset(&q, 0, sizeof(q));
    assert_int_equal(store_deliveries_requeue_failed(store, NULL, "[\"notify\"]", 2000, 0, NULL, 0,
                                                     on_requeued, &q),
                     0);
    assert_int_equal(store_deliveries_requeue_failed(store, "notify", "[\"notify\",\"webhook\"]",
                                                     2000, 0, NULL, 0, on_requeued, &q),
                     0);
    /* A batch goes on after a key: nothing after (alert, "webhook"), nor in an empty batch. */
    assert_int_equal(store_deliveries_requeue_failed(store, NULL, "[\"notify\",\"webhook\"]", 2000,
                                                     alert, "webhook", 0, on_requeued, &q),
                     0);
    assert_int_equal(q.n, 0);
    assert_int_equal(q.n, 0);
    assert_alert_state(db, alert, "failed");
    /* --failed: webhook only, due at once, attempts and error cleared; notify untouched. */
    assert_int_equal(store_deliveries_requeue_failed(store, NULL, "[\"notify\",\"webhook\"]", 2000,
                                                     alert, "notify", 1, on_requeued, &q),
                     1);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.alert[0], alert);
    assert_string_equal(q.hook[0], "webhook");
    deliveries_of(store, alert, &s);
    assert_string_equal(s.state[0], "delivered");
    assert_int_equal(s.attempts[0], 1);
    assert_string_equal(s.state[1], "pending");
    assert_int_equal(s.attempts[1], 0);
    assert_int_equal(s.next_at[1], 2000);
    assert_int_equal(s.last_at[1], 1200); /* history stays */
    assert_string_equal(s.error[1], "(null)");
    assert_alert_state(db, alert, "pending");
    int due = 0;
    assert_int_equal(store_deliveries_due(store, 2000, 10, on_due, &due), 0);
    assert_int_equal(due, 1);
    /* Nothing failed is left. */
    assert_int_equal(store_deliveries_requeue_failed(store, NULL, "[\"notify\",\"webhook\"]", 2001,
                                                     0, NULL, 0, on_requeued, &q),
                     0);

    /* One delivery again: the delivered one is pending, the running one is left alone. */
    assert_int_equal(store_delivery_requeue(store, alert, "notify", 3000), 1);
    deliveries_of(store, alert, &s);
    assert_string_equal(s.state[0], "pending");
    assert_int_equal(s.attempts[0], 0);
    assert_int_equal(s.next_at[0], 3000);
    assert_int_equal(store_delivery_set(store, alert, "webhook", "running", 1, FEED_TIME_NONE, NULL,
                                        FEED_TIME_NONE),
                     0);
    assert_int_equal(store_delivery_requeue(store, alert, "webhook", 3000), 0);
    deliveries_of(store, alert, &s);
    assert_string_equal(s.state[1], "running");
    assert_int_equal(s.attempts[1], 1);

    /* A hook the alert never had (added to its topic later): created, the alert pending. */
    assert_int_equal(store_delivery_requeue(store, quiet, "notify", 3000), 1);
    deliveries_of(store, quiet, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.state[0], "pending");
    assert_int_equal(s.next_at[0], 3000);
    assert_alert_state(db, quiet, "pending");
    assert_int_equal(store_alert_counts(store, &delivered, &pending, &failed, &no_hook), 0);
    assert_true(delivered == 0 && pending == 2 && failed == 0 && no_hook == 0);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    store_free(store);
}

/*
 * Migration 8 from a schema 7 database: an alert without deliveries (stored as delivered)
 * becomes no-hook; every other alert and every delivery keeps its state, attempts and error;
 * deliveries gain last_attempt_at (NULL: unknown).
 */
static void
test_store_migration_8_no_hook(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t ids[4] = {0}, alerts[4] = {0};
    char *one[] = {"notify"}, *two[] = {"notify", "webhook"};
    static const char *const keys[] = {"k0", "k1", "k2", "k3"};
    for (int i = 0; i < 4; i++) {
        struct feed_item item = mkitem(keys[i], 100);
        assert_int_equal(store_item_add(store, a, &item, "text", 0, 1000, &ids[i]), 1);
    }
    assert_int_equal(store_alert_add(store, "quiet", ids[0], "[]", NULL, 0, 1000, &alerts[0]), 1);
    assert_int_equal(store_alert_add(store, "t", ids[1], "[]", one, 1, 1000, &alerts[1]), 1);
    assert_int_equal(store_alert_add(store, "t", ids[2], "[]", two, 2, 1000, &alerts[2]), 1);
    assert_int_equal(store_alert_add(store, "t", ids[3], "[]", one, 1, 1000, &alerts[3]), 1);
    assert_int_equal(
        store_delivery_set(store, alerts[1], "notify", "delivered", 1, FEED_TIME_NONE, NULL, 1100),
        0);
    assert_int_equal(
        store_delivery_set(store, alerts[2], "notify", "delivered", 2, FEED_TIME_NONE, NULL, 1100),
        0);
    assert_int_equal(store_delivery_set(store, alerts[2], "webhook", "failed", 4, FEED_TIME_NONE,
                                        "HTTP 500", 1200),
                     0);
    store_free(store);

    /* Back to schema 7 as that release wrote it: an alert without hooks was delivered. */
    sqlite3 *db = open_raw(fx);
    raw_exec(db,
             "DROP TABLE story_keys; ALTER TABLE alerts DROP COLUMN story_sig;"
             " ALTER TABLE deliveries DROP COLUMN last_attempt_at;"
             " UPDATE alerts SET state = 'delivered' WHERE state = 'no-hook';"
             " DROP TABLE hook_batches;"
             " DROP INDEX items_feed_url; DROP TABLE event_deliveries; DROP TABLE feed_events;"
             " DROP TRIGGER item_versions_pruned; DROP TABLE item_versions;"
             " ALTER TABLE items DROP COLUMN fingerprint; ALTER TABLE items DROP COLUMN edited_at;"
             " ALTER TABLE feeds DROP COLUMN "
             "move_url;"
             " ALTER TABLE feeds DROP COLUMN move_seen; ALTER TABLE feeds DROP COLUMN last_new_at;"
             " ALTER TABLE feeds DROP COLUMN new_gap; ALTER TABLE feeds DROP COLUMN stalled;"
             " ALTER TABLE feeds DROP COLUMN doc_items; ALTER TABLE feeds DROP COLUMN life;"
             " ALTER TABLE feeds DROP COLUMN base_url; PRAGMA user_version = 7;");
    assert_alert_state(db, alerts[0], "delivered");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    store = open_store(fx);
    db = open_raw(fx);
    assert_int_equal(raw_int(db, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
    assert_alert_state(db, alerts[0], "no-hook");
    assert_alert_state(db, alerts[1], "delivered");
    assert_alert_state(db, alerts[2], "failed");
    assert_alert_state(db, alerts[3], "pending");
    assert_int_equal(raw_int(db, "SELECT count(*) FROM deliveries", NULL), 4);
    assert_int_equal(
        raw_int(db, "SELECT count(*) FROM deliveries WHERE last_attempt_at IS NULL", NULL), 4);
    struct deliveries_seen s;
    deliveries_of(store, alerts[2], &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.state[0], "delivered");
    assert_int_equal(s.attempts[0], 2);
    assert_string_equal(s.state[1], "failed");
    assert_int_equal(s.attempts[1], 4);
    assert_string_equal(s.error[1], "HTTP 500");
    assert_int_equal(s.last_at[1], FEED_TIME_NONE);
    int64_t delivered, pending, failed, no_hook;
    assert_int_equal(store_alert_counts(store, &delivered, &pending, &failed, &no_hook), 0);
    assert_true(delivered == 1 && pending == 1 && failed == 1 && no_hook == 1);
    /* The next outcome records its time. */
    assert_int_equal(
        store_delivery_set(store, alerts[3], "notify", "delivered", 1, FEED_TIME_NONE, NULL, 1300),
        0);
    assert_int_equal(
        raw_int(db, "SELECT count(*) FROM deliveries WHERE last_attempt_at = 1300", NULL), 1);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    store_free(store);
}

struct due_seen {
    int n;
    int64_t alert[8];
};

static int
on_due_order(void *userdata, int64_t alert_id, const char *hook, unsigned attempts)
{
    struct due_seen *s = userdata;
    (void)hook;
    (void)attempts;
    assert_true(s->n < 8);
    s->alert[s->n++] = alert_id;
    return 0;
}

/*
 * The due read (schema 9): NULL counts as due at once, then by time, then by alert; it stops at
 * its limit and at now, off an index on the same expression (review16: the old index sorted
 * every pending row for each read). A schema 8 database gets the new index.
 */
static void
test_store_due_read_in_index_order(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t feed = ensure_feed(store, "a", "https://example.org/a.xml");
    char *hooks[] = {"notify"};
    int64_t alerts[6], at = 0;
    for (int i = 0; i < 6; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", i);
        struct feed_item item = mkitem(key, 100);
        int64_t item_id = 0;
        assert_int_equal(store_item_add(store, feed, &item, NULL, 0, 1000, &item_id), 1);
        assert_int_equal(store_alert_add(store, "t", item_id, NULL, hooks, 1, 1000, &alerts[i]), 1);
    }
    store_free(store);
    /* Due times (alert 0..5): 3000, NULL, 2000, 2000, 5000, and 5 delivered (never due). */
    sqlite3 *db = open_raw(fx);
    const char *const when[] = {"3000", "NULL", "2000", "2000", "5000"};
    for (int i = 0; i < 5; i++) {
        char sql[160];
        snprintf(sql, sizeof(sql),
                 "UPDATE deliveries SET next_attempt_at = %s WHERE alert_id = %lld", when[i],
                 (long long)alerts[i]);
        raw_exec(db, sql);
    }
    raw_exec(db, "UPDATE deliveries SET state = 'delivered', next_attempt_at = 0"
                 " WHERE alert_id = (SELECT max(alert_id) FROM deliveries)");
    /* Back to schema 8 as that release wrote it; opening migrates. */
    raw_exec(db,
             "DROP INDEX deliveries_due; DROP INDEX alerts_item; DROP INDEX alert_sources_item;"
             " CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);"
             " DROP TABLE hook_batches;"
             " DROP TABLE story_keys; ALTER TABLE alerts DROP COLUMN story_sig;"
             " DROP INDEX items_feed_url; DROP TABLE event_deliveries; DROP TABLE feed_events;"
             " DROP TRIGGER item_versions_pruned; DROP TABLE item_versions;"
             " ALTER TABLE items DROP COLUMN fingerprint; ALTER TABLE items DROP COLUMN edited_at;"
             " ALTER TABLE feeds DROP COLUMN "
             "move_url;"
             " ALTER TABLE feeds DROP COLUMN move_seen; ALTER TABLE feeds DROP COLUMN last_new_at;"
             " ALTER TABLE feeds DROP COLUMN new_gap; ALTER TABLE feeds DROP COLUMN stalled;"
             " ALTER TABLE feeds DROP COLUMN doc_items; ALTER TABLE feeds DROP COLUMN life;"
             " ALTER TABLE feeds DROP COLUMN base_url; PRAGMA user_version = 8;");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    store = open_store(fx);
    struct due_seen s = {0};
    assert_int_equal(store_deliveries_due(store, 2999, 10, on_due_order, &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.alert[0], alerts[1]);
    assert_int_equal(s.alert[1], alerts[2]);
    assert_int_equal(s.alert[2], alerts[3]);
    memset(&s, 0, sizeof(s));
    assert_int_equal(store_deliveries_due(store, 9999, 4, on_due_order, &s), 0);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.alert[3], alerts[0]);
    assert_int_equal(store_delivery_next_due(store, &at), 1);
    assert_int_equal(at, 0);
    assert_int_equal(
        store_delivery_set(store, alerts[1], "notify", "delivered", 1, FEED_TIME_NONE, NULL, 1100),
        0);
    assert_int_equal(store_delivery_next_due(store, &at), 1);
    assert_int_equal(at, 2000);

    db = open_raw(fx);
    assert_int_equal(raw_int(db, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(db,
                             "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN"
                             " ('alerts_item', 'alert_sources_item')",
                             NULL),
                     2);
    /* Key columns: state, an expression (cid -2), alert_id. */
    assert_int_equal(raw_int(db,
                             "SELECT group_concat(cid, ',') = '2,-2,0' FROM (SELECT cid FROM"
                             " pragma_index_xinfo('deliveries_due') WHERE key ORDER BY seqno)",
                             NULL),
                     1);
    /* The read the store runs is a range on that index with no sort. */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "EXPLAIN QUERY PLAN SELECT alert_id FROM deliveries"
                                        " WHERE state = 'pending' AND COALESCE(next_attempt_at, 0)"
                                        " <= 1 ORDER BY COALESCE(next_attempt_at, 0), alert_id",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(st, 3);
        assert_non_null(strstr(detail, "USING INDEX deliveries_due"));
        rows++;
    }
    assert_int_equal(rows, 1);
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    store_free(store);
}

/* The query plan of sql on db, its rows' details joined by "; " (the caller frees it). */
static char *
raw_plan(sqlite3 *db, const char *sql)
{
    char q[512];
    snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    char *plan = calloc(1, 1);
    size_t len = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(st, 3);
        size_t n = strlen(detail);
        plan = realloc(plan, len + n + 3);
        assert_non_null(plan);
        memcpy(plan + len, detail, n);
        memcpy(plan + len + n, "; ", 3);
        len += n + 2;
    }
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    return plan;
}

/*
 * Schema 10: retention's reads of an item's alerts and sources are index lookups, not a walk
 * of every pending alert per item (the fault run: 2.8 s a batch with 3,900 alerts pending).
 */
static void
test_store_alerts_by_item_indexed(void **state)
{
    struct fixture *fx = *state;
    store_free(open_store(fx));
    sqlite3 *db = open_raw(fx);
    const char *const reads[] = {
        "SELECT 1 FROM alerts AS a WHERE a.item_id = 7 AND a.state IN ('pending', 'running')",
        "UPDATE alerts SET matched = NULL WHERE item_id = 7",
        "DELETE FROM story_bands WHERE alert_id IN (SELECT id FROM alerts WHERE item_id = 7)",
        "SELECT alert_id FROM alert_sources WHERE item_id = 7",
    };
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        char *plan = raw_plan(db, reads[i]);
        if (strstr(plan, "SCAN") || !strstr(plan, "item_id=?"))
            fail_msg("%s: %s", reads[i], plan);
        free(plan);
    }
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/*
 * In another process (this test program run again, so that no SQLite state is inherited
 * through fork): opens a read-write connection to db, counts the feeds, closes it. Returns
 * the count.
 */
static int
other_process_count_feeds(const char *db)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/proc/self/exe", "test_store", "--count-feeds", db, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_true(WEXITSTATUS(status) < 100);
    return WEXITSTATUS(status);
}

/* The child's side of other_process_count_feeds (exit status: the count, or 100+). */
static int
child_count_feeds(const char *db)
{
    sqlite3 *c = NULL;
    sqlite3_stmt *st = NULL;
    int n = 101;
    if (sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(c, "SELECT count(*) FROM feeds", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_close(c) != SQLITE_OK)
        n = 102;
    return n < 100 ? n : 100;
}

static int
count_feed(void *userdata, const struct store_feed *feed)
{
    (void)feed;
    (*(int *)userdata)++;
    return 0;
}

/*
 * The process keeps its SHARED lock on the file through store_check and a second open: else
 * another process closing its connection finds itself the last one, checkpoints and deletes
 * the WAL, and what this process commits afterwards goes to a deleted file.
 */
static void
test_store_check_and_reopen_keep_the_file_locked(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    struct store_feed st = {0};
    char *msg = NULL;

    assert_int_equal(store_feed_ensure(store, "before", "http://127.0.0.1/a", &st), 0);
    store_feed_done(&st);
    assert_int_equal(store_check(store, &msg), 0);
    struct store *second = open_store(fx);
    assert_int_equal(other_process_count_feeds(fx->db), 1);
    assert_int_equal(store_feed_ensure(store, "after", "http://127.0.0.1/b", &st), 0);
    store_feed_done(&st);
    /* Another connection sees both rows: the commit went to the live WAL. */
    assert_int_equal(other_process_count_feeds(fx->db), 2);
    int n = 0;
    assert_int_equal(store_feed_list(second, count_feed, &n), 0);
    assert_int_equal(n, 2);
    store_free(second);
    store_free(store);
}

struct full_seen {
    int calls;
    int64_t id, first_seen, pruned;
    char feed[16], title[32], text[32], categories[64], language[8];
    bool has_text;
};

static int
on_full(void *userdata, const struct store_item_full *it)
{
    struct full_seen *f = userdata;
    f->calls++;
    f->id = it->row.id;
    f->first_seen = it->row.first_seen_at;
    f->pruned = it->pruned_at;
    f->has_text = it->row.text != NULL;
    (void)snprintf(f->feed, sizeof(f->feed), "%s", it->row.feed);
    (void)snprintf(f->title, sizeof(f->title), "%s", it->row.title ? it->row.title : "-");
    (void)snprintf(f->text, sizeof(f->text), "%s", it->row.text ? it->row.text : "-");
    (void)snprintf(f->categories, sizeof(f->categories), "%s",
                   it->categories ? it->categories : "-");
    (void)snprintf(f->language, sizeof(f->language), "%s",
                   it->row.language ? it->row.language : "-");
    return 0;
}

struct item_alerts_seen {
    int n;
    int64_t ids[8];
    bool source[8];
    char topics[8][16];
    char matched[8][48];
};

static int
on_item_alert(void *userdata, const struct store_alert_row *row, bool source)
{
    struct item_alerts_seen *s = userdata;
    assert_true(s->n < 8);
    s->ids[s->n] = row->id;
    s->source[s->n] = source;
    (void)snprintf(s->topics[s->n], sizeof(s->topics[0]), "%s", row->topic);
    (void)snprintf(s->matched[s->n], sizeof(s->matched[0]), "%s",
                   row->matched ? row->matched : "-");
    s->n++;
    return 0;
}

struct delivery_lines {
    int n;
    char line[4][96];
};

static int
on_delivery_line(void *userdata, const struct store_delivery_row *d)
{
    struct delivery_lines *s = userdata;
    assert_true(s->n < 4);
    (void)snprintf(s->line[s->n], sizeof(s->line[0]), "%s %s %u %lld %s", d->hook, d->state,
                   d->attempts, (long long)d->next_attempt_at, d->last_error ? d->last_error : "-");
    s->n++;
    return 0;
}

/*
 * items --topic and --since (alone and with a feed or a list of feeds), item ID in full with
 * its alerts (raised on it, and those it is another source of) and their deliveries, and a
 * feed's tallies.
 */
static void
test_store_item_detail_and_filters(void **state)
{
    struct fixture *fx = *state;
    struct store *store = open_store(fx);
    int64_t a = ensure_feed(store, "a", "https://example.org/a.xml");
    int64_t b = ensure_feed(store, "b", "https://example.org/b.xml");
    char *cats[] = {"world", "europe"};
    char *hooks[] = {"notify", "webhook"};
    struct feed_item it = mkitem("a1", 1000);
    int64_t a1, a2, b1, b2, alert, quiet;
    it.title = (char *)"Volcano";
    it.language = (char *)"is";
    it.categories = cats;
    it.n_categories = 2;
    assert_int_equal(store_item_add(store, a, &it, "lava text", 0, 5000, &a1), 1);
    it = mkitem("a2", 3000);
    assert_int_equal(store_item_add(store, a, &it, NULL, 0, 5001, &a2), 1);
    it = mkitem("b1", FEED_TIME_NONE); /* first seen 2000 counts */
    assert_int_equal(store_item_add(store, b, &it, NULL, 0, 2000, &b1), 1);
    it = mkitem("b2", 4000);
    assert_int_equal(store_item_add(store, b, &it, NULL, 0, 5002, &b2), 1);
    assert_int_equal(
        store_alert_add(store, "lava", a1, "[{\"term\":\"lava\"}]", hooks, 2, 6000, &alert), 1);
    assert_int_equal(store_alert_add_source(store, alert, b1), 0); /* same story, feed b */
    assert_int_equal(store_alert_add(store, "quiet", b2, NULL, NULL, 0, 6001, &quiet), 1);
    assert_int_equal(store_delivery_set(store, alert, "webhook", "failed", 6, FEED_TIME_NONE,
                                        "HTTP 500", FEED_TIME_NONE),
                     0);
    assert_int_equal(
        store_delivery_set(store, alert, "notify", "pending", 1, 7000, "exit 1", FEED_TIME_NONE),
        0);

    struct item_seen seen;
    struct store_items_filter f = {.topic = "lava", .since_at = FEED_TIME_NONE};
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_query(store, &f, 0, false, on_item, &seen), 0);
    {
        static const char *const keys[] = {"b1", "a1"}; /* the alert's item and its source */
        assert_keys(&seen, 2, keys);
    }
    f.feed = "a";
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_query(store, &f, 0, false, on_item, &seen), 0);
    assert_keys(&seen, 1, (const char *const[]){"a1"});
    f.feed = NULL;
    f.feeds_json = "[\"b\"]";
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_query(store, &f, 0, false, on_item, &seen), 0);
    assert_keys(&seen, 1, (const char *const[]){"b1"});
    f.feeds_json = NULL;
    f.since_at = 1500; /* a1 was published at 1000 */
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_query(store, &f, 0, false, on_item, &seen), 0);
    assert_keys(&seen, 1, (const char *const[]){"b1"});
    f.topic = "nothing";
    f.since_at = FEED_TIME_NONE;
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_query(store, &f, 0, false, on_item, &seen), 0);
    assert_int_equal(seen.n, 0);

    /* --since without a topic: the bound is published, else first seen, inclusive. */
    struct store_items_filter g = {.since_at = 3000};
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_query(store, &g, 0, false, on_item, &seen), 0);
    assert_keys(&seen, 2, (const char *const[]){"b2", "a2"});
    g.feed = "b";
    g.since_at = 2000;
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_query(store, &g, 0, false, on_item, &seen), 0);
    assert_keys(&seen, 2, (const char *const[]){"b2", "b1"});
    g.feed = NULL;
    g.feeds_json = "[\"a\", \"b\"]";
    g.since_at = 3500;
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_items_query(store, &g, 1, false, on_item, &seen), 0);
    assert_keys(&seen, 1, (const char *const[]){"b2"});

    /* One item in full. */
    struct full_seen full = {0};
    assert_int_equal(store_item_get(store, a1, on_full, &full), 0);
    assert_int_equal(full.calls, 1);
    assert_int_equal(full.id, a1);
    assert_string_equal(full.feed, "a");
    assert_string_equal(full.title, "Volcano");
    assert_string_equal(full.text, "lava text");
    assert_string_equal(full.language, "is");
    assert_string_equal(full.categories, "[\"world\",\"europe\"]");
    assert_int_equal(full.first_seen, 5000);
    assert_true(full.pruned == FEED_TIME_NONE);
    memset(&full, 0, sizeof(full));
    assert_int_equal(store_item_get(store, b2 + 100, on_full, &full), -ENOENT);
    assert_int_equal(full.calls, 0);

    /* Its alerts, and those of the item it was attached to as another source. */
    struct item_alerts_seen al = {0};
    assert_int_equal(store_item_alerts(store, a1, on_item_alert, &al), 0);
    assert_int_equal(al.n, 1);
    assert_int_equal(al.ids[0], alert);
    assert_false(al.source[0]);
    assert_string_equal(al.matched[0], "[{\"term\":\"lava\"}]");
    memset(&al, 0, sizeof(al));
    assert_int_equal(store_item_alerts(store, b1, on_item_alert, &al), 0);
    assert_int_equal(al.n, 1);
    assert_int_equal(al.ids[0], alert);
    assert_true(al.source[0]);
    memset(&al, 0, sizeof(al));
    assert_int_equal(store_item_alerts(store, b2, on_item_alert, &al), 0);
    assert_int_equal(al.n, 1);
    assert_string_equal(al.topics[0], "quiet");
    memset(&al, 0, sizeof(al));
    assert_int_equal(store_item_alerts(store, a2, on_item_alert, &al), 0);
    assert_int_equal(al.n, 0);

    struct delivery_lines ds = {0};
    assert_int_equal(store_alert_deliveries(store, alert, on_delivery_line, &ds), 0);
    assert_int_equal(ds.n, 2);
    assert_string_equal(ds.line[0], "notify pending 1 7000 exit 1");
    assert_string_equal(ds.line[1], "webhook failed 6 -9223372036854775808 HTTP 500");
    memset(&ds, 0, sizeof(ds));
    assert_int_equal(store_alert_deliveries(store, quiet, on_delivery_line, &ds), 0);
    assert_int_equal(ds.n, 0);

    /* A feed's tallies; after retention prunes an item, its count stays and says so. */
    struct store_feed_counts n;
    assert_int_equal(store_feed_counts(store, "a", &n), 0);
    assert_int_equal(n.items, 2);
    assert_int_equal(n.pruned_items, 0);
    assert_int_equal(n.last_new_item_at, 5001);
    assert_int_equal(n.alerts_delivered + n.alerts_pending + n.alerts_failed, 1);
    assert_int_equal(n.alerts_failed, 1); /* the worst of its deliveries */
    assert_int_equal(n.alerts_no_hook, 0);
    assert_int_equal(store_feed_counts(store, "b", &n), 0);
    assert_int_equal(n.items, 2);
    assert_int_equal(n.alerts_no_hook, 1); /* quiet: no hooks */
    assert_int_equal(n.alerts_delivered + n.alerts_failed + n.alerts_pending, 0);
    assert_int_equal(store_feed_counts(store, "nope", &n), 0);
    assert_int_equal(n.items, 0);
    assert_true(n.last_new_item_at == FEED_TIME_NONE);
    unsigned pruned = 0;
    assert_int_equal(
        store_prune_batch(store, 3000, INT64_MAX, 10, 1 << 20, 9000, NULL, NULL, &pruned), 0);
    assert_int_equal(pruned, 1); /* b1, first seen 2000 */
    assert_int_equal(store_feed_counts(store, "b", &n), 0);
    assert_int_equal(n.items, 2);
    assert_int_equal(n.pruned_items, 1);
    memset(&full, 0, sizeof(full));
    assert_int_equal(store_item_get(store, b1, on_full, &full), 0);
    assert_int_equal(full.pruned, 9000);
    assert_string_equal(full.title, "-");
    store_free(store);
}

#define STORE_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--count-feeds") == 0)
        return child_count_feeds(argv[2]);
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_store_open_creates_schema_v1_in_wal_mode),
        STORE_TEST(test_store_reopen_is_idempotent),
        STORE_TEST(test_store_two_connections_share_the_file),
        STORE_TEST(test_store_check_and_reopen_keep_the_file_locked),
        STORE_TEST(test_store_reader_reads_and_never_writes),
        STORE_TEST(test_store_feed_urls),
        STORE_TEST(test_store_newer_schema_refused),
        STORE_TEST(test_store_foreign_database_refused),
        STORE_TEST(test_store_open_error_names_the_file),
        STORE_TEST(test_store_item_dedup_per_feed_key),
        STORE_TEST(test_store_item_keys_survive_reopen),
        STORE_TEST(test_store_item_known_per_feed),
        STORE_TEST(test_store_feed_model_round_trip),
        STORE_TEST(test_store_parts_of_one_transaction),
        STORE_TEST(test_store_rollback_leaves_nothing),
        STORE_TEST(test_store_rollback_of_a_failed_poll),
        STORE_TEST(test_store_feed_ensure_creates_and_loads),
        STORE_TEST(test_store_feed_ensure_url_change_resets_source),
        STORE_TEST(test_store_feed_save_round_trip),
        cmocka_unit_test(test_store_feed_copy_is_deep),
        STORE_TEST(test_store_feed_runtime_marker_and_rate_persist),
        STORE_TEST(test_store_feed_list_orders_by_name_with_counts),
        STORE_TEST(test_store_items_list_newest_first),
        STORE_TEST(test_store_item_detail_and_filters),
        STORE_TEST(test_store_count_items),
        STORE_TEST(test_store_disk_bytes),
        STORE_TEST(test_store_categories_json_escaping),
        STORE_TEST(test_store_categories_json_is_bounded),
        STORE_TEST(test_store_allocation_failures_are_clean),
        STORE_TEST(test_store_alerts_lifecycle),
        STORE_TEST(test_store_migrates_schema_1),
        STORE_TEST(test_store_story_candidates_by_band),
        STORE_TEST(test_store_migration_fills_story_bands),
        STORE_TEST(test_store_prune_batch),
        STORE_TEST(test_store_delivery_set_is_atomic),
        STORE_TEST(test_store_per_hook_deliveries_and_requeue),
        STORE_TEST(test_store_migration_8_no_hook),
        STORE_TEST(test_store_due_read_in_index_order),
        STORE_TEST(test_store_alerts_by_item_indexed),
    };

    /* The file mode test expects the usual service umask. */
    (void)umask(022);
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
