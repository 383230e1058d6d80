#include "notify.h"

#include <systemd/sd-daemon.h>

#include "log.h"

/* Sends READY=1 with a first status line. */
void
notify_ready(const char *status)
{
    (void)sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

/* Sends a one-line STATUS=. */
void
notify_status(const char *status)
{
    (void)sd_notifyf(0, "STATUS=%s", status);
}

/*
 * Sends RELOADING=1; READY=1 follows when the reload is done (or has failed).
 */
void
notify_reloading(void)
{
    (void)sd_notify(0, "RELOADING=1");
}

/* Sends STOPPING=1. */
void
notify_stopping(void)
{
    (void)sd_notify(0, "STOPPING=1");
}

/* Sends WATCHDOG=1. */
void
notify_watchdog(void)
{
    (void)sd_notify(0, "WATCHDOG=1");
}

/* The watchdog period in microseconds, or 0 when no watchdog is configured. */
uint64_t
notify_watchdog_usec(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0)
        return 0;
    return usec;
}
