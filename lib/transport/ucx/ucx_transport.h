// ucx_transport.h — the UCX backend: point-to-point only (UCP tag
// send/recv), so collectives run as tidal's schedules over p2p
// (has_native_collectives() is false). Bootstrapped from an out-of-band
// all-gather of worker addresses (tidal_comm_create_oob); works between
// processes of one machine over shared memory, and across machines over
// whatever UCX finds (tcp, verbs). UCX_TLS and the other UCX_* variables
// apply as usual; docs/cost-model.md lists what was measured here.
//
// Memory: host memory always; device memory only when this UCX build has
// CUDA support, otherwise a device pointer is rejected with
// TIDAL_ERR_UNSUPPORTED. After a timeout or an abort the communicator is
// unusable (in-flight sends cannot always be cancelled): destroy it.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "lib/transport/transport.h"
#include "lib/transport/ucx/ucx_worker.h"

namespace tidal {

class UcxTransport final : public Transport {
 public:
  // Collective over the OOB group.
  static Status create(int rank, int nranks, const OobAllGather& allgather,
                       std::unique_ptr<Transport>* out);
  ~UcxTransport() override;

  const char* name() const override { return "ucx"; }
  int rank() const override { return rank_; }
  int size() const override { return static_cast<int>(world_ranks_.size()); }
  MemoryKind memory_kind() const override { return MemoryKind::kHost; }
  bool has_native_collectives() const override { return false; }

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
  // Compares signatures over p2p (there is no native all-gather).
  Status check_signature(const CollSignature& sig, const Deadline& deadline) override;
  void abort() override {
    aborted_.store(true);
    worker_->skip_close_flush();
  }

 private:
  UcxTransport(std::shared_ptr<UcxWorker> worker, int comm_id, int rank,
               std::vector<int> world_ranks);
  Status unsupported_collective(const char* what) const;
  Status check_op(const P2POp& op) const;
  // Posts every op of the batch (internal: tidal's own messages, kept apart
  // from user tags) and waits for all of them.
  Status run_batch(const P2POp* ops, size_t n, bool internal, const Deadline& deadline);
  Status wait_batch(const P2POp* ops, std::vector<void*>* requests,
                    const std::vector<size_t>& op_index, const Deadline& deadline);
  // Every rank's `bytes` from `mine` into all (size() * bytes), over p2p.
  Status gather_all(const void* mine, void* all, size_t bytes, const Deadline& deadline);

  std::shared_ptr<UcxWorker> worker_;
  int comm_id_;
  int rank_;
  std::vector<int> world_ranks_;  // this communicator's rank -> world rank
  std::atomic<bool> aborted_{false};
  bool broken_ = false;           // a timeout or abort left requests behind
};

}  // namespace tidal
