/*
 * extract.h — the CLI's offline `extract FILE…|URL` tool, a thin wrapper over feeds/:
 * article_extract() for a whole page, boilerplate_clean() for an item's HTML fragment.
 *
 * Each source (a file, "-" for standard input, or an http(s):// or file:// URL fetched with
 * libcurl: at most 5 redirects, 30 s, HTML_MAX_INPUT bytes) is read whole and extracted in
 * turn, in one process. Human output is the text, paragraphs separated by blank lines, after
 * a "==> SOURCE <==" line when there are several sources; with json, one line per source:
 * {"file", "title", "author", "published", "language", "text"}. A source that fails is
 * reported on stderr and the others still run. Single-threaded; curl_global_init() first.
 */
#ifndef FEEDWATCH_CLI_EXTRACT_H
#define FEEDWATCH_CLI_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

/* Extracts every source and prints the results. Returns 0, or 1 if any source failed. */
int extract_run(const char *const *sources, size_t n_sources, bool json);

#endif
