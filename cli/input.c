/*
 * input.c — files, standard input and URLs for the offline commands, read in chunks
 * (input.h). The one download routine of the CLI.
 */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#define INPUT_CHUNK (64u * 1024u)

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0 /* before curl 7.87: any short count aborts the transfer */
#endif

static int
fail(int r, const char *msg, char **reterr_msg)
{
    *reterr_msg = strdup(msg ? msg : strerror(-r));
    return r;
}

/* Whether source names a URL rather than a file. */
bool
input_is_url(const char *source)
{
    return strncasecmp(source, "http://", 7) == 0 || strncasecmp(source, "https://", 8) == 0 ||
           strncasecmp(source, "file://", 7) == 0;
}

/* file:// URL of an absolute path, percent-encoding what a URL path may not hold; NULL on OOM. */
static char *
file_url(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(path);
    char *url, *q;

    if (len > (SIZE_MAX - 8) / 3)
        return NULL;
    url = malloc(7 + len * 3 + 1);
    if (!url)
        return NULL;
    memcpy(url, "file://", 7);
    q = url + 7;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            *q++ = (char)c;
        } else {
            *q++ = '%';
            *q++ = hex[c >> 4];
            *q++ = hex[c & 15];
        }
    }
    *q = '\0';
    return url;
}

/* Reads fd to its end in chunks; the first call to on_data names base_url. */
static int
read_fd(int fd, const char *base_url, input_data_cb on_data, void *ctx, char **reterr_msg)
{
    char *chunk = malloc(INPUT_CHUNK);
    bool called = false;
    int r = 0;

    if (!chunk)
        return fail(-ENOMEM, NULL, reterr_msg);
    for (;;) {
        ssize_t n = read(fd, chunk, INPUT_CHUNK);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = fail(-errno, NULL, reterr_msg);
            break;
        }
        called = true;
        r = on_data(ctx, base_url, NULL, chunk, (size_t)n);
        if (r < 0)
            break;
    }
    if (r == 0 && !called)
        r = on_data(ctx, base_url, NULL, chunk, 0);
    free(chunk);
    return r;
}

/* Reads the file at path ("-": standard input) to its end. */
int
input_read_file(const char *path, input_data_cb on_data, void *ctx, char **reterr_msg)
{
    if (strcmp(path, "-") == 0)
        return read_fd(STDIN_FILENO, NULL, on_data, ctx, reterr_msg);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return fail(-errno, NULL, reterr_msg);
    char *abs = realpath(path, NULL);
    char *url = abs ? file_url(abs) : NULL; /* without an absolute path, links stay relative */
    free(abs);
    int r = read_fd(fd, url, on_data, ctx, reterr_msg);
    free(url);
    (void)close(fd);
    return r;
}

/* What curl's write callback needs. */
struct input_xfer {
    CURL *easy;
    input_data_cb on_data;
    void *ctx;
    bool called;
    int err; /* the callback's error, 0 if none */
};

/* Hands one chunk over; the first after any redirect, so the effective URL is final. */
static int
xfer_data(struct input_xfer *x, const char *data, size_t len)
{
    char *url = NULL, *ct = NULL;
    (void)curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
    (void)curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
    x->called = true;
    int r = x->on_data(x->ctx, url, ct, data, len);
    if (r < 0)
        x->err = r;
    return r;
}

static size_t
on_curl_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct input_xfer *x = userdata;
    size_t len = size * nmemb;
    if (x->err || xfer_data(x, data, len) < 0)
        return CURL_WRITEFUNC_ERROR;
    return len;
}

/* Downloads url, at most max_size bytes, handing the body over in chunks. */
int
input_read_url(const char *url, uint64_t max_size, input_data_cb on_data, void *ctx,
               char **reterr_msg)
{
    struct input_xfer x = {.on_data = on_data, .ctx = ctx};
    char errbuf[CURL_ERROR_SIZE] = "";
    int r = 0;

    x.easy = curl_easy_init();
    if (!x.easy)
        return fail(-ENOMEM, NULL, reterr_msg);
    (void)curl_easy_setopt(x.easy, CURLOPT_URL, url);
    (void)curl_easy_setopt(x.easy, CURLOPT_PROTOCOLS_STR, "http,https,file");
    (void)curl_easy_setopt(x.easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    (void)curl_easy_setopt(x.easy, CURLOPT_FOLLOWLOCATION, 1L);
    (void)curl_easy_setopt(x.easy, CURLOPT_MAXREDIRS, (long)INPUT_MAX_REDIRECTS);
    (void)curl_easy_setopt(x.easy, CURLOPT_TIMEOUT, (long)INPUT_URL_TIMEOUT_S);
    (void)curl_easy_setopt(x.easy, CURLOPT_ACCEPT_ENCODING, "");
    (void)curl_easy_setopt(x.easy, CURLOPT_USERAGENT, "feedwatch/" FW_VERSION);
    (void)curl_easy_setopt(x.easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_size);
    (void)curl_easy_setopt(x.easy, CURLOPT_FAILONERROR, 1L);
    (void)curl_easy_setopt(x.easy, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(x.easy, CURLOPT_ERRORBUFFER, errbuf);
    (void)curl_easy_setopt(x.easy, CURLOPT_WRITEFUNCTION, on_curl_write);
    (void)curl_easy_setopt(x.easy, CURLOPT_WRITEDATA, &x);

    CURLcode rc = curl_easy_perform(x.easy);
    if (x.err) {
        r = x.err;
    } else if (rc == CURLE_OK) {
        if (!x.called) /* an empty body: the caller still decides what it is */
            r = xfer_data(&x, "", 0);
    } else if (rc == CURLE_FILESIZE_EXCEEDED) {
        r = -EMSGSIZE;
    } else {
        r = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
            : rc == CURLE_OUT_OF_MEMORY    ? -ENOMEM
                                           : -EIO;
        r = fail(r, errbuf[0] ? errbuf : curl_easy_strerror(rc), reterr_msg);
    }
    curl_easy_cleanup(x.easy);
    return r;
}
