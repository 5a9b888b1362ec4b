#!/usr/bin/env node
// admin-client.js — real socket.io clients (npm socket.io-client 4.8.4)
// driven line by line: the Go test writes one JSON command a line on stdin,
// and the script writes one JSON line on stdout for everything each client
// sees. It speaks the socket.io Admin UI's side of the protocol (the test
// plays the UI: it connects to /admin with a username and password and
// sends join, leave, _disconnect and emit), and plays ordinary clients too.
//
// Commands (stdin):
//   {"op":"connect","name":"a","url":"http://127.0.0.1:PORT/admin",
//    "auth":{...},"transports":["websocket"]}     open client "a"
//   {"op":"emit","name":"a","event":"join","args":[...]}
//   {"op":"close","name":"a"}                    the client disconnects
//   {"op":"exit"}                                close all, exit 0
//
// Output (stdout), one JSON object a line:
//   {"ready":true}                               first, once listening
//   {"name":"a","type":"connect","id":"...","engine":"<Engine.IO sid>"}
//   {"name":"a","type":"connect_error","message":"...","data":...}
//   {"name":"a","type":"event","event":"config","args":[...]}
//   {"name":"a","type":"upgrade","transport":"websocket"}
//   {"name":"a","type":"disconnect","reason":"..."}
//   {"type":"error","error":"..."}               a bad command
//
// Binary arguments arrive as {"$binary":"<base64>"}. The script exits by
// itself after --timeout ms (default 60000), or when stdin closes.
'use strict';

const readline = require('readline');
const { io } = require('sio-client-4.8.4');

let timeout = 60000;
for (let i = 2; i < process.argv.length; i += 2) {
  if (process.argv[i] === '--timeout') timeout = Number(process.argv[i + 1]);
}

const clients = new Map();

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function plain(v) {
  if (v instanceof ArrayBuffer) return { $binary: Buffer.from(v).toString('base64') };
  if (ArrayBuffer.isView(v)) return { $binary: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]);
    return o;
  }
  return v;
}

function unplain(v) {
  if (Array.isArray(v)) return v.map(unplain);
  if (v && typeof v === 'object') {
    if (typeof v.$binary === 'string' && Object.keys(v).length === 1) return Buffer.from(v.$binary, 'base64');
    const o = {};
    for (const k of Object.keys(v)) o[k] = unplain(v[k]);
    return o;
  }
  return v;
}

function exit(code) {
  for (const s of clients.values()) s.disconnect();
  setTimeout(() => process.exit(code), 50);
}

function handle(cmd) {
  switch (cmd.op) {
    case 'connect': {
      if (clients.has(cmd.name)) throw new Error(`client ${cmd.name} exists`);
      const s = io(cmd.url, {
        forceNew: true,
        reconnection: false,
        transports: cmd.transports || ['polling', 'websocket'],
        auth: cmd.auth || {},
      });
      clients.set(cmd.name, s);
      s.io.on('open', () => {
        s.io.engine.on('upgrade', (t) => out({ name: cmd.name, type: 'upgrade', transport: t.name }));
      });
      s.on('connect', () => out({ name: cmd.name, type: 'connect', id: s.id, engine: s.io.engine.id, transport: s.io.engine.transport.name }));
      s.on('connect_error', (err) => out({ name: cmd.name, type: 'connect_error', message: err.message, data: err.data === undefined ? null : err.data }));
      s.on('disconnect', (reason) => out({ name: cmd.name, type: 'disconnect', reason }));
      s.onAny((event, ...args) => out({ name: cmd.name, type: 'event', event, args: plain(args) }));
      break;
    }
    case 'emit': {
      const s = clients.get(cmd.name);
      if (!s) throw new Error(`no client ${cmd.name}`);
      s.emit(cmd.event, ...unplain(cmd.args || []));
      break;
    }
    case 'close': {
      const s = clients.get(cmd.name);
      if (!s) throw new Error(`no client ${cmd.name}`);
      s.disconnect();
      break;
    }
    case 'exit':
      exit(0);
      break;
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  try {
    handle(JSON.parse(line));
  } catch (e) {
    out({ type: 'error', error: e.message });
  }
});
rl.on('close', () => exit(0));
setTimeout(() => {
  out({ type: 'error', error: `timed out after ${timeout} ms` });
  exit(1);
}, timeout).unref();
out({ ready: true });
