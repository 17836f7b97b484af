#!/bin/sh
# test_browser.sh: the automake test that runs the browser tests (headless Chromium driving
# js/msock.js against tests/browser/browser_peer of this build tree). It fails, never skips,
# when node, Chromium or playwright-core is missing, so CI cannot pass without them.
: "${srcdir:=$(dirname "$0")/../..}"
peer=${BROWSER_PEER:-./tests/browser/browser_peer}
if ! command -v node >/dev/null 2>&1; then
    echo "test_browser.sh: no node command: install nodejs" >&2
    exit 1
fi
exec node "$srcdir/tests/browser/run_browser_tests.mjs" --peer "$peer"
