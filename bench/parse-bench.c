/*
 * parse-bench.c — throughput of feedwatch's streaming parser, measured as sax-count
 * measures raw libxml2 (bench/peers/sax-count.c), so the two compare directly.
 *
 * Loads every file of the list into memory first, then parses each with feedparse_new /
 * feedparse_push in chunks of 16 KB / feedparse_finish, counting items, errors and
 * recovered documents. Only the parsing is timed: the whole set is parsed PASSES times and
 * the median pass is reported as MB/s (1 MB = 10^6 bytes).
 *
 * usage: parse-bench [-c CHUNK_BYTES] [-p PASSES] -l LIST_FILE
 * build: bench/parse does it (cc -O2 against build/feeds/libfwparse.a and libfwbase.a + pkg-config
 * libs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parse/feedparse.h"

#define BENCH_MAX_FILES 100000

struct doc {
    char *data;
    size_t len;
};

static double
now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
read_file(const char *path, struct doc *d)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16;

    if (!f)
        return -errno;
    d->data = malloc(cap);
    d->len = 0;
    for (;;) {
        if (!d->data) {
            (void)fclose(f);
            return -ENOMEM;
        }
        size_t got = fread(d->data + d->len, 1, cap - d->len, f);

        d->len += got;
        if (got == 0)
            break;
        if (d->len == cap) {
            cap *= 2;
            char *n = realloc(d->data, cap);

            if (!n)
                free(d->data);
            d->data = n;
        }
    }
    (void)fclose(f);
    return 0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    const char *list = NULL;
    size_t chunk = 16384;
    int passes = 5, ch;

    while ((ch = getopt(argc, argv, "c:p:l:")) != -1) {
        char *end;

        switch (ch) {
        case 'c':
            chunk = strtoul(optarg, &end, 10);
            if (*end || chunk == 0)
                chunk = 0;
            break;
        case 'p':
            passes = (int)strtol(optarg, &end, 10);
            if (*end)
                passes = 0;
            break;
        case 'l':
            list = optarg;
            break;
        default:
            passes = 0;
        }
    }
    if (!list || chunk == 0 || passes < 1 || passes > 1000) {
        fprintf(stderr, "usage: parse-bench [-c CHUNK_BYTES] [-p PASSES] -l LIST_FILE\n");
        return 2;
    }
    FILE *lf = fopen(list, "r");
    static struct doc docs[BENCH_MAX_FILES];
    size_t n = 0, bytes = 0;
    char line[4096];

    if (!lf) {
        fprintf(stderr, "parse-bench: %s: %s\n", list, strerror(errno));
        return 1;
    }
    while (fgets(line, sizeof line, lf) && n < BENCH_MAX_FILES) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        int r = read_file(line, &docs[n]);

        if (r < 0) {
            fprintf(stderr, "parse-bench: %s: %s\n", line, strerror(-r));
            return 1;
        }
        bytes += docs[n++].len;
    }
    (void)fclose(lf);

    double *secs = calloc((size_t)passes, sizeof *secs);
    unsigned long long items = 0, errors = 0, recovered = 0;

    if (!secs)
        return 1;
    for (int p = 0; p < passes; p++) {
        items = errors = recovered = 0;
        double t0 = now();

        for (size_t i = 0; i < n; i++) {
            struct feedparse *fp = feedparse_new(NULL, NULL);
            struct feed_doc *doc = NULL;
            int r = 0;

            if (!fp)
                return 1;
            for (size_t off = 0; off < docs[i].len && r == 0; off += chunk) {
                size_t len = docs[i].len - off < chunk ? docs[i].len - off : chunk;

                r = feedparse_push(fp, docs[i].data + off, len);
            }
            if (r == 0)
                r = feedparse_finish(fp, &doc);
            if (r < 0) {
                errors++;
            } else {
                items += doc->n_items;
                recovered += doc->recovered;
            }
            feed_doc_free(doc);
            feedparse_free(fp);
        }
        secs[p] = now() - t0;
    }
    qsort(secs, (size_t)passes, sizeof *secs, cmp_double);
    double med = passes % 2 ? secs[passes / 2] : (secs[passes / 2 - 1] + secs[passes / 2]) / 2;

    printf("files %zu bytes %zu items %llu errors %llu recovered %llu chunk %zu passes %d "
           "median_s %.4f min_s %.4f max_s %.4f MB/s %.1f items/s %.0f\n",
           n, bytes, items, errors, recovered, chunk, passes, med, secs[0], secs[passes - 1],
           (double)bytes / 1e6 / med, (double)items / med);
    free(secs);
    for (size_t i = 0; i < n; i++)
        free(docs[i].data);
    return 0;
}
