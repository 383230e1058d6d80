#include "fetch.h"

#include <arpa/inet.h>
#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <zlib.h>

#include "parse/date.h"
#include "base/netaddr.h"

/*
 * CURLOPT_PROTOCOLS_STR and CURLOPT_REDIR_PROTOCOLS_STR (the allow-list) came in 7.85; an
 * older libcurl would ignore them and allow every protocol it was built with.
 */
#if LIBCURL_VERSION_NUM < 0x075500
#error "feedwatch needs libcurl 7.85 or newer"
#endif

#define FETCH_MAX_REDIRS 5L
#define FETCH_MAX_HEADER 8192 /* longest validator we keep */
#define FETCH_CONNECT_TIMEOUT_MS 30000
#define FETCH_LOW_SPEED_TIME_S 30L
#define FETCH_ADDR_MAX 64 /* a resolved address as text (INET6_ADDRSTRLEN is 46) */
#define FETCH_HOST_MAX 256
#define FETCH_DNS_TTL_MS (60 * 1000) /* how long a host's address is reused for counting */
#define FETCH_DNS_CACHE_MAX 4096     /* hosts remembered */

/*
 * A pausable transfer's body is inflated here, not by curl (max_poll_memory, issue 14). curl
 * decodes a whole read before it looks at a pause: a paused transfer keeps the rest of that
 * read inflated in its pause buffer (libcurl's curl_easy_pause(3), "MEMORY USE": "libcurl
 * continues to uncompress the entire downloaded chunk and it caches the data uncompressed";
 * 7.88 keeps up to 64 MiB a transfer, DYN_PAUSE_BUFFER), which no budget of ours sees: a 4 KB
 * gzip read is 4 MB inflated (deflate's limit is about 1032:1), a stack of encodings far more,
 * and 16 transfers paused so took 66 MB past a 4 MiB budget. So such a transfer asks for gzip
 * alone, curl's decoding is off, and fetch_inflate hands the body on FETCH_INFLATE_PIECE bytes
 * at a time as the data callback takes them: paused, it holds one piece, zlib's state and
 * window (~45 KB) and the compressed read curl keeps (FETCH_PAUSE_READ). Other encodings are
 * refused (a server sends what was asked for: RFC 9110 12.5.3); transfers that are never
 * paused (article pages, webhooks) keep curl's decoding of every encoding it has.
 */
#define FETCH_INFLATE_PIECE (16 * 1024) /* what curl hands over at a time (CURL_MAX_WRITE_SIZE) */
/*
 * A body curl holds whole is not paused (fetch_pausable): for a compressed one that holds only
 * up to this many inflated bytes; past them the rest, not inflated yet, waits like any other.
 */
#define FETCH_WHOLE_INFLATE (64 * 1024)

enum fetch_coding {
    FETCH_CODING_IDENTITY = 0, /* none, or curl decodes it */
    FETCH_CODING_GZIP,         /* inflated here (fetch_inflate) */
    FETCH_CODING_REFUSED,      /* not asked for: the body is refused */
};

/*
 * max_per_host is enforced twice: by curl per host name, and here per resolved address, so
 * that many names served from one machine (a CDN edge, a blog farm, virtual hosts) get no
 * more than max_per_host transfers at once either. The address is the host's first IPv4
 * address (else IPv6), resolved with uv_getaddrinfo before the transfer may start and kept
 * FETCH_DNS_TTL_MS; curl resolves again itself (its DNS cache is shared).
 */
struct fetch_addr {
    char addr[FETCH_ADDR_MAX];
    unsigned active; /* transfers in curl counted against this address */
};

/*
 * An address that answered over HTTP/2 or HTTP/3: its transfers share multiplexed
 * connections, so the per-address count (meant for HTTP/1.1, one request per connection) is
 * not applied; a CDN edge serving thousands of unrelated sites is not throttled to one
 * site's max_per_host. Remembered FETCH_DNS_TTL_MS.
 */
struct fetch_h2 {
    char addr[FETCH_ADDR_MAX];
    uint64_t until;
};
#define FETCH_H2_MAX 256

struct fetch_dns {
    char *host;
    char addr[FETCH_ADDR_MAX]; /* "" when it could not be resolved (no address limit) */
    uint64_t until;            /* uv_now() after which it is resolved again */
    bool pending;              /* a resolution is in flight */
};

/* One uv_getaddrinfo in flight; it finds its transfers by host name when it ends. */
struct fetch_resolve {
    uv_getaddrinfo_t req;
    struct fetcher *f;
    struct fetch_resolve *next; /* f->resolves */
    char host[FETCH_HOST_MAX];
};

/* One socket curl asked us to watch; attached to curl with curl_multi_assign. */
struct fetch_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct fetcher *f;
};

struct fetch_xfer {
    struct fetcher *f;
    CURL *easy;
    struct curl_slist *headers;
    fetch_data_cb data_cb;
    fetch_done_cb done_cb;
    void *userdata;
    uint64_t max_size;
    uint64_t body_bytes;
    bool is_file;
    bool in_multi;
    bool in_list;  /* on the active list */
    bool pausable; /* fetch_req.pausable, and not file: */
    bool paused;   /* the data callback asked for a pause (FETCH_DATA_PAUSE) */
    bool resume;   /* fetch_resume() asked: unpaused from the loop (on_uv_kick) */
    /*
     * Its clock (fetch_timeout counts the time it is not paused, see fetch.h): uv_now when it
     * first went into curl (started), the time paused before, and since when it is paused now
     * (clock_paused: from the pause to the curl_easy_pause that lifts it).
     */
    uint64_t timeout_ms, wall_ms;
    uint64_t started_ms, paused_ms, paused_since_ms;
    bool started, clock_paused;
    char *error; /* why we ended it ourselves (cap, data callback) */
    char *etag;
    char *last_modified;
    bool all_permanent; /* every redirect so far was 301/308 */
    unsigned redirects;
    long last_status;        /* status of the response whose headers we are reading */
    int64_t retry_after_at;  /* Retry-After of the final response, 0 when none */
    int64_t max_age_at;      /* now + Cache-Control max-age, 0 when none */
    int64_t expires_at;      /* Expires, 0 when none */
    bool no_cache;           /* Cache-Control no-cache / no-store: no freshness hint */
    struct fetch_xfer *next; /* queue or active list */
    struct fetch_xfer *prev;
    char host[FETCH_HOST_MAX]; /* waiting for this host's address ("" when not) */
    char addr[FETCH_ADDR_MAX]; /* counted against this address ("" when not counted) */
    bool counted;              /* the address's active count includes this transfer */
    /* Redirects, origins and the network policy (see fetch.h). */
    struct curl_slist *headers_public; /* the headers without the request's own (other origins) */
    char *user, *password;             /* credentials for hops to the origin */
    char *origin; /* the URL whose origin keeps the secrets (fetch_req.origin) */
    enum fetch_net net;
    bool follow;         /* redirects are followed (a GET) */
    unsigned hops;       /* redirects followed */
    bool check_hop;      /* this hop's address must be public */
    bool origin_private; /* the unchecked first hop (the configured URL) connected to a
                          * non-public address: later hops on its origin are exempt */
    bool pin;            /* this hop goes to x->addr, checked here (a proxy may be in use) */
    char hop_host[FETCH_HOST_MAX]; /* this hop's host as in its URL, and its port */
    long hop_port;
    struct curl_slist *connect_to;
    char *refused;          /* an address opensocket refused (another one may still work) */
    const char *size_error; /* "feed exceeds max_feed_size" or the request's own */
    /* The body's Content-Encoding when decoded here (see FETCH_INFLATE_PIECE). */
    bool inflate_here;        /* gzip asked for, curl's decoding off (a pausable transfer) */
    enum fetch_coding coding; /* of the response whose headers were read last */
    char coding_name[32];     /* FETCH_CODING_REFUSED: the encoding, for the error */
    z_stream *zs;             /* the inflater, from the first compressed byte */
    unsigned char *zout;      /* a piece inflated and not taken yet (zout_len bytes) */
    size_t zout_len;
    size_t zskip; /* bytes at the start of curl's next call inflated before */
    bool zend;    /* the gzip stream ended */
    char errbuf[CURL_ERROR_SIZE];
};

struct fetcher {
    uv_loop_t *loop;
    CURLM *multi;
    CURLSH *share; /* DNS cache, TLS sessions and connections of every transfer */
    uv_timer_t timer;
    struct fetch_settings settings;
    char *user_agent;
    char *proxy;
    unsigned limit;  /* transfers added to curl at once */
    unsigned active; /* in curl */
    unsigned queued;
    struct fetch_xfer *active_head;
    struct fetch_xfer *queue_head;
    struct fetch_xfer *queue_tail;
    unsigned pending_closes;
    unsigned resolving;             /* uv_getaddrinfo requests in flight */
    struct fetch_resolve *resolves; /* ... and their list, to cancel them at close */
    struct fetch_addr *addrs;       /* addresses with counted transfers */
    size_t n_addrs, cap_addrs;
    struct fetch_h2 h2[FETCH_H2_MAX]; /* addresses seen speaking HTTP/2 or 3 (a ring) */
    size_t n_h2, next_h2;
    struct fetch_dns *dns; /* host -> address, FETCH_DNS_CACHE_MAX at most */
    size_t n_dns;
    uv_timer_t kick;     /* runs fetch_dequeue from the loop (pinned transfers) */
    uv_timer_t deadline; /* the earliest end of a transfer's time (xfer_deadline) */
    bool proxy_possible; /* a proxy is set, here or in curl's *_proxy variables */
    bool closing;
};

static void check_multi_info(struct fetcher *f);
static void on_timer_closed(uv_handle_t *h);
static void fetch_finish(struct fetch_xfer *x, CURLcode code);
static void clock_pause(struct fetch_xfer *x);
static void xfer_fail(struct fetch_xfer *x, const char *msg);

static char *
xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Unlinks x from the doubly linked active list. */
static void
active_unlink(struct fetcher *f, struct fetch_xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        f->active_head = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->next = x->prev = NULL;
}

/* Removes x, which follows prev (NULL: x is the head), from the singly linked wait queue. */
static void
queue_remove(struct fetcher *f, struct fetch_xfer *prev, struct fetch_xfer *x)
{
    if (prev)
        prev->next = x->next;
    else
        f->queue_head = x->next;
    if (f->queue_tail == x)
        f->queue_tail = prev;
    x->next = NULL;
    f->queued--;
}

/* Removes x from the wait queue (O(n): only on cancel of a queued transfer). */
static bool
queue_unlink(struct fetcher *f, struct fetch_xfer *x)
{
    struct fetch_xfer *p = NULL;
    for (struct fetch_xfer *q = f->queue_head; q; p = q, q = q->next) {
        if (q == x) {
            queue_remove(f, p, x);
            return true;
        }
    }
    return false;
}

/* Frees a closing fetcher once its last handle is closed and its last resolution is back. */
static void
fetcher_maybe_free(struct fetcher *f)
{
    if (!f->closing || f->pending_closes > 0 || f->resolving > 0)
        return;
    for (size_t i = 0; i < f->n_dns; i++)
        free(f->dns[i].host);
    free(f->dns);
    free(f->addrs);
    free(f);
}

static void
on_sock_closed(uv_handle_t *h)
{
    struct fetch_sock *s = h->data;
    struct fetcher *f = s->f;
    free(s);
    f->pending_closes--;
    fetcher_maybe_free(f);
}

/* ---- per-address counting (see struct fetch_addr) ---- */

/* The counted address, or NULL (created when create is true and memory allows). */
static struct fetch_addr *
addr_slot(struct fetcher *f, const char *addr, bool create)
{
    for (size_t i = 0; i < f->n_addrs; i++)
        if (strcmp(f->addrs[i].addr, addr) == 0)
            return &f->addrs[i];
    if (!create)
        return NULL;
    if (f->n_addrs == f->cap_addrs) {
        size_t cap = f->cap_addrs ? 2 * f->cap_addrs : 16;
        struct fetch_addr *v = realloc(f->addrs, cap * sizeof(*v));
        if (!v)
            return NULL;
        f->addrs = v;
        f->cap_addrs = cap;
    }
    struct fetch_addr *a = &f->addrs[f->n_addrs++];
    snprintf(a->addr, sizeof(a->addr), "%s", addr);
    a->active = 0;
    return a;
}

/* Whether addr answered over HTTP/2 or 3 within FETCH_DNS_TTL_MS. */
static bool
addr_is_h2(const struct fetcher *f, const char *addr)
{
    uint64_t now = uv_now(f->loop);
    for (size_t i = 0; i < f->n_h2; i++)
        if (f->h2[i].until > now && strcmp(f->h2[i].addr, addr) == 0)
            return true;
    return false;
}

/* Remembers that x's address answered over HTTP/2 or 3 (when it did). */
static void
addr_note_version(struct fetcher *f, const struct fetch_xfer *x)
{
    long version = 0;
    if (!x->addr[0] || curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &version) != CURLE_OK ||
        version < CURL_HTTP_VERSION_2_0)
        return;
    uint64_t until = uv_now(f->loop) + FETCH_DNS_TTL_MS;
    for (size_t i = 0; i < f->n_h2; i++) {
        if (strcmp(f->h2[i].addr, x->addr) == 0) {
            f->h2[i].until = until;
            return;
        }
    }
    struct fetch_h2 *e = &f->h2[f->next_h2];
    f->next_h2 = (f->next_h2 + 1) % FETCH_H2_MAX;
    if (f->n_h2 < FETCH_H2_MAX)
        f->n_h2++;
    snprintf(e->addr, sizeof(e->addr), "%s", x->addr);
    e->until = until;
}

/*
 * Whether x must wait: its address has max_per_host transfers in curl already (HTTP/1.1
 * servers; one that speaks HTTP/2 multiplexes them, and curl's per-host limit applies).
 */
static bool
addr_full(struct fetcher *f, const struct fetch_xfer *x)
{
    if (!x->addr[0] || f->settings.max_per_host == 0 || addr_is_h2(f, x->addr))
        return false;
    const struct fetch_addr *a = addr_slot(f, x->addr, false);
    return a && a->active >= f->settings.max_per_host;
}

/* Counts x against its address (it is going into curl). */
static void
addr_take(struct fetcher *f, struct fetch_xfer *x)
{
    struct fetch_addr *a = x->addr[0] ? addr_slot(f, x->addr, true) : NULL;
    if (a) {
        a->active++;
        x->counted = true;
    }
}

/* Stops counting x (it left curl); an address with nothing counted is forgotten. */
static void
addr_release(struct fetcher *f, struct fetch_xfer *x)
{
    if (!x->counted)
        return;
    x->counted = false;
    struct fetch_addr *a = addr_slot(f, x->addr, false);
    if (a && --a->active == 0)
        *a = f->addrs[--f->n_addrs];
}

/* The cache entry of host (created when missing; the cache is emptied when full). */
static struct fetch_dns *
dns_entry(struct fetcher *f, const char *host)
{
    for (size_t i = 0; i < f->n_dns; i++)
        if (strcmp(f->dns[i].host, host) == 0)
            return &f->dns[i];
    if (!f->dns && !(f->dns = calloc(FETCH_DNS_CACHE_MAX, sizeof(*f->dns))))
        return NULL;
    if (f->n_dns == FETCH_DNS_CACHE_MAX) {
        for (size_t i = 0; i < f->n_dns; i++)
            free(f->dns[i].host);
        f->n_dns = 0;
    }
    char *copy = strdup(host);
    if (!copy)
        return NULL;
    struct fetch_dns *e = &f->dns[f->n_dns++];
    memset(e, 0, sizeof(*e));
    e->host = copy;
    return e;
}

static void fetch_dequeue(struct fetcher *f);

/*
 * The address of a getaddrinfo answer, as text: the first public IPv4 one, else the first
 * public IPv6 one, else the first IPv4 one, else the first IPv6 one (a pinned transfer goes
 * to a public address when the name has one).
 */
static void
pick_address(const struct addrinfo *res, char *out, size_t n)
{
    out[0] = '\0';
    for (int pass = 0; pass < 4 && !out[0]; pass++) {
        int family = pass % 2 == 0 ? AF_INET : AF_INET6;
        for (const struct addrinfo *ai = res; ai && !out[0]; ai = ai->ai_next) {
            if (ai->ai_family != family ||
                (pass < 2 && netaddr_sockaddr_kind(ai->ai_addr, ai->ai_addrlen)))
                continue;
            (void)netaddr_format(ai->ai_addr, ai->ai_addrlen, out, n);
        }
    }
}

/* libuv: a host's address is known (or not): its waiting transfers may go. */
static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct fetch_resolve *r = req->data;
    struct fetcher *f = r->f;
    char addr[FETCH_ADDR_MAX] = "";
    f->resolving--;
    for (struct fetch_resolve **pp = &f->resolves; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    if (status == 0 && res)
        pick_address(res, addr, sizeof(addr));
    uv_freeaddrinfo(res);
    if (f->closing) {
        free(r);
        fetcher_maybe_free(f);
        return;
    }
    struct fetch_dns *e = dns_entry(f, r->host);
    if (e) {
        snprintf(e->addr, sizeof(e->addr), "%s", addr);
        e->until = uv_now(f->loop) + FETCH_DNS_TTL_MS;
        e->pending = false;
    }
    for (struct fetch_xfer *x = f->queue_head; x; x = x->next) {
        if (!x->host[0] || strcmp(x->host, r->host) != 0)
            continue;
        snprintf(x->addr, sizeof(x->addr), "%s", addr);
        x->host[0] = '\0';
    }
    free(r);
    fetch_dequeue(f);
}

/*
 * Finds the address x is counted against: an IP literal as it is, a cached host's address,
 * or (x->host set) a resolution to wait for. A URL without a host (file:) or that cannot be
 * resolved is not counted.
 */
static void
xfer_address(struct fetcher *f, struct fetch_xfer *x, const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host) {
        curl_url_cleanup(u);
        return;
    }
    curl_url_cleanup(u);
    char name[FETCH_HOST_MAX];
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
        snprintf(name, sizeof(name), "%.*s", (int)(len - 2), host + 1);
    else
        snprintf(name, sizeof(name), "%s", host);
    curl_free(host);
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1) {
        /* An address literal, in the form inet_ntop gives (as resolved ones are). */
        (void)inet_ntop(strchr(name, ':') ? AF_INET6 : AF_INET, buf, x->addr,
                        (socklen_t)sizeof(x->addr));
        return;
    }
    if (strlen(name) >= FETCH_HOST_MAX - 1)
        return;
    struct fetch_dns *e = dns_entry(f, name);
    if (!e)
        return;
    if (!e->pending && e->until > uv_now(f->loop)) {
        snprintf(x->addr, sizeof(x->addr), "%s", e->addr);
        return;
    }
    snprintf(x->host, sizeof(x->host), "%s", name);
    if (e->pending)
        return;
    struct fetch_resolve *r = calloc(1, sizeof(*r));
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (r) {
        r->f = f;
        r->req.data = r;
        snprintf(r->host, sizeof(r->host), "%s", name);
    }
    if (!r || uv_getaddrinfo(f->loop, &r->req, on_resolved, r->host, NULL, &hints) < 0) {
        free(r);
        x->host[0] = '\0'; /* not counted: curl resolves and limits per host name alone */
        return;
    }
    e->pending = true;
    f->resolving++;
    r->next = f->resolves;
    f->resolves = r;
}

/* libuv: a watched socket is ready (or failed); tell curl, then collect finished transfers. */
static void
on_uv_poll(uv_poll_t *h, int status, int events)
{
    struct fetch_sock *s = h->data;
    struct fetcher *f = s->f;
    int flags = 0;
    int running;

    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    if (status == UV_EBADF)
        (void)uv_poll_stop(h);
    (void)curl_multi_socket_action(f->multi, s->fd, flags, &running);
    check_multi_info(f);
}

/* libuv: curl's timeout expired. */
static void
on_uv_timer(uv_timer_t *t)
{
    struct fetcher *f = t->data;
    int running;
    (void)curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(f);
}

/* curl: watch (or stop watching) a socket. Only arms libuv handles; never calls back into curl. */
static int
on_curl_socket(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    struct fetcher *f = userp;
    struct fetch_sock *s = socketp;
    (void)easy;

    if (action == CURL_POLL_REMOVE) {
        if (s) {
            (void)uv_poll_stop(&s->poll);
            (void)curl_multi_assign(f->multi, fd, NULL);
            uv_close((uv_handle_t *)&s->poll, on_sock_closed);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->fd = fd;
        s->f = f;
        if (uv_poll_init_socket(f->loop, &s->poll, fd) < 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        f->pending_closes++;
        (void)curl_multi_assign(f->multi, fd, s);
    }
    int events = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&s->poll, events, on_uv_poll) < 0 ? -1 : 0;
}

/* curl: arm (or stop) our one timer. */
static int
on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct fetcher *f = userp;
    (void)multi;
    if (timeout_ms < 0)
        return uv_timer_stop(&f->timer) < 0 ? -1 : 0;
    return uv_timer_start(&f->timer, on_uv_timer, (uint64_t)timeout_ms, 0) < 0 ? -1 : 0;
}

/* Copies a header value without surrounding whitespace, bounded. */
static char *
header_value(const char *v, size_t len)
{
    while (len && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len &&
           (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    if (len == 0 || len > FETCH_MAX_HEADER)
        return NULL;
    /* curl's header buffer is not NUL-terminated: copy exactly len bytes. */
    char *c = malloc(len + 1);
    if (c) {
        memcpy(c, v, len);
        c[len] = '\0';
    }
    return c;
}

/*
 * A delay in whole seconds ("120") as an instant from now, bounded; false for anything else
 * (Retry-After and max-age values, RFC 9110 10.2.3 and RFC 9111 5.2.2.1).
 */
static bool
delta_seconds(const char *v, int64_t *ret_at)
{
    int64_t secs = 0;
    size_t i = 0;
    for (; v[i] >= '0' && v[i] <= '9'; i++) {
        if (i >= 10)
            return false; /* beyond 300 years: not a delay we honour */
        secs = secs * 10 + (v[i] - '0');
    }
    if (i == 0 || (v[i] != '\0' && v[i] != ',' && v[i] != ' ' && v[i] != ';'))
        return false;
    *ret_at = (int64_t)time(NULL) + secs;
    return true;
}

/* The Cache-Control directives we use: max-age, and no-cache / no-store that void hints. */
static void
parse_cache_control(struct fetch_xfer *x, const char *v)
{
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        if (len >= 8 && strncasecmp(p, "max-age=", 8) == 0) {
            const char *val = p + 8;
            if (*val == '"')
                val++;
            int64_t at;
            if (delta_seconds(val, &at))
                x->max_age_at = at;
        } else if ((len >= 8 && strncasecmp(p, "no-cache", 8) == 0) ||
                   (len >= 8 && strncasecmp(p, "no-store", 8) == 0)) {
            x->no_cache = true;
        }
        p += len;
    }
}

/* Parses the politeness headers of a response: Retry-After, Cache-Control, Expires. */
static void
parse_hint_header(struct fetch_xfer *x, const char *buf, size_t n)
{
    static const struct {
        const char *name;
        size_t len;
    } names[] = {{"retry-after:", 12}, {"cache-control:", 14}, {"expires:", 8}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (n <= names[i].len || strncasecmp(buf, names[i].name, names[i].len) != 0)
            continue;
        char *v = header_value(buf + names[i].len, n - names[i].len);
        if (!v)
            return;
        int64_t at;
        if (i == 0) {
            if (delta_seconds(v, &at) || date_parse_http(v, &at) == 0)
                x->retry_after_at = at > 0 ? at : 1;
        } else if (i == 1) {
            parse_cache_control(x, v);
        } else if (date_parse_http(v, &at) == 0 && at > 0) {
            x->expires_at = at;
        }
        free(v);
        return;
    }
}

/*
 * A Content-Encoding value of a transfer that inflates here (more than one line makes one
 * list): gzip once (or x-gzip), and identity, are taken; anything else, or gzip twice, refuses
 * the body.
 */
static void
parse_coding(struct fetch_xfer *x, const char *v)
{
    const char *p = v;
    for (;;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t,");
        if (len == 0)
            return;
        bool gzip = (len == 4 && strncasecmp(p, "gzip", 4) == 0) ||
                    (len == 6 && strncasecmp(p, "x-gzip", 6) == 0);
        bool identity = len == 8 && strncasecmp(p, "identity", 8) == 0;
        if (gzip && x->coding == FETCH_CODING_IDENTITY) {
            x->coding = FETCH_CODING_GZIP;
        } else if (!identity) {
            x->coding = FETCH_CODING_REFUSED;
            snprintf(x->coding_name, sizeof(x->coding_name), "%s", v);
        }
        p += len;
    }
}

/*
 * curl: one header line. A status line starts a new response: we note whether each redirect
 * is permanent and keep only the final response's validators and hints.
 */
static size_t
on_curl_header(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct fetch_xfer *x = userdata;
    size_t n = size * nitems;

    if (n > 5 && strncmp(buf, "HTTP/", 5) == 0) {
        const char *sp = memchr(buf, ' ', n);
        long code = 0;
        if (sp && (size_t)(sp - buf) + 4 <= n && sp[1] >= '0' && sp[1] <= '9')
            code = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
        if (code >= 300 && code < 400 && code != 304) {
            x->redirects++;
            if (code != 301 && code != 308)
                x->all_permanent = false;
        }
        x->last_status = code;
        x->coding = FETCH_CODING_IDENTITY;
        x->coding_name[0] = '\0';
        free(x->etag);
        free(x->last_modified);
        x->etag = x->last_modified = NULL;
        x->retry_after_at = x->max_age_at = x->expires_at = 0;
        x->no_cache = false;
        return n;
    }
    parse_hint_header(x, buf, n);
    if (n > 5 && strncasecmp(buf, "etag:", 5) == 0) {
        free(x->etag);
        x->etag = header_value(buf + 5, n - 5);
    } else if (n > 14 && strncasecmp(buf, "last-modified:", 14) == 0) {
        free(x->last_modified);
        x->last_modified = header_value(buf + 14, n - 14);
    } else if (x->inflate_here && n > 17 && strncasecmp(buf, "content-encoding:", 17) == 0) {
        char *v = header_value(buf + 17, n - 17);
        if (v)
            parse_coding(x, v);
        free(v);
    }
    return n;
}

/* What xfer_deliver did with the bytes. */
enum xfer_delivery {
    XFER_TAKEN,
    XFER_PAUSED, /* not taken: the data callback paused the transfer */
    XFER_FAILED, /* x->error says why */
};

/*
 * Hands n body bytes (inflated, when the transfer inflates here) to the data callback, under
 * the size cap on the decompressed body.
 */
static enum xfer_delivery
xfer_deliver(struct fetch_xfer *x, const char *buf, size_t n)
{
    x->body_bytes += n;
    if (x->body_bytes > x->max_size) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s (%" PRIu64 " bytes)", x->size_error, x->max_size);
        free(x->error);
        x->error = strdup(msg);
        return XFER_FAILED;
    }
    if (!x->data_cb)
        return XFER_TAKEN; /* the caller wants the status only (a webhook) */
    const char *eff = NULL, *ctype = NULL;
    (void)curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff);
    (void)curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ctype);
    char *why = NULL;
    int r = x->data_cb(x->userdata, eff, ctype, buf, n, &why);
    if (r == FETCH_DATA_PAUSE && fetch_pausable(x)) {
        /* Not taken: they come again once unpaused (from curl, or fetch_inflate's piece). */
        x->body_bytes -= n;
        x->paused = true;
        clock_pause(x);
        return XFER_PAUSED;
    }
    if (r == FETCH_DATA_PAUSE) {
        /* Bytes not taken by a transfer that cannot pause: never lose them silently. */
        free(why);
        why = strdup("the data callback paused a transfer that cannot pause");
        r = -EINVAL;
    }
    if (r < 0) {
        free(x->error);
        x->error = why ? why : strdup(strerror(-r));
        return XFER_FAILED;
    }
    return XFER_TAKEN;
}

/* Ends an inflating transfer with "gzip: what" (curl's write error ends it). */
static size_t
inflate_fail(struct fetch_xfer *x, const char *what)
{
    char msg[192];
    snprintf(msg, sizeof(msg), "gzip: %s", what);
    xfer_fail(x, msg);
    return CURL_WRITEFUNC_ERROR;
}

/*
 * curl: n bytes of a gzip body (see FETCH_INFLATE_PIECE), inflated a piece at a time into
 * the data callback. When it pauses on a piece, the piece is kept and curl is told the call
 * was not taken: curl keeps the compressed bytes and hands them over again once unpaused
 * (the same bytes first: curl_easy_pause(3)), the first zskip of them inflated already; the
 * kept piece goes first, then the inflater goes on where it stopped.
 */
static size_t
fetch_inflate(struct fetch_xfer *x, char *buf, size_t n)
{
    size_t skip = x->zskip < n ? x->zskip : n;
    x->zskip -= skip;
    if (x->zout_len > 0) {
        enum xfer_delivery d = xfer_deliver(x, (const char *)x->zout, x->zout_len);
        if (d == XFER_PAUSED) {
            x->zskip += skip;
            return CURL_WRITEFUNC_PAUSE;
        }
        if (d == XFER_FAILED)
            return CURL_WRITEFUNC_ERROR;
        x->zout_len = 0;
    }
    if (x->zend) /* as curl: nothing may follow the gzip trailer */
        return skip == n ? n : inflate_fail(x, "data after the end of the compressed body");
    if (!x->zs) {
        x->zs = calloc(1, sizeof(*x->zs));
        x->zout = malloc(FETCH_INFLATE_PIECE);
        if (!x->zs || !x->zout)
            return inflate_fail(x, "out of memory");
        /* 16 + MAX_WBITS: the gzip wrapper, its header and CRC-32 trailer checked. */
        if (inflateInit2(x->zs, 16 + MAX_WBITS) != Z_OK) {
            free(x->zs);
            x->zs = NULL;
            return inflate_fail(x, "out of memory");
        }
    }
    z_stream *zs = x->zs;
    zs->next_in = (Bytef *)(buf + skip);
    zs->avail_in = (uInt)(n - skip); /* at most a read of curl's (CURLOPT_BUFFERSIZE) */
    for (;;) {
        zs->next_out = x->zout;
        zs->avail_out = FETCH_INFLATE_PIECE;
        int zr = inflate(zs, Z_NO_FLUSH);
        size_t got = FETCH_INFLATE_PIECE - zs->avail_out;
        if (zr == Z_STREAM_END)
            x->zend = true;
        else if (zr == Z_MEM_ERROR)
            return inflate_fail(x, "out of memory");
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return inflate_fail(x, zs->msg ? zs->msg : "corrupt compressed data");
        if (got > 0) {
            x->zout_len = got;
            enum xfer_delivery d = xfer_deliver(x, (const char *)x->zout, got);
            if (d == XFER_PAUSED) {
                x->zskip += n - zs->avail_in;
                return CURL_WRITEFUNC_PAUSE;
            }
            if (d == XFER_FAILED)
                return CURL_WRITEFUNC_ERROR;
            x->zout_len = 0;
        }
        if (x->zend) {
            if (zs->avail_in > 0)
                return inflate_fail(x, "data after the end of the compressed body");
            break;
        }
        /* Output room left: the input is used up and nothing is held back in zlib. */
        if (zs->avail_out > 0 || (zr == Z_BUF_ERROR && got == 0))
            break;
    }
    return n;
}

/*
 * curl: body bytes (decompressed by curl, or compressed for fetch_inflate). Enforces the size
 * cap, then hands 2xx bodies on.
 */
static size_t
on_curl_write(char *buf, size_t size, size_t nmemb, void *userdata)
{
    struct fetch_xfer *x = userdata;
    size_t n = size * nmemb;
    long code = 0;

    (void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (!x->is_file && (code < 200 || code > 299)) {
        /* an error page: counted against the cap, not parsed */
        x->body_bytes += n;
        if (x->body_bytes <= x->max_size)
            return n;
        char msg[128];
        snprintf(msg, sizeof(msg), "%s (%" PRIu64 " bytes)", x->size_error, x->max_size);
        xfer_fail(x, msg);
        return CURL_WRITEFUNC_ERROR;
    }
    if (x->coding == FETCH_CODING_GZIP)
        return fetch_inflate(x, buf, n);
    if (x->coding == FETCH_CODING_REFUSED) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Content-Encoding '%s' not supported (feeds are asked for gzip)",
                 x->coding_name);
        xfer_fail(x, msg);
        return CURL_WRITEFUNC_ERROR;
    }
    switch (xfer_deliver(x, buf, n)) {
    case XFER_TAKEN:
        return n;
    case XFER_PAUSED:
        return CURL_WRITEFUNC_PAUSE; /* curl keeps the bytes and hands them over again */
    case XFER_FAILED:
        break;
    }
    return CURL_WRITEFUNC_ERROR;
}

/* Formats a Unix time as an HTTP date (IMF-fixdate). */
static void
http_date(time_t t, char *buf, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Sets x->error to a copy of msg (the first reason wins). */
static void
xfer_fail(struct fetch_xfer *x, const char *msg)
{
    if (!x->error)
        x->error = strdup(msg);
}

/* The refusal of a non-public address, as the transfer's error or (opensocket) its note. */
static void
xfer_refuse(struct fetch_xfer *x, const char *addr, bool note)
{
    char msg[FETCH_ADDR_MAX + 64];
    snprintf(msg, sizeof(msg), "address %s is not public (allow_private_addresses)", addr);
    if (!note) {
        xfer_fail(x, msg);
    } else if (!x->refused) {
        x->refused = strdup(msg);
    }
}

/*
 * curl: open a socket for a connection to address. A hop whose address must be public and
 * that is not pinned (no proxy) is checked here, after curl's resolution, for every address
 * it tries and on every hop. Sockets are close-on-exec: hooks must not inherit them.
 */
static curl_socket_t
on_curl_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct fetch_xfer *x = clientp;
    (void)purpose;
    if (x->check_hop && !x->pin && netaddr_sockaddr_kind(&a->addr, (size_t)a->addrlen) != NULL) {
        char text[FETCH_ADDR_MAX];
        xfer_refuse(x, netaddr_format(&a->addr, (size_t)a->addrlen, text, sizeof(text)), true);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/*
 * curl: a connection is ready for the request, new or reused (a reused one opened no
 * socket): the same check on the address it is connected to.
 */
static int
on_curl_prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    struct fetch_xfer *x = clientp;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    if (x->check_hop && !x->pin && netaddr_text_kind(primary_ip) != NULL) {
        xfer_refuse(x, primary_ip, false);
        return CURL_PREREQFUNC_ABORT;
    }
    if (x->hops == 0 && !x->check_hop && !x->is_file) {
        /*
         * The configured URL, unchecked: whether its connection went to a non-public address
         * (the operator's intranet host). Through a possible proxy curl's address may be the
         * proxy's, so the address this fetcher resolved for the host decides.
         */
        const char *addr = x->f->proxy_possible ? x->addr : primary_ip;
        x->origin_private = addr && addr[0] && netaddr_text_kind(addr) != NULL;
    }
    return CURL_PREREQFUNC_OK;
}

/* Scheme, host and port (the scheme's default when none) of url; false when it has none. */
static bool
url_origin(const char *url, char **ret_scheme, char **ret_host, long *ret_port)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    bool ok = u && url && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
    curl_url_cleanup(u);
    if (ok) {
        *ret_scheme = strdup(scheme);
        *ret_host = strdup(host);
        *ret_port = strtol(port, NULL, 10);
        ok = *ret_scheme && *ret_host;
        if (!ok) {
            free(*ret_scheme);
            free(*ret_host);
            *ret_scheme = *ret_host = NULL;
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    return ok;
}

/*
 * Whether url is on origin_url's origin (scheme, host, port), or on its https upgrade (the
 * same host, http on 80 to https on 443); *ret_same_host tells whether the host is the same.
 */
bool
fetch_same_origin(const char *origin_url, const char *url, bool *ret_same_host)
{
    char *os = NULL, *oh = NULL, *us = NULL, *uh = NULL;
    long op = 0, up = 0;
    bool same_host = false, same = false;
    if (url_origin(origin_url, &os, &oh, &op) && url_origin(url, &us, &uh, &up)) {
        same_host = strcasecmp(oh, uh) == 0;
        same = same_host && ((strcasecmp(os, us) == 0 && op == up) ||
                             (strcasecmp(os, "http") == 0 && op == 80 &&
                              strcasecmp(us, "https") == 0 && up == 443));
    }
    free(os);
    free(oh);
    free(us);
    free(uh);
    if (ret_same_host)
        *ret_same_host = same_host;
    return same;
}

/*
 * NULL when a redirect from from_url to to_url may be followed, else why not: only http and
 * https, and never from https down to http.
 */
const char *
fetch_redirect_refusal(const char *from_url, const char *to_url)
{
    bool to_https = strncasecmp(to_url, "https://", 8) == 0;
    if (!to_https && strncasecmp(to_url, "http://", 7) != 0)
        return "redirect to a URL that is not http or https refused";
    if (!to_https && from_url && strncasecmp(from_url, "https://", 8) == 0)
        return "redirect from https to http refused";
    return NULL;
}

/*
 * Points x at url (the first hop, or a redirect): the request's header and credentials go
 * only to the origin (or to its https upgrade on the same host), and whether the hop's
 * address must be public (and pinned, when a proxy may be in use) follows from the network
 * policy. 0, or -ENOMEM / -EINVAL with x->error set.
 */
static int
xfer_hop(struct fetch_xfer *x, const char *url, bool first)
{
    char *scheme = NULL, *host = NULL;
    long port = 0;
    bool has_origin = url_origin(url, &scheme, &host, &port);
    bool same_origin = !x->is_file && fetch_same_origin(x->origin, url, NULL);
    /*
     * file: opens no connection (and curl calls the prereq callback without an address).
     * FETCH_NET_PUBLIC_OFF_HOST exempts the first hop when it is on the origin (the operator's
     * URL), and a later hop only when it stays on the origin (or its https upgrade) and the
     * first hop's connection went to a non-public address: a name that resolves to a public
     * and a private address cannot take a public feed's redirect inside.
     */
    bool exempt =
        x->net == FETCH_NET_PUBLIC_OFF_HOST && same_origin && (first || x->origin_private);
    x->check_hop = !x->is_file && x->net != FETCH_NET_ANY && !exempt;
    x->pin = x->check_hop && x->f->proxy_possible;
    snprintf(x->hop_host, sizeof(x->hop_host), "%s", host ? host : "");
    x->hop_port = port;
    free(x->refused); /* a refusal of the hop before says nothing of this one */
    x->refused = NULL;
    free(scheme);
    free(host);
    if (x->pin && (!has_origin || strlen(x->hop_host) >= FETCH_HOST_MAX - 1)) {
        xfer_fail(x, "cannot pin a URL without a host");
        return -EINVAL;
    }
    CURL *e = x->easy;
    bool ok = true;
    if (!first)
        ok = curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK;
    if (!x->is_file && (x->headers || x->headers_public))
        ok = ok && curl_easy_setopt(e, CURLOPT_HTTPHEADER,
                                    same_origin ? x->headers : x->headers_public) == CURLE_OK;
    if (x->user) {
        ok = ok && curl_easy_setopt(e, CURLOPT_USERNAME, same_origin ? x->user : NULL) == CURLE_OK;
        ok = ok &&
             curl_easy_setopt(e, CURLOPT_PASSWORD, same_origin ? x->password : NULL) == CURLE_OK;
    }
    /* A pin is set when the hop goes into curl (xfer_pin); none is left from a hop before. */
    ok = ok && curl_easy_setopt(e, CURLOPT_CONNECT_TO, NULL) == CURLE_OK;
    curl_slist_free_all(x->connect_to);
    x->connect_to = NULL;
    if (!ok) {
        xfer_fail(x, "curl refused a security option of the transfer");
        return -EINVAL;
    }
    return 0;
}

/*
 * A pinned hop goes to the address resolved for it (x->addr), checked here: curl and the
 * proxy connect to that address, never to what the name resolves to later. 0, or a negative
 * errno with x->error set.
 */
static int
xfer_pin(struct fetch_xfer *x)
{
    if (!x->addr[0]) {
        char msg[FETCH_HOST_MAX + 32];
        snprintf(msg, sizeof(msg), "cannot resolve %s", x->hop_host);
        xfer_fail(x, msg);
        return -EHOSTUNREACH;
    }
    if (netaddr_text_kind(x->addr) != NULL) {
        xfer_refuse(x, x->addr, false);
        return -EACCES;
    }
    char line[2 * FETCH_HOST_MAX + 64];
    bool v6 = strchr(x->addr, ':') != NULL;
    snprintf(line, sizeof(line), "%s:%ld:%s%s%s:%ld", x->hop_host, x->hop_port, v6 ? "[" : "",
             x->addr, v6 ? "]" : "", x->hop_port);
    x->connect_to = curl_slist_append(NULL, line);
    if (!x->connect_to ||
        curl_easy_setopt(x->easy, CURLOPT_CONNECT_TO, x->connect_to) != CURLE_OK ||
        curl_easy_setopt(x->easy, CURLOPT_HTTPPROXYTUNNEL, 1L) != CURLE_OK) {
        xfer_fail(x, "cannot pin the transfer's address");
        return -ENOMEM;
    }
    return 0;
}

/* ---- time: fetch_timeout counts the time a transfer is not paused (fetch.h) ---- */

/* Stops x's clock: its data callback paused it. */
static void
clock_pause(struct fetch_xfer *x)
{
    if (x->clock_paused || !x->started)
        return;
    x->clock_paused = true;
    x->paused_since_ms = uv_now(x->f->loop);
}

/* Starts x's clock again: the pause is lifted. */
static void
clock_resume(struct fetch_xfer *x)
{
    if (!x->clock_paused)
        return;
    uint64_t now = uv_now(x->f->loop);
    x->clock_paused = false;
    x->paused_ms += now > x->paused_since_ms ? now - x->paused_since_ms : 0;
}

/* The time x has spent paused by its data callback, up to now. */
static uint64_t
clock_paused_total(const struct fetch_xfer *x, uint64_t now)
{
    uint64_t n = x->paused_ms;
    if (x->clock_paused && now > x->paused_since_ms)
        n += now - x->paused_since_ms;
    return n;
}

/*
 * When x's time is up (uv_now milliseconds): fetch_timeout of time not paused, or the wall
 * cap, paused or not; UINT64_MAX before it went into curl.
 */
static uint64_t
xfer_deadline(const struct fetch_xfer *x)
{
    if (!x->started)
        return UINT64_MAX;
    uint64_t wall = x->started_ms + x->wall_ms;
    if (x->clock_paused)
        return wall;
    uint64_t run = x->started_ms + x->paused_ms + x->timeout_ms;
    return run < wall ? run : wall;
}

/*
 * Milliseconds as seconds for a message: a setting as it was given ("20 s", "1.5 s"), a
 * measured time to a tenth under 10 s ("1.0 s") and to the second above ("12 s").
 */
static const char *
secs_text(uint64_t ms, bool setting, char *buf, size_t n)
{
    if ((setting && ms % 1000 == 0) || ms >= 10000)
        snprintf(buf, n, "%" PRIu64 " s", (ms + 500) / 1000);
    else
        snprintf(buf, n, "%.1f s", (double)ms / 1000.0);
    return buf;
}

/* Sets why x's time is up (xfer_deadline passed at now). */
static void
xfer_time_up(struct fetch_xfer *x, uint64_t now)
{
    char msg[192], a[32], b[32];
    uint64_t paused = clock_paused_total(x, now), wall = now - x->started_ms;
    if (wall >= x->wall_ms)
        snprintf(msg, sizeof(msg),
                 "timed out after %s in all (at most %d times fetch_timeout), %s of it "
                 "paused for max_poll_memory",
                 secs_text(wall, false, a, sizeof(a)), FETCH_WALL_FACTOR,
                 secs_text(paused, false, b, sizeof(b)));
    else if (paused > 0)
        snprintf(
            msg, sizeof(msg), "timed out after %s (not counting %s paused for max_poll_memory)",
            secs_text(x->timeout_ms, true, a, sizeof(a)), secs_text(paused, false, b, sizeof(b)));
    else
        snprintf(msg, sizeof(msg), "timed out after %s",
                 secs_text(x->timeout_ms, true, a, sizeof(a)));
    xfer_fail(x, msg);
}

static void on_uv_deadline(uv_timer_t *t);

/* Arms the deadline timer for the earliest xfer_deadline of the transfers (or stops it). */
static void
deadline_arm(struct fetcher *f)
{
    if (f->closing)
        return;
    uint64_t next = UINT64_MAX;
    for (int list = 0; list < 2; list++) {
        for (const struct fetch_xfer *x = list ? f->queue_head : f->active_head; x; x = x->next) {
            uint64_t d = xfer_deadline(x);
            if (d < next)
                next = d;
        }
    }
    if (next == UINT64_MAX) {
        (void)uv_timer_stop(&f->deadline);
        return;
    }
    uint64_t now = uv_now(f->loop);
    (void)uv_timer_start(&f->deadline, on_uv_deadline, next > now ? next - now : 0, 0);
}

/*
 * libuv: a transfer's time may be up. Each one past its deadline ends here (timed out); the
 * done callbacks may start or cancel others, so the lists are walked again after each.
 */
static void
on_uv_deadline(uv_timer_t *t)
{
    struct fetcher *f = t->data;
    for (;;) {
        uint64_t now = uv_now(f->loop);
        struct fetch_xfer *late = NULL;
        bool queued = false;
        for (struct fetch_xfer *x = f->active_head; x && !late; x = x->next)
            if (xfer_deadline(x) <= now)
                late = x;
        for (struct fetch_xfer *x = f->queue_head; x && !late; x = x->next)
            if (xfer_deadline(x) <= now) {
                late = x;
                queued = true;
            }
        if (!late || f->closing)
            break;
        xfer_time_up(late, now);
        if (queued) {
            (void)queue_unlink(f, late);
            late->next = NULL;
        }
        fetch_finish(late, CURLE_OPERATION_TIMEDOUT);
    }
    deadline_arm(f);
}

/*
 * Unpauses the transfers fetch_resume() asked for, then starts queued ones. curl hands a
 * resumed transfer the bytes it kept from inside curl_easy_pause, so this runs from the loop,
 * never from a callback of curl.
 */
static void
on_uv_kick(uv_timer_t *t)
{
    struct fetcher *f = t->data;
    struct fetch_xfer *next;
    bool resumed = false;
    for (struct fetch_xfer *x = f->active_head; x; x = next) {
        next = x->next;
        if (!x->resume)
            continue;
        x->resume = false;
        resumed = true;
        /* Before the call: the data callback may pause it again from inside. */
        clock_resume(x);
        (void)curl_easy_pause(x->easy, CURLPAUSE_CONT);
    }
    if (resumed)
        deadline_arm(f); /* a running clock may end sooner than the wall cap */
    fetch_dequeue(f);
}

/* Has the loop run fetch_dequeue soon (never from inside fetch_start: no done callback there). */
static void
fetch_kick(struct fetcher *f)
{
    if (!f->closing)
        (void)uv_timer_start(&f->kick, on_uv_kick, 0, 0);
}

/* Puts x at the head of the wait queue (a redirect hop waiting for its address). */
static void
queue_push_front(struct fetcher *f, struct fetch_xfer *x)
{
    x->next = f->queue_head;
    x->prev = NULL;
    f->queue_head = x;
    if (!f->queue_tail)
        f->queue_tail = x;
    f->queued++;
}

static void xfer_address(struct fetcher *f, struct fetch_xfer *x, const char *url);

/*
 * A transfer curl finished: when its response is a redirect to follow, the next hop starts
 * (true). False when the transfer ends here, x->error set when the redirect was refused.
 */
static bool
xfer_redirect(struct fetch_xfer *x)
{
    struct fetcher *f = x->f;
    long code = 0;
    char *loc = NULL, *cur = NULL;
    if (!x->follow || x->is_file ||
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
        (code != 301 && code != 302 && code != 303 && code != 307 && code != 308) ||
        curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc)
        return false;
    char msg[256];
    if (++x->hops > FETCH_MAX_REDIRS) {
        snprintf(msg, sizeof(msg), "more than %ld redirects", FETCH_MAX_REDIRS);
        xfer_fail(x, msg);
        return false;
    }
    (void)curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &cur);
    const char *why = fetch_redirect_refusal(cur, loc);
    if (why) {
        xfer_fail(x, why);
        return false;
    }
    char *next = strdup(loc);
    if (!next) {
        xfer_fail(x, "out of memory");
        return false;
    }
    (void)curl_multi_remove_handle(f->multi, x->easy);
    x->in_multi = false;
    if (xfer_hop(x, next, false) < 0) {
        free(next);
        return false;
    }
    if (x->pin) {
        /* The hop waits for its own address at the head of the queue. */
        active_unlink(f, x);
        x->in_list = false;
        f->active--;
        addr_release(f, x);
        x->addr[0] = x->host[0] = '\0';
        xfer_address(f, x, next);
        free(next);
        queue_push_front(f, x);
        fetch_kick(f);
        return true;
    }
    free(next);
    CURLMcode mc = curl_multi_add_handle(f->multi, x->easy);
    if (mc != CURLM_OK) {
        snprintf(msg, sizeof(msg), "curl: %s", curl_multi_strerror(mc));
        xfer_fail(x, msg);
        return false;
    }
    x->in_multi = true;
    return true;
}

/* Adds a transfer to curl and to the active list; negative errno when curl refuses it. */
static int
xfer_activate(struct fetch_xfer *x)
{
    struct fetcher *f = x->f;
    if (x->pin) {
        int r = xfer_pin(x);
        if (r < 0)
            return r;
    }
    CURLMcode mc = curl_multi_add_handle(f->multi, x->easy);
    if (mc != CURLM_OK) {
        snprintf(x->errbuf, sizeof(x->errbuf), "curl: %s", curl_multi_strerror(mc));
        return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
    }
    x->in_multi = true;
    x->in_list = true;
    addr_take(f, x);
    x->next = f->active_head;
    x->prev = NULL;
    if (f->active_head)
        f->active_head->prev = x;
    f->active_head = x;
    f->active++;
    if (!x->started) {
        /* Its clock starts now; time waiting in the queue for a slot is not its own. */
        x->started = true;
        x->started_ms = uv_now(f->loop);
        deadline_arm(f);
    }
    return 0;
}

/*
 * Moves queued transfers into curl while there is room, oldest first, passing over those
 * whose host is being resolved or whose address is at max_per_host.
 */
static void
fetch_dequeue(struct fetcher *f)
{
    struct fetch_xfer *prev = NULL, *x = f->queue_head;
    while (!f->closing && x && f->active < f->limit) {
        if (x->host[0] || addr_full(f, x)) {
            prev = x;
            x = x->next;
            continue;
        }
        struct fetch_xfer *next = x->next;
        queue_remove(f, prev, x);
        if (xfer_activate(x) < 0) {
            fetch_finish(x, CURLE_FAILED_INIT);
            /* its owner may have cancelled others: start over from the head */
            prev = NULL;
            x = f->queue_head;
            continue;
        }
        x = next;
    }
}

static void
xfer_free(struct fetch_xfer *x)
{
    if (!x)
        return;
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    curl_slist_free_all(x->headers_public);
    curl_slist_free_all(x->connect_to);
    free(x->user);
    if (x->password) {
        explicit_bzero(x->password, strlen(x->password));
        free(x->password);
    }
    free(x->origin);
    free(x->refused);
    free(x->error);
    free(x->etag);
    free(x->last_modified);
    if (x->zs) {
        (void)inflateEnd(x->zs);
        free(x->zs);
    }
    free(x->zout);
    free(x);
}

/*
 * The one completion path: builds the result, calls the owner's done callback exactly once,
 * frees the transfer and lets the next queued one in.
 */
static void
fetch_finish(struct fetch_xfer *x, CURLcode code)
{
    struct fetcher *f = x->f;
    struct fetch_result res = {0};
    char msg[CURL_ERROR_SIZE + 64];
    char lm[64];

    if (x->in_multi) {
        (void)curl_multi_remove_handle(f->multi, x->easy);
        x->in_multi = false;
    }
    if (x->in_list) {
        active_unlink(f, x);
        x->in_list = false;
        f->active--;
    }
    if (x->counted)
        addr_note_version(f, x);
    addr_release(f, x);

    (void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res.http_status);
    (void)curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &res.effective_url);
    res.body_bytes = x->body_bytes;
    res.etag = x->etag;
    res.last_modified = x->last_modified;
    if (x->redirects > 0 && x->all_permanent)
        res.permanent_url = res.effective_url;
    res.retry_after_at = x->retry_after_at;
    /* RFC 9111 5.3: max-age wins over Expires. */
    if (!x->no_cache)
        res.fresh_until_at = x->max_age_at ? x->max_age_at : x->expires_at;

    if (code == CURLE_ABORTED_BY_CALLBACK && !x->error) {
        res.status = FETCH_ABORTED;
        res.error = "aborted";
    } else if (x->error) {
        res.status = FETCH_ERROR;
        res.error = x->error;
    } else if (code != CURLE_OK) {
        res.status = FETCH_ERROR;
        if (code == CURLE_FILESIZE_EXCEEDED) {
            snprintf(msg, sizeof(msg), "%s (%" PRIu64 " bytes)", x->size_error, x->max_size);
        } else if (code == CURLE_COULDNT_CONNECT && x->refused) {
            snprintf(msg, sizeof(msg), "%s", x->refused);
        } else {
            snprintf(msg, sizeof(msg), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(code));
        }
        res.error = msg;
        if (!x->is_file && res.http_status >= 400)
            res.status = FETCH_HTTP_ERROR;
    } else if (x->is_file) {
        long unmet = 0;
        (void)curl_easy_getinfo(x->easy, CURLINFO_CONDITION_UNMET, &unmet);
        curl_off_t ft = -1;
        (void)curl_easy_getinfo(x->easy, CURLINFO_FILETIME_T, &ft);
        if (ft >= 0) {
            http_date((time_t)ft, lm, sizeof(lm));
            res.last_modified = lm;
        }
        res.status = unmet ? FETCH_NOT_MODIFIED : FETCH_OK;
        res.http_status = 0;
    } else if (res.http_status == 304) {
        res.status = FETCH_NOT_MODIFIED;
    } else if (res.http_status >= 200 && res.http_status <= 299) {
        res.status = FETCH_OK;
    } else {
        res.status = FETCH_HTTP_ERROR;
        snprintf(msg, sizeof(msg), "HTTP %ld", res.http_status);
        res.error = msg;
    }
    if (res.status == FETCH_HTTP_ERROR && res.error != msg) {
        snprintf(msg, sizeof(msg), "HTTP %ld", res.http_status);
        res.error = msg;
    }

    x->done_cb(x->userdata, &res);
    xfer_free(x);
    fetch_dequeue(f);
    deadline_arm(f); /* no timer left armed for a transfer that is gone */
}

/* Drains curl's finished transfers; called after every curl_multi_socket_action. */
static void
check_multi_info(struct fetcher *f)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(f->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct fetch_xfer *x = NULL;
        (void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode code = m->data.result;
        assert(x);
        if (code == CURLE_OK && !x->error && xfer_redirect(x))
            continue;
        fetch_finish(x, code);
    }
}

/* Copies settings and derives the in-flight limit. */
static int
apply_settings(struct fetcher *f, const struct fetch_settings *s)
{
    char *ua = xstrdup(s->user_agent);
    char *proxy = xstrdup(s->proxy);
    if ((s->user_agent && !ua) || (s->proxy && !proxy)) {
        free(ua);
        free(proxy);
        return -ENOMEM;
    }
    free(f->user_agent);
    free(f->proxy);
    f->user_agent = ua;
    f->proxy = proxy;
    f->settings = *s;
    f->settings.user_agent = f->user_agent;
    f->settings.proxy = f->proxy;
    /* curl reads these when no proxy is set (it ignores HTTP_PROXY in capitals). */
    static const char *const proxy_vars[] = {"http_proxy", "https_proxy", "HTTPS_PROXY",
                                             "all_proxy",  "ALL_PROXY",   NULL};
    f->proxy_possible = s->proxy && *s->proxy;
    for (size_t i = 0; proxy_vars[i] && !f->proxy_possible; i++) {
        const char *v = getenv(proxy_vars[i]);
        f->proxy_possible = v && *v;
    }
    /*
     * curl enforces both connection limits itself and keeps excess transfers pending; we hand
     * it a bounded multiple of the total so that per-host waits do not starve other hosts, and
     * keep the rest in our queue (a queued transfer costs a few hundred bytes, no parser).
     */
    f->limit = s->max_connections * 4u;
    if (f->limit < 4)
        f->limit = 4;
    (void)curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)s->max_connections);
    (void)curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->max_per_host);
    (void)curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)s->max_connections);
    return 0;
}

/* Creates a fetcher on loop; NULL with *reterr_msg on failure. */
struct fetcher *
fetch_new(uv_loop_t *loop, const struct fetch_settings *settings, char **reterr_msg)
{
    /*
     * The libcurl loaded at run time must take the options the allow-list and the address
     * policy rest on (a library older than the headers we were built with would not).
     */
    CURL *e = curl_easy_init();
    bool probe_ok = e && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file") == 0 &&
                    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == 0 &&
                    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_curl_prereq) == 0 &&
                    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_curl_opensocket) == 0 &&
                    curl_easy_setopt(e, CURLOPT_CONNECT_TO, NULL) == 0;
    curl_easy_cleanup(e);
    if (!probe_ok) {
        if (reterr_msg && asprintf(reterr_msg,
                                   "libcurl %s lacks the protocol allow-list or the address "
                                   "checks feedwatch needs (7.85 or newer)",
                                   curl_version_info(CURLVERSION_NOW)->version) < 0)
            *reterr_msg = NULL;
        return NULL;
    }
    struct fetcher *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->loop = loop;
    f->multi = curl_multi_init();
    if (!f->multi) {
        free(f);
        if (reterr_msg)
            *reterr_msg = strdup("curl_multi_init failed");
        return NULL;
    }
    if (uv_timer_init(loop, &f->timer) < 0) {
        curl_multi_cleanup(f->multi);
        free(f);
        return NULL;
    }
    f->timer.data = f;
    f->pending_closes = 1; /* the timer */
    if (uv_timer_init(loop, &f->kick) < 0) {
        f->closing = true;
        uv_close((uv_handle_t *)&f->timer, on_timer_closed);
        curl_multi_cleanup(f->multi);
        f->multi = NULL;
        return NULL;
    }
    f->kick.data = f;
    f->pending_closes++;
    if (uv_timer_init(loop, &f->deadline) < 0) {
        f->closing = true;
        uv_close((uv_handle_t *)&f->timer, on_timer_closed);
        uv_close((uv_handle_t *)&f->kick, on_timer_closed);
        curl_multi_cleanup(f->multi);
        f->multi = NULL;
        return NULL;
    }
    f->deadline.data = f;
    f->pending_closes++;
    /*
     * One share handle for every transfer: the loop thread is the only user, so no lock
     * callbacks are needed. Sharing connections keeps keep-alive connections to a host across
     * transfers (and within max_per_host, which the multi handle enforces).
     */
    f->share = curl_share_init();
    if (f->share) {
        (void)curl_share_setopt(f->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        (void)curl_share_setopt(f->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
        (void)curl_share_setopt(f->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    }
    (void)curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    (void)curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
    (void)curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    (void)curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
    (void)curl_multi_setopt(f->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    if (apply_settings(f, settings) < 0) {
        fetch_close(f);
        return NULL;
    }
    return f;
}

/* Applies new settings (after a reload) to transfers started from now on. */
int
fetch_configure(struct fetcher *f, const struct fetch_settings *settings)
{
    int r = apply_settings(f, settings);
    if (r == 0)
        fetch_dequeue(f);
    return r;
}

/* Sets the options every transfer shares. */
static int
xfer_setup(struct fetch_xfer *x, const struct fetch_req *req)
{
    struct fetcher *f = x->f;
    CURL *e = x->easy;
    uint64_t timeout = f->settings.timeout_ms ? f->settings.timeout_ms : 60000;
    uint64_t connect = timeout < FETCH_CONNECT_TIMEOUT_MS ? timeout : FETCH_CONNECT_TIMEOUT_MS;
    long low_speed = (long)(timeout / 1000) < FETCH_LOW_SPEED_TIME_S ? (long)(timeout / 1000)
                                                                     : FETCH_LOW_SPEED_TIME_S;
    if (low_speed < 1)
        low_speed = 1;

    if (curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK)
        return -EINVAL;
    /*
     * Every option that bounds or protects a transfer must take: one curl refuses ends the
     * transfer (a libcurl built without a feature must not silently drop an allow-list).
     */
    bool ok = true;
#define SETOPT(opt, val) (ok = ok && curl_easy_setopt(e, opt, val) == CURLE_OK)
    (void)curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    if (f->share)
        SETOPT(CURLOPT_SHARE, f->share);
    SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PROTOCOLS_STR, req->http_only ? "http,https" : "http,https,file");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L); /* followed here, hop by hop (xfer_redirect) */
    SETOPT(CURLOPT_OPENSOCKETFUNCTION, on_curl_opensocket);
    SETOPT(CURLOPT_OPENSOCKETDATA, x);
    SETOPT(CURLOPT_PREREQFUNCTION, on_curl_prereq);
    SETOPT(CURLOPT_PREREQDATA, x);
    /* A pausable transfer's body is inflated here (FETCH_INFLATE_PIECE); others by curl. */
    x->inflate_here = x->pausable;
    SETOPT(CURLOPT_ACCEPT_ENCODING, x->inflate_here ? "gzip" : "");
    if (x->inflate_here)
        SETOPT(CURLOPT_HTTP_CONTENT_DECODING, 0L);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
    /*
     * No CURLOPT_TIMEOUT_MS: curl would count the time the transfer is paused (and start
     * again on each redirect hop); the deadline timer counts fetch_timeout instead.
     * libcurl 7.88's low-speed check skips a paused transfer (speedcheck.c, KEEP_RECV_PAUSE)
     * and curl_easy_pause(CONTINUE) resets its clock, so a pause is never "too slow" either.
     */
    x->timeout_ms = timeout;
    x->wall_ms = FETCH_WALL_FACTOR * timeout;
    SETOPT(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SETOPT(CURLOPT_LOW_SPEED_TIME, low_speed);
    /*
     * curl's cap is on the bytes on the wire. Inflated here, a body within max_size (counted
     * as it is inflated) may take a little more compressed: gzip's header, trailer and
     * stored blocks add ~0.01 %.
     */
    uint64_t wire_max = req->max_size;
    if (x->inflate_here && wire_max < (UINT64_MAX >> 2))
        wire_max += wire_max / 1024 + 1024;
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)wire_max);
    if (req->pausable)
        SETOPT(CURLOPT_BUFFERSIZE, (long)FETCH_PAUSE_READ);
    SETOPT(CURLOPT_WRITEFUNCTION, on_curl_write);
    SETOPT(CURLOPT_WRITEDATA, x);
    SETOPT(CURLOPT_HEADERFUNCTION, on_curl_header);
    SETOPT(CURLOPT_HEADERDATA, x);
    if (f->settings.user_agent)
        SETOPT(CURLOPT_USERAGENT, f->settings.user_agent);
    if (f->settings.proxy)
        SETOPT(CURLOPT_PROXY, f->settings.proxy);
    if (!ok)
        return -EINVAL;

    if (x->is_file) {
        /* file: has no validators; its modification time stands in for Last-Modified. */
        SETOPT(CURLOPT_FILETIME, 1L);
        int64_t at;
        if (req->last_modified && date_parse_http(req->last_modified, &at) == 0) {
            SETOPT(CURLOPT_TIMECONDITION, (long)CURL_TIMECOND_IFMODSINCE);
            SETOPT(CURLOPT_TIMEVALUE_LARGE, (curl_off_t)at);
        }
        return ok ? 0 : -EINVAL;
    }

    /* Two lists: every header, and the same without the request's own (other origins). */
    char line[FETCH_MAX_HEADER + 32];
    struct curl_slist *lists[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        struct curl_slist *h = NULL, *t;
        if (req->etag && strlen(req->etag) <= FETCH_MAX_HEADER) {
            snprintf(line, sizeof(line), "If-None-Match: %s", req->etag);
            if (!(t = curl_slist_append(h, line)))
                goto oom;
            h = t;
        }
        if (req->last_modified && strlen(req->last_modified) <= FETCH_MAX_HEADER) {
            snprintf(line, sizeof(line), "If-Modified-Since: %s", req->last_modified);
            if (!(t = curl_slist_append(h, line)))
                goto oom;
            h = t;
        }
        if (req->header && k == 0) {
            if (!(t = curl_slist_append(h, req->header)))
                goto oom;
            h = t;
        }
        for (size_t i = 0; req->post_headers && req->post_headers[i]; i++) {
            if (!(t = curl_slist_append(h, req->post_headers[i])))
                goto oom;
            h = t;
        }
        lists[k] = h;
        continue;
    oom:
        curl_slist_free_all(h);
        curl_slist_free_all(lists[0]);
        return -ENOMEM;
    }
    x->headers = lists[0];
    x->headers_public = lists[1];
    if (req->post_body) {
        /* curl copies the body: the caller's buffer may go once fetch_start returns. */
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->post_len);
        SETOPT(CURLOPT_COPYPOSTFIELDS, req->post_body);
    }
    x->follow = !req->post_body;
    if (req->user) {
        x->user = strdup(req->user);
        x->password = strdup(req->password ? req->password : "");
        if (!x->user || !x->password)
            return -ENOMEM;
        SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    }
#undef SETOPT
    return ok ? 0 : -EINVAL;
}

/* Starts (or queues) a transfer. NULL on OOM or a bad URL (done_cb is then not called). */
struct fetch_xfer *
fetch_start(struct fetcher *f, const struct fetch_req *req, fetch_data_cb data_cb,
            fetch_done_cb done_cb, void *userdata)
{
    assert(!f->closing);
    struct fetch_xfer *x = calloc(1, sizeof(*x));
    if (!x) {
        errno = ENOMEM;
        return NULL;
    }
    x->f = f;
    x->data_cb = data_cb;
    x->done_cb = done_cb;
    x->userdata = userdata;
    x->max_size = req->max_size;
    x->size_error = req->size_name ? req->size_name : "feed exceeds max_feed_size";
    x->net = req->net;
    x->all_permanent = true;
    x->is_file = strncasecmp(req->url, "file:", 5) == 0;
    x->pausable = req->pausable && !x->is_file;
    x->easy = curl_easy_init();
    x->origin = strdup(req->origin ? req->origin : req->url);
    int r = !x->easy || !x->origin ? -ENOMEM : xfer_setup(x, req);
    if (r == 0)
        r = xfer_hop(x, req->url, true);
    if (r < 0) {
        xfer_free(x);
        errno = -r;
        return NULL;
    }
    if (!x->is_file)
        xfer_address(f, x, req->url);
    /*
     * Never calls done_cb from here: a transfer curl refuses is simply not started, and a
     * pinned one (whose address may be refused) waits in the queue for the loop's next turn.
     */
    if (!f->queue_head && f->active < f->limit && !x->host[0] && !addr_full(f, x) && !x->pin) {
        r = xfer_activate(x);
        if (r < 0) {
            xfer_free(x);
            errno = -r;
            return NULL;
        }
        return x;
    }
    if (f->queue_tail)
        f->queue_tail->next = x;
    else
        f->queue_head = x;
    f->queue_tail = x;
    f->queued++;
    if (x->pin)
        fetch_kick(f);
    return x;
}

/* Ends a transfer now; its done callback runs (FETCH_ABORTED) before this returns. */
void
fetch_cancel(struct fetch_xfer *x)
{
    struct fetcher *f = x->f;
    if (queue_unlink(f, x)) {
        x->next = NULL;
        fetch_finish(x, CURLE_ABORTED_BY_CALLBACK);
        return;
    }
    fetch_finish(x, CURLE_ABORTED_BY_CALLBACK);
}

/*
 * Whether the transfer may be paused now (FETCH_DATA_PAUSE): asked for, not a file: URL, and
 * HTTP/1: libcurl pauses a multiplexed (HTTP/2 or 3) stream by holding data the connection's
 * other streams may wait behind, so those go on and are only accounted.
 */
bool
fetch_pausable(const struct fetch_xfer *x)
{
    long version = 0;
    curl_off_t length = -1, got = 0;
    if (!x->pausable)
        return false;
    (void)curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &version);
    if (version != CURL_HTTP_VERSION_1_0 && version != CURL_HTTP_VERSION_1_1)
        return false;
    /*
     * curl counts the bytes of a read before it hands them over (transfer.c), so when the
     * count reaches Content-Length, the rest of the body is in this read: curl holds it
     * whole, and a pause would free nothing.
     */
    (void)curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    (void)curl_easy_getinfo(x->easy, CURLINFO_SIZE_DOWNLOAD_T, &got);
    if (!fetch_body_whole(length, got))
        return true;
    /*
     * A gzip body is inflated here as it is taken (fetch_inflate): curl holds its compressed
     * rest, and a pause keeps the inflated rest from being made. A small one goes on as a
     * whole plain body does; past FETCH_WHOLE_INFLATE bytes (4 KB on the wire may be 4 MB
     * inflated) it waits like any other.
     */
    return x->coding == FETCH_CODING_GZIP && x->body_bytes > FETCH_WHOLE_INFLATE;
}

/* Whether got bytes of a body of length (-1: not known) are all of it. */
bool
fetch_body_whole(int64_t length, int64_t got)
{
    return length >= 0 && got >= length;
}

/* Resumes a transfer its data callback paused; it goes on from the loop, soon. */
void
fetch_resume(struct fetch_xfer *x)
{
    if (!x->paused)
        return;
    x->paused = false;
    x->resume = true;
    fetch_kick(x->f);
}

/* Transfers running in curl plus queued ones. */
unsigned
fetch_in_flight(const struct fetcher *f)
{
    return f->active + f->queued;
}

static void
on_timer_closed(uv_handle_t *h)
{
    struct fetcher *f = h->data;
    f->pending_closes--;
    fetcher_maybe_free(f);
}

/*
 * Aborts every transfer, cleans up the multi handle and starts closing the libuv handles;
 * the struct is freed from the last close callback.
 */
void
fetch_close(struct fetcher *f)
{
    if (!f)
        return;
    f->closing = true;
    /* A lookup not started yet is dropped; one running ends on its own (on_resolved). */
    for (struct fetch_resolve *r = f->resolves; r; r = r->next)
        (void)uv_cancel((uv_req_t *)&r->req);
    while (f->queue_head)
        fetch_cancel(f->queue_head);
    while (f->active_head)
        fetch_cancel(f->active_head);
    /* Removing the handles made curl report CURL_POLL_REMOVE for their sockets already. */
    curl_multi_cleanup(f->multi);
    f->multi = NULL;
    /* Every easy handle that used the share is cleaned up by now. */
    if (f->share)
        (void)curl_share_cleanup(f->share);
    f->share = NULL;
    free(f->user_agent);
    free(f->proxy);
    f->user_agent = f->proxy = NULL;
    (void)uv_timer_stop(&f->timer);
    uv_close((uv_handle_t *)&f->timer, on_timer_closed);
    (void)uv_timer_stop(&f->kick);
    uv_close((uv_handle_t *)&f->kick, on_timer_closed);
    (void)uv_timer_stop(&f->deadline);
    uv_close((uv_handle_t *)&f->deadline, on_timer_closed);
}
