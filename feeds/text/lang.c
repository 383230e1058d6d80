#include "text/lang.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <utf8proc.h>

#define WORD_MAX 64 /* bytes; longer runs are not stopwords */

/* The most common words of each language, sorted by bytes (bsearch). */
static const char *const words_en[] = {
    "a",    "about", "after",   "all",     "also",  "an",      "and",  "any",  "are",    "as",
    "at",   "be",    "because", "been",    "being", "between", "but",  "by",   "can",    "could",
    "did",  "do",    "first",   "for",     "from",  "had",     "has",  "have", "he",     "her",
    "his",  "how",   "if",      "in",      "into",  "is",      "it",   "its",  "just",   "like",
    "may",  "more",  "most",    "my",      "new",   "no",      "not",  "of",   "on",     "one",
    "only", "or",    "other",   "our",     "out",   "over",    "said", "she",  "should", "so",
    "some", "such",  "than",    "that",    "the",   "their",   "them", "then", "there",  "these",
    "they", "this",  "those",   "through", "time",  "to",      "two",  "up",   "was",    "we",
    "were", "what",  "when",    "where",   "which", "while",   "who",  "will", "with",   "would",
    "you",
};
static const char *const words_nl[] = {
    "aan",    "al",    "alle",   "als",   "andere", "bij",   "daar", "dan",   "dat",    "de",
    "deze",   "die",   "dit",    "door",  "een",    "en",    "er",   "geen",  "haar",   "had",
    "hebben", "heeft", "hem",    "het",   "hier",   "hij",   "hoe",  "hun",   "ik",     "in",
    "is",     "jaar",  "je",     "kan",   "kunnen", "maar",  "meer", "met",   "mijn",   "moet",
    "na",     "naar",  "niet",   "nog",   "nu",     "of",    "om",   "omdat", "onder",  "ons",
    "ook",    "op",    "over",   "sinds", "te",     "tegen", "toen", "tot",   "tussen", "uit",
    "van",    "veel",  "voor",   "waar",  "want",   "was",   "wat",  "we",    "wel",    "werd",
    "wie",    "wij",   "worden", "wordt", "zal",    "ze",    "zei",  "zich",  "zij",    "zijn",
    "zo",     "zou",
};
static const char *const words_de[] = {
    "aber",  "als",  "am",    "an",     "auch",   "auf",    "aus",   "bei",   "bis",    "dann",
    "das",   "dass", "dem",   "den",    "der",    "des",    "die",   "diese", "dieser", "doch",
    "durch", "ein",  "eine",  "einem",  "einen",  "einer",  "eines", "er",    "es",     "für",
    "gegen", "habe", "haben", "hat",    "hatte",  "ich",    "ihr",   "ihre",  "im",     "in",
    "ist",   "jahr", "kann",  "keine",  "können", "man",    "mehr",  "mit",   "nach",   "nicht",
    "noch",  "nur",  "oder",  "sagte",  "schon",  "sei",    "sein",  "seine", "seiner", "sich",
    "sie",   "sind", "so",    "soll",   "um",     "und",    "uns",   "unter", "vom",    "von",
    "vor",   "war",  "wenn",  "werden", "wie",    "wieder", "wir",   "wird",  "wurde",  "zu",
    "zum",   "zur",  "zwei",  "über",
};
static const char *const words_fr[] = {
    "après",  "au",     "aussi", "aux",   "avait", "avec",  "bien", "c",    "ce",   "ces",  "cette",
    "comme",  "contre", "d",     "dans",  "de",    "des",   "deux", "dont", "du",   "elle", "en",
    "encore", "entre",  "est",   "et",    "fait",  "il",    "ils",  "j",    "l",    "la",   "le",
    "les",    "leur",   "leurs", "lui",   "mais",  "même",  "n",    "ne",   "nous", "on",   "ont",
    "ou",     "où",     "par",   "pas",   "peut",  "plus",  "pour", "qu",   "que",  "qui",  "s",
    "sa",     "sans",   "se",    "selon", "ses",   "son",   "sont", "sous", "sur",  "tout", "très",
    "un",     "une",    "vous",  "y",     "à",     "était", "été",  "être",
};
static const char *const words_es[] = {
    "a",     "al",      "años",  "como",  "con", "cuando", "de",    "del",     "desde", "donde",
    "dos",   "durante", "e",     "el",    "en",  "entre",  "era",   "es",      "esta",  "este",
    "estos", "está",    "están", "fue",   "ha",  "han",    "hasta", "hay",     "la",    "las",
    "le",    "lo",      "los",   "muy",   "más", "ni",     "no",    "nos",     "o",     "otro",
    "otros", "para",    "parte", "pero",  "por", "porque", "puede", "que",     "se",    "según",
    "ser",   "sido",    "sin",   "sobre", "son", "su",     "sus",   "también", "tiene", "todo",
    "todos", "un",      "una",   "uno",   "y",   "ya",
};
static const char *const words_pt[] = {
    "a",      "anos",  "ao",   "as",  "até",   "com",  "como",  "da",   "das",  "de",
    "depois", "disse", "do",   "dos", "e",     "ela",  "ele",   "eles", "em",   "entre",
    "esta",   "este",  "está", "foi", "foram", "há",   "isso",  "já",   "mais", "mas",
    "mesmo",  "muito", "na",   "nas", "nem",   "no",   "nos",   "num",  "numa", "não",
    "o",      "onde",  "os",   "ou",  "para",  "pela", "pelo",  "pode", "por",  "quando",
    "que",    "se",    "sem",  "ser", "seu",   "seus", "sobre", "sua",  "suas", "são",
    "também", "tem",   "ter",  "um",  "uma",   "à",    "às",    "é",
};
static const char *const words_it[] = {
    "al",  "alla", "anche", "ancora", "anni",   "che",    "ci",    "come",  "con",   "così",  "cui",
    "da",  "dal",  "dalla", "degli",  "dei",    "del",    "della", "delle", "di",    "dopo",  "due",
    "e",   "ed",   "era",   "essere", "fa",     "già",    "gli",   "ha",    "hanno", "i",     "il",
    "in",  "la",   "le",    "lo",     "loro",   "ma",     "molto", "nei",   "nel",   "nella", "non",
    "o",   "per",  "più",   "quando", "questa", "questo", "se",    "si",    "sono",  "stato", "su",
    "sua", "sul",  "suo",   "tra",    "tutti",  "un",     "una",   "è",
};
static const char *const words_vi[] = {
    "bị",    "cho",   "chỉ",  "cuộc", "các",   "còn",   "có",  "cùng", "cũng", "của",
    "hay",   "hiện",  "hơn",  "khi",  "không", "là",    "làm", "lại",  "mà",   "một",
    "người", "nhiều", "nhà",  "như",  "nhưng", "những", "nào", "này",  "nên",  "nói",
    "năm",   "nước",  "nếu",  "phải", "ra",    "rất",   "sau", "sẽ",   "sự",   "theo",
    "thì",   "trong", "trên", "tại",  "từ",    "việc",  "và",  "vào",  "vẫn",  "về",
    "với",   "ông",   "đang", "đã",   "đó",    "được",  "đến", "đều",  "để",   "ở",
};
static const char *const words_ru[] = {
    "а",     "более", "будет",  "бы",      "был",     "были",    "было",  "быть",   "в",     "во",
    "время", "все",   "вы",     "где",     "года",    "даже",    "для",   "до",     "его",   "если",
    "есть",  "еще",   "ещё",    "её",      "же",      "за",      "и",     "из",     "или",   "их",
    "к",     "как",   "когда",  "которая", "которые", "который", "ли",    "мне",    "может", "мы",
    "на",    "не",    "нет",    "ни",      "них",     "но",      "о",     "он",     "она",   "они",
    "от",    "очень", "по",     "после",   "при",     "с",       "себя",  "сказал", "со",    "так",
    "также", "то",    "только", "у",       "уже",     "что",     "чтобы", "это",    "этого", "этом",
};
static const char *const words_uk[] = {
    "або",    "але",  "був",   "була", "було",  "бути",  "в",   "вже", "вона",  "вони",
    "від",    "він",  "де",    "для",  "до",    "дуже",  "з",   "за",  "й",     "його",
    "коли",   "має",  "ми",    "може", "між",   "на",    "нас", "не",  "ні",    "по",
    "про",    "під",  "після", "року", "свої",  "своїх", "та",  "так", "також", "ти",
    "тільки", "у",    "це",    "цей",  "цього", "через", "ще",  "що",  "щоб",   "як",
    "яка",    "який", "якщо",  "які",  "є",     "і",     "із",  "їх",
};
static const char *const words_pl[] = {
    "a",     "ale",   "bardzo", "by",    "być",  "był",  "była",    "było", "co",    "czy",  "dla",
    "do",    "gdy",   "go",     "i",     "ich",  "jak",  "jednak",  "jego", "jej",   "jest", "już",
    "która", "które", "który",  "lat",   "może", "mu",   "na",      "nad",  "nie",   "o",    "od",
    "oraz",  "po",    "pod",    "przez", "przy", "roku", "również", "się",  "sobie", "są",   "ta",
    "tak",   "także", "te",     "tego",  "tej",  "ten",  "teraz",   "to",   "tylko", "tym",  "w",
    "we",    "więc",  "z",      "za",    "ze",   "że",
};

struct lang_list {
    const char *code;
    const char *const *words;
    size_t n;
    bool cyrillic;
};

#define LIST(c, cyr)                                                                               \
    {                                                                                              \
#c, words_##c, sizeof(words_##c) / sizeof(words_##c[0]), cyr                               \
    }
static const struct lang_list lists[] = {
    LIST(en, false), LIST(nl, false), LIST(de, false), LIST(fr, false),
    LIST(es, false), LIST(pt, false), LIST(it, false), LIST(vi, false),
    LIST(ru, true),  LIST(uk, true),  LIST(pl, false),
};
#undef LIST
#define N_LISTS (sizeof(lists) / sizeof(lists[0]))

/*
 * Every stopword of every list in one open-addressing hash table, with the set of lists it
 * is in: one probe per word instead of a binary search of each list. Built once from the
 * lists above (pthread_once), read-only afterwards, so any thread may use it.
 */
#define STOP_SLOTS 2048  /* a power of two, over twice the words of all lists */
#define STOP_WORD_MAX 16 /* bytes of the longest stopword, and more */

struct stop_slot {
    const char *word; /* NULL: empty */
    uint8_t len;
    uint16_t lists; /* bit i: in lists[i] */
};

static struct stop_slot stop_table[STOP_SLOTS];
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;

static uint32_t
stop_hash(const char *w, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)w[i];
        h *= 16777619u;
    }
    return h ^ (h >> 15);
}

static void
on_stop_init(void)
{
    for (size_t l = 0; l < N_LISTS; l++) {
        for (size_t k = 0; k < lists[l].n; k++) {
            const char *w = lists[l].words[k];
            size_t len = strlen(w);
            assert(len < STOP_WORD_MAX);
            for (uint32_t i = stop_hash(w, len);; i++) {
                struct stop_slot *s = &stop_table[i & (STOP_SLOTS - 1)];
                if (!s->word) {
                    *s = (struct stop_slot){.word = w, .len = (uint8_t)len};
                } else if (s->len != len || memcmp(s->word, w, len) != 0) {
                    continue;
                }
                s->lists |= (uint16_t)(1u << l);
                break;
            }
        }
    }
}

/* The lists a word (len bytes, lower case) is a stopword of, as bits; 0 for none. */
static unsigned
stop_lists(const char *word, size_t len)
{
    if (len == 0 || len >= STOP_WORD_MAX)
        return 0;
    (void)pthread_once(&stop_once, on_stop_init);
    for (uint32_t i = stop_hash(word, len);; i++) {
        const struct stop_slot *s = &stop_table[i & (STOP_SLOTS - 1)];
        if (!s->word)
            return 0;
        if (s->len == len && memcmp(s->word, word, len) == 0)
            return s->lists;
    }
}

static const struct lang_list *
find_list(const char *lang)
{
    if (!lang)
        return NULL;
    size_t n = strcspn(lang, "-_");
    for (size_t i = 0; i < N_LISTS; i++)
        if (n == 2 && strncasecmp(lang, lists[i].code, 2) == 0)
            return &lists[i];
    return NULL;
}

bool
lang_has_stopwords(const char *lang)
{
    return find_list(lang) != NULL;
}

/* Script counters of a text. */
struct scripts {
    size_t letters, latin, cyrillic, han, kana, hangul, arabic, greek, hebrew, thai;
    size_t viet;   /* letters only Vietnamese uses among the languages here */
    size_t uk, ru; /* letters only Ukrainian / only Russian uses */
};

static void
count_script(struct scripts *s, utf8proc_int32_t cp)
{
    s->letters++;
    if (cp < 0x250)
        s->latin++;
    else if (cp >= 0x1e00 && cp <= 0x1eff)
        s->latin++;
    else if (cp >= 0x400 && cp <= 0x52f)
        s->cyrillic++;
    else if ((cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf))
        s->han++;
    else if (cp >= 0x3040 && cp <= 0x30ff)
        s->kana++;
    else if (cp >= 0xac00 && cp <= 0xd7af)
        s->hangul++;
    else if (cp >= 0x600 && cp <= 0x6ff)
        s->arabic++;
    else if (cp >= 0x370 && cp <= 0x3ff)
        s->greek++;
    else if (cp >= 0x590 && cp <= 0x5ff)
        s->hebrew++;
    else if (cp >= 0xe00 && cp <= 0xe7f)
        s->thai++;
    /* ơ ư ă đ and the precomposed tone-marked vowels of Latin Extended Additional */
    if (cp == 0x1a1 || cp == 0x1b0 || cp == 0x103 || cp == 0x111 || (cp >= 0x1ea0 && cp <= 0x1ef9))
        s->viet++;
    if (cp == 0x456 || cp == 0x457 || cp == 0x454 || cp == 0x491)
        s->uk++;
    if (cp == 0x44b || cp == 0x44d || cp == 0x44a || cp == 0x451)
        s->ru++;
}

/*
 * Calls fn for each lower-cased word of the text (at most max bytes looked at) and fills
 * *scripts when it is not NULL.
 */
typedef void (*lang_word_cb)(const char *word, size_t len, void *userdata);

static void
for_each_word(const char *text, size_t len, struct scripts *scripts, lang_word_cb fn,
              void *userdata)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    char word[WORD_MAX + 8];
    size_t wn = 0;
    bool too_long = false;

    while (len > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n;
        if (*p < 0x80) {
            cp = *p;
            n = 1;
        } else {
            n = utf8proc_iterate(p, (utf8proc_ssize_t)(len < 4 ? len : 4), &cp);
            if (n <= 0) {
                n = 1;
                cp = ' ';
            }
        }
        p += n;
        len -= (size_t)n;
        if (n == 1 && ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')) {
            /* an ASCII letter: lowered in place, as utf8proc would */
            if (scripts)
                scripts->letters++, scripts->latin++;
            if (wn + 4 <= WORD_MAX)
                word[wn++] = (char)(cp | 0x20);
            else
                too_long = true;
            continue;
        }
        bool letter;
        if (cp < 0x80) {
            letter = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
            if (cp >= 'A' && cp <= 'Z')
                cp += 32;
        } else {
            utf8proc_category_t cat = utf8proc_category(cp);
            letter = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME;
            if (letter)
                cp = utf8proc_tolower(cp);
        }
        if (letter) {
            if (scripts && cp >= 0x80)
                count_script(scripts, cp);
            else if (scripts)
                scripts->letters++, scripts->latin++;
            if (wn + 4 <= WORD_MAX)
                wn += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)word + wn);
            else
                too_long = true;
            continue;
        }
        if (wn > 0) {
            word[wn] = '\0';
            fn(word, too_long ? 0 : wn, userdata);
        }
        wn = 0;
        too_long = false;
    }
    if (wn > 0) {
        word[wn] = '\0';
        fn(word, too_long ? 0 : wn, userdata);
    }
}

struct detect {
    size_t words;
    double score[N_LISTS];
    bool cyrillic_only, latin_only;
};

static void
on_detect_word(const char *word, size_t len, void *userdata)
{
    struct detect *d = userdata;

    d->words++;
    unsigned hit = stop_lists(word, len);
    if (!hit)
        return;
    /* A word common to several languages says less about each. */
    double share = 1.0 / __builtin_popcount(hit);
    for (size_t i = 0; i < N_LISTS; i++)
        if (hit & (1u << i))
            d->score[i] += share;
}

const char *
lang_detect(const char *text, size_t len)
{
    struct scripts sc = {0};
    struct detect d = {0};

    if (!text)
        return NULL;
    if (len > LANG_SAMPLE_MAX) {
        len = LANG_SAMPLE_MAX;
        while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
            len--;
    }
    for_each_word(text, len, &sc, on_detect_word, &d);
    if (sc.letters < 8)
        return NULL;
    size_t cjk = sc.han + sc.kana + sc.hangul;
    if (cjk * 10 >= sc.letters * 3) {
        if (sc.kana * 20 >= cjk)
            return "ja";
        if (sc.hangul * 2 >= cjk)
            return "ko";
        return "zh";
    }
    if (sc.arabic * 2 > sc.letters)
        return "ar";
    if (sc.greek * 2 > sc.letters)
        return "el";
    if (sc.hebrew * 2 > sc.letters)
        return "he";
    if (sc.thai * 2 > sc.letters)
        return "th";
    bool cyr = sc.cyrillic * 2 > sc.letters;
    if (!cyr && sc.latin * 2 <= sc.letters)
        return NULL;

    size_t best = N_LISTS, second = N_LISTS;
    for (size_t i = 0; i < N_LISTS; i++) {
        double s = d.score[i];
        if (lists[i].cyrillic != cyr)
            continue;
        if (strcmp(lists[i].code, "vi") == 0 && sc.viet * 20 < sc.letters)
            s = 0; /* Vietnamese without its letters is not Vietnamese */
        if (strcmp(lists[i].code, "uk") == 0)
            s += 0.5 * (double)sc.uk - 0.5 * (double)sc.ru;
        if (strcmp(lists[i].code, "ru") == 0)
            s += 0.5 * (double)sc.ru - 0.5 * (double)sc.uk;
        d.score[i] = s;
        if (best == N_LISTS || s > d.score[best]) {
            second = best;
            best = i;
        } else if (second == N_LISTS || s > d.score[second]) {
            second = i;
        }
    }
    if (best == N_LISTS)
        return NULL;
    double b = d.score[best], s2 = second == N_LISTS ? 0 : d.score[second];
    if (b < 2.0 || b < (double)d.words * 0.04 || b < s2 * 1.4)
        return NULL;
    return lists[best].code;
}

struct density {
    const struct lang_list *list;
    size_t words, stop;
};

static void
on_density_word(const char *word, size_t len, void *userdata)
{
    struct density *d = userdata;

    d->words++;
    unsigned hit = stop_lists(word, len);
    if (d->list)
        hit &= 1u << (d->list - lists);
    d->stop += hit != 0;
}

void
lang_stopwords(const char *text, size_t len, const char *lang, size_t *ret_words,
               size_t *ret_stopwords)
{
    struct density d = {.list = find_list(lang)};

    if (text)
        for_each_word(text, len, NULL, on_density_word, &d);
    *ret_words = d.words;
    *ret_stopwords = d.stop;
}
