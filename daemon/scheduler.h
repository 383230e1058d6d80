/*
 * scheduler.h — when each feed polls next (prefix sched_): a binary min-heap of due times
 * behind one uv_timer_t, and the scheduling policy as pure functions.
 *
 * Heap entries are embedded in their owners (struct sched_entry inside a feed) and never
 * owned by the scheduler. Due times are wall-clock Unix milliseconds (persisted next-poll
 * times are wall-clock too). sched_arm / sched_disarm are O(log n); when the earliest entry is
 * due the scheduler removes it and calls the due callback, which usually re-arms it later.
 * Loop thread.
 *
 * The policy (jitter, adaptive intervals, backoff, hints, the restart spread, when failures
 * disable a feed) reads no clock and draws no random number: the time and a random number
 * are parameters, so any thread may call it and tests drive it with tables.
 */
#ifndef FEEDWATCH_SCHEDULER_H
#define FEEDWATCH_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define SCHED_NOT_QUEUED SIZE_MAX

struct sched_entry {
    int64_t due_wall_ms;
    size_t heap_index; /* SCHED_NOT_QUEUED when not in the heap */
};

struct sched;

typedef void (*sched_due_cb)(void *userdata, struct sched_entry *entry);
/* Wall-clock now in Unix milliseconds; a parameter so tests can drive time. */
typedef int64_t (*sched_clock_cb)(void *userdata);

/* Creates a scheduler on loop; NULL on OOM. */
struct sched *sched_new(uv_loop_t *loop, sched_due_cb due_cb, sched_clock_cb clock_cb,
                        void *userdata);

/* Initialises an entry as not queued. */
void sched_entry_init(struct sched_entry *e);

/* Queues e (or moves it) to fire at due_wall_ms. */
int sched_arm(struct sched *s, struct sched_entry *e, int64_t due_wall_ms);

/* Removes e if it is queued. */
void sched_disarm(struct sched *s, struct sched_entry *e);

static inline bool
sched_entry_armed(const struct sched_entry *e)
{
    return e->heap_index != SCHED_NOT_QUEUED;
}

/* The earliest due time, or INT64_MAX when nothing is queued. */
int64_t sched_next_due(const struct sched *s);

size_t sched_count(const struct sched *s);

/* Stops the timer and starts closing it; frees the scheduler from the close callback. */
void sched_close(struct sched *s);

/*
 * Adaptive intervals (pure functions, no clock). A feed's item rate is a decaying average of
 * new items per hour, weighted by time: a poll elapsed_s after the previous one that found
 * new_items moves the rate towards new_items / elapsed by elapsed / (SCHED_RATE_TAU_S +
 * elapsed), so a poll seconds after the last one changes almost nothing. A rate < 0 means no
 * evidence yet; it starts from prior_rate (the rate that the configured interval implies).
 */
#define SCHED_RATE_TAU_S (6 * 3600)

/* The item rate after one more successful poll; rate itself when elapsed_s <= 0. */
double sched_rate_update(double rate, double prior_rate, int64_t elapsed_s, uint64_t new_items);

/*
 * The poll interval for an item rate: about one new item per poll, 3600 / rate seconds,
 * within [min_s, max_s]; start_s (the configured interval) when rate < 0, and start_s as
 * given when it is below min_s (the user asked for it).
 */
uint64_t sched_adaptive_interval(double rate, uint64_t start_s, uint64_t min_s, uint64_t max_s);

/*
 * The policy. Times: *_ms wall-clock Unix milliseconds, *_at Unix seconds. r is a uniform
 * random 64-bit number (util_rng_next): a jitter or spread picks r modulo its width.
 */
#define SCHED_TIME_NONE INT64_MIN               /* no such time (the value of FEED_TIME_NONE) */
#define SCHED_MIN_DELAY_MS 1000                 /* no poll is planned sooner after another */
#define SCHED_RETRY_AFTER_MAX_S (7 * 24 * 3600) /* a longer Retry-After is cut to this */
#define SCHED_RESTART_SPREAD_MAX_MS 30000       /* overdue feeds at start: spread at most this */

/* The intervals that bound a feed's polls: its own, and the daemon's adaptive range. */
struct sched_intervals {
    uint64_t interval_s;     /* the feed's interval (configured, or given to `add`) */
    uint64_t min_interval_s; /* the daemon's min_interval */
    uint64_t max_interval_s; /* the daemon's max_interval */
};

/* base_ms ± 10 % (r picks where), never below SCHED_MIN_DELAY_MS. */
int64_t sched_jitter_ms(int64_t base_ms, uint64_t r);

/* The interval the feed's item rate asks for (sched_adaptive_interval within iv). */
uint64_t sched_interval_s(const struct sched_intervals *iv, double item_rate);

/* The longest a feed waits, for a backoff or a hint: max(max_interval, interval). */
uint64_t sched_cap_s(const struct sched_intervals *iv);

/*
 * The delay after a failed poll, failures (>= 1) counting it: the feed's interval doubled
 * for each failure after the first, up to sched_cap_s. Not adaptive: a failing feed's items
 * say nothing of its rate.
 */
uint64_t sched_backoff_s(const struct sched_intervals *iv, unsigned failures);

/*
 * The next poll after one that ended at now_ms, with jitter: the adaptive interval after a
 * good poll, the backoff after a failed one (failures: the feed's count, this one included).
 */
int64_t sched_next_ms(const struct sched_intervals *iv, double item_rate, unsigned failures,
                      bool failed, int64_t now_ms, uint64_t r);

/* What a finished poll tells the schedule (filled by the poll; next_ms set by the plan). */
struct sched_poll {
    bool failed;
    bool disabled;          /* disabled by this poll (sched_disable_after) */
    bool prev_ok;           /* the previous poll succeeded: elapsed time is evidence */
    int64_t prev_poll_at;   /* when the previous poll ended, SCHED_TIME_NONE if never */
    int64_t now_ms;         /* when this one ended */
    int64_t retry_after_at; /* a Retry-After to honour (429/503), 0 when none */
    int64_t fresh_until_at; /* Cache-Control/Expires, <ttl>/sy:updatePeriod when respected;
                               0 when none */
    int64_t next_ms;        /* out: the next poll, 0 when none (disabled) */
};

/*
 * Plans the next poll after pn: updates *item_rate from the fresh (new) items of a good poll
 * that followed a good poll, sets pn->next_ms (sched_next_ms, then the freshness hint as a
 * lower bound cut to sched_cap_s, then Retry-After as a lower bound cut to
 * SCHED_RETRY_AFTER_MAX_S) and returns it in Unix seconds rounded up, as the feed's row
 * keeps it; a disabled feed has no next poll (pn->next_ms 0, SCHED_TIME_NONE).
 */
int64_t sched_plan_next(const struct sched_intervals *iv, struct sched_poll *pn, unsigned failures,
                        uint64_t fresh, double *item_rate, uint64_t r);

/* The consecutive failures after one more failed poll (its HTTP status, 0 when none): a
 * 404 counts double, a feed that is not there is rarely back tomorrow. Saturates. */
unsigned sched_failures_after(unsigned failures, long http_status);

enum sched_disable {
    SCHED_KEEP,             /* polled again (after its backoff) */
    SCHED_DISABLE_GONE,     /* HTTP 410 Gone: disabled at once */
    SCHED_DISABLE_FAILURES, /* max_failures consecutive failures reached */
};

/* Whether a failed poll (its HTTP status, 0 when none) disables its feed, now at failures
 * consecutive failures; max_failures 0 never disables. */
enum sched_disable sched_disable_after(unsigned failures, unsigned max_failures, long http_status);

/*
 * When a feed is due at start (or when it is scheduled again from its row): now when never
 * polled; its persisted next poll when that is ahead; when overdue, now plus a spread picked
 * by r over a tenth of its interval, at most SCHED_RESTART_SPREAD_MAX_MS, so a restart does
 * not poll every overdue feed in one instant.
 */
int64_t sched_initial_due_ms(int64_t now_ms, int64_t last_poll_at, int64_t next_poll_at,
                             uint64_t interval_s, uint64_t r);

/*
 * The poll memory budget (max_poll_memory) as pure decisions. used is what the polls in
 * flight hold now, all feeds together, as they account it (feedpoll.c): the document read so
 * far, and then the new items' text. The budget holds back bodies, not requests: a due feed
 * starts its poll when a slot is free (its request, headers, a 304 and redirects take no body
 * memory), and a poll whose transfer may not grow pauses it (it is not failed, and the time
 * paused does not count towards fetch_timeout, fetch.h), so the paused ones, oldest first, get
 * the memory that is released before any younger poll. Polls past their download (content
 * stage, article pages, the writer) release what they hold by themselves; due feeds wait in
 * the ready queue (FIFO) only while those fill the budget on their own. When none holds
 * anything (settling 0), the oldest downloading poll goes on whatever the budget says, so the
 * daemon cannot stall with every transfer paused and the budget is exceeded by one document at
 * most (which still obeys max_feed_size), plus SCHED_MEM_POLL_BASE for each poll slot.
 */
#define SCHED_MEM_POLL_BASE (64u * 1024) /* a poll's own buffers: curl's, the parser's state */
#define SCHED_MEM_CHUNK (16u * 1024)     /* what a resumed transfer takes first: a read of curl */

/*
 * Whether a due feed may start its poll now (a slot being free): unless the polls past their
 * download (settling: the bytes those hold) fill the budget by themselves. Memory held
 * by downloads, paused ones included, does not hold a poll back: its body pauses at the first
 * byte while the budget is full (sched_mem_grow).
 */
bool sched_mem_admit(uint64_t settling, uint64_t budget);

/*
 * Whether a downloading poll may take more bytes: when no older one waits paused (FIFO) and
 * used + more stays within budget; or, the oldest, when no poll past its download holds
 * memory (settling: bytes held by those) that would free room by itself.
 */
bool sched_mem_grow(uint64_t used, uint64_t settling, uint64_t more, uint64_t budget, bool oldest,
                    bool older_paused);

/*
 * What a poll that is downloading accounts for parser_bytes held by its parser
 * (feedparse_bytes): its own buffers, the document so far, and as much again for the text the
 * content stage will make of it (the cleaned text of an item is not longer than its HTML).
 */
uint64_t sched_mem_fetch_charge(uint64_t parser_bytes);

#endif
