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
    /* secret query parameters: their values go, names and the rest stay */
    expect_redacted("http://u:p@h/feed.xml?token=QUERYTOKEN", "http://***@h/feed.xml?token=***");
    expect_redacted("https://h/f?a=1&Access_Token=x&b=2;api_key=y#frag",
                    "https://h/f?a=1&Access_Token=***&b=2;api_key=***#frag");
    expect_redacted("https://h/f?X-Api-Key=k&apiKey=k&accessToken=t&client_secret=s&sig=z",
                    "https://h/f?X-Api-Key=***&apiKey=***&accessToken=***&client_secret=***"
                    "&sig=***");
    expect_redacted("https://h/f?KEY=1&Password=2&passwd=3&pass=4&auth=5&signature=6"
                    "&session=7&sid=8&secret=9&apikey=a",
                    "https://h/f?KEY=***&Password=***&passwd=***&pass=***&auth=***"
                    "&signature=***&session=***&sid=***&secret=***&apikey=***");
    expect_redacted("https://h/f?x-amz-signature=abc&X-Amz-Date=1",
                    "https://h/f?x-amz-signature=***&X-Amz-Date=1");
    expect_redacted("https://h/f?api%5Fkey=v&%74oken=v", "https://h/f?api%5Fkey=***&%74oken=***");
    expect_redacted("https://h/f#access_token=t&state=s", "https://h/f#access_token=***&state=s");
    /* not secrets: other words that end alike, empty values, names alone */
    expect_redacted("https://h/f?monkey=1&bypass=2&keyword=3&tokens=4&inside=5",
                    "https://h/f?monkey=1&bypass=2&keyword=3&tokens=4&inside=5");
    expect_redacted("https://h/f?token=&token&q=a=b", "https://h/f?token=&token&q=a=b");
    expect_redacted("https://h/p?a@b=c?token=x", "https://h/p?a@b=c?token=x");
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
    r = url_redact("https://h/f?a=1&token=hunter2&b=2");
    assert_null(strstr(r, "hunter2"));
    free(r);
    /* a parameter name too long to be a secret's, and values of one byte each */
    char big[512];
    snprintf(big, sizeof(big), "https://h/?%0300d=1&key=a&sid=b", 0);
    r = url_redact(big);
    assert_non_null(strstr(r, "=1&key=***&sid=***"));
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
