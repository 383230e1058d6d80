/* Unit tests for feeds/article.c: main-text extraction and metadata of web pages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "text/article.h"
#include "text/html.h"

/* ---- the seeds' annotations (the same checks as test_boilerplate.c) ---- */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed_check.h"

static struct article *
extract(const char *html)
{
    struct article *a = NULL;
    assert_int_equal(article_extract(html, strlen(html), NULL, &a), 0);
    assert_non_null(a);
    assert_non_null(a->text);
    return a;
}

static void
test_extract_seed_pages(void **state)
{
    json_t *ann = seed_annotations();
    (void)state;
    for (size_t i = 0; i < sizeof(seed_names) / sizeof(seed_names[0]); i++) {
        const char *name = seed_names[i];
        json_t *entry = json_object_get(ann, name);
        const char *title = json_string_value(json_object_get(entry, "title"));
        char path[512];
        size_t len;
        (void)snprintf(path, sizeof(path), "%s/html/seed-%.3s.page.html", FW_FIXTURES, name);
        char *html = test_read_file(path, &len);
        assert_true(article_is_page(html, len));
        struct article *a = extract(html);
        seed_check_text(ann, name, a->text);
        /* page chrome is gone too */
        assert_null(strstr(a->text, "Most read"));
        assert_null(strstr(a->text, "All rights reserved"));
        assert_null(strstr(a->text, "Privacy"));
        assert_null(strstr(a->text, "Facebook"));
        assert_null(strstr(a->text, "not text"));
        if (title)
            assert_string_equal(a->title, title);
        assert_string_equal(a->language, json_string_value(json_object_get(entry, "language")));
        assert_string_equal(a->author, "Staff reporter");
        assert_string_equal(a->published, "2022-02-09T21:49:00Z");
        article_free(a);
        free(html);
    }
    json_decref(ann);
}

static const char body_text[] =
    "<p>The council met on Tuesday evening to discuss the new budget, which includes money "
    "for schools, roads and the library.</p>"
    "<p>After three hours of debate, the members voted to approve the plan, although two of "
    "them said the cuts to the parks service went too far.</p>"
    "<p>The mayor said she was pleased with the result, and that work on the roads would "
    "start in the spring, weather permitting.</p>";

static void
test_extract_metadata_sources(void **state)
{
    char html[4096];
    struct article *a;
    (void)state;

    /* JSON-LD in a @graph, several authors, <title> with the site name */
    (void)snprintf(html, sizeof(html),
                   "<!doctype html><html><head><title>Council approves the budget | Town "
                   "News</title><script type='application/ld+json'>{\"@graph\": [{\"@type\": "
                   "\"WebSite\", \"name\": \"Town News\"}, {\"@type\": [\"NewsArticle\"], "
                   "\"headline\": \"Council approves budget\", \"datePublished\": "
                   "\"2024-03-05T18:30:00+01:00\", \"author\": [{\"name\": \"Ann Lee\"}, "
                   "{\"name\": \"Bo Chen\"}], \"inLanguage\": \"en-GB\"}]}</script></head>"
                   "<body><article>%s</article></body></html>",
                   body_text);
    a = extract(html);
    assert_string_equal(a->title, "Council approves budget");
    assert_string_equal(a->author, "Ann Lee, Bo Chen");
    assert_string_equal(a->published, "2024-03-05T17:30:00Z");
    assert_string_equal(a->language, "en");
    assert_non_null(strstr(a->text, "voted to approve the plan"));
    article_free(a);

    /* only <title>, <time datetime>, rel=author, no lang: the language is detected */
    (void)snprintf(html, sizeof(html),
                   "<html><head><title>Council approves the budget - Town News</title></head>"
                   "<body><div class='byline'>By <a rel='author' href='/ann'>Ann Lee</a>, "
                   "<time datetime='2024-03-05'>March 5</time></div><div class='story'>%s"
                   "</div></body></html>",
                   body_text);
    a = extract(html);
    assert_string_equal(a->title, "Council approves the budget");
    assert_string_equal(a->author, "Ann Lee");
    assert_string_equal(a->published, "2024-03-05T00:00:00Z");
    assert_string_equal(a->language, "en");
    assert_null(strstr(a->text, "Ann Lee"));
    article_free(a);

    /* broken JSON-LD and an empty page do not fail */
    a = extract("<html><head><script type='application/ld+json'>{\"@type\": </script></head>"
                "<body></body></html>");
    assert_string_equal(a->text, "");
    assert_null(a->title);
    assert_null(a->published);
    article_free(a);
}

static void
test_extract_picks_article_over_chrome(void **state)
{
    char html[8192];
    struct article *a;
    (void)state;

    (void)snprintf(html, sizeof(html),
                   "<html lang='en'><body><div id='header'><ul class='menu'><li><a href='/'>Home"
                   "</a></li><li><a href='/news'>News</a></li></ul></div>"
                   "<div class='layout'><div class='sidebar'><h3>Popular</h3><ul>"
                   "<li><a href='/1'>A popular story, with a long headline, about things</a>"
                   "</li><li><a href='/2'>Another popular story, about other things</a></li>"
                   "</ul></div><div class='main-column'><h1>Council approves budget</h1>"
                   "<div class='social-share'><a href='fb'>Share on Facebook</a></div>%s"
                   "<div class='related-links'><h4>Related</h4><ul><li><a href='/3'>Roads "
                   "to be repaired, council says</a></li><li><a href='/4'>Library opening "
                   "hours extended</a></li></ul></div></div></div>"
                   "<div id='footer'>Copyright 2024 Town News. All rights reserved.</div>"
                   "</body></html>",
                   body_text);
    a = extract(html);
    assert_non_null(strstr(a->text, "The council met on Tuesday evening"));
    assert_non_null(strstr(a->text, "weather permitting."));
    assert_null(strstr(a->text, "popular story"));
    assert_null(strstr(a->text, "Share on Facebook"));
    assert_null(strstr(a->text, "Library opening"));
    assert_null(strstr(a->text, "Related"));
    assert_null(strstr(a->text, "Copyright"));
    assert_null(strstr(a->text, "Home"));
    assert_string_equal(a->title, "Council approves budget");
    article_free(a);
}

static void
test_extract_encoding(void **state)
{
    /* windows-1252 declared in <meta>: é is one byte 0xE9 */
    static const char latin[] =
        "<html><head><meta http-equiv='Content-Type' content='text/html; charset=windows-1252'>"
        "</head><body><p>Le caf\xe9 de la gare a rouvert ses portes, et les habitu\xe9s sont "
        "revenus d\xe8s le premier jour, avec le sourire.</p></body></html>";
    struct article *a = NULL;
    (void)state;
    assert_int_equal(article_extract(latin, sizeof(latin) - 1, NULL, &a), 0);
    assert_non_null(strstr(a->text, "Le café de la gare"));
    assert_string_equal(a->language, "fr");
    article_free(a);

    /* UTF-8 bytes under a stale Latin-1 <meta> stay UTF-8 */
    static const char stale[] =
        "<html><head><meta charset='iso-8859-1'></head><body><p>Le café de la gare a rouvert "
        "ses portes, et les habitués sont revenus dès le premier jour.</p></body></html>";
    assert_int_equal(article_extract(stale, sizeof(stale) - 1, NULL, &a), 0);
    assert_non_null(strstr(a->text, "Le café de la gare"));
    article_free(a);
}

static const char more_text[] =
    "<p>Residents who spoke at the meeting asked for more street lights near the station, and "
    "the council promised a report by the end of the year.</p>"
    "<p>The budget will be published on the town's website next week, together with the "
    "minutes of the meeting and the results of the vote.</p>";

static const char long_text[] =
    "<p>Several members argued that the cuts to the parks service would cost more in the long "
    "run, because neglected paths and benches are dearer to repair than to maintain, and "
    "because the volunteers who help the gardeners would leave if the service shrank.</p>"
    "<p>The finance officer replied that the parks budget had grown faster than any other in "
    "the last five years, that the savings were small, and that a review in the autumn would "
    "show whether the service could keep its standards with the money it has left.</p>"
    "<p>In the end the amendment to restore the parks money failed by one vote, and the chair "
    "thanked the members, the staff and the public for a debate she called long but civil, "
    "before closing the meeting a little after eleven o'clock.</p>";

static void
test_extract_regressions(void **state)
{
    char html[8192];
    struct article *a;
    (void)state;

    /*
     * The whole page sits in a box whose class alone says "header": its prose stays, and a
     * long notice elsewhere on the page is not taken for the article.
     */
    (void)snprintf(html, sizeof(html),
                   "<html><body><div class='top'><div class='site-nav menu'><a href='/'>Home"
                   "</a> <a href='/news'>News</a></div><div class='layer'><div class='overlay-box'>"
                   "<p>This site and "
                   "its partners would like to store data about your visit, such as the pages "
                   "you read, the device you use, and the ads you see, in order to measure "
                   "the audience, to show offers that suit you, and to improve the service; "
                   "you can change your choices at any time from the settings page, and you "
                   "can also refuse, in which case only the data needed for the site to work "
                   "will be kept, as the law requires, for thirteen months at most.</p><p>Our "
                   "partners may also use the data, with your consent, to build a profile of "
                   "your interests, to measure how well their campaigns work, and to develop "
                   "new products; a full list of them, with their addresses, is shown in the "
                   "second tab of this window.</p></div>"
                   "</div></div><div class='row site_header'><article>"
                   "<div class='article-body'>%s%s%s</div></article></div>"
                   "<div class='share-tools'><a href='/s'>Facebook</a></div></body></html>",
                   body_text, more_text, long_text);
    a = extract(html);
    assert_non_null(strstr(a->text, "voted to approve the plan"));
    assert_non_null(strstr(a->text, "more street lights"));
    assert_null(strstr(a->text, "partners would like to store data"));
    assert_null(strstr(a->text, "Facebook"));
    assert_null(strstr(a->text, "Home"));
    article_free(a);

    /* a post wrapper listing its taxonomy (category-newsletter, tag-social): short
       paragraphs inside are not a newsletter box */
    (void)snprintf(html, sizeof(html),
                   "<html><body><article class='post-12 post type-post status-publish hentry "
                   "category-newsletter tag-social'><div class='entry-content'>"
                   "<p>Ticket prices rise by twelve per cent in January.</p>%s%s</div>"
                   "</article></body></html>",
                   body_text, more_text);
    a = extract(html);
    assert_non_null(strstr(a->text, "Ticket prices rise by twelve per cent in January."));
    assert_non_null(strstr(a->text, "voted to approve the plan"));
    article_free(a);

    /* the description names the standfirst above the article body: it leads the text */
    (void)snprintf(html, sizeof(html),
                   "<html><head><meta name='description' content='The town council approved "
                   "its budget for next year after a long debate on Tuesday.'></head><body>"
                   "<div class='top'><h1>Budget approved</h1><p class='standfirst'>The town "
                   "council approved its budget for next year after a long debate on Tuesday."
                   "</p></div><div class='related'><a href='/a'>Other news today</a></div>"
                   "<div class='story-body'>%s%s</div></body></html>",
                   body_text, more_text);
    a = extract(html);
    assert_true(strncmp(a->text, "The town council approved its budget", 36) == 0);
    assert_non_null(strstr(a->text, "voted to approve the plan"));
    assert_null(strstr(a->text, "Other news"));
    article_free(a);

    /* a post written as list items, with a short link list in the sidebar */
    (void)snprintf(html, sizeof(html),
                   "<html><body><div class='entry-content'><h2>Highlights</h2><ul>"
                   "<li>We landed the new updater, which stops an update while another "
                   "instance of the browser is running, so the restart page is gone.</li>"
                   "<li>Users who run several profiles at once will see fewer prompts, and the "
                   "ones they see will explain what to do next.</li>"
                   "<li>The download panel now shows the speed of each file, and it remembers "
                   "where you saved the last one, which testers had asked for.</li>"
                   "<li>Screenshots can be copied to the clipboard in one step, without saving "
                   "them to disk first, on every platform we support.</li>"
                   "<li>Thanks to all the volunteers who fixed bugs this week, especially the "
                   "ones who fixed the oldest open bug in the tracker.</li></ul></div>"
                   "<div class='widget'><ul><li><a href='/a'>Archives</a></li>"
                   "<li><a href='/b'>Categories</a></li></ul></div></body></html>");
    a = extract(html);
    assert_non_null(strstr(a->text, "We landed the new updater"));
    assert_non_null(strstr(a->text, "oldest open bug"));
    assert_null(strstr(a->text, "Archives"));
    article_free(a);

    /* a list inside the article with one short item is not cleaned out as a box */
    (void)snprintf(html, sizeof(html),
                   "<html><body><div class='story-body'>%s<ul><li>The park near the station "
                   "keeps its gardener.</li></ul>%s</div></body></html>",
                   body_text, more_text);
    a = extract(html);
    assert_non_null(strstr(a->text, "keeps its gardener"));
    article_free(a);

    /* the article in two boxes of one kind at different depths, an ad between them */
    (void)snprintf(html, sizeof(html),
                   "<html><body><div class='wrap'><div class='section'><div class='post-text "
                   "first'>%s</div></div><div class='ad'><a href='/ad'>Buy now</a></div>"
                   "<div class='section'><div class='inner'><div class='post-text second'>%s"
                   "</div></div></div></div><div class='foot'>Site map</div></body></html>",
                   body_text, more_text);
    a = extract(html);
    assert_non_null(strstr(a->text, "voted to approve the plan"));
    assert_non_null(strstr(a->text, "more street lights"));
    assert_null(strstr(a->text, "Buy now"));
    article_free(a);

    /* ... but two posts of a listing are not one article */
    (void)snprintf(html, sizeof(html),
                   "<html><body><div class='posts'><div class='post-1 hentry'><h2>One</h2>"
                   "<div class='entry-content'>%s%s</div></div><div class='post-2 hentry'>"
                   "<h2>Two</h2><div class='entry-content'><p>An older post about the "
                   "weather, which was fine, and about the harvest, which was late.</p><p>It "
                   "rained in the afternoon, and the fair was moved indoors, to the hall."
                   "</p></div></div></div></body></html>",
                   body_text, more_text);
    a = extract(html);
    assert_non_null(strstr(a->text, "voted to approve the plan"));
    assert_null(strstr(a->text, "older post about the weather"));
    article_free(a);

    /* a description that the page does not show is not added */
    (void)snprintf(html, sizeof(html),
                   "<html><head><meta property='og:description' content='Read all about the "
                   "budget and much more on our website, the best in town.'></head><body>"
                   "<div class='story-body'>%s%s</div></body></html>",
                   body_text, more_text);
    a = extract(html);
    assert_null(strstr(a->text, "Read all about"));
    assert_non_null(strstr(a->text, "voted to approve the plan"));
    article_free(a);
}

static void
test_extract_is_page(void **state)
{
    (void)state;
    assert_true(article_is_page("<!DOCTYPE html><p>x", 19));
    assert_true(article_is_page("  <HTML><body>", 14));
    assert_false(article_is_page("<p>An item's <b>content</b></p>", 31));
    assert_false(article_is_page("", 0));
}

static void
test_extract_hostile(void **state)
{
    struct article *a = NULL;
    (void)state;
    assert_int_equal(article_extract("x", HTML_MAX_INPUT + 1u, NULL, &a), -EMSGSIZE);
    assert_null(a);
    /* class and id that together pass the evidence buffers (a past stack overflow) */
    char big[701];
    memset(big, 'a', 700);
    big[700] = '\0';
    char *page = malloc(8192);
    assert_non_null(page);
    (void)snprintf(page, 8192,
                   "<html><body><div class='%s' id='%s'><p class='%s' id='%s'>Some words of "
                   "text in a paragraph, long enough to be scored as one.</p></div></body></html>",
                   big, big, big, big);
    assert_int_equal(article_extract(page, strlen(page), NULL, &a), 0);
    assert_non_null(strstr(a->text, "Some words"));
    article_free(a);
    free(page);

    /* deep nesting */
    size_t depth = 50000, len = depth * 5 + 64;
    char *html = malloc(len), *p = html;
    assert_non_null(html);
    p += sprintf(p, "<html><body>");
    for (size_t i = 0; i < depth; i++)
        p += sprintf(p, "<div>");
    p += sprintf(p, "text");
    assert_int_equal(article_extract(html, (size_t)(p - html), NULL, &a), 0);
    article_free(a);
    free(html);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_seed_pages),
        cmocka_unit_test(test_extract_metadata_sources),
        cmocka_unit_test(test_extract_picks_article_over_chrome),
        cmocka_unit_test(test_extract_encoding),
        cmocka_unit_test(test_extract_regressions),
        cmocka_unit_test(test_extract_is_page),
        cmocka_unit_test(test_extract_hostile),
    };
    xmlInitParser();
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return r;
}
