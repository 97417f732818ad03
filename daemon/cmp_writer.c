/*  =========================================================================
    cmp_writer - the thread that registers batches and commits them
    =========================================================================
*/

#include <sys/prctl.h>

#include "cmp_classes.h"

//  Drop what an attempt produced, so that the batch can be tried again
static void
s_reset (cmp_writer_batch_t *batch)
{
    for (size_t index = 0; index < batch->size; index++) {
        cmp_writer_item_t *item = &batch->items[index];
        cmp_proto_destroy (&item->reply);
        for (int event = 0; event < CMP_CASE_EVENTS_MAX; event++)
            zchunk_destroy (&item->events[event].event);
    }
    zlistx_purge (batch->fired);
    batch->fired_count = 0;
    batch->fire_more = false;
}

//  Fire the deadline points due, and answer the TICKs of the batch
static int
s_fire (cmp_writer_batch_t *batch)
{
    cmp_sla_t *sla =
      batch->rulebook ? cmp_rulebook_sla (batch->rulebook) : NULL;
    if (batch->fire && sla
        && cmp_case_fire (batch->store, sla, batch->now, batch->fire_max,
                          batch->fired, &batch->fired_count, &batch->fire_more))
        return -1;
    for (size_t index = 0; index < batch->size; index++) {
        cmp_writer_item_t *item = &batch->items[index];
        if (cmp_proto_id (item->request) != CMP_PROTO_TICK)
            continue;
        item->reply = cmp_proto_new (CMP_PROTO_TICKED);
        cmp_proto_set_request_id (item->reply,
                                  cmp_proto_request_id (item->request));
        cmp_proto_set_at (item->reply, batch->now);
        cmp_proto_set_fired (item->reply, batch->fired_count);
        cmp_proto_set_pending (item->reply, batch->fire_more);
    }
    return 0;
}

//  Apply one request in the open transaction; -1 if the store failed
static int
s_apply (cmp_writer_batch_t *batch, cmp_writer_item_t *item)
{
    if (cmp_proto_id (item->request) == CMP_PROTO_ACT)
        return cmp_case_apply (batch->cases, batch->store, batch->rulebook,
                               item->request, batch->now, &item->reply,
                               item->events);
    if (cmp_proto_id (item->request) == CMP_PROTO_TICK)
        return 0; //  Answered once the batch has fired its timers
    return cmp_intake_register (batch->intake, batch->store, batch->rulebook,
                                item->request, item->scan, batch->now,
                                &item->reply, item->events);
}

//  Apply and commit one batch; returns a CMP_WRITER_ result
static int
s_write (cmp_writer_batch_t *batch)
{
    if (cmp_store_begin (batch->store))
        return CMP_WRITER_FAILED;
    bool stored = true;
    for (size_t index = 0; index < batch->size && stored; index++)
        stored = s_apply (batch, &batch->items[index]) == 0;
    if (stored)
        stored = s_fire (batch) == 0;
    //  The replies and events are encoded by the event loop, which answers
    //  this batch while the writer goes on with the next
    if (stored && cmp_store_commit (batch->store) == 0)
        return CMP_WRITER_COMMITTED;
    cmp_store_abort (batch->store);
    s_reset (batch);
    return cmp_store_full (batch->store) ? CMP_WRITER_FULL : CMP_WRITER_FAILED;
}

void
cmp_writer_actor (zsock_t *pipe, void *args)
{
    (void) args;
    //  Named, so that top -H and perf tell the writer from the event loop
    prctl (PR_SET_NAME, "cmp_writer", 0, 0, 0);
    zsock_signal (pipe, 0);
    while (true) {
        char *command = NULL;
        void *batch = NULL;
        if (zsock_recv (pipe, "sp", &command, &batch) == -1)
            break; //  Interrupted
        bool stop = streq (command, "$TERM");
        if (streq (command, "WRITE"))
            zsock_send (pipe, "i", s_write ((cmp_writer_batch_t *) batch));
        else if (!stop)
            zsys_error ("cmp_writer: unknown command %s", command);
        zstr_free (&command);
        if (stop)
            break;
    }
}

zactor_t *
cmp_writer_new (void)
{
    return zactor_new (cmp_writer_actor, NULL);
}
