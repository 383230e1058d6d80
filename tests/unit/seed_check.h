/*
 * seed_check.h — the seeds' annotations (tests/fixtures/corpus/seeds/annotations.json) as checks
 * that the extraction tests share: every boilerplate string gone, every article line kept. Static
 * functions for the unit tests that include it after <cmocka.h> and <jansson.h>
 * (test_boilerplate.c, test_extract.c).
 */
#ifndef FEEDWATCH_TEST_SEED_CHECK_H
#define FEEDWATCH_TEST_SEED_CHECK_H

#include "testfile.h"

/* Copy of s with U+00A0 as a space, whitespace runs collapsed and the ends trimmed. */
static char *
seed_norm(const char *s)
{
    char *out = malloc(strlen(s) + 1), *q = out;
    bool space = false;

    assert_non_null(out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool sp = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
        if (p[0] == 0xc2 && p[1] == 0xa0) {
            sp = true;
            p++;
        }
        if (sp) {
            space = q != out;
            continue;
        }
        if (space)
            *q++ = ' ';
        space = false;
        *q++ = (char)*p;
    }
    *q = '\0';
    return out;
}

static json_t *
seed_annotations(void)
{
    json_error_t err;
    json_t *a = json_load_file(FW_CORPUS "/seeds/annotations.json", 0, &err);
    if (!a)
        fail_msg("annotations.json: %s", err.text);
    return a;
}

/*
 * Checks text (the output for seed file `name`): no boilerplate string of the annotations in
 * it, and every other non-empty line of the seed in it, except the headline (the title).
 */
static void
seed_check_text(json_t *ann, const char *name, const char *text)
{
    json_t *entry = json_object_get(ann, name);
    json_t *bp = json_object_get(entry, "boilerplate");
    const char *title = json_string_value(json_object_get(entry, "title"));
    char *seed, *ntext = seed_norm(text);
    size_t idx;
    json_t *b;

    assert_non_null(entry);
    json_array_foreach(bp, idx, b)
    {
        const char *t = json_string_value(json_object_get(b, "text"));
        char *nt = seed_norm(t);
        /* " date 2022-02 " glued to the lead: "date 2022-02" must be gone */
        if (strstr(ntext, nt))
            fail_msg("%s: boilerplate line %d still there: '%s'", name,
                     (int)json_integer_value(json_object_get(b, "line")), t);
        free(nt);
    }

    seed = test_read_seed(name, NULL);
    int lineno = 0;
    for (char *line = seed, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        bool is_bp = false;
        const char *prefix = NULL;
        json_array_foreach(bp, idx, b)
        {
            if (json_integer_value(json_object_get(b, "line")) != lineno)
                continue;
            const char *t = json_string_value(json_object_get(b, "text"));
            if (strncmp(line, t, strlen(t)) == 0 && strlen(line) > strlen(t))
                prefix = t; /* only the start of the line is boilerplate */
            else
                is_bp = true;
        }
        if (is_bp)
            continue;
        char *want = seed_norm(prefix ? line + strlen(prefix) : line);
        if (want[0] && !(title && strcmp(want, title) == 0) && !strstr(ntext, want))
            fail_msg("%s: article line %d missing: '%s'\n--- output ---\n%s", name, lineno, want,
                     text);
        free(want);
    }
    free(seed);
    free(ntext);
}

static const char *const seed_names[] = {
    "000_b1d9be76c26ba483.txt", "001_c3de49d25fb89459.txt", "002_86e90aea73c19656.txt",
    "003_0dca9f2e86cd725b.txt", "004_76fb76036a12c196.txt",
};

#endif
