/*
 * metrics_http.h — `[daemon] metrics_listen`: a small HTTP/1.1 server on the loop that
 * answers GET /metrics with the Prometheus text of render(), and nothing else (404 for
 * other paths, 405 for other methods). Requests are bounded (8 KiB of head, 10 s to send
 * it), connections too (32 at once; one answer each, then closed). Loop thread only.
 */
#ifndef FEEDWATCH_METRICS_HTTP_H
#define FEEDWATCH_METRICS_HTTP_H

#include <uv.h>

struct metrics_http;

/* Renders the exposition text (a new heap string, or NULL on OOM). */
typedef char *(*metrics_render_fn)(void *userdata);

/* Listens on listen (conf_parse_listen's form); 0, or -errno with *reterr_msg ("metrics_listen
 * 127.0.0.1:9464: ..."). */
int metrics_http_start(uv_loop_t *loop, const char *listen, metrics_render_fn render,
                       void *userdata, struct metrics_http **ret, char **reterr_msg);

/* Closes the listener and every connection (their handles close on the loop); accepts NULL. */
void metrics_http_stop(struct metrics_http *h);

#endif
