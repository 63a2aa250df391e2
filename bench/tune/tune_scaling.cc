// tune_scaling.cc — the tuner over cost-model profiles at growing scale.
#include "bench/tune/tune_scaling.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "topology/tuning/bucket_tuner.h"

namespace tidal {
namespace tune {

namespace {

// A profile sampled from the cost model: 64 KiB .. 4 GiB, 4 points per
// doubling (dense enough that log-log interpolation is exact to <1%).
Status cost_profile(const cost::Machine& machine, cost::Algorithm algo,
                    tuning::CommProfile* profile) {
  tuning::CommCurve& curve = profile->curve(tuning::CommKind::kReduceScatter);
  for (double b = 64.0 * 1024; b <= 4.0 * (1 << 30); b *= std::pow(2.0, 0.25)) {
    double seconds = 0;
    TIDAL_RETURN_IF_ERROR(cost::predict(machine, algo, cost::Collective::kReduceScatter, b,
                                        &seconds));
    TIDAL_RETURN_IF_ERROR(curve.add_point(b, seconds));
  }
  return Status();
}

Status tune_one(const cost::Machine& machine, cost::Algorithm algo,
                const tuning::StepInputs& inputs, ScalingRow* row) {
  tuning::CommProfile profile;
  TIDAL_RETURN_IF_ERROR(cost_profile(machine, algo, &profile));
  tuning::TuneOptions options;
  options.min_bucket_bytes = 64.0 * 1024;
  options.points_per_octave = 4;
  tuning::TuneResult r;
  TIDAL_RETURN_IF_ERROR(tuning::tune_bucket_size(inputs, profile, options, &r));
  row->algorithm = cost::algorithm_name(algo);
  row->best_bytes = r.best.bucket_bytes;
  row->exposed_s = r.best.exposed_s;
  row->iteration_s = r.best.iteration_s;
  row->ddp_exposed_s = r.ddp_default.exposed_s;
  row->keep_pace_bytes = r.has_closed_form ? r.closed_form.keep_pace_bytes : NAN;
  return Status();
}

}  // namespace

Status scaling_sweep(const cost::Cluster& cluster, const tuning::StepInputs& inputs,
                     int max_gpus, std::vector<ScalingRow>* rows) {
  if (cluster.gpus_per_node < 1 || max_gpus < cluster.gpus_per_node) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, "--max-gpus must be >= the GPUs per node");
  }
  rows->clear();
  for (int nodes = 1; nodes * cluster.gpus_per_node <= max_gpus; nodes *= 2) {
    cost::Cluster c = cluster;
    c.nodes = nodes;
    cost::Machine machine;
    TIDAL_RETURN_IF_ERROR(cost::machine_from_cluster(c, &machine));
    for (auto algo : {cost::Algorithm::kRing, cost::Algorithm::kTorus2d}) {
      ScalingRow row;
      row.gpus = nodes * c.gpus_per_node;
      TIDAL_RETURN_IF_ERROR(tune_one(machine, algo, inputs, &row));
      rows->push_back(row);
    }
  }
  return Status();
}

void print_scaling(const std::vector<ScalingRow>& rows, std::FILE* out) {
  std::fprintf(out, "%6s %9s %12s %12s %14s %16s %14s\n", "gpus", "schedule", "best_bucket",
               "exposed_ms", "iteration_ms", "25MiB_exposed_ms", "keep_pace_b0");
  for (const auto& r : rows) {
    std::string b0 = std::isfinite(r.keep_pace_bytes) ? tuning::format_bytes(r.keep_pace_bytes)
                                                      : "throughput";
    std::fprintf(out, "%6d %9s %12s %12.2f %14.2f %16.2f %14s\n", r.gpus, r.algorithm.c_str(),
                 tuning::format_bytes(r.best_bytes).c_str(), r.exposed_s * 1e3,
                 r.iteration_s * 1e3, r.ddp_exposed_s * 1e3, b0.c_str());
  }
}

Status write_scaling_csv(const std::vector<ScalingRow>& rows, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return Status(TIDAL_ERR_IO, fmt::format("cannot write {}", path));
  std::fprintf(f, "gpus,schedule,best_bytes,exposed_ms,iteration_ms,ddp25_exposed_ms,"
                  "keep_pace_bytes\n");
  for (const auto& r : rows) {
    std::fprintf(f, "%d,%s,%.0f,%.4f,%.4f,%.4f,%.0f\n", r.gpus, r.algorithm.c_str(),
                 r.best_bytes, r.exposed_s * 1e3, r.iteration_s * 1e3, r.ddp_exposed_s * 1e3,
                 std::isfinite(r.keep_pace_bytes) ? r.keep_pace_bytes : -1.0);
  }
  return std::fclose(f) == 0 ? Status() : Status(TIDAL_ERR_IO, fmt::format("writing {}", path));
}

Status write_scaling_plot(const std::string& csv, const std::string& png,
                          const std::string& title) {
  std::string script_path = png + ".gp";
  std::FILE* f = std::fopen(script_path.c_str(), "w");
  if (!f) return Status(TIDAL_ERR_IO, fmt::format("cannot write {}", script_path));
  std::fprintf(f,
               "set terminal pngcairo size 900,560\nset output '%s'\n"
               "set datafile separator ','\nset key bottom right\nset logscale xy 2\nset grid\n"
               "set title '%s'\nset xlabel 'GPUs'\nset ylabel 'bucket size (MiB)'\n"
               "plot '%s' every 2::1 using 1:($3/1048576) with linespoints "
               "pt 7 title 'ring', \\\n"
               "     '' every 2::2 using 1:($3/1048576) with "
               "linespoints pt 5 title 'torus2d', \\\n"
               "     '' every 2::1 using 1:($7 > 0 ? $7/1048576 : 1/0) "
               "with lines dt 3 lc 1 title 'ring: keep-pace size b0', \\\n"
               "     '' every 2::2 using 1:($7 > 0 ? $7/1048576 : 1/0) "
               "with lines dt 3 lc 2 title 'torus2d: keep-pace size b0', \\\n"
               "     25 with lines dt 2 lc 0 title 'DDP default (25 MiB)'\n",
               png.c_str(), title.c_str(), csv.c_str());
  std::fclose(f);
  int rc = std::system(fmt::format("gnuplot '{}' 2>&1", script_path).c_str());
  std::remove(script_path.c_str());
  return rc == 0 ? Status() : Status(TIDAL_ERR_IO, fmt::format("gnuplot failed writing {}", png));
}

}  // namespace tune
}  // namespace tidal
