/* hash.c — FNV-1a 64 with a murmur3-style finaliser, written for feedwatch. */
#include "base/hash.h"

/* Folds len bytes into the running state h and returns the new state. */
uint64_t
hash_update(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL; /* the FNV 64-bit prime */
    }
    return h;
}

/* Finishes a running state into the final hash value. */
uint64_t
hash_final(uint64_t h)
{
    /*
     * FNV-1a mixes its last bytes poorly into the high bits; the 64-bit finaliser of
     * MurmurHash3 (fmix64) spreads every input bit over the whole word.
     */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}
