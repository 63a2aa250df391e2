#!/usr/bin/env python3
"""Interop between tidal and the reference `safetensors` package.

    safetensors_interop.py write FILE   # the reference writes every dtype/shape
    safetensors_interop.py check FILE   # the reference parses a tidal file

Both sides build the same tensors: for dtype d (tidal order) and shape s,
the tensor "t<seed>" with seed = d * len(SHAPES) + s + 1 holds the bytes
pattern_byte(seed, j) (see tests/checkpoint/ckpt_test_util.h). Exit status 0
means every tensor matched bit for bit.
"""
import json
import sys

import ml_dtypes
import numpy as np
import safetensors
from safetensors.numpy import save_file

# (safetensors dtype, numpy dtype) in tidal_dtype_t order.
DTYPES = [
    ("F32", np.float32), ("F16", np.float16), ("BF16", ml_dtypes.bfloat16),
    ("F64", np.float64), ("I32", np.int32), ("I64", np.int64), ("U8", np.uint8),
    ("F8_E4M3", ml_dtypes.float8_e4m3fn), ("F8_E5M2", ml_dtypes.float8_e5m2),
]
SHAPES = [(), (0,), (3, 0, 2), (7,), (5, 3), (2, 3, 4)]


def pattern(seed, n):
    j = np.arange(n, dtype=np.uint64)
    return ((seed * 131 + j * 7 + (j >> 8) * 13) & 0xFF).astype(np.uint8)


def expected_tensors():
    seed = 1
    for name, dtype in DTYPES:
        for shape in SHAPES:
            count = int(np.prod(shape, dtype=np.int64))
            raw = pattern(seed, count * np.dtype(dtype).itemsize)
            yield f"t{seed}", name, shape, raw.view(dtype).reshape(shape)
            seed += 1


def write(path):
    tensors = {name: array for name, _, _, array in expected_tensors()}
    save_file(tensors, path, metadata={"source": "python", "step": "7"})


def check(path):
    with open(path, "rb") as f:
        parsed = dict(safetensors.deserialize(f.read()))
    failures = []
    for name, dtype, shape, array in expected_tensors():
        got = parsed.pop(name, None)
        if got is None:
            failures.append(f"{name}: missing")
        elif got["dtype"] != dtype or tuple(got["shape"]) != shape:
            failures.append(f"{name}: {got['dtype']} {got['shape']} != {dtype} {list(shape)}")
        elif bytes(got["data"]) != array.tobytes():
            failures.append(f"{name}: bytes differ")
    failures += [f"{name}: unexpected tensor" for name in parsed]
    # The numpy front end (mmap) must load the formats it supports too.
    with safetensors.safe_open(path, framework="np") as f:
        metadata = f.metadata() or {}
        for name, dtype, shape, array in expected_tensors():
            if dtype in ("F32", "F16", "F64", "I32", "I64", "U8"):
                if f.get_tensor(name).tobytes() != array.tobytes():
                    failures.append(f"{name}: safe_open bytes differ")
    if "tidal.xxh3_64" not in metadata or len(json.loads(metadata["tidal.xxh3_64"])) != len(SHAPES) * len(DTYPES):
        failures.append("metadata lacks tidal's checksums")
    if metadata.get("source") != "tidal":
        failures.append(f"metadata 'source' is {metadata.get('source')!r}")
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if sys.argv[1] == "write":
        write(sys.argv[2])
        sys.exit(0)
    sys.exit(check(sys.argv[2]))
