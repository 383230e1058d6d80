/*
 * fuzz_jsonfeed.c — JSON Feed (jsonfeed.c) through the feed parser, under arbitrary bytes.
 *
 * feedparse sniffs a document that starts with '{' as JSON and hands it whole to jsonfeed.c;
 * this target keeps the fuzzer on that path (an input that does not start with '{' gets one
 * in front) with a JSON dictionary, where fuzz_feedparse spends its time on XML. The input,
 * cut at 1 MiB, is parsed whole and then pushed in two pieces split where its last byte says.
 * Oracles (feedparse.h, feed.h): both parses give the same status and item count; an error
 * has a reason; every string of a document is valid UTF-8; every item has a key.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/feedparse.h"
#include "fuzz.h"

#define BASE_URL "http://fuzz.example.org/feed.json"
#define JSONFEED_FUZZ_MAX (1024u * 1024)

static void
doc_check(const struct feed_doc *doc)
{
    assert(doc);
    assert(fuzz_utf8_ok(doc->title) && fuzz_utf8_ok(doc->link) && fuzz_utf8_ok(doc->language));
    assert(doc->n_items == 0 || doc->items);
    for (size_t i = 0; i < doc->n_items; i++) {
        const struct feed_item *it = &doc->items[i];
        assert(it->key && it->key[0] && fuzz_utf8_ok(it->key));
        assert(fuzz_utf8_ok(it->id) && fuzz_utf8_ok(it->title) && fuzz_utf8_ok(it->link));
        assert(fuzz_utf8_ok(it->author) && fuzz_utf8_ok(it->summary));
        assert(fuzz_utf8_ok(it->content) && fuzz_utf8_ok(it->language));
        assert(fuzz_utf8_ok(it->image));
        for (size_t k = 0; k < it->n_categories; k++)
            assert(fuzz_utf8_ok(it->categories[k]));
        for (size_t k = 0; k < it->n_enclosures; k++)
            assert(fuzz_utf8_ok(it->enclosures[k].url) && fuzz_utf8_ok(it->enclosures[k].type));
    }
}

/* Runs the code under test on one input; always returns 0 (libFuzzer's convention). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct feed_doc *doc = NULL, *doc2 = NULL;
    char *err = NULL, *buf;
    size_t len;
    int r, r2;

    if (size > JSONFEED_FUZZ_MAX)
        size = JSONFEED_FUZZ_MAX;
    buf = malloc(size + 1);
    if (!buf)
        return 0;
    len = 0;
    if (size == 0 || data[0] != '{')
        buf[len++] = '{';
    memcpy(buf + len, data, size);
    len += size;

    r = feedparse_buffer(buf, len, BASE_URL, &doc, &err);
    if (r == 0)
        doc_check(doc);
    else
        assert(err && err[0] && !doc);
    free(err);

    struct feedparse *p = feedparse_new(BASE_URL, NULL);
    if (p) {
        size_t cut = size ? data[size - 1] * len / 256 : 0;
        r2 = feedparse_push(p, buf, cut);
        if (r2 == 0)
            r2 = feedparse_push(p, buf + cut, len - cut);
        if (r2 == 0)
            r2 = feedparse_finish(p, &doc2);
        if (r2 == 0)
            assert(feedparse_error(p) == NULL || doc2);
        else
            assert(feedparse_error(p) && feedparse_error(p)[0]);
        assert((r == 0) == (r2 == 0));
        if (r == 0 && r2 == 0)
            assert(doc->n_items == doc2->n_items && doc->format == doc2->format);
        feed_doc_free(doc2);
        feedparse_free(p);
    }
    feed_doc_free(doc);
    free(buf);
    return 0;
}
