/*
 * offline.h — the CLI's offline tools, thin wrappers over feeds/: `parse FILE|URL|-`.
 *
 * The source is streamed into feedparse in chunks, never held whole: a file, standard input
 * ("-"), or an http(s):// or file:// URL fetched with libcurl (at most 5 redirects, 30 s,
 * OFFLINE_MAX_INPUT bytes). Output goes to stdout. Errors are negative errno values with a
 * reason in *reterr_msg (without the source's name: the caller adds it). Single-threaded;
 * curl_global_init() must have been called.
 */
#ifndef FEEDWATCH_OFFLINE_H
#define FEEDWATCH_OFFLINE_H

#include <stdbool.h>

#define OFFLINE_MAX_INPUT (64u * 1024u * 1024u)

/*
 * Parses the feed at source and prints it as feedjson_doc: pretty (2-space indent) unless
 * compact, which prints one line. 0, or a negative errno with *reterr_msg set.
 */
int offline_parse(const char *source, bool compact, char **reterr_msg);

#endif
