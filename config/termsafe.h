/*
 * termsafe.h — the one table of characters that must not reach a terminal or a log raw,
 * shared by the daemon's log (daemon/log.c) and the CLI's output (cli/output.c) so that the
 * two cannot drift apart. Pure functions, no state.
 */
#ifndef FEEDWATCH_TERMSAFE_H
#define FEEDWATCH_TERMSAFE_H

#include <stddef.h>
#include <stdint.h>

enum termsafe_class {
    TERMSAFE_TEXT = 0,  /* shown as it is */
    TERMSAFE_CONTROL,   /* C0 controls (tab and line feed too), DEL, C1 controls */
    TERMSAFE_SEPARATOR, /* U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR */
    TERMSAFE_BIDI,      /* bidi marks, embeddings, overrides, isolates: U+061C, U+200E,
                         * U+200F, U+202A-U+202E, U+2066-U+2069 */
};

/* What code point cp is for a terminal. */
enum termsafe_class termsafe_class(uint32_t cp);

/*
 * When the n bytes at s start with the UTF-8 form (2 or 3 bytes) of a code point above
 * U+007F that is not TERMSAFE_TEXT, its length, with the code point in *cp and its class in
 * *cls; 0 otherwise (plain text, ASCII, or bytes that are not UTF-8).
 */
size_t termsafe_utf8(const unsigned char *s, size_t n, uint32_t *cp, enum termsafe_class *cls);

#endif
