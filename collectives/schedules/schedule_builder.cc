#include "collectives/schedules/schedule_builder.h"

#include <algorithm>


namespace tidal {

void ScheduleBuilder::add(Step step) { s_->steps.push_back(step); }

void ScheduleBuilder::copy(int round, Span src, Span dst) {
  if (src.count == 0) return;
  add(Step{StepKind::kCopy, round, -1, 0, src, dst});
}

void ScheduleBuilder::send(int round, int peer, int tag, Span src) {
  if (src.count == 0) return;
  add(Step{StepKind::kSend, round, peer, tag, src, Span{}});
}

void ScheduleBuilder::recv(int round, int peer, int tag, Span dst) {
  if (dst.count == 0) return;
  add(Step{StepKind::kRecv, round, peer, tag, Span{}, dst});
}

void ScheduleBuilder::recv_reduce(int round, int peer, int tag, Span dst, Span addend) {
  if (dst.count == 0) return;
  add(Step{StepKind::kRecvReduce, round, peer, tag, addend, dst});
}

void ScheduleBuilder::divide(int round, Span dst) {
  if (dst.count == 0) return;
  add(Step{StepKind::kDivide, round, -1, 0, Span{}, dst});
}

void ScheduleBuilder::phase(int round, StepKind kind, int dim, Span src, Span dst) {
  if (src.count == 0) return;
  add(Step{kind, round, -1, 0, src, dst, dim});
}

void ScheduleBuilder::finish() {
  std::stable_sort(s_->steps.begin(), s_->steps.end(),
                   [](const Step& a, const Step& b) { return a.round < b.round; });
  s_->rounds = s_->steps.empty() ? 0 : s_->steps.back().round + 1;
  // Scratch shrinks to what the steps use: a plan that reads its input in
  // place may need less than it reserved, or none. (A span past the
  // reservation keeps it, and validation refuses the span.)
  size_t used = 0;
  for (const Step& st : s_->steps) {
    for (const Span* span : {&st.src, &st.dst}) {
      if (span->buffer == BufferId::kScratch && span->count) {
        used = std::max(used, span->offset + span->count);
      }
    }
  }
  s_->scratch_count = std::min(s_->scratch_count, used);
}

Part Region::range(int first, int count, bool merge) const {
  Part part;
  for (int p = first; p < first + count; ++p) {
    const Span& next = by_position[static_cast<size_t>(p)];
    if (next.count == 0) continue;
    if (merge && !part.empty() && part.back().buffer == next.buffer &&
        part.back().offset + part.back().count == next.offset) {
      part.back().count += next.count;
    } else {
      part.push_back(next);
    }
  }
  return part;
}

size_t part_offset(size_t count, size_t parts, size_t i) {
  const size_t base = count / parts, extra = count % parts;
  return i * base + std::min(i, extra);
}

size_t part_length(size_t count, size_t parts, size_t i) {
  return count / parts + (i < count % parts ? 1 : 0);
}

int pipeline_chunks(size_t bytes, size_t elements) {
  size_t chunks = (bytes + kScheduleChunkBytes - 1) / kScheduleChunkBytes;
  chunks = std::min<size_t>(chunks, kScheduleMaxPipelineChunks);
  chunks = std::min(chunks, elements);
  return static_cast<int>(std::max<size_t>(chunks, 1));
}

}  // namespace tidal
