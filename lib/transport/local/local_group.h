// local_group.h — the state the ranks of one local (thread) communicator
// share: a posting board with a reusable barrier for collectives, and
// mailboxes for point-to-point messages.
//
// A failure anywhere (a timeout, an abort, a mismatch) fails the whole
// group: every blocked rank wakes with that status and later calls fail
// fast, so no rank is left waiting for a peer that gave up.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "lib/core/deadline.h"
#include "lib/core/status.h"
#include "lib/transport/buffer_runs.h"
#include "lib/transport/transport.h"

namespace tidal {

// What a rank posts for a collective (or a split) before the barrier.
struct LocalPost {
  const void* send = nullptr;
  void* recv = nullptr;
  // A collective whose input (output) is runs of memory: send (recv) is
  // then null.
  const BufferRuns* send_runs = nullptr;
  const BufferRuns* recv_runs = nullptr;
  CollSignature sig;
  int color = 0;  // split only
  int key = 0;    // split only
};

class LocalGroup {
 public:
  explicit LocalGroup(int size);
  ~LocalGroup();

  int size() const { return size_; }

  // Collective rendezvous: every rank posts, then waits for all the others.
  Status post_and_wait(int rank, const LocalPost& post, const Deadline& deadline,
                       const char* what);
  // Second barrier: no rank leaves until every rank is done with the posts.
  Status barrier(int rank, const Deadline& deadline, const char* what);
  const LocalPost& post(int rank) const { return posts_[rank]; }

  // Point-to-point batch for `rank` (see Transport::p2p).
  Status p2p(int rank, const P2POp* ops, size_t n, const Deadline& deadline);

  // Fails the group with `status` (first failure wins) and wakes everyone.
  void fail(const Status& status);
  Status failure();

  // Split results: filled by rank 0 between the barriers of a split.
  struct SplitSlot {
    std::shared_ptr<LocalGroup> group;
    int new_rank = -1;
  };
  std::vector<SplitSlot>& split_slots() { return split_slots_; }

 private:
  struct Message {
    int src, tag;
    const void* data;
    size_t bytes;
    bool taken = false;
    bool done = false;
    bool detached = false;      // eager send: the group owns it
    std::vector<char> storage;  // eager send: a copy of the data
    Status result;
  };
  Status recv_one(int rank, const P2POp& op, const Deadline& deadline);
  void withdraw_sends(std::vector<Message>& sent, int rank, const P2POp* ops, size_t n);
  Status timeout_status(const char* what, int rank);
  // Something a waiter may be waiting for happened (called under mu_).
  void note_event() { events_.fetch_add(1, std::memory_order_release); }
  // Spins (unlocked) until an event after `seen` or a short budget runs
  // out; true if one came. A thread that sleeps on a condition variable
  // costs tens of microseconds to wake on a VM, more than a small
  // collective; a peer usually arrives sooner. Where the group's ranks fit
  // the cores it polls with pause; with more ranks than cores it yields
  // between polls, since the peer it waits for needs a core (polling with
  // pause there made 8 ranks' 1 MiB reduce-scatter on 2 cores 1.7x slower).
  bool spin_for_event(uint64_t seen) const;
  // Releases `lock` (on mu_), spins for an event, takes it back; the
  // caller then re-checks its condition under the lock before sleeping.
  void spin_unlocked(std::unique_lock<std::mutex>& lock);

  const int size_;
  const bool spin_;  // the ranks fit the cores: waits poll with pause, else yield
  // Wakes every waiter of the group (barriers and every rank's p2p).
  void wake_all();
  std::mutex mu_;
  std::condition_variable cv_;  // barriers
  // rank_cv_[r]: rank r's point-to-point waits (a message for it, or one of
  // its sends done), so a message wakes the one thread it is for rather
  // than every rank of the group (many ranks share few cores).
  std::vector<std::condition_variable> rank_cv_;
  uint64_t generation_ = 0;
  std::atomic<uint64_t> events_{0};  // barrier done, message posted or done, failure
  int arrived_ = 0;
  std::vector<char> arrived_mask_;
  std::vector<LocalPost> posts_;
  std::vector<SplitSlot> split_slots_;
  Status failure_;
  // mailboxes_[dst]: messages waiting for rank dst, in send order.
  std::vector<std::deque<Message*>> mailboxes_;
};

}  // namespace tidal
