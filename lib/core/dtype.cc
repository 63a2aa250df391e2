#include "lib/core/dtype.h"

#include <cmath>
#include <cstring>

namespace tidal {

bool dtype_valid(tidal_dtype_t dtype) {
  return static_cast<int>(dtype) >= 0 && dtype < TIDAL_DTYPE_COUNT;
}

size_t dtype_size(tidal_dtype_t dtype) {
  switch (dtype) {
    case TIDAL_F32: case TIDAL_I32: return 4;
    case TIDAL_F64: case TIDAL_I64: return 8;
    case TIDAL_F16: case TIDAL_BF16: return 2;
    case TIDAL_U8: case TIDAL_FP8_E4M3: case TIDAL_FP8_E5M2: return 1;
    default: return 0;
  }
}

bool dtype_is_float(tidal_dtype_t dtype) {
  return dtype != TIDAL_I32 && dtype != TIDAL_I64 && dtype != TIDAL_U8;
}

float f16_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    float v = std::ldexp(static_cast<float>(man), -24);
    return sign ? -v : v;
  }
  return bits_float(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t float_to_f16(float f) {
  // Bit-level round to nearest even (after F. Giesen's float_to_half_fast3_rtne).
  const uint32_t f16_max = (127u + 16u) << 23;           // 65536.0f: inf from here
  const uint32_t denorm_magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  uint32_t u = float_bits(f);
  const uint32_t sign = u & 0x80000000u;
  u ^= sign;
  uint16_t out;
  if (u >= f16_max) {
    out = u > 0x7f800000u ? 0x7e00 : 0x7c00;  // NaN stays NaN, the rest is inf
  } else if (u < (113u << 23)) {
    // Subnormal: let the FPU round the mantissa by adding a magic number.
    out = static_cast<uint16_t>(float_bits(bits_float(u) + bits_float(denorm_magic)) - denorm_magic);
  } else {
    const uint32_t mant_odd = (u >> 13) & 1u;
    u += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu + mant_odd;
    out = static_cast<uint16_t>(u >> 13);
  }
  return static_cast<uint16_t>(out | (sign >> 16));
}

float e4m3_to_float(uint8_t v) {
  uint32_t sign = v & 0x80u;
  uint32_t exp = (v >> 3) & 0xf;
  uint32_t man = v & 0x7;
  if (exp == 0xf && man == 0x7) return std::nanf("");
  float a = exp == 0 ? std::ldexp(static_cast<float>(man), -9)
                     : std::ldexp(1.0f + man / 8.0f, static_cast<int>(exp) - 7);
  return sign ? -a : a;
}

float e5m2_to_float(uint8_t v) {
  return f16_to_float(static_cast<uint16_t>(v) << 8);
}

}  // namespace tidal
