/*
 * test_story.c — story signatures (feeds/topics/story.h): numbers written the ways languages
 * write them meet, names in Cyrillic meet their Latin spelling, places are found in any
 * language, the rule, names weighed by rarity, merging, and the bytes the store keeps. The rule's
 * figures on the frozen pairs set are tests/story_eval.c's (ctest fixtures/stories-eval).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "text/simhash.h"
#include "topics/story.h"

static struct story_places *places;

static int
setup(void **state)
{
    (void)state;
    return story_places_new(&places);
}

static int
teardown(void **state)
{
    (void)state;
    story_places_free(places);
    return 0;
}

static void
sig(const char *title, const char *text, const char *lang, struct story_sig *ret)
{
    assert_int_equal(story_sig_make(places, title, text, lang, 0, ret), 0);
}

static unsigned
count_kind(const struct story_sig *s, unsigned kind)
{
    unsigned n = 0;
    for (size_t i = 0; i < s->n_keys; i++)
        n += STORY_KEY_KIND(s->keys[i]) == kind;
    return n;
}

static struct story_shared
shared(const struct story_sig *a, const struct story_sig *b)
{
    struct story_shared s;
    story_compare(a, b, &s);
    return s;
}

/* 1,234.5 (en) = 1.234,5 (de) = 1 234,5 (fr); 7.5 = 7,5; small integers say nothing. */
static void
test_numbers_meet_across_languages(void **state)
{
    struct story_sig en, de, fr, small;
    (void)state;
    sig(NULL, "The fund grew to 1,234.5 million, a rise of 7.5% since 2018.", "en", &en);
    sig(NULL, "der Fonds wuchs auf 1.234,5 Millionen, plus 7,5 % seit 2018.", "de", &de);
    sig(NULL, "le fonds atteint 1 234,5 millions, soit 7,5 % depuis 2018.", "fr", &fr);
    assert_int_equal(count_kind(&en, STORY_KEY_NUMBER), 3);
    assert_int_equal(shared(&en, &de).numbers, 3);
    assert_int_equal(shared(&en, &fr).numbers, 3);
    /* A lone ',' before three digits: thousands in English, a decimal comma in German. */
    struct story_sig en2, de2;
    sig(NULL, "about 1,500 people", "en", &en2);
    sig(NULL, "etwa 1.500 Menschen", "de", &de2);
    assert_int_equal(shared(&en2, &de2).numbers, 1);
    sig(NULL, "he scored 1-0 in 3 minutes, 10 shots", "en", &small);
    assert_int_equal(count_kind(&small, STORY_KEY_NUMBER), 0);
}

/* Names in Cyrillic meet their Latin spelling, inflected or not; sentence starts do not count. */
static void
test_names_meet_across_scripts(void **state)
{
    struct story_sig en, ru, uk, plain;
    (void)state;
    sig(NULL, "On Saturday Daniel Sturridge saved Liverpool against Chelsea.", "en", &en);
    sig(NULL, "В субботу Дэниэл Старридж спас «Ливерпуль» от поражения в матче с «Челси».", "ru",
        &ru);
    sig(NULL, "У суботу Деніел Старрідж врятував «Ліверпуль» у матчі з «Челсі».", "uk", &uk);
    struct story_shared s = shared(&en, &ru);
    assert_true(s.names >= 4); /* Daniel, Sturridge, Liverpool, Chelsea */
    assert_true(shared(&en, &uk).names >= 4);
    /* Words capitalised only because they start a sentence are no names. */
    sig(NULL, "The talks went on. They ended late.", "en", &plain);
    assert_int_equal(count_kind(&plain, STORY_KEY_NAME), 0);
}

/* Places in any language, by the CLDR table; "us" the pronoun is no place. */
static void
test_places_in_any_language(void **state)
{
    struct story_sig nl, vi, en;
    (void)state;
    sig(NULL, "De grens met Oekraïne en Rusland blijft gesloten.", "nl", &nl);
    sig(NULL, "Biên giới với Ukraine và Nga vẫn đóng cửa.", "vi", &vi);
    assert_int_equal(count_kind(&nl, STORY_KEY_PLACE), 2);
    assert_int_equal(shared(&nl, &vi).places, 2);
    sig(NULL, "let us go as we said", "en", &en);
    assert_int_equal(count_kind(&en, STORY_KEY_PLACE), 0);
}

/* The rule: one event in two languages is the same story, two matches of one day are not. */
static void
test_rule(void **state)
{
    struct story_sig a, b, c;
    (void)state;
    sig("Menga strike gives Livingston 1-0 win over Rangers",
        "Dolly Menga's first goal for Livingston stunned Rangers and Steven Gerrard, "
        "in his 18th game as manager.",
        "en", &a);
    sig("Un gol de Menga da al Livingston la victoria 1-0 sobre los Rangers",
        "El primer gol de Dolly Menga para el Livingston sorprendió a los Rangers y a Steven "
        "Gerrard, en su partido 18 como entrenador.",
        "es", &b);
    sig("Aguero goal gives Manchester City win over Brighton",
        "Sergio Aguero and Raheem Sterling beat Brighton at the Etihad Stadium in the 65th "
        "minute.",
        "en", &c);
    assert_true(story_same(&a, &b));
    assert_true(story_score(&(struct story_shared){.names = 0}) == 0);
    assert_false(story_same(&a, &c));
    assert_false(story_same(&b, &c));
    /* Numbers and places alone never make a story: a name must be shared. */
    struct story_sig n1, n2;
    sig(NULL, "ukraine 4821 losses", NULL, &n1);
    sig(NULL, "ukraine 4821 harvest", NULL, &n2);
    struct story_shared s = shared(&n1, &n2);
    assert_int_equal(s.numbers, 1);
    assert_true(story_score(&s) >= 1.5);
    assert_false(story_same(&n1, &n2));
    /* A near-duplicate (SimHash) is the same story whatever the keys. */
    n1.simhash = n2.simhash = 0x0123456789abcdefULL;
    assert_true(story_same(&n1, &n2));
}

static unsigned
df_const(void *userdata, uint32_t key)
{
    (void)key;
    return *(const unsigned *)userdata;
}

/*
 * A topic's cast is no story (issue 17): two Kavanaugh stories of one week (the hearing's
 * audience, Pelosi's words) share four names and no number, and stay apart even before any
 * rarity is known (a topic's first stories). A shared name that many of the topic's other
 * stories have weighs less: two reports of one event that share only such names are no
 * longer one story.
 */
static void
test_rarity(void **state)
{
    struct story_sig a, b, c, d;
    (void)state;
    sig("Kavanaugh hearing drew 20 million viewers",
        "Brett Kavanaugh and Christine Blasey Ford testified before the Senate on Thursday.", "en",
        &a);
    sig("Pelosi says Kavanaugh is unfit",
        "Nancy Pelosi said Brett Kavanaugh was hysterical when Christine Blasey Ford's account "
        "was heard by the Senate.",
        "en", &b);
    unsigned df = 0;
    struct story_shared s0;
    story_compare_df(&a, &b, df_const, &df, &s0);
    assert_true(s0.names >= 4);
    assert_int_equal(s0.numbers, 0);
    assert_true(s0.names_w == s0.names);
    assert_true(story_score(&s0) < 2.0);
    assert_false(story_same_df(&a, &b, df_const, &df));
    assert_false(story_same(&a, &b)); /* no rarity known: every name weighs 1 */

    sig("Flake asks for FBI inquiry into Kavanaugh",
        "Senator Jeff Flake asked the FBI to look into Brett Kavanaugh before the Judiciary "
        "Committee votes, after Christine Blasey Ford testified.",
        "en", &c);
    sig("Flake wants the FBI to look at Kavanaugh",
        "Jeff Flake wants the FBI to investigate Brett Kavanaugh; the Judiciary Committee heard "
        "Christine Blasey Ford.",
        "en", &d);
    struct story_shared t0, t3, t9;
    df = 0;
    story_compare_df(&c, &d, df_const, &df, &t0);
    assert_true(story_score(&t0) >= 2.0);
    assert_true(story_same_df(&c, &d, df_const, &df));
    df = 3; /* the topic's other stories: a few have them too */
    story_compare_df(&c, &d, df_const, &df, &t3);
    assert_true(t3.names_w == t0.names_w);
    assert_true(story_same_df(&c, &d, df_const, &df));
    df = 9; /* most of the topic's stories of the week name them: its cast */
    story_compare_df(&c, &d, df_const, &df, &t9);
    assert_int_equal(t9.names, t0.names);
    assert_true(t9.names_w < t0.names_w / 4);
    assert_false(story_same_df(&c, &d, df_const, &df));
}

/*
 * A distinctive detail makes a story whatever the score: a shared number with two shared
 * names, or with a shared name and a shared place (Palu's 384 dead, in English and German).
 */
static void
test_distinctive_detail(void **state)
{
    struct story_sig a, b, c;
    (void)state;
    sig("Tsunami kills 384 in Indonesia",
        "At least 384 people died in Palu when a tsunami struck after a strong earthquake, "
        "Sutopo Purwo Nugroho of the agency BNPB told Reuters in Jakarta, as rescuers searched "
        "the rubble of the Roa Roa hotel and the Tatura mall.",
        "en", &a);
    sig("Tsunami in Indonesien",
        "Mindestens 384 Menschen starben in Palu, als eine Flutwelle nach einem schweren "
        "Erdbeben die Küste traf, meldete die Deutsche Presse-Agentur aus Berlin; Präsident "
        "Joko Widodo wollte die Stadt am Sonntag besuchen.",
        "de", &b);
    struct story_shared s = shared(&a, &b);
    assert_true(s.numbers >= 1 && s.names >= 1 && s.places >= 1);
    assert_true(story_score(&s) < 2.0);
    assert_true(story_same(&a, &b));
    /* The same number and place without a shared name: no story. */
    sig("Flooding in Indonesia", "At least 384 homes were flooded in Surabaya, officials said.",
        "en", &c);
    s = shared(&a, &c);
    assert_true(s.numbers >= 1 && s.places >= 1 && s.names == 0);
    assert_false(story_same(&a, &c));
}

/*
 * A year is no distinctive detail: two events of one topic in one year share it
 * with their country and its leader, and the second must still be alerted.
 */
static void
test_year_is_weak(void **state)
{
    struct story_sig a, b, c;
    (void)state;
    sig("Zelensky opens grain corridor talks",
        "In Odesa, Ukraine, President Zelensky said on Tuesday that grain exports in 2026 will "
        "rise.",
        "en", &a);
    sig("Dam breach floods villages",
        "A dam failed near Kherson overnight, Ukraine's emergency service said. Zelensky ordered "
        "an evacuation of 3 villages; repairs may take until 2026.",
        "en", &b);
    struct story_shared s = shared(&a, &b);
    assert_true(s.numbers == 1 && s.names >= 1 && s.places >= 1);
    assert_int_equal(s.numbers_strong, 0);
    assert_false(story_same(&a, &b));
    /* A number that is no year still is one. */
    sig("Dam breach floods villages",
        "A dam failed near Kherson overnight, Ukraine's emergency service said. Zelensky ordered "
        "an evacuation of 2750 people.",
        "en", &b);
    sig("Kherson dam fails", "Zelensky says 2750 people leave their homes in Ukraine's south.",
        "en", &c);
    s = shared(&b, &c);
    assert_int_equal(s.numbers_strong, 1);
    assert_true(story_same(&b, &c));
}

/*
 * A bait item that lists a topic's whole cast and many numbers is not the story of every item
 * that shares a few of them: what two items share must be a fair part of each.
 */
static void
test_bait(void **state)
{
    struct story_sig bait, dam;
    (void)state;
    sig("Ukraine daily digest",
        "Today in Ukraine: said Zelensky, said Putin, said Macron, said Scholz, said Biden, said "
        "Trump, said Erdogan, said Stoltenberg, said Rutte, said Tusk, said Orban, said Kuleba, "
        "said Shmyhal, said Lavrov, said Peskov, said Borrell, said Leyen, said Michel, said "
        "Sunak, said Starmer. Figures for 2024, 2025, 2026, 2027; 12, 15, 20, 25, 30, 40, 50, "
        "100, 200, 500, 1000 people.",
        "en", &bait);
    sig("Dam breach floods villages",
        "A dam failed near Kherson overnight, officials in Ukraine said. Zelensky ordered the "
        "evacuation of 40 homes and said Macron had offered help.",
        "en", &dam);
    struct story_shared s = shared(&bait, &dam);
    assert_true(s.numbers_strong >= 1 && s.names >= 2);
    assert_false(story_same(&bait, &dam));
    assert_false(story_same(&dam, &bait));
}

/* Merging keeps the keys sorted and unique and stops at STORY_MAX_KEYS. */
static void
test_merge(void **state)
{
    struct story_sig a = {.n_keys = 3, .keys = {1, 5, 9}}, b = {.n_keys = 3, .keys = {2, 5, 10}};
    (void)state;
    story_sig_merge(&a, &b);
    assert_int_equal(a.n_keys, 5);
    static const uint32_t want[] = {1, 2, 5, 9, 10};
    assert_memory_equal(a.keys, want, sizeof(want));
    struct story_sig full = {.n_keys = STORY_MAX_KEYS};
    for (size_t i = 0; i < STORY_MAX_KEYS; i++)
        full.keys[i] = (uint32_t)(2 * i + 2);
    struct story_sig more = {.n_keys = 2, .keys = {1, 1001}};
    story_sig_merge(&full, &more);
    assert_int_equal(full.n_keys, STORY_MAX_KEYS);
    assert_int_equal(full.keys[0], 2); /* its own keys stay */
}

/* The bytes round-trip; anything else is refused. */
static void
test_pack(void **state)
{
    struct story_sig a, b;
    uint8_t buf[STORY_SIG_BYTES_MAX];
    (void)state;
    sig("Sturridge saves Liverpool", "Daniel Sturridge scored in the 89th minute in London.", "en",
        &a);
    a.simhash = simhash_text("Daniel Sturridge scored in the 89th minute at Stamford Bridge");
    size_t n = story_sig_pack(&a, buf);
    assert_int_equal(n, 8 + 4 * a.n_keys);
    assert_int_equal(story_sig_unpack(buf, n, &b), 0);
    assert_int_equal(b.n_keys, a.n_keys);
    assert_true(b.simhash == a.simhash);
    assert_memory_equal(b.keys, a.keys, a.n_keys * sizeof(a.keys[0]));
    assert_int_equal(story_sig_unpack(buf, n - 1, &b), -EINVAL); /* not whole keys */
    assert_int_equal(story_sig_unpack(buf, 7, &b), -EINVAL);
    if (a.n_keys >= 2) {
        memcpy(buf + 12, buf + 8, 4); /* keys out of order */
        assert_int_equal(story_sig_unpack(buf, n, &b), -EINVAL);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_meet_across_languages),
        cmocka_unit_test(test_names_meet_across_scripts),
        cmocka_unit_test(test_places_in_any_language),
        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_rarity),
        cmocka_unit_test(test_distinctive_detail),
        cmocka_unit_test(test_year_is_weak),
        cmocka_unit_test(test_bait),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_pack),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
