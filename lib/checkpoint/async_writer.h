// async_writer.h — the asynchronous checkpoint writer. One snapshot thread
// copies tensors (host memcpy, or D2H on a side stream for device memory)
// into a bounded ring of staging slots, hashing each tensor as it streams
// through; writer threads pwrite the slots at their file offsets; the last
// write of a file triggers header rewrite (with checksums), fsync, atomic
// rename and directory fsync. Memory never exceeds the staging budget, and
// saves queue in order behind each other, sharing the ring.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "lib/checkpoint/save_job.h"
#include "lib/checkpoint/snapshot_staging.h"
#include "lib/core/status.h"
#include "lib/memory/host_allocation.h"

namespace tidal {
namespace ckpt {

struct WriterConfig {
  size_t staging_bytes = 256u << 20;  // the whole ring
  size_t slot_bytes = 16u << 20;      // one write; a multiple of 4096
  int writer_threads = 2;
  bool direct_io = false;             // O_DIRECT writes (falls back if refused)
  bool use_cuda = true;               // pinned staging + side stream when usable
};

using SaveJobPtr = std::shared_ptr<SaveJob>;

class AsyncWriter {
 public:
  // Allocates the staging ring and starts the threads.
  static Status create(const WriterConfig& config, std::unique_ptr<AsyncWriter>* out);
  // Waits for every queued save, then stops the threads.
  ~AsyncWriter();
  AsyncWriter(const AsyncWriter&) = delete;
  AsyncWriter& operator=(const AsyncWriter&) = delete;

  // Validates, creates the temp file and queues the save; returns at once.
  // Errors found now (bad arguments, unwritable directory) are returned
  // here; later ones through the job.
  Status save_async(SaveRequest request, SaveJobPtr* job);

  const WriterConfig& config() const { return config_; }
  size_t staging_bytes_allocated() const { return staging_.bytes; }

 private:
  struct Slot {
    SaveJob* job;
    char* buffer;
    uint64_t offset;  // in the file
    uint64_t length;  // bytes that belong to the file
  };

  AsyncWriter() = default;
  Status open_temp_file(SaveJob* job);
  Status setup_cuda();
  void snapshot_loop();
  void snapshot_job(const SaveJobPtr& job);
  // Plans the pieces of one slot and issues the D2H copies of device pieces.
  Status plan_slot(SaveJob* job, StreamCursor* cursor, char* buffer, uint64_t offset,
                   uint64_t length, std::vector<StagedPiece>* pieces, bool* used_stream);
  struct Batch;
  // Takes free slots (with `block`, waits for at least one) for the next
  // bytes of the file from *offset, plans them and queues their D2H copies.
  Batch start_batch(SaveJob* job, StreamCursor* cursor, uint64_t* offset, bool block);
  Status finish_batch_copies(Batch* batch);  // waits for the batch's D2H copies
  // Takes up to `most` free slots; with `block`, waits for at least one.
  std::vector<char*> acquire_slot_buffers(size_t most, bool block);
  void writer_loop();
  void write_slot(const Slot& slot);
  void finalize(SaveJob* job);

  WriterConfig config_;
  HostAllocation staging_;
  void* side_stream_ = nullptr;  // cudaStream_t when CUDA is usable

  std::mutex mu_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::deque<SaveJobPtr> jobs_;       // waiting for the snapshot thread
  std::vector<SaveJobPtr> active_;    // keeps jobs alive until durable
  std::vector<char*> free_slots_;
  std::deque<Slot> filled_;           // waiting for a writer thread
  std::thread snapshot_thread_;
  std::vector<std::thread> writer_threads_;
};

}  // namespace ckpt
}  // namespace tidal
