#include "lib/transport/mpi/mpi_transport.h"

#include <sched.h>

#include <climits>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "lib/core/dtype.h"
#include "lib/core/log.h"
#include "lib/core/reduce.h"
#include "lib/transport/mpi/mpi_types.h"

namespace tidal {

Status MpiTransport::create(MPI_Comm comm, std::unique_ptr<Transport>* out) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) {
    return Status(TIDAL_ERR_INVALID_USAGE, "mpi: MPI is not initialised (or already finalised)");
  }
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    return Status(TIDAL_ERR_UNSUPPORTED,
                  "mpi: tidal's progress thread calls MPI, so initialise MPI with "
                  "MPI_Init_thread(..., MPI_THREAD_MULTIPLE, ...)");
  }
  if (comm == MPI_COMM_NULL) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, "mpi: communicator is MPI_COMM_NULL");
  }
  MPI_Comm dup = MPI_COMM_NULL;
  int rc = MPI_Comm_dup(comm, &dup);
  if (rc != MPI_SUCCESS) return Status(TIDAL_ERR_TRANSPORT, "mpi: MPI_Comm_dup failed");
  out->reset(new MpiTransport(dup));
  return Status();
}

MpiTransport::MpiTransport(MPI_Comm owned) : comm_(owned) {
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

MpiTransport::~MpiTransport() {
  progress_eager_sends();
  if (!eager_.empty()) {
    // Their buffers must outlive MPI's use of them: leak rather than corrupt.
    log_warn(rank_, "mpi: {} eager sends never matched a receive", eager_.size());
    for (auto& e : eager_) e.release();
  }
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Comm_free(&comm_);
}

Status MpiTransport::check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return Status();
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return Status(TIDAL_ERR_TRANSPORT, fmt::format("mpi: {} failed: {}", what, text));
}

Status MpiTransport::check_count(size_t count, const char* what) {
  if (count <= static_cast<size_t>(INT_MAX)) return Status();
  return Status(TIDAL_ERR_UNSUPPORTED,
                fmt::format("mpi: {} of {} elements exceeds MPI's int count (split the "
                            "buffer or use the local/nccl backend)", what, count));
}

void MpiTransport::progress_eager_sends() {
  for (size_t i = 0; i < eager_.size();) {
    int done = 0;
    MPI_Test(&eager_[i]->request, &done, MPI_STATUS_IGNORE);
    if (done) {
      eager_[i] = std::move(eager_.back());
      eager_.pop_back();
    } else {
      ++i;
    }
  }
}

Status MpiTransport::wait_all(MPI_Request* reqs, int n, MPI_Status* statuses,
                              const Deadline& deadline, const char* what) {
  for (unsigned spins = 0;; ++spins) {
    int done = 0;
    int rc = MPI_Testall(n, reqs, &done, statuses ? statuses : MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) return check(rc, what);
    if (done) return Status();
    if (aborted_.load()) {
      return Status(TIDAL_ERR_ABORTED, fmt::format("mpi: {} aborted", what));
    }
    if ((spins & 63) == 0 && deadline.expired()) {
      return Status(TIDAL_ERR_TIMEOUT,
                    fmt::format("mpi: rank {} timed out in {} (a peer did not join, or the "
                                "ranks called different collectives)", rank_, what));
    }
    if (spins > 256) sched_yield();  // share the core with oversubscribed ranks
  }
}

Status MpiTransport::all_gather(const void* send, void* recv, size_t count,
                                tidal_dtype_t dtype, const Deadline& deadline, void*) {
  TIDAL_RETURN_IF_ERROR(check_count(count, "all_gather"));
  progress_eager_sends();
  MPI_Datatype t = mpi_datatype(dtype);
  const char* mine = static_cast<const char*>(recv) + rank_ * count * dtype_size(dtype);
  const void* s = send == mine ? MPI_IN_PLACE : send;
  MPI_Request req;
  TIDAL_RETURN_IF_ERROR(check(MPI_Iallgather(s, static_cast<int>(count), t, recv,
                                             static_cast<int>(count), t, comm_, &req),
                              "MPI_Iallgather"));
  return wait_all(&req, 1, nullptr, deadline, "all_gather");
}

Status MpiTransport::reduce_scatter(const void* send, void* recv, size_t recvcount,
                                    tidal_dtype_t dtype, tidal_op_t op,
                                    const Deadline& deadline, void*) {
  TIDAL_RETURN_IF_ERROR(check_count(recvcount, "reduce_scatter"));
  progress_eager_sends();
  const size_t bytes = recvcount * dtype_size(dtype);
  // MPI's in-place form differs from NCCL's: reduce into a scratch buffer.
  const bool in_place = recv == static_cast<const char*>(send) + rank_ * bytes;
  // Uninitialised: MPI writes every byte (zeroing would cost a pass).
  std::unique_ptr<char[]> scratch(in_place && bytes ? new char[bytes] : nullptr);
  void* out = in_place ? scratch.get() : recv;
  MPI_Request req;
  TIDAL_RETURN_IF_ERROR(check(MPI_Ireduce_scatter_block(send, out, static_cast<int>(recvcount),
                                                        mpi_datatype(dtype), mpi_op(dtype, op),
                                                        comm_, &req),
                              "MPI_Ireduce_scatter_block"));
  TIDAL_RETURN_IF_ERROR(wait_all(&req, 1, nullptr, deadline, "reduce_scatter"));
  if (in_place && bytes) std::memcpy(recv, scratch.get(), bytes);
  if (op == TIDAL_AVG) divide_by(recv, recvcount, dtype, size_);
  return Status();
}

Status MpiTransport::all_reduce(const void* send, void* recv, size_t count,
                                tidal_dtype_t dtype, tidal_op_t op, const Deadline& deadline,
                                void*) {
  TIDAL_RETURN_IF_ERROR(check_count(count, "all_reduce"));
  progress_eager_sends();
  MPI_Request req;
  TIDAL_RETURN_IF_ERROR(check(MPI_Iallreduce(send == recv ? MPI_IN_PLACE : send, recv,
                                             static_cast<int>(count), mpi_datatype(dtype),
                                             mpi_op(dtype, op), comm_, &req),
                              "MPI_Iallreduce"));
  TIDAL_RETURN_IF_ERROR(wait_all(&req, 1, nullptr, deadline, "all_reduce"));
  if (op == TIDAL_AVG) divide_by(recv, count, dtype, size_);
  return Status();
}

Status MpiTransport::all_to_all(const void* send, void* recv, size_t count,
                                tidal_dtype_t dtype, const Deadline& deadline, void*) {
  TIDAL_RETURN_IF_ERROR(check_count(count, "all_to_all"));
  progress_eager_sends();
  MPI_Datatype t = mpi_datatype(dtype);
  MPI_Request req;
  TIDAL_RETURN_IF_ERROR(check(MPI_Ialltoall(send, static_cast<int>(count), t, recv,
                                            static_cast<int>(count), t, comm_, &req),
                              "MPI_Ialltoall"));
  return wait_all(&req, 1, nullptr, deadline, "all_to_all");
}

Status MpiTransport::broadcast(const void* send, void* recv, size_t count,
                               tidal_dtype_t dtype, int root, const Deadline& deadline,
                               void*) {
  TIDAL_RETURN_IF_ERROR(check_count(count, "broadcast"));
  progress_eager_sends();
  if (rank_ == root && send != recv && count) {
    std::memcpy(recv, send, count * dtype_size(dtype));
  }
  MPI_Request req;
  TIDAL_RETURN_IF_ERROR(check(MPI_Ibcast(recv, static_cast<int>(count), mpi_datatype(dtype),
                                         root, comm_, &req),
                              "MPI_Ibcast"));
  return wait_all(&req, 1, nullptr, deadline, "broadcast");
}

Status MpiTransport::recv_checked(const P2POp& op, const Deadline& deadline) {
  MPI_Message message;
  MPI_Status status;
  for (unsigned spins = 0;; ++spins) {
    int found = 0;
    TIDAL_RETURN_IF_ERROR(
        check(MPI_Improbe(op.peer, op.tag, comm_, &found, &message, &status), "MPI_Improbe"));
    if (found) break;
    if (aborted_.load()) return Status(TIDAL_ERR_ABORTED, "mpi: recv aborted");
    if ((spins & 63) == 0 && deadline.expired()) {
      return Status(TIDAL_ERR_TIMEOUT, fmt::format("mpi: rank {} timed out receiving from "
                                                   "rank {} (tag {})", rank_, op.peer, op.tag));
    }
    if (spins > 256) sched_yield();
  }
  int got = 0;
  MPI_Get_count(&status, MPI_BYTE, &got);
  // A message of another size is still taken off the channel (into a
  // buffer of its own size), so the pairs after it stay matched.
  std::vector<char> spill;
  void* into = op.buf;
  if (static_cast<size_t>(got) != op.bytes) {
    spill.resize(static_cast<size_t>(got) + 1);
    into = spill.data();
  }
  MPI_Request req;
  TIDAL_RETURN_IF_ERROR(check(MPI_Imrecv(into, got, MPI_BYTE, &message, &req), "MPI_Imrecv"));
  TIDAL_RETURN_IF_ERROR(wait_all(&req, 1, nullptr, deadline, "recv"));
  if (spill.empty()) return Status();
  return Status(TIDAL_ERR_MISMATCH,
                fmt::format("mpi: rank {} sent {} bytes to rank {} (tag {}) which expected {}",
                            op.peer, got, rank_, op.tag, op.bytes));
}

Status MpiTransport::p2p(const P2POp* ops, size_t n, const Deadline& deadline, void*) {
  TIDAL_RETURN_IF_ERROR(refuse_folds(ops, n, name()));
  progress_eager_sends();
  if (n == 1 && ops[0].kind == P2POp::kRecv && ops[0].size_unchecked) {
    TIDAL_RETURN_IF_ERROR(check_count(ops[0].bytes, "recv"));
    return recv_checked(ops[0], deadline);
  }
  std::vector<MPI_Request> reqs;
  std::vector<size_t> index;  // op index of each request
  for (size_t i = 0; i < n; ++i) {
    const P2POp& op = ops[i];
    TIDAL_RETURN_IF_ERROR(check_count(op.bytes, op.kind == P2POp::kSend ? "send" : "recv"));
    const int bytes = static_cast<int>(op.bytes);
    if (op.kind == P2POp::kSend && op.eager) {
      auto e = std::make_unique<EagerSend>();
      const char* src = static_cast<const char*>(op.buf);
      e->data.assign(src, src + op.bytes);
      TIDAL_RETURN_IF_ERROR(check(MPI_Isend(e->data.data(), bytes, MPI_BYTE, op.peer, op.tag,
                                            comm_, &e->request), "MPI_Isend"));
      eager_.push_back(std::move(e));
      continue;
    }
    MPI_Request r;
    int rc = op.kind == P2POp::kSend
                 ? MPI_Isend(op.buf, bytes, MPI_BYTE, op.peer, op.tag, comm_, &r)
                 : MPI_Irecv(op.buf, bytes, MPI_BYTE, op.peer, op.tag, comm_, &r);
    TIDAL_RETURN_IF_ERROR(check(rc, op.kind == P2POp::kSend ? "MPI_Isend" : "MPI_Irecv"));
    reqs.push_back(r);
    index.push_back(i);
  }
  std::vector<MPI_Status> statuses(reqs.size());
  Status s = wait_all(reqs.data(), static_cast<int>(reqs.size()), statuses.data(), deadline,
                      "send/recv");
  if (!s.ok()) {
    if (s.message().find("MPI_ERR_TRUNCATE") != std::string::npos ||
        s.message().find("truncated") != std::string::npos) {
      return Status(TIDAL_ERR_MISMATCH, "mpi: a message was larger than its receive: " +
                                            s.message());
    }
    return s;
  }
  for (size_t k = 0; k < reqs.size(); ++k) {
    const P2POp& op = ops[index[k]];
    if (op.kind != P2POp::kRecv) continue;
    int got = 0;
    MPI_Get_count(&statuses[k], MPI_BYTE, &got);
    if (static_cast<size_t>(got) != op.bytes) {
      return Status(TIDAL_ERR_MISMATCH,
                    fmt::format("mpi: rank {} sent {} bytes to rank {} (tag {}) which "
                                "expected {}", op.peer, got, rank_, op.tag, op.bytes));
    }
  }
  return Status();
}

Status MpiTransport::split(int color, int key, const Deadline& deadline,
                           std::unique_ptr<Transport>* out) {
  // Gather (color, key) first with a deadline: once it completes every
  // rank is inside split, so the blocking MPI_Comm_split cannot hang.
  int mine[2] = {color, key};
  std::vector<int> all(2 * static_cast<size_t>(size_));
  MPI_Request req;
  TIDAL_RETURN_IF_ERROR(check(MPI_Iallgather(mine, 2, MPI_INT, all.data(), 2, MPI_INT, comm_,
                                             &req), "MPI_Iallgather"));
  TIDAL_RETURN_IF_ERROR(wait_all(&req, 1, nullptr, deadline, "split"));
  MPI_Comm child = MPI_COMM_NULL;
  TIDAL_RETURN_IF_ERROR(check(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, key,
                                             &child), "MPI_Comm_split"));
  out->reset(child == MPI_COMM_NULL ? nullptr : new MpiTransport(child));
  return Status();
}

}  // namespace tidal
