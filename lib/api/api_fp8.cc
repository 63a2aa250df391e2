// api_fp8.cc — C shims for the block-scaled FP8 codec.
#include <fmt/format.h>

#include "collectives/codecs/fp8_codec.h"
#include "lib/api/handles.h"
#include "lib/core/memory_kind.h"
#include "lib/core/options_struct.h"
#include "tidal/fp8.h"

using tidal::Status;
using tidal::api::report;

namespace {

Status resolve_codec(const tidal_fp8_codec_t* user, tidal::Fp8Codec* out) {
  tidal_fp8_codec_t c;
  TIDAL_RETURN_IF_ERROR(tidal::read_options(user, tidal_fp8_codec_t(TIDAL_FP8_CODEC_INITIALIZER),
                                            "TIDAL_FP8_CODEC_INITIALIZER", &c));
  if (c.pow2_scales != 0 && c.pow2_scales != 1) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("pow2_scales must be 0 or 1, not {}", c.pow2_scales));
  }
  out->format = c.format;
  out->block = c.block;
  out->pow2_scales = c.pow2_scales == 1;
  return Status();
}

// Checks the codec, the value dtype and the buffers of one call.
Status check_call(const char* fn, const tidal_fp8_codec_t* user, tidal_dtype_t value_dtype,
                  size_t count, std::initializer_list<std::pair<const void*, const char*>> bufs,
                  tidal::Fp8Codec* codec) {
  TIDAL_RETURN_IF_ERROR(resolve_codec(user, codec).with_context(fn));
  TIDAL_RETURN_IF_ERROR(tidal::check_fp8_codec(*codec, value_dtype).with_context(fn));
  if (count == 0) return Status();
  for (const auto& b : bufs) {
    if (!b.first) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("{}: {} is NULL", fn, b.second));
    }
    if (tidal::pointer_kind(b.first) == tidal::PointerKind::kDevice) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("{}: {} is device memory; the FP8 codec runs on host memory",
                                fn, b.second));
    }
  }
  return Status();
}

}  // namespace

extern "C" {

size_t tidal_fp8_scale_count(size_t count, size_t block) {
  return tidal::fp8_scale_count(count, block);
}

tidal_status_t tidal_fp8_encode(const tidal_fp8_codec_t* codec, const void* src,
                                tidal_dtype_t src_dtype, size_t count, uint8_t* dst,
                                float* scales) try {
  tidal::Fp8Codec c;
  Status s = check_call("tidal_fp8_encode", codec, src_dtype, count,
                        {{src, "src"}, {dst, "dst"}, {scales, "scales"}}, &c);
  if (!s.ok()) return report(s);
  if (count) tidal::fp8_encode(c, src, src_dtype, count, dst, scales);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_fp8_encode");
}

tidal_status_t tidal_fp8_decode(const tidal_fp8_codec_t* codec, const uint8_t* src,
                                const float* scales, size_t count, void* dst,
                                tidal_dtype_t dst_dtype) try {
  tidal::Fp8Codec c;
  Status s = check_call("tidal_fp8_decode", codec, dst_dtype, count,
                        {{src, "src"}, {scales, "scales"}, {dst, "dst"}}, &c);
  if (!s.ok()) return report(s);
  if (count) tidal::fp8_decode(c, src, scales, 0, count, dst, dst_dtype);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_fp8_decode");
}

}  // extern "C"
