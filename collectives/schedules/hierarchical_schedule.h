// hierarchical_schedule.h — builds a whole collective from ring phases over
// the dims of a layout; ring (one dim), torus2d (two) and ndring (all) are
// plans for it.
//
// Reduce-scatter runs a ring phase along dim 0 on all the data, then along
// dim 1 on the 1/D0 of it this rank kept, and so on; all-gather runs the
// phases in reverse; all-reduce is reduce-scatter then all-gather;
// broadcast is a chain along the outermost dim, then the next, and so on.
//
// Permutation. Phase j hands each member the blocks whose destination
// rank has the member's coordinate j. Blocks are addressed by *position*:
// their coordinates read with dim 0 as the most significant digit
// (position_of), so every phase's part is a range of positions, and the
// rank whose coordinates are c ends with the block at position_of(c).
// Reduce-scatter works in a scratch buffer in position order, so each part
// is one message. Its first ring phase reads the input where it lies: at
// no cost on a one-dim ring (sources_align), with a message per block from
// 2 MiB where its parts are strided in the input (a torus), and below that
// it copies the input into position order first. Its last fold writes the
// own block straight into the output. All-gather gathers straight into the
// output: a position's span is its block's rank-order place, and a part
// whose blocks are not adjacent there goes as one message per block (no
// copies; the bytes on the wire are the same). All-reduce owns no blocks,
// so positions are simply its balanced parts, in place in the output,
// folded from the input.
//
// Native phases (plan.native_phases): the same phases, each one native
// collective of the sub-communicator along its dim (schedule.h's phase
// steps), on position-ordered data: reduce-scatter in the scratch copy,
// all-gather in a position-ordered scratch (or straight in the output when
// positions are rank order), then one copy per block into rank order.
//
// Chunking. The data is cut into chunks (pipeline_chunks) that are
// independent collectives on their own tags; chunk k starts `stagger`
// rounds after chunk k-1, so its first phase overlaps chunk k-1's later
// phases (torus2d: the intra-node phase of one chunk runs with the
// inter-node phase of the previous one).
#pragma once

#include <string>

#include "collectives/schedules/schedule_builder.h"
#include "topology/layout/rank_layout.h"

namespace tidal {

struct HierarchyPlan {
  RankLayout layout;
  int stagger = 1;   // rounds between the starts of consecutive chunks
  std::string name;  // "ring", "torus2d", "ndring"
  // Each phase of reduce-scatter, all-gather and all-reduce as one native
  // collective on the dim's sub-communicator (a phase step) instead of a
  // ring of messages; unchunked. All-reduce keeps the rings when the count
  // does not divide by the world (native phases need equal parts).
  bool native_phases = false;
};

// The position of `block` (a rank index) in the phase order, and back.
int position_of(const RankLayout& layout, int block);
int block_at_position(const RankLayout& layout, int position);

// Reduce-scatter / all-gather over every dim of `layout` on `region` (one
// entry per position), from round0; return the rounds used.
// Where a reduce-scatter may read its data and leave its result (see
// RingPhase): `sources` (the input, by position) is read by the first ring
// phase instead of a copy of it in `region`; `own_target` receives this
// rank's finished block from the last ring phase. Either may be unset.
struct ReduceScatterEnds {
  const Region* sources = nullptr;
  // The first phase sends and folds one message per position, so sources
  // that are not contiguous where region is (a torus's strided parts) line
  // up block by block.
  bool per_block = false;
  Span own_target;  // count 0: the block stays in region
};

// The first and last dims of `layout` with more than one member: the ring
// phases that do any work (-1 when there are none).
int first_ring_dim(const RankLayout& layout);
int last_ring_dim(const RankLayout& layout);

// True when the first ring phase can read `sources` in place of `region`:
// every part of it has the same spans in both (one message per span, so
// reading the input costs no extra messages).
bool sources_align(const RankLayout& layout, int rank, const Region& region,
                   const Region& sources);

int hierarchical_reduce_scatter(ScheduleBuilder& b, const RankLayout& layout, int rank,
                                const Region& region, int round0,
                                const ReduceScatterEnds& ends = ReduceScatterEnds{});
int hierarchical_all_gather(ScheduleBuilder& b, const RankLayout& layout, int rank,
                            const Region& region, int round0);

// The schedule of `call` for `rank` under `plan`. All-to-all is the
// pairwise exchange whatever the plan.
Status build_hierarchical_schedule(const CollectiveCall& call, int rank,
                                   const HierarchyPlan& plan, Schedule* out);

}  // namespace tidal
