#include "bench/perf/perf_harness.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include "bench/perf/perf_bucketed.h"
#include "bench/perf/perf_comms.h"
#include "bench/perf/perf_mpi.h"
#include "bench/perf/perf_rank.h"
#include "bench/perf/perf_report.h"
#include "bench/perf/perf_team.h"

namespace tidal_perf {
namespace {

// The communicators of this process, so a failing rank can abort them all
// and no rank stays blocked in a collective its peer gave up on.
class CommRegistry {
 public:
  explicit CommRegistry(int slots) : comms_(static_cast<size_t>(slots), nullptr) {}
  void set(int slot, tidal_comm_t comm) {
    std::lock_guard<std::mutex> lock(mutex_);
    comms_[static_cast<size_t>(slot)] = comm;
  }
  // After a failure the rank may have detached requests that wait for a
  // peer that gave up: abort first so the destroy does not wait for them.
  // The destroy runs outside the lock, so abort_all never waits behind it.
  void destroy(int slot, bool abort_first) {
    tidal_comm_t comm = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::swap(comm, comms_[static_cast<size_t>(slot)]);
    }
    if (comm && abort_first) tidal_comm_abort(comm);
    if (comm) tidal_comm_destroy(comm);
  }
  void abort_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (tidal_comm_t comm : comms_) {
      if (comm) tidal_comm_abort(comm);
    }
  }

 private:
  std::mutex mutex_;
  std::vector<tidal_comm_t> comms_;
};

tidal_config_t make_config(const PerfOptions& o) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  if (o.schedule != TIDAL_SCHEDULE_UNSET) config.schedule = o.schedule;
  if (!o.topology.empty()) config.topology = o.topology.c_str();
  if (o.timeout_s >= 0) config.timeout_s = o.timeout_s;
  return config;
}

std::string device_lines(const Layout& layout, const CommFactory& factory) {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  std::string lines;
  for (int slot = 0; slot < layout.slots; ++slot) {
    char line[512];
    std::snprintf(line, sizeof line, "#  Rank %2d Group %2d Pid %6d on %10s %s\n",
                  layout.rank_of(slot), 0, static_cast<int>(getpid()), host,
                  factory.describe(slot).c_str());
    lines += line;
  }
  return lines;
}

std::vector<std::string> split_lines(const std::vector<std::string>& texts) {
  std::vector<std::string> lines;
  for (const std::string& text : texts) {
    size_t start = 0;
    for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
      lines.push_back(text.substr(start, end - start));
    }
  }
  return lines;
}

// Host buffers of every rank of this process (send, receive, expected)
// must fit in memory: like nccl-tests' "Reducing maxBytes", but an error,
// since the sweep is the user's choice. "" when they fit.
std::string check_memory(const PerfOptions& o, const CollectiveTest& test, const Layout& layout) {
  if (!o.bucketed_model.empty()) return "";
  const double bytes = static_cast<double>(RankRunner::buffer_bytes(o, test, layout.nranks)) *
                       (o.check_iters > 0 ? 3 : 2) * layout.slots;
  const double memory = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  if (memory <= 0 || bytes <= 0.8 * memory) return "";
  char text[256];
  std::snprintf(text, sizeof text,
                "-e %zu needs %.0f MB of host buffers for %d ranks in this process, more than "
                "80%% of this machine's %.0f MB",
                o.max_bytes, bytes / 1e6, layout.slots, memory / 1e6);
  return text;
}

// Checks that need the rank count; prints the reason.
bool check_layout_fits(const PerfOptions& o, const CollectiveTest& test, const Layout& layout) {
  std::string error;
  if (layout.nranks < test.min_ranks) {
    error = std::string("needs at least ") + std::to_string(test.min_ranks) + " ranks, got " +
            std::to_string(layout.nranks);
  } else if (test.uses_root && o.root >= layout.nranks) {
    error = "root " + std::to_string(o.root) + " is not a rank of " +
            std::to_string(layout.nranks) + " ranks";
  } else {
    error = check_memory(o, test, layout);
  }
  if (!error.empty() && layout.proc == 0) std::fprintf(stderr, "%s: %s\n", test.program, error.c_str());
  return error.empty();
}

void run_slot(int slot, const PerfOptions& o, const CollectiveTest& test, const Layout& layout,
              CommFactory& factory, CommRegistry& registry, Team& team, Reporter* reporter,
              RankTotals* totals) {
  tidal_comm_t comm = nullptr;
  std::string error;
  if (!factory.create(slot, &comm, &error)) {
    team.fail("rank " + std::to_string(layout.rank_of(slot)) + ": " + error);
    return;
  }
  registry.set(slot, comm);
  {
    RankSetup setup{layout.rank_of(slot), layout.nranks, slot,        layout.slots,
                    layout.device_memory,  comm,          slot == 0 ? reporter : nullptr};
    if (o.bucketed_model.empty()) {
      RankRunner runner(o, test, team, setup);
      runner.run(totals);
    } else {
      run_bucketed(o, static_cast<BucketedKind>(test.bucketed_kind), test.program, team, setup,
                   totals);
    }
  }
  registry.destroy(slot, team.failed() && !team.failure_agreed());
  factory.release(slot);
}

int finish(const CollectiveTest& test, const Layout& layout, Team& team, Reporter* reporter,
           const RankTotals& totals, MpiSession& mpi) {
  if (team.failed()) {
    // A failure every process saw is reported once, by process 0.
    const std::string error = team.first_error();
    if (reporter || !team.failure_agreed()) std::fprintf(stderr, "%s: %s\n", test.program, error.c_str());
    if (reporter) std::printf("# error: %s\n", error.c_str());
    std::fflush(stdout);
    if (!team.failure_agreed() && layout.nprocs > 1) mpi.abort_job(kExitFailed);
    return kExitFailed;
  }
  if (!reporter) return totals.wrong_halves ? kExitFailed : kExitOk;
  reporter->print_footer(totals.wrong_halves);
  std::string error;
  if (!reporter->write_files(&error)) {
    std::fprintf(stderr, "%s: %s\n", test.program, error.c_str());
    return kExitFailed;
  }
  return totals.wrong_halves ? kExitFailed : kExitOk;
}

int run_with_session(const PerfOptions& o, const CollectiveTest& test,
                     const std::vector<std::string>& args, MpiSession& mpi) {
  Layout layout;
  std::string error;
  if (!plan_layout(o, mpi, &layout, &error)) {
    if (mpi.rank() == 0) std::fprintf(stderr, "%s: %s\n", test.program, error.c_str());
    return kExitUsage;
  }
  if (!check_layout_fits(o, test, layout)) return kExitUsage;
  if (!o.bucketed_model.empty()) {
    std::vector<size_t> counts;
    std::string label;
    if (!load_tensor_counts(o.bucketed_model, &counts, &label, &error)) {
      if (layout.proc == 0) std::fprintf(stderr, "%s: %s\n", test.program, error.c_str());
      return kExitUsage;
    }
  }
  const tidal_config_t config = make_config(o);
  std::unique_ptr<CommFactory> factory = make_comm_factory(layout, config, mpi, &error);
  if (!factory) {
    std::fprintf(stderr, "%s: %s\n", test.program, error.c_str());
    if (layout.nprocs > 1) mpi.abort_job(kExitFailed);
    return kExitFailed;
  }
  std::unique_ptr<Reporter> reporter;
  if (layout.proc == 0) reporter = std::make_unique<Reporter>(o, test.program, layout.backend,
                                                              layout.nranks, args);
  const std::vector<std::string> lines = split_lines(mpi.gather_text(device_lines(layout, *factory)));
  if (reporter) reporter->print_header(lines);
  std::fflush(stdout);

  CommRegistry registry(layout.slots);
  Team team(layout.slots, mpi.reducer());
  team.set_abort_hook([&registry] { registry.abort_all(); });
  std::vector<RankTotals> totals(static_cast<size_t>(layout.slots));
  std::vector<std::thread> threads;
  for (int slot = 0; slot < layout.slots; ++slot) {
    threads.emplace_back(run_slot, slot, std::cref(o), std::cref(test), std::cref(layout),
                         std::ref(*factory), std::ref(registry), std::ref(team), reporter.get(),
                         &totals[static_cast<size_t>(slot)]);
  }
  for (std::thread& t : threads) t.join();
  return finish(test, layout, team, reporter.get(), totals[0], mpi);
}

bool needs_mpi(const PerfOptions& o) {
  return launcher_process_count() > 1 || o.backend == "mpi";
}

}  // namespace

int run_perf(int argc, char** argv, const CollectiveTest& test) {
  setlinebuf(stdout);
  PerfOptions options;
  const CollectiveTraits traits{test.program, test.reduces, test.uses_root,
                                test.bucketed_kind != 0};
  switch (parse_options(argc, argv, traits, &options)) {
    case ParseOutcome::kHelp: return kExitOk;
    case ParseOutcome::kError: return kExitUsage;
    case ParseOutcome::kRun: break;
  }
  MpiSession mpi;
  std::string error;
  if (needs_mpi(options) && !mpi.init(&error)) {
    std::fprintf(stderr, "%s: cannot start MPI: %s\n", test.program, error.c_str());
    return kExitFailed;
  }
  return run_with_session(options, test, std::vector<std::string>(argv, argv + argc), mpi);
}

int run_perf_with_options(const PerfOptions& options, const CollectiveTest& test,
                          const std::vector<std::string>& args) {
  setlinebuf(stdout);
  MpiSession no_mpi;
  return run_with_session(options, test, args, no_mpi);
}

}  // namespace tidal_perf
