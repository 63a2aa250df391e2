#!/usr/bin/env bash
# Line coverage of the library by the whole test suite: a Debug build with
# --coverage in BUILD_DIR (default /tmp/tidal-coverage), every test, then a
# per-file report of lib/, collectives/ and topology/ from gcovr (installed
# into a venv in BUILD_DIR from PyPI), files with the most uncovered lines
# first. An uncovered line is most often an error path no test reaches:
# the report is where to look for the next test. CUDA and NCCL code shows
# as uncovered here (no GPU).
# Usage: scripts/coverage.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=${1:-/tmp/tidal-coverage}
scripts/install-deps.sh > /dev/null
[[ -x $build/venv/bin/gcovr ]] || { python3 -m venv "$build/venv" && "$build/venv/bin/pip" install -q gcovr; }
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTIDAL_BUILD_EXAMPLES=OFF \
  -DCMAKE_C_FLAGS=--coverage -DCMAKE_CXX_FLAGS="--coverage -O0" \
  -DCMAKE_EXE_LINKER_FLAGS=--coverage -DCMAKE_SHARED_LINKER_FLAGS=--coverage > /dev/null
ninja -C "$build" > /dev/null
find "$build" -name '*.gcda' -delete
UCX_MEM_MMAP_HOOK_MODE=none ctest --test-dir "$build" -j "$(nproc)" --timeout 900 | tail -3
# target_clones functions count their unused clone as uncovered, gcov 12
# reports negative branch counts on some lines, and CMake's compiler probes
# leave notes without sources: all tolerated.
(cd "$build" && "$build/venv/bin/gcovr" -r "$src" --object-directory "$build" -j "$(nproc)" \
  --gcov-ignore-parse-errors=all --gcov-ignore-errors=all \
  --filter "$src/(lib|collectives|topology)/" --txt "$build/coverage.txt" > /dev/null 2>&1)
python3 - "$build/coverage.txt" <<'PY'
import re, sys
rows, lines = [], open(sys.argv[1]).read().splitlines()
for i, line in enumerate(lines):
    if re.match(r'^\S+$', line) and i + 1 < len(lines) and re.match(r'^\s+\d', lines[i + 1]):
        line = line + lines[i + 1]
    m = re.match(r'^(\S+)\s+(\d+)\s+(\d+)\s+(\d+|--)%?\s*(.*)$', line)
    if m and m.group(1) != 'File':
        rows.append((int(m.group(2)) - int(m.group(3)), m.group(1), m.group(4), m.group(5)[:90]))
for missed, name, pct, where in sorted(rows, reverse=True)[:40]:
    print(f"{missed:5d} uncovered  {pct:>4}%  {name}  {where}")
PY
echo "full report: $build/coverage.txt"
