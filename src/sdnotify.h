/* systemd's notify protocol (sd_notify(3)) without libsystemd: one datagram
 * to $NOTIFY_SOCKET. Used for Type=notify readiness ("READY=1"), stopping
 * and the watchdog. A no-op when not run by systemd. */
#ifndef PB_SDNOTIFY_H
#define PB_SDNOTIFY_H

#include <stdint.h>

/* Sends state (e.g. "READY=1\nSTATUS=...") if $NOTIFY_SOCKET is set.
 * Returns 1 sent, 0 not under systemd, -1 on error. */
int pb_sd_notify(const char *state);

/* The watchdog interval systemd asks for ($WATCHDOG_USEC, for this pid), in
 * microseconds; 0 if none. */
int64_t pb_sd_watchdog_usec(void);

#endif
