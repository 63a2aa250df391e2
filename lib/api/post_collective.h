// post_collective.h — the one path from a C collective call to the queue:
// check the handle, validate the arguments, queue through the schedule
// entry point, hand back (or wait for) the request.
#pragma once

#include "lib/api/handles.h"

namespace tidal {
namespace api {

// `schedule` is a tidal_schedule_t; TIDAL_SCHEDULE_UNSET uses the comm's.
tidal_status_t post_collective(tidal_comm* comm, const CollectiveCall& call, int schedule,
                               tidal_request_t* request);

}  // namespace api
}  // namespace tidal
