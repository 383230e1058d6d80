/*
 * daemon.h — struct daemon owns the loop and every subsystem: config, store, scheduler,
 * fetcher, the feed table (feedtable.h), control server, signals and the systemd glue. Its
 * first part, struct dctx (dctx.h), is what the modules below it share; they are handed that
 * and callbacks, never this header. Only main.c and the commands (ctlcmd.c) include it.
 *
 * Startup order: config → store (created and migrated, then the loop's read-only connection)
 * → store writer (writer.h; every write goes through it) → fetcher → scheduler → control
 * socket → READY=1.
 * Shutdown order: STOPPING=1 → the writer drained (its done callbacks run) → control listener
 * → scheduler → transfers → multi handle → remaining handles (uv_walk) → loop closed → the
 * loop's connection closed, then the writer's → socket unlinked.
 * Loop thread only (the writer's jobs hand their results back through done callbacks).
 */
#ifndef FEEDWATCH_DAEMON_H
#define FEEDWATCH_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "dctx.h"
#include "feedtable.h"

struct control;
struct metrics_http;
struct retention;

struct daemon {
    struct dctx ctx; /* what the modules below share: loop, config, store, writer... (dctx.h) */
    char *config_path;
    struct control *control;
    struct metrics_http *metrics_http; /* GET /metrics; NULL unless metrics_listen is set */
    struct retention *retention;       /* prunes old items through the writer (retention.h) */
    struct feedtable table;            /* the feeds, their ready queue and poll slots */
    const struct daemon_control *ctl;  /* the control socket's commands (main.c gives them) */
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t watchdog;
    uv_timer_t status_timer;
    uv_timer_t stop_timer;
    uint64_t watchdog_usec;
    uint64_t started_ms; /* uv_now at start, for uptime */
    unsigned once_remaining;
    bool once_failed;
    struct {
        unsigned polled, ok, not_modified, errors;
        uint64_t new_items, alerts;
    } once_tally;        /* --once: what the cycle did, for its closing summary */
    int64_t items_total; /* rows in items, kept current without count(*) */
    int exit_code;
    /* The reload under way (its rows being loaded by the writer), the one asked for meanwhile. */
    struct reload *reloading, *reload_next;
};

/*
 * The commands of the control socket (ctlcmd.h): main.c hands them to daemon_run, so that
 * the daemon starts and stops the socket without depending on the commands that drive it.
 * listen sets d->control (0, or a negative errno with *reterr_msg); close unsets it.
 */
struct daemon_control {
    int (*listen)(struct daemon *d, const char *path, char **reterr_msg);
    void (*close)(struct daemon *d);
};

/* Runs the daemon on config_path until a signal (or, with once, one cycle) ends it. */
int daemon_run(const char *config_path, bool once, const struct daemon_control *ctl);

/* The Prometheus text of the daemon's metrics now (a new heap string), or NULL on OOM. */
char *daemon_metrics_text(struct daemon *d);

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
