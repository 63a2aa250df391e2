// bench_stats.h — what every bucketing benchmark reports: medians of
// interleaved repetitions (BENCH.md: A B A B ..., ratios of medians).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace tidal_bench {

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Seconds per variant, one sample per interleaved round.
class Samples {
 public:
  void add(const std::string& variant, double seconds) {
    if (!times_.count(variant)) order_.push_back(variant);
    times_[variant].push_back(seconds);
  }
  double median_of(const std::string& variant) const {
    auto it = times_.find(variant);
    return it == times_.end() ? 0 : median(it->second);
  }
  double spread_of(const std::string& variant) const {  // (max - min) / median
    auto it = times_.find(variant);
    if (it == times_.end() || it->second.empty()) return 0;
    auto [lo, hi] = std::minmax_element(it->second.begin(), it->second.end());
    double m = median(it->second);
    return m > 0 ? (*hi - *lo) / m : 0;
  }
  const std::vector<std::string>& variants() const { return order_; }

 private:
  std::vector<std::string> order_;
  std::map<std::string, std::vector<double>> times_;
};

}  // namespace tidal_bench
