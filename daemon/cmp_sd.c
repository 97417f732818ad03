/*  =========================================================================
    cmp_sd - systemd notification, compiled to stubs without libsystemd
    =========================================================================
*/

#include "cmp_classes.h"

#if defined(HAVE_LIBSYSTEMD)
#include <systemd/sd-daemon.h>

bool
cmp_sd_supervised (void)
{
    return getenv ("NOTIFY_SOCKET") != NULL;
}

void
cmp_sd_notify (const char *state)
{
    int rc = sd_notify (0, state);
    if (rc < 0)
        zsys_warning ("sd_notify (%s): %s", state, strerror (-rc));
}

void
cmp_sd_notify_reloading (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    int rc = sd_notifyf (0, "RELOADING=1\nMONOTONIC_USEC=%llu",
                         (unsigned long long) now.tv_sec * 1000000ULL
                           + (unsigned long long) now.tv_nsec / 1000ULL);
    if (rc < 0)
        zsys_warning ("sd_notify (RELOADING=1): %s", strerror (-rc));
}

uint64_t
cmp_sd_watchdog_usec (void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled (0, &usec) > 0)
        return usec;
    return 0;
}

int
cmp_sd_listen_fds (void)
{
    int count = sd_listen_fds (0);
    return count > 0 ? count : 0;
}

#else

bool
cmp_sd_supervised (void)
{
    return false;
}

void
cmp_sd_notify (const char *state)
{
    (void) state;
}

void
cmp_sd_notify_reloading (void)
{
}

uint64_t
cmp_sd_watchdog_usec (void)
{
    return 0;
}

int
cmp_sd_listen_fds (void)
{
    return 0;
}

#endif
