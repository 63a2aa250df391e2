// rank_layout.h — ranks arranged as a grid of dims, innermost first.
//
// dims[0] varies fastest: rank = c0 + D0*(c1 + D1*(c2 + ...)). "8x16" is 8
// ranks per node (dims[0], the intra-node dim) times 16 nodes. A layout is a
// pure value: building one needs no communication, so every rank computes
// the same coordinates, neighbours and per-dim groups from the same dims.
#pragma once

#include <string>
#include <vector>

#include "lib/core/status.h"

namespace tidal {

class RankLayout {
 public:
  RankLayout() = default;

  // Checks every dim >= 1 and that the product equals `world`.
  static Status create(const std::vector<int>& dims, int world, RankLayout* out);
  // Parses "8x16", "2x2x4" (also "8" for one dim) against `world`.
  static Status parse(const std::string& text, int world, RankLayout* out);

  int ndims() const { return static_cast<int>(dims_.size()); }
  int dim(int d) const { return dims_[static_cast<size_t>(d)]; }
  const std::vector<int>& dims() const { return dims_; }
  int world() const { return world_; }

  int coord(int rank, int d) const;
  std::vector<int> coords_of(int rank) const;
  int rank_of(const std::vector<int>& coords) const;
  // The rank whose coordinate along `d` is shifted by `delta` (mod dim d).
  int shifted(int rank, int d, int delta) const;
  // Product of dims[0..d): the rank distance of one step along dim d.
  int stride(int d) const;

  // Identifies the group of ranks that differ from `rank` only along `d`
  // (the split color); the rank's index in that group is coord(rank, d).
  int group_color(int rank, int d) const;

  // The same ranks as a two-dim layout [dims[0], product of the others].
  RankLayout collapsed_to_2d() const;

  // "8x16".
  std::string to_string() const;

 private:
  std::vector<int> dims_;
  int world_ = 1;
};

// Every factorisation of `world` into `ndims` dims >= 2 (ordered), plus the
// one-dim layout when ndims == 1. Tests and benchmarks iterate over these.
std::vector<std::vector<int>> factorisations(int world, int ndims);

}  // namespace tidal
