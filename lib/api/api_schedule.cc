// api_schedule.cc — per-call schedules and the layout query (tidal/schedule.h).
#include <memory>

#include <fmt/format.h>

#include "collectives/schedules/schedule_entry.h"
#include "lib/api/post_collective.h"
#include "lib/core/config.h"
#include "tidal/schedule.h"
#include "topology/layout/node_detection.h"

using tidal::CollectiveCall;
using tidal::CollKind;
using tidal::Status;
using tidal::api::report;

namespace {

tidal_status_t post(tidal_comm* comm, const CollectiveCall& call, tidal_schedule_t schedule,
                    tidal_request_t* request) {
  return tidal::api::post_collective(comm, call, schedule, request);
}

}  // namespace

extern "C" {

const char* tidal_schedule_name(tidal_schedule_t schedule) {
  return tidal::schedule_name(schedule);
}

tidal_status_t tidal_schedule_from_name(const char* name, tidal_schedule_t* schedule) try {
  if (!name || !schedule) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT, "tidal_schedule_from_name: NULL argument"));
  }
  int value = 0;
  Status s = tidal::parse_schedule(name, &value);
  if (s.ok()) *schedule = static_cast<tidal_schedule_t>(value);
  return report(s);
} catch (...) {
  return tidal::api::report_exception("tidal_schedule_from_name");
}

tidal_status_t tidal_all_gather_ex(const void* sendbuf, void* recvbuf, size_t sendcount,
                                   tidal_dtype_t dtype, tidal_schedule_t schedule,
                                   tidal_comm_t comm, tidal_request_t* request) try {
  return post(comm, {CollKind::kAllGather, sendbuf, recvbuf, sendcount, dtype, TIDAL_SUM, 0},
              schedule, request);
} catch (...) {
  return tidal::api::report_exception("tidal_all_gather_ex");
}

tidal_status_t tidal_reduce_scatter_ex(const void* sendbuf, void* recvbuf, size_t recvcount,
                                       tidal_dtype_t dtype, tidal_op_t op,
                                       tidal_schedule_t schedule, tidal_comm_t comm,
                                       tidal_request_t* request) try {
  return post(comm, {CollKind::kReduceScatter, sendbuf, recvbuf, recvcount, dtype, op, 0},
              schedule, request);
} catch (...) {
  return tidal::api::report_exception("tidal_reduce_scatter_ex");
}

tidal_status_t tidal_all_reduce_ex(const void* sendbuf, void* recvbuf, size_t count,
                                   tidal_dtype_t dtype, tidal_op_t op,
                                   tidal_schedule_t schedule, tidal_comm_t comm,
                                   tidal_request_t* request) try {
  return post(comm, {CollKind::kAllReduce, sendbuf, recvbuf, count, dtype, op, 0}, schedule,
              request);
} catch (...) {
  return tidal::api::report_exception("tidal_all_reduce_ex");
}

tidal_status_t tidal_all_to_all_ex(const void* sendbuf, void* recvbuf, size_t count,
                                   tidal_dtype_t dtype, tidal_schedule_t schedule,
                                   tidal_comm_t comm, tidal_request_t* request) try {
  return post(comm, {CollKind::kAllToAll, sendbuf, recvbuf, count, dtype, TIDAL_SUM, 0},
              schedule, request);
} catch (...) {
  return tidal::api::report_exception("tidal_all_to_all_ex");
}

tidal_status_t tidal_broadcast_ex(const void* sendbuf, void* recvbuf, size_t count,
                                  tidal_dtype_t dtype, int root, tidal_schedule_t schedule,
                                  tidal_comm_t comm, tidal_request_t* request) try {
  return post(comm, {CollKind::kBroadcast, sendbuf, recvbuf, count, dtype, TIDAL_SUM, root},
              schedule, request);
} catch (...) {
  return tidal::api::report_exception("tidal_broadcast_ex");
}

tidal_status_t tidal_comm_get_layout(tidal_comm_t comm, int* dims, int max_dims, int* ndims) try {
  Status s = tidal::api::check_comm(comm);
  if (s.ok() && (!ndims || (max_dims > 0 && !dims) || max_dims < 0)) {
    s = Status(TIDAL_ERR_INVALID_ARGUMENT, "tidal_comm_get_layout: bad dims/ndims");
  }
  if (!s.ok()) return report(s);
  tidal::Communicator& c = *comm->impl;
  auto layout = std::make_shared<tidal::RankLayout>();
  tidal::Transport* t = &c.transport();
  const std::string topology = c.config().topology;
  if (!topology.empty()) {  // no communication: fail here, not on the queue
    s = tidal::RankLayout::parse(topology, c.size(), layout.get())
            .with_context("tidal_comm_get_layout: TIDAL_TOPO/config.topology");
    if (!s.ok()) return report(s, comm);
  }
  tidal::RequestPtr r = c.submit("layout", [t, topology, layout](const tidal::ExecContext& ctx) {
    return tidal::resolve_layout(*t, topology, ctx.deadline, layout.get());
  });
  s = c.wait(r);
  if (!s.ok()) return report(s.with_context("tidal_comm_get_layout"), comm);
  *ndims = layout->ndims();
  if (layout->ndims() > max_dims) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT,
                         fmt::format("tidal_comm_get_layout: layout {} has {} dims, max_dims {}",
                                     layout->to_string(), layout->ndims(), max_dims)),
                  comm);
  }
  for (int d = 0; d < layout->ndims(); ++d) dims[d] = layout->dim(d);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_get_layout");
}

}  // extern "C"
