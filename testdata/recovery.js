#!/usr/bin/env node
// recovery.js — one real socket.io-client 4.8.4 socket against a server with
// connection-state recovery on, driven line by line by the recovery tests
// of the bridge (bridge/recovery_test.go) and of protocol/socketio's seam
// (protocol/socketio/recovery_node_test.go).
//
// Reconnection is off: the test decides when the client is gone and when
// it comes back. It prints one JSON line on stdout for each thing that
// happens:
//
//   {"type":"connect","id":..,"recovered":bool,"pid":..,"offset":..,"transport":..}
//   {"type":"event","event":..,"args":[..]}   the offset is the last arg
//   {"type":"disconnect","reason":..}
//   {"type":"connect_error","message":..,"data":..}
//   {"type":"error","error":..}               then exit 1
//
// and reads commands on stdin, one a line:
//
//   drop                  close the transport as a lost network would: the
//                         socket keeps its pid and last offset
//   reconnect             connect again, sending {pid, offset} in the
//                         CONNECT auth as socket.io-client does
//   resume PID [OFFSET]   connect again claiming PID (and OFFSET; none:
//                         as a client that got no event): a forged or
//                         another user's pid, as an attacker would send it
//   move URL              the next connect goes to URL (another node), as
//                         behind a load balancer that sends it elsewhere
//   emit NAME JSON        emit NAME with the arguments of the JSON array
//   quit                  disconnect and exit 0
//
// Usage: node recovery.js --url URL [--transports websocket]
//                         [--timeout MS] [--auth JSON]
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

// socket.io-client keeps the pid and the last offset in these two fields
// (socket.js in 4.6+) and sends them in its next CONNECT.
socket.on('connect', () => {
  const engine = socket.io.engine;
  print({
    type: 'connect',
    id: socket.id,
    recovered: socket.recovered,
    pid: socket._pid,
    offset: socket._lastOffset,
    transport: engine && engine.transport ? engine.transport.name : null,
  });
});
socket.on('disconnect', (reason) => print({ type: 'disconnect', reason }));
socket.on('connect_error', (err) => print({ type: 'connect_error', message: err.message, data: err.data }));
socket.onAny((event, ...args) => print({ type: 'event', event, args }));

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, ...rest] = line.trim().split(' ');
  switch (cmd) {
    case 'drop':
      socket.io.engine.close();
      break;
    case 'reconnect':
      socket.connect();
      break;
    case 'resume':
      if (!socket.disconnected) return fail('resume while connected: drop first');
      socket._pid = rest[0];
      socket._lastOffset = rest[1];
      socket.connect();
      break;
    case 'emit': {
      const [name, ...json] = rest;
      socket.emit(name, ...JSON.parse(json.join(' ') || '[]'));
      break;
    }
    case 'move':
      // The manager opens each new engine on its uri.
      socket.io.uri = rest[0];
      break;
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
