#!/usr/bin/env node
// forcebase64.js — drive a real socket.io client from npm (2.5.0: Engine.IO
// v3; 4.8.4: Engine.IO v4) with forceBase64, so that it sends binary as
// base64 text instead of binary frames or payloads: "b4<base64>" records in
// an Engine.IO v3 polling payload, "b4<base64>" (v3) or "b<base64>" (v4)
// text frames on a websocket. Prints ONE final JSON line on stdout:
//
//   {"ok":true,...}                    exit code 0
//   {"ok":false,"error":"..."}         exit code 1
//
// Every run ends within --timeout ms (hard timer + process.exit).
//
// Usage:
//   node forcebase64.js --url http://127.0.0.1:PORT --client 2.5.0 \
//        --transports polling [--timeout 15000]
//
// The server is the Python interop test's (protocol/socketio/
// python_interop_test.go): "/" emits "auth" and "server-ack" (with an ack)
// on connect, answers "message" with "message-back" and acknowledges
// "message-with-ack" with its arguments. The run checks all three with
// binary arguments and reports {ok, transport, auth, serverAck, ms};
// binary values are reported as {"$binary":"<base64>"}.
'use strict';

const util = require('util');

const CLIENTS = ['2.5.0', '4.8.4'];
const TRANSPORTS = ['websocket', 'polling', 'polling,websocket'];
const START = Date.now();

let finished = false;
let socket = null;

function finish(result) {
  if (finished) return;
  finished = true;
  result.ms = Date.now() - START;
  if (socket) socket.disconnect();
  const code = result.ok ? 0 : 1;
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
  setTimeout(() => process.exit(code), 200).unref();
}

function fail(err) {
  finish({ ok: false, error: err instanceof Error ? err.message : String(err) });
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument: ${argv[i]}`);
    opts[argv[i].slice(2)] = argv[i + 1];
  }
  const cfg = {
    url: opts.url,
    client: opts.client,
    transports: opts.transports || 'polling',
    timeout: Number(opts.timeout || 15000),
  };
  if (typeof cfg.url !== 'string') throw new Error('--url is required');
  if (!CLIENTS.includes(cfg.client)) throw new Error(`--client must be one of ${CLIENTS.join(', ')}`);
  if (!TRANSPORTS.includes(cfg.transports)) throw new Error(`--transports must be one of ${TRANSPORTS.join(' | ')}`);
  if (!(cfg.timeout > 0)) throw new Error('--timeout must be a positive number');
  return cfg;
}

function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

/** A received value as plain JSON: binary becomes {"$binary": base64}. */
function encodeValue(v) {
  if (v === undefined) return null;
  if (isBinary(v)) {
    const b = Buffer.isBuffer(v) ? v : v instanceof ArrayBuffer ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return { $binary: b.toString('base64') };
  }
  if (Array.isArray(v)) return v.map(encodeValue);
  if (v !== null && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v)) out[k] = encodeValue(v[k]);
    return out;
  }
  return v;
}

function expectArgs(what, got, want) {
  if (!util.isDeepStrictEqual(encodeValue(got), encodeValue(want))) {
    throw new Error(`${what}: got ${JSON.stringify(encodeValue(got))}, want ${JSON.stringify(encodeValue(want))}`);
  }
}

/** Resolve with the args of the next `ev` (recorded from connect on). */
function recorder(sock, events) {
  const queues = new Map(events.map((ev) => [ev, []]));
  const waiters = new Map(events.map((ev) => [ev, []]));
  for (const ev of events) {
    sock.on(ev, (...args) => {
      const w = waiters.get(ev);
      if (w.length) w.shift()(args);
      else queues.get(ev).push(args);
    });
  }
  return (ev) => new Promise((resolve) => {
    const q = queues.get(ev);
    if (q.length) resolve(q.shift());
    else waiters.get(ev).push(resolve);
  });
}

const ARGS = () => [1, Buffer.from([1, 2, 3, 4]), { nested: { bin: Buffer.from([5, 6]) } }];

async function run(cfg) {
  const lib = require(`sio-client-${cfg.client}`);
  const v2 = cfg.client.startsWith('2.');
  const opts = {
    transports: cfg.transports.split(','),
    forceBase64: true,
    forceNew: true,
    reconnection: false,
    timeout: cfg.timeout,
  };
  const auth = { token: 'b64' };
  if (v2) {
    opts.query = auth; // socket.io v2 has no auth payload
    socket = lib(cfg.url, opts);
  } else {
    opts.auth = auth;
    socket = lib.io(cfg.url, opts);
  }
  const next = recorder(socket, ['auth', 'message-back']);
  const serverAck = new Promise((resolve) => {
    socket.on('server-ack', (...args) => {
      const ack = args.pop();
      if (typeof ack === 'function') ack(...args, 'done');
      resolve(args);
    });
  });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', (e) => reject(new Error(`connect_error: ${e && e.message}`)));
    socket.once('error', (e) => reject(new Error(`error: ${JSON.stringify(e)}`)));
  });
  const [authPayload] = await next('auth');

  socket.emit('message', ...ARGS());
  expectArgs('"message-back"', await next('message-back'), ARGS());

  const ackArgs = await new Promise((resolve) => socket.emit('message-with-ack', ...ARGS(), (...a) => resolve(a)));
  expectArgs('the ack of "message-with-ack"', ackArgs, ARGS());

  const received = await serverAck;
  const engine = socket.io && socket.io.engine;
  return {
    ok: true,
    transport: engine && engine.transport ? engine.transport.name : null,
    auth: encodeValue(authPayload),
    serverAck: encodeValue(received),
  };
}

function main() {
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  let cfg;
  try {
    cfg = parseArgs(process.argv.slice(2));
  } catch (e) {
    fail(e);
    return;
  }
  setTimeout(() => fail(new Error(`timeout after ${cfg.timeout} ms`)), cfg.timeout).unref();
  const keepAlive = setInterval(() => {}, 1 << 30);
  run(cfg).then((r) => { clearInterval(keepAlive); finish(r); }, fail);
}

main();
