#include "offline.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "parse/feed.h"
#include "parse/feedjson.h"
#include "parse/charset.h"
#include "parse/feedparse.h"
#include "output.h"

#define READ_CHUNK (64u * 1024u)

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0 /* before curl 7.87: any short count aborts the transfer */
#endif

/* Where the bytes of one source go: the parser, created once the base URL is known. */
struct parse_sink {
    struct feedparse *parser;
    size_t total;
    int err;      /* first error, 0 if none */
    char *errmsg; /* its reason */
};

/* What curl's write callback needs: the sink and the transfer, for its effective URL. */
struct curl_sink {
    struct parse_sink *sink;
    CURL *easy;
};

static int
fail(int r, const char *msg, char **reterr_msg)
{
    *reterr_msg = strdup(msg ? msg : strerror(-r));
    return r;
}

/* Records the sink's first error and returns it. */
static int
sink_fail(struct parse_sink *s, int r, const char *msg)
{
    if (s->err == 0) {
        s->err = r;
        s->errmsg = strdup(msg ? msg : strerror(-r));
    }
    return s->err;
}

static int
sink_open(struct parse_sink *s, const char *base_url)
{
    s->parser = feedparse_new(base_url, NULL);
    if (!s->parser)
        return sink_fail(s, -ENOMEM, NULL);
    return 0;
}

/* Pushes one chunk into the parser, enforcing the input cap. */
static int
sink_push(struct parse_sink *s, const char *buf, size_t len)
{
    if (s->err)
        return s->err;
    if (len > OFFLINE_MAX_INPUT - s->total)
        return sink_fail(s, -EMSGSIZE, "larger than 64 MiB");
    s->total += len;
    int r = feedparse_push(s->parser, buf, len);
    if (r < 0)
        return sink_fail(s, r, feedparse_error(s->parser));
    return 0;
}

static void
sink_done(struct parse_sink *s)
{
    feedparse_free(s->parser);
    free(s->errmsg);
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

/* Streams a file descriptor into the sink until EOF. */
static int
read_fd(struct parse_sink *s, int fd)
{
    char *buf = malloc(READ_CHUNK);
    int r = 0;

    if (!buf)
        return sink_fail(s, -ENOMEM, NULL);
    for (;;) {
        ssize_t n = read(fd, buf, READ_CHUNK);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = sink_fail(s, -errno, NULL);
            break;
        }
        r = sink_push(s, buf, (size_t)n);
        if (r < 0)
            break;
    }
    free(buf);
    return r;
}

static int
parse_file(struct parse_sink *s, const char *path)
{
    int fd, r;

    if (strcmp(path, "-") == 0) {
        r = sink_open(s, NULL);
        return r < 0 ? r : read_fd(s, STDIN_FILENO);
    }

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return sink_fail(s, -errno, NULL);

    char *abs = realpath(path, NULL);
    char *url = abs ? file_url(abs) : NULL;
    free(abs);
    r = sink_open(s, url); /* without an absolute path, links stay relative */
    free(url);
    if (r == 0)
        r = read_fd(s, fd);
    (void)close(fd);
    return r;
}

/* curl's write callback: the first call, after any redirect, creates the parser. */
static size_t
on_curl_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct curl_sink *cs = userdata;
    size_t len = size * nmemb;

    if (!cs->sink->parser && !cs->sink->err) {
        char *url = NULL, *ct = NULL;
        char charset[64];

        (void)curl_easy_getinfo(cs->easy, CURLINFO_EFFECTIVE_URL, &url);
        (void)curl_easy_getinfo(cs->easy, CURLINFO_CONTENT_TYPE, &ct);
        /* The HTTP charset counts when the document declares none (feedparse.h). */
        if (sink_open(cs->sink, url) == 0 && charset_from_content_type(ct, charset, sizeof(charset)))
            (void)feedparse_set_charset(cs->sink->parser, charset);
    }
    if (cs->sink->err || sink_push(cs->sink, data, len) < 0)
        return CURL_WRITEFUNC_ERROR;
    return len;
}

static int
parse_url(struct parse_sink *s, const char *url)
{
    struct curl_sink cs = {.sink = s};
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode rc;

    cs.easy = curl_easy_init();
    if (!cs.easy)
        return sink_fail(s, -ENOMEM, NULL);
    (void)curl_easy_setopt(cs.easy, CURLOPT_URL, url);
    (void)curl_easy_setopt(cs.easy, CURLOPT_PROTOCOLS_STR, "http,https,file");
    (void)curl_easy_setopt(cs.easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    (void)curl_easy_setopt(cs.easy, CURLOPT_FOLLOWLOCATION, 1L);
    (void)curl_easy_setopt(cs.easy, CURLOPT_MAXREDIRS, (long)OFFLINE_MAX_REDIRECTS);
    (void)curl_easy_setopt(cs.easy, CURLOPT_TIMEOUT, (long)OFFLINE_URL_TIMEOUT_S);
    (void)curl_easy_setopt(cs.easy, CURLOPT_ACCEPT_ENCODING, "");
    (void)curl_easy_setopt(cs.easy, CURLOPT_USERAGENT, "feedwatch/" FW_VERSION);
    (void)curl_easy_setopt(cs.easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)OFFLINE_MAX_INPUT);
    (void)curl_easy_setopt(cs.easy, CURLOPT_FAILONERROR, 1L);
    (void)curl_easy_setopt(cs.easy, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(cs.easy, CURLOPT_ERRORBUFFER, errbuf);
    (void)curl_easy_setopt(cs.easy, CURLOPT_WRITEFUNCTION, on_curl_write);
    (void)curl_easy_setopt(cs.easy, CURLOPT_WRITEDATA, &cs);

    rc = curl_easy_perform(cs.easy);
    if (rc == CURLE_OK && !s->parser && !s->err) {
        /* An empty body: the parser still decides what an empty document is. */
        char *eff = NULL;
        (void)curl_easy_getinfo(cs.easy, CURLINFO_EFFECTIVE_URL, &eff);
        (void)sink_open(s, eff);
    }
    if (rc != CURLE_OK && !s->err) {
        int r = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
                : rc == CURLE_FILESIZE_EXCEEDED ? -EMSGSIZE
                : rc == CURLE_OUT_OF_MEMORY    ? -ENOMEM
                                               : -EIO;
        (void)sink_fail(s, r,
                        rc == CURLE_FILESIZE_EXCEEDED ? "larger than 64 MiB"
                        : errbuf[0]                   ? errbuf
                                                      : curl_easy_strerror(rc));
    }
    curl_easy_cleanup(cs.easy);
    return s->err;
}

static bool
is_url(const char *source)
{
    return strncasecmp(source, "http://", 7) == 0 || strncasecmp(source, "https://", 8) == 0 ||
           strncasecmp(source, "file://", 7) == 0;
}

int
offline_parse(const char *source, bool compact, char **reterr_msg)
{
    struct parse_sink s = {0};
    struct feed_doc *doc = NULL;
    json_t *json;
    char *text, *safe;
    int r;

    r = is_url(source) ? parse_url(&s, source) : parse_file(&s, source);
    if (r < 0) {
        r = fail(r, s.errmsg, reterr_msg);
        sink_done(&s);
        return r;
    }
    r = feedparse_finish(s.parser, &doc);
    if (r < 0) {
        r = fail(r, feedparse_error(s.parser), reterr_msg);
        sink_done(&s);
        return r;
    }
    sink_done(&s);

    json = feedjson_doc(doc);
    feed_doc_free(doc);
    if (!json)
        return fail(-ENOMEM, NULL, reterr_msg);
    text = json_dumps(json, JSON_PRESERVE_ORDER | (compact ? JSON_COMPACT : JSON_INDENT(2)));
    json_decref(json);
    if (!text)
        return fail(-ENOMEM, NULL, reterr_msg);
    safe = output_json_safe(text);
    free(text);
    if (!safe)
        return fail(-ENOMEM, NULL, reterr_msg);
    (void)fputs(safe, stdout);
    (void)fputc('\n', stdout);
    free(safe);
    return 0;
}
