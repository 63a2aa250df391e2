#include "topology/layout/rank_layout.h"

#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

namespace tidal {

Status RankLayout::create(const std::vector<int>& dims, int world, RankLayout* out) {
  if (dims.empty()) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, "topology has no dims");
  }
  long long product = 1;
  for (int d : dims) {
    if (d < 1) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("topology dim {} must be >= 1", d));
    }
    product *= d;
    if (product > (1LL << 30)) break;  // an overflow cannot match any world
  }
  RankLayout layout;
  layout.dims_ = dims;
  layout.world_ = world;
  if (product != world) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("topology {} has {} ranks but the communicator has {}",
                              layout.to_string(), product, world));
  }
  *out = layout;
  return Status();
}

Status RankLayout::parse(const std::string& text, int world, RankLayout* out) {
  std::vector<int> dims;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    const bool at_end = j == text.size();
    if (j == i || j - i > 9 || (!at_end && text[j] != 'x' && text[j] != 'X')) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("topology '{}' is not of the form 8x16 or 2x2x4", text));
    }
    dims.push_back(std::atoi(text.substr(i, j - i).c_str()));
    if (at_end) break;
    i = j + 1;
  }
  return create(dims, world, out);
}

int RankLayout::coord(int rank, int d) const { return (rank / stride(d)) % dim(d); }

std::vector<int> RankLayout::coords_of(int rank) const {
  std::vector<int> c(dims_.size());
  for (size_t d = 0; d < dims_.size(); ++d) {
    c[d] = rank % dims_[d];
    rank /= dims_[d];
  }
  return c;
}

int RankLayout::rank_of(const std::vector<int>& coords) const {
  int rank = 0;
  for (size_t d = dims_.size(); d-- > 0;) rank = rank * dims_[d] + coords[d];
  return rank;
}

int RankLayout::shifted(int rank, int d, int delta) const {
  const int c = coord(rank, d);
  const int moved = ((c + delta) % dim(d) + dim(d)) % dim(d);
  return rank + (moved - c) * stride(d);
}

int RankLayout::stride(int d) const {
  int s = 1;
  for (int i = 0; i < d; ++i) s *= dims_[static_cast<size_t>(i)];
  return s;
}

int RankLayout::group_color(int rank, int d) const {
  return rank - coord(rank, d) * stride(d);
}

RankLayout RankLayout::collapsed_to_2d() const {
  if (dims_.size() <= 2) return *this;
  RankLayout two;
  two.dims_ = {dims_[0], world_ / dims_[0]};
  two.world_ = world_;
  return two;
}

std::string RankLayout::to_string() const {
  std::string s;
  for (size_t d = 0; d < dims_.size(); ++d) {
    s += (d ? "x" : "") + std::to_string(dims_[d]);
  }
  return s;
}

namespace {
void extend(int rest, int ndims, std::vector<int>* prefix,
            std::vector<std::vector<int>>* out) {
  if (ndims == 1) {
    if (rest >= 2) {
      prefix->push_back(rest);
      out->push_back(*prefix);
      prefix->pop_back();
    }
    return;
  }
  for (int f = 2; f <= rest; ++f) {
    if (rest % f) continue;
    prefix->push_back(f);
    extend(rest / f, ndims - 1, prefix, out);
    prefix->pop_back();
  }
}
}  // namespace

std::vector<std::vector<int>> factorisations(int world, int ndims) {
  std::vector<std::vector<int>> out;
  if (ndims == 1) {
    out.push_back({world});
    return out;
  }
  std::vector<int> prefix;
  extend(world, ndims, &prefix, &out);
  return out;
}

}  // namespace tidal
