#include "topology/cost/cost_model.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tidal {
namespace cost {
namespace {

// One reduce-scatter or all-gather ring over dims[first..] (flattened,
// innermost first) moving `bytes` (the full buffer of this phase).
// Latency, as NCCL's tuning model counts it: a block travels n-1 hops and
// each hop pays the alpha of the tier it crosses. Walking the ring in rank
// order, a full cycle of n hops crosses tier j (n / (inner_j * d_j)) *
// (d_j - 1) times, plus once more for the wrap-around on the outermost
// tier; the n-1 hops of a pass are (n-1)/n of the cycle.
// Bandwidth: every rank sends (n-1)/n * bytes. The ring is striped over
// parallel channels (as NCCL does), so the traffic leaving a group of
// inner_j ranks over tier j shares that group's aggregate inner_j * beta_j;
// the slowest tier bounds the pass.
// Time on the wire, and the bytes one rank receives (what a reduce-scatter
// must fold into its own data).
struct PassCost {
  double seconds = 0;
  double received = 0;
  double wire = 0;  // the bandwidth part of seconds (the rest is latency)
  PassCost& operator+=(const PassCost& o) {
    seconds += o.seconds;
    received += o.received;
    wire += o.wire;
    return *this;
  }
};

PassCost ring_phase(const std::vector<MachineDim>& dims, size_t first, double bytes) {
  double n = 1;
  for (size_t j = first; j < dims.size(); ++j) n *= dims[j].size;
  if (n <= 1) return {};
  double cycle_latency = 0, slowest_rate = 0, inner = 1;
  size_t outermost = first;
  for (size_t j = first; j < dims.size(); ++j) {
    if (dims[j].size > 1) outermost = j;
  }
  for (size_t j = first; j < dims.size(); ++j) {
    const double d = dims[j].size;
    if (d > 1) {
      double hops = n / (inner * d) * (d - 1);
      if (j == outermost) hops += 1;  // the wrap-around from the last rank to rank 0
      cycle_latency += hops * dims[j].link.alpha_s;
      slowest_rate = std::max(slowest_rate, 1.0 / (dims[j].link.beta_Bps * inner));
    }
    inner *= d;
  }
  return {(n - 1) / n * (cycle_latency + bytes * slowest_rate), (n - 1) / n * bytes,
          (n - 1) / n * bytes * slowest_rate};
}

// Ring over the single dim j, carrying `bytes` (its phase's full buffer).
PassCost dim_phase(const MachineDim& dim, double bytes) {
  const double n = dim.size;
  if (n <= 1) return {};
  return {(n - 1) * dim.link.alpha_s + (n - 1) / n * bytes / dim.link.beta_Bps,
          (n - 1) / n * bytes, (n - 1) / n * bytes / dim.link.beta_Bps};
}

// Reduce-scatter (== all-gather) cost of one pass of each algorithm.
PassCost ring_pass(const Machine& m, double bytes) { return ring_phase(m.dims, 0, bytes); }

// Intra dim on all data, then the outer dims as one flattened ring on 1/X.
PassCost torus2d_pass(const Machine& m, double bytes) {
  if (m.dims.empty()) return {};
  PassCost total = dim_phase(m.dims[0], bytes);
  total += ring_phase(m.dims, 1, bytes / m.dims[0].size);
  return total;
}

// Every dim in turn, each on the data left by the dims inside it.
PassCost ndring_pass(const Machine& m, double bytes) {
  PassCost total;
  double inner = 1;
  for (const MachineDim& d : m.dims) {
    total += dim_phase(d, bytes / inner);
    inner *= d.size;
  }
  return total;
}

// Recursive doubling: step k exchanges with the rank 2^k away and moves
// 2^k blocks of bytes/n (capped so the blocks add up to n-1 when n is not a
// power of two). A step's tier is the outermost dim the distance crosses.
PassCost tree_pass(const Machine& m, double bytes) {
  const int n = m.world();
  PassCost total;
  int remaining = n - 1;
  for (long distance = 1; remaining > 0; distance *= 2) {
    const int blocks = static_cast<int>(std::min<long>(distance, remaining));
    remaining -= blocks;
    size_t tier = 0;
    long inner = 1;
    for (size_t j = 0; j < m.dims.size(); ++j) {
      if (m.dims[j].size > 1 && distance >= inner) tier = j;
      inner *= m.dims[j].size;
    }
    const LinkTier& link = m.dims[tier].link;
    total += {link.alpha_s + blocks * (bytes / n) / link.beta_Bps, blocks * (bytes / n),
              blocks * (bytes / n) / link.beta_Bps};
  }
  return total;
}

}  // namespace

int Machine::world() const {
  int n = 1;
  for (const MachineDim& d : dims) n *= d.size;
  return n;
}

const char* algorithm_name(Algorithm a) {
  switch (a) {
    case Algorithm::kRing: return "ring";
    case Algorithm::kTorus2d: return "torus2d";
    case Algorithm::kNdRing: return "ndring";
    case Algorithm::kTree: return "tree";
  }
  return "unknown";
}

const char* collective_name(Collective c) {
  switch (c) {
    case Collective::kAllGather: return "all_gather";
    case Collective::kReduceScatter: return "reduce_scatter";
    case Collective::kAllReduce: return "all_reduce";
  }
  return "unknown";
}

Status parse_algorithm(const std::string& text, Algorithm* out) {
  for (Algorithm a : {Algorithm::kRing, Algorithm::kTorus2d, Algorithm::kNdRing,
                      Algorithm::kTree}) {
    if (text == algorithm_name(a)) {
      *out = a;
      return Status();
    }
  }
  return Status(TIDAL_ERR_INVALID_ARGUMENT,
                fmt::format("unknown algorithm '{}' (ring, torus2d, ndring, tree)", text));
}

Status parse_collective(const std::string& text, Collective* out) {
  if (text == "all_gather" || text == "ag") *out = Collective::kAllGather;
  else if (text == "reduce_scatter" || text == "rs") *out = Collective::kReduceScatter;
  else if (text == "all_reduce" || text == "ar") *out = Collective::kAllReduce;
  else {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("unknown collective '{}' (all_gather, reduce_scatter, "
                              "all_reduce)", text));
  }
  return Status();
}

Status validate(const Machine& machine) {
  if (machine.dims.empty()) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, "cost model: the machine has no dims");
  }
  double world = 1;
  for (size_t j = 0; j < machine.dims.size(); ++j) {
    const MachineDim& d = machine.dims[j];
    if (d.size < 1) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("cost model: dim {} has size {} (must be >= 1)", j, d.size));
    }
    if (!std::isfinite(d.link.alpha_s) || d.link.alpha_s < 0) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("cost model: dim {} alpha {} s must be finite and >= 0", j,
                                d.link.alpha_s));
    }
    if (!std::isfinite(d.link.beta_Bps) || d.link.beta_Bps <= 0) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("cost model: dim {} beta {} B/s must be finite and > 0", j,
                                d.link.beta_Bps));
    }
    world *= d.size;
  }
  for (double rate : {machine.reduce_Bps, machine.copy_Bps}) {
    if (!std::isfinite(rate) || rate < 0) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("cost model: reduce/copy rate {} B/s must be finite and >= 0 "
                                "(0: free)", rate));
    }
  }
  if (world > (1 << 24)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("cost model: {} ranks is beyond the model's range (16M)", world));
  }
  return Status();
}

Status predict(const Machine& machine, Algorithm algo, Collective coll, double bytes,
               double* seconds) {
  TIDAL_RETURN_IF_ERROR(validate(machine));
  if (!std::isfinite(bytes) || bytes < 0) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("cost model: {} bytes must be finite and >= 0", bytes));
  }
  PassCost pass;
  switch (algo) {
    case Algorithm::kRing: pass = ring_pass(machine, bytes); break;
    case Algorithm::kTorus2d: pass = torus2d_pass(machine, bytes); break;
    case Algorithm::kNdRing: pass = ndring_pass(machine, bytes); break;
    case Algorithm::kTree: pass = tree_pass(machine, bytes); break;
  }
  // RS and AG move the same bytes; RS also folds every received byte into
  // its own (free when reduce_Bps is 0: a GPU fuses it into the copy).
  // All-reduce is RS then AG on the same bytes.
  const double reduce = machine.reduce_Bps > 0 ? pass.received / machine.reduce_Bps : 0;
  const double n = machine.world();
  // The executor's copies: all-gather puts its own block in place (S/n);
  // reduce-scatter and all-reduce fold the input where it lies (no copy),
  // except a torus/ndring reduce-scatter below kReadInputPerBlockMinBytes,
  // whose first phase's parts are strided in the input: it copies the input
  // into position order once (S) rather than send a message per block.
  int ring_dims = 0;
  for (const MachineDim& d : machine.dims) ring_dims += d.size > 1;
  const bool rs_copies_input = (algo == Algorithm::kTorus2d || algo == Algorithm::kNdRing) &&
                               ring_dims > 1 && bytes < kReadInputPerBlockMinBytes;
  const double copied = coll == Collective::kAllGather ? bytes / n
                        : coll == Collective::kReduceScatter && rs_copies_input ? bytes
                                                                                : 0;
  const double copy = machine.copy_Bps > 0 && n > 1 ? copied / machine.copy_Bps : 0;
  // A transport that folds as it receives moves and folds each received
  // byte in one pass, bounded by the slower of the two rates.
  const double rs_pass = machine.fold_on_receive && reduce > 0
                             ? pass.seconds - pass.wire + std::max(pass.wire, reduce)
                             : pass.seconds + reduce;
  switch (coll) {
    case Collective::kAllGather: *seconds = pass.seconds + copy; break;
    case Collective::kReduceScatter: *seconds = rs_pass + copy; break;
    case Collective::kAllReduce: *seconds = rs_pass + pass.seconds + copy; break;
  }
  return Status();
}

double bus_factor(Collective coll, int world) {
  if (world <= 1) return 0;
  const double f = static_cast<double>(world - 1) / world;
  return coll == Collective::kAllReduce ? 2 * f : f;
}

Status choose(const Machine& machine, Collective coll, double bytes,
              const std::vector<Algorithm>& candidates, Algorithm* best) {
  if (candidates.empty()) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, "cost model: no candidate algorithms");
  }
  double best_time = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    double t = 0;
    TIDAL_RETURN_IF_ERROR(predict(machine, candidates[i], coll, bytes, &t));
    if (i == 0 || t < best_time) {
      best_time = t;
      *best = candidates[i];
    }
  }
  return Status();
}

Status machine_from_cluster(const Cluster& c, Machine* out) {
  return machine_for_node_dims(c, {c.nodes}, out);
}

Status machine_for_node_dims(const Cluster& c, const std::vector<int>& node_dims,
                             Machine* out) {
  if (c.gpus_per_node < 1 || c.nodes < 1 || c.nics_per_node < 1) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("cluster: gpus per node ({}), nodes ({}) and NICs per node ({}) "
                              "must be >= 1", c.gpus_per_node, c.nodes, c.nics_per_node));
  }
  long product = 1;
  for (int d : node_dims) product *= d < 1 ? 0 : d;
  if (node_dims.empty() || product != c.nodes) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("cluster: node dims {} do not multiply to {} nodes",
                              fmt::join(node_dims, "x"), c.nodes));
  }
  Machine m;
  m.dims.push_back({c.gpus_per_node, {"intra", c.intra_alpha_s, c.intra_beta_Bps}});
  // All GPUs of a node cross nodes at once in a torus phase: each gets its
  // share of the node's NICs.
  const double inter_share = c.nics_per_node * c.nic_beta_Bps / c.gpus_per_node;
  for (int d : node_dims) m.dims.push_back({d, {"inter", c.inter_alpha_s, inter_share}});
  TIDAL_RETURN_IF_ERROR(validate(m).with_context("cluster"));
  *out = std::move(m);
  return Status();
}

}  // namespace cost
}  // namespace tidal
