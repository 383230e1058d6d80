/* Unit tests for feeds/boilerplate.c: item cleaning and the per-feed repetition model. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "text/boilerplate.h"
#include "text/lang.h"

/* ---- the seeds' annotations (the same checks as test_extract.c) ---- */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed_check.h"

static char *
clean(const char *html, const struct boilerplate_opts *opts, struct boilerplate_model *model)
{
    char *text = NULL;
    assert_int_equal(boilerplate_clean(html, strlen(html), opts, model, &text), 0);
    assert_non_null(text);
    return text;
}

static void
test_boilerplate_seed_items(void **state)
{
    json_t *ann = seed_annotations();
    (void)state;
    for (size_t i = 0; i < sizeof(seed_names) / sizeof(seed_names[0]); i++) {
        const char *name = seed_names[i];
        json_t *entry = json_object_get(ann, name);
        char path[512];
        (void)snprintf(path, sizeof(path), "%s/html/seed-%.3s.item.html", FW_FIXTURES, name);
        char *html = test_read_file(path, NULL);
        struct boilerplate_opts opts = {
            .title = json_string_value(json_object_get(entry, "title")),
        };
        char *text = clean(html, &opts, NULL);
        seed_check_text(ann, name, text);
        /* the language of the cleaned text is the seed's */
        const char *lang = lang_detect(text, strlen(text));
        assert_non_null(lang);
        assert_string_equal(lang, json_string_value(json_object_get(entry, "language")));
        free(text);
        free(html);
    }
    json_decref(ann);
}

static void
test_boilerplate_signals(void **state)
{
    (void)state;
    char *t = clean("<p>The story begins with a long sentence about the council and its vote.</p>"
                    "<p>The post <a href='x'>Council votes</a> appeared first on <a href='y'>"
                    "Daily Example</a>.</p>",
                    NULL, NULL);
    assert_string_equal(t, "The story begins with a long sentence about the council and its vote.");
    free(t);

    t = clean("<p>Short item text that is the whole article, and it stays.</p>"
              "<p><a href='https://example.org/story'>Continue reading</a></p>"
              "<p><a href='https://example.org/story'>Read more &raquo;</a></p>",
              NULL, NULL);
    assert_string_equal(t, "Short item text that is the whole article, and it stays.");
    free(t);

    t = clean("<p>By Jane Doe</p><p>Updated 14:05, 3 March 2024</p>"
              "<p>The river rose overnight and the town prepared for the flood.</p>"
              "<p>\xc2\xa9 2024 Example Media. All rights reserved.</p>"
              "<p>(Reuters)</p>",
              NULL, NULL);
    assert_string_equal(t, "The river rose overnight and the town prepared for the flood.");
    free(t);

    /* a subheading inside the article stays; a heading over a dropped link list goes */
    t = clean("<p>First paragraph of the article, long enough to be a paragraph.</p>"
              "<h2>Gravely concerned</h2><p>Second paragraph of the article text here.</p>"
              "<h3>Related</h3><ul><li><a href='/1'>Other headline one</a></li>"
              "<li><a href='/2'>Other headline two</a></li></ul>",
              NULL, NULL);
    assert_string_equal(t, "First paragraph of the article, long enough to be a paragraph.\n\n"
                           "Gravely concerned\n\nSecond paragraph of the article text here.");
    free(t);
}

static const char footer[] =
    "<p>Our reporting is funded by readers like you; thank you for your support of this site.</p>";

static void
test_boilerplate_repetition(void **state)
{
    struct boilerplate_model *m = boilerplate_model_new();
    struct boilerplate_opts learn = {.learn = true};
    char html[1024], *t;
    (void)state;

    assert_non_null(m);
    /* the footer is kept while the model has not seen it often enough */
    for (int i = 0; i < BOILERPLATE_MIN_REPEATS; i++) {
        (void)snprintf(html, sizeof(html),
                       "<p>Story number %d tells about the weather in town number %d.</p>%s", i,
                       i * 7, footer);
        t = clean(html, &learn, m);
        assert_non_null(strstr(t, "funded by readers"));
        free(t);
    }
    assert_int_equal(boilerplate_model_items(m), BOILERPLATE_MIN_REPEATS);

    /* seen in N items: gone from the next one; the one-off block stays */
    t = clean("<p>A new story about the harbour and the ships that came in today.</p>"
              "<p>A one-off paragraph that no other item of the feed carries.</p>"
              "<p>Our reporting is funded by readers like you; thank you for your support of "
              "this site.</p>",
              &learn, m);
    assert_string_equal(t, "A new story about the harbour and the ships that came in today.\n\n"
                           "A one-off paragraph that no other item of the feed carries.");
    free(t);

    /* an item that is only repeated blocks is kept whole rather than emptied */
    t = clean(footer, NULL, m);
    assert_non_null(strstr(t, "funded by readers"));
    free(t);

    /* save, load, same behaviour */
    char *blob = NULL, *err = NULL;
    size_t len = 0;
    struct boilerplate_model *m2 = NULL;
    assert_int_equal(boilerplate_model_save(m, &blob, &len), 0);
    assert_int_equal(strncmp(blob, "feedwatch-boilerplate 1\n", 24), 0);
    assert_int_equal(boilerplate_model_load(blob, len, &m2, &err), 0);
    assert_int_equal(boilerplate_model_items(m2), boilerplate_model_items(m));
    t = clean("<p>Yet another story, this time about the school and its new library.</p>"
              "<p>Our reporting is funded by readers like you; thank you for your support of "
              "this site.</p>",
              NULL, m2);
    assert_string_equal(t, "Yet another story, this time about the school and its new library.");
    free(t);
    char *blob2 = NULL;
    size_t len2 = 0;
    assert_int_equal(boilerplate_model_save(m2, &blob2, &len2), 0);
    assert_int_equal(len2, len);
    assert_memory_equal(blob, blob2, len);
    free(blob2);
    free(blob);
    boilerplate_model_free(m2);
    boilerplate_model_free(m);
}

static void
test_boilerplate_model_load_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "not a model\n",
        "feedwatch-boilerplate 1\n",
        "feedwatch-boilerplate 1\nitems x\n",
        "feedwatch-boilerplate 1\nitems 3\nzzzzzzzzzzzzzzzz 1 1\n",
        "feedwatch-boilerplate 1\nitems 3\n00000000000000ff 4 1\n",
        "feedwatch-boilerplate 1\nitems 3\n00000000000000ff 1 1\n00000000000000aa 1 1\n",
        "feedwatch-boilerplate 1\nitems 3\n00000000000000ff 1 99999999999\n",
        "feedwatch-boilerplate 1\nitems 3\n00000000000000ff 1 1 trailing\n",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct boilerplate_model *m = NULL;
        char *err = NULL;
        int r = boilerplate_model_load(bad[i], strlen(bad[i]), &m, &err);
        if (r != -EPROTO)
            fail_msg("case %zu: got %d", i, r);
        assert_null(m);
        assert_non_null(err);
        free(err);
    }
    struct boilerplate_model *m = NULL;
    static const char good[] = "feedwatch-boilerplate 1\nitems 3\n00000000000000aa 2 3\n";
    assert_int_equal(boilerplate_model_load(good, sizeof(good) - 1, &m, NULL), 0);
    assert_int_equal(boilerplate_model_items(m), 3);
    boilerplate_model_free(m);
}

static void
test_boilerplate_model_capped(void **state)
{
    struct boilerplate_model *m = boilerplate_model_new();
    struct boilerplate_opts learn = {.learn = true};
    char html[256], *t, *blob = NULL;
    size_t len;
    (void)state;

    for (int i = 0; i < BOILERPLATE_MODEL_MAX + 500; i++) {
        (void)snprintf(html, sizeof(html), "<p>Unique paragraph %x%x about nothing.</p>%s",
                       i * 7919, i, footer);
        t = clean(html, &learn, m);
        free(t);
    }
    assert_int_equal(boilerplate_model_save(m, &blob, &len), 0);
    assert_true(len < BOILERPLATE_BLOB_MAX);
    free(blob);
    /* the recurring footer survived eviction */
    t = clean("<p>Final story about the bridge and the traffic in the morning.</p>"
              "<p>Our reporting is funded by readers like you; thank you for your support of "
              "this site.</p>",
              NULL, m);
    assert_string_equal(t, "Final story about the bridge and the traffic in the morning.");
    free(t);
    boilerplate_model_free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boilerplate_seed_items),
        cmocka_unit_test(test_boilerplate_signals),
        cmocka_unit_test(test_boilerplate_repetition),
        cmocka_unit_test(test_boilerplate_model_load_rejects),
        cmocka_unit_test(test_boilerplate_model_capped),
    };
    xmlInitParser();
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return r;
}
