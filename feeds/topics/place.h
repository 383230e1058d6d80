/*
 * place.h — the names of the world's territories and their subdivisions in every CLDR
 * language, for `place:` in topic queries (match.h).
 *
 * The table is generated at build time by scripts/gen-places.py from the installed CLDR
 * (Debian's unicode-cldr-core: common/main/[locale].xml territories with their alt forms,
 * common/subdivisions/[locale].xml) and, for Ukrainian, Polish and Czech, the inflected forms that
 * Hunspell's dictionaries (hunspell-uk, -pl, -cs) give for the one-word territory names. It
 * is read-only data compiled into the program: nothing is parsed at start. A place is a
 * record (its ISO 3166 code, "UA" or "UA-14") with names; each name carries the base
 * languages of the CLDR locales that give it.
 *
 * Inflection of the languages Snowball stems (place_stemmer()) is left to the matcher, at
 * match time. Pure; any thread; no allocation except where said.
 */
#ifndef FEEDWATCH_PLACE_H
#define FEEDWATCH_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLACE_EXACT 1u       /* three letters or fewer: counts only as written in CLDR */
#define PLACE_FORM 2u        /* an inflected form from Hunspell, not a CLDR name */
#define PLACE_SUBDIVISION 4u /* record kind: an ISO 3166-2 subdivision */
#define PLACE_FLAG_SHIFT 29

/* The generated tables (offsets into place_strings; see scripts/gen-places.py). */
struct place_rec {
    uint32_t code;       /* "UA", "001", "UA-14" */
    uint32_t first_name; /* in place_names */
    uint32_t n_names;
    uint32_t kind; /* 0 or PLACE_SUBDIVISION */
};

struct place_name {
    uint32_t str;
    uint32_t langset; /* offset in place_langsets (n, then n language indices), flags << 29 */
};

struct place_index {
    uint32_t folded; /* the name as normalize_text() gives it */
    uint32_t rec;
};

extern const char place_strings[];
extern const size_t place_strings_size;
extern const uint32_t place_lang_codes[];
extern const size_t place_n_langs;
extern const uint16_t place_langsets[];
extern const struct place_rec place_recs[];
extern const size_t place_n_recs;
extern const struct place_name place_names[];
extern const size_t place_n_names;
extern const struct place_index place_index[];
extern const size_t place_n_index;
extern const size_t place_n_locales;

/* One name of a place as the matcher reads it. */
struct place_name_view {
    const char *name;      /* as CLDR (or Hunspell) writes it */
    unsigned flags;        /* PLACE_EXACT, PLACE_FORM */
    const uint16_t *langs; /* language indices (place_lang()) */
    size_t n_langs;
};

/*
 * The record of a place: an ISO 3166 code in any case ("UA", "ua", "001", "UA-14", "ua14"),
 * else a name of it in any CLDR language, folded like every query word ("oekraine",
 * "Hoa Kỳ"). A name several places bear gives the one most locales name so (territories
 * before subdivisions). 0 with *ret_rec, -ENOENT, or -ENOMEM.
 */
int place_lookup(const char *what, size_t len, size_t *ret_rec);

/* The ISO code of a record. */
const char *place_code(size_t rec);

/* The number of names of a record, and one of them. */
size_t place_n_names_of(size_t rec);
void place_name_get(size_t rec, size_t i, struct place_name_view *ret);

/*
 * The index of a language (ISO 639 code, any case, a region or script after '-' or '_'
 * ignored: "pt-BR" → pt), or -1 when no CLDR name is in it.
 */
int place_lang(const char *lang);

/* The code of a language index ("nl"). */
const char *place_lang_code(int idx);

/*
 * The Snowball algorithm (libstemmer's name) that stems place names of a language index,
 * or NULL: ru, de, nl, pt, es, it, fr, sv, da, nb/nn/no, fi, hu, ro, tr, el, ca, lt.
 * English is not stemmed (its names count in every language).
 */
const char *place_stemmer(int idx);

#endif
