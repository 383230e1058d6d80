/*
 * notify.h — systemd notification: READY, STATUS, WATCHDOG, RELOADING, STOPPING.
 *
 * Thin wrappers over sd_notify(); each is a no-op without NOTIFY_SOCKET. notify_watchdog_usec()
 * tells whether the service manager wants WATCHDOG=1 pings and how often. Loop thread.
 */
#ifndef FEEDWATCH_NOTIFY_H
#define FEEDWATCH_NOTIFY_H

#include <stdint.h>

void notify_ready(const char *status);
void notify_status(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);

/* The watchdog period in microseconds, or 0 when no watchdog is configured. */
uint64_t notify_watchdog_usec(void);

#endif
