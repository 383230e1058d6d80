/*
 * search.c — full-text search (search.h) in front of the index's engines (search-internal.h):
 * the indexer thread, the forget queue, the words an item is indexed with, and the matcher's
 * verification of candidates, newest first. No SQL here: it is in search_sqlite.c (FTS5 in a
 * file beside the database) and search_pg.c (a GIN index in the PostgreSQL database).
 */
#include "search.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "log.h"
#include "parse/feed.h"
#include "search-internal.h"
#include "text/normalize.h"
#include "topics/match.h"
#include "topics/query.h"

#define SEARCH_IDLE_WAKE_NS (5ull * 1000 * 1000 * 1000) /* the indexer looks anyway this often */

/* Connections of its own, used by one thread at a time. */
struct search_reader {
    const struct search_engine *engine;
    struct search_conn *conn;
};

struct search {
    const struct search_engine *engine;
    char *database;
    struct search_reader loop; /* the loop thread's: search_lag() and search_run() */
    uv_thread_t thread;
    bool thread_started;
    uv_mutex_t lock;
    uv_cond_t cond;
    bool stop;                                            /* under lock */
    bool kicked;                                          /* under lock */
    struct search_forget_item *forget_head, *forget_tail; /* under lock */
    size_t n_forget; /* under lock: queued or being taken out */
    _Atomic int64_t hwm;
};

/* The engines of this build, by the kind of database they serve. */
static const struct search_engine *const search_engines[] = {
    &search_sqlite_engine,
    &search_pg_engine,
};

/* Appends n bytes of s (and a NUL) to the growing string *buf. */
int
search_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = (*len + n + 1) * 2;
        char *nb = realloc(*buf, c);
        if (!nb)
            return -ENOMEM;
        *buf = nb;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

struct index_text {
    char *buf;
    size_t len;
    size_t cap;
    bool oom;
};

static int
on_index_token(const struct normalize_token *tok, void *userdata)
{
    struct index_text *t = userdata;
    if ((t->len && search_append(&t->buf, &t->len, &t->cap, " ", 1) < 0) ||
        search_append(&t->buf, &t->len, &t->cap, tok->norm, tok->norm_len) < 0) {
        t->oom = true;
        return 1;
    }
    return 0;
}

/* The words an engine indexes for a text, separated by single spaces. */
char *
search_index_words(const char *text)
{
    struct index_text t = {0};
    if (search_append(&t.buf, &t.len, &t.cap, "", 0) < 0)
        return NULL;
    if (text && normalize_tokenize(text, strlen(text), 0, on_index_token, &t, NULL) < 0)
        t.oom = true;
    if (t.oom) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}

static int
expr_raw(char **b, size_t *l, size_t *c, const char *s)
{
    return search_append(b, l, c, s, strlen(s));
}

/* One word of the query as candidates: its parts (all of them), or its joined form. */
static int
expr_unit(const struct search_dialect *d, char **b, size_t *l, size_t *c,
          const struct query_unit *u)
{
    int r = expr_raw(b, l, c, "(");
    if (u->joined) {
        r = r ? r : d->token(b, l, c, u->joined, u->prefix);
        r = r ? r : expr_raw(b, l, c, d->or_op);
        r = r ? r : expr_raw(b, l, c, "(");
    }
    for (size_t i = 0; i < u->n_parts && !r; i++) {
        if (i)
            r = expr_raw(b, l, c, d->and_op);
        r = r ? r : d->token(b, l, c, u->parts[i], u->prefix && i + 1 == u->n_parts);
    }
    if (u->joined && !r)
        r = expr_raw(b, l, c, ")");
    return r ? r : expr_raw(b, l, c, ")");
}

/* Writes the expression of node; *ret_narrows false when it cannot narrow anything. */
static int
expr_node(const struct search_dialect *d, char **b, size_t *l, size_t *c,
          const struct query_node *node, bool *ret_narrows)
{
    int r = 0;
    switch (node->op) {
    case QUERY_TERM:
    case QUERY_PHRASE:
        *ret_narrows = node->n_units > 0;
        for (size_t i = 0; i < node->n_units && !r; i++) {
            if (i)
                r = expr_raw(b, l, c, d->and_op);
            r = r ? r : expr_unit(d, b, l, c, &node->units[i]);
        }
        return r;
    case QUERY_NOT:
        *ret_narrows = false;
        return 0;
    case QUERY_AND:
    case QUERY_OR: {
        bool any = false;
        size_t start = *l;
        r = expr_raw(b, l, c, "(");
        for (size_t i = 0; i < node->n_children && !r; i++) {
            size_t mark = *l;
            bool narrows = false;
            if (any)
                r = expr_raw(b, l, c, node->op == QUERY_AND ? d->and_op : d->or_op);
            r = r ? r : expr_node(d, b, l, c, node->children[i], &narrows);
            if (r)
                break;
            if (!narrows) {
                if (node->op == QUERY_OR) {
                    *l = start;
                    (*b)[start] = '\0';
                    *ret_narrows = false;
                    return 0;
                }
                *l = mark; /* an AND without this branch is a superset */
                (*b)[mark] = '\0';
                continue;
            }
            any = true;
        }
        r = r ? r : expr_raw(b, l, c, ")");
        *ret_narrows = any;
        if (!any) {
            *l = start;
            (*b)[start] = '\0';
        }
        return r;
    }
    }
    return 0;
}

/* The candidate expression of a query in an engine's dialect. */
int
search_expr(const struct search_dialect *d, const struct query_node *root, char **ret_expr,
            bool *ret_narrows)
{
    char *b = NULL;
    size_t l = 0, c = 0;
    bool narrows = false;
    int r = search_append(&b, &l, &c, "", 0);
    r = r ? r : expr_node(d, &b, &l, &c, root, &narrows);
    if (r < 0) {
        free(b);
        return r;
    }
    if (!narrows)
        b[0] = '\0';
    *ret_expr = b;
    *ret_narrows = narrows;
    return 0;
}

static void
forget_free(struct search_forget_item *f)
{
    while (f) {
        struct search_forget_item *next = f->next;
        free(f->title);
        free(f->body);
        free(f);
        f = next;
    }
}

/*
 * Takes the queued items out of the index. An item above the high-water mark was never
 * indexed (the store prunes none such): the engine leaves it alone. Words left behind by a
 * failure point at pruned items, which search never shows: only a cost.
 */
static void
forget_batch(struct search *s, struct search_conn *conn)
{
    uv_mutex_lock(&s->lock);
    struct search_forget_item *list = s->forget_head;
    s->forget_head = s->forget_tail = NULL;
    uv_mutex_unlock(&s->lock);
    if (!list)
        return;
    size_t n = 0, n_reindex = 0;
    for (struct search_forget_item *f = list; f; f = f->next) {
        n++;
        n_reindex += f->reindex;
    }
    if (s->engine->forget(conn, list, atomic_load(&s->hwm)) < 0)
        log_warn("search: cannot update the index for %zu pruned and %zu edited items: their old"
                 " words stay (search checks every item it finds), and the edited ones are not"
                 " found by their new words until edited again",
                 n - n_reindex, n_reindex);
    forget_free(list);
    uv_mutex_lock(&s->lock);
    s->n_forget -= n;
    uv_mutex_unlock(&s->lock);
}

/* The indexer thread: wakes on search_kick (or every few seconds) and catches up. */
static void
indexer_main(void *arg)
{
    struct search *s = arg;
    struct search_conn *conn = NULL;
    bool caught_up = !s->engine->catch_up;

    for (;;) {
        /* The index's connection (a server that is down now may be up at the next wake-up). */
        if (!conn && s->engine->connect(s->database, true, &conn) < 0)
            conn = NULL;
        uv_mutex_lock(&s->lock);
        while (!s->stop && !s->kicked)
            if (uv_cond_timedwait(&s->cond, &s->lock, SEARCH_IDLE_WAKE_NS) == UV_ETIMEDOUT)
                break;
        bool stop = s->stop;
        s->kicked = false;
        uv_mutex_unlock(&s->lock);
        if (stop)
            break;
        if (!conn)
            continue;
        if (!caught_up) {
            caught_up = true;
            if (s->engine->catch_up(conn, atomic_load(&s->hwm)) < 0)
                log_warn("search: cannot index again the items edited while the index was not"
                         " running: they are found by their old words until edited again");
        }
        forget_batch(s, conn);
        int n;
        do {
            int64_t hwm = atomic_load(&s->hwm);
            n = s->engine->index_batch(conn, hwm, SEARCH_BATCH, &hwm);
            if (n >= 0)
                atomic_store(&s->hwm, hwm);
            uv_mutex_lock(&s->lock);
            stop = s->stop;
            uv_mutex_unlock(&s->lock);
        } while (n == SEARCH_BATCH && !stop);
    }
    /* What the last polls queued (a --once run stops right after them): in before the end. */
    if (conn)
        forget_batch(s, conn);
    s->engine->disconnect(conn);
}

/* Opens the index of database's engine and starts the indexer thread. */
int
search_new(const char *database, struct search **ret_search, char **reterr_msg)
{
    enum dbspec_kind kind = dbspec_kind(database);
    const struct search_engine *engine = NULL;
    for (size_t i = 0; i < sizeof(search_engines) / sizeof(search_engines[0]); i++)
        if (search_engines[i]->kind == kind)
            engine = search_engines[i];
    if (!engine) {
        if (asprintf(reterr_msg, "search: no index engine for this database") < 0)
            *reterr_msg = NULL;
        return -EINVAL;
    }
    struct search *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->engine = engine;
    s->loop.engine = engine;
    s->database = strdup(database);
    if (!s->database) {
        free(s);
        return -ENOMEM;
    }
    uv_mutex_init(&s->lock);
    uv_cond_init(&s->cond);
    int64_t hwm = 0;
    int r = engine->prepare(database, &hwm, reterr_msg);
    atomic_store(&s->hwm, hwm);
    if (r == 0 && engine->connect(database, false, &s->loop.conn) < 0) {
        char *shown = dbspec_redact(database);
        if (asprintf(reterr_msg, "cannot open '%s' for search", shown ? shown : "?") < 0)
            *reterr_msg = NULL;
        free(shown);
        r = -EIO;
    }
    if (r == 0 && uv_thread_create(&s->thread, indexer_main, s) == 0)
        s->thread_started = true;
    else if (r == 0)
        r = -EAGAIN;
    if (r < 0) {
        search_free(s);
        return r;
    }
    *ret_search = s;
    return 0;
}

/* Tells the indexer that items were committed. */
void
search_kick(struct search *s)
{
    if (!s)
        return;
    uv_mutex_lock(&s->lock);
    s->kicked = true;
    uv_cond_signal(&s->cond);
    uv_mutex_unlock(&s->lock);
}

/* The highest item id indexed. */
int64_t
search_hwm(struct search *s)
{
    return s ? atomic_load(&s->hwm) : 0;
}

static int
queue_item(struct search *s, int64_t item_id, const char *title, const char *body, bool reindex)
{
    if (!s)
        return 0;
    struct search_forget_item *f = calloc(1, sizeof(*f));
    if (!f || (title && !(f->title = strdup(title))) || (body && !(f->body = strdup(body)))) {
        forget_free(f);
        return -ENOMEM;
    }
    f->id = item_id;
    f->reindex = reindex;
    uv_mutex_lock(&s->lock);
    if (s->forget_tail)
        s->forget_tail->next = f;
    else
        s->forget_head = f;
    s->forget_tail = f;
    s->n_forget++;
    uv_mutex_unlock(&s->lock);
    return 0;
}

/* Queues an item to take out of the index. */
int
search_forget(struct search *s, int64_t item_id, const char *title, const char *body)
{
    return queue_item(s, item_id, title, body, false);
}

/* Queues an edited item to index again (search.h). */
int
search_reindex(struct search *s, int64_t item_id, const char *title, const char *body)
{
    if (s && s->engine == &search_pg_engine)
        return 0; /* the store queued it (search_queue), in the edit's transaction */
    return queue_item(s, item_id, title, body, true);
}

/* Items queued by search_forget() and not taken out of the index yet. */
size_t
search_forget_pending(struct search *s)
{
    if (!s)
        return 0;
    uv_mutex_lock(&s->lock);
    size_t n = s->n_forget;
    uv_mutex_unlock(&s->lock);
    return n;
}

/* Opens connections of its own for search_reader_run() on another thread. */
int
search_reader_open(struct search *s, struct search_reader **ret_reader)
{
    struct search_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->engine = s->engine;
    int e = s->engine->connect(s->database, false, &r->conn);
    if (e < 0) {
        free(r);
        return e == -ENOMEM ? e : -EIO;
    }
    *ret_reader = r;
    return 0;
}

/* Closes a reader's connections; accepts NULL. */
void
search_reader_free(struct search_reader *r)
{
    if (!r)
        return;
    r->engine->disconnect(r->conn);
    free(r);
}

/* Items stored but not indexed yet, read through r. */
int64_t
search_reader_lag(struct search *s, struct search_reader *r)
{
    return s ? s->engine->lag(r->conn, atomic_load(&s->hwm)) : 0;
}

/* Items stored but not indexed yet. */
int64_t
search_lag(struct search *s)
{
    return s ? search_reader_lag(s, &s->loop) : 0;
}

struct verify {
    struct search *s;
    struct search_conn *conn;
    struct match *m;
    unsigned limit;
    unsigned found;
    search_hit_cb cb;
    void *userdata;
};

/* Reads one candidate from the store and keeps it when the matcher agrees; 1 = limit reached. */
static int
verify_one(struct verify *v, int64_t id)
{
    struct search_hit hit = {0};
    const char *text = NULL;
    int r = v->s->engine->item(v->conn, id, &hit, &text);
    if (r != 0) {
        v->s->engine->item_done(v->conn);
        return r > 0 ? 0 : r;
    }
    hit.item_id = id;
    struct match_doc doc = {.title = hit.title, .text = text};
    struct match_result res = {0};
    r = match_run(v->m, &doc, &res);
    if (r == 0 && res.n_hits > 0) {
        char *mj = match_terms_json(&res.hits[0]);
        hit.matched_json = mj ? mj : "[]";
        r = v->cb(v->userdata, &hit);
        free(mj);
        if (r == 0 && ++v->found >= v->limit)
            r = 1;
    }
    match_result_done(&res);
    v->s->engine->item_done(v->conn);
    return r;
}

/* A candidate and its order key, COALESCE(published_at, first_seen_at) as `items` sorts. */
struct cand {
    int64_t id;
    int64_t key;
};

struct cands {
    struct cand *v;
    size_t n, cap;
};

static int
cands_push(void *userdata, int64_t id)
{
    struct cands *c = userdata;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        struct cand *n = realloc(c->v, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        c->v = n;
        c->cap = cap;
    }
    c->v[c->n++] = (struct cand){id, 0};
    return 0;
}

/* Newest first: the greater key first, then the greater id (items' ORDER BY). */
static int
cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->id > y->id ? -1 : x->id < y->id;
}

/* Ids in descending order (as the candidates are gathered), for bsearch. */
static int
cand_id_desc(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    return x->id > y->id ? -1 : x->id < y->id;
}

/* A walk of the newest items: each one that is a candidate is verified. */
struct walk {
    struct verify *v;
    struct cands *c;
    size_t met;
};

static int
on_walk(void *userdata, int64_t id)
{
    struct walk *w = userdata;
    struct cand k = {.id = id};
    if (!bsearch(&k, w->c->v, w->c->n, sizeof(*w->c->v), cand_id_desc))
        return 0;
    int r = verify_one(w->v, id);
    if (r == 0 && ++w->met >= w->c->n)
        r = 1; /* every candidate met */
    return r;
}

static int
on_newest(void *userdata, int64_t id)
{
    return verify_one(userdata, id);
}

/*
 * Verifies the candidates newest first. Few of them (a selective query): each one's order
 * key is read and they are sorted. Many of them: reading each row costs more than walking
 * the newest-first index until limit hits are found (each entry looked up among the
 * candidates), which also ends once every candidate was met. 0, 1 (limit reached) or <0.
 */
static int
verify_newest_first(struct verify *v, struct cands *c)
{
    const struct search_engine *e = v->s->engine;
    int64_t max_id = 0;
    int r = 0;
    if (c->n == 0)
        return 0; /* nothing to verify (and no array to search) */
    if ((r = e->max_id(v->conn, &max_id)) < 0)
        return r;
    if ((int64_t)c->n * SEARCH_WALK_RATIO < max_id) {
        for (size_t i = 0; i < c->n && r == 0; i++)
            r = e->order_key(v->conn, c->v[i].id, &c->v[i].key);
        if (r < 0)
            return r;
        qsort(c->v, c->n, sizeof(*c->v), cand_cmp);
        for (size_t i = 0; r == 0 && i < c->n; i++)
            r = verify_one(v, c->v[i].id);
        return r;
    }
    struct walk w = {.v = v, .c = c};
    return e->newest(v->conn, 0, on_walk, &w);
}

/* Runs a query (topic language) over the index, newest items first, at most limit hits. */
int
search_run(struct search *s, const char *query, unsigned limit, search_hit_cb cb, void *userdata,
           char **reterr_msg)
{
    return search_reader_run(s, &s->loop, query, limit, cb, userdata, reterr_msg);
}

/* search_run() through the reader's connections: any thread that owns rd. */
int
search_reader_run(struct search *s, struct search_reader *rd, const char *query, unsigned limit,
                  search_hit_cb cb, void *userdata, char **reterr_msg)
{
    struct query *q = NULL;
    int r = query_parse(NULL, query, &q, reterr_msg);
    if (r < 0)
        return r;
    struct verify v = {
        .s = s, .conn = rd->conn, .limit = limit ? limit : 20, .cb = cb, .userdata = userdata};
    char *expr = NULL;
    bool narrows = false;
    struct cands cands = {0};

    v.m = match_new();
    if (!v.m || (r = match_add(v.m, 0, NULL, query, reterr_msg)) < 0 || (r = match_build(v.m)) < 0)
        goto out;
    if ((r = search_expr(s->engine->dialect, q->root, &expr, &narrows)) < 0)
        goto out;
    if (narrows) {
        r = s->engine->candidates(rd->conn, expr, atomic_load(&s->hwm), SEARCH_CANDIDATES_MAX,
                                  cands_push, &cands);
        if (r == 0)
            r = verify_newest_first(&v, &cands);
    } else {
        /* Nothing to narrow with: the newest items, in order, bounded. */
        r = s->engine->newest(rd->conn, SEARCH_SCAN_MAX, on_newest, &v);
    }
    if (r == 1)
        r = 0;
out:
    free(cands.v);
    match_free(v.m);
    query_free(q);
    free(expr);
    return r;
}

/* Stops the indexer (finishing its batch), joins it and closes everything; accepts NULL. */
void
search_free(struct search *s)
{
    if (!s)
        return;
    if (s->thread_started) {
        uv_mutex_lock(&s->lock);
        s->stop = true;
        uv_cond_signal(&s->cond);
        uv_mutex_unlock(&s->lock);
        uv_thread_join(&s->thread);
    }
    s->engine->disconnect(s->loop.conn);
    forget_free(s->forget_head);
    uv_cond_destroy(&s->cond);
    uv_mutex_destroy(&s->lock);
    free(s->database);
    free(s);
}
