/*
 * test_util.c — the daemon's system helpers: secrets read from files (size cap, CR/LF strip,
 * NUL end, unreadable files), mkdir -p of a path's folders, the jitter generator, the clock.
 * Files live in a fresh folder under $TMPDIR (or /tmp), removed at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

struct tmp {
    char dir[256];
    char path[512];
};

static int
setup_tmp(void **state)
{
    struct tmp *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(t->dir, sizeof(t->dir), "%s/fw-util-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int
on_tree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
teardown_tmp(void **state)
{
    struct tmp *t = *state;
    int r = nftw(t->dir, on_tree_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(t);
    return r;
}

/* Writes len bytes of data to the file name in the test's folder; its path in t->path. */
static const char *
write_file(struct tmp *t, const char *name, const char *data, size_t len)
{
    snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
    FILE *f = fopen(t->path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return t->path;
}

/* Trailing CR and LF go, whatever their mix; inner ones and other blanks stay. */
static void
test_util_read_secret_strips_trailing_newlines(void **state)
{
    struct tmp *t = *state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"hunter2", "hunter2"},         {"hunter2\n", "hunter2"}, {"hunter2\r\n", "hunter2"},
        {"hunter2\n\r\n\n", "hunter2"}, {"hunter2\r", "hunter2"}, {"two\nlines\n", "two\nlines"},
        {" spaced \t\n", " spaced \t"}, {"\n\r\n", ""},           {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *path = write_file(t, "secret", cases[i].in, strlen(cases[i].in));
        char *s = util_read_secret(path, 4096);
        assert_non_null(s);
        assert_string_equal(s, cases[i].out);
        free(s);
    }
}

/* At most max bytes are read: a longer file is cut, and what is cut is not stripped again. */
static void
test_util_read_secret_reads_at_most_max(void **state)
{
    struct tmp *t = *state;
    const char *path = write_file(t, "long", "0123456789abcdef\n", 17);
    char *s = util_read_secret(path, 10);
    assert_non_null(s);
    assert_string_equal(s, "0123456789");
    free(s);
    s = util_read_secret(path, 16); /* the newline is the 17th byte: not read */
    assert_non_null(s);
    assert_string_equal(s, "0123456789abcdef");
    free(s);
    path = write_file(t, "nl", "abc\n\n\nX", 7);
    s = util_read_secret(path, 5); /* "abc\n\n": the cut ends in newlines, stripped */
    assert_non_null(s);
    assert_string_equal(s, "abc");
    free(s);
    s = util_read_secret(path, 0);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

/* The secret is a C string: it ends at a NUL byte in the file, and is always terminated. */
static void
test_util_read_secret_ends_at_nul(void **state)
{
    struct tmp *t = *state;
    const char *path = write_file(t, "nul", "abc\0def\n", 8);
    char *s = util_read_secret(path, 4096);
    assert_non_null(s);
    assert_int_equal(strlen(s), 3);
    assert_string_equal(s, "abc");
    free(s);
    path = write_file(t, "exact", "xyz", 3);
    s = util_read_secret(path, 3); /* the buffer is full to max: the NUL goes after it */
    assert_non_null(s);
    assert_int_equal(strlen(s), 3);
    free(s);
}

/* A file that cannot be read is NULL with errno saying why; nothing is left open. */
static void
test_util_read_secret_unreadable(void **state)
{
    struct tmp *t = *state;
    char path[600];
    snprintf(path, sizeof(path), "%s/missing", t->dir);
    errno = 0;
    assert_null(util_read_secret(path, 4096));
    assert_int_equal(errno, ENOENT);
    /* A folder opens but cannot be read (root reads any mode, so not a chmod 000 file). */
    errno = 0;
    assert_null(util_read_secret(t->dir, 4096));
    assert_int_equal(errno, EISDIR);
    /* A path through a regular file. */
    write_file(t, "plain", "x", 1);
    snprintf(path, sizeof(path), "%s/plain/below", t->dir);
    errno = 0;
    assert_null(util_read_secret(path, 4096));
    assert_int_equal(errno, ENOTDIR);
}

/* The folders of a path are made as mkdir -p would, the last component is not. */
static void
test_util_ensure_parent_dir(void **state)
{
    struct tmp *t = *state;
    char path[600], probe[600];
    struct stat st;
    mode_t old_mask = umask(022);
    snprintf(path, sizeof(path), "%s/a/b/c/feedwatch.db", t->dir);
    assert_int_equal(util_ensure_parent_dir(path), 0);
    (void)umask(old_mask);
    snprintf(probe, sizeof(probe), "%s/a/b/c", t->dir);
    assert_int_equal(stat(probe, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0750);
    assert_int_equal(stat(path, &st), -1); /* the file itself is not made */
    /* Again: the folders exist, that is fine. */
    assert_int_equal(util_ensure_parent_dir(path), 0);
    /* A relative name without a folder, and one at the root, need nothing. */
    assert_int_equal(util_ensure_parent_dir("feedwatch.db"), 0);
    assert_int_equal(util_ensure_parent_dir("/feedwatch.db"), 0);
    /* A file where a folder must go. */
    write_file(t, "file", "x", 1);
    snprintf(path, sizeof(path), "%s/file/sub/x.sock", t->dir);
    assert_int_equal(util_ensure_parent_dir(path), -ENOTDIR);
}

/* xorshift64*: the same seed gives the same numbers, 0 is no seed, and the output spreads. */
static void
test_util_rng(void **state)
{
    (void)state;
    struct util_rng a, b, z;
    util_rng_init(&a, 1);
    /* The first two numbers of xorshift64* (12, 25, 27; 2685821657736338717) from state 1. */
    assert_true(util_rng_next(&a) == 5180492295206395165ULL);
    assert_true(util_rng_next(&a) == 12380297144915551517ULL);
    util_rng_init(&a, 42);
    util_rng_init(&b, 42);
    util_rng_init(&z, 0); /* stuck at 0 forever if taken as is */
    unsigned low_bits[8] = {0};
    for (int i = 0; i < 4096; i++) {
        uint64_t x = util_rng_next(&a);
        assert_true(x == util_rng_next(&b));
        (void)util_rng_next(&z);
        low_bits[x % 8]++;
    }
    assert_true(z.state != 0);
    for (int i = 0; i < 8; i++) /* 512 each on average */
        assert_true(low_bits[i] > 384 && low_bits[i] < 640);
    /* Seeded from the kernel: never the stuck state. */
    util_rng_seed(&a);
    assert_true(a.state != 0);
}

/* The clock in seconds and in milliseconds agree. */
static void
test_util_now(void **state)
{
    (void)state;
    int64_t s0 = util_now();
    int64_t ms = util_now_ms();
    int64_t s1 = util_now();
    assert_true(s0 > 1600000000); /* after 2020: a wall clock, not a monotonic one */
    assert_true(ms / 1000 >= s0 && ms / 1000 <= s1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_util_read_secret_strips_trailing_newlines, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_util_read_secret_reads_at_most_max, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_util_read_secret_ends_at_nul, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_util_read_secret_unreadable, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_util_ensure_parent_dir, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_util_rng),
        cmocka_unit_test(test_util_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
