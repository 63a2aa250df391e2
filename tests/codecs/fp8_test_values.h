// fp8_test_values.h — inputs the FP8 codec tests share: normal values whose
// magnitude jumps by up to 2^+-40 from block to block, so every block gets
// its own scale.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace tidal_testing {

inline std::vector<float> varied_magnitudes(size_t n, size_t block, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_int_distribution<int> exponent(-40, 40);
  std::vector<float> x(n);
  float mag = 1.0f;
  for (size_t i = 0; i < n; ++i) {
    if (i % block == 0) mag = std::ldexp(1.0f, exponent(rng));
    x[i] = normal(rng) * mag;
  }
  return x;
}

}  // namespace tidal_testing
