/*
 * search_sqlite.c — the search index's SQLite engine (search-internal.h).
 *
 * The index is an FTS5 table in its own file beside the database (`<database>-search`):
 * `docs` is contentless (the text lives in the store, the index only finds candidates) and
 * meta.hwm is the highest item id indexed. The store's ids grow in commit order (one writer),
 * so the items above hwm are exactly those not indexed yet. The file is only a cache of the
 * store: an unreadable one is rebuilt from item 1. A contentless FTS5 table forgets a row only
 * when told the words it was given, hence the forget queue's titles and bodies.
 */
#include "search-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "parse/feed.h"

static const char search_schema[] =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);\n"
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('hwm', 0);\n"
    "CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(title, text, content='',"
    " columnsize=0, tokenize='unicode61 remove_diacritics 0');\n";

/* The items newest first as `items` lists them: a walk of items_newest (id and key only). */
#define SEARCH_NEWEST_SQL                                                                          \
    "SELECT id FROM items ORDER BY COALESCE(published_at, first_seen_at) DESC, id DESC"

/* A thread's connections: the store (read only) and the index (read-write for the indexer). */
struct search_conn {
    sqlite3 *rd;
    sqlite3 *idx;
    sqlite3_stmt *item; /* the row verify_one reads, kept for the strings it lends */
    sqlite3_stmt *key;  /* an item's order key */
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

static char *
index_path(const char *database)
{
    char *p = NULL;
    return asprintf(&p, "%s-search", database) < 0 ? NULL : p;
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

/*
 * Gives the index files the database file's mode (the store creates it 0640): the index
 * holds the words of every item, so it must not be readable by more than the store. SQLite
 * would create the file with 0644 and the umask; its -wal and -shm then take the mode of the
 * file. Files of an older version are brought down to the mode too.
 */
static void
index_files_mode(const char *db_path, const char *idx_path)
{
    struct stat st;
    mode_t mode = 0640;
    if (stat(db_path, &st) == 0)
        mode = st.st_mode & 0660;
    int fd =
        open(idx_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, mode);
    if (fd >= 0) {
        (void)fchmod(fd, mode);
        (void)close(fd);
    }
    const char *suffixes[] = {"-wal", "-shm"};
    for (size_t i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s%s", idx_path, suffixes[i]);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd >= 0) {
            (void)fchmod(fd, mode);
            (void)close(fd);
        }
    }
}

/* Creates (or, when unreadable, rebuilds) the index file and its schema. */
static int
sqlite_prepare(const char *database, int64_t *ret_hwm, char **reterr_msg)
{
    char *idx_path = index_path(database);
    sqlite3 *db = NULL;
    if (!idx_path)
        return -ENOMEM;
    for (int attempt = 0; attempt < 2; attempt++) {
        index_files_mode(database, idx_path);
        int r = open_db(idx_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db);
        if (r == 0 && sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) == SQLITE_OK &&
            sqlite3_exec(db, search_schema, NULL, NULL, NULL) == SQLITE_OK) {
            *ret_hwm = read_hwm(db);
            sqlite3_close(db);
            free(idx_path);
            return 0;
        }
        /* Not an index we can use: it is only a cache of the store, start it again. */
        sqlite3_close(db);
        db = NULL;
        const char *suffixes[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < 3; i++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s%s", idx_path, suffixes[i]);
            (void)unlink(path);
        }
    }
    if (asprintf(reterr_msg, "cannot create the search index '%s'", idx_path) < 0)
        *reterr_msg = NULL;
    free(idx_path);
    return -EIO;
}

static void
sqlite_disconnect(struct search_conn *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->item);
    sqlite3_finalize(c->key);
    sqlite3_close(c->rd);
    sqlite3_close(c->idx);
    free(c);
}

/* The store read only; the index read-write for the indexer, else read only. */
static int
sqlite_connect(const char *database, bool indexer, struct search_conn **ret_conn)
{
    struct search_conn *c = calloc(1, sizeof(*c));
    char *idx_path = index_path(database);
    int r = c && idx_path ? 0 : -ENOMEM;
    if (r == 0 &&
        (open_db(database, SQLITE_OPEN_READONLY, &c->rd) < 0 ||
         open_db(idx_path, indexer ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY, &c->idx) < 0))
        r = -EIO;
    if (r == 0 && indexer)
        (void)sqlite3_exec(c->idx, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL,
                           NULL);
    free(idx_path);
    if (r < 0) {
        sqlite_disconnect(c);
        return r;
    }
    *ret_conn = c;
    return 0;
}

/*
 * Runs st (docs' insert, or its 'delete' command) with the words of title and text:
 * SQLITE_DONE, SQLITE_NOMEM, or the step's error.
 */
static int
docs_write(sqlite3_stmt *st, int64_t id, const char *title, const char *text)
{
    char *nt = search_index_words(title);
    char *nx = search_index_words(text);
    int rc = SQLITE_NOMEM;
    if (nt && nx) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, nt, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, nx, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    free(nt);
    free(nx);
    return rc;
}

/* Indexes up to limit items above the high-water mark, in one transaction of the index. */
static int
sqlite_index_batch(struct search_conn *c, int64_t hwm, unsigned limit, int64_t *ret_hwm)
{
    sqlite3_stmt *sel = NULL, *ins = NULL, *upd = NULL;
    int n = 0, rc = SQLITE_ERROR;

    if (sqlite3_prepare_v2(c->rd,
                           "SELECT id, title, COALESCE(text, summary, content) FROM items"
                           " WHERE id > ?1 ORDER BY id LIMIT ?2",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->idx, "INSERT INTO docs (rowid, title, text) VALUES (?1, ?2, ?3)", -1,
                           &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->idx, "UPDATE meta SET value = ?1 WHERE key = 'hwm'", -1, &upd,
                           NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_exec(c->idx, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(sel, 1, hwm);
    sqlite3_bind_int(sel, 2, (int)limit);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(sel, 0);
        rc = docs_write(ins, id, (const char *)sqlite3_column_text(sel, 1),
                        (const char *)sqlite3_column_text(sel, 2));
        if (rc != SQLITE_DONE)
            break;
        hwm = id;
        n++;
    }
    sqlite3_reset(sel);
    if (rc == SQLITE_DONE) {
        sqlite3_bind_int64(upd, 1, hwm);
        rc = sqlite3_step(upd);
    }
    if (rc != SQLITE_DONE || sqlite3_exec(c->idx, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        (void)sqlite3_exec(c->idx, "ROLLBACK", NULL, NULL, NULL);
        rc = SQLITE_ERROR;
    }
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
    *ret_hwm = hwm;
    return n;
}

/*
 * Takes the listed items out, in one transaction: FTS5's 'delete' command with the words each
 * was indexed with. An item above the high-water mark was never indexed: telling FTS5 to
 * forget words it never had would corrupt it. An edited item (reindex) is then indexed with
 * its current title and text, read from the store now, unless it was pruned since: of two edits
 * queued, the first indexes the text of the second, whose 'delete' then names words the index
 * has not got (their positions left as they are: the item is still found by them, and search
 * checks every candidate) before the same text is indexed again, which FTS5 takes.
 */
static int
sqlite_forget(struct search_conn *c, const struct search_forget_item *list, int64_t hwm)
{
    sqlite3_stmt *del = NULL, *ins = NULL, *sel = NULL;
    if (sqlite3_prepare_v2(c->idx,
                           "INSERT INTO docs (docs, rowid, title, text)"
                           " VALUES ('delete', ?1, ?2, ?3)",
                           -1, &del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->idx, "INSERT INTO docs (rowid, title, text) VALUES (?1, ?2, ?3)", -1,
                           &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->rd,
                           "SELECT title, COALESCE(text, summary, content) FROM items"
                           " WHERE id = ?1 AND pruned_at IS NULL",
                           -1, &sel, NULL) != SQLITE_OK) {
        sqlite3_finalize(del);
        sqlite3_finalize(ins);
        sqlite3_finalize(sel);
        return -EIO;
    }
    bool ok = sqlite3_exec(c->idx, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    for (const struct search_forget_item *f = list; f && ok; f = f->next) {
        if (f->id > hwm)
            continue; /* not indexed yet: index_batch reads its current text */
        ok = docs_write(del, f->id, f->title, f->body) == SQLITE_DONE;
        if (!ok || !f->reindex)
            continue;
        sqlite3_bind_int64(sel, 1, f->id);
        int rc = sqlite3_step(sel);
        if (rc == SQLITE_ROW)
            ok = docs_write(ins, f->id, (const char *)sqlite3_column_text(sel, 0),
                            (const char *)sqlite3_column_text(sel, 1)) == SQLITE_DONE;
        else
            ok = rc == SQLITE_DONE;
        sqlite3_reset(sel);
    }
    if (ok && sqlite3_exec(c->idx, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        ok = false;
    if (!ok)
        (void)sqlite3_exec(c->idx, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    return ok ? 0 : -EIO;
}

/*
 * The edits the index did not hear of: a --once run stores edits without running the indexer,
 * and a crash loses the queue of reindexes (search_reindex). meta.edits_from is when the index
 * last started (less a minute: a poll's time is taken before its edits are stored); every
 * item with a version replaced since then is indexed again with its current words, its old
 * ones left (search checks every candidate; the words of an edit the queue did take are
 * indexed twice, which FTS5 takes). One transaction: the new edits_from is stored with them.
 */
static int
sqlite_catch_up(struct search_conn *c, int64_t hwm)
{
    sqlite3_stmt *sel = NULL, *ins = NULL, *get = NULL, *set = NULL;
    int64_t from = 0;
    bool ok =
        sqlite3_prepare_v2(c->idx, "SELECT value FROM meta WHERE key = 'edits_from'", -1, &get,
                           NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(c->idx,
                           "INSERT OR REPLACE INTO meta (key, value) VALUES ('edits_from', ?1)", -1,
                           &set, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(c->idx, "INSERT INTO docs (rowid, title, text) VALUES (?1, ?2, ?3)", -1,
                           &ins, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(c->rd,
                           "SELECT i.id, i.title, COALESCE(i.text, i.summary, i.content)"
                           " FROM items AS i WHERE i.id IN (SELECT item_id FROM item_versions"
                           " WHERE replaced_at >= ?1) AND i.id <= ?2 AND i.pruned_at IS NULL",
                           -1, &sel, NULL) == SQLITE_OK &&
        sqlite3_exec(c->idx, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    if (ok && sqlite3_step(get) == SQLITE_ROW)
        from = sqlite3_column_int64(get, 0);
    if (ok) {
        sqlite3_bind_int64(sel, 1, from);
        sqlite3_bind_int64(sel, 2, hwm);
        int rc = SQLITE_DONE;
        while (ok && (rc = sqlite3_step(sel)) == SQLITE_ROW)
            ok = docs_write(ins, sqlite3_column_int64(sel, 0),
                            (const char *)sqlite3_column_text(sel, 1),
                            (const char *)sqlite3_column_text(sel, 2)) == SQLITE_DONE;
        ok = ok && rc == SQLITE_DONE;
    }
    if (ok) {
        sqlite3_bind_int64(set, 1, (int64_t)time(NULL) - 60);
        ok = sqlite3_step(set) == SQLITE_DONE &&
             sqlite3_exec(c->idx, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    }
    if (!ok)
        (void)sqlite3_exec(c->idx, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(get);
    sqlite3_finalize(set);
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    return ok ? 0 : -EIO;
}

static int64_t
sqlite_lag(struct search_conn *c, int64_t hwm)
{
    sqlite3_stmt *st = NULL;
    int64_t lag = 0;
    if (sqlite3_prepare_v2(c->rd, "SELECT count(*) FROM items WHERE id > ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, hwm);
        if (sqlite3_step(st) == SQLITE_ROW)
            lag = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return lag;
}

/* Appends an FTS5 string token ("..." with quotes doubled; * after a prefix). */
static int
fts_token(char **buf, size_t *len, size_t *cap, const char *tok, bool prefix)
{
    int r = search_append(buf, len, cap, "\"", 1);
    for (const char *p = tok; *p && r == 0; p++)
        r = search_append(buf, len, cap, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
    r = r ? r : search_append(buf, len, cap, "\"", 1);
    return r || !prefix ? r : search_append(buf, len, cap, "*", 1);
}

static const struct search_dialect fts_dialect = {
    .and_op = " AND ",
    .or_op = " OR ",
    .token = fts_token,
};

/* Hands each id a statement gives (its first column) to cb. */
static int
each_id(sqlite3_stmt *st, search_id_cb cb, void *userdata)
{
    int r = 0, rc;
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        r = cb(userdata, sqlite3_column_int64(st, 0));
    if (r == 0 && rc != SQLITE_DONE)
        r = -EIO;
    return r;
}

/* The items above hwm (read from the store), then at most max ids FTS5 finds at or below it. */
static int
sqlite_candidates(struct search_conn *c, const char *expr, int64_t hwm, unsigned max,
                  search_id_cb cb, void *userdata)
{
    sqlite3_stmt *tail = NULL, *cand = NULL;
    int r = -EIO;
    if (sqlite3_prepare_v2(c->rd, "SELECT id FROM items WHERE id > ?1 ORDER BY id DESC", -1, &tail,
                           NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(c->idx,
                           "SELECT rowid FROM docs WHERE docs MATCH ?1"
                           " AND rowid <= ?3 ORDER BY rowid DESC LIMIT ?2",
                           -1, &cand, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(tail, 1, hwm);
        r = each_id(tail, cb, userdata);
        sqlite3_bind_text(cand, 1, expr, -1, SQLITE_STATIC);
        sqlite3_bind_int(cand, 2, (int)max);
        sqlite3_bind_int64(cand, 3, hwm);
        r = r ? r : each_id(cand, cb, userdata);
    }
    sqlite3_finalize(tail);
    sqlite3_finalize(cand);
    return r;
}

static int
sqlite_max_id(struct search_conn *c, int64_t *ret_id)
{
    sqlite3_stmt *st = NULL;
    *ret_id = 0;
    if (sqlite3_prepare_v2(c->rd, "SELECT max(id) FROM items", -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    if (sqlite3_step(st) == SQLITE_ROW)
        *ret_id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

static int
sqlite_order_key(struct search_conn *c, int64_t item_id, int64_t *ret_key)
{
    if (!c->key &&
        sqlite3_prepare_v2(c->rd,
                           "SELECT COALESCE(published_at, first_seen_at) FROM items WHERE id = ?1",
                           -1, &c->key, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(c->key, 1, item_id);
    *ret_key = sqlite3_step(c->key) == SQLITE_ROW ? sqlite3_column_int64(c->key, 0) : 0;
    sqlite3_reset(c->key);
    return 0;
}

static int
sqlite_newest(struct search_conn *c, unsigned limit, search_id_cb cb, void *userdata)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->rd, SEARCH_NEWEST_SQL " LIMIT ?1", -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(st, 1, limit ? (int64_t)limit : -1);
    int r = each_id(st, cb, userdata);
    sqlite3_finalize(st);
    return r;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static int64_t
col_time(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? FEED_TIME_NONE : sqlite3_column_int64(st, i);
}

static int
sqlite_item(struct search_conn *c, int64_t item_id, struct search_hit *ret_hit,
            const char **ret_text)
{
    if (!c->item &&
        sqlite3_prepare_v2(c->rd,
                           "SELECT i.title, COALESCE(i.text, ''), f.name, i.url, i.published_at,"
                           " i.key, i.updated_at, i.author, i.language, i.summary"
                           " FROM items AS i JOIN feeds AS f ON f.id = i.feed_id"
                           " WHERE i.id = ?1 AND i.pruned_at IS NULL",
                           -1, &c->item, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_stmt *st = c->item;
    sqlite3_bind_int64(st, 1, item_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 1;
    if (rc != SQLITE_ROW)
        return -EIO;
    *ret_hit = (struct search_hit){
        .item_id = item_id,
        .title = col_text(st, 0),
        .feed = col_text(st, 2),
        .url = col_text(st, 3),
        .published_at = col_time(st, 4),
        .key = col_text(st, 5),
        .updated_at = col_time(st, 6),
        .author = col_text(st, 7),
        .language = col_text(st, 8),
        .summary = col_text(st, 9),
    };
    *ret_text = col_text(st, 1);
    return 0;
}

static void
sqlite_item_done(struct search_conn *c)
{
    if (c->item)
        sqlite3_reset(c->item);
}

const struct search_engine search_sqlite_engine = {
    .name = "sqlite",
    .kind = DBSPEC_FILE,
    .prepare = sqlite_prepare,
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .index_batch = sqlite_index_batch,
    .forget = sqlite_forget,
    .catch_up = sqlite_catch_up,
    .lag = sqlite_lag,
    .dialect = &fts_dialect,
    .candidates = sqlite_candidates,
    .max_id = sqlite_max_id,
    .order_key = sqlite_order_key,
    .newest = sqlite_newest,
    .item = sqlite_item,
    .item_done = sqlite_item_done,
};
