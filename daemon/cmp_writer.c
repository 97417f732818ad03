/*  =========================================================================
    cmp_writer - the thread that registers batches and commits them
    =========================================================================
*/

#include "cmp_classes.h"

//  Drop what an attempt produced, so that the batch can be tried again
static void
s_reset (cmp_writer_batch_t *batch)
{
    for (size_t index = 0; index < batch->size; index++) {
        cmp_proto_destroy (&batch->items[index].reply);
        zchunk_destroy (&batch->items[index].event);
    }
}

//  Register and commit one batch; returns a CMP_WRITER_ result
static int
s_write (cmp_writer_batch_t *batch)
{
    if (cmp_store_begin (batch->store))
        return CMP_WRITER_FAILED;
    int64_t now = batch->now;
    bool stored = true;
    for (size_t index = 0; index < batch->size && stored; index++) {
        cmp_writer_item_t *item = &batch->items[index];
        stored =
          cmp_intake_register (batch->intake, batch->store, item->request, now,
                               &item->reply, &item->event)
          == 0;
    }
    if (stored && cmp_store_commit (batch->store) == 0) {
        //  Encode here, so that the event loop only has to send
        for (size_t index = 0; index < batch->size; index++) {
            cmp_writer_item_t *item = &batch->items[index];
            item->reply_frame = cmp_proto_encode (item->reply);
            cmp_proto_destroy (&item->reply);
            cmp_proto_destroy (&item->request);
            if (item->event) {
                cmp_proto_t *event = cmp_proto_new (CMP_PROTO_EVENT);
                cmp_proto_add_raw (event, &item->event);
                item->event_frame = cmp_proto_encode (event);
                cmp_proto_destroy (&event);
            }
        }
        return CMP_WRITER_COMMITTED;
    }
    cmp_store_abort (batch->store);
    s_reset (batch);
    return cmp_store_full (batch->store) ? CMP_WRITER_FULL : CMP_WRITER_FAILED;
}

void
cmp_writer_actor (zsock_t *pipe, void *args)
{
    (void) args;
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
