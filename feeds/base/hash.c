/* hash.c — FNV-1a 64 with a murmur3-style finaliser, and SHA-256, written for feedwatch. */
#include "base/hash.h"

#include <string.h>

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

/* ---- SHA-256 (FIPS 180-4) ---- */

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t
ror32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

/* One 64-byte block into the state. */
static void
sha256_block(uint32_t st[8], const unsigned char *b)
{
    uint32_t w[64], v[8];

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
               (uint32_t)b[4 * i + 2] << 8 | (uint32_t)b[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);

        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    for (int i = 0; i < 8; i++)
        v[i] = st[i];
    for (int i = 0; i < 64; i++) {
        uint32_t s1 = ror32(v[4], 6) ^ ror32(v[4], 11) ^ ror32(v[4], 25);
        uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
        uint32_t t1 = v[7] + s1 + ch + sha256_k[i] + w[i];
        uint32_t s0 = ror32(v[0], 2) ^ ror32(v[0], 13) ^ ror32(v[0], 22);
        uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
        uint32_t t2 = s0 + maj;

        v[7] = v[6];
        v[6] = v[5];
        v[5] = v[4];
        v[4] = v[3] + t1;
        v[3] = v[2];
        v[2] = v[1];
        v[1] = v[0];
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        st[i] += v[i];
}

/* SHA-256 (FIPS 180-4) of len bytes into out. */
void
hash_sha256(const void *data, size_t len, unsigned char out[HASH_SHA256_LEN])
{
    uint32_t st[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const unsigned char *p = data;
    unsigned char tail[128] = {0};
    size_t full = len / 64 * 64, rest = len - full, tail_len;
    uint64_t bits = (uint64_t)len * 8;

    for (size_t i = 0; i < full; i += 64)
        sha256_block(st, p + i);
    /* The last bytes, 0x80, zeros and the length in bits: one block or two. */
    for (size_t i = 0; i < rest; i++)
        tail[i] = p[full + i];
    tail[rest] = 0x80;
    tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - (size_t)i] = (unsigned char)(bits >> (8 * i));
    for (size_t i = 0; i < tail_len; i += 64)
        sha256_block(st, tail + i);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(st[i] >> 24);
        out[4 * i + 1] = (unsigned char)(st[i] >> 16);
        out[4 * i + 2] = (unsigned char)(st[i] >> 8);
        out[4 * i + 3] = (unsigned char)st[i];
    }
}

/* The same as lowercase hex, NUL-terminated. */
void
hash_sha256_hex(const void *data, size_t len, char out[HASH_SHA256_HEX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[HASH_SHA256_LEN];

    hash_sha256(data, len, md);
    for (size_t i = 0; i < HASH_SHA256_LEN; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * HASH_SHA256_LEN] = '\0';
}

/*
 * Folds n bytes into h eight at a time (little-endian words, whatever the machine: the value
 * is stored), each word multiplied in and its high half folded down; the length ends it.
 * About ten times FNV-1a's speed: a poll fingerprints every stored item of its document.
 */
static uint64_t
fold_words(uint64_t h, const unsigned char *p, size_t n)
{
    const uint64_t k = 0x9e3779b97f4a7c15ULL;
    size_t left = n;
    while (left >= 8) {
        uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
                     (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
                     (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
        h = (h ^ w) * k;
        h ^= h >> 32;
        p += 8;
        left -= 8;
    }
    uint64_t w = (uint64_t)n << 56;
    for (size_t i = 0; i < left; i++)
        w ^= (uint64_t)p[i] << (8 * i);
    h = (h ^ w) * k;
    return h ^ (h >> 32);
}

uint64_t
hash_item_fields(const char *title, const char *summary, const char *content)
{
    const char *f[] = {title, summary, content};
    uint64_t h = HASH_SEED;
    for (size_t i = 0; i < 3; i++) {
        /* A field's presence and its length are folded in too: ("ab", "") is not ("a", "b"). */
        h = f[i] ? fold_words(h, (const unsigned char *)f[i], strlen(f[i]))
                 : (h ^ 0xffULL) * 0x100000001b3ULL;
    }
    h = hash_final(h);
    return h ? h : 1;
}
