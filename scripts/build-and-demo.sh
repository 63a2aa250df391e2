#!/usr/bin/env bash
# The main job: install what is missing, build tidal (Release), and run the
# demo: all-gather, reduce-scatter and all-reduce over 4 local thread ranks,
# printed as nccl-tests tables and checked. No launcher needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DTIDAL_BUILD_TESTS=OFF
cmake --build build-release
exec build-release/bench/demo/tidal-demo "$@"
