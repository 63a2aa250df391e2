// schedule_builder.h — helpers the schedule files share to emit steps: a
// builder that appends steps and sorts them into rounds, regions (the
// blocks a phase works on, addressed by position), and chunking.
#pragma once

#include <vector>

#include "collectives/schedules/schedule.h"

namespace tidal {

class ScheduleBuilder {
 public:
  explicit ScheduleBuilder(Schedule* schedule) : s_(schedule) {}

  // Messages and copies of zero elements are dropped: every rank computes
  // the same sizes, so both sides of a message drop it alike.
  void copy(int round, Span src, Span dst);
  void send(int round, int peer, int tag, Span src);
  void recv(int round, int peer, int tag, Span dst);
  // dst = dst (op) message, or dst = addend (op) message when addend is
  // given (addend.count == dst.count).
  void recv_reduce(int round, int peer, int tag, Span dst, Span addend = Span{});
  void divide(int round, Span dst);
  // A native collective along `dim` (kind kPhaseReduceScatter or
  // kPhaseAllGather); see schedule.h.
  void phase(int round, StepKind kind, int dim, Span src, Span dst);

  // Sorts the steps by round (stable), sets schedule->rounds, and sets
  // shrinks schedule->scratch_count to the extent of scratch the steps use.
  void finish();

  const Schedule& schedule() const { return *s_; }

 private:
  void add(Step step);
  Schedule* s_;
};

// The blocks a collective works on, by position: block at position p lives
// at span(p). A range of positions is a list of spans, adjacent spans
// merged, so a part is one message where its blocks are contiguous in
// memory and one message per block otherwise.
using Part = std::vector<Span>;
struct Region {
  std::vector<Span> by_position;
  int tag = kScheduleTagBase;

  // merge = false: one span per position (a part whose messages must line
  // up with another region's blocks).
  Part range(int first, int count, bool merge = true) const;
};

// Splits `count` elements into `parts` balanced parts (the first count %
// parts parts one element longer): part i is [offset(i), offset(i)+len(i)).
size_t part_offset(size_t count, size_t parts, size_t i);
size_t part_length(size_t count, size_t parts, size_t i);

// How many chunks a collective of `bytes` (its largest buffer) is cut into
// for pipelining: about one per kScheduleChunkBytes, at most
// kScheduleMaxPipelineChunks, at most `elements`, at least 1.
constexpr size_t kScheduleChunkBytes = size_t(4) << 20;
constexpr int kScheduleMaxPipelineChunks = 8;
int pipeline_chunks(size_t bytes, size_t elements);

}  // namespace tidal
