#!/usr/bin/env bash
# plot-perf.sh — turns the --csv files of the perf tools into a bus
# bandwidth vs message size PNG (gnuplot). One line per CSV file (and per
# out-of-place / in-place half with --in-place); each -b draws a horizontal
# line for a bound such as the memcpy bandwidth measured in the same run.
#
#   scripts/plot-perf.sh -o busbw.png [-t TITLE] [-b GB/s[:LABEL]] [--in-place] A.csv [B.csv ...]
#
# CSV columns (written by --csv): collective,backend,nranks,size,count,type,
# redop,root,oop_time_us,oop_algbw,oop_busbw,oop_wrong,ip_time_us,ip_algbw,
# ip_busbw,ip_wrong. Exit status 2 on bad usage, 1 when gnuplot fails.
set -euo pipefail

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

out="" title="tidal perf tools: bus bandwidth" in_place=0
files=() bounds=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -o) out="${2:-}"; shift 2 || usage ;;
    -t) title="${2:-}"; shift 2 || usage ;;
    -b) bounds+=("${2:-}"); shift 2 || usage ;;
    --in-place) in_place=1; shift ;;
    -h|--help) usage ;;
    -*) echo "plot-perf.sh: unknown option $1" >&2; usage ;;
    *) files+=("$1"); shift ;;
  esac
done
[[ -n "$out" && ${#files[@]} -gt 0 ]] || usage
command -v gnuplot >/dev/null || { echo "plot-perf.sh: gnuplot not found" >&2; exit 1; }
for f in "${files[@]}"; do
  [[ -r "$f" ]] || { echo "plot-perf.sh: cannot read $f" >&2; exit 2; }
  head -1 "$f" | grep -q '^collective,backend,nranks,size,' ||
    { echo "plot-perf.sh: $f is not a perf-tool --csv file" >&2; exit 2; }
done

# "all_gather_perf local 4 ranks" from the first data row of a file.
label_of() { awk -F, 'NR == 2 { printf "%s, %s, %s ranks", $1, $2, $3; exit }' "$1"; }

plots=()
for f in "${files[@]}"; do
  label=$(label_of "$f")
  # Rows with size 0 cannot sit on a log axis; empty cells are N/A halves.
  plots+=("'$f' every ::1 using (\$4 > 0 ? \$4 : 1/0):11 with linespoints title '$label'")
  if [[ $in_place -eq 1 ]]; then
    plots+=("'$f' every ::1 using (\$4 > 0 ? \$4 : 1/0):15 with linespoints dt 2 title '$label, in place'")
  fi
done
for bound in "${bounds[@]}"; do
  value="${bound%%:*}"
  name="${bound#*:}"
  [[ "$name" == "$bound" ]] && name="bound"
  [[ "$value" =~ ^[0-9.]+$ ]] || { echo "plot-perf.sh: bad bound '$bound' (GB/s[:LABEL])" >&2; exit 2; }
  plots+=("$value with lines lw 2 dt 3 title '$name ($value GB/s)'")
done

plot_line=$(IFS=,; echo "${plots[*]}")
gnuplot <<EOF
set datafile separator ","
set terminal pngcairo noenhanced size 900,540 font "sans,10"
set output "$out"
set title "$title"
set logscale x 2
set format x "%.0b%B"
set xlabel "message size (bytes, size column of the table)"
set ylabel "busbw (GB/s, 1e9 bytes)"
set key top left
set grid
set yrange [0:*]
plot $plot_line
EOF
echo "plot-perf.sh: wrote $out"
