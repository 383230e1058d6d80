/*
 * fuzz_feedparse.c — the streaming feed parser under arbitrary bytes.
 *
 * Each input is parsed twice: once whole (feedparse_buffer, or one push when the limits are
 * not the defaults) and once pushed in chunks. A hash of the input's bytes chooses the
 * chunking (whole, 1, 2, 7, 4096 or 16384 bytes, or random sizes) and whether small limits
 * are used (with them, raw gzip may inflate to 256 KB only), so the input's bytes, first
 * ones included, steer the split while a corpus file used as it is still parses as the
 * document it is. Oracles (feedparse.h, feed.h): both
 * parses give the same status and the same document (the result must not depend on the
 * split); an error has a reason; every string of a document is valid UTF-8; the item count
 * respects max_items; every item has a key.
 *
 * Malformed XML is recovered by libxml2, and where a split falls can change what its
 * recovery keeps; the split oracle therefore holds for every input where at least one parse
 * saw well-formed XML (a document not marked recovered, or an error against one), and for
 * recovered documents too only when FW_FUZZ_STRICT_SPLIT=1 is set in the environment.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/feedparse.h"
#include "fuzz.h"

#define BASE_URL "http://fuzz.example.org/feeds/index.xml"
#define BYTEWISE_MAX (64u * 1024)   /* longer inputs are pushed 3 bytes at a time, not 1 */
#define FUZZ_MAX_SIZE (256u * 1024) /* inflated bytes of raw gzip under the small limits */

static uint64_t
fnv1a(const uint8_t *data, size_t size)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < size; i++) {
        h ^= data[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t
xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static bool
str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static void
item_check(const struct feed_item *it)
{
    assert(it->key && it->key[0]);
    assert(fuzz_utf8_ok(it->key) && fuzz_utf8_ok(it->id) && fuzz_utf8_ok(it->title) &&
           fuzz_utf8_ok(it->link));
    assert(fuzz_utf8_ok(it->author) && fuzz_utf8_ok(it->summary) && fuzz_utf8_ok(it->content));
    assert(fuzz_utf8_ok(it->language));
    assert(it->n_categories == 0 || it->categories);
    for (size_t i = 0; i < it->n_categories; i++)
        assert(fuzz_utf8_ok(it->categories[i]));
    assert(it->n_enclosures == 0 || it->enclosures);
    for (size_t i = 0; i < it->n_enclosures; i++)
        assert(fuzz_utf8_ok(it->enclosures[i].url) && fuzz_utf8_ok(it->enclosures[i].type));
}

static void
doc_check(const struct feed_doc *doc, size_t max_items)
{
    assert(doc);
    assert(fuzz_utf8_ok(doc->title) && fuzz_utf8_ok(doc->link) && fuzz_utf8_ok(doc->language));
    assert(doc->n_items <= max_items);
    assert(doc->n_items == 0 || doc->items);
    for (size_t i = 0; i < doc->n_items; i++)
        item_check(&doc->items[i]);
}

static void
item_same(const struct feed_item *a, const struct feed_item *b)
{
    assert(str_eq(a->key, b->key) && str_eq(a->id, b->id));
    assert(str_eq(a->title, b->title) && str_eq(a->link, b->link));
    assert(str_eq(a->author, b->author) && str_eq(a->language, b->language));
    assert(str_eq(a->summary, b->summary) && str_eq(a->content, b->content));
    assert(a->published_at == b->published_at && a->updated_at == b->updated_at);
    assert(a->n_categories == b->n_categories && a->n_enclosures == b->n_enclosures);
    for (size_t i = 0; i < a->n_categories; i++)
        assert(str_eq(a->categories[i], b->categories[i]));
    for (size_t i = 0; i < a->n_enclosures; i++) {
        assert(str_eq(a->enclosures[i].url, b->enclosures[i].url));
        assert(a->enclosures[i].length == b->enclosures[i].length);
    }
}

static void
doc_same(const struct feed_doc *a, const struct feed_doc *b)
{
    assert(a->format == b->format && a->recovered == b->recovered);
    assert(str_eq(a->title, b->title) && str_eq(a->link, b->link));
    assert(str_eq(a->language, b->language) && a->updated_at == b->updated_at);
    assert(a->n_items == b->n_items);
    for (size_t i = 0; i < a->n_items; i++)
        item_same(&a->items[i], &b->items[i]);
}

/* Size of the next push in chunking mode for the rest of an input of size bytes. */
static size_t
chunk_next(unsigned mode, size_t size, uint64_t *rng)
{
    switch (mode) {
    case 0:
        return size;
    case 1:
        return size <= BYTEWISE_MAX ? 1 : 3;
    case 2:
        return 2;
    case 3:
        return 7;
    case 4:
        return 4096;
    case 5:
        return 16384;
    default:
        return 1 + (size_t)(xorshift(rng) % (1u << (1 + xorshift(rng) % 15)));
    }
}

/* Parses data pushed in chunks; returns the status and hands a document to *ret_doc. */
static int
parse_chunked(const uint8_t *data, size_t size, const struct feedparse_limits *lim, unsigned mode,
              uint64_t seed, struct feed_doc **ret_doc)
{
    struct feedparse *p = feedparse_new(BASE_URL, lim);
    uint64_t rng = seed | 1;
    size_t off = 0;
    int r = 0;

    if (!p)
        return -ENOMEM;
    if (lim)
        (void)feedparse_set_max_size(p, FUZZ_MAX_SIZE);
    while (off < size && r == 0) {
        size_t n = chunk_next(mode, size, &rng);

        if (n > size - off)
            n = size - off;
        r = feedparse_push(p, (const char *)data + off, n);
        off += n;
    }
    if (r == 0)
        r = feedparse_finish(p, ret_doc);
    if (r < 0) {
        const char *why = feedparse_error(p);

        assert(why && why[0]);
        assert(fuzz_utf8_ok(why) || r == -ENOMEM);
        /* Sticky: a later push gives the same error. */
        assert(feedparse_push(p, "<", 1) == r);
    }
    feedparse_free(p);
    return r;
}

/* Parses data whole: feedparse_buffer with the default limits, else one push. */
static int
parse_whole(const uint8_t *data, size_t size, const struct feedparse_limits *lim,
            struct feed_doc **ret_doc)
{
    if (!lim) {
        char *why = NULL;
        int r = feedparse_buffer((const char *)data, size, BASE_URL, ret_doc, &why);

        assert(r <= 0);
        assert(r == 0 || r == -ENOMEM || (why && why[0]));
        free(why);
        return r;
    }
    struct feedparse *p = feedparse_new(BASE_URL, lim);
    int r;

    if (!p)
        return -ENOMEM;
    (void)feedparse_set_max_size(p, FUZZ_MAX_SIZE);
    r = feedparse_push(p, (const char *)data, size);
    if (r == 0)
        r = feedparse_finish(p, ret_doc);
    feedparse_free(p);
    return r;
}

static bool strict_split, strict_split_set;

/* Runs the code under test on one input; always returns 0 (libFuzzer's convention). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct feedparse_limits small = {
        .max_depth = 16, .max_text = 1024, .max_items = 8};
    uint64_t h = fnv1a(data, size);
    unsigned mode = (unsigned)(h % 8);
    const struct feedparse_limits *lim = (h >> 16) % 4 == 0 ? &small : NULL;
    size_t max_items = lim ? lim->max_items : 10000;
    struct feed_doc *whole = NULL, *split = NULL;
    int rw, rs;

    rw = parse_whole(data, size, lim, &whole);
    rs = parse_chunked(data, size, lim, mode, h, &split);
    if (rw == -ENOMEM || rs == -ENOMEM) {
        feed_doc_free(whole);
        feed_doc_free(split);
        return 0;
    }
    assert(rw == 0 || rw == -EPROTO || rw == -EMSGSIZE);
    assert(rs == 0 || rs == -EPROTO || rs == -EMSGSIZE);
    if (whole)
        doc_check(whole, max_items);
    if (split)
        doc_check(split, max_items);
    if (!strict_split_set) {
        const char *e = getenv("FW_FUZZ_STRICT_SPLIT");

        strict_split = e && strcmp(e, "0") != 0;
        strict_split_set = true;
    }
    /* Both recovered, or both failed on malformed XML: compared only when strict. */
    bool malformed = (whole ? whole->recovered : true) && (split ? split->recovered : true);
    if (strict_split || !malformed) {
        assert(rw == rs);
        if (rw == 0)
            doc_same(whole, split);
    }
    feed_doc_free(whole);
    feed_doc_free(split);
    return 0;
}
