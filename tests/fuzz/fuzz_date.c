/*
 * fuzz_date.c — the date readers under arbitrary text.
 *
 * The input, cut at 4 KB and at its first NUL, goes to date_parse and date_parse_http.
 * Oracles (date.h): a reader gives 0 or -EINVAL and leaves the out-value alone on -EINVAL;
 * an HTTP date is also a feed date at the same instant; a parsed instant within years
 * 1970..9999 formats as RFC 3339 UTC of the fixed width, and that text reads back to the
 * same instant.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "parse/date.h"
#include "fuzz.h"

#define DATE_FUZZ_MAX 4096
#define DATE_AT_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

static void
check_instant(int64_t at)
{
    char text[DATE_RFC3339_LEN];
    int64_t back = 0;

    if (at < 0 || at > DATE_AT_MAX)
        return;
    date_format(at, text);
    assert(strlen(text) == DATE_RFC3339_LEN - 1 && text[DATE_RFC3339_LEN - 2] == 'Z');
    assert(date_parse(text, &back) == 0 && back == at);
}

/* Runs the code under test on one input; always returns 0 (libFuzzer's convention). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[DATE_FUZZ_MAX + 1];
    int64_t at = INT64_MIN, at_http = INT64_MIN;
    int r, rh;

    if (size > DATE_FUZZ_MAX)
        size = DATE_FUZZ_MAX;
    memcpy(s, data, size);
    s[size] = '\0';

    r = date_parse(s, &at);
    assert(r == 0 || r == -EINVAL);
    if (r == 0)
        check_instant(at);
    else
        assert(at == INT64_MIN);

    rh = date_parse_http(s, &at_http);
    assert(rh == 0 || rh == -EINVAL);
    if (rh == 0) {
        check_instant(at_http);
        assert(r == 0 && at == at_http);
    } else {
        assert(at_http == INT64_MIN);
    }

    /* Any instant formats to the fixed width, clamped to years 0000..9999. */
    char text[DATE_RFC3339_LEN];
    int64_t raw = 0;

    memcpy(&raw, s, size < sizeof raw ? size : sizeof raw);
    date_format(raw, text);
    assert(strlen(text) == DATE_RFC3339_LEN - 1);
    return 0;
}
