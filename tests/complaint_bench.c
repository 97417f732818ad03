/*  =========================================================================
    complaint_bench - throughput and latency of complaintd

    Measures, in one run, the two limits a SUBMIT meets on its way to disk
    and what the daemon makes of them, and prints them side by side:

    1. LMDB: cmp_store alone, with a record and an event of the size the
       daemon stores, 1, 64, 256 and 1000 records per fsync'd commit. Each
       record does the daemon's index work: ref lookup, record, number,
       ref (random keys, as adapters' call ids are), by_time, by_channel,
       event.
    2. ZeroMQ: DEALER -> ROUTER echo over tcp on 127.0.0.1, with messages
       the size of an encoded SUBMIT, 1 and 4 connections.
    3. complaintd: the built daemon as a child process on a generated
       configuration, 1 and 4 DEALER connections (one actor each) keeping
       a fixed window of SUBMITs with unique refs in flight.
    4. Case actions on the same daemon, on the complaints of 3: ACTs that
       leave the state as it is (note and contact, in turn) on random
       complaints, by an actor with the agent role, with the same
       connections and windows; ACTED comes after the fsync'd commit.
       Then SIGTERM, and the daemon must exit 0.
    5. The daemon against the lower of the two raw limits, and the targets.
    6. Reads on a large store: COMPLAINT_BENCH_STORED complaints (default
       1000000; 0 skips this part) registered straight through cmp_intake
       in large fsync'd commits, received over a year, 1% of them assigned
       through cmp_case to a department and a handler; then a daemon on
       that store answers GET (random ids), one-page LISTs and COUNTs with
       filters, one request at a time.
    7. Triage (分类、评估): cmp_triage_apply in this process, one call at a
       time, on 16 variants of a 2 KB complaint (Chinese with some
       English), against the shipped rules and against 500 generated ones
       (keyword lists, all, none, patterns, channels, repeats, times):
       median and p99 time per call, and the medians of its two parts as
       the daemon splits them: the scan of the texts, done by the event
       loop as a SUBMIT comes in (cmp_triage_scan_new), and the rest, done
       by the writer in the transaction (cmp_triage_apply with the scan).
       Then the intake as in 3 on two
       daemons, one with triage off (-o triage/enabled=false), one with
       the shipped rules, measured in turn, each complaint with a phone
       number of its own but one in 10 with that of an earlier one (a
       repeat): acknowledgements per second with triage on and off, and
       their ratio against the target (triage costs at most a tenth).
    8. Deadlines: for 10000 and COMPLAINT_BENCH_DEADLINES complaints
       (default 1000000; 0 skips that size), each in a fresh store, the
       complaints registered straight through cmp_intake as in 6 but with
       a rulebook (triage off, so every one gets the clocks of the
       shipped standard policy) and all at one instant (Wed 2026-11-18
       10:00 Shanghai): one pending deadline each in the timers index.
       Then a daemon on a test clock (clock/test) on that store: time
       from its start to the first HEALTH reply, and its memory (VmRSS,
       RssAnon, RssFile from /proc; LMDB's pages are file-backed) once it
       serves; then the burst: an admin sends TICK at the earliest point,
       which every complaint shares, until TICKED says nothing is pending
       (the daemon also fires, by itself, batches of sla/fire_max between
       TICKs): complaints fired per second, the memory again, and the
       store checked afterwards (nothing due left). Target: the daemon's
       anonymous memory does not grow with the number of pending
       deadlines.

    Round-trip rows also show the CPU this process and the daemon used
    while they counted (1 = one CPU kept busy), and for the daemon its mean
    batch: replies to SUBMITs of one commit share their received_at, and
    the events of ACTs of one commit (on the events endpoint) their "at".

    It is not a test: a slow machine only gives small figures. It exits 1
    only when something is broken: the store cannot be written, the daemon
    does not start, refuses a SUBMIT or an ACT, loses a reply, stores a
    different number of complaints or events than it acknowledged, answers
    a read with other results than the store holds, triages with triage
    off or not with it on, refuses a TICK, leaves deadline points due
    that a burst should have fired, or does not exit 0; or triage rules
    are refused.

        COMPLAINTD_BUILD=build build/complaint_bench      (make bench)
        COMPLAINT_BENCH_STORED=100000 make bench          (a quicker run)
        COMPLAINT_BENCH_DEADLINES=100000 make bench       (8 smaller)
        COMPLAINT_BENCH_ONLY=8 make bench                 (only part 8)

    COMPLAINT_BENCH_ONLY=N runs only part N: 1 to 5 go together (each of
    2 to 5 needs the ones before it), 6, 7 and 8 run alone.

    The daemon is $COMPLAINTD_BUILD/complaintd (default build/complaintd).
    Stores and the daemon's log live in a fresh directory under $TMPDIR,
    removed at the end.
    =========================================================================
*/

#include <fcntl.h>
#include <mntent.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "cmp_classes.h"

//  Seconds each measurement counts; round-trip runs warm up first
#define LMDB_SECONDS 2.0
#define ECHO_SECONDS 2.0
#define DAEMON_SECONDS 3.0
#define WARMUP_SECONDS 0.5

//  Most connections in a run, and requests in flight on one connection.
//  A request id is (counter << SLOT_BITS) | slot, so that a reply finds
//  its send time in O(1) whatever order replies come in.
#define CONNECTIONS_MAX 8
#define SLOT_BITS 10
#define SLOTS_MAX (1 << SLOT_BITS)

//  A reply later than this means something is broken, ms
#define REPLY_TIMEOUT 10000

//  Messages the echo ROUTER takes per wake-up, as the daemon's batch_max
#define ECHO_BATCH 512

//  Initial LMDB map, for the raw store and the daemon alike, so that
//  neither spends the run growing it
#define MAP_SIZE "1G"
#define MAP_SIZE_BYTES ((size_t) 1 << 30)

//  Longest path of the temporary directory; files in it fit in PATH_MAX
#define DIRECTORY_MAX 1024

//  Channel of every complaint of the benchmark
#define CHANNEL "phone"

//  Targets, printed for comparison only
#define TARGET_RATE 50000.0
#define TARGET_RATIO (2.0 / 3.0)
#define TARGET_P99_MS 15.0

//  What a round-trip run talks to: the echo ROUTER, the daemon's intake
//  (SUBMIT) or its api (ACT)
#define MODE_ECHO 1
#define MODE_DAEMON 2
#define MODE_ACT 3

//  The actor of every ACT and read, given the agent role in the daemon's
//  configuration
#define ACTOR "bench.agent"

//  6. Complaints of the large store, unless COMPLAINT_BENCH_STORED says
#define STORED_DEFAULT 1000000
//  Registrations per fsync'd commit while filling it, and its initial map
#define FILL_BATCH 20000
#define FILL_MAP_SIZE "8G"
#define FILL_MAP_SIZE_BYTES ((size_t) 8 << 30)
//  Over how long the complaints were received, ms (a year)
#define FILL_SPAN (365LL * 86400 * 1000)
//  One complaint in FILL_ASSIGN_EVERY is assigned, to one of the
//  departments and handlers below in turn
#define FILL_ASSIGN_EVERY 100
#define HANDLERS 20
//  Each read is measured this long, at least QUERY_MIN and at most
//  QUERY_MAX times, one request at a time
#define QUERY_SECONDS 1.0
#define QUERY_MIN 5
#define QUERY_MAX 3000
//  Page size of the LISTs measured
#define QUERY_PAGE 50
//  SUBMITs in flight on the intake while the api is idle or reads
#define BESIDE_IN_FLIGHT 64

//  7. Triage: each rule set is timed on TRIAGE_VARIANTS complaints in
//  turn, TRIAGE_WARMUP calls untimed, then TRIAGE_CALLS calls or for
//  TRIAGE_SECONDS, whichever ends first
#define TRIAGE_VARIANTS 16
#define TRIAGE_WARMUP 200
#define TRIAGE_CALLS 20000
#define TRIAGE_SECONDS 4.0
//  Bytes of each complaint's description, at least, and rules generated
#define TRIAGE_DESCRIPTION 1800
#define TRIAGE_RULES 500
//  One SUBMIT in REPEAT_EVERY has the phone number of an earlier one
#define REPEAT_EVERY 10
//  Complaints each daemon is asked for afterwards, to check its triage
#define TRIAGE_CHECK 200
//  Target: the intake with triage on keeps this share of it off
#define TARGET_TRIAGE_RATIO 0.90

//  8. Deadlines: the small store, and the large one unless
//  COMPLAINT_BENCH_DEADLINES says
#define DEADLINES_SMALL 10000
#define DEADLINES_DEFAULT 1000000
//  The instant every complaint of 8 is registered at, and the daemon's
//  test clock starts at: Wed 2026-11-18 10:00 in Shanghai (02:00 UTC)
#define DEADLINES_AT 1794967200000LL
//  The actor of the TICKs, given the admin role
#define ADMIN "bench.admin"
//  Target: the daemon's anonymous memory after its start grows by at most
//  this from the small store to the large one (4 bytes a deadline would
//  already be 4 MB at a million)
#define TARGET_ANON_GROWTH_KB 4096

//  What the api does while SUBMITs are measured on the intake: nothing
//  (no type), or one of the reads of 6 (type and key), again and again
static const struct
{
    int type;        //  CMP_PROTO_LIST or _COUNT, 0 for none
    const char *key; //  Its key in the reads of 6
} s_beside[] = {{0, NULL},
                {CMP_PROTO_COUNT, "state_registered"},
                {CMP_PROTO_LIST, "state_registered_channel_email"}};
#define BESIDE (sizeof (s_beside) / sizeof (s_beside[0]))

//  Departments complaints are assigned to
static const char *s_departments[] = {"放射科 Radiology",  "急诊科 Emergency",
                                      "收费处 Billing",    "门诊部 Outpatients",
                                      "儿科 Paediatrics",  "心内科 Cardiology",
                                      "药房 Pharmacy",     "检验科 Laboratory",
                                      "住院部 Inpatients", "后勤 Facilities"};
#define DEPARTMENTS (sizeof (s_departments) / sizeof (s_departments[0]))

//  Records per commit measured on the raw store
static const size_t s_batches[] = {1, 64, 256, 1000};
#define BATCHES (sizeof (s_batches) / sizeof (s_batches[0]))

//  Round-trip runs: connections and requests in flight in all. The daemon
//  batches what is in flight, so a run compares with the LMDB batch of
//  the same size.
static const struct
{
    size_t connections; //  DEALER connections
    size_t in_flight;   //  Requests in flight, all connections
} s_runs[] = {{1, 64}, {1, 256}, {4, 64}, {4, 256}};
#define RUNS (sizeof (s_runs) / sizeof (s_runs[0]))

//  --------------------------------------------------------------------------
//  Samples: round-trip or commit times, in microseconds

typedef struct
{
    int64_t *values; //  The samples
    size_t size;     //  Samples held
    size_t alloc;    //  Room in values
    bool sorted;     //  values is in ascending order
} s_samples_t;

static void
s_samples_add (s_samples_t *self, int64_t value)
{
    if (self->size == self->alloc) {
        self->alloc = self->alloc ? self->alloc * 2 : 4096;
        self->values =
          (int64_t *) realloc (self->values, self->alloc * sizeof (int64_t));
        assert (self->values);
    }
    self->values[self->size++] = value;
    self->sorted = false;
}

static void
s_samples_append (s_samples_t *self, s_samples_t *other)
{
    for (size_t index = 0; index < other->size; index++)
        s_samples_add (self, other->values[index]);
}

static void
s_samples_free (s_samples_t *self)
{
    free (self->values);
    memset (self, 0, sizeof (*self));
}

static int
s_compare_int64 (const void *first, const void *second)
{
    int64_t one = *(const int64_t *) first;
    int64_t other = *(const int64_t *) second;
    return one < other ? -1 : one > other;
}

//  Nearest-rank percentile (0 < rank <= 1) in milliseconds, 0 if empty
static double
s_samples_ms (s_samples_t *self, double rank)
{
    if (self->size == 0)
        return 0;
    if (!self->sorted) {
        qsort (self->values, self->size, sizeof (int64_t), s_compare_int64);
        self->sorted = true;
    }
    double position = rank * (double) self->size;
    size_t index = (size_t) position;
    if ((double) index < position)
        index++;
    index = index ? index - 1 : 0;
    if (index >= self->size)
        index = self->size - 1;
    return (double) self->values[index] / 1000.0;
}

//  --------------------------------------------------------------------------
//  The complaint, its stored record and its event

//  A unique ref in random key order, as call ids and Message-IDs are: a
//  bijective mix (splitmix64's finalizer) of run, connection and counter
static void
s_ref (
  char *ref, size_t size, uint64_t run, uint64_t connection, uint64_t counter)
{
    uint64_t value = (run << 48) | (connection << 40) | counter;
    value ^= value >> 30;
    value *= 0xbf58476d1ce4e5b9ULL;
    value ^= value >> 27;
    value *= 0x94d049bb133111ebULL;
    value ^= value >> 31;
    snprintf (ref, size, "call-%016" PRIx64, value);
}

//  Fill message with a realistic complaint, in Chinese and English
static void
s_complaint_fill (cmp_proto_t *message, int64_t now)
{
    char ref[32];
    s_ref (ref, sizeof (ref), 0, 0, 0);
    cmp_proto_set_channel (message, CHANNEL);
    cmp_proto_set_ref (message, ref);
    cmp_proto_set_complained_at (message, now - 3600 * 1000);
    cmp_proto_set_name (message, "李伟 Li Wei");
    cmp_proto_set_phone (message, "+86 138 0013 8000");
    cmp_proto_set_relation (message, "患者之子 son of the patient");
    cmp_proto_set_department (message, "放射科 Radiology");
    cmp_proto_set_location (message, "门诊楼B座二层 Building B, floor 2");
    cmp_proto_set_description (
      message,
      "预约了上午9点的X光检查，一直等到12点10分，前台没有人解释延误的原因。"
      "候诊区座位不够，我父亲（78岁）只能站着等。\n"
      "Booked an X-ray for 09:00 and waited until 12:10. Nobody at the desk "
      "explained the delay; the waiting area was full and my father (78) had "
      "to stand.");
    cmp_proto_set_demands (message, "希望医院书面道歉并说明延误原因。A written "
                                    "apology and an explanation of the delay.");
    cmp_proto_add_attachment (message,
                              "https://files.example.org/c/8f3a2b.jpg");
    cmp_proto_add_tag (message, "waiting-time");
    cmp_proto_add_tag (message, "候诊");
}

//  A SUBMIT as a channel adapter sends it
static cmp_proto_t *
s_submit_new (int64_t now)
{
    cmp_proto_t *submit = cmp_proto_new (CMP_PROTO_SUBMIT);
    assert (submit);
    s_complaint_fill (submit, now);
    return submit;
}

//  The record the daemon stores for that SUBMIT (cmp_intake_register)
static zchunk_t *
s_record_new (int64_t now)
{
    cmp_proto_t *record = cmp_proto_new (CMP_PROTO_COMPLAINT);
    assert (record);
    s_complaint_fill (record, now);
    cmp_proto_set_complaint_id (record, 123456);
    cmp_proto_set_number (record, "20261123-000042");
    cmp_proto_set_received_at (record, now);
    cmp_proto_set_state (record, "registered");
    cmp_proto_set_version (record, 1);
    zchunk_t *chunk = cmp_proto_encode_map (record);
    cmp_proto_destroy (&record);
    return chunk;
}

//  The complaint.created event the daemon stores with it
static zchunk_t *
s_event_new (int64_t now)
{
    cmp_proto_t *event = cmp_proto_new (CMP_PROTO_EVENT);
    assert (event);
    cmp_proto_set_seq (event, 123456);
    cmp_proto_set_topic (event, CMP_TOPIC_CREATED);
    cmp_proto_set_at (event, now);
    cmp_proto_set_complaint_id (event, 123456);
    cmp_proto_set_number (event, "20261123-000042");
    cmp_proto_set_channel (event, CHANNEL);
    cmp_proto_set_state (event, "registered");
    cmp_proto_set_department (event, "放射科 Radiology");
    zchunk_t *chunk = cmp_proto_encode_map (event);
    cmp_proto_destroy (&event);
    return chunk;
}

//  --------------------------------------------------------------------------
//  1. Raw LMDB: cmp_store alone

//  One measured LMDB configuration
typedef struct
{
    size_t batch;     //  Records per commit
    uint64_t records; //  Records committed
    uint64_t commits; //  Commits
    double seconds;   //  Time taken
    double rate;      //  Records per second
    double p50;       //  Time per batch (begin to commit), ms
    double p99;       //  Same, 99th percentile
} s_lmdb_t;

//  Write one batch in one transaction, as s_batch_commit does: grow the
//  map and redo the batch when it is full. Returns 0 or -1.
static int
s_lmdb_batch (cmp_store_t *store,
              size_t batch,
              uint64_t run,
              uint64_t first,
              zchunk_t *record,
              zchunk_t *event)
{
    while (true) {
        if (cmp_store_begin (store))
            return -1;
        int64_t now = zclock_time ();
        int rc = 0;
        for (size_t index = 0; index < batch && rc == 0; index++) {
            char ref[32];
            s_ref (ref, sizeof (ref), run, 0, first + index);
            //  Refs are unique: a hit would be a broken store
            uint64_t known;
            if (cmp_store_ref_find (store, CHANNEL, ref, &known) || known) {
                fprintf (stderr, "E: ref %s found before it was stored\n", ref);
                cmp_store_abort (store);
                return -1;
            }
            char number[32];
            uint64_t id =
              cmp_store_next_id (store, now, number, sizeof (number));
            rc = cmp_store_complaint_put (store, id, number, CHANNEL, ref, now,
                                          record);
            if (rc == 0)
                rc = cmp_store_event_put (store, cmp_store_next_seq (store),
                                          event);
        }
        if (rc == 0 && cmp_store_commit (store) == 0)
            return 0;
        cmp_store_abort (store);
        if (!cmp_store_full (store) || cmp_store_grow (store))
            return -1;
    }
}

//  Measure batch records per commit in a fresh store under path
static int
s_lmdb_measure (s_lmdb_t *result,
                const char *path,
                size_t batch,
                uint64_t run,
                zchunk_t *record,
                zchunk_t *event)
{
    memset (result, 0, sizeof (*result));
    result->batch = batch;
    cmp_store_t *store = cmp_store_new (path, MAP_SIZE_BYTES, 0);
    if (!store) {
        fprintf (stderr, "E: cannot open a store in %s\n", path);
        return -1;
    }
    s_samples_t samples = {NULL, 0, 0, false};
    int rc = 0;
    int64_t start = zclock_usecs ();
    int64_t end = start + (int64_t) (LMDB_SECONDS * 1e6);
    int64_t now = start;
    while (now < end && !zsys_interrupted) {
        int64_t began = now;
        if (s_lmdb_batch (store, batch, run, result->records + 1, record,
                          event)) {
            rc = -1;
            break;
        }
        now = zclock_usecs ();
        s_samples_add (&samples, now - began);
        result->records += batch;
        result->commits++;
    }
    result->seconds = (double) (now - start) / 1e6;
    result->rate =
      result->seconds > 0 ? (double) result->records / result->seconds : 0;
    result->p50 = s_samples_ms (&samples, 0.50);
    result->p99 = s_samples_ms (&samples, 0.99);
    s_samples_free (&samples);
    if (rc)
        fprintf (stderr, "E: the store in %s failed a write\n", path);
    cmp_store_destroy (&store);
    zdir_t *dir = zdir_new (path, NULL);
    if (dir) {
        zdir_remove (dir, true);
        zdir_destroy (&dir);
    }
    return zsys_interrupted ? -1 : rc;
}

//  --------------------------------------------------------------------------
//  Round trips: DEALER connections keeping a window in flight

//  One measured round-trip run (echo or daemon)
typedef struct
{
    size_t connections; //  DEALER connections
    size_t in_flight;   //  Requests in flight, all connections
    uint64_t completed; //  Round trips counted
    double seconds;     //  Time counted
    double rate;        //  Round trips per second
    double p50;         //  Round-trip time, ms
    double p99;         //  Same, 99th percentile
    double max;         //  Same, longest
    double batch;       //  Daemon: mean requests per commit, 0 if
                        //  not known
    double bench_cpu;   //  CPU used by this process, in CPUs
    double daemon_cpu;  //  CPU used by the daemon, in CPUs
    uint64_t sent;      //  Requests sent, warm-up included
    uint64_t repeats;   //  Of which SUBMITs with an earlier complaint's
                        //  phone number (phones)
    bool measured;      //  The run took place and nothing broke
} s_trips_t;

//  One DEALER connection of a run, driven by its own actor
typedef struct
{
    //  Set by the caller
    int mode;             //  MODE_ECHO or MODE_DAEMON
    const char *endpoint; //  Where to connect
    size_t window;        //  Requests kept in flight
    uint64_t run;         //  Run number, part of each ref
    uint64_t connection;  //  Connection number, part of each ref
    const byte *payload;  //  Echo message (request id in 8 bytes)
    size_t payload_size;  //  Its size
    int64_t counted_from; //  Round trips count from (zclock_usecs)
    int64_t deadline;     //  Nothing is sent from then on
    uint64_t complaints;  //  MODE_ACT: ACTs go to ids 1 to this
    const char *events;   //  MODE_ACT: the daemon's events endpoint
    bool phones;          //  MODE_DAEMON: a phone number per complaint,
                          //  one in REPEAT_EVERY that of an earlier one
    //  Used by the actor
    zsock_t *dealer;      //  The connection
    cmp_proto_t *submit;  //  SUBMIT, given a new ref for each send
    cmp_proto_t *note;    //  MODE_ACT: a note, and a contact, sent in
    cmp_proto_t *contact; //  turn to a random complaint each
    uint64_t random;      //  State of the generator of complaint ids
    uint64_t counter;     //  Requests sent
    uint64_t *slot_id;    //  Request id in flight per slot, 0 if free
    int64_t *slot_sent;   //  When it was sent (zclock_usecs)
    //  Results
    uint64_t completed;    //  Round trips in [counted_from, deadline)
    uint64_t acknowledged; //  New complaints acknowledged (or ACTED
                           //  replies), all told
    uint64_t refused;      //  Replies other than a new SUBMITTED (ACTED)
    uint64_t repeats;      //  phones: SUBMITs sent with an earlier
                           //  complaint's phone number
    bool failed;           //  A reply was lost, unknown or malformed
    char why[256];         //  First failure or refusal, for humans
    s_samples_t samples;   //  Round-trip times counted, usecs
    s_samples_t batches;   //  received_at of each counted reply: one
                           //  value per daemon commit
} s_connection_t;

static void
s_connection_fail (s_connection_t *self, const char *format, ...)
{
    self->failed = true;
    if (*self->why)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (self->why, sizeof (self->why), format, args);
    va_end (args);
}

//  Next value of a xorshift64* generator (state never 0)
static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545f4914f6cdd1dULL;
}

//  A well-mixed value of a number (splitmix64's finalizer)
static uint64_t
s_mix (uint64_t value)
{
    value ^= value >> 30;
    value *= 0xbf58476d1ce4e5b9ULL;
    value ^= value >> 27;
    value *= 0x94d049bb133111ebULL;
    value ^= value >> 31;
    return value;
}

//  True if complaint counter of a connection repeats an earlier
//  complainant: one in REPEAT_EVERY, never the first
static bool
s_phone_repeats (uint64_t run, uint64_t connection, uint64_t counter)
{
    return counter > 1
           && s_mix ((run << 48) ^ (connection << 40) ^ counter ^ 0x7e1e)
                  % REPEAT_EVERY
                == 0;
}

//  The complainant's phone number of complaint counter of a connection:
//  a mobile number of its own, or, for a repeat, that of one of the 1000
//  complaints before it that is not a repeat itself. Returns true for a
//  repeat.
static bool
s_phone (
  char *phone, size_t size, uint64_t run, uint64_t connection, uint64_t counter)
{
    uint64_t owner = counter;
    bool repeat = s_phone_repeats (run, connection, counter);
    if (repeat) {
        uint64_t before = counter - 1 < 1000 ? counter - 1 : 1000;
        owner = counter - 1 - s_mix (counter ^ 0xca11) % before;
        while (s_phone_repeats (run, connection, owner))
            owner--;
    }
    //  +86 1PP PCCC CCCC: prefix from run and connection, the counter
    unsigned prefix = (unsigned) ((run * CONNECTIONS_MAX + connection) % 1000);
    unsigned number = (unsigned) (owner % 10000000);
    snprintf (phone, size, "+86 1%02u %u%03u %04u", prefix / 10, prefix % 10,
              number / 10000, number % 10000);
    return repeat;
}

//  Send the next request in slot
static void
s_connection_send (s_connection_t *self, size_t slot)
{
    uint64_t id = (++self->counter << SLOT_BITS) | slot;
    zframe_t *frame;
    if (self->mode == MODE_ECHO) {
        frame = zframe_new (self->payload, self->payload_size);
        memcpy (zframe_data (frame), &id, sizeof (id));
    } else if (self->mode == MODE_ACT) {
        //  A note, then a contact, each on a complaint of its own
        cmp_proto_t *act = self->counter % 2 ? self->note : self->contact;
        cmp_proto_set_complaint_id (
          act, 1 + s_random (&self->random) % self->complaints);
        cmp_proto_set_request_id (act, id);
        frame = cmp_proto_encode (act);
    } else {
        char ref[32];
        s_ref (ref, sizeof (ref), self->run, self->connection, self->counter);
        cmp_proto_set_ref (self->submit, ref);
        if (self->phones) {
            char phone[32];
            if (s_phone (phone, sizeof (phone), self->run, self->connection,
                         self->counter))
                self->repeats++;
            cmp_proto_set_phone (self->submit, phone);
        }
        cmp_proto_set_request_id (self->submit, id);
        frame = cmp_proto_encode (self->submit);
    }
    assert (frame);
    self->slot_id[slot] = id;
    self->slot_sent[slot] = zclock_usecs ();
    zframe_send (&frame, self->dealer, 0);
}

//  Read a reply: sets *id and returns 1 for an echo, a new SUBMITTED or an
//  ACTED that left the state as it was, 0 for any other reply to a
//  request, -1 for a malformed reply
static int
s_connection_reply (s_connection_t *self,
                    zframe_t *frame,
                    uint64_t *id,
                    int64_t *received_at)
{
    *id = 0;
    if (zframe_more (frame))
        return -1;
    if (self->mode == MODE_ECHO) {
        if (zframe_size (frame) != self->payload_size)
            return -1;
        memcpy (id, zframe_data (frame), sizeof (*id));
        return 1;
    }
    cmp_proto_t *reply =
      cmp_proto_decode (zframe_data (frame), zframe_size (frame), NULL);
    if (!reply)
        return -1;
    *id = cmp_proto_request_id (reply);
    *received_at = cmp_proto_received_at (reply);
    int rc = 1;
    if (self->mode == MODE_ACT && cmp_proto_id (reply) == CMP_PROTO_ACTED) {
        //  A note or a contact never moves the complaint
        const char *state = cmp_proto_state (reply);
        const char *previous = cmp_proto_previous (reply);
        if (state && previous && streq (state, previous))
            self->acknowledged++;
        else {
            self->refused++;
            if (!*self->why)
                snprintf (self->why, sizeof (self->why),
                          "request %" PRIu64 " got ACTED from %s to %s", *id,
                          previous ? previous : "?", state ? state : "?");
            rc = 0;
        }
    } else if (self->mode == MODE_DAEMON
               && cmp_proto_id (reply) == CMP_PROTO_SUBMITTED
               && !cmp_proto_duplicate (reply))
        self->acknowledged++;
    else {
        self->refused++;
        if (!*self->why)
            snprintf (
              self->why, sizeof (self->why), "request %" PRIu64 " got %s%s%s",
              *id, cmp_proto_command (reply),
              cmp_proto_message (reply) ? ": " : " (duplicate)",
              cmp_proto_message (reply) ? cmp_proto_message (reply) : "");
        rc = 0;
    }
    cmp_proto_destroy (&reply);
    return rc;
}

//  Keep the window full until the deadline, then take the last replies
static void
s_connection_run (s_connection_t *self)
{
    self->slot_id = (uint64_t *) zmalloc (self->window * sizeof (uint64_t));
    self->slot_sent = (int64_t *) zmalloc (self->window * sizeof (int64_t));
    assert (self->slot_id && self->slot_sent);
    size_t in_flight = 0;
    for (size_t slot = 0; slot < self->window; slot++, in_flight++)
        s_connection_send (self, slot);

    void *handle = zsock_resolve (self->dealer);
    while (in_flight && !self->failed) {
        zmq_pollitem_t item = {handle, 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, REPLY_TIMEOUT) <= 0) {
            s_connection_fail (self,
                               "no reply within %d ms, %zu requests in flight",
                               REPLY_TIMEOUT, in_flight);
            break;
        }
        //  Take every reply there is (the socket does not block),
        //  refilling the window as they come
        zframe_t *frame;
        while (!self->failed && (frame = zframe_recv (self->dealer))) {
            int64_t now = zclock_usecs ();
            uint64_t id;
            int64_t received_at = 0;
            int rc = s_connection_reply (self, frame, &id, &received_at);
            zframe_destroy (&frame);
            size_t slot = (size_t) (id & (SLOTS_MAX - 1));
            if (rc == -1 || id == 0 || slot >= self->window
                || self->slot_id[slot] != id) {
                s_connection_fail (self,
                                   "a malformed reply, or one to no request "
                                   "in flight (request id %" PRIu64 ")",
                                   id);
                break;
            }
            if (rc == 1 && now >= self->counted_from && now < self->deadline) {
                self->completed++;
                s_samples_add (&self->samples, now - self->slot_sent[slot]);
                if (self->mode == MODE_DAEMON)
                    s_samples_add (&self->batches, received_at);
            }
            self->slot_id[slot] = 0;
            in_flight--;
            if (now < self->deadline) {
                s_connection_send (self, slot);
                in_flight++;
            }
        }
    }
    free (self->slot_id);
    free (self->slot_sent);
    self->slot_id = NULL;
    self->slot_sent = NULL;
}

static void
s_connection_actor (zsock_t *pipe, void *argument)
{
    s_connection_t *self = (s_connection_t *) argument;
    self->dealer = zsock_new (ZMQ_DEALER);
    assert (self->dealer);
    zsock_set_sndhwm (self->dealer, 100000);
    zsock_set_rcvhwm (self->dealer, 100000);
    zsock_set_linger (self->dealer, 0);
    //  Receives never block: zmq_poll waits. Draining by a non-blocking
    //  receive costs no ZMQ_EVENTS query (two system calls) per message.
    zsock_set_rcvtimeo (self->dealer, 0);
    if (zsock_connect (self->dealer, "%s", self->endpoint))
        s_connection_fail (self, "cannot connect to %s", self->endpoint);
    if (self->mode == MODE_DAEMON)
        self->submit = s_submit_new (zclock_time ());
    if (self->mode == MODE_ACT) {
        self->note = cmp_proto_new (CMP_PROTO_ACT);
        cmp_proto_set_actor (self->note, ACTOR);
        cmp_proto_set_action (self->note, "note");
        cmp_proto_set_text (
          self->note, "放射科护士长确认当天上午设备故障两小时。The radiology "
                      "head nurse confirms the scanner was down for two "
                      "hours that morning.");
        self->contact = cmp_proto_new (CMP_PROTO_ACT);
        cmp_proto_set_actor (self->contact, ACTOR);
        cmp_proto_set_action (self->contact, "contact");
        cmp_proto_set_direction (self->contact, "in");
        cmp_proto_set_channel (self->contact, "phone");
        cmp_proto_set_summary (
          self->contact, "患者之子来电询问进展，已告知调查中。The son called "
                         "for news; told him the investigation is under "
                         "way.");
        self->random =
          0x9e3779b97f4a7c15ULL * (self->run * 64 + self->connection + 1);
    }
    zsock_signal (pipe, 0);

    //  RUN: run, then signal; then wait for $TERM
    char *command = zstr_recv (pipe);
    if (command && streq (command, "RUN")) {
        if (!self->failed)
            s_connection_run (self);
        zsock_signal (pipe, 0);
        zstr_free (&command);
        command = zstr_recv (pipe);
    }
    zstr_free (&command);
    cmp_proto_destroy (&self->submit);
    cmp_proto_destroy (&self->note);
    cmp_proto_destroy (&self->contact);
    zsock_destroy (&self->dealer);
}

//  CPU time used so far by this process (pid 0) or by child pid, usecs
static int64_t
s_cpu_usecs (pid_t pid)
{
    if (pid == 0) {
        struct rusage usage;
        if (getrusage (RUSAGE_SELF, &usage))
            return 0;
        return (int64_t) (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
                 * 1000000
               + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
    }
    char path[64], line[1024];
    snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return 0;
    char *read = fgets (line, sizeof (line), file);
    fclose (file);
    //  After "pid (comm) ": state, 5 ints, 5 unsigned, then utime, stime
    char *end = read ? strrchr (line, ')') : NULL;
    unsigned long utime, stime;
    if (!end
        || sscanf (end + 1,
                   " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                   &utime, &stime)
             != 2)
        return 0;
    return (int64_t) (utime + stime) * 1000000 / sysconf (_SC_CLK_TCK);
}

//  Count distinct values of samples: the daemon commits one batch per
//  received_at, so that counted replies / distinct values is the mean
//  batch (two commits within one millisecond would count as one)
static size_t
s_samples_distinct (s_samples_t *self)
{
    if (!self->sorted && self->size) {
        qsort (self->values, self->size, sizeof (int64_t), s_compare_int64);
        self->sorted = true;
    }
    size_t distinct = 0;
    for (size_t index = 0; index < self->size; index++)
        if (index == 0 || self->values[index] != self->values[index - 1])
            distinct++;
    return distinct;
}

//  The events a daemon publishes while a run counts: one per ACT, and
//  those of one commit share their "at", so that they give the mean batch
//  where ACTED does not
typedef struct
{
    const char *endpoint; //  The daemon's PUB endpoint
    int64_t counted_from; //  Events count from (zclock_usecs)
    int64_t deadline;     //  And until
    s_samples_t at;       //  "at" of each event counted
} s_events_t;

static void
s_events_actor (zsock_t *pipe, void *argument)
{
    s_events_t *self = (s_events_t *) argument;
    zsock_t *sub = zsock_new (ZMQ_SUB);
    assert (sub);
    zsock_set_rcvhwm (sub, 1000000);
    zsock_set_linger (sub, 0);
    zsock_set_subscribe (sub, "");
    if (zsock_connect (sub, "%s", self->endpoint))
        zsys_warning ("cannot connect to %s", self->endpoint);
    zpoller_t *poller = zpoller_new (pipe, sub, NULL);
    assert (poller);
    zsock_signal (pipe, 0);
    //  Until $TERM on the pipe (or an interrupt)
    while (zpoller_wait (poller, -1) == sub) {
        zmsg_t *msg = zmsg_recv (sub);
        int64_t now = zclock_usecs ();
        if (msg && zmsg_size (msg) == 2 && now >= self->counted_from
            && now < self->deadline) {
            zframe_t *body = zmsg_last (msg);
            cmp_proto_t *event =
              cmp_proto_decode (zframe_data (body), zframe_size (body), NULL);
            if (event)
                s_samples_add (&self->at, cmp_proto_at (event));
            cmp_proto_destroy (&event);
        }
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&sub);
}

//  Run connections DEALERs like prototype, in_flight requests in flight in
//  all, counting for seconds after the warm-up; daemon is the process that
//  answers them, or 0 for this one. Adds the new complaints acknowledged
//  to *acknowledged. Returns 0 if every request got the reply it should.
static int
s_trips_run (s_trips_t *result,
             s_connection_t *prototype,
             size_t connections,
             size_t in_flight,
             double seconds,
             pid_t daemon,
             uint64_t *acknowledged)
{
    assert (connections > 0 && connections <= CONNECTIONS_MAX);
    assert (in_flight % connections == 0);
    assert (in_flight / connections <= SLOTS_MAX);
    s_connection_t conns[CONNECTIONS_MAX];
    zactor_t *actors[CONNECTIONS_MAX];
    for (size_t index = 0; index < connections; index++) {
        conns[index] = *prototype;
        conns[index].window = in_flight / connections;
        conns[index].connection = index;
        actors[index] = zactor_new (s_connection_actor, &conns[index]);
        assert (actors[index]);
    }
    int64_t from = zclock_usecs () + (int64_t) (WARMUP_SECONDS * 1e6);
    int64_t deadline = from + (int64_t) (seconds * 1e6);
    s_events_t events = {prototype->events, from, deadline, {NULL, 0, 0, 0}};
    zactor_t *subscriber =
      prototype->events ? zactor_new (s_events_actor, &events) : NULL;
    for (size_t index = 0; index < connections; index++) {
        conns[index].counted_from = from;
        conns[index].deadline = deadline;
        zstr_send (actors[index], "RUN");
    }
    memset (result, 0, sizeof (*result));
    result->connections = connections;
    result->in_flight = in_flight;
    result->seconds = seconds;

    //  CPU used while round trips count, as a number of CPUs kept busy
    int64_t now = zclock_usecs ();
    if (from > now)
        zclock_sleep ((int) ((from - now) / 1000));
    int64_t bench_cpu = s_cpu_usecs (0);
    int64_t daemon_cpu = daemon ? s_cpu_usecs (daemon) : 0;
    int64_t cpu_from = zclock_usecs ();
    now = cpu_from;
    if (deadline > now)
        zclock_sleep ((int) ((deadline - now) / 1000));
    double elapsed = (double) (zclock_usecs () - cpu_from);
    if (elapsed > 0) {
        result->bench_cpu = (double) (s_cpu_usecs (0) - bench_cpu) / elapsed;
        if (daemon)
            result->daemon_cpu =
              (double) (s_cpu_usecs (daemon) - daemon_cpu) / elapsed;
    }

    s_samples_t samples = {NULL, 0, 0, false};
    s_samples_t batches = {NULL, 0, 0, false};
    int rc = 0;
    for (size_t index = 0; index < connections; index++) {
        zsock_wait (actors[index]);
        s_connection_t *conn = &conns[index];
        result->completed += conn->completed;
        result->sent += conn->counter;
        result->repeats += conn->repeats;
        *acknowledged += conn->acknowledged;
        s_samples_append (&samples, &conn->samples);
        s_samples_free (&conn->samples);
        s_samples_append (&batches, &conn->batches);
        s_samples_free (&conn->batches);
        if (conn->failed || conn->refused) {
            fprintf (stderr, "E: connection %zu: %s (%" PRIu64 " refused)\n",
                     index, conn->why, conn->refused);
            rc = -1;
        }
        zactor_destroy (&actors[index]);
    }
    result->rate = (double) result->completed / seconds;
    result->p50 = s_samples_ms (&samples, 0.50);
    result->p99 = s_samples_ms (&samples, 0.99);
    result->max = s_samples_ms (&samples, 1.0);
    result->measured = rc == 0;
    size_t commits = s_samples_distinct (&batches);
    if (commits)
        result->batch = (double) batches.size / (double) commits;
    if (subscriber) {
        zactor_destroy (&subscriber);
        commits = s_samples_distinct (&events.at);
        if (commits)
            result->batch = (double) events.at.size / (double) commits;
        s_samples_free (&events.at);
    }
    s_samples_free (&samples);
    s_samples_free (&batches);
    return rc;
}

//  --------------------------------------------------------------------------
//  2. Raw ZeroMQ: a ROUTER that echoes what arrives, drained in batches

static void
s_echo_actor (zsock_t *pipe, void *argument)
{
    int *port = (int *) argument;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    assert (router);
    zsock_set_sndhwm (router, 100000);
    zsock_set_rcvhwm (router, 100000);
    zsock_set_linger (router, 0);
    zsock_set_rcvtimeo (router, 0);
    *port = zsock_bind (router, "tcp://127.0.0.1:*");
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    assert (poller);
    zsock_signal (pipe, 0);
    //  Until $TERM on the pipe (or an interrupt)
    while (zpoller_wait (poller, -1) == router) {
        zmsg_t *msg;
        for (size_t count = 0; count < ECHO_BATCH && (msg = zmsg_recv (router));
             count++)
            zmsg_send (&msg, router);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

//  --------------------------------------------------------------------------
//  3. The daemon as a child process

typedef struct
{
    char program[PATH_MAX]; //  The complaintd binary
    char config[PATH_MAX];  //  Generated configuration file
    char log[PATH_MAX];     //  Its stdout and stderr
    char store[PATH_MAX];   //  Its store directory
    char intake[64];        //  Intake endpoint
    char api[64];           //  API endpoint
    char events[64];        //  Events endpoint
    pid_t pid;              //  Child process, 0 when not running
    double started;         //  Seconds from its start to the first HEALTH
    const char *option;     //  Set before the start: one -o KEY=VALUE, or
                            //  NULL
    const char *admin;      //  Set before the start: an actor given the
                            //  admin role, or NULL
    int64_t clock_test;     //  Set before the start: clock/test, 0 for the
                            //  system clock
} s_daemon_t;

//  Pick count free TCP ports on 127.0.0.1 (the daemon binds them next)
static int
s_free_ports (int *ports, size_t count)
{
    int sockets[8];
    assert (count <= 8);
    int rc = 0;
    size_t opened = 0;
    for (; opened < count; opened++) {
        sockets[opened] = socket (AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in address;
        memset (&address, 0, sizeof (address));
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        socklen_t size = sizeof (address);
        if (sockets[opened] == -1
            || bind (sockets[opened], (struct sockaddr *) &address, size)
            || getsockname (sockets[opened], (struct sockaddr *) &address,
                            &size)) {
            rc = -1;
            if (sockets[opened] != -1)
                opened++;
            break;
        }
        ports[opened] = ntohs (address.sin_port);
    }
    for (size_t index = 0; index < opened; index++)
        close (sockets[index]);
    return rc;
}

//  Print the end of the daemon's log, when something went wrong
static void
s_daemon_dump_log (s_daemon_t *self)
{
    FILE *file = fopen (self->log, "r");
    if (!file)
        return;
    char lines[40][512];
    size_t count = 0;
    while (fgets (lines[count % 40], sizeof (lines[0]), file))
        count++;
    fclose (file);
    fprintf (stderr, "--- last lines of the complaintd log:\n");
    for (size_t index = count > 40 ? count - 40 : 0; index < count; index++)
        fprintf (stderr, "%s", lines[index % 40]);
    fprintf (stderr, "---\n");
}

//  True if the child has exited (its status then in *status)
static bool
s_daemon_exited (s_daemon_t *self, int *status)
{
    if (self->pid > 0 && waitpid (self->pid, status, WNOHANG) == self->pid) {
        self->pid = 0;
        return true;
    }
    return false;
}

//  One HEALTH round trip: number of complaints stored, or -1; the last
//  event sequence number in *last_seq if not NULL
static int64_t
s_daemon_status (s_daemon_t *self, int timeout, uint64_t *last_seq)
{
    cmp_client_t *client = cmp_client_new (self->intake);
    if (!client)
        return -1;
    cmp_client_set_timeout (client, timeout);
    cmp_proto_t *request = cmp_proto_new (CMP_PROTO_HEALTH);
    cmp_proto_t *reply = cmp_client_call (client, &request);
    int64_t complaints = -1;
    if (reply && cmp_proto_id (reply) == CMP_PROTO_STATUS) {
        complaints = (int64_t) cmp_proto_complaints (reply);
        if (last_seq)
            *last_seq = cmp_proto_last_seq (reply);
    }
    cmp_proto_destroy (&reply);
    cmp_client_destroy (&client);
    return complaints;
}

static int64_t
s_daemon_health (s_daemon_t *self, int timeout)
{
    return s_daemon_status (self, timeout, NULL);
}

//  Write the configuration NAME.conf, start the daemon on the store NAME
//  with an initial map of map_size, wait for a HEALTH round trip (at most
//  15 s). Returns 0 when it answers.
static int
s_daemon_start (s_daemon_t *self,
                const char *directory,
                const char *name,
                const char *map_size)
{
    const char *build = getenv ("COMPLAINTD_BUILD");
    snprintf (self->program, sizeof (self->program), "%s/complaintd",
              build && *build ? build : "build");
    snprintf (self->config, sizeof (self->config), "%s/%s.conf", directory,
              name);
    snprintf (self->log, sizeof (self->log), "%s/%s.log", directory, name);
    snprintf (self->store, sizeof (self->store), "%s/%s", directory, name);
    if (access (self->program, X_OK)) {
        fprintf (stderr, "E: %s: %s (build it, or set COMPLAINTD_BUILD)\n",
                 self->program, strerror (errno));
        return -1;
    }
    int ports[3];
    if (s_free_ports (ports, 3)) {
        fprintf (stderr, "E: no free TCP port on 127.0.0.1: %s\n",
                 strerror (errno));
        return -1;
    }
    snprintf (self->intake, sizeof (self->intake), "tcp://127.0.0.1:%d",
              ports[0]);
    snprintf (self->api, sizeof (self->api), "tcp://127.0.0.1:%d", ports[1]);
    snprintf (self->events, sizeof (self->events), "tcp://127.0.0.1:%d",
              ports[2]);
    FILE *file = fopen (self->config, "w");
    if (!file) {
        fprintf (stderr, "E: %s: %s\n", self->config, strerror (errno));
        return -1;
    }
    fprintf (file,
             "#   complaint_bench: complaintd on free ports, its own store\n"
             "server\n"
             "    intake = \"%s\"\n"
             "    api = \"%s\"\n"
             "    events = \"%s\"\n"
             "store\n"
             "    path = \"%s\"\n"
             "    map_size = %s\n"
             "roles\n"
             "    agent = \"%s\"\n",
             self->intake, self->api, self->events, self->store, map_size,
             ACTOR);
    if (self->admin)
        fprintf (file, "    admin = \"%s\"\n", self->admin);
    if (self->clock_test)
        fprintf (file, "clock\n    test = %" PRId64 "\n", self->clock_test);
    fclose (file);

    //  Not under our service manager's eyes
    unsetenv ("NOTIFY_SOCKET");
    unsetenv ("LISTEN_FDS");
    unsetenv ("LISTEN_PID");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, "/dev/null",
                                      O_RDONLY, 0);
    posix_spawn_file_actions_addopen (&actions, STDOUT_FILENO, self->log,
                                      O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2 (&actions, STDOUT_FILENO, STDERR_FILENO);
    char *argv[] = {(char *) "complaintd", (char *) "-c",
                    self->config,          self->option ? (char *) "-o" : NULL,
                    (char *) self->option, NULL};
    int rc =
      posix_spawn (&self->pid, self->program, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    if (rc) {
        self->pid = 0;
        fprintf (stderr, "E: cannot start %s: %s\n", self->program,
                 strerror (rc));
        return -1;
    }
    //  Bounded retry: a HEALTH round trip, or the daemon exits
    int64_t spawned = zclock_usecs ();
    int64_t until = zclock_mono () + 15000;
    while (zclock_mono () < until && !zsys_interrupted) {
        int status;
        if (s_daemon_exited (self, &status)) {
            fprintf (stderr, "E: complaintd exited at start (status %d)\n",
                     WIFEXITED (status) ? WEXITSTATUS (status) : -1);
            s_daemon_dump_log (self);
            return -1;
        }
        if (s_daemon_health (self, 250) >= 0) {
            self->started = (double) (zclock_usecs () - spawned) / 1e6;
            return 0;
        }
    }
    fprintf (stderr, "E: complaintd did not answer HEALTH within 15 s\n");
    s_daemon_dump_log (self);
    return -1;
}

//  SIGTERM; wait at most 15 s. Returns 0 if the daemon exited 0.
static int
s_daemon_stop (s_daemon_t *self)
{
    if (self->pid <= 0)
        return -1;
    kill (self->pid, SIGTERM);
    int64_t until = zclock_mono () + 15000;
    int status = 0;
    while (!s_daemon_exited (self, &status)) {
        if (zclock_mono () > until) {
            fprintf (stderr, "E: complaintd did not stop within 15 s of "
                             "SIGTERM; killed\n");
            kill (self->pid, SIGKILL);
            waitpid (self->pid, &status, 0);
            self->pid = 0;
            s_daemon_dump_log (self);
            return -1;
        }
        zclock_sleep (10);
    }
    if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
        return 0;
    if (WIFEXITED (status))
        fprintf (stderr, "E: complaintd exited %d after SIGTERM\n",
                 WEXITSTATUS (status));
    else
        fprintf (stderr, "E: complaintd died of signal %d after SIGTERM\n",
                 WIFSIGNALED (status) ? WTERMSIG (status) : 0);
    s_daemon_dump_log (self);
    return -1;
}

//  --------------------------------------------------------------------------
//  6. A large store, filled through cmp_intake and cmp_case, then read
//  through the daemon

//  What the fill made
typedef struct
{
    uint64_t complaints;              //  Complaints registered
    uint64_t assigned;                //  Of which assigned
    uint64_t department[DEPARTMENTS]; //  Assigned per department
    uint64_t handler[HANDLERS];       //  Assigned per handler
    uint64_t commits;                 //  Commits
    double seconds;                   //  Time taken
    double rate;                      //  Complaints per second
    double cpu;                       //  CPU used, in CPUs
    uint64_t disk_bytes;              //  data.mdb, blocks on disk
    uint64_t file_bytes;              //  data.mdb, its size
    uint64_t timers;                  //  Entries of the timers index
    int64_t timer_next;               //  Its earliest, 0 if none
    size_t refs_pending;              //  Refs not merged yet, which a
                                      //  daemon on the store holds in
                                      //  memory
} s_fill_t;

//  The name of handler number index
static void
s_handler_name (char *name, size_t size, size_t index)
{
    snprintf (name, size, "handler.%02zu", index + 1);
}

//  Register complaint index of the fill (received at time) in the open
//  transaction, by the rulebook if there is one; with assign, one in
//  FILL_ASSIGN_EVERY is then assigned. Returns 0, or -1 if the store
//  failed (abort), or -2 if a reply was not the one expected (broken).
static int
s_fill_one (s_fill_t *result,
            cmp_store_t *store,
            cmp_intake_t *intake,
            cmp_case_t *cases,
            cmp_rulebook_t *rulebook,
            bool assign,
            cmp_proto_t *submit,
            uint64_t index,
            int64_t time)
{
    char ref[32];
    s_ref (ref, sizeof (ref), 63, 0, index);
    cmp_proto_set_ref (submit, ref);
    cmp_proto_set_complained_at (submit, time - 3600 * 1000);
    cmp_proto_t *reply = NULL;
    cmp_case_event_t created[CMP_CASE_EVENTS_MAX];
    //  6: no rulebook, as the reads of 6 count complaints by state, and
    //  the fill's complaints stay registered. 8: a rulebook with triage
    //  off, for the clocks of the default policy.
    int written = cmp_intake_register (intake, store, rulebook, submit, NULL,
                                       time, &reply, created);
    for (int number = 0; number < CMP_CASE_EVENTS_MAX; number++)
        zchunk_destroy (&created[number].event);
    if (written)
        return -1;
    if (!reply || cmp_proto_id (reply) != CMP_PROTO_SUBMITTED
        || cmp_proto_duplicate (reply)) {
        fprintf (stderr, "E: registering complaint %" PRIu64 " gave %s%s%s\n",
                 index, reply ? cmp_proto_command (reply) : "nothing",
                 reply && cmp_proto_message (reply) ? ": " : "",
                 reply && cmp_proto_message (reply) ? cmp_proto_message (reply)
                                                    : "");
        cmp_proto_destroy (&reply);
        return -2;
    }
    uint64_t id = cmp_proto_complaint_id (reply);
    cmp_proto_destroy (&reply);
    if (!assign || index % FILL_ASSIGN_EVERY != FILL_ASSIGN_EVERY / 2)
        return 0;

    //  Assigned ten minutes after it came in
    uint64_t turn = index / FILL_ASSIGN_EVERY;
    char handler[32];
    s_handler_name (handler, sizeof (handler), turn % HANDLERS);
    cmp_proto_t *act = cmp_proto_new (CMP_PROTO_ACT);
    cmp_proto_set_actor (act, ACTOR);
    cmp_proto_set_action (act, "assign");
    cmp_proto_set_complaint_id (act, id);
    cmp_proto_set_case_department (act, s_departments[turn % DEPARTMENTS]);
    cmp_proto_set_handler (act, handler);
    cmp_proto_fault_t fault;
    cmp_case_event_t events[CMP_CASE_EVENTS_MAX];
    int rc = 0;
    if (cmp_case_check (cases, act, &fault)) {
        fprintf (stderr, "E: assign refused: %s\n", fault.text);
        rc = -2;
    } else if (cmp_case_apply (cases, store, NULL, act, time + 600 * 1000,
                               &reply, events))
        rc = -1;
    else {
        for (int number = 0; number < CMP_CASE_EVENTS_MAX; number++)
            zchunk_destroy (&events[number].event);
        if (!reply || cmp_proto_id (reply) != CMP_PROTO_ACTED) {
            fprintf (stderr, "E: assigning complaint %" PRIu64 " gave %s%s%s\n",
                     id, reply ? cmp_proto_command (reply) : "nothing",
                     reply && cmp_proto_message (reply) ? ": " : "",
                     reply && cmp_proto_message (reply)
                       ? cmp_proto_message (reply)
                       : "");
            rc = -2;
        }
    }
    cmp_proto_destroy (&reply);
    cmp_proto_destroy (&act);
    if (rc == 0) {
        result->assigned++;
        result->department[turn % DEPARTMENTS]++;
        result->handler[turn % HANDLERS]++;
    }
    return rc;
}

//  Fill a fresh store in path with count complaints, FILL_BATCH per
//  commit, as fast as one writer goes. With at 0 (6), received over the
//  last year and some assigned, without a rulebook; otherwise (8) all
//  received at at, none assigned, by a rulebook with triage off, so that
//  each runs the clocks of the default SLA policy. Returns 0 or -1.
static int
s_fill (s_fill_t *result, const char *path, uint64_t count, int64_t at)
{
    memset (result, 0, sizeof (*result));
    cmp_config_t *config = cmp_config_new ();
    assert (config);
    if (cmp_config_set (config, "roles/agent", ACTOR)
        || (at && cmp_config_set (config, "triage/enabled", "false"))
        || cmp_config_validate (config)) {
        fprintf (stderr, "E: the configuration of the fill is not valid\n");
        cmp_config_destroy (&config);
        return -1;
    }
    cmp_rulebook_t *rulebook = NULL;
    if (at) {
        zlist_t *errors = zlist_new ();
        zlist_autofree (errors);
        rulebook = cmp_rulebook_new (config, errors);
        if (!rulebook || !cmp_rulebook_sla (rulebook)) {
            fprintf (stderr, "E: the shipped SLA policies are refused:\n");
            for (char *error = (char *) zlist_first (errors); error;
                 error = (char *) zlist_next (errors))
                fprintf (stderr, "  %s\n", error);
            cmp_rulebook_destroy (&rulebook);
        }
        zlist_destroy (&errors);
        if (!rulebook) {
            cmp_config_destroy (&config);
            return -1;
        }
    }
    cmp_intake_t *intake = cmp_intake_new (config);
    cmp_case_t *cases = cmp_case_new (config);
    cmp_store_t *store = cmp_store_new (path, FILL_MAP_SIZE_BYTES, 0);
    int64_t now = at ? at : zclock_time ();
    cmp_proto_t *submit = s_submit_new (now);
    cmp_proto_fault_t fault;
    int rc = 0;
    if (!store) {
        fprintf (stderr, "E: cannot open a store in %s\n", path);
        rc = -1;
    } else if (cmp_intake_check (intake, submit, now, &fault)) {
        fprintf (stderr, "E: the intake refuses the bench's SUBMIT: %s\n",
                 fault.text);
        rc = -1;
    }
    //  Received over the last year, in order; or all at at
    int64_t first = at ? at : now - FILL_SPAN;
    int64_t step = at ? 0 : FILL_SPAN / (int64_t) (count ? count : 1);
    int64_t start = zclock_usecs ();
    int64_t cpu = s_cpu_usecs (0);
    uint64_t done = 0;
    while (rc == 0 && done < count && !zsys_interrupted) {
        uint64_t batch = count - done < FILL_BATCH ? count - done : FILL_BATCH;
        if (cmp_store_begin (store)) {
            rc = -1;
            break;
        }
        s_fill_t saved = *result;
        int written = 0;
        for (uint64_t index = done; index < done + batch && written == 0;
             index++)
            written =
              s_fill_one (result, store, intake, cases, rulebook, at == 0,
                          submit, index, first + (int64_t) index * step);
        if (written == 0 && cmp_store_commit (store) == 0) {
            done += batch;
            result->commits++;
            continue;
        }
        //  Full: grow the map and write the batch again
        cmp_store_abort (store);
        *result = saved;
        if (written == -2 || !cmp_store_full (store)
            || cmp_store_grow (store)) {
            fprintf (stderr, "E: the store in %s failed a write\n", path);
            rc = -1;
        }
    }
    result->complaints = done;
    result->seconds = (double) (zclock_usecs () - start) / 1e6;
    if (result->seconds > 0)
        result->cpu = (double) (s_cpu_usecs (0) - cpu) / 1e6 / result->seconds;
    result->rate = result->seconds > 0 ? (double) done / result->seconds : 0;
    if (store && cmp_store_count (store) != done) {
        fprintf (stderr,
                 "E: the store holds %" PRIu64
                 " complaints after registering %" PRIu64 "\n",
                 cmp_store_count (store), done);
        rc = -1;
    }
    if (store) {
        result->timers = cmp_store_timers (store);
        result->refs_pending = cmp_store_refs_pending (store);
        if (cmp_store_timer_next (store, &result->timer_next))
            rc = -1;
    }
    cmp_proto_destroy (&submit);
    cmp_store_destroy (&store);
    cmp_case_destroy (&cases);
    cmp_intake_destroy (&intake);
    cmp_rulebook_destroy (&rulebook);
    cmp_config_destroy (&config);
    char file[PATH_MAX + 16];
    snprintf (file, sizeof (file), "%s/data.mdb", path);
    struct stat info;
    if (stat (file, &info) == 0) {
        result->disk_bytes = (uint64_t) info.st_blocks * 512;
        result->file_bytes = (uint64_t) info.st_size;
    }
    return zsys_interrupted ? -1 : rc;
}

//  One read of the large store
typedef struct
{
    int type;               //  CMP_PROTO_GET, _LIST or _COUNT
    const char *key;        //  The filter, for scripts
    const char *label;      //  The filter, for humans
    const char *state;      //  Filters, NULL = none
    const char *department; //  Case department
    const char *handler;    //  Handler
    const char *channel;    //  Channel
    uint64_t expected;      //  Matches the store holds (GET: 1)
} s_read_t;

//  One read measured
typedef struct
{
    s_read_t read;     //  What is read
    uint64_t requests; //  Requests answered
    double seconds;    //  Time taken
    double rate;       //  Requests per second
    double p50;        //  Round-trip time, ms
    double p99;        //  Same, 99th percentile
    double max;        //  Same, longest
    uint64_t results;  //  Items of the last page, or the count
    bool measured;     //  Every reply was the one expected
} s_query_t;

//  Send one read and check its reply; returns 0, or -1 after saying why
static int
s_query_one (s_query_t *self,
             cmp_client_t *client,
             uint64_t complaints,
             uint64_t *random)
{
    cmp_proto_t *request = cmp_proto_new (self->read.type);
    cmp_proto_set_actor (request, ACTOR);
    uint64_t id = 0;
    if (self->read.type == CMP_PROTO_GET) {
        id = 1 + s_random (random) % complaints;
        cmp_proto_set_complaint_id (request, id);
    } else {
        if (self->read.type == CMP_PROTO_LIST)
            cmp_proto_set_limit (request, QUERY_PAGE);
        cmp_proto_set_state (request, self->read.state);
        cmp_proto_set_case_department (request, self->read.department);
        cmp_proto_set_handler (request, self->read.handler);
        cmp_proto_set_channel (request, self->read.channel);
    }
    const char *command = cmp_proto_command (request);
    cmp_proto_t *reply = cmp_client_call (client, &request);
    int rc = 0;
    if (!reply) {
        fprintf (stderr, "E: %s %s: no reply within %d ms\n", command,
                 self->read.label, REPLY_TIMEOUT);
        return -1;
    }
    if (cmp_proto_id (reply) == CMP_PROTO_ERROR) {
        fprintf (stderr, "E: %s %s: ERROR %" PRIu64 " %s\n", command,
                 self->read.label, cmp_proto_status (reply),
                 cmp_proto_message (reply) ? cmp_proto_message (reply) : "");
        rc = -1;
    } else if (self->read.type == CMP_PROTO_GET) {
        self->results = 1;
        if (cmp_proto_id (reply) != CMP_PROTO_COMPLAINT
            || cmp_proto_complaint_id (reply) != id) {
            fprintf (stderr, "E: GET %" PRIu64 ": got %s for id %" PRIu64 "\n",
                     id, cmp_proto_command (reply),
                     cmp_proto_complaint_id (reply));
            rc = -1;
        }
    } else {
        uint64_t expected = self->read.expected;
        if (self->read.type == CMP_PROTO_LIST) {
            if (expected > QUERY_PAGE)
                expected = QUERY_PAGE;
            self->results = zlistx_size (cmp_proto_items (reply));
        } else
            self->results = cmp_proto_complaints (reply);
        int answer = self->read.type == CMP_PROTO_LIST ? CMP_PROTO_COMPLAINTS
                                                       : CMP_PROTO_COUNTED;
        if (cmp_proto_id (reply) != answer || self->results != expected) {
            fprintf (stderr,
                     "E: %s %s: got %s with %" PRIu64 ", expected %" PRIu64
                     "\n",
                     command, self->read.label, cmp_proto_command (reply),
                     self->results, expected);
            rc = -1;
        }
    }
    cmp_proto_destroy (&reply);
    return rc;
}

//  Measure one read against the daemon at endpoint. Returns 0 or -1.
static int
s_query_run (s_query_t *self, const char *endpoint, uint64_t complaints)
{
    cmp_client_t *client = cmp_client_new (endpoint);
    if (!client)
        return -1;
    cmp_client_set_timeout (client, REPLY_TIMEOUT);
    uint64_t random = 0x9e3779b97f4a7c15ULL ^ (uint64_t) self->read.type;
    s_samples_t samples = {NULL, 0, 0, false};
    int rc = 0;
    //  One untimed request first: the connection, and a first look
    if (s_query_one (self, client, complaints, &random))
        rc = -1;
    int64_t start = zclock_usecs ();
    int64_t end = start + (int64_t) (QUERY_SECONDS * 1e6);
    int64_t now = start;
    while (rc == 0 && !zsys_interrupted && self->requests < QUERY_MAX
           && (now < end || self->requests < QUERY_MIN)) {
        int64_t sent = now;
        if (s_query_one (self, client, complaints, &random)) {
            rc = -1;
            break;
        }
        now = zclock_usecs ();
        s_samples_add (&samples, now - sent);
        self->requests++;
    }
    self->seconds = (double) (now - start) / 1e6;
    self->rate =
      self->seconds > 0 ? (double) self->requests / self->seconds : 0;
    self->p50 = s_samples_ms (&samples, 0.50);
    self->p99 = s_samples_ms (&samples, 0.99);
    self->max = s_samples_ms (&samples, 1.0);
    self->measured = rc == 0;
    s_samples_free (&samples);
    cmp_client_destroy (&client);
    return rc;
}

//  A read sent again and again while SUBMITs run on the intake
typedef struct
{
    const char *endpoint; //  The daemon's api endpoint
    const s_read_t *read; //  What to read
    uint64_t reads;       //  Reads answered
    bool failed;          //  A read got no reply, or not its kind
} s_reads_t;

static void
s_reads_actor (zsock_t *pipe, void *argument)
{
    s_reads_t *self = (s_reads_t *) argument;
    cmp_client_t *client = cmp_client_new (self->endpoint);
    assert (client);
    cmp_client_set_timeout (client, REPLY_TIMEOUT);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    assert (poller);
    //  One read after another until $TERM; results are not checked, as
    //  the SUBMITs change them. After a failure, the actor just ends.
    while (!self->failed && !zpoller_wait (poller, 0)
           && !zpoller_terminated (poller)) {
        cmp_proto_t *request = cmp_proto_new (self->read->type);
        cmp_proto_set_actor (request, ACTOR);
        if (self->read->type == CMP_PROTO_LIST)
            cmp_proto_set_limit (request, QUERY_PAGE);
        cmp_proto_set_state (request, self->read->state);
        cmp_proto_set_case_department (request, self->read->department);
        cmp_proto_set_handler (request, self->read->handler);
        cmp_proto_set_channel (request, self->read->channel);
        cmp_proto_t *reply = cmp_client_call (client, &request);
        int answer = self->read->type == CMP_PROTO_LIST ? CMP_PROTO_COMPLAINTS
                                                        : CMP_PROTO_COUNTED;
        if (reply && cmp_proto_id (reply) == answer)
            self->reads++;
        else
            self->failed = true;
        cmp_proto_destroy (&reply);
    }
    zpoller_destroy (&poller);
    cmp_client_destroy (&client);
}

//  --------------------------------------------------------------------------
//  7. Triage: cmp_triage_apply on a 2 KB complaint, and the intake with
//  triage on and off

//  Sentences of the complaints triaged, Chinese with some English
static const char *s_sentences[] = {
  "上午8点半到门诊挂号，排队等了将近两个小时才轮到我们，期间没有任何工作人员出"
  "来"
  "解释原因。",
  "分诊台的护士态度很冷漠，我父亲问了三次什么时候能看上，她都不耐烦地说等着就行"
  "，"
  "还当着其他病人的面大声呵斥他。",
  "We were told the waiting time would be about 20 minutes, but we waited "
  "almost two hours and nobody came to explain the delay.",
  "候诊区的座位远远不够，很多老人和孕妇只能站着，空调也坏了，里面又闷又热。",
  "卫生间非常脏，地上有积水，洗手液和纸巾都没有，还有很重的异味。",
  "缴费的时候发现账单上多了一项我们根本没有做过的检查，收费处的工作人员说系统就"
  "是"
  "这么显示的，让我们自己去找医生。",
  "The bill lists a CT scan that was never done, and the cashier refused to "
  "correct it or to give us an itemised invoice.",
  "医生看诊不到三分钟，没有仔细询问病史就开了一堆化验单，我们问检查的目的，他说"
  "你"
  "照做就行了。",
  "取报告的自助机故障，工作人员让我们第二天再来，可是我们家住得很远，来回要三个"
  "多"
  "小时。",
  "My father is 78 and uses a wheelchair; the lift to the second floor was "
  "out of order and no staff offered to help.",
  "药房说处方上的药缺货，让我们去外面的药店买，但外面的价格比医院贵了一倍多，医"
  "保"
  "也不能报销。",
  "我们打了好几次服务热线，一直无人接听，留言之后也没有人回电话。",
  "住院部的护士晚上换药时没有戴手套，我们提醒之后她说没关系，我们很担心会感染"
  "。",
  "Several patients' names and bed numbers were written on a whiteboard in "
  "the corridor, which we think is a breach of privacy.",
  "出院结算时押金迟迟不退，财务说要等十五个工作日，可是入院时说的是三天内退还"
  "。",
  "停车场收费标准没有公示，出来的时候被收了六十元，问收费员依据是什么，他说不知"
  "道。",
  "预约系统显示还有号，到了现场却被告知号已经挂满了，白跑一趟，耽误了一上午。",
  "保安在门口对我们大声吼叫，不让轮椅从正门进入，要我们绕到后门，后门的坡道又很"
  "陡。",
  "We would like someone from the hospital to call us back; we have "
  "complained twice already and have had no answer.",
  "检验科抽血的时候扎了三次才扎上，孩子的胳膊现在还是青的，护士还说是孩子不配合"
  "。",
  "餐厅提供的饭菜是凉的，有一次还吃出了头发，送餐员说不归他管。",
  "病房里的电视和呼叫铃都坏了，晚上病人不舒服按铃半天没人来。",
  "医生在没有和家属沟通的情况下更换了用药，父亲用药后出现了过敏反应，全身起疹子"
  "。",
  "The nurse at the front desk shouted at my mother and told her to stop "
  "asking questions, in front of everyone in the waiting room.",
};
#define SENTENCES (sizeof (s_sentences) / sizeof (s_sentences[0]))

//  Channels a complaint comes in on, by variant
static const char *s_channels[] = {"phone", "web",     "email",
                                   "phone", "counter", "social"};
#define CHANNELS (sizeof (s_channels) / sizeof (s_channels[0]))

//  Variant number of the 2 KB complaint: a description of about
//  TRIAGE_DESCRIPTION bytes from the sentences, each variant in its own
//  order, and its demands; a channel, a local time and a repeat count
//  of their own
static cmp_proto_t *
s_triage_record (size_t variant, int64_t now)
{
    char description[TRIAGE_DESCRIPTION + 512];
    size_t used = (size_t) snprintf (description, sizeof (description),
                                     "第%zu次投诉（complaint no. %zu）：",
                                     variant + 1, variant + 1);
    //  Steps of 5, 7, 11 or 13 (all prime to the number of sentences)
    static const size_t strides[] = {5, 7, 11, 13};
    size_t stride = strides[variant % 4];
    for (size_t turn = 0; used < TRIAGE_DESCRIPTION; turn++) {
        const char *sentence =
          s_sentences[(variant * 3 + turn * stride) % SENTENCES];
        if (used + strlen (sentence) + 1 >= sizeof (description))
            break;
        used +=
          (size_t) snprintf (description + used, sizeof (description) - used,
                             "%s%s", turn % 4 == 3 ? "\n" : "", sentence);
    }
    cmp_proto_t *record = cmp_proto_new (CMP_PROTO_COMPLAINT);
    assert (record);
    cmp_proto_set_channel (record, s_channels[variant % CHANNELS]);
    cmp_proto_set_ref (record, "call-triage");
    cmp_proto_set_complaint_id (record, 1000 + variant);
    cmp_proto_set_number (record, "20261123-001000");
    cmp_proto_set_state (record, "registered");
    cmp_proto_set_version (record, 1);
    cmp_proto_set_received_at (record, now);
    //  Complained at times of day 97 minutes apart over the week
    cmp_proto_set_complained_at (record,
                                 now - (int64_t) variant * 97 * 60000
                                   - (int64_t) (variant % 7) * 86400000);
    cmp_proto_set_name (record, "李伟 Li Wei");
    cmp_proto_set_phone (record, "+86 138 0013 8000");
    cmp_proto_set_relation (record, "患者之子 son of the patient");
    if (variant % 8 == 5)
        cmp_proto_set_tier (record, "vip");
    //  One in four a repeat, once to three times
    if (variant % 4 == 1)
        cmp_proto_set_repeats (record, 1 + variant % 3);
    cmp_proto_set_department (record, s_departments[variant % DEPARTMENTS]);
    cmp_proto_set_location (record, "门诊楼B座二层 Building B, floor 2");
    if (variant % 3 == 0)
        cmp_proto_set_staff (record, "分诊台护士 triage nurse, badge 0231");
    cmp_proto_set_description (record, description);
    cmp_proto_set_demands (
      record, variant % 2
                ? "希望医院书面道歉，说明延误和多收费的原因，并退还多收的费用。"
                  "A written apology, an explanation, and a refund of the "
                  "overcharge."
                : "要求相关人员当面道歉，医院给出整改措施并在一周内答复。We "
                  "want an apology in person and an answer within a week.");
    cmp_proto_add_tag (record, "waiting-time");
    return record;
}

//  Words the generated rules look for: of the complaints' own field (a
//  hospital's), many of them in the complaints triaged
static const char *s_words[] = {
  "态度",         "恶劣",      "辱骂",        "推诿",     "冷漠",
  "不耐烦",       "呵斥",      "收费",        "多收",     "乱收费",
  "退款",         "发票",      "账单",        "重复扣费", "价格",
  "等待",         "排队",      "延误",        "迟到",     "插队",
  "预约",         "挂号",      "卫生",        "异味",     "蟑螂",
  "厕所",         "垃圾",      "噪音",        "漏水",     "停车",
  "隐私",         "泄露",      "病历",        "身份证",   "误诊",
  "漏诊",         "用错药",    "感染",        "受伤",     "摔倒",
  "死亡",         "去世",      "抢救",        "过敏",     "副作用",
  "手术",         "化验",      "报告",        "设备",     "故障",
  "维修",         "电梯",      "空调",        "系统",     "举报",
  "媒体",         "记者",      "律师",        "起诉",     "赔偿",
  "道歉",         "老人",      "儿童",        "孕妇",     "轮椅",
  "热线",         "无人接听",  "药房",        "缺药",     "处方",
  "医保",         "报销",      "押金",        "住院",     "出院",
  "护士",         "保安",      "前台",        "rude",     "shouted",
  "ignored",      "refund",    "overcharged", "invoice",  "bill",
  "waited",       "queue",     "delay",       "dirty",    "smell",
  "toilet",       "noise",     "parking",     "privacy",  "misdiagnosis",
  "infection",    "injured",   "fell",        "died",     "allergy",
  "surgery",      "scanner",   "lift",        "lawyer",   "media",
  "apology",      "elderly",   "wheelchair",  "hotline",  "pharmacy",
  "prescription", "insurance", "deposit",     "nurse"};
#define WORDS (sizeof (s_words) / sizeof (s_words[0]))

//  Words of the other fields an organisation's rules cover (transport,
//  banking, telecoms, housing, retail, public services), none of them in
//  the complaints triaged
static const char *s_other_words[] = {
  "地铁",        "公交",      "航班",     "改签",     "行李",
  "晚点",        "酒店",      "房费",     "银行卡",   "信用卡",
  "贷款",        "利息",      "理财",     "转账",     "冻结",
  "宽带",        "话费",      "流量",     "套餐",     "信号",
  "销号",        "物业",      "燃气",     "供暖",     "停水",
  "停电",        "电费",      "水费",     "装修",     "房东",
  "租金",        "中介",      "学校",     "学费",     "校车",
  "食堂",        "快递柜",    "外卖",     "骑手",     "包裹",
  "签收",        "网购",      "直播",     "会员",     "积分",
  "优惠券",      "三包",      "保修",     "假货",     "过期",
  "变质",        "商场",      "超市",     "加油站",   "出租车",
  "网约车",      "司机",      "绕路",     "违章",     "驾照",
  "社保",        "公积金",    "户口",     "派出所",   "城管",
  "占道",        "工地",      "扬尘",     "噪声扰民", "广场舞",
  "宠物",        "狗",        "flight",   "baggage",  "boarding",
  "hotel",       "booking",   "mortgage", "loan",     "credit card",
  "overdraft",   "broadband", "roaming",  "contract", "landlord",
  "tenant",      "rent",      "heating",  "gas",      "electricity",
  "school",      "tuition",   "parcel",   "courier",  "warranty",
  "counterfeit", "taxi",      "driver",   "fine",     "licence",
  "pension",     "visa"};
#define OTHER_WORDS (sizeof (s_other_words) / sizeof (s_other_words[0]))

//  PCRE2 patterns of the generated rules (%s: two words of s_words)
static const char *s_patterns[] = {
  "[!！]{3,}",
  "(?i)(?:waited|waiting|等了)\\s*(?:\\d+|[一二三四五六七八九十两]+)\\s*"
  "(?:min|minutes|hours?|分钟|个?小时)",
  "\\d{2,}\\s*(?:元|yuan|RMB)",
  "(?i)%s.{0,40}%s",
  "1[3-9]\\d{9}",
  "(?i)(?:第\\s*\\d+\\s*次|\\b\\d+(?:st|nd|rd|th) time)",
  "(?:%s|%s)[^。.]{0,30}(?:没有|没人|不)",
  "(?i)\\b(?:%s|%s)\\w*\\b"};
#define PATTERNS (sizeof (s_patterns) / sizeof (s_patterns[0]))

static const char *s_categories[] = {
  "service_attitude", "quality",  "environment_hygiene",
  "fees_billing",     "delivery", "medical_safety",
  "privacy",          "other"};
#define CATEGORIES (sizeof (s_categories) / sizeof (s_categories[0]))

//  A keyword of the generated rules: one in OWN_FIELD of the complaints'
//  own field, the others of other fields
#define OWN_FIELD 30
static const char *
s_rules_word (uint64_t *random)
{
    return s_random (random) % OWN_FIELD == 0
             ? s_words[s_random (random) % WORDS]
             : s_other_words[s_random (random) % OTHER_WORDS];
}

//  Write count different keywords (at most 20), from random, as a YAML
//  flow list
static void
s_rules_words (FILE *file, uint64_t *random, size_t count)
{
    const char *words[20];
    assert (count <= 20);
    fprintf (file, "[");
    for (size_t index = 0; index < count; index++) {
        bool taken = true;
        while (taken) {
            words[index] = s_rules_word (random);
            taken = false;
            for (size_t before = 0; before < index && !taken; before++)
                taken = words[before] == words[index];
        }
        fprintf (file, "%s\"%s\"", index ? ", " : "", words[index]);
    }
    fprintf (file, "]");
}

//  Write a rules file of count rules, varied as an organisation's would
//  be: keyword lists of 5 to 20 words on the text or one of its parts, some
//  with all or none, some patterns, channel conditions, a few repeats and
//  times. Returns 0 or -1.
static int
s_rules_write (const char *path, size_t count)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    fprintf (file,
             "# complaint_bench: %zu generated rules\n"
             "version: \"bench-%zu\"\n"
             "calendar: default\n"
             "priority:\n"
             "  critical: {one: urgent, several: urgent, public: urgent}\n"
             "  major:    {one: high,   several: high,   public: urgent}\n"
             "  ordinary: {one: normal, several: high,   public: high}\n"
             "  minor:    {one: low,    several: normal, public: high}\n"
             "defaults: {category: other, severity: ordinary, impact: one, "
             "sla: standard}\n"
             "rules:\n",
             count, count);
    static const char *targets[] = {
      "text", "text",        "text",        "text",    "text",
      "text", "description", "description", "demands", "location"};
    static const char *severities[] = {"critical", "major", "ordinary",
                                       "minor"};
    static const char *impacts[] = {"one", "several", "public"};
    static const char *slas[] = {"standard", "urgent", "emergency"};
    uint64_t random = 0x5eed5eed5eed5eedULL;
    for (size_t index = 0; index < count; index++) {
        fprintf (file, "  - name: \"r%03zu\"\n    when:\n", index + 1);
        uint64_t kind = s_random (&random) % 100;
        //  A quarter with a channel condition
        if (s_random (&random) % 4 == 0)
            fprintf (file, "      channel: [%s, %s]\n",
                     s_channels[s_random (&random) % CHANNELS],
                     s_channels[s_random (&random) % CHANNELS]);
        if (kind < 2)
            fprintf (file, "      repeats: %d\n",
                     1 + (int) (s_random (&random) % 3));
        else if (kind < 4)
            fprintf (file, "      hours: \"18:00-08:00\"\n");
        else if (kind < 5)
            fprintf (file, "      working: false\n");
        //  Every rule looks at some text, most at one of its lists
        const char *target = targets[s_random (&random) % 10];
        size_t words = 5 + s_random (&random) % 16;
        fprintf (file, "      %s: ", target);
        if (kind < 50)
            s_rules_words (file, &random, words);
        else if (kind < 65) {
            fprintf (file, "{any: ");
            s_rules_words (file, &random, words);
            fprintf (file, ", none: ");
            s_rules_words (file, &random, 2 + s_random (&random) % 4);
            fprintf (file, "}");
        } else if (kind < 80) {
            fprintf (file, "{all: ");
            s_rules_words (file, &random, 2 + s_random (&random) % 3);
            fprintf (file, "}");
        } else {
            char pattern[256];
            const char *first = s_rules_word (&random);
            const char *second = s_rules_word (&random);
            snprintf (pattern, sizeof (pattern),
                      s_patterns[s_random (&random) % PATTERNS], first, second);
            fprintf (file, "{pattern: '%s'", pattern);
            if (kind % 2) {
                fprintf (file, ", any: ");
                s_rules_words (file, &random, words);
            }
            fprintf (file, "}");
        }
        fprintf (file, "\n    set:\n");
        fprintf (file, "      category: %s\n",
                 s_categories[s_random (&random) % CATEGORIES]);
        if (s_random (&random) % 2)
            fprintf (file, "      subcategory: \"sub-%03zu\"\n", index % 40);
        if (s_random (&random) % 2)
            fprintf (file, "      severity: %s\n",
                     severities[s_random (&random) % 4]);
        if (s_random (&random) % 4 == 0)
            fprintf (file, "      impact: %s\n",
                     impacts[s_random (&random) % 3]);
        if (s_random (&random) % 3 == 0)
            fprintf (file, "      department: \"%s\"\n",
                     s_departments[s_random (&random) % DEPARTMENTS]);
        if (s_random (&random) % 5 == 0)
            fprintf (file, "      sla: %s\n", slas[s_random (&random) % 3]);
        if (s_random (&random) % 5 == 0)
            fprintf (file, "      group: \"group-%02zu\"\n", index % 25);
        if (s_random (&random) % 10 == 0)
            fprintf (file, "      raise_priority: 1\n");
        if (index % 100 == 99)
            fprintf (file, "      emergency: true\n");
        fprintf (file, "      tags: [\"t%03zu\"]\n", index % 200);
    }
    return fclose (file) ? -1 : 0;
}

//  Triage timed on one rule set
typedef struct
{
    char version[96];  //  The rules' version
    size_t rules;      //  How many
    double load_ms;    //  Reading and compiling them
    uint64_t calls;    //  Calls timed
    double seconds;    //  Time of those calls, clock reads included
    double rate;       //  Calls per second
    double p50;        //  Time of one call, microseconds
    double p99;        //  Same, 99th percentile
    double max;        //  Same, longest
    double matched;    //  Mean rules matched per call
    double classified; //  Share of calls a rule set the category of
    double scan_p50;   //  The event loop's part: cmp_triage_scan_new, µs
    double scan_p99;   //  Same, 99th percentile
    double write_p50;  //  The writer's part: cmp_triage_apply with a scan
    double write_p99;  //  Same, 99th percentile
    bool measured;     //  The rules were read and triaged
} s_triage_t;

//  Nanoseconds of the monotonic clock
static int64_t
s_nsecs (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
}

//  Read the rulebook of config (the rules and the calendars), timed.
//  Returns NULL after printing why if it is refused.
static cmp_rulebook_t *
s_rulebook_read (cmp_config_t *config, double *load_ms)
{
    zlist_t *errors = zlist_new ();
    zlist_autofree (errors);
    int64_t began = s_nsecs ();
    cmp_rulebook_t *rulebook = cmp_rulebook_new (config, errors);
    *load_ms = (double) (s_nsecs () - began) / 1e6;
    if (!rulebook || !cmp_rulebook_triage (rulebook)) {
        fprintf (stderr, "E: the triage rules are refused:\n");
        for (char *error = (char *) zlist_first (errors); error;
             error = (char *) zlist_next (errors))
            fprintf (stderr, "  %s\n", error);
        cmp_rulebook_destroy (&rulebook);
    }
    zlist_destroy (&errors);
    return rulebook;
}

//  Time cmp_triage_apply on the records in turn: TRIAGE_WARMUP calls,
//  then up to TRIAGE_CALLS, for at most TRIAGE_SECONDS
static void
s_triage_measure (s_triage_t *result,
                  cmp_triage_t *triage,
                  cmp_proto_t **records,
                  size_t variants,
                  int64_t now)
{
    result->rules = cmp_triage_size (triage);
    cmp_triage_result_t verdict;
    for (size_t index = 0; index < TRIAGE_WARMUP; index++)
        cmp_triage_apply (triage, records[index % variants], now, NULL,
                          &verdict);
    s_samples_t samples = {NULL, 0, 0, false};
    uint64_t matched = 0, classified = 0;
    int64_t start = s_nsecs ();
    int64_t end = start + (int64_t) (TRIAGE_SECONDS * 1e9);
    int64_t after = start;
    while (result->calls < TRIAGE_CALLS && after < end && !zsys_interrupted) {
        cmp_proto_t *record = records[result->calls % variants];
        int64_t before = s_nsecs ();
        cmp_triage_apply (triage, record, now, NULL, &verdict);
        after = s_nsecs ();
        s_samples_add (&samples, after - before);
        matched += verdict.matched;
        classified += verdict.classified;
        result->calls++;
    }
    result->seconds = (double) (after - start) / 1e9;
    result->rate =
      result->seconds > 0 ? (double) result->calls / result->seconds : 0;
    //  Samples are in ns: s_samples_ms gives microseconds
    result->p50 = s_samples_ms (&samples, 0.50);
    result->p99 = s_samples_ms (&samples, 0.99);
    result->max = s_samples_ms (&samples, 1.0);
    if (result->calls) {
        result->matched = (double) matched / (double) result->calls;
        result->classified = (double) classified / (double) result->calls;
    }
    result->measured = result->calls > 0;
    s_samples_free (&samples);

    //  The same calls split as the daemon splits them: the texts scanned
    //  by the event loop, the rest applied in the write transaction
    s_samples_t scans = {NULL, 0, 0, false}, writes = {NULL, 0, 0, false};
    cmp_triage_scan_t *made[TRIAGE_VARIANTS] = {NULL};
    for (uint64_t call = 0; call < result->calls && !zsys_interrupted; call++) {
        size_t variant = call % variants;
        cmp_triage_scan_destroy (&made[variant]);
        int64_t before = s_nsecs ();
        made[variant] = cmp_triage_scan_new (triage, records[variant]);
        int64_t between = s_nsecs ();
        cmp_triage_apply (triage, records[variant], now, made[variant],
                          &verdict);
        int64_t done = s_nsecs ();
        s_samples_add (&scans, between - before);
        s_samples_add (&writes, done - between);
    }
    for (size_t variant = 0; variant < TRIAGE_VARIANTS; variant++)
        cmp_triage_scan_destroy (&made[variant]);
    result->scan_p50 = s_samples_ms (&scans, 0.50);
    result->scan_p99 = s_samples_ms (&scans, 0.99);
    result->write_p50 = s_samples_ms (&writes, 0.50);
    result->write_p99 = s_samples_ms (&writes, 0.99);
    s_samples_free (&scans);
    s_samples_free (&writes);
}

//  GET complaints 1 to count from a daemon: how many carry the rules'
//  version (triaged) and a repeat count. Returns 0, or -1 if a GET failed.
static int
s_triage_check (s_daemon_t *daemon,
                uint64_t count,
                uint64_t *triaged,
                uint64_t *repeats)
{
    *triaged = *repeats = 0;
    cmp_client_t *client = cmp_client_new (daemon->api);
    if (!client)
        return -1;
    cmp_client_set_timeout (client, REPLY_TIMEOUT);
    int rc = 0;
    for (uint64_t id = 1; id <= count && rc == 0; id++) {
        cmp_proto_t *request = cmp_proto_new (CMP_PROTO_GET);
        cmp_proto_set_actor (request, ACTOR);
        cmp_proto_set_complaint_id (request, id);
        cmp_proto_t *reply = cmp_client_call (client, &request);
        if (!reply || cmp_proto_id (reply) != CMP_PROTO_COMPLAINT) {
            fprintf (stderr, "E: GET %" PRIu64 ": got %s\n", id,
                     reply ? cmp_proto_command (reply) : "no reply");
            rc = -1;
        } else {
            if (cmp_proto_rules (reply))
                (*triaged)++;
            if (cmp_proto_repeats (reply))
                (*repeats)++;
        }
        cmp_proto_destroy (&reply);
    }
    cmp_client_destroy (&client);
    return rc;
}

//  --------------------------------------------------------------------------
//  8. Deadlines: a store where every complaint has a pending deadline, a
//  daemon on a test clock on it, and a burst of TICKs

//  Memory of a process from /proc/PID/status, kB
typedef struct
{
    uint64_t vm_rss;   //  VmRSS: all resident pages
    uint64_t rss_anon; //  RssAnon: anonymous (heap, stacks)
    uint64_t rss_file; //  RssFile: file-backed (LMDB's map, libraries)
} s_memory_t;

//  Read the memory of process pid. Returns 0, or -1 if a figure is
//  missing.
static int
s_memory_read (pid_t pid, s_memory_t *memory)
{
    memset (memory, 0, sizeof (*memory));
    char path[64], line[256];
    snprintf (path, sizeof (path), "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    int found = 0;
    while (fgets (line, sizeof (line), file)) {
        unsigned long long value;
        if (sscanf (line, "VmRSS: %llu kB", &value) == 1) {
            memory->vm_rss = value;
            found++;
        } else if (sscanf (line, "RssAnon: %llu kB", &value) == 1) {
            memory->rss_anon = value;
            found++;
        } else if (sscanf (line, "RssFile: %llu kB", &value) == 1) {
            memory->rss_file = value;
            found++;
        }
    }
    fclose (file);
    return found == 3 ? 0 : -1;
}

//  Open the store in path (no daemon on it) and count its timers due at
//  or before at (up to max) and all its timers. Returns 0 or -1.
static int
s_timers_due (
  const char *path, int64_t at, size_t max, uint64_t *due, uint64_t *timers)
{
    *due = *timers = 0;
    cmp_store_t *store = cmp_store_new (path, FILL_MAP_SIZE_BYTES, 0);
    if (!store) {
        fprintf (stderr, "E: cannot open the store in %s\n", path);
        return -1;
    }
    uint64_t *ids = (uint64_t *) malloc ((max ? max : 1) * sizeof (uint64_t));
    assert (ids);
    size_t count = 0;
    int rc = cmp_store_begin (store);
    if (rc == 0) {
        rc = cmp_store_timers_due (store, at, ids, max, &count);
        cmp_store_abort (store);
    }
    if (rc)
        fprintf (stderr, "E: cannot read the timers of the store in %s\n",
                 path);
    *due = count;
    *timers = cmp_store_timers (store);
    free (ids);
    cmp_store_destroy (&store);
    return rc;
}

//  A time as Shanghai wall-clock text (UTC+8, no daylight saving)
static void
s_shanghai (char *text, size_t size, int64_t at)
{
    time_t seconds = (time_t) (at / 1000 + 8 * 3600);
    struct tm fields;
    if (!gmtime_r (&seconds, &fields)
        || !strftime (text, size, "%a %Y-%m-%d %H:%M:%S", &fields))
        snprintf (text, size, "%" PRId64, at);
}

//  One size of 8
typedef struct
{
    uint64_t complaints;   //  Registered, all at DEADLINES_AT
    s_fill_t fill;         //  The fill
    int64_t burst_at;      //  The earliest point, that of every complaint
    uint64_t due_before;   //  Timers due at burst_at before the burst
    double started_ms;     //  Daemon's start to its first HEALTH reply
    s_memory_t start;      //  Its memory once it serves
    s_memory_t after;      //  And after the burst
    uint64_t ticks;        //  TICKs sent in the burst
    uint64_t ticked;       //  Sum of their TICKED fired
    uint64_t events;       //  Events the burst stored (last seq moved)
    double seconds;        //  First TICK sent to pending false
    double rate;           //  Complaints fired per second
    double daemon_cpu;     //  CPU the daemon used meanwhile, in CPUs
    uint64_t due_after;    //  Timers due at burst_at after it
    uint64_t timers_after; //  Timers after it (the next points)
    uint64_t fired;        //  due_before - due_after
    bool measured;         //  It all went as it should
} s_deadlines_t;

//  The burst: TICK at self->burst_at, one at a time, until TICKED says
//  nothing more is pending. Returns 0, or -1 after saying why.
static int
s_deadlines_burst (s_deadlines_t *self, s_daemon_t *daemon)
{
    cmp_client_t *client = cmp_client_new (daemon->api);
    if (!client)
        return -1;
    cmp_client_set_timeout (client, REPLY_TIMEOUT);
    int rc = 0;
    int64_t daemon_cpu = s_cpu_usecs (daemon->pid);
    int64_t start = zclock_usecs ();
    //  Each TICK fires at least one complaint while some are due: more
    //  TICKs than complaints means the daemon does not get on
    while (!zsys_interrupted) {
        if (self->ticks > self->complaints + 10) {
            fprintf (stderr, "E: TICK: still pending after %" PRIu64 " TICKs\n",
                     self->ticks);
            rc = -1;
            break;
        }
        cmp_proto_t *request = cmp_proto_new (CMP_PROTO_TICK);
        cmp_proto_set_actor (request, ADMIN);
        cmp_proto_set_at (request, self->burst_at);
        cmp_proto_t *reply = cmp_client_call (client, &request);
        self->ticks++;
        if (!reply || cmp_proto_id (reply) != CMP_PROTO_TICKED
            || cmp_proto_at (reply) != self->burst_at) {
            fprintf (
              stderr, "E: TICK %" PRId64 ": got %s%s%s\n", self->burst_at,
              reply ? cmp_proto_command (reply) : "no reply within the timeout",
              reply && cmp_proto_message (reply) ? ": " : "",
              reply && cmp_proto_message (reply) ? cmp_proto_message (reply)
                                                 : "");
            cmp_proto_destroy (&reply);
            rc = -1;
            break;
        }
        self->ticked += cmp_proto_fired (reply);
        bool pending = cmp_proto_pending (reply);
        cmp_proto_destroy (&reply);
        if (!pending)
            break;
    }
    int64_t elapsed = zclock_usecs () - start;
    self->seconds = (double) elapsed / 1e6;
    if (elapsed > 0)
        self->daemon_cpu =
          (double) (s_cpu_usecs (daemon->pid) - daemon_cpu) / (double) elapsed;
    cmp_client_destroy (&client);
    return zsys_interrupted ? -1 : rc;
}

//  Fill a store of count complaints under directory, start a daemon on it
//  and fire its first deadline points; print each step. Returns 0, or -1
//  when something is broken.
static int
s_deadlines_run (s_deadlines_t *self, const char *directory, uint64_t count)
{
    memset (self, 0, sizeof (*self));
    self->complaints = count;
    char name[32], path[PATH_MAX];
    snprintf (name, sizeof (name), "deadlines-%" PRIu64, count);
    snprintf (path, sizeof (path), "%s/%s", directory, name);
    s_fill_t *fill = &self->fill;
    int rc = s_fill (fill, path, count, DEADLINES_AT);
    printf ("  %" PRIu64 " complaints: fill in %.1f s (%.0f/s, CPU %.0f%%), "
            "%" PRIu64 " timers, %zu refs not merged yet\n",
            count, fill->seconds, fill->rate, fill->cpu * 100, fill->timers,
            fill->refs_pending);
    fflush (stdout);
    if (rc == 0 && (fill->timers != count || fill->timer_next <= 0)) {
        fprintf (stderr,
                 "E: %" PRIu64 " timers (earliest %" PRId64 ") after "
                 "registering %" PRIu64 " complaints with clocks\n",
                 fill->timers, fill->timer_next, count);
        rc = -1;
    }
    //  Every complaint was registered at the same instant by the same
    //  policy: its earliest point is the earliest of them all
    self->burst_at = fill->timer_next;
    uint64_t timers = 0;
    if (rc == 0
        && s_timers_due (path, self->burst_at, count + 1, &self->due_before,
                         &timers))
        rc = -1;
    if (rc == 0) {
        char registered[64], due[64];
        s_shanghai (registered, sizeof (registered), DEADLINES_AT);
        s_shanghai (due, sizeof (due), self->burst_at);
        printf ("    registered %s Shanghai; earliest point %s (+%.1f h), "
                "due then: %" PRIu64 "\n",
                registered, due,
                (double) (self->burst_at - DEADLINES_AT) / 3600e3,
                self->due_before);
        printf ("    store: data.mdb %.0f MB on disk (%.0f bytes per "
                "complaint)\n",
                (double) fill->disk_bytes / 1e6,
                count ? (double) fill->disk_bytes / (double) count : 0);
        fflush (stdout);
        if (self->due_before != count) {
            fprintf (stderr,
                     "E: %" PRIu64 " of %" PRIu64 " complaints have a point "
                     "at the earliest one\n",
                     self->due_before, count);
            rc = -1;
        }
    }
    s_daemon_t daemon;
    memset (&daemon, 0, sizeof (daemon));
    daemon.option = "triage/enabled=false";
    daemon.admin = ADMIN;
    daemon.clock_test = DEADLINES_AT;
    if (rc == 0 && s_daemon_start (&daemon, directory, name, FILL_MAP_SIZE))
        rc = -1;
    if (rc == 0) {
        self->started_ms = daemon.started * 1000;
        if (s_memory_read (daemon.pid, &self->start)) {
            fprintf (stderr, "E: cannot read /proc/%d/status\n",
                     (int) daemon.pid);
            rc = -1;
        }
        printf ("    start: HEALTH answered %.0f ms after the spawn; VmRSS "
                "%.1f MB, RssAnon %.1f MB, RssFile %.1f MB\n",
                self->started_ms, (double) self->start.vm_rss / 1024,
                (double) self->start.rss_anon / 1024,
                (double) self->start.rss_file / 1024);
        fflush (stdout);
    }
    uint64_t seq_before = 0, seq_after = 0;
    if (rc == 0 && s_daemon_status (&daemon, 5000, &seq_before) < 0) {
        fprintf (stderr, "E: no HEALTH reply before the burst\n");
        rc = -1;
    }
    if (rc == 0 && s_deadlines_burst (self, &daemon)) {
        s_daemon_dump_log (&daemon);
        rc = -1;
    }
    if (rc == 0) {
        if (s_daemon_status (&daemon, 5000, &seq_after) < 0) {
            fprintf (stderr, "E: no HEALTH reply after the burst\n");
            rc = -1;
        }
        self->events = seq_after - seq_before;
        if (s_memory_read (daemon.pid, &self->after)) {
            fprintf (stderr, "E: cannot read /proc/%d/status\n",
                     (int) daemon.pid);
            rc = -1;
        }
    }
    if (daemon.pid > 0) {
        int stopped = s_daemon_stop (&daemon);
        if (rc == 0) {
            printf ("    burst: %" PRIu64 " TICKs at the earliest point in "
                    "%.2f s (daemon CPU %.0f%%); TICKED fired %" PRIu64 " in "
                    "all,\n      the daemon's own batches between TICKs the "
                    "rest; %" PRIu64 " events stored\n",
                    self->ticks, self->seconds, self->daemon_cpu * 100,
                    self->ticked, self->events);
            printf ("    after: VmRSS %.1f MB, RssAnon %.1f MB, RssFile "
                    "%.1f MB\n",
                    (double) self->after.vm_rss / 1024,
                    (double) self->after.rss_anon / 1024,
                    (double) self->after.rss_file / 1024);
        }
        printf ("    SIGTERM: complaintd %s\n",
                stopped == 0 ? "exited 0" : "did not exit 0");
        fflush (stdout);
        if (stopped)
            rc = -1;
    }
    //  What the burst fired is what is no longer due
    if (rc == 0
        && s_timers_due (path, self->burst_at, count + 1, &self->due_after,
                         &self->timers_after))
        rc = -1;
    if (rc == 0) {
        self->fired = self->due_before - self->due_after;
        self->rate =
          self->seconds > 0 ? (double) self->fired / self->seconds : 0;
        bool same = self->fired == count && self->ticked <= count;
        printf ("    store check: %" PRIu64 " complaints fired (%.0f/s), "
                "%" PRIu64 " still due, %" PRIu64 " timers (their next "
                "points): %s\n",
                self->fired, self->rate, self->due_after, self->timers_after,
                same ? "OK" : "MISMATCH");
        fflush (stdout);
        if (!same)
            rc = -1;
    }
    self->measured = rc == 0;
    //  The large store is not needed any more: give its disk back
    zdir_t *dir = zdir_new (path, NULL);
    if (dir) {
        zdir_remove (dir, true);
        zdir_destroy (&dir);
    }
    return zsys_interrupted ? -1 : rc;
}

//  --------------------------------------------------------------------------
//  Machine facts

//  The type and device of the file system that holds path
static void
s_filesystem (const char *path,
              char *type,
              size_t type_size,
              char *device,
              size_t device_size)
{
    snprintf (type, type_size, "unknown");
    snprintf (device, device_size, "?");
    char real[PATH_MAX];
    if (!realpath (path, real))
        return;
    FILE *mounts = setmntent ("/proc/self/mounts", "r");
    if (!mounts)
        return;
    size_t best = 0;
    struct mntent *entry;
    while ((entry = getmntent (mounts))) {
        size_t size = strlen (entry->mnt_dir);
        bool under = strncmp (real, entry->mnt_dir, size) == 0
                     && (real[size] == '/' || real[size] == 0
                         || streq (entry->mnt_dir, "/"));
        //  The longest mount point wins; a later one over the same wins
        if (under && size >= best) {
            best = size;
            snprintf (type, type_size, "%s", entry->mnt_type);
            snprintf (device, device_size, "%s", entry->mnt_fsname);
        }
    }
    endmntent (mounts);
}

//  The CPU model, from /proc/cpuinfo where there is one
static void
s_cpu_model (char *model, size_t size)
{
    snprintf (model, size, "unknown model");
    FILE *file = fopen ("/proc/cpuinfo", "r");
    if (!file)
        return;
    char line[256];
    while (fgets (line, sizeof (line), file))
        if (strncmp (line, "model name", 10) == 0 && strchr (line, ':')) {
            const char *value = strchr (line, ':') + 1;
            while (*value == ' ')
                value++;
            snprintf (model, size, "%s", value);
            model[strcspn (model, "\n")] = 0;
            break;
        }
    fclose (file);
}

//  --------------------------------------------------------------------------
//  Printing

//  One target line: what, the figure, and whether it meets the target
static void
s_print_target (s_trips_t *run, const char *format, double value, bool met)
{
    char label[64], figure[32];
    snprintf (label, sizeof (label),
              "%zu connection%s, %zu in flight:", run->connections,
              run->connections == 1 ? "" : "s", run->in_flight);
    snprintf (figure, sizeof (figure), format, value);
    printf ("    %-32s %12s    %s\n", label, figure,
            met ? "target met" : "target missed");
}

static void
s_print_trips_header (const char *what)
{
    printf ("  %11s  %9s  %12s  %10s  %7s  %7s  %7s  %10s  %10s  %10s\n",
            "connections", "in flight", what, "per second", "p50 ms", "p99 ms",
            "max ms", "mean batch", "bench CPU", "daemon CPU");
}

static void
s_print_trips (s_trips_t *trips)
{
    char batch[16] = "-", daemon_cpu[16] = "-";
    if (trips->batch > 0)
        snprintf (batch, sizeof (batch), "%.1f", trips->batch);
    if (trips->daemon_cpu > 0)
        snprintf (daemon_cpu, sizeof (daemon_cpu), "%.0f%%",
                  trips->daemon_cpu * 100);
    printf ("  %11zu  %9zu  %12" PRIu64 "  %10.0f  %7.2f  %7.2f  %7.2f  %10s"
            "  %9.0f%%  %10s%s\n",
            trips->connections, trips->in_flight, trips->completed, trips->rate,
            trips->p50, trips->p99, trips->max, batch, trips->bench_cpu * 100,
            daemon_cpu, trips->measured ? "" : "  (broken)");
    fflush (stdout);
}

//  The raw pipeline limit for a daemon run: the lower of LMDB at the batch
//  of the same size and the echo with the same connections and window
static double
s_limit (s_lmdb_t *lmdb,
         s_trips_t *echo,
         s_trips_t *run,
         double *lmdb_rate,
         double *echo_rate)
{
    *lmdb_rate = 0;
    *echo_rate = 0;
    for (size_t index = 0; index < BATCHES; index++)
        if (lmdb[index].batch == run->in_flight)
            *lmdb_rate = lmdb[index].rate;
    for (size_t index = 0; index < RUNS; index++)
        if (echo[index].connections == run->connections
            && echo[index].in_flight == run->in_flight)
            *echo_rate = echo[index].rate;
    return *lmdb_rate < *echo_rate ? *lmdb_rate : *echo_rate;
}

//  --------------------------------------------------------------------------

int
main (void)
{
    zsys_init ();
    int64_t started = zclock_mono ();
    bool broken = false;

    //  Complaints of the large store (6)
    uint64_t stored_target = STORED_DEFAULT;
    const char *stored_text = getenv ("COMPLAINT_BENCH_STORED");
    if (stored_text && *stored_text) {
        char *end;
        errno = 0;
        stored_target = strtoull (stored_text, &end, 10);
        if (errno || *end || *stored_text == '-') {
            fprintf (stderr,
                     "E: COMPLAINT_BENCH_STORED=%s: not a number of "
                     "complaints (0 skips part 6)\n",
                     stored_text);
            return EXIT_FAILURE;
        }
    }

    //  Complaints of the large store of 8
    uint64_t deadlines_target = DEADLINES_DEFAULT;
    const char *deadlines_text = getenv ("COMPLAINT_BENCH_DEADLINES");
    if (deadlines_text && *deadlines_text) {
        char *end;
        errno = 0;
        deadlines_target = strtoull (deadlines_text, &end, 10);
        if (errno || *end || *deadlines_text == '-') {
            fprintf (stderr,
                     "E: COMPLAINT_BENCH_DEADLINES=%s: not a number of "
                     "complaints (0 skips the large store of part 8)\n",
                     deadlines_text);
            return EXIT_FAILURE;
        }
    }
    //  Only one part (1 to 5 go together), or all (0)
    long only = 0;
    const char *only_text = getenv ("COMPLAINT_BENCH_ONLY");
    if (only_text && *only_text) {
        char *end;
        errno = 0;
        only = strtol (only_text, &end, 10);
        if (errno || *end || only < 1 || only > 8) {
            fprintf (stderr,
                     "E: COMPLAINT_BENCH_ONLY=%s: not a part from 1 to 8\n",
                     only_text);
            return EXIT_FAILURE;
        }
    }
    bool run_pipeline = only == 0 || only <= 5; //  1 to 5
    bool run_stored = only == 0 || only == 6;
    bool run_triage = only == 0 || only == 7;
    bool run_deadlines = only == 0 || only == 8;

    //  A fresh directory for the stores, the configuration and the log
    const char *tmp = getenv ("TMPDIR");
    char directory[DIRECTORY_MAX];
    size_t size = (size_t) snprintf (directory, sizeof (directory),
                                     "%s/complaint-bench-XXXXXX",
                                     tmp && *tmp ? tmp : P_tmpdir);
    if (size >= sizeof (directory) || !mkdtemp (directory)) {
        fprintf (stderr, "E: cannot create %s: %s\n", directory,
                 strerror (errno));
        return EXIT_FAILURE;
    }

    //  Machine facts and sizes
    long online = sysconf (_SC_NPROCESSORS_ONLN);
    cpu_set_t cpus;
    long usable = sched_getaffinity (0, sizeof (cpus), &cpus) == 0
                    ? (long) CPU_COUNT (&cpus)
                    : online;
    char model[128], fs_type[64], fs_device[256];
    s_cpu_model (model, sizeof (model));
    s_filesystem (directory, fs_type, sizeof (fs_type), fs_device,
                  sizeof (fs_device));
    double load[1] = {-1};
    if (getloadavg (load, 1) != 1)
        load[0] = -1;
    struct utsname system;
    if (uname (&system))
        memset (&system, 0, sizeof (system));
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);

    int64_t now = zclock_time ();
    zchunk_t *record = s_record_new (now);
    zchunk_t *event = s_event_new (now);
    cmp_proto_t *submit = s_submit_new (now);
    cmp_proto_set_request_id (submit, (uint64_t) 1 << 40);
    zframe_t *submit_frame = cmp_proto_encode (submit);
    cmp_proto_destroy (&submit);
    size_t submit_size = zframe_size (submit_frame);

    printf ("complaint_bench: complaintd throughput and latency\n");
    printf ("machine:   %ld CPUs online, %ld usable by this process; %s; "
            "load average %.2f at start\n",
            online, usable, model, load[0]);
    if (load[0] >= 0.5)
        printf ("           (other work is running: expect lower and noisier "
                "figures)\n");
    printf ("system:    %s %s; libzmq %d.%d.%d, czmq %d.%d.%d, %s, "
            "msgpack-c %s\n",
            system.sysname, system.release, major, minor, patch,
            CZMQ_VERSION_MAJOR, CZMQ_VERSION_MINOR, CZMQ_VERSION_PATCH,
            cmp_store_lmdb_version (), cmp_proto_msgpack_version ());
    printf ("temp dir:  %s, file system %s on %s\n", directory, fs_type,
            fs_device);
    if (streq (fs_type, "tmpfs") || streq (fs_type, "ramfs"))
        printf ("           (in memory: fsync costs nothing here, so the "
                "LMDB and daemon figures are not those of a disk)\n");
    printf ("sizes:     SUBMIT body %zu bytes, stored record %zu bytes, "
            "stored event %zu bytes\n",
            submit_size, zchunk_size (record), zchunk_size (event));
    printf ("durations: %.1f s per LMDB figure, %.1f s + %.1f s warm-up "
            "per ZeroMQ figure, %.1f s + %.1f s warm-up per daemon figure\n",
            LMDB_SECONDS, ECHO_SECONDS, WARMUP_SECONDS, DAEMON_SECONDS,
            WARMUP_SECONDS);
    fflush (stdout);

    //  1. Raw LMDB
    if (run_pipeline)
        printf (
          "\n1. Raw LMDB: cmp_store alone, fsync'd commits; per record a ref "
          "lookup, the record,\n   its number, ref (random key), by_time "
          "and by_channel entries, and its event\n");
    if (run_pipeline)
        printf ("  %14s  %9s  %8s  %7s  %11s  %14s  %14s\n", "records/commit",
                "records", "commits", "seconds", "records/s", "commit p50 ms",
                "commit p99 ms");
    fflush (stdout);
    s_lmdb_t lmdb[BATCHES];
    memset (lmdb, 0, sizeof (lmdb));
    for (size_t index = 0; index < BATCHES && !broken && run_pipeline;
         index++) {
        char path[PATH_MAX];
        snprintf (path, sizeof (path), "%s/lmdb-%zu", directory,
                  s_batches[index]);
        if (s_lmdb_measure (&lmdb[index], path, s_batches[index], index + 1,
                            record, event))
            broken = true;
        s_lmdb_t *row = &lmdb[index];
        printf ("  %14zu  %9" PRIu64 "  %8" PRIu64 "  %7.2f  %11.0f  %14.2f  "
                "%14.2f\n",
                row->batch, row->records, row->commits, row->seconds, row->rate,
                row->p50, row->p99);
        fflush (stdout);
    }

    //  2. Raw ZeroMQ
    s_trips_t echo[RUNS];
    memset (echo, 0, sizeof (echo));
    uint64_t acknowledged = 0;
    if (!broken && run_pipeline) {
        printf ("\n2. Raw ZeroMQ: DEALER -> ROUTER echo over tcp on 127.0.0.1, "
                "%zu-byte messages,\n   the ROUTER in a thread, echoing up to "
                "%d messages per wake-up\n",
                submit_size, ECHO_BATCH);
        s_print_trips_header ("round trips");
        fflush (stdout);
        int port = -1;
        zactor_t *echo_actor = zactor_new (s_echo_actor, &port);
        assert (echo_actor);
        if (port == -1) {
            fprintf (stderr, "E: the echo ROUTER cannot bind 127.0.0.1\n");
            broken = true;
        }
        char endpoint[64];
        snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
        s_connection_t prototype;
        memset (&prototype, 0, sizeof (prototype));
        prototype.mode = MODE_ECHO;
        prototype.endpoint = endpoint;
        prototype.payload = zframe_data (submit_frame);
        prototype.payload_size = submit_size;
        for (size_t index = 0; index < RUNS && !broken; index++) {
            if (s_trips_run (&echo[index], &prototype,
                             s_runs[index].connections, s_runs[index].in_flight,
                             ECHO_SECONDS, 0, &acknowledged))
                broken = true;
            s_print_trips (&echo[index]);
        }
        zactor_destroy (&echo_actor);
    }

    //  3. The daemon
    s_trips_t daemon[RUNS];
    memset (daemon, 0, sizeof (daemon));
    s_daemon_t process;
    memset (&process, 0, sizeof (process));
    acknowledged = 0;
    uint64_t complaints = 0;    //  Stored by 3
    uint64_t events_before = 0; //  Last event seq after 3
    s_trips_t cases[RUNS];
    memset (cases, 0, sizeof (cases));
    if (!broken && run_pipeline) {
        printf ("\n3. complaintd: SUBMIT -> SUBMITTED (after the fsync'd "
                "commit), unique refs,\n   each connection a DEALER in its own "
                "thread keeping its share of the window full\n");
        fflush (stdout);
        if (s_daemon_start (&process, directory, "complaintd", MAP_SIZE))
            broken = true;
    }
    if (!broken && process.pid > 0) {
        s_print_trips_header ("acknowledged");
        s_connection_t prototype;
        memset (&prototype, 0, sizeof (prototype));
        prototype.mode = MODE_DAEMON;
        prototype.endpoint = process.intake;
        for (size_t index = 0; index < RUNS && !broken; index++) {
            prototype.run = index + 1;
            if (s_trips_run (&daemon[index], &prototype,
                             s_runs[index].connections, s_runs[index].in_flight,
                             DAEMON_SECONDS, process.pid, &acknowledged)) {
                broken = true;
                s_daemon_dump_log (&process);
            }
            s_print_trips (&daemon[index]);
        }
        //  Every complaint acknowledged is stored, and no other
        int64_t stored = s_daemon_status (&process, 5000, &events_before);
        if (!broken) {
            printf ("  store check: %" PRId64 " complaints stored, %" PRIu64
                    " acknowledged: %s\n",
                    stored, acknowledged,
                    stored == (int64_t) acknowledged ? "OK" : "MISMATCH");
            if (stored != (int64_t) acknowledged)
                broken = true;
            else
                complaints = (uint64_t) stored;
        }
    }

    //  4. Case actions on those complaints
    uint64_t acted = 0;
    if (!broken && process.pid > 0 && complaints > 0) {
        printf ("\n4. complaintd: ACT -> ACTED (after the fsync'd commit) on "
                "the api endpoint, a note\n   and a contact in turn, each on "
                "a random one of the %" PRIu64 " complaints of 3,\n   by an "
                "actor with the agent role (roles/agent); the state stays "
                "registered\n",
                complaints);
        s_print_trips_header ("acted");
        s_connection_t prototype;
        memset (&prototype, 0, sizeof (prototype));
        prototype.mode = MODE_ACT;
        prototype.endpoint = process.api;
        prototype.complaints = complaints;
        prototype.events = process.events;
        for (size_t index = 0; index < RUNS && !broken; index++) {
            prototype.run = index + 1;
            if (s_trips_run (&cases[index], &prototype,
                             s_runs[index].connections, s_runs[index].in_flight,
                             DAEMON_SECONDS, process.pid, &acted)) {
                broken = true;
                s_daemon_dump_log (&process);
            }
            s_print_trips (&cases[index]);
        }
        //  Each ACTED stored one event, and no complaint came or went. A
        //  contact is the first reply too: its clock stops, with one more
        //  event (complaint.sla.stopped), once per complaint at most
        uint64_t events_after = 0;
        int64_t stored = s_daemon_status (&process, 5000, &events_after);
        if (!broken) {
            uint64_t events = events_after - events_before;
            bool same = stored == (int64_t) complaints && events >= acted
                        && events <= acted + complaints;
            printf ("  store check: %" PRIu64 " events stored since, %" PRIu64
                    " ACTED, %" PRId64 " complaints: %s\n",
                    events_after - events_before, acted, stored,
                    same ? "OK" : "MISMATCH");
            if (!same)
                broken = true;
        }
    }
    if (process.pid > 0) {
        int rc = s_daemon_stop (&process);
        printf ("  SIGTERM: complaintd %s\n",
                rc == 0 ? "exited 0" : "did not exit 0");
        if (rc)
            broken = true;
    }
    fflush (stdout);

    //  5. The daemon against the raw pipeline, and the targets
    bool compared = true;
    for (size_t index = 0; index < RUNS; index++)
        compared = compared && daemon[index].measured;
    if (compared) {
        printf ("\n5. complaintd against the raw pipeline limit of this run "
                "(the lower of LMDB\n   at a batch of the requests in flight "
                "and ZeroMQ with the same connections)\n");
        printf ("  %11s  %9s  %12s  %12s  %12s  %12s  %6s\n", "connections",
                "in flight", "complaintd/s", "LMDB/s", "ZeroMQ/s", "limit/s",
                "ratio");
        for (size_t index = 0; index < RUNS; index++) {
            double lmdb_rate, echo_rate;
            double limit =
              s_limit (lmdb, echo, &daemon[index], &lmdb_rate, &echo_rate);
            printf ("  %11zu  %9zu  %12.0f  %12.0f  %12.0f  %12.0f  %6.2f\n",
                    daemon[index].connections, daemon[index].in_flight,
                    daemon[index].rate, lmdb_rate, echo_rate, limit,
                    limit > 0 ? daemon[index].rate / limit : 0);
        }

        printf ("\nTargets (for information only)\n");
        printf ("  at least %.0f acknowledged complaints/s with 4 "
                "connections\n",
                TARGET_RATE);
        for (size_t index = 0; index < RUNS; index++)
            if (daemon[index].connections == 4)
                s_print_target (&daemon[index], "%.0f/s", daemon[index].rate,
                                daemon[index].rate >= TARGET_RATE);
        printf ("  at least two thirds of the raw pipeline limit\n");
        for (size_t index = 0; index < RUNS; index++) {
            double lmdb_rate, echo_rate;
            double limit =
              s_limit (lmdb, echo, &daemon[index], &lmdb_rate, &echo_rate);
            double ratio = limit > 0 ? daemon[index].rate / limit : 0;
            s_print_target (&daemon[index], "%.2f", ratio,
                            ratio >= TARGET_RATIO);
        }
        printf ("  p99 acknowledgement under %.0f ms with 256 in flight\n",
                TARGET_P99_MS);
        for (size_t index = 0; index < RUNS; index++)
            if (daemon[index].in_flight == 256)
                s_print_target (&daemon[index], "%.2f ms", daemon[index].p99,
                                daemon[index].p99 < TARGET_P99_MS);
    }

    //  6. Reads on a large store
    s_fill_t fill;
    memset (&fill, 0, sizeof (fill));
    s_query_t queries[16];
    size_t query_count = 0;
    s_daemon_t reader;
    memset (&reader, 0, sizeof (reader));
    if (!broken && run_stored && stored_target > 0) {
        printf ("\n6. complaintd with %" PRIu64 " complaints stored: GET, "
                "LIST (limit %d) and COUNT on the\n   api endpoint, one "
                "request at a time, by the agent actor\n",
                stored_target, QUERY_PAGE);
        fflush (stdout);
        char path[PATH_MAX];
        snprintf (path, sizeof (path), "%s/stored", directory);
        if (s_fill (&fill, path, stored_target, 0))
            broken = true;
        printf ("  fill: %" PRIu64 " complaints in %.1f s (%.0f/s, CPU "
                "%.0f%%), registered through cmp_intake\n        in this "
                "process, %d per fsync'd commit, received over the last 365 "
                "days;\n        %" PRIu64 " of them assigned through cmp_case "
                "to %zu departments and %d handlers\n",
                fill.complaints, fill.seconds, fill.rate, fill.cpu * 100,
                FILL_BATCH, fill.assigned, DEPARTMENTS, HANDLERS);
        printf ("  store: data.mdb %.0f MB on disk (%.0f bytes per "
                "complaint), file size %.0f MB\n",
                (double) fill.disk_bytes / 1e6,
                fill.complaints
                  ? (double) fill.disk_bytes / (double) fill.complaints
                  : 0,
                (double) fill.file_bytes / 1e6);
        fflush (stdout);
    }
    if (!broken && run_stored && stored_target > 0) {
        if (s_daemon_start (&reader, directory, "stored", FILL_MAP_SIZE))
            broken = true;
        else
            printf ("  start: complaintd answered HEALTH %.2f s after it "
                    "was started on that store\n",
                    reader.started);
    }
    //  Labels of the filters, with the share of the store they match,
    //  and the handler looked for
    char share[4][48];
    char handler[32];
    s_trips_t beside[BESIDE];
    memset (beside, 0, sizeof (beside));
    char beside_reads[BESIDE][64]; //  For the summary
    if (!broken && reader.pid > 0) {
        uint64_t all = fill.complaints;
        uint64_t assigned = fill.assigned;
        //  The first department and handler: a tenth and a twentieth
        //  of the assigned complaints
        s_handler_name (handler, sizeof (handler), 0);
        snprintf (share[0], sizeof (share[0]), "state=registered (%.0f%%)",
                  all ? 100.0 * (double) (all - assigned) / (double) all : 0);
        snprintf (share[1], sizeof (share[1]), "state=assigned (%.1f%%)",
                  all ? 100.0 * (double) assigned / (double) all : 0);
        snprintf (share[2], sizeof (share[2]), "department (%.2f%%)",
                  all ? 100.0 * (double) fill.department[0] / (double) all : 0);
        snprintf (share[3], sizeof (share[3]), "handler (%.3f%%)",
                  all ? 100.0 * (double) fill.handler[0] / (double) all : 0);
        s_read_t plan[] = {
          {CMP_PROTO_GET, "id", "id (random)", NULL, NULL, NULL, NULL, 1},
          {CMP_PROTO_LIST, "none", "none", NULL, NULL, NULL, NULL, all},
          {CMP_PROTO_LIST, "state_registered", share[0], "registered", NULL,
           NULL, NULL, all - assigned},
          {CMP_PROTO_LIST, "state_assigned", share[1], "assigned", NULL, NULL,
           NULL, assigned},
          {CMP_PROTO_LIST, "department", share[2], NULL, s_departments[0], NULL,
           NULL, fill.department[0]},
          {CMP_PROTO_LIST, "handler", share[3], NULL, NULL, handler, NULL,
           fill.handler[0]},
          {CMP_PROTO_LIST, "state_assigned_department",
           "state=assigned, department", "assigned", s_departments[0], NULL,
           NULL, fill.department[0]},
          {CMP_PROTO_LIST, "state_registered_channel_email",
           "state=registered, channel=email", "registered", NULL, NULL, "email",
           0},
          {CMP_PROTO_COUNT, "state_registered", share[0], "registered", NULL,
           NULL, NULL, all - assigned},
          {CMP_PROTO_COUNT, "state_assigned", share[1], "assigned", NULL, NULL,
           NULL, assigned},
          {CMP_PROTO_COUNT, "department", share[2], NULL, s_departments[0],
           NULL, NULL, fill.department[0]},
          {CMP_PROTO_COUNT, "none", "none", NULL, NULL, NULL, NULL, all}};
        query_count = sizeof (plan) / sizeof (plan[0]);
        assert (query_count <= sizeof (queries) / sizeof (queries[0]));
        printf ("  %-7s  %-32s  %8s  %10s  %7s  %7s  %7s  %8s\n", "request",
                "filter", "requests", "per second", "p50 ms", "p99 ms",
                "max ms", "results");
        fflush (stdout);
        for (size_t index = 0; index < query_count && !broken; index++) {
            s_query_t *query = &queries[index];
            memset (query, 0, sizeof (*query));
            query->read = plan[index];
            if (s_query_run (query, reader.api, all)) {
                broken = true;
                s_daemon_dump_log (&reader);
            }
            printf ("  %-7s  %-32s  %8" PRIu64 "  %10.0f  %7.2f  %7.2f  "
                    "%7.2f  %8" PRIu64 "%s\n",
                    cmp_proto_id_name (query->read.type), query->read.label,
                    query->requests, query->rate, query->p50, query->p99,
                    query->max, query->results,
                    query->measured ? "" : "  (broken)");
            fflush (stdout);
        }
    }
    //  The intake while the api serves slow reads: one event loop serves
    //  both endpoints
    if (!broken && reader.pid > 0) {
        printf ("\n  SUBMIT -> SUBMITTED on the same daemon's intake, 1 "
                "connection, %d in flight, while\n  the api is idle or "
                "answers one of the reads above after another\n",
                BESIDE_IN_FLIGHT);
        printf ("  %-40s  %6s  %12s  %10s  %7s  %7s  %7s\n", "api", "reads",
                "acknowledged", "per second", "p50 ms", "p99 ms", "max ms");
        s_connection_t prototype;
        memset (&prototype, 0, sizeof (prototype));
        prototype.mode = MODE_DAEMON;
        prototype.endpoint = reader.intake;
        uint64_t submitted = 0;
        for (size_t index = 0; index < BESIDE && !broken; index++) {
            s_reads_t reads = {reader.api, NULL, 0, false};
            for (size_t other = 0; other < query_count; other++)
                if (queries[other].read.type == s_beside[index].type
                    && streq (queries[other].read.key, s_beside[index].key))
                    reads.read = &queries[other].read;
            zactor_t *actor =
              reads.read ? zactor_new (s_reads_actor, &reads) : NULL;
            prototype.run = 40 + index;
            s_trips_t *run = &beside[index];
            if (s_trips_run (run, &prototype, 1, BESIDE_IN_FLIGHT,
                             DAEMON_SECONDS, reader.pid, &submitted))
                broken = true;
            zactor_destroy (&actor);
            if (reads.failed) {
                fprintf (stderr, "E: a read beside the SUBMITs failed\n");
                broken = true;
            }
            char label[80] = "idle";
            if (reads.read)
                snprintf (label, sizeof (label), "%s %s",
                          cmp_proto_id_name (reads.read->type),
                          reads.read->label);
            if (reads.read)
                snprintf (beside_reads[index], sizeof (beside_reads[index]),
                          "%s:%s", cmp_proto_id_name (reads.read->type),
                          reads.read->key);
            else
                snprintf (beside_reads[index], sizeof (beside_reads[index]),
                          "none");
            printf ("  %-40s  %6" PRIu64 "  %12" PRIu64 "  %10.0f  %7.2f  "
                    "%7.2f  %7.2f%s\n",
                    label, reads.reads, run->completed, run->rate, run->p50,
                    run->p99, run->max, run->measured ? "" : "  (broken)");
            fflush (stdout);
        }
        int64_t stored = s_daemon_health (&reader, 5000);
        if (!broken) {
            bool same = stored == (int64_t) (fill.complaints + submitted);
            printf ("  store check: %" PRId64 " complaints stored, %" PRIu64
                    " filled and %" PRIu64 " acknowledged: %s\n",
                    stored, fill.complaints, submitted,
                    same ? "OK" : "MISMATCH");
            if (!same)
                broken = true;
        }
    }
    if (reader.pid > 0) {
        int rc = s_daemon_stop (&reader);
        printf ("  SIGTERM: complaintd %s\n",
                rc == 0 ? "exited 0" : "did not exit 0");
        if (rc)
            broken = true;
    }
    fflush (stdout);

    //  7. Triage: its time per complaint, and the intake with it on and off
    s_triage_t triage_runs[2];
    memset (triage_runs, 0, sizeof (triage_runs));
    s_trips_t triage_off[RUNS], triage_on[RUNS];
    memset (triage_off, 0, sizeof (triage_off));
    memset (triage_on, 0, sizeof (triage_on));
    if (!broken && run_triage) {
        int64_t triage_now = zclock_time ();
        cmp_proto_t *records[TRIAGE_VARIANTS];
        size_t text_bytes = 0, record_bytes = 0;
        for (size_t index = 0; index < TRIAGE_VARIANTS; index++) {
            records[index] = s_triage_record (index, triage_now);
            text_bytes += strlen (cmp_proto_description (records[index]))
                          + strlen (cmp_proto_demands (records[index]));
            zchunk_t *chunk = cmp_proto_encode_map (records[index]);
            record_bytes += zchunk_size (chunk);
            zchunk_destroy (&chunk);
        }
        printf ("\n7. Triage (分类、评估): cmp_triage_apply in this process, "
                "one call at a time, on\n   %d complaints in turn, Chinese "
                "with some English (description and demands\n   %zu bytes, "
                "record %zu bytes, on average), channels, times and repeat\n"
                "   counts varied; %d calls untimed, then at most %d or %.0f s "
                "timed\n",
                TRIAGE_VARIANTS, text_bytes / TRIAGE_VARIANTS,
                record_bytes / TRIAGE_VARIANTS, TRIAGE_WARMUP, TRIAGE_CALLS,
                TRIAGE_SECONDS);
        //  (%8s: "µs" is two bytes wide in one column)
        printf ("  %-20s  %7s  %6s  %10s  %8s  %8s  %8s  %7s  %10s  %9s  %9s\n",
                "rules", "load ms", "calls", "per second", "p50 µs", "p99 µs",
                "max µs", "matched", "classified", "scan p50", "write p50");
        fflush (stdout);
        char rules_path[PATH_MAX];
        snprintf (rules_path, sizeof (rules_path), "%s/rules-%d.yaml",
                  directory, TRIAGE_RULES);
        if (s_rules_write (rules_path, TRIAGE_RULES)) {
            fprintf (stderr, "E: cannot write %s\n", rules_path);
            broken = true;
        }
        for (size_t index = 0; index < 2 && !broken; index++) {
            s_triage_t *run = &triage_runs[index];
            cmp_config_t *config = cmp_config_new ();
            assert (config);
            //  The shipped rules and calendars (every key at its default),
            //  then the generated rules with the shipped calendars
            if ((index == 1
                 && cmp_config_set (config, "triage/rules", rules_path))
                || cmp_config_validate (config)) {
                fprintf (stderr, "E: the configuration of the triage is not "
                                 "valid\n");
                broken = true;
            }
            cmp_rulebook_t *rulebook =
              broken ? NULL : s_rulebook_read (config, &run->load_ms);
            if (rulebook) {
                cmp_triage_t *triage = cmp_rulebook_triage (rulebook);
                snprintf (run->version, sizeof (run->version), "%s",
                          cmp_triage_version (triage));
                s_triage_measure (run, triage, records, TRIAGE_VARIANTS,
                                  triage_now);
                char label[128];
                snprintf (label, sizeof (label), "%s, %zu rules",
                          index ? "generated" : "shipped", run->rules);
                printf ("  %-20s  %7.1f  %6" PRIu64 "  %10.0f  %7.1f  %7.1f  "
                        "%7.1f  %7.1f  %9.0f%%  %9.1f  %9.1f\n",
                        label, run->load_ms, run->calls, run->rate, run->p50,
                        run->p99, run->max, run->matched, run->classified * 100,
                        run->scan_p50, run->write_p50);
            } else
                broken = true;
            cmp_rulebook_destroy (&rulebook);
            cmp_config_destroy (&config);
        }
        if (!broken)
            printf ("  matched: mean rules matched per call; classified: the "
                    "calls in which a rule\n  set the category. Rules: %s "
                    "(built in), and\n  %s: %d rules written for the bench, "
                    "keyword lists of\n  5 to 20 words (one in %d of this "
                    "field, the others of other fields), some\n  with all or "
                    "none, patterns, channels, a few repeats and times\n",
                    triage_runs[0].version, triage_runs[1].version,
                    TRIAGE_RULES, OWN_FIELD);
        for (size_t index = 0; index < TRIAGE_VARIANTS; index++)
            cmp_proto_destroy (&records[index]);
        fflush (stdout);
    }
    //  The intake with triage off and on: two daemons, measured in turn
    s_daemon_t untriaged, triaged;
    memset (&untriaged, 0, sizeof (untriaged));
    memset (&triaged, 0, sizeof (triaged));
    untriaged.option = "triage/enabled=false";
    uint64_t triage_acks[2] = {0, 0};
    if (!broken && run_triage) {
        printf ("\n  SUBMIT -> SUBMITTED as in 3 (%zu-byte SUBMITs) on two "
                "daemons, one with triage\n  off (-o triage/enabled=false), "
                "one with the shipped rules; a phone number per\n  complaint, "
                "one in %d that of an earlier complaint (a repeat); each row "
                "measured\n  off, then on\n",
                submit_size, REPEAT_EVERY);
        fflush (stdout);
        if (s_daemon_start (&untriaged, directory, "triage-off", MAP_SIZE)
            || s_daemon_start (&triaged, directory, "triage-on", MAP_SIZE))
            broken = true;
    }
    if (!broken && run_triage) {
        printf ("  %11s  %9s  %10s  %10s  %6s  %10s  %10s  %10s  %10s\n",
                "connections", "in flight", "off acks/s", "on acks/s", "on/off",
                "off p99 ms", "on p99 ms", "off CPU", "on CPU");
        fflush (stdout);
        s_connection_t prototype;
        memset (&prototype, 0, sizeof (prototype));
        prototype.mode = MODE_DAEMON;
        prototype.phones = true;
        for (size_t index = 0; index < RUNS && !broken; index++) {
            prototype.run = 70 + index;
            prototype.endpoint = untriaged.intake;
            if (s_trips_run (&triage_off[index], &prototype,
                             s_runs[index].connections, s_runs[index].in_flight,
                             DAEMON_SECONDS, untriaged.pid, &triage_acks[0])) {
                broken = true;
                s_daemon_dump_log (&untriaged);
                break;
            }
            prototype.endpoint = triaged.intake;
            if (s_trips_run (&triage_on[index], &prototype,
                             s_runs[index].connections, s_runs[index].in_flight,
                             DAEMON_SECONDS, triaged.pid, &triage_acks[1])) {
                broken = true;
                s_daemon_dump_log (&triaged);
            }
            s_trips_t *off = &triage_off[index], *on = &triage_on[index];
            printf ("  %11zu  %9zu  %10.0f  %10.0f  %6.2f  %10.2f  %10.2f  "
                    "%9.0f%%  %9.0f%%%s\n",
                    on->connections, on->in_flight, off->rate, on->rate,
                    off->rate > 0 ? on->rate / off->rate : 0, off->p99, on->p99,
                    off->daemon_cpu * 100, on->daemon_cpu * 100,
                    off->measured && on->measured ? "" : "  (broken)");
            fflush (stdout);
        }
    }
    if (!broken && run_triage) {
        //  Every complaint acknowledged is stored; the first ones carry
        //  the rules' version and repeat counts on one daemon only
        uint64_t sent = 0, repeats = 0;
        for (size_t index = 0; index < RUNS; index++) {
            sent += triage_on[index].sent;
            repeats += triage_on[index].repeats;
        }
        s_daemon_t *daemons[2] = {&untriaged, &triaged};
        for (size_t index = 0; index < 2; index++) {
            int64_t stored = s_daemon_health (daemons[index], 5000);
            uint64_t checked_triaged = 0, checked_repeats = 0;
            uint64_t count = triage_acks[index] < TRIAGE_CHECK
                               ? triage_acks[index]
                               : TRIAGE_CHECK;
            if (s_triage_check (daemons[index], count, &checked_triaged,
                                &checked_repeats))
                broken = true;
            bool same = stored == (int64_t) triage_acks[index]
                        && checked_triaged == (index ? count : 0)
                        && (index == 0 || checked_repeats > 0);
            printf ("  store check, triage %s: %" PRId64
                    " complaints stored, %" PRIu64 " acknowledged; of "
                    "complaints 1-%" PRIu64 ",\n    %" PRIu64
                    " triaged, %" PRIu64 " with a repeat count: %s\n",
                    index ? "on" : "off", stored, triage_acks[index], count,
                    checked_triaged, checked_repeats, same ? "OK" : "MISMATCH");
            if (!same)
                broken = true;
        }
        printf ("  repeats: %" PRIu64 " of the %" PRIu64 " SUBMITs sent "
                "with triage on (%.1f%%) had the phone\n  number of an "
                "earlier complaint\n",
                repeats, sent,
                sent ? 100.0 * (double) repeats / (double) sent : 0);
    }
    for (size_t index = 0; index < 2; index++) {
        s_daemon_t *daemon_p = index ? &triaged : &untriaged;
        if (daemon_p->pid > 0) {
            int rc = s_daemon_stop (daemon_p);
            printf ("  SIGTERM: complaintd (triage %s) %s\n",
                    index ? "on" : "off",
                    rc == 0 ? "exited 0" : "did not exit 0");
            if (rc)
                broken = true;
        }
    }
    bool triage_compared = true;
    for (size_t index = 0; index < RUNS; index++)
        triage_compared = triage_compared && triage_off[index].measured
                          && triage_on[index].measured;
    if (triage_compared) {
        printf ("\nTargets (for information only)\n");
        printf ("  triage costs at most a tenth of the intake throughput "
                "(on/off at least %.2f)\n",
                TARGET_TRIAGE_RATIO);
        for (size_t index = 0; index < RUNS; index++) {
            double ratio = triage_off[index].rate > 0
                             ? triage_on[index].rate / triage_off[index].rate
                             : 0;
            s_print_target (&triage_on[index], "%.2f", ratio,
                            ratio >= TARGET_TRIAGE_RATIO);
        }
    }
    fflush (stdout);

    //  8. Deadlines: the daemon with N pending deadlines
    s_deadlines_t deadlines[2];
    memset (deadlines, 0, sizeof (deadlines));
    uint64_t deadline_sizes[2] = {DEADLINES_SMALL, deadlines_target};
    size_t deadline_count =
      deadlines_target > 0 && deadlines_target != DEADLINES_SMALL ? 2 : 1;
    if (!broken && run_deadlines) {
        printf ("\n8. Deadlines: complaints registered through cmp_intake "
                "in this process, %d per\n   fsync'd commit, all at the same "
                "instant, by a rulebook with triage off: each\n   runs the "
                "clocks of the shipped standard policy and has one entry in "
                "the timers\n   index. Then complaintd on that store on a "
                "test clock (clock/test): its start,\n   its memory, and a "
                "burst: TICK {actor %s, at the earliest point} again\n   and "
                "again until TICKED says nothing is pending (sla/fire_max "
                "complaints per\n   batch)\n",
                FILL_BATCH, ADMIN);
        fflush (stdout);
        for (size_t index = 0; index < deadline_count && !broken; index++)
            if (s_deadlines_run (&deadlines[index], directory,
                                 deadline_sizes[index]))
                broken = true;
    }
    bool deadlines_measured = false;
    for (size_t index = 0; index < deadline_count; index++)
        deadlines_measured = deadlines_measured || deadlines[index].measured;
    if (deadlines_measured) {
        printf ("\n  %10s  %10s  %8s  %9s  %18s  %18s  %18s\n", "complaints",
                "timers", "start ms", "fired/s", "RssAnon MB", "RssFile MB",
                "VmRSS MB");
        printf ("  %10s  %10s  %8s  %9s  %8s  %8s  %8s  %8s  %8s  %8s\n", "",
                "", "", "", "start", "after", "start", "after", "start",
                "after");
        for (size_t index = 0; index < deadline_count; index++) {
            s_deadlines_t *row = &deadlines[index];
            if (!row->measured)
                continue;
            printf ("  %10" PRIu64 "  %10" PRIu64 "  %8.0f  %9.0f  %8.1f  "
                    "%8.1f  %8.1f  %8.1f  %8.1f  %8.1f\n",
                    row->complaints, row->fill.timers, row->started_ms,
                    row->rate, (double) row->start.rss_anon / 1024,
                    (double) row->after.rss_anon / 1024,
                    (double) row->start.rss_file / 1024,
                    (double) row->after.rss_file / 1024,
                    (double) row->start.vm_rss / 1024,
                    (double) row->after.vm_rss / 1024);
        }
        printf ("  start: after the spawn, once HEALTH is answered; after: "
                "once the burst is over.\n  RssFile holds LMDB's pages (its "
                "map is a file) and the libraries\n");
        if (deadline_count == 2 && deadlines[0].measured
            && deadlines[1].measured) {
            s_deadlines_t *small = &deadlines[0], *large = &deadlines[1];
            double growth =
              (double) large->start.rss_anon - (double) small->start.rss_anon;
            double per =
              growth * 1024 / (double) (large->complaints - small->complaints);
            printf ("\nTarget (for information only)\n");
            printf ("  the daemon's anonymous memory does not grow with the "
                    "pending deadlines: RssAnon\n  after its start %.1f MB "
                    "with %" PRIu64 ", %.1f MB with %" PRIu64 " (%+.1f MB, "
                    "%+.2f bytes per\n  further deadline; at most %+.1f MB): "
                    "%s\n",
                    (double) small->start.rss_anon / 1024, small->complaints,
                    (double) large->start.rss_anon / 1024, large->complaints,
                    growth / 1024, per, TARGET_ANON_GROWTH_KB / 1024.0,
                    growth <= TARGET_ANON_GROWTH_KB ? "target met"
                                                    : "target missed");
        }
    }
    fflush (stdout);

    //  One line per figure, for scripts and for comparing runs
    printf ("\nSummary\n");
    printf ("summary machine cpus=%ld usable=%ld load=%.2f fs=%s\n", online,
            usable, load[0], fs_type);
    for (size_t index = 0; index < BATCHES; index++)
        if (lmdb[index].commits)
            printf ("summary lmdb batch=%zu records_per_s=%.0f "
                    "commit_p50_ms=%.2f commit_p99_ms=%.2f\n",
                    lmdb[index].batch, lmdb[index].rate, lmdb[index].p50,
                    lmdb[index].p99);
    for (size_t index = 0; index < RUNS; index++)
        if (echo[index].measured)
            printf ("summary zeromq connections=%zu in_flight=%zu "
                    "round_trips_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
                    echo[index].connections, echo[index].in_flight,
                    echo[index].rate, echo[index].p50, echo[index].p99);
    for (size_t index = 0; index < RUNS; index++)
        if (daemon[index].measured) {
            double lmdb_rate, echo_rate;
            double limit =
              s_limit (lmdb, echo, &daemon[index], &lmdb_rate, &echo_rate);
            printf ("summary complaintd connections=%zu in_flight=%zu "
                    "acks_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
                    "limit_per_s=%.0f ratio=%.2f\n",
                    daemon[index].connections, daemon[index].in_flight,
                    daemon[index].rate, daemon[index].p50, daemon[index].p99,
                    limit, limit > 0 ? daemon[index].rate / limit : 0);
        }
    for (size_t index = 0; index < RUNS; index++)
        if (cases[index].measured)
            printf ("summary acts connections=%zu in_flight=%zu "
                    "acted_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
                    cases[index].connections, cases[index].in_flight,
                    cases[index].rate, cases[index].p50, cases[index].p99);
    if (fill.complaints)
        printf ("summary stored complaints=%" PRIu64 " assigned=%" PRIu64
                " fill_s=%.1f fill_per_s=%.0f disk_bytes=%" PRIu64
                " start_s=%.2f\n",
                fill.complaints, fill.assigned, fill.seconds, fill.rate,
                fill.disk_bytes, reader.started);
    for (size_t index = 0; index < query_count; index++)
        if (queries[index].measured)
            printf ("summary read request=%s filter=%s p50_ms=%.2f "
                    "p99_ms=%.2f results=%" PRIu64 "\n",
                    cmp_proto_id_name (queries[index].read.type),
                    queries[index].read.key, queries[index].p50,
                    queries[index].p99, queries[index].results);
    for (size_t index = 0; index < BESIDE; index++)
        if (beside[index].measured)
            printf ("summary submit_beside_reads reads=%s acks_per_s=%.0f "
                    "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
                    beside_reads[index], beside[index].rate, beside[index].p50,
                    beside[index].p99, beside[index].max);
    for (size_t index = 0; index < 2; index++)
        if (triage_runs[index].measured)
            printf ("summary triage rules=%s count=%zu calls=%" PRIu64
                    " per_s=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f "
                    "matched=%.1f scan_p50_us=%.1f scan_p99_us=%.1f "
                    "write_p50_us=%.1f write_p99_us=%.1f\n",
                    index ? "generated" : "shipped", triage_runs[index].rules,
                    triage_runs[index].calls, triage_runs[index].rate,
                    triage_runs[index].p50, triage_runs[index].p99,
                    triage_runs[index].max, triage_runs[index].matched,
                    triage_runs[index].scan_p50, triage_runs[index].scan_p99,
                    triage_runs[index].write_p50, triage_runs[index].write_p99);
    for (size_t index = 0; index < RUNS; index++)
        if (triage_off[index].measured && triage_on[index].measured)
            printf ("summary triage_intake connections=%zu in_flight=%zu "
                    "off_acks_per_s=%.0f on_acks_per_s=%.0f ratio=%.2f "
                    "off_p99_ms=%.2f on_p99_ms=%.2f\n",
                    triage_on[index].connections, triage_on[index].in_flight,
                    triage_off[index].rate, triage_on[index].rate,
                    triage_off[index].rate > 0
                      ? triage_on[index].rate / triage_off[index].rate
                      : 0,
                    triage_off[index].p99, triage_on[index].p99);
    for (size_t index = 0; index < deadline_count; index++)
        if (deadlines[index].measured)
            printf (
              "summary deadlines complaints=%" PRIu64 " timers=%" PRIu64
              " fill_per_s=%.0f start_ms=%.0f fired_per_s=%.0f "
              "rss_anon_start_kb=%" PRIu64 " rss_anon_after_kb=%" PRIu64
              " rss_file_start_kb=%" PRIu64 " rss_file_after_kb=%" PRIu64 "\n",
              deadlines[index].complaints, deadlines[index].fill.timers,
              deadlines[index].fill.rate, deadlines[index].started_ms,
              deadlines[index].rate, deadlines[index].start.rss_anon,
              deadlines[index].after.rss_anon, deadlines[index].start.rss_file,
              deadlines[index].after.rss_file);
    printf ("summary total_seconds=%.1f result=%s\n",
            (double) (zclock_mono () - started) / 1000.0,
            broken ? "BROKEN" : "ok");

    zframe_destroy (&submit_frame);
    zchunk_destroy (&event);
    zchunk_destroy (&record);
    zdir_t *dir = zdir_new (directory, NULL);
    if (dir) {
        zdir_remove (dir, true);
        zdir_destroy (&dir);
    }
    rmdir (directory);
    return broken ? EXIT_FAILURE : EXIT_SUCCESS;
}
