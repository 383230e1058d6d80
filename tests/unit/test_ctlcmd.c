/*
 * test_ctlcmd.c — each control command's dispatch (daemon/ctlcmd.c) against a daemon-less
 * fixture: a daemon of daemon_new (its config, topics, metrics and events) given a store, a
 * scheduler and its feeds by hand, with no writer, fetcher, control socket or loop running. What it
 * checks: every command of proto/ctlproto.h has a handler and the table's access (privileged
 * commands refused to other uids); the answers of status, feeds and metrics; the refusals of pause,
 * resume and remove (answered at once, with no feed event); poll without a pollable feed (queued 0,
 * and --wait answered at once with zero counts); the argument errors of items (topic, since), feeds
 * NAME, item, alerts, search, poll, add, remove (the read-only ones also for other uids) and
 * redeliver (test_hook.c runs hook_redeliver itself); a request without "cmd", an unknown command,
 * and a stopping daemon.
 *
 * The commands whose answers are deferred to the thread pool (items, feeds NAME, item, alerts
 * and search when valid), watch (a subscription of the connection), reload, and add, pause,
 * resume and remove that pass their checks (answered once the store's writer stored them) need
 * a real control connection: tests/integration (test_control.py, test_contract.py,
 * test_tags.py, test_lifecycle.py, test_cli_detail.py) runs them on a real daemon.
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
#include <unistd.h>

#include "conf.h"
#include "ctlcmd.h"
#include "ctlproto.h"
#include "daemon.h"
#include "dctx.h"
#include "feedtable.h"
#include "events.h"
#include "metrics.h"
#include "scheduler.h"
#include "store.h"

struct fixture {
    char dir[64];
    struct daemon *d;
    unsigned feed_events; /* EVENTS_FEED seen by the test's subscriber */
    const struct dfeed *last_feed;
};

static void
on_due(void *userdata, struct sched_entry *e)
{
    (void)userdata;
    (void)e;
}

static int64_t
fixed_clock(void *userdata)
{
    (void)userdata;
    return 1700000000000;
}

static void
on_feed_event(void *ctx, const struct events_event *ev)
{
    struct fixture *fx = ctx;
    assert_int_equal(ev->kind, EVENTS_FEED);
    fx->feed_events++;
    fx->last_feed = ev->feed;
}

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/fw-ctlcmd-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    char conf_path[128], db[128];
    snprintf(conf_path, sizeof(conf_path), "%s/feedwatch.conf", fx->dir);
    snprintf(db, sizeof(db), "%s/feedwatch.db", fx->dir);
    FILE *f = fopen(conf_path, "w");
    assert_non_null(f);
    /* beta before alpha: the daemon's feed table is sorted by name, as here by hand. */
    fprintf(f,
            "[daemon]\ndatabase = %s\nsocket = %s/feedwatch.sock\n\n"
            "[feed \"beta\"]\nurl = http://127.0.0.1:9/beta.xml\nenabled = no\n\n"
            "[feed \"alpha\"]\nurl = http://reader:s3cret@127.0.0.1:9/alpha.xml\n"
            "tags = news, local\n\n"
            "[topic \"volcano\"]\nmatch = volcano\n",
            db, fx->dir);
    fclose(f);

    struct daemon *d = NULL;
    char *err = NULL;
    if (daemon_new(conf_path, false, NULL, &d, &err) < 0)
        fail_msg("daemon_new: %s", err ? err : "?");
    struct dctx *dc = daemon_ctx(d);
    struct feedtable *t = daemon_feeds(d);
    assert_int_equal(store_open(db, &dc->store, &err), 0);
    assert_int_equal(uv_loop_init(&dc->loop), 0);
    dc->sched = sched_new(&dc->loop, on_due, fixed_clock, d);
    assert_non_null(dc->sched);
    t->feeds = calloc(dc->conf->n_feeds, sizeof(*t->feeds));
    assert_non_null(t->feeds);
    for (size_t i = 0; i < dc->conf->n_feeds; i++) {
        struct dfeed *df = calloc(1, sizeof(*df));
        assert_non_null(df);
        df->cfg = &dc->conf->feeds[i];
        sched_entry_init(&df->sched);
        assert_int_equal(store_feed_ensure(dc->store, df->cfg->name, df->cfg->url, &df->st), 0);
        t->feeds[t->n_feeds++] = df;
    }
    assert_string_equal(t->feeds[1]->cfg->name, "alpha");
    struct dfeed *tmp = t->feeds[0]; /* sorted: alpha, beta */
    t->feeds[0] = t->feeds[1];
    t->feeds[1] = tmp;
    assert_int_equal(events_subscribe(dc->events, EVENTS_FEED, on_feed_event, fx), 0);
    fx->d = d;
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;
    struct dctx *dc = daemon_ctx(fx->d);
    struct feedtable *t = daemon_feeds(fx->d);
    for (size_t i = 0; i < t->n_feeds; i++)
        sched_disarm(dc->sched, &t->feeds[i]->sched);
    sched_close(dc->sched);
    dc->sched = NULL;
    (void)uv_run(&dc->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&dc->loop), 0);
    daemon_free(fx->d); /* the feeds, store, events, metrics, topics and config */
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* The uid of a client that is neither root nor the daemon's user. */
static uid_t
other_uid(void)
{
    return geteuid() == 4242 ? 4243 : 4242;
}

/* Dispatches the JSON text req as uid; returns the answer, which must be given at once. */
static json_t *
run_as(struct fixture *fx, uid_t uid, const char *req_text)
{
    json_error_t jerr;
    json_t *req = json_loads(req_text, 0, &jerr);
    assert_non_null(req);
    json_t *resp = NULL;
    enum ctl_dispatch how = ctlcmd_dispatch(fx->d, NULL, uid, req, &resp);
    json_decref(req);
    assert_int_equal(how, CTL_ANSWERED);
    assert_non_null(resp);
    assert_true(json_is_boolean(json_object_get(resp, CTL_RESP_OK)));
    return resp;
}

static json_t *
run(struct fixture *fx, const char *req_text)
{
    return run_as(fx, geteuid(), req_text);
}

/* Asserts that the answer is an error containing what; frees it. */
static void
assert_error(json_t *resp, const char *what)
{
    assert_false(json_is_true(json_object_get(resp, CTL_RESP_OK)));
    const char *e = json_string_value(json_object_get(resp, CTL_RESP_ERROR));
    assert_non_null(e);
    if (!strstr(e, what))
        fail_msg("error '%s' does not say '%s'", e, what);
    json_decref(resp);
}

static void
test_ctlcmd_every_command_has_a_handler_and_its_access(void **state)
{
    struct fixture *fx = *state;
    for (size_t i = 0; i < ctlproto_n_cmds; i++) {
        const struct ctlproto_cmd *c = &ctlproto_cmds[i];
        char req[128];
        /* Requests that never reach the thread pool or the connection: bad limits. */
        if (strcmp(c->name, CTL_CMD_WATCH) == 0)
            continue; /* subscribes the connection: test_control.py */
        snprintf(req, sizeof(req), "{\"cmd\": \"%s\", \"limit\": 0}", c->name);
        json_t *resp = run_as(fx, other_uid(), req);
        const char *e = json_string_value(json_object_get(resp, CTL_RESP_ERROR));
        if (c->access == CTLPROTO_PRIVILEGED) {
            assert_non_null(e);
            assert_non_null(strstr(e, "permission denied"));
        } else {
            assert_true(!e || !strstr(e, "permission denied"));
            assert_true(!e || !strstr(e, "unknown command"));
        }
        json_decref(resp);
    }
    assert_error(run(fx, "{\"cmd\": \"frobnicate\"}"), "unknown command 'frobnicate'");
    assert_error(run(fx, "{\"cmd\": \"Status\"}"), "unknown command");
    assert_error(run(fx, "{\"feed\": \"alpha\"}"), "request has no \"cmd\" string");
    assert_error(run(fx, "{\"cmd\": 7}"), "request has no \"cmd\" string");
    daemon_ctx(fx->d)->stopping = true;
    assert_error(run(fx, "{\"cmd\": \"status\"}"), "the daemon is stopping");
    daemon_ctx(fx->d)->stopping = false;
}

static void
test_ctlcmd_status(void **state)
{
    struct fixture *fx = *state;
    /* The daemon's tally of a poll that stored 17 items (feedtable.h's polled callback). */
    struct feedtable *t = daemon_feeds(fx->d);
    t->polled(t->polled_ctx, t->feeds[0], POLL_OK, 17, 0);
    json_t *resp = run_as(fx, other_uid(), "{\"cmd\": \"status\"}");
    assert_true(json_is_true(json_object_get(resp, CTL_RESP_OK)));
    assert_int_equal(json_integer_value(json_object_get(resp, "protocol")), CTL_PROTOCOL_VERSION);
    assert_string_equal(json_string_value(json_object_get(resp, "version")), FW_VERSION);
    json_t *feeds = json_object_get(resp, CTL_RESP_FEEDS);
    assert_int_equal(json_integer_value(json_object_get(feeds, "total")), 2);
    assert_int_equal(json_integer_value(json_object_get(feeds, "ok")), 1);
    assert_int_equal(json_integer_value(json_object_get(feeds, "disabled")), 1);
    assert_int_equal(json_integer_value(json_object_get(feeds, "paused")), 0);
    json_t *items = json_object_get(resp, CTL_RESP_ITEMS);
    assert_int_equal(json_integer_value(json_object_get(items, "total")), 17);
    json_t *alerts = json_object_get(resp, CTL_RESP_ALERTS);
    assert_int_equal(json_integer_value(json_object_get(alerts, "pending")), 0);
    assert_true(json_is_null(json_object_get(resp, "next_poll")));
    /* One name for the search lag, in status as in search (not lag_items). */
    assert_true(json_is_integer(json_object_get(resp, CTL_RESP_SEARCH_LAG)));
    assert_null(json_object_get(resp, "lag_items"));
    assert_int_equal(CTL_PROTOCOL_VERSION, 2);
    json_decref(resp);
}

static void
test_ctlcmd_feeds(void **state)
{
    struct fixture *fx = *state;
    json_t *resp = run_as(fx, other_uid(), "{\"cmd\": \"feeds\"}");
    json_t *feeds = json_object_get(resp, CTL_RESP_FEEDS);
    assert_int_equal(json_array_size(feeds), 2);
    json_t *a = json_array_get(feeds, 0), *b = json_array_get(feeds, 1);
    assert_string_equal(json_string_value(json_object_get(a, "name")), "alpha");
    assert_string_equal(json_string_value(json_object_get(a, "state")), "ok");
    /* The socket's group sees a feed URL in brief: never its user, password or path. */
    assert_string_equal(json_string_value(json_object_get(a, "url")), "http://127.0.0.1:9/…");
    assert_int_equal(json_array_size(json_object_get(a, "tags")), 2);
    assert_string_equal(json_string_value(json_object_get(b, "name")), "beta");
    assert_string_equal(json_string_value(json_object_get(b, "state")), "disabled");
    assert_string_equal(json_string_value(json_object_get(b, "reason")), "disabled in the config");
    char *text = json_dumps(resp, 0);
    assert_null(strstr(text, "s3cret"));
    assert_null(strstr(text, "reader"));
    free(text);
    json_decref(resp);
}

static void
test_ctlcmd_pause_resume_publish_the_feed(void **state)
{
    struct fixture *fx = *state;
    struct dfeed *alpha = daemon_feeds(fx->d)->feeds[0];
    assert_error(run_as(fx, other_uid(), "{\"cmd\": \"pause\", \"name\": \"alpha\"}"),
                 "pause: permission denied");
    assert_int_equal(fx->feed_events, 0);
    assert_error(run(fx, "{\"cmd\": \"pause\", \"name\": \"gamma\"}"), "no feed 'gamma'");
    assert_error(run(fx, "{\"cmd\": \"pause\"}"), "pause: \"name\" must be a non-empty string");
    assert_int_equal(fx->feed_events, 0);

    /*
     * A pause that passes its checks is answered once the store's writer stored it (a
     * deferred answer on a real connection: test_writer.py, test_contract.py); here the
     * feed is paused by hand for the poll checks below.
     */
    alpha->st.paused = true;
    json_t *resp;

    /* poll: nothing pollable now (alpha paused, beta disabled); --wait answers at once. */
    resp = run(fx, "{\"cmd\": \"poll\"}");
    assert_int_equal(json_integer_value(json_object_get(resp, CTL_RESP_QUEUED)), 0);
    json_decref(resp);
    resp = run(fx, "{\"cmd\": \"poll\", \"wait\": true}");
    json_t *cycle = json_object_get(resp, CTL_RESP_CYCLE);
    assert_non_null(cycle);
    assert_int_equal(json_integer_value(json_object_get(cycle, CTL_CYCLE_POLLED)), 0);
    assert_int_equal(json_integer_value(json_object_get(cycle, CTL_CYCLE_ERRORS)), 0);
    json_decref(resp);

    /* A feed disabled in the config is resumed there, not here: no event. */
    assert_error(run(fx, "{\"cmd\": \"resume\", \"name\": \"beta\"}"), "disabled in the config");
    assert_int_equal(fx->feed_events, 0);
    /* A config feed is removed in the config. */
    assert_error(run(fx, "{\"cmd\": \"remove\", \"name\": \"alpha\"}"), "remove it there");
}

static void
test_ctlcmd_argument_errors(void **state)
{
    struct fixture *fx = *state;
    assert_error(run(fx, "{\"cmd\": \"items\", \"limit\": 0}"),
                 "items: \"limit\" must be an integer from 1 to 10000");
    assert_error(run(fx, "{\"cmd\": \"items\", \"limit\": 10001}"), "from 1 to 10000");
    assert_error(run(fx, "{\"cmd\": \"items\", \"feed\": \"gamma\"}"), "no feed 'gamma'");
    assert_error(run(fx, "{\"cmd\": \"items\", \"feed\": 3}"), "\"feed\" must be a string");
    assert_error(run(fx, "{\"cmd\": \"items\", \"text\": \"yes\"}"), "\"text\" must be true");
    assert_error(run(fx, "{\"cmd\": \"items\", \"tag\": []}"), "\"tag\" must be a string");
    assert_error(run(fx, "{\"cmd\": \"items\", \"topic\": \"lava\"}"), "no topic 'lava'");
    assert_error(run(fx, "{\"cmd\": \"items\", \"topic\": 1}"), "\"topic\" must be a string");
    assert_error(run(fx, "{\"cmd\": \"items\", \"since\": \"2h\"}"),
                 "items: \"since\" must be an RFC 3339 time");
    assert_error(run(fx, "{\"cmd\": \"items\", \"since\": \"Sun, 06 Dec 2026 10:00:00 GMT\"}"),
                 "must be an RFC 3339 time");
    assert_error(run(fx, "{\"cmd\": \"items\", \"since\": 1700000000}"),
                 "must be an RFC 3339 time");
    assert_error(run_as(fx, other_uid(), "{\"cmd\": \"feeds\", \"name\": \"gamma\"}"),
                 "no feed 'gamma'");
    assert_error(run(fx, "{\"cmd\": \"feeds\", \"name\": 7}"), "feeds: \"name\" must be a string");
    assert_error(run_as(fx, other_uid(), "{\"cmd\": \"item\"}"),
                 "item: \"id\" must be a positive integer");
    assert_error(run(fx, "{\"cmd\": \"item\", \"id\": 0}"), "\"id\" must be a positive integer");
    assert_error(run(fx, "{\"cmd\": \"item\", \"id\": \"7\"}"), "\"id\" must be a positive");
    assert_error(run(fx, "{\"cmd\": \"alerts\", \"topic\": \"lava\"}"), "no topic 'lava'");
    assert_error(run(fx, "{\"cmd\": \"alerts\", \"failed\": 1}"), "\"failed\" must be true");
    assert_error(run(fx, "{\"cmd\": \"search\"}"), "search: \"query\" must be a string");
    /* Without an index (it failed to open, or --once) search says so instead of waiting. */
    assert_error(run(fx, "{\"cmd\": \"search\", \"query\": \"volcano\"}"),
                 "the index could not be opened");
    assert_error(run(fx, "{\"cmd\": \"poll\", \"feed\": \"gamma\"}"), "no feed 'gamma'");
    assert_error(run(fx, "{\"cmd\": \"poll\", \"wait\": \"soon\"}"),
                 "poll: \"wait\" must be true or false");
    assert_error(run(fx, "{\"cmd\": \"add\", \"name\": \"gamma\"}"),
                 "add: \"url\" must be a non-empty string");
    assert_error(run(fx, "{\"cmd\": \"add\", \"name\": \"g\", \"url\": \"http://127.0.0.1:9/\","
                         " \"interval\": 0}"),
                 "\"interval\" must be a number of seconds");
    assert_error(run(fx, "{\"cmd\": \"add\", \"name\": \"g\", \"url\": \"http://127.0.0.1:9/\","
                         " \"tags\": \"news\"}"),
                 "\"tags\" must be an array of strings");
    assert_error(run(fx, "{\"cmd\": \"add\", \"name\": \"g\", \"url\": \"http://127.0.0.1:9/\","
                         " \"fetch_article\": 2}"),
                 "\"fetch_article\" must be true or false");
    assert_error(run(fx, "{\"cmd\": \"remove\", \"name\": \"\"}"), "must be a non-empty string");
    assert_error(run(fx, "{\"cmd\": \"redeliver\"}"),
                 "redeliver: give either \"alert\" or \"failed\": true");
    assert_error(run(fx, "{\"cmd\": \"redeliver\", \"alert\": 3, \"failed\": true}"),
                 "give either");
    assert_error(run(fx, "{\"cmd\": \"redeliver\", \"alert\": 0}"),
                 "\"alert\" must be an alert id");
    assert_error(run(fx, "{\"cmd\": \"redeliver\", \"alert\": \"3\"}"), "must be an alert id");
    assert_error(run(fx, "{\"cmd\": \"redeliver\", \"failed\": 1}"),
                 "redeliver: \"failed\" must be true or false");
    assert_error(run(fx, "{\"cmd\": \"redeliver\", \"failed\": true, \"hook\": \"\"}"),
                 "redeliver: \"hook\" must be a non-empty string");
    /* Without a hook runner (this fixture has none) a valid request is refused, not queued. */
    assert_error(run(fx, "{\"cmd\": \"redeliver\", \"failed\": true}"),
                 "redeliver: the hook runner is not running");
    assert_int_equal(fx->feed_events, 0);
}

static void
test_ctlcmd_metrics(void **state)
{
    struct fixture *fx = *state;
    json_t *resp = run_as(fx, other_uid(), "{\"cmd\": \"metrics\"}");
    const char *text = json_string_value(json_object_get(resp, CTL_RESP_TEXT));
    assert_non_null(text);
    assert_non_null(strstr(text, "feedwatch_feeds{state=\"disabled\"} 1"));
    json_decref(resp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ctlcmd_every_command_has_a_handler_and_its_access,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctlcmd_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctlcmd_feeds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctlcmd_pause_resume_publish_the_feed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctlcmd_argument_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctlcmd_metrics, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
