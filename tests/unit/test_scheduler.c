/*
 * test_scheduler.c — the scheduler's heap (order, moves, removal, the timer firing in order)
 * and its policy, rule by rule, with table cases at the boundaries: jitter, adaptive
 * intervals, backoff, hints, Retry-After, the failures that disable a feed, and the spread
 * of overdue feeds at start. The policy takes time and random numbers as parameters: no
 * clock is read here but the heap tests' fake one.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "scheduler.h"
#include "util.h"

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

#define NOW_MS 1800000000000LL /* 2027-01-15, a wall-clock instant in ms */

/* A feed at a 15 min interval in the default range 5 min .. 6 h. */
static const struct sched_intervals iv_default = {900, 300, 21600};

/* base ± 10 %, r picking where: both ends, the middle, the wrap, and the 1 s floor. */
static void
test_scheduler_jitter_table(void **state)
{
    (void)state;
    static const struct {
        int64_t base_ms;
        uint64_t r;
        int64_t want_ms;
    } cases[] = {
        {900000, 0, 810000},          /* -10 % */
        {900000, 90000, 900000},      /* the middle: no jitter */
        {900000, 180000, 990000},     /* +10 % */
        {900000, 180001, 810000},     /* the width is 2 * spread + 1: wraps */
        {900000, UINT64_MAX, 941797}, /* UINT64_MAX % 180001 = 131797 */
        {1111, 0, 1000},              /* 1111 - 111: just at the floor */
        {1000, 0, 1000},              /* 900, floored */
        {1000, 200, 1100},
        {500, 100, 1000}, /* 550, floored */
        {9, 5, 1000},     /* no spread below 10 ms; floored */
        {0, 12345, 1000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = sched_jitter_ms(cases[i].base_ms, cases[i].r);
        if (got != cases[i].want_ms)
            fail_msg("case %zu: jitter(%lld, %llu) = %lld, want %lld", i,
                     (long long)cases[i].base_ms, (unsigned long long)cases[i].r, (long long)got,
                     (long long)cases[i].want_ms);
    }
    /* Over the generator's numbers, every result stays in the ±10 % window and reaches both
     * halves of it. */
    struct util_rng g;
    util_rng_init(&g, 7);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int i = 0; i < 10000; i++) {
        int64_t got = sched_jitter_ms(3600000, util_rng_next(&g));
        assert_true(got >= 3240000 && got <= 3960000);
        lo = got < lo ? got : lo;
        hi = got > hi ? got : hi;
    }
    assert_true(lo < 3300000 && hi > 3900000);
}

/* The adaptive interval of a feed: its own without evidence, else the rate within bounds. */
static void
test_scheduler_interval_table(void **state)
{
    (void)state;
    static const struct {
        struct sched_intervals iv;
        double rate;
        uint64_t want_s;
    } cases[] = {
        {{900, 300, 21600}, -1.0, 900}, /* no evidence yet: the configured interval */
        {{900, 300, 21600}, 6.0, 600},  /* 6 items an hour: every 10 min */
        {{900, 300, 21600}, 12.0, 300}, /* 5 min: exactly min_interval */
        {{900, 300, 21600}, 13.0, 300}, /* faster: min_interval */
        {{900, 300, 21600}, 1e6, 300},
        {{900, 300, 21600}, 0.0, 21600},            /* silent: max_interval */
        {{900, 300, 21600}, 3600.0 / 21600, 21600}, /* exactly max_interval */
        {{900, 300, 21600}, 0.1, 21600},            /* slower than max: max_interval */
        {{900, 300, 21600}, 0.2, 18000},
        {{60, 300, 21600}, 1e6, 60}, /* set below min_interval: used as given */
        {{60, 300, 21600}, 0.0, 60},
        {{900, 300, 0}, 0.0, 900},      /* max_interval 0: adaptation off */
        {{4000, 3600, 600}, 0.0, 3600}, /* max below min: min wins */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t got = sched_interval_s(&cases[i].iv, cases[i].rate);
        if (got != cases[i].want_s)
            fail_msg("case %zu: interval = %llu, want %llu", i, (unsigned long long)got,
                     (unsigned long long)cases[i].want_s);
    }
}

/* Backoff doubles from the interval per failure after the first, to max(max, interval). */
static void
test_scheduler_backoff_table(void **state)
{
    (void)state;
    static const struct {
        struct sched_intervals iv;
        unsigned failures;
        uint64_t want_s;
    } cases[] = {
        {{60, 300, 3600}, 0, 60},
        {{60, 300, 3600}, 1, 60},
        {{60, 300, 3600}, 2, 120},
        {{60, 300, 3600}, 3, 240},
        {{60, 300, 3600}, 6, 1920},
        {{60, 300, 3600}, 7, 3600}, /* 3840: capped at max_interval */
        {{60, 300, 3600}, 100, 3600},
        {{60, 300, 3600}, UINT_MAX, 3600}, /* stops doubling at the cap */
        {{900, 300, 21600}, 5, 14400},
        {{900, 300, 21600}, 6, 21600}, /* 28800: capped */
        {{7200, 300, 3600}, 1, 7200},  /* interval above max_interval: the interval */
        {{7200, 300, 3600}, 9, 7200},
        {{1, 300, 0}, 40, 1}, /* max_interval 0: the interval is the cap */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t got = sched_backoff_s(&cases[i].iv, cases[i].failures);
        if (got != cases[i].want_s)
            fail_msg("case %zu: backoff = %llu, want %llu", i, (unsigned long long)got,
                     (unsigned long long)cases[i].want_s);
    }
}

/* The next poll: adaptive after a good poll, backoff (from the interval) after a failure. */
static void
test_scheduler_next_ms(void **state)
{
    (void)state;
    /* r = the spread: no jitter, so the delay shows exactly. */
    assert_int_equal(sched_next_ms(&iv_default, -1.0, 0, false, NOW_MS, 90000), NOW_MS + 900000);
    assert_int_equal(sched_next_ms(&iv_default, 6.0, 0, false, NOW_MS, 60000), NOW_MS + 600000);
    /* A busy feed that fails backs off from its interval, not from its fast rate. */
    assert_int_equal(sched_next_ms(&iv_default, 1e6, 1, true, NOW_MS, 90000), NOW_MS + 900000);
    assert_int_equal(sched_next_ms(&iv_default, 1e6, 3, true, NOW_MS, 360000), NOW_MS + 3600000);
    /* With jitter: within ±10 % of the backoff. */
    assert_int_equal(sched_next_ms(&iv_default, -1.0, 2, true, NOW_MS, 0), NOW_MS + 1620000);
}

/* A plan from a poll's outcome; r = 90000 (no jitter on 900 s) unless said. */
struct plan_case {
    const char *what;
    struct sched_poll pn;
    unsigned failures;
    uint64_t fresh;
    double rate_in;
    int64_t want_next_ms;      /* 0: disabled */
    int64_t want_rate_changed; /* 1: rate moved, 0: kept */
};

static void
test_scheduler_plan_next_table(void **state)
{
    (void)state;
    const int64_t prev_at = NOW_MS / 1000 - 900;
    const struct plan_case cases[] = {
        {"disabled: no next poll",
         {.disabled = true, .failed = true, .now_ms = NOW_MS},
         10,
         0,
         -1.0,
         0,
         0},
        {"first poll: no evidence, the interval",
         {.prev_ok = false, .prev_poll_at = SCHED_TIME_NONE, .now_ms = NOW_MS},
         0,
         50,
         -1.0,
         NOW_MS + 900000,
         0},
        {"never polled before though marked ok: no evidence",
         {.prev_ok = true, .prev_poll_at = SCHED_TIME_NONE, .now_ms = NOW_MS},
         0,
         50,
         -1.0,
         NOW_MS + 900000,
         0},
        {"good after failed: no evidence",
         {.prev_ok = false, .prev_poll_at = prev_at, .now_ms = NOW_MS},
         0,
         3,
         -1.0,
         NOW_MS + 900000,
         0},
        {"failed: the interval (first failure), rate kept",
         {.failed = true, .prev_ok = true, .prev_poll_at = prev_at, .now_ms = NOW_MS},
         1,
         0,
         4.0,
         NOW_MS + 900000,
         0},
        {"good after good: the rate moves",
         {.prev_ok = true, .prev_poll_at = prev_at, .now_ms = NOW_MS},
         0,
         0,
         4.0,
         -1,
         1},
        {"freshness hint later than the interval: the hint",
         {.prev_poll_at = SCHED_TIME_NONE,
          .now_ms = NOW_MS,
          .fresh_until_at = NOW_MS / 1000 + 7200},
         0,
         0,
         -1.0,
         NOW_MS + 7200000,
         0},
        {"freshness hint sooner than the interval: the interval",
         {.prev_poll_at = SCHED_TIME_NONE, .now_ms = NOW_MS, .fresh_until_at = NOW_MS / 1000 + 60},
         0,
         0,
         -1.0,
         NOW_MS + 900000,
         0},
        {"freshness hint beyond max_interval: cut to it",
         {.prev_poll_at = SCHED_TIME_NONE,
          .now_ms = NOW_MS,
          .fresh_until_at = NOW_MS / 1000 + 86400},
         0,
         0,
         -1.0,
         NOW_MS + 21600000,
         0},
        {"hostile freshness hint: cut, no overflow",
         {.prev_poll_at = SCHED_TIME_NONE, .now_ms = NOW_MS, .fresh_until_at = INT64_MAX},
         0,
         0,
         -1.0,
         NOW_MS + 21600000,
         0},
        {"Retry-After later than the backoff: honoured beyond max_interval",
         {.failed = true,
          .prev_poll_at = SCHED_TIME_NONE,
          .now_ms = NOW_MS,
          .retry_after_at = NOW_MS / 1000 + 86400},
         1,
         0,
         -1.0,
         NOW_MS + 86400000,
         0},
        {"Retry-After sooner than the backoff: the backoff",
         {.failed = true,
          .prev_poll_at = SCHED_TIME_NONE,
          .now_ms = NOW_MS,
          .retry_after_at = NOW_MS / 1000 + 5},
         1,
         0,
         -1.0,
         NOW_MS + 900000,
         0},
        {"Retry-After beyond 7 days: cut to 7 days",
         {.failed = true,
          .prev_poll_at = SCHED_TIME_NONE,
          .now_ms = NOW_MS,
          .retry_after_at = NOW_MS / 1000 + 30 * 86400},
         1,
         0,
         -1.0,
         NOW_MS + (int64_t)SCHED_RETRY_AFTER_MAX_S * 1000,
         0},
        {"hostile Retry-After: cut, no overflow",
         {.failed = true,
          .prev_poll_at = SCHED_TIME_NONE,
          .now_ms = NOW_MS,
          .retry_after_at = INT64_MAX},
         1,
         0,
         -1.0,
         NOW_MS + (int64_t)SCHED_RETRY_AFTER_MAX_S * 1000,
         0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct plan_case *c = &cases[i];
        struct sched_poll pn = c->pn;
        double rate = c->rate_in;
        uint64_t r = 90000;
        int64_t at = sched_plan_next(&iv_default, &pn, c->failures, c->fresh, &rate, r);
        int64_t want = c->want_next_ms;
        if (want < 0) {
            /* The moved rate decides the interval: 0 new items in 900 s lowers it. */
            double moved = sched_rate_update(c->rate_in, 4.0, 900, c->fresh);
            uint64_t iv_s = sched_interval_s(&iv_default, moved);
            want = NOW_MS + sched_jitter_ms((int64_t)iv_s * 1000, r);
            assert_true(iv_s > 900); /* slower than configured: it did move */
        }
        if (pn.next_ms != want)
            fail_msg("%s: next %lld, want %lld", c->what, (long long)pn.next_ms, (long long)want);
        if (want == 0)
            assert_true(at == SCHED_TIME_NONE);
        else
            assert_true(at == (want + 999) / 1000);
        if ((rate != c->rate_in) != (c->want_rate_changed != 0))
            fail_msg("%s: rate %f from %f", c->what, rate, c->rate_in);
    }
    /* The second failure in a row: 1800 s, here with r 0 (-10 %). */
    struct sched_poll pn = {.failed = true, .prev_poll_at = SCHED_TIME_NONE, .now_ms = NOW_MS};
    double rate = -1.0;
    (void)sched_plan_next(&iv_default, &pn, 2, 0, &rate, 0);
    assert_int_equal(pn.next_ms, NOW_MS + 1620000);
}

/* The row keeps whole seconds, rounded up: never sooner than planned. */
static void
test_scheduler_plan_next_rounds_up(void **state)
{
    (void)state;
    const struct sched_intervals iv = {60, 300, 21600};
    struct sched_poll pn = {.prev_poll_at = SCHED_TIME_NONE, .now_ms = NOW_MS + 500};
    double rate = -1.0;
    int64_t at = sched_plan_next(&iv, &pn, 0, 0, &rate, 6000); /* r = spread: 60 s flat */
    assert_int_equal(pn.next_ms, NOW_MS + 60500);
    assert_int_equal(at, (NOW_MS + 61000) / 1000);
    pn = (struct sched_poll){.prev_poll_at = SCHED_TIME_NONE, .now_ms = NOW_MS};
    at = sched_plan_next(&iv, &pn, 0, 0, &rate, 6000);
    assert_int_equal(at, (NOW_MS + 60000) / 1000);
}

/* Failures count one each, a 404 two, saturating; a 410 or max_failures disables. */
static void
test_scheduler_failures_table(void **state)
{
    (void)state;
    static const struct {
        unsigned failures;
        long http;
        unsigned want;
    } counts[] = {
        {0, 0, 1},
        {0, 500, 1},
        {0, 404, 2},
        {3, 503, 4},
        {3, 404, 5},
        {UINT_MAX - 1, 0, UINT_MAX},
        {UINT_MAX - 1, 404, UINT_MAX},
        {UINT_MAX, 0, UINT_MAX},
        {UINT_MAX, 404, UINT_MAX},
    };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        if (sched_failures_after(counts[i].failures, counts[i].http) != counts[i].want)
            fail_msg("count case %zu", i);
    static const struct {
        unsigned failures, max;
        long http;
        enum sched_disable want;
    } disables[] = {
        {1, 10, 410, SCHED_DISABLE_GONE}, /* at once */
        {1, 0, 410, SCHED_DISABLE_GONE},  /* even with max_failures off */
        {9, 10, 500, SCHED_KEEP},
        {10, 10, 500, SCHED_DISABLE_FAILURES}, /* reached */
        {11, 10, 0, SCHED_DISABLE_FAILURES},   /* passed (a 404 steps by 2) */
        {1, 1, 0, SCHED_DISABLE_FAILURES},
        {1000000, 0, 500, SCHED_KEEP}, /* max_failures 0: never */
        {UINT_MAX, 0, 404, SCHED_KEEP},
    };
    for (size_t i = 0; i < sizeof(disables) / sizeof(disables[0]); i++)
        if (sched_disable_after(disables[i].failures, disables[i].max, disables[i].http) !=
            disables[i].want)
            fail_msg("disable case %zu", i);
}

/*
 * A feed that keeps failing, poll after poll as the daemon runs them: backoff grows to its
 * cap, and at max_failures it is disabled with no next poll. A 404 every time gets there in
 * half the polls.
 */
static unsigned
polls_until_disabled(long http, unsigned max_failures, int64_t *ret_last_delay_ms)
{
    const struct sched_intervals iv = {60, 300, 3600};
    unsigned failures = 0, polls = 0;
    int64_t now = NOW_MS, prev_delay = 0;
    double rate = -1.0;
    for (;;) {
        polls++;
        failures = sched_failures_after(failures, http);
        struct sched_poll pn = {.failed = true, .prev_poll_at = SCHED_TIME_NONE, .now_ms = now};
        pn.disabled = sched_disable_after(failures, max_failures, http) != SCHED_KEEP;
        uint64_t r = 6000; /* the middle of a 60 s jitter: other widths get some jitter */
        int64_t at = sched_plan_next(&iv, &pn, failures, 0, &rate, r);
        if (pn.disabled) {
            assert_true(at == SCHED_TIME_NONE);
            assert_int_equal(pn.next_ms, 0);
            *ret_last_delay_ms = prev_delay;
            return polls;
        }
        int64_t delay = pn.next_ms - now;
        assert_true(delay >= prev_delay * 9 / 10); /* never much shorter than the last */
        assert_true(delay <= 3600000 + 360000);    /* the cap, with jitter */
        prev_delay = delay;
        now = pn.next_ms;
        assert_true(polls < 1000);
    }
}

static void
test_scheduler_feed_disabled_after_its_errors(void **state)
{
    (void)state;
    int64_t last = 0;
    assert_int_equal(polls_until_disabled(500, 10, &last), 10);
    assert_true(last >= 3600000 * 9 / 10); /* backed off to the cap before the end */
    assert_int_equal(polls_until_disabled(404, 10, &last), 5);
    assert_int_equal(polls_until_disabled(404, 3, &last), 2);
    assert_int_equal(polls_until_disabled(410, 10, &last), 1);
    assert_int_equal(polls_until_disabled(0, 1, &last), 1);
}

/* Never polled: now. A next poll ahead: kept. Overdue: now + r mod a tenth of the interval,
 * at most 30 s. */
static void
test_scheduler_initial_due_table(void **state)
{
    (void)state;
    const int64_t now_at = NOW_MS / 1000;
    static const int64_t NONE = SCHED_TIME_NONE;
    const struct {
        int64_t last_at, next_at;
        uint64_t interval_s, r;
        int64_t want_ms; /* relative to NOW_MS unless absolute below */
    } cases[] = {
        {NONE, NONE, 900, 12345, 0},                   /* never polled: due now */
        {NONE, now_at + 60, 900, 12345, 0},            /* no last poll: due now */
        {now_at - 60, NONE, 900, 12345, 0},            /* no next poll (disabled once): now */
        {now_at - 60, now_at + 60, 900, 12345, 60000}, /* ahead: kept to the ms */
        {now_at - 60, now_at + 1, 900, 0, 1000},
        {now_at - 900, now_at, 900, 0, 0},                      /* due this very ms: overdue, r 0 */
        {now_at - 900, now_at, 3600, 29999, 29999},             /* the window's last ms */
        {now_at - 900, now_at, 3600, 30000, 0},                 /* wraps */
        {now_at - 900, now_at - 5000, 86400 * 7, 45000, 15000}, /* long interval: 30 s */
        {now_at - 900, now_at - 5, 300, 29999, 29999},          /* 300 s: a tenth is 30 s */
        {now_at - 900, now_at - 5, 299, 29899, 29899},          /* 299 s: 29.9 s */
        {now_at - 900, now_at - 5, 299, 29900, 0},
        {now_at - 900, now_at - 5, 60, 5999, 5999}, /* 60 s: 6 s */
        {now_at - 900, now_at - 5, 60, 6000, 0},
        {now_at - 900, now_at - 5, 1, 250, 50},  /* 1 s: 100 ms */
        {now_at - 900, now_at - 5, 0, 250, 0},   /* no interval: no spread */
        {now_at - 900, INT64_MIN + 1, 60, 7, 7}, /* hostile row: overdue, no overflow */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = sched_initial_due_ms(NOW_MS, cases[i].last_at, cases[i].next_at,
                                           cases[i].interval_s, cases[i].r);
        if (got != NOW_MS + cases[i].want_ms)
            fail_msg("case %zu: due %+lld ms, want %+lld", i, (long long)(got - NOW_MS),
                     (long long)cases[i].want_ms);
    }
    /* A hostile next poll far ahead saturates rather than overflowing. */
    assert_true(sched_initial_due_ms(NOW_MS, now_at, INT64_MAX, 60, 0) == INT64_MAX);
}

/*
 * N feeds overdue at a restart, with the daemon's generator: all due within the window, and
 * spread over it (every second of it gets some, none gets a crowd).
 */
static void
spread_overdue(unsigned n, uint64_t interval_s, int64_t window_ms)
{
    struct util_rng g;
    util_rng_init(&g, 20261206);
    unsigned per_s[30] = {0};
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (unsigned i = 0; i < n; i++) {
        int64_t due = sched_initial_due_ms(NOW_MS, NOW_MS / 1000 - 86400, NOW_MS / 1000 - 3600,
                                           interval_s, util_rng_next(&g));
        assert_true(due >= NOW_MS && due < NOW_MS + window_ms);
        per_s[(due - NOW_MS) / 1000]++;
        lo = due < lo ? due : lo;
        hi = due > hi ? due : hi;
    }
    unsigned seconds = (unsigned)(window_ms / 1000);
    for (unsigned s = 0; s < seconds; s++)
        if (per_s[s] == 0 || per_s[s] > 2 * n / seconds)
            fail_msg("%u feeds over %lld ms: %u due in second %u", n, (long long)window_ms,
                     per_s[s], s);
    assert_true(lo < NOW_MS + window_ms / 20 && hi >= NOW_MS + window_ms * 19 / 20);
}

static void
test_scheduler_restart_spreads_overdue_feeds(void **state)
{
    (void)state;
    spread_overdue(1000, 3600, 30000);  /* hourly feeds: over 30 s */
    spread_overdue(3000, 86400, 30000); /* daily: 30 s still */
    spread_overdue(600, 60, 6000);      /* every minute: over 6 s, a tenth of it */
}

/* Adaptive intervals: the item-rate estimator and the interval it gives, driven by simulated
 * polls at fake times. */
#define MIN_S 300u   /* min_interval = 5m */
#define MAX_S 21600u /* max_interval = 6h */
#define START_S 900u /* interval = 15m */

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
        uint64_t fresh =
            period_s ? (uint64_t)(next / (int64_t)period_s - t / (int64_t)period_s) : 0;
        rate = sched_rate_update(rate, prior, next - t, fresh);
        t = next;
        interval = sched_adaptive_interval(rate, start_s, MIN_S, MAX_S);
        assert_true(interval >= MIN_S && interval <= MAX_S);
    }
    return interval;
}

static void
test_scheduler_adaptive_ten_minute_feed_settles_near_ten_minutes(void **state)
{
    (void)state;
    uint64_t interval = simulate(600, START_S, 3 * 86400);
    assert_true(interval >= 540 && interval <= 660);
}

static void
test_scheduler_adaptive_hourly_feed_is_not_polled_every_few_minutes(void **state)
{
    (void)state;
    uint64_t interval = simulate(3600, START_S, 4 * 86400);
    assert_true(interval >= 3300 && interval <= 3900);
}

static void
test_scheduler_adaptive_busy_feed_stays_at_min_interval(void **state)
{
    (void)state;
    /* Every 2 minutes, configured at 1 hour: not left for an hour. */
    assert_int_equal(simulate(120, 3600, 2 * 86400), MIN_S);
}

static void
test_scheduler_adaptive_silent_feed_goes_to_max_interval(void **state)
{
    (void)state;
    assert_int_equal(simulate(0, START_S, 5 * 86400), MAX_S);
}

static void
test_scheduler_adaptive_interval_below_min_is_used_as_given(void **state)
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
test_scheduler_adaptive_quick_polls_are_little_evidence(void **state)
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

static void
test_scheduler_mem_admit_table(void **state)
{
    (void)state;
    /*
     * Only the bytes of polls past their download (settling) hold a due feed back: what the
     * downloads hold, paused ones included, does not (a body pauses at its first byte), so a
     * poll that a 304 would end is not kept waiting behind a slow download (issue 14).
     */
    static const struct {
        uint64_t settling, budget;
        bool admit;
    } t[] = {
        {0, 1000, true}, /* downloads hold 5000 of a budget of 1000, three paused */
        {999, 1000, true},         {1000, 1000, false}, {5000, 1000, false},
        {UINT64_MAX, 1000, false}, {0, 0, false},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_int_equal(sched_mem_admit(t[i].settling, t[i].budget), t[i].admit);
}

static void
test_scheduler_mem_grow_table(void **state)
{
    (void)state;
    static const struct {
        uint64_t used, settling, more, budget;
        bool oldest, older_paused, grow;
    } t[] = {
        /* Room in the budget, nobody older waiting. */
        {0, 0, 100, 1000, false, false, true},
        {900, 0, 100, 1000, false, false, true},
        {901, 0, 100, 1000, false, false, false},
        {900, 500, 100, 1000, true, false, true},
        /* An older transfer waits paused: it comes first (FIFO). */
        {0, 0, 100, 1000, false, true, false},
        /* Over the budget: only the oldest, and only when nothing else will free memory. */
        {5000, 0, 100, 1000, true, false, true},
        {5000, 10, 100, 1000, true, false, false},
        {5000, 0, 100, 1000, false, false, false},
        /* No overflow on hostile sizes. */
        {10, 0, UINT64_MAX, 1000, false, false, false},
        {UINT64_MAX, 0, 1, 1000, false, false, false},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_int_equal(sched_mem_grow(t[i].used, t[i].settling, t[i].more, t[i].budget,
                                        t[i].oldest, t[i].older_paused),
                         t[i].grow);
    /* While downloading a document counts twice (its text is yet to come), plus the base. */
    assert_int_equal(sched_mem_fetch_charge(0), SCHED_MEM_POLL_BASE);
    assert_int_equal(sched_mem_fetch_charge(1000), SCHED_MEM_POLL_BASE + 2000);
}

/*
 * A cycle of polls driven by the policy alone, as feedpoll.c drives it: due feeds start while
 * a slot is free and sched_mem_admit says so (one always, when none is in flight), each
 * downloading poll takes a chunk when sched_mem_grow lets it (else it is paused), a
 * downloaded poll (or one without a body: a 304) holds its charge for a while (content stage,
 * writer) and then frees it. Whatever the budget and the sizes, every poll completes (no stall
 * with every transfer paused), they start in the order they were due, and the bytes held never
 * exceed the budget by more than one poll's charge and the base of each slot.
 */
#define SIM_POLLS 40
#define SIM_SLOTS 8
static void
sim_cycle(uint64_t budget, const uint64_t *doc, unsigned settle_steps)
{
    struct {
        uint64_t got, charge;
        unsigned settle;
        bool started, downloading, done, paused;
    } p[SIM_POLLS] = {{0}};
    const uint64_t chunk = SCHED_MEM_CHUNK;
    size_t next = 0, done = 0;
    uint64_t used = 0, max_charge = 0, peak = 0;
    for (size_t i = 0; i < SIM_POLLS; i++)
        if (sched_mem_fetch_charge(doc[i]) > max_charge)
            max_charge = sched_mem_fetch_charge(doc[i]);
    for (unsigned step = 0; done < SIM_POLLS; step++) {
        assert_true(step < 1000000); /* a stall would loop here */
        unsigned active = 0;
        uint64_t fetching = 0;
        for (size_t i = 0; i < next; i++) {
            active += !p[i].done;
            if (p[i].downloading)
                fetching += p[i].charge;
        }
        /* Admission, in the order the feeds were due. */
        while (next < SIM_POLLS &&
               (active == 0 || (active < SIM_SLOTS && sched_mem_admit(used - fetching, budget)))) {
            p[next].started = true;
            p[next].downloading = doc[next] > 0; /* none: a 304 */
            p[next].charge = sched_mem_fetch_charge(0);
            p[next].settle = settle_steps;
            used += p[next].charge;
            fetching += p[next].downloading ? p[next].charge : 0;
            next++;
            active++;
        }
        bool oldest = true, older_paused = false, progress = false;
        for (size_t i = 0; i < next; i++) {
            if (p[i].done)
                continue;
            if (!p[i].downloading) {
                progress = true;
                if (p[i].settle-- == 0) {
                    used -= p[i].charge;
                    p[i].done = true;
                    done++;
                }
                continue;
            }
            uint64_t n = doc[i] - p[i].got < chunk ? doc[i] - p[i].got : chunk;
            uint64_t more = sched_mem_fetch_charge(n) - SCHED_MEM_POLL_BASE;
            if (sched_mem_grow(used, used - fetching, more, budget, oldest, older_paused)) {
                progress = true;
                p[i].paused = false;
                p[i].got += n;
                uint64_t c = sched_mem_fetch_charge(p[i].got);
                used += c - p[i].charge;
                fetching += c - p[i].charge;
                p[i].charge = c;
                if (p[i].got == doc[i]) {
                    p[i].downloading = false;
                    fetching -= p[i].charge;
                    p[i].settle = settle_steps;
                }
            } else {
                p[i].paused = true;
            }
            if (p[i].paused)
                older_paused = true;
            oldest = false;
        }
        if (used > peak)
            peak = used;
        assert_true(progress || done == SIM_POLLS);
    }
    assert_int_equal(used, 0);
    assert_true(peak <= budget + max_charge + SIM_SLOTS * SCHED_MEM_POLL_BASE);
}

static void
test_scheduler_mem_cycle_completes_within_budget(void **state)
{
    (void)state;
    uint64_t big[SIM_POLLS], mixed[SIM_POLLS];
    for (size_t i = 0; i < SIM_POLLS; i++) {
        big[i] = 8u << 20;
        mixed[i] = i % 5 == 0 ? (8u << 20) : i % 7 == 0 ? 0 : (i % 3) * 100000 + 1;
    }
    static const uint64_t budgets[] = {1u << 20, 16u << 20, 128u << 20, 1u << 30};
    for (size_t b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
        for (unsigned settle = 0; settle < 200; settle += 50) {
            sim_cycle(budgets[b], big, settle);
            sim_cycle(budgets[b], mixed, settle);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheduler_fires_in_order),
        cmocka_unit_test(test_scheduler_random_heap),
        cmocka_unit_test(test_scheduler_jitter_table),
        cmocka_unit_test(test_scheduler_interval_table),
        cmocka_unit_test(test_scheduler_backoff_table),
        cmocka_unit_test(test_scheduler_next_ms),
        cmocka_unit_test(test_scheduler_plan_next_table),
        cmocka_unit_test(test_scheduler_plan_next_rounds_up),
        cmocka_unit_test(test_scheduler_failures_table),
        cmocka_unit_test(test_scheduler_feed_disabled_after_its_errors),
        cmocka_unit_test(test_scheduler_initial_due_table),
        cmocka_unit_test(test_scheduler_restart_spreads_overdue_feeds),
        cmocka_unit_test(test_scheduler_adaptive_ten_minute_feed_settles_near_ten_minutes),
        cmocka_unit_test(test_scheduler_adaptive_hourly_feed_is_not_polled_every_few_minutes),
        cmocka_unit_test(test_scheduler_adaptive_busy_feed_stays_at_min_interval),
        cmocka_unit_test(test_scheduler_adaptive_silent_feed_goes_to_max_interval),
        cmocka_unit_test(test_scheduler_adaptive_interval_below_min_is_used_as_given),
        cmocka_unit_test(test_scheduler_adaptive_quick_polls_are_little_evidence),
        cmocka_unit_test(test_scheduler_mem_admit_table),
        cmocka_unit_test(test_scheduler_mem_grow_table),
        cmocka_unit_test(test_scheduler_mem_cycle_completes_within_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
