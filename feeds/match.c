#include "match.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "query.h"

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
 */

#define FIELD_TITLE 0
#define FIELD_TEXT 1
#define FIELD_GAP (1u << 20) /* between title and text positions: > QUERY_MAX_SLOP */
#define NO_KEY UINT32_MAX
#define MAX_PREFIX_LEN 512   /* bytes; longer prefixes never match */
#define SNIPPET_LEN 160
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

struct mkey {
    char *s;
    uint32_t len;
    uint64_t hash;
    uint32_t *leaves; /* leaves registered under this key */
    uint32_t n_leaves, cap_leaves;
};

struct munit {
    uint32_t first_part, n_parts; /* in part_keys */
    uint32_t joined;              /* key or NO_KEY */
};

struct mleaf {
    uint32_t topic; /* internal topic index */
    uint32_t first_unit, n_units;
    int32_t slop;   /* -1: exact (or one unit) */
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

struct matcher {
    struct mkey *keys;
    size_t n_keys, cap_keys;
    struct mtable exact, prefix;
    bool prefix_len[MAX_PREFIX_LEN + 1];
    size_t max_prefix_len; /* the largest len with prefix_len[len] */
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
    bool built;
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
#define SLOT_KEY(v) ((uint32_t)((v) & 0xffffffffu) - 1)

static inline __attribute__((always_inline)) uint32_t
table_find(const struct matcher *m, const struct mtable *t, uint64_t h, const char *s,
           size_t len)
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
table_insert(struct matcher *m, struct mtable *t, uint32_t key)
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
table_bloom(struct matcher *m, struct mtable *t)
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

/* The key of a normalized string, added if new. */
static int
intern(struct matcher *m, const char *s, bool prefix, uint32_t *ret_key)
{
    struct mtable *t = prefix ? &m->prefix : &m->exact;
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
    *ret_key = k;
    return 0;
}

static int
key_add_leaf(struct matcher *m, uint32_t key, uint32_t leaf)
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

static int
compile_leaf(struct matcher *m, const struct query_node *q, uint32_t topic, uint32_t *ret_leaf)
{
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
        }
        if (qu->joined) {
            r = intern(m, qu->joined, qu->prefix, &u->joined);
            if (r < 0)
                return r;
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
compile_node(struct matcher *m, const struct query_node *q, uint32_t topic, uint32_t *ret_node)
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
        .op = q->op == QUERY_AND ? MN_AND : q->op == QUERY_OR ? MN_OR : MN_NOT,
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
struct matcher *
matcher_new(void)
{
    return calloc(1, sizeof(struct matcher));
}

/* Adds a topic. */
int
matcher_add(struct matcher *m, size_t topic, const char *name, const char *query,
            char **reterr_msg)
{
    struct query *q = NULL;
    int r;

    if (m->built) {
        if (reterr_msg)
            *reterr_msg = strdup("matcher: topics added after matcher_build()");
        return -EINVAL;
    }
    r = query_parse(name, query, &q, reterr_msg);
    if (r < 0)
        return r;
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
};

/*
 * Per-call scratch. Everything up to leafs is cleared at the start of a call; leafs (10 KB)
 * is cleared per topic, for its own leaves only.
 */
struct mctx {
    const struct matcher *m;
    const struct match_doc *doc;
    size_t title_len, text_len;
    uint32_t field;
    int err;
    struct mival *occ;
    size_t n_occ, cap_occ;
    struct mkeyrange *ranges;
    size_t n_ranges;
    uint32_t *map; /* key -> range + 1, open addressing */
    size_t map_cap;
    struct mivec units[QUERY_MAX_UNITS]; /* storage for the units that need it */
    struct miview uv[QUERY_MAX_UNITS];    /* the intervals of each unit */
    const struct mtopic *topic;
    bool all_false; /* evaluate with every leaf false (the NOT-only test) */
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
        .off = tok->off,
        .end_off = tok->off + tok->len,
    };
    return 0;
}

static int
on_doc_token(const struct normalize_token *tok, void *userdata)
{
    struct mctx *c = userdata;
    const struct matcher *m = c->m;
    const char *s = tok->norm;
    size_t len = tok->norm_len;
    uint64_t h = FNV_OFFSET;
    uint32_t k;
    int r;

    /* The prefix keys of every length some prefix has (<= MAX_PREFIX_LEN), then the rest. */
    size_t plen = len < m->max_prefix_len ? len : m->max_prefix_len;
    size_t i = 0;
    for (; i < plen; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
        if (m->prefix_len[i + 1]) {
            k = table_find(m, &m->prefix, h, s, i + 1);
            if (k != NO_KEY) {
                r = push_occ(c, k, tok);
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
    if (k != NO_KEY)
        return push_occ(c, k, tok);
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
        w[k++] = (struct mwin){iv->start, (uint32_t)best, iv->field, iv->off, iv->end_off};
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
    const struct matcher *m = c->m;

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
matcher_build(struct matcher *m)
{
    struct mctx *c;

    if (m->built)
        return 0;
    m->n_words = (m->n_topics + 63) / 64;
    m->always = calloc(m->n_words ? m->n_words : 1, sizeof(*m->always));
    c = calloc(1, sizeof(*c));
    if (!m->always || !c || table_bloom(m, &m->exact) < 0 || table_bloom(m, &m->prefix) < 0) {
        free(c);
        free(m->always);
        m->always = NULL;
        free(m->exact.bloom);
        free(m->prefix.bloom);
        m->exact.bloom = m->prefix.bloom = NULL;
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
    [0x1e] = true, [0x1f] = true, [' '] = true, [0x7f] = true,
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
    };
    /* Another topic's term at the same occurrence of this item has the same snippet. */
    size_t stop = c->n_rterms > 64 ? c->n_rterms - 64 : 0;
    for (size_t i = c->n_rterms; i > stop; i--) {
        const struct rterm *o = &c->rterms[i - 1];
        if (o->off == t->off && o->end_off == t->end_off && o->field == t->field) {
            t->snip = o->snip;
            c->n_rterms++;
            return 0;
        }
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
    free(c);
}

/* Matches one document. */
int
matcher_match(const struct matcher *m, const struct match_doc *doc,
              struct match_result *ret_result)
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
    if (doc->title) {
        c->field = FIELD_TITLE;
        r = normalize_tokenize(doc->title, c->title_len, 0, on_doc_token, c, &next);
        if (r < 0)
            goto fail;
    }
    if (doc->text) {
        c->field = FIELD_TEXT;
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
matcher_free(struct matcher *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_keys; i++) {
        free(m->keys[i].s);
        free(m->keys[i].leaves);
    }
    free(m->keys);
    free(m->exact.slots);
    free(m->exact.bloom);
    free(m->prefix.bloom);
    free(m->prefix.slots);
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
        json_t *o = json_pack("{s:s?, s:s?, s:s?}", "term", m->term, "field", m->field,
                              "snippet", m->snippet);
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    char *s = arr ? json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(arr);
    return s;
}
