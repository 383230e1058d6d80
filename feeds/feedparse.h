/*
 * feedparse.h — streaming feed parser: new / push(buf, len) / finish / free.
 *
 * Bytes are pushed as they arrive (any split, down to one byte at a time) into a libxml2
 * SAX2 push parser; the result does not depend on how the input was split. The format is
 * sniffed from the content (root element and namespace). The parser never loads a DTD or an
 * external entity, never touches the network, and bounds depth, text sizes and item count.
 * A struct feedparse is used from one thread at a time; it holds no globals.
 *
 * Errors: push and finish return 0 or a negative errno: -EPROTO (not a feed / fatal XML
 * error), -EMSGSIZE (a limit was hit), -ENOMEM. After an error, the reason is in
 * feedparse_error() and further pushes return the same error.
 */
#ifndef FEEDWATCH_FEEDPARSE_H
#define FEEDWATCH_FEEDPARSE_H

#include <stddef.h>

#include "feed.h"

struct feedparse_limits {
    size_t max_depth;     /* element nesting; default 256 */
    size_t max_text;      /* one text value (title, content ...); default 4 MiB */
    size_t max_items;     /* items kept per document; default 10000 */
};

struct feedparse;

/*
 * Creates a parser. base_url (borrowed, may be NULL) is the document's URL after redirects,
 * used to resolve relative links. limits may be NULL for the defaults. NULL on OOM.
 */
struct feedparse *feedparse_new(const char *base_url, const struct feedparse_limits *limits);

/* Pushes the next bytes of the document. */
int feedparse_push(struct feedparse *p, const char *buf, size_t len);

/*
 * Ends the document. On success hands the parsed document to *ret_doc (caller frees with
 * feed_doc_free). A truncated or malformed document that still yielded a feed root returns 0
 * with doc->recovered set and the complete items kept.
 */
int feedparse_finish(struct feedparse *p, struct feed_doc **ret_doc);

/* Human-readable reason of the last error ("line 12: ..."), or NULL. Owned by the parser. */
const char *feedparse_error(const struct feedparse *p);

/* Releases the parser; accepts NULL. */
void feedparse_free(struct feedparse *p);

/* Convenience for tests and the offline tools: parses a whole buffer. */
int feedparse_buffer(const char *buf, size_t len, const char *base_url,
                     struct feed_doc **ret_doc, char **reterr_msg);

#endif
