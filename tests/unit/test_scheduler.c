/* Unit tests of the scheduler's heap: order, moves, removal, and the timer firing in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "scheduler.h"

struct clockctx {
    int64_t now;
    int fired[64];
    int n_fired;
    struct sched_entry entries[64];
};

static int64_t
test_clock(void *userdata)
{
    struct clockctx *c = userdata;
    return c->now;
}

static void
on_due(void *userdata, struct sched_entry *e)
{
    struct clockctx *c = userdata;
    c->fired[c->n_fired++] = (int)(e - c->entries);
}

/* Entries fire in due order, whatever order they were armed in. */
static void
test_scheduler_fires_in_order(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct clockctx c = {.now = 1000};
    struct sched *s = sched_new(&loop, on_due, test_clock, &c);
    assert_non_null(s);
    int64_t dues[] = {1005, 1001, 1009, 1003, 1000, 1007, 1002, 1008, 1004, 1006};
    for (int i = 0; i < 10; i++) {
        sched_entry_init(&c.entries[i]);
        assert_int_equal(sched_arm(s, &c.entries[i], dues[i]), 0);
    }
    assert_int_equal(sched_count(s), 10);
    assert_int_equal(sched_next_due(s), 1000);
    /* Move one later and one earlier, remove one. */
    assert_int_equal(sched_arm(s, &c.entries[4], 1010), 0); /* 1000 -> 1010 */
    assert_int_equal(sched_arm(s, &c.entries[2], 999), 0);  /* 1009 -> 999 */
    sched_disarm(s, &c.entries[3]);                         /* 1003 gone */
    assert_false(sched_entry_armed(&c.entries[3]));
    assert_int_equal(sched_count(s), 9);
    c.now = 2000; /* everything is due */
    while (sched_count(s) > 0)
        assert_true(uv_run(&loop, UV_RUN_ONCE) >= 0);
    int expect[] = {2, 1, 6, 8, 0, 9, 5, 7, 4};
    assert_int_equal(c.n_fired, 9);
    for (int i = 0; i < 9; i++)
        assert_int_equal(c.fired[i], expect[i]);
    sched_close(s);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A large random workload keeps the heap property (checked through the pop order). */
static void
test_scheduler_random_heap(void **state)
{
    (void)state;
    enum { N = 5000 };
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct clockctx c = {.now = 0};
    struct sched *s = sched_new(&loop, on_due, test_clock, &c);
    struct sched_entry *e = calloc(N, sizeof(*e));
    assert_non_null(e);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < N; i++) {
        sched_entry_init(&e[i]);
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        assert_int_equal(sched_arm(s, &e[i], (int64_t)(x % 100000) + 1), 0);
    }
    for (int i = 0; i < N; i += 3) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (i % 2)
            sched_disarm(s, &e[i]);
        else
            assert_int_equal(sched_arm(s, &e[i], (int64_t)(x % 100000) + 1), 0);
    }
    int64_t last = INT64_MIN;
    size_t n = sched_count(s);
    for (size_t i = 0; i < n; i++) {
        int64_t due = sched_next_due(s);
        assert_true(due >= last);
        last = due;
        /* Pop the minimum by disarming whichever entry holds it. */
        struct sched_entry *min = NULL;
        for (int j = 0; j < N; j++)
            if (sched_entry_armed(&e[j]) && e[j].due_wall_ms == due && (!min || &e[j] < min))
                min = &e[j];
        assert_non_null(min);
        sched_disarm(s, min);
    }
    assert_int_equal(sched_count(s), 0);
    assert_int_equal(sched_next_due(s), INT64_MAX);
    sched_close(s);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheduler_fires_in_order),
        cmocka_unit_test(test_scheduler_random_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
