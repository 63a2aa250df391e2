#!/usr/bin/env bash
# fuzz-ckpt.sh — builds the libFuzzer target over tidal's safetensors header
# parser and reader with clang (ASan + libFuzzer) in its own folder, seeds
# it with valid files, runs it for a bounded time and prints the exec count.
#
#   scripts/fuzz-ckpt.sh [SECONDS] [BUILD_DIR]     (defaults: 60, build-fuzz-ckpt)
#
# Needs clang++-14 and libclang-rt-14-dev (Debian), libfmt-dev,
# nlohmann-json3-dev, libxxhash-dev. The main build does not depend on it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-60}"
OUT="${2:-build-fuzz-ckpt}"
CXX="${CXX_FUZZ:-clang++-14}"
mkdir -p "$OUT/include/tidal" "$OUT/corpus" "$OUT/seeds"

# The generated version header, as CMake would write it (no backends needed).
sed -e 's/@PROJECT_VERSION_MAJOR@/0/; s/@PROJECT_VERSION_MINOR@/1/; s/@PROJECT_VERSION_PATCH@/0/' \
    -e 's/@PROJECT_VERSION@/0.2.0/; s/@TIDAL_HAVE_[A-Z]*@/0/' \
    include/tidal/version.h.in > "$OUT/include/tidal/version.h"

"$CXX" -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I. -Iinclude -I"$OUT/include" \
  tests/checkpoint/fuzz_safetensors_reader.cc lib/checkpoint/safetensors_reader.cc \
  lib/checkpoint/safetensors_header.cc lib/core/dtype.cc \
  -lfmt -lxxhash -o "$OUT/fuzz_safetensors_reader"

# Seeds: valid files from the spec (metadata only, 0-d, several tensors,
# tidal checksums) so mutations start from the interesting shapes.
python3 - "$OUT/seeds" <<'PY'
import json, struct, sys, os
out = sys.argv[1]
def write(name, header, data=b""):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(os.path.join(out, name), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
write("meta", {"__metadata__": {"format": "pt"}})
write("scalar", {"s": {"dtype": "F64", "shape": [], "data_offsets": [0, 8]}}, b"\0" * 8)
write("multi", {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]},
                "c": {"dtype": "U8", "shape": [0], "data_offsets": [22, 22]}}, bytes(range(22)))
write("tidal", {"w": {"dtype": "I32", "shape": [1], "data_offsets": [0, 4]},
                "__metadata__": {"tidal.xxh3_64": json.dumps({"w": "0123456789abcdef"}), "tidal.step": "3"}},
      b"\1\2\3\4")
PY
cat > "$OUT/safetensors.dict" <<'DICT'
"dtype"
"shape"
"data_offsets"
"__metadata__"
"F32"
"BF16"
"F8_E4M3"
"F4"
"tidal.xxh3_64"
"tidal.step"
DICT

LOG="$OUT/fuzz.log"
"$OUT/fuzz_safetensors_reader" "$OUT/corpus" "$OUT/seeds" -dict="$OUT/safetensors.dict" \
  -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -print_final_stats=1 -artifact_prefix="$OUT/" \
  > "$LOG" 2>&1 || { tail -40 "$LOG"; echo "fuzz-ckpt: the fuzzer found a failure (see $LOG)"; exit 1; }
EXECS=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$LOG" | grep -o '[0-9]*$')
echo "fuzz-ckpt: ${EXECS} executions in ${SECONDS_TO_RUN} s, no failure ($(ls "$OUT/corpus" | wc -l) corpus files; log $LOG)"
