// broadcast — the root's buffer reaches every rank. size = count *
// element size, root = -r, busbw = algbw (nccl-tests).
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

double bus_factor(int) { return 1.0; }

tidal_status_t post(const CollCall& c, std::vector<tidal_request_t>* requests) {
  tidal_request_t r = nullptr;
  tidal_status_t s = tidal_broadcast(c.send, c.recv, c.count, c.dtype, c.root, c.comm, &r);
  if (s == TIDAL_SUCCESS) requests->push_back(r);
  return s;
}

// Only the root has data; the other ranks' recvbufs stay poisoned until
// the broadcast fills them.
void fill_input(const RankData& d, void* send) {
  if (d.rank == d.root) fill_copy_input(d.plan, d.root, 0, d.counts.send_count, send);
}

void fill_expected(const RankData& d, void* expected) {
  fill_copy_input(d.plan, d.root, 0, d.counts.recv_count, expected);
}

}  // namespace

const CollectiveTest& broadcast_test() {
  static const CollectiveTest test{"broadcast_perf", false, true, true, false, 1,
                                   counts, alg_bytes, bus_factor, post, fill_input,
                                   fill_expected};
  return test;
}

}  // namespace tidal_perf
