#include "collectives/schedules/schedule_entry.h"

#include <fmt/format.h>

#include "lib/core/config.h"

namespace tidal {

Status queue_collective(Communicator& comm, const CollectiveCall& call, int schedule,
                        RequestPtr* out) {
  if (schedule == TIDAL_SCHEDULE_UNSET) schedule = comm.config().schedule;
  if (schedule == TIDAL_SCHEDULE_NATIVE || schedule == TIDAL_SCHEDULE_AUTO) {
    if (!comm.transport().has_native_collectives()) {
      return Status(TIDAL_ERR_UNSUPPORTED,
                    fmt::format("backend {} has no native {}", comm.backend(),
                                coll_kind_name(call.kind)));
    }
    *out = comm.submit_native(call);
    return Status();
  }
  return Status(TIDAL_ERR_UNSUPPORTED,
                fmt::format("schedule '{}' is not available in this build",
                            schedule_name(schedule)));
}

}  // namespace tidal
