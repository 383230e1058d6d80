/*
 * test_daemon_sched.c — adaptive poll intervals: the item-rate estimator and the interval it
 * gives (scheduler.h), driven by simulated polls at fake times (no clock, no loop).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scheduler.h"

#define MIN_S 300u      /* min_interval = 5m */
#define MAX_S 21600u    /* max_interval = 6h */
#define START_S 900u    /* interval = 15m */

/*
 * Polls a feed that publishes one item every period_s, from time 0 for sim_s seconds, as the
 * daemon does: each poll counts the items published since the previous one, updates the rate,
 * and waits the interval the rate asks for. Returns the last interval.
 */
static uint64_t
simulate(uint64_t period_s, uint64_t start_s, int64_t sim_s)
{
    double prior = 3600.0 / (double)start_s;
    double rate = -1.0;
    int64_t t = 0;
    uint64_t interval = sched_adaptive_interval(rate, start_s, MIN_S, MAX_S);
    assert_int_equal(interval, start_s); /* no evidence: the configured interval */
    while (t < sim_s) {
        int64_t next = t + (int64_t)interval;
        uint64_t fresh = period_s ? (uint64_t)(next / (int64_t)period_s - t / (int64_t)period_s)
                                  : 0;
        rate = sched_rate_update(rate, prior, next - t, fresh);
        t = next;
        interval = sched_adaptive_interval(rate, start_s, MIN_S, MAX_S);
        assert_true(interval >= MIN_S && interval <= MAX_S);
    }
    return interval;
}

static void
test_daemon_sched_ten_minute_feed_settles_near_ten_minutes(void **state)
{
    (void)state;
    uint64_t interval = simulate(600, START_S, 3 * 86400);
    assert_true(interval >= 540 && interval <= 660);
}

static void
test_daemon_sched_hourly_feed_is_not_polled_every_few_minutes(void **state)
{
    (void)state;
    uint64_t interval = simulate(3600, START_S, 4 * 86400);
    assert_true(interval >= 3300 && interval <= 3900);
}

static void
test_daemon_sched_busy_feed_stays_at_min_interval(void **state)
{
    (void)state;
    /* Every 2 minutes, configured at 1 hour: not left for an hour. */
    assert_int_equal(simulate(120, 3600, 2 * 86400), MIN_S);
}

static void
test_daemon_sched_silent_feed_goes_to_max_interval(void **state)
{
    (void)state;
    assert_int_equal(simulate(0, START_S, 5 * 86400), MAX_S);
}

static void
test_daemon_sched_interval_below_min_is_used_as_given(void **state)
{
    (void)state;
    assert_int_equal(sched_adaptive_interval(0.0, 60, MIN_S, MAX_S), 60);
    assert_int_equal(sched_adaptive_interval(1000.0, 60, MIN_S, MAX_S), 60);
    assert_int_equal(sched_adaptive_interval(-1.0, 60, MIN_S, MAX_S), 60);
    /* At or above min_interval the rate decides, within the bounds. */
    assert_int_equal(sched_adaptive_interval(6.0, 300, MIN_S, MAX_S), 600);
    assert_int_equal(sched_adaptive_interval(0.0, 300, MIN_S, MAX_S), MAX_S);
    assert_int_equal(sched_adaptive_interval(1e9, 300, MIN_S, MAX_S), MIN_S);
}

static void
test_daemon_sched_quick_polls_are_little_evidence(void **state)
{
    (void)state;
    /* No evidence yet: the prior; a poll seconds after the last one barely moves it. */
    double r = sched_rate_update(-1.0, 4.0, 0, 0);
    assert_true(r > 3.999 && r < 4.001);
    r = sched_rate_update(4.0, 4.0, 2, 0);
    assert_true(r > 3.99 && r <= 4.0);
    assert_int_equal(sched_adaptive_interval(r, START_S, MIN_S, MAX_S) / 10, 90);
    /* Many items in a short time raise it, but bounded: hostile counts cannot overflow. */
    r = sched_rate_update(4.0, 4.0, 1, UINT64_MAX);
    assert_true(r > 4.0 && r <= 1e6);
    assert_int_equal(sched_adaptive_interval(r, START_S, MIN_S, MAX_S), MIN_S);
    /* A garbage rate is no evidence. */
    r = sched_rate_update(-5.0, -1.0, 600, 0);
    assert_true(r >= 0.0 && r < 1.0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daemon_sched_ten_minute_feed_settles_near_ten_minutes),
        cmocka_unit_test(test_daemon_sched_hourly_feed_is_not_polled_every_few_minutes),
        cmocka_unit_test(test_daemon_sched_busy_feed_stays_at_min_interval),
        cmocka_unit_test(test_daemon_sched_silent_feed_goes_to_max_interval),
        cmocka_unit_test(test_daemon_sched_interval_below_min_is_used_as_given),
        cmocka_unit_test(test_daemon_sched_quick_polls_are_little_evidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
