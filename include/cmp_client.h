/*  =========================================================================
    cmp_client - a connection to complaintd for adapters and tools

    One DEALER socket connected to the intake or the API endpoint. Requests
    get a request id from the client; cmp_client_call waits for the reply
    with that id, and cmp_client_send / cmp_client_recv keep many requests
    in flight (replies may come in any order: match them by request id).

    A call that times out closes the socket and opens a new one, so that a
    late reply can never be taken for the answer to a later request (the
    "lazy pirate" pattern). Resending a SUBMIT after a timeout is safe: the
    daemon answers a repeated (channel, ref) with the original number.

        cmp_client_t *client = cmp_client_new ("tcp://127.0.0.1:7470");
        cmp_proto_t *submit = cmp_proto_new (CMP_PROTO_SUBMIT);
        cmp_proto_set_channel (submit, "web");
        ...
        cmp_proto_t *reply = cmp_client_call (client, &submit);
        if (reply && cmp_proto_id (reply) == CMP_PROTO_SUBMITTED)
            puts (cmp_proto_number (reply));
        cmp_proto_destroy (&reply);
        cmp_client_destroy (&client);
    =========================================================================
*/

#ifndef CMP_CLIENT_H_INCLUDED
#define CMP_CLIENT_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _cmp_client_t cmp_client_t;

//  Connect to a daemon endpoint. Returns NULL if the endpoint is invalid.
cmp_client_t *cmp_client_new (const char *endpoint);

//  Close the connection; idempotent.
void cmp_client_destroy (cmp_client_t **self_p);

//  Time a call waits for its reply, in milliseconds (default 5000).
void cmp_client_set_timeout (cmp_client_t *self, int timeout);

//  Send a request and wait for its reply. Takes ownership of the request.
//  Returns the reply (SUBMITTED, ERROR, ...), owned by the caller, or NULL
//  on timeout or an undecodable reply.
cmp_proto_t *cmp_client_call (cmp_client_t *self, cmp_proto_t **request_p);

//  Send a request without waiting; gives it the next request id unless it
//  has one, and returns that id. Takes ownership of the request.
uint64_t cmp_client_send (cmp_client_t *self, cmp_proto_t **request_p);

//  Receive the next reply, waiting at most timeout ms (-1: forever).
//  Returns NULL on timeout.
cmp_proto_t *cmp_client_recv (cmp_client_t *self, int timeout);

//  The DEALER socket, for polling with other sockets. Borrowed.
zsock_t *cmp_client_socket (cmp_client_t *self);

//  Self test of this class
void cmp_client_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
