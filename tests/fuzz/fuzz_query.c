/*
 * fuzz_query.c — the topic query language (query.h) and the matcher (match.h) under arbitrary
 * text.
 *
 * The input, cut at 8 KB, is split at its first NUL: the part before is a query, the part
 * after a document (its first line the title, the rest the text). Oracles: query_parse gives
 * 0 with a tree, or -EINVAL with a message (never neither); a parsed query formats, and the
 * formatted tree is valid UTF-8; the matcher accepts exactly the queries the parser accepts;
 * matching the document gives 0 (or -ENOMEM), hits name the one topic, and the JSON of why
 * a hit matched is valid UTF-8.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "topics/match.h"
#include "topics/query.h"

#define QUERY_FUZZ_MAX 8192

/* Runs the code under test on one input; always returns 0 (libFuzzer's convention). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[QUERY_FUZZ_MAX + 2];
    struct query *q = NULL;
    char *err = NULL;
    int r;

    if (size > QUERY_FUZZ_MAX)
        size = QUERY_FUZZ_MAX;
    memcpy(buf, data, size);
    buf[size] = '\0';
    buf[size + 1] = '\0';
    const char *query = buf;
    size_t qlen = strlen(query);
    char *title = buf + qlen + (qlen < size ? 1 : 0);
    char *nl = strchr(title, '\n');
    const char *text = "";
    if (nl) {
        *nl = '\0';
        text = nl + 1;
    }

    r = query_parse("fuzz", query, &q, &err);
    assert(r == 0 || r == -EINVAL || r == -ENOMEM);
    if (r == 0) {
        assert(q && q->root && !err);
        char *f = query_format(q);
        assert(!f || fuzz_utf8_ok(f) || !fuzz_utf8_ok(query));
        free(f);
    } else if (r == -EINVAL) {
        assert(!q && err && err[0]);
    }
    query_free(q);
    free(err);
    err = NULL;

    struct match *m = match_new();
    if (!m)
        return 0;
    int ra = match_add(m, 7, "fuzz", query, &err);
    assert(ra == 0 || ra == -EINVAL || ra == -ENOMEM);
    /* The matcher takes what the parser takes, but for aliases: no [alias] is defined here,
     * so a query the parser reads may name an alias the matcher does not know. */
    assert(r == -ENOMEM || ra == -ENOMEM || (ra == 0) == (r == 0) ||
           (r == 0 && ra == -EINVAL && err && strstr(err, "unknown alias")));
    free(err);
    if (ra == 0 && match_build(m) == 0) {
        struct match_doc doc = {.title = title, .text = text};
        struct match_result res = {0};
        int rm = match_run(m, &doc, &res);
        assert(rm == 0 || rm == -ENOMEM);
        for (size_t i = 0; rm == 0 && i < res.n_hits; i++) {
            assert(res.hits[i].topic == 7);
            char *json = match_terms_json(&res.hits[i]);
            assert(!json || fuzz_utf8_ok(json) || !fuzz_utf8_ok(title) || !fuzz_utf8_ok(text));
            free(json);
        }
        match_result_done(&res);
    }
    match_free(m);
    return 0;
}
