// SP wire helpers: protocol table, 32-bit big-endian header words, the REQ/REP
// backtrace, PAIR1 hop counts, subscription prefixes, UTF-8 and the reconnect
// backoff. Pure functions with no I/O, so they are easy to test.

/**
 * Role names and their SP numbers (protocol id * 16 + role), with the peer role.
 * See SP-WIRE.md §4; the group client's number is from the SP local-use range.
 * @type {Readonly<Record<string, {number: number, peer: string}>>}
 */
export const PROTOCOLS = Object.freeze({
  pair: { number: 0x10, peer: 'pair' },
  pair1: { number: 0x11, peer: 'pair1' },
  pub: { number: 0x20, peer: 'sub' },
  sub: { number: 0x21, peer: 'pub' },
  req: { number: 0x30, peer: 'rep' },
  rep: { number: 0x31, peer: 'req' },
  push: { number: 0x50, peer: 'pull' },
  pull: { number: 0x51, peer: 'push' },
  surveyor: { number: 0x62, peer: 'respondent' },
  respondent: { number: 0x63, peer: 'surveyor' },
  bus: { number: 0x70, peer: 'bus' },
  // libmsock's group pattern (docs/group-protocol.md), from the SP local-use range.
  group: { number: 0xF01, peer: 'group-hub' },
});

/** Bit 31 marks the last word of a backtrace: the request or survey id. */
export const ID_BIT = 0x80000000;

/**
 * The one WebSocket subprotocol a dialer of `role` must ask for: the name of
 * the server's (listener's) protocol, i.e. our peer's (SP-WIRE.md §3.1).
 * @param {string} role e.g. "req"
 * @returns {string} e.g. "rep.sp.nanomsg.org"
 */
export function subprotocolFor(role) {
  const p = PROTOCOLS[role];
  if (!p) throw new TypeError(`unknown SP role "${role}"`);
  return `${p.peer}.sp.nanomsg.org`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/** UTF-8 encode a string. @param {string} s @returns {Uint8Array} */
export function encodeText(s) { return encoder.encode(s); }

/** UTF-8 decode bytes (invalid sequences become U+FFFD). @param {Uint8Array} b @returns {string} */
export function decodeText(b) { return decoder.decode(b); }

/**
 * Normalise a payload to a Uint8Array. Strings are UTF-8 encoded.
 * Typed arrays and DataViews are viewed, not copied.
 * @param {string | Uint8Array | ArrayBuffer | ArrayBufferView} data
 * @returns {Uint8Array}
 */
export function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') return encodeText(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('payload must be a string, Uint8Array, ArrayBuffer or ArrayBufferView');
}

/**
 * Read the big-endian 32-bit word at `offset`.
 * @param {Uint8Array} b @param {number} offset @returns {number} unsigned
 */
export function readU32(b, offset) {
  return ((b[offset] << 24) | (b[offset + 1] << 16) | (b[offset + 2] << 8) | b[offset + 3]) >>> 0;
}

/**
 * Write `v` as a big-endian 32-bit word at `offset`.
 * @param {Uint8Array} b @param {number} offset @param {number} v
 */
export function writeU32(b, offset, v) {
  b[offset] = (v >>> 24) & 0xff;
  b[offset + 1] = (v >>> 16) & 0xff;
  b[offset + 2] = (v >>> 8) & 0xff;
  b[offset + 3] = v & 0xff;
}

/**
 * A new message: `words` as big-endian 32-bit words, then `body`.
 * @param {number[]} words @param {Uint8Array} body @returns {Uint8Array}
 */
export function withHeader(words, body) {
  const out = new Uint8Array(4 * words.length + body.length);
  words.forEach((w, i) => writeU32(out, 4 * i, w));
  out.set(body, 4 * words.length);
  return out;
}

/**
 * A random 32-bit id with bit 31 set, from crypto.getRandomValues when available.
 * @returns {number}
 */
export function randomId() {
  const c = globalThis.crypto;
  const r = c && c.getRandomValues
    ? c.getRandomValues(new Uint32Array(1))[0]
    : Math.floor(Math.random() * 0x100000000);
  return (r | ID_BIT) >>> 0;
}

/**
 * The id after `id`: the low 31 bits count up and wrap, bit 31 stays set.
 * @param {number} id @returns {number}
 */
export function nextId(id) {
  return (ID_BIT | ((id + 1) & 0x7fffffff)) >>> 0;
}

/**
 * Split a REQ/SURVEYOR request as received by REP/RESPONDENT (SP-WIRE.md §5.1):
 * words are popped until one has bit 31 set (inclusive).
 * @param {Uint8Array} msg
 * @param {number} maxTtl most words allowed, the id included
 * @returns {{ok: true, backtrace: Uint8Array, body: Uint8Array}
 *   | {ok: false, reason: 'malformed' | 'ttl'}}
 *   'malformed': no word with bit 31 before the end (the pipe should be closed);
 *   'ttl': more than maxTtl words (drop the message, keep the pipe).
 */
export function splitBacktrace(msg, maxTtl) {
  let words = 0;
  for (let off = 0; off + 4 <= msg.length; off += 4) {
    words++;
    if (words > maxTtl) return { ok: false, reason: 'ttl' };
    if (msg[off] & 0x80) {
      return { ok: true, backtrace: msg.subarray(0, off + 4), body: msg.subarray(off + 4) };
    }
  }
  return { ok: false, reason: 'malformed' };
}

/**
 * Check a PAIR1 message (SP-WIRE.md §5.6) and strip its hop count.
 * @param {Uint8Array} msg @param {number} maxTtl
 * @returns {{ok: true, hops: number, body: Uint8Array} | {ok: false, reason: 'malformed' | 'ttl'}}
 */
export function splitPair1(msg, maxTtl) {
  if (msg.length < 4) return { ok: false, reason: 'malformed' };
  const hops = readU32(msg, 0);
  if (hops > 0xff) return { ok: false, reason: 'malformed' };
  if (hops > maxTtl) return { ok: false, reason: 'ttl' };
  return { ok: true, hops, body: msg.subarray(4) };
}

/**
 * True when `prefix` is a byte prefix of `body` (the SUB filter, SP-WIRE.md §5.3).
 * @param {Uint8Array} body @param {Uint8Array} prefix @returns {boolean}
 */
export function hasPrefix(body, prefix) {
  if (prefix.length > body.length) return false;
  for (let i = 0; i < prefix.length; i++) if (body[i] !== prefix[i]) return false;
  return true;
}

/**
 * True when the two byte arrays hold the same bytes.
 * @param {Uint8Array} a @param {Uint8Array} b @returns {boolean}
 */
export function bytesEqual(a, b) {
  return a.length === b.length && hasPrefix(a, b);
}

/**
 * The wait before reconnect attempt number `failures` (0 for the first retry),
 * as libmsock's C dialer does it: the base starts at `min` and doubles after
 * each failure in a row, up to `max` (a `max` not above `min` means no
 * backoff). With jitter the wait is drawn from the upper half of the base.
 * @param {number} failures failures in a row so far, minus one
 * @param {{reconnectMin: number, reconnectMax: number, jitter?: boolean}} opts
 * @param {() => number} [random] source of numbers in [0, 1)
 * @returns {number} milliseconds
 */
export function backoffDelay(failures, opts, random = Math.random) {
  const min = Math.max(1, opts.reconnectMin);
  let base = min;
  if (opts.reconnectMax > min) {
    base = Math.min(opts.reconnectMax, min * 2 ** Math.min(failures, 30));
  }
  if (opts.jitter === false) return base;
  return Math.floor(base / 2 + random() * (base / 2));
}
