// tune_report.cc — table, CSV and plot of a tuning result.
#include "bench/tune/tune_report.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "topology/tuning/bucket_tuner.h"

namespace tidal {
namespace tune {

namespace {

using tuning::format_bytes;

std::string measured_cell(const tidal_tune_point_t& p) {
  if (p.measured_iteration_s < 0) return "-";
  return fmt::format("{:.2f}", p.measured_iteration_s * 1e3);
}

// Measured comparison: pick vs measured best vs 25 MiB, and the model's
// worst error over measured sizes.
void print_measured_summary(const std::vector<tidal_tune_point_t>& points, std::FILE* out) {
  const tidal_tune_point_t *best = nullptr, *pick = nullptr, *ddp = nullptr;
  double worst_error = 0;
  size_t measured = 0;
  for (const auto& p : points) {
    if (p.measured_iteration_s < 0) continue;
    ++measured;
    worst_error = std::max(worst_error, std::fabs(p.iteration_s - p.measured_iteration_s) /
                                            p.measured_iteration_s);
    if (!best || p.measured_iteration_s < best->measured_iteration_s) best = &p;
    if (p.model_pick) pick = &p;
    if (p.bucket_bytes == size_t(25) << 20) ddp = &p;
  }
  if (measured == 0) return;
  std::fprintf(out, "measured %zu sizes: best %s at %.2f ms; model error up to %.1f%%\n",
               measured, format_bytes(double(best->bucket_bytes)).c_str(),
               best->measured_iteration_s * 1e3, worst_error * 100);
  if (pick) {
    std::fprintf(out, "model pick %s measured %.2f ms: %+.1f%% vs the measured best\n",
                 format_bytes(double(pick->bucket_bytes)).c_str(),
                 pick->measured_iteration_s * 1e3,
                 (pick->measured_iteration_s / best->measured_iteration_s - 1) * 100);
  }
  if (ddp && pick) {
    std::fprintf(out, "25 MiB (DDP default) measured %.2f ms: the pick is %+.1f%% against it\n",
                 ddp->measured_iteration_s * 1e3,
                 (pick->measured_iteration_s / ddp->measured_iteration_s - 1) * 100);
  }
}

}  // namespace

Status read_points(tidal_tune_result_t result, std::vector<tidal_tune_point_t>* points) {
  size_t n = 0;
  if (tidal_tune_result_num_points(result, &n) != TIDAL_SUCCESS) {
    return Status(TIDAL_ERR_INTERNAL, tidal_last_error());
  }
  points->assign(n, tidal_tune_point_t(TIDAL_TUNE_POINT_INITIALIZER));
  for (size_t i = 0; i < n; ++i) {
    if (tidal_tune_result_point(result, i, &(*points)[i]) != TIDAL_SUCCESS) {
      return Status(TIDAL_ERR_INTERNAL, tidal_last_error());
    }
  }
  return Status();
}

void print_table(const std::vector<tidal_tune_point_t>& points, std::FILE* out) {
  std::fprintf(out, "%12s %8s %14s %16s %15s\n", "bucket", "buckets", "exposed_ms",
               "iteration_ms", "measured_ms");
  for (const auto& p : points) {
    std::fprintf(out, "%12s %8zu %14.2f %16.2f %15s%s\n",
                 format_bytes(double(p.bucket_bytes)).c_str(), p.grad_buckets,
                 p.exposed_s * 1e3, p.iteration_s * 1e3, measured_cell(p).c_str(),
                 p.recommended ? "  <- recommended" : p.model_pick ? "  <- model pick" : "");
  }
}

void print_recommendation(tidal_tune_result_t result,
                          const std::vector<tidal_tune_point_t>& points, std::FILE* out) {
  size_t bytes = 0;
  double exposed = 0, iteration = 0;
  const char* reasoning = "";
  tidal_tune_result_recommended(result, &bytes, &exposed, &iteration);
  tidal_tune_result_reasoning(result, &reasoning);
  std::fprintf(out, "\nrecommended bucket size: %s (%zu bytes; TIDAL_BUCKET_BYTES=%zu)\n",
               format_bytes(double(bytes)).c_str(), bytes, bytes);
  std::fprintf(out, "predicted: %.2f ms exposed, %.2f ms per iteration\n", exposed * 1e3,
               iteration * 1e3);
  print_measured_summary(points, out);
  std::fprintf(out, "\n%s\n", reasoning);
}

Status write_csv(const std::vector<tidal_tune_point_t>& points, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return Status(TIDAL_ERR_IO, fmt::format("cannot write {}", path));
  std::fprintf(f, "bucket_bytes,grad_buckets,exposed_ms,bwd_exposed_ms,fwd_exposed_ms,"
                  "iteration_ms,measured_ms,model_pick,recommended\n");
  for (const auto& p : points) {
    std::fprintf(f, "%zu,%zu,%.4f,%.4f,%.4f,%.4f,%s,%d,%d\n", p.bucket_bytes, p.grad_buckets,
                 p.exposed_s * 1e3, p.bwd_exposed_s * 1e3, p.fwd_exposed_s * 1e3,
                 p.iteration_s * 1e3,
                 p.measured_iteration_s < 0 ? "" : fmt::format("{:.4f}",
                                                   p.measured_iteration_s * 1e3).c_str(),
                 p.model_pick, p.recommended);
  }
  return std::fclose(f) == 0 ? Status() : Status(TIDAL_ERR_IO, fmt::format("writing {}", path));
}

Status write_plot(const std::string& csv, const std::string& png, const std::string& title,
                  bool with_measured) {
  std::string script_path = png + ".gp";
  std::FILE* f = std::fopen(script_path.c_str(), "w");
  if (!f) return Status(TIDAL_ERR_IO, fmt::format("cannot write {}", script_path));
  std::fprintf(f,
               "set terminal pngcairo size 900,560\nset output '%s'\n"
               "set datafile separator ','\nset datafile missing ''\n"
               "set key top left\nset logscale x 2\nset grid\n"
               "set title '%s'\nset xlabel 'bucket size (MiB)'\n"
               "set ylabel 'iteration time (ms)'\n"
               "plot '%s' every ::1 using ($1/1048576):6 with linespoints pt 7 ps 0.6 "
               "title 'predicted', \\\n",
               png.c_str(), title.c_str(), csv.c_str());
  if (with_measured) {
    std::fprintf(f, "     '' every ::1 using ($1/1048576):7 with points pt 5 ps 1.2 "
                    "title 'measured', \\\n");
  }
  std::fprintf(f, "     '' every ::1 using ($1/1048576):($9==1 ? $6 : 1/0) with points pt 8 "
                  "ps 2.5 lw 2 title 'recommended'\n");
  std::fclose(f);
  std::string command = fmt::format("gnuplot '{}' 2>&1", script_path);
  int rc = std::system(command.c_str());
  std::remove(script_path.c_str());
  if (rc != 0) {
    return Status(TIDAL_ERR_IO, fmt::format("gnuplot failed (exit {}) writing {}", rc, png));
  }
  return Status();
}

}  // namespace tune
}  // namespace tidal
