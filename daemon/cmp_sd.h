/*  =========================================================================
    cmp_sd - systemd notification, compiled to stubs without libsystemd

    The only class that includes sd-daemon.h (PgBouncer's bouncer.h idea).
    =========================================================================
*/

#ifndef CMP_SD_H_INCLUDED
#define CMP_SD_H_INCLUDED

//  True when a service manager listens for notifications (NOTIFY_SOCKET).
bool cmp_sd_supervised (void);

//  Send a state string such as "READY=1"; does nothing when unsupervised.
void cmp_sd_notify (const char *state);

//  Send RELOADING=1 with MONOTONIC_USEC, as systemd's reload protocol asks.
void cmp_sd_notify_reloading (void);

//  Watchdog interval in microseconds, or 0 when the watchdog is off.
uint64_t cmp_sd_watchdog_usec (void);

//  Number of sockets passed by socket activation (LISTEN_FDS), 0 if none.
int cmp_sd_listen_fds (void);

#endif
