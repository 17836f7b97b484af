// The SP roles on top of Socket. Headers follow SP-WIRE.md §5 and
// docs/PROTOCOLS.md: REQ/REP and SURVEYOR/RESPONDENT use a backtrace of 32-bit
// big-endian words ending in an id with bit 31 set, PAIR1 a hop count, and the
// others no header at all.

import { ClosedError, MsockError, NotSupportedError, StateError } from './errors.js';
import { GroupSocket } from './group.js';
import { Socket, makeWaiter } from './socket.js';
import {
  bytesEqual, decodeText, hasPrefix, nextId, randomId, readU32, splitBacktrace, splitPair1,
  toBytes, withHeader,
} from './wire.js';

/** @typedef {import('./socket.js').SocketOptions} SocketOptions */
/** @typedef {import('./socket.js').WaitOptions} WaitOptions */
/** @typedef {import('./dialer.js').Pipe} Pipe */
/** @typedef {string | Uint8Array | ArrayBuffer | ArrayBufferView} Payload */

/** PAIR v0: one peer, no header, both directions. */
export class PairSocket extends Socket {
  /** @param {SocketOptions} [options] */
  constructor(options, role = 'pair') { super(role, options); }

  /** A PAIR socket has one peer, so it dials one URL. @param {string} url */
  dial(url) {
    if (this.dialers.size) throw new StateError(`a ${this.role} socket dials one URL only`);
    return super.dial(url);
  }

  _send(bytes, opts) { return this._sendOne(this._wrap(bytes), opts); }
  _wrap(bytes) { return bytes; }
  _onMessage(pipe, bytes) { this._deliver(bytes); }
}

/** PAIR1 (nng only): like PAIR, with a 32-bit hop count in front of every message. */
export class Pair1Socket extends PairSocket {
  /** @param {SocketOptions} [options] */
  constructor(options) { super(options, 'pair1'); }

  _wrap(bytes) { return withHeader([1], bytes); }

  _onMessage(pipe, bytes) {
    const r = splitPair1(bytes, this.options.maxTtl);
    if (r.ok) this._deliver(r.body);
    else if (r.reason === 'ttl') this.stats.dropsTtl++;
    else this._malformed(pipe, 'malformed PAIR1 hop count');
  }
}

/** PUB: every message goes to every connected subscriber; never waits. */
export class PubSocket extends Socket {
  /** @param {SocketOptions} [options] */
  constructor(options) { super('pub', options); }
  async _send(bytes) { this._broadcast(bytes); }
  get _canRecv() { return false; }
}

/** SUB: receives the messages whose body starts with one of its topics. */
export class SubSocket extends Socket {
  /** @param {SocketOptions} [options] */
  constructor(options) {
    super('sub', options);
    /** @type {Uint8Array[]} */
    this._topics = [];
  }

  /**
   * Receive messages starting with `topic` ("" = everything). Subscribing twice is harmless.
   * @param {Payload} topic
   */
  subscribe(topic) {
    const t = toBytes(topic);
    if (!this._topics.some((x) => bytesEqual(x, t))) this._topics.push(t.slice());
  }

  /**
   * Stop receiving `topic`. Throws an MsockError with code "ENOENT" if not subscribed.
   * Messages already queued stay queued.
   * @param {Payload} topic
   */
  unsubscribe(topic) {
    const t = toBytes(topic);
    const i = this._topics.findIndex((x) => bytesEqual(x, t));
    if (i < 0) throw new MsockError('not subscribed to this topic', 'ENOENT');
    this._topics.splice(i, 1);
  }

  /** Copies of the current topics. @returns {Uint8Array[]} */
  get topics() { return this._topics.map((t) => t.slice()); }

  _onMessage(pipe, bytes) {
    if (this._topics.some((t) => hasPrefix(bytes, t))) this._deliver(bytes);
    else this.stats.dropsNoSub++;
  }
}

/** PUSH: each message to one PULL peer, round-robin; waits for a peer. */
export class PushSocket extends Socket {
  /** @param {SocketOptions} [options] */
  constructor(options) { super('push', options); }
  _send(bytes, opts) { return this._sendOne(bytes, opts); }
  get _canRecv() { return false; }
}

/** PULL: receives from all its PUSH peers. */
export class PullSocket extends Socket {
  /** @param {SocketOptions} [options] */
  constructor(options) { super('pull', options); }
  _onMessage(pipe, bytes) { this._deliver(bytes); }
}

/** BUS: sends to every directly connected peer (never waits), receives from all. */
export class BusSocket extends Socket {
  /** @param {SocketOptions} [options] */
  constructor(options) { super('bus', options); }
  async _send(bytes) { this._broadcast(bytes); }
  _onMessage(pipe, bytes) { this._deliver(bytes); }
}

/** Free id for a new request or survey, counting up from a random start. */
function allocId(socket, map) {
  let id = socket._lastId === undefined ? randomId() : nextId(socket._lastId);
  while (map.has(id)) id = nextId(id);
  socket._lastId = id;
  return id;
}

/**
 * REQ: `request()` sends a request and resolves with its reply. Any number of
 * requests may be outstanding, each with its own id (like libmsock contexts).
 * A request is resent every `resendInterval` ms, and at once on another pipe
 * when its pipe closes (or when a pipe comes up, if none is open).
 */
export class ReqSocket extends Socket {
  /** @param {SocketOptions} [options] */
  constructor(options) {
    super('req', options);
    /** Outstanding requests by id. @type {Map<number, {id: number, msg: Uint8Array, pipe: Pipe | null, timer: any, w: any}>} */
    this._requests = new Map();
  }

  /**
   * Send a request and wait for its reply. Rejects with TimeoutError after
   * `timeout` (default `requestTimeout`); a late reply is then dropped.
   * @param {Payload} data @param {WaitOptions} [opts] @returns {Promise<Uint8Array>}
   */
  request(data, opts = {}) {
    if (this.closed) return Promise.reject(new ClosedError());
    let body;
    try { body = toBytes(data); } catch (err) { return Promise.reject(err); }
    const id = allocId(this, this._requests);
    const st = { id, msg: withHeader([id], body), pipe: null, timer: null, w: null };
    st.w = makeWaiter(opts.timeout ?? this.options.requestTimeout, opts.signal, 'request', () => {
      clearTimeout(st.timer);
      this._requests.delete(id);
    });
    if (st.w.settled) return st.w.promise;
    this._requests.set(id, st);
    this._transmit(st);
    return st.w.promise;
  }

  /**
   * `request()` with the reply decoded as UTF-8.
   * @param {Payload} data @param {WaitOptions} [opts] @returns {Promise<string>}
   */
  async requestString(data, opts) { return decodeText(await this.request(data, opts)); }

  /** The ids of the outstanding requests. @returns {number[]} */
  get pending() { return [...this._requests.keys()]; }

  async _send() { throw new NotSupportedError('use request() on a REQ socket'); }
  get _canRecv() { return false; }

  _transmit(st) {
    clearTimeout(st.timer);
    st.timer = null;
    st.pipe = this._nextPipe();
    if (!st.pipe) return; // sent when a pipe attaches
    this._sendOn(st.pipe, st.msg);
    const ivl = this.options.resendInterval;
    if (ivl > 0) st.timer = setTimeout(() => this._transmit(st), ivl);
  }

  _onAttach() {
    for (const st of this._requests.values()) if (!st.pipe) this._transmit(st);
  }

  _onDetach(pipe) {
    for (const st of this._requests.values()) if (st.pipe === pipe) this._transmit(st);
  }

  _onMessage(pipe, bytes) {
    if (bytes.length < 4) { this._malformed(pipe, 'reply shorter than its 4-byte id'); return; }
    const st = this._requests.get(readU32(bytes, 0));
    if (st) st.w.resolve(bytes.subarray(4));
    else this.stats.dropsStale++;
  }

  _tooLarge(pipe, bytes, err) {
    const st = bytes.length >= 4 && this._requests.get(readU32(bytes, 0));
    if (st) st.w.reject(err);
  }

  _onClose() {
    for (const st of [...this._requests.values()]) st.w.reject(new ClosedError());
  }
}

/** A request received by REP (or a survey received by RESPONDENT). */
export class IncomingRequest {
  /**
   * @param {RepSocket} socket @param {Pipe} pipe
   * @param {Uint8Array} backtrace @param {Uint8Array} body
   */
  constructor(socket, pipe, backtrace, body) {
    this.socket = socket;
    /** The pipe it came on; the reply goes back on it. */
    this.pipe = pipe;
    /** The header words, echoed unchanged in front of the reply. */
    this.backtrace = backtrace;
    /** The request body, without the header. */
    this.body = body;
    this.answered = false;
  }

  /** The body as UTF-8 text. @returns {string} */
  text() { return decodeText(this.body); }

  /** The request (or survey) id: the last backtrace word. @returns {number} */
  get id() { return readU32(this.backtrace, this.backtrace.length - 4); }

  /**
   * Answer this request. Throws StateError if already answered.
   * @param {Payload} data
   * @returns {boolean} false if its pipe was gone (the reply is dropped; the requester resends)
   */
  reply(data) {
    if (this.answered) throw new StateError('request already answered');
    if (this.socket.closed) throw new ClosedError();
    const body = toBytes(data);
    this.answered = true;
    const msg = new Uint8Array(this.backtrace.length + body.length);
    msg.set(this.backtrace, 0);
    msg.set(body, this.backtrace.length);
    if (this.pipe.open && this.socket._sendOn(this.pipe, msg)) return true;
    this.socket.stats.dropsNoPipe++;
    return false;
  }
}

/**
 * REP: receives requests and answers them on the pipe they came from, with
 * their backtrace. Either `recv()` then `send()` (answers the request received
 * last), or `recvRequest()` and `req.reply()` to answer in any order.
 */
export class RepSocket extends Socket {
  /** @param {SocketOptions} [options] */
  constructor(options, role = 'rep') {
    super(role, options);
    /** @type {IncomingRequest | null} */
    this._current = null;
  }

  /** The next request, with its backtrace and pipe. @param {WaitOptions} [opts] @returns {Promise<IncomingRequest>} */
  recvRequest(opts = {}) { return this._recvItem(opts); }

  /** The next request's body; `send()` answers it. @param {WaitOptions} [opts] @returns {Promise<Uint8Array>} */
  async recv(opts = {}) {
    const req = await this._recvItem(opts);
    this._current = req;
    return req.body;
  }

  /** Answer the request received last by `recv()`; StateError if there is none. @param {Payload} data */
  async send(data) {
    if (this.closed) throw new ClosedError();
    const req = this._current;
    if (!req || req.answered) throw new StateError('no request to answer');
    this._current = null;
    req.reply(data);
  }

  /**
   * Answer every request with `handler(body, request)` until the socket closes.
   * The handler may return a Payload or a Promise of one; returning undefined
   * sends no reply. A throwing handler sends no reply and emits "error".
   * @param {(body: Uint8Array, req: IncomingRequest) => Payload | undefined | Promise<Payload | undefined>} handler
   * @returns {Promise<void>} resolves when the socket closes
   */
  async serve(handler) {
    for (;;) {
      let req;
      try { req = await this.recvRequest(); } catch (err) {
        if (err instanceof ClosedError) return;
        throw err;
      }
      Promise.resolve()
        .then(() => handler(req.body, req))
        .then((out) => { if (out !== undefined && !req.answered && !this.closed) req.reply(out); })
        .catch((error) => this._emit('error', { pipe: req.pipe, error }));
    }
  }

  _onMessage(pipe, bytes) {
    const r = splitBacktrace(bytes, this.options.maxTtl);
    if (r.ok) this._deliver(new IncomingRequest(this, pipe, r.backtrace, r.body));
    else if (r.reason === 'ttl') this.stats.dropsTtl++;
    else this._malformed(pipe, 'request without an id word (bit 31 set)');
  }
}

/** RESPONDENT: answers surveys exactly as REP answers requests. */
export class RespondentSocket extends RepSocket {
  /** @param {SocketOptions} [options] */
  constructor(options) { super(options, 'respondent'); }

  /** Same as `recvRequest()`. @param {WaitOptions} [opts] */
  recvSurvey(opts) { return this.recvRequest(opts); }
}

/**
 * @typedef {object} SurveyOptions
 * @property {number} [timeout] the deadline in ms (default: the socket's `surveyTime`)
 * @property {AbortSignal} [signal] ends the survey early; it then resolves with what it has
 * @property {number} [max] resolve as soon as this many responses arrived
 * @property {(body: Uint8Array, pipe: Pipe) => void} [onResponse] called for each response as it arrives
 */

/**
 * SURVEYOR: `survey()` sends to every connected respondent and collects the
 * responses until the deadline. Surveys may overlap; each has its own id.
 * There are no resends: a respondent that connects later misses the survey.
 */
export class SurveyorSocket extends Socket {
  /** @param {SocketOptions} [options] */
  constructor(options) {
    super('surveyor', options);
    /** @type {Map<number, {responses: Uint8Array[], opts: SurveyOptions, w: any}>} */
    this._surveys = new Map();
  }

  /**
   * Send a survey and resolve, at its deadline, with all responses received.
   * @param {Payload} data @param {SurveyOptions} [opts] @returns {Promise<Uint8Array[]>}
   */
  survey(data, opts = {}) {
    if (this.closed) return Promise.reject(new ClosedError());
    let body;
    try { body = toBytes(data); } catch (err) { return Promise.reject(err); }
    const id = allocId(this, this._surveys);
    const st = { responses: [], opts, w: null };
    // The deadline is the normal end of a survey, not an error: resolve with what came.
    st.w = makeWaiter(-1, undefined, 'survey', () => {
      clearTimeout(timer);
      if (opts.signal) opts.signal.removeEventListener('abort', finish);
      this._surveys.delete(id);
    });
    const finish = () => st.w.resolve(st.responses);
    const timer = setTimeout(finish, opts.timeout ?? this.options.surveyTime);
    if (opts.signal) {
      if (opts.signal.aborted) { finish(); return st.w.promise; }
      opts.signal.addEventListener('abort', finish, { once: true });
    }
    this._surveys.set(id, st);
    this._broadcast(withHeader([id], body));
    return st.w.promise;
  }

  /** `survey()` with the responses decoded as UTF-8. @param {Payload} data @param {SurveyOptions} [opts] @returns {Promise<string[]>} */
  async surveyStrings(data, opts) { return (await this.survey(data, opts)).map(decodeText); }

  async _send() { throw new NotSupportedError('use survey() on a SURVEYOR socket'); }
  get _canRecv() { return false; }

  _onMessage(pipe, bytes) {
    if (bytes.length < 4) { this._malformed(pipe, 'response shorter than its 4-byte id'); return; }
    const st = this._surveys.get(readU32(bytes, 0));
    if (!st) { this.stats.dropsStale++; return; }
    const body = bytes.subarray(4);
    st.responses.push(body);
    if (st.opts.onResponse) {
      try { st.opts.onResponse(body, pipe); } catch (error) { this._emit('error', { pipe, error }); }
    }
    if (st.opts.max > 0 && st.responses.length >= st.opts.max) st.w.resolve(st.responses);
  }

  _onClose() {
    for (const st of [...this._surveys.values()]) st.w.reject(new ClosedError());
  }
}

const CLASSES = {
  pair: PairSocket, pair1: Pair1Socket, pub: PubSocket, sub: SubSocket, req: ReqSocket,
  rep: RepSocket, push: PushSocket, pull: PullSocket, surveyor: SurveyorSocket,
  respondent: RespondentSocket, bus: BusSocket, group: GroupSocket,
};

/**
 * Make a socket of `role`: "req", "rep", "pub", "sub", "push", "pull", "pair",
 * "pair1", "bus", "surveyor", "respondent" or "group" (a GroupSocket, see group.js).
 * @param {string} role @param {SocketOptions} [options] @returns {Socket}
 */
export function socket(role, options) {
  const C = CLASSES[role];
  if (!C) throw new TypeError(`unknown SP role "${role}"`);
  return new C(options);
}
