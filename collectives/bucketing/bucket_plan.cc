#include "collectives/bucketing/bucket_plan.h"

#include <algorithm>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "lib/core/dtype.h"

namespace tidal {
namespace {

size_t round_up(size_t v, size_t unit) { return (v + unit - 1) / unit * unit; }

bool is_power_of_two(size_t v) { return v != 0 && (v & (v - 1)) == 0; }

Status check_inputs(const std::vector<TensorSpec>& tensors, const PlanOptions& o) {
  if (tensors.empty()) return Status(TIDAL_ERR_INVALID_ARGUMENT, "the tensor list is empty");
  if (o.world < 1) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("world size {} < 1", o.world));
  }
  if (!is_power_of_two(o.align_bytes) || o.align_bytes > 4096) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("align_bytes {} is not a power of two <= 4096", o.align_bytes));
  }
  const tidal_dtype_t comm = static_cast<tidal_dtype_t>(o.comm_dtype);
  if (o.comm_dtype != -1 && comm != TIDAL_BF16 && comm != TIDAL_F16 && !is_fp8_comm(comm)) {
    return Status(TIDAL_ERR_UNSUPPORTED,
                  fmt::format("communication dtype {} is not supported (bf16, f16, fp8_e4m3 "
                              "or fp8_e5m2)",
                              tidal_dtype_name(comm)));
  }
  if (is_fp8_comm(comm) && o.fp8_block == 0) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, "the FP8 block must be at least 1 element");
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!dtype_valid(tensors[i].dtype)) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("tensor {} has an unknown dtype {}", i,
                                static_cast<int>(tensors[i].dtype)));
    }
    if (tensors[i].count == 0) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("tensor {} has no elements", i));
    }
  }
  // Sizes no process can hold are refused before the plan's own tables
  // (one entry per bucket and per piece) grow with them.
  constexpr double kMaxBytes = double(uint64_t(1) << 47);  // 128 TiB
  constexpr double kMaxBuckets = double(1 << 24);
  double bytes = 0;
  for (const TensorSpec& t : tensors) bytes += double(t.count) * double(dtype_size(t.dtype));
  if (bytes > kMaxBytes) {
    return Status(TIDAL_ERR_NO_MEMORY,
                  fmt::format("the tensor list holds {:.3g} bytes, more than one process can "
                              "address (128 TiB)", bytes));
  }
  // A bucket holds at least one aligned element per rank, whatever bucket_bytes says.
  const double capacity =
      std::max(double(o.bucket_bytes), double(o.world) * double(o.align_bytes));
  const double buckets = bytes / capacity;
  if (buckets > kMaxBuckets) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("{:.3g} bytes in buckets of {} bytes would make {:.3g} buckets "
                              "(at most 16M): raise bucket_bytes", bytes, o.bucket_bytes,
                              buckets));
  }
  return Status();
}

tidal_dtype_t comm_dtype_for(tidal_dtype_t storage, const PlanOptions& o) {
  const tidal_dtype_t comm = static_cast<tidal_dtype_t>(o.comm_dtype);
  if (is_fp8_comm(comm)) {
    const bool encodable = storage == TIDAL_F32 || storage == TIDAL_BF16 || storage == TIDAL_F16;
    return encodable ? comm : storage;
  }
  if (storage == TIDAL_F32 && o.comm_dtype != -1) return comm;
  return storage;
}

// Elements per alignment unit: tensors start on multiples of it.
size_t align_elements(const PlanOptions& o, tidal_dtype_t d) {
  return std::max<size_t>(1, o.align_bytes / dtype_size(d));
}

// Capacity in elements, a positive multiple of `unit`.
size_t capacity_elements(size_t bytes, tidal_dtype_t d, size_t unit) {
  size_t elems = bytes / dtype_size(d) / unit * unit;
  return std::max(elems, unit);
}

// Lays every group's tensors out in registration order.
void lay_out_groups(BucketPlan* p) {
  std::map<std::pair<int, int>, int> group_of;
  p->slots.resize(p->tensors.size());
  for (size_t i = 0; i < p->tensors.size(); ++i) {
    tidal_dtype_t storage = p->tensors[i].dtype;
    tidal_dtype_t comm = comm_dtype_for(storage, p->options);
    auto key = std::make_pair(static_cast<int>(storage), static_cast<int>(comm));
    auto it = group_of.find(key);
    if (it == group_of.end()) {
      it = group_of.emplace(key, static_cast<int>(p->groups.size())).first;
      p->groups.push_back(ArenaGroup{storage, comm, 0, 0});
    }
    ArenaGroup& g = p->groups[it->second];
    p->slots[i] = TensorSlot{it->second, g.count};
    g.count = round_up(g.count + p->tensors[i].count, align_elements(p->options, comm));
  }
  const bool reverse = p->options.reverse;
  for (ArenaGroup& g : p->groups) {
    size_t unit = static_cast<size_t>(p->options.world) * align_elements(p->options, g.comm_dtype);
    size_t padded = round_up(g.count, unit);
    if (reverse) g.pad_front = padded - g.count;
    g.count = padded;
  }
  if (reverse) {
    for (TensorSlot& s : p->slots) s.arena_offset += p->groups[s.group].pad_front;
  }
}

struct CutBucket {
  Bucket bucket;
  size_t trigger;  // sort key: the bucket completes when this tensor is reached
  size_t cut_index;
};

// A tensor of one group in the order buckets are cut: `start` counts
// elements from where cutting begins (the arena's end in reverse order).
struct WalkTensor {
  size_t start;
  size_t count;
};

// Where a full bucket from `begin` should end instead of at `end`: at the
// start of a tensor larger than a whole bucket that `end` would cut, so
// the bucket does not wait for that tensor's arrival (a late label
// embedding would otherwise hold back a bucket of gradients that were long
// ready), provided the bucket stays at least half full. `end` otherwise.
size_t end_before_large_tensor(const std::vector<WalkTensor>& walk, size_t begin, size_t end,
                               size_t lim, size_t cap, size_t unit) {
  // The last tensor starting before `end`.
  auto it = std::partition_point(walk.begin(), walk.end(),
                                 [&](const WalkTensor& t) { return t.start < end; });
  if (it == walk.begin()) return end;
  const WalkTensor& t = *(it - 1);
  if (t.start + t.count <= end || t.count < cap) return end;  // not cut, or small
  const size_t cut = t.start / unit * unit;
  return cut > begin && 2 * (cut - begin) >= lim ? cut : end;
}

// Bucket lengths along one arena: the first small, the rest full, and a
// balanced tail. A full bucket that would cut into a tensor larger than a
// bucket ends before it instead, if at least half full (above). A short
// remainder (under half a full bucket) would be launched last, just after
// the full bucket before it, so backward's end would wait for both;
// instead the two share their elements, the last one taking the smaller
// half (whole units), so the final bucket finishes early.
std::vector<size_t> cut_lengths(size_t count, size_t first, size_t cap, size_t unit,
                                const std::vector<WalkTensor>& walk) {
  std::vector<size_t> lens;
  for (size_t done = 0; done < count;) {
    const size_t lim = lens.empty() ? first : cap;
    size_t end = std::min(done + lim, count);
    if (end < count) end = end_before_large_tensor(walk, done, end, lim, cap, unit);
    lens.push_back(end - done);
    done = end;
  }
  const size_t n = lens.size();
  if (n >= 2 && lens[n - 2] == cap && 2 * lens[n - 1] < cap) {
    const size_t units = (lens[n - 2] + lens[n - 1]) / unit;
    lens[n - 1] = units / 2 * unit;
    lens[n - 2] = units * unit - lens[n - 1];
  }
  return lens;
}

// The tensors of group `gi` in cutting order (they lie in the arena in
// registration order, so reverse cutting meets them last to first).
std::vector<WalkTensor> walk_of_group(const BucketPlan& p, size_t gi) {
  const size_t count = p.groups[gi].count;
  std::vector<WalkTensor> walk;
  for (size_t t = 0; t < p.tensors.size(); ++t) {
    if (p.slots[t].group != static_cast<int>(gi)) continue;
    const size_t offset = p.slots[t].arena_offset, n = p.tensors[t].count;
    walk.push_back({p.options.reverse ? count - offset - n : offset, n});
  }
  if (p.options.reverse) std::reverse(walk.begin(), walk.end());
  return walk;
}

// Cuts each group's arena into buckets (cut_lengths), from its end in
// reverse order.
std::vector<CutBucket> cut_groups(const BucketPlan& p) {
  std::vector<CutBucket> cuts;
  for (size_t gi = 0; gi < p.groups.size(); ++gi) {
    const ArenaGroup& g = p.groups[gi];
    size_t unit = static_cast<size_t>(p.options.world) * align_elements(p.options, g.comm_dtype);
    size_t cap = capacity_elements(p.options.bucket_bytes, g.comm_dtype, unit);
    // The first bucket is never larger than the others.
    size_t first = p.options.first_bucket_bytes == 0
                       ? cap
                       : std::min(cap, capacity_elements(p.options.first_bucket_bytes,
                                                         g.comm_dtype, unit));
    size_t done = 0, index = 0;
    for (size_t len : cut_lengths(g.count, first, cap, unit, walk_of_group(p, gi))) {
      size_t begin = p.options.reverse ? g.count - done - len : done;
      CutBucket c;
      c.bucket.group = static_cast<int>(gi);
      c.bucket.arena_offset = begin;
      c.bucket.count = len;
      c.bucket.shard_count = len / static_cast<size_t>(p.options.world);
      c.cut_index = index++;
      c.trigger = 0;
      cuts.push_back(c);
      done += len;
    }
  }
  return cuts;
}

// Fills the pieces of `b` from the tensors of its group that overlap it.
void add_pieces(BucketPlan* p, const std::vector<size_t>& group_tensors, Bucket* b) {
  b->first_piece = p->pieces.size();
  const size_t begin = b->arena_offset, end = begin + b->count;
  // group_tensors is in arena order: find the first tensor ending after begin.
  auto it = std::partition_point(group_tensors.begin(), group_tensors.end(), [&](size_t t) {
    return p->slots[t].arena_offset + p->tensors[t].count <= begin;
  });
  for (; it != group_tensors.end(); ++it) {
    const size_t t = *it, t_begin = p->slots[t].arena_offset;
    if (t_begin >= end) break;
    size_t lo = std::max(begin, t_begin), hi = std::min(end, t_begin + p->tensors[t].count);
    p->pieces.push_back(Piece{t, lo - t_begin, lo - begin, hi - lo});
  }
  b->piece_count = p->pieces.size() - b->first_piece;
}

// Orders the buckets by when they complete if tensors arrive in the
// planned order, then fills pieces, shard offsets and the tensor index.
void order_and_index(BucketPlan* p, std::vector<CutBucket> cuts) {
  std::vector<std::vector<size_t>> group_tensors(p->groups.size());
  for (size_t t = 0; t < p->tensors.size(); ++t) group_tensors[p->slots[t].group].push_back(t);
  for (CutBucket& c : cuts) {
    add_pieces(p, group_tensors[c.bucket.group], &c.bucket);
    const Piece* first = &p->pieces[c.bucket.first_piece];
    const Piece* last = first + c.bucket.piece_count - 1;
    // Reverse: complete when its lowest tensor arrives (arrivals count down).
    c.trigger = p->options.reverse ? p->tensors.size() - first->tensor : last->tensor;
  }
  p->pieces.clear();
  std::stable_sort(cuts.begin(), cuts.end(), [](const CutBucket& a, const CutBucket& b) {
    if (a.trigger != b.trigger) return a.trigger < b.trigger;
    if (a.bucket.group != b.bucket.group) return a.bucket.group < b.bucket.group;
    return a.cut_index < b.cut_index;
  });
  p->tensor_first_bucket.assign(p->tensors.size(), SIZE_MAX);
  p->tensor_last_bucket.assign(p->tensors.size(), 0);
  const size_t shard_align = std::max<size_t>(16, p->options.align_bytes);
  size_t shard_bytes = 0;
  for (size_t bi = 0; bi < cuts.size(); ++bi) {
    Bucket b = cuts[bi].bucket;
    add_pieces(p, group_tensors[b.group], &b);
    b.shard_offset = round_up(shard_bytes, shard_align);
    shard_bytes = b.shard_offset + b.shard_count * dtype_size(p->groups[b.group].storage_dtype);
    for (size_t k = 0; k < b.piece_count; ++k) {
      size_t t = p->pieces[b.first_piece + k].tensor;
      p->tensor_first_bucket[t] = std::min(p->tensor_first_bucket[t], bi);
      p->tensor_last_bucket[t] = std::max(p->tensor_last_bucket[t], bi);
    }
    p->buckets.push_back(b);
  }
  p->shard_bytes = round_up(shard_bytes, shard_align);
}

}  // namespace

Status make_bucket_plan(const std::vector<TensorSpec>& tensors, const PlanOptions& options,
                        BucketPlan* plan) {
  TIDAL_RETURN_IF_ERROR(check_inputs(tensors, options));
  BucketPlan p;
  p.options = options;
  p.tensors = tensors;
  lay_out_groups(&p);
  order_and_index(&p, cut_groups(p));
  *plan = std::move(p);
  return Status();
}

uint64_t plan_fingerprint(const BucketPlan& plan) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  const PlanOptions& o = plan.options;
  mix(static_cast<uint64_t>(o.world));
  mix(o.bucket_bytes);
  mix(o.first_bucket_bytes);
  mix(o.align_bytes);
  mix(o.reverse ? 1 : 0);
  mix(static_cast<uint64_t>(o.comm_dtype + 1));
  if (is_fp8_comm(static_cast<tidal_dtype_t>(o.comm_dtype))) {
    mix(o.fp8_block);
    mix(o.fp8_pow2_scales ? 1 : 0);
  }
  mix(plan.tensors.size());
  for (const TensorSpec& t : plan.tensors) {
    mix(t.count);
    mix(static_cast<uint64_t>(t.dtype));
  }
  return h;
}

std::vector<ShardSegment> shard_segments(const BucketPlan& plan, int rank, size_t tensor) {
  std::vector<ShardSegment> out;
  if (tensor >= plan.tensors.size()) return out;
  for (size_t bi = plan.tensor_first_bucket[tensor]; bi <= plan.tensor_last_bucket[tensor]; ++bi) {
    const Bucket& b = plan.buckets[bi];
    const size_t own_lo = static_cast<size_t>(rank) * b.shard_count, own_hi = own_lo + b.shard_count;
    const size_t es = dtype_size(plan.storage_dtype(b));
    for (size_t k = 0; k < b.piece_count; ++k) {
      const Piece& pc = plan.pieces[b.first_piece + k];
      if (pc.tensor != tensor) continue;
      size_t lo = std::max(own_lo, pc.bucket_offset);
      size_t hi = std::min(own_hi, pc.bucket_offset + pc.count);
      if (lo >= hi) continue;
      out.push_back(ShardSegment{bi, pc.tensor_offset + (lo - pc.bucket_offset),
                                 b.shard_offset + (lo - own_lo) * es, hi - lo});
    }
  }
  std::sort(out.begin(), out.end(), [](const ShardSegment& a, const ShardSegment& b) {
    return a.tensor_offset < b.tensor_offset;
  });
  return out;
}

void buckets_of_tensor(const BucketPlan& plan, size_t tensor, size_t* first, size_t* last) {
  *first = plan.tensor_first_bucket[tensor];
  *last = plan.tensor_last_bucket[tensor];
}

}  // namespace tidal
