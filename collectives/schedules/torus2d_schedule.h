// torus2d_schedule.h — the 2D torus: X ranks per node times Y nodes (a
// layout's dims[0] and the product of the others). Reduce-scatter runs the
// intra-node ring on all the data, then the inter-node ring on the 1/X this
// rank kept; all-gather the reverse; all-reduce both. Chunks are staggered
// by the X-1 rounds of the intra-node phase, so chunk k+1 crosses the node
// while chunk k crosses the network. Latency: (X-1)+(Y-1) rounds per chunk
// instead of X*Y-1. See hierarchical_schedule.h for the permutation.
#pragma once

#include "collectives/schedules/schedule.h"
#include "topology/layout/rank_layout.h"

namespace tidal {

Status build_torus2d_schedule(const CollectiveCall& call, int rank, const RankLayout& layout,
                              Schedule* out, bool native_phases = false);

}  // namespace tidal
