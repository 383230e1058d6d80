/*
 * feedparse-internal.h — what feedparse.c shares with the per-format SAX handlers
 * (rss.c for <rss> and <rdf:RDF>, atom.c, jsonfeed.c). Not for use outside feeds/.
 *
 * feedparse.c owns the libxml2 push parser, the element stack (xml:base, xml:lang), text
 * capture and the item being built; a format only says, element by element, which texts it
 * wants and where they go. A format is a struct feedparse_format found by the root element:
 * to add one, write its handlers and add a row to the root table in feedparse.c.
 */
#ifndef FEEDWATCH_FEEDPARSE_INTERNAL_H
#define FEEDWATCH_FEEDPARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/feed.h"
#include "parse/feedparse.h"
#include "parse/feedtext.h"

/* Namespaces the handlers care about; anything else is FP_NS_OTHER. */
enum fp_ns {
    FP_NS_NONE = 0, /* no namespace (RSS 2.0 elements) */
    FP_NS_OTHER,
    FP_NS_ATOM,    /* http://www.w3.org/2005/Atom */
    FP_NS_ATOM03,  /* http://purl.org/atom/ns# */
    FP_NS_CONTENT, /* http://purl.org/rss/1.0/modules/content/ */
    FP_NS_DC,      /* http://purl.org/dc/elements/1.1/ */
    FP_NS_DCTERMS, /* http://purl.org/dc/terms/ */
    FP_NS_XHTML,   /* http://www.w3.org/1999/xhtml */
    FP_NS_RDF,     /* http://www.w3.org/1999/02/22-rdf-syntax-ns# */
    FP_NS_RSS10,   /* http://purl.org/rss/1.0/ */
    FP_NS_RSS11,   /* http://purl.org/net/rss1.1# */
    FP_NS_MEDIA,   /* http://search.yahoo.com/mrss/ */
    FP_NS_XML,     /* http://www.w3.org/XML/1998/namespace */
    FP_NS_RSS090,  /* http://my.netscape.com/rdf/simple/0.9/ */
    FP_NS_ITUNES,  /* http://www.itunes.com/dtds/podcast-1.0.dtd */
    FP_NS_SY,      /* http://purl.org/rss/1.0/modules/syndication/ */
};

/*
 * The element names the handlers compare (rss.c, atom.c, feedext.c), as ids: libxml2 hands
 * local names over from its dictionary, so feedparse.c interns these once per parser and finds an
 * element's id by pointer, and a handler compares an int instead of a string. FPN_OTHER is any
 * other name.
 */
enum fp_name {
    FPN_OTHER = 0,
    FPN_AUTHOR,
    FPN_BODY,
    FPN_CATEGORY,
    FPN_CHANNEL,
    FPN_CHANNEL11, /* RSS 1.1's root, <Channel> */
    FPN_CONTENT,
    FPN_CREATED,
    FPN_CREATOR,
    FPN_DATE,
    FPN_DESCRIPTION,
    FPN_DURATION,
    FPN_EMAIL,
    FPN_ENCLOSURE,
    FPN_ENCODED,
    FPN_ENTRY,
    FPN_FULLITEM,
    FPN_GUID,
    FPN_ID,
    FPN_IMAGE,
    FPN_ISSUED,
    FPN_ITEM,
    FPN_LANGUAGE,
    FPN_LASTBUILDDATE,
    FPN_LINK,
    FPN_MODIFIED,
    FPN_NAME,
    FPN_PUBDATE,
    FPN_PUBLISHED,
    FPN_PUBLISHER,
    FPN_SUBJECT,
    FPN_SUMMARY,
    FPN_THUMBNAIL,
    FPN_TITLE,
    FPN_TTL,
    FPN_UPDATEFREQUENCY,
    FPN_UPDATEPERIOD,
    FPN_UPDATED,
    FPN_COUNT,
};

/* How the text of a captured element is collected. */
enum fp_capture {
    FP_CAPTURE_NONE = 0,
    FP_CAPTURE_TEXT,  /* character data only; child elements contribute their text */
    FP_CAPTURE_HTML,  /* character data is HTML source; child elements are re-serialised */
    FP_CAPTURE_XHTML, /* XHTML children serialised as HTML, text escaped (Atom type="xhtml") */
    FP_CAPTURE_XML,   /* the same without the xhtml:div wrapper rule (xhtml:body,
                         type="image/svg+xml") */
};

/*
 * How the text of an Atom text construct (RFC 4287 §3.1, §4.1.3) is read, as its type (and
 * Atom 0.3's mode) says: captured how, cleaned as what, and whether it is base64 to decode
 * first. ignore: a type whose content is not text to show (an image in base64...).
 */
struct fp_text_type {
    enum fp_capture capture;
    enum feedtext_kind kind;
    bool base64;
    bool ignore;
};

struct fp_attr {
    const char *name; /* local name */
    enum fp_ns ns;
    const char *value; /* decoded, NUL-terminated */
};

/* One element as the handlers see it, at its start or its end. */
struct fp_elem {
    const char *name; /* local name */
    enum fp_ns ns;
    enum fp_name id;             /* the name as an id (FPN_OTHER when not one of enum fp_name) */
    size_t depth;                /* 1 for the root */
    const struct fp_attr *attrs; /* at start only */
    size_t n_attrs;
};

struct feedparse;

struct feedparse_format {
    enum feed_format format;
    /* The root element was recognised: set up the format state (zeroed before). */
    void (*init)(struct feedparse *p);
    /* An element starts (outside any capture). Returns 0 or a negative errno. */
    int (*start)(struct feedparse *p, const struct fp_elem *el);
    /*
     * An element ends. text is the captured text (NUL-terminated, len bytes) when the
     * handler asked for a capture at its start, else NULL.
     */
    int (*end)(struct feedparse *p, const struct fp_elem *el, const char *text, size_t len);
    /* The document ended; last checks and fix-ups on p->doc. */
    int (*finish)(struct feedparse *p);
};

extern const struct feedparse_format fp_format_rss;
extern const struct feedparse_format fp_format_rdf;
extern const struct feedparse_format fp_format_atom;

/* Extension elements of the open item (feedext.c), common to every XML format. */
struct fp_ext_state {
    char *creator;   /* dc:creator */
    char *dc_author; /* dc:author, else dc:publisher */
    char *dc_publisher;
    char *itunes_author;
    char *dc_title;    /* dc:title */
    char *dc_summary;  /* dc:description, as HTML */
    char *alt_summary; /* itunes:summary or media:description, as HTML */
    bool media_html;   /* the media:description being captured is type="html" */
    int64_t dcdate_at;
    int64_t dcmodified_at;
    int64_t dcissued_at;
    int64_t dccreated_at;
};

/*
 * What stands in for a feed-level field the format's own elements left empty, applied at
 * the end of the document: Dublin Core (dc:title, dc:language, dc:date, dcterms:modified)
 * for every format, and Atom's title and updated inside RSS.
 */
struct fp_feed_alt {
    char *title;
    char *language;
    int64_t updated_at;
};

/* Per-format state; one document has one format. */
struct fp_rss_state {
    size_t channel_depth; /* 0 outside <channel> */
    bool seen_channel;
    bool channel_link_set; /* <link> was read (it wins over atom:link) */
    int64_t channel_pubdate_at;
    int64_t channel_dcdate_at;
    int64_t channel_lastbuild_at;
    /* Item scope. */
    bool guid_permalink;
    char *alt_link; /* atom:link rel=alternate, else rdf:about: when <link> is absent */
    int alt_rank;
    int64_t pubdate_at;
    char *about;          /* RSS 1.0 rdf:about: the item's id when it has no guid */
    char *second_summary; /* a second summary element (description and summary): content */
    /* Atom elements inside an RSS item, used when the RSS ones are absent. */
    char *atom_id;
    char *atom_title;
    char *atom_author;
    size_t atom_author_depth; /* depth of the open atom:author, 0 if none */
    int64_t atom_published_at;
    struct fp_text_type cap; /* the atom:summary / atom:content being captured */
    bool lang_set;           /* the channel's <language> or dc:language was read */
};

struct fp_atom_state {
    enum fp_ns ns;       /* the namespace of the document's Atom elements (1.0, 0.3, none) */
    size_t author_depth; /* depth of the open <author>, 0 if none */
    bool author_is_feed;
    char *author_name;
    char *author_email;
    char *feed_author; /* inherited by entries without an author (RFC 4287 §4.2.1) */
    int link_rank;     /* rank of the entry link chosen so far, lower is better */
    int feed_link_rank;
    struct fp_text_type cap; /* how the text construct being captured is read */
    int64_t created_at;      /* Atom 0.3 <created>, when <issued> is absent */
};

/* The item being built. */
struct fp_item {
    bool active;
    size_t depth;
    struct feed_item item;
    size_t alloc_categories;
    size_t alloc_enclosures;
};

/* Limits on lists inside one item; extras are ignored. */
#define FP_MAX_CATEGORIES 256
#define FP_MAX_ENCLOSURES 64
#define FP_MAX_ATTRS 64

/*
 * Whether s equals lower (lower-case ASCII) ignoring ASCII case: strcasecmp in the C locale,
 * inlined (attribute values such as type="html" are compared on every element that has one).
 */
static inline bool
fp_ascii_ieq(const char *s, const char *lower)
{
    for (;; s++, lower++) {
        char c = *s;

        if (c >= 'A' && c <= 'Z')
            c = (char)(c + ('a' - 'A'));
        if (c != *lower)
            return false;
        if (c == '\0')
            return true;
    }
}

/* Whether s starts with lower (lower-case ASCII) ignoring ASCII case, like strncasecmp. */
static inline bool
fp_ascii_iprefix(const char *s, const char *lower)
{
    for (; *lower; s++, lower++) {
        char c = *s;

        if (c >= 'A' && c <= 'Z')
            c = (char)(c + ('a' - 'A'));
        if (c != *lower)
            return false;
    }
    return true;
}

/* Records an error (the first one wins), stops the XML parser and returns err. */
int fp_fail(struct feedparse *p, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Current line of the input, for messages. */
int fp_line(const struct feedparse *p);

/* Asks for the text of the element that is starting; it arrives at its end. */
void fp_capture(struct feedparse *p, enum fp_capture mode);

/* The value of attribute name in namespace ns, or NULL. */
const char *fp_attr(const struct fp_elem *el, enum fp_ns ns, const char *name);

/* The document being built. */
struct feed_doc *fp_doc(struct feedparse *p);

/* The format state. */
struct fp_ext_state *fp_ext(struct feedparse *p);
struct fp_rss_state *fp_rss(struct feedparse *p);
struct fp_atom_state *fp_atom(struct feedparse *p);

/* The item being built, or NULL outside an item (or past max_items). */
struct feed_item *fp_item(struct feedparse *p);

/* Depth of the open item (0 when none). */
size_t fp_item_depth(const struct feedparse *p);

/* Opens an item at depth (the element that starts now). */
int fp_item_begin(struct feedparse *p, size_t depth);

/* Closes the open item: link fallback, key, then appends it to the document. */
int fp_item_end(struct feedparse *p);

/*
 * fp_item_end for an item whose id may come from a fallback (RSS 1.0 rdf:about, atom:id in
 * RSS): when the item has no id of its own, *shown_id (if any) becomes its id after the key
 * is made, so that it is shown but never changes the key (the store tells new items by key).
 */
int fp_item_end_shown_id(struct feedparse *p, char **shown_id);

/*
 * Sets *field to the cleaned text when *field is still NULL (the first value wins).
 * 0 or -ENOMEM.
 */
int fp_set_text(char **field, const char *text, size_t len, enum feedtext_kind kind);

/*
 * Cleans and resolves a URL against the xml:base in scope (else the document URL, else the
 * feed link) into *ret; NULL when empty or of a scheme we do not keep. 0 or -ENOMEM.
 */
int fp_url(struct feedparse *p, const char *text, size_t len, char **ret);

/* Cleans a language tag into *ret, '_' written '-' ("en_US" is en-US); 0 or -ENOMEM. */
int fp_lang(const char *text, size_t len, char **ret);

/* Parses a date; FEED_TIME_NONE when it is absent or unreadable. */
int64_t fp_date(const char *text);

/* Appends a category (cleaned) to the open item. */
int fp_item_add_category(struct feedparse *p, const char *text, size_t len);

/* Appends an enclosure to the open item; url is resolved, length may be NULL. */
int fp_item_add_enclosure(struct feedparse *p, const char *url, const char *type,
                          const char *length);

/* Sets the open item's image (the first one wins); url is resolved. */
int fp_item_set_image(struct feedparse *p, const char *url);

/* Reads a duration ("3600", "1:02:03", "62:03", "PT1H2M3S"...) in seconds; 0 when unreadable. */
int64_t fp_duration(const char *text);

/* The longest refresh a feed may ask for (7 days); longer values are cut to it. */
#define FP_REFRESH_MAX (7 * 86400)

/* What the channel says about its refresh, combined into doc->refresh_s at finish. */
struct fp_refresh_state {
    int64_t ttl_s;     /* RSS <ttl> in seconds, 0 when absent or unreadable */
    int64_t period_s;  /* sy:updatePeriod in seconds, 0 absent, -1 unreadable */
    int64_t frequency; /* sy:updateFrequency, 0 absent, -1 unreadable */
};

/* Reads an RSS <ttl> (minutes) of the channel; garbage, zero and negatives are ignored. */
void fp_refresh_ttl(struct feedparse *p, const char *text);

/* Reads sy:updatePeriod ("hourly", "daily", "weekly", "monthly", "yearly") of the channel. */
void fp_refresh_period(struct feedparse *p, const char *text);

/* Reads sy:updateFrequency (a positive integer: updates per period) of the channel. */
void fp_refresh_frequency(struct feedparse *p, const char *text);

/* The namespace of the document's root element. */
enum fp_ns fp_root_ns(const struct feedparse *p);

/* Clears the extension state as an item opens (called by fp_item_begin). */
void fp_ext_item_begin(struct feedparse *p);

/* An element starts inside the open item: 1 when it is an extension handled here, else 0. */
int fp_ext_start(struct feedparse *p, const struct fp_elem *el);

/* The end of an element fp_ext_start took, with its captured text (or NULL). */
int fp_ext_end(struct feedparse *p, const struct fp_elem *el, const char *text, size_t len);

/* Fills what the format left empty from the extensions (called by fp_item_end). */
void fp_ext_item_end(struct feedparse *p);

/* Releases what the extension state of an item holds and clears it. */
void fp_ext_clear(struct fp_ext_state *st);

/* The feed-level fallbacks of the document (struct fp_feed_alt). */
struct fp_feed_alt *fp_feed_alt(struct feedparse *p);

/*
 * An element starts as a child of the channel or feed: 1 when it is a Dublin Core element
 * read there (its text is captured), else 0.
 */
int fp_ext_feed_start(struct feedparse *p, const struct fp_elem *el);

/* The end of an element fp_ext_feed_start took, with its captured text. 0 or -ENOMEM. */
int fp_ext_feed_end(struct feedparse *p, const struct fp_elem *el, const char *text, size_t len);

/*
 * Which Atom element a text construct is: a title (plain text), another text construct of
 * RFC 4287 §3.1 (summary; its type is text, html or xhtml, anything else read as text), or
 * atom:content (§4.1.3: any media type, base64 for those that are not text or XML).
 */
enum fp_construct { FP_CONSTRUCT_TITLE, FP_CONSTRUCT_TEXT, FP_CONSTRUCT_CONTENT };

/* How an Atom text construct of this type (and mode, for Atom 0.3) is read (atom.c). */
struct fp_text_type fp_text_type(const char *type, const char *mode, enum fp_construct which);

/*
 * Stores the captured text of a text construct read as tt into *field (first value wins):
 * decoded from base64 first when tt says so. 0 or -ENOMEM.
 */
int fp_set_text_construct(char **field, const char *text, size_t len,
                          const struct fp_text_type *tt);

/* Parses a whole JSON document as a JSON Feed into the document being built (jsonfeed.c). */
int fp_jsonfeed_parse(struct feedparse *p, const char *buf, size_t len);

#endif
