// tidal-tune's model inputs: DiT presets (bench/bucketing's parameter lists
// with backward-time weights) and layer files.
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "bench/bucketing/dit_models.h"
#include "bench/tune/tune_model.h"

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
