/*
 * cluster.c — this daemon as one node of a cluster (cluster.h): the beat, the claims, the
 * gate of `poll NAME`, the leave.
 */
#include "cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "conf.h"
#include "dctx.h"
#include "dfeed.h"
#include "feedtable.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "writer.h"

struct cluster {
    struct dctx *d;
    struct feedtable *t;
    uv_timer_t timer;
    bool timer_started;
    bool busy;     /* a tick's job is queued */
    bool stopping; /* no more ticks */
    char hash[17];
    int64_t pid;
    int64_t started_at;
    int64_t *skip; /* ids of claimed feeds this node cannot poll (another config's) */
    size_t n_skip, cap_skip;
    int last_error; /* the last tick's failure, logged once until it changes */
};

/* One beat and claim, or a leave, through the writer. */
struct cluster_job {
    struct writer_job job;
    struct cluster *c;
    enum { JOB_TICK, JOB_ONE, JOB_LEAVE } kind;
    char *node;
    char hash[17];
    int64_t pid, started_at, lease_s;
    int64_t server_now; /* the server's clock at the beat (0: no beat) */
    int64_t *hand;      /* the feeds in hand, renewed */
    size_t n_hand;
    int64_t *skip;
    size_t n_skip;
    unsigned limit;
    int64_t only_id;
    struct store_feed *rows; /* claimed */
    size_t n_rows, cap_rows;
    /* JOB_ONE: the feed asked for, by name, and who waits for its poll. */
    char *name;
    dfeed_poll_done_cb cb;
    void *cb_ctx;
};

/* The config as a hash: feeds, topics, hooks and the keys that decide what a node polls. */
static void
config_hash(const struct conf *conf, char out[17])
{
    uint64_t h = HASH_SEED;
#define MIX_S(s) h = hash_update(h, (s) ? (s) : "", (s) ? strlen(s) + 1 : 1)
#define MIX_U(u)                                                                                   \
    do {                                                                                           \
        uint64_t v_ = (u);                                                                         \
        h = hash_update(h, &v_, sizeof(v_));                                                       \
    } while (0)
    MIX_U(conf->daemon.interval_s);
    MIX_U(conf->daemon.max_per_host);
    MIX_U(conf->daemon.lease_s);
    MIX_U(conf->daemon.max_failures);
    for (size_t i = 0; i < conf->n_feeds; i++) {
        const struct conf_feed *f = &conf->feeds[i];
        MIX_S(f->name);
        MIX_S(f->url);
        MIX_U(f->interval_s);
        MIX_U(f->enabled);
        MIX_U(f->fetch_article);
    }
    for (size_t i = 0; i < conf->n_topics; i++) {
        const struct conf_topic *tp = &conf->topics[i];
        MIX_S(tp->name);
        MIX_S(tp->match);
        for (size_t k = 0; k < tp->n_hooks; k++)
            MIX_S(tp->hooks[k]);
    }
    for (size_t i = 0; i < conf->n_hooks; i++) {
        const struct conf_hook *hk = &conf->hooks[i];
        MIX_S(hk->name);
        MIX_S(hk->url);
        for (char **a = hk->exec_argv; a && *a; a++)
            MIX_S(*a);
    }
#undef MIX_S
#undef MIX_U
    (void)snprintf(out, 17, "%016" PRIx64, hash_final(h));
}

static void
job_free(struct cluster_job *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n_rows; i++)
        store_feed_done(&j->rows[i]);
    free(j->rows);
    free(j->node);
    free(j->hand);
    free(j->skip);
    free(j->name);
    free(j);
}

/* Keeps a copy of each claimed row (writer thread). */
static int
on_claimed(void *userdata, const struct store_feed *feed)
{
    struct cluster_job *j = userdata;
    if (j->n_rows == j->cap_rows) {
        size_t cap = j->cap_rows ? j->cap_rows * 2 : 16;
        struct store_feed *n = realloc(j->rows, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        j->rows = n;
        j->cap_rows = cap;
    }
    struct store_feed *row = &j->rows[j->n_rows];
    *row = (struct store_feed){0};
    int r = store_feed_copy(row, feed);
    if (r < 0)
        return r;
    j->n_rows++;
    return 0;
}

/* Writer thread: the beat and the claim (one transaction), or the leave. */
static int
job_work(struct writer_job *job, struct store *store)
{
    struct cluster_job *j = (struct cluster_job *)job;
    if (j->kind == JOB_LEAVE)
        return store_node_leave(store, j->node);
    int r = store_node_beat(store, j->node, j->pid, j->started_at, j->hash, j->lease_s, j->hand,
                            j->n_hand, &j->server_now);
    if (r >= 0 && j->limit > 0)
        r = store_feeds_claim(store, j->node, j->lease_s, j->limit, j->skip, j->n_skip, j->hand,
                              j->n_hand, j->only_id, on_claimed, j);
    return r;
}

/* Remembers that this node cannot poll the feed with id (bounded: the oldest go first). */
static void
skip_add(struct cluster *c, int64_t id)
{
    for (size_t i = 0; i < c->n_skip; i++)
        if (c->skip[i] == id)
            return;
    if (c->n_skip == c->cap_skip) {
        if (c->cap_skip >= 4096) {
            memmove(c->skip, c->skip + 1, (c->n_skip - 1) * sizeof(*c->skip));
            c->n_skip--;
        } else {
            size_t cap = c->cap_skip ? c->cap_skip * 2 : 16;
            int64_t *n = realloc(c->skip, cap * sizeof(*n));
            if (!n)
                return;
            c->skip = n;
            c->cap_skip = cap;
        }
    }
    c->skip[c->n_skip++] = id;
}

/*
 * A claimed row: the feed's state is the row's (whoever polled it last), with its lease. The
 * feed of a run-time `add` on another node is adopted; NULL for a feed this node cannot poll.
 */
static struct dfeed *
take_row(struct cluster *c, const struct store_feed *row)
{
    char q[LOG_QUOTE_MAX];
    struct dfeed *f = feedtable_find(c->t, row->name);
    if (!f) {
        int r = feedtable_adopt(c->t, row, &f);
        if (r == -ENOENT) {
            log_info("cluster: feed '%s' is in another node's config, not in this one's: left"
                     " to the others",
                     log_quote(row->name, q, sizeof(q)));
            skip_add(c, row->id);
            return NULL;
        }
        if (r < 0) {
            log_warn("cluster: feed '%s': %s", log_quote(row->name, q, sizeof(q)), strerror(-r));
            return NULL;
        }
        log_notice("cluster: feed '%s', added on another node, is polled here too",
                   log_quote(row->name, q, sizeof(q)));
        return f;
    }
    if (f->poll || f->ready)
        return NULL; /* its lease ends by itself: it is not in hand */
    struct store_feed st = {0};
    if (store_feed_copy(&st, row) < 0)
        return NULL;
    store_feed_done(&f->st);
    f->st = st;
    f->next_poll_ms = 0;
    f->st_gen++;
    if (!f->cfg->enabled) {
        /* Off in this node's config (enabled = no): another node's config may poll it. */
        f->st.lease_epoch = 0;
        skip_add(c, row->id);
        return NULL;
    }
    if (!dfeed_pollable(f)) {
        /*
         * Paused or disabled (a `poll NAME` claims a feed whatever its state): not polled, and
         * not skipped either, so that a `resume` makes it due again here too. Its lease ends.
         */
        f->st.lease_epoch = 0;
        return NULL;
    }
    return f;
}

/*
 * A feed asked for (`poll NAME`, --once) was not polled: its waiter is told, or, with none,
 * the table's tally (--once counts it as failed).
 */
static void
not_polled(struct cluster *c, const char *name, dfeed_poll_done_cb cb, void *cb_ctx)
{
    if (cb) {
        cb(cb_ctx, POLL_ABORTED, 0, 0);
        return;
    }
    struct dfeed *f = name ? feedtable_find(c->t, name) : NULL;
    if (f && c->t->polled)
        c->t->polled(c->t->polled_ctx, f, POLL_ABORTED, 0, 0);
}

/*
 * The server's clock against this node's, from a beat: leases and due times are the server's,
 * so a node whose clock is off shifts the poll times it saves by the difference (feedpoll.c).
 * Differences under CLUSTER_SKEW_MIN_S (the beat's own delay, NTP's wobble) count as none.
 */
static void
clock_offset(struct cluster *c, int64_t server_now)
{
    int64_t off = server_now - util_now_ms() / 1000;
    if (off > -CLUSTER_SKEW_MIN_S && off < CLUSTER_SKEW_MIN_S)
        off = 0;
    int64_t was = c->d->clock_offset_s;
    c->d->clock_offset_s = off;
    if (off != 0 && (was == 0 || off - was > CLUSTER_SKEW_MIN_S || was - off > CLUSTER_SKEW_MIN_S))
        log_warn("cluster: this node's clock is %" PRId64 " s %s the database server's: the poll"
                 " times it saves are shifted to the server's clock (set the clock right: NTP)",
                 off > 0 ? off : -off, off > 0 ? "behind" : "ahead of");
}

/* Loop thread: polls what was claimed. */
static void
job_done(struct writer_job *job, int result)
{
    struct cluster_job *j = (struct cluster_job *)job;
    struct cluster *c = j->c;
    if (j->kind == JOB_TICK)
        c->busy = false;
    if (result < 0 && j->kind != JOB_ONE && result != c->last_error) {
        log_warn("cluster: node '%s': %s", j->node, job->error[0] ? job->error : strerror(-result));
        c->last_error = result;
    } else if (result >= 0 && j->kind == JOB_TICK) {
        c->last_error = 0;
    }
    if (result >= 0 && j->server_now > 0)
        clock_offset(c, j->server_now);
    bool polled = false;
    for (size_t i = 0; result >= 0 && i < j->n_rows && !c->d->stopping; i++) {
        struct dfeed *f = take_row(c, &j->rows[i]);
        if (!f)
            continue;
        if (j->kind == JOB_ONE && j->name && strcmp(f->cfg->name, j->name) == 0) {
            polled = true;
            (void)feedtable_poll_now(c->t, f, j->cb, j->cb_ctx);
        } else {
            (void)feedtable_poll_now(c->t, f, NULL, NULL);
        }
    }
    if (j->kind == JOB_ONE && !polled) {
        char q[LOG_QUOTE_MAX];
        log_info("cluster: feed '%s' not polled: %s", log_quote(j->name, q, sizeof(q)),
                 result < 0 ? job->error : "another node holds it");
        not_polled(c, j->name, j->cb, j->cb_ctx);
    }
    job_free(j);
}

/* The ids of the feeds in hand: claimed (lease_epoch set) and not saved yet. */
static int
hand_ids(struct cluster *c, int64_t **ret, size_t *ret_n)
{
    size_t n = 0;
    for (size_t i = 0; i < c->t->n_feeds; i++)
        if (c->t->feeds[i]->st.lease_epoch > 0)
            n++;
    int64_t *v = n ? malloc(n * sizeof(*v)) : NULL;
    if (n && !v)
        return -ENOMEM;
    n = 0;
    for (size_t i = 0; i < c->t->n_feeds; i++)
        if (c->t->feeds[i]->st.lease_epoch > 0)
            v[n++] = c->t->feeds[i]->st.id;
    *ret = v;
    *ret_n = n;
    return 0;
}

static struct cluster_job *
job_new(struct cluster *c, int kind)
{
    const struct conf *conf = c->d->conf;
    struct cluster_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->job.work = job_work;
    j->job.done = job_done;
    j->job.mode = WRITER_TXN;
    j->c = c;
    j->kind = kind;
    j->node = strdup(conf->daemon.node);
    memcpy(j->hash, c->hash, sizeof(j->hash));
    j->pid = c->pid;
    j->started_at = c->started_at;
    j->lease_s = (int64_t)conf->daemon.lease_s;
    if (!j->node || (kind != JOB_LEAVE && hand_ids(c, &j->hand, &j->n_hand) < 0)) {
        job_free(j);
        return NULL;
    }
    if (kind == JOB_TICK && c->n_skip) {
        j->skip = malloc(c->n_skip * sizeof(*j->skip));
        if (!j->skip) {
            job_free(j);
            return NULL;
        }
        memcpy(j->skip, c->skip, c->n_skip * sizeof(*j->skip));
        j->n_skip = c->n_skip;
    }
    return j;
}

/* A tick: a beat, and a claim of as many due feeds as there are free poll slots. */
static void
tick_submit(struct cluster *c)
{
    struct feedtable *t = c->t;
    if (c->busy || c->stopping || c->d->stopping)
        return;
    unsigned slots = feedtable_poll_slots(t), used = t->polls_active + t->n_ready;
    unsigned free_slots = slots > used ? slots - used : 0;
    struct cluster_job *j = job_new(c, JOB_TICK);
    if (!j)
        return;
    j->limit = free_slots < CLUSTER_CLAIM_MAX ? free_slots : CLUSTER_CLAIM_MAX;
    if (c->d->once)
        j->limit = 0; /* --once asks for each feed itself (the gate) */
    if (writer_submit(c->d->writer, &j->job) < 0) {
        job_free(j);
        return;
    }
    c->busy = true;
}

static void
on_tick(uv_timer_t *timer)
{
    tick_submit(timer->data);
}

/* The feed table's gate: claims f alone, then polls it (job_done). */
static int
gate(void *ctx, struct dfeed *f, dfeed_poll_done_cb cb, void *cb_ctx)
{
    struct cluster *c = ctx;
    struct cluster_job *j = c->stopping ? NULL : job_new(c, JOB_ONE);
    if (j) {
        j->limit = 1;
        j->only_id = f->st.id;
        j->name = strdup(f->cfg->name);
        j->cb = cb;
        j->cb_ctx = cb_ctx;
    }
    if (!j || !j->name || writer_submit(c->d->writer, &j->job) < 0) {
        job_free(j);
        not_polled(c, f->cfg->name, cb, cb_ctx);
        return -ECANCELED;
    }
    return 0;
}

/* Starts the node: leaves (ends a previous life's leases), beats, then ticks. */
int
cluster_start(struct dctx *d, struct feedtable *t, struct cluster **ret, char **reterr_msg)
{
    struct cluster *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->d = d;
    c->t = t;
    c->pid = (int64_t)getpid();
    c->started_at = util_now_ms() / 1000;
    config_hash(d->conf, c->hash);
    struct cluster_job *leave = job_new(c, JOB_LEAVE), *beat = job_new(c, JOB_TICK);
    int r = leave && beat ? 0 : -ENOMEM;
    if (r == 0) {
        r = writer_call(d->writer, &leave->job); /* job_done frees it */
        leave = NULL;
    }
    if (r >= 0) {
        c->busy = true;
        r = writer_call(d->writer, &beat->job);
        beat = NULL;
    }
    job_free(leave);
    job_free(beat);
    if (r < 0) {
        if (asprintf(reterr_msg, "cluster: node '%s' cannot join: %s", d->conf->daemon.node,
                     strerror(-r)) < 0)
            *reterr_msg = NULL;
        free(c);
        return r;
    }
    uv_timer_init(&d->loop, &c->timer);
    c->timer.data = c;
    (void)uv_timer_start(&c->timer, on_tick, CLUSTER_TICK_MS, CLUSTER_TICK_MS);
    c->timer_started = true;
    t->gate = gate;
    t->gate_ctx = c;
    *ret = c;
    return 0;
}

const char *
cluster_config_hash(const struct cluster *c)
{
    return c->hash;
}

void
cluster_reloaded(struct cluster *c)
{
    if (!c)
        return;
    config_hash(c->d->conf, c->hash);
    c->n_skip = 0; /* the new config may name feeds this node left to the others */
}

void
cluster_stop(struct cluster *c)
{
    if (!c || c->stopping)
        return;
    c->stopping = true;
    if (c->timer_started) {
        (void)uv_timer_stop(&c->timer);
        uv_close((uv_handle_t *)&c->timer, NULL);
        c->timer_started = false;
    }
    c->t->gate = NULL;
    struct cluster_job *j = job_new(c, JOB_LEAVE);
    if (j && writer_submit(c->d->writer, &j->job) < 0)
        job_free(j);
}

void
cluster_free(struct cluster *c)
{
    if (!c)
        return;
    free(c->skip);
    free(c);
}
