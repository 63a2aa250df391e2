// api_ring_attention.cc — the ND-ring rotation and the Ulysses all-to-all
// (tidal/ring_attention.h).
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "collectives/schedules/ndring_rotation.h"
#include "collectives/schedules/ulysses_all_to_all.h"
#include "lib/api/handles.h"
#include "tidal/ring_attention.h"
#include "tidal/schedule.h"
#include "topology/layout/node_detection.h"

using tidal::NdRingRotation;
using tidal::Status;
using tidal::api::report;

struct tidal_ring_rotation {
  std::unique_ptr<NdRingRotation> impl;
  tidal_comm* comm;
};

namespace {

constexpr int kMaxDims = 64;  // 2^64 ranks: beyond any world

Status layout_for(tidal_comm* comm, const int* dims, int ndims, tidal::RankLayout* layout) {
  tidal::Communicator& c = *comm->impl;
  if (ndims > kMaxDims) {  // before reading dims[]: a count this large is a mistake
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("tidal_ring_rotation_create: {} dims (at most {})", ndims, kMaxDims));
  }
  if (dims && ndims > 0) {
    return tidal::RankLayout::create(std::vector<int>(dims, dims + ndims), c.size(), layout)
        .with_context("tidal_ring_rotation_create");
  }
  if (dims || ndims != 0) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  "tidal_ring_rotation_create: dims and ndims must both be set or NULL/0");
  }
  int found[16], count = 0;
  tidal_status_t rc = tidal_comm_get_layout(comm, found, 16, &count);
  if (rc != TIDAL_SUCCESS) return Status(rc, tidal_last_error());
  return tidal::RankLayout::create(std::vector<int>(found, found + count), c.size(), layout);
}

Status check_rotation(tidal_ring_rotation* r) {
  if (!r) return Status(TIDAL_ERR_INVALID_ARGUMENT, "rotation is NULL");
  return Status();
}

}  // namespace

extern "C" {

tidal_status_t tidal_ring_rotation_create(tidal_comm_t comm, const int* dims, int ndims,
                                          size_t count, tidal_dtype_t dtype,
                                          tidal_rotation_direction_t direction,
                                          tidal_ring_rotation_t* rotation) try {
  Status s = tidal::api::check_comm(comm);
  if (s.ok() && !rotation) s = Status(TIDAL_ERR_INVALID_ARGUMENT, "rotation is NULL");
  if (s.ok() && direction != TIDAL_ROTATE_BLOCKS && direction != TIDAL_ROTATE_GRADIENTS) {
    s = Status(TIDAL_ERR_INVALID_ARGUMENT,
               fmt::format("unknown rotation direction {}", static_cast<int>(direction)));
  }
  if (!s.ok()) return report(s.with_context("tidal_ring_rotation_create"));
  *rotation = nullptr;
  tidal::RankLayout layout;
  s = layout_for(comm, dims, ndims, &layout);
  std::unique_ptr<NdRingRotation> impl;
  if (s.ok()) {
    s = NdRingRotation::create(*comm->impl, layout, count, dtype,
                               direction == TIDAL_ROTATE_BLOCKS ? NdRingRotation::Mode::kBlocks
                                                                : NdRingRotation::Mode::kGradients,
                               &impl);
  }
  if (!s.ok()) return report(s, comm);
  *rotation = new tidal_ring_rotation{std::move(impl), comm};
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ring_rotation_create");
}

tidal_status_t tidal_ring_rotation_destroy(tidal_ring_rotation_t rotation) try {
  delete rotation;  // waits for transfers in flight
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ring_rotation_destroy");
}

tidal_status_t tidal_ring_rotation_steps(tidal_ring_rotation_t rotation, int* steps) try {
  Status s = check_rotation(rotation);
  if (s.ok() && !steps) s = Status(TIDAL_ERR_INVALID_ARGUMENT, "steps is NULL");
  if (!s.ok()) return report(s);
  *steps = rotation->impl->steps();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ring_rotation_steps");
}

tidal_status_t tidal_ring_rotation_start(tidal_ring_rotation_t rotation, const void* block) try {
  Status s = check_rotation(rotation);
  if (!s.ok()) return report(s);
  NdRingRotation& r = *rotation->impl;
  if (r.gradients() == (block != nullptr)) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT,
                         r.gradients() ? "tidal_ring_rotation_start: a gradient rotation "
                                         "takes no block (pass NULL)"
                                       : "tidal_ring_rotation_start: block is NULL"));
  }
  return report(r.gradients() ? r.start_gradients() : r.start_blocks(block));
} catch (...) {
  return tidal::api::report_exception("tidal_ring_rotation_start");
}

tidal_status_t tidal_ring_rotation_start_borrowed(tidal_ring_rotation_t rotation,
                                                  const void* block) try {
  Status s = check_rotation(rotation);
  if (!s.ok()) return report(s);
  NdRingRotation& r = *rotation->impl;
  if (r.gradients()) {
    return report(Status(TIDAL_ERR_INVALID_USAGE,
                         "tidal_ring_rotation_start_borrowed: a gradient rotation has no "
                         "block to borrow (use tidal_ring_rotation_start with NULL)"));
  }
  if (!block) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT,
                         "tidal_ring_rotation_start_borrowed: block is NULL"));
  }
  return report(r.start_blocks(block, /*borrow=*/true));
} catch (...) {
  return tidal::api::report_exception("tidal_ring_rotation_start_borrowed");
}

tidal_status_t tidal_ring_rotation_current(tidal_ring_rotation_t rotation, const void** block,
                                           int* block_id, int* step) try {
  Status s = check_rotation(rotation);
  if (!s.ok()) return report(s);
  if (block) *block = rotation->impl->current_data();
  if (block_id) *block_id = rotation->impl->current_block();
  if (step) *step = rotation->impl->step();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ring_rotation_current");
}

tidal_status_t tidal_ring_rotation_wait(tidal_ring_rotation_t rotation) try {
  Status s = check_rotation(rotation);
  if (s.ok()) s = rotation->impl->wait_next();
  return report(s);
} catch (...) {
  return tidal::api::report_exception("tidal_ring_rotation_wait");
}

tidal_status_t tidal_ring_rotation_accumulate(tidal_ring_rotation_t rotation,
                                              const void* partial) try {
  Status s = check_rotation(rotation);
  if (s.ok()) s = rotation->impl->accumulate(partial);
  return report(s);
} catch (...) {
  return tidal::api::report_exception("tidal_ring_rotation_accumulate");
}

tidal_status_t tidal_ring_rotation_finish(tidal_ring_rotation_t rotation, void* result) try {
  Status s = check_rotation(rotation);
  if (s.ok()) s = rotation->impl->finish(result);
  return report(s);
} catch (...) {
  return tidal::api::report_exception("tidal_ring_rotation_finish");
}

tidal_status_t tidal_ulysses_all_to_all(const void* in, void* out, size_t seq_local,
                                        size_t heads, size_t head_dim, tidal_dtype_t dtype,
                                        tidal_ulysses_direction_t direction,
                                        tidal_comm_t comm, tidal_request_t* request) try {
  Status s = tidal::api::check_comm(comm);
  if (!s.ok()) return report(s);
  if (request) *request = nullptr;
  if (direction != TIDAL_ULYSSES_SEQ_TO_HEADS && direction != TIDAL_ULYSSES_HEADS_TO_SEQ) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT, "ulysses: unknown direction"), comm);
  }
  tidal::RequestPtr r;
  s = tidal::queue_ulysses_all_to_all(*comm->impl, in, out, {seq_local, heads, head_dim}, dtype,
                                      direction == TIDAL_ULYSSES_SEQ_TO_HEADS, &r);
  if (!s.ok()) return report(s, comm);
  return tidal::api::finish(comm, std::move(r), request);
} catch (...) {
  return tidal::api::report_exception("tidal_ulysses_all_to_all");
}

}  // extern "C"
