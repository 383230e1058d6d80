#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <utf8proc.h>

#include "parse/date.h"
#include "termsafe.h"

#define REPLACEMENT_UTF8 "\xef\xbf\xbd" /* U+FFFD */
#define ELLIPSIS_UTF8 "\xe2\x80\xa6"    /* U+2026 */

/* A growable string; every append checks for overflow. */
struct sbuf {
    char *p;
    size_t len;
    size_t cap;
    bool oom;
};

static void
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (n >= SIZE_MAX - b->len) {
        b->oom = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2) {
                cap = b->len + n + 1;
                break;
            }
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
sbuf_addc(struct sbuf *b, char c)
{
    sbuf_add(b, &c, 1);
}

/* Hands the string out (an empty string when nothing was added), or NULL after OOM. */
static char *
sbuf_take(struct sbuf *b)
{
    if (!b->oom && !b->p)
        sbuf_add(b, "", 0);
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        return NULL;
    }
    char *p = b->p;
    b->p = NULL;
    return p;
}

/* How many bytes to show utf8proc_iterate: one sequence is at most 4. */
static utf8proc_ssize_t
chunk(size_t remaining)
{
    return remaining < 4 ? (utf8proc_ssize_t)remaining : 4;
}

char *
output_scrub(const char *s, size_t len, bool keep_newlines)
{
    struct sbuf b = {0};
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)s;
    size_t i = 0;

    if (!s)
        len = 0;
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t n = utf8proc_iterate(u + i, chunk(len - i), &c);
        if (n <= 0) {
            sbuf_add(&b, REPLACEMENT_UTF8, 3);
            i++;
            continue;
        }
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < len && s[i + 1] == '\n')
                n = 2;
            sbuf_addc(&b, keep_newlines ? '\n' : ' ');
        } else if (c == '\t') {
            sbuf_addc(&b, keep_newlines ? '\t' : ' ');
        } else if (termsafe_class((uint32_t)c) == TERMSAFE_CONTROL) {
            sbuf_addc(&b, '?');
        } else if (termsafe_class((uint32_t)c) == TERMSAFE_SEPARATOR) {
            sbuf_addc(&b, keep_newlines ? '\n' : ' ');
        } else if (termsafe_class((uint32_t)c) == TERMSAFE_BIDI) {
            /* dropped */
        } else {
            sbuf_add(&b, s + i, (size_t)n);
        }
        i += (size_t)n;
    }
    return sbuf_take(&b);
}

/* Columns of one code point: 0 for controls and combining marks, 2 for wide characters. */
static size_t
char_width(utf8proc_int32_t c)
{
    int w = utf8proc_charwidth(c);
    return w > 0 ? (size_t)w : 0;
}

size_t
output_width(const char *s)
{
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)s;
    size_t len = strlen(s), i = 0, width = 0;

    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t n = utf8proc_iterate(u + i, chunk(len - i), &c);
        if (n <= 0) {
            width++;
            i++;
            continue;
        }
        width += char_width(c);
        i += (size_t)n;
    }
    return width;
}

char *
output_truncate(const char *s, size_t max_width)
{
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)s;
    size_t len = strlen(s), i = 0, width = 0, cut = 0;

    if (output_width(s) <= max_width)
        return strdup(s);
    /* Find the longest prefix that leaves room for the ellipsis. */
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t n = utf8proc_iterate(u + i, chunk(len - i), &c);
        size_t w = n <= 0 ? 1 : char_width(c);
        if (n <= 0)
            n = 1;
        if (max_width == 0 || width + w > max_width - 1)
            break;
        width += w;
        i += (size_t)n;
        cut = i;
    }

    struct sbuf b = {0};
    sbuf_add(&b, s, cut);
    if (max_width > 0)
        sbuf_add(&b, ELLIPSIS_UTF8, strlen(ELLIPSIS_UTF8));
    return sbuf_take(&b);
}

char *
output_json_safe(const char *json)
{
    struct sbuf b = {0};
    const unsigned char *u = (const unsigned char *)json;
    size_t len = strlen(json);
    char esc[8];

    for (size_t i = 0; i < len;) {
        uint32_t code = 0;
        enum termsafe_class cls;
        size_t n = 0;
        if (u[i] == 0x7f) {
            code = 0x7f;
            n = 1;
        } else {
            n = termsafe_utf8(u + i, len - i, &code, &cls);
        }
        if (n > 0) {
            (void)snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)code);
            sbuf_add(&b, esc, 6);
            i += n;
        } else {
            sbuf_add(&b, json + i, 1);
            i++;
        }
    }
    return sbuf_take(&b);
}

/* Shows a time value that could not be read: printable ASCII only, cut to a column's width. */
static void
time_unreadable(const char *text, char buf[OUTPUT_TIME_LEN])
{
    size_t j = 0;
    for (size_t i = 0; text[i] && j < 19; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c & 0xc0) == 0x80)
            continue; /* one '?' per non-ASCII character, not per byte */
        buf[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    buf[j] = '\0';
}

void
output_time_local(const char *rfc3339, char buf[OUTPUT_TIME_LEN])
{
    int64_t at;
    struct tm tm;

    if (!rfc3339) {
        (void)snprintf(buf, OUTPUT_TIME_LEN, "-");
        return;
    }
    if (date_parse(rfc3339, &at) == 0) {
        time_t t = (time_t)at;
        if ((int64_t)t == at && localtime_r(&t, &tm)) {
            size_t n = strftime(buf, OUTPUT_TIME_LEN, "%Y-%m-%d %H:%M", &tm);
            if (n > 0) {
                long off = tm.tm_gmtoff / 60;
                if (off == 0)
                    (void)snprintf(buf + n, OUTPUT_TIME_LEN - n, "Z");
                else
                    (void)snprintf(buf + n, OUTPUT_TIME_LEN - n, "%c%02ld:%02ld",
                                   off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
                return;
            }
        }
    }
    time_unreadable(rfc3339, buf);
}

void
output_time_relative(const char *rfc3339, int64_t now, char buf[OUTPUT_TIME_LEN])
{
    static const struct {
        int64_t s;
        char unit;
    } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    int64_t at;

    if (!rfc3339) {
        (void)snprintf(buf, OUTPUT_TIME_LEN, "-");
        return;
    }
    if (date_parse(rfc3339, &at) != 0) {
        time_unreadable(rfc3339, buf);
        return;
    }
    bool past = at <= now;
    uint64_t d = past ? (uint64_t)now - (uint64_t)at : (uint64_t)at - (uint64_t)now;
    if (d == 0) {
        (void)snprintf(buf, OUTPUT_TIME_LEN, "now");
        return;
    }
    size_t u = 0;
    while ((uint64_t)units[u].s > d)
        u++;
    uint64_t n = d / (uint64_t)units[u].s;
    if (past)
        (void)snprintf(buf, OUTPUT_TIME_LEN, "%" PRIu64 "%c ago", n, units[u].unit);
    else
        (void)snprintf(buf, OUTPUT_TIME_LEN, "in %" PRIu64 "%c", n, units[u].unit);
}

size_t
output_terminal_width(bool wide)
{
    if (wide)
        return 0;
    const char *cols = getenv("COLUMNS");
    if (cols && *cols) {
        char *end;
        errno = 0;
        unsigned long n = strtoul(cols, &end, 10);
        if (errno == 0 && *end == '\0' && n >= 20 && n <= 100000)
            return (size_t)n;
    }
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

void
output_duration(uint64_t s, char buf[OUTPUT_DURATION_LEN])
{
    static const struct {
        uint64_t secs;
        const char *unit;
    } units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (s < units[i].secs && units[i].secs > 1)
            continue;
        uint64_t big = s / units[i].secs;
        if (i + 1 == sizeof(units) / sizeof(units[0])) {
            (void)snprintf(buf, OUTPUT_DURATION_LEN, "%" PRIu64 "%s", big, units[i].unit);
            return;
        }
        uint64_t small = (s % units[i].secs) / units[i + 1].secs;
        (void)snprintf(buf, OUTPUT_DURATION_LEN, "%" PRIu64 "%s %" PRIu64 "%s", big, units[i].unit,
                       small, units[i + 1].unit);
        return;
    }
}

void
output_size(uint64_t bytes, char buf[OUTPUT_SIZE_LEN])
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    size_t i = 0;

    if (bytes < 1024) {
        (void)snprintf(buf, OUTPUT_SIZE_LEN, "%" PRIu64 " B", bytes);
        return;
    }
    v /= 1024.0;
    while (v >= 1024.0 && i + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        i++;
    }
    (void)snprintf(buf, OUTPUT_SIZE_LEN, "%.1f %s", v, units[i]);
}

void
output_message(const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        (void)fputs("feedwatch: out of memory\n", stderr);
        return;
    }
    const char *p = msg;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = output_scrub(p, len, false);
        (void)fprintf(stderr, "feedwatch: %s\n", line ? line : "out of memory");
        free(line);
        if (!nl || nl[1] == '\0')
            break;
        p = nl + 1;
    }
    free(msg);
}

struct output_table {
    size_t n_cols;
    char **headers;   /* n_cols */
    size_t *widths;   /* n_cols: widest cell or header */
    size_t *limits;   /* n_cols: 0 = none */
    size_t *flex_min; /* n_cols: 0 = fixed, else the least width it may shrink to */
    bool *right;      /* n_cols */
    char **cells;     /* n_rows * n_cols, scrubbed */
    char **trailers;  /* n_rows, scrubbed, may be NULL */
    size_t n_rows;
    size_t cap_rows;
};

struct output_table *
output_table_new(size_t n_cols, const char *const *headers)
{
    struct output_table *t;

    if (n_cols == 0 || n_cols > 64)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->n_cols = n_cols;
    t->headers = calloc(n_cols, sizeof(*t->headers));
    t->widths = calloc(n_cols, sizeof(*t->widths));
    t->limits = calloc(n_cols, sizeof(*t->limits));
    t->right = calloc(n_cols, sizeof(*t->right));
    t->flex_min = calloc(n_cols, sizeof(*t->flex_min));
    if (!t->headers || !t->widths || !t->limits || !t->right || !t->flex_min) {
        output_table_free(t);
        return NULL;
    }
    for (size_t i = 0; i < n_cols; i++) {
        t->headers[i] = output_scrub(headers[i], strlen(headers[i]), false);
        if (!t->headers[i]) {
            output_table_free(t);
            return NULL;
        }
        t->widths[i] = output_width(t->headers[i]);
    }
    return t;
}

void
output_table_align_right(struct output_table *t, size_t col)
{
    if (col < t->n_cols)
        t->right[col] = true;
}

void
output_table_limit(struct output_table *t, size_t col, size_t max_width)
{
    if (col < t->n_cols)
        t->limits[col] = max_width;
}

void
output_table_flex(struct output_table *t, size_t col, size_t min_width)
{
    if (col < t->n_cols)
        t->flex_min[col] = min_width ? min_width : 1;
}

int
output_table_add_row(struct output_table *t, const char *const *cells, const char *trailer)
{
    if (t->n_rows == t->cap_rows) {
        size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
        if (cap > SIZE_MAX / sizeof(char *) / t->n_cols)
            return -ENOMEM;
        char **c = realloc(t->cells, cap * t->n_cols * sizeof(char *));
        if (!c)
            return -ENOMEM;
        t->cells = c;
        char **tr = realloc(t->trailers, cap * sizeof(char *));
        if (!tr)
            return -ENOMEM;
        t->trailers = tr;
        t->cap_rows = cap;
    }

    char **row = t->cells + t->n_rows * t->n_cols;
    for (size_t i = 0; i < t->n_cols; i++) {
        const char *v = cells[i] ? cells[i] : "-";
        row[i] = output_scrub(v, strlen(v), false);
        if (!row[i]) {
            for (size_t j = 0; j < i; j++)
                free(row[j]);
            return -ENOMEM;
        }
    }
    t->trailers[t->n_rows] = NULL;
    if (trailer) {
        t->trailers[t->n_rows] = output_scrub(trailer, strlen(trailer), true);
        if (!t->trailers[t->n_rows]) {
            for (size_t j = 0; j < t->n_cols; j++)
                free(row[j]);
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < t->n_cols; i++) {
        size_t w = output_width(row[i]);
        if (w > t->widths[i])
            t->widths[i] = w;
    }
    t->n_rows++;
    return 0;
}

size_t
output_table_rows(const struct output_table *t)
{
    return t->n_rows;
}

size_t
output_table_width(const struct output_table *t, size_t col)
{
    return col < t->n_cols ? t->widths[col] : 0;
}

/* The width a column is printed at: its widest cell, cut to its limit but not below its header. */
static size_t
column_width(const struct output_table *t, size_t col)
{
    size_t w = t->widths[col];
    size_t min = output_width(t->headers[col]);

    if (t->limits[col] > 0 && w > t->limits[col])
        w = t->limits[col] > min ? t->limits[col] : min;
    return w;
}

static void
print_padding(FILE *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        (void)fputc(' ', f);
}

/*
 * The widths the columns are printed at within line_width (0: no limit): each column's own
 * width, then the widest flexible column gives up a column at a time until the line fits or
 * none can shrink further.
 */
static void
fit_widths(const struct output_table *t, size_t line_width, size_t *w)
{
    size_t total = 2 * (t->n_cols - 1);
    for (size_t i = 0; i < t->n_cols; i++) {
        w[i] = column_width(t, i);
        total += w[i];
    }
    while (line_width > 0 && total > line_width) {
        size_t best = t->n_cols;
        for (size_t i = 0; i < t->n_cols; i++) {
            if (!t->flex_min[i])
                continue;
            size_t floor = t->flex_min[i];
            size_t head = output_width(t->headers[i]);
            if (head > floor)
                floor = head;
            if (w[i] > floor && (best == t->n_cols || w[i] > w[best]))
                best = i;
        }
        if (best == t->n_cols)
            break;
        w[best]--;
        total--;
    }
}

static int
print_line(const struct output_table *t, char *const *cells, const size_t *widths, FILE *f)
{
    for (size_t i = 0; i < t->n_cols; i++) {
        size_t width = widths[i];
        char *cut = NULL;
        const char *v = cells[i];
        if (output_width(v) > width) {
            cut = output_truncate(v, width);
            if (!cut)
                return -ENOMEM;
            v = cut;
        }
        size_t w = output_width(v);
        size_t pad = w < width ? width - w : 0;
        bool last = i + 1 == t->n_cols;
        if (i > 0)
            (void)fputs("  ", f);
        if (t->right[i])
            print_padding(f, pad);
        (void)fputs(v, f);
        if (!t->right[i] && !last)
            print_padding(f, pad);
        free(cut);
    }
    (void)fputc('\n', f);
    return 0;
}

static bool
line_blank(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t')
            return false;
    return true;
}

static void
print_trailer(const char *text, FILE *f)
{
    const char *p = text;
    const char *end = text + strlen(text);

    /* Skip leading and trailing blank lines; indent the rest. */
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || !line_blank(p, nl))
            break;
        p = nl + 1;
    }
    while (end > p && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        if (line_end > p) {
            (void)fputs("    ", f);
            (void)fwrite(p, 1, (size_t)(line_end - p), f);
        }
        (void)fputc('\n', f);
        p = nl ? nl + 1 : end;
    }
}

int
output_table_print(const struct output_table *t, FILE *f, size_t line_width)
{
    size_t *widths = calloc(t->n_cols, sizeof(*widths));
    if (!widths)
        return -ENOMEM;
    fit_widths(t, line_width, widths);
    int r = print_line(t, t->headers, widths, f);
    for (size_t row = 0; r == 0 && row < t->n_rows; row++) {
        r = print_line(t, t->cells + row * t->n_cols, widths, f);
        if (r == 0 && t->trailers[row])
            print_trailer(t->trailers[row], f);
    }
    free(widths);
    if (r < 0)
        return r;
    return ferror(f) ? -EIO : 0;
}

void
output_table_free(struct output_table *t)
{
    if (!t)
        return;
    if (t->headers)
        for (size_t i = 0; i < t->n_cols; i++)
            free(t->headers[i]);
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    for (size_t i = 0; i < t->n_rows; i++)
        free(t->trailers[i]);
    free(t->headers);
    free(t->widths);
    free(t->limits);
    free(t->right);
    free(t->flex_min);
    free(t->cells);
    free(t->trailers);
    free(t);
}
