// api_pinned.cc — the C API of the pinned pool and the batch loader.
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "lib/api/handles.h"
#include "lib/core/options_struct.h"
#include "lib/memory/batch_loader.h"
#include "lib/memory/pinned_pool.h"
#include "tidal/pinned.h"

using tidal::Status;
using tidal::api::report;

struct tidal_pinned_pool {
  std::unique_ptr<tidal::PinnedPool> impl;
};

struct tidal_pinned_loader {
  std::unique_ptr<tidal::BatchLoader> impl;
};

namespace {

Status null_argument(const char* function, const char* what) {
  return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("{}: {} is NULL", function, what));
}

// Applies defaults and TIDAL_PINNED_BYTES to a C config.
Status resolve_pool_config(const tidal_pinned_config_t* c, tidal::PinnedPoolConfig* out) {
  tidal::PinnedPoolConfig r;
  r.preallocate_bytes = 256u << 20;
  if (c) {
    TIDAL_RETURN_IF_ERROR(tidal::check_options_size(
        c->size, sizeof(tidal_pinned_config_t), sizeof(tidal_pinned_config_t),
        "TIDAL_PINNED_CONFIG_INITIALIZER"));
    if (c->preallocate_bytes != TIDAL_CONFIG_UNSET_SIZE) r.preallocate_bytes = c->preallocate_bytes;
    if (c->growth_bytes != TIDAL_CONFIG_UNSET_SIZE) r.growth_bytes = c->growth_bytes;
    if (c->use_cuda >= 0) r.use_cuda = c->use_cuda != 0;
    if (c->lock_memory >= 0) r.lock_memory = c->lock_memory != 0;
  }
  if (const char* env = getenv("TIDAL_PINNED_BYTES")) {
    char* end = nullptr;
    unsigned long long v = strtoull(env, &end, 10);
    if (end == env || *end != '\0')
      return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("TIDAL_PINNED_BYTES='{}' is not a byte count", env));
    r.preallocate_bytes = v;
  }
  *out = r;
  return Status();
}

}  // namespace

extern "C" {

tidal_status_t tidal_pinned_pool_create(const tidal_pinned_config_t* config, tidal_pinned_pool_t* pool) try {
  if (!pool) return report(null_argument("tidal_pinned_pool_create", "pool"));
  tidal::PinnedPoolConfig resolved;
  Status s = resolve_pool_config(config, &resolved);
  std::unique_ptr<tidal::PinnedPool> impl;
  if (s.ok()) s = tidal::PinnedPool::create(resolved, &impl);
  if (!s.ok()) return report(s.with_context("tidal_pinned_pool_create"));
  *pool = new tidal_pinned_pool{std::move(impl)};
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_pinned_pool_create");
}

tidal_status_t tidal_pinned_pool_destroy(tidal_pinned_pool_t pool) try {
  delete pool;
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_pinned_pool_destroy");
}

tidal_status_t tidal_pinned_alloc(tidal_pinned_pool_t pool, size_t bytes, void** ptr) try {
  if (!pool) return report(null_argument("tidal_pinned_alloc", "pool"));
  return report(pool->impl->allocate(bytes, ptr).with_context("tidal_pinned_alloc"));
} catch (...) {
  return tidal::api::report_exception("tidal_pinned_alloc");
}

tidal_status_t tidal_pinned_free(tidal_pinned_pool_t pool, void* ptr) try {
  if (!pool) return report(null_argument("tidal_pinned_free", "pool"));
  return report(pool->impl->release(ptr).with_context("tidal_pinned_free"));
} catch (...) {
  return tidal::api::report_exception("tidal_pinned_free");
}

tidal_status_t tidal_pinned_free_after_fence(tidal_pinned_pool_t pool, void* ptr,
                                             tidal_pinned_fence_t* fence) try {
  if (!pool) return report(null_argument("tidal_pinned_free_after_fence", "pool"));
  if (!fence) return report(null_argument("tidal_pinned_free_after_fence", "fence"));
  auto* cpu_fence = new tidal::CpuFence();
  Status s = pool->impl->release_after_fence(ptr, cpu_fence);
  if (!s.ok()) {
    delete cpu_fence;
    return report(s.with_context("tidal_pinned_free_after_fence"));
  }
  *fence = reinterpret_cast<tidal_pinned_fence_t>(cpu_fence);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_pinned_free_after_fence");
}

tidal_status_t tidal_pinned_fence_signal(tidal_pinned_fence_t fence) try {
  if (!fence) return report(null_argument("tidal_pinned_fence_signal", "fence"));
  reinterpret_cast<tidal::CpuFence*>(fence)->signal();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_pinned_fence_signal");
}

tidal_status_t tidal_pinned_free_after_stream(tidal_pinned_pool_t pool, void* ptr, void* cuda_stream) try {
  if (!pool) return report(null_argument("tidal_pinned_free_after_stream", "pool"));
  return report(pool->impl->release_after_stream(ptr, cuda_stream).with_context("tidal_pinned_free_after_stream"));
} catch (...) {
  return tidal::api::report_exception("tidal_pinned_free_after_stream");
}

tidal_status_t tidal_pinned_pool_stats(tidal_pinned_pool_t pool, tidal_pinned_stats_t* stats) try {
  if (!pool) return report(null_argument("tidal_pinned_pool_stats", "pool"));
  if (!stats) return report(null_argument("tidal_pinned_pool_stats", "stats"));
  tidal::PinnedPoolCounters c = pool->impl->counters();
  *stats = tidal_pinned_stats_t{c.hits,         c.misses,           c.host_allocations,
                                c.fence_waits,  c.bytes_in_use,     c.requested_in_use,
                                c.high_water,   c.bytes_reserved,   c.bytes_carved,
                                c.pending_blocks};
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_pinned_pool_stats");
}

size_t tidal_pinned_size_class(size_t bytes) { return tidal::pinned_size_class(bytes); }

tidal_status_t tidal_pinned_loader_create(tidal_pinned_pool_t pool, size_t batch_bytes, int depth,
                                          uint64_t batch_count, tidal_pinned_fill_fn fill, void* user,
                                          tidal_pinned_loader_t* loader) try {
  const char* fn = "tidal_pinned_loader_create";
  if (!pool) return report(null_argument(fn, "pool"));
  if (!fill) return report(null_argument(fn, "fill"));
  if (!loader) return report(null_argument(fn, "loader"));
  if (batch_bytes == 0 || depth < 1)
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT,
                         fmt::format("{}: batch_bytes {} and depth {} must be positive", fn, batch_bytes, depth)));
  auto adapter = [fill, user](uint64_t index, void* buffer, size_t bytes) {
    tidal_status_t code = fill(user, index, buffer, bytes);
    if (code == TIDAL_SUCCESS) return Status();
    return Status(code, fmt::format("fill function failed on batch {} ({})", index, tidal_status_string(code)));
  };
  *loader = new tidal_pinned_loader{
      std::make_unique<tidal::BatchLoader>(pool->impl.get(), batch_bytes, depth, batch_count, adapter)};
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_pinned_loader_create");
}

tidal_status_t tidal_pinned_loader_next(tidal_pinned_loader_t loader, void** data, uint64_t* index) try {
  if (!loader) return report(null_argument("tidal_pinned_loader_next", "loader"));
  if (!data) return report(null_argument("tidal_pinned_loader_next", "data"));
  tidal::StagedBatch batch;
  Status s = loader->impl->next(&batch);
  *data = batch.data;
  if (index) *index = batch.index;
  return report(s.with_context("tidal_pinned_loader_next"));
} catch (...) {
  return tidal::api::report_exception("tidal_pinned_loader_next");
}

tidal_status_t tidal_pinned_loader_destroy(tidal_pinned_loader_t loader) try {
  delete loader;
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_pinned_loader_destroy");
}

}  // extern "C"
