/*
 * fuzz.h — the libFuzzer entry point every tests/fuzz/fuzz_<module>.c defines.
 *
 * Built two ways (tests/fuzz/CMakeLists.txt): with replay.c as an ordinary program that runs
 * a corpus plus seeded mutations (any compiler), and with clang -fsanitize=fuzzer as a real
 * libFuzzer binary. A target aborts (assert) when the code under test breaks its contract.
 */
#ifndef FEEDWATCH_FUZZ_H
#define FEEDWATCH_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Runs the code under test on one input; always returns 0 (libFuzzer's convention). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when s (may be NULL) is well-formed UTF-8: no overlongs, surrogates or > U+10FFFF. */
static inline bool
fuzz_utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (!s)
        return true;
    while (*p) {
        unsigned c = *p, cp;
        size_t n;

        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

#endif
