// Unit tests for the group client (js/group.js): the codec byte for byte against
// docs/group-protocol.md, and GroupSocket against a fake hub on an in-memory WebSocket.
// Run with `node --test js/test/`.

import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  GroupSocket, GroupError, ClosedError, TimeoutError, TooLargeError, StateError, NotSupportedError,
  AbortError, GROUP_STATUS, GROUP_EVENTS, groupStatusError, toGroupId, socket, subprotocolFor,
  encodeGroupList, encodeGroupCreate, encodeGroupJoin, encodeGroupLeave, encodeGroupDelete,
  encodeGroupWhoami, encodeGroupPeers, encodeGroupRelay, encodeGroupSend, decodeGroupMessage,
  encodeText, decodeText, readU32, PROTOCOLS,
} from '../msock.js';

// ---- an in-memory WebSocket driven by the test as the hub (as in unit.test.mjs) ----

function makeFakeWebSocket() {
  return class FakeWebSocket {
    static instances = [];
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.protocol = '';
      this.binaryType = 'blob';
      this.sent = [];
      this.closeCalls = [];
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      FakeWebSocket.instances.push(this);
    }
    send(data) {
      if (this.readyState !== 1) throw new Error('not open');
      if (typeof data === 'string') throw new Error('text frame sent');
      this.sent.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
    }
    close(code, reason) {
      this.closeCalls.push({ code, reason });
      if (this.readyState >= 2) return;
      this.readyState = 2;
      queueMicrotask(() => {
        this.readyState = 3;
        if (this.onclose) this.onclose({ code: code ?? 1005, reason: reason ?? '' });
      });
    }
    accept(protocol = this.protocols) {
      this.readyState = 1;
      this.protocol = protocol;
      if (this.onopen) this.onopen({});
    }
    deliver(bytes) {
      if (this.onmessage) this.onmessage({ data: Uint8Array.from(bytes).buffer });
    }
    drop() {
      this.readyState = 3;
      if (this.onclose) this.onclose({ code: 1006, reason: '' });
    }
  };
}

// ---- helpers ----

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tick = () => new Promise((r) => setImmediate(r));
/** Bytes from a hex string with optional spaces, as the protocol page writes them. */
const hex = (s) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (h) => parseInt(h, 16));
const toHex = (b) => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');
const cat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
const u8 = (v) => Uint8Array.of(v);
const u32 = (v) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v); return b; };
const u64 = (v) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v)); return b; };
const str8 = (s) => { const b = typeof s === 'string' ? encodeText(s) : s; return cat(u8(b.length), b); };
const text = (s) => encodeText(s);

// Hub-to-client messages, built by hand from the tables of docs/group-protocol.md.
const reply = (op, req, status, ...payload) => cat(u8(0x81), u8(op), u32(req), u8(status), ...payload);
const data = (group, from, body) => cat(u8(0x90), u32(group), u64(from), body);
const relayed = (from, body) => cat(u8(0x91), u64(from), body);
const event = (ev, group, who, status = 0) => cat(u8(0xa0), u8(ev), u32(group), u64(who), u8(status));
const closing = (status) => cat(u8(0xb0), u8(status));
const listEntry = (group, members, capacity, flags, name) => cat(u32(group), u32(members), u32(capacity), u8(flags), str8(name));

const URL = 'ws://127.0.0.1:5600/hub';
const opened = [];
afterEach(() => { for (const s of opened.splice(0)) s.close(); });

/** A group socket on a fresh fake WebSocket class, and helpers to play the hub. */
function setup(options = {}) {
  const WS = makeFakeWebSocket();
  const g = new GroupSocket({ WebSocket: WS, reconnectMin: 5, reconnectMax: 40, jitter: false, ...options });
  opened.push(g);
  const hub = {
    /** Dial (first time) and accept the newest connection attempt. */
    connect() {
      if (!g.dialers.size) g.dial(URL);
      const ws = WS.instances.at(-1);
      ws.accept();
      return ws;
    },
    get ws() { return WS.instances.at(-1); },
    /** The last message the client sent. */
    last() { return this.ws.sent.at(-1); },
    /** The req of the client's last request. */
    req(i = -1) { return readU32(this.ws.sent.at(i), 1); },
  };
  return { g, WS, hub };
}

/** Join `name` through the fake hub, answering OK with `group`, and return the group id. */
async function joined(g, hub, { group = 2, master = false, hasMaster = false, capacity = 10, name = 'room 1' } = {}) {
  const p = g.join(name, 'pw', { master });
  await tick();
  hub.ws.deliver(reply(0x03, hub.req(), 0, u32(group), u32(capacity), u8(hasMaster ? 1 : 0)));
  assert.equal(await p, group);
  return group;
}

describe('group wire: encoding, byte for byte', () => {
  test('the examples of docs/group-protocol.md', () => {
    assert.equal(toHex(encodeGroupJoin(7, true, 'room 1', 'm')), '03 00 00 00 07 01 06 72 6f 6f 6d 20 31 01 6d');
    assert.equal(toHex(encodeGroupSend(2, 0n, 'hi')), '10 00 00 00 02 00 00 00 00 00 00 00 00 68 69');
    assert.deepEqual(decodeGroupMessage(hex('81 03 00 00 00 07 00 00 00 00 02 00 00 00 0a 00')),
      { type: 'reply', op: 3, req: 7, status: 0, group: 2, capacity: 10, hasMaster: false });
    const m = decodeGroupMessage(hex('90 00 00 00 02 00 00 00 00 00 00 00 2a 68 69'));
    assert.equal(m.type, 'data');
    assert.equal(m.group, 2);
    assert.equal(m.from, 42n);
    assert.equal(decodeText(m.body), 'hi');
  });

  test('every request', () => {
    assert.equal(toHex(encodeGroupList(1)), '01 00 00 00 01');
    assert.equal(toHex(encodeGroupWhoami(0xfffffffe)), '06 ff ff ff fe');
    assert.equal(toHex(encodeGroupPeers(0)), '07 00 00 00 00');
    assert.equal(toHex(encodeGroupCreate(0x01020304, 1000, 'a,b c', '', new Uint8Array([0, 0xff]))),
      '02 01 02 03 04 00 00 03 e8 05 61 2c 62 20 63 00 02 00 ff');
    assert.equal(toHex(encodeGroupJoin(9, false, new Uint8Array([0]), 'pw')), '03 00 00 00 09 00 01 00 02 70 77');
    assert.equal(toHex(encodeGroupLeave(5, 0x10203)), '04 00 00 00 05 00 01 02 03');
    assert.equal(toHex(encodeGroupDelete(6, 4)), '05 00 00 00 06 00 00 00 04');
    assert.equal(toHex(encodeGroupRelay(8, [1n, 0xfedcba9876543210n], 'x')),
      '08 00 00 00 08 02 00 00 00 00 00 00 00 01 fe dc ba 98 76 54 32 10 78');
    assert.equal(toHex(encodeGroupRelay(8, [3], new Uint8Array(0))), '08 00 00 00 08 01 00 00 00 00 00 00 00 03');
    assert.equal(toHex(encodeGroupSend(0xffffffff, 0xffffffffffffffffn, new Uint8Array(0))),
      '10 ff ff ff ff ff ff ff ff ff ff ff ff');
    // UTF-8 names: 'é' is two bytes
    assert.equal(toHex(encodeGroupJoin(1, false, 'é', '')), '03 00 00 00 01 00 02 c3 a9 00');
  });

  test('lengths, counts and ranges are checked (EINVAL), types too (TypeError)', () => {
    const einval = (fn) => assert.throws(fn, (e) => e instanceof GroupError && e.code === 'EINVAL');
    const long = 'x'.repeat(256);
    einval(() => encodeGroupCreate(1, 10, '', 'p', 'm'));
    einval(() => encodeGroupCreate(1, 10, long, 'p', 'm'));
    einval(() => encodeGroupCreate(1, 10, 'n', long, 'm'));
    einval(() => encodeGroupCreate(1, 10, 'n', 'p', long));
    einval(() => encodeGroupCreate(1, 0, 'n', 'p', 'm'));
    einval(() => encodeGroupCreate(1, 2 ** 32, 'n', 'p', 'm'));
    assert.equal(encodeGroupCreate(1, 1, 'x'.repeat(255), 'y'.repeat(255), '').length, 12 + 255 + 255);
    einval(() => encodeGroupJoin(1, false, '', ''));
    einval(() => encodeGroupJoin(1, false, 'n', long));
    einval(() => encodeGroupLeave(1, 0));
    einval(() => encodeGroupDelete(1, -1));
    einval(() => encodeGroupRelay(1, [], 'x'));
    einval(() => encodeGroupRelay(1, Array(256).fill(1n), 'x'));
    assert.equal(encodeGroupRelay(1, Array(255).fill(1n), '').length, 6 + 255 * 8);
    einval(() => encodeGroupRelay(1, [-1n], 'x'));
    einval(() => encodeGroupRelay(1, [1n << 64n], 'x'));
    einval(() => encodeGroupSend(1, 2 ** 60, 'x')); // not a safe integer: a BigInt is needed
    einval(() => encodeGroupList(2 ** 32));
    assert.throws(() => encodeGroupRelay(1, 5, 'x'), TypeError);
    assert.throws(() => encodeGroupSend(1, '7', 'x'), TypeError);
    assert.throws(() => encodeGroupJoin(1, false, 42, ''), TypeError);
    assert.throws(() => encodeGroupLeave(1, 1.5), TypeError);
    assert.equal(toGroupId(7), 7n);
    assert.equal(toGroupId(0xffffffffffffffffn), 0xffffffffffffffffn);
  });
});

describe('group wire: decoding', () => {
  test('every reply', () => {
    const list = decodeGroupMessage(reply(1, 3, 0, u32(2), listEntry(1, 0, 5, 0, 'a'), listEntry(9, 4, 4, 1, new Uint8Array([0xff, 0x2c]))));
    assert.equal(list.groups.length, 2);
    assert.deepEqual({ ...list.groups[0], nameBytes: [...list.groups[0].nameBytes] },
      { id: 1, name: 'a', nameBytes: [0x61], members: 0, capacity: 5, hasMaster: false });
    assert.equal(list.groups[1].hasMaster, true);
    assert.equal(list.groups[1].name, '\ufffd,');
    assert.deepEqual([...list.groups[1].nameBytes], [0xff, 0x2c]);
    assert.deepEqual(decodeGroupMessage(reply(1, 3, 0, u32(0))).groups, []);
    assert.deepEqual(decodeGroupMessage(reply(2, 4, 0, u32(77))), { type: 'reply', op: 2, req: 4, status: 0, group: 77 });
    assert.equal(decodeGroupMessage(reply(3, 4, 0, u32(7), u32(3), u8(1))).hasMaster, true);
    assert.deepEqual(decodeGroupMessage(reply(4, 4, 0)), { type: 'reply', op: 4, req: 4, status: 0 });
    assert.deepEqual(decodeGroupMessage(reply(5, 4, 6)), { type: 'reply', op: 5, req: 4, status: 6 });
    assert.equal(decodeGroupMessage(reply(6, 4, 0, u64(0xfffffffffffffff0n))).id, 0xfffffffffffffff0n);
    assert.deepEqual(decodeGroupMessage(reply(7, 4, 0, u32(3), u64(1), u64(2), u64(3))).ids, [1n, 2n, 3n]);
    assert.deepEqual(decodeGroupMessage(reply(7, 4, 0, u32(0))).ids, []);
    assert.deepEqual(decodeGroupMessage(reply(8, 4, 0, u8(0))).unknown, []);
    assert.deepEqual(decodeGroupMessage(reply(8, 4, 1, u8(2), u64(5), u64(6))).unknown, [5n, 6n]);
    // Any status but OK carries no payload (RELAY's NOT_FOUND excepted).
    for (let op = 1; op <= 7; op++) {
      assert.deepEqual(decodeGroupMessage(reply(op, 1, 1)), { type: 'reply', op, req: 1, status: 1 });
    }
    assert.deepEqual(decodeGroupMessage(reply(8, 1, 9)), { type: 'reply', op: 8, req: 1, status: 9 });
  });

  test('data, relayed, every event, closing', () => {
    const d = decodeGroupMessage(data(3, 1, new Uint8Array(0)));
    assert.equal(d.body.length, 0);
    const r = decodeGroupMessage(relayed(0x0102030405060708n, text('yo')));
    assert.equal(r.type, 'relayed');
    assert.equal(r.from, 0x0102030405060708n);
    assert.equal(decodeText(r.body), 'yo');
    for (let ev = 1; ev <= 6; ev++) {
      assert.deepEqual(decodeGroupMessage(event(ev, 4, 5, ev === 6 ? 7 : 0)),
        { type: 'event', event: ev, group: 4, who: 5n, status: ev === 6 ? 7 : 0 });
    }
    assert.equal(decodeGroupMessage(event(6, 4, 0, 1)).who, 0n, 'UNDELIVERED to the master or all: who = 0');
    assert.deepEqual(decodeGroupMessage(closing(12)), { type: 'closing', status: 12 });
    assert.deepEqual(GROUP_EVENTS.slice(1), ['member-joined', 'member-left', 'master-joined', 'master-left', 'group-deleted', 'undelivered']);
  });

  /** Hub messages a client must refuse, with why. */
  const MALFORMED = [
    ['empty', new Uint8Array(0)],
    ['unknown type', hex('42')],
    ['a client-to-hub type (LIST)', encodeGroupList(1)],
    ['a client-to-hub type (SEND)', encodeGroupSend(2, 0n, 'hi')],
    ['REPLY cut short', hex('81 03 00 00 00')],
    ['REPLY without status', hex('81 03 00 00 00 07')],
    ['REPLY to an unknown op', reply(0x09, 1, 0)],
    ['REPLY to SEND', reply(0x10, 1, 0)],
    ['REPLY with unknown status', reply(4, 1, 13)],
    ['JOIN reply cut short', hex('81 03 00 00 00 07 00 00 00 00 02 00 00 00 0a')],
    ['JOIN reply with trailing bytes', hex('81 03 00 00 00 07 00 00 00 00 02 00 00 00 0a 00 00')],
    ['JOIN reply with group 0', reply(3, 1, 0, u32(0), u32(1), u8(0))],
    ['error reply with a payload', reply(3, 1, 3, u8(0))],
    ['LEAVE reply with trailing bytes', reply(4, 1, 0, u8(0))],
    ['LIST count over the entries', reply(1, 1, 0, u32(2), listEntry(1, 0, 5, 0, 'a'))],
    ['LIST count 2^32-1', reply(1, 1, 0, u32(0xffffffff))],
    ['LIST name past the end', cat(reply(1, 1, 0, u32(1)), u32(1), u32(0), u32(5), u8(0), u8(5), text('ab'))],
    ['LIST with trailing bytes', reply(1, 1, 0, u32(0), u8(0))],
    ['CREATE reply cut short', reply(2, 1, 0, u8(0), u8(0))],
    ['WHOAMI id 0', reply(6, 1, 0, u64(0))],
    ['WHOAMI cut short', reply(6, 1, 0, u32(1))],
    ['PEERS count over the ids', reply(7, 1, 0, u32(2), u64(1))],
    ['PEERS with id 0', reply(7, 1, 0, u32(1), u64(0))],
    ['RELAY reply without n', reply(8, 1, 0)],
    ['RELAY OK with unknown ids', reply(8, 1, 0, u8(1), u64(9))],
    ['RELAY n over the ids', reply(8, 1, 1, u8(2), u64(9))],
    ['DATA cut short', hex('90 00 00 00 02 00 00 00 00 00 00 00')],
    ['DATA from 0', data(2, 0, text('x'))],
    ['DATA to group 0', data(0, 5, text('x'))],
    ['RELAYED cut short', hex('91 00 00 00')],
    ['RELAYED from 0', relayed(0, text('x'))],
    ['EVENT 0', event(0, 1, 1)],
    ['EVENT 7', event(7, 1, 1)],
    ['EVENT with unknown status', event(6, 1, 1, 13)],
    ['EVENT in group 0', event(1, 0, 1)],
    ['EVENT with trailing bytes', cat(event(1, 1, 1), u8(0))],
    ['EVENT cut short', event(1, 1, 1).subarray(0, 14)],
    ['CLOSING without status', hex('b0')],
    ['CLOSING with trailing bytes', hex('b0 0a 00')],
    ['CLOSING with unknown status', hex('b0 0d')],
  ];

  test('malformed messages are refused with a ProtocolError', () => {
    for (const [why, bytes] of MALFORMED) {
      assert.throws(() => decodeGroupMessage(bytes), (e) => e.code === 'EPROTO', why);
    }
  });

  test('malformed input from the hub closes the connection, which is redialed', async () => {
    for (const [why, bytes] of MALFORMED) {
      const { g, WS, hub } = setup();
      const errors = [];
      g.addEventListener('error', (e) => errors.push(e.detail.error));
      const ws = hub.connect();
      ws.deliver(bytes);
      assert.equal(ws.closeCalls.length, 1, why);
      assert.equal(g.stats.dropsMalformed, 1, why);
      assert.equal(errors[0].code, 'EPROTO', why);
      assert.equal(g.pipes.length, 0, why);
      while (WS.instances.length < 2) await sleep(2);
      g.close();
    }
  });

  test('a text frame from the hub closes the connection', () => {
    const { g, hub } = setup();
    const ws = hub.connect();
    ws.onmessage({ data: 'hello' });
    assert.equal(ws.closeCalls.length, 1);
    assert.equal(g.pipes.length, 0);
  });
});

describe('GroupSocket calls', () => {
  test('asks for the hub subprotocol; a server answering another is dropped', async () => {
    assert.equal(PROTOCOLS.group.number, 0xf01);
    assert.equal(subprotocolFor('group'), 'group-hub.sp.nanomsg.org');
    const { g, WS } = setup();
    assert.equal(g.protocol, 0xf01);
    assert.equal(g.peer, 'group-hub');
    g.dial(URL);
    assert.equal(WS.instances[0].protocols, 'group-hub.sp.nanomsg.org');
    assert.equal(WS.instances[0].binaryType, 'arraybuffer');
    assert.throws(() => g.dial(URL), StateError);
    WS.instances[0].accept('group.sp.nanomsg.org');
    assert.equal(g.pipes.length, 0);
    assert.ok(socket('group', { WebSocket: WS }) instanceof GroupSocket);
  });

  test('connect() resolves once connected and rejects (closing the socket) on timeout', async () => {
    const WS = makeFakeWebSocket();
    const p = GroupSocket.connect(URL, { WebSocket: WS });
    await tick();
    WS.instances[0].accept();
    const g = await p;
    opened.push(g);
    assert.equal(g.pipes.length, 1);
    const WS2 = makeFakeWebSocket();
    await assert.rejects(GroupSocket.connect(URL, { WebSocket: WS2, callTimeout: 10 }), TimeoutError);
    assert.equal(WS2.instances[0].closeCalls.length, 1);
  });

  test('list, create, join, leave, delete, whoami, peers, relay: requests and results', async () => {
    const { g, hub } = setup();
    const ws = hub.connect();

    let p = g.list();
    assert.equal(toHex(hub.last()), toHex(encodeGroupList(hub.req())));
    ws.deliver(reply(1, hub.req(), 0, u32(1), listEntry(2, 3, 10, 1, 'room 1')));
    const [info] = await p;
    assert.equal(info.id, 2);
    assert.equal(info.name, 'room 1');
    assert.equal(info.members, 3);
    assert.equal(info.capacity, 10);
    assert.equal(info.hasMaster, true);

    p = g.create('room 2', 'pw', new Uint8Array([1, 2]), 50);
    assert.equal(toHex(hub.last()), toHex(encodeGroupCreate(hub.req(), 50, 'room 2', 'pw', new Uint8Array([1, 2]))));
    ws.deliver(reply(2, hub.req(), 0, u32(3)));
    assert.equal(await p, 3);

    p = g.join('room 2', 'mpw', { master: true });
    await tick();
    assert.equal(toHex(hub.last()), toHex(encodeGroupJoin(hub.req(), true, 'room 2', 'mpw')));
    ws.deliver(reply(3, hub.req(), 0, u32(3), u32(50), u8(0)));
    assert.equal(await p, 3);
    assert.deepEqual(g.groups.map((x) => [x.id, x.name, x.role, x.hasMaster, x.capacity]), [[3, 'room 2', 'master', true, 50]]);

    p = g.whoami();
    assert.equal(toHex(hub.last()), toHex(encodeGroupWhoami(hub.req())));
    ws.deliver(reply(6, hub.req(), 0, u64(42)));
    assert.equal(await p, 42n);

    p = g.peers();
    assert.equal(toHex(hub.last()), toHex(encodeGroupPeers(hub.req())));
    ws.deliver(reply(7, hub.req(), 0, u32(2), u64(7), u64(0x8000000000000000n)));
    assert.deepEqual(await p, [7n, 0x8000000000000000n]);

    p = g.relay([7n, 8], 'hello');
    await tick();
    assert.equal(toHex(hub.last()), toHex(encodeGroupRelay(hub.req(), [7n, 8n], 'hello')));
    ws.deliver(reply(8, hub.req(), 0, u8(0)));
    assert.equal(await p, undefined);

    p = g.relay([7n, 8n, 9n], 'again');
    await tick();
    ws.deliver(reply(8, hub.req(), 1, u8(2), u64(8), u64(9)));
    await assert.rejects(p, (e) => e instanceof GroupError && e.code === 'ENOENT' && e.status === 'NOT_FOUND'
      && e.unknown.length === 2 && e.unknown[0] === 8n && e.unknown[1] === 9n);

    p = g.delete(3);
    await tick();
    assert.equal(toHex(hub.last()), toHex(encodeGroupDelete(hub.req(), 3)));
    ws.deliver(reply(5, hub.req(), 0));
    await p;
    assert.equal(g.groups.length, 0);

    await joined(g, hub, { group: 2 });
    p = g.leave(2);
    await tick();
    assert.equal(toHex(hub.last()), toHex(encodeGroupLeave(hub.req(), 2)));
    ws.deliver(reply(4, hub.req(), 0));
    await p;
    assert.equal(g.groups.length, 0);
  });

  test('every status maps to its error code', async () => {
    const { g, hub } = setup();
    const ws = hub.connect();
    const want = ['', 'ENOENT', 'EEXIST', 'EACCES', 'ENOSPC', 'EBUSY', 'EPERM', 'ENOMASTER', 'EINVAL',
      'EMSGSIZE', 'ENOSPC', 'ENOSPC', 'EACCES'];
    assert.deepEqual(GROUP_STATUS, ['OK', 'NOT_FOUND', 'EXISTS', 'DENIED', 'FULL', 'MASTER_PRESENT',
      'NOT_MASTER', 'NO_MASTER', 'INVALID', 'TOO_LARGE', 'HUB_FULL', 'TOO_MANY_GROUPS', 'AUTH_FAILURES']);
    for (let status = 1; status < want.length; status++) {
      const err = groupStatusError(status, 'x');
      assert.equal(err.code, want[status]);
      assert.equal(err.status, GROUP_STATUS[status]);
      const p = g.join('room', 'pw');
      await tick();
      ws.deliver(reply(3, hub.req(), status));
      await assert.rejects(p, (e) => e instanceof GroupError && e.code === want[status]
        && e.status === GROUP_STATUS[status] && /join "room"/.test(e.message), `status ${status}`);
    }
    assert.equal(g.groups.length, 0);
    assert.equal(g.pipes.length, 1, 'refusals keep the connection');
  });

  test('bad arguments reject with EINVAL and send nothing', async () => {
    const { g, hub } = setup();
    const ws = hub.connect();
    const einval = (p) => assert.rejects(p, (e) => e instanceof GroupError && e.code === 'EINVAL');
    await einval(g.create('', 'p', 'm', 5));
    await einval(g.create('n', 'p', 'm', 0));
    await einval(g.join('x'.repeat(256), 'p'));
    await einval(g.join('n', 'p'.repeat(256)));
    await einval(g.leave(0));
    await einval(g.relay([], 'x'));
    await einval(g.relay(Array(256).fill(1n), 'x'));
    await assert.rejects(g.join(null, 'p'), TypeError);
    assert.equal(ws.sent.length, 0);
  });

  test('concurrent calls are matched by req, whatever the order of the replies', async () => {
    const { g, hub } = setup();
    const ws = hub.connect();
    const who = g.whoami();
    const peers = g.peers();
    const join = g.join('a', 'b');
    const list = g.list();
    await tick();
    const reqs = ws.sent.map((m) => readU32(m, 1));
    assert.equal(new Set(reqs).size, 4, 'each call has its own req');
    ws.deliver(reply(1, reqs[3], 0, u32(0)));
    ws.deliver(reply(3, reqs[2], 0, u32(5), u32(2), u8(1)));
    ws.deliver(reply(7, reqs[1], 0, u32(1), u64(11)));
    ws.deliver(reply(6, reqs[0], 0, u64(10)));
    assert.deepEqual(await Promise.all([who, peers, join, list]), [10n, [11n], 5, []]);
    // A reply to no call is dropped; one for another op than its call's closes the connection.
    ws.deliver(reply(6, (reqs[0] + 100) >>> 0, 0, u64(10)));
    assert.equal(g.stats.dropsStale, 1);
    assert.equal(g.pipes.length, 1);
    const p = g.whoami();
    ws.deliver(reply(7, hub.req(), 0, u32(0)));
    await assert.rejects(p, (e) => e.code === 'ECONNRESET');
    assert.equal(g.stats.dropsMalformed, 1);
    assert.equal(ws.closeCalls.length, 1);
  });

  test('req ids count up, wrap and skip ids in use', async () => {
    const { g, hub } = setup();
    hub.connect();
    const calls = [];
    g._req = 0xfffffffe;
    calls.push(g.whoami(), g.whoami());
    assert.deepEqual(hub.ws.sent.map((m) => readU32(m, 1)), [0xffffffff, 0]);
    g._req = 0xfffffffe;
    calls.push(g.whoami());
    assert.equal(hub.req(), 1, 'ids still waiting are skipped');
    g.close();
    for (const c of calls) await assert.rejects(c, ClosedError);
  });

  test('timeouts: a call times out; its late answer is dropped; a late JOIN is undone', async () => {
    const { g, hub } = setup({ callTimeout: 20 });
    const ws = hub.connect();
    const p = g.whoami();
    const req = hub.req();
    await assert.rejects(p, (e) => e instanceof TimeoutError && e.code === 'ETIMEDOUT');
    ws.deliver(reply(6, req, 0, u64(1)));
    assert.equal(g.stats.dropsStale, 1);

    const j = assert.rejects(g.join('late', 'pw', { timeout: 5 }), TimeoutError);
    await tick();
    const jreq = hub.req();
    await j;
    ws.deliver(reply(3, jreq, 0, u32(9), u32(1), u8(0)));
    assert.equal(toHex(hub.last()), toHex(encodeGroupLeave(hub.req(), 9)), 'LEAVE sent to undo the late join');
    assert.equal(g.groups.length, 0);
    await assert.rejects(g.send(9, 'x'), (e) => e.code === 'ENOENT');

    // The per-call timeout wins over callTimeout; a negative one waits for ever.
    const slow = g.list({ timeout: -1 });
    await sleep(40);
    ws.deliver(reply(1, hub.req(), 0, u32(0)));
    assert.deepEqual(await slow, []);
  });

  test('a late LEAVE or DELETE still ends the membership', async () => {
    const { g, hub } = setup();
    const ws = hub.connect();
    await joined(g, hub, { group: 4, master: true });
    const p = assert.rejects(g.delete(4, { timeout: 5 }), TimeoutError);
    await tick();
    const req = hub.req();
    await p;
    assert.equal(g.groups.length, 1);
    ws.deliver(reply(5, req, 0));
    assert.equal(g.groups.length, 0);
  });

  test('abort signal', async () => {
    const { g, hub } = setup();
    hub.connect();
    const ac = new AbortController();
    const p = g.list({ signal: ac.signal });
    ac.abort();
    await assert.rejects(p, AbortError);
  });

  test('a call made before the connection waits for it, within its timeout', async () => {
    const { g, WS } = setup();
    const p = g.whoami();
    const late = g.peers({ timeout: 5 });
    g.dial(URL);
    await assert.rejects(late, TimeoutError);
    const ws = WS.instances[0];
    ws.accept();
    assert.equal(ws.sent.length, 1, 'only the call still waiting goes out');
    ws.deliver(reply(6, readU32(ws.sent[0], 1), 0, u64(3)));
    assert.equal(await p, 3n);
  });

  test('a too large REPLY fails its call; too large data fails the next recv', async () => {
    const { g, hub } = setup({ recvMaxSize: 64 });
    const ws = hub.connect();
    const p = g.list();
    const entries = [];
    for (let i = 1; i <= 5; i++) entries.push(listEntry(i, 0, 1, 0, 'group name'));
    ws.deliver(reply(1, hub.req(), 0, u32(5), ...entries));
    await assert.rejects(p, TooLargeError);
    ws.deliver(data(1, 2, new Uint8Array(100)));
    await assert.rejects(g.recv(), TooLargeError);
    assert.equal(g.pipes.length, 1);
  });

  test('close rejects calls and recv with ClosedError', async () => {
    const { g, hub } = setup();
    hub.connect();
    const p = g.list();
    const r = g.recv();
    g.close();
    await assert.rejects(p, ClosedError);
    await assert.rejects(r, ClosedError);
    await assert.rejects(g.whoami(), ClosedError);
    await assert.rejects(g.send(1, 'x'), ClosedError);
    await assert.rejects(g.recvString(), NotSupportedError);
  });
});

describe('GroupSocket data and events', () => {
  test('local send checks as in C: not joined, member with to, no master', async () => {
    const { g, hub } = setup();
    const ws = hub.connect();
    const code = (c) => (e) => e instanceof GroupError && e.code === c;
    await assert.rejects(g.send(2, 'x'), code('ENOENT'));
    await joined(g, hub, { group: 2, hasMaster: false });
    await assert.rejects(g.send(2, 'x'), code('ENOMASTER'));
    await assert.rejects(g.send(2, 'x', { to: 5n }), code('EINVAL'));
    ws.deliver(event(3, 2, 77));
    assert.equal((await g.recv()).event, 'master-joined');
    const before = ws.sent.length;
    await g.send(2, 'hi');
    assert.equal(ws.sent.length, before + 1);
    assert.equal(toHex(hub.last()), '10 00 00 00 02 00 00 00 00 00 00 00 00 68 69');
    ws.deliver(event(4, 2, 77));
    assert.equal((await g.recv()).event, 'master-left');
    await assert.rejects(g.send(2, 'x'), code('ENOMASTER'));
    ws.deliver(event(5, 2, 77));
    assert.equal((await g.recv()).event, 'group-deleted');
    await assert.rejects(g.send(2, 'x'), code('ENOENT'));
    assert.equal(g.groups.length, 0);
  });

  test('a member of a group with a master sends at once; the master sends to all or one', async () => {
    const { g, hub } = setup();
    hub.connect();
    await joined(g, hub, { group: 2, hasMaster: true });
    await g.send(2, new Uint8Array([1, 2]));
    assert.equal(toHex(hub.last()), '10 00 00 00 02 00 00 00 00 00 00 00 00 01 02');
    await joined(g, hub, { group: 3, master: true, name: 'mine' });
    await g.send(3, 'all');
    assert.equal(toHex(hub.last()), toHex(encodeGroupSend(3, 0n, 'all')));
    await g.send(3, 'one', { to: 0x1122334455667788n });
    assert.equal(toHex(hub.last()), toHex(encodeGroupSend(3, 0x1122334455667788n, 'one')));
    await g.send(3, 'one', { to: 9 });
    assert.equal(toHex(hub.last()), toHex(encodeGroupSend(3, 9n, 'one')));
    await assert.rejects(g.send(3, 'x', { to: -1 }), (e) => e.code === 'EINVAL');
  });

  test('recv: data, relayed and events, in order, with their fields', async () => {
    const { g, hub } = setup();
    const ws = hub.connect();
    await joined(g, hub, { group: 2, master: true });
    ws.deliver(event(1, 2, 5));
    ws.deliver(data(2, 5, text('hi master')));
    ws.deliver(relayed(6, text('psst')));
    ws.deliver(event(2, 2, 5));
    ws.deliver(event(6, 2, 5, 1));
    ws.deliver(event(6, 2, 0, 9));
    const items = [];
    for (let i = 0; i < 6; i++) items.push(await g.recv({ timeout: 1000 }));
    const brief = items.map((x) => [x.kind, x.event, x.group, x.from, decodeText(x.data), x.error && x.error.code]);
    assert.deepEqual(brief, [
      ['event', 'member-joined', 2, 5n, '', null],
      ['data', '', 2, 5n, 'hi master', null],
      ['relayed', '', 0, 6n, 'psst', null],
      ['event', 'member-left', 2, 5n, '', null],
      ['event', 'undelivered', 2, 5n, '', 'ENOENT'],
      ['event', 'undelivered', 2, 0n, '', 'EMSGSIZE'],
    ]);
    assert.ok(items[1].data instanceof Uint8Array);
    // events for groups we do not know are still delivered
    ws.deliver(event(1, 99, 5));
    assert.equal((await g.recv()).group, 99);
    await assert.rejects(g.recv({ timeout: 5 }), TimeoutError);
  });

  test('async iteration yields items until close', async () => {
    const { g, hub } = setup();
    const ws = hub.connect();
    ws.deliver(relayed(1, text('a')));
    ws.deliver(relayed(2, text('b')));
    const got = [];
    setTimeout(() => g.close(), 20);
    for await (const it of g) got.push(decodeText(it.data));
    assert.deepEqual(got, ['a', 'b']);
  });

  test('a dropped connection: memberships gone, calls reject, a disconnected item and event, redial', async () => {
    const { g, WS, hub } = setup();
    const ws = hub.connect();
    await joined(g, hub, { group: 2, hasMaster: true });
    await joined(g, hub, { group: 3, master: true, name: 'other' });
    const events = [];
    g.addEventListener('disconnected', (e) => events.push(e.detail));
    const p = g.list();
    ws.drop();
    await assert.rejects(p, (e) => e instanceof GroupError && e.code === 'ECONNRESET');
    assert.equal(g.groups.length, 0);
    await assert.rejects(g.send(2, 'x'), (e) => e.code === 'ENOENT');
    assert.equal(events.length, 1);
    assert.equal(events[0].error.code, 'ECONNRESET');
    assert.deepEqual(events[0].groups.sort(), [2, 3]);
    const it = await g.recv();
    assert.deepEqual([it.kind, it.event, it.group, it.from, it.data.length, it.error.code],
      ['event', 'disconnected', 0, 0n, 0, 'ECONNRESET']);
    // A call made while down waits for the next connection (a new client to the hub).
    const who = g.whoami();
    while (WS.instances.length < 2) await sleep(2);
    const ws2 = WS.instances[1];
    ws2.accept();
    assert.equal(ws2.sent.length, 1);
    ws2.deliver(reply(6, readU32(ws2.sent[0], 1), 0, u64(1001)));
    assert.equal(await who, 1001n);
    // A reply on the new connection to a call of the old one is stale.
    assert.equal(g.stats.dropsStale, 0);
  });

  test('CLOSING: the reason ends the calls and the connection; calls fail with it until the next one', async () => {
    const { g, WS, hub } = setup({ reconnectMin: 30, reconnectMax: 0 });
    const ws = hub.connect();
    await joined(g, hub, { group: 2, hasMaster: true });
    const p = g.join('x', 'wrong');
    await tick();
    ws.deliver(reply(3, hub.req(), 3));
    await assert.rejects(p, (e) => e.code === 'EACCES' && e.status === 'DENIED');
    const pending = g.peers();
    ws.deliver(closing(12));
    assert.equal(ws.closeCalls.length, 1, 'the client closes at once');
    await assert.rejects(pending, (e) => e.code === 'EACCES' && e.status === 'AUTH_FAILURES');
    await assert.rejects(g.whoami(), (e) => e.code === 'EACCES' && e.status === 'AUTH_FAILURES');
    const it = await g.recv();
    assert.equal(it.event, 'disconnected');
    assert.equal(it.error.status, 'AUTH_FAILURES');
    assert.equal(g.groups.length, 0);
    while (WS.instances.length < 2) await sleep(2);
    WS.instances[1].accept();
    const who = g.whoami();
    WS.instances[1].deliver(reply(6, readU32(WS.instances[1].sent[0], 1), 0, u64(5)));
    assert.equal(await who, 5n);

    // HUB_FULL, as a new client would get it.
    WS.instances[1].deliver(closing(10));
    const it2 = await g.recv();
    assert.deepEqual([it2.event, it2.error.code, it2.error.status], ['disconnected', 'ENOSPC', 'HUB_FULL']);
  });

  test('names and passwords: any bytes, or strings as UTF-8', async () => {
    const { g, hub } = setup();
    const ws = hub.connect();
    const name = new Uint8Array([0, 0x2c, 0x20, 0xff]);
    const p = g.join(name, 'pässword, with spaces');
    await tick();
    assert.equal(toHex(hub.last()), toHex(encodeGroupJoin(hub.req(), false, name, encodeText('pässword, with spaces'))));
    ws.deliver(reply(3, hub.req(), 0, u32(8), u32(3), u8(0)));
    assert.equal(await p, 8);
    assert.deepEqual([...g.groups[0].nameBytes], [0, 0x2c, 0x20, 0xff]);
    name[0] = 1; // the socket kept its own copy
    assert.equal(g.groups[0].nameBytes[0], 0);
  });
});
