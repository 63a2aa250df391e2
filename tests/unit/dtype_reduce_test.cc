// Scalar conversions (IEEE f16, bf16, OCP FP8) and the reduction kernels.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <climits>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "lib/core/cpu_kernels.h"
#include "lib/core/dtype.h"
#include "lib/core/reduce.h"

namespace {

using namespace tidal;

TEST(F16, KnownValuesEncodeToTheirBitPatterns) {
  EXPECT_EQ(float_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(float_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(float_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(float_to_f16(65520.0f), 0x7C00);  // ties to even rounds up to inf
  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -26)), 0x0000);  // below half the min subnormal
  EXPECT_EQ(float_to_f16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_TRUE(std::isnan(f16_to_float(float_to_f16(NAN))));
}

TEST(F16, EveryFiniteCodeRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = f16_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_f16(f), h) << std::hex << h;
  }
}

TEST(BF16, RoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);       // tie → even
  EXPECT_EQ(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);   // tie → even (up)
  EXPECT_EQ(bf16_to_float(0x4049), 3.140625f);
  for (uint32_t b = 0; b < 0x10000; ++b) {
    float f = bf16_to_float(static_cast<uint16_t>(b));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_bf16(f), b) << std::hex << b;
  }
}

TEST(E4M3, KnownValuesAndSaturation) {
  EXPECT_EQ(float_to_e4m3(1.0f), 0x38);
  EXPECT_EQ(float_to_e4m3(0.5f), 0x30);
  EXPECT_EQ(float_to_e4m3(448.0f), 0x7E);
  EXPECT_EQ(float_to_e4m3(-448.0f), 0xFE);
  EXPECT_EQ(float_to_e4m3(464.0f), 0x7E);         // tie between 448 and 480: even 448
  EXPECT_EQ(float_to_e4m3(470.0f), 0x7F);         // overflow → NaN (no infinities)
  EXPECT_EQ(float_to_e4m3(1e6f, true), 0x7E);     // saturating mode clamps
  EXPECT_EQ(float_to_e4m3(-1e6f, true), 0xFE);
  EXPECT_EQ(float_to_e4m3(std::ldexp(1.0f, -9)), 0x01);  // min subnormal
  EXPECT_EQ(e4m3_to_float(0x7E), 448.0f);
  EXPECT_TRUE(std::isnan(e4m3_to_float(0x7F)));
  EXPECT_TRUE(std::isnan(e4m3_to_float(0xFF)));
}

TEST(E5M2, KnownValuesAndInfinity) {
  EXPECT_EQ(float_to_e5m2(1.0f), 0x3C);
  EXPECT_EQ(float_to_e5m2(57344.0f), 0x7B);
  EXPECT_EQ(float_to_e5m2(1e9f), 0x7C);          // overflow → inf
  EXPECT_EQ(float_to_e5m2(1e9f, true), 0x7B);    // saturating
  EXPECT_EQ(e5m2_to_float(0x7C), std::numeric_limits<float>::infinity());
}

TEST(Fp8, EveryFiniteCodeRoundTrips) {
  for (uint32_t v = 0; v < 256; ++v) {
    float a = e4m3_to_float(static_cast<uint8_t>(v));
    if (!std::isnan(a)) EXPECT_EQ(float_to_e4m3(a), v) << "e4m3 " << v;
    float b = e5m2_to_float(static_cast<uint8_t>(v));
    if (!std::isnan(b)) EXPECT_EQ(float_to_e5m2(b), v) << "e5m2 " << v;
  }
}

// The FP8 encoders against a straightforward reference (frexp, ldexp,
// nearbyint: the encoders tidal had before the branch-free ones), over
// every 16-bit top half of a float with low halves that probe the rounding
// (zero, one, just below / at / above the halfway point of the lower
// bits, all ones), saturating or not: every class of float, every
// exponent, every tie.
uint32_t reference_small(float a, int ebits, int mbits, uint32_t max_bits, uint32_t overflow) {
  const int bias = (1 << (ebits - 1)) - 1;
  if (a == 0.0f) return 0;
  int exp;
  std::frexp(a, &exp);
  int e = exp - 1;
  const int min_normal = 1 - bias;
  const int q = (e < min_normal ? min_normal : e) - mbits;
  const uint32_t n = static_cast<uint32_t>(std::nearbyint(std::ldexp(a, -q)));
  uint32_t bits;
  if (e < min_normal) {
    bits = n;
  } else {
    uint32_t m = n;
    if (m >= (2u << mbits)) {
      m >>= 1;
      e += 1;
    }
    bits = (static_cast<uint32_t>(e + bias) << mbits) | (m & ((1u << mbits) - 1));
  }
  return bits > max_bits ? overflow : bits;
}
uint8_t reference_e4m3(float f, bool saturate) {
  const uint8_t sign = std::signbit(f) ? 0x80 : 0;
  if (std::isnan(f)) return 0x7f;
  if (std::isinf(f)) return saturate ? (sign | 0x7e) : 0x7f;
  const uint32_t bits = reference_small(std::fabs(f), 4, 3, 0x7e, saturate ? 0x7e : 0x7f);
  return bits == 0x7f ? 0x7f : static_cast<uint8_t>(sign | bits);
}
uint8_t reference_e5m2(float f, bool saturate) {
  const uint8_t sign = std::signbit(f) ? 0x80 : 0;
  if (std::isnan(f)) return 0x7f;
  if (std::isinf(f)) return sign | (saturate ? 0x7b : 0x7c);
  return sign | static_cast<uint8_t>(
                    reference_small(std::fabs(f), 5, 2, 0x7b, saturate ? 0x7b : 0x7c));
}

TEST(Fp8, EncodersMatchTheReferenceOverEveryExponentAndTie) {
  const uint32_t lows[] = {0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff, 0x4000, 0xc000};
  for (uint32_t top = 0; top < 0x10000; ++top) {
    for (uint32_t low : lows) {
      const uint32_t u = top << 16 | low;
      float f;
      std::memcpy(&f, &u, 4);
      for (bool saturate : {false, true}) {
        ASSERT_EQ(float_to_e4m3(f, saturate), reference_e4m3(f, saturate))
            << std::hex << "e4m3 of 0x" << u << " saturate " << saturate;
        ASSERT_EQ(float_to_e5m2(f, saturate), reference_e5m2(f, saturate))
            << std::hex << "e5m2 of 0x" << u << " saturate " << saturate;
        // The mask-select variants (vectorised loops) give the same bits.
        ASSERT_EQ(float_to_e4m3<true>(f, saturate), reference_e4m3(f, saturate))
            << std::hex << "masked e4m3 of 0x" << u << " saturate " << saturate;
        ASSERT_EQ(float_to_e5m2<true>(f, saturate), reference_e5m2(f, saturate))
            << std::hex << "masked e5m2 of 0x" << u << " saturate " << saturate;
      }
    }
  }
}

TEST(Fp8, MidpointsRoundToEven) {
  // Between 1.0 (0x38) and 1.125 (0x39) in e4m3: 1.0625 ties to the even 0x38.
  EXPECT_EQ(float_to_e4m3(1.0625f), 0x38);
  // Between 1.125 (0x39) and 1.25 (0x3A): 1.1875 ties to the even 0x3A.
  EXPECT_EQ(float_to_e4m3(1.1875f), 0x3A);
  EXPECT_EQ(float_to_e4m3(1.07f), 0x39);
}

TEST(Reduce, IntoAppliesEachOpElementwise) {
  std::vector<int32_t> acc = {1, 5, -3}, in = {4, 2, 7};
  auto a = acc;
  reduce_into(a.data(), in.data(), 3, TIDAL_I32, TIDAL_SUM);
  EXPECT_EQ(a, (std::vector<int32_t>{5, 7, 4}));
  a = acc;
  reduce_into(a.data(), in.data(), 3, TIDAL_I32, TIDAL_PROD);
  EXPECT_EQ(a, (std::vector<int32_t>{4, 10, -21}));
  a = acc;
  reduce_into(a.data(), in.data(), 3, TIDAL_I32, TIDAL_MAX);
  EXPECT_EQ(a, (std::vector<int32_t>{4, 5, 7}));
  a = acc;
  reduce_into(a.data(), in.data(), 3, TIDAL_I32, TIDAL_MIN);
  EXPECT_EQ(a, (std::vector<int32_t>{1, 2, -3}));
}

// reduce_to(out, a, b) is bit for bit reduce_into on a copy of a, for every
// type and op, whether out is elsewhere or a itself.
TEST(Reduce, ToOtherMemoryEqualsCopyThenFoldForEveryTypeAndOp) {
  const tidal_dtype_t types[] = {TIDAL_F32, TIDAL_F64, TIDAL_I32, TIDAL_I64, TIDAL_U8,
                                 TIDAL_F16, TIDAL_BF16, TIDAL_FP8_E4M3, TIDAL_FP8_E5M2};
  const tidal_op_t ops[] = {TIDAL_SUM, TIDAL_PROD, TIDAL_MAX, TIDAL_MIN, TIDAL_AVG};
  const size_t count = 1031;  // odd: the vector loops' tails too
  for (tidal_dtype_t t : types) {
    const size_t bytes = count * dtype_size(t);
    std::vector<uint8_t> a(bytes), b(bytes);
    for (size_t i = 0; i < bytes; ++i) {  // small mixed-sign values in every type
      a[i] = static_cast<uint8_t>((i * 37 + 11) % 61);
      b[i] = static_cast<uint8_t>((i * 53 + 7) % 59);
    }
    for (tidal_op_t op : ops) {
      std::vector<uint8_t> expected = a, out(bytes, 0xEE), in_place = a;
      reduce_into(expected.data(), b.data(), count, t, op);
      reduce_to(out.data(), a.data(), b.data(), count, t, op);
      EXPECT_EQ(out, expected) << tidal_dtype_name(t) << " op " << op;
      reduce_to(in_place.data(), in_place.data(), b.data(), count, t, op);
      EXPECT_EQ(in_place, expected) << tidal_dtype_name(t) << " op " << op << " (out = a)";
    }
  }
}

// Folds and averages of a 16-bit float type (vectorised where the CPU has
// AVX512-BF16 or F16C) are bit for bit the scalar formula for every class
// of value: random bit patterns (NaNs, infinities, subnormals), the named
// pairs (cancellations that land on a subnormal, ties, signed zeros,
// overflow), out elsewhere and in place, with tails.
void check_16_bit_folds(tidal_dtype_t t, float (*decode)(uint16_t), uint16_t (*encode)(float),
                        const std::vector<std::pair<uint16_t, uint16_t>>& pairs) {
  std::mt19937 rng(3);
  const size_t count = 4099;
  std::vector<uint16_t> a(count), b(count);
  for (size_t i = 0; i < count; ++i) {
    a[i] = static_cast<uint16_t>(rng());
    b[i] = static_cast<uint16_t>(rng());
  }
  for (size_t i = 0; i < pairs.size(); ++i) {
    a[i * 41] = pairs[i].first;
    b[i * 41] = pairs[i].second;
  }
  auto formula = [](float x, float y, tidal_op_t op) {
    switch (op) {
      case TIDAL_PROD: return x * y;
      case TIDAL_MAX: return x < y ? y : x;
      case TIDAL_MIN: return y < x ? y : x;
      default: return x + y;
    }
  };
  for (tidal_op_t op : {TIDAL_SUM, TIDAL_PROD, TIDAL_MAX, TIDAL_MIN, TIDAL_AVG}) {
    std::vector<uint16_t> out(count), in_place = a;
    reduce_to(out.data(), a.data(), b.data(), count, t, op);
    reduce_into(in_place.data(), b.data(), count, t, op);
    for (size_t i = 0; i < count; ++i) {
      if (std::isnan(decode(a[i])) && std::isnan(decode(b[i]))) {
        // Two NaNs: which one's sign and payload the result keeps is not
        // specified (as in IEEE 754; the compiler may swap the operands
        // of a commutative op). It is a NaN.
        ASSERT_TRUE(std::isnan(decode(out[i])) && std::isnan(decode(in_place[i])))
            << tidal_dtype_name(t) << " op " << op << " at " << i;
        continue;
      }
      const uint16_t want = encode(formula(decode(a[i]), decode(b[i]), op));
      ASSERT_EQ(out[i], want) << tidal_dtype_name(t) << " op " << op << " at " << i << ": "
                              << a[i] << ", " << b[i];
      ASSERT_EQ(in_place[i], want) << tidal_dtype_name(t) << " op " << op << " in place at " << i;
    }
  }
  for (int divisor : {1, 3, 4, 7, 1024}) {
    std::vector<uint16_t> divided = a;
    divide_by(divided.data(), count, t, divisor);
    for (size_t i = 0; i < count; ++i) {
      ASSERT_EQ(divided[i], encode(decode(a[i]) / static_cast<float>(divisor)))
          << tidal_dtype_name(t) << " divisor " << divisor << " at " << i << ": " << a[i];
    }
  }
}

// The CPU's conversion instructions (where it has them) and the portable
// loops, in turn: both must give the formula's bits.
class NarrowFloatFolds : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { set_portable_cpu_kernels(GetParam()); }
  void TearDown() override { set_portable_cpu_kernels(false); }
};

TEST_P(NarrowFloatFolds, Bf16MatchesTheScalarFormulaForEveryClassOfValue) {
  check_16_bit_folds(TIDAL_BF16, bf16_to_float, float_to_bf16,
                     {{0x00c0, 0x8080}, {0x0001, 0x8000}, {0x8000, 0x0000}, {0x7f80, 0xff80},
                      {0x7f7f, 0x7f7f}, {0x7fc1, 0x3f80}, {0x3f80, 0xff81}, {0x0080, 0x8001},
                      {0x4380, 0x3f80}});
}

TEST_P(NarrowFloatFolds, F16MatchesTheScalarFormulaForEveryClassOfValue) {
  check_16_bit_folds(TIDAL_F16, f16_to_float, float_to_f16,
                     {{0x0600, 0x8400}, {0x0001, 0x8000}, {0x8000, 0x0000}, {0x7c00, 0xfc00},
                      {0x7bff, 0x7bff}, {0x7c01, 0x3c00}, {0x3c00, 0xfe01}, {0x0400, 0x8001},
                      {0x6400, 0x3c00}, {0x7bff, 0x5000}, {0x7e7d, 0xfccd}});
}

// FP8 folds, exhaustively: every pair of bytes under every op (out
// elsewhere and in place, a count with a tail), every byte divided by
// several divisors, against decode -> f32 formula -> non-saturating encode.
TEST_P(NarrowFloatFolds, Fp8MatchesTheScalarFormulaForEveryPairOfBytes) {
  for (tidal_dtype_t t : {TIDAL_FP8_E4M3, TIDAL_FP8_E5M2}) {
    const bool e4m3 = t == TIDAL_FP8_E4M3;
    auto decode = [e4m3](uint8_t v) { return e4m3 ? e4m3_to_float(v) : e5m2_to_float(v); };
    auto encode = [e4m3](float v) { return e4m3 ? float_to_e4m3(v) : float_to_e5m2(v); };
    std::vector<uint8_t> a, b;
    for (int x = 0; x < 256; ++x) {
      for (int y = 0; y < 256; ++y) {
        a.push_back(static_cast<uint8_t>(x));
        b.push_back(static_cast<uint8_t>(y));
      }
    }
    a.push_back(0x3c);  // a tail past the last full chunk
    b.push_back(0x41);
    const size_t count = a.size();
    for (tidal_op_t op : {TIDAL_SUM, TIDAL_PROD, TIDAL_MAX, TIDAL_MIN, TIDAL_AVG}) {
      std::vector<uint8_t> out(count), in_place = a;
      reduce_to(out.data(), a.data(), b.data(), count, t, op);
      reduce_into(in_place.data(), b.data(), count, t, op);
      for (size_t i = 0; i < count; ++i) {
        const float x = decode(a[i]), y = decode(b[i]);
        const float r = op == TIDAL_PROD ? x * y
                        : op == TIDAL_MAX ? (x < y ? y : x)
                        : op == TIDAL_MIN ? (y < x ? y : x)
                                          : x + y;
        ASSERT_EQ(out[i], encode(r)) << tidal_dtype_name(t) << " op " << op << ": "
                                     << int(a[i]) << ", " << int(b[i]);
        ASSERT_EQ(in_place[i], out[i]) << tidal_dtype_name(t) << " op " << op << " in place";
      }
    }
    for (int divisor : {1, 3, 4, 7, 1024}) {
      std::vector<uint8_t> divided = a;
      divide_by(divided.data(), count, t, divisor);
      for (size_t i = 0; i < count; ++i) {
        ASSERT_EQ(divided[i], encode(decode(a[i]) / static_cast<float>(divisor)))
            << tidal_dtype_name(t) << " divisor " << divisor << ": " << int(a[i]);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, NarrowFloatFolds, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "portable" : "native";
                         });

TEST(Reduce, NarrowFloatsRoundAfterEveryStep) {
  // bf16: 256 + 1 rounds back to 256 at each step, so the fold is 256.
  std::vector<uint16_t> acc = {float_to_bf16(256.0f)};
  uint16_t one = float_to_bf16(1.0f);
  for (int i = 0; i < 4; ++i) reduce_into(acc.data(), &one, 1, TIDAL_BF16, TIDAL_SUM);
  EXPECT_EQ(bf16_to_float(acc[0]), 256.0f);
}

TEST(Reduce, ManyFoldsInRankOrderAndAveragesAtTheEnd) {
  std::vector<float> r0 = {1, 2}, r1 = {3, 4}, r2 = {5, 9};
  const void* in[] = {r0.data(), r1.data(), r2.data()};
  std::vector<float> out(2);
  reduce_many(out.data(), in, 3, 2, TIDAL_F32, TIDAL_AVG);
  EXPECT_EQ(out, (std::vector<float>{3, 5}));
  reduce_many(r0.data(), in, 3, 2, TIDAL_F32, TIDAL_SUM);  // out aliases in[0]
  EXPECT_EQ(r0, (std::vector<float>{9, 15}));
}

TEST(Reduce, IntegerAverageTruncatesTowardZero) {
  std::vector<int64_t> v = {7, -7, 9};
  divide_by(v.data(), 3, TIDAL_I64, 2);
  EXPECT_EQ(v, (std::vector<int64_t>{3, -3, 4}));
}

// Signed overflow in the user's data wraps (two's complement), as MPI and
// NCCL give it, rather than being undefined behaviour in the kernel.
TEST(Reduce, SignedIntegerOverflowWrapsModulo2ToTheBits) {
  int32_t a[2] = {INT32_MAX, INT32_MIN}, b[2] = {1, -1};
  reduce_into(a, b, 2, TIDAL_I32, TIDAL_SUM);
  EXPECT_EQ(a[0], INT32_MIN);
  EXPECT_EQ(a[1], INT32_MAX);
  int64_t p = int64_t(1) << 62, two = 4;
  reduce_into(&p, &two, 1, TIDAL_I64, TIDAL_PROD);
  EXPECT_EQ(p, 0);
  int32_t out = 0, x = 0x10000, y = 0x10001;
  reduce_to(&out, &x, &y, 1, TIDAL_I32, TIDAL_PROD);
  EXPECT_EQ(out, 0x10000);  // 2^32 + 2^16 wraps to 2^16
}

TEST(Reduce, U8SumWrapsModulo256LikeMpi) {
  uint8_t a = 200, b = 100;
  reduce_into(&a, &b, 1, TIDAL_U8, TIDAL_SUM);
  EXPECT_EQ(a, 44);
}

}  // namespace
