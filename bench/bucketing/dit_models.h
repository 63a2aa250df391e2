// dit_models.h — the parameter lists of DiT models (Peebles & Xie, "Scalable
// Diffusion Models with Transformers"), generated from their
// hyper-parameters, in registration order (the order PyTorch's
// model.parameters() yields them). Reusable by any bench or tool.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace tidal_bench {

struct DiTConfig {
  const char* name;
  int hidden;
  int depth;
  int heads;
  int patch = 2;
  int input_size = 32;    // latent side (256 px images / VAE factor 8)
  int in_channels = 4;
  int num_classes = 1000;
  double mlp_ratio = 4.0;
  bool learn_sigma = true;  // out_channels = 2 * in_channels
};

struct ParamTensor {
  std::string name;
  std::vector<size_t> shape;
  size_t count() const;
};

// DiT-S/2, DiT-B/2, DiT-XL/2 (patch 2; hidden 384/768/1152; depth
// 12/12/28; heads 6/12/16).
DiTConfig dit_s2();
DiTConfig dit_b2();
DiTConfig dit_xl2();
// By name: "DiT-S/2", "DiT-B/2", "DiT-XL/2" (also "s", "b", "xl").
bool dit_by_name(const std::string& name, DiTConfig* out);

// Trainable parameters: patch embedding, timestep MLP, label embedding
// (num_classes + 1 rows for classifier-free guidance), per block qkv,
// proj, fc1, fc2 and the adaLN-Zero modulation (6 * hidden outputs), and
// the final layer (its adaLN modulation has 2 * hidden outputs). The
// sin-cos position embedding is fixed, not a parameter.
std::vector<ParamTensor> dit_parameters(const DiTConfig& config);

// Element counts only (what the bucketing benchmarks register).
std::vector<size_t> dit_counts(const DiTConfig& config);

}  // namespace tidal_bench
