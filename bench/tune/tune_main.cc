// tidal-tune — recommends a bucket size for a model, a backward time and a
// communicator (docs/tuning.md).
//
//   tidal-tune --model dit-b --bwd-ms 200 --backend local -t 4
//   mpiexec -n 4 tidal-tune --model dit-xl --bwd-ms 850 --backend mpi --zero 3 --fwd-ms 400
//   tidal-tune --model-bytes 10G --bwd-ms 850 --profile profile.csv
//   tidal-tune --model model.txt --bwd-ms 120 --alpha-us 30 --beta-GBps 12
//
// Prints a table (bucket size, predicted exposed and iteration ms, measured
// where measured), the recommendation and its reasoning; writes a CSV and a
// gnuplot PNG. Exit status: 0 success, 2 bad input, 1 a failed measurement
// or output.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/tune/tune_model.h"
#include "bench/tune/tune_report.h"
#include "bench/tune/tune_scaling.h"
#include "bench/tune/tune_session.h"
#include "lib/core/config.h"
#include "tidal/schedule.h"
#include "topology/tuning/bucket_tuner.h"
#if TIDAL_HAVE_MPI
#include <mpi.h>
#endif

namespace {

using tidal::Status;
namespace tune = tidal::tune;

struct Options {
  std::string model, model_bytes, dtype = "bf16";
  double bwd_ms = 0, fwd_ms = -1;
  int zero = 2;
  std::string schedule = "native";
  std::string profile, save_profile;
  double alpha_us = -1, beta_GBps = -1;
  std::string min_bucket = "256K", max_bucket = "0", first_bucket = "1M";
  int points_per_octave = 1, prefetch = 2, inflight = 1;
  bool uniform = false, no_refine = false, sweep = false, no_plot = false, quiet = false;
  std::string profile_sizes = "256K,1M,4M,16M,64M,256M";
  std::string refine_sizes;
  tune::SessionOptions session;
  std::string csv = "tidal-tune.csv", plot = "tidal-tune.png";
  bool backend_given = false;
  bool simulate = false;
  int max_gpus = 1024;
  tidal::cost::Cluster cluster;
  double nic_Gbps = 400, intra_GBps = 450, intra_alpha_us = 2, inter_alpha_us = 5;
};

// A validated run: inputs of the model and how to get the profile.
struct Plan {
  tune::ModelSpec spec;
  double phi = 0;
  std::vector<tidal::tuning::GradLayer> layers;
  tidal_tune_inputs_t inputs = TIDAL_TUNE_INPUTS_INITIALIZER;
  std::vector<double> layer_bytes, layer_seconds;
  bool live = false;
};

void add_options(CLI::App& app, Options& o) {
  app.add_option("--model", o.model, "dit-s | dit-b | dit-xl | FILE (\"name params [weight]\")");
  app.add_option("--model-bytes", o.model_bytes, "gradient bytes per step instead (e.g. 10G)");
  app.add_option("--dtype", o.dtype, "gradient dtype of --model: f32 | bf16")->capture_default_str();
  app.add_option("--bwd-ms", o.bwd_ms, "backward compute time of one step (ms)")->required();
  app.add_option("--fwd-ms", o.fwd_ms, "forward compute time (ms; default half the backward)");
  app.add_option("--zero", o.zero, "ZeRO stage 1 (all-reduce), 2 (reduce-scatter), 3 (+ "
                 "forward all-gather prefetch)")->capture_default_str();
  app.add_option("--schedule", o.schedule, "native | ring | torus2d | ndring | auto")
      ->capture_default_str();
  app.add_option("--profile", o.profile, "profile CSV (collective,bytes,seconds[,alone_seconds[,pack_seconds]]) instead of "
                 "measuring");
  app.add_option("--save-profile", o.save_profile, "append the measured profile to this CSV");
  app.add_option("--alpha-us", o.alpha_us, "alpha-beta profile: latency per bucket (us)");
  app.add_option("--beta-GBps", o.beta_GBps, "alpha-beta profile: bandwidth (GB/s)");
  app.add_option("--backend", o.session.backend, "live measurement: local | mpi")
      ->capture_default_str();
  app.add_option("-t,--ranks", o.session.ranks, "local thread ranks")->capture_default_str();
  app.add_option("--profile-sizes", o.profile_sizes, "sizes measured for the profile")
      ->capture_default_str();
  app.add_option("--reps", o.session.repetitions, "repetitions per profile size")
      ->capture_default_str();
  app.add_option("--min-bucket", o.min_bucket, "smallest candidate")->capture_default_str();
  app.add_option("--max-bucket", o.max_bucket, "largest candidate (0: phi)")->capture_default_str();
  app.add_option("--points-per-octave", o.points_per_octave, "candidates per doubling")
      ->capture_default_str();
  app.add_option("--first-bucket", o.first_bucket, "smaller first bucket (0: none)")
      ->capture_default_str();
  app.add_option("--prefetch", o.prefetch, "ZeRO-3 all-gather prefetch depth")->capture_default_str();
  app.add_option("--inflight", o.inflight, "bucket collectives the transport overlaps")
      ->capture_default_str();
  app.add_flag("--uniform", o.uniform, "uniform gradient production (ignore the layer profile)");
  app.add_flag("--no-refine", o.no_refine, "do not measure steps with the grad reducer");
  app.add_flag("--sweep", o.sweep, "measure every candidate (and 25 MiB), not just the pick's "
               "neighbours");
  app.add_option("--refine-sizes", o.refine_sizes, "measure exactly these bucket sizes");
  app.add_option("--steps", o.session.refine_steps, "rounds of measured steps (one step of every size each; median per size)")->capture_default_str();
  app.add_option("--csv", o.csv, "CSV output")->capture_default_str();
  app.add_option("--plot", o.plot, "PNG output (gnuplot)")->capture_default_str();
  app.add_flag("--no-plot", o.no_plot, "do not run gnuplot");
  app.add_flag("--quiet", o.quiet, "no progress line");
  app.add_flag("--simulate", o.simulate, "tune at scale on cost-model profiles (ring vs "
               "torus2d, 8-GPU nodes up to --max-gpus); writes --csv and --plot");
  app.add_option("--max-gpus", o.max_gpus, "largest GPU count of --simulate")
      ->capture_default_str();
  app.add_option("--gpus-per-node", o.cluster.gpus_per_node, "--simulate: GPUs per node")
      ->capture_default_str();
  app.add_option("--nic-Gbps", o.nic_Gbps, "--simulate: one NIC (Gb/s)")->capture_default_str();
  app.add_option("--nics-per-node", o.cluster.nics_per_node, "--simulate: NICs per node")
      ->capture_default_str();
  app.add_option("--intra-GBps", o.intra_GBps, "--simulate: NVLink bandwidth per GPU (GB/s)")
      ->capture_default_str();
  app.add_option("--intra-alpha-us", o.intra_alpha_us, "--simulate: intra-node hop latency")
      ->capture_default_str();
  app.add_option("--inter-alpha-us", o.inter_alpha_us, "--simulate: inter-node hop latency")
      ->capture_default_str();
}

Status bad(const std::string& message) { return Status(TIDAL_ERR_INVALID_ARGUMENT, message); }

Status resolve_model(const Options& o, Plan* plan) {
  if (o.model.empty() == o.model_bytes.empty()) {
    return bad("give exactly one of --model and --model-bytes");
  }
  if (o.dtype != "f32" && o.dtype != "bf16") return bad("--dtype must be f32 or bf16");
  if (!o.model_bytes.empty()) {
    size_t bytes = 0;
    TIDAL_RETURN_IF_ERROR(tidal::parse_bytes(o.model_bytes, &bytes));
    plan->phi = double(bytes);
    plan->spec.name = tidal::tuning::format_bytes(plan->phi);
  } else {
    Status s = tune::dit_model(o.model, &plan->spec);
    if (!s.ok()) TIDAL_RETURN_IF_ERROR(tune::load_model_file(o.model, &plan->spec));
    double bytes_per_param = o.dtype == "f32" ? 4 : 2;
    plan->phi = plan->spec.total_params() * bytes_per_param;
    if (!o.uniform) plan->layers = tune::grad_layers(plan->spec, bytes_per_param);
  }
  if (plan->phi <= 0) return bad("phi (gradient bytes per step) must be > 0");
  return Status();
}

Status fill_inputs(const Options& o, Plan* plan) {
  if (!(o.bwd_ms > 0)) return bad(fmt::format("--bwd-ms must be > 0, got {}", o.bwd_ms));
  double fwd_ms = o.fwd_ms < 0 ? o.bwd_ms / 2 : o.fwd_ms;
  if (o.fwd_ms == 0 && o.zero == 3) return bad("--zero 3 needs --fwd-ms > 0");
  if (o.zero < 1 || o.zero > 3) return bad("--zero must be 1, 2 or 3");
  tidal_tune_inputs_t& in = plan->inputs;
  in.grad_bytes = plan->phi;
  in.grad_collective = o.zero == 1 ? TIDAL_TUNE_ALL_REDUCE : TIDAL_TUNE_REDUCE_SCATTER;
  in.bwd_s = o.bwd_ms / 1e3;
  in.fwd_s = fwd_ms / 1e3;
  in.gather_bytes = o.zero == 3 ? plan->phi : 0;
  in.prefetch_depth = o.prefetch;
  in.max_inflight = o.inflight;
  in.points_per_octave = o.points_per_octave;
  TIDAL_RETURN_IF_ERROR(tidal::parse_bytes(o.first_bucket, &in.first_bucket_bytes));
  TIDAL_RETURN_IF_ERROR(tidal::parse_bytes(o.min_bucket, &in.min_bucket_bytes));
  TIDAL_RETURN_IF_ERROR(tidal::parse_bytes(o.max_bucket, &in.max_bucket_bytes));
  for (const auto& l : plan->layers) {
    plan->layer_bytes.push_back(l.bytes);
    plan->layer_seconds.push_back(l.seconds);
  }
  in.layer_grad_bytes = plan->layer_bytes.data();
  in.layer_bwd_s = plan->layer_seconds.data();
  in.num_layers = plan->layers.size();
  return Status();
}

Status fill_session(Options& o, Plan* plan) {
  tune::SessionOptions& s = o.session;
  s.measure_profile = o.profile.empty() && o.alpha_us < 0 && o.beta_GBps < 0;
  // A given profile runs offline unless a backend is named for refinement.
  plan->live = !o.simulate && (s.measure_profile || (o.backend_given && !o.no_refine));
  s.profile_path = o.profile;
  s.alpha_s = o.alpha_us * 1e-6;
  s.beta_Bps = o.beta_GBps * 1e9;
  if (!o.profile.empty() && (o.alpha_us >= 0 || o.beta_GBps >= 0)) {
    return bad("give --profile or --alpha-us/--beta-GBps, not both");
  }
  if ((o.alpha_us >= 0) != (o.beta_GBps > 0)) {
    return bad("an alpha-beta profile needs --alpha-us >= 0 and --beta-GBps > 0");
  }
  int schedule = 0;
  TIDAL_RETURN_IF_ERROR(tidal::parse_schedule(o.schedule, &schedule));
  s.schedule = schedule;
  s.grad_collective = static_cast<tidal_tune_collective_t>(plan->inputs.grad_collective);
  s.gather = o.zero == 3;
  s.refine = !o.no_refine;
  s.progress = !o.quiet;
  if (s.ranks < 1 || s.repetitions < 1 || s.refine_steps < 1) {
    return bad("-t, --reps and --steps must be >= 1");
  }
  std::vector<size_t> sizes;
  TIDAL_RETURN_IF_ERROR(tidal::parse_bytes_list(o.profile_sizes, &sizes));
  // Nothing larger than the largest bucket the model may pick is needed;
  // that bucket itself is.
  double largest = plan->inputs.max_bucket_bytes > 0 ? double(plan->inputs.max_bucket_bytes)
                                                     : plan->phi;
  for (size_t b : sizes) {
    if (double(b) < largest) s.profile_sizes.push_back(b);
  }
  s.profile_sizes.push_back(static_cast<size_t>(largest));
  if (sizes.empty()) return bad("--profile-sizes is empty");
  TIDAL_RETURN_IF_ERROR(tidal::parse_bytes_list(o.refine_sizes, &s.refine_sizes));
  return Status();
}

// --sweep: every candidate the model evaluates, and DDP's 25 MiB.
Status sweep_sizes(const Plan& plan, std::vector<size_t>* sizes) {
  tidal::tuning::StepInputs in;
  in.grad_bytes = plan.phi;
  in.gather_bytes = plan.inputs.gather_bytes;
  tidal::tuning::TuneOptions to;
  to.min_bucket_bytes = double(plan.inputs.min_bucket_bytes);
  to.max_bucket_bytes = double(plan.inputs.max_bucket_bytes);
  to.points_per_octave = plan.inputs.points_per_octave;
  std::vector<double> candidates;
  TIDAL_RETURN_IF_ERROR(tidal::tuning::candidate_sizes(in, to, &candidates));
  for (double c : candidates) sizes->push_back(static_cast<size_t>(c));
  if (plan.phi > double(size_t(25) << 20)) sizes->push_back(size_t(25) << 20);
  return Status();
}

}  // namespace

namespace {

Status save_measured(const Options& o, const tune::LiveMeasurement& m) {
  if (o.save_profile.empty()) return Status();
  TIDAL_RETURN_IF_ERROR(
      tune::save_profile(o.save_profile, o.session.grad_collective, m.sizes, m.grad));
  if (m.gather.empty()) return Status();
  return tune::save_profile(o.save_profile, TIDAL_TUNE_ALL_GATHER, m.sizes, m.gather);
}

void print_header(const Options& o, const Plan& plan, const tune::LiveMeasurement& m) {
  std::printf("# tidal-tune: %s, phi %s (%zu layers), backward %.1f ms, forward %.1f ms, "
              "ZeRO-%d\n", plan.spec.name.c_str(),
              tidal::tuning::format_bytes(plan.phi).c_str(), plan.layers.size(), o.bwd_ms,
              plan.inputs.fwd_s * 1e3, o.zero);
  if (plan.live) {
    std::printf("# %s on %s, %d ranks, schedule %s\n",
                o.session.measure_profile ? "profile and steps measured" : "steps measured",
                o.session.backend.c_str(), m.world, o.schedule.c_str());
  }
  if (plan.live && o.session.measure_profile) {
    // measured: said above
  } else if (!o.profile.empty()) {
    std::printf("# profile from %s\n", o.profile.c_str());
  } else {
    std::printf("# alpha-beta profile: %.1f us + bytes / %.2f GB/s\n", o.alpha_us, o.beta_GBps);
  }
}

Status report(const Options& o, const Plan& plan, const tune::LiveMeasurement& m,
              tidal_tune_result_t result) {
  std::vector<tidal_tune_point_t> points;
  TIDAL_RETURN_IF_ERROR(tune::read_points(result, &points));
  print_header(o, plan, m);
  tune::print_table(points, stdout);
  tune::print_recommendation(result, points, stdout);
  TIDAL_RETURN_IF_ERROR(save_measured(o, m));
  TIDAL_RETURN_IF_ERROR(tune::write_csv(points, o.csv));
  std::printf("\nwrote %s", o.csv.c_str());
  if (!o.no_plot) {
    std::string title = fmt::format("{}: backward {:.0f} ms, ZeRO-{}", plan.spec.name,
                                    o.bwd_ms, o.zero);
    bool measured = std::any_of(points.begin(), points.end(), [](const tidal_tune_point_t& p) {
      return p.measured_iteration_s >= 0;
    });
    TIDAL_RETURN_IF_ERROR(tune::write_plot(o.csv, o.plot, title, measured));
    std::printf(", %s", o.plot.c_str());
  }
  std::printf("\n");
  return Status();
}

// --simulate: the tuner on cost-model profiles from one node to max_gpus.
int simulate(const Options& o, const Plan& plan) {
  tidal::cost::Cluster c = o.cluster;
  c.nic_beta_Bps = o.nic_Gbps * 1e9 / 8;
  c.intra_beta_Bps = o.intra_GBps * 1e9;
  c.intra_alpha_s = o.intra_alpha_us * 1e-6;
  c.inter_alpha_s = o.inter_alpha_us * 1e-6;
  tidal::tuning::StepInputs in;
  in.grad_bytes = plan.phi;
  in.bwd_s = plan.inputs.bwd_s;
  in.fwd_s = plan.inputs.fwd_s;
  in.first_bucket_bytes = double(plan.inputs.first_bucket_bytes);
  in.grad_layers = plan.layers;
  std::vector<tune::ScalingRow> rows;
  Status s = tune::scaling_sweep(c, in, o.max_gpus, &rows);
  if (s.ok()) {
    std::printf("# tidal-tune --simulate: %s, phi %s, backward %.1f ms; %d GPUs/node, "
                "NVLink %.0f GB/s, %d x %.0f Gb/s NICs per node\n", plan.spec.name.c_str(),
                tidal::tuning::format_bytes(plan.phi).c_str(), o.bwd_ms, c.gpus_per_node,
                o.intra_GBps, c.nics_per_node, o.nic_Gbps);
    tune::print_scaling(rows, stdout);
    s = tune::write_scaling_csv(rows, o.csv);
  }
  if (s.ok() && !o.no_plot) {
    s = tune::write_scaling_plot(o.csv, o.plot, fmt::format("{}: best bucket vs GPUs "
                                                            "(backward {:.0f} ms)",
                                                            plan.spec.name, o.bwd_ms));
  }
  if (!s.ok()) {
    std::fprintf(stderr, "tidal-tune: %s\n", s.message().c_str());
    return s.code() == TIDAL_ERR_INVALID_ARGUMENT ? 2 : 1;
  }
  return 0;
}

// Measures (or not) and tunes. Returns the exit status.
int run(Options& o, Plan& plan) {
  tidal_comm_profile_t profile = nullptr;
  tidal_tune_result_t result = nullptr;
  tidal_comm_profile_create(&profile);
  tidal_tune_result_create(&result);
  tune::LiveMeasurement measured;
  bool is_root = true;
  Status s;
  int failure_exit = 1;
  if (plan.live) {
    if (o.sweep) s = sweep_sizes(plan, &o.session.refine_sizes);
    if (s.ok()) s = tune::run_live(o.session, plan.inputs, profile, result, &measured, &is_root);
  } else {
    s = tune::load_given_profile(o.session, profile);
    if (s.ok() && tidal_tune_bucket_size(&plan.inputs, profile, result) != TIDAL_SUCCESS) {
      s = bad(tidal_last_error());
    }
    failure_exit = 2;  // without measurement every failure is the input's
  }
  if (s.ok() && is_root) s = report(o, plan, measured, result);
  tidal_tune_result_destroy(result);
  tidal_comm_profile_destroy(profile);
  if (!s.ok()) {
    std::fprintf(stderr, "tidal-tune: %s\n", s.message().c_str());
    return s.code() == TIDAL_ERR_INVALID_ARGUMENT ? 2 : failure_exit;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidal-tune: the bucket size that hides gradient communication under backward"};
  Options o;
  add_options(app, o);
  CLI11_PARSE(app, argc, argv);
  o.backend_given = app.count("--backend") > 0;
  Plan plan;
  Status s = resolve_model(o, &plan);
  if (s.ok()) s = fill_inputs(o, &plan);
  if (s.ok()) s = fill_session(o, &plan);
  if (!s.ok()) {
    std::fprintf(stderr, "tidal-tune: %s\n", s.message().c_str());
    return 2;
  }
  if (o.simulate) return simulate(o, plan);
  bool use_mpi = plan.live && o.session.backend == "mpi";
#if TIDAL_HAVE_MPI
  if (use_mpi) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  }
#endif
  int rc = run(o, plan);
#if TIDAL_HAVE_MPI
  if (use_mpi) MPI_Finalize();
#endif
  (void)use_mpi;
  return rc;
}
