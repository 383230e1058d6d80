/* Unit tests for feeds/html.c: HTML to plain text, and the fragment fast path against libxml2. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "parse/feedparse.h"
#include "text/html.h"

static char *
text_of(const char *html)
{
    char *text = NULL;
    assert_int_equal(html_to_text(html, strlen(html), &text), 0);
    assert_non_null(text);
    return text;
}

static void
expect_text(const char *html, const char *want)
{
    char *got = text_of(html);
    if (strcmp(got, want) != 0)
        fail_msg("html_to_text(%s)\n got: [%s]\nwant: [%s]", html, got, want);
    free(got);
}

/* No C0 (other than LF), DEL or C1 control characters, no '<' tags. */
static void
assert_clean(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        assert_false(*p < 0x20 && *p != '\n');
        assert_false(*p == 0x7f);
        if (p[0] == 0xc2)
            assert_false(p[1] >= 0x80 && p[1] < 0xa0);
    }
}

static void
test_html_paragraphs_and_inline(void **state)
{
    (void)state;
    expect_text("<p>One <b>bold</b> <i>word</i>.</p><p>Two</p>", "One bold word.\n\nTwo");
    expect_text("<div>a<p>b</p>c</div>", "a\n\nb\n\nc");
    expect_text("plain <span>text</span> only", "plain text only");
    expect_text("<h2>Heading</h2><p>Body text.</p>", "Heading\n\nBody text.");
    expect_text("", "");
    expect_text("<p>   </p>", "");
}

static void
test_html_nested_lists(void **state)
{
    (void)state;
    expect_text("<p>Intro</p><ul><li>one</li><li>two<ul><li>two a</li><li>two b</li></ul></li>"
                "<li>three</li></ul><p>After</p>",
                "Intro\n\none\ntwo\n\ntwo a\ntwo b\n\nthree\n\nAfter");
    expect_text("<ol><li>first</li><li>second</li></ol>", "first\nsecond");
    expect_text("<dl><dt>term</dt><dd>meaning</dd></dl>", "term\nmeaning");
}

static void
test_html_tables(void **state)
{
    (void)state;
    expect_text("<table><tr><th>Name</th><th>Age</th></tr><tr><td>Ann</td><td>31</td></tr>"
                "</table>",
                "Name | Age\nAnn | 31");
    expect_text("<table><tr><td><p>cell para</p></td></tr></table><p>x</p>", "cell para\n\nx");
}

static void
test_html_br_runs(void **state)
{
    (void)state;
    expect_text("<p>line one<br>line two</p>", "line one\nline two");
    expect_text("<p>para one<br><br><br>para two</p>", "para one\n\npara two");
    expect_text("<p>trailing<br><br></p><p>next</p>", "trailing\n\nnext");
    expect_text("<br><br>start", "start");
}

static void
test_html_entities_and_whitespace(void **state)
{
    (void)state;
    expect_text("<p>caf&eacute; &amp; cr&#232;me &#x2014; &lt;tag&gt; &quot;q&quot;</p>",
                "café & crème — <tag> \"q\"");
    expect_text("<p>  a\t\tb\n\n c&nbsp;&nbsp;d\xc2\xa0 </p>", "a b c d");
    expect_text("<p>zero&#8203;width soft&shy;hyphen</p>", "zerowidth softhyphen");
    expect_text("<pre>keep\n  lines</pre>", "keep\n  lines");
}

static void
test_html_scripts_and_hidden(void **state)
{
    (void)state;
    expect_text("<p>before<script>var x = '<p>no</p>';</script> after</p>", "before after");
    expect_text("<style>p{}</style><p>text</p><noscript>enable js</noscript>", "text");
    expect_text("<p>a<iframe src='x'>frame</iframe>b</p>", "ab");
    expect_text("<form><input value='x'><p>form text</p></form><p>kept</p>", "kept");
    expect_text("<p hidden>h1</p><p aria-hidden=\"true\">h2</p><p style=\"color:red; display: "
                "none\">h3</p><p style='visibility:hidden'>h4</p><p>shown</p>",
                "shown");
    expect_text("<p>pixel<img src='t.gif' width=1 height=1> here</p>", "pixel here");
    expect_text("<p>x<button>Click</button><select><option>o</option></select>y</p>", "xy");
}

static void
test_html_malformed(void **state)
{
    (void)state;
    expect_text("<p>one<p>two<div>three</div>four", "one\n\ntwo\n\nthree\n\nfour");
    expect_text("<ul><li>a<li>b</ul><td>loose cell", "a\nb\n\nloose cell");
    expect_text("<b><i>bad</b> nesting</i> ok", "bad nesting ok");
    expect_text("<p>unclosed <a href='x'>link", "unclosed link");
    expect_text("</div></p>stray closers", "stray closers");
    expect_text("<p>a <!-- comment --> b</p>", "a b");
}

static void
test_html_no_control_chars(void **state)
{
    (void)state;
    char *t = text_of("<p>bell\x07 tab\there esc\x1b[31m red &#1; &#x7f; &#x85; "
                      "\xc2\x9b c1</p><p>\x01\x02</p>");
    assert_clean(t);
    assert_null(strchr(t, '<'));
    assert_string_equal(t, "bell tab here esc[31m red c1");
    free(t);
}

static void
test_html_limits(void **state)
{
    (void)state;
    /* deep nesting: capped, no crash, text before the cap kept */
    size_t depth = 20000;
    size_t len = depth * 11 + 64;
    char *html = malloc(len), *p = html, *text = NULL;
    assert_non_null(html);
    p += sprintf(p, "<p>top</p>");
    for (size_t i = 0; i < depth; i++)
        p += sprintf(p, "<div>");
    p += sprintf(p, "deep");
    assert_int_equal(html_to_text(html, (size_t)(p - html), &text), 0);
    assert_non_null(strstr(text, "top"));
    free(text);
    free(html);

    /* over the input cap */
    assert_int_equal(html_to_text("x", HTML_MAX_INPUT + 1u, &text), -EMSGSIZE);

    /* NUL bytes in the input do not end the document */
    static const char nul[] = "<p>before\0after</p><p>second</p>";
    assert_int_equal(html_to_text(nul, sizeof(nul) - 1, &text), 0);
    assert_string_equal(text, "beforeafter\n\nsecond");
    free(text);
}

static void
test_html_blocks_carry_evidence(void **state)
{
    (void)state;
    static const char html[] =
        "<div class='share-bar'><a href='x'>Share</a></div>"
        "<figure><img src='a.jpg'><figcaption>A caption</figcaption></figure>"
        "<p>Text with <a href='y'>a link</a>.</p><h3>Sub</h3>";
    struct html_blocks b = {0};
    xmlDoc *doc = NULL;

    assert_int_equal(html_parse(html, sizeof(html) - 1, "UTF-8", &doc), 0);
    assert_int_equal(html_blocks_collect((xmlNode *)doc, 0, NULL, NULL, &b), 0);
    assert_int_equal(b.n, 4);
    assert_true(b.v[0].flags & HTML_EV_SHARE);
    assert_int_equal(b.v[0].link_chars, b.v[0].chars);
    assert_true(b.v[1].flags & HTML_BLOCK_CAPTION);
    assert_int_equal(b.v[2].link_chars, 5);
    assert_int_equal(b.v[3].heading, 3);
    html_blocks_done(&b);
    xmlFreeDoc(doc);
}

static void
test_html_post_taxonomy_is_not_evidence(void **state)
{
    (void)state;
    /* a blog post's wrapper lists its categories and tags: they do not name the box */
    static const char html[] =
        "<article class='post-12 post type-post status-publish hentry category-newsletter "
        "tag-social' id='post-12'><p>Prices rise in January.</p></article>"
        "<div class='newsletter-signup category-list'><p>Sign up</p></div>"
        "<div class='Tag-Cloud'><p>Tags</p></div>";
    struct html_blocks b = {0};
    xmlDoc *doc = NULL;
    char buf[256];

    assert_int_equal(html_parse(html, sizeof(html) - 1, "UTF-8", &doc), 0);
    assert_int_equal(html_blocks_collect((xmlNode *)doc, 0, NULL, NULL, &b), 0);
    assert_int_equal(b.n, 3);
    assert_false(b.v[0].flags & (HTML_EV_SHARE | HTML_EV_TAGS));
    assert_true(b.v[0].flags & HTML_EV_POSITIVE);
    /* outside a post wrapper the same words still count */
    assert_true(b.v[1].flags & HTML_EV_SHARE);
    assert_true(b.v[1].flags & HTML_EV_TAGS);

    const xmlNode *article = b.v[0].elem->parent;
    size_t n = html_class_words(article, buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "post-12 post type-post status-publish hentry post-12 ");
    assert_int_equal(html_class_words(b.v[2].elem->parent, buf, sizeof(buf)), 10);
    assert_string_equal(buf, "tag-cloud ");
    /* a tiny buffer stays NUL-terminated */
    assert_true(html_class_words(article, buf, 8) < 8);
    assert_true(strlen(buf) < 8);
    html_blocks_done(&b);
    xmlFreeDoc(doc);
}

/* ---- html_fragment_blocks() against html_parse() + html_blocks_collect() ---- */

#define ITEM_WALK (HTML_WALK_DROP_FORMS | HTML_WALK_DROP_LEAD_TIME)

/* The libxml2 route, elem cleared as the daemon's caller does. */
static void
reference_blocks(const char *html, size_t len, unsigned flags, struct html_blocks *b)
{
    xmlDoc *doc = NULL;

    assert_int_equal(html_parse(html, len, "UTF-8", &doc), 0);
    if (doc) {
        assert_int_equal(html_blocks_collect((const xmlNode *)doc, flags, NULL, NULL, b), 0);
        xmlFreeDoc(doc);
    }
    for (size_t i = 0; i < b->n; i++)
        b->v[i].elem = NULL;
}

/*
 * Both routes over one fragment (with two blocks already in the list, so that appending and
 * list groups are compared too); fails on any field that differs. Returns whether the
 * fragment took the fast path.
 */
static bool
compare_routes(const char *html, size_t len, unsigned flags, const char *what)
{
    static const char pre[] = "<ul><li>seed one</li><li>seed two</li></ul>";
    struct html_blocks want = {0}, got = {0};

    reference_blocks(pre, sizeof(pre) - 1, flags, &want);
    assert_int_equal(html_fragment_blocks(pre, sizeof(pre) - 1, flags, &got), 0);
    reference_blocks(html, len, flags, &want);
    assert_int_equal(html_fragment_blocks(html, len, flags, &got), 0);
    bool simple = html_fragment_is_simple(html, len);
    if (want.n != got.n)
        fail_msg("%s (flags %u, %s): %zu blocks, libxml2 %zu\n[%.*s]", what, flags,
                 simple ? "fast" : "fallback", got.n, want.n, (int)(len < 400 ? len : 400), html);
    for (size_t i = 0; i < want.n; i++) {
        const struct html_block *a = &want.v[i], *b = &got.v[i];
        if (a->len != b->len || strcmp(a->text, b->text) != 0 || a->chars != b->chars ||
            a->link_chars != b->link_chars || a->flags != b->flags || a->group != b->group ||
            a->heading != b->heading || b->elem != NULL)
            fail_msg("%s (flags %u, %s) block %zu differs:\n got [%s] chars %u links %u flags "
                     "%#x group %u heading %u\nwant [%s] chars %u links %u flags %#x group %u "
                     "heading %u\ninput [%.*s]",
                     what, flags, simple ? "fast" : "fallback", i, b->text, b->chars, b->link_chars,
                     b->flags, b->group, b->heading, a->text, a->chars, a->link_chars, a->flags,
                     a->group, a->heading, (int)(len < 600 ? len : 600), html);
    }
    assert_int_equal(want.text_bytes, got.text_bytes);
    html_blocks_done(&want);
    html_blocks_done(&got);
    return simple;
}

/* compare_routes() under the item walk, the html_to_text walk and no flags. */
static bool
compare_all_flags(const char *html, size_t len, const char *what)
{
    bool simple = compare_routes(html, len, ITEM_WALK, what);
    (void)compare_routes(html, len, HTML_WALK_DROP_FORMS, what);
    (void)compare_routes(html, len, 0, what);
    return simple;
}

struct fragment_case {
    const char *html;
    int simple; /* 1: must take the fast path, 0: must fall back */
};

static const struct fragment_case fragment_cases[] = {
    {"<p>One <b>bold</b> <i>word</i>.</p><p>Two</p>", 1},
    {"plain <span>text</span> only", 1},
    {"Intro text<p>para</p>tail <em>words</em>", 1},
    {"<div>a<p>b</p>c</div>", 1},
    {"<p>x<img src='a.png'> <b>y</b></p>", 1},
    {"x<img src=\"a.png\"> <b>y</b>", 1},
    {"<p>A <strong><em>deeply <a href=\"/x\">nested <span>link</span></a></em></strong> "
     "text</p>",
     1},
    {"<p>caf&eacute; &amp; cr&#232;me &#x2014; &lt;tag&gt; &quot;q&quot; &apos;a&apos; "
     "&hellip;&euro;&copy;&#X41;</p>",
     1},
    {"<p>  a\t\tb\n\n c&nbsp;&nbsp;d\xc2\xa0 </p><p>&nbsp;</p><p>&#160;x&#xa0;</p>", 1},
    {"<p>zero&#8203;width soft&shy;hyphen&#65279;bom&#x85;c1&#127;del</p>", 1},
    {"<p>a & b, &&, &1, &=, &#, trailing &</p>", 0},
    {"<p>a & b, &&, &1, &=, (&) trailing &", 1},
    {"<p>line one<br>line two<br/>three<br />four</p>", 1},
    {"<p>para one<br><br><br>para two</p><p>trailing<br><br></p><br><br>start", 1},
    {"<p>a<br style='display:none'><br hidden>b</p>", 1},
    {"<p>shown <span hidden>h1</span><span aria-hidden=\"true\">h2</span>"
     "<span style=\"color:red; display: none\">h3</span><span style='visibility:hidden'>h4"
     "</span><span aria-hidden='false'>s</span></p>",
     1},
    {"<div hidden><p>gone <b>x</b></p><ul><li>y</li></ul></div><p>kept</p>", 1},
    {"<p><time datetime='2024'>May 1</time> Lead time dropped</p><p>Mid <time>May 2</time>"
     " kept</p><time>top</time>top text",
     1},
    {"<ul><li><a href='/1'>one</a></li><li><a href='/2'>two</a> and text</li>"
     "<li><a>no href</a></li></ul><ol><li>first</li><li>second<ul><li>inner</li></ul>after"
     "</li></ol>",
     1},
    {"<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>text in <ul>list <li>x</li> tail</ul>", 1},
    {"<figure><img src='a.jpg' alt='x'><figcaption>A <em>caption</em></figcaption></figure>"
     "<p>After figure</p>",
     1},
    {"<blockquote><p>Quoted</p>more quote</blockquote><h2>Head</h2><h6>Six</h6><hr><p>x</p>", 1},
    {"<div class='share-bar social'><a href='x'>Share</a></div><div class=\"related-posts\">"
     "<p>Rel</p></div><div id='comments' role='complementary'><p>C</p></div>"
     "<p class='byline' itemprop='author'>By A</p><a rel='author' href='/a'>Au</a>"
     "<div class='ad'><p>Ad</p></div><div class='head shadow'><p>No ad</p></div>",
     1},
    {"<article class='post-12 post type-post status-publish hentry category-newsletter "
     "tag-social' id='post-12'><p>Prices rise.</p></article><nav><p>n</p></nav><aside>as"
     "</aside><footer>f</footer><main><section><header>h</header></section></main>",
     1},
    {"<DIV CLASS='Share'><P>Upper case</P></DIV><p class = \"x\" id='y'>spaced</p>", 1},
    {"<p>\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80 \xd0\x9f\xd1\x80\xd0\xb8"
     "\xe2\x80\x8b\xe3\x80\x80ideographic</p>",
     1},
    {"   leading blanks <p>x</p>   ", 1},
    {"<p>unclosed <a href='x'>link", 1},
    {"<p>&amp;&#38;&#x26;</p>&nbsp;", 1},
    {"", 1},
    {"   \n  ", 1},
    {"<p>x<sup>2</sup> H<sub>2</sub>O <code>c</code> <q>q</q> <mark>m</mark> <abbr>A</abbr>"
     "</p>",
     1},
    /* fall back: markup libxml2 reshapes or that the tokenizer does not read */
    {"<p>one<p>two<div>three</div>four", 0},
    {"<ul><li>a<li>b</ul><td>loose cell", 0},
    {"<b><i>bad</b> nesting</i> ok", 0},
    {"</div></p>stray closers", 0},
    {"<p>a <!-- comment --> b</p>", 0},
    {"<p>before<script>var x = '<p>no</p>';</script> after</p>", 0},
    {"<style>p{}</style><p>text</p><noscript>enable js</noscript>", 0},
    {"<form><input value='x'><p>form text</p></form><p>kept</p>", 0},
    {"<table><tr><td>a</td><td>b</td></tr></table>", 0},
    {"<pre>keep\n  lines</pre>", 0},
    {"<p>a<div>b</div></p>", 0},
    {"<b>x<p>y</p></b>", 0},
    {"<a href='1'>x<a href='2'>y</a></a>", 0},
    {"<li>loose</li>", 0},
    {"<ul><p>x</p></ul>", 0},
    {"<p>unknown &foo; entity</p>", 0},
    {"<p>no semicolon &amp entity</p>", 0},
    {"<p>Q&A</p>", 0},
    {"<p>bad number &#0; &#xD800;</p>", 0},
    {"<p class=unquoted>x</p>", 0},
    {"<p class='a&amp;b'>x</p>", 0},
    {"<div/>after", 0},
    {"<p>bell\x07</p>", 0},
    {"<p>bad utf-8 \xc3\x28</p>", 0},
    {"<p>a < b</p>", 0},
    {"<custom-el>x</custom-el>", 0},
    {"<p>x</br></p>", 0},
    {"<dl><dt>t</dt><dd>d</dd></dl>", 0},
    {"<!DOCTYPE html><p>x</p>", 0},
};

static void
test_html_fragment_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(fragment_cases) / sizeof(fragment_cases[0]); i++) {
        const struct fragment_case *c = &fragment_cases[i];
        char what[32];
        (void)snprintf(what, sizeof(what), "case %zu", i);
        bool simple = compare_all_flags(c->html, strlen(c->html), what);
        if (simple != (c->simple == 1))
            fail_msg("case %zu: fast path %s, expected %s: [%s]", i, simple ? "taken" : "not taken",
                     c->simple ? "taken" : "not taken", c->html);
    }
    /* NUL bytes and the input cap go the libxml2 way */
    static const char nul[] = "<p>before\0after</p>";
    assert_false(compare_all_flags(nul, sizeof(nul) - 1, "nul"));
    struct html_blocks b = {0};
    assert_int_equal(html_fragment_blocks("x", HTML_MAX_INPUT + 1u, ITEM_WALK, &b), -EMSGSIZE);
    assert_int_equal(b.n, 0);
}

static void
test_html_fragment_generated(void **state)
{
    /* every combination of a few pieces, nested two deep: the fast path and libxml2 agree */
    static const char *const open_tags[] = {
        "<p>",           "<div class='x'>", "<ul><li>", "<blockquote>", "<figure>", "<h3>",
        "<span hidden>", "<a href='#'>",    "<em>",     "<li>",         "<time>",   "<figcaption>",
    };
    static const char *const close_tags[] = {
        "</p>",    "</div>", "</li></ul>", "</blockquote>", "</figure>", "</h3>",
        "</span>", "</a>",   "</em>",      "</li>",         "</time>",   "</figcaption>",
    };
    static const char *const texts[] = {"", " ", "word", " two words ", "&nbsp;", "<br>"};
    const size_t nt = sizeof(open_tags) / sizeof(open_tags[0]);
    size_t fast = 0, total = 0;
    char html[512];

    (void)state;
    for (size_t a = 0; a < nt; a++)
        for (size_t b = 0; b < nt; b++)
            for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
                int n = snprintf(html, sizeof(html), "%s%s%s%s%s%s%s tail", texts[t], open_tags[a],
                                 texts[t], open_tags[b], "inner", close_tags[b], close_tags[a]);
                assert_true(n > 0 && (size_t)n < sizeof(html));
                fast += compare_all_flags(html, (size_t)n, "generated");
                total++;
            }
    print_message("generated fragments %zu, fast path %zu\n", total, fast);
    assert_true(fast > total / 3);
}

static char *
slurp(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *data = malloc(cap);
    size_t got;
    while (data && (got = fread(data + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *n = realloc(data, cap * 2);
            if (!n) {
                free(data);
                data = NULL;
                break;
            }
            data = n;
            cap *= 2;
        }
    }
    (void)fclose(f);
    *ret_len = len;
    return data;
}

static void
test_html_fragment_seeds(void **state)
{
    DIR *d = opendir(FW_FIXTURES "/html");
    struct dirent *de;
    size_t files = 0, fast = 0;

    (void)state;
    assert_non_null(d);
    while ((de = readdir(d))) {
        size_t nl = strlen(de->d_name);
        if (nl < 10 || strcmp(de->d_name + nl - 10, ".item.html") != 0)
            continue;
        char path[1024];
        size_t len = 0;
        (void)snprintf(path, sizeof(path), "%s/%s", FW_FIXTURES "/html", de->d_name);
        char *html = slurp(path, &len);
        assert_non_null(html);
        fast += compare_all_flags(html, len, de->d_name);
        free(html);
        files++;
    }
    closedir(d);
    print_message("seed items %zu, fast path %zu\n", files, fast);
    assert_true(files >= 5);
}

static void
test_html_fragment_real_feeds(void **state)
{
    DIR *d = opendir(FW_CORPUS "/feeds-real");
    struct dirent *de;
    size_t feeds = 0, fragments = 0, fast = 0;

    (void)state;
    if (!d)
        fail_msg("cannot open %s: %s", FW_CORPUS "/feeds-real", strerror(errno));
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char sub[1024];
        (void)snprintf(sub, sizeof(sub), "%s/%s", FW_CORPUS "/feeds-real", de->d_name);
        DIR *sd = opendir(sub);
        if (!sd)
            continue;
        struct dirent *se;
        while ((se = readdir(sd))) {
            if (se->d_name[0] == '.')
                continue;
            char path[2048];
            size_t len = 0;
            (void)snprintf(path, sizeof(path), "%s/%s", sub, se->d_name);
            char *data = slurp(path, &len);
            if (!data)
                continue;
            struct feed_doc *doc = NULL;
            char *err = NULL;
            int r = feedparse_buffer(data, len, NULL, &doc, &err);
            free(err);
            free(data);
            if (r < 0 || !doc)
                continue;
            feeds++;
            for (size_t i = 0; i < doc->n_items; i++) {
                const char *parts[2] = {doc->items[i].content, doc->items[i].summary};
                for (size_t k = 0; k < 2; k++) {
                    if (!parts[k])
                        continue;
                    fast += compare_routes(parts[k], strlen(parts[k]), ITEM_WALK, path);
                    fragments++;
                }
            }
            feed_doc_free(doc);
        }
        closedir(sd);
    }
    closedir(d);
    print_message("feeds-real: feeds %zu, item fragments %zu, fast path %zu\n", feeds, fragments,
                  fast);
    assert_true(fragments > 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_paragraphs_and_inline),
        cmocka_unit_test(test_html_nested_lists),
        cmocka_unit_test(test_html_tables),
        cmocka_unit_test(test_html_br_runs),
        cmocka_unit_test(test_html_entities_and_whitespace),
        cmocka_unit_test(test_html_scripts_and_hidden),
        cmocka_unit_test(test_html_malformed),
        cmocka_unit_test(test_html_no_control_chars),
        cmocka_unit_test(test_html_limits),
        cmocka_unit_test(test_html_blocks_carry_evidence),
        cmocka_unit_test(test_html_post_taxonomy_is_not_evidence),
        cmocka_unit_test(test_html_fragment_cases),
        cmocka_unit_test(test_html_fragment_generated),
        cmocka_unit_test(test_html_fragment_seeds),
        cmocka_unit_test(test_html_fragment_real_feeds),
    };
    xmlInitParser();
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return r;
}
