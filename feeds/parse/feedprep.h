/*
 * feedprep.h — the byte stage in front of the XML and JSON parsers: sniffs what the
 * document is and which encoding it is in, turns it into valid UTF-8, and (for XML) repairs
 * what libxml2's recovery would lose and bounds the size of markup.
 *
 * Encoding precedence (documented in feedparse.h): byte order mark, then the encoding of the
 * XML declaration, then the HTTP charset given with feedprep_init, then UTF-8. Whatever the
 * source encoding, the output is UTF-8: iconv converts (invalid input becomes U+FFFD), and
 * UTF-8 input with invalid bytes has each such byte read as windows-1252, which is what an
 * undeclared or mislabelled Latin-1 feed means. For XML the output is also filtered: a bare
 * '&' becomes "&amp;", an HTML named entity becomes a character reference, and a start tag,
 * declaration, comment or processing instruction longer than the limit is an error. A
 * document that starts with the gzip magic (1f 8b) is inflated first (zlib, gzip members
 * one after the other), up to max_size bytes.
 *
 * State crosses pushes, so the output does not depend on how the input was split. Owned by
 * one struct feedparse; no globals; any thread, one at a time.
 */
#ifndef FEEDWATCH_FEEDPREP_H
#define FEEDWATCH_FEEDPREP_H

#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>

#define FEEDPREP_HEAD_MAX 1024 /* bytes held to read the XML declaration */
#define FEEDPREP_AMP_MAX 40    /* longest "&name;" the '&' repair looks at */
#define FEEDPREP_CHARSET_MAX 64
/*
 * libxml2 2.9 checks each attribute of a start tag against all the ones before it, and
 * looks a prefix up through every namespace declaration in scope: both cost quadratic time
 * that a hostile feed controls (80k attributes in one tag: 10 s). The real feeds of the
 * corpus have at most 11 attributes on a tag and 10 declarations in scope.
 */
#define FEEDPREP_MAX_ATTRS 256    /* attributes of one start tag */
#define FEEDPREP_MAX_NS_SCOPE 256 /* namespace declarations in scope at once */

enum feedprep_kind {
    FEEDPREP_UNDECIDED = 0,
    FEEDPREP_XML,
    FEEDPREP_JSON,
};

/* Why feedprep_push or feedprep_finish failed. */
enum feedprep_error {
    FEEDPREP_OK = 0,
    FEEDPREP_ERR_GZIP,    /* -EPROTO: gzip magic */
    FEEDPREP_ERR_EMPTY,   /* -EPROTO: nothing but whitespace */
    FEEDPREP_ERR_TAG,     /* -EMSGSIZE: a tag or declaration longer than max_tag */
    FEEDPREP_ERR_COMMENT, /* -EMSGSIZE: a comment or processing instruction longer than max_text */
    FEEDPREP_ERR_SINK,    /* the output callback failed: its code is returned */
    FEEDPREP_ERR_NOMEM,   /* -ENOMEM */
    FEEDPREP_ERR_GZIP_SIZE, /* -EMSGSIZE: the inflated document is larger than max_size */
    FEEDPREP_ERR_GZIP_DATA, /* -EPROTO: corrupt or truncated gzip data (see gz_msg) */
    FEEDPREP_ERR_ATTRS, /* -EMSGSIZE: a start tag with more than FEEDPREP_MAX_ATTRS attributes */
    FEEDPREP_ERR_NS,    /* -EMSGSIZE: more than FEEDPREP_MAX_NS_SCOPE namespaces in scope */
};

#define FEEDPREP_DEFAULT_MAX_SIZE (16u << 20) /* inflated bytes of a raw gzip document */

struct z_stream_s;

/* Receives UTF-8 output; returns 0 or a negative errno (which stops the stage). */
typedef int (*feedprep_out_cb)(void *ctx, const char *buf, size_t len);

struct feedprep {
    feedprep_out_cb out;
    void *out_ctx;
    size_t max_tag;
    size_t max_text;
    char http_charset[FEEDPREP_CHARSET_MAX];

    enum feedprep_kind kind;
    enum feedprep_error error;
    char encoding[FEEDPREP_CHARSET_MAX]; /* what the input was read as, for messages */
    bool decided;
    bool bom_seen;
    unsigned char head[FEEDPREP_HEAD_MAX];
    size_t head_len;

    /* Decoding. */
    bool use_iconv;
    iconv_t cd;
    unsigned char pend[8]; /* an incomplete input sequence held for the next push */
    size_t pend_len;
    size_t n_invalid;     /* input bytes that were not valid in their encoding */
    bool unknown_charset; /* the declared charset is unknown: read as UTF-8 */

    /* Markup filter (XML only). */
    int state;
    char quote;
    size_t match;
    size_t bracket;
    size_t markup_len;
    char amp[FEEDPREP_AMP_MAX + 2];
    size_t amp_len;
    bool amp_in_attr;
    size_t n_repairs;  /* bare '&' rewritten */
    bool root_seen;    /* a tag was read: text from here on is inside the document */
    bool cdata_open;   /* the filter opened a CDATA section for the text being read */
    bool cdata_reopen; /* ... which ended with the last output block: the next reopens it */
    bool dtd_subset;   /* a DOCTYPE with an internal subset: no CDATA sections (see filter) */

    /*
     * Attribute and namespace bounds (see FEEDPREP_MAX_ATTRS). An element is counted by its
     * tags, as libxml2 pops one element per end tag whatever its name; the elements that
     * declare namespaces are kept with their depth, so at most FEEDPREP_MAX_NS_SCOPE.
     */
    bool tag_end;           /* the tag being read is an end tag */
    bool tag_slash;         /* the last byte of the tag read outside quotes is '/' */
    unsigned char an_state; /* where in "name = 'value'" the tag is (see attr_scan) */
    unsigned char an_match; /* leading bytes of the name that match "xmlns:" */
    size_t an_len;          /* bytes of the name (counted up to 7) */
    bool an_ns;             /* the last name read declares a namespace */
    size_t tag_attrs;       /* attributes (quoted values) of the tag being read */
    size_t tag_ns;          /* namespace declarations among them */
    size_t depth;           /* open elements */
    size_t ns_scope;        /* namespace declarations in scope */
    size_t ns_top;
    struct {
        size_t depth;
        size_t n;
    } ns_stack[FEEDPREP_MAX_NS_SCOPE];

    /*
     * Raw gzip (magic 1f 8b at the very start, a server that compressed without saying so):
     * inflated in front of everything else, at most max_size bytes.
     */
    int gz;                    /* 0 undecided, 1 not gzip, 2 gzip */
    unsigned char gz_magic[2]; /* first bytes (of a member) held until the magic is decided */
    size_t gz_magic_len;
    struct z_stream_s *zs;
    bool gz_between;   /* a member ended: another may follow */
    bool gz_end;       /* the data after the last member is ignored */
    bool gz_truncated; /* the compressed data was cut short (after some output) */
    size_t gz_out;     /* bytes inflated so far */
    size_t max_size;
    char gz_msg[96]; /* zlib's reason for FEEDPREP_ERR_GZIP_DATA */

    /* Output block. */
    char *obuf;
    size_t olen;
};

/* Prepares the stage. http_charset may be NULL. 0 or -ENOMEM. */
int feedprep_init(struct feedprep *pp, size_t max_tag, size_t max_text, const char *http_charset,
                  feedprep_out_cb out, void *out_ctx);

/* Sets the HTTP charset (before the first push); -EINVAL when too long or after the start. */
int feedprep_set_charset(struct feedprep *pp, const char *charset);

/*
 * Sets the most bytes a raw gzip document may inflate to (0: the default,
 * FEEDPREP_DEFAULT_MAX_SIZE); before the first push, else -EINVAL.
 */
int feedprep_set_max_size(struct feedprep *pp, size_t max);

/* Runs len more input bytes through the stage. 0 or a negative errno (see pp->error). */
int feedprep_push(struct feedprep *pp, const char *buf, size_t len);

/* Ends the input: decides on what is held, flushes partial sequences. 0 or a negative errno. */
int feedprep_finish(struct feedprep *pp);

/* Releases what the stage holds (not the struct). */
void feedprep_done(struct feedprep *pp);

#endif
