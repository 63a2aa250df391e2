// safetensors_reader.h — a memory-mapped safetensors file: the header is
// validated in full before any tensor byte is read, tensors are zero-copy
// views into the mapping, and tidal's per-tensor xxHash3 checksums are
// verified on request. Reads any spec-conforming file, not only tidal's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "lib/checkpoint/safetensors_header.h"
#include "lib/core/status.h"

namespace tidal {
namespace ckpt {

class SafetensorsReader {
 public:
  ~SafetensorsReader();
  SafetensorsReader(const SafetensorsReader&) = delete;
  SafetensorsReader& operator=(const SafetensorsReader&) = delete;

  // Maps `path` read-only and validates its header. TIDAL_ERR_IO when the
  // file cannot be opened or mapped, TIDAL_ERR_CORRUPT when the header is
  // invalid. The file must not be truncated while the reader lives.
  static Status open(const std::string& path, std::unique_ptr<SafetensorsReader>* out);
  // The same over `size` bytes the caller owns and keeps alive.
  static Status open_memory(const uint8_t* bytes, uint64_t size,
                            std::unique_ptr<SafetensorsReader>* out);

  const Header& header() const { return header_; }
  const std::string& path() const { return path_; }
  uint64_t file_size() const { return size_; }
  // nullptr when no tensor has that name.
  const TensorEntry* find(const std::string& name) const;
  // The tensor's bytes inside the mapping (valid while the reader lives).
  const uint8_t* data(const TensorEntry& tensor) const {
    return bytes_ + header_.data_start + tensor.begin;
  }

  // True when the file carries tidal checksums.
  bool has_checksums() const { return !checksums_.empty(); }
  // The step tidal recorded, or -1.
  int64_t step() const { return step_; }
  // Hashes the tensor and compares with the recorded checksum; TIDAL_ERR_CORRUPT
  // naming the tensor on a mismatch. OK when the file has no checksums.
  Status verify_tensor(const TensorEntry& tensor) const;
  // verify_tensor over every tensor; the first failure.
  Status verify_all() const;

 private:
  SafetensorsReader() = default;
  Status load_header();
  Status load_tidal_metadata();

  std::string path_;
  const uint8_t* bytes_ = nullptr;
  uint64_t size_ = 0;
  void* mapping_ = nullptr;  // owned mmap, or nullptr for borrowed memory
  uint64_t mapping_size_ = 0;
  Header header_;
  std::unordered_map<std::string, size_t> index_;
  std::unordered_map<std::string, uint64_t> checksums_;
  int64_t step_ = -1;
};

// xxHash3-64 of `size` bytes: the checksum tidal records per tensor.
uint64_t tensor_checksum(const void* data, uint64_t size);

}  // namespace ckpt
}  // namespace tidal
