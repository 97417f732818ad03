/*  =========================================================================
    cmp_fault - makes the disk fail under the real daemon, for tests

    Loaded with LD_PRELOAD. While the file named by CMP_FAULT_TRIGGER
    exists, fdatasync and fsync fail with EIO, as a failing disk makes
    them; LMDB then refuses the commit. While the file named by
    CMP_FAULT_HANG exists, they block instead, as a stuck disk makes them.
    Nothing of LMDB or ZeroMQ is replaced: the daemon runs its own code
    against a real error.
    =========================================================================
*/

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

typedef int (s_sync_fn) (int fd);

static int
s_exists (const char *variable)
{
    const char *path = getenv (variable);
    return path && access (path, F_OK) == 0;
}

static int
s_call (const char *name, int fd)
{
    while (s_exists ("CMP_FAULT_HANG"))
        usleep (10000);
    if (s_exists ("CMP_FAULT_TRIGGER")) {
        errno = EIO;
        return -1;
    }
    s_sync_fn *real = (s_sync_fn *) dlsym (RTLD_NEXT, name);
    return real ? real (fd) : -1;
}

int
fdatasync (int fd)
{
    return s_call ("fdatasync", fd);
}

int
fsync (int fd)
{
    return s_call ("fsync", fd);
}
