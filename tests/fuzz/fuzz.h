/*
 * fuzz.h — the libFuzzer entry point every tests/fuzz/fuzz_<module>.c defines.
 *
 * Built two ways (tests/fuzz/CMakeLists.txt): with replay.c as an ordinary program that runs
 * a corpus plus seeded mutations (any compiler), and with clang -fsanitize=fuzzer as a real
 * libFuzzer binary. A target aborts (assert) when the code under test breaks its contract.
 */
#ifndef FEEDWATCH_FUZZ_H
#define FEEDWATCH_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs the code under test on one input; always returns 0 (libFuzzer's convention). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
