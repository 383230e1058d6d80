/*
 * Unit tests for feeds/simhash.c: identical texts, small edits, unrelated texts, the seeds
 * (001 and 004: one AFP story in two different English versions) and real feed items.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testfile.h"

#include "parse/feedparse.h"
#include "base/hash.h"
#include "text/normalize.h"
#include "text/simhash.h"

/* Deletes the 1-based lines first..last of a text in place. */
static void
delete_lines(char *s, int first, int last)
{
    char *a = s, *b;
    for (int l = 1; l < first && a; l++)
        a = strchr(a, '\n') ? strchr(a, '\n') + 1 : NULL;
    assert_non_null(a);
    b = a;
    for (int l = first; l <= last && b; l++)
        b = strchr(b, '\n') ? strchr(b, '\n') + 1 : b + strlen(b);
    memmove(a, b, strlen(b) + 1);
}

static void
test_simhash_identical_and_short(void **state)
{
    char *t = test_read_seed("001_c3de49d25fb89459.txt", NULL);
    (void)state;

    uint64_t a = simhash_text(t), b = simhash_text(t);
    assert_int_not_equal(a, 0);
    assert_int_equal(simhash_distance(a, b), 0);
    assert_true(simhash_same_story(a, b));
    /* Too short to say anything: 0, never the same story, not even with itself. */
    assert_int_equal(simhash_text("EU invites Russia"), 0);
    assert_int_equal(simhash_text(""), 0);
    assert_int_equal(simhash_text(NULL), 0);
    assert_false(simhash_same_story(0, 0));
    assert_false(simhash_same_story(a, 0));
    assert_int_equal(simhash_distance(0, ~0ULL), 64);
    free(t);
}

static void
test_simhash_small_edits_few_bits(void **state)
{
    char *orig = test_read_seed("001_c3de49d25fb89459.txt", NULL);
    uint64_t base = simhash_text(orig);
    (void)state;

    /* Case, accents and width do not count: normalized text is hashed. */
    char *upper = strdup(orig);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    assert_int_equal(simhash_distance(base, simhash_text(upper)), 0);

    /* One word changed. */
    char *edit = strdup(orig);
    char *w = strstr(edit, "diplomatic crisis");
    assert_non_null(w);
    memcpy(w, "political", 9);
    int d1 = simhash_distance(base, simhash_text(edit));
    print_message("001 with one word changed: %d bits\n", d1);
    assert_true(d1 <= 3);
    assert_true(simhash_same_story(base, simhash_text(edit)));

    /* The same copy without its page chrome (lines 3-7: time, repeated headline, caption,
     * app promo) and without its last line (source note): another site's copy of it. */
    char *bare = strdup(orig);
    delete_lines(bare, 46, 46);
    delete_lines(bare, 3, 7);
    int d2 = simhash_distance(base, simhash_text(bare));
    print_message("001 without its boilerplate lines: %d bits\n", d2);
    assert_true(simhash_same_story(base, simhash_text(bare)));

    free(orig);
    free(upper);
    free(edit);
    free(bare);
}

struct shingles {
    uint64_t h[4096];
    size_t n;
    char prev[2][64];
    size_t n_words;
};

static int
on_shingle_token(const struct normalize_token *tok, void *userdata)
{
    struct shingles *s = userdata;
    char cur[64];
    if (tok->joined)
        return 0;
    (void)snprintf(cur, sizeof(cur), "%.*s", (int)tok->norm_len, tok->norm);
    if (s->n_words >= 2 && s->n < 4096) {
        char sh[200];
        (void)snprintf(sh, sizeof(sh), "%s %s %s", s->prev[0], s->prev[1], cur);
        uint64_t h = 1469598103934665603ULL;
        for (const char *p = sh; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        s->h[s->n++] = h;
    }
    memcpy(s->prev[0], s->prev[1], sizeof(s->prev[0]));
    memcpy(s->prev[1], cur, sizeof(cur));
    s->n_words++;
    return 0;
}

/* Share of 3-word shingles of a that also occur in b. */
static double
shingle_overlap(const char *a, const char *b)
{
    static struct shingles sa, sb;
    memset(&sa, 0, sizeof(sa));
    memset(&sb, 0, sizeof(sb));
    assert_int_equal(normalize_tokenize(a, strlen(a), 0, on_shingle_token, &sa, NULL), 0);
    assert_int_equal(normalize_tokenize(b, strlen(b), 0, on_shingle_token, &sb, NULL), 0);
    size_t common = 0;
    for (size_t i = 0; i < sa.n; i++) {
        for (size_t j = 0; j < sb.n; j++) {
            if (sa.h[i] == sb.h[j]) {
                common++;
                break;
            }
        }
    }
    return sa.n ? (double)common / (double)sa.n : 0.0;
}

static const char *const seeds[] = {
    "000_b1d9be76c26ba483.txt", "001_c3de49d25fb89459.txt", "002_86e90aea73c19656.txt",
    "003_0dca9f2e86cd725b.txt", "004_76fb76036a12c196.txt",
};

static void
test_simhash_seeds(void **state)
{
    char *text[5];
    uint64_t sig[5];
    (void)state;

    for (size_t i = 0; i < 5; i++) {
        text[i] = test_read_seed(seeds[i], NULL);
        sig[i] = simhash_text(text[i]);
        assert_int_not_equal(sig[i], 0);
    }
    /*
     * 001 and 004 tell the same AFP story, but they are two different English texts (AFP's
     * own copy, and a machine translation of a Portuguese rewrite): they share a few names
     * and few 3-word sequences (about 10% of 001's shingles: names and set phrases such as
     * "the appropriate forum"), so SimHash, which finds copies and not paraphrases, sees them
     * as unrelated (measured: 33 bits apart, the threshold is 6). The daemon groups them only
     * when feeds carry the same copy.
     */
    int d14 = simhash_distance(sig[1], sig[4]);
    double overlap = shingle_overlap(text[1], text[4]);
    print_message("seeds 001 vs 004: %d bits apart, %.1f%% of 001's shingles in 004\n", d14,
                  overlap * 100.0);
    assert_false(simhash_same_story(sig[1], sig[4]));
    assert_true(overlap < 0.15);
    assert_true(d14 > 10);
    /* Every pair of seeds is far apart (different languages, or different texts). */
    for (size_t i = 0; i < 5; i++) {
        for (size_t j = i + 1; j < 5; j++) {
            int d = simhash_distance(sig[i], sig[j]);
            print_message("seeds %zu vs %zu: %d bits\n", i, j, d);
            assert_true(d > 10);
            assert_false(simhash_same_story(sig[i], sig[j]));
        }
    }
    for (size_t i = 0; i < 5; i++)
        free(text[i]);
}

/* Crude tag stripping: enough for hashing the words of an item. */
static char *
item_text(const struct feed_item *it)
{
    const char *src = it->content ? it->content : it->summary ? it->summary : "";
    size_t tl = it->title ? strlen(it->title) : 0;
    char *out = malloc(tl + strlen(src) + 2);
    assert_non_null(out);
    size_t k = 0;
    if (tl) {
        memcpy(out, it->title, tl);
        out[tl] = ' ';
        k = tl + 1;
    }
    bool tag = false;
    for (const char *p = src; *p; p++) {
        if (*p == '<')
            tag = true;
        else if (*p == '>') {
            tag = false;
            out[k++] = ' ';
        } else if (!tag)
            out[k++] = *p;
    }
    out[k] = '\0';
    return out;
}

static void
test_simhash_real_items_far_apart(void **state)
{
    static const char *const files[] = {
        "rss-parser/guardian.rss",
        "arminreiter-FeedReader/Rss20IndianExpress.xml",
        "arminreiter-FeedReader/Rss20JapanTimes.xml",
    };
    size_t pairs = 0;
    long sum = 0;
    int min = 64;
    (void)state;

    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char path[512];
        size_t len;
        struct feed_doc *doc = NULL;
        char *err = NULL;
        (void)snprintf(path, sizeof(path), "%s/feeds-real/%s", FW_CORPUS, files[f]);
        char *data = test_read_file(path, &len);
        assert_int_equal(feedparse_buffer(data, len, NULL, &doc, &err), 0);
        uint64_t *sig = calloc(doc->n_items, sizeof(*sig));
        char **norm = calloc(doc->n_items, sizeof(*norm));
        assert_true(sig && norm);
        for (size_t i = 0; i < doc->n_items; i++) {
            char *t = item_text(&doc->items[i]);
            sig[i] = simhash_text(t);
            norm[i] = normalize_text(t, strlen(t));
            free(t);
        }
        for (size_t i = 0; i < doc->n_items; i++) {
            for (size_t j = i + 1; j < doc->n_items; j++) {
                if (!sig[i] || !sig[j] || strcmp(norm[i], norm[j]) == 0)
                    continue; /* a feed may list one text twice */
                int d = simhash_distance(sig[i], sig[j]);
                if (d < min)
                    min = d;
                sum += d;
                pairs++;
                if (simhash_same_story(sig[i], sig[j]))
                    fail_msg("%s: items %zu and %zu called the same story (%d bits)", files[f], i,
                             j, d);
            }
        }
        for (size_t i = 0; i < doc->n_items; i++)
            free(norm[i]);
        free(norm);
        free(sig);
        feed_doc_free(doc);
        free(data);
    }
    double avg = (double)sum / (double)pairs;
    print_message("real items: %zu pairs, min %d bits, mean %.1f bits\n", pairs, min, avg);
    assert_true(pairs > 10000);
    assert_true(min > 8);
    assert_true(avg > 28.0 && avg < 36.0);
}

/* The signature by the definition: every shingle votes +1/-1 on each bit, one at a time. */
struct ref_ctx {
    uint64_t words[3];
    size_t n;
    int64_t votes[64];
};

static int
on_ref_token(const struct normalize_token *tok, void *userdata)
{
    struct ref_ctx *c = userdata;

    if (tok->joined)
        return 0;
    c->words[0] = c->words[1];
    c->words[1] = c->words[2];
    c->words[2] = hash_final(hash_update(HASH_SEED, tok->norm, tok->norm_len));
    if (++c->n < 3)
        return 0;
    uint64_t h = hash_final(hash_update(HASH_SEED, c->words, sizeof(c->words)));
    for (int b = 0; b < 64; b++)
        c->votes[b] += (h >> b) & 1 ? 1 : -1;
    return 0;
}

static void
test_simhash_batched_votes_match_definition(void **state)
{
    (void)state;
    /* Texts around and past the 255-shingle batch of simhash.c's counters. */
    const size_t sizes[] = {8, 254, 257, 258, 600, 2000};
    char *text = malloc(2000 * 12);
    assert_non_null(text);
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t o = 0;
        for (size_t i = 0; i < sizes[k]; i++)
            o += (size_t)snprintf(text + o, 12, "w%zu%c ", (i * 7919) % 1009, (char)('a' + i % 26));
        text[o] = '\0';
        struct ref_ctx c;
        memset(&c, 0, sizeof(c));
        assert_int_equal(normalize_tokenize(text, o, 0, on_ref_token, &c, NULL), 0);
        uint64_t want = 0;
        for (int b = 0; b < 64; b++)
            if (c.votes[b] > 0)
                want |= 1ULL << b;
        assert_true(want != 0);
        assert_true(simhash_text(text) == want);
    }
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simhash_identical_and_short),
        cmocka_unit_test(test_simhash_small_edits_few_bits),
        cmocka_unit_test(test_simhash_seeds),
        cmocka_unit_test(test_simhash_real_items_far_apart),
        cmocka_unit_test(test_simhash_batched_votes_match_definition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
