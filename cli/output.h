/*
 * output.h — what the CLI puts on a terminal: strings scrubbed of control characters,
 * widths measured in terminal columns, aligned tables, local times, durations and sizes.
 *
 * Every string that comes from the daemon or from a feed passes through output_scrub()
 * (directly or through a table) before it is printed in human mode: C0 controls, DEL and
 * C1 controls become '?', the line and paragraph separators (U+2028/2029) line breaks, the
 * bidi marks, embeddings, overrides and isolates are dropped (the set of config/termsafe.h,
 * which the daemon's log escapes too) and invalid UTF-8 becomes U+FFFD. Functions that return a
 * string return a new heap string the caller frees, or NULL on OOM. Single-threaded use; no
 * globals.
 */
#ifndef FEEDWATCH_OUTPUT_H
#define FEEDWATCH_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Buffer sizes for the formatting helpers below (with their NUL). */
#define OUTPUT_TIME_LEN 32
#define OUTPUT_DURATION_LEN 48
#define OUTPUT_SIZE_LEN 32

/*
 * Copies len bytes of s made safe for a terminal. With keep_newlines, line breaks (LF, CR LF,
 * lone CR) become LF and tabs stay; without, tabs and line breaks become spaces.
 */
char *output_scrub(const char *s, size_t len, bool keep_newlines);

/* Terminal columns taken by a valid UTF-8 string (wide characters count 2, combining 0). */
size_t output_width(const char *s);

/* Copy of the valid UTF-8 string s cut to at most max_width columns, ending in "…" if cut. */
char *output_truncate(const char *s, size_t max_width);

/*
 * Copy of a JSON text with DEL and the other characters of config/termsafe.h above U+007F
 * inside its strings written as \uXXXX escapes: the same JSON value, safe to show on a terminal.
 */
char *output_json_safe(const char *json);

/*
 * Writes an RFC 3339 instant as local time with its offset, "YYYY-MM-DD HH:MM+HH:MM", or
 * "YYYY-MM-DD HH:MMZ" where local time is UTC; NULL gives "-", and a value that cannot be
 * read is shown scrubbed and cut as it is.
 */
void output_time_local(const char *rfc3339, char buf[OUTPUT_TIME_LEN]);

/*
 * Writes an RFC 3339 instant relative to now (Unix seconds): "45s ago", "3h ago", "in 12m",
 * "in 2d", "now"; NULL gives "-", a value that cannot be read is shown as output_time_local
 * shows it.
 */
void output_time_relative(const char *rfc3339, int64_t now, char buf[OUTPUT_TIME_LEN]);

/*
 * The width human output fits: 0 (no limit) with wide; else COLUMNS when it is a number;
 * else the terminal's width when stdout is one; else 80.
 */
size_t output_terminal_width(bool wide);

/* Writes a duration in seconds as its two largest units: "45s", "5m 3s", "3h 2m", "2d 4h". */
void output_duration(uint64_t s, char buf[OUTPUT_DURATION_LEN]);

/* Writes a byte count human-readable in binary units: "512 B", "120.6 KiB", "3.0 GiB". */
void output_size(uint64_t bytes, char buf[OUTPUT_SIZE_LEN]);

/*
 * Prints a formatted message to stderr, each of its lines scrubbed and prefixed with
 * "feedwatch: ".
 */
void output_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A table of left-aligned columns separated by two spaces, widths taken from the data. */
struct output_table;

/* New table of n_cols columns with these headers (copied). NULL on OOM or n_cols == 0. */
struct output_table *output_table_new(size_t n_cols, const char *const *headers);

/* Aligns a column to the right (numbers). */
void output_table_align_right(struct output_table *t, size_t col);

/* Cuts the cells of a column to at most max_width columns when printed (0: no limit). */
void output_table_limit(struct output_table *t, size_t col, size_t max_width);

/*
 * Lets a column give up width, down to min_width (never below its header), when the table
 * would be wider than the line: the widest such column shrinks first. Columns not marked
 * keep their width.
 */
void output_table_flex(struct output_table *t, size_t col, size_t min_width);

/*
 * Adds a row: n_cols cells (NULL shows "-"), scrubbed to one line each, and an optional
 * trailer (may be NULL) printed below the row, scrubbed and indented by four spaces.
 * 0 or -ENOMEM.
 */
int output_table_add_row(struct output_table *t, const char *const *cells, const char *trailer);

/* Number of rows added so far. */
size_t output_table_rows(const struct output_table *t);

/* Width of a column as printed without limit (widest cell or header). */
size_t output_table_width(const struct output_table *t, size_t col);

/*
 * Prints the header and every row to f, within line_width columns (0: no limit) as far as
 * the flexible columns allow; cut cells end in "…". 0, or -EIO when f reports a write error.
 */
int output_table_print(const struct output_table *t, FILE *f, size_t line_width);

/* Releases a table; accepts NULL. */
void output_table_free(struct output_table *t);

#endif
