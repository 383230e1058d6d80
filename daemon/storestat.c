/*
 * storestat.c — the store's tallies for `status` and the metrics, read on a thread of its own
 * (storestat.h).
 *
 * The loop and the thread share only what the lock guards: go (a read is asked for), stop, and
 * the result of the read that ended (done, r, the tallies, the error). Everything else is the
 * loop's (the wants, the last good tallies, the generations) or the thread's (its store).
 */
#include "storestat.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "search.h"

struct storestat_want {
    struct storestat *s;
    storestat_done_cb done;
    void *ctx;
    uint64_t deadline_ms; /* uv_now after which it is answered stale */
    uint64_t gen;         /* the read whose end answers it */
    struct storestat_want *prev, *next;
};

struct storestat {
    uv_loop_t *loop;
    uv_async_t async; /* the thread's read ended */
    uv_timer_t timer; /* the first want's deadline */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *db_path;
    struct search *search;
    bool nodes;

    /* Under lock. */
    bool go, stop, done;
    int r;                        /* of the read that ended: 0 or a negative errno */
    struct storestat_snap result; /* its tallies when r is 0 */
    char result_error[STORESTAT_ERROR_MAX];

    /* The thread's. */
    struct store *store;
    struct search_reader *search_reader;

    /* The loop's. */
    bool reading;               /* a read is under way (asked for and not ended) */
    uint64_t gen;               /* the generation of the last read asked for (0: none yet) */
    struct storestat_snap last; /* the last good read's tallies */
    char last_error[STORESTAT_ERROR_MAX]; /* why the last read failed; "" when it did not */
    struct storestat_want *head, *tail;   /* in the order they came (so of their deadlines) */
    bool closing;
};

static void
snap_done(struct storestat_snap *snap)
{
    for (size_t i = 0; i < snap->n_topics; i++)
        free((char *)snap->topics[i].topic);
    free(snap->topics);
    for (size_t i = 0; i < snap->n_nodes; i++) {
        free((char *)snap->nodes[i].name);
        free((char *)snap->nodes[i].config_hash);
    }
    free(snap->nodes);
    *snap = (struct storestat_snap){0};
}

/* Thread: one topic's count (store_alert_topic_counts). */
static int
on_topic(void *userdata, const char *topic, int64_t count)
{
    struct storestat_snap *snap = userdata;
    if (snap->n_topics >= STORESTAT_MAX_TOPICS)
        return 0;
    if ((snap->n_topics & (snap->n_topics - 1)) == 0) { /* full at 0, 1, 2, 4...: double */
        size_t cap = snap->n_topics ? snap->n_topics * 2 : 1;
        struct metrics_topic *v = realloc(snap->topics, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        snap->topics = v;
    }
    char *name = strdup(topic);
    if (!name)
        return -ENOMEM;
    snap->topics[snap->n_topics++] =
        (struct metrics_topic){.topic = name, .alerts = count > 0 ? (uint64_t)count : 0};
    return 0;
}

/* Thread: one node of the cluster (store_nodes_list), copied. */
static int
on_node(void *userdata, const struct store_node *n)
{
    struct storestat_snap *snap = userdata;
    if (snap->n_nodes >= STORESTAT_MAX_NODES)
        return 0;
    if ((snap->n_nodes & (snap->n_nodes - 1)) == 0) { /* full at 0, 1, 2, 4...: double */
        size_t cap = snap->n_nodes ? snap->n_nodes * 2 : 1;
        struct store_node *v = realloc(snap->nodes, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        snap->nodes = v;
    }
    struct store_node copy = *n;
    copy.name = strdup(n->name ? n->name : "");
    copy.config_hash = n->config_hash ? strdup(n->config_hash) : NULL;
    if (!copy.name || (n->config_hash && !copy.config_hash)) {
        free((char *)copy.name);
        free((char *)copy.config_hash);
        return -ENOMEM;
    }
    snap->nodes[snap->n_nodes++] = copy;
    return 0;
}

/* Thread: one read of every tally into *snap (zeroed); 0, or a negative errno with err set. */
static int
read_snap(struct storestat *s, struct storestat_snap *snap, char err[STORESTAT_ERROR_MAX])
{
    if (!s->store) {
        char *e = NULL;
        int r = store_open_reader(s->db_path, &s->store, &e);
        if (r < 0) {
            (void)snprintf(err, STORESTAT_ERROR_MAX, "%s", e ? e : "out of memory");
            free(e);
            return r;
        }
    }
    struct store *st = s->store;
    int r;
    (void)store_disk_bytes(st, &snap->database_bytes); /* 0 when unknown, as status has it */
    if ((r = store_alert_counts(st, &snap->alerts_delivered, &snap->alerts_pending,
                                &snap->alerts_failed, &snap->alerts_no_hook)) < 0 ||
        (r = store_item_events_failed(st, &snap->item_events_failed)) < 0 ||
        (r = store_alert_topic_counts(st, on_topic, snap)) < 0 ||
        (s->nodes && (r = store_nodes_list(st, on_node, snap)) < 0)) {
        (void)snprintf(err, STORESTAT_ERROR_MAX, "%s",
                       r == -ENOMEM ? "out of memory" : store_errmsg(st));
        snap_done(snap);
        return r;
    }
    if (s->search && (s->search_reader || search_reader_open(s->search, &s->search_reader) == 0))
        snap->search_lag = search_reader_lag(s->search, s->search_reader);
    snap->read_at = (int64_t)time(NULL);
    return 0;
}

static void *
storestat_thread(void *arg)
{
    struct storestat *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->go && !s->stop)
            pthread_cond_wait(&s->cond, &s->lock);
        if (s->stop)
            break;
        s->go = false;
        pthread_mutex_unlock(&s->lock);

        struct storestat_snap snap = {0};
        char err[STORESTAT_ERROR_MAX] = "";
        int r = read_snap(s, &snap, err);

        pthread_mutex_lock(&s->lock);
        snap_done(&s->result); /* a result the loop never took (it was closing) */
        s->result = snap;
        s->r = r;
        memcpy(s->result_error, err, sizeof(err));
        s->done = true;
        if (!s->stop)
            (void)uv_async_send(&s->async);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Loop: asks the thread for a read. */
static void
read_start(struct storestat *s)
{
    s->reading = true;
    s->gen++;
    pthread_mutex_lock(&s->lock);
    s->go = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static void
want_unlink(struct storestat_want *w)
{
    struct storestat *s = w->s;
    if (w->prev)
        w->prev->next = w->next;
    else
        s->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        s->tail = w->prev;
    w->prev = w->next = NULL;
}

static void on_timer(uv_timer_t *t);

static void
timer_arm(struct storestat *s)
{
    if (s->closing)
        return;
    if (!s->head) {
        (void)uv_timer_stop(&s->timer);
        return;
    }
    uint64_t now = uv_now(s->loop);
    uint64_t wait = s->head->deadline_ms > now ? s->head->deadline_ms - now : 0;
    (void)uv_timer_start(&s->timer, on_timer, wait, 0);
}

/* Loop: answers (and frees) w. */
static void
want_answer(struct storestat_want *w, bool fresh, const char *error)
{
    struct storestat *s = w->s;
    want_unlink(w);
    w->done(w->ctx, &s->last, fresh, fresh ? NULL : error);
    free(w);
}

/* Loop: the thread's read ended: the wants it answers get its tallies. */
static void
on_async(uv_async_t *a)
{
    struct storestat *s = a->data;
    pthread_mutex_lock(&s->lock);
    bool done = s->done;
    int r = s->r;
    struct storestat_snap snap = s->result;
    char err[STORESTAT_ERROR_MAX];
    memcpy(err, s->result_error, sizeof(err));
    s->result = (struct storestat_snap){0};
    s->done = false;
    pthread_mutex_unlock(&s->lock);
    if (!done || s->closing) {
        snap_done(&snap);
        return;
    }
    s->reading = false;
    if (r == 0) {
        snap_done(&s->last);
        s->last = snap;
        s->last_error[0] = '\0';
    } else {
        memcpy(s->last_error, err, sizeof(err));
    }
    uint64_t ended = s->gen;
    while (s->head && s->head->gen <= ended)
        want_answer(s->head, r == 0, s->last_error);
    /* Those that came during the read are the next one's (their gens are all ended + 1). */
    for (struct storestat_want *w = s->head; w; w = w->next)
        if (w->gen > ended) {
            read_start(s);
            break;
        }
    timer_arm(s);
}

/* Loop: the first wants' deadlines passed: they get the last good tallies, stale. */
static void
on_timer(uv_timer_t *t)
{
    struct storestat *s = t->data;
    uint64_t now = uv_now(s->loop);
    char why[STORESTAT_ERROR_MAX + 64];
    if (s->last_error[0])
        (void)snprintf(why, sizeof(why),
                       "the database did not answer within %u s (the last read failed: %s)",
                       STORESTAT_WAIT_MS / 1000, s->last_error);
    else
        (void)snprintf(why, sizeof(why), "the database did not answer within %u s",
                       STORESTAT_WAIT_MS / 1000);
    while (s->head && s->head->deadline_ms <= now)
        want_answer(s->head, false, why);
    timer_arm(s);
}

int
storestat_new(uv_loop_t *loop, const char *db_path, struct search *search, bool nodes,
              struct storestat **ret)
{
    struct storestat *s = calloc(1, sizeof(*s));
    if (!s || !(s->db_path = strdup(db_path))) {
        free(s);
        return -ENOMEM;
    }
    s->loop = loop;
    s->search = search;
    s->nodes = nodes;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    int r = -pthread_create(&s->thread, NULL, storestat_thread, s);
    if (r < 0) {
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s->db_path);
        free(s);
        return r;
    }
    /* The thread sends nothing before the first want asks it to read. */
    (void)uv_async_init(loop, &s->async, on_async);
    (void)uv_timer_init(loop, &s->timer);
    s->async.data = s->timer.data = s;
    *ret = s;
    return 0;
}

struct storestat_want *
storestat_want(struct storestat *s, storestat_done_cb done, void *ctx)
{
    if (!s || s->closing)
        return NULL;
    struct storestat_want *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    *w = (struct storestat_want){
        .s = s, .done = done, .ctx = ctx, .deadline_ms = uv_now(s->loop) + STORESTAT_WAIT_MS};
    if (s->reading) {
        w->gen = s->gen + 1; /* the read under way began before: the next one answers it */
    } else {
        read_start(s);
        w->gen = s->gen;
    }
    w->prev = s->tail;
    if (s->tail)
        s->tail->next = w;
    else
        s->head = w;
    s->tail = w;
    timer_arm(s);
    return w;
}

void
storestat_forget(struct storestat_want *w)
{
    if (!w)
        return;
    struct storestat *s = w->s;
    want_unlink(w);
    free(w);
    timer_arm(s);
}

void
storestat_close(struct storestat *s)
{
    if (!s || s->closing)
        return;
    s->closing = true;
    while (s->head) {
        struct storestat_want *w = s->head;
        want_unlink(w);
        free(w);
    }
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    if (!uv_is_closing((uv_handle_t *)&s->async))
        uv_close((uv_handle_t *)&s->async, NULL);
    if (!uv_is_closing((uv_handle_t *)&s->timer))
        uv_close((uv_handle_t *)&s->timer, NULL);
}

void
storestat_free(struct storestat *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    (void)pthread_join(s->thread, NULL);
    while (s->head) {
        struct storestat_want *w = s->head;
        want_unlink(w);
        free(w);
    }
    snap_done(&s->result);
    snap_done(&s->last);
    store_free(s->store);
    search_reader_free(s->search_reader);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s->db_path);
    free(s);
}
