// Unit tests for msock: wire encoding and role logic over a fake in-memory
// WebSocket. Run with `node --test js/test/`.

import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  socket, PROTOCOLS, subprotocolFor, encodeText, decodeText, toBytes, readU32, withHeader,
  randomId, nextId, splitBacktrace, splitPair1, hasPrefix, backoffDelay,
  ClosedError, TimeoutError, TooLargeError, StateError, NotSupportedError, MsockError, AbortError,
} from '../msock.js';

// ---- an in-memory stand-in for the browser WebSocket class, driven by the test as
// the "server". No network. Each makeFakeWebSocket() call gives a fresh class
// with its own list of instances.

function makeFakeWebSocket() {
  return class FakeWebSocket {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;
    /** @type {FakeWebSocket[]} */
    static instances = [];

    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.protocol = '';
      this.binaryType = 'blob';
      /** Frames the client sent: {binary, bytes}. */
      this.frames = [];
      this.closeCalls = [];
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      FakeWebSocket.instances.push(this);
    }

    /** Client side, as in the browser. */
    send(data) {
      if (this.readyState === 0) throw new Error('InvalidStateError: still connecting');
      if (this.readyState !== 1) return;
      if (typeof data === 'string') { this.frames.push({ binary: false, text: data }); return; }
      const view = data instanceof ArrayBuffer ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      this.frames.push({ binary: true, bytes: view.slice() });
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

    /** The binary messages sent so far. @returns {Uint8Array[]} */
    get sent() { return this.frames.filter((f) => f.binary).map((f) => f.bytes); }

    // ---- server side, called by the tests ----

    accept(protocol = this.protocols) {
      this.readyState = 1;
      this.protocol = protocol;
      if (this.onopen) this.onopen({});
    }

    refuse() {
      this.readyState = 3;
      if (this.onerror) this.onerror({});
      if (this.onclose) this.onclose({ code: 1006, reason: '' });
    }

    /** A failed handshake that fires only "error" (seen in Node 20's WebSocket). */
    fail() {
      if (this.onerror) this.onerror({});
    }

    deliver(bytes) {
      const u = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
      const data = this.binaryType === 'arraybuffer' ? u.slice().buffer : { blob: u.slice() };
      if (this.onmessage) this.onmessage({ data });
    }

    deliverText(text) {
      if (this.onmessage) this.onmessage({ data: text });
    }

    drop(code = 1006) {
      this.readyState = 3;
      if (this.onclose) this.onclose({ code, reason: '' });
    }
  };
}

// ---- helpers ----

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tick = () => new Promise((r) => setImmediate(r));
const bytes = (...a) => new Uint8Array(a);
const u32 = (...words) => withHeader(words, new Uint8Array(0));
const cat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
const str = (s) => encodeText(s);

const opened = [];
afterEach(() => { for (const s of opened.splice(0)) s.close(); });

/** A socket of `role` on a fresh fake WebSocket class. */
function setup(role, options = {}) {
  const WS = makeFakeWebSocket();
  const s = socket(role, { WebSocket: WS, reconnectMin: 5, reconnectMax: 40, jitter: false, ...options });
  opened.push(s);
  /** Dial `url` and let the fake server accept; returns the server-side fake. */
  const connect = (url = 'ws://127.0.0.1:5557/sp') => {
    s.dial(url);
    const ws = WS.instances.at(-1);
    ws.accept();
    return ws;
  };
  return { s, WS, connect };
}

describe('wire encoding', () => {
  test('protocol numbers and the one subprotocol a dialer sends', () => {
    const expect = {
      req: 'rep', rep: 'req', pub: 'sub', sub: 'pub', push: 'pull', pull: 'push',
      surveyor: 'respondent', respondent: 'surveyor', pair: 'pair', pair1: 'pair1', bus: 'bus',
    };
    for (const [role, peer] of Object.entries(expect)) {
      assert.equal(subprotocolFor(role), `${peer}.sp.nanomsg.org`);
    }
    assert.equal(PROTOCOLS.req.number, 0x30);
    assert.equal(PROTOCOLS.surveyor.number, 0x62);
    assert.equal(PROTOCOLS.pair1.number, 0x11);
    assert.throws(() => subprotocolFor('nope'), TypeError);
  });

  test('32-bit words are big-endian', () => {
    const m = withHeader([0x00000100, 0x80000001], str('hi'));
    assert.deepEqual([...m], [0, 0, 1, 0, 0x80, 0, 0, 1, 0x68, 0x69]);
    assert.equal(readU32(m, 4), 0x80000001);
    assert.equal(readU32(bytes(0xff, 0xff, 0xff, 0xff), 0), 0xffffffff);
  });

  test('request ids have bit 31 set, count up and wrap within 31 bits', () => {
    for (let i = 0; i < 100; i++) assert.ok(randomId() >= 0x80000000);
    assert.equal(nextId(0x80000000), 0x80000001);
    assert.equal(nextId(0x9a74b8c4), 0x9a74b8c5);
    assert.equal(nextId(0xffffffff), 0x80000000);
  });

  test('backtrace split: id alone, hops + id, TTL and garbage', () => {
    let r = splitBacktrace(cat(u32(0x9a74b8c4), str('ping')), 8);
    assert.ok(r.ok);
    assert.deepEqual([...r.backtrace], [0x9a, 0x74, 0xb8, 0xc4]);
    assert.equal(decodeText(r.body), 'ping');

    r = splitBacktrace(cat(u32(0x100, 0x80000001), str('hi')), 8);
    assert.ok(r.ok);
    assert.equal(r.backtrace.length, 8);
    assert.equal(decodeText(r.body), 'hi');

    const hops = (n) => cat(u32(...Array(n - 1).fill(1), 0x80000001), str('x'));
    assert.ok(splitBacktrace(hops(8), 8).ok, '8 words, id included, are allowed');
    assert.deepEqual(splitBacktrace(hops(9), 8), { ok: false, reason: 'ttl' });
    assert.deepEqual(splitBacktrace(u32(1, 2), 8), { ok: false, reason: 'malformed' });
    assert.deepEqual(splitBacktrace(bytes(0x80, 0, 0), 8), { ok: false, reason: 'malformed' });
    assert.deepEqual(splitBacktrace(new Uint8Array(0), 8), { ok: false, reason: 'malformed' });
    // an empty body after the id is fine
    assert.equal(splitBacktrace(u32(0x80000005), 8).body.length, 0);
  });

  test('PAIR1 hop count', () => {
    const r = splitPair1(cat(u32(1), str('p1')), 8);
    assert.ok(r.ok);
    assert.equal(r.hops, 1);
    assert.equal(decodeText(r.body), 'p1');
    assert.deepEqual(splitPair1(u32(9), 8), { ok: false, reason: 'ttl' });
    assert.deepEqual(splitPair1(u32(0x100), 8), { ok: false, reason: 'malformed' });
    assert.deepEqual(splitPair1(bytes(0, 1), 8), { ok: false, reason: 'malformed' });
  });

  test('prefix match is binary safe; the empty prefix matches everything', () => {
    assert.ok(hasPrefix(str('news: hi'), str('news')));
    assert.ok(!hasPrefix(str('new'), str('news')));
    assert.ok(hasPrefix(bytes(0, 1, 2), bytes(0, 1)));
    assert.ok(!hasPrefix(bytes(0, 2, 2), bytes(0, 1)));
    assert.ok(hasPrefix(new Uint8Array(0), new Uint8Array(0)));
  });

  test('UTF-8 helpers and payload normalisation', () => {
    const s = 'héllo ✓ 😀';
    assert.equal(decodeText(encodeText(s)), s);
    assert.equal(encodeText('✓').length, 3);
    const buf = new Uint8Array([1, 2, 3, 4]);
    assert.equal(toBytes(buf), buf);
    assert.deepEqual([...toBytes(buf.buffer)], [1, 2, 3, 4]);
    assert.deepEqual([...toBytes(new DataView(buf.buffer, 1, 2))], [2, 3]);
    assert.throws(() => toBytes(42), TypeError);
  });

  test('reconnect backoff schedule', () => {
    const o = { reconnectMin: 100, reconnectMax: 1000, jitter: false };
    assert.deepEqual([0, 1, 2, 3, 4, 5, 40].map((n) => backoffDelay(n, o)), [100, 200, 400, 800, 1000, 1000, 1000]);
    // a max not above the min means no backoff
    assert.deepEqual([0, 3].map((n) => backoffDelay(n, { reconnectMin: 100, reconnectMax: 0, jitter: false })), [100, 100]);
    // jitter draws from the upper half of the current value
    const j = { ...o, jitter: true };
    assert.equal(backoffDelay(2, j, () => 0), 200);
    assert.equal(backoffDelay(2, j, () => 0.999999), 399);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(3, j);
      assert.ok(d >= 400 && d < 800);
    }
  });
});

describe('dialing', () => {
  test('exactly one subprotocol, arraybuffer, only ws:// URLs', () => {
    const { s, WS } = setup('req');
    s.dial('ws://127.0.0.1:5557/sp');
    const ws = WS.instances[0];
    assert.equal(ws.protocols, 'rep.sp.nanomsg.org');
    assert.equal(ws.binaryType, 'arraybuffer');
    assert.throws(() => s.dial('tcp://127.0.0.1:5555'), TypeError);
    assert.throws(() => socket('req', { WebSocket: undefined }).dial('ws://x/'), /WebSocket/);
    s.close();
    assert.throws(() => s.dial('ws://127.0.0.1:1/'), ClosedError);
  });

  test('a server that answers with another subprotocol is dropped and redialed', async () => {
    const { s, WS } = setup('sub');
    const errors = [];
    s.addEventListener('error', (e) => errors.push(e.detail.error));
    s.dial('ws://h/');
    WS.instances[0].accept('pair.sp.nanomsg.org');
    assert.equal(s.pipes.length, 0);
    assert.equal(errors[0].code, 'EPROTO');
    await sleep(20);
    assert.equal(WS.instances.length, 2);
    s.close();
  });

  test('reconnect backoff doubles after each failure and resets after a connection', async () => {
    const { s, WS } = setup('pull', { reconnectMin: 5, reconnectMax: 40 });
    const delays = [];
    s.addEventListener('reconnect', (e) => delays.push(e.detail.delay));
    s.dial('ws://h/');
    for (let i = 0; i < 6; i++) {
      const ws = WS.instances.at(-1);
      ws.refuse();
      while (WS.instances.at(-1) === ws) await sleep(2);
    }
    assert.deepEqual(delays, [5, 10, 20, 40, 40, 40]);
    const ws = WS.instances.at(-1);
    ws.accept();
    assert.equal(s.pipes.length, 1);
    ws.drop();
    assert.equal(s.pipes.length, 0);
    assert.equal(delays.at(-1), 5, 'a working connection resets the backoff');
    await sleep(15);
    WS.instances.at(-1).accept();
    assert.equal(s.pipes.length, 1);
    assert.equal(s.stats.reconnects, 7);
    s.close();
    assert.equal(s.pipes.length, 0);
  });

  test('a handshake that fails with only an error event is redialed', async () => {
    const { s, WS } = setup('pull');
    s.dial('ws://h/');
    WS.instances[0].fail();
    while (WS.instances.length < 2) await sleep(2);
    WS.instances[1].accept();
    assert.equal(s.pipes.length, 1);
    s.close();
  });

  test('connect timeout gives up on a hanging handshake, never on an open pipe', async () => {
    const { s, WS } = setup('pull', { connectTimeout: 10, reconnectMin: 1000, reconnectMax: 0 });
    const delays = [];
    s.addEventListener('reconnect', (e) => delays.push(e.detail.delay));
    s.dial('ws://h/');
    await sleep(30);
    assert.equal(WS.instances[0].closeCalls.length, 1);
    assert.deepEqual(delays, [1000]);
    s.close();
    const t = setup('pull', { connectTimeout: 10 });
    t.connect();
    await sleep(30);
    assert.equal(t.s.pipes.length, 1);
    assert.equal(t.WS.instances.length, 1);
    t.s.close();
  });

  test('whenConnected resolves on the first pipe; close stops redialing', async () => {
    const { s, WS } = setup('pull');
    const p = s.whenConnected();
    await assert.rejects(s.whenConnected({ timeout: 5 }), TimeoutError);
    s.dial('ws://h/');
    WS.instances[0].accept();
    await p;
    s.close();
    assert.equal(WS.instances[0].closeCalls.length, 1);
    await sleep(20);
    assert.equal(WS.instances.length, 1);
  });
});

describe('REQ', () => {
  test('request carries an id with bit 31 set; the matching reply resolves it', async () => {
    const { s, connect } = setup('req');
    const ws = connect();
    const p = s.request('ping');
    const [m] = ws.sent;
    assert.equal(m.length, 8);
    const id = readU32(m, 0);
    assert.ok(id & 0x80000000);
    assert.equal(decodeText(m.subarray(4)), 'ping');
    ws.deliver(cat(u32(id), str('pong')));
    assert.equal(decodeText(await p), 'pong');
    // the next request uses the next id
    const p2 = s.requestString(str('again'));
    assert.equal(readU32(ws.sent[1], 0), nextId(id));
    ws.deliver(cat(u32(nextId(id)), str('ok')));
    assert.equal(await p2, 'ok');
    assert.ok(ws.frames.every((f) => f.binary), 'never a text frame');
    s.close();
  });

  test('stale and duplicate replies are dropped', async () => {
    const { s, connect } = setup('req');
    const ws = connect();
    const p = s.request('a');
    const id = readU32(ws.sent[0], 0);
    ws.deliver(cat(u32(nextId(id)), str('wrong id')));
    ws.deliver(cat(u32(id), str('right')));
    ws.deliver(cat(u32(id), str('duplicate')));
    assert.equal(decodeText(await p), 'right');
    assert.equal(s.stats.dropsStale, 2);
    s.close();
  });

  test('concurrent requests are matched by id', async () => {
    const { s, connect } = setup('req');
    const ws = connect();
    const a = s.requestString('a');
    const b = s.requestString('b');
    const [ida, idb] = ws.sent.map((m) => readU32(m, 0));
    assert.notEqual(ida, idb);
    assert.equal(s.pending.length, 2);
    ws.deliver(cat(u32(idb), str('B')));
    ws.deliver(cat(u32(ida), str('A')));
    assert.deepEqual(await Promise.all([a, b]), ['A', 'B']);
    assert.equal(s.pending.length, 0);
    s.close();
  });

  test('timeout rejects; the late reply is then stale', async () => {
    const { s, connect } = setup('req');
    const ws = connect();
    const p = s.request('slow', { timeout: 10 });
    await assert.rejects(p, (e) => e instanceof TimeoutError && e.code === 'ETIMEDOUT');
    ws.deliver(cat(ws.sent[0].subarray(0, 4), str('late')));
    assert.equal(s.stats.dropsStale, 1);
    s.close();
  });

  test('abort signal', async () => {
    const { s, connect } = setup('req');
    connect();
    const ac = new AbortController();
    const p = s.request('x', { signal: ac.signal });
    ac.abort();
    await assert.rejects(p, AbortError);
    assert.equal(s.pending.length, 0);
    s.close();
  });

  test('resends the same request after the resend interval', async () => {
    const { s, connect } = setup('req', { resendInterval: 15 });
    const ws = connect();
    const p = s.request('again?');
    await sleep(40);
    assert.ok(ws.sent.length >= 2);
    assert.deepEqual(ws.sent[1], ws.sent[0]);
    ws.deliver(cat(ws.sent[0].subarray(0, 4), str('ok')));
    await p;
    const n = ws.sent.length;
    await sleep(40);
    assert.equal(ws.sent.length, n, 'no resend after the reply');
    s.close();
  });

  test('request made before connecting goes out on connect; a dropped pipe resends at once', async () => {
    const { s, WS } = setup('req');
    s.dial('ws://h/');
    const p = s.request('early');
    WS.instances[0].accept();
    const first = WS.instances[0].sent[0];
    assert.equal(decodeText(first.subarray(4)), 'early');
    WS.instances[0].drop();
    await sleep(20);
    const ws2 = WS.instances[1];
    ws2.accept();
    assert.deepEqual(ws2.sent[0], first, 'same id and body on the new pipe');
    ws2.deliver(cat(first.subarray(0, 4), str('late but fine')));
    assert.equal(decodeText(await p), 'late but fine');
    s.close();
  });

  test('a reply shorter than 4 bytes closes the pipe; a too large reply rejects', async () => {
    const { s, connect } = setup('req', { recvMaxSize: 16 });
    const ws = connect();
    ws.deliver(bytes(1, 2));
    assert.equal(s.stats.dropsMalformed, 1);
    assert.equal(ws.closeCalls.length, 1);
    await sleep(20);
    const { WS } = { WS: ws.constructor };
    const ws2 = WS.instances.at(-1);
    ws2.accept();
    const p = s.request('big?');
    ws2.deliver(cat(ws2.sent[0].subarray(0, 4), new Uint8Array(13)));
    await assert.rejects(p, (e) => e instanceof TooLargeError && e.code === 'EMSGSIZE' && e.size === 17);
    assert.equal(s.stats.dropsTooLarge, 1);
    s.close();
  });

  test('close rejects outstanding requests; send/recv are not for REQ', async () => {
    const { s, connect } = setup('req');
    connect();
    const p = s.request('x');
    s.close();
    await assert.rejects(p, ClosedError);
    await assert.rejects(s.request('y'), ClosedError);
    const t = setup('req').s;
    await assert.rejects(t.send('x'), NotSupportedError);
    await assert.rejects(t.recv(), NotSupportedError);
  });
});

describe('REP and RESPONDENT', () => {
  test('the reply echoes the backtrace unchanged', async () => {
    const { s, connect } = setup('rep');
    const ws = connect();
    assert.equal(ws.protocols, 'req.sp.nanomsg.org');
    ws.deliver(cat(u32(0x00000100, 0x80000001), str('hi')));
    assert.equal(await s.recvString(), 'hi');
    await s.send('pong');
    assert.deepEqual(ws.sent[0], cat(u32(0x00000100, 0x80000001), str('pong')));
    await assert.rejects(s.send('again'), StateError);
    s.close();
  });

  test('requests answered out of order through recvRequest', async () => {
    const { s, connect } = setup('rep');
    const ws = connect();
    ws.deliver(cat(u32(0x80000001), str('one')));
    ws.deliver(cat(u32(0x80000002), str('two')));
    const r1 = await s.recvRequest();
    const r2 = await s.recvRequest();
    assert.equal(r2.id, 0x80000002);
    r2.reply('2');
    r1.reply(str('1'));
    assert.throws(() => r1.reply('x'), StateError);
    assert.deepEqual(ws.sent.map((m) => [readU32(m, 0), decodeText(m.subarray(4))]),
      [[0x80000002, '2'], [0x80000001, '1']]);
    s.close();
  });

  test('TTL: 8 words answered, 9 dropped; no id word closes the pipe', async () => {
    const { s, connect } = setup('rep');
    const ws = connect();
    ws.deliver(cat(u32(1, 2, 3, 4, 5, 6, 7, 8, 0x80000009), str('too far')));
    ws.deliver(cat(u32(1, 2, 3, 4, 5, 6, 7, 0x80000008), str('ok')));
    assert.equal(await s.recvString(), 'ok');
    assert.equal(s.stats.dropsTtl, 1);
    ws.deliver(cat(u32(1, 2), str('xx')));
    assert.equal(s.stats.dropsMalformed, 1);
    assert.equal(ws.closeCalls.length, 1);
    assert.equal(s.pipes.length, 0);
    s.close();
  });

  test('a reply whose pipe is gone is dropped', async () => {
    const { s, connect } = setup('rep');
    const ws = connect();
    ws.deliver(cat(u32(0x80000001), str('q')));
    const r = await s.recvRequest();
    ws.drop();
    assert.equal(r.reply('a'), false);
    assert.equal(s.stats.dropsNoPipe, 1);
    s.close();
  });

  test('serve() answers with the handler result', async () => {
    const { s, connect } = setup('rep');
    const ws = connect();
    const done = s.serve(async (body) => `echo ${decodeText(body)}`);
    ws.deliver(cat(u32(0x80000007), str('x')));
    await sleep(5);
    assert.deepEqual(ws.sent[0], cat(u32(0x80000007), str('echo x')));
    s.close();
    await done;
  });

  test('RESPONDENT echoes the survey id', async () => {
    const { s, connect } = setup('respondent');
    const ws = connect();
    assert.equal(ws.protocols, 'surveyor.sp.nanomsg.org');
    ws.deliver(cat(u32(0xaf9aedd3), str('q?')));
    const sv = await s.recvSurvey();
    assert.equal(sv.text(), 'q?');
    sv.reply('here');
    assert.deepEqual(ws.sent[0], cat(u32(0xaf9aedd3), str('here')));
    s.close();
  });
});

describe('PUB and SUB', () => {
  test('SUB with no subscription receives nothing; prefixes filter', async () => {
    const { s, connect } = setup('sub');
    const ws = connect();
    assert.equal(ws.protocols, 'pub.sp.nanomsg.org');
    ws.deliver(str('news: dropped'));
    assert.equal(s.stats.dropsNoSub, 1);
    s.subscribe('news');
    s.subscribe(bytes(0, 1));
    s.subscribe('news'); // twice is harmless
    assert.equal(s.topics.length, 2);
    for (const m of ['weather: no', 'news: yes', 'new', 'newsflash']) ws.deliver(str(m));
    ws.deliver(bytes(0, 1, 9));
    ws.deliver(bytes(0, 2, 9));
    assert.equal(await s.recvString(), 'news: yes');
    assert.equal(await s.recvString(), 'newsflash');
    assert.deepEqual([...await s.recv()], [0, 1, 9]);
    await assert.rejects(s.recv({ timeout: 5 }), TimeoutError);
    s.unsubscribe('news');
    ws.deliver(str('news: gone'));
    assert.throws(() => s.unsubscribe('news'), (e) => e instanceof MsockError && e.code === 'ENOENT');
    s.subscribe('');
    ws.deliver(str('anything'));
    assert.equal(await s.recvString(), 'anything');
    await assert.rejects(s.send('x'), NotSupportedError);
    s.close();
  });

  test('PUB sends to every pipe and never waits', async () => {
    const { s, connect, WS } = setup('pub');
    await s.send('nobody'); // no pipe: goes nowhere
    const a = connect('ws://a/');
    const b = connect('ws://b/');
    assert.equal(a.protocols, 'sub.sp.nanomsg.org');
    await s.send('hello');
    assert.deepEqual(a.sent, [str('hello')]);
    assert.deepEqual(b.sent, [str('hello')]);
    assert.equal(WS.instances.length, 2);
    await assert.rejects(s.recv(), NotSupportedError);
    s.close();
  });
});

describe('PUSH, PULL, BUS, PAIR', () => {
  test('PUSH round-robins and waits for a pipe; send timeout', async () => {
    const { s, connect } = setup('push');
    await assert.rejects(s.send('x', { timeout: 5 }), TimeoutError);
    const waiting = s.send('job0');
    const a = connect('ws://a/');
    await waiting;
    const b = connect('ws://b/');
    for (const j of ['job1', 'job2', 'job3']) await s.send(j);
    const all = [...a.sent, ...b.sent].map(decodeText).sort();
    assert.deepEqual(all, ['job0', 'job1', 'job2', 'job3']);
    assert.ok(a.sent.length === 2 && b.sent.length === 2);
    s.close();
  });

  test('PULL receives; recv timeout, abort and close', async () => {
    const { s, connect } = setup('pull');
    const ws = connect();
    ws.deliver(str('job'));
    assert.equal(await s.recvString(), 'job');
    await assert.rejects(s.recv({ timeout: 5 }), TimeoutError);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(s.recv({ signal: ac.signal }), AbortError);
    const pending = s.recv();
    s.close();
    await assert.rejects(pending, ClosedError);
    await assert.rejects(s.recv(), ClosedError);
  });

  test('async iteration ends at close', async () => {
    const { s, connect } = setup('pull');
    const ws = connect();
    ws.deliver(str('a'));
    ws.deliver(str('b'));
    const got = [];
    const loop = (async () => { for await (const m of s) got.push(decodeText(m)); })();
    await tick();
    s.close();
    await loop;
    assert.deepEqual(got, ['a', 'b']);
  });

  test('a too large message rejects the next recv and keeps the pipe', async () => {
    const { s, connect } = setup('pull', { recvMaxSize: 4 });
    const ws = connect();
    ws.deliver(str('12345'));
    ws.deliver(str('1234'));
    await assert.rejects(s.recv(), TooLargeError);
    assert.equal(await s.recvString(), '1234');
    assert.equal(s.pipes.length, 1);
    s.close();
  });

  test('a text frame closes the pipe', () => {
    const { s, connect } = setup('pull');
    const ws = connect();
    ws.deliverText('hello');
    assert.equal(s.stats.dropsMalformed, 1);
    assert.equal(s.pipes.length, 0);
    s.close();
  });

  test('BUS sends to all peers and receives from all', async () => {
    const { s, connect } = setup('bus');
    const a = connect('ws://a/');
    const b = connect('ws://b/');
    assert.equal(a.protocols, 'bus.sp.nanomsg.org');
    await s.send('hi');
    assert.equal(a.sent.length + b.sent.length, 2);
    b.deliver(str('from b'));
    assert.equal(await s.recvString(), 'from b');
    s.close();
  });

  test('PAIR dials one URL; PAIR1 adds and checks the hop count', async () => {
    const pair = setup('pair');
    pair.connect();
    assert.throws(() => pair.s.dial('ws://other/'), StateError);
    [...pair.s.dialers][0].close();
    assert.equal(pair.s.pipes.length, 0);
    pair.s.dial('ws://other/'); // allowed once the first dialer is closed
    pair.s.close();

    const { s, connect } = setup('pair1');
    const ws = connect();
    assert.equal(ws.protocols, 'pair1.sp.nanomsg.org');
    await s.send('p1');
    assert.deepEqual(ws.sent[0], cat(u32(1), str('p1')));
    ws.deliver(cat(u32(9), str('too many hops')));
    ws.deliver(cat(u32(2), str('ok')));
    assert.equal(await s.recvString(), 'ok');
    assert.equal(s.stats.dropsTtl, 1);
    ws.deliver(cat(u32(0x100), str('garbage')));
    assert.equal(s.stats.dropsMalformed, 1);
    assert.equal(s.pipes.length, 0);
    s.close();
  });
});

describe('SURVEYOR', () => {
  test('survey goes to every respondent; responses collected until the deadline', async () => {
    const { s, connect } = setup('surveyor', { surveyTime: 30 });
    const a = connect('ws://a/');
    const b = connect('ws://b/');
    assert.equal(a.protocols, 'respondent.sp.nanomsg.org');
    const seen = [];
    const p = s.surveyStrings('who?', { onResponse: (body) => seen.push(decodeText(body)) });
    assert.deepEqual(a.sent[0], b.sent[0]);
    const id = readU32(a.sent[0], 0);
    assert.ok(id & 0x80000000);
    a.deliver(cat(u32(id), str('a here')));
    b.deliver(cat(u32(nextId(id)), str('wrong survey')));
    b.deliver(cat(u32(id), str('b here')));
    assert.deepEqual(seen, ['a here', 'b here']);
    const t0 = Date.now();
    assert.deepEqual(await p, ['a here', 'b here']);
    assert.ok(Date.now() - t0 >= 15, 'resolved at the deadline, not before');
    a.deliver(cat(u32(id), str('too late')));
    assert.equal(s.stats.dropsStale, 2);
    s.close();
  });

  test('per-survey deadline, early end with max, ids count up', async () => {
    const { s, connect } = setup('surveyor');
    const ws = connect();
    assert.deepEqual(await s.survey('nobody answers', { timeout: 5 }), []);
    const p = s.survey('first two', { timeout: 10000, max: 2 });
    const id = readU32(ws.sent[1], 0);
    assert.equal(id, nextId(readU32(ws.sent[0], 0)));
    ws.deliver(cat(u32(id), str('1')));
    ws.deliver(cat(u32(id), str('2')));
    assert.deepEqual((await p).map(decodeText), ['1', '2']);
    ws.deliver(bytes(1));
    assert.equal(s.stats.dropsMalformed, 1);
    await assert.rejects(s.send('x'), NotSupportedError);
    s.close();
  });

  test('close rejects a running survey', async () => {
    const { s, connect } = setup('surveyor');
    connect();
    const p = s.survey('x', { timeout: 10000 });
    s.close();
    await assert.rejects(p, ClosedError);
  });
});
