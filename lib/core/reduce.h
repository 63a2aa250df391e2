// reduce.h — elementwise reduction kernels on host memory, used by the
// local transport, the MPI user ops and the schedules.
//
// Every reduction is a left fold in a fixed order, rounding to the element
// type after each step (what a ring or a tree does hop by hop), so a fixed
// order gives bitwise reproducible results. bf16 and f16 run on the CPU's
// conversion instructions where it has them (lib/core/bf16_avx512.h,
// f16_f16c.h), with the same bits as the portable loops — except that when
// both operands are NaN, which NaN the result keeps is not specified.
#pragma once

#include <cstddef>

#include "tidal/tidal.h"

namespace tidal {

// acc[i] = acc[i] (op) in[i] for i < count. TIDAL_AVG reduces as TIDAL_SUM;
// finish it with divide_by().
void reduce_into(void* acc, const void* in, size_t count, tidal_dtype_t dtype,
                 tidal_op_t op);

// out[i] = a[i] (op) b[i] for i < count, in one pass: a fold that writes
// somewhere else than its accumulator (the schedules' first fold of a block
// reads the input and writes scratch or output, with no copy before it).
// out may alias a or b exactly (then it is reduce_into), not partially.
// TIDAL_AVG reduces as TIDAL_SUM.
void reduce_to(void* out, const void* a, const void* b, size_t count, tidal_dtype_t dtype,
               tidal_op_t op);

// out[i] = in[0][i] (op) in[1][i] (op) ... (op) in[n-1][i], in that order;
// out may alias in[0] (and only in[0]). For TIDAL_AVG also divides by n.
void reduce_many(void* out, const void* const* in, int n, size_t count,
                 tidal_dtype_t dtype, tidal_op_t op);

// buf[i] /= divisor (integer types truncate toward zero).
void divide_by(void* buf, size_t count, tidal_dtype_t dtype, int divisor);

}  // namespace tidal
