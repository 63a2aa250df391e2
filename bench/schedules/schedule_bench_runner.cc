#include "bench/schedules/schedule_bench_runner.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace tidal_bench {
namespace {

using Clock = std::chrono::steady_clock;

tidal_status_t barrier(tidal_comm_t comm) {
  int32_t one = 1, all = 0;
  return tidal_all_reduce_ex(&one, &all, 1, TIDAL_I32, TIDAL_SUM, TIDAL_SCHEDULE_NATIVE, comm,
                             nullptr);
}

struct Buffers {
  std::vector<float> in, out;
};

tidal_status_t call(tidal_comm_t comm, Coll coll, size_t count, int n, Buffers& b,
                    tidal_schedule_t s) {
  switch (coll) {
    case Coll::kAllReduce:
      return tidal_all_reduce_ex(b.in.data(), b.out.data(), count, TIDAL_F32, TIDAL_SUM, s,
                                 comm, nullptr);
    case Coll::kAllGather:
      return tidal_all_gather_ex(b.in.data(), b.out.data(), count / n, TIDAL_F32, s, comm,
                                 nullptr);
    case Coll::kReduceScatter:
      return tidal_reduce_scatter_ex(b.in.data(), b.out.data(), count / n, TIDAL_F32, TIDAL_SUM,
                                     s, comm, nullptr);
  }
  return TIDAL_ERR_INVALID_ARGUMENT;
}

// One timed call: barrier, call, the slowest rank's seconds.
tidal_status_t timed(tidal_comm_t comm, Coll coll, size_t count, int n, Buffers& b,
                     tidal_schedule_t s, double* seconds) {
  tidal_status_t rc = barrier(comm);
  if (rc != TIDAL_SUCCESS) return rc;
  const auto t0 = Clock::now();
  rc = call(comm, coll, count, n, b, s);
  const double mine = std::chrono::duration<double>(Clock::now() - t0).count();
  if (rc != TIDAL_SUCCESS) return rc;
  return tidal_all_reduce_ex(&mine, seconds, 1, TIDAL_F64, TIDAL_MAX, TIDAL_SCHEDULE_NATIVE,
                             comm, nullptr);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The bound: the best of five memcpys of `bytes` (peak, not median: on a
// shared machine the best run is the closest to what the memory can do).
double memcpy_rate(size_t bytes) {
  std::vector<char> a(bytes, 1), b(bytes, 0);
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = Clock::now();
    std::memcpy(b.data(), a.data(), bytes);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return static_cast<double>(bytes) / best;
}

}  // namespace

double bus_factor(Coll coll, int n) {
  const double f = static_cast<double>(n - 1) / n;
  return coll == Coll::kAllReduce ? 2 * f : f;
}

const char* coll_name(Coll coll) {
  switch (coll) {
    case Coll::kAllReduce: return "all_reduce";
    case Coll::kAllGather: return "all_gather";
    case Coll::kReduceScatter: return "reduce_scatter";
  }
  return "?";
}

tidal_status_t run_schedule_sweep(tidal_comm_t comm, const BenchOptions& o,
                                  std::vector<SizeResult>* results) {
  int rank = 0, n = 1;
  tidal_comm_rank(comm, &rank);
  tidal_comm_size(comm, &n);
  for (size_t bytes : o.sizes) {
    const size_t count = std::max<size_t>(bytes / 4 / n, 1) * n;  // divisible by n
    Buffers b;
    const bool gathers = o.coll == Coll::kAllGather;
    b.in.assign(gathers ? count / n : count, 1.0f + rank);
    b.out.assign(o.coll == Coll::kReduceScatter ? count / n : count, 0.0f);
    const int reps = static_cast<int>(std::clamp<size_t>((size_t(64) << 20) / bytes, 3,
                                                         static_cast<size_t>(o.max_reps)));
    std::vector<std::vector<double>> times(o.schedules.size());
    for (int rep = -1; rep < reps; ++rep) {  // rep -1 warms up every schedule
      for (size_t k = 0; k < o.schedules.size(); ++k) {
        double t = 0;
        tidal_status_t rc = timed(comm, o.coll, count, n, b, o.schedules[k], &t);
        if (rc != TIDAL_SUCCESS) return rc;
        if (rep >= 0) times[k].push_back(t);
      }
    }
    if (rank != 0) continue;
    SizeResult r;
    r.bytes = count * 4;
    for (auto& t : times) r.median_s.push_back(median(t));
    r.memcpy_Bps = memcpy_rate(r.bytes);
    results->push_back(r);
  }
  return TIDAL_SUCCESS;
}

}  // namespace tidal_bench
