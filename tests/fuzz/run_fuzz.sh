#!/bin/sh
# run_fuzz.sh: what `make fuzz` runs: builds libmsock and the libFuzzer harnesses with clang
# (fuzzer, ASan, UBSan) in a work dir and runs each harness for SECONDS on a copy of its corpus.
#   usage: run_fuzz.sh SRCDIR SECONDS [harness...]
#   (harnesses: sp_stream url proto_headers group_wire ws_rx; ws_rx only in a build with ws)
# Environment: CC (default clang), FUZZ_WORKDIR (default a new dir under TMPDIR), FUZZ_JOBS
# (make -j, default 2). New inputs stay in the work dir; copy one into tests/fuzz/corpus/<name>/
# by hand when it is worth keeping (a crash's input, once fixed, is). The seeds themselves come
# from make_corpus.c (build it against libmsock_core and run it in SRCDIR).
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 SRCDIR SECONDS [harness...]" >&2
    exit 2
fi
srcdir=$(cd "$1" && pwd)
seconds=$2
shift 2
case $seconds in
'' | *[!0-9]*) echo "$0: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac
harnesses=${*:-sp_stream url proto_headers group_wire ws_rx}
cc=${CC:-clang}
jobs=${FUZZ_JOBS:-2}

if [ ! -x "$srcdir/configure" ]; then
    echo "$0: $srcdir/configure is missing: run ./autogen.sh there first" >&2
    exit 2
fi
if [ -f "$srcdir/config.status" ]; then
    echo "$0: $srcdir is configured in place; a second (fuzz) build needs a source tree without" >&2
    echo "  one: run this from a clean tree or an out-of-tree build's srcdir" >&2
    exit 2
fi
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "$0: $cc not found: libFuzzer needs clang" >&2
    exit 2
fi

work=${FUZZ_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/msock-fuzz.XXXXXX")}
mkdir -p "$work/build"
work=$(cd "$work" && pwd)
echo "fuzz: work dir $work"

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
build=$work/build
warn="-std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter"
# configure.ac resets SAN_CFLAGS, so the instrumentation goes in CFLAGS; a reused work dir is
# only rebuilt where sources changed.
echo "fuzz: building libmsock_core with $cc (log: $build/build.log)"
if ! (cd "$build" &&
    { [ -f Makefile ] ||
        "$srcdir/configure" -q CC="$cc" CFLAGS="-g -O1 -fsanitize=fuzzer-no-link $san"; } &&
    make -j"$jobs" libmsock_core.la) >"$build/build.log" 2>&1; then
    tail -n 30 "$build/build.log" >&2
    echo "fuzz: library build failed" >&2
    exit 1
fi
# The libraries libmsock_core needs, as configure found them.
libs=$(sed -n -e 's/^CRYPTO_LIBS = //p' -e 's/^LWS_LIBS = //p' "$build/Makefile" | tr '\n' ' ')
# ws_rx.c is in the library only when configure kept ws (its harness's build entry says so).
have_ws=0
if grep -q '^tests_fuzz_fuzz_ws_rx_SOURCES' "$build/Makefile"; then have_ws=1; fi

failed=0
summary=""
for name in $harnesses; do
    src=$srcdir/tests/fuzz/fuzz_$name.c
    if [ ! -f "$src" ]; then
        echo "fuzz: no harness $src" >&2
        exit 2
    fi
    if [ "$name" = ws_rx ] && [ "$have_ws" = 0 ]; then
        echo "fuzz: $name skipped: this build has no ws (configure --disable-ws or no libwebsockets)"
        summary="${summary}$name: skipped (no ws)
"
        continue
    fi
    bin=$build/fuzz_$name
    # shellcheck disable=SC2086 # flags and libs are word lists
    "$cc" $warn -g -O1 -D_GNU_SOURCE -pthread -fsanitize=fuzzer $san \
        -I"$srcdir/include" -I"$srcdir/src" -I"$build" \
        "$src" "$build/.libs/libmsock_core.a" $libs -o "$bin"

    corpus=$work/corpus/$name
    crashes=$work/crashes/$name
    mkdir -p "$corpus" "$crashes"
    cp "$srcdir/tests/fuzz/corpus/$name/"* "$corpus/" 2>/dev/null || true
    log=$work/fuzz_$name.log
    echo "fuzz: $name for ${seconds}s (log: $log)"
    rc=0
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    found=$(find "$crashes" -type f | wc -l)
    if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
        failed=1
        result="CRASHED (exit $rc): inputs in $crashes"
        grep -m 3 -E 'ERROR:|runtime error:|SUMMARY:' "$log" | sed 's/^/    /' || true
    else
        result="no crash"
    fi
    line="$name: ${execs:-?} executions, corpus $(find "$corpus" -type f | wc -l) inputs, $result"
    echo "fuzz: $line"
    summary="$summary$line
"
done
printf '\nfuzz summary (%ss each, work dir %s):\n%s' "$seconds" "$work" "$summary"
exit $failed
