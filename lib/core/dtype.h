// dtype.h — element sizes and scalar conversions between float and the
// 16- and 8-bit floating formats tidal moves (IEEE f16, bf16, OCP FP8).
// Float -> narrow conversions round to nearest, ties to even.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tidal/tidal.h"

namespace tidal {

bool dtype_valid(tidal_dtype_t dtype);
size_t dtype_size(tidal_dtype_t dtype);
bool dtype_is_float(tidal_dtype_t dtype);

float f16_to_float(uint16_t h);
uint16_t float_to_f16(float f);
// bf16 is the training dtype: these two are inline so reduction and pack
// loops vectorise instead of calling out per element.
inline float bf16_to_float(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t quiet_nan = (u >> 16) | 0x40u;
  // A select rather than an early return, so loops over it vectorise.
  return static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}

// OCP FP8 E4M3 ("e4m3fn"): no infinities; 0x7f/0xff are NaN; max 448.
// Out-of-range finite values become NaN unless `saturate` (then +-448).
float e4m3_to_float(uint8_t v);
uint8_t float_to_e4m3(float f, bool saturate = false);
// OCP FP8 E5M2: IEEE-style with infinities; max finite 57344.
float e5m2_to_float(uint8_t v);
uint8_t float_to_e5m2(float f, bool saturate = false);

}  // namespace tidal
