#include "collectives/schedules/hierarchical_schedule.h"

#include <algorithm>

#include <fmt/format.h>

#include "collectives/schedules/ring_schedule.h"
#include "lib/core/dtype.h"
#include "topology/cost/cost_model.h"

namespace tidal {
namespace {

// The ring along dim d through `rank`, with the parts of the positions
// [start, start + D*part_positions) of `region`.
RingPhase make_phase(const RankLayout& layout, int rank, int d, const Region& region,
                     int start, int part_positions, bool merge = true) {
  RingPhase phase;
  const int dim = layout.dim(d), me = layout.coord(rank, d);
  phase.me = me;
  phase.tag = region.tag;
  for (int m = 0; m < dim; ++m) {
    phase.members.push_back(layout.shifted(rank, d, m - me));
    phase.parts.push_back(region.range(start + m * part_positions, part_positions, merge));
  }
  return phase;
}

Region region_of(BufferId buffer, size_t base, size_t block, int positions, int chunk) {
  Region r;
  r.tag = kScheduleTagBase + chunk;
  for (int p = 0; p < positions; ++p) {
    r.by_position.push_back(Span{buffer, base + static_cast<size_t>(p) * block, block});
  }
  return r;
}

struct Chunk {
  size_t offset, length;
  int index, round0;
};

std::vector<Chunk> chunks_of(size_t count, size_t bytes, int stagger) {
  const int n = pipeline_chunks(bytes, count);
  std::vector<Chunk> out;
  for (int k = 0; k < n; ++k) {
    out.push_back(Chunk{part_offset(count, static_cast<size_t>(n), static_cast<size_t>(k)),
                        part_length(count, static_cast<size_t>(n), static_cast<size_t>(k)), k,
                        k * stagger});
  }
  return out;
}

// Native phases: reduce-scatter, in place, over positions [0, W) of
// `base` (a buffer in position order, `block` elements per position), from
// round0; returns the rounds used (one per dim).
int native_reduce_scatter(ScheduleBuilder& b, const RankLayout& L, int rank, BufferId buffer,
                          size_t block, int round0) {
  size_t start = 0, size = static_cast<size_t>(L.world());
  for (int d = 0; d < L.ndims(); ++d) {
    const size_t part = size / static_cast<size_t>(L.dim(d));
    const size_t mine = start + static_cast<size_t>(L.coord(rank, d)) * part;
    b.phase(round0 + d, StepKind::kPhaseReduceScatter, d, Span{buffer, start * block, size * block},
            Span{buffer, mine * block, part * block});
    start = mine;
    size = part;
  }
  return L.ndims();
}

// The reverse: all-gather, in place, from this rank's position to all.
int native_all_gather(ScheduleBuilder& b, const RankLayout& L, int rank, BufferId buffer,
                      size_t block, int round0) {
  std::vector<size_t> starts(static_cast<size_t>(L.ndims())), parts(starts.size());
  size_t start = 0, size = static_cast<size_t>(L.world());
  for (int d = 0; d < L.ndims(); ++d) {
    starts[static_cast<size_t>(d)] = start;
    parts[static_cast<size_t>(d)] = size / static_cast<size_t>(L.dim(d));
    start += static_cast<size_t>(L.coord(rank, d)) * parts[static_cast<size_t>(d)];
    size = parts[static_cast<size_t>(d)];
  }
  int round = round0;
  for (int d = L.ndims() - 1; d >= 0; --d, ++round) {
    const size_t s0 = starts[static_cast<size_t>(d)], part = parts[static_cast<size_t>(d)];
    const size_t mine = s0 + static_cast<size_t>(L.coord(rank, d)) * part;
    b.phase(round, StepKind::kPhaseAllGather, d, Span{buffer, mine * block, part * block},
            Span{buffer, s0 * block, static_cast<size_t>(L.dim(d)) * part * block});
  }
  return L.ndims();
}

bool positions_are_rank_order(const RankLayout& L) {
  for (int p = 0; p < L.world(); ++p)
    if (block_at_position(L, p) != p) return false;
  return true;
}

void build_native_reduce_scatter(const CollectiveCall& c, int rank, const RankLayout& L,
                                 ScheduleBuilder& b, Schedule* s) {
  s->scratch_count = static_cast<size_t>(L.world()) * c.count;
  for (int blk = 0; blk < L.world(); ++blk) {  // into position order
    b.copy(0, Span{BufferId::kInput, static_cast<size_t>(blk) * c.count, c.count},
           Span{BufferId::kScratch, static_cast<size_t>(position_of(L, blk)) * c.count, c.count});
  }
  const int last = native_reduce_scatter(b, L, rank, BufferId::kScratch, c.count, 1);
  const Span own{BufferId::kScratch, static_cast<size_t>(position_of(L, rank)) * c.count, c.count};
  if (c.op == TIDAL_AVG) b.divide(1 + last, own);
  b.copy(2 + last, own, Span{BufferId::kOutput, 0, c.count});
}

void build_native_all_gather(const CollectiveCall& c, int rank, const RankLayout& L,
                             ScheduleBuilder& b, Schedule* s) {
  const bool direct = positions_are_rank_order(L);
  const BufferId buffer = direct ? BufferId::kOutput : BufferId::kScratch;
  if (!direct) s->scratch_count = static_cast<size_t>(L.world()) * c.count;
  b.copy(0, Span{BufferId::kInput, 0, c.count},
         Span{buffer, static_cast<size_t>(position_of(L, rank)) * c.count, c.count});
  const int used = native_all_gather(b, L, rank, buffer, c.count, 1);
  if (direct) return;
  for (int p = 0; p < L.world(); ++p) {  // into rank order
    b.copy(1 + used, Span{BufferId::kScratch, static_cast<size_t>(p) * c.count, c.count},
           Span{BufferId::kOutput, static_cast<size_t>(block_at_position(L, p)) * c.count,
                c.count});
  }
}

// Positions are the count / W equal parts of the output, in place.
void build_native_all_reduce(const CollectiveCall& c, int rank, const RankLayout& L,
                             ScheduleBuilder& b) {
  const size_t block = c.count / static_cast<size_t>(L.world());
  b.copy(0, Span{BufferId::kInput, 0, c.count}, Span{BufferId::kOutput, 0, c.count});
  const int rs = native_reduce_scatter(b, L, rank, BufferId::kOutput, block, 1);
  int round = 1 + rs;
  if (c.op == TIDAL_AVG) {
    b.divide(round++, Span{BufferId::kOutput,
                           static_cast<size_t>(position_of(L, rank)) * block, block});
  }
  native_all_gather(b, L, rank, BufferId::kOutput, block, round);
}

// From cost::kReadInputPerBlockMinBytes a reduce-scatter whose first
// phase's parts are strided in the input (a torus) reads the input block
// by block, a message per block, rather than copying the whole input into
// position order first: the copy of S costs more than the extra messages
// (torus2d RS 1.0-1.3x the ring's speed from 2 MiB instead of 0.66-0.87x,
// docs/benchmarks/schedules.md).
constexpr size_t kReadInputPerBlockMinBytes =
    static_cast<size_t>(cost::kReadInputPerBlockMinBytes);

// The input of a reduce-scatter chunk, by position.
Region input_by_position(const RankLayout& L, size_t count, const Chunk& k) {
  Region r;
  for (int p = 0; p < L.world(); ++p) {
    r.by_position.push_back(Span{BufferId::kInput,
                                 static_cast<size_t>(block_at_position(L, p)) * count + k.offset,
                                 k.length});
  }
  return r;
}

void build_reduce_scatter(const CollectiveCall& c, int rank, const HierarchyPlan& plan,
                          ScheduleBuilder& b, Schedule* s) {
  const RankLayout& L = plan.layout;
  const size_t n = static_cast<size_t>(L.world());
  s->scratch_count = n * c.count;
  const bool rings = first_ring_dim(L) >= 0;
  for (const Chunk& k : chunks_of(c.count, c.count * n * dtype_size(c.dtype), plan.stagger)) {
    Region reg = region_of(BufferId::kScratch, n * k.offset, k.length, L.world(), k.index);
    const Region input = input_by_position(L, c.count, k);
    ReduceScatterEnds ends;
    if (rings && sources_align(L, rank, reg, input)) {
      ends.sources = &input;
    } else if (rings && c.count * n * dtype_size(c.dtype) >= kReadInputPerBlockMinBytes) {
      ends.sources = &input;  // no copy: a message per block in the first phase
      ends.per_block = true;
    } else {
      for (int p = 0; p < L.world(); ++p) {  // into position order
        b.copy(k.round0, input.by_position[static_cast<size_t>(p)],
               reg.by_position[static_cast<size_t>(p)]);
      }
    }
    const Span out{BufferId::kOutput, k.offset, k.length};
    if (rings) ends.own_target = out;
    const int rounds = hierarchical_reduce_scatter(b, L, rank, reg, k.round0, ends);
    const int last = k.round0 + std::max(rounds, 1) - 1;  // after the last fold
    const Span own = rings ? out : reg.by_position[static_cast<size_t>(position_of(L, rank))];
    if (c.op == TIDAL_AVG) b.divide(last, own);
    if (!rings) b.copy(last + 1, own, out);
  }
}

// Gathers straight into the output: position p's span is its block's
// rank-order place, so a part whose blocks are not adjacent is sent as one
// message per block (no permutation copies).
void build_all_gather(const CollectiveCall& c, int rank, const HierarchyPlan& plan,
                      ScheduleBuilder& b) {
  const RankLayout& L = plan.layout;
  const size_t n = static_cast<size_t>(L.world());
  for (const Chunk& k : chunks_of(c.count, c.count * n * dtype_size(c.dtype), plan.stagger)) {
    Region reg;
    reg.tag = kScheduleTagBase + k.index;
    for (int p = 0; p < L.world(); ++p) {
      const size_t blk = static_cast<size_t>(block_at_position(L, p));
      reg.by_position.push_back(Span{BufferId::kOutput, blk * c.count + k.offset, k.length});
    }
    b.copy(k.round0, Span{BufferId::kInput, k.offset, k.length},
           reg.by_position[static_cast<size_t>(position_of(L, rank))]);
    hierarchical_all_gather(b, L, rank, reg, k.round0);
  }
}

void build_all_reduce(const CollectiveCall& c, int rank, const HierarchyPlan& plan,
                      ScheduleBuilder& b) {
  const RankLayout& L = plan.layout;
  const size_t n = static_cast<size_t>(L.world());
  for (const Chunk& k : chunks_of(c.count, c.count * dtype_size(c.dtype), plan.stagger)) {
    Region reg;
    reg.tag = kScheduleTagBase + k.index;
    for (size_t p = 0; p < n; ++p) {
      reg.by_position.push_back(Span{BufferId::kOutput, k.offset + part_offset(k.length, n, p),
                                     part_length(k.length, n, p)});
    }
    Region input = reg;  // the same parts of the input
    for (Span& span : input.by_position) span.buffer = BufferId::kInput;
    ReduceScatterEnds ends;
    if (first_ring_dim(L) >= 0 && sources_align(L, rank, reg, input)) {
      ends.sources = &input;  // folds read the input: no copy into the output
    } else {
      b.copy(k.round0, Span{BufferId::kInput, k.offset, k.length},
             Span{BufferId::kOutput, k.offset, k.length});
    }
    const int rs = hierarchical_reduce_scatter(b, L, rank, reg, k.round0, ends);
    if (c.op == TIDAL_AVG) {
      b.divide(k.round0 + std::max(rs, 1) - 1,
               reg.by_position[static_cast<size_t>(position_of(L, rank))]);
    }
    hierarchical_all_gather(b, L, rank, reg, k.round0 + rs);
  }
}

void build_broadcast(const CollectiveCall& c, int rank, const HierarchyPlan& plan,
                     ScheduleBuilder& b) {
  const RankLayout& L = plan.layout;
  const auto root = L.coords_of(c.root), mine = L.coords_of(rank);
  for (const Chunk& k : chunks_of(c.count, c.count * dtype_size(c.dtype), 1)) {
    const Span data{BufferId::kOutput, k.offset, k.length};
    if (rank == c.root) b.copy(k.round0, Span{BufferId::kInput, k.offset, k.length}, data);
    int round = k.round0;
    for (int d = L.ndims() - 1; d >= 0; --d) {
      // Ranks that agree with the root on the dims inside d hold the data
      // once the outer dims are done; each starts a chain along d.
      const bool joins = std::equal(mine.begin(), mine.begin() + d, root.begin());
      if (joins) {
        std::vector<int> members;
        for (int m = 0; m < L.dim(d); ++m) members.push_back(L.shifted(rank, d, m - mine[d]));
        chain_broadcast(b, members, mine[d], root[d], data, kScheduleTagBase + k.index, round);
      }
      round += L.dim(d) - 1;  // every rank counts rounds alike
    }
  }
}

}  // namespace

int position_of(const RankLayout& layout, int block) {
  int pos = 0;
  for (int d = 0; d < layout.ndims(); ++d) pos = pos * layout.dim(d) + layout.coord(block, d);
  return pos;
}

int block_at_position(const RankLayout& layout, int position) {
  std::vector<int> coords(static_cast<size_t>(layout.ndims()));
  for (int d = layout.ndims() - 1; d >= 0; --d) {
    coords[static_cast<size_t>(d)] = position % layout.dim(d);
    position /= layout.dim(d);
  }
  return layout.rank_of(coords);
}

int first_ring_dim(const RankLayout& L) {
  for (int d = 0; d < L.ndims(); ++d)
    if (L.dim(d) > 1) return d;
  return -1;
}

int last_ring_dim(const RankLayout& L) {
  for (int d = L.ndims() - 1; d >= 0; --d)
    if (L.dim(d) > 1) return d;
  return -1;
}

bool sources_align(const RankLayout& L, int rank, const Region& region, const Region& sources) {
  const int d = first_ring_dim(L);
  if (d < 0) return false;
  // The dims before d have one member: the phase spans every position.
  const int part = L.world() / L.dim(d);
  const RingPhase a = make_phase(L, rank, d, region, 0, part);
  const RingPhase b = make_phase(L, rank, d, sources, 0, part);
  for (size_t m = 0; m < a.parts.size(); ++m)
    if (!parts_aligned(a.parts[m], b.parts[m])) return false;
  return true;
}

int hierarchical_reduce_scatter(ScheduleBuilder& b, const RankLayout& L, int rank,
                                const Region& region, int round0,
                                const ReduceScatterEnds& ends) {
  const int first = first_ring_dim(L), last = last_ring_dim(L);
  int start = 0, size = L.world(), used = 0;
  for (int d = 0; d < L.ndims(); ++d) {
    const int part = size / L.dim(d);
    // Reading the sources block by block: the first phase's messages are
    // one per position, so each lines up with one block of the input.
    const bool per_block = d == first && ends.sources && ends.per_block;
    RingPhase phase = make_phase(L, rank, d, region, start, part, !per_block);
    if (d == first && ends.sources) {
      phase.sources = make_phase(L, rank, d, *ends.sources, start, part, !per_block).parts;
    }
    if (d == last && ends.own_target.count) phase.own_target = Part{ends.own_target};
    used += ring_reduce_scatter(b, phase, round0 + used);
    start += L.coord(rank, d) * part;
    size = part;
  }
  return used;
}

int hierarchical_all_gather(ScheduleBuilder& b, const RankLayout& L, int rank,
                            const Region& region, int round0) {
  std::vector<int> starts(static_cast<size_t>(L.ndims())), parts(starts.size());
  int start = 0, size = L.world();
  for (int d = 0; d < L.ndims(); ++d) {
    starts[static_cast<size_t>(d)] = start;
    parts[static_cast<size_t>(d)] = size / L.dim(d);
    start += L.coord(rank, d) * parts[static_cast<size_t>(d)];
    size = parts[static_cast<size_t>(d)];
  }
  int used = 0;
  for (int d = L.ndims() - 1; d >= 0; --d) {
    const RingPhase phase = make_phase(L, rank, d, region, starts[static_cast<size_t>(d)],
                                       parts[static_cast<size_t>(d)]);
    used += ring_all_gather(b, phase, round0 + used);
  }
  return used;
}

Status build_hierarchical_schedule(const CollectiveCall& call, int rank,
                                   const HierarchyPlan& plan, Schedule* out) {
  Schedule s;
  s.name = plan.name + " " + plan.layout.to_string();
  s.kind = call.kind;
  s.dtype = call.dtype;
  s.op = call.op;
  s.rank = rank;
  s.world = plan.layout.world();
  buffer_counts(call, s.world, &s.input_count, &s.output_count);
  ScheduleBuilder b(&s);
  const bool native = plan.native_phases &&
                      (call.kind == CollKind::kReduceScatter || call.kind == CollKind::kAllGather ||
                       (call.kind == CollKind::kAllReduce &&
                        call.count % static_cast<size_t>(s.world) == 0));
  if (native) {
    s.name = plan.name + "+native " + plan.layout.to_string();
    s.phase_dims = plan.layout.dims();
  }
  if (call.count > 0 && native) {
    switch (call.kind) {
      case CollKind::kReduceScatter:
        build_native_reduce_scatter(call, rank, plan.layout, b, &s);
        break;
      case CollKind::kAllGather: build_native_all_gather(call, rank, plan.layout, b, &s); break;
      default: build_native_all_reduce(call, rank, plan.layout, b); break;
    }
  } else if (call.count > 0) {
    switch (call.kind) {
      case CollKind::kReduceScatter: build_reduce_scatter(call, rank, plan, b, &s); break;
      case CollKind::kAllGather: build_all_gather(call, rank, plan, b); break;
      case CollKind::kAllReduce: build_all_reduce(call, rank, plan, b); break;
      case CollKind::kBroadcast: build_broadcast(call, rank, plan, b); break;
      case CollKind::kAllToAll: pairwise_all_to_all(b, rank, s.world, call.count); break;
    }
  }
  b.finish();
  *out = std::move(s);
  return Status();
}

}  // namespace tidal
