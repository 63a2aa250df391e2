// f16_f16c.h — IEEE f16 arithmetic with F16C (every x86-64 CPU with AVX2).
//
// Portable code converts f32 to f16 with a dozen branchy integer steps per
// element (float_to_f16 in lib/core/dtype.h); F16C converts 8 per
// instruction, rounding to nearest even exactly as that formula does, with
// one difference: a NaN keeps its payload where the formula writes the
// canonical quiet NaN. Every function here is bit for bit the formula's:
// a group of 8 whose result holds a NaN is recomputed by the formula.
// Callers check have_f16c() first and keep the portable loop otherwise.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tidal/tidal.h"

namespace tidal {

// Whether the functions below run: the CPU has the instructions (checked
// once) and TIDAL_CPU_KERNELS is not "portable" (lib/core/cpu_kernels.h).
bool have_f16c();

// out[i] = f16(float(a[i]) (op) float(b[i])), as reduce_to folds f16
// (TIDAL_AVG adds). out may alias a or b exactly.
void f16_fold_f16c(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t count,
                   tidal_op_t op);

// buf[i] = f16(float(buf[i]) / divisor), as divide_by finishes an f16 average.
void f16_divide_f16c(uint16_t* buf, size_t count, int divisor);

// dst[i] = encode(decode(src[i]) * scale) for the pack's casts and scales
// with f16 on either side: f32 -> f16, f16 -> f32, f16 -> f16. dst may be
// src when the element sizes match.
void f16_convert_f16c(const void* src, tidal_dtype_t src_dtype, void* dst,
                      tidal_dtype_t dst_dtype, size_t count, float scale);

// out[i] = value(in[i]) * scale for FP8 bytes of `format` (TIDAL_FP8_E4M3
// or TIDAL_FP8_E5M2): an E5M2 byte is the top half of the f16 of the same
// value, an E4M3 byte moves into an f16 exactly at 2^-8 of its value, and
// F16C widens 8 f16 per instruction (subnormals included). Bit for bit
// small_float_to_float(in[i]) * scale (lib/core/dtype.h), NaN included.
void fp8_to_f32_f16c(const uint8_t* in, tidal_dtype_t format, float* out, size_t count,
                     float scale);

// FP8 folds and the FP8 average's divide on the same decode: out[i] =
// encode(value(a[i]) (op) value(b[i])) and buf[i] = encode(value(buf[i]) /
// divisor), as reduce_to / divide_by define them for TIDAL_FP8_E4M3 and
// TIDAL_FP8_E5M2 (non-saturating: overflow is NaN in E4M3, inf in E5M2),
// bit for bit. out may alias a or b exactly.
void fp8_fold_f16c(uint8_t* out, const uint8_t* a, const uint8_t* b, size_t count,
                   tidal_dtype_t format, tidal_op_t op);
void fp8_divide_f16c(uint8_t* buf, size_t count, tidal_dtype_t format, int divisor);

}  // namespace tidal
