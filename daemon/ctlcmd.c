/*
 * ctlcmd.c — one handler per control command of proto/ctlproto.h, whose table says which
 * commands are read-only (open to the socket's group) and which change state (root or the
 * daemon's user); the `poll --wait` waiters; the `watch` lines built from events.h.
 * Request members are named like the CLI's flags (PRODUCT.md "Socket protocol").
 */
#include "ctlcmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts.h"
#include "cluster.h"
#include "daemon.h"
#include "dctx.h"
#include "events.h"
#include "feedtable.h"
#include "hook.h"
#include "store.h"
#include "parse/date.h"
#include "log.h"
#include "retention.h"
#include "search.h"
#include "storestat.h"
#include "base/feedrule.h"
#include "base/url.h"

/*
 * A command's handler: the answer (a new reference; NULL on OOM), or NULL with *deferred
 * set when the answer will come through ctl_conn_reply().
 */
typedef json_t *(*ctlcmd_handler_cb)(struct daemon *d, struct ctl_conn *conn, json_t *req,
                                     bool *deferred);

struct ctlcmd {
    const char *name;
    ctlcmd_handler_cb handler;
};

/* A time as RFC 3339, or JSON null when absent. */
static json_t *
json_time(int64_t at)
{
    if (at == FEED_TIME_NONE)
        return json_null();
    char buf[DATE_RFC3339_LEN];
    date_format(at, buf);
    return json_string(buf);
}

/* Stored text is valid UTF-8; should a byte slip through, it shows as U+FFFD. */
#define json_str ctlproto_json_string

/* The feeds by state, as `status` and `reload` answer them: {total, ok, failing, ...}. */
static json_t *
feed_counts_json(struct daemon *d)
{
    struct feedtable *table = daemon_feeds(d);
    unsigned counts[4] = {0};
    for (size_t i = 0; i < table->n_feeds; i++)
        counts[dfeed_state_shown(table->feeds[i])]++;
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "total", (json_int_t)table->n_feeds, "ok",
                     (json_int_t)counts[DFEED_OK], "failing", (json_int_t)counts[DFEED_FAILING],
                     "disabled", (json_int_t)counts[DFEED_DISABLED], "paused",
                     (json_int_t)counts[DFEED_PAUSED]);
}

/* One node of the cluster for status (store_nodes_list). */
static int
on_node(void *userdata, const struct store_node *n)
{
    json_t *nodes = userdata;
    json_t *o =
        json_pack("{s:s, s:b, s:I, s:o, s:o, s:I, s:I, s:I, s:s?}", "name", n->name, "alive",
                  n->alive, "pid", (json_int_t)n->pid, "started", json_time(n->started_at), "seen",
                  n->seen_at > 0 ? json_time(n->seen_at) : json_null(), "leases",
                  (json_int_t)(n->feed_leases + n->delivery_leases), "feed_leases",
                  (json_int_t)n->feed_leases, "delivery_leases", (json_int_t)n->delivery_leases,
                  "config_hash", n->config_hash);
    return o && json_array_append_new(nodes, o) == 0 ? 0 : -ENOMEM;
}

/*
 * The cluster as status shows it: this node's name and config hash, every node of nodes
 * (taken; alive or not, its leases, its config's hash; NULL: not known, the database did not
 * answer yet), and whether a live node's config differs from this one's. NULL when out of
 * memory.
 */
static json_t *
cluster_json(struct dctx *dc, json_t *nodes)
{
    const char *mine = cluster_config_hash(dc->cluster);
    bool differs = false;
    size_t i, alive = 0;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        if (!json_is_true(json_object_get(n, "alive")))
            continue;
        alive++;
        const char *h = json_string_value(json_object_get(n, "config_hash"));
        if (h && strcmp(h, mine) != 0)
            differs = true;
    }
    bool known = nodes != NULL;
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "node", dc->conf->daemon.node, "config_hash",
                     mine, "nodes_alive", known ? json_integer((json_int_t)alive) : json_null(),
                     "config_differs", known ? json_boolean(differs) : json_null(), "nodes",
                     known ? nodes : json_array());
}

/* The store's part of status: read on the loop (SQLite) or off it (storestat.h). */
struct status_tallies {
    bool known; /* false: no read has ended well yet (the members below are shown as null) */
    uint64_t database_bytes;
    int64_t search_lag;
    int64_t delivered, pending, failed, no_hook;
    int64_t item_events_failed; /* item events (item-updated, story-source) with a failed hook */
    json_t *nodes; /* the cluster's, as on_node writes them; NULL: not clustered or not known */
};

/* An integer member of status that the store gives: null when not known. */
static json_t *
tally(const struct status_tallies *t, int64_t v)
{
    return t->known ? json_integer((json_int_t)v) : json_null();
}

/* The answer to status from the loop's state and the store's tallies t (t->nodes taken). */
static json_t *
status_json(struct daemon *d, struct status_tallies *t)
{
    struct dctx *dc = daemon_ctx(d);
    struct feedtable *table = daemon_feeds(d);
    int64_t next = sched_next_due(dc->sched);
    struct daemon_status ds;
    daemon_status(d, &ds);
    json_t *nodes = t->nodes;
    t->nodes = NULL;
    json_t *resp = json_pack(
        "{s:b, s:s, s:i, s:I, s:o, s:{s:I}, s:{s:o, s:o, s:o, s:o}, s:{s:o}, s:I, s:o, s:o, s:o}",
        CTL_RESP_OK, 1, "version", FW_VERSION, "protocol", CTL_PROTOCOL_VERSION, "uptime_s",
        (json_int_t)ds.uptime_s, CTL_RESP_FEEDS, feed_counts_json(d), CTL_RESP_ITEMS, "total",
        (json_int_t)ds.items_total, CTL_RESP_ALERTS, "delivered", tally(t, t->delivered), "pending",
        tally(t, t->pending), "failed", tally(t, t->failed), "no_hook", tally(t, t->no_hook),
        "item_events", "failed", tally(t, t->item_events_failed), "polls_in_flight",
        (json_int_t)(table->polls_active + table->n_ready), "next_poll",
        next == INT64_MAX ? json_null() : json_time(next / 1000), "database_bytes",
        tally(t, (int64_t)t->database_bytes), CTL_RESP_SEARCH_LAG, tally(t, t->search_lag));
    /* What the polls in flight hold, against max_poll_memory (daemon.h). */
    if (resp &&
        json_object_set_new(resp, "poll_memory",
                            json_pack("{s:I, s:I, s:I, s:i}", "bytes", (json_int_t)dc->poll_memory,
                                      "peak_bytes", (json_int_t)dc->poll_memory_peak, "max_bytes",
                                      (json_int_t)dc->conf->daemon.max_poll_memory, "paused",
                                      (int)dc->poll_memory_paused)) < 0) {
        json_decref(resp);
        resp = NULL;
    }
    /* Retention's tallies: pruned_items, last_prune, ... (retention.h). */
    if (resp && json_object_update_new(resp, retention_json(ds.retention)) < 0) {
        json_decref(resp);
        resp = NULL;
    }
    /* Several daemons on one database: the nodes (cluster.h). */
    if (resp && dc->cluster) {
        json_t *cl = cluster_json(dc, nodes);
        nodes = NULL;
        if (!cl || json_object_set_new(resp, "cluster", cl) < 0) {
            json_decref(resp);
            resp = NULL;
        }
    }
    json_decref(nodes);
    return resp;
}

/* `status` waiting for the store's tallies (PostgreSQL: storestat.h). */
struct status_wait {
    struct daemon *d;
    struct ctl_conn *conn;
    struct storestat_want *want;
};

static void
on_status_detach(void *waiter)
{
    struct status_wait *w = waiter;
    storestat_forget(w->want);
    free(w);
}

/*
 * The tallies came (fresh), or the database did not answer in time (the last ones read, with
 * why): status answers with them and says which in "store" {stale, read_at, error}.
 */
static void
on_status_tallies(void *ctx, const struct storestat_snap *snap, bool fresh, const char *error)
{
    struct status_wait *w = ctx;
    struct status_tallies t = {
        .known = snap->read_at != 0,
        .database_bytes = snap->database_bytes,
        .search_lag = snap->search_lag,
        .delivered = snap->alerts_delivered,
        .pending = snap->alerts_pending,
        .failed = snap->alerts_failed,
        .no_hook = snap->alerts_no_hook,
        .item_events_failed = snap->item_events_failed,
    };
    bool oom = false;
    if (t.known && daemon_ctx(w->d)->cluster) {
        t.nodes = json_array();
        for (size_t i = 0; t.nodes && !oom && i < snap->n_nodes; i++)
            oom = on_node(t.nodes, &snap->nodes[i]) < 0;
        oom = oom || !t.nodes;
    }
    json_t *resp = oom ? NULL : status_json(w->d, &t);
    json_decref(t.nodes);
    json_t *store = json_pack("{s:b, s:o, s:o}", "stale", !fresh, "read_at",
                              t.known ? json_time(snap->read_at) : json_null(), "error",
                              error ? json_str(error) : json_null());
    if (!resp || !store || json_object_set_new(resp, "store", store) < 0) {
        json_decref(resp);
        resp = NULL;
    }
    struct ctl_conn *conn = w->conn;
    free(w);
    ctl_conn_reply(conn, resp); /* NULL: "out of memory" */
}

static json_t *
cmd_status(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    struct dctx *dc = daemon_ctx(d);
    (void)req;
    /* PostgreSQL: the store's part is read off the loop, and waited for STORESTAT_WAIT_MS. */
    if (dc->storestat && conn) {
        struct status_wait *w = calloc(1, sizeof(*w));
        if (!w)
            return ctl_error("out of memory");
        *w = (struct status_wait){.d = d, .conn = conn};
        if (!(w->want = storestat_want(dc->storestat, on_status_tallies, w))) {
            free(w);
            return ctl_error("out of memory");
        }
        ctl_conn_defer(conn, on_status_detach, w);
        *deferred = true;
        return NULL;
    }
    /* SQLite: a local file, read on the loop. */
    struct status_tallies t = {.known = true, .search_lag = search_lag(dc->search)};
    (void)store_disk_bytes(dc->store, &t.database_bytes);
    if (store_alert_counts(dc->store, &t.delivered, &t.pending, &t.failed, &t.no_hook) < 0 ||
        store_item_events_failed(dc->store, &t.item_events_failed) < 0)
        return ctl_error("status: %s", store_errmsg(dc->store));
    if (dc->cluster) {
        if (!(t.nodes = json_array()) || store_nodes_list(dc->store, on_node, t.nodes) < 0) {
            json_t *e = t.nodes ? ctl_error("status: %s", store_errmsg(dc->store))
                                : ctl_error("status: out of memory");
            json_decref(t.nodes);
            return e;
        }
    }
    return status_json(d, &t);
}

/*
 * A feed's URL as the peer may see it: without its userinfo (user:password@) and its
 * secret-looking query values for root and the daemon's user; only its scheme and host for
 * the socket's group (url_brief: paths and queries carry capability tokens).
 */
static json_t *
json_url_shown(const char *url, bool privileged)
{
    char *r = privileged ? url_redact(url) : url_brief(url);
    json_t *v = json_str(r);
    free(r);
    return v;
}

/*
 * A feed's error text as the peer may see it: for the group, the paths of its URLs hidden (the
 * configured one, the one in use, and the one in use when the text was written, st's).
 */
static json_t *
json_error_shown(const struct dfeed *f, const struct store_feed *st, const char *text,
                 bool privileged)
{
    if (privileged || !text)
        return json_str(text);
    const char *urls[] = {f->st.url, st->url};
    char *shown = url_brief_text(text, f->cfg->url);
    for (size_t i = 0; shown && i < sizeof(urls) / sizeof(urls[0]); i++) {
        if (!urls[i] || (i > 0 && urls[i - 1] && strcmp(urls[i], urls[i - 1]) == 0))
            continue;
        char *next = url_brief_text(shown, urls[i]);
        free(shown);
        shown = next;
    }
    json_t *v = json_str(shown);
    free(shown);
    return v;
}

static json_t *feed_json_settings(json_t *o, const struct conf_feed *cfg);

/* One entry of `feeds`; also the body of a `watch` feed event. */
json_t *
ctlcmd_feed_json(const struct dfeed *f, bool privileged)
{
    /* A poll shows once it is stored, with its items (dfeed_shown). */
    const struct store_feed *st = dfeed_shown(f);
    enum dfeed_state s = dfeed_state_shown(f);
    const char *reason = st->disabled_reason;
    if (s == DFEED_DISABLED && !reason)
        reason = "disabled in the config";
    /*
     * When the next poll is due: its timer, or, while a poll is under way or its result waits
     * for the writer, the time the shown state holds (the one planned before that poll: the
     * poll's own plan shows with its outcome, once stored, when its timer is armed); during a
     * first poll, or waiting for a poll slot before it, when it fell due (null: never
     * scheduled, as in --once).
     */
    int64_t next = FEED_TIME_NONE;
    if (sched_entry_armed(&f->sched))
        next = (f->sched.due_wall_ms + 999) / 1000;
    else if ((s == DFEED_OK || s == DFEED_FAILING) && st->next_poll_at != FEED_TIME_NONE)
        next = st->next_poll_at;
    else if ((s == DFEED_OK || s == DFEED_FAILING) && f->sched.due_wall_ms != INT64_MAX)
        next = (f->sched.due_wall_ms + 999) / 1000;
    json_t *o = json_pack(
        "{s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:I, s:b, s:I, s:o}", "name", f->cfg->name, "url",
        json_url_shown(st->url ? st->url : f->cfg->url, privileged), "configured_url",
        json_url_shown(f->cfg->url, privileged), "state", dfeed_state_name(s), "reason",
        json_error_shown(f, st, s == DFEED_DISABLED ? reason : NULL, privileged), "last_poll",
        json_time(st->last_poll_at), "last_status",
        st->last_status ? json_integer(st->last_status) : json_null(), "last_error",
        json_error_shown(f, st, st->last_error, privileged), "failures", (json_int_t)st->failures,
        "recovered", st->recovered, "items", (json_int_t)st->items, "next_poll", json_time(next));
    return feed_json_settings(o, f->cfg);
}

/* Adds what a feed's settings say of it to its `feeds` entry o: tags, interval, fetch_article. */
static json_t *
feed_json_settings(json_t *o, const struct conf_feed *cfg)
{
    json_t *tags = json_array();
    for (size_t i = 0; tags && i < cfg->n_tags; i++)
        if (json_array_append_new(tags, json_str(cfg->tags[i])) < 0) {
            json_decref(tags);
            tags = NULL;
        }
    if (!o || !tags || json_object_set_new(o, "tags", tags) < 0 ||
        json_object_set_new(o, "interval_s", json_integer((json_int_t)cfg->interval_s)) < 0 ||
        json_object_set_new(o, "fetch_article", json_boolean(cfg->fetch_article)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static struct store *reader_store(struct ctl_reader *r, const char *cmd, json_t **ret_err);
static json_t *queue_work(struct ctl_conn *conn, ctl_work_cb fn, json_t *job, bool *deferred);

/* A feed's `header` setting as the socket's group may see it: its name, not its value. */
static json_t *
json_header_name(const char *header)
{
    if (!header)
        return json_null();
    const char *colon = strchr(header, ':');
    size_t len = colon ? (size_t)(colon - header) : strlen(header);
    char *name = strndup(header, len);
    json_t *v = name ? json_str(name) : NULL;
    free(name);
    return v;
}

/*
 * `feeds NAME`: the entry of `feeds` and what the loop knows beyond it (settings, where the
 * feed is defined, the topics that cover it, validators, item rate); the store's tallies are
 * added in the thread pool (feed_detail_work). Where it is defined is the config file's
 * path and line for root and the daemon's user, only "config" or "runtime" for the group.
 */
static json_t *
feed_detail_json(struct daemon *d, const struct dfeed *f, bool privileged)
{
    struct dctx *dc = daemon_ctx(d);
    const struct conf_feed *cfg = f->cfg;
    const struct store_feed *st = dfeed_shown(f);
    json_t *o = ctlcmd_feed_json(f, privileged);
    json_t *topics = json_array();
    char *origin = NULL;
    for (size_t i = 0; topics && i < dc->conf->n_topics; i++)
        if (alerts_topic_covers(&dc->conf->topics[i], cfg) &&
            json_array_append_new(topics, json_str(dc->conf->topics[i].name)) < 0) {
            json_decref(topics);
            topics = NULL;
        }
    if (!privileged)
        origin = strdup(f->runtime_cfg ? "runtime" : "config");
    else if (!f->runtime_cfg && cfg->origin.file &&
             asprintf(&origin, "%s:%u", cfg->origin.file, cfg->origin.line) < 0)
        origin = NULL;
    json_t *more = json_pack(
        "{s:s, s:o, s:b, s:b, s:o, s:b, s:o?, s:o, s:o, s:o, s:b}", "source",
        f->runtime_cfg ? "runtime" : "config", "defined_at", json_str(origin), "enabled",
        cfg->enabled, "allow_private_addresses", cfg->allow_private_addresses, "header",
        json_header_name(cfg->header), "auth", cfg->user != NULL || cfg->password_file != NULL,
        "topics", topics, "etag", json_str(st->etag), "last_modified", json_str(st->last_modified),
        "items_per_hour", st->item_rate < 0 ? json_null() : json_real(st->item_rate), "polling",
        f->poll != NULL);
    free(origin);
    if (!o || !more || json_object_update_new(o, more) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Pool thread: the store's tallies of one feed, added to the entry the loop built. */
static json_t *
feed_detail_work(void *ctx, struct ctl_reader *rd, json_t *job)
{
    json_t *bad = NULL;
    struct store *st = reader_store(rd, "feeds", &bad);
    (void)ctx;
    if (!st)
        return bad;
    json_t *feed = json_object_get(job, CTL_RESP_FEED);
    struct store_feed_counts n;
    if (store_feed_counts(st, json_string_value(json_object_get(feed, "name")), &n) < 0)
        return ctl_error("feeds: %s", store_errmsg(st));
    json_t *more = json_pack(
        "{s:I, s:I, s:o, s:{s:I, s:I, s:I, s:I}}", "items", (json_int_t)n.items, "pruned_items",
        (json_int_t)n.pruned_items, "last_new_item", json_time(n.last_new_item_at), CTL_RESP_ALERTS,
        "delivered", (json_int_t)n.alerts_delivered, "pending", (json_int_t)n.alerts_pending,
        "failed", (json_int_t)n.alerts_failed, "no_hook", (json_int_t)n.alerts_no_hook);
    if (!more || json_object_update_new(feed, more) < 0)
        return NULL;
    return json_pack("{s:b, s:O}", CTL_RESP_OK, 1, CTL_RESP_FEED, feed);
}

/*
 * Whether conn's peer may see feed URLs whole (root or the daemon's user). A request
 * dispatched with no connection (the unit tests call ctlcmd_dispatch directly) is the group's.
 */
static bool
peer_privileged(const struct ctl_conn *conn)
{
    return conn && ctl_conn_privileged(conn);
}

static json_t *
cmd_feeds(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    struct feedtable *table = daemon_feeds(d);
    json_t *jname = json_object_get(req, CTL_REQ_NAME);
    if (jname && !json_is_null(jname)) {
        if (!json_is_string(jname))
            return ctl_error("feeds: \"name\" must be a string");
        const struct dfeed *f = feedtable_find(table, json_string_value(jname));
        if (!f)
            return ctl_error("no feed '%.200s'", json_string_value(jname));
        json_t *entry = feed_detail_json(d, f, peer_privileged(conn));
        if (!entry)
            return NULL;
        return queue_work(conn, feed_detail_work, json_pack("{s:o}", CTL_RESP_FEED, entry),
                          deferred);
    }
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < table->n_feeds; i++) {
        if (json_array_append_new(arr, ctlcmd_feed_json(table->feeds[i], peer_privileged(conn))) <
            0) {
            json_decref(arr);
            return NULL;
        }
    }
    /* urls_hidden: the group's URLs are scheme and host only (`export` refuses them) */
    return json_pack("{s:b, s:o, s:b}", CTL_RESP_OK, 1, CTL_RESP_FEEDS, arr, "urls_hidden",
                     !peer_privileged(conn));
}

/*
 * What the socket's group sees of items' URLs and keys (issue 14, review16 a): a feed's
 * relative links resolve against its URL ("#comments" is the feed's URL with a fragment), so
 * those made from it are briefed as the feed's URL is (url_item_brief) against every URL the
 * feed has or had that is known: the feed table's (on the loop thread) and its row's in the
 * store (configured, in use, given to `add`; also for a feed no longer configured). A NULL
 * view is a privileged peer's, who sees them whole.
 */
struct item_view {
    struct store *store;     /* the feeds' rows (any connection that may read) */
    struct feedtable *table; /* the feeds as they are now; NULL off the loop thread */
    json_t *cache;           /* feed name -> [its URLs], or false when not known */
};

/* A view for the socket's group through store (and table on the loop), or NULL on OOM. */
static struct item_view *
item_view_init(struct item_view *v, struct store *store, struct feedtable *table)
{
    *v = (struct item_view){.store = store, .table = table, .cache = json_object()};
    return v->cache ? v : NULL;
}

static void
item_view_done(struct item_view *v)
{
    if (v)
        json_decref(v->cache);
}

/* The URLs of the feed called name as an array (borrowed), false when they are not known. */
static json_t *
item_view_urls(struct item_view *v, const char *name)
{
    json_t *urls = json_object_get(v->cache, name);
    if (urls)
        return urls;
    char *row[STORE_FEED_URLS] = {NULL};
    int found = v->store ? store_feed_urls(v->store, name, row) : 0;
    const struct dfeed *f = v->table ? feedtable_find(v->table, name) : NULL;
    urls = found > 0 || f ? json_array() : json_false();
    for (size_t i = 0; found > 0 && i < STORE_FEED_URLS; i++)
        if (row[i] && json_array_append_new(urls, json_str(row[i])) < 0)
            found = -ENOMEM;
    if (f && f->cfg->url && json_array_append_new(urls, json_str(f->cfg->url)) < 0)
        found = -ENOMEM;
    if (f && f->st.url && json_array_append_new(urls, json_str(f->st.url)) < 0)
        found = -ENOMEM;
    if (f && f->st.base_url && json_array_append_new(urls, json_str(f->st.base_url)) < 0)
        found = -ENOMEM;
    for (size_t i = 0; i < STORE_FEED_URLS; i++)
        free(row[i]);
    if (found < 0) {
        /* not known (a store error): the caller briefs every URL of the feed's items */
        json_decref(urls);
        urls = json_false();
    }
    if (!urls || json_object_set_new_nocheck(v->cache, name, urls) < 0)
        return NULL;
    return urls;
}

/*
 * An item's URL or key as the peer may see it: whole when v is NULL (a privileged peer);
 * else as url_item_brief shows it against its feed's URLs, or, when those are not known,
 * briefed whenever it has a scheme.
 */
static json_t *
json_item_url(struct item_view *v, const char *feed, const char *url)
{
    if (!v || !url)
        return json_str(url);
    json_t *urls = feed ? item_view_urls(v, feed) : NULL;
    char *shown;
    char scheme[32];
    if (json_is_array(urls)) {
        const char *u[STORE_FEED_URLS + 3];
        size_t n = 0;
        for (size_t i = 0; i < json_array_size(urls) && n < STORE_FEED_URLS + 3; i++)
            u[n++] = json_string_value(json_array_get(urls, i));
        shown = url_item_brief(url, u, n);
    } else {
        shown = url_scheme(url, scheme, sizeof(scheme)) ? url_brief(url) : url_strip_userinfo(url);
    }
    json_t *j = shown ? json_str(shown) : NULL;
    free(shown);
    return j;
}

struct items_ctx {
    json_t *arr;
    bool text;
    struct item_view *view;
};

/* One entry of `items`, as view shows it (NULL: whole); also the body of a `watch` item event. */
static json_t *
item_json(const struct store_item_row *row, struct item_view *view)
{
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                     (json_int_t)row->id, "feed", json_str(row->feed), "key",
                     json_item_url(view, row->feed, row->key), "title", json_str(row->title), "url",
                     json_item_url(view, row->feed, row->url), "published",
                     json_time(row->published_at), "updated", json_time(row->updated_at), "author",
                     json_str(row->author), "language", json_str(row->language), "summary",
                     json_str(row->summary));
}

static int
on_item_row(void *userdata, const struct store_item_row *row)
{
    struct items_ctx *c = userdata;
    json_t *o = item_json(row, c->view);
    if (!o)
        return -ENOMEM;
    if (c->text && json_object_set_new(o, "text", json_str(row->text)) < 0) {
        json_decref(o);
        return -ENOMEM;
    }
    return json_array_append_new(c->arr, o) < 0 ? -ENOMEM : 0;
}

/* True when the feed's settings carry tag. */
static bool
feed_has_tag(const struct conf_feed *cfg, const char *tag)
{
    for (size_t i = 0; i < cfg->n_tags; i++)
        if (strcmp(cfg->tags[i], tag) == 0)
            return true;
    return false;
}

/* The names of the feeds carrying tag (only feed when set) as a JSON array text; NULL: OOM. */
static char *
tagged_feeds_json(struct daemon *d, const char *tag, const char *feed)
{
    struct feedtable *table = daemon_feeds(d);
    json_t *names = json_array();
    for (size_t i = 0; names && i < table->n_feeds; i++) {
        const struct conf_feed *cfg = table->feeds[i]->cfg;
        if ((feed && strcmp(cfg->name, feed) != 0) || !feed_has_tag(cfg, tag))
            continue;
        if (json_array_append_new(names, json_string(cfg->name)) < 0) {
            json_decref(names);
            names = NULL;
        }
    }
    char *text = names ? json_dumps(names, JSON_COMPACT) : NULL;
    json_decref(names);
    return text;
}

/* The reader's own connection to the store (opened on first use), or NULL with *ret_err. */
static struct store *
reader_store(struct ctl_reader *r, const char *cmd, json_t **ret_err)
{
    char *err = NULL;
    if (!r->store && store_open_reader(r->db_path, &r->store, &err) < 0) {
        *ret_err = ctl_error("%s: cannot open the database: %s", cmd, err ? err : "out of memory");
        free(err);
        return NULL;
    }
    return r->store;
}

/* Defers the answer to fn in the thread pool (takes job); NULL (deferred), or an error. */
static json_t *
queue_work(struct ctl_conn *conn, ctl_work_cb fn, json_t *job, bool *deferred)
{
    if (!job || ctl_conn_queue_work(conn, fn, job) < 0)
        return ctl_error("out of memory");
    *deferred = true;
    return NULL;
}

/*
 * The view of items' URLs an answer to job is written with (st: the reader's connection):
 * NULL for a privileged peer; for the socket's group (the job's "group", see job_group)
 * v, or NULL with *oom set when memory runs out.
 */
static struct item_view *
job_view(json_t *job, struct item_view *v, struct store *st, bool *oom)
{
    *oom = false;
    if (!json_is_true(json_object_get(job, "group")))
        return NULL;
    if (!item_view_init(v, st, NULL))
        *oom = true;
    return *oom ? NULL : v;
}

/* Marks job (taken; NULL passes) as the group's ("group") unless conn's peer is privileged. */
static json_t *
job_group(json_t *job, const struct ctl_conn *conn)
{
    if (job && json_object_set_new(job, "group", json_boolean(!peer_privileged(conn))) < 0) {
        json_decref(job);
        return NULL;
    }
    return job;
}

/* Pool thread: `items` on the reader's connection. */
static json_t *
items_work(void *ctx, struct ctl_reader *rd, json_t *job)
{
    json_t *bad = NULL;
    struct store *st = reader_store(rd, "items", &bad);
    (void)ctx;
    if (!st)
        return bad;
    struct item_view view;
    bool oom;
    struct items_ctx c = {.arr = json_array(),
                          .text = json_is_true(json_object_get(job, "text")),
                          .view = job_view(job, &view, st, &oom)};
    if (!c.arr || oom) {
        json_decref(c.arr);
        return NULL;
    }
    json_t *jsince = json_object_get(job, "since");
    struct store_items_filter f = {
        .feed = json_string_value(json_object_get(job, "feed")),
        /* "tagged": the names of the feeds carrying the asked tag, a JSON array text */
        .feeds_json = json_string_value(json_object_get(job, "tagged")),
        .topic = json_string_value(json_object_get(job, "topic")),
        .since_at = json_is_integer(jsince) ? json_integer_value(jsince) : FEED_TIME_NONE,
    };
    unsigned limit = (unsigned)json_integer_value(json_object_get(job, "limit"));
    int r = store_items_query(st, &f, limit, c.text, on_item_row, &c);
    item_view_done(c.view);
    if (r < 0) {
        json_decref(c.arr);
        return ctl_error("items: %s", r == -ENOMEM ? "out of memory" : store_errmsg(st));
    }
    return json_pack("{s:b, s:o}", CTL_RESP_OK, 1, CTL_RESP_ITEMS, c.arr);
}

static json_t *
cmd_items(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    json_t *jfeed = json_object_get(req, CTL_REQ_FEED);
    json_t *jlimit = json_object_get(req, CTL_REQ_LIMIT);
    json_t *jtext = json_object_get(req, CTL_REQ_TEXT);
    json_t *jtag = json_object_get(req, CTL_REQ_TAG);
    json_t *jtopic = json_object_get(req, CTL_REQ_TOPIC);
    json_t *jsince = json_object_get(req, CTL_REQ_SINCE);
    const char *feed = NULL, *topic = NULL;
    json_int_t limit = CTL_ITEMS_DEFAULT;
    int64_t since = FEED_TIME_NONE;

    if (jfeed && !json_is_null(jfeed)) {
        if (!json_is_string(jfeed))
            return ctl_error("items: \"feed\" must be a string");
        feed = json_string_value(jfeed);
        if (!feedtable_find(daemon_feeds(d), feed))
            return ctl_error("no feed '%.200s'", feed);
    }
    if (jlimit && !json_is_null(jlimit)) {
        if (!json_is_integer(jlimit) || json_integer_value(jlimit) < 1 ||
            json_integer_value(jlimit) > CTL_ITEMS_MAX)
            return ctl_error("items: \"limit\" must be an integer from 1 to %d", CTL_ITEMS_MAX);
        limit = json_integer_value(jlimit);
    }
    if (jtext && !json_is_boolean(jtext) && !json_is_null(jtext))
        return ctl_error("items: \"text\" must be true or false");
    if (jtopic && !json_is_null(jtopic)) {
        if (!json_is_string(jtopic))
            return ctl_error("items: \"topic\" must be a string");
        topic = json_string_value(jtopic);
        if (!conf_topic_find(daemon_ctx(d)->conf, topic))
            return ctl_error("no topic '%.200s'", topic);
    }
    if (jsince && !json_is_null(jsince)) {
        /* RFC 3339 only (the CLI turns "2h" into one): not every form date_parse reads */
        const char *t = json_string_value(jsince);
        if (!t || strlen(t) < 20 || t[4] != '-' || t[10] != 'T' || date_parse(t, &since) < 0)
            return ctl_error("items: \"since\" must be an RFC 3339 time "
                             "(2026-12-06T10:00:00Z)");
    }
    /* with "tag": the names of the feeds carrying it (read here, on the loop), a JSON array */
    char *tagged = NULL;
    if (jtag && !json_is_null(jtag)) {
        if (!json_is_string(jtag))
            return ctl_error("items: \"tag\" must be a string");
        if (!(tagged = tagged_feeds_json(d, json_string_value(jtag), feed)))
            return ctl_error("out of memory");
    }
    json_t *job =
        json_pack("{s:o, s:I, s:b, s:o, s:o, s:o}", "feed", feed ? json_string(feed) : json_null(),
                  "limit", (json_int_t)limit, "text", jtext && json_is_true(jtext), "tagged",
                  tagged ? json_string(tagged) : json_null(), "topic",
                  topic ? json_string(topic) : json_null(), "since",
                  since == FEED_TIME_NONE ? json_null() : json_integer(since));
    free(tagged);
    return queue_work(conn, items_work, job_group(job, conn), deferred);
}

/* An alert's `deliveries` as a peer sees them: for the group, their errors briefed. */
struct deliveries_ctx {
    json_t *arr;
    bool group;
};

/* One hook's delivery of an alert, for its `deliveries`. */
static int
on_delivery_row(void *userdata, const struct store_delivery_row *row)
{
    struct deliveries_ctx *c = userdata;
    char buf[160];
    const char *error =
        c->group ? hook_error_brief(row->last_error, buf, sizeof(buf)) : row->last_error;
    json_t *o = json_pack("{s:o, s:o, s:I, s:o, s:o, s:o}", "hook", json_str(row->hook), "state",
                          json_str(row->state), "attempts", (json_int_t)row->attempts, "last_error",
                          json_str(error), "next_attempt", json_time(row->next_attempt_at),
                          "last_attempt", json_time(row->last_attempt_at));
    return o && json_array_append_new(c->arr, o) == 0 ? 0 : -ENOMEM;
}

struct item_alerts_ctx {
    struct store *store;
    json_t *alerts;   /* raised on the item, with their deliveries */
    json_t *attached; /* alerts the item is another source of */
    bool group;       /* the socket's group asks: deliveries' errors briefed */
};

static int
on_item_alert(void *userdata, const struct store_alert_row *row, bool source)
{
    struct item_alerts_ctx *c = userdata;
    if (source) {
        json_t *o = json_pack("{s:I, s:o, s:I, s:o}", "id", (json_int_t)row->id, "topic",
                              json_str(row->topic), "item", (json_int_t)row->item_id, "feed",
                              json_str(row->feed));
        return o && json_array_append_new(c->attached, o) == 0 ? 0 : -ENOMEM;
    }
    json_t *deliveries = json_array();
    json_t *matched = row->matched ? json_loads(row->matched, 0, NULL) : NULL;
    struct deliveries_ctx dc = {.arr = deliveries, .group = c->group};
    if (!deliveries || store_alert_deliveries(c->store, row->id, on_delivery_row, &dc) < 0) {
        json_decref(deliveries);
        json_decref(matched);
        return -ENOMEM;
    }
    json_t *o = json_pack("{s:I, s:o, s:o, s:i, s:o, s:o, s:o}", "id", (json_int_t)row->id, "topic",
                          json_str(row->topic), "state", json_str(row->state), "attempts",
                          row->attempts, "raised", json_time(row->raised_at), "matched",
                          matched ? matched : json_array(), "deliveries", deliveries);
    return o && json_array_append_new(c->alerts, o) == 0 ? 0 : -ENOMEM;
}

struct item_get_ctx {
    json_t *item;
    struct item_view *view;
};

static int
on_item_full(void *userdata, const struct store_item_full *it)
{
    struct item_get_ctx *c = userdata;
    json_t *o = item_json(&it->row, c->view);
    json_t *cats = it->categories ? json_loads(it->categories, 0, NULL) : NULL;
    json_t *more = json_pack("{s:o, s:o, s:o, s:o}", "text", json_str(it->row.text), "categories",
                             json_is_array(cats) ? json_incref(cats) : json_array(), "first_seen",
                             json_time(it->row.first_seen_at), "pruned", json_time(it->pruned_at));
    json_decref(cats);
    if (!o || !more || json_object_update_new(o, more) < 0) {
        json_decref(o);
        return -ENOMEM;
    }
    c->item = o;
    return 0;
}

/* One kept version of an item, for its `versions` (the newest first). */
static int
on_item_version(void *userdata, const struct store_item_version *v)
{
    json_t *changes = v->changes ? json_loads(v->changes, 0, NULL) : NULL;
    json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)v->id, "title",
                          json_str(v->title), "text", json_str(v->text), "seen",
                          json_time(v->seen_at), "replaced", json_time(v->replaced_at), "changes",
                          changes ? changes : json_null());
    return o && json_array_append_new(userdata, o) == 0 ? 0 : -ENOMEM;
}

/* Pool thread: `item ID` on the reader's connection, in one read transaction. */
static json_t *
item_work(void *ctx, struct ctl_reader *rd, json_t *job)
{
    json_t *bad = NULL;
    struct store *st = reader_store(rd, "item", &bad);
    (void)ctx;
    if (!st)
        return bad;
    int64_t id = json_integer_value(json_object_get(job, "id"));
    struct item_view view;
    bool oom;
    struct item_get_ctx g = {.view = job_view(job, &view, st, &oom)};
    if (oom)
        return NULL;
    struct item_alerts_ctx a = {
        .store = st, .alerts = json_array(), .attached = json_array(), .group = g.view != NULL};
    json_t *resp = NULL, *versions = json_array();
    int r = store_begin_read(st);
    if (r == 0) {
        r = store_item_get(st, id, on_item_full, &g);
        if (r == 0 && a.alerts && a.attached)
            r = store_item_alerts(st, id, on_item_alert, &a);
        if (r == 0 && versions)
            r = store_item_versions(st, id, on_item_version, versions);
        store_rollback(st); /* ends the read transaction */
    }
    item_view_done(g.view);
    if (r == -ENOENT)
        resp = ctl_error("no item %" JSON_INTEGER_FORMAT, (json_int_t)id);
    else if (r < 0)
        resp = ctl_error("item: %s", r == -ENOMEM ? "out of memory" : store_errmsg(st));
    else if (g.item && a.alerts && a.attached &&
             json_object_set_new(g.item, CTL_RESP_ALERTS, json_incref(a.alerts)) == 0 &&
             json_object_set_new(g.item, "attached_to", json_incref(a.attached)) == 0 && versions &&
             json_object_set_new(g.item, "versions", json_incref(versions)) == 0)
        resp = json_pack("{s:b, s:O}", CTL_RESP_OK, 1, CTL_RESP_ITEM, g.item);
    json_decref(versions);
    json_decref(g.item);
    json_decref(a.alerts);
    json_decref(a.attached);
    return resp;
}

static json_t *
cmd_item(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    json_t *jid = json_object_get(req, CTL_REQ_ID);
    (void)d;
    if (!json_is_integer(jid) || json_integer_value(jid) < 1)
        return ctl_error("item: \"id\" must be a positive integer");
    return queue_work(conn, item_work,
                      job_group(json_pack("{s:I}", "id", json_integer_value(jid)), conn), deferred);
}

/*
 * A `poll --wait` request: the tallies of its polls, answered when remaining reaches 0. It
 * is freed then, whether its client is still there (conn) or went away (NULL).
 */
struct poll_wait {
    struct ctl_conn *conn;
    unsigned remaining;
    unsigned polled, ok, not_modified, errors;
    uint64_t new_items, alerts;
};

/* The answer to `poll --wait`; the counts sit in "cycle" beside the answer's own "ok". */
static json_t *
poll_answer(const struct poll_wait *w)
{
    return json_pack("{s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I}}", CTL_RESP_OK, 1, CTL_RESP_CYCLE,
                     CTL_CYCLE_POLLED, (json_int_t)w->polled, CTL_CYCLE_OK, (json_int_t)w->ok,
                     CTL_CYCLE_NOT_MODIFIED, (json_int_t)w->not_modified, CTL_CYCLE_ERRORS,
                     (json_int_t)w->errors, CTL_CYCLE_NEW_ITEMS, (json_int_t)w->new_items,
                     CTL_CYCLE_ALERTS, (json_int_t)w->alerts);
}

/* control.c: the client of a `poll --wait` went away; the polls go on, nobody is answered. */
static void
on_conn_detach(void *waiter)
{
    struct poll_wait *w = waiter;
    w->conn = NULL;
}

/* daemon.c: one of the polls a `poll --wait` waits for has ended. */
static void
on_poll_done(void *ctx, enum poll_outcome outcome, uint64_t new_items, uint64_t new_alerts)
{
    struct poll_wait *w = ctx;
    w->polled++;
    if (outcome == POLL_OK)
        w->ok++;
    else if (outcome == POLL_NOT_MODIFIED)
        w->not_modified++;
    else
        w->errors++;
    w->new_items += new_items;
    w->alerts += new_alerts;
    if (--w->remaining > 0)
        return;
    if (w->conn)
        ctl_conn_reply(w->conn, poll_answer(w)); /* NULL: "out of memory" */
    free(w);
}

static json_t *
cmd_poll(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    struct feedtable *table = daemon_feeds(d);
    json_t *jfeed = json_object_get(req, CTL_REQ_FEED);
    json_t *jwait = json_object_get(req, CTL_REQ_WAIT);
    struct dfeed *only = NULL;
    if (jfeed && !json_is_null(jfeed)) {
        if (!json_is_string(jfeed))
            return ctl_error("poll: \"feed\" must be a string");
        only = feedtable_find(table, json_string_value(jfeed));
        if (!only)
            return ctl_error("no feed '%.200s'", json_string_value(jfeed));
    }
    if (jwait && !json_is_boolean(jwait) && !json_is_null(jwait))
        return ctl_error("poll: \"wait\" must be true or false");
    bool wait = jwait && json_is_true(jwait);
    struct poll_wait *w = NULL;
    if (wait) {
        w = calloc(1, sizeof(*w));
        if (!w)
            return NULL;
        w->conn = conn;
        w->remaining = 1; /* held until every feed is started */
    }
    unsigned queued = 0;
    for (size_t i = 0; i < table->n_feeds; i++) {
        struct dfeed *f = table->feeds[i];
        if (only ? f != only : (dfeed_state(f) == DFEED_PAUSED || dfeed_state(f) == DFEED_DISABLED))
            continue;
        if (w)
            w->remaining++; /* on_poll_done is called once, whatever the return */
        if (feedtable_poll_now(table, f, w ? on_poll_done : NULL, w) == 0)
            queued++;
    }
    if (!wait)
        return json_pack("{s:b, s:I}", CTL_RESP_OK, 1, CTL_RESP_QUEUED, (json_int_t)queued);
    if (--w->remaining == 0) {
        /* Nothing to wait for (every poll ended at once, or none was asked). */
        json_t *resp = poll_answer(w);
        free(w);
        return resp;
    }
    ctl_conn_defer(conn, on_conn_detach, w);
    *deferred = true;
    return NULL;
}

struct alerts_ctx {
    struct store *store;
    json_t *arr;
    struct item_view *view;
};

/* An alert's sources as a view shows their URLs. */
struct sources_ctx {
    json_t *sources;
    struct item_view *view;
};

static int
on_source_name(void *userdata, const char *feed, const char *url, const char *title,
               int64_t item_id)
{
    struct sources_ctx *c = userdata;
    (void)title;
    json_t *o = json_pack("{s:o, s:o, s:I}", "feed", json_str(feed), "url",
                          json_item_url(c->view, feed, url), "item", (json_int_t)item_id);
    return o && json_array_append_new(c->sources, o) == 0 ? 0 : -ENOMEM;
}

/*
 * An alert's item events, each with its deliveries: `updates` (item-updated) and
 * `story_sources` (story-source: which item became a source of it).
 */
struct item_events_ctx {
    struct store *store;
    json_t *updates, *story_sources;
    bool group;
    int64_t n_sources; /* story-source events, all of them */
};

/* story-source events an alert's entry lists (the first ones, and every failed one). */
#define ITEM_EVENTS_SOURCES_LISTED 100

static int
on_item_event_row(void *userdata, const struct store_feed_event_row *row)
{
    struct item_events_ctx *c = userdata;
    bool source = row->event && strcmp(row->event, "story-source") == 0;
    if (source && c->n_sources++ >= ITEM_EVENTS_SOURCES_LISTED &&
        !(row->state && strcmp(row->state, "failed") == 0))
        return 0; /* counted (story_sources_total), not listed: a story of thousands of copies */
    json_t *deliveries = json_array();
    json_t *changes = !source && row->changes ? json_loads(row->changes, 0, NULL) : NULL;
    struct deliveries_ctx dc = {.arr = deliveries, .group = c->group};
    if (!deliveries || store_event_deliveries(c->store, row->id, on_delivery_row, &dc) < 0) {
        json_decref(deliveries);
        json_decref(changes);
        return -ENOMEM;
    }
    json_t *o =
        source ? json_pack("{s:I, s:o, s:I, s:o, s:o, s:i, s:o}", "id", (json_int_t)row->id,
                           "raised", json_time(row->raised_at), "item", (json_int_t)row->item_id,
                           "feed", json_str(row->feed), "state", json_str(row->state), "attempts",
                           row->attempts, CTL_RESP_DELIVERIES, deliveries)
               : json_pack("{s:I, s:o, s:I, s:o, s:i, s:o, s:o}", "id", (json_int_t)row->id,
                           "raised", json_time(row->raised_at), "item", (json_int_t)row->item_id,
                           "state", json_str(row->state), "attempts", row->attempts, "changes",
                           changes ? changes : json_null(), CTL_RESP_DELIVERIES, deliveries);
    if (!o)
        return -ENOMEM;
    return json_array_append_new(source ? c->story_sources : c->updates, o) == 0 ? 0 : -ENOMEM;
}

/*
 * One entry of `alerts`, its sources (the first STORE_SOURCES_LISTED, and the count of all),
 * deliveries and item events read through st, its URLs as view shows them (NULL: whole); also
 * the body of a `watch` alert event.
 */
static json_t *
alert_json(struct store *st, const struct store_alert_row *row, struct item_view *view)
{
    json_t *sources = json_array(), *deliveries = json_array(), *updates = json_array();
    json_t *story_sources = json_array();
    struct sources_ctx sc = {.sources = sources, .view = view};
    struct deliveries_ctx dc = {.arr = deliveries, .group = view != NULL};
    struct item_events_ctx ic = {
        .store = st, .updates = updates, .story_sources = story_sources, .group = view != NULL};
    int64_t n_sources = 0;
    if (!sources || !deliveries || !updates || !story_sources ||
        store_alert_sources(st, row->id, STORE_SOURCES_LISTED, 0, &n_sources, on_source_name, &sc) <
            0 ||
        store_alert_deliveries(st, row->id, on_delivery_row, &dc) < 0 ||
        store_alert_item_events(st, row->id, on_item_event_row, &ic) < 0) {
        json_decref(sources);
        json_decref(deliveries);
        json_decref(updates);
        json_decref(story_sources);
        return NULL;
    }
    return json_pack(
        "{s:I, s:o, s:I, s:o, s:o, s:o, s:o, s:i, s:o, s:o, s:I, s:o, s:o, s:o, s:I}", "id",
        (json_int_t)row->id, "topic", json_str(row->topic), "item", (json_int_t)row->item_id,
        "feed", json_str(row->feed), "title", json_str(row->title), "url",
        json_item_url(view, row->feed, row->url), "state", json_str(row->state), "attempts",
        row->attempts, "raised", json_time(row->raised_at), "sources", sources, "sources_total",
        (json_int_t)n_sources, CTL_RESP_DELIVERIES, deliveries, "updates", updates, "story_sources",
        story_sources, "story_sources_total", (json_int_t)ic.n_sources);
}

static int
on_alert_row(void *userdata, const struct store_alert_row *row)
{
    struct alerts_ctx *c = userdata;
    json_t *o = alert_json(c->store, row, c->view);
    return o && json_array_append_new(c->arr, o) == 0 ? 0 : -ENOMEM;
}

/* Pool thread: `alerts` on the reader's connection. */
static json_t *
alerts_work(void *ctx, struct ctl_reader *rd, json_t *job)
{
    json_t *bad = NULL;
    struct store *st = reader_store(rd, "alerts", &bad);
    (void)ctx;
    if (!st)
        return bad;
    struct item_view view;
    bool oom;
    struct alerts_ctx c = {
        .store = st, .arr = json_array(), .view = job_view(job, &view, st, &oom)};
    if (!c.arr || oom) {
        json_decref(c.arr);
        return NULL;
    }
    int r = store_alerts_list(st, json_string_value(json_object_get(job, "topic")),
                              json_is_true(json_object_get(job, "failed")),
                              (unsigned)json_integer_value(json_object_get(job, "limit")),
                              on_alert_row, &c);
    item_view_done(c.view);
    if (r < 0) {
        json_decref(c.arr);
        return ctl_error("alerts: %s", r == -ENOMEM ? "out of memory" : store_errmsg(st));
    }
    return json_pack("{s:b, s:o}", CTL_RESP_OK, 1, CTL_RESP_ALERTS, c.arr);
}

static json_t *
cmd_alerts(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    json_t *jtopic = json_object_get(req, CTL_REQ_TOPIC);
    json_t *jfailed = json_object_get(req, CTL_REQ_FAILED);
    json_t *jlimit = json_object_get(req, CTL_REQ_LIMIT);
    const char *topic = NULL;
    json_int_t limit = CTL_ALERTS_DEFAULT;
    if (jtopic && !json_is_null(jtopic)) {
        if (!json_is_string(jtopic))
            return ctl_error("alerts: \"topic\" must be a string");
        topic = json_string_value(jtopic);
        if (!conf_topic_find(daemon_ctx(d)->conf, topic))
            return ctl_error("no topic '%.200s'", topic);
    }
    if (jfailed && !json_is_boolean(jfailed) && !json_is_null(jfailed))
        return ctl_error("alerts: \"failed\" must be true or false");
    if (jlimit && !json_is_null(jlimit)) {
        if (!json_is_integer(jlimit) || json_integer_value(jlimit) < 1 ||
            json_integer_value(jlimit) > CTL_ITEMS_MAX)
            return ctl_error("alerts: \"limit\" must be an integer from 1 to %d", CTL_ITEMS_MAX);
        limit = json_integer_value(jlimit);
    }
    json_t *job = json_pack("{s:o, s:b, s:I}", "topic", topic ? json_string(topic) : json_null(),
                            "failed", jfailed && json_is_true(jfailed), "limit", (json_int_t)limit);
    return queue_work(conn, alerts_work, job_group(job, conn), deferred);
}

struct events_ctx {
    struct store *store;
    json_t *arr;
    bool group; /* the socket's group asks: URLs as scheme and host, errors briefed */
};

/* One entry of `events`: the event, its feed's state then, and each hook's delivery. */
static int
on_feed_event_row(void *userdata, const struct store_feed_event_row *row)
{
    struct events_ctx *c = userdata;
    json_t *deliveries = json_array();
    struct deliveries_ctx dc = {.arr = deliveries, .group = c->group};
    if (!deliveries || store_event_deliveries(c->store, row->id, on_delivery_row, &dc) < 0) {
        json_decref(deliveries);
        return -ENOMEM;
    }
    /* The group: the URL's path hidden, and the reason of a move (two URLs) left out. */
    char *reason = NULL;
    if (c->group && row->reason && strcmp(row->event, "feed-moved") != 0)
        reason = row->url ? url_brief_text(row->reason, row->url) : strdup(row->reason);
    json_t *o = json_pack(
        "{s:I, s:o, s:o, s:{s:o, s:o, s:o}, s:o, s:o, s:i, s:o}", "id", (json_int_t)row->id,
        "event", json_str(row->event), "feed", json_str(row->feed), "feed_state", "url",
        json_url_shown(row->url, !c->group), "state", json_str(row->feed_state), "reason",
        json_str(c->group ? reason : row->reason), "raised", json_time(row->raised_at), "state",
        json_str(row->state), "attempts", row->attempts, CTL_RESP_DELIVERIES, deliveries);
    free(reason);
    return o && json_array_append_new(c->arr, o) == 0 ? 0 : -ENOMEM;
}

/* Pool thread: `events` on the reader's connection. */
static json_t *
events_work(void *ctx, struct ctl_reader *rd, json_t *job)
{
    json_t *bad = NULL;
    struct store *st = reader_store(rd, "events", &bad);
    (void)ctx;
    if (!st)
        return bad;
    struct events_ctx c = {
        .store = st, .arr = json_array(), .group = json_is_true(json_object_get(job, "group"))};
    if (!c.arr)
        return NULL;
    int r = store_feed_events_list(st, json_is_true(json_object_get(job, "failed")),
                                   (unsigned)json_integer_value(json_object_get(job, "limit")),
                                   on_feed_event_row, &c);
    if (r < 0) {
        json_decref(c.arr);
        return ctl_error("events: %s", r == -ENOMEM ? "out of memory" : store_errmsg(st));
    }
    return json_pack("{s:b, s:o}", CTL_RESP_OK, 1, CTL_RESP_EVENTS, c.arr);
}

/* `events [--failed] [--limit N]`: feed events, newest first, with their deliveries. */
static json_t *
cmd_events(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    json_t *jfailed = json_object_get(req, CTL_REQ_FAILED);
    json_t *jlimit = json_object_get(req, CTL_REQ_LIMIT);
    json_int_t limit = CTL_ALERTS_DEFAULT;
    (void)d;
    if (jfailed && !json_is_boolean(jfailed) && !json_is_null(jfailed))
        return ctl_error("events: \"failed\" must be true or false");
    if (jlimit && !json_is_null(jlimit)) {
        if (!json_is_integer(jlimit) || json_integer_value(jlimit) < 1 ||
            json_integer_value(jlimit) > CTL_ITEMS_MAX)
            return ctl_error("events: \"limit\" must be an integer from 1 to %d", CTL_ITEMS_MAX);
        limit = json_integer_value(jlimit);
    }
    json_t *job = json_pack("{s:b, s:I}", "failed", jfailed && json_is_true(jfailed), "limit",
                            (json_int_t)limit);
    return queue_work(conn, events_work, job_group(job, conn), deferred);
}

static json_t *
cmd_watch(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    ctl_conn_watch(conn);
    return json_pack("{s:b, s:b}", CTL_RESP_OK, 1, CTL_RESP_WATCHING, 1);
}

struct search_ctx {
    json_t *arr;
    struct item_view *view;
};

static int
on_search_hit(void *userdata, const struct search_hit *hit)
{
    struct search_ctx *c = userdata;
    /* An entry of `items` (search_hit has its columns), and why it matched. */
    struct store_item_row row = {
        .id = hit->item_id,
        .feed = hit->feed,
        .key = hit->key,
        .title = hit->title,
        .url = hit->url,
        .published_at = hit->published_at,
        .updated_at = hit->updated_at,
        .author = hit->author,
        .language = hit->language,
        .summary = hit->summary,
    };
    json_t *matched = json_loads(hit->matched_json, 0, NULL);
    json_t *o = item_json(&row, c->view);
    if (!o || json_object_set_new(o, "matched", matched ? matched : json_array()) < 0) {
        json_decref(o);
        return -ENOMEM;
    }
    return json_array_append_new(c->arr, o) == 0 ? 0 : -ENOMEM;
}

/* Pool thread: `search` on the reader's own read-only connections. */
static json_t *
search_work(void *ctx, struct ctl_reader *rd, json_t *job)
{
    struct daemon *d = ctx;
    struct dctx *dc = daemon_ctx(d);
    if (!rd->search && search_reader_open(dc->search, &rd->search) < 0)
        return ctl_error("search: cannot open the index for reading");
    /* the group's view reads the feeds' URLs from the store */
    struct store *st = NULL;
    json_t *bad = NULL;
    if (json_is_true(json_object_get(job, "group")) && !(st = reader_store(rd, "search", &bad)))
        return bad;
    struct item_view view;
    bool oom;
    struct search_ctx c = {.arr = json_array(), .view = job_view(job, &view, st, &oom)};
    char *err = NULL;
    if (!c.arr || oom) {
        json_decref(c.arr);
        return NULL;
    }
    const char *query = json_string_value(json_object_get(job, "query"));
    unsigned limit = (unsigned)json_integer_value(json_object_get(job, "limit"));
    int r = search_reader_run(dc->search, rd->search, query, limit, on_search_hit, &c, &err);
    item_view_done(c.view);
    if (r < 0) {
        json_t *resp = ctl_error("%s", err ? err : strerror(-r));
        free(err);
        json_decref(c.arr);
        return resp;
    }
    return json_pack("{s:b, s:o, s:I}", CTL_RESP_OK, 1, CTL_RESP_ITEMS, c.arr, CTL_RESP_SEARCH_LAG,
                     (json_int_t)search_reader_lag(dc->search, rd->search));
}

static json_t *
cmd_search(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    json_t *jquery = json_object_get(req, CTL_REQ_QUERY);
    json_t *jlimit = json_object_get(req, CTL_REQ_LIMIT);
    json_int_t limit = CTL_ITEMS_DEFAULT;
    if (!json_is_string(jquery))
        return ctl_error("search: \"query\" must be a string");
    if (jlimit && !json_is_null(jlimit)) {
        if (!json_is_integer(jlimit) || json_integer_value(jlimit) < 1 ||
            json_integer_value(jlimit) > CTL_ITEMS_MAX)
            return ctl_error("search: \"limit\" must be an integer from 1 to %d", CTL_ITEMS_MAX);
        limit = json_integer_value(jlimit);
    }
    if (!daemon_ctx(d)->search)
        return ctl_error("search: the index could not be opened (see the log)");
    json_t *job =
        json_pack("{s:s, s:I}", "query", json_string_value(jquery), "limit", (json_int_t)limit);
    return queue_work(conn, search_work, job_group(job, conn), deferred);
}

/* The string member key of a run-time change request, or NULL with *ret_err built. */
static const char *
req_string(json_t *req, const char *cmd, const char *key, json_t **ret_err)
{
    json_t *v = json_object_get(req, key);
    if (!json_is_string(v) || json_string_length(v) == 0) {
        *ret_err = ctl_error("%s: \"%s\" must be a non-empty string", cmd, key);
        return NULL;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        *ret_err = ctl_error("%s: \"%s\" contains a NUL character", cmd, key);
        return NULL;
    }
    return json_string_value(v);
}

/*
 * The answer to add, pause and resume: the feed as `feeds` shows it (also sent to `watch`
 * clients as a feed event), or the error.
 */
static json_t *
change_answer(struct daemon *d, int r, struct dfeed *f, const char *err)
{
    json_t *resp;
    if (r < 0) {
        resp = ctl_error("%s", err ? err : strerror(-r));
    } else {
        /* add, pause and resume are root's and the daemon's user's */
        resp = json_pack("{s:b, s:o}", CTL_RESP_OK, 1, CTL_RESP_FEED, ctlcmd_feed_json(f, true));
        events_publish(daemon_ctx(d)->events,
                       &(struct events_event){.kind = EVENTS_FEED, .feed = f});
    }
    return resp;
}

/*
 * A run-time change under way: its answer is built by the daemon's callback, at once (a
 * refusal) or once the writer stored the change. A deferred answer holds the connection
 * (ctl_conn_defer), which control.c detaches when the client goes away.
 */
struct change {
    struct daemon *d;
    struct ctl_conn *conn; /* NULL once the client went away */
    char *removed;         /* remove: the name for the answer */
    json_t *answer;        /* built before the handler returned (NULL: out of memory) */
    bool answered;         /* the callback ran before the handler returned */
    bool deferred;
};

static void
change_free(struct change *c)
{
    free(c->removed);
    free(c);
}

/* control.c: the client of a deferred change went away; the change goes on, unanswered. */
static void
on_change_detach(void *waiter)
{
    struct change *c = waiter;
    c->conn = NULL;
}

/* The change's answer: kept for the handler, or sent to the waiting client. */
static void
change_reply(struct change *c, json_t *resp)
{
    if (!c->deferred) {
        c->answer = resp; /* NULL: out of memory, answered as such */
        c->answered = true;
        return;
    }
    if (c->conn)
        ctl_conn_reply(c->conn, resp); /* NULL: "out of memory" */
    else
        json_decref(resp);
    change_free(c);
}

static void
on_change_done(void *ctx, int r, struct dfeed *f, const char *err)
{
    struct change *c = ctx;
    change_reply(c, r == 0 && c->removed
                        ? json_pack("{s:b, s:s}", CTL_RESP_OK, 1, CTL_RESP_REMOVED, c->removed)
                        : change_answer(c->d, r, f, err));
}

static struct change *
change_new(struct daemon *d, struct ctl_conn *conn, const char *removed)
{
    struct change *c = calloc(1, sizeof(*c));
    if (!c || (removed && !(c->removed = strdup(removed)))) {
        free(c);
        return NULL;
    }
    c->d = d;
    c->conn = conn;
    return c;
}

/* After the daemon's call: the answer now, or NULL with *deferred set and conn waiting. */
static json_t *
change_answer_or_wait(struct change *c, struct ctl_conn *conn, bool *deferred)
{
    if (c->answered) {
        json_t *resp = c->answer;
        change_free(c);
        return resp;
    }
    c->deferred = true;
    ctl_conn_defer(conn, on_change_detach, c);
    *deferred = true;
    return NULL;
}

/* daemon_reload: the reload ended (at once, or once the writer loaded its new feeds' rows). */
static void
on_reloaded(void *ctx, int r, const char *err)
{
    struct change *c = ctx;
    struct daemon *d = c->d;
    struct dctx *dc = daemon_ctx(d);
    /* The feeds as `status` counts them, and the topics and hooks now in force. */
    change_reply(c, r < 0 ? json_pack("{s:b, s:s}", CTL_RESP_OK, 0, CTL_RESP_ERROR,
                                      err ? err : "reload failed")
                          : json_pack("{s:b, s:o, s:{s:I}, s:{s:I}}", CTL_RESP_OK, 1,
                                      CTL_RESP_FEEDS, feed_counts_json(d), CTL_RESP_TOPICS, "total",
                                      (json_int_t)dc->conf->n_topics, CTL_RESP_HOOKS, "total",
                                      (json_int_t)dc->conf->n_hooks));
}

static json_t *
cmd_reload(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    (void)req;
    log_notice("config: reload requested over the control socket");
    struct change *c = change_new(d, conn, NULL);
    if (!c)
        return NULL;
    daemon_reload(d, on_reloaded, c);
    return change_answer_or_wait(c, conn, deferred);
}

static json_t *
cmd_add(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    json_t *bad = NULL;
    const char *name = req_string(req, CTL_CMD_ADD, CTL_REQ_NAME, &bad);
    const char *url = name ? req_string(req, CTL_CMD_ADD, CTL_REQ_URL, &bad) : NULL;
    if (!url)
        return bad;
    json_t *jinterval = json_object_get(req, CTL_REQ_INTERVAL);
    json_t *jtags = json_object_get(req, CTL_REQ_TAGS);
    json_t *jfetch = json_object_get(req, CTL_REQ_FETCH_ARTICLE);
    struct dfeed_opts opts = {0};
    const char *tags[FEED_TAGS_MAX];
    if (jinterval && !json_is_null(jinterval)) {
        if (!json_is_integer(jinterval) || json_integer_value(jinterval) < 1)
            return ctl_error("add: \"interval\" must be a number of seconds, at least 1");
        opts.interval_s = (uint64_t)json_integer_value(jinterval);
    }
    if (jtags && !json_is_null(jtags)) {
        if (!json_is_array(jtags))
            return ctl_error("add: \"tags\" must be an array of strings");
        if (json_array_size(jtags) > FEED_TAGS_MAX)
            return ctl_error("add: at most %d tags", FEED_TAGS_MAX);
        for (size_t i = 0; i < json_array_size(jtags); i++) {
            json_t *t = json_array_get(jtags, i);
            if (!json_is_string(t) || strlen(json_string_value(t)) != json_string_length(t))
                return ctl_error("add: \"tags\" must be an array of strings");
            tags[i] = json_string_value(t);
        }
        opts.tags = (char **)tags;
        opts.n_tags = json_array_size(jtags);
    }
    if (jfetch && !json_is_boolean(jfetch) && !json_is_null(jfetch))
        return ctl_error("add: \"fetch_article\" must be true or false");
    opts.fetch_article = jfetch && json_is_true(jfetch);
    struct change *c = change_new(d, conn, NULL);
    if (!c)
        return NULL;
    feedtable_add(daemon_feeds(d), name, url, &opts, on_change_done, c);
    return change_answer_or_wait(c, conn, deferred);
}

static json_t *
cmd_remove(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    json_t *bad = NULL;
    const char *name = req_string(req, CTL_CMD_REMOVE, CTL_REQ_NAME, &bad);
    if (!name)
        return bad;
    struct change *c = change_new(d, conn, name);
    if (!c)
        return NULL;
    feedtable_remove(daemon_feeds(d), name, on_change_done, c);
    return change_answer_or_wait(c, conn, deferred);
}

static json_t *
cmd_pause(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    json_t *bad = NULL;
    const char *name = req_string(req, CTL_CMD_PAUSE, CTL_REQ_NAME, &bad);
    if (!name)
        return bad;
    struct change *c = change_new(d, conn, NULL);
    if (!c)
        return NULL;
    feedtable_pause(daemon_feeds(d), name, on_change_done, c);
    return change_answer_or_wait(c, conn, deferred);
}

static json_t *
cmd_resume(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    json_t *bad = NULL;
    const char *name = req_string(req, CTL_CMD_RESUME, CTL_REQ_NAME, &bad);
    if (!name)
        return bad;
    struct change *c = change_new(d, conn, NULL);
    if (!c)
        return NULL;
    feedtable_resume(daemon_feeds(d), name, on_change_done, c);
    return change_answer_or_wait(c, conn, deferred);
}

/* A `redeliver` waiting for the writer; conn is NULL once its client went away. */
struct redeliver {
    struct ctl_conn *conn;
};

/* control.c: the client of a `redeliver` went away; the redelivery goes on, unanswered. */
static void
on_redeliver_detach(void *waiter)
{
    struct redeliver *w = waiter;
    w->conn = NULL;
}

/* hook.c: the redelivery is stored (or not). */
static void
on_redelivered(void *ctx, int result, const char *error, unsigned queued, json_t *deliveries)
{
    struct redeliver *w = ctx;
    if (w->conn)
        ctl_conn_reply(w->conn,
                       result < 0 ? ctl_error("redeliver: %s", error)
                                  : json_pack("{s:b, s:I, s:O}", CTL_RESP_OK, 1, CTL_RESP_QUEUED,
                                              (json_int_t)queued, CTL_RESP_DELIVERIES, deliveries));
    free(w);
}

/* `redeliver`: one alert ("alert", an id) or every failed one ("failed"), "hook" to narrow. */
static json_t *
cmd_redeliver(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    json_t *jalert = json_object_get(req, CTL_REQ_ALERT);
    json_t *jfailed = json_object_get(req, CTL_REQ_FAILED);
    json_t *jhook = json_object_get(req, CTL_REQ_HOOK);
    json_t *bad = NULL;
    const char *hook = NULL;
    int64_t alert_id = 0;
    if (jalert && !json_is_null(jalert)) {
        if (!json_is_integer(jalert) || json_integer_value(jalert) < 1)
            return ctl_error("redeliver: \"alert\" must be an alert id (an integer, at least 1)");
        alert_id = json_integer_value(jalert);
    }
    if (jfailed && !json_is_boolean(jfailed) && !json_is_null(jfailed))
        return ctl_error("redeliver: \"failed\" must be true or false");
    if ((alert_id != 0) == json_is_true(jfailed))
        return ctl_error("redeliver: give either \"alert\" or \"failed\": true");
    if (jhook && !json_is_null(jhook) &&
        !(hook = req_string(req, CTL_CMD_REDELIVER, CTL_REQ_HOOK, &bad)))
        return bad;
    struct redeliver *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->conn = conn;
    char *err = NULL;
    if (hook_redeliver(daemon_ctx(d)->hooks, alert_id, hook, on_redelivered, w, &err) < 0) {
        json_t *resp = ctl_error("redeliver: %s", err ? err : "out of memory");
        free(err);
        free(w);
        return resp;
    }
    ctl_conn_defer(conn, on_redeliver_detach, w);
    *deferred = true;
    return NULL;
}

/* The Prometheus text of the daemon's metrics (also served by metrics_listen). */
static json_t *
metrics_answer(char *text)
{
    if (!text)
        return ctl_error("out of memory");
    json_t *resp = json_pack("{s:b, s:s}", CTL_RESP_OK, 1, CTL_RESP_TEXT, text);
    free(text);
    return resp;
}

/* The metrics came (PostgreSQL: once the store's tallies were read off the loop). */
static void
on_metrics_text(void *ctx, char *text)
{
    ctl_conn_reply(ctx, metrics_answer(text));
}

static void
on_metrics_detach(void *waiter)
{
    daemon_metrics_cancel(waiter);
}

static json_t *
cmd_metrics(struct daemon *d, struct ctl_conn *conn, json_t *req, bool *deferred)
{
    (void)req;
    if (!conn) /* the unit tests' direct dispatch: SQLite, at once */
        return metrics_answer(daemon_metrics_text(d));
    char *text = NULL;
    struct daemon_metrics_req *m = NULL;
    int r = daemon_metrics_get(d, on_metrics_text, conn, &text, &m);
    if (r < 0)
        return ctl_error("out of memory");
    if (r > 0)
        return metrics_answer(text);
    ctl_conn_defer(conn, on_metrics_detach, m);
    *deferred = true;
    return NULL;
}

/* The handler of each command of ctlproto_cmds (test_ctlcmd checks that both agree). */
static const struct ctlcmd ctlcmds[] = {
    {CTL_CMD_STATUS, cmd_status},   {CTL_CMD_FEEDS, cmd_feeds},
    {CTL_CMD_ITEMS, cmd_items},     {CTL_CMD_ITEM, cmd_item},
    {CTL_CMD_ALERTS, cmd_alerts},   {CTL_CMD_SEARCH, cmd_search},
    {CTL_CMD_WATCH, cmd_watch},     {CTL_CMD_EVENTS, cmd_events},
    {CTL_CMD_METRICS, cmd_metrics}, {CTL_CMD_POLL, cmd_poll},
    {CTL_CMD_RELOAD, cmd_reload},   {CTL_CMD_ADD, cmd_add},
    {CTL_CMD_REMOVE, cmd_remove},   {CTL_CMD_PAUSE, cmd_pause},
    {CTL_CMD_RESUME, cmd_resume},   {CTL_CMD_REDELIVER, cmd_redeliver},
};

/* Runs one request of conn (peer uid): answered, deferred, or out of memory. */
enum ctl_dispatch
ctlcmd_dispatch(struct daemon *d, struct ctl_conn *conn, uid_t uid, json_t *req, json_t **ret_resp)
{
    json_t *resp = NULL;
    bool deferred = false;
    json_t *jcmd = json_object_get(req, CTL_REQ_CMD);
    const char *name = json_string_value(jcmd);
    const struct ctlproto_cmd *pc = ctlproto_cmd_find(name);
    const struct ctlcmd *c = NULL;
    for (size_t i = 0; pc && i < sizeof(ctlcmds) / sizeof(ctlcmds[0]); i++)
        if (strcmp(ctlcmds[i].name, pc->name) == 0)
            c = &ctlcmds[i];
    if (!json_is_string(jcmd))
        resp = ctl_error("request has no \"cmd\" string");
    else if (!c)
        resp = ctl_error("unknown command '%.64s'", name);
    else if (pc->access == CTLPROTO_PRIVILEGED && uid != 0 && uid != geteuid())
        resp = ctl_error("%s: permission denied (root or the daemon's user only)", name);
    else if (daemon_ctx(d)->stopping)
        resp = ctl_error("the daemon is stopping");
    else
        resp = c->handler(d, conn, req, &deferred);
    if (deferred)
        return CTL_DEFERRED;
    if (!resp)
        return CTL_NOMEM;
    *ret_resp = resp;
    return CTL_ANSWERED;
}

/* The control socket and the daemon its commands act on (ctlcmd_listen). */
struct ctlcmd_server {
    struct daemon *d;
    struct control *control;
};

/* A view for the socket's group's watchers, on the loop: the feed table and the store. */
static struct item_view *
watch_view(struct ctlcmd_server *srv, struct item_view *v)
{
    return item_view_init(v, daemon_ctx(srv->d)->store, daemon_feeds(srv->d));
}

static int
on_event_alert(void *userdata, const struct store_alert_row *row)
{
    struct ctlcmd_server *srv = userdata;
    struct store *st = daemon_ctx(srv->d)->store;
    struct item_view view;
    struct item_view *v = watch_view(srv, &view);
    /* Root's and the daemon's user's watchers get the URLs whole, the group's briefed. */
    control_broadcast_split(srv->control, CTL_EVENT_ALERT, alert_json(st, row, NULL),
                            v ? alert_json(st, row, v) : NULL);
    item_view_done(v);
    return 0;
}

/* An item-updated's alert, for its `watch` line. */
struct update_event_ctx {
    json_t *body;
};

static int
on_update_alert(void *userdata, const struct store_alert_row *row)
{
    struct update_event_ctx *c = userdata;
    c->body = json_pack("{s:I, s:o, s:I, s:o, s:o}", "alert", (json_int_t)row->id, "topic",
                        json_str(row->topic), "item", (json_int_t)row->item_id, "feed",
                        json_str(row->feed), "title", json_str(row->title));
    return c->body ? 0 : -ENOMEM;
}

/* {"event": "item-updated", "id", "alert", "topic", "item", "feed", "title", "changes"}. */
static int
on_event_update(void *userdata, const struct store_feed_event_row *row)
{
    struct ctlcmd_server *srv = userdata;
    struct update_event_ctx c = {0};
    json_t *changes = row->changes ? json_loads(row->changes, 0, NULL) : NULL;
    if (store_alert_get(daemon_ctx(srv->d)->store, row->alert_id, on_update_alert, &c) < 0 ||
        !c.body) {
        json_decref(c.body);
        json_decref(changes);
        return 0;
    }
    if (json_object_set_new(c.body, "id", json_integer(row->id)) < 0 ||
        json_object_set_new(c.body, "changes", changes ? changes : json_null()) < 0) {
        json_decref(c.body);
        return 0;
    }
    control_broadcast_split(srv->control, "item-updated", json_incref(c.body), c.body);
    return 0;
}

/* events.h: an event of the daemon becomes a `watch` line (built only when some client watches). */
static void
on_daemon_event(void *ctx, const struct events_event *ev)
{
    struct ctlcmd_server *srv = ctx;
    if (!control_has_watchers(srv->control))
        return;
    switch (ev->kind) {
    case EVENTS_ITEM: {
        struct item_view view;
        struct item_view *v = watch_view(srv, &view);
        control_broadcast_split(srv->control, CTL_EVENT_ITEM, item_json(ev->item, NULL),
                                v ? item_json(ev->item, v) : NULL);
        item_view_done(v);
        break;
    }
    case EVENTS_ALERT:
        (void)store_alert_get(daemon_ctx(srv->d)->store, ev->alert_id, on_event_alert, srv);
        break;
    case EVENTS_FEED:
        control_broadcast_split(srv->control, CTL_EVENT_FEED, ctlcmd_feed_json(ev->feed, true),
                                ctlcmd_feed_json(ev->feed, false));
        break;
    case EVENTS_UPDATE:
        (void)store_feed_event_get(daemon_ctx(srv->d)->store, ev->update_id, on_event_update, srv);
        break;
    case EVENTS_LIFE: {
        /* {"event": "feed-disabled", "id", "feed", "feed_state": {url, state, reason}} */
        const struct events_life *l = ev->life;
        json_t *shown[2] = {NULL, NULL};
        for (int priv = 0; priv < 2; priv++)
            shown[priv] = json_pack("{s:I, s:s, s:{s:o, s:s, s:o}}", "id", (json_int_t)l->id,
                                    "feed", l->feed->cfg->name, "feed_state", "url",
                                    json_url_shown(l->url, priv), "state", l->state, "reason",
                                    json_error_shown(l->feed, &l->feed->st, l->reason, priv));
        control_broadcast_split(srv->control, l->event, shown[1], shown[0]);
        break;
    }
    }
}

/* control.c's dispatcher: ctx is the daemon. */
static enum ctl_dispatch
on_control_request(void *ctx, struct ctl_conn *conn, uid_t uid, json_t *req, json_t **ret_resp)
{
    return ctlcmd_dispatch(ctx, conn, uid, req, ret_resp);
}

/* Listens on path and subscribes the `watch` stream to d's events. */
int
ctlcmd_listen(struct daemon *d, const char *path, struct ctlcmd_server **ret_server,
              char **reterr_msg)
{
    struct dctx *dc = daemon_ctx(d);
    struct ctlcmd_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->d = d;
    int r = events_subscribe(dc->events, EVENTS_ALL, on_daemon_event, srv);
    if (r == 0 && (r = control_new(&dc->loop, path, dc->conf->daemon.database, on_control_request,
                                   d, &srv->control, reterr_msg)) < 0)
        events_unsubscribe(dc->events, on_daemon_event, srv);
    if (r < 0) {
        free(srv);
        return r;
    }
    *ret_server = srv;
    return 0;
}

/* Unsubscribes the `watch` stream and closes the socket. */
void
ctlcmd_close(struct ctlcmd_server *srv)
{
    if (!srv)
        return;
    events_unsubscribe(daemon_ctx(srv->d)->events, on_daemon_event, srv);
    control_close(srv->control);
    free(srv);
}
