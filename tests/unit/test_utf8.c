/*
 * Unit tests for feeds/base/utf8: the one UTF-8 decoder. Every code point round-trips
 * through utf8_encode and utf8_decode; every ill-formed sequence of Unicode's table 3-7
 * (overlong forms, surrogates, past U+10FFFF, stray or missing continuation bytes) is -1; a
 * valid start cut by the end is 0; utf8_valid_prefix and utf8_cut stop where they should.
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

#include "base/utf8.h"

static int
decode_str(const char *s, size_t n, uint32_t *cp)
{
    return utf8_decode((const unsigned char *)s, n, cp);
}

static void
test_utf8_every_code_point_round_trips(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        unsigned char enc[UTF8_MAX];
        size_t n = utf8_encode(cp, enc);
        size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        uint32_t got = 0xffffffffu;
        if (n != want)
            fail_msg("U+%04X encodes to %zu bytes, want %zu", cp, n, want);
        int k = utf8_decode(enc, n, &got);
        if (k != (int)n || got != cp)
            fail_msg("U+%04X decodes to %d bytes, U+%04X", cp, k, got);
        /* every proper prefix of a multi-byte sequence is a valid start, cut */
        for (size_t m = 1; m < n; m++)
            if (utf8_decode(enc, m, &got) != 0)
                fail_msg("U+%04X cut to %zu bytes is not 0", cp, m);
        if (utf8_len(enc, n) != (int)n)
            fail_msg("utf8_len of U+%04X", cp);
    }
}

static void
test_utf8_ill_formed_sequences(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        const char *why;
    } bad[] = {
        {"\x80", "a lone continuation byte"},
        {"\xbf", "a lone continuation byte"},
        {"\xc0\xaf", "overlong '/' (C0)"},
        {"\xc1\xbf", "overlong (C1)"},
        {"\xe0\x80\xaf", "overlong three bytes"},
        {"\xe0\x9f\xbf", "overlong three bytes, top"},
        {"\xf0\x80\x80\xaf", "overlong four bytes"},
        {"\xf0\x8f\xbf\xbf", "overlong four bytes, top"},
        {"\xed\xa0\x80", "surrogate U+D800"},
        {"\xed\xbf\xbf", "surrogate U+DFFF"},
        {"\xf4\x90\x80\x80", "U+110000"},
        {"\xf5\x80\x80\x80", "lead F5"},
        {"\xf8\x88\x80\x80\x80", "five-byte lead"},
        {"\xff", "byte FF"},
        {"\xc3\x28", "missing continuation"},
        {"\xe2\x82\x28", "missing third byte"},
        {"\xf0\x9f\x98\x41", "missing fourth byte"},
        {"\xe2\x41", "bad second byte though cut"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t cp = 0x12345;
        int k = decode_str(bad[i].s, strlen(bad[i].s), &cp);
        if (k != -1)
            fail_msg("%s: %d, want -1", bad[i].why, k);
        assert_int_equal(cp, 0x12345); /* not written */
        if (utf8_valid_prefix(bad[i].s, strlen(bad[i].s)) != 0)
            fail_msg("%s: utf8_valid_prefix not 0", bad[i].why);
    }
    /* the edges that are valid */
    uint32_t cp;
    assert_int_equal(decode_str("\xc2\x80", 2, &cp), 2);
    assert_int_equal(cp, 0x80);
    assert_int_equal(decode_str("\xed\x9f\xbf", 3, &cp), 3);
    assert_int_equal(cp, 0xd7ff);
    assert_int_equal(decode_str("\xee\x80\x80", 3, &cp), 3);
    assert_int_equal(cp, 0xe000);
    assert_int_equal(decode_str("\xf4\x8f\xbf\xbf", 4, &cp), 4);
    assert_int_equal(cp, 0x10ffff);
    assert_int_equal(decode_str("\0", 1, &cp), 1);
    assert_int_equal(cp, 0);
}

static void
test_utf8_valid_prefix(void **state)
{
    (void)state;
    const char *s = "Zürich \xe2\x82\xac \xf0\x9f\x93\xb0";
    assert_int_equal(utf8_valid_prefix(s, strlen(s)), strlen(s));
    assert_int_equal(utf8_valid_prefix("", 0), 0);
    assert_int_equal(utf8_valid_prefix("abc\xff"
                                       "def",
                                       7),
                     3);
    assert_int_equal(utf8_valid_prefix("ab\xc3\xa9\xed\xa0\x80", 7), 4);
    /* a sequence cut by the end is not valid: the prefix stops before it */
    assert_int_equal(utf8_valid_prefix("ab\xe2\x82", 4), 2);
    /* NUL is a character like any other (the length says where the string ends) */
    assert_int_equal(utf8_valid_prefix("a\0b", 3), 3);
}

static void
test_utf8_cut(void **state)
{
    (void)state;
    const char *s = "ab\xc3\xa9\xe2\x82\xac"; /* a b é € : 2 + 2 + 3 bytes */
    assert_int_equal(utf8_cut(s, 7, 100), 7);
    assert_int_equal(utf8_cut(s, 7, 7), 7);
    assert_int_equal(utf8_cut(s, 7, 6), 4); /* not inside the € */
    assert_int_equal(utf8_cut(s, 7, 5), 4);
    assert_int_equal(utf8_cut(s, 7, 4), 4);
    assert_int_equal(utf8_cut(s, 7, 3), 2); /* not inside the é */
    assert_int_equal(utf8_cut(s, 7, 2), 2);
    assert_int_equal(utf8_cut(s, 7, 0), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_every_code_point_round_trips),
        cmocka_unit_test(test_utf8_ill_formed_sequences),
        cmocka_unit_test(test_utf8_valid_prefix),
        cmocka_unit_test(test_utf8_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
