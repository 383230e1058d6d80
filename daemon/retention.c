/*
 * retention.c — prunes items older than `retention` in small batches through the store's
 * writer (retention.h).
 *
 * One batch at a time is queued in the writer (writer.h, a WRITER_OWN job: the batch is its
 * own transaction); the next is queued when it is done, behind the polls that finished
 * meanwhile, so a poll waits for one short batch at most.
 */
#include "retention.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "conf.h"
#include "dctx.h"
#include "parse/date.h"
#include "log.h"
#include "search.h"
#include "store.h"
#include "util.h"
#include "writer.h"

#define RETENTION_RETRY_MS 100 /* the index has not taken the last batch's words out yet */

/* One pruned item's indexed text, kept until its batch commits (then given to search). */
struct pruned {
    int64_t id;
    char *title;
    char *body;
};

struct retention {
    struct dctx *d;
    uv_timer_t timer; /* the next pass, or a retry of the next batch */
    bool timer_ready;
    bool pass;            /* a pass is under way */
    bool busy;            /* a batch is in the writer */
    int64_t cutoff_at;    /* of the pass: items first seen before it are pruned */
    uint64_t pass_pruned; /* items pruned by the pass so far */
    int64_t pruned_items; /* tallies, as stored */
    int64_t last_prune_at;
    char *last_error; /* why the last batch failed; NULL after a good one */
    /* The batch in the writer. */
    struct writer_job job;
    int64_t max_id;
    int64_t now_at;
    struct pruned *v;
    size_t n, cap;
    unsigned job_pruned;
    unsigned job_events; /* feed events deleted by the batch */
    uint64_t pass_events;
};

static void retention_next(struct retention *r);
static void arm(struct retention *r, uint64_t ms);

/* The period between passes: half the retention, within [1 s, RETENTION_PERIOD_MAX_S]. */
static uint64_t
period_ms(const struct retention *r)
{
    uint64_t s = r->d->conf->daemon.retention_s / 2;
    if (s < 1)
        s = 1;
    if (s > RETENTION_PERIOD_MAX_S)
        s = RETENTION_PERIOD_MAX_S;
    return s * 1000;
}

static void
pruned_clear(struct retention *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].title);
        free(r->v[i].body);
    }
    r->n = 0;
}

/* Writer thread: notes an item of the batch before the store clears it. */
static int
on_pruned(void *userdata, int64_t item_id, const char *title, const char *body)
{
    struct retention *r = userdata;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct pruned *v = realloc(r->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    struct pruned *p = &r->v[r->n];
    p->id = item_id;
    p->title = title ? strdup(title) : NULL;
    p->body = body ? strdup(body) : NULL;
    if ((title && !p->title) || (body && !p->body)) {
        free(p->title);
        free(p->body);
        return -ENOMEM;
    }
    r->n++;
    return 0;
}

/* Writer thread: one batch, one transaction of its own. */
static int
prune_work(struct writer_job *job, struct store *store)
{
    struct retention *r = (struct retention *)((char *)job - offsetof(struct retention, job));
    bool index = r->d->search != NULL;
    int e =
        store_prune_batch(store, r->cutoff_at, r->max_id, RETENTION_BATCH, RETENTION_BATCH_BYTES,
                          r->now_at, index ? on_pruned : NULL, r, &r->job_pruned);
    /* Committed: the index may forget these items now (search_forget locks its queue). */
    for (size_t i = 0; e == 0 && i < r->n; i++)
        if (search_forget(r->d->search, r->v[i].id, r->v[i].title, r->v[i].body) < 0)
            break; /* their words stay behind, pointing at pruned items: only a cost */
    pruned_clear(r);
    /* Feed events done with, as old: a transaction of their own, after the items'. */
    if (e == 0)
        e = store_feed_events_prune(store, r->cutoff_at, RETENTION_BATCH, &r->job_events);
    return e;
}

/* Loop: the batch is committed (or not); the next one goes behind the polls queued since. */
static void
prune_done(struct writer_job *job, int result)
{
    struct retention *r = (struct retention *)((char *)job - offsetof(struct retention, job));
    struct dctx *d = r->d;
    r->busy = false;
    if (result < 0) {
        if (!r->last_error || strcmp(r->last_error, job->error) != 0)
            log_error("retention: cannot prune: %s, will retry in %" PRIu64 "s", job->error,
                      period_ms(r) / 1000);
        free(r->last_error);
        r->last_error = strdup(job->error);
        r->pass = false;
        return;
    }
    if (r->last_error)
        log_notice("retention: pruning works again");
    free(r->last_error);
    r->last_error = NULL;
    if (r->job_pruned > 0) {
        r->pruned_items += r->job_pruned;
        r->last_prune_at = r->now_at;
        r->pass_pruned += r->job_pruned;
        search_kick(d->search);
        log_debug("retention: %u items pruned in one transaction", r->job_pruned);
    }
    r->pass_events += r->job_events;
    if (r->job_pruned < RETENTION_BATCH && r->job_events < RETENTION_BATCH) {
        r->pass = false;
        if (r->pass_pruned > 0)
            log_info("retention: pruned %" PRIu64 " items first seen before %" PRId64,
                     r->pass_pruned, r->cutoff_at);
        if (r->pass_events > 0)
            log_info("retention: deleted %" PRIu64 " feed events raised before %" PRId64
                     " and done with",
                     r->pass_events, r->cutoff_at);
        return;
    }
    retention_next(r);
}

/* Queues the next batch of the pass in the writer. */
static void
retention_next(struct retention *r)
{
    struct dctx *d = r->d;
    if (!r->pass || r->busy || d->stopping)
        return;
    if (search_forget_pending(d->search) > 0) {
        /* The index has not forgotten the last batch yet: its words would pile up. */
        arm(r, RETENTION_RETRY_MS);
        return;
    }
    r->max_id = d->search ? search_hwm(d->search) : INT64_MAX;
    r->now_at = util_now();
    r->job_pruned = 0;
    r->job_events = 0;
    r->job = (struct writer_job){.work = prune_work, .done = prune_done, .mode = WRITER_OWN};
    int e = writer_submit(d->writer, &r->job);
    if (e == -EAGAIN) {
        arm(r, RETENTION_RETRY_MS); /* the writer's queue is full: later */
        return;
    }
    if (e < 0) {
        r->pass = false;
        return;
    }
    r->busy = true;
}

/* The timer: a retry of a waiting batch, or the next pass. */
static void
on_timer(uv_timer_t *t)
{
    struct retention *r = t->data;
    if (r->pass) {
        retention_next(r);
        return;
    }
    r->pass = true;
    r->pass_pruned = 0;
    r->pass_events = 0;
    r->cutoff_at = util_now() - (int64_t)r->d->conf->daemon.retention_s;
    arm(r, period_ms(r)); /* the next pass; a retry re-arms it sooner meanwhile */
    retention_next(r);
}

/* (Re)arms the timer in ms; after a retry the pass's period is armed again by its end. */
static void
arm(struct retention *r, uint64_t ms)
{
    if (!r->timer_ready || uv_is_closing((uv_handle_t *)&r->timer))
        return;
    (void)uv_timer_start(&r->timer, on_timer, ms, period_ms(r));
}

/* Starts pruning for d. */
int
retention_new(struct dctx *d, struct retention **ret)
{
    struct retention *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->d = d;
    r->last_prune_at = FEED_TIME_NONE;
    int e = store_retention_get(d->store, &r->pruned_items, &r->last_prune_at);
    if (e < 0) {
        free(r);
        return e;
    }
    e = uv_timer_init(&d->loop, &r->timer);
    if (e < 0) {
        free(r);
        return e;
    }
    r->timer.data = r;
    r->timer_ready = true;
    arm(r, 0); /* a pass at start */
    *ret = r;
    return 0;
}

json_t *
retention_json(const struct retention *r)
{
    if (!r)
        return json_object();
    json_t *last = json_null();
    if (r->last_prune_at != FEED_TIME_NONE) {
        char buf[DATE_RFC3339_LEN];
        date_format(r->last_prune_at, buf);
        last = json_string(buf);
    }
    return json_pack("{s:I, s:I, s:o, s:b, s:o}", "retention_s",
                     (json_int_t)r->d->conf->daemon.retention_s, "pruned_items",
                     (json_int_t)r->pruned_items, "last_prune", last, "pruning", r->pass,
                     "prune_error", r->last_error ? json_string(r->last_error) : json_null());
}

/* Frees r after the loop has ended; accepts NULL. */
void
retention_free(struct retention *r)
{
    if (!r)
        return;
    pruned_clear(r);
    free(r->v);
    free(r->last_error);
    free(r);
}
