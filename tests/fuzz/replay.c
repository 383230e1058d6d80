/*
 * replay.c — runs a fuzz target without libFuzzer: every file of the given corpus folders
 * (recursively) or files, then seeded pseudo-random mutations of each, within a time budget.
 *
 * usage: replay_<target> [-m MUTATIONS] [-t SECONDS] [-s SEED] [-x MAX_BYTES] PATH...
 *   -m  mutations per corpus file (default 300)
 *   -t  budget for the mutations of the whole run (default 40 s); every file is still run
 *       as it is and gets at least a few mutations, whatever the budget
 *   -s  seed of the mutation generator (default 1): a run is reproducible up to the budget
 *   -x  corpus files above this size are run as they are but not mutated (default 2 MiB)
 * The mutations of a file depend only on the seed and the file's name, so a failure seen in
 * a full run repeats with `replay_<target> -s SEED FILE`; when the target aborts (assert,
 * sanitizer report), the input that failed is also written to ./replay-crash-<file>-<n>.
 * Exit status 0 when every input ran; a failing target aborts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

#define REPLAY_MAX_FILE (64u * 1024 * 1024)
#define REPLAY_MIN_MUTATIONS 4u
#define REPLAY_MAX_GROWTH 4096u /* bytes a mutation may add */

struct corpus {
    char **paths;
    size_t n, cap;
};

static const char *const tokens[] = {
    "<",
    ">",
    "</",
    "/>",
    "&",
    ";",
    "&amp;",
    "&lt;",
    "&#x0;",
    "&#1114112;",
    "&#xD800;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<!DOCTYPE x [",
    "<!ENTITY a \"",
    "&a;",
    "]>",
    "<!ENTITY x SYSTEM \"file:///etc/passwd\">",
    "<?xml version=\"1.0\" encoding=\"",
    "ISO-8859-1",
    "UTF-16",
    "windows-1252",
    "\"?>",
    "<rss version=\"2.0\">",
    "<channel>",
    "<item>",
    "</item>",
    "<title>",
    "</title>",
    "<link>",
    "<guid>",
    "<pubDate>",
    "<feed xmlns=\"http://www.w3.org/2005/Atom\">",
    "<entry>",
    "</entry>",
    "<id>",
    "<content type=\"html\">",
    "xml:base=\"",
    "xml:lang=\"",
    "href=\"",
    "<rdf:RDF",
    "\xef\xbb\xbf",
    "\xff\xfe",
    "\xc3",
    "\xe2\x82",
    "\xf4\x90\x80\x80",
    "\xed\xa0\x80",
    "\x00",
    "{\"version\": \"https://jsonfeed.org/version/1\"",
    "\"items\": [",
    "\\u0000",
    "Mon, 31 Dec 2029 23:59:60 +2400",
    "1970-01-01T00:00:00Z",
    "GMT",
    "-0000",
    "99999999999",
    "[daemon]",
    "[feed \"",
    "[topic \"",
    "[hook \"",
    "include = ",
    "url = ",
    "= ",
    "\n",
    "\\",
    "\"",
    "@",
    "interval = ",
    "max_feed_size = 18446744073709551615",
    "${",
    "*",
};

static uint64_t rng_state;

static uint64_t
rng(void)
{
    uint64_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static size_t
rng_below(size_t n)
{
    return n ? (size_t)(rng() % n) : 0;
}

static double
now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
corpus_add(struct corpus *c, const char *path)
{
    if (c->n == c->cap) {
        size_t ncap = c->cap ? 2 * c->cap : 64;
        char **n = realloc(c->paths, ncap * sizeof *n);

        if (!n) {
            perror("replay");
            exit(2);
        }
        c->paths = n;
        c->cap = ncap;
    }
    c->paths[c->n] = strdup(path);
    if (!c->paths[c->n]) {
        perror("replay");
        exit(2);
    }
    c->n++;
}

static int
path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds path, or every regular file under it when it is a folder (sorted, so runs repeat). */
static void
corpus_walk(struct corpus *c, const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    if (S_ISREG(st.st_mode)) {
        corpus_add(c, path);
        return;
    }
    if (!S_ISDIR(st.st_mode))
        return;
    DIR *d = opendir(path);
    struct dirent *e;

    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    struct corpus sub = {0};

    while ((e = readdir(d)) != NULL) {
        char full[PATH_MAX];

        if (e->d_name[0] == '.')
            continue;
        if (snprintf(full, sizeof full, "%s/%s", path, e->d_name) >= (int)sizeof full)
            continue;
        corpus_add(&sub, full);
    }
    (void)closedir(d);
    qsort(sub.paths, sub.n, sizeof *sub.paths, path_cmp);
    for (size_t i = 0; i < sub.n; i++) {
        corpus_walk(c, sub.paths[i]);
        free(sub.paths[i]);
    }
    free(sub.paths);
}

static uint8_t *
file_read(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;

    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    for (;;) {
        if (len == cap) {
            if (cap >= REPLAY_MAX_FILE) {
                fprintf(stderr, "replay: %s: larger than %u bytes\n", path, REPLAY_MAX_FILE);
                exit(2);
            }
            cap = cap ? 2 * cap : 65536;
            uint8_t *n = realloc(buf, cap);
            if (!n) {
                perror("replay");
                exit(2);
            }
            buf = n;
        }
        size_t got = fread(buf + len, 1, cap - len, f);

        if (got == 0)
            break;
        len += got;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        exit(2);
    }
    (void)fclose(f);
    *ret_len = len;
    return buf;
}

/* Writes into out (room for len + REPLAY_MAX_GROWTH) a mutation of in; returns its size. */
static size_t
mutate(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t n = len;
    unsigned rounds = 1 + (unsigned)rng_below(4);

    memcpy(out, in, len);
    for (unsigned r = 0; r < rounds; r++) {
        size_t at = rng_below(n + 1);

        switch (rng_below(8)) {
        case 0: /* flip a bit */
            if (n)
                out[rng_below(n)] ^= (uint8_t)(1u << rng_below(8));
            break;
        case 1: /* a random byte */
            if (n)
                out[rng_below(n)] = (uint8_t)rng();
            break;
        case 2: { /* insert a token */
            const char *t = tokens[rng_below(sizeof tokens / sizeof *tokens)];
            size_t tl = t[0] ? strlen(t) : 1;

            if (n + tl > len + REPLAY_MAX_GROWTH)
                break;
            memmove(out + at + tl, out + at, n - at);
            memcpy(out + at, t, tl);
            n += tl;
            break;
        }
        case 3: { /* delete a range */
            size_t dl = rng_below(n - (at < n ? at : n) + 1);

            if (dl > 256 && rng_below(4))
                dl = rng_below(256);
            memmove(out + at, out + at + dl, n - at - dl);
            n -= dl;
            break;
        }
        case 4: { /* duplicate a range */
            if (!n)
                break;
            size_t from = rng_below(n);
            size_t dl = 1 + rng_below(n - from < 512 ? n - from : 512);

            if (n + dl > len + REPLAY_MAX_GROWTH)
                break;
            memmove(out + at + dl, out + at, n - at);
            memmove(out + at, out + (from < at ? from : from + dl), dl);
            n += dl;
            break;
        }
        case 5: /* truncate */
            n = at;
            break;
        case 6: /* a byte that matters to XML */
            if (n)
                out[rng_below(n)] = (uint8_t) "<>&;\"'/=![]?\n\0\x80\xff"[rng_below(16)];
            break;
        default: { /* swap two bytes */
            if (n < 2)
                break;
            size_t i = rng_below(n), j = rng_below(n);
            uint8_t t = out[i];

            out[i] = out[j];
            out[j] = t;
            break;
        }
        }
    }
    return n;
}

/* The input running now, for the crash handlers. */
static const uint8_t *cur_data;
static size_t cur_len;
static char cur_name[PATH_MAX];
static const char *cur_path;

/* Provided by the sanitizer runtimes when a sanitizer is linked in; NULL otherwise. */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static void
crash_save(void)
{
    static const char msg[] = "replay: the failing input was written to ";
    static const char msg_file[] = "replay: failed on the corpus file ";

    if (!cur_data) {
        if (cur_path) {
            (void)!write(2, msg_file, sizeof msg_file - 1);
            (void)!write(2, cur_path, strlen(cur_path));
            (void)!write(2, "\n", 1);
        }
        return;
    }
    int fd = open(cur_name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        return;
    const uint8_t *p = cur_data;
    size_t left = cur_len;

    while (left > 0) {
        ssize_t n = write(fd, p, left);

        if (n <= 0)
            break;
        p += n;
        left -= (size_t)n;
    }
    (void)close(fd);
    (void)!write(2, msg, sizeof msg - 1);
    (void)!write(2, cur_name, strlen(cur_name));
    (void)!write(2, "\n", 1);
}

static void
crash_signal(int sig)
{
    crash_save();
    (void)signal(sig, SIG_DFL);
    (void)raise(sig);
}

static void
crash_handlers(void)
{
    static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};

    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        (void)signal(sigs[i], crash_signal);
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(crash_save);
}

static uint64_t
name_seed(const char *path, unsigned long seed)
{
    const char *base = strrchr(path, '/');
    uint64_t h = 1469598103934665603ull ^ (seed * 0x9e3779b97f4a7c15ull);

    for (const char *p = base ? base + 1 : path; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

static unsigned long
parse_num(const char *s, const char *what)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end) {
        fprintf(stderr, "replay: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

int
main(int argc, char **argv)
{
    unsigned long mutations = 300, budget = 40, seed = 1, max_mut = 2u * 1024 * 1024;
    struct corpus c = {0};
    int opt;

    while ((opt = getopt(argc, argv, "m:t:s:x:")) != -1) {
        switch (opt) {
        case 'm':
            mutations = parse_num(optarg, "mutation count");
            break;
        case 't':
            budget = parse_num(optarg, "time budget");
            break;
        case 's':
            seed = parse_num(optarg, "seed");
            break;
        case 'x':
            max_mut = parse_num(optarg, "size");
            break;
        default:
            fprintf(stderr, "usage: %s [-m N] [-t SECONDS] [-s SEED] [-x BYTES] PATH...\n",
                    argv[0]);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: %s [-m N] [-t SECONDS] [-s SEED] [-x BYTES] PATH...\n", argv[0]);
        return 2;
    }
    for (int i = optind; i < argc; i++)
        corpus_walk(&c, argv[i]);
    if (c.n == 0) {
        fprintf(stderr, "replay: no corpus files\n");
        return 2;
    }

    crash_handlers();
    double start = now();
    unsigned long long runs = 0, bytes = 0;

    /* Every file as it is, first. */
    for (size_t i = 0; i < c.n; i++) {
        size_t len;
        uint8_t *data = file_read(c.paths[i], &len);

        cur_path = c.paths[i];
        (void)LLVMFuzzerTestOneInput(data, len);
        runs++;
        bytes += len;
        free(data);
    }
    double plain = now() - start;

    /*
     * Then mutations, file by file. File i may mutate until its share of the budget,
     * counted from the start of the mutations, runs out; a file that finishes early leaves
     * its time to the files after it.
     */
    double mstart = now();
    unsigned long long mruns = 0;
    size_t skipped = 0;

    for (size_t i = 0; i < c.n; i++) {
        size_t len;
        uint8_t *data = file_read(c.paths[i], &len);
        double until = mstart + (double)budget * (double)(i + 1) / (double)c.n;

        if (len > max_mut) {
            skipped++;
            free(data);
            continue;
        }
        uint8_t *buf = malloc(len + REPLAY_MAX_GROWTH);
        const char *base = strrchr(c.paths[i], '/');

        rng_state = name_seed(c.paths[i], seed);

        if (!buf) {
            perror("replay");
            return 2;
        }
        for (unsigned k = 0; k < mutations; k++) {
            if (k >= REPLAY_MIN_MUTATIONS && now() > until)
                break;
            size_t n = mutate(data, len, buf);

            (void)snprintf(cur_name, sizeof cur_name, "replay-crash-%s-%u",
                           base ? base + 1 : c.paths[i], k);
            cur_path = c.paths[i];
            cur_data = buf;
            cur_len = n;
            (void)LLVMFuzzerTestOneInput(buf, n);
            cur_data = NULL;
            mruns++;
            bytes += n;
        }
        free(buf);
        free(data);
    }
    double total = now() - start;

    printf("replay: %zu files as they are in %.1f s; %llu mutations (seed %lu, up to %lu per "
           "file, %zu files too large to mutate) in %.1f s; %llu runs, %.1f MB, %.1f s\n",
           c.n, plain, mruns, seed, mutations, skipped, now() - mstart, runs + mruns,
           (double)bytes / 1e6, total);
    for (size_t i = 0; i < c.n; i++)
        free(c.paths[i]);
    free(c.paths);
    return 0;
}
