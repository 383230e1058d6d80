/*
 * util.h — the daemon's small system helpers (prefix util_): the wall clock, secrets read
 * from files, a random generator for spreading work in time, and the folders of a path.
 *
 * No state of its own: a generator is a struct its owner holds (struct daemon holds the
 * daemon's). The clock and the generator may be used from any thread (a generator by one
 * thread at a time); util_read_secret and util_ensure_parent_dir block on the file system.
 * Pure policy (scheduler.h) takes the time and random numbers these give as parameters.
 */
#ifndef FEEDWATCH_UTIL_H
#define FEEDWATCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall-clock now in Unix seconds / milliseconds. */
int64_t util_now(void);
int64_t util_now_ms(void);

/*
 * Reads a secret (a feed's password_file, a webhook's secret_file) as text: at most max
 * bytes, trailing CR/LF stripped, NUL-terminated (the secret ends at a NUL byte); NULL with
 * errno set when it cannot be read. The caller wipes it (explicit_bzero) before freeing.
 */
char *util_read_secret(const char *path, size_t max);

/*
 * Creates the folders that will hold path when they are missing (as mkdir -p, mode 0750);
 * the last component is not created. 0, or a negative errno.
 */
int util_ensure_parent_dir(const char *path);

/* A xorshift64* generator: spread, not secrecy. Its state is never 0. */
struct util_rng {
    uint64_t state;
};

/* Seeds g from the kernel (getrandom), or from the clock when the kernel gives nothing. */
void util_rng_seed(struct util_rng *g);

/* Seeds g with seed, for a sequence that repeats (tests); a seed of 0 is taken as 1. */
void util_rng_init(struct util_rng *g, uint64_t seed);

/* The next number of g, uniform over 64 bits. */
uint64_t util_rng_next(struct util_rng *g);

#endif
