#include "bench/perf/perf_rank.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench/perf/perf_device.h"

namespace tidal_perf {
namespace {

using Clock = std::chrono::steady_clock;

// Bytes the harness fills recvbuf with before a check: NaN for every
// floating type, -1 for the signed ones, 255 for u8: never an expected value.
constexpr unsigned char kPoison = 0xff;

// "what: TIDAL_ERR_...: the library's message" (the message names the
// status itself when it has one).
std::string status_message(const char* what, tidal_status_t status, tidal_comm_t comm) {
  std::string detail = tidal_comm_last_error(comm);
  if (detail.empty()) detail = tidal_last_error();
  if (detail.rfind("TIDAL_ERR", 0) != 0) {
    detail = tidal_status_string(status) + (detail.empty() ? "" : ": " + detail);
  }
  return std::string(what) + ": " + detail;
}

void free_requests(std::vector<tidal_request_t>* requests) {
  for (tidal_request_t r : *requests) tidal_request_free(r);
  requests->clear();
}

size_t next_size(const PerfOptions& o, size_t size) {
  return o.step_factor > 1 ? size * o.step_factor : size + o.step_bytes;
}

}  // namespace

RankRunner::RankRunner(const PerfOptions& options, const CollectiveTest& test, Team& team,
                       RankSetup setup)
    : options_(options), test_(test), team_(team), setup_(setup) {}

RankRunner::~RankRunner() {
  if (setup_.device_memory) {
    device_free(send_);
    device_free(recv_);
  } else {
    std::free(send_);
    std::free(recv_);
  }
}

bool RankRunner::fail(const std::string& what, tidal_status_t status) {
  const std::string message =
      "rank " + std::to_string(setup_.rank) + ": " + status_message(what.c_str(), status, setup_.comm);
  team_.fail(message);
  return false;
}

size_t RankRunner::buffer_bytes(const PerfOptions& options, const CollectiveTest& test,
                                int nranks) {
  size_t bytes = 0;
  for (tidal_dtype_t dtype : options.dtypes) {
    const size_t es = tidal_dtype_size(dtype);
    const CollCounts c = test.counts(options.max_bytes / es, nranks);
    bytes = std::max(bytes, std::max(c.send_count, c.recv_count) * es);
  }
  return bytes;
}

bool RankRunner::allocate(std::string* error) {
  buffer_bytes_ = buffer_bytes(options_, test_, setup_.nranks);
  const size_t bytes = std::max<size_t>(buffer_bytes_, 64);
  if (setup_.device_memory) {
    if (!device_alloc(bytes, &send_, error) || !device_alloc(bytes, &recv_, error)) return false;
    host_input_.resize(bytes);
    host_result_.resize(bytes);
  } else {
    send_ = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    recv_ = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    if (!send_ || !recv_) {
      *error = "cannot allocate " + std::to_string(bytes) + " bytes of buffers";
      return false;
    }
    // Written once, checked or not (-c 0): fresh pages all map the kernel's
    // one zero page until written, so a collective reading them reads one
    // cached page and times several times faster than on real memory.
    std::memset(send_, 0, bytes);
    std::memset(recv_, 0, bytes);
  }
  if (options_.check_iters > 0) expected_.resize(bytes);
  return true;
}

bool RankRunner::run(RankTotals* totals) {
  std::string error;
  if (!allocate(&error)) {
    team_.fail("rank " + std::to_string(setup_.rank) + ": " + error);
    return false;
  }
  if (!preflight()) return false;
  if (setup_.reporter) setup_.reporter->print_table_header();
  start_ = Clock::now();
  for (tidal_dtype_t dtype : options_.dtypes) {
    for (tidal_op_t op : options_.ops) {
      if (!sweep(dtype, op)) return false;
    }
  }
  if (options_.memcpy_bound && !measure_memcpy_bound()) return false;
  double wrong = static_cast<double>(wrong_halves_);
  if (!team_.all_reduce(&wrong, TeamReduce::kSum)) return false;
  totals->wrong_halves = static_cast<int64_t>(wrong);
  return true;
}

// One empty collective on every rank: an unsupported schedule, a bad root or
// a backend problem shows up here, on all ranks alike, before any output row.
bool RankRunner::preflight() {
  counts_ = CollCounts{};
  element_size_ = tidal_dtype_size(options_.dtypes.front());
  CollCall call = make_call(options_.dtypes.front(), options_.ops.front(), false);
  std::vector<tidal_request_t> requests;
  tidal_status_t s = test_.post(call, &requests);
  if (s == TIDAL_SUCCESS) s = tidal_wait_all(requests.size(), requests.data());
  const std::string message =
      s == TIDAL_SUCCESS ? "" : status_message("the first collective failed", s, setup_.comm);
  free_requests(&requests);
  double failed = s == TIDAL_SUCCESS ? 0 : 1;
  if (!team_.all_reduce(&failed, TeamReduce::kMax)) return false;
  if (failed == 0) return true;
  team_.fail(message.empty() ? "another rank failed to start" : message, /*agreed=*/true);
  return false;
}

CollCall RankRunner::make_call(tidal_dtype_t dtype, tidal_op_t op, bool in_place) const {
  char* recv = static_cast<char*>(recv_);
  const size_t rank = static_cast<size_t>(setup_.rank);
  CollCall call{send_,        recv_,          counts_.param_count, dtype,
                op,           options_.root,  setup_.rank,         setup_.nranks,
                setup_.comm,  setup_.device_memory};
  if (in_place) {
    call.send = recv + rank * counts_.send_inplace_offset * element_size_;
    call.recv = recv + rank * counts_.recv_inplace_offset * element_size_;
  }
  return call;
}

bool RankRunner::sweep(tidal_dtype_t dtype, tidal_op_t op) {
  if (!warm_up(dtype, op)) return false;
  element_size_ = tidal_dtype_size(dtype);
  size_t rows = 0;
  for (size_t size = options_.min_bytes; size <= options_.max_bytes;
       size = next_size(options_, size)) {
    counts_ = test_.counts(size / element_size_, setup_.nranks);
    RowResult row;
    row.bytes = std::max(counts_.send_count, counts_.recv_count) * element_size_;
    row.count = counts_.param_count;
    row.type = dtype_display_name(dtype);
    row.redop = test_.reduces ? op_display_name(op) : "none";
    row.root = test_.uses_root ? options_.root : -1;
    if (setup_.reporter) setup_.reporter->print_row_start(row);
    if (!measure(dtype, op, false, &row.out_of_place)) return false;
    if (!measure(dtype, op, true, &row.in_place)) return false;
    if (setup_.reporter) {
      setup_.reporter->finish_row(row);
      report_progress(++rows, size);
    }
    if (size == 0 && options_.step_factor > 1) break;  // 0 * factor never grows
  }
  return true;
}

bool RankRunner::warm_up(tidal_dtype_t dtype, tidal_op_t op) {
  element_size_ = tidal_dtype_size(dtype);
  for (size_t size : {options_.max_bytes, options_.min_bytes}) {
    counts_ = test_.counts(size / element_size_, setup_.nranks);
    const CollCall call = make_call(dtype, op, false);
    for (int i = 0; i < options_.warmup_iters; ++i) {
      if (!post_and_wait(call)) return false;
    }
  }
  return true;
}

bool RankRunner::post_and_wait(const CollCall& call) {
  std::vector<tidal_request_t> requests;
  tidal_status_t s = test_.post(call, &requests);
  if (s == TIDAL_SUCCESS) s = tidal_wait_all(requests.size(), requests.data());
  free_requests(&requests);
  return s == TIDAL_SUCCESS || fail("collective", s);
}

bool RankRunner::measure(tidal_dtype_t dtype, tidal_op_t op, bool in_place,
                         HalfResult* half) {
  if (in_place && (!test_.in_place || (test_.in_place_on_host_only && setup_.device_memory))) {
    half->measured = false;
    if (setup_.reporter) setup_.reporter->print_half(*half);
    return team_.barrier();
  }
  const CollCall call = make_call(dtype, op, in_place);
  DataPlan plan{dtype, op, setup_.nranks, bench_count_++};
  if (options_.check_iters > 0 && !stage_input(plan, in_place)) return false;
  double seconds = 0;
  if (!post_and_wait(call) || !team_.barrier() || !time_iterations(call, &seconds)) return false;
  static const TeamReduce kAverageModes[] = {TeamReduce::kRank0, TeamReduce::kSum,
                                            TeamReduce::kMin, TeamReduce::kMax};
  if (!team_.all_reduce(&seconds, kAverageModes[options_.average], setup_.slot)) return false;
  if (options_.average == 1) seconds /= setup_.nranks;
  half->measured = true;
  half->time_us = seconds * 1e6;
  const double bytes = test_.alg_bytes(counts_.param_count, element_size_, setup_.nranks);
  half->algbw = seconds > 0 ? bytes / 1e9 / seconds : 0;
  half->busbw = half->algbw * test_.bus_factor(setup_.nranks);
  half->checked = options_.check_iters > 0;
  int64_t wrong = 0;
  for (int c = 0; c < options_.check_iters && wrong == 0; ++c) {
    int64_t mine = 0;
    if (!check_once(call, in_place, &mine)) return false;
    wrong_halves_ += mine > 0;
    double total = static_cast<double>(mine);
    if (!team_.all_reduce(&total, TeamReduce::kSum)) return false;
    wrong = static_cast<int64_t>(total);
  }
  half->wrong = wrong;
  if (setup_.reporter) setup_.reporter->print_half(*half);
  return true;
}

bool RankRunner::time_iterations(const CollCall& call, double* seconds) {
  std::vector<tidal_request_t> requests;
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < options_.iters; ++i) {
    for (int a = 0; a < options_.agg_iters; ++a) {
      tidal_status_t s = test_.post(call, &requests);
      if (s == TIDAL_SUCCESS && options_.blocking) {
        s = tidal_wait_all(requests.size(), requests.data());
        free_requests(&requests);
      }
      if (s != TIDAL_SUCCESS) {
        free_requests(&requests);
        return fail("collective", s);
      }
      if (options_.blocking && !team_.barrier()) return false;
    }
  }
  tidal_status_t s = tidal_wait_all(requests.size(), requests.data());
  const Clock::time_point t1 = Clock::now();
  free_requests(&requests);
  if (s != TIDAL_SUCCESS) return fail("collective", s);
  *seconds = std::chrono::duration<double>(t1 - t0).count() / (options_.iters * options_.agg_iters);
  return true;
}

// Fills recvbuf with poison and puts this rank's input where the call
// reads it (sendbuf, or its place inside recvbuf when in place).
bool RankRunner::stage_input(const DataPlan& plan, bool in_place) {
  const RankData data{plan, setup_.rank, options_.root, counts_};
  const size_t region = std::max(counts_.send_count, counts_.recv_count) * element_size_;
  const size_t offset = in_place ? setup_.rank * counts_.send_inplace_offset * element_size_ : 0;
  if (!setup_.device_memory) {
    std::memset(recv_, kPoison, region);
    test_.fill_input(data, static_cast<char*>(in_place ? recv_ : send_) + offset);
    return true;
  }
  std::string error;
  std::memset(host_input_.data(), kPoison, region);
  if (!device_upload(recv_, host_input_.data(), region, &error)) return fail(error, TIDAL_ERR_TRANSPORT);
  test_.fill_input(data, host_input_.data());
  const size_t input_bytes = counts_.send_count * element_size_;
  void* target = static_cast<char*>(in_place ? recv_ : send_) + offset;
  return device_upload(target, host_input_.data(), input_bytes, &error) ||
         fail(error, TIDAL_ERR_TRANSPORT);
}

bool RankRunner::check_once(CollCall call, bool in_place, int64_t* wrong) {
  const DataPlan plan{call.dtype, call.op, setup_.nranks, bench_count_++};
  if (!stage_input(plan, in_place) || !post_and_wait(call)) return false;
  const size_t bytes = counts_.recv_count * element_size_;
  const unsigned char* got = static_cast<const unsigned char*>(call.recv);
  if (setup_.device_memory) {
    std::string error;
    if (!device_download(host_result_.data(), call.recv, bytes, &error)) {
      return fail(error, TIDAL_ERR_TRANSPORT);
    }
    got = host_result_.data();
  }
  if (corruption_requested() && setup_.rank == 0 && bytes > 0) {
    const_cast<unsigned char*>(got)[0] ^= 0x5a;
  }
  test_.fill_expected(RankData{plan, setup_.rank, options_.root, counts_}, expected_.data());
  *wrong = count_wrong(got, expected_.data(), counts_.recv_count, call.dtype);
  return true;
}

// The bound of host-memory collectives: every rank copies its largest
// buffer at the same time (as the ranks do during a collective), so the
// figure is the memory bandwidth one rank gets while all ranks copy.
bool RankRunner::measure_memcpy_bound() {
  if (setup_.device_memory || buffer_bytes_ == 0) return true;
  double seconds = 0;
  for (int round = 0; round <= options_.iters; ++round) {  // round 0 warms up
    if (!team_.barrier()) return false;
    const Clock::time_point t0 = Clock::now();
    std::memcpy(recv_, send_, buffer_bytes_);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (round > 0) seconds += s;
  }
  seconds /= options_.iters;
  if (!team_.all_reduce(&seconds, TeamReduce::kMax)) return false;  // the slowest rank
  if (setup_.reporter) {
    const double per_rank = buffer_bytes_ / 1e9 / seconds;
    char text[256];
    std::snprintf(text, sizeof text,
                  "%-20s : %g GB/s per rank (%d ranks each copying %zu B at once; %g GB/s total)",
                  "memcpy bound", per_rank, setup_.nranks, buffer_bytes_, per_rank * setup_.nranks);
    setup_.reporter->print_note(text);
  }
  return true;
}

void RankRunner::report_progress(size_t done_rows, size_t bytes) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  if (options_.progress == 0 || (options_.progress < 0 && elapsed < 5.0)) return;
  const bool terminal = isatty(STDERR_FILENO);
  std::fprintf(stderr, "%s# %s: %zu rows done, last size %zu B, %.1f s elapsed%s",
               terminal ? "\r" : "", test_.program, done_rows, bytes, elapsed,
               terminal ? "" : "\n");
  std::fflush(stderr);
}

}  // namespace tidal_perf
