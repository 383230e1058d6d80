/*
 * ctlcmd.h — the daemon's control commands: one handler per command of proto/ctlproto.h,
 * checked against the command's access before it runs; and the `watch` stream, built from
 * the daemon's events (events.h) as the JSON lines of PRODUCT.md "Socket protocol".
 *
 * ctlcmd owns the dispatching (control.c only frames lines) and every deferred answer it
 * makes: a query in the thread pool (control.c runs it), or a `poll --wait` whose tallies
 * it keeps until the last of its polls ends (feedtable_poll_now's callback). Loop thread.
 */
#ifndef FEEDWATCH_CTLCMD_H
#define FEEDWATCH_CTLCMD_H

#include <jansson.h>
#include <sys/types.h>

#include "control.h"

struct ctlcmd_server;
struct daemon;
struct dfeed;

/*
 * Listens on path with ctlcmd_dispatch as the dispatcher and subscribes the `watch` stream
 * to d's events (daemon.h's struct daemon_control.listen). 0 and *ret_server, or a negative
 * errno with *reterr_msg.
 */
int ctlcmd_listen(struct daemon *d, const char *path, struct ctlcmd_server **ret_server,
                  char **reterr_msg);

/* Unsubscribes the `watch` stream, closes the socket and frees server; accepts NULL. */
void ctlcmd_close(struct ctlcmd_server *server);

/*
 * Runs one request of conn, whose peer is uid. CTL_ANSWERED: *ret_resp holds the answer (a
 * new reference, maybe an error answer); CTL_DEFERRED: the answer comes through
 * ctl_conn_reply(conn); CTL_NOMEM: no answer could be built. conn may be NULL for the
 * commands that answer at once (status, feeds without a name, metrics, poll without wait,
 * and the refusals of add, remove, pause and resume); reload, add, remove, pause and resume
 * answer once the writer stored what they need; items, item, feeds NAME, alerts and search
 * run in the thread pool.
 */
enum ctl_dispatch ctlcmd_dispatch(struct daemon *d, struct ctl_conn *conn, uid_t uid, json_t *req,
                                  json_t **ret_resp);

/*
 * The JSON shape of a feed shared by answers and events: a new reference, or NULL on OOM. A
 * feed's URLs and errors show in full (but userinfo) only to a privileged peer (root, the
 * daemon's user); the socket's group sees scheme and host (url_brief), and of its items' URLs
 * those made from the feed's URL alike (url_item_brief; items, alerts, search, item, watch).
 */
json_t *ctlcmd_feed_json(const struct dfeed *f, bool privileged);

#endif
