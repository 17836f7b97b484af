// page_driver.js: runs in the browser. It opens msock.js sockets on request of
// run_browser_tests.mjs (through page.evaluate) and exposes small helpers on
// window.T. Payloads cross the page boundary as hex strings so binary bodies
// survive; every helper that waits takes a timeout in ms. Group client ids cross it
// as decimal strings, because BigInts do not.

import { socket, bytesEqual, GroupSocket } from '/js/msock.js';

/**
 * Open sockets by name, with the reconnect events seen, who waits for more of them, and
 * the requests started by startRequest().
 * @type {Map<string, {sock: any, reconnects: {delay: number, failures: number}[],
 *   waiters: Set<() => void>, started: Map<string, Promise<string>>}>}
 */
const socks = new Map();

function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** "-" stands for an empty body, as on browser_peer's command line. */
function fromHex(hex) {
  if (hex === '-') hex = '';
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The same bytes as browser_peer.c's pattern_byte(). */
function pattern(len, seed) {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (i * 131 + seed * 7 + (i >>> 8)) & 0xff;
  return out;
}

/** Why `got` is not `pattern(len, seed)`, or '' when it is. */
function patternMismatch(got, len, seed) {
  if (got.length !== len) return `got ${got.length} bytes, wanted ${len}`;
  const want = pattern(len, seed);
  if (bytesEqual(got, want)) return '';
  let i = 0;
  while (got[i] === want[i]) i++;
  return `byte ${i} differs`;
}

function get(name) {
  const s = socks.get(name);
  if (!s) throw new Error(`no socket named ${name}`);
  return s;
}

/** Group call arguments: "id:N" strings become BigInt ids, inside arrays and objects too. */
function groupArg(v) {
  if (typeof v === 'string' && /^id:\d+$/.test(v)) return BigInt(v.slice(3));
  if (Array.isArray(v)) return v.map(groupArg);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, groupArg(x)]));
  return v;
}

/** Group call results for the runner: BigInts as decimal strings, bytes as hex. */
function groupResult(v) {
  if (typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(groupResult);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, groupResult(x)]));
  return v;
}

const T = {
  /** Open a socket of `role` and dial `url`; options as in msock.js. */
  open(name, role, url, options = {}) {
    if (socks.has(name)) throw new Error(`socket ${name} already open`);
    const sock = socket(role, options);
    const entry = { sock, reconnects: [], waiters: new Set(), started: new Map() };
    sock.addEventListener('reconnect', (e) => {
      entry.reconnects.push({ delay: e.detail.delay, failures: e.detail.failures });
      for (const wake of entry.waiters) wake();
    });
    socks.set(name, entry);
    sock.dial(url);
  },

  connected(name, ms) { return get(name).sock.whenConnected({ timeout: ms }); },

  subscribe(name, hex) { get(name).sock.subscribe(fromHex(hex)); },

  async send(name, hex, ms) { await get(name).sock.send(fromHex(hex), { timeout: ms }); },

  async recv(name, ms) { return toHex(await get(name).sock.recv({ timeout: ms })); },

  async request(name, hex, ms) { return toHex(await get(name).sock.request(fromHex(hex), { timeout: ms })); },

  /** Survey and return the responses, ending early once `max` are in. */
  async survey(name, hex, max, ms) {
    return (await get(name).sock.survey(fromHex(hex), { timeout: ms, max })).map(toHex);
  },

  /** REP or RESPONDENT: answer every request with `prefix` + its body. */
  serve(name, prefixHex) {
    const prefix = fromHex(prefixHex);
    get(name).sock.serve((body) => {
      const out = new Uint8Array(prefix.length + body.length);
      out.set(prefix);
      out.set(body, prefix.length);
      return out;
    });
  },

  async sendPattern(name, len, seed, ms) { await get(name).sock.send(pattern(len, seed), { timeout: ms }); },

  /** Receive one message and check it byte for byte; '' when it matches. */
  async recvPattern(name, len, seed, ms) {
    return patternMismatch(await get(name).sock.recv({ timeout: ms }), len, seed);
  },

  /** REQ: send the pattern, and check the echoed reply byte for byte; '' when it matches. */
  async requestPattern(name, len, seed, ms) {
    return patternMismatch(await get(name).sock.request(pattern(len, seed), { timeout: ms }), len, seed);
  },

  /** Start a request without waiting for it; `settled(tag)` waits for its reply. */
  startRequest(name, hex, ms, tag) {
    const entry = get(name);
    const reply = entry.sock.request(fromHex(hex), { timeout: ms }).then(toHex);
    reply.catch(() => {}); // reported through settled(), not as an unhandled rejection
    entry.started.set(tag, reply);
  },

  settled(name, tag) { return get(name).started.get(tag); },

  /** Resolves with the reconnect events once there are `count` of them. */
  waitReconnects(name, count, ms) {
    const entry = get(name);
    return new Promise((resolve, reject) => {
      const check = () => {
        if (entry.reconnects.length < count) return;
        entry.waiters.delete(check);
        clearTimeout(timer);
        resolve(entry.reconnects.slice());
      };
      const timer = setTimeout(() => {
        entry.waiters.delete(check);
        reject(new Error(`${entry.reconnects.length} reconnect attempts in ${ms} ms, wanted ${count}`));
      }, ms);
      entry.waiters.add(check);
      check();
    });
  },

  /** Forget the reconnects seen so far. */
  clearReconnects(name) { get(name).reconnects.length = 0; },

  pipes(name) { return get(name).sock.pipes.length; },

  /** A group socket named `name`, connected to the hub at `url` (GroupSocket.connect). */
  async gopen(name, url, ms, options = {}) {
    if (socks.has(name)) throw new Error(`socket ${name} already open`);
    const sock = await GroupSocket.connect(url, { ...options, callTimeout: ms });
    socks.set(name, { sock, reconnects: [], waiters: new Set(), started: new Map() });
  },

  /**
   * Call `method` of group socket `name` with `args` ("id:N" for ids). Resolves with
   * {value} (BigInts as strings, bytes as hex), or {error: {code, status, unknown}} when
   * the call rejects, so that the runner can check error codes.
   */
  async gcall(name, method, args = []) {
    const sock = get(name).sock;
    try {
      return { value: groupResult(await sock[method](...groupArg(args))) };
    } catch (err) {
      return { error: { code: err.code, status: err.status, message: err.message, unknown: groupResult(err.unknown) } };
    }
  },

  /** The next item of group socket `name`: {kind, event, group, from, data (hex), error (code)}. */
  async grecv(name, ms) {
    const it = await get(name).sock.recv({ timeout: ms });
    return { ...groupResult({ ...it, error: null }), error: it.error ? it.error.code : null };
  },

  stats(name) { return { ...get(name).sock.stats }; },

  closeAll() {
    for (const { sock } of socks.values()) sock.close();
    socks.clear();
  },
};

window.T = T;
window.pageReady = true;
