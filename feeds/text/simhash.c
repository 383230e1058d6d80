#include "text/simhash.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/hash.h"
#include "text/normalize.h"

/*
 * SimHash (Charikar) over 3-word shingles of the normalized words (normalize.h: case,
 * accents, width folded; joined forms of hyphenated words left out). Every shingle's 64-bit
 * hash votes +1/-1 on each bit; the signature keeps the bits with a positive sum.
 *
 * SIMHASH_SAME_STORY: copies of one text that differ by page chrome, a dateline, a caption or
 * a few edited words stay within a few bits (seed 001 with one word changed: 1 bit; without
 * its six boilerplate lines, about a tenth of its words: 5 bits). Unrelated texts differ in
 * about 32 bits (binomial, sd 4): 25,000 pairs of real feed items measured 14 bits apart at
 * the least, 31.5 on average. 6 bits sits between the two; for independent signatures
 * P(d <= 6) is about 4e-12. The same story written twice (two translations, seeds 001 and
 * 004) shares about a tenth of its 3-word shingles and lands 33 bits apart: SimHash finds
 * copies, not paraphrases (tests/unit/test_simhash.c measures all of these).
 */
#define SIMHASH_SAME_STORY 6
#define SIMHASH_SHINGLE 3
#define SIMHASH_MIN_WORDS 8 /* fewer words: no signature */

#define BATCH_MAX 255 /* shingles a byte counter of simhash_ctx.acc holds */
#define EXACT_FROM (INT32_MAX - 2 * BATCH_MAX) /* shingles: from here on, vote one by one */

/*
 * The votes are counted in batches: acc[k] holds eight byte counters, one per bit 8k..8k+7
 * of the shingle hashes, and every BATCH_MAX shingles they are added into votes (a bit set
 * in c of n shingles gives 2c - n). That is the same sum as voting +1/-1 bit by bit, which
 * the code does from EXACT_FROM shingles on (past 4 GB of text), where a vote may saturate.
 */
struct simhash_ctx {
    uint64_t words[SIMHASH_SHINGLE];
    size_t n_words;
    int32_t votes[64];
    uint64_t acc[8];
    uint32_t batch; /* shingles in acc */
    uint64_t shingles;
};

/* The eight bits of x spread to the low bits of eight bytes (bit j to byte j). */
static inline uint64_t
spread_bits(uint64_t x)
{
    uint64_t y = (x * 0x0101010101010101ULL) & 0x8040201008040201ULL;
    return (((y + 0x7f7f7f7f7f7f7f7fULL) | y) >> 7) & 0x0101010101010101ULL;
}

static void
votes_flush(struct simhash_ctx *c)
{
    if (c->batch == 0)
        return;
    for (int k = 0; k < 8; k++) {
        for (int j = 0; j < 8; j++) {
            int32_t set = (int32_t)((c->acc[k] >> (8 * j)) & 0xff);
            c->votes[8 * k + j] += 2 * set - (int32_t)c->batch;
        }
        c->acc[k] = 0;
    }
    c->batch = 0;
}

static void
vote(struct simhash_ctx *c, uint64_t h)
{
    if (c->shingles++ < EXACT_FROM) {
        for (int k = 0; k < 8; k++)
            c->acc[k] += spread_bits((h >> (8 * k)) & 0xff);
        if (++c->batch == BATCH_MAX)
            votes_flush(c);
        return;
    }
    votes_flush(c);
    for (int b = 0; b < 64; b++) {
        if (c->votes[b] > INT32_MIN + 1 && c->votes[b] < INT32_MAX - 1)
            c->votes[b] += (h >> b) & 1 ? 1 : -1;
    }
}

static int
on_simhash_token(const struct normalize_token *tok, void *userdata)
{
    struct simhash_ctx *c = userdata;

    if (tok->joined)
        return 0;
    uint64_t w = hash_final(hash_update(HASH_SEED, tok->norm, tok->norm_len));
    _Static_assert(SIMHASH_SHINGLE == 3, "the shift below is written for 3 words");
    c->words[0] = c->words[1];
    c->words[1] = c->words[2];
    c->words[SIMHASH_SHINGLE - 1] = w;
    c->n_words++;
    if (c->n_words < SIMHASH_SHINGLE)
        return 0;
    vote(c, hash_final(hash_update(HASH_SEED, c->words, sizeof(c->words))));
    return 0;
}

/* Signature of a UTF-8 text. */
uint64_t
simhash_text(const char *text)
{
    struct simhash_ctx c;
    uint64_t sig = 0;

    if (!text)
        return 0;
    memset(&c, 0, sizeof(c));
    if (normalize_tokenize(text, strlen(text), 0, on_simhash_token, &c, NULL) != 0)
        return 0;
    if (c.n_words < SIMHASH_MIN_WORDS)
        return 0;
    votes_flush(&c);
    for (int b = 0; b < 64; b++)
        if (c.votes[b] > 0)
            sig |= 1ULL << b;
    return sig ? sig : 1; /* 0 means "no signature" */
}

/* Number of differing bits. */
int
simhash_distance(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

/* True when both signatures are non-zero and within the same-story threshold. */
bool
simhash_same_story(uint64_t a, uint64_t b)
{
    return a != 0 && b != 0 && simhash_distance(a, b) <= SIMHASH_SAME_STORY;
}
