/*
 * test_storestat.c — the store's tallies read off the loop (daemon/storestat.h), on an SQLite
 * database (the engine does not matter to the module; test_pg_stall drives it on a stopped
 * PostgreSQL server): a want is answered fresh with a read begun after it, on the loop thread;
 * wants that come during a read are answered by the next one, in order; a forgotten want is
 * never answered; a read that fails answers stale with why and no tallies.
 */
#include <errno.h>
#include <pthread.h>
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
#include <uv.h>

#include "store.h"
#include "storestat.h"

struct fixture {
    char dir[64];
    char db[128];
    uv_loop_t loop;
    struct storestat *s;
};

/* What one want was answered with. */
struct answer {
    bool done;
    bool fresh;
    int64_t read_at;
    uint64_t database_bytes;
    char error[STORESTAT_ERROR_MAX + 64];
    pthread_t thread;
    int order;
};

static int n_answers;

static void
on_done(void *ctx, const struct storestat_snap *snap, bool fresh, const char *error)
{
    struct answer *a = ctx;
    assert_false(a->done);
    a->done = true;
    a->fresh = fresh;
    a->read_at = snap->read_at;
    a->database_bytes = snap->database_bytes;
    (void)snprintf(a->error, sizeof(a->error), "%s", error ? error : "");
    a->thread = pthread_self();
    a->order = n_answers++;
}

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    (void)snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_storestat.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    (void)snprintf(fx->db, sizeof(fx->db), "%s/fw.db", fx->dir);
    struct store *init = NULL;
    char *err = NULL;
    assert_int_equal(store_open(fx->db, &init, &err), 0);
    store_free(init);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    n_answers = 0;
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;
    storestat_close(fx->s);
    (void)uv_run(&fx->loop, UV_RUN_DEFAULT); /* the handles close */
    storestat_free(fx->s);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    char cmd[128];
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* Runs the loop until every answer of v is in (or 10 s pass: a failure). */
static void
run_until_answered(struct fixture *fx, struct answer *v, size_t n)
{
    uint64_t deadline = uv_now(&fx->loop) + 10000;
    for (;;) {
        bool all = true;
        for (size_t i = 0; i < n; i++)
            all = all && v[i].done;
        if (all)
            return;
        assert_true(uv_now(&fx->loop) < deadline);
        (void)uv_run(&fx->loop, UV_RUN_ONCE);
    }
}

static void
test_storestat_fresh(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(storestat_new(&fx->loop, fx->db, NULL, false, &fx->s), 0);
    struct answer a = {0};
    int64_t before = (int64_t)time(NULL);
    assert_non_null(storestat_want(fx->s, on_done, &a));
    run_until_answered(fx, &a, 1);
    assert_true(a.fresh);
    assert_string_equal(a.error, "");
    assert_true(a.read_at >= before);
    assert_true(a.database_bytes > 0);
    assert_true(pthread_equal(a.thread, pthread_self())); /* on the loop's thread */
}

static void
test_storestat_wants_during_a_read_get_the_next(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(storestat_new(&fx->loop, fx->db, NULL, false, &fx->s), 0);
    struct answer v[3] = {{0}};
    for (size_t i = 0; i < 3; i++) /* the first starts a read, the others wait for the next */
        assert_non_null(storestat_want(fx->s, on_done, &v[i]));
    run_until_answered(fx, v, 3);
    for (int i = 0; i < 3; i++) {
        assert_true(v[i].fresh);
        assert_int_equal(v[i].order, i);
    }
    /* Another, once idle: a read of its own. */
    struct answer more = {0};
    assert_non_null(storestat_want(fx->s, on_done, &more));
    run_until_answered(fx, &more, 1);
    assert_true(more.fresh);
    assert_int_equal(more.order, 3);
}

static void
test_storestat_forget(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(storestat_new(&fx->loop, fx->db, NULL, false, &fx->s), 0);
    struct answer gone = {0}, kept = {0};
    struct storestat_want *w = storestat_want(fx->s, on_done, &gone);
    assert_non_null(w);
    assert_non_null(storestat_want(fx->s, on_done, &kept));
    storestat_forget(w);
    run_until_answered(fx, &kept, 1);
    assert_false(gone.done);
    assert_true(kept.fresh);
}

static void
test_storestat_failed_read_is_stale(void **state)
{
    struct fixture *fx = *state;
    char missing[192];
    (void)snprintf(missing, sizeof(missing), "%s/no/such/folder/fw.db", fx->dir);
    assert_int_equal(storestat_new(&fx->loop, missing, NULL, false, &fx->s), 0);
    struct answer a = {0};
    assert_non_null(storestat_want(fx->s, on_done, &a));
    run_until_answered(fx, &a, 1);
    assert_false(a.fresh);
    assert_int_equal(a.read_at, 0); /* no tallies were ever read */
    assert_non_null(strstr(a.error, "fw.db"));
}

static void
test_storestat_close_drops_wants(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(storestat_new(&fx->loop, fx->db, NULL, false, &fx->s), 0);
    struct answer a = {0};
    assert_non_null(storestat_want(fx->s, on_done, &a));
    storestat_close(fx->s); /* teardown's close is then a no-op */
    (void)uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_false(a.done);
    assert_null(storestat_want(fx->s, on_done, &a));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_storestat_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storestat_wants_during_a_read_get_the_next, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_storestat_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storestat_failed_read_is_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storestat_close_drops_wants, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
