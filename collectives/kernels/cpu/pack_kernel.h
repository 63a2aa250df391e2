// pack_kernel.h — the fused CPU copy: one pass over a descriptor table that
// copies (and scales / casts) every run. A large table is split into equal
// byte ranges across the copy workers; a range may start or end inside a
// run, so one huge tensor is split as well as many small ones. Nothing is
// allocated per run.
#pragma once

#include <cstddef>

#include "collectives/kernels/copy_op.h"

namespace tidal {

// Runs descs[0..n) with `op`. `prefix` has n+1 entries: prefix[i] is the
// number of elements before run i (prefix[n] is the total). `op` must pass
// check_copy_op. Source and destination runs must not overlap, except a
// run whose src == dst (an in-place scale).
void cpu_run_copy_table(const CopyDesc* descs, const size_t* prefix, size_t n,
                        const CopyOp& op);

// Below this many bytes a table is copied by the calling thread alone.
constexpr size_t kParallelCopyBytes = size_t(1) << 20;
// From this many bytes plain copies use streaming stores: the bucket would
// not stay in the caches anyway, and skipping the read-for-ownership of
// every destination line saves a third of the memory traffic.
constexpr size_t kStreamingCopyBytes = size_t(8) << 20;

}  // namespace tidal
