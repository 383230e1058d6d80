/*
 * client.h — the CLI's side of the control protocol (notes/protocol.md): connect to the
 * daemon's Unix socket, write one request line, read one response line.
 *
 * I/O is blocking for the caller but every wait goes through poll(2) against a deadline
 * (CLIENT_NO_TIMEOUT waits for ever, for `poll --wait`). A response is one line of at most
 * CLIENT_MAX_RESPONSE bytes that must parse as a JSON object with a boolean "ok".
 * The caller owns the struct client; single-threaded.
 *
 * Errors are negative errno values with a reason in *reterr_msg. client_error_unreachable()
 * tells a daemon that cannot be reached or went away (connect failure, closed or reset
 * connection, no answer in time: exit 3) from a bad answer or a local problem (exit 1).
 */
#ifndef FEEDWATCH_CLIENT_H
#define FEEDWATCH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "ctlproto.h" /* CTL_MAX_LINE: a request line, its newline included */

#define CLIENT_MAX_RESPONSE (64u * 1024u * 1024u) /* one response line */
#define CLIENT_TIMEOUT_MS 60000
#define CLIENT_NO_TIMEOUT (-1)

struct client;

/* Connects to the socket at path, waiting at most timeout_ms (or CLIENT_NO_TIMEOUT). */
int client_connect(const char *path, int timeout_ms, struct client **ret_client, char **reterr_msg);

/*
 * Sends request as one line and reads the answer, waiting at most timeout_ms in all. On
 * success *ret_line owns the response line as received (without its newline, NUL-terminated,
 * length in *ret_len) and *ret_response owns the parsed object.
 */
int client_call(struct client *c, const json_t *request, int timeout_ms, char **ret_line,
                size_t *ret_len, json_t **ret_response, char **reterr_msg);

/* True when error r of client_connect or client_call means "daemon not reachable". */
/*
 * Reads the next line the daemon sends on this connection (a `watch` event), as client_call
 * reads an answer: an object with "ok" or "event".
 */
int client_next(struct client *c, int timeout_ms, char **ret_line, size_t *ret_len,
                json_t **ret_response, char **reterr_msg);

bool client_error_unreachable(int r);

/* Closes the connection and frees the client; accepts NULL. */
void client_free(struct client *c);

#endif
