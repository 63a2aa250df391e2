// dit_state.cc — DiT-XL/2 parameter shapes and an owned state of them.
#include "bench/ckpt/dit_state.h"

#include <cstring>

namespace ckpt_bench {

uint64_t TensorShape::elements() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

namespace {

void add_linear(std::vector<TensorShape>* out, const std::string& name, int64_t out_features,
                int64_t in_features) {
  out->push_back({name + ".weight", {out_features, in_features}});
  out->push_back({name + ".bias", {out_features}});
}

}  // namespace

std::vector<TensorShape> dit_parameter_shapes(const DitConfig& c) {
  std::vector<TensorShape> s;
  const int64_t h = c.hidden;
  const int64_t tokens = (c.latent_size / c.patch) * (c.latent_size / c.patch);
  s.push_back({"pos_embed", {1, tokens, h}});
  s.push_back({"x_embedder.proj.weight", {h, c.in_channels, c.patch, c.patch}});
  s.push_back({"x_embedder.proj.bias", {h}});
  add_linear(&s, "t_embedder.mlp.0", h, c.frequency_embedding);
  add_linear(&s, "t_embedder.mlp.2", h, h);
  s.push_back({"y_embedder.embedding_table.weight", {c.classes + 1, h}});  // + the null class
  for (int b = 0; b < c.depth; ++b) {
    std::string p = "blocks." + std::to_string(b);
    add_linear(&s, p + ".attn.qkv", 3 * h, h);
    add_linear(&s, p + ".attn.proj", h, h);
    add_linear(&s, p + ".mlp.fc1", c.mlp_ratio * h, h);
    add_linear(&s, p + ".mlp.fc2", h, c.mlp_ratio * h);
    add_linear(&s, p + ".adaLN_modulation.1", 6 * h, h);
  }
  add_linear(&s, "final_layer.adaLN_modulation.1", 2 * h, h);
  add_linear(&s, "final_layer.linear", int64_t(c.patch) * c.patch * c.out_channels, h);
  return s;
}

TensorState::TensorState(const std::vector<TensorShape>& shapes, uint64_t max_bytes) {
  for (const TensorShape& t : shapes) {
    uint64_t bytes = t.elements() * sizeof(float);
    if (bytes_ + bytes > max_bytes) break;
    shapes_.push_back(t);
    elements_.push_back(t.elements());
    data_.emplace_back(new float[t.elements()]);
    bytes_ += bytes;
  }
  for (size_t i = 0; i < shapes_.size(); ++i) {
    views_.push_back(tidal_ckpt_tensor_t{shapes_[i].name.c_str(), TIDAL_F32,
                                         static_cast<int>(shapes_[i].shape.size()), shapes_[i].shape.data(),
                                         data_[i].get()});
  }
  mutate(1);
}

void TensorState::mutate(uint32_t step) {
  for (size_t i = 0; i < data_.size(); ++i) {
    float* p = data_[i].get();
    float base = static_cast<float>(step) * 0.001f + static_cast<float>(i);
    for (uint64_t j = 0; j < elements_[i]; ++j) p[j] = base + static_cast<float>(j & 1023) * 1e-3f;
  }
}

}  // namespace ckpt_bench
