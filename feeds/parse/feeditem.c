/*
 * feeditem.c — the item builder of the feed parser: what the format handlers (rss.c,
 * atom.c, feedext.c, jsonfeed.c) read goes into struct feed_doc here. Text fields are
 * cleaned, the first value wins; URLs are resolved against xml:base and filtered by scheme;
 * items get their key; categories and enclosures are bounded; refresh hints are combined at
 * finish. The SAX engine that calls the handlers is feedparse.c.
 */
#include "parse/feedparse.h"
#include "parse/feedparse-internal.h"
#include "parse/feedparse-state.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/hash.h"
#include "base/url.h"
#include "parse/date.h"
#include "parse/feedtext.h"

/* Sets *field to the cleaned text when *field is still NULL (the first value wins). */
int
fp_set_text(char **field, const char *text, size_t len, enum feedtext_kind kind)
{
    if (*field || !text)
        return 0;
    return feedtext_clean(text, len, kind, field);
}

/* Keeps a resolved URL only if its scheme is one we follow; *url is freed otherwise. */
static void
url_filter(struct feedparse *p, char **url)
{
    char scheme[16];

    if (!*url)
        return;
    if (!url_scheme(*url, scheme, sizeof(scheme))) {
        /* Still relative: no base could resolve it. Kept as published. */
        return;
    }
    if (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0 ||
        (p->allow_file && strcmp(scheme, "file") == 0))
        return;
    free(*url);
    *url = NULL;
}

/* Cleans and resolves a URL against the base in scope into *ret. */
int
fp_url(struct feedparse *p, const char *text, size_t len, char **ret)
{
    const char *base = p->frames[p->depth].base;
    char *clean = NULL, *res = NULL;
    char scheme[32]; /* as in url_resolve */
    int r;

    r = feedtext_clean(text, len, FEEDTEXT_TOKEN, &clean);
    if (r < 0 || !clean) {
        if (r == 0)
            *ret = NULL;
        return r;
    }
    if (url_scheme(clean, scheme, sizeof(scheme))) {
        res = clean; /* absolute: url_resolve would return a copy of it as it is */
    } else {
        if (!base && p->doc->link)
            base = p->doc->link;
        r = url_resolve(base, clean, &res);
        free(clean);
        if (r < 0)
            return r;
    }
    url_filter(p, &res);
    *ret = res;
    return 0;
}

/*
 * Cleans a language tag into *ret (NULL when blank): BCP 47 separates subtags with '-',
 * where feeds often write the POSIX locale's '_' ("en_US"). The case is kept: BCP 47 tags
 * are case-insensitive. A value that is no tag at all is kept as written. 0 or -ENOMEM.
 */
int
fp_lang(const char *text, size_t len, char **ret)
{
    char *s = NULL;
    int r = feedtext_clean(text, len, FEEDTEXT_TOKEN, &s);

    if (r < 0)
        return r;
    /* Only a tag is rewritten: letters, digits, '-' and '_'; anything else is kept as it is. */
    if (s &&
        s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")] == '\0') {
        for (char *c = s; *c; c++) {
            if (*c == '_')
                *c = '-';
        }
    }
    *ret = s;
    return 0;
}

/* Parses a date; FEED_TIME_NONE when it is absent or unreadable. */
int64_t
fp_date(const char *text)
{
    int64_t at;

    if (!text || date_parse(text, &at) < 0)
        return FEED_TIME_NONE;
    return at;
}

/* Opens an item at depth (the element that starts now). */
int
fp_item_begin(struct feedparse *p, size_t depth)
{
    const char *lang = p->frames[p->depth].lang;

    if (p->item.active)
        return 0; /* an item inside an item: the inner one is part of the outer */
    if (p->doc->n_items >= p->limits.max_items)
        return 0; /* past max_items: ignored, see the top of this file */
    p->item = (struct fp_item){.active = true, .depth = depth};
    p->item.item.published_at = FEED_TIME_NONE;
    p->item.item.updated_at = FEED_TIME_NONE;
    fp_ext_item_begin(p);
    if (lang && !(p->item.item.language = strdup(lang)))
        return fp_fail_oom(p);
    return 0;
}

/*
 * An id or link as the key, as sent; one longer than FP_KEY_MAX bytes is keyed by the
 * SHA-256 of its bytes instead ("sha256:" and 64 hex digits): the key is as stable across
 * polls, and the store does not keep a feed's rotating 4 KB guids for good.
 */
#define FP_KEY_MAX 1024

static int
key_of(const char *s, char **ret)
{
    size_t len = strlen(s);
    char key[7 + HASH_SHA256_HEX];

    if (len <= FP_KEY_MAX) {
        *ret = strdup(s);
    } else {
        memcpy(key, "sha256:", 7);
        hash_sha256_hex(s, len, key + 7);
        *ret = strdup(key);
    }
    return *ret ? 0 : -ENOMEM;
}

static int
item_make_key(struct feed_item *it)
{
    char date[DATE_RFC3339_LEN] = "";
    const char *body = it->content ? it->content : it->summary;
    const char *fields[3];
    uint64_t h = HASH_SEED;
    char key[5 + 16 + 1];

    if (it->id)
        return key_of(it->id, &it->key);
    if (it->link)
        return key_of(it->link, &it->key);
    /*
     * No id and no link: a hash of title, date and text, each preceded by its presence so
     * that (title "", no body) and (no title, body "") differ.
     */
    if (it->published_at != FEED_TIME_NONE)
        date_format(it->published_at, date);
    fields[0] = it->title;
    fields[1] = it->published_at != FEED_TIME_NONE ? date : NULL;
    fields[2] = body;
    for (size_t i = 0; i < 3; i++) {
        unsigned char tag = fields[i] ? 1 : 0;

        h = hash_update(h, &tag, 1);
        if (fields[i])
            h = hash_update(h, fields[i], strlen(fields[i]) + 1);
    }
    (void)snprintf(key, sizeof(key), "hash:%016llx", (unsigned long long)hash_final(h));
    it->key = strdup(key);
    return it->key ? 0 : -ENOMEM;
}

/* Closes the open item: key, the id shown in its place, then appends it to the document. */
int
fp_item_end_shown_id(struct feedparse *p, char **shown_id)
{
    struct feed_item *it = &p->item.item;
    struct feed_doc *doc = p->doc;
    int r;

    if (!p->item.active)
        return 0;
    fp_ext_item_end(p);
    p->item.active = false;
    r = item_make_key(it);
    if (r < 0)
        goto fail;
    if (!it->id && shown_id && *shown_id) {
        it->id = *shown_id;
        *shown_id = NULL;
    }
    if (doc->n_items == p->alloc_items) {
        size_t n = p->alloc_items ? p->alloc_items * 2 : 16;
        struct feed_item *items;

        if (n > p->limits.max_items)
            n = p->limits.max_items;
        items = realloc(doc->items, n * sizeof(*items));
        if (!items) {
            r = -ENOMEM;
            goto fail;
        }
        doc->items = items;
        p->alloc_items = n;
    }
    doc->items[doc->n_items++] = *it;
    p->items_bytes += feed_item_bytes(it) - sizeof(*it); /* the array is counted apart */
    p->item.item = (struct feed_item){0};
    return 0;

fail:
    feed_item_done(it);
    return fp_fail_oom(p);
}

/* Closes the open item: key, then appends it to the document. */
int
fp_item_end(struct feedparse *p)
{
    return fp_item_end_shown_id(p, NULL);
}

/* Appends a category (cleaned) to the open item. */
int
fp_item_add_category(struct feedparse *p, const char *text, size_t len)
{
    struct feed_item *it = fp_item(p);
    char *s = NULL;
    int r;

    if (!it || it->n_categories >= FP_MAX_CATEGORIES)
        return 0;
    r = feedtext_clean(text, len, FEEDTEXT_LINE, &s);
    if (r < 0)
        return fp_fail_oom(p);
    if (!s)
        return 0;
    for (size_t i = 0; i < it->n_categories; i++) {
        if (strcmp(it->categories[i], s) == 0) {
            free(s);
            return 0;
        }
    }
    if (it->n_categories == p->item.alloc_categories) {
        size_t n = p->item.alloc_categories ? p->item.alloc_categories * 2 : 4;
        char **c = realloc(it->categories, n * sizeof(*c));

        if (!c) {
            free(s);
            return fp_fail_oom(p);
        }
        it->categories = c;
        p->item.alloc_categories = n;
    }
    it->categories[it->n_categories++] = s;
    return 0;
}

/* Reads an enclosure length: a plain non-negative decimal, else -1 (unknown). */
static int64_t
parse_length(const char *s)
{
    int64_t v = 0;
    size_t i = 0;

    if (!s)
        return -1;
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
        i++;
    if (s[i] < '0' || s[i] > '9')
        return -1;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
        i++;
    return s[i] == '\0' ? v : -1;
}

/* Appends an enclosure to the open item; url is resolved, length may be NULL. */
int
fp_item_add_enclosure(struct feedparse *p, const char *url, const char *type, const char *length)
{
    struct feed_item *it = fp_item(p);
    struct feed_enclosure e = {.length = parse_length(length)};
    int r;

    if (!it || !url || it->n_enclosures >= FP_MAX_ENCLOSURES)
        return 0;
    r = fp_url(p, url, strlen(url), &e.url);
    if (r < 0)
        return fp_fail_oom(p);
    if (!e.url)
        return 0;
    for (size_t i = 0; i < it->n_enclosures; i++) {
        if (strcmp(it->enclosures[i].url, e.url) == 0) {
            free(e.url);
            return 0;
        }
    }
    if (type && feedtext_clean(type, strlen(type), FEEDTEXT_TOKEN, &e.type) < 0) {
        free(e.url);
        return fp_fail_oom(p);
    }
    if (it->n_enclosures == p->item.alloc_enclosures) {
        size_t n = p->item.alloc_enclosures ? p->item.alloc_enclosures * 2 : 2;
        struct feed_enclosure *v = realloc(it->enclosures, n * sizeof(*v));

        if (!v) {
            free(e.url);
            free(e.type);
            return fp_fail_oom(p);
        }
        it->enclosures = v;
        p->item.alloc_enclosures = n;
    }
    it->enclosures[it->n_enclosures++] = e;
    return 0;
}

/* Sets the open item's image (the first one wins); url is resolved. */
int
fp_item_set_image(struct feedparse *p, const char *url)
{
    struct feed_item *it = fp_item(p);

    if (!it || !url || it->image)
        return 0;
    return fp_url(p, url, strlen(url), &it->image) < 0 ? fp_fail_oom(p) : 0;
}

/* Reads a duration in seconds ("3600", "1:02:03", "62:03", "PT1H2M3S"); 0 when unreadable. */
int64_t
fp_duration(const char *text)
{
    int64_t parts[3] = {0, 0, 0}, total = 0;
    size_t n = 0, i = 0;
    bool digits = false;

    if (!text)
        return 0;
    while (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')
        i++;
    if (text[i] == 'P' || text[i] == 'p') {
        /* ISO 8601 duration, time part only: PT#H#M#S. */
        int64_t v = 0;

        if (text[i + 1] != 'T' && text[i + 1] != 't')
            return 0;
        for (i += 2; text[i]; i++) {
            char c = text[i];

            if (c >= '0' && c <= '9') {
                if (v > 100000000)
                    return 0;
                v = v * 10 + (c - '0');
                digits = true;
            } else if (digits && (c == 'H' || c == 'M' || c == 'S' || c == '.')) {
                total += v * (c == 'H' ? 3600 : c == 'M' ? 60 : 1);
                v = 0;
                digits = false;
                if (c == '.') {
                    while (text[i + 1] >= '0' && text[i + 1] <= '9')
                        i++;
                    if (text[i + 1] != 'S')
                        return 0;
                    i++;
                }
            } else {
                break;
            }
        }
        return total;
    }
    for (; text[i]; i++) {
        char c = text[i];

        if (c >= '0' && c <= '9') {
            if (parts[n] > 100000000)
                return 0;
            parts[n] = parts[n] * 10 + (c - '0');
            digits = true;
        } else if (c == ':' && digits && n < 2) {
            n++;
            digits = false;
        } else if (c == '.' && digits) {
            while (text[i + 1] >= '0' && text[i + 1] <= '9')
                i++;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            break;
        } else {
            return 0;
        }
    }
    if (!digits)
        return 0;
    for (size_t k = 0; k <= n; k++)
        total = total * 60 + parts[k];
    return total;
}

/* ---- refresh hints ---- */

/*
 * A plain positive decimal with optional whitespace around it, at most max; else 0
 * (absent, garbage, zero, negative or too large all read as "no hint").
 */
static int64_t
refresh_number(const char *s, int64_t max)
{
    int64_t v = 0;
    size_t i = 0;

    if (!s)
        return 0;
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
        i++;
    if (s[i] == '+')
        i++;
    if (s[i] < '0' || s[i] > '9')
        return 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (s[i] - '0');
        if (v > max)
            return 0;
    }
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
        i++;
    return s[i] == '\0' ? v : 0;
}

/* Reads an RSS <ttl> (minutes) of the channel. */
void
fp_refresh_ttl(struct feedparse *p, const char *text)
{
    /* Up to a year of minutes is read; the result is capped at FP_REFRESH_MAX at finish. */
    int64_t min = refresh_number(text, 366 * 24 * 60);

    if (min > 0 && p->refresh.ttl_s == 0)
        p->refresh.ttl_s = min * 60;
}

/* Reads sy:updatePeriod of the channel. */
void
fp_refresh_period(struct feedparse *p, const char *text)
{
    static const struct {
        const char *name;
        int64_t seconds;
    } periods[] = {
        {"hourly", 3600},        {"daily", 86400},        {"weekly", 7 * 86400},
        {"monthly", 30 * 86400}, {"yearly", 365 * 86400},
    };
    size_t i = 0, n;

    if (!text || p->refresh.period_s != 0)
        return;
    p->refresh.period_s = -1;
    while (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')
        i++;
    n = strlen(text + i);
    while (n > 0 && (text[i + n - 1] == ' ' || text[i + n - 1] == '\t' || text[i + n - 1] == '\n' ||
                     text[i + n - 1] == '\r'))
        n--;
    for (size_t k = 0; k < sizeof(periods) / sizeof(periods[0]); k++) {
        if (strlen(periods[k].name) == n && strncasecmp(text + i, periods[k].name, n) == 0) {
            p->refresh.period_s = periods[k].seconds;
            return;
        }
    }
}

/* Reads sy:updateFrequency of the channel. */
void
fp_refresh_frequency(struct feedparse *p, const char *text)
{
    int64_t f;

    if (!text || p->refresh.frequency != 0)
        return;
    f = refresh_number(text, 1000000000);
    p->refresh.frequency = f > 0 ? f : -1;
}

/*
 * The feed's minimum refresh: the larger of <ttl> and sy:updatePeriod / sy:updateFrequency
 * (period daily when only a frequency is given, frequency 1 when only a period is), within
 * 1 second .. FP_REFRESH_MAX; 0 when the feed says nothing readable. An unreadable period
 * or frequency voids the sy: hint.
 */
int64_t
fp_refresh_compute(const struct fp_refresh_state *st)
{
    int64_t best = st->ttl_s;

    if ((st->period_s != 0 || st->frequency != 0) && st->period_s >= 0 && st->frequency >= 0) {
        int64_t period = st->period_s ? st->period_s : 86400;
        int64_t freq = st->frequency ? st->frequency : 1;
        int64_t sy = period / freq;

        if (sy > best)
            best = sy;
    }
    if (best <= 0)
        return 0;
    return best > FP_REFRESH_MAX ? FP_REFRESH_MAX : best;
}
