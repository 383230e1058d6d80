/*
 * Unit tests of daemon/hook.c, the hook runner, on a loop of the test's own: a program hook
 * gets an environment built from nothing (FEEDWATCH_* and PATH, LANG, TZ) and no descriptor
 * but 0, 1 and 2; the timeout kills the whole process group (SIGTERM, then SIGKILL for a hook
 * that ignores SIGTERM) including a grandchild that ignores SIGTERM; a failed attempt is
 * retried after 2 s, 4 s, 8 s ... at most 1 h apart; at most max_hooks run at once;
 * hook_redeliver runs a failed delivery again once the hook is fixed (attempts afresh), a
 * delivered one when asked by id, and reaches an alert raised before its topic had the hook
 * only when asked, refusing what it cannot do at once.
 *
 * The runner takes the daemon's services (struct dctx): the test fills the fields hook.c reads (the
 * loop, the config, the store it reads, the writer its delivery states go through) and leaves the
 * rest zero (no fetcher: no webhooks here; no metrics). The test writes its items and alerts
 * through a connection of its own (d.store), as the daemon's poll jobs would.
 * Retry delays are read from the delivery rows the runner wrote, bracketed by the clock
 * before and after the attempt, never from when runs happened. Bounds in time are hang
 * guards only.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "conf.h"
#include "dctx.h"
#include "hook.h"
#include "store.h"
#include "util.h"
#include "writer.h"

#define HANG_GUARD_MS 60000

struct fixture {
    char dir[64];
    char conf_path[128];
    char db_path[128];
    struct dctx d;
    struct hooks *hooks;
    uv_timer_t tick, guard; /* run_until's turns and its hang guard */
    bool hung;
    int64_t feed_id;
    unsigned items;
};

/* Lines fixture_open adds to the section of hook "h" (events, batch); "" for none. */
static const char *fixture_hook_extra = "";

/*
 * Writes the config in a new temporary folder: one feed, topic "t" with hook "h" running
 * exec, in which each %s is that folder (timeout, retries, max_hooks as given).
 */
static void
fixture_open(struct fixture *fx, const char *exec_fmt, const char *timeout, unsigned retries,
             unsigned max_hooks)
{
    char *err = NULL, exec[1024];
    memset(fx, 0, sizeof(*fx));
    (void)snprintf(fx->dir, sizeof(fx->dir), "/tmp/fw-test-hook-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    (void)snprintf(exec, sizeof(exec), exec_fmt, fx->dir, fx->dir);
    (void)snprintf(fx->conf_path, sizeof(fx->conf_path), "%s/fw.conf", fx->dir);
    (void)snprintf(fx->db_path, sizeof(fx->db_path), "%s/fw.db", fx->dir);
    FILE *f = fopen(fx->conf_path, "w");
    assert_non_null(f);
    fprintf(f,
            "[daemon]\ndatabase = %s\nsocket = %s/fw.sock\nmax_hooks = %u\n"
            "[feed \"f\"]\nurl = http://127.0.0.1:9/f.xml\n"
            "[topic \"t\"]\nmatch = boxcar\nhooks = h\n"
            "[hook \"h\"]\nexec = %s\ntimeout = %s\nretries = %u\n%s",
            fx->db_path, fx->dir, max_hooks, exec, timeout, retries, fixture_hook_extra);
    assert_int_equal(fclose(f), 0);
    if (conf_load(fx->conf_path, &fx->d.conf, &err) < 0)
        fail_msg("conf_load: %s", err ? err : "?");
    if (store_open(fx->db_path, &fx->d.store, &err) < 0)
        fail_msg("store_open: %s", err ? err : "?");
    assert_int_equal(uv_loop_init(&fx->d.loop), 0);
    if (writer_open(&fx->d.loop, fx->db_path, &fx->d.writer, &err) < 0)
        fail_msg("writer_open: %s", err ? err : "?");
    assert_int_equal(uv_timer_init(&fx->d.loop, &fx->tick), 0);
    assert_int_equal(uv_timer_init(&fx->d.loop, &fx->guard), 0);
    fx->guard.data = &fx->hung;
    struct store_feed st = {0};
    assert_int_equal(store_feed_ensure(fx->d.store, "f", "http://127.0.0.1:9/f.xml", &st), 0);
    fx->feed_id = st.id;
    store_feed_done(&st);
    assert_int_equal(hook_new(&fx->d, NULL, NULL, &fx->hooks), 0);
}

/* Stores an item of text and raises its alert for hook "h"; returns the alert's id. */
static int64_t
fixture_alert_text(struct fixture *fx, const char *text)
{
    char key[32], title[64];
    int64_t item_id, alert_id;
    char *hooks[] = {"h"};
    (void)snprintf(key, sizeof(key), "urn:box:%u", fx->items);
    (void)snprintf(title, sizeof(title), "boxcar story %u", fx->items++);
    struct feed_item item = {.key = key,
                             .id = key,
                             .title = title,
                             .link = "http://127.0.0.1:9/box",
                             .published_at = 1700000000};
    assert_int_equal(store_begin(fx->d.store), 0);
    assert_int_equal(store_item_add(fx->d.store, fx->feed_id, &item, text, 0, util_now(), &item_id),
                     1);
    assert_int_equal(
        store_alert_add(fx->d.store, "t", item_id, "[]", hooks, 1, util_now(), &alert_id), 1);
    assert_int_equal(store_commit(fx->d.store), 0);
    return alert_id;
}

/* Stores an item and raises its alert for hook "h"; returns the alert's id. */
static int64_t
fixture_alert(struct fixture *fx)
{
    return fixture_alert_text(fx, "the boxcar story");
}

static void
on_closed(uv_handle_t *h)
{
    (void)h;
}

static void
fixture_close(struct fixture *fx)
{
    fx->d.stopping = true; /* as the daemon's stop: the writer drains first */
    writer_close(fx->d.writer);
    hook_close(fx->hooks);
    uv_close((uv_handle_t *)&fx->tick, on_closed);
    uv_close((uv_handle_t *)&fx->guard, on_closed);
    (void)uv_run(&fx->d.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->d.loop), 0);
    store_free(fx->d.store);
    writer_free(fx->d.writer);
    conf_free(fx->d.conf);
    char cmd[128];
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
}

struct delivery {
    char state[16];
    unsigned attempts;
    int64_t next_at;
    char error[512];
};

/* The delivery row of alert_id as the runner last wrote it (a connection of its own). */
static void
delivery_get(struct fixture *fx, int64_t alert_id, struct delivery *out)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    memset(out, 0, sizeof(*out));
    assert_int_equal(sqlite3_open_v2(fx->db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT state, attempts, coalesce(next_attempt_at, 0), "
                                        "coalesce(last_error, '') FROM deliveries "
                                        "WHERE alert_id = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, alert_id);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    (void)snprintf(out->state, sizeof(out->state), "%s", sqlite3_column_text(st, 0));
    out->attempts = (unsigned)sqlite3_column_int(st, 1);
    out->next_at = sqlite3_column_int64(st, 2);
    (void)snprintf(out->error, sizeof(out->error), "%s", sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void
on_tick(uv_timer_t *t)
{
    (void)t;
}

static void
on_guard(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

/*
 * Runs the loop until alert_id's delivery is in state with at least attempts attempts;
 * calls each(fx) after every turn (may be NULL).
 */
static void
run_until(struct fixture *fx, int64_t alert_id, const char *state, unsigned attempts,
          void (*each)(struct fixture *), struct delivery *out)
{
    fx->hung = false;
    assert_int_equal(uv_timer_start(&fx->tick, on_tick, 20, 20), 0);
    assert_int_equal(uv_timer_start(&fx->guard, on_guard, HANG_GUARD_MS, 0), 0);
    for (;;) {
        delivery_get(fx, alert_id, out);
        if (strcmp(out->state, state) == 0 && out->attempts >= attempts)
            break;
        if (fx->hung)
            fail_msg("alert %lld: still %s after %u attempts (%s), not %s", (long long)alert_id,
                     out->state, out->attempts, out->error, state);
        (void)uv_run(&fx->d.loop, UV_RUN_ONCE);
        if (each)
            each(fx);
    }
    (void)uv_timer_stop(&fx->tick);
    (void)uv_timer_stop(&fx->guard);
}

/* True while pid exists and is not a zombie. */
static bool
alive(pid_t pid)
{
    char path[64], buf[512];
    (void)snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z';
}

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    if (buf)
        (void)fread(buf, 1, 65535, f);
    fclose(f);
    return buf;
}

static void
test_hook_environment_and_descriptors(void **state)
{
    (void)state;
    struct fixture fx;
    struct delivery dl;
    char envfile[160], fdfile[160];
    /* The daemon's own environment and descriptors: none of it may reach the hook. */
    assert_int_equal(setenv("SECRET_TOKEN", "s3cret", 1), 0);
    assert_int_equal(setenv("http_proxy", "http://user:pw@proxy.invalid:3128/", 1), 0);
    assert_int_equal(setenv("LANG", "C.UTF-8", 1), 0);
    assert_int_equal(setenv("TZ", "UTC", 1), 0);
    int leak[2];
    assert_int_equal(pipe(leak), 0); /* no O_CLOEXEC: only the runner can keep it out */

    /* ls of its own fd folder (its one descriptor on that folder aside), then env in place of
     * the shell, so that the environment printed is the hook's and not the shell's. */
    fixture_open(&fx, "/bin/sh -c 'ls -l /proc/self/fd/ > %s/fds; exec /usr/bin/env > %s/env'",
                 "20s", 0, 4);
    (void)snprintf(envfile, sizeof(envfile), "%s/env", fx.dir);
    (void)snprintf(fdfile, sizeof(fdfile), "%s/fds", fx.dir);
    int64_t id = fixture_alert(&fx);
    hook_kick(fx.hooks);
    run_until(&fx, id, "delivered", 1, NULL, &dl);
    assert_int_equal(dl.attempts, 1);

    char *env = slurp(envfile);
    assert_non_null(env);
    char want[64];
    (void)snprintf(want, sizeof(want), "FEEDWATCH_ALERT_ID=%lld\n", (long long)id);
    assert_non_null(strstr(env, want));
    assert_non_null(strstr(env, "FEEDWATCH_EVENT=alert\n"));
    assert_non_null(strstr(env, "FEEDWATCH_TOPIC=t\n"));
    assert_non_null(strstr(env, "FEEDWATCH_FEED=f\n"));
    assert_non_null(strstr(env, "FEEDWATCH_TITLE=boxcar story 0\n"));
    assert_non_null(strstr(env, "LANG=C.UTF-8\n"));
    assert_non_null(strstr(env, "TZ=UTC\n"));
    /* Nothing but FEEDWATCH_*, PATH, LANG, TZ (and PWD, which the shell adds itself). */
    char *save = NULL;
    for (char *line = strtok_r(env, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "FEEDWATCH_", 10) == 0 || strncmp(line, "PATH=", 5) == 0 ||
            strncmp(line, "LANG=", 5) == 0 || strncmp(line, "TZ=", 3) == 0 ||
            strncmp(line, "PWD=", 4) == 0)
            continue;
        fail_msg("the hook's environment has %s", line);
    }
    free(env);

    char *fds = slurp(fdfile);
    assert_non_null(fds);
    unsigned low = 0;
    for (char *line = strtok_r(fds, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *arrow = strstr(line, " -> ");
        if (!arrow)
            continue;
        char *p = arrow;
        while (p > line && p[-1] != ' ')
            p--;
        int fd = atoi(p);
        if (fd <= 2) {
            low++;
            continue;
        }
        if (strstr(arrow, "/proc/") && strstr(arrow, "/fd"))
            continue; /* ls reading the folder */
        fail_msg("descriptor %d crossed exec: %s", fd, line);
    }
    assert_int_equal(low, 3);
    free(fds);

    close(leak[0]);
    close(leak[1]);
    unsetenv("SECRET_TOKEN");
    unsetenv("http_proxy");
    fixture_close(&fx);
}

static pid_t
read_pid(const char *path)
{
    char *s = slurp(path);
    pid_t pid = s ? (pid_t)atoi(s) : 0;
    free(s);
    return pid;
}

static void
test_hook_timeout_kills_the_group_and_a_stubborn_grandchild(void **state)
{
    (void)state;
    struct fixture fx;
    struct delivery dl;
    char pidfile[128];
    /* The first process exits 0 at once; its child ignores SIGTERM, holds no pipe of the
     * runner's and would live for a minute. */
    fixture_open(&fx,
                 "/bin/sh -c 'trap \"\" TERM; sleep 60 </dev/null >/dev/null 2>&1 & "
                 "echo $! > %s/grandchild.pid; exit 0'",
                 "1s", 0, 4);
    (void)snprintf(pidfile, sizeof(pidfile), "%s/grandchild.pid", fx.dir);
    int64_t id = fixture_alert(&fx);
    hook_kick(fx.hooks);
    run_until(&fx, id, "failed", 1, NULL, &dl);
    if (!strstr(dl.error, "timed out") || !strstr(dl.error, "still running"))
        fail_msg("last_error: %s", dl.error);
    pid_t gc = read_pid(pidfile);
    assert_true(gc > 0);
    /* The run ended after SIGKILL to the group: the grandchild is gone (its reaping is
     * init's business, so wait for that a little). */
    for (int i = 0; i < 200 && alive(gc); i++)
        usleep(50 * 1000);
    if (alive(gc)) {
        (void)kill(gc, SIGKILL);
        fail_msg("the grandchild %d that ignores SIGTERM outlived the hook's timeout", (int)gc);
    }
    fixture_close(&fx);
}

static void
test_hook_that_ignores_sigterm_gets_sigkill(void **state)
{
    (void)state;
    struct fixture fx;
    struct delivery dl;
    char pidfile[128];
    /* The hook itself ignores SIGTERM (the disposition survives exec) and sleeps: only the
     * SIGKILL after the grace period ends it. */
    fixture_open(&fx, "/bin/sh -c 'trap \"\" TERM; echo $$ > %s/hook.pid; exec sleep 60'", "1s", 0,
                 4);
    (void)snprintf(pidfile, sizeof(pidfile), "%s/hook.pid", fx.dir);
    int64_t id = fixture_alert(&fx);
    hook_kick(fx.hooks);
    run_until(&fx, id, "failed", 1, NULL, &dl);
    if (!strstr(dl.error, "timed out after 1s"))
        fail_msg("last_error: %s", dl.error);
    pid_t pid = read_pid(pidfile);
    assert_true(pid > 0);
    /* The runner reaped it: gone, neither alive nor a zombie. */
    assert_false(alive(pid));
    fixture_close(&fx);
}

static void
test_hook_retries_back_off_to_one_hour(void **state)
{
    (void)state;
    struct fixture fx;
    struct delivery dl;
    fixture_open(&fx, "/bin/false", "10s", 100, 4);
    int64_t id = fixture_alert(&fx);
    /* The n-th failed attempt waits 2^n s: 2, 4, 8 ... */
    static const struct {
        unsigned before;
        int64_t delay;
    } want[] = {{0, 2}, {1, 4}, {2, 8}, {5, 64}, {10, 2048}, {11, 3600}, {12, 3600}, {60, 3600}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(store_delivery_set(fx.d.store, id, "h", "pending", want[i].before,
                                            util_now(), "set by the test", FEED_TIME_NONE),
                         0);
        int64_t before = util_now();
        hook_kick(fx.hooks);
        run_until(&fx, id, "pending", want[i].before + 1, NULL, &dl);
        int64_t after = util_now();
        assert_int_equal(dl.attempts, want[i].before + 1);
        /* next_attempt_at = the runner's now + delay, its now within [before, after] */
        if (dl.next_at < before + want[i].delay || dl.next_at > after + want[i].delay)
            fail_msg("after attempt %u: next attempt at %lld, want %lld s after a time in "
                     "[%lld, %lld]",
                     want[i].before + 1, (long long)dl.next_at, (long long)want[i].delay,
                     (long long)before, (long long)after);
    }
    /* Retries spent: failed, with the reason kept. */
    assert_int_equal(
        store_delivery_set(fx.d.store, id, "h", "pending", 100, util_now(), NULL, FEED_TIME_NONE),
        0);
    hook_kick(fx.hooks);
    run_until(&fx, id, "failed", 101, NULL, &dl);
    assert_int_equal(dl.attempts, 101);
    assert_true(strlen(dl.error) > 0);
    fixture_close(&fx);
}

/* What a hook_redeliver callback was given. */
struct redelivered {
    bool called;
    int result;
    unsigned queued;
    char *list; /* the deliveries it named, as JSON text */
};

static void
on_redelivered(void *ctx, int result, const char *error, unsigned queued, json_t *deliveries)
{
    struct redelivered *r = ctx;
    (void)error;
    r->called = true;
    r->result = result;
    r->queued = queued;
    r->list = deliveries ? json_dumps(deliveries, JSON_COMPACT) : NULL;
}

/* hook_redeliver(alert_id, hook), run until its callback; returns what it was given. */
static void
redeliver(struct fixture *fx, int64_t alert_id, const char *hook, struct redelivered *out)
{
    char *err = NULL;
    memset(out, 0, sizeof(*out));
    if (hook_redeliver(fx->hooks, alert_id, hook, on_redelivered, out, &err) < 0)
        fail_msg("redeliver refused: %s", err ? err : "?");
    fx->hung = false;
    assert_int_equal(uv_timer_start(&fx->tick, on_tick, 20, 20), 0);
    assert_int_equal(uv_timer_start(&fx->guard, on_guard, HANG_GUARD_MS, 0), 0);
    while (!out->called && !fx->hung)
        (void)uv_run(&fx->d.loop, UV_RUN_ONCE);
    (void)uv_timer_stop(&fx->tick);
    (void)uv_timer_stop(&fx->guard);
    assert_true(out->called);
    assert_int_equal(out->result, 0);
}

/* hook_redeliver must refuse at once with a message containing want. */
static void
assert_refused(struct fixture *fx, int64_t alert_id, const char *hook, const char *want)
{
    struct redelivered r = {0};
    char *err = NULL;
    assert_true(hook_redeliver(fx->hooks, alert_id, hook, on_redelivered, &r, &err) < 0);
    assert_false(r.called);
    assert_non_null(err);
    if (!strstr(err, want))
        fail_msg("refusal '%s' does not say '%s'", err, want);
    free(err);
}

/* Lines in the file at path (0 when it does not exist). */
static unsigned
count_lines(const char *path)
{
    char *s = slurp(path);
    unsigned n = 0;
    for (const char *p = s; p && *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

/*
 * `redeliver`: a failed delivery is run again once the hook is fixed (--failed), with its
 * attempts counted afresh; a delivered alert is delivered again when asked by id; an alert
 * raised before its topic had the hook (no-hook) gets it only when asked; requests that
 * cannot be met are refused at once with why.
 */
static void
test_hook_redeliver(void **state)
{
    (void)state;
    struct fixture fx;
    struct delivery dl;
    struct redelivered r;
    char broken[160], runs[160], want[96];
    /* Fails while DIR/broken exists; each good run leaves a line in DIR/runs. */
    fixture_open(&fx, "/bin/sh -c 'test ! -e %s/broken && echo ok >> %s/runs'", "20s", 0, 4);
    (void)snprintf(broken, sizeof(broken), "%s/broken", fx.dir);
    (void)snprintf(runs, sizeof(runs), "%s/runs", fx.dir);
    FILE *f = fopen(broken, "w");
    assert_non_null(f);
    fclose(f);
    int64_t id = fixture_alert(&fx);
    hook_kick(fx.hooks);
    run_until(&fx, id, "failed", 1, NULL, &dl); /* retries = 0 */
    assert_int_equal(count_lines(runs), 0);

    /* Refused at once: unknown alert or hook, a hook the topic does not name. */
    assert_refused(&fx, id + 100, NULL, "no alert");
    assert_refused(&fx, id, "nosuch", "no hook 'nosuch' in the config");
    assert_refused(&fx, 0, "nosuch", "no hook 'nosuch' in the config");

    /* Still broken: --failed runs it once more, fails again after one attempt. */
    redeliver(&fx, 0, NULL, &r);
    assert_int_equal(r.queued, 1);
    (void)snprintf(want, sizeof(want), "[{\"alert\":%lld,\"hook\":\"h\"}]", (long long)id);
    assert_string_equal(r.list, want);
    free(r.list);
    run_until(&fx, id, "failed", 1, NULL, &dl);
    assert_int_equal(dl.attempts, 1);
    assert_true(strlen(dl.error) > 0);

    /* Fixed: --failed of hook h delivers it, attempt 1 of a fresh count. */
    assert_int_equal(unlink(broken), 0);
    redeliver(&fx, 0, "h", &r);
    assert_int_equal(r.queued, 1);
    free(r.list);
    run_until(&fx, id, "delivered", 1, NULL, &dl);
    assert_int_equal(dl.attempts, 1);
    assert_int_equal(count_lines(runs), 1);
    /* Nothing failed is left: nothing queued, nothing runs. */
    redeliver(&fx, 0, NULL, &r);
    assert_int_equal(r.queued, 0);
    assert_string_equal(r.list, "[]");
    free(r.list);

    /* By id: delivered again. */
    redeliver(&fx, id, NULL, &r);
    assert_int_equal(r.queued, 1);
    free(r.list);
    run_until(&fx, id, "delivered", 1, NULL, &dl);
    assert_int_equal(count_lines(runs), 2); /* stored as delivered after the hook exited */

    /* Raised when topic t had no hook: no-hook, not run at a kick; run when asked. */
    struct feed_item item = {.key = "urn:box:old", .id = "urn:box:old", .title = "old boxcar"};
    int64_t item_id = 0, old = 0, quiet = 0;
    assert_int_equal(store_begin(fx.d.store), 0);
    assert_int_equal(
        store_item_add(fx.d.store, fx.feed_id, &item, "old boxcar", 0, util_now(), &item_id), 1);
    assert_int_equal(store_alert_add(fx.d.store, "t", item_id, "[]", NULL, 0, util_now(), &old), 1);
    /* And one of a topic the config no longer has. */
    assert_int_equal(
        store_alert_add(fx.d.store, "gone", item_id, "[]", NULL, 0, util_now(), &quiet), 1);
    assert_int_equal(store_commit(fx.d.store), 0);
    hook_kick(fx.hooks);
    for (unsigned spins = 0; !hook_idle(fx.hooks) && spins < 10000; spins++) {
        (void)uv_run(&fx.d.loop, UV_RUN_NOWAIT);
        (void)usleep(1000);
    }
    assert_true(hook_idle(fx.hooks));
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(fx.db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT a.state, (SELECT count(*) FROM deliveries"
                                        " WHERE alert_id = a.id) FROM alerts AS a WHERE id = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, old);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "no-hook");
    assert_int_equal(sqlite3_column_int(st, 1), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_refused(&fx, quiet, NULL, "no hook to deliver it to");
    assert_refused(&fx, quiet, "h", "its topic 'gone' has no hook 'h'");
    redeliver(&fx, old, "h", &r);
    assert_int_equal(r.queued, 1);
    free(r.list);
    run_until(&fx, old, "delivered", 1, NULL, &dl);
    assert_int_equal(dl.attempts, 1);
    fixture_close(&fx);
}

static unsigned most_running;

static void
note_running(struct fixture *fx)
{
    unsigned n = hook_running(fx->hooks);
    if (n > most_running)
        most_running = n;
}

static void
check_max_hooks(unsigned max_hooks, unsigned alerts, unsigned want_most)
{
    struct fixture fx;
    struct delivery dl;
    int64_t ids[8];
    assert_true(alerts <= 8);
    /* Each run lasts long enough that runs started together overlap. */
    fixture_open(&fx, "/bin/sleep 0.3", "20s", 0, max_hooks);
    for (unsigned i = 0; i < alerts; i++)
        ids[i] = fixture_alert(&fx);
    most_running = 0;
    hook_kick(fx.hooks);
    note_running(&fx);
    for (unsigned i = 0; i < alerts; i++)
        run_until(&fx, ids[i], "delivered", 1, note_running, &dl);
    assert_int_equal(most_running, want_most);
    fixture_close(&fx);
}

static void
test_hook_max_hooks_at_once(void **state)
{
    (void)state;
    check_max_hooks(1, 4, 1);
    check_max_hooks(2, 5, 2);
    check_max_hooks(8, 3, 3); /* the limit is a limit, not a batch size */
}

/*
 * What the socket's group sees of a delivery's error: the reasons that name nothing of the
 * hook's setup whole; those that quote the exec's or the secret_file's path as what failed and
 * why, whatever the path holds (its own "': " or ": "); anything else "failed".
 */
static void
test_hook_error_brief_hides_paths(void **state)
{
    (void)state;
    static const struct {
        const char *error, *shown;
    } cases[] = {
        {"exit status 3", NULL},
        {"exit status -1", NULL},
        {"killed by signal 9", NULL},
        {"timed out after 30s", NULL},
        {"timed out after 2s: the hook exited but processes it started were still running", NULL},
        {"HTTP 503", NULL},
        {"aborted", NULL},
        {"the hook is no longer configured", NULL},
        {"cannot start: Cannot allocate memory", NULL},
        {"cannot run '/srv/h-7c3e/notify': no such file or directory",
         "cannot run the hook's exec: no such file or directory"},
        {"cannot run '/srv/x': y/z': permission denied",
         "cannot run the hook's exec: permission denied"},
        {"cannot run '/srv/h-7c3e/a': b", "cannot run the hook's exec: b"},
        {"cannot run '/srv/h-7c3e/notify'", "cannot run the hook's exec"},
        {"cannot read secret_file /etc/k-5b2d.key: No such file or directory",
         "cannot read the hook's secret_file: No such file or directory"},
        {"cannot read secret_file /etc/a: b/k-5b2d: Permission denied",
         "cannot read the hook's secret_file: Permission denied"},
        {"cannot read secret_file /etc/k-5b2d: x/y", "cannot read the hook's secret_file"},
        {"cannot sign with secret_file /etc/k-5b2d: the file is empty",
         "cannot sign with the hook's secret_file: the file is empty"},
        /* a webhook's transfer error names its host */
        {"Failed to connect to hooks-5b2d.internal port 8080 after 3 ms: Connection refused",
         "failed"},
        {"exit status 1 at /srv/h-7c3e", "failed"},
        {"exit status ", "failed"},
        {"HTTP 5O3", "failed"},
        {"timed out after 3s at /srv/h-7c3e", "failed"},
        {"cannot start: a: /srv/h-7c3e", "failed"},
        {"", "failed"},
    };
    char buf[160];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *shown = hook_error_brief(cases[i].error, buf, sizeof(buf));
        assert_non_null(shown);
        assert_string_equal(shown, cases[i].shown ? cases[i].shown : cases[i].error);
        assert_null(strstr(shown, "7c3e"));
        assert_null(strstr(shown, "5b2d"));
    }
    assert_null(hook_error_brief(NULL, buf, sizeof(buf)));
    /* a small buffer cuts the text, never overruns */
    char small[12];
    const char *cut =
        hook_error_brief("cannot run '/x': no such file or directory", small, sizeof(small));
    assert_ptr_equal(cut, small);
    assert_string_equal(cut, "cannot run ");
}

/*
 * The JSON documents a hook wrote to DIR/runs, one line a run (json_dumps has no newline;
 * max_hooks = 1, so no two runs write at once).
 */
static size_t
read_runs(struct fixture *fx, json_t **runs, size_t max)
{
    char path[160];
    (void)snprintf(path, sizeof(path), "%s/runs", fx->dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0, n = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t err;
        assert_true(n < max);
        runs[n] = json_loads(line, 0, &err);
        if (!runs[n])
            fail_msg("run %zu: not JSON: %s", n, err.text);
        n++;
    }
    free(line);
    fclose(f);
    return n;
}

/* Whether every delivery of feed event ev is delivered (a connection of its own). */
static bool
event_delivered(struct fixture *fx, int64_t ev)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(fx->db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FILTER (WHERE state = 'delivered'),"
                                        " count(*) FROM event_deliveries WHERE event_id = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, ev);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    bool done =
        sqlite3_column_int(st, 1) > 0 && sqlite3_column_int(st, 0) == sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return done;
}

static json_int_t
jint(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/*
 * A story of many sources (hostile review M5): an alert's JSON lists the first
 * STORE_SOURCES_LISTED sources and counts them all (story.sources_total); a story-source's
 * lists its new source too when it is past those, and carries it as "source".
 */
static void
test_hook_story_sources_capped(void **state)
{
    (void)state;
    enum { N_SOURCES = STORE_SOURCES_LISTED + 5 };
    struct fixture fx;
    struct delivery dl;
    int64_t ids[N_SOURCES], ev = 0;
    char *hooks[] = {"h"};
    fixture_hook_extra = "events = alert, story-source\n";
    fixture_open(&fx, "/bin/sh -c 'cat >> %s/runs; echo >> %s/runs'", "20s", 0, 1);
    fixture_hook_extra = "";
    int64_t alert = fixture_alert(&fx);
    assert_int_equal(store_begin(fx.d.store), 0);
    for (int i = 0; i < N_SOURCES; i++) {
        char key[32];
        (void)snprintf(key, sizeof(key), "urn:copy:%d", i);
        struct feed_item item = {
            .key = key, .id = key, .title = "boxcar copy", .published_at = 1700000000};
        assert_int_equal(store_item_add(fx.d.store, fx.feed_id, &item, "the boxcar story", 0,
                                        util_now(), &ids[i]),
                         1);
        assert_int_equal(store_alert_add_source(fx.d.store, alert, ids[i]), 0);
    }
    assert_int_equal(store_story_source_add(fx.d.store, fx.feed_id, alert, ids[N_SOURCES - 1],
                                            hooks, 1, util_now(), &ev),
                     0);
    assert_int_equal(store_commit(fx.d.store), 0);

    json_t *doc = hook_alert_json(&fx.d, alert);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "sources")), STORE_SOURCES_LISTED);
    json_decref(doc);

    hook_kick(fx.hooks);
    run_until(&fx, alert, "delivered", 1, NULL, &dl);
    fx.hung = false;
    assert_int_equal(uv_timer_start(&fx.tick, on_tick, 20, 20), 0);
    assert_int_equal(uv_timer_start(&fx.guard, on_guard, HANG_GUARD_MS, 0), 0);
    while (!event_delivered(&fx, ev)) {
        if (fx.hung)
            fail_msg("the story-source event is not delivered");
        (void)uv_run(&fx.d.loop, UV_RUN_ONCE);
    }
    (void)uv_timer_stop(&fx.tick);
    (void)uv_timer_stop(&fx.guard);

    json_t *runs[4];
    size_t n = read_runs(&fx, runs, 4);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        const json_t *sources = json_object_get(runs[i], "sources");
        const json_t *story = json_object_get(runs[i], "story");
        const char *event = json_string_value(json_object_get(runs[i], "event"));
        assert_non_null(event);
        assert_int_equal(jint(story, "sources_total"), N_SOURCES);
        assert_int_equal(jint(json_array_get(sources, 0), "item"), ids[0]);
        assert_int_equal(json_integer_value(json_array_get(json_object_get(story, "sources"), 0)),
                         ids[0]);
        if (strcmp(event, "alert") == 0) {
            assert_int_equal(json_array_size(sources), STORE_SOURCES_LISTED);
            assert_int_equal(json_array_size(json_object_get(story, "sources")),
                             STORE_SOURCES_LISTED);
            continue;
        }
        /* The story-source's new source is past the first ones: listed last, and "source". */
        assert_string_equal(event, "story-source");
        assert_int_equal(json_array_size(sources), STORE_SOURCES_LISTED + 1);
        assert_int_equal(json_array_size(json_object_get(story, "sources")),
                         STORE_SOURCES_LISTED + 1);
        assert_int_equal(jint(json_array_get(sources, STORE_SOURCES_LISTED), "item"),
                         ids[N_SOURCES - 1]);
        assert_int_equal(jint(json_object_get(runs[i], "source"), "item"), ids[N_SOURCES - 1]);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(runs[i]);
    fixture_close(&fx);
}

/*
 * A digest whose due deliveries exceed its 8 MiB (hostile review M5b): from the first that
 * does not fit, the rest wait for the next run (built then, not now), in due order: a small
 * alert after a big one that did not fit is not sent before it.
 */
static void
test_hook_batch_full_keeps_due_order(void **state)
{
    (void)state;
    struct fixture fx;
    struct delivery dl;
    size_t big_len = 4608u * 1024; /* two of them do not fit in a batch's 8 MiB */
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++)
        big[i] = i % 8 == 7 ? ' ' : 'x';
    big[big_len] = '\0';
    fixture_hook_extra = "batch = 1s\n";
    fixture_open(&fx, "/bin/sh -c 'cat >> %s/runs; echo >> %s/runs'", "20s", 0, 1);
    fixture_hook_extra = "";
    int64_t a = fixture_alert_text(&fx, big), b = fixture_alert_text(&fx, big);
    int64_t c = fixture_alert(&fx);
    free(big);
    hook_kick(fx.hooks);
    run_until(&fx, a, "delivered", 1, NULL, &dl);
    run_until(&fx, b, "delivered", 1, NULL, &dl);
    run_until(&fx, c, "delivered", 1, NULL, &dl);
    assert_int_equal(dl.attempts, 1);

    json_t *runs[4];
    size_t n = read_runs(&fx, runs, 4);
    assert_int_equal(n, 2);
    assert_int_equal(json_array_size(runs[0]), 1);
    assert_int_equal(jint(json_array_get(runs[0], 0), "alert_id"), a);
    assert_int_equal(json_array_size(runs[1]), 2);
    assert_int_equal(jint(json_array_get(runs[1], 0), "alert_id"), b);
    assert_int_equal(jint(json_array_get(runs[1], 1), "alert_id"), c);
    for (size_t i = 0; i < n; i++)
        json_decref(runs[i]);
    fixture_close(&fx);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hook_environment_and_descriptors),
        cmocka_unit_test(test_hook_timeout_kills_the_group_and_a_stubborn_grandchild),
        cmocka_unit_test(test_hook_that_ignores_sigterm_gets_sigkill),
        cmocka_unit_test(test_hook_retries_back_off_to_one_hour),
        cmocka_unit_test(test_hook_max_hooks_at_once),
        cmocka_unit_test(test_hook_redeliver),
        cmocka_unit_test(test_hook_error_brief_hides_paths),
        cmocka_unit_test(test_hook_story_sources_capped),
        cmocka_unit_test(test_hook_batch_full_keeps_due_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
