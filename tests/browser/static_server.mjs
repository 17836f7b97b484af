// static_server.mjs: serves the test page and the msock.js modules over http://
// on 127.0.0.1, because browsers load ES modules only from an http(s) origin.

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/**
 * Serve `/` (page.html) and `/page_driver.js` from `pageDir`, and `/js/NAME.js` from `jsDir`.
 * Nothing else: names are checked against a strict pattern, so no path escapes the two dirs.
 * @param {string} pageDir @param {string} jsDir
 * @returns {Promise<{origin: string, close: () => Promise<void>}>}
 */
export async function startStaticServer(pageDir, jsDir) {
  const route = (url) => {
    if (url === '/' || url === '/page.html') return path.join(pageDir, 'page.html');
    if (url === '/page_driver.js') return path.join(pageDir, 'page_driver.js');
    const m = /^\/js\/([a-z0-9_]+\.js)$/.exec(url);
    return m ? path.join(jsDir, m[1]) : null;
  };
  const server = createServer(async (req, res) => {
    const file = route(new URL(req.url, 'http://x').pathname);
    let body = null;
    if (file && req.method === 'GET') body = await readFile(file).catch(() => null);
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)], 'cache-control': 'no-store' }).end(body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.(); // Node >= 18.2; keep-alive sockets would hold close() up
      server.close(() => resolve());
    }),
  };
}
