/*
 * opml.c — OPML export and import (see opml.h).
 *
 * Import reads every <outline> with an xmlUrl (attribute names in any case: Miniflux,
 * newsboat, FreshRSS, Feedly and Inoreader exports differ), wherever it is nested. A feed's
 * name is its title, else its text, else its URL's host, made into a feed name (letters
 * transliterated, other characters '-', at most OPML_NAME_MAX bytes, "-2", "-3"... when taken);
 * its tags are the titles of the folder outlines around it (outer first), then the paths of
 * its category attribute ("/a/b,/c" gives "a/b" and "c"), then every --tag. A URL found twice
 * is one feed with the tags of both places. URLs are compared with the daemon's feeds after
 * a trivial normalisation (scheme and host in lower case, no trailing slash).
 */
#include "opml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/entities.h>
#include <libxml/hash.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <utf8proc.h>

#include "base/utf8.h"
#include "client.h"
#include "output.h"

_Static_assert(OPML_NAME_MAX <= FEED_NAME_MAX, "a made name must be a valid feed name");

#define OPML_MAX_DEPTH 64 /* folder outlines nested deeper are not looked into */
#define OPML_MAX_FEEDS 100000

/* One feed found in an OPML file. */
struct opml_feed {
    char *url;
    char *label; /* title, else text; NULL when neither */
    char *tags[FEED_TAGS_MAX];
    size_t n_tags;
};

struct opml_list {
    struct opml_feed *feeds;
    size_t n;
    size_t cap;
    bool too_many;
};

/* A set of strings (names taken, URLs watched): a plain array, searched linearly. */
struct strset {
    char **v;
    char **extra; /* a value kept beside each string (the name of a watched URL) */
    size_t n;
};

static bool
strset_add(struct strset *s, const char *str, const char *extra)
{
    char **nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
    if (!nv)
        return false;
    s->v = nv;
    char **ne = realloc(s->extra, (s->n + 1) * sizeof(*ne));
    if (!ne)
        return false;
    s->extra = ne;
    s->v[s->n] = strdup(str);
    s->extra[s->n] = extra ? strdup(extra) : NULL;
    if (!s->v[s->n] || (extra && !s->extra[s->n])) {
        free(s->v[s->n]);
        free(s->extra[s->n]);
        return false;
    }
    s->n++;
    return true;
}

/* The index of str in s, or -1. */
static long
strset_find(const struct strset *s, const char *str)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], str) == 0)
            return (long)i;
    return -1;
}

static void
strset_free(struct strset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i]);
        free(s->extra[i]);
    }
    free(s->v);
    free(s->extra);
    *s = (struct strset){0};
}

/*
 * A tag made of folder or category text: control characters and commas become blanks, runs
 * of blanks one space, a blank before '#' or ';' dropped (the config would read a comment),
 * trimmed, cut to FEED_TAG_MAX bytes. NULL when nothing is left (or out of memory).
 */
static char *
tag_from_text(const char *text)
{
    size_t len = strlen(text);
    char *out = malloc(len + 1);
    size_t n = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if ((unsigned char)c < 0x20 || c == 0x7f || c == ',' || c == ' ')
            c = ' ';
        if (c == ' ' && (n == 0 || out[n - 1] == ' '))
            continue;
        if ((c == '#' || c == ';') && n > 0 && out[n - 1] == ' ')
            n--;
        out[n++] = c;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    n = utf8_cut(out, n, FEED_TAG_MAX);
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    if (!feed_tag_valid(out, n)) {
        free(out);
        return NULL;
    }
    return out;
}

/* Adds tag (taken) to f unless it has it or is full. */
static void
feed_add_tag(struct opml_feed *f, char *tag)
{
    if (!tag)
        return;
    for (size_t i = 0; i < f->n_tags; i++) {
        if (strcmp(f->tags[i], tag) == 0) {
            free(tag);
            return;
        }
    }
    if (f->n_tags == FEED_TAGS_MAX) {
        free(tag);
        return;
    }
    f->tags[f->n_tags++] = tag;
}

/* The value of the attribute of node named name in any case, or NULL; xmlFree it. */
static char *
attr_get(const xmlNode *node, const char *name)
{
    for (const xmlAttr *a = node->properties; a; a = a->next) {
        if (a->name && xmlStrcasecmp(a->name, (const xmlChar *)name) == 0)
            return (char *)xmlNodeListGetString(node->doc, a->children, 1);
    }
    return NULL;
}

/* The text of the attribute named name, trimmed of blanks; NULL when absent or blank. */
static char *
attr_text(const xmlNode *node, const char *name)
{
    char *v = attr_get(node, name);
    if (!v)
        return NULL;
    char *s = v;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    char *out = n > 0 ? strndup(s, n) : NULL;
    xmlFree(v);
    return out;
}

static bool
is_element(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->name &&
           xmlStrcasecmp(n->name, (const xmlChar *)name) == 0;
}

static void
feed_done(struct opml_feed *f)
{
    free(f->url);
    free(f->label);
    for (size_t i = 0; i < f->n_tags; i++)
        free(f->tags[i]);
}

/* Adds the tags of a category attribute ("/a,/b/c": "a" and "b/c") to f. */
static void
add_categories(struct opml_feed *f, const char *cats)
{
    char *copy = strdup(cats);
    if (!copy)
        return;
    char *save = NULL;
    for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
        while (*c == ' ' || *c == '\t')
            c++;
        while (*c == '/')
            c++;
        size_t n = strlen(c);
        while (n > 0 && (c[n - 1] == '/' || c[n - 1] == ' ' || c[n - 1] == '\t'))
            c[--n] = '\0';
        if (n > 0)
            feed_add_tag(f, tag_from_text(c));
    }
    free(copy);
}

/*
 * Collects the feeds of the outlines under parent. folders holds the tags of the folder
 * outlines around them, outer first. -ENOMEM or 0.
 */
static int
collect(const xmlNode *parent, char **folders, size_t n_folders, unsigned depth,
        struct opml_list *list)
{
    for (const xmlNode *n = parent->children; n; n = n->next) {
        if (!is_element(n, "outline"))
            continue;
        char *url = attr_text(n, "xmlUrl");
        if (!url) {
            /* A folder: its title (else text) tags the feeds inside it. */
            if (depth >= OPML_MAX_DEPTH)
                continue;
            char *label = attr_text(n, "title");
            if (!label)
                label = attr_text(n, "text");
            char *tag = label ? tag_from_text(label) : NULL;
            free(label);
            size_t k = n_folders;
            if (tag && n_folders < FEED_TAGS_MAX)
                folders[k++] = tag;
            int r = collect(n, folders, k, depth + 1, list);
            free(tag);
            if (r < 0)
                return r;
            continue;
        }
        /* The same URL again (a feed in two folders): one feed, the tags of both. */
        struct opml_feed *f = NULL;
        for (size_t i = 0; i < list->n; i++)
            if (strcmp(list->feeds[i].url, url) == 0)
                f = &list->feeds[i];
        if (!f) {
            if (list->n == OPML_MAX_FEEDS) {
                list->too_many = true;
                free(url);
                continue;
            }
            if (list->n == list->cap) {
                size_t cap = list->cap ? list->cap * 2 : 64;
                struct opml_feed *nf = realloc(list->feeds, cap * sizeof(*nf));
                if (!nf) {
                    free(url);
                    return -ENOMEM;
                }
                list->feeds = nf;
                list->cap = cap;
            }
            f = &list->feeds[list->n++];
            *f = (struct opml_feed){.url = url};
            f->label = attr_text(n, "title");
            if (!f->label)
                f->label = attr_text(n, "text");
            url = NULL;
        }
        free(url);
        for (size_t i = 0; i < n_folders; i++)
            feed_add_tag(f, strdup(folders[i]));
        char *cats = attr_text(n, "category");
        if (cats)
            add_categories(f, cats);
        free(cats);
    }
    return 0;
}

/* Reads all of fd into *ret (NUL-terminated), at most max bytes: 0, -EFBIG or -errno. */
static int
read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (len == cap) {
            if (cap > max) {
                free(buf);
                return -EFBIG;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = -errno;
            free(buf);
            return e;
        }
        if (got == 0)
            break;
        len += (size_t)got;
        if (len > max) {
            free(buf);
            return -EFBIG;
        }
    }
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    return 0;
}

/* No external entity, DTD or XInclude is ever loaded, whatever a document asks. */
static xmlParserInputPtr
no_external_entities(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

/* Silences libxml2's own error printing; the CLI reports the last error itself. */
static void
no_generic_errors(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/*
 * Reads and parses the OPML file into list. Returns 0, or 2 (the usage/unreadable exit
 * status) after reporting why, or 1 when out of memory.
 */
static int
opml_read(const char *file, struct opml_list *list)
{
    const char *shown = strcmp(file, "-") == 0 ? "standard input" : file;
    int fd = strcmp(file, "-") == 0 ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        output_message("%s: %s", shown, strerror(errno));
        return 2;
    }
    char *buf = NULL;
    size_t len = 0;
    int r = read_all(fd, OPML_MAX_BYTES, &buf, &len);
    if (fd != STDIN_FILENO)
        (void)close(fd);
    if (r == -EFBIG) {
        output_message("%s: larger than %u MiB; not read", shown, OPML_MAX_BYTES >> 20);
        return 2;
    }
    if (r < 0) {
        output_message("%s: %s", shown, strerror(-r));
        return r == -ENOMEM ? 1 : 2;
    }
    /* Entities are the door to billion-laughs and external-entity attacks: OPML needs none. */
    if (memmem(buf, len, "<!ENTITY", 8)) {
        output_message("%s: declares XML entities (<!ENTITY>); refused", shown);
        free(buf);
        return 2;
    }
    if (len > INT32_MAX) {
        free(buf);
        return 2;
    }
    xmlSetExternalEntityLoader(no_external_entities);
    xmlSetGenericErrorFunc(NULL, no_generic_errors);
    xmlResetLastError();
    xmlDoc *doc = xmlReadMemory(buf, (int)len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                    XML_PARSE_NOCDATA);
    free(buf);
    if (!doc) {
        const xmlError *e = xmlGetLastError();
        char *why = e && e->message ? output_scrub(e->message, strlen(e->message), false) : NULL;
        size_t n = why ? strlen(why) : 0;
        while (n > 0 && why[n - 1] == ' ')
            why[--n] = '\0';
        output_message("%s: not well-formed XML%s%s (line %d)", shown, why ? ": " : "",
                       why ? why : "", e ? e->line : 0);
        free(why);
        return 2;
    }
    /* The same in an encoding the byte scan above cannot read (UTF-16): refused after all. */
    if ((doc->intSubset && (xmlHashSize(doc->intSubset->entities) > 0 ||
                            xmlHashSize(doc->intSubset->pentities) > 0)) ||
        (doc->extSubset && xmlHashSize(doc->extSubset->entities) > 0)) {
        output_message("%s: declares XML entities (<!ENTITY>); refused", shown);
        xmlFreeDoc(doc);
        return 2;
    }
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || !is_element(root, "opml")) {
        output_message("%s: not OPML (the root element is not <opml>)", shown);
        xmlFreeDoc(doc);
        return 2;
    }
    const xmlNode *body = NULL;
    for (const xmlNode *n = root->children; n && !body; n = n->next)
        if (is_element(n, "body"))
            body = n;
    if (!body) {
        output_message("%s: not OPML (no <body>)", shown);
        xmlFreeDoc(doc);
        return 2;
    }
    char *folders[FEED_TAGS_MAX];
    r = collect(body, folders, 0, 0, list);
    xmlFreeDoc(doc);
    if (r < 0) {
        output_message("out of memory");
        return 1;
    }
    if (list->too_many)
        output_message("%s: more than %d feeds; the rest is not read", shown, OPML_MAX_FEEDS);
    return 0;
}

/* The URL with its scheme and host in lower case and no trailing slash, for comparing. */
static char *
url_normal(const char *url)
{
    char *u = strdup(url);
    if (!u)
        return NULL;
    char *sep = strstr(u, "://");
    if (sep) {
        char *host_end = sep + 3 + strcspn(sep + 3, "/?#");
        for (char *p = u; p < host_end; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    }
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == '/')
        u[--n] = '\0';
    return u;
}

static bool
url_is_http(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* The host of an http(s) URL (without user info and port), or NULL. */
static char *
url_host(const char *url)
{
    const char *sep = strstr(url, "://");
    if (!sep)
        return NULL;
    const char *h = sep + 3;
    size_t n = strcspn(h, "/?#");
    const char *at = memchr(h, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    const char *colon = memchr(h, ':', n);
    if (colon && h[0] != '[')
        n = (size_t)(colon - h);
    return n > 0 ? strndup(h, n) : NULL;
}

/* Latin letters that do not decompose into a base letter and marks. */
static const struct {
    utf8proc_int32_t cp;
    const char *ascii;
} translit[] = {
    {0x00DF, "ss"}, {0x00C6, "AE"}, {0x00E6, "ae"}, {0x00D8, "O"},  {0x00F8, "o"},  {0x0110, "D"},
    {0x0111, "d"},  {0x0141, "L"},  {0x0142, "l"},  {0x0152, "OE"}, {0x0153, "oe"}, {0x00DE, "TH"},
    {0x00FE, "th"}, {0x00D0, "D"},  {0x00F0, "d"},  {0x0131, "i"},  {0x0126, "H"},  {0x0127, "h"},
};

/*
 * A feed name (1 to OPML_NAME_MAX of A-Z a-z 0-9 . _ -) made of text: accents stripped, a
 * few letters transliterated, anything else '-', runs of '-' one, trimmed of '-' and '.'.
 * An empty string when nothing is left; NULL when out of memory.
 */
static char *
name_from_text(const char *text)
{
    utf8proc_uint8_t *folded = NULL;
    utf8proc_ssize_t flen =
        utf8proc_map((const utf8proc_uint8_t *)text, 0, &folded,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK);
    if (flen < 0) {
        /* Not valid UTF-8 (a libxml2 attribute always is, but be safe). */
        folded = (utf8proc_uint8_t *)strdup(text);
        if (!folded)
            return NULL;
        flen = (utf8proc_ssize_t)strlen(text);
    }
    char *out = malloc(OPML_NAME_MAX + 3);
    size_t n = 0;
    if (!out) {
        free(folded);
        return NULL;
    }
    utf8proc_ssize_t i = 0;
    while (i < flen && n < OPML_NAME_MAX) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t step = utf8proc_iterate(folded + i, flen - i, &cp);
        if (step <= 0) {
            step = 1;
            cp = '-';
        }
        i += step;
        const char *rep = NULL;
        char one[2] = {0};
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
            cp == '.' || cp == '_' || cp == '-') {
            one[0] = (char)cp;
            rep = one;
        } else {
            for (size_t k = 0; k < sizeof(translit) / sizeof(translit[0]); k++)
                if (translit[k].cp == cp)
                    rep = translit[k].ascii;
            if (!rep)
                rep = "-";
        }
        for (const char *c = rep; *c && n < OPML_NAME_MAX; c++) {
            if (*c == '-' && (n == 0 || out[n - 1] == '-'))
                continue;
            out[n++] = *c;
        }
    }
    free(folded);
    while (n > 0 && (out[n - 1] == '-' || out[n - 1] == '.'))
        n--;
    out[n] = '\0';
    size_t skip = strspn(out, "-.");
    memmove(out, out + skip, n - skip + 1);
    return out;
}

/*
 * The name for feed f not in taken: from its label, else its URL's host, else "feed"; with
 * "-2", "-3"... when taken. NULL when out of memory.
 */
static char *
name_for(const struct opml_feed *f, const struct strset *taken)
{
    char *base = f->label ? name_from_text(f->label) : NULL;
    if (f->label && !base)
        return NULL;
    if (!base || !*base) {
        free(base);
        char *host = url_host(f->url);
        base = host ? name_from_text(host) : strdup("");
        free(host);
        if (!base)
            return NULL;
        if (!*base) {
            free(base);
            base = strdup("feed");
            if (!base)
                return NULL;
        }
    }
    char *name = NULL;
    for (unsigned k = 1; k < 1000000; k++) {
        char suffix[16] = "";
        if (k > 1)
            (void)snprintf(suffix, sizeof(suffix), "-%u", k);
        size_t keep = strlen(base);
        if (keep + strlen(suffix) > OPML_NAME_MAX)
            keep = OPML_NAME_MAX - strlen(suffix);
        if (asprintf(&name, "%.*s%s", (int)keep, base, suffix) < 0) {
            name = NULL;
            break;
        }
        if (strset_find(taken, name) < 0)
            break;
        free(name);
        name = NULL;
    }
    free(base);
    return name;
}

/* Prints a line of import output, scrubbed of anything a terminal would act on. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
    va_list ap;
    char *line = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char *clean = output_scrub(line, (size_t)n, false);
    (void)printf("%s\n", clean ? clean : "");
    free(clean);
    free(line);
}

/* Prints the [feed] sections of the feeds in list. */
static int
print_ini(const struct opml_list *list)
{
    struct strset names = {0};
    int status = 0;
    for (size_t i = 0; i < list->n; i++) {
        const struct opml_feed *f = &list->feeds[i];
        if (!url_is_http(f->url)) {
            char *u = output_scrub(f->url, strlen(f->url), false);
            (void)printf("# skipped %s (not an http or https URL)\n", u ? u : "");
            free(u);
            continue;
        }
        if (!feed_url_valid(f->url)) {
            char *u = output_scrub(f->url, strlen(f->url), false);
            (void)printf("# failed %s: not a usable URL (no host, spaces, control characters or "
                         "longer than %d bytes)\n",
                         u ? u : "", FEED_URL_MAX);
            free(u);
            status = 1;
            continue;
        }
        char *name = name_for(f, &names);
        if (!name || !strset_add(&names, name, NULL)) {
            free(name);
            output_message("out of memory");
            strset_free(&names);
            return 1;
        }
        (void)printf("%s[feed \"%s\"]\nurl = %s\n", i > 0 ? "\n" : "", name, f->url);
        if (f->n_tags > 0) {
            (void)fputs("tags = ", stdout);
            for (size_t k = 0; k < f->n_tags; k++)
                (void)printf("%s%s", k ? ", " : "", f->tags[k]);
            (void)putchar('\n');
        }
        free(name);
    }
    strset_free(&names);
    return status;
}

/* Calls the daemon; on failure reports why and returns the exit status (1 or 3). */
static int
call(struct client *c, json_t *req, json_t **ret_resp)
{
    char *line = NULL, *err = NULL;
    size_t len = 0;
    int r = client_call(c, req, CLIENT_TIMEOUT_MS, &line, &len, ret_resp, &err);
    free(line);
    if (r < 0) {
        output_message("%s", err ? err : strerror(-r));
        free(err);
        return client_error_unreachable(r) ? 3 : 1;
    }
    return 0;
}

/* Connects and asks for `feeds`; 0 with *ret_client and *ret_feeds (the array), or a status. */
static int
daemon_feeds(const char *socket, struct client **ret_client, json_t **ret_resp,
             const json_t **ret_feeds)
{
    char *err = NULL;
    int r = client_connect(socket, CLIENT_TIMEOUT_MS, ret_client, &err);
    if (r < 0) {
        output_message("cannot reach feedwatchd at %s: %s", socket, err ? err : strerror(-r));
        free(err);
        return 3;
    }
    json_t *req = json_pack("{s:s}", "cmd", "feeds");
    if (!req) {
        output_message("out of memory");
        return 1;
    }
    r = call(*ret_client, req, ret_resp);
    json_decref(req);
    if (r != 0)
        return r;
    const json_t *feeds = json_object_get(*ret_resp, "feeds");
    if (!json_is_true(json_object_get(*ret_resp, "ok")) || !json_is_array(feeds)) {
        const char *why = json_string_value(json_object_get(*ret_resp, "error"));
        output_message("%s", why ? why : "invalid response from the daemon: no \"feeds\" array");
        return 1;
    }
    *ret_feeds = feeds;
    return 0;
}

int
opml_import(const struct opml_import_args *a)
{
    struct opml_list list = {0};
    int status = opml_read(a->file, &list);
    for (size_t i = 0; status == 0 && i < list.n; i++)
        for (size_t k = 0; k < a->n_tags; k++)
            feed_add_tag(&list.feeds[i], strdup(a->tags[k]));
    if (status == 0 && a->ini)
        status = print_ini(&list);
    if (status != 0 || a->ini)
        goto out;

    struct client *c = NULL;
    json_t *resp = NULL;
    const json_t *feeds = NULL;
    struct strset names = {0}, urls = {0};
    status = daemon_feeds(a->socket, &c, &resp, &feeds);
    size_t i;
    const json_t *jf;
    json_array_foreach(status == 0 ? feeds : NULL, i, jf)
    {
        const char *name = json_string_value(json_object_get(jf, "name"));
        const char *keys[] = {"url", "configured_url"};
        if (!name)
            continue;
        bool ok = strset_add(&names, name, NULL);
        for (size_t k = 0; ok && k < 2; k++) {
            const char *u = json_string_value(json_object_get(jf, keys[k]));
            char *norm = u ? url_normal(u) : NULL;
            ok = !u || (norm && strset_add(&urls, norm, name));
            free(norm);
        }
        if (!ok) {
            output_message("out of memory");
            status = 1;
            break;
        }
    }
    for (i = 0; status == 0 && i < list.n; i++) {
        const struct opml_feed *f = &list.feeds[i];
        if (!url_is_http(f->url)) {
            say("skipped %s (not an http or https URL)", f->url);
            continue;
        }
        char *norm = url_normal(f->url);
        long at = norm ? strset_find(&urls, norm) : -1;
        if (at >= 0) {
            say("skipped %s (already watched as %s)", f->url, urls.extra[at]);
            free(norm);
            continue;
        }
        char *name = norm ? name_for(f, &names) : NULL;
        if (!name || !strset_add(&names, name, NULL) || !strset_add(&urls, norm, name)) {
            free(norm);
            free(name);
            output_message("out of memory");
            status = 1;
            break;
        }
        free(norm);
        if (a->dry_run) {
            say("would add %s %s", name, f->url);
            free(name);
            continue;
        }
        json_t *tags = json_array();
        for (size_t k = 0; tags && k < f->n_tags; k++)
            if (json_array_append_new(tags, json_string(f->tags[k])) < 0) {
                json_decref(tags);
                tags = NULL;
            }
        json_t *req = tags ? json_pack("{s:s, s:s, s:s, s:o}", "cmd", "add", "name", name, "url",
                                       f->url, "tags", tags)
                           : NULL;
        json_t *answer = NULL;
        if (!req) {
            say("failed %s: cannot build the request (out of memory)", f->url);
            status = 1;
            free(name);
            continue;
        }
        int r = call(c, req, &answer);
        json_decref(req);
        if (r == 3) {
            status = 3;
            free(name);
            break;
        }
        if (r == 0 && json_is_true(json_object_get(answer, "ok"))) {
            say("added %s %s", name, f->url);
        } else {
            const char *why = json_string_value(json_object_get(answer, "error"));
            say("failed %s: %s", f->url, why ? why : "the daemon reported an error");
            status = 1;
        }
        json_decref(answer);
        free(name);
    }
    strset_free(&names);
    strset_free(&urls);
    json_decref(resp);
    client_free(c);
out:
    for (size_t k = 0; k < list.n; k++)
        feed_done(&list.feeds[k]);
    free(list.feeds);
    return status;
}

/* ---- export ---- */

/* The first tag of a `feeds` entry, or NULL. */
static const char *
first_tag(const json_t *f)
{
    return json_string_value(json_array_get(json_object_get(f, "tags"), 0));
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One feed outline. 0 or -1 (a writer error). */
static int
write_feed(xmlTextWriterPtr w, const json_t *f)
{
    const char *name = json_string_value(json_object_get(f, "name"));
    const char *url = json_string_value(json_object_get(f, "configured_url"));
    const char *in_use = json_string_value(json_object_get(f, "url"));
    if (in_use)
        url = in_use;
    if (!name || !url)
        return 0;
    const json_t *tags = json_object_get(f, "tags");
    char *cats = NULL;
    size_t cats_len = 0;
    FILE *m = json_array_size(tags) > 0 ? open_memstream(&cats, &cats_len) : NULL;
    if (json_array_size(tags) > 0 && !m)
        return -1;
    for (size_t i = 0; m && i < json_array_size(tags); i++) {
        const char *t = json_string_value(json_array_get(tags, i));
        if (t)
            (void)fprintf(m, "%s/%s", i ? "," : "", t);
    }
    if (m && fclose(m) != 0) {
        free(cats);
        return -1;
    }
    int r = 0;
    r |= xmlTextWriterStartElement(w, BAD_CAST "outline") < 0;
    r |= xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST "rss") < 0;
    r |= xmlTextWriterWriteAttribute(w, BAD_CAST "text", BAD_CAST name) < 0;
    r |= xmlTextWriterWriteAttribute(w, BAD_CAST "title", BAD_CAST name) < 0;
    r |= xmlTextWriterWriteAttribute(w, BAD_CAST "xmlUrl", BAD_CAST url) < 0;
    if (cats)
        r |= xmlTextWriterWriteAttribute(w, BAD_CAST "category", BAD_CAST cats) < 0;
    r |= xmlTextWriterEndElement(w) < 0;
    free(cats);
    return r ? -1 : 0;
}

/* The OPML document of a `feeds` array into buf. 0 or -1. */
static int
write_opml(xmlBufferPtr buf, const json_t *feeds)
{
    xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
    if (!w)
        return -1;
    size_t n = json_array_size(feeds), n_folders = 0;
    const char **folders = calloc(n ? n : 1, sizeof(*folders));
    int r = folders ? 0 : 1;
    for (size_t i = 0; folders && i < n; i++) {
        const char *t = first_tag(json_array_get(feeds, i));
        bool seen = false;
        for (size_t k = 0; t && k < n_folders && !seen; k++)
            seen = strcmp(folders[k], t) == 0;
        if (t && !seen)
            folders[n_folders++] = t;
    }
    if (folders)
        qsort(folders, n_folders, sizeof(*folders), cmp_str);
    r |= xmlTextWriterSetIndent(w, 1) < 0;
    r |= xmlTextWriterSetIndentString(w, BAD_CAST "  ") < 0;
    r |= xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0;
    r |= xmlTextWriterStartElement(w, BAD_CAST "opml") < 0;
    r |= xmlTextWriterWriteAttribute(w, BAD_CAST "version", BAD_CAST "2.0") < 0;
    r |= xmlTextWriterStartElement(w, BAD_CAST "head") < 0;
    r |= xmlTextWriterWriteElement(w, BAD_CAST "title", BAD_CAST "feedwatch feeds") < 0;
    r |= xmlTextWriterEndElement(w) < 0;
    r |= xmlTextWriterStartElement(w, BAD_CAST "body") < 0;
    for (size_t k = 0; !r && k < n_folders; k++) {
        r |= xmlTextWriterStartElement(w, BAD_CAST "outline") < 0;
        r |= xmlTextWriterWriteAttribute(w, BAD_CAST "text", BAD_CAST folders[k]) < 0;
        r |= xmlTextWriterWriteAttribute(w, BAD_CAST "title", BAD_CAST folders[k]) < 0;
        for (size_t i = 0; !r && i < n; i++) {
            const json_t *f = json_array_get(feeds, i);
            const char *t = first_tag(f);
            if (t && strcmp(t, folders[k]) == 0)
                r |= write_feed(w, f) < 0;
        }
        r |= xmlTextWriterEndElement(w) < 0;
    }
    for (size_t i = 0; !r && i < n; i++) {
        const json_t *f = json_array_get(feeds, i);
        if (!first_tag(f))
            r |= write_feed(w, f) < 0;
    }
    r |= xmlTextWriterEndDocument(w) < 0; /* closes body and opml */
    xmlFreeTextWriter(w);
    free(folders);
    return r ? -1 : 0;
}

int
opml_export(const char *socket)
{
    struct client *c = NULL;
    json_t *resp = NULL;
    const json_t *feeds = NULL;
    int status = daemon_feeds(socket, &c, &resp, &feeds);
    client_free(c);
    if (status == 0 && json_is_true(json_object_get(resp, "urls_hidden"))) {
        output_message("export: the daemon shows feed URLs only to root and its own user "
                       "(the socket's group sees scheme and host)");
        status = 1;
    }
    if (status != 0) {
        json_decref(resp);
        return status;
    }
    xmlBufferPtr buf = xmlBufferCreate();
    if (!buf || write_opml(buf, feeds) < 0) {
        output_message("cannot write the OPML document (out of memory?)");
        status = 1;
    } else {
        size_t n = (size_t)xmlBufferLength(buf);
        (void)fwrite(xmlBufferContent(buf), 1, n, stdout);
        if (n > 0 && xmlBufferContent(buf)[n - 1] != '\n')
            (void)putchar('\n');
    }
    xmlBufferFree(buf);
    json_decref(resp);
    return status;
}
