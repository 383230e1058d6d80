/*
 * simhash.h — near-duplicate signatures of item text: 64-bit SimHash over word shingles of the
 * normalized text. Two texts are the same story when their signatures differ in at most
 * SIMHASH_SAME_STORY bits (the threshold is documented and tested in simhash.c). Pure.
 */
#ifndef FEEDWATCH_SIMHASH_H
#define FEEDWATCH_SIMHASH_H

#include <stdbool.h>
#include <stdint.h>

/* Signature of a UTF-8 text; 0 for a text too short to say anything (never "same story"). */
uint64_t simhash_text(const char *text);

/* Number of differing bits. */
int simhash_distance(uint64_t a, uint64_t b);

/* True when both signatures are non-zero and within the same-story threshold. */
bool simhash_same_story(uint64_t a, uint64_t b);

#endif
