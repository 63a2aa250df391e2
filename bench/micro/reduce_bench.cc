// reduce_bench — the host reduction kernels (lib/core/reduce.h) that the
// local and MPI transports and the ring schedules run per hop.
//
//   BM_ReduceInto/<dtype>/<elements>: acc[i] = acc[i] + in[i]. Bytes
//     counted: the bytes of `in` read per call (what a ring step moves).
//   BM_ReduceMany/<dtype>/<elements>/<n>: out = in[0] + ... + in[n-1].
//     Bytes counted: n inputs.
//   BM_Memcpy/<bytes>: the bound, memcpy of the same input bytes.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "lib/core/dtype.h"
#include "lib/core/reduce.h"

namespace {

const tidal_dtype_t kDtypes[] = {TIDAL_F32, TIDAL_BF16, TIDAL_F16, TIDAL_FP8_E4M3,
                                 TIDAL_FP8_E5M2};

// Zeros (exact in every dtype): the sums stay finite and take the normal
// arithmetic path on every iteration.
std::vector<unsigned char> zeros(tidal_dtype_t dtype, size_t count) {
  const size_t es = tidal::dtype_size(dtype);
  std::vector<unsigned char> buf(count * es);
  for (size_t i = 0; i < count; ++i) {
    switch (dtype) {
      case TIDAL_F32: { float f = 0.0f; std::memcpy(&buf[i * es], &f, 4); break; }
      case TIDAL_BF16: { uint16_t h = tidal::float_to_bf16(0.0f); std::memcpy(&buf[i * es], &h, 2); break; }
      case TIDAL_F16: { uint16_t h = tidal::float_to_f16(0.0f); std::memcpy(&buf[i * es], &h, 2); break; }
      case TIDAL_FP8_E4M3: buf[i] = tidal::float_to_e4m3(0.0f); break;
      default: buf[i] = tidal::float_to_e5m2(0.0f); break;
    }
  }
  return buf;
}

void BM_ReduceInto(benchmark::State& state) {
  const auto dtype = static_cast<tidal_dtype_t>(state.range(0));
  const size_t count = static_cast<size_t>(state.range(1));
  std::vector<unsigned char> acc = zeros(dtype, count), in = zeros(dtype, count);
  for (auto _ : state) {
    tidal::reduce_into(acc.data(), in.data(), count, dtype, TIDAL_SUM);
    benchmark::DoNotOptimize(acc.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
  state.SetLabel(tidal_dtype_name(dtype));
}

void BM_ReduceMany(benchmark::State& state) {
  const auto dtype = static_cast<tidal_dtype_t>(state.range(0));
  const size_t count = static_cast<size_t>(state.range(1));
  const int n = static_cast<int>(state.range(2));
  std::vector<std::vector<unsigned char>> inputs;
  std::vector<const void*> pointers;
  for (int r = 0; r < n; ++r) inputs.push_back(zeros(dtype, count));
  for (const auto& in : inputs) pointers.push_back(in.data());
  std::vector<unsigned char> out = zeros(dtype, count);
  for (auto _ : state) {
    tidal::reduce_many(out.data(), pointers.data(), n, count, dtype, TIDAL_SUM);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * out.size()));
  state.SetLabel(std::string(tidal_dtype_name(dtype)) + " n=" + std::to_string(n));
}

void BM_Memcpy(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0));
  std::vector<unsigned char> src(bytes, 1), dst(bytes);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void reduce_args(benchmark::internal::Benchmark* b) {
  for (tidal_dtype_t d : kDtypes) {
    for (int64_t count : {int64_t{4} << 10, int64_t{1} << 20}) b->Args({d, count});
  }
}

void reduce_many_args(benchmark::internal::Benchmark* b) {
  for (tidal_dtype_t d : kDtypes) b->Args({d, int64_t{1} << 20, 4});
  b->Args({TIDAL_F32, int64_t{1} << 20, 8});
}

}  // namespace

BENCHMARK(BM_ReduceInto)->Apply(reduce_args)->ArgNames({"dtype", "count"});
BENCHMARK(BM_ReduceMany)->Apply(reduce_many_args)->ArgNames({"dtype", "count", "n"});
BENCHMARK(BM_Memcpy)->Arg(16 << 10)->Arg(4 << 20);
