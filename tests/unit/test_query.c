/* Unit tests for feeds/query.c: every construct as a tree, every error with its column. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "topics/query.h"

struct parse_case {
    const char *query;
    const char *tree;
};

static const struct parse_case parse_cases[] = {
    {"OSCE", "osce"},
    {"  OSCE  ", "osce"},
    {"ukrain*", "ukrain*"},
    {"\"ukraine border\"", "(phrase ukraine border)"},
    {"\"ukraine border\"~4", "(phrase~4 ukraine border)"},
    {"\"Oekraïne grens\"~4", "(phrase~4 oekraine grens)"},
    {"\"ukraine biên giới\"~6", "(phrase~6 ukraine bien gioi)"},
    {"\"osce\"", "osce"},
    {"a b", "(and a b)"},
    {"a AND b", "(and a b)"},
    {"a OR b", "(or a b)"},
    {"a OR b OR c", "(or a b c)"},
    {"a b OR c", "(or (and a b) c)"},
    {"a OR b c", "(or a (and b c))"},
    {"a (b OR c)", "(and a (or b c))"},
    {"(a OR b) AND NOT c", "(and (or a b) (not c))"},
    {"NOT a", "(not a)"},
    {"-a", "(not a)"},
    {"a -b", "(and a (not b))"},
    {"a - b", "(and a (not b))"},
    {"NOT NOT a", "(not (not a))"},
    {"-(a OR b)", "(not (or a b))"},
    {"and or not", "(and and or not)"},
    {"title:osce", "title:osce"},
    {"TITLE:osce", "title:osce"},
    {"title:\"ukraine border\"~3", "(title:phrase~3 ukraine border)"},
    {"title:(a OR b) c", "(and (or title:a title:b) c)"},
    {"title:ukrain*", "title:ukrain*"},
    {"co-operation", "co-operation|cooperation"},
    {"co-op*", "co-op|coop*"},
    {"\"Security and Co-operation\"", "(phrase security and co-operation|cooperation)"},
    {"U.S.", "(phrase u s)"},
    {"ОБСЕ", "обсе"},
    {"ＯＳＣＥ", "osce"},
    {"Đà", "da"},
    {"北京大学", "北京-京大-大学"},
    {"OSCE OR OVSE OR OSZE OR ОБСЕ OR \"Organization for Security and Co-operation in Europe\"",
     "(or osce ovse osze обсе (phrase organization for security and co-operation|cooperation "
     "in europe))"},
    {"\"ukraine border\"~4 OR \"oekraïne grens\"~4 OR \"ukraine biên giới\"~6",
     "(or (phrase~4 ukraine border) (phrase~4 oekraine grens) (phrase~6 ukraine bien gioi))"},
    {"\"a b\"~0", "(phrase~0 a b)"},
    {"\"a b\"~1000", "(phrase~1000 a b)"},
    {"a\tb\nc", "(and a b c)"},
};

static void
test_query_constructs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        struct query *q = NULL;
        char *err = NULL;
        int r = query_parse("t", parse_cases[i].query, &q, &err);
        if (r != 0)
            fail_msg("'%s': %s", parse_cases[i].query, err ? err : "error");
        char *tree = query_format(q);
        assert_non_null(tree);
        if (strcmp(tree, parse_cases[i].tree) != 0)
            fail_msg("'%s' gives %s, want %s", parse_cases[i].query, tree, parse_cases[i].tree);
        free(tree);
        query_free(q);
    }
}

struct error_case {
    const char *query;
    const char *message;
};

static const struct error_case error_cases[] = {
    {"", "topic \"x\": empty query"},
    {"   ", "topic \"x\": empty query"},
    {"(osce OR ukraine", "topic \"x\": expected ')' at column 17"},
    {"(a OR b", "topic \"x\": expected ')' at column 8"},
    {"((a) b", "topic \"x\": expected ')' at column 7"},
    {"(a \"b\"", "topic \"x\": expected ')' at column 7"},
    {"a)", "topic \"x\": unexpected ')' at column 2"},
    {"a OR b) c", "topic \"x\": unexpected ')' at column 7"},
    {"()", "topic \"x\": expected a term after '(' at column 2"},
    {"a OR", "topic \"x\": expected a term after OR at column 5"},
    {"a OR )", "topic \"x\": expected a term after OR at column 6"},
    {"OR a", "topic \"x\": unexpected OR at column 1"},
    {"AND a", "topic \"x\": unexpected AND at column 1"},
    {"a AND", "topic \"x\": expected a term after AND at column 6"},
    {"a AND OR b", "topic \"x\": expected a term after AND at column 7"},
    {"NOT", "topic \"x\": expected a term after NOT at column 4"},
    {"a NOT OR b", "topic \"x\": expected a term after NOT at column 7"},
    {"a -", "topic \"x\": expected a term after '-' at column 4"},
    {"\"abc", "topic \"x\": unterminated quote at column 1"},
    {"a \"b c", "topic \"x\": unterminated quote at column 3"},
    {"\"a b\"~", "topic \"x\": expected a number after '~' at column 7"},
    {"\"a b\"~x", "topic \"x\": expected a number after '~' at column 7"},
    {"\"a b\"~4x", "topic \"x\": expected a number after '~' at column 7"},
    {"\"a b\"~1001", "topic \"x\": proximity ~N too large (at most 1000) at column 7"},
    {"\"a b\"~99999999999999999999",
     "topic \"x\": proximity ~N too large (at most 1000) at column 7"},
    {"\"a b\"c", "topic \"x\": expected a space after the phrase at column 6"},
    {"title:", "topic \"x\": expected a term after 'title:' at column 7"},
    {"title: osce", "topic \"x\": expected a term after 'title:' at column 7"},
    {"title:OR", "topic \"x\": expected a term after 'title:' at column 7"},
    {"title:title:a", "topic \"x\": expected a term after 'title:' at column 7"},
    {"\"\"", "topic \"x\": empty phrase at column 1"},
    {"a \"?!\"", "topic \"x\": empty phrase at column 3"},
    {"!!!", "topic \"x\": no letters or digits in '!!!' at column 1"},
    {"osce *", "topic \"x\": no letters or digits in '*' at column 6"},
    {"a*b", "topic \"x\": '*' is allowed only at the end of a word at column 2"},
    {"*ukraine", "topic \"x\": '*' is allowed only at the end of a word at column 1"},
    {"word~2", "topic \"x\": '~' applies only to a quoted phrase at column 5"},
    /* Columns count characters, not bytes. */
    {"Oekraïne (grens", "topic \"x\": expected ')' at column 16"},
    {"ОБСЕ OR", "topic \"x\": expected a term after OR at column 8"},
    {"a \xff", "topic \"x\": invalid UTF-8 at column 3"},
    /* Strict UTF-8 (base/utf8.h): an overlong '/', a surrogate, past U+10FFFF. */
    {"a \xc0\xaf", "topic \"x\": invalid UTF-8 at column 3"},
    {"ab \xed\xa0\x80", "topic \"x\": invalid UTF-8 at column 4"},
    {"\xf4\x90\x80\x80 a", "topic \"x\": invalid UTF-8 at column 1"},
};

static void
test_query_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        struct query *q = NULL;
        char *err = NULL;
        int r = query_parse("x", error_cases[i].query, &q, &err);
        if (r != -EINVAL)
            fail_msg("'%s' parsed (%d), want an error", error_cases[i].query, r);
        assert_null(q);
        assert_non_null(err);
        if (strcmp(err, error_cases[i].message) != 0)
            fail_msg("'%s': got '%s', want '%s'", error_cases[i].query, err,
                     error_cases[i].message);
        free(err);
    }
}

static void
test_query_error_without_name(void **state)
{
    struct query *q = NULL;
    char *err = NULL;
    (void)state;

    assert_int_equal(query_parse(NULL, "(osce OR ukraine", &q, &err), -EINVAL);
    assert_string_equal(err, "query: expected ')' at column 17");
    free(err);
    err = NULL;
    assert_int_equal(query_parse(NULL, "", &q, &err), -EINVAL);
    assert_string_equal(err, "query: empty query");
    free(err);
}

static void
test_query_limits(void **state)
{
    char big[QUERY_MAX_LEN + 2];
    struct query *q = NULL;
    char *err = NULL;
    (void)state;

    /* Nesting. */
    memset(big, '(', QUERY_MAX_DEPTH + 1);
    memcpy(big + QUERY_MAX_DEPTH + 1, "a", 2);
    assert_int_equal(query_parse("x", big, &q, &err), -EINVAL);
    assert_string_equal(err, "topic \"x\": too deeply nested (at most 32 levels) at column 33");
    free(err);
    err = NULL;
    memset(big, '-', QUERY_MAX_DEPTH + 1);
    memcpy(big + QUERY_MAX_DEPTH + 1, "a", 2);
    assert_int_equal(query_parse("x", big, &q, &err), -EINVAL);
    assert_string_equal(err, "topic \"x\": too deeply nested (at most 32 levels) at column 33");
    free(err);
    err = NULL;
    /* Just inside the limit is fine. */
    memset(big, '(', QUERY_MAX_DEPTH);
    memcpy(big + QUERY_MAX_DEPTH, "a", 1);
    memset(big + QUERY_MAX_DEPTH + 1, ')', QUERY_MAX_DEPTH);
    big[2 * QUERY_MAX_DEPTH + 1] = '\0';
    assert_int_equal(query_parse("x", big, &q, &err), 0);
    query_free(q);
    q = NULL;

    /* Number of terms. */
    size_t k = 0;
    for (int i = 0; i <= QUERY_MAX_LEAVES; i++)
        k += (size_t)snprintf(big + k, sizeof(big) - k, "w%d ", i);
    assert_int_equal(query_parse("x", big, &q, &err), -EINVAL);
    assert_non_null(strstr(err, "too many terms (at most 256) at column"));
    free(err);
    err = NULL;

    /* Length. */
    memset(big, 'a', QUERY_MAX_LEN + 1);
    big[QUERY_MAX_LEN + 1] = '\0';
    assert_int_equal(query_parse("x", big, &q, &err), -EINVAL);
    assert_non_null(strstr(err, "query too long (at most 4096 bytes)"));
    free(err);
    err = NULL;

    /* Words in a phrase. */
    k = (size_t)snprintf(big, sizeof(big), "\"");
    for (int i = 0; i <= QUERY_MAX_UNITS; i++)
        k += (size_t)snprintf(big + k, sizeof(big) - k, "w%d ", i);
    (void)snprintf(big + k, sizeof(big) - k, "\"");
    assert_int_equal(query_parse("x", big, &q, &err), -EINVAL);
    assert_string_equal(err, "topic \"x\": phrase too long (at most 32 words) at column 1");
    free(err);
}

static void
test_query_leaf_details(void **state)
{
    struct query *q = NULL;
    char *err = NULL;
    (void)state;

    assert_int_equal(query_parse("x", "osce title:\"Ukraine  border\"~4", &q, &err), 0);
    assert_int_equal(q->n_leaves, 2);
    const struct query_node *and = q->root;
    assert_int_equal(and->op, QUERY_AND);
    const struct query_node *t = and->children[0], *p = and->children[1];
    assert_int_equal(t->op, QUERY_TERM);
    assert_string_equal(t->text, "osce");
    assert_int_equal(t->column, 1);
    assert_false(t->title_only);
    assert_int_equal(p->op, QUERY_PHRASE);
    assert_string_equal(p->text, "\"Ukraine  border\"~4");
    assert_int_equal(p->column, 12);
    assert_true(p->title_only);
    assert_int_equal(p->slop, 4);
    assert_int_equal(p->n_units, 2);
    assert_string_equal(p->units[0].parts[0], "ukraine");
    assert_null(p->units[0].joined);
    query_free(q);
    query_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_constructs),         cmocka_unit_test(test_query_errors),
        cmocka_unit_test(test_query_error_without_name), cmocka_unit_test(test_query_limits),
        cmocka_unit_test(test_query_leaf_details),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
