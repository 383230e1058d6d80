/*
 * test_ctlproto.c — proto/ctlproto: the one JSON string helper of the daemon's answers,
 * events and hook documents (valid text as it is, NULL as null, each invalid UTF-8 byte as
 * U+FFFD with the valid rest kept), and the command table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctlproto.h"

/* The JSON text of helper(s), compact, for comparison. */
static char *
dump(const char *s)
{
    json_t *j = ctlproto_json_string(s);
    assert_non_null(j);
    char *t = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    assert_non_null(t);
    return t;
}

static void
check(const char *in, const char *want_json)
{
    char *t = dump(in);
    assert_string_equal(t, want_json);
    free(t);
}

static void
test_ctlproto_json_string(void **state)
{
    (void)state;
    check(NULL, "null");
    check("", "\"\"");
    check("plain", "\"plain\"");
    check("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "\"caf\\u00E9 \\u20AC \\uD83D\\uDE00\"");
    /* A stray byte, a truncated sequence, an overlong form, a surrogate: U+FFFD per byte. */
    check("a\xFF"
          "b",
          "\"a\\uFFFDb\"");
    check("x\xE2\x82", "\"x\\uFFFD\\uFFFD\"");
    check("\xC0\xAF", "\"\\uFFFD\\uFFFD\"");
    check("\xED\xA0\x80z", "\"\\uFFFD\\uFFFD\\uFFFDz\"");
    /* The valid parts around an invalid byte are kept whole. */
    check("\xC3\xA9\x80\xC3\xA9", "\"\\u00E9\\uFFFD\\u00E9\"");
    /* Control characters are valid UTF-8 and escaped by jansson as usual. */
    check("tab\there", "\"tab\\there\"");
}

static void
test_ctlproto_json_string_is_valid_json(void **state)
{
    (void)state;
    /* Every single byte and every pair of high bytes gives a string jansson reads back. */
    char s[3] = {0};
    for (int a = 1; a < 256; a++) {
        for (int b = 0; b < 256; b += (a < 0x80 ? 255 : 1)) {
            s[0] = (char)a;
            s[1] = (char)b;
            json_t *j = ctlproto_json_string(s);
            assert_non_null(j);
            char *t = json_dumps(j, JSON_ENCODE_ANY);
            assert_non_null(t);
            json_error_t err;
            json_t *back = json_loads(t, JSON_DECODE_ANY, &err);
            assert_non_null(back);
            assert_true(json_is_string(back));
            json_decref(back);
            free(t);
            json_decref(j);
        }
    }
}

static void
test_ctlproto_cmds(void **state)
{
    (void)state;
    assert_int_equal(ctlproto_n_cmds, 16);
    /* `events` reads, as `alerts` does (the group sees URLs as scheme and host). */
    assert_int_equal(ctlproto_cmd_find(CTL_CMD_EVENTS)->access, CTLPROTO_READONLY);
    const struct ctlproto_cmd *c = ctlproto_cmd_find(CTL_CMD_STATUS);
    assert_non_null(c);
    assert_int_equal(c->access, CTLPROTO_READONLY);
    /* `item` reads, as `items` does: the socket's group may run it. */
    c = ctlproto_cmd_find(CTL_CMD_ITEM);
    assert_non_null(c);
    assert_int_equal(c->access, CTLPROTO_READONLY);
    assert_int_equal(ctlproto_cmd_find(CTL_CMD_ITEMS)->access, CTLPROTO_READONLY);
    c = ctlproto_cmd_find("poll");
    assert_non_null(c);
    assert_int_equal(c->access, CTLPROTO_PRIVILEGED);
    /* redeliver runs hooks again: root or the daemon's user only, as every write. */
    c = ctlproto_cmd_find("redeliver");
    assert_non_null(c);
    assert_int_equal(c->access, CTLPROTO_PRIVILEGED);
    assert_null(ctlproto_cmd_find("Status"));
    assert_null(ctlproto_cmd_find(""));
    assert_null(ctlproto_cmd_find(NULL));
    /* Names are unique. */
    for (size_t i = 0; i < ctlproto_n_cmds; i++)
        assert_ptr_equal(ctlproto_cmd_find(ctlproto_cmds[i].name), &ctlproto_cmds[i]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctlproto_json_string),
        cmocka_unit_test(test_ctlproto_json_string_is_valid_json),
        cmocka_unit_test(test_ctlproto_cmds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
