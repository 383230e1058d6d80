/*
 * input.h — the CLI's one way to read what its offline commands (parse, extract, match) are
 * given: a file, standard input ("-"), or a URL (http, https, file) through libcurl's easy
 * interface with the CLI's limits. The bytes are handed over in chunks as they come, so a
 * caller may stream them into a parser or keep them whole; the caller enforces its own cap
 * on what it keeps (for a URL, max_size also makes curl refuse a larger body early).
 *
 * Errors are negative errno values. A callback's negative return stops the reading and is
 * returned as it is (the callback keeps its own reason); the reader's own failures come with
 * *reterr_msg (malloc'ed; NULL on OOM), except -EMSGSIZE from max_size, whose reason (the
 * caller's limit) the caller gives. Blocking; single-threaded.
 */
#ifndef FEEDWATCH_INPUT_H
#define FEEDWATCH_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INPUT_URL_TIMEOUT_S 30
#define INPUT_MAX_REDIRECTS 5

/*
 * One chunk of the input. base_url is where the bytes come from (the URL after redirects, a
 * file's file:// URL, NULL for standard input or a path that cannot be resolved);
 * content_type is HTTP's (NULL when none). The first call comes before any byte is kept;
 * an empty input gives one call with len 0. 0, or a negative errno to stop.
 */
typedef int (*input_data_cb)(void *ctx, const char *base_url, const char *content_type,
                             const char *data, size_t len);

/* Whether source names a URL (http://, https://, file://) rather than a file. */
bool input_is_url(const char *source);

/* Reads the file at path ("-": standard input) to its end. */
int input_read_file(const char *path, input_data_cb on_data, void *ctx, char **reterr_msg);

/* Downloads url (redirects to http and https only), at most max_size bytes. */
int input_read_url(const char *url, uint64_t max_size, input_data_cb on_data, void *ctx,
                   char **reterr_msg);

#endif
