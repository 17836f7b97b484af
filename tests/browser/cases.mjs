// cases.mjs: the browser test cases. Each one drives msock.js sockets in the
// page (ctx.T) against libmsock sockets in browser_peer (ctx.peer), one SP role
// pair at a time. The browser always dials; the C side always listens.

/** Timeout of one operation (a recv, a request, a connect); a case has more. */
const OP_MS = 10000;
const MIB = 1024 * 1024;

const hex = (s) => Buffer.from(s).toString('hex') || '-';
const text = (h) => Buffer.from(h === '-' ? '' : h, 'hex').toString();

function equal(got, want, what) {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, wanted ${JSON.stringify(want)}`);
}

function check(ok, what) {
  if (!ok) throw new Error(what);
}

/** Options of browser sockets that get big messages: 1 MiB plus a header is over the default. */
const BIG = { recvMaxSize: 4 * MIB };

/**
 * @typedef {object} Ctx
 * @property {(fn: string, ...args: any[]) => Promise<any>} T calls window.T[fn] in the page
 * @property {import('./peer.mjs').Peer} peer the running browser_peer
 * @property {(path: string) => string} url the ws:// URL of one of the peer's paths
 * @property {(how: 'kill' | 'quit') => Promise<void>} stopPeer
 * @property {() => Promise<void>} startPeer starts it again on the same port
 */

/** @type {{name: string, run: (ctx: Ctx) => Promise<void>}[]} */
export const cases = [
  {
    name: 'req -> C rep: requests echoed, several outstanding at once',
    async run({ T, url }) {
      await T('open', 'req', 'req', url('rep'));
      await T('connected', 'req', OP_MS);
      equal(text(await T('request', 'req', hex('hello'), OP_MS)), 'hello', 'reply');
      const bodies = ['one', 'two', 'three', ''];
      const replies = await Promise.all(bodies.map((b) => T('request', 'req', hex(b), OP_MS)));
      equal(replies.map(text).join(','), bodies.join(','), 'concurrent replies');
    },
  },
  {
    name: 'rep <- C req: the browser answers requests from C',
    async run({ T, peer, url }) {
      await T('open', 'rep', 'rep', url('req'));
      await T('serve', 'rep', hex('browser:'));
      await T('connected', 'rep', OP_MS);
      await peer.cmd('pipes req 1', OP_MS);
      equal(text(await peer.cmd(`request ${hex('ping 1')}`, OP_MS)), 'browser:ping 1', 'reply 1');
      equal(text(await peer.cmd(`request ${hex('ping 2')}`, OP_MS)), 'browser:ping 2', 'reply 2');
    },
  },
  {
    name: 'sub <- C pub: prefix filter in the browser, binary topics',
    async run({ T, peer, url }) {
      await T('open', 'sub', 'sub', url('pub'));
      await T('subscribe', 'sub', hex('news/'));
      await T('subscribe', 'sub', '00ff');
      await T('connected', 'sub', OP_MS);
      await peer.cmd('pipes pub 1', OP_MS);
      for (const m of [hex('weather/rain'), hex('news/a'), '00fe01', '00ff02', hex('new'), hex('news/end')]) {
        await peer.cmd(`send pub ${m}`, OP_MS);
      }
      // Messages keep their order on one connection, so the filtered ones would show up
      // before "news/end" if the filter let them through.
      const got = [];
      for (let i = 0; i < 3; i++) got.push(await T('recv', 'sub', OP_MS));
      equal(got.join(','), [hex('news/a'), '00ff02', hex('news/end')].join(','), 'received');
      equal((await T('stats', 'sub')).dropsNoSub, 3, 'messages dropped by the filter');
    },
  },
  {
    name: 'pub -> C sub: prefix filter in C',
    async run({ T, peer, url }) {
      await peer.subscribe(hex('news/'));
      await T('open', 'pub', 'pub', url('sub'));
      await T('connected', 'pub', OP_MS);
      await peer.cmd('pipes sub 1', OP_MS);
      for (const m of ['weather/rain', 'news/a', 'new', 'news/end']) await T('send', 'pub', hex(m), OP_MS);
      equal(text(await peer.cmd('recv sub', OP_MS)), 'news/a', 'first');
      equal(text(await peer.cmd('recv sub', OP_MS)), 'news/end', 'second');
    },
  },
  {
    name: 'push -> C pull',
    async run({ T, peer, url }) {
      await T('open', 'push', 'push', url('pull'));
      for (const m of ['job 1', 'job 2', 'job 3']) await T('send', 'push', hex(m), OP_MS);
      for (const m of ['job 1', 'job 2', 'job 3']) equal(text(await peer.cmd('recv pull', OP_MS)), m, 'job');
    },
  },
  {
    name: 'pull <- C push',
    async run({ T, peer, url }) {
      await T('open', 'pull', 'pull', url('push'));
      await T('connected', 'pull', OP_MS);
      await peer.cmd('pipes push 1', OP_MS);
      for (const m of ['task a', 'task b']) await peer.cmd(`send push ${hex(m)}`, OP_MS);
      for (const m of ['task a', 'task b']) equal(text(await T('recv', 'pull', OP_MS)), m, 'task');
    },
  },
  {
    name: 'pair <-> C pair: both directions',
    async run(ctx) { await pairBothWays(ctx, 'pair'); },
  },
  {
    name: 'pair1 <-> C pair1: both directions, hop count stripped',
    async run(ctx) { await pairBothWays(ctx, 'pair1'); },
  },
  {
    name: 'bus <-> C bus: two browser peers, C reaches both, C does not forward',
    async run({ T, peer, url }) {
      await T('open', 'a', 'bus', url('bus'));
      await T('open', 'b', 'bus', url('bus'));
      await T('connected', 'a', OP_MS);
      await T('connected', 'b', OP_MS);
      await peer.cmd('pipes bus 2', OP_MS);
      await peer.cmd(`send bus ${hex('from C')}`, OP_MS);
      equal(text(await T('recv', 'a', OP_MS)), 'from C', 'a got');
      equal(text(await T('recv', 'b', OP_MS)), 'from C', 'b got');
      await T('send', 'a', hex('from a'), OP_MS);
      equal(text(await peer.cmd('recv bus', OP_MS)), 'from a', 'C got');
      // Had C forwarded "from a" to b, b would see it before this one.
      await peer.cmd(`send bus ${hex('from C again')}`, OP_MS);
      equal(text(await T('recv', 'b', OP_MS)), 'from C again', 'b got next');
      equal(text(await T('recv', 'a', OP_MS)), 'from C again', 'a got next');
    },
  },
  {
    name: 'surveyor -> C respondent',
    async run({ T, url }) {
      await T('open', 'sv', 'surveyor', url('respondent'));
      await T('connected', 'sv', OP_MS);
      const answers = await T('survey', 'sv', hex('who is there?'), 1, OP_MS);
      equal(answers.map(text).join(','), 'who is there?', 'responses');
    },
  },
  {
    name: 'respondent <- C surveyor: two browser respondents answer',
    async run({ T, peer, url }) {
      for (const n of ['r1', 'r2']) {
        await T('open', n, 'respondent', url('surveyor'));
        await T('serve', n, hex(`${n}:`));
        await T('connected', n, OP_MS);
      }
      await peer.cmd('pipes surveyor 2', OP_MS);
      const [count, ...answers] = (await peer.cmd(`survey ${hex('roll call')} 2`, OP_MS)).split(' ');
      equal(count, '2', 'number of responses');
      equal(answers.map(text).sort().join(','), 'r1:roll call,r2:roll call', 'responses');
    },
  },
  {
    name: '1 MiB req -> C rep -> req, byte-exact both ways',
    async run({ T, url }) {
      await T('open', 'req', 'req', url('rep'), BIG);
      await T('connected', 'req', OP_MS);
      equal(await T('requestPattern', 'req', MIB, 3, OP_MS), '', '1 MiB echo');
    },
  },
  {
    name: '1 MiB push -> C pull, byte-exact',
    async run({ T, peer, url }) {
      await T('open', 'push', 'push', url('pull'));
      await T('sendPattern', 'push', MIB, 5, OP_MS);
      await peer.cmd(`recvpat pull ${MIB} 5`, OP_MS);
    },
  },
  {
    name: '1 MiB C push -> pull, byte-exact',
    async run({ T, peer, url }) {
      await T('open', 'pull', 'pull', url('push'), BIG);
      await T('connected', 'pull', OP_MS);
      await peer.cmd('pipes push 1', OP_MS);
      await peer.cmd(`sendpat push ${MIB} 9`, OP_MS);
      equal(await T('recvPattern', 'pull', MIB, 9, OP_MS), '', '1 MiB from C');
    },
  },
  {
    name: 'Origin: a C listener admits the page origin and refuses others (403)',
    async run({ T, url }) {
      await T('open', 'ok', 'req', url('rep-origin'));
      equal(text(await T('request', 'ok', hex('from the page'), OP_MS)), 'from the page', 'reply');
      // The refused handshake shows up as failed attempts: wait for a few, none may connect.
      await T('open', 'no', 'req', url('rep-foreign'), RECONNECT);
      await T('waitReconnects', 'no', 3, OP_MS);
      equal((await T('stats', 'no')).pipesOpened, 0, 'connections from a foreign origin');
    },
  },
  {
    name: 'wss: the page over https from a C wss listener, req -> C rep over wss (1 MiB), foreign origin refused',
    async run({ openPage, peer }) {
      const origin = `https://localhost:${peer.wssPort}`;
      const page = await openPage(`${origin}/`);
      try {
        equal(page.protocol, 'https:', 'the page came over');
        const { T } = page;
        await T('open', 'wreq', 'req', `wss://localhost:${peer.wssPort}/wss-rep`, BIG);
        await T('connected', 'wreq', OP_MS);
        equal(text(await T('request', 'wreq', hex('over tls'), OP_MS)), 'over tls', 'reply');
        equal(await T('requestPattern', 'wreq', MIB, 11, OP_MS), '', '1 MiB echo');
        await T('open', 'wno', 'req', `wss://localhost:${peer.wssPort}/wss-rep-foreign`, RECONNECT);
        await T('waitReconnects', 'wno', 3, OP_MS);
        equal((await T('stats', 'wno')).pipesOpened, 0, 'connections from a foreign origin');
        await T('closeAll');
      } finally {
        await page.close();
      }
    },
  },
  {
    name: 'group: browser member, C master: wrong password, data both ways, broadcast, to one, events',
    async run(ctx) { await groupMemberWithCMaster(ctx); },
  },
  {
    name: 'group: browser master, a C member and a second browser member: all, one, funnel, delete',
    async run(ctx) { await groupBrowserMaster(ctx); },
  },
  {
    name: 'group: list, whoami, peers, relay (unknown ids reported) between browser and C',
    async run(ctx) { await groupIdentityAndRelay(ctx); },
  },
  {
    name: 'group: the hub goes away: disconnected event, memberships gone, a new client after the redial',
    async run(ctx) { await groupHubRestart(ctx); },
  },
  {
    name: 'reconnect after the C peer is killed (SIGKILL): backoff, then traffic on the same port',
    async run(ctx) { await reconnect(ctx, 'kill'); },
  },
  {
    name: 'reconnect after the C peer closes cleanly: backoff, then traffic on the same port',
    async run(ctx) { await reconnect(ctx, 'quit'); },
  },
];

async function pairBothWays({ T, peer, url }, role) {
  await T('open', role, role, url(role));
  await T('connected', role, OP_MS);
  await peer.cmd(`pipes ${role} 1`, OP_MS);
  await T('send', role, hex(`hi C from ${role}`), OP_MS);
  equal(text(await peer.cmd(`recv ${role}`, OP_MS)), `hi C from ${role}`, 'C got');
  await peer.cmd(`send ${role} ${hex(`hi browser from ${role}`)}`, OP_MS);
  equal(text(await T('recv', role, OP_MS)), `hi browser from ${role}`, 'browser got');
}

/** A fast backoff, for the cases that watch the redials. */
const RECONNECT = { reconnectMin: 100, reconnectMax: 1600 };

async function reconnect(ctx, how) {
  const { T, url } = ctx;
  await T('open', 'req', 'req', url('rep'), RECONNECT);
  await T('open', 'sub', 'sub', url('pub'), RECONNECT);
  await T('subscribe', 'sub', '');
  await T('connected', 'req', OP_MS);
  await T('connected', 'sub', OP_MS);
  equal(text(await T('request', 'req', hex('before'), OP_MS)), 'before', 'reply before the restart');

  await T('clearReconnects', 'req');
  await ctx.stopPeer(how);
  // Each wait is drawn from the upper half of a base that starts at reconnectMin and
  // doubles after each failed attempt (jitter as in libmsock).
  const seen = await T('waitReconnects', 'req', 4, OP_MS);
  seen.slice(0, 4).forEach(({ delay, failures }, i) => {
    const base = Math.min(RECONNECT.reconnectMax, RECONNECT.reconnectMin * 2 ** i);
    equal(failures, i + 1, `failures at attempt ${i + 1}`);
    check(delay >= base / 2 && delay <= base, `wait ${i + 1} is ${delay} ms, outside [${base / 2}, ${base}]`);
  });
  // A request made while the server is down goes out once the socket is back.
  await T('startRequest', 'req', hex('during the outage'), OP_MS, 'pending');

  await ctx.startPeer();
  equal(text(await T('settled', 'req', 'pending')), 'during the outage', 'reply to the queued request');
  equal(text(await T('request', 'req', hex('after'), OP_MS)), 'after', 'reply after the restart');
  await T('connected', 'sub', OP_MS);
  await ctx.peer.cmd('pipes pub 1', OP_MS);
  await ctx.peer.cmd(`send pub ${hex('back again')}`, OP_MS);
  equal(text(await T('recv', 'sub', OP_MS)), 'back again', 'sub after the restart');
}

// ---- the group pattern: browser GroupSockets and C group clients (c1..c4) on browser_peer's hub,
// which the browser reaches over ws:// and the C clients over inproc.

/** A group call in the page that must succeed; its value (ids as decimal strings). */
async function gcall(T, name, method, ...args) {
  const r = await T('gcall', name, method, args);
  if (r.error) throw new Error(`${name}.${method}: ${r.error.code}: ${r.error.message}`);
  return r.value;
}

/** A group call in the page that must fail with `code`; its error. */
async function gfail(T, name, method, code, ...args) {
  const r = await T('gcall', name, method, args);
  check(r.error, `${name}.${method} succeeded, wanted ${code}`);
  equal(r.error.code, code, `${name}.${method} error`);
  return r.error;
}

/** The next item of a browser group socket, as "kind event group from text error". */
async function grecv(T, name) {
  const it = await T('grecv', name, OP_MS);
  return [it.kind, it.event || '-', it.group, it.from, text(it.data || '-') || '-', it.error || '-'].join(' ');
}

/** The next item of a C group client, in the same shape (C names events as msock.h does). */
async function crecv(peer, client) {
  const [kind, group, from, body, error] = (await peer.cmd(`grecv ${client}`, OP_MS)).split(' ');
  const events = {
    joined: 'member-joined', left: 'member-left', 'master-joined': 'master-joined',
    'master-left': 'master-left', deleted: 'group-deleted', undelivered: 'undelivered',
    disconnected: 'disconnected',
  };
  const k = events[kind] ? 'event' : kind;
  return [k, events[kind] || '-', Number(group), from, text(body) || '-', error].join(' ');
}

/** The browser item expected, in grecv's shape. */
const item = (kind, event, group, from, body = '-', error = '-') =>
  [kind, event, group, from, body, error].join(' ');

async function groupMemberWithCMaster({ T, peer, url }) {
  await T('gopen', 'm', url('group-hub'), OP_MS);
  const g = await gcall(T, 'm', 'create', 'room a', 'member pw', 'master pw', 10);
  await gfail(T, 'm', 'create', 'EEXIST', 'room a', 'x', 'y', 10);
  const c1 = await peer.cmd('gopen c1', OP_MS);
  equal(await peer.cmd(`gjoin c1 ${hex('room a')} ${hex('master pw')} 1`, OP_MS), String(g), 'C master joined');

  const denied = await gfail(T, 'm', 'join', 'EACCES', 'room a', 'wrong');
  equal(denied.status, 'DENIED', 'hub status');
  await gfail(T, 'm', 'join', 'ENOENT', 'no such room', 'member pw');
  await gfail(T, 'm', 'join', 'EBUSY', 'room a', 'master pw', { master: true });
  equal(await gcall(T, 'm', 'join', 'room a', 'member pw'), g, 'browser joined');
  await gfail(T, 'm', 'join', 'EEXIST', 'room a', 'member pw');
  const me = await gcall(T, 'm', 'whoami');
  equal(await crecv(peer, 'c1'), item('event', 'member-joined', g, me), 'C master saw the browser join');

  await gcall(T, 'm', 'send', g, 'hello master');
  equal(await crecv(peer, 'c1'), item('data', '-', g, me, 'hello master'), 'C master got');
  await gfail(T, 'm', 'send', 'EINVAL', g, 'a member cannot pick', { to: `id:${c1}` });
  await peer.cmd(`gsend c1 ${g} 0 ${hex('to all')}`, OP_MS);
  await peer.cmd(`gsend c1 ${g} ${me} ${hex('just you')}`, OP_MS);
  equal(await grecv(T, 'm'), item('data', '-', g, c1, 'to all'), 'broadcast');
  equal(await grecv(T, 'm'), item('data', '-', g, c1, 'just you'), 'to one');

  // Another member joins, then the master leaves: the browser hears both.
  const c2 = await peer.cmd('gopen c2', OP_MS);
  equal(await peer.cmd(`gjoin c2 ${hex('room a')} ${hex('member pw')} 0`, OP_MS), String(g), 'C member joined');
  equal(await grecv(T, 'm'), item('event', 'member-joined', g, c2), 'member joined event');
  await peer.cmd(`gleave c1 ${g}`, OP_MS);
  equal(await grecv(T, 'm'), item('event', 'master-left', g, c1), 'master left event');
  await gfail(T, 'm', 'send', 'ENOMASTER', g, 'anyone?');
  await gcall(T, 'm', 'leave', g);
  await gfail(T, 'm', 'send', 'ENOENT', g, 'gone');
}

async function groupBrowserMaster({ T, peer, url }) {
  await T('gopen', 'boss', url('group-hub'), OP_MS);
  await T('gopen', 'b2', url('group-hub'), OP_MS);
  const g = await gcall(T, 'boss', 'create', 'stage, 1', 'pw', 'boss pw', 5);
  equal(await gcall(T, 'boss', 'join', 'stage, 1', 'boss pw', { master: true }), g, 'browser master joined');
  const boss = await gcall(T, 'boss', 'whoami');
  const b2 = await gcall(T, 'b2', 'whoami');
  const cm = await peer.cmd('gopen c3', OP_MS);

  equal(await peer.cmd(`gjoin c3 ${hex('stage, 1')} ${hex('pw')} 0`, OP_MS), String(g), 'C member joined');
  equal(await grecv(T, 'boss'), item('event', 'member-joined', g, cm), 'master saw C join');
  equal(await gcall(T, 'b2', 'join', 'stage, 1', 'pw'), g, 'second browser joined');
  equal(await grecv(T, 'boss'), item('event', 'member-joined', g, b2), 'master saw b2 join');
  equal(await crecv(peer, 'c3'), item('event', 'member-joined', g, b2), 'C member saw b2 join');

  await gcall(T, 'boss', 'send', g, 'to all');
  await gcall(T, 'boss', 'send', g, 'only C', { to: `id:${cm}` });
  await gcall(T, 'boss', 'send', g, 'only b2', { to: `id:${b2}` });
  equal(await crecv(peer, 'c3'), item('data', '-', g, boss, 'to all'), 'C got the broadcast');
  equal(await crecv(peer, 'c3'), item('data', '-', g, boss, 'only C'), 'C got its own');
  equal(await grecv(T, 'b2'), item('data', '-', g, boss, 'to all'), 'b2 got the broadcast');
  // Had b2 got "only C", it would come before its own.
  equal(await grecv(T, 'b2'), item('data', '-', g, boss, 'only b2'), 'b2 got its own');

  await peer.cmd(`gsend c3 ${g} 0 ${hex('from C')}`, OP_MS);
  await gcall(T, 'b2', 'send', g, 'from b2');
  const funnel = [await grecv(T, 'boss'), await grecv(T, 'boss')].sort();
  equal(funnel.join(','), [item('data', '-', g, b2, 'from b2'), item('data', '-', g, cm, 'from C')].sort().join(','),
    'the master got both');

  // To a member that is not there: dropped, and the hub says so.
  await gcall(T, 'boss', 'send', g, 'nobody', { to: 'id:1234567890123' });
  equal(await grecv(T, 'boss'), item('event', 'undelivered', g, '1234567890123', '-', 'ENOENT'), 'undelivered');

  await gfail(T, 'b2', 'delete', 'EPERM', g);
  await gcall(T, 'boss', 'delete', g);
  equal(await crecv(peer, 'c3'), item('event', 'group-deleted', g, boss), 'C member told');
  equal(await grecv(T, 'b2'), item('event', 'group-deleted', g, boss), 'b2 told');
  await gfail(T, 'b2', 'send', 'ENOENT', g, 'gone');
  check(!(await gcall(T, 'boss', 'list')).some((x) => x.id === g), 'the group is gone from the list');
}

async function groupIdentityAndRelay({ T, peer, url }) {
  await T('gopen', 'r', url('group-hub'), OP_MS);
  const c1 = await peer.cmd('gopen c4', OP_MS);
  const me = await gcall(T, 'r', 'whoami');
  check(me !== c1 && me !== '0', `ids ${me} and ${c1}`);
  const peers = await gcall(T, 'r', 'peers');
  check(peers.includes(c1) && !peers.includes(me), `peers ${peers.join(',')}: want ${c1}, not ${me}`);
  const [n, ...cPeers] = (await peer.cmd('gpeers c4', OP_MS)).split(' ');
  check(cPeers.includes(me) && Number(n) === cPeers.length, `C peers ${cPeers.join(',')}: want ${me}`);

  // Any bytes in a name: a comma, a space, a NUL, a byte that is not UTF-8.
  const nameHex = hex('a, b') + '00ff';
  await peer.cmd(`gcreate c4 ${nameHex} ${hex('p')} ${hex('m')} 7`, OP_MS);
  const listed = (await gcall(T, 'r', 'list')).find((x) => x.nameBytes === nameHex);
  check(listed, `no group named ${nameHex} in the list`);
  equal(JSON.stringify([listed.members, listed.capacity, listed.hasMaster]), '[0,7,false]', 'list entry');

  await gcall(T, 'r', 'relay', [`id:${c1}`], 'relayed to C');
  equal(await crecv(peer, 'c4'), item('relayed', '-', 0, me, 'relayed to C'), 'C got the relay');
  const err = await gfail(T, 'r', 'relay', 'ENOENT', [`id:${c1}`, 'id:987654321987'], 'some unknown');
  equal(JSON.stringify(err.unknown), '["987654321987"]', 'unknown ids');
  equal(await crecv(peer, 'c4'), item('relayed', '-', 0, me, 'some unknown'), 'the known one got it');
  await peer.cmd(`grelay c4 ${me} ${hex('relayed to the browser')}`, OP_MS);
  equal(await grecv(T, 'r'), item('relayed', '-', 0, c1, 'relayed to the browser'), 'browser got the relay');
  const cerr = await peer.cmd(`grelay c4 ${me},55555 ${hex('x')}`, OP_MS).catch((e) => e.message);
  check(/MSOCK_ENOENT unknown 55555/.test(cerr), `C relay with an unknown id: ${cerr}`);
}

async function groupHubRestart(ctx) {
  const { T, url } = ctx;
  await T('gopen', 'h', url('group-hub'), OP_MS, RECONNECT);
  const g = await gcall(T, 'h', 'create', 'restart', '', '', 3);
  equal(await gcall(T, 'h', 'join', 'restart', ''), g, 'joined');
  await ctx.stopPeer('kill');
  const gone = await T('grecv', 'h', OP_MS);
  equal(`${gone.event} ${gone.error}`, 'disconnected ECONNRESET', 'disconnect item');
  await gfail(T, 'h', 'send', 'ENOENT', g, 'no membership any more');
  await ctx.startPeer();
  // A call made now waits for the redial, and the new hub knows nothing of the old groups.
  check(Number(await gcall(T, 'h', 'whoami')) > 0, 'an id from the new hub');
  await gfail(T, 'h', 'join', 'ENOENT', 'restart', '');
}
