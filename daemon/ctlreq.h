/*
 * ctlreq.h — the control protocol's request decoding, apart from the socket: one request line
 * (its newline and a trailing CR already cut) to a JSON object, or the error the client gets.
 *
 * Pure: no I/O, no globals; any thread. control.c calls it for every line it reads, and
 * tests/fuzz/fuzz_ctlreq.c runs it on arbitrary bytes.
 */
#ifndef FEEDWATCH_CTLREQ_H
#define FEEDWATCH_CTLREQ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Room for the error message of a request that cannot be decoded. */
#define CTLREQ_ERR_MAX 256

/* Whether a line holds only spaces and tabs (it is skipped, not answered). */
bool ctlreq_blank(const char *line, size_t len);

/*
 * Decodes len bytes of one request line: the object (a new reference) on success, else NULL
 * with err (CTLREQ_ERR_MAX bytes) saying why ("malformed request: ..."), NUL-terminated.
 * Duplicate keys are refused. Whether "cmd" is there is the dispatcher's business.
 */
json_t *ctlreq_decode(const char *line, size_t len, char err[CTLREQ_ERR_MAX]);

#endif
