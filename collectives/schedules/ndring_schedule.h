// ndring_schedule.h — N-dimensional hierarchical rings: one ring phase per
// dim of the layout, innermost first for reduce-scatter (each phase on
// 1/D of the previous one's data), outermost first for all-gather. Latency
// sum(D_i - 1) rounds per chunk; the bandwidth term equals the flat
// ring's. Chunks are staggered by the dims[0]-1 rounds of the innermost
// phase. See hierarchical_schedule.h for the permutation.
#pragma once

#include "collectives/schedules/schedule.h"
#include "topology/layout/rank_layout.h"

namespace tidal {

Status build_ndring_schedule(const CollectiveCall& call, int rank, const RankLayout& layout,
                             Schedule* out, bool native_phases = false);

}  // namespace tidal
