/*
 * lang.h — the language of a text from stopword profiles (en, nl, de, fr, es, pt, it, vi,
 * ru, pl, uk) and writing systems (zh, ja, ko, ar, el, he, th by script alone), and the
 * stopword density of a text in a given language (a signal boilerplate.c and extract.c use).
 *
 * Words are runs of letters and marks, lower-cased per code point; text is expected in NFC,
 * as the web writes it. Returned codes are static ISO 639-1 strings, never freed. Pure; any
 * thread; no allocation.
 */
#ifndef FEEDWATCH_LANG_H
#define FEEDWATCH_LANG_H

#include <stdbool.h>
#include <stddef.h>

#define LANG_SAMPLE_MAX (64u * 1024u) /* bytes of a text lang_detect() looks at */

/* ISO 639-1 code of the language of len bytes of UTF-8 text, or NULL when unsure. */
const char *lang_detect(const char *text, size_t len);

/* Whether lang_stopwords() has a list for this ISO 639-1 code (case-insensitive). */
bool lang_has_stopwords(const char *lang);

/*
 * Counts the words of len bytes of text and, of those, the stopwords of lang (an ISO 639-1
 * code; a region suffix as in "pt-BR" is ignored). With an unknown or NULL lang every
 * stopword of every list counts.
 */
void lang_stopwords(const char *text, size_t len, const char *lang, size_t *ret_words,
                    size_t *ret_stopwords);

#endif
