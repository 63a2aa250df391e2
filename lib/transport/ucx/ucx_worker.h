// ucx_worker.h — one process's UCP context, worker and endpoints to every
// rank of the world it was bootstrapped with. A world communicator and all
// communicators split from it share one UcxWorker (the brief: a child
// reuses the parent's endpoints), so every UCP call goes through its lock
// (the worker runs in UCS_THREAD_MODE_SERIALIZED: each communicator has
// its own progress thread).
//
// Messages of different communicators are kept apart by the 64-bit UCP
// tag: [internal:1][comm id:11][source world rank:20][user tag:32]. UCP tags
// carry no source, so the source rank is part of the tag and receives match
// it exactly.
#pragma once

#include <ucp/api/ucp.h>

#include <atomic>
#include <bitset>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "lib/core/deadline.h"
#include "lib/core/status.h"

namespace tidal {

// Gathers `bytes` from every rank into recv (nranks * bytes, rank order).
using OobAllGather = std::function<Status(const void* send, void* recv, size_t bytes)>;

class UcxWorker {
 public:
  static constexpr int kMaxComms = 1 << 11;
  static constexpr int kMaxRanks = 1 << 20;
  using CommIds = std::bitset<kMaxComms>;

  // Collective over the OOB group: creates the context and worker, gathers
  // worker addresses, connects an endpoint to every rank (itself included).
  static Status create(int rank, int nranks, const OobAllGather& allgather,
                       std::shared_ptr<UcxWorker>* out);
  ~UcxWorker();
  UcxWorker(const UcxWorker&) = delete;
  UcxWorker& operator=(const UcxWorker&) = delete;

  int world_rank() const { return rank_; }
  int world_size() const { return static_cast<int>(endpoints_.size()); }
  // True when this UCX build can move CUDA memory (ucx_info -d lists cuda).
  bool supports_device_memory() const { return cuda_memory_; }

  static uint64_t make_tag(bool internal, int comm_id, int source_world_rank, int tag);

  // Posts a send or a receive; *request is nullptr when UCP completed it
  // at once. Errors: TIDAL_ERR_TRANSPORT with UCX's message.
  Status post_send(int world_peer, uint64_t tag, const void* buf, size_t bytes,
                   void** request);
  Status post_recv(uint64_t tag, void* buf, size_t bytes, void** request);

  // Copies the data and sends it in the background: the caller never waits
  // for the receiver. Polled by progress(); flushed when the worker closes.
  Status post_eager_send(int world_peer, uint64_t tag, const void* buf, size_t bytes);

  // Drives UCP and retires finished eager sends. A failed eager send is
  // reported by the next call.
  Status progress();

  // UCS_INPROGRESS while running; for a finished receive *received_bytes
  // is the length that arrived. Frees the request once it is finished.
  ucs_status_t test_and_release(void* request, bool is_recv, size_t* received_bytes);

  // Cancels unfinished requests and drives UCP until they are released
  // (bounded: a send UCP cannot cancel is left to the endpoint close).
  void cancel(std::vector<void*>* requests);

  // After an abort or a timeout nobody will receive what is still queued:
  // closing then cancels the eager sends instead of waiting for them.
  void skip_close_flush() { skip_close_flush_.store(true); }

  // Communicator ids in use in this process, and their (un)registration.
  CommIds used_comm_ids();
  Status claim_comm_id(int id);
  void release_comm_id(int id);

 private:
  UcxWorker(int rank, int nranks);
  Status init_context();
  Status exchange_headers(const OobAllGather& allgather, bool failed, size_t address_bytes,
                          size_t* widest);
  Status connect(const OobAllGather& allgather, const Status& started);
  Status create_endpoints(const std::vector<char>& addresses, size_t stride);
  void flush_eager_sends(const Deadline& deadline);
  void close_endpoints();

  struct EagerSend {
    std::vector<char> data;
    void* request = nullptr;
  };

  int rank_;
  std::mutex mu_;  // serialises every UCP call on context_/worker_
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  bool cuda_memory_ = false;
  std::vector<ucp_ep_h> endpoints_;
  std::vector<std::unique_ptr<EagerSend>> eager_;
  Status eager_failure_;
  std::atomic<bool> skip_close_flush_{false};
  CommIds comm_ids_;
};

// Text of a UCS status for messages.
const char* ucx_status_text(ucs_status_t status);

}  // namespace tidal
