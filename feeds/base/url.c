/* url.c — scheme sniffing and reference resolution. */
#include "base/url.h"

#include <errno.h>
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
char *
url_redact(const char *url)
{
    if (!url)
        return NULL;
    const char *sep = strstr(url, "://");
    const char *auth = sep ? sep + 3 : (strncmp(url, "//", 2) == 0 ? url + 2 : NULL);
    const char *at = NULL;
    if (auth) {
        size_t len = strcspn(auth, "/?#");
        for (size_t i = 0; i < len; i++)
            if (auth[i] == '@')
                at = auth + i; /* the last '@' of the authority ends the userinfo */
    }
    if (!at)
        return strdup(url);
    size_t head = (size_t)(auth - url), tail = strlen(at);
    char *out = malloc(head + 3 + tail + 1);
    if (!out)
        return NULL;
    memcpy(out, url, head);
    memcpy(out + head, "***", 3);
    memcpy(out + head + 3, at, tail + 1);
    return out;
}
