/*
 * metrics.c — the daemon's counters and their Prometheus text (metrics.h).
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FW_METRIC_PREFIX "feedwatch_"

/* Histogram bucket bounds in seconds (the +Inf bucket is the count). */
static const double lag_buckets[] = {0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600};
#define N_LAG (sizeof(lag_buckets) / sizeof(lag_buckets[0]))
static const double latency_buckets[] = {0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600};
#define N_LATENCY (sizeof(latency_buckets) / sizeof(latency_buckets[0]))

struct histogram {
    uint64_t buckets[16]; /* cumulative counts are computed at render */
    uint64_t count;
    double sum;
};

/* A counter family with one label whose values come and go with the config. */
struct named {
    char *name;
    uint64_t n[2];
    struct histogram latency; /* deliveries only */
};

struct named_set {
    struct named *v;
    size_t n, cap;
};

struct metrics {
    uint64_t polls[METRICS_POLL__N];
    uint64_t http[6]; /* [0] none (no HTTP status), [1..5] 1xx..5xx */
    uint64_t bytes;
    uint64_t new_items;
    struct histogram lag;
    struct named_set hooks;       /* n[0]: delivered, n[1]: failed */
    struct named_set feed_events; /* n[0]: raised, by event name */
    struct named_set batches;     /* n[0]: batch runs delivered, n[1]: failed, by hook */
    struct named_set hosts;       /* n[0]: poll errors; at most METRICS_HOSTS_MAX + "other" */
    uint64_t host_other_errors;
    uint64_t item_edits;   /* material edits of stored items kept */
    uint64_t item_updates; /* item-updated raised on alerts */
};

struct metrics *
metrics_new(void)
{
    return calloc(1, sizeof(struct metrics));
}

static void
named_set_free(struct named_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].name);
    free(s->v);
}

void
metrics_free(struct metrics *m)
{
    if (!m)
        return;
    named_set_free(&m->hooks);
    named_set_free(&m->feed_events);
    named_set_free(&m->batches);
    named_set_free(&m->hosts);
    free(m);
}

/* The entry for name, added when new and the set holds fewer than max; NULL otherwise. */
static struct named *
named_get(struct named_set *s, const char *name, size_t max)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    if (s->n >= max)
        return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct named *v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    struct named *e = &s->v[s->n];
    memset(e, 0, sizeof(*e));
    if (!(e->name = strdup(name)))
        return NULL;
    s->n++;
    return e;
}

static void
observe(struct histogram *h, const double *bounds, size_t n_bounds, double v)
{
    for (size_t i = 0; i < n_bounds; i++) {
        if (v <= bounds[i]) {
            h->buckets[i]++;
            break;
        }
    }
    h->count++;
    h->sum += v;
}

void
metrics_poll_done(struct metrics *m, enum metrics_poll outcome, long http_status, const char *host,
                  uint64_t bytes, uint64_t new_items, double lag_s)
{
    if (!m || outcome < 0 || outcome >= METRICS_POLL__N)
        return;
    m->polls[outcome]++;
    m->http[http_status >= 100 && http_status < 600 ? http_status / 100 : 0]++;
    m->bytes += bytes;
    m->new_items += new_items;
    if (lag_s >= 0)
        observe(&m->lag, lag_buckets, N_LAG, lag_s);
    if (outcome == METRICS_POLL_ERROR) {
        struct named *h = host && *host ? named_get(&m->hosts, host, METRICS_HOSTS_MAX) : NULL;
        if (h)
            h->n[0]++;
        else
            m->host_other_errors++;
    }
}

void
metrics_feed_event(struct metrics *m, const char *event)
{
    struct named *e = m && event ? named_get(&m->feed_events, event, SIZE_MAX) : NULL;
    if (e)
        e->n[0]++;
}

void
metrics_item_edits(struct metrics *m, uint64_t edits, uint64_t updates)
{
    if (!m)
        return;
    m->item_edits += edits;
    m->item_updates += updates;
}

void
metrics_batch(struct metrics *m, const char *hook, bool delivered)
{
    struct named *b = m && hook ? named_get(&m->batches, hook, SIZE_MAX) : NULL;
    if (b)
        b->n[delivered ? 0 : 1]++;
}

void
metrics_delivery(struct metrics *m, const char *hook, bool delivered, double latency_s)
{
    struct named *h = m && hook ? named_get(&m->hooks, hook, SIZE_MAX) : NULL;
    if (!h)
        return;
    h->n[delivered ? 0 : 1]++;
    if (delivered && latency_s >= 0)
        observe(&h->latency, latency_buckets, N_LATENCY, latency_s);
}

/* A growable text; every append checks for overflow and OOM. */
struct text {
    char *p;
    size_t len, cap;
    bool oom;
};

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
text_printf(struct text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = true;
            return;
        }
        if (t->p && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap : 4096;
        while (cap - t->len <= (size_t)n)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = true;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
}

/* A label value as the text format wants it: backslash, double quote and newline escaped. */
static void
text_label(struct text *t, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            text_printf(t, "\\\\");
        else if (*v == '"')
            text_printf(t, "\\\"");
        else if (*v == '\n')
            text_printf(t, "\\n");
        else
            text_printf(t, "%c", *v);
    }
}

static void
family(struct text *t, const char *name, const char *type, const char *help)
{
    text_printf(t, "# HELP " FW_METRIC_PREFIX "%s %s\n# TYPE " FW_METRIC_PREFIX "%s %s\n", name,
                help, name, type);
}

/* A counter family by hook and outcome: set's n[0] delivered, n[1] failed. */
static void
hook_outcomes(struct text *t, const char *name, const char *help, const struct named_set *set)
{
    family(t, name, "counter", help);
    for (size_t i = 0; i < set->n; i++) {
        for (size_t k = 0; k < 2; k++) {
            text_printf(t, FW_METRIC_PREFIX "%s{hook=\"", name);
            text_label(t, set->v[i].name);
            text_printf(t, "\",outcome=\"%s\"} %" PRIu64 "\n", k ? "failed" : "delivered",
                        set->v[i].n[k]);
        }
    }
}

static void
histogram_lines(struct text *t, const char *name, const char *label, const char *value,
                const struct histogram *h, const double *bounds, size_t n_bounds)
{
    uint64_t cum = 0;
    for (size_t i = 0; i < n_bounds; i++) {
        cum += h->buckets[i];
        text_printf(t, FW_METRIC_PREFIX "%s_bucket{", name);
        if (label) {
            text_printf(t, "%s=\"", label);
            text_label(t, value);
            text_printf(t, "\",");
        }
        text_printf(t, "le=\"%g\"} %" PRIu64 "\n", bounds[i], cum);
    }
    const char *sep = label ? "," : "";
    text_printf(t, FW_METRIC_PREFIX "%s_bucket{", name);
    if (label) {
        text_printf(t, "%s=\"", label);
        text_label(t, value);
        text_printf(t, "\"");
    }
    text_printf(t, "%sle=\"+Inf\"} %" PRIu64 "\n", sep, h->count);
    const char *suffixes[] = {"_sum", "_count"};
    for (size_t s = 0; s < 2; s++) {
        text_printf(t, FW_METRIC_PREFIX "%s%s", name, suffixes[s]);
        if (label) {
            text_printf(t, "{%s=\"", label);
            text_label(t, value);
            text_printf(t, "\"}");
        }
        if (s == 0)
            text_printf(t, " %.6f\n", h->sum);
        else
            text_printf(t, " %" PRIu64 "\n", h->count);
    }
}

char *
metrics_render(const struct metrics *m, const struct metrics_gauges *g)
{
    static const char *const outcome[] = {"ok", "not_modified", "error"};
    static const char *const http_class[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    struct text t = {0};

    family(&t, "build_info", "gauge", "feedwatchd's version.");
    text_printf(&t, FW_METRIC_PREFIX "build_info{version=\"%s\"} 1\n", FW_VERSION);
    family(&t, "uptime_seconds", "gauge", "Seconds since the daemon started.");
    text_printf(&t, FW_METRIC_PREFIX "uptime_seconds %.3f\n", g->uptime_s);

    family(&t, "polls_total", "counter", "Polls ended, by outcome.");
    for (size_t i = 0; i < METRICS_POLL__N; i++)
        text_printf(&t, FW_METRIC_PREFIX "polls_total{outcome=\"%s\"} %" PRIu64 "\n", outcome[i],
                    m->polls[i]);
    family(&t, "http_responses_total", "counter",
           "Polls by the class of their HTTP status (none: no HTTP answer).");
    for (size_t i = 0; i < 6; i++)
        text_printf(&t, FW_METRIC_PREFIX "http_responses_total{class=\"%s\"} %" PRIu64 "\n",
                    http_class[i], m->http[i]);
    family(&t, "fetched_bytes_total", "counter", "Feed body bytes received.");
    text_printf(&t, FW_METRIC_PREFIX "fetched_bytes_total %" PRIu64 "\n", m->bytes);
    family(&t, "items_new_total", "counter", "New items stored.");
    text_printf(&t, FW_METRIC_PREFIX "items_new_total %" PRIu64 "\n", m->new_items);
    family(&t, "poll_lag_seconds", "histogram", "How late polls started after they were due.");
    histogram_lines(&t, "poll_lag_seconds", NULL, NULL, &m->lag, lag_buckets, N_LAG);

    family(&t, "host_errors_total", "counter",
           "Failed polls by the feed URL's host (the first 100 hosts; the rest as other).");
    for (size_t i = 0; i < m->hosts.n; i++) {
        text_printf(&t, FW_METRIC_PREFIX "host_errors_total{host=\"");
        text_label(&t, m->hosts.v[i].name);
        text_printf(&t, "\"} %" PRIu64 "\n", m->hosts.v[i].n[0]);
    }
    text_printf(&t, FW_METRIC_PREFIX "host_errors_total{host=\"other\"} %" PRIu64 "\n",
                m->host_other_errors);

    family(&t, "alerts_total", "counter", "Alerts raised, by topic.");
    for (size_t i = 0; !g->store_unknown && i < g->n_topics; i++) {
        text_printf(&t, FW_METRIC_PREFIX "alerts_total{topic=\"");
        text_label(&t, g->topics[i].topic);
        text_printf(&t, "\"} %" PRIu64 "\n", g->topics[i].alerts);
    }
    hook_outcomes(&t, "hook_deliveries_total", "Hook runs and webhook posts ended, by outcome.",
                  &m->hooks);
    hook_outcomes(&t, "hook_batches_total",
                  "Batch runs of hooks with a batch window ended, by outcome.", &m->batches);
    family(&t, "feed_events_total", "counter",
           "Feed events raised (feed-disabled, ...), by event.");
    for (size_t i = 0; i < m->feed_events.n; i++) {
        text_printf(&t, FW_METRIC_PREFIX "feed_events_total{event=\"");
        text_label(&t, m->feed_events.v[i].name);
        text_printf(&t, "\"} %" PRIu64 "\n", m->feed_events.v[i].n[0]);
    }
    family(&t, "item_edits_total", "counter", "Material edits of stored items kept as versions.");
    text_printf(&t, FW_METRIC_PREFIX "item_edits_total %" PRIu64 "\n", m->item_edits);
    family(&t, "item_updates_total", "counter",
           "item-updated events raised on alerts (topics with on_update = alert).");
    text_printf(&t, FW_METRIC_PREFIX "item_updates_total %" PRIu64 "\n", m->item_updates);
    family(&t, "delivery_latency_seconds", "histogram",
           "Seconds from an alert's raise to its delivery, by hook.");
    for (size_t i = 0; i < m->hooks.n; i++)
        histogram_lines(&t, "delivery_latency_seconds", "hook", m->hooks.v[i].name,
                        &m->hooks.v[i].latency, latency_buckets, N_LATENCY);

    family(&t, "feeds", "gauge", "Feeds by state.");
    const struct {
        const char *state;
        uint64_t n;
    } states[] = {{"ok", g->feeds_ok},
                  {"failing", g->feeds_failing},
                  {"disabled", g->feeds_disabled},
                  {"paused", g->feeds_paused}};
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        text_printf(&t, FW_METRIC_PREFIX "feeds{state=\"%s\"} %" PRIu64 "\n", states[i].state,
                    states[i].n);
    family(&t, "items", "gauge", "Items in the store.");
    text_printf(&t, FW_METRIC_PREFIX "items %" PRIu64 "\n", g->items_total);
    family(&t, "alerts", "gauge", "Alerts in the store by delivery state.");
    if (!g->store_unknown)
        text_printf(&t,
                    FW_METRIC_PREFIX "alerts{state=\"delivered\"} %" PRId64 "\n" FW_METRIC_PREFIX
                                     "alerts{state=\"pending\"} %" PRId64 "\n" FW_METRIC_PREFIX
                                     "alerts{state=\"failed\"} %" PRId64 "\n" FW_METRIC_PREFIX
                                     "alerts{state=\"no-hook\"} %" PRId64 "\n",
                    g->alerts_delivered, g->alerts_pending, g->alerts_failed, g->alerts_no_hook);
    family(&t, "item_events_failed", "gauge",
           "Item events (item-updated, story-source) whose delivery to a hook failed: not in the"
           " alerts' states; feedwatch alerts --failed lists their alerts.");
    if (!g->store_unknown)
        text_printf(&t, FW_METRIC_PREFIX "item_events_failed %" PRId64 "\n", g->item_events_failed);
    family(&t, "queue_length", "gauge",
           "Work waiting: polls in progress, due feeds waiting for a slot, writes waiting "
           "for the store's writer, hooks running.");
    text_printf(&t,
                FW_METRIC_PREFIX
                "queue_length{queue=\"polls_active\"} %" PRIu64 "\n" FW_METRIC_PREFIX
                "queue_length{queue=\"polls_waiting\"} %" PRIu64 "\n" FW_METRIC_PREFIX
                "queue_length{queue=\"store\"} %" PRIu64 "\n" FW_METRIC_PREFIX
                "queue_length{queue=\"hooks_running\"} %" PRIu64 "\n",
                g->polls_active, g->polls_waiting, g->store_queue, g->hooks_running);
    family(&t, "search_lag_items", "gauge", "Items stored but not yet in the search index.");
    if (!g->store_unknown)
        text_printf(&t, FW_METRIC_PREFIX "search_lag_items %" PRIu64 "\n", g->search_lag_items);
    family(&t, "database_bytes", "gauge", "Size of the database files.");
    if (!g->store_unknown)
        text_printf(&t, FW_METRIC_PREFIX "database_bytes %" PRIu64 "\n", g->database_bytes);
    if (g->store_read != METRICS_STORE_LOCAL) {
        family(&t, "store_stale", "gauge",
               "1 when the alerts and database_bytes above are the last ones read: the database"
               " did not answer in time.");
        text_printf(&t, FW_METRIC_PREFIX "store_stale %d\n", g->store_read == METRICS_STORE_STALE);
    }
    family(&t, "resident_memory_bytes", "gauge", "The daemon's resident memory (RSS).");
    text_printf(&t, FW_METRIC_PREFIX "resident_memory_bytes %" PRIu64 "\n", g->rss_bytes);

    if (t.oom) {
        free(t.p);
        return NULL;
    }
    return t.p;
}
