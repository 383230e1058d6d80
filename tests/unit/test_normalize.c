/* Unit tests for feeds/normalize.c: folding in several scripts, hyphens, CJK bigrams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text/normalize.h"

static void
assert_norm(const char *in, const char *want)
{
    char *got = normalize_text(in, strlen(in));
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("normalize(\"%s\") = \"%s\", want \"%s\"", in, got, want);
    free(got);
}

struct tok_rec {
    char norm[160];
    uint32_t pos, span, run;
    size_t off, len;
    int joined, cjk;
};

struct tok_list {
    struct tok_rec t[64];
    size_t n;
};

static int
on_token(const struct normalize_token *tok, void *userdata)
{
    struct tok_list *l = userdata;
    assert_true(l->n < 64);
    struct tok_rec *r = &l->t[l->n++];
    assert_true(tok->norm_len < sizeof(r->norm));
    memcpy(r->norm, tok->norm, tok->norm_len);
    r->norm[tok->norm_len] = '\0';
    r->pos = tok->pos;
    r->span = tok->span;
    r->run = tok->run;
    r->off = tok->off;
    r->len = tok->len;
    r->joined = tok->joined;
    r->cjk = tok->cjk;
    return 0;
}

static void
tokenize(const char *s, struct tok_list *l, uint32_t *next)
{
    memset(l, 0, sizeof(*l));
    assert_int_equal(normalize_tokenize(s, strlen(s), 0, on_token, l, next), 0);
}

static void
test_normalize_latin_diacritics(void **state)
{
    (void)state;
    assert_norm("Oekraïne", "oekraine");
    assert_norm("Ucrânia", "ucrania");
    assert_norm("Organización para la Seguridad", "organizacion para la seguridad");
    assert_norm("Straße Ñandú Ångström", "strasse nandu angstrom");
    assert_norm("Łódź Øresund", "lodz oresund");
    assert_norm("İstanbul", "istanbul");
    assert_norm("ASCII Fast PATH 2022", "ascii fast path 2022");
}

static void
test_normalize_vietnamese(void **state)
{
    (void)state;
    assert_norm("Đà Nẵng", "da nang");
    assert_norm("biên giới với Ukraine", "bien gioi voi ukraine");
    assert_norm("Tổ chức An ninh và Hợp tác châu Âu", "to chuc an ninh va hop tac chau au");
    assert_norm("ĐƯỜNG đường", "duong duong");
}

static void
test_normalize_cyrillic(void **state)
{
    (void)state;
    assert_norm("ОБСЕ", "обсе");
    assert_norm("Украина Ёлка", "украина елка");
}

static void
test_normalize_greek_tonos(void **state)
{
    (void)state;
    assert_norm("Ουκρανία", "ουκρανια");
    /* Final sigma folds to sigma, tonos and dialytika go. */
    assert_norm("ΟΔΟΣ οδός Ϊ", "οδοσ οδοσ ι");
}

static void
test_normalize_full_width(void **state)
{
    (void)state;
    assert_norm("ＯＳＣＥ", "osce");
    assert_norm("ｏｓｃｅ１２３", "osce123");
    /* A full-width hyphen joins like '-'. */
    assert_norm("ｃｏ－ｏｐ", "co op");
}

static void
test_normalize_cjk_bigrams(void **state)
{
    struct tok_list l;
    uint32_t next = 0;
    (void)state;

    tokenize("北京大学", &l, &next);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.t[0].norm, "北京");
    assert_string_equal(l.t[1].norm, "京大");
    assert_string_equal(l.t[2].norm, "大学");
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(l.t[i].pos, i);
        assert_true(l.t[i].cjk);
        assert_int_equal(l.t[i].off, 3 * i);
        assert_int_equal(l.t[i].len, 6);
    }
    assert_int_equal(next, 3);

    /* A lone character is a unigram; Latin next to Han is a word of its own. */
    tokenize("iPhone手机 中 テスト", &l, NULL);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.t[0].norm, "iphone");
    assert_string_equal(l.t[1].norm, "手机");
    assert_string_equal(l.t[2].norm, "中");
    assert_string_equal(l.t[3].norm, "テス");
    assert_string_equal(l.t[4].norm, "スト");
    assert_int_equal(l.t[2].pos, 2);
    assert_int_equal(l.t[3].pos, 3);
}

static void
test_normalize_hyphens(void **state)
{
    struct tok_list l;
    uint32_t next = 0;
    (void)state;

    tokenize("Co-operation in", &l, &next);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.t[0].norm, "co");
    assert_int_equal(l.t[0].pos, 0);
    assert_string_equal(l.t[1].norm, "operation");
    assert_int_equal(l.t[1].pos, 1);
    assert_string_equal(l.t[2].norm, "cooperation");
    assert_true(l.t[2].joined);
    assert_int_equal(l.t[2].pos, 0);
    assert_int_equal(l.t[2].span, 1);
    assert_int_equal(l.t[2].off, 0);
    assert_int_equal(l.t[2].len, strlen("Co-operation"));
    assert_string_equal(l.t[3].norm, "in");
    assert_int_equal(l.t[3].pos, 2);
    assert_int_equal(next, 3);
    assert_int_equal(l.t[0].run, l.t[2].run);
    assert_int_not_equal(l.t[0].run, l.t[3].run);

    /* Typographic apostrophe and U+2010 join too; a dangling hyphen does not. */
    tokenize("Russia\xe2\x80\x99s NATO\xe2\x80\x90Russia x- -y", &l, NULL);
    assert_string_equal(l.t[0].norm, "russia");
    assert_string_equal(l.t[1].norm, "s");
    assert_string_equal(l.t[2].norm, "russias");
    assert_string_equal(l.t[3].norm, "nato");
    assert_string_equal(l.t[4].norm, "russia");
    assert_string_equal(l.t[5].norm, "natorussia");
    assert_string_equal(l.t[6].norm, "x");
    assert_false(l.t[6].joined);
    assert_string_equal(l.t[7].norm, "y");
    assert_int_equal(l.n, 8);

    /* A soft hyphen is invisible: one word. */
    assert_norm("co\xc2\xad"
                "operation",
                "cooperation");
}

static void
test_normalize_hostile_input(void **state)
{
    struct tok_list l;
    char big[600];
    (void)state;

    /* Invalid UTF-8 separates words. */
    assert_norm("ab\xff"
                "cd \xe2\x82 ef",
                "ab cd ef");
    assert_norm("", "");
    assert_norm("!!! --- ...", "");
    /* An overlong word is cut into pieces of NORMALIZE_MAX_WORD code points. */
    memset(big, 'a', 300);
    big[300] = '\0';
    tokenize(big, &l, NULL);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.t[0].len, NORMALIZE_MAX_WORD);
    assert_int_equal(l.t[2].len, 300 - 2 * NORMALIZE_MAX_WORD);
    /* Marks alone and emoji give nothing. */
    assert_norm("\xcc\x81\xcc\x81 \xf0\x9f\x93\x9e", "");
}

static void
test_normalize_offsets(void **state)
{
    struct tok_list l;
    const char *s = "  Oekraïne, «ОБСЕ»";
    (void)state;

    tokenize(s, &l, NULL);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.t[0].off, 2);
    assert_int_equal(l.t[0].len, strlen("Oekraïne"));
    assert_memory_equal(s + l.t[1].off, "ОБСЕ", l.t[1].len);
    assert_int_equal(l.t[1].pos, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_latin_diacritics),
        cmocka_unit_test(test_normalize_vietnamese),
        cmocka_unit_test(test_normalize_cyrillic),
        cmocka_unit_test(test_normalize_greek_tonos),
        cmocka_unit_test(test_normalize_full_width),
        cmocka_unit_test(test_normalize_cjk_bigrams),
        cmocka_unit_test(test_normalize_hyphens),
        cmocka_unit_test(test_normalize_hostile_input),
        cmocka_unit_test(test_normalize_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
