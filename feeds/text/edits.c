#include "text/edits.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/hash.h"
#include "base/utf8.h"
#include "text/html.h"
#include "text/normalize.h"

int
edits_feed_text(const char *summary, const char *content, char **ret_text)
{
    const char *html = content && *content ? content : summary;
    *ret_text = NULL;
    if (html && *html) {
        size_t len = strlen(html);
        if (len > EDITS_MAX_HTML)
            len = utf8_cut(html, len, EDITS_MAX_HTML);
        int r = html_to_text(html, len, ret_text);
        if (r == -ENOMEM)
            return r;
        if (r < 0) /* unreadable HTML (too large): compared as no text, as it is stored */
            *ret_text = NULL;
    }
    if (!*ret_text && !(*ret_text = strdup("")))
        return -ENOMEM;
    return 0;
}

bool
edits_is_tracking(const char *name, size_t len)
{
    static const char *const exact[] = {
        "fbclid",    "gclid",    "gclsrc",  "dclid",       "msclkid",    "mc_cid",    "mc_eid",
        "yclid",     "igshid",   "_hsenc",  "_hsmi",       "mkt_tok",    "twclid",    "ttclid",
        "li_fat_id", "wickedid", "vero_id", "oly_anon_id", "oly_enc_id", "_openstat", "srsltid",
    };
    if (len >= 4 && strncasecmp(name, "utm_", 4) == 0)
        return true;
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strlen(exact[i]) == len && strncasecmp(name, exact[i], len) == 0)
            return true;
    return false;
}

/* Whether c ends a URL written in text. */
static bool
url_end(char c)
{
    return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' ||
           c == '<' || c == '>';
}

char *
edits_strip_tracking(const char *text, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    while (i < len) {
        bool url = (len - i >= 7 && strncasecmp(text + i, "http://", 7) == 0) ||
                   (len - i >= 8 && strncasecmp(text + i, "https://", 8) == 0);
        if (!url) {
            out[o++] = text[i++];
            continue;
        }
        size_t end = i;
        while (end < len && !url_end(text[end]))
            end++;
        size_t q = i;
        while (q < end && text[q] != '?' && text[q] != '#')
            q++;
        memcpy(out + o, text + i, q - i);
        o += q - i;
        if (q < end && text[q] == '?') {
            size_t frag = q;
            while (frag < end && text[frag] != '#')
                frag++;
            bool first = true;
            for (size_t p = q + 1; p < frag;) {
                size_t e = p;
                while (e < frag && text[e] != '&' && text[e] != ';')
                    e++;
                size_t name = p;
                while (name < e && text[name] != '=')
                    name++;
                if (e > p && !edits_is_tracking(text + p, name - p)) {
                    out[o++] = first ? '?' : '&';
                    memcpy(out + o, text + p, e - p);
                    o += e - p;
                    first = false;
                }
                p = e + 1;
            }
            q = frag;
        }
        memcpy(out + o, text + q, end - q); /* the fragment */
        o += end - q;
        i = end;
    }
    out[o] = '\0';
    return out;
}

/* The length of a sentence end at text[i] ('.', '!', '?', '…' before a space; '。' ...), or 0. */
static size_t
sentence_end(const char *text, size_t len, size_t i)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = 0;
    if (s[i] == '.' || s[i] == '!' || s[i] == '?')
        n = 1;
    else if (len - i >= 3 && s[i] == 0xE2 && s[i + 1] == 0x80 && s[i + 2] == 0xA6) /* … */
        n = 3;
    else if (len - i >= 3 && ((s[i] == 0xE3 && s[i + 1] == 0x80 && s[i + 2] == 0x82) || /* 。 */
                              (s[i] == 0xEF && s[i + 1] == 0xBC &&
                               (s[i + 2] == 0x81 || s[i + 2] == 0x9F)))) /* ！ ？ */
        return 3;
    if (n == 0)
        return 0;
    /* Closing quotes and brackets stay with their sentence. */
    while (i + n < len && (s[i + n] == '"' || s[i + n] == '\'' || s[i + n] == ')'))
        n++;
    if (i + n == len || s[i + n] == ' ' || s[i + n] == '\t' || s[i + n] == '\n' || s[i + n] == '\r')
        return n;
    return 0;
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Appends text[a..b), trimmed, to the spans unless empty. */
static void
span_add(struct edits_span *v, size_t *n, const char *text, size_t a, size_t b)
{
    while (a < b && is_space(text[a]))
        a++;
    while (b > a && is_space(text[b - 1]))
        b--;
    if (b > a)
        v[(*n)++] = (struct edits_span){a, b - a};
}

int
edits_sentences(const char *text, size_t len, struct edits_span **ret_spans, size_t *ret_n)
{
    *ret_spans = NULL;
    *ret_n = 0;
    if (!text || len == 0)
        return 0;
    /* Every sentence ends at a break or a mark: their count bounds the spans. */
    size_t cap = 1;
    for (size_t i = 0; i < len && cap < EDITS_MAX_SENTENCES; i++)
        if (text[i] == '\n' || sentence_end(text, len, i))
            cap++;
    struct edits_span *v = malloc(cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    size_t n = 0, start = 0;
    for (size_t i = 0; i < len && n + 1 < EDITS_MAX_SENTENCES;) {
        size_t e = text[i] == '\n' ? 1 : sentence_end(text, len, i);
        if (e == 0) {
            i++;
            continue;
        }
        span_add(v, &n, text, start, text[i] == '\n' ? i : i + e);
        i += e;
        start = i;
    }
    span_add(v, &n, text, start, len); /* the last sentence, or the rest of a long text */
    if (n == 0) {
        free(v);
        return 0;
    }
    *ret_spans = v;
    *ret_n = n;
    return 0;
}

/* The words of s (len bytes) normalized and hashed: 0 when it has none. -1 (all ones) on OOM. */
static int
words_hash(const char *s, size_t len, uint64_t *ret)
{
    char *norm = normalize_text(s, len);
    if (!norm)
        return -ENOMEM;
    *ret = *norm ? hash_final(hash_update(HASH_SEED, norm, strlen(norm))) | 1 : 0;
    free(norm);
    return 0;
}

/* One side of a comparison: a text, its sentences and their words' hashes. */
struct side {
    char *text; /* tracking parameters left out */
    struct edits_span *spans;
    size_t n;
    uint64_t *hash;
    bool *paired; /* has an equal sentence on the other side */
    size_t *order;
};

static void
side_done(struct side *s)
{
    free(s->text);
    free(s->spans);
    free(s->hash);
    free(s->paired);
    free(s->order);
}

/* Orders idx by their keys (a merge sort, stable: equal keys keep text order). */
static void
order_sort(size_t *idx, size_t n, const uint64_t *keys, size_t *tmp)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    order_sort(idx, h, keys, tmp);
    order_sort(idx + h, n - h, keys, tmp);
    size_t a = 0, b = h, o = 0;
    while (a < h && b < n)
        tmp[o++] = keys[idx[b]] < keys[idx[a]] ? idx[b++] : idx[a++];
    while (a < h)
        tmp[o++] = idx[a++];
    while (b < n)
        tmp[o++] = idx[b++];
    memcpy(idx, tmp, n * sizeof(*idx));
}

/* s (NULL: "") without tracking parameters, its first EDITS_MAX_TEXT bytes; NULL on OOM. */
static char *
strip_capped(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len > EDITS_MAX_TEXT)
        len = utf8_cut(s, len, EDITS_MAX_TEXT);
    return edits_strip_tracking(s ? s : "", len);
}

static int
side_init(struct side *s, const char *text)
{
    memset(s, 0, sizeof(*s));
    if (!(s->text = strip_capped(text)))
        return -ENOMEM;
    int r = edits_sentences(s->text, strlen(s->text), &s->spans, &s->n);
    if (r < 0)
        return r;
    size_t n = s->n ? s->n : 1;
    s->hash = calloc(n, sizeof(*s->hash));
    s->paired = calloc(n, sizeof(*s->paired));
    s->order = calloc(n, sizeof(*s->order));
    size_t *tmp = calloc(n, sizeof(*tmp));
    if (!s->hash || !s->paired || !s->order || !tmp) {
        free(tmp);
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->n && r == 0; i++) {
        r = words_hash(s->text + s->spans[i].off, s->spans[i].len, &s->hash[i]);
        s->order[i] = i;
        if (s->hash[i] == 0)
            s->paired[i] = true; /* no words (a lone "—"): never an edit */
    }
    if (r == 0)
        order_sort(s->order, s->n, s->hash, tmp);
    free(tmp);
    return r;
}

/* Pairs the sentences of a and b with equal words (as many of each as the other side has). */
static void
sides_pair(struct side *a, struct side *b)
{
    size_t i = 0, j = 0;
    while (i < a->n && j < b->n) {
        uint64_t x = a->hash[a->order[i]], y = b->hash[b->order[j]];
        if (x < y) {
            i++;
        } else if (y < x) {
            j++;
        } else {
            a->paired[a->order[i++]] = true;
            b->paired[b->order[j++]] = true;
        }
    }
}

/* A string of at most EDITS_MAX_SENTENCE bytes of s (len), cut on a character; NULL: OOM. */
static json_t *
json_cut(const char *s, size_t len)
{
    if (len > EDITS_MAX_SENTENCE)
        len = utf8_cut(s, len, EDITS_MAX_SENTENCE);
    /* JSON holds UTF-8 only: a text that is not ends at its first invalid byte. */
    return json_stringn(s, utf8_valid_prefix(s, len));
}

/* The unpaired sentences of s, at most EDITS_MAX_LISTED, into list; *ret_n: all of them. */
static int
side_list(const struct side *s, json_t *list, size_t *ret_n)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->paired[i])
            continue;
        if (n++ < EDITS_MAX_LISTED) {
            json_t *v = json_cut(s->text + s->spans[i].off, s->spans[i].len);
            if (!v || json_array_append_new(list, v) < 0)
                return -ENOMEM;
        }
    }
    *ret_n = n;
    return 0;
}

static json_t *
title_json(const char *t)
{
    return t ? json_cut(t, strlen(t)) : json_null();
}

int
edits_compare(const char *title_before, const char *text_before, const char *title_after,
              const char *text_after, char **ret_changes)
{
    struct side b = {0}, a = {0};
    json_t *changes = NULL;
    uint64_t tb = 0, ta = 0;
    int r = 0;
    *ret_changes = NULL;
    char *sb = strip_capped(title_before), *sa = strip_capped(title_after);
    if (!sb || !sa || (r = words_hash(sb, strlen(sb), &tb)) < 0 ||
        (r = words_hash(sa, strlen(sa), &ta)) < 0 || (r = side_init(&b, text_before)) < 0 ||
        (r = side_init(&a, text_after)) < 0)
        goto done;
    sides_pair(&b, &a);
    size_t removed = 0, added = 0;
    json_t *before = json_array(), *after = json_array();
    changes = json_array();
    if (!before || !after || !changes || side_list(&b, before, &removed) < 0 ||
        side_list(&a, after, &added) < 0) {
        json_decref(before);
        json_decref(after);
        r = -ENOMEM;
        goto done;
    }
    if (tb != ta && json_array_append_new(changes, json_pack("{s:s, s:o, s:o}", "field", "title",
                                                             "before", title_json(title_before),
                                                             "after", title_json(title_after))) < 0)
        r = -ENOMEM;
    if (r == 0 && (removed || added) &&
        json_array_append_new(changes, json_pack("{s:s, s:O, s:O, s:I, s:I}", "field", "text",
                                                 "before", before, "after", after, "removed",
                                                 (json_int_t)removed, "added", (json_int_t)added)) <
            0)
        r = -ENOMEM;
    json_decref(before);
    json_decref(after);
    if (r == 0 && json_array_size(changes) > 0) {
        *ret_changes = json_dumps(changes, JSON_COMPACT | JSON_PRESERVE_ORDER);
        r = *ret_changes ? 1 : -ENOMEM;
    }
done:
    if (!sb || !sa)
        r = -ENOMEM;
    free(sb);
    free(sa);
    side_done(&b);
    side_done(&a);
    json_decref(changes);
    return r;
}
