#!/usr/bin/env bash
# test_relay_hub.sh: test of the relay_hub example, run by make check from the build directory:
# starts examples/relay_hub on a free port and plays three nc users over bash's /dev/tcp:
# identity, list, a relay to two users, a relay with an unknown id, bad input, a line too long.
# Every wait is bounded; the server is always stopped at the end.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@" # /dev/tcp is bash's
set -u
prog=examples/relay_hub
work=$(mktemp -d "${TMPDIR:-/tmp}/relay-hub-test-XXXXXX") || exit 99
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

"$prog" 0 >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 100); do
    grep -q 'listening on port' "$work/out" && break
    kill -0 "$pid" 2>/dev/null || fail "the server exited"
    sleep 0.1
done
port=$(sed -n 's/^relay_hub: listening on port \([0-9][0-9]*\)$/\1/p' "$work/out")
[ -n "$port" ] || fail "no port printed within 10 s"
echo "relay_hub on port $port"

# Three users: alice on fd 3, bob on fd 4, carol on fd 5.
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "alice cannot connect"
exec 4<>"/dev/tcp/127.0.0.1/$port" || fail "bob cannot connect"
exec 5<>"/dev/tcp/127.0.0.1/$port" || fail "carol cannot connect"

# say FD LINE...: the user on FD sends the lines.
say() {
    local fd=$1
    shift
    printf '%s\n' "$@" >&"$fd" || fail "cannot write to the user on fd $fd"
}
# hear FD WANT: the user on FD reads one line (10 s at most) into $line; it must match the
# pattern WANT.
hear() {
    line=
    IFS= read -r -t 10 line <&"$1"
    [ $? -gt 128 ] && fail "the user on fd $1 heard nothing in 10 s (want '$2')"
    # shellcheck disable=SC2053 # WANT is a pattern
    [[ $line == $2 ]] || fail "the user on fd $1 heard '$line', want '$2'"
}

say 3 identity
hear 3 'identity: [1-9]*'
alice=${line#identity: }
say 4 identity
hear 4 'identity: [1-9]*'
bob=${line#identity: }
say 5 identity
hear 5 'identity: [1-9]*'
carol=${line#identity: }
[ "$alice" != "$bob" ] && [ "$bob" != "$carol" ] && [ "$alice" != "$carol" ] ||
    fail "the ids are not distinct: $alice $bob $carol"
echo "ok: identity ($alice, $bob, $carol)"

# Every one of them is connected now: alice's list has the two others, not herself.
say 3 list
hear 3 'list: *'
others=",${line#list: },"
[[ $others == *",$bob,"* && $others == *",$carol,"* && $others != *",$alice,"* ]] ||
    fail "alice's list is '$line'; want $bob and $carol, not $alice"
echo "ok: list"

say 3 relay "$bob,$carol" "hello, you two"
hear 3 relayed
hear 4 "from $alice: hello, you two"
hear 5 "from $alice: hello, you two"
echo "ok: relay to two users"

say 4 relay "$alice,999999999" "ping"
hear 4 'unknown: 999999999'
hear 3 "from $bob: ping"
echo "ok: relay with an unknown id"

say 5 dance
hear 5 'error: unknown command*'
say 5 relay "not,ids" "body"
hear 5 'error: expected ids*'
say 5 identity # the connection still serves
hear 5 "identity: $carol"
echo "ok: bad input is answered"

# A line over 1024 bytes ends the connection: the user reads the end, not a timeout.
printf '%02000d\n' 0 >&5
IFS= read -r -t 10 line <&5
status=$?
[ $status -gt 128 ] && fail "a line too long did not end the connection within 10 s"
[ $status -ne 0 ] || fail "after a line too long carol heard '$line'"
echo "ok: a line too long ends the connection"

kill -0 "$pid" 2>/dev/null || fail "the server died"
exec 3>&- 4>&- 5>&-
echo "PASS"
