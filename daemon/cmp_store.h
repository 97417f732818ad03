/*  =========================================================================
    cmp_store - durable storage of complaints and events in LMDB

    The only class that includes lmdb.h. One environment holds these
    databases, all keyed so that appends land on the rightmost page:

        complaints  id (u64 BE)                    -> record (msgpack map)
        numbers     number (string)                -> id
        refs        channel NUL ref                -> id (merged)
        refs_log    id (u64 BE)                    -> channel NUL ref
        by_time     received_at (u64 BE) id        -> (empty)
        by_channel  channel NUL received_at id     -> (empty)
        events      seq (u64 BE)                   -> event (msgpack map)
        history     id (u64 BE) n (u64 BE)         -> entry (msgpack map)
        by_field    tag value NUL received_at id   -> (empty)
        by_updated  updated_at (u64 BE) id         -> (empty)
        times       id                             -> received_at updated_at
        by_contact  contact NUL received_at id     -> its number (empty
                                                      in stores before)
        timers      at (u64 BE) id                 -> (empty)
        by_due      due_at (u64 BE) id             -> (empty)
        meta        "schema"                       -> schema version

    Writes happen between cmp_store_begin and cmp_store_commit, in one LMDB
    write transaction; the commit is fsync'd before it returns. A write that
    fails leaves the transaction unusable: call cmp_store_abort, then, when
    cmp_store_full says the map was full, cmp_store_grow and redo the batch.

    Reads outside a write transaction use a private read-only transaction
    that is renewed on each call. Returned chunks are copies: the caller
    owns them.

    Threads: one thread may write (begin ... commit) while one other thread
    reads; reads in the writing thread see the open transaction. Growing
    the map needs both to be idle. cmp_store_last_seq and cmp_store_count
    report what is committed and may be called from any thread.
    =========================================================================
*/

#ifndef CMP_STORE_H_INCLUDED
#define CMP_STORE_H_INCLUDED

#define CMP_STORE_SCHEMA 5

//  Refs arrive in random key order, and inserting each into the refs
//  index would dirty a page of it per complaint. New refs are appended to
//  refs_log and kept in memory; once CMP_STORE_MERGE_AT are pending, they
//  are merged into refs in key order, CMP_STORE_MERGE_CHUNK per commit.
//  Memory stays bounded by the first figure, whatever the store holds.
#define CMP_STORE_MERGE_AT 32768
#define CMP_STORE_MERGE_CHUNK 256

//  Longest contact key (a normalised phone number or email address), and
//  most entries of one contact a repeat search counts
#define CMP_STORE_CONTACT_MAX 256
#define CMP_STORE_CONTACT_WALK 100

//  Longest complaint number the contact index keeps (YYYYMMDD-NNNNNN, and
//  room for more digits)
#define CMP_STORE_NUMBER_MAX 31

//  Length of a LIST cursor in bytes (a time and the id, big-endian)
#define CMP_STORE_CURSOR_SIZE 16

//  Most index entries one page of a query looks at; a page that reaches
//  it ends there, short or empty, with a cursor to the rest
#define CMP_STORE_WALK_MAX 4096

//  Fields of a complaint that queries find through the by_field index
#define CMP_STORE_STATE 0
#define CMP_STORE_DEPARTMENT 1
#define CMP_STORE_HANDLER 2
#define CMP_STORE_CATEGORY 3
#define CMP_STORE_PRIORITY 4
#define CMP_STORE_LEVEL 5   //  Escalation level, once escalated
#define CMP_STORE_OVERDUE 6 //  "yes" while a clock is past its due time
#define CMP_STORE_FIELDS 7

//  What the query indexes hold of one complaint
typedef struct
{
    const char *field[CMP_STORE_FIELDS]; //  Values, NULL when absent
    int64_t received_at;                 //  Registration time
    int64_t updated_at;                  //  Last change
    int64_t due_at;   //  Earliest due time of a running clock, 0 if none
    int64_t timer_at; //  When its next deadline point fires, 0 if none
} cmp_store_keys_t;

//  A query: every condition given must hold
typedef struct
{
    const char *field[CMP_STORE_FIELDS]; //  Values to match, NULL = any
    const char *channel;                 //  Channel, NULL = any
    int64_t from, to;                    //  received_at in [from, to)
    int64_t updated_from, updated_to;    //  updated_at in [from, to)
    int64_t due_before;                  //  A running clock due before
                                         //  this; 0 = any
} cmp_store_query_t;

//  Open or create the store in directory path (created if missing), with
//  an initial map of map_size bytes that may grow up to map_max bytes (0:
//  no limit). Returns NULL and logs why on failure.
cmp_store_t *cmp_store_new (const char *path, size_t map_size, size_t map_max);

//  Close the store; idempotent.
void cmp_store_destroy (cmp_store_t **self_p);

//  Begin the write transaction of a batch.
int cmp_store_begin (cmp_store_t *self) CMP_MUSTCHECK;

//  Commit the write transaction to disk. On failure, the transaction is
//  gone, in-memory counters are rolled back, and cmp_store_full tells
//  whether the map was full.
int cmp_store_commit (cmp_store_t *self) CMP_MUSTCHECK;

//  Abandon the write transaction and roll back in-memory counters.
void cmp_store_abort (cmp_store_t *self);

//  True if the map is at store/map_max and cannot grow.
bool cmp_store_at_limit (cmp_store_t *self);

//  True if the last failed write or commit ran out of map space.
bool cmp_store_full (cmp_store_t *self);

//  Change the merge thresholds (for tests).
void
cmp_store_set_merge (cmp_store_t *self, size_t merge_at, size_t merge_chunk);

//  Change how many index entries one query page looks at (for tests).
void cmp_store_set_walk (cmp_store_t *self, size_t walk_max);

//  Refs not merged into the refs index yet.
size_t cmp_store_refs_pending (cmp_store_t *self);

//  Double the map size, up to map_max. Only outside a transaction.
int cmp_store_grow (cmp_store_t *self) CMP_MUSTCHECK;

//  ---------------------------------------------------------------------
//  Inside the write transaction

//  Set *id to the complaint registered under (channel, ref), or 0 if none.
//  Returns -1 if the store could not be read. Neither part may hold
//  control characters.
int cmp_store_ref_find (cmp_store_t *self,
                        const char *channel,
                        const char *ref,
                        uint64_t *id) CMP_MUSTCHECK;

//  Reserve the next complaint id and the next number for a complaint
//  registered at time (ms). The number is written into number (at least
//  24 bytes). Both are released again if the transaction aborts.
uint64_t cmp_store_next_id (cmp_store_t *self,
                            int64_t time,
                            char *number,
                            size_t number_size);

//  Store a new complaint record and its index entries.
int cmp_store_complaint_put (cmp_store_t *self,
                             uint64_t id,
                             const char *number,
                             const char *channel,
                             const char *ref,
                             int64_t received_at,
                             zchunk_t *record) CMP_MUSTCHECK;

//  Replace the record of complaint id (indexes are not touched).
int cmp_store_complaint_replace (cmp_store_t *self,
                                 uint64_t id,
                                 zchunk_t *record) CMP_MUSTCHECK;

//  Append history entry n (from 1, without gaps) of complaint id. An
//  entry, once written, cannot be replaced: that is refused.
int cmp_store_history_put (cmp_store_t *self,
                           uint64_t id,
                           uint64_t n,
                           zchunk_t *entry) CMP_MUSTCHECK;

//  Delete every history entry of complaint id (the retention purge).
int cmp_store_history_purge (cmp_store_t *self, uint64_t id) CMP_MUSTCHECK;

//  Bring the query indexes of complaint id from old (NULL for a new
//  complaint) to now.
int cmp_store_index (cmp_store_t *self,
                     uint64_t id,
                     const cmp_store_keys_t *old,
                     const cmp_store_keys_t *now) CMP_MUSTCHECK;

//  Set *count (up to max) to the number of complaints whose timer is due
//  at or before now, and put their ids in ids, earliest first. In the
//  write transaction.
int cmp_store_timers_due (cmp_store_t *self,
                          int64_t now,
                          uint64_t *ids,
                          size_t max,
                          size_t *count) CMP_MUSTCHECK;

//  Reserve the next event sequence number.
uint64_t cmp_store_next_seq (cmp_store_t *self);

//  Append an event at seq (from cmp_store_next_seq).
int cmp_store_event_put (cmp_store_t *self,
                         uint64_t seq,
                         zchunk_t *event) CMP_MUSTCHECK;

//  ---------------------------------------------------------------------
//  Reads (inside the write transaction when one is open)

//  A copy of the record of complaint id, or NULL.
zchunk_t *cmp_store_complaint (cmp_store_t *self, uint64_t id);

//  The id of the complaint with this number, or 0.
uint64_t cmp_store_number_find (cmp_store_t *self, const char *number);

//  Append up to limit records that match query to records, after cursor
//  if not NULL. If more remain, writes the last record's cursor into next
//  (size CMP_STORE_CURSOR_SIZE) and sets *more. Or, when
//  records is NULL, count every match into *count. One index drives: the
//  due time when due_before is given, else the first field given
//  (handler, level, department, category, priority, overdue, state),
//  else the channel, else the update time when only it is bounded, else
//  the registration time; the other conditions are looked up in the
//  indexes, not in the records. Results are in the order of the driving
//  index: due time, registration time, or update time. Returns 0 or -1.
int cmp_store_query (cmp_store_t *self,
                     const cmp_store_query_t *query,
                     const byte *cursor,
                     size_t limit,
                     zlistx_t *records,
                     byte *next,
                     bool *more,
                     uint64_t *count) CMP_MUSTCHECK;

//  Append up to limit events with seq >= from to events. Returns 0 or -1.
int cmp_store_events (cmp_store_t *self,
                      uint64_t from,
                      size_t limit,
                      zlistx_t *events) CMP_MUSTCHECK;

//  Index complaint id, received at received_at, under contact (a
//  normalised phone number or email address of its complainant), with its
//  number (at most CMP_STORE_NUMBER_MAX bytes), so that a repeat names it
//  without reading its record. In the write transaction. A contact longer
//  than CMP_STORE_CONTACT_MAX is not indexed.
int cmp_store_contact_put (cmp_store_t *self,
                           const char *contact,
                           int64_t received_at,
                           uint64_t id,
                           const char *number) CMP_MUSTCHECK;

//  Remove what cmp_store_contact_put indexed (absent is no error). In
//  the write transaction.
int cmp_store_contact_delete (cmp_store_t *self,
                              const char *contact,
                              int64_t received_at,
                              uint64_t id) CMP_MUSTCHECK;

//  Count the complaints indexed under contact that were received at or
//  after since (the newest CMP_STORE_CONTACT_WALK at most), and put the
//  ids of the newest ids_max of them in ids, newest first, and, if
//  numbers is not NULL, their numbers in numbers ("" for those indexed
//  before numbers were kept). In the writer thread this sees the open
//  transaction.
int cmp_store_contact_find (cmp_store_t *self,
                            const char *contact,
                            int64_t since,
                            uint64_t *ids,
                            char (*numbers)[CMP_STORE_NUMBER_MAX + 1],
                            size_t ids_max,
                            size_t *count) CMP_MUSTCHECK;

//  Set *count to the number of history entries of complaint id.
int cmp_store_history_count (cmp_store_t *self,
                             uint64_t id,
                             uint64_t *count) CMP_MUSTCHECK;

//  Append up to limit history entries of complaint id, from entry from
//  on, to entries (as zchunk_t *). Returns 0 or -1.
int cmp_store_history (cmp_store_t *self,
                       uint64_t id,
                       uint64_t from,
                       size_t limit,
                       zlistx_t *entries) CMP_MUSTCHECK;

//  Set *at to the earliest timer of any complaint, 0 if there is none.
int cmp_store_timer_next (cmp_store_t *self, int64_t *at) CMP_MUSTCHECK;

//  Number of complaints with a timer (pending deadlines).
uint64_t cmp_store_timers (cmp_store_t *self);

//  Last event sequence number committed, 0 if none.
uint64_t cmp_store_last_seq (cmp_store_t *self);

//  Number of complaints committed.
uint64_t cmp_store_count (cmp_store_t *self);

//  Current map size in bytes.
size_t cmp_store_map_size (cmp_store_t *self);

//  LMDB's version string, for the startup log line.
const char *cmp_store_lmdb_version (void);

//  Self test of this class
void cmp_store_test (bool verbose);

#endif
