/*  =========================================================================
    cmp_server - the daemon: sockets, the batch, and one event loop

    s_handle_intake drains what the intake socket holds (up to
    server/batch_max requests), answers bad requests at once and gathers
    the rest in a batch. The writer thread (cmp_writer) registers a batch
    in one write transaction and commits it while the loop goes on
    gathering the next one; when it reports the commit, the loop hands it
    the gathered batch at once, then replies and publishes for the one
    committed, so that the writer never waits for the answering. A full
    map is grown here, where no read is running, and the batch is written
    again; any other storage failure stops the daemon
    without acknowledging anything of the batch (LMDB may refuse every
    later transaction after such a failure), and its supervisor restarts
    it.

    s_handle_api answers reads at once from a read transaction, and adds
    case actions (ACT) to the batch that is gathering, where they are
    applied in arrival order with the submissions.
    =========================================================================
*/

#include <sys/signalfd.h>

#include "cmp_classes.h"

//  Most frames a request may have: identity, up to 7 envelope frames, body
#define FRAMES_MAX 9

//  Capacity of a batch: the largest server/batch_max allowed
#define BATCH_CAPACITY 65536

//  Structure of our class

struct _cmp_server_t
{
    cmp_config_t *config;          //  Running configuration
    cmp_store_t *store;            //  LMDB store
    cmp_intake_t *intake;          //  Intake checks and registration
    cmp_case_t *cases;             //  Case rules and roles
    cmp_case_t *cases_next;        //  After a reload, while a batch is out
    cmp_rulebook_t *rulebook;      //  Triage rules and calendars
    cmp_rulebook_t *rulebook_next; //  After a reload, while a batch is out
    zloop_t *loop;                 //  The one event loop
    zsock_t *intake_socket;        //  ROUTER for channel adapters
    zsock_t *api_socket;           //  ROUTER for tools
    zsock_t *events_socket;        //  PUB for workers
    int signal_fd;                 //  signalfd for TERM, INT, HUP
    int64_t started;               //  Monotonic start time, ms
    bool failed;                   //  A storage failure stopped the loop
    bool verbose;                  //  server/verbose
    size_t batch_max;              //  server/batch_max
    size_t max_request;            //  limits/max_request
    size_t page_max;               //  list/page_max
    size_t replay_max;             //  events/replay_max
    zactor_t *writer;              //  Registers and commits batches
    cmp_writer_batch_t batches[3]; //  Gathering, writing, answering
    cmp_writer_batch_t *gathering; //  Batch the loop adds requests to
    cmp_writer_batch_t *writing;   //  Batch the writer has, or NULL
    cmp_writer_batch_t *answering; //  Committed batch being answered, or NULL
    bool paused;                   //  Intake reader off: gathering batch full
    int64_t write_started; //  When the writer got its batch, monotonic ms
    int64_t watchdog;      //  Watchdog interval in ms, 0 if off
    int64_t archive_after; //  archive/after, ms; 0 = never
    int64_t archive_sweep; //  archive/sweep, ms
    int64_t archive_keep;  //  archive/keep, ms; 0 = never purge
    int sweep_timer;       //  zloop timer of the archive sweep, or -1
    bool sweeping;         //  Archive requests of a sweep are in a batch
    int64_t next_timer;    //  Earliest deadline point in the store, 0 none
    int due_timer;         //  zloop timer that wakes us for it, or -1
    size_t fire_max;       //  sla/fire_max
};


static void s_cases_swap (cmp_server_t *self);
static void
s_api_reload (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t *request);
static int s_handle_sweep (zloop_t *loop, int timer_id, void *argument);
static void s_timer_arm (cmp_server_t *self);

//  Take the reloadable settings from the configuration
static void
s_configure (cmp_server_t *self)
{
    self->verbose = cmp_config_bool (self->config, "server/verbose");
    self->batch_max =
      (size_t) cmp_config_number (self->config, "server/batch_max");
    self->page_max = (size_t) cmp_config_number (self->config, "list/page_max");
    self->replay_max =
      (size_t) cmp_config_number (self->config, "events/replay_max");
    self->archive_after = cmp_config_number (self->config, "archive/after");
    self->archive_keep = cmp_config_bool (self->config, "archive/purge")
                           ? cmp_config_number (self->config, "archive/keep")
                           : 0;
    int64_t sweep = cmp_config_number (self->config, "archive/sweep");
    if (self->loop && sweep != self->archive_sweep) {
        if (self->sweep_timer != -1)
            zloop_timer_end (self->loop, self->sweep_timer);
        self->sweep_timer =
          zloop_timer (self->loop, (size_t) sweep, 0, s_handle_sweep, self);
    }
    self->archive_sweep = sweep;
    self->fire_max = (size_t) cmp_config_number (self->config, "sla/fire_max");
    if (self->intake)
        cmp_intake_configure (self->intake, self->config);
    //  The writer may be using the case rules: new ones take over when
    //  it is done
    cmp_case_destroy (&self->cases_next);
    self->cases_next = cmp_case_new (self->config);
    s_cases_swap (self);
}

//  Read the rulebook config names, logging each error; NULL if any
static cmp_rulebook_t *
s_rulebook_read (cmp_config_t *config, char *first_error, size_t size)
{
    zlist_t *errors = zlist_new ();
    zlist_autofree (errors);
    cmp_rulebook_t *rulebook = cmp_rulebook_new (config, errors);
    if (first_error && size)
        snprintf (first_error, size, "%s",
                  zlist_size (errors) ? (char *) zlist_first (errors) : "");
    for (char *error = (char *) zlist_first (errors); error;
         error = (char *) zlist_next (errors))
        zsys_error ("%s", error);
    zlist_destroy (&errors);
    return rulebook;
}

//  Bind one socket, logging the endpoint (or the fd systemd passed)
static zsock_t *
s_bind (int type, const char *endpoint, int maxmsgsize)
{
    zsock_t *socket = zsock_new (type);
    assert (socket);
    if (maxmsgsize)
        zsock_set_maxmsgsize (socket, maxmsgsize);
    //  Let the last replies go out when we stop
    zsock_set_linger (socket, 1000);
    if (type == ZMQ_PUB)
        zsock_set_sndhwm (socket, 100000);
    else
        zsock_set_rcvtimeo (socket, 0);
    if (zsock_bind (socket, "%s", endpoint) == -1) {
        zsys_error ("cannot bind %s: %s", endpoint,
                    zmq_strerror (zmq_errno ()));
        zsock_destroy (&socket);
        return NULL;
    }
    if (zsock_use_fd (socket) > 0)
        zsys_info ("%s: socket fd %d from the service manager", endpoint,
                   zsock_use_fd (socket));
    else
        zsys_info ("bound %s", zsock_endpoint (socket));
    return socket;
}

//  Receive one request if one is waiting, without blocking: the ROUTER
//  sockets have a receive timeout of 0, cheaper than asking for events
static zmsg_t *
s_recv_nowait (zsock_t *socket)
{
    return zmsg_recv (socket);
}

//  Send reply after the envelope; destroys both
static void
s_send (zsock_t *socket, zmsg_t **envelope_p, cmp_proto_t **reply_p)
{
    zframe_t *frame = cmp_proto_encode (*reply_p);
    zmsg_append (*envelope_p, &frame);
    zmsg_send (envelope_p, socket);
    cmp_proto_destroy (reply_p);
}

static void
s_send_error (cmp_server_t *self,
              zsock_t *socket,
              zmsg_t **envelope_p,
              uint64_t request_id,
              int status,
              const char *field,
              const char *text)
{
    zsys_warning ("refused request %" PRIu64 ": %d %s", request_id, status,
                  text);
    (void) self;
    cmp_proto_t *reply = cmp_proto_new_error (request_id, status, field, text);
    s_send (socket, envelope_p, &reply);
}

//  Split the body from the envelope. Returns the body, or NULL if the
//  message has no usable shape (it is then destroyed).
static zframe_t *
s_take_body (zmsg_t **msg_p)
{
    size_t frames = zmsg_size (*msg_p);
    if (frames < 2 || frames > FRAMES_MAX) {
        zsys_warning ("dropped a message of %zu frames (1 to %d allowed)",
                      frames - 1, FRAMES_MAX - 1);
        zmsg_destroy (msg_p);
        return NULL;
    }
    zframe_t *body = zmsg_last (*msg_p);
    zmsg_remove (*msg_p, body);
    return body;
}

//  Decode a body, answering any fault. Returns the request or NULL.
static cmp_proto_t *
s_decode (cmp_server_t *self,
          zsock_t *socket,
          zmsg_t **envelope_p,
          zframe_t **body_p)
{
    zframe_t *body = *body_p;
    cmp_proto_t *request = NULL;
    if (zframe_size (body) > self->max_request) {
        char text[160];
        snprintf (text, sizeof (text),
                  "body of %zu bytes is over the limit of %zu bytes "
                  "(limits/max_request)",
                  zframe_size (body), self->max_request);
        s_send_error (self, socket, envelope_p, 0, CMP_STATUS_TOO_LARGE, NULL,
                      text);
    } else {
        cmp_proto_fault_t fault;
        request =
          cmp_proto_decode (zframe_data (body), zframe_size (body), &fault);
        if (!request)
            s_send_error (self, socket, envelope_p, fault.request_id,
                          fault.status, fault.field, fault.text);
        else if (self->verbose)
            zsys_debug ("request %" PRIu64 ": %s (%zu bytes)",
                        cmp_proto_request_id (request),
                        cmp_proto_command (request), zframe_size (body));
    }
    zframe_destroy (body_p);
    return request;
}

static void
s_reply_status (cmp_server_t *self,
                zsock_t *socket,
                zmsg_t **envelope_p,
                cmp_proto_t *request)
{
    cmp_proto_t *reply = cmp_proto_new (CMP_PROTO_STATUS);
    cmp_proto_set_request_id (reply, cmp_proto_request_id (request));
    cmp_proto_set_software (reply, CMP_DAEMON_VERSION);
    cmp_proto_set_protocol (reply, CMP_PROTO_VERSION);
    cmp_proto_set_uptime (reply, zclock_mono () - self->started);
    cmp_proto_set_last_seq (reply, cmp_store_last_seq (self->store));
    cmp_proto_set_complaints (reply, cmp_store_count (self->store));
    s_send (socket, envelope_p, &reply);
}

static void
s_reply_not_served (cmp_server_t *self,
                    zsock_t *socket,
                    zmsg_t **envelope_p,
                    cmp_proto_t *request,
                    const char *endpoint)
{
    char text[128];
    snprintf (text, sizeof (text), "type: %s is not served on the %s endpoint",
              cmp_proto_command (request), endpoint);
    s_send_error (self, socket, envelope_p, cmp_proto_request_id (request),
                  CMP_STATUS_NOT_SUPPORTED, "type", text);
}

//  --------------------------------------------------------------------------
//  The batch: gathered here, written by the writer, answered here

static void
s_chunk_destroy (void **item)
{
    zchunk_destroy ((zchunk_t **) item);
}

static void
s_batch_clear (cmp_writer_batch_t *batch)
{
    for (size_t index = 0; index < batch->size; index++) {
        cmp_writer_item_t *item = &batch->items[index];
        zmsg_destroy (&item->envelope);
        cmp_proto_destroy (&item->request);
        cmp_triage_scan_destroy (&item->scan);
        cmp_proto_destroy (&item->reply);
        for (int number = 0; number < CMP_CASE_EVENTS_MAX; number++)
            zchunk_destroy (&item->events[number].event);
    }
    batch->size = 0;
    zlistx_purge (batch->fired);
    batch->fired_count = 0;
    batch->fire_more = false;
    batch->fire = false;
}

//  Publish a stored event under its topic
static void
s_publish (cmp_server_t *self, const char *topic, zchunk_t **stored_p)
{
    cmp_proto_t *event = cmp_proto_new (CMP_PROTO_EVENT);
    cmp_proto_add_raw (event, stored_p);
    zframe_t *body = cmp_proto_encode (event);
    cmp_proto_destroy (&event);
    zstr_sendm (self->events_socket, topic);
    zframe_send (&body, self->events_socket, 0);
}

//  Scan a SUBMIT's texts for triage now, so that the writer does not.
//  The writer scans again those that a reload's rules will triage.
static void
s_scan (cmp_server_t *self, cmp_writer_item_t *item)
{
    cmp_triage_t *triage = cmp_rulebook_triage (self->rulebook);
    if (triage && cmp_proto_id (item->request) == CMP_PROTO_SUBMIT)
        item->scan = cmp_triage_scan_new (triage, item->request);
}

//  Case rules made by a reload take over when no batch uses the old ones
static void
s_cases_swap (cmp_server_t *self)
{
    if (self->cases_next && !self->writing) {
        cmp_case_destroy (&self->cases);
        self->cases = self->cases_next;
        self->cases_next = NULL;
    }
    if (self->rulebook_next && !self->writing) {
        cmp_rulebook_destroy (&self->rulebook);
        self->rulebook = self->rulebook_next;
        self->rulebook_next = NULL;
        s_timer_arm (self); //  Deadlines may have been turned on or off
    }
}

//  Hand the gathered batch to the writer, if it is idle and there is one
//  or a deadline point is due
static void
s_batch_dispatch (cmp_server_t *self)
{
    int64_t now = cmp_clock_now ();
    bool due = self->next_timer > 0 && self->next_timer <= now;
    if (self->writing || (self->gathering->size == 0 && !due))
        return;
    self->writing = self->gathering;
    self->writing->now = now;
    self->writing->fire = due;
    self->writing->fire_max = self->fire_max;
    self->writing->cases = self->cases;
    self->writing->rulebook = self->rulebook;
    self->write_started = zclock_mono ();
    //  The next to gather is the one neither written nor being answered
    for (int index = 0; index < 3; index++)
        if (&self->batches[index] != self->writing
            && &self->batches[index] != self->answering)
            self->gathering = &self->batches[index];
    assert (self->gathering->size == 0);
    zsock_send (self->writer, "sp", "WRITE", self->writing);
}

//  Reply to every request of a batch the writer is done with, then
//  publish its events in sequence order
static void
s_batch_answer (cmp_server_t *self, cmp_writer_batch_t *batch, int result)
{
    for (size_t index = 0; index < batch->size; index++) {
        cmp_writer_item_t *item = &batch->items[index];
        if (!item->envelope) {
            //  The daemon's own request (an archive): nobody to answer
            self->sweeping = false;
            continue;
        }
        if (result == CMP_WRITER_COMMITTED) {
            zframe_t *reply = cmp_proto_encode (item->reply);
            zmsg_append (item->envelope, &reply);
            zmsg_send (&item->envelope, item->socket);
        } else
            s_send_error (self, item->socket, &item->envelope,
                          cmp_proto_request_id (item->request),
                          CMP_STATUS_STORAGE_FULL, NULL,
                          "the store is full (store/map_max); nothing was "
                          "stored");
    }
    for (size_t index = 0; index < batch->size; index++) {
        cmp_writer_item_t *item = &batch->items[index];
        for (int number = 0; number < CMP_CASE_EVENTS_MAX; number++)
            if (item->events[number].event)
                s_publish (self, item->events[number].topic,
                           &item->events[number].event);
    }
    for (cmp_case_event_t *fired =
           (cmp_case_event_t *) zlistx_first (batch->fired);
         fired; fired = (cmp_case_event_t *) zlistx_next (batch->fired))
        s_publish (self, fired->topic, &fired->event);
    if (batch->fired_count)
        zsys_debug ("deadlines: points of %zu complaints fired%s",
                    batch->fired_count, batch->fire_more ? ", more due" : "");
}

//  Act on the writer's result for the batch it has. Returns -1 when the
//  daemon must stop.
static int
s_batch_done (cmp_server_t *self, int result)
{
    cmp_writer_batch_t *batch = self->writing;
    assert (batch);
    if (result == CMP_WRITER_FULL && cmp_store_grow (self->store) == 0) {
        self->write_started = zclock_mono ();
        zsock_send (self->writer, "sp", "WRITE", batch);
        return 0;
    }
    //  Full at store/map_max: refused with 507. Anything else is fatal.
    if (result != CMP_WRITER_COMMITTED
        && !(result == CMP_WRITER_FULL && cmp_store_at_limit (self->store))) {
        zsys_error ("storage failure: stopping without acknowledging the "
                    "%zu requests in hand",
                    batch->size);
        self->failed = true;
        return -1;
    }
    //  Reloaded rules take over between batches; the writer then starts
    //  on the next batch while this one is answered
    self->writing = NULL;
    s_cases_swap (self);
    s_timer_arm (self);
    self->answering = batch;
    s_batch_dispatch (self);
    s_batch_answer (self, batch, result);
    s_batch_clear (batch);
    self->answering = NULL;
    return 0;
}

static int s_handle_intake (zloop_t *loop, zsock_t *socket, void *argument);

//  The deadline timer went off: fire what is due
static int
s_handle_due (zloop_t *loop, int timer_id, void *argument)
{
    (void) loop;
    (void) timer_id;
    cmp_server_t *self = (cmp_server_t *) argument;
    self->due_timer = -1;
    s_batch_dispatch (self);
    if (!self->writing)
        s_timer_arm (self);
    return 0;
}

//  Read the earliest deadline point from the store, and sleep until it
//  (at most a minute, so that a wall clock that jumps forward is noticed;
//  a test clock only moves with TICK)
static void
s_timer_arm (cmp_server_t *self)
{
    //  With sla/enabled off nothing fires: the timers stay for later
    if (!cmp_rulebook_sla (self->rulebook)
        || cmp_store_timer_next (self->store, &self->next_timer))
        self->next_timer = 0;
    if (!self->loop)
        return;
    if (self->due_timer != -1)
        zloop_timer_end (self->loop, self->due_timer);
    self->due_timer = -1;
    if (self->next_timer == 0 || cmp_clock_is_test ())
        return;
    int64_t delay = self->next_timer - cmp_clock_now ();
    delay = delay < 1 ? 1 : delay > 60000 ? 60000 : delay;
    self->due_timer =
      zloop_timer (self->loop, (size_t) delay, 1, s_handle_due, self);
}

static int
s_handle_writer (zloop_t *loop, zsock_t *socket, void *argument)
{
    cmp_server_t *self = (cmp_server_t *) argument;
    int result = CMP_WRITER_FAILED;
    if (zsock_recv (socket, "i", &result) == -1)
        return 0;
    if (s_batch_done (self, result))
        return -1;
    s_batch_dispatch (self);
    if (self->paused) {
        self->paused = false;
        zloop_reader (loop, self->intake_socket, s_handle_intake, self);
    }
    return 0;
}

//  Wait for the writer, for the batches in hand when the loop stops
static void
s_batch_finish (cmp_server_t *self)
{
    while (self->writing && !self->failed) {
        int result = CMP_WRITER_FAILED;
        if (zsock_recv (self->writer, "i", &result) == -1)
            break;
        if (s_batch_done (self, result))
            break;
        s_batch_dispatch (self);
    }
}

//  --------------------------------------------------------------------------
//  Intake socket: SUBMIT and HEALTH

static int
s_handle_intake (zloop_t *loop, zsock_t *socket, void *argument)
{
    cmp_server_t *self = (cmp_server_t *) argument;
    int64_t now = cmp_clock_now ();
    cmp_writer_batch_t *batch = self->gathering;
    zmsg_t *msg;
    while (batch->size < self->batch_max && (msg = s_recv_nowait (socket))) {
        zframe_t *body = s_take_body (&msg);
        if (!body)
            continue;
        cmp_proto_t *request = s_decode (self, socket, &msg, &body);
        if (!request)
            continue;
        if (cmp_proto_id (request) == CMP_PROTO_SUBMIT) {
            cmp_proto_fault_t fault;
            //  Without an actor, the request comes from the channel's
            //  adapter; with one, its role must allow submitting
            const char *actor = cmp_proto_actor (request);
            if (actor && cmp_case_may (self->cases, actor, "submit", &fault)) {
                s_send_error (self, socket, &msg,
                              cmp_proto_request_id (request), fault.status,
                              fault.field, fault.text);
                cmp_proto_destroy (&request);
                continue;
            }
            cmp_proto_set_role (
              request, actor ? cmp_case_role (self->cases, actor) : "adapter");
            if (cmp_intake_check (self->intake, request, now, &fault)) {
                s_send_error (self, socket, &msg, fault.request_id,
                              fault.status, fault.field, fault.text);
                cmp_proto_destroy (&request);
            } else {
                cmp_writer_item_t *item = &batch->items[batch->size++];
                memset (item, 0, sizeof (*item));
                item->envelope = msg;
                item->socket = socket;
                item->request = request;
                s_scan (self, item);
            }
            continue;
        }
        if (cmp_proto_id (request) == CMP_PROTO_HEALTH)
            s_reply_status (self, socket, &msg, request);
        else
            s_reply_not_served (self, socket, &msg, request, "intake");
        cmp_proto_destroy (&request);
    }
    s_batch_dispatch (self);
    //  Gathering batch full: stop reading until the writer is done
    if (self->gathering->size >= self->batch_max && !self->paused) {
        self->paused = true;
        zloop_reader_end (loop, socket);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  API socket: GET, LIST, REPLAY, HEALTH

static void
s_hex_encode (const byte *data, size_t size, char *text)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t index = 0; index < size; index++) {
        text[2 * index] = digits[data[index] >> 4];
        text[2 * index + 1] = digits[data[index] & 15];
    }
    text[2 * size] = 0;
}

static int
s_hex_decode (const char *text, byte *data, size_t size)
{
    if (strlen (text) != 2 * size)
        return -1;
    for (size_t index = 0; index < 2 * size; index++) {
        char digit = text[index];
        int value = digit >= '0' && digit <= '9'   ? digit - '0'
                    : digit >= 'a' && digit <= 'f' ? digit - 'a' + 10
                                                   : -1;
        if (value < 0)
            return -1;
        if (index % 2 == 0)
            data[index / 2] = (byte) (value << 4);
        else
            data[index / 2] |= (byte) value;
    }
    return 0;
}

//  Reads need a role that may read; 0 if this one may
static int
s_may_read (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t *request)
{
    cmp_proto_fault_t fault;
    if (cmp_case_may (self->cases, cmp_proto_actor (request), "read", &fault)
        == 0)
        return 0;
    s_send_error (self, self->api_socket, envelope_p,
                  cmp_proto_request_id (request), fault.status, fault.field,
                  fault.text);
    return -1;
}

//  Answer that the complaint a GET or HISTORY names is not there
static void
s_not_found (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t *request)
{
    char text[128];
    bool by_id = cmp_proto_has (request, "id");
    if (by_id)
        snprintf (text, sizeof (text), "id: no complaint with id %" PRIu64,
                  cmp_proto_complaint_id (request));
    else
        snprintf (text, sizeof (text),
                  "number: no complaint with number \"%.64s\"",
                  cmp_proto_number (request));
    s_send_error (self, self->api_socket, envelope_p,
                  cmp_proto_request_id (request), CMP_STATUS_NOT_FOUND,
                  by_id ? "id" : "number", text);
}

//  The id a GET or HISTORY names, by id or by number, or 0 (then it has
//  been answered); a given id is not looked up
static uint64_t
s_find (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t *request)
{
    bool by_id = cmp_proto_has (request, "id");
    const char *number = cmp_proto_number (request);
    if (by_id == (number != NULL)) {
        s_send_error (self, self->api_socket, envelope_p,
                      cmp_proto_request_id (request), CMP_STATUS_INVALID, "id",
                      "id: give exactly one of id and number");
        return 0;
    }
    for (const char *at = number; at && *at; at++)
        if ((byte) *at < 0x20 || *at == 0x7f) {
            char text[80];
            snprintf (text, sizeof (text),
                      "number: control character 0x%02x at byte %d", (byte) *at,
                      (int) (at - number));
            s_send_error (self, self->api_socket, envelope_p,
                          cmp_proto_request_id (request), CMP_STATUS_INVALID,
                          "number", text);
            return 0;
        }
    uint64_t id = by_id ? cmp_proto_complaint_id (request)
                        : cmp_store_number_find (self->store, number);
    if (id == 0)
        s_not_found (self, envelope_p, request);
    return id;
}

static void
s_api_get (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t *request)
{
    if (s_may_read (self, envelope_p, request))
        return;
    uint64_t id = s_find (self, envelope_p, request);
    if (!id)
        return;
    zchunk_t *record = cmp_store_complaint (self->store, id);
    uint64_t history = 0;
    if (!record) {
        s_not_found (self, envelope_p, request);
        return;
    }
    if (cmp_store_history_count (self->store, id, &history)) {
        zchunk_destroy (&record);
        s_send_error (self, self->api_socket, envelope_p,
                      cmp_proto_request_id (request), CMP_STATUS_INTERNAL, NULL,
                      "the store could not be read");
        return;
    }
    cmp_proto_t *reply = cmp_proto_new (CMP_PROTO_COMPLAINT);
    cmp_proto_set_request_id (reply, cmp_proto_request_id (request));
    cmp_proto_add_raw (reply, &record);
    cmp_proto_set_history (reply, history);
    s_send (self->api_socket, envelope_p, &reply);
}

//  Check an optional page size against its maximum; 0 on success
static int
s_page_limit (cmp_server_t *self,
              zmsg_t **envelope_p,
              cmp_proto_t *request,
              size_t fallback,
              size_t max,
              const char *key,
              size_t *limit)
{
    *limit = fallback < max ? fallback : max;
    if (!cmp_proto_has (request, "limit"))
        return 0;
    uint64_t asked = cmp_proto_limit (request);
    if (asked == 0 || asked > max) {
        char text[128];
        snprintf (text, sizeof (text),
                  "limit: %" PRIu64 " is out of range (1 to %zu, %s)", asked,
                  max, key);
        s_send_error (self, self->api_socket, envelope_p,
                      cmp_proto_request_id (request), CMP_STATUS_INVALID,
                      "limit", text);
        return -1;
    }
    *limit = (size_t) asked;
    return 0;
}


//  Build the query of a LIST or COUNT; 0, or -1 after answering why not
static int
s_query (cmp_server_t *self,
         zmsg_t **envelope_p,
         cmp_proto_t *request,
         cmp_store_query_t *query)
{
    uint64_t request_id = cmp_proto_request_id (request);
    memset (query, 0, sizeof (*query));
    const char *channel = cmp_proto_channel (request);
    const char *state = cmp_proto_state (request);
    const char *priority = cmp_proto_priority (request);
    char text[160];
    const char *field = NULL;
    if (channel && !cmp_intake_channel_valid (channel)) {
        snprintf (text, sizeof (text),
                  "channel: \"%.32s\" is not one of phone, email, web, "
                  "counter, letter, social",
                  channel);
        field = "channel";
    } else if (state && !cmp_case_state_known (state)) {
        snprintf (text, sizeof (text),
                  "state: \"%.32s\" is not a state (see the transition "
                  "table)",
                  state);
        field = "state";
    } else if (priority && !cmp_case_priority_known (priority)) {
        snprintf (text, sizeof (text),
                  "priority: \"%.32s\" is not one of urgent, high, normal, "
                  "low",
                  priority);
        field = "priority";
    }
    if (field) {
        s_send_error (self, self->api_socket, envelope_p, request_id,
                      CMP_STATUS_INVALID, field, text);
        return -1;
    }
    query->channel = channel;
    query->field[CMP_STORE_STATE] = state;
    query->field[CMP_STORE_DEPARTMENT] = cmp_proto_case_department (request);
    query->field[CMP_STORE_HANDLER] = cmp_proto_handler (request);
    query->field[CMP_STORE_CATEGORY] = cmp_proto_category (request);
    query->field[CMP_STORE_PRIORITY] = priority;
    query->from =
      cmp_proto_has (request, "from") ? cmp_proto_from (request) : 0;
    query->to =
      cmp_proto_has (request, "to") ? cmp_proto_to (request) : INT64_MAX;
    query->updated_from = cmp_proto_has (request, "updated_from")
                            ? cmp_proto_updated_from (request)
                            : 0;
    query->updated_to = cmp_proto_has (request, "updated_to")
                          ? cmp_proto_updated_to (request)
                          : INT64_MAX;
    //  Deadlines: due before a time, overdue, escalated to a level
    if (cmp_proto_has (request, "due_before")) {
        if (cmp_proto_due_before (request) <= 0) {
            s_send_error (self, self->api_socket, envelope_p, request_id,
                          CMP_STATUS_INVALID, "due_before",
                          "due_before: must be a time after the epoch (ms)");
            return -1;
        }
        query->due_before = cmp_proto_due_before (request);
    }
    if (cmp_proto_breached (request))
        query->field[CMP_STORE_OVERDUE] = "yes";
    const char *level = cmp_proto_level (request);
    if (level) {
        cmp_sla_t *sla = cmp_rulebook_sla (self->rulebook);
        if (!sla || cmp_sla_level_find (sla, level) < 0) {
            snprintf (text, sizeof (text),
                      "level: \"%.32s\" is not a level of the escalation "
                      "ladder",
                      level);
            s_send_error (self, self->api_socket, envelope_p, request_id,
                          CMP_STATUS_INVALID, "level", text);
            return -1;
        }
        query->field[CMP_STORE_LEVEL] = level;
    }
    return 0;
}

static void
s_api_list (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t *request)
{
    uint64_t request_id = cmp_proto_request_id (request);
    size_t limit;
    cmp_store_query_t query;
    if (s_may_read (self, envelope_p, request)
        || s_page_limit (self, envelope_p, request, 50, self->page_max,
                         "list/page_max", &limit)
        || s_query (self, envelope_p, request, &query))
        return;
    byte cursor[CMP_STORE_CURSOR_SIZE];
    const char *after = cmp_proto_after (request);
    if (after && s_hex_decode (after, cursor, sizeof (cursor))) {
        s_send_error (self, self->api_socket, envelope_p, request_id,
                      CMP_STATUS_INVALID, "after",
                      "after: not a cursor returned by a previous LIST");
        return;
    }
    zlistx_t *records = zlistx_new ();
    zlistx_set_destructor (records, s_chunk_destroy);
    byte next[CMP_STORE_CURSOR_SIZE];
    bool more = false;
    if (cmp_store_query (self->store, &query, after ? cursor : NULL, limit,
                         records, next, &more, NULL)) {
        zlistx_destroy (&records);
        s_send_error (self, self->api_socket, envelope_p, request_id,
                      CMP_STATUS_INTERNAL, NULL, "the store could not be read");
        return;
    }
    cmp_proto_t *reply = cmp_proto_new (CMP_PROTO_COMPLAINTS);
    cmp_proto_set_request_id (reply, request_id);
    zchunk_t *record;
    while ((record = (zchunk_t *) zlistx_detach (records, NULL)))
        cmp_proto_add_raw (reply, &record);
    zlistx_destroy (&records);
    if (more) {
        char text[2 * CMP_STORE_CURSOR_SIZE + 1];
        s_hex_encode (next, sizeof (next), text);
        cmp_proto_set_next (reply, text);
    }
    s_send (self->api_socket, envelope_p, &reply);
}

static void
s_api_count (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t *request)
{
    cmp_store_query_t query;
    if (s_may_read (self, envelope_p, request)
        || s_query (self, envelope_p, request, &query))
        return;
    uint64_t count = 0;
    bool more;
    if (cmp_store_query (self->store, &query, NULL, SIZE_MAX, NULL, NULL, &more,
                         &count)) {
        s_send_error (self, self->api_socket, envelope_p,
                      cmp_proto_request_id (request), CMP_STATUS_INTERNAL, NULL,
                      "the store could not be read");
        return;
    }
    cmp_proto_t *reply = cmp_proto_new (CMP_PROTO_COUNTED);
    cmp_proto_set_request_id (reply, cmp_proto_request_id (request));
    cmp_proto_set_complaints (reply, count);
    s_send (self->api_socket, envelope_p, &reply);
}

static void
s_api_history (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t *request)
{
    uint64_t request_id = cmp_proto_request_id (request);
    size_t limit;
    if (s_may_read (self, envelope_p, request)
        || s_page_limit (self, envelope_p, request, 100, self->page_max,
                         "list/page_max", &limit))
        return;
    uint64_t id = s_find (self, envelope_p, request);
    if (!id)
        return;
    uint64_t total = 0;
    if (cmp_store_history_count (self->store, id, &total)) {
        s_send_error (self, self->api_socket, envelope_p, request_id,
                      CMP_STATUS_INTERNAL, NULL, "the store could not be read");
        return;
    }
    if (total == 0) {
        //  No history: no such complaint, or a purged one
        zchunk_t *record = cmp_store_complaint (self->store, id);
        bool exists = record != NULL;
        zchunk_destroy (&record);
        if (!exists) {
            s_not_found (self, envelope_p, request);
            return;
        }
    }
    uint64_t from =
      cmp_proto_has (request, "from") ? (uint64_t) cmp_proto_from (request) : 1;
    zlistx_t *entries = zlistx_new ();
    zlistx_set_destructor (entries, s_chunk_destroy);
    if (cmp_store_history (self->store, id, from, limit, entries)) {
        zlistx_destroy (&entries);
        s_send_error (self, self->api_socket, envelope_p, request_id,
                      CMP_STATUS_INTERNAL, NULL, "the store could not be read");
        return;
    }
    cmp_proto_t *reply = cmp_proto_new (CMP_PROTO_ENTRIES);
    cmp_proto_set_request_id (reply, request_id);
    cmp_proto_set_history (reply, total);
    zchunk_t *entry;
    while ((entry = (zchunk_t *) zlistx_detach (entries, NULL)))
        cmp_proto_add_raw (reply, &entry);
    zlistx_destroy (&entries);
    s_send (self->api_socket, envelope_p, &reply);
}

//  Add an API request to the gathering batch, taking it and its envelope.
//  Returns 0, or -1 after answering that the daemon is busy.
static int
s_batch_add (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t **request_p)
{
    cmp_writer_batch_t *batch = self->gathering;
    if (batch->size >= BATCH_CAPACITY) {
        s_send_error (self, self->api_socket, envelope_p,
                      cmp_proto_request_id (*request_p), CMP_STATUS_UNAVAILABLE,
                      NULL, "the daemon is busy; send the request again");
        return -1;
    }
    cmp_writer_item_t *item = &batch->items[batch->size++];
    memset (item, 0, sizeof (*item));
    item->envelope = *envelope_p;
    item->socket = self->api_socket;
    item->request = *request_p;
    s_scan (self, item);
    *envelope_p = NULL;
    *request_p = NULL;
    return 0;
}

//  Check an ACT and add it to the gathering batch
static void
s_api_act (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t **request_p)
{
    cmp_proto_t *request = *request_p;
    cmp_proto_fault_t fault;
    if (cmp_case_check (self->cases, request, &fault)) {
        s_send_error (self, self->api_socket, envelope_p,
                      cmp_proto_request_id (request), fault.status, fault.field,
                      fault.text);
        return;
    }
    s_batch_add (self, envelope_p, request_p);
}

//  TICK: an admin moves the test clock; the reply comes after the batch
//  that fires what became due
static void
s_api_tick (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t **request_p)
{
    cmp_proto_t *request = *request_p;
    uint64_t request_id = cmp_proto_request_id (request);
    cmp_proto_fault_t fault;
    memset (&fault, 0, sizeof (fault));
    if (cmp_case_may (self->cases, cmp_proto_actor (request), "tick", &fault)) {
        s_send_error (self, self->api_socket, envelope_p, request_id,
                      fault.status, fault.field, fault.text);
        return;
    }
    if (!cmp_clock_is_test ()) {
        s_send_error (self, self->api_socket, envelope_p, request_id,
                      CMP_STATUS_CONFLICT, NULL,
                      "the daemon runs on the system clock; TICK needs "
                      "clock/test");
        return;
    }
    if (!cmp_proto_has (request, "at") || cmp_proto_at (request) < 0) {
        s_send_error (self, self->api_socket, envelope_p, request_id,
                      CMP_STATUS_INVALID, "at",
                      "at: required, the new time in ms since the epoch");
        return;
    }
    int64_t at = cmp_proto_at (request);
    if (s_batch_add (self, envelope_p, request_p) == 0)
        cmp_clock_set (at);
}

//  A time as the calendar's zone shows it: "2026-11-23 17:30 +08:00"
static void
s_local_time (cmp_calendar_t *calendar, int64_t at, char *text, size_t size)
{
    cmp_calendar_local_t local;
    cmp_calendar_local (calendar, at, &local);
    int64_t offset = local.offset / 60000;
    char sign = offset < 0 ? '-' : '+';
    if (offset < 0)
        offset = -offset;
    snprintf (text, size, "%04d-%02d-%02d %02d:%02d %c%02d:%02d", local.year,
              local.month, local.day, local.minute / 60, local.minute % 60,
              sign, (int) (offset / 60), (int) (offset % 60));
}

//  SLA: every clock of a complaint, measured now
static void
s_api_sla (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t *request)
{
    if (s_may_read (self, envelope_p, request))
        return;
    uint64_t id = s_find (self, envelope_p, request);
    if (!id)
        return;
    cmp_proto_t *record = cmp_case_record (self->store, id);
    if (!record) {
        s_not_found (self, envelope_p, request);
        return;
    }
    cmp_sla_t *sla = cmp_rulebook_sla (self->rulebook);
    if (!sla) {
        cmp_proto_destroy (&record);
        s_send_error (self, self->api_socket, envelope_p,
                      cmp_proto_request_id (request), CMP_STATUS_CONFLICT, NULL,
                      "deadlines are off (sla/enabled is false)");
        return;
    }
    cmp_calendar_t *calendar = cmp_sla_calendar (sla);
    int64_t now = cmp_clock_now ();
    cmp_sla_state_t state;
    cmp_sla_read (sla, record, &state);
    cmp_proto_t *reply = cmp_proto_new (CMP_PROTO_CLOCKS);
    cmp_proto_set_request_id (reply, cmp_proto_request_id (request));
    cmp_proto_set_complaint_id (reply, id);
    cmp_proto_set_number (reply, cmp_proto_number (record));
    cmp_proto_set_sla (reply, cmp_proto_sla_policy (record));
    cmp_proto_set_zone (reply, cmp_calendar_zone (calendar));
    cmp_proto_set_at (reply, now);
    cmp_sla_write (sla, &state, reply);
    cmp_proto_set_level (reply, cmp_sla_level_name (sla, state.level));
    zlistx_t *clocks = cmp_proto_clocks (reply);
    size_t index = 0;
    for (cmp_proto_t *clock = (cmp_proto_t *) zlistx_first (clocks);
         clock && index < state.size;
         clock = (cmp_proto_t *) zlistx_next (clocks), index++) {
        int64_t used, remaining;
        cmp_sla_measure (sla, &state.clocks[index], now, &used, &remaining);
        cmp_proto_set_used (clock, used);
        cmp_proto_set_remaining (clock, remaining);
        if (cmp_proto_due_at (clock) > 0) {
            char text[64];
            s_local_time (calendar, cmp_proto_due_at (clock), text,
                          sizeof (text));
            cmp_proto_set_due_local (clock, text);
        }
    }
    cmp_proto_destroy (&record);
    s_send (self->api_socket, envelope_p, &reply);
}

static void
s_api_replay (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t *request)
{
    uint64_t request_id = cmp_proto_request_id (request);
    size_t limit;
    if (s_page_limit (self, envelope_p, request, 100, self->replay_max,
                      "events/replay_max", &limit))
        return;
    uint64_t from =
      cmp_proto_has (request, "from") ? (uint64_t) cmp_proto_from (request) : 1;
    //  Read the last seq first: every event up to it is in the store
    uint64_t last = cmp_store_last_seq (self->store);
    zlistx_t *events = zlistx_new ();
    zlistx_set_destructor (events, s_chunk_destroy);
    if (cmp_store_events (self->store, from, limit, events)) {
        zlistx_destroy (&events);
        s_send_error (self, self->api_socket, envelope_p, request_id,
                      CMP_STATUS_INTERNAL, NULL, "the store could not be read");
        return;
    }
    cmp_proto_t *reply = cmp_proto_new (CMP_PROTO_EVENTS);
    cmp_proto_set_request_id (reply, request_id);
    cmp_proto_set_last_seq (reply, last);
    zchunk_t *event;
    while ((event = (zchunk_t *) zlistx_detach (events, NULL)))
        cmp_proto_add_raw (reply, &event);
    zlistx_destroy (&events);
    s_send (self->api_socket, envelope_p, &reply);
}

static int
s_handle_api (zloop_t *loop, zsock_t *socket, void *argument)
{
    (void) loop;
    cmp_server_t *self = (cmp_server_t *) argument;
    zmsg_t *msg;
    for (size_t count = 0;
         count < self->batch_max && (msg = s_recv_nowait (socket)); count++) {
        zframe_t *body = s_take_body (&msg);
        if (!body)
            continue;
        cmp_proto_t *request = s_decode (self, socket, &msg, &body);
        if (!request)
            continue;
        switch (cmp_proto_id (request)) {
            case CMP_PROTO_GET: s_api_get (self, &msg, request); break;
            case CMP_PROTO_LIST: s_api_list (self, &msg, request); break;
            case CMP_PROTO_REPLAY: s_api_replay (self, &msg, request); break;
            case CMP_PROTO_HISTORY: s_api_history (self, &msg, request); break;
            case CMP_PROTO_COUNT: s_api_count (self, &msg, request); break;
            case CMP_PROTO_ACT: s_api_act (self, &msg, &request); break;
            case CMP_PROTO_RELOAD: s_api_reload (self, &msg, request); break;
            case CMP_PROTO_SLA: s_api_sla (self, &msg, request); break;
            case CMP_PROTO_TICK: s_api_tick (self, &msg, &request); break;
            case CMP_PROTO_HEALTH:
                s_reply_status (self, socket, &msg, request);
                break;
            default: s_reply_not_served (self, socket, &msg, request, "api");
        }
        cmp_proto_destroy (&request);
        zmsg_destroy (&msg);
    }
    s_batch_dispatch (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Signals and cron

//  Reload the configuration and the rulebook, as a whole or not at all.
//  Returns 0, or -1 with the first problem in error.
static int
s_reload (cmp_server_t *self, char *error, size_t size)
{
    cmp_sd_notify_reloading ();
    const char *filename = cmp_config_filename (self->config);
    zsys_notice ("reloading the configuration%s%s", filename ? " from " : "",
                 filename ? filename : "");
    snprintf (error, size, "the configuration has errors (see the log)");
    cmp_config_t *fresh = cmp_config_new ();
    int rc = filename ? cmp_config_load (fresh, filename) : 0;
    if (rc == 0) {
        cmp_config_take_over (fresh, self->config);
        rc = cmp_config_validate (fresh);
    }
    cmp_rulebook_t *rulebook =
      rc == 0 ? s_rulebook_read (fresh, error, size) : NULL;
    if (rc || !rulebook) {
        zsys_warning ("reload refused: the configuration or the rules have "
                      "errors; the running ones stay");
        cmp_config_destroy (&fresh);
        rc = -1;
    } else {
        cmp_config_destroy (&self->config);
        self->config = fresh;
        cmp_rulebook_destroy (&self->rulebook_next);
        self->rulebook_next = rulebook;
        zsys_notice ("rules: %s", cmp_rulebook_summary (rulebook));
        s_configure (self);
        zsys_notice ("configuration reloaded");
    }
    cmp_sd_notify ("READY=1");
    return rc;
}

//  RELOAD: an admin asks for what SIGHUP does
static void
s_api_reload (cmp_server_t *self, zmsg_t **envelope_p, cmp_proto_t *request)
{
    cmp_proto_fault_t fault;
    memset (&fault, 0, sizeof (fault));
    if (cmp_case_may (self->cases, cmp_proto_actor (request), "reload",
                      &fault)) {
        s_send_error (self, self->api_socket, envelope_p,
                      cmp_proto_request_id (request), fault.status, fault.field,
                      fault.text);
        return;
    }
    zsys_notice ("reload asked by %s", cmp_proto_actor (request));
    char error[512];
    if (s_reload (self, error, sizeof (error))) {
        char text[600];
        snprintf (text, sizeof (text),
                  "rules: reload refused, the running rules stay: %s", error);
        s_send_error (self, self->api_socket, envelope_p,
                      cmp_proto_request_id (request), CMP_STATUS_INVALID,
                      "rules", text);
        return;
    }
    cmp_triage_t *triage = cmp_rulebook_triage (
      self->rulebook_next ? self->rulebook_next : self->rulebook);
    cmp_proto_t *reply = cmp_proto_new (CMP_PROTO_RELOADED);
    cmp_proto_set_request_id (reply, cmp_proto_request_id (request));
    cmp_proto_set_rules (reply, triage ? cmp_triage_version (triage) : NULL);
    cmp_proto_set_message (reply, cmp_rulebook_summary (self->rulebook_next
                                                          ? self->rulebook_next
                                                          : self->rulebook));
    s_send (self->api_socket, envelope_p, &reply);
}

static int
s_handle_signal (zloop_t *loop, zmq_pollitem_t *item, void *argument)
{
    (void) loop;
    cmp_server_t *self = (cmp_server_t *) argument;
    struct signalfd_siginfo info;
    while (read (item->fd, &info, sizeof (info)) == sizeof (info)) {
        if (info.ssi_signo == SIGHUP) {
            char error[512];
            s_reload (self, error, sizeof (error));
        } else {
            zsys_notice ("%s received, stopping",
                         info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            cmp_sd_notify ("STOPPING=1");
            return -1;
        }
    }
    return 0;
}

//  Queue the daemon's own ACT (archive, purge) on every complaint in state
//  unchanged since before cutoff, up to 256 per sweep and state
static void
s_sweep (cmp_server_t *self,
         const char *state,
         int64_t cutoff,
         const char *action,
         const char *reason)
{
    zlistx_t *records = zlistx_new ();
    zlistx_set_destructor (records, s_chunk_destroy);
    cmp_store_query_t query = {{state}, NULL, 0, INT64_MAX, 0, cutoff, 0};
    byte next[CMP_STORE_CURSOR_SIZE];
    bool more;
    if (cmp_store_query (self->store, &query, NULL, 256, records, next, &more,
                         NULL))
        zlistx_purge (records);
    cmp_writer_batch_t *batch = self->gathering;
    zchunk_t *chunk;
    while ((chunk = (zchunk_t *) zlistx_detach (records, NULL))) {
        cmp_proto_t *record = cmp_proto_decode_map (
          CMP_PROTO_COMPLAINT, zchunk_data (chunk), zchunk_size (chunk));
        zchunk_destroy (&chunk);
        if (record && batch->size < BATCH_CAPACITY) {
            cmp_proto_t *act = cmp_proto_new (CMP_PROTO_ACT);
            cmp_proto_set_actor (act, CMP_CASE_SYSTEM);
            cmp_proto_set_action (act, action);
            cmp_proto_set_complaint_id (act, cmp_proto_complaint_id (record));
            cmp_proto_set_version (act, cmp_proto_version (record));
            cmp_proto_set_reason (act, reason);
            cmp_writer_item_t *item = &batch->items[batch->size++];
            memset (item, 0, sizeof (*item));
            item->request = act;
            self->sweeping = true;
        }
        cmp_proto_destroy (&record);
    }
    zlistx_destroy (&records);
}

//  Archive what has been closed, withdrawn or merged for archive/after,
//  and purge what has been archived for archive/keep if archive/purge:
//  the daemon's own requests, applied in the next batch like any other
static int
s_handle_sweep (zloop_t *loop, int timer_id, void *argument)
{
    (void) loop;
    (void) timer_id;
    cmp_server_t *self = (cmp_server_t *) argument;
    if (self->sweeping)
        return 0;
    int64_t now = cmp_clock_now ();
    if (self->archive_after) {
        const char *reason = "unchanged for archive/after";
        s_sweep (self, "closed", now - self->archive_after, "archive", reason);
        s_sweep (self, "withdrawn", now - self->archive_after, "archive",
                 reason);
        s_sweep (self, "merged", now - self->archive_after, "archive", reason);
    }
    if (self->archive_keep)
        s_sweep (self, "archived", now - self->archive_keep, "purge",
                 "archived for archive/keep, and archive/purge is on");
    s_batch_dispatch (self);
    return 0;
}

static int
s_handle_cron (zloop_t *loop, int timer_id, void *argument)
{
    (void) loop;
    (void) timer_id;
    cmp_server_t *self = (cmp_server_t *) argument;
    //  A commit that hangs (a stuck disk) must not look alive: keep quiet
    //  and let the service manager restart us
    if (self->writing && self->watchdog
        && zclock_mono () - self->write_started > self->watchdog) {
        zsys_warning ("a commit has been running for %" PRId64
                      " ms; not telling the watchdog we are alive",
                      zclock_mono () - self->write_started);
        return 0;
    }
    cmp_sd_notify ("WATCHDOG=1");
    return 0;
}

//  --------------------------------------------------------------------------
//  Create and destroy

cmp_server_t *
cmp_server_new (cmp_config_t **config_p)
{
    assert (config_p && *config_p);
    cmp_server_t *self = (cmp_server_t *) zmalloc (sizeof (cmp_server_t));
    assert (self);
    self->config = *config_p;
    *config_p = NULL;
    self->signal_fd = -1;
    self->sweep_timer = -1;
    self->due_timer = -1;
    int64_t test_clock = cmp_config_number (self->config, "clock/test");
    if (test_clock) {
        cmp_clock_test (test_clock);
        zsys_warning ("clock/test: the clock is a test clock, now %" PRId64
                      "; only TICK moves it",
                      test_clock);
    }
    self->started = zclock_mono ();
    self->max_request =
      (size_t) cmp_config_number (self->config, "limits/max_request");
    s_configure (self);

    self->store = cmp_store_new (
      cmp_config_string (self->config, "store/path"),
      (size_t) cmp_config_number (self->config, "store/map_size"),
      (size_t) cmp_config_number (self->config, "store/map_max"));
    if (!self->store)
        goto failed;
    zsys_notice (
      "store %s: %" PRIu64 " complaints, last event %" PRIu64 ", map %zu bytes",
      cmp_config_string (self->config, "store/path"),
      cmp_store_count (self->store), cmp_store_last_seq (self->store),
      cmp_store_map_size (self->store));
    self->intake = cmp_intake_new (self->config);
    self->rulebook = s_rulebook_read (self->config, NULL, 0);
    if (!self->rulebook)
        goto failed;
    zsys_notice ("rules: %s", cmp_rulebook_summary (self->rulebook));
    for (int index = 0; index < 3; index++) {
        cmp_writer_batch_t *batch = &self->batches[index];
        batch->store = self->store;
        batch->intake = self->intake;
        batch->items = (cmp_writer_item_t *) zmalloc (
          BATCH_CAPACITY * sizeof (cmp_writer_item_t));
        assert (batch->items);
        batch->fired = zlistx_new ();
        assert (batch->fired);
        zlistx_set_destructor (batch->fired, cmp_case_event_free);
    }
    self->gathering = &self->batches[0];
    self->writer = cmp_writer_new ();
    assert (self->writer);

    //  Sockets passed by systemd (complaintd.socket) are adopted by czmq
    //  when their address matches the endpoint
    if (cmp_sd_listen_fds ())
        zsys_set_auto_use_fd (1);
    //  Frames above 4x the request limit are dropped by ZeroMQ; between
    //  the two they get a TOO_LARGE reply
    int maxmsgsize = (int) (4 * self->max_request);
    self->intake_socket =
      s_bind (ZMQ_ROUTER, cmp_config_string (self->config, "server/intake"),
              maxmsgsize);
    self->api_socket = s_bind (
      ZMQ_ROUTER, cmp_config_string (self->config, "server/api"), maxmsgsize);
    self->events_socket =
      s_bind (ZMQ_PUB, cmp_config_string (self->config, "server/events"), 0);
    if (!self->intake_socket || !self->api_socket || !self->events_socket)
        goto failed;

    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGHUP);
    self->signal_fd = signalfd (-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->signal_fd == -1) {
        zsys_error ("signalfd: %s", strerror (errno));
        goto failed;
    }

    self->loop = zloop_new ();
    assert (self->loop);
    zloop_set_nonstop (self->loop, true);
    zloop_reader (self->loop, self->intake_socket, s_handle_intake, self);
    zloop_reader (self->loop, self->api_socket, s_handle_api, self);
    zloop_reader (self->loop, zactor_sock (self->writer), s_handle_writer,
                  self);
    zmq_pollitem_t item = {NULL, self->signal_fd, ZMQ_POLLIN, 0};
    zloop_poller (self->loop, &item, s_handle_signal, self);
    uint64_t watchdog = cmp_sd_watchdog_usec ();
    self->watchdog = (int64_t) (watchdog / 1000);
    size_t interval = watchdog ? (size_t) (watchdog / 2000) : 1000;
    zloop_timer (self->loop, interval ? interval : 1, 0, s_handle_cron, self);
    self->sweep_timer = zloop_timer (self->loop, (size_t) self->archive_sweep,
                                     0, s_handle_sweep, self);
    //  Deadlines that passed while the daemon was down fire first
    s_timer_arm (self);
    zsys_notice ("deadlines: %" PRIu64 " complaints with pending points",
                 cmp_store_timers (self->store));
    s_batch_dispatch (self);
    return self;

failed:
    cmp_server_destroy (&self);
    return NULL;
}

void
cmp_server_destroy (cmp_server_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        cmp_server_t *self = *self_p;
        zloop_destroy (&self->loop);
        if (self->signal_fd != -1)
            close (self->signal_fd);
        //  The writer goes before the store it writes to
        zactor_destroy (&self->writer);
        for (int index = 0; index < 3; index++) {
            s_batch_clear (&self->batches[index]);
            free (self->batches[index].items);
            zlistx_destroy (&self->batches[index].fired);
        }
        zsock_destroy (&self->events_socket);
        zsock_destroy (&self->api_socket);
        zsock_destroy (&self->intake_socket);
        cmp_intake_destroy (&self->intake);
        cmp_case_destroy (&self->cases);
        cmp_case_destroy (&self->cases_next);
        cmp_rulebook_destroy (&self->rulebook);
        cmp_rulebook_destroy (&self->rulebook_next);
        cmp_store_destroy (&self->store);
        cmp_config_destroy (&self->config);
        free (self);
        *self_p = NULL;
    }
}

int
cmp_server_run (cmp_server_t *self)
{
    assert (self);
    zsys_notice ("ready");
    cmp_sd_notify ("READY=1");
    zloop_start (self->loop);
    //  Finish the batches in hand: commit, reply, publish
    s_batch_finish (self);
    return self->failed ? -1 : 0;
}
