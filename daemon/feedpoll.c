#include "feedpoll.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts.h"
#include "control.h"
#include "fetch.h"
#include "feedparse.h"
#include "hook.h"
#include "html.h"
#include "log.h"
#include "search.h"
#include "simhash.h"

#define FEEDPOLL_MAX_PASSWORD 4096
#define FEEDPOLL_RETRY_AFTER_MAX_S (7 * 24 * 3600) /* a longer Retry-After is cut to this */

/* What a finished poll tells the schedule; filled before its transaction, used inside it. */
struct poll_next {
    bool failed;
    bool disabled;            /* disabled by this poll (410, or max_failures reached) */
    bool prev_ok;             /* the previous poll succeeded: elapsed time is evidence */
    int64_t prev_poll_at;     /* when the previous poll ended, FEED_TIME_NONE if never */
    int64_t now_ms;
    int64_t retry_after_at;   /* honoured (429/503), 0 when none */
    int64_t fresh_until_at;   /* Cache-Control/Expires when respected, 0 when none */
    int64_t next_ms;          /* out: the next poll, 0 when none (disabled) */
};

struct feedpoll {
    struct daemon *d;
    struct dfeed *f;
    struct fetch_xfer *xfer;
    struct feedparse *parser;
};

/* base ± 10%, never below 1 s. */
static int64_t
jitter_ms(struct daemon *d, int64_t base_ms)
{
    int64_t spread = base_ms / 10;
    if (spread > 0)
        base_ms += (int64_t)(daemon_random(d) % (uint64_t)(2 * spread + 1)) - spread;
    return base_ms < 1000 ? 1000 : base_ms;
}

/* The interval the feed's item rate asks for, within [min_interval, max_interval]. */
uint64_t
feedpoll_interval_s(const struct daemon *d, const struct dfeed *f)
{
    return sched_adaptive_interval(f->st.item_rate, f->cfg->interval_s,
                                   d->conf->daemon.min_interval_s,
                                   d->conf->daemon.max_interval_s);
}

/* The next poll time after a poll, in wall-clock ms: interval with jitter, or backoff. */
int64_t
feedpoll_next_ms(struct daemon *d, const struct dfeed *f, bool failed, int64_t now_ms)
{
    uint64_t interval = f->cfg->interval_s;
    if (!failed)
        return now_ms + jitter_ms(d, (int64_t)feedpoll_interval_s(d, f) * 1000);
    /* Exponential backoff from the interval, capped at max(max_interval, interval). */
    uint64_t cap = d->conf->daemon.max_interval_s;
    if (cap < interval)
        cap = interval;
    uint64_t delay = interval;
    for (unsigned i = 1; i < f->st.failures && delay < cap; i++)
        delay *= 2;
    if (delay > cap)
        delay = cap;
    return now_ms + jitter_ms(d, (int64_t)delay * 1000);
}

/* Reads a password file (bounded, trailing newline stripped); NULL when unreadable. */
static char *
read_secret(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return NULL;
    char *buf = malloc(FEEDPOLL_MAX_PASSWORD + 1);
    ssize_t n = buf ? read(fd, buf, FEEDPOLL_MAX_PASSWORD) : -1;
    close(fd);
    if (n < 0) {
        free(buf);
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return buf;
}

/*
 * The charset parameter of a Content-Type ("text/xml; charset=ISO-8859-1"), copied into buf;
 * NULL when there is none. The parser decides what wins over it (feedparse.h).
 */
static const char *
content_type_charset(const char *ctype, char *buf, size_t n)
{
    const char *p = ctype ? strcasestr(ctype, "charset=") : NULL;
    if (!p)
        return NULL;
    p += 8;
    if (*p == '"')
        p++;
    size_t len = strcspn(p, "\"; \t");
    if (len == 0 || len >= n)
        return NULL;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

/* fetch: body bytes of a 2xx response go straight into the push parser. */
static int
on_fetch_data(void *userdata, const char *effective_url, const char *content_type,
              const char *buf, size_t len, char **reterr_msg)
{
    struct feedpoll *p = userdata;
    if (!p->parser) {
        char cs[64];
        p->parser = feedparse_new(effective_url, NULL);
        if (!p->parser)
            return -ENOMEM;
        const char *charset = content_type_charset(content_type, cs, sizeof(cs));
        if (charset)
            (void)feedparse_set_charset(p->parser, charset);
    }
    int r = feedparse_push(p->parser, buf, len);
    if (r < 0) {
        const char *why = feedparse_error(p->parser);
        *reterr_msg = strdup(why ? why : strerror(-r));
    }
    return r;
}

/* Replaces *dst with a copy of src (NULL allowed); -ENOMEM keeps *dst. */
static int
set_str(char **dst, const char *src)
{
    char *c = NULL;
    if (src && !(c = strdup(src)))
        return -ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

/*
 * The text topics and readers see: the item's content (else its summary) as plain text.
 * NULL when the item has neither or the HTML cannot be read.
 */
static char *
item_text(const struct feed_item *item)
{
    const char *html = item->content ? item->content : item->summary;
    char *text = NULL;
    if (!html || html_to_text(html, strlen(html), &text) < 0)
        return NULL;
    return text;
}

/*
 * Sets the feed's item rate (from the fresh items a good poll found) and its next poll: the
 * adaptive interval (or backoff), then Retry-After and the freshness hints as lower bounds.
 */
static void
plan_next(struct daemon *d, struct dfeed *f, struct poll_next *pn, uint64_t fresh)
{
    const struct conf_daemon *dc = &d->conf->daemon;
    if (pn->disabled) {
        pn->next_ms = 0;
        f->st.next_poll_at = FEED_TIME_NONE;
        return;
    }
    if (!pn->failed && pn->prev_ok && pn->prev_poll_at != FEED_TIME_NONE) {
        double prior = f->cfg->interval_s ? 3600.0 / (double)f->cfg->interval_s : 0.0;
        f->st.item_rate = sched_rate_update(f->st.item_rate, prior,
                                            pn->now_ms / 1000 - pn->prev_poll_at, fresh);
    }
    int64_t next_ms = feedpoll_next_ms(d, f, pn->failed, pn->now_ms);
    /* Hints are lower bounds, but never beyond max_interval (or the feed's own interval). */
    uint64_t cap_s = dc->max_interval_s > f->cfg->interval_s ? dc->max_interval_s
                                                              : f->cfg->interval_s;
    int64_t hint_cap_ms = pn->now_ms + (int64_t)cap_s * 1000;
    if (pn->fresh_until_at > 0) {
        int64_t hint_ms = pn->fresh_until_at * 1000;
        if (hint_ms > hint_cap_ms)
            hint_ms = hint_cap_ms;
        if (hint_ms > next_ms)
            next_ms = hint_ms;
    }
    if (pn->retry_after_at > 0) {
        int64_t ra_ms = pn->retry_after_at * 1000;
        int64_t ra_cap_ms = pn->now_ms + (int64_t)FEEDPOLL_RETRY_AFTER_MAX_S * 1000;
        if (ra_ms > ra_cap_ms)
            ra_ms = ra_cap_ms;
        if (ra_ms > next_ms)
            next_ms = ra_ms;
    }
    pn->next_ms = next_ms;
    f->st.next_poll_at = (next_ms + 999) / 1000;
}

/*
 * Stores the document's items, their alerts and the feed's state in one transaction (a poll
 * happened or it did not); new items and alerts are counted.
 */
static int
store_poll(struct daemon *d, struct dfeed *f, const struct feed_doc *doc, int64_t now,
           uint64_t *ret_new, struct alerting_outcome *ret_alerts, json_t *events,
           struct poll_next *pn)
{
    char q1[LOG_QUOTE_MAX], q2[LOG_QUOTE_MAX], q3[LOG_QUOTE_MAX];
    uint64_t fresh = 0;
    struct alerting_outcome alerts = {0};
    int r = store_begin(d->store);
    if (r < 0)
        return r;
    for (size_t i = 0; doc && i < doc->n_items; i++) {
        const struct feed_item *item = &doc->items[i];
        char *text = item_text(item);
        uint64_t simhash = text ? simhash_text(text) : 0;
        int64_t item_id = 0;
        r = store_item_add(d->store, f->st.id, item, text, simhash, now, &item_id);
        if (r == 1) {
            fresh++;
            log_info("item: feed '%s': '%s' %s", log_quote(f->cfg->name, q1, sizeof(q1)),
                     log_quote(item->title ? item->title : "", q2, sizeof(q2)),
                     log_quote(item->link ? item->link : "-", q3, sizeof(q3)));
            r = alerting_item(d->alerting, d->store, f->cfg->name, f->st.id, item_id, item, text,
                              simhash, now, &alerts);
            if (events) {
                struct store_item_row row = {
                    .id = item_id, .feed = f->cfg->name, .key = item->key,
                    .title = item->title, .url = item->link, .published_at = item->published_at,
                    .updated_at = item->updated_at, .author = item->author,
                    .language = item->language, .summary = item->summary,
                };
                (void)json_array_append_new(events, ctlcmd_item_json(&row));
            }
        }
        free(text);
        if (r < 0)
            goto fail;
    }
    plan_next(d, f, pn, fresh);
    r = store_feed_save(d->store, &f->st);
    if (r < 0)
        goto fail;
    r = store_commit(d->store);
    if (r < 0)
        goto fail;
    *ret_new = fresh;
    *ret_alerts = alerts;
    return 0;
fail:
    store_rollback(d->store);
    return r;
}

static int
on_event_alert(void *userdata, const struct store_alert_row *row)
{
    struct daemon *d = userdata;
    control_broadcast(d->control, "alert", ctlcmd_alert_json(d, row));
    return 0;
}

/* Tells `watch` clients what a committed poll did: new items, alerts, the feed's state. */
static void
poll_events(struct daemon *d, struct dfeed *f, json_t *items, const struct alerting_outcome *a)
{
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) control_broadcast(d->control, "item", json_incref(item));
    for (unsigned k = 0; k < a->n_ids; k++)
        (void)store_alert_get(d->store, a->ids[k], on_event_alert, d);
    control_broadcast(d->control, "feed", ctlcmd_feed_json(f));
}

static void
feedpoll_free(struct feedpoll *p)
{
    if (!p)
        return;
    feedparse_free(p->parser);
    free(p);
}

/* fetch: the transfer ended; parse what arrived, store it, schedule the next poll. */
static void
on_fetch_done(void *userdata, const struct fetch_result *res)
{
    struct feedpoll *p = userdata;
    struct daemon *d = p->d;
    struct dfeed *f = p->f;
    char qn[LOG_QUOTE_MAX], qe[LOG_QUOTE_MAX];
    const char *name = log_quote(f->cfg->name, qn, sizeof(qn));
    int64_t now_ms = daemon_now_ms();
    int64_t now = now_ms / 1000;
    struct feed_doc *doc = NULL;
    char *error = NULL;
    uint64_t fresh = 0;
    bool failed;

    p->xfer = NULL;
    f->poll = NULL;
    if (res->status == FETCH_ABORTED) {
        log_debug("poll: feed '%s': aborted", name);
        feedpoll_free(p);
        daemon_poll_done(d, f, POLL_ABORTED, 0, 0);
        return;
    }

    if (res->status == FETCH_OK) {
        if (!p->parser) {
            error = strdup("empty document");
        } else if (feedparse_finish(p->parser, &doc) < 0) {
            const char *why = feedparse_error(p->parser);
            error = strdup(why ? why : "cannot parse the document");
        }
    } else if (res->status != FETCH_NOT_MODIFIED) {
        error = strdup(res->error ? res->error : "failed");
    }
    failed = error != NULL || (res->status == FETCH_OK && !doc);

    struct poll_next pn = {
        .failed = failed,
        .prev_ok = f->st.failures == 0 && f->st.last_error == NULL,
        .prev_poll_at = f->st.last_poll_at,
        .now_ms = now_ms,
    };
    if (res->status == FETCH_HTTP_ERROR && (res->http_status == 429 || res->http_status == 503))
        pn.retry_after_at = res->retry_after_at;
    if (!failed && d->conf->daemon.respect_feed_hints)
        pn.fresh_until_at = res->fresh_until_at;
    f->st.last_poll_at = now;
    f->st.last_status = (int)res->http_status;
    if (!failed) {
        f->st.failures = 0;
        (void)set_str(&f->st.last_error, NULL);
        if (res->etag || res->last_modified || res->status == FETCH_OK) {
            (void)set_str(&f->st.etag, res->etag);
            (void)set_str(&f->st.last_modified, res->last_modified);
        }
        if (doc)
            f->st.recovered = doc->recovered;
        if (res->permanent_url && strcmp(res->permanent_url, f->cfg->url) != 0) {
            log_notice("fetch: feed '%s': moved permanently to '%s'", name,
                       log_quote(res->permanent_url, qe, sizeof(qe)));
            (void)set_str(&f->st.url, res->permanent_url);
        }
    } else {
        /* A 404 counts double: a feed that is not there is rarely back tomorrow. */
        unsigned step = res->status == FETCH_HTTP_ERROR && res->http_status == 404 ? 2 : 1;
        f->st.failures = f->st.failures > UINT_MAX - step ? UINT_MAX : f->st.failures + step;
        (void)set_str(&f->st.last_error, error ? error : "not a feed");
        unsigned max = d->conf->daemon.max_failures;
        char reason[256];
        if (res->status == FETCH_HTTP_ERROR && res->http_status == 410) {
            snprintf(reason, sizeof(reason), "HTTP 410 Gone");
            pn.disabled = true;
        } else if (max > 0 && f->st.failures >= max) {
            snprintf(reason, sizeof(reason), "%u consecutive failures (max_failures %u), last: %s",
                     f->st.failures, max, f->st.last_error ? f->st.last_error : "error");
            pn.disabled = true;
        }
        if (pn.disabled)
            (void)set_str(&f->st.disabled_reason, reason);
    }

    struct alerting_outcome alerts = {0};
    json_t *events = control_has_watchers(d->control) ? json_array() : NULL;
    int r = store_poll(d, f, failed ? NULL : doc, now, &fresh, &alerts, events, &pn);
    if (r < 0 && pn.next_ms == 0 && !pn.disabled) {
        /* The transaction never reached plan_next: back off rather than poll again at once. */
        pn.next_ms = feedpoll_next_ms(d, f, true, now_ms);
        f->st.next_poll_at = (pn.next_ms + 999) / 1000;
    }
    int64_t next_ms = pn.next_ms;
    f->next_poll_ms = next_ms;
    if (r == 0 && alerts.raised > 0)
        hooks_kick(d->hooks);
    if (r == 0 && fresh > 0)
        search_kick(d->search);
    if (r == 0 && events)
        poll_events(d, f, events, &alerts);
    json_decref(events);
    if (r < 0) {
        log_error("store: feed '%s': cannot save the poll: %s, will retry", name,
                  store_errmsg(d->store));
        failed = true;
        fresh = 0;
    } else if (pn.disabled) {
        log_notice("fetch: feed '%s': %s, feed disabled until `feedwatch resume`", name,
                   log_quote(f->st.disabled_reason, qe, sizeof(qe)));
    } else if (failed) {
        log_warn("fetch: feed '%s': %s, retrying in %" PRId64 "s", name,
                 log_quote(f->st.last_error, qe, sizeof(qe)), (next_ms - now_ms + 999) / 1000);
    } else if (res->status == FETCH_NOT_MODIFIED) {
        log_info("poll: feed '%s': not modified", name);
    } else {
        f->st.items += (int64_t)fresh;
        char how[16];
        if (res->http_status)
            snprintf(how, sizeof(how), "HTTP %ld", res->http_status);
        else
            snprintf(how, sizeof(how), "read");
        log_info("poll: feed '%s': %s, %zu items, %" PRIu64 " new%s", name, how, doc->n_items,
                 fresh, doc->recovered ? ", recovered from malformed XML" : "");
    }
    feed_doc_free(doc);
    free(error);
    feedpoll_free(p);
    daemon_poll_done(d, f,
                     failed                                ? POLL_FAILED
                     : res->status == FETCH_NOT_MODIFIED ? POLL_NOT_MODIFIED
                                                           : POLL_OK,
                     fresh, alerts.raised);
}

/* Starts polling f (f->poll is set); negative errno when the transfer could not start. */
int
feedpoll_start(struct daemon *d, struct dfeed *f)
{
    const struct conf_feed *c = f->cfg;
    struct feedpoll *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->d = d;
    p->f = f;
    char *password = NULL;
    if (c->user && c->password_file && !(password = read_secret(c->password_file))) {
        char q[LOG_QUOTE_MAX];
        log_warn("poll: feed '%s': cannot read password_file, trying without",
                 log_quote(c->name, q, sizeof(q)));
    }
    struct fetch_req req = {
        .url = f->st.url ? f->st.url : c->url,
        .etag = f->st.etag,
        .last_modified = f->st.last_modified,
        .header = c->header,
        .user = c->user,
        .password = password,
        .max_size = d->conf->daemon.max_feed_size,
    };
    f->poll = p;
    p->xfer = fetch_start(d->fetcher, &req, on_fetch_data, on_fetch_done, p);
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
    if (!p->xfer) {
        f->poll = NULL;
        free(p);
        return -ENOMEM;
    }
    return 0;
}

/* Aborts the poll; it ends through the normal completion path before this returns. */
void
feedpoll_cancel(struct feedpoll *p)
{
    if (p && p->xfer)
        fetch_cancel(p->xfer);
}
