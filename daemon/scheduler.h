/*
 * scheduler.h — when each feed polls next: a binary min-heap of due times behind one
 * uv_timer_t (prefix sched_).
 *
 * Entries are embedded in their owners (struct sched_entry inside a feed) and never owned by
 * the scheduler. Due times are wall-clock Unix milliseconds (persisted next-poll times are
 * wall-clock too). sched_arm / sched_disarm are O(log n); when the earliest entry is due the
 * scheduler removes it and calls the due callback, which usually re-arms it later. Loop thread.
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

#endif
