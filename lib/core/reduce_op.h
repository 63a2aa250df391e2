// reduce_op.h — one element of a reduction: a (op) b, as every fold of
// lib/core/reduce.cc computes it (the portable loops, and the scalar
// tails of the vector kernels in bf16_avx512.cc and f16_f16c.cc, so all
// of them agree bit for bit).
#pragma once

#include <type_traits>

#include "tidal/tidal.h"

namespace tidal {

// Signed integers sum and multiply modulo 2^bits, as MPI and NCCL do on
// two's-complement machines: computed unsigned, so an overflow in the
// user's data wraps instead of being undefined behaviour.
template <typename M>
inline M wrap_add(M a, M b) {
  if constexpr (std::is_integral<M>::value && std::is_signed<M>::value) {
    using U = std::make_unsigned_t<M>;
    return static_cast<M>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return static_cast<M>(a + b);
  }
}
template <typename M>
inline M wrap_mul(M a, M b) {
  if constexpr (std::is_integral<M>::value && std::is_signed<M>::value) {
    using U = std::make_unsigned_t<M>;
    return static_cast<M>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
  } else {
    return static_cast<M>(a * b);
  }
}

template <typename M>
inline M apply_op(M a, M b, tidal_op_t op) {
  switch (op) {
    case TIDAL_PROD: return wrap_mul(a, b);
    case TIDAL_MAX: return a < b ? b : a;
    case TIDAL_MIN: return b < a ? b : a;
    default: return wrap_add(a, b);  // SUM, AVG
  }
}

// Calls f(std::integral_constant<tidal_op_t, OP>()) for `op` (AVG as SUM):
// one instantiation of a loop per op, so each vectorises on its own.
template <typename F>
inline void with_op(tidal_op_t op, F&& f) {
  switch (op) {
    case TIDAL_PROD: f(std::integral_constant<tidal_op_t, TIDAL_PROD>()); break;
    case TIDAL_MAX: f(std::integral_constant<tidal_op_t, TIDAL_MAX>()); break;
    case TIDAL_MIN: f(std::integral_constant<tidal_op_t, TIDAL_MIN>()); break;
    default: f(std::integral_constant<tidal_op_t, TIDAL_SUM>()); break;
  }
}

}  // namespace tidal
