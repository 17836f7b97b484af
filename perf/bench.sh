#!/bin/sh
# bench.sh BUILDDIR SRCDIR: `make bench`: runs our perf programs and the nng/libzmq peers
# interleaved, prints median figures and ours/peer ratios, writes TSV results and PNG plots.
#
# Env: BENCH_REPS (default 3) repetitions of every cell; BENCH_QUICK=1 one fast pass with small
# counts (smoke test); BENCH_TRANSPORTS (default "inproc ipc tcp ws") the transports measured;
# libzmq has no ws (n/a there); BENCH_TESTS (default "lat thr rr group") the kinds of cell run
# (group: our group hub's broadcast and funnel over tcp, which the peers have no counterpart
# for). A missing or failing program shows as n/a; this script never fails for it.
# Outputs in BUILDDIR: perf-results.tsv (every run), perf-medians.tsv, perf-table.md (the table
# printed at the end), perf-bench.log (stderr of failed runs) and, when gnuplot is installed,
# perf-throughput.png and perf-latency.png (drawn by SRCDIR/perf/plot.gp).
set -u

B=${1:?usage: bench.sh BUILDDIR SRCDIR}
S=${2:?usage: bench.sh BUILDDIR SRCDIR}
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] || QUICK=1
if [ "$QUICK" = 1 ]; then REPS=${BENCH_REPS:-1}; else REPS=${BENCH_REPS:-3}; fi
LIBS="ours nng zmq"
TSV=$B/perf-results.tsv
MED=$B/perf-medians.tsv
TABLE=$B/perf-table.md
LOG=$B/perf-bench.log

TMP=$(mktemp -d "${TMPDIR:-/tmp}/msock-bench.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# ---- what runs, and how much of it ----
LAT_SIZES="64 581"
THR_SIZES="64 581 4096 65536"
TRANSPORTS=${BENCH_TRANSPORTS:-inproc ipc tcp ws}
RR_SIZE=581
TESTS=${BENCH_TESTS:-lat thr rr group}
GROUP_SIZE=1024
GROUP_MEMBERS="100 1000"
if [ "$QUICK" = 1 ]; then
	LAT_RT=1000
	RR_SECS=1
	RR_CLIENTS="10 100"
	TMO=30
	GROUP_BCAST_DELIVERIES=200000
	GROUP_FUNNEL_COUNT=20000
else
	LAT_RT=10000
	RR_SECS=5
	RR_CLIENTS="10 100 1000"
	TMO=120
	GROUP_BCAST_DELIVERIES=2000000
	GROUP_FUNNEL_COUNT=500000
fi
runs() { case " $TESTS " in *" $1 "*) return 0 ;; esac; return 1; } # KIND: is it measured?

# Our reqrep_bench also runs 5000 clients when the fd limit allows one process to hold both
# ends of 5000 connections and each client's readiness fd (three descriptors a client).
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
OURS_EXTRA=""
if [ "$QUICK" = 0 ] && { [ "$NOFILE" = unlimited ] || [ "$NOFILE" -ge 15300 ]; }; then
	OURS_EXTRA=5000
fi

# Messages per throughput run: nng moves ~30k msg/s here, the others millions.
thr_count() { # LIB SIZE
	if [ "$QUICK" = 1 ]; then
		case $1:$2 in
		nng:65536) echo 2000 ;; nng:*) echo 10000 ;;
		*:64) echo 100000 ;; *:581) echo 50000 ;; *:4096) echo 20000 ;; *) echo 2000 ;;
		esac
	else
		case $1:$2 in
		nng:65536) echo 20000 ;; nng:4096) echo 30000 ;; nng:*) echo 50000 ;;
		*:64) echo 5000000 ;; *:581) echo 500000 ;; *:4096) echo 200000 ;; *) echo 20000 ;;
		esac
	fi
}

# ---- running one program ----
prog_path() { # LIB PROG: the executable, or nothing when it was not built
	case $1 in
	ours) p=$B/perf/$2 ;;
	*) p=$B/perf/peers/$1_perf ;;
	esac
	[ -x "$p" ] && echo "$p"
}

# Replaces the calling subshell with PROG under timeout: LIMIT LIB PROG ARGS...
prog_exec() {
	limit=$1 lib=$2 prog=$3
	shift 3
	p=$(prog_path "$lib" "$prog") || exit 127
	if [ "$lib" = ours ]; then
		exec timeout -k 5 "$limit" "$p" "$@"
	else
		exec timeout -k 5 "$limit" "$p" "$prog" "$@"
	fi
}

note_failure() { # WHAT FILES...
	what=$1
	shift
	{
		echo "== $(date '+%F %T') $what"
		cat "$@" 2>/dev/null
	} >>"$LOG"
}

# Runs LIB's LOCALPROG on URL, waits for its "bound:" line, then REMOTEPROG against it.
# Outputs in $TMP/l.out and $TMP/r.out. Returns nonzero on any failure.
run_pair() { # LIB LOCALPROG REMOTEPROG URL SIZE N
	lib=$1 lprog=$2 rprog=$3 url=$4 size=$5 n=$6
	rm -f "$TMP/l.out" "$TMP/l.err" "$TMP/r.out" "$TMP/r.err"
	(prog_exec "$TMO" "$lib" "$lprog" "$url" "$size" "$n") >"$TMP/l.out" 2>"$TMP/l.err" &
	lpid=$!
	bound=
	i=0
	while [ $i -lt 200 ]; do
		bound=$(sed -n 's/^bound: *//p' "$TMP/l.err" | head -n 1)
		[ -n "$bound" ] && break
		kill -0 "$lpid" 2>/dev/null || break
		sleep 0.05
		i=$((i + 1))
	done
	if [ -z "$bound" ]; then
		# No "bound:" line: fine for a fixed address if the listener still runs.
		case $url in
		*:0) ;;
		*) kill -0 "$lpid" 2>/dev/null && bound=$url ;;
		esac
	fi
	if [ -z "$bound" ]; then
		kill "$lpid" 2>/dev/null
		wait "$lpid"
		note_failure "$lib $lprog $url $size $n: no bound address" "$TMP/l.err"
		return 1
	fi
	(prog_exec "$TMO" "$lib" "$rprog" "$bound" "$size" "$n") >"$TMP/r.out" 2>"$TMP/r.err"
	rrc=$?
	[ $rrc -eq 0 ] || kill "$lpid" 2>/dev/null
	wait "$lpid"
	lrc=$?
	if [ $rrc -ne 0 ] || [ $lrc -ne 0 ]; then
		note_failure "$lib $lprog/$rprog $bound $size $n: local rc $lrc, remote rc $rrc" \
		    "$TMP/l.err" "$TMP/r.err"
		return 1
	fi
	return 0
}

# Runs one program in the foreground; output in $TMP/r.out.
run_one() { # LIMIT LIB PROG ARGS...
	limit=$1 lib=$2 prog=$3
	shift 3
	rm -f "$TMP/r.out" "$TMP/r.err"
	(prog_exec "$limit" "$lib" "$prog" "$@") >"$TMP/r.out" 2>"$TMP/r.err"
	rc=$?
	[ $rc -eq 0 ] || note_failure "$lib $prog $*: rc $rc" "$TMP/r.err"
	return $rc
}

# The number after PREFIX in FILE (first match), or nothing.
field() { # FILE PREFIX
	sed -n "s|^$2 *\([0-9][0-9.eE+-]*\).*|\1|p" "$1" | head -n 1
}

# Appends one TSV row: LIB TEST TRANSPORT SIZE CLIENTS COUNT METRIC VALUE
rec() {
	[ -n "$8" ] || return 0
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$REP" "$@" >>"$TSV"
}

# A listening URL; ipc paths are unique per run (cells run in subshells, so no counter).
url_for() { # TRANSPORT TAG
	case $1 in
	ipc) echo "ipc://$TMP/$2.ipc" ;;
	tcp) echo "tcp://127.0.0.1:0" ;;
	ws) echo "ws://127.0.0.1:0/bench" ;;
	esac
}

# ---- the three kinds of cell ----
lat_cell() { # LIB TRANSPORT SIZE
	lib=$1 tr=$2 size=$3
	if [ -z "$(prog_path "$lib" inproc_lat)$(prog_path "$lib" remote_lat)" ]; then
		echo "n/a"
		return
	fi
	if [ "$tr" = inproc ]; then
		run_one "$TMO" "$lib" inproc_lat "$size" "$LAT_RT"
	else
		run_pair "$lib" local_lat remote_lat "$(url_for "$tr" "lat-$lib-$size-$REP")" "$size" "$LAT_RT"
	fi || { echo "fail"; return; }
	avg=$(field "$TMP/r.out" "average latency:")
	rec "$lib" lat "$tr" "$size" 1 "$LAT_RT" lat_avg_us "$avg"
	rec "$lib" lat "$tr" "$size" 1 "$LAT_RT" lat_p50_us "$(field "$TMP/r.out" "p50 latency:")"
	rec "$lib" lat "$tr" "$size" 1 "$LAT_RT" lat_p99_us "$(field "$TMP/r.out" "p99 latency:")"
	echo "${avg:-n/a}"
}

thr_cell() { # LIB TRANSPORT SIZE
	lib=$1 tr=$2 size=$3
	n=$(thr_count "$lib" "$size")
	if [ -z "$(prog_path "$lib" inproc_thr)$(prog_path "$lib" local_thr)" ]; then
		echo "n/a"
		return
	fi
	if [ "$tr" = inproc ]; then
		run_one "$TMO" "$lib" inproc_thr "$size" "$n" && cp "$TMP/r.out" "$TMP/l.out"
	else
		run_pair "$lib" local_thr remote_thr "$(url_for "$tr" "thr-$lib-$size-$REP")" "$size" "$n"
	fi || { echo "fail"; return; }
	msgs=$(sed -n 's/^mean throughput: *\([0-9.]*\) *\[msg\/s\].*/\1/p' "$TMP/l.out" | head -n 1)
	mbit=$(sed -n 's/^mean throughput: *\([0-9.]*\) *\[Mb\/s\].*/\1/p' "$TMP/l.out" | head -n 1)
	rec "$lib" thr "$tr" "$size" 1 "$n" thr_msg_s "$msgs"
	rec "$lib" thr "$tr" "$size" 1 "$n" thr_mbit_s "$mbit"
	echo "${msgs:-n/a}"
}

rr_cell() { # LIB CLIENTS
	lib=$1 c=$2
	if [ -z "$(prog_path "$lib" reqrep_bench)" ]; then
		echo "n/a"
		return
	fi
	run_one $((RR_SECS + 60)) "$lib" reqrep_bench "tcp://127.0.0.1:0" "$c" "$RR_SECS" \
	    "$RR_SIZE" || { echo "fail"; return; }
	rps=$(field "$TMP/r.out" "requests/s:")
	rec "$lib" rr tcp "$RR_SIZE" "$c" "$RR_SECS" rr_req_s "$rps"
	rec "$lib" rr tcp "$RR_SIZE" "$c" "$RR_SECS" rr_p50_us "$(field "$TMP/r.out" "latency p50:")"
	rec "$lib" rr tcp "$RR_SIZE" "$c" "$RR_SECS" rr_p99_us "$(field "$TMP/r.out" "latency p99:")"
	rec "$lib" rr tcp "$RR_SIZE" "$c" "$RR_SECS" rr_max_us "$(field "$TMP/r.out" "latency max:")"
	echo "${rps:-n/a}"
}

# Group hub over tcp, ours only: MODE broadcast (the master to every member; COUNT messages make
# GROUP_BCAST_DELIVERIES deliveries) or funnel (the members to the master).
group_cell() { # MODE MEMBERS
	mode=$1 m=$2
	if [ -z "$(prog_path ours group_bench)" ]; then
		echo "n/a"
		return
	fi
	if [ "$mode" = broadcast ]; then n=$((GROUP_BCAST_DELIVERIES / m)); else n=$GROUP_FUNNEL_COUNT; fi
	# 1000 members take ~12 s to join (each join is told to every member before it).
	run_one $((TMO + 180)) ours group_bench "$mode" "tcp://127.0.0.1:0" "$m" "$n" "$GROUP_SIZE" ||
	    { echo "fail"; return; }
	msgs=$(field "$TMP/r.out" "messages/s:")
	drops=$(field "$TMP/r.out" "drops:")
	rec ours "group_$mode" tcp "$GROUP_SIZE" "$m" "$n" msg_s "$msgs"
	rec ours "group_$mode" tcp "$GROUP_SIZE" "$m" "$n" drops "$drops"
	if [ "$mode" = broadcast ]; then
		dps=$(field "$TMP/r.out" "deliveries/s:")
		rec ours "group_$mode" tcp "$GROUP_SIZE" "$m" "$n" deliveries_s "$dps"
		echo "${msgs:-n/a} msg/s, ${dps:-n/a} deliveries/s, ${drops:-n/a} drops"
	else
		echo "${msgs:-n/a} msg/s, ${drops:-n/a} drops"
	fi
}

# ---- the run: every cell, libraries interleaved, REPS times ----
printf 'rep\tlib\ttest\ttransport\tsize\tclients\tcount\tmetric\tvalue\n' >"$TSV"
: >"$LOG"
echo "bench: $REPS repetition(s)$([ "$QUICK" = 1 ] && echo ', quick'), $(nproc 2>/dev/null || echo '?') CPUs, fd limit $NOFILE" >&2
for lib in $LIBS; do
	if [ -n "$(prog_path "$lib" inproc_lat)" ]; then
		echo "bench: $lib: found" >&2
	else
		echo "bench: $lib: programs not built, shown as n/a" >&2
	fi
done
START=$(date +%s)

REP=1
while [ "$REP" -le "$REPS" ]; do
	runs lat && for size in $LAT_SIZES; do
		for tr in $TRANSPORTS; do
			line="rep $REP/$REPS lat $tr $size B (us):"
			for lib in $LIBS; do line="$line $lib $(lat_cell "$lib" "$tr" "$size")"; done
			echo "$line" >&2
		done
	done
	runs thr && for size in $THR_SIZES; do
		for tr in $TRANSPORTS; do
			line="rep $REP/$REPS thr $tr $size B (msg/s):"
			for lib in $LIBS; do line="$line $lib $(thr_cell "$lib" "$tr" "$size")"; done
			echo "$line" >&2
		done
	done
	runs rr && for c in $RR_CLIENTS $OURS_EXTRA; do
		line="rep $REP/$REPS reqrep tcp $c clients (req/s):"
		for lib in $LIBS; do
			if [ "$c" = "$OURS_EXTRA" ] && [ "$lib" != ours ]; then
				continue
			fi
			line="$line $lib $(rr_cell "$lib" "$c")"
		done
		echo "$line" >&2
	done
	runs group && for m in $GROUP_MEMBERS; do
		for mode in broadcast funnel; do
			echo "rep $REP/$REPS group $mode tcp $m members $GROUP_SIZE B: ours $(group_cell "$mode" "$m")" >&2
		done
	done
	REP=$((REP + 1))
done

# ---- medians ----
awk -F '\t' '
function median(list,    n, v, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++) {
		t = v[i] + 0
		for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
		v[j + 1] = t
	}
	if (n % 2) return v[(n + 1) / 2]
	return (v[n / 2] + v[n / 2 + 1]) / 2
}
NR > 1 {
	k = $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 "\t" $8
	if (!(k in vals)) order[++nk] = k
	vals[k] = vals[k] " " $9
	cnt[k]++
}
END {
	print "lib\ttest\ttransport\tsize\tclients\tmetric\tmedian\truns"
	for (i = 1; i <= nk; i++) printf "%s\t%.6g\t%d\n", order[i], median(vals[order[i]]), cnt[order[i]]
}' "$TSV" >"$MED"

# ---- the table ----
ROWS=$TMP/rows
: >"$ROWS"
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"; } # LABEL TEST TR SIZE CLIENTS METRIC FMT
runs lat && for size in $LAT_SIZES; do
	for tr in $TRANSPORTS; do row "latency $size B, one-way avg, us" lat "$tr" "$size" 1 lat_avg_us us; done
done
runs lat && for tr in $TRANSPORTS; do row "latency 64 B, one-way p99, us" lat "$tr" 64 1 lat_p99_us us; done
runs thr && for size in $THR_SIZES; do
	for tr in $TRANSPORTS; do
		if [ "$size" = 65536 ]; then
			row "throughput 64 KiB, MB/s" thr "$tr" "$size" 1 thr_mbit_s MBps
		else
			row "throughput $size B, msg/s" thr "$tr" "$size" 1 thr_msg_s count
		fi
	done
done
runs rr && for c in $RR_CLIENTS $OURS_EXTRA; do
	row "reqrep $RR_SIZE B, $c clients, req/s" rr tcp "$RR_SIZE" "$c" rr_req_s count
	row "reqrep $RR_SIZE B, $c clients, p50 us" rr tcp "$RR_SIZE" "$c" rr_p50_us us
	row "reqrep $RR_SIZE B, $c clients, p99 us" rr tcp "$RR_SIZE" "$c" rr_p99_us us
done
runs group && for m in $GROUP_MEMBERS; do
	row "group broadcast 1 KiB, $m members, master msg/s" group_broadcast tcp "$GROUP_SIZE" "$m" msg_s count
	row "group broadcast 1 KiB, $m members, deliveries/s" group_broadcast tcp "$GROUP_SIZE" "$m" deliveries_s count
	row "group broadcast 1 KiB, $m members, hub drops" group_broadcast tcp "$GROUP_SIZE" "$m" drops count
	row "group funnel 1 KiB, $m members, msg/s at master" group_funnel tcp "$GROUP_SIZE" "$m" msg_s count
	row "group funnel 1 KiB, $m members, hub drops" group_funnel tcp "$GROUP_SIZE" "$m" drops count
done

awk -F '\t' -v libs="$LIBS" '
function fmt(v, how) {
	if (v == "") return "n/a"
	if (how == "MBps") v = v / 8
	if (how == "us") return sprintf(v < 100 ? "%.1f" : "%.0f", v)
	if (v >= 1e6) return sprintf("%.2fM", v / 1e6)
	if (v >= 1e4) return sprintf("%.0fk", v / 1e3)
	if (v >= 1e3) return sprintf("%.1fk", v / 1e3)
	return sprintf("%.0f", v)
}
function ratio(a, b) {
	if (a == "" || b == "" || b + 0 == 0) return "n/a"
	return sprintf("%.2f", a / b)
}
FNR == 1 { file++ }
file == 1 && FNR > 1 { m[$1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6] = $7; next }
file == 2 {
	nl = split(libs, L, " ")
	if (!header) {
		h = "| measure | transport |"; s = "|---|---|"
		for (i = 1; i <= nl; i++) { h = h " " L[i] " |"; s = s "---|" }
		for (i = 2; i <= nl; i++) { h = h " " L[1] "/" L[i] " |"; s = s "---|" }
		print h; print s; header = 1
	}
	k = $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6
	line = "| " $1 " | " $3 " |"
	for (i = 1; i <= nl; i++) {
		key = L[i] "\t" k
		v[i] = (key in m) ? m[key] : ""
		line = line " " fmt(v[i], $7) " |"
	}
	for (i = 2; i <= nl; i++) line = line " " ratio(v[1], v[i]) " |"
	print line
}' "$MED" "$ROWS" >"$TABLE"

echo
echo "libmsock perf comparison: medians of $REPS run(s), ratio = ours / peer"
echo "(latency: lower is better, so a ratio below 1 favours ours; throughput and req/s: higher"
echo "is better, a ratio above 1 favours ours). Elapsed: $(($(date +%s) - START)) s."
echo
cat "$TABLE"
echo
echo "raw results: $TSV"
echo "medians:     $MED"
[ -s "$LOG" ] && echo "failures:    $LOG"

# ---- plots ----
if ! runs thr || ! runs rr; then
	echo "plots:       skipped (they need the thr and rr cells)"
elif command -v gnuplot >/dev/null 2>&1; then
	for tr in tcp ipc; do
		awk -F '\t' -v tr="$tr" '
		NR > 1 && $2 == "thr" && $3 == tr && $6 == "thr_mbit_s" { v[$1, $4] = $7 / 8; sz[$4] = 1 }
		END {
			n = 0
			for (s in sz) list[++n] = s + 0
			for (i = 2; i <= n; i++) { t = list[i]; for (j = i - 1; j >= 1 && list[j] > t; j--) list[j + 1] = list[j]; list[j + 1] = t }
			print "# size ours nng zmq (MB/s)"
			for (i = 1; i <= n; i++) {
				s = list[i]; line = s
				split("ours nng zmq", L, " ")
				for (j = 1; j <= 3; j++) line = line "\t" (((L[j], s) in v) ? v[L[j], s] : "NaN")
				print line
			}
		}' "$MED" >"$TMP/thr-$tr.dat"
	done
	awk -F '\t' '
	NR > 1 && $2 == "rr" && ($6 == "rr_p50_us" || $6 == "rr_p99_us") { v[$1, $5, $6] = $7; cl[$5] = 1 }
	END {
		n = 0
		for (c in cl) list[++n] = c + 0
		for (i = 2; i <= n; i++) { t = list[i]; for (j = i - 1; j >= 1 && list[j] > t; j--) list[j + 1] = list[j]; list[j + 1] = t }
		print "# clients ours_p50 ours_p99 nng_p50 nng_p99 zmq_p50 zmq_p99 (us)"
		split("ours nng zmq", L, " ")
		for (i = 1; i <= n; i++) {
			c = list[i]; line = c
			for (j = 1; j <= 3; j++) {
				line = line "\t" (((L[j], c, "rr_p50_us") in v) ? v[L[j], c, "rr_p50_us"] : "NaN")
				line = line "\t" (((L[j], c, "rr_p99_us") in v) ? v[L[j], c, "rr_p99_us"] : "NaN")
			}
			print line
		}
	}' "$MED" >"$TMP/rr.dat"
	if gnuplot -e "thr_tcp='$TMP/thr-tcp.dat'; thr_ipc='$TMP/thr-ipc.dat'; rr_dat='$TMP/rr.dat'; out_thr='$B/perf-throughput.png'; out_lat='$B/perf-latency.png'" \
	    "$S/perf/plot.gp" 2>"$TMP/gnuplot.err"; then
		echo "plots:       $B/perf-throughput.png $B/perf-latency.png"
	else
		note_failure "gnuplot" "$TMP/gnuplot.err"
		echo "plots:       gnuplot failed (see $LOG)"
	fi
else
	echo "plots:       skipped (gnuplot not installed)"
fi
exit 0
