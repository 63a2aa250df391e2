#include "collectives/codecs/fp8_decode_table.h"

#include <algorithm>

#include "collectives/kernels/cpu/pack_kernel.h"
#include "lib/core/dtype.h"
#include "lib/core/parallel.h"

namespace tidal {

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

void Fp8DecodeTable::run(const Fp8Codec& codec, tidal_dtype_t value_dtype, float post) const {
  const size_t total = elements();
  // A bucket much larger than the caches will not stay there: stream it.
  const bool streaming = total * dtype_size(value_dtype) >= kStreamingCopyBytes;
  const size_t parts = std::min(parallel_width(), total / (kFp8ParallelElements / 2));
  if (parts <= 1) {
    run_range(codec, value_dtype, post, 0, total, streaming);
    return;
  }
  const size_t step = (total / parts + 63) / 64 * 64;
  run_parallel(parts, [&](size_t p) {
    const size_t lo = std::min(total, p * step);
    const size_t hi = p + 1 == parts ? total : std::min(total, lo + step);
    if (lo < hi) run_range(codec, value_dtype, post, lo, hi, streaming);
  });
}

}  // namespace tidal
