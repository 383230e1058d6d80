/*
 * article.h — the main text of a web page and its metadata (title, author, publication
 * date, language), readability-style: paragraphs are scored by text length, commas and link
 * density, scores flow to their ancestors weighted by tag and class/id evidence, the best
 * candidate and its worthy siblings are kept, link-heavy and negative boxes inside are
 * cleaned out, and boilerplate.c's block rules run over what is left.
 *
 * Metadata come from <meta property="og:…">, <meta name="author">, JSON-LD (NewsArticle and
 * kin), <time datetime>, <html lang>, with lang_detect() as the last resort for the language.
 * Pure: one call parses its own document and returns a struct article the caller
 * frees. Any thread, once the caller has run xmlInitParser().
 */
#ifndef FEEDWATCH_ARTICLE_H
#define FEEDWATCH_ARTICLE_H

#include <stdbool.h>
#include <stddef.h>

#define ARTICLE_MAX_JSONLD (1024u * 1024u) /* bytes of one JSON-LD script looked at */

/* What a page holds. Strings are malloc'ed UTF-8 without control characters, NULL if absent. */
struct article {
    char *title;
    char *author;
    char *published; /* RFC 3339 UTC */
    char *language;  /* ISO 639-1 */
    char *text;      /* the article: paragraphs separated by a blank line; never NULL */
};

/*
 * Extracts the article of a page of len bytes. encoding is the charset from HTTP or NULL
 * (the page's <meta>, else UTF-8). 0 with *ret_result, -EMSGSIZE over HTML_MAX_INPUT, -ENOMEM.
 */
int article_extract(const char *html, size_t len, const char *encoding,
                    struct article **ret_result);

/*
 * Whether len bytes of HTML are a whole page (a doctype, <html>, <head> or <body> near the
 * start) rather than a fragment such as a feed item's content.
 */
bool article_is_page(const char *html, size_t len);

/* Releases a result; accepts NULL. */
void article_free(struct article *result);

#endif
