#include "lib/transport/ucx/ucx_transport.h"

#include <sched.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "lib/core/memory_kind.h"

namespace tidal {
namespace {

// Tags of tidal's own messages on a communicator (split, signatures).
constexpr int kSplitTag = 1;
constexpr int kSignatureTag = 2;

// What split gathers from every rank.
struct SplitRecord {
  int32_t color;
  int32_t key;
  UcxWorker::CommIds used;  // ids taken in that rank's process
};

}  // namespace

Status UcxTransport::create(int rank, int nranks, const OobAllGather& allgather,
                            std::unique_ptr<Transport>* out) {
  std::shared_ptr<UcxWorker> worker;
  TIDAL_RETURN_IF_ERROR(UcxWorker::create(rank, nranks, allgather, &worker));
  std::vector<int> world(static_cast<size_t>(nranks));
  for (int r = 0; r < nranks; ++r) world[r] = r;
  out->reset(new UcxTransport(std::move(worker), 0, rank, std::move(world)));
  return Status();
}

UcxTransport::UcxTransport(std::shared_ptr<UcxWorker> worker, int comm_id, int rank,
                           std::vector<int> world_ranks)
    : worker_(std::move(worker)), comm_id_(comm_id), rank_(rank),
      world_ranks_(std::move(world_ranks)) {}

UcxTransport::~UcxTransport() {
  if (comm_id_ != 0) worker_->release_comm_id(comm_id_);
}

Status UcxTransport::unsupported_collective(const char* what) const {
  return Status(TIDAL_ERR_UNSUPPORTED,
                fmt::format("ucx: {} has no native implementation on the UCX backend (it "
                            "moves point-to-point messages only); run it with a schedule "
                            "(ring, torus2d, ndring)", what));
}

Status UcxTransport::all_gather(const void*, void*, size_t, tidal_dtype_t, const Deadline&,
                                void*) {
  return unsupported_collective("all_gather");
}
Status UcxTransport::reduce_scatter(const void*, void*, size_t, tidal_dtype_t, tidal_op_t,
                                    const Deadline&, void*) {
  return unsupported_collective("reduce_scatter");
}
Status UcxTransport::all_reduce(const void*, void*, size_t, tidal_dtype_t, tidal_op_t,
                                const Deadline&, void*) {
  return unsupported_collective("all_reduce");
}
Status UcxTransport::all_to_all(const void*, void*, size_t, tidal_dtype_t, const Deadline&,
                                void*) {
  return unsupported_collective("all_to_all");
}
Status UcxTransport::broadcast(const void*, void*, size_t, tidal_dtype_t, int,
                               const Deadline&, void*) {
  return unsupported_collective("broadcast");
}

Status UcxTransport::check_op(const P2POp& op) const {
  const char* what = op.kind == P2POp::kSend ? "send" : "recv";
  if (op.peer < 0 || op.peer >= size()) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("ucx: {} peer {} is not a rank of this {}-rank communicator",
                              what, op.peer, size()));
  }
  if (op.bytes > 0 && !op.buf) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("ucx: {} buffer is NULL", what));
  }
  if (op.bytes > 0 && !worker_->supports_device_memory() &&
      pointer_kind(op.buf) == PointerKind::kDevice) {
    return Status(TIDAL_ERR_UNSUPPORTED,
                  fmt::format("ucx: {} buffer is device memory but this UCX build has no "
                              "CUDA support (`ucx_info -d` lists no cuda transport)", what));
  }
  return Status();
}

Status UcxTransport::p2p(const P2POp* ops, size_t n, const Deadline& deadline, void*) {
  TIDAL_RETURN_IF_ERROR(refuse_folds(ops, n, name()));
  return run_batch(ops, n, false, deadline);
}

Status UcxTransport::run_batch(const P2POp* ops, size_t n, bool internal,
                               const Deadline& deadline) {
  if (broken_ || aborted_.load()) {
    return Status(aborted_.load() ? TIDAL_ERR_ABORTED : TIDAL_ERR_INVALID_USAGE,
                  "ucx: the communicator was aborted or timed out earlier; destroy it");
  }
  for (size_t i = 0; i < n; ++i) TIDAL_RETURN_IF_ERROR(check_op(ops[i]));
  TIDAL_RETURN_IF_ERROR(worker_->progress());
  const int me = world_ranks_[rank_];
  std::vector<void*> requests;
  std::vector<size_t> op_index;  // the op of each request
  Status posted;
  for (size_t i = 0; i < n && posted.ok(); ++i) {
    const P2POp& op = ops[i];
    const int peer = world_ranks_[op.peer];
    void* request = nullptr;
    if (op.kind == P2POp::kSend) {
      const uint64_t tag = UcxWorker::make_tag(internal, comm_id_, me, op.tag);
      posted = op.eager ? worker_->post_eager_send(peer, tag, op.buf, op.bytes)
                        : worker_->post_send(peer, tag, op.buf, op.bytes, &request);
    } else {
      const uint64_t tag = UcxWorker::make_tag(internal, comm_id_, peer, op.tag);
      posted = worker_->post_recv(tag, op.buf, op.bytes, &request);
    }
    if (request) {
      requests.push_back(request);
      op_index.push_back(i);
    }
  }
  if (!posted.ok()) {
    worker_->cancel(&requests);
    broken_ = true;
    return posted;
  }
  return wait_batch(ops, &requests, op_index, deadline);
}

Status UcxTransport::wait_batch(const P2POp* ops, std::vector<void*>* requests,
                                const std::vector<size_t>& op_index,
                                const Deadline& deadline) {
  Status result;
  size_t left = requests->size();
  for (unsigned spins = 0; left > 0 && result.ok(); ++spins) {
    result = worker_->progress();
    for (size_t k = 0; k < requests->size() && result.ok(); ++k) {
      void*& request = (*requests)[k];
      if (!request) continue;
      const P2POp& op = ops[op_index[k]];
      const bool is_recv = op.kind == P2POp::kRecv;
      size_t got = 0;
      ucs_status_t st = worker_->test_and_release(request, is_recv, &got);
      if (st == UCS_INPROGRESS) continue;
      request = nullptr;
      --left;
      if (st == UCS_ERR_MESSAGE_TRUNCATED || (st == UCS_OK && is_recv && got != op.bytes)) {
        result = Status(TIDAL_ERR_MISMATCH,
                        fmt::format("ucx: rank {} sent {} bytes to rank {} (tag {}) which "
                                    "expected {}", op.peer,
                                    st == UCS_OK ? fmt::format("{}", got) : "more", rank_,
                                    op.tag, op.bytes));
      } else if (st != UCS_OK) {
        result = Status(TIDAL_ERR_TRANSPORT,
                        fmt::format("ucx: {} with rank {} failed: {}",
                                    is_recv ? "recv" : "send", op.peer, ucx_status_text(st)));
      }
    }
    if (!result.ok() || left == 0) break;
    if (aborted_.load()) {
      result = Status(TIDAL_ERR_ABORTED, fmt::format("ucx: rank {} aborted", rank_));
    } else if ((spins & 63) == 0 && deadline.expired()) {
      result = Status(TIDAL_ERR_TIMEOUT,
                      fmt::format("ucx: rank {} timed out in send/recv (a peer did not post "
                                  "the matching operation)", rank_));
    } else if (spins > 256) {
      sched_yield();  // share the core with oversubscribed ranks
    }
  }
  if (left > 0) {
    worker_->cancel(requests);
    worker_->skip_close_flush();
    broken_ = true;
  }
  return result;
}

Status UcxTransport::gather_all(const void* mine, void* all, size_t bytes,
                                const Deadline& deadline) {
  char* out = static_cast<char*>(all);
  std::memcpy(out + static_cast<size_t>(rank_) * bytes, mine, bytes);
  std::vector<P2POp> ops;
  for (int r = 0; r < size(); ++r) {
    if (r == rank_) continue;
    ops.push_back({P2POp::kSend, const_cast<void*>(mine), bytes, r, kSplitTag});
    ops.push_back({P2POp::kRecv, out + static_cast<size_t>(r) * bytes, bytes, r, kSplitTag});
  }
  return run_batch(ops.data(), ops.size(), true, deadline);
}

Status UcxTransport::check_signature(const CollSignature& sig, const Deadline& deadline) {
  std::vector<CollSignature> all(static_cast<size_t>(size()));
  std::vector<P2POp> ops;
  all[rank_] = sig;
  for (int r = 0; r < size(); ++r) {
    if (r == rank_) continue;
    ops.push_back({P2POp::kSend, const_cast<CollSignature*>(&sig), sizeof(sig), r,
                   kSignatureTag});
    ops.push_back({P2POp::kRecv, &all[r], sizeof(sig), r, kSignatureTag});
  }
  TIDAL_RETURN_IF_ERROR(run_batch(ops.data(), ops.size(), true, deadline));
  return compare_signatures(all.data(), size(), name());
}

Status UcxTransport::split(int color, int key, const Deadline& deadline,
                           std::unique_ptr<Transport>* out) {
  out->reset();
  SplitRecord mine{color, key, worker_->used_comm_ids()};
  std::vector<SplitRecord> all(static_cast<size_t>(size()));
  TIDAL_RETURN_IF_ERROR(gather_all(&mine, all.data(), sizeof(mine), deadline)
                            .with_context("ucx split"));
  if (color < 0) return Status();
  // Members ordered by (key, old rank), as MPI_Comm_split orders them.
  std::vector<std::pair<int, int>> members;
  UcxWorker::CommIds taken;
  for (int r = 0; r < size(); ++r) {
    if (all[r].color != color) continue;
    members.push_back({all[r].key, r});
    taken |= all[r].used;  // the child's id must be free in every member's process
  }
  std::sort(members.begin(), members.end());
  int id = 1;
  while (id < UcxWorker::kMaxComms && taken.test(static_cast<size_t>(id))) ++id;
  if (id == UcxWorker::kMaxComms) {
    return Status(TIDAL_ERR_NO_MEMORY,
                  fmt::format("ucx split: all {} communicator ids are in use; destroy some "
                              "communicators", UcxWorker::kMaxComms - 1));
  }
  TIDAL_RETURN_IF_ERROR(worker_->claim_comm_id(id));
  std::vector<int> world;
  int new_rank = 0;
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i].second == rank_) new_rank = static_cast<int>(i);
    world.push_back(world_ranks_[members[i].second]);
  }
  out->reset(new UcxTransport(worker_, id, new_rank, std::move(world)));
  return Status();
}

}  // namespace tidal
