#include "match.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>

#include "topics/match.h" /* the matcher (cli/match.h is this file's own header) */
#include "text/boilerplate.h"
#include "base/buf.h"
#include "conf.h"
#include "text/content.h"
#include "parse/feed.h"
#include "parse/feedparse.h"
#include "input.h"
#include "text/lang.h"
#include "output.h"

/* input.h: keeps the bytes, up to the buffer's cap. */
static int
on_input(void *ctx, const char *base_url, const char *content_type, const char *data, size_t len)
{
    (void)base_url;
    (void)content_type;
    return buf_append(ctx, data, len);
}

/* Reads a whole file ("-": standard input) into a NUL-terminated buffer. */
static int
read_all(const char *path, struct buf *b, char **reterr_msg)
{
    char *err = NULL;
    int r = input_read_file(path, on_input, b, &err);
    if (r < 0 && !err) /* the buffer's cap (or its memory) stopped the reading */
        err = strdup(r == -EMSGSIZE ? "larger than 64 MiB" : strerror(-r));
    if (r < 0)
        *reterr_msg = err;
    else
        free(err);
    return r;
}

/* libxml2 reports encoding trouble outside the parser context: not for the terminal. */
static void
on_xml_generic_error(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static int
print_json(const char *file, const char *item, const char *title, const struct match_hit *h)
{
    json_t *matched = json_array();
    json_t *o = NULL;
    char *line = NULL, *safe = NULL;
    int r = -ENOMEM;

    if (!matched)
        return -ENOMEM;
    for (size_t i = 0; i < h->n_terms; i++) {
        json_t *t = json_pack("{s:s, s:s, s:s}", "term", h->terms[i].term, "field",
                              h->terms[i].field, "snippet", h->terms[i].snippet);
        if (t && h->terms[i].via &&
            json_object_set_new(t, "via", json_string(h->terms[i].via)) < 0) {
            json_decref(t);
            t = NULL;
        }
        if (!t || json_array_append_new(matched, t) < 0) {
            json_decref(matched);
            return -ENOMEM;
        }
    }
    o = json_pack("{s:s, s:s?, s:s?, s:o}", "file", file, "item", item, "title", title, "matched",
                  matched);
    if (!o)
        return -ENOMEM;
    line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line)
        safe = output_json_safe(line);
    if (safe) {
        (void)printf("%s\n", safe);
        r = 0;
    }
    free(safe);
    free(line);
    json_decref(o);
    return r;
}

static int
print_human(const char *file, const char *title, bool is_feed, bool explain,
            const struct match_hit *h)
{
    char *f = output_scrub(file, strlen(file), false);
    char *t = title ? output_scrub(title, strlen(title), false) : NULL;
    int r = -ENOMEM;

    if (!f || (title && !t))
        goto out;
    if (is_feed)
        (void)printf("%s: %s\n", f, t ? t : "(no title)");
    else
        (void)printf("%s\n", f);
    for (size_t i = 0; i < h->n_terms; i++) {
        const struct match_term *m = &h->terms[i];
        char *term = output_scrub(m->term, strlen(m->term), false);
        char *snip = output_scrub(m->snippet, strlen(m->snippet), false);
        if (term && snip)
            (void)printf("    %s (%s): %s\n", term, m->field, snip);
        free(term);
        free(snip);
        if (!term || !snip)
            goto out;
        if (explain && m->via) {
            char *via = output_scrub(m->via, strlen(m->via), false);
            if (!via)
                goto out;
            (void)printf("        matched %s\n", via);
            free(via);
        }
    }
    r = 0;
out:
    free(f);
    free(t);
    return r;
}

/* Matches one document; 1 if it matched, 0 if not, or a negative errno. */
static int
match_doc_print(const struct match *m, const char *file, const char *item, const char *title,
                const char *text, const char *lang, bool is_feed, bool json, bool explain)
{
    /* The language as the daemon takes it: the feed's, else detected from the words. */
    if (!lang && text) {
        size_t len = strlen(text);
        lang = lang_detect(text, len < LANG_SAMPLE_MAX ? len : LANG_SAMPLE_MAX);
    }
    struct match_doc doc = {.title = title, .text = text, .lang = lang};
    struct match_result res;
    int r = match_run(m, &doc, &res);

    if (r < 0)
        return r;
    if (res.n_hits == 0) {
        match_result_done(&res);
        return 0;
    }
    r = json ? print_json(file, item, title, &res.hits[0])
             : print_human(file, title, is_feed, explain, &res.hits[0]);
    match_result_done(&res);
    return r < 0 ? r : 1;
}

/* Matches every item of a feed, or the file as one text. */
static int
match_file(const struct match *m, const char *file, bool json, bool explain, bool *io_matched)
{
    struct buf data;
    struct feed_doc *doc = NULL;
    char *err = NULL;
    int r;

    buf_init(&data, MATCH_CLI_MAX_INPUT);
    r = read_all(file, &data, &err);
    if (r < 0) {
        output_message("%s: %s", strcmp(file, "-") == 0 ? "standard input" : file,
                       err ? err : strerror(-r));
        free(err);
        buf_done(&data);
        return r;
    }
    r = feedparse_buffer(buf_str(&data), data.len, NULL, &doc, &err);
    free(err);
    if (r == -ENOMEM) {
        buf_done(&data);
        return r;
    }
    if (r < 0) {
        /* Not a feed: the whole file is the text. */
        r = match_doc_print(m, file, NULL, NULL, buf_str(&data), NULL, false, json, explain);
        if (r > 0)
            *io_matched = true;
        buf_done(&data);
        return r < 0 ? r : 0;
    }
    buf_done(&data);
    /*
     * The text the daemon matches: content_clean_items over the feed's items together, as a
     * first poll of the feed cleans them (boilerplate repeated across its items is dropped),
     * with the language it detects when the feed gives none.
     */
    struct content_item *v = doc->n_items ? calloc(doc->n_items, sizeof(*v)) : NULL;
    struct boilerplate_model *model = boilerplate_model_new();
    if ((doc->n_items && !v) || !model)
        r = -ENOMEM;
    for (size_t i = 0; r >= 0 && i < doc->n_items; i++)
        v[i].item = &doc->items[i];
    if (r >= 0)
        r = content_clean_items(v, doc->n_items, model);
    for (size_t i = 0; r >= 0 && i < doc->n_items; i++) {
        const struct feed_item *it = &doc->items[i];
        r = match_doc_print(m, file, it->key, it->title, v[i].text,
                            it->language ? it->language : doc->language, true, json, explain);
        if (r > 0)
            *io_matched = true;
    }
    if (v)
        content_items_done(v, doc->n_items);
    free(v);
    boilerplate_model_free(model);
    feed_doc_free(doc);
    return r < 0 ? r : 0;
}

/* Runs `feedwatch match QUERY FILE…`. */
int
match_cli(const char *query, const char *const *files, size_t n_files, bool json, bool explain,
          const char *config, bool config_given)
{
    struct match *m = match_new();
    struct conf *conf = NULL;
    char *err = NULL;
    bool matched = false, failed = false;
    int r;

    if (!m) {
        output_message("out of memory");
        return 2;
    }
    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, on_xml_generic_error);
    /* The [alias] sections of the config; a default config that is missing is no error. */
    r = conf_load_aliases(config, &conf, &err);
    if (r < 0 && (config_given || r == -EINVAL || r == -ENOMEM)) {
        output_message("%s: %s", config, err ? err : strerror(-r));
        free(err);
        match_free(m);
        return 2;
    }
    free(err);
    err = NULL;
    for (size_t i = 0; conf && i < conf->n_aliases; i++) {
        const struct conf_alias *a = &conf->aliases[i];
        r = match_alias(m, a->name, (const char *const *)a->names, a->n_names);
        if (r < 0) {
            output_message("%s:%u: alias \"%s\": %s", a->origin.file, a->origin.line, a->name,
                           strerror(-r));
            conf_free(conf);
            match_free(m);
            return 2;
        }
    }
    conf_free(conf);
    r = match_add(m, 0, NULL, query, &err);
    if (r == 0)
        r = match_build(m);
    if (r < 0) {
        output_message("%s", err ? err : strerror(-r));
        free(err);
        match_free(m);
        return 2;
    }
    for (size_t i = 0; i < n_files; i++) {
        r = match_file(m, files[i], json, explain, &matched);
        if (r == -ENOMEM) {
            output_message("%s: out of memory", files[i]);
            failed = true;
            break;
        }
        if (r < 0)
            failed = true;
    }
    match_free(m);
    if (fflush(stdout) != 0)
        failed = true;
    return failed ? 2 : matched ? 0 : 1;
}
