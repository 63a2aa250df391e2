// node_detection.h — which ranks share a node, and the layout a
// communicator gets when the user sets none.
//
// Detection by backend:
//   local : every rank is a thread of this process, so one node.
//   mpi   : MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) names each node by its
//           lowest world rank; the names are all-gathered with MPI.
//   other : (UCX / OOB) a hash of the hostname, exchanged with every peer by
//           point-to-point messages (host-memory transports only).
// The default layout is [ranks per node, nodes] when every node holds the
// same number of consecutive ranks, else one flat dim (a warning says why).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/core/deadline.h"
#include "lib/transport/transport.h"
#include "topology/layout/rank_layout.h"

namespace tidal {

// p2p tag of the hostname exchange (schedules use 32000..32699; see
// docs/schedules.md on reserved tags).
constexpr int kNodeDetectionTag = 32767;

// Collective: node id of every rank (equal ids = same node), in rank order.
Status detect_node_ids(Transport& transport, const Deadline& deadline,
                       std::vector<uint64_t>* node_ids);

// [ranks per node, nodes] from node ids, or [world] when nodes are uneven or
// not made of consecutive ranks (*why says so).
RankLayout layout_from_node_ids(const std::vector<uint64_t>& node_ids, std::string* why);

// The layout of a communicator: `topology` ("8x16", from TIDAL_TOPO or the
// config) when set, else detected (collective, see above).
Status resolve_layout(Transport& transport, const std::string& topology,
                      const Deadline& deadline, RankLayout* out);

// Collective: one sub-transport per dim; out[d] connects the ranks that
// differ from this one only along dim d, ordered by their coordinate d.
Status split_by_dims(Transport& transport, const RankLayout& layout,
                     const Deadline& deadline,
                     std::vector<std::unique_ptr<Transport>>* out);

}  // namespace tidal
