#include "search.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "parse/feed.h"
#include "topics/match.h"
#include "text/normalize.h"
#include "topics/query.h"

#define SEARCH_IDLE_WAKE_NS (5ull * 1000 * 1000 * 1000) /* the indexer looks anyway this often */

/*
 * The index file. `docs` is contentless: the text lives in the store, the index only finds
 * candidates. meta.hwm is the highest item id indexed.
 */
static const char search_schema[] =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);\n"
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('hwm', 0);\n"
    "CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(title, text, content='',"
    " columnsize=0, tokenize='unicode61 remove_diacritics 0');\n";

/* An item to take out of the index (search_forget), with the text it was indexed from. */
struct forget {
    struct forget *next;
    int64_t id;
    char *title;
    char *body;
};

/* Read-only connections to the store and the index, used by one thread at a time. */
struct search_reader {
    sqlite3 *rd;  /* items, read only */
    sqlite3 *ird; /* the index, read only */
};

struct search {
    char *db_path;
    char *idx_path;
    struct search_reader loop; /* the loop thread's: search_lag() and search_run() */
    uv_thread_t thread;
    bool thread_started;
    uv_mutex_t lock;
    uv_cond_t cond;
    bool stop;                                /* under lock */
    bool kicked;                              /* under lock */
    struct forget *forget_head, *forget_tail; /* under lock */
    size_t n_forget;                          /* under lock: queued or being taken out */
    _Atomic int64_t hwm;
};

static int
open_db(const char *path, int flags, sqlite3 **ret)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close(db);
        return -EIO;
    }
    (void)sqlite3_busy_timeout(db, 5000);
    *ret = db;
    return 0;
}

static int64_t
read_hwm(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'hwm'", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
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
    if (t->len + tok->norm_len + 2 > t->cap) {
        size_t cap = (t->len + tok->norm_len + 2) * 2;
        char *n = realloc(t->buf, cap);
        if (!n) {
            t->oom = true;
            return 1;
        }
        t->buf = n;
        t->cap = cap;
    }
    if (t->len)
        t->buf[t->len++] = ' ';
    memcpy(t->buf + t->len, tok->norm, tok->norm_len);
    t->len += tok->norm_len;
    t->buf[t->len] = '\0';
    return 0;
}

/*
 * The words FTS5 indexes for a text: every token the matcher sees, the joined forms of
 * hyphenated words included (so `cooperation` finds "co-operation"). NULL on OOM.
 */
static char *
index_words(const char *text)
{
    struct index_text t = {0};
    t.buf = malloc(1);
    if (!t.buf)
        return NULL;
    t.buf[0] = '\0';
    t.cap = 1;
    if (text)
        (void)normalize_tokenize(text, strlen(text), 0, on_index_token, &t, NULL);
    if (t.oom) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}

/* Indexes up to SEARCH_BATCH items above the high-water mark; returns how many, or <0. */
static int
index_batch(struct search *s, sqlite3 *main, sqlite3 *idx, sqlite3_stmt *sel, sqlite3_stmt *ins,
            sqlite3_stmt *upd)
{
    int64_t hwm = atomic_load(&s->hwm);
    int n = 0, rc;
    if (sqlite3_exec(idx, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(sel, 1, hwm);
    sqlite3_bind_int(sel, 2, SEARCH_BATCH);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(sel, 0);
        const char *title = (const char *)sqlite3_column_text(sel, 1);
        const char *text = (const char *)sqlite3_column_text(sel, 2);
        char *nt = index_words(title);
        char *nx = index_words(text);
        if (!nt || !nx) {
            free(nt);
            free(nx);
            rc = SQLITE_NOMEM;
            break;
        }
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_text(ins, 2, nt, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, nx, -1, SQLITE_STATIC);
        rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        free(nt);
        free(nx);
        if (rc != SQLITE_DONE)
            break;
        hwm = id;
        n++;
    }
    sqlite3_reset(sel);
    (void)main;
    if (rc != SQLITE_DONE) {
        (void)sqlite3_exec(idx, "ROLLBACK", NULL, NULL, NULL);
        return -EIO;
    }
    sqlite3_bind_int64(upd, 1, hwm);
    rc = sqlite3_step(upd);
    sqlite3_reset(upd);
    if (rc != SQLITE_DONE || sqlite3_exec(idx, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        (void)sqlite3_exec(idx, "ROLLBACK", NULL, NULL, NULL);
        return -EIO;
    }
    atomic_store(&s->hwm, hwm);
    return n;
}

static void
forget_free(struct forget *f)
{
    while (f) {
        struct forget *next = f->next;
        free(f->title);
        free(f->body);
        free(f);
        f = next;
    }
}

/*
 * Takes the queued items out of the index, in one transaction: FTS5's 'delete' command with
 * the words each was indexed with. An item above the high-water mark was never indexed (the
 * store prunes none such): telling FTS5 to forget words it never had would corrupt it.
 */
static void
forget_batch(struct search *s, sqlite3 *idx, sqlite3_stmt *del)
{
    uv_mutex_lock(&s->lock);
    struct forget *list = s->forget_head;
    s->forget_head = s->forget_tail = NULL;
    uv_mutex_unlock(&s->lock);
    if (!list)
        return;
    size_t n = 0;
    int64_t hwm = atomic_load(&s->hwm);
    bool ok = sqlite3_exec(idx, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    for (struct forget *f = list; f; f = f->next) {
        n++;
        if (!ok || f->id > hwm)
            continue;
        char *nt = index_words(f->title);
        char *nx = index_words(f->body);
        if (nt && nx) {
            sqlite3_bind_int64(del, 1, f->id);
            sqlite3_bind_text(del, 2, nt, -1, SQLITE_STATIC);
            sqlite3_bind_text(del, 3, nx, -1, SQLITE_STATIC);
            ok = sqlite3_step(del) == SQLITE_DONE;
            sqlite3_reset(del);
            sqlite3_clear_bindings(del);
        }
        free(nt);
        free(nx);
    }
    if (ok && sqlite3_exec(idx, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        ok = false;
    if (!ok)
        (void)sqlite3_exec(idx, "ROLLBACK", NULL, NULL, NULL);
    /* Words left behind point at pruned items, which search never shows: only a cost. */
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
    sqlite3 *main = NULL, *idx = NULL;
    sqlite3_stmt *sel = NULL, *ins = NULL, *upd = NULL, *del = NULL;

    if (open_db(s->db_path, SQLITE_OPEN_READONLY, &main) < 0 ||
        open_db(s->idx_path, SQLITE_OPEN_READWRITE, &idx) < 0)
        goto out;
    (void)sqlite3_exec(idx, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(main,
                           "SELECT id, title, COALESCE(text, summary, content) FROM items"
                           " WHERE id > ?1 ORDER BY id LIMIT ?2",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(idx, "INSERT INTO docs (rowid, title, text) VALUES (?1, ?2, ?3)", -1,
                           &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(idx, "UPDATE meta SET value = ?1 WHERE key = 'hwm'", -1, &upd, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(idx,
                           "INSERT INTO docs (docs, rowid, title, text)"
                           " VALUES ('delete', ?1, ?2, ?3)",
                           -1, &del, NULL) != SQLITE_OK)
        goto out;
    for (;;) {
        uv_mutex_lock(&s->lock);
        while (!s->stop && !s->kicked)
            if (uv_cond_timedwait(&s->cond, &s->lock, SEARCH_IDLE_WAKE_NS) == UV_ETIMEDOUT)
                break;
        bool stop = s->stop;
        s->kicked = false;
        uv_mutex_unlock(&s->lock);
        if (stop)
            break;
        forget_batch(s, idx, del);
        int n;
        do {
            n = index_batch(s, main, idx, sel, ins, upd);
            uv_mutex_lock(&s->lock);
            stop = s->stop;
            uv_mutex_unlock(&s->lock);
        } while (n == SEARCH_BATCH && !stop);
    }
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    sqlite3_finalize(del);
    sqlite3_close(main);
    sqlite3_close(idx);
}

/*
 * Gives the index files the database file's mode (the store creates it 0640): the index
 * holds the words of every item, so it must not be readable by more than the store. SQLite
 * would create the file with 0644 and the umask; its -wal and -shm then take the mode of the
 * file. Files of an older version are brought down to the mode too.
 */
static void
index_files_mode(const struct search *s)
{
    struct stat st;
    mode_t mode = 0640;
    if (stat(s->db_path, &st) == 0)
        mode = st.st_mode & 0660;
    int fd =
        open(s->idx_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, mode);
    if (fd >= 0) {
        (void)fchmod(fd, mode);
        (void)close(fd);
    }
    const char *suffixes[] = {"-wal", "-shm"};
    for (size_t i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s%s", s->idx_path, suffixes[i]);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd >= 0) {
            (void)fchmod(fd, mode);
            (void)close(fd);
        }
    }
}

/* Creates (or, when unreadable, rebuilds) the index file and its schema. */
static int
index_prepare(struct search *s, char **reterr_msg)
{
    sqlite3 *db = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        index_files_mode(s);
        int r = open_db(s->idx_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db);
        if (r == 0 && sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) == SQLITE_OK &&
            sqlite3_exec(db, search_schema, NULL, NULL, NULL) == SQLITE_OK) {
            atomic_store(&s->hwm, read_hwm(db));
            sqlite3_close(db);
            return 0;
        }
        /* Not an index we can use: it is only a cache of the store, start it again. */
        sqlite3_close(db);
        db = NULL;
        const char *suffixes[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < 3; i++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s%s", s->idx_path, suffixes[i]);
            (void)unlink(path);
        }
    }
    if (asprintf(reterr_msg, "cannot create the search index '%s'", s->idx_path) < 0)
        *reterr_msg = NULL;
    return -EIO;
}

/* Opens (creating or rebuilding) the index beside db_path and starts the indexer thread. */
int
search_new(const char *db_path, struct search **ret_search, char **reterr_msg)
{
    struct search *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->db_path = strdup(db_path);
    if (!s->db_path || asprintf(&s->idx_path, "%s-search", db_path) < 0) {
        free(s->db_path);
        free(s);
        return -ENOMEM;
    }
    uv_mutex_init(&s->lock);
    uv_cond_init(&s->cond);
    int r = index_prepare(s, reterr_msg);
    if (r == 0 && (open_db(s->db_path, SQLITE_OPEN_READONLY, &s->loop.rd) < 0 ||
                   open_db(s->idx_path, SQLITE_OPEN_READONLY, &s->loop.ird) < 0)) {
        if (asprintf(reterr_msg, "cannot open '%s' for search", s->db_path) < 0)
            *reterr_msg = NULL;
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

/* Queues an item to take out of the index. */
int
search_forget(struct search *s, int64_t item_id, const char *title, const char *body)
{
    if (!s)
        return 0;
    struct forget *f = calloc(1, sizeof(*f));
    if (!f || (title && !(f->title = strdup(title))) || (body && !(f->body = strdup(body)))) {
        forget_free(f);
        return -ENOMEM;
    }
    f->id = item_id;
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

/* Opens read-only connections of its own for search_reader_run() on another thread. */
int
search_reader_open(struct search *s, struct search_reader **ret_reader)
{
    struct search_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    if (open_db(s->db_path, SQLITE_OPEN_READONLY, &r->rd) < 0 ||
        open_db(s->idx_path, SQLITE_OPEN_READONLY, &r->ird) < 0) {
        search_reader_free(r);
        return -EIO;
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
    sqlite3_close(r->rd);
    sqlite3_close(r->ird);
    free(r);
}

/* Items stored but not indexed yet, read through r. */
int64_t
search_reader_lag(struct search *s, struct search_reader *r)
{
    sqlite3_stmt *st = NULL;
    int64_t lag = 0;
    if (!s)
        return 0;
    if (sqlite3_prepare_v2(r->rd, "SELECT count(*) FROM items WHERE id > ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, atomic_load(&s->hwm));
        if (sqlite3_step(st) == SQLITE_ROW)
            lag = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return lag;
}

/* Items stored but not indexed yet. */
int64_t
search_lag(struct search *s)
{
    return s ? search_reader_lag(s, &s->loop) : 0;
}

/* Appends an FTS5 string token ("..." with quotes doubled). */
static int
fts_token(char **buf, size_t *len, size_t *cap, const char *tok, bool prefix)
{
    size_t need = *len + 2 * strlen(tok) + 8;
    if (need > *cap) {
        size_t c = need * 2;
        char *n = realloc(*buf, c);
        if (!n)
            return -ENOMEM;
        *buf = n;
        *cap = c;
    }
    (*buf)[(*len)++] = '"';
    for (const char *p = tok; *p; p++) {
        if (*p == '"')
            (*buf)[(*len)++] = '"';
        (*buf)[(*len)++] = *p;
    }
    (*buf)[(*len)++] = '"';
    if (prefix)
        (*buf)[(*len)++] = '*';
    (*buf)[*len] = '\0';
    return 0;
}

static int
fts_raw(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t c = (*len + n + 1) * 2;
        char *nb = realloc(*buf, c);
        if (!nb)
            return -ENOMEM;
        *buf = nb;
        *cap = c;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
    return 0;
}

/* One word of the query as FTS5 candidates: its parts (all of them), or its joined form. */
static int
fts_unit(char **b, size_t *l, size_t *c, const struct query_unit *u)
{
    int r = fts_raw(b, l, c, "(");
    if (u->joined) {
        r = r ? r : fts_token(b, l, c, u->joined, u->prefix);
        r = r ? r : fts_raw(b, l, c, " OR (");
    }
    for (size_t i = 0; i < u->n_parts && !r; i++) {
        if (i)
            r = fts_raw(b, l, c, " AND ");
        r = r ? r : fts_token(b, l, c, u->parts[i], u->prefix && i + 1 == u->n_parts);
    }
    if (u->joined && !r)
        r = fts_raw(b, l, c, ")");
    return r ? r : fts_raw(b, l, c, ")");
}

/*
 * Writes an FTS5 expression that matches a superset of what node matches. *ret_narrows is
 * false when it cannot narrow anything (a NOT, or an OR with such a branch).
 */
static int
fts_expr(char **b, size_t *l, size_t *c, const struct query_node *node, bool *ret_narrows)
{
    int r = 0;
    switch (node->op) {
    case QUERY_TERM:
    case QUERY_PHRASE:
        *ret_narrows = node->n_units > 0;
        for (size_t i = 0; i < node->n_units && !r; i++) {
            if (i)
                r = fts_raw(b, l, c, " AND ");
            r = r ? r : fts_unit(b, l, c, &node->units[i]);
        }
        return r;
    case QUERY_NOT:
        *ret_narrows = false;
        return 0;
    case QUERY_AND:
    case QUERY_OR: {
        bool any = false;
        size_t start = *l;
        r = fts_raw(b, l, c, "(");
        for (size_t i = 0; i < node->n_children && !r; i++) {
            size_t mark = *l;
            bool narrows = false;
            if (any)
                r = fts_raw(b, l, c, node->op == QUERY_AND ? " AND " : " OR ");
            r = r ? r : fts_expr(b, l, c, node->children[i], &narrows);
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
        r = r ? r : fts_raw(b, l, c, ")");
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

struct verify {
    struct search *s;
    struct match *m;
    sqlite3_stmt *item;
    unsigned limit;
    unsigned found;
    search_hit_cb cb;
    void *userdata;
};

/* Reads one candidate from the store and keeps it when the matcher agrees; 1 = limit reached. */
static int
verify_one(struct verify *v, int64_t id)
{
    sqlite3_stmt *st = v->item;
    int r = 0;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        struct match_doc doc = {
            .title = (const char *)sqlite3_column_text(st, 0),
            .text = (const char *)sqlite3_column_text(st, 1),
        };
        struct match_result res = {0};
        r = match_run(v->m, &doc, &res);
        if (r == 0 && res.n_hits > 0) {
            char *mj = match_terms_json(&res.hits[0]);
            struct search_hit hit = {
                .item_id = id,
                .title = doc.title,
                .feed = (const char *)sqlite3_column_text(st, 2),
                .url = (const char *)sqlite3_column_text(st, 3),
                .published_at = sqlite3_column_type(st, 4) == SQLITE_NULL
                                    ? FEED_TIME_NONE
                                    : sqlite3_column_int64(st, 4),
                .key = (const char *)sqlite3_column_text(st, 5),
                .updated_at = sqlite3_column_type(st, 6) == SQLITE_NULL
                                  ? FEED_TIME_NONE
                                  : sqlite3_column_int64(st, 6),
                .author = (const char *)sqlite3_column_text(st, 7),
                .language = (const char *)sqlite3_column_text(st, 8),
                .summary = (const char *)sqlite3_column_text(st, 9),
                .matched_json = mj ? mj : "[]",
            };
            r = v->cb(v->userdata, &hit);
            free(mj);
            if (r == 0 && ++v->found >= v->limit)
                r = 1;
        }
        match_result_done(&res);
    }
    sqlite3_reset(st);
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
cands_push(struct cands *c, int64_t id, int64_t key)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        struct cand *n = realloc(c->v, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        c->v = n;
        c->cap = cap;
    }
    c->v[c->n++] = (struct cand){id, key};
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

/* Adds each id that ids gives (a statement whose rows start with an item id, descending). */
static int
cands_add_ids(struct cands *c, sqlite3_stmt *ids)
{
    int r = 0;
    while (r == 0 && sqlite3_step(ids) == SQLITE_ROW)
        r = cands_push(c, sqlite3_column_int64(ids, 0), 0);
    return r;
}

/* The items newest first as `items` lists them: a walk of items_newest (id and key only). */
#define SEARCH_NEWEST_SQL                                                                          \
    "SELECT id FROM items ORDER BY COALESCE(published_at, first_seen_at) DESC, id DESC"

/*
 * Verifies the candidates newest first. Few of them (a selective query): each one's order
 * key is read and they are sorted. Many of them: reading each row costs more than walking
 * the newest-first index until limit hits are found (each entry looked up among the
 * candidates), which also ends once every candidate was met. 0, 1 (limit reached) or <0.
 */
static int
verify_newest_first(struct verify *v, sqlite3 *db, struct cands *c)
{
    sqlite3_stmt *st = NULL;
    int64_t max_id = 0;
    int r = 0;
    if (c->n == 0)
        return 0; /* nothing to verify (and no array to search) */
    if (sqlite3_prepare_v2(db, "SELECT max(id) FROM items", -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    if (sqlite3_step(st) == SQLITE_ROW)
        max_id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if ((int64_t)c->n * SEARCH_WALK_RATIO < max_id) {
        if (sqlite3_prepare_v2(db,
                               "SELECT COALESCE(published_at, first_seen_at) FROM items"
                               " WHERE id = ?1",
                               -1, &st, NULL) != SQLITE_OK)
            return -EIO;
        for (size_t i = 0; i < c->n; i++) {
            sqlite3_bind_int64(st, 1, c->v[i].id);
            c->v[i].key = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
            sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        qsort(c->v, c->n, sizeof(*c->v), cand_cmp);
        for (size_t i = 0; r == 0 && i < c->n; i++)
            r = verify_one(v, c->v[i].id);
        return r;
    }
    if (sqlite3_prepare_v2(db, SEARCH_NEWEST_SQL, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    size_t met = 0;
    while (r == 0 && met < c->n && sqlite3_step(st) == SQLITE_ROW) {
        struct cand k = {.id = sqlite3_column_int64(st, 0)};
        if (!bsearch(&k, c->v, c->n, sizeof(*c->v), cand_id_desc))
            continue;
        met++;
        r = verify_one(v, k.id);
    }
    sqlite3_finalize(st);
    return r;
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
    struct verify v = {.s = s, .limit = limit ? limit : 20, .cb = cb, .userdata = userdata};
    char *fts = NULL;
    size_t len = 0, cap = 0;
    bool narrows = false;
    sqlite3_stmt *cand = NULL;
    struct cands cands = {0};

    v.m = match_new();
    if (!v.m || (r = match_add(v.m, 0, NULL, query, reterr_msg)) < 0 || (r = match_build(v.m)) < 0)
        goto out;
    r = fts_raw(&fts, &len, &cap, "");
    r = r ? r : fts_expr(&fts, &len, &cap, q->root, &narrows);
    if (r < 0)
        goto out;
    if (sqlite3_prepare_v2(rd->rd,
                           "SELECT i.title, COALESCE(i.text, ''), f.name, i.url, i.published_at,"
                           " i.key, i.updated_at, i.author, i.language, i.summary"
                           " FROM items AS i JOIN feeds AS f ON f.id = i.feed_id"
                           " WHERE i.id = ?1 AND i.pruned_at IS NULL",
                           -1, &v.item, NULL) != SQLITE_OK) {
        r = -EIO;
        goto out;
    }
    if (narrows) {
        /* Items the indexer has not reached yet are read directly; ids descending. */
        int64_t hwm = atomic_load(&s->hwm);
        sqlite3_stmt *tail = NULL;
        if (sqlite3_prepare_v2(rd->rd, "SELECT id FROM items WHERE id > ?1 ORDER BY id DESC", -1,
                               &tail, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(tail, 1, hwm);
            r = cands_add_ids(&cands, tail);
        }
        sqlite3_finalize(tail);
        if (r == 0 && sqlite3_prepare_v2(rd->ird,
                                         "SELECT rowid FROM docs WHERE docs MATCH ?1"
                                         " AND rowid <= ?3 ORDER BY rowid DESC LIMIT ?2",
                                         -1, &cand, NULL) == SQLITE_OK) {
            sqlite3_bind_text(cand, 1, fts, -1, SQLITE_STATIC);
            sqlite3_bind_int(cand, 2, SEARCH_CANDIDATES_MAX);
            sqlite3_bind_int64(cand, 3, hwm); /* the rest was read above */
            r = cands_add_ids(&cands, cand);
        }
        if (r == 0)
            r = verify_newest_first(&v, rd->rd, &cands);
    } else if (sqlite3_prepare_v2(rd->rd, SEARCH_NEWEST_SQL " LIMIT ?1", -1, &cand, NULL) ==
               SQLITE_OK) {
        /* Nothing to narrow with: the newest items, in order, bounded. */
        sqlite3_bind_int(cand, 1, SEARCH_SCAN_MAX);
        while (r == 0 && sqlite3_step(cand) == SQLITE_ROW)
            r = verify_one(&v, sqlite3_column_int64(cand, 0));
    }
    if (r == 1)
        r = 0;
out:
    free(cands.v);
    sqlite3_finalize(cand);
    sqlite3_finalize(v.item);
    match_free(v.m);
    query_free(q);
    free(fts);
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
    sqlite3_close(s->loop.rd);
    sqlite3_close(s->loop.ird);
    forget_free(s->forget_head);
    uv_cond_destroy(&s->cond);
    uv_mutex_destroy(&s->lock);
    free(s->db_path);
    free(s->idx_path);
    free(s);
}
