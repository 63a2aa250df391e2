#include "bench/sim/fit_mode.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "bench/sim/rank_group.h"
#include "lib/core/dtype.h"
#include "lib/core/reduce.h"
#include "lib/transport/local/local_transport.h"
#include "topology/cost/alpha_beta_fit.h"
#include "topology/cost/cost_model.h"
#include "tidal/local.h"
#include "tidal/tidal.h"
#include "tidal/version.h"

namespace tidal {
namespace sim {
namespace {

using Clock = std::chrono::steady_clock;
// The machine is shared and noisy: the fastest of many short runs is the
// closest to an undisturbed one (a long run is almost surely preempted),
// for the probes and the checks alike.
constexpr int kTrials = 15;

// Back-to-back repetitions per trial: small messages get more of them, so
// more chances at a quiet moment, in about the same time as one big one.
int reps_for(size_t bytes) {
  return static_cast<int>(std::clamp<size_t>((size_t(4) << 20) / std::max<size_t>(bytes, 1),
                                             1, 20));
}

// The time of `body` on the slowest rank, at its fastest: every
// repetition is timed on its own and the figure is the least, over all
// repetitions of all trials, of the largest of the ranks' times. (The least
// of per-trial means would not do: on a busy machine a trial of twenty
// small messages almost never runs undisturbed end to end where one big
// message often does, and a larger size then times no slower than a
// smaller.) Every rank calls this in step.
template <typename Body>
Status time_slowest(RankGroup& g, int reps, double* seconds, Body body) {
  TIDAL_RETURN_IF_ERROR(body());  // warm-up (connections, page faults)
  std::vector<double> rep_seconds(static_cast<size_t>(reps));
  double best = std::numeric_limits<double>::infinity();
  for (int k = 0; k < kTrials; ++k) {
    g.barrier();
    Clock::time_point start = Clock::now();
    for (double& s : rep_seconds) {
      TIDAL_RETURN_IF_ERROR(body());
      const Clock::time_point end = Clock::now();
      s = std::chrono::duration<double>(end - start).count();
      start = end;
    }
    for (double s : rep_seconds) best = std::min(best, g.max(s));
  }
  *seconds = best;
  return Status();
}

// Probe buffers are reused from one repetition to the next, as the timed
// collectives reuse theirs (and as nccl-tests does): probe and check see
// the same cache state.
class ProbeBuffer {
 public:
  explicit ProbeBuffer(size_t bytes) : data_(std::max<size_t>(bytes, 1), 1) {}
  char* next() { return data_.data(); }

 private:
  std::vector<char> data_;
};

// One ring-shift step as the ring schedule runs it: every rank sends
// `bytes` to the next rank and receives as many from the previous one, in
// one p2p batch.
Status probe_tier(RankGroup& g, Transport& t, const std::vector<size_t>& sizes,
                  std::vector<cost::TimedTransfer>* points) {
  const int n = t.size(), me = t.rank();
  for (size_t bytes : sizes) {
    ProbeBuffer out(bytes), in(bytes);
    double s = 0;
    TIDAL_RETURN_IF_ERROR(time_slowest(g, reps_for(bytes), &s, [&] {
      P2POp ops[] = {{P2POp::kSend, out.next(), bytes, (me + 1) % n, 0},
                     {P2POp::kRecv, in.next(), bytes, (me + n - 1) % n, 0}};
      return t.p2p(ops, 2, Deadline::after(60), nullptr);
    }));
    points->push_back({static_cast<double>(bytes), s});
  }
  return Status();
}

// A rank's local work at the same time on every rank (they share the
// memory bus): copying `bytes`, or folding `bytes` of f32 from two
// buffers into a third, as the schedules' folds do (out = input (op)
// message).
Status probe_local_work(RankGroup& g, const std::vector<size_t>& sizes, bool fold,
                        std::vector<cost::TimedTransfer>* out_points) {
  std::vector<cost::TimedTransfer>& points = *out_points;
  for (size_t bytes : sizes) {
    const size_t count = bytes / sizeof(float);
    ProbeBuffer out(count * sizeof(float)), in(count * sizeof(float)),
        other(count * sizeof(float));
    double s = 0;
    TIDAL_RETURN_IF_ERROR(time_slowest(g, reps_for(bytes), &s, [&] {
      if (fold) reduce_to(out.next(), in.next(), other.next(), count, TIDAL_F32, TIDAL_SUM);
      else std::memcpy(out.next(), in.next(), count * sizeof(float));
      return Status();
    }));
    points.push_back({static_cast<double>(count * sizeof(float)), s});
  }
  return Status();
}

// A preempted probe can time a larger size no slower than a smaller one:
// the fit refuses such points and the probe runs again, this many runs in
// all, before the refusal stands.
constexpr int kProbeAttempts = 3;

struct FittedMachine {
  cost::AlphaBetaFit tier, copy, fold;
  std::vector<cost::TimedTransfer> tier_points, copy_points, fold_points;
  int tier_attempts = 0, copy_attempts = 0, fold_attempts = 0;
};

struct CheckRow {
  cost::Collective coll;
  size_t bytes = 0;     // full buffer, as the model counts it
  double ring_s = 0;    // measured ring schedule
  double native_s = 0;  // measured native collective (0: none)
  double predicted_s = 0;
};

Status run_collective(cost::Collective coll, tidal_comm_t comm, int n, std::vector<float>* a,
                      std::vector<float>* b, size_t count) {
  tidal_status_t st = TIDAL_SUCCESS;
  switch (coll) {
    case cost::Collective::kAllGather:
      st = tidal_all_gather(a->data(), b->data(), count / n, TIDAL_F32, comm, nullptr);
      break;
    case cost::Collective::kReduceScatter:
      st = tidal_reduce_scatter(a->data(), b->data(), count / n, TIDAL_F32, TIDAL_SUM, comm,
                                nullptr);
      break;
    case cost::Collective::kAllReduce:
      st = tidal_all_reduce(a->data(), b->data(), count, TIDAL_F32, TIDAL_SUM, comm, nullptr);
      break;
  }
  if (st == TIDAL_SUCCESS) return Status();
  return Status(st, fmt::format("{}: {}", cost::collective_name(coll), tidal_last_error()));
}

Status time_collective(RankGroup& g, tidal_comm_t comm, cost::Collective coll, size_t bytes,
                       double* seconds) {
  const int n = g.size();
  const size_t count = bytes / sizeof(float) / n * n;  // divisible by the world
  std::vector<float> a(count, 1.0f), b(count);
  return time_slowest(g, reps_for(bytes), seconds,
                      [&] { return run_collective(coll, comm, n, &a, &b, count); });
}

Status check_model(RankGroup& g, Transport& t, const FitComms& comms,
                   const FittedMachine& fitted, const std::vector<size_t>& sizes,
                   std::vector<CheckRow>* rows) {
  cost::Machine machine;
  machine.dims.push_back({g.size(), fitted.tier.tier});
  machine.copy_Bps = fitted.copy.tier.beta_Bps;
  machine.reduce_Bps = fitted.fold.tier.beta_Bps;
  machine.fold_on_receive = t.folds_on_receive();
  for (cost::Collective coll : {cost::Collective::kAllGather, cost::Collective::kReduceScatter,
                                cost::Collective::kAllReduce}) {
    for (size_t bytes : sizes) {
      CheckRow row{coll, bytes};
      TIDAL_RETURN_IF_ERROR(time_collective(g, comms.ring, coll, bytes, &row.ring_s));
      if (comms.native) {
        TIDAL_RETURN_IF_ERROR(time_collective(g, comms.native, coll, bytes, &row.native_s));
      }
      TIDAL_RETURN_IF_ERROR(cost::predict(machine, cost::Algorithm::kRing, coll,
                                          static_cast<double>(bytes), &row.predicted_s));
      rows->push_back(row);
    }
  }
  return Status();
}

void print_report(const FitOptions& o, int n, const FittedMachine& fitted,
                  const std::vector<CheckRow>& rows) {
  const cost::AlphaBetaFit& fit = fitted.tier;
  const std::vector<cost::TimedTransfer>& points = fitted.tier_points;
  fmt::print("# tidal-sim --fit: backend {}, {} ranks on this machine (one tier)\n",
             o.backend, n);
  fmt::print("# ring-shift probe (every rank sends to the next, receives from the previous)\n");
  fmt::print("#{:>11} {:>12} {:>12}\n", "bytes", "step(us)", "fit(us)");
  for (const auto& p : points) {
    fmt::print("{:>12.0f} {:>12.2f} {:>12.2f}\n", p.bytes, p.seconds * 1e6,
               (fit.tier.alpha_s + p.bytes / fit.tier.beta_Bps) * 1e6);
  }
  fmt::print("# fitted tier: alpha = {:.2f} us, beta = {:.2f} GB/s per rank (r^2 = {:.4f}, "
             "worst residual {:.1f}%)\n", fit.tier.alpha_s * 1e6, fit.tier.beta_Bps / 1e9,
             fit.r_squared, fit.max_rel_error * 100);
  if (fitted.tier_attempts + fitted.copy_attempts + fitted.fold_attempts > 3) {
    fmt::print("# noisy machine: probes re-run (send/recv {}, copy {}, fold {} runs)\n",
               fitted.tier_attempts, fitted.copy_attempts, fitted.fold_attempts);
  }
  fmt::print("# local work on every rank at once (GB/s at each size, then the fit)\n");
  for (size_t i = 0; i < fitted.copy_points.size(); ++i) {
    const auto& c = fitted.copy_points[i];
    const auto& f = fitted.fold_points[i];
    fmt::print("#   {:>10.0f} bytes: copy {:6.2f}, f32 sum fold {:6.2f}\n", c.bytes,
               c.bytes / c.seconds / 1e9, f.bytes / f.seconds / 1e9);
  }
  fmt::print("# fitted: copy {:.2f} GB/s, fold {:.2f} GB/s (worst residuals {:.1f}%, {:.1f}%)\n",
             fitted.copy.tier.beta_Bps / 1e9, fitted.fold.tier.beta_Bps / 1e9,
             fitted.copy.max_rel_error * 100, fitted.fold.max_rel_error * 100);
  fmt::print("# ring schedule: measured vs the model's prediction from the fitted tier\n");
  fmt::print("#{:>15} {:>10} {:>12} {:>12} {:>8} {:>12}\n", "collective", "bytes",
             "ring(ms)", "model(ms)", "error", "native(ms)");
  for (const CheckRow& r : rows) {
    const double err = (r.predicted_s - r.ring_s) / r.ring_s * 100;
    fmt::print("{:>16} {:>10} {:>12.3f} {:>12.3f} {:>7.1f}% {:>12}\n",
               cost::collective_name(r.coll), r.bytes, r.ring_s * 1e3, r.predicted_s * 1e3,
               err, r.native_s > 0 ? fmt::format("{:.3f}", r.native_s * 1e3) : "-");
  }
}

Status write_csv(const std::string& path, const FitOptions& o, int n,
                 const FittedMachine& fitted, const std::vector<CheckRow>& rows) {
  const cost::AlphaBetaFit& fit = fitted.tier;
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return Status(TIDAL_ERR_IO, fmt::format("cannot write {}", path));
  fmt::print(f, "backend,ranks,alpha_us,beta_GBps,copy_GBps,fold_GBps,collective,bytes,"
             "ring_ms,model_ms,error_pct,native_ms\n");
  for (const CheckRow& r : rows) {
    fmt::print(f, "{},{},{:.3f},{:.3f},{:.3f},{:.3f},{},{},{:.4f},{:.4f},{:.2f},{:.4f}\n",
               o.backend, n, fit.tier.alpha_s * 1e6, fit.tier.beta_Bps / 1e9,
               fitted.copy.tier.beta_Bps / 1e9, fitted.fold.tier.beta_Bps / 1e9,
               cost::collective_name(r.coll),
               r.bytes, r.ring_s * 1e3, r.predicted_s * 1e3,
               (r.predicted_s - r.ring_s) / r.ring_s * 100, r.native_s * 1e3);
  }
  std::fclose(f);
  return Status();
}

// What every rank runs.
Status fit_on_rank(RankGroup& g, Transport& t, const FitComms& comms, const FitOptions& o) {
  FittedMachine fitted;
  auto tier = [&](std::vector<cost::TimedTransfer>* p) { return probe_tier(g, t, o.fit_sizes, p); };
  auto copy = [&](std::vector<cost::TimedTransfer>* p) {
    return probe_local_work(g, o.check_sizes, false, p);
  };
  auto fold = [&](std::vector<cost::TimedTransfer>* p) {
    return probe_local_work(g, o.check_sizes, true, p);
  };
  struct Step {
    const char* name;
    cost::Probe probe;
    cost::AlphaBetaFit* fit;
    std::vector<cost::TimedTransfer>* points;
    int* attempts;
  } steps[] = {
      {"send/recv probe", tier, &fitted.tier, &fitted.tier_points, &fitted.tier_attempts},
      {"copy probe", copy, &fitted.copy, &fitted.copy_points, &fitted.copy_attempts},
      {"reduction probe", fold, &fitted.fold, &fitted.fold_points, &fitted.fold_attempts},
  };
  for (const Step& step : steps) {
    const Status s =
        cost::probe_and_fit(step.probe, kProbeAttempts, step.fit, step.points, step.attempts);
    if (!s.ok()) return s.with_context(fmt::format("{} ({} runs)", step.name, *step.attempts));
  }
  std::vector<CheckRow> rows;
  TIDAL_RETURN_IF_ERROR(check_model(g, t, comms, fitted, o.check_sizes, &rows));
  if (g.rank() != 0) return Status();
  print_report(o, g.size(), fitted, rows);
  if (!o.csv.empty()) TIDAL_RETURN_IF_ERROR(write_csv(o.csv, o, g.size(), fitted, rows));
  return Status();
}

Status fit_local(const FitOptions& o) {
  const int n = o.ranks;
  if (n < 2 || n > 64) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("--ranks {} must be in [2, 64] for the local backend", n));
  }
  std::vector<tidal_comm_t> ring(n), native(n);
  TIDAL_RETURN_IF_ERROR(create_local_comms(n, &ring, &native));
  auto transports = LocalTransport::create_group(n);
  ThreadGroup group(n);
  std::vector<Status> results(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      ThreadRank me(&group, r);
      results[r] = fit_on_rank(me, *transports[r], FitComms{ring[r], native[r]}, o);
      if (!results[r].ok()) group.abandon();
    });
  }
  for (auto& th : threads) th.join();
  for (int r = 0; r < n; ++r) {
    tidal_comm_destroy(ring[r]);
    tidal_comm_destroy(native[r]);
  }
  for (const Status& s : results) TIDAL_RETURN_IF_ERROR(s);
  return Status();
}

}  // namespace

Status run_fit(const FitOptions& o) {
  if (o.fit_sizes.size() < 2 || o.check_sizes.size() < 2) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  "--fit needs at least two --fit-sizes and two --check-sizes (the copy and "
                  "reduction rates are fitted on the check sizes)");
  }
  if (o.backend == "local") return fit_local(o);
  if (o.backend == "mpi" || o.backend == "ucx") {
    std::unique_ptr<RankGroup> group;
    std::unique_ptr<Transport> transport;
    FitComms comms;
    TIDAL_RETURN_IF_ERROR(create_process_rank(o.backend, &group, &transport, &comms));
    Status s = fit_on_rank(*group, *transport, comms, o);
    if (!s.ok()) s = s.with_context(fmt::format("rank {}", group->rank()));
    destroy_comms(comms);
    return s;
  }
  return Status(TIDAL_ERR_INVALID_ARGUMENT,
                fmt::format("--backend '{}' (local, mpi, ucx)", o.backend));
}

}  // namespace sim
}  // namespace tidal
