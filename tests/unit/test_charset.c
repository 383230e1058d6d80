/*
 * Unit tests for charset_from_content_type (feeds/parse/charset.c): the one reader of an
 * HTTP Content-Type's charset, shared by the daemon's fetches and the CLI's downloads; and
 * charset_cp1252_c1, the one windows-1252 table of C1 bytes, as the byte stage and HTML
 * numeric references (feedtext_entity) both read it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "parse/charset.h"
#include "parse/feedtext.h"

static void
expect_charset(const char *ct, const char *want)
{
    char buf[64];
    memcpy(buf, "untouched", 10);
    bool got = charset_from_content_type(ct, buf, sizeof(buf));
    if (want && (!got || strcmp(buf, want) != 0))
        fail_msg("'%s': got %s, want '%s'", ct ? ct : "(null)", got ? buf : "none", want);
    if (!want && got)
        fail_msg("'%s': got '%s', want none", ct ? ct : "(null)", buf);
    if (!want && strcmp(buf, "untouched") != 0)
        fail_msg("'%s': buf written without a charset", ct ? ct : "(null)");
}

static void
test_charset_found(void **state)
{
    (void)state;
    expect_charset("text/xml; charset=ISO-8859-1", "ISO-8859-1");
    expect_charset("text/xml;charset=windows-1251", "windows-1251");
    expect_charset("application/rss+xml; CHARSET=\"utf-8\"", "utf-8");
    expect_charset("text/html;\tCharset=koi8-r ; q=1", "koi8-r");
    expect_charset("text/html; format=flowed; charset=gb2312", "gb2312");
    expect_charset("text/html; charset=shift_jis;format=flowed", "shift_jis");
    /* a quoted value of another parameter may hold what looks like one */
    expect_charset("text/html; title=\"a;charset=bad\"; charset=big5", "big5");
    expect_charset("text/html; broken; charset=euc-kr", "euc-kr");
}

static void
test_charset_absent(void **state)
{
    (void)state;
    expect_charset(NULL, NULL);
    expect_charset("", NULL);
    expect_charset("text/xml", NULL);
    expect_charset("text/xml;", NULL);
    expect_charset("text/xml; charset=", NULL);
    expect_charset("text/xml; charset=\"\"", NULL);
    /* only a parameter called charset counts */
    expect_charset("text/xml; x-charset=koi8-r", NULL);
    expect_charset("text/charset=koi8-r", NULL);
    expect_charset("text/html; title=\"charset=koi8-r\"", NULL);
    expect_charset("text/html; title=\"unterminated; charset=koi8-r", NULL);
}

static void
test_charset_too_long(void **state)
{
    (void)state;
    char ct[200], buf[8];
    (void)snprintf(ct, sizeof(ct), "text/xml; charset=%s", "abcdefgh"); /* 8: no room for NUL */
    assert_false(charset_from_content_type(ct, buf, sizeof(buf)));
    (void)snprintf(ct, sizeof(ct), "text/xml; charset=%s", "abcdefg");
    assert_true(charset_from_content_type(ct, buf, sizeof(buf)));
    assert_string_equal(buf, "abcdefg");
}

static void
test_cp1252_c1(void **state)
{
    (void)state;
    /* WHATWG's windows-1252 for 0x80..0x9F; 0: one of the five bytes it leaves unassigned. */
    static const uint32_t want[32] = {
        0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
        0x2039, 0x0152, 0,      0x017d, 0,      0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
        0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178,
    };
    for (uint32_t c = 0x80; c <= 0x9f; c++) {
        uint32_t w = want[c - 0x80] ? want[c - 0x80] : 0xfffd;
        if (charset_cp1252_c1(c) != w)
            fail_msg("0x%02x: got U+%04X, want U+%04X", c, charset_cp1252_c1(c), w);
        /* A numeric reference there means the same letter, decimal or hex. */
        char ref[16];
        int32_t cp = -1;
        (void)snprintf(ref, sizeof(ref), "&#%u;", c);
        assert_int_equal(feedtext_entity(ref, strlen(ref), &cp), strlen(ref));
        assert_int_equal(cp, (int32_t)w);
        cp = -1;
        (void)snprintf(ref, sizeof(ref), "&#x%X;", c);
        assert_int_equal(feedtext_entity(ref, strlen(ref), &cp), strlen(ref));
        assert_int_equal(cp, (int32_t)w);
    }
    int32_t cp = -1;
    assert_int_equal(feedtext_entity("&#146;", 6, &cp), 6); /* what authors meant by it */
    assert_int_equal(cp, 0x2019);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_charset_found),
        cmocka_unit_test(test_charset_absent),
        cmocka_unit_test(test_charset_too_long),
        cmocka_unit_test(test_cp1252_c1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
