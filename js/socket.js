// The Socket base class: options, dialers and pipes, the receive queue, sends
// that wait for a pipe, events and close. The roles in roles.js add the SP
// protocol logic through the _onAttach/_onDetach/_onMessage/_tooLarge hooks.

import { Dialer } from './dialer.js';
import { AbortError, ClosedError, NotSupportedError, ProtocolError, TimeoutError, TooLargeError } from './errors.js';
import { PROTOCOLS, decodeText, toBytes } from './wire.js';

/**
 * Socket options. Times are in milliseconds; a negative time means "no limit".
 * @typedef {object} SocketOptions
 * @property {typeof WebSocket} [WebSocket] constructor to use (default: globalThis.WebSocket)
 * @property {number} [connectTimeout=10000] give up on a WebSocket handshake after this; <= 0 = never
 * @property {number} [reconnectMin=100] first wait before redialing
 * @property {number} [reconnectMax=30000] the wait doubles up to this; not above reconnectMin = no backoff
 * @property {boolean} [jitter=true] draw each wait from the upper half of the current value
 * @property {() => number} [random=Math.random] random source for the jitter (tests)
 * @property {number} [recvMaxSize=1048576] larger received messages are dropped with a TooLargeError; 0 = no limit
 * @property {number} [recvTimeout=-1] default timeout of recv()
 * @property {number} [sendTimeout=-1] default time a send waits for a pipe (PUSH, PAIR, PAIR1)
 * @property {number} [maxTtl=8] most backtrace words (REP, RESPONDENT) or hops (PAIR1), 1..255
 * @property {number} [resendInterval=60000] REQ: resend an unanswered request after this; <= 0 = never
 * @property {number} [requestTimeout=-1] REQ: default timeout of request()
 * @property {number} [surveyTime=1000] SURVEYOR: default survey deadline
 */

/** @type {Required<Omit<SocketOptions, 'WebSocket'>>} */
export const DEFAULTS = Object.freeze({
  connectTimeout: 10000,
  reconnectMin: 100,
  reconnectMax: 30000,
  jitter: true,
  random: Math.random,
  recvMaxSize: 1048576,
  recvTimeout: -1,
  sendTimeout: -1,
  maxTtl: 8,
  resendInterval: 60000,
  requestTimeout: -1,
  surveyTime: 1000,
});

/**
 * A pending operation: a promise with its resolve/reject, an optional timeout
 * and an optional AbortSignal. `onDone` runs once, however it settles.
 * @param {number} timeout ms, negative = none
 * @param {AbortSignal | undefined} signal
 * @param {string} what for the timeout message
 * @param {() => void} onDone
 */
export function makeWaiter(timeout, signal, what, onDone) {
  /** @type {{promise: Promise<any>, resolve: (v?: any) => void, reject: (e: Error) => void, settled: boolean}} */
  const w = { promise: null, resolve: null, reject: null, settled: false };
  let timer = null;
  const onAbort = () => w.reject(new AbortError(`${what} aborted`));
  w.promise = new Promise((resolve, reject) => {
    const finish = (fn) => (v) => {
      if (w.settled) return;
      w.settled = true;
      if (timer) clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', onAbort);
      onDone();
      fn(v);
    };
    w.resolve = finish(resolve);
    w.reject = finish(reject);
  });
  if (timeout >= 0) timer = setTimeout(() => w.reject(new TimeoutError(`${what} timed out after ${timeout} ms`)), timeout);
  if (signal) {
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return w;
}

/** Remove `item` from `list` if present. @param {any[]} list @param {any} item */
function remove(list, item) {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

/**
 * @typedef {object} WaitOptions
 * @property {number} [timeout] ms; overrides the socket's default
 * @property {AbortSignal} [signal] aborts the wait with an AbortError
 */

/**
 * Base of all sockets. Events (an EventTarget; `event.detail` holds the data):
 * - "pipeopen" {pipe}: a connection is up;  "pipeclose" {pipe}: it is gone;
 * - "reconnect" {url, delay, failures}: the next dial attempt is in `delay` ms;
 * - "error" {error, url?, pipe?}: a connection-level problem (bad subprotocol,
 *   text frame, malformed header, oversized message). The socket carries on.
 */
export class Socket extends EventTarget {
  /**
   * @param {string} role one of the PROTOCOLS keys
   * @param {SocketOptions} [options]
   */
  constructor(role, options = {}) {
    super();
    if (!PROTOCOLS[role]) throw new TypeError(`unknown SP role "${role}"`);
    /** @type {string} */
    this.role = role;
    /** @type {Required<SocketOptions>} */
    this.options = { ...DEFAULTS, WebSocket: globalThis.WebSocket, ...options };
    const ttl = this.options.maxTtl;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw new RangeError('maxTtl must be 1..255');
    this.closed = false;
    /** @type {Set<Dialer>} */
    this.dialers = new Set();
    /** Open pipes, oldest first. @type {import('./dialer.js').Pipe[]} */
    this.pipes = [];
    /** Counters, named like libmsock's MSOCK_STAT_*. */
    this.stats = {
      msgsSent: 0, msgsRecv: 0, bytesSent: 0, bytesRecv: 0, pipesOpened: 0, reconnects: 0,
      dropsStale: 0, dropsNoSub: 0, dropsTtl: 0, dropsMalformed: 0, dropsTooLarge: 0, dropsNoPipe: 0,
    };
    this._queue = [];      // received items (or {error}) not yet taken by recv()
    this._receivers = [];  // waiters of recv()
    this._senders = [];    // waiters of sends that need a pipe
    this._connWaiters = [];
    this._rr = -1;
  }

  /** The SP number of this socket, e.g. 0x30 for REQ. */
  get protocol() { return PROTOCOLS[this.role].number; }
  /** The role of the peer, e.g. "rep" for REQ. */
  get peer() { return PROTOCOLS[this.role].peer; }

  /**
   * Start dialing `url` (ws:// or wss://) in the background, and keep redialing
   * with backoff whenever the connection fails or drops.
   * @param {string} url @returns {Dialer} call `close()` on it to stop
   */
  dial(url) {
    if (this.closed) throw new ClosedError();
    const d = new Dialer(this, url);
    this.dialers.add(d);
    return d;
  }

  /**
   * Resolves once at least one pipe is open.
   * @param {WaitOptions} [opts] @returns {Promise<void>}
   */
  whenConnected(opts = {}) {
    if (this.closed) return Promise.reject(new ClosedError());
    if (this.pipes.length) return Promise.resolve();
    return this._wait(this._connWaiters, opts.timeout ?? -1, opts.signal, 'connect').promise;
  }

  /**
   * Send one message. Which pipes get it and whether it waits depends on the role.
   * @param {string | Uint8Array | ArrayBuffer | ArrayBufferView} data strings go as UTF-8
   * @param {WaitOptions} [opts]
   * @returns {Promise<void>} resolves when handed to a WebSocket (or dropped by policy)
   */
  async send(data, opts = {}) {
    if (this.closed) throw new ClosedError();
    return this._send(toBytes(data), opts);
  }

  /**
   * Receive the next message.
   * @param {WaitOptions} [opts] @returns {Promise<Uint8Array>}
   */
  async recv(opts = {}) {
    return this._recvItem(opts);
  }

  /**
   * Receive the next message as UTF-8 text.
   * @param {WaitOptions} [opts] @returns {Promise<string>}
   */
  async recvString(opts = {}) {
    return decodeText(await this.recv(opts));
  }

  /** Receive messages until the socket closes: `for await (const m of sock)`. */
  async *[Symbol.asyncIterator]() {
    for (;;) {
      try {
        yield await this.recv();
      } catch (err) {
        if (err instanceof ClosedError) return;
        throw err;
      }
    }
  }

  /** Close the socket: stop dialing, close pipes, reject every pending operation with ClosedError. */
  close() {
    if (this.closed) return;
    this.closed = true;
    for (const d of this.dialers) d.close();
    this.dialers.clear();
    for (const list of [this._receivers, this._senders, this._connWaiters]) {
      for (const w of [...list]) w.reject(new ClosedError());
    }
    this._queue = [];
    this._onClose();
  }

  // ---- role interface (overridden in roles.js) ----

  /** @param {Uint8Array} bytes @param {WaitOptions} opts @returns {Promise<void>} */
  async _send(bytes, opts) { // eslint-disable-line no-unused-vars
    throw new NotSupportedError(`${this.role} sockets cannot send`);
  }
  /** @param {import('./dialer.js').Pipe} pipe @param {Uint8Array} bytes */
  _onMessage(pipe, bytes) { } // eslint-disable-line no-unused-vars
  /** @param {import('./dialer.js').Pipe} pipe */
  _onAttach(pipe) { } // eslint-disable-line no-unused-vars
  /** @param {import('./dialer.js').Pipe} pipe */
  _onDetach(pipe) { } // eslint-disable-line no-unused-vars
  _onClose() { }
  /** An oversized message arrived; by default the next recv() rejects with `err`. */
  _tooLarge(pipe, bytes, err) { if (this._canRecv) this._deliverError(err); } // eslint-disable-line no-unused-vars
  /** Whether recv() works on this role. */
  get _canRecv() { return true; }

  // ---- helpers for roles ----

  /** @param {WaitOptions} opts @returns {Promise<any>} */
  async _recvItem(opts) {
    if (this.closed) throw new ClosedError();
    if (!this._canRecv) throw new NotSupportedError(`${this.role} sockets cannot receive`);
    if (this._queue.length) {
      const item = this._queue.shift();
      if (item && item.error) throw item.error;
      return item.value;
    }
    return this._wait(this._receivers, opts.timeout ?? this.options.recvTimeout, opts.signal, 'recv').promise;
  }

  /** A waiter kept in `list` until it settles. */
  _wait(list, timeout, signal, what) {
    let w = null;
    w = makeWaiter(timeout, signal, what, () => { if (w) remove(list, w); });
    if (!w.settled) list.push(w);
    return w;
  }

  /** Hand a received item to the oldest waiting recv(), or queue it. */
  _deliver(value) {
    if (this._receivers.length) this._receivers[0].resolve(value);
    else this._queue.push({ value });
  }

  /** @param {Error} error */
  _deliverError(error) {
    if (this._receivers.length) this._receivers[0].reject(error);
    else this._queue.push({ error });
  }

  /** The next open pipe, round-robin, or null. */
  _nextPipe() {
    if (!this.pipes.length) return null;
    this._rr = (this._rr + 1) % this.pipes.length;
    return this.pipes[this._rr];
  }

  /** Send on one pipe and count it. @returns {boolean} */
  _sendOn(pipe, bytes) {
    if (!pipe.send(bytes)) return false;
    this.stats.msgsSent++;
    this.stats.bytesSent += bytes.length;
    return true;
  }

  /** Send to every open pipe, never waiting (PUB, BUS, SURVEYOR). */
  _broadcast(bytes) {
    let any = false;
    for (const p of this.pipes) any = p.send(bytes) || any;
    this.stats.msgsSent++;
    if (any) this.stats.bytesSent += bytes.length;
  }

  /** Send on one pipe round-robin, waiting for one up to the send timeout (PUSH, PAIR). */
  _sendOne(bytes, opts) {
    const pipe = this._nextPipe();
    if (pipe && this._sendOn(pipe, bytes)) return Promise.resolve();
    const w = this._wait(this._senders, opts.timeout ?? this.options.sendTimeout, opts.signal, 'send');
    w.bytes = bytes;
    return w.promise;
  }

  /** A pipe went bad: count, report and close it. */
  _malformed(pipe, why) {
    this.stats.dropsMalformed++;
    this._emit('error', { pipe, error: new ProtocolError(why) });
    pipe.close(why);
  }

  /** @param {string} type @param {object} detail */
  _emit(type, detail) {
    if (type === 'reconnect') this.stats.reconnects++;
    const ev = new Event(type);
    ev.detail = detail;
    this.dispatchEvent(ev);
  }

  // ---- called by Dialer ----

  _attach(pipe) {
    if (this.closed) { pipe.close('socket closed'); return; }
    this.pipes.push(pipe);
    this.stats.pipesOpened++;
    this._onAttach(pipe);
    while (this._senders.length) {
      const p = this._nextPipe();
      if (!p || !this._sendOn(p, this._senders[0].bytes)) break;
      this._senders[0].resolve();
    }
    for (const w of [...this._connWaiters]) w.resolve();
    this._emit('pipeopen', { pipe });
  }

  _detach(pipe) {
    remove(this.pipes, pipe);
    if (!this.closed) this._onDetach(pipe);
    this._emit('pipeclose', { pipe });
  }

  _receive(pipe, data) {
    if (typeof data === 'string') {
      this._malformed(pipe, 'text frame received; SP uses binary frames');
      return;
    }
    let bytes;
    try { bytes = toBytes(data); } catch {
      this._malformed(pipe, 'unexpected message type (binaryType must be "arraybuffer")');
      return;
    }
    this.stats.msgsRecv++;
    this.stats.bytesRecv += bytes.length;
    const max = this.options.recvMaxSize;
    if (max > 0 && bytes.length > max) {
      this.stats.dropsTooLarge++;
      const error = new TooLargeError(bytes.length, max);
      this._emit('error', { pipe, error });
      this._tooLarge(pipe, bytes, error);
      return;
    }
    this._onMessage(pipe, bytes);
  }
}
