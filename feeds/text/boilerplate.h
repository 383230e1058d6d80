/*
 * boilerplate.h — what in an item's HTML is not the article: share and follow blocks, app
 * promos, related-headline lists, bylines and timestamp lines, image captions, agency and
 * copyright footers, "The post … appeared first on …", "Continue reading".
 *
 * Signals, not phrase lists alone: link density, length and punctuation, stopword density of
 * the item's language, class/id evidence, position, and repetition across the items of one
 * feed. Repetition is learnt in a struct boilerplate_model that the caller owns, persists
 * (boilerplate_model_save/_load, a small text blob) and passes to boilerplate_clean(), which
 * reads it and then counts the item's blocks into it. A model may be used by one thread at a
 * time; everything else is pure (no I/O, no clock). Errors are negative errno values.
 */
#ifndef FEEDWATCH_BOILERPLATE_H
#define FEEDWATCH_BOILERPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text/html.h"

#define BOILERPLATE_MODEL_MAX 4096          /* block fingerprints a model keeps */
#define BOILERPLATE_MIN_REPEATS 3           /* default: earlier items a block must be seen in */
#define BOILERPLATE_BLOB_MAX (256u * 1024u) /* bytes of a saved model */

/* The per-feed repetition model: fingerprints of blocks and how many items carried each. */
struct boilerplate_model;

enum boilerplate_mode {
    BOILERPLATE_ITEM, /* a feed item's HTML: everything is article unless a signal says not */
    BOILERPLATE_PAGE, /* blocks of a page's main-content candidate (extract.c) */
};

struct boilerplate_opts {
    const char *title;    /* the item's title (plain text) or NULL: a block repeating it goes */
    const char *language; /* ISO 639-1 or NULL: detected from the text */
    unsigned min_repeats; /* 0: BOILERPLATE_MIN_REPEATS */
    bool learn;           /* count this item's blocks into the model afterwards */
};

/* A new empty model, or NULL on OOM. */
struct boilerplate_model *boilerplate_model_new(void);

/* Releases a model; accepts NULL. */
void boilerplate_model_free(struct boilerplate_model *model);

/* Items counted into the model so far. */
uint32_t boilerplate_model_items(const struct boilerplate_model *model);

/*
 * Serialises the model (text: a "feedwatch-boilerplate 1" line, then one fingerprint per
 * line) into *ret_data (malloc'ed, NUL-terminated) and *ret_len. 0 or -ENOMEM.
 */
int boilerplate_model_save(const struct boilerplate_model *model, char **ret_data, size_t *ret_len);

/*
 * Reads a blob written by boilerplate_model_save(). 0 with *ret_model, -EPROTO for a blob
 * that is not one (*reterr_msg says why, malloc'ed), -EMSGSIZE past BOILERPLATE_BLOB_MAX,
 * -ENOMEM.
 */
int boilerplate_model_load(const char *data, size_t len, struct boilerplate_model **ret_model,
                           char **reterr_msg);

/*
 * Counts one item's blocks into the model: each distinct block fingerprint once, then one
 * more item. 0 or -ENOMEM (the model stays usable).
 */
int boilerplate_model_learn(struct boilerplate_model *model, const struct html_blocks *blocks);

/*
 * Decides for each block whether it is article (keep[i] true) or boilerplate, and may trim a
 * leading date stamp off a block's text. model may be NULL (no repetition signal).
 */
void boilerplate_filter(struct html_blocks *blocks, enum boilerplate_mode mode,
                        const struct boilerplate_opts *opts, const struct boilerplate_model *model,
                        bool *keep);

/*
 * The article text of an item's HTML (UTF-8): boilerplate removed, paragraphs separated by
 * a blank line. opts and model may be NULL; with opts->learn the item is then counted into
 * the model. 0 with *ret_text ("" when nothing is left), -EMSGSIZE, -ENOMEM.
 */
int boilerplate_clean(const char *html, size_t len, const struct boilerplate_opts *opts,
                      struct boilerplate_model *model, char **ret_text);

#endif
