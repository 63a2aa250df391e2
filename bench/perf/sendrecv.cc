// sendrecv — every rank sends to rank+1 and receives from rank-1 (a ring
// shift). size = count * element size, busbw = algbw (nccl-tests). In
// place, the send and the receive share one buffer; that is sound on host
// backends, whose sends are buffered before the receive runs, but not on
// NCCL (a send waits for its receive), so there the in-place half is N/A.
#include "bench/perf/perf_collectives.h"

namespace tidal_perf {
namespace {

CollCounts counts(size_t count, int) {
  CollCounts c;
  c.send_count = c.recv_count = c.param_count = count;
  return c;
}

double alg_bytes(size_t count, size_t element_size, int) {
  return static_cast<double>(count) * element_size;
}

double bus_factor(int) { return 1.0; }

tidal_status_t post_one(bool send, const CollCall& c, std::vector<tidal_request_t>* requests) {
  tidal_request_t r = nullptr;
  const int next = (c.rank + 1) % c.nranks;
  const int prev = (c.rank + c.nranks - 1) % c.nranks;
  tidal_status_t s = send ? tidal_send(c.send, c.count, c.dtype, next, 0, c.comm, &r)
                          : tidal_recv(c.recv, c.count, c.dtype, prev, 0, c.comm, &r);
  if (s == TIDAL_SUCCESS) requests->push_back(r);
  return s;
}

// Host sends are eager, so send first. NCCL sends block until the peer
// receives: odd ranks receive first so the ring cannot wait on itself.
tidal_status_t post(const CollCall& c, std::vector<tidal_request_t>* requests) {
  const bool send_first = !c.device_memory || c.rank % 2 == 0;
  tidal_status_t s = post_one(send_first, c, requests);
  return s == TIDAL_SUCCESS ? post_one(!send_first, c, requests) : s;
}

void fill_input(const RankData& d, void* send) {
  fill_copy_input(d.plan, d.rank, 0, d.counts.send_count, send);
}

void fill_expected(const RankData& d, void* expected) {
  const int prev = (d.rank + d.plan.nranks - 1) % d.plan.nranks;
  fill_copy_input(d.plan, prev, 0, d.counts.recv_count, expected);
}

}  // namespace

const CollectiveTest& sendrecv_test() {
  static const CollectiveTest test{"sendrecv_perf", false, false, true, true, 2,
                                   counts, alg_bytes, bus_factor, post, fill_input,
                                   fill_expected};
  return test;
}

}  // namespace tidal_perf
