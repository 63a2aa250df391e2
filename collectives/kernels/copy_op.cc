#include "collectives/kernels/copy_op.h"

#include <fmt/format.h>

namespace tidal {
namespace {
bool scalable(tidal_dtype_t d) {
  return d == TIDAL_F32 || d == TIDAL_F64 || d == TIDAL_F16 || d == TIDAL_BF16;
}
bool half(tidal_dtype_t d) { return d == TIDAL_F16 || d == TIDAL_BF16; }
}  // namespace

Status check_copy_op(const CopyOp& op) {
  if (op.src_dtype == op.dst_dtype) {
    if (op.scale == 1.0f || scalable(op.src_dtype)) return Status();
    return Status(TIDAL_ERR_UNSUPPORTED,
                  fmt::format("scaling {} data is not supported", tidal_dtype_name(op.src_dtype)));
  }
  const bool cast_ok = (op.src_dtype == TIDAL_F32 && half(op.dst_dtype)) ||
                       (half(op.src_dtype) && op.dst_dtype == TIDAL_F32);
  if (cast_ok) return Status();
  return Status(TIDAL_ERR_UNSUPPORTED,
                fmt::format("casting {} to {} is not supported (f32 <-> bf16/f16 only)",
                            tidal_dtype_name(op.src_dtype), tidal_dtype_name(op.dst_dtype)));
}

}  // namespace tidal
