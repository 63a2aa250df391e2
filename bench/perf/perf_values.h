// perf_values.h — the data the perf tools move and check. Every element is
// a small non-negative integer chosen so that each reduction, folded in any
// order and rounded to the element type after every step, is exact; the
// expected result is then known bit for bit and checking is an exact
// comparison (nccl-tests checks the same way).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tidal/tidal.h"

namespace tidal_perf {

// Every integer in [0, limit] is exactly representable in dtype.
uint64_t exact_integer_limit(tidal_dtype_t dtype);

// Writes the integer v (<= exact_integer_limit) in dtype's encoding.
void encode_integer(tidal_dtype_t dtype, uint64_t v, void* out);

// Who produces data and how it is reduced: enough to know every rank's
// input and every expected element.
struct DataPlan {
  tidal_dtype_t dtype = TIDAL_F32;
  tidal_op_t op = TIDAL_SUM;
  int nranks = 1;
  uint64_t seed = 0;  // shifts the pattern between checks
};

// Element `index` of `rank`'s input to a reduction.
uint64_t reduction_input(const DataPlan& plan, int rank, size_t index);
// The reduction over all ranks of element `index`.
uint64_t reduction_result(const DataPlan& plan, size_t index);
// Element `index` of `rank`'s input to a data-movement collective
// (distinct ranks give distinct sequences as far as the type allows).
uint64_t copy_input(const DataPlan& plan, int rank, size_t index);

// Fills count elements: out[k] = reduction_input(plan, rank, first + k).
void fill_reduction_input(const DataPlan& plan, int rank, size_t first, size_t count, void* out);
void fill_reduction_result(const DataPlan& plan, size_t first, size_t count, void* out);
void fill_copy_input(const DataPlan& plan, int rank, size_t first, size_t count, void* out);

// Test-only fault injection: TIDAL_PERF_CORRUPT=1 makes the harness
// corrupt one element of rank 0's result before checking it, to prove the
// check reports wrong data (tests/perf uses it).
bool corruption_requested();

// Elements of `got` that differ bitwise from `want`.
int64_t count_wrong(const void* got, const void* want, size_t count, tidal_dtype_t dtype);

}  // namespace tidal_perf
