// tune_session.cc — profile files and live measurement over ranks.
#include "bench/tune/tune_session.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "tidal/local.h"
#include "topology/tuning/bucket_tuner.h"
#if TIDAL_HAVE_MPI
#include "tidal/mpi.h"
#endif

namespace tidal {
namespace tune {

namespace {

Status from_c(tidal_status_t code, const char* what) {
  if (code == TIDAL_SUCCESS) return Status();
  return Status(code, fmt::format("{}: {}", what, tidal_last_error()));
}

Status parse_collective(const std::string& text, tidal_tune_collective_t* out) {
  for (int c = 0; c < 3; ++c) {
    auto kind = static_cast<tidal_tune_collective_t>(c);
    if (text == collective_name(kind)) {
      *out = kind;
      return Status();
    }
  }
  return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("unknown collective \"{}\"", text));
}

struct Progress {
  const char* what;
};

void print_progress(void* user, size_t done, size_t total, size_t bytes) {
  auto* p = static_cast<Progress*>(user);
  std::fprintf(stderr, "\rtidal-tune: %s %zu/%zu (%s)        ", p->what, done, total,
               tuning::format_bytes(double(bytes)).c_str());
  if (done == total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

Status refine(tidal_comm_t comm, const SessionOptions& o, tidal_tune_result_t result);

// Measures both curves of one collective into `profile` and `out`.
Status measure_curve(tidal_comm_t comm, tidal_tune_collective_t collective,
                     tidal_schedule_t schedule, const std::vector<size_t>& sizes,
                     tidal_measure_options_t mo, tidal_comm_profile_t profile,
                     MeasuredCurve* out) {
  out->seconds.assign(sizes.size(), 0);
  out->alone.assign(sizes.size(), 0);
  out->pack.assign(sizes.size(), 0);
  mo.alone_seconds_out = out->alone.data();
  mo.pack_seconds_out = out->pack.data();
  TIDAL_RETURN_IF_ERROR(from_c(tidal_measure_comm_profile(comm, collective, schedule,
                                                          sizes.data(), sizes.size(), &mo,
                                                          out->seconds.data()), "profile"));
  TIDAL_RETURN_IF_ERROR(from_c(tidal_comm_profile_add(profile, collective, sizes.data(),
                                                      out->seconds.data(), sizes.size()),
                               "profile"));
  TIDAL_RETURN_IF_ERROR(from_c(tidal_comm_profile_add_alone(profile, collective, sizes.data(),
                                                            out->alone.data(), sizes.size()),
                               "profile"));
  for (size_t i = 0; i < sizes.size(); ++i) {  // 0: this path packs nothing on the marker
    if (out->pack[i] <= 0) continue;
    TIDAL_RETURN_IF_ERROR(from_c(
        tidal_comm_profile_add_pack(profile, collective, &sizes[i], &out->pack[i], 1), "profile"));
  }
  return Status();
}

// One rank's whole job: measure, tune, refine. Every rank gets the same
// numbers (measurements are maxima over ranks).
Status run_rank(tidal_comm_t comm, const SessionOptions& o, const tidal_tune_inputs_t& inputs,
                tidal_comm_profile_t profile, tidal_tune_result_t result, LiveMeasurement* m) {
  Progress profiling{"measuring the profile"};
  tidal_measure_options_t mo = TIDAL_MEASURE_OPTIONS_INITIALIZER;
  mo.repetitions = o.repetitions;
  // Each size's stream moves the step's gradient bytes (up to 1 GiB), so
  // the profile meets the caches as a step does.
  mo.stream_bytes = static_cast<size_t>(std::min(inputs.grad_bytes, double(size_t(1) << 30)));
  if (o.progress) {
    mo.progress = print_progress;
    mo.progress_user = &profiling;
  }
  auto schedule = static_cast<tidal_schedule_t>(o.schedule);
  if (!o.measure_profile) {
    TIDAL_RETURN_IF_ERROR(load_given_profile(o, profile));
    TIDAL_RETURN_IF_ERROR(from_c(tidal_tune_bucket_size(&inputs, profile, result), "tune"));
    return refine(comm, o, result);
  }
  m->sizes = o.profile_sizes;
  TIDAL_RETURN_IF_ERROR(
      measure_curve(comm, o.grad_collective, schedule, m->sizes, mo, profile, &m->grad));
  if (o.gather) {
    TIDAL_RETURN_IF_ERROR(
        measure_curve(comm, TIDAL_TUNE_ALL_GATHER, schedule, m->sizes, mo, profile, &m->gather));
  }
  TIDAL_RETURN_IF_ERROR(from_c(tidal_tune_bucket_size(&inputs, profile, result), "tune"));
  return refine(comm, o, result);
}

Status refine(tidal_comm_t comm, const SessionOptions& o, tidal_tune_result_t result) {
  if (!o.refine) return Status();
  Progress refining{"measuring steps"};
  tidal_tune_refine_options_t ro = TIDAL_TUNE_REFINE_OPTIONS_INITIALIZER;
  ro.sizes = o.refine_sizes.empty() ? nullptr : o.refine_sizes.data();
  ro.num_sizes = o.refine_sizes.size();
  ro.steps = o.refine_steps;
  ro.schedule = o.schedule;
  if (o.progress) {
    ro.progress = print_progress;
    ro.progress_user = &refining;
  }
  return from_c(tidal_tune_refine(comm, &ro, result), "refine");
}

// Thread ranks: each rank tunes into its own profile and result; rank 0's
// are handed back.
Status run_local(const SessionOptions& o, const tidal_tune_inputs_t& inputs,
                 tidal_comm_profile_t profile, tidal_tune_result_t result, LiveMeasurement* m) {
  std::vector<tidal_comm_t> comms(static_cast<size_t>(o.ranks));
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.schedule = o.schedule;
  TIDAL_RETURN_IF_ERROR(from_c(tidal_comm_create_local(o.ranks, &config, comms.data()),
                               "local communicators"));
  const size_t n = comms.size();
  std::vector<tidal_comm_profile_t> profiles(n, nullptr);
  std::vector<tidal_tune_result_t> results(n, nullptr);
  std::vector<LiveMeasurement> measured(n);
  std::vector<Status> status(n);
  profiles[0] = profile;
  results[0] = result;
  for (size_t r = 1; r < n; ++r) {
    tidal_comm_profile_create(&profiles[r]);
    tidal_tune_result_create(&results[r]);
  }
  std::vector<std::thread> threads;
  for (size_t r = 0; r < n; ++r) {
    SessionOptions rank_options = o;
    rank_options.progress = o.progress && r == 0;
    threads.emplace_back([&, r, rank_options] {
      status[r] = run_rank(comms[r], rank_options, inputs, profiles[r], results[r],
                           &measured[r]);
      // A failed rank stops the others rather than leaving them blocked.
      if (!status[r].ok()) tidal_comm_abort(comms[r]);
    });
  }
  for (auto& t : threads) t.join();
  for (size_t r = 1; r < n; ++r) {
    tidal_comm_profile_destroy(profiles[r]);
    tidal_tune_result_destroy(results[r]);
  }
  for (auto c : comms) tidal_comm_destroy(c);
  *m = measured[0];
  m->world = o.ranks;
  for (const auto& s : status) TIDAL_RETURN_IF_ERROR(s);
  return Status();
}

}  // namespace

const char* collective_name(tidal_tune_collective_t collective) {
  switch (collective) {
    case TIDAL_TUNE_REDUCE_SCATTER: return "reduce_scatter";
    case TIDAL_TUNE_ALL_GATHER: return "all_gather";
    case TIDAL_TUNE_ALL_REDUCE: return "all_reduce";
    default: return "unknown";
  }
}

Status load_profile(const std::string& path, tidal_comm_profile_t profile) {
  std::ifstream in(path);
  if (!in) return Status(TIDAL_ERR_IO, fmt::format("cannot read profile {}", path));
  std::string line;
  size_t points = 0;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    line = line.substr(0, line.find('#'));
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream fields(line);
    std::string name;
    if (!(fields >> name) || name == "collective") continue;  // blank or header
    tidal_tune_collective_t kind;
    double bytes = 0, seconds = 0, alone = 0, pack = 0;
    Status s = parse_collective(name, &kind);
    if (s.ok() && !(fields >> bytes >> seconds)) {
      s = Status(TIDAL_ERR_INVALID_ARGUMENT,
                 "expected \"collective,bytes,seconds[,alone_seconds[,pack_seconds]]\"");
    }
    const bool has_alone = s.ok() && !(fields >> std::ws).eof();
    if (has_alone && !(fields >> alone)) {
      s = Status(TIDAL_ERR_INVALID_ARGUMENT, "alone_seconds (4th field) is not a number");
    }
    const bool has_pack = s.ok() && has_alone && !(fields >> std::ws).eof();
    if (has_pack && (!(fields >> pack) || pack < 0)) {
      s = Status(TIDAL_ERR_INVALID_ARGUMENT, "pack_seconds (5th field) is not a number >= 0");
    }
    size_t b = bytes > 0 ? static_cast<size_t>(bytes) : 0;
    if (s.ok()) s = from_c(tidal_comm_profile_add(profile, kind, &b, &seconds, 1), "point");
    if (s.ok() && has_alone) {
      s = from_c(tidal_comm_profile_add_alone(profile, kind, &b, &alone, 1), "alone point");
    }
    if (s.ok() && pack > 0) {
      s = from_c(tidal_comm_profile_add_pack(profile, kind, &b, &pack, 1), "pack point");
    }
    if (!s.ok()) return s.with_context(fmt::format("{}:{}", path, lineno));
    ++points;
  }
  if (points == 0) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("{}: empty profile", path));
  }
  return Status();
}

Status load_given_profile(const SessionOptions& o, tidal_comm_profile_t profile) {
  if (!o.profile_path.empty()) return load_profile(o.profile_path, profile);
  return from_c(tidal_comm_profile_set_alpha_beta(profile, o.grad_collective, o.alpha_s,
                                                  o.beta_Bps), "alpha-beta profile");
}

Status save_profile(const std::string& path, tidal_tune_collective_t collective,
                    const std::vector<size_t>& sizes, const MeasuredCurve& curve) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) return Status(TIDAL_ERR_IO, fmt::format("cannot write {}", path));
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::fprintf(f, "%s,%zu,%.9g", collective_name(collective), sizes[i], curve.seconds[i]);
    if (i < curve.alone.size()) std::fprintf(f, ",%.9g", curve.alone[i]);
    if (i < curve.alone.size() && i < curve.pack.size()) std::fprintf(f, ",%.9g", curve.pack[i]);
    std::fputc('\n', f);
  }
  return std::fclose(f) == 0 ? Status() : Status(TIDAL_ERR_IO, fmt::format("writing {}", path));
}

Status run_live(const SessionOptions& o, const tidal_tune_inputs_t& inputs,
                tidal_comm_profile_t profile, tidal_tune_result_t result,
                LiveMeasurement* measured, bool* is_root) {
  *is_root = true;
  if (o.backend == "local") return run_local(o, inputs, profile, result, measured);
#if TIDAL_HAVE_MPI
  if (o.backend == "mpi") {
    tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
    config.schedule = o.schedule;
    tidal_comm_t comm = nullptr;
    TIDAL_RETURN_IF_ERROR(from_c(tidal_comm_create_mpi(MPI_COMM_WORLD, &config, &comm),
                                 "MPI communicator"));
    int rank = 0;
    tidal_comm_rank(comm, &rank);
    tidal_comm_size(comm, &measured->world);
    *is_root = rank == 0;
    SessionOptions rank_options = o;
    rank_options.progress = o.progress && rank == 0;
    Status s = run_rank(comm, rank_options, inputs, profile, result, measured);
    if (!s.ok()) tidal_comm_abort(comm);
    tidal_comm_destroy(comm);
    return s;
  }
#endif
  return Status(TIDAL_ERR_INVALID_ARGUMENT,
                fmt::format("unknown or unavailable backend \"{}\" (local{})", o.backend,
                            TIDAL_HAVE_MPI ? ", mpi" : ""));
}

}  // namespace tune
}  // namespace tidal
