/*
 * Unit tests for url_redact (feeds/url.c): the userinfo of a URL's authority never shows,
 * whatever else the string holds; everything else is kept byte for byte.
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

#include "base/url.h"

static void
expect_redacted(const char *url, const char *want)
{
    char *got = url_redact(url);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("url_redact(%s) = %s, want %s", url, got, want);
    free(got);
}

static void
test_url_redact(void **state)
{
    (void)state;
    expect_redacted("https://user:s3cret@feeds.example.org/news.xml",
                    "https://***@feeds.example.org/news.xml");
    expect_redacted("http://token@example.org:8080/x?a=b@c#d@e",
                    "http://***@example.org:8080/x?a=b@c#d@e");
    expect_redacted("https://a:b@c@host.example/", "https://***@host.example/");
    expect_redacted("HTTP://u:p@[::1]:80/", "HTTP://***@[::1]:80/");
    expect_redacted("https://u:p@host", "https://***@host");
    expect_redacted("//u:p@host/x", "//***@host/x");
    /* nothing to hide: unchanged */
    expect_redacted("https://feeds.example.org/a@b", "https://feeds.example.org/a@b");
    expect_redacted("https://feeds.example.org/?mail=a@b", "https://feeds.example.org/?mail=a@b");
    expect_redacted("file:///var/lib/feeds/a@b.xml", "file:///var/lib/feeds/a@b.xml");
    expect_redacted("mailto:a@b.example", "mailto:a@b.example");
    expect_redacted("", "");
    expect_redacted("not a url @ all", "not a url @ all");
    assert_null(url_redact(NULL));
    /* the password never survives, whatever it holds */
    char *r = url_redact("https://reader:hunter2%40x@e.org/");
    assert_null(strstr(r, "hunter2"));
    assert_null(strstr(r, "reader"));
    free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
