/*  =========================================================================
    cmp_writer - the thread that registers batches and commits them

    An fsync'd LMDB commit blocks for milliseconds. The writer does the
    registration and the commit in its own thread (a zactor), so that the
    event loop goes on receiving, checking and answering while the disk
    syncs. It owns no state of its own: the batch, the store and the intake
    are lent to it for the length of one command.

    Command API (on the actor's pipe, zsock_send picture in brackets):

        WRITE [sp] batch    Apply every request of the batch (SUBMIT through
                            cmp_intake, ACT through cmp_case), then, if
                            batch->fire, fire the deadline points due (TICK
                            requests are answered with what fired), in one
                            write transaction and commit it. Replies [i] with
                            CMP_WRITER_COMMITTED (each item then holds its
                            reply and its stored events, batch->fired the
                            events of the points fired), CMP_WRITER_FULL
                            (the map is full: nothing was stored; grow it
                            and send the batch again) or CMP_WRITER_FAILED (storage
                            failure: nothing may be acknowledged).
        $TERM               Ends the actor (zactor_destroy sends it).

    The caller must not touch the batch, and must not write to the store,
    between WRITE and its reply.
    =========================================================================
*/

#ifndef CMP_WRITER_H_INCLUDED
#define CMP_WRITER_H_INCLUDED

#define CMP_WRITER_COMMITTED 0
#define CMP_WRITER_FULL 1
#define CMP_WRITER_FAILED 2

//  One request of a batch
typedef struct
{
    zmsg_t *envelope;        //  Routing frames, returned with the reply
    zsock_t *socket;         //  Socket the reply goes out on
    cmp_proto_t *request;    //  The checked SUBMIT or ACT
    cmp_triage_scan_t *scan; //  A SUBMIT's texts scanned by the rules
                             //  loaded when it came, or NULL
    cmp_proto_t *reply;      //  SUBMITTED, ACTED or ERROR, set by the writer
    cmp_case_event_t events[CMP_CASE_EVENTS_MAX]; //  Stored events
} cmp_writer_item_t;

//  A batch of requests for one transaction
typedef struct
{
    cmp_store_t *store;       //  Store to write
    cmp_intake_t *intake;     //  Registration rules
    cmp_case_t *cases;        //  Case rules, for ACT
    cmp_rulebook_t *rulebook; //  Triage rules and calendars
    cmp_writer_item_t *items; //  Requests, in arrival order
    size_t size;              //  Items used
    int64_t now;              //  Registration time, the same on retries
    bool fire;                //  Also fire the deadline points due at now
    size_t fire_max;          //  ... of at most this many complaints
    zlistx_t *fired;          //  Writer: their events (cmp_case_event_t)
    size_t fired_count;       //  Writer: complaints whose points fired
    bool fire_more;           //  Writer: more were due than fire_max
} cmp_writer_batch_t;

//  Start the writer thread.
zactor_t *cmp_writer_new (void);

//  The actor body, for zactor_new.
void cmp_writer_actor (zsock_t *pipe, void *args);

#endif
