/*
 * Unit tests of daemon/fetch.c: the pure decisions that redirects rest on (which hops are on
 * a feed's origin, so its header and credentials go nowhere else; which redirects are
 * refused), and transfers against a loopback server started here: a 200 with its body and
 * validators, a 304, redirects within the host, the size cap, the cap on a gzip body's
 * decompressed bytes, the whole-transfer timeout against a server that trickles, and pauses:
 * the bytes come whole after them, the time paused does not count towards the timeout but the
 * wall cap still ends a transfer paused for good, and a body curl holds whole is not pausable.
 * A pausable transfer asks for gzip alone and inflates it itself, a piece at a time, so that a
 * pause holds no inflated read (max_poll_memory): paused and resumed, a gzip body comes whole
 * and in order; a small one whole on the wire pauses after 64 KiB; another encoding, gzip
 * twice or bytes after the gzip trailer end the transfer.
 * The network policy is tested end to end in tests/integration/test_netpolicy.py.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "fetch.h"

static void
test_fetch_same_origin(void **state)
{
    (void)state;
    bool host;
    const char *o = "https://feeds.example.org/news.xml";
    assert_true(fetch_same_origin(o, "https://feeds.example.org/other?x=1", &host));
    assert_true(host);
    assert_true(fetch_same_origin(o, "https://FEEDS.example.org:443/a", &host));
    assert_false(fetch_same_origin(o, "https://feeds.example.org:8443/a", &host));
    assert_true(host);
    assert_false(fetch_same_origin(o, "http://feeds.example.org/a", &host)); /* a downgrade */
    assert_true(host);
    assert_false(fetch_same_origin(o, "https://evil.example.net/a", &host));
    assert_false(host);
    assert_false(fetch_same_origin(o, "https://feeds.example.org.evil.net/a", &host));
    assert_false(host);
    assert_false(fetch_same_origin(o, "https://example.org/a", &host));
    assert_false(host);
    /* userinfo does not make another host the origin */
    assert_false(fetch_same_origin(o, "https://feeds.example.org@evil.net/a", &host));
    assert_false(host);
    /* the https upgrade of an http origin on the same host keeps the secrets */
    const char *h = "http://intranet.corp/feed";
    assert_true(fetch_same_origin(h, "https://intranet.corp/feed", &host));
    assert_false(fetch_same_origin(h, "https://intranet.corp:8443/feed", &host));
    assert_false(
        fetch_same_origin("http://intranet.corp:8080/feed", "https://intranet.corp/feed", &host));
    assert_true(host);
    assert_true(fetch_same_origin("http://127.0.0.1:8080/f", "http://127.0.0.1:8080/g", NULL));
    assert_false(fetch_same_origin("http://127.0.0.1:8080/f", "http://localhost:8080/g", &host));
    assert_false(host);
    assert_false(fetch_same_origin("http://[::1]:8080/f", "http://127.0.0.1:8080/g", &host));
    assert_false(fetch_same_origin(NULL, "http://127.0.0.1:8080/g", &host));
    assert_false(host);
    assert_false(fetch_same_origin(o, "not a url", &host));
}

static void
test_fetch_redirect_refusal(void **state)
{
    (void)state;
    assert_null(fetch_redirect_refusal("http://a.example/", "http://b.example/"));
    assert_null(fetch_redirect_refusal("http://a.example/", "https://a.example/"));
    assert_null(fetch_redirect_refusal("https://a.example/", "https://b.example/"));
    assert_null(fetch_redirect_refusal("HTTPS://a.example/", "HTTPS://a.example/x"));
    assert_string_equal(fetch_redirect_refusal("https://a.example/", "http://a.example/"),
                        "redirect from https to http refused");
    assert_string_equal(fetch_redirect_refusal("HTTPS://a.example/", "Http://b.example/"),
                        "redirect from https to http refused");
    assert_string_equal(fetch_redirect_refusal("http://a.example/", "file:///etc/passwd"),
                        "redirect to a URL that is not http or https refused");
    assert_string_equal(fetch_redirect_refusal("https://a.example/", "ftp://a.example/x"),
                        "redirect to a URL that is not http or https refused");
    assert_string_equal(fetch_redirect_refusal("http://a.example/", "gopher://a.example/"),
                        "redirect to a URL that is not http or https refused");
}

/*
 * Transfers on loopback: a small HTTP/1.1 server runs on a thread of its own on 127.0.0.1
 * (an ephemeral port), one thread per connection, and answers by path. The fetcher runs on a
 * loop of the test's own until the transfer's done callback. Bounds in time are hang guards
 * only (HANG_GUARD_MS); what is asserted is what the fetcher reported and what the server saw.
 */
#define HANG_GUARD_MS 60000
#define BIG_BODY (100 * 1024)
#define GZIP_PLAIN (1024 * 1024)
#define GZIP_TEXT (512 * 1024)

struct srv {
    int fd;
    int port;
    pthread_t thread;
    atomic_bool stop;
    atomic_int handlers; /* connection threads still running */
    atomic_int requests;
    atomic_int trickled;     /* bytes of /trickle sent */
    atomic_bool trickle_cut; /* the client closed /trickle before its end */
    pthread_mutex_t lock;
    char last_path[256];
    char last_inm[256]; /* If-None-Match of the last request ("" when none) */
    unsigned char *gz;  /* GZIP_PLAIN zero bytes, gzipped */
    size_t gz_len;
    unsigned char *gzt; /* GZIP_TEXT bytes of text (many reads on the wire), gzipped */
    size_t gzt_len;
    uLong gzt_crc;     /* CRC-32 of the text */
    char last_ae[256]; /* Accept-Encoding of the last request ("" when none) */
};

static struct srv srv;

static bool
send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool
send_head(int fd, const char *status, const char *extra, size_t body_len)
{
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                     body_len, extra ? extra : "");
    return n > 0 && (size_t)n < sizeof(head) && send_all(fd, head, (size_t)n);
}

/* The value of header name (with its colon) in the request head, or "". */
static void
request_header(const char *req, const char *name, char *out, size_t out_size)
{
    size_t nlen = strlen(name);
    out[0] = '\0';
    for (const char *l = strstr(req, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, name, nlen) != 0)
            continue;
        const char *v = l + 2 + nlen, *e = strstr(v, "\r\n");
        while (*v == ' ')
            v++;
        size_t len = e ? (size_t)(e - v) : strlen(v);
        if (len >= out_size)
            len = out_size - 1;
        memcpy(out, v, len);
        out[len] = '\0';
        return;
    }
}

static void
answer(int fd, const char *path, const char *inm)
{
    static const char feed[] = "<rss version=\"2.0\"><channel><title>t</title></channel></rss>";
    const char *validators = "Content-Type: application/rss+xml\r\nETag: \"v1\"\r\n"
                             "Last-Modified: Sat, 05 Dec 2026 10:00:00 GMT\r\n";

    if (strcmp(path, "/ok") == 0) {
        if (send_head(fd, "200 OK", validators, sizeof(feed) - 1))
            (void)send_all(fd, feed, sizeof(feed) - 1);
    } else if (strcmp(path, "/cond") == 0) {
        if (strcmp(inm, "\"v1\"") == 0)
            (void)send_head(fd, "304 Not Modified", "ETag: \"v1\"\r\n", 0);
        else if (send_head(fd, "200 OK", validators, sizeof(feed) - 1))
            (void)send_all(fd, feed, sizeof(feed) - 1);
    } else if (strcmp(path, "/moved") == 0) {
        (void)send_head(fd, "302 Found", "Location: /hop\r\n", 0);
    } else if (strcmp(path, "/hop") == 0) {
        (void)send_head(fd, "301 Moved Permanently", "Location: /ok\r\n", 0);
    } else if (strcmp(path, "/perm") == 0) {
        (void)send_head(fd, "308 Permanent Redirect", "Location: /ok\r\n", 0);
    } else if (strcmp(path, "/big") == 0) {
        char *body = malloc(BIG_BODY);
        if (body) {
            memset(body, 'x', BIG_BODY);
            if (send_head(fd, "200 OK", "Content-Type: text/plain\r\n", BIG_BODY))
                (void)send_all(fd, body, BIG_BODY);
        }
        free(body);
    } else if (strcmp(path, "/gzip") == 0) {
        if (send_head(fd, "200 OK", "Content-Type: text/plain\r\nContent-Encoding: gzip\r\n",
                      srv.gz_len))
            (void)send_all(fd, srv.gz, srv.gz_len);
    } else if (strcmp(path, "/gztext") == 0) {
        if (send_head(fd, "200 OK", "Content-Type: text/plain\r\nContent-Encoding: gzip\r\n",
                      srv.gzt_len))
            (void)send_all(fd, srv.gzt, srv.gzt_len);
    } else if (strcmp(path, "/gztrailing") == 0) {
        /* A gzip body with bytes after its trailer. */
        if (send_head(fd, "200 OK", "Content-Type: text/plain\r\nContent-Encoding: gzip\r\n",
                      srv.gz_len + 4) &&
            send_all(fd, srv.gz, srv.gz_len))
            (void)send_all(fd, "junk", 4);
    } else if (strcmp(path, "/br") == 0 || strcmp(path, "/gzgz") == 0) {
        const char *ce = path[1] == 'b' ? "Content-Encoding: br\r\n"
                                        : "Content-Encoding: gzip\r\nContent-Encoding: gzip\r\n";
        char extra[128];
        (void)snprintf(extra, sizeof(extra), "Content-Type: text/plain\r\n%s", ce);
        if (send_head(fd, "200 OK", extra, srv.gz_len))
            (void)send_all(fd, srv.gz, srv.gz_len);
    } else if (strcmp(path, "/trickle") == 0) {
        /* A byte every 50 ms: never idle long enough for a low-speed limit, for a minute. */
        if (!send_head(fd, "200 OK", "Content-Type: text/plain\r\n", 1200))
            return;
        for (int i = 0; i < 1200 && !atomic_load(&srv.stop); i++) {
            if (!send_all(fd, " ", 1)) {
                atomic_store(&srv.trickle_cut, true);
                return;
            }
            atomic_fetch_add(&srv.trickled, 1);
            usleep(50 * 1000);
        }
    } else {
        (void)send_head(fd, "404 Not Found", NULL, 0);
    }
}

static void *
on_srv_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char req[8192];
    size_t len = 0;

    while (len < sizeof(req) - 1) {
        ssize_t n = recv(fd, req + len, sizeof(req) - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[len] = '\0';
    char path[256] = "", inm[256], ae[256];
    if (sscanf(req, "GET %255s HTTP/1.1", path) == 1) {
        request_header(req, "If-None-Match:", inm, sizeof(inm));
        request_header(req, "Accept-Encoding:", ae, sizeof(ae));
        pthread_mutex_lock(&srv.lock);
        (void)snprintf(srv.last_path, sizeof(srv.last_path), "%s", path);
        (void)snprintf(srv.last_inm, sizeof(srv.last_inm), "%s", inm);
        (void)snprintf(srv.last_ae, sizeof(srv.last_ae), "%s", ae);
        pthread_mutex_unlock(&srv.lock);
        atomic_fetch_add(&srv.requests, 1);
        answer(fd, path, inm);
    }
    (void)shutdown(fd, SHUT_WR);
    close(fd);
    atomic_fetch_sub(&srv.handlers, 1);
    return NULL;
}

static void *
on_srv_accept(void *arg)
{
    (void)arg;
    while (!atomic_load(&srv.stop)) {
        struct pollfd p = {.fd = srv.fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept4(srv.fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        pthread_t t;
        atomic_fetch_add(&srv.handlers, 1);
        if (pthread_create(&t, NULL, on_srv_conn, (void *)(intptr_t)c) != 0) {
            atomic_fetch_sub(&srv.handlers, 1);
            close(c);
            continue;
        }
        (void)pthread_detach(t);
    }
    return NULL;
}

static int
srv_setup(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.lock, NULL);
    /* The gzip bomb: a mebibyte of zeros is about a kilobyte on the wire. */
    unsigned char *plain = calloc(1, GZIP_PLAIN);
    z_stream z = {0};
    assert_non_null(plain);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
    srv.gz_len = deflateBound(&z, GZIP_PLAIN);
    assert_non_null(srv.gz = malloc(srv.gz_len));
    z.next_in = plain;
    z.avail_in = GZIP_PLAIN;
    z.next_out = srv.gz;
    z.avail_out = (uInt)srv.gz_len;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    srv.gz_len = z.total_out;
    deflateEnd(&z);
    free(plain);
    /*
     * Text of random words out of 32: its gzip takes many reads of curl's, and one read
     * inflates to more than a piece of 16 KiB (so a pause may fall within a read).
     */
    unsigned char *text = malloc(GZIP_TEXT), words[32][8];
    assert_non_null(text);
    uint32_t seed = 14;
    for (size_t i = 0; i < sizeof(words); i++) {
        seed = seed * 1103515245u + 12345u;
        words[i / 8][i % 8] = (unsigned char)('a' + (seed >> 16) % 26);
    }
    for (size_t i = 0; i < GZIP_TEXT; i += 8) {
        seed = seed * 1103515245u + 12345u;
        memcpy(text + i, words[(seed >> 16) % 32], 8);
    }
    srv.gzt_crc = crc32(crc32(0L, Z_NULL, 0), text, GZIP_TEXT);
    z = (z_stream){0};
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    srv.gzt_len = deflateBound(&z, GZIP_TEXT);
    assert_non_null(srv.gzt = malloc(srv.gzt_len));
    z.next_in = text;
    z.avail_in = GZIP_TEXT;
    z.next_out = srv.gzt;
    z.avail_out = (uInt)srv.gzt_len;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    srv.gzt_len = z.total_out;
    deflateEnd(&z);
    free(text);
    assert_true(srv.gzt_len > 16 * 1024 && srv.gzt_len * 4 < GZIP_TEXT);

    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_true((srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
    assert_int_equal(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(srv.fd, 16), 0);
    assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&a, &alen), 0);
    srv.port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&srv.thread, NULL, on_srv_accept, NULL), 0);
    return 0;
}

static int
srv_teardown(void **state)
{
    (void)state;
    atomic_store(&srv.stop, true);
    pthread_join(srv.thread, NULL);
    close(srv.fd);
    for (int i = 0; i < 2000 && atomic_load(&srv.handlers) > 0; i++)
        usleep(5000);
    free(srv.gz);
    free(srv.gzt);
    pthread_mutex_destroy(&srv.lock);
    return 0;
}

/* What one transfer delivered and how it ended (the result's strings copied). */
struct got {
    bool done;
    enum fetch_status status;
    long http_status;
    char *error, *effective_url, *permanent_url, *etag, *last_modified, *content_type;
    uint64_t body_bytes;
    char body[4096];
    size_t len;     /* all data bytes, body[] holds the first of them */
    size_t nonzero; /* data bytes that are not 0 */
    uLong crc;      /* CRC-32 of the data bytes, in order */
    unsigned data_calls;
    /* Pausing (fetch_paused): every pause_every-th call is not taken, resumed by a timer. */
    unsigned pause_every, pauses;
    bool paused;
    struct fetch_xfer *xfer;
    /* fetch_timed: the call that pauses (once), and what fetch_pausable said at each call */
    unsigned pause_at;
    unsigned pausable_calls, whole_calls;
    bool last_pausable;
    uint64_t started_ms, ended_ms; /* uv_now at fetch_start and at the done callback */
    uv_loop_t *loop;
    uv_timer_t *resume_timer; /* started at the pause, resume_ms long (0: never) */
    uint64_t resume_ms;
};

static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void
got_done(struct got *g)
{
    free(g->error);
    free(g->effective_url);
    free(g->permanent_url);
    free(g->etag);
    free(g->last_modified);
    free(g->content_type);
}

static void on_resume_timer(uv_timer_t *t);

static int
on_fetch_data(void *userdata, const char *effective_url, const char *content_type, const char *buf,
              size_t len, char **reterr_msg)
{
    struct got *g = userdata;
    (void)effective_url;
    (void)reterr_msg;
    assert_false(g->paused); /* a paused transfer gets no bytes */
    if (g->xfer) {
        g->last_pausable = fetch_pausable(g->xfer);
        if (g->last_pausable)
            g->pausable_calls++;
        else
            g->whole_calls++;
    }
    if (g->pause_at && g->data_calls + 1 == g->pause_at && !g->pauses && g->last_pausable) {
        g->paused = true;
        g->pauses++;
        if (g->resume_ms)
            assert_int_equal(uv_timer_start(g->resume_timer, on_resume_timer, g->resume_ms, 0), 0);
        return FETCH_DATA_PAUSE;
    }
    if (g->pause_every && g->last_pausable && ++g->data_calls % g->pause_every == 0) {
        assert_false(g->paused); /* a paused transfer gets no bytes */
        g->paused = true;
        g->pauses++;
        return FETCH_DATA_PAUSE;
    }
    if (!g->content_type)
        g->content_type = dup_or_null(content_type);
    if (g->len < sizeof(g->body) - 1) {
        size_t room = sizeof(g->body) - 1 - g->len;
        memcpy(g->body + g->len, buf, len < room ? len : room);
    }
    for (size_t i = 0; i < len; i++)
        g->nonzero += buf[i] != 0;
    g->crc = crc32(g->crc, (const Bytef *)buf, (uInt)len);
    g->len += len;
    if (!g->pause_every)
        g->data_calls++;
    return 0;
}

static void
on_fetch_done(void *userdata, const struct fetch_result *r)
{
    struct got *g = userdata;
    assert_false(g->done); /* exactly once */
    g->done = true;
    g->status = r->status;
    g->http_status = r->http_status;
    g->error = dup_or_null(r->error);
    g->effective_url = dup_or_null(r->effective_url);
    g->permanent_url = dup_or_null(r->permanent_url);
    g->etag = dup_or_null(r->etag);
    g->last_modified = dup_or_null(r->last_modified);
    g->body_bytes = r->body_bytes;
    if (g->loop)
        g->ended_ms = uv_now(g->loop);
}

static void
on_guard_timer(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

static void
on_guard_closed(uv_handle_t *h)
{
    (void)h;
}

/* Fetches path from the server with these limits; fills *g. */
static void
fetch_path(const char *path, const char *etag, uint64_t max_size, uint64_t timeout_ms,
           struct got *g)
{
    uv_loop_t loop;
    char url[128], *err = NULL;
    struct fetch_settings set = {.max_connections = 4,
                                 .max_per_host = 4,
                                 .user_agent = "feedwatch-test",
                                 .timeout_ms = timeout_ms};
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", srv.port, path);
    struct fetch_req req = {.url = url,
                            .etag = etag,
                            .max_size = max_size,
                            .net = FETCH_NET_PUBLIC_OFF_HOST,
                            .http_only = true};
    bool hung = false;
    uv_timer_t guard;

    memset(g, 0, sizeof(*g));
    assert_int_equal(uv_loop_init(&loop), 0);
    struct fetcher *f = fetch_new(&loop, &set, &err);
    if (!f)
        fail_msg("fetch_new: %s", err ? err : "?");
    assert_int_equal(uv_timer_init(&loop, &guard), 0);
    guard.data = &hung;
    assert_int_equal(uv_timer_start(&guard, on_guard_timer, HANG_GUARD_MS, 0), 0);
    assert_non_null(fetch_start(f, &req, on_fetch_data, on_fetch_done, g));
    while (!g->done && !hung)
        (void)uv_run(&loop, UV_RUN_ONCE);
    if (hung)
        fail_msg("GET %s: no end after %d ms", path, HANG_GUARD_MS);
    assert_int_equal(fetch_in_flight(f), 0);
    fetch_close(f);
    uv_close((uv_handle_t *)&guard, on_guard_closed);
    (void)uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* fetch_paused: resumes the paused transfer from the loop, a little later. */
static void
on_resume_timer(uv_timer_t *t)
{
    struct got *g = t->data;
    if (g->paused && !g->done) {
        g->paused = false;
        fetch_resume(g->xfer);
    }
}

/* Fetches path as a pausable transfer whose data callback pauses every pause_every-th call. */
static void
fetch_paused(const char *path, unsigned pause_every, struct got *g)
{
    uv_loop_t loop;
    char url[128], *err = NULL;
    struct fetch_settings set = {.max_connections = 4,
                                 .max_per_host = 4,
                                 .user_agent = "feedwatch-test",
                                 .timeout_ms = 30000};
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", srv.port, path);
    struct fetch_req req = {.url = url,
                            .max_size = 4 * GZIP_PLAIN,
                            .net = FETCH_NET_PUBLIC_OFF_HOST,
                            .http_only = true,
                            .pausable = true};
    bool hung = false;
    uv_timer_t guard, resume;

    memset(g, 0, sizeof(*g));
    g->crc = crc32(0L, Z_NULL, 0);
    g->pause_every = pause_every;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct fetcher *f = fetch_new(&loop, &set, &err);
    if (!f)
        fail_msg("fetch_new: %s", err ? err : "?");
    assert_int_equal(uv_timer_init(&loop, &guard), 0);
    guard.data = &hung;
    assert_int_equal(uv_timer_start(&guard, on_guard_timer, HANG_GUARD_MS, 0), 0);
    assert_int_equal(uv_timer_init(&loop, &resume), 0);
    resume.data = g;
    assert_int_equal(uv_timer_start(&resume, on_resume_timer, 2, 2), 0);
    assert_non_null(g->xfer = fetch_start(f, &req, on_fetch_data, on_fetch_done, g));
    while (!g->done && !hung)
        (void)uv_run(&loop, UV_RUN_ONCE);
    if (hung)
        fail_msg("GET %s: no end after %d ms", path, HANG_GUARD_MS);
    fetch_close(f);
    uv_close((uv_handle_t *)&guard, on_guard_closed);
    uv_close((uv_handle_t *)&resume, on_guard_closed);
    (void)uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/*
 * Fetches path as a pausable transfer with timeout_ms; its data callback pauses at its
 * pause_at-th call (once, when fetch_pausable lets it), resumed resume_ms after the pause
 * (0: never).
 */
static void
fetch_timed(const char *path, uint64_t timeout_ms, unsigned pause_at, uint64_t resume_ms,
            struct got *g)
{
    uv_loop_t loop;
    char url[128], *err = NULL;
    struct fetch_settings set = {.max_connections = 4,
                                 .max_per_host = 4,
                                 .user_agent = "feedwatch-test",
                                 .timeout_ms = timeout_ms};
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", srv.port, path);
    struct fetch_req req = {.url = url,
                            .max_size = 4 * GZIP_PLAIN,
                            .net = FETCH_NET_PUBLIC_OFF_HOST,
                            .http_only = true,
                            .pausable = true};
    bool hung = false;
    uv_timer_t guard, resume;

    memset(g, 0, sizeof(*g));
    g->pause_at = pause_at;
    g->loop = &loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct fetcher *f = fetch_new(&loop, &set, &err);
    if (!f)
        fail_msg("fetch_new: %s", err ? err : "?");
    assert_int_equal(uv_timer_init(&loop, &guard), 0);
    guard.data = &hung;
    assert_int_equal(uv_timer_start(&guard, on_guard_timer, HANG_GUARD_MS, 0), 0);
    assert_int_equal(uv_timer_init(&loop, &resume), 0);
    resume.data = g;
    g->resume_timer = &resume;
    g->resume_ms = resume_ms;
    g->started_ms = uv_now(&loop);
    assert_non_null(g->xfer = fetch_start(f, &req, on_fetch_data, on_fetch_done, g));
    while (!g->done && !hung)
        (void)uv_run(&loop, UV_RUN_ONCE);
    if (hung)
        fail_msg("GET %s: no end after %d ms", path, HANG_GUARD_MS);
    g->xfer = NULL;
    g->loop = NULL;
    fetch_close(f);
    uv_close((uv_handle_t *)&guard, on_guard_closed);
    uv_close((uv_handle_t *)&resume, on_guard_closed);
    (void)uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/*
 * A transfer paused (max_poll_memory) for longer than its timeout and then resumed still
 * completes: the time paused does not count (issue 14: honest feeds behind a slow one failed
 * with "Operation timed out ... 477 out of 477 bytes received").
 */
static void
test_fetch_pause_longer_than_the_timeout(void **state)
{
    (void)state;
    struct got g;
    fetch_timed("/big", 1000, 1, 2500, &g);
    if (g.status != FETCH_OK)
        fail_msg("paused 2.5 s with a 1 s timeout: %s", g.error ? g.error : "?");
    assert_int_equal(g.pauses, 1);
    assert_int_equal(g.len, BIG_BODY);
    assert_int_equal(g.nonzero, BIG_BODY);
    assert_true(g.ended_ms - g.started_ms >= 2500);
    got_done(&g);
}

/*
 * A transfer paused for good ends at the wall cap (FETCH_WALL_FACTOR timeouts), saying so;
 * one that trickles after a pause ends when its time not paused reaches the timeout, saying
 * how long it was paused.
 */
static void
test_fetch_pause_wall_cap_and_timeout_message(void **state)
{
    (void)state;
    struct got g;
    fetch_timed("/big", 500, 1, 0, &g);
    assert_int_equal(g.status, FETCH_ERROR);
    assert_non_null(g.error);
    if (strncmp(g.error, "timed out after 2.", 18) != 0 ||
        !strstr(g.error, " s in all (at most 4 times fetch_timeout), ") ||
        !strstr(g.error, " s of it paused for max_poll_memory"))
        fail_msg("wall cap: %s", g.error);
    assert_true(g.ended_ms - g.started_ms >= FETCH_WALL_FACTOR * 500);
    got_done(&g);

    atomic_store(&srv.trickle_cut, false);
    atomic_store(&srv.trickled, 0);
    fetch_timed("/trickle", 1500, 1, 1000, &g);
    assert_int_equal(g.status, FETCH_ERROR);
    assert_non_null(g.error);
    if (strncmp(g.error, "timed out after 1.5 s (not counting 1.", 38) != 0 ||
        !strstr(g.error, " s paused for max_poll_memory)"))
        fail_msg("trickle after a pause: %s", g.error);
    assert_true(g.ended_ms - g.started_ms >= 1000 + 1500); /* paused, then 1.5 s running */
    assert_true(g.len < 1200);
    got_done(&g);
}

/*
 * fetch_pausable is false for the read that completes a Content-Length body (curl holds the
 * rest: a pause frees nothing), true before it: a small feed is never paused, a large one
 * only before its last read.
 */
static void
test_fetch_whole_body_is_not_pausable(void **state)
{
    (void)state;
    struct got g;
    fetch_timed("/ok", 5000, 0, 0, &g);
    assert_int_equal(g.status, FETCH_OK);
    assert_true(g.data_calls >= 1);
    assert_int_equal(g.pausable_calls, 0);
    assert_false(g.last_pausable);
    got_done(&g);
    /* A data callback that pauses every other call: the last read is taken regardless. */
    fetch_paused("/big", 2, &g);
    assert_int_equal(g.status, FETCH_OK);
    assert_int_equal(g.len, BIG_BODY);
    assert_true(g.pausable_calls > 0);
    assert_true(g.whole_calls >= 1);
    assert_false(g.last_pausable);
    got_done(&g);
    assert_true(fetch_body_whole(100, 100));
    assert_true(fetch_body_whole(0, 0));
    assert_false(fetch_body_whole(100, 99));
    assert_false(fetch_body_whole(-1, 1 << 20)); /* chunked or to the close: never known */
}

/*
 * A transfer paused by its data callback (FETCH_DATA_PAUSE) and resumed by fetch_resume gets
 * every byte once, in order, whatever the body: plain, or inflated from gzip.
 */
static void
test_fetch_pause_and_resume(void **state)
{
    (void)state;
    static const unsigned every[] = {2, 3, 7};
    for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++) {
        struct got g;
        fetch_paused("/big", every[i], &g);
        assert_int_equal(g.status, FETCH_OK);
        assert_int_equal(g.len, BIG_BODY);
        assert_int_equal(g.body_bytes, BIG_BODY);
        assert_int_equal(g.nonzero, BIG_BODY); /* all 'x': nothing lost or doubled */
        assert_true(g.pauses > 0);
        got_done(&g);
        fetch_paused("/gzip", every[i], &g);
        assert_int_equal(g.status, FETCH_OK);
        assert_int_equal(g.len, GZIP_PLAIN);
        assert_int_equal(g.body_bytes, GZIP_PLAIN);
        assert_int_equal(g.nonzero, 0);
        assert_string_equal(srv.last_ae, "gzip"); /* inflated by the fetcher: gzip alone */
        /* Its ~1 KB on the wire come in one read: curl holds the body whole from the first
         * call, but it is inflated as it is taken: 64 KiB go on as a small body would (four
         * pieces of 16 KiB, the fifth passes the mark), the rest waits when paused. */
        assert_int_equal(g.whole_calls, 4);
        assert_true(g.pausable_calls > 0);
        assert_true(g.pauses > 0);
        got_done(&g);
        /* A gzip body of many reads, paused within them: every byte once, in order. */
        fetch_paused("/gztext", every[i], &g);
        assert_int_equal(g.status, FETCH_OK);
        assert_int_equal(g.len, GZIP_TEXT);
        assert_int_equal(g.body_bytes, GZIP_TEXT);
        assert_int_equal(g.crc, srv.gzt_crc);
        assert_true(g.pauses > 0);
        got_done(&g);
    }
    /* Not paused: the same bytes. */
    struct got g;
    fetch_paused("/gztext", 1u << 30, &g);
    assert_int_equal(g.status, FETCH_OK);
    assert_int_equal(g.len, GZIP_TEXT);
    assert_int_equal(g.crc, srv.gzt_crc);
    assert_int_equal(g.pauses, 0);
    got_done(&g);
}

/*
 * A pausable transfer inflates gzip alone: a body in another encoding, gzip twice, or with
 * bytes after its gzip trailer ends the transfer, saying why. One that is never paused (an
 * article page, fetch_path) asks for every encoding curl has.
 */
static void
test_fetch_pausable_takes_gzip_alone(void **state)
{
    (void)state;
    static const struct {
        const char *path, *error;
    } t[] = {
        {"/br", "Content-Encoding 'br' not supported (feeds are asked for gzip)"},
        {"/gzgz", "Content-Encoding 'gzip' not supported (feeds are asked for gzip)"},
        {"/gztrailing", "gzip: data after the end of the compressed body"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct got g;
        fetch_paused(t[i].path, 1u << 30, &g);
        assert_int_equal(g.status, FETCH_ERROR);
        assert_non_null(g.error);
        if (strcmp(g.error, t[i].error) != 0)
            fail_msg("%s: %s", t[i].path, g.error);
        got_done(&g);
    }
    struct got g;
    fetch_path("/gztext", NULL, GZIP_TEXT, 20000, &g);
    assert_int_equal(g.status, FETCH_OK);
    assert_int_equal(g.len, GZIP_TEXT);
    assert_true(strstr(srv.last_ae, "gzip") && strcmp(srv.last_ae, "gzip") != 0);
    got_done(&g);
}

static void
test_fetch_200_with_body_and_validators(void **state)
{
    (void)state;
    struct got g;
    fetch_path("/ok", NULL, 1 << 20, 20000, &g);
    assert_int_equal(g.status, FETCH_OK);
    assert_int_equal(g.http_status, 200);
    assert_null(g.error);
    assert_string_equal(g.body, "<rss version=\"2.0\"><channel><title>t</title></channel></rss>");
    assert_int_equal(g.body_bytes, g.len);
    assert_string_equal(g.etag, "\"v1\"");
    assert_string_equal(g.last_modified, "Sat, 05 Dec 2026 10:00:00 GMT");
    assert_string_equal(g.content_type, "application/rss+xml");
    assert_null(g.permanent_url);
    got_done(&g);
}

static void
test_fetch_304_with_validators(void **state)
{
    (void)state;
    struct got g;
    fetch_path("/cond", "\"v1\"", 1 << 20, 20000, &g);
    assert_string_equal(srv.last_inm, "\"v1\""); /* the validator was sent */
    assert_int_equal(g.status, FETCH_NOT_MODIFIED);
    assert_int_equal(g.http_status, 304);
    assert_int_equal(g.data_calls, 0);
    got_done(&g);
    /* Another validator: the whole body again. */
    fetch_path("/cond", "\"v0\"", 1 << 20, 20000, &g);
    assert_string_equal(srv.last_inm, "\"v0\"");
    assert_int_equal(g.status, FETCH_OK);
    assert_int_equal(g.http_status, 200);
    assert_true(g.len > 0);
    got_done(&g);
}

static void
test_fetch_redirects_within_the_host(void **state)
{
    (void)state;
    struct got g;
    char want[128];
    (void)snprintf(want, sizeof(want), "http://127.0.0.1:%d/ok", srv.port);
    int before = atomic_load(&srv.requests);
    /* 302 then 301: followed hop by hop to the body; not every hop permanent. */
    fetch_path("/moved", NULL, 1 << 20, 20000, &g);
    assert_int_equal(g.status, FETCH_OK);
    assert_int_equal(g.http_status, 200);
    assert_string_equal(g.effective_url, want);
    assert_null(g.permanent_url);
    assert_true(g.len > 0);
    assert_int_equal(atomic_load(&srv.requests) - before, 3);
    got_done(&g);
    /* 308 alone: the URL to use from now on. */
    fetch_path("/perm", NULL, 1 << 20, 20000, &g);
    assert_int_equal(g.status, FETCH_OK);
    assert_string_equal(g.effective_url, want);
    assert_non_null(g.permanent_url);
    assert_string_equal(g.permanent_url, want);
    got_done(&g);
}

static void
test_fetch_size_cap(void **state)
{
    (void)state;
    struct got g;
    fetch_path("/big", NULL, 16 * 1024, 20000, &g);
    assert_int_equal(g.status, FETCH_ERROR);
    assert_non_null(g.error);
    if (!strstr(g.error, "max_feed_size"))
        fail_msg("size cap error: %s", g.error);
    assert_true(g.len <= 16 * 1024);
    got_done(&g);
    /* The same body under a cap it fits: whole. */
    fetch_path("/big", NULL, BIG_BODY, 20000, &g);
    assert_int_equal(g.status, FETCH_OK);
    assert_int_equal(g.len, BIG_BODY);
    got_done(&g);
}

static void
test_fetch_gzip_cap_counts_decompressed_bytes(void **state)
{
    (void)state;
    struct got g;
    assert_true(srv.gz_len < 16 * 1024); /* the wire is far under the cap */
    fetch_path("/gzip", NULL, 64 * 1024, 20000, &g);
    assert_int_equal(g.status, FETCH_ERROR);
    assert_non_null(g.error);
    if (!strstr(g.error, "max_feed_size"))
        fail_msg("gzip cap error: %s", g.error);
    assert_true(g.len <= 64 * 1024);
    got_done(&g);
    /* Under a cap it fits, the body comes decompressed. */
    fetch_path("/gzip", NULL, GZIP_PLAIN, 20000, &g);
    assert_int_equal(g.status, FETCH_OK);
    assert_int_equal(g.len, GZIP_PLAIN);
    assert_int_equal(g.nonzero, 0);
    got_done(&g);
}

static void
test_fetch_timeout_on_a_trickle(void **state)
{
    (void)state;
    struct got g;
    /* The server never pauses long enough for a low-speed limit; the whole-transfer timeout
     * must end it, long before the minute the trickle lasts. */
    fetch_path("/trickle", NULL, 1 << 20, 1500, &g);
    assert_int_equal(g.status, FETCH_ERROR);
    assert_non_null(g.error);
    if (!strstr(g.error, "timed out") && !strstr(g.error, "Timeout"))
        fail_msg("trickle error: %s", g.error);
    /* Cut by the fetcher, not by the server's end. */
    assert_true(g.len < 1200);
    for (int i = 0; i < 400 && !atomic_load(&srv.trickle_cut); i++)
        usleep(50 * 1000);
    assert_true(atomic_load(&srv.trickle_cut));
    assert_true(atomic_load(&srv.trickled) < 1200);
    got_done(&g);
}

int
main(void)
{
    /* Hermetic: no proxy from the environment between the fetcher and the loopback server. */
    static const char *const proxies[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                          "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
    for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
        (void)unsetenv(proxies[i]);
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_fetch_same_origin),
        cmocka_unit_test(test_fetch_redirect_refusal),
    };
    const struct CMUnitTest transfers[] = {
        cmocka_unit_test(test_fetch_200_with_body_and_validators),
        cmocka_unit_test(test_fetch_304_with_validators),
        cmocka_unit_test(test_fetch_redirects_within_the_host),
        cmocka_unit_test(test_fetch_size_cap),
        cmocka_unit_test(test_fetch_gzip_cap_counts_decompressed_bytes),
        cmocka_unit_test(test_fetch_timeout_on_a_trickle),
        cmocka_unit_test(test_fetch_pause_and_resume),
        cmocka_unit_test(test_fetch_pausable_takes_gzip_alone),
        cmocka_unit_test(test_fetch_pause_longer_than_the_timeout),
        cmocka_unit_test(test_fetch_pause_wall_cap_and_timeout_message),
        cmocka_unit_test(test_fetch_whole_body_is_not_pausable),
    };
    int failed = cmocka_run_group_tests_name("pure", pure, NULL, NULL);
    return failed | cmocka_run_group_tests_name("transfers", transfers, srv_setup, srv_teardown);
}
