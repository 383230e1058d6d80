/*
 * search-internal.h — what search.c shares with the search index's engines (search_sqlite.c,
 * search_pg.c); not for use outside search.
 *
 * search.c keeps what does not depend on where the index lives: the indexer thread and its
 * wake-ups, the queue of items to forget, the high-water mark, the words an item is indexed
 * with (search_index_words: the matcher's own tokens), the candidate expression's shape
 * (search_expr), and the verification of candidates by the matcher, newest first. An engine
 * keeps the index and reads the store: it fills a struct search_engine, and each of its
 * connections (struct search_conn, its own) is used by one thread at a time. The engine is
 * the one of the store's (dbspec_kind of the `database` value).
 */
#ifndef FEEDWATCH_SEARCH_INTERNAL_H
#define FEEDWATCH_SEARCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/dbspec.h"
#include "search.h"
#include "topics/query.h"

/*
 * An item to take out of the index (search_forget), with the text it was indexed from, or to
 * index again (search_reindex): its old words out, its current ones in.
 */
struct search_forget_item {
    struct search_forget_item *next;
    int64_t id;
    char *title;
    char *body;
    bool reindex;
};

/* An engine's connections for one thread (the indexer's, or a reader's). */
struct search_conn;

/* Called with item ids in the order an operation gives them; nonzero stops (and is returned). */
typedef int (*search_id_cb)(void *userdata, int64_t item_id);

/*
 * How an engine writes the candidate expression (search_expr): its AND and OR operators, and
 * one token (the matcher's normalized word, a prefix when prefix) appended to *buf.
 */
struct search_dialect {
    const char *and_op;
    const char *or_op;
    int (*token)(char **buf, size_t *len, size_t *cap, const char *tok, bool prefix);
};

struct search_engine {
    const char *name;      /* "sqlite", "pg" */
    enum dbspec_kind kind; /* the database values it serves */
    /*
     * Makes the index ready for database (creating it, or rebuilding it when it is unusable):
     * 0 with *ret_hwm the highest item id indexed (INT64_MAX for an engine that tells which
     * items wait, whatever their ids), or a negative errno with *reterr_msg.
     */
    int (*prepare)(const char *database, int64_t *ret_hwm, char **reterr_msg);
    /* Opens connections; indexer: the indexer's (it writes the index). 0, -ENOMEM or -EIO. */
    int (*connect)(const char *database, bool indexer, struct search_conn **ret_conn);
    void (*disconnect)(struct search_conn *c); /* accepts NULL */
    /*
     * Indexes up to limit items not indexed yet (above hwm), in one transaction: the number
     * indexed, with *ret_hwm the new high-water mark, or a negative errno (nothing indexed).
     */
    int (*index_batch)(struct search_conn *c, int64_t hwm, unsigned limit, int64_t *ret_hwm);
    /*
     * Takes the listed items at or below hwm out of the index, in one transaction; those to
     * index again (reindex) are indexed with their current title and text (an engine whose
     * store queues edited items itself may leave them to its index_batch).
     */
    int (*forget)(struct search_conn *c, const struct search_forget_item *list, int64_t hwm);
    /*
     * Once a run, before the indexer's first batch (may be NULL): indexes again the items
     * edited since the index last ran (edits whose reindex was never queued: a --once run's, or
     * lost to a crash). 0 or a negative errno (tried again at the next start).
     */
    int (*catch_up)(struct search_conn *c, int64_t hwm);
    /* Items stored and not indexed yet (0 on error). */
    int64_t (*lag)(struct search_conn *c, int64_t hwm);
    /* Writes the candidate expression of a query (search_expr with the engine's dialect). */
    const struct search_dialect *dialect;
    /*
     * The candidates for expr (a superset of the items that match): every item the index has
     * not reached (above hwm) and at most max of those expr finds, ids descending, each
     * handed to cb. 0, cb's nonzero value, or a negative errno.
     */
    int (*candidates)(struct search_conn *c, const char *expr, int64_t hwm, unsigned max,
                      search_id_cb cb, void *userdata);
    /* The highest item id stored (0 for none), or a negative errno. */
    int (*max_id)(struct search_conn *c, int64_t *ret_id);
    /* An item's order key, COALESCE(published_at, first_seen_at) (0 when it is gone). */
    int (*order_key)(struct search_conn *c, int64_t item_id, int64_t *ret_key);
    /*
     * The stored items newest first as `items` lists them (at most limit; 0 for no bound),
     * each id to cb: 0, cb's nonzero value, or a negative errno.
     */
    int (*newest)(struct search_conn *c, unsigned limit, search_id_cb cb, void *userdata);
    /*
     * One unpruned item: 0 with *ret_hit filled (its strings the connection's until its next
     * call; matched_json not set) and *ret_text its text ("" for none), 1 when there is no such
     * item (pruned or gone), or a negative errno.
     */
    int (*item)(struct search_conn *c, int64_t item_id, struct search_hit *ret_hit,
                const char **ret_text);
    /* Ends the use of what item lent (no read stays open on the store between calls). */
    void (*item_done)(struct search_conn *c);
};

/*
 * The words an engine indexes for a text: every token the matcher sees, the joined forms of
 * hyphenated words included (so `cooperation` finds "co-operation"), separated by single
 * spaces. "" for NULL or a text without words; NULL on OOM.
 */
char *search_index_words(const char *text);

/*
 * Writes into *ret_expr (a new string) an expression that matches a superset of what the
 * query's root matches, in the engine's dialect. *ret_narrows is false when it cannot narrow
 * anything (a NOT, a place: or alias: term, or an OR with such a branch): the expression is
 * then "". 0 or -ENOMEM.
 */
int search_expr(const struct search_dialect *d, const struct query_node *root, char **ret_expr,
                bool *ret_narrows);

/* Appends the NUL-terminated s to the growing string *buf (length *len, room *cap). */
int search_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n);

/* The engines (each in its own file). */
extern const struct search_engine search_sqlite_engine;
extern const struct search_engine search_pg_engine;

#endif
