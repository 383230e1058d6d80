/* utf8.c — UTF-8 over whole strings (utf8.h); one sequence at a time is inline there. */
#include "base/utf8.h"

size_t
utf8_valid_prefix(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        int k = utf8_len(u + i, n - i);
        if (k <= 0)
            return i;
        i += (size_t)k;
    }
    return n;
}

size_t
utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}
