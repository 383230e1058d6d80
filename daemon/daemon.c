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
    json_t *j = tags ? json_pack("{s:I, s:o, s:b}", "interval_s", (json_int_t)o->interval_s,
                                 "tags", tags, "fetch_article", o->fetch_article)
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

/* Creates the run-time feed for cfg, loading (or creating) its row. */
static int
dfeed_new(struct daemon *d, const struct conf_feed *cfg, struct dfeed **ret)
{
    struct dfeed *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->d = d;
    f->cfg = cfg;
    sched_entry_init(&f->sched);
    int r = store_feed_ensure(d->store, cfg->name, cfg->url, &f->st);
    if (r < 0) {
        free(f);
        return r;
    }
    /* The config names it: it is a config feed now, whatever `add` or `remove` said before. */
    if (f->st.runtime_url || f->st.removed) {
        r = store_feed_set_runtime(d->store, f->st.id, NULL, false);
        if (r < 0) {
            store_feed_done(&f->st);
            free(f);
            return r;
        }
        free(f->st.runtime_url);
        f->st.runtime_url = NULL;
        f->st.removed = false;
    }
    *ret = f;
    return 0;
}

/* Creates the run-time feed of a feed added with `feedwatch add` (opts may be NULL). */
static int
dfeed_new_runtime(struct daemon *d, const char *name, const char *url,
                  const struct daemon_feed_opts *opts, struct dfeed **ret)
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
    int r = store_feed_ensure(d->store, name, url, &f->st);
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
 * Starts waiting feeds while slots are free. A feed paused, disabled or stopped while it
 * waited is not polled: its waiters hear so, and it is scheduled as its state says.
 */
static void
start_ready(struct daemon *d)
{
    if (d->starting_ready)
        return; /* the outer call goes on */
    d->starting_ready = true;
    while (d->ready_head && d->polls_active < daemon_poll_slots(d) && !d->stopping) {
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
    if (d->polls_active >= daemon_poll_slots(d)) {
        ready_push(d, f);
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
             d->hooks ? hooks_running(d->hooks) : 0);
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
feed_after_poll(struct daemon *d, struct dfeed *f, enum poll_outcome outcome,
                uint64_t new_items, uint64_t new_alerts)
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
    if (d->once && d->once_remaining == 0 && !d->stopping && hooks_idle(d->hooks)) {
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
feeds_build(struct daemon *d, const struct conf *conf, struct dfeed ***ret_feeds,
            size_t *ret_n, char **reterr_msg)
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
        int r = dfeed_new(d, cfg, &feeds[n]);
        if (r < 0) {
            if (reterr_msg && asprintf(reterr_msg, "store: feed '%s': %s", cfg->name,
                                       store_errmsg(d->store)) < 0)
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
                        "the defaults apply", log_quote(rows.names[i], q, sizeof(q)));
            r = 0;
        }
        if (r == 0)
            r = dfeed_new_runtime(d, rows.names[i], rows.urls[i], &opts, &f);
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

/* Adds a feed at run time: stored with its marker, polled now. */
int
daemon_feed_add(struct daemon *d, const char *name, const char *url,
                const struct daemon_feed_opts *opts, struct dfeed **ret_feed, char **reterr_msg)
{
    static const struct daemon_feed_opts no_opts;
    if (!opts)
        opts = &no_opts;
    if (!feed_name_valid(name, strlen(name)))
        return errmsg(reterr_msg, -EINVAL,
                      "add: a feed name is 1 to %d letters, digits, '.', '_' or '-'",
                      FEED_NAME_MAX);
    if (!feed_url_valid(url) || url_has_userinfo(url))
        return errmsg(reterr_msg, -EINVAL,
                      "add: the URL must be http:// or https:// with a host, at most %d bytes, "
                      "without spaces or credentials", FEED_URL_MAX);
    if (runtime_opts_check(opts, reterr_msg) < 0)
        return -EINVAL;
    if (daemon_feed_find(d, name))
        return errmsg(reterr_msg, -EEXIST, "feed '%s' exists", name);
    char *opts_json = runtime_opts_json(opts);
    if (!opts_json)
        return errmsg(reterr_msg, -ENOMEM, "add: out of memory");
    struct dfeed *f = NULL;
    int r = dfeed_new_runtime(d, name, url, opts, &f);
    if (r == 0) {
        /* A name used before (and removed) starts afresh. */
        f->st.paused = false;
        f->st.failures = 0;
        free(f->st.disabled_reason);
        f->st.disabled_reason = NULL;
        f->st.next_poll_at = FEED_TIME_NONE;
        if ((r = store_feed_set_runtime(d->store, f->st.id, url, false)) == 0 &&
            (r = store_feed_set_runtime_opts(d->store, f->st.id, opts_json)) == 0)
            r = store_feed_save(d->store, &f->st);
        free(f->st.runtime_opts);
        f->st.runtime_opts = opts_json;
        opts_json = NULL;
        free(f->st.runtime_url);
        f->st.runtime_url = NULL;
        f->st.removed = false;
        if (r == 0 && !(f->st.runtime_url = strdup(url)))
            r = -ENOMEM;
        if (r < 0) {
            int e = errmsg(reterr_msg, r, "add: store: %s",
                           r == -ENOMEM ? "out of memory" : store_errmsg(d->store));
            dfeed_free(f);
            return e;
        }
        if ((r = feeds_insert(d, f)) < 0) {
            dfeed_free(f);
            return errmsg(reterr_msg, r, "add: out of memory");
        }
    } else {
        free(opts_json);
        return errmsg(reterr_msg, r, "add: store: %s",
                      r == -ENOMEM ? "out of memory" : store_errmsg(d->store));
    }
    char q1[LOG_QUOTE_MAX], q2[LOG_QUOTE_MAX];
    char *shown = url_redact(url); /* no user:password@ in the log */
    log_notice("control: feed '%s': added at run time, url '%s'", log_quote(name, q1, sizeof(q1)),
               log_quote(shown ? shown : "(not shown)", q2, sizeof(q2)));
    free(shown);
    if (!d->once)
        (void)sched_arm(d->sched, &f->sched, util_now_ms());
    *ret_feed = f;
    return 0;
}

/* Removes a feed added at run time; its items stay, so they are never new again. */
int
daemon_feed_remove(struct daemon *d, const char *name, char **reterr_msg)
{
    struct dfeed *f = daemon_feed_find(d, name);
    if (!f)
        return errmsg(reterr_msg, -ENOENT, "no feed '%.200s'", name);
    if (!f->runtime_cfg)
        return errmsg(reterr_msg, -EPERM, "feed '%s' is in the config; remove it there", name);
    int r = store_feed_set_runtime(d->store, f->st.id, f->runtime_cfg->url, true);
    if (r < 0)
        return errmsg(reterr_msg, r, "remove: store: %s", store_errmsg(d->store));
    char q[LOG_QUOTE_MAX];
    log_notice("control: feed '%s': removed at run time", log_quote(name, q, sizeof(q)));
    feeds_unlink(d, f);
    dfeed_drop(d, f);
    return 0;
}

/* Pauses a feed: no polls until `resume`, also across restarts and reloads. */
int
daemon_feed_pause(struct daemon *d, const char *name, struct dfeed **ret_feed, char **reterr_msg)
{
    struct dfeed *f = daemon_feed_find(d, name);
    if (!f)
        return errmsg(reterr_msg, -ENOENT, "no feed '%.200s'", name);
    if (!f->st.paused) {
        f->st.paused = true;
        f->st_gen++; /* a poll being saved must not write its older copy */
        int r = store_feed_save(d->store, &f->st);
        if (r < 0) {
            f->st.paused = false;
            return errmsg(reterr_msg, r, "pause: store: %s", store_errmsg(d->store));
        }
        char q[LOG_QUOTE_MAX];
        log_notice("control: feed '%s': paused", log_quote(name, q, sizeof(q)));
    }
    sched_disarm(d->sched, &f->sched);
    *ret_feed = f;
    return 0;
}

/* Resumes a paused feed or one disabled by its errors (failures reset) and polls it now. */
int
daemon_feed_resume(struct daemon *d, const char *name, struct dfeed **ret_feed,
                   char **reterr_msg)
{
    struct dfeed *f = daemon_feed_find(d, name);
    if (!f)
        return errmsg(reterr_msg, -ENOENT, "no feed '%.200s'", name);
    if (!f->cfg->enabled)
        return errmsg(reterr_msg, -EPERM,
                      "feed '%s' is disabled in the config (enabled = no); change it there", name);
    bool was_paused = f->st.paused;
    unsigned was_failures = f->st.failures;
    char *was_reason = f->st.disabled_reason;
    f->st.paused = false;
    f->st.failures = 0;
    f->st.disabled_reason = NULL;
    f->st_gen++; /* a poll being saved must not write its older copy */
    int r = store_feed_save(d->store, &f->st);
    if (r < 0) {
        f->st.paused = was_paused;
        f->st.failures = was_failures;
        f->st.disabled_reason = was_reason;
        return errmsg(reterr_msg, r, "resume: store: %s", store_errmsg(d->store));
    }
    char q[LOG_QUOTE_MAX];
    if (was_paused || was_reason)
        log_notice("control: feed '%s': resumed", log_quote(name, q, sizeof(q)));
    free(was_reason);
    if (!d->once && !f->poll)
        (void)sched_arm(d->sched, &f->sched, util_now_ms());
    *ret_feed = f;
    return 0;
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
            if (store_feed_set_runtime(d->store, f->st.id, NULL, false) < 0) {
                char q[LOG_QUOTE_MAX];
                log_error("store: feed '%s': cannot clear the run-time marker: %s",
                          log_quote(cfg->name, q, sizeof(q)), store_errmsg(d->store));
            }
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
            if (store_feed_ensure(d->store, cfg->name, cfg->url, &st) == 0) {
                store_feed_done(&f->st);
                f->st = st;
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
    /* The writer thread matches with the old topics (and their config): both freed after. */
    bool retire = d->store_busy && !d->alerting_retired;
    if (retire)
        d->alerting_retired = d->alerting;
    else
        alerts_free(d->alerting);
    d->alerting = na;
    for (size_t i = 0; i < n; i++)
        feed_schedule_initial(d, d->feeds[i]);
    struct fetch_settings fs;
    fetch_settings_from(nc, &fs);
    (void)fetch_configure(d->fetcher, &fs);
    log_set_level((enum log_level)nc->daemon.log_level);
    (void)metrics_listen_apply(d, old->daemon.metrics_listen); /* a failure keeps no listener */
    if (retire)
        d->conf_retired = old;
    else
        conf_free(old);
    log_notice("config: reloaded '%s': %zu feeds (%zu added, %zu removed, %zu changed), "
               "%zu topics",
               d->config_path, d->n_feeds, added, removed, changed, alerts_topics(na));
    hooks_kick(d->hooks);
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
    feedpoll_flush(d); /* polls that finished are kept; the others are aborted below */
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
        hooks_close(d->hooks); /* running deliveries stay "running": they run again at start */
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
    retention_free(d->retention);
    d->retention = NULL;
    search_free(d->search); /* joins the indexer after its batch */
    d->search = NULL;
    store_free(d->wstore);
    d->wstore = NULL;
    store_free(d->store);
    d->store = NULL;
    alerts_free(d->alerting_retired);
    d->alerting_retired = NULL;
    conf_free(d->conf_retired);
    d->conf_retired = NULL;
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
        case DFEED_OK: g.feeds_ok++; break;
        case DFEED_FAILING: g.feeds_failing++; break;
        case DFEED_DISABLED: g.feeds_disabled++; break;
        case DFEED_PAUSED: g.feeds_paused++; break;
        }
    }
    struct topic_counts tc = {0};
    if (store_alert_topic_counts(d->store, on_topic_count, &tc) < 0)
        log_warn("metrics: cannot read the alerts per topic: %s", store_errmsg(d->store));
    if (store_alert_counts(d->store, &g.alerts_delivered, &g.alerts_pending, &g.alerts_failed) < 0)
        log_warn("metrics: cannot read the alert counts: %s", store_errmsg(d->store));
    (void)store_disk_bytes(d->store, &g.database_bytes);
    g.topics = tc.v;
    g.n_topics = tc.n;
    g.items_total = d->items_total > 0 ? (uint64_t)d->items_total : 0;
    g.polls_active = d->polls_active;
    g.polls_waiting = d->n_ready;
    g.store_queue = d->n_store;
    g.hooks_running = d->hooks ? hooks_running(d->hooks) : 0;
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
    /* A damaged file is refused at start, with what to do, rather than failing polls later. */
    if ((r = store_open(db, &d->store, &err)) < 0 || (r = store_check(d->store, &err)) < 0 ||
        (r = store_open(db, &d->wstore, &err)) < 0) {
        log_error("store: %s", err ? err : strerror(-r));
        goto fail_early;
    }
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
            log_warn("search: %s, search is off until the next start",
                     serr ? serr : strerror(-r));
        free(serr);
        search_kick(d->search);
    }

    if ((r = uv_loop_init(&d->loop)) < 0) {
        log_error("daemon: uv_loop_init: %s", uv_strerror(r));
        goto fail_early;
    }
    uv_timer_init(&d->loop, &d->stop_timer);
    d->stop_timer.data = d;
    (void)feedpoll_init(d);
    struct fetch_settings fs;
    fetch_settings_from(d->conf, &fs);
    d->fetcher = fetch_new(&d->loop, &fs, &err);
    d->sched = sched_new(&d->loop, on_sched_due, sched_clock, d);
    if (!d->fetcher || !d->sched) {
        log_error("daemon: cannot start: %s", err ? err : "out of memory");
        goto fail_loop;
    }
    if ((r = hooks_new(d, &d->hooks)) < 0) {
        log_error("store: cannot reset running deliveries: %s", store_errmsg(d->store));
        goto fail_loop;
    }
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
        log_error("retention: cannot start: %s", r == -ENOMEM ? strerror(-r)
                                                              : store_errmsg(d->store));
        goto fail_loop;
    }

    if (!once) {
        const char *sock = d->conf->daemon.socket;
        if ((r = util_ensure_parent_dir(sock)) < 0 ||
            (r = ctlcmd_listen(d, sock, &err)) < 0) {
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

    hooks_kick(d->hooks);
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
