#include "bench/perf/perf_bucketed.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "bench/perf/perf_device.h"
#include "bench/perf/perf_values.h"
#include "tidal/bucket.h"

#if TIDAL_PERF_HAVE_DIT_MODELS
#include "bench/bucketing/dit_models.h"
#endif

namespace tidal_perf {
namespace {

enum Path { kFlat = 0, kBucketed = 1, kPerTensor = 2, kPaths = 3 };
const char* const kPathNames[] = {"flat", "bucketed", "per-tensor"};
constexpr unsigned char kPoison = 0xff;

// Tensors laid out back to back, each padded to a multiple of the rank
// count so the per-tensor and flat paths can split them evenly.
struct TensorLayout {
  std::vector<size_t> counts, padded, offsets;
  size_t total = 0;  // padded elements
  TensorLayout(const std::vector<size_t>& c, int nranks) : counts(c) {
    for (size_t n : counts) {
      offsets.push_back(total);
      padded.push_back((n + nranks - 1) / nranks * nranks);
      total += padded.back();
    }
  }
};

// A buffer in the backend's memory with host staging.
class StagedBuffer {
 public:
  ~StagedBuffer() { device_ ? device_free(data_) : std::free(data_); }
  bool allocate(size_t bytes, bool device, std::string* error) {
    device_ = device;
    host_.assign(bytes, kPoison);
    if (device) return device_alloc(bytes, &data_, error);
    data_ = std::malloc(bytes ? bytes : 1);
    if (!data_) *error = "cannot allocate " + std::to_string(bytes) + " bytes";
    // Written once even when nothing is checked (-c 0): untouched pages all
    // read as the kernel's one zero page, far faster than real memory.
    if (data_) std::memcpy(data_, host_.data(), bytes);
    return data_ != nullptr;
  }
  unsigned char* host() { return host_.data(); }
  void poison() { std::fill(host_.begin(), host_.end(), kPoison); }
  void* data() const { return data_; }
  char* at(size_t byte) const { return static_cast<char*>(data_) + byte; }
  bool push(std::string* error) {  // host image -> buffer
    if (device_) return device_upload(data_, host_.data(), host_.size(), error);
    std::memcpy(data_, host_.data(), host_.size());
    return true;
  }
  bool pull(std::string* error) {  // buffer -> host image
    if (device_) return device_download(host_.data(), data_, host_.size(), error);
    std::memcpy(host_.data(), data_, host_.size());
    return true;
  }

 private:
  bool device_ = false;
  void* data_ = nullptr;
  std::vector<unsigned char> host_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

class BucketedRun {
 public:
  BucketedRun(const PerfOptions& o, BucketedKind kind, const char* program, Team& team,
              const RankSetup& s, const std::vector<size_t>& counts)
      : o_(o), kind_(kind), program_(program), team_(team), s_(s), layout_(counts, s.nranks),
        dtype_(o.dtypes.front()), op_(o.ops.front()), es_(tidal_dtype_size(dtype_)) {}
  ~BucketedRun() { tidal_tensor_list_destroy(list_); }

  bool run(const std::string& label, RankTotals* totals);

 private:
  bool prepare();
  bool fail(const std::string& what, tidal_status_t status);
  tidal_status_t post(Path path, std::vector<tidal_request_t>* requests);
  bool time_once(Path path, double* seconds);
  bool stage(Path path, const DataPlan& plan);
  int64_t check(Path path, const DataPlan& plan);
  int64_t check_reduce_scatter(Path path, const DataPlan& plan);
  int64_t check_all_gather(Path path, const DataPlan& plan);
  size_t calls(Path path) const;
  void print(const std::string& label, const double* median_s, const int64_t* wrong);

  const PerfOptions& o_;
  const BucketedKind kind_;
  const char* program_;
  Team& team_;
  const RankSetup s_;
  const TensorLayout layout_;
  const tidal_dtype_t dtype_;
  const tidal_op_t op_;
  const size_t es_;
  tidal_tensor_list_t list_ = nullptr;
  size_t buckets_ = 0;
  StagedBuffer tensors_, shard_, scattered_;  // scattered_: flat / per-tensor RS output
};

bool BucketedRun::fail(const std::string& what, tidal_status_t status) {
  std::string detail = tidal_comm_last_error(s_.comm);
  if (detail.empty()) detail = tidal_last_error();
  team_.fail("rank " + std::to_string(s_.rank) + ": " + what + ": " +
             tidal_status_string(status) + (detail.empty() ? "" : " (" + detail + ")"));
  return false;
}

bool BucketedRun::prepare() {
  std::string error;
  const size_t n = layout_.counts.size();
  if (!tensors_.allocate(layout_.total * es_, s_.device_memory, &error) ||
      !scattered_.allocate(layout_.total / s_.nranks * es_, s_.device_memory, &error)) {
    return fail(error, TIDAL_ERR_NO_MEMORY);
  }
  std::vector<tidal_tensor_desc_t> descs(n);
  for (size_t t = 0; t < n; ++t) {
    descs[t] = {tensors_.at(layout_.offsets[t] * es_), layout_.counts[t], dtype_};
  }
  tidal_bucket_options_t bo = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  bo.bucket_bytes = o_.bucket_bytes;
  bo.order = kind_ == BucketedKind::kReduceScatter ? TIDAL_BUCKET_ORDER_REVERSE
                                                   : TIDAL_BUCKET_ORDER_FORWARD;
  tidal_status_t st = tidal_tensor_list_create(s_.comm, descs.data(), n, &bo, &list_);
  size_t shard_bytes = 0;
  if (st == TIDAL_SUCCESS) st = tidal_tensor_list_num_buckets(list_, &buckets_);
  if (st == TIDAL_SUCCESS) st = tidal_tensor_list_shard_bytes(list_, &shard_bytes);
  if (st != TIDAL_SUCCESS) return fail("tidal_tensor_list_create", st);
  return shard_.allocate(shard_bytes, s_.device_memory, &error) || fail(error, TIDAL_ERR_NO_MEMORY);
}

tidal_status_t BucketedRun::post(Path path, std::vector<tidal_request_t>* requests) {
  const bool rs = kind_ == BucketedKind::kReduceScatter;
  const size_t r = static_cast<size_t>(s_.rank), n = static_cast<size_t>(s_.nranks);
  tidal_request_t req = nullptr;
  tidal_status_t st = TIDAL_SUCCESS;
  if (path == kBucketed) {
    tidal_bucketed_options_t bo = TIDAL_BUCKETED_OPTIONS_INITIALIZER;
    bo.schedule = o_.schedule;
    st = rs ? tidal_bucketed_reduce_scatter(list_, shard_.data(), op_, &bo, &req)
            : tidal_bucketed_all_gather(list_, shard_.data(), &bo, &req);
    if (st == TIDAL_SUCCESS) requests->push_back(req);
    return st;
  }
  // Flat is the per-tensor path with one tensor spanning the whole model.
  const size_t pieces = path == kFlat ? 1 : layout_.counts.size();
  for (size_t t = 0; t < pieces && st == TIDAL_SUCCESS; ++t) {
    const size_t offset = path == kFlat ? 0 : layout_.offsets[t];
    const size_t chunk = (path == kFlat ? layout_.total : layout_.padded[t]) / n;
    char* base = tensors_.at(offset * es_);
    st = rs ? tidal_reduce_scatter(base, scattered_.at(offset / n * es_), chunk, dtype_, op_,
                                   s_.comm, &req)
            : tidal_all_gather(base + r * chunk * es_, base, chunk, dtype_, s_.comm, &req);
    if (st == TIDAL_SUCCESS) requests->push_back(req);
  }
  return st;
}

size_t BucketedRun::calls(Path path) const {
  return path == kFlat ? 1 : path == kBucketed ? buckets_ : layout_.counts.size();
}

bool BucketedRun::time_once(Path path, double* seconds) {
  std::vector<tidal_request_t> requests;
  if (!team_.barrier()) return false;
  const auto t0 = std::chrono::steady_clock::now();
  tidal_status_t st = post(path, &requests);
  tidal_status_t waited = tidal_wait_all(requests.size(), requests.data());
  const auto t1 = std::chrono::steady_clock::now();
  for (tidal_request_t r : requests) tidal_request_free(r);
  if (st == TIDAL_SUCCESS) st = waited;
  if (st != TIDAL_SUCCESS) return fail(std::string(program_) + " " + kPathNames[path], st);
  *seconds = std::chrono::duration<double>(t1 - t0).count();
  static const TeamReduce kModes[] = {TeamReduce::kRank0, TeamReduce::kSum, TeamReduce::kMin,
                                      TeamReduce::kMax};
  if (!team_.all_reduce(seconds, kModes[o_.average], s_.slot)) return false;
  if (o_.average == 1) *seconds /= s_.nranks;
  return true;
}

// Inputs. Reduce-scatter: element g of the model (padding included) holds
// reduction_input(plan, rank, g). All-gather: each rank holds what it owns
// (its block of the flat buffer, its chunk of every tensor, or its shard
// segments) with the rank-independent value copy_input(plan, 0, g); the
// rest is poison until the gather fills it.
bool BucketedRun::stage(Path path, const DataPlan& plan) {
  std::string error;
  const size_t r = static_cast<size_t>(s_.rank), n = static_cast<size_t>(s_.nranks);
  std::memset(tensors_.host(), kPoison, layout_.total * es_);
  shard_.poison();
  if (kind_ == BucketedKind::kReduceScatter) {
    fill_reduction_input(plan, s_.rank, 0, layout_.total, tensors_.host());
    std::memset(scattered_.host(), kPoison, layout_.total / n * es_);
    return (tensors_.push(&error) && scattered_.push(&error) && shard_.push(&error)) ||
           fail(error, TIDAL_ERR_TRANSPORT);
  }
  for (size_t t = 0; t < layout_.counts.size(); ++t) {
    const size_t off = layout_.offsets[t];
    if (path == kPerTensor) {
      const size_t chunk = layout_.padded[t] / n;
      fill_copy_input(plan, 0, off + r * chunk, chunk, tensors_.host() + (off + r * chunk) * es_);
    } else if (path == kBucketed) {
      size_t nseg = 0;
      tidal_tensor_list_shard_segments(list_, t, nullptr, 0, &nseg);
      std::vector<tidal_shard_segment_t> segs(nseg);
      tidal_tensor_list_shard_segments(list_, t, segs.data(), nseg, &nseg);
      for (const tidal_shard_segment_t& g : segs) {
        fill_copy_input(plan, 0, off + g.tensor_offset, g.count, shard_.host() + g.shard_offset);
      }
    }
  }
  if (path == kFlat) {
    const size_t block = layout_.total / n;
    fill_copy_input(plan, 0, r * block, block, tensors_.host() + r * block * es_);
  }
  return (tensors_.push(&error) && shard_.push(&error)) || fail(error, TIDAL_ERR_TRANSPORT);
}

int64_t BucketedRun::check_reduce_scatter(Path path, const DataPlan& plan) {
  const size_t n = static_cast<size_t>(s_.nranks), r = static_cast<size_t>(s_.rank);
  int64_t wrong = 0;
  std::vector<unsigned char> want;
  auto compare = [&](size_t first, size_t count, const unsigned char* got) {
    want.resize(count * es_);
    fill_reduction_result(plan, first, count, want.data());
    wrong += count_wrong(got, want.data(), count, dtype_);
  };
  if (path == kFlat) compare(r * (layout_.total / n), layout_.total / n, scattered_.host());
  for (size_t t = 0; path != kFlat && t < layout_.counts.size(); ++t) {
    const size_t off = layout_.offsets[t], chunk = layout_.padded[t] / n;
    if (path == kPerTensor) {
      compare(off + r * chunk, chunk, scattered_.host() + off / n * es_);
      continue;
    }
    size_t nseg = 0;
    tidal_tensor_list_shard_segments(list_, t, nullptr, 0, &nseg);
    std::vector<tidal_shard_segment_t> segs(nseg);
    tidal_tensor_list_shard_segments(list_, t, segs.data(), nseg, &nseg);
    for (const tidal_shard_segment_t& g : segs) {
      compare(off + g.tensor_offset, g.count, shard_.host() + g.shard_offset);
    }
  }
  return wrong;
}

int64_t BucketedRun::check_all_gather(Path path, const DataPlan& plan) {
  int64_t wrong = 0;
  std::vector<unsigned char> want;
  for (size_t t = 0; t < layout_.counts.size(); ++t) {
    // The bucketed path writes the tensors only, the others the padding too.
    const size_t count = path == kBucketed ? layout_.counts[t] : layout_.padded[t];
    const size_t off = layout_.offsets[t];
    want.resize(count * es_);
    fill_copy_input(plan, 0, off, count, want.data());
    wrong += count_wrong(tensors_.host() + off * es_, want.data(), count, dtype_);
  }
  return wrong;
}

int64_t BucketedRun::check(Path path, const DataPlan& plan) {
  std::string error;
  std::vector<tidal_request_t> requests;
  if (!stage(path, plan)) return -1;
  tidal_status_t st = post(path, &requests);
  tidal_status_t waited = tidal_wait_all(requests.size(), requests.data());
  for (tidal_request_t r : requests) tidal_request_free(r);
  if (st == TIDAL_SUCCESS) st = waited;
  if (st != TIDAL_SUCCESS) return fail(kPathNames[path], st), -1;
  StagedBuffer& out = kind_ == BucketedKind::kAllGather ? tensors_
                      : path == kBucketed               ? shard_
                                                        : scattered_;
  if (!out.pull(&error)) return fail(error, TIDAL_ERR_TRANSPORT), -1;
  if (corruption_requested() && s_.rank == 0) out.host()[0] ^= 0x5a;
  return kind_ == BucketedKind::kReduceScatter ? check_reduce_scatter(path, plan)
                                               : check_all_gather(path, plan);
}

void BucketedRun::print(const std::string& label, const double* median_s, const int64_t* wrong) {
  const double bytes = static_cast<double>(layout_.total) * es_;
  const double factor = static_cast<double>(s_.nranks - 1) / s_.nranks;
  std::printf("# Bucketed mode: %s, %zu tensors, %zu elements of %s (%.2f MB padded), %d ranks, "
              "%zu buckets\n#\n", label.c_str(), layout_.counts.size(), layout_.total,
              dtype_display_name(dtype_), bytes / 1e6, s_.nranks, buckets_);
  std::printf("# %12s  %8s  %12s  %9s  %6s  %6s  %6s  %7s\n", "path", "calls", "size", "time",
              "algbw", "busbw", "#wrong", "vs flat");
  std::printf("# %12s  %8s  %12s  %9s  %6s  %6s  %6s  %7s\n", "", "", "(B)", "(us)", "(GB/s)",
              "(GB/s)", "", "(x)");
  for (int p = 0; p < kPaths; ++p) {
    const double alg = median_s[p] > 0 ? bytes / 1e9 / median_s[p] : 0;
    std::printf("  %12s  %8zu  %12.0f  %9s  %6s  %6s  %6lld  %7.2f\n", kPathNames[p],
                calls(static_cast<Path>(p)), bytes,
                format_fixed_width(median_s[p] * 1e6, 9).c_str(),
                format_fixed_width(alg, 6).c_str(), format_fixed_width(alg * factor, 6).c_str(),
                static_cast<long long>(wrong[p]), median_s[kFlat] > 0 ? median_s[p] / median_s[kFlat] : 0);
  }
  std::printf("# times are medians of %d interleaved rounds (flat, bucketed, per-tensor)\n",
              o_.iters);
}

bool BucketedRun::run(const std::string& label, RankTotals* totals) {
  if (!prepare()) return false;
  const DataPlan plan{dtype_, op_, s_.nranks, 1};
  double seconds = 0;
  for (int w = 0; w < o_.warmup_iters; ++w) {
    for (int p = 0; p < kPaths; ++p) {
      if (!time_once(static_cast<Path>(p), &seconds)) return false;
    }
  }
  std::vector<double> samples[kPaths];
  for (int i = 0; i < o_.iters; ++i) {
    for (int p = 0; p < kPaths; ++p) {
      if (!time_once(static_cast<Path>(p), &seconds)) return false;
      samples[p].push_back(seconds);
    }
  }
  double medians[kPaths];
  int64_t wrong[kPaths] = {0, 0, 0};
  for (int p = 0; p < kPaths; ++p) {
    medians[p] = median(samples[p]);
    const int64_t mine = o_.check_iters > 0 ? check(static_cast<Path>(p), plan) : 0;
    double total = static_cast<double>(mine < 0 ? 0 : mine);
    if (mine < 0 || !team_.all_reduce(&total, TeamReduce::kSum)) return false;
    double halves = mine > 0 ? 1 : 0;
    if (!team_.all_reduce(&halves, TeamReduce::kSum)) return false;
    wrong[p] = static_cast<int64_t>(total);
    totals->wrong_halves += static_cast<int64_t>(halves);
  }
  if (s_.reporter) {
    print(label, medians, wrong);
    s_.reporter->add_busbw(medians[kBucketed] > 0
        ? static_cast<double>(layout_.total) * es_ / 1e9 / medians[kBucketed] *
              (s_.nranks - 1) / s_.nranks : 0);
  }
  return true;
}

}  // namespace

bool load_tensor_counts(const std::string& model, std::vector<size_t>* counts,
                        std::string* label, std::string* error) {
#if TIDAL_PERF_HAVE_DIT_MODELS
  const std::pair<const char*, const char*> kModels[] = {
      {"dit-s", "s"}, {"dit-b", "b"}, {"dit-xl", "xl"}};
  for (const auto& m : kModels) {
    tidal_bench::DiTConfig config;
    if (model == m.first && tidal_bench::dit_by_name(m.second, &config)) {
      *counts = tidal_bench::dit_counts(config);
      *label = config.name;
      return true;
    }
  }
#endif
  std::ifstream in(model);
  if (!in) {
    *error = "--bucketed: '" + model + "' is neither dit-s, dit-b, dit-xl nor a readable file";
    return false;
  }
  counts->clear();
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = line.substr(0, line.find('#'));
    std::istringstream fields(line);
    long long count = 0;
    std::string rest;
    if (!(fields >> count)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      count = 0;
    }
    if (count <= 0 || (fields >> rest)) {
      *error = model + ":" + std::to_string(number) + ": want one positive element count per line";
      return false;
    }
    counts->push_back(static_cast<size_t>(count));
  }
  *label = model;
  if (counts->empty()) *error = model + ": no tensor counts";
  return !counts->empty();
}

bool run_bucketed(const PerfOptions& options, BucketedKind kind, const char* program,
                  Team& team, const RankSetup& setup, RankTotals* totals) {
  std::vector<size_t> counts;
  std::string label, error;
  if (!load_tensor_counts(options.bucketed_model, &counts, &label, &error)) {
    team.fail(error, /*agreed=*/true);
    return false;
  }
  BucketedRun run(options, kind, program, team, setup, counts);
  return run.run(label, totals);
}

}  // namespace tidal_perf
