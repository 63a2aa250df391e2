// api_comm.cc — communicator queries, split, destroy, abort, async errors.
#include <cstring>

#include "lib/api/handles.h"
#include "tidal/version.h"

using tidal::Status;
using tidal::api::check_comm;
using tidal::api::report;

extern "C" {

int tidal_backend_available(const char* backend) {
  if (!backend) return 0;
  if (std::strcmp(backend, "local") == 0) return 1;
  if (std::strcmp(backend, "mpi") == 0) return TIDAL_HAVE_MPI;
  if (std::strcmp(backend, "ucx") == 0) return TIDAL_HAVE_UCX;
  if (std::strcmp(backend, "nccl") == 0) return TIDAL_HAVE_CUDA;
  return 0;
}

tidal_status_t tidal_get_version(int* version) try {
  if (!version) return report(Status(TIDAL_ERR_INVALID_ARGUMENT, "version is NULL"));
  *version = TIDAL_VERSION_CODE;
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_get_version");
}

tidal_status_t tidal_comm_rank(tidal_comm_t comm, int* rank) try {
  Status s = check_comm(comm);
  if (s.ok() && !rank) s = Status(TIDAL_ERR_INVALID_ARGUMENT, "rank is NULL");
  if (!s.ok()) return report(s);
  *rank = comm->impl->rank();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_rank");
}

tidal_status_t tidal_comm_size(tidal_comm_t comm, int* size) try {
  Status s = check_comm(comm);
  if (s.ok() && !size) s = Status(TIDAL_ERR_INVALID_ARGUMENT, "size is NULL");
  if (!s.ok()) return report(s);
  *size = comm->impl->size();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_size");
}

tidal_status_t tidal_comm_backend(tidal_comm_t comm, const char** name) try {
  Status s = check_comm(comm);
  if (s.ok() && !name) s = Status(TIDAL_ERR_INVALID_ARGUMENT, "name is NULL");
  if (!s.ok()) return report(s);
  *name = comm->impl->backend();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_backend");
}

const char* tidal_comm_last_error(tidal_comm_t comm) {
  if (!check_comm(comm).ok()) return "";
  return comm->impl->last_error();
}

tidal_status_t tidal_comm_get_config(tidal_comm_t comm, tidal_config_t* config) try {
  Status s = check_comm(comm);
  if (!s.ok()) return report(s);
  return report(export_config(comm->impl->config(), config), comm);
} catch (...) {
  return tidal::api::report_exception("tidal_comm_get_config");
}

tidal_status_t tidal_comm_split(tidal_comm_t comm, int color, int key,
                                const tidal_config_t* config, tidal_comm_t* newcomm) try {
  Status s = check_comm(comm);
  if (s.ok() && !newcomm) s = Status(TIDAL_ERR_INVALID_ARGUMENT, "newcomm is NULL");
  if (!s.ok()) return report(s, s.code() == TIDAL_ERR_INVALID_ARGUMENT ? comm : nullptr);
  *newcomm = nullptr;
  std::unique_ptr<tidal::Communicator> child;
  s = comm->impl->split(color < 0 ? -1 : color, key, config, &child);
  if (!s.ok()) return report(s.with_context("tidal_comm_split"), comm);
  if (child) *newcomm = tidal::api::new_comm_handle(std::move(child));
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_split");
}

tidal_status_t tidal_comm_destroy(tidal_comm_t comm) try {
  if (!comm) return TIDAL_SUCCESS;  // like free(NULL); a split's NOCOLOR result is NULL
  Status s = check_comm(comm);
  if (!s.ok()) return report(s);
  tidal::api::unregister_comm(comm);
  delete comm;  // drains the queue, joins the progress thread
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_destroy");
}

tidal_status_t tidal_comm_abort(tidal_comm_t comm) try {
  Status s = check_comm(comm);
  if (!s.ok()) return report(s);
  comm->impl->abort();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_abort");
}

tidal_status_t tidal_comm_get_async_error(tidal_comm_t comm, tidal_status_t* async_error) try {
  Status s = check_comm(comm);
  if (s.ok() && !async_error) s = Status(TIDAL_ERR_INVALID_ARGUMENT, "async_error is NULL");
  if (!s.ok()) return report(s);
  Status e = comm->impl->async_error();
  *async_error = e.code();
  if (!e.ok()) report(e, comm);  // make the message available too
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_get_async_error");
}

}  // extern "C"
