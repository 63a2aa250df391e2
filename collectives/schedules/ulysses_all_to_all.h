// ulysses_all_to_all.h — DeepSpeed-Ulysses re-sharding (sequence <-> heads)
// as one all-to-all through the schedule entry point, with the strided
// pack (sequence -> heads) or unpack (heads -> sequence) as work items on
// the same ordered queue. See tidal/ring_attention.h for the layouts.
#pragma once

#include "lib/comm/communicator.h"

namespace tidal {

struct UlyssesShape {
  size_t seq_local = 0;  // sequence rows per rank
  size_t heads = 0;      // all heads (a multiple of the group size)
  size_t head_dim = 0;
};

Status queue_ulysses_all_to_all(Communicator& comm, const void* in, void* out,
                                const UlyssesShape& shape, tidal_dtype_t dtype,
                                bool seq_to_heads, RequestPtr* request);

}  // namespace tidal
