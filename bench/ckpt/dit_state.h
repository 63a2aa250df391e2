// dit_state.h — a training state made of DiT-XL/2 parameter tensors
// (patch 2, hidden 1152, depth 28, heads 16, mlp ratio 4, adaLN-Zero with
// 6*hidden modulation, 4 latent channels in, 8 out, 32x32 latents, 1000
// classes), generated from the hyper-parameters, in f32, cut to a byte
// budget so every run saves the same realistic mix of shapes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tidal/ckpt.h"

namespace ckpt_bench {

struct DitConfig {
  int hidden = 1152;
  int depth = 28;
  int heads = 16;
  int mlp_ratio = 4;
  int patch = 2;
  int in_channels = 4;
  int out_channels = 8;  // learn_sigma doubles the latent channels
  int latent_size = 32;
  int classes = 1000;
  int frequency_embedding = 256;
};

struct TensorShape {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t elements() const;
};

// Every parameter tensor of the model, in module order.
std::vector<TensorShape> dit_parameter_shapes(const DitConfig& config);

// Owned f32 tensors: the DiT's parameters in order, stopping before the
// tensor that would take the total past `max_bytes`. Contents are
// deterministic and non-zero.
class TensorState {
 public:
  TensorState(const std::vector<TensorShape>& shapes, uint64_t max_bytes);
  const std::vector<tidal_ckpt_tensor_t>& views() const { return views_; }
  uint64_t bytes() const { return bytes_; }
  size_t count() const { return views_.size(); }
  // Overwrites every tensor (what the optimizer step does).
  void mutate(uint32_t step);

 private:
  std::vector<TensorShape> shapes_;
  std::vector<std::unique_ptr<float[]>> data_;
  std::vector<uint64_t> elements_;
  std::vector<tidal_ckpt_tensor_t> views_;
  uint64_t bytes_ = 0;
};

}  // namespace ckpt_bench
