/*
 * clock_skew.c — a test shim (LD_PRELOAD) that sets the wall clock of the process it is
 * preloaded into FW_CLOCK_SKEW_S seconds behind the real one (ahead when negative):
 * CLOCK_REALTIME only, so timers and timeouts (CLOCK_MONOTONIC) are untouched. For
 * test_cluster's node whose clock is off the database server's. Not part of feedwatch.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

int
clock_gettime(clockid_t id, struct timespec *ts)
{
    static int (*real)(clockid_t, struct timespec *);
    if (!real)
        real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int r = real(id, ts);
    const char *s = getenv("FW_CLOCK_SKEW_S");
    if (r == 0 && id == CLOCK_REALTIME && s)
        ts->tv_sec -= atol(s);
    return r;
}
