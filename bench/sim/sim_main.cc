// tidal-sim — the cost model as a command-line simulator.
//
//   tidal-sim [cluster options] [--collective C] [--min-bytes 1M ...]
//       predicted time, algbw and busbw of ring / torus2d / ndring / tree
//   tidal-sim ... --scaling [--compute-ms ...]
//       data-parallel scaling efficiency from one node to --max-gpus
//   tidal-sim --fit --backend local|mpi|ucx [--ranks N]
//       measures alpha/beta here and checks the model against the ring
//
// Exit status: 0 on success, 2 on bad input (with the usage), 1 when a
// measurement fails.
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/sim/fit_mode.h"
#include "bench/sim/sim_sweep.h"
#include "lib/core/config.h"
#include "tidal/version.h"

#if TIDAL_HAVE_MPI
#include <mpi.h>
#endif

namespace {

using tidal::Status;
namespace cost = tidal::cost;
namespace sim = tidal::sim;

struct Options {
  cost::Cluster cluster;
  double intra_alpha_us = 2, intra_GBps = 450, inter_alpha_us = 5, nic_Gbps = 400;
  std::string collective = "all_gather";
  std::string min_bytes = "1M", max_bytes = "256M";
  double factor = 2;
  std::string node_dims = "auto";
  std::string csv;
  bool scaling = false;
  sim::DataParallelStep step;
  double compute_ms = 300, model_bytes = 1.35e9;
  std::string bucket_bytes = "25M";
  int max_gpus = 16384;
  std::string scaling_csv;
  bool fit = false;
  sim::FitOptions fit_options;
  std::string fit_sizes = "1M,2M,4M,8M,16M", check_sizes = "1M,4M,16M";
};

void add_cluster_options(CLI::App& app, Options& o) {
  app.add_option("--gpus-per-node", o.cluster.gpus_per_node, "GPUs (ranks) per node")
      ->capture_default_str();
  app.add_option("--nodes", o.cluster.nodes, "number of nodes")->capture_default_str();
  app.add_option("--intra-alpha-us", o.intra_alpha_us, "intra-node hop latency (us)")
      ->capture_default_str();
  app.add_option("--intra-GBps", o.intra_GBps, "intra-node bandwidth per GPU (GB/s)")
      ->capture_default_str();
  app.add_option("--inter-alpha-us", o.inter_alpha_us, "inter-node hop latency (us)")
      ->capture_default_str();
  app.add_option("--nic-Gbps", o.nic_Gbps, "bandwidth of one NIC (Gb/s)")->capture_default_str();
  app.add_option("--nics-per-node", o.cluster.nics_per_node, "NICs per node")
      ->capture_default_str();
  app.add_option("--node-dims", o.node_dims, "ndring layout of the nodes, e.g. 16x8 (auto: "
                 "two near-equal factors)")->capture_default_str();
}

void add_sweep_options(CLI::App& app, Options& o) {
  app.add_option("--collective", o.collective, "all_gather | reduce_scatter | all_reduce")
      ->capture_default_str();
  app.add_option("--min-bytes", o.min_bytes, "smallest buffer (K/M/G suffixes)")
      ->capture_default_str();
  app.add_option("--max-bytes", o.max_bytes, "largest buffer")->capture_default_str();
  app.add_option("--factor", o.factor, "size step factor")->capture_default_str();
  app.add_option("--csv", o.csv, "write the size sweep as CSV to this file");
  app.add_flag("--scaling", o.scaling, "also print data-parallel scaling efficiency");
  app.add_option("--compute-ms", o.compute_ms, "compute time per step (ms)")
      ->capture_default_str();
  app.add_option("--overlap", o.step.overlap, "fraction of compute that hides communication")
      ->capture_default_str();
  app.add_option("--model-bytes", o.model_bytes, "gradient bytes all-reduced per step")
      ->capture_default_str();
  app.add_option("--bucket-bytes", o.bucket_bytes, "bucket size")->capture_default_str();
  app.add_option("--max-gpus", o.max_gpus, "largest GPU count of the scaling sweep")
      ->capture_default_str();
  app.add_option("--scaling-csv", o.scaling_csv, "write the scaling sweep as CSV");
}

void add_fit_options(CLI::App& app, Options& o) {
  app.add_flag("--fit", o.fit, "measure alpha/beta here and check the model");
  app.add_option("--backend", o.fit_options.backend, "local | mpi | ucx (mpi, ucx: run "
                 "under mpiexec)")->capture_default_str();
  app.add_option("--ranks", o.fit_options.ranks, "local thread ranks")->capture_default_str();
  app.add_option("--fit-sizes", o.fit_sizes, "probe message sizes")->capture_default_str();
  app.add_option("--check-sizes", o.check_sizes, "collective sizes compared with the model")
      ->capture_default_str();
  app.add_option("--fit-csv", o.fit_options.csv, "write the comparison as CSV");
}

Status parse_node_dims(const Options& o, std::vector<int>* dims) {
  if (o.node_dims == "auto") {
    *dims = sim::default_node_dims(o.cluster.nodes);
    return Status();
  }
  dims->clear();
  size_t start = 0;
  while (true) {
    const size_t x = o.node_dims.find('x', start);
    const std::string item = o.node_dims.substr(start, x == std::string::npos ? x : x - start);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1 || v > (1 << 20)) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("--node-dims '{}': expected sizes like 16x8", o.node_dims));
    }
    dims->push_back(static_cast<int>(v));
    if (x == std::string::npos) return Status();
    start = x + 1;
  }
}

Status resolve(Options& o) {
  o.cluster.intra_alpha_s = o.intra_alpha_us * 1e-6;
  o.cluster.intra_beta_Bps = o.intra_GBps * 1e9;
  o.cluster.inter_alpha_s = o.inter_alpha_us * 1e-6;
  o.cluster.nic_beta_Bps = o.nic_Gbps * 1e9 / 8;
  o.step.compute_s = o.compute_ms * 1e-3;
  o.step.model_bytes = o.model_bytes;
  size_t bucket = 0;
  TIDAL_RETURN_IF_ERROR(tidal::parse_bytes(o.bucket_bytes, &bucket).with_context("--bucket-bytes"));
  o.step.bucket_bytes = static_cast<double>(bucket);
  TIDAL_RETURN_IF_ERROR(tidal::parse_bytes_list(o.fit_sizes, &o.fit_options.fit_sizes)
                            .with_context("--fit-sizes"));
  return tidal::parse_bytes_list(o.check_sizes, &o.fit_options.check_sizes)
      .with_context("--check-sizes");
}

Status simulate(const Options& o) {
  cost::Collective coll;
  TIDAL_RETURN_IF_ERROR(cost::parse_collective(o.collective, &coll).with_context("--collective"));
  size_t min_bytes = 0, max_bytes = 0;
  TIDAL_RETURN_IF_ERROR(tidal::parse_bytes(o.min_bytes, &min_bytes).with_context("--min-bytes"));
  TIDAL_RETURN_IF_ERROR(tidal::parse_bytes(o.max_bytes, &max_bytes).with_context("--max-bytes"));
  std::vector<int> node_dims;
  TIDAL_RETURN_IF_ERROR(parse_node_dims(o, &node_dims));
  sim::SimMachines machines;
  TIDAL_RETURN_IF_ERROR(sim::make_machines(o.cluster, node_dims, &machines));
  if (o.scaling) TIDAL_RETURN_IF_ERROR(sim::validate(o.step));  // before printing anything
  std::vector<sim::SweepRow> rows;
  TIDAL_RETURN_IF_ERROR(sim::sweep_sizes(machines, coll, static_cast<double>(min_bytes),
                                         static_cast<double>(max_bytes), o.factor, &rows));
  const cost::Cluster& c = o.cluster;
  fmt::print("# tidal-sim: {} nodes x {} GPUs = {} ranks; intra {:g} us, {:g} GB/s per GPU; "
             "inter {:g} us, {} x {:g} Gb/s NICs per node; ndring nodes {}\n",
             c.nodes, c.gpus_per_node, machines.two_tier.world(), o.intra_alpha_us,
             o.intra_GBps, o.inter_alpha_us, c.nics_per_node, o.nic_Gbps,
             fmt::join(node_dims, "x"));
  sim::print_sweep(rows, coll, machines.two_tier.world(), stdout);
  if (!o.csv.empty()) {
    TIDAL_RETURN_IF_ERROR(sim::write_sweep_csv(rows, coll, machines.two_tier.world(), o.csv));
  }
  if (!o.scaling) return Status();
  std::vector<sim::ScalingRow> scaling;
  TIDAL_RETURN_IF_ERROR(sim::scaling_sweep(c, o.step, o.max_gpus, &scaling));
  sim::print_scaling(scaling, o.step, stdout);
  if (!o.scaling_csv.empty()) TIDAL_RETURN_IF_ERROR(sim::write_scaling_csv(scaling, o.scaling_csv));
  return Status();
}

// MPI is only needed by the process backends of --fit.
Status fit(const Options& o) {
#if TIDAL_HAVE_MPI
  const bool needs_mpi = o.fit_options.backend == "mpi" || o.fit_options.backend == "ucx";
  if (needs_mpi) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  }
  Status s = sim::run_fit(o.fit_options);
  if (needs_mpi) MPI_Finalize();
  return s;
#else
  return sim::run_fit(o.fit_options);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidal-sim: alpha-beta cost model of ring, torus2d, ndring and tree "
               "collectives, and a --fit mode that measures this machine"};
  Options o;
  add_cluster_options(app, o);
  add_sweep_options(app, o);
  add_fit_options(app, o);
  app.failure_message(CLI::FailureMessage::help);  // bad input prints the usage
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  Status s = resolve(o);
  if (s.ok()) s = o.fit ? fit(o) : simulate(o);
  if (s.ok()) return 0;
  const bool bad_input = s.code() == TIDAL_ERR_INVALID_ARGUMENT;
  fmt::print(stderr, "tidal-sim: error: {}\n", s.message());
  if (bad_input) fmt::print(stderr, "{}", app.help());
  return bad_input ? 2 : 1;
}
