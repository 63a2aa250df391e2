// Direct buckets: a plain host bucket's reduce-scatter reads the tensors
// where they live, its all-gather writes them there and its all-reduce
// (ZeRO-1) runs on them in place, on a transport whose ranks read each
// other's memory (see tensor_list.h).
#include "collectives/bucketing/tensor_list.h"

#include <cstring>

#include "collectives/schedules/schedule_entry.h"
#include "lib/core/dtype.h"

namespace tidal {

namespace {
// After a direct all-reduce: this rank's block of the reduced runs into
// its shard (zeros where the block is padding).
void copy_own_block(const BufferRuns& runs, size_t first, size_t count, size_t esize,
                    char* shard) {
  runs.each(first, count, esize, [&](const char* from, size_t off, size_t len) {
    if (from) std::memcpy(shard + off * esize, from, len * esize);
    else std::memset(shard + off * esize, 0, len * esize);
  });
}
}  // namespace

// The bucket's pieces in bucket order, with a null-based run for each gap
// (alignment padding between tensors, the padding at the end).
void TensorList::build_direct_runs(size_t b) {
  const Bucket& bk = plan_.buckets[b];
  const size_t esize = dtype_size(plan_.storage_dtype(bk));
  DirectRuns& runs = runs_[b];
  runs.prefix.push_back(0);
  size_t at = 0;
  auto add = [&](void* base, size_t count) {
    runs.base.push_back(base);
    at += count;
    runs.prefix.push_back(at);
  };
  for (size_t k = 0; k < bk.piece_count; ++k) {
    const Piece& pc = plan_.pieces[bk.first_piece + k];
    if (pc.bucket_offset > at) add(nullptr, pc.bucket_offset - at);
    add(static_cast<char*>(data_[pc.tensor]) + pc.tensor_offset * esize, pc.count);
  }
  if (bk.count > at) add(nullptr, bk.count - at);
}

bool TensorList::direct(size_t b, CollKind kind, const BucketScales& scales, int schedule) {
  if (b >= runs_.size() || runs_[b].base.empty()) return false;  // not a plain host bucket
  if (!comm_.config().direct_buckets || !comm_.transport().reads_peer_memory()) return false;
  const bool reduce_scatter = kind == CollKind::kReduceScatter;
  if (!reduce_scatter && kind != CollKind::kAllGather && kind != CollKind::kAllReduce) {
    return false;
  }
  // A pre-scale is a pass over the input; a post-scale of an all-gather or
  // all-reduce one over the tensors (a reduce-scatter's lands in the
  // shard, a copy anyway).
  if (scales.pre != 1.0f || (!reduce_scatter && scales.post != 1.0f)) return false;
  const Bucket& bk = plan_.buckets[b];
  const size_t count = kind == CollKind::kAllReduce ? bk.count : bk.shard_count;
  CollectiveCall call{kind, nullptr, nullptr, count, plan_.comm_dtype(bk), TIDAL_SUM, 0};
  return queues_natively(comm_, call, schedule);
}

RequestPtr TensorList::queue_direct(size_t b, CollKind kind, const void* send, void* recv,
                                    tidal_op_t op, BucketCounters* c) {
  const Bucket& bk = plan_.buckets[b];
  const tidal_dtype_t dtype = plan_.comm_dtype(bk);
  const size_t count = bk.shard_count;
  const BufferRuns runs = runs_[b].view();
  Transport* t = &comm_.transport();
  const bool check = comm_.config().check_args;
  c->collective_calls += 1;
  c->buckets_launched += 1;
  c->bytes_communicated += bk.count * dtype_size(dtype);
  c->direct_buckets += 1;
  if (kind == CollKind::kAllReduce) {  // `recv` is the shard
    const size_t first = static_cast<size_t>(comm_.rank()) * count, total = bk.count;
    const size_t esize = dtype_size(dtype);
    return comm_.submit("all_reduce_runs", [=](const ExecContext& ctx) {
      if (check) {
        CollectiveCall call{kind, send, recv, total, dtype, op, 0};
        TIDAL_RETURN_IF_ERROR(t->check_signature(signature_of(call), ctx.deadline));
      }
      TIDAL_RETURN_IF_ERROR(t->all_reduce_runs(runs, runs.elements(), dtype, op, ctx.deadline));
      copy_own_block(runs, first, count, esize, static_cast<char*>(recv));
      return Status();
    });
  }
  const bool reduce = kind == CollKind::kReduceScatter;
  return comm_.submit(reduce ? "reduce_scatter_runs" : "all_gather_runs",
                      [=](const ExecContext& ctx) {
                        if (check) {
                          CollectiveCall call{kind, send, recv, count, dtype, op, 0};
                          TIDAL_RETURN_IF_ERROR(
                              t->check_signature(signature_of(call), ctx.deadline));
                        }
                        return reduce ? t->reduce_scatter_runs(runs, recv, count, dtype, op,
                                                               ctx.deadline)
                                      : t->all_gather_runs(send, runs, count, dtype,
                                                           ctx.deadline);
                      });
}

}  // namespace tidal
