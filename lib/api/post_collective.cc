#include "lib/api/post_collective.h"

#include "collectives/schedules/schedule_entry.h"

namespace tidal {
namespace api {

tidal_status_t post_collective(tidal_comm* comm, const CollectiveCall& call, int schedule,
                               tidal_request_t* request) {
  Status s = check_comm(comm);
  if (!s.ok()) return report(s);
  if (request) *request = nullptr;
  Communicator& c = *comm->impl;
  s = validate_collective(call, c.rank(), c.size(), c.transport().memory_kind());
  if (!s.ok()) return report(s, comm);
  RequestPtr r;
  s = queue_collective(c, call, schedule, &r);
  if (!s.ok()) return report(s.with_context(coll_kind_name(call.kind)), comm);
  return finish(comm, std::move(r), request);
}

}  // namespace api
}  // namespace tidal
