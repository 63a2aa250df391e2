#include "collectives/schedules/torus2d_schedule.h"

#include <algorithm>

#include "collectives/schedules/hierarchical_schedule.h"

namespace tidal {

Status build_torus2d_schedule(const CollectiveCall& call, int rank, const RankLayout& layout,
                              Schedule* out, bool native_phases) {
  HierarchyPlan plan;
  plan.layout = layout.collapsed_to_2d();
  plan.stagger = std::max(1, plan.layout.dim(0) - 1);
  plan.name = "torus2d";
  plan.native_phases = native_phases;
  return build_hierarchical_schedule(call, rank, plan, out);
}

}  // namespace tidal
