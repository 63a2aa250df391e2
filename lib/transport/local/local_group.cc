#include "lib/transport/local/local_group.h"

#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "lib/core/dtype.h"
#include "lib/core/reduce.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TIDAL_CPU_RELAX() _mm_pause()
#else
#define TIDAL_CPU_RELAX() std::this_thread::yield()
#endif

namespace tidal {

LocalGroup::LocalGroup(int size)
    : size_(size),
      spin_(static_cast<unsigned>(size) <= std::thread::hardware_concurrency()),
      rank_cv_(static_cast<size_t>(size)),
      arrived_mask_(static_cast<size_t>(size), 0),
      posts_(static_cast<size_t>(size)),
      split_slots_(static_cast<size_t>(size)),
      mailboxes_(static_cast<size_t>(size)) {}

LocalGroup::~LocalGroup() {
  for (auto& box : mailboxes_) {
    for (Message* m : box) {
      if (m->detached) delete m;
    }
  }
}

// How long a waiter spins before it sleeps: a few peer arrivals' worth
// (a rank's step of a small collective here takes 1-5 us).
constexpr auto kSpinBudget = std::chrono::microseconds(30);

bool LocalGroup::spin_for_event(uint64_t seen) const {
  const auto until = std::chrono::steady_clock::now() + kSpinBudget;
  for (int round = 1;; ++round) {
    if (events_.load(std::memory_order_acquire) != seen) return true;
    if (!spin_ || round % 64 == 0) {
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::yield();
    } else {
      TIDAL_CPU_RELAX();
    }
  }
}

void LocalGroup::spin_unlocked(std::unique_lock<std::mutex>& lock) {
  const uint64_t seen = events_.load(std::memory_order_relaxed);  // under the lock
  lock.unlock();
  spin_for_event(seen);
  lock.lock();
}

void LocalGroup::wake_all() {
  note_event();
  cv_.notify_all();
  for (auto& cv : rank_cv_) cv.notify_all();
}

void LocalGroup::fail(const Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failure_.ok()) failure_ = status;
  }
  wake_all();
}

Status LocalGroup::failure() {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

Status LocalGroup::timeout_status(const char* what, int rank) {
  std::string missing;
  int shown = 0;
  for (int r = 0; r < size_; ++r) {
    if (arrived_mask_[r]) continue;
    if (shown++ < 8) missing += (missing.empty() ? "" : ",") + std::to_string(r);
  }
  if (shown > 8) missing += ",...";
  return Status(TIDAL_ERR_TIMEOUT,
                fmt::format("local: rank {} timed out in {} waiting for rank(s) {}",
                            rank, what, missing.empty() ? "?" : missing));
}

Status LocalGroup::barrier(int rank, const Deadline& deadline, const char* what) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  const uint64_t gen = generation_;
  arrived_mask_[rank] = 1;
  if (++arrived_ == size_) {
    arrived_ = 0;
    std::fill(arrived_mask_.begin(), arrived_mask_.end(), 0);
    ++generation_;
    note_event();
    lock.unlock();
    cv_.notify_all();
    return Status();
  }
  bool spun = false;
  while (generation_ == gen && failure_.ok()) {
    if (!spun) {  // then re-check under the lock before sleeping
      spun = true;
      spin_unlocked(lock);
      continue;
    }
    if (cv_.wait_until(lock, deadline.when()) == std::cv_status::timeout &&
        generation_ == gen && failure_.ok()) {
      failure_ = timeout_status(what, rank);
      wake_all();
    }
  }
  return generation_ != gen ? Status() : failure_;
}

Status LocalGroup::post_and_wait(int rank, const LocalPost& post,
                                 const Deadline& deadline, const char* what) {
  posts_[rank] = post;  // safe: every reader of the last posts has left
  return barrier(rank, deadline, what);
}

Status LocalGroup::recv_one(int rank, const P2POp& op, const Deadline& deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  auto& box = mailboxes_[rank];
  Message* msg = nullptr;
  bool spun = false;
  for (;;) {
    if (!failure_.ok()) return failure_;
    for (auto it = box.begin(); it != box.end(); ++it) {
      if ((*it)->src == op.peer && (*it)->tag == op.tag) {
        msg = *it;
        box.erase(it);
        break;
      }
    }
    if (msg) break;
    if (!spun) {  // then re-check under the lock before sleeping
      spun = true;
      spin_unlocked(lock);
      continue;
    }
    spun = false;
    if (rank_cv_[rank].wait_until(lock, deadline.when()) == std::cv_status::timeout) {
      failure_ = Status(TIDAL_ERR_TIMEOUT,
                        fmt::format("local: rank {} timed out receiving {} bytes from "
                                    "rank {} (tag {})", rank, op.bytes, op.peer, op.tag));
      wake_all();
      return failure_;
    }
  }
  msg->taken = true;
  Status result;
  if (msg->bytes != op.bytes) {
    result = Status(TIDAL_ERR_MISMATCH,
                    fmt::format("local: rank {} sent {} bytes to rank {} (tag {}) which "
                                "expected {}", op.peer, msg->bytes, rank, op.tag, op.bytes));
  } else if (op.fold && op.bytes % dtype_size(op.fold->dtype)) {
    result = Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("local: rank {} folds {} bytes from rank {}, not a whole "
                                "number of {}", rank, op.bytes, op.peer,
                                tidal_dtype_name(op.fold->dtype)));
  } else if (op.bytes) {
    lock.unlock();  // the sender waits for `done`, so its buffer stays valid
    if (op.fold) {
      reduce_to(op.buf, op.fold->addend, msg->data, op.bytes / dtype_size(op.fold->dtype),
                op.fold->dtype, op.fold->op);
    } else {
      std::memcpy(op.buf, msg->data, op.bytes);
    }
    lock.lock();
  }
  if (msg->detached) {
    delete msg;
    return result;
  }
  msg->result = result;
  msg->done = true;
  note_event();
  rank_cv_[msg->src].notify_all();  // under the lock: the sender cannot free msg first
  return result;
}

void LocalGroup::withdraw_sends(std::vector<Message>& sent, int rank,
                                const P2POp* ops, size_t n) {
  // Called with a failure: remove untaken messages, wait for taken ones.
  std::unique_lock<std::mutex> lock(mu_);
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    if (ops[i].kind != P2POp::kSend || ops[i].eager) continue;
    Message* m = &sent[k++];
    if (!m->taken) {
      auto& box = mailboxes_[ops[i].peer];
      for (auto it = box.begin(); it != box.end(); ++it) {
        if (*it == m) { box.erase(it); break; }
      }
    } else {
      rank_cv_[rank].wait(lock, [&] { return m->done; });
    }
  }
}

Status LocalGroup::p2p(int rank, const P2POp* ops, size_t n, const Deadline& deadline) {
  size_t sends = 0;
  for (size_t i = 0; i < n; ++i) sends += ops[i].kind == P2POp::kSend && !ops[i].eager;
  std::vector<Message> sent(sends);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
    size_t k = 0;
    for (size_t i = 0; i < n; ++i) {
      if (ops[i].kind != P2POp::kSend) continue;
      if (ops[i].eager) {
        auto* m = new Message{rank, ops[i].tag, nullptr, ops[i].bytes};
        m->detached = true;
        const char* src = static_cast<const char*>(ops[i].buf);
        m->storage.assign(src, src + ops[i].bytes);
        m->data = m->storage.data();
        mailboxes_[ops[i].peer].push_back(m);
        continue;
      }
      Message& m = sent[k++];
      m.src = rank;
      m.tag = ops[i].tag;
      m.data = ops[i].buf;
      m.bytes = ops[i].bytes;
      mailboxes_[ops[i].peer].push_back(&m);
    }
    note_event();
  }
  for (size_t i = 0; i < n; ++i) {  // wake each receiver, not the whole group
    if (ops[i].kind == P2POp::kSend) rank_cv_[ops[i].peer].notify_all();
  }
  Status status;
  for (size_t i = 0; i < n && status.ok(); ++i) {
    if (ops[i].kind == P2POp::kRecv) status = recv_one(rank, ops[i], deadline);
  }
  if (status.ok()) {
    std::unique_lock<std::mutex> lock(mu_);
    for (Message& m : sent) {
      bool spun = false;
      while (!m.done && failure_.ok()) {
        if (!spun) {  // then re-check under the lock before sleeping
          spun = true;
          spin_unlocked(lock);
          continue;
        }
        spun = false;
        if (rank_cv_[rank].wait_until(lock, deadline.when()) == std::cv_status::timeout &&
            !m.done && failure_.ok()) {
          failure_ = Status(TIDAL_ERR_TIMEOUT,
                            fmt::format("local: rank {} timed out sending to a peer that "
                                        "never received", rank));
          wake_all();
        }
      }
      if (!m.done) { status = failure_; break; }
      if (!m.result.ok() && status.ok()) status = m.result;
    }
  }
  if (!status.ok()) {
    fail(status);
    withdraw_sends(sent, rank, ops, n);
  }
  return status;
}

}  // namespace tidal
