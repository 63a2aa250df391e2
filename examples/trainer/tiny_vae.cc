#include "tiny_vae.h"

namespace vae {
namespace {
namespace nn = torch::nn;
nn::Conv2d conv(int in, int out, int kernel, int stride, int pad) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(pad));
}
}  // namespace

TinyVAEImpl::TinyVAEImpl(const Config& c) {
  auto count = [this] { return parameters().size(); };
  size_t first = count();
  enc1_ = register_module("encoder_conv1", conv(c.channels, c.width, 3, 1, 1));
  enc2_ = register_module("encoder_down", conv(c.width, c.width, 4, 2, 1));
  enc3_ = register_module("encoder_moments", conv(c.width, 2 * c.latent_channels, 3, 1, 1));
  layers_.emplace_back(first, count() - 1);
  first = count();
  dec1_ = register_module("decoder_conv1", conv(c.latent_channels, c.width, 3, 1, 1));
  dec2_ = register_module("decoder_up", nn::ConvTranspose2d(
                                            nn::ConvTranspose2dOptions(c.width, c.width, 4)
                                                .stride(2).padding(1)));
  dec3_ = register_module("decoder_out", conv(c.width, c.channels, 3, 1, 1));
  layers_.emplace_back(first, count() - 1);
}

Output TinyVAEImpl::forward(torch::Tensor x, torch::Tensor eps,
                            const dit::BeforeLayer& before_layer) {
  if (before_layer) before_layer(layers_[0].first, layers_[0].second);
  auto moments = enc3_(torch::silu(enc2_(torch::silu(enc1_(x))))).chunk(2, 1);
  auto logvar = moments[1].clamp(-30.0, 20.0);
  auto z = moments[0] + torch::exp(0.5 * logvar) * eps;
  if (before_layer) before_layer(layers_[1].first, layers_[1].second);
  auto recon = dec3_(torch::silu(dec2_(torch::silu(dec1_(z)))));
  return {recon, moments[0], logvar};
}

}  // namespace vae
