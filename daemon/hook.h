/*
 * hook.h — the hook runner: delivers alerts to the user's programs and webhooks.
 *
 * It works only from the `deliveries` rows of the store, so a restart loses nothing: a due
 * delivery is marked running (attempts + 1), its alert is read back from the store as the
 * JSON PRODUCT.md documents, and then either a program runs (uv_spawn of the hook's argv,
 * never a shell, the FEEDWATCH_* environment, the JSON on stdin, stdout/stderr to the log,
 * bounded; killed at its timeout with SIGTERM, then SIGKILL) or the JSON is POSTed through
 * the daemon's fetcher. Exit 0 / a 2xx is delivered; anything else retries with exponential
 * backoff until the hook's retries are spent, then the delivery is failed. At most
 * max_hooks run at once. A run is complete only when the child has exited AND its stdout
 * and stderr have reached EOF. Loop thread only.
 */
#ifndef FEEDWATCH_HOOK_H
#define FEEDWATCH_HOOK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct daemon;
struct hooks;

#define HOOK_BACKOFF_BASE_S 2      /* first retry after 2 s, then 4, 8 ... */
#define HOOK_BACKOFF_MAX_S 3600
#define HOOK_KILL_GRACE_MS 3000    /* SIGTERM at the timeout, SIGKILL this much later */
#define HOOK_MAX_OUTPUT 16384      /* bytes of a child's stdout/stderr that reach the log */

/* Creates the runner; deliveries left running by a crash become pending again. */
int hooks_new(struct daemon *d, struct hooks **ret_hooks);

/*
 * Looks for due deliveries now (after new alerts were committed, at start, after reload);
 * accepts NULL (the runner was closed by a stop).
 */
void hooks_kick(struct hooks *h);

/* Hook runs in progress. */
unsigned hooks_running(const struct hooks *h);

/* True when nothing runs and nothing is due now (--once waits for this). */
bool hooks_idle(struct hooks *h);

/*
 * Stops the runner: running children get SIGTERM (their deliveries stay "running" in the
 * store and run again after a restart: at-least-once), handles are closed; freed from the
 * last close callback.
 */
void hooks_close(struct hooks *h);

/* The alert's JSON as hooks get it on stdin (a new reference), or NULL with the store error. */
json_t *hooks_alert_json(struct daemon *d, int64_t alert_id);

#endif
