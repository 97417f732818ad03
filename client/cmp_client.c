/*  =========================================================================
    cmp_client - a connection to complaintd for adapters and tools
    =========================================================================
*/

#include "complaint.h"

//  Structure of our class

struct _cmp_client_t
{
    char *endpoint;    //  Daemon endpoint
    zsock_t *socket;   //  DEALER connected to it
    zpoller_t *poller; //  Polls socket
    int timeout;       //  Call timeout, ms
    uint64_t next_id;  //  Next request id to give
};

static int
s_connect (cmp_client_t *self)
{
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->socket);
    self->socket = zsock_new (ZMQ_DEALER);
    assert (self->socket);
    //  Replies (a page of complaints) can be large
    zsock_set_maxmsgsize (self->socket, -1);
    zsock_set_linger (self->socket, 0);
    zsock_set_sndhwm (self->socket, 100000);
    zsock_set_rcvhwm (self->socket, 100000);
    if (zsock_connect (self->socket, "%s", self->endpoint)) {
        zsock_destroy (&self->socket);
        return -1;
    }
    self->poller = zpoller_new (self->socket, NULL);
    assert (self->poller);
    return 0;
}

cmp_client_t *
cmp_client_new (const char *endpoint)
{
    assert (endpoint);
    cmp_client_t *self = (cmp_client_t *) zmalloc (sizeof (cmp_client_t));
    assert (self);
    self->endpoint = strdup (endpoint);
    self->timeout = 5000;
    //  Start ids at a random point so that two runs are told apart in logs
    zuuid_t *uuid = zuuid_new ();
    memcpy (&self->next_id, zuuid_data (uuid), sizeof (self->next_id));
    zuuid_destroy (&uuid);
    self->next_id = (self->next_id >> 16) + 1;
    if (s_connect (self)) {
        cmp_client_destroy (&self);
        return NULL;
    }
    return self;
}

void
cmp_client_destroy (cmp_client_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        cmp_client_t *self = *self_p;
        zpoller_destroy (&self->poller);
        zsock_destroy (&self->socket);
        zstr_free (&self->endpoint);
        free (self);
        *self_p = NULL;
    }
}

void
cmp_client_set_timeout (cmp_client_t *self, int timeout)
{
    assert (self);
    self->timeout = timeout;
}

uint64_t
cmp_client_send (cmp_client_t *self, cmp_proto_t **request_p)
{
    assert (self);
    assert (request_p && *request_p);
    cmp_proto_t *request = *request_p;
    if (cmp_proto_request_id (request) == 0)
        cmp_proto_set_request_id (request, self->next_id++);
    uint64_t id = cmp_proto_request_id (request);
    zframe_t *frame = cmp_proto_encode (request);
    zframe_send (&frame, self->socket, 0);
    cmp_proto_destroy (request_p);
    return id;
}

cmp_proto_t *
cmp_client_recv (cmp_client_t *self, int timeout)
{
    assert (self);
    if (!zpoller_wait (self->poller, timeout))
        return NULL;
    zmsg_t *msg = zmsg_recv (self->socket);
    if (!msg)
        return NULL;
    zframe_t *body = zmsg_last (msg);
    cmp_proto_t *reply =
      cmp_proto_decode (zframe_data (body), zframe_size (body), NULL);
    zmsg_destroy (&msg);
    return reply;
}

cmp_proto_t *
cmp_client_call (cmp_client_t *self, cmp_proto_t **request_p)
{
    assert (self);
    uint64_t id = cmp_client_send (self, request_p);
    int64_t deadline = zclock_mono () + self->timeout;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        cmp_proto_t *reply = cmp_client_recv (self, (int) left);
        if (reply && cmp_proto_request_id (reply) == id)
            return reply;
        cmp_proto_destroy (&reply); //  A stale reply, or none
    }
    //  A new socket, so that the late reply is never read as another's
    s_connect (self);
    return NULL;
}

zsock_t *
cmp_client_socket (cmp_client_t *self)
{
    assert (self);
    return self->socket;
}

//  --------------------------------------------------------------------------
//  Self test: a ROUTER in this process answers HEALTH, once late

void
cmp_client_test (bool verbose)
{
    printf (" * cmp_client: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    zsock_t *router = zsock_new_router ("inproc://cmp_client_test");
    assert (router);
    cmp_client_t *self = cmp_client_new ("inproc://cmp_client_test");
    assert (self);
    cmp_client_set_timeout (self, 200);

    //  Answer one call
    cmp_proto_t *request = cmp_proto_new (CMP_PROTO_HEALTH);
    uint64_t id = cmp_client_send (self, &request);
    assert (request == NULL);
    zmsg_t *msg = zmsg_recv (router);
    zframe_t *body = zmsg_last (msg);
    cmp_proto_t *seen =
      cmp_proto_decode (zframe_data (body), zframe_size (body), NULL);
    assert (seen && cmp_proto_request_id (seen) == id);
    zmsg_remove (msg, body);
    zframe_destroy (&body);
    cmp_proto_t *reply = cmp_proto_new (CMP_PROTO_STATUS);
    cmp_proto_set_request_id (reply, id);
    body = cmp_proto_encode (reply);
    zmsg_append (msg, &body);
    zmsg_send (&msg, router);
    cmp_proto_destroy (&reply);
    cmp_proto_destroy (&seen);
    reply = cmp_client_recv (self, 1000);
    assert (reply && cmp_proto_id (reply) == CMP_PROTO_STATUS);
    cmp_proto_destroy (&reply);

    //  A call nobody answers times out and returns NULL
    request = cmp_proto_new (CMP_PROTO_HEALTH);
    reply = cmp_client_call (self, &request);
    assert (reply == NULL);
    msg = zmsg_recv (router);
    assert (msg);
    zmsg_destroy (&msg);

    cmp_client_destroy (&self);
    assert (self == NULL);
    zsock_destroy (&router);
    //  @end
    printf ("OK\n");
}
