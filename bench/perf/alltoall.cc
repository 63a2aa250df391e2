// alltoall — block j of rank r's sendbuf lands in block r of rank j's
// recvbuf. size = the whole buffer, count = elements per block,
// busbw = algbw * (n-1)/n (nccl-tests). tidal's all-to-all is not in
// place (tidal.h), so the in-place half of the table reads N/A.
#include "bench/perf/perf_collectives.h"

namespace tidal_perf {
namespace {

CollCounts counts(size_t count, int nranks) {
  CollCounts c;
  c.param_count = count / nranks;
  c.send_count = c.recv_count = c.param_count * nranks;
  return c;
}

double alg_bytes(size_t count, size_t element_size, int nranks) {
  return static_cast<double>(count) * element_size * nranks;
}

double bus_factor(int nranks) { return static_cast<double>(nranks - 1) / nranks; }

tidal_status_t post(const CollCall& c, std::vector<tidal_request_t>* requests) {
  tidal_request_t r = nullptr;
  tidal_status_t s = tidal_all_to_all(c.send, c.recv, c.count, c.dtype, c.comm, &r);
  if (s == TIDAL_SUCCESS) requests->push_back(r);
  return s;
}

void fill_input(const RankData& d, void* send) {
  fill_copy_input(d.plan, d.rank, 0, d.counts.send_count, send);
}

// Block i comes from rank i: its elements rank*count .. (rank+1)*count.
void fill_expected(const RankData& d, void* expected) {
  const size_t block = d.counts.param_count;
  const size_t block_bytes = block * tidal_dtype_size(d.plan.dtype);
  for (int r = 0; r < d.plan.nranks; ++r) {
    fill_copy_input(d.plan, r, d.rank * block, block,
                    static_cast<char*>(expected) + r * block_bytes);
  }
}

}  // namespace

const CollectiveTest& alltoall_test() {
  static const CollectiveTest test{"alltoall_perf", false, false, false, false, 1,
                                   counts, alg_bytes, bus_factor, post, fill_input,
                                   fill_expected};
  return test;
}

}  // namespace tidal_perf
