// copy_op.h — the descriptor table that drives the fused pack/unpack
// kernels, and the element operation fused into the copy (scale, cast).
//
// A table is a list of (src, dst, count) runs; one kernel pass runs them
// all. Every run of one table shares the operation: src elements of
// `src_dtype` are multiplied by `scale` and written as `dst_dtype`.
#pragma once

#include <cstddef>

#include "lib/core/status.h"
#include "tidal/tidal.h"

namespace tidal {

struct CopyDesc {
  const void* src;
  void* dst;
  size_t count;  // elements
};

struct CopyOp {
  tidal_dtype_t src_dtype = TIDAL_F32;
  tidal_dtype_t dst_dtype = TIDAL_F32;
  float scale = 1.0f;

  bool plain() const { return src_dtype == dst_dtype && scale == 1.0f; }
};

// OK when the kernels implement `op`: any plain copy; scaling of f32, f64,
// f16 and bf16; casts between f32 and bf16 or f16 (with or without scale).
Status check_copy_op(const CopyOp& op);

}  // namespace tidal
