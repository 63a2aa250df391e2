// async_writer.cc — the snapshot thread, the writer threads and the
// finalization of each file.
#include "lib/checkpoint/async_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "lib/checkpoint/file_io.h"
#include "lib/core/log.h"
#include "lib/core/memory_kind.h"
#include "lib/core/parallel.h"
#include "tidal/version.h"

#if TIDAL_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace tidal {
namespace ckpt {

namespace {
constexpr uint64_t kDirectAlignment = 4096;

Status cuda_status(const char* what, int code, const char* text) {
  return Status(TIDAL_ERR_TRANSPORT, fmt::format("{} failed ({}): {}", what, code, text));
}
}  // namespace

Status AsyncWriter::create(const WriterConfig& config, std::unique_ptr<AsyncWriter>* out) {
  WriterConfig c = config;
  if (c.slot_bytes < kDirectAlignment || c.slot_bytes % kDirectAlignment != 0)
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("slot_bytes {} must be a positive multiple of 4096", c.slot_bytes));
  if (c.staging_bytes < 2 * c.slot_bytes)
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("staging_bytes {} must hold at least two slots of {} bytes",
                              c.staging_bytes, c.slot_bytes));
  if (c.writer_threads < 1 || c.writer_threads > 64)
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("writer_threads {} not in [1, 64]", c.writer_threads));
  std::unique_ptr<AsyncWriter> w(new AsyncWriter());
  w->config_ = c;
  size_t slots = c.staging_bytes / c.slot_bytes;
  TIDAL_RETURN_IF_ERROR(allocate_host(slots * c.slot_bytes, c.use_cuda, false, &w->staging_));
  for (size_t i = 0; i < slots; ++i) w->free_slots_.push_back(static_cast<char*>(w->staging_.ptr) + i * c.slot_bytes);
  TIDAL_RETURN_IF_ERROR(w->setup_cuda());
  w->snapshot_thread_ = std::thread([p = w.get()] { p->snapshot_loop(); });
  for (int i = 0; i < c.writer_threads; ++i)
    w->writer_threads_.emplace_back([p = w.get()] { p->writer_loop(); });
  *out = std::move(w);
  return Status();
}

Status AsyncWriter::setup_cuda() {
#if TIDAL_HAVE_CUDA
  if (config_.use_cuda && cuda_device_usable(nullptr)) {
    cudaStream_t s = nullptr;
    cudaError_t e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    if (e != cudaSuccess) return cuda_status("cudaStreamCreate", e, cudaGetErrorString(e));
    side_stream_ = s;
  }
#endif
  return Status();
}

AsyncWriter::~AsyncWriter() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return jobs_.empty() && active_.empty(); });
    stopping_ = true;
  }
  changed_.notify_all();
  // create() may fail before the threads start (staging not allocated).
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  for (std::thread& t : writer_threads_) t.join();
#if TIDAL_HAVE_CUDA
  if (side_stream_) cudaStreamDestroy(static_cast<cudaStream_t>(side_stream_));
#endif
  free_host(&staging_);
}

Status AsyncWriter::open_temp_file(SaveJob* job) {
  job->temp_path = temp_path_for(job->request().path);
  job->fd = open(job->temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (job->fd < 0)
    return Status(TIDAL_ERR_IO, fmt::format("cannot create '{}': {}", job->temp_path, strerror(errno)));
  if (config_.direct_io) {
    job->direct_fd = open(job->temp_path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
    if (job->direct_fd < 0)  // e.g. tmpfs: buffered writes still work
      log_info(-1, "O_DIRECT refused for '{}' ({}); writing buffered", job->temp_path, strerror(errno));
  }
  return Status();
}

Status AsyncWriter::save_async(SaveRequest request, SaveJobPtr* out) {
  HeaderPlan plan;
  TIDAL_RETURN_IF_ERROR(plan_save(request, {}, &plan));
  auto job = std::make_shared<SaveJob>(std::move(request), std::move(plan));
  bool any_device = false;
  for (const TensorSource& t : job->request().tensors) {
    bool device = t.data && pointer_kind(t.data) == PointerKind::kDevice;
    job->on_device.push_back(device);
    any_device |= device;
  }
#if TIDAL_HAVE_CUDA
  if (any_device) {  // the D2H copies start only after the producer's work
    cudaEvent_t ev = nullptr;
    cudaError_t e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
    if (e == cudaSuccess) e = cudaEventRecord(ev, static_cast<cudaStream_t>(job->request().cuda_stream));
    if (e != cudaSuccess) return cuda_status("cudaEventRecord on the save's stream", e, cudaGetErrorString(e));
    job->ready_event = ev;
  }
#else
  (void)any_device;
#endif
  Status opened = open_temp_file(job.get());
  if (!opened.ok()) {
#if TIDAL_HAVE_CUDA
    if (job->ready_event) cudaEventDestroy(static_cast<cudaEvent_t>(job->ready_event));
#endif
    return opened;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(job);
    active_.push_back(job);
  }
  changed_.notify_all();
  *out = job;
  return Status();
}

void AsyncWriter::snapshot_loop() {
  for (;;) {
    SaveJobPtr job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = jobs_.front();
    }
    snapshot_job(job);
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.pop_front();
    changed_.notify_all();
  }
}

std::vector<char*> AsyncWriter::acquire_slot_buffers(size_t most, bool block) {
  std::unique_lock<std::mutex> lock(mu_);
  if (block) changed_.wait(lock, [this] { return !free_slots_.empty(); });
  std::vector<char*> taken;
  while (!free_slots_.empty() && taken.size() < most) {
    taken.push_back(free_slots_.back());
    free_slots_.pop_back();
  }
  return taken;
}

Status AsyncWriter::plan_slot(SaveJob* job, StreamCursor* cursor, char* buffer, uint64_t offset,
                              uint64_t length, std::vector<StagedPiece>* pieces,
                              bool* used_stream) {
  const HeaderPlan& plan = job->plan();
  const auto& tensors = job->request().tensors;
  uint64_t pos = offset, end = offset + length;
  uint64_t data_start = plan.prefix.size();
  if (pos < data_start) {  // the header placeholder; rewritten at the end
    uint64_t n = std::min(end, data_start) - pos;
    memcpy(buffer, plan.prefix.data() + pos, n);
    pos += n;
  }
  while (cursor->order_pos < plan.order.size()) {
    size_t i = plan.order[cursor->order_pos];
    uint64_t size = plan.byte_sizes[i];
    uint64_t n = std::min(size - cursor->in_tensor, end - pos);
    if (n == 0 && size != 0) break;  // the slot is full
    char* dst = buffer + (pos - offset);
    const char* src = static_cast<const char*>(tensors[i].data) + cursor->in_tensor;
    const char* host_source = job->on_device[i] ? nullptr : src;
    if (job->on_device[i]) {
#if TIDAL_HAVE_CUDA
      cudaError_t e = cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, static_cast<cudaStream_t>(side_stream_));
      if (e != cudaSuccess) return cuda_status("cudaMemcpyAsync D2H", e, cudaGetErrorString(e));
      *used_stream = true;
#endif
    }
    pieces->push_back(StagedPiece{i, dst, host_source, n, cursor->in_tensor == 0, cursor->in_tensor + n == size});
    cursor->in_tensor += n;
    pos += n;
    if (cursor->in_tensor == size) {
      cursor->order_pos++;
      cursor->in_tensor = 0;
    }
  }
  return Status();
}

// One batch of slots: planned, its device pieces' D2H copies queued on the
// side stream (followed by `copied`), not yet copied/hashed on the host.
struct AsyncWriter::Batch {
  std::vector<Slot> slots;
  std::vector<StagedPiece> pieces;
  void* copied = nullptr;  // cudaEvent_t after the batch's D2H copies, if any
  Status status;
};

AsyncWriter::Batch AsyncWriter::start_batch(SaveJob* job, StreamCursor* cursor, uint64_t* off,
                                            bool block) {
  Batch batch;
  const HeaderPlan& plan = job->plan();
  const uint64_t slot_bytes = config_.slot_bytes;
  if (*off >= plan.total_bytes) return batch;
  const uint64_t slots_left = (plan.total_bytes - *off + slot_bytes - 1) / slot_bytes;
  bool used_stream = false;
  for (char* buffer : acquire_slot_buffers(std::min<uint64_t>(slots_left, parallel_width()), block)) {
    const uint64_t len = std::min<uint64_t>(slot_bytes, plan.total_bytes - *off);
    if (batch.status.ok())
      batch.status = plan_slot(job, cursor, buffer, *off, len, &batch.pieces, &used_stream);
    batch.slots.push_back(Slot{job, buffer, *off, len});
    *off += len;
  }
#if TIDAL_HAVE_CUDA
  if (batch.status.ok() && used_stream) {
    cudaEvent_t ev = nullptr;
    cudaError_t e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
    if (e == cudaSuccess) e = cudaEventRecord(ev, static_cast<cudaStream_t>(side_stream_));
    if (e != cudaSuccess) batch.status = cuda_status("cudaEventRecord (D2H)", e, cudaGetErrorString(e));
    batch.copied = ev;
  }
#endif
  return batch;
}

Status AsyncWriter::finish_batch_copies(Batch* batch) {
#if TIDAL_HAVE_CUDA
  if (batch->copied) {
    cudaError_t e = cudaEventSynchronize(static_cast<cudaEvent_t>(batch->copied));
    cudaEventDestroy(static_cast<cudaEvent_t>(batch->copied));
    batch->copied = nullptr;
    if (e != cudaSuccess) return cuda_status("cudaEventSynchronize (D2H)", e, cudaGetErrorString(e));
  }
#else
  (void)batch;
#endif
  return Status();
}

// Stages the file in batches of slots: as many free slots as there are
// copy threads, planned in stream order (device pieces start their D2H
// copies at once), then copied and hashed in parallel, then handed to the
// writer threads in file order. While one batch is hashed the next one's
// D2H copies already run, when free slots allow it (never waiting for a
// slot while a batch is held: the writers may need that batch first).
void AsyncWriter::snapshot_job(const SaveJobPtr& job) {
  const HeaderPlan& plan = job->plan();
  // Reserving the space first turns a full disk into an error before any
  // tensor is copied (file systems without fallocate skip this).
  if (fallocate(job->fd, 0, 0, static_cast<off_t>(plan.total_bytes)) != 0 && errno != EOPNOTSUPP &&
      errno != ENOSYS)
    job->fail(Status(TIDAL_ERR_IO, fmt::format("cannot reserve {} bytes for '{}': {}", plan.total_bytes,
                                               job->temp_path, strerror(errno))));
#if TIDAL_HAVE_CUDA
  if (job->ready_event && side_stream_) {
    cudaError_t e = cudaStreamWaitEvent(static_cast<cudaStream_t>(side_stream_),
                                        static_cast<cudaEvent_t>(job->ready_event), 0);
    if (e != cudaSuccess) job->fail(cuda_status("cudaStreamWaitEvent", e, cudaGetErrorString(e)));
  }
#endif
  StreamCursor cursor(plan.byte_sizes.size());
  if (!cursor.ok()) job->fail(Status(TIDAL_ERR_NO_MEMORY, "cannot allocate the checksum states"));
  uint64_t off = 0;
  bool complete = false;
  Batch current;
  if (!job->failed()) current = start_batch(job.get(), &cursor, &off, true);
  while (!current.slots.empty()) {
    Batch next;
    if (current.status.ok() && !job->failed()) next = start_batch(job.get(), &cursor, &off, false);
    Status s = current.status;
    if (s.ok()) s = finish_batch_copies(&current);
    if (s.ok()) cursor.stage_and_hash(current.pieces);
    const bool last = s.ok() && current.slots.back().offset + current.slots.back().length == plan.total_bytes;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!s.ok() || job->failed()) {
        if (!s.ok()) job->fail(s);
        for (const Slot& slot : current.slots) free_slots_.push_back(slot.buffer);
      } else {
        if (last) {
          job->finish_snapshot(Status());  // every source byte is staged
          complete = true;
        }
        for (const Slot& slot : current.slots) {
          job->slot_issued();
          filled_.push_back(slot);
        }
      }
      changed_.notify_all();
    }
    if (!s.ok() || job->failed()) {  // drop the look-ahead batch too
      finish_batch_copies(&next);
      std::lock_guard<std::mutex> lock(mu_);
      for (const Slot& slot : next.slots) free_slots_.push_back(slot.buffer);
      changed_.notify_all();
      break;
    }
    if (next.slots.empty()) next = start_batch(job.get(), &cursor, &off, true);
    current = std::move(next);
  }
  HeaderPlan final_plan;
  if (!complete) job->finish_snapshot(job->first_error());
  else if (Status s = plan_save(job->request(), cursor.checksums, &final_plan); !s.ok()) job->fail(s);
  if (job->all_issued(final_plan.prefix)) finalize(job.get());
}

void AsyncWriter::writer_loop() {
  for (;;) {
    Slot slot;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [this] { return stopping_ || !filled_.empty(); });
      if (filled_.empty()) return;
      slot = filled_.front();
      filled_.pop_front();
    }
    write_slot(slot);
    {
      std::lock_guard<std::mutex> lock(mu_);
      free_slots_.push_back(slot.buffer);
    }
    changed_.notify_all();
    if (slot.job->slot_written()) finalize(slot.job);
  }
}

void AsyncWriter::write_slot(const Slot& slot) {
  SaveJob* job = slot.job;
  if (job->failed()) return;  // the save is lost; just recycle the slot
  Status s;
  if (job->direct_fd >= 0) {
    // O_DIRECT needs whole aligned blocks: pad the file's last slot with
    // zeros; finalize truncates the file back to its size.
    uint64_t padded = (slot.length + kDirectAlignment - 1) / kDirectAlignment * kDirectAlignment;
    memset(slot.buffer + slot.length, 0, padded - slot.length);
    s = write_all_at(job->direct_fd, slot.buffer, padded, slot.offset, job->temp_path);
  } else {
    s = write_all_at(job->fd, slot.buffer, slot.length, slot.offset, job->temp_path);
  }
  if (!s.ok()) job->fail(s);
}

// Runs once per file, after its last slot is written: real header, fsync,
// rename into place, directory fsync. On failure the temp file goes away
// and the previous file under the final name stays untouched.
void AsyncWriter::finalize(SaveJob* job) {
  Status s = job->first_error();
  const std::string prefix = job->final_prefix();
  if (s.ok() && job->direct_fd >= 0 && ftruncate(job->fd, static_cast<off_t>(job->plan().total_bytes)) != 0)
    s = Status(TIDAL_ERR_IO, fmt::format("truncate '{}': {}", job->temp_path, strerror(errno)));
  if (s.ok()) s = write_all_at(job->fd, prefix.data(), prefix.size(), 0, job->temp_path);
  if (s.ok()) s = fsync_fd(job->fd, job->temp_path);
  if (job->direct_fd >= 0) close(job->direct_fd);
  if (close(job->fd) != 0 && s.ok())
    s = Status(TIDAL_ERR_IO, fmt::format("close '{}': {}", job->temp_path, strerror(errno)));
  if (s.ok()) s = rename_durably(job->temp_path, job->request().path);
  if (!s.ok()) unlink(job->temp_path.c_str());
#if TIDAL_HAVE_CUDA
  if (job->ready_event) cudaEventDestroy(static_cast<cudaEvent_t>(job->ready_event));
#endif
  job->finish_durable(s.ok() ? s : s.with_context("checkpoint save"));
  std::lock_guard<std::mutex> lock(mu_);
  active_.erase(std::remove_if(active_.begin(), active_.end(),
                               [job](const SaveJobPtr& p) { return p.get() == job; }),
                active_.end());
  changed_.notify_all();
}

}  // namespace ckpt
}  // namespace tidal
