// fp8_gather_suite.h — FP8 communication of parameters: a tensor list with
// an FP8 comm dtype all-gathers (bucketed call and param gatherer) into
// exactly what encoding and decoding each rank's block on its own gives;
// the counts (one encode, one all-gather, one decode per bucket, a quarter
// of the f32 bytes); and the error paths (reductions, zero-copy, bad
// options, ranks that disagree on the codec). Runs on any communicator.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/bucketing/bucket_test_data.h"
#include "tidal/fp8.h"
#include "tidal/overlap.h"

namespace tidal_testing {

struct Fp8Case {
  const char* name;
  tidal_dtype_t format;
  tidal_dtype_t dtype;  // storage; with `mixed`, every third tensor is bf16
  bool mixed = false;
  size_t block = 0;     // 0: the default (128)
  int pow2 = 0;
  float pre = 1.0f, post = 1.0f;
};

inline const std::vector<Fp8Case>& fp8_cases() {
  static const std::vector<Fp8Case> cases = {
      {"e4m3-f32", TIDAL_FP8_E4M3, TIDAL_F32},
      {"e5m2-f32", TIDAL_FP8_E5M2, TIDAL_F32},
      {"e4m3-bf16", TIDAL_FP8_E4M3, TIDAL_BF16},
      {"e4m3-mixed-block32-pow2", TIDAL_FP8_E4M3, TIDAL_F32, true, 32, 1},
      {"e4m3-f32-block1000-scaled", TIDAL_FP8_E4M3, TIDAL_F32, false, 1000, 0, 0.5f, 4.0f},
  };
  return cases;
}

inline tidal_dtype_t fp8_dtype_of(const Fp8Case& c, size_t t) {
  return c.mixed && t % 3 == 0 ? TIDAL_BF16 : c.dtype;
}

// Parameter values whose magnitude changes from tensor to tensor and along
// each tensor, so blocks get different scales and most values round.
inline float fp8_param_value(size_t t, size_t e) {
  const float v = static_cast<float>((t * 7919 + e * 104729) % 1000) / 37.0f + 0.01f;
  return std::ldexp(v, static_cast<int>((t + e / 300) % 9) - 4);
}

inline tidal_bucket_options_t fp8_list_options(const Fp8Case& c) {
  tidal_bucket_options_t o = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  o.bucket_bytes = 8 << 10;  // 8 KiB of FP8: pieces span several ranks' blocks
  o.first_bucket_bytes = 1 << 10;
  o.comm_dtype = c.format;
  o.fp8_block = c.block;
  o.fp8_pow2_scales = c.pow2;
  return o;
}

inline tidal_tensor_list_t make_fp8_list(tidal_comm_t comm, const Fp8Case& c,
                                         std::vector<std::vector<unsigned char>>* storage,
                                         std::vector<tidal_tensor_desc_t>* descs) {
  const auto counts = test_counts();
  storage->assign(counts.size(), {});
  descs->clear();
  for (size_t t = 0; t < counts.size(); ++t) {
    const tidal_dtype_t d = fp8_dtype_of(c, t);
    (*storage)[t].assign(counts[t] * tidal_dtype_size(d), 0xCD);
    descs->push_back(tidal_tensor_desc_t{(*storage)[t].data(), counts[t], d});
  }
  const tidal_bucket_options_t o = fp8_list_options(c);
  tidal_tensor_list_t list = nullptr;
  EXPECT_EQ(tidal_tensor_list_create(comm, descs->data(), descs->size(), &o, &list),
            TIDAL_SUCCESS)
      << c.name << ": " << tidal_last_error();
  return list;
}

// This rank's shard (its runs of every tensor, in the storage dtypes).
inline std::vector<unsigned char> fp8_param_shard(tidal_tensor_list_t list, const Fp8Case& c) {
  std::vector<unsigned char> shard(shard_bytes_of(list), 0);
  write_owned_values(
      list, test_counts().size(), [&](size_t t) { return fp8_dtype_of(c, t); },
      [](size_t t, size_t e) { return fp8_param_value(t, e); }, shard.data());
  return shard;
}

// What every rank must hold after the gather: each rank encodes and
// decodes its own block of every bucket (tidal_fp8_encode/decode, checked
// against ml_dtypes in tests/codecs), and the round-tripped runs of every
// rank are summed with zeros elsewhere (exact) into full tensors.
inline std::vector<std::vector<unsigned char>> fp8_expected(tidal_comm_t comm,
                                                            tidal_tensor_list_t list,
                                                            const Fp8Case& c,
                                                            const std::vector<unsigned char>& shard) {
  std::vector<unsigned char> round_trip(shard.size(), 0);
  tidal_fp8_codec_t codec = TIDAL_FP8_CODEC_INITIALIZER;
  codec.block = c.block ? c.block : 128;
  codec.pow2_scales = c.pow2;
  for (size_t b = 0; b < num_buckets(list); ++b) {
    tidal_bucket_info_t info;
    EXPECT_EQ(tidal_tensor_list_bucket_info(list, b, &info), TIDAL_SUCCESS);
    EXPECT_EQ(info.comm_dtype, c.format);
    codec.format = c.format;
    const size_t n = info.shard_count;
    std::vector<uint8_t> bytes(n);
    std::vector<float> scales(tidal_fp8_scale_count(n, codec.block));
    EXPECT_EQ(tidal_fp8_encode(&codec, shard.data() + info.shard_offset, info.dtype, n,
                               bytes.data(), scales.data()),
              TIDAL_SUCCESS);
    for (float& s : scales) s = s * c.pre * c.post;
    EXPECT_EQ(tidal_fp8_decode(&codec, bytes.data(), scales.data(), n,
                               round_trip.data() + info.shard_offset, info.dtype),
              TIDAL_SUCCESS);
  }
  const auto counts = test_counts();
  std::vector<std::vector<unsigned char>> out(counts.size());
  for (size_t t = 0; t < counts.size(); ++t) {
    const tidal_dtype_t d = fp8_dtype_of(c, t);
    const size_t es = tidal_dtype_size(d);
    out[t].assign(counts[t] * es, 0);
    for (const auto& sg : shard_segments_of(list, t)) {
      std::memcpy(out[t].data() + sg.tensor_offset * es, round_trip.data() + sg.shard_offset,
                  sg.count * es);
    }
    EXPECT_EQ(tidal_all_reduce(out[t].data(), out[t].data(), counts[t], d, TIDAL_SUM, comm,
                               nullptr),
              TIDAL_SUCCESS)
        << tidal_last_error();
  }
  return out;
}

// A list of the case's tensors, this rank's parameter shard, and what the
// gather must write into the tensors.
struct Fp8Gather {
  std::vector<std::vector<unsigned char>> storage;
  std::vector<tidal_tensor_desc_t> descs;
  tidal_tensor_list_t list = nullptr;
  std::vector<unsigned char> shard;
  std::vector<std::vector<unsigned char>> want;
};

inline void make_fp8_gather(tidal_comm_t comm, const Fp8Case& c, Fp8Gather* g) {
  g->list = make_fp8_list(comm, c, &g->storage, &g->descs);
  ASSERT_NE(g->list, nullptr);
  g->shard = fp8_param_shard(g->list, c);
  g->want = fp8_expected(comm, g->list, c, g->shard);
}

inline void expect_tensors(const std::vector<std::vector<unsigned char>>& got,
                           const std::vector<std::vector<unsigned char>>& want, const char* name,
                           const char* what) {
  for (size_t t = 0; t < want.size(); ++t) {
    if (std::memcmp(got[t].data(), want[t].data(), want[t].size()) != 0) {
      ADD_FAILURE() << name << " " << what << ": tensor " << t
                    << " differs from each rank's own encode + decode";
      return;
    }
  }
}

inline void check_fp8_all_gather(tidal_comm_t comm, const Fp8Case& c, int serial = 0,
                                 int schedule = TIDAL_SCHEDULE_UNSET) {
  Fp8Gather g;
  make_fp8_gather(comm, c, &g);
  if (!g.list) return;
  tidal_tensor_list_t list = g.list;
  const auto& storage = g.storage;
  const auto& descs = g.descs;
  tidal_bucketed_options_t o = TIDAL_BUCKETED_OPTIONS_INITIALIZER;
  o.pre_scale = c.pre;
  o.post_scale = c.post;
  o.passes_on_progress_thread = serial;
  o.schedule = schedule;
  ASSERT_EQ(tidal_bucketed_all_gather(list, g.shard.data(), &o, nullptr), TIDAL_SUCCESS)
      << c.name << ": " << tidal_last_error();
  expect_tensors(storage, g.want, c.name, "bucketed all-gather");
  // The values are close to the parameters: within half an FP8 step of
  // themselves, or of the format's smallest step at the largest possible
  // scale (a coarse check that decoding found its scales).
  const bool e4m3 = c.format == TIDAL_FP8_E4M3;
  const float rel = e4m3 ? 0.0625f : 0.125f, fmax = e4m3 ? 448.0f : 57344.0f;
  const float gain = std::fabs(c.pre * c.post);
  const float floor = 2.0f * 432.0f * gain / fmax * std::ldexp(1.0f, e4m3 ? -10 : -17);
  for (size_t t = 0; t < storage.size(); ++t) {
    const tidal_dtype_t d = fp8_dtype_of(c, t);
    for (size_t e = 0; e < descs[t].count; ++e) {
      // The stored value (bf16 rounds it), and a bf16 rounding of the result.
      unsigned char one[4];
      store(d, one, 0, fp8_param_value(t, e));
      const float x = load(d, one, 0) * gain, y = load(d, storage[t].data(), e);
      if (std::fabs(y - x) > std::fabs(x) * (rel * 1.01f + 0.004f) + floor) {
        ADD_FAILURE() << c.name << ": tensor " << t << " element " << e << ": " << y
                      << " for " << x;
        break;
      }
    }
  }
  tidal_bucket_counters_t k;
  ASSERT_EQ(tidal_tensor_list_get_counters(list, &k), TIDAL_SUCCESS);
  const size_t nb = num_buckets(list);
  EXPECT_EQ(k.collective_calls, nb) << c.name;  // bytes and scales in one all-gather
  EXPECT_EQ(k.pack_calls, nb) << c.name;        // one encode per bucket
  EXPECT_EQ(k.unpack_calls, nb) << c.name;      // one decode pass per bucket
  EXPECT_EQ(k.overlapped_passes, serial ? 0u : nb) << c.name;
  size_t values_bytes = 0;
  for (const auto& d : descs) values_bytes += d.count * tidal_dtype_size(d.dtype);
  int world = 1;
  tidal_comm_size(comm, &world);
  // One byte per element plus the scales and padding, against the values'
  // 2 or 4 bytes (test tensors are small: the padding weighs more here).
  EXPECT_LT(k.bytes_communicated, values_bytes * 2 / 3 + 4096u * world) << c.name;
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
}

inline void check_fp8_param_gatherer(tidal_comm_t comm) {
  const Fp8Case& c = fp8_cases()[0];
  Fp8Gather f;
  make_fp8_gather(comm, c, &f);
  if (!f.list) return;
  tidal_tensor_list_t list = f.list;
  tidal_param_gatherer_options_t o = TIDAL_PARAM_GATHERER_OPTIONS_INITIALIZER;
  o.depth = 2;
  tidal_param_gatherer_t g = nullptr;
  ASSERT_EQ(tidal_param_gatherer_create(list, f.shard.data(), &o, &g), TIDAL_SUCCESS)
      << tidal_last_error();
  const size_t nb = num_buckets(list);
  for (size_t b = 0; b < nb; ++b) ASSERT_EQ(tidal_param_prefetch(g, b), TIDAL_SUCCESS);
  for (size_t b = 0; b < nb; ++b) {
    ASSERT_EQ(tidal_param_wait(g, b), TIDAL_SUCCESS) << tidal_last_error();
  }
  expect_tensors(f.storage, f.want, c.name, "param gatherer");
  EXPECT_EQ(tidal_param_gatherer_destroy(g), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
}

// Every error is reported on every rank alike (list creation is collective).
inline void check_fp8_bad_input(tidal_comm_t comm) {
  int rank = 0;
  tidal_comm_rank(comm, &rank);
  std::vector<std::vector<unsigned char>> storage;
  std::vector<tidal_tensor_desc_t> descs;
  tidal_tensor_list_t list = make_fp8_list(comm, fp8_cases()[0], &storage, &descs);
  ASSERT_NE(list, nullptr);
  std::vector<unsigned char> shard(shard_bytes_of(list), 0);
  EXPECT_EQ(tidal_bucketed_reduce_scatter(list, shard.data(), TIDAL_SUM, nullptr, nullptr),
            TIDAL_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(tidal_last_error()).find("FP8 lose too much precision"),
            std::string::npos)
      << tidal_last_error();
  tidal_grad_reducer_t reducer = nullptr;
  EXPECT_EQ(tidal_grad_reducer_create(list, nullptr, &reducer), TIDAL_ERR_UNSUPPORTED);
  tidal_grad_reducer_options_t zero1 = TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER;
  zero1.all_reduce = 1;
  EXPECT_EQ(tidal_grad_reducer_create(list, &zero1, &reducer), TIDAL_ERR_UNSUPPORTED);
  EXPECT_EQ(reducer, nullptr);
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);

  tidal_bucket_options_t o = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  o.comm_dtype = TIDAL_FP8_E4M3;
  o.zero_copy = 1;
  EXPECT_EQ(tidal_tensor_list_create(comm, descs.data(), descs.size(), &o, &list),
            TIDAL_ERR_INVALID_ARGUMENT);
  o.zero_copy = 0;
  o.fp8_pow2_scales = 2;
  EXPECT_EQ(tidal_tensor_list_create(comm, descs.data(), descs.size(), &o, &list),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("fp8_pow2_scales"), std::string::npos);
  // An older caller's struct (before the FP8 fields) gets their defaults.
  o = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  o.size = offsetof(tidal_bucket_options_t, fp8_block);
  o.comm_dtype = TIDAL_FP8_E5M2;
  ASSERT_EQ(tidal_tensor_list_create(comm, descs.data(), descs.size(), &o, &list),
            TIDAL_SUCCESS)
      << tidal_last_error();
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
  // Ranks that disagree on the block: every rank fails alike.
  o = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  o.comm_dtype = TIDAL_FP8_E4M3;
  o.fp8_block = rank == 0 ? 64 : 128;
  int world = 1;
  tidal_comm_size(comm, &world);
  const tidal_status_t rc =
      tidal_tensor_list_create(comm, descs.data(), descs.size(), &o, &list);
  if (world > 1) {
    EXPECT_EQ(rc, TIDAL_ERR_MISMATCH) << tidal_last_error();
  } else {
    EXPECT_EQ(rc, TIDAL_SUCCESS);
    tidal_tensor_list_destroy(list);
  }
}

inline void run_fp8_gather_suite(tidal_comm_t comm) {
  for (const Fp8Case& c : fp8_cases()) check_fp8_all_gather(comm, c);
  check_fp8_all_gather(comm, fp8_cases()[3], /*serial=*/1);
  // The byte all-gather through tidal's own schedules.
  for (int schedule : {TIDAL_SCHEDULE_RING, TIDAL_SCHEDULE_TORUS2D, TIDAL_SCHEDULE_NDRING}) {
    check_fp8_all_gather(comm, fp8_cases()[0], 0, schedule);
  }
  check_fp8_param_gatherer(comm);
  check_fp8_bad_input(comm);
}

}  // namespace tidal_testing
