// A Dialer keeps one WebSocket connection to one ws:// or wss:// URL open,
// redialing with backoff after failures. Each open connection is a Pipe that
// it hands to its socket. A browser can only dial, so there is no listener.

import { ProtocolError } from './errors.js';
import { backoffDelay, subprotocolFor } from './wire.js';

const OPEN = 1;
let nextPipeId = 1;

/** One open WebSocket connection of a socket. */
export class Pipe {
  /**
   * @param {Dialer} dialer @param {WebSocket} ws
   */
  constructor(dialer, ws) {
    /** Local id, unique in this process. @type {number} */
    this.id = nextPipeId++;
    /** @type {Dialer} */
    this.dialer = dialer;
    /** @type {string} */
    this.url = dialer.url;
    /** @type {WebSocket} */
    this.ws = ws;
    /** False once the pipe has closed. */
    this.open = true;
  }

  /**
   * Send one SP message as one binary WebSocket message.
   * @param {Uint8Array} bytes @returns {boolean} false when the pipe is closed
   */
  send(bytes) {
    if (!this.open || this.ws.readyState !== OPEN) return false;
    this.ws.send(bytes);
    return true;
  }

  /**
   * Close this connection. The dialer redials after its backoff.
   * @param {string} [reason]
   */
  close(reason = '') {
    this.dialer._pipeClosed(this, reason, true);
  }
}

/**
 * @typedef {object} DialerHost what a Dialer needs from its socket
 * @property {string} role
 * @property {Required<import('./socket.js').SocketOptions>} options
 * @property {(pipe: Pipe) => void} _attach
 * @property {(pipe: Pipe) => void} _detach
 * @property {(pipe: Pipe, data: unknown) => void} _receive
 * @property {(type: string, detail: object) => void} _emit
 * @property {Set<Dialer>} dialers
 */

/** Keeps one URL dialed. Made by `socket.dial(url)`. */
export class Dialer {
  /**
   * @param {DialerHost} host @param {string} url
   */
  constructor(host, url) {
    const u = new URL(url);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
      throw new TypeError(`msock can only dial ws:// or wss:// URLs, not "${url}"`);
    }
    const WS = host.options.WebSocket;
    if (typeof WS !== 'function') {
      throw new TypeError('no WebSocket implementation: pass options.WebSocket');
    }
    /** @type {string} */
    this.url = url;
    this._host = host;
    this._WS = WS;
    this._subprotocol = subprotocolFor(host.role);
    /** Failed attempts in a row. */
    this.failures = 0;
    /** @type {Pipe | null} */
    this.pipe = null;
    /** @type {WebSocket | null} */
    this._ws = null;
    this._timer = null;
    this.closed = false;
    this._connect();
  }

  _connect() {
    this._timer = null;
    if (this.closed) return;
    let ws;
    try {
      ws = new this._WS(this.url, this._subprotocol); // exactly one subprotocol
    } catch (err) {
      this._host._emit('error', { url: this.url, error: err });
      this._retry();
      return;
    }
    this._ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      if (this.closed) return;
      // nng's dialer insists on the echoed subprotocol; so do we.
      if (ws.protocol !== this._subprotocol) {
        this._host._emit('error', {
          url: this.url,
          error: new ProtocolError(`server chose subprotocol "${ws.protocol}", wanted "${this._subprotocol}"`),
        });
        this._drop(ws);
        return;
      }
      clearTimeout(this._timer);
      this._timer = null;
      this.failures = 0;
      const pipe = new Pipe(this, ws);
      this.pipe = pipe;
      ws.onmessage = (ev) => { if (pipe.open) this._host._receive(pipe, ev.data); };
      ws.onclose = ws.onerror = () => this._pipeClosed(pipe, '', false);
      this._host._attach(pipe);
    };
    ws.onmessage = null;
    // Browsers fire close after error; some Node versions fire only error.
    ws.onerror = ws.onclose = () => { if (this._ws === ws) this._drop(ws); };
    const limit = this._host.options.connectTimeout;
    if (limit > 0) {
      this._timer = setTimeout(() => {
        this._timer = null;
        if (this._ws === ws && !this.pipe) this._drop(ws);
      }, limit);
    }
  }

  /** Give up on a connection that never became a pipe. @param {WebSocket} ws */
  _drop(ws) {
    clearTimeout(this._timer);
    this._timer = null;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(); } catch { /* already closing */ }
    if (this._ws === ws) this._ws = null;
    this._retry();
  }

  _retry() {
    if (this.closed) return;
    const delay = backoffDelay(this.failures, this._host.options, this._host.options.random);
    this.failures++;
    this._host._emit('reconnect', { url: this.url, delay, failures: this.failures });
    this._timer = setTimeout(() => this._connect(), delay);
  }

  /**
   * @param {Pipe} pipe @param {string} reason
   * @param {boolean} local we close it (bad message), rather than the peer
   */
  _pipeClosed(pipe, reason, local) {
    if (!pipe.open) return;
    pipe.open = false;
    const ws = pipe.ws;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    if (local) { try { ws.close(1000, reason); } catch { /* already closing */ } }
    if (this.pipe === pipe) this.pipe = null;
    if (this._ws === ws) this._ws = null;
    this._host._detach(pipe);
    this._retry();
  }

  /** Stop dialing and close the connection, if any. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this._host.dialers.delete(this);
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
    if (this.pipe) this._pipeClosed(this.pipe, 'closed', true);
    if (this._ws) {
      const ws = this._ws;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch { /* already closing */ }
      this._ws = null;
    }
  }
}
