#include "collectives/schedules/rotation_order.h"

namespace tidal {

int RotationOrder::block_at(int rank, int step) const {
  step %= steps();
  std::vector<int> c = layout_.coords_of(rank);
  for (int d = 0; d < layout_.ndims(); ++d) {
    c[static_cast<size_t>(d)] = (c[static_cast<size_t>(d)] - digit(step, d) + layout_.dim(d)) %
                                layout_.dim(d);
  }
  return layout_.rank_of(c);
}

int RotationOrder::holder_of(int block, int step) const {
  step %= steps();
  std::vector<int> c = layout_.coords_of(block);
  for (int d = 0; d < layout_.ndims(); ++d) {
    c[static_cast<size_t>(d)] = (c[static_cast<size_t>(d)] + digit(step, d)) % layout_.dim(d);
  }
  return layout_.rank_of(c);
}

std::vector<int> RotationOrder::dims_forwarded_at(int step) const {
  std::vector<int> dims;
  for (int d = 0; d < layout_.ndims(); ++d) {
    // Digits below d must be 0: a dim-d cycle starts here.
    if (d > 0 && digit(step, d - 1) != 0) break;
    if (digit(step, d) < layout_.dim(d) - 1) dims.push_back(d);
  }
  return dims;
}

int RotationOrder::dim_delivering(int step) const {
  for (int d = 0; d < layout_.ndims(); ++d) {
    if (digit(step, d) != 0) return d;
  }
  return -1;  // step 0: the rank's own block
}

}  // namespace tidal
