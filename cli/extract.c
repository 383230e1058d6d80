#include "extract.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>

#include "text/article.h"
#include "text/boilerplate.h"
#include "base/buf.h"
#include "parse/charset.h"
#include "text/html.h"
#include "input.h"
#include "text/lang.h"
#include "output.h"

/* One source read whole: its bytes and, for a URL, the charset HTTP gave. */
struct source {
    struct buf body;
    char *charset;
    char *errmsg;
    bool started; /* the first chunk came */
};

static int
source_fail(struct source *s, int r, const char *msg)
{
    if (!s->errmsg)
        s->errmsg = strdup(msg ? msg : strerror(-r));
    return r;
}

/* input.h: keeps the bytes, and the charset HTTP gave with the first chunk. */
static int
on_input(void *ctx, const char *base_url, const char *content_type, const char *data, size_t len)
{
    struct source *s = ctx;
    (void)base_url;
    if (!s->started) {
        s->started = true;
        char cs[64];
        s->charset = charset_from_content_type(content_type, cs, sizeof(cs)) ? strdup(cs) : NULL;
    }
    int r = buf_append(&s->body, data, len);
    return r < 0 ? source_fail(s, r, r == -EMSGSIZE ? "larger than 32 MiB" : NULL) : 0;
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
        char *err = NULL;
        r = input_is_url(name) ? input_read_url(name, HTML_MAX_INPUT, on_input, &s, &err)
                               : input_read_file(name, on_input, &s, &err);
        if (r < 0) /* the reader's own failure (a callback's has its reason already) */
            (void)source_fail(&s, r, r == -EMSGSIZE && !err ? "larger than 32 MiB" : err);
        free(err);
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
