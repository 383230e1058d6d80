#include "match.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
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
};

struct matcher {
    struct mkey *keys;
    size_t n_keys, cap_keys;
    struct mtable exact, prefix;
    bool prefix_len[MAX_PREFIX_LEN + 1];
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

static uint32_t
table_find(const struct matcher *m, const struct mtable *t, uint64_t h, const char *s,
           size_t len)
{
    if (t->cap == 0)
        return NO_KEY;
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
    if (prefix && len <= MAX_PREFIX_LEN)
        m->prefix_len[len] = true;
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

/* One occurrence of a key in the item. */
struct mocc {
    uint32_t key;
    uint32_t pos, span;
    uint32_t field;
    size_t off, len;
};

/* One occurrence of a word (unit) or phrase: positions and source bytes. */
struct mival {
    uint32_t start, end;
    uint32_t field;
    size_t off, end_off;
};

struct mivec {
    struct mival *v;
    size_t n, cap;
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

struct mctx {
    const struct matcher *m;
    const struct match_doc *doc;
    size_t title_len, text_len;
    uint32_t field;
    int err;
    struct mocc *occ;
    size_t n_occ, cap_occ;
    struct mkeyrange *ranges;
    size_t n_ranges;
    uint32_t *map; /* key -> range + 1, open addressing */
    size_t map_cap;
    struct mivec units[QUERY_MAX_UNITS];
    struct mleafstate leafs[QUERY_MAX_LEAVES];
    const struct mtopic *topic;
    bool all_false; /* evaluate with every leaf false (the NOT-only test) */
};

static int
push_occ(struct mctx *c, uint32_t key, const struct normalize_token *tok)
{
    int r = grow(&c->occ, &c->cap_occ, c->n_occ + 1, sizeof(*c->occ));
    if (r < 0)
        return r;
    c->occ[c->n_occ++] = (struct mocc){
        .key = key,
        .pos = tok->pos,
        .span = tok->span,
        .field = c->field,
        .off = tok->off,
        .len = tok->len,
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

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
        if (i + 1 <= MAX_PREFIX_LEN && m->prefix_len[i + 1]) {
            k = table_find(m, &m->prefix, h, s, i + 1);
            if (k != NO_KEY) {
                r = push_occ(c, k, tok);
                if (r < 0)
                    return r;
            }
        }
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
    struct mocc *sorted = malloc((c->n_occ ? c->n_occ : 1) * sizeof(*sorted));
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
        struct mocc o = c->occ[i];
        size_t k = g->first + g->n++;
        while (k > g->first && (sorted[k - 1].pos > o.pos ||
                                (sorted[k - 1].pos == o.pos && sorted[k - 1].span > o.span))) {
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
static const struct mocc *
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
    int r = grow(&v->v, &v->cap, v->n + 1, sizeof(*v->v));
    if (r < 0) {
        c->err = r;
        return r;
    }
    v->v[v->n++] = *iv;
    return 0;
}

/* First occurrence at or after pos in a position-sorted list. */
static size_t
occ_lower(const struct mocc *o, size_t n, uint32_t pos)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (o[mid].pos < pos)
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
    const struct mocc *o = key_occ(c, c->m->part_keys[u->first_part + j], &n);
    for (size_t i = occ_lower(o, n, pos); i < n && o[i].pos == pos; i++) {
        struct mival iv = *sofar;
        iv.end = o[i].pos + o[i].span;
        iv.end_off = o[i].off + o[i].len;
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

/* Every occurrence of a unit (joined form, or its parts in a row), sorted by start. */
static int
unit_intervals(struct mctx *c, const struct munit *u, bool title_only, struct mivec *out)
{
    size_t n;
    const struct mocc *o;
    int r;

    out->n = 0;
    if (u->joined != NO_KEY) {
        o = key_occ(c, u->joined, &n);
        for (size_t i = 0; i < n; i++) {
            struct mival iv = {o[i].pos, o[i].pos + o[i].span, o[i].field, o[i].off,
                               o[i].off + o[i].len};
            r = ivec_push(c, out, &iv);
            if (r < 0)
                return r;
        }
    }
    o = key_occ(c, c->m->part_keys[u->first_part], &n);
    for (size_t i = 0; i < n; i++) {
        struct mival iv = {o[i].pos, o[i].pos + o[i].span, o[i].field, o[i].off,
                           o[i].off + o[i].len};
        r = u->n_parts == 1 ? ivec_push(c, out, &iv) : chain_parts(c, u, 1, iv.end + 1, &iv, out);
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
    if ((u->joined != NO_KEY || u->n_parts > 1) && out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_ival);
    return 0;
}

/* Exact phrase: unit i starts right after the end of unit i-1. */
static bool
chain_units(struct mctx *c, size_t n_units, size_t i, uint32_t start, struct mival *io)
{
    const struct mivec *v = &c->units[i];
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

struct mwin {
    uint32_t start;
    uint32_t unit;
    uint32_t field;
    size_t off, end_off;
};

/* Proximity: the smallest window holding every unit, any order, start to start <= slop. */
static bool
proximity(struct mctx *c, size_t n_units, uint32_t slop, struct mival *ret)
{
    size_t total = 0;
    for (size_t i = 0; i < n_units; i++)
        total += c->units[i].n;
    struct mwin *w = malloc(total * sizeof(*w));
    uint32_t count[QUERY_MAX_UNITS] = {0};
    size_t k = 0, covered = 0, left = 0;
    bool found = false;

    if (!w) {
        c->err = -ENOMEM;
        return false;
    }
    /* Merge the sorted lists. */
    size_t idx[QUERY_MAX_UNITS] = {0};
    while (k < total) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < n_units; i++) {
            if (idx[i] < c->units[i].n &&
                (best == SIZE_MAX || c->units[i].v[idx[i]].start < c->units[best].v[idx[best]].start))
                best = i;
        }
        const struct mival *iv = &c->units[best].v[idx[best]++];
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
            *ret = (struct mival){w[left].start, w[r].start, w[left].field, w[left].off, end_off};
            found = true;
        }
    }
    free(w);
    return found;
}

static bool
leaf_compute(struct mctx *c, const struct mleaf *l, struct mival *ret)
{
    const struct matcher *m = c->m;

    for (uint32_t i = 0; i < l->n_units; i++) {
        if (unit_intervals(c, &m->units[l->first_unit + i], l->title_only, &c->units[i]) < 0)
            return false;
        if (c->units[i].n == 0)
            return false;
    }
    if (l->n_units == 1) {
        *ret = c->units[0].v[0];
        return true;
    }
    if (l->slop < 0) {
        for (size_t k = 0; k < c->units[0].n; k++) {
            struct mival iv = c->units[0].v[k];
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
    const uint32_t *kids = c->m->kids + n->first;

    switch (n->op) {
    case MN_LEAF:
        return leaf_eval(c, n->first);
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
    if (!m->always || !c) {
        free(c);
        free(m->always);
        m->always = NULL;
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

/* About SNIPPET_LEN bytes of text around [off, end), whitespace collapsed, "…" at cuts. */
static char *
make_snippet(const char *s, size_t slen, size_t off, size_t end)
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
    char *out = malloc((b - a) + 8);
    if (!out)
        return NULL;
    size_t k = 0;
    bool space = false;
    if (a > 0) {
        memcpy(out, "\xe2\x80\xa6", 3);
        k = 3;
    }
    for (size_t i = a; i < b; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || ch == ' ') {
            space = true;
            continue;
        }
        if (space && k > 0 && !(k == 3 && a > 0))
            out[k++] = ' ';
        space = false;
        out[k++] = (char)ch;
    }
    if (b < slen) {
        memcpy(out + k, "\xe2\x80\xa6", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

static void
term_done(struct match_term *t)
{
    free(t->term);
    free(t->field);
    free(t->snippet);
}

/* Adds the true leaves that make the topic true (under an even number of NOTs). */
static int
collect(struct mctx *c, uint32_t idx, bool positive, struct match_hit *hit)
{
    const struct mnode *n = &c->m->nodes[idx];
    int r;

    if (n->op == MN_NOT)
        return collect(c, c->m->kids[n->first], !positive, hit);
    if (n->op != MN_LEAF) {
        for (uint32_t i = 0; i < n->n; i++) {
            r = collect(c, c->m->kids[n->first + i], positive, hit);
            if (r < 0)
                return r;
        }
        return 0;
    }
    if (!positive || !leaf_eval(c, n->first))
        return 0;
    const struct mleaf *l = &c->m->leaves[n->first];
    const struct mival *w = &c->leafs[n->first - c->topic->first_leaf].where;
    const char *field = w->field == FIELD_TITLE ? "title" : "text";
    for (size_t i = 0; i < hit->n_terms; i++)
        if (strcmp(hit->terms[i].term, l->label) == 0 && strcmp(hit->terms[i].field, field) == 0)
            return 0;
    struct match_term *t = realloc(hit->terms, (hit->n_terms + 1) * sizeof(*t));
    if (!t)
        return -ENOMEM;
    hit->terms = t;
    t = &hit->terms[hit->n_terms];
    const char *src = w->field == FIELD_TITLE ? c->doc->title : c->doc->text;
    size_t src_len = w->field == FIELD_TITLE ? c->title_len : c->text_len;
    t->term = strdup(l->label);
    t->field = strdup(field);
    t->snippet = src ? make_snippet(src, src_len, w->off, w->end_off) : strdup("");
    if (!t->term || !t->field || !t->snippet) {
        term_done(t);
        return -ENOMEM;
    }
    hit->n_terms++;
    return 0;
}

static int
cmp_hit(const void *a, const void *b)
{
    const struct match_hit *x = a, *y = b;
    return x->topic < y->topic ? -1 : x->topic > y->topic;
}

static void
ctx_done(struct mctx *c)
{
    free(c->occ);
    free(c->ranges);
    free(c->map);
    for (size_t i = 0; i < QUERY_MAX_UNITS; i++)
        free(c->units[i].v);
    free(c);
}

/* Matches one document. */
int
matcher_match(const struct matcher *m, const struct match_doc *doc,
              struct match_result *ret_result)
{
    struct match_result res = {0};
    struct mctx *c = calloc(1, sizeof(*c));
    uint64_t *cand = NULL;
    uint32_t next = 0;
    int r;

    if (!c)
        return -ENOMEM;
    c->m = m;
    c->doc = doc;
    if (doc->title) {
        c->field = FIELD_TITLE;
        c->title_len = strlen(doc->title);
        r = normalize_tokenize(doc->title, c->title_len, 0, on_doc_token, c, &next);
        if (r < 0)
            goto fail;
    }
    if (doc->text) {
        c->field = FIELD_TEXT;
        c->text_len = strlen(doc->text);
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
            struct match_hit *h = realloc(res.hits, (res.n_hits + 1) * sizeof(*h));
            if (!h) {
                r = -ENOMEM;
                goto fail;
            }
            res.hits = h;
            h = &res.hits[res.n_hits++];
            *h = (struct match_hit){.topic = tp->id};
            r = collect(c, tp->root, true, h);
            if (r == 0 && c->err)
                r = c->err;
            if (r < 0)
                goto fail;
        }
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

/* Releases what a match result holds. */
void
match_result_done(struct match_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_hits; i++) {
        for (size_t j = 0; j < r->hits[i].n_terms; j++)
            term_done(&r->hits[i].terms[j]);
        free(r->hits[i].terms);
    }
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
