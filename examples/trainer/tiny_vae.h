// tiny_vae.h — a small convolutional VAE in libtorch: the autoencoder that
// turns images (or video frames) into the latents a DiT trains on. The
// encoder halves the side and outputs a mean and log-variance per latent
// channel; the decoder mirrors it.
#pragma once

#include <torch/torch.h>

#include "tiny_dit.h"  // BeforeLayer

namespace vae {

struct Config {
  int image = 16;          // image side
  int channels = 3;        // image channels
  int latent_channels = 4;
  int width = 32;          // conv channels
  int latent() const { return image / 2; }
};

struct Output {
  torch::Tensor reconstruction, mean, logvar;
};

class TinyVAEImpl : public torch::nn::Module {
 public:
  explicit TinyVAEImpl(const Config& config);
  // x: [B, C, H, W] images; eps: [B, latent_channels, H/2, W/2] standard
  // normal noise for the reparameterisation (given, so runs are reproducible).
  Output forward(torch::Tensor x, torch::Tensor eps, const dit::BeforeLayer& before_layer = nullptr);
  // Parameter index ranges of the encoder and the decoder, in forward order.
  const std::vector<std::pair<size_t, size_t>>& layer_params() const { return layers_; }

 private:
  torch::nn::Conv2d enc1_{nullptr}, enc2_{nullptr}, enc3_{nullptr};
  torch::nn::Conv2d dec1_{nullptr}, dec3_{nullptr};
  torch::nn::ConvTranspose2d dec2_{nullptr};
  std::vector<std::pair<size_t, size_t>> layers_;
};
TORCH_MODULE(TinyVAE);

}  // namespace vae
