#include "topics/match.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libstemmer.h>
#include <pthread.h>
#include <utf8proc.h>

#include "text/normalize.h"
#include "topics/place.h"
#include "topics/query.h"

/*
 * How it scales. Every distinct normalized string of every topic (a word part, a joined
 * form, a prefix) is one key in a hash table. Each leaf (term or phrase) is registered under
 * the keys of one of its words (its longest: the rarest, probably); a leaf cannot be true
 * unless one of those keys occurs. Matching an item tokenizes it once and looks each token up
 * once in the exact table and once per distinct prefix length in the prefix table (FNV-1a,
 * computed incrementally over the token's bytes), collecting occurrences (key, position).
 * The topics of the leaves of the keys that occurred, plus the topics that are true without
 * any term (NOT-only), are the only ones evaluated; a topic's leaves are computed lazily from
 * the occurrences. Work per item depends on the item and on how many topics its words touch,
 * not on the number of topics.
 *
 * Places and aliases (place:UA, alias:acme) are sets of names. A set is one synthetic key
 * ("\1UA", "\2acme": no text normalizes to those bytes) that a topic's leaf is registered
 * under like any word. Each name of a set that some topic uses is an entry registered under
 * the key of its last word (exact table), or, for a one-word place name in a language that
 * Snowball stems, under its folded stem (prefix table). While an item is tokenized, a token
 * that hits a key with entries is checked against them (the item's language, the exact
 * writing of short names, the words before it for a name of several words — hashes of the
 * last MAX_NAME_WORDS tokens are kept — or, in an item of a stemmed language, its Snowball
 * stem in that language) and, when one holds, the set's
 * key occurs at the name's positions. Tokens that hit no entry cost nothing more, so topics
 * with place: terms cost about what topics with plain words do.
 */

#define FIELD_TITLE 0
#define FIELD_TEXT 1
#define FIELD_GAP (1u << 20) /* between title and text positions: > QUERY_MAX_SLOP */
#define NO_KEY UINT32_MAX
#define MAX_PREFIX_LEN 512 /* bytes; longer prefixes never match */
#define SNIPPET_LEN 160
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define MAX_NAME_WORDS 16 /* words of a place or alias name */
#define MIN_STEM_BYTES                                                                             \
    4                     /* stems of this many bytes or fewer are not used: too many              \
                           * words start so ("hell", "indi", "bras") */
#define MAX_STEM_WORD 256 /* bytes of a word that is stemmed */
#define MAX_STEMMERS 8    /* languages stemmed in one item of unknown language */
#define MAX_SUFFIX_CHARS                                                                           \
    4                      /* a word longer than a stem by more is not stemmed: no case            \
                            * ending of the stemmed languages is longer */
#define POOL_STEMMERS 32   /* stemmers kept between calls */
#define STEM_START_BITS 14 /* bits of the filter of the stems' first bytes */
#define SET_PLACE '\1'
#define SET_ALIAS '\2'
#define PE_STEM 0x80u /* entry flag: matches by Snowball stem */

struct mkey {
    char *s;
    uint32_t len;
    uint64_t hash;
    uint32_t *leaves; /* leaves registered under this key */
    uint32_t n_leaves, cap_leaves;
    uint32_t *pents; /* set entries registered under this key */
    uint32_t n_pents, cap_pents;
    bool used; /* a word of some topic (else only a set name's: no occurrence kept) */
};

/* One name of a place or alias set that tokens are checked against. */
struct mpent {
    uint32_t set;          /* in sets */
    uint32_t first_word;   /* in pwords: FNV hashes of the words before the last */
    uint32_t n_words;      /* words of the name, the last one included */
    const uint16_t *langs; /* languages (place.h indices) whose items it counts in */
    uint32_t n_langs;      /* 0: every item (an alias, or a name English gives) */
    uint32_t flags;        /* PLACE_EXACT, PLACE_FORM, PE_STEM */
    int stem_lang;         /* PE_STEM: the language stemmed */
    const char *name;      /* as CLDR or the config writes it */
};

struct mset {
    char kind;        /* SET_PLACE, SET_ALIAS */
    uint32_t key;     /* the synthetic key */
    const char *name; /* code or alias name: the key's string after its first byte */
};

struct malias {
    char *name; /* lower case */
    char **names;
    size_t n_names;
};

struct munit {
    uint32_t first_part, n_parts; /* in part_keys */
    uint32_t joined;              /* key or NO_KEY */
};

struct mleaf {
    uint32_t topic; /* internal topic index */
    uint32_t first_unit, n_units;
    int32_t slop; /* -1: exact (or one unit) */
    bool title_only;
    char *label;
    uint32_t label_len; /* strlen(label), <= QUERY_MAX_LEN */
};

enum { MN_AND, MN_OR, MN_NOT, MN_LEAF };

struct mnode {
    uint8_t op;
    uint32_t first; /* AND/OR/NOT: first child in kids; LEAF: the leaf */
    uint32_t n;
};

struct mtopic {
    size_t id;
    uint32_t root;
    uint32_t first_leaf, n_leaves;
};

struct mtable {
    uint64_t *slots; /* SLOT(hash, key), 0 = empty */
    size_t cap;      /* power of two */
    size_t n;
    uint64_t *bloom; /* built: bit hash >> bloom_shift set for each key (most misses stop here) */
    unsigned bloom_shift;
};

struct match {
    struct mkey *keys;
    size_t n_keys, cap_keys;
    struct mtable exact, prefix;
    bool prefix_len[MAX_PREFIX_LEN + 1];
    size_t max_prefix_len; /* the largest len with prefix_len[len] */
    /*
     * Stems of place names: a table apart, probed only for tokens whose first
     * MIN_STEM_BYTES bytes some stem starts with (stem_start: bits over their hash).
     */
    struct mtable stem;
    bool stem_len[MAX_PREFIX_LEN + 1];
    size_t max_stem_len;
    uint64_t stem_start[(1u << STEM_START_BITS) / 64];
    uint32_t *part_keys;
    size_t n_part_keys, cap_part_keys;
    struct munit *units;
    size_t n_units, cap_units;
    struct mleaf *leaves;
    size_t n_leaves, cap_leaves;
    struct mnode *nodes;
    size_t n_nodes, cap_nodes;
    uint32_t *kids;
    size_t n_kids, cap_kids;
    struct mtopic *topics;
    size_t n_topics, cap_topics;
    uint64_t *always; /* bitmap over topics: true without any term */
    size_t n_words;   /* of the bitmaps */
    struct mpent *pents;
    size_t n_pents, cap_pents;
    uint64_t *pwords;
    size_t n_pwords, cap_pwords;
    struct mset *sets;
    size_t n_sets, cap_sets;
    struct malias *aliases;
    size_t n_aliases, cap_aliases;
    int lang_en;            /* place_lang("en") */
    struct stem_pool *pool; /* stemmers reused across match_run() calls and threads */
    bool built;
};

/* Snowball stemmers are not thread-safe and dear to create: a call borrows them from here. */
struct stem_pool {
    pthread_mutex_t lock;
    int lang[POOL_STEMMERS];
    struct sb_stemmer *st[POOL_STEMMERS];
    size_t n;
};

/* Grows an array to hold at least n elements. */
static int
grow(void *pp, size_t *cap, size_t n, size_t size)
{
    void **p = pp;
    if (n <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < n) {
        if (c > SIZE_MAX / 2 / size)
            return -ENOMEM;
        c *= 2;
    }
    void *q = realloc(*p, c * size);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

static uint64_t
fnv(const char *s, size_t len)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
    }
    return h;
}

static size_t
slot_of(uint64_t h, size_t cap)
{
    h ^= h >> 31;
    h *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 17) & (cap - 1);
}

/* A slot holds the key + 1 (0: empty) and, above it, 32 bits of the key's hash. */
#define SLOT(h, key) ((((h) >> 32) << 32) | ((uint64_t)(key) + 1))
#define SLOT_KEY(v) ((uint32_t)((v)&0xffffffffu) - 1)

static inline __attribute__((always_inline)) uint32_t
table_find(const struct match *m, const struct mtable *t, uint64_t h, const char *s, size_t len)
{
    if (t->cap == 0)
        return NO_KEY;
    if (t->bloom) {
        uint64_t b = h >> t->bloom_shift;
        if (!((t->bloom[b / 64] >> (b % 64)) & 1))
            return NO_KEY;
    }
    uint64_t hi = h >> 32;
    for (size_t i = slot_of(h, t->cap);; i = (i + 1) & (t->cap - 1)) {
        uint64_t v = t->slots[i];
        if (v == 0)
            return NO_KEY;
        if (v >> 32 != hi)
            continue;
        const struct mkey *k = &m->keys[SLOT_KEY(v)];
        if (k->hash == h && k->len == len && memcmp(k->s, s, len) == 0)
            return SLOT_KEY(v);
    }
}

static int
table_insert(struct match *m, struct mtable *t, uint32_t key)
{
    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        uint64_t *slots = calloc(cap, sizeof(*slots));
        if (!slots)
            return -ENOMEM;
        for (size_t i = 0; i < t->cap; i++) {
            uint64_t v = t->slots[i];
            if (v == 0)
                continue;
            size_t j = slot_of(m->keys[SLOT_KEY(v)].hash, cap);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = v;
        }
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    uint64_t h = m->keys[key].hash;
    size_t j = slot_of(h, t->cap);
    while (t->slots[j])
        j = (j + 1) & (t->cap - 1);
    t->slots[j] = SLOT(h, key);
    t->n++;
    return 0;
}

/* Fills the table's Bloom bits: 8 to 16 bits a key, one bit each. */
static int
table_bloom(struct match *m, struct mtable *t)
{
    unsigned log2 = 6;
    while (log2 < 40 && ((size_t)1 << log2) < t->n * 8)
        log2++;
    t->bloom = calloc(((size_t)1 << log2) / 64, sizeof(*t->bloom));
    if (!t->bloom)
        return -ENOMEM;
    t->bloom_shift = 64 - log2;
    for (size_t i = 0; i < t->cap; i++) {
        uint64_t v = t->slots[i];
        if (v == 0)
            continue;
        uint64_t b = m->keys[SLOT_KEY(v)].hash >> t->bloom_shift;
        t->bloom[b / 64] |= 1ULL << (b % 64);
    }
    return 0;
}

enum { TABLE_EXACT, TABLE_PREFIX, TABLE_STEM };

/* The key of a normalized string in a table, added if new. */
static int
intern_in(struct match *m, int table, const char *s, uint32_t *ret_key)
{
    struct mtable *t = table == TABLE_PREFIX ? &m->prefix
                       : table == TABLE_STEM ? &m->stem
                                             : &m->exact;
    bool prefix = table == TABLE_PREFIX;
    size_t len = strlen(s);
    uint64_t h = fnv(s, len);
    uint32_t k = table_find(m, t, h, s, len);
    int r;

    if (k != NO_KEY) {
        *ret_key = k;
        return 0;
    }
    if (m->n_keys >= UINT32_MAX - 1 || len > UINT32_MAX)
        return -ENOMEM;
    r = grow(&m->keys, &m->cap_keys, m->n_keys + 1, sizeof(*m->keys));
    if (r < 0)
        return r;
    struct mkey *key = &m->keys[m->n_keys];
    memset(key, 0, sizeof(*key));
    key->s = strdup(s);
    if (!key->s)
        return -ENOMEM;
    key->len = (uint32_t)len;
    key->hash = h;
    k = (uint32_t)m->n_keys++;
    r = table_insert(m, t, k);
    if (r < 0) {
        free(key->s);
        m->n_keys--;
        return r;
    }
    if (prefix && len <= MAX_PREFIX_LEN) {
        m->prefix_len[len] = true;
        if (len > m->max_prefix_len)
            m->max_prefix_len = len;
    }
    if (table == TABLE_STEM && len <= MAX_PREFIX_LEN && len >= MIN_STEM_BYTES) {
        m->stem_len[len] = true;
        if (len > m->max_stem_len)
            m->max_stem_len = len;
        uint64_t h4 = fnv(s, MIN_STEM_BYTES) >> (64 - STEM_START_BITS);
        m->stem_start[h4 / 64] |= 1ULL << (h4 % 64); /* on_doc_token's h after 4 bytes */
    }
    *ret_key = k;
    return 0;
}

static int
intern(struct match *m, const char *s, bool prefix, uint32_t *ret_key)
{
    return intern_in(m, prefix ? TABLE_PREFIX : TABLE_EXACT, s, ret_key);
}

static int
key_add_leaf(struct match *m, uint32_t key, uint32_t leaf)
{
    struct mkey *k = &m->keys[key];
    if (k->n_leaves > 0 && k->leaves[k->n_leaves - 1] == leaf)
        return 0;
    size_t cap = k->cap_leaves;
    int r = grow(&k->leaves, &cap, (size_t)k->n_leaves + 1, sizeof(*k->leaves));
    if (r < 0)
        return r;
    k->cap_leaves = (uint32_t)cap;
    k->leaves[k->n_leaves++] = leaf;
    return 0;
}

static int set_key(struct match *m, enum query_set kind, const char *name, uint32_t *ret_key);

static int
compile_leaf(struct match *m, const struct query_node *q, uint32_t topic, uint32_t *ret_leaf)
{
    if (q->set != QUERY_SET_NONE) {
        uint32_t k;
        int r = set_key(m, q->set, q->set_name, &k);
        if (r == 0)
            r = grow(&m->leaves, &m->cap_leaves, m->n_leaves + 1, sizeof(*m->leaves));
        if (r == 0)
            r = grow(&m->units, &m->cap_units, m->n_units + 1, sizeof(*m->units));
        if (r == 0)
            r = grow(&m->part_keys, &m->cap_part_keys, m->n_part_keys + 1, sizeof(*m->part_keys));
        uint32_t leaf = (uint32_t)m->n_leaves;
        if (r == 0)
            r = key_add_leaf(m, k, leaf);
        if (r < 0)
            return r;
        struct munit *u = &m->units[m->n_units];
        *u = (struct munit){.first_part = (uint32_t)m->n_part_keys, .n_parts = 1, .joined = NO_KEY};
        m->part_keys[m->n_part_keys++] = k;
        struct mleaf *l = &m->leaves[leaf];
        *l = (struct mleaf){
            .topic = topic,
            .first_unit = (uint32_t)m->n_units++,
            .n_units = 1,
            .slop = -1,
            .title_only = q->title_only,
            .label = strdup(q->text),
        };
        if (!l->label)
            return -ENOMEM;
        l->label_len = (uint32_t)strlen(l->label);
        m->n_leaves++;
        *ret_leaf = leaf;
        return 0;
    }
    int r = grow(&m->leaves, &m->cap_leaves, m->n_leaves + 1, sizeof(*m->leaves));
    if (r < 0)
        return r;
    r = grow(&m->units, &m->cap_units, m->n_units + q->n_units, sizeof(*m->units));
    if (r < 0)
        return r;
    uint32_t leaf = (uint32_t)m->n_leaves;
    uint32_t first_unit = (uint32_t)m->n_units;
    size_t best = 0, best_len = 0;

    for (size_t i = 0; i < q->n_units; i++) {
        const struct query_unit *qu = &q->units[i];
        r = grow(&m->part_keys, &m->cap_part_keys, m->n_part_keys + qu->n_parts,
                 sizeof(*m->part_keys));
        if (r < 0)
            return r;
        struct munit *u = &m->units[m->n_units];
        u->first_part = (uint32_t)m->n_part_keys;
        u->n_parts = (uint32_t)qu->n_parts;
        u->joined = NO_KEY;
        for (size_t j = 0; j < qu->n_parts; j++) {
            bool prefix = qu->prefix && j + 1 == qu->n_parts;
            r = intern(m, qu->parts[j], prefix, &m->part_keys[m->n_part_keys + j]);
            if (r < 0)
                return r;
            m->keys[m->part_keys[m->n_part_keys + j]].used = true;
        }
        if (qu->joined) {
            r = intern(m, qu->joined, qu->prefix, &u->joined);
            if (r < 0)
                return r;
            m->keys[u->joined].used = true;
        }
        m->n_part_keys += qu->n_parts;
        m->n_units++;
        size_t len = strlen(qu->parts[0]);
        if (len > best_len) {
            best = i;
            best_len = len;
        }
    }
    /* Registered under the keys by which its likely rarest word can occur. */
    const struct munit *u = &m->units[first_unit + best];
    r = key_add_leaf(m, m->part_keys[u->first_part], leaf);
    if (r == 0 && u->joined != NO_KEY)
        r = key_add_leaf(m, u->joined, leaf);
    if (r < 0)
        return r;
    struct mleaf *l = &m->leaves[leaf];
    l->topic = topic;
    l->first_unit = first_unit;
    l->n_units = (uint32_t)q->n_units;
    l->slop = q->op == QUERY_PHRASE ? q->slop : -1;
    l->title_only = q->title_only;
    l->label = strdup(q->text);
    if (!l->label)
        return -ENOMEM;
    l->label_len = (uint32_t)strlen(l->label);
    m->n_leaves++;
    *ret_leaf = leaf;
    return 0;
}

static int
compile_node(struct match *m, const struct query_node *q, uint32_t topic, uint32_t *ret_node)
{
    int r = grow(&m->nodes, &m->cap_nodes, m->n_nodes + 1, sizeof(*m->nodes));
    if (r < 0)
        return r;
    uint32_t idx = (uint32_t)m->n_nodes++;

    if (q->op == QUERY_TERM || q->op == QUERY_PHRASE) {
        uint32_t leaf;
        r = compile_leaf(m, q, topic, &leaf);
        if (r < 0)
            return r;
        m->nodes[idx] = (struct mnode){.op = MN_LEAF, .first = leaf, .n = 0};
        *ret_node = idx;
        return 0;
    }
    r = grow(&m->kids, &m->cap_kids, m->n_kids + q->n_children, sizeof(*m->kids));
    if (r < 0)
        return r;
    uint32_t first = (uint32_t)m->n_kids;
    m->n_kids += q->n_children;
    m->nodes[idx] = (struct mnode){
        .op = q->op == QUERY_AND  ? MN_AND
              : q->op == QUERY_OR ? MN_OR
                                  : MN_NOT,
        .first = first,
        .n = (uint32_t)q->n_children,
    };
    for (size_t i = 0; i < q->n_children; i++) {
        uint32_t child;
        r = compile_node(m, q->children[i], topic, &child);
        if (r < 0)
            return r;
        m->kids[first + i] = child;
    }
    *ret_node = idx;
    return 0;
}

/* A new, empty matcher. */
struct match *
match_new(void)
{
    struct match *m = calloc(1, sizeof(struct match));
    if (!m)
        return NULL;
    m->lang_en = place_lang("en");
    m->pool = calloc(1, sizeof(*m->pool));
    if (!m->pool || pthread_mutex_init(&m->pool->lock, NULL) != 0) {
        free(m->pool);
        free(m);
        return NULL;
    }
    return m;
}

/* ---- Sets: places and aliases ---- */

static int
key_add_pent(struct match *m, uint32_t key, uint32_t pent)
{
    struct mkey *k = &m->keys[key];
    size_t cap = k->cap_pents;
    int r = grow(&k->pents, &cap, (size_t)k->n_pents + 1, sizeof(*k->pents));
    if (r < 0)
        return r;
    k->cap_pents = (uint32_t)cap;
    k->pents[k->n_pents++] = pent;
    return 0;
}

/* The words of a name being read: hashes, and the last word. */
struct name_words {
    uint64_t hash[MAX_NAME_WORDS];
    size_t n;
    char last[NORMALIZE_MAX_WORD * 4 + 1];
    bool too_long;
};

static int
on_name_token(const struct normalize_token *tok, void *userdata)
{
    struct name_words *w = userdata;
    if (tok->joined)
        return 0;
    if (w->n == MAX_NAME_WORDS || tok->norm_len >= sizeof(w->last)) {
        w->too_long = true;
        return 1;
    }
    w->hash[w->n++] = fnv(tok->norm, tok->norm_len);
    memcpy(w->last, tok->norm, tok->norm_len);
    w->last[tok->norm_len] = '\0';
    return 0;
}

/* The folded Snowball stem of len bytes of word (case folded first): a new string or NULL. */
static char *
stem_fold(struct sb_stemmer *st, const char *word, size_t len)
{
    utf8proc_uint8_t *lower = NULL;
    if (len == 0 || len > MAX_STEM_WORD)
        return NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)word, (utf8proc_ssize_t)len, &lower,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
    if (n <= 0) {
        free(lower);
        return NULL;
    }
    const sb_symbol *stem = sb_stemmer_stem(st, lower, (int)n);
    char *out = stem ? normalize_text((const char *)stem, (size_t)sb_stemmer_length(st)) : NULL;
    free(lower);
    return out;
}

static bool
langs_have(const uint16_t *langs, size_t n, int lang)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (langs[mid] == lang)
            return true;
        if (langs[mid] < lang)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* A stemmer per language for one set's load. */
struct stem_cache {
    int lang[32];
    struct sb_stemmer *st[32];
    size_t n;
};

static struct sb_stemmer *
stem_cache_get(struct stem_cache *sc, int lang)
{
    for (size_t i = 0; i < sc->n; i++)
        if (sc->lang[i] == lang)
            return sc->st[i];
    if (sc->n == sizeof(sc->lang) / sizeof(sc->lang[0]))
        return NULL;
    struct sb_stemmer *st = sb_stemmer_new(place_stemmer(lang), "UTF_8");
    if (!st)
        return NULL;
    sc->lang[sc->n] = lang;
    sc->st[sc->n++] = st;
    return st;
}

/* Adds one name of a set (and its stems): 0 or -ENOMEM. */
static int
add_name(struct match *m, uint32_t set, const char *name, unsigned flags, const uint16_t *langs,
         size_t n_langs, struct stem_cache *sc)
{
    struct name_words w;
    uint32_t k;
    int r;

    w.n = 0;
    w.too_long = false;
    r = normalize_tokenize(name, strlen(name), 0, on_name_token, &w, NULL);
    if (r < 0)
        return r;
    if (w.n == 0 || w.too_long)
        return 0;
    bool every = n_langs == 0 || (m->lang_en >= 0 && langs_have(langs, n_langs, m->lang_en));
    r = intern(m, w.last, false, &k);
    if (r < 0)
        return r;
    /* The same words for every item already there: nothing to add. */
    const struct mkey *key = &m->keys[k];
    bool dup = false;
    for (uint32_t i = 0; i < key->n_pents && every && !dup; i++) {
        const struct mpent *o = &m->pents[key->pents[i]];
        dup = o->set == set && o->n_langs == 0 && o->n_words == w.n &&
              (o->flags & PLACE_EXACT) == (flags & PLACE_EXACT) && !(o->flags & PE_STEM) &&
              memcmp(m->pwords + o->first_word, w.hash, (w.n - 1) * sizeof(uint64_t)) == 0;
    }
    if (!dup) {
        r = grow(&m->pwords, &m->cap_pwords, m->n_pwords + w.n, sizeof(*m->pwords));
        if (r == 0)
            r = grow(&m->pents, &m->cap_pents, m->n_pents + 1, sizeof(*m->pents));
        if (r < 0)
            return r;
        m->pents[m->n_pents] = (struct mpent){
            .set = set,
            .first_word = (uint32_t)m->n_pwords,
            .n_words = (uint32_t)w.n,
            .langs = every ? NULL : langs,
            .n_langs = every ? 0 : (uint32_t)n_langs,
            .flags = flags,
            .stem_lang = -1,
            .name = name,
        };
        memcpy(m->pwords + m->n_pwords, w.hash, (w.n - 1) * sizeof(uint64_t));
        m->n_pwords += w.n - 1;
        r = key_add_pent(m, k, (uint32_t)m->n_pents);
        if (r < 0)
            return r;
        m->n_pents++;
    }
    if (w.n != 1 || (flags & (PLACE_EXACT | PLACE_FORM)) || !sc)
        return 0;
    /* One word in languages Snowball stems: its inflected forms by their stem. */
    for (size_t i = 0; i < n_langs; i++) {
        int lang = langs[i];
        if (lang == m->lang_en || !place_stemmer(lang))
            continue;
        struct sb_stemmer *st = stem_cache_get(sc, lang);
        if (!st)
            return -ENOMEM;
        char *stem = stem_fold(st, name, strlen(name));
        if (!stem || strlen(stem) <= MIN_STEM_BYTES || strchr(stem, ' ')) {
            free(stem);
            continue;
        }
        r = intern_in(m, TABLE_STEM, stem, &k);
        free(stem);
        if (r < 0)
            return r;
        key = &m->keys[k];
        dup = false;
        for (uint32_t j = 0; j < key->n_pents && !dup; j++) {
            const struct mpent *o = &m->pents[key->pents[j]];
            dup = o->set == set && o->stem_lang == lang;
        }
        if (dup)
            continue;
        r = grow(&m->pents, &m->cap_pents, m->n_pents + 1, sizeof(*m->pents));
        if (r < 0)
            return r;
        m->pents[m->n_pents] = (struct mpent){
            .set = set,
            .n_words = 1,
            .flags = PE_STEM,
            .stem_lang = lang,
            .name = name,
        };
        r = key_add_pent(m, k, (uint32_t)m->n_pents);
        if (r < 0)
            return r;
        m->n_pents++;
    }
    return 0;
}

static const struct malias *
alias_find(const struct match *m, const char *name)
{
    for (size_t i = 0; i < m->n_aliases; i++)
        if (strcasecmp(m->aliases[i].name, name) == 0)
            return &m->aliases[i];
    return NULL;
}

/* The synthetic key of a set, its names loaded the first time: 0, -ENOENT or -ENOMEM. */
static int
set_key(struct match *m, enum query_set kind, const char *name, uint32_t *ret_key)
{
    char *s = NULL;
    const struct malias *a = NULL;
    size_t rec = 0;
    uint32_t k;
    int r;

    if (kind == QUERY_SET_ALIAS) {
        a = alias_find(m, name);
        if (!a)
            return -ENOENT;
    } else {
        r = place_lookup(name, strlen(name), &rec);
        if (r < 0)
            return r;
    }
    if (asprintf(&s, "%c%s", kind == QUERY_SET_PLACE ? SET_PLACE : SET_ALIAS, name) < 0)
        return -ENOMEM;
    size_t before = m->n_keys;
    r = intern(m, s, false, &k);
    free(s);
    if (r < 0)
        return r;
    *ret_key = k;
    if (m->n_keys == before)
        return 0; /* loaded for an earlier topic */
    m->keys[k].used = true;
    r = grow(&m->sets, &m->cap_sets, m->n_sets + 1, sizeof(*m->sets));
    if (r < 0)
        return r;
    uint32_t set = (uint32_t)m->n_sets++;
    m->sets[set] = (struct mset){
        .kind = kind == QUERY_SET_PLACE ? SET_PLACE : SET_ALIAS,
        .key = k,
        .name = m->keys[k].s + 1,
    };
    if (kind == QUERY_SET_ALIAS) {
        for (size_t i = 0; i < a->n_names && r == 0; i++)
            r = add_name(m, set, a->names[i], 0, NULL, 0, NULL);
        return r;
    }
    struct stem_cache sc = {.n = 0};
    for (size_t i = 0; i < place_n_names_of(rec) && r == 0; i++) {
        struct place_name_view v;
        place_name_get(rec, i, &v);
        r = add_name(m, set, v.name, v.flags, v.langs, v.n_langs, &sc);
    }
    for (size_t i = 0; i < sc.n; i++)
        sb_stemmer_delete(sc.st[i]);
    return r;
}

/* Defines an alias set. */
int
match_alias(struct match *m, const char *name, const char *const *names, size_t n_names)
{
    if (m->built || !name || !name[0])
        return -EINVAL;
    if (alias_find(m, name))
        return -EEXIST;
    int r = grow(&m->aliases, &m->cap_aliases, m->n_aliases + 1, sizeof(*m->aliases));
    if (r < 0)
        return r;
    struct malias *a = &m->aliases[m->n_aliases];
    a->name = strdup(name);
    a->names = calloc(n_names ? n_names : 1, sizeof(*a->names));
    a->n_names = 0;
    if (!a->name || !a->names) {
        free(a->name);
        free(a->names);
        return -ENOMEM;
    }
    for (char *q = a->name; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    m->n_aliases++;
    for (size_t i = 0; i < n_names; i++) {
        a->names[i] = strdup(names[i]);
        if (!a->names[i])
            return -ENOMEM;
        a->n_names++;
    }
    return 0;
}

/* The first alias: of the query that no [alias] defines, with its column; NULL if none. */
static const struct query_node *
unknown_alias(const struct match *m, const struct query_node *n)
{
    if (n->set == QUERY_SET_ALIAS && !alias_find(m, n->set_name))
        return n;
    for (size_t i = 0; i < n->n_children; i++) {
        const struct query_node *u = unknown_alias(m, n->children[i]);
        if (u)
            return u;
    }
    return NULL;
}

/* Adds a topic. */
int
match_add(struct match *m, size_t topic, const char *name, const char *query, char **reterr_msg)
{
    struct query *q = NULL;
    int r;

    if (m->built) {
        if (reterr_msg)
            *reterr_msg = strdup("matcher: topics added after match_build()");
        return -EINVAL;
    }
    r = query_parse(name, query, &q, reterr_msg);
    if (r < 0)
        return r;
    const struct query_node *ua = unknown_alias(m, q->root);
    if (ua) {
        char *msg = NULL;
        int n = name ? asprintf(&msg,
                                "topic \"%s\": unknown alias '%s' at column %zu "
                                "(no [alias \"%s\"] in the config)",
                                name, ua->set_name, ua->column, ua->set_name)
                     : asprintf(&msg,
                                "query: unknown alias '%s' at column %zu (no "
                                "[alias \"%s\"] in the config)",
                                ua->set_name, ua->column, ua->set_name);
        if (n < 0)
            msg = NULL;
        if (reterr_msg)
            *reterr_msg = msg;
        else
            free(msg);
        query_free(q);
        return n < 0 ? -ENOMEM : -EINVAL;
    }
    if (m->n_topics >= UINT32_MAX / 2) {
        query_free(q);
        return -ENOMEM;
    }
    size_t old_leaves = m->n_leaves, old_nodes = m->n_nodes, old_kids = m->n_kids;
    size_t old_units = m->n_units, old_parts = m->n_part_keys;
    r = grow(&m->topics, &m->cap_topics, m->n_topics + 1, sizeof(*m->topics));
    uint32_t root = 0;
    if (r == 0)
        r = compile_node(m, q->root, (uint32_t)m->n_topics, &root);
    if (r < 0) {
        /* Undo: forget the leaves of this topic everywhere (keys may stay, unused). */
        for (size_t i = old_leaves; i < m->n_leaves; i++)
            free(m->leaves[i].label);
        for (size_t k = 0; k < m->n_keys; k++) {
            struct mkey *key = &m->keys[k];
            while (key->n_leaves > 0 && key->leaves[key->n_leaves - 1] >= old_leaves)
                key->n_leaves--;
        }
        m->n_leaves = old_leaves;
        m->n_nodes = old_nodes;
        m->n_kids = old_kids;
        m->n_units = old_units;
        m->n_part_keys = old_parts;
        query_free(q);
        return r;
    }
    m->topics[m->n_topics++] = (struct mtopic){
        .id = topic,
        .root = root,
        .first_leaf = (uint32_t)old_leaves,
        .n_leaves = (uint32_t)(m->n_leaves - old_leaves),
    };
    query_free(q);
    return 0;
}

/*
 * One occurrence of a key in the item (key set), or of a word (unit) or phrase: positions
 * [start, end] and source bytes [off, end_off). The same layout for both, so that the
 * intervals of a one-part word are its key's occurrences, read in place.
 */
struct mival {
    uint32_t start, end;
    uint32_t field;
    uint32_t key;
    uint32_t via; /* the set entry whose name occurred, or NO_KEY */
    size_t off, end_off;
};

struct mivec {
    struct mival *v;
    size_t n, cap;
};

/* The intervals of one unit of the leaf being computed: in occ, or in a struct mivec. */
struct miview {
    const struct mival *v;
    size_t n;
};

struct mkeyrange {
    uint32_t key;
    uint32_t first, n; /* in occ */
};

/* Per-topic memo of its leaves: 0 unknown, 1 false, 2 true (then occ is where). */
struct mleafstate {
    uint8_t state;
    struct mival where;
};

struct mwin {
    uint32_t start;
    uint32_t unit;
    uint32_t field;
    uint32_t via;
    size_t off, end_off;
};

/* A hit being built: its terms are rterms[first_term ..]. */
struct rhit {
    size_t topic;
    size_t first_term, n_terms;
};

/* A term being built: its snippet is bytes[snip ..] (NUL-terminated). */
struct rterm {
    const char *label;
    uint32_t label_len;
    uint32_t field;
    size_t off, end_off; /* the occurrence the snippet is about */
    size_t snip;
    size_t via;         /* in bytes: the set name that occurred, or SIZE_MAX */
    uint32_t via_entry; /* the set entry of via, or NO_KEY */
};

/*
 * Per-call scratch. Everything up to leafs is cleared at the start of a call; leafs (10 KB)
 * is cleared per topic, for its own leaves only.
 */
struct mctx {
    const struct match *m;
    const struct match_doc *doc;
    size_t title_len, text_len;
    uint32_t field;
    int err;
    bool lang_known;                    /* the item's language is given */
    int lang;                           /* its place.h index (-1: one without CLDR names) */
    uint64_t ring_hash[MAX_NAME_WORDS]; /* the last tokens (not joined forms) of the field */
    uint32_t ring_pos[MAX_NAME_WORDS];
    size_t ring_off[MAX_NAME_WORDS];
    uint32_t n_ring;
    int stem_lang[MAX_STEMMERS];
    struct sb_stemmer *stemmer[MAX_STEMMERS];
    size_t n_stemmers;
    struct mival *occ;
    size_t n_occ, cap_occ;
    struct mkeyrange *ranges;
    size_t n_ranges;
    uint32_t *map; /* key -> range + 1, open addressing */
    size_t map_cap;
    struct mivec units[QUERY_MAX_UNITS]; /* storage for the units that need it */
    struct miview uv[QUERY_MAX_UNITS];   /* the intervals of each unit */
    const struct mtopic *topic;
    bool all_false;   /* evaluate with every leaf false (the NOT-only test) */
    struct mwin *win; /* proximity scratch */
    size_t cap_win;
    struct rhit *rhits;
    size_t n_rhits, cap_rhits;
    struct rterm *rterms;
    size_t n_rterms, cap_rterms;
    char *bytes; /* the snippets of the result */
    size_t n_bytes, cap_bytes;
    struct mleafstate leafs[QUERY_MAX_LEAVES]; /* last: not cleared as a whole */
};

static inline int
push_occ(struct mctx *c, uint32_t key, const struct normalize_token *tok)
{
    if (c->n_occ == c->cap_occ) {
        int r = grow(&c->occ, &c->cap_occ, c->n_occ + 1, sizeof(*c->occ));
        if (r < 0)
            return r;
    }
    c->occ[c->n_occ++] = (struct mival){
        .start = tok->pos,
        .end = tok->pos + tok->span,
        .field = c->field,
        .key = key,
        .via = NO_KEY,
        .off = tok->off,
        .end_off = tok->off + tok->len,
    };
    return 0;
}

static bool set_occ_at(const struct mctx *c, uint32_t key, uint32_t start);

/* The key of a set occurs at [start, end], bytes [off, end_off), by the name of entry via. */
static int
push_set_occ(struct mctx *c, uint32_t key, uint32_t start, uint32_t end, size_t off, size_t end_off,
             uint32_t via)
{
    /* Once per set and place in the text, whichever of its names found it first. */
    if (set_occ_at(c, key, start))
        return 0;
    if (c->n_occ == c->cap_occ) {
        int r = grow(&c->occ, &c->cap_occ, c->n_occ + 1, sizeof(*c->occ));
        if (r < 0)
            return r;
    }
    c->occ[c->n_occ++] = (struct mival){
        .start = start,
        .end = end,
        .field = c->field,
        .key = key,
        .via = via,
        .off = off,
        .end_off = end_off,
    };
    return 0;
}

/* Whether a set's key already occurs at position start (a name found it there). */
static bool
set_occ_at(const struct mctx *c, uint32_t key, uint32_t start)
{
    for (size_t i = c->n_occ, n = 0; i > 0 && n < 32; i--, n++) {
        const struct mival *o = &c->occ[i - 1];
        if (o->key == key && o->start == start && o->field == c->field)
            return true;
    }
    return false;
}

static const char *
field_text(const struct mctx *c)
{
    return c->field == FIELD_TITLE ? c->doc->title : c->doc->text;
}

/* Whether a name counts in this item's language. */
static bool
pent_lang_ok(const struct mctx *c, const struct mpent *e)
{
    if (e->n_langs == 0 || !c->lang_known)
        return true;
    return c->lang >= 0 && langs_have(e->langs, e->n_langs, c->lang);
}

/* The entries of the exact key a token hit: names that end with this word. */
static int
name_entries(struct mctx *c, const struct mkey *key, const struct normalize_token *tok)
{
    const struct match *m = c->m;

    for (uint32_t i = 0; i < key->n_pents; i++) {
        uint32_t ei = key->pents[i];
        const struct mpent *e = &m->pents[ei];
        if ((e->flags & PE_STEM) || !pent_lang_ok(c, e))
            continue;
        uint32_t start = tok->pos;
        size_t off = tok->off;
        if (e->n_words > 1) {
            uint32_t before = e->n_words - 1;
            if (c->n_ring < before)
                continue;
            bool ok = true;
            for (uint32_t j = 0; j < before && ok; j++) {
                uint32_t r = (c->n_ring - before + j) % MAX_NAME_WORDS;
                ok = c->ring_hash[r] == m->pwords[e->first_word + j] &&
                     c->ring_pos[r] + before - j == tok->pos;
            }
            if (!ok)
                continue;
            uint32_t r0 = (c->n_ring - before) % MAX_NAME_WORDS;
            start = c->ring_pos[r0];
            off = c->ring_off[r0];
        }
        if (e->flags & PLACE_EXACT) {
            /* Short names only as CLDR writes them: "US", never "us"; "AS", never "as". */
            size_t nlen = strlen(e->name);
            if (tok->off + tok->len - off != nlen ||
                memcmp(field_text(c) + off, e->name, nlen) != 0)
                continue;
        }
        int r = push_set_occ(c, m->sets[e->set].key, start, tok->pos + tok->span, off,
                             tok->off + tok->len, ei);
        if (r < 0)
            return r;
    }
    return 0;
}

static struct sb_stemmer *
ctx_stemmer(struct mctx *c, int lang)
{
    for (size_t i = 0; i < c->n_stemmers; i++)
        if (c->stem_lang[i] == lang)
            return c->stemmer[i];
    if (c->n_stemmers == MAX_STEMMERS)
        return NULL;
    struct stem_pool *pool = c->m->pool;
    struct sb_stemmer *st = NULL;
    (void)pthread_mutex_lock(&pool->lock);
    for (size_t i = pool->n; i > 0; i--) {
        if (pool->lang[i - 1] == lang) {
            st = pool->st[i - 1];
            pool->lang[i - 1] = pool->lang[pool->n - 1];
            pool->st[i - 1] = pool->st[pool->n - 1];
            pool->n--;
            break;
        }
    }
    (void)pthread_mutex_unlock(&pool->lock);
    if (!st)
        st = sb_stemmer_new(place_stemmer(lang), "UTF_8");
    if (!st)
        return NULL;
    c->stem_lang[c->n_stemmers] = lang;
    c->stemmer[c->n_stemmers++] = st;
    return st;
}

/* The entries of a prefix key a token hit: stems of one-word place names. */
static int
stem_entries(struct mctx *c, const struct mkey *key, const struct normalize_token *tok)
{
    const struct match *m = c->m;
    size_t more = 0; /* characters of the token after the stem */
    for (size_t i = key->len; i < tok->norm_len && more <= MAX_SUFFIX_CHARS; i++)
        more += ((unsigned char)tok->norm[i] & 0xc0) != 0x80;
    if (more > MAX_SUFFIX_CHARS)
        return 0;

    for (uint32_t i = 0; i < key->n_pents; i++) {
        uint32_t ei = key->pents[i];
        const struct mpent *e = &m->pents[ei];
        if (!(e->flags & PE_STEM) || c->lang != e->stem_lang ||
            set_occ_at(c, m->sets[e->set].key, tok->pos))
            continue;
        struct sb_stemmer *st = ctx_stemmer(c, e->stem_lang);
        if (!st)
            continue; /* more languages than stemmers kept: only in unknown languages */
        char *stem = stem_fold(st, field_text(c) + tok->off, tok->len);
        bool same = stem && strlen(stem) == key->len && memcmp(stem, key->s, key->len) == 0;
        free(stem);
        if (!same)
            continue;
        int r = push_set_occ(c, m->sets[e->set].key, tok->pos, tok->pos + tok->span, tok->off,
                             tok->off + tok->len, ei);
        if (r < 0)
            return r;
    }
    return 0;
}

static int
on_doc_token(const struct normalize_token *tok, void *userdata)
{
    struct mctx *c = userdata;
    const struct match *m = c->m;
    const char *s = tok->norm;
    size_t len = tok->norm_len;
    uint64_t h = FNV_OFFSET;
    uint32_t k;
    int r;
    const struct mkey *stems[8]; /* prefix keys hit that have set entries (stems) */
    size_t n_stems = 0;

    /* The prefix keys of every length some prefix has (<= MAX_PREFIX_LEN), then the rest. */
    size_t plen = len < m->max_prefix_len ? len : m->max_prefix_len;
    size_t slen = 0; /* and the stems, when a stem starts as this token does */
    size_t lim = plen;
    size_t i = 0;
    if (m->max_stem_len && c->lang_known && len > MIN_STEM_BYTES && !tok->joined) {
        for (; i < MIN_STEM_BYTES; i++) {
            h ^= (unsigned char)s[i];
            h *= FNV_PRIME;
            if (i < plen && m->prefix_len[i + 1]) {
                k = table_find(m, &m->prefix, h, s, i + 1);
                if (k != NO_KEY && m->keys[k].used) {
                    r = push_occ(c, k, tok);
                    if (r < 0)
                        return r;
                }
            }
        }
        uint64_t h4 = h >> (64 - STEM_START_BITS); /* h is fnv(s, MIN_STEM_BYTES) here */
        if ((m->stem_start[h4 / 64] >> (h4 % 64)) & 1) {
            slen = len < m->max_stem_len ? len : m->max_stem_len;
            lim = plen > slen ? plen : slen;
        }
    }
    for (; i < lim; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
        if (i < slen && m->stem_len[i + 1]) {
            k = table_find(m, &m->stem, h, s, i + 1);
            if (k != NO_KEY && n_stems < sizeof(stems) / sizeof(*stems))
                stems[n_stems++] = &m->keys[k];
        }
        if (i < plen && m->prefix_len[i + 1]) {
            k = table_find(m, &m->prefix, h, s, i + 1);
            if (k != NO_KEY) {
                const struct mkey *key = &m->keys[k];
                r = key->used ? push_occ(c, k, tok) : 0;
                if (r < 0)
                    return r;
            }
        }
    }
    for (; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
    }
    k = table_find(m, &m->exact, h, s, len);
    if (k != NO_KEY) {
        const struct mkey *key = &m->keys[k];
        r = key->used ? push_occ(c, k, tok) : 0;
        if (r == 0 && key->n_pents && !tok->joined)
            r = name_entries(c, key, tok);
        if (r < 0)
            return r;
    }
    /* Stems after names, so that a name written as it is says so in the explanation. */
    for (size_t j = 0; j < n_stems; j++) {
        r = stem_entries(c, stems[j], tok);
        if (r < 0)
            return r;
    }
    if (!tok->joined && m->n_pents) {
        uint32_t slot = c->n_ring++ % MAX_NAME_WORDS;
        c->ring_hash[slot] = h;
        c->ring_pos[slot] = tok->pos;
        c->ring_off[slot] = tok->off;
    }
    return 0;
}

static size_t
map_slot(uint32_t key, size_t cap)
{
    return (size_t)((key * 0x9e3779b1u) >> 7) & (cap - 1);
}

/*
 * Groups the occurrences by key, each group in position order, in linear time (a sort of
 * the whole list cost more than anything else at 10,000 topics). Tokens arrive in position
 * order except a joined form, which follows its parts: the few groups out of order are put
 * right by insertion.
 */
static int
group_occ(struct mctx *c)
{
    size_t cap = 16;
    while (cap < 2 * c->n_occ)
        cap *= 2;
    c->map = calloc(cap, sizeof(*c->map));
    c->ranges = malloc((c->n_occ ? c->n_occ : 1) * sizeof(*c->ranges));
    struct mival *sorted = malloc((c->n_occ ? c->n_occ : 1) * sizeof(*sorted));
    if (!c->map || !c->ranges || !sorted) {
        free(sorted);
        return -ENOMEM;
    }
    c->map_cap = cap;
    for (size_t i = 0; i < c->n_occ; i++) {
        uint32_t key = c->occ[i].key;
        size_t j = map_slot(key, cap);
        while (c->map[j] && c->ranges[c->map[j] - 1].key != key)
            j = (j + 1) & (cap - 1);
        if (!c->map[j]) {
            c->ranges[c->n_ranges] = (struct mkeyrange){key, 0, 0};
            c->map[j] = (uint32_t)++c->n_ranges;
        }
        c->ranges[c->map[j] - 1].n++;
    }
    uint32_t off = 0;
    for (size_t r = 0; r < c->n_ranges; r++) {
        c->ranges[r].first = off;
        off += c->ranges[r].n;
        c->ranges[r].n = 0;
    }
    for (size_t i = 0; i < c->n_occ; i++) {
        uint32_t key = c->occ[i].key;
        size_t j = map_slot(key, cap);
        while (c->ranges[c->map[j] - 1].key != key)
            j = (j + 1) & (cap - 1);
        struct mkeyrange *g = &c->ranges[c->map[j] - 1];
        struct mival o = c->occ[i];
        size_t k = g->first + g->n++;
        while (k > g->first && (sorted[k - 1].start > o.start ||
                                (sorted[k - 1].start == o.start && sorted[k - 1].end > o.end))) {
            sorted[k] = sorted[k - 1];
            k--;
        }
        sorted[k] = o;
    }
    free(c->occ);
    c->occ = sorted;
    c->cap_occ = c->n_occ ? c->n_occ : 1;
    return 0;
}

/* The occurrences of a key, sorted by position (n = 0 when it does not occur). */
static const struct mival *
key_occ(const struct mctx *c, uint32_t key, size_t *ret_n)
{
    if (c->map_cap) {
        for (size_t j = map_slot(key, c->map_cap); c->map[j]; j = (j + 1) & (c->map_cap - 1)) {
            const struct mkeyrange *g = &c->ranges[c->map[j] - 1];
            if (g->key == key) {
                *ret_n = g->n;
                return c->occ + g->first;
            }
        }
    }
    *ret_n = 0;
    return NULL;
}

static int
ivec_push(struct mctx *c, struct mivec *v, const struct mival *iv)
{
    if (v->n == v->cap) {
        int r = grow(&v->v, &v->cap, v->n + 1, sizeof(*v->v));
        if (r < 0) {
            c->err = r;
            return r;
        }
    }
    v->v[v->n++] = *iv;
    return 0;
}

/* First occurrence at or after pos in a position-sorted list. */
static size_t
occ_lower(const struct mival *o, size_t n, uint32_t pos)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (o[mid].start < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Chains parts j.. of a unit from position pos; pushes each complete chain. */
static int
chain_parts(struct mctx *c, const struct munit *u, uint32_t j, uint32_t pos,
            const struct mival *sofar, struct mivec *out)
{
    size_t n;
    const struct mival *o = key_occ(c, c->m->part_keys[u->first_part + j], &n);
    for (size_t i = occ_lower(o, n, pos); i < n && o[i].start == pos; i++) {
        struct mival iv = *sofar;
        iv.end = o[i].end;
        iv.end_off = o[i].end_off;
        int r = j + 1 == u->n_parts ? ivec_push(c, out, &iv)
                                    : chain_parts(c, u, j + 1, iv.end + 1, &iv, out);
        if (r < 0)
            return r;
    }
    return 0;
}

static int
cmp_ival(const void *a, const void *b)
{
    const struct mival *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/*
 * Every occurrence of unit i of a leaf (joined form, or its parts in a row), sorted by start,
 * into c->uv[i]: a one-part word without a joined form is its key's occurrence list itself
 * (the title's first, so title_only keeps a prefix of it); others are built in c->units[i].
 */
static int
unit_intervals(struct mctx *c, const struct munit *u, bool title_only, size_t i_unit)
{
    struct mivec *out = &c->units[i_unit];
    struct miview *view = &c->uv[i_unit];
    size_t n;
    const struct mival *o;
    int r;

    if (u->n_parts == 1 && u->joined == NO_KEY) {
        o = key_occ(c, c->m->part_keys[u->first_part], &n);
        if (title_only) {
            size_t k = 0;
            while (k < n && o[k].field == FIELD_TITLE)
                k++;
            n = k;
        }
        *view = (struct miview){o, n};
        return 0;
    }
    out->n = 0;
    if (u->joined != NO_KEY) {
        o = key_occ(c, u->joined, &n);
        for (size_t i = 0; i < n; i++) {
            r = ivec_push(c, out, &o[i]);
            if (r < 0)
                return r;
        }
    }
    o = key_occ(c, c->m->part_keys[u->first_part], &n);
    for (size_t i = 0; i < n; i++) {
        r = u->n_parts == 1 ? ivec_push(c, out, &o[i])
                            : chain_parts(c, u, 1, o[i].end + 1, &o[i], out);
        if (r < 0)
            return r;
    }
    if (title_only) {
        size_t k = 0;
        for (size_t i = 0; i < out->n; i++)
            if (out->v[i].field == FIELD_TITLE)
                out->v[k++] = out->v[i];
        out->n = k;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_ival);
    *view = (struct miview){out->v, out->n};
    return 0;
}

/* Exact phrase: unit i starts right after the end of unit i-1. */
static bool
chain_units(struct mctx *c, size_t n_units, size_t i, uint32_t start, struct mival *io)
{
    const struct miview *v = &c->uv[i];
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->v[mid].start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo; k < v->n && v->v[k].start == start; k++) {
        if (i + 1 == n_units) {
            io->end = v->v[k].end;
            io->end_off = v->v[k].end_off;
            return true;
        }
        if (chain_units(c, n_units, i + 1, v->v[k].end + 1, io))
            return true;
    }
    return false;
}

/* Proximity: the smallest window holding every unit, any order, start to start <= slop. */
static bool
proximity(struct mctx *c, size_t n_units, uint32_t slop, struct mival *ret)
{
    const struct miview *uv = c->uv;
    size_t total = 0;
    for (size_t i = 0; i < n_units; i++)
        total += uv[i].n;
    uint32_t count[QUERY_MAX_UNITS] = {0};
    size_t k = 0, covered = 0, left = 0;
    bool found = false;

    int err = grow(&c->win, &c->cap_win, total, sizeof(*c->win));
    if (err < 0) {
        c->err = err;
        return false;
    }
    struct mwin *w = c->win;
    /* Merge the sorted lists. */
    size_t idx[QUERY_MAX_UNITS] = {0};
    while (k < total) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < n_units; i++) {
            if (idx[i] < uv[i].n &&
                (best == SIZE_MAX || uv[i].v[idx[i]].start < uv[best].v[idx[best]].start))
                best = i;
        }
        const struct mival *iv = &uv[best].v[idx[best]++];
        w[k++] = (struct mwin){iv->start, (uint32_t)best, iv->field, iv->via, iv->off, iv->end_off};
    }
    for (size_t r = 0; r < total && !found; r++) {
        if (count[w[r].unit]++ == 0)
            covered++;
        while (left < r && count[w[left].unit] > 1) {
            count[w[left].unit]--;
            left++;
        }
        if (covered == n_units && w[r].start - w[left].start <= slop) {
            size_t end_off = 0;
            for (size_t i = left; i <= r; i++)
                if (w[i].end_off > end_off)
                    end_off = w[i].end_off;
            *ret = (struct mival){
                .start = w[left].start,
                .end = w[r].start,
                .field = w[left].field,
                .via = w[left].via,
                .off = w[left].off,
                .end_off = end_off,
            };
            found = true;
        }
    }
    return found;
}

static bool
leaf_compute(struct mctx *c, const struct mleaf *l, struct mival *ret)
{
    const struct match *m = c->m;

    for (uint32_t i = 0; i < l->n_units; i++) {
        if (unit_intervals(c, &m->units[l->first_unit + i], l->title_only, i) < 0)
            return false;
        if (c->uv[i].n == 0)
            return false;
    }
    if (l->n_units == 1) {
        *ret = c->uv[0].v[0];
        return true;
    }
    if (l->slop < 0) {
        for (size_t k = 0; k < c->uv[0].n; k++) {
            struct mival iv = c->uv[0].v[k];
            if (chain_units(c, l->n_units, 1, iv.end + 1, &iv)) {
                *ret = iv;
                return true;
            }
        }
        return false;
    }
    /* A window never spans the gap between the title and the text. */
    return proximity(c, l->n_units, (uint32_t)l->slop, ret);
}

static bool
leaf_eval(struct mctx *c, uint32_t leaf)
{
    if (c->all_false)
        return false;
    struct mleafstate *s = &c->leafs[leaf - c->topic->first_leaf];
    if (s->state == 0)
        s->state = leaf_compute(c, &c->m->leaves[leaf], &s->where) ? 2 : 1;
    return s->state == 2;
}

static bool
node_eval(struct mctx *c, uint32_t idx)
{
    const struct mnode *n = &c->m->nodes[idx];

    if (n->op == MN_LEAF)
        return leaf_eval(c, n->first);
    /* Only now: a leaf's first is a leaf index, and kids is NULL when no topic has an operator. */
    const uint32_t *kids = c->m->kids + n->first;
    switch (n->op) {
    case MN_LEAF:
        return false; /* handled above */
    case MN_NOT:
        return !node_eval(c, kids[0]);
    case MN_AND:
        for (uint32_t i = 0; i < n->n; i++)
            if (!node_eval(c, kids[i]))
                return false;
        return true;
    default:
        for (uint32_t i = 0; i < n->n; i++)
            if (node_eval(c, kids[i]))
                return true;
        return false;
    }
}

/* Freezes the matcher. */
int
match_build(struct match *m)
{
    struct mctx *c;

    if (m->built)
        return 0;
    m->n_words = (m->n_topics + 63) / 64;
    m->always = calloc(m->n_words ? m->n_words : 1, sizeof(*m->always));
    c = calloc(1, sizeof(*c));
    if (!m->always || !c || table_bloom(m, &m->exact) < 0 || table_bloom(m, &m->prefix) < 0 ||
        table_bloom(m, &m->stem) < 0) {
        free(c);
        free(m->always);
        m->always = NULL;
        free(m->exact.bloom);
        free(m->prefix.bloom);
        free(m->stem.bloom);
        m->exact.bloom = m->prefix.bloom = m->stem.bloom = NULL;
        return -ENOMEM;
    }
    c->m = m;
    c->all_false = true;
    for (size_t t = 0; t < m->n_topics; t++) {
        c->topic = &m->topics[t];
        if (node_eval(c, m->topics[t].root))
            m->always[t / 64] |= 1ULL << (t % 64);
    }
    free(c);
    m->built = true;
    return 0;
}

/* Bytes a snippet collapses into one space: controls, DEL and the space. */
static const bool snip_space[256] = {
    [0x00] = true, [0x01] = true, [0x02] = true, [0x03] = true, [0x04] = true, [0x05] = true,
    [0x06] = true, [0x07] = true, [0x08] = true, [0x09] = true, [0x0a] = true, [0x0b] = true,
    [0x0c] = true, [0x0d] = true, [0x0e] = true, [0x0f] = true, [0x10] = true, [0x11] = true,
    [0x12] = true, [0x13] = true, [0x14] = true, [0x15] = true, [0x16] = true, [0x17] = true,
    [0x18] = true, [0x19] = true, [0x1a] = true, [0x1b] = true, [0x1c] = true, [0x1d] = true,
    [0x1e] = true, [0x1f] = true, [' '] = true,  [0x7f] = true,
};

/*
 * Which of 8 bytes of text are controls or DEL (*ret_ctl) and which are spaces (*ret_sp): the
 * high bit of each such byte, the first byte in the lowest bits. Exact per byte (no carry
 * crosses a byte: each sum stays below 0x100).
 */
static void
snip_masks(const char *s, uint64_t *ret_ctl, uint64_t *ret_sp)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    const uint64_t low7 = ~highs;
    uint64_t x;
    memcpy(&x, s, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    uint64_t ge20 = (x & low7) + ones * (0x80 - 0x20); /* high bit: low 7 bits >= 0x20 */
    uint64_t lt20 = ~(ge20 | x) & highs;
    uint64_t y = x ^ (ones * 0x7f);
    uint64_t eq7f = ~(((y & low7) + low7) | y) & highs;
    uint64_t z = x ^ (ones * 0x20);
    *ret_sp = ~(((z & low7) + low7) | z) & highs;
    *ret_ctl = lt20 | eq7f;
}

static int
bytes_reserve(struct mctx *c, size_t more)
{
    if (more > SIZE_MAX - c->n_bytes)
        return -ENOMEM;
    return grow(&c->bytes, &c->cap_bytes, c->n_bytes + more, 1);
}

/*
 * Appends about SNIPPET_LEN bytes of text around [off, end), whitespace collapsed, "…" at
 * cuts, and a NUL to c->bytes.
 */
static int
make_snippet(struct mctx *c, const char *s, size_t slen, size_t off, size_t end)
{
    size_t mlen = end > off ? end - off : 0;
    size_t ctx = mlen < SNIPPET_LEN ? (SNIPPET_LEN - mlen) / 2 : 0;
    size_t a = off > ctx ? off - ctx : 0;
    size_t b = mlen < SNIPPET_LEN ? end + ctx : off + SNIPPET_LEN;

    if (b > slen)
        b = slen;
    if (a > off)
        a = off;
    while (a > 0 && ((unsigned char)s[a] & 0xc0) == 0x80)
        a--;
    while (b < slen && ((unsigned char)s[b] & 0xc0) == 0x80)
        b++;
    /* Prefer cutting at a space when one is near. */
    if (a > 0) {
        for (size_t i = a; i < off && i < a + 24; i++) {
            if (s[i] == ' ' || s[i] == '\n' || s[i] == '\t') {
                a = i + 1;
                break;
            }
        }
    }
    if (b < slen) {
        for (size_t i = b; i > end && i + 24 > b; i--) {
            if (s[i - 1] == ' ' || s[i - 1] == '\n' || s[i - 1] == '\t') {
                b = i - 1;
                break;
            }
        }
    }
    /* "…" + at most b - a bytes + "…" + NUL; an 8-byte store never passes b - a + 3. */
    int r = bytes_reserve(c, (b > a ? b - a : 0) + 8);
    if (r < 0)
        return r;
    char *out = c->bytes + c->n_bytes;
    size_t k = 0;
    if (a > 0) {
        memcpy(out, "\xe2\x80\xa6", 3);
        k = 3;
    }
    /*
     * Runs of spaces and controls become one space, none at the start or the end. Text with
     * single spaces is copied 8 bytes at a time, a space included as it comes (so out[k - 1]
     * may be a space, and then the next run adds none); anything else a byte at a time, a run
     * leaving a space pending until the next other byte. out has room for 8-byte stores: at
     * most one byte out per byte in, and i + 8 <= b.
     */
    size_t first = k;
    size_t i = a;
    bool pending = false;
    while (i < b) {
        if (b - i >= 8 && !pending && k > first) {
            uint64_t ctl, sp;
            snip_masks(s + i, &ctl, &sp);
            uint64_t prev_sp = (sp << 8) | (out[k - 1] == ' ' ? 0x80u : 0u);
            if ((ctl | (sp & prev_sp)) == 0) {
                memcpy(out + k, s + i, 8);
                i += 8;
                k += 8;
                continue;
            }
        }
        unsigned char ch = (unsigned char)s[i++];
        if (snip_space[ch]) {
            if (k > first && out[k - 1] != ' ')
                pending = true;
            continue;
        }
        if (pending)
            out[k++] = ' ';
        pending = false;
        out[k++] = (char)ch;
    }
    if (k > first && out[k - 1] == ' ')
        k--; /* copied with the last 8 bytes */
    if (b < slen) {
        memcpy(out + k, "\xe2\x80\xa6", 3);
        k += 3;
    }
    out[k] = '\0';
    c->n_bytes += k + 1;
    return 0;
}

/*
 * Appends which name of which set occurred, and a NUL, to c->bytes: place UA: "Oekraïne"
 * (nl); place UA: "Украина" (ru), inflected (Snowball ru); place UA: "Україні" (uk), a form
 * of Hunspell's uk dictionary; alias acme: "ACME Corp". Returns the bytes appended.
 */
/* Appends s to b (capacity cap, k used), cut when full; b stays NUL-terminated. */
static void
app(char *b, size_t *k, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n > cap - 1 - *k)
        n = cap - 1 - *k;
    memcpy(b + *k, s, n);
    *k += n;
    b[*k] = '\0';
}

static int
format_via(struct mctx *c, uint32_t via)
{
    const struct mpent *e = &c->m->pents[via];
    const struct mset *set = &c->m->sets[e->set];
    char langs[96] = "";
    size_t k = 0;

    /* By hand, not printf: one is formatted for every place: hit of every item. */
    if (e->flags & PE_STEM) {
        app(langs, &k, sizeof(langs), " (");
        app(langs, &k, sizeof(langs), place_lang_code(e->stem_lang));
        app(langs, &k, sizeof(langs), "), inflected (Snowball ");
        app(langs, &k, sizeof(langs), place_lang_code(e->stem_lang));
        app(langs, &k, sizeof(langs), ")");
    } else if (set->kind == SET_PLACE) {
        app(langs, &k, sizeof(langs), " (");
        if (e->n_langs == 0)
            app(langs, &k, sizeof(langs), "every language");
        for (uint32_t i = 0; i < e->n_langs && i < 4; i++) {
            if (i)
                app(langs, &k, sizeof(langs), " ");
            app(langs, &k, sizeof(langs), place_lang_code(e->langs[i]));
        }
        if (e->n_langs > 4) {
            char num[16];
            size_t d = sizeof(num) - 1;
            num[d] = '\0';
            for (uint32_t v = e->n_langs - 4; v > 0 || d == sizeof(num) - 1; v /= 10)
                num[--d] = (char)('0' + v % 10);
            app(langs, &k, sizeof(langs), " +");
            app(langs, &k, sizeof(langs), num + d);
        }
        app(langs, &k, sizeof(langs), ")");
        if (e->flags & PLACE_FORM)
            app(langs, &k, sizeof(langs), ", a Hunspell form");
    }
    const char *kind = set->kind == SET_PLACE ? "place " : "alias ";
    size_t lk = strlen(kind), ls = strlen(set->name), ln = strlen(e->name);
    size_t n = lk + ls + 3 + ln + 1 + k; /* kind name: "NAME"langs */
    int r = bytes_reserve(c, n + 1);
    if (r < 0)
        return r;
    char *out = c->bytes + c->n_bytes;
    memcpy(out, kind, lk);
    memcpy(out + lk, set->name, ls);
    memcpy(out + lk + ls, ": \"", 3);
    memcpy(out + lk + ls + 3, e->name, ln);
    out[lk + ls + 3 + ln] = '"';
    memcpy(out + lk + ls + 4 + ln, langs, k + 1);
    c->n_bytes += n + 1;
    return (int)(n + 1);
}

/* Adds the true leaves that make the topic true (under an even number of NOTs). */
static int
collect(struct mctx *c, uint32_t idx, bool positive, size_t first_term)
{
    const struct mnode *n = &c->m->nodes[idx];
    int r;

    if (n->op == MN_NOT)
        return collect(c, c->m->kids[n->first], !positive, first_term);
    if (n->op != MN_LEAF) {
        for (uint32_t i = 0; i < n->n; i++) {
            r = collect(c, c->m->kids[n->first + i], positive, first_term);
            if (r < 0)
                return r;
        }
        return 0;
    }
    if (!positive || !leaf_eval(c, n->first))
        return 0;
    const struct mleaf *l = &c->m->leaves[n->first];
    const struct mival *w = &c->leafs[n->first - c->topic->first_leaf].where;
    /* One entry per distinct (term, field) of the hit. */
    for (size_t i = first_term; i < c->n_rterms; i++) {
        const struct rterm *t = &c->rterms[i];
        if (t->field == w->field && t->label_len == l->label_len &&
            (t->label == l->label || memcmp(t->label, l->label, l->label_len) == 0))
            return 0;
    }
    if (c->n_rterms == c->cap_rterms) {
        r = grow(&c->rterms, &c->cap_rterms, c->n_rterms + 1, sizeof(*c->rterms));
        if (r < 0)
            return r;
    }
    struct rterm *t = &c->rterms[c->n_rterms];
    *t = (struct rterm){
        .label = l->label,
        .label_len = l->label_len,
        .field = w->field,
        .off = w->off,
        .end_off = w->end_off,
        .via = SIZE_MAX,
        .via_entry = w->via,
    };
    /* Another topic's term at the same occurrence of this item has the same snippet. */
    size_t stop = c->n_rterms > 64 ? c->n_rterms - 64 : 0;
    for (size_t i = c->n_rterms; i > stop; i--) {
        const struct rterm *o = &c->rterms[i - 1];
        if (o->off == t->off && o->end_off == t->end_off && o->field == t->field) {
            t->snip = o->snip;
            if (w->via != NO_KEY && o->via_entry == w->via) {
                t->via = o->via; /* and the same name */
            } else if (w->via != NO_KEY) {
                r = format_via(c, w->via);
                if (r < 0)
                    return r;
                t->via = c->n_bytes - (size_t)r;
            }
            c->n_rterms++;
            return 0;
        }
    }
    if (w->via != NO_KEY) {
        r = format_via(c, w->via);
        if (r < 0)
            return r;
        t->via = c->n_bytes - (size_t)r;
    }
    const char *src = w->field == FIELD_TITLE ? c->doc->title : c->doc->text;
    size_t src_len = w->field == FIELD_TITLE ? c->title_len : c->text_len;
    t->snip = c->n_bytes;
    if (src) {
        r = make_snippet(c, src, src_len, w->off, w->end_off);
    } else {
        r = bytes_reserve(c, 1);
        if (r == 0)
            c->bytes[c->n_bytes++] = '\0';
    }
    if (r < 0)
        return r;
    c->n_rterms++;
    return 0;
}

static int
cmp_hit(const void *a, const void *b)
{
    const struct match_hit *x = a, *y = b;
    return x->topic < y->topic ? -1 : x->topic > y->topic;
}

/* a += b, false on overflow. */
static bool
size_add(size_t *a, size_t b)
{
    if (b > SIZE_MAX - *a)
        return false;
    *a += b;
    return true;
}

/*
 * The result in one allocation: the hits, then their terms, then the strings ("title",
 * "text", the labels, the snippets). match_result_done() frees just res->hits.
 */
static int
result_build(const struct mctx *c, struct match_result *res)
{
    static const char fields[] = "title\0text";
    size_t size = 0;
    bool ok = c->n_rhits <= SIZE_MAX / sizeof(struct match_hit) &&
              c->n_rterms <= SIZE_MAX / sizeof(struct match_term) &&
              size_add(&size, c->n_rhits * sizeof(struct match_hit)) &&
              size_add(&size, c->n_rterms * sizeof(struct match_term)) &&
              size_add(&size, sizeof(fields)) && size_add(&size, c->n_bytes);
    for (size_t i = 0; ok && i < c->n_rterms; i++)
        ok = size_add(&size, (size_t)c->rterms[i].label_len + 1);
    if (!ok)
        return -ENOMEM;
    char *block = malloc(size);
    if (!block)
        return -ENOMEM;
    struct match_hit *hits = (struct match_hit *)(void *)block;
    struct match_term *terms = (struct match_term *)(void *)(hits + c->n_rhits);
    char *str = (char *)(terms + c->n_rterms);
    memcpy(str, fields, sizeof(fields));
    char *title = str, *text = str + 6;
    str += sizeof(fields);
    char *snips = str;
    if (c->n_bytes > 0)
        memcpy(snips, c->bytes, c->n_bytes);
    str += c->n_bytes;
    for (size_t i = 0; i < c->n_rterms; i++) {
        const struct rterm *t = &c->rterms[i];
        memcpy(str, t->label, t->label_len);
        str[t->label_len] = '\0';
        terms[i] = (struct match_term){
            .term = str,
            .field = t->field == FIELD_TITLE ? title : text,
            .snippet = snips + t->snip,
            .via = t->via == SIZE_MAX ? NULL : snips + t->via,
        };
        str += t->label_len + 1;
    }
    for (size_t i = 0; i < c->n_rhits; i++) {
        const struct rhit *h = &c->rhits[i];
        hits[i] = (struct match_hit){
            .topic = h->topic,
            .terms = h->n_terms ? terms + h->first_term : NULL,
            .n_terms = h->n_terms,
        };
    }
    res->hits = hits;
    res->n_hits = c->n_rhits;
    return 0;
}

static void
ctx_done(struct mctx *c)
{
    free(c->occ);
    free(c->ranges);
    free(c->map);
    for (size_t i = 0; i < QUERY_MAX_UNITS; i++)
        free(c->units[i].v);
    free(c->win);
    free(c->rhits);
    free(c->rterms);
    free(c->bytes);
    if (c->n_stemmers) {
        struct stem_pool *pool = c->m->pool;
        (void)pthread_mutex_lock(&pool->lock);
        for (size_t i = 0; i < c->n_stemmers; i++) {
            if (pool->n < POOL_STEMMERS) {
                pool->lang[pool->n] = c->stem_lang[i];
                pool->st[pool->n++] = c->stemmer[i];
                c->stemmer[i] = NULL;
            }
        }
        (void)pthread_mutex_unlock(&pool->lock);
        for (size_t i = 0; i < c->n_stemmers; i++)
            if (c->stemmer[i])
                sb_stemmer_delete(c->stemmer[i]);
    }
    free(c);
}

/* Matches one document. */
int
match_run(const struct match *m, const struct match_doc *doc, struct match_result *ret_result)
{
    struct match_result res = {0};
    struct mctx *c = malloc(sizeof(*c));
    uint64_t *cand = NULL;
    uint32_t next = 0;
    int r;

    if (!c)
        return -ENOMEM;
    memset(c, 0, offsetof(struct mctx, leafs));
    c->m = m;
    c->doc = doc;
    c->title_len = doc->title ? strlen(doc->title) : 0;
    c->text_len = doc->text ? strlen(doc->text) : 0;
    /*
     * About one occurrence for every 8 bytes of text in the feeds measured: few regrowths.
     * Capped (a huge text may hold few keys): beyond that the list grows as it fills.
     */
    size_t guess = c->title_len / 8 + c->text_len / 8;
    r = grow(&c->occ, &c->cap_occ, 64 + (guess < 8192 ? guess : 8192), sizeof(*c->occ));
    if (r < 0)
        goto fail;
    c->lang_known = doc->lang && doc->lang[0];
    c->lang = place_lang(doc->lang);
    if (doc->title) {
        c->field = FIELD_TITLE;
        c->n_ring = 0;
        r = normalize_tokenize(doc->title, c->title_len, 0, on_doc_token, c, &next);
        if (r < 0)
            goto fail;
    }
    if (doc->text) {
        c->field = FIELD_TEXT;
        c->n_ring = 0;
        r = normalize_tokenize(doc->text, c->text_len, next + FIELD_GAP, on_doc_token, c, NULL);
        if (r < 0)
            goto fail;
    }
    r = group_occ(c);
    if (r < 0)
        goto fail;
    size_t n_words = m->built ? m->n_words : (m->n_topics + 63) / 64;
    cand = malloc((n_words ? n_words : 1) * sizeof(*cand));
    if (!cand) {
        r = -ENOMEM;
        goto fail;
    }
    if (m->built)
        memcpy(cand, m->always, n_words * sizeof(*cand));
    else
        memset(cand, 0xff, n_words * sizeof(*cand)); /* not built: evaluate every topic */
    if (n_words > 0 && m->n_topics % 64 != 0)
        cand[n_words - 1] &= (1ULL << (m->n_topics % 64)) - 1;
    for (size_t g = 0; g < c->n_ranges; g++) {
        const struct mkey *k = &m->keys[c->ranges[g].key];
        for (uint32_t l = 0; l < k->n_leaves; l++) {
            uint32_t t = m->leaves[k->leaves[l]].topic;
            cand[t / 64] |= 1ULL << (t % 64);
        }
    }
    for (size_t wi = 0; wi < n_words; wi++) {
        uint64_t bits = cand[wi];
        while (bits) {
            size_t t = wi * 64 + (size_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            const struct mtopic *tp = &m->topics[t];
            c->topic = tp;
            memset(c->leafs, 0, tp->n_leaves * sizeof(*c->leafs));
            bool ok = node_eval(c, tp->root);
            if (c->err) {
                r = c->err;
                goto fail;
            }
            if (!ok)
                continue;
            if (c->n_rhits == c->cap_rhits) {
                r = grow(&c->rhits, &c->cap_rhits, c->n_rhits + 1, sizeof(*c->rhits));
                if (r < 0)
                    goto fail;
            }
            size_t first_term = c->n_rterms;
            r = collect(c, tp->root, true, first_term);
            if (r == 0 && c->err)
                r = c->err;
            if (r < 0)
                goto fail;
            c->rhits[c->n_rhits++] = (struct rhit){
                .topic = tp->id,
                .first_term = first_term,
                .n_terms = c->n_rterms - first_term,
            };
        }
    }
    if (c->n_rhits > 0) {
        r = result_build(c, &res);
        if (r < 0)
            goto fail;
    }
    for (size_t i = 1; i < res.n_hits; i++) {
        if (res.hits[i - 1].topic > res.hits[i].topic) {
            qsort(res.hits, res.n_hits, sizeof(*res.hits), cmp_hit);
            break;
        }
    }
    free(cand);
    ctx_done(c);
    *ret_result = res;
    return 0;
fail:
    free(cand);
    ctx_done(c);
    match_result_done(&res);
    return r;
}

/* Releases what a match result holds: one block (see result_build). */
void
match_result_done(struct match_result *r)
{
    if (!r)
        return;
    free(r->hits);
    r->hits = NULL;
    r->n_hits = 0;
}

/* Releases the matcher. */
void
match_free(struct match *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_keys; i++) {
        free(m->keys[i].s);
        free(m->keys[i].leaves);
        free(m->keys[i].pents);
    }
    if (m->pool) {
        for (size_t i = 0; i < m->pool->n; i++)
            sb_stemmer_delete(m->pool->st[i]);
        (void)pthread_mutex_destroy(&m->pool->lock);
        free(m->pool);
    }
    free(m->pents);
    free(m->pwords);
    free(m->sets);
    for (size_t i = 0; i < m->n_aliases; i++) {
        for (size_t j = 0; j < m->aliases[i].n_names; j++)
            free(m->aliases[i].names[j]);
        free(m->aliases[i].names);
        free(m->aliases[i].name);
    }
    free(m->aliases);
    free(m->keys);
    free(m->exact.slots);
    free(m->exact.bloom);
    free(m->prefix.bloom);
    free(m->prefix.slots);
    free(m->stem.bloom);
    free(m->stem.slots);
    free(m->part_keys);
    free(m->units);
    for (size_t i = 0; i < m->n_leaves; i++)
        free(m->leaves[i].label);
    free(m->leaves);
    free(m->nodes);
    free(m->kids);
    free(m->topics);
    free(m->always);
    free(m);
}

/* Why a hit matched as compact JSON, [{"term","field","snippet"}]; NULL on OOM. */
char *
match_terms_json(const struct match_hit *hit)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < hit->n_terms; i++) {
        const struct match_term *m = &hit->terms[i];
        json_t *o = json_pack("{s:s?, s:s?, s:s?}", "term", m->term, "field", m->field, "snippet",
                              m->snippet);
        if (o && m->via && json_object_set_new(o, "via", json_string(m->via)) < 0) {
            json_decref(o);
            o = NULL;
        }
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    char *s = arr ? json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(arr);
    return s;
}
