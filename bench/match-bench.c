/*
 * match-bench — topic matching throughput: the percolator (feeds/topics/match.c) beside a naive
 * matcher (every topic's query evaluated against every item) in the same run.
 *
 * usage: match-bench [-s SECONDS] [-S SEED] [-P] [-D FILE] [-p PCT] [-L LANG] CORPUS_DIR N...
 *   -P: no naive run; -D FILE: write every hit of one pass (topic, term, field, snippet) to
 *   FILE, to compare two builds of the matcher byte for byte.
 *   -p PCT: PCT% of the topics become "(QUERY) OR place:CC", CC going round 60 territories
 *   (codes and names in several languages), the rest unchanged: the cost of place: terms
 *   beside the same topics without them (run both). The naive matcher knows no places: it
 *   is not run then. -L LANG: the items' language (default: unknown, so every locale's
 *   names and every stemmer's stems are tried: the dearest case). Also prints the place
 *   table's size and the cost of a place lookup by code and by name. -A: "AND place:CC"
 *   instead (fewer hits rather than more); -Z: "(QUERY) OR (place:CC AND a word that never
 *   occurs)", the same hits as without: the cost of finding the places alone. -n PASSES: exactly
 * that many passes over the items instead of SECONDS, for an instruction count under valgrind
 * --tool=callgrind
 *   --toggle-collect=match_run (the machine's load does not move it).
 *
 * Items: every item of every feed under CORPUS_DIR (feedparse_buffer), its document = title +
 * content (else summary) with tags stripped and a few entities decoded. Topics: generated from
 * the items' own words (several languages): single words, OR of words, exact phrases of 2-3
 * running words, proximity pairs, AND NOT, prefixes and title: terms. For each N, the first N
 * topics: items/s of the percolator (passes over all items for at least SECONDS) and of the
 * naive matcher (items until SECONDS have passed), with the hit counts of both over the same
 * items, which must agree.
 */
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse/feedparse.h"
#include "topics/match.h"
#include "text/normalize.h"
#include "topics/place.h"
#include "topics/query.h"

struct item {
    char *title;
    char *text;
};

static struct item *items;
static size_t n_items, cap_items;
static size_t corpus_bytes;

/*
 * CPU time of the process, not wall time: on a loaded machine (the bench shares it with
 * builds) wall time counts the time the process waited for a core.
 */
static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "match-bench: out of memory\n");
        exit(1);
    }
    return p;
}

/* Quick tag strip with the common entities. */
static char *
strip_tags(const char *s)
{
    static const struct {
        const char *e;
        const char *c;
    } ents[] = {
        {"&amp;", "&"}, {"&lt;", "<"},   {"&gt;", ">"},   {"&quot;", "\""},
        {"&#39;", "'"}, {"&nbsp;", " "}, {"&apos;", "'"},
    };
    size_t len = strlen(s);
    char *out = xmalloc(len + 1);
    size_t k = 0;
    bool tag = false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '<') {
            tag = true;
            continue;
        }
        if (s[i] == '>' && tag) {
            tag = false;
            out[k++] = ' ';
            continue;
        }
        if (tag)
            continue;
        if (s[i] == '&') {
            bool done = false;
            for (size_t e = 0; e < sizeof(ents) / sizeof(ents[0]) && !done; e++) {
                size_t el = strlen(ents[e].e);
                if (strncmp(s + i, ents[e].e, el) == 0) {
                    out[k++] = ents[e].c[0];
                    i += el - 1;
                    done = true;
                }
            }
            if (done)
                continue;
        }
        out[k++] = s[i];
    }
    out[k] = '\0';
    return out;
}

static int
on_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type != FTW_F || st->st_size <= 0 || st->st_size > 64 * 1024 * 1024)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char *data = xmalloc((size_t)st->st_size + 1);
    size_t n = fread(data, 1, (size_t)st->st_size, f);
    fclose(f);
    data[n] = '\0';
    struct feed_doc *doc = NULL;
    char *err = NULL;
    if (feedparse_buffer(data, n, NULL, &doc, &err) == 0) {
        for (size_t i = 0; i < doc->n_items; i++) {
            const struct feed_item *it = &doc->items[i];
            const char *html = it->content && it->content[0] ? it->content : it->summary;
            if (n_items == cap_items) {
                cap_items = cap_items ? cap_items * 2 : 1024;
                items = realloc(items, cap_items * sizeof(*items));
                if (!items)
                    exit(1);
            }
            items[n_items].title = it->title ? strdup(it->title) : NULL;
            items[n_items].text = html ? strip_tags(html) : NULL;
            corpus_bytes += (it->title ? strlen(it->title) : 0) +
                            (items[n_items].text ? strlen(items[n_items].text) : 0);
            n_items++;
        }
        feed_doc_free(doc);
    }
    free(err);
    free(data);
    return 0;
}

/* ---- topic generation ---- */

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint32_t
rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

struct word {
    const char *src;
    size_t len;
    uint32_t pos;
    bool ascii;
};

struct wordlist {
    struct word w[4096];
    size_t n;
    const char *text;
};

static int
on_word(const struct normalize_token *tok, void *userdata)
{
    struct wordlist *l = userdata;
    if (tok->joined || tok->cjk || l->n == 4096)
        return 0;
    const char *s = l->text + tok->off;
    bool ascii = true;
    for (size_t i = 0; i < tok->len; i++)
        if ((unsigned char)s[i] >= 0x80)
            ascii = false;
    l->w[l->n++] = (struct word){s, tok->len, tok->pos, ascii};
    return 0;
}

static bool
usable(const struct word *w)
{
    if (w->len < 3 || w->len > 40)
        return false;
    if ((w->len == 2 && strncmp(w->src, "OR", 2) == 0) ||
        (w->len == 3 && (strncmp(w->src, "AND", 3) == 0 || strncmp(w->src, "NOT", 3) == 0)))
        return false;
    for (size_t i = 0; i < w->len; i++) {
        char c = w->src[i];
        if (c == '"' || c == '(' || c == ')' || c == '*' || c == '~' || c == ':' || c == ' ')
            return false;
    }
    return !(w->src[0] >= '0' && w->src[0] <= '9');
}

/* Distinct words of the corpus (one spelling each), for uniform sampling: topics are about
 * particular things, so a word is drawn from the vocabulary, not by its frequency. */
struct vword {
    char *norm;
    const char *src;
    size_t len;
};

static struct vword *vocab;
static size_t n_vocab, cap_vocab;
static const char *vocab_text;

static int
on_vocab_word(const struct normalize_token *tok, void *userdata)
{
    (void)userdata;
    if (tok->joined || tok->cjk || tok->norm_len < 4)
        return 0;
    struct word w = {vocab_text + tok->off, tok->len, tok->pos, true};
    if (!usable(&w))
        return 0;
    if (n_vocab == cap_vocab) {
        cap_vocab = cap_vocab ? cap_vocab * 2 : 4096;
        vocab = realloc(vocab, cap_vocab * sizeof(*vocab));
        if (!vocab)
            exit(1);
    }
    vocab[n_vocab++] = (struct vword){strndup(tok->norm, tok->norm_len), w.src, w.len};
    return 0;
}

static int
cmp_vword(const void *a, const void *b)
{
    return strcmp(((const struct vword *)a)->norm, ((const struct vword *)b)->norm);
}

static void
build_vocab(void)
{
    for (size_t i = 0; i < n_items; i++) {
        if (items[i].title) {
            vocab_text = items[i].title;
            (void)normalize_tokenize(vocab_text, strlen(vocab_text), 0, on_vocab_word, NULL, NULL);
        }
        if (items[i].text) {
            vocab_text = items[i].text;
            (void)normalize_tokenize(vocab_text, strlen(vocab_text), 0, on_vocab_word, NULL, NULL);
        }
    }
    qsort(vocab, n_vocab, sizeof(*vocab), cmp_vword);
    size_t k = 0;
    for (size_t i = 0; i < n_vocab; i++) {
        if (k > 0 && strcmp(vocab[k - 1].norm, vocab[i].norm) == 0) {
            free(vocab[i].norm);
            continue;
        }
        vocab[k++] = vocab[i];
    }
    n_vocab = k;
}

/* A word drawn uniformly from the vocabulary. */
static bool
pick_word(struct wordlist *l, size_t *ret_i)
{
    const struct vword *v = &vocab[rnd((uint32_t)n_vocab)];
    l->w[0] = (struct word){v->src, v->len, 0, true};
    for (size_t i = 0; i < v->len; i++)
        if ((unsigned char)v->src[i] >= 0x80)
            l->w[0].ascii = false;
    l->n = 1;
    *ret_i = 0;
    return true;
}

/* A random usable run of words of a random item, the first one at least 5 bytes long. */
static bool
pick(struct wordlist *l, size_t *ret_i, size_t need_after)
{
    for (int tries = 0; tries < 50; tries++) {
        const struct item *it = &items[rnd((uint32_t)n_items)];
        const char *t = it->text && it->text[0] ? it->text : it->title;
        if (!t)
            continue;
        l->n = 0;
        l->text = t;
        if (normalize_tokenize(t, strlen(t), 0, on_word, l, NULL) != 0 || l->n <= need_after)
            continue;
        size_t i = rnd((uint32_t)(l->n - need_after));
        bool ok = true;
        ok = l->w[i].len >= 5;
        for (size_t k = 0; k <= need_after; k++)
            ok = ok && usable(&l->w[i + k]) && l->w[i + k].pos == l->w[i].pos + k;
        if (ok) {
            *ret_i = i;
            return true;
        }
    }
    return false;
}

static char *
gen_topic(void)
{
    static struct wordlist l;
    char q[1024];
    size_t i, k = 0;
    uint32_t kind = rnd(100);

    if (kind < 35) { /* a word */
        if (!pick_word(&l, &i))
            return NULL;
        k = (size_t)snprintf(q, sizeof(q), "%.*s", (int)l.w[i].len, l.w[i].src);
    } else if (kind < 50) { /* OR of 2-3 words */
        int n = 2 + (int)rnd(2);
        for (int j = 0; j < n; j++) {
            if (!pick_word(&l, &i))
                return NULL;
            k += (size_t)snprintf(q + k, sizeof(q) - k, "%s%.*s", j ? " OR " : "", (int)l.w[i].len,
                                  l.w[i].src);
        }
    } else if (kind < 70) { /* exact phrase of 2-3 running words */
        int n = 2 + (int)rnd(2);
        if (!pick(&l, &i, (size_t)n - 1))
            return NULL;
        k += (size_t)snprintf(q + k, sizeof(q) - k, "\"");
        for (int j = 0; j < n; j++)
            k += (size_t)snprintf(q + k, sizeof(q) - k, "%s%.*s", j ? " " : "", (int)l.w[i + j].len,
                                  l.w[i + j].src);
        k += (size_t)snprintf(q + k, sizeof(q) - k, "\"");
    } else if (kind < 80) { /* proximity: two words a few positions apart, reversed */
        if (!pick(&l, &i, 2))
            return NULL;
        k = (size_t)snprintf(q, sizeof(q), "\"%.*s %.*s\"~%u", (int)l.w[i + 2].len, l.w[i + 2].src,
                             (int)l.w[i].len, l.w[i].src, 2 + rnd(5));
    } else if (kind < 90) { /* a word AND NOT another */
        if (!pick_word(&l, &i))
            return NULL;
        k = (size_t)snprintf(q, sizeof(q), "%.*s", (int)l.w[i].len, l.w[i].src);
        if (!pick_word(&l, &i))
            return NULL;
        k += (size_t)snprintf(q + k, sizeof(q) - k, " AND NOT %.*s", (int)l.w[i].len, l.w[i].src);
    } else if (kind < 95) { /* a stem: the first 5-7 letters of an ASCII word */
        for (int tries = 0; tries < 20; tries++) {
            if (!pick_word(&l, &i))
                return NULL;
            if (l.w[i].ascii && l.w[i].len >= 7) { /* a stem, like ukrain* */
                k = (size_t)snprintf(q, sizeof(q), "%.*s*", (int)(5 + rnd(3)), l.w[i].src);
                break;
            }
        }
        if (k == 0)
            return NULL;
    } else { /* title: */
        if (!pick_word(&l, &i))
            return NULL;
        k = (size_t)snprintf(q, sizeof(q), "title:%.*s", (int)l.w[i].len, l.w[i].src);
    }
    return strdup(q);
}

/* ---- the naive matcher: each topic's tree against the item's token list ---- */

struct ntok {
    char *norm;
    uint32_t pos, span;
    int field;
};

struct ndoc {
    struct ntok *t;
    size_t n, cap;
    int field;
    uint32_t base;
};

static int
on_naive_token(const struct normalize_token *tok, void *userdata)
{
    struct ndoc *d = userdata;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->t = realloc(d->t, d->cap * sizeof(*d->t));
        if (!d->t)
            exit(1);
    }
    d->t[d->n++] = (struct ntok){strndup(tok->norm, tok->norm_len), tok->pos, tok->span, d->field};
    return 0;
}

static bool
smatch(const char *tok, const char *want, bool prefix)
{
    return prefix ? strncmp(tok, want, strlen(want)) == 0 : strcmp(tok, want) == 0;
}

struct ival {
    uint32_t start, end;
};

/* The unit's occurrences by a scan of the token list (parts chained by position). */
static size_t
naive_unit(const struct ndoc *d, const struct query_unit *u, bool title_only, struct ival *out,
           size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n && n < cap; i++) {
        const struct ntok *t = &d->t[i];
        if (title_only && t->field != 0)
            continue;
        if (u->joined && smatch(t->norm, u->joined, u->prefix)) {
            out[n++] = (struct ival){t->pos, t->pos + t->span};
            continue;
        }
        if (!smatch(t->norm, u->parts[0], u->prefix && u->n_parts == 1))
            continue;
        uint32_t end = t->pos + t->span;
        size_t j = 1;
        for (size_t k = i + 1; j < u->n_parts && k < d->n && k < i + 4 * u->n_parts; k++) {
            if (d->t[k].pos == end + 1 &&
                smatch(d->t[k].norm, u->parts[j], u->prefix && j + 1 == u->n_parts)) {
                end = d->t[k].pos + d->t[k].span;
                j++;
            }
        }
        if (j == u->n_parts)
            out[n++] = (struct ival){t->pos, end};
    }
    return n;
}

static bool
naive_leaf(const struct ndoc *d, const struct query_node *q)
{
    static struct ival iv[QUERY_MAX_UNITS][512];
    size_t n[QUERY_MAX_UNITS];
    for (size_t u = 0; u < q->n_units; u++) {
        n[u] = naive_unit(d, &q->units[u], q->title_only, iv[u], 512);
        if (n[u] == 0)
            return false;
    }
    if (q->n_units == 1)
        return true;
    if (q->slop < 0) {
        for (size_t a = 0; a < n[0]; a++) {
            uint32_t end = iv[0][a].end;
            size_t u = 1;
            for (; u < q->n_units; u++) {
                size_t b = 0;
                while (b < n[u] && iv[u][b].start != end + 1)
                    b++;
                if (b == n[u])
                    break;
                end = iv[u][b].end;
            }
            if (u == q->n_units)
                return true;
        }
        return false;
    }
    for (size_t u0 = 0; u0 < q->n_units; u0++) {
        for (size_t a = 0; a < n[u0]; a++) {
            uint32_t w = iv[u0][a].start;
            bool all = true;
            for (size_t u = 0; u < q->n_units && all; u++) {
                bool f = false;
                for (size_t b = 0; b < n[u] && !f; b++)
                    f = iv[u][b].start >= w && iv[u][b].start <= w + (uint32_t)q->slop;
                all = f;
            }
            if (all)
                return true;
        }
    }
    return false;
}

static bool
naive_eval(const struct ndoc *d, const struct query_node *q)
{
    switch (q->op) {
    case QUERY_AND:
        for (size_t i = 0; i < q->n_children; i++)
            if (!naive_eval(d, q->children[i]))
                return false;
        return true;
    case QUERY_OR:
        for (size_t i = 0; i < q->n_children; i++)
            if (naive_eval(d, q->children[i]))
                return true;
        return false;
    case QUERY_NOT:
        return !naive_eval(d, q->children[0]);
    default:
        return naive_leaf(d, q);
    }
}

static size_t
naive_match(struct query **topics, size_t n_topics, const struct item *it)
{
    struct ndoc d = {0};
    uint32_t next = 0;
    size_t hits = 0;
    d.field = 0;
    if (it->title)
        (void)normalize_tokenize(it->title, strlen(it->title), 0, on_naive_token, &d, &next);
    d.field = 1;
    if (it->text)
        (void)normalize_tokenize(it->text, strlen(it->text), next + (1u << 20), on_naive_token, &d,
                                 NULL);
    for (size_t t = 0; t < n_topics; t++)
        hits += naive_eval(&d, topics[t]->root);
    for (size_t i = 0; i < d.n; i++)
        free(d.t[i].norm);
    free(d.t);
    return hits;
}

/* The places of -p: codes, and names in several languages and scripts. */
static const char *const bench_places[] = {
    "UA",     "RU",     "US",       "DE",      "FR",         "GB",          "CN",         "JP",
    "IN",     "BR",     "Oekraïne", "Rusland", "\"Hoa Kỳ\"", "Deutschland", "Frankreich", "España",
    "Italia", "Polska", "Česko",    "Украина", "Україна",    "NL",          "BE",         "PL",
    "CZ",     "IT",     "ES",       "PT",      "SE",         "NO",          "FI",         "DK",
    "AT",     "CH",     "TR",       "GR",      "IL",         "IR",          "IQ",         "SY",
    "EG",     "ZA",     "NG",       "KE",      "MX",         "AR",          "CA",         "AU",
    "NZ",     "KR",     "KP",       "TW",      "VN",         "TH",          "ID",         "PK",
    "AF",     "SA",     "AE",       "UA-14",
};

static void
place_costs(void)
{
    size_t bytes = place_strings_size + place_n_names * sizeof(struct place_name) +
                   place_n_recs * sizeof(struct place_rec) +
                   place_n_index * sizeof(struct place_index);
    printf("place table: %.2f MB (names %.2f MB of strings, %zu names of %zu places in %zu "
           "languages from %zu CLDR locales; index of %zu names)\n",
           (double)bytes / 1e6, (double)place_strings_size / 1e6, place_n_names, place_n_recs,
           place_n_langs, place_n_locales, place_n_index);
    static const char *const what[] = {"UA",       "ua-14",      "Ukraine",
                                       "Oekraïne", "Hoa Kỳ",     "Verenigde Staten",
                                       "Украина",  "Deutschland"};
    size_t n = 0, rec;
    double t0 = now();
    for (int rep = 0; rep < 20000; rep++) {
        for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
            if (place_lookup(what[i], strlen(what[i]), &rec) != 0)
                exit(1);
            n++;
        }
    }
    double el = now() - t0;
    t0 = now();
    size_t n_code = 0;
    for (int rep = 0; rep < 200000; rep++, n_code++)
        if (place_lookup("UA", 2, &rec) != 0)
            exit(1);
    double el_code = now() - t0;
    printf("place lookup: %.0f ns by code, %.0f ns on average over codes and names (%zu)\n",
           el_code / (double)n_code * 1e9, el / (double)n * 1e9, n);
}

int
main(int argc, char **argv)
{
    double seconds = 2.0;
    bool with_naive = true;
    const char *dump_path = NULL;
    unsigned place_pct = 0;
    bool place_and = false;
    bool place_same = false; /* -Z: the place is looked for, the hits stay the same */
    unsigned passes = 0;     /* -n: exactly this many passes (for valgrind --tool=callgrind) */
    const char *lang = NULL;
    int a = 1;

    while (a < argc && argv[a][0] == '-') {
        if (strcmp(argv[a], "-s") == 0 && a + 1 < argc) {
            seconds = strtod(argv[a + 1], NULL);
            a += 2;
        } else if (strcmp(argv[a], "-P") == 0) { /* percolator only (profiling) */
            with_naive = false;
            a++;
        } else if (strcmp(argv[a], "-D") == 0 && a + 1 < argc) {
            dump_path = argv[a + 1];
            a += 2;
        } else if (strcmp(argv[a], "-p") == 0 && a + 1 < argc) {
            place_pct = (unsigned)strtoul(argv[a + 1], NULL, 10);
            if (place_pct > 100) {
                fprintf(stderr, "match-bench: -p takes 0..100\n");
                return 2;
            }
            with_naive = place_pct == 0 && with_naive;
            a += 2;
        } else if (strcmp(argv[a], "-n") == 0 && a + 1 < argc) {
            passes = (unsigned)strtoul(argv[a + 1], NULL, 10);
            a += 2;
        } else if (strcmp(argv[a], "-Z") == 0) {
            place_same = true;
            a++;
        } else if (strcmp(argv[a], "-A") == 0) {
            place_and = true;
            a++;
        } else if (strcmp(argv[a], "-L") == 0 && a + 1 < argc) {
            lang = argv[a + 1];
            a += 2;
        } else if (strcmp(argv[a], "-S") == 0 && a + 1 < argc) {
            rng = strtoull(argv[a + 1], NULL, 10) | 1;
            a += 2;
        } else {
            break;
        }
    }
    if (a + 1 >= argc || !(seconds > 0)) {
        fprintf(stderr, "usage: match-bench [-s SECONDS] [-S SEED] [-P] [-D FILE] [-p PCT] "
                        "[-L LANG] CORPUS_DIR N...\n");
        return 2;
    }
    if (nftw(argv[a], on_file, 16, FTW_PHYS) != 0 || n_items == 0) {
        fprintf(stderr, "match-bench: no items under %s\n", argv[a]);
        return 1;
    }
    build_vocab();
    size_t max_topics = 0;
    for (int i = a + 1; i < argc; i++) {
        size_t n = strtoul(argv[i], NULL, 10);
        if (n == 0 || n > 1000000) {
            fprintf(stderr, "match-bench: bad topic count '%s'\n", argv[i]);
            return 2;
        }
        if (n > max_topics)
            max_topics = n;
    }
    char **qs = xmalloc(max_topics * sizeof(*qs));
    struct query **parsed = xmalloc(max_topics * sizeof(*parsed));
    for (size_t i = 0; i < max_topics;) {
        char *q = gen_topic();
        char *err = NULL;
        if (!q)
            continue;
        if (query_parse("gen", q, &parsed[i], &err) != 0) {
            free(err);
            free(q);
            continue;
        }
        qs[i++] = q;
    }
    /* -p: every (100 / PCT)-th topic gets "OR place:CC" (after parsing: naive is off). */
    size_t n_place = 0;
    for (size_t i = 0; place_pct > 0 && i < max_topics; i++) {
        if ((i * place_pct) / 100 == ((i + 1) * place_pct) / 100)
            continue;
        const char *pl = bench_places[n_place++ % (sizeof(bench_places) / sizeof(*bench_places))];
        char *q = NULL;
        if ((place_same
                 ? asprintf(&q, "(%s) OR (place:%s AND fwbenchneverword)", qs[i], pl)
                 : asprintf(&q, "(%s) %s place:%s", qs[i], place_and ? "AND" : "OR", pl)) < 0)
            return 1;
        free(qs[i]);
        qs[i] = q;
    }
    if (place_pct > 0)
        place_costs();
    printf(
        "corpus: %zu items, %.1f MB of text, %zu distinct words; topics e.g. %s | %s | %s | %s\n",
        n_items, (double)corpus_bytes / 1e6, n_vocab, qs[0], qs[1 % max_topics], qs[2 % max_topics],
        qs[3 % max_topics]);
    printf("place: terms in %u%% of the topics (%zu in the largest set); items' language: %s\n",
           place_pct, n_place, lang ? lang : "unknown");
    printf("%8s  %14s  %10s  %14s  %10s  %8s\n", "topics", "percolator/s", "hits/item",
           "naive items/s", "naive n", "speedup");

    int status = 0;
    for (int ai = a + 1; ai < argc; ai++) {
        size_t n_topics = strtoul(argv[ai], NULL, 10);
        struct match *m = match_new();
        char *err = NULL;
        double t0 = now();
        for (size_t i = 0; i < n_topics; i++) {
            if (match_add(m, i, "gen", qs[i], &err) != 0) {
                fprintf(stderr, "match-bench: %s\n", err);
                return 1;
            }
        }
        if (match_build(m) != 0)
            return 1;
        double build_s = now() - t0;

        if (dump_path) {
            FILE *f = fopen(dump_path, ai == a + 1 ? "w" : "a");
            if (!f) {
                fprintf(stderr, "match-bench: %s: %s\n", dump_path, strerror(errno));
                return 1;
            }
            for (size_t i = 0; i < n_items; i++) {
                struct match_doc doc = {
                    .title = items[i].title, .text = items[i].text, .lang = lang};
                struct match_result res;
                if (match_run(m, &doc, &res) != 0)
                    return 1;
                for (size_t h = 0; h < res.n_hits; h++) {
                    const struct match_hit *hit = &res.hits[h];
                    fprintf(f, "%zu/%zu item %zu topic %zu terms %zu\n", n_topics, i, i, hit->topic,
                            hit->n_terms);
                    for (size_t k = 0; k < hit->n_terms; k++)
                        fprintf(f, "  %s | %s | %s\n", hit->terms[k].term, hit->terms[k].field,
                                hit->terms[k].snippet);
                }
                match_result_done(&res);
            }
            fclose(f);
        }

        /* Percolator: whole passes over the corpus for at least `seconds`. */
        size_t done = 0, hits = 0;
        size_t *per_item = xmalloc(n_items * sizeof(*per_item));
        t0 = now();
        double el;
        do {
            for (size_t i = 0; i < n_items; i++) {
                struct match_doc doc = {
                    .title = items[i].title, .text = items[i].text, .lang = lang};
                struct match_result res;
                if (match_run(m, &doc, &res) != 0)
                    return 1;
                per_item[i] = res.n_hits;
                hits += res.n_hits;
                match_result_done(&res);
            }
            done += n_items;
            el = now() - t0;
        } while (passes ? done < passes * n_items : el < seconds);
        double perc_rate = (double)done / el;
        double hits_per_item = (double)hits / (double)done;

        /* Naive: items until `seconds` have passed; hits must agree item by item. */
        size_t nd = 0;
        t0 = now();
        do {
            if (!with_naive)
                break;
            size_t h = naive_match(parsed, n_topics, &items[nd]);
            if (h != per_item[nd]) {
                fprintf(stderr, "match-bench: item %zu: percolator %zu hits, naive %zu\n", nd,
                        per_item[nd], h);
                status = 1;
            }
            nd++;
            el = now() - t0;
        } while (with_naive && el < seconds && nd < n_items);
        double naive_rate = (double)nd / el;
        printf("%8zu  %14.0f  %10.2f  %14.1f  %10zu  %7.0fx   (build %.3f s)\n", n_topics,
               perc_rate, hits_per_item, naive_rate, nd, perc_rate / naive_rate, build_s);
        fflush(stdout);
        free(per_item);
        match_free(m);
    }
    for (size_t i = 0; i < max_topics; i++) {
        free(qs[i]);
        query_free(parsed[i]);
    }
    free(qs);
    free(parsed);
    for (size_t i = 0; i < n_items; i++) {
        free(items[i].title);
        free(items[i].text);
    }
    free(items);
    for (size_t i = 0; i < n_vocab; i++)
        free(vocab[i].norm);
    free(vocab);
    return status;
}
