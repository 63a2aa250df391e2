// fp8_decode_table.h — the unpack of an FP8 bucket: one pass over a table
// of runs, each decoding a stretch of one rank's encoded block (bytes plus
// block scales) into a tensor. Built once per bucket, like the copy
// tables of collectives/kernels; a large table is split across the copy
// workers by element ranges (a range may start inside a run). On device
// memory the table is uploaded once and run by one CUDA launch.
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

struct DeviceFp8Table;

class Fp8DecodeTable {
 public:
  Fp8DecodeTable() = default;
  ~Fp8DecodeTable();
  Fp8DecodeTable(Fp8DecodeTable&& other) noexcept;
  Fp8DecodeTable& operator=(Fp8DecodeTable&& other) noexcept;
  Fp8DecodeTable(const Fp8DecodeTable&) = delete;
  Fp8DecodeTable& operator=(const Fp8DecodeTable&) = delete;

  void add(const Fp8Run& run);
  // Freezes the table; on device memory uploads it (blocking). Without it
  // the table runs on the host.
  Status finalize(bool device);
  size_t runs() const { return runs_.size(); }
  size_t elements() const { return prefix_.back(); }
  // Decodes every run into value_dtype, multiplied by `post`: on the host
  // (split across the copy workers), or one launch on `stream` for a
  // device table (non-blocking).
  Status run(const Fp8Codec& codec, tidal_dtype_t value_dtype, float post,
             void* stream = nullptr) const;

 private:
  void run_range(const Fp8Codec& codec, tidal_dtype_t value_dtype, float post, size_t begin,
                 size_t end, bool streaming) const;
  std::vector<Fp8Run> runs_;
  std::vector<size_t> prefix_{0};  // prefix_[i]: elements before run i
  DeviceFp8Table* device_ = nullptr;
};

}  // namespace tidal
