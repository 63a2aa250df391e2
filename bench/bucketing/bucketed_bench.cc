// tidal-bench-bucketed — bucketed reduce-scatter and all-gather of a DiT
// parameter list against one flat collective of all bytes and one
// collective per tensor, with the bucket size swept, and the memory bound
// (every rank memcpy's its bytes at once) measured in the same rounds.
// "Bucketed" is the default path: on local threads its buckets run direct
// (the collectives read and write the tensors in place, no pack pass); on
// MPI it packs/unpacks on the list's pack worker (overlapping the
// collectives). "packed" (local threads only) is the copying path with
// direct buckets off; "serial passes" runs the passes between the
// collectives.
// Per bucket size, the variants run interleaved; medians and their ratios
// are printed by rank 0. Local threads or mpiexec (--backend mpi).
// --pooled carves the tensors out of one allocation (64-byte aligned), as
// a framework's caching allocator places them, instead of one allocation
// each, and runs the flat collectives and the memcpy bound on that same
// allocation (same pages: on this VM the same code reading the same
// layout ran 3.4x slower on memory allocated first than on memory
// allocated later, so comparisons across allocations mislead).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "bench/bucketing/bench_stats.h"
#include "bench/bucketing/dit_models.h"
#include "bench/bucketing/rank_harness.h"
#include "bench/bucketing/sweep_options.h"
#include "tidal/bucket.h"

namespace {

using tidal_bench::Samples;
using tidal_bench::timed_max;

using Options = tidal_bench::SweepOptions;

// What one rank holds: its gradients (one buffer per tensor) and the
// baselines' buffers.
struct RankData {
  std::vector<std::vector<float>> tensors, per_tensor_out;  // tensors: unless pooled
  std::vector<float> pool;                                   // pooled tensors
  std::vector<float*> ptr;                                   // tensor t's elements
  std::vector<size_t> padded;                                // tensor t's padded count
  std::vector<float> flat, flat_shard, copy_dst;
  // The flat collectives' buffer: `flat`, or, pooled, the pool itself (the
  // same memory the tensors live in: on a VM the speed of memory depends
  // on where it was allocated, so the comparison reads the same pages).
  float* flat_ptr = nullptr;
  size_t flat_count = 0;
  std::vector<size_t> counts;
  size_t total = 0;
};

size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

void setup(const Options& o, bool pooled, int rank, int size, RankData* d) {
  tidal_bench::DiTConfig model;
  tidal_bench::dit_by_name(o.model, &model);
  d->counts = tidal_bench::dit_counts(model);
  const float value = static_cast<float>(1 + rank % 3);
  size_t pool_count = 0;
  for (size_t c : d->counts) {
    // Per-tensor collectives need counts divisible by the rank count: pad
    // the rare tensor that is not (DiT's sizes are multiples of 32).
    const size_t padded = round_up(c, static_cast<size_t>(size));
    d->padded.push_back(padded);
    if (!pooled) d->tensors.emplace_back(padded, value);
    d->per_tensor_out.emplace_back(padded / size, 0.0f);
    d->total += padded;
    pool_count += round_up(padded, 16);
  }
  if (pooled) d->pool.assign(round_up(pool_count + 16, 16 * static_cast<size_t>(size)), value);
  float* at = d->pool.data();
  if (pooled) at += (16 - reinterpret_cast<uintptr_t>(at) / sizeof(float) % 16) % 16;
  for (size_t t = 0; t < d->counts.size(); ++t) {
    d->ptr.push_back(pooled ? at : d->tensors[t].data());
    if (pooled) at += round_up(d->padded[t], 16);
  }
  if (!pooled) d->flat.assign(round_up(d->total, static_cast<size_t>(size)), 1.0f);
  d->flat_ptr = pooled ? d->pool.data() : d->flat.data();
  d->flat_count = pooled ? d->pool.size() : d->flat.size();
  d->flat_shard.assign(d->flat_count / size, 0.0f);
  d->copy_dst.assign(d->flat_count, 0.0f);
}

void per_tensor(tidal_comm_t comm, RankData& d, bool reduce_scatter, int size) {
  std::vector<tidal_request_t> reqs(d.ptr.size());
  for (size_t t = 0; t < d.ptr.size(); ++t) {
    const size_t n = d.padded[t] / size;
    if (reduce_scatter) {
      tidal_reduce_scatter(d.ptr[t], d.per_tensor_out[t].data(), n, TIDAL_F32, TIDAL_SUM, comm,
                           &reqs[t]);
    } else {
      tidal_all_gather(d.per_tensor_out[t].data(), d.ptr[t], n, TIDAL_F32, comm, &reqs[t]);
    }
  }
  tidal_wait_all(reqs.size(), reqs.data());
  for (auto r : reqs) tidal_request_free(r);
}

tidal_tensor_list_t make_list(tidal_comm_t comm, RankData& d, double mib, int zero_copy) {
  std::vector<tidal_tensor_desc_t> descs;
  for (size_t t = 0; t < d.ptr.size(); ++t) descs.push_back({d.ptr[t], d.counts[t], TIDAL_F32});
  tidal_bucket_options_t bo = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  bo.bucket_bytes = static_cast<size_t>(mib * (1 << 20));
  bo.first_bucket_bytes = 0;  // every bucket the swept size
  bo.zero_copy = zero_copy;
  tidal_tensor_list_t list = nullptr;
  if (tidal_tensor_list_create(comm, descs.data(), descs.size(), &bo, &list) != TIDAL_SUCCESS) {
    std::fprintf(stderr, "%s\n", tidal_last_error());
    return nullptr;
  }
  if (zero_copy) {  // the gradients live in the buckets: write them there
    for (size_t t = 0; t < d.ptr.size(); ++t) {
      void* p = nullptr;
      tidal_tensor_list_data(list, t, &p);
      std::memcpy(p, d.ptr[t], d.counts[t] * 4);
    }
  }
  return list;
}

// The communicator's ranks again, with direct buckets off (nullptr where
// the backend never runs them direct: the default path packs already).
tidal_comm_t packing_comm(tidal_comm_t comm, int rank) {
  const char* backend = "";
  tidal_comm_backend(comm, &backend);
  if (std::strcmp(backend, "local") != 0) return nullptr;
  return tidal_bench::split_without_direct_buckets(comm, rank);
}

void sweep_one_size(tidal_comm_t comm, tidal_comm_t packing, int rank, int size,
                    const Options& o, RankData& d, double mib) {
  tidal_tensor_list_t list = make_list(comm, d, mib, 0);
  tidal_tensor_list_t zc = make_list(comm, d, mib, 1);
  tidal_tensor_list_t packed = packing ? make_list(packing, d, mib, 0) : nullptr;
  if (!list || !zc || (packing && !packed)) return;
  size_t shard_bytes = 0, nb = 0;
  tidal_tensor_list_shard_bytes(list, &shard_bytes);
  tidal_tensor_list_num_buckets(list, &nb);
  std::vector<unsigned char> shard(shard_bytes);
  const size_t n = d.flat_count / size;
  // The copying path with its packs/unpacks on the progress thread,
  // between the collectives (no overlap): what the pack worker is worth.
  tidal_bucketed_options_t serial = TIDAL_BUCKETED_OPTIONS_INITIALIZER;
  serial.passes_on_progress_thread = 1;
  Samples s;
  for (int r = 0; r <= o.reps; ++r) {  // round 0 warms up
    auto add = [&](const char* v, double t) { if (r > 0) s.add(v, t); };
    add("memcpy bound", timed_max(comm, [&] {
      std::memcpy(d.copy_dst.data(), d.flat_ptr, d.flat_count * 4);
    }));
    add("RS flat", timed_max(comm, [&] {
      tidal_reduce_scatter(d.flat_ptr, d.flat_shard.data(), n, TIDAL_F32, TIDAL_SUM, comm, nullptr);
    }));
    add("RS per-tensor", timed_max(comm, [&] { per_tensor(comm, d, true, size); }));
    add("RS bucketed", timed_max(comm, [&] {
      tidal_bucketed_reduce_scatter(list, shard.data(), TIDAL_SUM, nullptr, nullptr);
    }));
    if (packed) {
      add("RS bucketed, packed", timed_max(comm, [&] {
        tidal_bucketed_reduce_scatter(packed, shard.data(), TIDAL_SUM, nullptr, nullptr);
      }));
    }
    add("RS bucketed, serial passes", timed_max(comm, [&] {
      tidal_bucketed_reduce_scatter(list, shard.data(), TIDAL_SUM, &serial, nullptr);
    }));
    add("RS bucketed zero-copy", timed_max(comm, [&] {
      tidal_bucketed_reduce_scatter(zc, shard.data(), TIDAL_SUM, nullptr, nullptr);
    }));
    add("AG flat", timed_max(comm, [&] {
      tidal_all_gather(d.flat_shard.data(), d.flat_ptr, n, TIDAL_F32, comm, nullptr);
    }));
    add("AG per-tensor", timed_max(comm, [&] { per_tensor(comm, d, false, size); }));
    add("AG bucketed", timed_max(comm, [&] {
      tidal_bucketed_all_gather(list, shard.data(), nullptr, nullptr);
    }));
    if (packed) {
      add("AG bucketed, packed", timed_max(comm, [&] {
        tidal_bucketed_all_gather(packed, shard.data(), nullptr, nullptr);
      }));
    }
    add("AG bucketed, serial passes", timed_max(comm, [&] {
      tidal_bucketed_all_gather(list, shard.data(), &serial, nullptr);
    }));
    add("AG bucketed zero-copy", timed_max(comm, [&] {
      tidal_bucketed_all_gather(zc, shard.data(), nullptr, nullptr);
    }));
  }
  tidal_tensor_list_destroy(list);
  tidal_tensor_list_destroy(zc);
  if (packed) tidal_tensor_list_destroy(packed);
  if (rank != 0) return;
  const double bytes = static_cast<double>(d.total) * 4;
  const double bound = s.median_of("memcpy bound");
  std::printf("bucket %5.2f MiB (%3zu buckets): memcpy bound %.1f ms (%.2f GB/s)\n", mib, nb,
              bound * 1e3, bytes / bound / 1e9);
  for (const char* coll : {"RS", "AG"}) {
    const std::string f = std::string(coll) + " flat", p = std::string(coll) + " per-tensor";
    const double tf = s.median_of(f), tp = s.median_of(p);
    std::printf("  %s flat %7.1f ms  per-tensor %7.1f ms\n", coll, tf * 1e3, tp * 1e3);
    for (const char* kind : {" bucketed", " bucketed, packed", " bucketed, serial passes",
                             " bucketed zero-copy"}) {
      const std::string b = std::string(coll) + kind;
      if (!packing && std::strcmp(kind, " bucketed, packed") == 0) continue;
      const double tb = s.median_of(b);
      std::printf("  %-29s %7.1f ms (%5.2f GB/s, %3.0f%% of bound, spread %3.0f%%)  vs flat "
                  "%5.2fx  vs per-tensor %5.2fx\n",
                  b.c_str(), tb * 1e3, bytes / tb / 1e9, 100 * bound / tb, 100 * s.spread_of(b),
                  tf / tb, tp / tb);
    }
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidal-bench-bucketed: bucketed RS/AG vs flat vs per-tensor"};
  Options o;
  bool pooled = false;
  tidal_bench::add_sweep_options(app, &o);
  app.add_flag("--pooled", pooled, "carve the tensors out of one allocation");
  CLI11_PARSE(app, argc, argv);
  tidal_bench::DiTConfig model;
  if (!tidal_bench::sweep_model(o, &model)) return 2;
  return tidal_bench::run_on_ranks(o.backend, o.ranks, argc, argv, [&](tidal_comm_t comm, int rank, int size) {
    RankData d;
    setup(o, pooled, rank, size, &d);
    if (rank == 0) {
      std::printf("%s: %zu tensors%s, %.1f MB f32 per rank, %d ranks (%s), %d rounds\n",
                  model.name, d.counts.size(), pooled ? " (pooled)" : "", d.total * 4 / 1e6,
                  size, o.backend.c_str(), o.reps);
    }
    tidal_comm_t packing = packing_comm(comm, rank);
    for (double mib : o.bucket_mib) sweep_one_size(comm, packing, rank, size, o, d, mib);
    if (packing) tidal_comm_destroy(packing);
  });
}
