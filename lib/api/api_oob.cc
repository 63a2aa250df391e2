// api_oob.cc — tidal_comm_create_oob: a communicator bootstrapped through
// the caller's out-of-band all-gather (UCX worker addresses, or an NCCL
// unique id). Compiles whichever backends are built in; a backend that is
// not returns TIDAL_ERR_UNSUPPORTED.
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "lib/api/handles.h"
#include "lib/core/memory_kind.h"
#include "lib/core/options_struct.h"
#include "tidal/oob.h"
#include "tidal/version.h"

#if TIDAL_HAVE_UCX
#include "lib/transport/ucx/ucx_transport.h"
#endif
#if TIDAL_HAVE_CUDA
#include "tidal/nccl.h"
#endif

using tidal::Status;
using tidal::api::report;

namespace {

Status check_oob(const tidal_oob_t* oob) {
  if (!oob) return Status(TIDAL_ERR_INVALID_ARGUMENT, "oob is NULL");
  TIDAL_RETURN_IF_ERROR(tidal::check_options_size(
      oob->size, sizeof(tidal_oob_t), sizeof(tidal_oob_t), "TIDAL_OOB_INITIALIZER"));
  if (!oob->allgather) return Status(TIDAL_ERR_INVALID_ARGUMENT, "oob->allgather is NULL");
  if (oob->nranks < 1 || oob->rank < 0 || oob->rank >= oob->nranks) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("oob rank {} of {} ranks (need 0 <= rank < nranks)", oob->rank,
                              oob->nranks));
  }
  return Status();
}

// Calls the user's all-gather; a non-zero return is a transport failure.
Status oob_allgather(const tidal_oob_t& oob, const void* send, void* recv, size_t bytes) {
  const int rc = oob.allgather(send, recv, bytes, oob.user);
  if (rc == 0) return Status();
  return Status(TIDAL_ERR_TRANSPORT,
                fmt::format("the OOB all-gather callback returned {} on rank {}", rc, oob.rank));
}

// NULL picks nccl when this rank has a usable GPU, else ucx. Every rank
// must pick the same, so the picks are compared through the OOB first.
Status pick_backend(const tidal_oob_t& oob, const char* backend, std::string* out) {
  if (backend) {
    *out = backend;
    return Status();
  }
  std::string why;
  const char mine = (TIDAL_HAVE_CUDA && tidal::cuda_device_usable(&why)) ? 'n' : 'u';
  std::vector<char> all(static_cast<size_t>(oob.nranks));
  TIDAL_RETURN_IF_ERROR(oob_allgather(oob, &mine, all.data(), 1));
  for (int r = 0; r < oob.nranks; ++r) {
    if (all[r] != mine) {
      return Status(TIDAL_ERR_MISMATCH,
                    fmt::format("backend NULL: rank {} has a usable GPU but rank {} has none; "
                                "name the backend explicitly",
                                mine == 'n' ? oob.rank : r, mine == 'n' ? r : oob.rank));
    }
  }
  *out = mine == 'n' ? "nccl" : "ucx";
  return Status();
}

Status create_ucx(const tidal_oob_t& oob, const tidal::Config& config,
                  std::unique_ptr<tidal::Communicator>* out) {
#if TIDAL_HAVE_UCX
  std::unique_ptr<tidal::Transport> transport;
  tidal::OobAllGather allgather = [&oob](const void* send, void* recv, size_t bytes) {
    return oob_allgather(oob, send, recv, bytes);
  };
  TIDAL_RETURN_IF_ERROR(tidal::UcxTransport::create(oob.rank, oob.nranks, allgather,
                                                    &transport));
  return tidal::Communicator::create(std::move(transport), config, out);
#else
  (void)oob;
  (void)config;
  (void)out;
  return Status(TIDAL_ERR_UNSUPPORTED, "backend \"ucx\" is not built in (TIDAL_WITH_UCX)");
#endif
}

#if TIDAL_HAVE_CUDA
// Rank 0 makes the unique id; its status travels with it so that no rank
// waits in ncclCommInitRank for an id that was never made.
struct NcclIdMessage {
  int32_t status;
  ncclUniqueId id;
};

tidal_status_t create_nccl(const tidal_oob_t& oob, const tidal_config_t* config,
                           tidal_comm_t* comm) {
  NcclIdMessage mine{};
  mine.status = oob.rank == 0 ? tidal_nccl_get_unique_id(&mine.id) : TIDAL_SUCCESS;
  std::vector<NcclIdMessage> all(static_cast<size_t>(oob.nranks));
  Status s = oob_allgather(oob, &mine, all.data(), sizeof(mine));
  if (s.ok() && all[0].status != TIDAL_SUCCESS) {
    s = Status(static_cast<tidal_status_t>(all[0].status),
               "rank 0 could not make an NCCL unique id (see rank 0's error)");
  }
  if (!s.ok()) return report(s.with_context("tidal_comm_create_oob(nccl)"));
  // The OOB API has no stream argument: the user stream is CUDA's default.
  return tidal_comm_create_nccl(all[0].id, oob.nranks, oob.rank, nullptr, config, comm);
}
#endif

}  // namespace

extern "C" tidal_status_t tidal_comm_create_oob(const tidal_oob_t* oob, const char* backend,
                                                const tidal_config_t* config,
                                                tidal_comm_t* comm) try {
  if (!comm) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT, "tidal_comm_create_oob: comm is NULL"));
  }
  *comm = nullptr;
  Status s = check_oob(oob);
  tidal::Config resolved;
  if (s.ok()) s = tidal::resolve_config(config, tidal::Config(), &resolved);
  if (s.ok() && backend && std::strcmp(backend, "ucx") != 0 &&
      std::strcmp(backend, "nccl") != 0) {
    s = Status(TIDAL_ERR_INVALID_ARGUMENT,
               fmt::format("unknown backend \"{}\" (ucx, nccl, or NULL to pick)", backend));
  }
  std::string chosen;
  if (s.ok()) s = pick_backend(*oob, backend, &chosen);
  if (!s.ok()) return report(s.with_context("tidal_comm_create_oob"));
  if (chosen == "nccl") {
#if TIDAL_HAVE_CUDA
    return create_nccl(*oob, config, comm);
#else
    return report(Status(TIDAL_ERR_UNSUPPORTED,
                         "tidal_comm_create_oob: backend \"nccl\" is not built in "
                         "(TIDAL_WITH_CUDA)"));
#endif
  }
  std::unique_ptr<tidal::Communicator> c;
  s = create_ucx(*oob, resolved, &c);
  if (!s.ok()) return report(s.with_context("tidal_comm_create_oob(ucx)"));
  *comm = tidal::api::new_comm_handle(std::move(c));
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_create_oob");
}
