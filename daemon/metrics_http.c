/*
 * metrics_http.c — GET /metrics over HTTP on the loop (metrics_http.h).
 */
#include "metrics_http.h"

#include "conf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MH_MAX_HEAD 8192
#define MH_MAX_CONNS 32
#define MH_TIMEOUT_MS 10000

struct metrics_http_req {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    struct metrics_http *server;
    struct metrics_http_req *prev, *next;
    char head[MH_MAX_HEAD];
    size_t len;
    char *out;
    void *pending; /* the rendering deferred (render's *ret_pending) */
    bool answered;
    int closing; /* handles still to close */
};

struct metrics_http {
    uv_tcp_t listener;
    metrics_render_fn render;
    metrics_cancel_fn cancel;
    void *userdata;
    struct metrics_http_req *conns;
    unsigned n_conns;
    bool stopping;
    bool listener_open;
};

static void
conn_free_cb(uv_handle_t *handle)
{
    struct metrics_http_req *c = handle->data;
    if (--c->closing > 0)
        return;
    free(c->out);
    free(c);
}

static void
conn_close(struct metrics_http_req *c)
{
    if (c->closing)
        return;
    struct metrics_http *h = c->server;
    if (c->pending) {
        h->cancel(c->pending);
        c->pending = NULL;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->n_conns--;
    c->closing = 2;
    uv_close((uv_handle_t *)&c->timer, conn_free_cb);
    uv_close((uv_handle_t *)&c->tcp, conn_free_cb);
}

static void
on_written(uv_write_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

static void
answer(struct metrics_http_req *c, int status, const char *reason, const char *type,
       const char *body)
{
    size_t blen = strlen(body);
    c->answered = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (asprintf(&c->out,
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
                 status, reason, type, blen, body) < 0) {
        c->out = NULL;
        conn_close(c);
        return;
    }
    uv_buf_t buf = uv_buf_init(c->out, (unsigned)strlen(c->out));
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &buf, 1, on_written) < 0)
        conn_close(c);
}

/* Answers once the request line and headers are in. */
static void
handle_head(struct metrics_http_req *c)
{
    char *eol = memchr(c->head, '\n', c->len);
    if (!eol) {
        answer(c, 400, "Bad Request", "text/plain", "bad request\n");
        return;
    }
    *eol = '\0';
    if (strncmp(c->head, "GET ", 4) != 0) {
        answer(c, 405, "Method Not Allowed", "text/plain", "only GET /metrics\n");
        return;
    }
    const char *path = strchr(c->head, ' ') + 1;
    size_t plen = strcspn(path, " ?\r");
    if (plen != 8 || strncmp(path, "/metrics", 8) != 0) {
        answer(c, 404, "Not Found", "text/plain", "only /metrics is here\n");
        return;
    }
    char *text = NULL;
    void *pending = NULL;
    int r = c->server->render(c->server->userdata, c, &text, &pending);
    if (r == 0) {
        c->pending = pending;
        c->answered = true; /* nothing more is read */
        uv_read_stop((uv_stream_t *)&c->tcp);
        return;
    }
    metrics_http_answer(c, r > 0 ? text : NULL);
}

void
metrics_http_answer(struct metrics_http_req *c, char *text)
{
    c->pending = NULL;
    if (!text) {
        answer(c, 500, "Internal Server Error", "text/plain", "out of memory\n");
        return;
    }
    answer(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text);
    free(text);
}

static void
on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct metrics_http_req *c = handle->data;
    buf->base = c->head + c->len;
    buf->len = sizeof(c->head) - 1 - c->len;
}

static void
on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct metrics_http_req *c = stream->data;
    if (c->answered)
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->len += (size_t)n;
    c->head[c->len] = '\0';
    if (strstr(c->head, "\r\n\r\n") || strstr(c->head, "\n\n")) {
        handle_head(c);
        return;
    }
    if (c->len >= sizeof(c->head) - 1)
        answer(c, 431, "Request Header Fields Too Large", "text/plain", "request too large\n");
}

static void
on_timeout(uv_timer_t *timer)
{
    conn_close(timer->data);
}

static void
on_connection(uv_stream_t *listener, int status)
{
    struct metrics_http *h = listener->data;
    if (status < 0 || h->stopping)
        return;
    struct metrics_http_req *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->server = h;
    (void)uv_tcp_init(listener->loop, &c->tcp);
    (void)uv_timer_init(listener->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->n_conns++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0 || h->n_conns > MH_MAX_CONNS) {
        conn_close(c); /* accepted then closed: over the cap, the client sees a reset */
        return;
    }
    (void)uv_timer_start(&c->timer, on_timeout, MH_TIMEOUT_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        conn_close(c);
}

int
metrics_http_start(uv_loop_t *loop, const char *listen, metrics_render_fn render,
                   metrics_cancel_fn cancel, void *userdata, struct metrics_http **ret,
                   char **reterr_msg)
{
    struct sockaddr_storage addr;
    int r = conf_parse_listen(listen, &addr);
    if (r < 0) {
        if (asprintf(reterr_msg, "metrics_listen %s: expected HOST:PORT", listen) < 0)
            *reterr_msg = NULL;
        return r;
    }
    struct metrics_http *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->render = render;
    h->cancel = cancel;
    h->userdata = userdata;
    (void)uv_tcp_init(loop, &h->listener);
    h->listener.data = h;
    h->listener_open = true;
    r = uv_tcp_bind(&h->listener, (const struct sockaddr *)&addr, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&h->listener, 64, on_connection);
    if (r < 0) {
        if (asprintf(reterr_msg, "metrics_listen %s: %s", listen, uv_strerror(r)) < 0)
            *reterr_msg = NULL;
        metrics_http_stop(h);
        return r;
    }
    *ret = h;
    return 0;
}

static void
listener_closed(uv_handle_t *handle)
{
    free(handle->data);
}

void
metrics_http_stop(struct metrics_http *h)
{
    if (!h)
        return;
    h->stopping = true;
    while (h->conns)
        conn_close(h->conns);
    if (h->listener_open) {
        h->listener_open = false;
        uv_close((uv_handle_t *)&h->listener, listener_closed);
    } else {
        free(h);
    }
}
