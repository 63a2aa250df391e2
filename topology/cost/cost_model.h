// cost_model.h — the alpha-beta cost model of tidal's schedules.
//
// A machine is a stack of dims, innermost first (dims[0] = ranks per node,
// dims[1] = nodes, or more dims for an N-dimensional layout). Each dim's
// ring hops use one link tier: alpha = seconds per message (hop latency),
// beta = bytes per second one rank can push over that tier while every rank
// of the machine uses it at the same time (its share of a NIC, or of
// NVLink).
//
// A schedule is a sequence of ring phases; as in NCCL's tuning model, a
// phase over d ranks on tier t costs
//     steps * alpha_t + bytes_on_the_wire_per_rank / beta_t
// and a flat ring that spans several tiers pays each hop's own alpha (a
// rank waits only for its neighbour, so the critical path is one block's
// journey: intra hops at intra alpha, node crossings at inter alpha).
// docs/cost-model.md derives every formula.
//
// `bytes` is always the full buffer as nccl-tests counts it: the gathered
// output of all_gather, the input of reduce_scatter, the buffer of
// all_reduce.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "lib/core/status.h"

namespace tidal {
namespace cost {

struct LinkTier {
  std::string name;       // "intra", "inter", ... (for printing)
  double alpha_s = 0;     // per-message latency, seconds
  double beta_Bps = 0;    // per-rank bandwidth, bytes/second (> 0)
};

struct MachineDim {
  int size = 1;           // ranks along this dim
  LinkTier link;          // the tier its hops cross
};

// Innermost dim first. The world is the product of the sizes.
struct Machine {
  std::vector<MachineDim> dims;
  // Bytes per second one rank folds into its data in a reduction (the
  // gamma of Rabenseifner's model, as a rate). 0 = free: GPUs fuse the
  // reduction into the copy kernel; on CPUs --fit measures it.
  double reduce_Bps = 0;
  // Bytes per second of a rank's local copies. tidal's executor copies
  // all-gather's own block into place (S/n); reduce-scatter and all-reduce
  // fold the input where it lies and write the output from the last fold
  // (no copies), except a torus2d/ndring reduce-scatter over two or more
  // dims below kReadInputPerBlockMinBytes, which copies its input into
  // position order once (S). 0 = free.
  double copy_Bps = 0;
  // The transport folds each message into its target as it receives it
  // (local threads read the sender's buffer): a reduction's received bytes
  // then cost max(bytes / beta, bytes / reduce_Bps) instead of the sum.
  bool fold_on_receive = false;
  int world() const;
};

// From this buffer size a torus/ndring reduce-scatter reads its strided
// input block by block (a message per block in its first phase) instead of
// copying it into position order (collectives/schedules/hierarchical_schedule.cc).
constexpr double kReadInputPerBlockMinBytes = 2.0 * (1 << 20);

enum class Algorithm {
  kRing,     // one flat ring over the world, striped over parallel channels
  kTorus2d,  // RS over dims[0] on all data, then over the outer dims (flattened) on 1/X
  kNdRing,   // RS over every dim in turn, innermost first; AG in reverse
  kTree,     // reference: recursive halving/doubling (log2 steps)
};

enum class Collective { kAllGather, kReduceScatter, kAllReduce };

const char* algorithm_name(Algorithm a);
const char* collective_name(Collective c);
// Parses "ring", "torus2d", "ndring", "tree" / "all_gather",
// "reduce_scatter", "all_reduce" (also "ag", "rs", "ar").
Status parse_algorithm(const std::string& text, Algorithm* out);
Status parse_collective(const std::string& text, Collective* out);

// Checks sizes >= 1, alpha >= 0, beta > 0 (finite).
Status validate(const Machine& machine);

// Predicted seconds of `coll` on `bytes` with `algo`, or an error for an
// invalid machine. Phase bandwidth terms add up (no overlap between
// phases): the conservative bound for a step-synchronous executor.
// reduce_scatter and all_reduce add received_bytes / reduce_Bps (or, with
// fold_on_receive, take the slower of moving and folding them); every
// collective adds its local copies / copy_Bps.
Status predict(const Machine& machine, Algorithm algo, Collective coll, double bytes,
               double* seconds);

// nccl-tests' bus-bandwidth factor: (n-1)/n for AG/RS, 2(n-1)/n for AR.
double bus_factor(Collective coll, int world);

// The algorithm among `candidates` with the lowest prediction (ties: the
// earlier candidate). Used by the `auto` schedule.
Status choose(const Machine& machine, Collective coll, double bytes,
              const std::vector<Algorithm>& candidates, Algorithm* best);

// A cluster as tidal-sim describes it: X GPUs per node, Y nodes, NVLink-
// class intra links (per-GPU beta) and `nics` NICs per node of `nic_beta`
// each, shared by the node's GPUs. Built as a two-dim Machine whose inter
// tier carries each GPU's share, nics * nic_beta / X.
struct Cluster {
  int gpus_per_node = 8;
  int nodes = 1;
  double intra_alpha_s = 2e-6;
  double intra_beta_Bps = 450e9;
  double inter_alpha_s = 5e-6;
  double nic_beta_Bps = 50e9;
  int nics_per_node = 8;
};
Status machine_from_cluster(const Cluster& cluster, Machine* out);
// The same cluster with its nodes arranged as several dims (an ND layout:
// {16, 8} for 128 nodes); the product must equal cluster.nodes. Every node
// dim uses the inter tier.
Status machine_for_node_dims(const Cluster& cluster, const std::vector<int>& node_dims,
                             Machine* out);

}  // namespace cost
}  // namespace tidal
