// run_browser_tests.mjs: proves that msock.js in a real browser talks to libmsock.
// It serves the page and js/*.js over http://127.0.0.1, starts browser_peer (C
// listeners for every SP role, and wss ones that also serve the page over https with
// certificates from tests/tls/make_certs.sh), drives headless Chromium through
// playwright-core, and prints TAP. Exit status 0 only when every case passed; a missing
// browser, playwright-core, openssl or peer is a failure, never a skip.
//
//   node tests/browser/run_browser_tests.mjs --peer PATH_TO_browser_peer
//
// Environment: MSOCK_NODE_MODULES (a node_modules dir holding playwright-core;
// default js/node_modules of this source tree), MSOCK_CHROMIUM (default
// /usr/bin/chromium), MSOCK_BROWSER_CASE_MS (time limit of one case, default 20000).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cases } from './cases.mjs';
import { Peer, bounded } from './peer.mjs';
import { startStaticServer } from './static_server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const JS_DIR = path.resolve(HERE, '../../js');
const CASE_MS = Number(process.env.MSOCK_BROWSER_CASE_MS) || 20000;
const SETUP_MS = 60000; // launching Chromium on a busy 2-core machine can take a while
const SUITE_MS = SETUP_MS + (cases.length + 2) * CASE_MS;

let peer = null;
let browser = null;
let server = null;
let tmpDir = null;

/** Everything printed for a failure, as TAP diagnostics. */
function diag(text) {
  for (const line of String(text).trim().split('\n')) if (line) console.log(`# ${line}`);
}

function parseArgs(argv) {
  const i = argv.indexOf('--peer');
  if (i < 0 || !argv[i + 1]) throw new Error('usage: run_browser_tests.mjs --peer PATH_TO_browser_peer');
  return { peerBin: path.resolve(argv[i + 1]) };
}

/** playwright-core from MSOCK_NODE_MODULES or js/node_modules, with a clear error if absent. */
function loadPlaywright() {
  const dir = process.env.MSOCK_NODE_MODULES || path.join(JS_DIR, 'node_modules');
  const pkg = path.join(dir, 'playwright-core', 'package.json');
  if (!existsSync(pkg)) {
    throw new Error(`playwright-core is not installed in ${dir}: run \`npm ci\` in js/ ` +
      '(or set MSOCK_NODE_MODULES to a node_modules dir that has it)');
  }
  const require = createRequire(pkg);
  const { version } = JSON.parse(readFileSync(pkg, 'utf8'));
  return { playwright: require(path.dirname(pkg)), version };
}

/**
 * For the wss cases: certificates, and a directory with the page and js/ (symbolic links)
 * that browser_peer's wss listener serves over https. Chromium is told to trust the server
 * certificate by the SHA-256 of its public key (not by turning certificate checks off).
 * @returns {{wss: {dir: string, cert: string, key: string}, spki: string}}
 */
function prepareWss() {
  tmpDir = mkdtempSync(path.join(os.tmpdir(), 'msock-browser-'));
  const certs = path.join(tmpDir, 'certs');
  execFileSync('sh', [path.join(HERE, '../tls/make_certs.sh'), certs], { stdio: ['ignore', 'ignore', 'pipe'] });
  const dir = path.join(tmpDir, 'www');
  mkdirSync(dir);
  symlinkSync(path.join(HERE, 'page.html'), path.join(dir, 'index.html'));
  symlinkSync(path.join(HERE, 'page_driver.js'), path.join(dir, 'page_driver.js'));
  symlinkSync(JS_DIR, path.join(dir, 'js'));
  const cert = path.join(certs, 'server.crt');
  const spki = execFileSync('sh', ['-c',
    'openssl x509 -pubkey -noout -in "$1" | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64',
    'sh', cert]).toString().trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(spki)) throw new Error(`cannot hash the server key of ${cert}: "${spki}"`);
  return { wss: { dir, cert, key: path.join(certs, 'server.key') }, spki };
}

async function setup(peerBin) {
  const { playwright, version } = loadPlaywright();
  const executablePath = process.env.MSOCK_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`no Chromium at ${executablePath}: install Debian's chromium package (or set MSOCK_CHROMIUM)`);
  }
  if (!existsSync(peerBin)) throw new Error(`no browser_peer at ${peerBin}: build it first (make check)`);
  const { wss, spki } = prepareWss();
  server = await startStaticServer(HERE, JS_DIR);
  peer = await Peer.start(peerBin, { port: 0, origin: server.origin, wss }, CASE_MS);
  // playwright turns Chromium's sandbox off by default (chromiumSandbox: false), which
  // running as root needs; /dev/shm is small in containers.
  browser = await playwright.chromium.launch({
    executablePath, headless: true, timeout: SETUP_MS,
    args: ['--disable-dev-shm-usage', `--ignore-certificate-errors-spki-list=${spki}`],
  });
  const page = await browser.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`page error: ${e.message}`));
  await page.goto(`${server.origin}/`, { timeout: SETUP_MS });
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: SETUP_MS });
  diag(`playwright-core ${version}, ${browser.version()}, peer on port ${peer.port}`);
  return { page, logs };
}

/** Calls window.T[fn](...args) in page. */
const pageT = (page) => (fn, ...args) => page.evaluate(({ fn, args }) => window.T[fn](...args), { fn, args });

function makeCtx(page, logs, peerBin, wss) {
  const where = { port: peer.port, origin: peer.origin, wss };
  return {
    T: pageT(page),
    get peer() { return peer; },
    /** A second page, loaded from url, for its own cases; its T, its protocol, and close. */
    async openPage(url) {
      const p = await browser.newPage();
      p.on('console', (m) => logs.push(`${url} console.${m.type()}: ${m.text()}`));
      p.on('pageerror', (e) => logs.push(`${url} page error: ${e.message}`));
      try {
        await p.goto(url, { timeout: CASE_MS / 2 });
        await p.waitForFunction(() => window.pageReady === true, null, { timeout: CASE_MS / 2 });
      } catch (err) {
        await p.close();
        throw err;
      }
      return { T: pageT(p), protocol: await p.evaluate(() => location.protocol), close: () => p.close() };
    },
    url: (p) => `ws://127.0.0.1:${where.port}/${p}`,
    async stopPeer(how) {
      if (how === 'kill') await peer.kill();
      else await peer.quit(CASE_MS / 2);
    },
    /** Start it again on the same port. A browser redial can briefly hold that port (a TCP
     * connect to a free port in the ephemeral range may connect to itself), so retry. */
    async startPeer() {
      const deadline = Date.now() + CASE_MS / 2;
      for (;;) {
        try {
          peer = await Peer.start(peerBin, where, CASE_MS / 2);
          return;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
  };
}

async function runCases(page, logs, peerBin) {
  const ctx = makeCtx(page, logs, peerBin, peer.wss);
  let failed = 0;
  for (const [i, c] of cases.entries()) {
    const n = i + 1;
    logs.length = 0;
    try {
      // A case that killed or crashed the peer must not fail the ones after it.
      if (!peer.alive) await ctx.startPeer();
      await bounded(c.run(ctx), CASE_MS, () => `timed out after ${CASE_MS} ms`);
      console.log(`ok ${n} - ${c.name}`);
    } catch (err) {
      failed++;
      console.log(`not ok ${n} - ${c.name}: ${String(err.message).split('\n')[0]}`);
      diag(err.message);
      if (peer.stderr) diag(`browser_peer stderr: ${peer.stderr}`);
      diag(logs.join('\n'));
      // Messages this case left queued in C would confuse the next cases: start afresh.
      await peer.kill();
    }
    // Close this case's browser sockets; page.evaluate of a plain call returns at once.
    await bounded(ctx.T('closeAll'), CASE_MS, () => 'closeAll timed out').catch((e) => diag(e.message));
  }
  return failed;
}

async function cleanup() {
  if (browser) await bounded(browser.close(), 10000, () => 'browser close timed out').catch(() => {});
  if (peer) await peer.kill();
  if (server) await server.close();
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
}

async function main() {
  console.log('TAP version 13');
  const watchdog = setTimeout(() => {
    console.log(`Bail out! the browser suite took longer than ${SUITE_MS} ms`);
    process.exit(1);
  }, SUITE_MS);
  watchdog.unref();
  let failed = 0;
  let total = cases.length;
  const t0 = Date.now();
  try {
    let page, logs, peerBin;
    try {
      ({ peerBin } = parseArgs(process.argv.slice(2)));
      ({ page, logs } = await setup(peerBin));
    } catch (err) {
      total = 1;
      failed = 1;
      console.log(`not ok 1 - setup: ${String(err.message).split('\n')[0]}`);
      diag(err.message);
      if (peer && peer.stderr) diag(`browser_peer stderr: ${peer.stderr}`);
    }
    if (page) failed = await runCases(page, logs, peerBin);
  } finally {
    await cleanup();
  }
  console.log(`1..${total}`);
  diag(`${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`browser: ${total - failed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

process.on('exit', () => { if (peer && peer.alive) peer.kill(); });
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (peer && peer.alive) peer.kill();
    process.exit(1);
  });
}

main().catch((err) => {
  console.log(`Bail out! ${err.stack || err}`);
  process.exit(1);
});
