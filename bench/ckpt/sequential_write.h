// sequential_write.h — the disk's sequential write bound, measured the way
// dd measures it: one file of the given size written front to back from a
// reused aligned buffer, then fsync. Three ways, so the writer's choice of
// I/O path is measured rather than assumed.
#pragma once

#include <cstdint>
#include <string>

namespace ckpt_bench {

enum class WriteMode {
  kBufferedFsync,  // pwrite through the page cache, fsync at the end
  kDirect,         // O_DIRECT pwrite
  kUringDirect,    // O_DIRECT writes through io_uring, 4 in flight
};

const char* write_mode_name(WriteMode mode);

// Writes `bytes` to `path` in `chunk`-byte writes and fsyncs; returns the
// seconds taken, or a negative number (and prints why) on failure. The file
// is removed afterwards.
double timed_sequential_write(const std::string& path, uint64_t bytes, uint64_t chunk, WriteMode mode);

}  // namespace ckpt_bench
