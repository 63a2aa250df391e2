#include "lib/transport/transport.h"

#include <vector>

#include <fmt/format.h>

namespace tidal {

const char* coll_kind_name(CollKind kind) {
  switch (kind) {
    case CollKind::kAllGather: return "all_gather";
    case CollKind::kReduceScatter: return "reduce_scatter";
    case CollKind::kAllReduce: return "all_reduce";
    case CollKind::kAllToAll: return "all_to_all";
    case CollKind::kBroadcast: return "broadcast";
  }
  return "unknown";
}

Status compare_signatures(const CollSignature* all, int n, const char* backend) {
  for (int r = 1; r < n; ++r) {
    if (all[r] == all[0]) continue;
    const CollSignature& a = all[0];
    const CollSignature& b = all[r];
    return Status(
        TIDAL_ERR_MISMATCH,
        fmt::format("{}: ranks disagree on the collective: rank 0 called {}(count={}, "
                    "dtype={}, op={}, root={}) but rank {} called {}(count={}, dtype={}, "
                    "op={}, root={})",
                    backend, coll_kind_name(static_cast<CollKind>(a.kind)), a.count,
                    tidal_dtype_name(static_cast<tidal_dtype_t>(a.dtype)),
                    tidal_op_name(static_cast<tidal_op_t>(a.op)), a.root, r,
                    coll_kind_name(static_cast<CollKind>(b.kind)), b.count,
                    tidal_dtype_name(static_cast<tidal_dtype_t>(b.dtype)),
                    tidal_op_name(static_cast<tidal_op_t>(b.op)), b.root));
  }
  return Status();
}

Status refuse_folds(const P2POp* ops, size_t n, const char* backend) {
  for (size_t i = 0; i < n; ++i) {
    if (ops[i].fold) {
      return Status(TIDAL_ERR_UNSUPPORTED,
                    fmt::format("{}: a receive cannot fold on arrival on this backend "
                                "(Transport::folds_on_receive is false)", backend));
    }
  }
  return Status();
}

Status Transport::reduce_scatter_runs(const BufferRuns&, void*, size_t, tidal_dtype_t,
                                      tidal_op_t, const Deadline&) {
  return Status(TIDAL_ERR_UNSUPPORTED,
                fmt::format("{}: a reduce-scatter cannot read its input as runs of memory "
                            "(Transport::reads_peer_memory is false)", name()));
}

Status Transport::all_gather_runs(const void*, const BufferRuns&, size_t, tidal_dtype_t,
                                  const Deadline&) {
  return Status(TIDAL_ERR_UNSUPPORTED,
                fmt::format("{}: an all-gather cannot write its output as runs of memory "
                            "(Transport::reads_peer_memory is false)", name()));
}

Status Transport::all_reduce_runs(const BufferRuns&, size_t, tidal_dtype_t, tidal_op_t,
                                  const Deadline&) {
  return Status(TIDAL_ERR_UNSUPPORTED,
                fmt::format("{}: an all-reduce cannot run in place on runs of memory "
                            "(Transport::reads_peer_memory is false)", name()));
}

Status Transport::check_signature(const CollSignature& sig, const Deadline& deadline) {
  std::vector<CollSignature> all(static_cast<size_t>(size()));
  TIDAL_RETURN_IF_ERROR(all_gather(&sig, all.data(), sizeof(sig), TIDAL_U8,
                                   deadline, nullptr));
  return compare_signatures(all.data(), size(), name());
}

}  // namespace tidal
