#include "lib/comm/collective_args.h"

#include <cstdint>

#include <fmt/format.h>

#include "lib/core/dtype.h"
#include "lib/core/memory_kind.h"

namespace tidal {
namespace {

bool reduces(CollKind k) {
  return k == CollKind::kReduceScatter || k == CollKind::kAllReduce;
}

// Elements in the larger of the two buffers, in units of `count`.
size_t blocks_of(CollKind k, int size) {
  switch (k) {
    case CollKind::kAllGather:
    case CollKind::kReduceScatter:
    case CollKind::kAllToAll: return static_cast<size_t>(size);
    default: return 1;
  }
}

bool overlaps(const void* a, size_t abytes, const void* b, size_t bbytes) {
  auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return pa < pb + bbytes && pb < pa + abytes;
}

Status check_memory(const void* p, MemoryKind memory, const char* which) {
  if (!p) return Status();
  PointerKind k = pointer_kind(p);
  if (memory == MemoryKind::kHost && k == PointerKind::kDevice) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("{} is device memory but this backend moves host memory", which));
  }
  if (memory == MemoryKind::kDevice && k == PointerKind::kHost) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("{} is host memory but this backend moves device memory", which));
  }
  return Status();
}

Status check_layout(const CollectiveCall& c, int rank, size_t bytes, size_t big) {
  const char* name = coll_kind_name(c.kind);
  const size_t me = static_cast<size_t>(rank) * bytes;
  switch (c.kind) {
    case CollKind::kAllGather:
      if (overlaps(c.send, bytes, c.recv, big) &&
          c.send != static_cast<char*>(c.recv) + me) {
        return Status(TIDAL_ERR_INVALID_ARGUMENT,
                      fmt::format("{}: sendbuf overlaps recvbuf; in place needs sendbuf == "
                                  "recvbuf + rank*sendcount", name));
      }
      break;
    case CollKind::kReduceScatter:
      if (overlaps(c.send, big, c.recv, bytes) &&
          c.recv != static_cast<const char*>(c.send) + me) {
        return Status(TIDAL_ERR_INVALID_ARGUMENT,
                      fmt::format("{}: recvbuf overlaps sendbuf; in place needs recvbuf == "
                                  "sendbuf + rank*recvcount", name));
      }
      break;
    case CollKind::kAllToAll:
      if (overlaps(c.send, big, c.recv, big)) {
        return Status(TIDAL_ERR_INVALID_ARGUMENT,
                      fmt::format("{}: sendbuf and recvbuf overlap (not supported in place)",
                                  name));
      }
      break;
    case CollKind::kAllReduce:
    case CollKind::kBroadcast:
      if (c.send != c.recv && overlaps(c.send, bytes, c.recv, bytes)) {
        return Status(TIDAL_ERR_INVALID_ARGUMENT,
                      fmt::format("{}: sendbuf and recvbuf partly overlap; in place needs "
                                  "sendbuf == recvbuf", name));
      }
      break;
  }
  return Status();
}

}  // namespace

CollSignature signature_of(const CollectiveCall& c) {
  CollSignature s;
  s.kind = static_cast<int32_t>(c.kind);
  s.dtype = c.dtype;
  s.op = reduces(c.kind) ? c.op : 0;
  s.root = c.kind == CollKind::kBroadcast ? c.root : 0;
  s.count = c.count;
  return s;
}

Status validate_collective(const CollectiveCall& c, int rank, int size,
                           MemoryKind memory) {
  const char* name = coll_kind_name(c.kind);
  if (!dtype_valid(c.dtype)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("{}: unknown dtype {}", name, static_cast<int>(c.dtype)));
  }
  if (reduces(c.kind) && (static_cast<int>(c.op) < 0 || c.op >= TIDAL_OP_COUNT)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("{}: unknown reduce op {}", name, static_cast<int>(c.op)));
  }
  if (c.kind == CollKind::kBroadcast && (c.root < 0 || c.root >= size)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("{}: root {} is not a rank of this {}-rank communicator", name,
                              c.root, size));
  }
  const size_t esize = dtype_size(c.dtype);
  const size_t blocks = blocks_of(c.kind, size);
  const size_t limit = static_cast<size_t>(PTRDIFF_MAX) / esize / blocks;
  if (c.count > limit) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("{}: count {} overflows the address space (a negative count "
                              "converted to size_t?)", name, c.count));
  }
  if (c.count == 0) return Status();
  const bool need_send = c.kind != CollKind::kBroadcast || rank == c.root;
  if (need_send && !c.send) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("{}: sendbuf is NULL", name));
  }
  if (!c.recv) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("{}: recvbuf is NULL", name));
  }
  const size_t bytes = c.count * esize;
  if (need_send) TIDAL_RETURN_IF_ERROR(check_layout(c, rank, bytes, bytes * blocks));
  TIDAL_RETURN_IF_ERROR(check_memory(need_send ? c.send : nullptr, memory, "sendbuf")
                            .with_context(name));
  return check_memory(c.recv, memory, "recvbuf").with_context(name);
}

Status validate_p2p(const void* buf, size_t count, tidal_dtype_t dtype, int peer, int tag,
                    int rank, int size, MemoryKind memory) {
  if (!dtype_valid(dtype)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("unknown dtype {}", static_cast<int>(dtype)));
  }
  if (peer < 0 || peer >= size) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("peer {} is not a rank of this {}-rank communicator", peer, size));
  }
  if (peer == rank) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("peer {} is the calling rank (no self messages)", peer));
  }
  if (tag < 0 || tag >= TIDAL_TAG_RESERVED) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("tag {} is outside [0, {}) (higher tags are tidal's own)", tag,
                              TIDAL_TAG_RESERVED));
  }
  if (count > static_cast<size_t>(PTRDIFF_MAX) / dtype_size(dtype)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("count {} overflows the address space", count));
  }
  if (count && !buf) return Status(TIDAL_ERR_INVALID_ARGUMENT, "buffer is NULL");
  return check_memory(buf, memory, "buffer");
}

}  // namespace tidal
