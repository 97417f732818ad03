/*  =========================================================================
    cmp_store - durable storage of complaints and events in LMDB

    See cmp_store.h for the layout. Counters (next id, per-day number,
    last event seq) are derived from the databases when the store opens and
    kept in memory afterwards; a transaction that aborts rolls them back.
    =========================================================================
*/

#include <lmdb.h>
#include <sys/stat.h>

#include "cmp_classes.h"

//  Structure of our class

struct _cmp_store_t
{
    MDB_env *env;           //  LMDB environment
    MDB_dbi complaints;     //  id -> record
    MDB_dbi numbers;        //  number -> id
    MDB_dbi refs;           //  channel NUL ref -> id, merged from refs_log
    MDB_dbi refs_log;       //  id -> channel NUL ref, not merged yet
    MDB_dbi by_time;        //  received_at id -> ""
    MDB_dbi by_channel;     //  channel NUL received_at id -> ""
    MDB_dbi events;         //  seq -> event
    MDB_dbi history;        //  id n -> entry
    MDB_dbi by_field;       //  tag value NUL received_at id -> ""
    MDB_dbi by_updated;     //  updated_at id -> ""
    MDB_dbi times;          //  id -> received_at updated_at
    MDB_dbi by_contact;     //  contact NUL received_at id -> number
    MDB_dbi timers;         //  at id -> ""
    MDB_dbi by_due;         //  due_at id -> ""
    MDB_dbi meta;           //  "schema" -> version
    MDB_txn *write;         //  Open write transaction, or NULL
    MDB_txn *read;          //  Reusable read transaction (reset when idle)
    int rc;                 //  Last LMDB failure
    size_t map_size;        //  Current map size
    size_t map_max;         //  Largest map size allowed, 0 = no limit
    uint64_t last_id;       //  Highest complaint id reserved
    uint64_t last_seq;      //  Highest event seq reserved
    uint64_t count;         //  Complaints stored
    zhashx_t *pending;      //  channel US ref -> id (uint64_t *), of refs_log
    zlistx_t *added;        //  Pending keys added by the open transaction
    zlistx_t *merging;      //  Sorted pending keys being merged into refs
    size_t merged;          //  Keys of merging written by the open transaction
    uint64_t merge_last;    //  Highest id in the merge round
    uint64_t trim_to;       //  Round merged: drop refs_log ids up to this
    bool trimmed;           //  The open transaction trims refs_log
    size_t merge_at;        //  Pending refs that start a merge
    size_t merge_chunk;     //  Refs merged per transaction
    size_t walk_max;        //  Index entries one query page looks at
    uint64_t committed_seq; //  Last event seq on disk (atomic)
    uint64_t committed_count; //  Complaints on disk (atomic)
    char day[9];              //  YYYYMMDD of the last number issued
    uint32_t day_count;       //  Complaints numbered on that day
    //  Counters at cmp_store_begin, restored on abort
    uint64_t saved_last_id;   //  last_id at begin
    uint64_t saved_last_seq;  //  last_seq at begin
    uint64_t saved_count;     //  count at begin
    char saved_day[9];        //  day at begin
    uint32_t saved_day_count; //  day_count at begin
};

static void
s_put_u64 (byte *target, uint64_t value)
{
    for (int index = 7; index >= 0; index--) {
        target[index] = (byte) (value & 0xff);
        value >>= 8;
    }
}

static uint64_t
s_get_u64 (const byte *source)
{
    uint64_t value = 0;
    for (int index = 0; index < 8; index++)
        value = (value << 8) | source[index];
    return value;
}

//  True in the thread that has the write transaction open, between
//  cmp_store_begin and its commit or abort
static __thread bool s_writing;

//  Log an LMDB failure once, at this boundary, and remember it
static int
s_failed (cmp_store_t *self, int rc, const char *what)
{
    //  Only the thread that writes records the failure: cmp_store_full
    //  reads it there, while another thread may be reading
    if (s_writing)
        self->rc = rc;
    if (rc == MDB_MAP_FULL)
        zsys_info ("cmp_store: %s: map of %zu bytes is full", what,
                   self->map_size);
    else
        zsys_error ("cmp_store: %s: %s", what, mdb_strerror (rc));
    return -1;
}

//  The transaction reads use: the write transaction in the thread that
//  holds it (so that a batch sees its own changes), else the read one.
//  Only one other thread may read at a time.
static MDB_txn *
s_reader (cmp_store_t *self)
{
    if (s_writing)
        return self->write;
    if (!self->read) {
        int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &self->read);
        if (rc) {
            s_failed (self, rc, "mdb_txn_begin (read)");
            return NULL;
        }
    } else {
        int rc = mdb_txn_renew (self->read);
        if (rc) {
            s_failed (self, rc, "mdb_txn_renew");
            return NULL;
        }
    }
    return self->read;
}

//  Release the read snapshot so that old pages can be reused
static void
s_reader_done (cmp_store_t *self, MDB_txn *txn)
{
    if (txn == self->read)
        mdb_txn_reset (self->read);
}

//  A read transaction and a cursor on dbi in it, for the read functions;
//  NULL if either failed. Close with s_read_done.
static MDB_cursor *
s_read_cursor (cmp_store_t *self, MDB_dbi dbi, MDB_txn **txn_p)
{
    *txn_p = s_reader (self);
    if (!*txn_p)
        return NULL;
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (*txn_p, dbi, &cursor);
    if (rc) {
        s_reader_done (self, *txn_p);
        s_failed (self, rc, "mdb_cursor_open");
        return NULL;
    }
    return cursor;
}

static void
s_read_done (cmp_store_t *self, MDB_txn *txn, MDB_cursor *cursor)
{
    mdb_cursor_close (cursor);
    s_reader_done (self, txn);
}

//  Highest key of a u64-keyed database, 0 if empty
static int
s_last_u64 (cmp_store_t *self, MDB_txn *txn, MDB_dbi dbi, uint64_t *value)
{
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (txn, dbi, &cursor);
    if (rc)
        return s_failed (self, rc, "mdb_cursor_open");
    MDB_val key, data;
    rc = mdb_cursor_get (cursor, &key, &data, MDB_LAST);
    *value = rc == 0 && key.mv_size == 8 ? s_get_u64 ((byte *) key.mv_data) : 0;
    mdb_cursor_close (cursor);
    if (rc && rc != MDB_NOTFOUND)
        return s_failed (self, rc, "mdb_cursor_get (last)");
    return 0;
}

//  The in-memory key of a ref: channel, US (0x1f), ref. It sorts as the
//  refs key (channel NUL ref) does, since neither part holds control
//  characters. key must hold 512 bytes.
static void
s_pending_key (const char *channel, const char *ref, char *key)
{
    snprintf (key, 512, "%s\x1f%s", channel, ref);
}

static void
s_pending_add (cmp_store_t *self, const char *key, uint64_t id)
{
    uint64_t *value = (uint64_t *) malloc (sizeof (uint64_t));
    assert (value);
    *value = id;
    zhashx_update (self->pending, key, value);
}

//  Read the refs not merged yet back into memory
static int
s_load_pending (cmp_store_t *self, MDB_txn *txn)
{
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (txn, self->refs_log, &cursor);
    if (rc)
        return s_failed (self, rc, "mdb_cursor_open (refs_log)");
    MDB_val key, data;
    rc = mdb_cursor_get (cursor, &key, &data, MDB_FIRST);
    while (rc == 0) {
        char text[512];
        const char *channel = (const char *) data.mv_data;
        size_t channel_size = strnlen (channel, data.mv_size);
        if (key.mv_size == 8 && channel_size < data.mv_size
            && data.mv_size < sizeof (text)) {
            memcpy (text, data.mv_data, data.mv_size);
            text[channel_size] = 0x1f;
            text[data.mv_size] = 0;
            s_pending_add (self, text, s_get_u64 ((byte *) key.mv_data));
        }
        rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT);
    }
    mdb_cursor_close (cursor);
    if (rc != MDB_NOTFOUND)
        return s_failed (self, rc, "mdb_cursor_get (refs_log)");
    return 0;
}

//  Schema 3 added the query indexes. Every complaint of an older store
//  is registered and was never changed: index it so.
static int
s_upgrade_indexes (cmp_store_t *self, MDB_txn *txn)
{
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (txn, self->by_time, &cursor);
    if (rc)
        return s_failed (self, rc, "mdb_cursor_open (upgrade)");
    MDB_val key, data;
    size_t count = 0;
    rc = mdb_cursor_get (cursor, &key, &data, MDB_FIRST);
    while (rc == 0 && key.mv_size == CMP_STORE_CURSOR_SIZE) {
        const byte *time_id = (const byte *) key.mv_data;
        byte field[1 + 11 + CMP_STORE_CURSOR_SIZE] = "sregistered";
        memcpy (field + 12, time_id, CMP_STORE_CURSOR_SIZE);
        byte times[16];
        memcpy (times, time_id, 8);
        memcpy (times + 8, time_id, 8);
        MDB_val field_key = {sizeof (field), field}, empty = {0, (void *) ""};
        MDB_val updated_key = {CMP_STORE_CURSOR_SIZE, (void *) time_id};
        MDB_val id_key = {8, (void *) (time_id + 8)}, times_data = {16, times};
        if ((rc = mdb_put (txn, self->by_field, &field_key, &empty, 0))
            || (rc = mdb_put (txn, self->by_updated, &updated_key, &empty, 0))
            || (rc = mdb_put (txn, self->times, &id_key, &times_data, 0)))
            break;
        count++;
        rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT);
    }
    mdb_cursor_close (cursor);
    if (rc && rc != MDB_NOTFOUND)
        return s_failed (self, rc, "mdb_put (upgrade)");
    zsys_notice ("cmp_store: indexed %zu complaints for queries", count);
    return 0;
}

static int
s_open_dbs (cmp_store_t *self)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc)
        return s_failed (self, rc, "mdb_txn_begin");
    struct
    {
        const char *name; //  Database name
        MDB_dbi *dbi;     //  Where its handle goes
    } dbs[] = {{"complaints", &self->complaints},
               {"numbers", &self->numbers},
               {"refs", &self->refs},
               {"refs_log", &self->refs_log},
               {"by_time", &self->by_time},
               {"by_channel", &self->by_channel},
               {"events", &self->events},
               {"history", &self->history},
               {"by_field", &self->by_field},
               {"by_updated", &self->by_updated},
               {"times", &self->times},
               {"by_contact", &self->by_contact},
               {"timers", &self->timers},
               {"by_due", &self->by_due},
               {"meta", &self->meta}};
    for (size_t index = 0; index < sizeof (dbs) / sizeof (dbs[0]); index++) {
        rc = mdb_dbi_open (txn, dbs[index].name, MDB_CREATE, dbs[index].dbi);
        if (rc) {
            s_failed (self, rc, "mdb_dbi_open");
            goto txn_abort;
        }
    }
    //  Check or write the schema version
    MDB_val key = {6, (void *) "schema"}, data;
    rc = mdb_get (txn, self->meta, &key, &data);
    if (rc == MDB_NOTFOUND) {
        byte version[8];
        s_put_u64 (version, CMP_STORE_SCHEMA);
        data.mv_size = 8;
        data.mv_data = version;
        rc = mdb_put (txn, self->meta, &key, &data, 0);
        if (rc) {
            s_failed (self, rc, "mdb_put (schema)");
            goto txn_abort;
        }
    } else if (rc) {
        s_failed (self, rc, "mdb_get (schema)");
        goto txn_abort;
    } else if (data.mv_size == 8 && s_get_u64 ((byte *) data.mv_data) >= 1
               && s_get_u64 ((byte *) data.mv_data) < CMP_STORE_SCHEMA) {
        //  Version 1 had no refs_log: its refs index is complete as it is.
        //  Versions 1 and 2 had no history: their complaints start with
        //  none, and the history database was created above.
        uint64_t was = s_get_u64 ((byte *) data.mv_data);
        byte version[8];
        s_put_u64 (version, CMP_STORE_SCHEMA);
        MDB_val upgraded = {8, version};
        rc = mdb_put (txn, self->meta, &key, &upgraded, 0);
        if (rc) {
            s_failed (self, rc, "mdb_put (schema)");
            goto txn_abort;
        }
        if (was < 3 && s_upgrade_indexes (self, txn))
            goto txn_abort;
        zsys_notice ("cmp_store: store upgraded from schema %" PRIu64 " to %d",
                     was, CMP_STORE_SCHEMA);
    } else if (data.mv_size != 8
               || s_get_u64 ((byte *) data.mv_data) != CMP_STORE_SCHEMA) {
        zsys_error ("cmp_store: schema version %" PRIu64
                    " is not supported; this build reads version %d",
                    data.mv_size == 8 ? s_get_u64 ((byte *) data.mv_data) : 0,
                    CMP_STORE_SCHEMA);
        goto txn_abort;
    }
    //  Derive the counters from the data
    if (s_last_u64 (self, txn, self->complaints, &self->last_id)
        || s_last_u64 (self, txn, self->events, &self->last_seq))
        goto txn_abort;
    MDB_stat stat;
    rc = mdb_stat (txn, self->complaints, &stat);
    if (rc) {
        s_failed (self, rc, "mdb_stat");
        goto txn_abort;
    }
    self->count = stat.ms_entries;
    if (s_load_pending (self, txn))
        goto txn_abort;
    self->committed_seq = self->last_seq;
    self->committed_count = self->count;
    rc = mdb_txn_commit (txn);
    if (rc)
        return s_failed (self, rc, "mdb_txn_commit (open)");
    return 0;

txn_abort:
    mdb_txn_abort (txn);
    return -1;
}

//  --------------------------------------------------------------------------
//  Open or create the store

cmp_store_t *
cmp_store_new (const char *path, size_t map_size, size_t map_max)
{
    assert (path);
    if (mkdir (path, 0750) && errno != EEXIST) {
        zsys_error ("cmp_store: cannot create %s: %s", path, strerror (errno));
        return NULL;
    }
    cmp_store_t *self = (cmp_store_t *) zmalloc (sizeof (cmp_store_t));
    assert (self);
    self->map_max = map_max;
    self->pending = zhashx_new ();
    assert (self->pending);
    zhashx_set_destructor (self->pending, (zhashx_destructor_fn *) zstr_free);
    self->added = zlistx_new ();
    assert (self->added);
    zlistx_set_duplicator (self->added, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (self->added, (zlistx_destructor_fn *) zstr_free);
    self->merge_at = CMP_STORE_MERGE_AT;
    self->merge_chunk = CMP_STORE_MERGE_CHUNK;
    self->walk_max = CMP_STORE_WALK_MAX;
    int rc = mdb_env_create (&self->env);
    if (rc) {
        s_failed (self, rc, "mdb_env_create");
        goto free_self;
    }
    mdb_env_set_maxdbs (self->env, 32);
    //  A map larger than configured (grown earlier) is kept as it is
    rc = mdb_env_set_mapsize (self->env, map_size);
    if (rc) {
        s_failed (self, rc, "mdb_env_set_mapsize");
        goto env_close;
    }
    //  MDB_NOTLS: the read transaction is ours, not the thread's
    rc = mdb_env_open (self->env, path, MDB_NOTLS, 0640);
    if (rc) {
        zsys_error ("cmp_store: cannot open the store in %s: %s", path,
                    mdb_strerror (rc));
        goto env_close;
    }
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    self->map_size = info.me_mapsize;
    if (s_open_dbs (self))
        goto env_close;
    return self;

env_close:
    mdb_env_close (self->env);
free_self:
    zhashx_destroy (&self->pending);
    zlistx_destroy (&self->added);
    free (self);
    return NULL;
}

//  --------------------------------------------------------------------------
//  Close the store

void
cmp_store_destroy (cmp_store_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        cmp_store_t *self = *self_p;
        if (self->write)
            cmp_store_abort (self);
        if (self->read)
            mdb_txn_abort (self->read);
        mdb_env_close (self->env);
        zhashx_destroy (&self->pending);
        zlistx_destroy (&self->added);
        zlistx_destroy (&self->merging);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Write transactions

int
cmp_store_begin (cmp_store_t *self)
{
    assert (self);
    assert (!self->write);
    int rc = mdb_txn_begin (self->env, NULL, 0, &self->write);
    if (rc) {
        self->write = NULL;
        self->rc = rc;
        return s_failed (self, rc, "mdb_txn_begin");
    }
    self->rc = 0;
    s_writing = true;
    self->saved_last_id = self->last_id;
    self->saved_last_seq = self->last_seq;
    self->saved_count = self->count;
    memcpy (self->saved_day, self->day, sizeof (self->day));
    self->saved_day_count = self->day_count;
    return 0;
}

static void
s_rollback (cmp_store_t *self)
{
    for (const char *key = (const char *) zlistx_first (self->added); key;
         key = (const char *) zlistx_next (self->added))
        zhashx_delete (self->pending, key);
    zlistx_purge (self->added);
    self->merged = 0;
    self->trimmed = false;
    self->last_id = self->saved_last_id;
    self->last_seq = self->saved_last_seq;
    self->count = self->saved_count;
    memcpy (self->day, self->saved_day, sizeof (self->day));
    self->day_count = self->saved_day_count;
}

//  Merge the next chunk of pending refs into the refs index, in key order,
//  inside the open transaction. A round takes every ref pending when
//  merge_at were reached, one chunk per commit, then drops their refs_log
//  entries in one pass. After a restart in the middle of a round, refs
//  already merged are merged again, harmlessly.
static int
s_merge_step (cmp_store_t *self)
{
    self->merged = 0;
    self->trimmed = false;
    if (self->trim_to) {
        MDB_cursor *cursor;
        int rc = mdb_cursor_open (self->write, self->refs_log, &cursor);
        if (rc)
            return s_failed (self, rc, "mdb_cursor_open (refs_log)");
        MDB_val key, data;
        rc = mdb_cursor_get (cursor, &key, &data, MDB_FIRST);
        while (rc == 0 && key.mv_size == 8
               && s_get_u64 ((byte *) key.mv_data) <= self->trim_to) {
            rc = mdb_cursor_del (cursor, 0);
            if (rc == 0)
                rc = mdb_cursor_get (cursor, &key, &data, MDB_GET_CURRENT);
        }
        mdb_cursor_close (cursor);
        if (rc && rc != MDB_NOTFOUND && rc != EINVAL)
            return s_failed (self, rc, "mdb_cursor_del (refs_log)");
        self->trimmed = true;
        return 0;
    }
    if (!self->merging)
        return 0;
    //  Merge at least twice what this transaction added, so that a round
    //  ends however fast refs arrive
    size_t chunk = self->merge_chunk;
    if (chunk < 2 * zlistx_size (self->added))
        chunk = 2 * zlistx_size (self->added);
    for (const char *text = (const char *) zlistx_first (self->merging);
         text && self->merged < chunk;
         text = (const char *) zlistx_next (self->merging)) {
        uint64_t *id = (uint64_t *) zhashx_lookup (self->pending, text);
        assert (id);
        byte buffer[511];
        size_t size = strlen (text);
        assert (size <= sizeof (buffer));
        memcpy (buffer, text, size);
        *(byte *) memchr (buffer, 0x1f, size) = 0;
        byte id_key[8];
        s_put_u64 (id_key, *id);
        MDB_val key = {size, buffer}, data = {8, id_key};
        int rc =
          mdb_put (self->write, self->refs, &key, &data, MDB_NOOVERWRITE);
        if (rc && rc != MDB_KEYEXIST)
            return s_failed (self, rc, "mdb_put (refs)");
        self->merged++;
    }
    return 0;
}

//  After a commit: forget what the merge step wrote, and start or end a
//  round. Rounds start only here, between transactions, so that they hold
//  committed refs alone.
static void
s_merge_done (cmp_store_t *self)
{
    if (self->trimmed) {
        self->trim_to = 0;
        self->trimmed = false;
    }
    while (self->merged > 0) {
        char *text = (char *) zlistx_first (self->merging);
        zhashx_delete (self->pending, text);
        zlistx_delete (self->merging, NULL);
        self->merged--;
    }
    if (self->merging && zlistx_size (self->merging) == 0) {
        zlistx_destroy (&self->merging);
        self->trim_to = self->merge_last;
    }
    if (!self->merging && !self->trim_to
        && zhashx_size (self->pending) >= self->merge_at) {
        self->merging = zhashx_keys (self->pending);
        zlistx_set_comparator (self->merging, (zlistx_comparator_fn *) strcmp);
        zlistx_sort (self->merging);
        self->merge_last = self->last_id;
    }
}

void
cmp_store_set_walk (cmp_store_t *self, size_t walk_max)
{
    assert (self);
    assert (walk_max > 0);
    self->walk_max = walk_max;
}

void
cmp_store_set_merge (cmp_store_t *self, size_t merge_at, size_t merge_chunk)
{
    assert (self);
    assert (merge_chunk > 0);
    self->merge_at = merge_at;
    self->merge_chunk = merge_chunk;
}

size_t
cmp_store_refs_pending (cmp_store_t *self)
{
    assert (self);
    return zhashx_size (self->pending);
}

int
cmp_store_commit (cmp_store_t *self)
{
    assert (self);
    assert (self->write);
    if (s_merge_step (self)) {
        cmp_store_abort (self);
        return -1;
    }
    int rc = mdb_txn_commit (self->write);
    self->write = NULL;
    s_writing = false;
    if (rc) {
        s_rollback (self);
        self->rc = rc;
        return s_failed (self, rc, "mdb_txn_commit");
    }
    s_merge_done (self);
    zlistx_purge (self->added);
    __atomic_store_n (&self->committed_seq, self->last_seq, __ATOMIC_RELEASE);
    __atomic_store_n (&self->committed_count, self->count, __ATOMIC_RELEASE);
    return 0;
}

void
cmp_store_abort (cmp_store_t *self)
{
    assert (self);
    if (self->write) {
        mdb_txn_abort (self->write);
        self->write = NULL;
        s_writing = false;
        s_rollback (self);
    }
}

bool
cmp_store_at_limit (cmp_store_t *self)
{
    assert (self);
    return self->map_max && self->map_size >= self->map_max;
}

bool
cmp_store_full (cmp_store_t *self)
{
    assert (self);
    return self->rc == MDB_MAP_FULL;
}

int
cmp_store_grow (cmp_store_t *self)
{
    assert (self);
    assert (!self->write);
    if (self->map_max && self->map_size >= self->map_max) {
        zsys_error ("cmp_store: the map is at its limit of %zu bytes "
                    "(store/map_max)",
                    self->map_max);
        return -1;
    }
    size_t size = self->map_size * 2;
    if (self->map_max && size > self->map_max)
        size = self->map_max;
    //  No read transaction may be open while the map is resized
    if (self->read) {
        mdb_txn_abort (self->read);
        self->read = NULL;
    }
    int rc = mdb_env_set_mapsize (self->env, size);
    if (rc)
        return s_failed (self, rc, "mdb_env_set_mapsize");
    zsys_notice ("cmp_store: map grown from %zu to %zu bytes", self->map_size,
                 size);
    self->map_size = size;
    self->rc = 0;
    return 0;
}

//  --------------------------------------------------------------------------
//  Inside the write transaction

//  Build the refs key: channel NUL ref
static size_t
s_ref_key (const char *channel, const char *ref, byte *key, size_t key_max)
{
    size_t channel_size = strlen (channel);
    size_t ref_size = strlen (ref);
    size_t size = channel_size + 1 + ref_size;
    //  LMDB keys are at most 511 bytes; refs are limited well below that
    assert (size <= key_max);
    memcpy (key, channel, channel_size);
    key[channel_size] = 0;
    memcpy (key + channel_size + 1, ref, ref_size);
    return size;
}

int
cmp_store_ref_find (cmp_store_t *self,
                    const char *channel,
                    const char *ref,
                    uint64_t *id)
{
    assert (self);
    *id = 0;
    //  Recent refs are in memory (and refs_log); older ones in refs
    char text[512];
    s_pending_key (channel, ref, text);
    uint64_t *pending = (uint64_t *) zhashx_lookup (self->pending, text);
    if (pending) {
        *id = *pending;
        return 0;
    }
    byte buffer[511];
    MDB_val key = {s_ref_key (channel, ref, buffer, sizeof (buffer)), buffer};
    MDB_val data;
    MDB_txn *txn = s_reader (self);
    if (!txn)
        return -1;
    int rc = mdb_get (txn, self->refs, &key, &data);
    if (rc == 0 && data.mv_size == 8)
        *id = s_get_u64 ((byte *) data.mv_data);
    s_reader_done (self, txn);
    if (rc && rc != MDB_NOTFOUND)
        return s_failed (self, rc, "mdb_get (refs)");
    return 0;
}

//  Highest per-day counter already used for day (YYYYMMDD), from the index
static uint32_t
s_day_count (cmp_store_t *self, const char *day)
{
    //  Numbers of one day sort together: seek past "YYYYMMDD-~" and step back
    char probe[16];
    memcpy (probe, day, 8);
    memcpy (probe + 8, "-~", 3);
    MDB_cursor *cursor;
    if (mdb_cursor_open (self->write, self->numbers, &cursor))
        return 0;
    MDB_val key = {strlen (probe), probe}, data;
    int rc = mdb_cursor_get (cursor, &key, &data, MDB_SET_RANGE);
    if (rc == 0)
        rc = mdb_cursor_get (cursor, &key, &data, MDB_PREV);
    else
        rc = mdb_cursor_get (cursor, &key, &data, MDB_LAST);
    uint32_t count = 0;
    if (rc == 0 && key.mv_size > 9 && memcmp (key.mv_data, day, 8) == 0
        && ((char *) key.mv_data)[8] == '-') {
        char digits[16];
        size_t size = key.mv_size - 9 < sizeof (digits) - 1
                        ? key.mv_size - 9
                        : sizeof (digits) - 1;
        memcpy (digits, (char *) key.mv_data + 9, size);
        digits[size] = 0;
        count = (uint32_t) strtoul (digits, NULL, 10);
    }
    mdb_cursor_close (cursor);
    return count;
}

uint64_t
cmp_store_next_id (cmp_store_t *self,
                   int64_t time,
                   char *number,
                   size_t number_size)
{
    assert (self);
    assert (self->write);
    time_t seconds = (time_t) (time / 1000);
    struct tm local;
    localtime_r (&seconds, &local);
    char day[32];
    snprintf (day, sizeof (day), "%04d%02d%02d", (local.tm_year + 1900) % 10000,
              (local.tm_mon + 1) % 100, local.tm_mday % 100);
    day[8] = 0;
    if (!streq (day, self->day)) {
        memcpy (self->day, day, sizeof (self->day));
        self->day_count = s_day_count (self, day);
    }
    self->day_count++;
    snprintf (number, number_size, "%s-%06u", day, self->day_count);
    return ++self->last_id;
}

static int
s_put (cmp_store_t *self,
       MDB_dbi dbi,
       const void *key,
       size_t key_size,
       const void *data,
       size_t data_size,
       unsigned flags,
       const char *what)
{
    MDB_val k = {key_size, (void *) key};
    MDB_val d = {data_size, (void *) data};
    int rc = mdb_put (self->write, dbi, &k, &d, flags);
    return rc ? s_failed (self, rc, what) : 0;
}

int
cmp_store_complaint_put (cmp_store_t *self,
                         uint64_t id,
                         const char *number,
                         const char *channel,
                         const char *ref,
                         int64_t received_at,
                         zchunk_t *record)
{
    assert (self);
    assert (self->write);
    byte id_key[8];
    s_put_u64 (id_key, id);
    //  Ids only grow, so the record appends to the last page
    if (s_put (self, self->complaints, id_key, 8, zchunk_data (record),
               zchunk_size (record), MDB_APPEND, "mdb_put (complaints)"))
        return -1;
    if (s_put (self, self->numbers, number, strlen (number), id_key, 8,
               MDB_NOOVERWRITE, "mdb_put (numbers)"))
        return -1;
    byte ref_key[511];
    size_t ref_size = s_ref_key (channel, ref, ref_key, sizeof (ref_key));
    //  The ref goes to refs_log, in id order, and to memory; it reaches
    //  the refs index later in a sorted merge (s_merge_step), so that the
    //  random order of refs does not make every commit write pages all
    //  over the index
    if (s_put (self, self->refs_log, id_key, 8, ref_key, ref_size, MDB_APPEND,
               "mdb_put (refs_log)"))
        return -1;
    char text[512];
    s_pending_key (channel, ref, text);
    s_pending_add (self, text, id);
    zlistx_add_end (self->added, text);
    byte time_key[CMP_STORE_CURSOR_SIZE];
    s_put_u64 (time_key, (uint64_t) received_at);
    s_put_u64 (time_key + 8, id);
    if (s_put (self, self->by_time, time_key, sizeof (time_key), "", 0, 0,
               "mdb_put (by_time)"))
        return -1;
    byte channel_key[64 + CMP_STORE_CURSOR_SIZE];
    size_t channel_size = strlen (channel);
    assert (channel_size < 64);
    memcpy (channel_key, channel, channel_size);
    channel_key[channel_size] = 0;
    memcpy (channel_key + channel_size + 1, time_key, sizeof (time_key));
    if (s_put (self, self->by_channel, channel_key,
               channel_size + 1 + sizeof (time_key), "", 0, 0,
               "mdb_put (by_channel)"))
        return -1;
    self->count++;
    return 0;
}

uint64_t
cmp_store_next_seq (cmp_store_t *self)
{
    assert (self);
    assert (self->write);
    return ++self->last_seq;
}

int
cmp_store_event_put (cmp_store_t *self, uint64_t seq, zchunk_t *event)
{
    assert (self);
    assert (self->write);
    byte key[8];
    s_put_u64 (key, seq);
    return s_put (self, self->events, key, 8, zchunk_data (event),
                  zchunk_size (event), MDB_APPEND, "mdb_put (events)");
}

int
cmp_store_complaint_replace (cmp_store_t *self, uint64_t id, zchunk_t *record)
{
    assert (self);
    assert (self->write);
    byte id_key[8];
    s_put_u64 (id_key, id);
    return s_put (self, self->complaints, id_key, 8, zchunk_data (record),
                  zchunk_size (record), 0, "mdb_put (complaints)");
}

static void
s_history_key (byte *key, uint64_t id, uint64_t n)
{
    s_put_u64 (key, id);
    s_put_u64 (key + 8, n);
}

int
cmp_store_history_put (cmp_store_t *self,
                       uint64_t id,
                       uint64_t n,
                       zchunk_t *entry)
{
    assert (self);
    assert (self->write);
    assert (n > 0);
    byte key[16];
    s_history_key (key, id, n);
    //  Entries are never replaced: history cannot be rewritten
    return s_put (self, self->history, key, sizeof (key), zchunk_data (entry),
                  zchunk_size (entry), MDB_NOOVERWRITE, "mdb_put (history)");
}

int
cmp_store_history_purge (cmp_store_t *self, uint64_t id)
{
    assert (self);
    assert (self->write);
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (self->write, self->history, &cursor);
    if (rc)
        return s_failed (self, rc, "mdb_cursor_open");
    byte start[16];
    s_history_key (start, id, 0);
    while (true) {
        //  Seek again after each delete, rather than trust where the
        //  cursor stands after one
        MDB_val key = {16, start}, data;
        rc = mdb_cursor_get (cursor, &key, &data, MDB_SET_RANGE);
        if (rc || key.mv_size != 16 || s_get_u64 ((byte *) key.mv_data) != id)
            break;
        rc = mdb_cursor_del (cursor, 0);
        if (rc)
            break;
    }
    mdb_cursor_close (cursor);
    return rc && rc != MDB_NOTFOUND ? s_failed (self, rc, "mdb_cursor_del") : 0;
}

//  contact NUL received_at id; returns the size, 0 if contact is too long
static size_t
s_contact_key (byte *key, const char *contact, int64_t received_at, uint64_t id)
{
    size_t size = strlen (contact);
    if (size == 0 || size > CMP_STORE_CONTACT_MAX)
        return 0;
    memcpy (key, contact, size + 1);
    s_put_u64 (key + size + 1, (uint64_t) received_at);
    s_put_u64 (key + size + 9, id);
    return size + 17;
}

int
cmp_store_contact_put (cmp_store_t *self,
                       const char *contact,
                       int64_t received_at,
                       uint64_t id,
                       const char *number)
{
    assert (self);
    assert (self->write);
    assert (number && strlen (number) <= CMP_STORE_NUMBER_MAX);
    byte key[CMP_STORE_CONTACT_MAX + 17];
    size_t size = s_contact_key (key, contact, received_at, id);
    if (size == 0)
        return 0;
    return s_put (self, self->by_contact, key, size, number, strlen (number), 0,
                  "mdb_put (by_contact)");
}

int
cmp_store_contact_delete (cmp_store_t *self,
                          const char *contact,
                          int64_t received_at,
                          uint64_t id)
{
    assert (self);
    assert (self->write);
    byte key[CMP_STORE_CONTACT_MAX + 17];
    size_t size = s_contact_key (key, contact, received_at, id);
    MDB_val k = {size, key};
    int rc = size ? mdb_del (self->write, self->by_contact, &k, NULL) : 0;
    if (rc && rc != MDB_NOTFOUND)
        return s_failed (self, rc, "mdb_del (by_contact)");
    return 0;
}

int
cmp_store_contact_find (cmp_store_t *self,
                        const char *contact,
                        int64_t since,
                        uint64_t *ids,
                        char (*numbers)[CMP_STORE_NUMBER_MAX + 1],
                        size_t ids_max,
                        size_t *count)
{
    assert (self);
    *count = 0;
    //  Walk back from the contact's newest entry
    byte end[CMP_STORE_CONTACT_MAX + 17];
    size_t size = s_contact_key (end, contact, INT64_MAX, UINT64_MAX);
    if (size == 0)
        return 0;
    size_t prefix = size - 16;
    MDB_txn *txn;
    MDB_cursor *cursor = s_read_cursor (self, self->by_contact, &txn);
    if (!cursor)
        return -1;
    MDB_val key = {size, end}, data;
    int rc = mdb_cursor_get (cursor, &key, &data, MDB_SET_RANGE);
    rc = mdb_cursor_get (cursor, &key, &data,
                         rc == MDB_NOTFOUND ? MDB_LAST : MDB_PREV);
    while (rc == 0 && key.mv_size == size
           && memcmp (key.mv_data, end, prefix) == 0
           && (int64_t) s_get_u64 ((byte *) key.mv_data + prefix) >= since
           && *count < CMP_STORE_CONTACT_WALK) {
        if (*count < ids_max) {
            ids[*count] = s_get_u64 ((byte *) key.mv_data + prefix + 8);
            size_t kept =
              data.mv_size <= CMP_STORE_NUMBER_MAX ? data.mv_size : 0;
            if (numbers) {
                memcpy (numbers[*count], data.mv_data, kept);
                numbers[*count][kept] = 0;
            }
        }
        (*count)++;
        rc = mdb_cursor_get (cursor, &key, &data, MDB_PREV);
    }
    int result = 0;
    if (rc && rc != MDB_NOTFOUND)
        result = s_failed (self, rc, "mdb_cursor_get (by_contact)");
    s_read_done (self, txn, cursor);
    return result;
}

int
cmp_store_history_count (cmp_store_t *self, uint64_t id, uint64_t *count)
{
    assert (self);
    *count = 0;
    MDB_txn *txn;
    MDB_cursor *cursor = s_read_cursor (self, self->history, &txn);
    if (!cursor)
        return -1;
    int rc;
    //  The last entry of id is the one before the first key of id + 1
    byte start[16];
    s_history_key (start, id + 1, 0);
    MDB_val key = {16, start}, data;
    rc = mdb_cursor_get (cursor, &key, &data, MDB_SET_RANGE);
    if (rc == 0)
        rc = mdb_cursor_get (cursor, &key, &data, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get (cursor, &key, &data, MDB_LAST);
    int result = 0;
    if (rc == 0) {
        if (key.mv_size == 16 && s_get_u64 ((byte *) key.mv_data) == id)
            *count = s_get_u64 ((byte *) key.mv_data + 8);
    } else if (rc != MDB_NOTFOUND)
        result = s_failed (self, rc, "mdb_cursor_get (history)");
    s_read_done (self, txn, cursor);
    return result;
}

//  Append to list up to limit values of dbi from key start on, while
//  their keys begin with the first prefix_size bytes of start
static int
s_read_range (cmp_store_t *self,
              MDB_dbi dbi,
              const byte *start,
              size_t start_size,
              size_t prefix_size,
              size_t limit,
              zlistx_t *list)
{
    MDB_txn *txn;
    MDB_cursor *cursor = s_read_cursor (self, dbi, &txn);
    if (!cursor)
        return -1;
    MDB_val key = {start_size, (void *) start}, data;
    int rc = mdb_cursor_get (cursor, &key, &data, MDB_SET_RANGE);
    for (size_t found = 0; rc == 0 && found < limit; found++) {
        if (key.mv_size < prefix_size
            || memcmp (key.mv_data, start, prefix_size) != 0)
            break;
        zlistx_add_end (list, zchunk_new (data.mv_data, data.mv_size));
        rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT);
    }
    int result = 0;
    if (rc && rc != MDB_NOTFOUND)
        result = s_failed (self, rc, "mdb_cursor_get (range)");
    s_read_done (self, txn, cursor);
    return result;
}

int
cmp_store_history (cmp_store_t *self,
                   uint64_t id,
                   uint64_t from,
                   size_t limit,
                   zlistx_t *entries)
{
    assert (self);
    byte start[16];
    s_history_key (start, id, from);
    return s_read_range (self, self->history, start, 16, 8, limit, entries);
}

//  --------------------------------------------------------------------------
//  The query indexes

//  Tag byte of each field in by_field keys
static const char s_field_tags[CMP_STORE_FIELDS] = {'s', 'd', 'h', 'c',
                                                    'p', 'l', 'o'};

//  Longest value a by_field key holds; longer ones are cut (at a UTF-8
//  boundary they may split, which only affects matching of such values)
#define FIELD_VALUE_MAX 200

//  Build the by_field key of field = value for (received_at, id); returns
//  its size
static size_t
s_field_key (
  byte *key, int field, const char *value, int64_t received_at, uint64_t id)
{
    size_t size = strlen (value);
    if (size > FIELD_VALUE_MAX)
        size = FIELD_VALUE_MAX;
    key[0] = (byte) s_field_tags[field];
    memcpy (key + 1, value, size);
    key[1 + size] = 0;
    s_put_u64 (key + 2 + size, (uint64_t) received_at);
    s_put_u64 (key + 10 + size, id);
    return 18 + size;
}

static int
s_del (cmp_store_t *self,
       MDB_dbi dbi,
       const void *key,
       size_t key_size,
       const char *what)
{
    MDB_val k = {key_size, (void *) key};
    int rc = mdb_del (self->write, dbi, &k, NULL);
    return rc && rc != MDB_NOTFOUND ? s_failed (self, rc, what) : 0;
}

//  Move complaint id from time was to time is in an index keyed (time,
//  id); a time of 0 is not indexed
static int
s_time_index (cmp_store_t *self,
              MDB_dbi dbi,
              uint64_t id,
              int64_t was,
              int64_t is,
              const char *what)
{
    if (was == is)
        return 0;
    byte key[16];
    s_put_u64 (key + 8, id);
    if (was > 0) {
        s_put_u64 (key, (uint64_t) was);
        MDB_val k = {16, key};
        int rc = mdb_del (self->write, dbi, &k, NULL);
        if (rc && rc != MDB_NOTFOUND)
            return s_failed (self, rc, what);
    }
    if (is > 0) {
        s_put_u64 (key, (uint64_t) is);
        MDB_val k = {16, key}, empty = {0, NULL};
        int rc = mdb_put (self->write, dbi, &k, &empty, 0);
        if (rc)
            return s_failed (self, rc, what);
    }
    return 0;
}

int
cmp_store_index (cmp_store_t *self,
                 uint64_t id,
                 const cmp_store_keys_t *old,
                 const cmp_store_keys_t *now)
{
    assert (self);
    assert (self->write);
    assert (now);
    byte key[FIELD_VALUE_MAX + 18];
    for (int field = 0; field < CMP_STORE_FIELDS; field++) {
        const char *was = old ? old->field[field] : NULL;
        const char *is = now->field[field];
        if (was && is && streq (was, is))
            continue;
        if (was
            && s_del (self, self->by_field, key,
                      s_field_key (key, field, was, old->received_at, id),
                      "mdb_del (by_field)"))
            return -1;
        if (is
            && s_put (self, self->by_field, key,
                      s_field_key (key, field, is, now->received_at, id), "", 0,
                      0, "mdb_put (by_field)"))
            return -1;
    }
    if (!old || old->updated_at != now->updated_at) {
        if (s_time_index (self, self->by_updated, id, old ? old->updated_at : 0,
                          now->updated_at, "by_updated"))
            return -1;
        byte id_key[8], times[16];
        s_put_u64 (id_key, id);
        s_put_u64 (times, (uint64_t) now->received_at);
        s_put_u64 (times + 8, (uint64_t) now->updated_at);
        if (s_put (self, self->times, id_key, 8, times, 16, 0,
                   "mdb_put (times)"))
            return -1;
    }
    if (s_time_index (self, self->timers, id, old ? old->timer_at : 0,
                      now->timer_at, "timers")
        || s_time_index (self, self->by_due, id, old ? old->due_at : 0,
                         now->due_at, "by_due"))
        return -1;
    return 0;
}

int
cmp_store_timers_due (
  cmp_store_t *self, int64_t now, uint64_t *ids, size_t max, size_t *count)
{
    assert (self);
    assert (self->write);
    *count = 0;
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (self->write, self->timers, &cursor);
    if (rc)
        return s_failed (self, rc, "mdb_cursor_open (timers)");
    MDB_val key, data;
    rc = mdb_cursor_get (cursor, &key, &data, MDB_FIRST);
    while (rc == 0 && *count < max && key.mv_size == 16
           && (int64_t) s_get_u64 ((byte *) key.mv_data) <= now) {
        ids[(*count)++] = s_get_u64 ((byte *) key.mv_data + 8);
        rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT);
    }
    mdb_cursor_close (cursor);
    if (rc && rc != MDB_NOTFOUND)
        return s_failed (self, rc, "mdb_cursor_get (timers)");
    return 0;
}

//  True if key is in dbi; -1 in *rc_p if the read failed
static bool
s_exists (MDB_txn *txn, MDB_dbi dbi, const void *key, size_t size, int *rc_p)
{
    MDB_val k = {size, (void *) key}, data;
    int rc = mdb_get (txn, dbi, &k, &data);
    if (rc && rc != MDB_NOTFOUND)
        *rc_p = rc;
    return rc == 0;
}

int
cmp_store_query (cmp_store_t *self,
                 const cmp_store_query_t *query,
                 const byte *cursor_key,
                 size_t limit,
                 zlistx_t *records,
                 byte *next,
                 bool *more,
                 uint64_t *count)
{
    assert (self);
    assert (query);
    *more = false;
    if (count)
        *count = 0;
    int64_t from = query->from > 0 ? query->from : 0;
    int64_t to = query->to;
    int64_t updated_from = query->updated_from > 0 ? query->updated_from : 0;
    int64_t updated_to = query->updated_to;
    if (to <= from || updated_to <= updated_from || (records && limit == 0))
        return 0;
    bool by_updated_range = updated_from > 0 || updated_to < INT64_MAX;

    //  The index that drives: a field, the channel, the update time, or
    //  the registration time. Its keys end in (time, id).
    //  The fields likely to match fewest complaints drive first
    static const int drivers[] = {CMP_STORE_HANDLER,    CMP_STORE_LEVEL,
                                  CMP_STORE_DEPARTMENT, CMP_STORE_CATEGORY,
                                  CMP_STORE_PRIORITY,   CMP_STORE_OVERDUE,
                                  CMP_STORE_STATE};
    int driver = -1;
    bool drive_due = query->due_before > 0;
    for (size_t index = 0;
         !drive_due && index < sizeof (drivers) / sizeof (drivers[0]); index++)
        if (query->field[drivers[index]]) {
            driver = drivers[index];
            break;
        }
    MDB_dbi dbi = self->by_time;
    bool drive_updated = false;
    byte prefix[FIELD_VALUE_MAX + 2 + CMP_STORE_CURSOR_SIZE];
    size_t prefix_size = 0;
    if (drive_due)
        dbi = self->by_due;
    else if (driver >= 0) {
        dbi = self->by_field;
        prefix_size = s_field_key (prefix, driver, query->field[driver], 0, 0)
                      - CMP_STORE_CURSOR_SIZE;
    } else if (query->channel) {
        dbi = self->by_channel;
        prefix_size = strlen (query->channel) + 1;
        if (prefix_size > 64)
            return 0;
        memcpy (prefix, query->channel, prefix_size);
    } else if (by_updated_range && from == 0 && to == INT64_MAX) {
        dbi = self->by_updated;
        drive_updated = true;
    }
    int64_t low = drive_due ? 0 : drive_updated ? updated_from : from;
    int64_t high = drive_due       ? query->due_before
                   : drive_updated ? updated_to
                                   : to;

    byte start[FIELD_VALUE_MAX + 2 + CMP_STORE_CURSOR_SIZE];
    memcpy (start, prefix, prefix_size);
    s_put_u64 (start + prefix_size, (uint64_t) low);
    s_put_u64 (start + prefix_size + 8, 0);
    //  Resume strictly after the cursor when it is past the start
    bool skip_equal = false;
    if (cursor_key
        && memcmp (cursor_key, start + prefix_size, CMP_STORE_CURSOR_SIZE)
             >= 0) {
        memcpy (start + prefix_size, cursor_key, CMP_STORE_CURSOR_SIZE);
        skip_equal = true;
    }
    MDB_txn *txn;
    MDB_cursor *cursor = s_read_cursor (self, dbi, &txn);
    if (!cursor)
        return -1;
    int rc;
    MDB_val key = {prefix_size + CMP_STORE_CURSOR_SIZE, start}, data;
    rc = mdb_cursor_get (cursor, &key, &data, MDB_SET_RANGE);
    size_t found = 0;
    size_t walked = 0;                      //  Index entries looked at
    byte last[CMP_STORE_CURSOR_SIZE] = {0}; //  The last of them
    int failed = 0;                         //  LMDB error of a lookup
    while (rc == 0) {
        if (key.mv_size != prefix_size + CMP_STORE_CURSOR_SIZE
            || memcmp (key.mv_data, prefix, prefix_size) != 0)
            break; //  Past this value
        const byte *entry = (const byte *) key.mv_data + prefix_size;
        if (skip_equal
            && memcmp (entry, start + prefix_size, CMP_STORE_CURSOR_SIZE)
                 == 0) {
            rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT);
            continue;
        }
        if ((int64_t) s_get_u64 (entry) >= high)
            break;
        //  A page walks a bounded number of index entries, so that a
        //  query whose other conditions match little does not hold the
        //  loop: it may end short, or empty, with a cursor to go on
        if (records && walked == self->walk_max) {
            *more = true;
            memcpy (next, last, CMP_STORE_CURSOR_SIZE);
            break;
        }
        walked++;
        memcpy (last, entry, CMP_STORE_CURSOR_SIZE);
        uint64_t id = s_get_u64 (entry + 8);
        byte id_key[8];
        memcpy (id_key, entry + 8, 8);
        //  The other conditions, from the small indexes
        int64_t received_at = (int64_t) s_get_u64 (entry);
        bool match = true;
        if (drive_updated || by_updated_range || drive_due) {
            MDB_val k = {8, id_key}, times;
            int got = mdb_get (txn, self->times, &k, &times);
            if (got || times.mv_size != 16) {
                failed = got ? got : MDB_CORRUPTED;
                break;
            }
            received_at = (int64_t) s_get_u64 ((byte *) times.mv_data);
            int64_t updated_at =
              (int64_t) s_get_u64 ((byte *) times.mv_data + 8);
            match = received_at >= from && received_at < to
                    && updated_at >= updated_from && updated_at < updated_to;
        }
        for (int field = 0; field < CMP_STORE_FIELDS && match; field++) {
            if (field == driver || !query->field[field])
                continue;
            byte other[FIELD_VALUE_MAX + 18];
            size_t size =
              s_field_key (other, field, query->field[field], received_at, id);
            match = s_exists (txn, self->by_field, other, size, &failed);
        }
        if (match && query->channel && dbi != self->by_channel) {
            byte other[64 + CMP_STORE_CURSOR_SIZE];
            size_t size = strlen (query->channel);
            if (size >= 64)
                match = false;
            else {
                memcpy (other, query->channel, size + 1);
                s_put_u64 (other + size + 1, (uint64_t) received_at);
                s_put_u64 (other + size + 9, id);
                match = s_exists (txn, self->by_channel, other,
                                  size + 1 + CMP_STORE_CURSOR_SIZE, &failed);
            }
        }
        if (failed)
            break;
        if (match) {
            if (records && found == limit) {
                *more = true;
                break;
            }
            if (records) {
                MDB_val k = {8, id_key}, record;
                failed = mdb_get (txn, self->complaints, &k, &record);
                if (failed)
                    break;
                zlistx_add_end (records,
                                zchunk_new (record.mv_data, record.mv_size));
                memcpy (next, entry, CMP_STORE_CURSOR_SIZE);
            }
            found++;
        }
        rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT);
    }
    int result = 0;
    if (failed)
        result = s_failed (self, failed, "mdb_get (query)");
    else if (rc && rc != MDB_NOTFOUND)
        result = s_failed (self, rc, "mdb_cursor_get (query)");
    if (count)
        *count = found;
    s_read_done (self, txn, cursor);
    return result;
}

//  --------------------------------------------------------------------------
//  Reads

zchunk_t *
cmp_store_complaint (cmp_store_t *self, uint64_t id)
{
    assert (self);
    MDB_txn *txn = s_reader (self);
    if (!txn)
        return NULL;
    byte buffer[8];
    s_put_u64 (buffer, id);
    MDB_val key = {8, buffer}, data;
    zchunk_t *record = NULL;
    int rc = mdb_get (txn, self->complaints, &key, &data);
    if (rc == 0)
        record = zchunk_new (data.mv_data, data.mv_size);
    else if (rc != MDB_NOTFOUND)
        s_failed (self, rc, "mdb_get (complaints)");
    s_reader_done (self, txn);
    return record;
}

uint64_t
cmp_store_number_find (cmp_store_t *self, const char *number)
{
    assert (self);
    size_t size = strlen (number);
    if (size == 0 || size > 64)
        return 0;
    MDB_txn *txn = s_reader (self);
    if (!txn)
        return 0;
    MDB_val key = {size, (void *) number}, data;
    uint64_t id = 0;
    int rc = mdb_get (txn, self->numbers, &key, &data);
    if (rc == 0 && data.mv_size == 8)
        id = s_get_u64 ((byte *) data.mv_data);
    else if (rc && rc != MDB_NOTFOUND)
        s_failed (self, rc, "mdb_get (numbers)");
    s_reader_done (self, txn);
    return id;
}

int
cmp_store_events (cmp_store_t *self,
                  uint64_t from,
                  size_t limit,
                  zlistx_t *events)
{
    assert (self);
    byte start[8];
    s_put_u64 (start, from);
    return s_read_range (self, self->events, start, 8, 0, limit, events);
}

int
cmp_store_timer_next (cmp_store_t *self, int64_t *at)
{
    assert (self);
    *at = 0;
    MDB_txn *txn;
    MDB_cursor *cursor = s_read_cursor (self, self->timers, &txn);
    if (!cursor)
        return -1;
    MDB_val key, data;
    int rc = mdb_cursor_get (cursor, &key, &data, MDB_FIRST);
    if (rc == 0 && key.mv_size == 16)
        *at = (int64_t) s_get_u64 ((byte *) key.mv_data);
    s_read_done (self, txn, cursor);
    if (rc && rc != MDB_NOTFOUND)
        return s_failed (self, rc, "mdb_cursor_get (timers)");
    return 0;
}

uint64_t
cmp_store_timers (cmp_store_t *self)
{
    assert (self);
    MDB_txn *txn = s_reader (self);
    if (!txn)
        return 0;
    MDB_stat stat;
    int rc = mdb_stat (txn, self->timers, &stat);
    s_reader_done (self, txn);
    return rc ? 0 : (uint64_t) stat.ms_entries;
}

uint64_t
cmp_store_last_seq (cmp_store_t *self)
{
    assert (self);
    return __atomic_load_n (&self->committed_seq, __ATOMIC_ACQUIRE);
}

uint64_t
cmp_store_count (cmp_store_t *self)
{
    assert (self);
    return __atomic_load_n (&self->committed_count, __ATOMIC_ACQUIRE);
}

size_t
cmp_store_map_size (cmp_store_t *self)
{
    assert (self);
    return self->map_size;
}

const char *
cmp_store_lmdb_version (void)
{
    return mdb_version (NULL, NULL, NULL);
}

//  --------------------------------------------------------------------------
//  Self test

static void
s_chunk_destroy (void **item)
{
    zchunk_destroy ((zchunk_t **) item);
}

//  Look a ref up, asserting that the store could be read
static uint64_t
s_test_ref (cmp_store_t *self, const char *channel, const char *ref)
{
    uint64_t id;
    int rc = cmp_store_ref_find (self, channel, ref, &id);
    assert (rc == 0);
    return id;
}

void
cmp_store_test (bool verbose)
{
    printf (" * cmp_store: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    const char *path = "tests/selftest-rw/cmp_store";
    zsys_dir_create ("tests/selftest-rw");
    zdir_t *old = zdir_new (path, NULL);
    if (old) {
        zdir_remove (old, true);
        zdir_destroy (&old);
    }
    //  A tiny map, so that the batch below must grow it
    cmp_store_t *self = cmp_store_new (path, 64 * 1024, 0);
    assert (self);
    assert (cmp_store_count (self) == 0);
    assert (cmp_store_last_seq (self) == 0);

    int64_t base = 1795000000000; //  2026-11-18
    char number[24];
    zchunk_t *record = zchunk_new (NULL, 2000);
    zchunk_fill (record, 'r', 2000);
    int tries = 0;
    while (true) {
        tries++;
        int rc = cmp_store_begin (self);
        assert (rc == 0);
        bool failed = false;
        for (int index = 0; index < 200 && !failed; index++) {
            char ref[32];
            snprintf (ref, sizeof (ref), "ref-%d", index);
            assert (s_test_ref (self, "web", ref) == 0);
            uint64_t id =
              cmp_store_next_id (self, base + index, number, sizeof (number));
            cmp_store_keys_t keys = {
              {"registered", index % 4 ? "ward 3" : "billing"},
              base + index,
              base + index,
              0,
              0};
            failed =
              cmp_store_complaint_put (self, id, number,
                                       index % 2 ? "web" : "phone", ref,
                                       base + index, record)
              || cmp_store_index (self, id, NULL, &keys)
              || cmp_store_event_put (self, cmp_store_next_seq (self), record);
        }
        if (!failed && cmp_store_commit (self) == 0)
            break;
        cmp_store_abort (self);
        assert (cmp_store_full (self));
        rc = cmp_store_grow (self);
        assert (rc == 0);
    }
    assert (tries > 1);
    assert (cmp_store_count (self) == 200);
    assert (cmp_store_last_seq (self) == 200);
    zchunk_destroy (&record);

    //  Lookups by ref, number and id
    assert (s_test_ref (self, "phone", "ref-0") == 1);
    assert (s_test_ref (self, "web", "ref-1") == 2);
    assert (s_test_ref (self, "web", "ref-0") == 0);
    uint64_t id = cmp_store_number_find (self, number);
    assert (id == 200);
    record = cmp_store_complaint (self, 200);
    assert (record && zchunk_size (record) == 2000);
    zchunk_destroy (&record);
    assert (cmp_store_complaint (self, 201) == NULL);
    assert (cmp_store_number_find (self, "19990101-000001") == 0);

    //  Paged lists, by time and by channel
    zlistx_t *records = zlistx_new ();
    zlistx_set_destructor (records, s_chunk_destroy);
    byte next[CMP_STORE_CURSOR_SIZE];
    bool more;
    cmp_store_query_t query = {{NULL}, NULL, 0, INT64_MAX, 0, INT64_MAX, 0};
    int rc =
      cmp_store_query (self, &query, NULL, 150, records, next, &more, NULL);
    assert (rc == 0 && zlistx_size (records) == 150 && more);
    rc = cmp_store_query (self, &query, next, 150, records, next, &more, NULL);
    assert (rc == 0 && zlistx_size (records) == 200 && !more);
    zlistx_purge (records);
    query.channel = "web";
    query.from = base + 10;
    query.to = base + 20;
    rc = cmp_store_query (self, &query, NULL, 100, records, next, &more, NULL);
    assert (rc == 0 && zlistx_size (records) == 5 && !more);
    zlistx_purge (records);
    //  Queries through the field index, other conditions looked up
    uint64_t count;
    query.field[CMP_STORE_DEPARTMENT] = "billing";
    query.channel = NULL;
    query.from = 0;
    query.to = INT64_MAX;
    rc = cmp_store_query (self, &query, NULL, 0, NULL, NULL, &more, &count);
    assert (rc == 0 && count == 50);
    query.channel = "phone"; //  Every 4th is even: all 50 are phone
    query.field[CMP_STORE_STATE] = "registered";
    rc = cmp_store_query (self, &query, NULL, 0, NULL, NULL, &more, &count);
    assert (rc == 0 && count == 50);
    query.channel = "web";
    rc = cmp_store_query (self, &query, NULL, 0, NULL, NULL, &more, &count);
    assert (rc == 0 && count == 0);
    //  A change moves the complaint in the indexes
    rc = cmp_store_begin (self);
    assert (rc == 0);
    cmp_store_keys_t was = {{"registered", "billing"}, base, base, 0, 0};
    cmp_store_keys_t now = {
      {"assigned", "billing", "li.na"}, base, base + 500, 0, 0};
    rc = cmp_store_index (self, 1, &was, &now);
    assert (rc == 0);
    rc = cmp_store_commit (self);
    assert (rc == 0);
    cmp_store_query_t assigned = {{"assigned", "billing", "li.na"},
                                  "phone",
                                  0,
                                  INT64_MAX,
                                  base + 500,
                                  base + 501,
                                  0};
    rc =
      cmp_store_query (self, &assigned, NULL, 10, records, next, &more, NULL);
    assert (rc == 0 && zlistx_size (records) == 1 && !more);
    zlistx_purge (records);
    //  Driven by the update time alone
    cmp_store_query_t updated = {{NULL},     NULL,      0, INT64_MAX,
                                 base + 100, INT64_MAX, 0};
    rc = cmp_store_query (self, &updated, NULL, 0, NULL, NULL, &more, &count);
    assert (rc == 0 && count == 101);
    query.field[CMP_STORE_STATE] = "registered";
    query.channel = NULL;
    rc = cmp_store_query (self, &query, NULL, 0, NULL, NULL, &more, &count);
    assert (rc == 0 && count == 49);
    //  A page walks at most walk_max index entries: a query that matches
    //  nothing among 200 comes back in short, empty pages with a cursor
    cmp_store_set_walk (self, 64);
    cmp_store_query_t none = {{"registered"}, "email", 0, INT64_MAX, 0,
                              INT64_MAX,      0};
    size_t pages = 0;
    const byte *after = NULL;
    do {
        rc =
          cmp_store_query (self, &none, after, 10, records, next, &more, NULL);
        assert (rc == 0 && zlistx_size (records) == 0);
        after = next;
        pages++;
    } while (more);
    assert (pages == 4); //  199 registered: 64 + 64 + 64 + 7
    //  And a query that matches every entry still fills its pages
    query.field[CMP_STORE_DEPARTMENT] = NULL;
    query.field[CMP_STORE_STATE] = "registered";
    rc = cmp_store_query (self, &query, NULL, 50, records, next, &more, NULL);
    assert (rc == 0 && zlistx_size (records) == 50 && more);
    zlistx_purge (records);
    cmp_store_set_walk (self, CMP_STORE_WALK_MAX);
    //  Events from a sequence number
    rc = cmp_store_events (self, 195, 100, records);
    assert (rc == 0 && zlistx_size (records) == 6);
    zlistx_destroy (&records);

    //  Refs merge into the refs index in sorted chunks, and stay findable
    //  all along: 200 are pending; each commit merges 16 of them
    cmp_store_set_merge (self, 50, 16);
    assert (cmp_store_refs_pending (self) == 200);
    for (int round = 0; round < 20; round++) {
        rc = cmp_store_begin (self);
        assert (rc == 0);
        if (round == 3) {
            //  An aborted merge step changes nothing
            char ref[32];
            snprintf (ref, sizeof (ref), "extra-%d", round);
            char extra_number[24];
            uint64_t extra = cmp_store_next_id (self, base + 500, extra_number,
                                                sizeof (extra_number));
            zchunk_t *small = zchunk_new ("x", 1);
            rc = cmp_store_complaint_put (self, extra, extra_number, "email",
                                          ref, base + 500, small);
            assert (rc == 0);
            assert (s_test_ref (self, "email", ref) == extra);
            zchunk_destroy (&small);
            cmp_store_abort (self);
            assert (s_test_ref (self, "email", ref) == 0);
            continue;
        }
        rc = cmp_store_commit (self);
        assert (rc == 0);
        for (int index = 0; index < 200; index += 7) {
            char ref[32];
            snprintf (ref, sizeof (ref), "ref-%d", index);
            assert (s_test_ref (self, index % 2 ? "web" : "phone", ref)
                    == (uint64_t) index + 1);
        }
    }
    assert (cmp_store_refs_pending (self) == 0);

    //  An aborted batch releases its ids and numbers
    rc = cmp_store_begin (self);
    assert (rc == 0);
    char lost[24];
    assert (cmp_store_next_id (self, base, lost, sizeof (lost)) == 201);
    cmp_store_abort (self);
    cmp_store_destroy (&self);
    assert (self == NULL);

    //  Reopen: counters come back from the data
    self = cmp_store_new (path, 4 * 1024 * 1024, 0);
    assert (self);
    assert (cmp_store_count (self) == 200);
    assert (cmp_store_last_seq (self) == 200);
    assert (cmp_store_refs_pending (self) == 0);
    assert (s_test_ref (self, "web", "ref-199") == 200);
    assert (s_test_ref (self, "phone", "ref-198") == 199);
    rc = cmp_store_begin (self);
    assert (rc == 0);
    char again[24];
    assert (cmp_store_next_id (self, base + 1000, again, sizeof (again))
            == 201);
    assert (streq (again, lost));
    assert (strcmp (again, number) > 0);
    //  A ref not merged yet is found again after a restart
    zchunk_t *late = zchunk_new ("late", 4);
    rc = cmp_store_complaint_put (self, 201, again, "letter", "late-1",
                                  base + 1000, late);
    assert (rc == 0);
    zchunk_destroy (&late);
    rc = cmp_store_commit (self);
    assert (rc == 0);
    cmp_store_destroy (&self);
    self = cmp_store_new (path, 4 * 1024 * 1024, 0);
    assert (self);
    assert (cmp_store_refs_pending (self) == 1);
    assert (s_test_ref (self, "letter", "late-1") == 201);
    assert (s_test_ref (self, "web", "ref-1") == 2);

    //  The contact index keeps each complaint's number, newest first; an
    //  entry written before numbers were kept gives ""
    rc = cmp_store_begin (self);
    assert (rc == 0);
    rc = cmp_store_contact_put (self, "tel:13800138000", base + 10, 7, "");
    assert (rc == 0);
    rc = cmp_store_contact_put (self, "tel:13800138000", base + 20, 9,
                                "20261118-000009");
    assert (rc == 0);
    rc = cmp_store_contact_put (self, "tel:13900000000", base + 30, 11,
                                "20261118-000011");
    assert (rc == 0);
    rc = cmp_store_commit (self);
    assert (rc == 0);
    uint64_t contact_ids[4];
    char contact_numbers[4][CMP_STORE_NUMBER_MAX + 1];
    size_t contacts;
    rc = cmp_store_contact_find (self, "tel:13800138000", base, contact_ids,
                                 contact_numbers, 4, &contacts);
    assert (rc == 0 && contacts == 2);
    assert (contact_ids[0] == 9 && contact_ids[1] == 7);
    assert (streq (contact_numbers[0], "20261118-000009"));
    assert (streq (contact_numbers[1], ""));
    rc = cmp_store_contact_find (self, "tel:13800138000", base + 15,
                                 contact_ids, NULL, 4, &contacts);
    assert (rc == 0 && contacts == 1 && contact_ids[0] == 9);

    //  Pending refs stay bounded however fast they arrive: each commit
    //  merges at least twice what it added
    cmp_store_set_merge (self, 10, 1);
    size_t most = 0;
    for (int round = 0; round < 12; round++) {
        rc = cmp_store_begin (self);
        assert (rc == 0);
        for (int index = 0; index < 30; index++) {
            char ref[32];
            snprintf (ref, sizeof (ref), "burst-%d-%d", round, index);
            uint64_t next =
              cmp_store_next_id (self, base + 2000, number, sizeof (number));
            zchunk_t *tiny = zchunk_new ("t", 1);
            rc = cmp_store_complaint_put (self, next, number, "web", ref,
                                          base + 2000, tiny);
            assert (rc == 0);
            zchunk_destroy (&tiny);
        }
        rc = cmp_store_commit (self);
        assert (rc == 0);
        if (cmp_store_refs_pending (self) > most)
            most = cmp_store_refs_pending (self);
    }
    assert (most < 100);
    assert (s_test_ref (self, "web", "burst-0-0") == 202);
    assert (s_test_ref (self, "web", "burst-11-29") == 202 + 12 * 30 - 1);

    //  A schema 2 store had no query indexes: opening it indexes every
    //  complaint as registered (the 361 after the first 200 have none)
    cmp_store_query_t registered = {{"registered"}, NULL, 0, INT64_MAX, 0,
                                    INT64_MAX,      0};
    uint64_t count_before;
    rc = cmp_store_query (self, &registered, NULL, 0, NULL, NULL, &more,
                          &count_before);
    assert (rc == 0 && count_before == 199);
    MDB_txn *txn;
    rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    assert (rc == 0);
    byte two[8];
    s_put_u64 (two, 2);
    MDB_val schema_key = {6, (void *) "schema"}, schema_value = {8, two};
    rc = mdb_put (txn, self->meta, &schema_key, &schema_value, 0);
    assert (rc == 0);
    rc = mdb_txn_commit (txn);
    assert (rc == 0);
    cmp_store_destroy (&self);
    self = cmp_store_new (path, 4 * 1024 * 1024, 0);
    assert (self);
    rc =
      cmp_store_query (self, &registered, NULL, 0, NULL, NULL, &more, &count);
    assert (rc == 0 && count == 561);
    registered.updated_from = base + 1000; //  Through times: 1 + 360
    rc =
      cmp_store_query (self, &registered, NULL, 0, NULL, NULL, &more, &count);
    assert (rc == 0 && count == 361);
    cmp_store_destroy (&self);

    zdir_t *dir = zdir_new (path, NULL);
    zdir_remove (dir, true);
    zdir_destroy (&dir);
    //  @end
    printf ("OK\n");
}
