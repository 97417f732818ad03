"""Integration test harness for complaintd.

A Daemon is the real complaintd started on free TCP ports of 127.0.0.1 with
a generated ZPL configuration and its store in a temporary directory. Its
log (what it writes on stdout and stderr) goes to a file there. It is ready
when its log says "ready"; it is waited for with a bounded retry, never with
a fixed sleep. stop() sends SIGTERM and asserts exit status 0.

The runner (run.py) calls begin_test() and end_test() around each test:
end_test() kills what a test left running and removes its temporary
directories, after the runner has printed their logs if the test failed.

Environment:
    COMPLAINTD_BUILD    directory holding complaintd and complaintctl
                        (default "build", relative to the working directory
                        or, failing that, to the top of the source tree)
    COMPLAINTD_WRAPPER  command prefix for the daemon, for example
                        "valgrind --leak-check=full --error-exitcode=1 -q";
                        timeouts are then longer
    COMPLAINTD_OPTIONS  options for every complaintd run, ahead of the
                        test's own, for example "-o triage/jit=false"
    COMPLAINTD_TIMEOUT_SCALE  multiply every timeout by this factor
    COMPLAINTD_TEST_SEED      seed of the tests that use random data
"""

import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import msgpack
import zmq

# --------------------------------------------------------------------------
#  Settings taken from the environment

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _build_dir():
    build = os.environ.get("COMPLAINTD_BUILD") or "build"
    if os.path.isabs(build) or os.path.isdir(build):
        return os.path.abspath(build)
    return os.path.join(TOP, build)


BUILD = _build_dir()
COMPLAINTD = os.path.join(BUILD, "complaintd")
COMPLAINTCTL = os.path.join(BUILD, "complaintctl")
WRAPPER = shlex.split(os.environ.get("COMPLAINTD_WRAPPER", ""))
OPTIONS = shlex.split(os.environ.get("COMPLAINTD_OPTIONS", ""))
SCALE = float(os.environ.get("COMPLAINTD_TIMEOUT_SCALE")
              or (10 if WRAPPER else 1))

#  Base timeouts, seconds (multiplied by SCALE)
READY_TIMEOUT = 10.0
CALL_TIMEOUT = 10.0
EXIT_TIMEOUT = 10.0

CHANNELS = ("phone", "email", "web", "counter", "letter", "social")
EVENT_KEYS = {"seq", "topic", "at", "id", "number", "channel", "state",
              "department"}
#  Keys of a SUBMIT that an event must never carry
PERSONAL_KEYS = {"complainant", "name", "phone", "email", "relation",
                 "staff", "description", "demands", "ref", "attachments"}
TOPIC = "complaint.created"


#  Reports of AddressSanitizer, UndefinedBehaviorSanitizer and valgrind in a
#  log or in a program's stderr
SANITIZER_REPORT = re.compile(
    r"runtime error:|ERROR: \w+Sanitizer|WARNING: \w+Sanitizer|"
    r"^==\d+== (Invalid|Conditional jump|Use of uninitialised|Syscall param|"
    r"Mismatched|Source and destination overlap|\d+ bytes in \d+ blocks are "
    r"definitely)", re.MULTILINE)


def assert_no_sanitizer_report(text, what):
    match = SANITIZER_REPORT.search(text)
    assert not match, "%s reports: %s" % (
        what, text[max(0, match.start() - 200):match.start() + 2000])


def scaled(seconds):
    return seconds * SCALE


class SkipTest(Exception):
    """Raised by a test that cannot run here; the runner counts it as
    skipped."""


# --------------------------------------------------------------------------
#  Per-test bookkeeping

_lock = threading.Lock()
_daemons = []       # Daemons created by the running test
_tempdirs = []      # Temporary directories to remove after the test
_context = None     # One zmq context per test


def context():
    global _context
    with _lock:
        if _context is None:
            _context = zmq.Context()
        return _context


def begin_test():
    global _context
    with _lock:
        _daemons.clear()
        _tempdirs.clear()
    _context = None


def logs():
    """(label, text) for each daemon of the running test."""
    result = []
    for daemon in list(_daemons):
        result.append((daemon.label, daemon.log_text()))
    return result


def end_test():
    """Kill what is still running, close sockets, remove temp dirs."""
    global _context
    for daemon in list(_daemons):
        try:
            daemon.close_clients()
            if daemon.running():
                daemon.kill()
        except Exception:
            pass
    if _context is not None:
        _context.destroy(linger=0)
        _context = None
    for path in list(_tempdirs):
        shutil.rmtree(path, ignore_errors=True)
    with _lock:
        _daemons.clear()
        _tempdirs.clear()


def tempdir(prefix="complaintd-test-"):
    path = tempfile.mkdtemp(prefix=prefix)
    with _lock:
        _tempdirs.append(path)
    return path


def random_seed():
    """A random seed, or COMPLAINTD_TEST_SEED to repeat a run; printed."""
    value = os.environ.get("COMPLAINTD_TEST_SEED")
    value = int(value) if value else random.randrange(1 << 30)
    note("seed %d (COMPLAINTD_TEST_SEED=%d repeats it)" % (value, value))
    return value


def note(text):
    """Print a line of test output, indented under the test."""
    print("    " + text, flush=True)


# --------------------------------------------------------------------------
#  Waiting

def wait_for(condition, timeout, what, interval=0.01):
    """Poll condition() until it returns a true value; return that value.
    Fails after timeout seconds (scaled)."""
    deadline = time.monotonic() + scaled(timeout)
    delay = interval
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s"
                                 % (scaled(timeout), what))
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)


def free_ports(count):
    """Ports the kernel gives for port 0, all held until all are found so
    that they differ."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


# --------------------------------------------------------------------------
#  Bodies

def pack(body):
    """A body as bytes: bytes pass through, anything else is packed."""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    return msgpack.packb(body, use_bin_type=True)


def unpack(frame):
    return msgpack.unpackb(frame, raw=False, strict_map_key=False)


# Actors of the roles every test daemon has (Daemon.settings adds them)
READER = "tester"
ROLES = {
    "roles/adapter": "gateway",
    "roles/agent": "li.na,zhang.min",
    "roles/supervisor": "wang.wei,chen.jie",
    "roles/auditor": READER,
    "roles/admin": "root.ops",
}

# Requests that name their actor; request() adds READER when none is given
_READS = ("GET", "LIST", "HISTORY", "COUNT", "SLA")


def request(type_, request_id, fields=None):
    fields = {} if fields is None else dict(fields)
    if type_ in _READS and "actor" not in fields:
        fields["actor"] = READER
    return ["CMP", 1, type_, request_id, fields]


_request_ids = iter(range(1000, 1 << 62))
_request_ids_lock = threading.Lock()


def next_request_id():
    with _request_ids_lock:
        return next(_request_ids)


def submit_fields(ref, channel="web", description=None, **extra):
    """A valid SUBMIT fields map; extra keys are added or replace."""
    fields = {
        "channel": channel,
        "ref": ref,
        "complainant": {"name": "李伟", "phone": "+86 138 0013 8000"},
        "description": description if description is not None
        else "等了三个小时 — waited three hours for ref %s" % ref,
    }
    fields.update(extra)
    return fields


def assert_error(reply, status, code, field=None, request_id=None,
                 message=None):
    """reply is an ERROR with this status, code and field (None: no field);
    request_id is checked when given, message is a substring of the
    message."""
    assert isinstance(reply, list) and len(reply) == 5, \
        "reply is not a 5-array: %r" % (reply,)
    assert reply[0] == "CMP" and reply[1] == 1, "bad reply header %r" % reply
    assert reply[2] == "ERROR", "expected ERROR %d, got %r" % (status, reply)
    fields = reply[4]
    assert fields.get("status") == status, \
        "expected status %d, got %r" % (status, reply)
    assert fields.get("code") == code, \
        "expected code %s, got %r" % (code, reply)
    assert isinstance(fields.get("message"), str) and fields["message"], \
        "ERROR without message: %r" % reply
    assert fields.get("field") == field, \
        "expected field %r, got %r" % (field, reply)
    if request_id is not None:
        assert reply[3] == request_id, \
            "request_id %r not echoed: %r" % (request_id, reply)
    if message is not None:
        assert message in fields["message"], \
            "message should mention %r: %r" % (message, fields["message"])
    return fields


def assert_reply(reply, type_, request_id=None):
    assert isinstance(reply, list) and len(reply) == 5, \
        "reply is not a 5-array: %r" % (reply,)
    assert reply[0] == "CMP" and reply[1] == 1, "bad reply header %r" % reply
    assert reply[2] == type_, "expected %s, got %r" % (type_, reply)
    assert isinstance(reply[4], dict)
    if request_id is not None:
        assert reply[3] == request_id, \
            "request_id %r not echoed: %r" % (request_id, reply)
    return reply[4]


RECORD_KEYS = {"id", "number", "channel", "ref", "received_at",
               "complained_at", "state", "version", "complainant", "subject",
               "description", "demands", "attachments", "tags"}
ASSIGNED_KEYS = {"id", "number", "received_at", "complained_at", "state",
                 "version"}


def assert_record(record, fields, submitted=None):
    """A stored complaint record holds exactly what fields submitted, plus
    what the daemon assigns. (Keys the protocol does not define are
    ignored: later minor versions may add some.)"""
    expected = set(fields) | ASSIGNED_KEYS
    assert set(record) & RECORD_KEYS == expected, \
        "record keys %s, expected %s" % (sorted(record), sorted(expected))
    for key, value in fields.items():
        assert record[key] == value, \
            "%s: stored %r, submitted %r" % (key, record[key], value)
    #  With triage on (the default), the rules may have triaged it
    assert record["state"] in ("registered", "triaged"), record["state"]
    assert record["version"] == 1
    assert re.fullmatch(r"\d{8}-\d{6}", record["number"]), record["number"]
    if "complained_at" not in fields:
        assert record["complained_at"] == record["received_at"]
    if submitted is not None:
        assert record["id"] == submitted["id"]
        assert record["number"] == submitted["number"]
        assert record["received_at"] == submitted["received_at"]


# --------------------------------------------------------------------------
#  A ZeroMQ client socket

class Client:
    """A DEALER (or REQ) socket connected to one endpoint. monitor: socket
    events (zmq.EVENT_*) to report on self.monitor, from before the
    connection."""

    def __init__(self, endpoint, socket_type=zmq.DEALER, monitor=0):
        self.endpoint = endpoint
        self.socket = context().socket(socket_type)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.SNDHWM, 100000)
        self.socket.setsockopt(zmq.RCVHWM, 100000)
        self.monitor = None
        if monitor:
            self.monitor = self.socket.get_monitor_socket(monitor)
        self.socket.connect(endpoint)

    def send(self, body, envelope=()):
        frames = [bytes(frame) for frame in envelope] + [pack(body)]
        self.socket.send_multipart(frames)

    def recv_frames(self, timeout=None):
        """The next reply's frames, or None after timeout (scaled)."""
        timeout = CALL_TIMEOUT if timeout is None else timeout
        if self.socket.poll(int(scaled(timeout) * 1000), zmq.POLLIN):
            return self.socket.recv_multipart()
        return None

    def recv(self, timeout=None):
        """The next reply's body, decoded; fails after timeout."""
        frames = self.recv_frames(timeout)
        assert frames is not None, "no reply from %s" % self.endpoint
        return unpack(frames[-1])

    def call(self, body, envelope=(), timeout=None):
        """Send a body and return the decoded reply body. The reply must
        carry the envelope back unchanged."""
        self.send(body, envelope)
        frames = self.recv_frames(timeout)
        assert frames is not None, \
            "no reply from %s within %.1f s" % (
                self.endpoint, scaled(CALL_TIMEOUT if timeout is None
                                      else timeout))
        assert frames[:-1] == [bytes(frame) for frame in envelope], \
            "envelope not returned: sent %r, got %r" % (list(envelope),
                                                        frames[:-1])
        return unpack(frames[-1])

    def close(self):
        if self.monitor is not None:
            self.socket.disable_monitor()
            self.monitor.close(linger=0)
        self.socket.close(linger=0)


# --------------------------------------------------------------------------
#  The daemon

class Daemon:
    """complaintd on free ports, with its store in a temporary directory.

    settings: {"section/key": "value"} written to the configuration on top
    of the endpoints and store/path. start=False leaves it stopped. env:
    variables added to the daemon's environment (self.env, changeable
    between starts)."""

    def __init__(self, settings=None, start=True, args=(), label=None,
                 env=None):
        self.dir = tempdir()
        self.data = os.path.join(self.dir, "data")
        self.config_path = os.path.join(self.dir, "complaintd.cfg")
        self.log_path = os.path.join(self.dir, "complaintd.log")
        ports = free_ports(3)
        self.ports = ports
        self.intake = "tcp://127.0.0.1:%d" % ports[0]
        self.api = "tcp://127.0.0.1:%d" % ports[1]
        self.events = "tcp://127.0.0.1:%d" % ports[2]
        self.settings = dict(ROLES)
        self.settings.update(settings or {})
        self.args = list(args)
        self.env = dict(env or {})
        self.proc = None
        self.label = label or "complaintd"
        self._clients = {}
        self._ready_from = 0
        with _lock:
            _daemons.append(self)
        self.write_config()
        if start:
            self.start()

    # -- configuration -----------------------------------------------------

    def config_text(self, settings=None, extra_lines=""):
        values = {
            "server/intake": self.intake,
            "server/api": self.api,
            "server/events": self.events,
            "store/path": self.data,
        }
        values.update(self.settings)
        if settings:
            values.update(settings)
        sections = {}
        for path, value in values.items():
            section, key = path.split("/", 1)
            sections.setdefault(section, []).append((key, value))
        text = "#   Generated by the integration tests\n"
        for section, keys in sections.items():
            text += section + "\n"
            for key, value in keys:
                text += "    %s = %s\n" % (key, value)
        return text + extra_lines

    def write_config(self, settings=None, text=None, extra_lines=""):
        """Write the configuration file: text as given, or the endpoints,
        store/path, self.settings and settings."""
        if text is None:
            text = self.config_text(settings, extra_lines)
        with open(self.config_path, "w", encoding="utf-8") as file:
            file.write(text)

    # -- process -----------------------------------------------------------

    def command(self, args=None):
        return WRAPPER + [COMPLAINTD] + OPTIONS + ["-c", self.config_path] + \
            (self.args if args is None else list(args))

    def start(self, args=None, prefix=(), wait=True):
        """Start the daemon (prefix: a command that execs it, such as a
        socket activator) and wait for "ready"."""
        assert not self.running(), "already running"
        self.close_clients()
        self._ready_from = self.log_size()
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                list(prefix) + self.command(args), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
                env=dict(os.environ, **self.env))
        finally:
            log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=READY_TIMEOUT):
        def ready():
            if re.search(r"\bready\s*$", self.log_text(self._ready_from),
                         re.MULTILINE):
                return True
            if self.proc.poll() is not None:
                raise AssertionError(
                    "complaintd exited with status %s before it was ready"
                    % self.proc.returncode)
            return False
        wait_for(ready, timeout, "complaintd to log \"ready\"")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def signal(self, signum):
        assert self.running(), "complaintd is not running"
        self.proc.send_signal(signum)

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        try:
            return self.proc.wait(scaled(timeout))
        except subprocess.TimeoutExpired:
            raise AssertionError("complaintd did not exit within %.1f s"
                                 % scaled(timeout))

    def stop(self, expect=0):
        """SIGTERM; the daemon must exit with status expect."""
        self.close_clients()
        self.signal(signal.SIGTERM)
        status = self.wait_exit()
        assert_no_sanitizer_report(self.log_text(), "the daemon log")
        assert status == expect, \
            "complaintd exited with status %s after SIGTERM, expected %s" % (
                status, expect)
        return status

    def kill(self):
        """SIGKILL, and reap."""
        self.close_clients()
        if self.running():
            self.proc.kill()
        self.proc.wait()

    def restart(self, args=None):
        """Stop (SIGTERM, exit 0) if running, then start on the same
        directory and ports."""
        if self.running():
            self.stop()
        return self.start(args)

    # -- log ---------------------------------------------------------------

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_text(self, offset=0):
        try:
            with open(self.log_path, "rb") as file:
                file.seek(offset)
                return file.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, pattern, offset=0, timeout=READY_TIMEOUT):
        """Wait until the log, from offset on, matches the regex; return
        the match."""
        regex = re.compile(pattern, re.MULTILINE)
        return wait_for(lambda: regex.search(self.log_text(offset)), timeout,
                        "the log to show %r" % pattern)

    # -- complaintctl ------------------------------------------------------

    def ctl(self, *args, timeout=None, endpoints=True, actor=READER):
        """Run complaintctl with this daemon's endpoints and --actor actor
        (None: no --actor; complaintctl then takes $COMPLAINT_ACTOR or the
        login name, and submit names an actor only if $COMPLAINT_ACTOR
        does); returns (exit status, stdout, stderr)."""
        command = [COMPLAINTCTL]
        if endpoints:
            command += ["--intake", self.intake, "--api", self.api,
                        "--events", self.events,
                        "--timeout", str(int(scaled(CALL_TIMEOUT) * 1000))]
        if actor is not None:
            command += ["--actor", actor]
        command += [str(arg) for arg in args]
        return run(command, timeout=timeout)

    def ctl_json(self, *args, timeout=None, actor=READER):
        """complaintctl --json ARGS, which must succeed; returns the parsed
        objects, one per output line."""
        status, out, err = self.ctl("--json", *args, timeout=timeout,
                                    actor=actor)
        assert status == 0, "complaintctl %s: exit %d: %s" % (
            " ".join(map(str, args)), status, err)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    # -- raw requests ------------------------------------------------------

    def endpoint(self, name):
        return {"intake": self.intake, "api": self.api,
                "events": self.events}[name]

    def client(self, name="intake"):
        """A DEALER on the named endpoint, kept until the daemon stops."""
        if name not in self._clients:
            self._clients[name] = Client(self.endpoint(name))
        return self._clients[name]

    def close_clients(self):
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def call(self, body, endpoint="intake", envelope=(), timeout=None):
        """Send body (bytes, or an object packed with msgpack) on a DEALER
        and return the decoded reply array."""
        return self.client(endpoint).call(body, envelope, timeout)

    def health(self, endpoint="api"):
        request_id = next_request_id()
        reply = self.call(request("HEALTH", request_id), endpoint)
        fields = assert_reply(reply, "STATUS", request_id)
        return fields

    def submit(self, fields, request_id=None):
        """SUBMIT fields; returns the reply array."""
        request_id = next_request_id() if request_id is None else request_id
        reply = self.call(request("SUBMIT", request_id, fields), "intake")
        assert reply[3] == request_id, "request_id not echoed: %r" % reply
        return reply

    def submit_ok(self, fields, duplicate=False):
        """SUBMIT fields, which must be stored; returns SUBMITTED's
        fields."""
        reply = self.submit(fields)
        result = assert_reply(reply, "SUBMITTED")
        assert result["duplicate"] is duplicate, \
            "duplicate should be %s: %r" % (duplicate, reply)
        return result

    def get(self, id=None, number=None):
        """GET by id or number; returns the reply array."""
        fields = {}
        if id is not None:
            fields["id"] = id
        if number is not None:
            fields["number"] = number
        request_id = next_request_id()
        reply = self.call(request("GET", request_id, fields), "api")
        assert reply[3] == request_id, "request_id not echoed: %r" % reply
        return reply

    def get_record(self, id=None, number=None):
        reply = self.get(id, number)
        fields = assert_reply(reply, "COMPLAINT")
        assert "complaint" in fields, reply
        return fields["complaint"]

    def replay(self, start=None, limit=None):
        fields = {}
        if start is not None:
            fields["from"] = start
        if limit is not None:
            fields["limit"] = limit
        request_id = next_request_id()
        reply = self.call(request("REPLAY", request_id, fields), "api")
        return assert_reply(reply, "EVENTS", request_id)

    def replay_all(self, page=1000):
        """Every stored event, through REPLAY pages."""
        events = []
        start = 1
        while True:
            fields = self.replay(start, page)
            events += fields["events"]
            if not fields["events"] or events[-1]["seq"] >= fields["last"]:
                return events, fields["last"]
            start = events[-1]["seq"] + 1

    def list_all(self, **query):
        """Every complaint through LIST pages."""
        items = []
        after = None
        for _ in range(100000):
            fields = dict(query)
            if after is not None:
                fields["after"] = after
            request_id = next_request_id()
            reply = self.call(request("LIST", request_id, fields), "api")
            page = assert_reply(reply, "COMPLAINTS", request_id)
            items += page["items"]
            after = page.get("next")
            if after is None:
                return items
        raise AssertionError("LIST never ended")


# --------------------------------------------------------------------------
#  A worker's SUB socket

class Subscriber:
    """A SUB socket on the events endpoint, subscribed to prefix."""

    def __init__(self, daemon, prefix=b"complaint."):
        self.socket = context().socket(zmq.SUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVHWM, 100000)
        self.socket.setsockopt(zmq.SUBSCRIBE, prefix)
        self.socket.connect(daemon.events)
        self.last_raw = None

    def recv(self, timeout=None):
        """(topic, decoded body) of the next event, or None after
        timeout."""
        timeout = CALL_TIMEOUT if timeout is None else timeout
        if not self.socket.poll(int(scaled(timeout) * 1000), zmq.POLLIN):
            return None
        frames = self.socket.recv_multipart()
        assert len(frames) == 2, "event of %d frames: %r" % (len(frames),
                                                             frames)
        return frames[0].decode("utf-8"), unpack(frames[1]), frames[1]

    def event(self, timeout=None):
        """The next event's map, checked: 2 frames, topic, body header."""
        received = self.recv(timeout)
        assert received is not None, "no event within %.1f s" % scaled(
            CALL_TIMEOUT if timeout is None else timeout)
        topic, body, raw = received
        self.last_raw = raw
        assert topic == TOPIC, "topic %r" % topic
        assert body[:4] == ["CMP", 1, "EVENT", 0], "event header %r" % body
        event = body[4]
        assert not set(event) & PERSONAL_KEYS, "personal data: %r" % event
        assert EVENT_KEYS - {"department"} <= set(event), \
            "missing keys: %r" % event
        assert event["topic"] == TOPIC, event
        return event

    def wait_live(self, daemon, timeout=READY_TIMEOUT):
        """Submit probe complaints until the subscription delivers the
        event of one of them (a new SUB misses what is published before its
        subscription reaches the daemon). Returns that event: every later
        event arrives after it, in order."""
        deadline = time.monotonic() + scaled(timeout)
        probe = 0
        while time.monotonic() < deadline:
            probe += 1
            reply = daemon.submit_ok(submit_fields(
                "probe-%d-%d" % (os.getpid(), next_request_id()), "web",
                description="probe %d" % probe))
            wait_until = time.monotonic() + scaled(0.2)
            while time.monotonic() < wait_until:
                received = self.recv(0.05)
                if received and received[1][4].get("id") == reply["id"]:
                    return received[1][4]
        raise AssertionError("the subscription never delivered an event")

    def close(self):
        self.socket.close(linger=0)


# --------------------------------------------------------------------------
#  Commands

def run(command, timeout=None, input=None):
    """Run a command; returns (exit status, stdout, stderr) as text."""
    timeout = scaled(30 if timeout is None else timeout)
    try:
        done = subprocess.run(command, input=input, capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise AssertionError("%s did not finish within %.1f s; stdout: %s"
                             % (" ".join(command), timeout,
                                (error.stdout or b"").decode(
                                    "utf-8", "replace")[-2000:]))
    stderr = done.stderr.decode("utf-8", "replace")
    assert_no_sanitizer_report(stderr, " ".join(command[:3]))
    return (done.returncode, done.stdout.decode("utf-8", "replace"), stderr)


def run_daemon(*args, timeout=None):
    """Run complaintd with args (not as a server: --version, --help,
    --check-config); returns (status, stdout, stderr)."""
    return run(WRAPPER + [COMPLAINTD] + OPTIONS + [str(arg) for arg in args],
               timeout=timeout)


def python():
    """The interpreter running the tests (it has zmq and msgpack)."""
    return sys.executable
