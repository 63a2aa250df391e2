#include "tiny_dit.h"

#include <cmath>

namespace dit {
namespace {

namespace nn = torch::nn;

torch::Tensor modulate(torch::Tensor x, torch::Tensor shift, torch::Tensor scale) {
  return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1);
}

// cos/sin features of `positions` at `dim / 2` geometric frequencies.
torch::Tensor sincos(torch::Tensor positions, int dim) {
  const int half = dim / 2;
  auto freqs = torch::exp(-std::log(10000.0) * torch::arange(half, torch::kFloat32) / half);
  auto args = positions.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  return torch::cat({torch::cos(args), torch::sin(args)}, 1);
}

nn::LayerNorm plain_norm(int hidden) {
  return nn::LayerNorm(nn::LayerNormOptions({hidden}).elementwise_affine(false).eps(1e-6));
}

void zero(nn::Linear& l) {
  torch::NoGradGuard no_grad;
  l->weight.zero_();
  l->bias.zero_();
}

}  // namespace

BlockImpl::BlockImpl(int hidden, int heads) : heads_(heads) {
  norm1_ = register_module("norm1", plain_norm(hidden));
  qkv_ = register_module("qkv", nn::Linear(hidden, 3 * hidden));
  proj_ = register_module("proj", nn::Linear(hidden, hidden));
  norm2_ = register_module("norm2", plain_norm(hidden));
  fc1_ = register_module("fc1", nn::Linear(hidden, 4 * hidden));
  fc2_ = register_module("fc2", nn::Linear(4 * hidden, hidden));
  // adaLN-Zero: the block starts as the identity.
  ada_ = register_module("adaLN_modulation", nn::Linear(hidden, 6 * hidden));
  zero(ada_);
}

torch::Tensor BlockImpl::forward(torch::Tensor x, torch::Tensor c) {
  auto m = ada_(torch::silu(c)).chunk(6, 1);  // shift/scale/gate for attention, then MLP
  const int64_t b = x.size(0), n = x.size(1), h = x.size(2), hd = h / heads_;
  auto qkv = qkv_(modulate(norm1_(x), m[0], m[1])).reshape({b, n, 3, heads_, hd})
                 .permute({2, 0, 3, 1, 4});
  auto attn = torch::softmax(torch::matmul(qkv[0], qkv[1].transpose(-2, -1)) /
                                 std::sqrt(static_cast<double>(hd)), -1);
  auto a = torch::matmul(attn, qkv[2]).transpose(1, 2).reshape({b, n, h});
  x = x + m[2].unsqueeze(1) * proj_(a);
  auto mlp = fc2_(torch::gelu(fc1_(modulate(norm2_(x), m[3], m[4])), "tanh"));
  return x + m[5].unsqueeze(1) * mlp;
}

TinyDiTImpl::TinyDiTImpl(const Config& config) : cfg_(config) {
  const int h = cfg_.hidden, pp = cfg_.patch * cfg_.patch * cfg_.channels;
  auto count = [this] { return parameters().size(); };
  size_t first = count();
  x_embed_ = register_module("x_embedder", nn::Linear(pp, h));
  t_fc1_ = register_module("t_embedder_fc1", nn::Linear(h, h));
  t_fc2_ = register_module("t_embedder_fc2", nn::Linear(h, h));
  y_embed_ = register_module("y_embedder", nn::Embedding(cfg_.classes + 1, h));
  layers_.emplace_back(first, count() - 1);
  for (int i = 0; i < cfg_.depth; ++i) {
    first = count();
    blocks_.push_back(register_module("block" + std::to_string(i), Block(h, cfg_.heads)));
    layers_.emplace_back(first, count() - 1);
  }
  first = count();
  final_norm_ = register_module("final_norm", plain_norm(h));
  final_ada_ = register_module("final_adaLN_modulation", nn::Linear(h, 2 * h));
  final_linear_ = register_module("final_linear", nn::Linear(h, pp));
  zero(final_ada_);
  zero(final_linear_);
  layers_.emplace_back(first, count() - 1);
  pos_ = register_buffer("pos_embed", sincos(torch::arange(cfg_.tokens()), h));
}

torch::Tensor TinyDiTImpl::forward(torch::Tensor x, torch::Tensor t, torch::Tensor y,
                                   const BeforeLayer& before_layer) {
  auto before = [&](size_t layer) {
    if (before_layer) before_layer(layers_[layer].first, layers_[layer].second);
  };
  const int64_t b = x.size(0), g = cfg_.input / cfg_.patch, p = cfg_.patch, c = cfg_.channels;
  // [B, C, H, W] -> [B, tokens, p*p*C]
  auto patches = x.reshape({b, c, g, p, g, p}).permute({0, 2, 4, 3, 5, 1})
                     .reshape({b, g * g, p * p * c});
  before(0);
  auto tokens = x_embed_(patches) + pos_.unsqueeze(0);
  auto cond = t_fc2_(torch::silu(t_fc1_(sincos(t, cfg_.hidden)))) + y_embed_(y);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    before(i + 1);
    tokens = blocks_[i](tokens, cond);
  }
  before(blocks_.size() + 1);
  auto m = final_ada_(torch::silu(cond)).chunk(2, 1);
  auto out = final_linear_(modulate(final_norm_(tokens), m[0], m[1]));
  // [B, tokens, p*p*C] -> [B, C, H, W]
  return out.reshape({b, g, g, p, p, c}).permute({0, 5, 1, 3, 2, 4}).reshape({b, c, g * p, g * p});
}

}  // namespace dit
