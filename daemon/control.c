#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "ctlreq.h"
#include "log.h"
#include "search.h"
#include "store.h"

struct ctl_conn {
    uv_pipe_t pipe;
    struct control *c;
    struct ctl_conn *next;
    struct ctl_conn *prev;
    char *buf; /* unprocessed input, at most CTL_MAX_LINE bytes */
    size_t len;
    bool skipping; /* dropping an over-long line up to its newline */
    bool reading;
    bool closing;
    bool eof;
    bool deferred;        /* its answer comes later (ctl_conn_defer) */
    ctl_detach_cb detach; /* told if the connection closes first */
    void *waiter;
    bool watching; /* gets events (`watch`) */
    bool ready;    /* on the control's ready list: a request waits for its turn */
    struct ctl_conn *ready_next;
    struct ctl_job *job; /* the query running for it in the thread pool */
    size_t queued;       /* answer bytes not yet written */
    uint64_t active_ms;  /* loop time of the last byte read or written */
    uid_t uid;
    pid_t pid;
};

/* A query that runs in the thread pool on a reader of its own. */
struct ctl_job {
    uv_work_t work;
    struct control *c;
    struct ctl_conn *conn; /* NULL once the client went away */
    ctl_work_cb fn;
    json_t *req; /* the worker's alone until it is done */
    char *text;  /* the answer, serialized in the pool too */
    struct ctl_reader *reader;
    struct ctl_job *next; /* in the control's queue of jobs waiting for a thread */
    uid_t uid;            /* its client's, for the turns (jobs_pick) */
    bool privileged;      /* root's or the daemon's user's: may take the reserved slot */
};

struct control {
    uv_pipe_t listener;
    uv_idle_t turn;   /* runs one request of each ready connection per loop turn */
    uv_timer_t sweep; /* closes idle connections */
    uv_loop_t *loop;
    ctl_dispatch_cb dispatch;
    void *ctx; /* the dispatcher's, also given to queries in the pool */
    char *path;
    char *db_path; /* for the readers' connections */
    struct ctl_conn *conns;
    unsigned n_conns;
    unsigned n_watchers;
    struct ctl_conn *ready_head, *ready_tail;
    size_t queued;                         /* answer bytes not yet written, all connections */
    struct ctl_job *jobs_head, *jobs_tail; /* waiting for one of CTL_MAX_JOBS threads */
    unsigned jobs_running;
    unsigned jobs_running_others; /* of them, jobs of neither root nor the daemon's user */
    uid_t jobs_last_uid;          /* the uid whose job started last among the others' */
    struct ctl_reader *readers;   /* idle readers */
    unsigned pending_closes;      /* handles not closed yet and jobs not done yet */
    bool closing;
    /* Refused connections: the first of each uid is logged, the rest summed (refusal_note). */
    uid_t refused_uids[CTL_REFUSED_UIDS];
    unsigned n_refused_uids;
    unsigned long refused_unlogged; /* refusals since the last line */
    uint64_t refused_line_ms;       /* loop time of the last summary line (or first refusal) */
    uint64_t refused_last_ms;       /* loop time of the last refusal */
};

struct ctl_write {
    uv_write_t req;
    struct ctl_conn *conn;
    size_t len;
    char *owned; /* the answer's text when it was handed over, else NULL */
    char data[]; /* a copy of the text (or nothing), then the newline */
};

static void conn_process(struct ctl_conn *conn);
static void conn_send_owned(struct ctl_conn *conn, char *text);
static void conn_ready(struct ctl_conn *conn);
static void jobs_start(struct control *c);
static void conn_send_text(struct ctl_conn *conn, const char *text, size_t len);
static void on_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void
control_maybe_free(struct control *c)
{
    if (c->closing && c->pending_closes == 0) {
        while (c->readers) {
            struct ctl_reader *r = c->readers;
            c->readers = r->next;
            ctl_reader_free(r);
        }
        free(c->path);
        free(c->db_path);
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
    if (conn->deferred) {
        conn->deferred = false;
        if (conn->detach)
            conn->detach(conn->waiter);
        conn->detach = NULL;
        conn->waiter = NULL;
    }
    if (conn->job) {
        conn->job->conn = NULL; /* it finishes in the pool and is dropped */
        conn->job = NULL;
    }
    if (conn->ready) {
        struct ctl_conn **pp = &c->ready_head, *last = NULL;
        while (*pp && *pp != conn) {
            last = *pp;
            pp = &(*pp)->ready_next;
        }
        if (*pp)
            *pp = conn->ready_next;
        if (c->ready_tail == conn)
            c->ready_tail = last;
        conn->ready = false;
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
    bool was_paused = conn->queued > CTL_PAUSE_QUEUED;
    conn->queued -= w->len;
    conn->c->queued -= w->len;
    free(w->owned);
    free(w);
    if (conn->closing)
        return;
    if (status < 0) {
        conn_close(conn);
        return;
    }
    conn->active_ms = uv_now(conn->pipe.loop);
    /* The client read enough: take its requests again (or finish a half-closed one). */
    if ((was_paused && conn->queued <= CTL_PAUSE_QUEUED) || (conn->eof && conn->queued == 0))
        conn_process(conn);
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
    conn_send_owned(conn, text);
}

/*
 * Queues one answer line from its text (taken; NULL for out of memory). A big answer that
 * does not fit in the output budget of all clients is replaced by an error.
 */
static void
conn_send_owned(struct ctl_conn *conn, char *text)
{
    if (conn->closing) {
        free(text);
        return;
    }
    if (!text) {
        text = strdup("{\"ok\": false, \"error\": \"out of memory\"}");
        if (!text) {
            conn_close(conn);
            return;
        }
    }
    size_t len = strlen(text);
    if (len + 1 > CTL_SMALL_ANSWER && conn->c->queued + len + 1 > CTL_MAX_QUEUED_TOTAL) {
        /*
         * The answers of every client together may not hold more than the budget: a big one
         * that does not fit is refused, a small one (status, errors) always goes.
         */
        free(text);
        log_warn("control: client pid %d: an answer of %zu bytes is over the output budget "
                 "(%zu bytes unread by clients)",
                 (int)conn->pid, len, conn->c->queued);
        text = NULL;
        json_t *err = ctl_error("the answer (%zu bytes) does not fit in the daemon's output "
                                "budget now; ask for less (--limit) or try again",
                                len);
        if (err)
            text = json_dumps(err, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(err);
        if (!text) {
            conn_close(conn);
            return;
        }
        len = strlen(text);
    }
    struct ctl_write *w = malloc(sizeof(*w) + 1);
    if (!w) {
        free(text);
        conn_close(conn);
        return;
    }
    w->data[0] = '\n';
    w->owned = text;
    w->len = len + 1;
    w->conn = conn;
    w->req.data = w;
    uv_buf_t b[2] = {uv_buf_init(text, (unsigned)len), uv_buf_init(w->data, 1)};
    if (uv_write(&w->req, (uv_stream_t *)&conn->pipe, b, 2, on_conn_write) < 0) {
        free(text);
        free(w);
        conn_close(conn);
        return;
    }
    conn->queued += w->len;
    conn->c->queued += w->len;
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
    w->owned = NULL;
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
    conn->c->queued += w->len;
}

/* Builds {"ok":false,"error":msg} (NULL on OOM). */
json_t *
ctl_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return json_pack("{s:b, s:s}", CTL_RESP_OK, 0, CTL_RESP_ERROR, msg);
}

/* Sends a deferred answer (takes the reference) and resumes reading requests. */
void
ctl_conn_reply(struct ctl_conn *conn, json_t *resp)
{
    conn->deferred = false;
    conn->detach = NULL;
    conn->waiter = NULL;
    conn_send(conn, resp ? resp : ctl_error("out of memory"));
    if (conn->closing)
        return;
    conn->active_ms = uv_now(conn->pipe.loop);
    conn_process(conn);
}

/* Closes a reader's connections; accepts NULL. */
void
ctl_reader_free(struct ctl_reader *r)
{
    if (!r)
        return;
    search_reader_free(r->search);
    store_free(r->store);
    free(r->db_path);
    free(r);
}

/* Pool thread: runs the job's query with a reader that no other thread uses now. */
static void
on_job_work(uv_work_t *w)
{
    struct ctl_job *job = w->data;
    json_t *resp = job->fn(job->c->ctx, job->reader, job->req);
    if (!resp)
        resp = ctl_error("out of memory");
    /* A big answer is serialized (and its tree freed) here too, not on the loop. */
    job->text = resp ? json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(resp);
}

/* Loop thread: the query is done; answers its client (if still there), starts the next. */
static void
on_job_done(uv_work_t *w, int status)
{
    struct ctl_job *job = w->data;
    struct control *c = job->c;
    (void)status;
    c->jobs_running--;
    if (!job->privileged)
        c->jobs_running_others--;
    job->reader->next = c->readers;
    c->readers = job->reader;
    json_decref(job->req);
    struct ctl_conn *conn = job->conn;
    char *text = job->text;
    free(job);
    if (conn) {
        conn->job = NULL;
        conn_send_owned(conn, text);
        if (!conn->closing) {
            conn->active_ms = uv_now(conn->pipe.loop);
            conn_process(conn);
        }
    } else {
        free(text);
    }
    c->pending_closes--;
    if (c->closing) {
        control_maybe_free(c);
        return;
    }
    jobs_start(c);
}

/* Unlinks the waiting job *pp points to (pp: &c->jobs_head or &a waiting job's next). */
static struct ctl_job *
jobs_unlink(struct control *c, struct ctl_job **pp)
{
    struct ctl_job *job = *pp, *prev = NULL;
    *pp = job->next;
    if (c->jobs_tail == job) {
        for (struct ctl_job *o = c->jobs_head; o; o = o->next)
            prev = o;
        c->jobs_tail = prev;
    }
    job->next = NULL;
    return job;
}

/*
 * The waiting job to start next, as the link that points to it; NULL when none may start.
 * Root's and the daemon's user's jobs come first, oldest first, and may take every slot;
 * everybody else's share CTL_MAX_JOBS - 1 slots (one stays free for root), and take turns
 * by uid (the next uid after the last one served, each uid's jobs in order), so that one
 * uid's many connections neither hold every slot nor make the others wait behind all of
 * their queries. A connection has at most one job (it reads nothing until the answer).
 */
static struct ctl_job **
jobs_pick(struct control *c)
{
    struct ctl_job **best = NULL, **wrap = NULL;
    for (struct ctl_job **pp = &c->jobs_head; *pp; pp = &(*pp)->next) {
        struct ctl_job *job = *pp;
        if (job->privileged)
            return pp;
        if (c->jobs_running_others >= CTL_MAX_JOBS - 1)
            continue;
        /* the smallest uid after the last served, else the smallest of all (a new round) */
        if (job->uid > c->jobs_last_uid) {
            if (!best || job->uid < (*best)->uid)
                best = pp;
        } else if (!wrap || job->uid < (*wrap)->uid) {
            wrap = pp;
        }
    }
    return best ? best : wrap;
}

/* Drops the waiting jobs whose clients left. */
static void
jobs_drop_orphans(struct control *c)
{
    struct ctl_job **pp = &c->jobs_head;
    while (*pp) {
        if ((*pp)->conn) {
            pp = &(*pp)->next;
            continue;
        }
        struct ctl_job *job = jobs_unlink(c, pp);
        json_decref(job->req);
        free(job);
        c->pending_closes--;
    }
}

/* Starts waiting jobs while fewer than CTL_MAX_JOBS run, in the order jobs_pick gives. */
static void
jobs_start(struct control *c)
{
    jobs_drop_orphans(c);
    while (c->jobs_head && c->jobs_running < CTL_MAX_JOBS) {
        struct ctl_job **pp = jobs_pick(c);
        if (!pp)
            return; /* only others' jobs wait, and their slots are taken */
        struct ctl_job *job = *pp;
        struct ctl_reader *r = c->readers;
        if (!r) {
            r = calloc(1, sizeof(*r));
            if (r && !(r->db_path = strdup(c->db_path))) {
                free(r);
                r = NULL;
            }
            if (!r && c->jobs_running > 0)
                return; /* tried again when a running job is done */
            if (!r) {
                /* Nothing runs that could free memory later: answer now. */
                struct ctl_conn *conn = job->conn;
                jobs_unlink(c, pp);
                json_decref(job->req);
                free(job);
                c->pending_closes--;
                conn->job = NULL;
                ctl_conn_reply(conn, ctl_error("out of memory"));
                jobs_drop_orphans(c); /* the reply may have closed connections */
                continue;
            }
        } else {
            c->readers = r->next;
        }
        r->next = NULL;
        job->reader = r;
        job->work.data = job;
        if (uv_queue_work(c->loop, &job->work, on_job_work, on_job_done) < 0) {
            r->next = c->readers;
            c->readers = r;
            return;
        }
        jobs_unlink(c, pp);
        c->jobs_running++;
        if (!job->privileged) {
            c->jobs_running_others++;
            c->jobs_last_uid = job->uid;
        }
    }
}

/*
 * Runs fn(d, reader, req) in the thread pool (takes the reference to req); the connection
 * reads nothing more until the answer is sent. 0, or -ENOMEM.
 */
int
ctl_conn_queue_work(struct ctl_conn *conn, ctl_work_cb fn, json_t *req)
{
    struct control *c = conn->c;
    struct ctl_job *job = calloc(1, sizeof(*job));
    if (!job) {
        json_decref(req);
        return -ENOMEM;
    }
    job->c = c;
    job->conn = conn;
    job->fn = fn;
    job->req = req;
    job->uid = conn->uid;
    job->privileged = conn->uid == 0 || conn->uid == geteuid();
    conn->job = job;
    c->pending_closes++;
    if (c->jobs_tail)
        c->jobs_tail->next = job;
    else
        c->jobs_head = job;
    c->jobs_tail = job;
    jobs_start(c);
    return 0;
}

/* The answer of the current request comes later; detach(waiter) if the connection closes. */
void
ctl_conn_defer(struct ctl_conn *conn, ctl_detach_cb detach, void *waiter)
{
    conn->deferred = true;
    conn->detach = detach;
    conn->waiter = waiter;
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

/* Whether conn's peer is root or the daemon's own user. */
bool
ctl_conn_privileged(const struct ctl_conn *conn)
{
    return conn->uid == 0 || conn->uid == geteuid();
}

/*
 * Sends {"event": name, ...members of body} to the watchers whose privilege is priv (each
 * of them when priv is negative); takes the reference.
 */
static void
broadcast(struct control *c, const char *event, json_t *body, int priv)
{
    if (!c || !body || c->n_watchers == 0) {
        json_decref(body);
        return;
    }
    json_t *ev = json_pack("{s:s}", CTL_RESP_EVENT, event);
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
        if (!conn->watching || conn->closing || (priv >= 0 && ctl_conn_privileged(conn) != priv))
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

/* Sends {"event": name, ...members of body} to every watcher; takes the reference. */
void
control_broadcast(struct control *c, const char *event, json_t *body)
{
    broadcast(c, event, body, -1);
}

/* body to the privileged watchers, group_body to the others; takes both references. */
void
control_broadcast_split(struct control *c, const char *event, json_t *body, json_t *group_body)
{
    broadcast(c, event, body, 1);
    broadcast(c, event, group_body, 0);
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
        conn_send(conn, ctl_error("%s", err));
        return;
    }
    json_t *resp = NULL;
    enum ctl_dispatch how = conn->c->dispatch(conn->c->ctx, conn, conn->uid, req, &resp);
    json_decref(req);
    if (how == CTL_ANSWERED)
        conn_send(conn, resp);
    else if (how == CTL_NOMEM)
        conn_send(conn, ctl_error("out of memory"));
}

/* True while an answer is deferred: nothing more is read or run until it is sent. */
static bool
conn_busy(const struct ctl_conn *conn)
{
    return conn->deferred || conn->job;
}

/* The length of the first complete line in the buffer plus its newline, or 0. */
static size_t
conn_line_len(const struct ctl_conn *conn)
{
    const char *nl = conn->len ? memchr(conn->buf, '\n', conn->len) : NULL;
    return nl ? (size_t)(nl - conn->buf) + 1 : 0;
}

/* Runs the first complete line of the buffer, if any; true when one was consumed. */
static bool
conn_run_line(struct ctl_conn *conn)
{
    size_t take = conn_line_len(conn);
    if (!take)
        return false;
    size_t l = take - 1;
    if (conn->skipping) {
        conn->skipping = false;
    } else {
        if (l > 0 && conn->buf[l - 1] == '\r')
            l--;
        if (!ctlreq_blank(conn->buf, l)) {
            /* The handler may read the line: consume it only afterwards. */
            conn_handle_line(conn, conn->buf, l);
            if (conn->closing)
                return true;
        }
    }
    memmove(conn->buf, conn->buf + take, conn->len - take);
    conn->len -= take;
    return true;
}

/*
 * Runs at most one request of the connection, then decides what comes next: another turn
 * on the ready list when more complete lines wait (so that one client's pipelined requests
 * take turns with everybody else's), reading when the buffer has no complete line, and
 * neither while an answer is deferred or more than CTL_PAUSE_QUEUED bytes of answers wait
 * for the client to read them.
 */
static void
conn_process(struct ctl_conn *conn)
{
    if (conn->closing)
        return;
    bool flowing = !conn_busy(conn) && conn->queued <= CTL_PAUSE_QUEUED;
    if (flowing && !conn->ready) {
        (void)conn_run_line(conn);
        if (conn->closing)
            return;
        flowing = !conn_busy(conn) && conn->queued <= CTL_PAUSE_QUEUED;
    }
    bool line = conn_line_len(conn) > 0;
    if (flowing && !line && conn->len == CTL_MAX_LINE) {
        /* A full buffer without a newline: the line is too long. */
        conn_send(conn, ctl_error("request longer than %d bytes", CTL_MAX_LINE));
        if (conn->closing)
            return;
        conn->len = 0;
        conn->skipping = true;
    }
    if (conn->eof && !line && !conn_busy(conn)) {
        /* Half-closed and nothing left to run: close once its answers are out. */
        if (conn->queued == 0)
            conn_close(conn);
        else if (conn->reading) {
            (void)uv_read_stop((uv_stream_t *)&conn->pipe);
            conn->reading = false;
        }
        return;
    }
    if (flowing && line)
        conn_ready(conn);
    bool want = flowing && !line && !conn->eof;
    if (want && !conn->reading) {
        if (uv_read_start((uv_stream_t *)&conn->pipe, on_conn_alloc, on_conn_read) == 0)
            conn->reading = true;
    } else if (!want && conn->reading) {
        (void)uv_read_stop((uv_stream_t *)&conn->pipe);
        conn->reading = false;
    }
}

static void
on_turn_idle(uv_idle_t *idle)
{
    struct control *c = idle->data;
    /* Only the connections ready now: one that gets ready again waits for the next turn. */
    struct ctl_conn *list = c->ready_head, *end = c->ready_tail;
    c->ready_head = c->ready_tail = NULL;
    while (list) {
        struct ctl_conn *conn = list;
        list = conn == end ? NULL : conn->ready_next;
        conn->ready = false;
        conn->ready_next = NULL;
        conn_process(conn);
    }
    if (!c->ready_head)
        (void)uv_idle_stop(&c->turn);
}

/* Puts the connection at the end of the ready list: its next request runs next turn. */
static void
conn_ready(struct ctl_conn *conn)
{
    struct control *c = conn->c;
    if (conn->ready || c->closing)
        return;
    conn->ready = true;
    conn->ready_next = NULL;
    if (c->ready_tail)
        c->ready_tail->ready_next = conn;
    else
        c->ready_head = conn;
    c->ready_tail = conn;
    (void)uv_idle_start(&c->turn, on_turn_idle);
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
    conn->active_ms = uv_now(s->loop);
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

/*
 * Why a new connection (already counted) must be refused, or NULL. Root and the daemon's
 * own user may use CTL_RESERVED_CONNS more than everybody else together, so a flood of
 * connections from the socket's group never locks them out; any other uid holds at most
 * CTL_MAX_CONNS_PER_UID. (Under PrivateUsers=yes every other peer is one uid, "nobody".)
 */
static const char *
conn_over_cap(const struct control *c, const struct ctl_conn *conn)
{
    if (conn->uid == 0 || conn->uid == geteuid())
        return c->n_conns > CTL_MAX_CONNS + CTL_RESERVED_CONNS ? "too many connections" : NULL;
    if (c->n_conns > CTL_MAX_CONNS)
        return "too many connections";
    unsigned same = 0;
    for (const struct ctl_conn *o = c->conns; o; o = o->next)
        same += o->uid == conn->uid && !o->closing;
    return same > CTL_MAX_CONNS_PER_UID ? "too many connections from this user" : NULL;
}

/*
 * Logs the refusals not logged yet as one line, when there are some and CTL_REFUSED_LOG_MS
 * went by since the last line (or always, with force). After a quiet CTL_REFUSED_LOG_MS the
 * uids are forgotten: the next flood's first refusal of each is logged again.
 */
static void
refusal_summary(struct control *c, uint64_t now, bool force)
{
    if (c->refused_unlogged > 0 && (force || now - c->refused_line_ms >= CTL_REFUSED_LOG_MS)) {
        log_warn("control: %lu more connection%s refused in the last %us (too many "
                 "connections)",
                 c->refused_unlogged, c->refused_unlogged == 1 ? "" : "s",
                 (unsigned)((now - c->refused_line_ms + 999) / 1000));
        c->refused_unlogged = 0;
        c->refused_line_ms = now;
    }
    if (c->refused_unlogged == 0 && now - c->refused_last_ms >= CTL_REFUSED_LOG_MS)
        c->n_refused_uids = 0;
}

/*
 * A refused connection: a client looping on connect() must not flood the log with a line
 * each. The first refusal of a uid is logged in full; the others are counted and summed up
 * at most every CTL_REFUSED_LOG_MS.
 */
static void
refusal_note(struct control *c, const struct ctl_conn *conn, const char *why)
{
    uint64_t now = uv_now(c->listener.loop);
    refusal_summary(c, now, false);
    c->refused_last_ms = now;
    bool seen = c->n_refused_uids == CTL_REFUSED_UIDS; /* a full table: count the rest */
    for (unsigned i = 0; i < c->n_refused_uids && !seen; i++)
        seen = c->refused_uids[i] == conn->uid;
    if (seen) {
        if (c->refused_unlogged++ == 0)
            c->refused_line_ms = now;
        return;
    }
    c->refused_uids[c->n_refused_uids++] = conn->uid;
    log_warn("control: %s: refusing pid %d (uid %u); more refusals are summed up every %ds", why,
             (int)conn->pid, (unsigned)conn->uid, CTL_REFUSED_LOG_MS / 1000);
}

/* Closes connections with nothing going on for CTL_IDLE_MS (not `watch`, not waiting). */
static void
on_sweep_timer(uv_timer_t *t)
{
    struct control *c = t->data;
    uint64_t now = uv_now(t->loop);
    refusal_summary(c, now, false);
    struct ctl_conn *next;
    for (struct ctl_conn *conn = c->conns; conn; conn = next) {
        next = conn->next;
        if (conn->closing || conn->watching || conn_busy(conn) || conn->ready)
            continue;
        if (now - conn->active_ms < CTL_IDLE_MS)
            continue;
        log_info("control: client pid %d idle for %ds%s, closed", (int)conn->pid,
                 CTL_IDLE_MS / 1000, conn->queued ? " with unread answers" : "");
        conn_close(conn);
    }
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
    const char *why = conn_over_cap(c, conn);
    if (why) {
        char msg[256];
        int n = snprintf(msg, sizeof(msg), "{\"ok\":false,\"error\":\"%s\"}\n", why);
        uv_buf_t b = uv_buf_init(msg, (unsigned)n);
        (void)uv_try_write((uv_stream_t *)&conn->pipe, &b, 1); /* best effort, never waits */
        refusal_note(c, conn, why);
        conn_close(conn);
        return;
    }
    conn->active_ms = uv_now(server->loop);
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
control_new(uv_loop_t *loop, const char *path, const char *db_path, ctl_dispatch_cb dispatch,
            void *ctx, struct control **ret_control, char **reterr_msg)
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
    c->loop = loop;
    c->dispatch = dispatch;
    c->ctx = ctx;
    if (!(c->db_path = strdup(db_path))) {
        free(c->path);
        free(c);
        return -ENOMEM;
    }
    int r = uv_pipe_init(loop, &c->listener, 0);
    if (r < 0) {
        free(c->db_path);
        free(c->path);
        free(c);
        return r;
    }
    c->listener.data = c;
    (void)uv_idle_init(loop, &c->turn);
    c->turn.data = c;
    (void)uv_timer_init(loop, &c->sweep);
    c->sweep.data = c;
    c->pending_closes = 3;
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
        uv_close((uv_handle_t *)&c->turn, on_listener_closed);
        uv_close((uv_handle_t *)&c->sweep, on_listener_closed);
        return r;
    }
    (void)uv_timer_start(&c->sweep, on_sweep_timer, 1000, 1000);
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
    refusal_summary(c, uv_now(c->listener.loop), true);
    while (c->conns)
        conn_close(c->conns);
    /* Jobs that wait for a thread are dropped; running ones finish and are dropped then. */
    while (c->jobs_head) {
        struct ctl_job *job = c->jobs_head;
        c->jobs_head = job->next;
        json_decref(job->req);
        free(job);
        c->pending_closes--;
    }
    c->jobs_tail = NULL;
    (void)unlink(c->path);
    uv_close((uv_handle_t *)&c->listener, on_listener_closed);
    uv_close((uv_handle_t *)&c->turn, on_listener_closed);
    uv_close((uv_handle_t *)&c->sweep, on_listener_closed);
}
