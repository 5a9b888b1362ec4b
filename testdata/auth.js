#!/usr/bin/env node
// auth.js — connect several real socket.io clients (npm socket.io-client),
// each with its own credentials, and report what each was told. Output, one
// JSON object per line on stdout:
//
//   {"ready":true,"sockets":[{name, connected, id?, error?:{message,data}}]}
//       once every socket has connected or been refused
//   {"ok":true,"sockets":[{name, connected, id?, error?, events:[args...]}]}
//       once every connected socket with "until" has received an event
//       whose first argument equals "until"; exit code 0
//   {"ok":false,"error":"..."}   exit code 1
//
// Usage:
//   node auth.js --url http://127.0.0.1:PORT --spec JSON [--client 4.8.4]
//        [--transports websocket] [--event notification] [--timeout 20000]
//
// --spec is an array of sockets:
//   {"name": "alice",
//    "namespace": "/",                       (default "/")
//    "auth": {"token": "..."},               CONNECT auth payload (v4 clients)
//    "headers": {"Authorization": "Bearer x", "Cookie": "sid=y"},
//    "query": {"token": "..."},              query string
//    "emit": [["join", "user:1"], ...],      emitted with an ack once connected;
//                                            "ready" waits for the acks (so the
//                                            server has handled them)
//    "until": "last-alice"}                  collect --event until this arg
'use strict';

const START = Date.now();
let finished = false;
const sockets = [];

function printLine(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function finish(result) {
  if (finished) return;
  finished = true;
  for (const s of sockets) {
    try { s.disconnect(); } catch (_) { /* best effort */ }
  }
  result.ms = Date.now() - START;
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(result.ok ? 0 : 1));
  setTimeout(() => process.exit(result.ok ? 0 : 1), 500).unref();
}

function fail(err) {
  finish({ ok: false, error: err instanceof Error ? err.message : String(err) });
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
  const cfg = {
    url: opts.url,
    client: opts.client || '4.8.4',
    transports: (opts.transports || 'websocket').split(','),
    event: opts.event || 'notification',
    timeout: Number(opts.timeout || 20000),
    spec: JSON.parse(opts.spec || '[]'),
  };
  if (typeof cfg.url !== 'string') throw new Error('--url is required');
  if (!Array.isArray(cfg.spec) || cfg.spec.length === 0) throw new Error('--spec must be a non-empty array');
  if (!(cfg.timeout > 0)) throw new Error('--timeout must be a positive number');
  return cfg;
}

function open(cfg, spec) {
  const { io } = require(`sio-client-${cfg.client}`);
  const opts = {
    transports: cfg.transports,
    forceNew: true,
    reconnection: false,
    timeout: cfg.timeout,
  };
  if (spec.auth !== undefined) opts.auth = spec.auth;
  if (spec.headers) opts.extraHeaders = spec.headers;
  if (spec.query) opts.query = spec.query;
  const socket = io(cfg.url + (spec.namespace && spec.namespace !== '/' ? spec.namespace : ''), opts);
  sockets.push(socket);
  const entry = { name: spec.name, connected: false, events: [] };
  let doneResolve;
  entry.done = new Promise((resolve) => { doneResolve = resolve; });
  if (!spec.until) doneResolve();
  socket.on(cfg.event, (...args) => {
    entry.events.push(args);
    if (spec.until !== undefined && args[0] === spec.until) doneResolve();
  });
  entry.settled = new Promise((resolve) => {
    socket.once('connect', () => {
      entry.connected = true;
      entry.id = socket.id;
      const acks = (spec.emit || []).map(([ev, ...args]) => new Promise((ack) => {
        socket.emit(ev, ...args, (...reply) => { (entry.acks = entry.acks || []).push(reply); ack(); });
      }));
      Promise.all(acks).then(() => resolve());
    });
    socket.once('connect_error', (err) => {
      entry.error = { message: err.message, data: err.data };
      doneResolve();
      resolve();
    });
  });
  socket.on('disconnect', (reason) => {
    if (!finished && entry.connected) fail(new Error(`${spec.name} disconnected: ${reason}`));
  });
  return entry;
}

function report(entries) {
  return entries.map(({ name, connected, id, error, events, acks }) => ({ name, connected, id, error, events, acks }));
}

async function run(cfg) {
  const entries = cfg.spec.map((s) => open(cfg, s));
  await Promise.all(entries.map((e) => e.settled));
  printLine({ ready: true, sockets: report(entries) });
  await Promise.all(entries.map((e) => e.done));
  return { ok: true, sockets: report(entries) };
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
  run(cfg).then(finish, fail);
}

main();
