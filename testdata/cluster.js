#!/usr/bin/env node
// cluster.js — one real socket.io-client 4.8.4 (websocket only) that
// counts a numbered stream of events across reconnects, for natsock's
// cluster tests. It prints JSON lines on stdout:
//
//   {"ready":true,"id":...,"pid":...}      once first connected
//   {"connect":N,"id":...,"recovered":B}   on every connect (N from 1)
//   {"disconnect":REASON,"at":TIME}        on every disconnect
//   {"ok":true,...} or {"ok":false,"error":"...",...}   the final line
//
// Usage:
//   node cluster.js --url http://127.0.0.1:PORT --event load --last N
//        [--timeout 20000] [--settle 300] [--emit EVENT --data JSON]
//        [--progress true]
//
// Every event named --event must carry a number as its first argument
// (the sequence number; with connection state recovery on, the server
// adds the offset as a last string argument, which socket.io-client keeps
// and sends back when it reconnects). The run ends --settle ms after the
// event numbered --last arrives, so that a late duplicate is still seen,
// or fails at --timeout. The client reconnects on its own after a
// disconnect (100ms to 500ms apart); socket.recovered says whether the
// server restored the session and replayed what was missed.
//
// --progress true prints {"got":N,"seq":S} after every event, so that a
// test can act once the client has seen N events.
//
// --emit EVENT sends EVENT once, after the first connect, with the
// arguments in --data (a JSON array).
//
// The final line holds:
//   seqs        every sequence number received, in arrival order
//   connects    [{id, recovered}] one per connect
//   disconnects [reason] one per disconnect
//   lastOffset  the offset the client would resume from (null without recovery)
//   foreign     events of --event whose first argument is not a number
'use strict';

const START = Date.now();
let finished = false;

function finish(result) {
  if (finished) return;
  finished = true;
  result.ms = Date.now() - START;
  const code = result.ok ? 0 : 1;
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
  setTimeout(() => process.exit(code), 200).unref();
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument: ${a}`);
    const key = a.slice(2);
    if (i + 1 >= argv.length) throw new Error(`--${key} needs a value`);
    opts[key] = argv[++i];
  }
  return opts;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
  if (typeof opts.url !== 'string') throw new Error('--url is required');
  if (!(Number(opts.last) >= 0)) throw new Error('--last must be a number >= 0');
  if (opts.emit !== undefined && opts.data !== undefined && !Array.isArray(JSON.parse(opts.data))) {
    throw new Error('--data must be a JSON array');
  }
} catch (e) {
  finish({ ok: false, error: e.message });
  return;
}
const event = opts.event || 'load';
const last = Number(opts.last);
const timeout = Number(opts.timeout || 20000);
const settle = Number(opts.settle || 300);

const { io } = require('sio-client-4.8.4');

const seqs = [];
const connects = [];
const disconnects = [];
let foreign = 0;

const socket = io(opts.url, {
  transports: ['websocket'],
  reconnectionDelay: 100,
  reconnectionDelayMax: 500,
});

function result(ok, error) {
  socket.close();
  const r = { ok, seqs, connects, disconnects, foreign, lastOffset: socket._lastOffset ?? null };
  if (error) r.error = error;
  return r;
}

setTimeout(() => {
  const top = seqs.length ? Math.max(...seqs) : null;
  finish(result(false, `timeout after ${timeout}ms: ${seqs.length} events, highest ${top}, want up to ${last}`));
}, timeout).unref();
// Keep the process alive until finish.
const keepAlive = setInterval(() => {}, 1000);

socket.on('connect', () => {
  connects.push({ id: socket.id, recovered: socket.recovered === true });
  if (connects.length === 1) {
    process.stdout.write(JSON.stringify({ ready: true, id: socket.id, pid: socket._pid ?? null }) + '\n');
    if (opts.emit !== undefined) {
      const data = opts.data !== undefined ? JSON.parse(opts.data) : [];
      socket.emit(opts.emit, ...data);
    }
  }
  process.stdout.write(JSON.stringify({ connect: connects.length, id: socket.id, recovered: socket.recovered === true }) + '\n');
});
socket.on('disconnect', (reason) => {
  disconnects.push(reason);
  process.stdout.write(JSON.stringify({ disconnect: reason, at: new Date().toISOString() }) + '\n');
});
socket.on('connect_error', () => { /* it retries; the timeout bounds the run */ });
socket.on(event, (...args) => {
  const seq = args[0];
  if (typeof seq !== 'number') {
    foreign++;
    return;
  }
  seqs.push(seq);
  if (opts.progress === 'true') process.stdout.write(JSON.stringify({ got: seqs.length, seq }) + '\n');
  if (seq === last) {
    setTimeout(() => {
      clearInterval(keepAlive);
      finish(result(true));
    }, settle);
  }
});
