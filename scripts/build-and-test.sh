#!/usr/bin/env bash
# Installs what is missing, builds tidal with every test, and runs them all
# with ctest (local-thread and mpiexec suites; GPU tests skip without a GPU).
# TIDAL_SANITIZE=address,undefined|thread runs the suite under sanitizers in
# a separate build folder instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test

# Reference checks in Python (safetensors, numpy, ml_dtypes) run in a venv.
venv=build-venv
if [[ ! -x $venv/bin/python ]] || ! $venv/bin/python -c "import safetensors, numpy, ml_dtypes" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check numpy safetensors ml_dtypes
fi

build=build
args=()
if [[ -n "${TIDAL_SANITIZE:-}" ]]; then
  build="build-${TIDAL_SANITIZE//,/-}"
  args+=("-DTIDAL_SANITIZE=$TIDAL_SANITIZE" -DTIDAL_BUILD_BENCH=OFF)
  # UCX's memory hooks (loaded through MPICH) crash the sanitizer runtimes.
  export UCX_MEM_MMAP_HOOK_MODE=none
fi
cmake -S . -B "$build" -G Ninja -DTIDAL_TEST_PYTHON="$PWD/$venv/bin/python" "${args[@]}"
cmake --build "$build"
# Oversubscribed mpiexec runs (4 ranks on 2 cores) need no special flags
# with MPICH's hydra launcher.
cd "$build"
exec ctest --output-on-failure --timeout 900 -j "${TIDAL_TEST_JOBS:-2}"
