/*
 * fuzz_ctlreq.c — the control protocol's request decoding (ctlreq.h) under arbitrary bytes.
 *
 * The input, cut at CTL_MAX_LINE-sized pieces like the socket's buffer, is split into lines
 * the way control.c splits what it reads (newline, a trailing CR cut, blank lines skipped),
 * and every line is decoded. Oracles: a line decodes to a JSON object, or to no object and
 * an error message that starts "malformed request: " and is NUL-terminated within
 * CTLREQ_ERR_MAX; a decoded object encodes to compact JSON that decodes again to an equal
 * object (what the daemon reads is what it would write).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ctlreq.h"
#include "fuzz.h"

#define CTLREQ_FUZZ_LINE (64 * 1024) /* CTL_MAX_LINE */

static void
line_check(const char *line, size_t len)
{
    char err[CTLREQ_ERR_MAX];

    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (ctlreq_blank(line, len))
        return;
    memset(err, 'x', sizeof(err));
    json_t *req = ctlreq_decode(line, len, err);
    if (!req) {
        assert(memchr(err, '\0', sizeof(err)));
        assert(strncmp(err, "malformed request: ", 19) == 0);
        return;
    }
    assert(json_is_object(req) && err[0] == '\0');
    char *text = json_dumps(req, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text) {
        char err2[CTLREQ_ERR_MAX];
        json_t *again = ctlreq_decode(text, strlen(text), err2);
        assert(again && json_equal(req, again));
        json_decref(again);
        free(text);
    }
    json_decref(req);
}

/* Runs the code under test on one input; always returns 0 (libFuzzer's convention). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t off = 0;

    while (off < size) {
        const char *nl = memchr(p + off, '\n', size - off);
        size_t len = nl ? (size_t)(nl - (p + off)) : size - off;
        if (len > CTLREQ_FUZZ_LINE)
            len = CTLREQ_FUZZ_LINE; /* the daemon answers "too long" and skips the rest */
        line_check(p + off, len);
        off += len + (nl && p + off + len == nl ? 1 : 0);
        if (!nl)
            break;
    }
    return 0;
}
