// The schedule validator (validate_schedule / validate_schedule_set): it
// accepts what the builders make and names every broken rule — a step out
// of its round or buffer, a fold that does not fit its target, receives
// that overlap, a send left without its receive.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "collectives/schedules/schedule.h"
#include "tests/schedules/schedule_sets.h"

namespace {

using tidal::CollectiveCall;
using tidal::CollKind;
using tidal::RankLayout;
using tidal::Schedule;
using tidal_testing::every_rank;

TEST(SchedulePlans, ValidationRefusesAFoldWhoseAddendDoesNotFitItsTarget) {
  RankLayout layout;
  ASSERT_TRUE(RankLayout::parse("3", 3, &layout).ok());
  CollectiveCall call{CollKind::kReduceScatter, nullptr, nullptr, 4, TIDAL_F32, TIDAL_SUM, 0};
  auto all = every_rank(call, TIDAL_SCHEDULE_RING, layout);
  ASSERT_TRUE(tidal::validate_schedule_set(all).ok());
  auto fold_of = [](Schedule& s) -> tidal::Step& {
    for (auto& st : s.steps)
      if (st.kind == tidal::StepKind::kRecvReduce) return st;
    return s.steps.front();
  };
  auto shorter = all[0];
  fold_of(shorter).src.count -= 1;
  tidal::Status st = tidal::validate_schedule(shorter);
  EXPECT_EQ(st.code(), TIDAL_ERR_INTERNAL);
  EXPECT_NE(st.message().find("addend and target differ in size"), std::string::npos)
      << st.message();
  auto outside = all[1];
  fold_of(outside).src.offset = 100;  // past the 12-element input
  st = tidal::validate_schedule(outside);
  EXPECT_EQ(st.code(), TIDAL_ERR_INTERNAL);
  EXPECT_NE(st.message().find("outside its buffer"), std::string::npos) << st.message();
  bool checked_overlap = false;
  for (Schedule partly : all) {
    for (auto& f : partly.steps) {
      if (f.kind != tidal::StepKind::kRecvReduce || f.dst.offset == 0) continue;
      f.src = f.dst;
      f.src.offset -= 1;  // overlaps its own target one element off
      st = tidal::validate_schedule(partly);
      EXPECT_EQ(st.code(), TIDAL_ERR_INTERNAL);
      EXPECT_NE(st.message().find("overlaps its target partly"), std::string::npos)
          << st.message();
      checked_overlap = true;
      break;
    }
  }
  EXPECT_TRUE(checked_overlap);
}

TEST(SchedulePlans, ValidationCatchesABrokenSchedule) {
  RankLayout layout;
  ASSERT_TRUE(RankLayout::parse("4", 4, &layout).ok());
  CollectiveCall call{CollKind::kAllGather, nullptr, nullptr, 3, TIDAL_F32, TIDAL_SUM, 0};
  auto all = every_rank(call, TIDAL_SCHEDULE_RING, layout);
  ASSERT_TRUE(tidal::validate_schedule_set(all).ok());
  auto shifted = all;  // rank 2 sends one element short
  for (auto& st : shifted[2].steps) {
    if (st.kind == tidal::StepKind::kSend) { st.src.count = 2; break; }
  }
  EXPECT_EQ(tidal::validate_schedule_set(shifted).code(), TIDAL_ERR_INTERNAL);
  auto outside = all;
  outside[1].steps.back().dst.offset = 100;
  EXPECT_EQ(tidal::validate_schedule(outside[1]).code(), TIDAL_ERR_INTERNAL);
}

// Every rule of the validator, each broken by a hand-built two-rank
// schedule, names the step and what is wrong (the builders never produce
// these: the validator is what says so in the tests above).
TEST(SchedulePlans, ValidationNamesEveryBrokenRule) {
  using tidal::BufferId;
  using tidal::Span;
  using tidal::Step;
  using tidal::StepKind;
  const Span in{BufferId::kInput, 0, 4}, out0{BufferId::kOutput, 0, 4},
      out2{BufferId::kOutput, 2, 4}, out4{BufferId::kOutput, 4, 4}, none{};
  auto schedule = [](std::vector<Step> steps) {
    Schedule s;
    s.name = "hand-built";
    s.world = 2;
    s.input_count = 4;
    s.output_count = 8;
    s.rounds = 2;
    s.steps = std::move(steps);
    return s;
  };
  struct Case {
    std::vector<Step> steps;
    const char* message;
  } cases[] = {
      {{{StepKind::kCopy, 5, -1, 0, in, out0}}, "round out of range"},
      {{{StepKind::kCopy, 1, -1, 0, in, out0}, {StepKind::kCopy, 0, -1, 0, in, out4}},
       "steps not sorted by round"},
      {{{StepKind::kCopy, 0, -1, 0, in, {BufferId::kOutput, 0, 3}}}, "copy sizes differ"},
      {{{StepKind::kRecv, 0, 1, 0, none, in}}, "writes the input"},
      {{{StepKind::kSend, 0, 0, 0, in, none}}, "bad peer 0"},
      {{{StepKind::kSend, 0, 7, 0, in, none}}, "bad peer 7"},
      {{{StepKind::kRecvReduce, 0, 1, 0, {BufferId::kOutput, 0, 2}, out4}},
       "a fold's addend and target differ in size"},
      {{{StepKind::kRecvReduce, 0, 1, 0, out0, out2}}, "a fold's addend overlaps its target partly"},
      {{{StepKind::kPhaseAllGather, 0, -1, 0, {BufferId::kOutput, 0, 3},
         {BufferId::kOutput, 0, 8}, 0}},
       "a phase's part must be one of the equal parts of its whole"},
      {{{StepKind::kPhaseAllGather, 0, -1, 0, out0, {BufferId::kOutput, 0, 8}, 0},
        {StepKind::kCopy, 0, -1, 0, in, out4}},
       "a phase shares its round"},
      {{{StepKind::kRecv, 0, 1, 0, none, out0}, {StepKind::kRecv, 0, 1, 1, none, out2}},
       "two receives of one round overlap"},
      {{{StepKind::kRecv, 0, 1, 0, none, out0}, {StepKind::kSend, 0, 1, 0, out2, none}},
       "a send reads what a receive of its round writes"},
      {{{StepKind::kRecv, 0, 1, 0, none, out0},
        {StepKind::kRecvReduce, 0, 1, 1, {BufferId::kOutput, 2, 2}, {BufferId::kOutput, 6, 2}}},
       "a fold's addend is what another receive of its round writes"},
  };
  for (const Case& c : cases) {
    const tidal::Status st = tidal::validate_schedule(schedule(c.steps));
    EXPECT_EQ(st.code(), TIDAL_ERR_INTERNAL) << c.message;
    EXPECT_NE(st.message().find(c.message), std::string::npos)
        << "wanted '" << c.message << "' in: " << st.message();
    EXPECT_NE(st.message().find("schedule 'hand-built' rank 0 step"), std::string::npos)
        << st.message();
  }
  // A set where rank 0 sends and rank 1 never receives.
  Schedule r0 = schedule({{StepKind::kSend, 0, 1, 0, in, none}});
  Schedule r1 = schedule({});
  r1.rank = 1;
  ASSERT_TRUE(tidal::validate_schedule(r0).ok()) << tidal::validate_schedule(r0).message();
  const tidal::Status set = tidal::validate_schedule_set({r0, r1});
  EXPECT_EQ(set.code(), TIDAL_ERR_INTERNAL);
  EXPECT_NE(set.message().find("sends but no receives"), std::string::npos) << set.message();
}

TEST(SchedulePlans, ValidationRefusesAnAddendAnotherReceiveOfTheRoundWrites) {
  Schedule s;
  s.name = "hand-made";
  s.kind = CollKind::kAllReduce;
  s.world = 2;
  s.input_count = s.output_count = 8;
  s.rounds = 1;
  s.steps.push_back(tidal::Step{tidal::StepKind::kRecv, 0, 1, 32000, {},
                                {tidal::BufferId::kOutput, 0, 4}});
  s.steps.push_back(tidal::Step{tidal::StepKind::kRecvReduce, 0, 1, 32001,
                                {tidal::BufferId::kOutput, 0, 4},
                                {tidal::BufferId::kOutput, 4, 4}});
  tidal::Status st = tidal::validate_schedule(s);
  EXPECT_EQ(st.code(), TIDAL_ERR_INTERNAL);
  EXPECT_NE(st.message().find("addend is what another receive of its round writes"),
            std::string::npos) << st.message();
  s.steps[1].src = {tidal::BufferId::kInput, 0, 4};  // the input: fine
  EXPECT_TRUE(tidal::validate_schedule(s).ok()) << tidal::validate_schedule(s).message();
}

// The local transport folds as it receives (no staging); a p2p-only
// wrapper of it stages and folds after. Both give the same bits, for every
// plan shape: rings that read the input, a torus that copies it in, f32
// and bf16, sum and average, in place too.

}  // namespace
