/*  =========================================================================
    cmp_clock - the daemon's one source of the time of day
    =========================================================================
*/

#include "cmp_classes.h"

static bool s_test;   //  The test clock runs
static int64_t s_now; //  Its time

int64_t
cmp_clock_now (void)
{
    if (__atomic_load_n (&s_test, __ATOMIC_ACQUIRE))
        return __atomic_load_n (&s_now, __ATOMIC_ACQUIRE);
    return zclock_time ();
}

void
cmp_clock_test (int64_t now)
{
    __atomic_store_n (&s_now, now, __ATOMIC_RELEASE);
    __atomic_store_n (&s_test, true, __ATOMIC_RELEASE);
}

bool
cmp_clock_is_test (void)
{
    return __atomic_load_n (&s_test, __ATOMIC_ACQUIRE);
}

void
cmp_clock_set (int64_t now)
{
    assert (cmp_clock_is_test ());
    __atomic_store_n (&s_now, now, __ATOMIC_RELEASE);
}
