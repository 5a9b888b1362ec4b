#!/usr/bin/env node
// browser.js — open the guide's page (testdata/guide/index.html, served by
// the Go test) in headless Chromium via playwright-core and check that
// notifications arrive. Output, one JSON object per line on stdout:
//
//   {"ready":true,"transport":"polling"}   page's socket is connected; the Go
//                                          test may now publish via NATS
//   {"ok":true,"notifications":[...],...}  exit code 0
//   {"ok":false,"error":"..."}             exit code 1
//
// Steps: wait for body[data-connected="1"], print the ready line, wait for a
// first .notification (published by the test), click #assign (the guide's
// Step 4 emit of 'taskAssigned' {taskName:'New Task'}), wait for a further
// .notification with text "New Task", optionally screenshot, report.
//
// Usage:
//   node browser.js --page 'http://127.0.0.1:PORT/?server=http://127.0.0.1:PORT' \
//        [--timeout 20000] [--screenshot /tmp/guide.png]
//
// Environment: CHROMIUM overrides the browser binary (default /usr/bin/chromium).
// playwright-core never downloads a browser; the system Chromium is used.
'use strict';

const { CLOSE_MS, state, printLine, finish, fail, remaining } = require('./lib/browserrun');
let browser = null;
const diagnostics = state.diagnostics; // page console messages and errors, reported on failure

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument: ${a}`);
    let key = a.slice(2);
    let value = true;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      value = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      value = argv[++i];
    }
    opts[key] = value;
  }
  const cfg = {
    page: opts.page,
    timeout: Number(opts.timeout || 20000),
    screenshot: typeof opts.screenshot === 'string' ? opts.screenshot : null,
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  };
  if (typeof cfg.page !== 'string') throw new Error('--page is required');
  if (!(cfg.timeout > 0)) throw new Error('--timeout must be a positive number');
  return cfg;
}

/**
 * Time left for a step: ends before the hard deadline (which itself leaves
 * CLOSE_MS to close the browser) so step-specific errors win.
 */

// ---------------------------------------------------------------------------
// Page helpers
// ---------------------------------------------------------------------------

function notificationTexts(page) {
  return page.$$eval('.notification', (els) => els.map((e) => e.textContent));
}

/** Wait until at least n .notification elements exist; `what` names the step. */
async function waitForNotifications(cfg, page, n, what) {
  try {
    await page.waitForFunction(
      (min) => document.querySelectorAll('.notification').length >= min,
      n,
      { timeout: remaining(cfg), polling: 50 },
    );
  } catch (e) {
    throw new Error(`timed out waiting for ${what}; notifications so far: ${JSON.stringify(await notificationTexts(page))}`);
  }
}

async function run(cfg) {
  const { chromium } = require('playwright-core');
  browser = state.browser = await chromium.launch({
    executablePath: cfg.executablePath,
    headless: true,
    timeout: remaining(cfg),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 800, height: 500 } });
  page.on('console', (m) => diagnostics.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => diagnostics.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => diagnostics.push(`requestfailed: ${r.url()} ${r.failure() && r.failure().errorText}`));

  await page.goto(cfg.page, { timeout: remaining(cfg), waitUntil: 'load' });

  try {
    await page.waitForFunction(() => document.body && document.body.dataset.connected === '1', null, {
      timeout: remaining(cfg),
      polling: 50,
    });
  } catch (e) {
    throw new Error('timed out waiting for the page to connect');
  }
  printLine({ ready: true, transport: await page.evaluate(() => document.body.dataset.transport) });

  // First notification: published by the Go test (via NATS) after "ready".
  await waitForNotifications(cfg, page, 1, 'the first notification');
  const first = await notificationTexts(page);

  // Step 4 of the guide: the page emits 'taskAssigned'; the server broadcasts
  // 'newTaskAssigned', which must show up as one more notification.
  await page.click('#assign', { timeout: remaining(cfg) });
  try {
    await page.waitForFunction(
      (skip) => Array.from(document.querySelectorAll('.notification'))
        .slice(skip)
        .some((e) => e.textContent === 'New Task'),
      first.length,
      { timeout: remaining(cfg), polling: 50 },
    );
  } catch (e) {
    throw new Error(`timed out waiting for the "New Task" notification; notifications so far: ${JSON.stringify(await notificationTexts(page))}`);
  }

  const notifications = await notificationTexts(page);
  const transport = await page.evaluate(() => document.body.dataset.transport);
  if (cfg.screenshot) await page.screenshot({ path: cfg.screenshot, timeout: remaining(cfg) });
  return { ok: true, notifications, transport, screenshot: cfg.screenshot || undefined };
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
  // Hard deadline: report and exit within --timeout even if playwright hangs
  // (CLOSE_MS is kept for closing the browser).
  setTimeout(() => fail(new Error(`timeout after ${cfg.timeout} ms`)), Math.max(1, cfg.timeout - CLOSE_MS));
  run(cfg).then(finish, fail);
}

main();
