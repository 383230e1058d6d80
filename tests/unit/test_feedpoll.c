/*
 * test_feedpoll.c — what one poll (daemon/feedpoll.c) decides, on a loop of the test's own
 * with the daemon's real services (struct dctx: config, store, writer thread, fetcher, events)
 * and a file: feed, so that no network is involved: the file's modification time stands in
 * for Last-Modified (fetch.h), which makes the validators and a 304 observable.
 *
 * What it checks, through the feed's state in memory, the row as committed, the events and
 * the counts the poll reports to its starter (feedpoll_start's done callback):
 * - a good poll stores its new items once, counts them, keeps the validators, and plans the
 *   next poll from the document's <ttl> (a hint respected as a lower bound); the next poll
 *   is a 304 that stores nothing, with a feed event because its next poll moved (no <ttl>),
 *   and a second 304 publishes no feed event (nothing a `watch` client sees changed);
 * - a poll whose save fails (a trigger refuses the feed's row after its item was inserted, as
 *   a full disk would) ends as failed with nothing counted and nothing stored, forgets the
 * validators it brought (else the next poll would be a 304 and its items lost for good), backs off
 * by the interval rather than the hint, and leaves the committed row as it was; the next poll
 * fetches the whole document and stores the item the failed one lost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "conf.h"
#include "dctx.h"
#include "dfeed.h"
#include "events.h"
#include "feedpoll.h"
#include "fetch.h"
#include "store.h"
#include "util.h"
#include "writer.h"

#define HANG_GUARD_MS 60000
#define INTERVAL_S 600   /* the config's interval (10m) */
#define TTL_S (120 * 60) /* the document's <ttl>120</ttl> (minutes), below max_interval (6 h) */
#define T0 1700000000    /* the file's first modification time */

struct fixture {
    char dir[64];
    char conf_path[128];
    char db_path[128];
    char feed_path[128];
    struct dctx d;
    struct dfeed *f;
    uv_timer_t guard;
    bool hung;
    /* what the last poll told its starter */
    bool done;
    enum poll_outcome outcome;
    uint64_t new_items, new_alerts;
    /* events seen */
    unsigned item_events, feed_events;
};

/* Writes the feed file with items 1..n and sets its modification time to mtime. */
static void
write_feed(struct fixture *fx, unsigned n, time_t mtime)
{
    FILE *f = fopen(fx->feed_path, "w");
    assert_non_null(f);
    fprintf(f, "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>t</title>"
               "<link>http://127.0.0.1:9/</link><description>d</description><ttl>120</ttl>\n");
    for (unsigned i = 1; i <= n; i++)
        fprintf(f,
                "<item><title>Story %u</title><link>http://127.0.0.1:9/%u</link>"
                "<guid>urn:fw:test:%u</guid><description>The text of story %u.</description>"
                "</item>\n",
                i, i, i, i);
    fprintf(f, "</channel></rss>\n");
    assert_int_equal(fclose(f), 0);
    struct timespec ts[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
    assert_int_equal(utimensat(AT_FDCWD, fx->feed_path, ts, 0), 0);
}

static void
on_event(void *ctx, const struct events_event *ev)
{
    struct fixture *fx = ctx;
    if (ev->kind == EVENTS_ITEM)
        fx->item_events++;
    else if (ev->kind == EVENTS_FEED)
        fx->feed_events++;
}

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char *err = NULL;
    assert_non_null(fx);
    (void)snprintf(fx->dir, sizeof(fx->dir), "/tmp/fw-test-feedpoll-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    (void)snprintf(fx->conf_path, sizeof(fx->conf_path), "%s/fw.conf", fx->dir);
    (void)snprintf(fx->db_path, sizeof(fx->db_path), "%s/fw.db", fx->dir);
    (void)snprintf(fx->feed_path, sizeof(fx->feed_path), "%s/feed.xml", fx->dir);
    write_feed(fx, 3, T0);
    FILE *f = fopen(fx->conf_path, "w");
    assert_non_null(f);
    fprintf(f,
            "[daemon]\ndatabase = %s\nsocket = %s/fw.sock\ninterval = 10m\n"
            "[feed \"f\"]\nurl = file://%s\n",
            fx->db_path, fx->dir, fx->feed_path);
    assert_int_equal(fclose(f), 0);

    struct dctx *d = &fx->d;
    if (conf_load(fx->conf_path, &d->conf, &err) < 0)
        fail_msg("conf_load: %s", err ? err : "?");
    assert_int_equal(d->conf->daemon.interval_s, INTERVAL_S);
    if (alerts_new(d->conf, &d->alerting, &err) < 0)
        fail_msg("alerts_new: %s", err ? err : "?");
    if (store_open(fx->db_path, &d->store, &err) < 0)
        fail_msg("store_open: %s", err ? err : "?");
    assert_int_equal(uv_loop_init(&d->loop), 0);
    if (writer_open(&d->loop, fx->db_path, &d->writer, &err) < 0)
        fail_msg("writer_open: %s", err ? err : "?");
    struct fetch_settings fs = {.max_connections = 4,
                                .max_per_host = 2,
                                .user_agent = "feedwatch-test",
                                .timeout_ms = 30000};
    d->fetcher = fetch_new(&d->loop, &fs, &err);
    if (!d->fetcher)
        fail_msg("fetch_new: %s", err ? err : "?");
    d->events = events_new();
    assert_non_null(d->events);
    assert_int_equal(events_subscribe(d->events, EVENTS_ALL, on_event, fx), 0);
    util_rng_init(&d->rng, 18);
    char why[WRITER_ERROR_MAX];
    if (dfeed_new(d, &d->conf->feeds[0], NULL, &fx->f, why, sizeof(why)) < 0)
        fail_msg("dfeed_new: %s", why);
    assert_int_equal(uv_timer_init(&d->loop, &fx->guard), 0);
    fx->guard.data = &fx->hung;
    *state = fx;
    return 0;
}

static void
on_closed(uv_handle_t *h)
{
    (void)h;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;
    struct dctx *d = &fx->d;
    d->stopping = true; /* as the daemon's stop: the writer drains first */
    writer_close(d->writer);
    fetch_close(d->fetcher);
    uv_close((uv_handle_t *)&fx->guard, on_closed);
    (void)uv_run(&d->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&d->loop), 0);
    dfeed_free(fx->f);
    store_free(d->store);
    writer_free(d->writer);
    events_free(d->events);
    free(d->topics_pin); /* as the daemon's end: no writer job is left to hold it */
    alerts_free(d->alerting);
    conf_free(d->conf);
    char cmd[128];
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static void
on_guard(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

/* feedpoll: the poll has ended (and freed itself). */
static void
on_poll_done(void *ctx, struct dfeed *f, enum poll_outcome outcome, uint64_t new_items,
             uint64_t new_alerts)
{
    struct fixture *fx = ctx;
    assert_ptr_equal(f, fx->f);
    assert_false(fx->done); /* told once */
    fx->done = true;
    fx->outcome = outcome;
    fx->new_items = new_items;
    fx->new_alerts = new_alerts;
}

/* Runs one poll of the feed to its end; the wall-clock ms around it in *before, *after. */
static void
poll_once(struct fixture *fx, int64_t *before, int64_t *after)
{
    fx->done = false;
    fx->item_events = fx->feed_events = 0;
    *before = util_now_ms();
    assert_int_equal(feedpoll_start(&fx->d, fx->f, on_poll_done, fx), 0);
    assert_non_null(fx->f->poll);
    assert_int_equal(uv_timer_start(&fx->guard, on_guard, HANG_GUARD_MS, 0), 0);
    while (!fx->done && !fx->hung)
        (void)uv_run(&fx->d.loop, UV_RUN_ONCE);
    (void)uv_timer_stop(&fx->guard);
    *after = util_now_ms();
    assert_false(fx->hung);
    assert_true(fx->done);
    assert_null(fx->f->poll);
}

/* The feed's row as committed (read back on the test's connection). */
static void
row_get(struct fixture *fx, struct store_feed *ret)
{
    *ret = (struct store_feed){0};
    assert_int_equal(store_feed_ensure(fx->d.store, "f", fx->f->cfg->url, ret), 0);
}

static int64_t
items_stored(struct fixture *fx)
{
    int64_t n = -1;
    assert_int_equal(store_count_items(fx->d.store, &n), 0);
    return n;
}

/* Runs sql on a connection of the test's own (the writer sees the schema change). */
static void
db_exec(struct fixture *fx, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(fx->db_path, &db), SQLITE_OK);
    (void)sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* The next poll was planned at now + delay_s (± jitter) for a poll that ended in [b, a]. */
static void
assert_next_poll(const struct dfeed *f, int64_t before, int64_t after, int64_t lo_ms, int64_t hi_ms)
{
    assert_true(f->next_poll_ms >= before + lo_ms);
    assert_true(f->next_poll_ms <= after + hi_ms);
    assert_int_equal(f->st.next_poll_at, (f->next_poll_ms + 999) / 1000);
}

/* A good poll: items stored and counted once, validators kept, the <ttl> hint planned. */
static void
test_good_poll(void **state)
{
    struct fixture *fx = *state;
    struct dfeed *f = fx->f;
    int64_t before, after;

    poll_once(fx, &before, &after);
    assert_int_equal(fx->outcome, POLL_OK);
    assert_int_equal(fx->new_items, 3);
    assert_int_equal(fx->new_alerts, 0);
    assert_int_equal(fx->item_events, 3);
    assert_int_equal(fx->feed_events, 1);
    assert_int_equal(items_stored(fx), 3);
    assert_int_equal(f->st.items, 3);
    assert_int_equal(f->st.failures, 0);
    assert_null(f->st.last_error);
    assert_string_equal(f->st.last_modified, "Tue, 14 Nov 2023 22:13:20 GMT"); /* T0 */
    assert_true(f->st.last_poll_at >= before / 1000 && f->st.last_poll_at <= after / 1000);
    /* The hint (2 h) is a lower bound over the interval (10 min ± 10 %). */
    assert_next_poll(f, before, after, TTL_S * 1000 - 1000, TTL_S * 1000 + 1000);

    /* Committed: the row holds what memory holds. */
    struct store_feed row;
    row_get(fx, &row);
    assert_string_equal(row.last_modified, f->st.last_modified);
    assert_int_equal(row.next_poll_at, f->st.next_poll_at);
    assert_int_equal(row.last_poll_at, f->st.last_poll_at);
    assert_int_equal(row.failures, 0);
    store_feed_done(&row);

    /*
     * Unchanged since: If-Modified-Since gets a 304, nothing is stored or counted. A 304 has
     * no <ttl>: the next poll is the interval's, not the hint's 2 h, and the feed event tells
     * watchers that it moved.
     */
    poll_once(fx, &before, &after);
    assert_int_equal(fx->outcome, POLL_NOT_MODIFIED);
    assert_int_equal(fx->new_items, 0);
    assert_int_equal(fx->item_events, 0);
    assert_int_equal(fx->feed_events, 1);
    assert_int_equal(items_stored(fx), 3);
    assert_int_equal(f->st.items, 3);
    assert_string_equal(f->st.last_modified, "Tue, 14 Nov 2023 22:13:20 GMT");
    assert_next_poll(f, before, after, INTERVAL_S * 900, INTERVAL_S * 1100);

    /* Another 304: nothing a watcher sees changed (the jitter alone moved the next poll). */
    poll_once(fx, &before, &after);
    assert_int_equal(fx->outcome, POLL_NOT_MODIFIED);
    assert_int_equal(fx->item_events, 0);
    assert_int_equal(fx->feed_events, 0);
    assert_int_equal(f->st.items, 3);
}

/*
 * A poll whose save fails forgets its validators and backs off by the interval; the next
 * poll fetches the whole document again and stores what the failed one lost.
 */
static void
test_failed_save(void **state)
{
    struct fixture *fx = *state;
    struct dfeed *f = fx->f;
    int64_t before, after;

    poll_once(fx, &before, &after);
    assert_int_equal(fx->outcome, POLL_OK);
    assert_int_equal(fx->new_items, 3);
    struct store_feed good;
    row_get(fx, &good);

    /*
     * A fourth item, a newer file; the store takes the item row, then refuses the feed's
     * state as a full disk would: the poll's part is undone, item included.
     */
    write_feed(fx, 4, T0 + 10);
    db_exec(fx, "CREATE TRIGGER fw_test_full BEFORE UPDATE ON feeds "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;");
    poll_once(fx, &before, &after);
    assert_int_equal(fx->outcome, POLL_FAILED);
    assert_int_equal(fx->new_items, 0); /* the item it inserted was undone: not counted */
    assert_int_equal(fx->new_alerts, 0);
    assert_int_equal(fx->item_events, 0);
    assert_int_equal(fx->feed_events, 0); /* nothing committed: nothing published */
    assert_null(f->st.last_modified);     /* forgotten, or the next poll were a 304 */
    assert_null(f->st.etag);
    assert_int_equal(f->st.items, 3);
    /* Backed off by the interval (10 min ± 10 %), not planned by the 2 h hint. */
    assert_next_poll(f, before, after, INTERVAL_S * 900, INTERVAL_S * 1100);
    assert_int_equal(items_stored(fx), 3);
    db_exec(fx, "DROP TRIGGER fw_test_full;");
    struct store_feed row;
    row_get(fx, &row); /* the failed part was undone: the row is the good poll's */
    assert_string_equal(row.last_modified, good.last_modified);
    assert_int_equal(row.last_poll_at, good.last_poll_at);
    assert_int_equal(row.next_poll_at, good.next_poll_at);
    store_feed_done(&row);
    store_feed_done(&good);

    /* The store takes rows again: the whole document is fetched, the lost item stored. */
    poll_once(fx, &before, &after);
    assert_int_equal(fx->outcome, POLL_OK);
    assert_int_equal(fx->new_items, 1);
    assert_int_equal(fx->item_events, 1);
    assert_int_equal(items_stored(fx), 4);
    assert_int_equal(f->st.items, 4);
    assert_string_equal(f->st.last_modified, "Tue, 14 Nov 2023 22:13:30 GMT"); /* T0 + 10 */
    assert_next_poll(f, before, after, TTL_S * 1000 - 1000, TTL_S * 1000 + 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_save, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
