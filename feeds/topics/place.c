#include "topics/place.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text/normalize.h"

static const char *
str_at(uint32_t off)
{
    return place_strings + off;
}

static int
cmp_rec_code(const void *key, const void *elem)
{
    const struct place_rec *r = elem;
    return strcmp(key, str_at(r->code));
}

/* "ua" → "UA", "ua-14" → "UA-14", "001" in buf; false when it cannot be a code. */
static bool
canonical_code(const char *s, size_t len, char *buf, size_t size)
{
    size_t k = 0;
    if (len < 2 || len > 8)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
        if (k + 2 >= size)
            return false;
        buf[k++] = c;
    }
    buf[k] = '\0';
    /* Two letters, three digits, or two letters, '-' and one to four letters or digits. */
    return k == 2 || (k == 3 && buf[0] <= '9') || (k > 3 && buf[2] == '-');
}

/* The record of a place by code or name. */
int
place_lookup(const char *what, size_t len, size_t *ret_rec)
{
    char code[16];

    if (canonical_code(what, len, code, sizeof(code))) {
        const struct place_rec *r =
            bsearch(code, place_recs, place_n_recs, sizeof(*place_recs), cmp_rec_code);
        if (r) {
            *ret_rec = (size_t)(r - place_recs);
            return 0;
        }
    }
    char *folded = normalize_text(what, len);
    if (!folded)
        return -ENOMEM;
    size_t lo = 0, hi = place_n_index;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(str_at(place_index[mid].folded), folded) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int r = -ENOENT;
    if (folded[0] && lo < place_n_index && strcmp(str_at(place_index[lo].folded), folded) == 0) {
        *ret_rec = place_index[lo].rec;
        r = 0;
    }
    free(folded);
    return r;
}

const char *
place_code(size_t rec)
{
    return str_at(place_recs[rec].code);
}

size_t
place_n_names_of(size_t rec)
{
    return place_recs[rec].n_names;
}

void
place_name_get(size_t rec, size_t i, struct place_name_view *ret)
{
    const struct place_name *n = &place_names[place_recs[rec].first_name + i];
    uint32_t ls = n->langset & ((1u << PLACE_FLAG_SHIFT) - 1);
    *ret = (struct place_name_view){
        .name = str_at(n->str),
        .flags = n->langset >> PLACE_FLAG_SHIFT,
        .langs = place_langsets + ls + 1,
        .n_langs = place_langsets[ls],
    };
}

/* The index of a language. */
int
place_lang(const char *lang)
{
    char base[16];
    size_t k = 0;

    if (!lang)
        return -1;
    for (; lang[k] && lang[k] != '-' && lang[k] != '_'; k++) {
        if (k + 1 >= sizeof(base))
            return -1;
        char c = lang[k];
        base[k] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    base[k] = '\0';
    if (k == 0)
        return -1;
    size_t lo = 0, hi = place_n_langs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(str_at(place_lang_codes[mid]), base);
        if (c == 0)
            return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const char *
place_lang_code(int idx)
{
    return idx >= 0 && (size_t)idx < place_n_langs ? str_at(place_lang_codes[idx]) : "";
}

/* The Snowball algorithm of a language index. */
const char *
place_stemmer(int idx)
{
    static const char *const algo[][2] = {
        {"ca", "catalan"},   {"da", "danish"},     {"de", "german"},     {"el", "greek"},
        {"es", "spanish"},   {"fi", "finnish"},    {"fr", "french"},     {"hu", "hungarian"},
        {"it", "italian"},   {"lt", "lithuanian"}, {"nb", "norwegian"},  {"nl", "dutch"},
        {"nn", "norwegian"}, {"no", "norwegian"},  {"pt", "portuguese"}, {"ro", "romanian"},
        {"ru", "russian"},   {"sv", "swedish"},    {"tr", "turkish"},
    };
    const char *code = place_lang_code(idx);
    for (size_t i = 0; i < sizeof(algo) / sizeof(algo[0]); i++)
        if (strcmp(algo[i][0], code) == 0)
            return algo[i][1];
    return NULL;
}
