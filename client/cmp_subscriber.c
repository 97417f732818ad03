/*  =========================================================================
    cmp_subscriber - every event, once and in order, for workers

    Holds `expected`, the sequence number of the next event not yet queued
    for the caller. A live event equal to it is queued; a later one means a
    gap, filled by REPLAY pages from the API endpoint before the live event
    is queued; an earlier one was already seen and is dropped. When the
    stream is quiet for a second, a HEALTH call tells whether events were
    published that the SUB socket never got (PUB drops at its high-water
    mark, and before a subscription takes effect).
    =========================================================================
*/

#include <pthread.h>

#include "complaint.h"

//  Quiet time after which the subscriber asks HEALTH for the last seq, ms
#define QUIET_CHECK 1000

//  Events asked for in one REPLAY page
#define REPLAY_PAGE 500

//  Structure of our class

struct _cmp_subscriber_t
{
    cmp_client_t *api;   //  API endpoint, for REPLAY and HEALTH
    zsock_t *events;     //  SUB on the events endpoint
    zpoller_t *poller;   //  Polls events
    zlistx_t *ready;     //  Events queued for the caller, in order
    uint64_t expected;   //  Next seq not yet queued
    uint64_t next;       //  Next seq recv will return
    uint64_t known_last; //  Highest seq the daemon said it has
    int64_t quiet_since; //  When the last live event came, ms
};

static void
s_proto_destroy (void **item)
{
    cmp_proto_destroy ((cmp_proto_t **) item);
}

cmp_subscriber_t *
cmp_subscriber_new (const char *api_endpoint,
                    const char *events_endpoint,
                    uint64_t from)
{
    cmp_subscriber_t *self =
      (cmp_subscriber_t *) zmalloc (sizeof (cmp_subscriber_t));
    assert (self);
    self->api = cmp_client_new (api_endpoint);
    self->events = zsock_new (ZMQ_SUB);
    assert (self->events);
    zsock_set_rcvhwm (self->events, 100000);
    zsock_set_subscribe (self->events, "complaint.");
    if (!self->api || zsock_connect (self->events, "%s", events_endpoint)) {
        cmp_subscriber_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (self->events, NULL);
    self->ready = zlistx_new ();
    zlistx_set_destructor (self->ready, s_proto_destroy);
    self->expected = from ? from : 1;
    self->next = self->expected;
    //  Catch up with the history at the first recv
    self->known_last = UINT64_MAX;
    self->quiet_since = zclock_mono ();
    return self;
}

void
cmp_subscriber_destroy (cmp_subscriber_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        cmp_subscriber_t *self = *self_p;
        zlistx_destroy (&self->ready);
        zpoller_destroy (&self->poller);
        zsock_destroy (&self->events);
        cmp_client_destroy (&self->api);
        free (self);
        *self_p = NULL;
    }
}

//  Queue an event if it is the one expected; destroy it otherwise
static void
s_offer (cmp_subscriber_t *self, cmp_proto_t **event_p)
{
    if (cmp_proto_seq (*event_p) == self->expected) {
        zlistx_add_end (self->ready, *event_p);
        *event_p = NULL;
        self->expected++;
    } else
        cmp_proto_destroy (event_p);
}

//  Replay from expected up to (not including) until, or to the end of the
//  log when until is 0. Returns -1 if the daemon did not answer.
static int
s_catch_up (cmp_subscriber_t *self, uint64_t until)
{
    while (until == 0 || self->expected < until) {
        cmp_proto_t *request = cmp_proto_new (CMP_PROTO_REPLAY);
        cmp_proto_set_from (request, (int64_t) self->expected);
        cmp_proto_set_limit (request, REPLAY_PAGE);
        cmp_proto_t *reply = cmp_client_call (self->api, &request);
        if (!reply || cmp_proto_id (reply) != CMP_PROTO_EVENTS) {
            if (reply)
                zsys_warning ("cmp_subscriber: REPLAY refused: %s",
                              cmp_proto_message (reply));
            cmp_proto_destroy (&reply);
            return -1;
        }
        self->known_last = cmp_proto_last_seq (reply);
        size_t got = zlistx_size (cmp_proto_items (reply));
        cmp_proto_t *event;
        while ((event = (cmp_proto_t *) zlistx_detach (cmp_proto_items (reply),
                                                       NULL))) {
            if (until && cmp_proto_seq (event) >= until)
                cmp_proto_destroy (&event);
            else
                s_offer (self, &event);
        }
        cmp_proto_destroy (&reply);
        if (got == 0 || self->expected > self->known_last)
            break;
    }
    return 0;
}

//  Ask the daemon for its last seq
static void
s_check_last (cmp_subscriber_t *self)
{
    cmp_proto_t *request = cmp_proto_new (CMP_PROTO_HEALTH);
    cmp_proto_t *reply = cmp_client_call (self->api, &request);
    if (reply && cmp_proto_id (reply) == CMP_PROTO_STATUS)
        self->known_last = cmp_proto_last_seq (reply);
    cmp_proto_destroy (&reply);
}

cmp_proto_t *
cmp_subscriber_recv (cmp_subscriber_t *self, int timeout)
{
    assert (self);
    int64_t deadline = timeout < 0 ? INT64_MAX : zclock_mono () + timeout;
    while (zlistx_size (self->ready) == 0) {
        if (self->known_last >= self->expected)
            s_catch_up (self, 0);
        if (zlistx_size (self->ready))
            break;
        int64_t now = zclock_mono ();
        if (now >= deadline)
            return NULL;
        int64_t wait = deadline - now;
        if (wait > QUIET_CHECK)
            wait = QUIET_CHECK;
        if (zpoller_wait (self->poller, (int) wait)) {
            zmsg_t *msg = zmsg_recv (self->events);
            if (!msg)
                continue;
            zframe_t *body = zmsg_last (msg);
            cmp_proto_t *event =
              cmp_proto_decode (zframe_data (body), zframe_size (body), NULL);
            zmsg_destroy (&msg);
            if (!event || cmp_proto_id (event) != CMP_PROTO_EVENT) {
                cmp_proto_destroy (&event);
                continue;
            }
            self->quiet_since = zclock_mono ();
            uint64_t seq = cmp_proto_seq (event);
            if (seq > self->expected && s_catch_up (self, seq)) {
                //  The daemon did not answer: keep the gap for later
                cmp_proto_destroy (&event);
                self->known_last = seq;
                continue;
            }
            s_offer (self, &event);
        } else if (zclock_mono () - self->quiet_since >= QUIET_CHECK) {
            s_check_last (self);
            self->quiet_since = zclock_mono ();
        }
    }
    cmp_proto_t *event = (cmp_proto_t *) zlistx_detach (self->ready, NULL);
    self->next = cmp_proto_seq (event) + 1;
    return event;
}

uint64_t
cmp_subscriber_next (cmp_subscriber_t *self)
{
    assert (self);
    return self->next;
}

//  --------------------------------------------------------------------------
//  Self test: gaps and repeats on the stream are put right. A ROUTER and a
//  PUB in this process stand in for the daemon's sockets.

static void
s_publish (zsock_t *pub, uint64_t seq)
{
    cmp_proto_t *event = cmp_proto_new (CMP_PROTO_EVENT);
    cmp_proto_set_seq (event, seq);
    cmp_proto_set_topic (event, "complaint.created");
    zframe_t *body = cmp_proto_encode (event);
    zstr_sendm (pub, "complaint.created");
    zframe_send (&body, pub, 0);
    cmp_proto_destroy (&event);
}

//  Answer one API request: REPLAY from the log of seqs 1..last, or HEALTH
static void
s_answer (zsock_t *router, uint64_t last)
{
    zmsg_t *msg = zmsg_recv (router);
    zframe_t *body = zmsg_last (msg);
    cmp_proto_t *request =
      cmp_proto_decode (zframe_data (body), zframe_size (body), NULL);
    assert (request);
    zmsg_remove (msg, body);
    zframe_destroy (&body);
    cmp_proto_t *reply;
    if (cmp_proto_id (request) == CMP_PROTO_REPLAY) {
        reply = cmp_proto_new (CMP_PROTO_EVENTS);
        for (uint64_t seq = (uint64_t) cmp_proto_from (request); seq <= last;
             seq++) {
            cmp_proto_t *event = cmp_proto_new (CMP_PROTO_EVENT);
            cmp_proto_set_seq (event, seq);
            zchunk_t *map = cmp_proto_encode_map (event);
            cmp_proto_add_raw (reply, &map);
            cmp_proto_destroy (&event);
        }
    } else
        reply = cmp_proto_new (CMP_PROTO_STATUS);
    cmp_proto_set_last_seq (reply, last);
    cmp_proto_set_request_id (reply, cmp_proto_request_id (request));
    body = cmp_proto_encode (reply);
    zmsg_append (msg, &body);
    zmsg_send (&msg, router);
    cmp_proto_destroy (&reply);
    cmp_proto_destroy (&request);
}

static void *
s_fake_api (void *args)
{
    zsock_t *router = (zsock_t *) args;
    //  seq 3 is announced live while 1..2 are only in the log; then 6
    //  arrives after 3, so 4..5 come from the log
    s_answer (router, 2);
    s_answer (router, 5);
    return NULL;
}

void
cmp_subscriber_test (bool verbose)
{
    printf (" * cmp_subscriber: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    zsock_t *router = zsock_new_router ("inproc://cmp_subscriber_api");
    zsock_t *pub = zsock_new_pub ("inproc://cmp_subscriber_events");
    assert (router && pub);
    cmp_subscriber_t *self = cmp_subscriber_new (
      "inproc://cmp_subscriber_api", "inproc://cmp_subscriber_events", 1);
    assert (self);
    pthread_t api_thread;
    pthread_create (&api_thread, NULL, s_fake_api, router);
    //  First recv replays 1..2 from the log
    cmp_proto_t *event = cmp_subscriber_recv (self, 2000);
    assert (event && cmp_proto_seq (event) == 1);
    cmp_proto_destroy (&event);
    event = cmp_subscriber_recv (self, 2000);
    assert (event && cmp_proto_seq (event) == 2);
    cmp_proto_destroy (&event);
    //  Live: 3, a repeat of 2, then 6 (a gap of 4 and 5)
    zclock_sleep (50); //  Let the inproc subscription take effect
    s_publish (pub, 3);
    s_publish (pub, 2);
    s_publish (pub, 6);
    for (uint64_t seq = 3; seq <= 6; seq++) {
        event = cmp_subscriber_recv (self, 2000);
        assert (event && cmp_proto_seq (event) == seq);
        cmp_proto_destroy (&event);
    }
    assert (cmp_subscriber_next (self) == 7);
    assert (cmp_subscriber_recv (self, 0) == NULL);
    pthread_join (api_thread, NULL);
    cmp_subscriber_destroy (&self);
    assert (self == NULL);
    zsock_destroy (&pub);
    zsock_destroy (&router);
    //  @end
    printf ("OK\n");
}
