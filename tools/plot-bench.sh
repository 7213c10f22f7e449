#!/usr/bin/env bash
# Renders the latency-vs-bs plot of docs/PERF.md from a benchmark JSON (draftjit_bench --json) with gnuplot.
# usage: tools/plot-bench.sh bench/results/bench-h100.json bench/results/latency-h100.png
set -euo pipefail
json="$1"
png="$2"
command -v gnuplot >/dev/null || { echo "needs gnuplot (apt-get install gnuplot-nox)" >&2; exit 1; }
data=$(mktemp)
trap 'rm -f "$data"' EXIT
python3 - "$json" > "$data" <<'PY'
import json, sys
cols = ["bs", "floor_sync", "aten", "note", "cub", "ours_sync", "ours_async", "ours_graph", "floor_async", "floor_graph"]
rows = json.load(open(sys.argv[1]))["rows"]
print("# " + " ".join(cols))
for r in rows:
    print(" ".join(str(r.get(c, "NaN")) for c in cols))
PY
device=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["device"])' "$json")
gnuplot <<GP
set terminal pngcairo size 1000,600 font ",11"
set output "$png"
set title "draft-extend metadata, per-call latency (median), $device"
set xlabel "batch size (1-4 extend tokens per request)"
set ylabel "microseconds per call"
set logscale x 2
set logscale y
set grid
set key outside right
plot "$data" using 1:3 with linespoints title "ATen path (sync)", \
     "" using 1:4 with linespoints title "note: one-thread scan (sync)", \
     "" using 1:5 with linespoints title "CUB scan + fill (sync)", \
     "" using 1:6 with linespoints lw 3 title "draftjit sync", \
     "" using 1:2 with lines dt 2 title "floor: empty kernel + D2H + sync", \
     "" using 1:8 with linespoints lw 3 title "draftjit graph replay + sync", \
     "" using 1:10 with lines dt 3 title "floor: empty graph replay + sync", \
     "" using 1:7 with linespoints lw 3 title "draftjit async (back-to-back)", \
     "" using 1:9 with lines dt 4 title "floor: empty launch (back-to-back)"
GP
echo "wrote $png"
