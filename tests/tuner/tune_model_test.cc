// tidal-tune's model inputs: DiT presets (bench/bucketing's parameter lists
// with backward-time weights) and layer files.
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "bench/bucketing/dit_models.h"
#include "bench/tune/tune_model.h"
#include "collectives/bucketing/bucket_plan.h"
#include "topology/tuning/bucket_model.h"

namespace tidal {
namespace tune {
namespace {

TEST(TuneModel, DitPresetHasEveryParameterOfTheGenerator) {
  ModelSpec m;
  ASSERT_TRUE(dit_model("dit-xl", &m).ok());
  double expected = 0;
  for (size_t c : tidal_bench::dit_counts(tidal_bench::dit_xl2())) expected += double(c);
  EXPECT_EQ(m.total_params(), expected);
  EXPECT_GT(expected, 670e6);  // DiT-XL/2 has ~675M parameters
  EXPECT_LT(expected, 680e6);
  ASSERT_TRUE(dit_model("DiT-B/2", &m).ok());
  EXPECT_EQ(m.name, "DiT-B/2");
}

TEST(TuneModel, ConditioningLayersAreCheapPerParameterInBackward) {
  ModelSpec m;
  ASSERT_TRUE(dit_model("dit-s", &m).ok());
  const ModelLayer *qkv = nullptr, *ada = nullptr;
  for (const auto& l : m.layers) {
    if (l.name == "blocks.0.attn.qkv.weight") qkv = &l;
    if (l.name == "blocks.0.adaLN_modulation.1.weight") ada = &l;
  }
  ASSERT_TRUE(qkv && ada);
  EXPECT_EQ(qkv->bwd_weight, 256 * qkv->params);  // 256 tokens
  EXPECT_EQ(ada->bwd_weight, ada->params);        // one conditioning vector
}

TEST(TuneModel, GradLayersRunBackwardAtTheGivenBytesPerParameter) {
  ModelSpec m;
  m.layers = {{"first", 10, 1}, {"last", 20, 3}};
  auto layers = grad_layers(m, 2);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].bytes, 40);  // the last layer's gradient comes first
  EXPECT_EQ(layers[0].seconds, 3);
  EXPECT_EQ(layers[1].bytes, 20);
}

// The model cuts a DiT's gradients as the planner does, early ends before
// large tensors included: same buckets, same sizes, in launch order.
TEST(TuneModel, DitGradientBucketsAreThePlannersBuckets) {
  for (const char* name : {"dit-s", "dit-b"}) {
    ModelSpec m;
    ASSERT_TRUE(dit_model(name, &m).ok());
    std::vector<TensorSpec> tensors;
    for (const ModelLayer& l : m.layers) {
      tensors.push_back({static_cast<size_t>(l.params), TIDAL_F32});
    }
    std::vector<double> bytes;
    double total = 0;
    for (const tuning::GradLayer& l : grad_layers(m, 4)) {
      bytes.push_back(l.bytes);
      total += l.bytes;
    }
    for (size_t mib : {1, 4, 16}) {
      PlanOptions o;
      o.bucket_bytes = mib << 20;
      o.first_bucket_bytes = 1 << 20;
      o.reverse = true;
      BucketPlan plan;
      ASSERT_TRUE(make_bucket_plan(tensors, o, &plan).ok());
      std::vector<double> planned;
      for (const Bucket& b : plan.buckets) planned.push_back(4.0 * double(b.count));
      EXPECT_EQ(tuning::bucket_sizes(total, double(o.bucket_bytes), 1 << 20, bytes), planned)
          << name << " at " << mib << " MiB";
    }
  }
}

TEST(TuneModel, UnknownPresetAndUnreadableFileAreInputErrors) {
  ModelSpec m;
  EXPECT_EQ(dit_model("dit-q", &m).code(), TIDAL_ERR_INVALID_ARGUMENT);
  Status s = load_model_file("/nonexistent/model.txt", &m);
  EXPECT_EQ(s.code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("unknown model"), std::string::npos);
}

TEST(TuneModel, LayerFileParsesWeightsCommentsAndRejectsGarbage) {
  std::string path =  // per process: two suites may run at once
      ::testing::TempDir() + "tidal_tune_model_" + std::to_string(::getpid()) + ".txt";
  std::ofstream(path) << "# name params [weight]\nembed, 100\nblock 300 9000  # heavy\n\n";
  ModelSpec m;
  ASSERT_TRUE(load_model_file(path, &m).ok());
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[0].bwd_weight, 100);  // defaults to its parameters
  EXPECT_EQ(m.layers[1].bwd_weight, 9000);
  std::ofstream(path) << "block lots\n";
  EXPECT_EQ(load_model_file(path, &m).code(), TIDAL_ERR_INVALID_ARGUMENT);
  std::ofstream(path) << "# nothing\n";
  EXPECT_EQ(load_model_file(path, &m).code(), TIDAL_ERR_INVALID_ARGUMENT);  // phi 0
}

}  // namespace
}  // namespace tune
}  // namespace tidal
