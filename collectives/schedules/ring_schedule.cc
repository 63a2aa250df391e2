#include "collectives/schedules/ring_schedule.h"

#include "collectives/schedules/hierarchical_schedule.h"

namespace tidal {
namespace {
int wrap(int i, int m) { return ((i % m) + m) % m; }
}  // namespace

bool parts_aligned(const Part& a, const Part& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k) {
    if (a[k].count != b[k].count) return false;
  }
  return true;
}

int ring_reduce_scatter(ScheduleBuilder& b, const RingPhase& ph, int round0) {
  const int m = static_cast<int>(ph.members.size()), i = ph.me;
  if (m < 2) return 0;
  const int next = ph.members[static_cast<size_t>(wrap(i + 1, m))];
  const int prev = ph.members[static_cast<size_t>(wrap(i - 1, m))];
  const bool from_sources = !ph.sources.empty();
  for (int s = 0; s < m - 1; ++s) {
    const size_t out = static_cast<size_t>(wrap(i - s - 1, m));
    const size_t in = static_cast<size_t>(wrap(i - s - 2, m));  // i itself when s = m-2
    const Part& sent = s == 0 && from_sources ? ph.sources[out] : ph.parts[out];
    for (const Span& span : sent) b.send(round0 + s, next, ph.tag, span);
    const bool redirect = s == m - 2 && !ph.own_target.empty();
    const Part& target = redirect ? ph.own_target : ph.parts[in];
    const Part* addend = from_sources ? &ph.sources[in] : redirect ? &ph.parts[in] : nullptr;
    for (size_t k = 0; k < target.size(); ++k) {
      b.recv_reduce(round0 + s, prev, ph.tag, target[k], addend ? (*addend)[k] : Span{});
    }
  }
  return m - 1;
}

int ring_all_gather(ScheduleBuilder& b, const RingPhase& ph, int round0) {
  const int m = static_cast<int>(ph.members.size()), i = ph.me;
  if (m < 2) return 0;
  const int next = ph.members[static_cast<size_t>(wrap(i + 1, m))];
  const int prev = ph.members[static_cast<size_t>(wrap(i - 1, m))];
  for (int s = 0; s < m - 1; ++s) {
    for (const Span& span : ph.parts[static_cast<size_t>(wrap(i - s, m))]) {
      b.send(round0 + s, next, ph.tag, span);
    }
    for (const Span& span : ph.parts[static_cast<size_t>(wrap(i - s - 1, m))]) {
      b.recv(round0 + s, prev, ph.tag, span);
    }
  }
  return m - 1;
}

int chain_broadcast(ScheduleBuilder& b, const std::vector<int>& members, int me, int root,
                    Span data, int tag, int round0) {
  const int m = static_cast<int>(members.size());
  if (m < 2) return 0;
  const int p = wrap(me - root, m);  // distance from the root along the ring
  if (p > 0) b.recv(round0 + p - 1, members[static_cast<size_t>(wrap(me - 1, m))], tag, data);
  if (p < m - 1) b.send(round0 + p, members[static_cast<size_t>(wrap(me + 1, m))], tag, data);
  return m - 1;
}

void pairwise_all_to_all(ScheduleBuilder& b, int rank, int n, size_t count) {
  const size_t r = static_cast<size_t>(rank);
  b.copy(0, Span{BufferId::kInput, r * count, count}, Span{BufferId::kOutput, r * count, count});
  for (int s = 1; s < n; ++s) {
    const int to = wrap(rank + s, n), from = wrap(rank - s, n);
    b.send(s - 1, to, kScheduleTagBase,
           Span{BufferId::kInput, static_cast<size_t>(to) * count, count});
    b.recv(s - 1, from, kScheduleTagBase,
           Span{BufferId::kOutput, static_cast<size_t>(from) * count, count});
  }
}

Status build_ring_schedule(const CollectiveCall& call, int rank, int world, Schedule* out) {
  HierarchyPlan plan;
  TIDAL_RETURN_IF_ERROR(RankLayout::create({world}, world, &plan.layout));
  plan.stagger = 1;  // chunk k+1 follows chunk k one round behind
  plan.name = "ring";
  return build_hierarchical_schedule(call, rank, plan, out);
}

}  // namespace tidal
