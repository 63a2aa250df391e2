// api_overlap.cc — C shims for the grad reducer and the param gatherer.
#include <mutex>
#include <unordered_set>

#include <fmt/format.h>

#include "collectives/hooks/grad_reducer.h"
#include "collectives/hooks/param_gatherer.h"
#include "lib/api/handles.h"
#include "lib/core/options_struct.h"
#include "tidal/overlap.h"

using tidal::GradReducer;
using tidal::ParamGatherer;
using tidal::Status;
using tidal::TensorList;
using tidal::api::report;

struct tidal_grad_reducer {
  std::unique_ptr<GradReducer> impl;
  tidal_tensor_list* list;
};

struct tidal_param_gatherer {
  std::unique_ptr<ParamGatherer> impl;
  tidal_tensor_list* list;
};

namespace tidal {
namespace api {
// Defined in api_bucket.cc: the live list behind a handle, and counters
// in their C form.
Status lookup_list(tidal_tensor_list* list, TensorList** impl, tidal_comm** comm);
void export_counters(const BucketCounters& c, tidal_bucket_counters_t* out);
}  // namespace api
}  // namespace tidal

namespace {

// Live reducer and gatherer handles (use after destroy is caught).
struct HookRegistry {
  std::mutex mu;
  std::unordered_set<const void*> live;
  bool contains(const void* p) {
    std::lock_guard<std::mutex> lock(mu);
    return live.count(p) != 0;
  }
  void add(const void* p) {
    std::lock_guard<std::mutex> lock(mu);
    live.insert(p);
  }
  bool remove(const void* p) {
    std::lock_guard<std::mutex> lock(mu);
    return live.erase(p) != 0;
  }
};
HookRegistry& hooks() {
  static auto* r = new HookRegistry;
  return *r;
}

// Finds the hook's implementation and communicator, or reports why not.
template <typename Handle>
tidal_status_t lookup(Handle* h, const char* what, decltype(h->impl.get())* impl,
                      tidal_comm** comm) {
  if (!h) return report(Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("{} is NULL", what)));
  if (!hooks().contains(h)) {
    return report(Status(TIDAL_ERR_INVALID_USAGE,
                         fmt::format("{} is not live (used after destroy?)", what)));
  }
  TensorList* list = nullptr;
  Status s = tidal::api::lookup_list(h->list, &list, comm);
  if (!s.ok()) return report(s.with_context(fmt::format("the {}'s tensor list", what)));
  *impl = h->impl.get();
  return TIDAL_SUCCESS;
}

template <typename Handle>
tidal_status_t destroy(Handle* h, const char* what) {
  if (!h) return TIDAL_SUCCESS;
  if (!hooks().remove(h)) {
    return report(Status(TIDAL_ERR_INVALID_USAGE,
                         fmt::format("{} is not live (destroyed twice?)", what)));
  }
  TensorList* list = nullptr;
  tidal_comm* comm = nullptr;
  Status s = tidal::api::lookup_list(h->list, &list, &comm);
  if (!s.ok()) h->impl->forget_list();  // the list went first: nothing to drain
  delete h;
  if (!s.ok()) {
    return report(s.with_context(fmt::format("{} destroyed after its tensor list", what)));
  }
  return TIDAL_SUCCESS;
}

Status null_output(const char* name) {
  return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("{} is NULL", name));
}

}  // namespace

extern "C" {

tidal_status_t tidal_grad_reducer_create(tidal_tensor_list_t grads,
                                         const tidal_grad_reducer_options_t* options,
                                         tidal_grad_reducer_t* reducer) try {
  TensorList* list = nullptr;
  tidal_comm* comm = nullptr;
  Status s = tidal::api::lookup_list(grads, &list, &comm);
  if (!s.ok()) return report(s.with_context("tidal_grad_reducer_create"));
  if (!reducer) return report(null_output("reducer"), comm);
  *reducer = nullptr;
  tidal_grad_reducer_options_t o;
  s = tidal::read_options(options, tidal_grad_reducer_options_t(
                                            TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER),
                               "TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER", &o);
  if (!s.ok()) return report(s, comm);
  tidal::ReducerOptions ro;
  ro.all_reduce = o.all_reduce != 0;
  ro.op = o.op;
  ro.scales = tidal::BucketScales{o.pre_scale, o.post_scale};
  ro.schedule = o.schedule;
  ro.pack_on_marking_thread = o.pack_on_progress_thread == 0;
  std::unique_ptr<GradReducer> impl;
  s = GradReducer::create(*list, ro, &impl);
  if (!s.ok()) return report(s.with_context("tidal_grad_reducer_create"), comm);
  auto* h = new tidal_grad_reducer{std::move(impl), grads};
  hooks().add(h);
  *reducer = h;
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_grad_reducer_create");
}

tidal_status_t tidal_grad_reducer_destroy(tidal_grad_reducer_t reducer) try {
  return destroy(reducer, "grad reducer");
} catch (...) {
  return tidal::api::report_exception("tidal_grad_reducer_destroy");
}

tidal_status_t tidal_grad_ready(tidal_grad_reducer_t reducer, size_t index) try {
  GradReducer* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(reducer, "grad reducer", &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  return report(impl->mark_ready(index).with_context("tidal_grad_ready"), comm);
} catch (...) {
  return tidal::api::report_exception("tidal_grad_ready");
}

tidal_status_t tidal_grad_reducer_set_sync(tidal_grad_reducer_t reducer, int sync) try {
  GradReducer* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(reducer, "grad reducer", &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  return report(impl->set_sync(sync != 0), comm);
} catch (...) {
  return tidal::api::report_exception("tidal_grad_reducer_set_sync");
}

tidal_status_t tidal_grad_reducer_wait(tidal_grad_reducer_t reducer) try {
  return tidal_grad_reducer_wait_stream(reducer, nullptr);
} catch (...) {
  return tidal::api::report_exception("tidal_grad_reducer_wait");
}

tidal_status_t tidal_grad_reducer_wait_stream(tidal_grad_reducer_t reducer, void* stream) try {
  GradReducer* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(reducer, "grad reducer", &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  return report(impl->wait(stream).with_context("tidal_grad_reducer_wait"), comm);
} catch (...) {
  return tidal::api::report_exception("tidal_grad_reducer_wait_stream");
}

tidal_status_t tidal_grad_reducer_shard(tidal_grad_reducer_t reducer, void** shard,
                                        size_t* bytes) try {
  GradReducer* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(reducer, "grad reducer", &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  if (!shard || !bytes) return report(null_output("shard or bytes"), comm);
  *shard = impl->shard();
  *bytes = impl->shard_bytes();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_grad_reducer_shard");
}

tidal_status_t tidal_grad_reducer_get_counters(tidal_grad_reducer_t reducer,
                                               tidal_bucket_counters_t* counters) try {
  GradReducer* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(reducer, "grad reducer", &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  if (!counters) return report(null_output("counters"), comm);
  tidal::api::export_counters(impl->counters(), counters);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_grad_reducer_get_counters");
}

tidal_status_t tidal_param_gatherer_create(tidal_tensor_list_t params, const void* shard,
                                           const tidal_param_gatherer_options_t* options,
                                           tidal_param_gatherer_t* gatherer) try {
  TensorList* list = nullptr;
  tidal_comm* comm = nullptr;
  Status s = tidal::api::lookup_list(params, &list, &comm);
  if (!s.ok()) return report(s.with_context("tidal_param_gatherer_create"));
  if (!gatherer) return report(null_output("gatherer"), comm);
  *gatherer = nullptr;
  tidal_param_gatherer_options_t o;
  s = tidal::read_options(options, tidal_param_gatherer_options_t(
                                            TIDAL_PARAM_GATHERER_OPTIONS_INITIALIZER),
                               "TIDAL_PARAM_GATHERER_OPTIONS_INITIALIZER", &o);
  if (!s.ok()) return report(s, comm);
  tidal::GathererOptions go;
  go.depth = o.depth;
  go.max_inflight_bytes = o.max_inflight_bytes;
  go.scales = tidal::BucketScales{o.pre_scale, o.post_scale};
  go.schedule = o.schedule;
  std::unique_ptr<ParamGatherer> impl;
  s = ParamGatherer::create(*list, shard, go, &impl);
  if (!s.ok()) return report(s.with_context("tidal_param_gatherer_create"), comm);
  auto* h = new tidal_param_gatherer{std::move(impl), params};
  hooks().add(h);
  *gatherer = h;
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_param_gatherer_create");
}

tidal_status_t tidal_param_gatherer_destroy(tidal_param_gatherer_t gatherer) try {
  return destroy(gatherer, "param gatherer");
} catch (...) {
  return tidal::api::report_exception("tidal_param_gatherer_destroy");
}

tidal_status_t tidal_param_prefetch(tidal_param_gatherer_t gatherer, size_t bucket) try {
  ParamGatherer* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(gatherer, "param gatherer", &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  return report(impl->prefetch(bucket).with_context("tidal_param_prefetch"), comm);
} catch (...) {
  return tidal::api::report_exception("tidal_param_prefetch");
}

tidal_status_t tidal_param_wait(tidal_param_gatherer_t gatherer, size_t bucket) try {
  return tidal_param_wait_stream(gatherer, bucket, nullptr);
} catch (...) {
  return tidal::api::report_exception("tidal_param_wait");
}

tidal_status_t tidal_param_wait_stream(tidal_param_gatherer_t gatherer, size_t bucket,
                                       void* stream) try {
  ParamGatherer* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(gatherer, "param gatherer", &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  return report(impl->wait(bucket, stream).with_context("tidal_param_wait"), comm);
} catch (...) {
  return tidal::api::report_exception("tidal_param_wait_stream");
}

tidal_status_t tidal_param_gather_layer(tidal_param_gatherer_t gatherer, size_t first_tensor,
                                        size_t last_tensor) try {
  ParamGatherer* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(gatherer, "param gatherer", &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  return report(impl->gather_layer(first_tensor, last_tensor)
                    .with_context("tidal_param_gather_layer"),
                comm);
} catch (...) {
  return tidal::api::report_exception("tidal_param_gather_layer");
}

tidal_status_t tidal_param_release(tidal_param_gatherer_t gatherer, size_t bucket) try {
  ParamGatherer* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(gatherer, "param gatherer", &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  if (bucket == SIZE_MAX) {
    impl->release_all();
    return TIDAL_SUCCESS;
  }
  return report(impl->release(bucket).with_context("tidal_param_release"), comm);
} catch (...) {
  return tidal::api::report_exception("tidal_param_release");
}

tidal_status_t tidal_param_gatherer_get_counters(tidal_param_gatherer_t gatherer,
                                                 tidal_bucket_counters_t* counters) try {
  ParamGatherer* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(gatherer, "param gatherer", &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  if (!counters) return report(null_output("counters"), comm);
  tidal::api::export_counters(impl->counters(), counters);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_param_gatherer_get_counters");
}

}  // extern "C"
