/* Unit tests for feeds/html.c: HTML to plain text. */
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

#include "html.h"

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
    };
    xmlInitParser();
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return r;
}
