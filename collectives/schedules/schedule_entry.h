// schedule_entry.h — the one entry point through which every collective is
// queued: it picks how the collective is executed (the backend's native
// collective, or one of tidal's schedules over point-to-point) and queues
// it on the communicator's engine. The bucketed collectives and the overlap
// hooks go through here too, so a schedule plugs in everywhere at once.
#pragma once

#include "lib/comm/communicator.h"

namespace tidal {

// Queues `call` (already validated) with `schedule` (a tidal_schedule_t;
// TIDAL_SCHEDULE_UNSET means the communicator's configured one).
Status queue_collective(Communicator& comm, const CollectiveCall& call, int schedule,
                        RequestPtr* out);

}  // namespace tidal
