#!/usr/bin/env node
// recovery-seam.js — a real socket.io-client 4.8.4 driven line by line, for
// the connection-state-recovery tests of protocol/socketio.
//
// It connects (with reconnection off: the test decides when the client is
// gone and when it comes back) and prints one JSON line on stdout for each
// thing that happens:
//
//   {"type":"connect","id":..,"recovered":bool,"transport":..}
//   {"type":"event","event":..,"args":[..]}      (the offset is the last arg)
//   {"type":"disconnect","reason":..}
//   {"type":"connect_error","message":..}
//   {"type":"error","error":..}                    then exit 1
//
// It reads commands on stdin, one a line:
//
//   drop               close the transport as a network loss would (the
//                      socket keeps its pid and last offset)
//   reconnect          connect again: the client sends {pid, offset} in
//                      its CONNECT auth and learns socket.recovered
//   emit NAME JSON     emit NAME with the arguments of the JSON array
//   quit               disconnect and exit 0
//
// Usage: node recovery-seam.js --url URL [--transports websocket]
//                              [--timeout MS] [--auth JSON]
// Every run ends within --timeout ms (default 30000).
'use strict';

const readline = require('readline');

function parseArgs(argv) {
  const cfg = { url: '', transports: 'websocket', timeout: 30000, auth: null };
  for (let i = 2; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) fail(`flag ${flag} needs a value`);
    switch (flag) {
      case '--url': cfg.url = value; break;
      case '--transports': cfg.transports = value; break;
      case '--timeout': cfg.timeout = Number(value); break;
      case '--auth': cfg.auth = JSON.parse(value); break;
      default: fail(`unknown flag ${flag}`);
    }
  }
  if (!cfg.url) fail('--url is required');
  if (!(cfg.timeout > 0)) fail('--timeout must be a positive number of ms');
  return cfg;
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function fail(msg) {
  process.stdout.write(JSON.stringify({ type: 'error', error: String(msg) }) + '\n', () => process.exit(1));
  setTimeout(() => process.exit(1), 1000).unref();
}

const cfg = parseArgs(process.argv);
const hard = setTimeout(() => fail(`no quit within ${cfg.timeout} ms`), cfg.timeout);

const { io } = require('sio-client-4.8.4');
const opts = {
  transports: cfg.transports.split(','),
  forceNew: true,
  reconnection: false,
  timeout: cfg.timeout,
};
if (cfg.auth) opts.auth = cfg.auth;
const socket = io(cfg.url, opts);

socket.on('connect', () => {
  const engine = socket.io.engine;
  print({
    type: 'connect',
    id: socket.id,
    recovered: socket.recovered,
    transport: engine && engine.transport ? engine.transport.name : null,
  });
});
socket.on('disconnect', (reason) => print({ type: 'disconnect', reason }));
socket.on('connect_error', (err) => print({ type: 'connect_error', message: err.message }));
socket.onAny((event, ...args) => print({ type: 'event', event, args }));

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, ...rest] = line.trim().split(' ');
  switch (cmd) {
    case 'drop':
      // As a lost network: the engine closes under the socket, which
      // keeps its pid and last offset for the next CONNECT.
      socket.io.engine.close();
      break;
    case 'reconnect':
      socket.connect();
      break;
    case 'emit': {
      const [name, ...json] = rest;
      socket.emit(name, ...JSON.parse(json.join(' ') || '[]'));
      break;
    }
    case 'quit':
      clearTimeout(hard);
      socket.disconnect();
      rl.close();
      process.stdout.write('', () => process.exit(0));
      break;
    case '':
      break;
    default:
      fail(`unknown command ${JSON.stringify(line)}`);
  }
});
rl.on('close', () => {
  // stdin closed without quit: the test is gone, so go too.
  clearTimeout(hard);
  socket.disconnect();
  process.exit(0);
});
