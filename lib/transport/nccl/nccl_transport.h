// nccl_transport.h — the NCCL backend: device memory, every call enqueued
// on the communication stream (ExecContext::stream).
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <atomic>
#include <memory>

#include "lib/transport/transport.h"

namespace tidal {

class NcclTransport final : public Transport {
 public:
  // Takes `comm` (owned: destroyed with the transport unless !owns).
  static Status create(ncclComm_t comm, bool owns, cudaStream_t user_stream,
                       std::unique_ptr<Transport>* out);
  ~NcclTransport() override;

  const char* name() const override { return "nccl"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  MemoryKind memory_kind() const override { return MemoryKind::kDevice; }
  void* user_stream() const override { return user_stream_; }
  void* comm_stream() const override { return comm_stream_; }

  Status all_gather(const void* send, void* recv, size_t count, tidal_dtype_t dtype,
                    const Deadline& deadline, void* stream) override;
  Status reduce_scatter(const void* send, void* recv, size_t recvcount,
                        tidal_dtype_t dtype, tidal_op_t op, const Deadline& deadline,
                        void* stream) override;
  Status all_reduce(const void* send, void* recv, size_t count, tidal_dtype_t dtype,
                    tidal_op_t op, const Deadline& deadline, void* stream) override;
  Status all_to_all(const void* send, void* recv, size_t count, tidal_dtype_t dtype,
                    const Deadline& deadline, void* stream) override;
  Status broadcast(const void* send, void* recv, size_t count, tidal_dtype_t dtype,
                   int root, const Deadline& deadline, void* stream) override;
  Status p2p(const P2POp* ops, size_t n, const Deadline& deadline, void* stream) override;
  Status split(int color, int key, const Deadline& deadline,
               std::unique_ptr<Transport>* out) override;
  Status check_signature(const CollSignature& sig, const Deadline& deadline) override;
  void abort() override;

 private:
  NcclTransport(ncclComm_t comm, bool owns, cudaStream_t user_stream, cudaStream_t comm_stream);
  Status check(ncclResult_t r, const char* what);

  ncclComm_t comm_;
  const bool owns_;
  cudaStream_t user_stream_;
  cudaStream_t comm_stream_;
  int rank_ = 0;
  int size_ = 1;
  std::atomic<bool> aborted_{false};
};

}  // namespace tidal
