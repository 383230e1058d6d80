/*
 * hash.h — a small non-cryptographic 64-bit hash for item keys (FNV-1a with a final
 * avalanche step), and SHA-256 for the keys of overlong ids and links. Stable across runs
 * and platforms: keys derived from them are stored.
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

/*
 * The fingerprint of an item's fields as its feed gives them (each may be NULL): a hash of
 * their exact bytes, never 0 (text/edits.h: equal fingerprints, no edit to look at).
 */
uint64_t hash_item_fields(const char *title, const char *summary, const char *content);

#define HASH_SHA256_LEN 32
#define HASH_SHA256_HEX (2 * HASH_SHA256_LEN + 1) /* lowercase hex and its NUL */

/* SHA-256 (FIPS 180-4) of len bytes into out. */
void hash_sha256(const void *data, size_t len, unsigned char out[HASH_SHA256_LEN]);

/* The same as lowercase hex, NUL-terminated. */
void hash_sha256_hex(const void *data, size_t len, char out[HASH_SHA256_HEX]);

#endif
