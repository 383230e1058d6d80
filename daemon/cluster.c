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
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "conf.h"
#include "dctx.h"
#include "dfeed.h"
#include "feedtable.h"
#include "hook.h"
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
    char instance[128]; /* this start's life: "PLACE/RANDOM" (new_instance) */
    char host[256];     /* the machine's name; "" when it has none */
    int64_t pid;
    int64_t started_at;
    int64_t *skip; /* ids of claimed feeds this node cannot poll, not recorded yet */
    size_t n_skip, cap_skip;
    bool skip_clear;      /* a reload: forget the recorded ones first */
    unsigned reloads;     /* reloads so far: a tick's skips are of the config it saw */
    int64_t changed_seq;  /* store_feeds_changed's position */
    unsigned ticks;       /* since the last prune of dead nodes */
    int last_error;       /* the last tick's failure, logged once until it changes */
    cluster_lost_cb lost; /* another daemon took the node's name */
    void *lost_ctx;
};

/* One beat and claim, or a leave, through the writer. */
struct cluster_job {
    struct writer_job job;
    struct cluster *c;
    enum { JOB_JOIN, JOB_TICK, JOB_ONE, JOB_LEAVE } kind;
    char *node;
    char hash[17];
    int64_t pid, started_at, lease_s;
    bool skip_clear, prune;
    unsigned reloads;           /* the cluster's when queued */
    int64_t changed_seq;        /* JOB_TICK: where the changes are read from, then to */
    struct store_feed *changed; /* other nodes' changes to feeds, since changed_seq */
    size_t n_changed, cap_changed;
    char refused[512];  /* JOB_JOIN: why the name is another daemon's */
    int64_t server_now; /* the server's clock at the beat (0: no beat) */
    int64_t *hand;      /* the feeds in hand, renewed */
    size_t n_hand;
    int64_t *dlv_ids; /* the deliveries in hand (alert ids and hooks), renewed */
    char **dlv_hooks;
    size_t n_dlv;
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
    /* What decides feed events: nodes that disagree would raise different ones. */
    MIX_U(conf->daemon.move_confirmations);
    MIX_U(conf->daemon.stall_factor);
    MIX_U(conf->daemon.stall_min_s);
    for (size_t i = 0; i < conf->n_feeds; i++) {
        const struct conf_feed *f = &conf->feeds[i];
        MIX_S(f->name);
        MIX_S(f->url);
        MIX_U(f->interval_s);
        MIX_U(f->enabled);
        MIX_U(f->fetch_article);
        MIX_U(f->move_confirmations);
        for (size_t k = 0; k < f->n_hooks; k++)
            MIX_S(f->hooks[k]);
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
        MIX_U(hk->events);
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
    for (size_t i = 0; i < j->n_changed; i++)
        store_feed_done(&j->changed[i]);
    free(j->changed);
    free(j->node);
    free(j->hand);
    hook_hand_free(j->dlv_ids, j->dlv_hooks, j->n_dlv);
    free(j->skip);
    free(j->name);
    free(j);
}

/* Appends a copy of feed to *rows (writer thread). */
static int
rows_add(struct store_feed **rows, size_t *n, size_t *cap, const struct store_feed *feed)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        struct store_feed *v = realloc(*rows, c * sizeof(*v));
        if (!v)
            return -ENOMEM;
        *rows = v;
        *cap = c;
    }
    struct store_feed *row = &(*rows)[*n];
    *row = (struct store_feed){0};
    int r = store_feed_copy(row, feed);
    if (r < 0)
        return r;
    (*n)++;
    return 0;
}

/* Keeps a copy of each claimed row (writer thread). */
static int
on_claimed(void *userdata, const struct store_feed *feed)
{
    struct cluster_job *j = userdata;
    return rows_add(&j->rows, &j->n_rows, &j->cap_rows, feed);
}

/* Keeps a copy of each changed row (writer thread). */
static int
on_changed(void *userdata, const struct store_feed *feed)
{
    struct cluster_job *j = userdata;
    return rows_add(&j->changed, &j->n_changed, &j->cap_changed, feed);
}

/*
 * The id of this start, "PLACE/RANDOM": two lives of one node name are told apart by it.
 * PLACE is where its pid means something: the kernel's boot and the pid namespace (two
 * containers of one host name share the boot, not the namespace), so that a join can tell
 * a life whose process is gone (same place, no such pid) from one it cannot see.
 */
static void
new_instance(char *out, size_t size)
{
    char boot[64] = "";
    FILE *fp = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (fp) {
        if (!fgets(boot, sizeof(boot), fp))
            boot[0] = '\0';
        fclose(fp);
    }
    boot[strcspn(boot, "\n/")] = '\0';
    struct stat ns;
    unsigned long long ns_ino =
        stat("/proc/self/ns/pid", &ns) == 0 ? (unsigned long long)ns.st_ino : 0;
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        /* No kernel randomness: the clock and the pid, which no other life shares either. */
        uint64_t t = (uint64_t)util_now_ms(), p = (uint64_t)getpid();
        memcpy(b, &t, 8);
        memcpy(b + 8, &p, 8);
    }
    char rnd[33];
    for (size_t i = 0; i < sizeof(b); i++)
        (void)snprintf(rnd + 2 * i, 3, "%02x", b[i]);
    if (boot[0] && ns_ino)
        (void)snprintf(out, size, "%s:%llu/%s", boot, ns_ino, rnd);
    else
        (void)snprintf(out, size, "?/%s", rnd); /* no place: a live name is never taken over */
}

/* Whether two lives' ids have one known place (new_instance). */
static bool
same_place(const char *a, const char *b)
{
    const char *sa = strchr(a, '/'), *sb = strchr(b, '/');
    return sa && sb && sa - a == sb - b && strncmp(a, "?/", 2) != 0 &&
           strncmp(a, b, (size_t)(sa - a)) == 0;
}

/*
 * JOB_JOIN's question: may this daemon take the node's name? Not from a life that is alive
 * elsewhere (two daemons given one name would end each other's leases); a life of this
 * machine and pid namespace whose process is gone (a crash, kill -9, a restart right after)
 * is over, and a name that no life holds, or whose life stopped beating, is free.
 */
static int
may_join(void *userdata, const struct store_node *row)
{
    struct cluster_job *j = userdata;
    struct cluster *c = j->c;
    if (!row->alive || !row->instance || strcmp(row->instance, c->instance) == 0)
        return 0;
    /* Of this place (boot and pid namespace): over when its pid is gone, or is this one's. */
    if (same_place(row->instance, c->instance) && row->pid > 0 &&
        (row->pid == c->pid || (kill((pid_t)row->pid, 0) < 0 && errno == ESRCH)))
        return 0;
    (void)snprintf(j->refused, sizeof(j->refused),
                   "node '%s' is alive: pid %" PRId64 " on '%s' beat on the database %" PRId64
                   " s ago under this name (give each daemon its own [daemon] node, or stop"
                   " that one)",
                   row->name, row->pid, row->host_name ? row->host_name : "an unknown host",
                   row->seen_at > 0 ? j->server_now - row->seen_at : 0);
    return -EADDRINUSE;
}

/* Writer thread: the join, the beat and the claim (one transaction), or the leave. */
static int
job_work(struct writer_job *job, struct store *store)
{
    struct cluster_job *j = (struct cluster_job *)job;
    struct cluster *c = j->c;
    struct store_node_self self = {
        .name = j->node,
        .instance = c->instance,
        .host_name = c->host[0] ? c->host : NULL,
        .config_hash = j->hash,
        .pid = j->pid,
        .started_at = j->started_at,
        .lease_s = j->lease_s,
    };
    if (j->kind == JOB_LEAVE)
        return store_node_leave(store, &self);
    if (j->kind == JOB_JOIN) {
        j->server_now = util_now_ms() / 1000; /* for may_join's message only */
        return store_node_join(store, &self, CLUSTER_PRUNE_S, may_join, j, &j->server_now);
    }
    struct store_node_hand hand = {
        .feed_ids = j->hand,
        .n_feeds = j->n_hand,
        .alert_ids = j->dlv_ids,
        .hooks = j->dlv_hooks,
        .n_deliveries = j->n_dlv,
    };
    int r = store_node_beat(store, &self, &hand, &j->server_now);
    if (r >= 0 && (j->skip_clear || j->n_skip))
        r = store_feeds_skip(store, j->node, j->skip_clear, j->skip, j->n_skip);
    if (r >= 0 && j->limit > 0)
        r = store_feeds_claim(store, j->node, j->lease_s, j->limit, j->hand, j->n_hand, j->only_id,
                              on_claimed, j);
    if (r >= 0 && j->kind == JOB_TICK)
        r = store_feeds_changed(store, &j->changed_seq, CLUSTER_CHANGES_MAX, on_changed, j);
    if (r >= 0 && j->prune)
        r = store_nodes_prune(store, CLUSTER_PRUNE_S);
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
 * The feed's state becomes row's (another node may have polled it, paused it...), but for its
 * count of items, which the row does not carry.
 */
static int
take_state(struct dfeed *f, const struct store_feed *row)
{
    struct store_feed st = {0};
    int r = store_feed_copy(&st, row);
    if (r < 0)
        return r;
    st.items = f->st.items;
    store_feed_done(&f->st);
    f->st = st;
    return 0;
}

static bool
same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/*
 * Whether f, a run-time feed, is not the row's any more: removed, or removed and added again
 * (another URL, other options) on another node. Its dfeed was made from its URL and options
 * once: it must be made again.
 */
static bool
runtime_gone(const struct dfeed *f, const struct store_feed *row)
{
    return f->runtime_cfg && (row->removed || !row->runtime_url ||
                              strcmp(row->runtime_url, f->runtime_cfg->url) != 0 ||
                              !same_text(row->runtime_opts, f->st.runtime_opts));
}

/*
 * Another node changed a feed (polled it, paused it): this node's copy follows, unless the
 * feed is in this node's hands (a poll under way or waiting for a slot, a lease held) — its
 * own save comes later. A feed `add`ed on another node joins the table, one `remove`d there
 * leaves it, so that every node's `feeds` shows the cluster's.
 */
static void
take_changed(struct cluster *c, const struct store_feed *row)
{
    char q[LOG_QUOTE_MAX];
    struct dfeed *f = feedtable_find(c->t, row->name);
    if (!f) {
        if (row->runtime_url && !row->removed && feedtable_adopt(c->t, row, &f) == 0) {
            f->st.lease_epoch = 0;
            log_notice("cluster: feed '%s' was added on another node",
                       log_quote(row->name, q, sizeof(q)));
        }
        return;
    }
    if (f->st.id != row->id)
        return;
    if (runtime_gone(f, row)) {
        log_notice("cluster: feed '%s' was %s on another node", log_quote(row->name, q, sizeof(q)),
                   row->removed ? "removed" : "added again with other settings");
        feedtable_forget(c->t, f);
        if (!row->removed && feedtable_adopt(c->t, row, &f) == 0)
            f->st.lease_epoch = 0;
        return;
    }
    if (f->poll || f->ready || f->st.lease_epoch > 0)
        return;
    if (take_state(f, row) < 0)
        return;
    f->st.lease_epoch = 0;
    f->st_gen++;
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
    if (f && f->st.id == row->id && runtime_gone(f, row)) {
        feedtable_forget(c->t, f); /* removed and added again elsewhere: made again */
        f = NULL;
    }
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
    if (take_state(f, row) < 0)
        return NULL;
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
    if (result == -EADDRINUSE && j->kind != JOB_LEAVE && !c->d->stopping) {
        /* Another daemon joined under this name: this one leaves the name to it. */
        log_error("cluster: node '%s': %s: stopping", j->node,
                  job->error[0] ? job->error : strerror(-result));
        if (c->lost)
            c->lost(c->lost_ctx);
        job_free(j);
        return;
    }
    if (result < 0 && j->kind != JOB_ONE && result != c->last_error) {
        log_warn("cluster: node '%s': %s", j->node, job->error[0] ? job->error : strerror(-result));
        c->last_error = result;
    } else if (result >= 0 && j->kind == JOB_TICK) {
        c->last_error = 0;
    }
    if (j->kind == JOB_TICK) {
        if (result < 0 && j->reloads == c->reloads) {
            /* What this tick was to record is for the next one (unless a reload came since:
             * the new config decides again what this node cannot poll). */
            c->skip_clear |= j->skip_clear;
            for (size_t i = 0; i < j->n_skip; i++)
                skip_add(c, j->skip[i]);
        } else {
            c->changed_seq = j->changed_seq;
            for (size_t i = 0; i < j->n_changed; i++)
                take_changed(c, &j->changed[i]);
        }
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
    struct dfeed *busy = j->kind == JOB_ONE && !polled ? feedtable_find(c->t, j->name) : NULL;
    if (busy && (busy->poll || busy->ready)) {
        /* A tick claimed and polls it meanwhile: the waiter waits for that poll. */
        (void)feedtable_poll_now(c->t, busy, j->cb, j->cb_ctx);
    } else if (j->kind == JOB_ONE && !polled) {
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
    if (!j->node || (kind != JOB_LEAVE && hand_ids(c, &j->hand, &j->n_hand) < 0) ||
        (kind != JOB_LEAVE && hook_hand(c->d->hooks, &j->dlv_ids, &j->dlv_hooks, &j->n_dlv) < 0)) {
        job_free(j);
        return NULL;
    }
    if (kind == JOB_TICK) {
        /* The feeds found unpollable since the last tick go with this one (back on failure). */
        j->skip = c->skip;
        j->n_skip = c->n_skip;
        j->skip_clear = c->skip_clear;
        j->reloads = c->reloads;
        c->skip = NULL;
        c->n_skip = c->cap_skip = 0;
        c->skip_clear = false;
        j->changed_seq = c->changed_seq;
        if (++c->ticks >= CLUSTER_PRUNE_TICKS) {
            c->ticks = 0;
            j->prune = true;
        }
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
    /* First in the writer's queue: a backlog of saves must not outlast the leases. */
    if (writer_submit_first(c->d->writer, &j->job) < 0) {
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

/* The join's done callback: cluster_start reads and frees the job itself. */
static void
join_done(struct writer_job *job, int result)
{
    (void)job;
    (void)result;
}

/*
 * Starts the node: joins (refused when a live daemon holds the name; else a previous life's
 * leases end), then ticks.
 */
int
cluster_start(struct dctx *d, struct feedtable *t, cluster_lost_cb lost, void *lost_ctx,
              struct cluster **ret, char **reterr_msg)
{
    struct cluster *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->d = d;
    c->t = t;
    c->lost = lost;
    c->lost_ctx = lost_ctx;
    c->pid = (int64_t)getpid();
    c->started_at = util_now_ms() / 1000;
    new_instance(c->instance, sizeof(c->instance));
    if (gethostname(c->host, sizeof(c->host) - 1) < 0)
        c->host[0] = '\0';
    config_hash(d->conf, c->hash);
    /*
     * A live life of the name may be this node's own, just ended where this one cannot see
     * its process (another container, a reboot): it stops beating within its lease. So the
     * join is tried again for a lease and a few seconds before the start gives up.
     */
    char refused[512] = "";
    int64_t give_up_ms = util_now_ms() + ((int64_t)d->conf->daemon.lease_s + 5) * 1000;
    int r;
    for (bool told = false;; told = true) {
        struct cluster_job *join = job_new(c, JOB_JOIN);
        if (!join) {
            r = -ENOMEM;
            break;
        }
        join->job.done = join_done; /* read here, freed here */
        r = writer_call(d->writer, &join->job);
        if (r >= 0 && join->server_now > 0)
            clock_offset(c, join->server_now);
        memcpy(refused, join->refused, sizeof(refused));
        if (r < 0 && !refused[0] && join->job.error[0])
            (void)snprintf(refused, sizeof(refused), "%s", join->job.error);
        job_free(join);
        if (r != -EADDRINUSE || util_now_ms() >= give_up_ms)
            break;
        if (!told)
            log_warn("cluster: %s; waiting up to %" PRIu64 " s for it to stop beating", refused,
                     d->conf->daemon.lease_s + 5);
        (void)usleep(1000 * 1000);
    }
    if (r < 0) {
        if (asprintf(reterr_msg, "cluster: node '%s' cannot join: %s", d->conf->daemon.node,
                     refused[0] ? refused : strerror(-r)) < 0)
            *reterr_msg = NULL;
        free(c);
        return r;
    }
    uv_timer_init(&d->loop, &c->timer);
    c->timer.data = c;
    (void)uv_timer_start(&c->timer, on_tick, 0, CLUSTER_TICK_MS);
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
    /* The new config may name feeds this node left to the others: they are claimed again. */
    c->n_skip = 0;
    c->skip_clear = true;
    c->reloads++;
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
