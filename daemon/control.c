#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "ctlreq.h"
#include "daemon.h"
#include "log.h"

struct ctl_conn {
    uv_pipe_t pipe;
    struct control *c;
    struct ctl_conn *next;
    struct ctl_conn *prev;
    char *buf;               /* unprocessed input, at most CTL_MAX_LINE bytes */
    size_t len;
    bool skipping;           /* dropping an over-long line up to its newline */
    bool reading;
    bool closing;
    bool eof;
    struct poll_wait *wait;  /* the deferred answer this connection waits for */
    bool watching;           /* gets events (`watch`) */
    size_t queued;           /* answer bytes not yet written */
    uid_t uid;
    pid_t pid;
};

struct control {
    uv_pipe_t listener;
    struct daemon *d;
    char *path;
    struct ctl_conn *conns;
    unsigned n_conns;
    unsigned n_watchers;
    unsigned pending_closes;
    bool closing;
};

struct ctl_write {
    uv_write_t req;
    struct ctl_conn *conn;
    size_t len;
    char data[];
};

static void conn_process(struct ctl_conn *conn);
static void conn_send_text(struct ctl_conn *conn, const char *text, size_t len);
static void on_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void
control_maybe_free(struct control *c)
{
    if (c->closing && c->pending_closes == 0) {
        free(c->path);
        free(c);
    }
}

static void
on_conn_closed(uv_handle_t *h)
{
    struct ctl_conn *conn = h->data;
    struct control *c = conn->c;
    free(conn->buf);
    free(conn);
    c->pending_closes--;
    control_maybe_free(c);
}

/* Begins closing a connection: unlinks it, detaches its waiter, closes the pipe. */
static void
conn_close(struct ctl_conn *conn)
{
    struct control *c = conn->c;
    if (conn->closing)
        return;
    conn->closing = true;
    if (conn->wait) {
        poll_wait_detach(conn->wait);
        conn->wait = NULL;
    }
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        c->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    c->n_conns--;
    if (conn->watching)
        c->n_watchers--;
    uv_close((uv_handle_t *)&conn->pipe, on_conn_closed);
}

static void
on_conn_write(uv_write_t *req, int status)
{
    struct ctl_write *w = req->data;
    struct ctl_conn *conn = w->conn;
    conn->queued -= w->len;
    free(w);
    if (status < 0 && !conn->closing)
        conn_close(conn);
}

/* Queues one answer line; a client that lets too much pile up is dropped. */
static void
conn_send(struct ctl_conn *conn, json_t *resp)
{
    if (conn->closing) {
        json_decref(resp);
        return;
    }
    char *text = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(resp);
    if (!text) {
        text = strdup("{\"ok\": false, \"error\": \"out of memory\"}");
        if (!text) {
            conn_close(conn);
            return;
        }
    }
    size_t len = strlen(text);
    if (conn->queued + len + 1 > CTL_MAX_QUEUED) {
        free(text);
        log_warn("control: client pid %d: too much unread output, dropped", (int)conn->pid);
        conn_close(conn);
        return;
    }
    conn_send_text(conn, text, len);
    free(text);
}

/* Queues one line (text plus a newline) for the client. */
static void
conn_send_text(struct ctl_conn *conn, const char *text, size_t len)
{
    struct ctl_write *w = malloc(sizeof(*w) + len + 1);
    if (!w) {
        conn_close(conn);
        return;
    }
    memcpy(w->data, text, len);
    w->data[len] = '\n';
    w->len = len + 1;
    w->conn = conn;
    w->req.data = w;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
    if (uv_write(&w->req, (uv_stream_t *)&conn->pipe, &b, 1, on_conn_write) < 0) {
        free(w);
        conn_close(conn);
        return;
    }
    conn->queued += w->len;
}

/* Sends a deferred answer (takes the reference) and resumes reading requests. */
void
ctl_conn_reply(struct ctl_conn *conn, json_t *resp)
{
    conn_send(conn, resp);
    if (conn->closing)
        return;
    conn_process(conn);
}

/* The peer's uid as read at accept. */
uid_t
ctl_conn_uid(const struct ctl_conn *conn)
{
    return conn->uid;
}

/* Remembers the poll --wait that the connection waits for, so a close can detach it. */
void
ctl_conn_set_wait(struct ctl_conn *conn, struct poll_wait *w)
{
    conn->wait = w;
}

/* Makes the connection a `watch` subscriber: it gets every event from now on. */
void
ctl_conn_watch(struct ctl_conn *conn)
{
    if (!conn->watching) {
        conn->watching = true;
        conn->c->n_watchers++;
    }
}

/* True when some client watches (so events are worth building). */
bool
control_has_watchers(const struct control *c)
{
    return c && c->n_watchers > 0;
}

/* Sends {"event": name, ...members of body} to every watcher; takes the reference. */
void
control_broadcast(struct control *c, const char *event, json_t *body)
{
    if (!c || !body || c->n_watchers == 0) {
        json_decref(body);
        return;
    }
    json_t *ev = json_pack("{s:s}", "event", event);
    if (!ev || json_object_update(ev, body) < 0) {
        json_decref(ev);
        json_decref(body);
        return;
    }
    json_decref(body);
    char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ev);
    if (!text)
        return;
    size_t len = strlen(text);
    struct ctl_conn *next;
    for (struct ctl_conn *conn = c->conns; conn; conn = next) {
        next = conn->next;
        if (!conn->watching || conn->closing)
            continue;
        if (conn->queued + len + 1 > CTL_MAX_WATCH_QUEUED) {
            log_warn("control: watcher pid %d fell %zu bytes behind, dropped", (int)conn->pid,
                     conn->queued);
            conn_close(conn);
            continue;
        }
        conn_send_text(conn, text, len);
    }
    free(text);
}

/* Number of open connections. */
unsigned
control_conns(const struct control *c)
{
    return c->n_conns;
}

/* Parses and runs one request line. */
static void
conn_handle_line(struct ctl_conn *conn, const char *line, size_t len)
{
    char err[CTLREQ_ERR_MAX];
    json_t *req = ctlreq_decode(line, len, err);
    if (!req) {
        conn_send(conn, ctlcmd_error("%s", err));
        return;
    }
    json_t *resp = ctlcmd_dispatch(conn->c->d, conn, req);
    json_decref(req);
    if (resp)
        conn_send(conn, resp);
    else if (!conn->wait)
        conn_send(conn, ctlcmd_error("out of memory"));
}

/*
 * Runs every complete line in the buffer, unless an answer is deferred: then reading stops
 * until ctl_conn_reply() comes back here.
 */
static void
conn_process(struct ctl_conn *conn)
{
    size_t start = 0;
    while (!conn->closing && !conn->wait && start < conn->len) {
        char *nl = memchr(conn->buf + start, '\n', conn->len - start);
        if (!nl)
            break;
        size_t llen = (size_t)(nl - (conn->buf + start));
        if (conn->skipping) {
            conn->skipping = false;
        } else {
            size_t l = llen;
            if (l > 0 && conn->buf[start + l - 1] == '\r')
                l--;
            if (!ctlreq_blank(conn->buf + start, l))
                conn_handle_line(conn, conn->buf + start, l);
        }
        start += llen + 1;
    }
    if (conn->closing)
        return;
    if (start > 0) {
        memmove(conn->buf, conn->buf + start, conn->len - start);
        conn->len -= start;
    }
    if (!conn->wait && conn->len == CTL_MAX_LINE) {
        /* A full buffer without a newline: the line is too long. */
        conn_send(conn, ctlcmd_error("request longer than %d bytes", CTL_MAX_LINE));
        conn->len = 0;
        conn->skipping = true;
    }
    if (conn->eof && !conn->wait) {
        conn_close(conn);
        return;
    }
    bool want = !conn->wait && !conn->eof;
    if (want && !conn->reading) {
        if (uv_read_start((uv_stream_t *)&conn->pipe, on_conn_alloc, on_conn_read) == 0)
            conn->reading = true;
    } else if (!want && conn->reading) {
        (void)uv_read_stop((uv_stream_t *)&conn->pipe);
        conn->reading = false;
    }
}

static void
on_conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ctl_conn *conn = h->data;
    (void)suggested;
    size_t room = CTL_MAX_LINE - conn->len;
    *buf = uv_buf_init(conn->buf + conn->len, (unsigned)room);
}

static void
on_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct ctl_conn *conn = s->data;
    (void)buf;
    if (conn->closing)
        return;
    if (nread == UV_EOF) {
        conn->eof = true;
        conn_process(conn);
        return;
    }
    if (nread < 0) {
        conn_close(conn);
        return;
    }
    conn->len += (size_t)nread;
    if (conn->skipping) {
        char *nl = memchr(conn->buf, '\n', conn->len);
        if (!nl) {
            conn->len = 0;
            return;
        }
        size_t drop = (size_t)(nl - conn->buf) + 1;
        memmove(conn->buf, conn->buf + drop, conn->len - drop);
        conn->len -= drop;
        conn->skipping = false;
    }
    conn_process(conn);
}

/* Reads the peer's credentials; -errno when the kernel will not tell. */
static int
conn_peercred(struct ctl_conn *conn)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&conn->pipe, &fd) < 0)
        return -EBADF;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return -errno;
    conn->uid = cred.uid;
    conn->pid = cred.pid;
    return 0;
}

static void
on_listener_connection(uv_stream_t *server, int status)
{
    struct control *c = server->data;
    if (status < 0) {
        log_warn("control: accept: %s", uv_strerror(status));
        return;
    }
    if (c->closing)
        return;
    struct ctl_conn *conn = calloc(1, sizeof(*conn));
    if (conn)
        conn->buf = malloc(CTL_MAX_LINE);
    if (!conn || !conn->buf || uv_pipe_init(server->loop, &conn->pipe, 0) < 0) {
        if (conn)
            free(conn->buf);
        free(conn);
        log_warn("control: out of memory, connection refused");
        return;
    }
    conn->c = c;
    conn->pipe.data = conn;
    c->pending_closes++;
    conn->next = c->conns;
    if (c->conns)
        c->conns->prev = conn;
    c->conns = conn;
    c->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&conn->pipe) < 0 || conn_peercred(conn) < 0) {
        conn_close(conn);
        return;
    }
    if (c->n_conns > CTL_MAX_CONNS) {
        log_warn("control: more than %d clients, refusing pid %d", CTL_MAX_CONNS,
                 (int)conn->pid);
        conn_close(conn);
        return;
    }
    conn_process(conn);
}

static void
on_listener_closed(uv_handle_t *h)
{
    struct control *c = h->data;
    c->pending_closes--;
    control_maybe_free(c);
}

/* Checks whether a live daemon answers on path (then we must not steal its socket). */
static bool
socket_alive(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    bool alive = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return alive;
}

/* Binds and listens on path (a stale socket file is replaced; a live one is an error). */
int
control_new(struct daemon *d, const char *path, struct control **ret_control, char **reterr_msg)
{
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        if (asprintf(reterr_msg, "socket path '%s' is longer than %zu bytes", path,
                     sizeof(sa.sun_path) - 1) < 0)
            *reterr_msg = NULL;
        return -ENAMETOOLONG;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            if (asprintf(reterr_msg, "'%s' exists and is not a socket", path) < 0)
                *reterr_msg = NULL;
            return -EEXIST;
        }
        if (socket_alive(path)) {
            if (asprintf(reterr_msg, "another feedwatchd is listening on '%s'", path) < 0)
                *reterr_msg = NULL;
            return -EADDRINUSE;
        }
        (void)unlink(path);
    }
    struct control *c = calloc(1, sizeof(*c));
    if (!c || !(c->path = strdup(path))) {
        free(c);
        return -ENOMEM;
    }
    c->d = d;
    int r = uv_pipe_init(&d->loop, &c->listener, 0);
    if (r < 0) {
        free(c->path);
        free(c);
        return r;
    }
    c->listener.data = c;
    c->pending_closes = 1;
    /* Bind with a umask that leaves the socket 0660 from its first instant. */
    mode_t old = umask(0117);
    r = uv_pipe_bind(&c->listener, path);
    umask(old);
    if (r == 0 && chmod(path, 0660) < 0)
        r = -errno;
    if (r == 0)
        r = uv_listen((uv_stream_t *)&c->listener, 128, on_listener_connection);
    if (r < 0) {
        if (asprintf(reterr_msg, "cannot listen on '%s': %s", path, uv_strerror(r)) < 0)
            *reterr_msg = NULL;
        c->closing = true;
        (void)unlink(path);
        uv_close((uv_handle_t *)&c->listener, on_listener_closed);
        return r;
    }
    *ret_control = c;
    return 0;
}

/* Stops listening, closes every connection, unlinks the socket; frees after the closes. */
void
control_close(struct control *c)
{
    if (!c)
        return;
    c->closing = true;
    while (c->conns)
        conn_close(c->conns);
    (void)unlink(c->path);
    uv_close((uv_handle_t *)&c->listener, on_listener_closed);
}
