#include "bench/bucketing/dit_models.h"

namespace tidal_bench {

size_t ParamTensor::count() const {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  return n;
}

DiTConfig dit_s2() { return DiTConfig{"DiT-S/2", 384, 12, 6}; }
DiTConfig dit_b2() { return DiTConfig{"DiT-B/2", 768, 12, 12}; }
DiTConfig dit_xl2() { return DiTConfig{"DiT-XL/2", 1152, 28, 16}; }

bool dit_by_name(const std::string& name, DiTConfig* out) {
  if (name == "DiT-S/2" || name == "s") return *out = dit_s2(), true;
  if (name == "DiT-B/2" || name == "b") return *out = dit_b2(), true;
  if (name == "DiT-XL/2" || name == "xl") return *out = dit_xl2(), true;
  return false;
}

std::vector<ParamTensor> dit_parameters(const DiTConfig& c) {
  const size_t h = static_cast<size_t>(c.hidden), p = static_cast<size_t>(c.patch);
  const size_t in = static_cast<size_t>(c.in_channels);
  const size_t out = c.learn_sigma ? 2 * in : in;
  const size_t mlp = static_cast<size_t>(static_cast<double>(h) * c.mlp_ratio);
  const size_t freq = 256;  // timestep frequency embedding size
  std::vector<ParamTensor> ps = {
      {"x_embedder.proj.weight", {h, in, p, p}},
      {"x_embedder.proj.bias", {h}},
      {"t_embedder.mlp.0.weight", {h, freq}},
      {"t_embedder.mlp.0.bias", {h}},
      {"t_embedder.mlp.2.weight", {h, h}},
      {"t_embedder.mlp.2.bias", {h}},
      {"y_embedder.embedding_table.weight", {static_cast<size_t>(c.num_classes) + 1, h}},
  };
  for (int b = 0; b < c.depth; ++b) {
    const std::string pre = "blocks." + std::to_string(b) + ".";
    ps.push_back({pre + "attn.qkv.weight", {3 * h, h}});
    ps.push_back({pre + "attn.qkv.bias", {3 * h}});
    ps.push_back({pre + "attn.proj.weight", {h, h}});
    ps.push_back({pre + "attn.proj.bias", {h}});
    ps.push_back({pre + "mlp.fc1.weight", {mlp, h}});
    ps.push_back({pre + "mlp.fc1.bias", {mlp}});
    ps.push_back({pre + "mlp.fc2.weight", {h, mlp}});
    ps.push_back({pre + "mlp.fc2.bias", {h}});
    ps.push_back({pre + "adaLN_modulation.1.weight", {6 * h, h}});
    ps.push_back({pre + "adaLN_modulation.1.bias", {6 * h}});
  }
  ps.push_back({"final_layer.linear.weight", {p * p * out, h}});
  ps.push_back({"final_layer.linear.bias", {p * p * out}});
  ps.push_back({"final_layer.adaLN_modulation.1.weight", {2 * h, h}});
  ps.push_back({"final_layer.adaLN_modulation.1.bias", {2 * h}});
  return ps;
}

std::vector<size_t> dit_counts(const DiTConfig& c) {
  std::vector<size_t> counts;
  for (const ParamTensor& t : dit_parameters(c)) counts.push_back(t.count());
  return counts;
}

}  // namespace tidal_bench
