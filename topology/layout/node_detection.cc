#include "topology/layout/node_detection.h"

#include <unistd.h>

#include <cstring>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "lib/core/log.h"
#include "tidal/version.h"

#if TIDAL_HAVE_MPI
#include <mpi.h>

#include "lib/transport/mpi/mpi_transport.h"
#endif

namespace tidal {
namespace {

uint64_t hostname_hash() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "unknown-host");
  return static_cast<uint64_t>(std::hash<std::string>{}(host));
}

// Every rank sends its id to every other rank: n-1 sends and receives in one
// concurrent batch, so it works on p2p-only transports.
Status exchange_ids(Transport& t, uint64_t mine, const Deadline& deadline,
                    std::vector<uint64_t>* ids) {
  const int n = t.size(), me = t.rank();
  ids->assign(static_cast<size_t>(n), 0);
  (*ids)[static_cast<size_t>(me)] = mine;
  std::vector<P2POp> ops;
  for (int peer = 0; peer < n; ++peer) {
    if (peer == me) continue;
    ops.push_back({P2POp::kSend, &mine, sizeof(mine), peer, kNodeDetectionTag});
    ops.push_back({P2POp::kRecv, &(*ids)[static_cast<size_t>(peer)], sizeof(uint64_t), peer,
                   kNodeDetectionTag});
  }
  return t.p2p(ops.data(), ops.size(), deadline, nullptr)
      .with_context("node detection (hostname exchange)");
}

#if TIDAL_HAVE_MPI
Status mpi_node_ids(MpiTransport& t, std::vector<uint64_t>* ids) {
  MPI_Comm node = MPI_COMM_NULL;
  if (MPI_Comm_split_type(t.mpi_comm(), MPI_COMM_TYPE_SHARED, t.rank(), MPI_INFO_NULL,
                          &node) != MPI_SUCCESS) {
    return Status(TIDAL_ERR_TRANSPORT, "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) failed");
  }
  // The node's name is its lowest world rank (rank 0 of the node comm, as
  // the split key is the world rank).
  long long leader = t.rank();
  int rc = MPI_Bcast(&leader, 1, MPI_LONG_LONG, 0, node);
  MPI_Comm_free(&node);
  if (rc != MPI_SUCCESS) return Status(TIDAL_ERR_TRANSPORT, "MPI_Bcast on the node failed");
  std::vector<long long> all(static_cast<size_t>(t.size()));
  if (MPI_Allgather(&leader, 1, MPI_LONG_LONG, all.data(), 1, MPI_LONG_LONG, t.mpi_comm()) !=
      MPI_SUCCESS) {
    return Status(TIDAL_ERR_TRANSPORT, "MPI_Allgather of node ids failed");
  }
  ids->assign(all.begin(), all.end());
  return Status();
}
#endif

}  // namespace

Status detect_node_ids(Transport& t, const Deadline& deadline, std::vector<uint64_t>* ids) {
  if (std::strcmp(t.name(), "local") == 0) {
    ids->assign(static_cast<size_t>(t.size()), 0);  // threads of one process
    return Status();
  }
#if TIDAL_HAVE_MPI
  if (auto* mpi = dynamic_cast<MpiTransport*>(&t)) return mpi_node_ids(*mpi, ids);
#endif
  if (t.memory_kind() != MemoryKind::kHost) {
    return Status(TIDAL_ERR_UNSUPPORTED,
                  fmt::format("{}: cannot detect nodes on a device-memory transport; set "
                              "TIDAL_TOPO (e.g. 8x16) or config.topology", t.name()));
  }
  return exchange_ids(t, hostname_hash(), deadline, ids);
}

RankLayout layout_from_node_ids(const std::vector<uint64_t>& ids, std::string* why) {
  const int world = static_cast<int>(ids.size());
  int per_node = 1;
  while (per_node < world && ids[static_cast<size_t>(per_node)] == ids[0]) ++per_node;
  // Regular: every node holds per_node consecutive ranks and no node id
  // appears in two places.
  bool regular = world % per_node == 0;
  std::set<uint64_t> nodes;
  for (int first = 0; regular && first < world; first += per_node) {
    regular = nodes.insert(ids[static_cast<size_t>(first)]).second;
    for (int r = first; regular && r < first + per_node; ++r) {
      regular = ids[static_cast<size_t>(r)] == ids[static_cast<size_t>(first)];
    }
  }
  RankLayout layout;
  if (!regular) {
    if (why) *why = "nodes hold different numbers of ranks or non-consecutive ranks";
    RankLayout::create({world}, world, &layout);
    return layout;
  }
  std::vector<int> dims = {per_node};
  if (world / per_node > 1) dims.push_back(world / per_node);
  RankLayout::create(dims, world, &layout);
  return layout;
}

Status resolve_layout(Transport& t, const std::string& topology, const Deadline& deadline,
                      RankLayout* out) {
  if (!topology.empty()) {
    return RankLayout::parse(topology, t.size(), out).with_context("TIDAL_TOPO/config.topology");
  }
  std::vector<uint64_t> ids;
  TIDAL_RETURN_IF_ERROR(detect_node_ids(t, deadline, &ids));
  std::string why;
  *out = layout_from_node_ids(ids, &why);
  if (!why.empty()) log_warn(t.rank(), "topology: flat layout {} ({})", out->to_string(), why);
  return Status();
}

Status split_by_dims(Transport& t, const RankLayout& layout, const Deadline& deadline,
                     std::vector<std::unique_ptr<Transport>>* out) {
  out->clear();
  for (int d = 0; d < layout.ndims(); ++d) {
    std::unique_ptr<Transport> sub;
    TIDAL_RETURN_IF_ERROR(t.split(layout.group_color(t.rank(), d), layout.coord(t.rank(), d),
                                  deadline, &sub)
                              .with_context(fmt::format("split along dim {}", d)));
    out->push_back(std::move(sub));
  }
  return Status();
}

}  // namespace tidal
