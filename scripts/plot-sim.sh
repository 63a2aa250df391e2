#!/usr/bin/env bash
# plot-sim.sh — runs tidal-sim on the reference cluster of
# docs/benchmarks/simulation.md (128 nodes x 8 GPUs, NVLink-class intra
# links, 8 x 400 Gb/s NICs per node) and plots busbw per algorithm and the
# data-parallel scaling efficiency with gnuplot.
#
#   scripts/plot-sim.sh [BUILD_DIR] [OUT_DIR]
#
# BUILD_DIR defaults to build/ (it must hold bench/sim/tidal-sim); OUT_DIR
# to docs/benchmarks/img. Writes sim-*.csv and sim-*.png there.
set -euo pipefail

build=${1:-build}
out=${2:-docs/benchmarks/img}
sim="$build/bench/sim/tidal-sim"
if [[ ! -x "$sim" ]]; then
  echo "plot-sim.sh: $sim not found: build tidal-sim first (ninja -C $build tidal-sim)" >&2
  exit 2
fi
command -v gnuplot >/dev/null || { echo "plot-sim.sh: gnuplot is not installed" >&2; exit 2; }
mkdir -p "$out"

cluster=(--gpus-per-node 8 --nodes 128 --intra-alpha-us 2 --intra-GBps 450
         --inter-alpha-us 5 --nic-Gbps 400 --nics-per-node 8)
for coll in all_gather all_reduce; do
  "$sim" "${cluster[@]}" --collective "$coll" --min-bytes 1M --max-bytes 256M \
         --csv "$out/sim-$coll.csv" > "$out/sim-$coll.txt"
done
"$sim" "${cluster[@]}" --min-bytes 1M --max-bytes 1M --scaling --max-gpus 16384 \
       --scaling-csv "$out/sim-dp-scaling.csv" > "$out/sim-dp-scaling.txt"

# One data file per algorithm, so gnuplot draws each as a connected line.
# split CSV ALGO_COLUMN X_COLUMN Y_COLUMN X_SCALE Y_SCALE PREFIX
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
split_csv() {
  awk -F, -v a="$2" -v x="$3" -v y="$4" -v xs="$5" -v ys="$6" -v p="$7" \
      'NR > 1 { print $x / xs, $y * ys > (p "-" $a ".dat") }' "$1"
}

# busbw vs size (CSV columns: 2 algorithm, 4 bytes, 7 busbw).
for coll in all_gather all_reduce; do
  split_csv "$out/sim-$coll.csv" 2 4 7 1048576 1 "$tmp/$coll"
  gnuplot <<GP
set terminal pngcairo size 800,480 font ",10"
set output "$out/sim-busbw-$coll.png"
set title "tidal-sim: $coll busbw, 128 nodes x 8 GPUs (NVLink 450 GB/s 2 us; 8x400 Gb/s NICs 5 us)" noenhanced
set xlabel "buffer size (MiB)"
set ylabel "busbw (GB/s)"
set logscale x 2
set logscale y 10
set key top left
set grid
plot for [a in "ring torus2d ndring tree"] "$tmp/$coll-".a.".dat" using 1:2 \
     with linespoints title a
GP
done

# Scaling efficiency vs GPU count (CSV columns: 1 algorithm, 2 gpus, 4 efficiency).
split_csv "$out/sim-dp-scaling.csv" 1 2 4 1 100 "$tmp/dp"
gnuplot <<GP
set terminal pngcairo size 800,480 font ",10"
set output "$out/sim-dp-scaling.png"
set title "tidal-sim: data-parallel efficiency (300 ms step, 1.35 GB grads, 25 MiB buckets)"
set xlabel "GPUs"
set ylabel "efficiency (%)"
set logscale x 2
set yrange [0:105]
set key bottom left
set grid
plot for [a in "ring torus2d ndring tree"] "$tmp/dp-".a.".dat" using 1:2 \
     with linespoints title a
GP
echo "plot-sim.sh: wrote $out/sim-*.png and $out/sim-*.csv"
