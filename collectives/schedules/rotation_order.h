// rotation_order.h — the ND-ring rotation as arithmetic, with no transport:
// which block a rank holds at each step and which transfers carry it there.
//
// Step s is written in the layout's mixed radix, dims[0] fastest:
// s = s0 + D0*(s1 + D1*(s2 ...)). At step s rank r holds block
// r (-) s, coordinate-wise: c_j(r) - s_j mod D_j. For each s that is a
// permutation of the blocks, and s -> r (-) s is a bijection, so over the
// n steps every rank holds every block exactly once; step n is step 0
// again, so blocks end where they started.
//
// Nested rings. From s to s+1 the lowest digit that does not wrap, j,
// increments (the carry). The block r needs at s+1 was held at step
// s+1 - stride_j by r's neighbour one step back along dim j only, so it
// travels on the dim-j ring alone, and it can be sent as early as that
// step: at every step whose digits below j are 0 and whose digit j is not
// the last, each rank forwards its current block one step along dim j.
// The dim-0 (intra-node) ring moves a block every step; the dim-j ring
// moves one every stride_j steps and has those stride_j steps of compute to
// hide its transfer. This holds for every factorisation: no dim's size
// appears in another's ring (the case Colossal-AI's double ring is
// believed to get wrong when the number of rings differs from the inner
// ring size).
//
// Gradients (backward) follow the same holders one step behind: the
// accumulator of block b goes from its holder at s to its holder at s+1
// (a diagonal hop: every digit up to the carry changes), and after step
// n-1 to b's owner.
#pragma once

#include <vector>

#include "topology/layout/rank_layout.h"

namespace tidal {

class RotationOrder {
 public:
  explicit RotationOrder(const RankLayout& layout) : layout_(layout) {}

  int steps() const { return layout_.world(); }
  const RankLayout& layout() const { return layout_; }

  // Digit j of step s.
  int digit(int step, int d) const { return (step / layout_.stride(d)) % layout_.dim(d); }
  // The block `rank` holds at `step` (step n is step 0).
  int block_at(int rank, int step) const;
  // The rank that holds `block` at `step`.
  int holder_of(int block, int step) const;

  // Dims along which a rank forwards its current block at `step`; the copy
  // sent along dim d is consumed at step + stride(d).
  std::vector<int> dims_forwarded_at(int step) const;
  // The dim whose transfer delivers the block of `step` (step >= 1): the
  // lowest nonzero digit of step.
  int dim_delivering(int step) const;

 private:
  RankLayout layout_;
};

}  // namespace tidal
