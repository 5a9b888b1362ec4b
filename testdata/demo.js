#!/usr/bin/env node
// demo.js — drive natsock's demo page (natsock serve --demo) in headless
// Chromium, as a person would, and save a screenshot. Output, one JSON
// object per line on stdout:
//
//   {"ready":true,"status":"connected · websocket · SID"}
//                         the page says connected; the Go test may publish
//   {"ok":true,"toast":"...","emitted":"...","points":N,"screenshot":"PATH"}
//                         a toast showed --expect-toast, the form emitted
//                         --emit (its taskName), the chart has at least 3
//                         points with a connected socket; exit code 0
//   {"ok":false,"error":"..."}                               exit code 1
//
// Usage:
//   node demo.js --page http://127.0.0.1:PORT/ --expect-toast TEXT --emit TEXT \
//        --screenshot PATH [--timeout 40000]
//
// Environment: CHROMIUM overrides the browser binary (default /usr/bin/chromium).
'use strict';

const { CLOSE_MS, START, state, printLine, finish, fail, remaining } = require('./lib/browserrun');
let browser = null;
const diagnostics = state.diagnostics;

function parseArgs(argv) {
  const cfg = { timeout: 40000, executablePath: process.env.CHROMIUM || '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${key} needs a value`);
    switch (key) {
      case '--page': cfg.page = value; break;
      case '--expect-toast': cfg.expectToast = value; break;
      case '--emit': cfg.emit = value; break;
      case '--screenshot': cfg.screenshot = value; break;
      case '--timeout': cfg.timeout = Number(value); break;
      default: throw new Error(`unexpected argument: ${key}`);
    }
  }
  for (const k of ['page', 'expectToast', 'emit', 'screenshot']) {
    if (!cfg[k]) throw new Error(`--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} is required`);
  }
  if (!(cfg.timeout > 0)) throw new Error('--timeout must be a positive number');
  return cfg;
}


async function main() {
  const cfg = parseArgs(process.argv.slice(2));
  setTimeout(() => fail(new Error(`timed out after ${cfg.timeout}ms`)), cfg.timeout - CLOSE_MS).unref();
  const { chromium } = require('playwright-core');
  browser = state.browser = await chromium.launch({ executablePath: cfg.executablePath, headless: true, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('console', (m) => diagnostics.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => diagnostics.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => diagnostics.push(`requestfailed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  await page.goto(cfg.page, { timeout: remaining(cfg) });

  // 1. The status says connected (after the upgrade to websocket).
  await page.waitForFunction(() => {
    const s = document.getElementById('status');
    return s.dataset.state === 'connected' && s.textContent.includes('websocket');
  }, null, { timeout: remaining(cfg) });
  printLine({ ready: true, status: await page.textContent('#status') });

  // 2. What the Go test publishes on NATS shows as a toast.
  await page.waitForFunction((text) => [...document.querySelectorAll('#toasts .toast')]
    .some((t) => t.textContent.includes(text)), cfg.expectToast, { timeout: remaining(cfg) });
  const toast = await page.textContent('#toasts .toast:last-child');

  // 3. The form emits taskAssigned; the Go test sees it on NATS, and it
  // comes back as a notification through the --map rule.
  await page.fill('#task-name', cfg.emit);
  await page.selectOption('#emit-event', 'taskAssigned');
  await page.click('#emit-form button[type=submit]');
  await page.waitForFunction((text) => [...document.querySelectorAll('#notifications li')]
    .some((li) => li.textContent.includes(text)), cfg.emit, { timeout: remaining(cfg) });

  // 4. The chart has points, with this page's socket counted.
  await page.waitForFunction(() => {
    const c = document.getElementById('chart');
    return Number(c.dataset.points) >= 3 && Number(c.dataset.sockets) >= 1;
  }, null, { timeout: remaining(cfg) });
  const points = Number(await page.getAttribute('#chart', 'data-points'));

  await page.screenshot({ path: cfg.screenshot, fullPage: false });
  await finish({ ok: true, toast, emitted: cfg.emit, points, screenshot: cfg.screenshot });
}

main().catch(fail);
