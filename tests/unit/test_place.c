/*
 * Unit tests for place: and alias: (feeds/place.c, the CLDR table, and feeds/match.c): codes
 * and names of every language resolve; names count in their own language's items, English
 * ones in all; the traps of short names stay silent; inflected forms in ru, uk, pl, cs, de,
 * nl, pt, es, it, fr match and words that merely share a prefix do not; subdivisions;
 * the seed articles; aliases; and the names of at least 50 CLDR languages, each found in a
 * text of its own language.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testfile.h"

#include "text/lang.h"
#include "topics/match.h"
#include "text/normalize.h"
#include "topics/place.h"
#include "topics/query.h"

/*
 * Matches text (language lang, NULL: unknown) against query; the "via" of the first term, ""
 * when the term has none, or NULL when nothing matched.
 */
static char *
via_of(const char *query, const char *lang, const char *text)
{
    struct match *m = match_new();
    struct match_result res;
    char *err = NULL;
    static const char *const acme[] = {"ACME Corp", "Acme Corporation", "Wile E. Coyote"};

    assert_non_null(m);
    assert_int_equal(match_alias(m, "acme", acme, 3), 0);
    if (match_add(m, 3, "t", query, &err) != 0)
        fail_msg("query '%s': %s", query, err ? err : "?");
    assert_int_equal(match_build(m), 0);
    struct match_doc doc = {.title = NULL, .text = text, .lang = lang};
    assert_int_equal(match_run(m, &doc, &res), 0);
    match_free(m);
    if (res.n_hits == 0)
        return NULL;
    assert_int_equal(res.n_hits, 1);
    assert_true(res.hits[0].n_terms >= 1);
    const struct match_term *t = &res.hits[0].terms[0];
    char *out = strdup(t->via ? t->via : "");
    assert_non_null(out);
    match_result_done(&res);
    return out;
}

static bool
matches(const char *query, const char *lang, const char *text)
{
    char *v = via_of(query, lang, text);
    free(v);
    return v != NULL;
}

#define MATCH(q, l, t)                                                                             \
    do {                                                                                           \
        if (!matches(q, l, t))                                                                     \
            fail_msg("%s should match [%s] %s", q, (l) ? (l) : "?", t);                            \
    } while (0)
#define NO_MATCH(q, l, t)                                                                          \
    do {                                                                                           \
        if (matches(q, l, t))                                                                      \
            fail_msg("%s should not match [%s] %s", q, (l) ? (l) : "?", t);                        \
    } while (0)

static char *
format_query(const char *text)
{
    struct query *q = NULL;
    char *err = NULL;
    if (query_parse(NULL, text, &q, &err) != 0)
        fail_msg("%s: %s", text, err ? err : "?");
    char *s = query_format(q);
    query_free(q);
    return s;
}

static void
test_place_codes_and_names_resolve(void **state)
{
    static const char *const cases[][2] = {
        {"place:UA", "place:UA"},
        {"place:ua", "place:UA"},
        {"place:Ukraine", "place:UA"},
        {"place:Oekraïne", "place:UA"},
        {"place:oekraine", "place:UA"},
        {"place:Украина", "place:UA"},
        {"place:\"Hoa Kỳ\"", "place:US"},
        {"place:\"Verenigde Staten\"", "place:US"},
        {"place:Deutschland", "place:DE"},
        {"place:UA-14", "place:UA-14"},
        {"title:place:UA OR -place:RU", "(or title:place:UA (not place:RU))"},
        {"alias:ACME osce", "(and alias:acme osce)"},
        {"place:001", "place:001"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = format_query(cases[i][0]);
        assert_string_equal(s, cases[i][1]);
        free(s);
    }
    struct query *q = NULL;
    char *err = NULL;
    assert_int_equal(query_parse("t", "osce place:Atlantis", &q, &err), -EINVAL);
    assert_string_equal(err, "topic \"t\": unknown place 'Atlantis' (an ISO 3166 code or a "
                             "CLDR name) at column 12");
    free(err);
    err = NULL;
    assert_int_equal(query_parse("t", "place:", &q, &err), -EINVAL);
    free(err);
    err = NULL;
    assert_int_equal(query_parse("t", "\"a place:UA\"", &q, &err), 0); /* a plain phrase */
    query_free(q);
    assert_true(place_n_locales >= 50);
}

static void
test_place_names_in_their_language(void **state)
{
    (void)state;
    MATCH("place:UA", "nl", "De Europese Unie en de grens met Oekraïne.");
    MATCH("place:UA", NULL, "De Europese Unie en de grens met Oekraïne.");
    NO_MATCH("place:UA", "en", "The word Oekraïne is Dutch.");
    MATCH("place:UA", "vi", "binh sĩ ở biên giới với Ukraine"); /* English counts everywhere */
    MATCH("place:US", "nl", "een akkoord met de Verenigde Staten en de Navo");
    MATCH("place:US", "vi", "Ngoại trưởng Hoa Kỳ Antony Blinken");
    MATCH("place:US", "vi", "ngoại trưởng hoa ky");
    NO_MATCH("place:US", "vi", "hoa và kỳ"); /* the words of a name in a row only */
    MATCH("place:\"Hoa Kỳ\"", "en", "The United States said");
    MATCH("place:GW", "en", "elections in Guinea-Bissau were held");
    MATCH("place:GW", "en", "elections in Guinea Bissau were held");
    NO_MATCH("place:GW", "en", "elections in Guinea were held");
    MATCH("place:CN", "zh", "中国外交部发言人表示");
    MATCH("place:JP", "ja", "日本政府は");
    MATCH("place:UA", "ru", "Россия и Украина провели переговоры");
    MATCH("place:UA", "pt-BR", "a fronteira com a Ucrânia");
}

static void
test_place_traps_stay_silent(void **state)
{
    (void)state;
    /* "AS" (Indonesian) and "SA" (Irish) are the US; "us", "as", "sa" never are. */
    NO_MATCH("place:US", "en", "Let us talk as friends.");
    NO_MATCH("place:US", NULL, "let us talk as friends, sa");
    NO_MATCH("place:US", "id", "kami as tidak");
    MATCH("place:US", "id", "Presiden AS Joe Biden");
    NO_MATCH("place:US", "en", "Presiden AS Joe Biden"); /* Indonesian name, English item */
    MATCH("place:US", "en", "US troops");                /* English short name, as written */
    NO_MATCH("place:US", "en", "Us troops");
    /* Iceland is "Island" in 17 locales, India "End": not in English items. */
    NO_MATCH("place:IS", "en", "An island in the Pacific.");
    NO_MATCH("place:IS", "en", "An Island in the Pacific.");
    MATCH("place:IS", "de", "Die Regierung von Island");
    NO_MATCH("place:IN", "en", "The End of the story.");
    NO_MATCH("place:IN", NULL, "the end of the story");
}

static void
test_place_inflected_forms(void **state)
{
    (void)state;
    /* Russian (Snowball) */
    MATCH("place:UA", "ru", "Министр заявил о ситуации вокруг Украины.");
    MATCH("place:UA", "ru", "Выборы в Украине прошли спокойно.");
    NO_MATCH("place:UA", "ru", "Украинский язык преподают в школах.");
    /* Ukrainian (Hunspell forms) */
    MATCH("place:UA", "uk", "Ситуація в Україні залишається напруженою.");
    MATCH("place:UA", "uk", "Президент України виступив із заявою.");
    NO_MATCH("place:UA", "uk", "Українець виграв чемпіонат.");
    /* Polish (Hunspell forms) */
    MATCH("place:UA", "pl", "Rosja gromadzi wojska przy granicy Ukrainy.");
    MATCH("place:UA", "pl", "Sytuacja na Ukrainie jest napięta.");
    NO_MATCH("place:UA", "pl", "Ukrainiec zdobył medal.");
    /* Czech (Hunspell forms) */
    MATCH("place:UA", "cs", "Situace na Ukrajině se zhoršuje.");
    MATCH("place:UA", "cs", "Prezident Ukrajiny promluvil k národu.");
    NO_MATCH("place:UA", "cs", "Ukrajinec vyhrál závod.");
    /* German (Snowball) */
    MATCH("place:DE", "de", "Die Wirtschaft Deutschlands wächst wieder.");
    NO_MATCH("place:DE", "de", "Der Deutschlandfunk berichtet.");
    /* Dutch (Snowball): the possessive s */
    MATCH("place:DE", "nl", "Duitslands grootste bank maakt weer winst.");
    NO_MATCH("place:DE", "nl", "De Duitse minister sprak in Brussel.");
    NO_MATCH("place:UA", "nl", "De Oekraïense minister sprak in Brussel.");
    /* Portuguese, Spanish, Italian, French (Snowball): the plural of a name */
    MATCH("place:DE", "pt", "Durante a Guerra Fria havia duas Alemanhas.");
    NO_MATCH("place:DE", "pt", "O alemão é difícil.");
    MATCH("place:DE", "es", "La reunificación de las dos Alemanias.");
    NO_MATCH("place:DE", "es", "Un coche alemán.");
    MATCH("place:DE", "it", "La riunificazione delle due Germanie.");
    NO_MATCH("place:DE", "it", "Un germe nuovo.");
    MATCH("place:DE", "fr", "La réunification des deux Allemagnes.");
    NO_MATCH("place:DE", "fr", "Un vin allemand.");
    /* Stems only in items of that language; Hunspell's forms are names (unknown: all). */
    NO_MATCH("place:UA", "en", "Выборы в Украине прошли спокойно.");
    NO_MATCH("place:UA", NULL, "Выборы в Украине прошли спокойно.");
    MATCH("place:UA", NULL, "Sytuacja na Ukrainie jest napięta.");
    NO_MATCH("place:UA", "en", "Sytuacja na Ukrainie jest napięta.");
    /* Short stems are not used, and none in unknown languages: "hell" is no Greece. */
    NO_MATCH("place:GR", NULL, "a maintenance hell");
    NO_MATCH("place:BR", "en", "Oscar Niemeyer, Brasília"); /* Finnish names Brazil so */
    NO_MATCH("place:IN", NULL, "the Ininiw (Indian)");
}

static void
test_place_subdivisions(void **state)
{
    (void)state;
    MATCH("place:UA-14", "en", "Shelling was reported in Donechchyna overnight.");
    MATCH("place:UA-14", "uk", "Обстріли в регіоні: Донецька область.");
    NO_MATCH("place:UA-14", "en", "Shelling was reported in Kharkiv overnight.");
}

static void
test_place_seeds(void **state)
{
    static const struct {
        const char *file;
        bool ua;
    } seeds[] = {
        {"000_b1d9be76c26ba483.txt", true}, {"001_c3de49d25fb89459.txt", true},
        {"002_86e90aea73c19656.txt", true}, {"003_0dca9f2e86cd725b.txt", true},
        {"004_76fb76036a12c196.txt", true},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        char *text = test_read_seed(seeds[i].file, NULL);
        /* The language the daemon gives a seed: detected from its words. */
        const char *lang = lang_detect(text, strlen(text));
        assert_non_null(lang);
        char *via = via_of("place:UA", lang, text);
        if ((via != NULL) != seeds[i].ua)
            fail_msg("%s [%s]: place:UA %s", seeds[i].file, lang, via ? via : "no match");
        free(via);
        /* Unknown language: every locale's names. */
        assert_true(matches("place:UA", NULL, text));
        /* The OSCE is no place; Russia is in all five. */
        assert_true(matches("place:RU OR place:Rusland", lang, text));
        free(text);
    }
}

static void
test_alias_sets(void **state)
{
    (void)state;
    char *v = via_of("alias:acme", "en", "Shares of Acme Corporation fell.");
    assert_non_null(v);
    assert_string_equal(v, "alias acme: \"Acme Corporation\"");
    free(v);
    MATCH("alias:Acme", "de", "Die ACME Corp. hat Verluste gemeldet.");
    MATCH("alias:acme AND place:US", "en", "Wile E. Coyote sued in the United States.");
    NO_MATCH("alias:acme", "en", "Acme rose; Corp fell.");
    struct match *m = match_new();
    char *err = NULL;
    assert_int_equal(match_add(m, 0, "cars", "tesla OR alias:bmw", &err), -EINVAL);
    assert_string_equal(err, "topic \"cars\": unknown alias 'bmw' at column 10 (no "
                             "[alias \"bmw\"] in the config)");
    free(err);
    static const char *const one[] = {"x"};
    assert_int_equal(match_alias(m, "bmw", one, 1), 0);
    assert_int_equal(match_alias(m, "BMW", one, 1), -EEXIST);
    match_free(m);
}

static void
test_place_explain_says_which_name(void **state)
{
    (void)state;
    char *v = via_of("place:UA", "nl", "de grens met Oekraïne");
    assert_non_null(v);
    assert_non_null(strstr(v, "place UA: \"Oekraïne\" ("));
    assert_non_null(strstr(v, "nl"));
    free(v);
    v = via_of("place:UA", "ru", "вокруг Украины");
    assert_non_null(v);
    assert_string_equal(v, "place UA: \"Украина\" (ru), inflected (Snowball ru)");
    free(v);
    v = via_of("place:UA", "pl", "na Ukrainie");
    assert_non_null(v);
    assert_string_equal(v, "place UA: \"Ukrainie\" (pl), a Hunspell form");
    free(v);
    v = via_of("osce", "en", "the OSCE");
    assert_string_equal(v, "");
    free(v);
}

/* Every CLDR name of Ukraine, in a sentence of its own language, matches place:UA. */
static void
test_place_fifty_locales(void **state)
{
    size_t rec;
    bool seen[4096] = {false};
    size_t langs = 0, names = 0;

    (void)state;
    assert_int_equal(place_lookup("UA", 2, &rec), 0);
    struct match *m = match_new();
    char *err = NULL;
    assert_int_equal(match_add(m, 0, "ua", "place:UA", &err), 0);
    assert_int_equal(match_build(m), 0);
    for (size_t i = 0; i < place_n_names_of(rec); i++) {
        struct place_name_view v;
        place_name_get(rec, i, &v);
        if (v.flags & PLACE_FORM)
            continue;
        for (size_t j = 0; j < v.n_langs; j++) {
            char text[512];
            (void)snprintf(text, sizeof(text), "«%s» — 2022.", v.name);
            struct match_doc doc = {.text = text, .lang = place_lang_code(v.langs[j])};
            struct match_result res;
            assert_int_equal(match_run(m, &doc, &res), 0);
            if (res.n_hits != 1)
                fail_msg("'%s' [%s] does not match place:UA", v.name, doc.lang);
            match_result_done(&res);
            if (v.langs[j] < 4096 && !seen[v.langs[j]]) {
                seen[v.langs[j]] = true;
                langs++;
            }
            names++;
        }
    }
    match_free(m);
    print_message("place:UA: %zu names in %zu languages\n", names, langs);
    assert_true(langs >= 50);
}

/* The generator folds names as normalize_text() does: every indexed name finds its place. */
static void
test_place_index_folds_like_normalize(void **state)
{
    size_t bad = 0;
    (void)state;
    for (size_t i = 0; i < place_n_index; i++) {
        const char *f = place_strings + place_index[i].folded;
        char *n = normalize_text(f, strlen(f));
        assert_non_null(n);
        if (strcmp(n, f) != 0) {
            if (bad < 5)
                print_message("folds differently: '%s' → '%s'\n", f, n);
            bad++;
        }
        free(n);
    }
    print_message("%zu of %zu indexed names fold differently\n", bad, place_n_index);
    assert_int_equal(bad, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_place_codes_and_names_resolve),
        cmocka_unit_test(test_place_names_in_their_language),
        cmocka_unit_test(test_place_traps_stay_silent),
        cmocka_unit_test(test_place_inflected_forms),
        cmocka_unit_test(test_place_subdivisions),
        cmocka_unit_test(test_place_seeds),
        cmocka_unit_test(test_alias_sets),
        cmocka_unit_test(test_place_explain_says_which_name),
        cmocka_unit_test(test_place_fifty_locales),
        cmocka_unit_test(test_place_index_folds_like_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
