/*
 * dfeed.c — a feed at run time (dfeed.h): its state as the user sees it, the settings and
 * options of a feed added with `feedwatch add`, and the writes of its row through the
 * store's writer (saves, loads, the run-time marker, and the jobs of the run-time changes).
 */
#include "dfeed.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/feedrule.h"
#include "dctx.h"
#include "log.h"
#include "writer.h"

#define DFEED_INTERVAL_MAX (100ull * 366 * 86400) /* run-time feeds: the config's maximum */

/* The state a user sees of st, f's state: paused and disabled win over failing. */
static enum dfeed_state
state_of(const struct dfeed *f, const struct store_feed *st)
{
    if (st->paused)
        return DFEED_PAUSED;
    if (st->disabled_reason || !f->cfg->enabled)
        return DFEED_DISABLED;
    if (st->failures > 0)
        return DFEED_FAILING;
    return DFEED_OK;
}

/* The state a user sees of f as it is now. */
enum dfeed_state
dfeed_state(const struct dfeed *f)
{
    return state_of(f, &f->st);
}

/* The feed's state as the control socket shows it: its poll's outcome once it is stored. */
const struct store_feed *
dfeed_shown(const struct dfeed *f)
{
    return f->shown ? f->shown : &f->st;
}

/* The state a user sees of dfeed_shown(f). */
enum dfeed_state
dfeed_state_shown(const struct dfeed *f)
{
    return state_of(f, dfeed_shown(f));
}

/* The JSON name of a state. */
const char *
dfeed_state_name(enum dfeed_state s)
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

/* Whether f is polled: ok or failing. */
bool
dfeed_pollable(const struct dfeed *f)
{
    return dfeed_state(f) == DFEED_OK || dfeed_state(f) == DFEED_FAILING;
}

/* Frees the owned settings of a run-time feed; accepts NULL. */
void
dfeed_cfg_free(struct conf_feed *c)
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
runtime_cfg_new(const struct dctx *d, const char *name, const char *url,
                const struct dfeed_opts *opts)
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
        dfeed_cfg_free(c);
        return NULL;
    }
    if (opts && opts->n_tags > 0) {
        c->tags = calloc(opts->n_tags, sizeof(*c->tags));
        if (!c->tags) {
            dfeed_cfg_free(c);
            return NULL;
        }
        for (; c->n_tags < opts->n_tags; c->n_tags++) {
            if (!(c->tags[c->n_tags] = strdup(opts->tags[c->n_tags]))) {
                dfeed_cfg_free(c);
                return NULL;
            }
        }
    }
    return c;
}

/* Checks the options of `add`; 0, or -EINVAL with *reterr_msg (malloc'd, may be NULL). */
int
dfeed_opts_check(const struct dfeed_opts *o, char **reterr_msg)
{
    const char *why = NULL;
    if (o->interval_s > DFEED_INTERVAL_MAX)
        why = "add: the interval is longer than 100 years";
    else if (o->n_tags > FEED_TAGS_MAX)
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
char *
dfeed_opts_json(const struct dfeed_opts *o)
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

/* Frees the tags of options read by dfeed_opts_parse. */
void
dfeed_opts_done(struct dfeed_opts *o)
{
    for (size_t i = 0; i < o->n_tags; i++)
        free(o->tags[i]);
    free(o->tags);
    *o = (struct dfeed_opts){0};
}

/*
 * Reads stored options (NULL text: none). 0, -ENOMEM, or -EINVAL when the text is not what
 * dfeed_opts_json wrote (a hand-edited database): *o is then zeroed (the defaults).
 */
int
dfeed_opts_parse(const char *text, struct dfeed_opts *o)
{
    *o = (struct dfeed_opts){0};
    if (!text)
        return 0;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    json_t *ji = json_object_get(j, "interval_s"), *jt = json_object_get(j, "tags");
    json_t *jf = json_object_get(j, "fetch_article");
    int r = 0;
    if (!json_is_integer(ji) || json_integer_value(ji) < 0 || !json_is_array(jt) ||
        json_array_size(jt) > FEED_TAGS_MAX || !json_is_boolean(jf)) {
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
    r = dfeed_opts_check(o, NULL);
out:
    json_decref(j);
    if (r < 0)
        dfeed_opts_done(o);
    return r;
}

/* Frees f (no poll in flight); its waiters are told POLL_ABORTED. */
void
dfeed_free(struct dfeed *f)
{
    if (!f)
        return;
    assert(!f->poll);
    /* Waiters of a feed still queued when the daemon stopped: told, as promised, once. */
    for (size_t i = 0; i < f->n_waiters; i++)
        f->waiters[i].cb(f->waiters[i].ctx, POLL_ABORTED, 0, 0);
    store_feed_done(&f->st);
    dfeed_cfg_free(f->runtime_cfg);
    free(f->waiters);
    free(f);
}

/* Creates the run-time feed for cfg with its row (from rows, or loaded now); err: why not. */
int
dfeed_new(struct dctx *d, const struct conf_feed *cfg, struct dfeed_rows *rows, struct dfeed **ret,
          char *err, size_t err_size)
{
    struct dfeed *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->cfg = cfg;
    sched_entry_init(&f->sched);
    /* The config names it: it is a config feed now, whatever `add` or `remove` said before. */
    int r = 0;
    if (!rows)
        r = dfeed_row_load(d, cfg->name, cfg->url, true, &f->st, err, err_size);
    else if (!dfeed_rows_take(rows, cfg->name, &f->st)) {
        snprintf(err, err_size, "its row was not loaded");
        r = -ENOENT;
    }
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
int
dfeed_new_runtime(struct dctx *d, const char *name, const char *url, const struct dfeed_opts *opts,
                  bool load, struct dfeed **ret)
{
    struct dfeed *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->runtime_interval = opts && opts->interval_s;
    f->runtime_cfg = runtime_cfg_new(d, name, url, opts);
    if (!f->runtime_cfg) {
        free(f);
        return -ENOMEM;
    }
    f->cfg = f->runtime_cfg;
    sched_entry_init(&f->sched);
    char err[WRITER_ERROR_MAX];
    int r = load ? dfeed_row_load(d, name, url, false, &f->st, err, sizeof(err)) : 0;
    if (r < 0) {
        dfeed_cfg_free(f->runtime_cfg);
        free(f);
        return r;
    }
    *ret = f;
    return 0;
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

void
dfeed_write_free(struct dfeed_write *fw)
{
    free(fw->name);
    free(fw->url);
    free(fw->opts_json);
    free(fw->was_reason);
    store_feed_done(&fw->st);
    free(fw);
}

/*
 * Writer thread: the row of the feed called name into *st, created if new; a config feed's
 * run-time marker is cleared.
 */
static int
row_load(struct store *store, const char *name, const char *url, bool config_feed,
         struct store_feed *st)
{
    int r;
    if ((r = store_feed_ensure(store, name, url, st)) < 0)
        return r;
    if (config_feed && (st->runtime_url || st->removed)) {
        if ((r = store_feed_set_runtime(store, st->id, NULL, false)) < 0)
            return r;
        free(st->runtime_url);
        st->runtime_url = NULL;
        st->removed = false;
    }
    return 0;
}

/* Writer thread. */
static int
feed_write_work(struct writer_job *job, struct store *store)
{
    struct dfeed_write *fw =
        (struct dfeed_write *)((char *)job - offsetof(struct dfeed_write, job));
    int r;
    switch (fw->kind) {
    case DFEED_WRITE_SAVE:
        /*
         * Not a poll's save (a run-time change, or one made while a poll ran): on a cluster only
         * what such a change sets, never this node's copy of the poll state, which another node
         * may have written since; elsewhere the row, as the loop has it.
         */
        if (store_clustered(store))
            return store_feed_set_state(store, fw->st.id, fw->st.paused, fw->st.failures,
                                        fw->st.disabled_reason);
        fw->st.lease_epoch = 0;
        return store_feed_save(store, &fw->st);
    case DFEED_WRITE_RUNTIME:
        return store_feed_set_runtime(store, fw->id, fw->url, fw->removed);
    case DFEED_WRITE_ADD:
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
    case DFEED_WRITE_LOAD:
        return row_load(store, fw->name, fw->url, fw->config_feed, &fw->st);
    }
    return -EINVAL;
}

/* Loop: the write is done; the change finishes. */
static void
feed_write_done(struct writer_job *job, int r)
{
    struct dfeed_write *fw =
        (struct dfeed_write *)((char *)job - offsetof(struct dfeed_write, job));
    fw->finish(fw, r);
    dfeed_write_free(fw);
}

/* Loop (writer_call): hands the loaded row over, or the error. */
static void
load_done(struct writer_job *job, int r)
{
    struct dfeed_write *fw =
        (struct dfeed_write *)((char *)job - offsetof(struct dfeed_write, job));
    if (r < 0) {
        snprintf(fw->out_err, fw->out_err_size, "%s", job->error);
    } else {
        *fw->out = fw->st;
        fw->st = (struct store_feed){0};
    }
}

struct dfeed_write *
dfeed_write_new(struct dctx *d, enum dfeed_write_kind kind, const char *name,
                void (*finish)(struct dfeed_write *, int), dfeed_change_cb cb, void *ctx)
{
    struct dfeed_write *fw = calloc(1, sizeof(*fw));
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
int
dfeed_write_submit(struct dfeed_write *fw, const char *what, char **reterr_msg)
{
    int r = writer_submit(fw->d->writer, &fw->job);
    if (r < 0) {
        dfeed_write_free(fw);
        return errmsg(reterr_msg, r, "%s: store: %s", what,
                      r == -EAGAIN ? "the store's writer is busy, try again" : strerror(-r));
    }
    return 0;
}

static void
save_finish(struct dfeed_write *fw, int r)
{
    char q[LOG_QUOTE_MAX];
    if (r < 0)
        log_error("store: feed '%s': cannot save its state: %s", log_quote(fw->name, q, sizeof(q)),
                  fw->job.error);
}

/* Saves a copy of f's state as it is now through the writer; an error is logged. */
void
dfeed_save(struct dctx *d, struct dfeed *f)
{
    char *err = NULL;
    struct dfeed_write *fw =
        dfeed_write_new(d, DFEED_WRITE_SAVE, f->cfg->name, save_finish, NULL, NULL);
    if (fw && store_feed_copy(&fw->st, &f->st) < 0) {
        dfeed_write_free(fw);
        fw = NULL;
    }
    int r = fw ? dfeed_write_submit(fw, "save", &err) : -ENOMEM;
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
int
dfeed_row_load(struct dctx *d, const char *name, const char *url, bool config_feed,
               struct store_feed *ret, char *err, size_t err_size)
{
    struct dfeed_write *fw = dfeed_write_new(d, DFEED_WRITE_LOAD, name, NULL, NULL, NULL);
    if (!fw || !(fw->url = strdup(url))) {
        if (fw)
            dfeed_write_free(fw);
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
    dfeed_write_free(fw);
    return r;
}

static void
marker_finish(struct dfeed_write *fw, int r)
{
    char q[LOG_QUOTE_MAX];
    if (r < 0)
        log_error("store: feed '%s': cannot clear the run-time marker: %s",
                  log_quote(fw->name, q, sizeof(q)), fw->job.error);
}

/* Clears the run-time marker of f's row (a reload's config names it now); errors are logged. */
void
dfeed_marker_clear(struct dctx *d, struct dfeed *f)
{
    char *err = NULL;
    struct dfeed_write *fw =
        dfeed_write_new(d, DFEED_WRITE_RUNTIME, f->cfg->name, marker_finish, NULL, NULL);
    int r = -ENOMEM;
    if (fw) {
        fw->id = f->st.id;
        r = dfeed_write_submit(fw, "reload", &err);
    }
    if (r < 0) {
        char q[LOG_QUOTE_MAX];
        log_error("store: feed '%s': cannot clear the run-time marker: %s",
                  log_quote(f->cfg->name, q, sizeof(q)), err ? err : strerror(-r));
    }
    free(err);
}

/* One row a reload needs (struct dfeed_rows). */
struct dfeed_row {
    char *name;
    char *url;
    bool config_feed;
    bool taken;
    struct store_feed st; /* as loaded */
};

struct dfeed_rows {
    struct writer_job job;
    struct dctx *d;
    struct dfeed_row *v;
    size_t n, cap;
    const char *failed; /* the name of the row that failed (writer thread, then the loop) */
    size_t next;        /* where dfeed_rows_take looks first */
    dfeed_rows_done_cb done;
    void *ctx;
};

struct dfeed_rows *
dfeed_rows_new(struct dctx *d, dfeed_rows_done_cb done, void *ctx)
{
    struct dfeed_rows *rows = calloc(1, sizeof(*rows));
    if (!rows)
        return NULL;
    rows->d = d;
    rows->done = done;
    rows->ctx = ctx;
    return rows;
}

int
dfeed_rows_add(struct dfeed_rows *rows, const char *name, const char *url, bool config_feed)
{
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 8;
        struct dfeed_row *v = realloc(rows->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        rows->v = v;
        rows->cap = cap;
    }
    struct dfeed_row *row = &rows->v[rows->n];
    *row = (struct dfeed_row){.name = strdup(name), .url = strdup(url), .config_feed = config_feed};
    if (!row->name || !row->url) {
        free(row->name);
        free(row->url);
        return -ENOMEM;
    }
    rows->n++;
    return 0;
}

size_t
dfeed_rows_count(const struct dfeed_rows *rows)
{
    return rows->n;
}

/* Writer thread: every row, in one transaction. */
static int
rows_work(struct writer_job *job, struct store *store)
{
    struct dfeed_rows *rows = (struct dfeed_rows *)((char *)job - offsetof(struct dfeed_rows, job));
    for (size_t i = 0; i < rows->n; i++) {
        struct dfeed_row *row = &rows->v[i];
        int r = row_load(store, row->name, row->url, row->config_feed, &row->st);
        if (r < 0) {
            rows->failed = row->name;
            return r;
        }
    }
    return 0;
}

/* Loop: the rows are loaded (or not); the caller's turn. */
static void
rows_job_done(struct writer_job *job, int r)
{
    struct dfeed_rows *rows = (struct dfeed_rows *)((char *)job - offsetof(struct dfeed_rows, job));
    char err[WRITER_ERROR_MAX + 256];
    if (r < 0)
        snprintf(err, sizeof(err), "store: feed '%.200s': %s", rows->failed ? rows->failed : "?",
                 job->error);
    rows->done(rows->ctx, rows, r, r < 0 ? err : NULL);
}

int
dfeed_rows_submit(struct dfeed_rows *rows)
{
    rows->job = (struct writer_job){.work = rows_work, .done = rows_job_done, .mode = WRITER_TXN};
    return writer_submit(rows->d->writer, &rows->job);
}

bool
dfeed_rows_take(struct dfeed_rows *rows, const char *name, struct store_feed *ret)
{
    /*
     * From the row after the one taken last: the table takes them in the config's order,
     * the order they were added in, so a reload that brings many feeds does not scan them all
     * for each one on the loop.
     */
    for (size_t k = 0; k < rows->n; k++) {
        size_t i = (rows->next + k) % rows->n;
        struct dfeed_row *row = &rows->v[i];
        if (row->taken || strcmp(row->name, name) != 0)
            continue;
        row->taken = true;
        rows->next = i + 1;
        *ret = row->st;
        row->st = (struct store_feed){0};
        return true;
    }
    return false;
}

void
dfeed_rows_free(struct dfeed_rows *rows)
{
    if (!rows)
        return;
    for (size_t i = 0; i < rows->n; i++) {
        free(rows->v[i].name);
        free(rows->v[i].url);
        store_feed_done(&rows->v[i].st);
    }
    free(rows->v);
    free(rows);
}
