#include "collectives/schedules/schedule_executor.h"

#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "lib/core/dtype.h"
#include "lib/core/reduce.h"

namespace tidal {
namespace {

// Scratch and staging memory of the calling (progress) thread, kept
// between collectives: a fresh multi-MiB allocation per call costs more in
// page faults and zeroing than the copies it holds. One arena per
// communicator (each has its own progress thread); freed when the
// communicator's thread exits. Never initialised: every byte read was
// written by the same schedule first.
struct ThreadArena {
  std::unique_ptr<char[]> scratch, staging;
  size_t scratch_bytes = 0, staging_bytes = 0;
};
thread_local ThreadArena tls_arena;

char* reserve(std::unique_ptr<char[]>& buf, size_t& have, size_t need) {
  if (need > have) {
    buf.reset(new char[need]);
    have = need;
  }
  return buf.get();
}

class RoundRunner {
 public:
  RoundRunner(const Schedule& s, Transport& t, const void* input, void* output,
              const std::vector<Transport*>& phase_comms)
      : s_(s), t_(t), phase_comms_(phase_comms), es_(dtype_size(s.dtype)),
        input_(static_cast<const char*>(input)), output_(static_cast<char*>(output)),
        scratch_(reserve(tls_arena.scratch, tls_arena.scratch_bytes, s.scratch_count * es_)) {}

  // Runs steps [first, last), which all belong to one round.
  Status run(size_t first, size_t last, const Deadline& deadline, void* stream) {
    const Step& head = s_.steps[first];
    if (head.kind == StepKind::kPhaseReduceScatter || head.kind == StepKind::kPhaseAllGather) {
      return run_phase(head, deadline, stream);  // alone in its round (validated)
    }
    for (size_t i = first; i < last; ++i) {
      const Step& st = s_.steps[i];
      if (st.kind != StepKind::kCopy) continue;
      const char* from = address(st.src);
      char* to = address(st.dst);
      if (from != to) std::memcpy(to, from, st.dst.count * es_);
    }
    TIDAL_RETURN_IF_ERROR(exchange(first, last, deadline, stream));
    size_t staged = 0;
    for (size_t i = first; i < last && !fold_on_receive_; ++i) {
      const Step& st = s_.steps[i];
      if (st.kind != StepKind::kRecvReduce) continue;
      if (st.src.count) {
        reduce_to(address(st.dst), address(st.src), staging_ + staged, st.dst.count, s_.dtype,
                  s_.op);
      } else {
        reduce_into(address(st.dst), staging_ + staged, st.dst.count, s_.dtype, s_.op);
      }
      staged += st.dst.count * es_;
    }
    for (size_t i = first; i < last; ++i) {
      const Step& st = s_.steps[i];
      if (st.kind == StepKind::kDivide) divide_by(address(st.dst), st.dst.count, s_.dtype, s_.world);
    }
    return Status();
  }

 private:
  char* address(const Span& span) {
    char* base = span.buffer == BufferId::kInput    ? const_cast<char*>(input_)
                 : span.buffer == BufferId::kOutput ? output_
                                                    : scratch_;
    return base + span.offset * es_;
  }

  // One concurrent p2p batch of the round's messages; folded receives land
  // in a staging area, in step order, or, where the transport folds as it
  // receives, straight in their targets (the same result: validation keeps
  // a round's sends and addends off what its receives write).
  Status exchange(size_t first, size_t last, const Deadline& deadline, void* stream) {
    ops_.clear();
    folds_.clear();
    size_t staged = 0;
    for (size_t i = first; i < last; ++i) {
      const Step& st = s_.steps[i];
      if (st.kind == StepKind::kRecvReduce) {
        staged += st.dst.count * es_;
        if (fold_on_receive_) {
          folds_.push_back(P2PFold{s_.dtype, s_.op, address(st.src.count ? st.src : st.dst)});
        }
      }
    }
    if (!fold_on_receive_) staging_ = reserve(tls_arena.staging, tls_arena.staging_bytes, staged);
    size_t folded = 0;
    staged = 0;
    for (size_t i = first; i < last; ++i) {
      const Step& st = s_.steps[i];
      if (st.kind == StepKind::kSend) {
        ops_.push_back({P2POp::kSend, address(st.src), st.src.count * es_, st.peer, st.tag});
      } else if (st.kind == StepKind::kRecv) {
        ops_.push_back({P2POp::kRecv, address(st.dst), st.dst.count * es_, st.peer, st.tag});
      } else if (st.kind == StepKind::kRecvReduce && fold_on_receive_) {
        P2POp op{P2POp::kRecv, address(st.dst), st.dst.count * es_, st.peer, st.tag};
        op.fold = &folds_[folded++];
        ops_.push_back(op);
      } else if (st.kind == StepKind::kRecvReduce) {
        ops_.push_back({P2POp::kRecv, staging_ + staged, st.dst.count * es_, st.peer,
                        st.tag});
        staged += st.dst.count * es_;
      }
    }
    if (ops_.empty()) return Status();
    return t_.p2p(ops_.data(), ops_.size(), deadline, stream);
  }

  // One native collective on the dim's sub-communicator, in place.
  Status run_phase(const Step& st, const Deadline& deadline, void* stream) {
    if (st.dim < 0 || static_cast<size_t>(st.dim) >= phase_comms_.size() ||
        !phase_comms_[static_cast<size_t>(st.dim)]) {
      return Status(TIDAL_ERR_INTERNAL,
                    fmt::format("phase along dim {} without its sub-communicator", st.dim));
    }
    Transport& sub = *phase_comms_[static_cast<size_t>(st.dim)];
    if (st.kind == StepKind::kPhaseReduceScatter) {
      const tidal_op_t op = s_.op == TIDAL_AVG ? TIDAL_SUM : s_.op;  // divided by the schedule
      return sub.reduce_scatter(address(st.src), address(st.dst), st.dst.count, s_.dtype, op,
                                deadline, stream);
    }
    return sub.all_gather(address(st.src), address(st.dst), st.src.count, s_.dtype, deadline,
                          stream);
  }

  const Schedule& s_;
  Transport& t_;
  const std::vector<Transport*>& phase_comms_;
  const size_t es_;
  const char* input_;
  char* output_;
  char* scratch_;
  char* staging_ = nullptr;
  const bool fold_on_receive_ = t_.folds_on_receive();
  std::vector<P2POp> ops_;
  std::vector<P2PFold> folds_;  // filled before ops_ points into it
};

}  // namespace

Status execute_schedule(const Schedule& schedule, Transport& transport, const void* input,
                        void* output, const Deadline& deadline, void* stream,
                        const std::vector<Transport*>& phase_comms) {
  if (transport.memory_kind() != MemoryKind::kHost) {
    return Status(TIDAL_ERR_UNSUPPORTED,
                  fmt::format("schedule '{}' runs on host memory; backend {} moves device "
                              "memory (use the native schedule)",
                              schedule.name, transport.name()));
  }
  RoundRunner runner(schedule, transport, input, output, phase_comms);
  size_t first = 0;
  while (first < schedule.steps.size()) {
    size_t last = first;
    const int round = schedule.steps[first].round;
    while (last < schedule.steps.size() && schedule.steps[last].round == round) ++last;
    TIDAL_RETURN_IF_ERROR(runner.run(first, last, deadline, stream)
                              .with_context(fmt::format("{} round {}", schedule.name, round)));
    first = last;
  }
  return Status();
}

}  // namespace tidal
