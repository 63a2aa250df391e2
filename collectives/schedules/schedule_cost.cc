#include "collectives/schedules/schedule_cost.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "lib/core/dtype.h"

namespace tidal {
namespace {

int tier_of(const RankLayout& layout, int a, int b) {
  for (int d = layout.ndims() - 1; d >= 0; --d) {
    if (layout.coord(a, d) != layout.coord(b, d)) return d;
  }
  return 0;
}

}  // namespace

Status estimate_schedule_seconds(const std::vector<Schedule>& all, const RankLayout& layout,
                                 const std::vector<cost::LinkTier>& tiers, double* seconds) {
  if (static_cast<int>(tiers.size()) != layout.ndims() ||
      static_cast<int>(all.size()) != layout.world()) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("schedule cost: {} tiers and {} schedules for layout {}",
                              tiers.size(), all.size(), layout.to_string()));
  }
  for (const cost::LinkTier& t : tiers) {
    if (!(t.beta_Bps > 0) || t.alpha_s < 0) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT, "schedule cost: tier needs alpha >= 0, beta > 0");
    }
  }
  std::map<int, double> slowest;  // round -> its slowest message
  for (const Schedule& s : all) {
    const size_t es = dtype_size(s.dtype);
    std::map<std::pair<int, int>, size_t> bytes;  // (round, peer) -> bytes sent
    for (const Step& st : s.steps) {
      if (st.kind == StepKind::kSend) bytes[{st.round, st.peer}] += st.src.count * es;
      if (st.kind == StepKind::kPhaseReduceScatter || st.kind == StepKind::kPhaseAllGather) {
        // A ring along the dim's tier: members - 1 steps of one part each.
        const bool rs = st.kind == StepKind::kPhaseReduceScatter;
        const size_t whole = (rs ? st.src : st.dst).count, part = (rs ? st.dst : st.src).count;
        const cost::LinkTier& t = tiers[static_cast<size_t>(st.dim)];
        const double cost = static_cast<double>(whole / part - 1) *
                            (t.alpha_s + static_cast<double>(part * es) / t.beta_Bps);
        double& round = slowest[st.round];
        round = std::max(round, cost);
      }
    }
    for (const auto& entry : bytes) {
      const cost::LinkTier& t = tiers[static_cast<size_t>(tier_of(layout, s.rank,
                                                                  entry.first.second))];
      const double cost = t.alpha_s + static_cast<double>(entry.second) / t.beta_Bps;
      double& round = slowest[entry.first.first];
      round = std::max(round, cost);
    }
  }
  double total = 0;
  for (const auto& entry : slowest) total += entry.second;
  *seconds = total;
  return Status();
}

}  // namespace tidal
