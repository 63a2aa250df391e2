// collective_args.h — one collective call's arguments and their checks
// (null buffers, count overflow, unknown dtype/op, root range, in-place
// layouts, memory kind), shared by every entry point.
#pragma once

#include "lib/core/status.h"
#include "lib/transport/transport.h"

namespace tidal {

struct CollectiveCall {
  CollKind kind;
  const void* send;
  void* recv;
  size_t count;  // per-rank count, as in the C API
  tidal_dtype_t dtype;
  tidal_op_t op;  // reducing kinds only
  int root;       // broadcast only
};

// Validates `call` for `rank` of `size` on a transport holding `memory`.
Status validate_collective(const CollectiveCall& call, int rank, int size,
                           MemoryKind memory);

// Validates a send or receive.
Status validate_p2p(const void* buf, size_t count, tidal_dtype_t dtype, int peer,
                    int tag, int rank, int size, MemoryKind memory);

// The signature all ranks must agree on.
CollSignature signature_of(const CollectiveCall& call);

}  // namespace tidal
