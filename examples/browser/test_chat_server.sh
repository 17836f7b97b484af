#!/usr/bin/env bash
# test_chat_server.sh: smoke test of the browser chat example, run by make check from the build
# directory: starts examples/browser/chat_server on a free port, fetches the page, app.js and
# msock.js over HTTP and a missing file, and, when node has WebSocket, relays a line between two
# msock.js clients. Every wait is bounded; the server is stopped with SIGTERM.
set -u
srcdir=${srcdir:-.}
prog=examples/browser/chat_server
work=$(mktemp -d "${TMPDIR:-/tmp}/chat-test-XXXXXX") || exit 99
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    echo "--- server output:"
    cat "$work/out"
    exit 1
}

"$prog" 0 "$srcdir/examples/browser/www" "$srcdir/js" >"$work/out" 2>&1 &
pid=$!
# The server prints "chat: listening on ws://127.0.0.1:PORT/chat, open http://127.0.0.1:PORT/".
for _ in $(seq 100); do
    grep -q 'open http://' "$work/out" && break
    kill -0 "$pid" 2>/dev/null || fail "the server exited"
    sleep 0.1
done
port=$(sed -n 's|.*open http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$work/out")
[ -n "$port" ] || fail "no URL printed within 10 s"
echo "server at http://127.0.0.1:$port/"

# http_get PATH: the whole response into $work/resp, through bash's /dev/tcp; 10 s at most.
http_get() {
    : >"$work/resp"
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$1" "$port" >&3
    timeout 10 cat <&3 | tr -d '\r' >"$work/resp"
    exec 3<&-
}
# expect PATH STATUS [TEXT...]: the response has that status line and every TEXT.
expect() {
    local path=$1 status=$2
    shift 2
    http_get "$path" || fail "GET $path: no connection"
    head -n 1 "$work/resp" | grep -q "^HTTP/1\.[01] $status" ||
        fail "GET $path: wanted $status, got: $(head -n 1 "$work/resp")"
    for text in "$@"; do
        grep -qi -- "$text" "$work/resp" || fail "GET $path: no \"$text\" in the response"
    done
    echo "ok: GET $path -> $status"
}
expect / 200 'content-type: text/html' '<title>msock chat</title>'
expect /app.js 200 'content-type: text/javascript' "from './msock.js'"
expect /msock.js 200 'content-type: text/javascript' 'export'
expect /missing.html 404

# A chat line through the server: two BUS clients (js/msock.js) dial ws://.../chat; alice's
# lines reach bob with control characters blanked, and the server prints them.
node=
if command -v node >/dev/null 2>&1; then
    for flag in "" --experimental-websocket; do
        if node $flag -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null; then
            node="node $flag"
            break
        fi
    done
fi
if [ -z "$node" ]; then
    echo "skip: no node with WebSocket: the relay is not tested"
    exit 0
fi
# Copies of the modules, marked as ES modules (a release tarball may not have js/package.json).
mkdir "$work/js" && cp "$srcdir"/js/*.js "$work/js/" && echo '{"type": "module"}' >"$work/js/package.json" ||
    fail "cannot copy $srcdir/js/*.js"
timeout 20 $node --input-type=module -e '
const { socket } = await import(process.argv[1]);
const url = process.argv[2];
const alice = socket("bus"), bob = socket("bus");
alice.dial(url);
bob.dial(url);
await Promise.all([alice.whenConnected({ timeout: 5000 }), bob.whenConnected({ timeout: 5000 })]);
// The server may attach bob a moment after bob sees his connection open: resend until he hears.
let got = null;
for (const end = Date.now() + 5000; got === null && Date.now() < end;) {
    await alice.send("alice: hello");
    got = await bob.recvString({ timeout: 200 }).catch((e) => { if (e.code === "ETIMEDOUT") return null; throw e; });
}
if (got !== "alice: hello") throw new Error(`bob got ${got}`);
await alice.send("alice: two\nlines");
while (got === "alice: hello") got = await bob.recvString({ timeout: 5000 });
if (got !== "alice: two lines") throw new Error(`bob got ${JSON.stringify(got)}`);
alice.close();
bob.close();
' "$work/js/msock.js" "ws://127.0.0.1:$port/chat" >"$work/node" 2>&1 ||
    { cat "$work/node"; fail "the relay between two msock.js clients"; }
grep -q '^alice: two lines$' "$work/out" || fail "the server did not print the line"
echo "ok: a line from one msock.js client reached the other, and stdout"
