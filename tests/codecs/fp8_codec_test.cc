// fp8_codec_test.cc — the block-scaled FP8 codec (tidal/fp8.h): scales,
// rounding, special values, every value dtype, the threaded path, the
// error paths, and (with the test Python) the reference encoding by numpy
// and ml_dtypes bit for bit (tests/codecs/fp8_reference.py).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "collectives/codecs/fp8_codec.h"
#include "lib/core/cpu_kernels.h"
#include "lib/core/dtype.h"
#include "tests/codecs/fp8_test_values.h"
#include "tidal/fp8.h"

namespace {

using tidal_testing::varied_magnitudes;

constexpr float kNaN = NAN, kInf = INFINITY;

tidal_fp8_codec_t codec(tidal_dtype_t format, size_t block, int pow2 = 0) {
  tidal_fp8_codec_t c = TIDAL_FP8_CODEC_INITIALIZER;
  c.format = format;
  c.block = block;
  c.pow2_scales = pow2;
  return c;
}

struct Encoded {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
};

Encoded encode(const tidal_fp8_codec_t& c, const std::vector<float>& x) {
  Encoded e{std::vector<uint8_t>(x.size()),
            std::vector<float>(tidal_fp8_scale_count(x.size(), c.block))};
  EXPECT_EQ(tidal_fp8_encode(&c, x.data(), TIDAL_F32, x.size(), e.bytes.data(), e.scales.data()),
            TIDAL_SUCCESS)
      << tidal_last_error();
  return e;
}

std::vector<float> decode(const tidal_fp8_codec_t& c, const Encoded& e) {
  std::vector<float> out(e.bytes.size());
  EXPECT_EQ(tidal_fp8_decode(&c, e.bytes.data(), e.scales.data(), out.size(), out.data(),
                             TIDAL_F32),
            TIDAL_SUCCESS)
      << tidal_last_error();
  return out;
}

bool is_power_of_two(float s) {
  int e;
  return std::frexp(s, &e) == 0.5f;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

}  // namespace

TEST(Fp8Codec, ScaleIsTheBlockAmaxOverTheFormatMaximum) {
  std::vector<float> x = {1.0f, -3.5f, 0.25f, 2.0f, 100.0f, -7.0f, 0.5f};
  for (tidal_dtype_t f : {TIDAL_FP8_E4M3, TIDAL_FP8_E5M2}) {
    const float fmax = f == TIDAL_FP8_E4M3 ? 448.0f : 57344.0f;
    auto c = codec(f, 4);
    Encoded e = encode(c, x);
    ASSERT_EQ(e.scales.size(), 2u);
    EXPECT_EQ(e.scales[0], 3.5f / fmax);
    EXPECT_EQ(e.scales[1], 100.0f / fmax);
    // The amax element is the format's maximum exactly.
    const uint8_t max_byte = f == TIDAL_FP8_E4M3 ? 0x7e : 0x7b;
    EXPECT_EQ(e.bytes[1], 0x80 | max_byte);
    EXPECT_EQ(e.bytes[4], max_byte);
  }
}

TEST(Fp8Codec, RoundTripErrorIsWithinHalfAStepOfTheFormat) {
  const size_t n = 10000;
  for (tidal_dtype_t f : {TIDAL_FP8_E4M3, TIDAL_FP8_E5M2}) {
    for (size_t block : {size_t(1), size_t(32), size_t(128), size_t(1000), n}) {
      for (int pow2 : {0, 1}) {
        auto c = codec(f, block, pow2);
        std::vector<float> x = varied_magnitudes(n, block, 7 + static_cast<uint32_t>(block));
        Encoded e = encode(c, x);
        std::vector<float> y = decode(c, e);
        // Half a mantissa step relative to the value, or half the smallest
        // subnormal step of the format times the block's scale.
        const float rel = f == TIDAL_FP8_E4M3 ? 0.0625f : 0.125f;
        const float sub = f == TIDAL_FP8_E4M3 ? std::ldexp(1.0f, -10) : std::ldexp(1.0f, -17);
        for (size_t i = 0; i < n; ++i) {
          const float scale = e.scales[i / block];
          const float bound = std::max(std::fabs(x[i]) * rel, sub * scale) * 1.0001f;
          ASSERT_LE(std::fabs(y[i] - x[i]), bound)
              << "element " << i << " block " << block << " pow2 " << pow2 << " format "
              << tidal_dtype_name(f);
        }
        for (float s : e.scales) {
          if (pow2) ASSERT_TRUE(is_power_of_two(s)) << s;
        }
      }
    }
  }
}

TEST(Fp8Codec, Pow2ScalesAreTheNextPowerOfTwoAtOrAboveTheLinearScale) {
  std::vector<float> x = {448.0f, 1.0f, 449.0f, 1.0f, 896.0f, 0.0f};
  auto c = codec(TIDAL_FP8_E4M3, 2, 1);
  Encoded e = encode(c, x);
  EXPECT_EQ(e.scales[0], 1.0f);  // 448 / 448 is a power of two already
  EXPECT_EQ(e.scales[1], 2.0f);  // 449 / 448 rounds up
  EXPECT_EQ(e.scales[2], 2.0f);
  EXPECT_EQ(e.bytes[2], 0x76);   // 449 / 2 = 224.5 -> 224
}

TEST(Fp8Codec, ZeroBlocksKeepScaleOneAndTinyBlocksClampTheScale) {
  std::vector<float> x = {0.0f, -0.0f, 0.0f, 0.0f, 1e-40f, -1e-41f, 0.0f, 0.0f};
  auto c = codec(TIDAL_FP8_E4M3, 4);
  Encoded e = encode(c, x);
  EXPECT_EQ(e.scales[0], 1.0f);
  EXPECT_EQ(e.bytes[0], 0x00);
  EXPECT_EQ(e.bytes[1], 0x80);  // the sign of zero is kept
  EXPECT_EQ(e.scales[1], FLT_MIN);
  std::vector<float> y = decode(c, e);
  EXPECT_NEAR(y[4], 1e-40f, 2e-41f);
}

TEST(Fp8Codec, NaNAndInfinitiesDoNotSetTheScaleAndKeepTheirMeaning) {
  std::vector<float> x = {kNaN, 2.0f, -kInf, kInf, -1.0f, 0.5f, kNaN, 0.25f};
  auto e4 = codec(TIDAL_FP8_E4M3, 8);
  Encoded a = encode(e4, x);
  EXPECT_EQ(a.scales[0], 2.0f / 448.0f);
  EXPECT_EQ(a.bytes[0] & 0x7f, 0x7f);  // NaN
  EXPECT_EQ(a.bytes[2] & 0x7f, 0x7f);  // E4M3 has no infinity: NaN
  EXPECT_EQ(a.bytes[3] & 0x7f, 0x7f);
  EXPECT_EQ(a.bytes[1], 0x7e);         // 448
  auto e5 = codec(TIDAL_FP8_E5M2, 8);
  Encoded b = encode(e5, x);
  EXPECT_EQ(b.scales[0], 2.0f / 57344.0f);
  EXPECT_EQ(b.bytes[2], 0xfc);  // -inf
  EXPECT_EQ(b.bytes[3], 0x7c);  // +inf
  std::vector<float> y = decode(e5, b);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[2], -kInf);
  EXPECT_EQ(y[3], kInf);
  EXPECT_FLOAT_EQ(y[1], 2.0f);
  // A block of nothing but NaN and infinities: scale 1.
  std::vector<float> only = {kNaN, kInf, -kInf, kNaN};
  EXPECT_EQ(encode(e5, only).scales[0], 1.0f);
}

TEST(Fp8Codec, TiesRoundToEven) {
  // Scale 1 (amax 448): 1.0625 lies halfway between 1 and 1.125 (-> 1),
  // 1.1875 between 1.125 and 1.25 (-> 1.25), 3.125 between 3 and 3.25
  // (-> 3), -3.875 between -3.75 (odd mantissa) and -4 (-> -4).
  std::vector<float> x = {448.0f, 1.0625f, 1.1875f, 3.125f, -3.875f};
  Encoded e = encode(codec(TIDAL_FP8_E4M3, 8), x);
  ASSERT_EQ(e.scales[0], 1.0f);
  std::vector<float> y = decode(codec(TIDAL_FP8_E4M3, 8), e);
  EXPECT_EQ(y[1], 1.0f);
  EXPECT_EQ(y[2], 1.25f);
  EXPECT_EQ(y[3], 3.0f);
  EXPECT_EQ(y[4], -4.0f);
}

TEST(Fp8Codec, Bf16AndF16ValuesEncodeAsTheirFloatsAndDecodeRounded) {
  const size_t n = 3000, block = 64;
  std::vector<float> x = varied_magnitudes(n, block, 3);
  for (float& v : x) v = std::ldexp(std::fmod(v, 1.0f), static_cast<int>(bits(v) % 8));  // f16 range
  for (tidal_dtype_t d : {TIDAL_BF16, TIDAL_F16}) {
    std::vector<uint16_t> h(n);
    std::vector<float> as_float(n);
    for (size_t i = 0; i < n; ++i) {
      h[i] = d == TIDAL_BF16 ? tidal::float_to_bf16(x[i]) : tidal::float_to_f16(x[i]);
      as_float[i] = d == TIDAL_BF16 ? tidal::bf16_to_float(h[i]) : tidal::f16_to_float(h[i]);
    }
    auto c = codec(TIDAL_FP8_E4M3, block);
    Encoded want = encode(c, as_float);
    Encoded got{std::vector<uint8_t>(n), std::vector<float>(tidal_fp8_scale_count(n, block))};
    ASSERT_EQ(tidal_fp8_encode(&c, h.data(), d, n, got.bytes.data(), got.scales.data()),
              TIDAL_SUCCESS);
    EXPECT_EQ(got.bytes, want.bytes) << tidal_dtype_name(d);
    EXPECT_EQ(got.scales, want.scales) << tidal_dtype_name(d);
    std::vector<float> f32 = decode(c, want);
    std::vector<uint16_t> out(n);
    ASSERT_EQ(tidal_fp8_decode(&c, want.bytes.data(), want.scales.data(), n, out.data(), d),
              TIDAL_SUCCESS);
    for (size_t i = 0; i < n; ++i) {
      const uint16_t expect =
          d == TIDAL_BF16 ? tidal::float_to_bf16(f32[i]) : tidal::float_to_f16(f32[i]);
      ASSERT_EQ(out[i], expect) << tidal_dtype_name(d) << " element " << i;
    }
  }
}

TEST(Fp8Codec, ThreadedEncodeAndDecodeEqualBlockByBlockCalls) {
  // 3M elements take the threaded path; a block-aligned slice encodes alone.
  const size_t n = 3u << 20, block = 96;
  std::vector<float> x = varied_magnitudes(n, block, 11);
  for (int pow2 : {0, 1}) {
    auto c = codec(TIDAL_FP8_E5M2, block, pow2);
    Encoded whole = encode(c, x);
    const size_t slice = block * 1001;
    for (size_t lo = 0; lo < n; lo += slice) {
      const size_t m = std::min(slice, n - lo);
      std::vector<uint8_t> b(m);
      std::vector<float> s(tidal_fp8_scale_count(m, block));
      ASSERT_EQ(tidal_fp8_encode(&c, x.data() + lo, TIDAL_F32, m, b.data(), s.data()),
                TIDAL_SUCCESS);
      ASSERT_EQ(0, std::memcmp(b.data(), whole.bytes.data() + lo, m)) << lo;
      ASSERT_EQ(0, std::memcmp(s.data(), whole.scales.data() + lo / block, s.size() * 4)) << lo;
    }
    std::vector<float> y = decode(c, whole);
    for (size_t lo = 0; lo < n; lo += slice) {
      const size_t m = std::min(slice, n - lo);
      std::vector<float> part(m);
      ASSERT_EQ(tidal_fp8_decode(&c, whole.bytes.data() + lo, whole.scales.data() + lo / block,
                                 m, part.data(), TIDAL_F32),
                TIDAL_SUCCESS);
      ASSERT_EQ(0, std::memcmp(part.data(), y.data() + lo, m * 4)) << lo;
    }
  }
}

TEST(Fp8Codec, EncodingAtScaleOneIsTheFormatsRoundingForEveryTopHalf) {
  // Every float whose top 16 bits take each value (low bits 0, 0x8000,
  // 0xffff: ties and both sides), in blocks led by the format's maximum so
  // the scale is 1: the bytes are float_to_e4m3/e5m2 with saturation, and
  // +-inf is NaN (E4M3) or +-inf (E5M2).
  for (tidal_dtype_t f : {TIDAL_FP8_E4M3, TIDAL_FP8_E5M2}) {
    const float fmax = f == TIDAL_FP8_E4M3 ? 448.0f : 57344.0f;
    std::vector<float> x;
    for (uint32_t top = 0; top < 65536; ++top) {
      for (uint32_t low : {0u, 0x8000u, 0xffffu}) {
        if (x.size() % 256 == 0) x.push_back(fmax);
        float v;
        const uint32_t u = top << 16 | low;
        std::memcpy(&v, &u, 4);
        if (std::fabs(v) > fmax && std::isfinite(v)) v = std::copysign(fmax, v);
        x.push_back(v);
      }
    }
    auto c = codec(f, 256);
    Encoded e = encode(c, x);
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(e.scales[i / 256], 1.0f);
      const uint32_t u = bits(x[i]);
      uint8_t want = f == TIDAL_FP8_E4M3 ? tidal::float_to_e4m3(x[i], true)
                                         : tidal::float_to_e5m2(x[i], true);
      if ((u & 0x7fffffffu) == 0x7f800000u) {
        want = f == TIDAL_FP8_E4M3 ? 0x7f : static_cast<uint8_t>(((u >> 24) & 0x80u) | 0x7cu);
      }
      ASSERT_EQ(e.bytes[i], want) << tidal_dtype_name(f) << " value bits " << std::hex << u;
    }
  }
}

TEST(Fp8Codec, DecodingEveryByteAtScaleOneGivesTheFormatsValue) {
  std::vector<uint8_t> bytes(256);
  for (int i = 0; i < 256; ++i) bytes[i] = static_cast<uint8_t>(i);
  for (tidal_dtype_t f : {TIDAL_FP8_E4M3, TIDAL_FP8_E5M2}) {
    auto c = codec(f, 256);
    const float one = 1.0f;
    std::vector<float> out(256);
    ASSERT_EQ(tidal_fp8_decode(&c, bytes.data(), &one, 256, out.data(), TIDAL_F32), TIDAL_SUCCESS);
    for (int i = 0; i < 256; ++i) {
      const uint8_t b = static_cast<uint8_t>(i);
      const float want = f == TIDAL_FP8_E4M3 ? tidal::e4m3_to_float(b) : tidal::e5m2_to_float(b);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(out[i])) << tidal_dtype_name(f) << " byte " << i;
      } else {
        EXPECT_EQ(bits(out[i]), bits(want)) << tidal_dtype_name(f) << " byte " << i << ": "
                                            << out[i] << " for " << want;
      }
    }
  }
}

TEST(Fp8Codec, F16cAndPortableDecodesGiveTheSameBits) {
  // Every byte at many scales (tiny, huge, a power of two that overflows
  // when multiplied by 2^8, negative post-scales), odd counts for the tails.
  std::vector<uint8_t> bytes(4099);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + i / 256);
  const std::vector<float> scales = {1.0f, FLT_MIN, 3.0e-39f, std::ldexp(1.0f, 120), FLT_MAX / 448,
                                     0.0137f, 12345.0f, 1.0f, 7.0f};
  for (tidal_dtype_t f : {TIDAL_FP8_E4M3, TIDAL_FP8_E5M2}) {
    tidal::Fp8Codec c;
    c.format = f;
    c.block = 512;
    std::vector<std::vector<float>> out(2, std::vector<float>(bytes.size()));
    for (int portable : {0, 1}) {
      tidal::set_portable_cpu_kernels(portable == 1);
      tidal::fp8_decode(c, bytes.data(), scales.data(), 0, bytes.size(), out[portable].data(),
                        TIDAL_F32, -0.75f);
    }
    tidal::set_portable_cpu_kernels(false);
    for (size_t i = 0; i < bytes.size(); ++i) {
      ASSERT_EQ(bits(out[0][i]), bits(out[1][i]))
          << tidal_dtype_name(f) << " byte " << int(bytes[i]) << " scale " << scales[i / 512];
    }
  }
}

TEST(Fp8Codec, ScaleCountIsTheCeiling) {
  EXPECT_EQ(tidal_fp8_scale_count(0, 128), 0u);
  EXPECT_EQ(tidal_fp8_scale_count(1, 128), 1u);
  EXPECT_EQ(tidal_fp8_scale_count(128, 128), 1u);
  EXPECT_EQ(tidal_fp8_scale_count(129, 128), 2u);
  EXPECT_EQ(tidal_fp8_scale_count(5, 0), 0u);
  EXPECT_EQ(tidal_fp8_scale_count(SIZE_MAX, 128), SIZE_MAX / 128 + 1);
  EXPECT_EQ(tidal_fp8_scale_count(SIZE_MAX, 1), SIZE_MAX);
}

TEST(Fp8Codec, BadArgumentsAreClearErrors) {
  float x[4] = {1, 2, 3, 4}, s[1];
  uint8_t b[4];
  auto c = codec(TIDAL_FP8_E4M3, 4);
  EXPECT_EQ(tidal_fp8_encode(&c, nullptr, TIDAL_F32, 4, b, s), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("src is NULL"), std::string::npos);
  EXPECT_EQ(tidal_fp8_encode(&c, x, TIDAL_F32, 4, nullptr, s), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_fp8_encode(&c, x, TIDAL_F32, 4, b, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_fp8_decode(&c, nullptr, s, 4, x, TIDAL_F32), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_fp8_decode(&c, b, nullptr, 4, x, TIDAL_F32), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_fp8_decode(&c, b, s, 4, nullptr, TIDAL_F32), TIDAL_ERR_INVALID_ARGUMENT);
  // Nothing to do: NULL buffers are fine.
  EXPECT_EQ(tidal_fp8_encode(&c, nullptr, TIDAL_F32, 0, nullptr, nullptr), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_fp8_encode(nullptr, x, TIDAL_F32, 4, b, s), TIDAL_SUCCESS);  // defaults

  auto zero_block = codec(TIDAL_FP8_E4M3, 0);
  EXPECT_EQ(tidal_fp8_encode(&zero_block, x, TIDAL_F32, 4, b, s), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("block"), std::string::npos);
  auto not_fp8 = codec(TIDAL_BF16, 4);
  EXPECT_EQ(tidal_fp8_encode(&not_fp8, x, TIDAL_F32, 4, b, s), TIDAL_ERR_INVALID_ARGUMENT);
  auto bad_enum = codec(static_cast<tidal_dtype_t>(77), 4);
  EXPECT_EQ(tidal_fp8_decode(&bad_enum, b, s, 4, x, TIDAL_F32), TIDAL_ERR_INVALID_ARGUMENT);
  auto bad_pow2 = codec(TIDAL_FP8_E4M3, 4, 2);
  EXPECT_EQ(tidal_fp8_encode(&bad_pow2, x, TIDAL_F32, 4, b, s), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_fp8_encode(&c, x, TIDAL_I32, 4, b, s), TIDAL_ERR_UNSUPPORTED);
  EXPECT_EQ(tidal_fp8_decode(&c, b, s, 4, x, TIDAL_F64), TIDAL_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(tidal_last_error()).find("f32, bf16 or f16"), std::string::npos);
  tidal_fp8_codec_t unsized = c;
  unsized.size = 3;
  EXPECT_EQ(tidal_fp8_encode(&unsized, x, TIDAL_F32, 4, b, s), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("TIDAL_FP8_CODEC_INITIALIZER"),
            std::string::npos);
}

#ifdef TIDAL_TEST_PYTHON_EXE
namespace {

// Writes `bytes` to dir/name.
void write_file(const std::string& path, const void* data, size_t bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
}

// Inputs with every class of value the codec treats apart: varied
// magnitudes, exact ties at scale 1, zeros, subnormals, NaN, infinities,
// FLT_MAX, a block of only specials, a short tail block.
std::vector<float> reference_inputs(size_t block) {
  std::vector<float> x = varied_magnitudes(block * 40, block, 5);
  std::vector<float> ties = {448.0f, 1.0625f, 1.1875f, 3.125f, -3.875f, 0.0146484375f, 57344.0f};
  std::vector<float> special = {kNaN, kInf, -kInf, 0.0f, -0.0f, 1e-40f, -3e-39f, FLT_MAX,
                                -FLT_MAX, FLT_MIN, 1e-45f, 12.5f};
  for (size_t i = 0; i < block; ++i) x.push_back(ties[i % ties.size()] * (i % 3 ? 1.0f : -1.0f));
  for (size_t i = 0; i < block; ++i) x.push_back(special[i % special.size()]);
  for (size_t i = 0; i < block; ++i) x.push_back(i % 2 ? kNaN : -kInf);
  for (size_t i = 0; i < block; ++i) x.push_back(0.0f);
  for (size_t i = 0; i < block; ++i) x.push_back(std::ldexp(1.0f + i, -140));  // subnormal
  for (size_t i = 0; i < block / 2 + 1; ++i) x.push_back(std::ldexp(0.75f + i, 20));
  return x;
}

}  // namespace

TEST(Fp8Codec, EqualsTheNumpyAndMlDtypesReferenceBitForBit) {
  char pattern[] = "/tmp/tidal-fp8-test-XXXXXX";
  const std::string dir = mkdtemp(pattern);
  std::ofstream manifest(dir + "/cases.txt");
  int cases = 0;
  for (tidal_dtype_t f : {TIDAL_FP8_E4M3, TIDAL_FP8_E5M2}) {
    for (size_t block : {size_t(1), size_t(32), size_t(128)}) {
      for (int pow2 : {0, 1}) {
        for (tidal_dtype_t vd : {TIDAL_F32, TIDAL_BF16, TIDAL_F16}) {
          auto c = codec(f, block, pow2);
          std::vector<float> x = reference_inputs(block);
          const size_t n = x.size(), ns = tidal_fp8_scale_count(n, block);
          std::vector<uint8_t> src(n * tidal_dtype_size(vd)), bytes(n), out(n * tidal_dtype_size(vd));
          for (size_t i = 0; i < n; ++i) {
            if (vd == TIDAL_F32) std::memcpy(&src[4 * i], &x[i], 4);
            uint16_t h = vd == TIDAL_BF16 ? tidal::float_to_bf16(x[i]) : tidal::float_to_f16(x[i]);
            if (vd != TIDAL_F32) std::memcpy(&src[2 * i], &h, 2);
          }
          std::vector<float> scales(ns);
          ASSERT_EQ(tidal_fp8_encode(&c, src.data(), vd, n, bytes.data(), scales.data()),
                    TIDAL_SUCCESS);
          ASSERT_EQ(tidal_fp8_decode(&c, bytes.data(), scales.data(), n, out.data(), vd),
                    TIDAL_SUCCESS);
          const std::string name = "case" + std::to_string(cases++);
          write_file(dir + "/" + name + ".in", src.data(), src.size());
          write_file(dir + "/" + name + ".fp8", bytes.data(), bytes.size());
          write_file(dir + "/" + name + ".scales", scales.data(), scales.size() * 4);
          write_file(dir + "/" + name + ".out", out.data(), out.size());
          manifest << name << ' ' << tidal_dtype_name(f) << ' ' << block << ' ' << pow2 << ' '
                   << tidal_dtype_name(vd) << ' ' << n << '\n';
        }
      }
    }
  }
  manifest.close();
  const std::string line = std::string(TIDAL_TEST_PYTHON_EXE) + " " +
                           TIDAL_FP8_REFERENCE_SCRIPT + " " + dir;
  const int status = std::system(line.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << line;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  EXPECT_EQ(cases, 36);
}
#endif
