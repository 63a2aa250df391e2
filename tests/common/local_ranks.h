// local_ranks.h — runs a test body on N local (thread) ranks.
#pragma once

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tidal/local.h"
#include "tidal/tidal.h"

namespace tidal_testing {

// Creates N local ranks, runs body(comm, rank) on each in its own thread,
// destroys the communicators. Failures inside the body are reported by
// gtest from whichever thread raised them.
inline void run_local_ranks(int n, const std::function<void(tidal_comm_t, int)>& body,
                            const tidal_config_t* config = nullptr) {
  std::vector<tidal_comm_t> comms(static_cast<size_t>(n));
  ASSERT_EQ(tidal_comm_create_local(n, config, comms.data()), TIDAL_SUCCESS)
      << tidal_last_error();
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) threads.emplace_back([&, r] { body(comms[r], r); });
  for (auto& t : threads) t.join();
  for (auto c : comms) EXPECT_EQ(tidal_comm_destroy(c), TIDAL_SUCCESS) << tidal_last_error();
}

}  // namespace tidal_testing
