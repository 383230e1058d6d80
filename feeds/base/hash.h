/*
 * hash.h — a small non-cryptographic 64-bit hash for item keys (FNV-1a with a final
 * avalanche step). Stable across runs and platforms: keys derived from it are stored.
 * Pure; any thread.
 */
#ifndef FEEDWATCH_HASH_H
#define FEEDWATCH_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SEED 0xcbf29ce484222325ULL /* the FNV-1a 64-bit offset basis */

/* Folds len bytes into the running state h and returns the new state. */
uint64_t hash_update(uint64_t h, const void *data, size_t len);

/* Finishes a running state into the final hash value. */
uint64_t hash_final(uint64_t h);

#endif
