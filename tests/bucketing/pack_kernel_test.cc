// The fused CPU pack kernel against a scalar per-element reference built on
// lib/core/dtype.h: plain copies, scale, f32 <-> bf16/f16 casts, tables
// large enough to be split across threads (runs cut mid-tensor), in-place
// scaling, and the ops it must refuse.
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "collectives/kernels/copy_table.h"
#include "collectives/kernels/cpu/pack_kernel.h"
#include "lib/core/bf16_avx512.h"
#include "lib/core/cpu_kernels.h"
#include "lib/core/dtype.h"

namespace {

using tidal::CopyOp;
using tidal::CopyTable;

// Scalar reference: decode, multiply in float (double for f64), encode.
void reference_copy(const void* src, void* dst, size_t count, const CopyOp& op) {
  const size_t ses = tidal::dtype_size(op.src_dtype), des = tidal::dtype_size(op.dst_dtype);
  for (size_t i = 0; i < count; ++i) {
    const char* s = static_cast<const char*>(src) + i * ses;
    char* d = static_cast<char*>(dst) + i * des;
    if (op.plain()) {
      std::memcpy(d, s, ses);
      continue;
    }
    if (op.src_dtype == TIDAL_F64) {
      double v;
      std::memcpy(&v, s, 8);
      v *= static_cast<double>(op.scale);
      std::memcpy(d, &v, 8);
      continue;
    }
    float v = 0;
    uint16_t h = 0;
    if (op.src_dtype == TIDAL_F32) std::memcpy(&v, s, 4);
    else std::memcpy(&h, s, 2);
    if (op.src_dtype == TIDAL_BF16) v = tidal::bf16_to_float(h);
    if (op.src_dtype == TIDAL_F16) v = tidal::f16_to_float(h);
    v *= op.scale;
    if (op.dst_dtype == TIDAL_F32) std::memcpy(d, &v, 4);
    if (op.dst_dtype == TIDAL_BF16) h = tidal::float_to_bf16(v), std::memcpy(d, &h, 2);
    if (op.dst_dtype == TIDAL_F16) h = tidal::float_to_f16(v), std::memcpy(d, &h, 2);
  }
}

// Random source bytes that decode to finite, varied values.
std::vector<unsigned char> random_source(tidal_dtype_t d, size_t count, std::mt19937& rng) {
  std::vector<unsigned char> buf(count * tidal::dtype_size(d) + 16);
  std::uniform_real_distribution<float> dist(-1000.0f, 1000.0f);
  for (size_t i = 0; i < count; ++i) {
    float f = dist(rng);
    unsigned char* p = &buf[i * tidal::dtype_size(d)];
    switch (d) {
      case TIDAL_F32: std::memcpy(p, &f, 4); break;
      case TIDAL_F64: { double v = f / 3.0; std::memcpy(p, &v, 8); break; }
      case TIDAL_BF16: { uint16_t h = tidal::float_to_bf16(f); std::memcpy(p, &h, 2); break; }
      case TIDAL_F16: { uint16_t h = tidal::float_to_f16(f / 16); std::memcpy(p, &h, 2); break; }
      default: *p = static_cast<unsigned char>(rng()); break;
    }
  }
  return buf;
}

// Packs `counts` runs from separate sources into one bucket with gaps and
// compares the bucket bytewise with the reference.
void check_table(const std::vector<size_t>& counts, const CopyOp& op) {
  std::mt19937 rng(static_cast<unsigned>(counts.size() * 31 + op.src_dtype));
  const size_t des = tidal::dtype_size(op.dst_dtype);
  std::vector<std::vector<unsigned char>> sources;
  size_t bucket_elems = 0;
  for (size_t c : counts) {
    sources.push_back(random_source(op.src_dtype, c, rng));
    bucket_elems += c + 3;  // a gap the kernel must not touch
  }
  std::vector<unsigned char> got(bucket_elems * des, 0x5A), want(bucket_elems * des, 0x5A);
  CopyTable table;
  size_t offset = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    table.add(sources[i].data(), got.data() + offset * des, counts[i]);
    reference_copy(sources[i].data(), want.data() + offset * des, counts[i], op);
    offset += counts[i] + 3;
  }
  ASSERT_TRUE(table.finalize(false).ok());
  ASSERT_TRUE(table.run(op, nullptr).ok());
  ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size()), 0)
      << tidal_dtype_name(op.src_dtype) << "->" << tidal_dtype_name(op.dst_dtype)
      << " scale " << op.scale << " runs " << counts.size();
}

const CopyOp kOps[] = {
    {TIDAL_F32, TIDAL_F32, 1.0f},   {TIDAL_F32, TIDAL_F32, 0.125f}, {TIDAL_F32, TIDAL_BF16, 1.0f},
    {TIDAL_F32, TIDAL_BF16, 0.25f}, {TIDAL_BF16, TIDAL_F32, 1.0f},  {TIDAL_BF16, TIDAL_F32, 0.5f},
    {TIDAL_BF16, TIDAL_BF16, 0.3f}, {TIDAL_F32, TIDAL_F16, 0.5f},   {TIDAL_F16, TIDAL_F32, 2.0f},
    {TIDAL_F64, TIDAL_F64, 0.7f},   {TIDAL_U8, TIDAL_U8, 1.0f},     {TIDAL_I64, TIDAL_I64, 1.0f},
};

TEST(PackKernel, SmallTablesMatchTheScalarReferenceForEveryOp) {
  for (const CopyOp& op : kOps) check_table({1, 7, 64, 1000, 3, 4099}, op);
}

TEST(PackKernel, LargeTablesSplitAcrossThreadsMatchTheReference) {
  // ~6 MB of f32: above the threading threshold; runs are cut mid-tensor.
  for (const CopyOp& op : {kOps[1], kOps[3], kOps[4]}) {
    check_table({1500000, 5, 70000, 3, 200001}, op);
  }
  check_table({1 << 21}, kOps[0]);  // one huge tensor alone
  // Above the streaming-store threshold, with runs at unaligned offsets.
  check_table({3000000, 7, 1000001}, kOps[0]);
  // Streaming copies of runs around the 4-page block and the 64-byte line:
  // heads, whole blocks, line tails and byte tails all taken.
  check_table({2100000, 4095, 16385, 1, 4097, 16383, 17, 12289}, kOps[0]);
}

TEST(PackKernel, LargeScalesAndCastsStreamThroughTheStagingBufferExactly) {
  // Above the streaming threshold every scale and cast converts 4-page
  // blocks into a staging buffer and streams it out: runs at destination
  // offsets off the 64-byte line, around the block size, and tails.
  for (const CopyOp& op : kOps) {
    if (op.plain()) continue;
    check_table({4500000, 4095, 16385, 1, 12289, 8191, 3}, op);  // >= 8 MiB at 2 bytes too
  }
}

// Floats of every class: random bit patterns (NaNs, infinities, subnormals
// about once per 16-lane vector), then the edge cases by name.
std::vector<float> every_class_of_float(size_t count) {
  std::mt19937 rng(7);
  std::vector<uint32_t> bits(count);
  for (auto& b : bits) b = static_cast<uint32_t>(rng());
  const uint32_t edges[] = {
      0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x00400000,  // zeros, subnormals
      0x00800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000,  // min/max normal, inf
      0x7f800001, 0x7fc00000, 0xffbfffff, 0x7fffffff,              // signalling, quiet NaN
      0x3f808000, 0x3f818000, 0x3f808001, 0x3f807fff,              // ties to even, off ties
      0x7f7f8000, 0x00808000, 0x0000ffff, 0x00018000};             // rounds to inf, tiny
  for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) && i < count; ++i) {
    bits[i * 37 % count] = edges[i];
  }
  std::vector<float> f(count);
  std::memcpy(f.data(), bits.data(), count * 4);
  return f;
}

// The CPU's conversion instructions (where it has them) and the portable
// loops, in turn: both must give the formula's bits.
class SixteenBitPack : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { tidal::set_portable_cpu_kernels(GetParam()); }
  void TearDown() override { tidal::set_portable_cpu_kernels(false); }
};

INSTANTIATE_TEST_SUITE_P(Kernels, SixteenBitPack, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "portable" : "native";
                         });

TEST_P(SixteenBitPack, CastsToBf16MatchTheFormulaForEveryClassOfFloat) {
  // Small (one pass), threaded, and streamed through the staging buffer; a
  // scale of 1 and 2^-120 (which makes subnormals of most small normals).
  for (size_t count : {size_t(1000), size_t(1) << 20, size_t(5) << 20}) {
    const std::vector<float> src = every_class_of_float(count);
    for (float scale : {1.0f, 0.5f, 0x1p-120f}) {
      const CopyOp op{TIDAL_F32, TIDAL_BF16, scale};
      std::vector<uint16_t> got(count + 5, 0x5A5A), want(count + 5, 0x5A5A);
      reference_copy(src.data(), want.data() + 2, count, op);
      CopyTable table;
      table.add(src.data(), got.data() + 2, count);
      ASSERT_TRUE(table.finalize(false).ok());
      ASSERT_TRUE(table.run(op, nullptr).ok());
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i], want[i]) << "count " << count << " scale " << scale << " at " << i;
      }
    }
  }
}

TEST_P(SixteenBitPack, F16CastsAndScalesMatchTheFormulaForEveryClassOfValue) {
  // f32 -> f16 over every class of float (NaNs, infinities, values that
  // round to inf or to f16 subnormals), f16 -> f32 and f16 -> f16 over
  // every 16-bit pattern; small and streamed; the f16 scale in place too.
  for (size_t count : {size_t(65536), size_t(6) << 20}) {
    const std::vector<float> f32 = every_class_of_float(count);
    std::vector<uint16_t> f16(count);
    for (size_t i = 0; i < count; ++i) f16[i] = static_cast<uint16_t>(i * 40503u);
    for (float scale : {1.0f, 0.5f, 0x1p-20f, 3.0f}) {
      const CopyOp ops[] = {{TIDAL_F32, TIDAL_F16, scale}, {TIDAL_F16, TIDAL_F32, scale},
                            {TIDAL_F16, TIDAL_F16, scale}};
      for (const CopyOp& op : ops) {
        const void* src = op.src_dtype == TIDAL_F32 ? static_cast<const void*>(f32.data())
                                                    : static_cast<const void*>(f16.data());
        const size_t bytes = count * tidal::dtype_size(op.dst_dtype);
        std::vector<unsigned char> got(bytes), want(bytes);
        reference_copy(src, want.data(), count, op);
        CopyTable table;
        table.add(src, got.data(), count);
        ASSERT_TRUE(table.finalize(false).ok());
        ASSERT_TRUE(table.run(op, nullptr).ok());
        ASSERT_EQ(std::memcmp(got.data(), want.data(), bytes), 0)
            << tidal_dtype_name(op.src_dtype) << "->" << tidal_dtype_name(op.dst_dtype)
            << " scale " << scale << " count " << count;
        if (op.src_dtype != op.dst_dtype || op.plain()) continue;
        std::vector<uint16_t> in_place = f16;
        CopyTable same;
        same.add(in_place.data(), in_place.data(), count);
        ASSERT_TRUE(same.finalize(false).ok());
        ASSERT_TRUE(same.run(op, nullptr).ok());
        ASSERT_EQ(std::memcmp(in_place.data(), want.data(), bytes), 0) << "in place " << scale;
      }
    }
  }
}

TEST_P(SixteenBitPack, ScaledBf16MatchesTheFormulaForEveryClassOfValue) {
  // bf16 -> bf16 with a scale (bf16 gradients averaged as they are packed),
  // over every 16-bit pattern in turn, small and streamed, and in place.
  for (size_t count : {size_t(65536), size_t(6) << 20}) {
    std::vector<uint16_t> src(count);
    for (size_t i = 0; i < count; ++i) src[i] = static_cast<uint16_t>(i * 40503u);
    for (float scale : {0.5f, 0.125f, 0x1p-100f, 3.0f}) {
      const CopyOp op{TIDAL_BF16, TIDAL_BF16, scale};
      std::vector<uint16_t> got(count), want(count), in_place = src;
      reference_copy(src.data(), want.data(), count, op);
      CopyTable table, same;
      table.add(src.data(), got.data(), count);
      same.add(in_place.data(), in_place.data(), count);
      ASSERT_TRUE(table.finalize(false).ok() && same.finalize(false).ok());
      ASSERT_TRUE(table.run(op, nullptr).ok() && same.run(op, nullptr).ok());
      for (size_t i = 0; i < count; ++i) {
        ASSERT_EQ(got[i], want[i]) << "scale " << scale << " at " << i << ": " << src[i];
        ASSERT_EQ(in_place[i], want[i]) << "in place, scale " << scale << " at " << i;
      }
    }
  }
}

TEST(PackKernel, Avx512Bf16ConversionIsTheFormulaBitForBit) {
  if (!tidal::have_avx512_bf16()) {
    GTEST_SKIP() << "this CPU has no AVX512-BF16: the portable loop (tested above) runs";
  }
  const std::vector<float> src = every_class_of_float(4099);  // a tail past the last vector
  for (float scale : {1.0f, 0x1p-120f, 3.0f}) {
    std::vector<uint16_t> got(src.size());
    tidal::f32_to_bf16_avx512(src.data(), got.data(), src.size(), scale);
    for (size_t i = 0; i < src.size(); ++i) {
      ASSERT_EQ(got[i], tidal::float_to_bf16(src[i] * scale)) << "scale " << scale << " at " << i;
    }
  }
}

TEST(PackKernel, InPlaceScaleTouchesOnlyTheRun) {
  std::vector<float> data(5000, 3.0f);
  CopyTable table;
  table.add(data.data() + 10, data.data() + 10, 4000);
  ASSERT_TRUE(table.finalize(false).ok());
  ASSERT_TRUE(table.run(CopyOp{TIDAL_F32, TIDAL_F32, 0.5f}, nullptr).ok());
  EXPECT_EQ(data[9], 3.0f);
  EXPECT_EQ(data[10], 1.5f);
  EXPECT_EQ(data[4009], 1.5f);
  EXPECT_EQ(data[4010], 3.0f);
}

TEST(PackKernel, UnsupportedOpsAreRefusedWithAReason) {
  auto s = tidal::check_copy_op(CopyOp{TIDAL_I32, TIDAL_I32, 0.5f});
  EXPECT_EQ(s.code(), TIDAL_ERR_UNSUPPORTED);
  EXPECT_NE(s.message().find("i32"), std::string::npos) << s.message();
  EXPECT_EQ(tidal::check_copy_op(CopyOp{TIDAL_F64, TIDAL_BF16, 1.0f}).code(),
            TIDAL_ERR_UNSUPPORTED);
  EXPECT_TRUE(tidal::check_copy_op(CopyOp{TIDAL_F32, TIDAL_BF16, 0.5f}).ok());
}

}  // namespace
