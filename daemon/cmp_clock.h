/*  =========================================================================
    cmp_clock - the daemon's one source of the time of day

    Every time the daemon stores (registration, changes, deadlines) comes
    from cmp_clock_now. By default it is the system's wall clock. With the
    configuration key clock/test set, it is a test clock: it starts at the
    time the key gives and moves only when cmp_clock_set is called (the
    admin's TICK request), so that tests drive deadlines without sleeping.
    Thread-safe.
    =========================================================================
*/

#ifndef CMP_CLOCK_H_INCLUDED
#define CMP_CLOCK_H_INCLUDED

//  Wall-clock time in milliseconds since the Unix epoch (UTC), or the
//  test clock's time.
int64_t cmp_clock_now (void);

//  Switch to a test clock standing at now (ms since the epoch).
void cmp_clock_test (int64_t now);

//  True if the test clock runs.
bool cmp_clock_is_test (void);

//  Set the test clock to now; it may go back. Only with a test clock.
void cmp_clock_set (int64_t now);

#endif
