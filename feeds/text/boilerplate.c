#include "text/boilerplate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "base/buf.h"
#include "base/hash.h"
#include "text/lang.h"

#define MODEL_MAGIC "feedwatch-boilerplate 1"
#define SHORT_PHRASE_BLOCK 200 /* chars: a phrase only marks blocks shorter than this */
#define REPEATED (1u << 31)    /* a struct html_block flag used inside boilerplate_filter() */
#define TAIL_BLOCKS 3          /* source notes are looked for among the last kept blocks */

struct bp_entry {
    uint64_t fp;
    uint32_t count; /* items that carried the block */
    uint32_t last;  /* the item number that last carried it */
};

struct boilerplate_model {
    uint32_t items;
    size_t n, cap;
    struct bp_entry *v; /* sorted by fp */
};

struct boilerplate_model *
boilerplate_model_new(void)
{
    return calloc(1, sizeof(struct boilerplate_model));
}

void
boilerplate_model_free(struct boilerplate_model *model)
{
    if (!model)
        return;
    free(model->v);
    free(model);
}

uint32_t
boilerplate_model_items(const struct boilerplate_model *model)
{
    return model ? model->items : 0;
}

static int
entry_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct bp_entry *)a)->fp, y = ((const struct bp_entry *)b)->fp;
    return x < y ? -1 : x > y;
}

/* Most useful first: seen in more items, then more recently. */
static int
entry_rank_cmp(const void *a, const void *b)
{
    const struct bp_entry *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->last != y->last)
        return x->last > y->last ? -1 : 1;
    return entry_cmp(a, b);
}

static const struct bp_entry *
model_find(const struct boilerplate_model *m, uint64_t fp)
{
    struct bp_entry key = {.fp = fp};

    if (!m || m->n == 0)
        return NULL;
    return bsearch(&key, m->v, m->n, sizeof(m->v[0]), entry_cmp);
}

/* Keeps the best three quarters of a full model. */
static void
model_evict(struct boilerplate_model *m)
{
    qsort(m->v, m->n, sizeof(m->v[0]), entry_rank_cmp);
    m->n = BOILERPLATE_MODEL_MAX * 3 / 4;
    qsort(m->v, m->n, sizeof(m->v[0]), entry_cmp);
}

/* Adds fp (count 1) or bumps its count, keeping the array sorted. */
static int
model_bump(struct boilerplate_model *m, uint64_t fp)
{
    struct bp_entry key = {.fp = fp};
    struct bp_entry *e = m->n ? bsearch(&key, m->v, m->n, sizeof(m->v[0]), entry_cmp) : NULL;

    if (e) {
        if (e->last != m->items + 1) {
            if (e->count < UINT32_MAX)
                e->count++;
            e->last = m->items + 1;
        }
        return 0;
    }
    if (m->n >= BOILERPLATE_MODEL_MAX)
        model_evict(m);
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct bp_entry *v = realloc(m->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        m->v = v;
        m->cap = cap;
    }
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->v[mid].fp < fp)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&m->v[lo + 1], &m->v[lo], (m->n - lo) * sizeof(m->v[0]));
    m->v[lo] = (struct bp_entry){.fp = fp, .count = 1, .last = m->items + 1};
    m->n++;
    return 0;
}

/*
 * Fingerprint of a block: its text lower-cased (ASCII), digits as '0', whitespace collapsed,
 * so that "© 2024" and "© 2025" or a changing date in a footer are the same block. The
 * hash is hash.h's (FNV-1a, then hash_final), run byte by byte here without a copy: saved
 * models hold these values, so they must not change.
 */
static uint64_t
block_fp(const char *s, size_t len)
{
    const uint64_t prime = 0x100000001b3ULL; /* the FNV 64-bit prime, as hash.c */
    uint64_t h = HASH_SEED;
    bool any = false, space = false;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\n') {
            space = any;
            continue;
        }
        if (space) {
            h = (h ^ ' ') * prime;
            space = false;
        }
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        else if (c >= '0' && c <= '9')
            c = '0';
        h = (h ^ c) * prime;
        any = true;
    }
    return hash_final(h);
}

int
boilerplate_model_learn(struct boilerplate_model *model, const struct html_blocks *blocks)
{
    if (!model)
        return 0;
    for (size_t i = 0; i < blocks->n; i++) {
        int r = model_bump(model, block_fp(blocks->v[i].text, blocks->v[i].len));
        if (r < 0)
            return r;
    }
    if (model->items < UINT32_MAX)
        model->items++;
    return 0;
}

int
boilerplate_model_save(const struct boilerplate_model *model, char **ret_data, size_t *ret_len)
{
    struct buf out;
    char line[80];
    int r;

    buf_init(&out, BOILERPLATE_BLOB_MAX);
    (void)snprintf(line, sizeof(line), MODEL_MAGIC "\nitems %" PRIu32 "\n",
                   model ? model->items : 0);
    r = buf_append_str(&out, line);
    for (size_t i = 0; model && r == 0 && i < model->n; i++) {
        const struct bp_entry *e = &model->v[i];
        (void)snprintf(line, sizeof(line), "%016" PRIx64 " %" PRIu32 " %" PRIu32 "\n", e->fp,
                       e->count, e->last);
        r = buf_append_str(&out, line);
    }
    if (r < 0) {
        buf_done(&out);
        return r == -EMSGSIZE ? -ENOMEM : r;
    }
    *ret_len = out.len;
    *ret_data = buf_steal(&out);
    buf_done(&out);
    return *ret_data ? 0 : -ENOMEM;
}

static int
load_fail(struct boilerplate_model *m, char **reterr_msg, size_t line, const char *why)
{
    char msg[128];

    boilerplate_model_free(m);
    if (reterr_msg) {
        (void)snprintf(msg, sizeof(msg), "boilerplate model line %zu: %s", line, why);
        *reterr_msg = strdup(msg);
    }
    return -EPROTO;
}

/* Reads an unsigned decimal of at most 10 digits into *ret; returns the bytes used or 0. */
static size_t
read_u32(const char *s, size_t len, uint32_t *ret)
{
    uint64_t v = 0;
    size_t i = 0;

    while (i < len && i < 11 && s[i] >= '0' && s[i] <= '9')
        v = v * 10 + (uint64_t)(s[i++] - '0');
    if (i == 0 || i > 10 || v > UINT32_MAX)
        return 0;
    *ret = (uint32_t)v;
    return i;
}

int
boilerplate_model_load(const char *data, size_t len, struct boilerplate_model **ret_model,
                       char **reterr_msg)
{
    struct boilerplate_model *m;
    size_t pos = 0, lineno = 0;

    if (len > BOILERPLATE_BLOB_MAX)
        return -EMSGSIZE;
    m = boilerplate_model_new();
    if (!m)
        return -ENOMEM;
    while (pos < len) {
        const char *s = data + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        if (lineno == 1) {
            if (n != strlen(MODEL_MAGIC) || memcmp(s, MODEL_MAGIC, n) != 0)
                return load_fail(m, reterr_msg, lineno, "not a boilerplate model");
            continue;
        }
        if (lineno == 2) {
            if (n < 7 || memcmp(s, "items ", 6) != 0 || read_u32(s + 6, n - 6, &m->items) != n - 6)
                return load_fail(m, reterr_msg, lineno, "expected 'items N'");
            continue;
        }
        if (n == 0 && pos >= len)
            break;
        struct bp_entry e = {0};
        size_t i = 0;
        if (n < 16 + 4)
            return load_fail(m, reterr_msg, lineno, "short fingerprint line");
        for (; i < 16; i++) {
            char c = s[i];
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                                : 16;
            if (d == 16)
                return load_fail(m, reterr_msg, lineno, "bad fingerprint");
            e.fp = e.fp << 4 | d;
        }
        size_t k;
        if (s[i++] != ' ' || (k = read_u32(s + i, n - i, &e.count)) == 0)
            return load_fail(m, reterr_msg, lineno, "bad count");
        i += k;
        if (i >= n || s[i++] != ' ' || (k = read_u32(s + i, n - i, &e.last)) == 0 || i + k != n)
            return load_fail(m, reterr_msg, lineno, "bad item number");
        if (e.count == 0 || e.count > m->items || e.last > m->items)
            return load_fail(m, reterr_msg, lineno, "count out of range");
        if (m->n > 0 && m->v[m->n - 1].fp >= e.fp)
            return load_fail(m, reterr_msg, lineno, "fingerprints out of order");
        if (m->n >= BOILERPLATE_MODEL_MAX)
            return load_fail(m, reterr_msg, lineno, "too many fingerprints");
        if (m->n == m->cap) {
            size_t cap = m->cap ? m->cap * 2 : 64;
            struct bp_entry *v = realloc(m->v, cap * sizeof(*v));
            if (!v) {
                boilerplate_model_free(m);
                return -ENOMEM;
            }
            m->v = v;
            m->cap = cap;
        }
        m->v[m->n++] = e;
    }
    if (lineno < 2)
        return load_fail(m, reterr_msg, lineno + 1, "truncated model");
    *ret_model = m;
    return 0;
}

/* ---- block signals ---- */

/* A lower-cased (ASCII) copy of at most cap-1 bytes of s, for phrase matching. */
static void
lower_copy(char *dst, size_t cap, const char *s, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    dst[n] = '\0';
}

/*
 * The pairs of adjacent bytes of a string, hashed into 1024 bits: a phrase whose first two
 * bytes are not among them cannot be in the string, which spares most strstr() calls.
 */
struct pairs {
    uint64_t bits[16];
};

static unsigned
pair_key(unsigned char a, unsigned char b)
{
    return ((unsigned)a * 37u ^ b) & 1023u;
}

static void
pairs_of(struct pairs *p, const char *s)
{
    memset(p, 0, sizeof(*p));
    for (; s[0] && s[1]; s++) {
        unsigned k = pair_key((unsigned char)s[0], (unsigned char)s[1]);
        p->bits[k >> 6] |= 1ULL << (k & 63);
    }
}

/* False when the phrase is surely not in the string the pairs were taken from. */
static bool
pairs_may_have(const struct pairs *p, const char *phrase)
{
    if (!phrase[0] || !phrase[1])
        return true;
    unsigned k = pair_key((unsigned char)phrase[0], (unsigned char)phrase[1]);
    return (p->bits[k >> 6] >> (k & 63)) & 1;
}

static bool
has_any(const char *hay, const struct pairs *pairs, const char *const *phrases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pairs_may_have(pairs, phrases[i]) && strstr(hay, phrases[i]))
            return true;
    return false;
}

#define HAS_ANY(hay, pairs, list) has_any(hay, pairs, list, sizeof(list) / sizeof(list[0]))

static const char *const promo_phrases[] = {
    "share this",       "share on ",       "follow us",         "google play",
    "app store",        "android app",     "ios app",           "download our app",
    "download the app", "sign up for",     "subscribe to",      "newsletter",
    "click here",       "stay tuned with", "volg ons",          "deel dit",
    "download de app",  "folgen sie uns",  "jetzt teilen",      "app herunterladen",
    "partager",         "suivez-nous",     "téléchargez",       "compartir",
    "síguenos",         "descarga la app", "compartilhe",       "siga-nos",
    "baixe o app",      "condividi",       "seguici",           "scarica l'app",
    "udostępnij",       "obserwuj nas",    "pobierz aplikację", "tải ứng dụng",
    "theo dõi",         "поделиться",      "подписывайтесь",    "підписуйтесь",
    "завантажте",
};

static const char *const more_phrases[] = {
    "continue reading", "read more",      "read the full",  "read also",     "see also",
    "related:",         "lees meer",      "lees verder",    "lees ook",      "weiterlesen",
    "mehr lesen",       "lesen sie auch", "mehr zum thema", "lire la suite", "lire aussi",
    "à lire aussi",     "leer más",       "seguir leyendo", "lea también",   "leia mais",
    "leia também",      "saiba mais",     "know more",      "leggi anche",   "leggi di più",
    "czytaj więcej",    "czytaj także",   "czytaj też",     "xem thêm",      "đọc thêm",
    "читать далее",     "читайте также",  "читайте також",  "більше новин",
};

static const char *const copyright_phrases[] = {
    "all rights reserved",
    "alle rechten voorbehouden",
    "alle rechte vorbehalten",
    "tous droits réservés",
    "todos los derechos reservados",
    "todos os direitos reservados",
    "tutti i diritti riservati",
    "wszelkie prawa zastrzeżone",
    "\xc2\xa9",
    "copyright",
    "bản quyền",
    "все права защищены",
    "всі права захищені",
};

static const char *const appeared_phrases[] = {
    "appeared first on",    "first appeared on",         "verscheen eerst op",
    "erschien zuerst auf",  "est apparu en premier sur", "apareció primero en",
    "apareceu primeiro em",
};

static const char *const source_phrases[] = {
    "news agency",
    "agence france-presse",
    "associated press",
    "reuters",
    "(afp)",
    "afp)",
    "(ap)",
    "(dpa)",
    "(anp)",
    "(belga)",
    "(efe)",
    "(lusa)",
    "(ansa)",
    "(pap)",
    "nguồn:",
    "source:",
    "sources:",
    "bron:",
    "quelle:",
    "fonte:",
    "fuente:",
    "with agencies",
    "met agentschappen",
    "mit material von",
    "avec agences",
    "con agencias",
    "persbureau",
    "nachrichtenagentur",
    "agencia de noticias",
    "agência de notícias",
    "(theo ",
    "theo ",
    "according to",
};

static const char *const byline_starts[] = {
    "by ",    "door ",   "von ",        "par ",       "por ",
    "di ",    "przez ",  "bởi ",        "автор",      "tekst: ",
    "text: ", "texte: ", "written by ", "posted by ", "geschreven door ",
};

static const char *const caption_starts[] = {
    "caption:", "photo:",      "image:",   "foto:", "bild:",         "ảnh:",
    "imagen:",  "fotografia:", "picture:", "pic:",  "illustration:", "фото:",
};

static const char *const date_words[] = {
    "published",    "updated",      "posted",       "gepubliceerd", "bijgewerkt",  "veröffentlicht",
    "aktualisiert", "publié",       "mis à jour",   "publicado",    "actualizado", "atualizado",
    "pubblicato",   "aggiornato",   "opublikowano", "aktualizacja", "cập nhật",    "опубликовано",
    "обновлено",    "опубліковано", "date",
};

static const char *const month_prefixes[] = {
    "jan", "feb", "mar", "apr", "may",  "jun",  "jul", "aug", "sep", "oct",  "nov",   "dec",  "mei",
    "okt", "mrt", "mär", "dez", "janv", "févr", "fév", "avr", "mai", "juin", "juil",  "août", "déc",
    "ene", "abr", "ago", "dic", "fev",  "out",  "set", "dez", "gen", "giu",  "lug",   "ott",  "sty",
    "lut", "kwi", "maj", "cze", "lip",  "sie",  "wrz", "paź", "lis", "gru",  "tháng", "янв",  "фев",
    "мар", "апр", "мая", "июн", "июл",  "авг",  "сен", "окт", "ноя", "дек",
};

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* How much a text looks like a date or time: hh:mm, d/m/y, y-m-d, a month name by a number. */
static unsigned
date_tokens(const char *s, const struct pairs *pairs)
{
    unsigned n = 0;
    size_t len = strlen(s);

    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]) || (i > 0 && is_digit(s[i - 1])))
            continue;
        size_t j = i;
        while (j < len && is_digit(s[j]))
            j++;
        size_t d1 = j - i;
        if (j + 1 < len && (s[j] == ':' || s[j] == '/' || s[j] == '.' || s[j] == '-') &&
            is_digit(s[j + 1]) && d1 <= 4) {
            size_t k = j + 1;
            while (k < len && is_digit(s[k]))
                k++;
            size_t d2 = k - j - 1;
            if (s[j] == ':' && d1 <= 2 && d2 == 2)
                n += 2;
            else if (s[j] != ':' && d2 <= 2 && (d1 == 4 || (k < len && s[k] == s[j])))
                n += 2;
            i = k;
            continue;
        }
        if (d1 == 4 && (s[i] == '1' || s[i] == '2'))
            n++;
        i = j;
    }
    /* a month name (or its first letters) next to a number */
    for (size_t i = 0; i < sizeof(month_prefixes) / sizeof(month_prefixes[0]); i++) {
        const char *hit =
            pairs_may_have(pairs, month_prefixes[i]) ? strstr(s, month_prefixes[i]) : NULL;
        if (!hit)
            continue;
        bool start = hit == s || !((unsigned char)hit[-1] >= 'a' && (unsigned char)hit[-1] <= 'z');
        if (start && strpbrk(s, "0123456789")) {
            n++;
            break;
        }
    }
    return n;
}

/* Whether the text has a letter or a digit (not only symbols, emoji or punctuation). */
static bool
has_alnum(const char *s, size_t len)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;

    while (len > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, (utf8proc_ssize_t)(len < 4 ? len : 4), &cp);
        if (n <= 0)
            return false;
        utf8proc_category_t c = utf8proc_category(cp);
        if ((c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
            (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO))
            return true;
        p += n;
        len -= (size_t)n;
    }
    return false;
}

/* Words in a text (runs separated by spaces). */
static size_t
count_words(const char *s)
{
    size_t n = 0;
    bool in = false;
    for (; *s; s++) {
        bool sp = *s == ' ' || *s == '\n';
        if (!sp && !in)
            n++;
        in = !sp;
    }
    return n;
}

static bool
ends_sentence(const char *s, size_t len)
{
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '"' || s[len - 1] == '\''))
        len--;
    if (len == 0)
        return false;
    char c = s[len - 1];
    if (c == '.' || c == '!' || c == '?' || c == ':' || c == ';')
        return true;
    /* closing curly quote or guillemet after a sentence */
    if (len >= 3 && (unsigned char)s[len - 3] == 0xe2)
        return len >= 4 && (s[len - 4] == '.' || s[len - 4] == '!' || s[len - 4] == '?');
    return false;
}

/* Equal after case folding (ASCII) and collapsing spaces. */
static bool
same_text(const char *a, const char *b)
{
    for (;;) {
        while (*a == ' ' || *a == '\n')
            a++;
        while (*b == ' ' || *b == '\n')
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y)
            return false;
        a++;
        b++;
    }
}

/*
 * Cuts a leading date stamp ("date 2022-02 ", "Published 09.02.2022 - ") off a block whose
 * text goes on after it. Works in place.
 */
static void
strip_date_prefix(struct html_block *b)
{
    char *s = b->text;
    size_t i = 0;
    char low[40];

    lower_copy(low, sizeof(low), s, b->len);
    for (size_t k = 0; k < sizeof(date_words) / sizeof(date_words[0]); k++) {
        size_t wl = strlen(date_words[k]);
        if (strncmp(low, date_words[k], wl) == 0 && (s[wl] == ' ' || s[wl] == ':')) {
            i = wl;
            break;
        }
    }
    while (s[i] == ' ' || s[i] == ':')
        i++;
    size_t start = i;
    /* yyyy-mm[-dd][Thh:mm…] or d[d].m[m].yy[yy] (also / -) */
    while (is_digit(s[i]) || s[i] == '-' || s[i] == '/' || s[i] == '.' || s[i] == ':' ||
           s[i] == 'T' || s[i] == 'Z')
        i++;
    size_t digits = 0, seps = 0;
    for (size_t k = start; k < i; k++) {
        digits += is_digit(s[k]);
        seps += !is_digit(s[k]);
    }
    if (digits < 6 || seps < 1 || seps > 8 || s[i] != ' ')
        return;
    while (s[i] == ' ' || s[i] == '|' || s[i] == '-')
        i++;
    if (b->len - i < 20)
        return;
    memmove(s, s + i, b->len - i + 1);
    b->len -= i;
}

struct bctx {
    struct html_blocks *blocks;
    enum boilerplate_mode mode;
    const char *title;
    const char *lang;
    bool *keep;
    bool *repeated;
};

/* The rules that look at one block alone. */
static bool
block_is_boilerplate(const struct bctx *c, size_t i)
{
    const struct html_block *b = &c->blocks->v[i];
    bool page = c->mode == BOILERPLATE_PAGE;
    char low[640];
    uint32_t chars = b->chars;
    double ld = chars ? (double)b->link_chars / chars : 0;

    if (!has_alnum(b->text, b->len))
        return true;
    if (b->flags & (HTML_BLOCK_CAPTION | HTML_EV_CAPTION | HTML_BLOCK_FIGURE))
        if (chars < 400)
            return true;
    /*
     * Class evidence: in an item, from any ancestor; in a page, whose article container the
     * caller chose, from the block's own element, and from its ancestors below that
     * container only for the specific kinds (share, related, caption, comment).
     */
    uint32_t ev = b->flags;
    if (page)
        ev = html_evidence(b->elem) |
             (b->flags & (HTML_EV_SHARE | HTML_EV_RELATED | HTML_EV_CAPTION | HTML_EV_COMMENT));
    if (ev & (HTML_EV_SHARE | HTML_EV_RELATED | HTML_EV_AD | HTML_EV_COMMENT | HTML_EV_NAV |
              HTML_EV_TAGS))
        if (chars < (page ? 250u : 400u) || ld > 0.3)
            return true;
    if ((ev & HTML_EV_BYLINE) && chars < 200)
        return true;
    if ((ev & HTML_EV_FOOTER) && chars < 300)
        return true;
    if (ld > 0.5 && chars < 400)
        return true;
    if (c->title && chars < 400 && same_text(b->text, c->title))
        return true;
    if (b->len >= sizeof(low) - 1)
        return false; /* long paragraphs: phrases do not decide */

    lower_copy(low, sizeof(low), b->text, b->len);
    struct pairs pairs;
    pairs_of(&pairs, low);
    if (HAS_ANY(low, &pairs, appeared_phrases))
        return true;
    if (chars < SHORT_PHRASE_BLOCK &&
        (HAS_ANY(low, &pairs, promo_phrases) || HAS_ANY(low, &pairs, more_phrases)) &&
        (chars < 80 || ld > 0.2))
        return true;
    if (chars < SHORT_PHRASE_BLOCK && HAS_ANY(low, &pairs, copyright_phrases) &&
        !ends_sentence(low, strlen(low)))
        return true;
    if (chars < 160 && (low[0] == '\xc2' && (unsigned char)low[1] == 0xa9))
        return true;
    for (size_t k = 0; k < sizeof(caption_starts) / sizeof(caption_starts[0]); k++)
        if (strncmp(low, caption_starts[k], strlen(caption_starts[k])) == 0 && chars < 300)
            return true;

    size_t words = count_words(low);
    if (chars <= 90 && words <= 12) {
        size_t w, sw;
        lang_stopwords(b->text, b->len, c->lang, &w, &sw);
        bool few_stop = w == 0 || sw * 5 <= w;
        unsigned dt = date_tokens(low, &pairs);
        if (dt >= 2 && few_stop)
            return true; /* a timestamp or byline-and-time line */
        if (dt >= 1 && few_stop && words <= 6 && !ends_sentence(low, strlen(low)))
            return true;
        for (size_t k = 0; k < sizeof(byline_starts) / sizeof(byline_starts[0]); k++)
            if (strncmp(low, byline_starts[k], strlen(byline_starts[k])) == 0 && words <= 8 &&
                !ends_sentence(low, strlen(low)))
                return true;
    }
    return false;
}

/* A short note at the end naming the source: "(theo Politico)", "… is a news agency." */
static bool
is_source_note(const struct html_block *b)
{
    char low[256];

    if (b->chars > 120 || b->len >= sizeof(low) - 1)
        return false;
    lower_copy(low, sizeof(low), b->text, b->len);
    if (low[0] == '(' && low[b->len - 1] == ')' && b->chars <= 60)
        return true;
    struct pairs pairs;
    pairs_of(&pairs, low);
    return HAS_ANY(low, &pairs, source_phrases) || HAS_ANY(low, &pairs, copyright_phrases);
}

/* boilerplate_filter() with the blocks' fingerprints already taken (fps may be NULL). */
static void
filter_blocks(struct html_blocks *blocks, enum boilerplate_mode mode,
              const struct boilerplate_opts *opts, const struct boilerplate_model *model,
              const uint64_t *fps, bool *keep)
{
    struct bctx c = {.blocks = blocks, .mode = mode, .keep = keep};
    size_t n = blocks->n;
    unsigned min_repeats = opts && opts->min_repeats ? opts->min_repeats : BOILERPLATE_MIN_REPEATS;
    bool repeated_any = false;

    if (n == 0)
        return;
    c.title = opts ? opts->title : NULL;
    c.lang = opts ? opts->language : NULL;
    if (!c.lang) {
        /* the language of the item: from its longest blocks */
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (blocks->v[i].len > blocks->v[best].len)
                best = i;
        c.lang = lang_detect(blocks->v[best].text, blocks->v[best].len);
    }

    /* A block that recurs across the feed's items (looked up before any trimming). */
    if (model && model->items >= min_repeats) {
        for (size_t i = 0; i < n; i++) {
            uint64_t fp = fps ? fps[i] : block_fp(blocks->v[i].text, blocks->v[i].len);
            const struct bp_entry *e = model_find(model, fp);
            if (e && e->count >= min_repeats) {
                blocks->v[i].flags |= REPEATED;
                repeated_any = true;
            }
        }
    }

    for (size_t i = 0; i < n; i++) {
        keep[i] = !(blocks->v[i].flags & REPEATED);
        if (!(blocks->v[i].flags & HTML_BLOCK_PRE))
            strip_date_prefix(&blocks->v[i]);
        if (block_is_boilerplate(&c, i))
            keep[i] = false;
    }

    /* Lists and tables whose lines are mostly links: related headlines, menus. */
    for (size_t i = 0; i < n;) {
        uint32_t g = blocks->v[i].group;
        size_t j = i, chars = 0, links = 0, lines = 0;
        while (j < n && g != 0 && blocks->v[j].group == g) {
            chars += blocks->v[j].chars;
            links += blocks->v[j].link_chars;
            lines++;
            j++;
        }
        if (j == i) {
            i++;
            continue;
        }
        if (lines >= 2 && links * 2 > chars)
            for (size_t k = i; k < j; k++)
                keep[k] = false;
        i = j;
    }

    /* The same short block twice: the second is a repeat (headline over a photo ...). */
    for (size_t i = 0; i < n; i++) {
        if (!keep[i] || blocks->v[i].chars > 300)
            continue;
        for (size_t j = 0; j < i; j++) {
            if (blocks->v[j].len == blocks->v[i].len &&
                memcmp(blocks->v[j].text, blocks->v[i].text, blocks->v[i].len) == 0) {
                keep[i] = false;
                break;
            }
        }
    }

    /* Source and copyright notes among the last kept blocks. */
    for (size_t i = n, seen = 0; i-- > 0 && seen < TAIL_BLOCKS;) {
        if (!keep[i])
            continue;
        seen++;
        if (is_source_note(&blocks->v[i]))
            keep[i] = false;
        else if (blocks->v[i].chars > 200)
            break;
    }

    /*
     * A heading, or a short label without a sentence, whose section (up to the next heading)
     * lost all its blocks: the title of a dropped box ("know more", "Related").
     */
    for (size_t i = 0; i < n; i++) {
        const struct html_block *b = &blocks->v[i];
        bool label = b->heading || (b->chars <= 40 && count_words(b->text) <= 5 &&
                                    !ends_sentence(b->text, b->len));
        if (!keep[i] || !label)
            continue;
        bool any_kept = false, any_dropped = false;
        for (size_t j = i + 1; j < n && !blocks->v[j].heading; j++) {
            if (keep[j]) {
                any_kept = true;
                break;
            }
            any_dropped = true;
            if (!b->heading)
                break; /* a label only titles what follows it at once */
        }
        if (!any_kept && (any_dropped || b->heading))
            keep[i] = false;
    }

    /* Never empty an item for repetition alone: it may be the same story again. */
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        any = keep[i];
    if (!any && repeated_any)
        for (size_t i = 0; i < n; i++)
            if (blocks->v[i].flags & (REPEATED))
                keep[i] = true;
    for (size_t i = 0; i < n; i++)
        blocks->v[i].flags &= ~(REPEATED);
}

/* Decides for each block whether it is article or boilerplate. */
void
boilerplate_filter(struct html_blocks *blocks, enum boilerplate_mode mode,
                   const struct boilerplate_opts *opts, const struct boilerplate_model *model,
                   bool *keep)
{
    filter_blocks(blocks, mode, opts, model, NULL, keep);
}

/* The article text of an item's HTML, the item counted into the model when asked. */
int
boilerplate_clean(const char *html, size_t len, const struct boilerplate_opts *opts,
                  struct boilerplate_model *model, char **ret_text)
{
    struct html_blocks blocks = {0};
    bool *keep = NULL;
    char *text = NULL;
    int r;

    /* item mode reads only the blocks' text and flags: the fast path's blocks suffice */
    r = html_fragment_blocks(html, len, HTML_WALK_DROP_FORMS | HTML_WALK_DROP_LEAD_TIME, &blocks);
    if (r == 0 && blocks.n > 0) {
        keep = calloc(blocks.n, sizeof(*keep));
        if (!keep)
            r = -ENOMEM;
    }
    uint64_t *fps = NULL;
    bool learn = r == 0 && model && opts && opts->learn;
    if ((learn || model) && r == 0 && blocks.n > 0) {
        /* fingerprints of the blocks as published: boilerplate_filter() may trim a text */
        fps = malloc(blocks.n * sizeof(*fps));
        if (!fps)
            r = -ENOMEM;
        for (size_t i = 0; fps && i < blocks.n; i++)
            fps[i] = block_fp(blocks.v[i].text, blocks.v[i].len);
    }
    if (r == 0) {
        filter_blocks(&blocks, BOILERPLATE_ITEM, opts, model, fps, keep);
        r = html_blocks_join(&blocks, keep, &text);
    }
    if (r == 0 && learn) {
        for (size_t i = 0; r == 0 && i < blocks.n; i++)
            r = model_bump(model, fps[i]);
        if (r == 0 && model->items < UINT32_MAX)
            model->items++;
    }
    free(fps);
    free(keep);
    html_blocks_done(&blocks);
    if (r < 0) {
        free(text);
        return r;
    }
    *ret_text = text;
    return 0;
}
