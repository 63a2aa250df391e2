// fp8_scalar.h — the per-element and per-block steps of the FP8 codec
// (fp8_codec.h), shared by the CPU loops and the CUDA kernels so both
// produce the same bytes and scales.
#pragma once

#include <cstdint>

#include "lib/core/dtype.h"
#include "lib/core/host_device.h"

namespace tidal {

// The byte of a scaled value y (|y| <= FP8_MAX when finite): rounded to
// nearest even, saturated at the largest finite code (rounding may step
// past it by an ulp), NaN -> 0x7f, +-inf -> +-inf (E5M2) or NaN (E4M3).
// One 32-bit lane per value and selects only, so a CPU loop over it
// vectorises; the generic float_to_e4m3/e5m2 chain costs twice as many
// instructions.
template <int EBITS, int MBITS>
TIDAL_HD uint32_t fp8_encode_scaled(float y) {
  constexpr bool kFiniteOnly = EBITS == 4;
  constexpr uint32_t kMaxCode = kFiniteOnly ? 0x7eu : 0x7bu;
  const uint32_t u = float_bits(y);
  const uint32_t sign = (u >> 24) & 0x80u, mag = u & 0x7fffffffu;
  const uint32_t r = round_to_small_float<EBITS, MBITS, true>(mag);
  const uint32_t q = r < kMaxCode ? r : kMaxCode;
  const uint32_t special =
      kFiniteOnly ? 0x7fu : select_bits(mag == 0x7f800000u, sign | 0x7cu, 0x7fu);
  return select_bits(mag >= 0x7f800000u, special, sign | q);
}

// A block's scale from its largest finite magnitude: amax / fmax (an IEEE
// division), 1 for an all-zero (or all non-finite) block, never below
// 2^-126; with `pow2` rounded up to a power of two.
TIDAL_HD float fp8_block_scale(float amax, float fmax, bool pow2) {
  if (!(amax > 0.0f)) return 1.0f;
  const float q = amax / fmax;
  const float min_normal = bits_float(0x00800000u);  // 2^-126
  const float s = q > min_normal ? q : min_normal;
  if (!pow2) return s;
  const uint32_t u = float_bits(s);
  // A normal float: a power of two when its mantissa is 0, else the next one up.
  return (u & 0x7fffffu) == 0 ? s : bits_float((u & 0x7f800000u) + 0x800000u);
}

// The largest finite |x| of a value as bits, for a running integer max
// (for non-negative floats the integer order is the float order); NaN and
// infinities count as 0.
TIDAL_HD uint32_t fp8_finite_magnitude_bits(float x) {
  const uint32_t a = float_bits(x) & 0x7fffffffu;
  return select_bits(a < 0x7f800000u, a, 0u);
}

}  // namespace tidal
