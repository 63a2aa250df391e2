// exact_values.h — test inputs whose reductions are exact in any order (as
// nccl-tests chooses them), and the expected results computed on one rank.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "lib/core/dtype.h"
#include "tidal/tidal.h"

namespace tidal_testing {

// Value of element i on `rank` for a reduction `op` over `n` ranks, as an
// exact small integer. FP8 sums stay <= 8 (exact in e5m2), products <= 2.
inline double input_value(tidal_dtype_t dtype, tidal_op_t op, int rank, size_t i, int n) {
  const bool fp8 = dtype == TIDAL_FP8_E4M3 || dtype == TIDAL_FP8_E5M2;
  switch (op) {
    case TIDAL_PROD: return (i % static_cast<size_t>(n)) == static_cast<size_t>(rank) ? 2 : 1;
    case TIDAL_MAX:
    case TIDAL_MIN: return static_cast<double>((rank * 5 + i) % 7);
    default:
      if (fp8) return ((rank + 2 * i) % 3 == 0 && rank < 8) ? 1 : 0;
      return static_cast<double>(1 + (rank + i) % 3);
  }
}

// Encodes `v` (exactly representable, or rounded as tidal rounds) in dtype.
inline void encode(double v, tidal_dtype_t dtype, void* out) {
  switch (dtype) {
    case TIDAL_F32: { float f = static_cast<float>(v); std::memcpy(out, &f, 4); break; }
    case TIDAL_F64: std::memcpy(out, &v, 8); break;
    case TIDAL_I32: { int32_t x = static_cast<int32_t>(v); std::memcpy(out, &x, 4); break; }
    case TIDAL_I64: { int64_t x = static_cast<int64_t>(v); std::memcpy(out, &x, 8); break; }
    case TIDAL_U8: *static_cast<uint8_t*>(out) = static_cast<uint8_t>(v); break;
    case TIDAL_F16: {
      uint16_t h = tidal::float_to_f16(static_cast<float>(v)); std::memcpy(out, &h, 2); break;
    }
    case TIDAL_BF16: {
      uint16_t h = tidal::float_to_bf16(static_cast<float>(v)); std::memcpy(out, &h, 2); break;
    }
    case TIDAL_FP8_E4M3: *static_cast<uint8_t*>(out) = tidal::float_to_e4m3(static_cast<float>(v)); break;
    case TIDAL_FP8_E5M2: *static_cast<uint8_t*>(out) = tidal::float_to_e5m2(static_cast<float>(v)); break;
    default: break;
  }
}

// Fills `count` elements of rank's input (block-major: element index i).
inline std::vector<unsigned char> make_input(tidal_dtype_t dtype, tidal_op_t op, int rank,
                                             size_t count, int n) {
  const size_t es = tidal_dtype_size(dtype);
  std::vector<unsigned char> buf(count * es + 1);
  for (size_t i = 0; i < count; ++i) encode(input_value(dtype, op, rank, i, n), dtype, &buf[i * es]);
  return buf;
}

// The reduction of element i over n ranks, encoded in dtype.
inline void expected_reduction(tidal_dtype_t dtype, tidal_op_t op, size_t i, int n, void* out) {
  double acc = input_value(dtype, op, 0, i, n);
  for (int r = 1; r < n; ++r) {
    double v = input_value(dtype, op, r, i, n);
    switch (op) {
      case TIDAL_PROD: acc *= v; break;
      case TIDAL_MAX: acc = v > acc ? v : acc; break;
      case TIDAL_MIN: acc = v < acc ? v : acc; break;
      default: acc += v; break;
    }
  }
  if (op == TIDAL_AVG) {
    if (dtype == TIDAL_F64) acc = acc / n;
    else if (dtype == TIDAL_I32 || dtype == TIDAL_I64 || dtype == TIDAL_U8)
      acc = static_cast<double>(static_cast<int64_t>(acc) / n);
    else {
      // tidal divides in float after decoding: the sum is exact in dtype.
      acc = static_cast<double>(static_cast<float>(acc) / static_cast<float>(n));
    }
  }
  encode(acc, dtype, out);
}

}  // namespace tidal_testing
