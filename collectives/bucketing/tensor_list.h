// tensor_list.h — a registered tensor list: its bucket plan, the bucket
// storage (one arena per dtype group) and the per-bucket pack/unpack
// descriptor tables, built once. It queues the per-bucket steps — pack,
// collective (through the schedule entry point), unpack — as work items on
// the communicator's ordered engine; the bucketed collectives and the
// overlap hooks are all made of these steps.
//
// Zero-copy mode: the tensors live inside the arena (tensor_data() points
// there), so reduce-scatter needs no pack and all-gather no unpack.
//
// FP8 communication (a plan whose comm dtype is FP8, all-gather only): a
// bucket on the wire is one block per rank, each the rank's encoded bytes
// then its block scales (collectives/codecs); the pack encodes this rank's
// shard into its block, one all-gather of bytes moves every block, and the
// unpack decodes them into the tensors — CPU passes on host memory, CUDA
// kernels on the communication stream on device memory (NCCL).
//
// Direct buckets (tensor_list_direct.cc): on a transport whose ranks read
// each other's memory (local threads) a plain bucket — no cast, no scale a
// pass would apply, not zero-copy or FP8 — takes part in its native
// reduce-scatter as runs of memory where its tensors live (padding reads as
// zeros), its all-gather writes the tensors directly and its all-reduce
// (ZeRO-1) runs on them in place: no pack, no unpack, one pass over the
// bytes fewer. config.direct_buckets = 0 turns
// it off. Peers may post either form, so ranks need not agree on it.
//
// Whole-list calls on host memory run their packs (reduce-scatter) or
// unpacks (all-gather) on the list's pack worker thread instead of the
// progress thread, so they overlap the other buckets' collectives — when
// nothing queued on the list before is still pending (see idle()); a call
// that finds earlier work pending runs its passes on the progress thread,
// ordered after that work. (A grad reducer step and a bucketed call must
// not run at the same time on one list: they share its bucket storage.)
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "collectives/bucketing/bucket_counters.h"
#include "collectives/bucketing/bucket_plan.h"
#include "collectives/bucketing/pack_worker.h"
#include "collectives/codecs/fp8_decode_table.h"
#include "collectives/kernels/copy_table.h"
#include "lib/comm/communicator.h"

namespace tidal {

struct ListOptions {
  PlanOptions plan;  // world is taken from the communicator
  bool zero_copy = false;
};

// Scales fused into a bucket's passes: `pre` when data enters the
// communication dtype (pack), `post` when it leaves it (unpack).
struct BucketScales {
  float pre = 1.0f;
  float post = 1.0f;
};

class TensorList {
 public:
  // Collective over `comm`: plans, allocates, builds the tables and checks
  // that every rank registered the same list (TIDAL_ERR_MISMATCH if not).
  // `data` holds one pointer per tensor (ignored in zero-copy mode).
  static Status create(Communicator& comm, const std::vector<void*>& data,
                       const std::vector<TensorSpec>& specs, const ListOptions& options,
                       std::unique_ptr<TensorList>* out);
  ~TensorList();

  Communicator& comm() { return comm_; }
  const BucketPlan& plan() const { return plan_; }
  bool zero_copy() const { return zero_copy_; }
  bool device() const { return device_; }
  void* tensor_data(size_t i) const { return data_[i]; }
  BucketCounters& counters() { return counters_; }
  // The communicator was destroyed first (its engine is drained and gone):
  // the destructor must not drain it.
  void forget_comm() { comm_alive_ = false; }

  // OK when the kernels implement the scales and casts a call will use;
  // checked before anything is queued.
  Status check_ops(const BucketScales& scales) const;
  // OK unless the list communicates in FP8 (which is gathered, never
  // reduced): reduce-scatter, all-reduce and grad reducers check it.
  Status check_reducible() const;

  // Queue bucket b's steps; *last is the request of its final step.
  // shard: the flat per-rank shard buffer (plan().shard_bytes). The work
  // is counted in `counters` (the list's own, a reducer's, a gatherer's).
  // `packed`: the caller already ran pack_now(b) (no pack is queued).
  Status queue_reduce_scatter(size_t b, void* shard, tidal_op_t op, const BucketScales& scales,
                              int schedule, RequestPtr* last, BucketCounters* counters,
                              bool packed = false);
  // `unpack`: false leaves the gathered bucket for the caller to unpack.
  Status queue_all_gather(size_t b, const void* shard, const BucketScales& scales,
                          int schedule, RequestPtr* last, BucketCounters* counters,
                          bool unpack = true);
  // ZeRO-1: all-reduce the bucket, write the result back into the tensors
  // and this rank's block into the shard buffer.
  Status queue_all_reduce(size_t b, void* shard, tidal_op_t op, const BucketScales& scales,
                          int schedule, RequestPtr* last, BucketCounters* counters,
                          bool packed = false);

  // True when bucket b's collective of `kind` (reduce-scatter, all-gather
  // or all-reduce) with `scales` and `schedule` runs direct (see above).
  bool direct(size_t b, CollKind kind, const BucketScales& scales, int schedule);

  // Packing on the calling thread instead of the progress thread: possible
  // for host-memory lists that are not zero-copy (device packs are kernels
  // ordered on the communication stream; zero-copy has nothing to pack).
  bool can_pack_now() const { return !device_ && !zero_copy_; }
  // True when every step queued on this list so far has completed, so its
  // bucket storage may be written outside the progress thread.
  bool idle();
  // Packs (unpacks) bucket b now, on this thread (can_pack_now() lists
  // only); counted as an overlapped pass.
  Status pack_now(size_t b, float scale, BucketCounters* counters);
  Status unpack_now(size_t b, float scale, BucketCounters* counters);

  // Whole list, bucket by bucket in plan order; one request for all.
  // `overlap_passes`: use the pack worker where possible (see above).
  Status queue_reduce_scatter_all(void* shard, tidal_op_t op, const BucketScales& scales,
                                  int schedule, bool overlap_passes, RequestPtr* last);
  Status queue_all_gather_all(const void* shard, const BucketScales& scales, int schedule,
                              bool overlap_passes, RequestPtr* last);

 private:
  TensorList(Communicator& comm, BucketPlan plan, bool zero_copy, bool device);
  Status allocate_and_bind(const std::vector<void*>& data);
  Status build_tables();
  Status check_same_everywhere();

  char* bucket_ptr(size_t b) const;
  char* own_block_ptr(size_t b) const;
  // FP8 buckets (tensor_list_fp8.cc): the codec, one rank's block size on
  // the wire (bytes) and where the scales start inside it.
  bool fp8(size_t b) const { return is_fp8_comm(plan_.comm_dtype(plan_.buckets[b])); }
  Fp8Codec fp8_codec(size_t b) const;
  size_t fp8_block_bytes(size_t b) const;
  size_t fp8_scales_at(size_t b) const;
  Status build_fp8_table(size_t b);
  Status queue_fp8_all_gather(size_t b, const char* shard_in, const BucketScales& scales,
                              int schedule, RequestPtr* last, BucketCounters* c, bool unpack);
  // The decode of bucket b: on the host, or a kernel on `stream` (device lists).
  Status decode_pass(size_t b, float post, bool overlapped, BucketCounters* c,
                     void* stream = nullptr) const;
  // Queues the pack of bucket b (or, zero-copy, an in-place scale if any).
  // Each returns the queued step's request, or nullptr if none was needed.
  RequestPtr queue_pack(size_t b, float scale, BucketCounters* c);
  RequestPtr queue_unpack(size_t b, float scale, BucketCounters* c);
  // Queues one copy of a single run (shard <-> own block).
  RequestPtr queue_copy(const char* name, CopyDesc desc, CopyOp op, bool is_pack,
                        BucketCounters* c);
  Status queue_coll(const CollectiveCall& call, int schedule, size_t bytes, RequestPtr* out,
                    BucketCounters* c);
  // Direct buckets: the runs of a bucket (its tensors and padding, in
  // bucket order), built for the buckets that may run direct.
  struct DirectRuns {
    std::vector<void*> base;
    std::vector<size_t> prefix;
    BufferRuns view() const { return BufferRuns{base.data(), prefix.data(), base.size()}; }
  };
  void build_direct_runs(size_t b);
  // Queues bucket b's native collective of `kind` on its runs: a
  // reduce-scatter from the tensors into `recv`, an all-gather of `send`
  // into the tensors, or an all-reduce of the tensors in place that then
  // copies this rank's block into `recv` (the shard).
  RequestPtr queue_direct(size_t b, CollKind kind, const void* send, void* recv, tidal_op_t op,
                          BucketCounters* c);

  Communicator& comm_;
  BucketPlan plan_;
  const bool zero_copy_;
  const bool device_;
  std::vector<void*> arenas_;   // one per group, owned
  std::vector<void*> data_;     // per tensor
  std::vector<CopyTable> pack_, unpack_;  // per bucket
  std::vector<Fp8DecodeTable> fp8_unpack_;  // per bucket (FP8 buckets only)
  std::vector<size_t> fp8_offset_;          // per FP8 bucket: bytes into its arena
  std::vector<DirectRuns> runs_;            // per bucket (empty: never direct)
  BucketCounters counters_;
  bool comm_alive_ = true;
  std::mutex last_mu_;
  RequestPtr last_queued_;  // the final step of the latest queue_* call
  void note_queued(const RequestPtr& last);
  // Declared last: destroyed first, running what is posted while the
  // arenas and tables it uses still exist.
  std::unique_ptr<PackWorker> worker_;  // can_pack_now() lists only
  PackWorker& worker() { return *worker_; }
};

}  // namespace tidal
