#include "collectives/schedules/schedule.h"

#include <map>
#include <tuple>

#include <fmt/format.h>

#include "lib/core/dtype.h"

namespace tidal {
namespace {

const char* buffer_name(BufferId b) {
  switch (b) {
    case BufferId::kInput: return "in";
    case BufferId::kOutput: return "out";
    case BufferId::kScratch: return "scratch";
  }
  return "?";
}

const char* step_name(StepKind k) {
  switch (k) {
    case StepKind::kCopy: return "copy";
    case StepKind::kSend: return "send";
    case StepKind::kRecv: return "recv";
    case StepKind::kRecvReduce: return "recv-reduce";
    case StepKind::kDivide: return "divide";
    case StepKind::kPhaseReduceScatter: return "phase-rs";
    case StepKind::kPhaseAllGather: return "phase-ag";
  }
  return "?";
}

bool is_message(StepKind k) {
  return k == StepKind::kSend || k == StepKind::kRecv || k == StepKind::kRecvReduce;
}
bool is_receive(StepKind k) { return k == StepKind::kRecv || k == StepKind::kRecvReduce; }
bool is_phase(StepKind k) {
  return k == StepKind::kPhaseReduceScatter || k == StepKind::kPhaseAllGather;
}
bool contains(const Span& outer, const Span& inner) {
  return outer.buffer == inner.buffer && inner.offset >= outer.offset &&
         inner.offset + inner.count <= outer.offset + outer.count;
}

size_t capacity(const Schedule& s, BufferId b) {
  switch (b) {
    case BufferId::kInput: return s.input_count;
    case BufferId::kOutput: return s.output_count;
    case BufferId::kScratch: return s.scratch_count;
  }
  return 0;
}

bool overlaps(const Span& a, const Span& b) {
  return a.buffer == b.buffer && a.count && b.count && a.offset < b.offset + b.count &&
         b.offset < a.offset + a.count;
}

std::string span_text(const Span& s) {
  return fmt::format("{}[{}+{}]", buffer_name(s.buffer), s.offset, s.count);
}

Status bad(const Schedule& s, size_t i, const std::string& what) {
  return Status(TIDAL_ERR_INTERNAL,
                fmt::format("schedule '{}' rank {} step {}: {}", s.name, s.rank, i, what));
}

Status check_step(const Schedule& s, size_t i) {
  const Step& st = s.steps[i];
  if (st.round < 0 || st.round >= s.rounds) return bad(s, i, "round out of range");
  if (i && st.round < s.steps[i - 1].round) return bad(s, i, "steps not sorted by round");
  const bool reads = st.kind == StepKind::kCopy || st.kind == StepKind::kSend ||
                     is_phase(st.kind) || st.kind == StepKind::kRecvReduce;
  if (reads && st.src.offset + st.src.count > capacity(s, st.src.buffer)) {
    return bad(s, i, "source " + span_text(st.src) + " outside its buffer");
  }
  if (st.kind != StepKind::kSend) {
    if (st.dst.offset + st.dst.count > capacity(s, st.dst.buffer)) {
      return bad(s, i, "target " + span_text(st.dst) + " outside its buffer");
    }
    if (st.dst.buffer == BufferId::kInput) return bad(s, i, "writes the input");
  }
  if (st.kind == StepKind::kCopy && st.src.count != st.dst.count) {
    return bad(s, i, "copy sizes differ");
  }
  if (st.kind == StepKind::kRecvReduce && st.src.count && st.src.count != st.dst.count) {
    return bad(s, i, "a fold's addend and target differ in size");
  }
  if (st.kind == StepKind::kRecvReduce && st.src.count && overlaps(st.src, st.dst) &&
      st.src.offset != st.dst.offset) {
    return bad(s, i, "a fold's addend overlaps its target partly");
  }
  if (is_message(st.kind) && (st.peer < 0 || st.peer >= s.world || st.peer == s.rank)) {
    return bad(s, i, fmt::format("bad peer {}", st.peer));
  }
  if (is_phase(st.kind)) {
    const bool rs = st.kind == StepKind::kPhaseReduceScatter;
    const Span& whole = rs ? st.src : st.dst;
    const Span& part = rs ? st.dst : st.src;
    if (st.dim < 0 || part.count == 0 || !contains(whole, part) || whole.count % part.count ||
        (part.offset - whole.offset) % part.count) {
      return bad(s, i, "a phase's part must be one of the equal parts of its whole, in place");
    }
    if ((i > 0 && s.steps[i - 1].round == st.round) ||
        (i + 1 < s.steps.size() && s.steps[i + 1].round == st.round)) {
      return bad(s, i, "a phase shares its round");  // steps are sorted by round
    }
  }
  return Status();
}

}  // namespace

void buffer_counts(const CollectiveCall& call, int world, size_t* input, size_t* output) {
  const size_t n = static_cast<size_t>(world);
  switch (call.kind) {
    case CollKind::kAllGather: *input = call.count; *output = call.count * n; break;
    case CollKind::kReduceScatter: *input = call.count * n; *output = call.count; break;
    case CollKind::kAllToAll: *input = call.count * n; *output = call.count * n; break;
    default: *input = call.count; *output = call.count; break;
  }
}

Status validate_schedule(const Schedule& s) {
  for (size_t i = 0; i < s.steps.size(); ++i) TIDAL_RETURN_IF_ERROR(check_step(s, i));
  // Within a round, a receive must not overlap another receive or a send.
  for (size_t i = 0; i < s.steps.size(); ++i) {
    const Step& a = s.steps[i];
    if (!is_receive(a.kind)) continue;
    for (size_t j = i; j < s.steps.size() && s.steps[j].round == a.round; ++j) {
      const Step& b = s.steps[j];
      if (j != i && is_receive(b.kind) && overlaps(a.dst, b.dst)) {
        return bad(s, j, "two receives of one round overlap");
      }
    }
    size_t first = i;  // steps are sorted: scan only this round
    while (first > 0 && s.steps[first - 1].round == a.round) --first;
    for (size_t j = first; j < s.steps.size() && s.steps[j].round == a.round; ++j) {
      const Step& b = s.steps[j];
      if (b.kind == StepKind::kSend && overlaps(a.dst, b.src)) {
        return bad(s, j, "a send reads what a receive of its round writes");
      }
      // A fold may run as its message lands (folds_on_receive): its addend
      // must not be what another receive of the round writes.
      if (j != i && b.kind == StepKind::kRecvReduce && b.src.count && overlaps(a.dst, b.src)) {
        return bad(s, j, "a fold's addend is what another receive of its round writes");
      }
    }
  }
  return Status();
}

Status validate_schedule_set(const std::vector<Schedule>& all) {
  // (from, to, tag) -> the sends in order, as (round, bytes); receives must
  // consume them in the same order.
  using Key = std::tuple<int, int, int>;
  std::map<Key, std::vector<std::pair<int, size_t>>> sends, recvs;
  for (const Schedule& s : all) {
    TIDAL_RETURN_IF_ERROR(validate_schedule(s));
    for (const Step& st : s.steps) {
      if (st.kind == StepKind::kSend) {
        sends[Key{s.rank, st.peer, st.tag}].push_back({st.round, st.src.count});
      } else if (is_receive(st.kind)) {
        recvs[Key{st.peer, s.rank, st.tag}].push_back({st.round, st.dst.count});
      }
    }
  }
  if (sends.size() != recvs.size()) {
    return Status(TIDAL_ERR_INTERNAL, "schedule set: a channel has sends but no receives");
  }
  for (const auto& entry : sends) {
    auto it = recvs.find(entry.first);
    if (it == recvs.end() || it->second != entry.second) {
      return Status(TIDAL_ERR_INTERNAL,
                    fmt::format("schedule set: messages {} -> {} (tag {}) do not match "
                                "their receives round for round",
                                std::get<0>(entry.first), std::get<1>(entry.first),
                                std::get<2>(entry.first)));
    }
  }
  return Status();
}

std::string format_schedule(const Schedule& s) {
  std::string out = fmt::format("schedule '{}' {} rank {}/{} dtype {} rounds {} scratch {}\n",
                                s.name, coll_kind_name(s.kind), s.rank, s.world,
                                tidal_dtype_name(s.dtype), s.rounds, s.scratch_count);
  for (const Step& st : s.steps) {
    out += fmt::format("  r{:<3} {:<11}", st.round, step_name(st.kind));
    if (is_message(st.kind)) out += fmt::format(" peer {} tag {}", st.peer, st.tag);
    if (is_phase(st.kind)) out += fmt::format(" dim {}", st.dim);
    if (st.kind == StepKind::kCopy || st.kind == StepKind::kSend || is_phase(st.kind)) {
      out += " " + span_text(st.src);
    }
    if (st.kind != StepKind::kSend) out += " -> " + span_text(st.dst);
    if (st.kind == StepKind::kRecvReduce && st.src.count) out += " + " + span_text(st.src);
    out += "\n";
  }
  return out;
}

ScheduleStats schedule_stats(const Schedule& s) {
  ScheduleStats stats;
  stats.rounds = s.rounds;
  const size_t es = dtype_size(s.dtype);
  for (const Step& st : s.steps) {
    if (st.kind == StepKind::kSend) {
      ++stats.messages_sent;
      stats.bytes_sent += st.src.count * es;
    } else if (st.kind == StepKind::kRecvReduce) {
      stats.bytes_reduced += st.dst.count * es;
    } else if (st.kind == StepKind::kCopy) {
      stats.bytes_copied += st.dst.count * es;
    } else if (is_phase(st.kind)) {  // as the ring phase would move them
      const bool rs = st.kind == StepKind::kPhaseReduceScatter;
      const size_t whole = (rs ? st.src : st.dst).count, part = (rs ? st.dst : st.src).count;
      stats.messages_sent += whole / part - 1;
      stats.bytes_sent += (whole - part) * es;
      if (rs) stats.bytes_reduced += (whole - part) * es;
    }
  }
  return stats;
}

}  // namespace tidal
