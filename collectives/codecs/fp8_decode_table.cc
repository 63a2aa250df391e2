#include "collectives/codecs/fp8_decode_table.h"

#include <algorithm>
#include <utility>

#include "collectives/kernels/cpu/pack_kernel.h"
#include "lib/core/dtype.h"
#include "lib/core/parallel.h"
#include "tidal/version.h"

#if TIDAL_HAVE_CUDA
#include "collectives/codecs/cuda/fp8_codec_cuda.h"
#endif

namespace tidal {

Fp8DecodeTable::~Fp8DecodeTable() {
#if TIDAL_HAVE_CUDA
  cuda_free_fp8_table(device_);
#endif
}

Fp8DecodeTable::Fp8DecodeTable(Fp8DecodeTable&& other) noexcept { *this = std::move(other); }

Fp8DecodeTable& Fp8DecodeTable::operator=(Fp8DecodeTable&& other) noexcept {
  if (this != &other) {
    std::swap(runs_, other.runs_);
    std::swap(prefix_, other.prefix_);
    std::swap(device_, other.device_);
  }
  return *this;
}

Status Fp8DecodeTable::finalize(bool device) {
  if (!device) return Status();
#if TIDAL_HAVE_CUDA
  return cuda_upload_fp8_table(runs_.data(), runs_.size(), &device_);
#else
  return Status(TIDAL_ERR_UNSUPPORTED, "device FP8 decode table in a build without CUDA");
#endif
}

void Fp8DecodeTable::add(const Fp8Run& run) {
  runs_.push_back(run);
  prefix_.push_back(prefix_.back() + run.count);
}

void Fp8DecodeTable::run_range(const Fp8Codec& codec, tidal_dtype_t value_dtype, float post,
                               size_t begin, size_t end, bool streaming) const {
  const size_t es = dtype_size(value_dtype);
  // The run holding `begin`: the last run whose prefix is <= begin.
  size_t d = static_cast<size_t>(std::upper_bound(prefix_.begin(), prefix_.end(), begin) -
                                 prefix_.begin()) - 1;
  for (size_t pos = begin; pos < end && d < runs_.size(); ++d) {
    const Fp8Run& r = runs_[d];
    const size_t lo = pos - prefix_[d], hi = std::min(end, prefix_[d + 1]) - prefix_[d];
    if (hi > lo) {
      // Serial: the table is what is split across the workers.
      fp8_decode_serial(codec, r.stream, r.scales, r.first + lo, hi - lo,
                        static_cast<char*>(r.dst) + lo * es, value_dtype, post, streaming);
    }
    pos = prefix_[d + 1];
  }
}

Status Fp8DecodeTable::run(const Fp8Codec& codec, tidal_dtype_t value_dtype, float post,
                           void* stream) const {
  if (device_) {
#if TIDAL_HAVE_CUDA
    return cuda_run_fp8_table(device_, codec, value_dtype, post, stream);
#endif
  }
  (void)stream;
  const size_t total = elements();
  // A bucket much larger than the caches will not stay there: stream it.
  const bool streaming = total * dtype_size(value_dtype) >= kStreamingCopyBytes;
  const size_t parts = std::min(parallel_width(), total / (kFp8ParallelElements / 2));
  if (parts <= 1) {
    run_range(codec, value_dtype, post, 0, total, streaming);
    return Status();
  }
  const size_t step = (total / parts + 63) / 64 * 64;
  run_parallel(parts, [&](size_t p) {
    const size_t lo = std::min(total, p * step);
    const size_t hi = p + 1 == parts ? total : std::min(total, lo + step);
    if (lo < hi) run_range(codec, value_dtype, post, lo, hi, streaming);
  });
  return Status();
}

}  // namespace tidal
