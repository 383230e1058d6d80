/*
 * daemon.h — struct daemon owns the loop and every subsystem: config, store, scheduler,
 * fetcher, the feed table (feedtable.h), control server, signals and the systemd glue. Its
 * first part, struct dctx (dctx.h), is what the modules below it share; they are handed that
 * and callbacks, never this header. Only main.c and the commands (ctlcmd.c) include it, and
 * struct daemon is daemon.c's alone: the commands reach the daemon through the calls below
 * (daemon_ctx, daemon_feeds, daemon_status, daemon_reload, daemon_metrics_text and _get).
 *
 * Startup order: config → store (created and migrated, then the loop's read-only connection)
 * → store writer (writer.h; every write goes through it) → fetcher → scheduler → control
 * socket → READY=1.
 * Shutdown order: STOPPING=1 → the writer drained (its done callbacks run) → control listener
 * → /metrics listener → status reader (storestat.h; its thread joined after the loop) → scheduler →
 * transfers → multi handle → remaining handles (uv_walk) → loop closed → the loop's connection
 * closed, then the writer's → socket unlinked. Loop thread only (the writer's jobs hand their
 * results back through done callbacks).
 */
#ifndef FEEDWATCH_DAEMON_H
#define FEEDWATCH_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct ctlcmd_server;
struct dctx;
struct feedtable;
struct retention;

/* Private to daemon.c: the modules below it get struct dctx, the commands the calls below. */
struct daemon;

/*
 * The commands of the control socket (ctlcmd.h): main.c hands them to daemon_run, so that
 * the daemon starts and stops the socket without depending on the commands that drive it.
 * listen gives *ret_server, the commands' own (0), or a negative errno with *reterr_msg;
 * close ends it.
 */
struct daemon_control {
    int (*listen)(struct daemon *d, const char *path, struct ctlcmd_server **ret_server,
                  char **reterr_msg);
    void (*close)(struct ctlcmd_server *server);
};

/* Runs the daemon on config_path until a signal (or, with once, one cycle) ends it. */
int daemon_run(const char *config_path, bool once, const struct daemon_control *ctl);

/*
 * The first step of daemon_run: the daemon of config_path with its config read, its topics
 * compiled, its metrics, events and empty feed table, and nothing else yet (no loop, store,
 * writer or socket: daemon_run opens them; a test may set some by hand through daemon_ctx).
 * 0, or a negative errno with *reterr_msg (NULL when out of memory). ctl may be NULL.
 */
int daemon_new(const char *config_path, bool once, const struct daemon_control *ctl,
               struct daemon **ret, char **reterr_msg);

/* Frees d and every service its dctx holds (after its loop ended); accepts NULL. */
void daemon_free(struct daemon *d);

/* The services the daemon shares with its modules (dctx.h), for the commands. */
struct dctx *daemon_ctx(struct daemon *d);

/* The daemon's feeds (feedtable.h): the commands list them and change them at run time. */
struct feedtable *daemon_feeds(struct daemon *d);

/* What `status` says of the daemon itself. */
struct daemon_status {
    uint64_t uptime_s;
    int64_t items_total;               /* rows in items */
    const struct retention *retention; /* the pruning's tallies (retention_json); NULL: none */
};
void daemon_status(const struct daemon *d, struct daemon_status *ret);

/* The Prometheus text of the daemon's metrics now (a new heap string), or NULL on OOM. */
char *daemon_metrics_text(struct daemon *d);

/*
 * The metrics without waiting for the database on the loop: with SQLite *ret_text at once (1);
 * with PostgreSQL the store's tallies are read off the loop (storestat.h), and done(ctx, text)
 * runs later with the text (taken; NULL on OOM), unless daemon_metrics_cancel(*ret_req) came
 * first (0). -ENOMEM: neither.
 */
struct daemon_metrics_req;
typedef void (*daemon_metrics_cb)(void *ctx, char *text);
int daemon_metrics_get(struct daemon *d, daemon_metrics_cb done, void *ctx, char **ret_text,
                       struct daemon_metrics_req **ret_req);
void daemon_metrics_cancel(struct daemon_metrics_req *req);

/*
 * How a reload ended: 0 (the new config is in force), or a negative errno and why (the
 * running config is kept).
 */
typedef void (*daemon_reload_cb)(void *ctx, int r, const char *err);

/*
 * Re-reads the config and applies it once the store's writer has loaded the rows of the
 * feeds it brings (the loop goes on meanwhile; a new feed is scheduled only with its row);
 * on error keeps the running one. cb (NULL: nobody) is told once, maybe before this returns.
 * A reload asked for while one is under way runs after it, reading the config then.
 */
void daemon_reload(struct daemon *d, daemon_reload_cb cb, void *ctx);

/* Begins a clean stop with the given exit code. */
void daemon_stop(struct daemon *d, int exit_code);

#endif
