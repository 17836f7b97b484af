// The group pattern's client (docs/group-protocol.md): GroupSocket dials a libmsock group hub
// over ws://, and the codec of the hub's small binary messages, kept as pure functions.

import { ClosedError, GroupError, NotSupportedError, ProtocolError, StateError } from './errors.js';
import { Socket, makeWaiter } from './socket.js';
import { decodeText, randomId, readU32, toBytes } from './wire.js';

/** @typedef {import('./socket.js').SocketOptions} SocketOptions */
/** @typedef {import('./socket.js').WaitOptions} WaitOptions */
/** @typedef {import('./dialer.js').Pipe} Pipe */
/** @typedef {string | Uint8Array | ArrayBuffer | ArrayBufferView} Payload */
/** @typedef {bigint | number} IdLike a client id: a BigInt, or a safe non-negative integer */

/** Longest group name, password, and relay id list (bytes, bytes, ids), as in msock.h. */
export const GROUP_NAME_MAX = 255;
export const GROUP_PASSWORD_MAX = 255;
export const GROUP_RELAY_MAX = 255;

/** Message types on the wire. */
export const GROUP_TYPES = Object.freeze({
  LIST: 0x01, CREATE: 0x02, JOIN: 0x03, LEAVE: 0x04, DELETE: 0x05, WHOAMI: 0x06, PEERS: 0x07,
  RELAY: 0x08, SEND: 0x10, REPLY: 0x81, DATA: 0x90, RELAYED: 0x91, EVENT: 0xA0, CLOSING: 0xB0,
});
const T = GROUP_TYPES;
const OP_NAMES = { 1: 'list', 2: 'create', 3: 'join', 4: 'leave', 5: 'delete', 6: 'whoami', 7: 'peers', 8: 'relay' };

/** Status names by number, with the error code of each and why it happens. */
const STATUSES = [
  ['OK', '', 'ok'],
  ['NOT_FOUND', 'ENOENT', 'no such group or member'],
  ['EXISTS', 'EEXIST', 'already exists'],
  ['DENIED', 'EACCES', 'wrong password'],
  ['FULL', 'ENOSPC', 'the group is full'],
  ['MASTER_PRESENT', 'EBUSY', 'the group has a master already'],
  ['NOT_MASTER', 'EPERM', 'only the master may do this'],
  ['NO_MASTER', 'ENOMASTER', 'the group has no master'],
  ['INVALID', 'EINVAL', 'a value is out of range'],
  ['TOO_LARGE', 'EMSGSIZE', "the message is over the hub's limit"],
  ['HUB_FULL', 'ENOSPC', 'the hub has its most clients'],
  ['TOO_MANY_GROUPS', 'ENOSPC', 'the hub has its most groups'],
  ['AUTH_FAILURES', 'EACCES', 'too many wrong passwords on this connection'],
];

/** The status names, indexed by status number ("OK", "NOT_FOUND", ...). */
export const GROUP_STATUS = Object.freeze(STATUSES.map((s) => s[0]));

/** Event names by event number (1..6), as `item.event` of recv(). */
export const GROUP_EVENTS = Object.freeze([
  '', 'member-joined', 'member-left', 'master-joined', 'master-left', 'group-deleted', 'undelivered',
]);

/**
 * The GroupError for a hub status (not OK).
 * @param {number} status @param {string} what the call, for the message @returns {GroupError}
 */
export function groupStatusError(status, what) {
  const [name, code, text] = STATUSES[status];
  return new GroupError(code, `${what}: ${text} (${name})`, name);
}

function invalid(message) { return new GroupError('EINVAL', message); }

const U64_END = 1n << 64n;

/**
 * A client id as a BigInt; GroupError EINVAL when out of the u64 range.
 * @param {IdLike} id @param {string} what @returns {bigint}
 */
export function toGroupId(id, what = 'id') {
  if (typeof id === 'number') {
    if (!Number.isSafeInteger(id)) throw invalid(`${what} ${id} is not a safe integer: use a BigInt`);
    id = BigInt(id);
  }
  if (typeof id !== 'bigint') throw new TypeError(`${what} must be a BigInt or an integer`);
  if (id < 0n || id >= U64_END) throw invalid(`${what} ${id} is outside 0..2^64-1`);
  return id;
}

/** @param {number} v @param {string} what @param {number} min */
function checkU32(v, what, min) {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer`);
  if (v < min || v > 0xffffffff) throw invalid(`${what} ${v} is outside ${min}..4294967295`);
  return v;
}

/** @param {Payload} v @param {string} what @param {number} min @param {number} max */
function checkStr8(v, what, min, max) {
  const b = toBytes(v);
  if (b.length < min || b.length > max) throw invalid(`${what} is ${b.length} bytes, allowed ${min}..${max}`);
  return b;
}

// ---- encoding: client to hub ----

/** Builds one message of known size, big-endian. */
class Writer {
  /** @param {number} size */
  constructor(size) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.at = 0;
  }
  u8(v) { this.bytes[this.at++] = v; return this; }
  u32(v) { this.view.setUint32(this.at, v); this.at += 4; return this; }
  u64(v) { this.view.setBigUint64(this.at, v); this.at += 8; return this; }
  raw(b) { this.bytes.set(b, this.at); this.at += b.length; return this; }
  str8(b) { return this.u8(b.length).raw(b); }
}

/** LIST, WHOAMI or PEERS: the type and the req. */
function encodeBare(type, req) { return new Writer(5).u8(type).u32(checkU32(req, 'req', 0)).bytes; }

/** LIST request. @param {number} req @returns {Uint8Array} */
export function encodeGroupList(req) { return encodeBare(T.LIST, req); }
/** WHOAMI request. @param {number} req @returns {Uint8Array} */
export function encodeGroupWhoami(req) { return encodeBare(T.WHOAMI, req); }
/** PEERS request. @param {number} req @returns {Uint8Array} */
export function encodeGroupPeers(req) { return encodeBare(T.PEERS, req); }

/**
 * CREATE request.
 * @param {number} req @param {number} capacity 1..2^32-1
 * @param {Payload} name 1..255 bytes @param {Payload} password 0..255 bytes
 * @param {Payload} masterPassword 0..255 bytes
 * @returns {Uint8Array}
 */
export function encodeGroupCreate(req, capacity, name, password, masterPassword) {
  const n = checkStr8(name, 'name', 1, GROUP_NAME_MAX);
  const p = checkStr8(password, 'password', 0, GROUP_PASSWORD_MAX);
  const m = checkStr8(masterPassword, 'master password', 0, GROUP_PASSWORD_MAX);
  return new Writer(12 + n.length + p.length + m.length).u8(T.CREATE).u32(checkU32(req, 'req', 0))
    .u32(checkU32(capacity, 'capacity', 1)).str8(n).str8(p).str8(m).bytes;
}

/**
 * JOIN request.
 * @param {number} req @param {boolean} master join as the master (else as a standard member)
 * @param {Payload} name 1..255 bytes @param {Payload} password 0..255 bytes
 * @returns {Uint8Array}
 */
export function encodeGroupJoin(req, master, name, password) {
  const n = checkStr8(name, 'name', 1, GROUP_NAME_MAX);
  const p = checkStr8(password, 'password', 0, GROUP_PASSWORD_MAX);
  return new Writer(8 + n.length + p.length).u8(T.JOIN).u32(checkU32(req, 'req', 0))
    .u8(master ? 1 : 0).str8(n).str8(p).bytes;
}

function encodeGroupOp(type, req, group) {
  return new Writer(9).u8(type).u32(checkU32(req, 'req', 0)).u32(checkU32(group, 'group', 1)).bytes;
}
/** LEAVE request. @param {number} req @param {number} group @returns {Uint8Array} */
export function encodeGroupLeave(req, group) { return encodeGroupOp(T.LEAVE, req, group); }
/** DELETE request. @param {number} req @param {number} group @returns {Uint8Array} */
export function encodeGroupDelete(req, group) { return encodeGroupOp(T.DELETE, req, group); }

/**
 * RELAY request.
 * @param {number} req @param {IdLike[]} ids 1..255 client ids @param {Payload} body
 * @returns {Uint8Array}
 */
export function encodeGroupRelay(req, ids, body) {
  if (!Array.isArray(ids)) throw new TypeError('ids must be an array');
  if (ids.length < 1 || ids.length > GROUP_RELAY_MAX) {
    throw invalid(`a relay goes to 1..${GROUP_RELAY_MAX} ids, not ${ids.length}`);
  }
  const b = toBytes(body);
  const w = new Writer(6 + 8 * ids.length + b.length).u8(T.RELAY).u32(checkU32(req, 'req', 0)).u8(ids.length);
  for (const id of ids) w.u64(toGroupId(id));
  return w.raw(b).bytes;
}

/**
 * SEND: data to a group (to = 0: the master, or from the master every member).
 * @param {number} group @param {IdLike} to @param {Payload} body @returns {Uint8Array}
 */
export function encodeGroupSend(group, to, body) {
  const b = toBytes(body);
  return new Writer(13 + b.length).u8(T.SEND).u32(checkU32(group, 'group', 1)).u64(toGroupId(to, 'to'))
    .raw(b).bytes;
}

// ---- decoding: hub to client ----

/** Reads one message; any shortfall is a ProtocolError. */
class Reader {
  /** @param {Uint8Array} bytes */
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.at = 0;
  }
  get left() { return this.bytes.length - this.at; }
  need(n, what) {
    if (n > this.left) throw new ProtocolError(`group message ends inside ${what}`);
  }
  u8(what) { this.need(1, what); return this.bytes[this.at++]; }
  u32(what) { this.need(4, what); const v = this.view.getUint32(this.at); this.at += 4; return v; }
  u64(what) { this.need(8, what); const v = this.view.getBigUint64(this.at); this.at += 8; return v; }
  str8(what) {
    const n = this.u8(what);
    this.need(n, what);
    this.at += n;
    return this.bytes.subarray(this.at - n, this.at);
  }
  rest() { const r = this.bytes.subarray(this.at); this.at = this.bytes.length; return r; }
  end(what) {
    if (this.left) throw new ProtocolError(`${this.left} bytes after the end of ${what}`);
  }
  /** A group number, which is never 0. */
  group(what) {
    const g = this.u32(what);
    if (g === 0) throw new ProtocolError(`group 0 in ${what}`);
    return g;
  }
  /** A client id that names someone, which is never 0. */
  id(what) {
    const id = this.u64(what);
    if (id === 0n) throw new ProtocolError(`client id 0 in ${what}`);
    return id;
  }
  status(what) {
    const s = this.u8(what);
    if (s >= STATUSES.length) throw new ProtocolError(`unknown status ${s} in ${what}`);
    return s;
  }
  ids(n, what) {
    this.need(8 * n, what);
    const out = [];
    for (let i = 0; i < n; i++) out.push(this.id(what));
    return out;
  }
}

/**
 * @typedef {object} GroupInfo one group of list()
 * @property {number} id the hub's number for the group
 * @property {string} name the name as UTF-8 text (invalid bytes become U+FFFD)
 * @property {Uint8Array} nameBytes the name's bytes
 * @property {number} members standard members now
 * @property {number} capacity most standard members
 * @property {boolean} hasMaster
 */

/**
 * A decoded hub message. `type` says which fields it has:
 * - "reply": op, req, status, and by op when status is OK: groups (LIST), group (CREATE,
 *   JOIN), capacity and hasMaster (JOIN), id (WHOAMI), ids (PEERS), unknown (RELAY, also
 *   with NOT_FOUND);
 * - "data": group, from, body;  "relayed": from, body;
 * - "event": event (1..6), group, who, status;  "closing": status.
 * @typedef {object} GroupWireMessage
 * @property {'reply' | 'data' | 'relayed' | 'event' | 'closing'} type
 * @property {number} [op] @property {number} [req] @property {number} [status]
 * @property {GroupInfo[]} [groups] @property {number} [group] @property {number} [capacity]
 * @property {boolean} [hasMaster] @property {bigint} [id] @property {bigint[]} [ids]
 * @property {bigint[]} [unknown] @property {bigint} [from] @property {Uint8Array} [body]
 * @property {number} [event] @property {bigint} [who]
 */

function decodeReply(r) {
  const op = r.u8('REPLY');
  if (!OP_NAMES[op]) throw new ProtocolError(`REPLY to unknown request type ${op}`);
  const m = { type: 'reply', op, req: r.u32('REPLY'), status: r.status('REPLY') };
  const what = `${OP_NAMES[op].toUpperCase()} reply`;
  if (m.status === 0 || (op === T.RELAY && m.status === 1)) {
    switch (op) {
      case T.LIST: {
        const count = r.u32(what);
        // Each entry is at least 14 bytes: a bad count fails here, not after a long loop.
        r.need(count * 14, what);
        m.groups = [];
        for (let i = 0; i < count; i++) {
          const id = r.group(what);
          const members = r.u32(what);
          const capacity = r.u32(what);
          const flags = r.u8(what);
          const nameBytes = r.str8(what);
          m.groups.push({ id, name: decodeText(nameBytes), nameBytes, members, capacity, hasMaster: (flags & 1) !== 0 });
        }
        break;
      }
      case T.CREATE: m.group = r.group(what); break;
      case T.JOIN:
        m.group = r.group(what);
        m.capacity = r.u32(what);
        m.hasMaster = (r.u8(what) & 1) !== 0;
        break;
      case T.WHOAMI: m.id = r.id(what); break;
      case T.PEERS: m.ids = r.ids(r.u32(what), what); break;
      case T.RELAY:
        m.unknown = r.ids(r.u8(what), what);
        if (m.status === 0 && m.unknown.length) throw new ProtocolError('RELAY reply OK with unknown ids');
        break;
      default: break; // LEAVE, DELETE: nothing
    }
  }
  r.end(what);
  return m;
}

/**
 * Decode one hub-to-client message. Throws a ProtocolError for anything malformed: an
 * unknown or client-to-hub type, a message cut short, a str8 or a list running past the end,
 * trailing bytes, an unknown op, status or event, a group number or sender id of 0.
 * @param {Uint8Array} bytes @returns {GroupWireMessage}
 */
export function decodeGroupMessage(bytes) {
  const r = new Reader(bytes);
  const type = r.u8('a message');
  let m;
  switch (type) {
    case T.REPLY: return decodeReply(r);
    case T.DATA: return { type: 'data', group: r.group('DATA'), from: r.id('DATA'), body: r.rest() };
    case T.RELAYED: return { type: 'relayed', from: r.id('RELAYED'), body: r.rest() };
    case T.EVENT: {
      const event = r.u8('EVENT');
      if (!GROUP_EVENTS[event]) throw new ProtocolError(`unknown group event ${event}`);
      m = { type: 'event', event, group: r.group('EVENT'), who: r.u64('EVENT'), status: r.status('EVENT') };
      r.end('EVENT');
      return m;
    }
    case T.CLOSING:
      m = { type: 'closing', status: r.status('CLOSING') };
      r.end('CLOSING');
      return m;
    default:
      throw new ProtocolError(`unknown group message type 0x${type.toString(16).padStart(2, '0')} from the hub`);
  }
}

// ---- the client ----

/**
 * What recv() gives: group data, a relayed message, or an event. Every item has every field.
 * @typedef {object} GroupItem
 * @property {'data' | 'relayed' | 'event'} kind
 * @property {'' | 'member-joined' | 'member-left' | 'master-joined' | 'master-left'
 *   | 'group-deleted' | 'undelivered' | 'disconnected'} event the event, '' for data
 * @property {number} group the group's id; 0 for relayed messages and 'disconnected'
 * @property {bigint} from the sender; for events the member or master concerned (for
 *   'undelivered' the `to` of the send that failed, 0n for the master or all); 0n for 'disconnected'
 * @property {Uint8Array} data the body; empty for events
 * @property {GroupError | null} error why, for 'undelivered' and 'disconnected'; else null
 */

/**
 * A group this socket is in, as far as it knows (the hub decides).
 * @typedef {object} Membership
 * @property {number} id @property {Uint8Array} nameBytes @property {string} name
 * @property {'member' | 'master'} role @property {boolean} hasMaster @property {number} capacity
 */

/**
 * Options of a group socket: those of every socket, plus `callTimeout`.
 * @typedef {SocketOptions & {callTimeout?: number}} GroupSocketOptions
 * - callTimeout (default 10000): how long a call (list, create, join, leave, delete, whoami,
 *   peers, relay) waits for its answer, including for a connection; negative = for ever.
 * - recvMaxSize defaults to 1 MiB + 1 KiB: the hub's largest body plus the group header.
 */

/** @type {Readonly<{callTimeout: number, recvMaxSize: number}>} */
export const GROUP_DEFAULTS = Object.freeze({ callTimeout: 10000, recvMaxSize: 1024 * 1024 + 1024 });

/** Calls that timed out after going out, kept so their answers still update our state. */
const ABANDONED_MAX = 1024;
const EMPTY = new Uint8Array(0);

/**
 * A client of a libmsock group hub (protocol 0xF01; it asks for the WebSocket subprotocol
 * `group-hub.sp.nanomsg.org`). It dials one hub and redials after a drop, as a new client with a
 * new id. Each call returns a promise that rejects with a GroupError (code as in C), a
 * TimeoutError after `callTimeout`, or a ClosedError.
 *
 * Events (as on every socket, plus): "disconnected" {error, groups}: the hub connection
 * dropped; every membership is gone (`groups` lists their ids) and calls in flight rejected.
 * recv() gets the same as an item with event 'disconnected'.
 */
export class GroupSocket extends Socket {
  /** @param {GroupSocketOptions} [options] */
  constructor(options = {}) {
    super('group', { ...GROUP_DEFAULTS, ...options });
    /** Calls by req: waiting for a connection (pipe null), in flight, or abandoned. */
    this._calls = new Map();
    this._abandoned = 0;
    this._req = randomId();
    /** @type {Map<number, Membership>} */
    this._groups = new Map();
    /** @type {Pipe | null} */
    this._pipe = null;
    /** Why the hub said it would close the current connection (CLOSING). */
    this._closing = null;
    /** The CLOSING error of the last connection until the next comes up: calls fail with it. */
    this._downError = null;
  }

  /**
   * Make a group socket, dial `url` and wait for the connection (up to `callTimeout`).
   * @param {string} url @param {GroupSocketOptions} [options] @returns {Promise<GroupSocket>}
   */
  static async connect(url, options = {}) {
    const g = new GroupSocket(options);
    try {
      g.dial(url);
      await g.whenConnected({ timeout: g.options.callTimeout });
    } catch (err) {
      g.close();
      throw err;
    }
    return g;
  }

  /** A group socket has one hub, so it dials one URL. @param {string} url */
  dial(url) {
    if (this.dialers.size) throw new StateError('a group socket dials one URL only');
    return super.dial(url);
  }

  /** The groups this socket is in. @returns {Membership[]} */
  get groups() { return [...this._groups.values()].map((g) => ({ ...g })); }

  /** The groups on the hub. @param {WaitOptions} [opts] @returns {Promise<GroupInfo[]>} */
  async list(opts = {}) {
    return (await this._call(T.LIST, (req) => encodeGroupList(req), opts, 'list')).groups;
  }

  /**
   * Create a group (the creator does not join). EEXIST: the name is taken; ENOSPC: the hub
   * has its most groups; EINVAL: a length or the capacity is out of range.
   * @param {Payload} name 1..255 bytes (strings as UTF-8)
   * @param {Payload} password the standard members' password, 0..255 bytes
   * @param {Payload} masterPassword the master's password, 0..255 bytes
   * @param {number} capacity most standard members, 1.. the hub's limit
   * @param {WaitOptions} [opts] @returns {Promise<number>} the group's id
   */
  async create(name, password, masterPassword, capacity, opts = {}) {
    const m = await this._call(T.CREATE, (req) => encodeGroupCreate(req, capacity, name, password, masterPassword),
      opts, 'create');
    return m.group;
  }

  /**
   * Join a group as a standard member, or as its master with `{master: true}`. ENOENT: no
   * such group; EACCES: wrong password; ENOSPC: full; EBUSY: it has a master; EEXIST: joined
   * already. Five wrong passwords (the hub's default) close the connection.
   * @param {Payload} name @param {Payload} password
   * @param {WaitOptions & {master?: boolean}} [opts] @returns {Promise<number>} the group's id
   */
  async join(name, password, opts = {}) {
    const master = !!opts.master;
    const nameBytes = checkStr8(name, 'name', 1, GROUP_NAME_MAX).slice();
    const m = await this._call(T.JOIN, (req) => encodeGroupJoin(req, master, nameBytes, password), opts,
      `join "${decodeText(nameBytes)}"`, { nameBytes, master });
    return m.group;
  }

  /**
   * Leave a group. ENOENT: not a member (the membership is forgotten either way).
   * @param {number} group @param {WaitOptions} [opts] @returns {Promise<void>}
   */
  async leave(group, opts = {}) {
    await this._call(T.LEAVE, (req) => encodeGroupLeave(req, group), opts, `leave group ${group}`, { group });
  }

  /**
   * Delete a group: master only (EPERM otherwise). Its members get a 'group-deleted' event.
   * @param {number} group @param {WaitOptions} [opts] @returns {Promise<void>}
   */
  async delete(group, opts = {}) {
    await this._call(T.DELETE, (req) => encodeGroupDelete(req, group), opts, `delete group ${group}`, { group });
  }

  /** This connection's client id. @param {WaitOptions} [opts] @returns {Promise<bigint>} */
  async whoami(opts = {}) {
    return (await this._call(T.WHOAMI, (req) => encodeGroupWhoami(req), opts, 'whoami')).id;
  }

  /** The ids of the other connected clients. @param {WaitOptions} [opts] @returns {Promise<bigint[]>} */
  async peers(opts = {}) {
    return (await this._call(T.PEERS, (req) => encodeGroupPeers(req), opts, 'peers')).ids;
  }

  /**
   * Deliver `data` to every client in `ids` (1..255). Resolves when the hub has delivered it
   * to all of them. When some are not connected it rejects with a GroupError "ENOENT" whose
   * `unknown` lists them (BigInts); the others got the message.
   * @param {IdLike[]} ids @param {Payload} data @param {WaitOptions} [opts] @returns {Promise<void>}
   */
  async relay(ids, data, opts = {}) {
    const msg = encodeGroupRelay(0, ids, data);
    // Encoded once, checked before waiting: only the req (after the type byte) changes.
    await this._call(T.RELAY, (req) => { msg.set(encodeBare(T.RELAY, req)); return msg; }, opts, 'relay');
  }

  /**
   * Send to a group this socket is in. A standard member's message goes to the master; the
   * master's goes to every member, or to member `to`. Fails at once, as in C: ENOENT not a
   * member, EINVAL a member gave `to`, ENOMASTER a member's group has no master. The hub may
   * still drop it: an 'undelivered' event then says why.
   * @param {number} group @param {Payload} data
   * @param {{to?: IdLike}} [opts] @returns {Promise<void>} resolves when handed to the WebSocket
   */
  async send(group, data, opts = {}) {
    if (this.closed) throw new ClosedError();
    const g = this._groups.get(group);
    if (!g) throw new GroupError('ENOENT', `send: not a member of group ${group}`);
    const to = toGroupId(opts.to ?? 0n, 'to');
    if (g.role === 'member') {
      if (to !== 0n) throw invalid('send: only the master sends to one member');
      if (!g.hasMaster) throw new GroupError('ENOMASTER', `send: group ${group} has no master`);
    }
    const msg = encodeGroupSend(group, to, data);
    // Memberships end with their connection, so a member always has a pipe.
    if (!this._pipe || !this._sendOn(this._pipe, msg)) {
      throw new GroupError('ECONNRESET', 'send: the hub connection is down');
    }
  }

  /**
   * The next data, relayed message or event.
   * @param {WaitOptions} [opts] @returns {Promise<GroupItem>}
   */
  async recv(opts = {}) { return this._recvItem(opts); }

  /** Not for groups: recv() gives items. */
  async recvString() { throw new NotSupportedError('recv() on a group socket gives items; decode item.data'); }

  // ---- calls ----

  _nextReq() {
    do this._req = (this._req + 1) >>> 0; while (this._calls.has(this._req));
    return this._req;
  }

  /**
   * Send a request made by `encode(req)` and wait for its REPLY.
   * @returns {Promise<GroupWireMessage>} the OK reply
   */
  _call(type, encode, opts, what, extra = {}) {
    if (this.closed) return Promise.reject(new ClosedError());
    if (!this._pipe && this._downError) return Promise.reject(this._downError);
    const req = this._nextReq();
    const call = { req, type, what, msg: encode(req), pipe: null, w: null, ...extra };
    call.w = makeWaiter(opts.timeout ?? this.options.callTimeout, opts.signal, what, () => this._settled(call));
    if (call.w.settled) return call.w.promise;
    this._calls.set(req, call);
    if (this._pipe) this._transmit(call, this._pipe);
    return call.w.promise;
  }

  _transmit(call, pipe) {
    call.pipe = pipe;
    this._sendOn(pipe, call.msg);
  }

  /** A call settled (answered, failed, timed out or aborted). */
  _settled(call) {
    if (this._calls.get(call.req) !== call) return; // answered or its connection is gone
    if (!call.pipe) { this._calls.delete(call.req); return; } // never went out
    // The hub will still answer it; keep it, so that a late JOIN can be undone.
    this._abandoned++;
    if (this._abandoned <= ABANDONED_MAX) return;
    for (const c of this._calls.values()) {
      if (c.w.settled) { this._calls.delete(c.req); this._abandoned--; break; }
    }
  }

  /** @param {Pipe} pipe @param {GroupWireMessage} m */
  _onReply(pipe, m) {
    const call = this._calls.get(m.req);
    if (!call || call.pipe !== pipe) { this.stats.dropsStale++; return; }
    if (call.type !== m.op) {
      this._malformed(pipe, `${OP_NAMES[m.op]} reply to ${OP_NAMES[call.type]} request ${m.req}`);
      return;
    }
    this._calls.delete(m.req);
    const late = call.w.settled;
    if (late) { this._abandoned--; this.stats.dropsStale++; }
    this._track(call, m, late);
    if (late) return;
    if (m.status === 0) { call.w.resolve(m); return; }
    const err = groupStatusError(m.status, call.what);
    if (m.unknown) err.unknown = m.unknown;
    call.w.reject(err);
  }

  /** Keep the memberships in step with a reply. */
  _track(call, m, late) {
    if (call.type === T.JOIN && m.status === 0) {
      if (late) {
        // The caller was told the join failed: undo it. Its answer is dropped as stale.
        this._sendOn(this._pipe, encodeGroupLeave(this._nextReq(), m.group));
        return;
      }
      this._groups.set(m.group, {
        id: m.group, nameBytes: call.nameBytes, name: decodeText(call.nameBytes),
        role: call.master ? 'master' : 'member', hasMaster: call.master || m.hasMaster, capacity: m.capacity,
      });
    } else if (call.type === T.LEAVE || (call.type === T.DELETE && m.status === 0)) {
      this._groups.delete(call.group);
    }
  }

  // ---- receiving ----

  _onMessage(pipe, bytes) {
    let m;
    try { m = decodeGroupMessage(bytes); } catch (err) {
      this._malformed(pipe, err.message);
      return;
    }
    switch (m.type) {
      case 'reply': this._onReply(pipe, m); break;
      case 'data': this._deliver(item('data', '', m.group, m.from, m.body, null)); break;
      case 'relayed': this._deliver(item('relayed', '', 0, m.from, m.body, null)); break;
      case 'event': this._onEvent(m); break;
      default: // closing
        this._closing = groupStatusError(m.status, 'the hub closes this connection');
        pipe.close('hub closing');
        break;
    }
  }

  _onEvent(m) {
    const g = this._groups.get(m.group);
    const name = GROUP_EVENTS[m.event];
    if (name === 'master-joined' && g) g.hasMaster = true;
    else if (name === 'master-left' && g) g.hasMaster = false;
    else if (name === 'group-deleted') this._groups.delete(m.group);
    const error = name === 'undelivered' && m.status ? groupStatusError(m.status, `send to group ${m.group}`) : null;
    this._deliver(item('event', name, m.group, m.who, EMPTY, error));
  }

  _tooLarge(pipe, bytes, err) {
    // A REPLY over recvMaxSize (a long LIST) fails its call; anything else the next recv().
    const call = bytes[0] === T.REPLY && bytes.length >= 6 ? this._calls.get(readU32(bytes, 2)) : null;
    if (call && call.pipe === pipe && !call.w.settled) call.w.reject(err);
    else this._deliverError(err);
  }

  _onAttach(pipe) {
    this._pipe = pipe;
    this._closing = null;
    this._downError = null;
    for (const call of this._calls.values()) if (!call.pipe) this._transmit(call, pipe);
  }

  _onDetach(pipe) {
    if (pipe !== this._pipe) return;
    this._pipe = null;
    const error = this._closing || new GroupError('ECONNRESET', 'the connection to the hub dropped');
    this._downError = this._closing;
    this._closing = null;
    const groups = [...this._groups.keys()];
    this._groups.clear();
    for (const call of [...this._calls.values()]) {
      if (call.pipe !== pipe) continue;
      this._calls.delete(call.req);
      if (call.w.settled) this._abandoned--;
      else call.w.reject(error);
    }
    this._deliver(item('event', 'disconnected', 0, 0n, EMPTY, error));
    this._emit('disconnected', { error, groups });
  }

  _onClose() {
    this._groups.clear();
    for (const call of [...this._calls.values()]) call.w.reject(new ClosedError());
    this._calls.clear();
    this._abandoned = 0;
    this._pipe = null;
  }
}

/** @returns {GroupItem} */
function item(kind, event, group, from, data, error) {
  return { kind, event, group, from, data, error };
}
