#include "hook.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ctlproto.h"
#include "conf.h"
#include "dctx.h"
#include "parse/date.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "util.h"
#include "writer.h"

#define HOOK_MAX_PAYLOAD (8u * 1024 * 1024)
#define HOOK_MAX_SECRET 4096   /* bytes of a webhook's secret_file */
#define HOOK_LINE_MAX 1024     /* a child's output is logged a line at a time, lines cut here */
#define HOOK_GROUP_POLL_MS 100 /* how often a hook's leftover processes are looked for */
#define HOOK_BATCH_MAX 1000    /* deliveries in one batch run (`[hook] batch`) */

/* One delivery of a batch run: an alert's or a feed event's, its attempts before the run. */
struct hook_batch_entry {
    bool ev;
    int64_t id;
    unsigned attempts;
    int64_t raised_at; /* for the delivery latency metric */
};

enum hook_stream { HOOK_OUT, HOOK_ERR };

struct hook_pipe {
    uv_pipe_t pipe;
    struct hook_run *run;
    enum hook_stream which;
    char line[HOOK_LINE_MAX];
    size_t len;
    size_t logged; /* bytes logged so far, capped at HOOK_MAX_OUTPUT */
    bool eof;
};

/* One attempt of one delivery. */
struct hook_run {
    struct hooks *h;
    struct hook_run *next;
    bool ev;        /* a feed event's delivery (alert_id is the event's id), not an alert's */
    char event[32]; /* the event's name: "alert", "feed-disabled", ... */
    int64_t alert_id;
    int64_t raised_at; /* the alert's, for the delivery latency metric */
    char *hook;
    unsigned attempts; /* including this one */
    unsigned retries;
    uint64_t timeout_ms;
    char *payload;
    size_t payload_len;
    bool is_url;
    struct hook_batch_entry *batch; /* a batch run (`[hook] batch`): its deliveries; NULL: one */
    size_t n_batch;
    /* exec */
    uv_process_t proc;
    struct hook_pipe in_pipe, out, err;
    uv_timer_t timer; /* the timeout, the grace period, and polls of the group */
    uv_write_t wreq;
    unsigned open_handles;
    uint64_t deadline_ms; /* loop time of the timeout */
    uint64_t kill_at_ms;  /* loop time of the SIGKILL, once timed out */
    bool spawned;
    bool exited;
    int64_t exit_status;
    int term_signal;
    bool timed_out;
    bool group_lived; /* at the timeout the first process had exited, its group had not */
    bool killed;      /* the group got SIGKILL: done as soon as the first process is */
    bool completed;
    /* url */
    struct fetch_xfer *xfer;
    bool ok;
    char *error;
};

/*
 * One delivery state on its way to the store through the writer. Until its done callback the
 * loop's reads may still show the state before it, so the delivery counts as busy: a due
 * read that returns it does not start it again (delivery_busy).
 */
struct hook_write {
    struct writer_job job;
    struct hooks *h;
    struct hook_write *next; /* in h->writes */
    bool ev;                 /* a feed event's delivery */
    int64_t alert_id;
    char *hook;
    const char *state; /* pending, running, delivered, failed */
    unsigned attempts;
    int64_t next_attempt_at;
    char *error;
    int64_t ended_at;     /* when the attempt that led to this state ended; FEED_TIME_NONE */
    struct hook_run *run; /* "running": the run that starts once it is stored */
    json_t *doc;          /* and its alert, for the environment */
};

/*
 * A `redeliver` on its way to the store through the writer: one alert's deliveries to the
 * hooks named (busy until it is done, as a hook_write), or every failed one.
 */
struct hook_requeue {
    struct writer_job job;
    struct hooks *h;
    struct hook_requeue *next; /* in h->requeues */
    int64_t alert_id;          /* one alert's deliveries; 0: every failed one */
    char **hooks;              /* one alert: the hooks to deliver it to again */
    size_t n_hooks;
    char *hook;       /* every failed one: only this hook's; NULL: all */
    char *configured; /* every failed one: the hooks configured now, a JSON array */
    int64_t now;
    unsigned queued; /* writer thread, then the loop's: by the batch that ran last */
    json_t *list;    /* the first HOOK_REDELIVER_LIST_MAX queued, [{"alert", "hook"}] */
    /* every failed one: the batches (HOOK_REDELIVER_BATCH) go on after the key of after_*,
     * alerts' deliveries first, then (events) feed events' */
    bool events;
    int64_t after_alert;
    char *after_hook;
    int64_t last_alert; /* writer thread: the greatest key the batch queued */
    char *last_hook;
    unsigned total;   /* queued by the batches done */
    size_t list_kept; /* entries of list from the batches done */
    hook_redeliver_cb cb;
    void *ctx;
};

struct hook_claim;
struct hook_take;
struct hook_bwrite;

struct hooks {
    struct dctx *d;
    hook_progress_cb progress; /* told after each run and delivery state (--once) */
    void *progress_ctx;
    uv_timer_t timer;          /* the next due delivery */
    struct hook_run *runs;     /* started (their "running" state is stored) */
    unsigned running;          /* runs started or waiting for their "running" state */
    struct hook_write *writes; /* delivery states queued in the writer */
    unsigned n_writes;
    struct hook_requeue *requeues; /* `redeliver`s queued in the writer */
    /* Clusters (store_clustered): deliveries are claimed through the writer, one claim at once. */
    bool clustered;
    struct hook_claim *claim; /* the claim in the writer; NULL: none */
    bool claim_again;         /* a kick came while it was there: claim again after it */
    /* Batches (`[hook] batch`): one take of the batch hooks in the writer at once. */
    struct hook_take *take;
    bool take_again;
    struct hook_bwrite *bwrites; /* batches' delivery states queued in the writer */
    unsigned rewindows;          /* reloads' changes of windows queued in the writer */
    bool closing;
    bool timer_closed;
};

/*
 * Now, Unix seconds, as the store compares it: on a cluster the database server's clock (the
 * nodes share the deliveries' due times, cluster.h), else this machine's.
 */
static int64_t
db_now(const struct hooks *h)
{
    return util_now() + (h->clustered ? h->d->clock_offset_s : 0);
}

static void run_finish(struct hook_run *run);
static void run_free(struct hook_run *run);
static void run_begin(struct hooks *h, struct hook_run *run, json_t *doc);

/* Exponential backoff after the attempts-th failed attempt. */
static int64_t
backoff_s(unsigned attempts)
{
    int64_t d = HOOK_BACKOFF_BASE_S;
    for (unsigned i = 1; i < attempts && d < HOOK_BACKOFF_MAX_S; i++)
        d *= 2;
    return d < HOOK_BACKOFF_MAX_S ? d : HOOK_BACKOFF_MAX_S;
}

/* Stored text is valid UTF-8; should a byte slip through, it shows as U+FFFD. */
#define json_str ctlproto_json_string

static json_t *
jtime(int64_t at)
{
    if (at == FEED_TIME_NONE)
        return json_null();
    char buf[DATE_RFC3339_LEN];
    date_format(at, buf);
    return json_string(buf);
}

struct alert_json_ctx {
    json_t *doc;
    int64_t raised_at;
};

static int
on_alert_row(void *userdata, const struct store_alert_row *row)
{
    struct alert_json_ctx *c = userdata;
    json_t *matched = NULL;
    c->raised_at = row->raised_at;
    if (row->matched)
        matched = json_loads(row->matched, 0, NULL);
    c->doc = json_pack("{s:s, s:I, s:o, s:o, s:{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}, s:[]}",
                       "event", "alert", "alert_id", (json_int_t)row->id, "topic",
                       json_str(row->topic), "matched", matched ? matched : json_array(), "item",
                       "id", (json_int_t)row->item_id, "feed", json_str(row->feed), "title",
                       json_str(row->title), "url", json_str(row->url), "published",
                       jtime(row->published_at), "author", json_str(row->author), "language",
                       json_str(row->language), "text", json_str(row->text), "sources");
    return c->doc ? 0 : -ENOMEM;
}

static int
on_source_row(void *userdata, const char *feed, const char *url, const char *title, int64_t item_id)
{
    json_t *sources = userdata;
    json_t *s = json_pack("{s:o, s:o, s:o, s:I}", "feed", json_str(feed), "url", json_str(url),
                          "title", json_str(title), "item", (json_int_t)item_id);
    return s && json_array_append_new(sources, s) == 0 ? 0 : -ENOMEM;
}

/*
 * The alert's JSON as hooks get it on stdin (a new reference), or NULL with the store error:
 * its "sources" and its story's are the first STORE_SOURCES_LISTED attached and also_item (0:
 * none) when it is a source past those (a story-source's new one), the story's "sources_total"
 * counts them all; *ret_raised_at (may be NULL) gets when the alert was raised;
 * *ret_store_failed (may be NULL) says whether a NULL came from a read that failed (the
 * store's message), rather than from an alert not found or out of memory.
 */
static json_t *
alert_json(struct dctx *d, int64_t alert_id, int64_t also_item, int64_t *ret_raised_at,
           bool *ret_store_failed)
{
    struct alert_json_ctx c = {.raised_at = FEED_TIME_NONE};
    int64_t total = 0;
    int r = store_alert_get(d->store, alert_id, on_alert_row, &c);
    if (r >= 0 && c.doc)
        r = store_alert_sources(d->store, alert_id, STORE_SOURCES_LISTED, also_item, &total,
                                on_source_row, json_object_get(c.doc, "sources"));
    if (ret_store_failed)
        *ret_store_failed = r < 0 && r != -ENOMEM;
    if (r < 0 || !c.doc) {
        json_decref(c.doc);
        return NULL;
    }
    /* The story: the alert's id, its first item, the items attached to it so far. */
    json_t *ids = json_array(), *src;
    size_t i;
    json_array_foreach(json_object_get(c.doc, "sources"), i,
                       src) if (!ids ||
                                json_array_append(ids, json_object_get(src, "item")) < 0) break;
    json_t *item = json_object_get(c.doc, "item");
    if (!ids || json_object_set_new(c.doc, "story",
                                    json_pack("{s:I, s:O, s:o, s:I}", "id", (json_int_t)alert_id,
                                              "first_item", json_object_get(item, "id"), "sources",
                                              ids, "sources_total", (json_int_t)total)) < 0) {
        json_decref(c.doc);
        return NULL;
    }
    if (ret_raised_at)
        *ret_raised_at = c.raised_at;
    return c.doc;
}

struct event_json_ctx {
    json_t *doc;
    int64_t raised_at;
    int64_t alert_id, item_id; /* an item event's (item-updated, story-source); 0: a feed event */
    bool updated;              /* item-updated */
    json_t *changes;           /* item-updated: its diff */
};

static int
on_event_row(void *userdata, const struct store_feed_event_row *row)
{
    struct event_json_ctx *c = userdata;
    c->raised_at = row->raised_at;
    c->alert_id = row->alert_id;
    c->item_id = row->item_id;
    if (row->alert_id > 0 && row->event && strcmp(row->event, "item-updated") == 0) {
        /* item-updated: the alert's JSON follows (event_json), with the diff. */
        c->updated = true;
        c->changes = row->changes ? json_loads(row->changes, 0, NULL) : json_array();
        return c->changes ? 0 : -ENOMEM;
    }
    c->doc = json_pack("{s:o, s:I, s:o, s:{s:o, s:o, s:o}, s:o}", "event", json_str(row->event),
                       "event_id", (json_int_t)row->id, "feed", json_str(row->feed), "feed_state",
                       "url", json_str(row->url), "state", json_str(row->feed_state), "reason",
                       json_str(row->reason), "raised", jtime(row->raised_at));
    return c->doc ? 0 : -ENOMEM;
}

static json_t *alert_json(struct dctx *d, int64_t alert_id, int64_t also_item,
                          int64_t *ret_raised_at, bool *ret_store_failed);

/*
 * An item-updated's JSON: its alert's, with "event": "item-updated", "event_id" and "changes"
 * (text/edits.h: [{"field", "before", "after"}]); NULL with the store error as alert_json.
 */
static json_t *
update_json(struct dctx *d, int64_t event_id, struct event_json_ctx *c, bool *ret_store_failed)
{
    json_t *doc = alert_json(d, c->alert_id, c->item_id, NULL, ret_store_failed), *src;
    /* The item edited: the alert's own, or a source of its story (review11 L4). */
    json_t *item = json_object_get(doc, "item"), *edited = NULL;
    if (item && json_integer_value(json_object_get(item, "id")) == c->item_id)
        edited = json_pack("{s:O, s:O, s:O, s:I}", "feed", json_object_get(item, "feed"), "url",
                           json_object_get(item, "url"), "title", json_object_get(item, "title"),
                           "item", (json_int_t)c->item_id);
    size_t i;
    json_array_foreach(json_object_get(doc, "sources"), i, src)
    {
        if (!edited && json_integer_value(json_object_get(src, "item")) == c->item_id)
            edited = json_incref(src);
    }
    if (doc && (json_object_set_new(doc, "event", json_string("item-updated")) < 0 ||
                json_object_set_new(doc, "event_id", json_integer(event_id)) < 0 ||
                json_object_set_new(doc, "edited_item", edited ? edited : json_null()) < 0 ||
                json_object_set(doc, "changes", c->changes) < 0)) {
        json_decref(doc);
        doc = NULL;
    }
    json_decref(c->changes);
    return doc;
}

/*
 * A story-source's JSON: its alert's (its story with the new source), the event's name and
 * id, and the item that became its source; c->doc is replaced (NULL with the store error).
 */
static json_t *
source_json(struct dctx *d, struct event_json_ctx *c, bool *ret_store_failed)
{
    json_t *doc = alert_json(d, c->alert_id, c->item_id, NULL, ret_store_failed), *src,
           *source = NULL;
    size_t i;
    json_array_foreach(json_object_get(doc, "sources"), i, src)
    {
        if (json_integer_value(json_object_get(src, "item")) == c->item_id)
            source = src;
    }
    if (!doc || json_object_set(doc, "event", json_object_get(c->doc, "event")) < 0 ||
        json_object_set(doc, "event_id", json_object_get(c->doc, "event_id")) < 0 ||
        json_object_set_new(doc, "source", source ? json_incref(source) : json_null()) < 0) {
        json_decref(doc);
        doc = NULL;
    }
    json_decref(c->doc);
    return doc;
}

/*
 * An event's JSON as hooks get it on stdin (a new reference), or NULL with the store error: a
 * feed event's {"event", "event_id", "feed", "feed_state": {"url", "state", "reason"},
 * "raised"}; an item-updated's (update_json) or a story-source's (source_json) are their
 * alert's.
 */
static json_t *
event_json(struct dctx *d, int64_t event_id, int64_t *ret_raised_at, bool *ret_store_failed)
{
    struct event_json_ctx c = {.raised_at = FEED_TIME_NONE};
    int r = store_feed_event_get(d->store, event_id, on_event_row, &c);
    if (r >= 0 && c.updated) {
        if (ret_raised_at)
            *ret_raised_at = c.raised_at;
        return update_json(d, event_id, &c, ret_store_failed);
    }
    json_decref(c.changes);
    if (ret_store_failed)
        *ret_store_failed = r < 0 && r != -ENOMEM && r != -ENOENT;
    if (r < 0 || !c.doc) {
        json_decref(c.doc);
        return NULL;
    }
    if (c.alert_id > 0 && !(c.doc = source_json(d, &c, ret_store_failed)))
        return NULL;
    if (ret_raised_at)
        *ret_raised_at = c.raised_at;
    return c.doc;
}

/*
 * What a delivery is of, in log lines written before its event was read: "alert 12", "event
 * 3" (a feed event's, or an item event's: item-updated, story-source; the ids are one series).
 */
static const char *
what_of(bool ev)
{
    return ev ? "event" : "alert";
}

/*
 * What a run's delivery is of, its event read: "alert", the item event's name
 * ("item-updated", "story-source": delivered on an alert, shown by `feedwatch alerts`), or
 * "feed event" (shown by `feedwatch events`).
 */
static const char *
run_kind(const struct hook_run *run)
{
    if (!run->ev)
        return "alert";
    if (strcmp(run->event, "item-updated") == 0 || strcmp(run->event, "story-source") == 0)
        return run->event;
    return "feed event";
}

/* What a run is of, in log lines: "alert 12", "story-source 7", "feed event 3", "batch of 5". */
static const char *
run_what(const struct hook_run *run, char *buf, size_t size)
{
    if (run->batch)
        snprintf(buf, size, "batch of %zu", run->n_batch);
    else
        snprintf(buf, size, "%s %" PRId64, run_kind(run), run->alert_id);
    return buf;
}

/* The alert's JSON as hooks get it on stdin (a new reference), or NULL with the store error. */
json_t *
hook_alert_json(struct dctx *d, int64_t alert_id)
{
    return alert_json(d, alert_id, 0, NULL, NULL);
}

/* Frees h once it is closed and nothing of it is left. */
static void
hooks_maybe_free(struct hooks *h)
{
    if (h->closing && h->timer_closed && h->running == 0 && !h->writes && !h->requeues &&
        !h->claim && !h->take && !h->bwrites && h->rewindows == 0)
        free(h);
}

static void
write_free(struct hook_write *w)
{
    free(w->hook);
    free(w->error);
    json_decref(w->doc);
    free(w);
}

/* Writer thread: the delivery's new state. */
static int
write_work(struct writer_job *job, struct store *store)
{
    struct hook_write *w = (struct hook_write *)((char *)job - offsetof(struct hook_write, job));
    if (w->ev)
        return store_event_delivery_set(store, w->alert_id, w->hook, w->state, w->attempts,
                                        w->next_attempt_at, w->error, w->ended_at);
    return store_delivery_set(store, w->alert_id, w->hook, w->state, w->attempts,
                              w->next_attempt_at, w->error, w->ended_at);
}

/* Loop: the state is stored (or not); a "running" one starts its run now. */
static void
write_done(struct writer_job *job, int result)
{
    struct hook_write *w = (struct hook_write *)((char *)job - offsetof(struct hook_write, job));
    struct hooks *h = w->h;
    char qh[LOG_QUOTE_MAX];
    for (struct hook_write **p = &h->writes; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    h->n_writes--;
    if (result == -ESTALE) /* a cluster's: another node took the delivery over */
        log_warn("hook '%s': %s", log_quote(w->hook, qh, sizeof(qh)), job->error);
    else if (result < 0)
        log_error("store: hook '%s': cannot save the delivery of %s %" PRId64 ": %s",
                  log_quote(w->hook, qh, sizeof(qh)), what_of(w->ev), w->alert_id, job->error);
    struct hook_run *run = w->run;
    if (run && (result < 0 || h->closing || h->d->stopping)) {
        /*
         * Not started: without its "running" state the delivery stays due and is tried again;
         * when stopping, its stored "running" state makes a restart run it (at least once).
         */
        h->running--;
        run_free(run);
    } else if (run) {
        run_begin(h, run, w->doc);
    }
    write_free(w);
    if (h->closing) {
        hooks_maybe_free(h);
        return;
    }
    hook_kick(h);
    if (h->progress)
        h->progress(h->progress_ctx);
}

/*
 * Queues the delivery's new state in the writer; with run, the run starts once the state
 * ("running") is stored; any other state ends an attempt (its time is kept as the delivery's
 * last attempt). 0, or a negative errno (logged; nothing is queued, run not freed).
 */
static int
delivery_write(struct hooks *h, bool ev, int64_t alert_id, const char *hook, const char *state,
               unsigned attempts, int64_t next_attempt_at, const char *error, struct hook_run *run,
               json_t *doc)
{
    char qh[LOG_QUOTE_MAX];
    struct hook_write *w = calloc(1, sizeof(*w));
    int r = -ENOMEM;
    if (w && (w->hook = strdup(hook)) && (!error || (w->error = strdup(error)))) {
        w->h = h;
        w->ev = ev;
        w->alert_id = alert_id;
        w->state = state;
        w->attempts = attempts;
        w->next_attempt_at = next_attempt_at;
        w->ended_at = strcmp(state, "running") == 0 ? FEED_TIME_NONE : db_now(h);
        w->run = run;
        w->doc = json_incref(doc);
        w->job = (struct writer_job){.work = write_work, .done = write_done, .mode = WRITER_TXN};
        r = writer_submit(h->d->writer, &w->job);
    }
    if (r < 0) {
        log_error("store: hook '%s': cannot save the delivery of %s %" PRId64 ": %s",
                  log_quote(hook, qh, sizeof(qh)), what_of(ev), alert_id,
                  r == -EAGAIN ? "the store's writer queue is full" : strerror(-r));
        if (w) {
            w->run = NULL;
            write_free(w);
        }
        return r;
    }
    w->next = h->writes;
    h->writes = w;
    h->n_writes++;
    return 0;
}

static bool batch_busy(const struct hooks *h, bool ev, int64_t id, const char *hook);
static void batch_record(struct hook_run *run);

/* Whether the delivery is running or has a state on its way to the store. */
static bool
delivery_busy(const struct hooks *h, bool ev, int64_t alert_id, const char *hook)
{
    for (const struct hook_run *run = h->runs; run; run = run->next)
        if (run->ev == ev && run->alert_id == alert_id && strcmp(run->hook, hook) == 0)
            return true;
    for (const struct hook_write *w = h->writes; w; w = w->next)
        if (w->ev == ev && w->alert_id == alert_id && strcmp(w->hook, hook) == 0)
            return true;
    if (batch_busy(h, ev, alert_id, hook))
        return true;
    if (ev)
        return false; /* `redeliver` is of alerts */
    for (const struct hook_requeue *q = h->requeues; q; q = q->next)
        for (size_t i = 0; q->alert_id == alert_id && i < q->n_hooks; i++)
            if (strcmp(q->hooks[i], hook) == 0)
                return true;
    return false;
}

/* Writes the outcome of a run to its delivery row (through the writer) and logs it once. */
static void
run_record(struct hook_run *run)
{
    struct dctx *d = run->h->d;
    char qh[LOG_QUOTE_MAX], qe[LOG_QUOTE_MAX];
    const char *name = log_quote(run->hook, qh, sizeof(qh));
    int64_t now = db_now(run->h);

    metrics_delivery(d->metrics, run->hook, run->ok,
                     run->raised_at != FEED_TIME_NONE ? (double)(now - run->raised_at) : -1);
    const char *what = run_kind(run);
    if (run->ok) {
        (void)delivery_write(run->h, run->ev, run->alert_id, run->hook, "delivered", run->attempts,
                             FEED_TIME_NONE, NULL, NULL, NULL);
        log_notice("hook: '%s': %s %" PRId64 " delivered (attempt %u)", name, what, run->alert_id,
                   run->attempts);
    } else if (run->attempts > run->retries) {
        (void)delivery_write(run->h, run->ev, run->alert_id, run->hook, "failed", run->attempts,
                             FEED_TIME_NONE, run->error, NULL, NULL);
        log_warn("hook: '%s': %s %" PRId64 ": %s, failed after %u attempts", name, what,
                 run->alert_id, log_quote(run->error, qe, sizeof(qe)), run->attempts);
    } else {
        int64_t wait = backoff_s(run->attempts);
        (void)delivery_write(run->h, run->ev, run->alert_id, run->hook, "pending", run->attempts,
                             now + wait, run->error, NULL, NULL);
        log_warn("hook: '%s': %s %" PRId64 ": %s, retrying in %" PRId64 "s", name, what,
                 run->alert_id, log_quote(run->error, qe, sizeof(qe)), wait);
    }
}

static void
run_free(struct hook_run *run)
{
    free(run->batch);
    free(run->hook);
    free(run->payload);
    free(run->error);
    free(run);
}

/* Unlinks a finished run, records it (unless stopping) and looks for more work. */
static void
run_finish(struct hook_run *run)
{
    struct hooks *h = run->h;
    for (struct hook_run **p = &h->runs; *p; p = &(*p)->next) {
        if (*p == run) {
            *p = run->next;
            break;
        }
    }
    h->running--;
    /* When stopping, the delivery stays "running": a restart runs it again (at least once). */
    if (!h->closing && run->batch)
        batch_record(run);
    else if (!h->closing)
        run_record(run);
    run_free(run);
    if (h->closing) {
        hooks_maybe_free(h);
        return;
    }
    hook_kick(h);
    if (h->progress)
        h->progress(h->progress_ctx);
}

static void run_fail(struct hook_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets the reason a run failed (the first one wins). */
static void
run_fail(struct hook_run *run, const char *fmt, ...)
{
    if (run->error)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&run->error, fmt, ap) < 0)
        run->error = NULL;
    va_end(ap);
}

/* The tail of a timeout's reason when processes the hook started outlived it. */
#define HOOK_ERR_GROUP_LIVED ": the hook exited but processes it started were still running"

/*
 * Whether error is prefix, a decimal number (after a '-' when sign), then suffix: a reason of
 * run_fail's that holds nothing but that number.
 */
static bool
error_form(const char *error, const char *prefix, bool sign, const char *suffix)
{
    size_t n = strlen(prefix);
    if (strncmp(error, prefix, n) != 0)
        return false;
    const char *p = error + n;
    if (sign && *p == '-')
        p++;
    const char *digits = p;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > digits && p - digits <= 20 && strcmp(p, suffix) == 0;
}

/*
 * The reason at the end of an error that quotes a path before it ("... PATH: REASON"): after
 * its last sep, a path's own text never being last. NULL when it might still hold a path.
 */
static const char *
error_reason(const char *error, const char *sep)
{
    const char *reason = NULL;
    for (const char *p = strstr(error, sep); p; p = strstr(p + 1, sep))
        reason = p + strlen(sep);
    return reason && *reason && !strchr(reason, '/') && strlen(reason) <= 100 ? reason : NULL;
}

const char *
hook_error_brief(const char *error, char *buf, size_t size)
{
    static const struct {
        const char *prefix; /* a reason that quotes a path after this */
        const char *sep;    /* and says why after the last of these */
        const char *shown;
    } quoting[] = {
        {"cannot run '", "': ", "cannot run the hook's exec"},
        {"cannot read secret_file ", ": ", "cannot read the hook's secret_file"},
        {"cannot sign with secret_file ", ": ", "cannot sign with the hook's secret_file"},
    };
    if (!error)
        return NULL;
    if (error_form(error, "exit status ", true, "") ||
        error_form(error, "killed by signal ", false, "") ||
        error_form(error, "timed out after ", false, "s") ||
        error_form(error, "timed out after ", false, "s" HOOK_ERR_GROUP_LIVED) ||
        error_form(error, "HTTP ", false, "") || strcmp(error, "aborted") == 0 ||
        strcmp(error, "the hook is no longer configured") == 0 ||
        (strncmp(error, "cannot start: ", 14) == 0 && error_reason(error, ": ") == error + 14))
        return error;
    for (size_t i = 0; i < sizeof(quoting) / sizeof(quoting[0]); i++) {
        if (strncmp(error, quoting[i].prefix, strlen(quoting[i].prefix)) != 0)
            continue;
        const char *reason = error_reason(error, quoting[i].sep);
        if (!reason)
            return quoting[i].shown;
        (void)snprintf(buf, size, "%s: %s", quoting[i].shown, reason);
        return buf;
    }
    return "failed";
}

static void
on_run_handle_closed(uv_handle_t *handle)
{
    struct hook_run *run = handle->data;
    if (--run->open_handles == 0)
        run_finish(run);
}

static void
on_pipe_closed(uv_handle_t *handle)
{
    struct hook_pipe *p = handle->data;
    if (--p->run->open_handles == 0)
        run_finish(p->run);
}

/* Closes every handle of an exec run that is not closing yet; the last close finishes it. */
static void
run_close_handles(struct hook_run *run)
{
    (void)uv_timer_stop(&run->timer);
    if (!uv_is_closing((uv_handle_t *)&run->timer))
        uv_close((uv_handle_t *)&run->timer, on_run_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&run->proc))
        uv_close((uv_handle_t *)&run->proc, on_run_handle_closed);
    struct hook_pipe *pipes[] = {&run->in_pipe, &run->out, &run->err};
    for (size_t i = 0; i < 3; i++)
        if (!uv_is_closing((uv_handle_t *)&pipes[i]->pipe))
            uv_close((uv_handle_t *)&pipes[i]->pipe, on_pipe_closed);
}

/*
 * True while a process of the hook's process group lives (the hook leads its own session
 * and group, UV_PROCESS_DETACHED, so the group id is the first process's pid). EPERM means
 * a member exists that we may not signal: alive too.
 */
static bool
run_group_alive(struct hook_run *run)
{
    return run->spawned && (kill(-run->proc.pid, 0) == 0 || errno == EPERM);
}

static void on_run_timer(uv_timer_t *t);

/* Stops waiting for EOF on an output (a process out of our reach may hold it). */
static void
pipe_give_up(struct hook_pipe *p)
{
    if (p->eof)
        return;
    p->eof = true;
    (void)uv_read_stop((uv_stream_t *)&p->pipe);
}

/*
 * A run is complete when its first process has exited, both outputs reached EOF, and no
 * process of its group is left; or, past the timeout, once the group got SIGKILL and the
 * first process is gone. Until then the timer is armed for whichever comes first: the next
 * look at a lingering group, the timeout, or the end of the grace period.
 */
static void
run_maybe_complete(struct hook_run *run)
{
    if (run->completed)
        return;
    uint64_t now = uv_now(run->timer.loop);
    uint64_t due = run->timed_out ? run->kill_at_ms : run->deadline_ms;
    if (!run->exited || !run->out.eof || !run->err.eof) {
        /* After SIGKILL only the exit is left to wait for, and it comes as an event. */
        if (!run->killed)
            (void)uv_timer_start(&run->timer, on_run_timer, due > now ? due - now : 0, 0);
        return;
    }
    if (!run->killed && run_group_alive(run)) {
        /* The first process is done, processes it started are not: look again shortly. */
        uint64_t wait = due > now ? due - now : 0;
        if (wait > HOOK_GROUP_POLL_MS)
            wait = HOOK_GROUP_POLL_MS;
        (void)uv_timer_start(&run->timer, on_run_timer, wait, 0);
        return;
    }
    run->completed = true;
    (void)uv_timer_stop(&run->timer);
    if (run->timed_out && run->group_lived) {
        run_fail(run, "timed out after %" PRIu64 "s" HOOK_ERR_GROUP_LIVED, run->timeout_ms / 1000);
    } else if (run->timed_out) {
        run_fail(run, "timed out after %" PRIu64 "s", run->timeout_ms / 1000);
    } else if (run->term_signal) {
        run_fail(run, "killed by signal %d", run->term_signal);
    } else if (run->exit_status != 0) {
        run_fail(run, "exit status %" PRId64, run->exit_status);
    }
    run->ok = !run->error;
    run_close_handles(run);
}

static void
on_proc_exit(uv_process_t *proc, int64_t exit_status, int term_signal)
{
    struct hook_run *run = proc->data;
    run->exited = true;
    run->exit_status = exit_status;
    run->term_signal = term_signal;
    run_maybe_complete(run);
}

/* Logs one line of a child's output, quoted and bounded. */
static void
pipe_log_line(struct hook_pipe *p)
{
    struct hook_run *run = p->run;
    char qh[LOG_QUOTE_MAX], ql[LOG_QUOTE_MAX], what[64];
    if (p->len == 0)
        return;
    p->line[p->len] = '\0';
    if (p->logged < HOOK_MAX_OUTPUT) {
        const char *name = log_quote(run->hook, qh, sizeof(qh));
        const char *line = log_quote(p->line, ql, sizeof(ql));
        if (p->which == HOOK_OUT)
            log_info("hook: '%s': %s: stdout: '%s'", name, run_what(run, what, sizeof(what)), line);
        else
            log_warn("hook: '%s': %s: stderr: '%s'", name, run_what(run, what, sizeof(what)), line);
    }
    p->logged += p->len;
    p->len = 0;
}

static void
on_pipe_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    static char scratch[4096]; /* loop thread only; consumed before the next read */
    (void)handle;
    (void)suggested;
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

static void
on_pipe_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct hook_pipe *p = s->data;
    if (nread < 0) {
        pipe_log_line(p);
        p->eof = true;
        (void)uv_read_stop(s);
        run_maybe_complete(p->run);
        return;
    }
    for (ssize_t i = 0; i < nread; i++) {
        char c = buf->base[i];
        if (c == '\n') {
            pipe_log_line(p);
            continue;
        }
        if (p->len < sizeof(p->line) - 1)
            p->line[p->len++] = c;
    }
}

static void
on_stdin_written(uv_write_t *req, int status)
{
    struct hook_run *run = req->data;
    (void)status; /* a child that does not read its stdin is its own business */
    if (!uv_is_closing((uv_handle_t *)&run->in_pipe.pipe))
        uv_close((uv_handle_t *)&run->in_pipe.pipe, on_pipe_closed);
}

/*
 * The timer: a look at a lingering group before the timeout; at the timeout SIGTERM to the
 * hook's whole process group, whatever its first process did (it may have exited and left
 * children behind); at the end of the grace period SIGKILL to the group, and the run ends
 * (failed) without waiting for outputs that something out of the group may still hold.
 */
static void
on_run_timer(uv_timer_t *t)
{
    struct hook_run *run = t->data;
    uint64_t now = uv_now(t->loop);
    if (run->completed)
        return;
    if (!run->timed_out && now < run->deadline_ms) {
        run_maybe_complete(run);
        return;
    }
    if (!run->timed_out) {
        char q[LOG_QUOTE_MAX], what[64];
        run->timed_out = true;
        run->group_lived = run->exited;
        run->kill_at_ms = now + HOOK_KILL_GRACE_MS;
        log_warn("hook: '%s': %s: still running after %" PRIu64 "s%s, terminating",
                 log_quote(run->hook, q, sizeof(q)), run_what(run, what, sizeof(what)),
                 run->timeout_ms / 1000, run->exited ? " (processes it started)" : "");
        (void)kill(-run->proc.pid, SIGTERM);
        run_maybe_complete(run);
        return;
    }
    if (now < run->kill_at_ms) {
        run_maybe_complete(run);
        return;
    }
    if (!run->killed) {
        run->killed = true;
        (void)kill(-run->proc.pid, SIGKILL);
        pipe_log_line(&run->out);
        pipe_log_line(&run->err);
        pipe_give_up(&run->out);
        pipe_give_up(&run->err);
    }
    run_maybe_complete(run);
}

/* The length of s cut to at most max bytes, at a UTF-8 character boundary. */
static size_t
env_value_len(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max)
        return len;
    len = max;
    while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
        len--; /* s[len] continues a character that starts before the cut: drop it whole */
    return len;
}

/* Appends NAME=value (value cut to HOOK_ENV_VALUE_MAX bytes) to env at *n; -ENOMEM. */
static int
env_add(char **env, size_t *n, const char *name, const char *value)
{
    size_t len = env_value_len(value ? value : "", HOOK_ENV_VALUE_MAX);
    if (asprintf(&env[*n], "%s=%.*s", name, (int)len, value ? value : "") < 0)
        return -ENOMEM;
    (*n)++;
    return 0;
}

static void
env_free(char **env)
{
    if (!env)
        return;
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

/*
 * Builds the child's environment from nothing: the FEEDWATCH_* variables, PATH (the
 * daemon's, or a default), LANG and TZ when the daemon has them, and the variables the hook
 * names in `env`. Nothing else of the daemon's environment (proxy credentials, the service
 * manager's variables) reaches a hook. Values are cut at HOOK_ENV_VALUE_MAX bytes, on a
 * character boundary: the whole alert is on stdin, and exec fails with E2BIG on one string
 * of 128 KiB.
 */
static char **
run_env(struct hook_run *run, const struct conf_hook *cfg, json_t *doc)
{
    json_t *item = json_object_get(doc, "item");
    json_t *fs = json_object_get(doc, "feed_state");
    bool fev = run->ev &&
               !item; /* a feed event; item events (item-updated, story-source) are an alert's */
    char id[32];
    snprintf(id, sizeof(id), "%" PRId64,
             fev || !run->ev ? run->alert_id
                             : (int64_t)json_integer_value(json_object_get(doc, "alert_id")));
    /* An alert's variables, or a feed event's (its name, feed, id, URL, state and reason). */
    const char *vars[][2] = {
        {"FEEDWATCH_EVENT", run->event},
        {fev ? "FEEDWATCH_EVENT_ID" : "FEEDWATCH_TOPIC",
         fev ? id : json_string_value(json_object_get(doc, "topic"))},
        {"FEEDWATCH_FEED", json_string_value(json_object_get(fev ? doc : item, "feed"))},
        {fev ? "FEEDWATCH_FEED_STATE" : "FEEDWATCH_TITLE",
         json_string_value(json_object_get(fev ? fs : item, fev ? "state" : "title"))},
        {"FEEDWATCH_URL", json_string_value(json_object_get(fev ? fs : item, "url"))},
        {fev ? "FEEDWATCH_REASON" : "FEEDWATCH_PUBLISHED",
         json_string_value(json_object_get(fev ? fs : item, fev ? "reason" : "published"))},
        {fev ? "FEEDWATCH_RAISED" : "FEEDWATCH_ALERT_ID",
         fev ? json_string_value(json_object_get(doc, "raised")) : id},
    };
    /* A batch's: the whole of each event is in the array on stdin. */
    char count[32];
    snprintf(count, sizeof(count), "%zu", run->n_batch);
    const char *batch_vars[][2] = {{"FEEDWATCH_EVENT", "batch"}, {"FEEDWATCH_COUNT", count}};
    static const char *const kept[] = {"PATH", "LANG", "TZ"};
    size_t n_vars = run->batch ? 2 : sizeof(vars) / sizeof(vars[0]);
    size_t n_kept = sizeof(kept) / sizeof(kept[0]);
    char **env = calloc(n_vars + n_kept + cfg->n_env + 1, sizeof(*env));
    size_t o = 0;
    int r = env ? 0 : -ENOMEM;

    for (size_t i = 0; i < n_vars && r == 0; i++)
        r = run->batch ? env_add(env, &o, batch_vars[i][0], batch_vars[i][1])
                       : env_add(env, &o, vars[i][0], vars[i][1]);
    for (size_t i = 0; i < n_kept && r == 0; i++) {
        const char *v = getenv(kept[i]);
        if (!v && strcmp(kept[i], "PATH") == 0)
            v = "/usr/local/bin:/usr/bin:/bin";
        if (v)
            r = env_add(env, &o, kept[i], v);
    }
    for (size_t i = 0; i < cfg->n_env && r == 0; i++) {
        const char *name = cfg->env[i];
        bool dup = strncmp(name, "FEEDWATCH_", 10) == 0;
        for (size_t k = 0; k < n_kept && !dup; k++)
            dup = strcmp(name, kept[k]) == 0;
        for (size_t k = 0; k < i && !dup; k++)
            dup = strcmp(name, cfg->env[k]) == 0;
        const char *v = dup ? NULL : getenv(name);
        if (v)
            r = env_add(env, &o, name, v);
    }
    if (r < 0) {
        env_free(env);
        return NULL;
    }
    return env;
}

/*
 * Marks every descriptor of the daemon above stderr close-on-exec, so that only the three
 * pipes reach a hook: libcurl's sockets, for one, are opened without it. One syscall on
 * Linux 5.11 and later; older kernels get the same from a walk of /proc/self/fd.
 */
static void
fds_cloexec(void)
{
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) {
        log_warn("hook: cannot list /proc/self/fd: %s; descriptors may leak to hooks",
                 strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(dir))) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || fd < 3 || fd == dirfd(dir))
            continue;
        int fl = fcntl((int)fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC))
            (void)fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC);
    }
    closedir(dir);
}

/* Starts the hook's program with the alert on stdin. */
static int
run_spawn(struct hook_run *run, const struct conf_hook *cfg, json_t *doc)
{
    uv_loop_t *loop = &run->h->d->loop;
    char **env = run_env(run, cfg, doc);
    if (!env)
        return -ENOMEM;
    struct hook_pipe *pipes[] = {&run->in_pipe, &run->out, &run->err};
    for (size_t i = 0; i < 3; i++) {
        (void)uv_pipe_init(loop, &pipes[i]->pipe, 0);
        pipes[i]->pipe.data = pipes[i];
        pipes[i]->run = run;
    }
    run->out.which = HOOK_OUT;
    run->err.which = HOOK_ERR;
    (void)uv_timer_init(loop, &run->timer);
    run->timer.data = run;
    run->proc.data = run;
    run->open_handles = 5; /* timer, process, three pipes: the last close finishes the run */

    uv_stdio_container_t stdio[3] = {
        {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE,
         .data.stream = (uv_stream_t *)&run->in_pipe.pipe},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&run->out.pipe},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&run->err.pipe},
    };
    uv_process_options_t opts = {
        .exit_cb = on_proc_exit,
        .file = cfg->exec_argv[0],
        .args = cfg->exec_argv,
        .env = env,
        /* Its own session, so a timeout can end the hook's children too. */
        .flags = UV_PROCESS_DETACHED,
        .stdio_count = 3,
        .stdio = stdio,
    };
    fds_cloexec();
    int r = uv_spawn(loop, &run->proc, &opts);
    env_free(env);
    if (r < 0) {
        /* The process handle must be closed even though nothing was spawned. */
        run_fail(run, "cannot run '%s': %s", cfg->exec_argv[0], uv_strerror(r));
        run->exited = run->out.eof = run->err.eof = run->completed = true;
        run_close_handles(run);
        return 0;
    }
    run->spawned = true;
    run->deadline_ms = uv_now(loop) + (run->timeout_ms ? run->timeout_ms : 1);
    (void)uv_read_start((uv_stream_t *)&run->out.pipe, on_pipe_alloc, on_pipe_read);
    (void)uv_read_start((uv_stream_t *)&run->err.pipe, on_pipe_alloc, on_pipe_read);
    run->wreq.data = run;
    uv_buf_t b = uv_buf_init(run->payload, (unsigned)run->payload_len);
    if (uv_write(&run->wreq, (uv_stream_t *)&run->in_pipe.pipe, &b, 1, on_stdin_written) < 0)
        uv_close((uv_handle_t *)&run->in_pipe.pipe, on_pipe_closed);
    run_maybe_complete(run); /* arms the timer for the deadline */
    return 0;
}

/* fetch: the webhook's answer; 2xx is delivered. */
static void
on_webhook_done(void *userdata, const struct fetch_result *res)
{
    struct hook_run *run = userdata;
    run->xfer = NULL;
    if (res->status == FETCH_OK) {
        run->ok = true;
    } else if (res->status == FETCH_ABORTED) {
        run_fail(run, "aborted");
    } else {
        run_fail(run, "%s", res->error ? res->error : "failed");
    }
    run_finish(run);
}

/*
 * The X-Feedwatch-Signature header of a payload: "sha256=" and the hex HMAC-SHA256 of the
 * body's exact bytes keyed with the secret (as GitHub's X-Hub-Signature-256), so the
 * receiver can tell the POST came from this daemon and was not altered.
 */
static int
webhook_signature(const char *key, const char *body, size_t len, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    int n;

    if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)body, len, md, &md_len))
        return -EIO;
    n = snprintf(out, size, "X-Feedwatch-Signature: sha256=");
    if (n < 0 || (size_t)n + 2 * md_len + 1 > size)
        return -ENAMETOOLONG;
    for (unsigned i = 0; i < md_len; i++) {
        out[n++] = hex[md[i] >> 4];
        out[n++] = hex[md[i] & 15];
    }
    out[n] = '\0';
    return 0;
}

/* POSTs the alert to the hook's URL through the daemon's fetcher, signed with secret_file. */
static int
run_post(struct hook_run *run, const struct conf_hook *cfg)
{
    char sig[64 + 2 * EVP_MAX_MD_SIZE], event[64];
    snprintf(event, sizeof(event), "X-Feedwatch-Event: %s", run->event);
    const char *headers[] = {"Content-Type: application/json", event, NULL, NULL};
    struct fetch_req req = {
        .url = cfg->url,
        .max_size = 1024 * 1024,
        .post_body = run->payload,
        .post_len = run->payload_len,
        .post_headers = headers,
    };

    if (cfg->secret_file) {
        /* Read at each delivery: a rotated key is used from the next one on. */
        char *key = util_read_secret(cfg->secret_file, HOOK_MAX_SECRET);
        int r;

        if (!key) {
            r = -errno;
            run_fail(run, "cannot read secret_file %s: %s", cfg->secret_file, strerror(-r));
            return r;
        }
        r = key[0] ? webhook_signature(key, run->payload, run->payload_len, sig, sizeof(sig))
                   : -ENODATA;
        explicit_bzero(key, strlen(key));
        free(key);
        if (r < 0) {
            run_fail(run, "cannot sign with secret_file %s: %s", cfg->secret_file,
                     r == -ENODATA ? "the file is empty" : strerror(-r));
            return r;
        }
        headers[2] = sig;
    }
    run->xfer = fetch_start(run->h->d->fetcher, &req, NULL, on_webhook_done, run);
    return run->xfer ? 0 : -ENOMEM;
}

/*
 * Starts one attempt of a due delivery; claimed: its "running" state is stored already (a
 * cluster's claim), so it starts now, else once that state is stored.
 */
static int
run_start(struct hooks *h, bool ev, int64_t alert_id, const char *hook, unsigned attempts,
          bool claimed)
{
    struct dctx *d = h->d;
    char q[LOG_QUOTE_MAX];
    const struct conf_hook *cfg = conf_hook_find(d->conf, hook);
    if (!cfg) {
        log_warn("hook: '%s': %s %" PRId64 ": no such hook in the config any more, failed",
                 log_quote(hook, q, sizeof(q)), what_of(ev), alert_id);
        return delivery_write(h, ev, alert_id, hook, "failed", attempts, FEED_TIME_NONE,
                              "the hook is no longer configured", NULL, NULL);
    }
    struct hook_run *run = calloc(1, sizeof(*run));
    if (!run || !(run->hook = strdup(hook))) {
        free(run);
        return -ENOMEM;
    }
    run->h = h;
    run->ev = ev;
    run->alert_id = alert_id;
    run->attempts = attempts + 1;
    run->retries = cfg->retries;
    run->timeout_ms = cfg->timeout_s * 1000;
    run->is_url = cfg->url != NULL;

    bool store_failed = false;
    json_t *doc = ev ? event_json(d, alert_id, &run->raised_at, &store_failed)
                     : alert_json(d, alert_id, 0, &run->raised_at, &store_failed);
    if (store_failed) {
        /* A read that failed (a lock, a lost server): pending again, this attempt not counted. */
        log_error("hook: '%s': %s %" PRId64 ": cannot read the %s, tried again later: %s",
                  log_quote(hook, q, sizeof(q)), what_of(ev), alert_id, ev ? "event" : "alert",
                  store_errmsg(d->store));
        run_free(run);
        return delivery_write(h, ev, alert_id, hook, "pending", attempts,
                              db_now(h) + backoff_s(attempts + 1),
                              ev ? "cannot read the event" : "cannot read the alert", NULL, NULL);
    }
    if (doc)
        run->payload = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    const char *event = doc ? json_string_value(json_object_get(doc, "event")) : NULL;
    snprintf(run->event, sizeof(run->event), "%s", event ? event : ev ? "feed" : "alert");
    if (!doc || !run->payload || strlen(run->payload) > HOOK_MAX_PAYLOAD) {
        log_error("hook: '%s': %s %" PRId64 ": cannot build its JSON: %s",
                  log_quote(hook, q, sizeof(q)), doc ? run_kind(run) : what_of(ev), alert_id,
                  doc ? "out of memory or too large" : store_errmsg(d->store));
        json_decref(doc);
        run_free(run);
        return delivery_write(
            h, ev, alert_id, hook, "failed", attempts + 1, FEED_TIME_NONE,
            ev ? "cannot build the event's JSON" : "cannot build the alert's JSON", NULL, NULL);
    }
    run->payload_len = strlen(run->payload);
    /* Counted from now on (max_hooks); it starts when its "running" state is stored. */
    h->running++;
    if (claimed) {
        run_begin(h, run, doc);
        json_decref(doc);
        return 0;
    }
    int r = delivery_write(h, ev, alert_id, hook, "running", run->attempts, FEED_TIME_NONE, NULL,
                           run, doc);
    json_decref(doc);
    if (r < 0) {
        h->running--;
        run_free(run);
    }
    return r;
}

/* The "running" state of run is stored: the program runs or the POST goes now. */
static void
run_begin(struct hooks *h, struct hook_run *run, json_t *doc)
{
    char q[LOG_QUOTE_MAX], what[64];
    run->next = h->runs;
    h->runs = run;
    log_info("hook: '%s': %s: attempt %u", log_quote(run->hook, q, sizeof(q)),
             run_what(run, what, sizeof(what)), run->attempts);
    /* The config of now: a reload may have come since the run was planned. */
    const struct conf_hook *cfg = conf_hook_find(h->d->conf, run->hook);
    int r = !cfg ? -ENOENT : run->is_url ? run_post(run, cfg) : run_spawn(run, cfg, doc);
    if (r < 0) {
        if (!cfg)
            run_fail(run, "the hook is no longer configured");
        else
            run_fail(run, "cannot start: %s", strerror(-r));
        run_finish(run);
    }
}

struct due_list {
    size_t n;
    bool ev; /* what the reads add now are feed events' deliveries */
    struct {
        bool ev;
        int64_t alert_id;
        char *hook;
        unsigned attempts;
    } e[256];
};

static int
on_due(void *userdata, int64_t alert_id, const char *hook, unsigned attempts)
{
    struct due_list *l = userdata;
    if (l->n >= sizeof(l->e) / sizeof(l->e[0]))
        return 0;
    l->e[l->n].hook = strdup(hook);
    if (!l->e[l->n].hook)
        return -ENOMEM;
    l->e[l->n].ev = l->ev;
    l->e[l->n].alert_id = alert_id;
    l->e[l->n].attempts = attempts;
    l->n++;
    return 0;
}

/* When the earliest pending delivery, of an alert or a feed event, is due: as
 * store_delivery_next_due. */
static int
next_due(struct store *store, int64_t *ret_at)
{
    int64_t a = 0, e = 0;
    int ra = store_delivery_next_due(store, &a);
    int re = store_event_delivery_next_due(store, &e);
    if (ra < 0 || re < 0)
        return ra < 0 ? ra : re;
    if (ra == 0 && re == 0)
        return 0;
    *ret_at = ra == 0 ? e : re == 0 ? a : a < e ? a : e;
    return 1;
}

static void
on_hook_timer(uv_timer_t *t)
{
    hook_kick(t->data);
}

/*
 * A cluster's claim of due deliveries (store_deliveries_claim) on its way through the writer:
 * the deliveries it leased to this node start from its done callback.
 */
struct hook_claim {
    struct writer_job job;
    struct hooks *h;
    char *node;
    int64_t now;
    int64_t lease_s;
    unsigned limit; /* at most the room of list */
    char **hooks;   /* the hooks of this node's config: only theirs are claimed */
    size_t n_hooks;
    struct due_list list;
};

static void
claim_free(struct hook_claim *c)
{
    for (size_t i = 0; i < c->list.n; i++)
        free(c->list.e[i].hook);
    free(c->node);
    for (size_t i = 0; i < c->n_hooks; i++)
        free(c->hooks[i]);
    free(c->hooks);
    free(c);
}

/* Writer thread: leases due deliveries (and those of dead nodes) to this node. */
static int
claim_work(struct writer_job *job, struct store *store)
{
    struct hook_claim *c = (struct hook_claim *)((char *)job - offsetof(struct hook_claim, job));
    c->list.ev = false;
    int r = store_deliveries_claim(store, c->node, c->now, c->lease_s, c->limit, c->hooks,
                                   c->n_hooks, on_due, &c->list);
    if (r < 0 || (unsigned)r >= c->limit)
        return r;
    c->list.ev = true;
    int e = store_event_deliveries_claim(store, c->node, c->now, c->lease_s, c->limit - (unsigned)r,
                                         c->hooks, c->n_hooks, on_due, &c->list);
    return e < 0 ? e : r + e;
}

/*
 * Arms the timer of a cluster: the next pending delivery, and at least once a lease, for the
 * running deliveries of a node that died (their lease ends) and those a leaving node let go.
 */
static void
cluster_timer(struct hooks *h)
{
    struct dctx *d = h->d;
    uint64_t wait = d->conf->daemon.lease_s * 1000;
    int64_t at = 0, now = db_now(h);
    if (h->running >= d->conf->daemon.max_hooks) {
        (void)uv_timer_stop(&h->timer); /* a run's end kicks */
        return;
    }
    if (next_due(d->store, &at) == 1) {
        uint64_t due = at > now ? (uint64_t)(at - now) * 1000 : 1000;
        if (due < wait)
            wait = due;
    }
    (void)uv_timer_start(&h->timer, on_hook_timer, wait, 0);
}

/* Loop: the claimed deliveries start (their "running" state is stored under this node's lease). */
static void
claim_done(struct writer_job *job, int result)
{
    struct hook_claim *c = (struct hook_claim *)((char *)job - offsetof(struct hook_claim, job));
    struct hooks *h = c->h;
    bool full = result >= 0 && (unsigned)result >= c->limit;
    h->claim = NULL;
    if (result < 0)
        log_error("store: cannot claim due deliveries: %s", job->error);
    /*
     * When stopping, what was claimed stays running under this node's lease: the node's leave
     * (store_node_leave) makes it pending again, or another node takes it once the lease ends.
     */
    for (size_t i = 0; result >= 0 && !h->closing && !h->d->stopping && i < c->list.n; i++) {
        bool ev = c->list.e[i].ev;
        int64_t alert_id = c->list.e[i].alert_id;
        const char *hook = c->list.e[i].hook;
        unsigned attempts = c->list.e[i].attempts;
        /* Its lease ended while it ran here, and this node took it again: it goes on. */
        if (delivery_busy(h, ev, alert_id, hook))
            continue;
        int r = run_start(h, ev, alert_id, hook, attempts, true);
        if (r < 0) {
            log_error("hook: %s %" PRId64 ": cannot start a delivery: %s", what_of(ev), alert_id,
                      strerror(-r));
            /* Not run: pending again, this attempt not counted, a while later. */
            (void)delivery_write(h, ev, alert_id, hook, "pending", attempts,
                                 db_now(h) + backoff_s(attempts + 1), "cannot start", NULL, NULL);
        }
    }
    claim_free(c);
    if (h->closing) {
        hooks_maybe_free(h);
        return;
    }
    if (h->d->stopping)
        return;
    if (h->claim_again || full) {
        h->claim_again = false;
        hook_kick(h);
    } else {
        cluster_timer(h);
    }
    /* A claim that found nothing may be what --once waited for (hook_idle). */
    if (h->progress)
        h->progress(h->progress_ctx);
}

/*
 * Batches (`[hook] batch`): a hook with a window gets its due deliveries, alerts' and feed
 * events' alike, in one run at most once per window, the JSON on stdin an array of what each
 * would get alone. A take (store_batch_take, through the writer) makes them running (leased on
 * a cluster) or defers them to the window's end; the run's outcome is every delivery's, each
 * counting its own attempts; their states go to the store together (hook_bwrite).
 */

/* A batch's delivery states on their way to the store, in one transaction. */
struct hook_bstate {
    bool ev;
    int64_t id;
    const char *state; /* pending, delivered, failed */
    unsigned attempts;
    int64_t next_attempt_at;
    char *error;
};

struct hook_bwrite {
    struct writer_job job;
    struct hooks *h;
    struct hook_bwrite *next; /* in h->bwrites */
    char *hook;
    struct hook_bstate *s;
    size_t n, cap;
    int64_t ended_at; /* when the run ended; FEED_TIME_NONE: none ran */
    bool window;      /* the batch was cut short: its window goes back to window_at */
    int64_t window_at;
    unsigned stale; /* writer thread: states refused, another node holding the delivery */
};

static void
bwrite_free(struct hook_bwrite *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->s[i].error);
    free(b->s);
    free(b->hook);
    free(b);
}

static struct hook_bwrite *
bwrite_new(struct hooks *h, const char *hook)
{
    struct hook_bwrite *b = calloc(1, sizeof(*b));
    if (b && !(b->hook = strdup(hook))) {
        free(b);
        return NULL;
    }
    if (b) {
        b->h = h;
        b->ended_at = FEED_TIME_NONE;
    }
    return b;
}

/* Adds a delivery's state to b; -ENOMEM. */
static int
bwrite_add(struct hook_bwrite *b, bool ev, int64_t id, const char *state, unsigned attempts,
           int64_t next_attempt_at, const char *error)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct hook_bstate *grown = realloc(b->s, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        b->s = grown;
        b->cap = cap;
    }
    struct hook_bstate *s = &b->s[b->n];
    *s = (struct hook_bstate){.ev = ev,
                              .id = id,
                              .state = state,
                              .attempts = attempts,
                              .next_attempt_at = next_attempt_at};
    if (error && !(s->error = strdup(error)))
        return -ENOMEM;
    b->n++;
    return 0;
}

/* Writer thread: every state of the batch (one another node holds is left to it). */
static int
bwrite_work(struct writer_job *job, struct store *store)
{
    struct hook_bwrite *b = (struct hook_bwrite *)((char *)job - offsetof(struct hook_bwrite, job));
    int r = 0;
    b->stale = 0;
    for (size_t i = 0; i < b->n && r >= 0; i++) {
        const struct hook_bstate *s = &b->s[i];
        r = s->ev ? store_event_delivery_set(store, s->id, b->hook, s->state, s->attempts,
                                             s->next_attempt_at, s->error, b->ended_at)
                  : store_delivery_set(store, s->id, b->hook, s->state, s->attempts,
                                       s->next_attempt_at, s->error, b->ended_at);
        if (r == -ESTALE) {
            b->stale++;
            r = 0;
        }
    }
    if (r >= 0 && b->window)
        r = store_batch_window(store, b->hook, true, b->window_at, NULL);
    return r < 0 ? r : 0;
}

static void
bwrite_done(struct writer_job *job, int result)
{
    struct hook_bwrite *b = (struct hook_bwrite *)((char *)job - offsetof(struct hook_bwrite, job));
    struct hooks *h = b->h;
    char qh[LOG_QUOTE_MAX];
    for (struct hook_bwrite **p = &h->bwrites; *p; p = &(*p)->next) {
        if (*p == b) {
            *p = b->next;
            break;
        }
    }
    if (result < 0)
        log_error("store: hook '%s': cannot save the deliveries of a batch: %s",
                  log_quote(b->hook, qh, sizeof(qh)), job->error);
    else if (b->stale > 0)
        log_warn("hook '%s': %u deliveries of a batch are another node's now (this node's lease"
                 " on them ended): their outcome here is not stored",
                 log_quote(b->hook, qh, sizeof(qh)), b->stale);
    bwrite_free(b);
    if (h->closing) {
        hooks_maybe_free(h);
        return;
    }
    hook_kick(h);
    if (h->progress)
        h->progress(h->progress_ctx);
}

/* Queues b in the writer (b is freed on failure, logged); nothing to write: freed. */
static void
bwrite_submit(struct hooks *h, struct hook_bwrite *b)
{
    char qh[LOG_QUOTE_MAX];
    if (b->n == 0 && !b->window) {
        bwrite_free(b);
        return;
    }
    b->job = (struct writer_job){.work = bwrite_work, .done = bwrite_done, .mode = WRITER_TXN};
    int r = writer_submit(h->d->writer, &b->job);
    if (r < 0) {
        log_error("store: hook '%s': cannot save the deliveries of a batch: %s",
                  log_quote(b->hook, qh, sizeof(qh)),
                  r == -EAGAIN ? "the store's writer queue is full" : strerror(-r));
        bwrite_free(b);
        return;
    }
    b->next = h->bwrites;
    h->bwrites = b;
}

/* Whether hook's batch is taken, running or being saved. */
static bool batch_hook_busy(const struct hooks *h, const char *hook);

/* Whether the delivery is in a batch run, or in a batch's states on their way to the store. */
static bool
batch_busy(const struct hooks *h, bool ev, int64_t id, const char *hook)
{
    for (const struct hook_run *run = h->runs; run; run = run->next)
        for (size_t i = 0; run->batch && i < run->n_batch; i++)
            if (run->batch[i].ev == ev && run->batch[i].id == id && strcmp(run->hook, hook) == 0)
                return true;
    for (const struct hook_bwrite *b = h->bwrites; b; b = b->next)
        for (size_t i = 0; i < b->n; i++)
            if (b->s[i].ev == ev && b->s[i].id == id && strcmp(b->hook, hook) == 0)
                return true;
    return false;
}

/* Records a batch run's outcome for each of its deliveries, in one write, and logs it once. */
static void
batch_record(struct hook_run *run)
{
    struct hooks *h = run->h;
    struct dctx *d = h->d;
    char qh[LOG_QUOTE_MAX], qe[LOG_QUOTE_MAX];
    const char *name = log_quote(run->hook, qh, sizeof(qh));
    int64_t now = db_now(h);
    unsigned failed = 0, retried = 0;
    int64_t first_retry = 0;
    struct hook_bwrite *b = bwrite_new(h, run->hook);
    int r = b ? 0 : -ENOMEM;

    metrics_batch(d->metrics, run->hook, run->ok);
    if (b)
        b->ended_at = now;
    for (size_t i = 0; i < run->n_batch && r == 0; i++) {
        const struct hook_batch_entry *e = &run->batch[i];
        unsigned attempts = e->attempts + 1;
        metrics_delivery(d->metrics, run->hook, run->ok,
                         e->raised_at != FEED_TIME_NONE ? (double)(now - e->raised_at) : -1);
        if (run->ok) {
            r = bwrite_add(b, e->ev, e->id, "delivered", attempts, FEED_TIME_NONE, NULL);
        } else if (attempts > run->retries) {
            failed++;
            r = bwrite_add(b, e->ev, e->id, "failed", attempts, FEED_TIME_NONE, run->error);
        } else {
            int64_t at = now + backoff_s(attempts);
            if (retried++ == 0 || at < first_retry)
                first_retry = at;
            r = bwrite_add(b, e->ev, e->id, "pending", attempts, at, run->error);
        }
    }
    if (r < 0) {
        log_error("store: hook '%s': cannot save the deliveries of a batch: out of memory", name);
        if (b)
            bwrite_free(b);
        return;
    }
    bwrite_submit(h, b);
    if (run->ok)
        log_notice("hook: '%s': batch of %zu delivered", name, run->n_batch);
    else
        log_warn("hook: '%s': batch of %zu: %s: %u failed for good, %u retrying in %" PRId64 "s",
                 name, run->n_batch, log_quote(run->error, qe, sizeof(qe)), failed, retried,
                 retried ? first_retry - now : 0);
}

/* A take of batches through the writer: one entry per batch hook. */
struct hook_take_one {
    char *hook;
    int64_t window_s;
    int64_t prev_at; /* writer thread: the hook's window before the take */
    int64_t open_at; /* writer thread: the window is closed until then; 0: it was open */
    struct hook_batch_entry *e;
    size_t n;
};

struct hook_take {
    struct writer_job job;
    struct hooks *h;
    char *node; /* a cluster's: the deliveries are leased to it; NULL */
    int64_t lease_s;
    int64_t now;
    struct hook_take_one *t;
    size_t n;
};

static void
take_free(struct hook_take *k)
{
    for (size_t i = 0; i < k->n; i++) {
        free(k->t[i].hook);
        free(k->t[i].e);
    }
    free(k->t);
    free(k->node);
    free(k);
}

static int
on_take_entry(void *userdata, bool ev, int64_t id, unsigned attempts)
{
    struct hook_take_one *t = userdata;
    if (t->n >= HOOK_BATCH_MAX)
        return -ERANGE;
    t->e[t->n++] = (struct hook_batch_entry){
        .ev = ev, .id = id, .attempts = attempts, .raised_at = FEED_TIME_NONE};
    return 0;
}

/* Writer thread: each hook's batch is taken, or deferred to its window's end. */
static int
take_work(struct writer_job *job, struct store *store)
{
    struct hook_take *k = (struct hook_take *)((char *)job - offsetof(struct hook_take, job));
    for (size_t i = 0; i < k->n; i++) {
        struct hook_take_one *t = &k->t[i];
        t->n = 0;
        int r = store_batch_window(store, t->hook, false, 0, &t->prev_at);
        if (r >= 0)
            r = store_batch_take(store, t->hook, t->window_s, k->now, HOOK_BATCH_MAX, k->node,
                                 k->lease_s, on_take_entry, t, &t->open_at);
        if (r < 0)
            return r;
    }
    return 0;
}

/*
 * Loop: starts the batch run of t, whose deliveries are running in the store (the take's):
 * the array of their JSON, at most HOOK_MAX_PAYLOAD bytes; from the first that does not fit
 * on, they go back to pending (their attempt not counted; their JSON is not built: it would
 * be thrown away), and so does the window, for a next run at once, in the same order.
 */
static void
batch_start(struct hooks *h, struct hook_take_one *t)
{
    struct dctx *d = h->d;
    char q[LOG_QUOTE_MAX];
    const char *name = log_quote(t->hook, q, sizeof(q));
    const struct conf_hook *cfg = conf_hook_find(d->conf, t->hook);
    struct hook_bwrite *b = bwrite_new(h, t->hook);
    struct hook_run *run = calloc(1, sizeof(*run));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool full = false; /* an entry did not fit: the rest are for the next run */
    int r = b && run && (run->hook = strdup(t->hook)) &&
                    (run->batch = calloc(t->n, sizeof(*run->batch)))
                ? 0
                : -ENOMEM;

    for (size_t i = 0; i < t->n && r == 0; i++) {
        const struct hook_batch_entry *e = &t->e[i];
        if (!cfg) {
            r = bwrite_add(b, e->ev, e->id, "failed", e->attempts, FEED_TIME_NONE,
                           "the hook is no longer configured");
            continue;
        }
        if (full) {
            r = bwrite_add(b, e->ev, e->id, "pending", e->attempts, FEED_TIME_NONE, NULL);
            continue;
        }
        bool store_failed = false;
        int64_t raised_at = FEED_TIME_NONE;
        json_t *doc = e->ev ? event_json(d, e->id, &raised_at, &store_failed)
                            : alert_json(d, e->id, 0, &raised_at, &store_failed);
        if (store_failed) {
            /* As a single delivery's: pending again, this attempt not counted. */
            log_error("hook: '%s': %s %" PRId64 ": cannot read the %s, tried again later: %s", name,
                      what_of(e->ev), e->id, e->ev ? "event" : "alert", store_errmsg(d->store));
            r = bwrite_add(b, e->ev, e->id, "pending", e->attempts,
                           db_now(h) + backoff_s(e->attempts + 1),
                           e->ev ? "cannot read the event" : "cannot read the alert");
            continue;
        }
        char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        size_t n = text ? strlen(text) : 0;
        bool had_doc = doc != NULL;
        json_decref(doc);
        if (!text || n > HOOK_MAX_PAYLOAD) {
            log_error("hook: '%s': %s %" PRId64 ": cannot build its JSON: %s", name, what_of(e->ev),
                      e->id, had_doc ? "out of memory or too large" : store_errmsg(d->store));
            free(text);
            r = bwrite_add(b, e->ev, e->id, "failed", e->attempts + 1, FEED_TIME_NONE,
                           e->ev ? "cannot build the event's JSON"
                                 : "cannot build the alert's JSON");
            continue;
        }
        if (run->n_batch > 0 && len + n + 2 > HOOK_MAX_PAYLOAD) {
            /*
             * Past the cap: this one and the rest for the next run, which the window given
             * back lets start at once (a smaller one after it waits too: due order holds).
             */
            free(text);
            full = true;
            b->window = true;
            b->window_at = t->prev_at;
            r = bwrite_add(b, e->ev, e->id, "pending", e->attempts, FEED_TIME_NONE, NULL);
            continue;
        }
        if (len + n + 3 > cap) {
            size_t grown_cap = cap ? cap : 4096;
            while (grown_cap < len + n + 3)
                grown_cap *= 2;
            char *grown = realloc(buf, grown_cap);
            if (!grown) {
                free(text);
                r = -ENOMEM;
                break;
            }
            buf = grown;
            cap = grown_cap;
        }
        buf[len++] = run->n_batch ? ',' : '[';
        memcpy(buf + len, text, n);
        len += n;
        free(text);
        run->batch[run->n_batch] = *e;
        run->batch[run->n_batch].raised_at = raised_at;
        run->n_batch++;
        if (run->attempts < e->attempts + 1)
            run->attempts = e->attempts + 1;
    }
    if (r < 0) {
        /* Their "running" states stay: a restart, or a cluster's lease end, runs them again. */
        log_error("hook: '%s': cannot start a batch: out of memory", name);
        free(buf);
        if (b)
            bwrite_free(b);
        if (run)
            run_free(run);
        return;
    }
    bwrite_submit(h, b);
    if (run->n_batch == 0) {
        free(buf);
        run_free(run);
        return;
    }
    buf[len++] = ']';
    buf[len] = '\0';
    run->payload = buf;
    run->payload_len = len;
    run->h = h;
    run->retries = cfg->retries;
    run->timeout_ms = cfg->timeout_s * 1000;
    run->is_url = cfg->url != NULL;
    snprintf(run->event, sizeof(run->event), "batch");
    h->running++;
    run_begin(h, run, NULL);
}

/* Loop: the taken batches run; the deferred ones wait for the timer (their due time moved). */
static void
take_done(struct writer_job *job, int result)
{
    struct hook_take *k = (struct hook_take *)((char *)job - offsetof(struct hook_take, job));
    struct hooks *h = k->h;
    h->take = NULL;
    if (result < 0)
        log_error("store: cannot take the batches of hooks: %s", job->error);
    /* When stopping, what was taken stays running: a restart or the node's leave resets it. */
    for (size_t i = 0; result >= 0 && !h->closing && !h->d->stopping && i < k->n; i++)
        if (k->t[i].n > 0)
            batch_start(h, &k->t[i]);
    take_free(k);
    if (h->closing) {
        hooks_maybe_free(h);
        return;
    }
    if (h->d->stopping)
        return;
    if (h->take_again) {
        h->take_again = false;
        hook_kick(h);
    }
    if (h->progress)
        h->progress(h->progress_ctx);
}

static bool
batch_hook_busy(const struct hooks *h, const char *hook)
{
    for (const struct hook_run *run = h->runs; run; run = run->next)
        if (run->batch && strcmp(run->hook, hook) == 0)
            return true;
    for (const struct hook_bwrite *b = h->bwrites; b; b = b->next)
        if (b->n > 0 && strcmp(b->hook, hook) == 0)
            return true;
    return false;
}

/*
 * Takes the batches of the configured hooks with a window whose batch is not running or being
 * saved already, as many as there is room for (max_hooks), through the writer.
 */
static void
batch_kick(struct hooks *h)
{
    struct dctx *d = h->d;
    unsigned max = d->conf->daemon.max_hooks;
    if (h->take) {
        h->take_again = true;
        return;
    }
    size_t want = 0;
    for (size_t i = 0; i < d->conf->n_hooks; i++)
        want += d->conf->hooks[i].batch_s > 0;
    if (want == 0 || h->running >= max)
        return;
    struct hook_take *k = calloc(1, sizeof(*k));
    int r = k && (k->t = calloc(want, sizeof(*k->t))) &&
                    (!h->clustered || (k->node = strdup(d->conf->daemon.node)))
                ? 0
                : -ENOMEM;
    for (size_t i = 0; r == 0 && i < d->conf->n_hooks && k->n < max - h->running; i++) {
        const struct conf_hook *cfg = &d->conf->hooks[i];
        if (cfg->batch_s == 0 || batch_hook_busy(h, cfg->name))
            continue;
        struct hook_take_one *t = &k->t[k->n];
        if (!(t->hook = strdup(cfg->name)) || !(t->e = calloc(HOOK_BATCH_MAX, sizeof(*t->e)))) {
            free(t->hook);
            r = -ENOMEM;
            break;
        }
        t->window_s = (int64_t)cfg->batch_s;
        k->n++;
    }
    if (r == 0 && k->n == 0) {
        take_free(k);
        return;
    }
    if (r == 0) {
        k->h = h;
        k->now = db_now(h);
        k->lease_s = (int64_t)d->conf->daemon.lease_s;
        k->job = (struct writer_job){.work = take_work, .done = take_done, .mode = WRITER_TXN};
        r = writer_submit(d->writer, &k->job);
    }
    if (r < 0) {
        log_error("store: cannot take the batches of hooks: %s",
                  r == -EAGAIN ? "the store's writer queue is full" : strerror(-r));
        if (k)
            take_free(k);
        return; /* the timer comes back: the due deliveries are due still */
    }
    h->take = k;
    h->take_again = false;
}

/*
 * A reload's shorter windows (`[hook] batch`) on their way to the store: each hook whose
 * window is shorter now (or gone) and its windows' lengths, old and new.
 */
struct hook_rewindow {
    struct writer_job job;
    struct hooks *h;
    int64_t now;
    struct hook_rewindow_one {
        char *hook;
        int64_t old_s, new_s;
    } * w;
    size_t n;
    unsigned moved; /* writer thread: deliveries whose wait the new windows shortened */
};

static void
rewindow_free(struct hook_rewindow *rw)
{
    for (size_t i = 0; i < rw->n; i++)
        free(rw->w[i].hook);
    free(rw->w);
    free(rw);
}

static int
rewindow_cmp(const void *a, const void *b)
{
    return strcmp(((const struct hook_rewindow_one *)a)->hook,
                  ((const struct hook_rewindow_one *)b)->hook);
}

/* Writer thread: each hook's deferred deliveries, to its new window's end. */
static int
rewindow_work(struct writer_job *job, struct store *store)
{
    struct hook_rewindow *rw =
        (struct hook_rewindow *)((char *)job - offsetof(struct hook_rewindow, job));
    rw->moved = 0;
    for (size_t i = 0; i < rw->n; i++) {
        int r = store_batch_rewindow(store, rw->w[i].hook, rw->w[i].old_s, rw->w[i].new_s, rw->now);
        if (r < 0)
            return r;
        rw->moved += (unsigned)r;
    }
    return 0;
}

/* Loop: the moved deliveries are due sooner: the timer with them. */
static void
rewindow_done(struct writer_job *job, int result)
{
    struct hook_rewindow *rw =
        (struct hook_rewindow *)((char *)job - offsetof(struct hook_rewindow, job));
    struct hooks *h = rw->h;
    h->rewindows--;
    if (result < 0)
        log_error("store: cannot move the deliveries of shorter batch windows: %s", job->error);
    else if (rw->moved > 0)
        log_info("hook: %u deliveries waiting for a batch window that is shorter now are due at"
                 " its new end",
                 rw->moved);
    rewindow_free(rw);
    if (h->closing) {
        hooks_maybe_free(h);
        return;
    }
    if (!h->d->stopping)
        hook_kick(h);
}

void
hook_reconfigured(struct hooks *h, const struct conf *old)
{
    if (!h || h->closing || h->d->stopping)
        return;
    const struct conf *nc = h->d->conf;
    const struct conf *from = old ? old : nc;
    struct hook_rewindow *rw = calloc(1, sizeof(*rw));
    int r =
        rw && (from->n_hooks == 0 || (rw->w = calloc(from->n_hooks, sizeof(*rw->w)))) ? 0 : -ENOMEM;
    /*
     * Only a window that ends sooner moves anything: a longer one's deferred deliveries come
     * due at the old end, and the take then defers them to the new one's (no later than it).
     * A hook the config no longer names keeps its deliveries as they are (nothing runs them).
     * At a start (old NULL) the old windows are not known: every hook, as the store says
     * (store_batch_rewindow with old_s -1).
     */
    for (size_t i = 0; r == 0 && i < from->n_hooks; i++) {
        const struct conf_hook *was = &from->hooks[i];
        const struct conf_hook *now = conf_hook_find(nc, was->name);
        if (!now || (old && (was->batch_s == 0 || now->batch_s >= was->batch_s)))
            continue;
        if (!(rw->w[rw->n].hook = strdup(was->name))) {
            r = -ENOMEM;
            break;
        }
        rw->w[rw->n].old_s = old ? (int64_t)was->batch_s : -1;
        rw->w[rw->n].new_s = (int64_t)now->batch_s;
        rw->n++;
    }
    if (r == 0 && rw->n == 0) {
        rewindow_free(rw);
        return;
    }
    /* In name order: two nodes of a cluster lock the hooks' window rows in one order. */
    if (r == 0)
        qsort(rw->w, rw->n, sizeof(*rw->w), rewindow_cmp);
    if (r == 0) {
        rw->h = h;
        rw->now = db_now(h);
        rw->job =
            (struct writer_job){.work = rewindow_work, .done = rewindow_done, .mode = WRITER_TXN};
        r = writer_submit(h->d->writer, &rw->job);
    }
    if (r < 0) {
        log_error("store: cannot move the deliveries of shorter batch windows: %s",
                  r == -EAGAIN ? "the store's writer queue is full" : strerror(-r));
        if (rw)
            rewindow_free(rw);
        return; /* they wait for the old window's end, as before the reload */
    }
    h->rewindows++;
}

/* A cluster's kick: claims due deliveries through the writer (one claim at a time). */
static void
cluster_kick(struct hooks *h)
{
    struct dctx *d = h->d;
    unsigned max = d->conf->daemon.max_hooks;
    batch_kick(h); /* the hooks with a window: their batches */
    if (h->claim) {
        h->claim_again = true;
        return;
    }
    if (h->running >= max) {
        (void)uv_timer_stop(&h->timer);
        return;
    }
    struct hook_claim *c = calloc(1, sizeof(*c));
    int r = -ENOMEM;
    bool copied = c && (c->node = strdup(d->conf->daemon.node)) &&
                  (d->conf->n_hooks == 0 || (c->hooks = calloc(d->conf->n_hooks, sizeof(char *))));
    /* One by one only to the hooks without a window (batch_kick takes the others'). */
    for (size_t i = 0; copied && i < d->conf->n_hooks; i++)
        if (d->conf->hooks[i].batch_s == 0)
            copied = (c->hooks[c->n_hooks++] = strdup(d->conf->hooks[i].name)) != NULL;
    if (copied) {
        c->h = h;
        c->now = db_now(h);
        c->lease_s = (int64_t)d->conf->daemon.lease_s;
        c->limit = max - h->running;
        if (c->limit > sizeof(c->list.e) / sizeof(c->list.e[0]))
            c->limit = sizeof(c->list.e) / sizeof(c->list.e[0]);
        c->job = (struct writer_job){.work = claim_work, .done = claim_done, .mode = WRITER_TXN};
        r = writer_submit(d->writer, &c->job);
    }
    if (r < 0) {
        log_error("store: cannot claim due deliveries: %s",
                  r == -EAGAIN ? "the store's writer queue is full" : strerror(-r));
        if (c)
            claim_free(c);
        (void)uv_timer_start(&h->timer, on_hook_timer, 1000, 0); /* try again soon */
        return;
    }
    h->claim = c;
    h->claim_again = false;
}

/* Looks for due deliveries now (after new alerts were committed, at start, after reload). */
void
hook_kick(struct hooks *h)
{
    if (!h)
        return;
    struct dctx *d = h->d;
    if (h->closing || d->stopping)
        return;
    if (h->clustered) {
        cluster_kick(h);
        return;
    }
    unsigned max = d->conf->daemon.max_hooks;
    int64_t now = db_now(h);
    if (h->running < max) {
        struct due_list *l = calloc(1, sizeof(*l));
        if (!l)
            return;
        unsigned want = max - h->running;
        /* Busy deliveries may still read as due: read enough rows to skip them. */
        unsigned ask = want + h->running + h->n_writes;
        if (ask > 256)
            ask = 256;
        if (store_deliveries_due(d->store, now, ask, on_due, l) < 0)
            log_error("store: cannot read due deliveries: %s", store_errmsg(d->store));
        /* Then feed events', in the room left (alerts first: they are what most hooks are for). */
        l->ev = true;
        if (l->n < ask &&
            store_event_deliveries_due(d->store, now, ask - (unsigned)l->n, on_due, l) < 0)
            log_error("store: cannot read due deliveries: %s", store_errmsg(d->store));
        bool batch_due = false;
        for (size_t i = 0; i < l->n; i++) {
            bool ev = l->e[i].ev;
            const struct conf_hook *cfg = conf_hook_find(d->conf, l->e[i].hook);
            if (cfg && cfg->batch_s > 0) {
                batch_due = true; /* its batch takes it (batch_kick) */
            } else if (want > 0 && !delivery_busy(h, ev, l->e[i].alert_id, l->e[i].hook)) {
                want--;
                int r = run_start(h, ev, l->e[i].alert_id, l->e[i].hook, l->e[i].attempts, false);
                if (r < 0)
                    log_error("hook: %s %" PRId64 ": cannot start a delivery: %s", what_of(ev),
                              l->e[i].alert_id, strerror(-r));
            }
            free(l->e[i].hook);
        }
        free(l);
        if (batch_due)
            batch_kick(h);
    }
    /* Wake up for the next pending delivery that is not due yet. */
    int64_t at = 0;
    if (h->running < max && next_due(d->store, &at) == 1) {
        uint64_t wait = at > now ? (uint64_t)(at - now) * 1000 : 1000;
        (void)uv_timer_start(&h->timer, on_hook_timer, wait, 0);
    } else {
        (void)uv_timer_stop(&h->timer);
    }
}

static void
requeue_free(struct hook_requeue *q)
{
    for (size_t i = 0; i < q->n_hooks; i++)
        free(q->hooks[i]);
    free(q->hooks);
    free(q->hook);
    free(q->configured);
    free(q->after_hook);
    free(q->last_hook);
    json_decref(q->list);
    free(q);
}

/* Writer thread: counts one delivery made due again and names the first ones. */
static int
on_requeued(void *userdata, int64_t alert_id, const char *hook)
{
    struct hook_requeue *q = userdata;
    q->queued++;
    if (q->alert_id == 0 && (alert_id > q->last_alert ||
                             (alert_id == q->last_alert && strcmp(hook, q->last_hook) > 0))) {
        char *copy = strdup(hook);
        if (!copy)
            return -ENOMEM;
        free(q->last_hook);
        q->last_hook = copy;
        q->last_alert = alert_id;
    }
    if (json_array_size(q->list) >= HOOK_REDELIVER_LIST_MAX)
        return 0;
    json_t *o = json_pack("{s:I, s:o}", q->events ? "event" : "alert", (json_int_t)alert_id, "hook",
                          ctlproto_json_string(hook));
    return o && json_array_append_new(q->list, o) == 0 ? 0 : -ENOMEM;
}

/* An event's entry of the answer gets its name: "feed-disabled", "story-source", ... */
static int
on_requeued_event(void *userdata, const struct store_feed_event_row *row)
{
    return json_object_set_new(userdata, "name", json_str(row->event)) == 0 ? 0 : -ENOMEM;
}

/* Writer thread: the deliveries become pending, due now. */
static int
requeue_work(struct writer_job *job, struct store *store)
{
    struct hook_requeue *q =
        (struct hook_requeue *)((char *)job - offsetof(struct hook_requeue, job));
    int r = 0;
    q->queued = 0;
    while (json_array_size(q->list) > q->list_kept)
        (void)json_array_remove(q->list, json_array_size(q->list) - 1);
    if (q->alert_id == 0) {
        /* the batch's greatest key starts at the one it goes on after */
        free(q->last_hook);
        if (!(q->last_hook = strdup(q->after_hook ? q->after_hook : "")))
            return -ENOMEM;
        q->last_alert = q->after_alert;
        r = q->events ? store_event_deliveries_requeue_failed(store, q->hook, q->configured, q->now,
                                                              q->after_alert, q->after_hook,
                                                              HOOK_REDELIVER_BATCH, on_requeued, q)
                      : store_deliveries_requeue_failed(store, q->hook, q->configured, q->now,
                                                        q->after_alert, q->after_hook,
                                                        HOOK_REDELIVER_BATCH, on_requeued, q);
    }
    /* The events' entries this batch listed: by their name, so an item event is told apart. */
    for (size_t i = q->list_kept; q->events && r >= 0 && i < json_array_size(q->list); i++) {
        json_t *o = json_array_get(q->list, i);
        r = store_feed_event_get(store, json_integer_value(json_object_get(o, "event")),
                                 on_requeued_event, o);
        if (r == -ENOENT)
            r = 0;
    }
    for (size_t i = 0; q->alert_id != 0 && i < q->n_hooks && r >= 0; i++) {
        r = store_delivery_requeue(store, q->alert_id, q->hooks[i], q->now);
        if (r == 1)
            r = on_requeued(q, q->alert_id, q->hooks[i]);
    }
    return r < 0 ? r : 0;
}

/* Loop: the redelivery is stored (or not); the runner looks for due deliveries again. */
static void
requeue_done(struct writer_job *job, int result)
{
    struct hook_requeue *q =
        (struct hook_requeue *)((char *)job - offsetof(struct hook_requeue, job));
    struct hooks *h = q->h;
    if (result >= 0) {
        q->total += q->queued;
        q->list_kept = json_array_size(q->list);
    }
    /*
     * Every failed one: a full batch is followed by the next, the loop turning between; the
     * last of alerts' deliveries by the first of feed events'.
     */
    if (result >= 0 && q->alert_id == 0 && (q->queued == HOOK_REDELIVER_BATCH || !q->events)) {
        free(q->after_hook);
        if (q->queued == HOOK_REDELIVER_BATCH) {
            q->after_hook = q->last_hook;
            q->after_alert = q->last_alert;
        } else {
            free(q->last_hook);
            q->events = true;
            q->after_hook = NULL;
            q->after_alert = 0;
        }
        q->last_hook = NULL;
        /*
         * No hook_kick here: each kick reads the due deliveries on the loop, and every batch
         * adds to them; the runs start once, after the last batch (below).
         */
        int r = h->closing || h->d->stopping ? -ESHUTDOWN : 0;
        if (r == 0)
            r = writer_submit(h->d->writer, &q->job);
        if (r == 0)
            return;
        snprintf(job->error, sizeof(job->error),
                 "%s after %u failed deliveries were queued (run it again for the rest)",
                 r == -ESHUTDOWN ? "the daemon is stopping"
                 : r == -EAGAIN  ? "the store's writer queue is full"
                                 : strerror(-r),
                 q->total);
        result = r;
    }
    for (struct hook_requeue **p = &h->requeues; *p; p = &(*p)->next) {
        if (*p == q) {
            *p = q->next;
            break;
        }
    }
    if (result < 0) {
        const char *why = result == -ENOMEM ? "out of memory" : job->error;
        log_error("store: cannot queue the redelivery: %s", why);
        q->cb(q->ctx, result, why, 0, NULL);
    } else {
        const char *what = q->total == 1 ? "delivery" : "deliveries";
        if (q->alert_id != 0)
            log_notice("hook: redeliver: alert %" PRId64 ": %u %s queued", q->alert_id, q->queued,
                       what);
        else
            log_notice("hook: redeliver: %u failed %s queued", q->total, what);
        q->cb(q->ctx, 0, NULL, q->total, q->list);
    }
    requeue_free(q);
    if (h->closing) {
        hooks_maybe_free(h);
        return;
    }
    hook_kick(h);
}

/* Sets *reterr_msg to the formatted message (NULL when out of memory); returns err. */
static int redeliver_refuse(char **reterr_msg, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
redeliver_refuse(char **reterr_msg, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(reterr_msg, fmt, ap) < 0)
        *reterr_msg = NULL;
    va_end(ap);
    return err;
}

/* Adds name to q->hooks unless it is there already. 0 or -ENOMEM. */
static int
requeue_add_hook(struct hook_requeue *q, const char *name)
{
    for (size_t i = 0; i < q->n_hooks; i++)
        if (strcmp(q->hooks[i], name) == 0)
            return 0;
    char **grown = realloc(q->hooks, (q->n_hooks + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    q->hooks = grown;
    if (!(q->hooks[q->n_hooks] = strdup(name)))
        return -ENOMEM;
    q->n_hooks++;
    return 0;
}

struct alert_hooks {
    char *topic;
    struct hook_requeue *q;
    const char *only; /* only this hook */
    bool only_seen;   /* the alert has a delivery to it */
};

static int
on_alert_topic(void *userdata, const struct store_alert_row *row)
{
    struct alert_hooks *a = userdata;
    a->topic = strdup(row->topic ? row->topic : "");
    return a->topic ? 0 : -ENOMEM;
}

/* A delivery the alert has: a hook to deliver it to again (if still configured). */
static int
on_alert_delivery(void *userdata, const struct store_delivery_row *row)
{
    struct alert_hooks *a = userdata;
    if (a->only && strcmp(row->hook, a->only) != 0)
        return 0;
    a->only_seen = a->only != NULL;
    if (!conf_hook_find(a->q->h->d->conf, row->hook))
        return 0;
    return requeue_add_hook(a->q, row->hook);
}

/*
 * Fills q->hooks with the hooks alert_id is to be delivered to again: those it has a delivery
 * to and those its topic names now, still configured, only `only` when set. 0, or a negative
 * errno with *reterr_msg.
 */
static int
redeliver_alert_hooks(struct hooks *h, struct hook_requeue *q, const char *only, char **reterr_msg)
{
    struct store *store = h->d->store; /* the loop's connection: reads only */
    const struct conf *conf = h->d->conf;
    struct alert_hooks a = {.q = q, .only = only};
    int r = store_alert_get(store, q->alert_id, on_alert_topic, &a);
    if (r == -ENOENT) {
        r = redeliver_refuse(reterr_msg, r, "no alert %" PRId64, q->alert_id);
        goto out;
    }
    if (r >= 0)
        r = store_alert_deliveries(store, q->alert_id, on_alert_delivery, &a);
    if (r < 0) {
        r = redeliver_refuse(reterr_msg, r, "alert %" PRId64 ": %s", q->alert_id,
                             r == -ENOMEM ? "out of memory" : store_errmsg(store));
        goto out;
    }
    const struct conf_topic *t = conf_topic_find(conf, a.topic);
    bool named = false;
    for (size_t i = 0; t && i < t->n_hooks && r == 0; i++) {
        if (only && strcmp(t->hooks[i], only) != 0)
            continue;
        named = true;
        if (conf_hook_find(conf, t->hooks[i]))
            r = requeue_add_hook(q, t->hooks[i]);
    }
    if (r < 0)
        r = redeliver_refuse(reterr_msg, r, "out of memory");
    else if (only && !named && !a.only_seen)
        r = redeliver_refuse(reterr_msg, -ENOENT,
                             "alert %" PRId64 ": its topic '%s' has no hook '%.200s'", q->alert_id,
                             a.topic, only);
    else if (q->n_hooks == 0)
        r = redeliver_refuse(reterr_msg, -ENOENT,
                             "alert %" PRId64 ": no hook to deliver it to (its topic '%s' names "
                             "none that is configured)",
                             q->alert_id, a.topic);
out:
    free(a.topic);
    return r;
}

/* The names of the hooks configured now, as a JSON array text; NULL on OOM. */
static char *
configured_hooks_json(const struct conf *conf)
{
    json_t *names = json_array();
    for (size_t i = 0; names && i < conf->n_hooks; i++)
        if (json_array_append_new(names, json_string(conf->hooks[i].name)) < 0) {
            json_decref(names);
            names = NULL;
        }
    char *text = names ? json_dumps(names, JSON_COMPACT) : NULL;
    json_decref(names);
    return text;
}

/* `redeliver`: one alert's deliveries, or every failed one, become due now (hook.h). */
int
hook_redeliver(struct hooks *h, int64_t alert_id, const char *hook, hook_redeliver_cb cb, void *ctx,
               char **reterr_msg)
{
    *reterr_msg = NULL;
    if (!h || h->closing || h->d->stopping)
        return redeliver_refuse(reterr_msg, -ESHUTDOWN, "the hook runner is not running");
    const struct conf *conf = h->d->conf;
    if (hook && !conf_hook_find(conf, hook))
        return redeliver_refuse(reterr_msg, -ENOENT, "no hook '%.200s' in the config", hook);
    struct hook_requeue *q = calloc(1, sizeof(*q));
    if (!q || !(q->list = json_array()) || (hook && !(q->hook = strdup(hook)))) {
        if (q)
            requeue_free(q);
        return redeliver_refuse(reterr_msg, -ENOMEM, "out of memory");
    }
    q->h = h;
    q->alert_id = alert_id;
    q->now = db_now(h);
    q->cb = cb;
    q->ctx = ctx;
    int r = 0;
    if (alert_id != 0)
        r = redeliver_alert_hooks(h, q, hook, reterr_msg);
    else if (!(q->configured = configured_hooks_json(conf)))
        r = redeliver_refuse(reterr_msg, -ENOMEM, "out of memory");
    if (r == 0) {
        q->job =
            (struct writer_job){.work = requeue_work, .done = requeue_done, .mode = WRITER_TXN};
        r = writer_submit(h->d->writer, &q->job);
        if (r < 0)
            r = redeliver_refuse(reterr_msg, r, "%s",
                                 r == -EAGAIN ? "the store's writer queue is full, try again"
                                              : strerror(-r));
    }
    if (r < 0) {
        requeue_free(q);
        return r;
    }
    q->next = h->requeues;
    h->requeues = q;
    return 0;
}

void
hook_hand_free(int64_t *ids, char **hooks, size_t n)
{
    for (size_t i = 0; hooks && i < n; i++)
        free(hooks[i]);
    free(hooks);
    free(ids);
}

/* Adds the delivery (id, hook) to the hand at *i, when there is room; -ENOMEM. */
static int
hand_add(int64_t *ids, char **hooks, size_t n, size_t *i, int64_t id, const char *hook)
{
    if (*i >= n)
        return 0;
    ids[*i] = id;
    if (!(hooks[*i] = strdup(hook)))
        return -ENOMEM;
    (*i)++;
    return 0;
}

int
hook_hand(const struct hooks *h, bool events, int64_t **ret_ids, char ***ret_hooks, size_t *ret_n)
{
    size_t n = 0, i = 0;
    int r = 0;
    *ret_ids = NULL;
    *ret_hooks = NULL;
    *ret_n = 0;
    if (!h)
        return 0;
    for (const struct hook_run *run = h->runs; run; run = run->next) {
        for (size_t k = 0; run->batch && k < run->n_batch; k++)
            n += run->batch[k].ev == events;
        n += !run->batch && run->ev == events;
    }
    for (const struct hook_write *w = h->writes; w; w = w->next)
        n += w->ev == events;
    for (const struct hook_bwrite *b = h->bwrites; b; b = b->next)
        for (size_t k = 0; k < b->n; k++)
            n += b->s[k].ev == events;
    if (n == 0)
        return 0;
    int64_t *ids = calloc(n, sizeof(*ids));
    char **hooks = calloc(n, sizeof(*hooks));
    if (!ids || !hooks)
        goto oom;
    for (const struct hook_run *run = h->runs; run && r == 0; run = run->next) {
        for (size_t k = 0; run->batch && k < run->n_batch && r == 0; k++)
            if (run->batch[k].ev == events)
                r = hand_add(ids, hooks, n, &i, run->batch[k].id, run->hook);
        if (!run->batch && run->ev == events && r == 0)
            r = hand_add(ids, hooks, n, &i, run->alert_id, run->hook);
    }
    for (const struct hook_write *w = h->writes; w && r == 0; w = w->next)
        if (w->ev == events)
            r = hand_add(ids, hooks, n, &i, w->alert_id, w->hook);
    for (const struct hook_bwrite *b = h->bwrites; b && r == 0; b = b->next)
        for (size_t k = 0; k < b->n && r == 0; k++)
            if (b->s[k].ev == events)
                r = hand_add(ids, hooks, n, &i, b->s[k].id, b->hook);
    if (r < 0)
        goto oom;
    *ret_ids = ids;
    *ret_hooks = hooks;
    *ret_n = n;
    return 0;
oom:
    hook_hand_free(ids, hooks, n);
    return -ENOMEM;
}

/* Hook runs in progress. */
unsigned
hook_running(const struct hooks *h)
{
    return h->running;
}

/* True when nothing runs and nothing is due now (--once waits for this). */
bool
hook_idle(struct hooks *h)
{
    int64_t at = 0;
    if (h->running > 0 || h->n_writes > 0 || h->claim || h->take || h->bwrites || h->rewindows > 0)
        return false;
    int r = next_due(h->d->store, &at);
    return r != 1 || at > db_now(h);
}

/* Writer thread: deliveries left running by a crash become pending again. */
static int
reset_work(struct writer_job *job, struct store *store)
{
    (void)job;
    return store_deliveries_reset_running(store);
}

static void
reset_done(struct writer_job *job, int result)
{
    (void)job;
    (void)result;
}

/* Creates the runner; deliveries left running by a crash become pending again. */
int
hook_new(struct dctx *d, hook_progress_cb progress, void *ctx, struct hooks **ret_hooks)
{
    struct hooks *h = calloc(1, sizeof(*h));
    if (!h) {
        log_error("hook: cannot start the runner: out of memory");
        return -ENOMEM;
    }
    h->d = d;
    h->progress = progress;
    h->progress_ctx = ctx;
    /*
     * A cluster's node claims deliveries with leases: the running ones are other live nodes'
     * and are left alone (this node's own from before a crash are made pending by its
     * store_node_leave at start, a dead node's are claimed once their lease ends).
     */
    h->clustered = store_clustered(d->store);
    if (!h->clustered) {
        struct writer_job job = {.work = reset_work, .done = reset_done, .mode = WRITER_TXN};
        /*
         * Waits for the writer, on purpose: hook_new runs at start, before uv_run, when nothing
         * waits for the loop yet, and the first due read (hook_kick) must see the reset.
         */
        int r = writer_call(d->writer, &job);
        if (r < 0) {
            log_error("store: cannot reset running deliveries: %s",
                      job.error[0] ? job.error : strerror(-r));
            free(h);
            return r;
        }
        if (r > 0)
            log_notice(
                "hook: %d deliveries were running when feedwatchd stopped; running them again", r);
    }
    uv_timer_init(&d->loop, &h->timer);
    h->timer.data = h;
    *ret_hooks = h;
    hook_reconfigured(h, NULL); /* a window made shorter while the daemon was stopped */
    return 0;
}

static void
on_hook_timer_closed(uv_handle_t *handle)
{
    struct hooks *h = handle->data;
    h->timer_closed = true;
    hooks_maybe_free(h);
}

/*
 * Stops the runner: running children get SIGTERM (their deliveries stay "running" and run
 * again after a restart), handles are closed; freed from the last close callback.
 */
void
hook_close(struct hooks *h)
{
    if (!h)
        return;
    h->closing = true;
    struct hook_run *next;
    for (struct hook_run *run = h->runs; run; run = next) {
        next = run->next; /* a close may finish (and free) the run */
        if (run->is_url)
            continue; /* the fetcher's close aborts it */
        if (run->spawned && !run->completed) {
            /* The whole group: the first process may be gone and its children not. */
            (void)kill(-run->proc.pid, SIGTERM);
            run->killed = true;
        }
        run_close_handles(run);
    }
    (void)uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, on_hook_timer_closed);
}
