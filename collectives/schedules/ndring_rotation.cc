#include "collectives/schedules/ndring_rotation.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "lib/core/dtype.h"
#include "lib/core/reduce.h"

namespace tidal {
namespace {

constexpr int kRotationTag = 32700;  // in the range schedules reserve

Status usage(const std::string& what) {
  return Status(TIDAL_ERR_INVALID_USAGE, "ring rotation: " + what);
}

}  // namespace

NdRingRotation::NdRingRotation(Communicator& comm, const RankLayout& layout, size_t count,
                               tidal_dtype_t dtype, Mode mode)
    : comm_(comm), order_(layout), rank_(comm.rank()), count_(count), dtype_(dtype),
      bytes_(count * dtype_size(dtype)), mode_(mode) {}

NdRingRotation::~NdRingRotation() {
  drain();  // an abort of the parent still reaches it here
  if (abort_hook_ >= 0) comm_.remove_abort_hook(abort_hook_);
}

Status NdRingRotation::create(Communicator& comm, const RankLayout& layout, size_t count,
                              tidal_dtype_t dtype, Mode mode,
                              std::unique_ptr<NdRingRotation>* out) {
  if (layout.world() != comm.size()) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("ring rotation: layout {} has {} ranks, the communicator {}",
                              layout.to_string(), layout.world(), comm.size()));
  }
  if (!dtype_valid(dtype) || count == 0 || count > (size_t(1) << 40)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("ring rotation: bad block ({} elements of dtype {})", count,
                              static_cast<int>(dtype)));
  }
  if (comm.transport().memory_kind() != MemoryKind::kHost) {
    return Status(TIDAL_ERR_UNSUPPORTED,
                  fmt::format("ring rotation: backend {} moves device memory; the rotation "
                              "runs on host memory", comm.backend()));
  }
  std::unique_ptr<NdRingRotation> rot(new NdRingRotation(comm, layout, count, dtype, mode));
  const int rank = comm.rank();
  if (mode == Mode::kBlocks) {
    for (int d = 0; d < layout.ndims(); ++d) {
      std::unique_ptr<Communicator> sub;
      TIDAL_RETURN_IF_ERROR(comm.split(layout.group_color(rank, d), layout.coord(rank, d),
                                       nullptr, &sub).with_context("ring rotation: split"));
      rot->dim_comms_.push_back(std::move(sub));
    }
  } else {
    TIDAL_RETURN_IF_ERROR(comm.split(0, rank, nullptr, &rot->private_comm_)
                              .with_context("ring rotation: split"));
  }
  // An abort of the parent reaches a transfer blocked on these too.
  std::vector<Communicator*> subs;
  for (auto& c : rot->dim_comms_) if (c) subs.push_back(c.get());
  if (rot->private_comm_) subs.push_back(rot->private_comm_.get());
  rot->abort_hook_ = comm.add_abort_hook([subs] {
    for (Communicator* c : subs) c->abort();
  });
  *out = std::move(rot);
  return Status();
}

const char* NdRingRotation::data_of(int id) const {
  return id == kBorrowed ? borrowed_ : buffers_[static_cast<size_t>(id)].data();
}

const void* NdRingRotation::current_data() const {
  if (mode_ != Mode::kBlocks || current_ == kNoBuffer) return nullptr;
  return data_of(current_);
}

int NdRingRotation::free_buffer() {
  for (size_t b = 0; b < buffers_.size(); ++b) {
    const int id = static_cast<int>(b);
    bool busy = id == current_;
    for (const Transfer& t : pending_) busy = busy || t.src == id || t.dst == id;
    if (!busy) return id;
  }
  buffers_.emplace_back(bytes_);
  return static_cast<int>(buffers_.size()) - 1;
}

Status NdRingRotation::settle(const RequestPtr& request, Communicator& comm) {
  Status s = comm.wait(request);
  if (!s.ok() && broken_.ok()) broken_ = s.with_context("ring rotation");
  return broken_;
}

void NdRingRotation::drain() {
  for (Transfer& t : pending_) dim_comms_[static_cast<size_t>(t.dim)]->wait(t.request);
  pending_.clear();
  if (grad_request_) private_comm_->wait(grad_request_);
  grad_request_.reset();
}

Status NdRingRotation::launch_forwards() {
  const RankLayout& L = order_.layout();
  for (int d : order_.dims_forwarded_at(step_)) {
    const int dst = free_buffer();
    const int coord = L.coord(rank_, d), dim = L.dim(d);
    P2POp ops[2] = {
        {P2POp::kSend, const_cast<char*>(data_of(current_)), bytes_,
         (coord + 1) % dim, kRotationTag},
        {P2POp::kRecv, buffers_[static_cast<size_t>(dst)].data(), bytes_,
         (coord + dim - 1) % dim, kRotationTag}};
    Communicator& sub = *dim_comms_[static_cast<size_t>(d)];
    Transport* t = &sub.transport();
    RequestPtr r = sub.submit("ring rotation", [t, ops](const ExecContext& ctx) {
      return t->p2p(ops, 2, ctx.deadline, ctx.stream);
    });
    pending_.push_back(Transfer{d, current_, dst, step_ + L.stride(d), std::move(r)});
  }
  return Status();
}

Status NdRingRotation::start_blocks(const void* own_block, bool borrow) {
  if (mode_ != Mode::kBlocks) return usage("start_blocks on a gradient rotation");
  if (!own_block) return Status(TIDAL_ERR_INVALID_ARGUMENT, "ring rotation: block is NULL");
  TIDAL_RETURN_IF_ERROR(broken_);
  if (running_ && step_ != steps() - 1) return usage("a cycle is still running");
  if (borrow) {
    borrowed_ = static_cast<const char*>(own_block);
    current_ = kBorrowed;
  } else {
    if (buffers_.empty()) buffers_.emplace_back(bytes_);
    borrowed_ = nullptr;
    current_ = 0;
    std::memcpy(buffers_[0].data(), own_block, bytes_);
  }
  step_ = 0;
  running_ = true;
  return launch_forwards();
}

Status NdRingRotation::wait_next() {
  if (mode_ != Mode::kBlocks) return usage("wait on a gradient rotation (use accumulate)");
  TIDAL_RETURN_IF_ERROR(broken_);
  if (!running_) return usage("wait before start");
  if (step_ == steps() - 1) return usage("the cycle is complete; start the next one");
  const int next = step_ + 1;
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [next](const Transfer& t) { return t.consumed_at == next; });
  if (it == pending_.end()) {
    return Status(TIDAL_ERR_INTERNAL, fmt::format("ring rotation: no transfer for step {}", next));
  }
  Transfer arrived = *it;
  pending_.erase(it);
  TIDAL_RETURN_IF_ERROR(settle(arrived.request, *dim_comms_[static_cast<size_t>(arrived.dim)]));
  current_ = arrived.dst;
  step_ = next;
  return launch_forwards();
}

Status NdRingRotation::start_gradients() {
  if (mode_ != Mode::kGradients) return usage("start_gradients on a block rotation");
  TIDAL_RETURN_IF_ERROR(broken_);
  if (running_) return usage("a cycle is still running (finish it first)");
  buffers_.resize(2, std::vector<char>(bytes_));
  step_ = 0;
  accumulated_ = 0;
  running_ = true;
  return Status();
}

Status NdRingRotation::send_accumulator() {
  const int s = step_;
  const int to = order_.holder_of(order_.block_at(rank_, s), s + 1);
  const int from = order_.holder_of(order_.block_at(rank_, s + 1), s);
  P2POp ops[2] = {{P2POp::kSend, buffers_[static_cast<size_t>(s % 2)].data(), bytes_, to,
                   kRotationTag},
                  {P2POp::kRecv, buffers_[static_cast<size_t>((s + 1) % 2)].data(), bytes_,
                   from, kRotationTag}};
  Transport* t = &private_comm_->transport();
  grad_request_ = private_comm_->submit("ring rotation (gradients)",
                                        [t, ops](const ExecContext& ctx) {
                                          return t->p2p(ops, 2, ctx.deadline, ctx.stream);
                                        });
  return Status();
}

Status NdRingRotation::accumulate(const void* partial) {
  if (mode_ != Mode::kGradients) return usage("accumulate on a block rotation");
  if (!partial) return Status(TIDAL_ERR_INVALID_ARGUMENT, "ring rotation: partial is NULL");
  TIDAL_RETURN_IF_ERROR(broken_);
  if (!running_) return usage("accumulate before start");
  if (accumulated_ == steps()) return usage("every step was accumulated; call finish");
  char* acc = buffers_[static_cast<size_t>(step_ % 2)].data();
  if (step_ == 0) {
    std::memcpy(acc, partial, bytes_);
  } else {
    TIDAL_RETURN_IF_ERROR(settle(grad_request_, *private_comm_));
    grad_request_.reset();
    reduce_into(acc, partial, count_, dtype_, TIDAL_SUM);
  }
  if (steps() > 1) TIDAL_RETURN_IF_ERROR(send_accumulator());
  ++accumulated_;
  if (step_ < steps() - 1) ++step_;
  return Status();
}

Status NdRingRotation::finish(void* result) {
  if (mode_ != Mode::kGradients) return usage("finish on a block rotation");
  if (!result) return Status(TIDAL_ERR_INVALID_ARGUMENT, "ring rotation: result is NULL");
  TIDAL_RETURN_IF_ERROR(broken_);
  if (!running_ || accumulated_ != steps()) {
    return usage(fmt::format("finish after {} of {} accumulates", accumulated_, steps()));
  }
  if (grad_request_) {
    TIDAL_RETURN_IF_ERROR(settle(grad_request_, *private_comm_));
    grad_request_.reset();
  }
  // The last exchange (step n-1) received this rank's total into buffer n%2;
  // a single rank never exchanged and kept it in buffer 0.
  const size_t home = steps() == 1 ? 0 : static_cast<size_t>(steps() % 2);
  std::memcpy(result, buffers_[home].data(), bytes_);
  running_ = false;
  return Status();
}

}  // namespace tidal
