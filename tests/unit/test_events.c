/*
 * test_events.c — the events seam (daemon/events.h): subscribers get the kinds in their mask,
 * in subscription order, with the publisher's struct; unsubscribing (also from inside a
 * callback, of itself or of a later subscriber) stops the calls at once; a subscription
 * made during a publish sees the next event, not the current one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>

#include "events.h"
#include "store.h"

#define LOG_MAX 32

struct rec {
    struct events *ev;
    char log[LOG_MAX][32]; /* "name:kind:detail" */
    size_t n;
};

struct sub {
    struct rec *rec;
    const char *name;
    int action; /* what to do when called: see on_event */
    struct sub *other;
};

enum { ACT_NONE, ACT_UNSUB_SELF, ACT_UNSUB_OTHER, ACT_SUB_OTHER };

static void on_event(void *ctx, const struct events_event *e);

static void
on_event(void *ctx, const struct events_event *e)
{
    struct sub *s = ctx;
    struct rec *r = s->rec;
    assert_true(r->n < LOG_MAX);
    switch (e->kind) {
    case EVENTS_ITEM:
        snprintf(r->log[r->n++], 32, "%s:item:%s", s->name, e->item->title);
        break;
    case EVENTS_ALERT:
        snprintf(r->log[r->n++], 32, "%s:alert:%lld", s->name, (long long)e->alert_id);
        break;
    case EVENTS_FEED:
        snprintf(r->log[r->n++], 32, "%s:feed:%p", s->name, (void *)e->feed);
        break;
    case EVENTS_LIFE:
        snprintf(r->log[r->n++], 32, "%s:%s", s->name, e->life->event);
        break;
    }
    if (s->action == ACT_UNSUB_SELF)
        events_unsubscribe(r->ev, on_event, s);
    else if (s->action == ACT_UNSUB_OTHER)
        events_unsubscribe(r->ev, on_event, s->other);
    else if (s->action == ACT_SUB_OTHER)
        assert_int_equal(events_subscribe(r->ev, EVENTS_ALL, on_event, s->other), 0);
    s->action = ACT_NONE; /* once */
}

static void
publish_item(struct events *ev, const char *title)
{
    struct store_item_row row = {.id = 7, .title = title};
    events_publish(ev, &(struct events_event){.kind = EVENTS_ITEM, .item = &row});
}

static void
publish_alert(struct events *ev, int64_t id)
{
    events_publish(ev, &(struct events_event){.kind = EVENTS_ALERT, .alert_id = id});
}

static void
test_events_masks_and_order(void **state)
{
    (void)state;
    struct rec r = {.ev = events_new()};
    assert_non_null(r.ev);
    struct sub a = {&r, "a", ACT_NONE, NULL}, b = {&r, "b", ACT_NONE, NULL};
    assert_int_equal(events_subscribe(r.ev, EVENTS_ITEM | EVENTS_ALERT, on_event, &a), 0);
    assert_int_equal(events_subscribe(r.ev, EVENTS_ALERT | EVENTS_FEED, on_event, &b), 0);
    /* The same pair twice, an empty mask and no callback are refused. */
    assert_int_equal(events_subscribe(r.ev, EVENTS_FEED, on_event, &a), -EINVAL);
    assert_int_equal(events_subscribe(r.ev, 0, on_event, &r), -EINVAL);
    assert_int_equal(events_subscribe(r.ev, EVENTS_ALL, NULL, &r), -EINVAL);

    publish_item(r.ev, "first");
    publish_alert(r.ev, 42);
    int feed_dummy;
    events_publish(r.ev, &(struct events_event){.kind = EVENTS_FEED,
                                                .feed = (const struct dfeed *)&feed_dummy});
    char feed_line[32];
    snprintf(feed_line, sizeof(feed_line), "b:feed:%p", (void *)&feed_dummy);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.log[0], "a:item:first");
    assert_string_equal(r.log[1], "a:alert:42");
    assert_string_equal(r.log[2], "b:alert:42");
    assert_string_equal(r.log[3], feed_line);

    events_unsubscribe(r.ev, on_event, &a);
    events_unsubscribe(r.ev, on_event, &a); /* not subscribed any more: nothing happens */
    publish_alert(r.ev, 43);
    assert_int_equal(r.n, 5);
    assert_string_equal(r.log[4], "b:alert:43");
    /* a may subscribe again after leaving, and comes last now. */
    assert_int_equal(events_subscribe(r.ev, EVENTS_ALERT, on_event, &a), 0);
    publish_alert(r.ev, 44);
    assert_int_equal(r.n, 7);
    assert_string_equal(r.log[5], "b:alert:44");
    assert_string_equal(r.log[6], "a:alert:44");
    events_free(r.ev);
}

static void
test_events_changes_during_publish(void **state)
{
    (void)state;
    struct rec r = {.ev = events_new()};
    assert_non_null(r.ev);
    struct sub c = {&r, "c", ACT_NONE, NULL};
    struct sub b = {&r, "b", ACT_NONE, NULL};
    struct sub a = {&r, "a", ACT_UNSUB_OTHER, &b}; /* drops b before b's turn */
    assert_int_equal(events_subscribe(r.ev, EVENTS_ALL, on_event, &a), 0);
    assert_int_equal(events_subscribe(r.ev, EVENTS_ALL, on_event, &b), 0);
    assert_int_equal(events_subscribe(r.ev, EVENTS_ALL, on_event, &c), 0);
    publish_alert(r.ev, 1);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.log[0], "a:alert:1");
    assert_string_equal(r.log[1], "c:alert:1");

    /* c leaves from inside its own call; a subscribes b anew, which hears the next event. */
    c.action = ACT_UNSUB_SELF;
    a.action = ACT_SUB_OTHER;
    publish_alert(r.ev, 2);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.log[2], "a:alert:2");
    assert_string_equal(r.log[3], "c:alert:2");
    publish_alert(r.ev, 3);
    assert_int_equal(r.n, 6);
    assert_string_equal(r.log[4], "a:alert:3");
    assert_string_equal(r.log[5], "b:alert:3");
    events_free(r.ev);
}

struct nest {
    struct events *ev;
    int depth;
    int calls[2];
};

static void
on_nested(void *ctx, const struct events_event *e)
{
    struct nest *n = ctx;
    n->calls[e->kind == EVENTS_ITEM ? 0 : 1]++;
    if (e->kind == EVENTS_ITEM && n->depth++ == 0)
        publish_alert(n->ev, 9);
}

static void
on_nested_leave(void *ctx, const struct events_event *e)
{
    struct nest *n = ctx;
    (void)e;
    events_unsubscribe(n->ev, on_nested_leave, n); /* inside a nested publish */
    n->calls[1] += 100;
}

static void
test_events_nested_publish(void **state)
{
    (void)state;
    struct nest n = {.ev = events_new()};
    assert_non_null(n.ev);
    assert_int_equal(events_subscribe(n.ev, EVENTS_ALL, on_nested, &n), 0);
    assert_int_equal(events_subscribe(n.ev, EVENTS_ALERT, on_nested_leave, &n), 0);
    /* A publish from inside a callback reaches everybody, then the outer one goes on. */
    publish_item(n.ev, "x");
    /* on_nested: the item, then the nested alert; on_nested_leave: the alert once. */
    assert_int_equal(n.calls[0], 1);
    assert_int_equal(n.calls[1], 101);
    publish_alert(n.ev, 10);
    assert_int_equal(n.calls[1], 102);
    events_free(n.ev);
    /* Nobody listens to a NULL registry, and freeing NULL is fine. */
    events_publish(NULL, &(struct events_event){.kind = EVENTS_ALERT, .alert_id = 1});
    events_unsubscribe(NULL, on_nested, &n);
    events_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_masks_and_order),
        cmocka_unit_test(test_events_changes_during_publish),
        cmocka_unit_test(test_events_nested_publish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
