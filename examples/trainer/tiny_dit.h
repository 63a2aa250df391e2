// tiny_dit.h — a small Diffusion Transformer (Peebles & Xie) in libtorch:
// patch embedding, timestep and label embeddings, transformer blocks with
// adaLN-Zero modulation, and the modulated final layer. The same
// architecture as DiT-S/B/XL at a size that trains in seconds on a CPU.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace dit {

struct Config {
  int input = 8;      // latent side
  int channels = 4;   // latent channels
  int patch = 2;
  int hidden = 64;
  int depth = 2;
  int heads = 4;
  int classes = 10;   // plus one "null" label for classifier-free guidance
  int tokens() const { return (input / patch) * (input / patch); }
};

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(int hidden, int heads);
  torch::Tensor forward(torch::Tensor x, torch::Tensor c);

 private:
  int heads_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr}, fc1_{nullptr}, fc2_{nullptr}, ada_{nullptr};
};
TORCH_MODULE(Block);

// A hook the model calls before each layer runs, with the index range
// [first, last] of that layer's parameters in parameters() order: where a
// ZeRO-3 trainer waits for the layer's gathered parameters.
using BeforeLayer = std::function<void(size_t first, size_t last)>;

class TinyDiTImpl : public torch::nn::Module {
 public:
  explicit TinyDiTImpl(const Config& config);
  // x: [B, C, H, W] noised latents; t: [B] timesteps; y: [B] labels.
  // Returns the predicted noise, [B, C, H, W].
  torch::Tensor forward(torch::Tensor x, torch::Tensor t, torch::Tensor y,
                        const BeforeLayer& before_layer = nullptr);
  // The parameter index range of each layer, in the order forward uses them.
  const std::vector<std::pair<size_t, size_t>>& layer_params() const { return layers_; }

 private:
  Config cfg_;
  torch::nn::Linear x_embed_{nullptr}, t_fc1_{nullptr}, t_fc2_{nullptr};
  torch::nn::Embedding y_embed_{nullptr};
  std::vector<Block> blocks_;
  torch::nn::LayerNorm final_norm_{nullptr};
  torch::nn::Linear final_ada_{nullptr}, final_linear_{nullptr};
  torch::Tensor pos_;  // fixed sin-cos position embedding (a buffer)
  std::vector<std::pair<size_t, size_t>> layers_;
};
TORCH_MODULE(TinyDiT);

}  // namespace dit
