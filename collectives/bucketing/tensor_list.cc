#include "collectives/bucketing/tensor_list.h"

#include <fmt/format.h>

#include "collectives/bucketing/bucket_storage.h"
#include "collectives/schedules/schedule_entry.h"
#include "lib/core/dtype.h"
#include "lib/core/log.h"
#include "lib/core/memory_kind.h"
#include "tidal/version.h"

#if TIDAL_HAVE_CUDA
#include "collectives/kernels/cuda/pack_kernel_cuda.h"
#endif

namespace tidal {
namespace {

using Clock = std::chrono::steady_clock;

// Runs one pack (or unpack) table and counts it: every pass goes through
// here, on the progress thread, a marking thread or the pack worker.
Status counted_pass(const CopyTable& table, const CopyOp& op, void* stream, bool is_pack,
                    bool overlapped, BucketCounters* c) {
  auto start = Clock::now();
  Status s = table.run(op, stream);
  (is_pack ? c->pack_ns : c->unpack_ns) += elapsed_ns(start);
  (is_pack ? c->pack_calls : c->unpack_calls) += 1;
  if (overlapped) c->overlapped_passes += 1;
  return s;
}

}  // namespace

TensorList::TensorList(Communicator& comm, BucketPlan plan, bool zero_copy, bool device)
    : comm_(comm), plan_(std::move(plan)), zero_copy_(zero_copy), device_(device) {
  if (can_pack_now()) worker_ = std::make_unique<PackWorker>();  // its thread starts on use
}

TensorList::~TensorList() {
  if (comm_alive_) comm_.drain();  // queued steps point into the arenas
  worker_.reset();                 // and so may the passes posted to it
  for (void* a : arenas_) free_bucket_storage(device_, a);
}

Status TensorList::create(Communicator& comm, const std::vector<void*>& data,
                          const std::vector<TensorSpec>& specs, const ListOptions& options,
                          std::unique_ptr<TensorList>* out) {
  PlanOptions po = options.plan;
  po.world = comm.size();
  if (options.zero_copy && po.comm_dtype != -1) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  "zero-copy tensors live in the bucket, so they cannot be cast for "
                  "communication (comm_dtype must be unset)");
  }
  BucketPlan plan;
  TIDAL_RETURN_IF_ERROR(make_bucket_plan(specs, po, &plan));
  const bool device = comm.transport().memory_kind() == MemoryKind::kDevice;
  std::unique_ptr<TensorList> list(new TensorList(comm, std::move(plan), options.zero_copy, device));
  TIDAL_RETURN_IF_ERROR(list->allocate_and_bind(data));
  TIDAL_RETURN_IF_ERROR(list->build_tables());
  TIDAL_RETURN_IF_ERROR(list->check_same_everywhere());
  log_info(comm.rank(), "bucketing: {} tensors in {} buckets, shard {} bytes, zero-copy {}",
           specs.size(), list->plan_.buckets.size(), list->plan_.shard_bytes,
           options.zero_copy ? 1 : 0);
  *out = std::move(list);
  return Status();
}

Status TensorList::allocate_and_bind(const std::vector<void*>& data) {
  arenas_.assign(plan_.groups.size(), nullptr);
  // An FP8 group's arena holds its buckets' wire blocks, one after another.
  std::vector<size_t> fp8_bytes(plan_.groups.size(), 0);
  fp8_offset_.assign(plan_.buckets.size(), 0);
  for (size_t b = 0; b < plan_.buckets.size(); ++b) {
    if (!fp8(b)) continue;
    const int g = plan_.buckets[b].group;
    fp8_offset_[b] = fp8_bytes[g];
    fp8_bytes[g] += static_cast<size_t>(comm_.size()) * fp8_block_bytes(b);
  }
  for (size_t g = 0; g < plan_.groups.size(); ++g) {
    size_t bytes = is_fp8_comm(plan_.groups[g].comm_dtype)
                       ? fp8_bytes[g]
                       : plan_.groups[g].count * dtype_size(plan_.groups[g].comm_dtype);
    TIDAL_RETURN_IF_ERROR(alloc_bucket_storage(device_, bytes, &arenas_[g]));
  }
  data_.assign(plan_.tensors.size(), nullptr);
  for (size_t t = 0; t < plan_.tensors.size(); ++t) {
    const TensorSlot& s = plan_.slots[t];
    if (zero_copy_) {
      data_[t] = static_cast<char*>(arenas_[s.group]) +
                 s.arena_offset * dtype_size(plan_.groups[s.group].comm_dtype);
      continue;
    }
    if (t >= data.size() || !data[t]) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("tensor {} has a NULL pointer", t));
    }
    const bool on_device = pointer_kind(data[t]) == PointerKind::kDevice;
    if (on_device != device_) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("tensor {} is {} memory but backend {} needs {} memory", t,
                                on_device ? "device" : "host", comm_.backend(),
                                device_ ? "device" : "host"));
    }
    data_[t] = data[t];
  }
  return Status();
}

Status TensorList::build_tables() {
  pack_.resize(plan_.buckets.size());
  unpack_.resize(plan_.buckets.size());
  fp8_unpack_.resize(plan_.buckets.size());
  runs_.resize(plan_.buckets.size());
  if (zero_copy_) return Status();
  for (size_t b = 0; b < plan_.buckets.size(); ++b) {
    const Bucket& bk = plan_.buckets[b];
    const size_t ses = dtype_size(plan_.storage_dtype(bk)), ces = dtype_size(plan_.comm_dtype(bk));
    if (fp8(b)) {
      TIDAL_RETURN_IF_ERROR(build_fp8_table(b));
      continue;
    }
    for (size_t k = 0; k < bk.piece_count; ++k) {
      const Piece& pc = plan_.pieces[bk.first_piece + k];
      char* tensor = static_cast<char*>(data_[pc.tensor]) + pc.tensor_offset * ses;
      char* slot = bucket_ptr(b) + pc.bucket_offset * ces;
      pack_[b].add(tensor, slot, pc.count);
      unpack_[b].add(slot, tensor, pc.count);
    }
    TIDAL_RETURN_IF_ERROR(pack_[b].finalize(device_));
    TIDAL_RETURN_IF_ERROR(unpack_[b].finalize(device_));
    if (!device_ && plan_.storage_dtype(bk) == plan_.comm_dtype(bk)) build_direct_runs(b);
  }
  return Status();
}

// Every rank all-gathers the plan's fingerprint and compares: a rank that
// registered other tensors would otherwise deadlock or corrupt later.
Status TensorList::check_same_everywhere() {
  const int n = comm_.size();
  std::vector<int64_t> all(static_cast<size_t>(n), 0);
  int64_t mine = static_cast<int64_t>(plan_fingerprint(plan_));
  void* send = &mine;
  void* recv = all.data();
  void* dev = nullptr;
#if TIDAL_HAVE_CUDA
  if (device_) {
    TIDAL_RETURN_IF_ERROR(cuda_alloc_zeroed(8 * static_cast<size_t>(n + 1), &dev));
    send = static_cast<char*>(dev) + 8 * n;
    recv = dev;
    TIDAL_RETURN_IF_ERROR(cuda_copy_blocking(send, &mine, 8));
  }
#endif
  CollectiveCall call{CollKind::kAllGather, send, recv, 1, TIDAL_I64, TIDAL_SUM, 0};
  RequestPtr r;
  Status s = queue_collective(comm_, call, TIDAL_SCHEDULE_UNSET, &r);
  if (s.ok()) s = comm_.wait(r);
#if TIDAL_HAVE_CUDA
  if (dev) {
    if (s.ok()) s = cuda_copy_blocking(all.data(), dev, 8 * static_cast<size_t>(n));
    cuda_free(dev);
  }
#endif
  TIDAL_RETURN_IF_ERROR(s.with_context("tensor list registration check"));
  for (int r2 = 0; r2 < n; ++r2) {
    if (all[r2] != mine) {
      return Status(TIDAL_ERR_MISMATCH,
                    fmt::format("rank {} registered a different tensor list than rank {} "
                                "(tensor counts, dtypes or bucket options differ)",
                                r2, comm_.rank()));
    }
  }
  return Status();
}

char* TensorList::bucket_ptr(size_t b) const {
  const Bucket& bk = plan_.buckets[b];
  if (fp8(b)) return static_cast<char*>(arenas_[bk.group]) + fp8_offset_[b];
  return static_cast<char*>(arenas_[bk.group]) +
         bk.arena_offset * dtype_size(plan_.comm_dtype(bk));
}

char* TensorList::own_block_ptr(size_t b) const {
  const Bucket& bk = plan_.buckets[b];
  const size_t block = fp8(b) ? fp8_block_bytes(b) : bk.shard_count * dtype_size(plan_.comm_dtype(bk));
  return bucket_ptr(b) + static_cast<size_t>(comm_.rank()) * block;
}

RequestPtr TensorList::queue_pack(size_t b, float scale, BucketCounters* c) {
  const Bucket& bk = plan_.buckets[b];
  CopyOp op{plan_.storage_dtype(bk), plan_.comm_dtype(bk), scale};
  if (zero_copy_) {
    if (scale == 1.0f) return nullptr;  // the tensors already are the bucket
    return queue_copy("bucket_scale", CopyDesc{bucket_ptr(b), bucket_ptr(b), bk.count}, op, true, c);
  }
  const CopyTable* table = &pack_[b];
  return comm_.submit("bucket_pack", [table, op, c](const ExecContext& ctx) {
    return counted_pass(*table, op, ctx.stream, /*is_pack=*/true, /*overlapped=*/false, c);
  });
}

RequestPtr TensorList::queue_unpack(size_t b, float scale, BucketCounters* c) {
  const Bucket& bk = plan_.buckets[b];
  if (fp8(b)) {
    return comm_.submit("bucket_fp8_decode", [this, b, scale, c](const ExecContext& ctx) {
      return decode_pass(b, scale, /*overlapped=*/false, c, ctx.stream);
    });
  }
  CopyOp op{plan_.comm_dtype(bk), plan_.storage_dtype(bk), scale};
  if (zero_copy_) {
    if (scale == 1.0f) return nullptr;
    return queue_copy("bucket_scale", CopyDesc{bucket_ptr(b), bucket_ptr(b), bk.count}, op, false, c);
  }
  const CopyTable* table = &unpack_[b];
  return comm_.submit("bucket_unpack", [table, op, c](const ExecContext& ctx) {
    return counted_pass(*table, op, ctx.stream, /*is_pack=*/false, /*overlapped=*/false, c);
  });
}

RequestPtr TensorList::queue_copy(const char* name, CopyDesc desc, CopyOp op, bool is_pack,
                                  BucketCounters* c) {
  const bool device = device_;
  return comm_.submit(name, [desc, op, c, device, is_pack](const ExecContext& ctx) {
    auto start = Clock::now();
    Status s = CopyTable::run_one(desc, op, device, ctx.stream);
    (is_pack ? c->pack_ns : c->unpack_ns) += elapsed_ns(start);
    (is_pack ? c->pack_calls : c->unpack_calls) += 1;
    return s;
  });
}

Status TensorList::queue_coll(const CollectiveCall& call, int schedule, size_t bytes,
                              RequestPtr* out, BucketCounters* c) {
  TIDAL_RETURN_IF_ERROR(queue_collective(comm_, call, schedule, out));
  c->collective_calls += 1;
  c->buckets_launched += 1;
  c->bytes_communicated += bytes;
  return Status();
}

Status TensorList::check_ops(const BucketScales& scales) const {
  for (const ArenaGroup& g : plan_.groups) {
    if (is_fp8_comm(g.comm_dtype)) continue;  // the codec takes every dtype the plan encodes
    TIDAL_RETURN_IF_ERROR(check_copy_op(CopyOp{g.storage_dtype, g.comm_dtype, scales.pre}));
    TIDAL_RETURN_IF_ERROR(check_copy_op(CopyOp{g.comm_dtype, g.storage_dtype, scales.post}));
  }
  return Status();
}

void TensorList::note_queued(const RequestPtr& last) {
  std::lock_guard<std::mutex> lock(last_mu_);
  last_queued_ = last;
}

bool TensorList::idle() {
  RequestPtr last;
  {
    std::lock_guard<std::mutex> lock(last_mu_);
    last = last_queued_;
  }
  Status ignored;
  return !last || last->test(&ignored);
}

Status TensorList::pack_now(size_t b, float scale, BucketCounters* c) {
  if (!can_pack_now()) {
    return Status(TIDAL_ERR_INTERNAL, "pack_now on a device or zero-copy list");
  }
  const Bucket& bk = plan_.buckets[b];
  return counted_pass(pack_[b], CopyOp{plan_.storage_dtype(bk), plan_.comm_dtype(bk), scale},
                      nullptr, /*is_pack=*/true, /*overlapped=*/true, c);
}

Status TensorList::unpack_now(size_t b, float scale, BucketCounters* c) {
  if (!can_pack_now()) {
    return Status(TIDAL_ERR_INTERNAL, "unpack_now on a device or zero-copy list");
  }
  if (fp8(b)) return decode_pass(b, scale, /*overlapped=*/true, c);
  const Bucket& bk = plan_.buckets[b];
  return counted_pass(unpack_[b], CopyOp{plan_.comm_dtype(bk), plan_.storage_dtype(bk), scale},
                      nullptr, /*is_pack=*/false, /*overlapped=*/true, c);
}

Status TensorList::queue_reduce_scatter(size_t b, void* shard, tidal_op_t op,
                                        const BucketScales& scales, int schedule,
                                        RequestPtr* last, BucketCounters* c, bool packed) {
  if (fp8(b)) return check_reducible();
  const Bucket& bk = plan_.buckets[b];
  const tidal_dtype_t comm = plan_.comm_dtype(bk), storage = plan_.storage_dtype(bk);
  char* shard_out = static_cast<char*>(shard) + bk.shard_offset;
  // The result needs a pass of its own only to cast or scale it; then the
  // reduce-scatter runs in place (into this rank's block of the bucket).
  const bool unpack = comm != storage || scales.post != 1.0f;
  void* recv = unpack ? static_cast<void*>(own_block_ptr(b)) : shard_out;
  if (direct(b, CollKind::kReduceScatter, scales, schedule)) {
    *last = queue_direct(b, CollKind::kReduceScatter, nullptr, recv, op, c);
  } else {
    if (!packed) queue_pack(b, scales.pre, c);
    CollectiveCall call{CollKind::kReduceScatter, bucket_ptr(b), recv, bk.shard_count, comm,
                        op, 0};
    TIDAL_RETURN_IF_ERROR(queue_coll(call, schedule, bk.count * dtype_size(comm), last, c));
  }
  if (unpack) {
    *last = queue_copy("bucket_unpack", CopyDesc{own_block_ptr(b), shard_out, bk.shard_count},
                       CopyOp{comm, storage, scales.post}, false, c);
  }
  note_queued(*last);
  return Status();
}

Status TensorList::queue_all_gather(size_t b, const void* shard, const BucketScales& scales,
                                    int schedule, RequestPtr* last, BucketCounters* c,
                                    bool unpack) {
  const Bucket& bk = plan_.buckets[b];
  const tidal_dtype_t comm = plan_.comm_dtype(bk), storage = plan_.storage_dtype(bk);
  const char* shard_in = static_cast<const char*>(shard) + bk.shard_offset;
  if (fp8(b)) return queue_fp8_all_gather(b, shard_in, scales, schedule, last, c, unpack);
  if (direct(b, CollKind::kAllGather, scales, schedule)) {
    *last = queue_direct(b, CollKind::kAllGather, shard_in, nullptr, TIDAL_SUM, c);
    note_queued(*last);
    return Status();
  }
  // Cast or scale the shard into this rank's block, then gather in place.
  const bool pack = comm != storage || scales.pre != 1.0f;
  if (pack) {
    queue_copy("bucket_pack", CopyDesc{shard_in, own_block_ptr(b), bk.shard_count},
               CopyOp{storage, comm, scales.pre}, true, c);
  }
  CollectiveCall call{CollKind::kAllGather,
                      pack ? static_cast<const void*>(own_block_ptr(b)) : shard_in,
                      bucket_ptr(b), bk.shard_count, comm, TIDAL_SUM, 0};
  TIDAL_RETURN_IF_ERROR(queue_coll(call, schedule, bk.count * dtype_size(comm), last, c));
  RequestPtr unpacked = unpack ? queue_unpack(b, scales.post, c) : nullptr;
  if (unpacked) *last = unpacked;
  note_queued(*last);
  return Status();
}

Status TensorList::queue_all_reduce(size_t b, void* shard, tidal_op_t op,
                                    const BucketScales& scales, int schedule,
                                    RequestPtr* last, BucketCounters* c, bool packed) {
  if (fp8(b)) return check_reducible();
  const Bucket& bk = plan_.buckets[b];
  const tidal_dtype_t comm = plan_.comm_dtype(bk), storage = plan_.storage_dtype(bk);
  if (direct(b, CollKind::kAllReduce, scales, schedule)) {  // in place on the tensors
    *last = queue_direct(b, CollKind::kAllReduce, nullptr,
                         static_cast<char*>(shard) + bk.shard_offset, op, c);
    note_queued(*last);
    return Status();
  }
  if (!packed) queue_pack(b, scales.pre, c);
  CollectiveCall call{CollKind::kAllReduce, bucket_ptr(b), bucket_ptr(b), bk.count, comm, op, 0};
  TIDAL_RETURN_IF_ERROR(queue_coll(call, schedule, bk.count * dtype_size(comm), last, c));
  // The shard copy reads the reduced bucket before a zero-copy post-scale
  // rescales it in place, so both see the same values.
  *last = queue_copy("bucket_unpack",
                     CopyDesc{own_block_ptr(b), static_cast<char*>(shard) + bk.shard_offset,
                              bk.shard_count},
                     CopyOp{comm, storage, scales.post}, false, c);
  RequestPtr unpacked = queue_unpack(b, scales.post, c);
  if (unpacked) *last = unpacked;
  note_queued(*last);
  return Status();
}

// With the pack worker, every bucket's pack is posted at once (each has
// its own storage) and the progress thread waits for bucket b's before its
// collective: packing runs ahead while earlier buckets communicate.
Status TensorList::queue_reduce_scatter_all(void* shard, tidal_op_t op,
                                            const BucketScales& scales, int schedule,
                                            bool overlap_passes, RequestPtr* last) {
  TIDAL_RETURN_IF_ERROR(check_reducible());
  TIDAL_RETURN_IF_ERROR(check_ops(scales));
  const bool overlap = overlap_passes && can_pack_now() && idle();
  for (size_t b = 0; b < plan_.buckets.size(); ++b) {
    if (overlap && !direct(b, CollKind::kReduceScatter, scales, schedule)) {
      const float pre = scales.pre;
      RequestPtr packed = worker().post([this, b, pre] { return pack_now(b, pre, &counters_); });
      comm_.submit("bucket_pack_wait",
                   [packed](const ExecContext&) { return packed->wait(Deadline::never()); });
    }
    TIDAL_RETURN_IF_ERROR(
        queue_reduce_scatter(b, shard, op, scales, schedule, last, &counters_, overlap));
  }
  return Status();
}

// With the pack worker, the progress thread hands each gathered bucket's
// unpack to it and goes on to the next collective; a final step waits for
// every unpack, so the call's request completes with the tensors written.
Status TensorList::queue_all_gather_all(const void* shard, const BucketScales& scales,
                                        int schedule, bool overlap_passes, RequestPtr* last) {
  TIDAL_RETURN_IF_ERROR(check_ops(scales));
  if (!(overlap_passes && can_pack_now() && idle())) {
    for (size_t b = 0; b < plan_.buckets.size(); ++b) {
      TIDAL_RETURN_IF_ERROR(queue_all_gather(b, shard, scales, schedule, last, &counters_));
    }
    return Status();
  }
  // Touched only by this call's steps, which run one at a time.
  auto unpacks = std::make_shared<std::vector<RequestPtr>>();
  for (size_t b = 0; b < plan_.buckets.size(); ++b) {
    const bool in_place = direct(b, CollKind::kAllGather, scales, schedule);
    TIDAL_RETURN_IF_ERROR(
        queue_all_gather(b, shard, scales, schedule, last, &counters_, /*unpack=*/false));
    if (in_place) continue;  // gathered into the tensors: nothing to unpack
    const float post = scales.post;
    comm_.submit("bucket_unpack_post", [this, b, post, unpacks](const ExecContext&) {
      unpacks->push_back(worker().post([this, b, post] { return unpack_now(b, post, &counters_); }));
      return Status();
    });
  }
  *last = comm_.submit("bucket_unpacks_wait", [unpacks](const ExecContext&) {
    Status first;
    for (const RequestPtr& r : *unpacks) {
      Status s = r->wait(Deadline::never());
      if (!s.ok() && first.ok()) first = s;
    }
    return first;
  });
  note_queued(*last);
  return Status();
}

}  // namespace tidal
