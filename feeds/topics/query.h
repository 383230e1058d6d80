/*
 * query.h — the topic query language (PRODUCT.md "Topic queries") parsed to a tree.
 *
 *   word  ukrain*  "a phrase"  "a phrase"~N  a AND b  a b  a OR b  NOT a  -a  ( … )
 *   title:word  title:"a phrase"  title:( … )
 *   place:UA  place:Oekraïne  place:"Hoa Kỳ"  place:UA-14  alias:NAME  title:place:UA
 *
 * OR binds loosest, then AND (explicit or implicit), then NOT / '-'. Operators are upper
 * case; "and", "or", "not" are words. Words are normalized with normalize.h, exactly as item
 * text is: a word is a unit of parts ("co-operation" → co, operation, joined "cooperation"),
 * and a bare word that normalizes to several words ("U.S.") is a phrase. '*' at the end of a
 * bare word makes its last part a prefix. "…"~N matches all the words in any order with at
 * most N positions from the first of them to the last (N ≤ QUERY_MAX_SLOP).
 *
 * place:X names a territory or subdivision by ISO 3166 code or by any of its CLDR names
 * (place.h); the leaf keeps the code and the matcher reads its names. alias:NAME names a set
 * of synonyms from the config ([alias "NAME"]), which the matcher resolves. Both are one
 * term each: they cannot stand inside a phrase.
 *
 * Errors name the topic and the column (in characters, from 1):
 * topic "x": expected ')' at column 17 (without a name: query: …). A struct query owns all
 * its nodes; query_free() releases it. Pure; any thread.
 */
#ifndef FEEDWATCH_QUERY_H
#define FEEDWATCH_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#define QUERY_MAX_LEN 4096 /* bytes of query text */
#define QUERY_MAX_DEPTH 32 /* nesting of parentheses and NOTs */
#define QUERY_MAX_LEAVES 256
#define QUERY_MAX_UNITS 32 /* words of one phrase */
#define QUERY_MAX_SLOP 1000

enum query_op {
    QUERY_AND,
    QUERY_OR,
    QUERY_NOT,
    QUERY_TERM,   /* one word (unit) */
    QUERY_PHRASE, /* words in order, or within slop positions in any order */
};

/* One query word: its normalized parts in order, and the joined form when it had several. */
struct query_unit {
    char **parts;
    size_t n_parts;
    char *joined; /* NULL for a one-part word or a Han/kana run */
    bool prefix;  /* the last part (and the joined form) is a prefix */
};

enum query_set {
    QUERY_SET_NONE,
    QUERY_SET_PLACE, /* place:X */
    QUERY_SET_ALIAS, /* alias:NAME */
};

struct query_node {
    enum query_op op;
    struct query_node **children; /* AND, OR (two or more), NOT (one) */
    size_t n_children;
    struct query_unit *units; /* TERM (one), PHRASE (one or more) */
    size_t n_units;
    int slop; /* PHRASE: -1 exact, else the ~N */
    bool title_only;
    char *text;         /* TERM, PHRASE: the term as written, without title: */
    size_t column;      /* where it starts, for messages */
    enum query_set set; /* TERM of a set: no units */
    char *set_name;     /* PLACE: its ISO code ("UA"); ALIAS: the name, lower case */
};

struct query {
    struct query_node *root;
    size_t n_leaves;
};

/*
 * Parses text. name (may be NULL) is the topic's name for messages. 0 with *ret_query, or
 * -EINVAL with *reterr_msg (topic "osce": expected ')' at column 17), or -ENOMEM.
 */
int query_parse(const char *name, const char *text, struct query **ret_query, char **reterr_msg);

/*
 * The tree as an S-expression for tests and debugging, e.g.
 * (or osce (phrase~4 ukraine border) (and (not x) title:co-operation|cooperation ukrain*)).
 * NULL on OOM.
 */
char *query_format(const struct query *q);

/* Releases a query; accepts NULL. */
void query_free(struct query *q);

#endif
