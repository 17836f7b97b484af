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
