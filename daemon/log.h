/*
 * log.h — the daemon's only logger: one line per event on stderr.
 *
 * With JOURNAL_STREAM set (stderr is the journal) each line starts with a "<N>" syslog
 * priority. Strings from feeds and users go through log_quote() first, which escapes control
 * characters so that no feed can forge a log line. log_emit() escapes the C0, C1 and
 * bidirectional controls of the whole line again (for strings nobody quoted) and indents the
 * further lines of a message of several lines. The level is a process-wide setting (one of
 * the two globals STYLE.md allows). Loop thread, or any thread: each line is one write(2).
 */
#ifndef FEEDWATCH_LOG_H
#define FEEDWATCH_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
    LOG_LEVEL_ERROR = 3,
    LOG_LEVEL_WARNING = 4,
    LOG_LEVEL_NOTICE = 5,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7,
};

extern enum log_level log_max_level;

/* Reads JOURNAL_STREAM and decides whether lines get "<N>" prefixes. */
void log_setup(void);

void log_set_level(enum log_level level);

/* Formats and writes one line at level (use the macros below). */
void log_emit(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Copies s into buf (size n) with control characters, quotes and backslashes escaped and
 * over-long input cut with "..."; returns buf. For feed titles, names, URLs, errors in logs.
 */
const char *log_quote(const char *s, char *buf, size_t n);

/*
 * log_quote() of a URL as the log may show it (feed and item URLs alike): its userinfo and
 * the values of its secret-named query parameters hidden first (url_redact: "***@",
 * "token=***"); "(not shown)" when memory runs out. Returns buf.
 */
const char *log_quote_url(const char *url, char *buf, size_t n);

#define LOG_AT(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= log_max_level)                                                              \
            log_emit((level), __VA_ARGS__);                                                        \
    } while (0)

#define log_error(...) LOG_AT(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) LOG_AT(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) LOG_AT(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) LOG_AT(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* A quoted copy of a feed string for one log line: LOG_Q(buf, s) with char buf[LOG_QUOTE_MAX]. */
#define LOG_QUOTE_MAX 256

#endif
