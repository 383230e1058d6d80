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

#include <jansson.h>

#include "parse/feed.h"
#include "parse/feedjson.h"
#include "parse/charset.h"
#include "parse/feedparse.h"
#include "input.h"
#include "output.h"

/* Where the bytes of one source go: the parser, created once the base URL is known. */
struct parse_sink {
    struct feedparse *parser;
    size_t total;
    int err;      /* first error, 0 if none */
    char *errmsg; /* its reason */
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

/* input.h: the first chunk creates the parser with the source's URL and HTTP charset. */
static int
on_input(void *ctx, const char *base_url, const char *content_type, const char *data, size_t len)
{
    struct parse_sink *s = ctx;
    if (!s->parser && !s->err) {
        char charset[64];
        /* The HTTP charset counts when the document declares none (feedparse.h). */
        if (sink_open(s, base_url) == 0 &&
            charset_from_content_type(content_type, charset, sizeof(charset)))
            (void)feedparse_set_charset(s->parser, charset);
    }
    if (s->err)
        return s->err;
    return len ? sink_push(s, data, len) : 0;
}

int
offline_parse(const char *source, bool compact, char **reterr_msg)
{
    struct parse_sink s = {0};
    struct feed_doc *doc = NULL;
    json_t *json;
    char *text, *safe;
    int r;

    char *err = NULL;
    r = input_is_url(source) ? input_read_url(source, OFFLINE_MAX_INPUT, on_input, &s, &err)
                             : input_read_file(source, on_input, &s, &err);
    if (r < 0 && !s.err) /* the reader's own failure, not the sink's */
        (void)sink_fail(&s, r, r == -EMSGSIZE && !err ? "larger than 64 MiB" : err);
    free(err);
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
