#include "bench/sim/sim_sweep.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace tidal {
namespace sim {
namespace {

// fopen with a tidal error (the path and errno) on failure.
Status open_for_writing(const std::string& path, std::unique_ptr<std::FILE, int (*)(std::FILE*)>* f) {
  std::FILE* raw = std::fopen(path.c_str(), "w");
  if (!raw) {
    return Status(TIDAL_ERR_IO, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
  f->reset(raw);
  return Status();
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (bytes >= 1024 && u < 3) {
    bytes /= 1024;
    ++u;
  }
  return fmt::format("{:.4g}{}", bytes, units[u]);
}

// Exposed communication of one step: what the backward pass cannot hide,
// and never less than the last bucket (it starts when backward ends).
double exposed_seconds(const DataParallelStep& step, double comm_s, double last_bucket_s) {
  return std::max(comm_s - step.overlap * step.compute_s, last_bucket_s);
}

}  // namespace

const std::vector<cost::Algorithm>& all_algorithms() {
  static const std::vector<cost::Algorithm> algos = {
      cost::Algorithm::kRing, cost::Algorithm::kTorus2d, cost::Algorithm::kNdRing,
      cost::Algorithm::kTree};
  return algos;
}

std::vector<int> default_node_dims(int nodes) {
  int best = 1;
  for (int a = 1; static_cast<long>(a) * a <= nodes; ++a) {
    if (nodes % a == 0) best = a;
  }
  if (best == 1) return {nodes};
  return {nodes / best, best};
}

Status make_machines(const cost::Cluster& cluster, const std::vector<int>& node_dims,
                     SimMachines* out) {
  TIDAL_RETURN_IF_ERROR(cost::machine_from_cluster(cluster, &out->two_tier));
  return cost::machine_for_node_dims(cluster, node_dims, &out->nd);
}

Status sweep_sizes(const SimMachines& machines, cost::Collective coll, double min_bytes,
                   double max_bytes, double factor, std::vector<SweepRow>* rows) {
  if (!(min_bytes > 0) || !(max_bytes >= min_bytes) || !(factor > 1)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("sizes: need 0 < min ({}) <= max ({}) and a step factor > 1 "
                              "({})", min_bytes, max_bytes, factor));
  }
  rows->clear();
  for (double bytes = min_bytes; bytes <= max_bytes * (1 + 1e-9); bytes *= factor) {
    SweepRow row;
    row.bytes = std::round(bytes);
    for (cost::Algorithm a : all_algorithms()) {
      double t = 0;
      TIDAL_RETURN_IF_ERROR(cost::predict(machines.for_algorithm(a), a, coll, row.bytes, &t));
      row.seconds.push_back(t);
    }
    rows->push_back(std::move(row));
  }
  return Status();
}

void print_sweep(const std::vector<SweepRow>& rows, cost::Collective coll, int world,
                 std::FILE* out) {
  const double bus = cost::bus_factor(coll, world);
  fmt::print(out, "# {} over {} ranks; time in us, algbw and busbw in GB/s\n",
             cost::collective_name(coll), world);
  fmt::print(out, "#{:>11}", "size");
  for (cost::Algorithm a : all_algorithms()) {
    fmt::print(out, " |{:>10} {:>8} {:>8}", fmt::format("{}(us)", cost::algorithm_name(a)),
               "algbw", "busbw");
  }
  fmt::print(out, " | torus2d/ring\n");
  for (const SweepRow& r : rows) {
    fmt::print(out, "{:>12}", human_bytes(r.bytes));
    for (double t : r.seconds) {
      const double algbw = t > 0 ? r.bytes / t / 1e9 : 0;
      fmt::print(out, " |{:>10.1f} {:>8.2f} {:>8.2f}", t * 1e6, algbw, algbw * bus);
    }
    fmt::print(out, " | {:>8.2f}x\n", r.seconds[0] / r.seconds[1]);
  }
}

Status write_sweep_csv(const std::vector<SweepRow>& rows, cost::Collective coll, int world,
                       const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(nullptr, std::fclose);
  TIDAL_RETURN_IF_ERROR(open_for_writing(path, &f));
  const double bus = cost::bus_factor(coll, world);
  fmt::print(f.get(), "collective,algorithm,ranks,bytes,time_us,algbw_GBps,busbw_GBps\n");
  for (const SweepRow& r : rows) {
    for (size_t i = 0; i < r.seconds.size(); ++i) {
      const double algbw = r.seconds[i] > 0 ? r.bytes / r.seconds[i] / 1e9 : 0;
      fmt::print(f.get(), "{},{},{},{:.0f},{:.3f},{:.4f},{:.4f}\n", cost::collective_name(coll),
                 cost::algorithm_name(all_algorithms()[i]), world, r.bytes,
                 r.seconds[i] * 1e6, algbw, algbw * bus);
    }
  }
  return Status();
}

Status validate(const DataParallelStep& s) {
  if (!(s.compute_s > 0) || !(s.model_bytes > 0) || !(s.bucket_bytes > 0) ||
      !(s.overlap >= 0 && s.overlap <= 1) || !std::isfinite(s.compute_s) ||
      !std::isfinite(s.model_bytes) || !std::isfinite(s.bucket_bytes)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("dp step: need compute > 0 ({} s), model bytes > 0 ({}), bucket "
                              "bytes > 0 ({}) and 0 <= overlap <= 1 ({})", s.compute_s,
                              s.model_bytes, s.bucket_bytes, s.overlap));
  }
  return Status();
}

Status scaling_sweep(const cost::Cluster& cluster, const DataParallelStep& step, int max_gpus,
                     std::vector<ScalingRow>* rows) {
  TIDAL_RETURN_IF_ERROR(validate(step));
  if (max_gpus < cluster.gpus_per_node) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("scaling: max GPUs {} is below one node ({} GPUs)", max_gpus,
                              cluster.gpus_per_node));
  }
  const double buckets = std::ceil(step.model_bytes / step.bucket_bytes);
  const double last = step.model_bytes - (buckets - 1) * step.bucket_bytes;
  rows->clear();
  for (int nodes = 1; static_cast<long>(nodes) * cluster.gpus_per_node <= max_gpus; nodes *= 2) {
    cost::Cluster c = cluster;
    c.nodes = nodes;
    SimMachines machines;
    TIDAL_RETURN_IF_ERROR(make_machines(c, default_node_dims(nodes), &machines));
    ScalingRow row;
    row.gpus = nodes * cluster.gpus_per_node;
    for (cost::Algorithm a : all_algorithms()) {
      double full = 0, tail = 0;
      const cost::Machine& m = machines.for_algorithm(a);
      TIDAL_RETURN_IF_ERROR(cost::predict(m, a, cost::Collective::kAllReduce, step.bucket_bytes,
                                          &full));
      TIDAL_RETURN_IF_ERROR(cost::predict(m, a, cost::Collective::kAllReduce, last, &tail));
      const double comm = (buckets - 1) * full + tail;
      row.comm_s.push_back(comm);
      row.efficiency.push_back(step.compute_s /
                               (step.compute_s + exposed_seconds(step, comm, tail)));
    }
    rows->push_back(std::move(row));
  }
  return Status();
}

void print_scaling(const std::vector<ScalingRow>& rows, const DataParallelStep& step,
                   std::FILE* out) {
  fmt::print(out, "# data-parallel step: {:.1f} ms compute ({:.0f}% overlappable), {} of "
             "gradients all-reduced in {} buckets\n", step.compute_s * 1e3,
             step.overlap * 100, human_bytes(step.model_bytes), human_bytes(step.bucket_bytes));
  fmt::print(out, "#{:>7}", "gpus");
  for (cost::Algorithm a : all_algorithms()) {
    fmt::print(out, " |{:>10} {:>6}", fmt::format("{}(ms)", cost::algorithm_name(a)), "eff%");
  }
  fmt::print(out, "\n");
  for (const ScalingRow& r : rows) {
    fmt::print(out, "{:>8}", r.gpus);
    for (size_t i = 0; i < r.comm_s.size(); ++i) {
      fmt::print(out, " |{:>10.2f} {:>6.1f}", r.comm_s[i] * 1e3, r.efficiency[i] * 100);
    }
    fmt::print(out, "\n");
  }
}

Status write_scaling_csv(const std::vector<ScalingRow>& rows, const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(nullptr, std::fclose);
  TIDAL_RETURN_IF_ERROR(open_for_writing(path, &f));
  fmt::print(f.get(), "algorithm,gpus,comm_ms,efficiency\n");
  for (const ScalingRow& r : rows) {
    for (size_t i = 0; i < r.comm_s.size(); ++i) {
      fmt::print(f.get(), "{},{},{:.4f},{:.5f}\n", cost::algorithm_name(all_algorithms()[i]),
                 r.gpus, r.comm_s[i] * 1e3, r.efficiency[i]);
    }
  }
  return Status();
}

}  // namespace sim
}  // namespace tidal
