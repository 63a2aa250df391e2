// api_mpi.cc — tidal_comm_create_mpi.
#include "lib/api/handles.h"
#include "lib/transport/mpi/mpi_transport.h"
#include "tidal/mpi.h"

using tidal::Status;
using tidal::api::report;

extern "C" tidal_status_t tidal_comm_create_mpi(MPI_Comm mpi_comm,
                                                const tidal_config_t* config,
                                                tidal_comm_t* comm) try {
  if (!comm) return report(Status(TIDAL_ERR_INVALID_ARGUMENT, "tidal_comm_create_mpi: comm is NULL"));
  *comm = nullptr;
  tidal::Config resolved;
  Status s = tidal::resolve_config(config, tidal::Config(), &resolved);
  std::unique_ptr<tidal::Transport> transport;
  if (s.ok()) s = tidal::MpiTransport::create(mpi_comm, &transport);
  std::unique_ptr<tidal::Communicator> c;
  if (s.ok()) s = tidal::Communicator::create(std::move(transport), resolved, &c);
  if (!s.ok()) return report(s.with_context("tidal_comm_create_mpi"));
  *comm = tidal::api::new_comm_handle(std::move(c));
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_create_mpi");
}
