// ring_schedule.h — the one-dimensional ring: the phase every schedule is
// made of, and the flat `ring` schedule (one ring over all ranks, chunked
// and pipelined one round apart).
//
// A ring phase runs over m members (world ranks in ring order) on m parts
// of a buffer, part i belonging to member i (a part is one or more spans,
// each its own message):
//   reduce-scatter, round s (0..m-2): member i sends part (i-s-1) to i+1
//     and receives part (i-s-2) from i-1, folding it in; after m-1 rounds
//     member i holds part i reduced over the ring.
//   all-gather, round s: member i sends part (i-s) to i+1 and receives part
//     (i-s-1) from i-1; member i starts with part i, ends with all.
//
// A reduce-scatter phase that is the first to touch its parts can read
// them where they lie (`sources`, the input) instead of from a copy: its
// first send reads source i-1, and every fold is dst = source (op)
// message. Every part but i-1 is folded exactly once, so the phase writes
// every part it later sends or keeps, and the input is never copied.
// `own_target` puts member i's last fold (its finished part) straight
// where the caller wants it (the output) instead of in part i.
#pragma once

#include <vector>

#include "collectives/schedules/schedule_builder.h"

namespace tidal {

struct RingPhase {
  std::vector<int> members;  // world ranks in ring order
  int me = 0;                // this rank's index in members
  std::vector<Part> parts;   // one per member
  int tag = kScheduleTagBase;
  // Reduce-scatter only; each empty or aligned with parts (same number of
  // spans, the same counts, span by span).
  std::vector<Part> sources;  // empty, or one per member
  Part own_target;            // empty, or aligned with parts[me]
};

// True when b has as many spans as a with the same counts, span by span.
bool parts_aligned(const Part& a, const Part& b);

// Both return the rounds used (m - 1), starting at round0.
int ring_reduce_scatter(ScheduleBuilder& b, const RingPhase& phase, int round0);
int ring_all_gather(ScheduleBuilder& b, const RingPhase& phase, int round0);

// A chain from members[root] along the ring: the member at distance p
// receives in round round0+p-1 and forwards in round0+p. Returns m - 1.
int chain_broadcast(ScheduleBuilder& b, const std::vector<int>& members, int me, int root,
                    Span data, int tag, int round0);

// All-to-all as a pairwise exchange: in round s-1 (s = 1..n-1) rank r
// sends block r+s and receives block r-s. The own block is copied in round 0.
void pairwise_all_to_all(ScheduleBuilder& b, int rank, int world, size_t count);

// The flat ring schedule of `call` for `rank` of `world`.
Status build_ring_schedule(const CollectiveCall& call, int rank, int world, Schedule* out);

}  // namespace tidal
