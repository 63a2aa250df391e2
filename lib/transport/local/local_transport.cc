#include "lib/transport/local/local_transport.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "lib/core/dtype.h"
#include "lib/core/reduce.h"
#include "lib/core/stream_store.h"

namespace tidal {

LocalTransport::LocalTransport(std::shared_ptr<LocalGroup> group, int rank)
    : group_(std::move(group)), rank_(rank) {}

std::vector<std::unique_ptr<Transport>> LocalTransport::create_group(int size) {
  auto group = std::make_shared<LocalGroup>(size);
  std::vector<std::unique_ptr<Transport>> out;
  for (int r = 0; r < size; ++r) out.push_back(std::make_unique<LocalTransport>(group, r));
  return out;
}

template <typename Body>
Status LocalTransport::rendezvous(const CollSignature& sig, const void* send, void* recv,
                                  const Deadline& deadline, Body body,
                                  const BufferRuns* send_runs, const BufferRuns* recv_runs) {
  LocalPost post;
  post.send = send;
  post.recv = recv;
  post.send_runs = send_runs;
  post.recv_runs = recv_runs;
  post.sig = sig;
  const char* what = coll_kind_name(static_cast<CollKind>(sig.kind));
  TIDAL_RETURN_IF_ERROR(group_->post_and_wait(rank_, post, deadline, what));
  std::vector<CollSignature> sigs(static_cast<size_t>(size()));
  for (int r = 0; r < size(); ++r) sigs[r] = group_->post(r).sig;
  Status agree = compare_signatures(sigs.data(), size(), "local");
  if (agree.ok()) body();
  Status left = group_->barrier(rank_, deadline, what);
  if (!agree.ok()) {
    group_->fail(agree);
    return agree;
  }
  return left;
}

Status LocalTransport::check_signature(const CollSignature&, const Deadline&) {
  return Status();  // every collective compares signatures in rendezvous()
}

namespace {
// Reduce through a small rank-private block so in-place layouts are safe:
// every input element is read before any output element is written.
constexpr size_t kBlockBytes = 16 << 10;
// What a padding run reads as (a block never spans more than this).
alignas(64) const unsigned char kZeros[kBlockBytes] = {};
}  // namespace

const char* LocalTransport::posted_input(int k, size_t e, size_t esize, size_t max,
                                         size_t* contiguous) const {
  const LocalPost& p = group_->post(k);
  if (!p.send_runs) {
    *contiguous = max;
    return static_cast<const char*>(p.send) + e * esize;
  }
  const char* at = p.send_runs->at(e, esize, max, contiguous);
  return at ? at : reinterpret_cast<const char*>(kZeros);
}

char* LocalTransport::output_at(const ReduceOutput& out, size_t e, size_t esize, size_t max,
                                size_t* contiguous) {
  if (out.runs) return out.runs->at(e, esize, max, contiguous);
  *contiguous = max;
  return out.base + (e - out.first) * esize;
}

LocalTransport::ReduceOutput LocalTransport::posted_output(int k) const {
  const LocalPost& p = group_->post(k);
  ReduceOutput out;
  out.base = static_cast<char*>(p.recv);
  out.runs = p.recv_runs;
  return out;
}

void LocalTransport::reduce_range(size_t begin, size_t count, tidal_dtype_t dtype,
                                  tidal_op_t op, const ReduceOutput* out, int nout) {
  const size_t esize = dtype_size(dtype);
  const int n = size();
  const size_t block = std::max<size_t>(1, kBlockBytes / esize);
  alignas(64) unsigned char tmp[kBlockBytes];
  std::vector<const void*> in(static_cast<size_t>(n));
  std::vector<char*> dst(static_cast<size_t>(nout));
  // Where the pass's working set (n inputs and the output) is far larger
  // than the caches, the output is streamed out (no read of each
  // destination line before it is overwritten), unless it is in place: its
  // lines were just read as an input and sit in the cache.
  const bool streaming = (static_cast<size_t>(n) + 1) * count * esize >= kStreamStoreBytes;
  auto in_place = [&](const char* d) {
    for (int k = 0; k < n; ++k) {
      if (d == in[k]) return true;
    }
    return false;
  };
  for (size_t off = 0; off < count;) {
    // A block ends where any rank's input or output run ends (the same
    // place on every rank of a bucket: they registered the same tensors).
    const size_t e = begin + off;
    size_t len = std::min(block, count - off);
    for (int k = 0; k < n; ++k) in[k] = posted_input(k, e, esize, len, &len);
    for (int d = 0; d < nout; ++d) dst[d] = output_at(out[d], e, esize, len, &len);
    reduce_many(tmp, in.data(), n, len, dtype, op);
    for (int d = 0; d < nout; ++d) {
      if (dst[d]) copy_out(dst[d], tmp, len * esize, streaming && !in_place(dst[d]));
    }
    off += len;
  }
  if (streaming) stream_fence();
}

Status LocalTransport::all_gather(const void* send, void* recv, size_t count,
                                  tidal_dtype_t dtype, const Deadline& deadline, void*) {
  CollSignature sig{static_cast<int32_t>(CollKind::kAllGather), dtype, 0, 0, count};
  const size_t bytes = count * dtype_size(dtype);
  // An output far beyond the caches is streamed out (see reduce_range).
  const bool streaming = bytes * static_cast<size_t>(size()) >= kStreamStoreBytes;
  return rendezvous(sig, send, recv, deadline, [&] {
    for (int k = 0; k < size(); ++k) {
      char* dst = static_cast<char*>(recv) + k * bytes;
      const void* src = group_->post(k).send;
      if (dst != src && bytes) copy_out(dst, src, bytes, streaming);
    }
    if (streaming) stream_fence();
  });
}

Status LocalTransport::reduce_scatter(const void* send, void* recv, size_t recvcount,
                                      tidal_dtype_t dtype, tidal_op_t op,
                                      const Deadline& deadline, void*) {
  CollSignature sig{static_cast<int32_t>(CollKind::kReduceScatter), dtype, op, 0, recvcount};
  return rendezvous(sig, send, recv, deadline,
                    [&] { reduce_scatter_part(recv, recvcount, dtype, op); });
}

void LocalTransport::reduce_scatter_part(void* recv, size_t recvcount, tidal_dtype_t dtype,
                                         tidal_op_t op) {
  const size_t begin = static_cast<size_t>(rank_) * recvcount;
  ReduceOutput out;
  out.base = static_cast<char*>(recv);
  out.first = begin;
  reduce_range(begin, recvcount, dtype, op, &out, 1);
}

Status LocalTransport::reduce_scatter_runs(const BufferRuns& send, void* recv,
                                           size_t recvcount, tidal_dtype_t dtype,
                                           tidal_op_t op, const Deadline& deadline) {
  if (send.elements() != recvcount * static_cast<size_t>(size())) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("local: reduce-scatter input runs hold {} elements, not {} x {}",
                              send.elements(), size(), recvcount));
  }
  CollSignature sig{static_cast<int32_t>(CollKind::kReduceScatter), dtype, op, 0, recvcount};
  return rendezvous(
      sig, nullptr, recv, deadline, [&] { reduce_scatter_part(recv, recvcount, dtype, op); },
      &send);
}

Status LocalTransport::all_gather_runs(const void* send, const BufferRuns& recv, size_t count,
                                       tidal_dtype_t dtype, const Deadline& deadline) {
  if (recv.elements() != count * static_cast<size_t>(size())) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("local: all-gather output runs hold {} elements, not {} x {}",
                              recv.elements(), size(), count));
  }
  CollSignature sig{static_cast<int32_t>(CollKind::kAllGather), dtype, 0, 0, count};
  const size_t esize = dtype_size(dtype);
  return rendezvous(sig, send, nullptr, deadline, [&] {
    // Rank k's block lands in elements [k count, (k+1) count) of the runs;
    // what falls on padding is dropped.
    const bool streaming = recv.elements() * esize >= kStreamStoreBytes;
    for (int k = 0; k < size(); ++k) {
      const char* src = static_cast<const char*>(group_->post(k).send);
      recv.each(static_cast<size_t>(k) * count, count, esize,
                [&](char* to, size_t off, size_t len) {
                  if (to) copy_out(to, src + off * esize, len * esize, streaming);
                });
    }
    if (streaming) stream_fence();
  });
}

void LocalTransport::all_reduce_part(size_t count, tidal_dtype_t dtype, tidal_op_t op) {
  // Rank r owns part r of the vector: reduces it and writes it to all.
  const int n = size();
  const size_t base = count / n, extra = count % n;
  const size_t r = static_cast<size_t>(rank_);
  const size_t begin = r * base + std::min(r, extra);
  const size_t len = base + (r < extra ? 1 : 0);
  std::vector<ReduceOutput> out(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) out[k] = posted_output(k);
  reduce_range(begin, len, dtype, op, out.data(), n);
}

Status LocalTransport::all_reduce(const void* send, void* recv, size_t count,
                                  tidal_dtype_t dtype, tidal_op_t op,
                                  const Deadline& deadline, void*) {
  CollSignature sig{static_cast<int32_t>(CollKind::kAllReduce), dtype, op, 0, count};
  return rendezvous(sig, send, recv, deadline, [&] { all_reduce_part(count, dtype, op); });
}

Status LocalTransport::all_reduce_runs(const BufferRuns& data, size_t count,
                                       tidal_dtype_t dtype, tidal_op_t op,
                                       const Deadline& deadline) {
  if (data.elements() != count) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("local: all-reduce runs hold {} elements, not {}",
                              data.elements(), count));
  }
  // In place is safe: rank r reads and writes only part r of every
  // rank's runs, each block read before it is written.
  CollSignature sig{static_cast<int32_t>(CollKind::kAllReduce), dtype, op, 0, count};
  return rendezvous(
      sig, nullptr, nullptr, deadline, [&] { all_reduce_part(count, dtype, op); }, &data, &data);
}

Status LocalTransport::all_to_all(const void* send, void* recv, size_t count,
                                  tidal_dtype_t dtype, const Deadline& deadline, void*) {
  CollSignature sig{static_cast<int32_t>(CollKind::kAllToAll), dtype, 0, 0, count};
  const size_t bytes = count * dtype_size(dtype);
  const bool streaming = bytes * static_cast<size_t>(size()) >= kStreamStoreBytes;
  return rendezvous(sig, send, recv, deadline, [&] {
    for (int k = 0; k < size(); ++k) {
      const char* src = static_cast<const char*>(group_->post(k).send) + rank_ * bytes;
      if (bytes) copy_out(static_cast<char*>(recv) + k * bytes, src, bytes, streaming);
    }
    if (streaming) stream_fence();
  });
}

Status LocalTransport::broadcast(const void* send, void* recv, size_t count,
                                 tidal_dtype_t dtype, int root, const Deadline& deadline,
                                 void*) {
  CollSignature sig{static_cast<int32_t>(CollKind::kBroadcast), dtype, 0, root, count};
  const size_t bytes = count * dtype_size(dtype);
  return rendezvous(sig, send, recv, deadline, [&] {
    const void* src = group_->post(root).send;
    const bool streaming = bytes >= kStreamStoreBytes;
    if (recv != src && bytes) copy_out(recv, src, bytes, streaming);
    if (streaming) stream_fence();
  });
}

Status LocalTransport::p2p(const P2POp* ops, size_t n, const Deadline& deadline, void*) {
  return group_->p2p(rank_, ops, n, deadline);
}

Status LocalTransport::split(int color, int key, const Deadline& deadline,
                             std::unique_ptr<Transport>* out) {
  LocalPost post;
  post.sig.kind = -1;  // a split, not a collective
  post.color = color;
  post.key = key;
  TIDAL_RETURN_IF_ERROR(group_->post_and_wait(rank_, post, deadline, "split"));
  if (rank_ == 0) {
    // Rank 0 builds every new group: members ordered by (key, old rank).
    std::map<int, std::vector<std::pair<int, int>>> members;
    for (int r = 0; r < size(); ++r) {
      const LocalPost& p = group_->post(r);
      if (p.color >= 0) members[p.color].push_back({p.key, r});
    }
    auto& slots = group_->split_slots();
    for (auto& slot : slots) slot = LocalGroup::SplitSlot{};
    for (auto& entry : members) {
      auto& list = entry.second;
      std::sort(list.begin(), list.end());
      auto g = std::make_shared<LocalGroup>(static_cast<int>(list.size()));
      for (size_t i = 0; i < list.size(); ++i) {
        slots[list[i].second] = LocalGroup::SplitSlot{g, static_cast<int>(i)};
      }
    }
  }
  TIDAL_RETURN_IF_ERROR(group_->barrier(rank_, deadline, "split"));
  LocalGroup::SplitSlot mine = group_->split_slots()[rank_];
  TIDAL_RETURN_IF_ERROR(group_->barrier(rank_, deadline, "split"));
  out->reset(mine.group ? new LocalTransport(mine.group, mine.new_rank) : nullptr);
  return Status();
}

void LocalTransport::abort() {
  group_->fail(Status(TIDAL_ERR_ABORTED,
                      fmt::format("local: rank {} aborted the communicator", rank_)));
}

}  // namespace tidal
