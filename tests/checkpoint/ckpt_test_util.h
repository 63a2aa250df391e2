// ckpt_test_util.h — temp directories, deterministic tensor bytes and
// hand-built safetensors files for the checkpoint tests.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cstring>

#include "tidal/ckpt.h"

namespace ckpt_test {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/tidal-ckpt-test-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Byte j of the tensor with seed s: the same formula in the Python script.
inline uint8_t pattern_byte(uint64_t seed, uint64_t j) {
  return static_cast<uint8_t>((seed * 131 + j * 7 + (j >> 8) * 13) & 0xff);
}

inline std::vector<uint8_t> pattern_bytes(uint64_t seed, uint64_t n) {
  std::vector<uint8_t> v(n);
  for (uint64_t j = 0; j < n; ++j) v[j] = pattern_byte(seed, j);
  return v;
}

// An owning tensor for tests: name, dtype, shape and bytes.
struct OwnedTensor {
  std::string name;
  tidal_dtype_t dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  tidal_ckpt_tensor_t view() const {
    return tidal_ckpt_tensor_t{name.c_str(), dtype, static_cast<int>(shape.size()),
                               shape.empty() ? nullptr : shape.data(),
                               bytes.empty() ? nullptr : bytes.data()};
  }
};

inline OwnedTensor make_tensor(const std::string& name, tidal_dtype_t dtype, std::vector<int64_t> shape,
                               uint64_t seed) {
  uint64_t n = tidal_dtype_size(dtype);
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return OwnedTensor{name, dtype, std::move(shape), pattern_bytes(seed, n)};
}

inline std::vector<tidal_ckpt_tensor_t> views(const std::vector<OwnedTensor>& tensors) {
  std::vector<tidal_ckpt_tensor_t> v;
  for (const OwnedTensor& t : tensors) v.push_back(t.view());
  return v;
}

// One tensor per dtype and shape (0-d, empty, ...), seeds 1, 2, ... in
// dtype-major order: the same list as tests/checkpoint/safetensors_interop.py.
inline std::vector<OwnedTensor> every_dtype_and_shape() {
  const std::vector<std::vector<int64_t>> shapes = {{}, {0}, {3, 0, 2}, {7}, {5, 3}, {2, 3, 4}};
  std::vector<OwnedTensor> tensors;
  uint64_t seed = 1;
  for (int d = 0; d < TIDAL_DTYPE_COUNT; ++d) {
    for (const auto& shape : shapes) {
      tensors.push_back(make_tensor("t" + std::to_string(seed), static_cast<tidal_dtype_t>(d), shape, seed));
      ++seed;
    }
  }
  return tensors;
}

// Reads `path` (checksums verified) and checks every tensor's dtype, shape
// and bytes exactly, and that the file holds nothing else.
inline void expect_file_holds(const std::string& path, const std::vector<OwnedTensor>& tensors) {
  tidal_ckpt_reader_t reader = nullptr;
  ASSERT_EQ(tidal_ckpt_reader_open(path.c_str(), 1, &reader), TIDAL_SUCCESS) << tidal_last_error();
  size_t n = 0;
  tidal_ckpt_reader_num_tensors(reader, &n);
  EXPECT_EQ(n, tensors.size());
  for (const OwnedTensor& t : tensors) {
    tidal_ckpt_tensor_info_t info;
    ASSERT_EQ(tidal_ckpt_reader_find(reader, t.name.c_str(), &info), TIDAL_SUCCESS) << t.name;
    EXPECT_EQ(info.dtype, static_cast<int>(t.dtype)) << t.name;
    ASSERT_EQ(info.ndim, static_cast<int>(t.shape.size())) << t.name;
    for (int d = 0; d < info.ndim; ++d) EXPECT_EQ(info.shape[d], static_cast<uint64_t>(t.shape[d])) << t.name;
    ASSERT_EQ(info.bytes, t.bytes.size()) << t.name;
    if (!t.bytes.empty()) EXPECT_EQ(memcmp(info.data, t.bytes.data(), t.bytes.size()), 0) << t.name;
  }
  tidal_ckpt_reader_close(reader);
}

// Writes a file from the spec by hand: u64 LE length, JSON (padded with
// spaces to `pad_to`), data.
inline void write_raw_safetensors(const std::string& path, std::string json, const std::vector<uint8_t>& data,
                                  size_t pad_to = 8) {
  if (pad_to > 1) json.append((pad_to - json.size() % pad_to) % pad_to, ' ');
  std::ofstream out(path, std::ios::binary);
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out.write(json.data(), static_cast<std::streamsize>(json.size()));
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Opens with checksum verification; returns the status and, through
// *message, tidal_last_error().
inline tidal_status_t open_status(const std::string& path, std::string* message, int verify = 1) {
  tidal_ckpt_reader_t reader = nullptr;
  tidal_status_t s = tidal_ckpt_reader_open(path.c_str(), verify, &reader);
  if (message) *message = s == TIDAL_SUCCESS ? "" : tidal_last_error();
  tidal_ckpt_reader_close(reader);
  return s;
}

}  // namespace ckpt_test
