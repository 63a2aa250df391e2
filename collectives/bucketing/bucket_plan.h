// bucket_plan.h — the bucket planner: a pure, deterministic function from an
// ordered tensor list to buckets (see docs/bucketing.md for the rules).
//
// The model: the tensors of one (storage dtype, comm dtype) group are laid
// out in registration order in one flat "arena", each tensor starting at an
// aligned offset. The arena is then cut into buckets — from its end when
// gradients arrive in reverse registration order, from its start otherwise.
// Buckets are contiguous arena ranges whose element count divides by
// world * align, so a tensor cut by a bucket boundary stays contiguous in
// memory (zero-copy works for split tensors too) and every rank's shard of
// every bucket starts aligned. Buckets are full except the small first
// bucket, a bucket that ends (at least half full) just before a tensor
// larger than a bucket, so it need not wait for that tensor, and the last
// two cut from a group: a remainder under half a bucket shares the
// elements of the full bucket before it (a balanced tail, so backward's end
// does not wait for two buckets). The padding sits outside the tensors, at
// the arena's far end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lib/core/status.h"
#include "tidal/tidal.h"

namespace tidal {

struct TensorSpec {
  size_t count = 0;  // elements
  tidal_dtype_t dtype = TIDAL_F32;
};

struct PlanOptions {
  size_t bucket_bytes = size_t(25) << 20;       // capacity, in comm bytes
  size_t first_bucket_bytes = size_t(1) << 20;  // capacity of each group's first bucket
  int world = 1;
  size_t align_bytes = 16;
  bool reverse = false;  // buckets in reverse registration order (gradients)
  // Communicate f32 tensors as this dtype (TIDAL_BF16 or TIDAL_F16), or
  // f32, bf16 and f16 tensors as block-scaled FP8 (TIDAL_FP8_E4M3 or
  // TIDAL_FP8_E5M2: all-gather only); -1 communicates every tensor in its
  // own dtype.
  int comm_dtype = -1;
  // The FP8 codec's block (elements per scale) and power-of-two scales.
  size_t fp8_block = 128;
  bool fp8_pow2_scales = false;
};

// True for the FP8 communication dtypes (block-scaled: collectives/codecs).
inline bool is_fp8_comm(tidal_dtype_t d) { return d == TIDAL_FP8_E4M3 || d == TIDAL_FP8_E5M2; }

// All tensors of one (storage dtype, comm dtype) pair share an arena.
struct ArenaGroup {
  tidal_dtype_t storage_dtype;
  tidal_dtype_t comm_dtype;
  size_t count = 0;      // arena elements, padding included
  size_t pad_front = 0;  // padding before the first tensor (reverse order)
};

// Where a tensor lives in its group's arena.
struct TensorSlot {
  int group = 0;
  size_t arena_offset = 0;  // elements, from the arena's start
};

// The part of one tensor that falls into one bucket.
struct Piece {
  size_t tensor = 0;
  size_t tensor_offset = 0;  // first element of the tensor in this piece
  size_t bucket_offset = 0;  // where it sits in the bucket
  size_t count = 0;
};

struct Bucket {
  int group = 0;
  size_t arena_offset = 0;   // elements
  size_t count = 0;          // elements, divides by world * align
  size_t shard_count = 0;    // count / world
  size_t shard_offset = 0;   // bytes into the flat per-rank shard buffer
  size_t first_piece = 0;    // pieces [first_piece, first_piece + piece_count)
  size_t piece_count = 0;
};

struct BucketPlan {
  PlanOptions options;
  std::vector<TensorSpec> tensors;
  std::vector<ArenaGroup> groups;
  std::vector<TensorSlot> slots;   // one per tensor
  std::vector<Bucket> buckets;     // in launch order
  std::vector<Piece> pieces;       // grouped by bucket
  // For each tensor, the launch-order indices of the first and last bucket
  // holding any of its elements (other groups' buckets may sit between).
  std::vector<size_t> tensor_first_bucket, tensor_last_bucket;
  size_t shard_bytes = 0;          // the flat per-rank shard buffer

  tidal_dtype_t storage_dtype(const Bucket& b) const { return groups[b.group].storage_dtype; }
  tidal_dtype_t comm_dtype(const Bucket& b) const { return groups[b.group].comm_dtype; }
};

// Builds the plan. Errors: empty list, zero-sized tensor, unknown dtype,
// world < 1, align not a power of two, a cast that is not from f32 (or,
// for FP8, from f32, bf16 or f16), an FP8 block of 0.
Status make_bucket_plan(const std::vector<TensorSpec>& tensors, const PlanOptions& options,
                        BucketPlan* plan);

// A 64-bit fingerprint of everything ranks must agree on (tensor counts
// and dtypes, options): equal plans give equal fingerprints on every rank.
uint64_t plan_fingerprint(const BucketPlan& plan);

// One contiguous run of a tensor that falls into `rank`'s shard.
struct ShardSegment {
  size_t bucket = 0;
  size_t tensor_offset = 0;  // first element of the tensor
  size_t shard_offset = 0;   // bytes into the flat shard buffer
  size_t count = 0;
};

// The runs of `tensor` that `rank` owns, in tensor order.
std::vector<ShardSegment> shard_segments(const BucketPlan& plan, int rank, size_t tensor);

// The buckets holding any element of `tensor`: [*first, *last].
void buckets_of_tensor(const BucketPlan& plan, size_t tensor, size_t* first, size_t* last);

}  // namespace tidal
