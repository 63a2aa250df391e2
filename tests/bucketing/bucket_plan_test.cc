// The bucket planner's properties over random tensor lists (1 element to
// 64 MiB, world 1..16, mixed dtypes, both orders): every element covered
// exactly once, shards equal, alignment held, capacity and first-bucket
// rules held, one dtype per bucket, deterministic.
#include <algorithm>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "collectives/bucketing/bucket_plan.h"
#include "lib/core/dtype.h"

namespace {

using tidal::BucketPlan;
using tidal::PlanOptions;
using tidal::TensorSpec;

std::vector<TensorSpec> random_tensors(std::mt19937_64& rng, size_t n) {
  const tidal_dtype_t dtypes[] = {TIDAL_F32, TIDAL_F32, TIDAL_BF16, TIDAL_F64, TIDAL_U8};
  std::vector<TensorSpec> out(n);
  for (auto& t : out) {
    t.dtype = dtypes[rng() % 5];
    // Log-uniform bytes from 1 element to 64 MiB.
    double log_bytes = std::uniform_real_distribution<double>(0, 26)(rng);
    size_t bytes = static_cast<size_t>(std::exp2(log_bytes));
    t.count = std::max<size_t>(1, bytes / tidal::dtype_size(t.dtype));
  }
  return out;
}

PlanOptions random_options(std::mt19937_64& rng) {
  PlanOptions o;
  o.world = 1 + static_cast<int>(rng() % 16);
  o.bucket_bytes = size_t(1) << (12 + rng() % 14);  // 4 KiB .. 32 MiB
  o.first_bucket_bytes = rng() % 4 == 0 ? 0 : size_t(1) << (10 + rng() % 12);
  o.align_bytes = size_t(1) << (rng() % 7);         // 1 .. 64
  o.reverse = rng() % 2 == 0;
  o.comm_dtype = rng() % 3 == 0 ? TIDAL_BF16 : -1;
  return o;
}

size_t align_elems(const PlanOptions& o, tidal_dtype_t d) {
  return std::max<size_t>(1, o.align_bytes / tidal::dtype_size(d));
}

// Checks every documented property of one plan.
void check_plan(const std::vector<TensorSpec>& tensors, const PlanOptions& o,
                const BucketPlan& p) {
  std::vector<size_t> covered(tensors.size(), 0), next_offset(tensors.size(), 0);
  std::vector<int> group_buckets_seen(p.groups.size(), 0);
  for (size_t bi = 0; bi < p.buckets.size(); ++bi) {
    const tidal::Bucket& b = p.buckets[bi];
    const tidal::ArenaGroup& g = p.groups[b.group];
    const size_t unit = static_cast<size_t>(o.world) * align_elems(o, g.comm_dtype);
    const size_t es = tidal::dtype_size(g.comm_dtype);
    ASSERT_EQ(b.count % unit, 0u) << "bucket " << bi << " does not divide by world*align";
    ASSERT_EQ(b.shard_count * static_cast<size_t>(o.world), b.count);
    ASSERT_EQ(b.arena_offset % unit, 0u) << "shards of bucket " << bi << " are not aligned";
    const size_t cap = std::max(unit, o.bucket_bytes / es / unit * unit);
    EXPECT_LE(b.count, cap) << "bucket " << bi << " exceeds the capacity";
    if (group_buckets_seen[b.group]++ == 0 && o.first_bucket_bytes) {
      EXPECT_LE(b.count, std::max(unit, o.first_bucket_bytes / es / unit * unit))
          << "the first bucket of group " << b.group << " is not small";
    }
    ASSERT_GT(b.piece_count, 0u);
    for (size_t k = 0; k < b.piece_count; ++k) {
      const tidal::Piece& pc = p.pieces[b.first_piece + k];
      ASSERT_EQ(tensors[pc.tensor].dtype, g.storage_dtype) << "two dtypes in bucket " << bi;
      ASSERT_LE(pc.bucket_offset + pc.count, b.count);
      // The piece sits where the tensor's arena slot says.
      ASSERT_EQ(p.slots[pc.tensor].arena_offset + pc.tensor_offset,
                b.arena_offset + pc.bucket_offset);
      covered[pc.tensor] += pc.count;
    }
  }
  // Bucket sizes per group, in launch order: full ones between the small
  // first bucket and a balanced tail (the last at least half a capacity
  // whenever a full bucket precedes it), except that a bucket may end early,
  // at least half full, just before a tensor larger than a bucket.
  for (size_t gi = 0; gi < p.groups.size(); ++gi) {
    const tidal_dtype_t cd = p.groups[gi].comm_dtype;
    const size_t unit = static_cast<size_t>(o.world) * align_elems(o, cd);
    const size_t cap = std::max(unit, o.bucket_bytes / tidal::dtype_size(cd) / unit * unit);
    // Does bucket `b` end (in cutting order) within a unit before a tensor
    // of at least `cap` elements?
    auto ends_before_large_tensor = [&](const tidal::Bucket& b) {
      for (size_t t = 0; t < tensors.size(); ++t) {
        if (p.slots[t].group != static_cast<int>(gi) || tensors[t].count < cap) continue;
        const size_t t_begin = p.slots[t].arena_offset, t_end = t_begin + tensors[t].count;
        if (o.reverse ? t_end <= b.arena_offset && b.arena_offset < t_end + unit
                      : b.arena_offset + b.count <= t_begin &&
                            t_begin < b.arena_offset + b.count + unit) {
          return true;
        }
      }
      return false;
    };
    std::vector<const tidal::Bucket*> c;
    for (const tidal::Bucket& b : p.buckets) {
      if (b.group == static_cast<int>(gi)) c.push_back(&b);
    }
    const size_t m = c.size();
    for (size_t i = 0; i < m; ++i) EXPECT_LE(c[i]->count, cap) << "group " << gi << " bucket " << i;
    for (size_t i = 1; i + 2 < m; ++i) {
      if (c[i]->count == cap) continue;
      EXPECT_GE(2 * c[i]->count, cap) << "group " << gi << " bucket " << i << " is under half";
      EXPECT_TRUE(ends_before_large_tensor(*c[i]))
          << "group " << gi << " bucket " << i << " is short without a large tensor after it";
    }
    if (m >= 2 && (m >= 3 || c[0]->count == cap)) {
      EXPECT_GE(2 * c[m - 1]->count, cap) << "group " << gi << ": the tail is not balanced";
      if (!ends_before_large_tensor(*c[m - 2])) {
        EXPECT_LE(c[m - 1]->count, c[m - 2]->count)
            << "group " << gi << ": the last bucket is the larger";
      }
    }
  }
  for (size_t t = 0; t < tensors.size(); ++t) {
    ASSERT_EQ(covered[t], tensors[t].count) << "tensor " << t << " not covered exactly once";
    const auto& g = p.groups[p.slots[t].group];
    ASSERT_EQ(p.slots[t].arena_offset % align_elems(o, g.comm_dtype), 0u) << "tensor " << t;
  }
}

TEST(BucketPlan, RandomListsKeepEveryPlannerProperty) {
  std::mt19937_64 rng(20261129);
  for (int trial = 0; trial < 150; ++trial) {
    auto tensors = random_tensors(rng, 1 + rng() % 60);
    PlanOptions o = random_options(rng);
    BucketPlan p;
    ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &p).ok());
    SCOPED_TRACE("trial " + std::to_string(trial) + " world " + std::to_string(o.world));
    check_plan(tensors, o, p);
    if (HasFatalFailure()) return;
  }
}

TEST(BucketPlan, ArenaPiecesDoNotOverlapAcrossTensors) {
  std::mt19937_64 rng(7);
  auto tensors = random_tensors(rng, 40);
  PlanOptions o = random_options(rng);
  BucketPlan p;
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &p).ok());
  for (size_t g = 0; g < p.groups.size(); ++g) {
    std::vector<std::pair<size_t, size_t>> ranges;
    for (size_t t = 0; t < tensors.size(); ++t) {
      if (p.slots[t].group == static_cast<int>(g))
        ranges.emplace_back(p.slots[t].arena_offset, p.slots[t].arena_offset + tensors[t].count);
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) EXPECT_LE(ranges[i - 1].second, ranges[i].first);
    ASSERT_FALSE(ranges.empty());
    EXPECT_LE(ranges.back().second, p.groups[g].count);
  }
}

TEST(BucketPlan, SamePlanTwiceIsIdenticalAndFingerprintsMatch) {
  std::mt19937_64 rng(3);
  auto tensors = random_tensors(rng, 30);
  PlanOptions o = random_options(rng);
  BucketPlan a, b;
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &a).ok());
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &b).ok());
  ASSERT_EQ(a.buckets.size(), b.buckets.size());
  for (size_t i = 0; i < a.buckets.size(); ++i) {
    EXPECT_EQ(a.buckets[i].arena_offset, b.buckets[i].arena_offset);
    EXPECT_EQ(a.buckets[i].count, b.buckets[i].count);
  }
  EXPECT_EQ(tidal::plan_fingerprint(a), tidal::plan_fingerprint(b));
  tensors[5].count += 1;
  BucketPlan c;
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &c).ok());
  EXPECT_NE(tidal::plan_fingerprint(a), tidal::plan_fingerprint(c));
}

TEST(BucketPlan, ReverseOrderPutsTheLastTensorsInASmallFirstBucket) {
  std::vector<TensorSpec> tensors(10, TensorSpec{100000, TIDAL_F32});  // 400 KB each
  PlanOptions o;
  o.world = 4;
  o.bucket_bytes = 1 << 20;
  o.first_bucket_bytes = 64 << 10;
  o.reverse = true;
  BucketPlan p;
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &p).ok());
  const tidal::Bucket& first = p.buckets[0];
  EXPECT_EQ(first.count * 4, size_t(64) << 10);
  EXPECT_EQ(p.pieces[first.first_piece].tensor, 9u) << "bucket 0 must hold the last tensor";
  // Later buckets are full (1 MiB) except the one holding tensor 0.
  for (size_t b = 1; b + 1 < p.buckets.size(); ++b) EXPECT_EQ(p.buckets[b].count * 4, 1u << 20);
  EXPECT_EQ(p.pieces[p.buckets.back().first_piece].tensor, 0u);
}

TEST(BucketPlan, AShortRemainderSharesTheFullBucketBeforeIt) {
  // 3 full 1 MiB buckets and 10000 elements left over, world 4, align 16 B.
  std::vector<TensorSpec> tensors = {{3 * 262144 + 10000, TIDAL_F32}};
  PlanOptions o;
  o.world = 4;
  o.bucket_bytes = 1 << 20;
  o.first_bucket_bytes = 0;
  o.reverse = true;
  BucketPlan p;
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &p).ok());
  ASSERT_EQ(p.buckets.size(), 4u);
  EXPECT_EQ(p.buckets[0].count, 262144u);
  EXPECT_EQ(p.buckets[1].count, 262144u);
  // (262144 + 10000) / 16 = 17009 units: the last bucket takes 8504.
  EXPECT_EQ(p.buckets[3].count, 8504u * 16);
  EXPECT_EQ(p.buckets[2].count, 8505u * 16);
  EXPECT_EQ(p.buckets[3].arena_offset, 0u) << "reverse order: the tail is the arena's front";
  // A remainder of at least half a bucket is left alone.
  tensors[0].count = 3 * 262144 + 131072;
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &p).ok());
  ASSERT_EQ(p.buckets.size(), 4u);
  EXPECT_EQ(p.buckets[2].count, 262144u);
  EXPECT_EQ(p.buckets[3].count, 131072u);
  // Never balanced against the small first bucket.
  tensors[0].count = 65536 + 100;
  o.first_bucket_bytes = 256 << 10;
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &p).ok());
  ASSERT_EQ(p.buckets.size(), 2u);
  EXPECT_EQ(p.buckets[0].count, 65536u);
}

// Gradients arrive last to first. A full bucket that would take the start
// of a tensor larger than a bucket (DiT's label embedding) ends before it
// if it is at least half full: otherwise it would wait for that tensor
// with gradients that were ready long before.
TEST(BucketPlan, ABucketEndsBeforeALargeTensorIfAtLeastHalfFull) {
  const size_t cap = (1 << 20) / 4;
  PlanOptions o;
  o.bucket_bytes = 1 << 20;
  o.first_bucket_bytes = 0;
  o.reverse = true;
  // Registration order: a small tensor, the large one, three gradients
  // that arrive first (cutting starts at the arena's end).
  std::vector<TensorSpec> tensors = {
      {100000, TIDAL_F32}, {400000, TIDAL_F32}, {150000, TIDAL_F32}, {150000, TIDAL_F32},
      {150000, TIDAL_F32}};
  BucketPlan p;
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &p).ok());
  ASSERT_EQ(p.buckets.size(), 4u);
  EXPECT_EQ(p.buckets[0].count, cap);
  EXPECT_EQ(p.buckets[1].count, 450000 - cap) << "ends where the large tensor starts";
  size_t first = 0, last = 0;
  tidal::buckets_of_tensor(p, 1, &first, &last);
  EXPECT_EQ(first, 2u) << "the large tensor is not in the bucket before it";
  EXPECT_EQ(last, 3u);
  tidal::buckets_of_tensor(p, 2, &first, &last);
  EXPECT_EQ(last, 1u) << "the bucket before it is complete once tensor 2 is";
  // Under half full at the large tensor's start: the bucket fills up as
  // before, taking the start of the large tensor.
  for (size_t t = 2; t < 5; ++t) tensors[t].count = 100000;
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &p).ok());
  EXPECT_EQ(p.buckets[1].count, cap);
  tidal::buckets_of_tensor(p, 1, &first, &last);
  EXPECT_EQ(first, 1u);
  // A tensor smaller than a bucket is cut as before.
  tensors = {{100000, TIDAL_F32}, {200000, TIDAL_F32}, {150000, TIDAL_F32},
             {150000, TIDAL_F32}, {150000, TIDAL_F32}};
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &p).ok());
  EXPECT_EQ(p.buckets[1].count, cap);
}

TEST(BucketPlan, ATensorLargerThanABucketIsSplitEvenly) {
  std::vector<TensorSpec> tensors = {{10, TIDAL_F32}, {1000000, TIDAL_F32}, {10, TIDAL_F32}};
  PlanOptions o;
  o.world = 2;
  o.bucket_bytes = 1 << 20;
  o.first_bucket_bytes = 0;
  BucketPlan p;
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &p).ok());
  size_t first = 0, last = 0;
  tidal::buckets_of_tensor(p, 1, &first, &last);
  EXPECT_EQ(last - first + 1, 4u) << "4 MB tensor over 1 MiB buckets";
  for (size_t b = 0; b + 1 < p.buckets.size(); ++b) EXPECT_EQ(p.buckets[b].count, (1u << 20) / 4);
}

TEST(BucketPlan, ShardSegmentsOfAllRanksTileEveryTensor) {
  std::mt19937_64 rng(11);
  auto tensors = random_tensors(rng, 25);
  PlanOptions o = random_options(rng);
  o.world = 5;
  BucketPlan p;
  ASSERT_TRUE(tidal::make_bucket_plan(tensors, o, &p).ok());
  for (size_t t = 0; t < tensors.size(); ++t) {
    size_t total = 0;
    for (int r = 0; r < o.world; ++r) {
      for (const auto& s : tidal::shard_segments(p, r, t)) {
        total += s.count;
        EXPECT_LE(s.shard_offset + s.count * tidal::dtype_size(tensors[t].dtype), p.shard_bytes);
      }
    }
    EXPECT_EQ(total, tensors[t].count) << "tensor " << t;
  }
}

TEST(BucketPlan, BadInputIsRejectedWithAReason) {
  BucketPlan p;
  PlanOptions o;
  EXPECT_EQ(tidal::make_bucket_plan({}, o, &p).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal::make_bucket_plan({{0, TIDAL_F32}}, o, &p).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal::make_bucket_plan({{4, static_cast<tidal_dtype_t>(99)}}, o, &p).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
  o.align_bytes = 12;
  EXPECT_EQ(tidal::make_bucket_plan({{4, TIDAL_F32}}, o, &p).code(), TIDAL_ERR_INVALID_ARGUMENT);
  o.align_bytes = 16;
  o.world = 0;
  EXPECT_EQ(tidal::make_bucket_plan({{4, TIDAL_F32}}, o, &p).code(), TIDAL_ERR_INVALID_ARGUMENT);
  o.world = 2;
  o.comm_dtype = TIDAL_I32;
  auto s = tidal::make_bucket_plan({{4, TIDAL_F32}}, o, &p);
  EXPECT_EQ(s.code(), TIDAL_ERR_UNSUPPORTED);
  EXPECT_NE(s.message().find("bf16"), std::string::npos) << s.message();
}

}  // namespace
