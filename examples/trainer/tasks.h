// tasks.h — what the trainer trains: a model, its synthetic data and its
// loss. `dit`: noise prediction on class-conditional latents (DDPM, linear
// betas); `vae`: reconstruction + KL on class-conditional images. Every
// sample is drawn from its own generator (seeded by its global index), so
// any number of ranks sees the same global batches.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tiny_dit.h"

namespace trainer {

class Task {
 public:
  virtual ~Task() = default;
  virtual torch::nn::Module& module() = 0;
  // Parameter index ranges of the layers, in the order forward runs them.
  virtual const std::vector<std::pair<size_t, size_t>>& layer_params() const = 0;
  // Floats per sample (inputs, noise, labels) in a batch buffer.
  virtual size_t sample_floats() const = 0;
  // Writes one sample into `out` (sample_floats() floats).
  virtual void fill(std::mt19937_64& rng, float* out) const = 0;
  // The mean loss of a local batch: `samples` is [n, sample_floats()];
  // `before_layer` runs before each layer (the trainer waits there for
  // the layer's gathered parameters).
  virtual torch::Tensor loss(torch::Tensor samples, const dit::BeforeLayer& before_layer) = 0;
};

// "dit" or "vae"; nullptr for another name. `width` (the DiT's hidden size
// or the VAE's conv channels) and `depth` (DiT blocks): 0 keeps the defaults.
std::unique_ptr<Task> make_task(const std::string& name, int width = 0, int depth = 0);

}  // namespace trainer
