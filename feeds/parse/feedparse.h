/*
 * feedparse.h — streaming feed parser: new / push(buf, len) / finish / free.
 *
 * Bytes are pushed as they arrive (any split, down to one byte at a time) into a libxml2
 * SAX2 push parser; the result does not depend on how the input was split. The format is
 * sniffed from the content, never from a URL or a media type: RSS 0.90-0.94 and 2.0 (<rss>),
 * RSS 0.90 / 1.0 (<rdf:RDF>), Atom 1.0 and 0.3 (<feed>, also without its namespace, and an
 * Atom entry document), JSON Feed 1.0 / 1.1 (a document starting with '{', buffered up to
 * max_json and parsed at finish: jansson has no push parser). The parser never loads a DTD
 * or an external entity, never touches the network, and bounds depth, tag, text and JSON
 * sizes and the item count. One thread at a time per struct feedparse; no globals.
 *
 * Encoding, first match wins: a byte order mark; the encoding of the XML declaration; the
 * charset the transport announced (feedparse_set_charset); UTF-8. The document's own
 * statement wins over HTTP's (unlike RFC 7303 §3.2) because servers' default charsets
 * (Apache's AddDefaultCharset, "text/xml" meaning US-ASCII) are wrong far more often than
 * feeds' declarations. Any encoding iconv knows is read (ISO-8859-x, windows-125x, KOI8-R,
 * Shift_JIS, GB18030, Big5, UTF-16/32 with or without BOM...); invalid bytes become U+FFFD,
 * and in UTF-8 each invalid byte is read as windows-1252 (an undeclared Latin-1 feed). Such
 * a document parses, with doc->recovered set. Raw gzip bytes (magic 1f 8b at the very start:
 * a server that compressed the feed without a Content-Encoding) are inflated in the stream,
 * up to feedparse_set_max_size bytes; a gzip stream cut short keeps what was inflated (the
 * document is then recovered), corrupt gzip data is an -EPROTO error.
 *
 * Errors: push and finish return 0 or a negative errno: -EPROTO (not a feed / fatal XML
 * error, corrupt gzip), -EMSGSIZE (a limit was hit, such as "gzip: inflated document exceeds
 * N bytes"), -ENOMEM. After an error, the reason is in
 * feedparse_error() and further pushes return the same error.
 */
#ifndef FEEDWATCH_FEEDPARSE_H
#define FEEDWATCH_FEEDPARSE_H

#include <stddef.h>

#include "parse/feed.h"

struct feedparse_limits {
    size_t max_depth; /* element nesting; default 256 */
    size_t max_text;  /* one text value (title, content ...); default 4 MiB */
    size_t max_items; /* items kept per document; default 10000 */
    size_t max_tag;   /* one tag with its attributes, or a declaration; default 1 MiB */
    size_t max_json;  /* a JSON Feed document; default 16 MiB */
};

struct feedparse;

/*
 * Creates a parser. base_url (borrowed, may be NULL) is the document's URL after redirects,
 * used to resolve relative links. limits may be NULL for the defaults. NULL on OOM.
 */
struct feedparse *feedparse_new(const char *base_url, const struct feedparse_limits *limits);

/*
 * Sets the charset the transport announced (the charset parameter of HTTP's Content-Type,
 * NULL for none); it applies when the document has neither a byte order mark nor an
 * encoding in its XML declaration. Call before the first push: 0, or -EINVAL afterwards
 * or when the name is longer than 63 bytes.
 */
int feedparse_set_charset(struct feedparse *p, const char *charset);

/*
 * Sets the most bytes a raw gzip document may inflate to (the daemon's max_feed_size); 0
 * means the default, 16 MiB. Past it the parse ends with -EMSGSIZE. Call before the first
 * push: 0, or -EINVAL afterwards.
 */
int feedparse_set_max_size(struct feedparse *p, size_t max);

/* Pushes the next bytes of the document. */
int feedparse_push(struct feedparse *p, const char *buf, size_t len);

/*
 * Ends the document. On success hands the parsed document to *ret_doc (caller frees with
 * feed_doc_free). A truncated or malformed document that still yielded a feed root returns 0
 * with doc->recovered set and the complete items kept.
 */
int feedparse_finish(struct feedparse *p, struct feed_doc **ret_doc);

/*
 * Bytes the parser holds now and that grow with the document: the items read so far
 * (feed_item_bytes, with their array), the text being captured, the tag being read, a JSON
 * document's buffer and the input libxml2 has not parsed yet. Fixed-size state (about 10 KiB
 * and libxml2's context) and the item still open are not counted. O(1): meant to be asked
 * after every push.
 */
size_t feedparse_bytes(const struct feedparse *p);

/* Human-readable reason of the last error ("line 12: ..."), or NULL. Owned by the parser. */
const char *feedparse_error(const struct feedparse *p);

/* Releases the parser; accepts NULL. */
void feedparse_free(struct feedparse *p);

/* Convenience for tests and the offline tools: parses a whole buffer. */
int feedparse_buffer(const char *buf, size_t len, const char *base_url, struct feed_doc **ret_doc,
                     char **reterr_msg);

#endif
