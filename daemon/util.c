#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Wall-clock now in Unix seconds. */
int64_t
util_now(void)
{
    return (int64_t)time(NULL);
}

/* Wall-clock now in Unix milliseconds. */
int64_t
util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads a secret file: at most max bytes, trailing CR/LF stripped (see util.h). */
char *
util_read_secret(const char *path, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return NULL;
    char *buf = malloc(max + 1);
    ssize_t n = buf ? read(fd, buf, max) : -1;
    int e = buf ? errno : ENOMEM;
    close(fd);
    if (n < 0) {
        free(buf);
        errno = e;
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return buf;
}

/* Creates the folders that will hold path when they are missing (as mkdir -p, mode 0750). */
int
util_ensure_parent_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return -ENOMEM;
    char *slash = strrchr(dir, '/');
    int r = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; r == 0; p++) {
            if (*p != '/' && *p != '\0')
                continue;
            char c = *p;
            *p = '\0';
            if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                r = -errno;
            *p = c;
            if (c == '\0')
                break;
        }
    }
    free(dir);
    return r;
}

/* Seeds g from the kernel, or from the clock when the kernel gives nothing. */
void
util_rng_seed(struct util_rng *g)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed) || seed == 0)
        seed = (uint64_t)util_now_ms() | 1;
    g->state = seed;
}

/* Seeds g with seed; 0, which xorshift never leaves, is taken as 1. */
void
util_rng_init(struct util_rng *g, uint64_t seed)
{
    g->state = seed ? seed : 1;
}

/* xorshift64*: jitter needs spread, not secrecy. */
uint64_t
util_rng_next(struct util_rng *g)
{
    uint64_t x = g->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    g->state = x;
    return x * 2685821657736338717ULL;
}
