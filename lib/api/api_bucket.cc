// api_bucket.cc — C shims for tensor lists and the bucketed collectives.
#include <cstddef>
#include <mutex>
#include <unordered_set>

#include <fmt/format.h>

#include "collectives/bucketing/tensor_list.h"
#include "lib/api/handles.h"
#include "lib/core/options_struct.h"
#include "tidal/tune.h"
#include "tidal/bucket.h"

using tidal::Status;
using tidal::TensorList;
using tidal::api::report;

struct tidal_tensor_list {
  std::unique_ptr<TensorList> impl;
  tidal_comm* comm;
};

namespace tidal {
namespace api {
namespace {

std::mutex& lists_mu() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}
std::unordered_set<const void*>& live_lists() {
  static auto* s = new std::unordered_set<const void*>;
  return *s;
}

Status resolve_options(const tidal_bucket_options_t* user, const Communicator& comm,
                       ListOptions* out) {
  tidal_bucket_options_t o;
  TIDAL_RETURN_IF_ERROR(tidal::read_options(
      user, tidal_bucket_options_t(TIDAL_BUCKET_OPTIONS_INITIALIZER),
      "TIDAL_BUCKET_OPTIONS_INITIALIZER", &o, offsetof(tidal_bucket_options_t, fp8_block)));
  if (o.fp8_pow2_scales != 0 && o.fp8_pow2_scales != 1) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("fp8_pow2_scales must be 0 or 1, not {}", o.fp8_pow2_scales));
  }
  if (o.order != TIDAL_BUCKET_ORDER_FORWARD && o.order != TIDAL_BUCKET_ORDER_REVERSE) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("unknown bucket order {}", o.order));
  }
  const Config& cfg = comm.config();
  out->plan.bucket_bytes = o.bucket_bytes ? o.bucket_bytes
                           : cfg.bucket_bytes ? cfg.bucket_bytes
                                              : size_t(25) << 20;  // 0 = "auto": default
  out->plan.first_bucket_bytes =
      o.first_bucket_bytes == TIDAL_CONFIG_UNSET_SIZE ? cfg.first_bucket_bytes
                                                      : o.first_bucket_bytes;
  out->plan.align_bytes = o.align_bytes ? o.align_bytes : 16;
  out->plan.reverse = o.order == TIDAL_BUCKET_ORDER_REVERSE;
  out->plan.comm_dtype = o.comm_dtype;
  out->plan.fp8_block = o.fp8_block ? o.fp8_block : 128;
  out->plan.fp8_pow2_scales = o.fp8_pow2_scales == 1;
  out->zero_copy = o.zero_copy != 0;
  return Status();
}

}  // namespace

// TIDAL_BUCKET_BYTES=auto: the tuner measures this communicator and picks
// the size (collective, like list creation; every rank gets the same).
Status tune_bucket_bytes(tidal_comm* comm, const tidal_tensor_desc_t* tensors, size_t n,
                         int comm_dtype, size_t* bucket_bytes) {
  size_t model_bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    tidal_dtype_t d = comm_dtype >= 0 ? static_cast<tidal_dtype_t>(comm_dtype) : tensors[i].dtype;
    model_bytes += tensors[i].count * tidal_dtype_size(d);
  }
  size_t tuned = 0;
  tidal_status_t rc = tidal_tune_auto_bucket_bytes(comm, model_bytes, 0.0, &tuned);
  if (rc != TIDAL_SUCCESS) {
    return Status(rc, std::string("TIDAL_BUCKET_BYTES=auto: ") + tidal_last_error());
  }
  *bucket_bytes = tuned;
  return Status();
}

// Counters in their C form (also used by api_overlap.cc).
void export_counters(const BucketCounters& c, tidal_bucket_counters_t* out) {
  CounterValues v = c.snapshot();
  *out = tidal_bucket_counters_t{v.buckets_launched, v.collective_calls, v.pack_calls,
                                 v.unpack_calls,     v.bytes_communicated, v.pack_ns,
                                 v.unpack_ns,        v.wait_ns,            v.steps,
                                 v.overlapped_passes, v.direct_buckets};
}

// The live list behind a handle (also used by api_overlap.cc).
Status lookup_list(tidal_tensor_list* list, TensorList** impl, tidal_comm** comm) {
  if (!list) return Status(TIDAL_ERR_INVALID_ARGUMENT, "tensor list is NULL");
  {
    std::lock_guard<std::mutex> lock(lists_mu());
    if (!live_lists().count(list)) {
      return Status(TIDAL_ERR_INVALID_USAGE,
                    "tensor list is not live (used after tidal_tensor_list_destroy?)");
    }
  }
  TIDAL_RETURN_IF_ERROR(check_comm(list->comm).with_context("the list's communicator"));
  *impl = list->impl.get();
  *comm = list->comm;
  return Status();
}

}  // namespace api
}  // namespace tidal

namespace {

Status scales_of(const tidal_bucketed_options_t* o, tidal::BucketScales* scales, int* schedule,
                 bool* overlap_passes) {
  *scales = tidal::BucketScales{};
  *schedule = TIDAL_SCHEDULE_UNSET;
  *overlap_passes = true;
  if (!o) return Status();
  TIDAL_RETURN_IF_ERROR(tidal::check_options_size(
      o->size, sizeof(tidal_bucketed_options_t), sizeof(tidal_bucketed_options_t),
      "TIDAL_BUCKETED_OPTIONS_INITIALIZER"));
  scales->pre = o->pre_scale;
  scales->post = o->post_scale;
  *schedule = o->schedule;
  *overlap_passes = o->passes_on_progress_thread == 0;
  return Status();
}

// Looks the list up and checks the pointers every accessor needs.
tidal_status_t lookup(tidal_tensor_list_t list, const void* out, TensorList** impl,
                      tidal_comm** comm) {
  Status s = tidal::api::lookup_list(list, impl, comm);
  if (!s.ok()) return report(s);
  if (!out) return report(Status(TIDAL_ERR_INVALID_ARGUMENT, "output pointer is NULL"), *comm);
  return TIDAL_SUCCESS;
}

tidal_status_t check_tensor(TensorList* impl, tidal_comm* comm, size_t tensor) {
  if (tensor < impl->plan().tensors.size()) return TIDAL_SUCCESS;
  return report(Status(TIDAL_ERR_INVALID_ARGUMENT,
                       fmt::format("tensor index {} out of range (list has {})", tensor,
                                   impl->plan().tensors.size())),
                comm);
}

}  // namespace

extern "C" {

tidal_status_t tidal_tensor_list_create(tidal_comm_t comm, const tidal_tensor_desc_t* tensors,
                                        size_t n, const tidal_bucket_options_t* options,
                                        tidal_tensor_list_t* list) try {
  Status s = tidal::api::check_comm(comm);
  if (!s.ok()) return report(s);
  if (!list || (!tensors && n)) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT, "tidal_tensor_list_create: NULL argument"),
                  comm);
  }
  *list = nullptr;
  tidal::ListOptions lo;
  s = tidal::api::resolve_options(options, *comm->impl, &lo);
  std::vector<void*> data(n);
  std::vector<tidal::TensorSpec> specs(n);
  for (size_t i = 0; i < n; ++i) {
    data[i] = tensors[i].data;
    specs[i] = tidal::TensorSpec{tensors[i].count, tensors[i].dtype};
  }
  if (s.ok() && (!options || options->bucket_bytes == 0) &&
      comm->impl->config().bucket_bytes == 0) {
    s = tidal::api::tune_bucket_bytes(comm, tensors, n, lo.plan.comm_dtype, &lo.plan.bucket_bytes);
  }
  std::unique_ptr<TensorList> impl;
  if (s.ok()) s = TensorList::create(*comm->impl, data, specs, lo, &impl);
  if (!s.ok()) return report(s.with_context("tidal_tensor_list_create"), comm);
  auto* handle = new tidal_tensor_list{std::move(impl), comm};
  {
    std::lock_guard<std::mutex> lock(tidal::api::lists_mu());
    tidal::api::live_lists().insert(handle);
  }
  *list = handle;
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_tensor_list_create");
}

tidal_status_t tidal_tensor_list_destroy(tidal_tensor_list_t list) try {
  if (!list) return TIDAL_SUCCESS;
  {
    std::lock_guard<std::mutex> lock(tidal::api::lists_mu());
    if (!tidal::api::live_lists().erase(list)) {
      return report(Status(TIDAL_ERR_INVALID_USAGE, "tensor list is not live (destroyed twice?)"));
    }
  }
  Status s = tidal::api::check_comm(list->comm);
  if (!s.ok()) {
    // The communicator went first: its engine is drained and gone, so no
    // queued step can touch the buckets; free without draining.
    list->impl->forget_comm();
    delete list;
    return report(s.with_context("tidal_tensor_list_destroy: destroy lists before their "
                                 "communicator"));
  }
  delete list;
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_tensor_list_destroy");
}

tidal_status_t tidal_tensor_list_num_buckets(tidal_tensor_list_t list, size_t* n) try {
  TensorList* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(list, n, &impl, &comm);
  if (rc == TIDAL_SUCCESS) *n = impl->plan().buckets.size();
  return rc;
} catch (...) {
  return tidal::api::report_exception("tidal_tensor_list_num_buckets");
}

tidal_status_t tidal_tensor_list_bucket_info(tidal_tensor_list_t list, size_t bucket,
                                             tidal_bucket_info_t* info) try {
  TensorList* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(list, info, &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  const tidal::BucketPlan& p = impl->plan();
  if (bucket >= p.buckets.size()) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT,
                         fmt::format("bucket {} out of range (list has {})", bucket,
                                     p.buckets.size())),
                  comm);
  }
  const tidal::Bucket& b = p.buckets[bucket];
  info->dtype = p.storage_dtype(b);
  info->comm_dtype = p.comm_dtype(b);
  info->count = b.count;
  info->shard_count = b.shard_count;
  info->shard_offset = b.shard_offset;
  info->first_tensor = SIZE_MAX;
  info->last_tensor = 0;
  for (size_t k = 0; k < b.piece_count; ++k) {
    size_t t = p.pieces[b.first_piece + k].tensor;
    info->first_tensor = std::min(info->first_tensor, t);
    info->last_tensor = std::max(info->last_tensor, t);
  }
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_tensor_list_bucket_info");
}

tidal_status_t tidal_tensor_list_shard_bytes(tidal_tensor_list_t list, size_t* bytes) try {
  TensorList* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(list, bytes, &impl, &comm);
  if (rc == TIDAL_SUCCESS) *bytes = impl->plan().shard_bytes;
  return rc;
} catch (...) {
  return tidal::api::report_exception("tidal_tensor_list_shard_bytes");
}

tidal_status_t tidal_tensor_list_data(tidal_tensor_list_t list, size_t tensor, void** data) try {
  TensorList* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(list, data, &impl, &comm);
  if (rc == TIDAL_SUCCESS) rc = check_tensor(impl, comm, tensor);
  if (rc == TIDAL_SUCCESS) *data = impl->tensor_data(tensor);
  return rc;
} catch (...) {
  return tidal::api::report_exception("tidal_tensor_list_data");
}

tidal_status_t tidal_tensor_list_buckets_of(tidal_tensor_list_t list, size_t tensor,
                                            size_t* first_bucket, size_t* last_bucket) try {
  TensorList* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(list, first_bucket, &impl, &comm);
  if (rc == TIDAL_SUCCESS && !last_bucket) rc = lookup(list, last_bucket, &impl, &comm);
  if (rc == TIDAL_SUCCESS) rc = check_tensor(impl, comm, tensor);
  if (rc == TIDAL_SUCCESS) tidal::buckets_of_tensor(impl->plan(), tensor, first_bucket, last_bucket);
  return rc;
} catch (...) {
  return tidal::api::report_exception("tidal_tensor_list_buckets_of");
}

tidal_status_t tidal_tensor_list_shard_segments(tidal_tensor_list_t list, size_t tensor,
                                                tidal_shard_segment_t* segments, size_t max,
                                                size_t* n) try {
  TensorList* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(list, n, &impl, &comm);
  if (rc == TIDAL_SUCCESS) rc = check_tensor(impl, comm, tensor);
  if (rc == TIDAL_SUCCESS && max && !segments) rc = lookup(list, segments, &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  auto segs = tidal::shard_segments(impl->plan(), impl->comm().rank(), tensor);
  for (size_t i = 0; i < segs.size() && i < max; ++i) {
    segments[i] = tidal_shard_segment_t{segs[i].bucket, segs[i].tensor_offset,
                                        segs[i].shard_offset, segs[i].count};
  }
  *n = segs.size();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_tensor_list_shard_segments");
}

tidal_status_t tidal_bucketed_reduce_scatter(tidal_tensor_list_t list, void* shard,
                                             tidal_op_t op,
                                             const tidal_bucketed_options_t* options,
                                             tidal_request_t* request) try {
  TensorList* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(list, shard, &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  if (request) *request = nullptr;
  tidal::BucketScales scales;
  int schedule;
  bool overlap;
  Status s = scales_of(options, &scales, &schedule, &overlap);
  if (s.ok() && (static_cast<int>(op) < 0 || op >= TIDAL_OP_COUNT)) {
    s = Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("unknown op {}", static_cast<int>(op)));
  }
  tidal::RequestPtr last;
  if (s.ok()) s = impl->queue_reduce_scatter_all(shard, op, scales, schedule, overlap, &last);
  if (!s.ok()) return report(s.with_context("tidal_bucketed_reduce_scatter"), comm);
  return tidal::api::finish(comm, std::move(last), request);
} catch (...) {
  return tidal::api::report_exception("tidal_bucketed_reduce_scatter");
}

tidal_status_t tidal_bucketed_all_gather(tidal_tensor_list_t list, const void* shard,
                                         const tidal_bucketed_options_t* options,
                                         tidal_request_t* request) try {
  TensorList* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(list, shard, &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  if (request) *request = nullptr;
  tidal::BucketScales scales;
  int schedule;
  bool overlap;
  Status s = scales_of(options, &scales, &schedule, &overlap);
  tidal::RequestPtr last;
  if (s.ok()) s = impl->queue_all_gather_all(shard, scales, schedule, overlap, &last);
  if (!s.ok()) return report(s.with_context("tidal_bucketed_all_gather"), comm);
  return tidal::api::finish(comm, std::move(last), request);
} catch (...) {
  return tidal::api::report_exception("tidal_bucketed_all_gather");
}

tidal_status_t tidal_tensor_list_get_counters(tidal_tensor_list_t list,
                                              tidal_bucket_counters_t* counters) try {
  TensorList* impl;
  tidal_comm* comm;
  tidal_status_t rc = lookup(list, counters, &impl, &comm);
  if (rc != TIDAL_SUCCESS) return rc;
  tidal::api::export_counters(impl->counters(), counters);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_tensor_list_get_counters");
}

}  // extern "C"
