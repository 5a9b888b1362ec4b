// browserrun.js — what every headless-Chromium driver under testdata/
// shares: one final JSON line on stdout, the browser closed within a
// bounded time, and the exit code (0 for {"ok":true}, 1 otherwise).
//
//   const run = require('./lib/browserrun');
//   run.state.browser = await chromium.launch(...);   // closed by finish
//   run.state.diagnostics.push('console: ...');       // reported on failure
//   run.state.beforeFinish.push(async (result) => {}); // bounded, before the line
//   run.finish({ ok: true, ... });  run.fail(err);  run.remaining(cfg)
'use strict';

const CLOSE_MS = 1000; // budget for each step of finishing: a hook, closing the browser
const START = Date.now();

const state = {
  finished: false,
  browser: null,
  diagnostics: [], // page console messages and errors, reported on failure
  keepDiagnostics: 20,
  beforeFinish: [],
};

function printLine(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function bounded(promise) {
  return Promise.race([Promise.resolve(promise).catch(() => {}), new Promise((r) => setTimeout(r, CLOSE_MS))]);
}

// finish prints the final line, closes the browser (bounded) and exits.
// Only the first call has an effect.
async function finish(result) {
  if (state.finished) return;
  state.finished = true;
  result.ms = Date.now() - START;
  if (!result.ok && state.diagnostics.length) result.page = state.diagnostics.slice(-state.keepDiagnostics);
  for (const hook of state.beforeFinish) await bounded(hook(result));
  printLine(result);
  if (state.browser) await bounded(state.browser.close());
  process.exit(result.ok ? 0 : 1);
}

function fail(err) {
  return finish({ ok: false, error: err instanceof Error ? err.message : String(err) });
}

// remaining is what is left of cfg.timeout, less the time finishing takes.
function remaining(cfg) {
  return Math.max(1, cfg.timeout - (Date.now() - START) - CLOSE_MS - 500);
}

module.exports = { CLOSE_MS, START, state, printLine, finish, fail, remaining };
