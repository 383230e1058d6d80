#include "scheduler.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

/* Fire at most this many entries per timer callback, so a cold start never stalls the loop. */
#define SCHED_FIRE_BATCH 512

struct sched {
    uv_timer_t timer;
    struct sched_entry **heap;
    size_t n;
    size_t cap;
    sched_due_cb due_cb;
    sched_clock_cb clock_cb;
    void *userdata;
    int64_t armed_for; /* due time the uv timer is set for, INT64_MAX when stopped */
};

static void rearm(struct sched *s);

static void
heap_set(struct sched *s, size_t i, struct sched_entry *e)
{
    s->heap[i] = e;
    e->heap_index = i;
}

static void
sift_up(struct sched *s, size_t i)
{
    struct sched_entry *e = s->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (s->heap[parent]->due_wall_ms <= e->due_wall_ms)
            break;
        heap_set(s, i, s->heap[parent]);
        i = parent;
    }
    heap_set(s, i, e);
}

static void
sift_down(struct sched *s, size_t i)
{
    struct sched_entry *e = s->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        int64_t best = e->due_wall_ms;
        if (l < s->n && s->heap[l]->due_wall_ms < best) {
            m = l;
            best = s->heap[l]->due_wall_ms;
        }
        if (r < s->n && s->heap[r]->due_wall_ms < best)
            m = r;
        if (m == i)
            break;
        heap_set(s, i, s->heap[m]);
        i = m;
    }
    heap_set(s, i, e);
}

/* Removes the entry at index i. */
static void
heap_remove(struct sched *s, size_t i)
{
    struct sched_entry *e = s->heap[i];
    s->n--;
    if (i != s->n) {
        struct sched_entry *moved = s->heap[s->n];
        heap_set(s, i, moved);
        sift_down(s, i);
        sift_up(s, moved->heap_index);
    }
    e->heap_index = SCHED_NOT_QUEUED;
}

/* libuv: the earliest entry may be due; fire what is due and re-arm. */
static void
on_sched_timer(uv_timer_t *t)
{
    struct sched *s = t->data;
    s->armed_for = INT64_MAX;
    int64_t now = s->clock_cb(s->userdata);
    for (unsigned fired = 0; s->n > 0 && fired < SCHED_FIRE_BATCH; fired++) {
        struct sched_entry *e = s->heap[0];
        if (e->due_wall_ms > now)
            break;
        heap_remove(s, 0);
        s->due_cb(s->userdata, e);
    }
    rearm(s);
}

/* Points the uv timer at the earliest entry. */
static void
rearm(struct sched *s)
{
    if (s->n == 0) {
        (void)uv_timer_stop(&s->timer);
        s->armed_for = INT64_MAX;
        return;
    }
    int64_t due = s->heap[0]->due_wall_ms;
    if (due == s->armed_for)
        return;
    int64_t now = s->clock_cb(s->userdata);
    uint64_t wait = due > now ? (uint64_t)(due - now) : 0;
    s->armed_for = due;
    (void)uv_timer_start(&s->timer, on_sched_timer, wait, 0);
}

/* Creates a scheduler on loop; NULL on OOM. */
struct sched *
sched_new(uv_loop_t *loop, sched_due_cb due_cb, sched_clock_cb clock_cb, void *userdata)
{
    struct sched *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (uv_timer_init(loop, &s->timer) < 0) {
        free(s);
        return NULL;
    }
    s->timer.data = s;
    s->due_cb = due_cb;
    s->clock_cb = clock_cb;
    s->userdata = userdata;
    s->armed_for = INT64_MAX;
    return s;
}

/* Initialises an entry as not queued. */
void
sched_entry_init(struct sched_entry *e)
{
    e->due_wall_ms = INT64_MAX;
    e->heap_index = SCHED_NOT_QUEUED;
}

/* Queues e (or moves it) to fire at due_wall_ms. */
int
sched_arm(struct sched *s, struct sched_entry *e, int64_t due_wall_ms)
{
    if (e->heap_index != SCHED_NOT_QUEUED) {
        int64_t old = e->due_wall_ms;
        e->due_wall_ms = due_wall_ms;
        if (due_wall_ms < old)
            sift_up(s, e->heap_index);
        else
            sift_down(s, e->heap_index);
    } else {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 64;
            struct sched_entry **h = realloc(s->heap, cap * sizeof(*h));
            if (!h)
                return -ENOMEM;
            s->heap = h;
            s->cap = cap;
        }
        e->due_wall_ms = due_wall_ms;
        heap_set(s, s->n++, e);
        sift_up(s, s->n - 1);
    }
    rearm(s);
    return 0;
}

/* Removes e if it is queued. */
void
sched_disarm(struct sched *s, struct sched_entry *e)
{
    if (e->heap_index == SCHED_NOT_QUEUED)
        return;
    assert(e->heap_index < s->n && s->heap[e->heap_index] == e);
    heap_remove(s, e->heap_index);
    rearm(s);
}

/* The earliest due time, or INT64_MAX when nothing is queued. */
int64_t
sched_next_due(const struct sched *s)
{
    return s->n ? s->heap[0]->due_wall_ms : INT64_MAX;
}

/* Number of queued entries. */
size_t
sched_count(const struct sched *s)
{
    return s->n;
}

static void
on_sched_closed(uv_handle_t *h)
{
    struct sched *s = h->data;
    free(s->heap);
    free(s);
}

/* Stops the timer and starts closing it; frees the scheduler from the close callback. */
void
sched_close(struct sched *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        s->heap[i]->heap_index = SCHED_NOT_QUEUED;
    s->n = 0;
    (void)uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_sched_closed);
}

/* The item rate after one more successful poll; rate itself when elapsed_s <= 0. */
double
sched_rate_update(double rate, double prior_rate, int64_t elapsed_s, uint64_t new_items)
{
    if (!(rate >= 0.0))
        rate = prior_rate >= 0.0 ? prior_rate : 0.0;
    if (elapsed_s <= 0)
        return rate;
    double dt = (double)elapsed_s;
    double w = (double)SCHED_RATE_TAU_S / ((double)SCHED_RATE_TAU_S + dt);
    double observed = (double)new_items * 3600.0 / dt;
    double next = w * rate + (1.0 - w) * observed;
    /* Bounded so that a hostile feed cannot push it to infinity (or below zero). */
    if (!(next >= 0.0))
        next = 0.0;
    if (next > 1e6)
        next = 1e6;
    return next;
}

/* The poll interval for an item rate, within [min_s, max_s] (see scheduler.h). */
uint64_t
sched_adaptive_interval(double rate, uint64_t start_s, uint64_t min_s, uint64_t max_s)
{
    if (start_s < min_s || !(rate >= 0.0) || max_s == 0)
        return start_s;
    if (max_s < min_s)
        max_s = min_s;
    if (rate <= 3600.0 / (double)max_s)
        return max_s;
    double interval = 3600.0 / rate;
    if (interval <= (double)min_s)
        return min_s;
    return (uint64_t)(interval + 0.5);
}

/* at (Unix seconds) in ms, saturating: a hostile header or row cannot overflow. */
static int64_t
ms_of_at(int64_t at)
{
    if (at > INT64_MAX / 1000)
        return INT64_MAX;
    if (at < INT64_MIN / 1000)
        return INT64_MIN;
    return at * 1000;
}

/* base ± 10%, never below 1 s. */
int64_t
sched_jitter_ms(int64_t base_ms, uint64_t r)
{
    int64_t spread = base_ms / 10;
    if (spread > 0)
        base_ms += (int64_t)(r % (uint64_t)(2 * spread + 1)) - spread;
    return base_ms < SCHED_MIN_DELAY_MS ? SCHED_MIN_DELAY_MS : base_ms;
}

/* The interval the feed's item rate asks for, within [min_interval, max_interval]. */
uint64_t
sched_interval_s(const struct sched_intervals *iv, double item_rate)
{
    return sched_adaptive_interval(item_rate, iv->interval_s, iv->min_interval_s,
                                   iv->max_interval_s);
}

/* max(max_interval, interval). */
uint64_t
sched_cap_s(const struct sched_intervals *iv)
{
    return iv->max_interval_s > iv->interval_s ? iv->max_interval_s : iv->interval_s;
}

/* Exponential backoff from the interval, capped at max(max_interval, interval). */
uint64_t
sched_backoff_s(const struct sched_intervals *iv, unsigned failures)
{
    uint64_t cap = sched_cap_s(iv);
    uint64_t delay = iv->interval_s;
    for (unsigned i = 1; i < failures && delay < cap; i++)
        delay *= 2;
    return delay > cap ? cap : delay;
}

/* The next poll time after a poll, in wall-clock ms: interval with jitter, or backoff. */
int64_t
sched_next_ms(const struct sched_intervals *iv, double item_rate, unsigned failures, bool failed,
              int64_t now_ms, uint64_t r)
{
    uint64_t delay = failed ? sched_backoff_s(iv, failures) : sched_interval_s(iv, item_rate);
    return now_ms + sched_jitter_ms((int64_t)delay * 1000, r);
}

/* The item rate, then the next poll: interval or backoff, then the hints as lower bounds. */
int64_t
sched_plan_next(const struct sched_intervals *iv, struct sched_poll *pn, unsigned failures,
                uint64_t fresh, double *item_rate, uint64_t r)
{
    if (pn->disabled) {
        pn->next_ms = 0;
        return SCHED_TIME_NONE;
    }
    if (!pn->failed && pn->prev_ok && pn->prev_poll_at != SCHED_TIME_NONE) {
        double prior = iv->interval_s ? 3600.0 / (double)iv->interval_s : 0.0;
        *item_rate =
            sched_rate_update(*item_rate, prior, pn->now_ms / 1000 - pn->prev_poll_at, fresh);
    }
    int64_t next_ms = sched_next_ms(iv, *item_rate, failures, pn->failed, pn->now_ms, r);
    /* Hints are lower bounds, but never beyond max_interval (or the feed's own interval). */
    int64_t hint_cap_ms = pn->now_ms + (int64_t)sched_cap_s(iv) * 1000;
    if (pn->fresh_until_at > 0) {
        int64_t hint_ms = ms_of_at(pn->fresh_until_at);
        if (hint_ms > hint_cap_ms)
            hint_ms = hint_cap_ms;
        if (hint_ms > next_ms)
            next_ms = hint_ms;
    }
    if (pn->retry_after_at > 0) {
        int64_t ra_ms = ms_of_at(pn->retry_after_at);
        int64_t ra_cap_ms = pn->now_ms + (int64_t)SCHED_RETRY_AFTER_MAX_S * 1000;
        if (ra_ms > ra_cap_ms)
            ra_ms = ra_cap_ms;
        if (ra_ms > next_ms)
            next_ms = ra_ms;
    }
    pn->next_ms = next_ms;
    return (next_ms + 999) / 1000;
}

/* One more failure; a 404 counts double. */
unsigned
sched_failures_after(unsigned failures, long http_status)
{
    unsigned step = http_status == 404 ? 2 : 1;
    return failures > UINT_MAX - step ? UINT_MAX : failures + step;
}

/* A 410 disables at once; else max_failures (0: never) consecutive failures do. */
enum sched_disable
sched_disable_after(unsigned failures, unsigned max_failures, long http_status)
{
    if (http_status == 410)
        return SCHED_DISABLE_GONE;
    if (max_failures > 0 && failures >= max_failures)
        return SCHED_DISABLE_FAILURES;
    return SCHED_KEEP;
}

/* Never polled: now; ahead: as persisted; overdue: now plus up to a tenth of the interval. */
int64_t
sched_initial_due_ms(int64_t now_ms, int64_t last_poll_at, int64_t next_poll_at,
                     uint64_t interval_s, uint64_t r)
{
    if (last_poll_at == SCHED_TIME_NONE || next_poll_at == SCHED_TIME_NONE)
        return now_ms;
    int64_t next_ms = ms_of_at(next_poll_at);
    if (next_ms > now_ms)
        return next_ms;
    uint64_t spread = interval_s < SCHED_RESTART_SPREAD_MAX_MS / 100 ? interval_s * 100
                                                                     : SCHED_RESTART_SPREAD_MAX_MS;
    return spread > 0 ? now_ms + (int64_t)(r % spread) : now_ms;
}

/* Whether a due feed may start its poll now (scheduler.h). */
bool
sched_mem_admit(uint64_t settling, uint64_t budget)
{
    return settling < budget;
}

/* Whether a downloading poll may take more bytes now (scheduler.h). */
bool
sched_mem_grow(uint64_t used, uint64_t settling, uint64_t more, uint64_t budget, bool oldest,
               bool older_paused)
{
    if (oldest && settling == 0)
        return true;
    if (older_paused || used > budget)
        return false;
    return more <= budget - used;
}

/* What a downloading poll accounts for the bytes its parser holds (scheduler.h). */
uint64_t
sched_mem_fetch_charge(uint64_t parser_bytes)
{
    return SCHED_MEM_POLL_BASE + 2 * parser_bytes;
}
