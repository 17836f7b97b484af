#!/bin/sh
# test_js_unit.sh: the automake test that runs the node unit tests of js/ (a fake WebSocket,
# no network, no browser). Files are named, not the directory: newer Node versions take
# --test arguments as patterns rather than directories.
: "${srcdir:=$(dirname "$0")/../..}"
if ! command -v node >/dev/null 2>&1; then
    echo "test_js_unit.sh: no node command: install nodejs" >&2
    exit 1
fi
exec node --test "$srcdir"/js/test/*.test.mjs
