/*
 * metrics_http.h — `[daemon] metrics_listen`: a small HTTP/1.1 server on the loop that
 * answers GET /metrics with the Prometheus text of render(), and nothing else (404 for
 * other paths, 405 for other methods); the text may come later (render defers it while the
 * store's tallies are read off the loop). Requests are bounded (8 KiB of head, 10 s to send
 * it), connections too (32 at once; one answer each, then closed). Loop thread only.
 */
#ifndef FEEDWATCH_METRICS_HTTP_H
#define FEEDWATCH_METRICS_HTTP_H

#include <uv.h>

struct metrics_http;

/* One GET /metrics waiting for its text. */
struct metrics_http_req;

/*
 * Renders the exposition text for req: 1 with *ret_text (a new heap string) at once; 0 when it
 * comes later through metrics_http_answer(req, ...), *ret_pending naming the rendering for
 * cancel (called instead when the connection closes first); a negative errno on failure (500).
 */
typedef int (*metrics_render_fn)(void *userdata, struct metrics_http_req *req, char **ret_text,
                                 void **ret_pending);
typedef void (*metrics_cancel_fn)(void *pending);

/* The text of a rendering that render deferred (taken; NULL: out of memory, a 500). */
void metrics_http_answer(struct metrics_http_req *req, char *text);

/* Listens on listen (conf_parse_listen's form); 0, or -errno with *reterr_msg ("metrics_listen
 * 127.0.0.1:9464: ..."). */
int metrics_http_start(uv_loop_t *loop, const char *listen, metrics_render_fn render,
                       metrics_cancel_fn cancel, void *userdata, struct metrics_http **ret,
                       char **reterr_msg);

/* Closes the listener and every connection (their handles close on the loop); accepts NULL. */
void metrics_http_stop(struct metrics_http *h);

#endif
