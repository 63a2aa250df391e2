// train — the reference DiT / VAE trainer on tidal, run under mpiexec.
//
// ZeRO-3-style data parallelism, everything through tidal's C API:
//   - gradients: one tensor list over per-parameter gradient buffers and a
//     grad reducer; each parameter's autograd hook copies its gradient and
//     calls tidal_grad_ready, so buckets are averaged (reduce-scatter)
//     while backward still runs; tidal_grad_reducer_wait before the step;
//   - optimizer: AdamW over this rank's flat shard only (the reducer's
//     shard of gradients, the gatherer's shard of master parameters);
//   - parameters: a param gatherer over the model's own parameter memory
//     all-gathers the updated shards, prefetched in forward order and
//     waited for just before each layer runs (optionally in bf16 or
//     block-scaled FP8: --gather bf16|fp8);
//   - data: synthetic class-conditional latents (DiT) or images (VAE),
//     filled ahead by a pinned host-memory loader (tasks.h);
//   - checkpoint: rank 0 saves the parameters asynchronously in
//     safetensors (--ckpt DIR) and reads them back to verify.
//
//   mpiexec -n 2 build/examples/trainer/train --model dit --steps 50
//   mpiexec -n 2 build/examples/trainer/train --model vae --steps 50
#include <mpi.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "sharded_adamw.h"
#include "tasks.h"
#include "tidal/bucket.h"
#include "tidal/ckpt.h"
#include "tidal/mpi.h"
#include "tidal/overlap.h"
#include "tidal/pinned.h"

namespace {

void check(tidal_status_t rc, const char* what) {
  if (rc != TIDAL_SUCCESS) {
    throw std::runtime_error(std::string(what) + ": " + tidal_status_string(rc) + ": " +
                             tidal_last_error());
  }
}

struct Args {
  std::string model = "dit";   // dit | vae
  int steps = 20;
  int global_batch = 8;
  float lr = 1e-3f;
  size_t bucket_kib = 64;
  std::string gather = "f32";  // f32 | bf16 | fp8
  std::string ckpt;            // directory; empty: no checkpoint
  uint64_t seed = 1;
  bool overlap = true;         // reduce buckets during backward (else after it)
  int width = 0, depth = 0;    // model size (0: the task's default)
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
      return argv[++i];
    };
    if (k == "--model") a.model = value();
    else if (k == "--steps") a.steps = std::stoi(value());
    else if (k == "--global-batch") a.global_batch = std::stoi(value());
    else if (k == "--lr") a.lr = std::stof(value());
    else if (k == "--bucket-kib") a.bucket_kib = std::stoul(value());
    else if (k == "--gather") a.gather = value();
    else if (k == "--ckpt") a.ckpt = value();
    else if (k == "--seed") a.seed = std::stoull(value());
    else if (k == "--overlap") a.overlap = std::stoi(value()) != 0;
    else if (k == "--width") a.width = std::stoi(value());
    else if (k == "--depth") a.depth = std::stoi(value());
    else throw std::invalid_argument("unknown option " + k);
  }
  if (a.model != "dit" && a.model != "vae") throw std::invalid_argument("--model is dit or vae");
  if (a.gather != "f32" && a.gather != "bf16" && a.gather != "fp8") {
    throw std::invalid_argument("--gather is f32, bf16 or fp8");
  }
  if (a.steps < 1 || a.global_batch < 1 || a.bucket_kib < 1) {
    throw std::invalid_argument("--steps, --global-batch and --bucket-kib must be positive");
  }
  return a;
}

// This rank's part of a step's global batch.
struct Batch {
  const trainer::Task* task;
  int rank, world, local;
  uint64_t seed;
  size_t bytes() const { return static_cast<size_t>(local) * task->sample_floats() * sizeof(float); }
};

// Fills batch `step` of this rank: global samples [rank*local, (rank+1)*local)
// of the step, each from its own generator, so any rank count sees the same
// global batch. Runs on the pinned loader's thread.
tidal_status_t fill_batch(void* user, uint64_t step, void* buffer, size_t) {
  const Batch& b = *static_cast<const Batch*>(user);
  for (int s = 0; s < b.local; ++s) {
    const uint64_t sample = step * static_cast<uint64_t>(b.local) * b.world +
                            static_cast<uint64_t>(b.rank) * b.local + s;
    std::mt19937_64 rng(b.seed * 0x9e3779b97f4a7c15ull + sample);
    b.task->fill(rng, static_cast<float*>(buffer) + s * b.task->sample_floats());
  }
  return TIDAL_SUCCESS;
}

// A tensor list over `tensors` (f32, one per parameter). Gradients and
// parameters use lists with the same element layout (same bucket element
// capacity and alignment), so the reducer's gradient shard and the
// gatherer's parameter shard line up element for element.
tidal_tensor_list_t make_list(tidal_comm_t comm, const std::vector<torch::Tensor>& tensors,
                              size_t bucket_bytes, int comm_dtype) {
  std::vector<tidal_tensor_desc_t> d;
  for (const auto& t : tensors) d.push_back({t.data_ptr<float>(), size_t(t.numel()), TIDAL_F32});
  const size_t bytes_per = comm_dtype < 0 ? 4 : tidal_dtype_size(static_cast<tidal_dtype_t>(comm_dtype));
  tidal_bucket_options_t o = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  o.bucket_bytes = bucket_bytes / 4 * bytes_per;
  o.first_bucket_bytes = bucket_bytes / 16 * bytes_per;
  o.align_bytes = 4 * bytes_per;          // 4 elements whatever the dtype
  o.order = TIDAL_BUCKET_ORDER_REVERSE;   // gradients arrive last layer first
  o.comm_dtype = comm_dtype;
  tidal_tensor_list_t list = nullptr;
  check(tidal_tensor_list_create(comm, d.data(), d.size(), &o, &list), "tensor list");
  return list;
}

void check_same_layout(tidal_tensor_list_t a, tidal_tensor_list_t b, size_t tensors) {
  size_t ba = 0, bb = 0;
  tidal_tensor_list_shard_bytes(a, &ba);
  tidal_tensor_list_shard_bytes(b, &bb);
  for (size_t t = 0; t < tensors && ba == bb; ++t) {
    size_t na = 0, nb = 0;
    tidal_tensor_list_shard_segments(a, t, nullptr, 0, &na);
    tidal_tensor_list_shard_segments(b, t, nullptr, 0, &nb);
    std::vector<tidal_shard_segment_t> sa(na), sb(nb);
    tidal_tensor_list_shard_segments(a, t, sa.data(), na, &na);
    tidal_tensor_list_shard_segments(b, t, sb.data(), nb, &nb);
    if (na != nb) ba = bb + 1;
    for (size_t i = 0; i < na && ba == bb; ++i) {
      if (sa[i].tensor_offset != sb[i].tensor_offset || sa[i].shard_offset != sb[i].shard_offset ||
          sa[i].count != sb[i].count) {
        ba = bb + 1;
      }
    }
  }
  if (ba != bb) throw std::runtime_error("gradient and parameter shards do not line up");
}

// This rank's elements of every tensor, copied into its shard.
void copy_into_shard(tidal_tensor_list_t list, const std::vector<torch::Tensor>& tensors,
                     float* shard) {
  for (size_t t = 0; t < tensors.size(); ++t) {
    size_t n = 0;
    tidal_tensor_list_shard_segments(list, t, nullptr, 0, &n);
    std::vector<tidal_shard_segment_t> segs(n);
    tidal_tensor_list_shard_segments(list, t, segs.data(), n, &n);
    const float* src = tensors[t].data_ptr<float>();
    for (const auto& s : segs) {
      std::memcpy(reinterpret_cast<char*>(shard) + s.shard_offset, src + s.tensor_offset,
                  s.count * sizeof(float));
    }
  }
}

// sum and sum of squares of every parameter (what the equivalence test compares).
std::pair<double, double> checksum(const std::vector<torch::Tensor>& params) {
  double sum = 0, sq = 0;
  for (const auto& p : params) {
    const float* v = p.data_ptr<float>();
    for (int64_t i = 0; i < p.numel(); ++i) {
      sum += v[i];
      sq += static_cast<double>(v[i]) * v[i];
    }
  }
  return {sum, sq};
}

int train(const Args& args, tidal_comm_t comm, int rank, int world) {
  if (args.global_batch % world != 0) {
    throw std::invalid_argument("--global-batch must divide by the number of ranks");
  }
  torch::set_num_threads(1);
  torch::manual_seed(static_cast<uint64_t>(args.seed));  // same initial weights everywhere
  std::unique_ptr<trainer::Task> task = trainer::make_task(args.model, args.width, args.depth);
  torch::nn::Module& model = task->module();
  std::vector<torch::Tensor> params = model.parameters();
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) grads.push_back(torch::zeros_like(p));

  // Gradients: reduce-scattered (averaged) bucket by bucket during backward.
  const size_t bucket_bytes = args.bucket_kib << 10;
  tidal_tensor_list_t grad_list = make_list(comm, grads, bucket_bytes, -1);
  tidal_grad_reducer_options_t ro = TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER;
  ro.op = TIDAL_AVG;
  tidal_grad_reducer_t reducer = nullptr;
  check(tidal_grad_reducer_create(grad_list, &ro, &reducer), "grad reducer");
  const bool overlap = args.overlap;
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].register_hook([&grads, reducer, i, overlap](torch::Tensor g) {
      grads[i].copy_(g);
      if (overlap) check(tidal_grad_ready(reducer, i), "tidal_grad_ready");
    });
  }

  // Parameters: the master shard (f32) is what the optimizer steps on; the
  // gatherer writes the gathered values into the model's own memory.
  const int gather_dtype = args.gather == "bf16" ? TIDAL_BF16
                           : args.gather == "fp8" ? TIDAL_FP8_E4M3 : -1;
  tidal_tensor_list_t param_list = make_list(comm, params, bucket_bytes, gather_dtype);
  check_same_layout(grad_list, param_list, params.size());
  size_t shard_bytes = 0, buckets = 0;
  tidal_tensor_list_shard_bytes(param_list, &shard_bytes);
  tidal_tensor_list_num_buckets(param_list, &buckets);
  std::vector<float> master(shard_bytes / sizeof(float), 0.0f);
  copy_into_shard(param_list, params, master.data());
  tidal_param_gatherer_options_t go = TIDAL_PARAM_GATHERER_OPTIONS_INITIALIZER;
  go.depth = 2;
  tidal_param_gatherer_t gatherer = nullptr;
  check(tidal_param_gatherer_create(param_list, master.data(), &go, &gatherer), "gatherer");
  // The buckets of each layer (the list is in reverse order: forward runs
  // from the last bucket to the first).
  std::vector<std::pair<size_t, size_t>> layer_buckets;
  for (const auto& [first, last] : task->layer_params()) {
    size_t lo = SIZE_MAX, hi = 0;
    for (size_t t = first; t <= last; ++t) {
      size_t a = 0, b = 0;
      check(tidal_tensor_list_buckets_of(param_list, t, &a, &b), "buckets_of");
      lo = std::min(lo, a);
      hi = std::max(hi, b);
    }
    layer_buckets.emplace_back(lo, hi);
  }
  auto wait_layer = [&](size_t first, size_t) {
    for (size_t l = 0; l < layer_buckets.size(); ++l) {
      if (task->layer_params()[l].first != first) continue;
      for (size_t b = layer_buckets[l].first; b <= layer_buckets[l].second; ++b) {
        check(tidal_param_wait(gatherer, b), "tidal_param_wait");
      }
    }
  };

  // Data: the pinned loader fills batches ahead on its own thread.
  Batch batch{task.get(), rank, world, args.global_batch / world, args.seed};
  tidal_pinned_config_t pc = TIDAL_PINNED_CONFIG_INITIALIZER;
  pc.preallocate_bytes = 4 * batch.bytes();
  tidal_pinned_pool_t pool = nullptr;
  check(tidal_pinned_pool_create(&pc, &pool), "pinned pool");
  tidal_pinned_loader_t loader = nullptr;
  check(tidal_pinned_loader_create(pool, batch.bytes(), 2, static_cast<uint64_t>(args.steps),
                                   fill_batch, &batch, &loader),
        "pinned loader");

  dit::ShardedAdamW adamw(master.size(), dit::AdamWOptions{args.lr});
  void* grad_shard = nullptr;
  size_t grad_shard_bytes = 0;
  check(tidal_grad_reducer_shard(reducer, &grad_shard, &grad_shard_bytes), "reducer shard");

  const int64_t n = batch.local;
  std::vector<double> step_ms;
  for (int step = 0; step < args.steps; ++step) {
    const auto start = std::chrono::steady_clock::now();
    void* data = nullptr;
    uint64_t index = 0;
    check(tidal_pinned_loader_next(loader, &data, &index), "next batch");
    auto samples = torch::from_blob(
        data, {n, static_cast<int64_t>(task->sample_floats())}, torch::kFloat32);

    // Forward: prefetch every bucket in forward order, wait per layer.
    for (size_t b = buckets; b-- > 0;) check(tidal_param_prefetch(gatherer, b), "prefetch");
    auto loss = task->loss(samples, wait_layer);
    model.zero_grad();
    loss.backward();  // the hooks launch each bucket's reduce-scatter as it fills
    if (!overlap) {   // the baseline: every bucket after backward
      for (size_t i = 0; i < params.size(); ++i) check(tidal_grad_ready(reducer, i), "ready");
    }
    check(tidal_grad_reducer_wait(reducer), "tidal_grad_reducer_wait");
    check(tidal_pinned_free(pool, data), "pinned free");
    adamw.step(master.data(), static_cast<const float*>(grad_shard));
    check(tidal_param_release(gatherer, SIZE_MAX), "release");
    step_ms.push_back(std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - start).count());

    float l = loss.item<float>(), mean = 0;
    check(tidal_all_reduce(&l, &mean, 1, TIDAL_F32, TIDAL_AVG, comm, nullptr), "loss");
    if (rank == 0 && (step % 10 == 0 || step + 1 == args.steps)) {
      std::printf("step %4d  loss %.5f\n", step, mean);
      std::fflush(stdout);
    }
  }
  // Gather the final parameters.
  for (size_t b = 0; b < buckets; ++b) check(tidal_param_wait(gatherer, b), "final gather");
  const auto [sum, sq] = checksum(params);

  tidal_bucket_counters_t rc{}, gc{};
  tidal_grad_reducer_get_counters(reducer, &rc);
  tidal_param_gatherer_get_counters(gatherer, &gc);
  if (rank == 0) {
    int64_t elements = 0;
    for (const auto& p : params) elements += p.numel();
    std::printf("params %zu tensors, %lld elements; gradients %llu buckets reduce-scattered, "
                "%.1f ms exposed; parameters %llu buckets gathered (%s), %.1f ms exposed\n",
                params.size(), static_cast<long long>(elements),
                static_cast<unsigned long long>(rc.buckets_launched), rc.wait_ns / 1e6,
                static_cast<unsigned long long>(gc.buckets_launched), args.gather.c_str(),
                gc.wait_ns / 1e6);
    std::printf("final params: sum %.9e sumsq %.9e\n", sum, sq);
    if (step_ms.size() > 2) {  // the first two steps warm up
      std::vector<double> v(step_ms.begin() + 2, step_ms.end());
      std::sort(v.begin(), v.end());
      std::printf("step time: median %.2f ms over %zu steps (overlap %s)\n", v[v.size() / 2],
                  v.size(), args.overlap ? "on" : "off");
    }
  }
  if (!args.ckpt.empty() && rank == 0) {
    // Asynchronous save (the snapshot returns before the write), then a read back.
    auto named = model.named_parameters();
    std::vector<std::vector<int64_t>> shapes;
    std::vector<std::string> names;
    for (const auto& kv : named) {
      names.push_back(kv.key());
      shapes.push_back(kv.value().sizes().vec());
    }
    std::vector<tidal_ckpt_tensor_t> tensors;
    for (size_t i = 0; i < names.size(); ++i) {
      tensors.push_back({names[i].c_str(), TIDAL_F32, static_cast<int>(shapes[i].size()),
                         shapes[i].data(), named[names[i]].data_ptr<float>()});
    }
    char dir[4096];
    check(tidal_ckpt_step_dir(args.ckpt.c_str(), args.steps, dir, sizeof(dir)), "step dir");
    const std::string path = std::string(dir) + "/model.safetensors";
    tidal_ckpt_writer_t writer = nullptr;
    check(tidal_ckpt_writer_create(nullptr, &writer), "ckpt writer");
    tidal_ckpt_save_options_t so = TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER;
    so.step = args.steps;
    tidal_ckpt_save_t save = nullptr;
    check(tidal_ckpt_save_async(writer, path.c_str(), tensors.data(), tensors.size(), &so, &save),
          "save");
    check(tidal_ckpt_save_wait_durable(save), "save durable");
    tidal_ckpt_save_free(save);
    tidal_ckpt_writer_destroy(writer);
    check(tidal_ckpt_commit(dir, args.steps), "commit");
    tidal_ckpt_reader_t reader = nullptr;
    check(tidal_ckpt_reader_open(path.c_str(), 1, &reader), "open checkpoint");
    size_t found = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      tidal_ckpt_tensor_info_t info;
      const size_t bytes = named[names[i]].numel() * sizeof(float);
      if (tidal_ckpt_reader_find(reader, names[i].c_str(), &info) == TIDAL_SUCCESS &&
          info.bytes == bytes && std::memcmp(info.data, tensors[i].data, bytes) == 0) {
        ++found;
      }
    }
    tidal_ckpt_reader_close(reader);
    std::printf("checkpoint %s: %zu of %zu tensors read back equal\n", path.c_str(), found,
                names.size());
    if (found != names.size()) throw std::runtime_error("checkpoint does not read back");
  }
  tidal_pinned_loader_destroy(loader);
  tidal_param_gatherer_destroy(gatherer);
  tidal_grad_reducer_destroy(reducer);
  tidal_tensor_list_destroy(param_list);
  tidal_tensor_list_destroy(grad_list);
  tidal_pinned_pool_destroy(pool);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, world = 1, rc = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  tidal_comm_t comm = nullptr;
  try {
    const Args args = parse(argc, argv);
    check(tidal_comm_create_mpi(MPI_COMM_WORLD, nullptr, &comm), "communicator");
    rc = train(args, comm, rank, world);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_dit (rank %d): %s\n", rank, e.what());
    rc = 1;
  }
  if (comm) tidal_comm_destroy(comm);
  MPI_Finalize();
  return rc;
}
