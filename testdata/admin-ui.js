#!/usr/bin/env node
// admin-ui.js — drive the socket.io Admin UI's own page (npm
// @socket.io/admin-ui, its ui/dist served by the Go test) in headless
// Chromium against a natsock server, as a person would: log in with a
// wrong password (refused), then the right one, open the Sockets view and
// find the users' sockets with their transports, open one to see its rooms,
// and disconnect another with its button; then reload the page, which logs
// in again with the UI's session id. The users are real socket.io
// clients (npm socket.io-client 4.8.4) this script runs in node.
//
// Output, one JSON object a line on stdout; the last is
//   {"ok":true,"wrongPassword":"Invalid credentials","sockets":{NAME:{id,transport}},
//    "rooms":{NAME:[...]},"data":{NAME:{...}},"disconnected":{NAME:REASON},
//    "stillThere":{NAME:true},"reloadAsked":false}           exit code 0
//   {"ok":false,"error":"...","page":[...]}                 exit code 1
//
// Usage:
//   node admin-ui.js --ui http://127.0.0.1:PORT/ --server http://127.0.0.1:PORT \
//        --user ops --password PW --client alice:websocket:TOKEN --client bob:polling:TOKEN \
//        --disconnect bob [--screenshot file.png] [--timeout 60000]
//
// The first --client is the one whose rooms and data are read from its page.
// Environment: CHROMIUM overrides the browser binary (default /usr/bin/chromium).
'use strict';

const { CLOSE_MS, state, printLine, finish, fail, remaining } = require('./lib/browserrun');
let browser = null;
let page = null;
let failShot = null;
const clients = new Map();
const diagnostics = state.diagnostics;
state.keepDiagnostics = 30;

// A failure saves a screenshot of the UI; the node clients go either way.
state.beforeFinish.push(async (result) => {
  if (!result.ok && page && failShot) {
    await page.screenshot({ path: failShot }).then(() => { result.screenshot = failShot; });
  }
});
state.beforeFinish.push(() => {
  for (const c of clients.values()) c.socket.disconnect();
});

function parseArgs(argv) {
  const cfg = { clients: [], timeout: 60000, executablePath: process.env.CHROMIUM || '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${key} needs a value`);
    switch (key) {
      case '--ui': cfg.ui = value; break;
      case '--server': cfg.server = value; break;
      case '--user': cfg.user = value; break;
      case '--password': cfg.password = value; break;
      case '--disconnect': cfg.disconnect = value; break;
      case '--screenshot': cfg.screenshot = value; break;
      case '--timeout': cfg.timeout = Number(value); break;
      case '--client': {
        const [name, transport, ...token] = value.split(':');
        if (!name || !['websocket', 'polling'].includes(transport)) throw new Error('--client wants NAME:websocket|polling:TOKEN');
        cfg.clients.push({ name, transport, token: token.join(':') });
        break;
      }
      default: throw new Error(`unexpected argument: ${key}`);
    }
  }
  for (const k of ['ui', 'server', 'user', 'password', 'disconnect']) {
    if (!cfg[k]) throw new Error(`--${k} is required`);
  }
  if (cfg.clients.length < 2) throw new Error('at least two --client are required');
  if (!cfg.clients.some((c) => c.name === cfg.disconnect)) throw new Error('--disconnect names no --client');
  if (!(cfg.timeout > 0)) throw new Error('--timeout must be a positive number');
  return cfg;
}


// connectClient opens one user's socket.io connection in node.
function connectClient(cfg, c) {
  const { io } = require('sio-client-4.8.4');
  return new Promise((resolve, reject) => {
    const socket = io(cfg.server, {
      forceNew: true,
      reconnection: false,
      transports: [c.transport],
      auth: c.token ? { token: c.token } : {},
    });
    const entry = { socket, disconnected: null };
    clients.set(c.name, entry);
    socket.on('connect', () => resolve(socket.id));
    socket.on('connect_error', (err) => reject(new Error(`${c.name}: connect_error ${err.message}`)));
    socket.on('disconnect', (reason) => { entry.disconnected = reason; });
  });
}

async function until(cfg, what, fn) {
  const deadline = Date.now() + remaining(cfg);
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function login(cfg, page, password) {
  await page.getByLabel('Server URL').fill(cfg.server);
  await page.getByLabel('Username').fill(cfg.user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Connect' }).click();
}

// show opens one of the UI's views by its route (the page routes by hash).
async function show(page, route) {
  await page.evaluate((r) => { window.location.hash = r; }, route);
}

// socketRow is the Sockets view's table row of the socket id.
function socketRow(page, id) {
  return page.locator('tbody tr', { hasText: id });
}

async function run(cfg) {
  if (cfg.screenshot) failShot = cfg.screenshot.replace(/(\.png)?$/, '-failed.png');
  const ids = {};
  for (const c of cfg.clients) ids[c.name] = await connectClient(cfg, c);
  printLine({ ready: true, ids });

  const { chromium } = require('playwright-core');
  browser = state.browser = await chromium.launch({
    executablePath: cfg.executablePath,
    headless: true,
    timeout: remaining(cfg),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // The page links web fonts and icons from CDNs; there is no network here.
  await context.route(/^https?:\/\/(fonts\.googleapis\.com|fonts\.gstatic\.com|cdn\.jsdelivr\.net)\//, (r) => r.abort());
  page = await context.newPage();
  page.setDefaultTimeout(remaining(cfg));
  page.on('console', (m) => diagnostics.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => diagnostics.push(`pageerror: ${e.message}`));
  await page.goto(cfg.ui, { waitUntil: 'load' });

  // A wrong password is refused, with the UI's own message.
  printLine({ step: 'wrong password' });
  await login(cfg, page, cfg.password + '-wrong');
  const refusal = page.getByText('Invalid credentials');
  await refusal.waitFor({ state: 'visible' });
  const wrongPassword = (await refusal.textContent()).trim();

  // The right one gets in: the connection dialog goes.
  printLine({ step: 'right password' });
  await page.getByLabel('Password').fill(cfg.password);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByLabel('Server URL').waitFor({ state: 'hidden' });

  // The Sockets view lists every user's socket with its transport.
  printLine({ step: 'sockets view' });
  await show(page, '#/sockets/');
  const sockets = {};
  for (const c of cfg.clients) {
    const row = socketRow(page, ids[c.name]);
    await row.waitFor({ state: 'visible' });
    const text = await row.innerText();
    sockets[c.name] = {
      id: ids[c.name],
      transport: text.includes('WebSocket') ? 'websocket' : text.includes('HTTP long-polling') ? 'polling' : text,
    };
  }

  // The first client's page shows its rooms.
  printLine({ step: 'socket page', sockets });
  const first = cfg.clients[0].name;
  await socketRow(page, ids[first]).click();
  await page.getByText('Rooms', { exact: true }).first().waitFor({ state: 'visible' });
  const rooms = {};
  rooms[first] = await until(cfg, `${first}'s rooms`, async () => {
    const cells = await page.locator('.v-card', { hasText: 'Rooms' }).locator('tbody tr td:first-child').allInnerTexts();
    const names = cells.map((s) => s.trim()).filter((s) => s && s !== 'No data available');
    return names.length > 1 ? names : null;
  });
  const data = {};
  data[first] = JSON.parse(await page.locator('tr', { hasText: 'Data' }).locator('pre').innerText());
  if (cfg.screenshot) await page.screenshot({ path: cfg.screenshot, fullPage: true });

  // Disconnect one socket with its button in the Sockets view.
  printLine({ step: 'disconnect', rooms, data });
  await show(page, '#/sockets/');
  const victim = socketRow(page, ids[cfg.disconnect]);
  await victim.waitFor({ state: 'visible' });
  await victim.locator('button').click();
  const reason = await until(cfg, `${cfg.disconnect}'s disconnect`, () => clients.get(cfg.disconnect).disconnected);
  // The button's click is also the row's, which opens the socket's page:
  // back to the list, which no longer has it.
  await show(page, '#/sockets/');
  await socketRow(page, ids[cfg.clients[0].name]).waitFor({ state: 'visible' });
  await until(cfg, `${cfg.disconnect}'s row to go`, async () => (await victim.count()) === 0);
  const stillThere = {};
  for (const c of cfg.clients) {
    if (c.name !== cfg.disconnect) stillThere[c.name] = clients.get(c.name).disconnected === null && await socketRow(page, ids[c.name]).isVisible();
  }
  // A reload logs in again with the session id the UI keeps, without the
  // password: the connection dialog stays closed, the list comes back.
  printLine({ step: 'reload' });
  await page.reload({ waitUntil: 'load' });
  await show(page, '#/sockets/');
  await socketRow(page, ids[cfg.clients[0].name]).waitFor({ state: 'visible' });
  const reloadAsked = await page.getByLabel('Server URL').isVisible();
  await finish({ ok: true, wrongPassword, sockets, rooms, data, reloadAsked, disconnected: { [cfg.disconnect]: reason }, stillThere });
}

setTimeout(() => fail(new Error('hard timeout')), 120000).unref();
let cfg;
try {
  cfg = parseArgs(process.argv.slice(2));
} catch (e) {
  fail(e);
}
if (cfg) {
  setTimeout(() => fail(new Error(`timed out after ${cfg.timeout} ms`)), cfg.timeout).unref();
  run(cfg).catch(fail);
}
