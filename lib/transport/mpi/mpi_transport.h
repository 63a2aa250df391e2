// mpi_transport.h — the MPI backend (MPICH). Every operation is MPI's
// non-blocking form polled by the progress thread, so a deadline or an
// abort can end the wait (MPI cannot cancel a collective: after a timeout
// or abort the communicator is unusable; destroy it).
#pragma once

#include <mpi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "lib/transport/transport.h"

namespace tidal {

class MpiTransport final : public Transport {
 public:
  // Duplicates `comm` (the caller keeps theirs). Fails unless MPI runs at
  // MPI_THREAD_MULTIPLE (tidal's progress threads call MPI).
  static Status create(MPI_Comm comm, std::unique_ptr<Transport>* out);
  ~MpiTransport() override;

  const char* name() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  MemoryKind memory_kind() const override { return MemoryKind::kHost; }
  // MPICH's reduce-scatter and all-reduce copy their input where tidal's
  // ring folds it in place: ring 1.15-2.0x faster than MPI_Reduce_scatter
  // for 2 processes at 1-64 MiB, all-reduce 1.1-1.7x for 4 from 1 MiB
  // (docs/benchmarks/schedules.md). All-gather: MPICH's is as fast or faster.
  static constexpr size_t kRingReductionMinBytes = size_t(1) << 20;
  bool ring_beats_native(CollKind kind, size_t bytes) const override {
    return (kind == CollKind::kReduceScatter || kind == CollKind::kAllReduce) &&
           bytes >= kRingReductionMinBytes;
  }
  MPI_Comm mpi_comm() const { return comm_; }

  Status all_gather(const void* send, void* recv, size_t count, tidal_dtype_t dtype,
                    const Deadline& deadline, void* stream) override;
  Status reduce_scatter(const void* send, void* recv, size_t recvcount,
                        tidal_dtype_t dtype, tidal_op_t op, const Deadline& deadline,
                        void* stream) override;
  Status all_reduce(const void* send, void* recv, size_t count, tidal_dtype_t dtype,
                    tidal_op_t op, const Deadline& deadline, void* stream) override;
  Status all_to_all(const void* send, void* recv, size_t count, tidal_dtype_t dtype,
                    const Deadline& deadline, void* stream) override;
  Status broadcast(const void* send, void* recv, size_t count, tidal_dtype_t dtype,
                   int root, const Deadline& deadline, void* stream) override;
  Status p2p(const P2POp* ops, size_t n, const Deadline& deadline, void* stream) override;
  Status split(int color, int key, const Deadline& deadline,
               std::unique_ptr<Transport>* out) override;
  void abort() override { aborted_.store(true); }

 private:
  explicit MpiTransport(MPI_Comm owned);
  // Polls `reqs` until all complete, the deadline passes or abort().
  // One receive of a size the sender may not agree with: MPICH reports a
  // truncated receive through MPI_COMM_WORLD's error handler (fatal by
  // default) whatever tidal's communicator says, so the message is probed
  // first (MPI_Improbe) and only received into a buffer that holds it.
  Status recv_checked(const P2POp& op, const Deadline& deadline);
  Status wait_all(MPI_Request* reqs, int n, MPI_Status* statuses, const Deadline& deadline,
                  const char* what);
  Status check(int rc, const char* what);
  Status check_count(size_t count, const char* what);
  void progress_eager_sends();

  struct EagerSend {
    std::vector<char> data;
    MPI_Request request;
  };
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  std::atomic<bool> aborted_{false};
  std::vector<std::unique_ptr<EagerSend>> eager_;
};

}  // namespace tidal
