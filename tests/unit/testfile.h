/*
 * testfile.h — how the unit tests read their data: a whole file, or a seed of
 * tests/fixtures/corpus/seeds/ by name. A file that cannot be read fails the test (a
 * missing datum is a failure, never a skip). Include after <cmocka.h>; static inline, so
 * a test that uses one of them only builds without warnings.
 */
#ifndef FEEDWATCH_TEST_TESTFILE_H
#define FEEDWATCH_TEST_TESTFILE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole file at path, NUL-terminated; its length in *ret_len (when not NULL). */
static inline char *
test_read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        fail_msg("cannot read %s: %s", path, strerror(errno));
    buf[n] = '\0';
    (void)fclose(f);
    if (ret_len)
        *ret_len = (size_t)n;
    return buf;
}

/* The seed called name (tests/fixtures/corpus/seeds/name), as test_read_file. */
static inline char *
test_read_seed(const char *name, size_t *ret_len)
{
    char path[4096];

    (void)snprintf(path, sizeof(path), "%s/seeds/%s", FW_CORPUS, name);
    char *buf = test_read_file(path, ret_len);
    if (!buf[0])
        fail_msg("seed %s is empty", name);
    return buf;
}

#endif
