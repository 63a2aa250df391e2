// schedule.h — a schedule is DATA: the list of steps one rank performs for
// one collective. The same description is printed (TIDAL_DEBUG=TRACE),
// validated (bounds on one rank, send/receive matching across ranks),
// costed (alpha-beta per round) and executed (schedule_executor.h).
//
// Steps are grouped into rounds. A round runs in four stages, in order:
//   1. its copies (kCopy),
//   2. one concurrent p2p batch of its sends and receives (kSend, kRecv,
//      kRecvReduce), so every message of a round is in flight together,
//   3. its reductions (a transport that folds on receive, local threads,
//      does them in stage 2 as each message lands, with the same result:
//      validation keeps the round's sends and addends off what its
//      receives write): each kRecvReduce folds the staged message into dst
//      with lib/core/reduce.h as dst = dst (op) message, in step order, or,
//      when it names a src (the addend), as dst = src (op) message: the
//      first fold of a block reads the pristine input and writes its
//      target, so nothing copies the input anywhere first,
//   4. its divisions (kDivide: dst /= world, finishing TIDAL_AVG).
// Rounds run in increasing order; a send of round r is always matched by a
// receive of round r on its peer (validated), so a schedule cannot deadlock.
// A phase step (kPhaseReduceScatter, kPhaseAllGather) instead runs the
// backend's native collective on the sub-communicator along one dim of the
// layout (the ranks whose coordinates differ from this one's only in
// `dim`, in the order of that coordinate), in place as NCCL defines it:
// reduce-scatter from src (every member's part, in member order) into dst
// (this rank's part, inside src); all-gather from src (this rank's part)
// into dst (every member's part). Every member runs it in the same round,
// alone in that round, so phases, too, cannot deadlock.
// Spans are element ranges of one of three buffers: the call's input, its
// output, or a scratch buffer the executor allocates (scratch_count).
#pragma once

#include <string>
#include <vector>

#include "lib/comm/collective_args.h"
#include "lib/core/status.h"

namespace tidal {

enum class BufferId : uint8_t { kInput, kOutput, kScratch };

struct Span {
  BufferId buffer = BufferId::kScratch;
  size_t offset = 0;  // elements
  size_t count = 0;   // elements
};

enum class StepKind : uint8_t {
  kCopy, kSend, kRecv, kRecvReduce, kDivide, kPhaseReduceScatter, kPhaseAllGather
};

struct Step {
  StepKind kind;
  int round;
  int peer = -1;  // world rank (sends and receives)
  int tag = 0;
  Span src;       // copy source, send data, phase input, recv-reduce addend
                  // (count 0: none; else as long as dst)
  Span dst;       // copy, receive, reduce, divide and phase target
  int dim = -1;   // phase steps: the layout dim of the sub-communicator
};

// Tags 32000..32699 are reserved for schedules (a chunk's messages use
// kScheduleTagBase + chunk), so a schedule never takes a user's message.
constexpr int kScheduleTagBase = 32000;
constexpr int kScheduleMaxChunks = 64;

struct Schedule {
  std::string name;  // "ring", "torus2d 2x4", "ndring 2x2x2"
  CollKind kind = CollKind::kAllGather;
  tidal_dtype_t dtype = TIDAL_F32;
  tidal_op_t op = TIDAL_SUM;
  int rank = 0;
  int world = 1;
  size_t input_count = 0;   // elements the input holds
  size_t output_count = 0;  // elements the output holds
  size_t scratch_count = 0;
  int rounds = 0;           // 1 + the largest round of any step
  std::vector<Step> steps;  // sorted by round (stable)
  // With phase steps: the layout whose dims they name (a phase along dim d
  // runs on the sub-communicator split_by_dims gives for these dims).
  std::vector<int> phase_dims;
};

// Element counts of the call's input and output buffers.
void buffer_counts(const CollectiveCall& call, int world, size_t* input, size_t* output);

// Checks one rank's schedule: spans inside their buffers, peers valid and
// not itself, steps sorted by round, no receive overlapping another
// receive or a send of the same round, nothing written to the input.
Status validate_schedule(const Schedule& schedule);

// Checks every rank's schedule together: each send is matched, in order,
// by a receive of the same size and tag on its peer in the same round.
Status validate_schedule_set(const std::vector<Schedule>& all_ranks);

// One line per step, for TIDAL_DEBUG=TRACE and for tests.
std::string format_schedule(const Schedule& schedule);

struct ScheduleStats {
  int rounds = 0;
  size_t messages_sent = 0;
  size_t bytes_sent = 0;     // this rank's bytes on the wire
  size_t bytes_reduced = 0;  // bytes folded by kRecvReduce
  size_t bytes_copied = 0;   // local copies
};
ScheduleStats schedule_stats(const Schedule& schedule);

}  // namespace tidal
