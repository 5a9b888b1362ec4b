#!/usr/bin/env node
// auth-browser.js — open one headless Chromium page per user, each in its
// own browser context (its own cookies and storage), connect each page's
// socket.io client (the page at --page loads /socket.io.js) to --server
// with that user's token in the auth payload, and collect the
// "notification" events each page receives. Output, one JSON object per
// line on stdout:
//
//   {"ready":true}                       every page is connected; the Go test
//                                        may now publish
//   {"ok":true,"pages":{"NAME":[first args...]}}   once each page has received
//                                        "last-NAME"; exit code 0
//   {"ok":false,"error":"..."}           exit code 1
//
// Usage:
//   node auth-browser.js --page http://127.0.0.1:PORT/ --server http://127.0.0.1:PORT \
//        --user alice=TOKEN --user bob=TOKEN [--timeout 40000]
//
// Environment: CHROMIUM overrides the browser binary (default /usr/bin/chromium).
'use strict';

const { CLOSE_MS, START, state, printLine, finish, fail, remaining } = require('./lib/browserrun');
let browser = null;
const diagnostics = state.diagnostics;

function parseArgs(argv) {
  const cfg = { users: [], timeout: 40000, executablePath: process.env.CHROMIUM || '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${key} needs a value`);
    switch (key) {
      case '--page': cfg.page = value; break;
      case '--server': cfg.server = value; break;
      case '--timeout': cfg.timeout = Number(value); break;
      case '--user': {
        const eq = value.indexOf('=');
        if (eq <= 0) throw new Error('--user wants NAME=TOKEN');
        cfg.users.push({ name: value.slice(0, eq), token: value.slice(eq + 1) });
        break;
      }
      default: throw new Error(`unexpected argument: ${key}`);
    }
  }
  if (!cfg.page || !cfg.server) throw new Error('--page and --server are required');
  if (cfg.users.length === 0) throw new Error('at least one --user is required');
  if (!(cfg.timeout > 0)) throw new Error('--timeout must be a positive number');
  return cfg;
}


async function openPage(cfg, user) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => diagnostics.push(`${user.name} console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => diagnostics.push(`${user.name} pageerror: ${e.message}`));
  await page.goto(cfg.page, { timeout: remaining(cfg), waitUntil: 'load' });
  await page.evaluate(({ server, token }) => {
    window.got = [];
    window.state = 'connecting';
    const socket = io(server, { auth: { token } });
    socket.on('connect', () => { window.state = 'connected'; });
    socket.on('connect_error', (err) => { window.state = 'refused: ' + err.message; });
    socket.on('notification', (first) => { window.got.push(first); });
  }, { server: cfg.server, token: user.token });
  try {
    await page.waitForFunction(() => window.state !== 'connecting', null, { timeout: remaining(cfg), polling: 50 });
  } catch (e) {
    throw new Error(`${user.name}: timed out connecting`);
  }
  const state = await page.evaluate(() => window.state);
  if (state !== 'connected') throw new Error(`${user.name}: ${state}`);
  return page;
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
  const pages = [];
  for (const user of cfg.users) pages.push(await openPage(cfg, user));
  printLine({ ready: true });
  const out = {};
  await Promise.all(cfg.users.map(async (user, i) => {
    const last = 'last-' + user.name;
    try {
      await pages[i].waitForFunction((l) => window.got.includes(l), last, { timeout: remaining(cfg), polling: 50 });
    } catch (e) {
      throw new Error(`${user.name}: timed out waiting for ${last}; got ${JSON.stringify(await pages[i].evaluate(() => window.got))}`);
    }
    out[user.name] = await pages[i].evaluate(() => window.got);
  }));
  return { ok: true, pages: out };
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
