#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
 * Formats one line and writes it with a single write(2), so lines never interleave. Under the
 * journal the line starts with its "<N>" priority (the journal stamps the time); elsewhere
 * with the UTC time to the millisecond, "2026-12-06T11:16:04.123Z ".
 */
void
log_emit(enum log_level level, const char *fmt, ...)
{
    char line[4096];
    int saved = errno;
    size_t len = 0;
    if (log_prefix) {
        len = (size_t)snprintf(line, sizeof(line), "<%d>", (int)level);
    } else {
        struct timespec ts;
        struct tm tm;
        if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && gmtime_r(&ts.tv_sec, &tm)) {
            len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
            len += (size_t)snprintf(line + len, sizeof(line) - len, ".%03ldZ ",
                                    ts.tv_nsec / 1000000);
        }
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    len += (size_t)n;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    (void)!write(STDERR_FILENO, line, len);
    errno = saved;
}

/* Escapes control characters, quotes and backslashes; cuts over-long input with "...". */
const char *
log_quote(const char *s, char *buf, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (n < 8) {
        if (n)
            buf[0] = '\0';
        return buf;
    }
    if (!s)
        s = "(null)";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[5];
        size_t el = 0;
        if (c == '\n') {
            esc[el++] = '\\';
            esc[el++] = 'n';
        } else if (c == '\t') {
            esc[el++] = '\\';
            esc[el++] = 't';
        } else if (c == '\'' || c == '\\') {
            esc[el++] = '\\';
            esc[el++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            esc[el++] = '\\';
            esc[el++] = 'x';
            esc[el++] = hex[c >> 4];
            esc[el++] = hex[c & 15];
        } else {
            esc[el++] = (char)c;
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
    }
    buf[o] = '\0';
    return buf;
}
