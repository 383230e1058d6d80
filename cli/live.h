/*
 * live.h — the CLI's live commands (status, feeds, items, poll, reload, alerts, watch, add,
 * remove, pause, resume): build the request
 * of notes/protocol.md, send it through client.h, and print the answer, either the response
 * line as received (--json) or aligned human output with every daemon string scrubbed.
 * Messages go to stderr as "feedwatch: ...". Single-threaded.
 */
#ifndef FEEDWATCH_LIVE_H
#define FEEDWATCH_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum live_cmd {
    LIVE_STATUS,
    LIVE_FEEDS,
    LIVE_ITEMS,
    LIVE_POLL,
    LIVE_RELOAD,
    LIVE_ALERTS,
    LIVE_WATCH,
    LIVE_ADD,
    LIVE_REMOVE,
    LIVE_PAUSE,
    LIVE_RESUME,
    LIVE_SEARCH,
    LIVE_METRICS,
    LIVE_REDELIVER,
    LIVE_ITEM,
    LIVE_EVENTS,
};

/* One live command and its options, as parsed from the command line. */
struct live_args {
    enum live_cmd cmd;
    const char *socket;      /* resolved socket path */
    bool json;               /* print the response line as received */
    const char *feed;        /* items --feed F, poll FEED; NULL when not given */
    long limit;              /* items --limit N; 0 when not given */
    bool text;               /* items --text */
    bool wait;               /* poll --wait */
    const char *topic;       /* alerts --topic T, items --topic T */
    const char *since;       /* items --since, as RFC 3339 UTC; NULL when not given */
    int64_t id;              /* item ID */
    bool failed;             /* alerts --failed, redeliver --failed */
    int64_t alert_id;        /* redeliver ALERT_ID; 0 when not given */
    const char *hook;        /* redeliver --hook H */
    const char *name;        /* add/remove/pause/resume NAME, feeds NAME */
    const char *url;         /* add NAME URL */
    const char *query;       /* search QUERY */
    uint64_t interval_s;     /* add --interval; 0 when not given */
    const char *const *tags; /* add --tag T..., items --tag T (the first) */
    size_t n_tags;
    bool fetch_article; /* add --fetch-article */
    size_t width;       /* human output fits this many columns; 0: no limit (--wide) */
};

/*
 * Reports a failure of a live command: its message on stderr ("feedwatch: ..."), and with
 * json, as the daemon would answer it, {"ok":false,"error":"..."} on stdout (ASCII only).
 */
void live_report(bool json, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Runs one live command against the daemon and prints its result. Returns the process exit
 * status: 0 success, 1 failure (error response, bad answer, output error), 3 daemon not
 * reachable. With json, a failure without an answer is reported as live_report() does.
 */
int live_run(const struct live_args *args);

#endif
