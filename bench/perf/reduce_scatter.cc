// reduce_scatter — rank r receives the reduction over ranks of block r of
// every sendbuf. size = the sendbuf, count = elements per rank received,
// busbw = algbw * (n-1)/n (nccl-tests' definitions).
#include "bench/perf/perf_collectives.h"

namespace tidal_perf {
namespace {

CollCounts counts(size_t count, int nranks) {
  CollCounts c;
  c.recv_count = count / nranks;
  c.send_count = c.recv_count * nranks;
  c.param_count = c.recv_count;
  c.recv_inplace_offset = c.recv_count;  // recvbuf == sendbuf + rank*recvcount
  return c;
}

double alg_bytes(size_t count, size_t element_size, int nranks) {
  return static_cast<double>(count) * element_size * nranks;
}

double bus_factor(int nranks) { return static_cast<double>(nranks - 1) / nranks; }

tidal_status_t post(const CollCall& c, std::vector<tidal_request_t>* requests) {
  tidal_request_t r = nullptr;
  tidal_status_t s = tidal_reduce_scatter(c.send, c.recv, c.count, c.dtype, c.op, c.comm, &r);
  if (s == TIDAL_SUCCESS) requests->push_back(r);
  return s;
}

void fill_input(const RankData& d, void* send) {
  fill_reduction_input(d.plan, d.rank, 0, d.counts.send_count, send);
}

void fill_expected(const RankData& d, void* expected) {
  fill_reduction_result(d.plan, d.rank * d.counts.recv_count, d.counts.recv_count, expected);
}

}  // namespace

const CollectiveTest& reduce_scatter_test() {
  static const CollectiveTest test{"reduce_scatter_perf", true, false, true, false, 1,
                                   counts, alg_bytes, bus_factor, post, fill_input,
                                   fill_expected, /*bucketed_kind=*/1};
  return test;
}

}  // namespace tidal_perf
