#!/usr/bin/python3
"""sioclient.py - drive python-socketio's Client (Debian's python3-socketio)
against a Socket.IO server and print ONE final JSON line on stdout:

    {"ok": true, ...}                  exit code 0
    {"ok": false, "error": "..."}      exit code 1

Every run ends within --timeout seconds: a timer prints the failure line and
exits the process (os._exit), whatever the client's threads are doing.

Usage:
    /usr/bin/python3 sioclient.py --url http://127.0.0.1:PORT \
        --transports polling,websocket --scenario echo [--timeout 20]

Scenarios (the server side is protocol/socketio/python_interop_test.go):
    echo               connect "/" and "/custom" with auth {"token": "py"};
                       receive "auth" on both; answer the server's
                       "server-ack" with its arguments and "done"; emit
                       "message" (JSON and binary arguments, a 200000
                       character string, non-ASCII text) and expect the same
                       back as "message-back"; emit "message-with-ack" on
                       "/" and on "/custom" and expect the same as the ack;
                       then disconnect.
    connect-error      connect with auth {"token": "bad"}; expect a
                       connect_error.
    invalid-namespace  connect "/random"; expect a connect_error.
    server-disconnect  connect "/" and "/custom"; emit "kick" on "/custom"
                       and expect its "disconnect" while "/" still answers
                       an ack; then emit "kick" on "/" and expect its
                       "disconnect" and the Engine.IO connection to end.
    burst              connect "/", emit "burst" with --count N; expect N
                       "tick" events (0..N-1, each once). Over polling the
                       server batches them, and python-engineio refuses a
                       payload of more than 16 packets unless
                       --max-decode-packets raises its limit.

Result fields besides "ok": "versions" (the client's packages), "ms" (the
run time) and, per scenario, what the client saw. Binary values are
reported as {"$binary": "<base64>"}.
"""

import argparse
import base64
import json
import os
import queue
import sys
import threading
import time
from importlib.metadata import version

import engineio.payload
import socketio

START = time.monotonic()
PACKAGES = ["python-socketio", "python-engineio", "websocket-client", "requests"]

_finished = threading.Lock()


def finish(result):
    """Print the final line and exit. Only the first call prints."""
    if not _finished.acquire(blocking=False):
        return
    result["ms"] = int((time.monotonic() - START) * 1000)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    # The client's read and write loops are non-daemon threads that may be
    # blocked in a request: do not wait for them.
    os._exit(0 if result.get("ok") else 1)


def fail(message):
    finish({"ok": False, "error": message})


def encode(v):
    """A received value as plain JSON: bytes become {"$binary": base64}."""
    if isinstance(v, (bytes, bytearray)):
        return {"$binary": base64.b64encode(bytes(v)).decode("ascii")}
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        return {k: encode(x) for k, x in v.items()}
    return v


def describe(v):
    s = json.dumps(encode(v))
    return s if len(s) <= 300 else "%s...(%d chars)" % (s[:300], len(s))


def expect(what, got, want):
    if encode(list(got)) != encode(list(want)):
        raise AssertionError("%s: got %s, want %s" % (what, describe(got), describe(want)))


class Inbox:
    """Events recorded as they arrive, per (namespace, event), so that an
    event the server sends right after the connection is not lost."""

    def __init__(self, deadline):
        self.deadline = deadline
        self.queues = {}
        self.lock = threading.Lock()

    def queue(self, ns, event):
        with self.lock:
            return self.queues.setdefault((ns, event), queue.Queue())

    def put(self, ns, event, args):
        self.queue(ns, event).put(args)

    def next(self, ns, event):
        try:
            return self.queue(ns, event).get(timeout=self.deadline.left())
        except queue.Empty:
            raise AssertionError('timed out waiting for "%s" on %s' % (event, ns)) from None


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        # End a little before the hard timer, so that a step's own error
        # message wins over the generic timeout.
        return max(0.01, self.end - time.monotonic() - 0.5)


def new_client(inbox, namespaces, events):
    """A client that records the named events, "connect", "disconnect" and
    "connect_error" on each namespace, and answers "server-ack"."""
    sio = socketio.Client(reconnection=False, handle_sigint=False, request_timeout=10)
    for ns in namespaces:
        def record(event, ns=ns):
            return lambda *args: inbox.put(ns, event, args)

        for event in events + ["connect", "disconnect", "connect_error"]:
            sio.on(event, record(event), namespace=ns)

        def server_ack(*args, ns=ns):
            inbox.put(ns, "server-ack", args)
            return tuple(args) + ("done",)

        sio.on("server-ack", server_ack, namespace=ns)
    return sio


def emit_with_ack(inbox, sio, ns, event, args):
    """Emit with an ack callback and return the ack's arguments."""
    got = queue.Queue()
    sio.emit(event, data=tuple(args), namespace=ns, callback=lambda *a: got.put(a))
    try:
        return got.get(timeout=inbox.deadline.left())
    except queue.Empty:
        raise AssertionError('timed out waiting for the ack of "%s" on %s' % (event, ns)) from None


def wait_engine_closed(inbox, sio):
    """Wait (bounded) for the client's Engine.IO threads to end: its write
    loop sends what disconnect() queued (DISCONNECT, then CLOSE), and its
    read loop ends once the server lets the last polling GET go."""
    eio = sio.eio
    for name, task in [("write", eio.write_loop_task), ("read", eio.read_loop_task)]:
        if task is not None:
            task.join(timeout=inbox.deadline.left())
            if task.is_alive():
                raise AssertionError("the client's Engine.IO %s loop did not end (state %s, transport %s)"
                                     % (name, eio.state, eio.current_transport))


def until(inbox, what, cond):
    """Poll cond until it holds, within the run's deadline."""
    while not cond():
        if inbox.deadline.left() <= 0.01:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.005)


def echo_args():
    return [1, "2", {"3": [True]}, b"\x01\x02\x03\x04", {"nested": {"bin": b"\x05\x06"}}]


def scenario_echo(cfg, inbox):
    sio = new_client(inbox, ["/", "/custom"], ["auth", "message-back"])
    sio.connect(cfg.url, auth={"token": "py"}, transports=cfg.transports,
                namespaces=["/", "/custom"], wait_timeout=inbox.deadline.left())
    transport = sio.transport()
    result = {"transport": transport, "auth": {}}
    for ns in ["/", "/custom"]:
        (auth,) = inbox.next(ns, "auth")
        result["auth"][ns] = encode(auth)

    # The server's "server-ack" (answered by new_client's handler).
    result["serverAck"] = encode(inbox.next("/", "server-ack"))

    sio.emit("message", data=tuple(echo_args()))
    expect('"message-back"', inbox.next("/", "message-back"), echo_args())

    expect('the ack of "message-with-ack"',
           emit_with_ack(inbox, sio, "/", "message-with-ack", echo_args()), echo_args())
    custom = ["custom", b"\xff\x00\xfe"]
    expect('the ack of "message-with-ack" on /custom',
           emit_with_ack(inbox, sio, "/custom", "message-with-ack", custom), custom)

    large = "x" * 100000 + "y" * 100000
    sio.emit("message", data=large)
    (back,) = inbox.next("/", "message-back")
    if back != large:
        raise AssertionError("the 200000 character string came back as %s of length %d"
                             % (type(back).__name__, len(back)))

    unicode = "h\u00e9llo w\u00f6rld \u20ac \U0001F600 \u2028 \"q\" \\ \u00ff"
    sio.emit("message", data=unicode)
    expect('non-ASCII "message-back"', inbox.next("/", "message-back"), [unicode])

    result["sid"] = {ns: sio.get_sid(ns) for ns in ["/", "/custom"]}
    result["finalTransport"] = sio.transport()
    sio.disconnect()
    wait_engine_closed(inbox, sio)
    return result


def refused(cfg, inbox, ns, auth):
    """Connect to ns and return the connect_error's arguments."""
    sio = socketio.Client(reconnection=False, handle_sigint=False, request_timeout=10)
    sio.on("connect", lambda: inbox.put(ns, "outcome", ("connect",)), namespace=ns)
    sio.on("connect_error", lambda *args: inbox.put(ns, "outcome", ("connect_error",) + args), namespace=ns)
    # wait=True would, after a refusal, sit out one more wait_timeout
    # before it raises: wait for the outcome here instead.
    sio.connect(cfg.url, auth=auth, transports=cfg.transports, namespaces=[ns], wait=False)
    outcome = inbox.next(ns, "outcome")
    sio.disconnect()
    wait_engine_closed(inbox, sio)
    if outcome[0] != "connect_error":
        raise AssertionError("connected to %s, want a connect_error" % ns)
    return {"connectError": encode(outcome[1:])}


def scenario_connect_error(cfg, inbox):
    return refused(cfg, inbox, "/", {"token": "bad"})


def scenario_invalid_namespace(cfg, inbox):
    return refused(cfg, inbox, "/random", {"token": "py"})


def scenario_server_disconnect(cfg, inbox):
    sio = new_client(inbox, ["/", "/custom"], [])
    sio.connect(cfg.url, auth={"token": "py"}, transports=cfg.transports,
                namespaces=["/", "/custom"], wait_timeout=inbox.deadline.left())
    result = {"transport": sio.transport()}

    sio.emit("kick", namespace="/custom")
    inbox.next("/custom", "disconnect")
    # The client forgets the namespace just after its handler returns.
    until(inbox, "/custom to leave the client's namespaces", lambda: "/custom" not in sio.namespaces)
    result["customLeft"] = sorted(sio.namespaces)
    alive = ["still", b"\x01"]
    expect('the ack of "message-with-ack" after /custom was kicked',
           emit_with_ack(inbox, sio, "/", "message-with-ack", alive), alive)

    sio.emit("kick", namespace="/")
    inbox.next("/", "disconnect")
    # With no namespace left the client closes its Engine.IO connection
    # (its loops end only after that, so the namespaces are settled).
    wait_engine_closed(inbox, sio)
    result["rootLeft"] = sorted(sio.namespaces)
    result["connected"] = sio.connected
    return result


def scenario_burst(cfg, inbox):
    sio = socketio.Client(reconnection=False, handle_sigint=False, request_timeout=10)
    # Ticks and the end of the connection share one queue, so that a
    # client that gives up fails the run at once.
    sio.on("tick", lambda i: inbox.put("/", "burst", ("tick", i)))
    sio.on("disconnect", lambda: inbox.put("/", "burst", ("disconnect", None)))
    sio.connect(cfg.url, auth={"token": "py"}, transports=cfg.transports,
                namespaces=["/"], wait_timeout=inbox.deadline.left())
    result = {"transport": sio.transport()}
    sio.emit("burst", data=cfg.count)
    # Each message is handled in a thread of its own, so the ticks may
    # arrive out of order: check that each arrived once.
    seen = []
    while len(seen) < cfg.count:
        what, i = inbox.next("/", "burst")
        if what == "disconnect":
            raise AssertionError("the connection ended after %d of %d ticks" % (len(seen), cfg.count))
        seen.append(i)
    if sorted(seen) != list(range(cfg.count)):
        raise AssertionError("ticks %s, want 0..%d once each" % (describe(sorted(seen)), cfg.count - 1))
    result["ticks"] = len(seen)
    sio.disconnect()
    wait_engine_closed(inbox, sio)
    return result


SCENARIOS = {
    "echo": scenario_echo,
    "connect-error": scenario_connect_error,
    "invalid-namespace": scenario_invalid_namespace,
    "server-disconnect": scenario_server_disconnect,
    "burst": scenario_burst,
}


def main():
    p = argparse.ArgumentParser(description="Drive python-socketio's client against a server.")
    p.add_argument("--url", required=True)
    p.add_argument("--transports", default="polling,websocket",
                   choices=["websocket", "polling", "polling,websocket"])
    p.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    p.add_argument("--timeout", type=float, default=20, help="hard deadline in seconds")
    p.add_argument("--count", type=int, default=100, help="burst: how many events the server sends")
    p.add_argument("--max-decode-packets", type=int, default=0,
                   help="raise python-engineio's limit on packets in one polling payload (default 16)")
    cfg = p.parse_args()
    if cfg.timeout <= 0:
        fail("--timeout must be positive")
    if cfg.count <= 0:
        fail("--count must be positive")
    if cfg.max_decode_packets < 0:
        fail("--max-decode-packets must not be negative")
    if cfg.max_decode_packets:
        # python-engineio's documented workaround for its 16-packet limit
        # (miguelgrinberg/python-engineio#142).
        engineio.payload.Payload.max_decode_packets = cfg.max_decode_packets
    cfg.transports = cfg.transports.split(",")

    timer = threading.Timer(cfg.timeout, fail, ["timeout after %gs (scenario %s)" % (cfg.timeout, cfg.scenario)])
    timer.daemon = True
    timer.start()

    versions = {name: version(name) for name in PACKAGES}
    try:
        result = SCENARIOS[cfg.scenario](cfg, Inbox(Deadline(cfg.timeout)))
    except Exception as e:  # every failure becomes the result line
        finish({"ok": False, "error": "%s: %s" % (type(e).__name__, e), "versions": versions})
        return
    result.update(ok=True, versions=versions)
    finish(result)


if __name__ == "__main__":
    main()
