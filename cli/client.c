#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (64u * 1024u)

struct client {
    int fd;
    char *buf; /* bytes read and not yet handed out as a line */
    size_t len;
    size_t cap;
};

/* Sets *reterr_msg to a copy of msg (left NULL when even that fails) and returns r. */
static int
fail(int r, const char *msg, char **reterr_msg)
{
    if (reterr_msg)
        *reterr_msg = strdup(msg);
    return r;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Milliseconds left before deadline for poll(2): -1 for no deadline, 0 when it has passed. */
static int
remaining_ms(uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        return -1;
    uint64_t now = now_ms();
    if (now >= deadline)
        return 0;
    uint64_t left = deadline - now;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

static uint64_t
deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
}

static int
timeout_error(int timeout_ms, char **reterr_msg)
{
    char msg[64];
    (void)snprintf(msg, sizeof(msg), "no answer within %d s", timeout_ms / 1000);
    return fail(-ETIMEDOUT, msg, reterr_msg);
}

/* Waits until fd is ready for events or the deadline passes: 0, -ETIMEDOUT or -errno. */
static int
wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = events};
        int left = remaining_ms(deadline);
        if (left == 0)
            return -ETIMEDOUT;
        int n = poll(&pfd, 1, left);
        if (n > 0)
            return 0;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

int
client_connect(const char *path, int timeout_ms, struct client **ret_client, char **reterr_msg)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct client *c;
    size_t len = strlen(path);
    int fd, r;

    if (len == 0)
        return fail(-EINVAL, "empty socket path", reterr_msg);
    if (len >= sizeof(sa.sun_path))
        return fail(-ENAMETOOLONG, strerror(ENAMETOOLONG), reterr_msg);
    memcpy(sa.sun_path, path, len + 1);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        return fail(r, strerror(-r), reterr_msg);
    }
    /*
     * A blocking connect to a Unix socket waits while the listener's backlog is full; on
     * Linux SO_SNDTIMEO bounds that wait, and it ends with EAGAIN.
     */
    if (timeout_ms >= 0) {
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    do {
        r = connect(fd, (const struct sockaddr *)&sa, sizeof(sa));
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        r = -errno;
        (void)close(fd);
        if (r == -EAGAIN)
            return timeout_error(timeout_ms, reterr_msg);
        return fail(r, strerror(-r), reterr_msg);
    }
    struct timeval none = {0};
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        r = -errno;
        (void)close(fd);
        return fail(r, strerror(-r), reterr_msg);
    }

    c = calloc(1, sizeof(*c));
    if (!c) {
        (void)close(fd);
        return fail(-ENOMEM, strerror(ENOMEM), reterr_msg);
    }
    c->fd = fd;
    *ret_client = c;
    return 0;
}

/* Writes all of buf before the deadline. */
static int
write_all(struct client *c, const char *buf, size_t len, uint64_t deadline, int timeout_ms,
          char **reterr_msg)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(c->fd, POLLOUT, deadline);
            if (r == -ETIMEDOUT)
                return timeout_error(timeout_ms, reterr_msg);
            if (r < 0)
                return fail(r, strerror(-r), reterr_msg);
            continue;
        }
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return fail(-ECONNRESET, "connection closed before an answer", reterr_msg);
        int r = n < 0 ? -errno : -EIO;
        return fail(r, strerror(-r), reterr_msg);
    }
    return 0;
}

/*
 * Reads until the buffer holds a newline; *ret_end is its offset. The line may be at most
 * CLIENT_MAX_RESPONSE bytes; the buffer never grows past that plus one read.
 */
static int
read_line(struct client *c, uint64_t deadline, int timeout_ms, size_t *ret_end, char **reterr_msg)
{
    size_t scanned = 0;

    for (;;) {
        char *nl = c->len > scanned ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
        if (nl && (size_t)(nl - c->buf) > CLIENT_MAX_RESPONSE)
            return fail(-EMSGSIZE, "response longer than 64 MiB", reterr_msg);
        if (nl) {
            *ret_end = (size_t)(nl - c->buf);
            return 0;
        }
        scanned = c->len;
        if (c->len > CLIENT_MAX_RESPONSE)
            return fail(-EMSGSIZE, "response longer than 64 MiB", reterr_msg);

        if (c->cap - c->len < READ_CHUNK) {
            size_t cap = c->cap ? c->cap * 2 : 2 * READ_CHUNK;
            if (cap > CLIENT_MAX_RESPONSE + 2 * READ_CHUNK)
                cap = CLIENT_MAX_RESPONSE + 2 * READ_CHUNK;
            char *p = realloc(c->buf, cap);
            if (!p)
                return fail(-ENOMEM, strerror(ENOMEM), reterr_msg);
            c->buf = p;
            c->cap = cap;
        }

        ssize_t n = read(c->fd, c->buf + c->len, READ_CHUNK);
        if (n > 0) {
            c->len += (size_t)n;
            continue;
        }
        if (n == 0)
            return fail(-ECONNRESET, "connection closed before an answer", reterr_msg);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int r = wait_fd(c->fd, POLLIN, deadline);
            if (r == -ETIMEDOUT)
                return timeout_error(timeout_ms, reterr_msg);
            if (r < 0)
                return fail(r, strerror(-r), reterr_msg);
            continue;
        }
        if (errno == ECONNRESET)
            return fail(-ECONNRESET, "connection reset before an answer", reterr_msg);
        int r = -errno;
        return fail(r, strerror(-r), reterr_msg);
    }
}

int
client_call(struct client *c, const json_t *request, int timeout_ms, char **ret_line,
            size_t *ret_len, json_t **ret_response, char **reterr_msg)
{
    uint64_t deadline = deadline_after(timeout_ms);
    char *req;
    size_t req_len;
    int r;

    req = json_dumps(request, JSON_COMPACT);
    if (!req)
        return fail(-ENOMEM, strerror(ENOMEM), reterr_msg);
    req_len = strlen(req);
    if (req_len + 1 > CTL_MAX_LINE) {
        free(req);
        return fail(-EMSGSIZE, "request longer than 64 KiB", reterr_msg);
    }
    req[req_len] = '\n'; /* replaces the NUL; the length is known */
    r = write_all(c, req, req_len + 1, deadline, timeout_ms, reterr_msg);
    free(req);
    if (r < 0)
        return r;

    return client_next(c, timeout_ms, ret_line, ret_len, ret_response, reterr_msg);
}

int
client_next(struct client *c, int timeout_ms, char **ret_line, size_t *ret_len,
            json_t **ret_response, char **reterr_msg)
{
    uint64_t deadline = deadline_after(timeout_ms);
    char *line;
    size_t end = 0;
    json_error_t jerr;
    json_t *resp;
    int r;

    r = read_line(c, deadline, timeout_ms, &end, reterr_msg);
    if (r < 0)
        return r;

    line = malloc(end + 1);
    if (!line)
        return fail(-ENOMEM, strerror(ENOMEM), reterr_msg);
    memcpy(line, c->buf, end);
    line[end] = '\0';
    memmove(c->buf, c->buf + end + 1, c->len - end - 1);
    c->len -= end + 1;

    resp = json_loadb(line, end, 0, &jerr);
    if (!resp) {
        char msg[JSON_ERROR_TEXT_LENGTH + 64];
        (void)snprintf(msg, sizeof(msg), "invalid response from the daemon: %s", jerr.text);
        free(line);
        return fail(-EPROTO, msg, reterr_msg);
    }
    if (!json_is_object(resp) || (!json_is_boolean(json_object_get(resp, CTL_RESP_OK)) &&
                                  !json_is_string(json_object_get(resp, CTL_RESP_EVENT)))) {
        json_decref(resp);
        free(line);
        return fail(-EPROTO, "invalid response from the daemon: not an object with \"ok\"",
                    reterr_msg);
    }
    *ret_line = line;
    *ret_len = end;
    *ret_response = resp;
    return 0;
}

bool
client_error_unreachable(int r)
{
    return r < 0 && r != -EPROTO && r != -EMSGSIZE && r != -ENOMEM;
}

void
client_free(struct client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        (void)close(c->fd);
    free(c->buf);
    free(c);
}
