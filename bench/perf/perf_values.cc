#include "bench/perf/perf_values.h"

#include <cstdlib>
#include <cstring>

namespace tidal_perf {
namespace {

struct FloatFormat {
  int mantissa_bits;
  int bias;
};

FloatFormat float_format(tidal_dtype_t dtype) {
  switch (dtype) {
    case TIDAL_F16: return {10, 15};
    case TIDAL_BF16: return {7, 127};
    case TIDAL_FP8_E4M3: return {3, 7};
    default: return {2, 15};  // TIDAL_FP8_E5M2
  }
}

// Bits of the positive integer v in a binary floating format (exact by the
// caller's guarantee that v fits the mantissa).
uint32_t small_float_bits(FloatFormat f, uint64_t v) {
  if (v == 0) return 0;
  int exponent = 63 - __builtin_clzll(v);
  uint64_t mantissa = (v << f.mantissa_bits >> exponent) - (uint64_t{1} << f.mantissa_bits);
  return static_cast<uint32_t>((exponent + f.bias) << f.mantissa_bits | mantissa);
}

// The modulus of the copy pattern: a prime within the exact range, so
// rank r and rank s < modulus give different sequences.
uint64_t copy_modulus(tidal_dtype_t dtype) {
  switch (dtype) {
    case TIDAL_F16: return 2039;
    case TIDAL_BF16:
    case TIDAL_U8: return 251;
    case TIDAL_FP8_E4M3: return 13;
    case TIDAL_FP8_E5M2: return 7;
    default: return 65521;
  }
}

// SUM inputs: 1..3 per rank when the total fits the exact range, else one
// contribution of 0 or 1 from at most `limit` ranks.
uint64_t sum_input(const DataPlan& p, int rank, size_t i) {
  const uint64_t limit = exact_integer_limit(p.dtype);
  if (3 * static_cast<uint64_t>(p.nranks) <= limit) return 1 + (rank + i) % 3;
  return (static_cast<uint64_t>(rank) < limit && (rank + i) % 2 == 0) ? 1 : 0;
}

// AVG inputs: exactly one rank contributes nranks, so the average is 1
// (when nranks itself is exact in the type; otherwise everything is 0).
uint64_t avg_input(const DataPlan& p, int rank, size_t i) {
  if (static_cast<uint64_t>(p.nranks) > exact_integer_limit(p.dtype)) return 0;
  return (rank + i) % p.nranks == 0 ? p.nranks : 0;
}

// Every pattern repeats with a short period, so encode one period and copy
// it (large fills then run at memcpy speed).
template <typename Fn>
void fill(tidal_dtype_t dtype, size_t count, size_t period, void* out, Fn value_of) {
  unsigned char* bytes = static_cast<unsigned char*>(out);
  const size_t es = tidal_dtype_size(dtype);
  const size_t head = count < period ? count : period;
  for (size_t k = 0; k < head; ++k) encode_integer(dtype, value_of(k), bytes + k * es);
  for (size_t done = head; done < count;) {
    const size_t n = done < count - done ? done : count - done;
    std::memcpy(bytes + done * es, bytes, n * es);
    done += n;
  }
}

// A period of every reduction pattern (3, 2, 7 and nranks divide it).
size_t reduction_period(const DataPlan& p) { return 42 * static_cast<size_t>(p.nranks); }

}  // namespace

uint64_t exact_integer_limit(tidal_dtype_t dtype) {
  switch (dtype) {
    case TIDAL_F32: return uint64_t{1} << 24;
    case TIDAL_F64: return uint64_t{1} << 53;
    case TIDAL_I32: return (uint64_t{1} << 31) - 1;
    case TIDAL_I64: return (uint64_t{1} << 62);
    case TIDAL_U8: return 255;
    case TIDAL_F16: return 2048;
    case TIDAL_BF16: return 256;
    case TIDAL_FP8_E4M3: return 16;
    case TIDAL_FP8_E5M2: return 8;
    default: return 0;
  }
}

void encode_integer(tidal_dtype_t dtype, uint64_t v, void* out) {
  switch (dtype) {
    case TIDAL_F32: { float f = static_cast<float>(v); std::memcpy(out, &f, 4); break; }
    case TIDAL_F64: { double d = static_cast<double>(v); std::memcpy(out, &d, 8); break; }
    case TIDAL_I32: { int32_t x = static_cast<int32_t>(v); std::memcpy(out, &x, 4); break; }
    case TIDAL_I64: { int64_t x = static_cast<int64_t>(v); std::memcpy(out, &x, 8); break; }
    case TIDAL_U8: *static_cast<uint8_t*>(out) = static_cast<uint8_t>(v); break;
    case TIDAL_F16:
    case TIDAL_BF16: {
      uint16_t h = static_cast<uint16_t>(small_float_bits(float_format(dtype), v));
      std::memcpy(out, &h, 2);
      break;
    }
    case TIDAL_FP8_E4M3:
    case TIDAL_FP8_E5M2:
      *static_cast<uint8_t*>(out) = static_cast<uint8_t>(small_float_bits(float_format(dtype), v));
      break;
    default: break;
  }
}

uint64_t reduction_input(const DataPlan& p, int rank, size_t index) {
  const size_t i = index + p.seed;
  switch (p.op) {
    case TIDAL_PROD: return i % p.nranks == static_cast<size_t>(rank) ? 2 : 1;
    case TIDAL_MAX:
    case TIDAL_MIN: return (static_cast<size_t>(rank) * 5 + i) % 7;
    case TIDAL_AVG: return avg_input(p, rank, i);
    default: return sum_input(p, rank, i);
  }
}

uint64_t reduction_result(const DataPlan& p, size_t index) {
  uint64_t acc = reduction_input(p, 0, index);
  for (int r = 1; r < p.nranks; ++r) {
    const uint64_t v = reduction_input(p, r, index);
    switch (p.op) {
      case TIDAL_PROD: acc *= v; break;
      case TIDAL_MAX: acc = v > acc ? v : acc; break;
      case TIDAL_MIN: acc = v < acc ? v : acc; break;
      default: acc += v; break;
    }
  }
  return p.op == TIDAL_AVG ? acc / p.nranks : acc;
}

uint64_t copy_input(const DataPlan& p, int rank, size_t index) {
  return (static_cast<uint64_t>(rank) * 37 + index + p.seed) % copy_modulus(p.dtype);
}

void fill_reduction_input(const DataPlan& plan, int rank, size_t first, size_t count, void* out) {
  fill(plan.dtype, count, reduction_period(plan), out, [&](size_t k) { return reduction_input(plan, rank, first + k); });
}

void fill_reduction_result(const DataPlan& plan, size_t first, size_t count, void* out) {
  fill(plan.dtype, count, reduction_period(plan), out, [&](size_t k) { return reduction_result(plan, first + k); });
}

void fill_copy_input(const DataPlan& plan, int rank, size_t first, size_t count, void* out) {
  fill(plan.dtype, count, copy_modulus(plan.dtype), out, [&](size_t k) { return copy_input(plan, rank, first + k); });
}

bool corruption_requested() {
  const char* v = std::getenv("TIDAL_PERF_CORRUPT");
  return v && std::strcmp(v, "1") == 0;
}

int64_t count_wrong(const void* got, const void* want, size_t count, tidal_dtype_t dtype) {
  const size_t es = tidal_dtype_size(dtype);
  const unsigned char* g = static_cast<const unsigned char*>(got);
  const unsigned char* w = static_cast<const unsigned char*>(want);
  if (std::memcmp(g, w, count * es) == 0) return 0;
  int64_t wrong = 0;
  for (size_t k = 0; k < count; ++k) wrong += std::memcmp(g + k * es, w + k * es, es) != 0;
  return wrong;
}

}  // namespace tidal_perf
