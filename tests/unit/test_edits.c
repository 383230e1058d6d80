/*
 * Unit tests for feeds/text/edits.c: what is a material edit of an item (whitespace, case,
 * Unicode form, tracking parameters, a headline rewrite, sentences added and removed), the
 * diff's shape and bounds, and hostile input (huge texts, many sentences).
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
#include <jansson.h>

#include "base/hash.h"
#include "text/edits.h"

/* edits_compare's result, and its diff parsed (NULL when not material). */
static int
compare(const char *tb, const char *xb, const char *ta, const char *xa, json_t **ret)
{
    char *changes = NULL;
    int r = edits_compare(tb, xb, ta, xa, &changes);
    *ret = NULL;
    if (r == 1) {
        assert_non_null(changes);
        *ret = json_loads(changes, 0, NULL);
        assert_non_null(*ret);
        assert_true(json_is_array(*ret));
    } else {
        assert_null(changes);
    }
    free(changes);
    return r;
}

/* The change of field in changes, or NULL. */
static json_t *
change_of(json_t *changes, const char *field)
{
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c) if (strcmp(json_string_value(json_object_get(c, "field")),
                                                 field) == 0) return c;
    return NULL;
}

static void
test_edits_not_material(void **state)
{
    (void)state;
    json_t *c;
    const char *text = "Talks were planned for Monday. Both sides said so.";
    /* The same, to the byte. */
    assert_int_equal(compare("Talks planned", text, "Talks planned", text, &c), 0);
    /* Whitespace only: spaces doubled, lines broken, trailing blanks. */
    assert_int_equal(compare("Talks  planned ", text, " Talks planned",
                             "Talks were  planned\tfor Monday.   Both sides said so.\n\n", &c),
                     0);
    /* Case and Unicode form: full-width letters, a decomposed accent, ligature. */
    assert_int_equal(compare("Café talks", "Ｔalks at the café.", "CAFE\xcc\x81 TALKS",
                             "talks at the cafe\xcc\x81.", &c),
                     0);
    /* Tracking parameters in a link written in the text; the other parameters stay compared. */
    assert_int_equal(compare("T", "Read https://example.org/a?id=7&utm_source=rss more.", "T",
                             "Read https://example.org/a?utm_medium=x&id=7&fbclid=abc more.", &c),
                     0);
    assert_int_equal(compare("T", "See https://example.org/a?gclid=1#top now.", "T",
                             "See https://example.org/a#top now.", &c),
                     0);
    assert_int_equal(compare("T", "See https://example.org/a?id=7 now.", "T",
                             "See https://example.org/a?id=8 now.", &c),
                     1);
    json_decref(c);
    /* Sentences that only moved. */
    assert_int_equal(
        compare("T", "One is here. Two is there.", "T", "Two is there. One is here.", &c), 0);
    /* NULL and "" are the same. */
    assert_int_equal(compare(NULL, NULL, "", "", &c), 0);
}

static void
test_edits_title_rewrite(void **state)
{
    (void)state;
    json_t *c;
    const char *text = "The talks in Geneva were due on Monday.";
    assert_int_equal(compare("Ceasefire talks planned", text, "Ceasefire talks collapse", text, &c),
                     1);
    assert_int_equal(json_array_size(c), 1);
    json_t *t = change_of(c, "title");
    assert_non_null(t);
    assert_string_equal(json_string_value(json_object_get(t, "before")), "Ceasefire talks planned");
    assert_string_equal(json_string_value(json_object_get(t, "after")), "Ceasefire talks collapse");
    assert_null(change_of(c, "text"));
    json_decref(c);
}

static void
test_edits_sentences_added_removed(void **state)
{
    (void)state;
    json_t *c;
    assert_int_equal(compare("T", "Talks began in Geneva. The envoy was hopeful. A deal was close.",
                             "T",
                             "Talks began in Geneva. A deal was close! The envoy walked out.\n"
                             "Officials declined to comment.",
                             &c),
                     1);
    json_t *x = change_of(c, "text");
    assert_non_null(x);
    assert_null(change_of(c, "title"));
    json_t *before = json_object_get(x, "before"), *after = json_object_get(x, "after");
    assert_int_equal(json_array_size(before), 1);
    assert_string_equal(json_string_value(json_array_get(before, 0)), "The envoy was hopeful.");
    /* "A deal was close!" has the same words as "A deal was close.": not an edit. */
    assert_int_equal(json_array_size(after), 2);
    assert_string_equal(json_string_value(json_array_get(after, 0)), "The envoy walked out.");
    assert_string_equal(json_string_value(json_array_get(after, 1)),
                        "Officials declined to comment.");
    assert_int_equal(json_integer_value(json_object_get(x, "removed")), 1);
    assert_int_equal(json_integer_value(json_object_get(x, "added")), 2);
    json_decref(c);

    /* A sentence said twice, then once: one removed. */
    assert_int_equal(compare("T", "Yes indeed. Yes indeed. No.", "T", "Yes indeed. No.", &c), 1);
    x = change_of(c, "text");
    assert_int_equal(json_integer_value(json_object_get(x, "removed")), 1);
    assert_int_equal(json_integer_value(json_object_get(x, "added")), 0);
    json_decref(c);

    /* A number changed inside a sentence is an edit ("1.5" -> "15"). */
    assert_int_equal(compare("T", "Growth was 1.5 percent.", "T", "Growth was 15 percent.", &c), 1);
    json_decref(c);
}

static void
test_edits_sentences_split(void **state)
{
    (void)state;
    const char *t = "  First one. Second?Still second! \"Quoted.\" Third…  Fourth\n\nFifth。第六 ";
    struct edits_span *v;
    size_t n;
    assert_int_equal(edits_sentences(t, strlen(t), &v, &n), 0);
    const char *want[] = {
        "First one.", "Second?Still second!", "\"Quoted.\"", "Third…", "Fourth", "Fifth。", "第六"};
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].len, strlen(want[i]));
        assert_memory_equal(t + v[i].off, want[i], v[i].len);
    }
    free(v);
    assert_int_equal(edits_sentences("   \n ", 5, &v, &n), 0);
    assert_int_equal(n, 0);
    assert_null(v);
}

static void
test_edits_tracking(void **state)
{
    (void)state;
    assert_true(edits_is_tracking("utm_source", 10));
    assert_true(edits_is_tracking("UTM_Campaign", 12));
    assert_true(edits_is_tracking("fbclid", 6));
    assert_true(edits_is_tracking("gclid", 5));
    assert_false(edits_is_tracking("id", 2));
    assert_false(edits_is_tracking("utm", 3));
    assert_false(edits_is_tracking("fbclidx", 7));
    const char *in = "a http://x.org/p?utm_source=a&k=1&fbclid=2#f b https://y.org/?gclid=1 c"
                     " https://z.org/q?utm_x";
    char *out = edits_strip_tracking(in, strlen(in));
    assert_string_equal(out, "a http://x.org/p?k=1#f b https://y.org/ c https://z.org/q");
    free(out);
}

static void
test_edits_fingerprint(void **state)
{
    (void)state;
    uint64_t a = hash_item_fields("t", "s", NULL);
    assert_true(a != 0);
    assert_true(a == hash_item_fields("t", "s", NULL));
    assert_true(a != hash_item_fields("t", "s ", NULL));
    assert_true(a != hash_item_fields("t", NULL, "s"));
    assert_true(hash_item_fields("ab", "", NULL) != hash_item_fields("a", "b", NULL));
    assert_true(hash_item_fields(NULL, NULL, NULL) != 0);
}

static void
test_edits_feed_text(void **state)
{
    (void)state;
    char *t;
    assert_int_equal(edits_feed_text("<p>summary</p>", "<p>The <b>content</b>.</p>", &t), 0);
    assert_string_equal(t, "The content.");
    free(t);
    assert_int_equal(
        edits_feed_text("<p>summary <a href=\"https://x/?utm_source=1\">x</a></p>", NULL, &t), 0);
    assert_string_equal(t, "summary x");
    free(t);
    assert_int_equal(edits_feed_text(NULL, NULL, &t), 0);
    assert_string_equal(t, "");
    free(t);
    /* Only the first EDITS_MAX_HTML bytes of an item's HTML become text. */
    size_t big = 3 * EDITS_MAX_HTML;
    char *html = malloc(big + 1);
    assert_non_null(html);
    memset(html, 'a', big);
    memcpy(html, "<p>", 3);
    memcpy(html + big - 5, "END</", 5);
    html[big] = '\0';
    assert_int_equal(edits_feed_text(NULL, html, &t), 0);
    assert_true(strlen(t) <= EDITS_MAX_HTML);
    assert_null(strstr(t, "END"));
    free(t);
    free(html);
}

/* A text of n sentences "Sentence number I is here." from first. */
static char *
many_sentences(size_t first, size_t n)
{
    char *s = malloc(n * 40 + 1), *p = s;
    assert_non_null(s);
    for (size_t i = first; i < first + n; i++)
        p += sprintf(p, "Sentence number %zu is here. ", i);
    *p = '\0';
    return s;
}

static void
test_edits_bounds(void **state)
{
    (void)state;
    json_t *c;
    /* 100 sentences replaced by 100 others: 20 listed each side, all counted. */
    char *a = many_sentences(0, 100), *b = many_sentences(1000, 100);
    assert_int_equal(compare("T", a, "T", b, &c), 1);
    json_t *x = change_of(c, "text");
    assert_int_equal(json_array_size(json_object_get(x, "before")), EDITS_MAX_LISTED);
    assert_int_equal(json_array_size(json_object_get(x, "after")), EDITS_MAX_LISTED);
    assert_int_equal(json_integer_value(json_object_get(x, "removed")), 100);
    assert_int_equal(json_integer_value(json_object_get(x, "added")), 100);
    json_decref(c);
    free(a);
    free(b);

    /* Many sentences: split at most EDITS_MAX_SENTENCES; an edit past them is still seen. */
    a = malloc(10000 * 16 + 1);
    assert_non_null(a);
    char *p = a;
    for (unsigned i = 0; i < 10000; i++)
        p += sprintf(p, "N%u is here. ", i); /* 10,000 sentences, 138,890 bytes */
    assert_true(strlen(a) < EDITS_MAX_TEXT);
    b = strdup(a);
    assert_non_null(b);
    b[strlen(b) - 5] = 'X'; /* "is hXre." of the last sentence */
    struct edits_span *v;
    size_t n;
    assert_int_equal(edits_sentences(a, strlen(a), &v, &n), 0);
    assert_int_equal(n, EDITS_MAX_SENTENCES);
    free(v);
    assert_int_equal(compare("T", a, "T", b, &c), 1);
    x = change_of(c, "text");
    assert_int_equal(json_integer_value(json_object_get(x, "removed")), 1);
    assert_int_equal(json_integer_value(json_object_get(x, "added")), 1);
    /* The rest of the text is one piece, cut in the diff. */
    assert_true(strlen(json_string_value(json_array_get(json_object_get(x, "after"), 0))) <=
                EDITS_MAX_SENTENCE);
    json_decref(c);
    free(a);
    free(b);

    /* A huge title and a huge sentence without a break (4 MiB): compared to EDITS_MAX_TEXT,
     * listed cut. */
    size_t big = 4u << 20;
    a = malloc(big + 1);
    b = malloc(big + 1);
    assert_non_null(a);
    assert_non_null(b);
    for (size_t i = 0; i < big; i++)
        a[i] = b[i] = (i % 7 == 6) ? ' ' : 'w';
    a[big] = b[big] = '\0';
    b[10] = 'z';
    assert_int_equal(compare(a, a, b, b, &c), 1);
    json_t *t = change_of(c, "title");
    assert_true(strlen(json_string_value(json_object_get(t, "before"))) <= EDITS_MAX_SENTENCE);
    char *dump = json_dumps(c, JSON_COMPACT);
    assert_true(strlen(dump) < 8 * EDITS_MAX_SENTENCE);
    free(dump);
    json_decref(c);
    /* Past EDITS_MAX_TEXT, the text is not compared (the fingerprint still sees it). */
    b[10] = 'w';
    b[big - 10] = 'z';
    assert_int_equal(compare("T", a, "T", b, &c), 0);
    free(a);
    free(b);

    /* Invalid UTF-8 is no trouble: listed up to its first invalid byte. */
    assert_int_equal(
        compare("\xff\xfe", "\xc3 bad. \xe2\x80", "\xff\xfe", "\xc3 bad. \xe2\x80", &c), 0);
    assert_int_equal(
        compare("ok \xff title", "Fine. Good \xc3", "ok \xfe titles", "Fine. New \xc3", &c), 1);
    t = change_of(c, "title");
    assert_string_equal(json_string_value(json_object_get(t, "before")), "ok ");
    x = change_of(c, "text");
    assert_string_equal(json_string_value(json_array_get(json_object_get(x, "before"), 0)),
                        "Good ");
    json_decref(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edits_not_material),
        cmocka_unit_test(test_edits_title_rewrite),
        cmocka_unit_test(test_edits_sentences_added_removed),
        cmocka_unit_test(test_edits_sentences_split),
        cmocka_unit_test(test_edits_tracking),
        cmocka_unit_test(test_edits_fingerprint),
        cmocka_unit_test(test_edits_feed_text),
        cmocka_unit_test(test_edits_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
