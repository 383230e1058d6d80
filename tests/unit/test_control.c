/*
 * Unit tests of daemon/control.c, the control socket server, bound to a socket in a temporary
 * folder and run on a loop of the test's own: framing (lines split wherever the bytes break,
 * CR LF, blank lines, a partial line, a line over CTL_MAX_LINE answered with an error and
 * skipped, pipelined requests run one per connection per loop turn, in order), errors (bad
 * JSON, not an object, no "cmd", an unknown command; the connection stays usable), and
 * limits (a `watch` client that does not read is dropped past CTL_MAX_WATCH_QUEUED while one
 * that reads keeps everything; no request is read while more than CTL_PAUSE_QUEUED bytes of
 * answers wait; an idle connection is closed after CTL_IDLE_MS, a watcher is not).
 *
 * control_new() takes a loop and a dispatcher; the test gives it the daemon's own
 * (ctlcmd_dispatch) on a daemon of daemon_new (its config read, no store, writer or socket of
 * its own) running on the test's loop, so only
 * requests that never reach a command handler (errors, unknown commands) and `watch` are
 * sent. The commands themselves need the whole daemon (tests/integration/test_control*.py).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "control.h"
#include "ctlcmd.h"
#include "daemon.h"
#include "dctx.h"

#define HANG_GUARD_MS 90000

struct fixture {
    char dir[64];
    char sock[96];
    struct daemon *d; /* daemon_new: config, metrics, events; the test's loop (dctx) */
    struct dctx *dc;
    struct control *c;
    uv_timer_t guard;
    bool hung;
};

static struct fixture fx;

static void
on_guard(uv_timer_t *t)
{
    (void)t;
    fx.hung = true;
}

static void
on_closed(uv_handle_t *h)
{
    (void)h;
}

/* The daemon's dispatcher on the test's mostly zero struct daemon. */
static enum ctl_dispatch
on_request(void *ctx, struct ctl_conn *conn, uid_t uid, json_t *req, json_t **ret_resp)
{
    return ctlcmd_dispatch(ctx, conn, uid, req, ret_resp);
}

static int
setup(void **state)
{
    char path[128], *err = NULL;
    (void)state;
    memset(&fx, 0, sizeof(fx));
    (void)snprintf(fx.dir, sizeof(fx.dir), "/tmp/fw-test-control-XXXXXX");
    assert_non_null(mkdtemp(fx.dir));
    (void)snprintf(fx.sock, sizeof(fx.sock), "%s/fw.sock", fx.dir);
    (void)snprintf(path, sizeof(path), "%s/fw.conf", fx.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "[daemon]\ndatabase = %s/fw.db\nsocket = %s\n"
            "[feed \"f\"]\nurl = http://127.0.0.1:9/f\n",
            fx.dir, fx.sock);
    assert_int_equal(fclose(f), 0);
    if (daemon_new(path, false, NULL, &fx.d, &err) < 0)
        fail_msg("daemon_new: %s", err ? err : "?");
    fx.dc = daemon_ctx(fx.d);
    assert_int_equal(uv_loop_init(&fx.dc->loop), 0);
    assert_int_equal(uv_timer_init(&fx.dc->loop, &fx.guard), 0);
    if (control_new(&fx.dc->loop, fx.sock, fx.dc->conf->daemon.database, on_request, fx.d, &fx.c,
                    &err) < 0)
        fail_msg("control_new: %s", err ? err : "?");
    return 0;
}

static int
teardown(void **state)
{
    char cmd[128];
    (void)state;
    control_close(fx.c);
    uv_close((uv_handle_t *)&fx.guard, on_closed);
    (void)uv_run(&fx.dc->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx.dc->loop), 0);
    daemon_free(fx.d);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* One loop turn that does not wait. */
static void
turn(void)
{
    (void)uv_run(&fx.dc->loop, UV_RUN_NOWAIT);
}

/* A client connection, non-blocking, accepted by the server before this returns. */
static int
client(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    unsigned before = control_conns(fx.c);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    (void)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx.sock);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    for (int i = 0; i < 10000 && control_conns(fx.c) == before; i++)
        turn();
    assert_int_equal(control_conns(fx.c), before + 1);
    return fd;
}

/* Writes all of buf, turning the loop while the socket is full. */
static void
client_send(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            turn();
            continue;
        }
        assert_true(n > 0);
        buf += n;
        len -= (size_t)n;
    }
}

static void
client_send_str(int fd, const char *s)
{
    client_send(fd, s, strlen(s));
}

struct reader {
    char buf[1 << 16];
    size_t len;
    bool eof;
    uint64_t bytes; /* all bytes read */
    unsigned lines; /* all lines read */
    char head[16];  /* the first bytes of the line being read */
    size_t head_len;
    unsigned first_error; /* the number of the first line that is an error answer, or 0 */
};

/* Reads what is there now; returns the number of whole lines that came. */
static unsigned
client_read(int fd, struct reader *r)
{
    unsigned lines = 0;
    for (;;) {
        char chunk[65536];
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n == 0) {
            r->eof = true;
            break;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            assert_true(errno == EAGAIN || errno == ECONNRESET);
            if (errno == ECONNRESET)
                r->eof = true;
            break;
        }
        r->bytes += (uint64_t)n;
        for (ssize_t i = 0; i < n; i++) {
            if (chunk[i] == '\n') {
                lines++;
                r->lines++;
                if (!r->first_error && r->head_len == sizeof(r->head) &&
                    memcmp(r->head, "{\"ok\":false,\"err", sizeof(r->head)) == 0)
                    r->first_error = r->lines;
                r->head_len = 0;
            } else if (r->head_len < sizeof(r->head)) {
                r->head[r->head_len++] = chunk[i];
            }
            if (r->len < sizeof(r->buf) - 1)
                r->buf[r->len++] = chunk[i];
        }
    }
    r->buf[r->len] = '\0';
    return lines;
}

/*
 * Turns the loop until fd got n more answer lines; returns the first of them decoded (the
 * reader keeps only the lines not taken yet).
 */
static json_t *
answer(int fd, struct reader *r)
{
    fx.hung = false;
    assert_int_equal(uv_timer_start(&fx.guard, on_guard, HANG_GUARD_MS, 0), 0);
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->len);
        if (nl) {
            json_error_t je;
            json_t *doc = json_loadb(r->buf, (size_t)(nl - r->buf), 0, &je);
            if (!doc)
                fail_msg("answer is not JSON (%s): %.*s", je.text, (int)(nl - r->buf), r->buf);
            size_t take = (size_t)(nl - r->buf) + 1;
            memmove(r->buf, r->buf + take, r->len - take);
            r->len -= take;
            r->buf[r->len] = '\0';
            (void)uv_timer_stop(&fx.guard);
            return doc;
        }
        if (r->eof)
            fail_msg("the server closed the connection");
        if (fx.hung)
            fail_msg("no answer within %d ms", HANG_GUARD_MS);
        (void)uv_run(&fx.dc->loop, UV_RUN_ONCE);
        (void)client_read(fd, r);
    }
}

/* The next answer is {"ok":false,"error":...} with want in the error. */
static void
expect_error(int fd, struct reader *r, const char *want)
{
    json_t *doc = answer(fd, r);
    json_t *ok = json_object_get(doc, "ok");
    const char *err = json_string_value(json_object_get(doc, "error"));
    if (!json_is_false(ok) || !err || !strstr(err, want)) {
        char *text = json_dumps(doc, 0);
        fail_msg("want an error with '%s', got %s", want, text ? text : "?");
    }
    json_decref(doc);
}

static void
test_control_errors_keep_the_connection(void **state)
{
    (void)state;
    struct reader r = {0};
    int fd = client();
    static const struct {
        const char *line, *error;
    } cases[] = {
        {"{\"cmd\":", "malformed request"},
        {"not json at all", "malformed request"},
        {"[\"status\"]", "malformed request"},
        {"{\"cmd\":\"a\",\"cmd\":\"b\"}", "malformed request"}, /* duplicate keys */
        {"{}", "request has no \"cmd\" string"},
        {"{\"cmd\":42}", "request has no \"cmd\" string"},
        {"{\"cmd\":\"frobnicate\"}", "unknown command 'frobnicate'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        client_send(fd, cases[i].line, strlen(cases[i].line));
        client_send_str(fd, "\n");
        expect_error(fd, &r, cases[i].error);
    }
    /* A NUL byte in a line: refused, not cut short at it. */
    static const char nul[] = "{\"cmd\":\"x\"}\0 trailing\n";
    client_send(fd, nul, sizeof(nul) - 1);
    expect_error(fd, &r, "malformed request");
    /* Still usable after all that. */
    client_send_str(fd, "{\"cmd\":\"watch\"}\n");
    json_t *doc = answer(fd, &r);
    assert_true(json_is_true(json_object_get(doc, "ok")));
    assert_true(json_is_true(json_object_get(doc, "watching")));
    json_decref(doc);
    assert_int_equal(control_conns(fx.c), 1);
    close(fd);
}

static void
test_control_framing(void **state)
{
    (void)state;
    struct reader r = {0};
    int fd = client();
    /* A partial line gets no answer, however many turns go by. */
    client_send_str(fd, "{\"cmd\":\"pa");
    for (int i = 0; i < 50; i++)
        turn();
    assert_int_equal(client_read(fd, &r), 0);
    /* The rest, with CR LF and a blank line after it (blank lines are not answered). */
    client_send_str(fd, "rt\"}\r\n   \t\n\n");
    expect_error(fd, &r, "unknown command 'part'");
    /* Byte by byte. */
    const char *slow = "{\"cmd\":\"slow\"}\n";
    for (size_t i = 0; slow[i]; i++) {
        client_send(fd, slow + i, 1);
        turn();
    }
    expect_error(fd, &r, "unknown command 'slow'");
    /* Over CTL_MAX_LINE: one error, the rest of that line skipped, the next line answered. */
    size_t big = CTL_MAX_LINE + 5000;
    char *line = malloc(big);
    assert_non_null(line);
    memset(line, 'x', big);
    client_send(fd, line, big);
    free(line);
    client_send_str(fd, "\n{\"cmd\":\"after\"}\n");
    expect_error(fd, &r, "request longer than");
    expect_error(fd, &r, "unknown command 'after'");
    /* Exactly one answer each: nothing else came. */
    for (int i = 0; i < 50; i++)
        turn();
    assert_int_equal(client_read(fd, &r), 0);
    assert_int_equal(r.len, 0);
    assert_int_equal(control_conns(fx.c), 1);
    close(fd);
}

static void
test_control_pipelined_one_per_turn_in_order(void **state)
{
    (void)state;
    struct reader ra = {0}, rb = {0};
    int a = client(), b = client();
    char burst_a[512] = "", burst_b[512] = "";
    for (int i = 0; i < 6; i++) {
        char l[64];
        (void)snprintf(l, sizeof(l), "{\"cmd\":\"a%d\"}\n", i);
        strcat(burst_a, l);
        (void)snprintf(l, sizeof(l), "{\"cmd\":\"b%d\"}\n", i);
        strcat(burst_b, l);
    }
    /* Both clients pipeline six requests in one write each. */
    client_send(a, burst_a, strlen(burst_a));
    client_send(b, burst_b, strlen(burst_b));
    unsigned got_a = 0, got_b = 0, turns = 0;
    while ((got_a < 6 || got_b < 6) && turns < 100000) {
        turn();
        turns++;
        unsigned na = client_read(a, &ra), nb = client_read(b, &rb);
        /* At most one request of a connection per loop turn. */
        assert_true(na <= 1);
        assert_true(nb <= 1);
        got_a += na;
        got_b += nb;
        /* Neither client runs ahead of the other by more than a turn's worth. */
        assert_true(got_a <= got_b + 1 && got_b <= got_a + 1);
    }
    assert_int_equal(got_a, 6);
    assert_int_equal(got_b, 6);
    /* In the order sent. */
    for (int i = 0; i < 6; i++) {
        char want[32];
        (void)snprintf(want, sizeof(want), "unknown command 'a%d'", i);
        expect_error(a, &ra, want);
        (void)snprintf(want, sizeof(want), "unknown command 'b%d'", i);
        expect_error(b, &rb, want);
    }
    close(a);
    close(b);
}

static void
test_control_watch_output_budget(void **state)
{
    (void)state;
    struct reader rs = {0}, rf = {0};
    int slow = client(), fast = client();
    /* A small receive buffer, so that what the slow client does not read stays queued. */
    int small = 4096;
    assert_int_equal(setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    client_send_str(slow, "{\"cmd\":\"watch\"}\n");
    client_send_str(fast, "{\"cmd\":\"watch\"}\n");
    json_decref(answer(slow, &rs));
    json_decref(answer(fast, &rf));
    assert_true(control_has_watchers(fx.c));
    /* 64 KiB events: the slow watcher is dropped once it is CTL_MAX_WATCH_QUEUED behind. */
    char *pad = malloc(64 * 1024);
    assert_non_null(pad);
    memset(pad, 'p', 64 * 1024 - 1);
    pad[64 * 1024 - 1] = '\0';
    unsigned events = 2 * CTL_MAX_WATCH_QUEUED / (64 * 1024);
    for (unsigned i = 0; i < events; i++) {
        control_broadcast(fx.c, "item", json_pack("{s:I, s:s}", "n", (json_int_t)i, "pad", pad));
        for (int k = 0; k < 4; k++) {
            turn();
            (void)client_read(fast, &rf);
        }
    }
    free(pad);
    /* The fast one keeps up and has every event; the slow one was closed. */
    for (int i = 0; i < 2000 && rf.lines < 1 + events; i++) {
        turn();
        (void)client_read(fast, &rf);
    }
    assert_int_equal(rf.lines, 1 + events); /* the answer to watch, then every event */
    assert_int_equal(control_conns(fx.c), 1);
    /* What the slow one can still read ends short of everything, then EOF. */
    for (int i = 0; i < 10000 && !rs.eof; i++) {
        turn();
        (void)client_read(slow, &rs);
    }
    assert_true(rs.eof);
    assert_true(rs.bytes < (uint64_t)events * 64 * 1024);
    close(slow);
    close(fast);
}

static void
test_control_no_request_read_while_answers_wait(void **state)
{
    (void)state;
    struct reader r = {0};
    int fd = client();
    int small = 4096;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    client_send_str(fd, "{\"cmd\":\"watch\"}\n");
    json_decref(answer(fd, &r));
    /* 2 MiB of events the client does not read: over CTL_PAUSE_QUEUED, under the drop. */
    char *pad = malloc(64 * 1024);
    assert_non_null(pad);
    memset(pad, 'p', 64 * 1024 - 1);
    pad[64 * 1024 - 1] = '\0';
    unsigned events = 2 * CTL_PAUSE_QUEUED / (64 * 1024);
    for (unsigned i = 0; i < events; i++) {
        control_broadcast(fx.c, "item", json_pack("{s:I, s:s}", "n", (json_int_t)i, "pad", pad));
        turn();
    }
    /* A request now is not read while those wait: an event broadcast after it still comes
     * before its answer. Read at once, the answer would come first. */
    client_send_str(fd, "{\"cmd\":\"late\"}\n");
    for (int i = 0; i < 200; i++)
        turn();
    control_broadcast(fx.c, "item", json_pack("{s:s, s:s}", "n", "last", "pad", "x"));
    free(pad);
    for (int i = 0; i < 100000 && !r.first_error; i++) {
        turn();
        (void)client_read(fd, &r);
    }
    /* Lines: the answer to watch, the events, the last event, then the error answer. */
    assert_int_equal(r.first_error, 1 + events + 1 + 1);
    assert_int_equal(control_conns(fx.c), 1);
    close(fd);
}

static void
test_control_idle_connection_closed(void **state)
{
    (void)state;
    struct reader ri = {0}, rw = {0};
    int idle = client(), watcher = client();
    client_send_str(watcher, "{\"cmd\":\"watch\"}\n");
    json_decref(answer(watcher, &rw));
    assert_int_equal(control_conns(fx.c), 2);
    /* Nothing on the idle one: closed after CTL_IDLE_MS (30 s); the watcher stays. */
    fx.hung = false;
    assert_int_equal(uv_timer_start(&fx.guard, on_guard, HANG_GUARD_MS, 0), 0);
    while (control_conns(fx.c) == 2 && !fx.hung)
        (void)uv_run(&fx.dc->loop, UV_RUN_ONCE);
    (void)uv_timer_stop(&fx.guard);
    if (fx.hung)
        fail_msg("the idle connection is still open after %d ms", HANG_GUARD_MS);
    assert_int_equal(control_conns(fx.c), 1);
    for (int i = 0; i < 100 && !ri.eof; i++) {
        turn();
        (void)client_read(idle, &ri);
    }
    assert_true(ri.eof);
    assert_int_equal(ri.bytes, 0);
    (void)client_read(watcher, &rw);
    assert_false(rw.eof);
    close(idle);
    close(watcher);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_control_errors_keep_the_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_pipelined_one_per_turn_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_control_watch_output_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_no_request_read_while_answers_wait, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_control_idle_connection_closed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
