#include "extract.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>

#include "text/article.h"
#include "text/boilerplate.h"
#include "base/buf.h"
#include "parse/charset.h"
#include "text/html.h"
#include "text/lang.h"
#include "output.h"

#define READ_CHUNK (64u * 1024u)
#define URL_TIMEOUT_S 30
#define URL_MAX_REDIRECTS 5

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0 /* before curl 7.87: any short count aborts the transfer */
#endif

/* One source read whole: its bytes and, for a URL, the charset HTTP gave. */
struct source {
    struct buf body;
    char *charset;
    char *errmsg;
};

static int
source_fail(struct source *s, int r, const char *msg)
{
    if (!s->errmsg)
        s->errmsg = strdup(msg ? msg : strerror(-r));
    return r;
}

static int
read_fd(struct source *s, int fd)
{
    char *chunk = malloc(READ_CHUNK);

    if (!chunk)
        return source_fail(s, -ENOMEM, NULL);
    for (;;) {
        ssize_t n = read(fd, chunk, READ_CHUNK);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            free(chunk);
            return source_fail(s, -errno, NULL);
        }
        int r = buf_append(&s->body, chunk, (size_t)n);
        if (r < 0) {
            free(chunk);
            return source_fail(s, r, r == -EMSGSIZE ? "larger than 32 MiB" : NULL);
        }
    }
    free(chunk);
    return 0;
}

static int
read_file(struct source *s, const char *path)
{
    int fd, r;

    if (strcmp(path, "-") == 0)
        return read_fd(s, STDIN_FILENO);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return source_fail(s, -errno, NULL);
    r = read_fd(s, fd);
    (void)close(fd);
    return r;
}

static size_t
on_curl_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct source *s = userdata;
    size_t len = size * nmemb;

    if (buf_append(&s->body, data, len) < 0)
        return CURL_WRITEFUNC_ERROR;
    return len;
}

static int
read_url(struct source *s, const char *url)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *easy = curl_easy_init();
    CURLcode rc;
    int r = 0;

    if (!easy)
        return source_fail(s, -ENOMEM, NULL);
    (void)curl_easy_setopt(easy, CURLOPT_URL, url);
    (void)curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https,file");
    (void)curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    (void)curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    (void)curl_easy_setopt(easy, CURLOPT_MAXREDIRS, (long)URL_MAX_REDIRECTS);
    (void)curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)URL_TIMEOUT_S);
    (void)curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    (void)curl_easy_setopt(easy, CURLOPT_USERAGENT, "feedwatch/" FW_VERSION);
    (void)curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTML_MAX_INPUT);
    (void)curl_easy_setopt(easy, CURLOPT_FAILONERROR, 1L);
    (void)curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    (void)curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_curl_write);
    (void)curl_easy_setopt(easy, CURLOPT_WRITEDATA, s);
    rc = curl_easy_perform(easy);
    if (rc == CURLE_OK) {
        char *ct = NULL, cs[64];
        (void)curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ct);
        s->charset = charset_from_content_type(ct, cs, sizeof(cs)) ? strdup(cs) : NULL;
    } else {
        bool too_big = rc == CURLE_FILESIZE_EXCEEDED ||
                       (rc == CURLE_WRITE_ERROR && s->body.len + READ_CHUNK > s->body.max);
        r = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
            : too_big                      ? -EMSGSIZE
            : rc == CURLE_OUT_OF_MEMORY    ? -ENOMEM
                                           : -EIO;
        (void)source_fail(s, r, too_big ? "larger than 32 MiB"
                               : errbuf[0] ? errbuf
                                           : curl_easy_strerror(rc));
    }
    curl_easy_cleanup(easy);
    return r;
}

static bool
is_url(const char *source)
{
    return strncasecmp(source, "http://", 7) == 0 || strncasecmp(source, "https://", 8) == 0 ||
           strncasecmp(source, "file://", 7) == 0;
}

/* A page's article, or an item fragment's cleaned text, as a struct article. */
static int
extract_source(const struct source *s, struct article **ret)
{
    const char *html = s->body.data ? s->body.data : "";
    size_t len = s->body.len;
    struct article *a;
    int r;

    if (article_is_page(html, len))
        return article_extract(html, len, s->charset, ret);
    a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    r = boilerplate_clean(html, len, NULL, NULL, &a->text);
    if (r < 0) {
        free(a);
        return r;
    }
    const char *l = lang_detect(a->text, strlen(a->text));
    if (l && !(a->language = strdup(l))) {
        article_free(a);
        return -ENOMEM;
    }
    *ret = a;
    return 0;
}

static json_t *
str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int
print_json(const char *name, const struct article *a)
{
    json_t *o = json_object();
    char *text, *safe;

    if (!o)
        return -ENOMEM;
    if (json_object_set_new(o, "file", json_string(name)) < 0 ||
        json_object_set_new(o, "title", str_or_null(a->title)) < 0 ||
        json_object_set_new(o, "author", str_or_null(a->author)) < 0 ||
        json_object_set_new(o, "published", str_or_null(a->published)) < 0 ||
        json_object_set_new(o, "language", str_or_null(a->language)) < 0 ||
        json_object_set_new(o, "text", json_string(a->text)) < 0) {
        json_decref(o);
        return -ENOMEM;
    }
    text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(o);
    if (!text)
        return -ENOMEM;
    safe = output_json_safe(text);
    free(text);
    if (!safe)
        return -ENOMEM;
    (void)fputs(safe, stdout);
    (void)fputc('\n', stdout);
    free(safe);
    return 0;
}

static int
print_text(const char *name, const struct article *a, bool header, bool first)
{
    char *safe;

    if (header) {
        char *n = output_scrub(name, strlen(name), false);
        if (!n)
            return -ENOMEM;
        (void)printf("%s==> %s <==\n", first ? "" : "\n", n);
        free(n);
    }
    safe = output_scrub(a->text, strlen(a->text), true);
    if (!safe)
        return -ENOMEM;
    (void)fputs(safe, stdout);
    if (safe[0])
        (void)fputc('\n', stdout);
    free(safe);
    return 0;
}

/* libxml2 reports encoding trouble outside the parser context: not for the terminal. */
static void
on_xml_generic_error(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

int
extract_run(const char *const *sources, size_t n_sources, bool json)
{
    int status = 0;
    bool first = true;

    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, on_xml_generic_error);
    for (size_t i = 0; i < n_sources; i++) {
        const char *name = sources[i];
        struct source s = {0};
        struct article *a = NULL;
        int r;

        buf_init(&s.body, HTML_MAX_INPUT);
        r = is_url(name) ? read_url(&s, name) : read_file(&s, name);
        if (r == 0) {
            r = extract_source(&s, &a);
            if (r < 0)
                (void)source_fail(&s, r, r == -EMSGSIZE ? "larger than 32 MiB" : NULL);
        }
        if (r == 0) {
            r = json ? print_json(name, a) : print_text(name, a, n_sources > 1, first);
            if (r < 0)
                (void)source_fail(&s, r, NULL);
            first = false;
        }
        if (r < 0) {
            output_message("%s: %s", strcmp(name, "-") == 0 ? "standard input" : name,
                           s.errmsg ? s.errmsg : strerror(-r));
            status = 1;
        }
        article_free(a);
        buf_done(&s.body);
        free(s.charset);
        free(s.errmsg);
    }
    return status;
}
