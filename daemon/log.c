#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/url.h"
#include "termsafe.h"

enum log_level log_max_level = LOG_LEVEL_NOTICE;
static bool log_prefix;

/* Reads JOURNAL_STREAM and decides whether lines get "<N>" prefixes. */
void
log_setup(void)
{
    log_prefix = getenv("JOURNAL_STREAM") != NULL;
}

/* Sets the most verbose level that is written. */
void
log_set_level(enum log_level level)
{
    log_max_level = level;
}

/*
 * When s starts with a character that must not reach a log raw, writes its escape to esc
 * and returns how many bytes of s it covers; 0 otherwise. Those characters are the ones
 * config/termsafe.h names (the CLI scrubs the same): C0 controls and DEL (\xNN; tab and
 * newline as \t and \n), and as \uXXXX the C1 controls, the line and paragraph separators
 * and the bidirectional controls (U+202E would show a line's end reversed).
 */
static size_t
log_escape_char(const unsigned char *s, char esc[16])
{
    static const char hex[] = "0123456789abcdef";
    if (s[0] == '\n' || s[0] == '\t') {
        esc[0] = '\\';
        esc[1] = s[0] == '\n' ? 'n' : 't';
        esc[2] = '\0';
        return 1;
    }
    if (s[0] < 0x80) {
        if (termsafe_class(s[0]) == TERMSAFE_TEXT)
            return 0;
        snprintf(esc, 16, "\\x%c%c", hex[s[0] >> 4], hex[s[0] & 15]);
        return 1;
    }
    uint32_t cp;
    enum termsafe_class cls;
    size_t avail = !s[1] ? 1 : !s[2] ? 2 : 3;
    size_t n = termsafe_utf8(s, avail, &cp, &cls);
    if (n > 0)
        snprintf(esc, 16, "\\u%04x", (unsigned)cp);
    return n;
}

/*
 * Formats one line and writes it with a single write(2), so lines never interleave. Under the
 * journal the line starts with its "<N>" priority (the journal stamps the time); elsewhere
 * with the UTC time to the millisecond, "2026-12-06T11:16:04.123Z ".
 */
void
log_emit(enum log_level level, const char *fmt, ...)
{
    char raw[4096], line[4096 + 16];
    int saved = errno;
    size_t len = 0;
    if (log_prefix) {
        len = (size_t)snprintf(line, sizeof(line), "<%d>", (int)level);
    } else {
        struct timespec ts;
        struct tm tm;
        if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && gmtime_r(&ts.tv_sec, &tm)) {
            len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
            len +=
                (size_t)snprintf(line + len, sizeof(line) - len, ".%03ldZ ", ts.tv_nsec / 1000000);
        }
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    if (n < 0)
        raw[0] = '\0';
    /*
     * Whatever the caller passed (log_quote() or not), no control or bidi character of a
     * feed, a peer or a library message reaches the log raw.
     */
    for (const unsigned char *p = (const unsigned char *)raw; *p;) {
        char esc[16];
        size_t used = log_escape_char(p, esc);
        if (*p == '\n') {
            /* A message of several lines (the config's errors): each further line gets the
             * priority and two spaces, so none can pass for a line of its own. */
            if (log_prefix)
                snprintf(esc, sizeof(esc), "\n<%d>  ", (int)level);
            else
                snprintf(esc, sizeof(esc), "\n  ");
        }
        size_t el = used ? strlen(esc) : 1;
        if (len + el > sizeof(line) - 2)
            break;
        if (used) {
            memcpy(line + len, esc, el);
            p += used;
        } else {
            line[len] = (char)*p++;
        }
        len += el;
    }
    line[len++] = '\n';
    (void)!write(STDERR_FILENO, line, len);
    errno = saved;
}

/* Escapes control and bidi characters, quotes and backslashes; cuts long input with "...". */
const char *
log_quote(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    if (n < 8) {
        if (n)
            buf[0] = '\0';
        return buf;
    }
    if (!s)
        s = "(null)";
    while (*s) {
        unsigned char c = (unsigned char)*s;
        char esc[16];
        size_t used = log_escape_char((const unsigned char *)s, esc);
        size_t el;
        if (used) {
            el = strlen(esc);
        } else if (c == '\'' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            el = 2;
            used = 1;
        } else {
            esc[0] = (char)c;
            el = 1;
            used = 1;
        }
        if (o + el + 4 >= n) {
            /* Do not cut inside a UTF-8 sequence. */
            while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
                o--;
            if (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0)
                o--;
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(buf + o, esc, el);
        o += el;
        s += used;
    }
    buf[o] = '\0';
    return buf;
}

/* log_quote() of url with its secrets hidden (url_redact). */
const char *
log_quote_url(const char *url, char *buf, size_t n)
{
    char *shown = url ? url_redact(url) : NULL;
    log_quote(shown ? shown : url ? "(not shown)" : NULL, buf, n);
    free(shown);
    return buf;
}
