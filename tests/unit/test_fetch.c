/*
 * Unit tests for the pure decisions of daemon/fetch.c that redirects rest on: which hops are
 * on a feed's origin (its header and credentials go nowhere else) and which redirects are
 * refused (https down to http, schemes other than http and https). The transfers themselves
 * are tested end to end on loopback (tests/integration/test_netpolicy.py).
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

#include "fetch.h"

static void
test_fetch_same_origin(void **state)
{
    (void)state;
    bool host;
    const char *o = "https://feeds.example.org/news.xml";
    assert_true(fetch_same_origin(o, "https://feeds.example.org/other?x=1", &host));
    assert_true(host);
    assert_true(fetch_same_origin(o, "https://FEEDS.example.org:443/a", &host));
    assert_false(fetch_same_origin(o, "https://feeds.example.org:8443/a", &host));
    assert_true(host);
    assert_false(fetch_same_origin(o, "http://feeds.example.org/a", &host)); /* a downgrade */
    assert_true(host);
    assert_false(fetch_same_origin(o, "https://evil.example.net/a", &host));
    assert_false(host);
    assert_false(fetch_same_origin(o, "https://feeds.example.org.evil.net/a", &host));
    assert_false(host);
    assert_false(fetch_same_origin(o, "https://example.org/a", &host));
    assert_false(host);
    /* userinfo does not make another host the origin */
    assert_false(fetch_same_origin(o, "https://feeds.example.org@evil.net/a", &host));
    assert_false(host);
    /* the https upgrade of an http origin on the same host keeps the secrets */
    const char *h = "http://intranet.corp/feed";
    assert_true(fetch_same_origin(h, "https://intranet.corp/feed", &host));
    assert_false(fetch_same_origin(h, "https://intranet.corp:8443/feed", &host));
    assert_false(fetch_same_origin("http://intranet.corp:8080/feed", "https://intranet.corp/feed",
                                   &host));
    assert_true(host);
    assert_true(fetch_same_origin("http://127.0.0.1:8080/f", "http://127.0.0.1:8080/g", NULL));
    assert_false(fetch_same_origin("http://127.0.0.1:8080/f", "http://localhost:8080/g", &host));
    assert_false(host);
    assert_false(fetch_same_origin("http://[::1]:8080/f", "http://127.0.0.1:8080/g", &host));
    assert_false(fetch_same_origin(NULL, "http://127.0.0.1:8080/g", &host));
    assert_false(host);
    assert_false(fetch_same_origin(o, "not a url", &host));
}

static void
test_fetch_redirect_refusal(void **state)
{
    (void)state;
    assert_null(fetch_redirect_refusal("http://a.example/", "http://b.example/"));
    assert_null(fetch_redirect_refusal("http://a.example/", "https://a.example/"));
    assert_null(fetch_redirect_refusal("https://a.example/", "https://b.example/"));
    assert_null(fetch_redirect_refusal("HTTPS://a.example/", "HTTPS://a.example/x"));
    assert_string_equal(fetch_redirect_refusal("https://a.example/", "http://a.example/"),
                        "redirect from https to http refused");
    assert_string_equal(fetch_redirect_refusal("HTTPS://a.example/", "Http://b.example/"),
                        "redirect from https to http refused");
    assert_string_equal(fetch_redirect_refusal("http://a.example/", "file:///etc/passwd"),
                        "redirect to a URL that is not http or https refused");
    assert_string_equal(fetch_redirect_refusal("https://a.example/", "ftp://a.example/x"),
                        "redirect to a URL that is not http or https refused");
    assert_string_equal(fetch_redirect_refusal("http://a.example/", "gopher://a.example/"),
                        "redirect to a URL that is not http or https refused");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_same_origin),
        cmocka_unit_test(test_fetch_redirect_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
