/*
 * fetch.h — the fetcher: libcurl's multi socket API driven by the libuv loop.
 *
 * One struct fetcher owns the CURLM handle, one uv_timer_t for curl's timeout, one uv_poll_t
 * per socket curl asks to watch, and every transfer. A transfer's body goes, as it arrives
 * and after decompression, to the owner's data callback (2xx responses only); every way a
 * transfer ends (success, 304, HTTP error, size cap, timeout, abort) reaches the owner's done
 * callback exactly once, through fetch_finish(). Transfers beyond the in-flight limit wait in
 * a FIFO queue. Loop thread only.
 *
 * Redirects are followed here, hop by hop, not by curl: a hop to another origin (scheme, host,
 * port) goes without the request's header and credentials, a hop from https to http is
 * refused, and a hop's address is checked against the request's network policy when its
 * socket is opened (and again when curl reuses a connection), so that a URL that strangers
 * choose (a feed item's link, a feed's redirect) reaches no loopback, private or other
 * non-public address (feeds/netaddr.h). With a proxy the fetcher resolves such a hop itself,
 * checks the address and pins the connection to it (CURLOPT_CONNECT_TO; through an HTTP
 * proxy, as a CONNECT tunnel to that address), as the proxy would otherwise resolve the name.
 */
#ifndef FEEDWATCH_FETCH_H
#define FEEDWATCH_FETCH_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct fetcher;
struct fetch_xfer;

enum fetch_status {
    FETCH_OK = 0,       /* 2xx (or a file that was read): the body went to the data callback */
    FETCH_NOT_MODIFIED, /* 304, or a file not changed since last_modified */
    FETCH_HTTP_ERROR,   /* a final HTTP status >= 400 (or an unexpected 1xx/3xx) */
    FETCH_ERROR,        /* transport error, timeout, size cap, data callback refused */
    FETCH_ABORTED,      /* fetch_cancel() or shutdown */
};

/* Which addresses a transfer may connect to (see the comment at the top). */
enum fetch_net {
    FETCH_NET_ANY = 0,         /* any: the operator's own URL (a webhook) */
    FETCH_NET_PUBLIC_OFF_HOST, /* a feed: the origin's first hop is the operator's choice; a
                                * later hop is exempt only on the origin (or its https
                                * upgrade) after a first hop to a non-public address */
    FETCH_NET_PUBLIC,          /* public only, every hop (an article page) */
};

struct fetch_settings {
    unsigned max_connections;
    unsigned max_per_host;
    const char *user_agent;
    const char *proxy;   /* NULL: curl's *_proxy environment variables apply */
    uint64_t timeout_ms; /* whole transfer, every hop, the time paused not counted (below) */
};

/* What to fetch. Strings are borrowed for the call (copied). */
struct fetch_req {
    const char *url;
    const char *etag;          /* sent as If-None-Match, may be NULL */
    const char *last_modified; /* sent as If-Modified-Since, may be NULL */
    const char *header;        /* one extra "Name: value" header, may be NULL */
    const char *user;          /* HTTP basic auth, may be NULL */
    const char *password;
    uint64_t max_size;     /* cap on the decompressed body */
    const char *post_body; /* POST this body (a webhook) instead of a GET; NULL for GET */
    size_t post_len;
    const char *const *post_headers; /* NULL-terminated extra "Name: value" lines for a POST */
    enum fetch_net net;              /* which addresses the hops may reach */
    const char *origin;              /* the URL whose origin header and credentials are bound to and
                                      * FETCH_NET_PUBLIC_OFF_HOST trusts; NULL: url */
    bool http_only;                  /* http(s) only, no file: (a URL from a feed) */
    const char *size_name;           /* the size cap's name in its error; NULL: "max_feed_size" */
    bool pausable; /* the data callback may return FETCH_DATA_PAUSE: curl reads at most
                    * FETCH_PAUSE_READ bytes at a time, since while paused it keeps the rest
                    * of a read it had begun; such a transfer asks for gzip alone and its
                    * body is inflated by the fetcher as it is taken, never by curl (which
                    * would keep a paused read's rest inflated: 4 KB of gzip are 4 MB), and
                    * a body in another Content-Encoding ends it (FETCH_ERROR) */
};

#define FETCH_PAUSE_READ 4096
#define FETCH_WALL_FACTOR 4 /* a transfer ends at this many timeouts, paused or not */

/* How a transfer ended. Strings are valid during the done callback only. */
struct fetch_result {
    enum fetch_status status;
    long http_status;          /* 0 when there was no HTTP response (file:, transport error) */
    const char *error;         /* set unless FETCH_OK / FETCH_NOT_MODIFIED */
    const char *effective_url; /* after redirects */
    const char *permanent_url; /* the URL to use from now on when every redirect was 301/308 */
    const char *etag;          /* validators of the response, NULL when absent */
    const char *last_modified;
    uint64_t body_bytes;    /* decompressed bytes received */
    int64_t retry_after_at; /* Retry-After of the final response (Unix s), 0 when none */
    int64_t fresh_until_at; /* Cache-Control max-age, else Expires (Unix s), 0 when none */
};

/*
 * Body bytes; effective_url and content_type (NULL when the server sent none) describe the
 * response. Returns 0 to go on, a negative errno with *reterr_msg (malloc'd) to end the
 * transfer, or FETCH_DATA_PAUSE (a transfer fetch_pausable says may pause) when it does not
 * take the bytes now: the transfer stops reading until fetch_resume(), then the same bytes come
 * again.
 *
 * Time: a transfer's clock starts when it goes into curl (not while it waits in the queue) and
 * stops while its data callback keeps it paused; it ends, timed out, when the clock reaches
 * timeout_ms ("timed out after 20 s (not counting 12 s paused for max_poll_memory)"), or
 * FETCH_WALL_FACTOR times timeout_ms after it started, paused or not, so that nothing waits
 * forever. Connect and low-speed limits are curl's (min(timeout, 30 s)); curl does not apply
 * the low-speed one to a paused transfer.
 */
#define FETCH_DATA_PAUSE 1
typedef int (*fetch_data_cb)(void *userdata, const char *effective_url, const char *content_type,
                             const char *buf, size_t len, char **reterr_msg);
typedef void (*fetch_done_cb)(void *userdata, const struct fetch_result *result);

/*
 * Whether url is on origin_url's origin (scheme, host, port) or its https upgrade (same host,
 * http on 80 to https on 443): only there go a request's header and credentials.
 * *ret_same_host (may be NULL) tells whether the host is the same. Pure; any thread.
 */
bool fetch_same_origin(const char *origin_url, const char *url, bool *ret_same_host);

/*
 * NULL when a redirect from from_url to to_url may be followed, else why not (not http or
 * https, or https down to http). Pure; any thread.
 */
const char *fetch_redirect_refusal(const char *from_url, const char *to_url);

/* Creates a fetcher on loop; NULL with *reterr_msg on failure. */
struct fetcher *fetch_new(uv_loop_t *loop, const struct fetch_settings *settings,
                          char **reterr_msg);

/* Applies new settings (after a reload) to transfers started from now on. */
int fetch_configure(struct fetcher *f, const struct fetch_settings *settings);

/*
 * Starts (or queues) a transfer. NULL with errno ENOMEM, or EINVAL for a bad URL or an option
 * curl refused (a security option is never dropped silently); done_cb is then not called.
 */
struct fetch_xfer *fetch_start(struct fetcher *f, const struct fetch_req *req,
                               fetch_data_cb data_cb, fetch_done_cb done_cb, void *userdata);

/* Ends a transfer now; its done callback runs (FETCH_ABORTED) before this returns. */
void fetch_cancel(struct fetch_xfer *x);

/*
 * Whether x's data callback may return FETCH_DATA_PAUSE now (call it from the data callback):
 * fetch_req.pausable, not file:, an HTTP/1 response (a multiplexed stream's pause could hold
 * up its connection's others), and a body curl does not hold whole yet: when the bytes read
 * reach Content-Length (fetch_body_whole), the rest is in memory already and a pause would
 * free nothing, so the data callback takes it. A gzip body whole on the wire is inflated as
 * it is taken: it is pausable once 64 KiB of it were taken.
 */
bool fetch_pausable(const struct fetch_xfer *x);

/* Whether got body bytes on the wire are all of a body of length (-1: not known). Pure. */
bool fetch_body_whole(int64_t length, int64_t got);

/*
 * Resumes a transfer its data callback paused (nothing when it is not paused): curl hands the
 * bytes over again from the loop, soon, never from inside this call.
 */
void fetch_resume(struct fetch_xfer *x);

/* Transfers running in curl plus queued ones. */
unsigned fetch_in_flight(const struct fetcher *f);

/*
 * Aborts every transfer (done callbacks run with FETCH_ABORTED), cleans up the multi handle
 * and starts closing the libuv handles; the struct is freed from the last close callback.
 */
void fetch_close(struct fetcher *f);

#endif
