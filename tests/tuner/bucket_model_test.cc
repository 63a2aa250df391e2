// The event-driven step model on small hand-computed cases: bucket sizes,
// the first bucket, the production profile, several buckets in flight, the
// ZeRO-3 forward prefetch, measured profiles, and bad inputs.
#include <gtest/gtest.h>

#include "topology/tuning/bucket_model.h"
#include "topology/tuning/bucket_tuner.h"

namespace tidal {
namespace tuning {
namespace {

// alpha seconds per bucket, beta bytes per second, on every kind.
CommProfile profile(double alpha, double beta) {
  CommProfile p;
  EXPECT_TRUE(p.curve(CommKind::kReduceScatter).set_alpha_beta(alpha, beta).ok());
  return p;
}

StepInputs inputs(double phi, double bwd_s) {
  StepInputs in;
  in.grad_bytes = phi;
  in.bwd_s = bwd_s;
  return in;
}

double bwd_exposed(const StepInputs& in, const CommProfile& p, double b) {
  StepPrediction out;
  EXPECT_TRUE(predict_step(in, p, b, &out).ok());
  return out.bwd_exposed_s;
}

TEST(BucketSizes, SmallFirstBucketThenFullOnesThenTheRemainder) {
  EXPECT_EQ(bucket_sizes(10, 4, 1), (std::vector<double>{1, 4, 2.5, 2.5}));  // balanced tail
  EXPECT_EQ(bucket_sizes(11, 4, 1), (std::vector<double>{1, 4, 4, 2}));     // tail >= b/2 kept
  EXPECT_EQ(bucket_sizes(5, 4, 1), (std::vector<double>{1, 4}));
  EXPECT_EQ(bucket_sizes(5, 4, 0), (std::vector<double>{2.5, 2.5}));
  EXPECT_EQ(bucket_sizes(10, 4, 0), (std::vector<double>{4, 4, 2}));
  EXPECT_EQ(bucket_sizes(3, 4, 8), (std::vector<double>{3}));  // first capped by phi
}

// With the tensors in cutting order, as the planner cuts: a bucket at
// least half full ends where a tensor of at least a bucket starts.
TEST(BucketSizes, ABucketEndsBeforeATensorLargerThanABucket) {
  EXPECT_EQ(bucket_sizes(10, 4, 0, {1, 2, 5, 2}), (std::vector<double>{3, 4, 3}));
  EXPECT_EQ(bucket_sizes(10, 4, 0, {2, 4, 10, 4}), (std::vector<double>{3, 4, 3}))
      << "tensor bytes are scaled to the total";
  EXPECT_EQ(bucket_sizes(10, 4, 0, {1, 5, 4}), (std::vector<double>{4, 2, 4}))
      << "under half full at the first large tensor: it is split; exactly half: ends before";
  EXPECT_EQ(bucket_sizes(10, 4, 0, {1, 2, 3, 3, 1}), (std::vector<double>{4, 4, 2}))
      << "tensors smaller than a bucket are split";
  EXPECT_EQ(bucket_sizes(10, 4, 1, {1, 2, 5, 2}), (std::vector<double>{1, 2, 4, 3}))
      << "the first bucket, then one that ends before the large tensor";
}

TEST(BucketModel, FirstBucketMovesBytesBeforeBackwardEnds) {
  // 8 bytes at 1 byte/s, alpha 1 s, beta 1 B/s. One 8-byte bucket: ready
  // at 8, takes 9 s. With a 1-byte first bucket: the 7-byte rest takes 8 s.
  CommProfile p = profile(1, 1);
  StepInputs in = inputs(8, 8);
  EXPECT_DOUBLE_EQ(bwd_exposed(in, p, 8), 9);
  in.first_bucket_bytes = 1;
  EXPECT_DOUBLE_EQ(bwd_exposed(in, p, 8), 8);
}

TEST(BucketModel, LayerProfileBurstAtTheEndIsExposed) {
  // 10 bytes in 10 s: uniformly, 1-byte buckets of 1 s keep pace (1 s
  // exposed). If the last layer produces 9 bytes in its final second, 9
  // buckets queue at t = 10.
  CommProfile p = profile(0, 1);
  StepInputs in = inputs(10, 10);
  EXPECT_DOUBLE_EQ(bwd_exposed(in, p, 1), 1);
  in.grad_layers = {{1, 9}, {9, 1}};
  EXPECT_DOUBLE_EQ(bwd_exposed(in, p, 1), 9);
  EXPECT_DOUBLE_EQ(bwd_exposed(in, p, 10), 10);
}

TEST(BucketModel, BucketsInFlightHideLatencyButNotTransfer) {
  // 4 one-byte buckets ready almost at once; alpha 10 s, 1 byte/s.
  CommProfile p = profile(10, 1);
  StepInputs in = inputs(4, 0.001);
  const double r1 = 0.00025;
  EXPECT_NEAR(bwd_exposed(in, p, 1), r1 + 44 - 0.001, 1e-12);
  in.max_inflight = 2;  // bucket 3 waits for bucket 1, bucket 4's bytes follow bucket 3's
  EXPECT_NEAR(bwd_exposed(in, p, 1), r1 + 23 - 0.001, 1e-12);
  in.max_inflight = 4;  // all overlap: latency once, 4 bytes at 1 B/s
  EXPECT_NEAR(bwd_exposed(in, p, 1), r1 + 14 - 0.001, 1e-12);
  StepInputs no_latency = inputs(4, 0.001);
  no_latency.max_inflight = 4;
  EXPECT_NEAR(bwd_exposed(no_latency, profile(0, 1), 1),
              bwd_exposed(inputs(4, 0.001), profile(0, 1), 1), 1e-12);
}

TEST(BucketModel, ForwardPrefetchHidesAllButTheFirstGather) {
  // ZeRO-3: 4 one-second gathers, 1 s of compute per bucket.
  CommProfile p = profile(0, 1);
  StepInputs in = inputs(4, 4);
  in.gather_bytes = 4;
  in.fwd_s = 4;
  in.prefetch_depth = 0;
  StepPrediction none, one;
  ASSERT_TRUE(predict_step(in, p, 1, &none).ok());
  EXPECT_DOUBLE_EQ(none.fwd_exposed_s, 4);  // every gather stalls the compute
  in.prefetch_depth = 1;
  ASSERT_TRUE(predict_step(in, p, 1, &one).ok());
  EXPECT_DOUBLE_EQ(one.fwd_exposed_s, 1);   // only the first
  EXPECT_EQ(one.gather_buckets, 4u);
  EXPECT_DOUBLE_EQ(one.iteration_s, 4 + 4 + one.fwd_exposed_s + one.bwd_exposed_s);
}

TEST(BucketModel, PrefetchCannotBeatALinkSlowerThanTheCompute) {
  CommProfile p = profile(0, 0.5);  // 2 s per 1-byte gather, 1 s compute
  StepInputs in = inputs(4, 4);
  in.gather_bytes = 4;
  in.fwd_s = 4;
  StepPrediction depth1, depth2;
  in.prefetch_depth = 1;
  ASSERT_TRUE(predict_step(in, p, 1, &depth1).ok());
  in.prefetch_depth = 2;
  ASSERT_TRUE(predict_step(in, p, 1, &depth2).ok());
  EXPECT_DOUBLE_EQ(depth1.fwd_exposed_s, 5);  // 8 s of gathers + the last 1 s compute - 4
  EXPECT_DOUBLE_EQ(depth2.fwd_exposed_s, 5);
}

TEST(BucketModel, ABucketOnAnIdleLinkTakesItsAloneTime) {
  // 8 bytes in 8 s, 2-byte buckets; queued 1 s each, alone 3 s (a 2 s pack
  // and start-up ahead of a 1 s collective). Compute-bound: every bucket
  // finds the link idle, so the last one ends 3 s after the backward.
  CommProfile p = profile(0.5, 4);
  ASSERT_TRUE(p.alone(CommKind::kReduceScatter).set_alpha_beta(2.5, 4).ok());
  StepInputs in = inputs(8, 8);
  EXPECT_DOUBLE_EQ(bwd_exposed(in, p, 2), 3);
  // Comm-bound (everything ready at 1 s): the alone time once, then the
  // queued time per bucket: 1 + 3 + 3 * 1 = 7 s.
  in.grad_layers = {{0, 1}, {8, 0}};
  in.bwd_s = 1;
  EXPECT_DOUBLE_EQ(bwd_exposed(in, p, 2), 6);
  // Without an alone curve the queued one stands for both: 1 + 4 * 1.
  EXPECT_DOUBLE_EQ(bwd_exposed(in, profile(0.5, 4), 2), 4);
}

TEST(BucketModel, AnAloneTimeBelowTheQueuedOneIsNotFaster) {
  CommProfile p = profile(1, 1);
  ASSERT_TRUE(p.alone(CommKind::kReduceScatter).set_alpha_beta(0, 100).ok());
  EXPECT_DOUBLE_EQ(bwd_exposed(inputs(8, 8), p, 8), bwd_exposed(inputs(8, 8), profile(1, 1), 8));
}

TEST(BucketModel, AllGatherBorrowsTheReduceScatterAloneCurveWithItsQueuedOne) {
  CommProfile p = profile(0, 1);
  ASSERT_TRUE(p.alone(CommKind::kReduceScatter).set_alpha_beta(2, 1).ok());
  CommProfile::Curves c;
  ASSERT_TRUE(p.curves_for(CommKind::kAllGather, &c).ok());
  EXPECT_EQ(c.queued, &p.curve(CommKind::kReduceScatter));
  EXPECT_EQ(c.alone, &p.alone(CommKind::kReduceScatter));
  EXPECT_EQ(c.pack, nullptr);
  ASSERT_TRUE(p.pack(CommKind::kReduceScatter).set_alpha_beta(0, 1).ok());
  ASSERT_TRUE(p.curves_for(CommKind::kAllGather, &c).ok());
  EXPECT_EQ(c.pack, &p.pack(CommKind::kReduceScatter));
  EXPECT_FALSE(p.curves_for(CommKind::kAllReduce, &c).ok());
}

TEST(BucketModel, PackingOnTheMarkingThreadDelaysTheMarksAfterIt) {
  // 8 bytes in 4 s, 2-byte buckets ready at 1, 2, 3, 4; collectives free
  // (alpha 0, 1e9 B/s). Packing a bucket takes 1.5 s of the marking
  // thread: bucket k is ready at max(due, previous pack done) = 1, 2.5,
  // 4, 5.5, and its collective ends when its pack does: 7 s, 3 exposed.
  CommProfile p = profile(0, 1e9);
  ASSERT_TRUE(p.pack(CommKind::kReduceScatter).set_alpha_beta(1.5, 1e12).ok());
  EXPECT_NEAR(bwd_exposed(inputs(8, 4), p, 2), 3, 1e-6);
  // A pack that fits between marks delays nothing: 0.5 s each.
  ASSERT_TRUE(p.pack(CommKind::kReduceScatter).set_alpha_beta(0.5, 1e12).ok());
  EXPECT_NEAR(bwd_exposed(inputs(8, 4), p, 2), 0.5, 1e-6);
}

TEST(BucketModel, MeasuredProfileWithACacheCliffMovesThePick) {
  // 4 MiB buckets run at 4 GB/s, 16 MiB ones at 1 GB/s (out of cache).
  CommProfile p;
  CommCurve& c = p.curve(CommKind::kReduceScatter);
  ASSERT_TRUE(c.add_point(1 << 20, 1e-4 + (1 << 20) / 4e9).ok());
  ASSERT_TRUE(c.add_point(4 << 20, 1e-4 + (4 << 20) / 4e9).ok());
  ASSERT_TRUE(c.add_point(16 << 20, (16 << 20) / 1e9).ok());
  ASSERT_TRUE(c.add_point(64 << 20, (64 << 20) / 1e9).ok());
  StepInputs in = inputs(256.0 * (1 << 20), 0.2);
  TuneResult r;
  ASSERT_TRUE(tune_bucket_size(in, p, TuneOptions(), &r).ok());
  EXPECT_GE(r.best.bucket_bytes, 1 << 20);
  EXPECT_LE(r.best.bucket_bytes, 4 << 20);
  EXPECT_LT(r.best.exposed_s, r.ddp_default.exposed_s);
}

TEST(BucketModel, RejectsImpossibleInputs) {
  CommProfile p = profile(1e-5, 1e9);
  StepPrediction out;
  EXPECT_EQ(predict_step(inputs(0, 1), p, 1e6, &out).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(predict_step(inputs(1e6, 0), p, 1e6, &out).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(predict_step(inputs(1e6, -1), p, 1e6, &out).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(predict_step(inputs(1e6, 1), p, 0, &out).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(predict_step(inputs(1e6, 1), CommProfile(), 1e6, &out).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
  StepInputs gather = inputs(1e6, 1);
  gather.gather_bytes = 1e6;  // a ZeRO-3 gather without a forward time
  EXPECT_EQ(predict_step(gather, p, 1e6, &out).code(), TIDAL_ERR_INVALID_ARGUMENT);
  StepInputs all_reduce = inputs(1e6, 1);
  all_reduce.grad_kind = CommKind::kAllReduce;  // no all-reduce curve
  EXPECT_EQ(predict_step(all_reduce, p, 1e6, &out).code(), TIDAL_ERR_INVALID_ARGUMENT);
  StepInputs layers = inputs(1e6, 1);
  layers.grad_layers = {{-1, 1}};
  EXPECT_EQ(predict_step(layers, p, 1e6, &out).code(), TIDAL_ERR_INVALID_ARGUMENT);
}

TEST(BucketTuner, CandidatesAreAGeometricSweepEndingAtPhi) {
  TuneOptions o;
  o.min_bucket_bytes = 1 << 20;
  o.points_per_octave = 1;
  std::vector<double> sizes;
  ASSERT_TRUE(candidate_sizes(inputs(10 << 20, 1), o, &sizes).ok());
  EXPECT_EQ(sizes, (std::vector<double>{1 << 20, 2 << 20, 4 << 20, 8 << 20, 10 << 20}));
  o.candidates = {3e6, 1e6, 3e6};
  ASSERT_TRUE(candidate_sizes(inputs(10 << 20, 1), o, &sizes).ok());
  EXPECT_EQ(sizes, (std::vector<double>{1e6, 3e6}));
}

// A phi so large that the smallest sizes would cut it into more buckets
// than the model simulates: the sweep starts where it can.
TEST(BucketTuner, TheSweepStartsAtTheSmallestBucketTheModelSimulates) {
  TuneOptions o;
  o.min_bucket_bytes = 1 << 18;
  o.points_per_octave = 1;
  const double phi = 1e13;
  std::vector<double> sizes;
  ASSERT_TRUE(candidate_sizes(inputs(phi, 1), o, &sizes).ok());
  ASSERT_FALSE(sizes.empty());
  EXPECT_GE(sizes.front(), phi / kMaxModelBuckets - 0.5);
  EXPECT_LT(sizes.front(), 2 * phi / kMaxModelBuckets);
  EXPECT_EQ(sizes.back(), phi);
}

}  // namespace
}  // namespace tuning
}  // namespace tidal
