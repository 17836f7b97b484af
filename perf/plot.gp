# plot.gp: gnuplot script run by perf/bench.sh: throughput vs message size (tcp, ipc) and
# concurrent req/rep latency p50/p99 vs clients, ours against nng and libzmq.
#
# Variables set with -e: thr_tcp, thr_ipc (columns: size ours nng zmq, in MB/s), rr_dat
# (columns: clients ours_p50 ours_p99 nng_p50 nng_p99 zmq_p50 zmq_p99, in us), out_thr, out_lat.
# Missing cells are NaN and leave gaps.

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1100,480 enhanced font "sans,10"
} else {
	set terminal png size 1100,480
}
set datafile separator "\t"
set datafile missing "NaN"
set grid
set key top left
set logscale x 2
set logscale y 10

c_ours = "#c0392b"
c_nng = "#2e86c1"
c_zmq = "#27ae60"

# ---- throughput vs message size ----
set output out_thr
set multiplot layout 1,2 title "Throughput, PUSH -> PULL (median of runs; higher is better)"
set xlabel "message size (bytes)"
set ylabel "MB/s"
set xtics ("64" 64, "581" 581, "4 KiB" 4096, "64 KiB" 65536)
set xrange [40:100000]
do for [f in "tcp ipc"] {
	file = (f eq "tcp") ? thr_tcp : thr_ipc
	set title f
	plot file using 1:2 with linespoints lw 2 pt 7 lc rgb c_ours title "libmsock", \
	     file using 1:3 with linespoints lw 2 pt 5 lc rgb c_nng title "nng 1.5", \
	     file using 1:4 with linespoints lw 2 pt 9 lc rgb c_zmq title "libzmq 4.3"
}
unset multiplot

# ---- concurrent req/rep latency vs clients ----
set output out_lat
set title "Concurrent REQ/REP over tcp, 581 B: request latency (lower is better)"
set xlabel "concurrent clients"
set ylabel "round trip, us"
set logscale x 10
set xtics ("1" 1, "10" 10, "100" 100, "1000" 1000, "5000" 5000)
set xrange [5:8000]
set key top left
plot rr_dat using 1:2 with linespoints lw 2 pt 7 lc rgb c_ours title "libmsock p50", \
     rr_dat using 1:3 with linespoints lw 2 pt 6 dt 2 lc rgb c_ours title "libmsock p99", \
     rr_dat using 1:4 with linespoints lw 2 pt 5 lc rgb c_nng title "nng p50", \
     rr_dat using 1:5 with linespoints lw 2 pt 4 dt 2 lc rgb c_nng title "nng p99", \
     rr_dat using 1:6 with linespoints lw 2 pt 9 lc rgb c_zmq title "libzmq p50", \
     rr_dat using 1:7 with linespoints lw 2 pt 8 dt 2 lc rgb c_zmq title "libzmq p99"
