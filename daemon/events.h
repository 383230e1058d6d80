/*
 * events.h — what happened in the daemon, told to whoever listens: a new item stored, an
 * alert raised, a feed's state or settings changed. The module that makes a thing happen
 * publishes a plain struct (feedpoll.c after a poll's transaction commits, ctlcmd.c after a
 * run-time change); the modules that care subscribe with a mask of kinds (ctlcmd.c turns
 * them into `watch` lines). Neither side knows the other.
 *
 * struct events is owned by struct daemon. A subscriber is called synchronously, in the
 * order of subscription; the event and what it points to are borrowed for the call. A
 * subscriber may subscribe or unsubscribe (itself or another) from inside its callback.
 * Loop thread only.
 */
#ifndef FEEDWATCH_EVENTS_H
#define FEEDWATCH_EVENTS_H

#include <stdint.h>

struct dfeed;
struct store_item_row;

enum events_kind {
    EVENTS_ITEM = 1u << 0,  /* a new item, its row committed */
    EVENTS_ALERT = 1u << 1, /* an alert raised, its row committed */
    EVENTS_FEED = 1u << 2,  /* a feed's state or settings changed (a poll, add, pause...) */
    EVENTS_LIFE = 1u << 3,  /* a feed event (feed-disabled, feed-moved...), its row committed */
};

#define EVENTS_ALL (EVENTS_ITEM | EVENTS_ALERT | EVENTS_FEED | EVENTS_LIFE)

/* EVENTS_LIFE: one feed event as stored. */
struct events_life {
    int64_t id;
    const char *event; /* feed-disabled, feed-moved, ... */
    const struct dfeed *feed;
    const char *url;   /* the feed's URL in use */
    const char *state; /* the feed's state */
    const char *reason;
};

struct events_event {
    enum events_kind kind;
    union {
        const struct store_item_row *item; /* EVENTS_ITEM: the item as stored (no text) */
        int64_t alert_id;                  /* EVENTS_ALERT: the alert's row id */
        const struct dfeed *feed;          /* EVENTS_FEED: the feed as it is now */
        const struct events_life *life;    /* EVENTS_LIFE */
    };
};

typedef void (*events_cb)(void *ctx, const struct events_event *ev);

struct events;

/* A registry with no subscriber, or NULL on OOM. */
struct events *events_new(void);

/* Frees the registry; accepts NULL. Must not be called from a callback. */
void events_free(struct events *ev);

/*
 * Calls cb(ctx, event) for every event whose kind is in mask, from now on. 0, -EINVAL (an
 * empty mask, a NULL cb, or the pair (cb, ctx) subscribed already) or -ENOMEM.
 */
int events_subscribe(struct events *ev, unsigned mask, events_cb cb, void *ctx);

/* Stops the calls to (cb, ctx); accepts a pair not subscribed and a NULL ev. */
void events_unsubscribe(struct events *ev, events_cb cb, void *ctx);

/* Tells every subscriber whose mask has e->kind; accepts a NULL ev (nobody listens). */
void events_publish(struct events *ev, const struct events_event *e);

#endif
