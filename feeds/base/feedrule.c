/* feedrule.c — the rule for a feed's name, URL and tags (feedrule.h). */
#include "base/feedrule.h"

#include <string.h>
#include <strings.h>

bool
feed_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > FEED_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool
feed_url_valid(const char *url)
{
    size_t n = strlen(url), host;

    if (n > FEED_URL_MAX)
        return false;
    if (strncasecmp(url, "http://", 7) == 0)
        host = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        host = 8;
    else
        return false;
    if (url[host] == '\0' || url[host] == '/' || url[host] == '?' || url[host] == '#')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
            return false;
    return true;
}

bool
feed_tag_valid(const char *tag, size_t n)
{
    if (n == 0 || n > FEED_TAG_MAX || tag[0] == ' ' || tag[0] == '\t' || tag[n - 1] == ' ' ||
        tag[n - 1] == '\t')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)tag[i] < 0x20 || tag[i] == 0x7f || tag[i] == ',')
            return false;
    return true;
}
