/*
 * feedparse.c — the streaming feed parser: a libxml2 SAX2 push parser, hardened, feeding
 * per-format handlers (rss.c, atom.c) through the element stack and text capture below.
 * What the handlers read becomes items in feeditem.c (the item builder).
 *
 * Hardening (DESIGN.md §9): no XML_PARSE_NOENT, no DTD loading, XML_PARSE_NONET, never
 * XML_PARSE_HUGE. Entities declared in the document are never expanded: the getEntity
 * handler knows only the XML and HTML 4 named entities, so billion-laughs and external
 * entities (file:///etc/passwd) have nothing to expand into. Depth, one text value and the
 * item count are bounded by struct feedparse_limits; items past max_items are ignored
 * (parsing goes on, the document is not an error), so a huge feed still gives its first
 * max_items items.
 *
 * Malformed XML is recovered (XML_PARSE_RECOVER): once the root was recognised as a feed,
 * any libxml2 error sets doc->recovered and the complete items are kept; an item cut off
 * by the end of the input is dropped. The result does not depend on how the input was split
 * into pushes: feedprep.c sniffs the document from its first bytes (BOM, XML declaration,
 * JSON), turns it into UTF-8 and repairs bare '&'s before libxml2 sees it, with its state
 * carried across pushes, and every text is collected whole. JSON Feed is buffered and read
 * by jsonfeed.c at finish; extension elements (Dublin Core, Media RSS, iTunes) are read by
 * feedext.c for every XML format.
 */
#include "parse/feedparse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/SAX2.h>
#include <libxml/entities.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/buf.h"
#include "parse/date.h"
#include "parse/feedparse-internal.h"
#include "parse/feedparse-state.h"
#include "parse/feedprep.h"
#include "parse/feedtext.h"
#include "base/hash.h"
#include "base/url.h"
#include "base/utf8.h"

#define FP_MAX_ENTITY_VALUE 1024 /* bytes of a document-declared entity's value */
#define FP_DEFAULT_MAX_DEPTH 256
#define FP_DEFAULT_MAX_TEXT (4u << 20)
#define FP_DEFAULT_MAX_ITEMS 10000
#define FP_MAX_ERROR 512
#define FP_DEFAULT_MAX_TAG (1u << 20)
#define FP_DEFAULT_MAX_JSON (16u << 20)

static const struct {
    const char *uri;
    enum fp_ns ns;
} fp_namespaces[] = {
    {"http://www.w3.org/2005/Atom", FP_NS_ATOM},
    {"http://purl.org/atom/ns#", FP_NS_ATOM03},
    {"http://purl.org/rss/1.0/modules/content/", FP_NS_CONTENT},
    {"http://purl.org/dc/elements/1.1/", FP_NS_DC},
    {"http://purl.org/dc/terms/", FP_NS_DCTERMS},
    {"http://www.w3.org/1999/xhtml", FP_NS_XHTML},
    {"http://www.w3.org/1999/02/22-rdf-syntax-ns#", FP_NS_RDF},
    {"http://purl.org/rss/1.0/", FP_NS_RSS10},
    {"http://purl.org/net/rss1.1#", FP_NS_RSS11},
    {"http://search.yahoo.com/mrss/", FP_NS_MEDIA},
    {"http://search.yahoo.com/mrss", FP_NS_MEDIA},
    {"http://my.netscape.com/rdf/simple/0.9/", FP_NS_RSS090},
    {"http://www.itunes.com/dtds/podcast-1.0.dtd", FP_NS_ITUNES},
    {"http://www.itunes.com/DTDs/Podcast-1.0.dtd", FP_NS_ITUNES},
    {"http://www.w3.org/XML/1998/namespace", FP_NS_XML},
    {"http://purl.org/rss/1.0/modules/syndication/", FP_NS_SY},
    /* UserLand's RSS 2.0 namespaces: some feeds put <rss> and its elements in them. */
    {"http://backend.userland.com/rss2", FP_NS_NONE},
    {"http://backend.userland.com/rss", FP_NS_NONE},
};

/* The text of each enum fp_name. */
static const char *const fp_name_strings[FPN_COUNT] = {
    [FPN_OTHER] = NULL,
    [FPN_AUTHOR] = "author",
    [FPN_BODY] = "body",
    [FPN_CATEGORY] = "category",
    [FPN_CHANNEL] = "channel",
    [FPN_CHANNEL11] = "Channel",
    [FPN_CONTENT] = "content",
    [FPN_CREATED] = "created",
    [FPN_CREATOR] = "creator",
    [FPN_DATE] = "date",
    [FPN_DESCRIPTION] = "description",
    [FPN_DURATION] = "duration",
    [FPN_EMAIL] = "email",
    [FPN_ENCLOSURE] = "enclosure",
    [FPN_ENCODED] = "encoded",
    [FPN_ENTRY] = "entry",
    [FPN_FULLITEM] = "fullitem",
    [FPN_GUID] = "guid",
    [FPN_ID] = "id",
    [FPN_IMAGE] = "image",
    [FPN_ISSUED] = "issued",
    [FPN_ITEM] = "item",
    [FPN_LANGUAGE] = "language",
    [FPN_LASTBUILDDATE] = "lastBuildDate",
    [FPN_LINK] = "link",
    [FPN_MODIFIED] = "modified",
    [FPN_NAME] = "name",
    [FPN_PUBDATE] = "pubDate",
    [FPN_PUBLISHED] = "published",
    [FPN_PUBLISHER] = "publisher",
    [FPN_SUBJECT] = "subject",
    [FPN_SUMMARY] = "summary",
    [FPN_THUMBNAIL] = "thumbnail",
    [FPN_TITLE] = "title",
    [FPN_TTL] = "ttl",
    [FPN_UPDATEFREQUENCY] = "updateFrequency",
    [FPN_UPDATEPERIOD] = "updatePeriod",
    [FPN_UPDATED] = "updated",
};

/*
 * Root elements. Atom without its namespace (a bare <feed>) is still Atom: real servers
 * send it. An Atom entry document is a feed of one item.
 */
static const struct {
    const char *name;
    enum fp_ns ns;
    const struct feedparse_format *fmt;
} fp_roots[] = {
    {"rss", FP_NS_NONE, &fp_format_rss},      {"RDF", FP_NS_RDF, &fp_format_rdf},
    {"Channel", FP_NS_RSS11, &fp_format_rdf}, {"feed", FP_NS_ATOM, &fp_format_atom},
    {"feed", FP_NS_ATOM03, &fp_format_atom},  {"feed", FP_NS_NONE, &fp_format_atom},
    {"entry", FP_NS_ATOM, &fp_format_atom},   {"entry", FP_NS_ATOM03, &fp_format_atom},
};

/*
 * Pre-1.0 Atom namespaces still served: the IETF drafts from 08 on, whose elements are those
 * of RFC 4287 (drafts 01-07 used Atom 0.3's http://purl.org/atom/ns#).
 */
#define FP_ATOM_DRAFT_NS "http://purl.org/atom/ns#draft-ietf-atompub-format-"

/*
 * A namespace URI as the handlers know it. The URIs of the table match exactly, then
 * ignoring ASCII case, one trailing '/' and an https scheme (feeds write
 * "http://www.w3.org/2005/atom", "http://www.w3.org/2005/Atom/" and
 * "https://purl.org/dc/elements/1.1/"); the Atom drafts by their prefix.
 */
static enum fp_ns
ns_lookup_slow(const xmlChar *uri)
{
    const char *u = (const char *)uri;
    size_t n = strlen(u);

    for (size_t i = 0; i < sizeof(fp_namespaces) / sizeof(fp_namespaces[0]); i++) {
        if (strcmp(u, fp_namespaces[i].uri) == 0)
            return fp_namespaces[i].ns;
    }
    if (strncmp(u, FP_ATOM_DRAFT_NS, strlen(FP_ATOM_DRAFT_NS)) == 0)
        return FP_NS_ATOM;
    /* Every URI of the table is http://...: an https:// one names the same namespace. */
    if (strncasecmp(u, "https://", 8) == 0) {
        u += 8;
        n -= 8;
    } else if (strncasecmp(u, "http://", 7) == 0) {
        u += 7;
        n -= 7;
    } else {
        return FP_NS_OTHER;
    }
    if (n > 1 && u[n - 1] == '/')
        n--;
    for (size_t i = 0; i < sizeof(fp_namespaces) / sizeof(fp_namespaces[0]); i++) {
        const char *t = fp_namespaces[i].uri + 7;
        size_t tn = strlen(t);

        if (strncmp(fp_namespaces[i].uri, "http://", 7) != 0)
            continue;
        if (tn > 1 && t[tn - 1] == '/')
            tn--;
        if (tn == n && strncasecmp(u, t, n) == 0)
            return fp_namespaces[i].ns;
    }
    return FP_NS_OTHER;
}

/*
 * Namespace URIs come from libxml2's dictionary, so one URI is one pointer for the life
 * of the parser: a small cache keyed by the pointer spares the string comparisons.
 */
static enum fp_ns
ns_lookup(struct feedparse *p, const xmlChar *uri)
{
    size_t slot;

    if (!uri || !*uri)
        return FP_NS_NONE;
    slot = ((uintptr_t)uri >> 4) % FP_NS_CACHE;
    if (p->ns_cache[slot].uri != uri) {
        p->ns_cache[slot].uri = uri;
        p->ns_cache[slot].ns = ns_lookup_slow(uri);
    }
    return p->ns_cache[slot].ns;
}

static size_t
name_slot(const xmlChar *name)
{
    return ((uintptr_t)name >> 3) % FP_NAME_SLOTS;
}

/*
 * Interns the names of enum fp_name in the parser's dictionary, where libxml2 puts every
 * local name it hands over, and indexes them by pointer. 0 or -ENOMEM.
 */
static int
names_intern(struct feedparse *p)
{
    for (int k = 1; k < FPN_COUNT; k++) {
        const xmlChar *q = xmlDictLookup(p->ctxt->dict, (const xmlChar *)fp_name_strings[k], -1);
        size_t slot;

        if (!q)
            return -ENOMEM;
        for (slot = name_slot(q); p->names[slot].name && p->names[slot].name != q;
             slot = (slot + 1) % FP_NAME_SLOTS)
            ;
        p->names[slot].name = q;
        p->names[slot].id = (enum fp_name)k;
    }
    return 0;
}

/* The id of a local name from libxml2's dictionary (FPN_OTHER for any other name). */
static enum fp_name
name_id(const struct feedparse *p, const xmlChar *name)
{
    size_t slot = name_slot(name);

    while (p->names[slot].name) {
        if (p->names[slot].name == name)
            return p->names[slot].id;
        slot = (slot + 1) % FP_NAME_SLOTS;
    }
    return FPN_OTHER;
}

/* Current line of the input, for messages. */
int
fp_line(const struct feedparse *p)
{
    if (!p->ctxt || !p->ctxt->input)
        return 0;
    return p->ctxt->input->line;
}

/*
 * Messages quote the input (libxml2's and jansson's do): bytes that are not valid UTF-8,
 * and control characters, become '?' so that the message is safe text.
 */
static void
utf8_sanitize(char *s)
{
    size_t i = 0, n = strlen(s);

    while (i < n) {
        uint32_t cp;
        int k = utf8_decode((const unsigned char *)s + i, n - i, &cp);

        if (k < 1 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
            s[i++] = '?';
            continue;
        }
        i += (size_t)k;
    }
}

/* Records an error (the first one wins) with its message; does not stop the XML parser. */
static int
fp_record(struct feedparse *p, int err, const char *fmt, va_list ap)
{
    char msg[FP_MAX_ERROR];

    if (p->err)
        return p->err;
    p->err = err;
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    utf8_sanitize(msg);
    p->errmsg = strdup(msg); /* NULL on OOM: feedparse_error() then gives a fixed text */
    return err;
}

/* Records an error (the first one wins), stops the XML parser and returns err. */
int
fp_fail(struct feedparse *p, int err, const char *fmt, ...)
{
    va_list ap;

    if (p->err)
        return p->err;
    va_start(ap, fmt);
    (void)fp_record(p, err, fmt, ap);
    va_end(ap);
    if (p->ctxt)
        xmlStopParser(p->ctxt);
    return err;
}

/*
 * Records an error without stopping the parser, for SAX callbacks after which libxml2 still
 * has memory to free (xmlParseEntityDecl leaks its value when stopped from entityDecl): the
 * chunk loop sees p->err when libxml2 returns and pushes nothing more.
 */
static int fp_fail_later(struct feedparse *p, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fp_fail_later(struct feedparse *p, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int r = fp_record(p, err, fmt, ap);
    va_end(ap);
    return r;
}

int
fp_fail_oom(struct feedparse *p)
{
    return fp_fail(p, -ENOMEM, "out of memory");
}

/* Asks for the text of the element that is starting; it arrives at its end. */
void
fp_capture(struct feedparse *p, enum fp_capture mode)
{
    p->cap_mode = mode;
    p->cap_depth = p->depth;
    p->cap_wrapper_depth = 0;
    p->cap_wrapper_done = false;
    buf_reset(&p->text);
}

/* The value of attribute name in namespace ns, or NULL. */
const char *
fp_attr(const struct fp_elem *el, enum fp_ns ns, const char *name)
{
    for (size_t i = 0; i < el->n_attrs; i++) {
        if (el->attrs[i].ns == ns && el->attrs[i].name[0] == name[0] &&
            strcmp(el->attrs[i].name, name) == 0)
            return el->attrs[i].value;
    }
    return NULL;
}

/* The document being built. */
struct feed_doc *
fp_doc(struct feedparse *p)
{
    return p->doc;
}

/* The extension state of the open item. */
struct fp_ext_state *
fp_ext(struct feedparse *p)
{
    return &p->ext;
}

/* The feed-level fallbacks. */
struct fp_feed_alt *
fp_feed_alt(struct feedparse *p)
{
    return &p->alt;
}

/* The RSS state. */
struct fp_rss_state *
fp_rss(struct feedparse *p)
{
    return &p->st.rss;
}

/* The Atom state. */
struct fp_atom_state *
fp_atom(struct feedparse *p)
{
    return &p->st.atom;
}

/* The item being built, or NULL outside an item (or past max_items). */
struct feed_item *
fp_item(struct feedparse *p)
{
    return p->item.active ? &p->item.item : NULL;
}

/* Depth of the open item (0 when none). */
size_t
fp_item_depth(const struct feedparse *p)
{
    return p->item.active ? p->item.depth : 0;
}

/* The namespace of the document's root element. */
enum fp_ns
fp_root_ns(const struct feedparse *p)
{
    return p->root_ns;
}

/* ---- text capture ---- */

static int
text_append(struct feedparse *p, const char *s, size_t len)
{
    int r = buf_append(&p->text, s, len);

    if (r == -EMSGSIZE)
        return fp_fail(p, -EMSGSIZE, "line %d: text too long (over %zu bytes)", fp_line(p),
                       p->limits.max_text);
    if (r < 0)
        return fp_fail_oom(p);
    return 0;
}

/* Index of the first '&', '<', '>' (and, attr, '"') of s[i..len), or len. */
static size_t
escape_stop(const char *s, size_t i, size_t len, bool attr)
{
#if defined(__SSE2__)
    const __m128i amp = _mm_set1_epi8('&'), lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'),
                  quot = _mm_set1_epi8(attr ? '"' : '&');

    while (i + 16 <= len) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, lt)),
                         _mm_or_si128(_mm_cmpeq_epi8(v, gt), _mm_cmpeq_epi8(v, quot))));

        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < len && s[i] != '&' && s[i] != '<' && s[i] != '>' && !(attr && s[i] == '"'))
        i++;
    return i;
}

/* Appends s escaped for HTML text (attr: also for a double-quoted attribute value). */
static int
text_append_escaped(struct feedparse *p, const char *s, size_t len, bool attr)
{
    size_t start = 0, i = 0;
    int r;

    while ((i = escape_stop(s, i, len, attr)) < len) {
        const char *rep = s[i] == '&'   ? "&amp;"
                          : s[i] == '<' ? "&lt;"
                          : s[i] == '>' ? "&gt;"
                                        : "&quot;";

        if ((r = text_append(p, s + start, i - start)) < 0 ||
            (r = text_append(p, rep, strlen(rep))) < 0)
            return r;
        start = ++i;
    }
    return text_append(p, s + start, len - start);
}

static bool
html_void_element(const char *name)
{
    static const char *const v[] = {
        "area",  "base", "br",   "col",   "embed",  "hr",    "img",
        "input", "link", "meta", "param", "source", "track", "wbr",
    };

    /* Every void element starts with one of these letters: most names need no comparison. */
    if (!strchr("abcehilmpstw", name[0]) || name[0] == '\0')
        return false;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (strcmp(name, v[i]) == 0)
            return true;
    }
    return false;
}

static int
serialize_name(struct feedparse *p, const xmlChar *prefix, const xmlChar *localname)
{
    int r;

    if (prefix && (r = text_append(p, (const char *)prefix, strlen((const char *)prefix))) < 0)
        return r;
    if (prefix && (r = text_append(p, ":", 1)) < 0)
        return r;
    return text_append(p, (const char *)localname, strlen((const char *)localname));
}

/* ---- attributes ---- */

/*
 * Copies the SAX2 attributes into p->attrs with decoded, NUL-terminated values. Without
 * entity substitution libxml2 hands "&amp;" in attribute values over as "&#38;"; that one
 * reference is decoded here.
 */
static int
attrs_load(struct feedparse *p, int nb, const xmlChar **attributes, size_t *ret_n)
{
    size_t n = 0;
    size_t offsets[FP_MAX_ATTRS];
    int r;

    p->attrs_xml = false;
    if (nb <= 0) {
        *ret_n = 0;
        return 0;
    }
    buf_reset(&p->attr_buf);
    for (int i = 0; i < nb && n < FP_MAX_ATTRS; i++) {
        const char *v = (const char *)attributes[i * 5 + 3];
        const char *end = (const char *)attributes[i * 5 + 4];

        offsets[n] = p->attr_buf.len;
        while (v < end) {
            const char *amp = memchr(v, '&', (size_t)(end - v));
            size_t chunk = amp ? (size_t)(amp - v) : (size_t)(end - v);

            if ((r = buf_append(&p->attr_buf, v, chunk)) < 0)
                goto fail;
            v += chunk;
            if (!amp)
                break;
            if (end - v >= 5 && memcmp(v, "&#38;", 5) == 0) {
                r = buf_append_char(&p->attr_buf, '&');
                v += 5;
            } else {
                r = buf_append_char(&p->attr_buf, '&');
                v++;
            }
            if (r < 0)
                goto fail;
        }
        if ((r = buf_append_char(&p->attr_buf, '\0')) < 0)
            goto fail;
        p->attrs[n].name = (const char *)attributes[i * 5];
        p->attrs[n].ns = ns_lookup(p, attributes[i * 5 + 2]);
        if (p->attrs[n].ns == FP_NS_XML)
            p->attrs_xml = true;
        n++;
    }
    /* The buffer may have moved while growing: take the pointers at the end. */
    for (size_t i = 0; i < n; i++)
        p->attrs[i].value = p->attr_buf.data + offsets[i];
    *ret_n = n;
    return 0;

fail:
    if (r == -EMSGSIZE)
        return fp_fail(p, -EMSGSIZE, "line %d: attributes too long (over %zu bytes)", fp_line(p),
                       p->limits.max_text);
    return fp_fail_oom(p);
}

/* ---- element stack ---- */

static int
xstack_push(struct feedparse *p)
{
    if (p->xdepth == p->alloc_xstack) {
        size_t n = p->alloc_xstack ? p->alloc_xstack * 2 : 32;
        bool *v;

        if (n > 2 * p->limits.max_depth)
            n = 2 * p->limits.max_depth;
        v = realloc(p->xstack, n * sizeof(*v));
        if (!v)
            return fp_fail_oom(p);
        p->xstack = v;
        p->alloc_xstack = n;
    }
    p->xstack[p->xdepth++] = false;
    return 0;
}

static int
frame_push(struct feedparse *p, const xmlChar *localname, const xmlChar *prefix, enum fp_ns ns,
           enum fp_name id)
{
    struct fp_frame *f;

    if (p->depth + 1 >= p->alloc_frames) {
        size_t n = p->alloc_frames * 2;
        struct fp_frame *v;

        if (n > p->limits.max_depth + 2)
            n = p->limits.max_depth + 2;
        v = realloc(p->frames, n * sizeof(*v));
        if (!v)
            return fp_fail_oom(p);
        p->frames = v;
        p->alloc_frames = n;
    }
    p->depth++;
    f = &p->frames[p->depth];
    *f = (struct fp_frame){
        .name = (const char *)localname,
        .prefix = prefix,
        .ns = ns,
        .id = id,
        .base = p->frames[p->depth - 1].base,
        .lang = p->frames[p->depth - 1].lang,
    };
    return 0;
}

static void
frame_pop(struct feedparse *p)
{
    struct fp_frame *f = &p->frames[p->depth];

    if (f->base_owned)
        free(f->base);
    if (f->lang_owned)
        free(f->lang);
    p->depth--;
}

/* Applies xml:base and xml:lang of the element that starts to its frame. */
static int
frame_scope(struct feedparse *p, const struct fp_elem *el)
{
    struct fp_frame *f = &p->frames[p->depth];
    const char *base = fp_attr(el, FP_NS_XML, "base");
    const char *lang = fp_attr(el, FP_NS_XML, "lang");
    char *s = NULL;
    int r;

    if (base) {
        r = feedtext_clean(base, strlen(base), FEEDTEXT_TOKEN, &s);
        if (r < 0)
            return fp_fail_oom(p);
        if (!s) {
            /* xml:base="": the base of the parent stays (RFC 3986 §5.2.2 on ""). */
        } else {
            char *res = NULL;

            r = url_resolve(f->base, s, &res);
            free(s);
            if (r < 0)
                return fp_fail_oom(p);
            if (res) {
                f->base = res;
                f->base_owned = true;
            }
        }
    }
    if (lang) {
        s = NULL;
        r = fp_lang(lang, strlen(lang), &s);
        if (r < 0)
            return fp_fail_oom(p);
        if (s) {
            f->lang = s;
            f->lang_owned = true;
        }
    }
    return 0;
}

/* ---- libxml2 SAX2 handlers ---- */

static int
fail_not_feed(struct feedparse *p)
{
    return fp_fail(p, -EPROTO, "line %d: not a feed: root element <%s>", fp_line(p), p->root_name);
}

/* Matches a feed root; fails unless wrapped, where a non-match returns 1. */
static int
root_detect(struct feedparse *p, const xmlChar *localname, enum fp_ns ns)
{
    for (size_t i = 0; i < sizeof(fp_roots) / sizeof(fp_roots[0]); i++) {
        if (fp_roots[i].ns != ns || strcmp(fp_roots[i].name, (const char *)localname) != 0)
            continue;
        p->fmt = fp_roots[i].fmt;
        p->root_ns = ns;
        p->root_depth = p->depth;
        p->doc->format = p->fmt->format;
        if (p->fmt->init)
            p->fmt->init(p);
        return 0;
    }
    return fail_not_feed(p);
}

/*
 * Finds the feed root. Some servers wrap a feed in an XHTML page (<html><body><feed>):
 * such a wrapper is looked into, two levels deep, and anything else in <body> ends it.
 * Returns 1 when the element is to be skipped, 0 when it is to be dispatched.
 */
static int
root_find(struct feedparse *p, const xmlChar *localname, const xmlChar *prefix, enum fp_ns ns)
{
    const char *name = (const char *)localname;

    if (!p->root_seen) {
        p->root_seen = true;
        (void)snprintf(p->root_name, sizeof(p->root_name), "%s%s%s",
                       prefix ? (const char *)prefix : "", prefix ? ":" : "", name);
        if ((ns == FP_NS_XHTML || ns == FP_NS_NONE) && strcmp(name, "html") == 0) {
            p->wrapper = true;
            return 1;
        }
        return root_detect(p, localname, ns) < 0 ? -1 : 0;
    }
    if (!p->wrapper)
        return 1;
    if (p->depth == 2)
        return strcmp(name, "head") == 0 || strcmp(name, "body") == 0 ? 1 : fail_not_feed(p);
    if (strcmp(p->frames[2].name, "body") != 0)
        return 1;
    if (p->depth == 3)
        return root_detect(p, localname, ns) < 0 ? -1 : 0;
    return 1;
}

/*
 * In recovery mode libxml2 2.9 drops every entity reference (even &amp;) once the
 * document is known not to be well-formed (xmlParseReference checks ctxt->wellFormed).
 * One stray "&" would then eat the "&amp;" of every later item. We count errors ourselves
 * (on_xml_error), so the flag is set back at each SAX event.
 */
static void
keep_references(struct feedparse *p)
{
    if (p->ctxt && !p->ctxt->wellFormed)
        p->ctxt->wellFormed = 1;
}

static void
on_sax_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
    struct feedparse *p = ctx;
    enum fp_ns ns = ns_lookup(p, uri);
    struct fp_elem el = {.name = (const char *)localname, .ns = ns, .id = name_id(p, localname)};
    size_t n_attrs = 0;

    keep_references(p);

    p->want_close[0] = '\0';
    if (p->err)
        return;
    if (p->depth >= p->limits.max_depth || p->xdepth >= 2 * p->limits.max_depth) {
        (void)fp_fail(p, -EMSGSIZE, "line %d: elements nested deeper than %zu", fp_line(p),
                      p->limits.max_depth);
        return;
    }
    if (xstack_push(p) < 0 || frame_push(p, localname, prefix, ns, el.id) < 0)
        return;
    el.depth = p->depth;

    if (p->cap_mode != FP_CAPTURE_NONE) {
        bool markup = p->cap_mode != FP_CAPTURE_TEXT;

        if (!markup)
            return;
        if (p->cap_mode == FP_CAPTURE_XHTML && !p->cap_wrapper_done &&
            p->depth == p->cap_depth + 1 && ns == FP_NS_XHTML &&
            strcmp((const char *)localname, "div") == 0) {
            /* RFC 4287 §3.1.1.3: the xhtml:div wrapper is not part of the content. */
            p->cap_wrapper_done = true;
            p->cap_wrapper_depth = p->depth;
            return;
        }
        p->cap_wrapper_done = true;
        if (attrs_load(p, nb_attributes, attributes, &n_attrs) < 0)
            return;
        if (text_append(p, "<", 1) < 0 ||
            serialize_name(p, ns == FP_NS_XHTML ? NULL : prefix, localname) < 0)
            return;
        /*
         * Inline XML keeps the namespaces it declares (<svg xmlns="http://www.w3.org/2000/svg">,
         * MathML), but XHTML's own: its elements are written as HTML.
         */
        for (int i = 0; p->cap_mode != FP_CAPTURE_HTML && i < nb_namespaces; i++) {
            const xmlChar *nprefix = namespaces[i * 2], *nuri = namespaces[i * 2 + 1];

            if (!nuri || ns_lookup(p, nuri) == FP_NS_XHTML)
                continue;
            if (text_append(p, " xmlns", 6) < 0 ||
                (nprefix &&
                 (text_append(p, ":", 1) < 0 ||
                  text_append(p, (const char *)nprefix, strlen((const char *)nprefix)) < 0)) ||
                text_append(p, "=\"", 2) < 0 ||
                text_append_escaped(p, (const char *)nuri, strlen((const char *)nuri), true) < 0 ||
                text_append(p, "\"", 1) < 0)
                return;
        }
        for (size_t i = 0; i < n_attrs; i++) {
            const xmlChar *aprefix = attributes[i * 5 + 1];

            if (text_append(p, " ", 1) < 0 ||
                serialize_name(p, aprefix, (const xmlChar *)p->attrs[i].name) < 0 ||
                text_append(p, "=\"", 2) < 0 ||
                text_append_escaped(p, p->attrs[i].value, strlen(p->attrs[i].value), true) < 0 ||
                text_append(p, "\"", 1) < 0)
                return;
        }
        (void)text_append(p, ">", 1);
        return;
    }

    if (attrs_load(p, nb_attributes, attributes, &n_attrs) < 0)
        return;
    el.attrs = p->attrs;
    el.n_attrs = n_attrs;
    if (p->attrs_xml && frame_scope(p, &el) < 0)
        return;
    if (!p->fmt) {
        if (root_find(p, localname, prefix, ns) != 0)
            return;
        if (p->frames[p->depth].lang && !p->doc->language &&
            !(p->doc->language = strdup(p->frames[p->depth].lang))) {
            (void)fp_fail_oom(p);
            return;
        }
    }
    if (p->root_closed)
        return;
    el.depth = p->depth - p->root_depth + 1;
    if (p->fmt->start(p, &el) < 0 && !p->err)
        (void)fp_fail_oom(p);
}

/* Ends the innermost open element of our stack: serialises it or dispatches it, pops it. */
static void
element_end(struct feedparse *p)
{
    struct fp_frame *f = &p->frames[p->depth];
    struct fp_elem el = {.name = f->name, .ns = f->ns, .id = f->id, .depth = p->depth};
    int r = 0;

    if (p->cap_mode != FP_CAPTURE_NONE && p->depth > p->cap_depth) {
        bool markup = p->cap_mode != FP_CAPTURE_TEXT;
        bool html_ns = f->ns == FP_NS_XHTML || f->ns == FP_NS_NONE;

        if (markup && p->depth != p->cap_wrapper_depth &&
            !(html_ns && html_void_element(f->name))) {
            if (text_append(p, "</", 2) < 0 ||
                serialize_name(p, f->ns == FP_NS_XHTML ? NULL : f->prefix,
                               (const xmlChar *)f->name) < 0 ||
                text_append(p, ">", 1) < 0)
                return;
        }
        if (p->depth == p->cap_wrapper_depth)
            p->cap_wrapper_depth = 0;
        frame_pop(p);
        return;
    }
    if (!p->fmt || p->root_closed || p->depth < p->root_depth) {
        frame_pop(p);
        return;
    }
    el.depth = p->depth - p->root_depth + 1;
    if (p->cap_mode != FP_CAPTURE_NONE && p->depth == p->cap_depth) {
        p->cap_mode = FP_CAPTURE_NONE;
        r = p->fmt->end(p, &el, buf_str(&p->text), p->text.len);
        buf_reset(&p->text);
    } else {
        r = p->fmt->end(p, &el, NULL, 0);
    }
    if (p->depth == p->root_depth)
        p->root_closed = true;
    if (r < 0 && !p->err)
        (void)fp_fail_oom(p);
    frame_pop(p);
}

/*
 * Mismatched end tags. libxml2 recovers from "<title>Bad <b>bold</title>" by letting
 * </title> close <b>, leaving <title> open, and every later element one level too deep:
 * the rest of the feed would vanish into that title. We keep our own stack right instead.
 * The error names the end tag actually written (want_close); after libxml2 has popped its
 * innermost element, we also close our elements up to the one of that name. The elements
 * closed that way are still open for libxml2: they become "zombies" in p->xstack, the
 * mirror of libxml2's stack, and their later end events are ignored.
 */
static void
mismatch_recover(struct feedparse *p)
{
    size_t d, x;

    if (!p->want_close[0])
        return;
    for (d = p->depth; d > 0; d--) {
        if (strcmp(p->frames[d].name, p->want_close) == 0)
            break;
    }
    p->want_close[0] = '\0';
    if (d == 0)
        return; /* no such element open: libxml2 and we closed the same one */
    x = p->xdepth;
    while (p->depth >= d && !p->err) {
        while (x > 0 && p->xstack[x - 1])
            x--;
        if (x == 0)
            break;
        p->xstack[--x] = true;
        element_end(p);
    }
}

static void
on_sax_end_element(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    struct feedparse *p = ctx;
    bool zombie;

    keep_references(p);

    if (p->err || p->xdepth == 0)
        return;
    zombie = p->xstack[--p->xdepth];
    if (!zombie && p->depth > 0)
        element_end(p);
    mismatch_recover(p);
}

static void
on_sax_characters(void *ctx, const xmlChar *ch, int len)
{
    struct feedparse *p = ctx;

    keep_references(p);
    p->want_close[0] = '\0';
    if (p->cap_mode == FP_CAPTURE_NONE || p->err || len <= 0)
        return;
    if (p->cap_mode != FP_CAPTURE_XHTML && p->cap_mode != FP_CAPTURE_XML && (size_t)len < 8) {
        /*
         * Escaped HTML ("&lt;p&gt;") arrives a character at a time, one call per reference:
         * the bytes are copied here when they fit, without buf_append's call to memcpy.
         */
        struct buf *b = &p->text;
        size_t n = (size_t)len;

        if (n < b->alloc - b->len && n <= b->max - b->len) {
            char *d = b->data + b->len;

            if (n >= 4) {
                uint32_t head, tail;

                memcpy(&head, ch, 4);
                memcpy(&tail, ch + n - 4, 4);
                memcpy(d, &head, 4);
                memcpy(d + n - 4, &tail, 4);
            } else {
                d[0] = (char)ch[0];
                d[n / 2] = (char)ch[n / 2];
                d[n - 1] = (char)ch[n - 1];
            }
            b->len += n;
            d[n] = '\0';
            return;
        }
    }
    if (p->cap_mode == FP_CAPTURE_XHTML || p->cap_mode == FP_CAPTURE_XML)
        (void)text_append_escaped(p, (const char *)ch, (size_t)len, false);
    else
        (void)text_append(p, (const char *)ch, (size_t)len);
}

/*
 * Hands libxml2 an HTML 4 named entity (&nbsp;, &eacute; ...) as if it were predefined, so
 * that feeds using them without a DTD keep their text. Anything else, notably entities
 * declared in the document's own DTD, is unknown: never expanded.
 */
static xmlEntityPtr
on_sax_get_entity(void *ctx, const xmlChar *name)
{
    struct feedparse *p = ctx;
    const htmlEntityDesc *desc;
    struct fp_entity *e;
    unsigned char enc[UTF8_MAX + 1];
    size_t n;

    xmlEntityPtr pre = xmlGetPredefinedEntity(name);

    if (pre)
        return pre;
    for (e = p->entities; e; e = e->next) {
        if (strcmp((const char *)e->ent.name, (const char *)name) == 0)
            return &e->ent;
    }
    desc = htmlEntityLookup(name);
    if (!desc)
        return NULL;
    if (desc->value > 0x10ffff)
        return NULL;
    n = utf8_encode(desc->value, enc);
    enc[n] = '\0';
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->ent.type = XML_ENTITY_DECL;
    e->ent.etype = XML_INTERNAL_PREDEFINED_ENTITY;
    e->ent.name = (const xmlChar *)strdup(desc->name);
    e->ent.content = (xmlChar *)strdup((const char *)enc);
    e->ent.orig = NULL;
    e->ent.length = (int)n;
    if (!e->ent.name || !e->ent.content) {
        free((char *)e->ent.name);
        free(e->ent.content);
        free(e);
        return NULL;
    }
    e->next = p->entities;
    p->entities = e;
    return &e->ent;
}

static xmlEntityPtr
on_sax_get_parameter_entity(void *ctx, const xmlChar *name)
{
    return NULL;
}

static xmlParserInputPtr
on_sax_resolve_entity(void *ctx, const xmlChar *public_id, const xmlChar *system_id)
{
    return NULL;
}

/*
 * The document declares an entity. Nothing declared in a document is ever expanded, but a
 * declaration that could only serve an attack ends the parse with a clear error rather than
 * quietly: an external entity (XXE: a local file or a URL), an entity whose value refers to
 * other entities (billion laughs), or a large value (quadratic blowup). Small self-contained
 * declarations, such as <!ENTITY nbsp "&#160;"> in some old feeds, are let through.
 */
static void
on_sax_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                   const xmlChar *system_id, xmlChar *content)
{
    struct feedparse *p = ctx;
    const char *v = (const char *)content;
    (void)public_id;
    if (p->err)
        return;
    if (system_id || type == XML_EXTERNAL_GENERAL_PARSED_ENTITY ||
        type == XML_EXTERNAL_GENERAL_UNPARSED_ENTITY || type == XML_EXTERNAL_PARAMETER_ENTITY) {
        (void)fp_fail_later(p, -EPROTO,
                            "line %d: the document declares an external entity '%.64s': refused "
                            "(external entities are never loaded)",
                            fp_line(p), (const char *)name);
        return;
    }
    if (!v)
        return;
    for (const char *c = v; *c; c++) {
        if ((c[0] == '&' && c[1] != '#') || c[0] == '%') {
            (void)fp_fail_later(p, -EPROTO,
                                "line %d: entity '%.64s' refers to other entities: refused "
                                "(entity expansion is not done)",
                                fp_line(p), (const char *)name);
            return;
        }
    }
    if (strlen(v) > FP_MAX_ENTITY_VALUE)
        (void)fp_fail_later(p, -EPROTO, "line %d: entity '%.64s' is longer than %d bytes: refused",
                            fp_line(p), (const char *)name, FP_MAX_ENTITY_VALUE);
}

static void
on_sax_reference(void *ctx, const xmlChar *name)
{
    /* An undeclared entity in a document with an external DTD: dropped, as if empty. */
}

static void
on_xml_error(void *ctx, xmlErrorPtr error)
{
    struct feedparse *p = ctx;
    char msg[FP_MAX_ERROR];
    size_t n;

    /*
     * Warnings lose nothing; namespace errors (an undeclared prefix, a relative namespace
     * URI) break no XML 1.0 rule and lose no text, so neither marks the document recovered.
     */
    if (!error || error->level == XML_ERR_WARNING || error->domain == XML_FROM_NAMESPACE)
        return;
    p->n_xml_errors++;
    if (error->code == XML_ERR_TAG_NAME_MISMATCH && error->str2 &&
        strlen(error->str2) < sizeof(p->want_close))
        memcpy(p->want_close, error->str2, strlen(error->str2) + 1);
    if (p->xml_error)
        return;
    (void)snprintf(msg, sizeof(msg), "line %d: %s", error->line,
                   error->message ? error->message : "XML error");
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    p->xml_error = strdup(msg);
}

static int on_prep_out(void *ctx, const char *buf, size_t len);

/* ---- public API ---- */

/* Creates a parser; NULL on OOM. */
struct feedparse *
feedparse_new(const char *base_url, const struct feedparse_limits *limits)
{
    struct feedparse *p = calloc(1, sizeof(*p));
    char scheme[16];

    if (!p)
        return NULL;
    xmlInitParser();
    /* A zero in limits means the default for that limit. */
    p->limits = (struct feedparse_limits){
        .max_depth = FP_DEFAULT_MAX_DEPTH,
        .max_text = FP_DEFAULT_MAX_TEXT,
        .max_items = FP_DEFAULT_MAX_ITEMS,
        .max_tag = FP_DEFAULT_MAX_TAG,
        .max_json = FP_DEFAULT_MAX_JSON,
    };
    if (limits) {
        if (limits->max_depth)
            p->limits.max_depth = limits->max_depth;
        if (limits->max_text)
            p->limits.max_text = limits->max_text;
        if (limits->max_items)
            p->limits.max_items = limits->max_items;
        if (limits->max_tag)
            p->limits.max_tag = limits->max_tag;
        if (limits->max_json)
            p->limits.max_json = limits->max_json;
    }
    if (feedprep_init(&p->prep, p->limits.max_tag, p->limits.max_text, NULL, on_prep_out, p) < 0)
        goto fail;
    buf_init(&p->text, p->limits.max_text);
    buf_init(&p->attr_buf, p->limits.max_text);
    buf_init(&p->json, p->limits.max_json);
    p->doc = calloc(1, sizeof(*p->doc));
    p->alloc_frames = 16;
    p->frames = calloc(p->alloc_frames, sizeof(*p->frames));
    if (!p->doc || !p->frames)
        goto fail;
    p->doc->updated_at = FEED_TIME_NONE;
    p->alt.updated_at = FEED_TIME_NONE;
    if (base_url) {
        p->base_url = strdup(base_url);
        if (!p->base_url)
            goto fail;
        p->frames[0].base = p->base_url;
    }
    p->allow_file =
        !base_url || (url_scheme(base_url, scheme, sizeof(scheme)) && strcmp(scheme, "file") == 0);
    return p;

fail:
    feedparse_free(p);
    return NULL;
}

/*
 * Some libxml2 errors (encoding conversion, I/O) are raised without the parser context and
 * would go to the thread's default handler, stderr. While our parser runs, this thread's
 * structured handler is ours (libxml2 keeps these per thread); it is restored afterwards.
 */
struct xml_errors_saved {
    xmlStructuredErrorFunc func;
    void *ctx;
};

static struct xml_errors_saved
xml_errors_capture(struct feedparse *p)
{
    struct xml_errors_saved saved = {xmlStructuredError, xmlStructuredErrorContext};

    xmlSetStructuredErrorFunc(p, on_xml_error);
    return saved;
}

static void
xml_errors_restore(struct xml_errors_saved saved)
{
    xmlSetStructuredErrorFunc(saved.ctx, saved.func);
}

static int
xml_chunk(struct feedparse *p, const char *buf, size_t len, bool terminate)
{
    struct xml_errors_saved saved = xml_errors_capture(p);

    while (!p->err) {
        int n = len > (1u << 20) ? (1 << 20) : (int)len;

        (void)xmlParseChunk(p->ctxt, buf, n, terminate && (size_t)n == len);
        len -= (size_t)n;
        if (len == 0)
            break; /* before advancing: buf is NULL when finish terminates with no bytes */
        buf += n;
    }
    xml_errors_restore(saved);
    if (!p->err && !p->root_seen && p->ctxt->instate == XML_PARSER_EOF) {
        /* libxml2 gave up before any element: nothing here is a feed. */
        return fp_fail(p, -EPROTO, "%s", p->xml_error ? p->xml_error : "not an XML document");
    }
    return p->err;
}

static int
ctxt_create(struct feedparse *p)
{
    xmlSAXHandler sax;

    memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = on_sax_start_element;
    sax.endElementNs = on_sax_end_element;
    sax.characters = on_sax_characters;
    sax.ignorableWhitespace = on_sax_characters;
    sax.cdataBlock = on_sax_characters;
    sax.getEntity = on_sax_get_entity;
    sax.getParameterEntity = on_sax_get_parameter_entity;
    sax.resolveEntity = on_sax_resolve_entity;
    sax.reference = on_sax_reference;
    sax.entityDecl = on_sax_entity_decl;
    sax.serror = on_xml_error;
    /*
     * No internalSubset/externalSubset handlers: the DTD is read for syntax only, nothing is
     * loaded from outside and nothing declared in it is used (on_sax_entity_decl refuses the
     * declarations that only serve attacks). The byte
     * stage hands over UTF-8 whatever the document says, so its declared encoding is
     * ignored (XML_PARSE_IGNORE_ENC).
     */
    p->ctxt = xmlCreatePushParserCtxt(&sax, p, NULL, 0, NULL);
    if (!p->ctxt)
        return fp_fail_oom(p);
    (void)xmlCtxtUseOptions(p->ctxt, XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
    if (!p->ctxt->dict || names_intern(p) < 0)
        return fp_fail_oom(p);
    return 0;
}

/* The byte stage's output: UTF-8, to libxml2 or into the JSON buffer. */
static int
on_prep_out(void *ctx, const char *buf, size_t len)
{
    struct feedparse *p = ctx;
    int r;

    if (p->err)
        return p->err;
    if (p->prep.kind == FEEDPREP_JSON) {
        r = buf_append(&p->json, buf, len);
        if (r == -EMSGSIZE)
            return fp_fail(p, -EMSGSIZE, "JSON document larger than %zu bytes", p->limits.max_json);
        return r < 0 ? fp_fail_oom(p) : 0;
    }
    if (!p->ctxt && ctxt_create(p) < 0)
        return p->err;
    if (p->ctxt->instate == XML_PARSER_EOF)
        return 0; /* libxml2 stopped on a fatal error; finish() decides what it means */
    return xml_chunk(p, buf, len, false);
}

/* Turns an error of the byte stage into the parser's error. */
static int
prep_fail(struct feedparse *p, int r)
{
    if (p->err)
        return p->err;
    switch (p->prep.error) {
    case FEEDPREP_ERR_GZIP:
        return fp_fail(p, -EPROTO, "gzip: compressed twice: not a feed until inflated again");
    case FEEDPREP_ERR_GZIP_SIZE:
        return fp_fail(p, -EMSGSIZE, "gzip: inflated document exceeds %zu bytes", p->prep.max_size);
    case FEEDPREP_ERR_GZIP_DATA:
        return fp_fail(p, -EPROTO, "gzip: %s", p->prep.gz_msg);
    case FEEDPREP_ERR_EMPTY:
        return fp_fail(p, -EPROTO, "empty document");
    case FEEDPREP_ERR_TAG:
        return fp_fail(p, -EMSGSIZE, "line %d: tag or declaration longer than %zu bytes",
                       fp_line(p), p->limits.max_tag);
    case FEEDPREP_ERR_ATTRS:
        return fp_fail(p, -EMSGSIZE, "line %d: too many attributes in a start tag (max %d)",
                       fp_line(p), FEEDPREP_MAX_ATTRS);
    case FEEDPREP_ERR_NS:
        return fp_fail(p, -EMSGSIZE, "line %d: too many namespace declarations in scope (max %d)",
                       fp_line(p), FEEDPREP_MAX_NS_SCOPE);
    case FEEDPREP_ERR_COMMENT:
        return fp_fail(p, -EMSGSIZE,
                       "line %d: comment or processing instruction longer than %zu bytes",
                       fp_line(p), p->limits.max_text);
    default:
        break;
    }
    return r == -ENOMEM ? fp_fail_oom(p) : fp_fail(p, r, "%s", strerror(-r));
}

/* Sets the charset the transport announced (HTTP Content-Type), before the first push. */
int
feedparse_set_charset(struct feedparse *p, const char *charset)
{
    if (p->err)
        return p->err;
    return feedprep_set_charset(&p->prep, charset);
}

/* Sets the most bytes a raw gzip document may inflate to (0: the default). */
int
feedparse_set_max_size(struct feedparse *p, size_t max)
{
    if (p->err)
        return p->err;
    return feedprep_set_max_size(&p->prep, max);
}

/* Pushes the next bytes of the document. */
int
feedparse_push(struct feedparse *p, const char *buf, size_t len)
{
    int r;

    if (p->err)
        return p->err;
    if (p->finished)
        return fp_fail(p, -EINVAL, "push after finish");
    if (len == 0)
        return 0;
    r = feedprep_push(&p->prep, buf, len);
    return r < 0 ? prep_fail(p, r) : 0;
}
/* Fills the feed-level fields the format left empty from their fallbacks; items inherit
 * the feed's language. */
static int
doc_finish(struct feedparse *p)
{
    struct feed_doc *doc = p->doc;

    if (!doc->title) {
        doc->title = p->alt.title;
        p->alt.title = NULL;
    }
    if (!doc->language) {
        doc->language = p->alt.language;
        p->alt.language = NULL;
    }
    if (doc->updated_at == FEED_TIME_NONE)
        doc->updated_at = p->alt.updated_at;
    for (size_t i = 0; i < doc->n_items; i++) {
        struct feed_item *it = &doc->items[i];

        if (!it->language && doc->language && !(it->language = strdup(doc->language)))
            return fp_fail_oom(p);
    }
    return 0;
}

/* Ends the document and hands the parsed document to *ret_doc. */
int
feedparse_finish(struct feedparse *p, struct feed_doc **ret_doc)
{
    int r;

    if (p->err)
        return p->err;
    if (p->finished)
        return fp_fail(p, -EINVAL, "finish called twice");
    p->finished = true;
    r = feedprep_finish(&p->prep);
    if (r < 0)
        return prep_fail(p, r);
    if (p->prep.kind == FEEDPREP_JSON) {
        r = fp_jsonfeed_parse(p, buf_str(&p->json), p->json.len);
        if (r < 0)
            return p->err ? p->err : fp_fail_oom(p);
        goto done;
    }
    if (!p->ctxt && ctxt_create(p) < 0)
        return p->err;
    if (p->ctxt->instate != XML_PARSER_EOF) {
        r = xml_chunk(p, NULL, 0, true);
        if (r < 0)
            return r;
    }
    if (!p->root_seen)
        return fp_fail(p, -EPROTO, "%s",
                       p->xml_error ? p->xml_error : "no root element: not a feed");
    if (!p->fmt)
        return fail_not_feed(p);
    if (p->n_xml_errors > 0 || p->prep.n_repairs > 0)
        p->doc->recovered = true;
    /* An item still open was cut off by the end of the input: dropped. */
    if (p->item.active) {
        feed_item_done(&p->item.item);
        p->item.active = false;
    }
    if (p->fmt->finish && (r = p->fmt->finish(p)) < 0)
        return p->err ? p->err : fp_fail_oom(p);
    if (p->doc->recovered && p->doc->n_items == 0 && !p->doc->title)
        return fp_fail(p, -EPROTO, "%s", p->xml_error ? p->xml_error : "malformed feed");
done:
    p->doc->refresh_s = fp_refresh_compute(&p->refresh);
    /* Bytes invalid in their encoding, or an unknown charset, were read as best we could. */
    if (p->prep.n_invalid > 0 || p->prep.unknown_charset || p->prep.gz_truncated)
        p->doc->recovered = true;
    if (doc_finish(p) < 0)
        return p->err;
    *ret_doc = p->doc;
    p->doc = NULL;
    return 0;
}

/* Bytes the parser holds that grow with the document (feedparse.h). */
size_t
feedparse_bytes(const struct feedparse *p)
{
    if (!p)
        return 0;
    size_t n = p->items_bytes + p->alloc_items * sizeof(struct feed_item) + p->text.alloc +
               p->attr_buf.alloc + p->json.alloc;
    const xmlParserInput *in = p->ctxt ? p->ctxt->input : NULL;
    if (in && in->base && in->end > in->base)
        n += (size_t)(in->end - in->base);
    return n;
}

/* Human-readable reason of the last error ("line 12: ..."), or NULL. */
const char *
feedparse_error(const struct feedparse *p)
{
    if (!p || !p->err)
        return NULL;
    return p->errmsg ? p->errmsg : "out of memory";
}

/* Releases the parser; accepts NULL. */
void
feedparse_free(struct feedparse *p)
{
    struct fp_entity *e, *next;

    if (!p)
        return;
    if (p->ctxt) {
        if (p->ctxt->myDoc)
            xmlFreeDoc(p->ctxt->myDoc);
        p->ctxt->myDoc = NULL;
        xmlFreeParserCtxt(p->ctxt);
    }
    for (e = p->entities; e; e = next) {
        next = e->next;
        free((char *)e->ent.name);
        free(e->ent.content);
        /*
         * When a document declares an entity with the name of one of ours (<!ENTITY nbsp
         * "&#160;">), xmlParseEntityDecl hands the raw value to our entity as orig.
         */
        xmlFree(e->ent.orig);
        free(e);
    }
    while (p->depth > 0)
        frame_pop(p);
    if (p->item.active)
        feed_item_done(&p->item.item);
    fp_ext_clear(&p->ext);
    free(p->alt.title);
    free(p->alt.language);
    if (p->fmt == &fp_format_rss || p->fmt == &fp_format_rdf) {
        free(p->st.rss.alt_link);
        free(p->st.rss.about);
        free(p->st.rss.second_summary);
        free(p->st.rss.atom_id);
        free(p->st.rss.atom_title);
        free(p->st.rss.atom_author);
    } else if (p->fmt == &fp_format_atom) {
        free(p->st.atom.author_name);
        free(p->st.atom.author_email);
        free(p->st.atom.feed_author);
    }
    buf_done(&p->text);
    buf_done(&p->attr_buf);
    buf_done(&p->json);
    feedprep_done(&p->prep);
    free(p->frames);
    free(p->xstack);
    free(p->base_url);
    free(p->errmsg);
    free(p->xml_error);
    feed_doc_free(p->doc);
    free(p);
}

/* Convenience for tests and the offline tools: parses a whole buffer. */
int
feedparse_buffer(const char *buf, size_t len, const char *base_url, struct feed_doc **ret_doc,
                 char **reterr_msg)
{
    struct feedparse *p = feedparse_new(base_url, NULL);
    struct feed_doc *doc = NULL;
    int r;

    if (!p)
        return -ENOMEM;
    r = feedparse_push(p, buf, len);
    if (r == 0)
        r = feedparse_finish(p, &doc);
    if (r < 0) {
        if (reterr_msg) {
            const char *m = feedparse_error(p);

            *reterr_msg = strdup(m ? m : "parse error");
        }
        feedparse_free(p);
        return r;
    }
    feedparse_free(p);
    *ret_doc = doc;
    return 0;
}
