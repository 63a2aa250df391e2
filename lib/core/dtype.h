// dtype.h — element sizes and scalar conversions between float and the
// 16- and 8-bit floating formats tidal moves (IEEE f16, bf16, OCP FP8).
// Float -> narrow conversions round to nearest, ties to even.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "lib/core/host_device.h"
#include "tidal/tidal.h"

namespace tidal {

bool dtype_valid(tidal_dtype_t dtype);
size_t dtype_size(tidal_dtype_t dtype);
bool dtype_is_float(tidal_dtype_t dtype);

// A float's bits and back (what every conversion below works on). The
// TIDAL_HD functions of this header also run inside CUDA kernels.
TIDAL_HD uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
TIDAL_HD float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

float f16_to_float(uint16_t h);
uint16_t float_to_f16(float f);
// bf16 is the training dtype: these two are inline so reduction and pack
// loops vectorise instead of calling out per element.
TIDAL_HD float bf16_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }
TIDAL_HD uint16_t float_to_bf16(float f) {
  const uint32_t u = float_bits(f);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t quiet_nan = (u >> 16) | 0x40u;
  // A select rather than an early return, so loops over it vectorise.
  return static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}

// c ? a : b as bit masks: GCC keeps a chain of these branch-free, so a
// loop over them vectorises (it turns nested ?: chains into control flow).
TIDAL_HD uint32_t select_bits(bool c, uint32_t a, uint32_t b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return (a & m) | (b & ~m);
}

// Rounds a finite float magnitude (its bits, sign cleared) to nearest
// even in a small float format with EBITS exponent and MBITS mantissa
// bits (IEEE-style bias and subnormals) and returns the magnitude's
// encoding, which may lie past the format's largest value (the caller maps
// overflow). Branch-free, so loops over it vectorise; tested against a
// frexp/ldexp reference over every class of float.
//
// kMaskSelect picks between the normal and subnormal results with bit
// masks (select_bits) instead of ?:. Loops that should vectorise need it
// (the FP8 codec's: GCC turns the ?: into control flow there); the FP8
// folds must not use it: with it GCC vectorises them with gathers of their
// decode table, 3.5x slower on this project's CPUs.
template <int EBITS, int MBITS, bool kMaskSelect = false>
TIDAL_HD uint32_t round_to_small_float(uint32_t magnitude) {
  constexpr int kBias = (1 << (EBITS - 1)) - 1;
  constexpr int kMinNormalExp = 1 - kBias;
  constexpr uint32_t kMinNormalBits = static_cast<uint32_t>(kMinNormalExp + 127) << 23;
  constexpr int kShift = 23 - MBITS;
  // Normal: round the exponent|mantissa field at MBITS mantissa bits (a
  // carry moves into the exponent), then rebias the exponent.
  const uint32_t rounded =
      (magnitude + ((1u << (kShift - 1)) - 1u) + ((magnitude >> kShift) & 1u)) >> kShift;
  const uint32_t normal = rounded - (static_cast<uint32_t>(127 - kBias) << MBITS);
  // Subnormal: adding 2^(q+23), whose ulp is the format's quantum 2^q, makes
  // the FPU round to a multiple of the quantum; the difference in bits is
  // the count of quanta (it may reach the smallest normal's encoding).
  constexpr uint32_t kMagicBits = static_cast<uint32_t>(kMinNormalExp - MBITS + 23 + 127) << 23;
  const uint32_t sum_bits = float_bits(bits_float(magnitude) + bits_float(kMagicBits));
  if (kMaskSelect) return select_bits(magnitude < kMinNormalBits, sum_bits - kMagicBits, normal);
  return magnitude < kMinNormalBits ? sum_bits - kMagicBits : normal;
}

// The inverse: the float value of a small float's encoding `b` (sign bit
// at EBITS + MBITS). The all-ones exponent is NaN (the canonical quiet NaN,
// no sign) or, where the format has them, infinity; E4M3 ("fn") has no
// infinity and only the all-ones mantissa is NaN there. Branch-free; equal
// to e4m3_to_float / e5m2_to_float for every byte.
template <int EBITS, int MBITS>
TIDAL_HD float small_float_to_float(uint32_t b) {
  constexpr int kBias = (1 << (EBITS - 1)) - 1;
  constexpr uint32_t kMag = (1u << (EBITS + MBITS)) - 1;
  constexpr uint32_t kExpAll = kMag & ~((1u << MBITS) - 1);
  constexpr bool kFiniteOnly = EBITS == 4 && MBITS == 3;
  const uint32_t sign = (b & (kMag + 1)) << (31 - EBITS - MBITS);
  const uint32_t mag = b & kMag;
  // Normal: exponent|mantissa moved into place, the exponent rebiased.
  const uint32_t normal = (mag << (23 - MBITS)) + (static_cast<uint32_t>(127 - kBias) << 23);
  // Subnormal: 2^(1-bias) * (1 + m / 2^MBITS) - 2^(1-bias), exact.
  constexpr uint32_t kMinNormal = static_cast<uint32_t>(128 - kBias) << 23;
  const uint32_t sub_bits =
      float_bits(bits_float((mag << (23 - MBITS)) | kMinNormal) - bits_float(kMinNormal));
  const bool nan = kFiniteOnly ? mag == kMag : mag > kExpAll;
  const bool inf = !kFiniteOnly && mag == kExpAll;
  uint32_t out = select_bits(mag < (1u << MBITS), sub_bits, normal);
  out = select_bits(inf, 0x7f800000u, out) | sign;
  return bits_float(select_bits(nan, 0x7fc00000u, out));
}

// float -> a small float's encoding, rounded to nearest even. A finite
// value past the largest finite code (or an infinity) becomes that code
// with `saturate`, else the format's overflow: NaN (unsigned) where it has
// no infinity (E4M3), +-infinity otherwise. NaN becomes 0x7f.
// kMaskSelect: the same bits with mask selects (for loops that must
// vectorise; see round_to_small_float).
template <int EBITS, int MBITS, bool kMaskSelect = false>
inline uint8_t float_to_small_float(float f, bool saturate) {
  constexpr uint32_t kMag = (1u << (EBITS + MBITS)) - 1;
  constexpr uint32_t kExpAll = kMag & ~((1u << MBITS) - 1);
  constexpr bool kFiniteOnly = EBITS == 4 && MBITS == 3;
  constexpr uint32_t kMaxBits = kFiniteOnly ? kMag - 1 : kExpAll - 1;
  const uint32_t u = float_bits(f);
  const uint32_t sign = (u >> 24) & 0x80u, magnitude = u & 0x7fffffffu;
  const uint32_t bits = round_to_small_float<EBITS, MBITS, kMaskSelect>(magnitude);
  const uint32_t overflow = saturate ? (sign | kMaxBits) : kFiniteOnly ? kMag : (sign | kExpAll);
  if (kMaskSelect) {
    const uint32_t out =
        select_bits(bits > kMaxBits || magnitude == 0x7f800000u, overflow, sign | bits);
    return static_cast<uint8_t>(select_bits(magnitude > 0x7f800000u, 0x7fu, out));
  }
  const uint32_t out = magnitude > 0x7f800000u ? 0x7fu          // NaN
                       : magnitude == 0x7f800000u ? overflow    // infinity
                       : bits > kMaxBits ? overflow : (sign | bits);
  return static_cast<uint8_t>(out);
}

// OCP FP8 E4M3 ("e4m3fn"): no infinities; 0x7f/0xff are NaN; max 448.
// Out-of-range finite values become NaN unless `saturate` (then +-448).
float e4m3_to_float(uint8_t v);
template <bool kMaskSelect = false>
inline uint8_t float_to_e4m3(float f, bool saturate = false) {
  return float_to_small_float<4, 3, kMaskSelect>(f, saturate);
}
// OCP FP8 E5M2: IEEE-style with infinities; max finite 57344.
float e5m2_to_float(uint8_t v);
template <bool kMaskSelect = false>
inline uint8_t float_to_e5m2(float f, bool saturate = false) {
  return float_to_small_float<5, 2, kMaskSelect>(f, saturate);
}

}  // namespace tidal
