// bf16_convert.h — f32 -> bf16 with the CPU's own conversion instruction
// where it has one (AVX512-BF16's VCVTNEPS2BF16: 16 floats per
// instruction, where the portable loop needs a dozen integer operations
// per 8). Bit for bit float_to_bf16 (lib/core/dtype.h): round to nearest
// even, NaN quieted. The instruction flushes subnormals to zero; a vector
// holding one is converted by the portable formula instead.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tidal {

// Whether f32_to_bf16_native can run on this CPU (checked once).
bool have_native_bf16_convert();

// dst[i] = float_to_bf16(src[i] * scale) for `count` elements. Only where
// have_native_bf16_convert() is true.
void f32_to_bf16_native(const float* src, uint16_t* dst, size_t count, float scale);

// The same for runs much larger than the caches, the way the pack's
// streaming copy works: the source read 4 pages at a time, a line of each
// in turn, the output written with non-temporal 64-byte stores. Measured
// on the 2-vCPU Sapphire Rapids VM, one thread, 256 MB of f32: 1.6-2.2x
// the portable loop's rate, 1.1-1.3x memcpy's rate of the f32 source.
void f32_to_bf16_native_streaming(const float* src, uint16_t* dst, size_t count, float scale);

}  // namespace tidal
