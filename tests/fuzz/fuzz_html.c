/*
 * fuzz_html.c — HTML to text, article extraction and the content stage under arbitrary bytes.
 *
 * The input, cut at 512 KB, is a page and an item's markup at once: article_is_page and
 * article_extract (charset from the page, or UTF-8 when the first byte is odd) read it as a
 * page, html_to_text reads it as a fragment, and content_clean_items cleans two items whose
 * content and summary it is, with a fresh boilerplate model, then takes the page's article
 * (content_apply_article). Oracles (article.h, html.h, content.h): the results are 0, -ENOMEM
 * or -EMSGSIZE; an article's text is never NULL and every string of an article is valid UTF-8
 * whatever the bytes; from UTF-8 input (what the feed parser hands on) every string is UTF-8;
 * an article's strings hold no control characters but newline and tab; a cleaned item has a
 * signature only when it has text.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "text/article.h"
#include "text/boilerplate.h"
#include "text/content.h"
#include "fuzz.h"
#include "text/html.h"

#define HTML_FUZZ_MAX (512u * 1024)

static bool
no_controls(const char *s)
{
    if (!s)
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 && *p != '\n' && *p != '\t')
            return false;
    return true;
}

static void
article_check(const struct article *a)
{
    assert(a && a->text);
    assert(fuzz_utf8_ok(a->title) && fuzz_utf8_ok(a->author) && fuzz_utf8_ok(a->published));
    assert(fuzz_utf8_ok(a->language) && fuzz_utf8_ok(a->text));
    assert(no_controls(a->title) && no_controls(a->author) && no_controls(a->published));
    assert(no_controls(a->language));
}

/* Runs the code under test on one input; always returns 0 (libFuzzer's convention). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct article *art = NULL;
    char *text = NULL, *html;
    int r;

    if (!ready) {
        xmlInitParser();
        ready = true;
    }
    if (size > HTML_FUZZ_MAX)
        size = HTML_FUZZ_MAX;
    html = malloc(size + 1);
    if (!html)
        return 0;
    memcpy(html, data, size);
    html[size] = '\0';

    (void)article_is_page(html, size);
    r = article_extract(html, size, size > 0 && (data[0] & 1) ? "UTF-8" : NULL, &art);
    assert(r == 0 || r == -ENOMEM || r == -EMSGSIZE);
    if (r == 0)
        article_check(art);

    /* Item markup comes from the feed parser, always UTF-8: the oracle holds for such input. */
    bool utf8_in = memchr(html, '\0', size) == NULL && fuzz_utf8_ok(html);
    r = html_to_text(html, size, &text);
    assert(r == 0 || r == -ENOMEM || r == -EMSGSIZE);
    if (r == 0)
        assert(text && (!utf8_in || fuzz_utf8_ok(text)));
    free(text);

    /* The content stage takes NUL-terminated markup: the input up to its first NUL. */
    struct feed_item items[2] = {
        {.key = "a", .title = strdup("first"), .content = html},
        {.key = "b", .summary = html},
    };
    struct content_item ci[2] = {{.item = &items[0]}, {.item = &items[1]}};
    struct boilerplate_model *model = boilerplate_model_new();
    if (model) {
        r = content_clean_items(ci, 2, model);
        assert(r == 0 || r == -ENOMEM);
        for (size_t i = 0; r == 0 && i < 2; i++) {
            assert(!utf8_in || (fuzz_utf8_ok(ci[i].text) && fuzz_utf8_ok(items[i].language)));
            assert(ci[i].text || ci[i].simhash == 0);
        }
        if (r == 0 && art) {
            r = content_apply_article(&ci[0], art);
            assert(r == 0 || r == -ENOMEM);
            assert(!utf8_in || (fuzz_utf8_ok(ci[0].text) && fuzz_utf8_ok(items[0].title)));
        }
        content_items_done(ci, 2);
        boilerplate_model_free(model);
    }
    /* The items' own strings (content_apply_article may have filled some from the page). */
    for (size_t i = 0; i < 2; i++) {
        free(items[i].title);
        free(items[i].author);
        free(items[i].language);
    }
    article_free(art);
    free(html);
    return 0;
}
