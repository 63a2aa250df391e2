// parallel.h — a small persistent thread pool that splits one large copy
// across cores: a bucket's pack or unpack, a checkpoint's snapshot into
// its staging slots. Persistent because spawning threads per bucket would
// cost more than copying a small bucket; shared by every communicator and
// checkpoint writer of the process (the local backend runs many ranks in
// one process), and safe to call from several threads at once.
#pragma once

#include <cstddef>
#include <functional>

namespace tidal {

// Runs body(part) for part in [0, parts) on the pool and the calling
// thread; returns when every part is done.
void run_parallel(size_t parts, const std::function<void(size_t)>& body);

// Threads that can work on one call (the caller included): the number of
// cores, at most 16, capped by TIDAL_PACK_THREADS when set.
size_t parallel_width();

}  // namespace tidal
