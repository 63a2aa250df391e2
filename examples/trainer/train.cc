// train — the reference DiT / VAE trainer on tidal, run under mpiexec.
//
// Data parallelism in the ZeRO-3 style, everything through tidal's C API:
//   - gradients, optimizer shards and parameters: zero3.h (gradient
//     buckets reduce-scattered from the autograd hooks during backward,
//     AdamW on this rank's shard, parameters all-gathered per layer just
//     before use, in f32, bf16 or block-scaled FP8: --gather);
//   - data: synthetic class-conditional latents (DiT) or images (VAE),
//     filled ahead by a pinned host-memory loader (tasks.h);
//   - checkpoint: rank 0 saves the parameters asynchronously in
//     safetensors (--ckpt DIR), commits the step and reads it back.
//
//   mpiexec -n 2 build/examples/trainer/train --model dit --steps 50
//   mpiexec -n 2 build/examples/trainer/train --model vae --steps 50
#include <mpi.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tasks.h"
#include "tidal/ckpt.h"
#include "tidal/mpi.h"
#include "tidal/pinned.h"
#include "zero3.h"

namespace {

using trainer::check;

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

// Saves the model's parameters asynchronously into root/step-N/, commits
// the step, and reads every tensor back.
void save_checkpoint(torch::nn::Module& model, const std::string& root, int step) {
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
  check(tidal_ckpt_step_dir(root.c_str(), step, dir, sizeof(dir)), "step dir");
  const std::string path = std::string(dir) + "/model.safetensors";
  tidal_ckpt_writer_t writer = nullptr;
  check(tidal_ckpt_writer_create(nullptr, &writer), "ckpt writer");
  tidal_ckpt_save_options_t so = TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER;
  so.step = step;
  tidal_ckpt_save_t save = nullptr;
  check(tidal_ckpt_save_async(writer, path.c_str(), tensors.data(), tensors.size(), &so, &save),
        "save");
  check(tidal_ckpt_save_wait_durable(save), "save durable");
  tidal_ckpt_save_free(save);
  tidal_ckpt_writer_destroy(writer);
  check(tidal_ckpt_commit(dir, step), "commit");

  tidal_ckpt_reader_t reader = nullptr;
  check(tidal_ckpt_reader_open(path.c_str(), 1, &reader), "open checkpoint");
  size_t equal = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    tidal_ckpt_tensor_info_t info;
    const size_t bytes = named[names[i]].numel() * sizeof(float);
    if (tidal_ckpt_reader_find(reader, names[i].c_str(), &info) == TIDAL_SUCCESS &&
        info.bytes == bytes && std::memcmp(info.data, tensors[i].data, bytes) == 0) {
      ++equal;
    }
  }
  tidal_ckpt_reader_close(reader);
  std::printf("checkpoint %s: %zu of %zu tensors read back equal\n", path.c_str(), equal,
              names.size());
  if (equal != names.size()) throw std::runtime_error("checkpoint does not read back");
}

void print_summary(const Args& args, const std::vector<torch::Tensor>& params,
                   const trainer::Zero3& zero, const std::vector<double>& step_ms) {
  const tidal_bucket_counters_t rc = zero.gradient_counters(), gc = zero.parameter_counters();
  int64_t elements = 0;
  for (const auto& p : params) elements += p.numel();
  std::printf("params %zu tensors, %lld elements; gradients %llu buckets reduce-scattered, "
              "%.1f ms exposed; parameters %llu buckets gathered (%s), %.1f ms exposed\n",
              params.size(), static_cast<long long>(elements),
              static_cast<unsigned long long>(rc.buckets_launched), rc.wait_ns / 1e6,
              static_cast<unsigned long long>(gc.buckets_launched), args.gather.c_str(),
              gc.wait_ns / 1e6);
  const auto [sum, sq] = checksum(params);
  std::printf("final params: sum %.9e sumsq %.9e\n", sum, sq);
  if (step_ms.size() > 2) {  // the first two steps warm up
    std::vector<double> v(step_ms.begin() + 2, step_ms.end());
    std::sort(v.begin(), v.end());
    std::printf("step time: median %.2f ms over %zu steps (overlap %s)\n", v[v.size() / 2],
                v.size(), args.overlap ? "on" : "off");
  }
}

void train(const Args& args, tidal_comm_t comm, int rank, int world) {
  if (args.global_batch % world != 0) {
    throw std::invalid_argument("--global-batch must divide by the number of ranks");
  }
  torch::set_num_threads(1);
  torch::manual_seed(static_cast<uint64_t>(args.seed));  // same initial weights everywhere
  std::unique_ptr<trainer::Task> task = trainer::make_task(args.model, args.width, args.depth);
  torch::nn::Module& model = task->module();
  const std::vector<torch::Tensor> params = model.parameters();

  trainer::Zero3Options zo;
  zo.bucket_bytes = args.bucket_kib << 10;
  zo.gather_dtype = args.gather == "bf16" ? TIDAL_BF16
                    : args.gather == "fp8" ? TIDAL_FP8_E4M3 : -1;
  zo.overlap = args.overlap;
  zo.adamw.lr = args.lr;
  trainer::Zero3 zero(comm, params, task->layer_params(), zo);

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

  std::vector<double> step_ms;
  for (int step = 0; step < args.steps; ++step) {
    const auto start = std::chrono::steady_clock::now();
    void* data = nullptr;
    uint64_t index = 0;
    check(tidal_pinned_loader_next(loader, &data, &index), "next batch");
    auto samples = torch::from_blob(
        data, {batch.local, static_cast<int64_t>(task->sample_floats())}, torch::kFloat32);
    zero.prefetch_all();
    auto loss = task->loss(samples, [&](size_t first, size_t) { zero.wait_layer(first); });
    model.zero_grad();
    loss.backward();  // the hooks launch each bucket's reduce-scatter as it fills
    zero.step();
    check(tidal_pinned_free(pool, data), "pinned free");
    step_ms.push_back(std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - start).count());

    float l = loss.item<float>(), mean = 0;
    check(tidal_all_reduce(&l, &mean, 1, TIDAL_F32, TIDAL_AVG, comm, nullptr), "loss");
    if (rank == 0 && (step % 10 == 0 || step + 1 == args.steps)) {
      std::printf("step %4d  loss %.5f\n", step, mean);
      std::fflush(stdout);
    }
  }
  zero.gather_all();
  if (rank == 0) print_summary(args, params, zero, step_ms);
  if (rank == 0 && !args.ckpt.empty()) save_checkpoint(model, args.ckpt, args.steps);
  tidal_pinned_loader_destroy(loader);
  tidal_pinned_pool_destroy(pool);
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
    train(args, comm, rank, world);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train (rank %d): %s\n", rank, e.what());
    rc = 1;
  }
  if (comm) tidal_comm_destroy(comm);
  MPI_Finalize();
  return rc;
}
