// transport.h — the one internal interface every backend implements:
// native collectives (where the backend has them), point-to-point batches,
// and split. Calls block the calling (progress) thread until done, the
// deadline passes (TIDAL_ERR_TIMEOUT) or abort() is called
// (TIDAL_ERR_ABORTED). On a CUDA transport "done" means "enqueued on the
// communication stream" (ExecContext::stream); completion is the engine's
// event.
//
// Buffers arrive validated (non-null when count > 0, the right memory kind,
// in-place layouts as NCCL defines them).
#pragma once

#include <cstddef>
#include <memory>

#include "lib/core/deadline.h"
#include "lib/transport/buffer_runs.h"
#include "lib/core/status.h"
#include "tidal/tidal.h"

namespace tidal {

enum class MemoryKind { kHost, kDevice };

enum class CollKind { kAllGather, kReduceScatter, kAllReduce, kAllToAll, kBroadcast };
const char* coll_kind_name(CollKind kind);

// What every rank must agree on for one collective.
struct CollSignature {
  int32_t kind = 0;
  int32_t dtype = 0;
  int32_t op = 0;
  int32_t root = 0;
  uint64_t count = 0;
  bool operator==(const CollSignature& o) const {
    return kind == o.kind && dtype == o.dtype && op == o.op && root == o.root &&
           count == o.count;
  }
};

// A receive that folds the message in as it lands, instead of writing it:
// buf = addend (op) message, bytes / dtype size elements (addend == buf
// folds into buf). Only for a transport whose folds_on_receive() is true.
struct P2PFold {
  tidal_dtype_t dtype;
  tidal_op_t op;  // TIDAL_AVG folds as TIDAL_SUM
  const void* addend;
};

struct P2POp {
  enum Kind { kSend, kRecv } kind;
  void* buf;  // const for sends
  size_t bytes;
  int peer;
  int tag;
  // A send that may complete before the receiver matches it (the transport
  // buffers the data). Standalone tidal_send uses it so two ranks that both
  // send first cannot deadlock on their ordered queues.
  bool eager = false;
  // A receive whose size the sender may not agree with (standalone
  // tidal_recv): a message of another size must come back as
  // TIDAL_ERR_MISMATCH, never as a truncation the transport cannot
  // survive. Schedules leave it false: their sizes are planned alike on
  // every rank.
  bool size_unchecked = false;
  const P2PFold* fold = nullptr;  // receives only; see P2PFold
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual const char* name() const = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual MemoryKind memory_kind() const = 0;
  // False for a p2p-only backend (UCX): collectives then run as schedules.
  virtual bool has_native_collectives() const { return true; }
  // True where a native collective on a sub-communicator beats a ring of
  // this backend's messages for a collective whose largest buffer is
  // `bytes`, so torus2d/ndring run their phases natively
  // (TIDAL_SCHEDULE_PHASES=auto). Measured in docs/benchmarks/schedules.md:
  // on local threads below 2 MiB (direct reads, one rendezvous per phase),
  // not above (rings fold on receive and pipeline chunks); never on MPI here.
  virtual bool native_phases_faster(size_t bytes) const {
    (void)bytes;
    return false;
  }
  // True where tidal's ring schedule beats this backend's own collective
  // of `kind` on a buffer of `bytes` on one node, so TIDAL_SCHEDULE=auto
  // runs the ring there. Measured in docs/benchmarks/schedules.md: MPI
  // (MPICH) reductions from 1 MiB; never on local threads (their native
  // collectives read every peer directly, one pass).
  virtual bool ring_beats_native(CollKind kind, size_t bytes) const {
    (void)kind;
    (void)bytes;
    return false;
  }
  // True where a receive reads the sender's buffer itself (local threads),
  // so it can fold the message straight into its target (P2POp::fold)
  // with no staging copy. Elsewhere the schedules stage and fold after.
  virtual bool folds_on_receive() const { return false; }
  // True where every rank's collective reads its peers' buffers itself
  // (local threads), so a bucket can take part in a collective as runs of
  // memory where its tensors live (BufferRuns) — no pack pass before a
  // reduce-scatter, no unpack pass after an all-gather.
  virtual bool reads_peer_memory() const { return false; }
  // The native reduce-scatter, all-gather and all-reduce with a side given as runs
  // (same signature, rendezvous and results as reduce_scatter/all_gather;
  // peers may post either form). Only where reads_peer_memory();
  // elsewhere TIDAL_ERR_UNSUPPORTED.
  virtual Status reduce_scatter_runs(const BufferRuns& send, void* recv, size_t recvcount,
                                     tidal_dtype_t dtype, tidal_op_t op,
                                     const Deadline& deadline);
  virtual Status all_gather_runs(const void* send, const BufferRuns& recv, size_t count,
                                 tidal_dtype_t dtype, const Deadline& deadline);
  // The native all-reduce of `count` elements in place on runs.
  virtual Status all_reduce_runs(const BufferRuns& data, size_t count, tidal_dtype_t dtype,
                                 tidal_op_t op, const Deadline& deadline);
  // CUDA transports: the stream the user computes on and the stream the
  // transport communicates on (cudaStream_t). Host transports: nullptr.
  virtual void* user_stream() const { return nullptr; }
  virtual void* comm_stream() const { return nullptr; }

  // `stream` is the CUDA communication stream (nullptr on host transports).
  virtual Status all_gather(const void* send, void* recv, size_t count,
                            tidal_dtype_t dtype, const Deadline& deadline,
                            void* stream) = 0;
  virtual Status reduce_scatter(const void* send, void* recv, size_t recvcount,
                                tidal_dtype_t dtype, tidal_op_t op,
                                const Deadline& deadline, void* stream) = 0;
  virtual Status all_reduce(const void* send, void* recv, size_t count,
                            tidal_dtype_t dtype, tidal_op_t op,
                            const Deadline& deadline, void* stream) = 0;
  virtual Status all_to_all(const void* send, void* recv, size_t count,
                            tidal_dtype_t dtype, const Deadline& deadline,
                            void* stream) = 0;
  virtual Status broadcast(const void* send, void* recv, size_t count,
                           tidal_dtype_t dtype, int root,
                           const Deadline& deadline, void* stream) = 0;

  // Runs all ops concurrently (sends never wait for this batch's receives)
  // and returns when all are done. Messages between a pair of ranks with
  // the same tag match in order; sizes must agree (TIDAL_ERR_MISMATCH).
  virtual Status p2p(const P2POp* ops, size_t n, const Deadline& deadline,
                     void* stream) = 0;

  // Collective. color < 0 yields *out == nullptr.
  virtual Status split(int color, int key, const Deadline& deadline,
                       std::unique_ptr<Transport>* out) = 0;

  // Compares `sig` across ranks: TIDAL_ERR_MISMATCH naming the first
  // disagreeing rank. Default: an all-gather of the signatures.
  virtual Status check_signature(const CollSignature& sig,
                                 const Deadline& deadline);

  // Thread-safe; wakes any blocked call, which returns TIDAL_ERR_ABORTED.
  virtual void abort() = 0;
};

// Shared by transports: compares gathered signatures, names the culprit.
Status compare_signatures(const CollSignature* all, int n, const char* backend);

// TIDAL_ERR_UNSUPPORTED if any op of a batch asks to fold on receive: for
// the p2p of a backend whose folds_on_receive() is false (it would write
// the message instead of folding it).
Status refuse_folds(const P2POp* ops, size_t n, const char* backend);

}  // namespace tidal
