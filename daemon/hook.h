/*
 * hook.h — the hook runner: delivers alerts to the user's programs and webhooks.
 *
 * It works only from the `deliveries` rows of the store, so a restart loses nothing: a due
 * delivery's alert is read back from the store as the JSON PRODUCT.md documents, the
 * delivery is marked running (attempts + 1), and once that state is stored either a program
 * runs (uv_spawn of the hook's argv,
 * never a shell, the FEEDWATCH_* environment, the JSON on stdin, stdout/stderr to the log,
 * bounded; killed at its timeout with SIGTERM, then SIGKILL) or the JSON is POSTed through
 * the daemon's fetcher. Exit 0 / a 2xx is delivered; anything else retries with exponential
 * backoff until the hook's retries are spent, then the delivery is failed. At most
 * max_hooks run at once. A program runs in a box: its own session and process group, an
 * environment built from nothing (FEEDWATCH_*, PATH, LANG, TZ and the hook's `env` names,
 * each value cut at HOOK_ENV_VALUE_MAX bytes), no descriptor but 0, 1 and 2. A run is
 * complete when the first process has exited, stdout and stderr reached EOF and no process
 * of the group is left; at the timeout the whole group gets SIGTERM, SIGKILL after a grace
 * period, and the run ends there as failed (even when the first process had exited 0).
 *
 * Every state goes to the store through the writer (writer.h) and the loop reads the rows
 * on its own connection, where a state on its way still shows the one before: a delivery is
 * busy from the moment its state is queued until the writer is done with it (committed by
 * then, so the next read shows it), and a due read never starts a busy delivery again.
 * Loop thread only.
 */
#ifndef FEEDWATCH_HOOK_H
#define FEEDWATCH_HOOK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct dctx;
struct hooks;

#define HOOK_BACKOFF_BASE_S 2 /* first retry after 2 s, then 4, 8 ... */
#define HOOK_BACKOFF_MAX_S 3600
#define HOOK_KILL_GRACE_MS 3000 /* SIGTERM at the timeout, SIGKILL this much later */
#define HOOK_MAX_OUTPUT 16384   /* bytes of a child's stdout/stderr that reach the log */
#define HOOK_ENV_VALUE_MAX 4096 /* bytes of one FEEDWATCH_* value; the whole alert is on stdin */

/* Told that a run ended or a delivery state was stored: --once may be done now. */
typedef void (*hook_progress_cb)(void *ctx);

/*
 * Creates the runner on the daemon's services d (dctx.h); deliveries left running by a crash
 * become pending again (written before the loop runs, writer_call). On a store with clusters
 * (store_clustered: several daemons on one database) it resets nothing, the running deliveries
 * being other nodes' (this node's own are its store_node_leave's at start), and claims due
 * deliveries through the writer (store_deliveries_claim, as [daemon] node, for lease) instead
 * of reading them on the loop. progress (may be NULL) is told as hook_progress_cb says. Logs
 * its error.
 */
int hook_new(struct dctx *d, hook_progress_cb progress, void *ctx, struct hooks **ret_hooks);

/*
 * Looks for due deliveries now (after new alerts were committed, at start, after reload);
 * accepts NULL (the runner was closed by a stop).
 */
void hook_kick(struct hooks *h);

/*
 * A reload replaced old (still alive) with the daemon's config: the deliveries a hook's
 * shorter `batch` window (or none) leaves waiting for the end of the old one wait for the new
 * one's end instead (store_batch_rewindow, through the writer, the hooks in name order), then
 * a kick. old NULL: a start (hook_new), the old windows unknown. A failure is logged, nothing
 * more (they wait as they did). Accepts NULL h.
 */
void hook_reconfigured(struct hooks *h, const struct conf *old);

/* Hook runs in progress. */
unsigned hook_running(const struct hooks *h);

/*
 * Clusters: the deliveries this node has in hand, whose leases its beat renews: those running
 * here (one by one or in a batch) and those whose state is on its way to the store; of
 * alerts, or with events of feed events (their ids and the alerts' are not one sequence).
 * Copies (*ret_ids, *ret_hooks and each name malloc'd; hook_hand_free frees them); 0, or
 * -ENOMEM. Accepts NULL h (none).
 */
int hook_hand(const struct hooks *h, bool events, int64_t **ret_ids, char ***ret_hooks,
              size_t *ret_n);
void hook_hand_free(int64_t *ids, char **hooks, size_t n);

/* True when nothing runs and nothing is due now (--once waits for this). */
bool hook_idle(struct hooks *h);

/*
 * Stops the runner: running children get SIGTERM (their deliveries stay "running" in the
 * store and run again after a restart: at-least-once), handles are closed; freed from the
 * last close callback.
 */
void hook_close(struct hooks *h);

/*
 * A delivery's last error as the socket's group may see it (`alerts`, `item ID`): a reason
 * that names nothing of the hook's setup (an exit status, a signal, a timeout, an HTTP
 * status, a start's errno) as it is; one that quotes the exec's path or the secret_file's as
 * what failed and why ("cannot run the hook's exec: no such file or directory", written in
 * buf); any other text (a webhook's transfer error, which names its host) as "failed".
 * Returns error, buf or a constant; NULL for NULL. Pure: any thread.
 */
const char *hook_error_brief(const char *error, char *buf, size_t size);

/* The alert's JSON as hooks get it on stdin (a new reference), or NULL with the store error. */
json_t *hook_alert_json(struct dctx *d, int64_t alert_id);

#define HOOK_REDELIVER_LIST_MAX 100 /* deliveries a `redeliver` answer names (all are counted) */
#define HOOK_REDELIVER_BATCH 10000  /* failed deliveries `redeliver --failed` requeues a txn */

/*
 * The outcome of hook_redeliver: result < 0 with error; else queued deliveries became due
 * now, and deliveries (borrowed; the caller may take a reference) names the first
 * HOOK_REDELIVER_LIST_MAX of them as [{"alert", "hook"}] (a feed event's: {"event", "hook"}).
 */
typedef void (*hook_redeliver_cb)(void *ctx, int result, const char *error, unsigned queued,
                                  json_t *deliveries);

/*
 * `redeliver`: with alert_id > 0, that alert's deliveries (only hook's when hook is set; a
 * hook its topic names now gets one even if the alert had none, so a hook added to a topic
 * by a reload reaches old alerts only this way); with alert_id 0, every failed delivery
 * (only hook's when set), alerts' then feed events'. Each becomes pending, due now, attempts
 * and error cleared, written
 * through the writer, and the runner is kicked once it is stored. Every failed delivery goes
 * in batches of HOOK_REDELIVER_BATCH, a writer transaction each (the loop and the other
 * writes go on between them; a crash leaves each batch whole or not done, and the command
 * may be repeated), in key order from where the last batch ended (a delivery that fails
 * again meanwhile is not taken twice); cb is called once the last is stored, with the total.
 * Deliveries to hooks no longer configured, and deliveries running now (they end as they end), are
 * left alone. 0: cb(ctx, ...) is called once later, on the loop (also when stopping: then with what
 * was stored). A negative errno with *reterr_msg (malloc'd, may be NULL on OOM) when refused at
 * once: no such alert or hook, a hook the alert's topic does not name, nothing to deliver
 * to, the writer's queue full, or the runner stopped (h NULL or closing).
 */
int hook_redeliver(struct hooks *h, int64_t alert_id, const char *hook, hook_redeliver_cb cb,
                   void *ctx, char **reterr_msg);

#endif
