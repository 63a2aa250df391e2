// bf16_avx512.h — bf16 arithmetic with AVX512-BF16, where the CPU has it.
//
// Converting f32 to bf16 (round to nearest even, NaN quieted) is a dozen
// integer operations per 8 elements in portable code and one instruction
// per 16 with AVX512-BF16 (VCVTNEPS2BF16, Sapphire Rapids and later). Every
// function here is bit for bit the portable formula (float_to_bf16 in
// lib/core/dtype.h): the instruction flushes subnormals to zero, so a vector
// that holds one is converted by the formula instead. Callers check
// have_avx512_bf16() first and keep the portable loop for other CPUs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tidal/tidal.h"

namespace tidal {

// Whether the functions below run: the CPU has the instructions (checked
// once) and TIDAL_CPU_KERNELS is not "portable" (lib/core/cpu_kernels.h).
bool have_avx512_bf16();

// dst[i] = float_to_bf16(src[i] * scale) for `count` elements.
void f32_to_bf16_avx512(const float* src, uint16_t* dst, size_t count, float scale);

// The same for runs much larger than the caches, the way the pack's
// streaming copy works: the source read 4 pages at a time, a line of each
// in turn, the output written with non-temporal stores. Measured on the
// 2-vCPU Sapphire Rapids VM, one thread, 256 MB of f32: 1.6-2.2x the
// portable loop's rate, 1.1-1.3x memcpy's rate of the f32 source.
void f32_to_bf16_avx512_streaming(const float* src, uint16_t* dst, size_t count, float scale);

// dst[i] = float_to_bf16(bf16_to_float(src[i]) * scale): a bf16 bucket
// scaled as it is packed (bf16 gradients averaged by 1/world). dst may be
// src. 5x the portable loop's rate here.
void bf16_scale_avx512(const uint16_t* src, uint16_t* dst, size_t count, float scale);

// out[i] = bf16(float(a[i]) (op) float(b[i])), as reduce_to folds bf16
// (TIDAL_AVG adds). out may alias a or b exactly. 16-MiB folds here:
// 3.5x faster than the portable loop.
void bf16_fold_avx512(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t count,
                      tidal_op_t op);

// buf[i] = bf16(float(buf[i]) / divisor), as divide_by finishes a bf16
// average.
void bf16_divide_avx512(uint16_t* buf, size_t count, int divisor);

}  // namespace tidal
