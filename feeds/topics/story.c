#include "topics/story.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/hash.h"
#include "text/normalize.h"
#include "text/simhash.h"
#include "topics/match.h"
#include "topics/place.h"

#define MAX_CANDIDATES 512 /* name words looked at per item */
#define SKELETON_MAX 6     /* symbols of a name's skeleton kept: inflection lives past them */
#define SKELETON_MIN 3     /* shorter skeletons collide too often */
#define NUMBER_MIN 11      /* integers below this are counts and scores of every story */
#define YEAR_MIN 1900      /* the plain integers YEAR_MIN..YEAR_MAX are most often years: */
#define YEAR_MAX 2100      /* every story of a year has one, so they are weak numbers */

/* ---- Places ---- */

struct story_places {
    struct match *m; /* one place:XX topic per CLDR territory, the topic index its record */
};

int
story_places_new(struct story_places **ret)
{
    struct story_places *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->m = match_new();
    int r = p->m ? 0 : -ENOMEM;
    for (size_t rec = 0; rec < place_n_recs && r == 0; rec++) {
        if (place_recs[rec].kind != 0)
            continue; /* subdivisions: too many names shared with people and towns */
        const char *code = place_code(rec);
        if (strcmp(code, "001") == 0 || strcmp(code, "ZZ") == 0)
            continue; /* "World", "Unknown Region" */
        char query[32];
        strcpy(query, "place:");
        strncat(query, code, sizeof(query) - 7);
        char *why = NULL;
        r = match_add(p->m, rec, code, query, &why);
        free(why);
    }
    if (r == 0)
        r = match_build(p->m);
    if (r < 0) {
        story_places_free(p);
        return r == -EINVAL ? -ENOMEM : r;
    }
    *ret = p;
    return 0;
}

void
story_places_free(struct story_places *p)
{
    if (!p)
        return;
    match_free(p->m);
    free(p);
}

/* ---- Keys ---- */

struct keyset {
    uint32_t *keys;
    size_t n;
};

static void
key_add(struct keyset *ks, unsigned kind, const void *s, size_t len)
{
    if (ks->n == STORY_MAX_KEYS)
        return;
    uint32_t h = (uint32_t)hash_final(hash_update(HASH_SEED, s, len));
    uint32_t k = (kind << 30) | (h & 0x3fffffffu);
    for (size_t i = 0; i < ks->n; i++)
        if (ks->keys[i] == k)
            return;
    ks->keys[ks->n++] = k;
}

/*
 * Whether a number key is a weak number (a year, YEAR_MIN..YEAR_MAX written as a plain integer):
 * found by hashing the candidates, so that the signatures the store keeps stay as they are.
 */
static bool
weak_number(uint32_t k)
{
    for (int y = YEAR_MIN; y <= YEAR_MAX; y++) {
        char d[4] = {(char)('0' + y / 1000), (char)('0' + y / 100 % 10), (char)('0' + y / 10 % 10),
                     (char)('0' + y % 10)};
        uint32_t h = (uint32_t)hash_final(hash_update(HASH_SEED, d, sizeof(d)));
        if (((STORY_KEY_NUMBER << 30) | (h & 0x3fffffffu)) == k)
            return true;
    }
    return false;
}

/* ---- Names ---- */

/* Folded Cyrillic and Greek letters in Latin (the common romanizations; uk г is h). */
static const char *
translit(utf8proc_int32_t cp, bool uk)
{
    static const char *const cyr[] = {
        "a", "b", "v", "g", "d", "e",  "zh", "z",  "i",  "i",    "k", "l", "m", "n", "o",  "p",
        "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "",  "y", "",  "e", "yu", "ya",
    }; /* а..я, U+0430..U+044F */
    static const char *const grk[] = {
        "a",  "v", "g", "d", "e", "z", "i", "th", "i", "k",  "l",  "m", "n",
        "ks", "o", "p", "r", "s", "s", "t", "i",  "f", "kh", "ps", "o",
    }; /* α..ω, U+03B1..U+03C9 (ς at U+03C2) */
    if (cp >= 0x430 && cp <= 0x44f)
        return cp == 0x433 && uk ? "h" : cyr[cp - 0x430];
    if (cp >= 0x3b1 && cp <= 0x3c9)
        return grk[cp - 0x3b1];
    switch (cp) {
    case 0x454:
        return "e"; /* є */
    case 0x456:
        return "i"; /* і */
    case 0x457:
        return "i"; /* ї */
    case 0x491:
        return "g"; /* ґ */
    case 0x451:
        return "e"; /* ё */
    case 0xe6:
        return "ae"; /* æ */
    case 0x153:
        return "oe"; /* œ */
    case 0xfe:
        return "th"; /* þ */
    case 0xf0:
        return "d"; /* ð */
    default:
        return NULL;
    }
}

/*
 * The skeleton of a romanized word: digraphs to one sound (dzh dg zh j → J, sch sh → S,
 * tch ch → C, ph → f, th → t, ck c q k → k, ts tz z s → s, w v → v, x → ks), h dropped,
 * every vowel one symbol 'a' (and so j after a vowel, w before none: "Sergej" = "Sergei",
 * "Moscow" = "Moskou"), repeats collapsed, a final vowel dropped, cut at SKELETON_MAX.
 * So names spelt by sound in another script meet their Latin spelling: "Sturridge" and
 * "Старридж" (starridzh) are both "staraJ", "Chelsea" and "Челси" "Cals". Its length.
 */
static size_t
skeleton(const char *s, size_t n, char *out)
{
    static const struct {
        const char *from;
        char to;
    } digraphs[] = {
        {"dzh", 'J'}, {"sch", 'S'}, {"tch", 'C'}, {"shch", 'S'}, {"dg", 'J'},
        {"zh", 'J'},  {"sh", 'S'},  {"ch", 'C'},  {"kh", 0},     {"ph", 'f'},
        {"th", 't'},  {"ck", 'k'},  {"ts", 's'},  {"tz", 's'},   {"gh", 'g'},
    };
    size_t k = 0;
    char buf[SKELETON_MAX + 2];
    for (size_t i = 0; i < n && k < sizeof(buf);) {
        char sym = 0;
        size_t adv = 1;
        bool found = false;
        for (size_t d = 0; d < sizeof(digraphs) / sizeof(digraphs[0]); d++) {
            size_t dl = strlen(digraphs[d].from);
            if (i + dl <= n && memcmp(s + i, digraphs[d].from, dl) == 0) {
                sym = digraphs[d].to;
                adv = dl;
                found = true;
                break;
            }
        }
        if (!found) {
            switch (s[i]) {
            case 'a':
            case 'e':
            case 'i':
            case 'o':
            case 'u':
            case 'y':
                sym = 'a';
                break;
            case 'h':
                sym = 0;
                break;
            case 'c':
            case 'q':
            case 'k':
                sym = 'k';
                break;
            case 'w':
                /* English -ow, -aw: a vowel ("Moscow" = "Moskou"). */
                sym = i + 1 < n && strchr("aeiouy", s[i + 1]) ? 'v' : 'a';
                break;
            case 'v':
                sym = 'v';
                break;
            case 'z':
            case 's':
                sym = 's';
                break;
            case 'j':
                /* Slavic -ej, -aj after a vowel is a vowel ("Sergej" = "Sergei"). */
                sym = k > 0 && buf[k - 1] == 'a' ? 'a' : 'J';
                break;
            case 'x':
                if (k == 0 || buf[k - 1] != 'k')
                    buf[k++] = 'k';
                sym = 's';
                break;
            default:
                sym = s[i] >= 'a' && s[i] <= 'z' ? s[i] : 0;
            }
        }
        i += adv;
        if (sym && k < sizeof(buf) && (k == 0 || buf[k - 1] != sym))
            buf[k++] = sym;
    }
    if (k > SKELETON_MAX)
        k = SKELETON_MAX;
    else if (k > 0 && buf[k - 1] == 'a')
        k--; /* a final vowel: case endings and silent e */
    memcpy(out, buf, k);
    return k;
}

struct name_cand {
    uint32_t h;     /* hash of the key text */
    bool confirmed; /* seen capitalised where only a name is (not starting a sentence) */
};

struct name_scan {
    const char *src;
    size_t prev_end; /* end of the previous token in src */
    bool have_prev;
    bool title; /* every position is ambiguous (headline case) */
    bool uk;
    struct name_cand *cands;
    size_t n_cands;
};

/* True when the source between the previous word and off ends a sentence. */
static bool
starts_sentence(const struct name_scan *ns, size_t off)
{
    if (!ns->have_prev)
        return true;
    for (size_t i = ns->prev_end; i < off; i++) {
        unsigned char c = (unsigned char)ns->src[i];
        if (c == '.' || c == '!' || c == '?' || c == ':' || c == '\n' || c == ';')
            return true;
        if (c == 0xe2 && i + 2 < off && (unsigned char)ns->src[i + 1] == 0x80 &&
            (unsigned char)ns->src[i + 2] == 0xa6)
            return true; /* … */
    }
    return false;
}

static int
on_story_token(const struct normalize_token *tok, void *userdata)
{
    struct name_scan *ns = userdata;
    if (tok->joined || tok->cjk)
        return 0;
    bool initial = ns->title || starts_sentence(ns, tok->off);
    ns->prev_end = tok->off + tok->len;
    ns->have_prev = true;
    if (ns->n_cands == MAX_CANDIDATES)
        return 0;

    /* Case of the source word: capitalised, or every letter upper case (an acronym). */
    const utf8proc_uint8_t *w = (const utf8proc_uint8_t *)ns->src + tok->off;
    utf8proc_ssize_t i = 0, wl = (utf8proc_ssize_t)tok->len;
    size_t letters = 0, upper = 0;
    bool first_upper = false, digit = false;
    while (i < wl) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(w + i, wl - i, &cp);
        if (n <= 0)
            break;
        utf8proc_category_t cat = utf8proc_category(cp);
        if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT) {
            if (letters == 0)
                first_upper = true;
            upper++;
            letters++;
        } else if (cat >= UTF8PROC_CATEGORY_LL && cat <= UTF8PROC_CATEGORY_LO) {
            letters++;
        } else if (cat == UTF8PROC_CATEGORY_ND) {
            digit = true;
        }
        i += n;
    }
    if (!first_upper || digit || letters < 2)
        return 0;
    bool acronym = upper == letters && letters <= 6;

    /* Romanize the folded word. */
    char rom[4 * NORMALIZE_MAX_WORD];
    size_t rl = 0;
    bool latin = true;
    const utf8proc_uint8_t *f = (const utf8proc_uint8_t *)tok->norm;
    for (utf8proc_ssize_t j = 0; j < (utf8proc_ssize_t)tok->norm_len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(f + j, (utf8proc_ssize_t)tok->norm_len - j, &cp);
        if (n <= 0)
            break;
        j += n;
        const char *t = NULL;
        char one[2] = {0, 0};
        if (cp < 0x80) {
            one[0] = (char)cp;
            t = one;
        } else {
            t = translit(cp, ns->uk);
        }
        if (!t) {
            latin = false;
            break;
        }
        size_t tl = strlen(t);
        if (rl + tl < sizeof(rom)) {
            memcpy(rom + rl, t, tl);
            rl += tl;
        }
    }
    char key[SKELETON_MAX + 8];
    size_t kl;
    const char *kp = key;
    if (!latin) {
        kp = tok->norm; /* a script not romanized here: compared as written */
        kl = tok->norm_len;
    } else if (acronym) {
        if (rl < 2 || rl > 6)
            return 0;
        key[0] = '#';
        memcpy(key + 1, rom, rl);
        kl = rl + 1;
    } else {
        if (rl < 3)
            return 0;
        kl = skeleton(rom, rl, key);
        if (kl < SKELETON_MIN)
            return 0;
    }
    ns->cands[ns->n_cands++] = (struct name_cand){
        .h = (uint32_t)hash_final(hash_update(HASH_SEED, kp, kl)),
        .confirmed = !initial || acronym,
    };
    return 0;
}

static int
scan_names(struct name_scan *ns, const char *s, bool title)
{
    if (!s)
        return 0;
    ns->src = s;
    ns->have_prev = false;
    ns->title = title;
    return normalize_tokenize(s, strlen(s), 0, on_story_token, ns, NULL);
}

/* ---- Numbers ---- */

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Languages that write the decimal comma (1.234,5). */
static bool
decimal_comma(const char *lang)
{
    static const char *const langs[] = {"bg", "ca", "cs", "da", "de", "el", "es", "fi", "fr", "hr",
                                        "hu", "id", "it", "lt", "nb", "nl", "nn", "no", "pl", "pt",
                                        "ro", "ru", "sk", "sl", "sr", "sv", "tr", "uk", "vi"};
    if (!lang || strlen(lang) < 2)
        return false;
    for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
        if (strncmp(lang, langs[i], 2) == 0 &&
            (lang[2] == '\0' || lang[2] == '-' || lang[2] == '_'))
            return true;
    return false;
}

/*
 * One number of text from s[*i] (a digit): digit groups joined by '.', ',', '\'', a space or
 * a no-break space (U+00A0, U+202F) between digits. The last of two different separators is
 * the decimal one; one separator used twice groups thousands; a lone '.' or ',' before
 * exactly three digits groups thousands as the language writes them (en and unknown: "1,234";
 * decimal-comma languages: "1.234"), else it is decimal. Adds the key unless it is an integer
 * below NUMBER_MIN.
 */
static void
scan_number(const char *s, size_t len, size_t *i, bool comma_decimal, struct keyset *ks)
{
    size_t groups[16][2]; /* start, length */
    char seps[16];
    size_t ng = 0;
    size_t p = *i;
    for (;;) {
        size_t st = p;
        while (p < len && is_digit(s[p]))
            p++;
        if (ng < 16) {
            groups[ng][0] = st;
            groups[ng][1] = p - st;
            ng++;
        }
        /* A separator between digits. */
        size_t sl = 0;
        char sep = 0;
        if (p + 1 < len && (s[p] == '.' || s[p] == ',' || s[p] == '\'' || s[p] == ' ')) {
            sl = 1;
            sep = s[p] == ' ' || s[p] == '\'' ? ' ' : s[p];
        } else if (p + 2 < len && (unsigned char)s[p] == 0xc2 && (unsigned char)s[p + 1] == 0xa0) {
            sl = 2;
            sep = ' ';
        } else if (p + 3 < len && (unsigned char)s[p] == 0xe2 && (unsigned char)s[p + 1] == 0x80 &&
                   (unsigned char)s[p + 2] == 0xaf) {
            sl = 3;
            sep = ' ';
        }
        if (!sl || ng >= 16 || !is_digit(s[p + sl]))
            break;
        /* A space groups only three digits after a group of at most three. */
        if (sep == ' ') {
            size_t q = p + sl, d = 0;
            while (q < len && is_digit(s[q]))
                q++, d++;
            if (d != 3 || groups[ng - 1][1] > 3)
                break;
        }
        seps[ng - 1] = sep;
        p += sl;
    }
    *i = p;

    /* Which separator is the decimal one (0: none). */
    char dec = 0;
    size_t nsep = ng - 1;
    if (nsep >= 1) {
        char last = seps[nsep - 1];
        bool other = false, same_twice = false;
        for (size_t k = 0; k + 1 < nsep; k++) {
            if (seps[k] != last)
                other = true;
            else
                same_twice = true;
        }
        if (last != ' ' && other)
            dec = last;
        else if (last != ' ' && !same_twice && nsep == 1) {
            bool three = groups[1][1] == 3 && groups[0][1] <= 3 &&
                         !(groups[0][1] == 1 && s[groups[0][0]] == '0');
            bool thousands = three && (last == ',' ? !comma_decimal : comma_decimal);
            if (!thousands)
                dec = last;
        }
    }
    char out[80];
    size_t ol = 0;
    size_t int_groups = dec ? ng - 1 : ng;
    for (size_t g = 0; g < int_groups; g++)
        for (size_t c = 0; c < groups[g][1] && ol < 40; c++)
            if (ol > 0 || s[groups[g][0] + c] != '0')
                out[ol++] = s[groups[g][0] + c];
    bool small = ol < 3;
    long v = 0;
    for (size_t c = 0; c < ol && small; c++)
        v = v * 10 + (out[c] - '0');
    if (ol == 0)
        out[ol++] = '0';
    if (dec) {
        size_t fs = groups[ng - 1][0], fl = groups[ng - 1][1];
        while (fl > 0 && s[fs + fl - 1] == '0')
            fl--;
        if (fl > 0) {
            out[ol++] = '.';
            for (size_t c = 0; c < fl && ol < sizeof(out); c++)
                out[ol++] = s[fs + c];
            small = false;
        }
    }
    if (small && v < NUMBER_MIN)
        return;
    key_add(ks, STORY_KEY_NUMBER, out, ol);
}

static void
scan_numbers(const char *s, bool comma_decimal, struct keyset *ks)
{
    if (!s)
        return;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        if (is_digit(s[i]) && (i == 0 || !is_digit(s[i - 1])))
            scan_number(s, len, &i, comma_decimal, ks);
        else
            i++;
    }
}

/* ---- Signatures ---- */

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int
story_sig_make(const struct story_places *p, const char *title, const char *text, const char *lang,
               uint64_t simhash, struct story_sig *ret)
{
    struct keyset ks = {.keys = ret->keys, .n = 0};
    int r = 0;

    /* Places first: the strongest keys of the three, and bounded (one per territory). */
    if (p) {
        struct match_doc doc = {.title = title, .text = text, .lang = lang};
        struct match_result res = {0};
        r = match_run(p->m, &doc, &res);
        if (r < 0)
            return r;
        for (size_t i = 0; i < res.n_hits; i++) {
            const char *code = place_code(res.hits[i].topic);
            key_add(&ks, STORY_KEY_PLACE, code, strlen(code));
        }
        match_result_done(&res);
    }

    /* Names: capitalised words, kept when one occurrence is not at a sentence's start. */
    struct name_scan ns = {.uk = lang && strncmp(lang, "uk", 2) == 0};
    ns.cands = malloc(MAX_CANDIDATES * sizeof(*ns.cands));
    if (!ns.cands)
        return -ENOMEM;
    r = scan_names(&ns, title, true);
    if (r == 0)
        r = scan_names(&ns, text, false);
    if (r < 0) {
        free(ns.cands);
        return r;
    }
    for (size_t i = 0; i < ns.n_cands; i++) {
        bool ok = ns.cands[i].confirmed;
        for (size_t j = 0; !ok && j < ns.n_cands; j++)
            ok = ns.cands[j].confirmed && ns.cands[j].h == ns.cands[i].h;
        if (ok)
            key_add(&ks, STORY_KEY_NAME, &ns.cands[i].h, sizeof(ns.cands[i].h));
    }
    free(ns.cands);

    /* Numbers. */
    bool comma = decimal_comma(lang);
    scan_numbers(title, comma, &ks);
    scan_numbers(text, comma, &ks);

    qsort(ks.keys, ks.n, sizeof(*ks.keys), cmp_u32);
    ret->n_keys = ks.n;
    ret->simhash = simhash;
    return 0;
}

/* ---- Comparing ---- */

/*
 * The rule, fixed on a development set (tests/fixtures/stories-dev: NTREX-128 documents the
 * frozen set does not use, most same-story pairs independent reports of one event) and then
 * scored on the frozen set tests/fixtures/stories (tests/story_eval.c; PRODUCT.md, "Story
 * grouping"). A shared number says most ("89" or "7.5" is rarely shared by chance), a name
 * next (weighed by its rarity in the topic, below: a name can be a topic's usual cast), a
 * place least (a country is shared by every story of it, and its name is most often a name
 * key too). The shared mass is divided by the square root of the smaller item's whole mass, so
 * two long texts do not meet on a few names any story of the topic has, while two short leads
 * still can:
 *
 *     score = (rarity-weighed names + 3 numbers + 0.5 places) / sqrt(max(1, min(mass(a), mass(b))))
 *
 * with mass(x) the unweighed sum over all of x's keys. Same story, of three kinds of evidence:
 *  - near-duplicate text: SimHash within SIMHASH_SAME_STORY bits;
 *  - a distinctive detail: a shared number that is no year (YEAR_MIN..YEAR_MAX: two events
 *    of a topic in one year share it, with the country and its leader), with two
 *    shared names, or with a shared name and a shared place ("384" dead, "Palu", Indonesia):
 *    the dev set has no two stories of one topic that meet so, while a topic's stories share
 *    their cast freely; years still count as numbers in the score;
 *  - much in common: score >= STORY_THRESHOLD with at least one shared name (two reports of
 *    one event name someone or something; numbers and places alone are shared by chance too
 *    often in short items).
 * Either of the last two also needs the shared mass (unweighed) to be at least STORY_MIN_SHARE
 * of the LARGER item's mass: a bait item listing a topic's whole cast and dozens of numbers
 * shares a few keys with every story of the topic, but they are a small part of it. 0.15 costs no
 * recall on the dev or frozen set (0.3 does). The daemon compares an item with an alert's FIRST
 * item only (its signature does not grow with its sources): a story that grew drew in the next
 * story of the same cast, and one wrong merge makes the analyst miss an alert. STORY_THRESHOLD is
 * where no two stories of the dev set's topics meet when a topic's first stories are compared
 * before the story window holds enough others for the rarity weight to tell (`story_eval --mode
 * stream`).
 */
#define W_NAME 1.0
#define W_NUMBER 3.0
#define W_PLACE 0.5
#define STORY_THRESHOLD 2.0
#define STORY_MIN_SHARE 0.15

static double
mass(const unsigned n[3])
{
    return W_PLACE * n[STORY_KEY_PLACE] + W_NAME * n[STORY_KEY_NAME] +
           W_NUMBER * n[STORY_KEY_NUMBER];
}

/*
 * A name's rarity (document frequency, story_df_fn): a shared name that at most STORY_DF_FREE
 * of the topic's other stories in the window have too weighs 1; past that, each further story
 * lowers it, 1 / (1 + STORY_DF_SLOPE (df - STORY_DF_FREE)): "Kavanaugh" in a topic's tenth
 * story of the week says little about which event an item reports. The free stories are the
 * translations and copies of one report that did not join it, and a story told twice. Fixed on
 * the development set (tests/fixtures/stories-dev), with STORY_THRESHOLD.
 */
#define STORY_DF_FREE 3
#define STORY_DF_SLOPE 1.0

/* The weight of a shared name that df other stories of the topic have too. */
static double
name_weight(unsigned df)
{
    return df <= STORY_DF_FREE ? 1.0 : 1.0 / (1.0 + STORY_DF_SLOPE * (df - STORY_DF_FREE));
}

void
story_compare(const struct story_sig *a, const struct story_sig *b, struct story_shared *ret)
{
    story_compare_df(a, b, NULL, NULL, ret);
}

void
story_compare_df(const struct story_sig *a, const struct story_sig *b, story_df_fn df,
                 void *userdata, struct story_shared *ret)
{
    unsigned n[4] = {0, 0, 0, 0}, na[4] = {0, 0, 0, 0}, nb[4] = {0, 0, 0, 0};
    unsigned strong = 0;
    double names_w = 0;
    for (size_t i = 0; i < a->n_keys; i++)
        na[STORY_KEY_KIND(a->keys[i])]++;
    for (size_t i = 0; i < b->n_keys; i++)
        nb[STORY_KEY_KIND(b->keys[i])]++;
    size_t i = 0, j = 0;
    while (i < a->n_keys && j < b->n_keys) {
        if (a->keys[i] < b->keys[j]) {
            i++;
        } else if (a->keys[i] > b->keys[j]) {
            j++;
        } else {
            n[STORY_KEY_KIND(a->keys[i])]++;
            if (STORY_KEY_KIND(a->keys[i]) == STORY_KEY_NUMBER && !weak_number(a->keys[i]))
                strong++;
            if (STORY_KEY_KIND(a->keys[i]) == STORY_KEY_NAME)
                names_w += name_weight(df ? df(userdata, a->keys[i]) : 0);
            i++;
            j++;
        }
    }
    ret->places = n[STORY_KEY_PLACE];
    ret->names = n[STORY_KEY_NAME];
    ret->numbers = n[STORY_KEY_NUMBER];
    ret->numbers_strong = strong;
    ret->names_w = names_w;
    ret->mass_a = mass(na);
    ret->mass_b = mass(nb);
    ret->simhash_distance =
        a->simhash && b->simhash ? simhash_distance(a->simhash, b->simhash) : -1;
    ret->near_duplicate = simhash_same_story(a->simhash, b->simhash);
}

double
story_score(const struct story_shared *s)
{
    double shared = W_NAME * s->names_w + W_NUMBER * s->numbers + W_PLACE * s->places;
    double m = s->mass_a < s->mass_b ? s->mass_a : s->mass_b;
    return shared / sqrt(m > 1 ? m : 1);
}

bool
story_same_shared(const struct story_shared *s)
{
    if (s->near_duplicate)
        return true;
    double big = s->mass_a > s->mass_b ? s->mass_a : s->mass_b;
    double common = W_NAME * s->names + W_NUMBER * s->numbers + W_PLACE * s->places;
    if (common < STORY_MIN_SHARE * big)
        return false;
    if (s->numbers_strong >= 1 && (s->names >= 2 || (s->names >= 1 && s->places >= 1)))
        return true;
    return story_score(s) >= STORY_THRESHOLD && s->names >= 1;
}

bool
story_same(const struct story_sig *a, const struct story_sig *b)
{
    return story_same_df(a, b, NULL, NULL);
}

bool
story_same_df(const struct story_sig *a, const struct story_sig *b, story_df_fn df, void *userdata)
{
    struct story_shared s;
    story_compare_df(a, b, df, userdata, &s);
    return story_same_shared(&s);
}

/* Adds the keys of src that dst lacks, while dst has room; dst's SimHash stays. */
void
story_sig_merge(struct story_sig *dst, const struct story_sig *src)
{
    uint32_t out[STORY_MAX_KEYS];
    size_t n = 0, i = 0, j = 0, room = STORY_MAX_KEYS - dst->n_keys;
    while (n < STORY_MAX_KEYS && (i < dst->n_keys || j < src->n_keys)) {
        if (j == src->n_keys || (i < dst->n_keys && dst->keys[i] < src->keys[j])) {
            out[n++] = dst->keys[i++];
        } else if (i < dst->n_keys && dst->keys[i] == src->keys[j]) {
            out[n++] = dst->keys[i++];
            j++;
        } else if (room > 0) {
            out[n++] = src->keys[j++];
            room--;
        } else {
            j++;
        }
    }
    memcpy(dst->keys, out, n * sizeof(*out));
    dst->n_keys = n;
}

/* ---- Bytes ---- */

size_t
story_sig_pack(const struct story_sig *s, uint8_t *buf)
{
    size_t k = 0;
    for (int b = 0; b < 8; b++)
        buf[k++] = (uint8_t)(s->simhash >> (8 * b));
    for (size_t i = 0; i < s->n_keys; i++)
        for (int b = 0; b < 4; b++)
            buf[k++] = (uint8_t)(s->keys[i] >> (8 * b));
    return k;
}

int
story_sig_unpack(const uint8_t *buf, size_t len, struct story_sig *ret)
{
    if (len < 8 || (len - 8) % 4 != 0 || (len - 8) / 4 > STORY_MAX_KEYS)
        return -EINVAL;
    uint64_t sh = 0;
    for (int b = 0; b < 8; b++)
        sh |= (uint64_t)buf[b] << (8 * b);
    size_t n = (len - 8) / 4;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = 0;
        for (int b = 0; b < 4; b++)
            k |= (uint32_t)buf[8 + 4 * i + (size_t)b] << (8 * b);
        if (i > 0 && k <= ret->keys[i - 1])
            return -EINVAL;
        ret->keys[i] = k;
    }
    ret->n_keys = n;
    ret->simhash = sh;
    return 0;
}
