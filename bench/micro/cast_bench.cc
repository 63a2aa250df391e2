// cast_bench — the scalar dtype conversions of lib/core/dtype.h over whole
// arrays (what FP8 and bf16 communication and the fused pack/unpack casts
// do per element). Bytes counted: bytes read plus bytes written.
//
//   BM_CastFromF32/<dtype>/<count>: f32 -> bf16, f16, fp8 (round to nearest even)
//   BM_CastToF32/<dtype>/<count>:   bf16, f16, fp8 -> f32
//   BM_Fp8Encode/<dtype>/<count>/<block>: f32 -> block-scaled fp8 (the amax
//                                   pass, the scale, the rounding)
//   BM_Fp8Decode/<dtype>/<count>/<block>: block-scaled fp8 -> f32
//   BM_CopyF32/<count>:             memcpy of the f32 array, the bound
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "collectives/codecs/fp8_codec.h"
#include "lib/core/dtype.h"

namespace {

const tidal_dtype_t kNarrow[] = {TIDAL_BF16, TIDAL_F16, TIDAL_FP8_E4M3, TIDAL_FP8_E5M2};

// Values spread over the FP8 range, so rounding takes its real paths.
std::vector<float> sample_floats(size_t count) {
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = static_cast<float>((i * 7919) % 997) * 0.37f - 180.0f;
  return v;
}

void narrow(tidal_dtype_t dtype, const float* in, void* out, size_t count) {
  auto* o16 = static_cast<uint16_t*>(out);
  auto* o8 = static_cast<uint8_t*>(out);
  switch (dtype) {
    case TIDAL_BF16: for (size_t i = 0; i < count; ++i) o16[i] = tidal::float_to_bf16(in[i]); break;
    case TIDAL_F16: for (size_t i = 0; i < count; ++i) o16[i] = tidal::float_to_f16(in[i]); break;
    case TIDAL_FP8_E4M3: for (size_t i = 0; i < count; ++i) o8[i] = tidal::float_to_e4m3(in[i], true); break;
    default: for (size_t i = 0; i < count; ++i) o8[i] = tidal::float_to_e5m2(in[i], true); break;
  }
}

void widen(tidal_dtype_t dtype, const void* in, float* out, size_t count) {
  auto* i16 = static_cast<const uint16_t*>(in);
  auto* i8 = static_cast<const uint8_t*>(in);
  switch (dtype) {
    case TIDAL_BF16: for (size_t i = 0; i < count; ++i) out[i] = tidal::bf16_to_float(i16[i]); break;
    case TIDAL_F16: for (size_t i = 0; i < count; ++i) out[i] = tidal::f16_to_float(i16[i]); break;
    case TIDAL_FP8_E4M3: for (size_t i = 0; i < count; ++i) out[i] = tidal::e4m3_to_float(i8[i]); break;
    default: for (size_t i = 0; i < count; ++i) out[i] = tidal::e5m2_to_float(i8[i]); break;
  }
}

void BM_CastFromF32(benchmark::State& state) {
  const auto dtype = static_cast<tidal_dtype_t>(state.range(0));
  const size_t count = static_cast<size_t>(state.range(1));
  const std::vector<float> in = sample_floats(count);
  std::vector<unsigned char> out(count * tidal::dtype_size(dtype));
  for (auto _ : state) {
    narrow(dtype, in.data(), out.data(), count);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (count * 4 + out.size())));
  state.SetLabel(std::string("f32->") + tidal_dtype_name(dtype));
}

void BM_CastToF32(benchmark::State& state) {
  const auto dtype = static_cast<tidal_dtype_t>(state.range(0));
  const size_t count = static_cast<size_t>(state.range(1));
  std::vector<unsigned char> in(count * tidal::dtype_size(dtype));
  narrow(dtype, sample_floats(count).data(), in.data(), count);
  std::vector<float> out(count);
  for (auto _ : state) {
    widen(dtype, in.data(), out.data(), count);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (in.size() + count * 4)));
  state.SetLabel(std::string(tidal_dtype_name(dtype)) + "->f32");
}

tidal::Fp8Codec codec_of(const benchmark::State& state) {
  tidal::Fp8Codec c;
  c.format = static_cast<tidal_dtype_t>(state.range(0));
  c.block = static_cast<size_t>(state.range(2));
  return c;
}

void BM_Fp8Encode(benchmark::State& state) {
  const tidal::Fp8Codec c = codec_of(state);
  const size_t count = static_cast<size_t>(state.range(1));
  const std::vector<float> in = sample_floats(count);
  std::vector<uint8_t> out(count);
  std::vector<float> scales(tidal::fp8_scale_count(count, c.block));
  for (auto _ : state) {
    tidal::fp8_encode(c, in.data(), TIDAL_F32, count, out.data(), scales.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (count * 5 + scales.size() * 4)));
  state.SetLabel(std::string("f32->scaled ") + tidal_dtype_name(c.format));
}

void BM_Fp8Decode(benchmark::State& state) {
  const tidal::Fp8Codec c = codec_of(state);
  const size_t count = static_cast<size_t>(state.range(1));
  std::vector<uint8_t> in(count);
  std::vector<float> scales(tidal::fp8_scale_count(count, c.block)), out(count);
  tidal::fp8_encode(c, sample_floats(count).data(), TIDAL_F32, count, in.data(), scales.data());
  for (auto _ : state) {
    tidal::fp8_decode(c, in.data(), scales.data(), 0, count, out.data(), TIDAL_F32);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (count * 5 + scales.size() * 4)));
  state.SetLabel(std::string("scaled ") + tidal_dtype_name(c.format) + "->f32");
}

void BM_CopyF32(benchmark::State& state) {
  const size_t count = static_cast<size_t>(state.range(0));
  const std::vector<float> in = sample_floats(count);
  std::vector<float> out(count);
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), count * 4);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * count * 8));
}

void cast_args(benchmark::internal::Benchmark* b) {
  for (tidal_dtype_t d : kNarrow) b->Args({d, int64_t{1} << 20});
}

}  // namespace

BENCHMARK(BM_CastFromF32)->Apply(cast_args)->ArgNames({"dtype", "count"});
BENCHMARK(BM_CastToF32)->Apply(cast_args)->ArgNames({"dtype", "count"});
void fp8_args(benchmark::internal::Benchmark* b) {
  for (tidal_dtype_t d : {TIDAL_FP8_E4M3, TIDAL_FP8_E5M2}) {
    b->Args({d, int64_t{1} << 20, 32});
    b->Args({d, int64_t{1} << 20, 128});
    b->Args({d, int64_t{16} << 20, 128});
  }
}
BENCHMARK(BM_Fp8Encode)->Apply(fp8_args)->ArgNames({"dtype", "count", "block"});
BENCHMARK(BM_Fp8Decode)->Apply(fp8_args)->ArgNames({"dtype", "count", "block"});
BENCHMARK(BM_CopyF32)->Arg(1 << 20)->Arg(16 << 20);
