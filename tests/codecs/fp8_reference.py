#!/usr/bin/env python3
"""The reference block-scaled FP8 codec, in numpy and ml_dtypes.

    fp8_reference.py DIR

DIR/cases.txt lists one case per line: `name format block pow2 dtype n`.
For each, DIR/name.in holds n input values (dtype), and tidal wrote
name.fp8 (its bytes), name.scales (f32 scales) and name.out (the decoded
values, dtype). This script encodes and decodes the input itself, as
include/tidal/fp8.h defines the codec, and compares: scales and bytes bit
for bit (a NaN byte only has to be a NaN), decoded values bit for bit (a
NaN only has to be a NaN). Exit status 0: every case matched.
"""
import sys
from pathlib import Path

import ml_dtypes
import numpy as np

FORMATS = {
    "fp8_e4m3": (ml_dtypes.float8_e4m3fn, np.float32(448.0)),
    "fp8_e5m2": (ml_dtypes.float8_e5m2, np.float32(57344.0)),
}
VALUES = {"f32": np.float32, "bf16": ml_dtypes.bfloat16, "f16": np.float16}


def block_scales(x, block, fmax, pow2):
    nb = -(-len(x) // block)
    a = np.zeros(nb * block, np.float32)
    a[: len(x)] = np.where(np.isfinite(x), np.abs(x), np.float32(0))
    amax = a.reshape(nb, block).max(axis=1)
    s = np.maximum(amax / fmax, np.finfo(np.float32).tiny).astype(np.float32)
    if pow2:
        mantissa, exponent = np.frexp(s)  # s = mantissa * 2**exponent, mantissa in [0.5, 1)
        s = np.where(mantissa == 0.5, s, np.ldexp(np.float32(1), exponent)).astype(np.float32)
    return np.where(amax > 0, s, np.float32(1)).astype(np.float32)


def same_bits(got, want, nan_in_got, nan_in_want):
    return bool(np.all((got == want) | (nan_in_got & nan_in_want)))


def check(d, name, fmt, block, pow2, vdtype, n):
    fp8, fmax = FORMATS[fmt]
    vd = VALUES[vdtype]
    x = np.fromfile(d / f"{name}.in", dtype=vd, count=n).astype(np.float32)
    s = block_scales(x, block, fmax, pow2)
    per = np.repeat(s, block)[:n]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        y = x / per
        y = np.where(np.isfinite(y), np.clip(y, -fmax, fmax), y).astype(np.float32)
        q = y.astype(fp8)
        out = (q.astype(np.float32) * per).astype(vd)
    errors = []
    got_s = np.fromfile(d / f"{name}.scales", dtype=np.float32)
    if got_s.shape != s.shape or not np.array_equal(got_s.view(np.uint32), s.view(np.uint32)):
        errors.append(f"scales differ at {np.flatnonzero(got_s != s)[:5]}")
    got_q = np.fromfile(d / f"{name}.fp8", dtype=fp8)
    if not same_bits(got_q.view(np.uint8), q.view(np.uint8),
                     np.isnan(got_q.astype(np.float32)), np.isnan(q.astype(np.float32))):
        bad = np.flatnonzero(got_q.view(np.uint8) != q.view(np.uint8))[:5]
        errors.append(f"bytes differ at {bad}: tidal {got_q.view(np.uint8)[bad]} "
                      f"reference {q.view(np.uint8)[bad]} input {x[bad]}")
    got_o = np.fromfile(d / f"{name}.out", dtype=vd)
    bits = np.uint32 if vd == np.float32 else np.uint16
    if not same_bits(got_o.view(bits), out.view(bits), np.isnan(got_o.astype(np.float32)),
                     np.isnan(out.astype(np.float32))):
        errors.append(f"decoded values differ at {np.flatnonzero(got_o.view(bits) != out.view(bits))[:5]}")
    for e in errors:
        print(f"{name} ({fmt}, block {block}, pow2 {pow2}, {vdtype}): {e}")
    return not errors


def main():
    d = Path(sys.argv[1])
    ok = True
    count = 0
    for line in (d / "cases.txt").read_text().split("\n"):
        if not line.strip():
            continue
        name, fmt, block, pow2, vdtype, n = line.split()
        ok &= check(d, name, fmt, int(block), int(pow2) == 1, vdtype, int(n))
        count += 1
    print(f"fp8 reference: {count} cases, {'all match' if ok else 'MISMATCH'}")
    return 0 if ok and count else 1


if __name__ == "__main__":
    sys.exit(main())
