/*
 * control.h — the control socket server: line-delimited JSON over a Unix stream socket.
 *
 * struct control owns the listening socket (mode 0660) and every connection. Each connection
 * reads requests into a capped buffer (CTL_MAX_LINE); an over-long line gets an error and the
 * input is skipped to the next newline. A malformed request gets {"ok":false,"error":...} and
 * the connection stays usable. Requests go to the dispatcher given to control_new (ctlcmd.c
 * for the daemon; control.c knows no command); it may defer its answer (poll --wait, a query
 * run in the thread pool, or a run-time change until the store's writer has stored it), and
 * the connection reads nothing more until ctl_conn_reply() sends it, so answers keep the
 * order of requests. Peer credentials are read at accept.
 *
 * Under abuse: one request per connection per loop turn (pipelined requests take turns with
 * other clients'); no request is read while more than CTL_PAUSE_QUEUED bytes of a client's
 * answers wait; all clients' unread answers share CTL_MAX_QUEUED_TOTAL (a big answer that
 * does not fit becomes an error); a connection idle for CTL_IDLE_MS is closed; each uid but
 * root's and the daemon's holds at most CTL_MAX_CONNS_PER_UID connections, and those two
 * have CTL_RESERVED_CONNS that nobody else may take. Loop thread, but for the ctl_work_cb.
 */
#ifndef FEEDWATCH_CONTROL_H
#define FEEDWATCH_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "ctlproto.h"

#define CTL_MAX_CONNS 256        /* connections of everybody but root and the daemon's user */
#define CTL_RESERVED_CONNS 16    /* more that only root and the daemon's user may take */
#define CTL_MAX_CONNS_PER_UID 32 /* connections of one other uid */
#define CTL_IDLE_MS 30000        /* a connection with nothing going on this long is closed */
#define CTL_PAUSE_QUEUED (1024u * 1024) /* no request is read while more answer bytes wait */
#define CTL_SMALL_ANSWER (64u * 1024)   /* answers this small are never refused */
#define CTL_MAX_QUEUED_TOTAL (64u * 1024 * 1024) /* unsent answer bytes of all connections */
#define CTL_MAX_WATCH_QUEUED (4u * 1024 * 1024)  /* a `watch` client this far behind is dropped */
#define CTL_REFUSED_LOG_MS 10000 /* refused connections are summed up in a line this often */
#define CTL_REFUSED_UIDS 16      /* uids whose first refusal is logged in full */
#define CTL_MAX_JOBS 2           /* queries running in the thread pool at once */

struct control;
struct ctl_conn;

/* What a dispatcher did with a request. */
enum ctl_dispatch {
    CTL_ANSWERED, /* *ret_resp holds the answer (a new reference) */
    CTL_DEFERRED, /* the answer comes later through ctl_conn_reply() */
    CTL_NOMEM,    /* no answer could be built: the client is told "out of memory" */
};

/* Runs one request of conn, whose peer is uid; ctx is control_new's. */
typedef enum ctl_dispatch (*ctl_dispatch_cb)(void *ctx, struct ctl_conn *conn, uid_t uid,
                                             json_t *req, json_t **ret_resp);

/*
 * Binds and listens on path (a stale socket file is replaced; a live one is an error).
 * Requests go to dispatch(ctx, ...); queries run in the pool read db_path.
 */
int control_new(uv_loop_t *loop, const char *path, const char *db_path, ctl_dispatch_cb dispatch,
                void *ctx, struct control **ret_control, char **reterr_msg);

/* Stops listening, closes every connection, unlinks the socket; frees after the closes. */
void control_close(struct control *c);

/*
 * Sends a deferred answer (takes the reference; NULL: "out of memory") and resumes reading
 * requests.
 */
void ctl_conn_reply(struct ctl_conn *conn, json_t *resp);

/* Told that the connection waiting for a deferred answer closed first. */
typedef void (*ctl_detach_cb)(void *waiter);

/*
 * The dispatcher defers the answer of the current request to ctl_conn_reply(), which waiter
 * will send; should the connection close first, detach(waiter) is called (once) instead.
 */
void ctl_conn_defer(struct ctl_conn *conn, ctl_detach_cb detach, void *waiter);

/* Number of open connections. */
unsigned control_conns(const struct control *c);

/*
 * A pool thread's read-only view of the store and of the search index, opened on first use
 * by the query that needs it (ctlcmd.c: store_open_reader, search_reader_open) and kept for
 * the next one. Used by one thread at a time.
 */
struct search_reader;
struct store;
struct ctl_reader {
    char *db_path;
    struct store *store;
    struct search_reader *search;
    struct ctl_reader *next;
};

void ctl_reader_free(struct ctl_reader *r);

/*
 * A query run in the thread pool: req is its own, ctx is control_new's; returns the answer
 * (NULL: out of memory).
 */
typedef json_t *(*ctl_work_cb)(void *ctx, struct ctl_reader *r, json_t *req);

/*
 * Runs fn in the thread pool, at most CTL_MAX_JOBS at once so that the polls' content stage
 * always finds a thread (takes the reference to req, which the caller must not share); the answer
 * is sent when it is done, and the connection reads nothing more until then. Root's and
 * the daemon's user's jobs start first, and CTL_MAX_JOBS - 1 slots at most go to other uids,
 * which take turns by uid. 0 or -ENOMEM.
 */
int ctl_conn_queue_work(struct ctl_conn *conn, ctl_work_cb fn, json_t *req);

/* Makes the connection a `watch` subscriber: it gets every event from now on. */
void ctl_conn_watch(struct ctl_conn *conn);

/* True when some client watches (so events are worth building). */
bool control_has_watchers(const struct control *c);

/* Sends {"event": name, ...members of body} to every watcher; takes the reference. */
void control_broadcast(struct control *c, const char *event, json_t *body);

/*
 * As control_broadcast, but privileged watchers (ctl_conn_privileged) get body and the
 * others group_body (what the socket's group may see); takes both references.
 */
void control_broadcast_split(struct control *c, const char *event, json_t *body,
                             json_t *group_body);

/* True when conn's peer is root or the daemon's own user (who may change state). */
bool ctl_conn_privileged(const struct ctl_conn *conn);

/* Builds {"ok":false,"error":msg} (NULL on OOM). */
json_t *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
