#include "live.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "client.h"
#include "ctlproto.h"
#include "output.h"

#define ITEMS_FEED_MAX 20
#define ITEMS_LANG_MAX 8 /* "pt-BR", "zh-Hant": a longer tag is cut */
#define ITEMS_TITLE_MIN 20
#define NAME_MIN 8 /* feed and topic names shrink to this on a narrow line */
#define URL_MIN 12
#define ERROR_MIN 12
#define NUM_LEN 24
/* The daemon's defaults for the number of rows (docs/PRODUCT.md): human output asks for one
 * more row than it shows, to tell the user when more exist. */
#define ITEMS_DEFAULT_LIMIT CTL_ITEMS_DEFAULT
#define SEARCH_DEFAULT_LIMIT 100
#define MAX_LIMIT CTL_ITEMS_MAX

/* The rows to show: --limit, else the daemon's default for the command. */
static long
rows_wanted(const struct live_args *a)
{
    if (a->limit > 0)
        return a->limit;
    return a->cmd == LIVE_SEARCH ? SEARCH_DEFAULT_LIMIT : ITEMS_DEFAULT_LIMIT;
}

/* The limit sent: one more row than shown in human output, to know whether more exist. */
static long
limit_sent(const struct live_args *a)
{
    long n = rows_wanted(a);
    if (!a->json && n < MAX_LIMIT)
        n++;
    return n;
}

/* The string member key of obj, or NULL when absent or not a string. */
static const char *
get_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Writes the integer member key of obj into buf, or "-" when absent or not an integer. */
static const char *
fmt_int(const json_t *obj, const char *key, char buf[NUM_LEN])
{
    const json_t *v = json_object_get(obj, key);

    if (json_is_integer(v))
        (void)snprintf(buf, NUM_LEN, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        (void)snprintf(buf, NUM_LEN, "-");
    return buf;
}

/* True with *ret_v set when member key of obj is a non-negative integer. */
static bool
get_uint(const json_t *obj, const char *key, uint64_t *ret_v)
{
    const json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *ret_v = (uint64_t)json_integer_value(v);
    return true;
}

static json_t *
build_request(const struct live_args *a)
{
    static const char *const names[] = {
        [LIVE_STATUS] = CTL_CMD_STATUS,   [LIVE_FEEDS] = CTL_CMD_FEEDS,
        [LIVE_ITEMS] = CTL_CMD_ITEMS,     [LIVE_POLL] = CTL_CMD_POLL,
        [LIVE_RELOAD] = CTL_CMD_RELOAD,   [LIVE_ALERTS] = CTL_CMD_ALERTS,
        [LIVE_WATCH] = CTL_CMD_WATCH,     [LIVE_ADD] = CTL_CMD_ADD,
        [LIVE_REMOVE] = CTL_CMD_REMOVE,   [LIVE_PAUSE] = CTL_CMD_PAUSE,
        [LIVE_RESUME] = CTL_CMD_RESUME,   [LIVE_SEARCH] = CTL_CMD_SEARCH,
        [LIVE_METRICS] = CTL_CMD_METRICS, [LIVE_REDELIVER] = CTL_CMD_REDELIVER,
        [LIVE_ITEM] = CTL_CMD_ITEM,       [LIVE_EVENTS] = CTL_CMD_EVENTS,
    };
    json_t *req = json_object();
    int r = 0;

    if (!req)
        return NULL;
    r |= json_object_set_new(req, CTL_REQ_CMD, json_string(names[a->cmd]));
    if (a->cmd == LIVE_ITEMS) {
        if (a->feed)
            r |= json_object_set_new(req, CTL_REQ_FEED, json_string(a->feed));
        if (a->n_tags > 0)
            r |= json_object_set_new(req, CTL_REQ_TAG, json_string(a->tags[0]));
        if (a->topic)
            r |= json_object_set_new(req, CTL_REQ_TOPIC, json_string(a->topic));
        if (a->since)
            r |= json_object_set_new(req, CTL_REQ_SINCE, json_string(a->since));
        if (a->limit > 0 || !a->json)
            r |= json_object_set_new(req, CTL_REQ_LIMIT, json_integer(limit_sent(a)));
        if (a->text)
            r |= json_object_set_new(req, CTL_REQ_TEXT, json_true());
    } else if (a->cmd == LIVE_FEEDS) {
        if (a->name)
            r |= json_object_set_new(req, CTL_REQ_NAME, json_string(a->name));
    } else if (a->cmd == LIVE_ITEM) {
        r |= json_object_set_new(req, CTL_REQ_ID, json_integer((json_int_t)a->id));
    } else if (a->cmd == LIVE_EVENTS) {
        if (a->failed)
            r |= json_object_set_new(req, CTL_REQ_FAILED, json_true());
        if (a->limit > 0)
            r |= json_object_set_new(req, CTL_REQ_LIMIT, json_integer(a->limit));
    } else if (a->cmd == LIVE_ALERTS) {
        if (a->topic)
            r |= json_object_set_new(req, CTL_REQ_TOPIC, json_string(a->topic));
        if (a->failed)
            r |= json_object_set_new(req, CTL_REQ_FAILED, json_true());
        if (a->limit > 0)
            r |= json_object_set_new(req, CTL_REQ_LIMIT, json_integer(a->limit));
    } else if (a->cmd == LIVE_REDELIVER) {
        if (a->alert_id > 0)
            r |= json_object_set_new(req, CTL_REQ_ALERT, json_integer((json_int_t)a->alert_id));
        if (a->failed)
            r |= json_object_set_new(req, CTL_REQ_FAILED, json_true());
        if (a->hook)
            r |= json_object_set_new(req, CTL_REQ_HOOK, json_string(a->hook));
    } else if (a->cmd == LIVE_SEARCH) {
        r |= json_object_set_new(req, CTL_REQ_QUERY, json_string(a->query));
        if (a->limit > 0 || !a->json)
            r |= json_object_set_new(req, CTL_REQ_LIMIT, json_integer(limit_sent(a)));
    } else if (a->cmd == LIVE_POLL) {
        if (a->feed)
            r |= json_object_set_new(req, CTL_REQ_FEED, json_string(a->feed));
        r |= json_object_set_new(req, CTL_REQ_WAIT, json_boolean(a->wait));
    } else if (a->cmd == LIVE_ADD || a->cmd == LIVE_REMOVE || a->cmd == LIVE_PAUSE ||
               a->cmd == LIVE_RESUME) {
        r |= json_object_set_new(req, CTL_REQ_NAME, json_string(a->name));
        if (a->cmd == LIVE_ADD) {
            r |= json_object_set_new(req, CTL_REQ_URL, json_string(a->url));
            if (a->interval_s > 0)
                r |= json_object_set_new(req, CTL_REQ_INTERVAL,
                                         json_integer((json_int_t)a->interval_s));
            if (a->n_tags > 0) {
                json_t *tags = json_array();
                for (size_t i = 0; tags && i < a->n_tags; i++)
                    r |= json_array_append_new(tags, json_string(a->tags[i]));
                r |= json_object_set_new(req, CTL_REQ_TAGS, tags);
            }
            if (a->fetch_article)
                r |= json_object_set_new(req, CTL_REQ_FETCH_ARTICLE, json_true());
        }
    }
    if (r != 0) {
        /* json_string() fails on invalid UTF-8 too; that reaches the user as a failure. */
        json_decref(req);
        return NULL;
    }
    return req;
}

/* One "key: value" line with the values aligned after the longest key. */
static void
print_kv(const char *key, size_t key_width, const char *value)
{
    char *v = output_scrub(value, strlen(value), false);
    size_t pad = key_width - strlen(key);

    (void)printf("%s:", key);
    for (size_t i = 0; i <= pad; i++)
        (void)putchar(' ');
    (void)printf("%s\n", v ? v : "-");
    free(v);
}

static int
render_status(const json_t *resp)
{
    const json_t *feeds = json_object_get(resp, CTL_RESP_FEEDS);
    const json_t *items = json_object_get(resp, CTL_RESP_ITEMS);
    const json_t *alerts = json_object_get(resp, CTL_RESP_ALERTS);
    const char *version = get_str(resp, "version");
    char n1[NUM_LEN], n2[NUM_LEN], n3[NUM_LEN], n4[NUM_LEN], n5[NUM_LEN];
    char dur[OUTPUT_DURATION_LEN], when[OUTPUT_TIME_LEN], size[OUTPUT_SIZE_LEN];
    char line[256];
    const size_t kw = strlen("polls in flight");
    uint64_t v;

    print_kv("version", kw, version ? version : "-");

    if (get_uint(resp, "uptime_s", &v))
        output_duration(v, dur);
    else
        (void)snprintf(dur, sizeof(dur), "-");
    print_kv("uptime", kw, dur);

    (void)snprintf(line, sizeof(line), "%s (ok %s, failing %s, disabled %s, paused %s)",
                   fmt_int(feeds, "total", n1), fmt_int(feeds, "ok", n2),
                   fmt_int(feeds, "failing", n3), fmt_int(feeds, "disabled", n4),
                   fmt_int(feeds, "paused", n5));
    print_kv("feeds", kw, line);

    print_kv("items", kw, fmt_int(items, "total", n1));

    (void)snprintf(line, sizeof(line), "delivered %s, pending %s, failed %s",
                   fmt_int(alerts, "delivered", n1), fmt_int(alerts, "pending", n2),
                   fmt_int(alerts, "failed", n3));
    if (json_object_get(alerts, "no_hook")) /* a daemon of before no-hook has none */
        (void)snprintf(line + strlen(line), sizeof(line) - strlen(line), ", no hook %s",
                       fmt_int(alerts, "no_hook", n4));
    print_kv("alerts", kw, line);
    /* item-updated and story-source: their failures are not in the alerts' states */
    const json_t *item_events = json_object_get(resp, "item_events");
    if (item_events) { /* a daemon of before it has none */
        (void)snprintf(line, sizeof(line), "failed %s", fmt_int(item_events, "failed", n1));
        print_kv("item events", kw, line);
    }

    print_kv("polls in flight", kw, fmt_int(resp, "polls_in_flight", n1));

    output_time_local(get_str(resp, "next_poll"), when);
    if (get_str(resp, "next_poll")) {
        char rel[OUTPUT_TIME_LEN];
        output_time_relative(get_str(resp, "next_poll"), (int64_t)time(NULL), rel);
        (void)snprintf(line, sizeof(line), "%s (%s)", when, rel);
        print_kv("next poll", kw, line);
    } else {
        print_kv("next poll", kw, when);
    }

    if (get_uint(resp, "database_bytes", &v))
        output_size(v, size);
    else
        (void)snprintf(size, sizeof(size), "-");
    print_kv("database size", kw, size);

    /* PostgreSQL: the counts above are the last read when the database did not answer. */
    const json_t *store = json_object_get(resp, "store");
    if (json_is_object(store) && json_is_true(json_object_get(store, "stale"))) {
        const char *err = get_str(store, "error");
        if (get_str(store, "read_at"))
            output_time_local(get_str(store, "read_at"), when);
        else
            (void)snprintf(when, sizeof(when), "never");
        (void)snprintf(line, sizeof(line), "stale (alerts, size and nodes as read %s): %s", when,
                       err ? err : "-");
        print_kv("store", kw, line);
    }

    const json_t *pm = json_object_get(resp, "poll_memory");
    if (json_is_object(pm)) {
        char used[OUTPUT_SIZE_LEN], max[OUTPUT_SIZE_LEN], peak[OUTPUT_SIZE_LEN];
        output_size(get_uint(pm, "bytes", &v) ? v : 0, used);
        output_size(get_uint(pm, "max_bytes", &v) ? v : 0, max);
        output_size(get_uint(pm, "peak_bytes", &v) ? v : 0, peak);
        (void)snprintf(line, sizeof(line), "%s of %s (peak %s), %s transfers paused", used, max,
                       peak, fmt_int(pm, "paused", n1));
        print_kv("poll memory", kw, line);
    }

    if (json_object_get(resp, "search_lag_items")) {
        (void)snprintf(line, sizeof(line), "%s items", fmt_int(resp, "search_lag_items", n1));
        print_kv("search lag", kw, line);
    }

    if (json_object_get(resp, "pruned_items")) {
        const char *err = get_str(resp, "prune_error");
        if (get_uint(resp, "retention_s", &v))
            output_duration(v, dur);
        else
            (void)snprintf(dur, sizeof(dur), "-");
        output_time_local(get_str(resp, "last_prune"), when);
        (void)snprintf(line, sizeof(line), "%s, %s items pruned, last %s%s%s", dur,
                       fmt_int(resp, "pruned_items", n1), when, err ? ", failing: " : "",
                       err ? err : "");
        print_kv("retention", kw, line);
    }

    /* Several daemons on one database: this node, then one line per node. */
    const json_t *cl = json_object_get(resp, "cluster");
    if (json_is_object(cl)) {
        const char *node = get_str(cl, "node"), *hash = get_str(cl, "config_hash");
        (void)snprintf(line, sizeof(line), "node %s, %s alive, config %s%s", node ? node : "-",
                       fmt_int(cl, "nodes_alive", n1), hash ? hash : "-",
                       json_is_true(json_object_get(cl, "config_differs"))
                           ? " (a live node's config differs)"
                           : "");
        print_kv("cluster", kw, line);
        size_t i;
        const json_t *n;
        json_array_foreach(json_object_get(cl, "nodes"), i, n)
        {
            const char *name = get_str(n, "name"), *h = get_str(n, "config_hash");
            bool alive = json_is_true(json_object_get(n, "alive"));
            output_time_local(get_str(n, "seen"), when);
            (void)snprintf(line, sizeof(line), "%s: %s, seen %s, %s feed leases, %s hook runs%s",
                           name ? name : "-", alive ? "alive" : "gone", when,
                           fmt_int(n, "feed_leases", n1), fmt_int(n, "delivery_leases", n2),
                           alive && h && hash && strcmp(h, hash) != 0 ? ", config differs" : "");
            print_kv("  node", kw, line);
        }
    }
    return 0;
}

static int
render_feeds(const json_t *resp, size_t width)
{
    static const char *const headers[] = {"NAME", "STATE", "HTTP", "ITEMS",
                                          "LAST", "NEXT",  "URL",  "ERROR"};
    const json_t *feeds = json_object_get(resp, CTL_RESP_FEEDS);
    int64_t now = (int64_t)time(NULL);
    struct output_table *t;
    size_t i;
    json_t *f;
    int r = 0;

    if (!json_is_array(feeds)) {
        output_message("invalid response from the daemon: no \"feeds\" array");
        return 1;
    }
    if (json_array_size(feeds) == 0) {
        (void)printf("no feeds\n");
        return 0;
    }
    t = output_table_new(8, headers);
    if (!t)
        return -ENOMEM;
    output_table_align_right(t, 2);
    output_table_align_right(t, 3);
    output_table_flex(t, 0, NAME_MIN);
    output_table_flex(t, 6, URL_MIN);
    output_table_flex(t, 7, ERROR_MIN);
    json_array_foreach(feeds, i, f)
    {
        char last[OUTPUT_TIME_LEN], next[OUTPUT_TIME_LEN], http[NUM_LEN], items[NUM_LEN];
        /* A disabled feed shows why it was disabled; the others their last error. */
        const char *err = get_str(f, "reason");
        if (!err)
            err = get_str(f, "last_error");
        output_time_relative(get_str(f, "last_poll"), now, last);
        output_time_relative(get_str(f, "next_poll"), now, next);
        const char *cells[] = {get_str(f, "name"),
                               get_str(f, "state"),
                               fmt_int(f, "last_status", http),
                               fmt_int(f, "items", items),
                               last,
                               next,
                               get_str(f, "url"),
                               err};
        r = output_table_add_row(t, cells, NULL);
        if (r < 0)
            break;
    }
    if (r == 0)
        r = output_table_print(t, stdout, width);
    output_table_free(t);
    return r;
}

static int
render_items(const struct live_args *a, const json_t *resp)
{
    static const char *const headers[] = {"PUBLISHED", "FEED", "LANG", "TITLE", "URL"};
    const json_t *items = json_object_get(resp, CTL_RESP_ITEMS);
    long shown = rows_wanted(a);
    struct output_table *t;
    size_t i;
    json_t *it;
    int r = 0;

    if (!json_is_array(items)) {
        output_message("invalid response from the daemon: no \"items\" array");
        return 1;
    }
    if (json_array_size(items) == 0) {
        (void)printf("no items\n");
        return 0;
    }
    t = output_table_new(5, headers);
    if (!t)
        return -ENOMEM;
    output_table_limit(t, 1, ITEMS_FEED_MAX);
    output_table_limit(t, 2, ITEMS_LANG_MAX);
    output_table_flex(t, 1, NAME_MIN);
    output_table_flex(t, 3, ITEMS_TITLE_MIN);
    output_table_flex(t, 4, URL_MIN);
    json_array_foreach(items, i, it)
    {
        if ((long)i >= shown)
            break;
        char when[OUTPUT_TIME_LEN];
        const char *lang = get_str(it, "language");
        const char *published = get_str(it, "published");
        if (!published)
            published = get_str(it, "updated");
        output_time_local(published, when);
        const char *cells[] = {when, get_str(it, "feed"), lang ? lang : "-", get_str(it, "title"),
                               get_str(it, "url")};
        r = output_table_add_row(t, cells, a->text ? get_str(it, "text") : NULL);
        if (r < 0)
            break;
    }
    if (r == 0)
        r = output_table_print(t, stdout, a->width);
    if (r == 0 && (long)json_array_size(items) > shown)
        (void)printf("(the newest %ld shown; more exist: --limit N shows up to %d)\n", shown,
                     MAX_LIMIT);
    output_table_free(t);
    return r;
}

static int
render_poll(const json_t *resp, bool wait)
{
    char n[6][NUM_LEN];

    if (!wait) {
        const json_t *q = json_object_get(resp, CTL_RESP_QUEUED);
        if (!json_is_integer(q)) {
            output_message("invalid response from the daemon: no \"queued\" count");
            return 1;
        }
        json_int_t count = json_integer_value(q);
        (void)printf("queued %" JSON_INTEGER_FORMAT " feed%s\n", count, count == 1 ? "" : "s");
        return 0;
    }
    const json_t *cycle = json_object_get(resp, CTL_RESP_CYCLE);
    if (!json_is_object(cycle)) {
        output_message("invalid response from the daemon: no \"cycle\" object");
        return 1;
    }
    (void)printf("polled %s: %s ok, %s not modified, %s errors, %s new items, %s alerts\n",
                 fmt_int(cycle, CTL_CYCLE_POLLED, n[0]), fmt_int(cycle, CTL_CYCLE_OK, n[1]),
                 fmt_int(cycle, CTL_CYCLE_NOT_MODIFIED, n[2]),
                 fmt_int(cycle, CTL_CYCLE_ERRORS, n[3]), fmt_int(cycle, CTL_CYCLE_NEW_ITEMS, n[4]),
                 fmt_int(cycle, CTL_CYCLE_ALERTS, n[5]));
    return 0;
}

static int
render_reload(const json_t *resp)
{
    const json_t *feeds = json_object_get(resp, CTL_RESP_FEEDS);
    char n[7][NUM_LEN];

    (void)printf("reloaded: %s feeds (ok %s, failing %s, disabled %s, paused %s), %s topics, "
                 "%s hooks\n",
                 fmt_int(feeds, "total", n[0]), fmt_int(feeds, "ok", n[1]),
                 fmt_int(feeds, "failing", n[2]), fmt_int(feeds, "disabled", n[3]),
                 fmt_int(feeds, "paused", n[4]),
                 fmt_int(json_object_get(resp, CTL_RESP_TOPICS), "total", n[5]),
                 fmt_int(json_object_get(resp, CTL_RESP_HOOKS), "total", n[6]));
    return 0;
}

/* The strings of a JSON array joined with ", " into buf ("-" when empty or absent). */
static const char *
fmt_list(const json_t *arr, char *buf, size_t size)
{
    size_t i, used = 0;
    const json_t *v;
    buf[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        const char *t = json_string_value(v);
        int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", t ? t : "?");
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
    if (!buf[0])
        (void)snprintf(buf, size, "-");
    return buf;
}

/* A time member as local time, followed by how long ago or ahead it is ("-" when null). */
static const char *
fmt_when(const json_t *obj, const char *key, char *buf, size_t size)
{
    char when[OUTPUT_TIME_LEN], rel[OUTPUT_TIME_LEN];
    const char *t = get_str(obj, key);
    output_time_local(t, when);
    if (!t) {
        (void)snprintf(buf, size, "%s", when);
        return buf;
    }
    output_time_relative(t, (int64_t)time(NULL), rel);
    (void)snprintf(buf, size, "%s (%s)", when, rel);
    return buf;
}

/* A boolean member as yes/no ("-" when absent). */
static const char *
fmt_bool(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? (json_is_true(v) ? "yes" : "no") : "-";
}

/* Text that may hold many lines: scrubbed, each line indented by two spaces. */
static void
print_block(const char *text)
{
    char *clean = output_scrub(text, strlen(text), true);
    const char *p = clean;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        (void)printf("%s%.*s\n", len ? "  " : "", (int)len, p);
        p = nl ? nl + 1 : p + len;
    }
    free(clean);
}

/*
 * One line of a feed's text indented as print_block's: its line breaks (and U+2028, U+2029)
 * shown as spaces, so that a feed cannot forge the lines around it (a version's diff).
 */
static void
print_line(const char *text)
{
    char *clean = output_scrub(text, strlen(text), false);
    (void)printf("  %s\n", clean ? clean : "");
    free(clean);
}

#define DETAIL_KW 14 /* the longest key of the detail views, "last modified" and its colon */

/* `feeds NAME`: every member of the feed's answer, one per line. */
static int
render_feed_detail(const json_t *resp)
{
    const json_t *f = json_object_get(resp, CTL_RESP_FEED);
    char line[1024], n[6][NUM_LEN], when[OUTPUT_TIME_LEN * 2 + 8], dur[OUTPUT_DURATION_LEN];
    uint64_t v;

    if (!json_is_object(f)) {
        output_message("invalid response from the daemon: no \"feed\" object");
        return 1;
    }
    print_kv("name", DETAIL_KW, get_str(f, "name") ? get_str(f, "name") : "-");
    print_kv("state", DETAIL_KW, get_str(f, "state") ? get_str(f, "state") : "-");
    if (get_str(f, "reason"))
        print_kv("reason", DETAIL_KW, get_str(f, "reason"));
    print_kv("url", DETAIL_KW, get_str(f, "url") ? get_str(f, "url") : "-");
    if (get_str(f, "configured_url") && get_str(f, "url") &&
        strcmp(get_str(f, "configured_url"), get_str(f, "url")) != 0)
        print_kv("configured url", DETAIL_KW, get_str(f, "configured_url"));
    if (get_str(f, "defined_at"))
        (void)snprintf(line, sizeof(line), "%s (config)", get_str(f, "defined_at"));
    else
        (void)snprintf(line, sizeof(line), "%s", get_str(f, "source") ? get_str(f, "source") : "-");
    print_kv("defined at", DETAIL_KW, line);
    print_kv("enabled", DETAIL_KW, fmt_bool(f, "enabled"));
    if (get_uint(f, "interval_s", &v))
        output_duration(v, dur);
    else
        (void)snprintf(dur, sizeof(dur), "-");
    const json_t *rate = json_object_get(f, "items_per_hour");
    if (json_is_number(rate))
        (void)snprintf(line, sizeof(line), "%s (%.2f new items an hour)", dur,
                       json_number_value(rate));
    else
        (void)snprintf(line, sizeof(line), "%s", dur);
    print_kv("interval", DETAIL_KW, line);
    print_kv("tags", DETAIL_KW, fmt_list(json_object_get(f, "tags"), line, sizeof(line)));
    print_kv("topics", DETAIL_KW, fmt_list(json_object_get(f, "topics"), line, sizeof(line)));
    print_kv("fetch article", DETAIL_KW, fmt_bool(f, "fetch_article"));
    print_kv("private addrs", DETAIL_KW, fmt_bool(f, "allow_private_addresses"));
    (void)snprintf(line, sizeof(line), "%s%s%s", get_str(f, "header") ? "header " : "",
                   get_str(f, "header") ? get_str(f, "header") : "",
                   json_is_true(json_object_get(f, "auth"))
                       ? (get_str(f, "header") ? ", user and password" : "user and password")
                       : (get_str(f, "header") ? "" : "none"));
    print_kv("credentials", DETAIL_KW, line);
    print_kv("last poll", DETAIL_KW, fmt_when(f, "last_poll", when, sizeof(when)));
    print_kv("last status", DETAIL_KW, fmt_int(f, "last_status", n[0]));
    print_kv("last error", DETAIL_KW, get_str(f, "last_error") ? get_str(f, "last_error") : "-");
    print_kv("failures", DETAIL_KW, fmt_int(f, "failures", n[0]));
    print_kv("xml recovery", DETAIL_KW, fmt_bool(f, "recovered"));
    print_kv("polling now", DETAIL_KW, fmt_bool(f, "polling"));
    print_kv("next poll", DETAIL_KW, fmt_when(f, "next_poll", when, sizeof(when)));
    print_kv("etag", DETAIL_KW, get_str(f, "etag") ? get_str(f, "etag") : "-");
    print_kv("last modified", DETAIL_KW,
             get_str(f, "last_modified") ? get_str(f, "last_modified") : "-");
    (void)snprintf(line, sizeof(line), "%s (%s pruned), newest seen %s", fmt_int(f, "items", n[0]),
                   fmt_int(f, "pruned_items", n[1]),
                   fmt_when(f, "last_new_item", when, sizeof(when)));
    print_kv("items", DETAIL_KW, line);
    const json_t *al = json_object_get(f, CTL_RESP_ALERTS);
    (void)snprintf(line, sizeof(line), "delivered %s, pending %s, failed %s",
                   fmt_int(al, "delivered", n[0]), fmt_int(al, "pending", n[1]),
                   fmt_int(al, "failed", n[2]));
    if (json_object_get(al, "no_hook"))
        (void)snprintf(line + strlen(line), sizeof(line) - strlen(line), ", no hook %s",
                       fmt_int(al, "no_hook", n[0]));
    print_kv("alerts", DETAIL_KW, line);
    return 0;
}

/* `item ID`: the item's members, its alerts with their hooks, then its text. */
static int
render_item(const json_t *resp)
{
    const json_t *it = json_object_get(resp, CTL_RESP_ITEM);
    char line[2048], n[3][NUM_LEN], when[OUTPUT_TIME_LEN];
    static const char *const plain[] = {"feed", "title", "url", "author", "language", "key"};
    size_t i;
    const json_t *al;

    if (!json_is_object(it)) {
        output_message("invalid response from the daemon: no \"item\" object");
        return 1;
    }
    print_kv("id", DETAIL_KW, fmt_int(it, "id", n[0]));
    for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        print_kv(plain[i], DETAIL_KW, get_str(it, plain[i]) ? get_str(it, plain[i]) : "-");
    output_time_local(get_str(it, "published"), when);
    print_kv("published", DETAIL_KW, when);
    output_time_local(get_str(it, "updated"), when);
    print_kv("updated", DETAIL_KW, when);
    output_time_local(get_str(it, "first_seen"), when);
    print_kv("first seen", DETAIL_KW, when);
    if (get_str(it, "pruned")) {
        output_time_local(get_str(it, "pruned"), when);
        print_kv("pruned", DETAIL_KW, when);
    }
    print_kv("categories", DETAIL_KW,
             fmt_list(json_object_get(it, "categories"), line, sizeof(line)));
    const json_t *alerts = json_object_get(it, CTL_RESP_ALERTS);
    (void)snprintf(line, sizeof(line), "%zu", json_array_size(alerts));
    print_kv("alerts", DETAIL_KW, line);
    json_array_foreach(alerts, i, al)
    {
        output_time_local(get_str(al, "raised"), when);
        (void)snprintf(line, sizeof(line), "  alert %s, topic %s: %s, %s attempts, raised %s",
                       fmt_int(al, "id", n[0]), get_str(al, "topic") ? get_str(al, "topic") : "-",
                       get_str(al, "state") ? get_str(al, "state") : "-",
                       fmt_int(al, "attempts", n[1]), when);
        print_block(line);
        size_t j;
        const json_t *dl;
        json_array_foreach(json_object_get(al, "deliveries"), j, dl)
        {
            char next[OUTPUT_TIME_LEN];
            const char *err = get_str(dl, "last_error");
            output_time_local(get_str(dl, "next_attempt"), next);
            (void)snprintf(line, sizeof(line), "    hook %s: %s, %s attempts%s%s%s%s",
                           get_str(dl, "hook") ? get_str(dl, "hook") : "-",
                           get_str(dl, "state") ? get_str(dl, "state") : "-",
                           fmt_int(dl, "attempts", n[2]),
                           get_str(dl, "next_attempt") ? ", next " : "",
                           get_str(dl, "next_attempt") ? next : "", err ? ", last error: " : "",
                           err ? err : "");
            print_block(line);
        }
        const json_t *m;
        json_array_foreach(json_object_get(al, "matched"), j, m)
        {
            (void)snprintf(line, sizeof(line), "    matched %s (%s): %s",
                           get_str(m, "term") ? get_str(m, "term") : "-",
                           get_str(m, "field") ? get_str(m, "field") : "-",
                           get_str(m, "snippet") ? get_str(m, "snippet") : "");
            print_block(line);
        }
    }
    json_array_foreach(json_object_get(it, "attached_to"), i, al)
    {
        (void)snprintf(line, sizeof(line), "another source of alert %s (topic %s, feed %s)",
                       fmt_int(al, "id", n[0]), get_str(al, "topic") ? get_str(al, "topic") : "-",
                       get_str(al, "feed") ? get_str(al, "feed") : "-");
        print_kv("story", DETAIL_KW, line);
    }
    json_array_foreach(json_object_get(it, "versions"), i, al)
    {
        char since[OUTPUT_TIME_LEN];
        output_time_local(get_str(al, "seen"), since);
        output_time_local(get_str(al, "replaced"), when);
        (void)snprintf(line, sizeof(line), "%s, from %s until %s: %s", fmt_int(al, "id", n[0]),
                       since, when, get_str(al, "title") ? get_str(al, "title") : "-");
        print_kv("version", DETAIL_KW, line);
        size_t j;
        const json_t *c;
        json_array_foreach(json_object_get(al, "changes"), j, c)
        {
            const char *field = get_str(c, "field");
            if (field && strcmp(field, "title") == 0) {
                (void)snprintf(line, sizeof(line), "  title: \"%s\" -> \"%s\"",
                               get_str(c, "before") ? get_str(c, "before") : "",
                               get_str(c, "after") ? get_str(c, "after") : "");
                print_line(line);
                continue;
            }
            size_t k;
            const json_t *sen;
            json_array_foreach(json_object_get(c, "before"), k, sen)
            {
                (void)snprintf(line, sizeof(line), "  - %s",
                               json_string_value(sen) ? json_string_value(sen) : "");
                print_line(line);
            }
            json_array_foreach(json_object_get(c, "after"), k, sen)
            {
                (void)snprintf(line, sizeof(line), "  + %s",
                               json_string_value(sen) ? json_string_value(sen) : "");
                print_line(line);
            }
        }
    }
    const char *text = get_str(it, "text");
    if (text) {
        (void)printf("text:\n");
        print_block(text);
    } else {
        print_kv("text", DETAIL_KW, "-");
    }
    return 0;
}

/*
 * One line per hook of an alert's `deliveries`, each cut to width columns (0: no limit):
 * "notify: delivered (attempt 1, 2026-12-06 17:03Z)", "slack: failed after 3 attempts: why",
 * "slack: pending, attempt 2 in 8s: why", "slack: running (attempt 1)". NULL when there are
 * none (or on OOM: the alert's row still shows).
 */
static char *
deliveries_text(const json_t *deliveries, size_t width)
{
    int64_t now = (int64_t)time(NULL);
    char *text = NULL;
    size_t len = 0;
    size_t i;
    json_t *dl;
    json_array_foreach(deliveries, i, dl)
    {
        const char *hook = get_str(dl, "hook"), *state = get_str(dl, "state");
        const char *err = get_str(dl, "last_error");
        char when[OUTPUT_TIME_LEN], line[1024];
        uint64_t tries = 0;
        (void)get_uint(dl, "attempts", &tries);
        if (!hook || !state)
            continue;
        if (strcmp(state, "delivered") == 0) {
            output_time_local(get_str(dl, "last_attempt"), when);
            (void)snprintf(line, sizeof(line), "%s: delivered (attempt %" PRIu64 ", %s)", hook,
                           tries, when);
        } else if (strcmp(state, "failed") == 0) {
            (void)snprintf(line, sizeof(line), "%s: failed after %" PRIu64 " attempt%s: %s", hook,
                           tries, tries == 1 ? "" : "s", err ? err : "-");
        } else if (strcmp(state, "pending") == 0 && tries > 0) {
            output_time_relative(get_str(dl, "next_attempt"), now, when);
            (void)snprintf(line, sizeof(line), "%s: pending, attempt %" PRIu64 " %s: %s", hook,
                           tries + 1, when, err ? err : "-");
        } else if (strcmp(state, "running") == 0) {
            (void)snprintf(line, sizeof(line), "%s: running (attempt %" PRIu64 ")", hook, tries);
        } else {
            (void)snprintf(line, sizeof(line), "%s: %s", hook, state);
        }
        char *clean = output_scrub(line, strlen(line), false);
        char *cut = clean && width > 8 ? output_truncate(clean, width - 4) : NULL;
        const char *use = cut ? cut : clean;
        char *grown = use ? realloc(text, len + strlen(use) + 2) : NULL;
        if (grown) {
            text = grown;
            len += (size_t)sprintf(text + len, "%s%s", len ? "\n" : "", use);
        }
        free(cut);
        free(clean);
    }
    return text;
}

/*
 * Appends to text (deliveries_text's, may be NULL) a line per item event raised on an alert,
 * events (its `updates` or its `story_sources`, as kind says): "item-updated 9 (2026-12-06
 * 17:03Z): delivered", "story-source 12 (item 45 of paper, 2026-12-06 17:03Z): failed", each
 * cut to width columns as deliveries_text cuts its lines and followed by its hooks' lines,
 * indented. On OOM what was there stays.
 */
static char *
item_events_text(char *text, const json_t *events, const char *kind, size_t width)
{
    bool source = strcmp(kind, "story-source") == 0;
    size_t len = text ? strlen(text) : 0;
    size_t i;
    json_t *up;
    json_array_foreach(events, i, up)
    {
        char when[OUTPUT_TIME_LEN], id[NUM_LEN], item[NUM_LEN], what[512], line[640];
        output_time_local(get_str(up, "raised"), when);
        if (source)
            (void)snprintf(what, sizeof(what), "item %s of %s, %s", fmt_int(up, "item", item),
                           get_str(up, "feed") ? get_str(up, "feed") : "-", when);
        else
            (void)snprintf(what, sizeof(what), "%s", when);
        (void)snprintf(line, sizeof(line), "%s %s (%s): %s", kind, fmt_int(up, "id", id), what,
                       get_str(up, "state") ? get_str(up, "state") : "-");
        char *clean = output_scrub(line, strlen(line), false);
        char *cut = clean && width > 8 ? output_truncate(clean, width - 4) : NULL;
        char *hooks = deliveries_text(json_object_get(up, CTL_RESP_DELIVERIES),
                                      width > 10 ? width - 2 : width);
        const char *use = cut ? cut : clean ? clean : "";
        size_t more = strlen(use) + 2 + (hooks ? 2 * strlen(hooks) + 4 : 0);
        char *grown = realloc(text, len + more + 1);
        if (!grown) {
            free(hooks);
            free(cut);
            free(clean);
            break;
        }
        text = grown;
        len += (size_t)sprintf(text + len, "%s%s", len ? "\n" : "", use);
        for (char *h = hooks, *nl; h && *h; h = nl ? nl + 1 : h + strlen(h)) {
            nl = strchr(h, '\n');
            len += (size_t)sprintf(text + len, "\n  %.*s", (int)(nl ? (size_t)(nl - h) : strlen(h)),
                                   h);
        }
        free(hooks);
        free(cut);
        free(clean);
    }
    return text;
}

/* `redeliver`: how many deliveries were queued, then which (the first ones the answer names). */
static int
render_redeliver(const json_t *resp)
{
    const json_t *q = json_object_get(resp, CTL_RESP_QUEUED);
    const json_t *list = json_object_get(resp, CTL_RESP_DELIVERIES);
    char line[512];
    size_t i;
    json_t *dl;
    if (!json_is_integer(q)) {
        output_message("invalid response from the daemon: no \"queued\" count");
        return 1;
    }
    json_int_t n = json_integer_value(q);
    (void)printf("queued %" JSON_INTEGER_FORMAT " deliver%s\n", n, n == 1 ? "y" : "ies");
    json_array_foreach(list, i, dl)
    {
        char id[NUM_LEN];
        bool ev = json_object_get(dl, "event") != NULL; /* an event's delivery */
        /* An item event (delivered on an alert) by its name; a feed event as one. */
        const char *name = get_str(dl, "name");
        bool item_event =
            name && (strcmp(name, "item-updated") == 0 || strcmp(name, "story-source") == 0);
        (void)snprintf(line, sizeof(line), "  %s %s to hook %s",
                       item_event ? name
                       : ev       ? "feed event"
                                  : "alert",
                       fmt_int(dl, ev ? "event" : "alert", id),
                       get_str(dl, "hook") ? get_str(dl, "hook") : "-");
        char *clean = output_scrub(line, strlen(line), false);
        (void)printf("%s\n", clean ? clean : "");
        free(clean);
    }
    if (json_is_array(list) && (json_int_t)json_array_size(list) < n)
        (void)printf("  and %" JSON_INTEGER_FORMAT " more\n",
                     n - (json_int_t)json_array_size(list));
    return 0;
}

static int
render_alerts(const json_t *resp, size_t width)
{
    /* Attempts are per hook, on the lines under each alert (its deliveries). */
    static const char *const headers[] = {"ID",   "RAISED", "TOPIC",  "STATE",
                                          "FEED", "TITLE",  "SOURCES"};
    const json_t *alerts = json_object_get(resp, CTL_RESP_ALERTS);
    size_t i;
    json_t *al;
    int r = 0;

    if (!json_is_array(alerts)) {
        output_message("invalid response from the daemon: no \"alerts\" array");
        return 1;
    }
    if (json_array_size(alerts) == 0) {
        (void)printf("no alerts\n");
        return 0;
    }
    struct output_table *t = output_table_new(7, headers);
    if (!t)
        return -ENOMEM;
    output_table_align_right(t, 0);
    output_table_align_right(t, 6);
    output_table_flex(t, 2, NAME_MIN);
    output_table_flex(t, 4, NAME_MIN);
    output_table_flex(t, 5, ITEMS_TITLE_MIN);
    json_array_foreach(alerts, i, al)
    {
        char when[OUTPUT_TIME_LEN], id[NUM_LEN], sources[NUM_LEN];
        output_time_local(get_str(al, "raised"), when);
        /* sources_total counts them all; sources lists the first (the daemon's cap). */
        const json_t *total = json_object_get(al, "sources_total");
        (void)snprintf(sources, sizeof(sources), "%" JSON_INTEGER_FORMAT,
                       json_is_integer(total)
                           ? json_integer_value(total)
                           : (json_int_t)json_array_size(json_object_get(al, "sources")));
        const char *cells[] = {fmt_int(al, "id", id),
                               when,
                               get_str(al, "topic"),
                               get_str(al, "state"),
                               get_str(al, "feed"),
                               get_str(al, "title"),
                               sources};
        char *hooks = deliveries_text(json_object_get(al, CTL_RESP_DELIVERIES), width);
        hooks = item_events_text(hooks, json_object_get(al, "updates"), "item-updated", width);
        hooks =
            item_events_text(hooks, json_object_get(al, "story_sources"), "story-source", width);
        r = output_table_add_row(t, cells, hooks);
        free(hooks);
        if (r < 0)
            break;
    }
    if (r == 0)
        r = output_table_print(t, stdout, width);
    output_table_free(t);
    return r;
}

/* `events`: one line per feed event, its deliveries under it. */
static int
render_events(const json_t *resp, size_t width)
{
    static const char *const headers[] = {"ID", "RAISED", "EVENT", "FEED", "STATE", "REASON"};
    const json_t *events = json_object_get(resp, CTL_RESP_EVENTS);
    size_t i;
    json_t *ev;
    int r = 0;

    if (!json_is_array(events)) {
        output_message("invalid response from the daemon: no \"events\" array");
        return 1;
    }
    if (json_array_size(events) == 0) {
        (void)printf("no feed events\n");
        return 0;
    }
    struct output_table *t = output_table_new(6, headers);
    if (!t)
        return -ENOMEM;
    output_table_align_right(t, 0);
    output_table_flex(t, 3, NAME_MIN);
    output_table_flex(t, 5, ITEMS_TITLE_MIN);
    json_array_foreach(events, i, ev)
    {
        char when[OUTPUT_TIME_LEN], id[NUM_LEN];
        output_time_local(get_str(ev, "raised"), when);
        const char *reason = get_str(json_object_get(ev, "feed_state"), "reason");
        const char *cells[] = {fmt_int(ev, "id", id), when,
                               get_str(ev, "event"),  get_str(ev, "feed"),
                               get_str(ev, "state"),  reason ? reason : ""};
        char *hooks = deliveries_text(json_object_get(ev, CTL_RESP_DELIVERIES), width);
        r = output_table_add_row(t, cells, hooks);
        free(hooks);
        if (r < 0)
            break;
    }
    if (r == 0)
        r = output_table_print(t, stdout, width);
    output_table_free(t);
    return r;
}

/* add, remove, pause, resume: one line saying what the feed is now. */
static int
render_change(const struct live_args *a, const json_t *resp)
{
    static const char *const done[] = {
        [LIVE_ADD] = "added",
        [LIVE_REMOVE] = "removed",
        [LIVE_PAUSE] = "paused",
        [LIVE_RESUME] = "resumed",
    };
    const json_t *feed = json_object_get(resp, CTL_RESP_FEED);
    const char *state = get_str(feed, "state");
    char line[512];
    if (state)
        (void)snprintf(line, sizeof(line), "%s feed '%s' (state: %s)", done[a->cmd], a->name,
                       state);
    else
        (void)snprintf(line, sizeof(line), "%s feed '%s'", done[a->cmd], a->name);
    char *clean = output_scrub(line, strlen(line), false);
    (void)printf("%s\n", clean ? clean : "");
    free(clean);
    return 0;
}

/* One `watch` event as a readable line: time, kind, then what happened. */
static void
render_event(const json_t *ev)
{
    const char *kind = get_str(ev, CTL_RESP_EVENT);
    char line[2048];
    time_t now = time(NULL);
    struct tm tm;
    char when[16];
    localtime_r(&now, &tm);
    strftime(when, sizeof(when), "%H:%M:%S", &tm);
    if (kind && strcmp(kind, CTL_EVENT_ITEM) == 0) {
        (void)snprintf(line, sizeof(line), "%s item   %s: %s  %s", when, get_str(ev, "feed"),
                       get_str(ev, "title") ? get_str(ev, "title") : "(untitled)",
                       get_str(ev, "url") ? get_str(ev, "url") : "");
    } else if (kind && strcmp(kind, CTL_EVENT_ALERT) == 0) {
        (void)snprintf(line, sizeof(line), "%s ALERT  %s: %s: %s  %s", when, get_str(ev, "topic"),
                       get_str(ev, "feed"),
                       get_str(ev, "title") ? get_str(ev, "title") : "(untitled)",
                       get_str(ev, "url") ? get_str(ev, "url") : "");
    } else if (kind && strncmp(kind, "feed-", 5) == 0) {
        const json_t *fs = json_object_get(ev, "feed_state");
        const char *why = get_str(fs, "reason");
        (void)snprintf(line, sizeof(line), "%s %s %s: %s%s%s", when, kind, get_str(ev, "feed"),
                       get_str(fs, "state"), why ? ": " : "", why ? why : "");
    } else if (kind && strcmp(kind, CTL_EVENT_FEED) == 0) {
        const char *err = get_str(ev, "last_error");
        (void)snprintf(line, sizeof(line), "%s feed   %s: %s%s%s", when, get_str(ev, "name"),
                       get_str(ev, "state"), err ? ": " : "", err ? err : "");
    } else {
        return;
    }
    char *clean = output_scrub(line, strlen(line), false);
    (void)printf("%s\n", clean ? clean : "");
    free(clean);
    (void)fflush(stdout);
}

/* Prints a human rendering of a successful response; 0, 1 (bad answer) or -errno. */
static int
render(const struct live_args *a, const json_t *resp)
{
    switch (a->cmd) {
    case LIVE_STATUS:
        return render_status(resp);
    case LIVE_FEEDS:
        return a->name ? render_feed_detail(resp) : render_feeds(resp, a->width);
    case LIVE_ITEM:
        return render_item(resp);
    case LIVE_SEARCH:
    case LIVE_ITEMS:
        return render_items(a, resp);
    case LIVE_POLL:
        return render_poll(resp, a->wait);
    case LIVE_RELOAD:
        return render_reload(resp);
    case LIVE_ALERTS:
        return render_alerts(resp, a->width);
    case LIVE_EVENTS:
        return render_events(resp, a->width);
    case LIVE_REDELIVER:
        return render_redeliver(resp);
    case LIVE_ADD:
    case LIVE_REMOVE:
    case LIVE_PAUSE:
    case LIVE_RESUME:
        return render_change(a, resp);
    case LIVE_WATCH:
        (void)printf("watching for new items and alerts (Ctrl-C to stop)\n");
        (void)fflush(stdout);
        return 0;
    case LIVE_METRICS: {
        /* The Prometheus text as the daemon made it (names and numbers, no feed text). */
        const char *text = get_str(resp, CTL_RESP_TEXT);
        if (!text) {
            output_message("invalid response from the daemon: no \"text\"");
            return 1;
        }
        (void)fputs(text, stdout);
        return 0;
    }
    }
    return 1;
}

/*
 * `watch`: prints the answer, then every event line until the daemon closes the connection
 * (exit 1: the stream ended) or the user interrupts. Takes line and resp.
 */
static int
watch_stream(const struct live_args *a, struct client *c, char *line, size_t len, json_t *resp)
{
    char *err = NULL;
    int r = 0;
    for (;;) {
        if (a->json) {
            (void)fwrite(line, 1, len, stdout);
            (void)putchar('\n');
            (void)fflush(stdout);
        } else if (json_object_get(resp, CTL_RESP_EVENT)) {
            render_event(resp);
        } else {
            (void)render(a, resp);
        }
        json_decref(resp);
        free(line);
        line = NULL;
        resp = NULL;
        r = client_next(c, CLIENT_NO_TIMEOUT, &line, &len, &resp, &err);
        if (r < 0)
            break;
    }
    output_message("the event stream ended: %s", err ? err : strerror(-r));
    free(err);
    return client_error_unreachable(r) ? 3 : 1;
}

/* Reports a live command's failure on stderr and, with json, as an error answer on stdout. */
void
live_report(bool json, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    output_message("%s", n < 0 ? "out of memory" : msg);
    if (json) {
        json_t *o = json_pack("{s:b, s:s?}", CTL_RESP_OK, 0, CTL_RESP_ERROR, n < 0 ? NULL : msg);
        if (o && !json_string_value(json_object_get(o, CTL_RESP_ERROR)))
            (void)json_object_set_new(o, CTL_RESP_ERROR, json_string("out of memory"));
        /* ASCII, DEL escaped too: the message may quote the user's bytes (a path, a query) */
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        char *safe = text ? output_json_safe(text) : NULL;
        (void)printf("%s\n", safe ? safe : "{\"ok\":false,\"error\":\"out of memory\"}");
        free(safe);
        free(text);
        json_decref(o);
    }
    if (n >= 0)
        free(msg);
}

int
live_run(const struct live_args *a)
{
    struct client *c = NULL;
    char *err = NULL, *line = NULL;
    json_t *req, *resp = NULL;
    size_t len = 0;
    int r, status;

    req = build_request(a);
    if (!req) {
        live_report(a->json, "cannot build the request (invalid UTF-8 in an argument?)");
        return 1;
    }

    r = client_connect(a->socket, CLIENT_TIMEOUT_MS, &c, &err);
    if (r == 0) {
        int timeout = a->cmd == LIVE_POLL && a->wait ? CLIENT_NO_TIMEOUT : CLIENT_TIMEOUT_MS;
        r = client_call(c, req, timeout, &line, &len, &resp, &err);
    }
    json_decref(req);
    if (r == 0 && a->cmd == LIVE_WATCH && json_is_true(json_object_get(resp, CTL_RESP_OK))) {
        status = watch_stream(a, c, line, len, resp);
        client_free(c);
        return status;
    }
    client_free(c);
    if (r < 0) {
        if (client_error_unreachable(r))
            live_report(a->json, "cannot reach feedwatchd at %s: %s", a->socket,
                        err ? err : strerror(-r));
        else
            live_report(a->json, "%s", err ? err : strerror(-r));
        free(err);
        return client_error_unreachable(r) ? 3 : 1;
    }

    bool ok = json_is_true(json_object_get(resp, CTL_RESP_OK));
    if (a->json) {
        (void)fwrite(line, 1, len, stdout);
        (void)putchar('\n');
    }
    if (!ok) {
        const char *why = get_str(resp, CTL_RESP_ERROR);
        output_message("%s", why ? why : "the daemon reported an error");
        status = 1;
    } else if (a->json) {
        status = 0;
    } else {
        r = render(a, resp);
        if (r < 0) {
            output_message("%s", strerror(-r));
            status = 1;
        } else {
            status = r;
        }
    }
    json_decref(resp);
    free(line);
    return status;
}
