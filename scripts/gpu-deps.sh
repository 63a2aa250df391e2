#!/usr/bin/env bash
# Prepares .deps/: the Debian packages the GPU build needs, unpacked with
# dpkg -x, for a GPU machine that has the CUDA toolkit, CMake and ninja but
# no network and none of our packages. Run here (with network), then carry
# .deps to the GPU machine. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(libfmt-dev libfmt9 libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian
      nlohmann-json3-dev libcli11-dev libxxhash-dev libxxhash0 liburing-dev liburing2)
mkdir -p .deps/debs
cd .deps/debs
for p in "${pkgs[@]}"; do
  ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p"
done
cd ..
for f in debs/*.deb; do dpkg -x "$f" root; done
echo "gpu-deps: unpacked ${#pkgs[@]} packages into .deps/root"
