# SPDX-License-Identifier: Apache-2.0
# scaling.gp -- docs/bench-scaling.png from build/bench/scaling.dat.
# Called by run.py: gnuplot -e "datafile='...'; outfile='...'" scaling.gp
# Columns: providers startup_ms req/s confirmed_ops/s.
set terminal pngcairo size 640,380 font "sans,10"
set output outfile
set title "mpbs-run scaling (loopback, wrk 64 connections keep-alive)"
set xlabel "providers"
set logscale x 2
set xrange [0.8:80]
set xtics (1, 3, 8, 16, 32, 64)
set ylabel "requests/s"
set y2label "startup, exec to READY (ms)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set grid
set key top center
plot datafile using 1:3 axes x1y1 with linespoints lw 2 pt 7 title "answered (204/s)", \
     datafile using 1:4 axes x1y1 with linespoints lw 2 pt 9 title "confirmed (ops/s)", \
     datafile using 1:2 axes x1y2 with linespoints lw 2 pt 5 title "startup (ms, median)"
