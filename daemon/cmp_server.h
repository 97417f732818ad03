/*  =========================================================================
    cmp_server - the daemon: sockets, the batch, and one event loop

    Wires the intake and API ROUTER sockets, the events PUB socket, a
    signalfd and a cron timer to one zloop. Requests that arrive together
    are applied in one write transaction that is committed once; replies
    and events go out only after the commit. The domain work is done by
    cmp_intake and cmp_store.
    =========================================================================
*/

#ifndef CMP_SERVER_H_INCLUDED
#define CMP_SERVER_H_INCLUDED

//  Create the server: open the store and bind the endpoints named in
//  config. Takes ownership of the configuration. Returns NULL and logs why
//  on failure. SIGTERM, SIGINT and SIGHUP must be blocked already.
cmp_server_t *cmp_server_new (cmp_config_t **config_p);

//  Destroy the server: close sockets, then the store; idempotent.
void cmp_server_destroy (cmp_server_t **self_p);

//  Log "ready", notify READY=1 and run the loop until SIGTERM or SIGINT
//  (returns 0) or a storage failure (returns -1).
int cmp_server_run (cmp_server_t *self) CMP_MUSTCHECK;

#endif
