/*
 * test_daemon_log.c — the logger never lets a control or bidirectional character through raw:
 * not through log_quote(), and not through log_emit() when a caller forgot to quote.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "termsafe.h"

/* Every character that must never reach a log line raw, as UTF-8. */
static const char *const forbidden[] = {
    "\x01",         "\x1b",         "\r",           "\x7f",     /* C0, DEL */
    "\xc2\x80",     "\xc2\x85",     "\xc2\x9b",     "\xc2\x9f", /* C1 (NEL, CSI) */
    "\xe2\x80\x8e", "\xe2\x80\x8f", "\xd8\x9c",                 /* LRM, RLM, ALM */
    "\xe2\x80\xa8", "\xe2\x80\xa9",                             /* line, paragraph separators */
    "\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad", "\xe2\x80\xae", /* LRE..RLO */
    "\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9",                 /* LRI..PDI */
};

static void
assert_clean(const char *s)
{
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        if (strstr(s, forbidden[i])) {
            print_error("raw character %zu in '%s'\n", i, s);
            fail();
        }
    }
}

static void
test_log_quote_escapes_bidi_and_controls(void **state)
{
    (void)state;
    char buf[LOG_QUOTE_MAX];
    assert_string_equal(log_quote("evil\xe2\x80\xaegpj.exe", buf, sizeof(buf)),
                        "evil\\u202egpj.exe");
    assert_string_equal(log_quote("a\xc2\x9b"
                                  "31mb",
                                  buf, sizeof(buf)),
                        "a\\u009b31mb");
    assert_string_equal(log_quote("\xe2\x81\xa6x\xe2\x81\xa9", buf, sizeof(buf)),
                        "\\u2066x\\u2069");
    assert_string_equal(log_quote("\xe2\x80\x8f\xe2\x80\x8e", buf, sizeof(buf)), "\\u200f\\u200e");
    assert_string_equal(log_quote("l1\nl2\x1b[1m'\\", buf, sizeof(buf)), "l1\\nl2\\x1b[1m\\'\\\\");
    /* Characters beside them stay as they are: é, the dash and the ellipsis, a CJK word. */
    assert_string_equal(log_quote("caf\xc3\xa9 \xe2\x80\x94 \xe2\x80\xa6 \xe6\x96\xb0\xe9\x97\xbb",
                                  buf, sizeof(buf)),
                        "caf\xc3\xa9 \xe2\x80\x94 \xe2\x80\xa6 \xe6\x96\xb0\xe9\x97\xbb");
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        char in[64];
        snprintf(in, sizeof(in), "x%sy", forbidden[i]);
        assert_clean(log_quote(in, buf, sizeof(buf)));
    }
}

/* Runs log_emit with stderr sent to a file and returns what was written (malloc'd). */
static char *
emitted(const char *fmt, const char *arg)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    log_emit(LOG_LEVEL_WARNING, fmt, arg);
    /* (under JOURNAL_STREAM, set in main: "<4>" and no time, so lines compare exactly) */
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    char *out = calloc(1, 8192);
    assert_non_null(out);
    rewind(tmp);
    size_t n = fread(out, 1, 8191, tmp);
    out[n] = '\0';
    fclose(tmp);
    return out;
}

static void
test_log_emit_escapes_unquoted_strings(void **state)
{
    (void)state;
    char *out = emitted("feed error: %s", "name\xe2\x80\xae"
                                          "fdp.exe\nforged line\xc2\x85");
    /* A newline that was not quoted starts an indented line: nothing passes for an entry. */
    assert_string_equal(out, "<4>feed error: name\\u202efdp.exe\n<4>  forged line\\u0085\n");
    free(out);
    /* The daemon's own messages of several lines: each further line indented. */
    out = emitted("config: reload failed:\n%s", "a.conf:1: x: bad\nb.conf:2: y: worse");
    assert_string_equal(
        out, "<4>config: reload failed:\n<4>  a.conf:1: x: bad\n<4>  b.conf:2: y: worse\n");
    free(out);
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        out = emitted("%s", forbidden[i]);
        /* One line: the only newline is the last byte. */
        assert_non_null(strchr(out, '\n'));
        assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
        out[strlen(out) - 1] = '\0';
        assert_clean(out);
        free(out);
    }
    /* A long line is cut, still one line, still clean. */
    char *big = malloc(20000);
    assert_non_null(big);
    for (size_t i = 0; i + 3 < 20000; i += 3)
        memcpy(big + i, "\xe2\x80\xae", 3);
    big[19998] = '\0';
    out = emitted("%s", big);
    assert_true(strlen(out) < 4200);
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
    out[strlen(out) - 1] = '\0';
    assert_clean(out);
    free(out);
    free(big);
}

/* The log escapes exactly what config/termsafe.h names, so it matches the CLI's scrub. */
static void
test_log_escapes_the_shared_set(void **state)
{
    (void)state;
    char buf[LOG_QUOTE_MAX];
    for (uint32_t cp = 0x01; cp < 0x10000; cp++) {
        if ((cp >= 0xd800 && cp <= 0xdfff) || cp == '\'' || cp == '\\')
            continue;
        char in[8] = {0};
        if (cp < 0x80) {
            in[0] = (char)cp;
        } else if (cp < 0x800) {
            in[0] = (char)(0xc0 | (cp >> 6));
            in[1] = (char)(0x80 | (cp & 0x3f));
        } else {
            in[0] = (char)(0xe0 | (cp >> 12));
            in[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
            in[2] = (char)(0x80 | (cp & 0x3f));
        }
        bool raw = strcmp(log_quote(in, buf, sizeof(buf)), in) == 0;
        if (raw != (termsafe_class(cp) == TERMSAFE_TEXT)) {
            print_error("U+%04X: %s\n", (unsigned)cp, raw ? "raw" : "escaped");
            fail();
        }
    }
}

/* A URL in the log: its userinfo and secret-named query values hidden, then quoted. */
static void
test_log_quote_url_redacts_then_quotes(void **state)
{
    (void)state;
    char buf[LOG_QUOTE_MAX];
    assert_string_equal(log_quote_url("https://u:pw@h/f.xml?token=T0K&lang=en#c", buf, sizeof(buf)),
                        "https://***@h/f.xml?token=***&lang=en#c");
    assert_string_equal(log_quote_url("https://h/a'b?x-api-key=K\nx", buf, sizeof(buf)),
                        "https://h/a\\'b?x-api-key=***");
    assert_string_equal(log_quote_url("https://h/story.html", buf, sizeof(buf)),
                        "https://h/story.html");
    assert_string_equal(log_quote_url(NULL, buf, sizeof(buf)), "(null)");
}

int
main(void)
{
    setenv("JOURNAL_STREAM", "8:1", 1);
    log_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_quote_escapes_bidi_and_controls),
        cmocka_unit_test(test_log_emit_escapes_unquoted_strings),
        cmocka_unit_test(test_log_escapes_the_shared_set),
        cmocka_unit_test(test_log_quote_url_redacts_then_quotes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
