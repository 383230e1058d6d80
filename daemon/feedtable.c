/*
 * feedtable.c — the daemon's feeds (feedtable.h): the table sorted by name, the ready queue
 * and the poll slots, what follows each poll, and the run-time changes of `feedwatch add`,
 * `remove`, `pause` and `resume`.
 */
#include "feedtable.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/feedrule.h"
#include "dctx.h"
#include "feedpoll.h"
#include "log.h"
#include "util.h"

static int
feed_cmp(const void *a, const void *b)
{
    const struct dfeed *const *x = a, *const *y = b;
    return strcmp((*x)->cfg->name, (*y)->cfg->name);
}

/* The feed called name, or NULL. */
struct dfeed *
feedtable_find(struct feedtable *t, const char *name)
{
    size_t lo = 0, hi = t->n_feeds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, t->feeds[mid]->cfg->name);
        if (c == 0)
            return t->feeds[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static void on_poll_memory_released(void *ctx);

/* Sets up an empty table on the daemon's services d; polled is told after each poll. */
void
feedtable_init(struct feedtable *t, struct dctx *d, feedtable_polled_cb polled, void *ctx)
{
    *t = (struct feedtable){.d = d, .polled = polled, .polled_ctx = ctx};
    d->poll_memory_released = on_poll_memory_released;
    d->poll_memory_released_ctx = t;
}

/* Makes feeds (n, from feedtable_build) the table, sorted by name; the old array is freed. */
void
feedtable_take(struct feedtable *t, struct dfeed **feeds, size_t n)
{
    free(t->feeds);
    t->feeds = feeds;
    t->n_feeds = n;
    qsort(t->feeds, t->n_feeds, sizeof(*t->feeds), feed_cmp);
}

/* Frees every feed, after the loop has ended (no poll is left). */
void
feedtable_done(struct feedtable *t)
{
    for (size_t i = 0; i < t->n_feeds; i++)
        dfeed_free(t->feeds[i]);
    free(t->feeds);
    t->feeds = NULL;
    t->n_feeds = 0;
    for (size_t i = 0; i < t->n_adding; i++) /* their writes were drained: none is left */
        dfeed_free(t->adding[i]);
    free(t->adding);
    t->adding = NULL;
    t->n_adding = 0;
}

static void poll_end(struct feedtable *t, struct dfeed *f, enum poll_outcome outcome,
                     uint64_t new_items, uint64_t new_alerts);

/*
 * Puts a feed on the schedule from its persisted state: a feed never polled is due now; a
 * feed whose next poll passed while the daemon was down is due soon, spread over up to 30 s
 * (a tenth of its interval at most) so a restart does not poll everything in one instant; a
 * future next poll is kept (sched_initial_due_ms).
 */
void
feedtable_schedule(struct feedtable *t, struct dfeed *f)
{
    struct dctx *d = t->d;
    if (!dfeed_pollable(f) || f->poll || f->ready || d->clustered) {
        sched_disarm(d->sched, &f->sched);
        return;
    }
    int64_t due = sched_initial_due_ms(util_now_ms(), f->st.last_poll_at, f->st.next_poll_at,
                                       f->cfg->interval_s, util_rng_next(&d->rng));
    /*
     * An overdue feed's next poll is now the time it was spread to, not the one on record
     * (minutes or days ago): `feeds` shows it while the feed waits and while it is polled.
     */
    if (f->st.next_poll_at != FEED_TIME_NONE && f->st.next_poll_at < (due + 999) / 1000)
        f->st.next_poll_at = (due + 999) / 1000;
    (void)sched_arm(d->sched, &f->sched, due);
}

/* Inserts f into t->feeds, keeping the array sorted by name. */
static int
feeds_insert(struct feedtable *t, struct dfeed *f)
{
    struct dfeed **nf = realloc(t->feeds, (t->n_feeds + 1) * sizeof(*nf));
    if (!nf)
        return -ENOMEM;
    t->feeds = nf;
    size_t i = t->n_feeds;
    while (i > 0 && strcmp(t->feeds[i - 1]->cfg->name, f->cfg->name) > 0) {
        t->feeds[i] = t->feeds[i - 1];
        i--;
    }
    t->feeds[i] = f;
    t->n_feeds++;
    return 0;
}

/* Takes f out of t->feeds (it stays allocated). */
static void
feeds_unlink(struct feedtable *t, struct dfeed *f)
{
    for (size_t i = 0; i < t->n_feeds; i++) {
        if (t->feeds[i] != f)
            continue;
        memmove(&t->feeds[i], &t->feeds[i + 1], (t->n_feeds - i - 1) * sizeof(*t->feeds));
        t->n_feeds--;
        return;
    }
}

/* Takes f out of the ready queue (it must be in it). */
static void
ready_unlink(struct feedtable *t, struct dfeed *f)
{
    assert(f->ready);
    if (f->ready_prev)
        f->ready_prev->ready_next = f->ready_next;
    else
        t->ready_head = f->ready_next;
    if (f->ready_next)
        f->ready_next->ready_prev = f->ready_prev;
    else
        t->ready_tail = f->ready_prev;
    f->ready_prev = f->ready_next = NULL;
    f->ready = false;
    t->n_ready--;
}

/* Appends f to the ready queue. */
static void
ready_push(struct feedtable *t, struct dfeed *f)
{
    assert(!f->ready);
    f->ready = true;
    f->ready_next = NULL;
    f->ready_prev = t->ready_tail;
    if (t->ready_tail)
        t->ready_tail->ready_next = f;
    else
        t->ready_head = f;
    t->ready_tail = f;
    t->n_ready++;
}

static void start_ready(struct feedtable *t);

/* dctx: poll memory was released (feedpoll.c): due feeds that waited for it may start. */
static void
on_poll_memory_released(void *ctx)
{
    start_ready(ctx);
}

/* A stop: the feeds waiting for a slot leave the queue (they are not polled). */
void
feedtable_stop(struct feedtable *t)
{
    while (t->ready_head)
        ready_unlink(t, t->ready_head);
}

/* Polls in progress at once: the fetcher's connections, and as many again being processed. */
unsigned
feedtable_poll_slots(const struct feedtable *t)
{
    unsigned n = t->d->conf->daemon.max_connections;
    return n < 4 ? 8 : 2 * n;
}

/* Drops f: an in-flight poll is aborted and frees it, else it is freed now. */
void
feedtable_drop(struct feedtable *t, struct dfeed *f)
{
    f->removed = true;
    sched_disarm(t->d->sched, &f->sched);
    if (f->ready) {
        /* It waited for a slot: its waiters hear it was not polled, and it is freed. */
        ready_unlink(t, f);
        poll_end(t, f, POLL_ABORTED, 0, 0);
        return;
    }
    if (f->poll)
        feedpoll_cancel(f->poll);
    else
        dfeed_free(f);
}

static void start_ready(struct feedtable *t);

/* feedpoll: a poll of f has ended (its results are stored by then); its slot frees. */
static void
on_poll_done(void *ctx, struct dfeed *f, enum poll_outcome outcome, uint64_t new_items,
             uint64_t new_alerts)
{
    struct feedtable *t = ctx;
    assert(t->polls_active > 0);
    t->polls_active--;
    poll_end(t, f, outcome, new_items, new_alerts);
    start_ready(t);
}

/* Starts f's poll in a free slot; a poll that cannot start ends as failed at once. */
static int
poll_start(struct feedtable *t, struct dfeed *f)
{
    int64_t now_ms = util_now_ms(), due = f->sched.due_wall_ms;
    f->poll_lag_ms = due != INT64_MAX && due <= now_ms ? now_ms - due : -1;
    f->poll_bytes = 0;
    t->polls_active++;
    int r = feedpoll_start(t->d, f, on_poll_done, t);
    if (r < 0) {
        char q[LOG_QUOTE_MAX];
        log_error("poll: feed '%s': cannot start: %s", log_quote(f->cfg->name, q, sizeof(q)),
                  strerror(-r));
        on_poll_done(t, f, POLL_FAILED, 0, 0);
        return r;
    }
    return 0;
}

/*
 * Whether one more poll may start: a slot is free and the polls past their download do not
 * fill the poll memory by themselves (sched_mem_admit: a download that finds the budget full
 * pauses at its first body byte; no poll at all in flight: one always starts).
 */
static bool
poll_can_start(const struct feedtable *t)
{
    const struct dctx *d = t->d;
    if (t->polls_active >= feedtable_poll_slots(t))
        return false;
    return t->polls_active == 0 || sched_mem_admit(d->poll_memory - d->poll_memory_fetching,
                                                   d->conf->daemon.max_poll_memory);
}

/*
 * Starts waiting feeds while slots and memory are free. A feed paused, disabled or stopped
 * while it waited is not polled: its waiters hear so, and it is scheduled as its state says.
 */
static void
start_ready(struct feedtable *t)
{
    if (t->starting_ready)
        return; /* the outer call goes on */
    t->starting_ready = true;
    while (t->ready_head && poll_can_start(t) && !t->d->stopping) {
        struct dfeed *f = t->ready_head;
        ready_unlink(t, f);
        if (dfeed_pollable(f))
            (void)poll_start(t, f);
        else
            poll_end(t, f, POLL_ABORTED, 0, 0);
    }
    t->starting_ready = false;
}

/* Polls f now, or queues it; cb(ctx), if given, is told once when it is done. */
int
feedtable_poll_now(struct feedtable *t, struct dfeed *f, dfeed_poll_done_cb cb, void *ctx)
{
    struct dctx *d = t->d;
    int r = d->stopping ? -ECANCELED : 0;
    /* Not leased (a cluster): the gate claims it first, and polls it with the waiter. */
    if (r == 0 && t->gate && f->st.lease_epoch == 0 && !f->poll && !f->ready)
        return t->gate(t->gate_ctx, f, cb, ctx);
    if (r == 0 && cb) {
        struct dfeed_waiter *nw = realloc(f->waiters, (f->n_waiters + 1) * sizeof(*nw));
        if (nw) {
            f->waiters = nw;
            f->waiters[f->n_waiters++] = (struct dfeed_waiter){.cb = cb, .ctx = ctx};
        } else {
            r = -ENOMEM;
        }
    }
    if (r < 0) {
        if (cb)
            cb(ctx, POLL_ABORTED, 0, 0);
        return r;
    }
    if (f->poll || f->ready)
        return 0;
    sched_disarm(d->sched, &f->sched);
    if (t->ready_head || !poll_can_start(t)) {
        /* Behind the feeds already waiting (FIFO), or until a slot or poll memory frees. */
        ready_push(t, f);
        start_ready(t);
        return 0;
    }
    return poll_start(t, f);
}

static void feed_after_poll(struct feedtable *t, struct dfeed *f, enum poll_outcome outcome);

/* What follows a poll of f (or a wait that ended without one): waiters, --once, schedule. */
static void
poll_end(struct feedtable *t, struct dfeed *f, enum poll_outcome outcome, uint64_t new_items,
         uint64_t new_alerts)
{
    /* The daemon's tallies first: items, metrics, --once (which may begin a stop). */
    t->polled(t->polled_ctx, f, outcome, new_items, new_alerts);
    /*
     * Taken now, told last: a waiter's answer may run the client's next request at once
     * (control.c), which may poll f again or remove it, so f is settled first and not
     * touched after.
     */
    struct dfeed_waiter *waiters = f->waiters;
    size_t n_waiters = f->n_waiters;
    f->waiters = NULL;
    f->n_waiters = 0;
    feed_after_poll(t, f, outcome);
    for (size_t i = 0; i < n_waiters; i++)
        waiters[i].cb(waiters[i].ctx, outcome, new_items, new_alerts);
    free(waiters);
}

/* f's next schedule after a poll (f is freed if it was removed). */
static void
feed_after_poll(struct feedtable *t, struct dfeed *f, enum poll_outcome outcome)
{
    struct dctx *d = t->d;
    if (f->removed) {
        dfeed_free(f);
        return;
    }
    f->st.lease_epoch = 0; /* saved, or not: the lease ends either way */
    if (d->stopping || d->once || d->clustered)
        return;
    if (outcome == POLL_ABORTED) {
        /* Cancelled by a reload (a new URL) or not started: due again as its state says. */
        feedtable_schedule(t, f);
        return;
    }
    if (dfeed_pollable(f) && f->st.next_poll_at != FEED_TIME_NONE)
        /* To the ms: the row's whole seconds would round a 1 s backoff up to 2 s. */
        (void)sched_arm(d->sched, &f->sched,
                        f->next_poll_ms > 0 ? f->next_poll_ms : f->st.next_poll_at * 1000);
}

/* Turns the config's feeds into run-time feeds; used at start and, diffed, at reload. */
int
feedtable_build(struct feedtable *t, const struct conf *conf, struct dfeed_rows *rows,
                struct dfeed ***ret_feeds, size_t *ret_n, char **reterr_msg)
{
    /* The config's feeds in its order, then the run-time feeds it does not name. */
    struct dfeed **feeds = calloc(conf->n_feeds + t->n_feeds + 1, sizeof(*feeds));
    if (!feeds)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < conf->n_feeds; i++) {
        const struct conf_feed *cfg = &conf->feeds[i];
        struct dfeed *old = t->feeds ? feedtable_find(t, cfg->name) : NULL;
        if (old) {
            old->kept = true;
            feeds[n++] = old;
            continue;
        }
        char err[WRITER_ERROR_MAX];
        int r = dfeed_new(t->d, cfg, rows, &feeds[n], err, sizeof(err));
        if (r < 0) {
            if (reterr_msg && asprintf(reterr_msg, "store: feed '%s': %s", cfg->name, err) < 0)
                *reterr_msg = NULL;
            for (size_t j = 0; j < n; j++)
                if (!t->feeds || !feedtable_find(t, feeds[j]->cfg->name))
                    dfeed_free(feeds[j]);
            free(feeds);
            return r;
        }
        n++;
    }
    for (size_t i = 0; t->feeds && i < t->n_feeds; i++) {
        struct dfeed *f = t->feeds[i];
        if (f->runtime_cfg && !conf_feed_find(conf, f->cfg->name)) {
            f->kept = true;
            feeds[n++] = f;
        }
    }
    *ret_feeds = feeds;
    *ret_n = n;
    return 0;
}

/* The rows a reload to conf needs, loaded by the writer before it applies. */
int
feedtable_rows_needed(struct feedtable *t, const struct conf *conf, struct dfeed_rows *rows)
{
    for (size_t i = 0; i < conf->n_feeds; i++) {
        const struct conf_feed *cfg = &conf->feeds[i];
        const struct dfeed *f = feedtable_find(t, cfg->name);
        int r = 0;
        if (!f || f->runtime_cfg)
            r = dfeed_rows_add(rows, cfg->name, cfg->url, true);
        else if (strcmp(f->cfg->url, cfg->url) != 0)
            r = dfeed_rows_add(rows, cfg->name, cfg->url, false);
        if (r < 0)
            return r;
    }
    return 0;
}

struct runtime_rows {
    char **names;
    char **urls;
    char **opts;
    size_t n;
};

static int
on_runtime_row(void *userdata, const struct store_feed *feed)
{
    struct runtime_rows *rows = userdata;
    if (!feed->runtime_url || feed->removed)
        return 0;
    char **nn = realloc(rows->names, (rows->n + 1) * sizeof(*nn));
    if (!nn)
        return -ENOMEM;
    rows->names = nn;
    char **nu = realloc(rows->urls, (rows->n + 1) * sizeof(*nu));
    if (!nu)
        return -ENOMEM;
    rows->urls = nu;
    char **no = realloc(rows->opts, (rows->n + 1) * sizeof(*no));
    if (!no)
        return -ENOMEM;
    rows->opts = no;
    rows->names[rows->n] = strdup(feed->name);
    rows->urls[rows->n] = strdup(feed->runtime_url);
    rows->opts[rows->n] = feed->runtime_opts ? strdup(feed->runtime_opts) : NULL;
    rows->n++;
    if (!rows->names[rows->n - 1] || !rows->urls[rows->n - 1] ||
        (feed->runtime_opts && !rows->opts[rows->n - 1]))
        return -ENOMEM;
    return 0;
}

/* Adds the feeds of `feedwatch add` that the config does not name (at start; t->feeds sorted). */
int
feedtable_load_runtime(struct feedtable *t, char **reterr_msg)
{
    struct dctx *d = t->d;
    struct runtime_rows rows = {0};
    int r = store_feed_list(d->store, on_runtime_row, &rows);
    for (size_t i = 0; r >= 0 && i < rows.n; i++) {
        if (feedtable_find(t, rows.names[i]))
            continue; /* the config names it; dfeed_new cleared its marker */
        struct dfeed *f = NULL;
        struct dfeed_opts opts;
        r = dfeed_opts_parse(rows.opts[i], &opts);
        if (r == -EINVAL) {
            char q[LOG_QUOTE_MAX];
            log_warn("store: feed '%s': its options of `feedwatch add` are not readable; "
                     "the defaults apply",
                     log_quote(rows.names[i], q, sizeof(q)));
            r = 0;
        }
        if (r == 0)
            r = dfeed_new_runtime(t->d, rows.names[i], rows.urls[i], &opts, true, &f);
        dfeed_opts_done(&opts);
        if (r == 0 && (r = feeds_insert(t, f)) < 0)
            dfeed_free(f);
    }
    if (r < 0 && reterr_msg &&
        asprintf(reterr_msg, "store: cannot load the feeds added at run time: %s",
                 r == -ENOMEM ? "out of memory" : store_errmsg(d->store)) < 0)
        *reterr_msg = NULL;
    for (size_t i = 0; i < rows.n; i++) {
        free(rows.names[i]);
        free(rows.urls[i]);
        free(rows.opts[i]);
    }
    free(rows.names);
    free(rows.urls);
    free(rows.opts);
    return r < 0 ? r : 0;
}

/* Clusters: a feed added at run time on another node, claimed here. */
int
feedtable_adopt(struct feedtable *t, const struct store_feed *row, struct dfeed **ret)
{
    if (!row->runtime_url || row->removed)
        return -ENOENT;
    struct dfeed *f = NULL;
    struct dfeed_opts opts;
    int r = dfeed_opts_parse(row->runtime_opts, &opts);
    if (r == -EINVAL)
        r = 0; /* the defaults, as at a start */
    if (r == 0)
        r = dfeed_new_runtime(t->d, row->name, row->runtime_url, &opts, false, &f);
    dfeed_opts_done(&opts);
    if (r == 0 && (r = store_feed_copy(&f->st, row)) < 0) {
        dfeed_free(f);
        return r;
    }
    if (r == 0 && (r = feeds_insert(t, f)) < 0) {
        dfeed_free(f);
        return r;
    }
    if (r == 0)
        *ret = f;
    return r;
}

/* A formatted message (malloc'd), or NULL when out of memory. */
static char *msgf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
msgf(const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    return msg;
}

/* `add` takes no user:password@ (feedrule.h leaves that to callers): `feeds` would show it. */
static bool
url_has_userinfo(const char *url)
{
    const char *host = strstr(url, "://");
    if (!host)
        return false;
    host += 3;
    return memchr(host, '@', strcspn(host, "/?#")) != NULL;
}

/* Calls cb with a refusal (r, *err) and frees the message. */
static void
change_refused(dfeed_change_cb cb, void *ctx, int r, char *err)
{
    cb(ctx, r, NULL, err);
    free(err);
}

/* Whether a feed called name is being added. */
static bool
adding_find(const struct feedtable *t, const char *name)
{
    for (size_t i = 0; i < t->n_adding; i++)
        if (strcmp(t->adding[i]->cfg->name, name) == 0)
            return true;
    return false;
}

static void
adding_remove(struct feedtable *t, struct dfeed *f)
{
    for (size_t i = 0; i < t->n_adding; i++) {
        if (t->adding[i] != f)
            continue;
        memmove(&t->adding[i], &t->adding[i + 1], (t->n_adding - i - 1) * sizeof(*t->adding));
        t->n_adding--;
        return;
    }
}

/* The row of `add` is stored (or not): the feed joins the table and polls now. */
static void
add_finish(struct dfeed_write *fw, int r)
{
    struct feedtable *t = fw->table;
    struct dctx *d = t->d;
    struct dfeed *f = fw->f;
    adding_remove(t, f);
    if (r < 0) {
        dfeed_free(f);
        change_refused(fw->cb, fw->ctx, r, msgf("add: store: %s", fw->job.error));
        return;
    }
    if (feedtable_find(t, fw->name)) {
        /* A reload named it meanwhile: the config's feed it is. */
        dfeed_free(f);
        change_refused(fw->cb, fw->ctx, -EEXIST, msgf("feed '%s' exists", fw->name));
        return;
    }
    f->st = fw->st;
    fw->st = (struct store_feed){0};
    free(f->st.runtime_opts);
    f->st.runtime_opts = fw->opts_json;
    fw->opts_json = NULL;
    f->st.removed = false;
    if (f->st.runtime_url && strcmp(f->st.runtime_url, fw->url) != 0) {
        free(f->st.runtime_url);
        f->st.runtime_url = NULL;
    }
    if ((!f->st.runtime_url && !(f->st.runtime_url = strdup(fw->url))) || feeds_insert(t, f) < 0) {
        dfeed_free(f);
        change_refused(fw->cb, fw->ctx, -ENOMEM, msgf("add: out of memory"));
        return;
    }
    char q1[LOG_QUOTE_MAX], q2[LOG_QUOTE_MAX];
    log_notice("control: feed '%s': added at run time, url '%s'",
               log_quote(fw->name, q1, sizeof(q1)), log_quote_url(fw->url, q2, sizeof(q2)));
    if (!d->once && !d->stopping)
        (void)sched_arm(d->sched, &f->sched, util_now_ms());
    fw->cb(fw->ctx, 0, f, NULL);
}

/* Adds a feed at run time: stored with its marker, then polled now. */
void
feedtable_add(struct feedtable *t, const char *name, const char *url, const struct dfeed_opts *opts,
              dfeed_change_cb cb, void *ctx)
{
    static const struct dfeed_opts no_opts;
    char *err = NULL;
    if (!opts)
        opts = &no_opts;
    if (!feed_name_valid(name, strlen(name)))
        return change_refused(
            cb, ctx, -EINVAL,
            msgf("add: a feed name is 1 to %d letters, digits, '.', '_' or '-'", FEED_NAME_MAX));
    if (!feed_url_valid(url) || url_has_userinfo(url))
        return change_refused(
            cb, ctx, -EINVAL,
            msgf("add: the URL must be http:// or https:// with a host, at most %d bytes, "
                 "without spaces or credentials",
                 FEED_URL_MAX));
    if (dfeed_opts_check(opts, &err) < 0)
        return change_refused(cb, ctx, -EINVAL, err);
    if (feedtable_find(t, name) || adding_find(t, name))
        return change_refused(cb, ctx, -EEXIST, msgf("feed '%s' exists", name));
    struct dfeed_write *fw = dfeed_write_new(t->d, DFEED_WRITE_ADD, name, add_finish, cb, ctx);
    struct dfeed **na = realloc(t->adding, (t->n_adding + 1) * sizeof(*na));
    if (na)
        t->adding = na;
    if (!fw || !na || !(fw->url = strdup(url)) || !(fw->opts_json = dfeed_opts_json(opts)) ||
        dfeed_new_runtime(t->d, name, url, opts, false, &fw->f) < 0) {
        if (fw)
            dfeed_write_free(fw);
        return change_refused(cb, ctx, -ENOMEM, msgf("add: out of memory"));
    }
    fw->table = t;
    struct dfeed *f = fw->f;
    if (dfeed_write_submit(fw, "add", &err) < 0) {
        dfeed_free(f);
        return change_refused(cb, ctx, -EAGAIN, err);
    }
    t->adding[t->n_adding++] = f;
}

static void
remove_finish(struct dfeed_write *fw, int r)
{
    struct feedtable *t = fw->table;
    if (r < 0)
        return change_refused(fw->cb, fw->ctx, r, msgf("remove: store: %s", fw->job.error));
    struct dfeed *f = feedtable_find(t, fw->name);
    if (f && f->runtime_cfg) { /* else removed meanwhile, or named by a reload: kept */
        char q[LOG_QUOTE_MAX];
        log_notice("control: feed '%s': removed at run time", log_quote(fw->name, q, sizeof(q)));
        feeds_unlink(t, f);
        feedtable_drop(t, f);
    }
    fw->cb(fw->ctx, 0, NULL, NULL);
}

void
feedtable_forget(struct feedtable *t, struct dfeed *f)
{
    feeds_unlink(t, f);
    feedtable_drop(t, f);
}

/* Removes a feed added at run time; its items stay, so they are never new again. */
void
feedtable_remove(struct feedtable *t, const char *name, dfeed_change_cb cb, void *ctx)
{
    char *err = NULL;
    struct dfeed *f = feedtable_find(t, name);
    if (!f)
        return change_refused(cb, ctx, -ENOENT, msgf("no feed '%.200s'", name));
    if (!f->runtime_cfg)
        return change_refused(cb, ctx, -EPERM,
                              msgf("feed '%s' is in the config; remove it there", name));
    struct dfeed_write *fw =
        dfeed_write_new(t->d, DFEED_WRITE_RUNTIME, name, remove_finish, cb, ctx);
    if (!fw || !(fw->url = strdup(f->runtime_cfg->url))) {
        if (fw)
            dfeed_write_free(fw);
        return change_refused(cb, ctx, -ENOMEM, msgf("remove: out of memory"));
    }
    fw->table = t;
    fw->id = f->st.id;
    fw->removed = true;
    if (dfeed_write_submit(fw, "remove", &err) < 0)
        change_refused(cb, ctx, -EAGAIN, err);
}

/*
 * Queues the save of f's state after pause or resume changed it (was_*: the fields before);
 * on a refusal the change is undone at once and cb told.
 */
static void
state_change_submit(struct feedtable *t, struct dfeed *f, const char *what,
                    void (*finish)(struct dfeed_write *, int), bool was_paused,
                    unsigned was_failures, char *was_reason, dfeed_change_cb cb, void *ctx)
{
    char *err = NULL;
    f->st_gen++; /* a poll being saved must not write its older copy */
    struct dfeed_write *fw = dfeed_write_new(t->d, DFEED_WRITE_SAVE, f->cfg->name, finish, cb, ctx);
    int r = fw && store_feed_copy(&fw->st, &f->st) == 0 ? 0 : -ENOMEM;
    if (r == 0) {
        fw->table = t;
        r = dfeed_write_submit(fw, what, &err); /* its done callback runs later, on the loop */
    } else {
        if (fw)
            dfeed_write_free(fw);
        err = msgf("%s: out of memory", what);
    }
    if (r == 0) {
        fw->gen = f->st_gen;
        fw->was_paused = was_paused;
        fw->was_failures = was_failures;
        fw->was_reason = was_reason;
        return;
    }
    f->st.paused = was_paused;
    f->st.failures = was_failures;
    free(f->st.disabled_reason);
    f->st.disabled_reason = was_reason;
    feedtable_schedule(t, f);
    change_refused(cb, ctx, r, err);
}

/* After pause or resume was stored (or not): undone when refused and nothing changed since. */
static struct dfeed *
state_change_finish(struct dfeed_write *fw, int r, const char *what)
{
    struct feedtable *t = fw->table;
    struct dctx *d = t->d;
    struct dfeed *f = feedtable_find(t, fw->name);
    if (r < 0) {
        if (f && f->st_gen == fw->gen) {
            f->st.paused = fw->was_paused;
            f->st.failures = fw->was_failures;
            free(f->st.disabled_reason);
            f->st.disabled_reason = fw->was_reason;
            fw->was_reason = NULL;
            if (!d->stopping && !d->once)
                feedtable_schedule(t, f);
        }
        change_refused(fw->cb, fw->ctx, r, msgf("%s: store: %s", what, fw->job.error));
        return NULL;
    }
    if (!f)
        change_refused(fw->cb, fw->ctx, -ENOENT, msgf("no feed '%.200s'", fw->name));
    return f;
}

static void
pause_finish(struct dfeed_write *fw, int r)
{
    struct dfeed *f = state_change_finish(fw, r, "pause");
    if (!f)
        return;
    char q[LOG_QUOTE_MAX];
    log_notice("control: feed '%s': paused", log_quote(fw->name, q, sizeof(q)));
    fw->cb(fw->ctx, 0, f, NULL);
}

/* Pauses a feed: no polls until `resume`, also across restarts and reloads. */
void
feedtable_pause(struct feedtable *t, const char *name, dfeed_change_cb cb, void *ctx)
{
    struct dfeed *f = feedtable_find(t, name);
    if (!f)
        return change_refused(cb, ctx, -ENOENT, msgf("no feed '%.200s'", name));
    sched_disarm(t->d->sched, &f->sched);
    if (f->st.paused) {
        cb(ctx, 0, f, NULL);
        return;
    }
    char *reason = NULL;
    if (f->st.disabled_reason && !(reason = strdup(f->st.disabled_reason)))
        return change_refused(cb, ctx, -ENOMEM, msgf("pause: out of memory"));
    f->st.paused = true;
    state_change_submit(t, f, "pause", pause_finish, false, f->st.failures, reason, cb, ctx);
}

static void
resume_finish(struct dfeed_write *fw, int r)
{
    struct feedtable *t = fw->table;
    struct dctx *d = t->d;
    struct dfeed *f = state_change_finish(fw, r, "resume");
    if (!f)
        return;
    char q[LOG_QUOTE_MAX];
    if (fw->was_paused || fw->was_reason)
        log_notice("control: feed '%s': resumed", log_quote(fw->name, q, sizeof(q)));
    if (!d->once && !d->stopping && !f->poll && !f->st.paused)
        (void)sched_arm(d->sched, &f->sched, util_now_ms());
    fw->cb(fw->ctx, 0, f, NULL);
}

/* Resumes a paused feed or one disabled by its errors (failures reset) and polls it now. */
void
feedtable_resume(struct feedtable *t, const char *name, dfeed_change_cb cb, void *ctx)
{
    struct dfeed *f = feedtable_find(t, name);
    if (!f)
        return change_refused(cb, ctx, -ENOENT, msgf("no feed '%.200s'", name));
    if (!f->cfg->enabled)
        return change_refused(
            cb, ctx, -EPERM,
            msgf("feed '%s' is disabled in the config (enabled = no); change it there", name));
    bool was_paused = f->st.paused;
    unsigned was_failures = f->st.failures;
    char *was_reason = f->st.disabled_reason;
    f->st.paused = false;
    f->st.failures = 0;
    f->st.disabled_reason = NULL;
    state_change_submit(t, f, "resume", resume_finish, was_paused, was_failures, was_reason, cb,
                        ctx);
}
