#include "collectives/schedules/schedule_entry.h"

#include <algorithm>
#include <atomic>
#include <memory>

#include <fmt/format.h>

#include "collectives/schedules/ndring_schedule.h"
#include "collectives/schedules/ring_schedule.h"
#include "collectives/schedules/schedule_executor.h"
#include "collectives/schedules/torus2d_schedule.h"
#include "lib/core/config.h"
#include "lib/core/dtype.h"
#include "lib/core/log.h"
#include "topology/layout/node_detection.h"

#if __has_include("topology/cost/cost_model.h")
#include "topology/cost/cost_model.h"
#define TIDAL_SCHEDULES_HAVE_COST_MODEL 1
#endif

namespace tidal {
namespace {

#ifdef TIDAL_SCHEDULES_HAVE_COST_MODEL
int cheapest_by_cost_model(const CollectiveCall& call, const RankLayout& layout,
                           size_t bytes) {
  cost::Cluster cluster;  // tidal-sim's default links
  cost::Machine machine;
  cluster.gpus_per_node = layout.dim(0);
  cluster.nodes = layout.world() / layout.dim(0);
  if (!cost::machine_from_cluster(cluster, &machine).ok()) return TIDAL_SCHEDULE_RING;
  if (layout.ndims() > 2) {  // keep every outer dim, each on the inter tier
    const cost::LinkTier inter = machine.dims[1].link;
    machine.dims.resize(1);
    for (int d = 1; d < layout.ndims(); ++d) machine.dims.push_back({layout.dim(d), inter});
  }
  const cost::Collective coll = call.kind == CollKind::kAllGather
                                    ? cost::Collective::kAllGather
                                : call.kind == CollKind::kReduceScatter
                                    ? cost::Collective::kReduceScatter
                                    : cost::Collective::kAllReduce;
  std::vector<cost::Algorithm> candidates = {cost::Algorithm::kRing,
                                             cost::Algorithm::kTorus2d};
  if (layout.ndims() > 2) candidates.push_back(cost::Algorithm::kNdRing);
  cost::Algorithm best = cost::Algorithm::kRing;
  if (!cost::choose(machine, coll, static_cast<double>(bytes), candidates, &best).ok()) {
    return TIDAL_SCHEDULE_RING;
  }
  return best == cost::Algorithm::kTorus2d  ? TIDAL_SCHEDULE_TORUS2D
         : best == cost::Algorithm::kNdRing ? TIDAL_SCHEDULE_NDRING
                                            : TIDAL_SCHEDULE_RING;
}
#else
// Without the cost model: hierarchical for a multi-node layout.
int cheapest_by_cost_model(const CollectiveCall&, const RankLayout& layout, size_t) {
  return layout.ndims() > 2 ? TIDAL_SCHEDULE_NDRING : TIDAL_SCHEDULE_TORUS2D;
}
#endif

// The communicator's layout, resolved (node detection may communicate) on
// the first scheduled collective and kept for the later ones.
Status cached_layout(Communicator& comm, const ExecContext& ctx, RankLayout* out) {
  std::shared_ptr<void>& slot = comm.layer_state("schedules.layout");
  if (!slot) {
    auto layout = std::make_shared<RankLayout>();
    TIDAL_RETURN_IF_ERROR(
        resolve_layout(comm.transport(), comm.config().topology, ctx.deadline, layout.get()));
    slot = layout;
  }
  *out = *static_cast<RankLayout*>(slot.get());
  return Status();
}

// The sub-communicators of the phases of `dims` (split_by_dims), made by
// the first schedule that needs them and kept: every rank builds the same
// schedule for a collective, so every rank splits here at the same time.
Status cached_phase_comms(Communicator& comm, const std::vector<int>& dims,
                          const ExecContext& ctx, std::vector<Transport*>* out) {
  struct PhaseComms {
    std::vector<std::unique_ptr<Transport>> subs;
  };
  std::string key = "schedules.phases";
  for (int d : dims) key += fmt::format(".{}", d);
  std::shared_ptr<void>& slot = comm.layer_state(key);
  if (!slot) {
    RankLayout layout;
    TIDAL_RETURN_IF_ERROR(RankLayout::create(dims, comm.size(), &layout));
    auto made = std::make_shared<PhaseComms>();
    TIDAL_RETURN_IF_ERROR(split_by_dims(comm.transport(), layout, ctx.deadline, &made->subs)
                              .with_context("sub-communicators of the schedule's phases"));
    std::vector<Transport*> subs;
    for (auto& sub : made->subs) if (sub) subs.push_back(sub.get());
    comm.add_abort_hook([subs] {  // the subs live in the layer state, as long as comm
      for (Transport* sub : subs) sub->abort();
    });
    slot = made;
  }
  out->clear();
  for (auto& sub : static_cast<PhaseComms*>(slot.get())->subs) out->push_back(sub.get());
  return Status();
}

// The work item of a scheduled collective: layout, schedule, execution.
Status run_scheduled(Communicator& comm, const CollectiveCall& call, int schedule, bool check,
                     const ExecContext& ctx) {
  Transport& t = comm.transport();
  if (check) TIDAL_RETURN_IF_ERROR(t.check_signature(signature_of(call), ctx.deadline));
  RankLayout layout;
  TIDAL_RETURN_IF_ERROR(cached_layout(comm, ctx, &layout));
  size_t in_count = 0, out_count = 0;
  buffer_counts(call, t.size(), &in_count, &out_count);
  const size_t bytes = std::max(in_count, out_count) * dtype_size(call.dtype);
  if (schedule == TIDAL_SCHEDULE_AUTO) {
    schedule = choose_auto(call, layout, t.has_native_collectives(),
                           t.ring_beats_native(call.kind, bytes));
    if (schedule == TIDAL_SCHEDULE_NATIVE) return Communicator::run_native(t, call, ctx);
  }
  const int phases = comm.config().schedule_phases;
  const bool native_phases =
      t.has_native_collectives() &&
      (phases == kPhasesNative || (phases == kPhasesAuto && t.native_phases_faster(bytes)));
  Schedule s;
  TIDAL_RETURN_IF_ERROR(build_schedule(call, t.rank(), schedule, layout, &s, native_phases));
  TIDAL_RETURN_IF_ERROR(validate_schedule(s));
  if (log_level() >= TIDAL_LOG_TRACE) log_trace(t.rank(), "{}", format_schedule(s));
  std::vector<Transport*> subs;
  if (!s.phase_dims.empty()) {
    TIDAL_RETURN_IF_ERROR(cached_phase_comms(comm, s.phase_dims, ctx, &subs));
  }
  return execute_schedule(s, t, call.send, call.recv, ctx.deadline, ctx.stream, subs);
}

}  // namespace

bool queues_natively(Communicator& comm, const CollectiveCall& call, int schedule) {
  if (schedule == TIDAL_SCHEDULE_UNSET) schedule = comm.config().schedule;
  Transport& t = comm.transport();
  if (!t.has_native_collectives()) return false;
  if (schedule == TIDAL_SCHEDULE_NATIVE) return true;
  if (schedule != TIDAL_SCHEDULE_AUTO) return false;
  if (t.memory_kind() != MemoryKind::kHost) return true;  // as queue_collective
  if (!t.reads_peer_memory() || !comm.config().topology.empty()) return false;
  size_t in_count = 0, out_count = 0;
  buffer_counts(call, t.size(), &in_count, &out_count);
  return !t.ring_beats_native(call.kind, std::max(in_count, out_count) * dtype_size(call.dtype));
}

Status build_schedule(const CollectiveCall& call, int rank, int schedule,
                      const RankLayout& layout, Schedule* out, bool native_phases) {
  switch (schedule) {
    case TIDAL_SCHEDULE_RING: return build_ring_schedule(call, rank, layout.world(), out);
    case TIDAL_SCHEDULE_TORUS2D:
      return build_torus2d_schedule(call, rank, layout, out, native_phases);
    case TIDAL_SCHEDULE_NDRING:
      return build_ndring_schedule(call, rank, layout, out, native_phases);
    default:
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("schedule {} has no step list", schedule_name(schedule)));
  }
}

int choose_auto(const CollectiveCall& call, const RankLayout& layout, bool has_native,
                bool ring_beats_native) {
  const bool reduces_or_gathers = call.kind == CollKind::kAllGather ||
                                  call.kind == CollKind::kReduceScatter ||
                                  call.kind == CollKind::kAllReduce;
  if (!reduces_or_gathers) return has_native ? TIDAL_SCHEDULE_NATIVE : TIDAL_SCHEDULE_RING;
  // Where the model would take the flat ring: the backend's own collective,
  // unless the backend says the ring beats it (MPI reductions).
  const bool native_for_ring = has_native && !ring_beats_native;
  if (layout.ndims() == 1) return native_for_ring ? TIDAL_SCHEDULE_NATIVE : TIDAL_SCHEDULE_RING;
  size_t input = 0, output = 0;
  buffer_counts(call, layout.world(), &input, &output);
  const size_t bytes = std::max(input, output) * dtype_size(call.dtype);
  const int pick = cheapest_by_cost_model(call, layout, bytes);
  return (pick == TIDAL_SCHEDULE_RING && native_for_ring) ? TIDAL_SCHEDULE_NATIVE : pick;
}

Status queue_collective(Communicator& comm, const CollectiveCall& call, int schedule,
                        RequestPtr* out) {
  if (schedule == TIDAL_SCHEDULE_UNSET) schedule = comm.config().schedule;
  if (schedule < TIDAL_SCHEDULE_NATIVE || schedule > TIDAL_SCHEDULE_AUTO) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("unknown schedule {}", schedule));
  }
  Transport& t = comm.transport();
  if (schedule == TIDAL_SCHEDULE_AUTO && t.memory_kind() != MemoryKind::kHost &&
      t.has_native_collectives()) {
    schedule = TIDAL_SCHEDULE_NATIVE;  // schedules move host memory only
  }
  if (schedule == TIDAL_SCHEDULE_NATIVE && !t.has_native_collectives()) {
    static std::atomic<bool> told{false};
    if (!told.exchange(true)) {
      log_info(comm.rank(), "schedules: backend {} has no native collectives; using ring",
               comm.backend());
    }
    schedule = TIDAL_SCHEDULE_RING;
  }
  if (schedule == TIDAL_SCHEDULE_NATIVE) {
    *out = comm.submit_native(call);
    return Status();
  }
  if (t.memory_kind() != MemoryKind::kHost) {
    return Status(TIDAL_ERR_UNSUPPORTED,
                  fmt::format("schedule '{}' is not supported by backend {} (device memory; "
                              "schedules run on host memory, use native)",
                              schedule_name(schedule), comm.backend()));
  }
  const std::string topology = comm.config().topology;
  if (!topology.empty()) {  // a malformed or mismatched topology fails now
    RankLayout layout;
    TIDAL_RETURN_IF_ERROR(RankLayout::parse(topology, comm.size(), &layout)
                              .with_context("TIDAL_TOPO/config.topology"));
  }
  const bool check = comm.config().check_args;
  Communicator* c = &comm;
  *out = comm.submit(coll_kind_name(call.kind),
                     [c, call, schedule, check](const ExecContext& ctx) {
                       return run_scheduled(*c, call, schedule, check, ctx);
                     });
  return Status();
}

}  // namespace tidal
