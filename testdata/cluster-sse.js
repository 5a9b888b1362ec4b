#!/usr/bin/env node
// cluster-sse.js — a server-sent events reader with EventSource's
// semantics, on Node's fetch, counting a numbered stream of events across
// reconnects for natsock's cluster tests. It prints JSON lines on stdout:
//
//   {"ready":true}                          once the first stream is open
//   {"connect":N,"lastEventId":...}          on every stream opened (N from 1)
//   {"got":N,"seq":S,"id":...}               after every event, with --progress true
//   {"ok":true,...} or {"ok":false,"error":"...",...}   the final line
//
// Usage:
//   node cluster-sse.js --url http://127.0.0.1:PORT --event load --last N
//        [--timeout 20000] [--settle 300] [--progress true]
//
// It opens GET URL/events?events=EVENT. As EventSource does, it keeps the
// id of the last event it received (the id: field) and, when the stream
// ends or breaks, opens it again after 100ms with that id in the
// Last-Event-ID header, so that the server resumes after it. Every event
// named --event must carry a number as its data. The run ends --settle ms
// after the event numbered --last arrives, or fails at --timeout.
//
// The final line holds:
//   seqs      every sequence number received, in arrival order
//   connects  [{status, lastEventId}] one per stream opened: the HTTP status
//             and the Last-Event-ID it was opened with (null the first time)
//   resets    the data of every natsock:reset event (a resume that could
//             not be served: the events in between are lost)
//   foreign   events named --event whose data is not a number
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
} catch (e) {
  finish({ ok: false, error: e.message });
  return;
}
const event = opts.event || 'load';
const last = Number(opts.last);
const timeout = Number(opts.timeout || 20000);
const settle = Number(opts.settle || 300);
const progress = opts.progress === 'true';

const seqs = [];
const connects = [];
const resets = [];
let foreign = 0;
let lastEventId = null;
let controller = null;

function result(ok, error) {
  if (controller) controller.abort();
  const r = { ok, seqs, connects, resets, foreign, lastEventId };
  if (error) r.error = error;
  return r;
}

setTimeout(() => {
  const top = seqs.length ? Math.max(...seqs) : null;
  finish(result(false, `timeout after ${timeout}ms: ${seqs.length} events, highest ${top}, want up to ${last}`));
}, timeout).unref();
const keepAlive = setInterval(() => {}, 1000);

function dispatch(name, data, id) {
  if (id !== undefined) lastEventId = id;
  if (name === 'natsock:reset') {
    resets.push(data);
    return;
  }
  if (name !== event) return;
  const seq = Number(data);
  if (data === '' || !Number.isFinite(seq)) {
    foreign++;
    return;
  }
  seqs.push(seq);
  if (progress) process.stdout.write(JSON.stringify({ got: seqs.length, seq, id: lastEventId }) + '\n');
  if (seq === last) {
    setTimeout(() => {
      clearInterval(keepAlive);
      finish(result(true));
    }, settle);
  }
}

// read parses one stream as EventSource does: lines ending in \n, \r\n or
// \r; "field: value"; a blank line dispatches the event gathered so far.
async function read(body) {
  const decoder = new TextDecoder();
  let buf = '';
  let name = '';
  let data = [];
  let id;
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    for (;;) {
      const m = /\r\n|\r|\n/.exec(buf);
      if (!m) break;
      // A lone \r at the end may be the first half of \r\n.
      if (m[0] === '\r' && m.index === buf.length - 1) break;
      const line = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      if (line === '') {
        if (data.length > 0) dispatch(name || 'message', data.join('\n'), id);
        else if (id !== undefined) lastEventId = id;
        name = '';
        data = [];
        id = undefined;
        continue;
      }
      if (line.startsWith(':')) continue; // a comment: keep-alive
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') name = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id' && !value.includes('\0')) id = value;
    }
  }
}

async function main() {
  const url = opts.url.replace(/\/$/, '') + '/events?events=' + encodeURIComponent(event);
  while (!finished) {
    controller = new AbortController();
    const headers = { Accept: 'text/event-stream' };
    if (lastEventId !== null) headers['Last-Event-ID'] = lastEventId;
    try {
      const resp = await fetch(url, { headers, signal: controller.signal });
      connects.push({ status: resp.status, lastEventId: headers['Last-Event-ID'] ?? null });
      process.stdout.write(JSON.stringify({ connect: connects.length, status: resp.status, lastEventId: headers['Last-Event-ID'] ?? null }) + '\n');
      if (resp.status === 200) {
        if (connects.length === 1) process.stdout.write(JSON.stringify({ ready: true }) + '\n');
        await read(resp.body);
      } else {
        await resp.body?.cancel();
      }
    } catch (_) {
      // The node is gone or the stream broke: open it again, as
      // EventSource does.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

main().catch((e) => finish(result(false, String(e && e.stack || e))));
