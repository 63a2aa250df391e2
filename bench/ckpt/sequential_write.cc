// sequential_write.cc — dd-style sequential writes: buffered, O_DIRECT and
// io_uring.
#include "bench/ckpt/sequential_write.h"

#include <fcntl.h>
#include <liburing.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace ckpt_bench {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool pwrite_all(int fd, const char* buffer, uint64_t bytes, uint64_t chunk) {
  for (uint64_t off = 0; off < bytes; off += chunk) {
    uint64_t n = bytes - off < chunk ? bytes - off : chunk;
    if (pwrite(fd, buffer, n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) return false;
  }
  return true;
}

// Keeps `depth` writes in flight through one ring.
bool uring_write_all(int fd, const char* buffer, uint64_t bytes, uint64_t chunk) {
  const unsigned depth = 4;
  struct io_uring ring;
  if (io_uring_queue_init(depth, &ring, 0) != 0) return false;
  uint64_t next = 0, done = 0;
  unsigned in_flight = 0;
  bool ok = true;
  while (ok && done < bytes) {
    while (in_flight < depth && next < bytes) {
      uint64_t n = bytes - next < chunk ? bytes - next : chunk;
      struct io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      io_uring_prep_write(sqe, fd, buffer, static_cast<unsigned>(n), next);
      io_uring_sqe_set_data64(sqe, n);
      next += n;
      in_flight++;
    }
    io_uring_submit(&ring);
    struct io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&ring, &cqe) != 0) break;
    ok = cqe->res >= 0 && static_cast<uint64_t>(cqe->res) == io_uring_cqe_get_data64(cqe);
    done += io_uring_cqe_get_data64(cqe);
    io_uring_cqe_seen(&ring, cqe);
    in_flight--;
  }
  io_uring_queue_exit(&ring);
  return ok && done == bytes;
}

}  // namespace

const char* write_mode_name(WriteMode mode) {
  switch (mode) {
    case WriteMode::kBufferedFsync: return "pwrite+fsync";
    case WriteMode::kDirect: return "O_DIRECT pwrite";
    case WriteMode::kUringDirect: return "O_DIRECT io_uring";
  }
  return "?";
}

double timed_sequential_write(const std::string& path, uint64_t bytes, uint64_t chunk, WriteMode mode) {
  void* mem = mmap(nullptr, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return -1;
  memset(mem, 0x5a, chunk);
  int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (mode == WriteMode::kBufferedFsync ? 0 : O_DIRECT);
  auto t0 = std::chrono::steady_clock::now();
  int fd = open(path.c_str(), flags, 0644);
  bool ok = fd >= 0;
  if (ok && mode == WriteMode::kUringDirect) ok = uring_write_all(fd, static_cast<char*>(mem), bytes, chunk);
  else if (ok) ok = pwrite_all(fd, static_cast<char*>(mem), bytes, chunk);
  ok = ok && fsync(fd) == 0;
  double elapsed = seconds_since(t0);
  if (fd >= 0) close(fd);
  unlink(path.c_str());
  munmap(mem, chunk);
  if (!ok) {
    fprintf(stderr, "sequential write (%s) to %s failed: %s\n", write_mode_name(mode), path.c_str(), strerror(errno));
    return -1;
  }
  return elapsed;
}

}  // namespace ckpt_bench
