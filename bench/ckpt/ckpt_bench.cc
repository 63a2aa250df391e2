// ckpt_bench.cc — the checkpoint and pinned-pool benchmark behind
// docs/benchmarks/checkpoint.md. Everything is measured side by side in one
// run, interleaved, and reported as medians and ratios:
//   throughput: async save write throughput vs the disk's sequential write
//               bound (dd-style: buffered+fsync, O_DIRECT, io_uring) with the
//               same file size; peak extra RSS vs the staging budget
//   stall:      training stall of an async save (save_async + the snapshot
//               wait before the optimizer step) vs a synchronous save, with
//               a synthetic forward+backward (sleep) in between
//   pool:       allocations and time per batch, pool vs per-batch pinned
//               allocation
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/ckpt/dit_state.h"
#include "bench/ckpt/sequential_write.h"
#include "lib/core/memory_kind.h"
#include "lib/memory/host_allocation.h"
#include "tidal/ckpt.h"
#include "tidal/pinned.h"

namespace ckpt_bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr uint64_t kMiB = 1024 * 1024;

struct Options {
  std::string dir = "/tmp";
  uint64_t state_mib = 2048;
  uint64_t staging_mib = 512;
  uint64_t slot_mib = 16;
  int writer_threads = 2;
  int direct_io = 1;
  std::vector<int> fwd_bwd_ms = {0, 500, 2500};
  int reps = 3;
  std::vector<std::string> sections = {"throughput", "stall", "pool"};
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

bool check(tidal_status_t s, const char* what) {
  if (s == TIDAL_SUCCESS) return true;
  fmt::print(stderr, "{} failed: {} ({})\n", what, tidal_status_string(s), tidal_last_error());
  return false;
}

// Resident set size sampled every millisecond on a thread: the peak during
// a save, minus the RSS before it, is the save's extra memory.
class RssSampler {
 public:
  // `baseline`: the RSS before whatever is being measured was created.
  explicit RssSampler(uint64_t baseline) : baseline_(baseline), peak_(rss_bytes()) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        peak_ = std::max(peak_.load(), rss_bytes());
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  uint64_t stop() {
    stop_ = true;
    thread_.join();
    return std::max(peak_.load(), rss_bytes()) - baseline_;
  }
  static uint64_t rss_bytes() {
    std::ifstream statm("/proc/self/statm");
    uint64_t size = 0, resident = 0;
    statm >> size >> resident;
    return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  }

 private:
  uint64_t baseline_;
  std::atomic<uint64_t> peak_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

tidal_ckpt_writer_t make_writer(const Options& o, int direct_io) {
  tidal_ckpt_writer_config_t config = TIDAL_CKPT_WRITER_CONFIG_INITIALIZER;
  config.staging_bytes = o.staging_mib * kMiB;
  config.slot_bytes = o.slot_mib * kMiB;
  config.writer_threads = o.writer_threads;
  config.direct_io = direct_io;
  tidal_ckpt_writer_t writer = nullptr;
  return check(tidal_ckpt_writer_create(&config, &writer), "writer create") ? writer : nullptr;
}

std::string state_path(const Options& o, const char* tag) {
  return fmt::format("{}/tidal-ckpt-bench-{}-{}.safetensors", o.dir, getpid(), tag);
}

void print_machine(const Options& o, const TensorState& state) {
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  uint64_t kb = 0;
  meminfo >> key >> kb >> unit;
  std::string why;
  bool gpu = tidal::cuda_device_usable(&why);
  fmt::print("machine: nproc {}, memory {:.1f} GiB, GPU: {}\n", std::thread::hardware_concurrency(), kb / 1048576.0,
             gpu ? "usable" : "none (" + why + ")");
  fmt::print("state: DiT-XL/2 parameters in f32, first {} tensors = {:.3f} GiB; staging {} MiB in {} MiB slots, "
             "{} writer threads; files under {}\n\n",
             state.count(), state.bytes() / kGiB, o.staging_mib, o.slot_mib, o.writer_threads, o.dir);
}

// Timed async save from save_async to durable with a fresh writer (created
// outside the timing); *extra_rss gets the peak resident memory during the
// save above the RSS before the writer existed: the staging ring and
// everything else the save costs.
double timed_async_save(const Options& o, int direct_io, const TensorState& state, const std::string& path,
                        uint64_t* extra_rss) {
  uint64_t before_writer = RssSampler::rss_bytes();
  tidal_ckpt_writer_t writer = make_writer(o, direct_io);
  if (!writer) return -1;
  RssSampler rss(before_writer);
  auto t0 = Clock::now();
  tidal_ckpt_save_t save = nullptr;
  bool ok = check(tidal_ckpt_save_async(writer, path.c_str(), state.views().data(), state.count(), nullptr, &save),
                  "save_async") &&
            check(tidal_ckpt_save_wait_durable(save), "async save");
  double elapsed = seconds_since(t0);
  *extra_rss = rss.stop();
  tidal_ckpt_save_free(save);
  tidal_ckpt_writer_destroy(writer);
  unlink(path.c_str());
  return ok ? elapsed : -1;
}

void throughput_section(const Options& o, const TensorState& state) {
  const uint64_t bytes = (state.bytes() + 4095) / 4096 * 4096;
  const WriteMode modes[] = {WriteMode::kBufferedFsync, WriteMode::kDirect, WriteMode::kUringDirect};
  const char* writer_names[2] = {"tidal async save (buffered)", "tidal async save (O_DIRECT)"};
  std::vector<double> dd[3], async_s[2];
  uint64_t peak_extra = 0;
  for (int rep = 0; rep < o.reps; ++rep) {  // interleaved: bound, tidal, bound, tidal, ...
    for (int m = 0; m < 3; ++m) {
      dd[m].push_back(timed_sequential_write(state_path(o, "dd"), bytes, o.slot_mib * kMiB, modes[m]));
      if (m < 2) {  // m 0: buffered writer, after the buffered bound; 1: O_DIRECT
        uint64_t extra = 0;
        async_s[m].push_back(timed_async_save(o, m, state, state_path(o, "async"), &extra));
        peak_extra = std::max(peak_extra, extra);
      }
    }
  }
  fmt::print("## write throughput, {:.3f} GiB file, {} reps interleaved (median)\n", bytes / kGiB, o.reps);
  fmt::print("| writer | median s | GiB/s |\n|---|---|---|\n");
  double bound = 0;
  for (int m = 0; m < 3; ++m) {
    double s = median(dd[m]);
    bound = std::max(bound, bytes / kGiB / s);
    fmt::print("| dd-style {} ({} MiB writes) | {:.3f} | {:.3f} |\n", write_mode_name(modes[m]), o.slot_mib, s,
               bytes / kGiB / s);
  }
  for (int w = 0; w < 2; ++w) {
    double s = median(async_s[w]);
    fmt::print("| {} | {:.3f} | {:.3f} |\n", writer_names[w], s, state.bytes() / kGiB / s);
  }
  for (int w = 0; w < 2; ++w)
    fmt::print("{}: {:.2f}x the best sequential bound ({:.3f} GiB/s)\n", writer_names[w],
               state.bytes() / kGiB / median(async_s[w]) / bound, bound);
  fmt::print("peak extra RSS during async saves: {:.1f} MiB; staging budget {} MiB ({:.2f}x)\n\n",
             peak_extra / double(kMiB), o.staging_mib, peak_extra / double(o.staging_mib * kMiB));
}

struct StallSample {
  double sync_s = 0, async_stall_s = 0, async_call_s = 0, durable_after_s = 0;
};

// One training step with an async save: save_async, forward+backward,
// wait for the snapshot, optimizer step (mutate); durable is waited after.
StallSample async_step(tidal_ckpt_writer_t writer, TensorState* state, const std::string& path, int fwd_bwd_ms) {
  StallSample s;
  auto t0 = Clock::now();
  tidal_ckpt_save_t save = nullptr;
  if (!check(tidal_ckpt_save_async(writer, path.c_str(), state->views().data(), state->count(), nullptr, &save),
             "save_async"))
    return s;
  s.async_call_s = seconds_since(t0);
  std::this_thread::sleep_for(std::chrono::milliseconds(fwd_bwd_ms));
  auto t1 = Clock::now();
  check(tidal_ckpt_save_wait_snapshot(save), "snapshot");
  s.async_stall_s = s.async_call_s + seconds_since(t1);
  state->mutate(2);  // the optimizer step may now change the tensors
  check(tidal_ckpt_save_wait_durable(save), "durable");
  s.durable_after_s = seconds_since(t0);
  tidal_ckpt_save_free(save);
  unlink(path.c_str());
  return s;
}

// The snapshot's physical bound: one memcpy pass of every tensor into a
// staging-sized buffer (wrapping around), as fast as this host copies.
double timed_state_memcpy(const TensorState& state, char* buffer, uint64_t buffer_bytes) {
  auto t0 = Clock::now();
  uint64_t at = 0;
  for (const tidal_ckpt_tensor_t& t : state.views()) {
    uint64_t bytes = 4;
    for (int d = 0; d < t.ndim; ++d) bytes *= static_cast<uint64_t>(t.shape[d]);
    for (uint64_t done = 0; done < bytes;) {
      uint64_t n = std::min(bytes - done, buffer_bytes - at);
      memcpy(buffer + at, static_cast<const char*>(t.data) + done, n);
      done += n;
      at = (at + n) % buffer_bytes;
    }
  }
  return seconds_since(t0);
}

void stall_section(const Options& o, TensorState* state) {
  tidal_ckpt_writer_t writer = make_writer(o, o.direct_io);
  if (!writer) return;
  fmt::print("## training stall per checkpoint, {:.3f} GiB state, {} reps interleaved sync/async (median)\n",
             state->bytes() / kGiB, o.reps);
  fmt::print("| forward+backward | sync save s (tidal_ckpt_save_sync) | ideal sync save s (dd O_DIRECT, same bytes) | "
             "async stall s (save_async + snapshot wait) | stall / sync | stall / ideal sync | save_async call ms | "
             "async durable after s | memcpy of the state s |\n|---|---|---|---|---|---|---|---|---|\n");
  const uint64_t aligned_bytes = (state->bytes() + 4095) / 4096 * 4096;
  tidal::HostAllocation copy_target;
  if (!tidal::allocate_host(o.staging_mib * kMiB, false, false, &copy_target).ok()) return;
  for (int fwd_bwd : o.fwd_bwd_ms) {
    std::vector<double> sync_s, ideal_s, stall_s, call_s, durable_s, memcpy_s;
    for (int rep = 0; rep < o.reps; ++rep) {
      memcpy_s.push_back(timed_state_memcpy(*state, static_cast<char*>(copy_target.ptr), copy_target.bytes));
      ideal_s.push_back(timed_sequential_write(state_path(o, "ideal"), aligned_bytes, o.slot_mib * kMiB, WriteMode::kDirect));
      auto t0 = Clock::now();
      std::string path = state_path(o, "sync");
      check(tidal_ckpt_save_sync(path.c_str(), state->views().data(), state->count(), nullptr), "sync save");
      sync_s.push_back(seconds_since(t0));
      unlink(path.c_str());
      StallSample a = async_step(writer, state, state_path(o, "stall"), fwd_bwd);
      stall_s.push_back(a.async_stall_s);
      call_s.push_back(a.async_call_s);
      durable_s.push_back(a.durable_after_s);
    }
    fmt::print("| {} ms | {:.3f} | {:.3f} | {:.3f} | {:.4f} | {:.4f} | {:.2f} | {:.3f} | {:.3f} |\n", fwd_bwd,
               median(sync_s), median(ideal_s), median(stall_s), median(stall_s) / median(sync_s),
               median(stall_s) / median(ideal_s), median(call_s) * 1e3, median(durable_s), median(memcpy_s));
  }
  tidal::free_host(&copy_target);
  fmt::print("\n");
  tidal_ckpt_writer_destroy(writer);
}

// Per batch: get a pinned buffer, fill it (the loader's memcpy), give it
// back. Baseline: a fresh pinned allocation per batch, as a loader without a
// pool does; tidal: the pool.
void pool_section(const Options& o) {
  const size_t batch = 6 * kMiB;  // 32 x 3x256x256 u8 images
  const int blocks = 10, per_block = 10;
  std::vector<char> source(batch, 0x11);
  tidal_pinned_config_t config = TIDAL_PINNED_CONFIG_INITIALIZER;
  config.preallocate_bytes = 4 * batch;
  config.lock_memory = 1;
  tidal_pinned_pool_t pool = nullptr;
  if (!check(tidal_pinned_pool_create(&config, &pool), "pool create")) return;
  std::vector<double> baseline_s, pool_s;
  uint64_t baseline_allocs = 0, pool_allocs = 0;
  for (int b = 0; b < blocks; ++b) {  // interleaved blocks of batches
    uint64_t before = tidal::host_allocation_count();
    for (int i = 0; i < per_block; ++i) {
      auto t0 = Clock::now();
      tidal::HostAllocation a;
      if (!tidal::allocate_host(batch, true, true, &a).ok()) return;
      memcpy(a.ptr, source.data(), batch);
      tidal::free_host(&a);
      baseline_s.push_back(seconds_since(t0));
    }
    baseline_allocs += tidal::host_allocation_count() - before;
    before = tidal::host_allocation_count();
    for (int i = 0; i < per_block; ++i) {
      auto t0 = Clock::now();
      void* p = nullptr;
      if (!check(tidal_pinned_alloc(pool, batch, &p), "pool alloc")) return;
      memcpy(p, source.data(), batch);
      tidal_pinned_free(pool, p);
      pool_s.push_back(seconds_since(t0));
    }
    pool_allocs += tidal::host_allocation_count() - before;
  }
  tidal_pinned_stats_t stats;
  tidal_pinned_pool_stats(pool, &stats);
  const double n = blocks * per_block;
  fmt::print("## pinned batches: {} batches of {} MiB, alloc + fill + free, interleaved blocks of {} (median)\n",
             blocks * per_block, batch / kMiB, per_block);
  fmt::print("| loader | host allocations per batch | median ms per batch |\n|---|---|---|\n");
  fmt::print("| per-batch pinned allocation (mmap+mlock, or cudaHostAlloc) | {:.2f} | {:.3f} |\n", baseline_allocs / n,
             median(baseline_s) * 1e3);
  fmt::print("| tidal pinned pool | {:.2f} | {:.3f} |\n", pool_allocs / n, median(pool_s) * 1e3);
  fmt::print("pool: {:.2f}x faster per batch; counters: hits {}, misses {}, reservations {} (at creation)\n\n",
             median(baseline_s) / median(pool_s), stats.hits, stats.misses, stats.host_allocations);
  tidal_pinned_pool_destroy(pool);
}

bool wants(const Options& o, const std::string& section) {
  return std::find(o.sections.begin(), o.sections.end(), section) != o.sections.end();
}

}  // namespace
}  // namespace ckpt_bench

int main(int argc, char** argv) {
  ckpt_bench::Options o;
  CLI::App app{"tidal checkpoint and pinned-pool benchmark (docs/benchmarks/checkpoint.md)"};
  app.add_option("--dir", o.dir, "directory for the benchmark files (deleted afterwards)");
  app.add_option("--state-mib", o.state_mib, "size of the DiT-XL-like state");
  app.add_option("--staging-mib", o.staging_mib, "async writer staging ring");
  app.add_option("--slot-mib", o.slot_mib, "bytes per staging slot / write");
  app.add_option("--writer-threads", o.writer_threads, "background writer threads");
  app.add_option("--direct-io", o.direct_io, "O_DIRECT in the stall section (0|1)");
  app.add_option("--fwd-bwd-ms", o.fwd_bwd_ms, "synthetic forward+backward durations");
  app.add_option("--reps", o.reps, "repetitions of each interleaved measurement");
  app.add_option("--sections", o.sections, "throughput, stall, pool");
  CLI11_PARSE(app, argc, argv);
  using namespace ckpt_bench;
  std::unique_ptr<TensorState> state;
  if (wants(o, "throughput") || wants(o, "stall"))
    state = std::make_unique<TensorState>(dit_parameter_shapes(DitConfig()), o.state_mib * kMiB);
  fmt::print("# tidal-ckpt-bench\n");
  if (state) print_machine(o, *state);
  if (wants(o, "throughput")) throughput_section(o, *state);
  if (wants(o, "stall")) stall_section(o, state.get());
  if (wants(o, "pool")) pool_section(o);
  return 0;
}
