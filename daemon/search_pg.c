/*
 * search_pg.c — the search index's PostgreSQL engine (search-internal.h).
 *
 * The index lives in the store's own database (the store's schema makes its tables, see
 * store_pg.c): search_docs holds each item's words as a tsvector under a GIN index, and
 * search_queue the ids of the items not indexed yet, filled by a trigger on items in the
 * transaction that stores them. Several daemons may write items at once (a cluster), so ids
 * do not commit in order and no high-water mark can say what is indexed: the queue does.
 * An indexer takes a batch off the queue with FOR UPDATE SKIP LOCKED, so the indexers of
 * several nodes share the work and never index an item twice, and a batch whose transaction
 * fails goes back to the queue. The high-water mark this engine gives is INT64_MAX: retention
 * may prune any item (an item pruned before it is indexed is indexed without words).
 *
 * The words are the matcher's own tokens (search_index_words), given to PostgreSQL as they
 * are: array_to_tsvector() of the words, and a tsquery literal of quoted lexemes for the
 * candidates. That is the `simple` configuration's behaviour (no stemming, no stop words)
 * without its parser, which would split the tokens the matcher made (a hyphenated word's
 * joined form, a CJK bigram) differently and lose candidates. A tsvector holds at most 1 MB
 * of lexemes, each under 2 KB: an item over that keeps the words that fit, is marked partial,
 * and is a candidate of every query (the matcher decides).
 */
#include "search-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "parse/feed.h"

/* PostgreSQL's limits on a tsvector (tsearch/ts_type.h): a lexeme, and all of them. */
#define PG_LEXEME_MAX 2046
#define PG_LEXEMES_BYTES_MAX (1000 * 1000) /* under MAXSTRPOS (1 MiB - 1), with room */

/* Rows a walk of the newest items fetches at a time from its cursor. */
#define PG_WALK_FETCH 1000
#define PG_WALK_FETCH_SQL "FETCH 1000 FROM fw_newest"

/* The statements, prepared on each connection by name. */
enum pg_stmt {
    PS_TAKE,
    PS_DOC,
    PS_FORGET,
    PS_LAG,
    PS_CANDIDATES,
    PS_MAX_ID,
    PS_ORDER_KEY,
    PS_ITEM,
    PS__COUNT,
};

static const struct {
    const char *name;
    const char *sql;
    int n_params;
} pg_sql[PS__COUNT] = {
    /* A batch off the queue (none another indexer holds), with the text to index. */
    /*
     * The batch is taken first, once (MATERIALIZED), then deleted and its items read by key,
     * each through its primary key whatever the statistics say: a planner that ran the
     * locking subquery inside a semi join re-ran it for every queued row (bench/cluster saw a
     * take of 2,000 from a queue of 300,000 never end), and one that joined the batch with
     * the whole queue or the whole items table (a hash or merge join) read all of it for
     * each batch (a cycle of 10,000 feeds spent a third of the server's time there).
     */
    [PS_TAKE] = {"fw_search_take",
                 "WITH t AS MATERIALIZED (SELECT item_id FROM search_queue ORDER BY item_id"
                 " LIMIT $1 FOR UPDATE SKIP LOCKED),"
                 " q AS (DELETE FROM search_queue AS s"
                 " WHERE s.item_id = ANY (ARRAY(SELECT item_id FROM t)) RETURNING s.item_id)"
                 " SELECT q.item_id, i.title, i.doc FROM q LEFT JOIN LATERAL"
                 " (SELECT title, COALESCE(text, summary, content) AS doc FROM items"
                 " WHERE id = q.item_id OFFSET 0) AS i ON true",
                 1},
    /* The documents of a batch at once: $1 the ids, $2 their words (space-separated), $3 partial.
     */
    [PS_DOC] = {"fw_search_doc",
                "INSERT INTO search_docs (item_id, words, partial)"
                " SELECT u.id, array_to_tsvector(string_to_array(u.w, ' ')), u.p"
                " FROM unnest($1::bigint[], $2::text[], $3::boolean[]) AS u(id, w, p)"
                " ON CONFLICT (item_id) DO UPDATE SET words = EXCLUDED.words,"
                " partial = EXCLUDED.partial",
                3},
    [PS_FORGET] = {"fw_search_forget", "DELETE FROM search_docs WHERE item_id = ANY ($1::bigint[])",
                   1},
    [PS_LAG] = {"fw_search_lag", "SELECT count(*) FROM search_queue", 0},
    /* The items not indexed yet, the partial ones, and at most $2 the index finds. */
    [PS_CANDIDATES] = {"fw_search_candidates",
                       "SELECT item_id FROM search_queue UNION SELECT item_id FROM search_docs"
                       " WHERE partial UNION (SELECT item_id FROM search_docs"
                       " WHERE words @@ $1::tsquery ORDER BY item_id DESC LIMIT $2)"
                       " ORDER BY 1 DESC",
                       2},
    [PS_MAX_ID] = {"fw_search_max_id", "SELECT COALESCE(max(id), 0) FROM items", 0},
    [PS_ORDER_KEY] = {"fw_search_order_key",
                      "SELECT COALESCE(published_at, first_seen_at) FROM items WHERE id = $1", 1},
    [PS_ITEM] = {"fw_search_item",
                 "SELECT i.title, COALESCE(i.text, ''), f.name, i.url, i.published_at, i.key,"
                 " i.updated_at, i.author, i.language, i.summary FROM items AS i"
                 " JOIN feeds AS f ON f.id = i.feed_id WHERE i.id = $1 AND i.pruned_at IS NULL",
                 1},
};

/* The items newest first as `items` lists them (items' newest-first index). */
#define PG_NEWEST_SQL                                                                              \
    "SELECT id FROM items ORDER BY COALESCE(published_at, first_seen_at) DESC, id DESC"

struct search_conn {
    PGconn *conn;
    PGresult *item; /* the row item() lent, until item_done() */
    bool reader;    /* read only */
};

static int prepare_session(struct search_conn *c);

/*
 * After a failure outside a transaction: when the connection is gone (the server restarted,
 * the network broke), connects again and prepares the statements again. True when it did.
 */
static bool
reconnect(struct search_conn *c)
{
    if (PQstatus(c->conn) != CONNECTION_BAD || PQtransactionStatus(c->conn) == PQTRANS_INTRANS)
        return false;
    PQreset(c->conn);
    return PQstatus(c->conn) == CONNECTION_OK && prepare_session(c) == 0;
}

/*
 * Runs a prepared statement with text parameters; the result, or NULL (and it is cleared). A
 * statement outside a transaction that found the connection gone runs again on a new one.
 */
static PGresult *
run(struct search_conn *c, enum pg_stmt st, const char *const *params, ExecStatusType want)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        bool in_txn = PQtransactionStatus(c->conn) == PQTRANS_INTRANS;
        PGresult *res =
            PQexecPrepared(c->conn, pg_sql[st].name, pg_sql[st].n_params, params, NULL, NULL, 0);
        if (PQresultStatus(res) == want)
            return res;
        PQclear(res);
        if (in_txn || !reconnect(c))
            break;
    }
    return NULL;
}

/*
 * Runs a statement without parameters (BEGIN, COMMIT, a cursor's FETCH): 0 or -EIO. A BEGIN
 * that found the connection gone runs again on a new one.
 */
static int
run_plain(struct search_conn *c, const char *sql)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *res = PQexecParams(c->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
        ExecStatusType s = PQresultStatus(res);
        PQclear(res);
        if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
            return 0;
        if (strncmp(sql, "BEGIN", 5) != 0 || !reconnect(c))
            break;
    }
    return -EIO;
}

static int64_t
get_i64(const PGresult *res, int row, int col, int64_t none)
{
    return PQgetisnull(res, row, col) ? none : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static const char *
get_text(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static void
pg_disconnect(struct search_conn *c)
{
    if (!c)
        return;
    PQclear(c->item);
    PQfinish(c->conn);
    free(c);
}

/* A new session's settings and statements (a reader's is read only): 0 or -EIO. */
static int
prepare_session(struct search_conn *c)
{
    int r = 0;
    if (c->reader) {
        PGresult *res = PQexec(c->conn, "SET default_transaction_read_only = on");
        r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -EIO;
        PQclear(res);
    }
    for (int i = 0; i < PS__COUNT && r == 0; i++) {
        PGresult *res = PQprepare(c->conn, pg_sql[i].name, pg_sql[i].sql, pg_sql[i].n_params, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            r = -EIO;
        PQclear(res);
    }
    return r;
}

/* A connection with the statements prepared; a reader's is read only. */
static int
pg_connect(const char *database, bool indexer, struct search_conn **ret_conn)
{
    struct search_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->conn = PQconnectdb(database);
    c->reader = !indexer;
    int r = c->conn && PQstatus(c->conn) == CONNECTION_OK ? prepare_session(c) : -EIO;
    if (r < 0) {
        pg_disconnect(c);
        return r;
    }
    *ret_conn = c;
    return 0;
}

/* The index is the store's: checks that its tables are there (the store made them). */
static int
pg_prepare(const char *database, int64_t *ret_hwm, char **reterr_msg)
{
    struct search_conn *c = NULL;
    int r = pg_connect(database, false, &c);
    if (r < 0) {
        char *shown = dbspec_redact(database);
        if (asprintf(reterr_msg,
                     "search: cannot use the index in '%s' (its tables come with the store's"
                     " schema)",
                     shown ? shown : "?") < 0)
            *reterr_msg = NULL;
        free(shown);
        return r;
    }
    pg_disconnect(c);
    *ret_hwm = INT64_MAX;
    return 0;
}

/* Compares two C strings for qsort. */
static int
str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The lexemes of an item (title and text words), each once and within PostgreSQL's limits,
 * separated by single spaces, in *words (from the buffer *all, rewritten): 0, or -ENOMEM.
 * *ret_partial: some words did not fit.
 */
static int
doc_words(char *all, char **ret_words, bool *ret_partial)
{
    size_t n = 0, cap = 0, len = 0, wcap = 0, bytes = 0;
    char **v = NULL, *out = NULL;
    int r = 0;
    *ret_partial = false;
    for (char *save = NULL, *w = strtok_r(all, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (n == cap) {
            size_t c = cap ? cap * 2 : 256;
            char **nv = realloc(v, c * sizeof(*nv));
            if (!nv) {
                free(v);
                return -ENOMEM;
            }
            v = nv;
            cap = c;
        }
        v[n++] = w;
    }
    if (n)
        qsort(v, n, sizeof(*v), str_cmp);
    r = search_append(&out, &len, &wcap, "", 0);
    for (size_t i = 0; i < n && r == 0; i++) {
        size_t wl = strlen(v[i]);
        if (i && strcmp(v[i], v[i - 1]) == 0)
            continue;
        if (wl > PG_LEXEME_MAX || bytes + wl > PG_LEXEMES_BYTES_MAX) {
            *ret_partial = true;
            continue;
        }
        bytes += wl;
        if (len)
            r = search_append(&out, &len, &wcap, " ", 1);
        r = r ? r : search_append(&out, &len, &wcap, v[i], wl);
    }
    free(v);
    if (r < 0) {
        free(out);
        return r;
    }
    *ret_words = out;
    return 0;
}

/* Bytes of words one document statement carries at most (a batch of long texts takes several). */
#define PG_DOCS_BYTES_MAX (8 * 1000 * 1000)

/* The array literals of the documents not sent yet (PS_DOC's parameters). */
struct pg_docs {
    char *ids, *words, *partial;
    size_t ids_len, ids_cap, words_len, words_cap, partial_len, partial_cap;
    unsigned n;
};

/* Appends a document (words: lexemes without spaces) to the literals: 0 or -ENOMEM. */
static int
docs_add(struct pg_docs *d, const char *id, const char *words, bool partial)
{
    const char *sep = d->n ? "," : "{";
    int r = search_append(&d->ids, &d->ids_len, &d->ids_cap, sep, 1);
    r = r ? r : search_append(&d->ids, &d->ids_len, &d->ids_cap, id, strlen(id));
    r = r ? r : search_append(&d->partial, &d->partial_len, &d->partial_cap, sep, 1);
    r = r ? r
          : search_append(&d->partial, &d->partial_len, &d->partial_cap, partial ? "t" : "f", 1);
    r = r ? r : search_append(&d->words, &d->words_len, &d->words_cap, sep, 1);
    r = r ? r : search_append(&d->words, &d->words_len, &d->words_cap, "\"", 1);
    for (const char *c = words; *c && r == 0;) {
        size_t run = strcspn(c, "\"\\");
        r = search_append(&d->words, &d->words_len, &d->words_cap, c, run);
        c += run;
        if (*c && r == 0) {
            r = search_append(&d->words, &d->words_len, &d->words_cap, "\\", 1);
            r = r ? r : search_append(&d->words, &d->words_len, &d->words_cap, c++, 1);
        }
    }
    r = r ? r : search_append(&d->words, &d->words_len, &d->words_cap, "\"", 1);
    if (r == 0)
        d->n++;
    return r;
}

/* Sends the documents added since the last flush in one statement: 0, -EIO or -ENOMEM. */
static int
docs_flush(struct search_conn *c, struct pg_docs *d)
{
    if (d->n == 0)
        return 0;
    int r = search_append(&d->ids, &d->ids_len, &d->ids_cap, "}", 1);
    r = r ? r : search_append(&d->words, &d->words_len, &d->words_cap, "}", 1);
    r = r ? r : search_append(&d->partial, &d->partial_len, &d->partial_cap, "}", 1);
    if (r == 0) {
        const char *dp[3] = {d->ids, d->words, d->partial};
        PGresult *ins = run(c, PS_DOC, dp, PGRES_COMMAND_OK);
        r = ins ? 0 : -EIO;
        PQclear(ins);
    }
    d->ids_len = d->words_len = d->partial_len = 0;
    d->n = 0;
    return r;
}

static void
docs_free(struct pg_docs *d)
{
    free(d->ids);
    free(d->words);
    free(d->partial);
}

/* Indexes up to limit items off the queue, in one transaction: a statement to take, one to write.
 */
static int
pg_index_batch(struct search_conn *c, int64_t hwm, unsigned limit, int64_t *ret_hwm)
{
    char lim[24];
    const char *p[3] = {lim};
    struct pg_docs docs = {0};
    PGresult *res = NULL;
    int r = 0, n = 0;

    *ret_hwm = hwm;
    (void)snprintf(lim, sizeof(lim), "%u", limit);
    if (run_plain(c, "BEGIN") < 0)
        return -EIO;
    if (!(res = run(c, PS_TAKE, p, PGRES_TUPLES_OK)))
        r = -EIO;
    for (int i = 0; r == 0 && res && i < PQntuples(res); i++) {
        const char *title = get_text(res, i, 1), *text = get_text(res, i, 2);
        char *nt = search_index_words(title), *nx = search_index_words(text);
        char *all = NULL, *words = NULL;
        bool partial = false;
        if (!nt || !nx || asprintf(&all, "%s %s", nt, nx) < 0)
            all = NULL;
        free(nt);
        free(nx);
        if (!all || doc_words(all, &words, &partial) < 0) {
            free(all);
            r = -ENOMEM;
            break;
        }
        free(all);
        r = docs_add(&docs, PQgetvalue(res, i, 0), words, partial);
        free(words);
        if (r == 0 && docs.words_len >= PG_DOCS_BYTES_MAX)
            r = docs_flush(c, &docs);
        if (r == 0)
            n++;
    }
    PQclear(res);
    if (r == 0)
        r = docs_flush(c, &docs);
    docs_free(&docs);
    if (r == 0 && run_plain(c, "COMMIT") < 0)
        r = -EIO;
    if (r < 0) {
        (void)run_plain(c, "ROLLBACK");
        return r;
    }
    return n;
}

/* Takes the listed items' words out, in one statement (the words are not needed here). */
static int
pg_forget(struct search_conn *c, const struct search_forget_item *list, int64_t hwm)
{
    char *ids = NULL;
    size_t len = 0, cap = 0;
    int r = search_append(&ids, &len, &cap, "{", 1);
    for (const struct search_forget_item *f = list; f && r == 0; f = f->next) {
        char num[24];
        if (f->id > hwm || f->reindex)
            continue; /* an edited item: the store queued it (search_queue), index_batch takes it */
        int k = snprintf(num, sizeof(num), "%s%" PRId64, len > 1 ? "," : "", f->id);
        r = search_append(&ids, &len, &cap, num, (size_t)k);
    }
    r = r ? r : search_append(&ids, &len, &cap, "}", 1);
    if (r == 0) {
        const char *p[1] = {ids};
        PGresult *res = run(c, PS_FORGET, p, PGRES_COMMAND_OK);
        r = res ? 0 : -EIO;
        PQclear(res);
    }
    free(ids);
    return r;
}

static int64_t
pg_lag(struct search_conn *c, int64_t hwm)
{
    (void)hwm;
    PGresult *res = run(c, PS_LAG, NULL, PGRES_TUPLES_OK);
    int64_t n = res && PQntuples(res) == 1 ? get_i64(res, 0, 0, 0) : 0;
    PQclear(res);
    return n;
}

/* Appends a tsquery lexeme: quoted, with ' and \ escaped; :* after a prefix. */
static int
tsq_token(char **buf, size_t *len, size_t *cap, const char *tok, bool prefix)
{
    int r = search_append(buf, len, cap, "'", 1);
    for (const char *p = tok; *p && r == 0; p++) {
        if (*p == '\'' || *p == '\\')
            r = search_append(buf, len, cap, *p == '\'' ? "'" : "\\", 1);
        r = r ? r : search_append(buf, len, cap, p, 1);
    }
    r = r ? r : search_append(buf, len, cap, "'", 1);
    return r || !prefix ? r : search_append(buf, len, cap, ":*", 2);
}

static const struct search_dialect tsquery_dialect = {
    .and_op = " & ",
    .or_op = " | ",
    .token = tsq_token,
};

/* The queue, the partial documents and at most max matches of expr, ids descending. */
static int
pg_candidates(struct search_conn *c, const char *expr, int64_t hwm, unsigned max, search_id_cb cb,
              void *userdata)
{
    char lim[24];
    (void)hwm;
    (void)snprintf(lim, sizeof(lim), "%u", max);
    const char *p[2] = {expr, lim};
    PGresult *res = run(c, PS_CANDIDATES, p, PGRES_TUPLES_OK);
    if (!res)
        return -EIO;
    int r = 0;
    for (int i = 0; r == 0 && i < PQntuples(res); i++)
        r = cb(userdata, get_i64(res, i, 0, 0));
    PQclear(res);
    return r;
}

static int
pg_max_id(struct search_conn *c, int64_t *ret_id)
{
    PGresult *res = run(c, PS_MAX_ID, NULL, PGRES_TUPLES_OK);
    if (!res)
        return -EIO;
    *ret_id = PQntuples(res) == 1 ? get_i64(res, 0, 0, 0) : 0;
    PQclear(res);
    return 0;
}

static int
pg_order_key(struct search_conn *c, int64_t item_id, int64_t *ret_key)
{
    char id[24];
    (void)snprintf(id, sizeof(id), "%" PRId64, item_id);
    const char *p[1] = {id};
    PGresult *res = run(c, PS_ORDER_KEY, p, PGRES_TUPLES_OK);
    if (!res)
        return -EIO;
    *ret_key = PQntuples(res) == 1 ? get_i64(res, 0, 0, 0) : 0;
    PQclear(res);
    return 0;
}

/*
 * The newest items through a cursor, PG_WALK_FETCH rows at a time, so a walk that stops
 * early reads no more than it needs (a plain query would bring every id into memory).
 */
static int
pg_newest(struct search_conn *c, unsigned limit, search_id_cb cb, void *userdata)
{
    char sql[256]; /* the bound is ours, a number: no value of anyone else's in this SQL */
    int r = run_plain(c, "BEGIN READ ONLY");
    if (r < 0)
        return r;
    if (limit)
        (void)snprintf(sql, sizeof(sql),
                       "DECLARE fw_newest NO SCROLL CURSOR FOR " PG_NEWEST_SQL " LIMIT %u", limit);
    else
        (void)snprintf(sql, sizeof(sql), "DECLARE fw_newest NO SCROLL CURSOR FOR " PG_NEWEST_SQL);
    r = run_plain(c, sql);
    while (r == 0) {
        PGresult *res = PQexecParams(c->conn, PG_WALK_FETCH_SQL, 0, NULL, NULL, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            PQclear(res);
            r = -EIO;
            break;
        }
        int n = PQntuples(res);
        for (int i = 0; r == 0 && i < n; i++)
            r = cb(userdata, get_i64(res, i, 0, 0));
        PQclear(res);
        if (n < PG_WALK_FETCH)
            break;
    }
    /* Whatever happened, the read ends here (the cursor with it). */
    if (run_plain(c, "COMMIT") < 0 && r == 0)
        r = -EIO;
    return r;
}

static int
pg_item(struct search_conn *c, int64_t item_id, struct search_hit *ret_hit, const char **ret_text)
{
    char id[24];
    (void)snprintf(id, sizeof(id), "%" PRId64, item_id);
    const char *p[1] = {id};
    PQclear(c->item);
    c->item = run(c, PS_ITEM, p, PGRES_TUPLES_OK);
    if (!c->item)
        return -EIO;
    if (PQntuples(c->item) != 1)
        return 1;
    const PGresult *res = c->item;
    *ret_hit = (struct search_hit){
        .item_id = item_id,
        .title = get_text(res, 0, 0),
        .feed = get_text(res, 0, 2),
        .url = get_text(res, 0, 3),
        .published_at = get_i64(res, 0, 4, FEED_TIME_NONE),
        .key = get_text(res, 0, 5),
        .updated_at = get_i64(res, 0, 6, FEED_TIME_NONE),
        .author = get_text(res, 0, 7),
        .language = get_text(res, 0, 8),
        .summary = get_text(res, 0, 9),
    };
    *ret_text = get_text(res, 0, 1);
    return 0;
}

static void
pg_item_done(struct search_conn *c)
{
    PQclear(c->item);
    c->item = NULL;
}

const struct search_engine search_pg_engine = {
    .name = "pg",
    .kind = DBSPEC_POSTGRES,
    .prepare = pg_prepare,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .index_batch = pg_index_batch,
    .forget = pg_forget,
    .lag = pg_lag,
    .dialect = &tsquery_dialect,
    .candidates = pg_candidates,
    .max_id = pg_max_id,
    .order_key = pg_order_key,
    .newest = pg_newest,
    .item = pg_item,
    .item_done = pg_item_done,
};
