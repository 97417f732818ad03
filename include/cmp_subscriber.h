/*  =========================================================================
    cmp_subscriber - every event, once and in order, for workers

    Subscribes to the daemon's event stream and fills every gap from the
    event log through REPLAY: events the PUB socket dropped, events
    published while the worker was down, and events published before the
    subscription took effect. cmp_subscriber_recv returns events strictly
    in sequence order, starting at the sequence number given to the
    constructor; a worker that stores the last seq it handled and passes
    seq + 1 at restart sees every event exactly once.

        cmp_subscriber_t *events = cmp_subscriber_new (
            "tcp://127.0.0.1:7471", "tcp://127.0.0.1:7472", last_seq + 1);
        while (!zsys_interrupted) {
            cmp_proto_t *event = cmp_subscriber_recv (events, 1000);
            if (event) {
                handle (event);    //  then persist cmp_proto_seq (event)
                cmp_proto_destroy (&event);
            }
        }
        cmp_subscriber_destroy (&events);
    =========================================================================
*/

#ifndef CMP_SUBSCRIBER_H_INCLUDED
#define CMP_SUBSCRIBER_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _cmp_subscriber_t cmp_subscriber_t;

//  Subscribe to events_endpoint and catch up through api_endpoint,
//  starting with the event numbered from (1 for the whole history).
//  Returns NULL if an endpoint is invalid.
cmp_subscriber_t *cmp_subscriber_new (const char *api_endpoint,
                                      const char *events_endpoint,
                                      uint64_t from);

//  Close both connections; idempotent.
void cmp_subscriber_destroy (cmp_subscriber_t **self_p);

//  The next event in sequence order (an EVENT message owned by the
//  caller), or NULL if none came within timeout ms (-1: wait forever).
cmp_proto_t *cmp_subscriber_recv (cmp_subscriber_t *self, int timeout);

//  Sequence number of the next event recv will return.
uint64_t cmp_subscriber_next (cmp_subscriber_t *self);

//  Self test of this class
void cmp_subscriber_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
