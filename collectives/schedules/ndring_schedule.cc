#include "collectives/schedules/ndring_schedule.h"

#include <algorithm>

#include "collectives/schedules/hierarchical_schedule.h"

namespace tidal {

Status build_ndring_schedule(const CollectiveCall& call, int rank, const RankLayout& layout,
                             Schedule* out, bool native_phases) {
  HierarchyPlan plan;
  plan.layout = layout;
  plan.stagger = std::max(1, layout.dim(0) - 1);
  plan.name = "ndring";
  plan.native_phases = native_phases;
  return build_hierarchical_schedule(call, rank, plan, out);
}

}  // namespace tidal
