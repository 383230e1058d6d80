/*
 * test_feedparse.c — the streaming feed parser: data-driven fixtures pushed whole, byte by
 * byte, 7 bytes at a time and in random splits (.xml and .json cases); hostile input
 * (entities, depth, tag and comment sizes); key and link rules; encodings and the charset
 * precedence; and every file of tests/fixtures/corpus/feeds-real against tests/fixtures/feeds-real.
 *
 * FW_REGEN_FIXTURES=1 rewrites tests/fixtures/feeds/<case>.expected.json and
 * tests/fixtures/feeds-real/<file>.json from the whole-buffer parse (then read the diff by
 * hand before committing it).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>

#include "base/hash.h"
#include "parse/feedjson.h"
#include "parse/feedparse.h"
#include "parse/feedtext.h"

#define FIXTURE_DIR FW_FIXTURES "/feeds"
#define FIXTURE_BASE "https://fixtures.example/feeds/"
#define CORPUS_DIR FW_CORPUS "/feeds-real"
#define DUMP_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER)

enum split {
    SPLIT_WHOLE,
    SPLIT_ONE,
    SPLIT_SEVEN,
    SPLIT_RANDOM,
};

static const char *const split_names[] = {"whole", "1 byte", "7 bytes", "random"};

struct result {
    int r;
    char *errmsg;
    struct feed_doc *doc;
};

static void
result_done(struct result *res)
{
    free(res->errmsg);
    feed_doc_free(res->doc);
    *res = (struct result){0};
}

static char *
read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, alloc = 0, n;

    if (!f)
        return NULL;
    do {
        if (len + 65536 > alloc) {
            alloc = alloc ? alloc * 2 : 131072;
            buf = realloc(buf, alloc + 1);
            assert_non_null(buf);
        }
        n = fread(buf + len, 1, alloc - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

/* xorshift64*: a fixed-seed source of split points, the same on every run. */
static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dULL;
}

static struct result
parse_split(const char *buf, size_t len, const char *base_url,
            const struct feedparse_limits *limits, enum split how, uint64_t seed)
{
    struct feedparse *p = feedparse_new(base_url, limits);
    struct result res = {0};
    size_t off = 0;
    uint64_t rng = seed ? seed : 0x9e3779b97f4a7c15ULL;

    assert_non_null(p);
    while (off < len && res.r == 0) {
        size_t n;

        switch (how) {
        case SPLIT_ONE:
            n = 1;
            break;
        case SPLIT_SEVEN:
            n = 7;
            break;
        case SPLIT_RANDOM:
            n = 1 + (size_t)(rng_next(&rng) % 97);
            break;
        default:
            n = len;
            break;
        }
        if (n > len - off)
            n = len - off;
        res.r = feedparse_push(p, buf + off, n);
        off += n;
    }
    if (res.r == 0)
        res.r = feedparse_finish(p, &res.doc);
    if (res.r < 0) {
        assert_non_null(feedparse_error(p));
        res.errmsg = strdup(feedparse_error(p));
        /* After an error, pushes keep returning it. */
        assert_int_equal(feedparse_push(p, "x", 1), res.r);
    }
    feedparse_free(p);
    return res;
}

static json_t *
result_json(const struct result *res)
{
    if (res->r < 0) {
        const char *name = res->r == -EPROTO     ? "EPROTO"
                           : res->r == -EMSGSIZE ? "EMSGSIZE"
                           : res->r == -ENOMEM   ? "ENOMEM"
                                                 : "other";

        return json_pack("{s:s, s:s}", "error", name, "message", res->errmsg);
    }
    return feedjson_doc(res->doc);
}

static struct result
parse_text(const char *xml, const char *base_url, const struct feedparse_limits *limits)
{
    return parse_split(xml, strlen(xml), base_url, limits, SPLIT_WHOLE, 0);
}

static char *
dump(const struct result *res)
{
    json_t *j = result_json(res);
    char *s;

    assert_non_null(j);
    s = json_dumps(j, DUMP_FLAGS);
    json_decref(j);
    assert_non_null(s);
    return s;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- data-driven fixtures ---- */

static void
check_fixture(const char *name)
{
    char path[1024], exp_path[1024], base[1024];
    const char *dot = strrchr(name, '.');
    size_t len;
    char *buf;
    json_t *expected = NULL;
    json_error_t jerr;
    bool regen = getenv("FW_REGEN_FIXTURES") != NULL;

    (void)snprintf(path, sizeof(path), "%s/%s", FIXTURE_DIR, name);
    (void)snprintf(exp_path, sizeof(exp_path), "%s/%.*s.expected.json", FIXTURE_DIR,
                   (int)(dot - name), name);
    (void)snprintf(base, sizeof(base), "%s%s", FIXTURE_BASE, name);
    buf = read_file(path, &len);
    assert_non_null(buf);

    if (regen) {
        struct result res = parse_split(buf, len, base, NULL, SPLIT_WHOLE, 0);
        json_t *j = result_json(&res);

        assert_int_equal(json_dump_file(j, exp_path, DUMP_FLAGS), 0);
        json_decref(j);
        result_done(&res);
    }
    expected = json_load_file(exp_path, 0, &jerr);
    if (!expected)
        fail_msg("%s: cannot load %s: %s", name, exp_path, jerr.text);

    for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
        int rounds = how == SPLIT_RANDOM ? 8 : 1;

        for (int k = 0; k < rounds; k++) {
            struct result res =
                parse_split(buf, len, base, NULL, (enum split)how, (uint64_t)k * 7919 + 1);
            json_t *got = result_json(&res);

            assert_non_null(got);
            if (!json_equal(got, expected)) {
                char *g = json_dumps(got, DUMP_FLAGS), *e = json_dumps(expected, DUMP_FLAGS);

                print_error("%s (%s split, round %d): got\n%s\nexpected\n%s\n", name,
                            split_names[how], k, g, e);
                free(g);
                free(e);
                fail();
            }
            json_decref(got);
            result_done(&res);
        }
    }
    json_decref(expected);
    free(buf);
}

static void
test_feedparse_fixtures(void **state)
{
    DIR *d = opendir(FIXTURE_DIR);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;

    (void)state;
    assert_non_null(d);
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || has_suffix(de->d_name, ".expected.json"))
            continue;
        names = realloc(names, (n + 1) * sizeof(*names));
        assert_non_null(names);
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    assert_true(n >= 10);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        check_fixture(names[i]);
        free(names[i]);
    }
    free(names);
}

/* ---- hostile input ---- */

static const char billion_laughs[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE rss [\n"
    " <!ENTITY lol \"lol\">\n"
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
    "]>\n"
    "<rss version=\"2.0\"><channel><title>Laughs &lol9;</title>\n"
    "<item><title>a &lol9; b</title><guid>1</guid><description>&lol9;&lol9;&lol9;</description>"
    "</item>\n"
    "<item><title>Fish &amp; Chips</title><guid>2</guid></item>\n"
    "</channel></rss>\n";

static void
test_feedparse_billion_laughs(void **state)
{
    struct result res = parse_text(billion_laughs, NULL, NULL);
    char *s;

    (void)state;
    /* Nothing is expanded, and a declaration that only serves the attack is a clear error. */
    assert_int_equal(res.r, -EPROTO);
    assert_non_null(res.errmsg);
    assert_non_null(strstr(res.errmsg, "entity 'lol1' refers to other entities: refused"));
    s = dump(&res);
    assert_null(strstr(s, "lollol"));
    assert_true(strlen(s) < 4096);
    free(s);
    result_done(&res);
}

/* One large entity referenced many times (quadratic blowup) is refused at its declaration. */
static void
test_feedparse_quadratic_blowup(void **state)
{
    size_t n = 20000, cap = n * 4 + 4096, len = 0;
    char *doc = malloc(cap);
    (void)state;
    assert_non_null(doc);
    len += (size_t)snprintf(doc, cap, "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY a \"");
    memset(doc + len, 'a', 5000);
    len += 5000;
    len += (size_t)snprintf(doc + len, cap - len,
                            "\">]>\n<rss version=\"2.0\"><channel><title>T</title><item>"
                            "<guid>1</guid><description>");
    for (size_t i = 0; i < 3000; i++)
        len += (size_t)snprintf(doc + len, cap - len, "&a;");
    (void)snprintf(doc + len, cap - len, "</description></item></channel></rss>\n");
    struct result res = parse_text(doc, NULL, NULL);
    assert_int_equal(res.r, -EPROTO);
    assert_non_null(strstr(res.errmsg, "entity 'a' is longer than 1024 bytes: refused"));
    result_done(&res);
    free(doc);
}

/* Small self-contained declarations, as some old feeds carry, still parse. */
static void
test_feedparse_small_entity_declarations_pass(void **state)
{
    struct result res =
        parse_text("<?xml version=\"1.0\"?>\n"
                   "<!DOCTYPE rss [<!ENTITY nbsp \"&#160;\"><!ENTITY co \"ACME\">]>\n"
                   "<rss version=\"2.0\"><channel><title>T</title>"
                   "<item><title>a&nbsp;b</title><guid>1</guid></item>"
                   "</channel></rss>\n",
                   NULL, NULL);
    (void)state;
    assert_int_equal(res.r, 0);
    assert_int_equal(res.doc->n_items, 1);
    assert_string_equal(res.doc->items[0].title, "a b"); /* titles collapse the no-break space */
    result_done(&res);
}

static void
test_feedparse_external_entity(void **state)
{
    static const char *const docs[] = {
        /* an external general entity */
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
        "<rss version=\"2.0\"><channel><title>T &xxe;</title>"
        "<item><title>x</title><description>&xxe;</description><guid>1</guid></item>"
        "</channel></rss>\n",
        /* an external parameter entity */
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE rss [<!ENTITY % pe SYSTEM \"file:///etc/passwd\"> %pe;]>\n"
        "<rss version=\"2.0\"><channel><title>T</title>"
        "<item><title>x</title><guid>1</guid></item></channel></rss>\n",
        /* an external DTD */
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE rss SYSTEM \"file:///etc/passwd\">\n"
        "<rss version=\"2.0\"><channel><title>T</title>"
        "<item><title>x</title><guid>1</guid></item></channel></rss>\n",
        /* an entity in an attribute */
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
        "<rss version=\"2.0\"><channel><title>T</title>"
        "<item><title>x</title><guid>1</guid><enclosure url=\"http://x/&xxe;\"/></item>"
        "</channel></rss>\n",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct result res = parse_text(docs[i], NULL, NULL);
        char *s = dump(&res);

        assert_null(strstr(s, "root:"));
        assert_null(strstr(s, "/bin/"));
        if (res.r == 0) {
            assert_int_equal(res.doc->n_items, 1);
            assert_string_equal(res.doc->items[0].title, "x");
        }
        free(s);
        result_done(&res);
    }
}

static char *
nested_doc(size_t depth)
{
    size_t cap = depth * 8 + 256, len = 0;
    char *s = malloc(cap);

    assert_non_null(s);
    len += (size_t)snprintf(s + len, cap - len, "<rss version=\"2.0\"><channel><title>T</title>");
    for (size_t i = 0; i < depth; i++)
        len += (size_t)snprintf(s + len, cap - len, "<a>");
    for (size_t i = 0; i < depth; i++)
        len += (size_t)snprintf(s + len, cap - len, "</a>");
    (void)snprintf(s + len, cap - len, "</channel></rss>");
    return s;
}

static void
test_feedparse_depth_limit(void **state)
{
    char *deep = nested_doc(10000), *ok = nested_doc(200);
    struct result res;

    (void)state;
    res = parse_text(deep, NULL, NULL);
    assert_int_equal(res.r, -EMSGSIZE);
    assert_non_null(strstr(res.errmsg, "nested deeper than 256"));
    result_done(&res);

    res = parse_split(deep, strlen(deep), NULL, NULL, SPLIT_SEVEN, 0);
    assert_int_equal(res.r, -EMSGSIZE);
    result_done(&res);

    res = parse_text(ok, NULL, NULL);
    assert_int_equal(res.r, 0);
    assert_string_equal(res.doc->title, "T");
    result_done(&res);

    res = parse_text(ok, NULL, &(struct feedparse_limits){.max_depth = 100});
    assert_int_equal(res.r, -EMSGSIZE);
    assert_non_null(strstr(res.errmsg, "nested deeper than 100"));
    result_done(&res);
    free(deep);
    free(ok);
}

static void
test_feedparse_text_limit(void **state)
{
    struct feedparse_limits lim = {.max_text = 1000};
    char doc[4096];
    char big[2001];
    struct result res;

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    (void)snprintf(doc, sizeof(doc),
                   "<rss version=\"2.0\"><channel><title>T</title>\n<item><guid>1</guid>\n"
                   "<description>%s</description></item></channel></rss>",
                   big);
    res = parse_text(doc, NULL, &lim);
    assert_int_equal(res.r, -EMSGSIZE);
    assert_string_equal(res.errmsg, "line 3: text too long (over 1000 bytes)");
    result_done(&res);

    /* Text nobody asked for is not collected, so it is not limited either. */
    (void)snprintf(doc, sizeof(doc),
                   "<rss version=\"2.0\"><channel><title>T</title>\n<item><guid>1</guid>\n"
                   "<comments>%s</comments></item></channel></rss>",
                   big);
    res = parse_text(doc, NULL, &lim);
    if (res.r != 0)
        fail_msg("%s", res.errmsg);
    assert_int_equal(res.doc->n_items, 1);
    result_done(&res);
}

static void
test_feedparse_not_a_feed(void **state)
{
    static const struct {
        const char *doc;
        size_t len;
        const char *message;
    } cases[] = {
        {"<!DOCTYPE html>\n<html><head><title>x</title></head><body><p>hi</p></body></html>", 0,
         "line 2: not a feed: root element <html>"},
        {"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>", 0,
         "line 2: not a feed: root element <svg>"},
        {"<opml version=\"2.0\"><body/></opml>", 0, "line 1: not a feed: root element <opml>"},
        {"{\"rss\": {\"channel\": {}}}", 0, "not a feed: JSON without a JSON Feed version"},
        {"[1, 2]", 0, "not a feed: JSON without a JSON Feed version"},
        {"{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"x\"}", 0,
         "not a feed: JSON Feed without \"items\""},
        {"{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": [", 0,
         "line 1: truncated JSON: ']' expected near end of file"},
        {"\x1f\x8b\x08\x00\x00\x00\x00\x00", 8, "gzip: compressed data cut short"},
        {"", 0, "empty document"},
        {"  \n\t ", 0, "empty document"},
        {"hello, world", 0, "line 1: Document is empty"},
        {"<?xml version=\"1.0\"?>\n<rss version=\"2.0\">\n</rss>\n", 0,
         "not a feed: <rss> without <channel>"},
        {"\xef\xbb\xbf  \n", 0, "empty document"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].doc);

        for (int how = SPLIT_WHOLE; how <= SPLIT_SEVEN; how++) {
            struct result res = parse_split(cases[i].doc, len, NULL, NULL, (enum split)how, 0);

            if (res.r != -EPROTO || strcmp(res.errmsg, cases[i].message) != 0)
                fail_msg("case %zu (%s): r=%d '%s', expected '%s'", i, split_names[how], res.r,
                         res.errmsg ? res.errmsg : "", cases[i].message);
            result_done(&res);
        }
    }
}

/* ---- raw gzip ---- */

struct gz {
    unsigned char *data;
    size_t len, alloc;
    z_stream zs;
};

static void
gz_begin(struct gz *g)
{
    *g = (struct gz){0};
    assert_int_equal(deflateInit2(&g->zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                     Z_OK);
}

/* Compresses len more bytes (flush: Z_NO_FLUSH, or Z_FINISH to end the member). */
static void
gz_add(struct gz *g, const void *buf, size_t len, int flush)
{
    int zr;

    g->zs.next_in = (Bytef *)(uintptr_t)buf;
    g->zs.avail_in = (uInt)len;
    do {
        if (g->alloc - g->len < 65536) {
            g->alloc = g->alloc ? g->alloc * 2 : 131072;
            g->data = realloc(g->data, g->alloc);
            assert_non_null(g->data);
        }
        g->zs.next_out = g->data + g->len;
        g->zs.avail_out = (uInt)(g->alloc - g->len);
        zr = deflate(&g->zs, flush);
        assert_true(zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR);
        g->len = (size_t)(g->zs.next_out - g->data);
    } while (g->zs.avail_in > 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
    if (flush == Z_FINISH) {
        assert_int_equal(deflateEnd(&g->zs), Z_OK);
        assert_int_equal(deflateInit2(&g->zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                         Z_OK);
    }
}

static void
gz_end(struct gz *g)
{
    (void)deflateEnd(&g->zs);
    free(g->data);
}

static const char gz_feed[] =
    "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n"
    "<rss version=\"2.0\"><channel><title>\xcd\xee\xe2\xee\xf1\xf2\xe8</title>"
    "<link>https://news.example/</link>"
    "<item><title>\xcf\xe5\xf0\xe2\xe0\xff</title><guid>a1</guid>"
    "<description>&lt;p&gt;One &amp; two&lt;/p&gt;</description></item>"
    "<item><title>Second</title><guid>a2</guid></item>"
    "</channel></rss>\n";

/* A raw gzip document parses as its inflated bytes would, however the input is split. */
static void
test_feedparse_gzip(void **state)
{
    struct gz g;
    struct result plain = parse_text(gz_feed, NULL, NULL);
    char *want = dump(&plain);

    (void)state;
    assert_int_equal(plain.r, 0);
    assert_int_equal(plain.doc->n_items, 2);
    assert_string_equal(plain.doc->title, "\xd0\x9d\xd0\xbe\xd0\xb2\xd0\xbe\xd1\x81\xd1\x82"
                                          "\xd0\xb8"); /* Новости */
    gz_begin(&g);
    gz_add(&g, gz_feed, strlen(gz_feed), Z_FINISH);
    assert_int_equal(g.data[0], 0x1f);
    for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
        struct result res =
            parse_split((const char *)g.data, g.len, NULL, NULL, (enum split)how, 77);
        char *got;

        if (res.r != 0)
            fail_msg("%s: %s", split_names[how], res.errmsg);
        got = dump(&res);
        assert_string_equal(got, want);
        assert_false(res.doc->recovered);
        free(got);
        result_done(&res);
    }
    /* Two members one after the other are one document (RFC 1952 §2.2). */
    {
        size_t half = strlen(gz_feed) / 2;
        struct gz two;
        struct result res;
        char *got;

        gz_begin(&two);
        gz_add(&two, gz_feed, half, Z_FINISH);
        gz_add(&two, gz_feed + half, strlen(gz_feed) - half, Z_FINISH);
        for (int how = SPLIT_WHOLE; how <= SPLIT_SEVEN; how++) {
            res = parse_split((const char *)two.data, two.len, NULL, NULL, (enum split)how, 0);
            assert_int_equal(res.r, 0);
            got = dump(&res);
            assert_string_equal(got, want);
            free(got);
            result_done(&res);
        }
        gz_end(&two);
    }
    /* Cut short: the complete items are kept and the document is marked recovered. */
    {
        struct result res =
            parse_split((const char *)g.data, g.len - 12, NULL, NULL, SPLIT_WHOLE, 0);

        assert_int_equal(res.r, 0);
        assert_true(res.doc->recovered);
        assert_int_equal(res.doc->n_items, 2);
        result_done(&res);
    }
    /* Corrupt data: a clear error. */
    {
        unsigned char *bad = malloc(g.len);
        struct result res;

        assert_non_null(bad);
        memcpy(bad, g.data, g.len);
        for (size_t i = 12; i < g.len - 8; i++)
            bad[i] ^= 0x5a;
        res = parse_split((const char *)bad, g.len, NULL, NULL, SPLIT_WHOLE, 0);
        assert_int_equal(res.r, -EPROTO);
        assert_memory_equal(res.errmsg, "gzip: ", 6);
        result_done(&res);
        /* A wrong CRC-32 in the trailer is corrupt data too. */
        memcpy(bad, g.data, g.len);
        bad[g.len - 6] ^= 1;
        res = parse_split((const char *)bad, g.len, NULL, NULL, SPLIT_SEVEN, 0);
        assert_int_equal(res.r, -EPROTO);
        assert_string_equal(res.errmsg, "gzip: incorrect data check");
        result_done(&res);
        free(bad);
    }
    /* The size is fixed before the first push only. */
    {
        struct feedparse *p = feedparse_new(NULL, NULL);

        assert_non_null(p);
        assert_int_equal(feedparse_set_max_size(p, 4096), 0);
        assert_int_equal(feedparse_push(p, (const char *)g.data, 1), 0);
        assert_int_equal(feedparse_set_max_size(p, 8192), -EINVAL);
        feedparse_free(p);
    }
    gz_end(&g);
    result_done(&plain);
    free(want);
}

/* A gzip bomb stops at the size limit, quickly, with a clear error. */
static void
test_feedparse_gzip_bomb(void **state)
{
    static const char head[] = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>"
                               "<title>bomb</title><item><title>";
    static char spaces[1 << 16];
    struct gz g;
    struct result res;
    struct timespec t0, t1;

    (void)state;
    memset(spaces, 'a', sizeof(spaces));
    gz_begin(&g);
    gz_add(&g, head, strlen(head), Z_NO_FLUSH);
    for (int i = 0; i < 320; i++) /* 20 MiB of one letter in a title: about 20 KB compressed */
        gz_add(&g, spaces, sizeof(spaces), Z_NO_FLUSH);
    gz_add(&g, "</title></item></channel></rss>", 31, Z_FINISH);
    assert_true(g.len < 100000);

    /* The default cap, 16 MiB: the title would also pass max_text; the size stops it first. */
    {
        struct feedparse_limits lim = {.max_text = 64u << 20};

        (void)clock_gettime(CLOCK_MONOTONIC, &t0);
        res = parse_split((const char *)g.data, g.len, NULL, &lim, SPLIT_WHOLE, 0);
        (void)clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_int_equal(res.r, -EMSGSIZE);
        assert_string_equal(res.errmsg, "gzip: inflated document exceeds 16777216 bytes");
        result_done(&res);
        assert_true((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 <
                    5.0);
    }
    /* A smaller cap set by the caller (the daemon's max_feed_size), pushed in small pieces. */
    {
        struct feedparse *p = feedparse_new(NULL, NULL);
        size_t off = 0;
        int r = 0;

        assert_non_null(p);
        assert_int_equal(feedparse_set_max_size(p, 1u << 20), 0);
        while (off < g.len && r == 0) {
            size_t n = g.len - off < 100 ? g.len - off : 100;

            r = feedparse_push(p, (const char *)g.data + off, n);
            off += n;
        }
        assert_int_equal(r, -EMSGSIZE);
        assert_string_equal(feedparse_error(p), "gzip: inflated document exceeds 1048576 bytes");
        /* It stopped at the first block past the cap, not at the end of the input. */
        assert_true(off < g.len);
        feedparse_free(p);
    }
    gz_end(&g);
}

/* ---- refresh hints ---- */

static int64_t
refresh_of(const char *channel_extra, const char *root)
{
    char doc[2048];
    struct result res;
    int64_t v;

    if (strcmp(root, "atom") == 0)
        (void)snprintf(doc, sizeof(doc),
                       "<feed xmlns=\"http://www.w3.org/2005/Atom\" "
                       "xmlns:sy=\"http://purl.org/rss/1.0/modules/syndication/\">"
                       "<title>T</title>%s<entry><id>e1</id><title>One</title></entry></feed>",
                       channel_extra);
    else if (strcmp(root, "rdf") == 0)
        (void)snprintf(doc, sizeof(doc),
                       "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
                       "xmlns=\"http://purl.org/rss/1.0/\" "
                       "xmlns:sy=\"http://purl.org/rss/1.0/modules/syndication/\">"
                       "<channel rdf:about=\"https://x.example/\"><title>T</title>%s</channel>"
                       "<item rdf:about=\"https://x.example/1\"><title>One</title></item>"
                       "</rdf:RDF>",
                       channel_extra);
    else
        (void)snprintf(doc, sizeof(doc),
                       "<rss version=\"2.0\" "
                       "xmlns:sy=\"http://purl.org/rss/1.0/modules/syndication/\"><channel>"
                       "<title>T</title>%s<item><guid>g1</guid><ttl>5</ttl>"
                       "<sy:updatePeriod>hourly</sy:updatePeriod></item></channel></rss>",
                       channel_extra);
    for (int how = SPLIT_WHOLE; how <= SPLIT_SEVEN; how++) {
        res = parse_split(doc, strlen(doc), NULL, NULL, (enum split)how, 0);
        if (res.r != 0)
            fail_msg("%s: %s", channel_extra, res.errmsg);
        if (how == SPLIT_WHOLE)
            v = res.doc->refresh_s;
        else
            assert_int_equal(res.doc->refresh_s, v);
        result_done(&res);
    }
    return v;
}

/* <ttl> and sy:updatePeriod / sy:updateFrequency become doc->refresh_s, bounded. */
static void
test_feedparse_refresh_hints(void **state)
{
    static const struct {
        const char *extra;
        const char *root;
        int64_t want;
    } cases[] = {
        {"", "rss", 0},
        /* RSS <ttl> is in minutes; items' elements are not the channel's. */
        {"<ttl>60</ttl>", "rss", 3600},
        {"<ttl> 15\n</ttl>", "rss", 900},
        {"<ttl>0</ttl>", "rss", 0},
        {"<ttl>-5</ttl>", "rss", 0},
        {"<ttl>sixty</ttl>", "rss", 0},
        {"<ttl>60min</ttl>", "rss", 0},
        {"<ttl>1.5</ttl>", "rss", 0},
        {"<ttl>99999999999999999999999</ttl>", "rss", 0},
        {"<ttl>100000</ttl>", "rss", 7 * 86400},     /* 69 days: capped at 7 days */
        {"<ttl>30</ttl><ttl>90</ttl>", "rss", 1800}, /* the first wins */
        /* sy: period / frequency; daily when only a frequency is given, 1 by default. */
        {"<sy:updatePeriod>hourly</sy:updatePeriod>", "rss", 3600},
        {"<sy:updatePeriod>hourly</sy:updatePeriod>"
         "<sy:updateFrequency>2</sy:updateFrequency>",
         "rss", 1800},
        {"<sy:updateFrequency>4</sy:updateFrequency>", "rss", 21600},
        {"<sy:updatePeriod> Weekly </sy:updatePeriod>", "rss", 7 * 86400},
        {"<sy:updatePeriod>monthly</sy:updatePeriod>", "rss", 7 * 86400},
        {"<sy:updatePeriod>yearly</sy:updatePeriod>"
         "<sy:updateFrequency>365</sy:updateFrequency>",
         "rss", 86400},
        {"<sy:updatePeriod>daily</sy:updatePeriod>", "rss", 86400},
        {"<sy:updatePeriod>fortnightly</sy:updatePeriod>", "rss", 0},
        {"<sy:updatePeriod>hourly</sy:updatePeriod>"
         "<sy:updateFrequency>0</sy:updateFrequency>",
         "rss", 0},
        {"<sy:updatePeriod>hourly</sy:updatePeriod>"
         "<sy:updateFrequency>-2</sy:updateFrequency>",
         "rss", 0},
        {"<sy:updatePeriod>hourly</sy:updatePeriod>"
         "<sy:updateFrequency>7200</sy:updateFrequency>",
         "rss", 0}, /* half a second: no usable hint */
        {"<sy:updatePeriod>hourly</sy:updatePeriod>"
         "<sy:updateFrequency>many</sy:updateFrequency>",
         "rss", 0},
        /* Both: the longer one. */
        {"<ttl>30</ttl><sy:updatePeriod>hourly</sy:updatePeriod>", "rss", 3600},
        {"<ttl>120</ttl><sy:updatePeriod>hourly</sy:updatePeriod>", "rss", 7200},
        {"<ttl>120</ttl><sy:updatePeriod>never</sy:updatePeriod>", "rss", 7200},
        /* RSS 1.0 and Atom carry the sy: module too. */
        {"<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>1</sy:updateFrequency>",
         "rdf", 3600},
        {"<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>3</sy:updateFrequency>",
         "atom", 28800},
        {"<ttl>60</ttl>", "atom", 0}, /* not an Atom element */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = refresh_of(cases[i].extra, cases[i].root);

        if (got != cases[i].want)
            fail_msg("case %zu (%s %s): refresh_s %lld, expected %lld", i, cases[i].root,
                     cases[i].extra, (long long)got, (long long)cases[i].want);
    }
    /* JSON Feed has no such field. */
    {
        static const char json[] =
            "{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"J\", \"items\": "
            "[{\"id\": \"1\", \"content_text\": \"x\"}]}";
        struct result res = parse_text(json, NULL, NULL);

        assert_int_equal(res.r, 0);
        assert_int_equal(res.doc->refresh_s, 0);
        result_done(&res);
    }
}

static void
test_feedparse_html_wrapper(void **state)
{
    static const char doc[] =
        "<?xml version=\"1.0\"?>\n"
        "<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>Page</title></head><body>\n"
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Wrapped</title>"
        "<entry><id>e1</id><title>One</title></entry></feed>\n"
        "<p>trailing</p></body></html>\n";
    struct result res = parse_text(doc, NULL, NULL);

    (void)state;
    assert_int_equal(res.r, 0);
    assert_int_equal(res.doc->format, FEED_FORMAT_ATOM);
    assert_string_equal(res.doc->title, "Wrapped");
    assert_int_equal(res.doc->n_items, 1);
    assert_string_equal(res.doc->items[0].key, "e1");
    result_done(&res);
}

static char *
many_items(size_t n)
{
    size_t cap = n * 96 + 256, len = 0;
    char *s = malloc(cap);

    assert_non_null(s);
    len += (size_t)snprintf(s + len, cap - len, "<rss version=\"2.0\"><channel><title>T</title>");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len,
                                "<item><title>Item %zu</title><guid>g%zu</guid></item>", i, i);
    (void)snprintf(s + len, cap - len, "</channel></rss>");
    return s;
}

static void
test_feedparse_max_items(void **state)
{
    char *doc = many_items(50);
    struct result res;

    (void)state;
    res = parse_text(doc, NULL, &(struct feedparse_limits){.max_items = 10});
    /* Items past max_items are ignored, not an error. */
    assert_int_equal(res.r, 0);
    assert_false(res.doc->recovered);
    assert_int_equal(res.doc->n_items, 10);
    assert_string_equal(res.doc->items[0].key, "g0");
    assert_string_equal(res.doc->items[9].key, "g9");
    result_done(&res);

    res = parse_text(doc, NULL, NULL);
    assert_int_equal(res.r, 0);
    assert_int_equal(res.doc->n_items, 50);
    assert_string_equal(res.doc->items[49].title, "Item 49");
    result_done(&res);
    free(doc);
}

static bool
is_hash_key(const char *k)
{
    if (strncmp(k, "hash:", 5) != 0 || strlen(k) != 21)
        return false;
    for (size_t i = 5; i < 21; i++) {
        if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f')))
            return false;
    }
    return true;
}

static void
test_feedparse_keys(void **state)
{
    static const char doc[] =
        "<rss version=\"2.0\"><channel><title>T</title><link>https://k.example/</link>"
        "<item><guid isPermaLink=\"false\">\n  id-1 "
        "\n</guid><link>https://k.example/1</link></item>"
        "<item><link>https://k.example/2</link></item>"
        "<item><title>Same</title><pubDate>Wed, 09 Feb 2022 21:49:00 GMT</pubDate>"
        "<description>Body</description></item>"
        "<item><title>Same</title><pubDate>Wed, 09 Feb 2022 21:49:00 GMT</pubDate>"
        "<description>Body</description></item>"
        "<item><title>Same</title><pubDate>Wed, 09 Feb 2022 21:49:01 GMT</pubDate>"
        "<description>Body</description></item>"
        "<item><title>Same</title><pubDate>Wed, 09 Feb 2022 21:49:00 GMT</pubDate>"
        "<description>Other body</description></item>"
        "<item><description>Body</description></item>"
        "<item><title>Body</title></item>"
        "</channel></rss>";
    struct result res = parse_text(doc, NULL, NULL);
    struct feed_item *it;

    (void)state;
    assert_int_equal(res.r, 0);
    assert_int_equal(res.doc->n_items, 8);
    it = res.doc->items;
    assert_string_equal(it[0].id, "id-1");
    assert_string_equal(it[0].key, "id-1");
    assert_null(it[1].id);
    assert_string_equal(it[1].key, "https://k.example/2");
    for (size_t i = 2; i < 8; i++) {
        assert_non_null(it[i].key);
        assert_true(is_hash_key(it[i].key));
    }
    /* The same title, date and text give the same key; any difference changes it. */
    assert_string_equal(it[2].key, it[3].key);
    assert_string_not_equal(it[2].key, it[4].key);
    assert_string_not_equal(it[2].key, it[5].key);
    assert_string_not_equal(it[6].key, it[7].key);
    result_done(&res);
}

static void
test_feedparse_link_fallback(void **state)
{
    static const char doc[] =
        "<rss version=\"2.0\"><channel><title>T</title><link>https://site.example/news/</link>"
        "<item><guid>1</guid><link>story.html</link>"
        "<enclosure url=\"../a.mp3\" type=\"audio/mpeg\" length=\"12\"/></item>"
        "<item><guid>2</guid><link>file:///etc/passwd</link></item>"
        "<item><guid>3</guid><link>mailto:someone@example.org</link></item>"
        "</channel></rss>";
    struct result res;

    (void)state;
    /* No document URL: the channel link is the base. */
    res = parse_text(doc, NULL, NULL);
    assert_int_equal(res.r, 0);
    assert_string_equal(res.doc->items[0].link, "https://site.example/news/story.html");
    assert_int_equal(res.doc->items[0].n_enclosures, 1);
    assert_string_equal(res.doc->items[0].enclosures[0].url, "https://site.example/a.mp3");
    assert_int_equal(res.doc->items[0].enclosures[0].length, 12);
    /* A local document (no URL) may link to local files; mailto: is never a link. */
    assert_string_equal(res.doc->items[1].link, "file:///etc/passwd");
    assert_null(res.doc->items[2].link);
    result_done(&res);

    /* A document fetched over HTTP: its URL is the base, file: links are dropped. */
    res = parse_text(doc, "https://feeds.example/x/feed.xml", NULL);
    assert_int_equal(res.r, 0);
    assert_string_equal(res.doc->link, "https://site.example/news/");
    assert_string_equal(res.doc->items[0].link, "https://feeds.example/x/story.html");
    assert_null(res.doc->items[1].link);
    assert_string_equal(res.doc->items[1].key, "2");
    result_done(&res);
}

static void
test_feedparse_leading_bytes(void **state)
{
    static const char *const docs[] = {
        "\n\n   <?xml version=\"1.0\"?>\n<rss "
        "version=\"2.0\"><channel><title>T</title></channel></rss>",
        "\xef\xbb\xbf<?xml version=\"1.0\"?><rss "
        "version=\"2.0\"><channel><title>T</title></channel></rss>",
        "\xef\xbb\xbf\r\n<rss version=\"2.0\"><channel><title>T</title></channel></rss>",
        "<rss version=\"2.0\"><channel><title>T</title></channel></rss>",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        for (int how = SPLIT_WHOLE; how <= SPLIT_SEVEN; how++) {
            struct result res =
                parse_split(docs[i], strlen(docs[i]), NULL, NULL, (enum split)how, 0);

            if (res.r != 0)
                fail_msg("doc %zu (%s): %s", i, split_names[how], res.errmsg);
            assert_string_equal(res.doc->title, "T");
            assert_false(res.doc->recovered);
            result_done(&res);
        }
    }
}

static void
test_feedparse_utf16(void **state)
{
    static const char doc[] = "<rss version=\"2.0\"><channel><title>Caf\xc3\xa9</title>"
                              "<item><guid>1</guid><title>\xe1\xbb\x87</title></item>"
                              "</channel></rss>";
    /* UTF-16 without a byte order mark or declaration; the code points are all < 0x10000. */
    char le[sizeof(doc) * 2], be[sizeof(doc) * 2];
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(doc) - 1;) {
        unsigned char c = (unsigned char)doc[i];
        unsigned cp;

        if (c < 0x80) {
            cp = c;
            i += 1;
        } else if (c < 0xe0) {
            cp = (c & 0x1fu) << 6 | ((unsigned char)doc[i + 1] & 0x3fu);
            i += 2;
        } else {
            cp = (c & 0x0fu) << 12 | ((unsigned char)doc[i + 1] & 0x3fu) << 6 |
                 ((unsigned char)doc[i + 2] & 0x3fu);
            i += 3;
        }
        le[n] = (char)(cp & 0xff);
        le[n + 1] = (char)(cp >> 8);
        be[n] = (char)(cp >> 8);
        be[n + 1] = (char)(cp & 0xff);
        n += 2;
    }
    for (int k = 0; k < 2; k++) {
        for (int how = SPLIT_WHOLE; how <= SPLIT_SEVEN; how++) {
            struct result res = parse_split(k ? be : le, n, NULL, NULL, (enum split)how, 0);

            if (res.r != 0)
                fail_msg("%s (%s): %s", k ? "BE" : "LE", split_names[how], res.errmsg);
            assert_string_equal(res.doc->title, "Caf\xc3\xa9");
            assert_int_equal(res.doc->n_items, 1);
            assert_string_equal(res.doc->items[0].title, "\xe1\xbb\x87");
            result_done(&res);
        }
    }
}

static void
test_feedparse_control_chars(void **state)
{
    /* XML 1.0 allows C1 controls as references; XML 1.1-style C0 references are errors. */
    static const char doc[] =
        "<rss version=\"2.0\"><channel><title>A&#x85;B&#x9F;C\xc2\x80</title>"
        "<item><guid>1</guid><author>Jo&#x7F;e\tSmith</author>"
        "<description>line1\r\nline2\tend&#x1B;</description></item></channel></rss>";
    struct result res = parse_text(doc, NULL, NULL);

    (void)state;
    assert_int_equal(res.r, 0);
    assert_string_equal(res.doc->title, "ABC");
    assert_string_equal(res.doc->items[0].author, "Joe Smith");
    assert_string_equal(res.doc->items[0].summary, "line1\nline2\tend");
    result_done(&res);
}

/*
 * Text inside the document that holds references or letters outside ASCII reaches libxml2
 * as CDATA from the first of them on (feedprep.c): the same characters must come out, with
 * line ends normalised, references resolved, controls dropped, and nothing marked recovered,
 * wherever the pushes split the references and letters.
 */
static void
test_feedparse_text_sections(void **state)
{
    static const char doc[] =
        "<rss version=\"2.0\"><channel><title>T \xc3\xbc</title>\n<item><guid>1</guid>"
        "<title>Gr\xc3\xb6\xc3\x9f"
        "e &amp; Gewicht \xe2\x80\x94 \xe4\xb8\xad\xe6\x96\x87 "
        "&lt;b&gt;x&lt;/b&gt;</title>"
        "<description>&lt;p&gt;Z\xc3\xbcrich\r\nBern\tGenf&lt;/p&gt; [1] a]b ]] &#233;t&#xE9; "
        "&nbsp;x &apos;q&apos; &quot;z&quot; \xef\xbc\x81 \xc2\x85 &lt;![CDATA[c]]&gt;"
        "</description>"
        "<category>\xc3\xa9t\xc3\xa9 &amp; hiver</category></item></channel></rss>";
    /* A literal "]]>" after such a letter is still the error it is: recovered, and split-proof. */
    static const char bad[] = "<rss version=\"2.0\"><channel><item><guid>1</guid>"
                              "<title>\xc3\xbc ]]> x &lt;b&gt;</title></item></channel></rss>";

    (void)state;
    for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
        struct result res = parse_split(doc, strlen(doc), NULL, NULL, (enum split)how, 7);
        const struct feed_item *it;
        char *first, *again;

        if (res.r != 0)
            fail_msg("%s: %s", split_names[how], res.errmsg);
        assert_false(res.doc->recovered);
        assert_string_equal(res.doc->title, "T \xc3\xbc");
        assert_int_equal(res.doc->n_items, 1);
        it = &res.doc->items[0];
        assert_string_equal(it->title, "Gr\xc3\xb6\xc3\x9f"
                                       "e & Gewicht \xe2\x80\x94 \xe4\xb8\xad\xe6\x96\x87 x");
        assert_string_equal(it->summary,
                            "<p>Z\xc3\xbcrich\nBern\tGenf</p> [1] a]b ]] \xc3\xa9t\xc3\xa9 "
                            "\xc2\xa0x 'q' \"z\" \xef\xbc\x81  <![CDATA[c]]>");
        assert_int_equal(it->n_categories, 1);
        assert_string_equal(it->categories[0], "\xc3\xa9t\xc3\xa9 & hiver");
        result_done(&res);

        res = parse_split(bad, strlen(bad), NULL, NULL, SPLIT_WHOLE, 0);
        assert_int_equal(res.r, 0);
        assert_true(res.doc->recovered);
        first = dump(&res);
        result_done(&res);
        res = parse_split(bad, strlen(bad), NULL, NULL, (enum split)how, 11);
        again = dump(&res);
        assert_string_equal(first, again);
        free(first);
        free(again);
        result_done(&res);
    }
}

/*
 * The CDATA sections of feedprep.c against the two ways libxml2 could stumble on them: a
 * DOCTYPE whose internal subset holds a comment with "]>" and a tag (the filter does not
 * follow the subset: no sections in such a document), and a text run far longer than an
 * output block (a section left open across blocks piled up until libxml2 halted at 10 MB).
 */
static void
test_feedparse_text_sections_bounded(void **state)
{
    static const char dtd[] = "<!DOCTYPE r [<!--]><x>\xc3\xa9-->]><rss version=\"2.0\"><channel>"
                              "<title>T \xc3\xa9 &lt;b&gt;</title></channel></rss>";
    static const char head[] = "<rss version=\"2.0\"><channel><title>T</title><x:notes "
                               "xmlns:x=\"urn:x\">";
    static const char tail[] = "</x:notes><item><title>after \xc3\xa9</title><guid>1</guid>"
                               "</item></channel></rss>";
    const size_t run = 12u << 20; /* bytes of "é" and "&gt;" in one text */
    size_t len = strlen(head) + run + strlen(tail), off;
    char *big = malloc(len + 1);

    (void)state;
    for (int how = SPLIT_WHOLE; how <= SPLIT_SEVEN; how += SPLIT_SEVEN - SPLIT_WHOLE) {
        struct result res = parse_split(dtd, strlen(dtd), NULL, NULL, (enum split)how, 0);

        if (res.r != 0)
            fail_msg("DOCTYPE (%s): %s", split_names[how], res.errmsg);
        assert_false(res.doc->recovered);
        assert_string_equal(res.doc->title, "T \xc3\xa9"); /* an RSS title is plain text */
        result_done(&res);
    }

    assert_non_null(big);
    memcpy(big, head, strlen(head));
    off = strlen(head);
    while (off + 6 <= strlen(head) + run) {
        memcpy(big + off, (off / 6) % 7 ? "\xc3\xa9\xc3\xa9\xc3\xa9" : "&gt;\xc3\xa9", 6);
        off += 6;
    }
    memcpy(big + off, tail, strlen(tail));
    len = off + strlen(tail);
    for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
        struct result res;

        if (how == SPLIT_ONE || how == SPLIT_SEVEN)
            continue; /* 12 MB a byte at a time: too slow for the suite, and no other path */
        res = parse_split(big, len, NULL, NULL, (enum split)how, 5);
        if (res.r != 0)
            fail_msg("long text (%s): %s", split_names[how], res.errmsg);
        assert_false(res.doc->recovered);
        assert_int_equal(res.doc->n_items, 1);
        assert_string_equal(res.doc->items[0].title, "after \xc3\xa9");
        result_done(&res);
    }
    free(big);
}

static void
test_feedparse_buffer_api(void **state)
{
    static const char doc[] = "<rss version=\"2.0\"><channel><title>T</title></channel></rss>";
    struct feed_doc *d = NULL;
    char *msg = NULL;

    (void)state;
    assert_int_equal(feedparse_buffer(doc, strlen(doc), NULL, &d, &msg), 0);
    assert_null(msg);
    assert_non_null(d);
    assert_int_equal(d->format, FEED_FORMAT_RSS);
    assert_string_equal(feed_format_name(d->format), "rss");
    feed_doc_free(d);
    d = NULL;
    assert_int_equal(feedparse_buffer("<html/>", 7, NULL, &d, &msg), -EPROTO);
    assert_null(d);
    assert_string_equal(msg, "line 1: not a feed: root element <html>");
    free(msg);
    feed_doc_free(NULL);
    feedparse_free(NULL);
}

/*
 * feedparse_bytes grows with the items read, whatever the split, and ends near what the
 * document then holds (feed_doc_bytes), which counts every string of every item.
 */
static void
test_feedparse_bytes_held(void **state)
{
    (void)state;
    enum { N = 60, DESC = 2000 };
    size_t cap = N * (DESC + 200) + 200, len = 0;
    char *xml = malloc(cap);
    assert_non_null(xml);
    len += (size_t)snprintf(xml + len, cap - len, "<rss version=\"2.0\"><channel><title>T</title>");
    for (int i = 0; i < N; i++) {
        len += (size_t)snprintf(xml + len, cap - len,
                                "<item><title>t%d</title><guid>g%d</guid><description>", i, i);
        memset(xml + len, 'a' + i % 26, DESC);
        len += DESC;
        len += (size_t)snprintf(xml + len, cap - len, "</description></item>");
    }
    len += (size_t)snprintf(xml + len, cap - len, "</channel></rss>");
    static const size_t splits[] = {1, 7, 512, 100000};
    for (size_t k = 0; k < sizeof(splits) / sizeof(splits[0]); k++) {
        struct feedparse *p = feedparse_new(NULL, NULL);
        assert_non_null(p);
        size_t before = feedparse_bytes(p), last = 0;
        for (size_t off = 0; off < len; off += splits[k]) {
            size_t n = len - off < splits[k] ? len - off : splits[k];
            assert_int_equal(feedparse_push(p, xml + off, n), 0);
            /* Items are kept: what is held never drops by more than the scratch buffers. */
            size_t now = feedparse_bytes(p);
            assert_true(now + 2 * DESC + 64 * 1024 >= last);
            last = now > last ? now : last;
        }
        size_t end = feedparse_bytes(p);
        assert_true(end >= before + (size_t)N * DESC);
        struct feed_doc *doc = NULL;
        assert_int_equal(feedparse_finish(p, &doc), 0);
        assert_non_null(doc);
        assert_int_equal(doc->n_items, N);
        size_t held = feed_doc_bytes(doc), strings = 0;
        for (size_t i = 0; i < doc->n_items; i++) {
            const struct feed_item *it = &doc->items[i];
            size_t one = feed_item_bytes(it);
            assert_true(one >= sizeof(*it) + strlen(it->key) + strlen(it->summary));
            strings += one;
        }
        assert_true(held >= strings + sizeof(*doc));
        assert_true(held <= (size_t)N * (DESC + sizeof(struct feed_item) + 256));
        /* The parser's count of its items is the document's, within its scratch buffers. */
        assert_true(end + 4096 >= held && end <= held + 2 * DESC + 128 * 1024);
        feed_doc_free(doc);
        feedparse_free(p);
    }
    assert_int_equal(feed_doc_bytes(NULL), 0);
    assert_int_equal(feedparse_bytes(NULL), 0);
    free(xml);
}

/* ---- encodings ---- */

static struct result
parse_charset(const char *buf, size_t len, const char *charset, enum split how)
{
    struct feedparse *p = feedparse_new(NULL, NULL);
    struct result res = {0};
    size_t off = 0, step = how == SPLIT_ONE ? 1 : how == SPLIT_SEVEN ? 7 : len;

    assert_non_null(p);
    assert_int_equal(feedparse_set_charset(p, charset), 0);
    while (off < len && res.r == 0) {
        size_t n = len - off < step ? len - off : step;

        res.r = feedparse_push(p, buf + off, n);
        off += n;
    }
    if (res.r == 0)
        res.r = feedparse_finish(p, &res.doc);
    if (res.r < 0)
        res.errmsg = strdup(feedparse_error(p));
    feedparse_free(p);
    return res;
}

static void
test_feedparse_charset_precedence(void **state)
{
    /* "Café" in ISO-8859-1 and in UTF-8, with and without a declaration. */
    static const struct {
        const char *doc;
        const char *charset;
        const char *title;
        bool recovered;
    } cases[] = {
        /* No declaration: the HTTP charset decides. */
        {"<rss version=\"2.0\"><channel><title>Caf\xe9</title></channel></rss>", "iso-8859-1",
         "Caf\xc3\xa9", false},
        /* The declaration wins over HTTP. */
        {"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss version=\"2.0\"><channel>"
         "<title>Caf\xe9</title></channel></rss>",
         "utf-8", "Caf\xc3\xa9", false},
        {"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>"
         "<title>Caf\xc3\xa9</title></channel></rss>",
         "iso-8859-1", "Caf\xc3\xa9", false},
        /* A BOM wins over the declaration. */
        {"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss version=\"2.0\">"
         "<channel><title>Caf\xc3\xa9</title></channel></rss>",
         NULL, "Caf\xc3\xa9", false},
        /* Nothing declared, not UTF-8: each bad byte is read as windows-1252. */
        {"<rss version=\"2.0\"><channel><title>Caf\xe9 \x93q\x94</title></channel></rss>", NULL,
         "Caf\xc3\xa9 \xe2\x80\x9cq\xe2\x80\x9d", true},
        /* A declaration that lies (UTF-8 declared, Latin-1 sent). */
        {"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel>"
         "<title>Caf\xe9</title></channel></rss>",
         NULL, "Caf\xc3\xa9", true},
        /* A UTF-16 label on ASCII-compatible bytes is a lie too. */
        {"<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss version=\"2.0\"><channel>"
         "<title>Caf\xc3\xa9</title></channel></rss>",
         NULL, "Caf\xc3\xa9", false},
        /* An unknown charset: read as UTF-8, marked recovered. */
        {"<?xml version=\"1.0\" encoding=\"x-no-such-charset\"?><rss version=\"2.0\"><channel>"
         "<title>Caf\xc3\xa9</title></channel></rss>",
         NULL, "Caf\xc3\xa9", true},
        /* Other encodings through iconv. */
        {"<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss version=\"2.0\"><channel>"
         "<title>\xcf\xf0\xe8\xe2\xe5\xf2</title></channel></rss>",
         NULL, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", false},
        {"<rss version=\"2.0\"><channel><title>\xf0\xd2\xc9\xd7\xc5\xd4</title></channel></rss>",
         "KOI8-R", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", false},
        {"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><rss version=\"2.0\"><channel>"
         "<title>\x93\xfa\x96\x7b</title></channel></rss>",
         NULL, "\xe6\x97\xa5\xe6\x9c\xac", false},
        {"<?xml version=\"1.0\" encoding=\"gb2312\"?><rss version=\"2.0\"><channel>"
         "<title>\xd6\xd0\xce\xc4</title></channel></rss>",
         NULL, "\xe4\xb8\xad\xe6\x96\x87", false},
        {"<?xml version=\"1.0\" encoding=\"big5\"?><rss version=\"2.0\"><channel>"
         "<title>\xa4\xa4\xa4\xe5</title></channel></rss>",
         NULL, "\xe4\xb8\xad\xe6\x96\x87", false},
        /* An invalid byte in a declared encoding becomes U+FFFD. */
        {"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><rss version=\"2.0\"><channel>"
         "<title>a\xff"
         "b</title></channel></rss>",
         NULL,
         "a\xef\xbf\xbd"
         "b",
         true},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int how = SPLIT_WHOLE; how <= SPLIT_SEVEN; how++) {
            struct result res =
                parse_charset(cases[i].doc, strlen(cases[i].doc), cases[i].charset, how);

            if (res.r != 0)
                fail_msg("case %zu (%s): %s", i, split_names[how], res.errmsg);
            if (strcmp(res.doc->title, cases[i].title) != 0 ||
                res.doc->recovered != cases[i].recovered)
                fail_msg("case %zu (%s): title '%s' recovered %d", i, split_names[how],
                         res.doc->title, res.doc->recovered);
            result_done(&res);
        }
    }
    /* The charset is set before the first push only. */
    {
        struct feedparse *p = feedparse_new(NULL, NULL);

        assert_int_equal(feedparse_push(p, "<rss", 4), 0);
        assert_int_equal(feedparse_set_charset(p, "koi8-r"), -EINVAL);
        feedparse_free(p);
    }
}

static void
test_feedparse_undeclared_latin1_items(void **state)
{
    /* libxml2 alone stalls after the first bad byte: every item must still come out. */
    char doc[8192];
    size_t len = 0;

    (void)state;
    len += (size_t)snprintf(doc + len, sizeof(doc) - len,
                            "<rss version=\"2.0\"><channel><title>N\xf3tícias</title>");
    for (int i = 0; i < 20; i++)
        len += (size_t)snprintf(doc + len, sizeof(doc) - len,
                                "<item><guid>g%d</guid><title>Elei\xe7\xf5"
                                "es %d</title>"
                                "<description><![CDATA[S\xe3o Paulo &nbsp;]]></description></item>",
                                i, i);
    len += (size_t)snprintf(doc + len, sizeof(doc) - len, "</channel></rss>");
    for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
        struct result res = parse_split(doc, len, NULL, NULL, (enum split)how, 5);

        assert_int_equal(res.r, 0);
        assert_int_equal(res.doc->n_items, 20);
        assert_true(res.doc->recovered);
        assert_string_equal(res.doc->items[19].title, "Elei\xc3\xa7\xc3\xb5"
                                                      "es 19");
        assert_string_equal(res.doc->items[19].summary, "S\xc3\xa3o Paulo &nbsp;");
        result_done(&res);
    }
}

static void
test_feedparse_utf16_bom(void **state)
{
    static const char le_bom[] =
        "\xff\xfe<\0r\0s\0s\0 \0v\0e\0r\0s\0i\0o\0n\0=\0\"\0002\0.\0000\0\"\0>"
        "\0<\0c\0h\0a\0n\0n\0e\0l\0>\0<\0t\0i\0t\0l\0e\0>\0\xe9\0\xac\x20"
        "<\0/\0t\0i\0t\0l\0e\0>\0<\0/\0c\0h\0a\0n\0n\0e\0l\0>\0<\0/\0r\0s"
        "\0s\0>\0";

    (void)state;
    for (int how = SPLIT_WHOLE; how <= SPLIT_SEVEN; how++) {
        struct result res = parse_split(le_bom, sizeof(le_bom) - 1, NULL, NULL, how, 0);

        if (res.r != 0)
            fail_msg("%s: %s", split_names[how], res.errmsg);
        assert_string_equal(res.doc->title, "\xc3\xa9\xe2\x82\xac");
        result_done(&res);
    }
}

/* ---- text: entities, escaping ---- */

static void
test_feedparse_html_entities(void **state)
{
    static const char doc[] =
        "<rss version=\"2.0\"><channel><title>A&nbsp;B &eacute;t&eacute; &hellip;</title>"
        "<item><guid>1</guid><title>Fish &amp; Chips &copy; Bar &lt;b&gt;</title>"
        "<enclosure url=\"http://e.example/a&nbsp;b.mp3?x=1&y=&eacute;\" type=\"audio/mpeg\"/>"
        "<description>Salt & Pepper &unknown; &#233; &#x263A;</description></item>"
        "<item><guid>2</guid>"
        "<description>&lt;p&gt;double &amp;amp; escaped&lt;/p&gt;</description>"
        "<content:encoded xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">"
        "&amp;lt;p&amp;gt;three&amp;lt;/p&amp;gt;</content:encoded></item>"
        "<item><guid>3</guid><description>plain &lt;3 and a &lt; b</description></item>"
        "</channel></rss>";

    (void)state;
    for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
        struct result res = parse_split(doc, strlen(doc), NULL, NULL, (enum split)how, 3);
        struct feed_item *it;

        assert_int_equal(res.r, 0);
        it = res.doc->items;
        assert_string_equal(res.doc->title, "A B \xc3\xa9t\xc3\xa9 \xe2\x80\xa6");
        /* RSS titles are HTML: the escaped tag is markup, stripped. */
        assert_string_equal(it[0].title, "Fish & Chips \xc2\xa9 Bar");
        /* An HTML entity in an attribute is the character, not U+FFFD. */
        assert_string_equal(it[0].enclosures[0].url, "http://e.example/a\xc2\xa0"
                                                     "b.mp3?x=1&y=\xc3\xa9");
        assert_string_equal(it[0].summary, "Salt & Pepper &unknown; \xc3\xa9 \xe2\x98\xba");
        /* Escaped markup with no tag at all is unescaped once; once only. */
        assert_string_equal(it[1].summary, "<p>double &amp; escaped</p>");
        assert_string_equal(it[1].content, "<p>three</p>");
        /* Escaped text that is not markup is not touched: XML's one level only. */
        assert_string_equal(it[2].summary, "plain <3 and a < b");
        assert_true(res.doc->recovered); /* the bare '&' and &unknown; were repaired */
        result_done(&res);
    }
}

/* ---- hostile sizes ---- */

static void
test_feedparse_huge_attribute(void **state)
{
    size_t big = 50u << 20, len;
    char *doc = malloc(big + 256);
    struct result res;
    struct feedparse *p;
    int r = 0;

    (void)state;
    assert_non_null(doc);
    len = (size_t)snprintf(doc, 256,
                           "<rss version=\"2.0\"><channel><title>T</title><item>"
                           "<enclosure url=\"");
    memset(doc + len, 'a', big);
    len += big;
    len += (size_t)snprintf(doc + len, 64, "\"/></item></channel></rss>");
    /* Whole, and pushed 64 KiB at a time as a download would: an error, quickly. */
    res = parse_split(doc, len, NULL, NULL, SPLIT_WHOLE, 0);
    assert_int_equal(res.r, -EMSGSIZE);
    assert_non_null(strstr(res.errmsg, "tag or declaration longer than 1048576 bytes"));
    result_done(&res);
    p = feedparse_new(NULL, NULL);
    for (size_t off = 0; off < len && r == 0; off += 65536)
        r = feedparse_push(p, doc + off, len - off < 65536 ? len - off : 65536);
    assert_int_equal(r, -EMSGSIZE);
    feedparse_free(p);
    /* A smaller limit, and a long comment. */
    res = parse_text("<rss version=\"2.0\"><channel><title a=\"0123456789\">T</title></channel>"
                     "</rss>",
                     NULL, &(struct feedparse_limits){.max_tag = 16});
    assert_int_equal(res.r, -EMSGSIZE);
    result_done(&res);
    memcpy(doc, "<rss version=\"2.0\"><channel><!--", 32);
    memset(doc + 32, '-', 8u << 20);
    memcpy(doc + 32 + (8u << 20), "></channel></rss>", 18);
    res = parse_text(doc, NULL, NULL);
    assert_int_equal(res.r, -EMSGSIZE);
    assert_non_null(strstr(res.errmsg, "comment"));
    result_done(&res);
    free(doc);
}

static void
test_feedparse_garbage_after_root(void **state)
{
    static const char doc[] =
        "<rss version=\"2.0\"><channel><title>T</title><item><guid>1</guid></item>"
        "</channel></rss>\n<html><body>oops</body></html>\x01\x02 trailing";
    struct result res = parse_text(doc, NULL, NULL);

    (void)state;
    assert_int_equal(res.r, 0);
    assert_int_equal(res.doc->n_items, 1);
    assert_true(res.doc->recovered);
    result_done(&res);
}

/* ---- text cleaning at the edges of its 16-byte blocks ---- */

/* feedtext_clean of the len bytes at s (an exact-size copy, for the sanitizers) as kind. */
static void
check_clean(const char *s, size_t len, enum feedtext_kind kind, const char *want)
{
    char *copy = malloc(len ? len : 1);
    char *got = (char *)"unset";

    assert_non_null(copy);
    memcpy(copy, s, len);
    assert_int_equal(feedtext_clean(copy, len, kind, &got), 0);
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
    free(got);
    free(copy);
}

/*
 * Every length from 1 to 40, so that the piece under test falls at each offset of the last,
 * partial block and across the boundary of the full ones: a cut or invalid sequence becomes
 * U+FFFD per byte, a complete one stays, C1 controls go, NBSP and doubled spaces collapse on
 * a line, and & < > are escaped in plain text kept as HTML.
 */
static void
test_feedparse_text_block_edges(void **state)
{
    char in[128], want[256];

    (void)state;
    for (size_t n = 0; n <= 40; n++) {
        /* n letters, then the piece. */
        memset(in, 'a', n);
        memset(want, 'a', n);

        memcpy(in + n, "\xc3\xa9", 2); /* é, complete */
        memcpy(want + n, "\xc3\xa9", 3);
        check_clean(in, n + 2, FEEDTEXT_TOKEN, want);
        check_clean(in, n + 2, FEEDTEXT_LINE, want);

        memcpy(in + n, "\xc3", 1); /* cut */
        memcpy(want + n, "\xef\xbf\xbd", 4);
        check_clean(in, n + 1, FEEDTEXT_HTML, want);
        check_clean(in, n + 1, FEEDTEXT_LINE, want);

        memcpy(in + n, "\xe2\x80", 2); /* cut three-byte sequence: two bytes, two U+FFFD */
        memcpy(want + n, "\xef\xbf\xbd\xef\xbf\xbd", 7);
        check_clean(in, n + 2, FEEDTEXT_TOKEN, want);

        memcpy(in + n,
               "\xe2\x80\x94"
               "b",
               4); /* em dash, then a letter */
        memcpy(want + n,
               "\xe2\x80\x94"
               "b",
               5);
        check_clean(in, n + 4, FEEDTEXT_LINE, want);

        memcpy(in + n,
               "\xc2\x85"
               "b",
               3); /* C1 control: dropped */
        memcpy(want + n, "b", 2);
        check_clean(in, n + 3, FEEDTEXT_HTML, want);

        memcpy(in + n, "\xc2\xa0", 2); /* NBSP at the end of a line: trimmed */
        want[n] = '\0';
        check_clean(in, n + 2, FEEDTEXT_LINE, n ? want : NULL);

        memcpy(in + n, "  b", 3); /* doubled space on a line: one */
        memcpy(want + n, " b", 3);
        check_clean(in, n + 3, FEEDTEXT_LINE, n ? want : "b");
        memcpy(want + n, "  b", 4); /* kept in HTML */
        check_clean(in, n + 3, FEEDTEXT_HTML, n ? want : "b");

        memcpy(in + n, " \x01 b", 4); /* spaces around a control: one */
        memcpy(want + n, " b", 3);
        check_clean(in, n + 4, FEEDTEXT_LINE, n ? want : "b");

        memcpy(in + n, "<&>", 3); /* plain text kept as HTML */
        memcpy(want + n, "&lt;&amp;&gt;", 14);
        check_clean(in, n + 3, FEEDTEXT_TEXT_HTML, want);
    }
}

/* ---- the real-world corpus ---- */

#define REAL_FIXTURES FW_FIXTURES "/feeds-real"
#define REAL_HEAD 160 /* bytes of summary / content kept in the expectations */

/* ---- issue 13: what other suites read (tests/fixtures/conformance) ---- */

/* Parses xml whole and in every split, checks the splits agree, returns the whole parse. */
static struct result
parse_all_splits(const char *xml)
{
    size_t len = strlen(xml);
    struct result whole = parse_split(xml, len, NULL, NULL, SPLIT_WHOLE, 0);
    char *want = dump(&whole);

    for (int how = SPLIT_ONE; how <= SPLIT_RANDOM; how++) {
        struct result res = parse_split(xml, len, NULL, NULL, (enum split)how, 17);
        char *got = dump(&res);

        assert_string_equal(got, want);
        free(got);
        result_done(&res);
    }
    free(want);
    assert_int_equal(whole.r, 0);
    return whole;
}

static void
test_feedparse_dublin_core_fallbacks(void **state)
{
    static const char rss[] =
        "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\""
        " xmlns:dcterms=\"http://purl.org/dc/terms/\"><channel>"
        "<dc:title>DC feed</dc:title><dcterms:modified>2003-12-31T10:14:55Z</dcterms:modified>"
        "<item><dc:title>A &amp;amp; "
        "B</dc:title><dc:description>&lt;b&gt;d&lt;/b&gt;</dc:description>"
        "<dc:publisher>Pub</dc:publisher><dc:author>Auth</dc:author>"
        "<dcterms:created>2001-01-01T00:00:00Z</dcterms:created>"
        "<dcterms:issued>2002-02-02T00:00:00Z</dcterms:issued></item>"
        "<item><title>RSS</title><dc:title>DC</dc:title><dc:creator>Creator</dc:creator>"
        "<dc:publisher>Pub</dc:publisher><description>D</description>"
        "<dc:description>DC D</dc:description></item>"
        "</channel></rss>";
    static const char atom[] =
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
        "<dc:title>DC atom</dc:title><dc:language>it_IT</dc:language>"
        "<dc:date>2004-01-01T00:00:00Z</dc:date>"
        "<entry><id>urn:x:1</id><dc:title>Entry</dc:title></entry></feed>";
    struct result res;

    (void)state;
    res = parse_all_splits(rss);
    assert_string_equal(res.doc->title, "DC feed");
    assert_int_equal(res.doc->updated_at, 1072865695);
    assert_string_equal(res.doc->items[0].title, "A & B");
    assert_string_equal(res.doc->items[0].summary, "<b>d</b>");
    assert_string_equal(res.doc->items[0].author, "Auth");
    assert_int_equal(res.doc->items[0].published_at, 1012608000); /* issued before created */
    /* The format's own elements win, and dc:creator wins over dc:publisher. */
    assert_string_equal(res.doc->items[1].title, "RSS");
    assert_string_equal(res.doc->items[1].author, "Creator");
    assert_string_equal(res.doc->items[1].summary, "D");
    result_done(&res);

    res = parse_all_splits(atom);
    assert_string_equal(res.doc->title, "DC atom");
    assert_string_equal(res.doc->language, "it-IT");
    assert_int_equal(res.doc->updated_at, 1072915200);
    assert_string_equal(res.doc->items[0].title, "Entry");
    assert_string_equal(res.doc->items[0].language, "it-IT");
    result_done(&res);
}

static void
test_feedparse_atom_text_types(void **state)
{
    static const char doc[] =
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"\">T &lt;1&gt;</title>"
        "<entry><id>1</id><title type=\"application/octet-stream\">VGl0bGU=</title>"
        "<content type=\"application/octet-stream\">PGI+Ym9sZDwvYj4=</content></entry>"
        "<entry><id>2</id><content type=\"image/png\">iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB</content>"
        "<summary type=\"multipart/alternative\">Not base64.</summary></entry>"
        "<entry><id>3</id><content type=\"html\">&amp;lt;p&amp;gt; as written</content>"
        "<summary type=\"text/css\">a &gt; b</summary></entry>"
        "<entry><id>4</id><content type=\"image/svg+xml\"><svg "
        "xmlns=\"http://www.w3.org/2000/svg\">"
        "<rect width=\"1\"/>&lt;</svg></content></entry>"
        "<entry><id>5</id><content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">"
        "<math xmlns=\"http://www.w3.org/1998/Math/MathML\"><mi>x</mi></math></div></content>"
        "<summary type=\"\">1 &lt; 2</summary></entry></feed>";
    struct result res;

    (void)state;
    res = parse_all_splits(doc);
    assert_string_equal(res.doc->title, "T <1>");
    /*
     * In content any other media type is base64; its text is text, escaped into HTML. A title
     * allows only text, html and xhtml (RFC 4287 §3.1.1): another type is read as text.
     */
    assert_string_equal(res.doc->items[0].title, "VGl0bGU=");
    assert_string_equal(res.doc->items[0].content, "&lt;b&gt;bold&lt;/b&gt;");
    /* A binary file is dropped; text that is not base64 is kept as text. */
    assert_null(res.doc->items[1].content);
    assert_string_equal(res.doc->items[1].summary, "Not base64.");
    /* type="html" is kept as written: escaped markup stays escaped; text/css is text. */
    assert_string_equal(res.doc->items[2].content, "&lt;p&gt; as written");
    assert_string_equal(res.doc->items[2].summary, "a &gt; b");
    /* XML media types and MathML in XHTML keep their markup. */
    assert_string_equal(
        res.doc->items[3].content,
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"1\"></rect>&lt;</svg>");
    assert_string_equal(res.doc->items[4].content,
                        "<math xmlns=\"http://www.w3.org/1998/Math/MathML\"><mi>x</mi></math>");
    assert_string_equal(res.doc->items[4].summary, "1 &lt; 2");
    result_done(&res);
}

static void
test_feedparse_base64(void **state)
{
    char *out = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(feedtext_base64(" SGVs\nbG8= ", 11, &out, &n), 0);
    assert_string_equal(out, "Hello");
    assert_int_equal(n, 5);
    free(out);
    assert_int_equal(feedtext_base64("SGVsbG8", 7, &out, &n), 0); /* padding optional */
    assert_string_equal(out, "Hello");
    free(out);
    assert_int_equal(feedtext_base64("", 0, &out, &n), 0);
    assert_string_equal(out, "");
    free(out);
    out = NULL;
    assert_int_equal(feedtext_base64("SGVsbG8=x", 9, &out, &n), -EINVAL); /* after padding */
    assert_int_equal(feedtext_base64("SGVsb", 5, &out, &n), -EINVAL);     /* one digit over */
    assert_int_equal(feedtext_base64("SGV$", 4, &out, &n), -EINVAL);
    assert_int_equal(feedtext_base64("AAEC", 4, &out, &n), -EINVAL); /* NUL: binary */
    assert_int_equal(feedtext_base64("/w==", 4, &out, &n), -EINVAL); /* 0xff: not UTF-8 */
    assert_null(out);
    assert_true(feedtext_base64_like("AAEC\n==", 7));
    assert_false(feedtext_base64_like("AA EC!", 6));
}

static void
test_feedparse_atom_namespaces(void **state)
{
    static const char *const ns[] = {
        "http://purl.org/atom/ns#draft-ietf-atompub-format-08",
        "http://purl.org/atom/ns#draft-ietf-atompub-format-11",
        "http://www.w3.org/2005/Atom/",
        "HTTP://WWW.W3.ORG/2005/ATOM",
        "https://www.w3.org/2005/Atom",
    };
    char doc[1024];

    (void)state;
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        struct result res;

        (void)snprintf(
            doc, sizeof(doc),
            "<feed xmlns=\"%s\"><title>F</title><link href=\"http://a.example/\"/>"
            "<entry><title>E</title><id>urn:e</id><updated>2003-12-31T10:14:55Z</updated>"
            "<updated>2009-01-01T00:00:00Z</updated></entry></feed>",
            ns[i]);
        res = parse_all_splits(doc);
        assert_int_equal(res.doc->format, FEED_FORMAT_ATOM);
        assert_string_equal(res.doc->title, "F");
        assert_string_equal(res.doc->link, "http://a.example/");
        assert_int_equal(res.doc->n_items, 1);
        assert_string_equal(res.doc->items[0].id, "urn:e");
        assert_int_equal(res.doc->items[0].updated_at, 1072865695); /* the first one */
        result_done(&res);
    }
}

static void
test_feedparse_atom_in_rss(void **state)
{
    static const char doc[] =
        "<rss version=\"2.0\" xmlns:a=\"http://www.w3.org/2005/Atom\"><channel>"
        "<a:title>Atom title</a:title><a:updated>2003-12-31T10:14:55Z</a:updated>"
        "<item><a:title type=\"html\">x &amp;amp; y</a:title><a:id>urn:a</a:id>"
        "<a:author><a:name>Ann</a:name></a:author><a:published>2003-12-31T10:14:55Z</a:published>"
        "<a:link rel=\"alternate\"/><a:link href=\"http://a.example/1\"/>"
        "<description>D</description><a:summary>S</a:summary></item>"
        "<item><guid isPermaLink=\"false\">g</guid><a:id>urn:b</a:id><title>T</title>"
        "<a:content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><p>C</p></div>"
        "</a:content></item></channel></rss>";
    struct result res;

    (void)state;
    res = parse_all_splits(doc);
    assert_string_equal(res.doc->title, "Atom title");
    assert_int_equal(res.doc->updated_at, 1072865695);
    assert_string_equal(res.doc->items[0].title, "x & y");
    assert_string_equal(res.doc->items[0].id, "urn:a");
    assert_string_equal(res.doc->items[0].author, "Ann");
    assert_int_equal(res.doc->items[0].published_at, 1072865695);
    assert_string_equal(res.doc->items[0].link, "http://a.example/1");
    /* description then atom:summary: the first is the summary, the second the content. */
    assert_string_equal(res.doc->items[0].summary, "D");
    assert_string_equal(res.doc->items[0].content, "S");
    assert_string_equal(res.doc->items[1].id, "g");
    assert_string_equal(res.doc->items[1].title, "T");
    assert_string_equal(res.doc->items[1].content, "<p>C</p>");
    result_done(&res);
}

static void
test_feedparse_rss_content_elements(void **state)
{
    static const char doc[] =
        "<rss version=\"2.0\" xmlns:x=\"http://www.w3.org/1999/xhtml\""
        " xmlns:content=\"http://purl.org/rss/1.0/modules/content\"><channel><title>F</title>"
        "<item><guid>1</guid><x:body><x:div><x:p>a &lt; b</x:p></x:div></x:body></item>"
        "<item><guid>2</guid><description>S</description><fullitem>&lt;p&gt;F&lt;/p&gt;</fullitem>"
        "</item>"
        "<item><guid>3</guid><summary>Sum</summary><description>Desc</description>"
        "<content:encoded>&lt;p&gt;E&lt;/p&gt;</content:encoded></item>"
        "</channel></rss>";
    struct result res;

    (void)state;
    res = parse_all_splits(doc);
    /* xhtml:body keeps its markup, and a <div> in it is no Atom wrapper. */
    assert_string_equal(res.doc->items[0].content, "<div><p>a &lt; b</p></div>");
    assert_string_equal(res.doc->items[1].summary, "S");
    assert_string_equal(res.doc->items[1].content, "<p>F</p>");
    /* content:encoded (here in its slashless namespace) is the content over a 2nd summary. */
    assert_string_equal(res.doc->items[2].summary, "Sum");
    assert_string_equal(res.doc->items[2].content, "<p>E</p>");
    result_done(&res);
}

static void
test_feedparse_rdf_about_id(void **state)
{
    static const char doc[] =
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\""
        " xmlns=\"http://purl.org/rss/1.0/\"><channel rdf:about=\"http://a.example/\">"
        "<title>F</title><link>http://a.example/</link></channel>"
        "<item rdf:about=\"urn:item:1\"><title>1</title><link>http://a.example/1</link></item>"
        "<item rdf:about=\"http://a.example/2\"><title>2</title></item>"
        "</rdf:RDF>";
    static const char rss11[] =
        "<Channel xmlns=\"http://purl.org/net/rss1.1#\""
        " xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
        "rdf:about=\"http://a.example/\">"
        "<title>R11</title><link>http://a.example/</link><description>d</description>"
        "<items rdf:parseType=\"Collection\"><item "
        "rdf:about=\"http://a.example/3\"><title>3</title>"
        "<link>http://a.example/3</link></item></items></Channel>";
    struct result res;

    (void)state;
    res = parse_all_splits(doc);
    assert_string_equal(res.doc->items[0].id, "urn:item:1");
    assert_string_equal(res.doc->items[0].key, "http://a.example/1"); /* the key is the link */
    assert_string_equal(res.doc->items[0].link, "http://a.example/1");
    assert_string_equal(res.doc->items[1].id, "http://a.example/2");
    assert_string_equal(res.doc->items[1].link, "http://a.example/2");
    result_done(&res);

    res = parse_all_splits(rss11);
    assert_int_equal(res.doc->format, FEED_FORMAT_RDF);
    assert_string_equal(res.doc->title, "R11");
    assert_int_equal(res.doc->n_items, 1);
    assert_string_equal(res.doc->items[0].title, "3");
    assert_string_equal(res.doc->items[0].id, "http://a.example/3");
    result_done(&res);
}

/*
 * The fallback ids (RSS 1.0 rdf:about, atom:id inside an RSS item) are shown as the id but
 * never become the key: the key stays the guid, else the link, else the hash, as it was
 * before they were read, so that an upgrade does not make every item of such feeds new
 * again, and items sharing one rdf:about (the feed's own URL) keep keys of their own.
 */
static void
test_feedparse_fallback_id_not_key(void **state)
{
    static const char rdf[] =
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\""
        " xmlns=\"http://purl.org/rss/1.0/\" xml:base=\"http://a.example/blog/\">"
        "<channel "
        "rdf:about=\"http://a.example/\"><title>F</title><link>http://a.example/</link></channel>"
        "<item rdf:about=\"#\"><title>1</title><link>http://a.example/1</link></item>"
        "<item rdf:about=\"#\"><title>2</title><link>http://a.example/2</link></item>"
        "<item rdf:about=\"#\"><title>3</title><description>no link</description></item>"
        "<item rdf:about=\"p/4\"><title>4</title></item>"
        "</rdf:RDF>";
    static const char rss[] =
        "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel><title>F</title>"
        "<item><title>1</title><link>http://a.example/1</link><atom:id>urn:x:1</atom:id></item>"
        "<item><title>2</title><atom:id>urn:x:2</atom:id></item>"
        "<item><title>3</title><guid>g3</guid><atom:id>urn:x:3</atom:id></item>"
        "</channel></rss>";
    struct result res;

    (void)state;
    res = parse_all_splits(rdf);
    assert_int_equal(res.doc->n_items, 4);
    assert_string_equal(res.doc->items[0].id, "#");
    assert_string_equal(res.doc->items[0].key, "http://a.example/1");
    assert_string_equal(res.doc->items[1].key, "http://a.example/2");
    /* rdf:about is the link when there is none, resolved against xml:base; the key follows it */
    assert_string_equal(res.doc->items[2].link, "http://a.example/blog/#");
    assert_string_equal(res.doc->items[2].key, "http://a.example/blog/#");
    assert_string_equal(res.doc->items[3].link, "http://a.example/blog/p/4");
    assert_string_equal(res.doc->items[3].key, "http://a.example/blog/p/4");
    for (size_t i = 0; i < res.doc->n_items; i++) {
        for (size_t j = i + 1; j < res.doc->n_items; j++)
            assert_string_not_equal(res.doc->items[i].key, res.doc->items[j].key);
    }
    result_done(&res);

    res = parse_all_splits(rss);
    assert_int_equal(res.doc->n_items, 3);
    assert_string_equal(res.doc->items[0].id, "urn:x:1");
    assert_string_equal(res.doc->items[0].key, "http://a.example/1");
    assert_string_equal(res.doc->items[1].id, "urn:x:2");
    assert_true(strncmp(res.doc->items[1].key, "hash:", 5) == 0);
    assert_string_equal(res.doc->items[2].id, "g3");
    assert_string_equal(res.doc->items[2].key, "g3");
    result_done(&res);
}

/*
 * RFC 4287 §3.1.1: a text construct's type is text, html or xhtml; another one is read as
 * text, not decoded as base64 (that is atom:content's rule for media types, §4.1.3.3).
 */
static void
test_feedparse_text_construct_unknown_type(void **state)
{
    static const char atom[] =
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"plain\">Feed Title</title>"
        "<entry><id>urn:x:1</id><title type=\"plain\">Hello World</title>"
        "<summary type=\"markdown\">Some text</summary>"
        "<content type=\"application/octet-stream\">Q29udGVudA==</content></entry>"
        "<entry><id>urn:x:2</id><title type=\"application/octet-stream\">VGl0bGU=</title>"
        "<summary type=\"image/svg+xml\">A <b>bold</b> claim</summary></entry></feed>";
    static const char rss[] =
        "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel><title>F</title>"
        "<item><guid>1</guid><atom:title type=\"plain\">Hello World</atom:title>"
        "<atom:summary type=\"markdown\">Some text</atom:summary></item></channel></rss>";
    struct result res;

    (void)state;
    res = parse_all_splits(atom);
    assert_int_equal(res.doc->n_items, 2);
    assert_non_null(res.doc->title);
    assert_string_equal(res.doc->title, "Feed Title");
    assert_non_null(res.doc->items[0].title);
    assert_string_equal(res.doc->items[0].title, "Hello World");
    assert_non_null(res.doc->items[0].summary);
    assert_non_null(strstr(res.doc->items[0].summary, "Some text"));
    /* content keeps its media type rule: base64, decoded */
    assert_non_null(res.doc->items[0].content);
    assert_non_null(strstr(res.doc->items[0].content, "Content"));
    assert_non_null(res.doc->items[1].title);
    assert_string_equal(res.doc->items[1].title, "VGl0bGU=");
    assert_non_null(res.doc->items[1].summary);
    assert_non_null(strstr(res.doc->items[1].summary, "A bold claim"));
    result_done(&res);

    res = parse_all_splits(rss);
    assert_int_equal(res.doc->n_items, 1);
    assert_non_null(res.doc->items[0].title);
    assert_string_equal(res.doc->items[0].title, "Hello World");
    assert_non_null(res.doc->items[0].summary);
    assert_non_null(strstr(res.doc->items[0].summary, "Some text"));
    result_done(&res);
}

static void
test_feedparse_language_tags(void **state)
{
    static const char rss[] =
        "<rss version=\"2.0\" xml:lang=\"fr\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
        "<channel><title>F</title><language> en_US </language>"
        "<item><title>1</title></item>"
        "<item><title>2</title><dc:language>zh_Hant_TW</dc:language></item></channel></rss>";
    static const char atom[] =
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"pt_BR\"><title>F</title>"
        "<entry xml:lang=\"not a_tag\"><id>1</id></entry></feed>";
    struct result res;

    (void)state;
    res = parse_all_splits(rss);
    assert_string_equal(res.doc->language, "en-US"); /* <language> over the root's xml:lang */
    assert_string_equal(res.doc->items[1].language, "zh-Hant-TW");
    result_done(&res);
    res = parse_all_splits(atom);
    assert_string_equal(res.doc->language, "pt-BR");
    assert_string_equal(res.doc->items[0].language, "not a_tag"); /* no tag: as written */
    result_done(&res);
}

/*
 * tests/fixtures/corpus/feeds-real/README.md: these give a clear error, never items. (The two raw
 * gzip files, node-feedparser/compressed.xml and invalid-characters-gzipped.xml, are inflated in
 * the stream and parse.)
 */
static const char *const real_must_fail[] = {
    "atoma/broken-no-channel.xml", "node-feedparser/notafeed.html", "rss-parser/unrecognized.rss",
    "RSParser/ScriptingNews.json", "RSParser/allthis-partial.json",
};

/* Replaces a long text member by its length, a hash and its first REAL_HEAD bytes. */
static void
abbreviate(json_t *item, const char *key)
{
    const char *s = json_string_value(json_object_get(item, key));
    size_t len, head;
    uint64_t h = 0xcbf29ce484222325ULL;
    char hex[17];

    if (!s)
        return;
    len = strlen(s);
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    (void)snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)h);
    head = len < REAL_HEAD ? len : REAL_HEAD;
    while (head > 0 && head < len && ((unsigned char)s[head] & 0xc0) == 0x80)
        head--; /* cut at a character boundary */
    json_object_set_new(
        item, key,
        json_pack("{s:I, s:s, s:s%}", "bytes", (json_int_t)len, "fnv1a", hex, "head", s, head));
}

/* The expectation stored for one corpus file: the document with long texts abbreviated. */
static json_t *
real_json(const struct result *res)
{
    json_t *j = result_json(res), *items = json_object_get(j, "items"), *it;
    size_t i;

    json_array_foreach(items, i, it)
    {
        abbreviate(it, "summary");
        abbreviate(it, "content");
    }
    return j;
}

struct corpus_count {
    char format[32];
    size_t files, ok, errors, recovered, items;
};

static struct corpus_count *
count_for(struct corpus_count *counts, size_t *n, const char *format)
{
    for (size_t k = 0; k < *n; k++) {
        if (strcmp(counts[k].format, format) == 0)
            return &counts[k];
    }
    (void)snprintf(counts[*n].format, sizeof(counts[*n].format), "%s", format);
    return &counts[(*n)++];
}

static void
mkdirs(const char *path)
{
    char tmp[1024];
    size_t len = strlen(path);

    assert_true(len < sizeof(tmp));
    memcpy(tmp, path, len + 1);
    for (char *q = tmp + 1; *q; q++) {
        if (*q == '/') {
            *q = '\0';
            (void)mkdir(tmp, 0755);
            *q = '/';
        }
    }
}

static void
check_real_file(const char *file, const char *format, size_t seed, struct corpus_count *c)
{
    char path[1024], url[1100], exp_path[1100];
    bool expect_fail = false, regen = getenv("FW_REGEN_FIXTURES") != NULL;
    size_t len;
    char *buf;
    struct result whole, chunked;
    json_t *got, *again, *expected;
    json_error_t jerr;

    for (size_t k = 0; k < sizeof(real_must_fail) / sizeof(real_must_fail[0]); k++)
        expect_fail |= strcmp(file, real_must_fail[k]) == 0;
    (void)snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, file);
    (void)snprintf(url, sizeof(url), "https://corpus.example/%s", file);
    (void)snprintf(exp_path, sizeof(exp_path), "%s/%s.json", REAL_FIXTURES, file);
    buf = read_file(path, &len);
    assert_non_null(buf);
    whole = parse_split(buf, len, url, NULL, SPLIT_WHOLE, 0);
    c->files++;
    if (whole.r == 0) {
        c->ok++;
        c->items += whole.doc->n_items;
        c->recovered += whole.doc->recovered;
        for (size_t k = 0; k < whole.doc->n_items; k++)
            assert_non_null(whole.doc->items[k].key);
    } else {
        c->errors++;
    }
    if (expect_fail && whole.r != -EPROTO)
        fail_msg("%s should fail with a clear error, gave %d", file, whole.r);
    if (!expect_fail && whole.r != 0)
        fail_msg("%s (%s) failed: %s", file, format, whole.errmsg);

    /* Streaming gives the same document as the whole buffer. */
    got = real_json(&whole);
    chunked = parse_split(buf, len, url, NULL, SPLIT_RANDOM, seed);
    again = real_json(&chunked);
    if (!json_equal(got, again))
        fail_msg("%s: random splits give a different result", file);
    json_decref(again);
    result_done(&chunked);

    if (regen) {
        mkdirs(exp_path);
        assert_int_equal(json_dump_file(got, exp_path, JSON_INDENT(1) | JSON_PRESERVE_ORDER), 0);
    }
    expected = json_load_file(exp_path, 0, &jerr);
    if (!expected)
        fail_msg("%s: cannot load %s: %s", file, exp_path, jerr.text);
    if (!json_equal(got, expected)) {
        char *g = json_dumps(got, DUMP_FLAGS);

        print_error("%s: differs from %s; got\n%s\n", file, exp_path, g);
        free(g);
        fail();
    }
    json_decref(expected);
    json_decref(got);
    result_done(&whole);
    free(buf);
}

static void
test_feedparse_real_feeds(void **state)
{
    struct corpus_count counts[64];
    size_t n_counts = 0, i, files = 0;
    json_error_t jerr;
    json_t *manifest = json_load_file(CORPUS_DIR "/manifest.json", 0, &jerr);
    json_t *rec;

    (void)state;
    memset(counts, 0, sizeof(counts));
    if (!manifest)
        fail_msg("cannot load the manifest: %s", jerr.text);
    /* The manifest lists every file of the folder (checked by the walk below). */
    assert_true(json_array_size(manifest) > 280);
    json_array_foreach(manifest, i, rec)
    {
        const char *file = json_string_value(json_object_get(rec, "file"));
        const char *format = json_string_value(json_object_get(rec, "format"));

        assert_non_null(file);
        check_real_file(file, format ? format : "?", i + 1,
                        count_for(counts, &n_counts, format ? format : "?"));
        files++;
    }
    {
        /* Every file of the folder is in the manifest. */
        DIR *d = opendir(CORPUS_DIR);
        struct dirent *de;
        size_t on_disk = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
            char sub[1024];
            DIR *sd;
            struct dirent *se;

            if (de->d_name[0] == '.')
                continue;
            (void)snprintf(sub, sizeof(sub), "%s/%s", CORPUS_DIR, de->d_name);
            sd = opendir(sub);
            if (!sd)
                continue;
            while ((se = readdir(sd)))
                on_disk += se->d_name[0] != '.';
            closedir(sd);
        }
        closedir(d);
        assert_int_equal(on_disk, files);
    }
    for (size_t k = 0; k < n_counts; k++)
        print_message("feeds-real %-15s files %3zu  ok %3zu  errors %3zu  recovered %3zu  "
                      "items %5zu\n",
                      counts[k].format, counts[k].files, counts[k].ok, counts[k].errors,
                      counts[k].recovered, counts[k].items);
    json_decref(manifest);
}

/* Appends to a growing test document; aborts the test when it does not fit. */
static void
doc_add(char *doc, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(doc + *len, cap - *len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap - *len);
    *len += (size_t)n;
}

/* An RSS item whose start tag has n_attrs attributes. */
static char *
attrs_doc(size_t n_attrs, size_t *len)
{
    size_t cap = n_attrs * 16 + 256;
    char *doc = malloc(cap);

    assert_non_null(doc);
    *len = 0;
    doc_add(doc, cap, len, "<rss version=\"2.0\"><channel><title>T</title><item");
    for (size_t i = 0; i < n_attrs; i++)
        doc_add(doc, cap, len, i % 2 ? " a%zu='1'" : " a%zu = \"1\"", i);
    doc_add(doc, cap, len, "><title>I</title></item></channel></rss>");
    return doc;
}

/*
 * libxml2 checks every attribute of a start tag against those before it: 100k attributes
 * on one tag cost it about 15 s. The byte stage refuses a tag past FEEDPREP_MAX_ATTRS
 * before libxml2 sees it, whatever the splits; the real corpus has at most 11.
 */
static void
test_feedparse_attribute_count(void **state)
{
    struct feedparse_limits big = {.max_tag = 8u << 20};
    size_t len;
    char *doc;
    struct result res;

    (void)state;
    doc = attrs_doc(100000, &len);
    res = parse_split(doc, len, NULL, &big, SPLIT_WHOLE, 0);
    assert_int_equal(res.r, -EMSGSIZE);
    assert_non_null(strstr(res.errmsg, "too many attributes in a start tag (max 256)"));
    result_done(&res);
    free(doc);

    doc = attrs_doc(256, &len);
    for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
        res = parse_split(doc, len, NULL, NULL, (enum split)how, 7);
        assert_int_equal(res.r, 0);
        assert_int_equal(res.doc->n_items, 1);
        assert_string_equal(res.doc->items[0].title, "I");
        result_done(&res);
    }
    free(doc);
    doc = attrs_doc(257, &len);
    for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
        res = parse_split(doc, len, NULL, NULL, (enum split)how, 7);
        assert_int_equal(res.r, -EMSGSIZE);
        assert_non_null(strstr(res.errmsg, "too many attributes"));
        result_done(&res);
    }
    free(doc);
}

/*
 * libxml2 looks each prefix up through every namespace declaration in scope: 50k of them
 * on <rss> and 200k prefixed elements cost it 13 s. Declarations in scope are bounded,
 * counted as libxml2 does: an element's end tag (or an empty element) takes its own away.
 */
static void
test_feedparse_namespace_scope(void **state)
{
    size_t cap = 1u << 20, len = 0;
    char *doc = malloc(cap);
    struct result res;

    (void)state;
    assert_non_null(doc);
    /* 16 nested elements declaring 20 each: 320 in scope at the innermost. */
    doc_add(doc, cap, &len, "<rss version=\"2.0\"><channel><title>T</title><item><title>I</title>");
    for (int d = 0; d < 16; d++) {
        doc_add(doc, cap, &len, "<x%d", d);
        for (int k = 0; k < 20; k++)
            doc_add(doc, cap, &len, " xmlns:p%d_%d='u:%d'", d, k, k);
        doc_add(doc, cap, &len, ">");
    }
    for (int d = 15; d >= 0; d--)
        doc_add(doc, cap, &len, "</x%d>", d);
    doc_add(doc, cap, &len, "</item></channel></rss>");
    for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
        res = parse_split(doc, len, NULL, NULL, (enum split)how, 11);
        assert_int_equal(res.r, -EMSGSIZE);
        assert_non_null(strstr(res.errmsg, "too many namespace declarations in scope (max 256)"));
        result_done(&res);
    }

    /* The same 320 declarations on siblings, empty elements and a default namespace. */
    len = 0;
    doc_add(doc, cap, &len,
            "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
            "<channel><title>T</title>");
    for (int d = 0; d < 16; d++) {
        doc_add(doc, cap, &len, "<item><title>I%d</title><x", d);
        for (int k = 0; k < 20; k++)
            doc_add(doc, cap, &len, " xmlns:p%d='u:%d'", k, k);
        doc_add(doc, cap, &len, "><p3:y/></x><z xmlns='u:z'");
        for (int k = 0; k < 20; k++)
            doc_add(doc, cap, &len, " xmlns:q%d = 'u:%d'", k, k);
        doc_add(doc, cap, &len, "/><dc:creator>C</dc:creator></item>");
    }
    doc_add(doc, cap, &len, "</channel></rss>");
    for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
        res = parse_split(doc, len, NULL, NULL, (enum split)how, 13);
        assert_int_equal(res.r, 0);
        assert_int_equal(res.doc->n_items, 16);
        assert_string_equal(res.doc->items[15].title, "I15");
        result_done(&res);
    }

    /* Attributes that merely look like declarations are attributes (two nested: 396). */
    len = 0;
    doc_add(doc, cap, &len, "<rss version=\"2.0\"><channel><title>T</title><item>");
    for (int d = 0; d < 2; d++) {
        doc_add(doc, cap, &len, "<x");
        for (int k = 0; k < 66; k++)
            doc_add(doc, cap, &len, " xmlnsx%d='1' xmln%d='1' a%d\n=\t'xmlns:a'", k, k, k);
        doc_add(doc, cap, &len, ">");
    }
    doc_add(doc, cap, &len, "</x></x><title>I</title></item></channel></rss>");
    for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
        res = parse_split(doc, len, NULL, NULL, (enum split)how, 17);
        assert_int_equal(res.r, 0);
        assert_string_equal(res.doc->items[0].title, "I");
        result_done(&res);
    }
    free(doc);
}

/*
 * The bounds cost the byte stage a constant per byte: a 4 MB document of small tags with
 * many attributes each still parses.
 */
static void
test_feedparse_many_attributes_linear(void **state)
{
    size_t cap = 5u << 20, len = 0, n_tags = 0;
    char *doc = malloc(cap);
    struct result res;

    (void)state;
    assert_non_null(doc);
    doc_add(doc, cap, &len, "<rss version=\"2.0\"><channel><title>T</title><item><title>I</title>");
    while (len < (4u << 20)) {
        doc_add(doc, cap, &len, "<x");
        for (int k = 0; k < 64; k++)
            doc_add(doc, cap, &len, " a%d='%d'", k, k);
        doc_add(doc, cap, &len, "/>");
        n_tags++;
    }
    doc_add(doc, cap, &len, "</item></channel></rss>");
    res = parse_split(doc, len, NULL, NULL, SPLIT_WHOLE, 0);
    assert_int_equal(res.r, 0);
    assert_int_equal(res.doc->n_items, 1);
    assert_string_equal(res.doc->items[0].title, "I");
    assert_true(n_tags > 5000);
    result_done(&res);
    free(doc);
}

/*
 * A guid or link longer than 1024 bytes is keyed by the SHA-256 of its bytes, so a feed that
 * rotates 4 KB guids does not grow the store by its keys; shorter ones stay as they are.
 */
static void
test_feedparse_long_keys(void **state)
{
    static const struct {
        const char *in;
        const char *hex;
    } vectors[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 55: one block */
         "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 64: two */
         "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    };
    size_t cap = 16384, len = 0;
    char *doc = malloc(cap), *g1024 = malloc(1025), *g1025 = malloc(1026), *l2000 = malloc(2100);
    char hex[HASH_SHA256_HEX];
    struct result res;

    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        hash_sha256_hex(vectors[i].in, strlen(vectors[i].in), hex);
        assert_string_equal(hex, vectors[i].hex);
    }
    assert_non_null(doc);
    assert_non_null(g1024);
    assert_non_null(g1025);
    assert_non_null(l2000);
    memset(g1024, 'g', 1024);
    g1024[1024] = '\0';
    memset(g1025, 'g', 1025);
    g1025[1025] = '\0';
    len = (size_t)snprintf(l2000, 2100, "https://k.example/");
    memset(l2000 + len, 'l', 2000);
    l2000[len + 2000] = '\0';
    len = 0;
    doc_add(doc, cap, &len, "<rss version=\"2.0\"><channel><title>T</title>");
    doc_add(doc, cap, &len, "<item><guid isPermaLink=\"false\">%s</guid></item>", g1024);
    doc_add(doc, cap, &len, "<item><guid isPermaLink=\"false\">%s</guid></item>", g1025);
    doc_add(doc, cap, &len, "<item><link>%s</link></item>", l2000);
    doc_add(doc, cap, &len, "</channel></rss>");
    /* Twice, split differently: the same keys (a later poll finds the same items). */
    for (int how = SPLIT_WHOLE; how <= SPLIT_SEVEN; how += 2) {
        res = parse_split(doc, len, NULL, NULL, (enum split)how, 0);
        assert_int_equal(res.r, 0);
        assert_int_equal(res.doc->n_items, 3);
        assert_string_equal(res.doc->items[0].key, g1024);
        assert_string_equal(res.doc->items[1].key, "sha256:66fe0c847a29ef060ea49fef22140a713e51"
                                                   "c0df34229ae3954baa4d9782cb7b");
        assert_string_equal(res.doc->items[1].id, g1025); /* the id itself is unchanged */
        assert_string_equal(res.doc->items[2].key, "sha256:febf7bd97086632c690a81db8ec34e079b21"
                                                   "26f6033fa005f78f7ef3083255ec");
        result_done(&res);
    }
    free(doc);
    free(g1024);
    free(g1025);
    free(l2000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feedparse_fixtures),
        cmocka_unit_test(test_feedparse_billion_laughs),
        cmocka_unit_test(test_feedparse_quadratic_blowup),
        cmocka_unit_test(test_feedparse_small_entity_declarations_pass),
        cmocka_unit_test(test_feedparse_external_entity),
        cmocka_unit_test(test_feedparse_depth_limit),
        cmocka_unit_test(test_feedparse_text_limit),
        cmocka_unit_test(test_feedparse_not_a_feed),
        cmocka_unit_test(test_feedparse_gzip),
        cmocka_unit_test(test_feedparse_gzip_bomb),
        cmocka_unit_test(test_feedparse_refresh_hints),
        cmocka_unit_test(test_feedparse_html_wrapper),
        cmocka_unit_test(test_feedparse_max_items),
        cmocka_unit_test(test_feedparse_keys),
        cmocka_unit_test(test_feedparse_link_fallback),
        cmocka_unit_test(test_feedparse_leading_bytes),
        cmocka_unit_test(test_feedparse_utf16),
        cmocka_unit_test(test_feedparse_control_chars),
        cmocka_unit_test(test_feedparse_text_sections),
        cmocka_unit_test(test_feedparse_text_sections_bounded),
        cmocka_unit_test(test_feedparse_buffer_api),
        cmocka_unit_test(test_feedparse_bytes_held),
        cmocka_unit_test(test_feedparse_charset_precedence),
        cmocka_unit_test(test_feedparse_undeclared_latin1_items),
        cmocka_unit_test(test_feedparse_utf16_bom),
        cmocka_unit_test(test_feedparse_html_entities),
        cmocka_unit_test(test_feedparse_huge_attribute),
        cmocka_unit_test(test_feedparse_garbage_after_root),
        cmocka_unit_test(test_feedparse_text_block_edges),
        cmocka_unit_test(test_feedparse_dublin_core_fallbacks),
        cmocka_unit_test(test_feedparse_atom_text_types),
        cmocka_unit_test(test_feedparse_base64),
        cmocka_unit_test(test_feedparse_atom_namespaces),
        cmocka_unit_test(test_feedparse_atom_in_rss),
        cmocka_unit_test(test_feedparse_rss_content_elements),
        cmocka_unit_test(test_feedparse_rdf_about_id),
        cmocka_unit_test(test_feedparse_fallback_id_not_key),
        cmocka_unit_test(test_feedparse_text_construct_unknown_type),
        cmocka_unit_test(test_feedparse_language_tags),
        cmocka_unit_test(test_feedparse_real_feeds),
        cmocka_unit_test(test_feedparse_attribute_count),
        cmocka_unit_test(test_feedparse_namespace_scope),
        cmocka_unit_test(test_feedparse_many_attributes_linear),
        cmocka_unit_test(test_feedparse_long_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
