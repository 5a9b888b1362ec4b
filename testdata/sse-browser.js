#!/usr/bin/env node
// sse-browser.js — open one headless Chromium page at --page and, from it,
// the browser's own EventSource on --url (another origin: CORS), and
// collect the events named --event. EventSource reconnects by itself when
// the stream ends, sending the id of the last event it got as
// Last-Event-ID; this script only watches. Output, one JSON object per
// line on stdout:
//
//   {"ready":true}                        the stream is open; the Go test may publish
//   {"ok":true,"events":[{"event","data","id"}...],"opens":N,"errors":N,"readyState":N}
//                                         once an event whose data is --last
//                                         arrived; exit code 0
//   {"ok":false,"error":"...",...}        exit code 1
//
// Usage:
//   node sse-browser.js --page http://127.0.0.1:PORT/ --url 'http://127.0.0.1:PORT/events?...' \
//        --event notification [--event natsock:reset] --last '"last"' [--timeout 40000]
//
// Environment: CHROMIUM overrides the browser binary (default /usr/bin/chromium).
'use strict';

const { CLOSE_MS, state, printLine, finish, fail, remaining } = require('./lib/browserrun');
let browser = null;
let page = null;
const diagnostics = state.diagnostics;

// A failure reports what the page's EventSource saw.
state.beforeFinish.push(async (result) => {
  if (!result.ok && page) {
    result.state = await page.evaluate(() => ({ got: window.got, opens: window.opens, errors: window.errors, readyState: window.es && window.es.readyState })).catch(() => null);
  }
});

function parseArgs(argv) {
  const cfg = { events: [], timeout: 40000, executablePath: process.env.CHROMIUM || '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${key} needs a value`);
    switch (key) {
      case '--page': cfg.page = value; break;
      case '--url': cfg.url = value; break;
      case '--event': cfg.events.push(value); break;
      case '--last': cfg.last = value; break;
      case '--timeout': cfg.timeout = Number(value); break;
      default: throw new Error(`unexpected argument: ${key}`);
    }
  }
  if (!cfg.page || !cfg.url || cfg.last === undefined) throw new Error('--page, --url and --last are required');
  if (cfg.events.length === 0) throw new Error('at least one --event is required');
  if (!(cfg.timeout > 0)) throw new Error('--timeout must be a positive number');
  return cfg;
}


async function run(cfg) {
  const { chromium } = require('playwright-core');
  browser = state.browser = await chromium.launch({
    executablePath: cfg.executablePath,
    headless: true,
    timeout: remaining(cfg),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext();
  page = await context.newPage();
  page.on('console', (m) => diagnostics.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => diagnostics.push(`pageerror: ${e.message}`));
  await page.goto(cfg.page, { timeout: remaining(cfg), waitUntil: 'load' });
  await page.evaluate(({ url, events }) => {
    window.got = [];
    window.opens = 0;
    window.errors = 0;
    const es = new EventSource(url);
    window.es = es;
    es.onopen = () => { window.opens++; };
    es.onerror = () => { window.errors++; };
    for (const name of events) {
      es.addEventListener(name, (e) => { window.got.push({ event: e.type, data: e.data, id: e.lastEventId }); });
    }
  }, { url: cfg.url, events: cfg.events });
  try {
    await page.waitForFunction(() => window.opens > 0, null, { timeout: remaining(cfg), polling: 50 });
  } catch (e) {
    throw new Error('timed out opening the stream');
  }
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  try {
    await page.waitForFunction((last) => window.got.some((e) => e.data === last), cfg.last, { timeout: remaining(cfg), polling: 50 });
  } catch (e) {
    throw new Error(`timed out waiting for ${cfg.last}`);
  }
  const out = await page.evaluate(() => ({ events: window.got, opens: window.opens, errors: window.errors, readyState: window.es.readyState }));
  return { ok: true, ...out };
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
  setTimeout(() => fail(new Error(`timeout after ${cfg.timeout} ms`)), Math.max(1, cfg.timeout - CLOSE_MS));
  run(cfg).then(finish, fail);
}

main();
