#!/usr/bin/env bash
# Installs the Debian 12 packages tidal builds and tests with. Idempotent:
# installs only what is missing, and runs apt-get update only then.
# Usage (as root): scripts/install-deps.sh [--test]   (--test adds test-only tools)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libfmt-dev nlohmann-json3-dev libcli11-dev libxxhash-dev liburing-dev
  libmpich-dev mpich libucx-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  gnuplot-nox python3 python3-venv
  libtorch-dev   # the reference DiT trainer in examples/ only
)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(clang-14 libclang-rt-14-dev
             python3-torch)  # examples/python/torch_zero.py (system python)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: run as root (or install these packages yourself)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#packages[@]} packages present"
fi
