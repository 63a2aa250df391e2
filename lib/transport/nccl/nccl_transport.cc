#include "lib/transport/nccl/nccl_transport.h"

#include <vector>

#include <fmt/format.h>

#include "lib/core/dtype.h"

namespace tidal {
namespace {

ncclDataType_t nccl_type(tidal_dtype_t d) {
  switch (d) {
    case TIDAL_F32: return ncclFloat32;
    case TIDAL_F16: return ncclFloat16;
    case TIDAL_BF16: return ncclBfloat16;
    case TIDAL_F64: return ncclFloat64;
    case TIDAL_I32: return ncclInt32;
    case TIDAL_I64: return ncclInt64;
    case TIDAL_U8: return ncclUint8;
    case TIDAL_FP8_E4M3: return ncclFloat8e4m3;
    case TIDAL_FP8_E5M2: return ncclFloat8e5m2;
    default: return ncclUint8;
  }
}

ncclRedOp_t nccl_op(tidal_op_t op) {
  switch (op) {
    case TIDAL_PROD: return ncclProd;
    case TIDAL_MAX: return ncclMax;
    case TIDAL_MIN: return ncclMin;
    case TIDAL_AVG: return ncclAvg;
    default: return ncclSum;
  }
}

cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

}  // namespace

Status NcclTransport::create(ncclComm_t comm, bool owns, cudaStream_t user_stream,
                             std::unique_ptr<Transport>* out) {
  cudaStream_t cs = nullptr;
  cudaError_t e = cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking);
  if (e != cudaSuccess) {
    return Status(TIDAL_ERR_TRANSPORT,
                  fmt::format("cuda: cudaStreamCreate failed: {}", cudaGetErrorString(e)));
  }
  out->reset(new NcclTransport(comm, owns, user_stream, cs));
  return Status();
}

NcclTransport::NcclTransport(ncclComm_t comm, bool owns, cudaStream_t user_stream,
                             cudaStream_t comm_stream)
    : comm_(comm), owns_(owns), user_stream_(user_stream), comm_stream_(comm_stream) {
  ncclCommUserRank(comm_, &rank_);
  ncclCommCount(comm_, &size_);
}

NcclTransport::~NcclTransport() {
  if (owns_ && !aborted_) ncclCommDestroy(comm_);
  cudaStreamDestroy(comm_stream_);
}

Status NcclTransport::check(ncclResult_t r, const char* what) {
  if (r == ncclSuccess || r == ncclInProgress) return Status();
  return Status(TIDAL_ERR_TRANSPORT, fmt::format("nccl: {} failed: {} ({})", what,
                                                 ncclGetErrorString(r),
                                                 ncclGetLastError(comm_)));
}

Status NcclTransport::all_gather(const void* send, void* recv, size_t count,
                                 tidal_dtype_t dtype, const Deadline&, void* stream) {
  return check(ncclAllGather(send, recv, count, nccl_type(dtype), comm_, as_stream(stream)),
               "ncclAllGather");
}

Status NcclTransport::reduce_scatter(const void* send, void* recv, size_t recvcount,
                                     tidal_dtype_t dtype, tidal_op_t op, const Deadline&,
                                     void* stream) {
  return check(ncclReduceScatter(send, recv, recvcount, nccl_type(dtype), nccl_op(op), comm_,
                                 as_stream(stream)),
               "ncclReduceScatter");
}

Status NcclTransport::all_reduce(const void* send, void* recv, size_t count,
                                 tidal_dtype_t dtype, tidal_op_t op, const Deadline&,
                                 void* stream) {
  return check(ncclAllReduce(send, recv, count, nccl_type(dtype), nccl_op(op), comm_,
                             as_stream(stream)),
               "ncclAllReduce");
}

Status NcclTransport::all_to_all(const void* send, void* recv, size_t count,
                                 tidal_dtype_t dtype, const Deadline&, void* stream) {
  const size_t bytes = count * dtype_size(dtype);
  Status s = check(ncclGroupStart(), "ncclGroupStart");
  for (int peer = 0; s.ok() && peer < size_; ++peer) {
    s = check(ncclSend(static_cast<const char*>(send) + peer * bytes, count, nccl_type(dtype),
                       peer, comm_, as_stream(stream)), "ncclSend");
    if (s.ok()) {
      s = check(ncclRecv(static_cast<char*>(recv) + peer * bytes, count, nccl_type(dtype), peer,
                         comm_, as_stream(stream)), "ncclRecv");
    }
  }
  Status end = check(ncclGroupEnd(), "ncclGroupEnd");
  return s.ok() ? end : s;
}

Status NcclTransport::broadcast(const void* send, void* recv, size_t count,
                                tidal_dtype_t dtype, int root, const Deadline&, void* stream) {
  return check(ncclBroadcast(send, recv, count, nccl_type(dtype), root, comm_,
                             as_stream(stream)),
               "ncclBroadcast");
}

Status NcclTransport::p2p(const P2POp* ops, size_t n, const Deadline&, void* stream) {
  TIDAL_RETURN_IF_ERROR(refuse_folds(ops, n, name()));
  Status s = check(ncclGroupStart(), "ncclGroupStart");
  for (size_t i = 0; s.ok() && i < n; ++i) {
    const P2POp& op = ops[i];
    s = op.kind == P2POp::kSend
            ? check(ncclSend(op.buf, op.bytes, ncclUint8, op.peer, comm_, as_stream(stream)),
                    "ncclSend")
            : check(ncclRecv(op.buf, op.bytes, ncclUint8, op.peer, comm_, as_stream(stream)),
                    "ncclRecv");
  }
  Status end = check(ncclGroupEnd(), "ncclGroupEnd");
  return s.ok() ? end : s;
}

Status NcclTransport::split(int color, int key, const Deadline&,
                            std::unique_ptr<Transport>* out) {
  ncclComm_t child = nullptr;
  TIDAL_RETURN_IF_ERROR(check(ncclCommSplit(comm_, color < 0 ? NCCL_SPLIT_NOCOLOR : color, key,
                                            &child, nullptr),
                              "ncclCommSplit"));
  if (!child) {
    out->reset();
    return Status();
  }
  return create(child, true, user_stream_, out);
}

Status NcclTransport::check_signature(const CollSignature& sig, const Deadline& deadline) {
  // Gather the signatures through device memory, then compare on the host.
  const size_t bytes = sizeof(CollSignature);
  void* dev = nullptr;
  if (cudaMalloc(&dev, bytes * (size_ + 1)) != cudaSuccess) {
    return Status(TIDAL_ERR_NO_MEMORY, "cuda: cudaMalloc for the argument check failed");
  }
  std::vector<CollSignature> all(static_cast<size_t>(size_));
  char* base = static_cast<char*>(dev);
  Status s;
  if (cudaMemcpyAsync(base, &sig, bytes, cudaMemcpyHostToDevice, comm_stream_) != cudaSuccess) {
    s = Status(TIDAL_ERR_TRANSPORT, "cuda: copy of the argument check failed");
  }
  if (s.ok()) s = all_gather(base, base + bytes, bytes, TIDAL_U8, deadline, comm_stream_);
  if (s.ok() && cudaMemcpyAsync(all.data(), base + bytes, bytes * size_,
                                cudaMemcpyDeviceToHost, comm_stream_) != cudaSuccess) {
    s = Status(TIDAL_ERR_TRANSPORT, "cuda: copy of the argument check failed");
  }
  if (s.ok()) cudaStreamSynchronize(comm_stream_);
  cudaFree(dev);
  return s.ok() ? compare_signatures(all.data(), size_, "nccl") : s;
}

void NcclTransport::abort() {
  if (aborted_.exchange(true)) return;
  ncclCommAbort(comm_);  // kills its kernels, so pending events fire
}

}  // namespace tidal
