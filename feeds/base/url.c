/* url.c — scheme sniffing, reference resolution, and what others may see of a URL. */
#include "base/url.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

#include <libxml/uri.h>
#include <libxml/xmlmemory.h>

/* Writes the lower-case scheme of s into buf; false when s has none. */
bool
url_scheme(const char *s, char *buf, size_t size)
{
    size_t n = 0;

    if (!s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (; s[n] && s[n] != ':'; n++) {
        char c = s[n];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            return false;
    }
    if (s[n] != ':' || n + 1 > size)
        return false;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i]);
    buf[n] = '\0';
    return true;
}

static int
dup_xml(xmlChar *x, char **ret)
{
    char *s;

    if (!x) {
        *ret = NULL;
        return 0;
    }
    s = strdup((const char *)x);
    xmlFree(x);
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

/* Resolves ref against base; see url.h. */
int
url_resolve(const char *base, const char *ref, char **ret)
{
    char scheme[32];
    xmlChar *built, *escaped;
    char *s;

    if (url_scheme(ref, scheme, sizeof(scheme)) || !base ||
        !url_scheme(base, scheme, sizeof(scheme))) {
        s = strdup(ref);
        if (!s)
            return -ENOMEM;
        *ret = s;
        return 0;
    }
    built = xmlBuildURI((const xmlChar *)ref, (const xmlChar *)base);
    if (!built) {
        /*
         * libxml2 refuses references with spaces or non-ASCII bytes (IRIs), which feeds do
         * publish; percent-encode what RFC 3986 does not allow and try once more.
         */
        escaped = xmlURIEscapeStr((const xmlChar *)ref, (const xmlChar *)":/?#[]@!$&'()*+,;=%~");
        if (!escaped)
            return -ENOMEM;
        built = xmlBuildURI(escaped, (const xmlChar *)base);
        xmlFree(escaped);
    }
    return dup_xml(built, ret);
}

/* url with the userinfo of its authority replaced by "***@"; url itself when it has none. */
/* Parameter names whose values are secrets (lower case; see url_secret_name). */
static const char *const url_secret_words[] = {
    "token",  "access_token", "api_key", "apikey", "key",       "secret",  "password",
    "passwd", "pass",         "auth",    "sig",    "signature", "session", "sid",
};

/*
 * Whether a query parameter's name (n bytes, still percent-encoded) names a secret: one of
 * url_secret_words, case-insensitive, alone or as its last word after '-', '_' or '.' or a
 * camelCase capital ("x-api-key", "client_secret", "accessToken").
 */
static bool
url_secret_name(const char *name, size_t n)
{
    char raw[64], low[64];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '%' && i + 2 < n && isxdigit((unsigned char)name[i + 1]) &&
            isxdigit((unsigned char)name[i + 2])) {
            char hex[3] = {name[i + 1], name[i + 2], '\0'};
            c = (unsigned char)strtoul(hex, NULL, 16);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (len == sizeof(raw))
            return false; /* no secret's name is this long */
        raw[len] = (char)c;
        low[len++] = (char)tolower(c);
    }
    for (size_t w = 0; w < sizeof(url_secret_words) / sizeof(url_secret_words[0]); w++) {
        size_t wl = strlen(url_secret_words[w]);
        if (wl > len || memcmp(low + len - wl, url_secret_words[w], wl) != 0)
            continue;
        size_t at = len - wl;
        if (at == 0 || low[at - 1] == '-' || low[at - 1] == '_' || low[at - 1] == '.' ||
            (isupper((unsigned char)raw[at]) && !isupper((unsigned char)raw[at - 1])))
            return true;
    }
    return false;
}

/*
 * The '@' that ends url's userinfo (the last '@' of the authority), NULL when it has none;
 * *auth is where the authority starts (after "://" or a leading "//"), or NULL.
 */
static const char *
url_userinfo_end(const char *url, const char **auth)
{
    const char *sep = strstr(url, "://");
    const char *a = sep ? sep + 3 : (strncmp(url, "//", 2) == 0 ? url + 2 : NULL);
    const char *at = NULL;
    if (a) {
        size_t alen = strcspn(a, "/?#");
        for (size_t i = 0; i < alen; i++)
            if (a[i] == '@')
                at = a + i;
    }
    *auth = a;
    return at;
}

/* url without its userinfo (url.h). */
char *
url_strip_userinfo(const char *url)
{
    if (!url)
        return NULL;
    const char *auth;
    const char *at = url_userinfo_end(url, &auth);
    if (!at)
        return strdup(url);
    size_t head = (size_t)(auth - url), rest = strlen(at + 1);
    char *out = malloc(head + rest + 1);
    if (!out)
        return NULL;
    memcpy(out, url, head);
    memcpy(out + head, at + 1, rest + 1);
    return out;
}

char *
url_redact(const char *url)
{
    if (!url)
        return NULL;
    size_t len = strlen(url);
    if (len > (SIZE_MAX - 4) / 3)
        return NULL;
    char *out = malloc(3 * len + 4); /* each value of 1 byte or more may become "***" */
    if (!out)
        return NULL;
    /* The userinfo of the authority ("user:password@") becomes "***@". */
    const char *auth;
    const char *at = url_userinfo_end(url, &auth);
    size_t o = 0;
    const char *p = url;
    if (at) {
        memcpy(out, url, (size_t)(auth - url));
        o = (size_t)(auth - url);
        memcpy(out + o, "***", 3);
        o += 3;
        p = at;
    }
    /*
     * The values of the query's (and the fragment's) parameters whose names name secrets
     * ("?token=...", "&x-api-key=...") become "***".
     */
    const char *q = strpbrk(p, "?#");
    if (!q) {
        memcpy(out + o, p, strlen(p) + 1);
        return out;
    }
    memcpy(out + o, p, (size_t)(q - p));
    o += (size_t)(q - p);
    p = q;
    while (*p) {
        out[o++] = *p++; /* '?', '#', '&' or ';' */
        size_t plen = strcspn(p, "&;#");
        const char *eq = memchr(p, '=', plen);
        if (eq && eq + 1 < p + plen && url_secret_name(p, (size_t)(eq - p))) {
            size_t nl = (size_t)(eq - p) + 1;
            memcpy(out + o, p, nl);
            memcpy(out + o + nl, "***", 3);
            o += nl + 3;
        } else {
            memcpy(out + o, p, plen);
            o += plen;
        }
        p += plen;
    }
    out[o] = '\0';
    return out;
}

/* Where the parts of a URL are (offsets into it): what url_brief shows and hides. */
struct url_parts {
    size_t scheme;   /* bytes of "scheme:" (0: no scheme) */
    bool authority;  /* "//" follows the scheme */
    size_t user;     /* the userinfo is [user, host - 1) when host > user ('@' ends it) */
    size_t host;     /* host[:port] is [host, path) */
    size_t path;     /* the path is [path, query) */
    size_t query;    /* the query ("?...") is [query, fragment) */
    size_t fragment; /* the fragment ("#...") is [fragment, len) */
    size_t len;
};

static void
url_split(const char *url, struct url_parts *u)
{
    size_t n = 0;

    *u = (struct url_parts){.len = strlen(url)};
    if ((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')) {
        while (url[n] &&
               (isalnum((unsigned char)url[n]) || url[n] == '+' || url[n] == '-' || url[n] == '.'))
            n++;
        if (url[n] == ':')
            u->scheme = n + 1;
    }
    size_t p = u->scheme;
    u->user = u->host = p;
    if (u->scheme && url[p] == '/' && url[p + 1] == '/') {
        u->authority = true;
        p += 2;
        u->user = u->host = p;
        size_t end = p + strcspn(url + p, "/?#");
        for (size_t i = p; i < end; i++)
            if (url[i] == '@')
                u->host = i + 1; /* the last '@' of the authority ends the userinfo */
        p = end;
    }
    u->path = p;
    u->query = p + strcspn(url + p, "?#");
    u->fragment = url[u->query] == '?' ? u->query + strcspn(url + u->query, "#") : u->query;
}

#define URL_HIDDEN "\xe2\x80\xa6" /* "…": what url_brief shows in place of a part */

/* Appends to b what url_brief shows of the path, query and fragment of url. */
static int
url_brief_tail(struct buf *b, const char *url, const struct url_parts *u)
{
    int r = 0;
    size_t path = u->query - u->path;

    if (path == 1 && url[u->path] == '/')
        r = buf_append_char(b, '/');
    else if (path > 0)
        r = buf_append_str(b, "/" URL_HIDDEN);
    if (r == 0 && u->fragment > u->query)
        r = buf_append_str(b, "?" URL_HIDDEN);
    if (r == 0 && u->len > u->fragment)
        r = buf_append_str(b, "#" URL_HIDDEN);
    return r;
}

/* url_brief(url) into b. */
static int
url_brief_into(struct buf *b, const char *url, const struct url_parts *u)
{
    int r;

    if (!u->scheme)
        return u->len ? buf_append_str(b, URL_HIDDEN) : 0;
    if ((r = buf_append(b, url, u->scheme)) < 0)
        return r;
    if (!u->authority)
        return u->len > u->scheme ? buf_append_str(b, URL_HIDDEN) : 0;
    if ((r = buf_append(b, "//", 2)) < 0 ||
        (r = buf_append(b, url + u->host, u->path - u->host)) < 0)
        return r;
    return url_brief_tail(b, url, u);
}

char *
url_brief(const char *url)
{
    struct url_parts u;
    struct buf b;

    if (!url)
        return NULL;
    url_split(url, &u);
    buf_init(&b, SIZE_MAX / 2);
    if (url_brief_into(&b, url, &u) < 0) {
        buf_done(&b);
        return NULL;
    }
    char *s = b.data ? buf_steal(&b) : strdup("");
    buf_done(&b);
    return s;
}

/* One part of a URL that url_brief_text looks for, and what shows in its place. */
struct url_needle {
    const char *s;
    size_t len;
    char *with; /* malloc'ed */
};

/* Adds the needle s[0..len) shown as with (taken; NULL: out of memory) to v; -ENOMEM. */
static int
url_needle_add(struct url_needle *v, size_t *n, const char *s, size_t len, char *with)
{
    if (!with)
        return -ENOMEM;
    if (len < 2 || (strlen(with) == len && memcmp(s, with, len) == 0)) {
        free(with); /* too short to be told from other text, or nothing hidden */
        return 0;
    }
    v[(*n)++] = (struct url_needle){s, len, with};
    return 0;
}

/* A malloc'ed string: what url_brief_tail shows of the parts of url from its path on. */
static char *
url_brief_tail_str(const char *url, const struct url_parts *u)
{
    struct buf b;

    buf_init(&b, 64);
    int r = url_brief_tail(&b, url, u);
    char *s = r == 0 && b.data ? buf_steal(&b) : (r == 0 ? strdup("") : NULL);
    buf_done(&b);
    return s;
}

char *
url_brief_text(const char *text, const char *url)
{
    struct url_needle v[6];
    size_t n = 0;
    struct url_parts u;
    struct buf b;
    int r = 0;

    if (!text)
        return NULL;
    if (!url)
        return strdup(text);
    url_split(url, &u);
    /* The longest first: the URL, its tail from the path on, then its parts alone. */
    buf_init(&b, SIZE_MAX / 2);
    r = url_brief_into(&b, url, &u);
    r = r < 0 ? r : url_needle_add(v, &n, url, u.len, b.data ? buf_steal(&b) : strdup(""));
    buf_done(&b);
    if (r == 0 && u.authority)
        r = url_needle_add(v, &n, url + u.path, u.len - u.path, url_brief_tail_str(url, &u));
    else if (r == 0 && u.scheme)
        r = url_needle_add(v, &n, url + u.scheme, u.len - u.scheme, strdup(URL_HIDDEN));
    if (r == 0 && u.query > u.path)
        r = url_needle_add(v, &n, url + u.path, u.query - u.path,
                           strdup(u.authority ? "/" URL_HIDDEN : URL_HIDDEN));
    if (r == 0 && u.fragment > u.query)
        r = url_needle_add(v, &n, url + u.query, u.fragment - u.query, strdup("?" URL_HIDDEN));
    if (r == 0 && u.host > u.user)
        r = url_needle_add(v, &n, url + u.user, u.host - 1 - u.user, strdup("***"));
    if (r == 0 && u.len > u.fragment)
        r = url_needle_add(v, &n, url + u.fragment, u.len - u.fragment, strdup("#" URL_HIDDEN));
    buf_init(&b, SIZE_MAX / 2);
    for (const char *p = text; r == 0 && *p;) {
        size_t k = 0;
        while (k < n && strncmp(p, v[k].s, v[k].len) != 0)
            k++;
        if (k < n) {
            r = buf_append_str(&b, v[k].with);
            p += v[k].len;
        } else {
            r = buf_append_char(&b, *p++);
        }
    }
    for (size_t k = 0; k < n; k++)
        free(v[k].with);
    char *s = r == 0 ? (b.data ? buf_steal(&b) : strdup("")) : NULL;
    buf_done(&b);
    return s;
}

/* s[0..n) with each "%XX" decoded (malloc'ed, NUL-terminated, length in *ret_len); NULL: OOM. */
static char *
url_unescape(const char *s, size_t n, size_t *ret_len)
{
    char *out = malloc(n + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && n - i > 2 && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], '\0'};
            out[o++] = (char)strtoul(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    *ret_len = o;
    return out;
}

/*
 * Whether the path p (pl bytes) shows the feed's path f (fl bytes; neither empty nor "/"),
 * both decoded: it starts with f (f itself, below it, or a name that extends its last segment:
 * "/cal/SECRET.html" beside the feed "/cal/SECRET", review17), starts with f's last segment
 * without its extension ("/cal/SECRET.html" beside "/cal/SECRET.ics"), or is one of f's
 * directories but "/" (a prefix of f that ends with '/' or is followed in f by '/').
 */
static bool
url_path_shows(const char *p, size_t pl, const char *f, size_t fl)
{
    if (pl >= fl && memcmp(p, f, fl) == 0)
        return true;
    const char *slash = memrchr(f, '/', fl);
    size_t seg = slash ? (size_t)(slash - f) + 1 : 0;
    const char *dot = memrchr(f + seg, '.', fl - seg);
    size_t stem = dot ? (size_t)(dot - f) : 0;
    if (stem > seg && pl >= stem && memcmp(p, f, stem) == 0)
        return true;
    if (pl < 2 || pl >= fl || memcmp(f, p, pl) != 0)
        return false;
    return p[pl - 1] == '/' || f[pl] == '/';
}

/*
 * Whether the parameter s[0..n) ("name=value", value not empty) is one of the parameters of
 * t[0..tl) (a query and fragment, from its '?' or '#': parameters between '?', '#', '&', ';').
 */
static bool
url_has_param(const char *t, size_t tl, const char *s, size_t n)
{
    for (size_t i = 0; i < tl;) {
        i++; /* the '?', '#', '&' or ';' before the parameter */
        size_t len = 0;
        while (i + len < tl && !strchr("?#&;", t[i + len]))
            len++;
        if (len == n && memcmp(t + i, s, n) == 0)
            return true;
        i += len;
    }
    return false;
}

/* Whether the query q[0..ql) (without its '?') shows in t[0..tl) (url_has_param). */
static bool
url_query_shows(const char *t, size_t tl, const char *q, size_t ql)
{
    if (ql == 0)
        return false;
    if (tl >= ql && memmem(t, tl, q, ql))
        return true;
    for (size_t i = 0; i < ql;) {
        size_t len = strcspn(q + i, "&;#");
        len = len > ql - i ? ql - i : len;
        const char *eq = memchr(q + i, '=', len);
        if (eq && eq + 1 < q + i + len && url_has_param(t, tl, q + i, len))
            return true;
        i += len + 1;
    }
    return false;
}

/*
 * Whether a value of a feed's query, v[0..n) decoded, looks like a token (review17 F3): 8
 * bytes or more, with a digit or with letters of both cases ("S3cr3tTok", "a1b2c3d4e5"), so
 * that it is hidden wherever it shows; words ("technology", "world-news") are not.
 */
static bool
url_token_like(const char *v, size_t n)
{
    bool digit = false, upper = false, lower = false;
    if (n < 8)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        digit |= c >= '0' && c <= '9';
        upper |= c >= 'A' && c <= 'Z';
        lower |= c >= 'a' && c <= 'z';
    }
    return digit || (upper && lower);
}

/*
 * Whether a token-like value of the query q[0..ql) (without its '?') shows anywhere in
 * url[0..ul): in its path, under another name, percent-escaped or not (review17 F3: a server
 * that echoes the feed's token into its articles' links). True when memory runs out.
 */
static bool
url_query_token_shows(const char *url, size_t ul, const char *q, size_t ql)
{
    char *du = NULL;
    size_t dul = 0;
    bool shows = false;
    for (size_t i = 0; i < ql && !shows;) {
        size_t len = strcspn(q + i, "&;#");
        len = len > ql - i ? ql - i : len;
        const char *eq = memchr(q + i, '=', len);
        if (eq) {
            const char *v = eq + 1;
            size_t vl = (size_t)(q + i + len - v), dvl;
            char *dv = url_unescape(v, vl, &dvl);
            if (!dv) {
                shows = true; /* out of memory: as far as the caller can tell */
            } else if (url_token_like(dv, dvl)) {
                if (!du && !(du = url_unescape(url, ul, &dul)))
                    shows = true;
                else
                    shows = memmem(url, ul, v, vl) || memmem(du, dul, dv, dvl);
            }
            free(dv);
        }
        i += len + 1;
    }
    free(du);
    return shows;
}

bool
url_shows_feed(const char *url, const char *feed_url)
{
    struct url_parts u, f;

    if (!url || !feed_url)
        return false;
    url_split(url, &u);
    url_split(feed_url, &f);
    /* The feed's userinfo, and its password alone, anywhere. */
    if (f.host > f.user) {
        const char *ui = feed_url + f.user;
        size_t ul = f.host - 1 - f.user;
        const char *colon = memchr(ui, ':', ul);
        if (ul >= 2 && memmem(url, u.len, ui, ul))
            return true;
        if (colon && (size_t)(ui + ul - colon - 1) >= 2 &&
            memmem(url, u.len, colon + 1, (size_t)(ui + ul - colon - 1)))
            return true;
    }
    /* The feed's query, whole or by a name=value parameter, in url's query or fragment. */
    if (f.fragment > f.query && url_query_shows(url + u.query, u.len - u.query,
                                                feed_url + f.query + 1, f.fragment - f.query - 1))
        return true;
    /* A token-like value of the feed's query anywhere. */
    if (f.fragment > f.query &&
        url_query_token_shows(url, u.len, feed_url + f.query + 1, f.fragment - f.query - 1))
        return true;
    /* The feed's path, below it, or one of its directories, on any host. */
    size_t fpl = f.query - f.path;
    if (fpl == 0 || (fpl == 1 && feed_url[f.path] == '/'))
        return false;
    size_t pl, fl;
    char *p = url_unescape(url + u.path, u.query - u.path, &pl);
    char *fp = url_unescape(feed_url + f.path, fpl, &fl);
    /* Out of memory: shows, as far as the caller can tell (it briefs url). */
    bool shows = !p || !fp || (fl > 1 && url_path_shows(p, pl, fp, fl));
    free(p);
    free(fp);
    return shows;
}

char *
url_item_brief(const char *url, const char *const *feed_urls, size_t n_feed_urls)
{
    char scheme[8];

    if (!url)
        return NULL;
    bool brief = url_scheme(url, scheme, sizeof(scheme)) && strcmp(scheme, "file") == 0;
    for (size_t i = 0; !brief && i < n_feed_urls; i++)
        brief = url_shows_feed(url, feed_urls[i]);
    return brief ? url_brief(url) : url_strip_userinfo(url);
}
