// fp8_decode_table.h — the unpack of an FP8 bucket: one pass over a table
// of runs, each decoding a stretch of one rank's encoded block (bytes plus
// block scales) into a tensor. Built once per bucket, like the copy
// tables of collectives/kernels; a large table is split across the copy
// workers by element ranges (a range may start inside a run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "collectives/codecs/fp8_codec.h"

namespace tidal {

struct Fp8Run {
  const uint8_t* stream;  // a rank's encoded block: element k at stream[k]
  const float* scales;    // ... and its scales: element k uses scales[k / block]
  size_t first;           // the run's first element within the block
  void* dst;              // count values of the table's value dtype
  size_t count;
};

class Fp8DecodeTable {
 public:
  void add(const Fp8Run& run);
  size_t runs() const { return runs_.size(); }
  size_t elements() const { return prefix_.back(); }
  // Decodes every run into value_dtype, multiplied by `post`.
  void run(const Fp8Codec& codec, tidal_dtype_t value_dtype, float post) const;

 private:
  void run_range(const Fp8Codec& codec, tidal_dtype_t value_dtype, float post, size_t begin,
                 size_t end, bool streaming) const;
  std::vector<Fp8Run> runs_;
  std::vector<size_t> prefix_{0};  // prefix_[i]: elements before run i
};

}  // namespace tidal
