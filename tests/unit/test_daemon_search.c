/* Unit tests of the search index: the indexer catches up, queries find exactly what the
 * matcher would, newest first, also for words the index has not reached yet; on each engine
 * of the store (an SQLite file with its FTS5 file beside it; a PostgreSQL database of the
 * test server's, FW_TEST_PG: pgtest.h). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pgtest.h"
#include "search.h"
#include "store.h"

/* One case's database: its `database` value, and its folder (SQLite) or name (PostgreSQL). */
struct search_db {
    bool pg;
    char dir[64];
    char name[64];
    char database[512];
};

static int
setup_sqlite(void **state)
{
    struct search_db *db = calloc(1, sizeof(*db));
    assert_non_null(db);
    snprintf(db->dir, sizeof(db->dir), "/tmp/test_search.XXXXXX");
    assert_non_null(mkdtemp(db->dir));
    snprintf(db->database, sizeof(db->database), "%s/feedwatch.db", db->dir);
    *state = db;
    return 0;
}

static int
setup_pg(void **state)
{
    struct search_db *db = calloc(1, sizeof(*db));
    assert_non_null(db);
    db->pg = true;
    pgtest_create(db->name, sizeof(db->name), db->database, sizeof(db->database));
    *state = db;
    return 0;
}

static int
teardown(void **state)
{
    struct search_db *db = *state;
    char cmd[128];
    if (db->pg) {
        pgtest_drop(db->name);
    } else {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", db->dir);
        assert_int_equal(system(cmd), 0);
    }
    free(db);
    return 0;
}

struct hits {
    int n;
    int64_t ids[32];
    char matched[32][256];
};

static int
on_hit(void *userdata, const struct search_hit *hit)
{
    struct hits *h = userdata;
    if (h->n < 32) {
        h->ids[h->n] = hit->item_id;
        snprintf(h->matched[h->n], sizeof(h->matched[0]), "%s", hit->matched_json);
    }
    h->n++;
    return 0;
}

static int64_t
add(struct store *st, int64_t feed, const char *key, const char *title, const char *text)
{
    struct feed_item it = {.key = (char *)key,
                           .title = (char *)title,
                           .published_at = FEED_TIME_NONE,
                           .updated_at = FEED_TIME_NONE};
    int64_t id = 0;
    assert_int_equal(store_item_add(st, feed, &it, text, 0, 1000, &id), 1);
    return id;
}

static void
wait_caught_up(struct search *s)
{
    for (int i = 0; i < 1000 && search_lag(s) > 0; i++) {
        search_kick(s);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(search_lag(s), 0);
}

static struct hits
run(struct search *s, const char *q)
{
    struct hits h = {0};
    char *err = NULL;
    assert_int_equal(search_run(s, q, 20, on_hit, &h, &err), 0);
    assert_null(err);
    return h;
}

static void
test_daemon_search_finds_what_the_matcher_matches(void **state)
{
    struct search_db *sdb = *state;
    const char *db = sdb->database;
    struct store *st = NULL;
    char *err = NULL;
    assert_int_equal(store_open(db, &st, &err), 0);
    struct store_feed f = {0};
    assert_int_equal(store_feed_ensure(st, "a", "file:///a.xml", &f), 0);
    int64_t a = add(st, f.id, "1", "EU invites Russia to OSCE talks",
                    "The Organization for Security and Co-operation in Europe meets in Vienna.");
    int64_t b = add(st, f.id, "2", "Oekraïne en de grens",
                    "Troepen aan de grens met Oekraïne, zegt de OVSE.");
    int64_t c = add(st, f.id, "3", "Weather", "Snow closes the mountain pass.");

    struct search *s = NULL;
    assert_int_equal(search_new(db, &s, &err), 0);
    wait_caught_up(s);

    struct hits h = run(s, "OSCE OR OVSE");
    assert_int_equal(h.n, 2);
    assert_int_equal(h.ids[0], b); /* newest first */
    assert_int_equal(h.ids[1], a);
    assert_non_null(strstr(h.matched[0], "OVSE"));
    h = run(s, "oekraine"); /* accents folded on both sides */
    assert_int_equal(h.n, 1);
    assert_int_equal(h.ids[0], b);
    h = run(s, "\"grens oekraïne\"~3");
    assert_int_equal(h.n, 1);
    h = run(s, "\"grens oekraïne\""); /* not in this order */
    assert_int_equal(h.n, 0);
    h = run(s, "cooperation");
    assert_int_equal(h.n, 1);
    assert_int_equal(h.ids[0], a);
    h = run(s, "moun*");
    assert_int_equal(h.n, 1);
    assert_int_equal(h.ids[0], c);
    h = run(s, "title:vienna");
    assert_int_equal(h.n, 0);
    h = run(s, "NOT snow"); /* no positive word: the newest items are scanned */
    assert_int_equal(h.n, 2);

    /* An item the indexer has not seen yet is found too (read from the store directly). */
    int64_t d = add(st, f.id, "4", "Late OSCE news", "More from Vienna.");
    h = run(s, "osce");
    assert_true(h.n >= 2);
    assert_int_equal(h.ids[0], d);

    char *bad = NULL;
    struct hits none = {0};
    assert_int_equal(search_run(s, "(osce", 20, on_hit, &none, &bad), -EINVAL);
    assert_non_null(bad);
    assert_non_null(strstr(bad, "column"));
    free(bad);

    search_free(s);
    if (!sdb->pg) {
        /* A broken index file is rebuilt from the store. */
        char idx[600];
        snprintf(idx, sizeof(idx), "%s-search", db);
        FILE *fp = fopen(idx, "w");
        assert_non_null(fp);
        fputs("not an sqlite database, not at all", fp);
        fclose(fp);
        char wal[620];
        snprintf(wal, sizeof(wal), "%s-wal", idx);
        (void)unlink(wal);
    }
    assert_int_equal(search_new(db, &s, &err), 0);
    wait_caught_up(s);
    h = run(s, "osce");
    assert_int_equal(h.n, 2);
    search_free(s);

    store_feed_done(&f);
    store_free(st);
}

static void
assert_mode(const char *path, mode_t want)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    if ((st.st_mode & 0777) != want)
        print_error("%s: mode %o, want %o\n", path, (unsigned)(st.st_mode & 0777), (unsigned)want);
    assert_int_equal(st.st_mode & 0777, want);
}

/* The index holds every item's words: its files get the store's mode, not SQLite's 0644. */
static void
test_daemon_search_index_files_get_the_store_mode(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_search_mode.XXXXXX", db[256], path[320];
    const char *files[] = {
        "feedwatch.db",        "feedwatch.db-wal",        "feedwatch.db-shm",
        "feedwatch.db-search", "feedwatch.db-search-wal", "feedwatch.db-search-shm"};
    mode_t old = umask(022);
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/feedwatch.db", dir);
    struct store *st = NULL;
    char *err = NULL;
    assert_int_equal(store_open(db, &st, &err), 0);
    struct store_feed f = {0};
    assert_int_equal(store_feed_ensure(st, "a", "file:///a.xml", &f), 0);
    (void)add(st, f.id, "1", "OSCE", "Vienna");
    struct search *s = NULL;
    assert_int_equal(search_new(db, &s, &err), 0);
    wait_caught_up(s);
    snprintf(path, sizeof(path), "%s-search", db);
    assert_mode(path, 0640);
    snprintf(path, sizeof(path), "%s-search-wal", db);
    assert_mode(path, 0640);
    search_free(s);

    /* An index left 0644 by an older version is brought down to the store's mode. */
    snprintf(path, sizeof(path), "%s-search", db);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(search_new(db, &s, &err), 0);
    wait_caught_up(s);
    assert_mode(path, 0640);
    search_free(s);
    store_feed_done(&f);
    store_free(st);
    umask(old);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        (void)unlink(path);
    }
    assert_int_equal(rmdir(dir), 0);
}

struct dated {
    int n;
    int64_t ids[8];
    char lang[8][8];
    char key[8][8];
};

static int
on_dated(void *userdata, const struct search_hit *hit)
{
    struct dated *h = userdata;
    assert_true(h->n < 8);
    h->ids[h->n] = hit->item_id;
    snprintf(h->lang[h->n], sizeof(h->lang[0]), "%s", hit->language ? hit->language : "-");
    snprintf(h->key[h->n], sizeof(h->key[0]), "%s", hit->key ? hit->key : "-");
    h->n++;
    return 0;
}

/* An item published at (FEED_TIME_NONE: not given, then first seen at 5000 counts). */
static int64_t
add_dated(struct store *st, int64_t feed, const char *key, int64_t at, const char *lang)
{
    struct feed_item it = {.key = (char *)key,
                           .title = (char *)"volcano news",
                           .language = (char *)lang,
                           .published_at = at,
                           .updated_at = FEED_TIME_NONE};
    int64_t id = 0;
    assert_int_equal(store_item_add(st, feed, &it, "lava flows", 0, 5000, &id), 1);
    return id;
}

static struct dated
run_dated(struct search *s, const char *q, unsigned limit)
{
    struct dated h = {0};
    char *err = NULL;
    assert_int_equal(search_run(s, q, limit, on_dated, &h, &err), 0);
    assert_null(err);
    return h;
}

/*
 * Hits come newest first as `items` lists them (published, else first seen), not in the
 * order the items were stored (a feed lists its newest item first, so it is stored first);
 * a limit keeps the newest; each hit carries the item's key and language. Indexed items,
 * items the indexer has not reached and a query FTS5 cannot narrow all sort alike.
 */
static void
test_daemon_search_newest_first_by_publication(void **state)
{
    const char *db = ((struct search_db *)*state)->database;
    struct store *st = NULL;
    char *err = NULL;
    assert_int_equal(store_open(db, &st, &err), 0);
    struct store_feed f = {0};
    assert_int_equal(store_feed_ensure(st, "a", "file:///a.xml", &f), 0);
    int64_t newest = add_dated(st, f.id, "n", 4000, "de");
    int64_t oldest = add_dated(st, f.id, "o", 1000, "fr");
    int64_t middle = add_dated(st, f.id, "m", 3000, NULL);
    struct search *s = NULL;
    assert_int_equal(search_new(db, &s, &err), 0);
    wait_caught_up(s);
    int64_t undated = add_dated(st, f.id, "u", FEED_TIME_NONE, "en"); /* first seen 5000 */
    int64_t older = add_dated(st, f.id, "x", 2000, "en");             /* not indexed yet */

    for (int pass = 0; pass < 4; pass++) {
        if (pass == 2) {
            /*
             * Few candidates among many items: each one's order key is read and sorted (above,
             * many: the newest-first index was walked). The calm items are indexed, so
             * they are no candidates (items not indexed yet all are).
             */
            for (int i = 0; i < 100; i++) {
                char key[16];
                snprintf(key, sizeof(key), "calm%d", i);
                int64_t when = i % 2 ? 500 : 6000 + i; /* some newer than every hit */
                struct feed_item calm = {.key = key,
                                         .title = (char *)"a calm day",
                                         .published_at = when,
                                         .updated_at = FEED_TIME_NONE};
                assert_int_equal(store_item_add(st, f.id, &calm, "quiet", 0, 5000, NULL), 1);
            }
            wait_caught_up(s);
        }
        struct dated h = run_dated(s, pass % 2 ? "volcano AND lava" : "volcano", 20);
        assert_int_equal(h.n, 5);
        assert_int_equal(h.ids[0], undated);
        assert_int_equal(h.ids[1], newest);
        assert_int_equal(h.ids[2], middle);
        assert_int_equal(h.ids[3], older);
        assert_int_equal(h.ids[4], oldest);
        assert_string_equal(h.lang[1], "de");
        assert_string_equal(h.lang[2], "-");
        assert_string_equal(h.lang[4], "fr");
        assert_string_equal(h.key[1], "n");
    }
    /* No candidate at all, before and after the index caught up (the tail is empty then). */
    assert_int_equal(run_dated(s, "zebra", 20).n, 0);
    struct dated two = run_dated(s, "lava", 2);
    assert_int_equal(two.n, 2);
    assert_int_equal(two.ids[0], undated);
    assert_int_equal(two.ids[1], newest);
    wait_caught_up(s);
    two = run_dated(s, "lava", 2); /* indexed now */
    assert_int_equal(two.n, 2);
    assert_int_equal(two.ids[0], undated);
    assert_int_equal(two.ids[1], newest);
    assert_int_equal(run_dated(s, "zebra", 20).n, 0);
    /* A query with no word to narrow by walks the newest items: calm ones came first. */
    struct dated calm = run_dated(s, "NOT volcano", 3);
    assert_int_equal(calm.n, 3);
    assert_true(calm.ids[0] > older && calm.ids[1] > older && calm.ids[0] > calm.ids[1]);

    search_free(s);
    store_feed_done(&f);
    store_free(st);
}

/*
 * PostgreSQL: a tsvector holds about 1 MB of words. An item with more distinct words keeps
 * those that fit and is a candidate of every query, so a word left out is still found.
 */
static void
test_daemon_search_pg_item_past_a_tsvector(void **state)
{
    const char *db = ((struct search_db *)*state)->database;
    struct store *st = NULL;
    char *err = NULL;
    assert_int_equal(store_open(db, &st, &err), 0);
    struct store_feed f = {0};
    assert_int_equal(store_feed_ensure(st, "a", "file:///a.xml", &f), 0);
    size_t n = 140000, len = 0;
    char *text = malloc(n * 10 + 1);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "w%07zux ", i); /* 9 bytes a word, 1.26 MB */
    text[len] = '\0';
    int64_t big = add(st, f.id, "big", "many words", text);
    int64_t small = add(st, f.id, "small", "few words", "w0000001x and a volcano");
    free(text);
    struct search *s = NULL;
    assert_int_equal(search_new(db, &s, &err), 0);
    wait_caught_up(s);
    struct hits h = run(s, "w0139999x"); /* sorted last: past the words that fit */
    assert_int_equal(h.n, 1);
    assert_int_equal(h.ids[0], big);
    h = run(s, "w0000001x");
    assert_int_equal(h.n, 2);
    h = run(s, "volcano");
    assert_int_equal(h.n, 1);
    assert_int_equal(h.ids[0], small);
    search_free(s);
    store_feed_done(&f);
    store_free(st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_daemon_search_finds_what_the_matcher_matches,
                                        setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_daemon_search_finds_what_the_matcher_matches, setup_pg,
                                        teardown),
        cmocka_unit_test(test_daemon_search_index_files_get_the_store_mode),
        cmocka_unit_test_setup_teardown(test_daemon_search_newest_first_by_publication,
                                        setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_daemon_search_newest_first_by_publication, setup_pg,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_daemon_search_pg_item_past_a_tsvector, setup_pg,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
