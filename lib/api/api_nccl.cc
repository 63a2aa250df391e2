// api_nccl.cc — NCCL communicator creation and stream waits.
#include <fmt/format.h>

#include "lib/api/handles.h"
#include "lib/core/memory_kind.h"
#include "lib/transport/nccl/nccl_transport.h"
#include "tidal/nccl.h"

using tidal::Status;
using tidal::api::report;

namespace {

Status nccl_status(ncclResult_t r, const char* what) {
  if (r == ncclSuccess) return Status();
  return Status(TIDAL_ERR_TRANSPORT, fmt::format("{} failed: {}", what, ncclGetErrorString(r)));
}

Status require_gpu() {
  std::string why;
  if (!tidal::cuda_device_usable(&why)) return Status(TIDAL_ERR_UNSUPPORTED, why);
  return Status();
}

tidal_status_t wrap(ncclComm_t nccl, bool owns, cudaStream_t stream,
                    const tidal_config_t* config, tidal_comm_t* comm, const char* fn) {
  tidal::Config resolved;
  Status s = tidal::resolve_config(config, tidal::Config(), &resolved);
  std::unique_ptr<tidal::Transport> transport;
  if (s.ok()) s = tidal::NcclTransport::create(nccl, owns, stream, &transport);
  std::unique_ptr<tidal::Communicator> c;
  if (s.ok()) s = tidal::Communicator::create(std::move(transport), resolved, &c);
  if (!s.ok()) return report(s.with_context(fn));
  *comm = tidal::api::new_comm_handle(std::move(c));
  return TIDAL_SUCCESS;
}

}  // namespace

extern "C" {

int tidal_cuda_device_available(void) {
  Status s = require_gpu();
  if (!s.ok()) report(s);
  return s.ok() ? 1 : 0;
}

tidal_status_t tidal_nccl_get_unique_id(ncclUniqueId* id) try {
  if (!id) return report(Status(TIDAL_ERR_INVALID_ARGUMENT, "id is NULL"));
  Status s = require_gpu();
  if (s.ok()) s = nccl_status(ncclGetUniqueId(id), "ncclGetUniqueId");
  return report(s.with_context("tidal_nccl_get_unique_id"));
} catch (...) {
  return tidal::api::report_exception("tidal_nccl_get_unique_id");
}

tidal_status_t tidal_comm_create_nccl(ncclUniqueId id, int nranks, int rank,
                                      cudaStream_t user_stream, const tidal_config_t* config,
                                      tidal_comm_t* comm) try {
  if (!comm) return report(Status(TIDAL_ERR_INVALID_ARGUMENT, "comm is NULL"));
  *comm = nullptr;
  if (nranks < 1 || rank < 0 || rank >= nranks) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT,
                         fmt::format("tidal_comm_create_nccl: rank {} of {} ranks", rank, nranks)));
  }
  Status s = require_gpu();
  ncclComm_t nccl = nullptr;
  if (s.ok()) s = nccl_status(ncclCommInitRank(&nccl, nranks, id, rank), "ncclCommInitRank");
  if (!s.ok()) return report(s.with_context("tidal_comm_create_nccl"));
  return wrap(nccl, true, user_stream, config, comm, "tidal_comm_create_nccl");
} catch (...) {
  return tidal::api::report_exception("tidal_comm_create_nccl");
}

tidal_status_t tidal_comm_wrap_nccl(ncclComm_t nccl_comm, cudaStream_t user_stream,
                                    const tidal_config_t* config, tidal_comm_t* comm) try {
  if (!comm || !nccl_comm) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT, "tidal_comm_wrap_nccl: NULL argument"));
  }
  *comm = nullptr;
  return wrap(nccl_comm, false, user_stream, config, comm, "tidal_comm_wrap_nccl");
} catch (...) {
  return tidal::api::report_exception("tidal_comm_wrap_nccl");
}

tidal_status_t tidal_request_wait_stream(tidal_request_t request, cudaStream_t stream) try {
  Status s = tidal::api::check_request(request);
  if (!s.ok()) return report(s);
  return report(request->impl->wait_on_stream(stream, tidal::Deadline::never()));
} catch (...) {
  return tidal::api::report_exception("tidal_request_wait_stream");
}

}  // extern "C"
