// schedule_executor.h — runs one rank's schedule over any transport's
// point-to-point batches (local, MPI, UCX; host memory). Each round is one
// Transport::p2p call, so all of a round's messages are in flight
// together; reductions use lib/core/reduce.h in step order, so a fixed
// schedule gives bitwise identical results run after run.
#pragma once

#include <vector>

#include "collectives/schedules/schedule.h"
#include "lib/core/deadline.h"
#include "lib/transport/transport.h"

namespace tidal {

// Runs `schedule` on `transport` with the call's buffers (input may be NULL
// when the schedule never reads it, e.g. a broadcast on a non-root rank).
// Phase steps run on phase_comms[dim] (split_by_dims of transport for
// schedule.phase_dims); a schedule without phase steps needs none.
// Returns TIDAL_ERR_UNSUPPORTED on a device-memory transport, else the
// transport's status (timeout, abort, mismatch).
Status execute_schedule(const Schedule& schedule, Transport& transport, const void* input,
                        void* output, const Deadline& deadline, void* stream,
                        const std::vector<Transport*>& phase_comms = {});

}  // namespace tidal
