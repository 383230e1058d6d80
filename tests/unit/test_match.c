/*
 * Unit tests for feeds/match.c: a table of (query, title, text, expected terms), the seed
 * articles against PRODUCT.md's two topics, NOT-only topics, prefixes, title:, snippets, and a
 * property test: 1,000 generated topics in one matcher give the same hits as a naive
 * evaluator (written here, brute force over the token list) and as each topic alone.
 */
#include <errno.h>
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

#include "topics/match.h"
#include "text/normalize.h"
#include "topics/query.h"

#define OSCE_QUERY                                                                                 \
    "OSCE OR OVSE OR OSZE OR ОБСЕ OR \"Organization for Security and Co-operation in Europe\""
#define BORDER_QUERY "\"ukraine border\"~4 OR \"oekraïne grens\"~4 OR \"ukraine biên giới\"~6"

/* Matches one document against one query; returns the terms as "term/field;..." or NULL. */
static char *
match_one(const char *query, const char *title, const char *text)
{
    struct match *m = match_new();
    struct match_result res;
    char *err = NULL;
    char out[2048] = "";
    size_t k = 0;

    assert_non_null(m);
    if (match_add(m, 7, "t", query, &err) != 0)
        fail_msg("query '%s': %s", query, err ? err : "?");
    assert_int_equal(match_build(m), 0);
    struct match_doc doc = {.title = title, .text = text};
    assert_int_equal(match_run(m, &doc, &res), 0);
    match_free(m);
    if (res.n_hits == 0)
        return NULL;
    assert_int_equal(res.n_hits, 1);
    assert_int_equal(res.hits[0].topic, 7);
    for (size_t i = 0; i < res.hits[0].n_terms; i++) {
        const struct match_term *t = &res.hits[0].terms[i];
        k += (size_t)snprintf(out + k, sizeof(out) - k, "%s%s/%s", i ? ";" : "", t->term, t->field);
        assert_non_null(t->snippet);
    }
    match_result_done(&res);
    return strdup(out);
}

struct match_case {
    const char *query;
    const char *title;
    const char *text;
    const char *terms; /* NULL: no match */
};

static const struct match_case match_cases[] = {
    {"osce", NULL, "Talks at the OSCE in Vienna.", "osce/text"},
    {"osce", "OSCE talks", "nothing here", "osce/title"},
    {"osce", "OSCE talks", "the OSCE again", "osce/title"},
    {"osce", NULL, "the OSCEs", NULL},
    {"Oekraïne", NULL, "oekraine", "Oekraïne/text"},
    {"oekraine", NULL, "De grens met Oekraïne.", "oekraine/text"},
    {"ОБСЕ", NULL, "заседание обсе в Вене", "ОБСЕ/text"},
    {"da nang", NULL, "Đà Nẵng", "da/text;nang/text"},
    {"\"Đà Nẵng\"", NULL, "thành phố Da Nang", "\"Đà Nẵng\"/text"},
    {"osce", NULL, "ＯＳＣＥ", "osce/text"},
    {"Ουκρανία", NULL, "ΟΥΚΡΑΝΙΑ", "Ουκρανία/text"},
    {"ucrania", NULL, "Ucrânia", "ucrania/text"},
    /* Hyphens are optional, both ways. */
    {"co-operation", NULL, "cooperation", "co-operation/text"},
    {"co-operation", NULL, "co operation", "co-operation/text"},
    {"co-operation", NULL, "co-operation", "co-operation/text"},
    {"cooperation", NULL, "co-operation", "cooperation/text"},
    {"\"co operation\"", NULL, "co-operation", "\"co operation\"/text"},
    {"\"security and co-operation in europe\"", NULL,
     "Organization for Security and Cooperation in Europe",
     "\"security and co-operation in europe\"/text"},
    {"\"security and cooperation in europe\"", NULL,
     "Organization for Security and Co-operation in Europe",
     "\"security and cooperation in europe\"/text"},
    {"\"security and co-operation in europe\"", NULL,
     "Organization for Security and Co operation in Europe",
     "\"security and co-operation in europe\"/text"},
    {"cooperation", NULL, "co operation", NULL}, /* no dictionary to split words */
    /* Phrases and proximity. */
    {"\"ukraine border\"", NULL, "the Ukraine border", "\"ukraine border\"/text"},
    {"\"ukraine border\"", NULL, "the border of Ukraine", NULL},
    {"\"ukraine border\"~4", NULL, "the border of Ukraine", "\"ukraine border\"~4/text"},
    {"\"ukraine border\"~4", NULL, "Ukraine's eastern border", "\"ukraine border\"~4/text"},
    {"\"ukraine border\"~5", NULL, "Ukraine has a long and hard border", NULL},
    {"\"ukraine border\"~6", NULL, "Ukraine has a long and hard border",
     "\"ukraine border\"~6/text"},
    {"\"ukraine border\"~0", NULL, "Ukraine border", NULL}, /* ~0: same position only */
    {"\"ukraine border\"~1", NULL, "border Ukraine", "\"ukraine border\"~1/text"},
    {"\"ukraine border\"~4", "Ukraine", "border", NULL}, /* never across fields */
    {"\"a b c\"~2", NULL, "c x b a", NULL},
    {"\"a b c\"~3", NULL, "c x b a", "\"a b c\"~3/text"},
    {"\"biên giới\"", NULL, "khu vực gần biên giới với Ukraine", "\"biên giới\"/text"},
    {"\"biên giới\"", NULL, "giới biên", NULL},
    {"北京大学", NULL, "我在北京大学读书", "北京大学/text"},
    {"北京大学", NULL, "北京的大学", NULL},
    /* Prefixes. */
    {"ukrain*", NULL, "Ukrainian troops", "ukrain*/text"},
    {"ukrain*", NULL, "UKRAINE", "ukrain*/text"},
    {"ukrain*", NULL, "the ukrai", NULL},
    {"oekraï*", NULL, "Oekraïense", "oekraï*/text"},
    {"border*", NULL, "across its borders with", "border*/text"},
    {"\"ukrain* border\"", NULL, "Ukrainian border", NULL}, /* '*' in quotes: punctuation */
    /* Boolean. */
    {"a AND b", NULL, "b a", "a/text;b/text"},
    {"a AND b", NULL, "a", NULL},
    {"a OR b", NULL, "b", "b/text"},
    {"a -b", NULL, "a", "a/text"},
    {"a -b", NULL, "a b", NULL},
    {"NOT (a AND b) c", NULL, "a c", "c/text"},
    {"NOT NOT a", NULL, "a", "a/text"},
    /* title: */
    {"title:osce", "OSCE meets", "x", "osce/title"},
    {"title:osce", "Meeting", "OSCE", NULL},
    {"title:\"osce talks\"", "OSCE talks today", "x", "\"osce talks\"/title"},
    {"title:(a OR b) c", "b", "c", "b/title;c/text"},
    {"osce", NULL, NULL, NULL},
};

static void
test_match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
        const struct match_case *c = &match_cases[i];
        char *got = match_one(c->query, c->title, c->text);
        bool ok =
            (got == NULL && c->terms == NULL) || (got && c->terms && strcmp(got, c->terms) == 0);
        if (!ok)
            fail_msg("case %zu: '%s' on '%s'/'%s' gave %s, want %s", i, c->query,
                     c->title ? c->title : "", c->text ? c->text : "", got ? got : "no match",
                     c->terms ? c->terms : "no match");
        free(got);
    }
}

static const char *const seeds[] = {
    "000_b1d9be76c26ba483.txt", "001_c3de49d25fb89459.txt", "002_86e90aea73c19656.txt",
    "003_0dca9f2e86cd725b.txt", "004_76fb76036a12c196.txt",
};

static const struct match_term *
find_term(const struct match_hit *h, const char *term)
{
    for (size_t i = 0; i < h->n_terms; i++)
        if (strcmp(h->terms[i].term, term) == 0)
            return &h->terms[i];
    return NULL;
}

static void
test_match_seeds(void **state)
{
    struct match *m = match_new();
    char *err = NULL;
    (void)state;

    assert_int_equal(match_add(m, 0, "osce", OSCE_QUERY, &err), 0);
    assert_int_equal(match_add(m, 1, "ukraine-border", BORDER_QUERY, &err), 0);
    assert_int_equal(match_build(m), 0);
    /* osce: 000 (OVSE), 001, 002, 004; ukraine-border: 000, 001, 002, 004; 003: neither. */
    static const bool want[5][2] = {
        {true, true}, {true, true}, {true, true}, {false, false}, {true, true},
    };
    for (size_t i = 0; i < 5; i++) {
        char *text = test_read_seed(seeds[i], NULL);
        struct match_doc doc = {.title = NULL, .text = text};
        struct match_result res;
        assert_int_equal(match_run(m, &doc, &res), 0);
        bool got[2] = {false, false};
        for (size_t h = 0; h < res.n_hits; h++)
            got[res.hits[h].topic] = true;
        if (got[0] != want[i][0] || got[1] != want[i][1])
            fail_msg("%s: osce %d ukraine-border %d", seeds[i], got[0], got[1]);
        const struct match_term *t;
        switch (i) {
        case 0:
            t = find_term(&res.hits[0], "OVSE");
            assert_non_null(t);
            assert_non_null(strstr(t->snippet, "(OVSE)"));
            t = find_term(&res.hits[1], "\"oekraïne grens\"~4");
            assert_non_null(t);
            assert_non_null(strstr(t->snippet, "grens met Oekraïne"));
            break;
        case 1:
            t = find_term(&res.hits[0], "OSCE");
            assert_non_null(t);
            assert_string_equal(t->field, "text");
            t = find_term(&res.hits[1], "\"ukraine border\"~4");
            assert_non_null(t);
            assert_non_null(strstr(t->snippet, "to the Ukraine border"));
            break;
        case 2:
            assert_non_null(find_term(&res.hits[0], "OSCE"));
            t = find_term(&res.hits[1], "\"ukraine biên giới\"~6");
            assert_non_null(t);
            assert_non_null(strstr(t->snippet, "biên giới với Ukraine"));
            break;
        case 4:
            /* The full name, "Cooperation" unhyphenated, matches the hyphenated query. */
            assert_non_null(find_term(&res.hits[0], "OSCE"));
            t = find_term(&res.hits[0], "\"Organization for Security and Co-operation in Europe\"");
            assert_non_null(t);
            assert_non_null(strstr(t->snippet, "Organization for Security and Cooperation"));
            t = find_term(&res.hits[1], "\"ukraine border\"~4");
            assert_non_null(t);
            assert_non_null(strstr(t->snippet, "border with Ukraine"));
            break;
        default:
            break;
        }
        match_result_done(&res);
        free(text);
    }
    match_free(m);
}

static void
test_match_not_only_topics(void **state)
{
    struct match *m = match_new();
    char *err = NULL;
    struct match_result res;
    (void)state;

    assert_int_equal(match_add(m, 3, "not-x", "NOT x", &err), 0);
    assert_int_equal(match_add(m, 5, "y", "y", &err), 0);
    assert_int_equal(match_add(m, 9, "y-or-not-z", "y OR -z", &err), 0);
    assert_int_equal(match_build(m), 0);

    struct match_doc doc = {.title = "nothing", .text = "at all"};
    assert_int_equal(match_run(m, &doc, &res), 0);
    assert_int_equal(res.n_hits, 2);
    assert_int_equal(res.hits[0].topic, 3);
    assert_int_equal(res.hits[0].n_terms, 0);
    assert_int_equal(res.hits[1].topic, 9);
    match_result_done(&res);

    doc.text = "x y z";
    assert_int_equal(match_run(m, &doc, &res), 0);
    assert_int_equal(res.n_hits, 2);
    assert_int_equal(res.hits[0].topic, 5);
    assert_int_equal(res.hits[1].topic, 9);
    assert_int_equal(res.hits[1].n_terms, 1);
    assert_string_equal(res.hits[1].terms[0].term, "y");
    match_result_done(&res);

    /* An empty document. */
    struct match_doc empty = {0};
    assert_int_equal(match_run(m, &empty, &res), 0);
    assert_int_equal(res.n_hits, 2);
    match_result_done(&res);
    match_free(m);
    match_free(NULL);
}

static void
test_match_errors_name_topic(void **state)
{
    struct match *m = match_new();
    char *err = NULL;
    (void)state;

    assert_int_equal(match_add(m, 0, "osce", "(osce OR ukraine", &err), -EINVAL);
    assert_string_equal(err, "topic \"osce\": expected ')' at column 17");
    free(err);
    err = NULL;
    assert_int_equal(match_add(m, 1, "ok", "ok", &err), 0);
    assert_int_equal(match_build(m), 0);
    assert_int_equal(match_add(m, 2, "late", "late", &err), -EINVAL);
    free(err);
    struct match_doc doc = {.text = "ok osce"};
    struct match_result res;
    assert_int_equal(match_run(m, &doc, &res), 0);
    assert_int_equal(res.n_hits, 1);
    assert_int_equal(res.hits[0].topic, 1);
    match_result_done(&res);
    match_free(m);
}

/* The text with each run of spaces, controls and DEL made one space, none at either end. */
static void
collapse_ref(const char *s, char *out)
{
    size_t k = 0;
    bool space = false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == ' ') {
            space = k > 0;
            continue;
        }
        if (space)
            out[k++] = ' ';
        space = false;
        out[k++] = (char)*p;
    }
    out[k] = '\0';
}

static uint64_t snip_rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
snip_rnd(uint32_t n)
{
    snip_rng ^= snip_rng << 13;
    snip_rng ^= snip_rng >> 7;
    snip_rng ^= snip_rng << 17;
    return (uint32_t)(snip_rng % n);
}

/* Random text of pieces (words, runs of whitespace and controls) with " zq " at a random place. */
static void
snip_text(char *out, size_t max_len)
{
    static const char *const pieces[] = {
        "ab",   "c",        "defghijk",     " ", " ",   " ", "  ", "\n", "\t", " \n ", "\x01",
        "\x7f", "\xc3\xa9", "lmnopqrstuvw", ".", "x y",
    };
    size_t target = 8 + snip_rnd((uint32_t)(max_len - 16)), at = snip_rnd((uint32_t)target);
    size_t k = 0;
    bool placed = false;
    while (k < target) {
        const char *p = pieces[snip_rnd(sizeof(pieces) / sizeof(pieces[0]))];
        if (!placed && k >= at) {
            p = " zq ";
            placed = true;
        }
        size_t n = strlen(p);
        if (k + n + 5 > max_len)
            break;
        memcpy(out + k, p, n);
        k += n;
    }
    if (!placed) {
        memcpy(out + k, " zq ", 4);
        k += 4;
    }
    out[k] = '\0';
}

static void
test_match_snippets_collapse_whitespace(void **state)
{
    char text[512], want[512];
    (void)state;

    struct match *m = match_new();
    char *err = NULL;
    assert_int_equal(match_add(m, 0, "t", "zq", &err), 0);
    assert_int_equal(match_add(m, 1, "u", "zq OR nothing", &err), 0);
    assert_int_equal(match_build(m), 0);
    for (int round = 0; round < 3000; round++) {
        bool whole = round % 2 == 0; /* <= 80 bytes: the snippet is the whole text */
        snip_text(text, whole ? 81 : sizeof(text));
        struct match_doc doc = {.text = text};
        struct match_result res;
        assert_int_equal(match_run(m, &doc, &res), 0);
        assert_int_equal(res.n_hits, 2);
        const char *s = res.hits[0].terms[0].snippet;
        assert_string_equal(res.hits[1].terms[0].snippet, s);
        if (whole) {
            collapse_ref(text, want);
            if (strcmp(s, want) != 0)
                fail_msg("text '%s': snippet '%s', want '%s'", text, s, want);
        } else {
            assert_non_null(strstr(s, "zq"));
            assert_null(strstr(s, "  "));
            for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                assert_true(*p >= 0x20 && *p != 0x7f);
            size_t n = strlen(s);
            const char *core = s, *end = s + n;
            if (n >= 3 && memcmp(s, "\xe2\x80\xa6", 3) == 0)
                core += 3;
            if (end - core >= 3 && memcmp(end - 3, "\xe2\x80\xa6", 3) == 0)
                end -= 3;
            assert_true(end > core);
            assert_true(core[0] != ' ' && end[-1] != ' ');
            assert_true(n <= 160 + 6 + 8);
        }
        match_result_done(&res);
    }
    match_free(m);
}

static void
test_match_snippets_point_at_match(void **state)
{
    char text[4096];
    size_t k = 0;
    (void)state;

    for (int i = 0; i < 40; i++)
        k += (size_t)snprintf(text + k, sizeof(text) - k, "filler%02d\n ", i);
    k += (size_t)snprintf(text + k, sizeof(text) - k, "The OSCE\tmet in Vienna. ");
    for (int i = 40; i < 80; i++)
        k += (size_t)snprintf(text + k, sizeof(text) - k, "filler%02d ", i);

    struct match *m = match_new();
    char *err = NULL;
    assert_int_equal(match_add(m, 0, "t", "osce", &err), 0);
    assert_int_equal(match_build(m), 0);
    struct match_doc doc = {.text = text};
    struct match_result res;
    assert_int_equal(match_run(m, &doc, &res), 0);
    assert_int_equal(res.n_hits, 1);
    const char *s = res.hits[0].terms[0].snippet;
    assert_non_null(strstr(s, "The OSCE met in Vienna."));
    assert_true(strncmp(s, "\xe2\x80\xa6", 3) == 0);
    assert_true(strcmp(s + strlen(s) - 3, "\xe2\x80\xa6") == 0);
    assert_true(strlen(s) <= 160 + 6);
    assert_true(strlen(s) >= 120);
    assert_null(strchr(s, '\n'));
    assert_null(strchr(s, '\t'));
    /* Cut at word boundaries. */
    assert_true(strncmp(s + 3, "filler", 6) == 0);
    match_result_done(&res);

    /* A short text is the whole snippet, without ellipses. */
    doc.text = "OSCE";
    assert_int_equal(match_run(m, &doc, &res), 0);
    assert_string_equal(res.hits[0].terms[0].snippet, "OSCE");
    match_result_done(&res);

    /* Multibyte text is never cut inside a character. */
    char cyr[2048] = "";
    k = 0;
    for (int i = 0; i < 60; i++)
        k += (size_t)snprintf(cyr + k, sizeof(cyr) - k, "ыы");
    k += (size_t)snprintf(cyr + k, sizeof(cyr) - k, " osce ");
    for (int i = 0; i < 60; i++)
        k += (size_t)snprintf(cyr + k, sizeof(cyr) - k, "ыы");
    doc.text = cyr;
    assert_int_equal(match_run(m, &doc, &res), 0);
    s = res.hits[0].terms[0].snippet;
    assert_non_null(strstr(s, " osce "));
    for (size_t i = 3; s[i + 3]; i++)
        assert_true(((unsigned char)s[i] & 0xc0) != 0x80 || (unsigned char)s[i - 1] >= 0x80);
    match_result_done(&res);
    match_free(m);
}

/* ---- naive evaluator: brute force over the token list ---- */

struct ntoken {
    char *norm;
    uint32_t pos, span;
    int field;
};

struct ndoc {
    struct ntoken *t;
    size_t n, cap;
    int field;
};

static int
on_naive_token(const struct normalize_token *tok, void *userdata)
{
    struct ndoc *d = userdata;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->t = realloc(d->t, d->cap * sizeof(*d->t));
        assert_non_null(d->t);
    }
    /* A token's bytes are not NUL-terminated: copy exactly norm_len of them. */
    char *norm = malloc(tok->norm_len + 1);
    assert_non_null(norm);
    memcpy(norm, tok->norm, tok->norm_len);
    norm[tok->norm_len] = '\0';
    d->t[d->n++] = (struct ntoken){norm, tok->pos, tok->span, d->field};
    return 0;
}

static void
ndoc_load(struct ndoc *d, const char *title, const char *text)
{
    memset(d, 0, sizeof(*d));
    d->field = 0;
    if (title)
        assert_int_equal(normalize_tokenize(title, strlen(title), 0, on_naive_token, d, NULL), 0);
    d->field = 1;
    if (text)
        assert_int_equal(normalize_tokenize(text, strlen(text), 0, on_naive_token, d, NULL), 0);
}

static void
ndoc_done(struct ndoc *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->t[i].norm);
    free(d->t);
}

static bool
str_match(const char *tok, const char *want, bool prefix)
{
    return prefix ? strncmp(tok, want, strlen(want)) == 0 : strcmp(tok, want) == 0;
}

/* Does part j.. of unit u occur from position pos in field f? Sets *end. */
static bool
naive_parts(const struct ndoc *d, const struct query_unit *u, size_t j, int f, uint32_t pos,
            uint32_t *end)
{
    for (size_t i = 0; i < d->n; i++) {
        const struct ntoken *t = &d->t[i];
        if (t->field != f || t->pos != pos)
            continue;
        if (!str_match(t->norm, u->parts[j], u->prefix && j + 1 == u->n_parts))
            continue;
        if (j + 1 == u->n_parts) {
            *end = t->pos + t->span;
            return true;
        }
        if (naive_parts(d, u, j + 1, f, t->pos + t->span + 1, end))
            return true;
    }
    return false;
}

/* Does unit u occur starting at pos in field f, ending at *end (any of its ends)? */
static bool
naive_unit_at(const struct ndoc *d, const struct query_unit *u, int f, uint32_t pos,
              uint32_t want_end, bool any_end)
{
    for (size_t i = 0; i < d->n; i++) {
        const struct ntoken *t = &d->t[i];
        if (t->field == f && t->pos == pos && u->joined &&
            str_match(t->norm, u->joined, u->prefix) && (any_end || t->pos + t->span == want_end))
            return true;
    }
    uint32_t end;
    for (size_t i = 0; i < d->n; i++) {
        const struct ntoken *t = &d->t[i];
        if (t->field != f || t->pos != pos ||
            !str_match(t->norm, u->parts[0], u->prefix && u->n_parts == 1))
            continue;
        if (u->n_parts == 1) {
            if (any_end || t->pos + t->span == want_end)
                return true;
            continue;
        }
        if (naive_parts(d, u, 1, f, t->pos + t->span + 1, &end) && (any_end || end == want_end))
            return true;
    }
    return false;
}

/* Exact phrase from unit k at position pos. */
static bool
naive_chain(const struct ndoc *d, const struct query_node *n, size_t k, int f, uint32_t pos)
{
    if (k == n->n_units)
        return true;
    /* Try every end the unit can have at pos. */
    for (size_t i = 0; i < d->n; i++) {
        const struct ntoken *t = &d->t[i];
        if (t->field != f || t->pos < pos || t->pos > pos + 16)
            continue;
        uint32_t end = t->pos + t->span;
        if (naive_unit_at(d, &n->units[k], f, pos, end, false) &&
            naive_chain(d, n, k + 1, f, end + 1))
            return true;
    }
    return false;
}

static bool
naive_leaf(const struct ndoc *d, const struct query_node *n)
{
    for (int f = 0; f < 2; f++) {
        if (n->title_only && f != 0)
            continue;
        for (size_t i = 0; i < d->n; i++) {
            const struct ntoken *t = &d->t[i];
            if (t->field != f)
                continue;
            if (n->op == QUERY_TERM || n->slop < 0) {
                if (naive_chain(d, n, 0, f, t->pos))
                    return true;
                continue;
            }
            /* Proximity: every unit starts within [w, w + slop]. */
            uint32_t w = t->pos;
            bool all = true;
            for (size_t k = 0; k < n->n_units && all; k++) {
                bool found = false;
                for (size_t j = 0; j < d->n && !found; j++) {
                    const struct ntoken *s = &d->t[j];
                    if (s->field == f && s->pos >= w && s->pos <= w + (uint32_t)n->slop &&
                        naive_unit_at(d, &n->units[k], f, s->pos, 0, true))
                        found = true;
                }
                all = found;
            }
            if (all)
                return true;
        }
    }
    return false;
}

static bool
naive_eval(const struct ndoc *d, const struct query_node *n)
{
    switch (n->op) {
    case QUERY_AND:
        for (size_t i = 0; i < n->n_children; i++)
            if (!naive_eval(d, n->children[i]))
                return false;
        return true;
    case QUERY_OR:
        for (size_t i = 0; i < n->n_children; i++)
            if (naive_eval(d, n->children[i]))
                return true;
        return false;
    case QUERY_NOT:
        return !naive_eval(d, n->children[0]);
    default:
        return naive_leaf(d, n);
    }
}

/* ---- generated topics and documents ---- */

static const char *const vocab[] = {
    "ukraine",     "border",   "osce",      "Oekraïne", "grens",       "co-operation",
    "cooperation", "co",       "operation", "biên",     "giới",        "ОБСЕ",
    "обсе",        "Đà",       "Nẵng",      "北京大学", "北京",        "Russia’s",
    "russia",      "talks",    "EU",        "NATO",     "nato-russia", "council",
    "Ucrânia",     "ＯＳＣＥ", "a",         "b",        "vienna",      "ukrainian",
    "borders",     "U.S.",     "e-mail",    "email",    "Ουκρανία",
};
#define N_VOCAB (sizeof(vocab) / sizeof(vocab[0]))
static const char *const prefixes[] = {"ukrain", "bord", "oekra", "coop", "co-op",
                                       "russ",   "nat",  "北京",  "vien", "ema"};
#define N_PREFIXES (sizeof(prefixes) / sizeof(prefixes[0]))

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static size_t
gen_leaf(char *out, size_t cap)
{
    size_t k = 0;
    if (rnd(8) == 0)
        k += (size_t)snprintf(out + k, cap - k, "title:");
    switch (rnd(4)) {
    case 0:
        k += (size_t)snprintf(out + k, cap - k, "%s*", prefixes[rnd(N_PREFIXES)]);
        break;
    case 1: {
        int n = 2 + (int)rnd(2);
        k += (size_t)snprintf(out + k, cap - k, "\"");
        for (int i = 0; i < n; i++)
            k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? " " : "", vocab[rnd(N_VOCAB)]);
        k += (size_t)snprintf(out + k, cap - k, "\"");
        if (rnd(2))
            k += (size_t)snprintf(out + k, cap - k, "~%u", rnd(6));
        break;
    }
    default:
        k += (size_t)snprintf(out + k, cap - k, "%s", vocab[rnd(N_VOCAB)]);
        break;
    }
    return k;
}

static size_t
gen_query(char *out, size_t cap, int depth)
{
    size_t k = 0;
    uint32_t kind = depth > 1 ? 0 : rnd(6);
    switch (kind) {
    case 1: /* AND */
    case 2: /* OR */
        k += (size_t)snprintf(out + k, cap - k, "(");
        k += gen_query(out + k, cap - k, depth + 1);
        k += (size_t)snprintf(out + k, cap - k, kind == 1 ? (rnd(2) ? " AND " : " ") : " OR ");
        k += gen_query(out + k, cap - k, depth + 1);
        k += (size_t)snprintf(out + k, cap - k, ")");
        break;
    case 3:
        k += (size_t)snprintf(out + k, cap - k, rnd(2) ? "NOT " : "-");
        k += gen_query(out + k, cap - k, depth + 1);
        break;
    default:
        k += gen_leaf(out + k, cap - k);
        break;
    }
    return k;
}

static char *
gen_text(uint32_t max_words)
{
    static const char *const seps[] = {" ", " ", " ", ", ", ". ", "\n", " - "};
    char buf[4096];
    size_t k = 0;
    uint32_t n = rnd(max_words + 1);
    for (uint32_t i = 0; i < n; i++)
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%s", i ? seps[rnd(7)] : "",
                              vocab[rnd(N_VOCAB)]);
    buf[k] = '\0';
    return strdup(buf);
}

#define N_TOPICS 1000
#define N_DOCS 60
#define N_ALONE 100

static void
test_match_many_topics_same_as_naive(void **state)
{
    static char queries[N_TOPICS][512];
    struct query *parsed[N_TOPICS];
    struct match *m = match_new();
    struct match *alone[N_ALONE];
    char *err = NULL;
    size_t total_hits = 0, not_only = 0;
    (void)state;

    for (size_t i = 0; i < N_TOPICS; i++) {
        (void)gen_query(queries[i], sizeof(queries[i]), 0);
        if (match_add(m, i, "gen", queries[i], &err) != 0)
            fail_msg("generated query '%s': %s", queries[i], err ? err : "?");
        assert_int_equal(query_parse("gen", queries[i], &parsed[i], &err), 0);
        if (i < N_ALONE) {
            alone[i] = match_new();
            assert_int_equal(match_add(alone[i], i, "gen", queries[i], &err), 0);
            assert_int_equal(match_build(alone[i]), 0);
        }
    }
    assert_int_equal(match_build(m), 0);

    for (size_t d = 0; d < N_DOCS; d++) {
        char *title = gen_text(6);
        char *text = gen_text(60);
        struct match_doc doc = {.title = title, .text = text};
        struct match_result res;
        struct ndoc nd;
        assert_int_equal(match_run(m, &doc, &res), 0);
        ndoc_load(&nd, title, text);
        size_t h = 0;
        for (size_t i = 0; i < N_TOPICS; i++) {
            bool got = h < res.n_hits && res.hits[h].topic == i;
            bool want = naive_eval(&nd, parsed[i]->root);
            if (got != want)
                fail_msg("topic %zu '%s' on title '%s' text '%s': matcher %d, naive %d", i,
                         queries[i], title, text, got, want);
            if (i < N_ALONE) {
                struct match_result one;
                assert_int_equal(match_run(alone[i], &doc, &one), 0);
                assert_int_equal(one.n_hits, got ? 1 : 0);
                if (got)
                    assert_int_equal(one.hits[0].n_terms, res.hits[h].n_terms);
                match_result_done(&one);
            }
            if (got) {
                if (res.hits[h].n_terms == 0)
                    not_only++;
                h++;
            }
        }
        assert_int_equal(h, res.n_hits);
        total_hits += res.n_hits;
        match_result_done(&res);
        ndoc_done(&nd);
        free(title);
        free(text);
    }
    /* The generator must exercise both outcomes. */
    assert_true(total_hits > N_DOCS * 20);
    print_message("%zu hits, %zu without terms\n", total_hits, not_only);
    assert_true(total_hits < N_DOCS * N_TOPICS / 2);
    assert_true(not_only > 0);
    for (size_t i = 0; i < N_TOPICS; i++)
        query_free(parsed[i]);
    for (size_t i = 0; i < N_ALONE; i++)
        match_free(alone[i]);
    match_free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_match_seeds),
        cmocka_unit_test(test_match_not_only_topics),
        cmocka_unit_test(test_match_errors_name_topic),
        cmocka_unit_test(test_match_snippets_point_at_match),
        cmocka_unit_test(test_match_snippets_collapse_whitespace),
        cmocka_unit_test(test_match_many_topics_same_as_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
