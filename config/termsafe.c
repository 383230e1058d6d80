#include "termsafe.h"

enum termsafe_class
termsafe_class(uint32_t cp)
{
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
        return TERMSAFE_CONTROL;
    if (cp == 0x2028 || cp == 0x2029)
        return TERMSAFE_SEPARATOR;
    if (cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
        (cp >= 0x2066 && cp <= 0x2069))
        return TERMSAFE_BIDI;
    return TERMSAFE_TEXT;
}

/* Whether byte b continues a UTF-8 sequence. */
static int
cont(unsigned char b)
{
    return (b & 0xc0) == 0x80;
}

size_t
termsafe_utf8(const unsigned char *s, size_t n, uint32_t *cp, enum termsafe_class *cls)
{
    uint32_t c;
    size_t len;
    if (n >= 2 && s[0] >= 0xc2 && s[0] <= 0xdf && cont(s[1])) {
        c = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3fu);
        len = 2;
    } else if (n >= 3 && s[0] >= 0xe0 && s[0] <= 0xef && cont(s[1]) && cont(s[2]) &&
               (s[0] != 0xe0 || s[1] >= 0xa0)) {
        c = ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3fu);
        len = 3;
    } else {
        return 0;
    }
    enum termsafe_class k = termsafe_class(c);
    if (k == TERMSAFE_TEXT)
        return 0;
    *cp = c;
    *cls = k;
    return len;
}
