// local_transport.h — ranks are threads of one process. Collectives read
// the peers' buffers directly (one copy, no staging): each rank produces
// its own part of the result, so the work is spread over the ranks.
#pragma once

#include <memory>

#include "lib/transport/local/local_group.h"
#include "lib/transport/transport.h"

namespace tidal {

class LocalTransport final : public Transport {
 public:
  LocalTransport(std::shared_ptr<LocalGroup> group, int rank);

  // Creates the transports of a new group of `size` ranks.
  static std::vector<std::unique_ptr<Transport>> create_group(int size);

  const char* name() const override { return "local"; }
  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }
  MemoryKind memory_kind() const override { return MemoryKind::kHost; }
  // Direct-read collectives beat rings of messages between threads.
  // Native phases win below this size, rings of messages above (8 ranks
  // as 2x4, docs/benchmarks/schedules.md: native 1.0-2.3x faster up to
  // 512 KiB, rings 1.0-1.8x faster from 4 MiB).
  static constexpr size_t kNativePhasesMaxBytes = size_t(2) << 20;
  bool native_phases_faster(size_t bytes) const override {
    return bytes < kNativePhasesMaxBytes;
  }
  bool folds_on_receive() const override { return true; }
  bool reads_peer_memory() const override { return true; }

  Status all_gather(const void* send, void* recv, size_t count, tidal_dtype_t dtype,
                    const Deadline& deadline, void* stream) override;
  Status reduce_scatter(const void* send, void* recv, size_t recvcount,
                        tidal_dtype_t dtype, tidal_op_t op, const Deadline& deadline,
                        void* stream) override;
  Status reduce_scatter_runs(const BufferRuns& send, void* recv, size_t recvcount,
                             tidal_dtype_t dtype, tidal_op_t op,
                             const Deadline& deadline) override;
  Status all_gather_runs(const void* send, const BufferRuns& recv, size_t count,
                         tidal_dtype_t dtype, const Deadline& deadline) override;
  Status all_reduce_runs(const BufferRuns& data, size_t count, tidal_dtype_t dtype,
                         tidal_op_t op, const Deadline& deadline) override;
  Status all_reduce(const void* send, void* recv, size_t count, tidal_dtype_t dtype,
                    tidal_op_t op, const Deadline& deadline, void* stream) override;
  Status all_to_all(const void* send, void* recv, size_t count, tidal_dtype_t dtype,
                    const Deadline& deadline, void* stream) override;
  Status broadcast(const void* send, void* recv, size_t count, tidal_dtype_t dtype,
                   int root, const Deadline& deadline, void* stream) override;
  Status p2p(const P2POp* ops, size_t n, const Deadline& deadline, void* stream) override;
  Status split(int color, int key, const Deadline& deadline,
               std::unique_ptr<Transport>* out) override;
  Status check_signature(const CollSignature& sig, const Deadline& deadline) override;
  void abort() override;

 private:
  // Posts, waits for all ranks, checks that they agree, runs `body`, and
  // waits again so nobody reuses a buffer a peer still reads.
  // `send_runs` / `recv_runs`: this rank's input / output as runs.
  template <typename Body>
  Status rendezvous(const CollSignature& sig, const void* send, void* recv,
                    const Deadline& deadline, Body body,
                    const BufferRuns* send_runs = nullptr,
                    const BufferRuns* recv_runs = nullptr);
  // Where reduce_range writes: a plain buffer holding element `first` of
  // the logical buffer at `base`, or runs (padding is not written).
  struct ReduceOutput {
    char* base = nullptr;
    size_t first = 0;
    const BufferRuns* runs = nullptr;
  };
  // This rank's block of a reduce-scatter (after the rendezvous): reduced
  // from every rank's input into `recv`.
  void reduce_scatter_part(void* recv, size_t recvcount, tidal_dtype_t dtype, tidal_op_t op);
  // This rank's part of an all-reduce of `count` elements (after the
  // rendezvous): reduced from every rank's input, written to every output.
  void all_reduce_part(size_t count, tidal_dtype_t dtype, tidal_op_t op);
  // The output of rank k's posted all-reduce (its recv or recv_runs).
  ReduceOutput posted_output(int k) const;
  // Where `out` holds element e, and how many elements from there are
  // contiguous (capped at `max`); nullptr for padding (not written).
  static char* output_at(const ReduceOutput& out, size_t e, size_t esize, size_t max,
                         size_t* contiguous);
  // Reduces block [begin, begin+count) of every rank's send buffer (offset
  // in elements; a buffer or runs, as each rank posted it) and writes it to
  // each of the `nout` outputs.
  void reduce_range(size_t begin, size_t count, tidal_dtype_t dtype, tidal_op_t op,
                    const ReduceOutput* out, int nout);
  // Where rank k's posted input holds element `e` (esize bytes each), and
  // how many elements from there are contiguous in memory (*contiguous is
  // capped at `max`). Padding runs read from a block of zeros.
  const char* posted_input(int k, size_t e, size_t esize, size_t max,
                           size_t* contiguous) const;

  std::shared_ptr<LocalGroup> group_;
  const int rank_;
};

}  // namespace tidal
