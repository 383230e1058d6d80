/* url.c — scheme sniffing and reference resolution. */
#include "base/url.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    const char *sep = strstr(url, "://");
    const char *auth = sep ? sep + 3 : (strncmp(url, "//", 2) == 0 ? url + 2 : NULL);
    const char *at = NULL;
    if (auth) {
        size_t alen = strcspn(auth, "/?#");
        for (size_t i = 0; i < alen; i++)
            if (auth[i] == '@')
                at = auth + i; /* the last '@' of the authority ends the userinfo */
    }
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
