/* Unit tests for feeds/lang.c: language detection and stopword density. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testfile.h"

#include "text/lang.h"

static void
expect_lang(const char *text, const char *want)
{
    const char *got = lang_detect(text, strlen(text));
    if (!want) {
        if (got)
            fail_msg("lang_detect(%s) = %s, want NULL", text, got);
        return;
    }
    if (!got || strcmp(got, want) != 0)
        fail_msg("lang_detect(%s) = %s, want %s", text, got ? got : "NULL", want);
}

static void
test_lang_seeds(void **state)
{
    static const struct {
        const char *file, *lang;
    } seeds[] = {
        {"000_b1d9be76c26ba483.txt", "nl"}, {"001_c3de49d25fb89459.txt", "en"},
        {"002_86e90aea73c19656.txt", "vi"}, {"003_0dca9f2e86cd725b.txt", "nl"},
        {"004_76fb76036a12c196.txt", "en"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        size_t len;
        char *text = test_read_seed(seeds[i].file, &len);
        const char *got = lang_detect(text, len);
        if (!got || strcmp(got, seeds[i].lang) != 0)
            fail_msg("%s: got %s, want %s", seeds[i].file, got ? got : "NULL", seeds[i].lang);
        free(text);
    }
}

static void
test_lang_short_samples(void **state)
{
    (void)state;
    expect_lang("The minister said that the talks with the government would continue next week.",
                "en");
    expect_lang("De minister zei dat de gesprekken met de regering volgende week worden "
                "voortgezet.",
                "nl");
    expect_lang("Der Minister sagte, dass die Gespräche mit der Regierung in der nächsten Woche "
                "fortgesetzt werden.",
                "de");
    expect_lang("Le ministre a déclaré que les discussions avec le gouvernement se poursuivront "
                "la semaine prochaine.",
                "fr");
    expect_lang("El ministro dijo que las conversaciones con el gobierno continuarán la próxima "
                "semana.",
                "es");
    expect_lang("O ministro disse que as conversas com o governo vão continuar na próxima "
                "semana e que não há pressa.",
                "pt");
    expect_lang("Il ministro ha detto che i colloqui con il governo continueranno la prossima "
                "settimana.",
                "it");
    expect_lang("Bộ trưởng cho biết các cuộc đàm phán với chính phủ sẽ được tiếp tục vào tuần "
                "tới.",
                "vi");
    expect_lang("Министр сказал, что переговоры с правительством будут продолжены на "
                "следующей неделе и что это очень важно.",
                "ru");
    expect_lang("Міністр сказав, що переговори з урядом будуть продовжені наступного тижня і "
                "що це дуже важливо.",
                "uk");
    expect_lang("Minister powiedział, że rozmowy z rządem będą kontynuowane w przyszłym "
                "tygodniu i że to jest ważne.",
                "pl");
    expect_lang("東京都は新しい計画を発表しました。", "ja");
    expect_lang("国务院今天发布了新的经济政策和措施。", "zh");
}

static void
test_lang_unsure(void **state)
{
    (void)state;
    expect_lang("", NULL);
    expect_lang("12345 67890 !!!", NULL);
    expect_lang("OSCE NATO EU", NULL);
    expect_lang("Xyzzy plugh frobnicate quux wibble wobble.", NULL);
    assert_null(lang_detect(NULL, 0));
}

static void
test_lang_stopword_density(void **state)
{
    static const char en[] = "The cat sat on the mat and it was happy.";
    size_t words, stop;
    (void)state;
    lang_stopwords(en, sizeof(en) - 1, "en", &words, &stop);
    assert_int_equal(words, 10);
    assert_int_equal(stop, 6); /* the on the and it was */
    lang_stopwords(en, sizeof(en) - 1, "en-GB", &words, &stop);
    assert_int_equal(stop, 6);
    lang_stopwords("Get it on Google Play", 21, "nl", &words, &stop);
    assert_int_equal(words, 5);
    assert_int_equal(stop, 0);
    assert_true(lang_has_stopwords("uk"));
    assert_true(lang_has_stopwords("PT-br"));
    assert_false(lang_has_stopwords("zh"));
    assert_false(lang_has_stopwords(NULL));
}

static void
test_lang_stopwords_per_list(void **state)
{
    /* Words in one list, in several, upper case, long, non-ASCII: each looked up exactly. */
    static const struct {
        const char *text, *lang;
        size_t words, stop;
    } cases[] = {
        {"the", "en", 1, 1},
        {"the", "de", 1, 0},
        {"de", "nl", 1, 1},
        {"de", "fr", 1, 1},
        {"de", "en", 1, 0},
        {"DE", "es", 1, 1},
        {"über für", "de", 2, 2},
        {"которые", "ru", 1, 1},
        {"которые", "uk", 1, 0},
        {"також", "uk", 1, 1},
        {"також", "ru", 1, 0},
        {"được người", "vi", 2, 2},
        {"również", "pl", 1, 1},
        {"thee them", "en", 2, 1},
        {"the", NULL, 1, 1},
        {"xyzzy", NULL, 1, 0},
        {"tiene", "xx", 1, 1},
        {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnop the", "en", 2, 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t words = 99, stop = 99;
        lang_stopwords(cases[i].text, strlen(cases[i].text), cases[i].lang, &words, &stop);
        assert_int_equal(words, cases[i].words);
        assert_int_equal(stop, cases[i].stop);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lang_seeds),
        cmocka_unit_test(test_lang_stopwords_per_list),
        cmocka_unit_test(test_lang_short_samples),
        cmocka_unit_test(test_lang_unsure),
        cmocka_unit_test(test_lang_stopword_density),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
