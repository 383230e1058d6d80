/*
 * match.h — topics against items: a percolator that compiles every topic's query into one
 * index from normalized terms to the query leaves that use them.
 *
 * An item is tokenized and normalized once (normalize.h), each token is looked up once, and
 * only the topics whose terms occur are evaluated, with token positions for phrases and
 * proximity. A struct match is immutable once built: match_run() may run on several
 * threads at once. Pure: no I/O, no clock, no globals.
 *
 * Errors: negative errno; query errors carry "topic \"NAME\": expected ')' at column 17".
 */
#ifndef FEEDWATCH_MATCH_H
#define FEEDWATCH_MATCH_H

#include <stddef.h>

struct match;

/* The fields of an item that topics read. NULL fields are empty. */
struct match_doc {
    const char *title; /* plain text */
    const char *text;  /* plain text: the cleaned text, else summary/content as text */
    const char *lang;  /* ISO 639 code ("nl", "pt-BR"), or NULL when unknown: which
                        * languages' place names count (see match_alias, place:) */
};

/* Why a topic matched: one entry per distinct matched term (or phrase). */
struct match_term {
    char *term;    /* the query term or phrase as the user wrote it */
    char *field;   /* "title" or "text" */
    char *snippet; /* about 160 bytes of the original text around the first occurrence */
    char *via;     /* place: and alias: terms: which name of which set occurred, e.g.
                    * place UA: "Oekraïne" (nl); else NULL */
};

struct match_hit {
    size_t topic; /* index given to match_add() */
    struct match_term *terms;
    size_t n_terms;
};

struct match_result {
    struct match_hit *hits; /* in increasing topic order */
    size_t n_hits;
};

/* A new, empty matcher; NULL on OOM. */
struct match *match_new(void);

/*
 * Adds a topic with the caller's index and its query text. name is used in error messages.
 * 0, or -EINVAL with *reterr_msg ("topic \"osce\": expected ')' at column 17").
 */
int match_add(struct match *m, size_t topic, const char *name, const char *query,
              char **reterr_msg);

/*
 * Defines the alias set NAME (case-insensitive) for `alias:NAME` in the topics added after
 * it: each of names is a word or phrase, normalized like query words, matched in items of
 * every language. 0, -EEXIST (defined twice), -EINVAL (after match_build, empty name) or
 * -ENOMEM. A topic that uses an undefined alias is an error of match_add().
 *
 * place:X (query.h) needs no definition: its names come from the built-in CLDR table
 * (place.h). A name from the CLDR locale of language L counts in items whose lang is L;
 * English names count in every item; an item of unknown language (lang NULL) takes every
 * locale's names; a name of three letters or fewer counts only as CLDR writes it (case
 * included). One-word names match their inflected forms: by Snowball stem in ru, de, nl,
 * pt, es, it, fr, sv, da, no, fi, hu, ro, tr, el, ca, lt (only in items of that language:
 * stems are guesses, and in a text of unknown language too many words share them), by the
 * forms Hunspell's dictionaries give in uk, pl, cs (names of those languages, so in items
 * of unknown language too).
 */
int match_alias(struct match *m, const char *name, const char *const *names, size_t n_names);

/* Freezes the matcher after the last match_add(); 0 or -ENOMEM. */
int match_build(struct match *m);

/* Matches one document; *ret_result is filled (free with match_result_done). 0 or -ENOMEM. */
int match_run(const struct match *m, const struct match_doc *doc, struct match_result *ret_result);

void match_result_done(struct match_result *r);

/*
 * Why a hit matched as compact JSON, [{"term","field","snippet"[,"via"]}], as alerts store it and
 * hooks and `search` show it: a new string (free it), or NULL on OOM.
 */
char *match_terms_json(const struct match_hit *hit);

/* Releases the matcher; accepts NULL. */
void match_free(struct match *m);

#endif
