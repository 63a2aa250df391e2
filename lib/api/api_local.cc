// api_local.cc — tidal_comm_create_local.
#include <vector>

#include <fmt/format.h>

#include "lib/api/handles.h"
#include "lib/transport/local/local_transport.h"
#include "tidal/local.h"

using tidal::Status;
using tidal::api::report;

extern "C" tidal_status_t tidal_comm_create_local(int nranks, const tidal_config_t* config,
                                                  tidal_comm_t* comms) try {
  if (nranks < 1 || nranks > 4096) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT,
                         fmt::format("tidal_comm_create_local: nranks {} not in [1, 4096]",
                                     nranks)));
  }
  if (!comms) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT, "tidal_comm_create_local: comms is NULL"));
  }
  tidal::Config resolved;
  Status s = tidal::resolve_config(config, tidal::Config(), &resolved);
  if (!s.ok()) return report(s.with_context("tidal_comm_create_local"));
  auto transports = tidal::LocalTransport::create_group(nranks);
  std::vector<std::unique_ptr<tidal::Communicator>> made;
  for (auto& t : transports) {
    std::unique_ptr<tidal::Communicator> c;
    s = tidal::Communicator::create(std::move(t), resolved, &c);
    if (!s.ok()) return report(s.with_context("tidal_comm_create_local"));
    made.push_back(std::move(c));
  }
  for (int r = 0; r < nranks; ++r) comms[r] = tidal::api::new_comm_handle(std::move(made[r]));
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_create_local");
}
