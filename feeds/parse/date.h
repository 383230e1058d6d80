/*
 * date.h — feed dates: RFC 822/2822 (as the wild writes them) and ISO 8601 / RFC 3339 in,
 * RFC 3339 UTC out. Pure functions, any thread.
 */
#ifndef FEEDWATCH_DATE_H
#define FEEDWATCH_DATE_H

#include <stddef.h>
#include <stdint.h>

#define DATE_RFC3339_LEN 21 /* "2022-02-09T21:49:00Z" plus NUL */

/* Parses a date in any supported form into Unix seconds; -EINVAL when it cannot be read. */
int date_parse(const char *s, int64_t *ret_at);

/* Writes at as RFC 3339 UTC ("2022-02-09T21:49:00Z") into buf (at least DATE_RFC3339_LEN). */
void date_format(int64_t at, char buf[DATE_RFC3339_LEN]);

/* Parses an HTTP date (RFC 9110 IMF-fixdate and the obsolete forms); -EINVAL otherwise. */
int date_parse_http(const char *s, int64_t *ret_at);

#endif
