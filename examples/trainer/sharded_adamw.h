// sharded_adamw.h — AdamW over one rank's flat shard (ZeRO: each rank
// keeps the optimizer state of the parameter elements it owns only).
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

namespace trainer {

struct AdamWOptions {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
};

class ShardedAdamW {
 public:
  ShardedAdamW(size_t elements, const AdamWOptions& o) : o_(o), m_(elements), v_(elements) {}

  // One step: params and grads are this rank's shard (f32, `elements` long).
  void step(float* params, const float* grads) {
    ++t_;
    const double c1 = 1.0 - std::pow(o_.beta1, t_), c2 = 1.0 - std::pow(o_.beta2, t_);
    const float step_size = static_cast<float>(o_.lr / c1);
    const float inv_c2 = static_cast<float>(1.0 / c2);
    for (size_t i = 0; i < m_.size(); ++i) {
      const float g = grads[i];
      m_[i] = o_.beta1 * m_[i] + (1 - o_.beta1) * g;
      v_[i] = o_.beta2 * v_[i] + (1 - o_.beta2) * g * g;
      params[i] -= o_.lr * o_.weight_decay * params[i];
      params[i] -= step_size * m_[i] / (std::sqrt(v_[i] * inv_c2) + o_.eps);
    }
  }

 private:
  AdamWOptions o_;
  std::vector<float> m_, v_;
  long t_ = 0;
};

}  // namespace trainer
