// peer.mjs: runs browser_peer (the C side of the browser tests) and talks to it:
// one command line out, one reply line back, each bounded in time.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Extra time the runner gives a command beyond the timeout the peer itself applies. */
const SLACK_MS = 5000;

export class Peer {
  /**
   * Start browser_peer and wait until it listens.
   * @param {string} bin path of the browser_peer program
   * @param {{port: number, origin: string, wss?: {dir: string, cert: string, key: string}}} where
   *   port 0 for any free port, or the port to listen on again; origin the test page's, which
   *   /rep-origin admits; wss, when given, starts the wss echo servers (on a port of their own,
   *   serving dir over https with cert and key)
   * @param {number} ms how long to wait for it to report its port
   * @returns {Promise<Peer>}
   */
  static async start(bin, where, ms) {
    const peer = new Peer(bin, where);
    await peer._listening(ms);
    return peer;
  }

  constructor(bin, { port, origin, wss }) {
    this.port = 0; // as reported
    this.wssPort = 0; // as reported, with where.wss
    this.wss = wss;
    this.origin = origin;
    this.stderr = '';
    this.exited = null; // {code, signal} once the process is gone
    this._replies = []; // waiters of command replies, in the order the commands went out
    this._portWaiter = null;
    const args = ['--port', String(port), '--origin', origin];
    if (wss) args.push('--wss-dir', wss.dir, '--cert', wss.cert, '--key', wss.key);
    this._proc = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this._exit = new Promise((resolve) => {
      this._proc.on('exit', (code, signal) => {
        this.exited = { code, signal };
        this._failAll(`browser_peer exited (${signal || `code ${code}`})`);
        resolve();
      });
      this._proc.on('error', (err) => {
        this.exited = { code: null, signal: null };
        this._failAll(`cannot run ${bin}: ${err.message}`);
        resolve();
      });
    });
    this._proc.stdin.on('error', () => {}); // a dead peer shows up in 'exit' instead
    this._proc.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    createInterface({ input: this._proc.stdout }).on('line', (line) => this._line(line));
  }

  get alive() { return this.exited === null; }

  _line(line) {
    if (this._portWaiter) {
      const w = /^wss-port (\d+)$/.exec(line);
      if (w) this.wssPort = Number(w[1]);
      const m = /^port (\d+)$/.exec(line);
      if (m) {
        this.port = Number(m[1]);
        this._portWaiter.resolve();
        this._portWaiter = null;
      }
      return;
    }
    const w = this._replies.shift();
    if (w) w.resolve(line);
  }

  _failAll(why) {
    const err = new Error(this.stderr ? `${why}; its stderr: ${this.stderr.trim()}` : why);
    if (this._portWaiter) this._portWaiter.reject(err);
    this._portWaiter = null;
    for (const w of this._replies.splice(0)) w.reject(err);
  }

  _listening(ms) {
    return bounded(new Promise((resolve, reject) => {
      if (!this.alive) reject(new Error('browser_peer exited at once'));
      else this._portWaiter = { resolve, reject };
    }), ms, () => { this.kill(); return `browser_peer did not report its port within ${ms} ms`; });
  }

  /**
   * Send a command whose last argument is its own timeout `ms`, and return what follows
   * "ok" in the reply. Rejects on an "err" reply, or when no reply comes in time; a peer
   * that missed a reply is killed, because later replies would no longer line up.
   * @param {string} command @param {number} ms @returns {Promise<string>}
   */
  async cmd(command, ms) {
    if (!this.alive) throw new Error(`browser_peer is not running (${command})`);
    const line = await bounded(new Promise((resolve, reject) => {
      this._replies.push({ resolve, reject });
      this._proc.stdin.write(`${command} ${ms}\n`);
    }), ms + SLACK_MS, () => { this.kill(); return `browser_peer gave no reply to "${command}"`; });
    if (line === 'ok' || line.startsWith('ok ')) return line.slice(3);
    throw new Error(`browser_peer: ${command.slice(0, 80)}: ${line}`);
  }

  /** subscribe has no timeout argument of its own. @param {string} hex */
  async subscribe(hex) {
    const line = await bounded(new Promise((resolve, reject) => {
      this._replies.push({ resolve, reject });
      this._proc.stdin.write(`subscribe ${hex}\n`);
    }), SLACK_MS, () => { this.kill(); return 'browser_peer gave no reply to subscribe'; });
    if (line !== 'ok') throw new Error(`browser_peer: subscribe: ${line}`);
  }

  /** SIGKILL, and wait for the process to be gone. */
  async kill() {
    if (this.alive) this._proc.kill('SIGKILL');
    await this._exit;
  }

  /** Ask for a clean exit (every socket closed); kill it if that takes longer than `ms`. */
  async quit(ms) {
    if (!this.alive) return;
    this._proc.stdin.end('quit\n');
    await bounded(this._exit, ms, () => { this.kill(); return `browser_peer did not quit within ${ms} ms`; });
    const { code, signal } = this.exited;
    if (code !== 0) throw new Error(`browser_peer quit with ${signal || `code ${code}`}: ${this.stderr.trim()}`);
  }
}

/**
 * `promise`, or a rejection after `ms` with the message `onTimeout()` returns.
 * @template V @param {Promise<V>} promise @param {number} ms @param {() => string} onTimeout
 * @returns {Promise<V>}
 */
export function bounded(promise, ms, onTimeout) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(onTimeout())), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
