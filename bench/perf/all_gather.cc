// all_gather — rank r's sendcount elements land in block r of every rank's
// recvbuf. size = the gathered buffer, count = elements per rank,
// busbw = algbw * (n-1)/n (nccl-tests' definitions).
#include "bench/perf/perf_collectives.h"

namespace tidal_perf {
namespace {

CollCounts counts(size_t count, int nranks) {
  CollCounts c;
  c.send_count = count / nranks;
  c.recv_count = c.send_count * nranks;
  c.param_count = c.send_count;
  c.send_inplace_offset = c.send_count;  // sendbuf == recvbuf + rank*sendcount
  return c;
}

double alg_bytes(size_t count, size_t element_size, int nranks) {
  return static_cast<double>(count) * element_size * nranks;
}

double bus_factor(int nranks) { return static_cast<double>(nranks - 1) / nranks; }

tidal_status_t post(const CollCall& c, std::vector<tidal_request_t>* requests) {
  tidal_request_t r = nullptr;
  tidal_status_t s = tidal_all_gather(c.send, c.recv, c.count, c.dtype, c.comm, &r);
  if (s == TIDAL_SUCCESS) requests->push_back(r);
  return s;
}

void fill_input(const RankData& d, void* send) {
  fill_copy_input(d.plan, d.rank, 0, d.counts.send_count, send);
}

void fill_expected(const RankData& d, void* expected) {
  const size_t block = d.counts.send_count * tidal_dtype_size(d.plan.dtype);
  for (int r = 0; r < d.plan.nranks; ++r) {
    fill_copy_input(d.plan, r, 0, d.counts.send_count, static_cast<char*>(expected) + r * block);
  }
}

}  // namespace

const CollectiveTest& all_gather_test() {
  static const CollectiveTest test{"all_gather_perf", false, false, true, false, 1,
                                   counts, alg_bytes, bus_factor, post, fill_input,
                                   fill_expected, /*bucketed_kind=*/2};
  return test;
}

}  // namespace tidal_perf
