/*
 * Unit tests for feeds/netaddr.c: public addresses of every family and form pass, every
 * special-purpose block that is not globally reachable is refused (with its kind), and the
 * IPv6 forms that carry an IPv4 address are judged by the address they carry. A policy that
 * refused everything (or nothing) fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "base/netaddr.h"

static void
expect_public(const char *text)
{
    const char *k = netaddr_text_kind(text);
    if (k)
        fail_msg("%s: expected public, got '%s'", text, k);
}

static void
expect_kind(const char *text, const char *kind)
{
    const char *k = netaddr_text_kind(text);
    if (!k)
        fail_msg("%s: expected '%s', got public", text, kind);
    if (strcmp(k, kind) != 0)
        fail_msg("%s: expected '%s', got '%s'", text, kind, k);
}

static void
test_netaddr_v4_public(void **state)
{
    (void)state;
    static const char *const pub[] = {
        "1.1.1.1",        "8.8.8.8",         "93.184.216.34",   "9.255.255.255",  "11.0.0.0",
        "100.63.255.255", "100.128.0.0",     "126.255.255.255", "128.0.0.0",      "169.253.255.255",
        "169.255.0.0",    "172.15.255.255",  "172.32.0.0",      "192.0.1.255",    "192.0.3.0",
        "192.88.99.1",    "192.167.255.255", "192.169.0.0",     "198.17.255.255", "198.20.0.0",
        "198.51.99.255",  "198.51.101.0",    "203.0.112.255",   "203.0.114.0",    "223.255.255.255",
        "151.101.1.69",   "140.82.112.3",
    };
    for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++)
        expect_public(pub[i]);
}

static void
test_netaddr_v4_not_public(void **state)
{
    (void)state;
    static const struct {
        const char *addr, *kind;
    } cases[] = {
        {"127.0.0.1", "loopback"},
        {"127.255.255.254", "loopback"},
        {"127.1.2.3", "loopback"},
        {"10.0.0.1", "private"},
        {"10.255.255.255", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"192.168.1.1", "private"},
        {"169.254.169.254", "link-local"},
        {"169.254.0.1", "link-local"},
        {"100.64.0.1", "shared (CGNAT)"},
        {"100.127.255.255", "shared (CGNAT)"},
        {"0.0.0.0", "this network"},
        {"0.1.2.3", "this network"},
        {"240.0.0.1", "reserved"},
        {"254.255.255.255", "reserved"},
        {"255.255.255.255", "broadcast"},
        {"224.0.0.1", "multicast"},
        {"239.255.255.250", "multicast"},
        {"192.0.2.1", "documentation"},
        {"198.51.100.7", "documentation"},
        {"203.0.113.200", "documentation"},
        {"198.18.0.1", "benchmarking"},
        {"198.19.255.255", "benchmarking"},
        {"192.0.0.1", "IETF protocol assignments"},
        {"192.0.0.170", "IETF protocol assignments"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_kind(cases[i].addr, cases[i].kind);
}

static void
test_netaddr_v6_public(void **state)
{
    (void)state;
    static const char *const pub[] = {
        "2606:4700:4700::1111",
        "2001:4860:4860::8888",
        "2a00:1450:4001:80b::200e",
        "2001:200::1",
        "2620:4f:8000::1",
        "2001:1::1",
        "2001:3::1",
        "2001:20::1",
        "3ffe::1",
        "3fff:1000::1",      /* just past the documentation /20 */
        "2002:0808:0808::1", /* 6to4 of 8.8.8.8 */
        "64:ff9b::808:808",  /* NAT64 of 8.8.8.8 */
        "::ffff:8.8.8.8",    /* IPv4-mapped */
        "::8.8.8.8",         /* IPv4-compatible (deprecated, but reaches 8.8.8.8) */
        "2001:0:4136:e378:8000:63bf:f7f7:f7f7", /* Teredo: server 65.54.227.120, client 8.8.8.8 */
    };
    for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++)
        expect_public(pub[i]);
}

static void
test_netaddr_v6_not_public(void **state)
{
    (void)state;
    static const struct {
        const char *addr, *kind;
    } cases[] = {
        {"::1", "loopback"},
        {"::", "unspecified"},
        {"fe80::1", "link-local"},
        {"febf:ffff::1", "link-local"},
        {"fec0::1", "site-local"},
        {"fc00::1", "unique local (private)"},
        {"fd12:3456:789a::1", "unique local (private)"},
        {"ff02::1", "multicast"},
        {"ff0e::fb", "multicast"},
        {"2001:db8::1", "documentation"},
        {"2001:db8:ffff::1", "documentation"},
        {"3fff::1", "documentation"},
        {"2001:2::1", "benchmarking"},
        {"2001:10::1", "IETF protocol assignments"},
        {"100::1", "reserved"},
        {"4000::1", "reserved"},
        {"5f00::1", "reserved"},
        {"64:ff9b:1::a00:1", "local-use NAT64"},
        /* forms that carry a non-public IPv4 address */
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:169.254.169.254", "link-local"},
        {"::ffff:10.1.2.3", "private"},
        {"::127.0.0.1", "loopback"},
        {"64:ff9b::7f00:1", "loopback"},
        {"64:ff9b::a9fe:a9fe", "link-local"},
        {"2002:7f00:1::1", "loopback"},
        {"2002:c0a8:101::1", "private"},
        {"2002:a9fe:a9fe::", "link-local"},
        /* Teredo with a loopback client (obscured 127.0.0.1 = 80ff:fffe) */
        {"2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"},
        /* Teredo with a private server */
        {"2001:0:a00:1:8000:63bf:f7f7:f7f7", "private"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_kind(cases[i].addr, cases[i].kind);
}

static void
test_netaddr_sockaddr(void **state)
{
    (void)state;
    char buf[64];
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80)};
    sin.sin_addr.s_addr = htonl(0x7f000001); /* what http://2130706433/ connects to */
    assert_string_equal(netaddr_sockaddr_kind((struct sockaddr *)&sin, sizeof(sin)), "loopback");
    assert_string_equal(netaddr_format((struct sockaddr *)&sin, sizeof(sin), buf, sizeof(buf)),
                        "127.0.0.1");
    assert_int_equal(inet_pton(AF_INET, "93.184.216.34", &sin.sin_addr), 1);
    assert_null(netaddr_sockaddr_kind((struct sockaddr *)&sin, sizeof(sin)));
    /* A length too short for the family is not trusted. */
    assert_string_equal(netaddr_sockaddr_kind((struct sockaddr *)&sin, 4), "not an IP address");

    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
    assert_int_equal(inet_pton(AF_INET6, "::ffff:7f00:1", &sin6.sin6_addr), 1);
    assert_string_equal(netaddr_sockaddr_kind((struct sockaddr *)&sin6, sizeof(sin6)), "loopback");
    assert_string_equal(netaddr_format((struct sockaddr *)&sin6, sizeof(sin6), buf, sizeof(buf)),
                        "::ffff:127.0.0.1");
    assert_int_equal(inet_pton(AF_INET6, "2606:4700:4700::1111", &sin6.sin6_addr), 1);
    assert_null(netaddr_sockaddr_kind((struct sockaddr *)&sin6, sizeof(sin6)));

    struct sockaddr sun = {.sa_family = AF_UNIX};
    assert_string_equal(netaddr_sockaddr_kind(&sun, sizeof(sun)), "not an IP address");
    assert_string_equal(netaddr_sockaddr_kind(NULL, 0), "not an IP address");
    assert_string_equal(netaddr_format(&sun, sizeof(sun), buf, sizeof(buf)), "?");
    assert_string_equal(netaddr_text_kind("localhost"), "not an IP address");
    assert_string_equal(netaddr_text_kind("0x7f.1"), "not an IP address");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netaddr_v4_public), cmocka_unit_test(test_netaddr_v4_not_public),
        cmocka_unit_test(test_netaddr_v6_public), cmocka_unit_test(test_netaddr_v6_not_public),
        cmocka_unit_test(test_netaddr_sockaddr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
