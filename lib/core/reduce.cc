#include "lib/core/reduce.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "lib/core/bf16_avx512.h"
#include "lib/core/dtype.h"
#include "lib/core/f16_f16c.h"
#include "lib/core/reduce_op.h"

namespace tidal {
namespace {

// Element traits: how to load a value for arithmetic and store it back.
// Narrow floats decode by table; a loop fetches table() once and passes it
// to every load (a function-local static's guard per element cost the FP8
// folds half their time).
template <typename T>
struct Plain {
  using Storage = T;
  using Math = T;
  static const float* table() { return nullptr; }
  static Math load(const float*, Storage v) { return v; }
  static Storage store(Math v) { return v; }
};
// Decoding narrow floats by table: one load instead of bit surgery.
template <int N, float (*Decode)(uint16_t)>
struct DecodeTable {
  float value[N];
  DecodeTable() {
    for (int i = 0; i < N; ++i) value[i] = Decode(static_cast<uint16_t>(i));
  }
};
float decode_f16(uint16_t v) { return f16_to_float(v); }
float decode_e4m3(uint16_t v) { return e4m3_to_float(static_cast<uint8_t>(v)); }
float decode_e5m2(uint16_t v) { return e5m2_to_float(static_cast<uint8_t>(v)); }
const DecodeTable<65536, decode_f16>& f16_table() {
  static const auto* t = new DecodeTable<65536, decode_f16>;
  return *t;
}
const DecodeTable<256, decode_e4m3>& e4m3_table() {
  static const DecodeTable<256, decode_e4m3> t;
  return t;
}
const DecodeTable<256, decode_e5m2>& e5m2_table() {
  static const DecodeTable<256, decode_e5m2> t;
  return t;
}

struct F16 {
  using Storage = uint16_t;
  using Math = float;
  static const float* table() { return f16_table().value; }
  static Math load(const float* t, Storage v) { return t[v]; }
  static Storage store(Math v) { return float_to_f16(v); }
};
struct BF16 {
  using Storage = uint16_t;
  using Math = float;
  static const float* table() { return nullptr; }
  static Math load(const float*, Storage v) { return bf16_to_float(v); }
  static Storage store(Math v) { return float_to_bf16(v); }
};
struct E4M3 {
  using Storage = uint8_t;
  using Math = float;
  static const float* table() { return e4m3_table().value; }
  static Math load(const float* t, Storage v) { return t[v]; }
  static Storage store(Math v) { return float_to_e4m3(v); }
};
struct E5M2 {
  using Storage = uint8_t;
  using Math = float;
  static const float* table() { return e5m2_table().value; }
  static Math load(const float* t, Storage v) { return t[v]; }
  static Storage store(Math v) { return float_to_e5m2(v); }
};

template <typename Tr, tidal_op_t Op>
void fold_to_loop(typename Tr::Storage* out, const typename Tr::Storage* a,
                  const typename Tr::Storage* b, size_t count) {
  const float* t = Tr::table();
  for (size_t i = 0; i < count; ++i) {
    out[i] = Tr::store(apply_op<typename Tr::Math>(Tr::load(t, a[i]), Tr::load(t, b[i]), Op));
  }
}

template <typename Tr>
void fold_to(void* out, const void* a, const void* b, size_t count, tidal_op_t op) {
  using S = typename Tr::Storage;
  auto* o = static_cast<S*>(out);
  auto* x = static_cast<const S*>(a);
  auto* y = static_cast<const S*>(b);
  // One loop per op so the compiler vectorises the plain types.
  with_op(op, [&](auto o_) { fold_to_loop<Tr, decltype(o_)::value>(o, x, y, count); });
}

template <typename Tr>
void divide(void* buf, size_t count, int divisor) {
  auto* p = static_cast<typename Tr::Storage*>(buf);
  using M = typename Tr::Math;
  const float* t = Tr::table();
  for (size_t i = 0; i < count; ++i) {
    p[i] = Tr::store(static_cast<M>(Tr::load(t, p[i]) / static_cast<M>(divisor)));
  }
}

}  // namespace

void reduce_into(void* acc, const void* in, size_t count, tidal_dtype_t dtype,
                 tidal_op_t op) {
  reduce_to(acc, acc, in, count, dtype, op);  // out may alias a exactly
}

void reduce_to(void* out, const void* a, const void* b, size_t count, tidal_dtype_t dtype,
               tidal_op_t op) {
  if (dtype == TIDAL_BF16 && have_avx512_bf16()) {
    bf16_fold_avx512(static_cast<uint16_t*>(out), static_cast<const uint16_t*>(a),
                     static_cast<const uint16_t*>(b), count, op);
    return;
  }
  if (dtype == TIDAL_F16 && have_f16c()) {
    f16_fold_f16c(static_cast<uint16_t*>(out), static_cast<const uint16_t*>(a),
                  static_cast<const uint16_t*>(b), count, op);
    return;
  }
  if ((dtype == TIDAL_FP8_E4M3 || dtype == TIDAL_FP8_E5M2) && have_f16c()) {
    fp8_fold_f16c(static_cast<uint8_t*>(out), static_cast<const uint8_t*>(a),
                  static_cast<const uint8_t*>(b), count, dtype, op);
    return;
  }
  switch (dtype) {
    case TIDAL_F32: fold_to<Plain<float>>(out, a, b, count, op); break;
    case TIDAL_F64: fold_to<Plain<double>>(out, a, b, count, op); break;
    case TIDAL_I32: fold_to<Plain<int32_t>>(out, a, b, count, op); break;
    case TIDAL_I64: fold_to<Plain<int64_t>>(out, a, b, count, op); break;
    case TIDAL_U8: fold_to<Plain<uint8_t>>(out, a, b, count, op); break;
    case TIDAL_F16: fold_to<F16>(out, a, b, count, op); break;
    case TIDAL_BF16: fold_to<BF16>(out, a, b, count, op); break;
    case TIDAL_FP8_E4M3: fold_to<E4M3>(out, a, b, count, op); break;
    case TIDAL_FP8_E5M2: fold_to<E5M2>(out, a, b, count, op); break;
    default: break;
  }
}

void divide_by(void* buf, size_t count, tidal_dtype_t dtype, int divisor) {
  if (dtype == TIDAL_BF16 && have_avx512_bf16()) {
    bf16_divide_avx512(static_cast<uint16_t*>(buf), count, divisor);
    return;
  }
  if (dtype == TIDAL_F16 && have_f16c()) {
    f16_divide_f16c(static_cast<uint16_t*>(buf), count, divisor);
    return;
  }
  if ((dtype == TIDAL_FP8_E4M3 || dtype == TIDAL_FP8_E5M2) && have_f16c()) {
    fp8_divide_f16c(static_cast<uint8_t*>(buf), count, dtype, divisor);
    return;
  }
  switch (dtype) {
    case TIDAL_F32: divide<Plain<float>>(buf, count, divisor); break;
    case TIDAL_F64: divide<Plain<double>>(buf, count, divisor); break;
    case TIDAL_I32: divide<Plain<int32_t>>(buf, count, divisor); break;
    case TIDAL_I64: divide<Plain<int64_t>>(buf, count, divisor); break;
    case TIDAL_U8: divide<Plain<uint8_t>>(buf, count, divisor); break;
    case TIDAL_F16: divide<F16>(buf, count, divisor); break;
    case TIDAL_BF16: divide<BF16>(buf, count, divisor); break;
    case TIDAL_FP8_E4M3: divide<E4M3>(buf, count, divisor); break;
    case TIDAL_FP8_E5M2: divide<E5M2>(buf, count, divisor); break;
    default: break;
  }
}

void reduce_many(void* out, const void* const* in, int n, size_t count,
                 tidal_dtype_t dtype, tidal_op_t op) {
  const size_t esize = dtype_size(dtype);
  // Work in cache-sized blocks so the accumulator stays hot.
  const size_t block = std::max<size_t>(1, (size_t(32) << 10) / esize);
  auto* dst = static_cast<unsigned char*>(out);
  for (size_t start = 0; start < count; start += block) {
    size_t len = std::min(block, count - start);
    size_t off = start * esize;
    if (dst + off != static_cast<const unsigned char*>(in[0]) + off) {
      std::memcpy(dst + off, static_cast<const unsigned char*>(in[0]) + off, len * esize);
    }
    for (int k = 1; k < n; ++k) {
      reduce_into(dst + off, static_cast<const unsigned char*>(in[k]) + off, len, dtype, op);
    }
    if (op == TIDAL_AVG) divide_by(dst + off, len, dtype, n);
  }
}

}  // namespace tidal
