// tidal-bench-rotation — does the ND-ring rotation of ring attention hide
// its transfers behind the attention compute? For each block size, in turn
// (A B A B ...), every rank runs
//   A: a cycle of the rotation with no compute (the transfers alone), and
//   B: the same cycle with a synthetic attention step of `t` per block,
//   C: the compute alone (the same sleeps, no transfers),
// where t = A's median / (steps - 1), the time of one of its steps - 1
// transfers (compute and communication balanced, the hardest case to
// hide), unless --compute-us sets it. The compute sleeps, so the CPU is
// free as it is while a GPU computes. A cycle can hide at most steps - 1
// transfers (the last step's compute has none left to hide), and its start
// (copying the own block, P) is serial, so the ideal with perfect double
// buffering is
//   I = P + (steps - 1) * max(C / steps, (A - P) / (steps - 1)) + C / steps,
// serial is S = A + C, and the bench reports the share of the possible
// overlap achieved, (S - B) / (S - I): 1 = ideal, 0 = nothing hidden.
//
//   tidal-bench-rotation --ranks 8 --topo 2x4 --block 256K,1M,4M
//   mpiexec -n 4 tidal-bench-rotation --backend mpi --topo 2x2
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/schedules/bench_ranks.h"
#include "lib/core/config.h"
#include "tidal/ring_attention.h"
#include "tidal/tidal.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Cli {
  std::string backend = "local", topo = "2x4", blocks = "256K,1M,4M";
  int ranks = 8, reps = 9;
  double compute_us = -1;  // < 0: balanced (the transfers' own time per step)
  bool borrow = false;     // tidal_ring_rotation_start_borrowed: no copy at the start
};

struct Row {
  size_t bytes = 0;
  int steps = 0;
  double comm_s = 0, compute_s = 0, overlapped_s = 0;
  double start_s = 0;  // tidal_ring_rotation_start: copies the own block, serial
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

tidal_status_t slowest(tidal_comm_t comm, double mine, double* out) {
  return tidal_all_reduce(&mine, out, 1, TIDAL_F64, TIDAL_MAX, comm, nullptr);
}

tidal_status_t barrier(tidal_comm_t comm) {
  int32_t one = 1, all = 0;
  return tidal_all_reduce(&one, &all, 1, TIDAL_I32, TIDAL_SUM, comm, nullptr);
}

// One cycle, `step_compute` of sleep on each block, with the rotation's
// transfers or (rot == nullptr) without: the slowest rank's seconds. The
// compute alone is timed too, not taken as steps x t: a sleep overshoots
// by the timer's slack.
tidal_status_t cycle(tidal_comm_t comm, tidal_ring_rotation_t rot, const std::vector<float>& mine,
                     bool borrow, int steps, double step_compute, double* seconds,
                     double* start_seconds = nullptr) {
  tidal_status_t rc = barrier(comm);
  if (rc != TIDAL_SUCCESS) return rc;
  const auto t0 = Clock::now();
  if (rot) {
    rc = borrow ? tidal_ring_rotation_start_borrowed(rot, mine.data())
                : tidal_ring_rotation_start(rot, mine.data());
  }
  const double started = std::chrono::duration<double>(Clock::now() - t0).count();
  for (int s = 0; rc == TIDAL_SUCCESS && s < steps; ++s) {
    if (rot && s > 0) rc = tidal_ring_rotation_wait(rot);
    const void* block = nullptr;
    if (rot && rc == TIDAL_SUCCESS) {
      rc = tidal_ring_rotation_current(rot, &block, nullptr, nullptr);
    }
    if (rc == TIDAL_SUCCESS && step_compute > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(step_compute));
    }
  }
  if (rc != TIDAL_SUCCESS) return rc;
  rc = slowest(comm, std::chrono::duration<double>(Clock::now() - t0).count(), seconds);
  if (rc != TIDAL_SUCCESS || !start_seconds) return rc;
  return slowest(comm, started, start_seconds);
}

tidal_status_t run_rank(tidal_comm_t comm, const Cli& cli, const std::vector<size_t>& sizes,
                        std::vector<Row>* rows) {
  for (size_t bytes : sizes) {
    const size_t count = std::max<size_t>(bytes / sizeof(float), 1);
    tidal_ring_rotation_t rot = nullptr;
    tidal_status_t rc = tidal_ring_rotation_create(comm, nullptr, 0, count, TIDAL_F32,
                                                   TIDAL_ROTATE_BLOCKS, &rot);
    if (rc != TIDAL_SUCCESS) return rc;
    int steps = 0;
    tidal_ring_rotation_steps(rot, &steps);
    std::vector<float> mine(count, 1.0f);
    double warm = 0;
    rc = cycle(comm, rot, mine, cli.borrow, steps, 0, &warm);  // connections, first touches
    // The compute per step: given, or the transfers' own time per step.
    std::vector<double> comm_alone;
    for (int i = 0; rc == TIDAL_SUCCESS && i < 3; ++i) {
      double t = 0;
      rc = cycle(comm, rot, mine, cli.borrow, steps, 0, &t);
      comm_alone.push_back(t);
    }
    const double step_compute = cli.compute_us >= 0 ? cli.compute_us * 1e-6
                                                    : median(comm_alone) / std::max(steps - 1, 1);
    std::vector<double> alone, computing, overlapped, starts;
    for (int i = 0; rc == TIDAL_SUCCESS && i < cli.reps; ++i) {  // A C B A C B ...
      double a = 0, b = 0, c = 0, st = 0;
      rc = cycle(comm, rot, mine, cli.borrow, steps, 0, &a, &st);
      starts.push_back(st);
      if (rc == TIDAL_SUCCESS) rc = cycle(comm, nullptr, mine, false, steps, step_compute, &c);
      if (rc == TIDAL_SUCCESS) rc = cycle(comm, rot, mine, cli.borrow, steps, step_compute, &b);
      alone.push_back(a);
      computing.push_back(c);
      overlapped.push_back(b);
    }
    tidal_ring_rotation_destroy(rot);
    if (rc != TIDAL_SUCCESS) return rc;
    rows->push_back(Row{count * sizeof(float), steps, median(alone), median(computing),
                        median(overlapped), median(starts)});
  }
  return TIDAL_SUCCESS;
}

void print_rows(const Cli& cli, int n, const std::vector<Row>& rows) {
  std::printf("# ND-ring rotation (blocks%s), %d ranks (%s backend), layout %s; medians of %d "
              "interleaved cycles, slowest rank\n", cli.borrow ? ", borrowed start" : "", n,
              cli.backend.c_str(), cli.topo.c_str(), cli.reps);
  std::printf("| block | steps | transfers alone A (ms) | of which start P (ms) | compute alone "
              "C (ms) | with compute B (ms) | ideal I (ms) | serial A+C (ms) | overlap achieved "
              "(S-B)/(S-I) |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    const double per_step = r.compute_s / r.steps;
    const int transfers = std::max(r.steps - 1, 1);
    const double moving = std::max(r.comm_s - r.start_s, 0.0);
    const double ideal =
        r.start_s + transfers * std::max(per_step, moving / transfers) + per_step;
    const double serial = r.comm_s + r.compute_s;
    const double achieved = serial > ideal ? (serial - r.overlapped_s) / (serial - ideal) : 1.0;
    std::printf("| %zu | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f |\n", r.bytes,
                r.steps, r.comm_s * 1e3, r.start_s * 1e3, r.compute_s * 1e3,
                r.overlapped_s * 1e3, ideal * 1e3, serial * 1e3, achieved);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli;
  CLI::App app{"ND-ring rotation: transfers hidden behind compute (docs/benchmarks/schedules.md)"};
  app.add_option("--backend", cli.backend, "local or mpi")->capture_default_str();
  app.add_option("--ranks", cli.ranks, "local ranks (threads)")->capture_default_str();
  app.add_option("--topo", cli.topo, "layout, innermost first (2x4)")->capture_default_str();
  app.add_option("--block", cli.blocks, "block sizes (bytes of one rank's K+V)")
      ->capture_default_str();
  app.add_option("--reps", cli.reps, "interleaved cycles per variant")->capture_default_str();
  app.add_flag("--borrow", cli.borrow,
               "start cycles with tidal_ring_rotation_start_borrowed (no copy of the block)");
  app.add_option("--compute-us", cli.compute_us,
                 "compute per step in us (default: the transfers' own time per step)");
  CLI11_PARSE(app, argc, argv);
  std::vector<size_t> sizes;
  const tidal::Status parsed = tidal::parse_bytes_list(cli.blocks, &sizes);
  if (!parsed.ok() || sizes.empty() || cli.reps < 1 || cli.ranks < 1) {
    std::fprintf(stderr, "bad --block (%s), --reps or --ranks\n",
                 parsed.ok() ? "empty" : parsed.message().c_str());
    return 2;
  }
  return tidal_bench::run_on_ranks(cli.backend, argc, argv, cli.ranks, cli.topo,
                                   [&](tidal_comm_t comm, int rank, int n) {
    std::vector<Row> rows;
    const tidal_status_t rc = run_rank(comm, cli, sizes, &rows);
    if (rc == TIDAL_SUCCESS && rank == 0) print_rows(cli, n, rows);
    return rc;
  });
}
