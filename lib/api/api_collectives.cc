// api_collectives.cc — the collectives and point-to-point calls: validate,
// queue through the schedule entry point, hand back a request.
#include "lib/api/post_collective.h"
#include "lib/core/dtype.h"

using tidal::CollectiveCall;
using tidal::CollKind;
using tidal::Status;
using tidal::api::report;

namespace {

tidal_status_t post(tidal_comm* comm, const CollectiveCall& call, tidal_request_t* request) {
  return tidal::api::post_collective(comm, call, TIDAL_SCHEDULE_UNSET, request);
}

tidal_status_t post_p2p(tidal_comm* comm, bool send, void* buf, size_t count,
                        tidal_dtype_t dtype, int peer, int tag, tidal_request_t* request) {
  Status s = tidal::api::check_comm(comm);
  if (!s.ok()) return report(s);
  if (request) *request = nullptr;
  tidal::Communicator& c = *comm->impl;
  const char* name = send ? "send" : "recv";
  s = tidal::validate_p2p(buf, count, dtype, peer, tag, c.rank(), c.size(),
                          c.transport().memory_kind());
  if (!s.ok()) return report(s.with_context(name), comm);
  tidal::P2POp op{send ? tidal::P2POp::kSend : tidal::P2POp::kRecv, buf,
                  count * tidal::dtype_size(dtype), peer, tag};
  op.eager = send;
  op.size_unchecked = !send;
  return tidal::api::finish(comm, c.submit_p2p(name, op), request);
}

}  // namespace

extern "C" {

tidal_status_t tidal_all_gather(const void* sendbuf, void* recvbuf, size_t sendcount,
                                tidal_dtype_t dtype, tidal_comm_t comm,
                                tidal_request_t* request) try {
  return post(comm, {CollKind::kAllGather, sendbuf, recvbuf, sendcount, dtype, TIDAL_SUM, 0},
              request);
} catch (...) {
  return tidal::api::report_exception("tidal_all_gather");
}

tidal_status_t tidal_reduce_scatter(const void* sendbuf, void* recvbuf, size_t recvcount,
                                    tidal_dtype_t dtype, tidal_op_t op, tidal_comm_t comm,
                                    tidal_request_t* request) try {
  return post(comm, {CollKind::kReduceScatter, sendbuf, recvbuf, recvcount, dtype, op, 0},
              request);
} catch (...) {
  return tidal::api::report_exception("tidal_reduce_scatter");
}

tidal_status_t tidal_all_reduce(const void* sendbuf, void* recvbuf, size_t count,
                                tidal_dtype_t dtype, tidal_op_t op, tidal_comm_t comm,
                                tidal_request_t* request) try {
  return post(comm, {CollKind::kAllReduce, sendbuf, recvbuf, count, dtype, op, 0}, request);
} catch (...) {
  return tidal::api::report_exception("tidal_all_reduce");
}

tidal_status_t tidal_all_to_all(const void* sendbuf, void* recvbuf, size_t count,
                                tidal_dtype_t dtype, tidal_comm_t comm,
                                tidal_request_t* request) try {
  return post(comm, {CollKind::kAllToAll, sendbuf, recvbuf, count, dtype, TIDAL_SUM, 0},
              request);
} catch (...) {
  return tidal::api::report_exception("tidal_all_to_all");
}

tidal_status_t tidal_broadcast(const void* sendbuf, void* recvbuf, size_t count,
                               tidal_dtype_t dtype, int root, tidal_comm_t comm,
                               tidal_request_t* request) try {
  return post(comm, {CollKind::kBroadcast, sendbuf, recvbuf, count, dtype, TIDAL_SUM, root},
              request);
} catch (...) {
  return tidal::api::report_exception("tidal_broadcast");
}

tidal_status_t tidal_send(const void* buf, size_t count, tidal_dtype_t dtype, int peer,
                          int tag, tidal_comm_t comm, tidal_request_t* request) try {
  return post_p2p(comm, true, const_cast<void*>(buf), count, dtype, peer, tag, request);
} catch (...) {
  return tidal::api::report_exception("tidal_send");
}

tidal_status_t tidal_recv(void* buf, size_t count, tidal_dtype_t dtype, int peer, int tag,
                          tidal_comm_t comm, tidal_request_t* request) try {
  return post_p2p(comm, false, buf, count, dtype, peer, tag, request);
} catch (...) {
  return tidal::api::report_exception("tidal_recv");
}

}  // extern "C"
