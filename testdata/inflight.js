#!/usr/bin/env node
// inflight.js — one real socket.io client (npm socket.io-client 4.8.4)
// emits --count acknowledged events at once, without waiting for any ack,
// and prints one JSON line per ack as it arrives, then a final line:
//
//   {"ready":true,"id":SID}                     once connected, before emitting
//   {"ack":I,"args":[...]}                      the ack of emit I (0-based)
//   {"ok":true,"acks":N}                        once all N acks came, exit 0
//   {"ok":false,"error":"..."}                  exit 1
//
// Usage: node inflight.js --url http://127.0.0.1:PORT --event ask --count 4
//        [--timeout 20000]
// Emit I carries one argument, {"n":I}. The whole run ends within --timeout ms.
'use strict';

const { io } = require('sio-client-4.8.4');

const opts = { url: '', event: '', count: 0, timeout: 20000 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i], v = process.argv[i + 1];
  switch (k) {
    case '--url': opts.url = v; break;
    case '--event': opts.event = v; break;
    case '--count': opts.count = Number(v); break;
    case '--timeout': opts.timeout = Number(v); break;
    default: fail(new Error(`unknown flag ${k}`));
  }
}

let done = false;
function finish(line, code) {
  if (done) return;
  done = true;
  process.stdout.write(JSON.stringify(line) + '\n', () => process.exit(code));
}
function fail(err) { finish({ ok: false, error: String(err && err.message || err) }, 1); }

if (!opts.url || !opts.event || !Number.isInteger(opts.count) || opts.count < 1) {
  fail(new Error('want --url, --event and --count N (N >= 1)'));
} else {
  setTimeout(() => fail(new Error(`timeout after ${opts.timeout} ms`)), opts.timeout).unref();
  const socket = io(opts.url, { transports: ['websocket'], reconnection: false });
  socket.on('connect_error', (e) => fail(e));
  socket.on('disconnect', (reason) => fail(new Error(`disconnected: ${reason}`)));
  socket.on('connect', () => {
    process.stdout.write(JSON.stringify({ ready: true, id: socket.id }) + '\n');
    let acks = 0;
    for (let i = 0; i < opts.count; i++) {
      socket.emit(opts.event, { n: i }, (...args) => {
        process.stdout.write(JSON.stringify({ ack: i, args }) + '\n');
        if (++acks === opts.count) {
          socket.off('disconnect');
          socket.close();
          finish({ ok: true, acks }, 0);
        }
      });
    }
  });
}
