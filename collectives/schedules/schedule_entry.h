// schedule_entry.h — the one entry point through which every collective is
// queued: it picks how the collective is executed (the backend's native
// collective, or one of tidal's schedules over point-to-point) and queues
// it on the communicator's engine. The bucketed collectives and the overlap
// hooks go through here too, so a schedule plugs in everywhere at once.
//
// Choice, in order: the per-call schedule (tidal/schedule.h), else the
// communicator's (config.schedule / TIDAL_SCHEDULE). `native` on a backend
// without native collectives (UCX) runs the ring. `auto` is resolved when
// the collective runs, from the layout and the size (choose_auto).
#pragma once

#include "collectives/schedules/schedule.h"
#include "lib/comm/communicator.h"
#include "topology/layout/rank_layout.h"

namespace tidal {

// Queues `call` (already validated) with `schedule` (a tidal_schedule_t;
// TIDAL_SCHEDULE_UNSET means the communicator's configured one). Errors
// known before queuing (unknown schedule, a topology that does not match
// the world, a device-memory backend for a host schedule) return at once.
Status queue_collective(Communicator& comm, const CollectiveCall& call, int schedule,
                        RequestPtr* out);

// True when `call` queued with `schedule` will run as the backend's native
// collective, decided before queuing: native on a backend that has it, or
// auto where the layout is known to be one node without communicating (a
// backend whose ranks read each other's memory, no TIDAL_TOPO) and the
// backend does not prefer the ring. False where unsure. The bucketed
// collectives use it to take a bucket's tensors as runs (no pack pass).
bool queues_natively(Communicator& comm, const CollectiveCall& call, int schedule);

// The schedule (ring, torus2d or ndring) of `call` for `rank` on `layout`;
// with native_phases, torus2d and ndring run each phase as one native
// collective on the dim's sub-communicator (TIDAL_SCHEDULE_PHASES: auto,
// the default, does so where Transport::native_phases_faster says so).
Status build_schedule(const CollectiveCall& call, int rank, int schedule,
                      const RankLayout& layout, Schedule* out, bool native_phases = false);

// What `auto` runs for `call` on `layout`: TIDAL_SCHEDULE_NATIVE when the
// backend has native collectives and the layout is one node (or the
// collective is an all-to-all or broadcast), else the cheapest of ring,
// torus2d and ndring by topology/cost's alpha-beta model (with its default
// cluster links: tidal-sim's NVLink-class intra tier and 8 x 400 Gb/s NICs
// per node); where the model picks the flat ring and the backend has a
// native collective, native — unless `ring_beats_native`
// (Transport::ring_beats_native: MPI reductions from 1 MiB), then the ring.
// Deterministic: every rank picks the same.
int choose_auto(const CollectiveCall& call, const RankLayout& layout, bool has_native,
                bool ring_beats_native = false);

}  // namespace tidal
