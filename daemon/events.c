/*
 * events.c — the subscriber list of events.h: an array in subscription order. A removal
 * during a publish only clears the entry (the publish walks the array by index); the array
 * is compacted when the outermost publish ends.
 */
#include "events.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

struct events_sub {
    unsigned mask; /* 0: removed during a publish, dropped when it ends */
    events_cb cb;
    void *ctx;
};

struct events {
    struct events_sub *subs;
    size_t n, cap;
    unsigned publishing; /* nesting depth of events_publish */
    bool dirty;          /* some entry was cleared during a publish */
};

/* A registry with no subscriber, or NULL on OOM. */
struct events *
events_new(void)
{
    return calloc(1, sizeof(struct events));
}

/* Frees the registry; accepts NULL. */
void
events_free(struct events *ev)
{
    if (!ev)
        return;
    free(ev->subs);
    free(ev);
}

/* Calls cb(ctx, event) for every event whose kind is in mask. 0, -EINVAL or -ENOMEM. */
int
events_subscribe(struct events *ev, unsigned mask, events_cb cb, void *ctx)
{
    if (!ev || !cb || (mask & EVENTS_ALL) == 0)
        return -EINVAL;
    for (size_t i = 0; i < ev->n; i++)
        if (ev->subs[i].mask && ev->subs[i].cb == cb && ev->subs[i].ctx == ctx)
            return -EINVAL;
    if (ev->n == ev->cap) {
        size_t cap = ev->cap ? 2 * ev->cap : 4;
        struct events_sub *s = realloc(ev->subs, cap * sizeof(*s));
        if (!s)
            return -ENOMEM;
        ev->subs = s;
        ev->cap = cap;
    }
    ev->subs[ev->n++] = (struct events_sub){.mask = mask & EVENTS_ALL, .cb = cb, .ctx = ctx};
    return 0;
}

/* Drops the entries cleared during a publish, keeping the others' order. */
static void
compact(struct events *ev)
{
    size_t k = 0;
    for (size_t i = 0; i < ev->n; i++)
        if (ev->subs[i].mask)
            ev->subs[k++] = ev->subs[i];
    ev->n = k;
    ev->dirty = false;
}

/* Stops the calls to (cb, ctx); accepts a pair not subscribed. */
void
events_unsubscribe(struct events *ev, events_cb cb, void *ctx)
{
    if (!ev)
        return;
    for (size_t i = 0; i < ev->n; i++) {
        if (ev->subs[i].mask && ev->subs[i].cb == cb && ev->subs[i].ctx == ctx) {
            ev->subs[i].mask = 0;
            ev->dirty = true;
            break;
        }
    }
    if (ev->dirty && ev->publishing == 0)
        compact(ev);
}

/* Tells every subscriber whose mask has e->kind, in subscription order. */
void
events_publish(struct events *ev, const struct events_event *e)
{
    if (!ev)
        return;
    ev->publishing++;
    /* By index, and up to the count at the start: a subscription made now sees the next. */
    size_t n = ev->n;
    for (size_t i = 0; i < n; i++) {
        struct events_sub s = ev->subs[i];
        if (s.mask & e->kind)
            s.cb(s.ctx, e);
    }
    if (--ev->publishing == 0 && ev->dirty)
        compact(ev);
}
