// schedule_sets.h — every rank's schedule of one call, as the schedule
// tests build them.
#pragma once

#include <vector>

#include <gtest/gtest.h>

#include "collectives/schedules/schedule_entry.h"

namespace tidal_testing {

inline std::vector<tidal::Schedule> every_rank(const tidal::CollectiveCall& call, int schedule,
                                               const tidal::RankLayout& layout,
                                               bool native_phases = false) {
  std::vector<tidal::Schedule> all(static_cast<size_t>(layout.world()));
  for (int r = 0; r < layout.world(); ++r) {
    tidal::Status s = tidal::build_schedule(call, r, schedule, layout, &all[r], native_phases);
    EXPECT_TRUE(s.ok()) << s.message();
  }
  return all;
}

}  // namespace tidal_testing
