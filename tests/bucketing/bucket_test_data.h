// bucket_test_data.h — the tensor lists, inputs and per-tensor references
// the bucketing suites share. Inputs are small integers (plus, for cast
// cases, a fraction that bf16 rounding must drop), so every reduction is
// exact in any order and a bucketed result must equal the per-tensor
// reference bit for bit on any transport.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/core/dtype.h"
#include "tidal/bucket.h"
#include "tidal/tidal.h"

namespace tidal_testing {

// One configuration of a bucketed collective.
struct ListCase {
  const char* name;
  tidal_dtype_t dtype;  // storage dtype (f32, or mixed f32/bf16 when mixed)
  int comm_dtype;       // -1 or TIDAL_BF16
  float pre = 1.0f, post = 1.0f;
  int zero_copy = 0;
  tidal_op_t op = TIDAL_SUM;
  int order = TIDAL_BUCKET_ORDER_FORWARD;
  bool mixed = false;  // every third tensor is bf16
};

// 20 tensors from 1 element to 30000: splits, tiny tensors, padding.
inline std::vector<size_t> test_counts() {
  return {1, 3, 17, 100, 5, 1000, 4099, 64, 20000, 7, 333, 12000, 2, 1, 2500, 640, 9, 30000,
          11, 4};
}

inline tidal_dtype_t dtype_of(const ListCase& c, size_t t) {
  return c.mixed && t % 3 == 0 ? TIDAL_BF16 : c.dtype;
}

// A rank's input for element e of tensor t at step `step`: 1..4 (+ a
// fraction below half a bf16 ulp when the case casts f32 to bf16).
inline float grad_value(const ListCase& c, int rank, size_t t, size_t e, int step) {
  float v = static_cast<float>(1 + (rank + 3 * t + e + step) % 4);
  return c.comm_dtype == TIDAL_BF16 && dtype_of(c, t) == TIDAL_F32 ? v + 1.0f / 512 : v;
}

// A parameter value (the same on every rank).
inline float param_value(const ListCase& c, size_t t, size_t e) {
  float v = static_cast<float>(1 + (5 * t + e) % 7);
  return c.comm_dtype == TIDAL_BF16 && dtype_of(c, t) == TIDAL_F32 ? v + 1.0f / 512 : v;
}

inline void store(tidal_dtype_t d, void* base, size_t i, float v) {
  if (d == TIDAL_F32) {
    std::memcpy(static_cast<char*>(base) + 4 * i, &v, 4);
  } else {
    uint16_t h = tidal::float_to_bf16(v);
    std::memcpy(static_cast<char*>(base) + 2 * i, &h, 2);
  }
}

inline float load(tidal_dtype_t d, const void* base, size_t i) {
  if (d == TIDAL_F32) {
    float v;
    std::memcpy(&v, static_cast<const char*>(base) + 4 * i, 4);
    return v;
  }
  uint16_t h;
  std::memcpy(&h, static_cast<const char*>(base) + 2 * i, 2);
  return tidal::bf16_to_float(h);
}

// The dtype tensor t travels in.
inline tidal_dtype_t comm_dtype_of(const ListCase& c, size_t t) {
  tidal_dtype_t d = dtype_of(c, t);
  return d == TIDAL_F32 && c.comm_dtype >= 0 ? static_cast<tidal_dtype_t>(c.comm_dtype) : d;
}

// Host tensors of one rank (or, zero-copy, pointers into the list).
struct TensorSet {
  std::vector<std::vector<unsigned char>> storage;
  std::vector<tidal_tensor_desc_t> descs;

  TensorSet(const ListCase& c, const std::vector<size_t>& counts) {
    storage.resize(counts.size());
    for (size_t t = 0; t < counts.size(); ++t) {
      tidal_dtype_t d = dtype_of(c, t);
      storage[t].assign(counts[t] * tidal_dtype_size(d) + 8, 0xCD);
      descs.push_back(tidal_tensor_desc_t{storage[t].data(), counts[t], d});
    }
  }
  // Zero-copy lists own the memory: point the descriptors there.
  void bind(tidal_tensor_list_t list) {
    for (size_t t = 0; t < descs.size(); ++t) {
      ASSERT_EQ(tidal_tensor_list_data(list, t, &descs[t].data), TIDAL_SUCCESS);
    }
  }
  void* data(size_t t) const { return descs[t].data; }
};

inline tidal_tensor_list_t make_list(tidal_comm_t comm, const ListCase& c, TensorSet* set,
                                     size_t bucket_bytes = 32 << 10) {
  tidal_bucket_options_t o = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  o.bucket_bytes = bucket_bytes;
  o.first_bucket_bytes = 4 << 10;
  o.order = c.order;
  o.comm_dtype = c.comm_dtype;
  o.zero_copy = c.zero_copy;
  tidal_tensor_list_t list = nullptr;
  EXPECT_EQ(tidal_tensor_list_create(comm, set->descs.data(), set->descs.size(), &o, &list),
            TIDAL_SUCCESS)
      << c.name << ": " << tidal_last_error();
  if (list && c.zero_copy) set->bind(list);
  return list;
}

// Per-tensor reference (the naive path): tensor t's inputs, pre-scaled and
// cast to the comm dtype, all-reduced on their own, post-scaled and cast
// back. `input(t, e)` gives this rank's float input. Returns, per tensor,
// the expected bytes in the storage dtype.
template <typename Input>
std::vector<std::vector<unsigned char>> per_tensor_reference(tidal_comm_t comm, const ListCase& c,
                                                             const std::vector<size_t>& counts,
                                                             Input input) {
  std::vector<std::vector<unsigned char>> out(counts.size());
  for (size_t t = 0; t < counts.size(); ++t) {
    const tidal_dtype_t sd = dtype_of(c, t), cd = comm_dtype_of(c, t);
    std::vector<unsigned char> buf(counts[t] * tidal_dtype_size(cd));
    for (size_t e = 0; e < counts[t]; ++e) {
      unsigned char one[4];
      store(sd, one, 0, input(t, e));  // round to the storage dtype first
      store(cd, buf.data(), e, load(sd, one, 0) * c.pre);
    }
    EXPECT_EQ(tidal_all_reduce(buf.data(), buf.data(), counts[t], cd, c.op, comm, nullptr),
              TIDAL_SUCCESS)
        << tidal_last_error();
    out[t].resize(counts[t] * tidal_dtype_size(sd));
    for (size_t e = 0; e < counts[t]; ++e) store(sd, out[t].data(), e, load(cd, buf.data(), e) * c.post);
  }
  return out;
}

// The runs of `tensor` this rank owns (tidal_tensor_list_shard_segments).
inline std::vector<tidal_shard_segment_t> shard_segments_of(tidal_tensor_list_t list,
                                                            size_t tensor) {
  size_t n = 0;
  EXPECT_EQ(tidal_tensor_list_shard_segments(list, tensor, nullptr, 0, &n), TIDAL_SUCCESS);
  std::vector<tidal_shard_segment_t> segs(n);
  EXPECT_EQ(tidal_tensor_list_shard_segments(list, tensor, segs.data(), n, &n), TIDAL_SUCCESS);
  return segs;
}

// Writes into `shard` this rank's runs of tensors [0, tensors): element e
// of tensor t is value(t, e), stored as dtype(t).
template <typename Dtype, typename Value>
void write_owned_values(tidal_tensor_list_t list, size_t tensors, Dtype dtype, Value value,
                        unsigned char* shard) {
  for (size_t t = 0; t < tensors; ++t) {
    for (const auto& s : shard_segments_of(list, t)) {
      for (size_t i = 0; i < s.count; ++i) {
        store(dtype(t), shard + s.shard_offset, i, value(t, s.tensor_offset + i));
      }
    }
  }
}

// The shard bytes this rank owns must equal the reference, run by run.
inline void expect_shard_matches(tidal_tensor_list_t list, const ListCase& c, const void* shard,
                                 const std::vector<std::vector<unsigned char>>& want,
                                 const char* what) {
  for (size_t t = 0; t < want.size(); ++t) {
    const size_t es = tidal_dtype_size(dtype_of(c, t));
    for (const auto& s : shard_segments_of(list, t)) {
      if (std::memcmp(static_cast<const char*>(shard) + s.shard_offset,
                      want[t].data() + s.tensor_offset * es, s.count * es) != 0) {
        ADD_FAILURE() << c.name << " " << what << ": tensor " << t << " elements ["
                      << s.tensor_offset << ", " << s.tensor_offset + s.count
                      << ") differ from the per-tensor reference";
        return;
      }
    }
  }
}

inline size_t shard_bytes_of(tidal_tensor_list_t list) {
  size_t b = 0;
  EXPECT_EQ(tidal_tensor_list_shard_bytes(list, &b), TIDAL_SUCCESS);
  return b;
}

inline size_t num_buckets(tidal_tensor_list_t list) {
  size_t n = 0;
  EXPECT_EQ(tidal_tensor_list_num_buckets(list, &n), TIDAL_SUCCESS);
  return n;
}

// Whether `comm` runs plain buckets direct (tensor_list.h): the local
// backend with config.direct_buckets on (the default).
inline bool runs_direct_buckets(tidal_comm_t comm) {
  const char* backend = "";
  tidal_comm_backend(comm, &backend);
  tidal_config_t cfg = TIDAL_CONFIG_INITIALIZER;
  tidal_comm_get_config(comm, &cfg);
  return std::string(backend) == "local" && cfg.direct_buckets == 1;
}

// How many of the list's buckets a bucketed reduce-scatter (gather =
// false) or all-gather of case `c` runs direct on `comm`: plain buckets
// (no cast; no pre-scale; an all-gather no post-scale either; not
// zero-copy) on a backend that runs direct buckets.
inline size_t expected_direct(tidal_comm_t comm, tidal_tensor_list_t list, const ListCase& c,
                              bool gather) {
  if (!runs_direct_buckets(comm) || c.zero_copy || c.pre != 1.0f) return 0;
  if (gather && c.post != 1.0f) return 0;
  size_t n = 0, buckets = 0;
  tidal_tensor_list_num_buckets(list, &buckets);
  for (size_t b = 0; b < buckets; ++b) {
    tidal_bucket_info_t info;
    if (tidal_tensor_list_bucket_info(list, b, &info) == TIDAL_SUCCESS &&
        info.dtype == info.comm_dtype) {
      ++n;
    }
  }
  return n;
}

}  // namespace tidal_testing
