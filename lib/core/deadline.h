// deadline.h — a point in time after which a blocking operation gives up.
#pragma once

#include <chrono>
#include <limits>

namespace tidal {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  // A deadline `seconds` from now; seconds <= 0 means never.
  static Deadline after(double seconds) {
    Deadline d;
    if (seconds > 0) {
      d.infinite_ = false;
      d.when_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(seconds));
    }
    return d;
  }
  static Deadline never() { return Deadline(); }

  bool infinite() const { return infinite_; }
  bool expired() const { return !infinite_ && Clock::now() >= when_; }
  // Time point for condition_variable::wait_until; far future if infinite.
  Clock::time_point when() const {
    return infinite_ ? Clock::time_point::max() : when_;
  }

 private:
  bool infinite_ = true;
  Clock::time_point when_{};
};

}  // namespace tidal
