/*
 * Unit tests for feeds/base/feedrule.c: the one rule for a feed's name, URL and tags that
 * the config reader, run-time `add` and OPML import share.
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

#include "base/feedrule.h"

static bool
name_ok(const char *s)
{
    return feed_name_valid(s, strlen(s));
}

static bool
tag_ok(const char *s)
{
    return feed_tag_valid(s, strlen(s));
}

static void
test_feedrule_names(void **state)
{
    (void)state;
    char name[FEED_NAME_MAX + 2];
    assert_true(name_ok("afp-world"));
    assert_true(name_ok("A.b_c-9"));
    assert_false(name_ok(""));
    assert_false(name_ok("a b"));
    assert_false(name_ok("a/b"));
    assert_false(name_ok("Ünï"));
    assert_false(name_ok("a\n"));
    memset(name, 'n', FEED_NAME_MAX);
    name[FEED_NAME_MAX] = '\0';
    assert_int_equal(FEED_NAME_MAX, 128);
    assert_true(name_ok(name));
    name[FEED_NAME_MAX] = 'n';
    name[FEED_NAME_MAX + 1] = '\0';
    assert_false(name_ok(name));
    /* n bytes are looked at, not what follows */
    assert_true(feed_name_valid("ab cd", 2));
    assert_false(feed_name_valid("ab", 0));
}

static void
test_feedrule_urls(void **state)
{
    (void)state;
    assert_true(feed_url_valid("http://e.org"));
    assert_true(feed_url_valid("https://e.org/feed.xml?a=b#c"));
    assert_true(feed_url_valid("HTTPS://E.org/"));
    assert_true(feed_url_valid("http://[::1]:8080/x"));
    assert_true(feed_url_valid("http://user:pw@e.org/x")); /* credentials: the caller's policy */
    assert_false(feed_url_valid(""));
    assert_false(feed_url_valid("e.org/feed.xml"));
    assert_false(feed_url_valid("ftp://e.org/x"));
    assert_false(feed_url_valid("file:///tmp/x.xml"));
    assert_false(feed_url_valid("http://"));
    assert_false(feed_url_valid("http:///x.xml"));
    assert_false(feed_url_valid("https://?q"));
    assert_false(feed_url_valid("https://#f"));
    assert_false(feed_url_valid("http:/e.org"));
    assert_false(feed_url_valid("https://e.org/a b"));
    assert_false(feed_url_valid("https://e.org/a\tb"));
    assert_false(feed_url_valid("https://e.org/\x7f"));
    assert_false(feed_url_valid("https://e.org/\x01"));

    static char url[FEED_URL_MAX + 2];
    const char *head = "https://e.org/";
    assert_int_equal(FEED_URL_MAX, 8192);
    memset(url, 'a', FEED_URL_MAX);
    memcpy(url, head, strlen(head));
    url[FEED_URL_MAX] = '\0';
    assert_true(feed_url_valid(url));
    url[FEED_URL_MAX] = 'a';
    url[FEED_URL_MAX + 1] = '\0';
    assert_false(feed_url_valid(url));
}

static void
test_feedrule_tags(void **state)
{
    (void)state;
    char tag[FEED_TAG_MAX + 2];
    assert_true(tag_ok("world"));
    assert_true(tag_ok("Ünïcode news"));
    assert_true(tag_ok("x/y #1"));
    assert_false(tag_ok(""));
    assert_false(tag_ok("a,b"));
    assert_false(tag_ok(" lead"));
    assert_false(tag_ok("trail\t"));
    assert_false(tag_ok("a\tb\n"));
    assert_false(tag_ok("del\x7f"));
    memset(tag, 't', FEED_TAG_MAX);
    tag[FEED_TAG_MAX] = '\0';
    assert_true(tag_ok(tag));
    tag[FEED_TAG_MAX] = 't';
    tag[FEED_TAG_MAX + 1] = '\0';
    assert_false(tag_ok(tag));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feedrule_names),
        cmocka_unit_test(test_feedrule_urls),
        cmocka_unit_test(test_feedrule_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
