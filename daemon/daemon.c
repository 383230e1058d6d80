#include "daemon.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "alerts.h"
#include "ctlcmd.h"
#include "events.h"
#include "fetch.h"
#include "feedpoll.h"
#include "hook.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "notify.h"
#include "retention.h"
#include "search.h"
#include "base/feedrule.h"
#include "base/url.h"
#include "util.h"
#include "writer.h"

#define DAEMON_STATUS_PERIOD_MS 5000
#define DAEMON_FEED_INTERVAL_MAX (100ull * 366 * 86400) /* run-time feeds: the config's maximum */

static int64_t
sched_clock(void *userdata)
{
    (void)userdata;
    return util_now_ms();
}

static int
feed_cmp(const void *a, const void *b)
{
    const struct dfeed *const *x = a, *const *y = b;
    return strcmp((*x)->cfg->name, (*y)->cfg->name);
}

/* The feed called name, or NULL. */
struct dfeed *
daemon_feed_find(struct daemon *d, const char *name)
{
    size_t lo = 0, hi = d->n_feeds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, d->feeds[mid]->cfg->name);
        if (c == 0)
            return d->feeds[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* The state a user sees: paused and disabled win over failing. */
enum daemon_feed_state
daemon_feed_state(const struct dfeed *f)
{
    if (f->st.paused)
        return DFEED_PAUSED;
    if (f->st.disabled_reason || !f->cfg->enabled)
        return DFEED_DISABLED;
    if (f->st.failures > 0)
        return DFEED_FAILING;
    return DFEED_OK;
}

/* The JSON name of a state. */
const char *
daemon_feed_state_name(enum daemon_feed_state s)
{
    switch (s) {
    case DFEED_OK:
        return "ok";
    case DFEED_FAILING:
        return "failing";
    case DFEED_DISABLED:
        return "disabled";
    case DFEED_PAUSED:
        return "paused";
    }
    return "ok";
}

static bool
feed_pollable(const struct dfeed *f)
{
    return daemon_feed_state(f) == DFEED_OK || daemon_feed_state(f) == DFEED_FAILING;
}

static void poll_end(struct daemon *d, struct dfeed *f, enum poll_outcome outcome,
                     uint64_t new_items, uint64_t new_alerts);

/*
 * Puts a feed on the schedule from its persisted state: a feed never polled is due now; a
 * feed whose next poll passed while the daemon was down is due soon, spread over up to 30 s
 * (a tenth of its interval at most) so a restart does not poll everything in one instant; a
 * future next poll is kept (sched_initial_due_ms).
 */
static void
feed_schedule_initial(struct daemon *d, struct dfeed *f)
{
    if (!feed_pollable(f) || f->poll || f->ready) {
        sched_disarm(d->sched, &f->sched);
        return;
    }
    int64_t due = sched_initial_due_ms(util_now_ms(), f->st.last_poll_at, f->st.next_poll_at,
                                       f->cfg->interval_s, util_rng_next(&d->rng));
    (void)sched_arm(d->sched, &f->sched, due);
}

/* Frees the owned settings of a run-time feed; accepts NULL. */
static void
runtime_cfg_free(struct conf_feed *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->url);
    for (size_t i = 0; i < c->n_tags; i++)
        free(c->tags[i]);
    free(c->tags);
    free(c);
}

/*
 * The settings of a feed added at run time: its name and URL, and the options of `add`
 * (opts may be NULL): its interval or the daemon's, its tags, fetch_article.
 */
static struct conf_feed *
runtime_cfg_new(const struct daemon *d, const char *name, const char *url,
                const struct daemon_feed_opts *opts)
{
    struct conf_feed *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->name = strdup(name);
    c->url = strdup(url);
    c->interval_s = opts && opts->interval_s ? opts->interval_s : d->conf->daemon.interval_s;
    c->fetch_article = opts && opts->fetch_article;
    c->enabled = true;
    if (!c->name || !c->url) {
        runtime_cfg_free(c);
        return NULL;
    }
    if (opts && opts->n_tags > 0) {
        c->tags = calloc(opts->n_tags, sizeof(*c->tags));
        if (!c->tags) {
            runtime_cfg_free(c);
            return NULL;
        }
        for (; c->n_tags < opts->n_tags; c->n_tags++) {
            if (!(c->tags[c->n_tags] = strdup(opts->tags[c->n_tags]))) {
                runtime_cfg_free(c);
                return NULL;
            }
        }
    }
    return c;
}

/* Checks the options of `add`; 0, or -EINVAL with *reterr_msg (malloc'd, may be NULL). */
static int
runtime_opts_check(const struct daemon_feed_opts *o, char **reterr_msg)
{
    const char *why = NULL;
    if (o->interval_s > DAEMON_FEED_INTERVAL_MAX)
        why = "add: the interval is longer than 100 years";
    else if (o->n_tags > DAEMON_FEED_TAGS_MAX)
        why = "add: at most 32 tags";
    for (size_t i = 0; !why && i < o->n_tags; i++)
        for (size_t j = 0; !why && j < i; j++)
            if (strcmp(o->tags[i], o->tags[j]) == 0)
                why = "add: a tag is given twice";
    for (size_t i = 0; !why && i < o->n_tags; i++)
        if (!feed_tag_valid(o->tags[i], strlen(o->tags[i])))
            why = "add: a tag is 1 to 256 bytes without commas or control characters, "
                  "and does not start or end with a blank";
    if (!why)
        return 0;
    if (reterr_msg && !(*reterr_msg = strdup(why)))
        *reterr_msg = NULL;
    return -EINVAL;
}

/* The options of `add` as stored (runtime_opts), or NULL when out of memory. */
static char *
runtime_opts_json(const struct daemon_feed_opts *o)
{
    json_t *tags = json_array();
    for (size_t i = 0; tags && i < o->n_tags; i++)
        if (json_array_append_new(tags, json_string(o->tags[i])) < 0) {
            json_decref(tags);
            tags = NULL;
        }
    json_t *j = tags ? json_pack("{s:I, s:o, s:b}", "interval_s", (json_int_t)o->interval_s, "tags",
                                 tags, "fetch_article", o->fetch_article)
                     : NULL;
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

/* Frees the tags of options read by runtime_opts_parse. */
static void
runtime_opts_done(struct daemon_feed_opts *o)
{
    for (size_t i = 0; i < o->n_tags; i++)
        free(o->tags[i]);
    free(o->tags);
    *o = (struct daemon_feed_opts){0};
}

/*
 * Reads stored options (NULL text: none). 0, -ENOMEM, or -EINVAL when the text is not what
 * runtime_opts_json wrote (a hand-edited database): *o is then zeroed (the defaults).
 */
static int
runtime_opts_parse(const char *text, struct daemon_feed_opts *o)
{
    *o = (struct daemon_feed_opts){0};
    if (!text)
        return 0;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    json_t *ji = json_object_get(j, "interval_s"), *jt = json_object_get(j, "tags");
    json_t *jf = json_object_get(j, "fetch_article");
    int r = 0;
    if (!json_is_integer(ji) || json_integer_value(ji) < 0 || !json_is_array(jt) ||
        json_array_size(jt) > DAEMON_FEED_TAGS_MAX || !json_is_boolean(jf)) {
        r = -EINVAL;
        goto out;
    }
    o->interval_s = (uint64_t)json_integer_value(ji);
    o->fetch_article = json_is_true(jf);
    if (json_array_size(jt) > 0 && !(o->tags = calloc(json_array_size(jt), sizeof(*o->tags)))) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < json_array_size(jt); i++) {
        const char *t = json_string_value(json_array_get(jt, i));
        if (!t) {
            r = -EINVAL;
            goto out;
        }
        if (!(o->tags[o->n_tags] = strdup(t))) {
            r = -ENOMEM;
            goto out;
        }
        o->n_tags++;
    }
    r = runtime_opts_check(o, NULL);
out:
    json_decref(j);
    if (r < 0)
        runtime_opts_done(o);
    return r;
}

static int feed_row_load(struct daemon *d, const char *name, const char *url, bool config_feed,
                         struct store_feed *ret, char *err, size_t err_size);
static void feed_marker_clear(struct daemon *d, struct dfeed *f);

static void
dfeed_free(struct dfeed *f)
{
    if (!f)
        return;
    assert(!f->poll);
    /* Waiters of a feed still queued when the daemon stopped: told, as promised, once. */
    for (size_t i = 0; i < f->n_waiters; i++)
        f->waiters[i].cb(f->waiters[i].ctx, POLL_ABORTED, 0, 0);
    store_feed_done(&f->st);
    runtime_cfg_free(f->runtime_cfg);
    free(f->waiters);
    free(f);
}

/* Creates the run-time feed for cfg, loading (or creating) its row; err gets why not. */
static int
dfeed_new(struct daemon *d, const struct conf_feed *cfg, struct dfeed **ret, char *err,
          size_t err_size)
{
    struct dfeed *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->d = d;
    f->cfg = cfg;
    sched_entry_init(&f->sched);
    /* The config names it: it is a config feed now, whatever `add` or `remove` said before. */
    int r = feed_row_load(d, cfg->name, cfg->url, true, &f->st, err, err_size);
    if (r < 0) {
        free(f);
        return r;
    }
    *ret = f;
    return 0;
}

/*
 * Creates the run-time feed of a feed added with `feedwatch add` (opts may be NULL), with its
 * row loaded when load (at start), else with none (`add`: its row is written by the writer).
 */
static int
dfeed_new_runtime(struct daemon *d, const char *name, const char *url,
                  const struct daemon_feed_opts *opts, bool load, struct dfeed **ret)
{
    struct dfeed *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->d = d;
    f->runtime_interval = opts && opts->interval_s;
    f->runtime_cfg = runtime_cfg_new(d, name, url, opts);
    if (!f->runtime_cfg) {
        free(f);
        return -ENOMEM;
    }
    f->cfg = f->runtime_cfg;
    sched_entry_init(&f->sched);
    char err[WRITER_ERROR_MAX];
    int r = load ? feed_row_load(d, name, url, false, &f->st, err, sizeof(err)) : 0;
    if (r < 0) {
        runtime_cfg_free(f->runtime_cfg);
        free(f);
        return r;
    }
    *ret = f;
    return 0;
}

/* Inserts f into d->feeds, keeping the array sorted by name. */
static int
feeds_insert(struct daemon *d, struct dfeed *f)
{
    struct dfeed **nf = realloc(d->feeds, (d->n_feeds + 1) * sizeof(*nf));
    if (!nf)
        return -ENOMEM;
    d->feeds = nf;
    size_t i = d->n_feeds;
    while (i > 0 && strcmp(d->feeds[i - 1]->cfg->name, f->cfg->name) > 0) {
        d->feeds[i] = d->feeds[i - 1];
        i--;
    }
    d->feeds[i] = f;
    d->n_feeds++;
    return 0;
}

/* Takes f out of d->feeds (it stays allocated). */
static void
feeds_unlink(struct daemon *d, struct dfeed *f)
{
    for (size_t i = 0; i < d->n_feeds; i++) {
        if (d->feeds[i] != f)
            continue;
        memmove(&d->feeds[i], &d->feeds[i + 1], (d->n_feeds - i - 1) * sizeof(*d->feeds));
        d->n_feeds--;
        return;
    }
}

/* Takes f out of the ready queue (it must be in it). */
static void
ready_unlink(struct daemon *d, struct dfeed *f)
{
    assert(f->ready);
    if (f->ready_prev)
        f->ready_prev->ready_next = f->ready_next;
    else
        d->ready_head = f->ready_next;
    if (f->ready_next)
        f->ready_next->ready_prev = f->ready_prev;
    else
        d->ready_tail = f->ready_prev;
    f->ready_prev = f->ready_next = NULL;
    f->ready = false;
    d->n_ready--;
}

/* Appends f to the ready queue. */
static void
ready_push(struct daemon *d, struct dfeed *f)
{
    assert(!f->ready);
    f->ready = true;
    f->ready_next = NULL;
    f->ready_prev = d->ready_tail;
    if (d->ready_tail)
        d->ready_tail->ready_next = f;
    else
        d->ready_head = f;
    d->ready_tail = f;
    d->n_ready++;
}

/* Polls in progress at once: the fetcher's connections, and as many again being processed. */
unsigned
daemon_poll_slots(const struct daemon *d)
{
    unsigned n = d->conf->daemon.max_connections;
    return n < 4 ? 8 : 2 * n;
}

/* Drops f: an in-flight poll is aborted and frees it, else it is freed now. */
static void
dfeed_drop(struct daemon *d, struct dfeed *f)
{
    f->removed = true;
    sched_disarm(d->sched, &f->sched);
    if (f->ready) {
        /* It waited for a slot: its waiters hear it was not polled, and it is freed. */
        ready_unlink(d, f);
        poll_end(d, f, POLL_ABORTED, 0, 0);
        return;
    }
    if (f->poll)
        feedpoll_cancel(f->poll);
    else
        dfeed_free(f);
}

/* scheduler: a feed is due. */
static void
on_sched_due(void *userdata, struct sched_entry *e)
{
    struct daemon *d = userdata;
    struct dfeed *f = (struct dfeed *)((char *)e - offsetof(struct dfeed, sched));
    (void)daemon_feed_poll_now(d, f, NULL, NULL);
}

/* Starts f's poll in a free slot; a poll that cannot start ends as failed at once. */
static int
poll_start(struct daemon *d, struct dfeed *f)
{
    int64_t now_ms = util_now_ms(), due = f->sched.due_wall_ms;
    f->poll_lag_ms = due != INT64_MAX && due <= now_ms ? now_ms - due : -1;
    f->poll_bytes = 0;
    d->polls_active++;
    int r = feedpoll_start(d, f);
    if (r < 0) {
        char q[LOG_QUOTE_MAX];
        log_error("poll: feed '%s': cannot start: %s", log_quote(f->cfg->name, q, sizeof(q)),
                  strerror(-r));
        daemon_poll_done(d, f, POLL_FAILED, 0, 0);
        return r;
    }
    return 0;
}

/*
 * Whether one more poll may start: a slot is free and the poll memory has room (no poll at all
 * in flight: one always starts, whatever the budget).
 */
static bool
poll_can_start(const struct daemon *d)
{
    if (d->polls_active >= daemon_poll_slots(d))
        return false;
    return d->polls_active == 0 ||
           sched_mem_admit(d->poll_memory, d->conf->daemon.max_poll_memory, d->poll_memory_paused);
}

/*
 * Starts waiting feeds while slots and memory are free. A feed paused, disabled or stopped
 * while it waited is not polled: its waiters hear so, and it is scheduled as its state says.
 */
static void
start_ready(struct daemon *d)
{
    if (d->starting_ready)
        return; /* the outer call goes on */
    d->starting_ready = true;
    while (d->ready_head && poll_can_start(d) && !d->stopping) {
        struct dfeed *f = d->ready_head;
        ready_unlink(d, f);
        if (feed_pollable(f))
            (void)poll_start(d, f);
        else
            poll_end(d, f, POLL_ABORTED, 0, 0);
    }
    d->starting_ready = false;
}

/* Polls f now, or queues it; cb(ctx), if given, is told once when it is done. */
int
daemon_feed_poll_now(struct daemon *d, struct dfeed *f, daemon_poll_done_cb cb, void *ctx)
{
    int r = d->stopping ? -ECANCELED : 0;
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
    if (d->ready_head || !poll_can_start(d)) {
        /* Behind the feeds already waiting (FIFO), or until a slot or poll memory frees. */
        ready_push(d, f);
        start_ready(d);
        return 0;
    }
    return poll_start(d, f);
}

/* Builds the one-line summary for STATUS= and the log. */
static void
status_line(struct daemon *d, char *buf, size_t n)
{
    unsigned ok = 0, failing = 0, off = 0;
    for (size_t i = 0; i < d->n_feeds; i++) {
        switch (daemon_feed_state(d->feeds[i])) {
        case DFEED_OK:
            ok++;
            break;
        case DFEED_FAILING:
            failing++;
            break;
        default:
            off++;
        }
    }
    snprintf(buf, n,
             "%zu feeds (%u ok, %u failing, %u off), %" PRId64 " items, %u polls in flight, "
             "%u waiting, "
             "%u hooks running",
             d->n_feeds, ok, failing, off, d->items_total, d->polls_active, d->n_ready,
             d->hooks ? hook_running(d->hooks) : 0);
}

static void
on_status_timer(uv_timer_t *t)
{
    struct daemon *d = t->data;
    char line[256];
    status_line(d, line, sizeof(line));
    notify_status(line);
}

static void
on_watchdog_timer(uv_timer_t *t)
{
    (void)t;
    notify_watchdog();
}

/* Called by feedpoll when a poll of f has ended (its results are stored by then). */
void
daemon_poll_done(struct daemon *d, struct dfeed *f, enum poll_outcome outcome, uint64_t new_items,
                 uint64_t new_alerts)
{
    assert(d->polls_active > 0);
    d->polls_active--;
    poll_end(d, f, outcome, new_items, new_alerts);
    start_ready(d);
}

/* Poll memory was released: due feeds that waited for it may start. */
void
daemon_poll_memory_released(struct daemon *d)
{
    start_ready(d);
}

static int metrics_listen_apply(struct daemon *d, const char *old_listen);

/* The host of an http(s) URL (no userinfo, no port), lower-cased, in buf; "" for others. */
static const char *
url_host(const char *url, char buf[256])
{
    buf[0] = '\0';
    const char *p = strstr(url, "://");
    if (!p || strncasecmp(url, "http", 4) != 0)
        return buf;
    p += 3;
    size_t auth = strcspn(p, "/?#");
    const char *at = memchr(p, '@', auth);
    if (at) {
        auth -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    size_t n = 0;
    if (*p == '[') {
        const char *end = memchr(p, ']', auth);
        n = end ? (size_t)(end - p) + 1 : auth;
    } else {
        n = strcspn(p, ":/?#");
    }
    if (n >= 256)
        n = 255;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)p[i]);
    buf[n] = '\0';
    return buf;
}

static void feed_after_poll(struct daemon *d, struct dfeed *f, enum poll_outcome outcome,
                            uint64_t new_items, uint64_t new_alerts);

/* What follows a poll of f (or a wait that ended without one): waiters, --once, schedule. */
static void
poll_end(struct daemon *d, struct dfeed *f, enum poll_outcome outcome, uint64_t new_items,
         uint64_t new_alerts)
{
    if (outcome == POLL_OK)
        d->items_total += (int64_t)new_items;
    if (outcome != POLL_ABORTED) {
        char host[256];
        metrics_poll_done(d->metrics,
                          outcome == POLL_OK             ? METRICS_POLL_OK
                          : outcome == POLL_NOT_MODIFIED ? METRICS_POLL_NOT_MODIFIED
                                                         : METRICS_POLL_ERROR,
                          f->st.last_status, url_host(f->st.url ? f->st.url : f->cfg->url, host),
                          f->poll_bytes, new_items,
                          f->poll_lag_ms >= 0 ? (double)f->poll_lag_ms / 1000 : -1);
    }
    /*
     * Taken now, told last: a waiter's answer may run the client's next request at once
     * (control.c), which may poll f again or remove it, so f is settled first and not
     * touched after.
     */
    struct dfeed_waiter *waiters = f->waiters;
    size_t n_waiters = f->n_waiters;
    f->waiters = NULL;
    f->n_waiters = 0;
    feed_after_poll(d, f, outcome, new_items, new_alerts);
    for (size_t i = 0; i < n_waiters; i++)
        waiters[i].cb(waiters[i].ctx, outcome, new_items, new_alerts);
    free(waiters);
}

/* --once's tally and f's next schedule after a poll (f is freed if it was removed). */
static void
feed_after_poll(struct daemon *d, struct dfeed *f, enum poll_outcome outcome, uint64_t new_items,
                uint64_t new_alerts)
{
    if (d->once && d->once_remaining > 0) {
        d->once_tally.polled++;
        if (outcome == POLL_OK)
            d->once_tally.ok++;
        else if (outcome == POLL_NOT_MODIFIED)
            d->once_tally.not_modified++;
        else
            d->once_tally.errors++;
        d->once_tally.new_items += new_items;
        d->once_tally.alerts += new_alerts;
        if (outcome == POLL_FAILED || outcome == POLL_ABORTED)
            d->once_failed = true;
        if (--d->once_remaining == 0)
            daemon_hooks_progress(d);
    }
    if (f->removed) {
        dfeed_free(f);
        return;
    }
    if (d->stopping || d->once)
        return;
    if (outcome == POLL_ABORTED) {
        /* Cancelled by a reload (a new URL) or not started: due again as its state says. */
        feed_schedule_initial(d, f);
        return;
    }
    if (feed_pollable(f) && f->st.next_poll_at != FEED_TIME_NONE)
        /* To the ms: the row's whole seconds would round a 1 s backoff up to 2 s. */
        (void)sched_arm(d->sched, &f->sched,
                        f->next_poll_ms > 0 ? f->next_poll_ms : f->st.next_poll_at * 1000);
}

/* --once ends when every feed was polled and no hook runs or is due now. */
void
daemon_hooks_progress(struct daemon *d)
{
    if (d->once && d->once_remaining == 0 && !d->stopping && hook_idle(d->hooks)) {
        uint64_t ms = uv_now(&d->loop) - d->started_ms;
        log_notice("once: %u feeds polled in %" PRIu64 ".%01" PRIu64 " s: %u ok, %u not modified, "
                   "%u errors, %" PRIu64 " new items, %" PRIu64 " alerts",
                   d->once_tally.polled, ms / 1000, ms % 1000 / 100, d->once_tally.ok,
                   d->once_tally.not_modified, d->once_tally.errors, d->once_tally.new_items,
                   d->once_tally.alerts);
        daemon_stop(d, d->once_failed ? 1 : 0);
    }
}

/* Turns the config's feeds into run-time feeds; used at start and, diffed, at reload. */
static int
feeds_build(struct daemon *d, const struct conf *conf, struct dfeed ***ret_feeds, size_t *ret_n,
            char **reterr_msg)
{
    /* The config's feeds in its order, then the run-time feeds it does not name. */
    struct dfeed **feeds = calloc(conf->n_feeds + d->n_feeds + 1, sizeof(*feeds));
    if (!feeds)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < conf->n_feeds; i++) {
        const struct conf_feed *cfg = &conf->feeds[i];
        struct dfeed *old = d->feeds ? daemon_feed_find(d, cfg->name) : NULL;
        if (old) {
            old->kept = true;
            feeds[n++] = old;
            continue;
        }
        char err[WRITER_ERROR_MAX];
        int r = dfeed_new(d, cfg, &feeds[n], err, sizeof(err));
        if (r < 0) {
            if (reterr_msg && asprintf(reterr_msg, "store: feed '%s': %s", cfg->name, err) < 0)
                *reterr_msg = NULL;
            for (size_t j = 0; j < n; j++)
                if (!d->feeds || !daemon_feed_find(d, feeds[j]->cfg->name))
                    dfeed_free(feeds[j]);
            free(feeds);
            return r;
        }
        n++;
    }
    for (size_t i = 0; d->feeds && i < d->n_feeds; i++) {
        struct dfeed *f = d->feeds[i];
        if (f->runtime_cfg && !conf_feed_find(conf, f->cfg->name)) {
            f->kept = true;
            feeds[n++] = f;
        }
    }
    *ret_feeds = feeds;
    *ret_n = n;
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

/* Adds the feeds of `feedwatch add` that the config does not name (at start; d->feeds sorted). */
static int
feeds_load_runtime(struct daemon *d, char **reterr_msg)
{
    struct runtime_rows rows = {0};
    int r = store_feed_list(d->store, on_runtime_row, &rows);
    for (size_t i = 0; r >= 0 && i < rows.n; i++) {
        if (daemon_feed_find(d, rows.names[i]))
            continue; /* the config names it; dfeed_new cleared its marker */
        struct dfeed *f = NULL;
        struct daemon_feed_opts opts;
        r = runtime_opts_parse(rows.opts[i], &opts);
        if (r == -EINVAL) {
            char q[LOG_QUOTE_MAX];
            log_warn("store: feed '%s': its options of `feedwatch add` are not readable; "
                     "the defaults apply",
                     log_quote(rows.names[i], q, sizeof(q)));
            r = 0;
        }
        if (r == 0)
            r = dfeed_new_runtime(d, rows.names[i], rows.urls[i], &opts, true, &f);
        runtime_opts_done(&opts);
        if (r == 0 && (r = feeds_insert(d, f)) < 0)
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

/* Sets *reterr_msg to a formatted message (NULL when out of memory) and returns r. */
static int errmsg(char **reterr_msg, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
errmsg(char **reterr_msg, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(reterr_msg, fmt, ap) < 0)
        *reterr_msg = NULL;
    va_end(ap);
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

/*
 * A feed row written through the writer (run-time changes, saves outside a poll). The feed
 * is found again by name when it is done: it may have been removed or reloaded meanwhile.
 */
enum feed_write_kind {
    FEED_WRITE_SAVE,    /* st, as copied */
    FEED_WRITE_RUNTIME, /* the run-time marker: url (NULL: a config feed) and removed */
    FEED_WRITE_ADD,     /* the row of `add`, created or taken over, with its marker */
    FEED_WRITE_LOAD,    /* the row of a feed loaded (created if new); a config feed's unmarked */
};

struct feed_write {
    struct writer_job job;
    struct daemon *d;
    enum feed_write_kind kind;
    char *name;
    char *url;
    char *opts_json;
    bool removed;
    int64_t id;
    struct store_feed st; /* SAVE: to write; ADD: the row as stored */
    struct dfeed *f;      /* ADD: the feed to insert once stored */
    bool config_feed;     /* LOAD: clear the run-time marker */
    /* pause, resume: undone when the store refuses them and nothing changed since */
    uint64_t gen;
    bool was_paused;
    unsigned was_failures;
    char *was_reason;
    void (*finish)(struct feed_write *fw, int r);
    daemon_change_cb cb;
    void *ctx;
    /* LOAD: where the row and the error go (writer_call) */
    struct store_feed *out;
    char *out_err;
    size_t out_err_size;
};

static void
feed_write_free(struct feed_write *fw)
{
    free(fw->name);
    free(fw->url);
    free(fw->opts_json);
    free(fw->was_reason);
    store_feed_done(&fw->st);
    free(fw);
}

/* Writer thread. */
static int
feed_write_work(struct writer_job *job, struct store *store)
{
    struct feed_write *fw = (struct feed_write *)((char *)job - offsetof(struct feed_write, job));
    int r;
    switch (fw->kind) {
    case FEED_WRITE_SAVE:
        return store_feed_save(store, &fw->st);
    case FEED_WRITE_RUNTIME:
        return store_feed_set_runtime(store, fw->id, fw->url, fw->removed);
    case FEED_WRITE_ADD:
        if ((r = store_feed_ensure(store, fw->name, fw->url, &fw->st)) < 0)
            return r;
        /* A name used before (and removed) starts afresh. */
        fw->st.paused = false;
        fw->st.failures = 0;
        free(fw->st.disabled_reason);
        fw->st.disabled_reason = NULL;
        fw->st.next_poll_at = FEED_TIME_NONE;
        if ((r = store_feed_set_runtime(store, fw->st.id, fw->url, false)) < 0 ||
            (r = store_feed_set_runtime_opts(store, fw->st.id, fw->opts_json)) < 0)
            return r;
        return store_feed_save(store, &fw->st);
    case FEED_WRITE_LOAD:
        if ((r = store_feed_ensure(store, fw->name, fw->url, &fw->st)) < 0)
            return r;
        if (fw->config_feed && (fw->st.runtime_url || fw->st.removed)) {
            if ((r = store_feed_set_runtime(store, fw->st.id, NULL, false)) < 0)
                return r;
            free(fw->st.runtime_url);
            fw->st.runtime_url = NULL;
            fw->st.removed = false;
        }
        return 0;
    }
    return -EINVAL;
}

/* Loop: the write is done; the change finishes. */
static void
feed_write_done(struct writer_job *job, int r)
{
    struct feed_write *fw = (struct feed_write *)((char *)job - offsetof(struct feed_write, job));
    fw->finish(fw, r);
    feed_write_free(fw);
}

/* Loop (writer_call): hands the loaded row over, or the error. */
static void
load_done(struct writer_job *job, int r)
{
    struct feed_write *fw = (struct feed_write *)((char *)job - offsetof(struct feed_write, job));
    if (r < 0) {
        snprintf(fw->out_err, fw->out_err_size, "%s", job->error);
    } else {
        *fw->out = fw->st;
        fw->st = (struct store_feed){0};
    }
}

static struct feed_write *
feed_write_new(struct daemon *d, enum feed_write_kind kind, const char *name,
               void (*finish)(struct feed_write *, int), daemon_change_cb cb, void *ctx)
{
    struct feed_write *fw = calloc(1, sizeof(*fw));
    if (!fw || !(fw->name = strdup(name))) {
        free(fw);
        return NULL;
    }
    fw->d = d;
    fw->kind = kind;
    fw->finish = finish;
    fw->cb = cb;
    fw->ctx = ctx;
    fw->job =
        (struct writer_job){.work = feed_write_work, .done = feed_write_done, .mode = WRITER_TXN};
    return fw;
}

/* Queues fw in the writer; on failure frees it and returns the message for the user. */
static int
feed_write_submit(struct feed_write *fw, const char *what, char **reterr_msg)
{
    int r = writer_submit(fw->d->writer, &fw->job);
    if (r < 0) {
        feed_write_free(fw);
        return errmsg(reterr_msg, r, "%s: store: %s", what,
                      r == -EAGAIN ? "the store's writer is busy, try again" : strerror(-r));
    }
    return 0;
}

/* Calls cb with a refusal (r, *err) and frees the message. */
static void
change_refused(daemon_change_cb cb, void *ctx, int r, char *err)
{
    cb(ctx, r, NULL, err);
    free(err);
}

static void
save_finish(struct feed_write *fw, int r)
{
    char q[LOG_QUOTE_MAX];
    if (r < 0)
        log_error("store: feed '%s': cannot save its state: %s", log_quote(fw->name, q, sizeof(q)),
                  fw->job.error);
}

/* Saves a copy of f's state as it is now through the writer; an error is logged. */
void
daemon_feed_save(struct daemon *d, struct dfeed *f)
{
    char *err = NULL;
    struct feed_write *fw =
        feed_write_new(d, FEED_WRITE_SAVE, f->cfg->name, save_finish, NULL, NULL);
    if (fw && store_feed_copy(&fw->st, &f->st) < 0) {
        feed_write_free(fw);
        fw = NULL;
    }
    int r = fw ? feed_write_submit(fw, "save", &err) : -ENOMEM;
    if (r < 0) {
        char q[LOG_QUOTE_MAX];
        log_error("store: feed '%s': cannot save its state: %s",
                  log_quote(f->cfg->name, q, sizeof(q)), err ? err : strerror(-r));
    }
    free(err);
}

/*
 * Loads the row of the feed called name (creating it if new; a config feed loses its run-time
 * marker) into *ret, waiting for the writer: at start, and at a reload for the feeds it
 * brings. 0, or a negative errno with err saying why.
 */
static int
feed_row_load(struct daemon *d, const char *name, const char *url, bool config_feed,
              struct store_feed *ret, char *err, size_t err_size)
{
    struct feed_write *fw = feed_write_new(d, FEED_WRITE_LOAD, name, NULL, NULL, NULL);
    if (!fw || !(fw->url = strdup(url))) {
        if (fw)
            feed_write_free(fw);
        snprintf(err, err_size, "out of memory");
        return -ENOMEM;
    }
    fw->config_feed = config_feed;
    fw->job.done = load_done; /* hands the row over; fw stays ours */
    fw->out = ret;
    fw->out_err = err;
    fw->out_err_size = err_size;
    snprintf(err, err_size, "the store's writer is not running");
    int r = writer_call(d->writer, &fw->job);
    feed_write_free(fw);
    return r;
}

static void
marker_finish(struct feed_write *fw, int r)
{
    char q[LOG_QUOTE_MAX];
    if (r < 0)
        log_error("store: feed '%s': cannot clear the run-time marker: %s",
                  log_quote(fw->name, q, sizeof(q)), fw->job.error);
}

/* Clears the run-time marker of f's row (a reload's config names it now); errors are logged. */
static void
feed_marker_clear(struct daemon *d, struct dfeed *f)
{
    char *err = NULL;
    struct feed_write *fw =
        feed_write_new(d, FEED_WRITE_RUNTIME, f->cfg->name, marker_finish, NULL, NULL);
    int r = -ENOMEM;
    if (fw) {
        fw->id = f->st.id;
        r = feed_write_submit(fw, "reload", &err);
    }
    if (r < 0) {
        char q[LOG_QUOTE_MAX];
        log_error("store: feed '%s': cannot clear the run-time marker: %s",
                  log_quote(f->cfg->name, q, sizeof(q)), err ? err : strerror(-r));
    }
    free(err);
}

/* Whether a feed called name is being added. */
static bool
adding_find(const struct daemon *d, const char *name)
{
    for (size_t i = 0; i < d->n_adding; i++)
        if (strcmp(d->adding[i]->cfg->name, name) == 0)
            return true;
    return false;
}

static void
adding_remove(struct daemon *d, struct dfeed *f)
{
    for (size_t i = 0; i < d->n_adding; i++) {
        if (d->adding[i] != f)
            continue;
        memmove(&d->adding[i], &d->adding[i + 1], (d->n_adding - i - 1) * sizeof(*d->adding));
        d->n_adding--;
        return;
    }
}

/* The row of `add` is stored (or not): the feed joins the table and polls now. */
static void
add_finish(struct feed_write *fw, int r)
{
    struct daemon *d = fw->d;
    struct dfeed *f = fw->f;
    adding_remove(d, f);
    if (r < 0) {
        dfeed_free(f);
        change_refused(fw->cb, fw->ctx, r, msgf("add: store: %s", fw->job.error));
        return;
    }
    if (daemon_feed_find(d, fw->name)) {
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
    if ((!f->st.runtime_url && !(f->st.runtime_url = strdup(fw->url))) || feeds_insert(d, f) < 0) {
        dfeed_free(f);
        change_refused(fw->cb, fw->ctx, -ENOMEM, msgf("add: out of memory"));
        return;
    }
    char q1[LOG_QUOTE_MAX], q2[LOG_QUOTE_MAX];
    char *shown = url_redact(fw->url); /* no user:password@ in the log */
    log_notice("control: feed '%s': added at run time, url '%s'",
               log_quote(fw->name, q1, sizeof(q1)),
               log_quote(shown ? shown : "(not shown)", q2, sizeof(q2)));
    free(shown);
    if (!d->once && !d->stopping)
        (void)sched_arm(d->sched, &f->sched, util_now_ms());
    fw->cb(fw->ctx, 0, f, NULL);
}

/* Adds a feed at run time: stored with its marker, then polled now. */
void
daemon_feed_add(struct daemon *d, const char *name, const char *url,
                const struct daemon_feed_opts *opts, daemon_change_cb cb, void *ctx)
{
    static const struct daemon_feed_opts no_opts;
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
    if (runtime_opts_check(opts, &err) < 0)
        return change_refused(cb, ctx, -EINVAL, err);
    if (daemon_feed_find(d, name) || adding_find(d, name))
        return change_refused(cb, ctx, -EEXIST, msgf("feed '%s' exists", name));
    struct feed_write *fw = feed_write_new(d, FEED_WRITE_ADD, name, add_finish, cb, ctx);
    struct dfeed **na = realloc(d->adding, (d->n_adding + 1) * sizeof(*na));
    if (na)
        d->adding = na;
    if (!fw || !na || !(fw->url = strdup(url)) || !(fw->opts_json = runtime_opts_json(opts)) ||
        dfeed_new_runtime(d, name, url, opts, false, &fw->f) < 0) {
        if (fw)
            feed_write_free(fw);
        return change_refused(cb, ctx, -ENOMEM, msgf("add: out of memory"));
    }
    struct dfeed *f = fw->f;
    if (feed_write_submit(fw, "add", &err) < 0) {
        dfeed_free(f);
        return change_refused(cb, ctx, -EAGAIN, err);
    }
    d->adding[d->n_adding++] = f;
}

static void
remove_finish(struct feed_write *fw, int r)
{
    struct daemon *d = fw->d;
    if (r < 0)
        return change_refused(fw->cb, fw->ctx, r, msgf("remove: store: %s", fw->job.error));
    struct dfeed *f = daemon_feed_find(d, fw->name);
    if (f && f->runtime_cfg) { /* else removed meanwhile, or named by a reload: kept */
        char q[LOG_QUOTE_MAX];
        log_notice("control: feed '%s': removed at run time", log_quote(fw->name, q, sizeof(q)));
        feeds_unlink(d, f);
        dfeed_drop(d, f);
    }
    fw->cb(fw->ctx, 0, NULL, NULL);
}

/* Removes a feed added at run time; its items stay, so they are never new again. */
void
daemon_feed_remove(struct daemon *d, const char *name, daemon_change_cb cb, void *ctx)
{
    char *err = NULL;
    struct dfeed *f = daemon_feed_find(d, name);
    if (!f)
        return change_refused(cb, ctx, -ENOENT, msgf("no feed '%.200s'", name));
    if (!f->runtime_cfg)
        return change_refused(cb, ctx, -EPERM,
                              msgf("feed '%s' is in the config; remove it there", name));
    struct feed_write *fw = feed_write_new(d, FEED_WRITE_RUNTIME, name, remove_finish, cb, ctx);
    if (!fw || !(fw->url = strdup(f->runtime_cfg->url))) {
        if (fw)
            feed_write_free(fw);
        return change_refused(cb, ctx, -ENOMEM, msgf("remove: out of memory"));
    }
    fw->id = f->st.id;
    fw->removed = true;
    if (feed_write_submit(fw, "remove", &err) < 0)
        change_refused(cb, ctx, -EAGAIN, err);
}

/*
 * Queues the save of f's state after pause or resume changed it (was_*: the fields before);
 * on a refusal the change is undone at once and cb told.
 */
static void
state_change_submit(struct daemon *d, struct dfeed *f, const char *what,
                    void (*finish)(struct feed_write *, int), bool was_paused,
                    unsigned was_failures, char *was_reason, daemon_change_cb cb, void *ctx)
{
    char *err = NULL;
    f->st_gen++; /* a poll being saved must not write its older copy */
    struct feed_write *fw = feed_write_new(d, FEED_WRITE_SAVE, f->cfg->name, finish, cb, ctx);
    int r = fw && store_feed_copy(&fw->st, &f->st) == 0 ? 0 : -ENOMEM;
    if (r == 0) {
        r = feed_write_submit(fw, what, &err); /* its done callback runs later, on the loop */
    } else {
        if (fw)
            feed_write_free(fw);
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
    feed_schedule_initial(d, f);
    change_refused(cb, ctx, r, err);
}

/* After pause or resume was stored (or not): undone when refused and nothing changed since. */
static struct dfeed *
state_change_finish(struct feed_write *fw, int r, const char *what)
{
    struct daemon *d = fw->d;
    struct dfeed *f = daemon_feed_find(d, fw->name);
    if (r < 0) {
        if (f && f->st_gen == fw->gen) {
            f->st.paused = fw->was_paused;
            f->st.failures = fw->was_failures;
            free(f->st.disabled_reason);
            f->st.disabled_reason = fw->was_reason;
            fw->was_reason = NULL;
            if (!d->stopping && !d->once)
                feed_schedule_initial(d, f);
        }
        change_refused(fw->cb, fw->ctx, r, msgf("%s: store: %s", what, fw->job.error));
        return NULL;
    }
    if (!f)
        change_refused(fw->cb, fw->ctx, -ENOENT, msgf("no feed '%.200s'", fw->name));
    return f;
}

static void
pause_finish(struct feed_write *fw, int r)
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
daemon_feed_pause(struct daemon *d, const char *name, daemon_change_cb cb, void *ctx)
{
    struct dfeed *f = daemon_feed_find(d, name);
    if (!f)
        return change_refused(cb, ctx, -ENOENT, msgf("no feed '%.200s'", name));
    sched_disarm(d->sched, &f->sched);
    if (f->st.paused) {
        cb(ctx, 0, f, NULL);
        return;
    }
    char *reason = NULL;
    if (f->st.disabled_reason && !(reason = strdup(f->st.disabled_reason)))
        return change_refused(cb, ctx, -ENOMEM, msgf("pause: out of memory"));
    f->st.paused = true;
    state_change_submit(d, f, "pause", pause_finish, false, f->st.failures, reason, cb, ctx);
}

static void
resume_finish(struct feed_write *fw, int r)
{
    struct daemon *d = fw->d;
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
daemon_feed_resume(struct daemon *d, const char *name, daemon_change_cb cb, void *ctx)
{
    struct dfeed *f = daemon_feed_find(d, name);
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
    state_change_submit(d, f, "resume", resume_finish, was_paused, was_failures, was_reason, cb,
                        ctx);
}

/* Topics pinned by writer jobs: freed by the last unpin once a reload retired them. */
struct topics_pin {
    struct alerts *alerting;
    struct conf *conf; /* the config they point into, once retired */
    unsigned refs;
    bool retired;
};

struct topics_pin *
daemon_topics_pin(struct daemon *d)
{
    if (!d->topics_pin) {
        d->topics_pin = calloc(1, sizeof(*d->topics_pin));
        if (!d->topics_pin)
            return NULL;
        d->topics_pin->alerting = d->alerting;
    }
    d->topics_pin->refs++;
    return d->topics_pin;
}

struct alerts *
daemon_topics_alerting(const struct topics_pin *pin)
{
    return pin->alerting;
}

void
daemon_topics_unpin(struct topics_pin *pin)
{
    if (!pin || --pin->refs > 0 || !pin->retired)
        return;
    alerts_free(pin->alerting);
    conf_free(pin->conf);
    free(pin);
}

/*
 * A reload replaces the topics (and their config): freed now unless writer jobs still
 * match with them, then by the last of those.
 */
static void
topics_retire(struct daemon *d, struct conf *old_conf)
{
    struct topics_pin *pin = d->topics_pin;
    d->topics_pin = NULL;
    if (pin && pin->refs > 0) {
        pin->retired = true;
        pin->conf = old_conf;
        return;
    }
    free(pin);
    alerts_free(d->alerting);
    conf_free(old_conf);
}

static void
fetch_settings_from(const struct conf *conf, struct fetch_settings *s)
{
    *s = (struct fetch_settings){
        .max_connections = conf->daemon.max_connections,
        .max_per_host = conf->daemon.max_per_host,
        .user_agent = conf->daemon.user_agent,
        .proxy = conf->daemon.proxy,
        .timeout_ms = conf->daemon.fetch_timeout_s * 1000,
    };
}

/* Re-reads the config; on error keeps the old one and returns -EINVAL with *reterr_msg. */
int
daemon_reload(struct daemon *d, char **reterr_msg)
{
    struct conf *nc = NULL;
    char *err = NULL;
    notify_reloading();
    int r = conf_load(d->config_path, &nc, &err);
    if (r < 0) {
        log_error("config: reload failed, keeping the running configuration:\n%s",
                  err ? err : strerror(-r));
        *reterr_msg = err ? err : strdup(strerror(-r));
        notify_ready("reload failed; running the previous configuration");
        return r;
    }
    struct alerts *na = NULL;
    r = alerts_new(nc, &na, reterr_msg);
    if (r < 0) {
        log_error("config: reload failed, keeping the running configuration:\n%s",
                  *reterr_msg ? *reterr_msg : strerror(-r));
        conf_free(nc);
        notify_ready("reload failed; running the previous configuration");
        return r;
    }
    struct dfeed **feeds = NULL;
    size_t n = 0;
    for (size_t i = 0; i < d->n_feeds; i++)
        d->feeds[i]->kept = false;
    r = feeds_build(d, nc, &feeds, &n, reterr_msg);
    if (r < 0) {
        log_error("config: reload failed: %s", *reterr_msg ? *reterr_msg : strerror(-r));
        alerts_free(na);
        conf_free(nc);
        notify_ready("reload failed; running the previous configuration");
        return r;
    }

    /* Feeds that are gone: stop them (an in-flight poll is aborted and frees the feed). */
    struct conf *old = d->conf;
    size_t added = 0, removed = 0, changed = 0;
    for (size_t i = 0; i < d->n_feeds; i++) {
        struct dfeed *f = d->feeds[i];
        if (f->kept)
            continue;
        removed++;
        dfeed_drop(d, f);
    }
    for (size_t i = 0; i < n; i++) {
        struct dfeed *f = feeds[i];
        if (i >= nc->n_feeds) {
            /* A run-time feed the config does not name: its own interval, else the daemon's. */
            if (!f->runtime_interval)
                f->runtime_cfg->interval_s = nc->daemon.interval_s;
            continue;
        }
        const struct conf_feed *cfg = &nc->feeds[i]; /* feeds_build keeps the config's order */
        if (f->cfg == cfg) {
            added++; /* built on nc just now */
            continue;
        }
        if (f->runtime_cfg) {
            /* The config names a feed added at run time: the config wins from now on. */
            feed_marker_clear(d, f);
            free(f->st.runtime_url);
            f->st.runtime_url = NULL;
        }
        bool url_changed = strcmp(f->cfg->url, cfg->url) != 0;
        bool differs = conf_feed_changed(f->cfg, cfg);
        f->cfg = cfg;
        runtime_cfg_free(f->runtime_cfg);
        f->runtime_cfg = NULL;
        f->runtime_interval = false;
        if (!differs)
            continue;
        changed++;
        if (url_changed) {
            /* A new source: forget the old one's validators and poll it now. */
            if (f->poll)
                feedpoll_cancel(f->poll);
            struct store_feed st = {0};
            char why[WRITER_ERROR_MAX];
            if (feed_row_load(d, cfg->name, cfg->url, false, &st, why, sizeof(why)) == 0) {
                store_feed_done(&f->st);
                f->st = st;
            } else {
                char q[LOG_QUOTE_MAX];
                log_error("store: feed '%s': cannot load its new source: %s",
                          log_quote(cfg->name, q, sizeof(q)), why);
            }
            f->st.next_poll_at = FEED_TIME_NONE;
            f->st.last_poll_at = FEED_TIME_NONE;
        } else if (f->st.last_poll_at != FEED_TIME_NONE) {
            f->st.next_poll_at = f->st.last_poll_at + (int64_t)cfg->interval_s;
        }
    }
    free(d->feeds);
    d->feeds = feeds;
    d->n_feeds = n;
    qsort(d->feeds, d->n_feeds, sizeof(*d->feeds), feed_cmp);
    d->conf = nc;
    for (size_t i = 0; i < n; i++)
        feed_schedule_initial(d, d->feeds[i]);
    struct fetch_settings fs;
    fetch_settings_from(nc, &fs);
    (void)fetch_configure(d->fetcher, &fs);
    log_set_level((enum log_level)nc->daemon.log_level);
    (void)metrics_listen_apply(d, old->daemon.metrics_listen); /* a failure keeps no listener */
    topics_retire(d, old); /* frees d->alerting and old, unless the writer matches with them */
    d->alerting = na;
    log_notice("config: reloaded '%s': %zu feeds (%zu added, %zu removed, %zu changed), "
               "%zu topics",
               d->config_path, d->n_feeds, added, removed, changed, alerts_topics(na));
    hook_kick(d->hooks);
    char line[256];
    status_line(d, line, sizeof(line));
    notify_ready(line);
    return 0;
}

static void
on_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;
    if (signum == SIGHUP) {
        char *err = NULL;
        log_notice("config: SIGHUP, reloading");
        (void)daemon_reload(d, &err);
        free(err);
        return;
    }
    log_notice("daemon: %s, stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    daemon_stop(d, 0);
}

static void
on_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* The teardown itself, on a fresh loop turn so that no curl or libuv callback is below us. */
static void
on_stop_timer(uv_timer_t *t)
{
    struct daemon *d = t->data;
    notify_stopping();
    /* Every write queued is done (finished polls are kept; the others are aborted below). */
    writer_close(d->writer);
    if (d->control)
        ctlcmd_close(d);
    metrics_http_stop(d->metrics_http);
    d->metrics_http = NULL;
    while (d->ready_head)
        ready_unlink(d, d->ready_head);
    if (d->sched) {
        sched_close(d->sched);
        d->sched = NULL;
    }
    if (d->hooks) {
        hook_close(d->hooks); /* running deliveries stay "running": they run again at start */
        d->hooks = NULL;
    }
    if (d->fetcher) {
        fetch_close(d->fetcher); /* aborts in-flight polls through their done path */
        d->fetcher = NULL;
    }
    uv_walk(&d->loop, on_walk_close, NULL);
}

/* Begins a clean stop with the given exit code. */
void
daemon_stop(struct daemon *d, int exit_code)
{
    if (d->stopping)
        return;
    d->stopping = true;
    d->exit_code = exit_code;
    (void)uv_timer_start(&d->stop_timer, on_stop_timer, 0, 0);
}

static void
daemon_free_state(struct daemon *d)
{
    for (size_t i = 0; i < d->n_feeds; i++)
        dfeed_free(d->feeds[i]);
    free(d->feeds);
    d->feeds = NULL;
    d->n_feeds = 0;
    for (size_t i = 0; i < d->n_adding; i++) /* their writes were drained: none is left */
        dfeed_free(d->adding[i]);
    free(d->adding);
    d->adding = NULL;
    d->n_adding = 0;
    retention_free(d->retention);
    d->retention = NULL;
    search_free(d->search); /* joins the indexer after its batch */
    d->search = NULL;
    store_free(d->store);
    d->store = NULL;
    writer_free(d->writer); /* closed last: the last connection checkpoints the WAL */
    d->writer = NULL;
    free(d->topics_pin); /* no job is left to hold it */
    d->topics_pin = NULL;
    alerts_free(d->alerting);
    d->alerting = NULL;
    conf_free(d->conf);
    d->conf = NULL;
    metrics_free(d->metrics);
    events_free(d->events);
    d->events = NULL;
    d->metrics = NULL;
}

struct topic_counts {
    struct metrics_topic *v;
    size_t n, cap;
};

static int
on_topic_count(void *userdata, const char *topic, int64_t count)
{
    struct topic_counts *c = userdata;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct metrics_topic *v = realloc(c->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        c->v = v;
        c->cap = cap;
    }
    char *name = strdup(topic);
    if (!name)
        return -ENOMEM;
    c->v[c->n++] = (struct metrics_topic){.topic = name, .alerts = (uint64_t)count};
    return 0;
}

/* The resident set size from /proc/self/statm, or 0. */
static uint64_t
rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    unsigned long pages = 0, resident = 0;
    if (!f)
        return 0;
    int n = fscanf(f, "%lu %lu", &pages, &resident);
    (void)fclose(f);
    long psz = sysconf(_SC_PAGESIZE);
    return n == 2 && psz > 0 ? (uint64_t)resident * (uint64_t)psz : 0;
}

char *
daemon_metrics_text(struct daemon *d)
{
    struct metrics_gauges g = {0};
    for (size_t i = 0; i < d->n_feeds; i++) {
        switch (daemon_feed_state(d->feeds[i])) {
        case DFEED_OK:
            g.feeds_ok++;
            break;
        case DFEED_FAILING:
            g.feeds_failing++;
            break;
        case DFEED_DISABLED:
            g.feeds_disabled++;
            break;
        case DFEED_PAUSED:
            g.feeds_paused++;
            break;
        }
    }
    struct topic_counts tc = {0};
    if (store_alert_topic_counts(d->store, on_topic_count, &tc) < 0)
        log_warn("metrics: cannot read the alerts per topic: %s", store_errmsg(d->store));
    if (store_alert_counts(d->store, &g.alerts_delivered, &g.alerts_pending, &g.alerts_failed,
                           &g.alerts_no_hook) < 0)
        log_warn("metrics: cannot read the alert counts: %s", store_errmsg(d->store));
    (void)store_disk_bytes(d->store, &g.database_bytes);
    g.topics = tc.v;
    g.n_topics = tc.n;
    g.items_total = d->items_total > 0 ? (uint64_t)d->items_total : 0;
    g.polls_active = d->polls_active;
    g.polls_waiting = d->n_ready;
    g.store_queue = writer_queued(d->writer);
    g.hooks_running = d->hooks ? hook_running(d->hooks) : 0;
    g.search_lag_items = d->search ? (uint64_t)search_lag(d->search) : 0;
    g.rss_bytes = rss_bytes();
    g.uptime_s = (double)(uv_now(&d->loop) - d->started_ms) / 1000;
    char *text = metrics_render(d->metrics, &g);
    for (size_t i = 0; i < tc.n; i++)
        free((char *)tc.v[i].topic);
    free(tc.v);
    return text;
}

static char *
render_metrics(void *userdata)
{
    return daemon_metrics_text(userdata);
}

/* Starts, moves or stops the /metrics listener as the config says; logs a failure. */
static int
metrics_listen_apply(struct daemon *d, const char *old_listen)
{
    const char *listen = d->conf->daemon.metrics_listen;
    if (d->metrics_http && old_listen && listen && strcmp(old_listen, listen) == 0)
        return 0;
    metrics_http_stop(d->metrics_http);
    d->metrics_http = NULL;
    if (!listen || d->once)
        return 0;
    char *err = NULL;
    int r = metrics_http_start(&d->loop, listen, render_metrics, d, &d->metrics_http, &err);
    if (r < 0)
        log_error("metrics: %s", err ? err : strerror(-r));
    else
        log_notice("metrics: serving http://%s/metrics", listen);
    free(err);
    return r;
}

/* Runs the daemon on config_path until a signal (or, with once, one cycle) ends it. */
int
daemon_run(const char *config_path, bool once)
{
    struct daemon *d = calloc(1, sizeof(*d));
    char *err = NULL;
    int r;
    if (!d)
        return 1;
    d->once = once;
    d->config_path = strdup(config_path);
    d->metrics = metrics_new();
    d->events = events_new();
    if (!d->config_path || !d->metrics || !d->events) {
        free(d->config_path);
        metrics_free(d->metrics);
        events_free(d->events);
        free(d);
        return 1;
    }
    util_rng_seed(&d->rng);

    r = conf_load(config_path, &d->conf, &err);
    if (r < 0) {
        fprintf(stderr, "%s\n", err ? err : strerror(-r));
        free(err);
        free(d->config_path);
        metrics_free(d->metrics);
        events_free(d->events);
        free(d);
        return 2;
    }
    r = alerts_new(d->conf, &d->alerting, &err);
    if (r < 0) {
        fprintf(stderr, "%s\n", err ? err : strerror(-r));
        free(err);
        conf_free(d->conf);
        free(d->config_path);
        metrics_free(d->metrics);
        events_free(d->events);
        free(d);
        return 2;
    }
    log_set_level((enum log_level)d->conf->daemon.log_level);
    (void)signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("daemon: curl_global_init failed");
        goto fail_early;
    }
    xmlInitParser();

    const char *db = d->conf->daemon.database;
    if ((r = util_ensure_parent_dir(db)) < 0) {
        log_error("store: cannot create the folder of '%s': %s", db, strerror(-r));
        goto fail_early;
    }
    /*
     * Created and migrated by a read-write connection; the loop's own connection only reads
     * (every write goes through the writer, opened with the loop), so a write forgotten on
     * it fails at once. A damaged file is refused at start, with what to do, rather than
     * failing polls later.
     */
    struct store *init = NULL;
    if ((r = store_open(db, &init, &err)) < 0 || (r = store_open_reader(db, &d->store, &err)) < 0 ||
        (r = store_check(d->store, &err)) < 0) {
        log_error("store: %s", err ? err : strerror(-r));
        store_free(init);
        goto fail_early;
    }
    store_free(init);
    r = store_count_items(d->store, &d->items_total);
    if (r < 0) {
        log_error("store: cannot count items: %s", store_errmsg(d->store));
        goto fail_early;
    }
    /* --once does not wait for the index: it catches up at the next start (PRODUCT.md). */
    if (!once) {
        char *serr = NULL;
        r = search_new(db, &d->search, &serr);
        if (r < 0)
            log_warn("search: %s, search is off until the next start", serr ? serr : strerror(-r));
        free(serr);
        search_kick(d->search);
    }

    if ((r = uv_loop_init(&d->loop)) < 0) {
        log_error("daemon: uv_loop_init: %s", uv_strerror(r));
        goto fail_early;
    }
    uv_timer_init(&d->loop, &d->stop_timer);
    d->stop_timer.data = d;
    if ((r = writer_open(&d->loop, db, &d->writer, &err)) < 0) {
        log_error("store: %s", err ? err : strerror(-r));
        goto fail_loop;
    }
    struct fetch_settings fs;
    fetch_settings_from(d->conf, &fs);
    d->fetcher = fetch_new(&d->loop, &fs, &err);
    d->sched = sched_new(&d->loop, on_sched_due, sched_clock, d);
    if (!d->fetcher || !d->sched) {
        log_error("daemon: cannot start: %s", err ? err : "out of memory");
        goto fail_loop;
    }
    if ((r = hook_new(d, &d->hooks)) < 0)
        goto fail_loop; /* logged */
    if ((r = feeds_build(d, d->conf, &d->feeds, &d->n_feeds, &err)) < 0) {
        log_error("daemon: %s", err ? err : strerror(-r));
        goto fail_loop;
    }
    qsort(d->feeds, d->n_feeds, sizeof(*d->feeds), feed_cmp);
    if ((r = feeds_load_runtime(d, &err)) < 0) {
        log_error("daemon: %s", err ? err : strerror(-r));
        goto fail_loop;
    }
    if ((r = retention_new(d, &d->retention)) < 0) {
        log_error("retention: cannot start: %s",
                  r == -ENOMEM ? strerror(-r) : store_errmsg(d->store));
        goto fail_loop;
    }

    if (!once) {
        const char *sock = d->conf->daemon.socket;
        if ((r = util_ensure_parent_dir(sock)) < 0 || (r = ctlcmd_listen(d, sock, &err)) < 0) {
            log_error("control: %s", err ? err : strerror(-r));
            goto fail_loop;
        }
        uv_signal_init(&d->loop, &d->sig_hup);
        d->sig_hup.data = d;
        uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
        if ((r = metrics_listen_apply(d, NULL)) < 0)
            goto fail_loop;
    }
    uv_signal_init(&d->loop, &d->sig_term);
    uv_signal_init(&d->loop, &d->sig_int);
    d->sig_term.data = d->sig_int.data = d;
    uv_signal_start(&d->sig_term, on_signal, SIGTERM);
    uv_signal_start(&d->sig_int, on_signal, SIGINT);
    uv_timer_init(&d->loop, &d->status_timer);
    d->status_timer.data = d;
    uv_timer_start(&d->status_timer, on_status_timer, DAEMON_STATUS_PERIOD_MS,
                   DAEMON_STATUS_PERIOD_MS);
    d->watchdog_usec = notify_watchdog_usec();
    if (d->watchdog_usec) {
        uint64_t period = d->watchdog_usec / 2000;
        uv_timer_init(&d->loop, &d->watchdog);
        uv_timer_start(&d->watchdog, on_watchdog_timer, period ? period : 1, period ? period : 1);
        notify_watchdog();
    }
    d->started_ms = uv_now(&d->loop);

    hook_kick(d->hooks);
    if (once) {
        for (size_t i = 0; i < d->n_feeds; i++)
            if (feed_pollable(d->feeds[i]))
                d->once_remaining++;
        if (d->once_remaining == 0)
            daemon_hooks_progress(d);
        for (size_t i = 0; i < d->n_feeds && !d->stopping; i++)
            if (feed_pollable(d->feeds[i]))
                (void)daemon_feed_poll_now(d, d->feeds[i], NULL, NULL);
    } else {
        for (size_t i = 0; i < d->n_feeds; i++)
            feed_schedule_initial(d, d->feeds[i]);
    }
    char line[256];
    status_line(d, line, sizeof(line));
    log_notice("daemon: feedwatchd %s started: %s%s", FW_VERSION, line, once ? " (once)" : "");
    notify_ready(line);

    (void)uv_run(&d->loop, UV_RUN_DEFAULT);
    r = uv_loop_close(&d->loop);
    assert(r == 0);
    int code = d->exit_code;
    daemon_free_state(d);
    log_notice("daemon: stopped");
    free(d->config_path);
    free(d);
    xmlCleanupParser();
    curl_global_cleanup();
    return code;

fail_loop:
    daemon_stop(d, 1);
    (void)uv_run(&d->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&d->loop);
fail_early:
    free(err);
    daemon_free_state(d);
    free(d->config_path);
    free(d);
    curl_global_cleanup();
    return 1;
}
