/*
 * stages-bench.c — throughput of the per-item text stages, each timed alone over every item
 * of a set, in one process.
 *
 * Loads every feed of the list files, parses each with feedparse_buffer() (not timed), and
 * keeps each item's HTML (content, else summary), title and language. Then, PASSES times
 * each (median reported):
 *
 *   html_to_text      the item HTML to plain text (what the daemon stores today)
 *   boilerplate_clean the item HTML to article text, a per-feed model, learn=true, the
 *                     item's title and language, as the daemon will run it (fresh models
 *                     every pass, so every pass does the same work)
 *   lang_detect       on the cleaned text
 *   simhash_text      on the cleaned text
 *   normalize         normalize_tokenize() over the cleaned text, a counting callback
 *   matcher           match_run() of 8 topics against title + cleaned text
 *   clean+lang+simhash  the three per-item stages of the daemon, back to back per item
 *   parse+collect     html_parse() + html_blocks_collect() of the item walk, the libxml2
 *                     route to an item's blocks
 *   fragment          html_fragment_blocks(): the same blocks, simple markup read directly
 *                     (its digest equals parse+collect's: same blocks field by field)
 *
 * MB/s counts each stage's input bytes (HTML for the first two, cleaned text after; 1 MB =
 * 10^6 bytes). A digest of every stage's output (FNV-1a over texts, language codes,
 * signatures, token fields, hits) is printed so that a change can be shown to leave the
 * results byte-identical.
 *
 * usage: stages-bench [-p PASSES] [-s STAGE] -l LIST_FILE [-l LIST_FILE ...]
 * build: bench/stages does it (cc -O2 against the four BUILD/feeds/libfw*.a, -lstemmer and
 * pkg-config libs).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "base/hash.h"
#include "text/boilerplate.h"
#include "text/edits.h"
#include "parse/feedparse.h"
#include "text/html.h"
#include "text/lang.h"
#include "topics/match.h"
#include "text/normalize.h"
#include "text/simhash.h"
#include "topics/story.h"

#define BENCH_MAX_FILES 100000
#define BENCH_MAX_LISTS 8

struct item {
    const char *html; /* borrowed from the feed_doc */
    size_t html_len;
    const char *title;
    const char *language;
    size_t feed; /* index of its feed */
    char *clean; /* boilerplate_clean() output of the first pass */
    size_t clean_len;
};

struct set {
    struct feed_doc **docs;
    size_t n_docs;
    struct item *items;
    size_t n_items;
    size_t html_bytes, clean_bytes;
};

static double
now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int
read_file(const char *path, char **ret_data, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16, len = 0;
    char *data;

    if (!f)
        return -errno;
    data = malloc(cap);
    for (;;) {
        if (!data) {
            (void)fclose(f);
            return -ENOMEM;
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
        if (len == cap) {
            cap *= 2;
            char *n = realloc(data, cap);
            if (!n)
                free(data);
            data = n;
        }
    }
    (void)fclose(f);
    *ret_data = data;
    *ret_len = len;
    return 0;
}

static int
load_list(const char *list, struct set *s)
{
    FILE *lf = fopen(list, "r");
    char line[4096];

    if (!lf) {
        fprintf(stderr, "stages-bench: %s: %s\n", list, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, lf) && s->n_docs < BENCH_MAX_FILES) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        char *data = NULL, *err = NULL;
        size_t len = 0;
        int r = read_file(line, &data, &len);
        if (r < 0) {
            fprintf(stderr, "stages-bench: %s: %s\n", line, strerror(-r));
            (void)fclose(lf);
            return -1;
        }
        struct feed_doc *doc = NULL;
        r = feedparse_buffer(data, len, NULL, &doc, &err);
        free(data);
        free(err);
        if (r < 0 || !doc)
            continue; /* a feed that does not parse has no items to time */
        struct feed_doc **v = realloc(s->docs, (s->n_docs + 1) * sizeof(*v));
        struct item *iv = realloc(s->items, (s->n_items + doc->n_items) * sizeof(*iv));
        if (!v || !iv) {
            fprintf(stderr, "stages-bench: out of memory\n");
            exit(1);
        }
        s->docs = v;
        s->items = iv;
        for (size_t i = 0; i < doc->n_items; i++) {
            const struct feed_item *it = &doc->items[i];
            const char *html = it->content ? it->content : it->summary;
            if (!html)
                continue;
            s->items[s->n_items++] = (struct item){
                .html = html,
                .html_len = strlen(html),
                .title = it->title,
                .language = it->language,
                .feed = s->n_docs,
            };
            s->html_bytes += strlen(html);
        }
        s->docs[s->n_docs++] = doc;
    }
    (void)fclose(lf);
    return 0;
}

/* ---- the stages: each runs once over all items and returns a digest of its output ---- */

static uint64_t
run_html(struct set *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < s->n_items; i++) {
        char *text = NULL;
        int r = html_to_text(s->items[i].html, s->items[i].html_len, &text);
        h = fnv(h, &r, sizeof(r));
        if (r == 0)
            h = fnv(h, text, strlen(text) + 1);
        free(text);
    }
    return h;
}

static uint64_t
run_clean(struct set *s, bool keep)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    struct boilerplate_model **models = calloc(s->n_docs, sizeof(*models));

    if (!models)
        exit(1);
    for (size_t i = 0; i < s->n_items; i++) {
        struct item *it = &s->items[i];
        if (!models[it->feed] && !(models[it->feed] = boilerplate_model_new()))
            exit(1);
        struct boilerplate_opts opts = {
            .title = it->title, .language = it->language, .learn = true};
        char *text = NULL;
        int r = boilerplate_clean(it->html, it->html_len, &opts, models[it->feed], &text);
        h = fnv(h, &r, sizeof(r));
        if (r == 0)
            h = fnv(h, text, strlen(text) + 1);
        if (keep && r == 0 && !it->clean) {
            it->clean = text;
            it->clean_len = strlen(text);
            s->clean_bytes += it->clean_len;
        } else {
            free(text);
        }
    }
    for (size_t f = 0; f < s->n_docs; f++)
        boilerplate_model_free(models[f]);
    free(models);
    return h;
}

static uint64_t
run_lang(struct set *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < s->n_items; i++) {
        const char *l =
            lang_detect(s->items[i].clean ? s->items[i].clean : "", s->items[i].clean_len);
        h = fnv(h, l ? l : "-", l ? strlen(l) + 1 : 2);
    }
    return h;
}

static uint64_t
run_simhash(struct set *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < s->n_items; i++) {
        uint64_t sig = simhash_text(s->items[i].clean ? s->items[i].clean : "");
        h = fnv(h, &sig, sizeof(sig));
    }
    return h;
}

/* story_sig_make on each item (title, cleaned text, language): what issue 17 adds per item. */
static uint64_t
run_story_sig(struct set *s, const struct story_places *p, struct story_sig *sigs)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < s->n_items; i++) {
        struct story_sig *g = &sigs[i];
        if (story_sig_make(p, s->items[i].title, s->items[i].clean, s->items[i].language, 0, g) < 0)
            g->n_keys = 0;
        h = fnv(h, g->keys, g->n_keys * sizeof(g->keys[0]));
    }
    return h;
}

/*
 * The daemon's worst case per matching item and topic: story_same() against 64 candidates
 * (alerts.c STORY_MAX_CANDIDATES), here the 64 items before it.
 */
static uint64_t
run_story_compare(struct set *s, const struct story_sig *sigs)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < s->n_items; i++) {
        unsigned same = 0;
        for (size_t k = 1; k <= 64; k++)
            same += story_same(&sigs[i], &sigs[(i + s->n_items - k) % s->n_items]);
        h = fnv(h, &same, sizeof(same));
    }
    return h;
}

struct tokdigest {
    uint64_t h;
};

static int
on_token(const struct normalize_token *tok, void *userdata)
{
    struct tokdigest *d = userdata;
    uint64_t f[5] = {tok->pos, tok->span, tok->off, tok->len,
                     (uint64_t)tok->run << 2 | (uint64_t)tok->joined << 1 | tok->cjk};

    d->h = fnv(d->h, tok->norm, tok->norm_len);
    d->h = fnv(d->h, f, sizeof(f));
    return 0;
}

static uint64_t
run_normalize(struct set *s)
{
    struct tokdigest d = {0xcbf29ce484222325ULL};

    for (size_t i = 0; i < s->n_items; i++) {
        uint32_t next = 0;
        int r = normalize_tokenize(s->items[i].clean ? s->items[i].clean : "",
                                   s->items[i].clean_len, 0, on_token, &d, &next);
        d.h = fnv(d.h, &r, sizeof(r));
        d.h = fnv(d.h, &next, sizeof(next));
    }
    return d.h;
}

static const char *const topics[] = {
    "ukrain* OR kyiv OR kiev",     "\"climate change\" OR klimaat*",
    "osce AND (russia OR россия)", "title:(election* OR wahl*)",
    "\"prime minister\"~3",        "nato -sport",
    "co-operation OR cooperation", "europ* AND (crisis OR krise OR crise)",
};

static uint64_t
run_match(struct set *s, const struct match *m)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < s->n_items; i++) {
        struct match_doc doc = {.title = s->items[i].title, .text = s->items[i].clean};
        struct match_result res = {0};
        int r = match_run(m, &doc, &res);
        h = fnv(h, &r, sizeof(r));
        for (size_t k = 0; r == 0 && k < res.n_hits; k++) {
            h = fnv(h, &res.hits[k].topic, sizeof(res.hits[k].topic));
            for (size_t t = 0; t < res.hits[k].n_terms; t++) {
                const struct match_term *mt = &res.hits[k].terms[t];
                h = fnv(h, mt->term, strlen(mt->term) + 1);
                h = fnv(h, mt->snippet, strlen(mt->snippet) + 1);
            }
        }
        match_result_done(&res);
    }
    return h;
}

/* A digest of blocks: every field html_fragment_blocks() promises equal. */
static uint64_t
blocks_digest(uint64_t h, int r, const struct html_blocks *b)
{
    h = fnv(h, &r, sizeof(r));
    for (size_t k = 0; k < b->n; k++) {
        const struct html_block *x = &b->v[k];
        uint32_t f[5] = {x->chars, x->link_chars, x->flags, x->group, x->heading};
        h = fnv(h, x->text, x->len + 1);
        h = fnv(h, f, sizeof(f));
    }
    return h;
}

#define ITEM_WALK (HTML_WALK_DROP_FORMS | HTML_WALK_DROP_LEAD_TIME)

/* The libxml2 route to an item's blocks, as content.c's parse_item() runs it. */
static uint64_t
run_collect(struct set *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < s->n_items; i++) {
        struct html_blocks b = {0};
        xmlDoc *doc = NULL;
        int r = html_parse(s->items[i].html, s->items[i].html_len, "UTF-8", &doc);
        if (r == 0 && doc)
            r = html_blocks_collect((const xmlNode *)doc, ITEM_WALK, NULL, NULL, &b);
        xmlFreeDoc(doc);
        h = blocks_digest(h, r, &b);
        html_blocks_done(&b);
    }
    return h;
}

/* Edited items: the fingerprint a poll computes for each stored item of a document. */
static uint64_t
run_fingerprint(struct set *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < s->n_items; i++) {
        uint64_t f = hash_item_fields(s->items[i].title, s->items[i].html, NULL);
        h = fnv(h, &f, sizeof(f));
    }
    return h;
}

/* Edited items: a changed fingerprint's comparison (here of two equal texts: all of it). */
static uint64_t
run_edit_compare(struct set *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < s->n_items; i++) {
        char *changes = NULL;
        int r = edits_compare(s->items[i].title, s->items[i].clean, s->items[i].title,
                              s->items[i].clean, &changes);
        h = fnv(h, &r, sizeof(r));
        free(changes);
    }
    return h;
}

static uint64_t
run_fragment(struct set *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < s->n_items; i++) {
        struct html_blocks b = {0};
        int r = html_fragment_blocks(s->items[i].html, s->items[i].html_len, ITEM_WALK, &b);
        h = blocks_digest(h, r, &b);
        html_blocks_done(&b);
    }
    return h;
}

/* The daemon's per-item chain: clean (per-feed model, learning), then language, signature. */
static uint64_t
run_chain(struct set *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    struct boilerplate_model **models = calloc(s->n_docs, sizeof(*models));

    if (!models)
        exit(1);
    for (size_t i = 0; i < s->n_items; i++) {
        struct item *it = &s->items[i];
        if (!models[it->feed] && !(models[it->feed] = boilerplate_model_new()))
            exit(1);
        struct boilerplate_opts opts = {
            .title = it->title, .language = it->language, .learn = true};
        char *text = NULL;
        if (boilerplate_clean(it->html, it->html_len, &opts, models[it->feed], &text) < 0)
            continue;
        const char *l = lang_detect(text, strlen(text));
        uint64_t sig = simhash_text(text);
        h = fnv(h, l ? l : "-", l ? strlen(l) + 1 : 2);
        h = fnv(h, &sig, sizeof(sig));
        free(text);
    }
    for (size_t f = 0; f < s->n_docs; f++)
        boilerplate_model_free(models[f]);
    free(models);
    return h;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

enum stage {
    S_HTML,
    S_CLEAN,
    S_LANG,
    S_SIMHASH,
    S_NORMALIZE,
    S_MATCH,
    S_CHAIN,
    S_COLLECT,
    S_FRAGMENT,
    S_FINGERPRINT,
    S_EDIT_COMPARE,
    S_STORY_SIG,
    S_STORY_COMPARE,
    S_N
};
static const char *const stage_names[S_N] = {
    "html_to_text", "boilerplate_clean",  "lang_detect",     "simhash_text", "normalize",
    "matcher",      "clean+lang+simhash", "parse+collect",   "fragment",     "fingerprint",
    "edit_compare", "story_sig",          "story_compare64",
};

int
main(int argc, char **argv)
{
    const char *lists[BENCH_MAX_LISTS];
    const char *only = NULL;
    size_t n_lists = 0;
    int passes = 5, ch;

    while ((ch = getopt(argc, argv, "p:l:s:")) != -1) {
        char *end;
        switch (ch) {
        case 'p':
            passes = (int)strtol(optarg, &end, 10);
            if (*end)
                passes = 0;
            break;
        case 'l':
            if (n_lists < BENCH_MAX_LISTS)
                lists[n_lists++] = optarg;
            break;
        case 's':
            only = optarg;
            break;
        default:
            passes = 0;
        }
    }
    if (n_lists == 0 || passes < 1 || passes > 1000) {
        fprintf(stderr, "usage: stages-bench [-p PASSES] [-s STAGE] -l LIST_FILE ...\n");
        return 2;
    }
    xmlInitParser();
    struct set s = {0};
    for (size_t i = 0; i < n_lists; i++)
        if (load_list(lists[i], &s) < 0)
            return 1;
    if (s.n_items == 0) {
        fprintf(stderr, "stages-bench: no items\n");
        return 1;
    }
    /* The cleaned texts the later stages read (untimed). */
    (void)run_clean(&s, true);

    struct match *m = match_new();
    if (!m)
        return 1;
    for (size_t t = 0; t < sizeof(topics) / sizeof(topics[0]); t++) {
        char *err = NULL;
        if (match_add(m, t, "bench", topics[t], &err) < 0) {
            fprintf(stderr, "stages-bench: %s\n", err ? err : "match_add failed");
            return 1;
        }
    }
    if (match_build(m) < 0)
        return 1;

    struct story_places *places = NULL;
    struct story_sig *sigs = calloc(s.n_items, sizeof(*sigs));
    if (!sigs || story_places_new(&places) < 0)
        return 1;
    (void)run_story_sig(&s, places, sigs); /* story_compare64 reads them */

    size_t simple = 0;
    for (size_t i = 0; i < s.n_items; i++)
        simple += html_fragment_is_simple(s.items[i].html, s.items[i].html_len);
    printf("feeds %zu items %zu html_bytes %zu clean_bytes %zu passes %d fast_path_items %zu\n",
           s.n_docs, s.n_items, s.html_bytes, s.clean_bytes, passes, simple);
    double *secs = calloc((size_t)passes, sizeof(*secs));
    if (!secs)
        return 1;
    for (int st = 0; st < S_N; st++) {
        if (only && strcmp(only, stage_names[st]) != 0)
            continue;
        uint64_t digest = 0;
        for (int p = 0; p < passes; p++) {
            double t0 = now();
            switch (st) {
            case S_HTML:
                digest = run_html(&s);
                break;
            case S_CLEAN:
                digest = run_clean(&s, false);
                break;
            case S_LANG:
                digest = run_lang(&s);
                break;
            case S_SIMHASH:
                digest = run_simhash(&s);
                break;
            case S_NORMALIZE:
                digest = run_normalize(&s);
                break;
            case S_MATCH:
                digest = run_match(&s, m);
                break;
            case S_COLLECT:
                digest = run_collect(&s);
                break;
            case S_FRAGMENT:
                digest = run_fragment(&s);
                break;
            case S_FINGERPRINT:
                digest = run_fingerprint(&s);
                break;
            case S_EDIT_COMPARE:
                digest = run_edit_compare(&s);
                break;
            case S_STORY_SIG:
                digest = run_story_sig(&s, places, sigs);
                break;
            case S_STORY_COMPARE:
                digest = run_story_compare(&s, sigs);
                break;
            default:
                digest = run_chain(&s);
                break;
            }
            secs[p] = now() - t0;
        }
        qsort(secs, (size_t)passes, sizeof(*secs), cmp_double);
        double med = passes % 2 ? secs[passes / 2] : (secs[passes / 2 - 1] + secs[passes / 2]) / 2;
        size_t bytes = st == S_HTML || st == S_CLEAN || st == S_CHAIN || st == S_COLLECT ||
                               st == S_FRAGMENT || st == S_FINGERPRINT
                           ? s.html_bytes
                           : s.clean_bytes;
        printf("stage %s median_s %.4f min_s %.4f items/s %.0f MB/s %.1f us/item %.2f "
               "digest %016llx\n",
               stage_names[st], med, secs[0], (double)s.n_items / med, (double)bytes / 1e6 / med,
               med * 1e6 / (double)s.n_items, (unsigned long long)digest);
        (void)fflush(stdout);
    }
    free(secs);
    free(sigs);
    story_places_free(places);
    match_free(m);
    for (size_t i = 0; i < s.n_items; i++)
        free(s.items[i].clean);
    free(s.items);
    for (size_t i = 0; i < s.n_docs; i++)
        feed_doc_free(s.docs[i]);
    free(s.docs);
    return 0;
}
