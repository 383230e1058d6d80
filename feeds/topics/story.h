/*
 * story.h — language-independent evidence that two items report the same event, for story
 * grouping across languages (issue 17, part 2).
 *
 * An item's story signature (struct story_sig) is a small sorted set of 32-bit keys of three
 * kinds, each comparable across languages and scripts, plus its SimHash (simhash.h):
 *  - places: the CLDR territories it names in any language (place.h, through a matcher of
 *    place:XX terms, so with the same language rules and inflections as topics);
 *  - names: capitalised words (people, teams, organisations, places CLDR lacks), folded
 *    (normalize.h), Cyrillic and Greek transliterated to Latin, and reduced to a phonetic
 *    skeleton so "Sturridge" = "Старридж" and "Liverpool" = "Ливерпуля";
 *  - numbers: "1,234.5" = "1.234,5" = "1 234,5", "7,5" = "7.5", "89th" = "89.", percentages
 *    and years; numbers below 11 say little and are left out.
 * story_score() weighs the keys two signatures share; story_same() is the rule (story.c says
 * it and why). Pure: no I/O, no clock; a struct story_places is immutable once built and
 * may be used from several threads at once.
 */
#ifndef FEEDWATCH_STORY_H
#define FEEDWATCH_STORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORY_MAX_KEYS 128 /* keys kept per item (the first in text order win) */

/* A key's kind, in its top two bits. */
#define STORY_KEY_PLACE 0u
#define STORY_KEY_NAME 1u
#define STORY_KEY_NUMBER 2u
#define STORY_KEY_KIND(k) ((k) >> 30)

struct story_sig {
    uint64_t simhash;              /* simhash.h signature; 0: none */
    uint32_t keys[STORY_MAX_KEYS]; /* sorted, unique */
    size_t n_keys;
};

/* The place finder: every CLDR territory as a place: term (built once, dear: ~0.1 s). */
struct story_places;

/* 0 with *ret, or -ENOMEM. */
int story_places_new(struct story_places **ret);
void story_places_free(struct story_places *p);

/*
 * The signature of an item: its title and text (plain text, either may be NULL), its
 * language (ISO 639, NULL: unknown) and SimHash (0: none). places may be NULL (no place keys).
 * 0 or -ENOMEM.
 */
int story_sig_make(const struct story_places *p, const char *title, const char *text,
                   const char *lang, uint64_t simhash, struct story_sig *ret);

/* What two signatures share. */
struct story_shared {
    unsigned places, names, numbers;
    unsigned numbers_strong; /* the shared numbers that are not weak (years: story.c) */
    double names_w;          /* the shared names, each weighed by its rarity (story_compare_df) */
    double mass_a, mass_b;   /* the weighted sums over all keys of each (story.c) */
    int simhash_distance;    /* -1: a side has no SimHash */
    bool near_duplicate;     /* simhash_same_story() */
};

void story_compare(const struct story_sig *a, const struct story_sig *b, struct story_shared *ret);

/*
 * Document frequency: of the other stories being compared with (a topic's alerts in the story
 * window but b, the one compared), how many have key. A name that many of a topic's stories
 * share (its usual cast) says little about which one an item reports. Returns 0 when unknown.
 */
typedef unsigned (*story_df_fn)(void *userdata, uint32_t key);

/* story_compare with each shared name weighed by df (NULL: every name weighs 1). */
void story_compare_df(const struct story_sig *a, const struct story_sig *b, story_df_fn df,
                      void *userdata, struct story_shared *ret);

/* The score of what two signatures share (story.c: the weights). */
double story_score(const struct story_shared *s);

/* The rule: the same event (near-duplicate text, a shared number with two shared names or a
 * shared name and place, or score >= STORY_THRESHOLD with a shared name; story.c). */
bool story_same(const struct story_sig *a, const struct story_sig *b);
bool story_same_df(const struct story_sig *a, const struct story_sig *b, story_df_fn df,
                   void *userdata);
bool story_same_shared(const struct story_shared *s);

/*
 * A story's signature grows with its sources: dst takes the keys of src it lacks, as long as
 * it has room (STORY_MAX_KEYS; its own keys stay).
 */
void story_sig_merge(struct story_sig *dst, const struct story_sig *src);

/*
 * A signature as bytes for the store (the keys, little-endian, after the SimHash): at most
 * STORY_SIG_BYTES_MAX; story_sig_unpack() refuses (-EINVAL) what story_sig_pack() did not make.
 */
#define STORY_SIG_BYTES_MAX (8 + 4 * STORY_MAX_KEYS)
size_t story_sig_pack(const struct story_sig *s, uint8_t *buf);
int story_sig_unpack(const uint8_t *buf, size_t len, struct story_sig *ret);

#endif
