/*
 * test_termsafe.c — the one table of characters kept off terminals and logs
 * (config/termsafe.h), over every code point, and its UTF-8 reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "termsafe.h"

/* Writes cp as UTF-8 to out (4 bytes at most); returns the length. */
static size_t
utf8(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* The set, written out independently of the implementation. */
static enum termsafe_class
expected(uint32_t cp)
{
    if (cp <= 0x1f || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
        return TERMSAFE_CONTROL;
    switch (cp) {
    case 0x2028:
    case 0x2029:
        return TERMSAFE_SEPARATOR;
    case 0x061c: /* ARABIC LETTER MARK */
    case 0x200e:
    case 0x200f: /* LRM, RLM */
    case 0x202a:
    case 0x202b:
    case 0x202c:
    case 0x202d:
    case 0x202e: /* LRE PDF ... RLO */
    case 0x2066:
    case 0x2067:
    case 0x2068:
    case 0x2069: /* LRI RLI FSI PDI */
        return TERMSAFE_BIDI;
    default:
        return TERMSAFE_TEXT;
    }
}

static void
test_every_code_point(void **state)
{
    (void)state;
    unsigned flagged = 0;
    for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        enum termsafe_class want = expected(cp);
        if (termsafe_class(cp) != want) {
            print_error("U+%04X: class %d, want %d\n", (unsigned)cp, (int)termsafe_class(cp),
                        (int)want);
            fail();
        }
        flagged += want != TERMSAFE_TEXT;
        /* The UTF-8 reader finds the same ones above U+007F, with their length. */
        unsigned char buf[8] = {0};
        size_t len = utf8(cp, buf);
        uint32_t got = 0;
        enum termsafe_class cls = TERMSAFE_TEXT;
        size_t n = termsafe_utf8(buf, len, &got, &cls);
        if (cp >= 0x80 && want != TERMSAFE_TEXT) {
            assert_int_equal(n, len);
            assert_int_equal(got, cp);
            assert_int_equal(cls, want);
        } else {
            assert_int_equal(n, 0);
        }
    }
    assert_int_equal(flagged, 32 + 1 + 32 + 2 + 1 + 2 + 5 + 4);
}

static void
test_utf8_reader_edges(void **state)
{
    (void)state;
    uint32_t cp;
    enum termsafe_class cls;
    const unsigned char rlo[] = {0xe2, 0x80, 0xae};
    /* Cut short, it is not read (nothing past n). */
    assert_int_equal(termsafe_utf8(rlo, 2, &cp, &cls), 0);
    assert_int_equal(termsafe_utf8(rlo, 3, &cp, &cls), 3);
    /* Overlong forms and stray continuation bytes are not UTF-8. */
    const unsigned char overlong_nel[] = {0xc1, 0x85};
    const unsigned char overlong_3[] = {0xe0, 0x82, 0x85};
    const unsigned char stray[] = {0x80, 0x85};
    assert_int_equal(termsafe_utf8(overlong_nel, 2, &cp, &cls), 0);
    assert_int_equal(termsafe_utf8(overlong_3, 3, &cp, &cls), 0);
    assert_int_equal(termsafe_utf8(stray, 2, &cp, &cls), 0);
    const unsigned char alm[] = {0xd8, 0x9c, 'x'};
    assert_int_equal(termsafe_utf8(alm, 3, &cp, &cls), 2);
    assert_int_equal(cp, 0x061c);
    assert_int_equal(cls, TERMSAFE_BIDI);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_point),
        cmocka_unit_test(test_utf8_reader_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
