#include "tasks.h"

#include <cmath>

#include "tiny_vae.h"

namespace trainer {
namespace {

// A smooth class-dependent pattern plus a little noise: learnable data.
void pattern(std::mt19937_64& rng, int label, int channels, int side, float* out) {
  std::normal_distribution<float> normal;
  for (int c = 0; c < channels; ++c) {
    for (int h = 0; h < side; ++h) {
      for (int w = 0; w < side; ++w) {
        *out++ = 0.8f * std::sin(0.7f * (label + 1) * (h + 1) * 8 / side + 0.3f * w * 8 / side + c) +
                 0.05f * normal(rng);
      }
    }
  }
}

class DiTTask : public Task {
 public:
  DiTTask(int width, int depth) : cfg_(config(width, depth)), model_(cfg_) {
    double prod = 1.0;  // linear beta schedule, as DDPM
    for (int t = 0; t < 1000; ++t) {
      prod *= 1.0 - (1e-4 + (0.02 - 1e-4) * t / 999.0);
      alpha_bar_.push_back(static_cast<float>(prod));
    }
  }
  static dit::Config config(int width, int depth) {
    dit::Config c;
    if (width > 0) c.hidden = width;
    if (depth > 0) c.depth = depth;
    return c;
  }
  torch::nn::Module& module() override { return *model_; }
  const std::vector<std::pair<size_t, size_t>>& layer_params() const override {
    return model_->layer_params();
  }
  size_t latent() const { return static_cast<size_t>(cfg_.channels) * cfg_.input * cfg_.input; }
  // x0, noise, timestep, label
  size_t sample_floats() const override { return 2 * latent() + 2; }
  void fill(std::mt19937_64& rng, float* out) const override {
    const int label = static_cast<int>(rng() % cfg_.classes), t = static_cast<int>(rng() % 1000);
    pattern(rng, label, cfg_.channels, cfg_.input, out);
    std::normal_distribution<float> normal;
    for (size_t i = 0; i < latent(); ++i) out[latent() + i] = normal(rng);
    out[2 * latent()] = static_cast<float>(t);
    out[2 * latent() + 1] = static_cast<float>(label);
  }
  torch::Tensor loss(torch::Tensor s, const dit::BeforeLayer& before_layer) override {
    const int64_t n = s.size(0), lat = static_cast<int64_t>(latent());
    const std::vector<int64_t> shape = {n, cfg_.channels, cfg_.input, cfg_.input};
    auto x0 = s.narrow(1, 0, lat).reshape(shape);
    auto noise = s.narrow(1, lat, lat).reshape(shape);
    auto t = s.select(1, 2 * lat).to(torch::kInt64);
    auto y = s.select(1, 2 * lat + 1).to(torch::kInt64);
    auto ab = torch::from_blob(alpha_bar_.data(), {1000}, torch::kFloat32).index_select(0, t)
                  .reshape({n, 1, 1, 1});
    auto xt = torch::sqrt(ab) * x0 + torch::sqrt(1 - ab) * noise;
    return torch::mse_loss(model_->forward(xt, t, y, before_layer), noise);
  }

 private:
  dit::Config cfg_;
  dit::TinyDiT model_;
  std::vector<float> alpha_bar_;
};

class VAETask : public Task {
 public:
  explicit VAETask(int width) : cfg_(config(width)), model_(cfg_) {}
  static vae::Config config(int width) {
    vae::Config c;
    if (width > 0) c.width = width;
    return c;
  }
  torch::nn::Module& module() override { return *model_; }
  const std::vector<std::pair<size_t, size_t>>& layer_params() const override {
    return model_->layer_params();
  }
  size_t image() const { return static_cast<size_t>(cfg_.channels) * cfg_.image * cfg_.image; }
  size_t eps() const {
    return static_cast<size_t>(cfg_.latent_channels) * cfg_.latent() * cfg_.latent();
  }
  // image, reparameterisation noise
  size_t sample_floats() const override { return image() + eps(); }
  void fill(std::mt19937_64& rng, float* out) const override {
    pattern(rng, static_cast<int>(rng() % 10), cfg_.channels, cfg_.image, out);
    std::normal_distribution<float> normal;
    for (size_t i = 0; i < eps(); ++i) out[image() + i] = normal(rng);
  }
  torch::Tensor loss(torch::Tensor s, const dit::BeforeLayer& before_layer) override {
    const int64_t n = s.size(0);
    auto x = s.narrow(1, 0, static_cast<int64_t>(image()))
                 .reshape({n, cfg_.channels, cfg_.image, cfg_.image});
    auto e = s.narrow(1, static_cast<int64_t>(image()), static_cast<int64_t>(eps()))
                 .reshape({n, cfg_.latent_channels, cfg_.latent(), cfg_.latent()});
    vae::Output o = model_->forward(x, e, before_layer);
    auto kl = -0.5 * torch::mean(1 + o.logvar - o.mean.pow(2) - o.logvar.exp());
    return torch::mse_loss(o.reconstruction, x) + 1e-3 * kl;
  }

 private:
  vae::Config cfg_;
  vae::TinyVAE model_;
};

}  // namespace

std::unique_ptr<Task> make_task(const std::string& name, int width, int depth) {
  if (name == "dit") return std::make_unique<DiTTask>(width, depth);
  if (name == "vae") return std::make_unique<VAETask>(width);
  return nullptr;
}

}  // namespace trainer
