#include "bench/perf/perf_oob.h"

#include <cstring>

namespace tidal_perf {

int ThreadProcessAllGather::gather(int slot, const void* send, void* recv, size_t bytes) {
  std::unique_lock<std::mutex> lock(mutex_);
  const unsigned long my_generation = generation_;
  if (arrived_ == 0) local_.assign(bytes * slots_, 0);
  if (local_.size() != bytes * slots_) failed_ = true;  // ranks disagree on the size
  if (!failed_) std::memcpy(local_.data() + slot * bytes, send, bytes);
  if (++arrived_ == slots_) {
    // Every process takes part even after a local failure, so no process
    // is left waiting in MPI_Allgather; the failure flag travels in-band.
    global_.assign(local_.size() * mpi_.size(), 0);
    unsigned char mine = failed_ ? 1 : 0;
    std::vector<unsigned char> flags(static_cast<size_t>(mpi_.size()));
    bool ok = mpi_.allgather_bytes(&mine, flags.data(), 1) &&
              mpi_.allgather_bytes(local_.data(), global_.data(), local_.size());
    for (unsigned char f : flags) ok = ok && f == 0;
    failed_ = !ok;
    arrived_ = 0;
    ++generation_;
    cv_.notify_all();
  } else {
    cv_.wait(lock, [&] { return generation_ != my_generation; });
  }
  if (failed_) return 1;
  std::memcpy(recv, global_.data(), global_.size());
  return 0;
}

}  // namespace tidal_perf
