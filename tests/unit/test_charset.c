/*
 * Unit tests for charset_from_content_type (feeds/parse/charset.c): the one reader of an
 * HTTP Content-Type's charset, shared by the daemon's fetches and the CLI's downloads.
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_charset_found),
        cmocka_unit_test(test_charset_absent),
        cmocka_unit_test(test_charset_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
