/*
 * ctlproto.h — the control socket's wire format, the one home that the daemon (daemon/
 * control.c, ctlcmd.c, ctlreq.c) and the CLI (cli/client.c, live.c) both include: limits,
 * command names and whether they need privilege, the members of requests and answers, the
 * kinds of `watch` events. PRODUCT.md "Socket protocol" describes the same for users.
 *
 * One request is one line of JSON (an object with CTL_REQ_CMD); one answer is one line of
 * JSON with CTL_RESP_OK (true or false; false with CTL_RESP_ERROR). After `watch`, lines
 * with CTL_RESP_EVENT follow. A change of shape bumps CTL_PROTOCOL_VERSION, which `status`
 * reports. Pure: no I/O, no globals but the command table; any thread.
 */
#ifndef FEEDWATCH_CTLPROTO_H
#define FEEDWATCH_CTLPROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CTL_PROTOCOL_VERSION                                                                       \
    2 /* 2: search_lag_items in search, reload's counts, feeds NAME, item */
#define CTL_MAX_LINE (64 * 1024) /* one request line, its newline included */
#define CTL_ITEMS_DEFAULT 20     /* items and search without a limit */
#define CTL_ITEMS_MAX 10000      /* the largest limit of items, alerts and search */
#define CTL_ALERTS_DEFAULT 100   /* alerts without a limit */

/* Commands (the value of CTL_REQ_CMD). */
#define CTL_CMD_STATUS "status"
#define CTL_CMD_FEEDS "feeds"
#define CTL_CMD_ITEMS "items"
#define CTL_CMD_ITEM "item"
#define CTL_CMD_ALERTS "alerts"
#define CTL_CMD_SEARCH "search"
#define CTL_CMD_WATCH "watch"
#define CTL_CMD_METRICS "metrics"
#define CTL_CMD_POLL "poll"
#define CTL_CMD_RELOAD "reload"
#define CTL_CMD_ADD "add"
#define CTL_CMD_REMOVE "remove"
#define CTL_CMD_PAUSE "pause"
#define CTL_CMD_RESUME "resume"
#define CTL_CMD_REDELIVER "redeliver"
#define CTL_CMD_EVENTS "events" /* feed events, newest first, with their deliveries */

/* Members of a request. */
#define CTL_REQ_CMD "cmd"
#define CTL_REQ_FEED "feed"                   /* items, poll: one feed's name */
#define CTL_REQ_ID "id"                       /* item: the item's id */
#define CTL_REQ_SINCE "since"                 /* items: RFC 3339, published (else seen) since */
#define CTL_REQ_TAG "tag"                     /* items: the feeds carrying this tag */
#define CTL_REQ_LIMIT "limit"                 /* items, alerts, search: 1..CTL_ITEMS_MAX */
#define CTL_REQ_TEXT "text"                   /* items: with each item's text */
#define CTL_REQ_TOPIC "topic"                 /* alerts, items: one topic's */
#define CTL_REQ_FAILED "failed"               /* alerts, redeliver: alerts with a failed hook */
#define CTL_REQ_QUERY "query"                 /* search */
#define CTL_REQ_WAIT "wait"                   /* poll: answer when the polls ended */
#define CTL_REQ_NAME "name"                   /* add, remove, pause, resume; feeds: one feed */
#define CTL_REQ_URL "url"                     /* add */
#define CTL_REQ_INTERVAL "interval"           /* add: seconds */
#define CTL_REQ_TAGS "tags"                   /* add: array of strings */
#define CTL_REQ_FETCH_ARTICLE "fetch_article" /* add */
#define CTL_REQ_ALERT "alert"                 /* redeliver: one alert's id */
#define CTL_REQ_HOOK "hook"                   /* redeliver: only this hook's deliveries */

/* Members of an answer, and of an event. */
#define CTL_RESP_OK "ok"
#define CTL_RESP_ERROR "error"
#define CTL_RESP_EVENT "event" /* a `watch` event's kind: one of CTL_EVENT_* */
#define CTL_RESP_FEEDS "feeds" /* feeds: the entries; status, reload: the counts */
#define CTL_RESP_FEED                                                                              \
    "feed"                       /* add, pause, resume: the feed as `feeds` shows it;              \
                                    feeds NAME: that and its details */
#define CTL_RESP_ITEM "item"     /* item: the item in full */
#define CTL_RESP_ITEMS "items"   /* items, search: the entries; status: the count */
#define CTL_RESP_ALERTS "alerts" /* alerts, item: the entries; status, feeds NAME: counts */
#define CTL_RESP_TOPICS "topics" /* reload: the counts */
#define CTL_RESP_HOOKS "hooks"   /* reload: the counts */
#define CTL_RESP_SEARCH_LAG "search_lag_items" /* status, search: items not indexed yet */
#define CTL_RESP_QUEUED "queued"     /* poll: feeds queued; redeliver: deliveries queued */
#define CTL_RESP_CYCLE "cycle"       /* poll --wait: the counts below */
#define CTL_RESP_REMOVED "removed"   /* remove: the name */
#define CTL_RESP_WATCHING "watching" /* watch */
#define CTL_RESP_TEXT "text"         /* metrics: Prometheus text; items: an item's text */
/* redeliver: [{"alert", "hook"}] queued; an entry of alerts or item: each hook's delivery */
#define CTL_RESP_DELIVERIES "deliveries"
#define CTL_RESP_EVENTS "events" /* events: [{id, event, feed, feed_state, raised, state, ...}] */

/* Members of CTL_RESP_CYCLE. */
#define CTL_CYCLE_POLLED "polled"
#define CTL_CYCLE_OK "ok"
#define CTL_CYCLE_NOT_MODIFIED "not_modified"
#define CTL_CYCLE_ERRORS "errors"
#define CTL_CYCLE_NEW_ITEMS "new_items"
#define CTL_CYCLE_ALERTS "alerts"

/* Kinds of `watch` events; each event carries the members of an entry of that kind. */
#define CTL_EVENT_ITEM "item"   /* as an entry of `items` */
#define CTL_EVENT_ALERT "alert" /* as an entry of `alerts` */
#define CTL_EVENT_FEED "feed"   /* as an entry of `feeds` */

/* Who may run a command. */
enum ctlproto_access {
    CTLPROTO_READONLY,   /* the socket's group */
    CTLPROTO_PRIVILEGED, /* root or the daemon's user only */
};

struct ctlproto_cmd {
    const char *name;
    enum ctlproto_access access;
};

/* Every command, in the order `feedwatch --help` lists them; ctlproto_n_cmds entries. */
extern const struct ctlproto_cmd ctlproto_cmds[];
extern const size_t ctlproto_n_cmds;

/* The command called name, or NULL. */
const struct ctlproto_cmd *ctlproto_cmd_find(const char *name);

/*
 * s as a JSON string for an answer, an event or a hook's document: JSON null for NULL; a
 * string that is not valid UTF-8 keeps its valid parts, each invalid byte replaced by
 * U+FFFD. A new reference, or NULL on OOM.
 */
json_t *ctlproto_json_string(const char *s);

#endif
