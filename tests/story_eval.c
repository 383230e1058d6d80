/*
 * story_eval — the story rule (feeds/topics/story.h) over every pair of a pairs set such as
 * tests/fixtures/stories (issue 17, part 2): precision, recall and F1 of its "same story"
 * decisions, overall, per language pair, on the hard negatives, the same-event pairs and the
 * seeds, each twice: over every pair ("all": as if every article matched one topic, the
 * hardest case) and with the topic gate the daemon applies ("topic": only articles of one
 * topic are ever compared, as alerts are grouped within a topic; the set's `topic`).
 *
 * usage: story_eval [--min-precision P] [--min-recall R] [--gate all|topic] [--mode pairs|stream]
 *                   [--df] [--no-df] [--grow] [--single-link] [--stories] [--dump FILE]
 *                   [--dump-sigs FILE] DIR
 *   Exits 1 when the gated figures (--gate, default topic) fall below P or R (defaults 0.95
 *   and 0.80), 2 on a bad set. --dump writes one line per pair: a, b, label, hard, basis,
 *   shared places, names, numbers, SimHash distance, score, decision (of the pairs mode).
 *   --dump-sigs writes each article's signature: id, story, topic, language, SimHash, keys.
 *
 * Modes: "pairs" (default) decides each pair alone with story_same(), every name weighing 1;
 * with --df, story_same_df() weighs a name by the number of the topic's other documents that
 * have it (an article's id less its language is its document: the translations of one report,
 * which the daemon makes one alert), as if the story window held the whole set.
 * "stream" does what the daemon does: the articles, in name order, join the first (oldest)
 * story of their topic whose first article story_same_df() says they report, or start a story
 * of their own; a name's weight falls with the number of the topic's other stories that have
 * it (--no-df: it does not). A pair is said to be one story when both articles are in one.
 * --grow: a story's signature grows by its articles' (story_sig_merge), as the daemon did
 * before; --single-link: an article joins a story when it is one with any of its articles.
 * --stories prints the stories the stream formed (with the topic gate), one line each.
 *
 * Articles: DIR/articles/ID.json with id, story, topic, language, title and text (or
 * text_file relative to the articles folder); the pairs: DIR/pairs.tsv (a, b, label, hard,
 * basis). The signature of an article is made as the daemon makes an item's: title, text,
 * language, SimHash of the text.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/simhash.h"
#include "topics/story.h"

struct article {
    char *id, *story, *topic, *lang;
    struct story_sig sig;
};

struct tally {
    char name[64];
    unsigned tp, fp, fn, tn;
};

#define MAX_TALLIES 128

static struct tally tallies[2][MAX_TALLIES];
static size_t n_tallies[2];

static struct tally *
tally_get(int gate, const char *name)
{
    for (size_t i = 0; i < n_tallies[gate]; i++)
        if (strcmp(tallies[gate][i].name, name) == 0)
            return &tallies[gate][i];
    if (n_tallies[gate] == MAX_TALLIES)
        return NULL;
    struct tally *t = &tallies[gate][n_tallies[gate]++];
    snprintf(t->name, sizeof(t->name), "%s", name);
    return t;
}

static void
tally_add(int gate, const char *name, bool truth, bool said)
{
    struct tally *t = tally_get(gate, name);
    if (!t)
        return;
    if (truth && said)
        t->tp++;
    else if (!truth && said)
        t->fp++;
    else if (truth)
        t->fn++;
    else
        t->tn++;
}

static double
ratio(unsigned a, unsigned b)
{
    return b ? (double)a / b : 1.0;
}

static void
tally_print(const struct tally *t)
{
    double p = ratio(t->tp, t->tp + t->fp), r = ratio(t->tp, t->tp + t->fn);
    double f = p + r > 0 ? 2 * p * r / (p + r) : 0;
    printf("  %-22s same %4u  said-same %4u  tp %4u fp %4u fn %4u  P %.3f R %.3f F1 %.3f\n",
           t->name, t->tp + t->fn, t->tp + t->fp, t->tp, t->fp, t->fn, p, r, f);
}

static int
cmp_tally(const void *a, const void *b)
{
    return strcmp(((const struct tally *)a)->name, ((const struct tally *)b)->name);
}

static char *
read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static char *
jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? strdup(s) : NULL;
}

static int
load_article(const struct story_places *places, const char *dir, const char *name,
             struct article *a)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/articles/%s", dir, name);
    json_error_t err;
    json_t *o = json_load_file(path, 0, &err);
    if (!o) {
        fprintf(stderr, "%s: %s\n", path, err.text);
        return -1;
    }
    a->id = jstr(o, "id");
    a->story = jstr(o, "story");
    a->topic = jstr(o, "topic");
    a->lang = jstr(o, "language");
    char *title = jstr(o, "title");
    char *text = jstr(o, "text");
    const char *tf = json_string_value(json_object_get(o, "text_file"));
    if (!text && tf) {
        snprintf(path, sizeof(path), "%s/articles/%s", dir, tf);
        text = read_all(path);
        if (!text)
            fprintf(stderr, "%s: cannot read\n", path);
    }
    json_decref(o);
    int r = -1;
    if (a->id && a->story && a->topic && text) {
        uint64_t sh = simhash_text(text);
        r = story_sig_make(places, title, text, a->lang, sh, &a->sig) == 0 ? 0 : -1;
    } else {
        fprintf(stderr, "%s: id, story, topic or text missing\n", name);
    }
    free(title);
    free(text);
    return r;
}

/* ---- The stream mode: stories formed as the daemon forms alerts ---- */

struct story {
    const char *topic;
    struct story_sig sig;
};

struct df_ctx {
    const struct story *stories;
    size_t n, skip;
    const char *topic; /* NULL: every story */
};

static bool
sig_has(const struct story_sig *s, uint32_t key)
{
    size_t lo = 0, hi = s->n_keys;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->keys[mid] == key)
            return true;
        if (s->keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Of the topic's stories but the one compared, how many have key (the daemon's story_keys). */
static unsigned
df_count(void *userdata, uint32_t key)
{
    const struct df_ctx *c = userdata;
    unsigned n = 0;
    for (size_t i = 0; i < c->n; i++)
        if (i != c->skip && (!c->topic || strcmp(c->topic, c->stories[i].topic) == 0) &&
            sig_has(&c->stories[i].sig, key))
            n++;
    return n;
}

/*
 * The pairs mode's document frequency: how many documents of the topic (an article's id less
 * its language: the translations of one report, which the daemon groups as one alert) but a's
 * and b's have key — the topic's other stories, as if the story window held the whole set.
 */
struct pair_df {
    const struct article *arts, *a, *b;
    size_t n;
    bool gate;
};

static size_t
doc_len(const char *id)
{
    const char *dot = strrchr(id, '.');
    return dot ? (size_t)(dot - id) : strlen(id);
}

static bool
same_doc(const char *x, const char *y)
{
    size_t lx = doc_len(x);
    return lx == doc_len(y) && strncmp(x, y, lx) == 0;
}

static unsigned
pair_df_count(void *userdata, uint32_t key)
{
    const struct pair_df *c = userdata;
    unsigned n = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct article *x = &c->arts[i];
        if ((c->gate && strcmp(x->topic, c->a->topic) != 0) || same_doc(x->id, c->a->id) ||
            same_doc(x->id, c->b->id) || !sig_has(&x->sig, key))
            continue;
        bool seen = false; /* count each document once: its first article with the key */
        for (size_t j = 0; j < i && !seen; j++)
            seen = same_doc(c->arts[j].id, x->id) && sig_has(&c->arts[j].sig, key);
        n += !seen;
    }
    return n;
}

/* Assigns each article (in name order) its story index; gate: compare within topics only. */
static bool grow;        /* --grow: a story's signature grows by its articles' */
static bool single_link; /* --single-link: joins a story that any of its articles is one with */

static int
stream(const struct article *arts, size_t n, bool gate, bool use_df, size_t *assign)
{
    struct story *st = calloc(n ? n : 1, sizeof(*st));
    if (!st)
        return -1;
    size_t n_st = 0;
    for (size_t i = 0; i < n; i++) {
        const char *topic = gate ? arts[i].topic : "";
        size_t found = n_st;
        for (size_t k = 0; k < n_st && found == n_st; k++) {
            if (strcmp(st[k].topic, topic) != 0)
                continue;
            struct df_ctx c = {.stories = st, .n = n_st, .skip = k, .topic = topic};
            if (!single_link) {
                if (story_same_df(&arts[i].sig, &st[k].sig, use_df ? df_count : NULL, &c))
                    found = k;
                continue;
            }
            for (size_t j = 0; j < i && found == n_st; j++)
                if (assign[j] == k &&
                    story_same_df(&arts[i].sig, &arts[j].sig, use_df ? df_count : NULL, &c))
                    found = k;
        }
        if (found == n_st) {
            st[n_st].topic = topic;
            st[n_st].sig = arts[i].sig;
            n_st++;
        } else if (grow) {
            story_sig_merge(&st[found].sig, &arts[i].sig);
        }
        assign[i] = found;
    }
    free(st);
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct article *
find(struct article *arts, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(arts[i].id, id) == 0)
            return &arts[i];
    return NULL;
}

int
main(int argc, char **argv)
{
    double min_p = 0.95, min_r = 0.80;
    const char *dump = NULL, *dir = NULL, *dump_sigs = NULL;
    int gate_asserted = 1;
    bool stream_mode = false, use_df = true, show = false, pair_df_mode = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--min-precision") == 0 && i + 1 < argc)
            min_p = atof(argv[++i]);
        else if (strcmp(argv[i], "--min-recall") == 0 && i + 1 < argc)
            min_r = atof(argv[++i]);
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dump = argv[++i];
        else if (strcmp(argv[i], "--dump-sigs") == 0 && i + 1 < argc)
            dump_sigs = argv[++i];
        else if (strcmp(argv[i], "--gate") == 0 && i + 1 < argc)
            gate_asserted = strcmp(argv[++i], "all") == 0 ? 0 : 1;
        else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
            stream_mode = strcmp(argv[++i], "stream") == 0;
        else if (strcmp(argv[i], "--no-df") == 0)
            use_df = false;
        else if (strcmp(argv[i], "--df") == 0)
            pair_df_mode = true;
        else if (strcmp(argv[i], "--single-link") == 0)
            single_link = true;
        else if (strcmp(argv[i], "--grow") == 0)
            grow = true;
        else if (strcmp(argv[i], "--no-grow") == 0)
            grow = false;
        else if (strcmp(argv[i], "--stories") == 0)
            show = true;
        else if (!dir && argv[i][0] != '-')
            dir = argv[i];
        else {
            fprintf(stderr, "usage: story_eval [--min-precision P] [--min-recall R] "
                            "[--gate all|topic] [--mode pairs|stream] [--df] [--no-df] [--grow] "
                            "[--single-link] [--stories] [--dump FILE] [--dump-sigs FILE] DIR\n");
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "story_eval: no DIR\n");
        return 2;
    }

    struct story_places *places;
    if (story_places_new(&places) < 0)
        return 2;

    /* Articles, in name order. */
    char adir[4096];
    snprintf(adir, sizeof(adir), "%s/articles", dir);
    DIR *d = opendir(adir);
    if (!d) {
        perror(adir);
        return 2;
    }
    char **names = NULL;
    size_t n_names = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) {
            char **nn = realloc(names, (n_names + 1) * sizeof(*names));
            if (!nn)
                return 2;
            names = nn;
            names[n_names++] = strdup(de->d_name);
        }
    }
    closedir(d);
    qsort(names, n_names, sizeof(*names), cmp_str);
    struct article *arts = calloc(n_names ? n_names : 1, sizeof(*arts));
    if (!arts)
        return 2;
    for (size_t i = 0; i < n_names; i++)
        if (load_article(places, dir, names[i], &arts[i]) < 0)
            return 2;

    if (dump_sigs) {
        FILE *f = fopen(dump_sigs, "w");
        if (!f) {
            perror(dump_sigs);
            return 2;
        }
        for (size_t i = 0; i < n_names; i++) {
            fprintf(f, "%s\t%s\t%s\t%s\t%016llx\t", arts[i].id, arts[i].story, arts[i].topic,
                    arts[i].lang ? arts[i].lang : "", (unsigned long long)arts[i].sig.simhash);
            for (size_t k = 0; k < arts[i].sig.n_keys; k++)
                fprintf(f, "%s%08x", k ? " " : "", (unsigned)arts[i].sig.keys[k]);
            fprintf(f, "\n");
        }
        fclose(f);
    }
    size_t *assign[2] = {calloc(n_names ? n_names : 1, sizeof(size_t)),
                         calloc(n_names ? n_names : 1, sizeof(size_t))};
    if (!assign[0] || !assign[1])
        return 2;
    if (stream_mode)
        for (int gate = 0; gate < 2; gate++)
            if (stream(arts, n_names, gate, use_df, assign[gate]) < 0)
                return 2;
    for (size_t k = 0; show && stream_mode && k < n_names; k++) {
        bool any = false;
        for (size_t i = 0; i < n_names; i++)
            if (assign[1][i] == k) {
                printf("%s%s %s ", any ? "" : "story: ", arts[i].id, arts[i].story);
                any = true;
            }
        if (any)
            printf("\n");
    }

    /* Pairs. */
    char ppath[4096];
    snprintf(ppath, sizeof(ppath), "%s/pairs.tsv", dir);
    char *pairs = read_all(ppath);
    if (!pairs) {
        perror(ppath);
        return 2;
    }
    FILE *df = dump ? fopen(dump, "w") : NULL;
    if (dump && !df) {
        perror(dump);
        return 2;
    }
    unsigned n_pairs = 0;
    char *save = NULL;
    for (char *line = strtok_r(pairs, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[5];
        char *s2 = NULL;
        size_t nf = 0;
        for (char *t = strtok_r(line, "\t", &s2); t && nf < 5; t = strtok_r(NULL, "\t", &s2))
            f[nf++] = t;
        if (nf < 5 || strcmp(f[0], "a") == 0)
            continue;
        struct article *a = find(arts, n_names, f[0]), *b = find(arts, n_names, f[1]);
        if (!a || !b) {
            fprintf(stderr, "pairs.tsv: %s or %s: no such article\n", f[0], f[1]);
            return 2;
        }
        bool truth = strcmp(f[2], "same") == 0;
        if (truth != (strcmp(a->story, b->story) == 0)) {
            fprintf(stderr, "pairs.tsv: %s %s: label disagrees with the stories\n", f[0], f[1]);
            return 2;
        }
        n_pairs++;
        struct pair_df pdf = {.arts = arts, .a = a, .b = b, .n = n_names, .gate = true};
        story_df_fn dfn = use_df && pair_df_mode ? pair_df_count : NULL;
        bool said = story_same_df(&a->sig, &b->sig, dfn, &pdf);
        struct story_shared sh;
        story_compare_df(&a->sig, &b->sig, dfn, &pdf, &sh);
        if (df) {
            unsigned ka[3] = {0, 0, 0}, kb[3] = {0, 0, 0};
            for (size_t k = 0; k < a->sig.n_keys; k++)
                ka[STORY_KEY_KIND(a->sig.keys[k]) % 3]++;
            for (size_t k = 0; k < b->sig.n_keys; k++)
                kb[STORY_KEY_KIND(b->sig.keys[k]) % 3]++;
            fprintf(df, "%s\t%s\t%s\t%s\t%s\t%u\t%u\t%u\t%d\t%.2f\t%d\t%u\t%u\t%u\t%u\t%u\t%u\n",
                    f[0], f[1], f[2], f[3], f[4], sh.places, sh.names, sh.numbers,
                    sh.simhash_distance, story_score(&sh), said, ka[0], ka[1], ka[2], kb[0], kb[1],
                    kb[2]);
        }
        char lp[32];
        const char *l1 = strcmp(a->lang, b->lang) <= 0 ? a->lang : b->lang;
        const char *l2 = l1 == a->lang ? b->lang : a->lang;
        snprintf(lp, sizeof(lp), "%s-%s", l1, l2);
        for (int gate = 0; gate < 2; gate++) {
            bool s = stream_mode ? assign[gate][a - arts] == assign[gate][b - arts]
                                 : said && (gate == 0 || strcmp(a->topic, b->topic) == 0);
            tally_add(gate, "overall", truth, s);
            tally_add(gate, strcmp(a->lang, b->lang) == 0 ? "one language" : "cross-language",
                      truth, s);
            if (strcmp(f[3], "hard") == 0 || truth)
                tally_add(gate, "hard negatives + same", truth, s);
            if (strcmp(f[4], "same-event") == 0 || !truth)
                tally_add(gate, "same-event + different", truth, s);
            if (strncmp(f[0], "seed-", 5) == 0 && strncmp(f[1], "seed-", 5) == 0)
                tally_add(gate, "seeds", truth, s);
            tally_add(gate, lp, truth, s);
        }
    }
    if (df)
        fclose(df);

    printf("story_eval: %zu articles, %u pairs (%s), %s\n", n_names, n_pairs, dir,
           !stream_mode ? "each pair alone"
           : use_df     ? "as a stream of stories, names weighed by rarity"
                        : "as a stream of stories");
    static const char *const gate_names[2] = {"every pair compared (no topic gate)",
                                              "pairs of one topic compared (the daemon's gate)"};
    for (int gate = 0; gate < 2; gate++) {
        printf("%s:\n", gate_names[gate]);
        static const char *const groups[] = {"overall",
                                             "one language",
                                             "cross-language",
                                             "hard negatives + same",
                                             "same-event + different",
                                             "seeds"};
        for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
            tally_print(tally_get(gate, groups[g]));
        printf("  per language pair:\n");
        qsort(tallies[gate], n_tallies[gate], sizeof(struct tally), cmp_tally);
        for (size_t i = 0; i < n_tallies[gate]; i++)
            if (strlen(tallies[gate][i].name) == 5 && tallies[gate][i].name[2] == '-')
                tally_print(&tallies[gate][i]);
    }
    const struct tally *o = tally_get(gate_asserted, "overall");
    double p = ratio(o->tp, o->tp + o->fp), r = ratio(o->tp, o->tp + o->fn);
    int rc = 0;
    if (n_pairs == 0 || p < min_p || r < min_r) {
        printf("story_eval: FAIL: %s: precision %.3f (bar %.2f), recall %.3f (bar %.2f)\n",
               gate_names[gate_asserted], p, min_p, r, min_r);
        rc = 1;
    } else {
        printf("story_eval: ok: %s: precision %.3f >= %.2f, recall %.3f >= %.2f\n",
               gate_names[gate_asserted], p, min_p, r, min_r);
    }
    for (size_t i = 0; i < n_names; i++) {
        free(arts[i].id);
        free(arts[i].story);
        free(arts[i].topic);
        free(arts[i].lang);
        free(names[i]);
    }
    free(arts);
    free(names);
    free(assign[0]);
    free(assign[1]);
    free(pairs);
    story_places_free(places);
    return rc;
}
