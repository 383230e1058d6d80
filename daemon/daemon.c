#include "daemon.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <strings.h>
#include <unistd.h>

#include "alerts.h"
#include "base/dbspec.h"
#include "cluster.h"
#include "dctx.h"
#include "events.h"
#include "feedpoll.h"
#include "feedtable.h"
#include "fetch.h"
#include "hook.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "notify.h"
#include "retention.h"
#include "search.h"
#include "storestat.h"
#include "util.h"
#include "writer.h"

#define DAEMON_STATUS_PERIOD_MS 5000
#define DAEMON_LOOP_STATEMENT_MS 5000 /* the longest a read of the loop's connection may run */

struct daemon {
    struct dctx ctx; /* what the modules below share: loop, config, store, writer... (dctx.h) */
    char *config_path;
    struct ctlcmd_server *control;     /* the control socket's commands; NULL when not listening */
    struct metrics_http *metrics_http; /* GET /metrics; NULL unless metrics_listen is set */
    struct retention *retention;       /* prunes old items through the writer (retention.h) */
    struct feedtable table;            /* the feeds, their ready queue and poll slots */
    const struct daemon_control *ctl;  /* the control socket's commands (main.c gives them) */
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t watchdog;
    uv_timer_t status_timer;
    uv_timer_t stop_timer;
    uint64_t watchdog_usec;
    uint64_t started_ms; /* uv_now at start, for uptime */
    unsigned once_remaining;
    bool once_failed;
    struct {
        unsigned polled, ok, not_modified, errors;
        uint64_t new_items, alerts;
    } once_tally;        /* --once: what the cycle did, for its closing summary */
    int64_t items_total; /* rows in items, kept current without count(*) */
    int exit_code;
    /* The reload under way (its rows being loaded by the writer), the one asked for meanwhile. */
    struct reload *reloading, *reload_next;
};

struct dctx *
daemon_ctx(struct daemon *d)
{
    return &d->ctx;
}

struct feedtable *
daemon_feeds(struct daemon *d)
{
    return &d->table;
}

void
daemon_status(const struct daemon *d, struct daemon_status *ret)
{
    *ret = (struct daemon_status){
        .uptime_s = (uv_now(&d->ctx.loop) - d->started_ms) / 1000,
        .items_total = d->items_total,
        .retention = d->retention,
    };
}

static int64_t
sched_clock(void *userdata)
{
    (void)userdata;
    return util_now_ms();
}

/* scheduler: a feed is due. */
static void
on_sched_due(void *userdata, struct sched_entry *e)
{
    struct daemon *d = userdata;
    struct dfeed *f = (struct dfeed *)((char *)e - offsetof(struct dfeed, sched));
    (void)feedtable_poll_now(&d->table, f, NULL, NULL);
}

/* Builds the one-line summary for STATUS= and the log. */
static void
status_line(struct daemon *d, char *buf, size_t n)
{
    unsigned ok = 0, failing = 0, off = 0;
    for (size_t i = 0; i < d->table.n_feeds; i++) {
        switch (dfeed_state(d->table.feeds[i])) {
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
             d->table.n_feeds, ok, failing, off, d->items_total, d->table.polls_active,
             d->table.n_ready, d->ctx.hooks ? hook_running(d->ctx.hooks) : 0);
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

static void once_progress(struct daemon *d);

/* feedtable: a poll of f has ended (or a wait ended without one): items, metrics, --once. */
static void
on_feed_polled(void *ctx, const struct dfeed *f, enum poll_outcome outcome, uint64_t new_items,
               uint64_t new_alerts)
{
    struct daemon *d = ctx;
    if (outcome == POLL_OK)
        d->items_total += (int64_t)new_items;
    if (outcome != POLL_ABORTED) {
        char host[256];
        metrics_poll_done(d->ctx.metrics,
                          outcome == POLL_OK             ? METRICS_POLL_OK
                          : outcome == POLL_NOT_MODIFIED ? METRICS_POLL_NOT_MODIFIED
                                                         : METRICS_POLL_ERROR,
                          f->st.last_status, url_host(f->st.url ? f->st.url : f->cfg->url, host),
                          f->poll_bytes, new_items,
                          f->poll_lag_ms >= 0 ? (double)f->poll_lag_ms / 1000 : -1);
    }
    if (d->ctx.once && d->once_remaining > 0) {
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
            once_progress(d);
    }
}

/* The hook runner finished a run: --once may be done now. */
static void
on_hooks_progress(void *ctx)
{
    once_progress(ctx);
}

/* --once ends when every feed was polled and no hook runs or is due now. */
static void
once_progress(struct daemon *d)
{
    if (d->ctx.once && d->once_remaining == 0 && !d->ctx.stopping && hook_idle(d->ctx.hooks)) {
        uint64_t ms = uv_now(&d->ctx.loop) - d->started_ms;
        log_notice("once: %u feeds polled in %" PRIu64 ".%01" PRIu64 " s: %u ok, %u not modified, "
                   "%u errors, %" PRIu64 " new items, %" PRIu64 " alerts",
                   d->once_tally.polled, ms / 1000, ms % 1000 / 100, d->once_tally.ok,
                   d->once_tally.not_modified, d->once_tally.errors, d->once_tally.new_items,
                   d->once_tally.alerts);
        daemon_stop(d, d->once_failed ? 1 : 0);
    }
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

/* Who hears how a reload ended (control socket; a SIGHUP tells no one). */
struct reload_waiter {
    daemon_reload_cb cb;
    void *ctx;
};

/*
 * A reload: the config read and its topics compiled, then the rows of the feeds it brings
 * loaded by the writer (one job, dfeed_rows), then applied on the loop. One is under way at
 * a time; those asked for meanwhile wait for it and run next, as one (the config read anew).
 */
struct reload {
    struct conf *conf;
    struct alerts *alerting;
    struct dfeed_rows *rows;
    struct reload_waiter *waiters;
    size_t n_waiters;
};

static void reload_begin(struct daemon *d);

static void
reload_free(struct reload *rl)
{
    if (!rl)
        return;
    alerts_free(rl->alerting);
    conf_free(rl->conf);
    dfeed_rows_free(rl->rows);
    free(rl->waiters);
    free(rl);
}

/* Tells the reload's waiters how it ended, frees it and starts the one asked for meanwhile. */
static void
reload_finish(struct daemon *d, int r, const char *err)
{
    struct reload *rl = d->reloading;
    d->reloading = NULL;
    if (r < 0 && !d->ctx.stopping)
        notify_ready("reload failed; running the previous configuration");
    for (size_t i = 0; i < rl->n_waiters; i++)
        rl->waiters[i].cb(rl->waiters[i].ctx, r, err);
    reload_free(rl);
    if ((d->reloading = d->reload_next)) {
        d->reload_next = NULL;
        if (d->ctx.stopping)
            reload_finish(d, -ECANCELED, "the daemon is stopping");
        else
            reload_begin(d);
    }
}

/* The reload's rows are loaded: it applies (every step below is on the loop, none waits). */
static void
reload_apply(struct daemon *d)
{
    struct reload *rl = d->reloading;
    struct conf *nc = rl->conf;
    char *err = NULL;
    struct dfeed **feeds = NULL;
    size_t n = 0;
    for (size_t i = 0; i < d->table.n_feeds; i++)
        d->table.feeds[i]->kept = false;
    int r = feedtable_build(&d->table, nc, rl->rows, &feeds, &n, &err);
    if (r < 0) {
        log_error("config: reload failed: %s", err ? err : strerror(-r));
        reload_finish(d, r, err ? err : strerror(-r));
        free(err);
        return;
    }

    /* Feeds that are gone: stop them (an in-flight poll is aborted and frees the feed). */
    struct conf *old = d->ctx.conf;
    size_t added = 0, removed = 0, changed = 0;
    for (size_t i = 0; i < d->table.n_feeds; i++) {
        struct dfeed *f = d->table.feeds[i];
        if (f->kept)
            continue;
        removed++;
        feedtable_drop(&d->table, f);
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
            dfeed_marker_clear(&d->ctx, f);
            free(f->st.runtime_url);
            f->st.runtime_url = NULL;
        }
        bool url_changed = strcmp(f->cfg->url, cfg->url) != 0;
        bool differs = conf_feed_changed(f->cfg, cfg);
        f->cfg = cfg;
        dfeed_cfg_free(f->runtime_cfg);
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
            if (dfeed_rows_take(rl->rows, cfg->name, &st)) {
                store_feed_done(&f->st);
                f->st = st;
            } else {
                char q[LOG_QUOTE_MAX];
                log_error("store: feed '%s': cannot load its new source: its row was not loaded",
                          log_quote(cfg->name, q, sizeof(q)));
            }
            f->st.next_poll_at = FEED_TIME_NONE;
            f->st.last_poll_at = FEED_TIME_NONE;
        } else if (f->st.last_poll_at != FEED_TIME_NONE) {
            f->st.next_poll_at = f->st.last_poll_at + (int64_t)cfg->interval_s;
        }
    }
    feedtable_take(&d->table, feeds, n);
    if (d->ctx.cluster && strcmp(nc->daemon.node, old->daemon.node) != 0) {
        /* The node's name is its leases' and its row's: a new one takes effect at a start. */
        char *keep = strdup(old->daemon.node);
        if (keep) {
            char q1[LOG_QUOTE_MAX], q2[LOG_QUOTE_MAX];
            log_warn("config: node '%s' takes effect when the daemon starts again; this one stays"
                     " node '%s'",
                     log_quote(nc->daemon.node, q1, sizeof(q1)), log_quote(keep, q2, sizeof(q2)));
            free(nc->daemon.node);
            nc->daemon.node = keep;
        }
    }
    d->ctx.conf = nc;
    hook_reconfigured(d->ctx.hooks, old); /* before old is retired: its hooks' windows */
    cluster_reloaded(d->ctx.cluster);
    rl->conf = NULL;
    for (size_t i = 0; i < n; i++)
        feedtable_schedule(&d->table, d->table.feeds[i]);
    struct fetch_settings fs;
    fetch_settings_from(nc, &fs);
    (void)fetch_configure(d->ctx.fetcher, &fs);
    log_set_level((enum log_level)nc->daemon.log_level);
    (void)metrics_listen_apply(d, old->daemon.metrics_listen); /* a failure keeps no listener */
    dctx_topics_retire(
        &d->ctx, old); /* frees d->ctx.alerting and old, unless the writer matches with them */
    d->ctx.alerting = rl->alerting;
    rl->alerting = NULL;
    log_notice("config: reloaded '%s': %zu feeds (%zu added, %zu removed, %zu changed), "
               "%zu topics",
               d->config_path, d->table.n_feeds, added, removed, changed,
               alerts_topics(d->ctx.alerting));
    hook_kick(d->ctx.hooks);
    char line[256];
    status_line(d, line, sizeof(line));
    notify_ready(line);
    reload_finish(d, 0, NULL);
}

/* dfeed_rows: the writer loaded (or could not load) the rows the reload needs. */
static void
on_reload_rows(void *ctx, struct dfeed_rows *rows, int r, const char *err)
{
    struct daemon *d = ctx;
    (void)rows;
    if (r < 0) {
        log_error("config: reload failed, keeping the running configuration: %s", err);
        reload_finish(d, r, err);
    } else if (d->ctx.stopping) {
        reload_finish(d, -ECANCELED, "the daemon is stopping");
    } else {
        reload_apply(d);
    }
}

/* Reads the config of d->reloading and asks the writer for the rows it needs. */
static void
reload_begin(struct daemon *d)
{
    struct reload *rl = d->reloading;
    char *err = NULL;
    notify_reloading();
    int r = conf_load(d->config_path, &rl->conf, &err);
    if (r >= 0 && (r = alerts_new(rl->conf, &rl->alerting, &err)) >= 0) {
        rl->rows = dfeed_rows_new(&d->ctx, on_reload_rows, d);
        if (!rl->rows || feedtable_rows_needed(&d->table, rl->conf, rl->rows) < 0)
            r = -ENOMEM;
    }
    if (r < 0) {
        log_error("config: reload failed, keeping the running configuration:\n%s",
                  err ? err : strerror(-r));
        reload_finish(d, r, err ? err : strerror(-r));
        free(err);
        return;
    }
    for (size_t i = 0; i < rl->conf->n_warnings; i++)
        log_warn("config: %s", rl->conf->warnings[i]);
    if (dfeed_rows_count(rl->rows) == 0) {
        reload_apply(d); /* no new rows: nothing to wait for */
        return;
    }
    if ((r = dfeed_rows_submit(rl->rows)) < 0) {
        const char *why =
            r == -EAGAIN ? "store: the store's writer is busy, try again" : strerror(-r);
        log_error("config: reload failed, keeping the running configuration: %s", why);
        reload_finish(d, r, why);
    }
}

/* Re-reads the config and applies it once the writer loaded its rows; cb (if any) is told. */
void
daemon_reload(struct daemon *d, daemon_reload_cb cb, void *ctx)
{
    bool under_way = d->reloading != NULL;
    struct reload **slot = under_way ? &d->reload_next : &d->reloading;
    if (d->ctx.stopping) {
        if (cb)
            cb(ctx, -ECANCELED, "the daemon is stopping");
        return;
    }
    if (!*slot && !(*slot = calloc(1, sizeof(**slot)))) {
        if (cb)
            cb(ctx, -ENOMEM, "out of memory");
        return;
    }
    struct reload *rl = *slot;
    if (cb) {
        struct reload_waiter *w = realloc(rl->waiters, (rl->n_waiters + 1) * sizeof(*w));
        if (!w) {
            if (!under_way) { /* not begun: nothing to go on with */
                free(rl);
                d->reloading = NULL;
            }
            cb(ctx, -ENOMEM, "out of memory");
            return;
        }
        rl->waiters = w;
        rl->waiters[rl->n_waiters++] = (struct reload_waiter){.cb = cb, .ctx = ctx};
    }
    if (!under_way)
        reload_begin(d);
}

static void
on_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;
    if (signum == SIGHUP) {
        log_notice("config: SIGHUP, reloading");
        daemon_reload(d, NULL, NULL);
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
    /* The node leaves (its leases end: the others take its feeds at once). */
    cluster_stop(d->ctx.cluster);
    /* Every write queued is done (finished polls are kept; the others are aborted below). */
    writer_close(d->ctx.writer);
    if (d->control) {
        d->ctl->close(d->control);
        d->control = NULL;
    }
    metrics_http_stop(d->metrics_http);
    d->metrics_http = NULL;
    storestat_close(d->ctx.storestat); /* after its askers: the socket's and /metrics' */
    feedtable_stop(&d->table);
    if (d->ctx.sched) {
        sched_close(d->ctx.sched);
        d->ctx.sched = NULL;
    }
    if (d->ctx.hooks) {
        hook_close(d->ctx.hooks); /* running deliveries stay "running": they run again at start */
        d->ctx.hooks = NULL;
    }
    if (d->ctx.fetcher) {
        fetch_close(d->ctx.fetcher); /* aborts in-flight polls through their done path */
        d->ctx.fetcher = NULL;
    }
    uv_walk(&d->ctx.loop, on_walk_close, NULL);
}

/* Begins a clean stop with the given exit code. */
void
daemon_stop(struct daemon *d, int exit_code)
{
    if (d->ctx.stopping)
        return;
    d->ctx.stopping = true;
    d->exit_code = exit_code;
    (void)uv_timer_start(&d->stop_timer, on_stop_timer, 0, 0);
}

/* cluster.h: another daemon took this node's name; this one stops (exit status 1). */
static void
on_cluster_lost(void *ctx)
{
    daemon_stop(ctx, 1);
}

static void
daemon_free_state(struct daemon *d)
{
    assert(!d->reloading && !d->reload_next); /* the writer's drain ended them */
    feedtable_done(&d->table);
    cluster_free(d->ctx.cluster);
    d->ctx.cluster = NULL;
    retention_free(d->retention);
    d->retention = NULL;
    storestat_free(d->ctx.storestat); /* joins its thread after its read */
    d->ctx.storestat = NULL;
    search_free(d->ctx.search); /* joins the indexer after its batch */
    d->ctx.search = NULL;
    store_free(d->ctx.store);
    d->ctx.store = NULL;
    writer_free(d->ctx.writer); /* closed last: the last connection checkpoints the WAL */
    d->ctx.writer = NULL;
    free(d->ctx.topics_pin); /* no job is left to hold it */
    d->ctx.topics_pin = NULL;
    alerts_free(d->ctx.alerting);
    d->ctx.alerting = NULL;
    conf_free(d->ctx.conf);
    d->ctx.conf = NULL;
    metrics_free(d->ctx.metrics);
    events_free(d->ctx.events);
    d->ctx.events = NULL;
    d->ctx.metrics = NULL;
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

/*
 * The metrics text; the store's tallies from snap (read off the loop, fresh or not) or, when
 * snap is NULL, read here on the loop's connection (SQLite).
 */
static char *
metrics_text(struct daemon *d, const struct storestat_snap *snap, bool fresh)
{
    struct metrics_gauges g = {0};
    for (size_t i = 0; i < d->table.n_feeds; i++) {
        switch (dfeed_state(d->table.feeds[i])) {
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
    if (snap) {
        g.topics = snap->topics;
        g.n_topics = snap->n_topics;
        g.alerts_delivered = snap->alerts_delivered;
        g.alerts_pending = snap->alerts_pending;
        g.alerts_failed = snap->alerts_failed;
        g.alerts_no_hook = snap->alerts_no_hook;
        g.item_events_failed = snap->item_events_failed;
        g.database_bytes = snap->database_bytes;
        g.search_lag_items = snap->search_lag > 0 ? (uint64_t)snap->search_lag : 0;
        g.store_read = fresh ? METRICS_STORE_FRESH : METRICS_STORE_STALE;
        g.store_unknown = snap->read_at == 0;
    } else {
        if (store_alert_topic_counts(d->ctx.store, on_topic_count, &tc) < 0)
            log_warn("metrics: cannot read the alerts per topic: %s", store_errmsg(d->ctx.store));
        if (store_alert_counts(d->ctx.store, &g.alerts_delivered, &g.alerts_pending,
                               &g.alerts_failed, &g.alerts_no_hook) < 0 ||
            store_item_events_failed(d->ctx.store, &g.item_events_failed) < 0)
            log_warn("metrics: cannot read the alert counts: %s", store_errmsg(d->ctx.store));
        (void)store_disk_bytes(d->ctx.store, &g.database_bytes);
        g.topics = tc.v;
        g.n_topics = tc.n;
        g.search_lag_items = d->ctx.search ? (uint64_t)search_lag(d->ctx.search) : 0;
    }
    g.items_total = d->items_total > 0 ? (uint64_t)d->items_total : 0;
    g.polls_active = d->table.polls_active;
    g.polls_waiting = d->table.n_ready;
    g.store_queue = writer_queued(d->ctx.writer);
    g.hooks_running = d->ctx.hooks ? hook_running(d->ctx.hooks) : 0;
    g.rss_bytes = rss_bytes();
    g.uptime_s = (double)(uv_now(&d->ctx.loop) - d->started_ms) / 1000;
    char *text = metrics_render(d->ctx.metrics, &g);
    for (size_t i = 0; i < tc.n; i++)
        free((char *)tc.v[i].topic);
    free(tc.v);
    return text;
}

char *
daemon_metrics_text(struct daemon *d)
{
    return metrics_text(d, NULL, true);
}

/* A metrics rendering waiting for the store's tallies (storestat.h). */
struct daemon_metrics_req {
    struct daemon *d;
    daemon_metrics_cb done;
    void *ctx;
    struct storestat_want *want;
};

static void
on_metrics_stat(void *ctx, const struct storestat_snap *snap, bool fresh, const char *error)
{
    struct daemon_metrics_req *m = ctx;
    (void)error;
    char *text = metrics_text(m->d, snap, fresh);
    daemon_metrics_cb done = m->done;
    void *done_ctx = m->ctx;
    free(m);
    done(done_ctx, text);
}

int
daemon_metrics_get(struct daemon *d, daemon_metrics_cb done, void *ctx, char **ret_text,
                   struct daemon_metrics_req **ret_req)
{
    if (!d->ctx.storestat) {
        char *text = daemon_metrics_text(d);
        if (!text)
            return -ENOMEM;
        *ret_text = text;
        return 1;
    }
    struct daemon_metrics_req *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    *m = (struct daemon_metrics_req){.d = d, .done = done, .ctx = ctx};
    if (!(m->want = storestat_want(d->ctx.storestat, on_metrics_stat, m))) {
        free(m);
        return -ENOMEM;
    }
    *ret_req = m;
    return 0;
}

void
daemon_metrics_cancel(struct daemon_metrics_req *m)
{
    if (!m)
        return;
    storestat_forget(m->want);
    free(m);
}

static void
on_metrics_http_text(void *ctx, char *text)
{
    metrics_http_answer(ctx, text);
}

/* metrics_http's render: at once with SQLite, once the store's tallies are read with PostgreSQL. */
static int
render_metrics(void *userdata, struct metrics_http_req *req, char **ret_text, void **ret_pending)
{
    struct daemon_metrics_req *m = NULL;
    int r = daemon_metrics_get(userdata, on_metrics_http_text, req, ret_text, &m);
    if (r == 0)
        *ret_pending = m;
    return r;
}

static void
cancel_metrics(void *pending)
{
    daemon_metrics_cancel(pending);
}

/* Starts, moves or stops the /metrics listener as the config says; logs a failure. */
static int
metrics_listen_apply(struct daemon *d, const char *old_listen)
{
    const char *listen = d->ctx.conf->daemon.metrics_listen;
    if (d->metrics_http && old_listen && listen && strcmp(old_listen, listen) == 0)
        return 0;
    metrics_http_stop(d->metrics_http);
    d->metrics_http = NULL;
    if (!listen || d->ctx.once)
        return 0;
    char *err = NULL;
    int r = metrics_http_start(&d->ctx.loop, listen, render_metrics, cancel_metrics, d,
                               &d->metrics_http, &err);
    if (r < 0)
        log_error("metrics: %s", err ? err : strerror(-r));
    else
        log_notice("metrics: serving http://%s/metrics", listen);
    free(err);
    return r;
}

int
daemon_new(const char *config_path, bool once, const struct daemon_control *ctl,
           struct daemon **ret, char **reterr_msg)
{
    struct daemon *d = calloc(1, sizeof(*d));
    *reterr_msg = NULL;
    if (!d)
        return -ENOMEM;
    d->ctx.once = once;
    d->ctl = ctl;
    d->config_path = strdup(config_path);
    d->ctx.metrics = metrics_new();
    d->ctx.events = events_new();
    util_rng_seed(&d->ctx.rng);
    feedtable_init(&d->table, &d->ctx, on_feed_polled, d);
    int r = -ENOMEM;
    if (!d->config_path || !d->ctx.metrics || !d->ctx.events ||
        (r = conf_load(config_path, &d->ctx.conf, reterr_msg)) < 0 ||
        (r = alerts_new(d->ctx.conf, &d->ctx.alerting, reterr_msg)) < 0 ||
        (r = store_supports(d->ctx.conf->daemon.database, reterr_msg)) < 0) {
        daemon_free(d);
        return r;
    }
    for (size_t i = 0; i < d->ctx.conf->n_warnings; i++)
        log_warn("config: %s", d->ctx.conf->warnings[i]);
    *ret = d;
    return 0;
}

void
daemon_free(struct daemon *d)
{
    if (!d)
        return;
    daemon_free_state(d);
    free(d->config_path);
    free(d);
}

/* Runs the daemon on config_path until a signal (or, with once, one cycle) ends it. */
int
daemon_run(const char *config_path, bool once, const struct daemon_control *ctl)
{
    struct daemon *d = NULL;
    char *err = NULL;
    int r = daemon_new(config_path, once, ctl, &d, &err);
    if (r < 0) {
        /* A config or topic error says what (exit 2); out of memory exits 1. */
        int code = err || r != -ENOMEM ? 2 : 1;
        if (code == 2)
            fprintf(stderr, "%s\n", err ? err : strerror(-r));
        free(err);
        return code;
    }
    log_set_level((enum log_level)d->ctx.conf->daemon.log_level);
    (void)signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("daemon: curl_global_init failed");
        goto fail_early;
    }
    xmlInitParser();

    const char *db = d->ctx.conf->daemon.database;
    /* A file's folder; a PostgreSQL connection string names no folder (its '/' are not). */
    if (dbspec_kind(db) == DBSPEC_FILE && (r = util_ensure_parent_dir(db)) < 0) {
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
    if ((r = store_open(db, &init, &err)) < 0 ||
        (r = store_open_reader(db, &d->ctx.store, &err)) < 0 ||
        (r = store_check(d->ctx.store, &err)) < 0) {
        log_error("store: %s", err ? err : strerror(-r));
        store_free(init);
        goto fail_early;
    }
    store_free(init);
    r = store_count_items(d->ctx.store, &d->items_total);
    if (r < 0) {
        log_error("store: cannot count items: %s", store_errmsg(d->ctx.store));
        goto fail_early;
    }
    /*
     * --once does not wait for the index: it catches up at the next start (PRODUCT.md). The
     * index is the store's engine's (search-internal.h): a file beside an SQLite database, or
     * tables of the PostgreSQL database.
     */
    if (!once) {
        char *serr = NULL;
        r = search_new(db, &d->ctx.search, &serr);
        if (r < 0)
            log_warn("search: %s, search is off until the next start", serr ? serr : strerror(-r));
        free(serr);
        search_kick(d->ctx.search);
    }

    if ((r = uv_loop_init(&d->ctx.loop)) < 0) {
        log_error("daemon: uv_loop_init: %s", uv_strerror(r));
        goto fail_early;
    }
    uv_timer_init(&d->ctx.loop, &d->stop_timer);
    d->stop_timer.data = d;
    if ((r = writer_open(&d->ctx.loop, db, &d->ctx.writer, &err)) < 0) {
        log_error("store: %s", err ? err : strerror(-r));
        goto fail_loop;
    }
    struct fetch_settings fs;
    fetch_settings_from(d->ctx.conf, &fs);
    d->ctx.fetcher = fetch_new(&d->ctx.loop, &fs, &err);
    d->ctx.sched = sched_new(&d->ctx.loop, on_sched_due, sched_clock, d);
    if (!d->ctx.fetcher || !d->ctx.sched) {
        log_error("daemon: cannot start: %s", err ? err : "out of memory");
        goto fail_loop;
    }
    if ((r = hook_new(&d->ctx, on_hooks_progress, d, &d->ctx.hooks)) < 0)
        goto fail_loop; /* logged */
    struct dfeed **feeds = NULL;
    size_t n_feeds = 0;
    if ((r = feedtable_build(&d->table, d->ctx.conf, NULL, &feeds, &n_feeds, &err)) < 0) {
        log_error("daemon: %s", err ? err : strerror(-r));
        goto fail_loop;
    }
    feedtable_take(&d->table, feeds, n_feeds);
    if ((r = feedtable_load_runtime(&d->table, &err)) < 0) {
        log_error("daemon: %s", err ? err : strerror(-r));
        goto fail_loop;
    }
    /* Several daemons on one database: the database schedules the polls (cluster.h). */
    if (store_clustered(d->ctx.store)) {
        d->ctx.clustered = true;
        if ((r = cluster_start(&d->ctx, &d->table, on_cluster_lost, d, &d->ctx.cluster, &err)) <
            0) {
            log_error("%s", err ? err : strerror(-r));
            goto fail_loop;
        }
        char q[LOG_QUOTE_MAX];
        log_notice("cluster: node '%s' joined (lease %" PRIu64 "s, config %s)",
                   log_quote(d->ctx.conf->daemon.node, q, sizeof(q)), d->ctx.conf->daemon.lease_s,
                   cluster_config_hash(d->ctx.cluster));
        /* status's and the metrics' tallies: a server that does not answer holds no loop. */
        if (!once &&
            (r = storestat_new(&d->ctx.loop, db, d->ctx.search, true, &d->ctx.storestat)) < 0) {
            log_error("store: cannot start the status reader: %s", strerror(-r));
            goto fail_loop;
        }
    }
    if ((r = retention_new(&d->ctx, &d->retention)) < 0) {
        log_error("retention: cannot start: %s",
                  r == -ENOMEM ? strerror(-r) : store_errmsg(d->ctx.store));
        goto fail_loop;
    }
    /*
     * The start's long reads are done: from now on the loop's own reads (a poll's lookups, a
     * hook's alert) are point lookups, and one that a lock held elsewhere holds fails after
     * DAEMON_LOOP_STATEMENT_MS instead of the writer's minute (PostgreSQL; SQLite: nothing).
     */
    if ((r = store_set_statement_timeout(d->ctx.store, DAEMON_LOOP_STATEMENT_MS)) < 0) {
        log_error("store: %s", store_errmsg(d->ctx.store));
        goto fail_loop;
    }

    if (!once) {
        const char *sock = d->ctx.conf->daemon.socket;
        if ((r = util_ensure_parent_dir(sock)) < 0 ||
            (r = d->ctl->listen(d, sock, &d->control, &err)) < 0) {
            log_error("control: %s", err ? err : strerror(-r));
            goto fail_loop;
        }
        uv_signal_init(&d->ctx.loop, &d->sig_hup);
        d->sig_hup.data = d;
        uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
        if ((r = metrics_listen_apply(d, NULL)) < 0)
            goto fail_loop;
    }
    uv_signal_init(&d->ctx.loop, &d->sig_term);
    uv_signal_init(&d->ctx.loop, &d->sig_int);
    d->sig_term.data = d->sig_int.data = d;
    uv_signal_start(&d->sig_term, on_signal, SIGTERM);
    uv_signal_start(&d->sig_int, on_signal, SIGINT);
    uv_timer_init(&d->ctx.loop, &d->status_timer);
    d->status_timer.data = d;
    uv_timer_start(&d->status_timer, on_status_timer, DAEMON_STATUS_PERIOD_MS,
                   DAEMON_STATUS_PERIOD_MS);
    d->watchdog_usec = notify_watchdog_usec();
    if (d->watchdog_usec) {
        uint64_t period = d->watchdog_usec / 2000;
        uv_timer_init(&d->ctx.loop, &d->watchdog);
        uv_timer_start(&d->watchdog, on_watchdog_timer, period ? period : 1, period ? period : 1);
        notify_watchdog();
    }
    d->started_ms = uv_now(&d->ctx.loop);

    hook_kick(d->ctx.hooks);
    if (once) {
        for (size_t i = 0; i < d->table.n_feeds; i++)
            if (dfeed_pollable(d->table.feeds[i]))
                d->once_remaining++;
        if (d->once_remaining == 0)
            once_progress(d);
        for (size_t i = 0; i < d->table.n_feeds && !d->ctx.stopping; i++)
            if (dfeed_pollable(d->table.feeds[i]))
                (void)feedtable_poll_now(&d->table, d->table.feeds[i], NULL, NULL);
    } else {
        for (size_t i = 0; i < d->table.n_feeds; i++)
            feedtable_schedule(&d->table, d->table.feeds[i]);
    }
    char line[256];
    status_line(d, line, sizeof(line));
    log_notice("daemon: feedwatchd %s started: %s%s", FW_VERSION, line, once ? " (once)" : "");
    notify_ready(line);

    (void)uv_run(&d->ctx.loop, UV_RUN_DEFAULT);
    r = uv_loop_close(&d->ctx.loop);
    assert(r == 0);
    int code = d->exit_code;
    daemon_free(d);
    log_notice("daemon: stopped");
    xmlCleanupParser();
    curl_global_cleanup();
    return code;

fail_loop:
    daemon_stop(d, 1);
    (void)uv_run(&d->ctx.loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&d->ctx.loop);
fail_early:
    free(err);
    daemon_free(d);
    curl_global_cleanup();
    return 1;
}
