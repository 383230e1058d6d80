/* Unit tests for feeds/content.c: the content stage of one poll's new items. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "text/content.h"
#include "parse/date.h"

/* A block no phrase list knows: only its repetition can tell it is not the article. */
#define PROMO "Readers in Vienna and Brussels follow this story with our team of correspondents."

/* Article paragraphs, distinct per item, long enough to be article by every signal. */
static const char *const paragraphs[] = {
    "The foreign ministers met in Vienna on Tuesday and agreed to continue the talks about "
    "security in Europe, said a spokesman of the organisation after the meeting.",
    "Troops along the border were pulled back by several kilometres, according to satellite "
    "images that were published by an independent research group on Wednesday.",
    "The parliament voted on the new budget late in the evening, after a debate that lasted "
    "for more than eleven hours and ended with a narrow majority for the government.",
    "Farmers in the south of the country have asked for help after the worst drought in "
    "forty years destroyed most of the harvest and dried up several rivers.",
    "The central bank kept its interest rate unchanged and said that inflation is expected to "
    "fall slowly over the coming months, but warned that the risks remain high.",
    "A new railway line between the two largest cities was opened on Sunday, cutting the "
    "journey time by almost an hour, and the first trains were full of passengers.",
};
#define N_PARAGRAPHS (sizeof(paragraphs) / sizeof(paragraphs[0]))

/* An item whose summary is its paragraph, with the promo block after it when asked. */
static void
make_item(struct feed_item *item, size_t i, bool promo)
{
    char html[1024];
    memset(item, 0, sizeof(*item));
    snprintf(html, sizeof(html), "<p>%s</p>%s", paragraphs[i],
             promo ? "<div class=\"box\"><p>" PROMO "</p></div>" : "");
    item->key = strdup("k");
    item->summary = strdup(html);
    item->published_at = FEED_TIME_NONE;
    item->updated_at = FEED_TIME_NONE;
    assert_non_null(item->key);
    assert_non_null(item->summary);
}

static void
items_done(struct feed_item *items, struct content_item *ci, size_t n)
{
    content_items_done(ci, n);
    for (size_t i = 0; i < n; i++)
        feed_item_done(&items[i]);
}

static void
test_content_first_poll_learns_repeats_at_once(void **state)
{
    struct feed_item items[5];
    struct content_item ci[5] = {0};
    struct boilerplate_model *model = boilerplate_model_new();
    (void)state;
    assert_non_null(model);
    for (size_t i = 0; i < 5; i++) {
        make_item(&items[i], i, true);
        ci[i].item = &items[i];
    }
    assert_int_equal(content_clean_items(ci, 5, model), 0);
    /* Even the newest item loses the promo: four other items of the poll carry it. */
    for (size_t i = 0; i < 5; i++) {
        assert_non_null(ci[i].text);
        assert_null(strstr(ci[i].text, "Readers in Vienna"));
        assert_non_null(strstr(ci[i].text, paragraphs[i]));
        assert_int_not_equal(ci[i].simhash, 0);
        assert_false(ci[i].from_page);
    }
    assert_int_equal(boilerplate_model_items(model), 5);
    items_done(items, ci, 5);

    /* Saved and loaded, the model removes it from a later poll's single item. */
    char *blob = NULL;
    size_t len = 0;
    assert_int_equal(boilerplate_model_save(model, &blob, &len), 0);
    boilerplate_model_free(model);
    char *why = NULL;
    assert_int_equal(boilerplate_model_load(blob, len, &model, &why), 0);
    free(blob);
    make_item(&items[0], 5, true);
    ci[0].item = &items[0];
    assert_int_equal(content_clean_items(ci, 1, model), 0);
    assert_non_null(ci[0].text);
    assert_null(strstr(ci[0].text, "Readers in Vienna"));
    assert_non_null(strstr(ci[0].text, paragraphs[5]));
    items_done(items, ci, 1);
    boilerplate_model_free(model);
}

static void
test_content_block_in_few_items_is_kept(void **state)
{
    struct feed_item items[3];
    struct content_item ci[3] = {0};
    struct boilerplate_model *model = boilerplate_model_new();
    (void)state;
    /* Three items share a block: each has only two others beside it, fewer than needed. */
    for (size_t i = 0; i < 3; i++) {
        make_item(&items[i], i, true);
        ci[i].item = &items[i];
    }
    assert_int_equal(content_clean_items(ci, 3, model), 0);
    for (size_t i = 0; i < 3; i++)
        assert_non_null(strstr(ci[i].text, "Readers in Vienna"));
    items_done(items, ci, 3);
    boilerplate_model_free(model);
}

static void
test_content_language_and_missing_markup(void **state)
{
    struct feed_item items[3];
    struct content_item ci[3] = {0};
    (void)state;
    memset(items, 0, sizeof(items));
    for (size_t i = 0; i < 3; i++) {
        items[i].published_at = items[i].updated_at = FEED_TIME_NONE;
        ci[i].item = &items[i];
    }
    items[0].content = strdup("<p>De ministers van Buitenlandse Zaken hebben dinsdag in Wenen "
                              "afgesproken dat de gesprekken over de veiligheid in Europa "
                              "worden voortgezet, zei een woordvoerder na afloop.</p>");
    items[1].summary = strdup("<p>The ministers met in Vienna and agreed to go on with the "
                              "talks about the security of Europe, a spokesman said.</p>");
    items[1].language = strdup("en-GB");
    /* items[2] has no markup at all */
    assert_int_equal(content_clean_items(ci, 3, NULL), 0);
    assert_string_equal(items[0].language, "nl");
    assert_string_equal(items[1].language, "en-GB"); /* the feed's word stands */
    assert_null(ci[2].text);
    assert_int_equal(ci[2].simhash, 0);
    assert_null(items[2].language);
    items_done(items, ci, 3);
}

static void
test_content_article_replaces_a_teaser(void **state)
{
    struct feed_item item;
    struct content_item ci = {.item = &item};
    (void)state;
    memset(&item, 0, sizeof(item));
    item.key = strdup("k");
    item.summary = strdup("<p>Ministers met in Vienna.</p>");
    item.published_at = item.updated_at = FEED_TIME_NONE;
    assert_int_equal(content_clean_items(&ci, 1, NULL), 0);
    assert_string_equal(ci.text, "Ministers met in Vienna.");
    uint64_t teaser_hash = ci.simhash;

    char full[1024];
    snprintf(full, sizeof(full), "%s\n\n%s", paragraphs[0], paragraphs[1]);
    struct article art = {
        .title = "Talks go on in Vienna",
        .author = "A. Writer",
        .published = "2022-02-09T21:49:00Z",
        .language = "en",
        .text = full,
    };
    assert_int_equal(content_apply_article(&ci, &art), 0);
    assert_string_equal(ci.text, full);
    assert_true(ci.from_page);
    assert_int_not_equal(ci.simhash, teaser_hash);
    assert_string_equal(item.title, "Talks go on in Vienna");
    assert_string_equal(item.author, "A. Writer");
    assert_string_equal(item.language, "en");
    int64_t at;
    assert_int_equal(date_parse("2022-02-09T21:49:00Z", &at), 0);
    assert_int_equal(item.published_at, at);

    /* A page with less text than the item keeps the item's text and its own metadata. */
    struct article thin = {.title = "Other", .published = "2023-01-01T00:00:00Z", .text = "Hi."};
    assert_int_equal(content_apply_article(&ci, &thin), 0);
    assert_string_equal(ci.text, full);
    assert_string_equal(item.title, "Talks go on in Vienna");
    assert_int_equal(item.published_at, at);
    content_items_done(&ci, 1);
    feed_item_done(&item);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_first_poll_learns_repeats_at_once),
        cmocka_unit_test(test_content_block_in_few_items_is_kept),
        cmocka_unit_test(test_content_language_and_missing_markup),
        cmocka_unit_test(test_content_article_replaces_a_teaser),
    };
    xmlInitParser();
    int r = cmocka_run_group_tests_name("content", tests, NULL, NULL);
    xmlCleanupParser();
    return r;
}
