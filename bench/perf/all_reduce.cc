// all_reduce — every rank receives the reduction of all sendbufs.
// size = count * element size, busbw = algbw * 2(n-1)/n (nccl-tests).
#include "bench/perf/perf_collectives.h"

namespace tidal_perf {
namespace {

CollCounts counts(size_t count, int) {
  CollCounts c;
  c.send_count = c.recv_count = c.param_count = count;  // in place: sendbuf == recvbuf
  return c;
}

double alg_bytes(size_t count, size_t element_size, int) {
  return static_cast<double>(count) * element_size;
}

double bus_factor(int nranks) { return 2.0 * (nranks - 1) / nranks; }

tidal_status_t post(const CollCall& c, std::vector<tidal_request_t>* requests) {
  tidal_request_t r = nullptr;
  tidal_status_t s = tidal_all_reduce(c.send, c.recv, c.count, c.dtype, c.op, c.comm, &r);
  if (s == TIDAL_SUCCESS) requests->push_back(r);
  return s;
}

void fill_input(const RankData& d, void* send) {
  fill_reduction_input(d.plan, d.rank, 0, d.counts.send_count, send);
}

void fill_expected(const RankData& d, void* expected) {
  fill_reduction_result(d.plan, 0, d.counts.recv_count, expected);
}

}  // namespace

const CollectiveTest& all_reduce_test() {
  static const CollectiveTest test{"all_reduce_perf", true, false, true, false, 1,
                                   counts, alg_bytes, bus_factor, post, fill_input,
                                   fill_expected};
  return test;
}

}  // namespace tidal_perf
