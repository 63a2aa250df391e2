// schedule_cost.h — prices schedules from their step lists with per-dim
// link tiers (topology/cost's alpha-beta LinkTier), the same description
// the executor runs. The executor waits for each round's batch, so a
// round lasts as long as its slowest message on any rank: alpha of the
// message's tier plus its bytes over the tier's beta, where the tier is the
// outermost dim in which sender and receiver differ (several messages to
// one peer in a round share the link, so their bytes add up).
#pragma once

#include <vector>

#include "collectives/schedules/schedule.h"
#include "topology/cost/cost_model.h"
#include "topology/layout/rank_layout.h"

namespace tidal {

// `all_ranks` holds every rank's schedule of one collective; `tiers` one
// tier per dim of `layout`. TIDAL_ERR_INVALID_ARGUMENT when they disagree.
Status estimate_schedule_seconds(const std::vector<Schedule>& all_ranks,
                                 const RankLayout& layout,
                                 const std::vector<cost::LinkTier>& tiers, double* seconds);

}  // namespace tidal
