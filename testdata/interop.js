#!/usr/bin/env node
// interop.js — drive a real socket.io client (npm socket.io-client 2.5.0,
// 4.3.1 or 4.8.4) against a server and print ONE final JSON line on stdout:
//
//   {"ok":true,...}                    exit code 0
//   {"ok":false,"error":"..."}         exit code 1
//
// The "receive" scenario prints a {"ready":true,...} line before the final
// line. Every run terminates within --timeout ms (hard timer + process.exit).
//
// Usage:
//   node interop.js --url http://127.0.0.1:PORT --client 4.8.4 \
//        --transports polling,websocket --scenario echo [--timeout 10000]
//
// Common flags:
//   --url URL            server base URL (namespace "/" unless a path is given)
//   --client VERSION     4.3.1 | 4.8.4 | 2.5.0 (npm alias sio-client-VERSION)
//   --transports LIST    websocket | polling | polling,websocket (default)
//   --scenario NAME      echo | custom-ns | connect-error | receive | emit
//   --timeout MS         hard deadline for the whole run (default 10000)
//   --path PATH          engine.io path (default /socket.io)
//   --auth JSON          override the auth payload of receive/emit scenarios
//                        (sent as `query` for the 2.5.0 client)
//
// Scenario flags:
//   receive: --event NAME (repeatable and/or comma separated), --count N,
//            --ack-reply JSON (array; if the server asks for an ack, call it
//            with these args; by default such acks are recorded, not called)
//   emit:    --event NAME, --data JSON (array of args; a non-array is wrapped),
//            --ack, --ack-timeout MS, --expect EVENT
//
// Result lines (besides "ok" and "ms", the run time; transport fields are
// transport = final engine transport, initialTransport, upgraded):
//   echo:          {ok, transport, initialTransport, upgraded, id, auth}
//   custom-ns:     {ok, transport, ..., id, auth, invalidNamespace:{source,message,data}}
//   connect-error: {ok, message, data, source}  (source "connect_error" for
//                  v4; "error" for 2.5.0, whose payload is err.data||err.message)
//   receive:       {"ready":true,id,transport} first, then
//                  {ok, ..., id, events:[{event, args, types, ackRequested?}]}
//   emit:          {ok, ..., id, ack?, ackTypes?, ackError?, ackTimeoutMode?,
//                   received?, receivedTypes?}
// "types" holds, per arg, typeof with "binary", "array" and "null" refined.
//
// Binary values: outgoing args given in --data may contain {"$binary":"<b64>"}
// which is sent as a Buffer; incoming binary (Buffer, ArrayBuffer, typed
// array) is reported as {"$binary":"<b64>"}.
'use strict';

const util = require('util');

const CLIENTS = ['4.3.1', '4.8.4', '2.5.0'];
const TRANSPORT_CHOICES = ['websocket', 'polling', 'polling,websocket'];
const START = Date.now();

// ---------------------------------------------------------------------------
// Output and termination
// ---------------------------------------------------------------------------

let finished = false;
const cleanups = [];

/** Print one JSON line synchronously-ish (stdout to a pipe/file is sync). */
function printLine(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/**
 * Print the final result line and exit. Only the first call has an effect,
 * so racing timers/handlers cannot print two final lines.
 */
function finish(result) {
  if (finished) return;
  finished = true;
  result.ms = Date.now() - START;
  for (const fn of cleanups) {
    try { fn(); } catch (_) { /* best effort */ }
  }
  const code = result.ok ? 0 : 1;
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
  // In case the write callback never fires (stdout closed), exit anyway.
  setTimeout(() => process.exit(code), 200).unref();
}

function fail(err) {
  const message = err instanceof Error ? err.message : String(err);
  finish({ ok: false, error: message });
}

// ---------------------------------------------------------------------------
// Argument parsing
// ---------------------------------------------------------------------------

/** Parse --flag value / --flag=value / bare --flag (boolean). Repeats collect. */
function parseArgs(argv) {
  const opts = { _multi: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument: ${a}`);
    let key = a.slice(2);
    let value;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      value = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      value = argv[++i];
    } else {
      value = true;
    }
    (opts._multi[key] = opts._multi[key] || []).push(value);
    opts[key] = value;
  }
  return opts;
}

function parseJSONFlag(name, text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`--${name} is not valid JSON: ${e.message}`);
  }
}

function buildConfig(opts) {
  const cfg = {
    url: opts.url,
    client: opts.client || '4.8.4',
    transports: opts.transports || 'polling,websocket',
    scenario: opts.scenario,
    timeout: Number(opts.timeout || 10000),
    path: opts.path || '/socket.io',
    auth: opts.auth !== undefined ? parseJSONFlag('auth', opts.auth) : undefined,
    events: [],
    count: Number(opts.count || 1),
    data: opts.data !== undefined ? parseJSONFlag('data', opts.data) : [],
    ack: opts.ack !== undefined,
    ackTimeout: opts['ack-timeout'] !== undefined ? Number(opts['ack-timeout']) : undefined,
    ackReply: opts['ack-reply'] !== undefined ? parseJSONFlag('ack-reply', opts['ack-reply']) : undefined,
    expect: opts.expect,
  };
  for (const v of opts._multi.event || []) {
    for (const name of String(v).split(',')) if (name) cfg.events.push(name);
  }
  if (!Array.isArray(cfg.data)) cfg.data = [cfg.data];
  if (cfg.ackReply !== undefined && !Array.isArray(cfg.ackReply)) cfg.ackReply = [cfg.ackReply];

  if (typeof cfg.url !== 'string') throw new Error('--url is required');
  if (!CLIENTS.includes(cfg.client)) throw new Error(`--client must be one of ${CLIENTS.join(', ')}`);
  if (!TRANSPORT_CHOICES.includes(cfg.transports)) {
    throw new Error(`--transports must be one of ${TRANSPORT_CHOICES.join(' | ')}`);
  }
  if (!(cfg.timeout > 0)) throw new Error('--timeout must be a positive number');
  if (!SCENARIOS[cfg.scenario]) throw new Error(`--scenario must be one of ${Object.keys(SCENARIOS).join(', ')}`);
  return cfg;
}

// ---------------------------------------------------------------------------
// Binary normalisation and comparison
// ---------------------------------------------------------------------------

function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

function toBuffer(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * Turn a received value into plain JSON: binary becomes {"$binary": base64},
 * functions (ack callbacks) become {"$function": true}, undefined becomes null.
 */
function encodeValue(v) {
  if (v === undefined) return null;
  if (typeof v === 'function') return { $function: true };
  if (isBinary(v)) return { $binary: toBuffer(v).toString('base64') };
  if (Array.isArray(v)) return v.map(encodeValue);
  if (v !== null && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v)) out[k] = encodeValue(v[k]);
    return out;
  }
  return v;
}

/** Inverse of encodeValue for outgoing --data: {"$binary": b64} -> Buffer. */
function decodeValue(v) {
  if (Array.isArray(v)) return v.map(decodeValue);
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '$binary' && typeof v.$binary === 'string') {
      return Buffer.from(v.$binary, 'base64');
    }
    const out = {};
    for (const k of keys) out[k] = decodeValue(v[k]);
    return out;
  }
  return v;
}

/** typeof, except that binary values report "binary" and null "null". */
function typeOf(v) {
  if (v === null) return 'null';
  if (isBinary(v)) return 'binary';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Deep equality after normalising all binary flavours to bytes. */
function sameArgs(a, b) {
  return util.isDeepStrictEqual(encodeValue(a), encodeValue(b));
}

function describe(v) {
  const s = JSON.stringify(encodeValue(v));
  return s.length > 300 ? `${s.slice(0, 300)}...(${s.length} chars)` : s;
}

function expectArgs(what, got, want) {
  if (!sameArgs(got, want)) {
    throw new Error(`${what}: got ${describe(got)}, want ${describe(want)}`);
  }
}

// ---------------------------------------------------------------------------
// Client abstraction over the v2 and v4 APIs
// ---------------------------------------------------------------------------

/** Join base URL and a namespace ("/custom"), keeping any query string. */
function withNamespace(base, nsp) {
  const u = new URL(base);
  u.pathname = u.pathname.replace(/\/+$/, '') + nsp;
  return u.toString();
}

function isV2(cfg) {
  return cfg.client.startsWith('2.');
}

/**
 * Create a socket. `auth` goes to the v4 `auth` option; for the 2.5.0 client
 * (which has no auth) it is sent as the `query` option instead.
 */
function connect(cfg, url, auth) {
  const lib = require(`sio-client-${cfg.client}`);
  const opts = {
    transports: cfg.transports.split(','),
    path: cfg.path,
    forceNew: true,
    reconnection: false,
    timeout: cfg.timeout,
  };
  let socket;
  if (isV2(cfg)) {
    if (auth) opts.query = auth;
    socket = lib(url, opts);
  } else {
    if (auth) opts.auth = auth;
    socket = lib.io(url, opts);
  }
  cleanups.push(() => socket.disconnect());
  trackTransport(socket);
  return socket;
}

/**
 * Remember the transport the engine was opened with and whether it was
 * upgraded. The engine is created synchronously by io() (autoConnect), and
 * with "polling,websocket" the upgrade can complete before the namespace
 * "connect" event, so the transport must be sampled here, not at connect.
 */
function trackTransport(socket) {
  const engine = socket.io && socket.io.engine;
  socket.transportInfo = { initial: transportName(socket), upgraded: false };
  if (engine) engine.once('upgrade', () => { socket.transportInfo.upgraded = true; });
}

/** Fields describing the transport, for the result line. */
function transportFields(socket) {
  return {
    transport: transportName(socket),
    initialTransport: socket.transportInfo.initial,
    upgraded: socket.transportInfo.upgraded,
  };
}

function transportName(socket) {
  const engine = socket.io && socket.io.engine;
  return engine && engine.transport ? engine.transport.name : null;
}

/** Run fn(resolve, reject) as a promise with a descriptive step timeout. */
function step(what, ms, fn) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    fn(
      (v) => { clearTimeout(t); resolve(v); },
      (e) => { clearTimeout(t); reject(e); },
    );
  });
}

/** Time left for a step; ends a little before the hard deadline so that a
 * step-specific error message wins over the generic timeout. */
function remaining(cfg) {
  return Math.max(1, cfg.timeout - (Date.now() - START) - 100);
}

/**
 * Normalise a failed namespace connection into {message, data}.
 * v4: "connect_error" with an Error having .message and (server side) .data.
 * v2: the server's CONNECT_ERROR payload arrives as an "error" event whose
 *     argument is err.data || err.message (string or object), while
 *     "connect_error" is only emitted for transport-level failures.
 */
function normaliseConnectError(err, source) {
  if (err instanceof Error) {
    return { source, message: err.message, data: err.data === undefined ? null : encodeValue(err.data) };
  }
  if (typeof err === 'string') return { source, message: err, data: null };
  if (err && typeof err === 'object') {
    return {
      source,
      message: typeof err.message === 'string' ? err.message : null,
      data: err.data !== undefined ? encodeValue(err.data) : encodeValue(err),
    };
  }
  return { source, message: String(err), data: null };
}

/**
 * Wait for the namespace connection. Resolves with {connected:true} or
 * {connected:false, error:{message,data,source}}.
 */
function awaitConnection(cfg, socket) {
  return step('connect', remaining(cfg), (resolve) => {
    socket.once('connect', () => resolve({ connected: true }));
    socket.once('connect_error', (err) => resolve({ connected: false, error: normaliseConnectError(err, 'connect_error') }));
    if (isV2(cfg)) {
      socket.once('error', (err) => resolve({ connected: false, error: normaliseConnectError(err, 'error') }));
      socket.once('connect_timeout', () => resolve({ connected: false, error: { source: 'connect_timeout', message: 'connect timeout', data: null } }));
    }
  });
}

async function mustConnect(cfg, socket) {
  const r = await awaitConnection(cfg, socket);
  if (!r.connected) {
    throw new Error(`connection failed (${r.error.source}): ${r.error.message} ${JSON.stringify(r.error.data)}`);
  }
  return socket;
}

/**
 * When both transports are allowed, give the polling -> websocket upgrade a
 * chance to complete (bounded) so the reported transport is meaningful.
 */
async function settleTransport(cfg, socket) {
  const engine = socket.io && socket.io.engine;
  if (cfg.transports !== 'polling,websocket' || !engine || transportName(socket) === 'websocket') return;
  const ms = Math.min(3000, remaining(cfg) - 200);
  if (ms <= 0) return;
  await new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    engine.once('upgrade', () => { clearTimeout(t); resolve(); });
  });
}

/**
 * Record events as they arrive so that an event sent by the server right
 * after the connection (before the scenario awaits it) is not lost.
 */
class Inbox {
  constructor(socket, events) {
    this.queues = new Map();
    this.waiters = new Map();
    for (const ev of events) {
      this.queues.set(ev, []);
      this.waiters.set(ev, []);
      socket.on(ev, (...args) => this.push(ev, args));
    }
  }

  push(ev, args) {
    const w = this.waiters.get(ev);
    if (w.length) w.shift()(args);
    else this.queues.get(ev).push(args);
  }

  /** Resolve with the args (array) of the next `ev` event. */
  next(cfg, ev) {
    return step(`event "${ev}"`, remaining(cfg), (resolve) => {
      const q = this.queues.get(ev);
      if (q.length) resolve(q.shift());
      else this.waiters.get(ev).push(resolve);
    });
  }
}

/** Emit with an ack callback; resolve with the ack args. */
function emitWithAck(cfg, socket, ev, args) {
  return step(`ack of "${ev}"`, remaining(cfg), (resolve) => {
    socket.emit(ev, ...args, (...ackArgs) => resolve(ackArgs));
  });
}

/** Give the engine a moment to flush buffered packets before closing. */
function flush(socket) {
  return new Promise((resolve) => {
    const engine = socket.io && socket.io.engine;
    const deadline = Date.now() + 1000;
    (function poll() {
      if (!engine || !engine.writeBuffer || engine.writeBuffer.length === 0 || Date.now() > deadline) {
        setTimeout(resolve, 20);
      } else {
        setTimeout(poll, 10);
      }
    })();
  });
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

const ECHO_ARGS = () => [
  1,
  '2',
  { 3: [true] },
  Buffer.from([1, 2, 3, 4]),
  { nested: { bin: Buffer.from([5, 6]) } },
];
const SERVER_ACK_ARGS = () => [1, 'two', Buffer.from([9, 8, 7])];

/**
 * echo: auth round trip, event echo, client->server ack, server->client ack,
 * a 200000-character string and a short non-ASCII string.
 */
async function scenarioEcho(cfg) {
  const auth = { token: '123' };
  const socket = connect(cfg, cfg.url, auth);
  const inbox = new Inbox(socket, ['auth', 'message-back']);

  // The server emits "server-ack" with an ack callback right after connect;
  // answer with the received args followed by "done".
  const serverAck = step('event "server-ack"', remaining(cfg), (resolve, reject) => {
    socket.on('server-ack', (...args) => {
      const ack = args.pop();
      if (typeof ack !== 'function') {
        reject(new Error('"server-ack" arrived without an ack callback'));
        return;
      }
      ack(...args, 'done');
      resolve(args);
    });
  });
  serverAck.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile

  await mustConnect(cfg, socket);

  const [authPayload] = await inbox.next(cfg, 'auth');
  // socket.io 2.x has no auth payload; the server sees {} for it.
  if (!isV2(cfg)) expectArgs('auth payload', authPayload, auth);

  socket.emit('message', ...ECHO_ARGS());
  expectArgs('"message-back" args', await inbox.next(cfg, 'message-back'), ECHO_ARGS());

  const ackArgs = await emitWithAck(cfg, socket, 'message-with-ack', ECHO_ARGS());
  expectArgs('"message-with-ack" ack args', ackArgs, ECHO_ARGS());

  expectArgs('"server-ack" args', await serverAck, SERVER_ACK_ARGS());

  const large = 'x'.repeat(100000) + 'y'.repeat(100000);
  socket.emit('message', large);
  const [back] = await inbox.next(cfg, 'message-back');
  if (back !== large) {
    throw new Error(`large message corrupted: got ${typeof back} of length ${back && back.length}`);
  }

  // Non-ASCII text: catches byte- vs character-counting bugs (EIO3 polling
  // payload lengths count UTF-16 code units, so the emoji counts as 2).
  const unicode = 'h\u00e9llo w\u00f6rld \u20ac \u{1F600} \u2028 "q" \\ \u00ff';
  socket.emit('message', unicode);
  expectArgs('non-ASCII "message-back"', await inbox.next(cfg, 'message-back'), [unicode]);

  await settleTransport(cfg, socket);
  const result = {
    ok: true,
    ...transportFields(socket),
    id: socket.id,
    auth: encodeValue(authPayload),
  };
  socket.disconnect();
  return result;
}

/** custom-ns: connect to /custom with auth, then fail to connect to /random. */
async function scenarioCustomNs(cfg) {
  const auth = { token: 'abc' };
  const socket = connect(cfg, withNamespace(cfg.url, '/custom'), auth);
  const inbox = new Inbox(socket, ['auth']);
  await mustConnect(cfg, socket);
  const [authPayload] = await inbox.next(cfg, 'auth');
  // For 2.5.0 the query of a non-root namespace is sent in its CONNECT packet,
  // which a socket.io 4 server exposes as handshake.auth; we report it but do
  // not require it.
  if (!isV2(cfg)) expectArgs('auth payload', authPayload, auth);
  await settleTransport(cfg, socket);
  const transport = transportFields(socket);
  const id = socket.id;

  const bad = connect(cfg, withNamespace(cfg.url, '/random'));
  const r = await awaitConnection(cfg, bad);
  if (r.connected) throw new Error('connected to /random, expected "Invalid namespace"');
  if (r.error.message !== 'Invalid namespace') {
    throw new Error(`/random: expected "Invalid namespace", got ${JSON.stringify(r.error)}`);
  }
  bad.disconnect();
  socket.disconnect();
  return {
    ok: true,
    ...transport,
    id,
    auth: encodeValue(authPayload),
    invalidNamespace: r.error,
  };
}

/** connect-error: the server's middleware must refuse auth {token:"bad"}. */
async function scenarioConnectError(cfg) {
  const socket = connect(cfg, cfg.url, cfg.auth || { token: 'bad' });
  const r = await awaitConnection(cfg, socket);
  if (r.connected) throw new Error('connected, expected a connect error');
  socket.disconnect();
  return { ok: true, message: r.error.message, data: r.error.data, source: r.error.source };
}

/**
 * receive: print {"ready":true,id} once connected, then collect --count
 * events among --event names.
 */
async function scenarioReceive(cfg) {
  if (!cfg.events.length) throw new Error('--event is required for receive');
  const socket = connect(cfg, cfg.url, cfg.auth);
  const events = [];

  const done = step(`${cfg.count} event(s)`, remaining(cfg), (resolve, reject) => {
    const onEvent = (name, args) => {
      const entry = { event: name };
      if (args.length && typeof args[args.length - 1] === 'function') {
        const ack = args.pop();
        entry.ackRequested = true;
        if (cfg.ackReply) ack(...decodeValue(cfg.ackReply));
      }
      entry.args = args.map(encodeValue);
      entry.types = args.map(typeOf);
      events.push(entry);
      if (events.length >= cfg.count) resolve();
    };
    for (const name of new Set(cfg.events)) socket.on(name, (...args) => onEvent(name, args));
    socket.on('disconnect', (reason) => {
      reject(new Error(`disconnected (${reason}) after ${events.length} event(s): ${JSON.stringify(events)}`));
    });
  });
  done.catch(() => {});

  await mustConnect(cfg, socket);
  printLine({ ready: true, id: socket.id, transport: transportName(socket) });
  await done;
  await settleTransport(cfg, socket);
  const result = { ok: true, ...transportFields(socket), id: socket.id, events };
  socket.disconnect();
  return result;
}

/** emit: emit --event with --data, optionally with an ack and/or --expect. */
async function scenarioEmit(cfg) {
  if (!cfg.events.length) throw new Error('--event is required for emit');
  const ev = cfg.events[0];
  const args = decodeValue(cfg.data);
  const socket = connect(cfg, cfg.url, cfg.auth);
  const inbox = cfg.expect ? new Inbox(socket, [cfg.expect]) : null;
  await mustConnect(cfg, socket);

  const result = { ok: true };
  if (cfg.ack) {
    const r = await emitAck(cfg, socket, ev, args);
    Object.assign(result, r);
  } else {
    socket.emit(ev, ...args);
  }
  if (inbox) {
    const received = await inbox.next(cfg, cfg.expect);
    result.received = received.map(encodeValue);
    result.receivedTypes = received.map(typeOf);
  }
  await flush(socket);
  await settleTransport(cfg, socket);
  Object.assign(result, transportFields(socket));
  result.id = socket.id;
  socket.disconnect();
  return result;
}

/**
 * Emit with an ack, honouring --ack-timeout. Clients that have
 * socket.timeout(ms) (socket.io-client >= 4.4, i.e. 4.8.4 here) use it: the
 * callback then gets an Error first on timeout. 4.3.1 and 2.5.0 lack it, so a
 * local timer produces the same "operation has timed out" error.
 */
async function emitAck(cfg, socket, ev, args) {
  if (cfg.ackTimeout === undefined) {
    const ack = await emitWithAck(cfg, socket, ev, args);
    return { ack: ack.map(encodeValue), ackTypes: ack.map(typeOf) };
  }
  const native = typeof socket.timeout === 'function';
  const outcome = await step(`ack of "${ev}"`, remaining(cfg), (resolve) => {
    if (native) {
      socket.timeout(cfg.ackTimeout).emit(ev, ...args, (err, ...ack) => resolve(err ? { err } : { ack }));
    } else {
      const t = setTimeout(() => resolve({ err: new Error('operation has timed out') }), cfg.ackTimeout);
      socket.emit(ev, ...args, (...ack) => { clearTimeout(t); resolve({ ack }); });
    }
  });
  const mode = { ackTimeoutMode: native ? 'socket.timeout' : 'emulated' };
  if (outcome.err) return { ackError: outcome.err.message, ...mode };
  return { ack: outcome.ack.map(encodeValue), ackTypes: outcome.ack.map(typeOf), ...mode };
}

const SCENARIOS = {
  echo: scenarioEcho,
  'custom-ns': scenarioCustomNs,
  'connect-error': scenarioConnectError,
  receive: scenarioReceive,
  emit: scenarioEmit,
};

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

function main() {
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);

  let cfg;
  try {
    cfg = buildConfig(parseArgs(process.argv.slice(2)));
  } catch (e) {
    fail(e);
    return;
  }

  // Hard deadline: whatever happens, print a result and exit in time.
  setTimeout(() => fail(new Error(`timeout after ${cfg.timeout} ms (scenario ${cfg.scenario})`)), cfg.timeout).unref();
  // Keep the event loop alive until finish() even if all sockets are idle.
  const keepAlive = setInterval(() => {}, 1 << 30);
  cleanups.push(() => clearInterval(keepAlive));

  SCENARIOS[cfg.scenario](cfg).then(finish, fail);
}

main();
