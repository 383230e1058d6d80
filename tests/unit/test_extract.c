/* Unit tests for feeds/article.c: main-text extraction and metadata of web pages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "article.h"
#include "html.h"

/* ---- the seeds' annotations (the same checks as test_boilerplate.c) ---- */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
seed_read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    (void)fclose(f);
    if (ret_len)
        *ret_len = (size_t)n;
    return buf;
}

/* Copy of s with U+00A0 as a space, whitespace runs collapsed and the ends trimmed. */
static char *
seed_norm(const char *s)
{
    char *out = malloc(strlen(s) + 1), *q = out;
    bool space = false;

    assert_non_null(out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool sp = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
        if (p[0] == 0xc2 && p[1] == 0xa0) {
            sp = true;
            p++;
        }
        if (sp) {
            space = q != out;
            continue;
        }
        if (space)
            *q++ = ' ';
        space = false;
        *q++ = (char)*p;
    }
    *q = '\0';
    return out;
}

static json_t *
seed_annotations(void)
{
    json_error_t err;
    json_t *a = json_load_file(FW_SHARED_DATA "/seeds/annotations.json", 0, &err);
    if (!a)
        fail_msg("annotations.json: %s", err.text);
    return a;
}

/*
 * Checks text (the output for seed file `name`): no boilerplate string of the annotations in
 * it, and every other non-empty line of the seed in it, except the headline (the title).
 */
static void
seed_check_text(json_t *ann, const char *name, const char *text)
{
    json_t *entry = json_object_get(ann, name);
    json_t *bp = json_object_get(entry, "boilerplate");
    const char *title = json_string_value(json_object_get(entry, "title"));
    char path[512];
    char *seed, *ntext = seed_norm(text);
    size_t idx;
    json_t *b;

    assert_non_null(entry);
    json_array_foreach(bp, idx, b) {
        const char *t = json_string_value(json_object_get(b, "text"));
        char *nt = seed_norm(t);
        /* " date 2022-02 " glued to the lead: "date 2022-02" must be gone */
        if (strstr(ntext, nt))
            fail_msg("%s: boilerplate line %d still there: '%s'", name,
                     (int)json_integer_value(json_object_get(b, "line")), t);
        free(nt);
    }

    (void)snprintf(path, sizeof(path), "%s/seeds/%s", FW_SHARED_DATA, name);
    seed = seed_read_file(path, NULL);
    int lineno = 0;
    for (char *line = seed, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        bool is_bp = false;
        const char *prefix = NULL;
        json_array_foreach(bp, idx, b) {
            if (json_integer_value(json_object_get(b, "line")) != lineno)
                continue;
            const char *t = json_string_value(json_object_get(b, "text"));
            if (strncmp(line, t, strlen(t)) == 0 && strlen(line) > strlen(t))
                prefix = t; /* only the start of the line is boilerplate */
            else
                is_bp = true;
        }
        if (is_bp)
            continue;
        char *want = seed_norm(prefix ? line + strlen(prefix) : line);
        if (want[0] && !(title && strcmp(want, title) == 0) && !strstr(ntext, want))
            fail_msg("%s: article line %d missing: '%s'\n--- output ---\n%s", name, lineno, want,
                     text);
        free(want);
    }
    free(seed);
    free(ntext);
}

static const char *const seed_names[] = {
    "000_b1d9be76c26ba483.txt", "001_c3de49d25fb89459.txt", "002_86e90aea73c19656.txt",
    "003_0dca9f2e86cd725b.txt", "004_76fb76036a12c196.txt",
};


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
        char *html = seed_read_file(path, &len);
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
        cmocka_unit_test(test_extract_is_page),
        cmocka_unit_test(test_extract_hostile),
    };
    xmlInitParser();
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return r;
}
