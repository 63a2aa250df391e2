// schedule_check.h — runs a collective under a schedule and under native on
// the same communicator and compares the bytes (inputs from
// exact_values.h, so any reduction order gives the same exact result).
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/exact_values.h"
#include "tidal/schedule.h"
#include "tidal/tidal.h"

namespace tidal_testing {

const tidal_dtype_t kEveryDtype[] = {TIDAL_F32, TIDAL_F16, TIDAL_BF16, TIDAL_F64,
                                     TIDAL_I32, TIDAL_I64, TIDAL_U8, TIDAL_FP8_E4M3,
                                     TIDAL_FP8_E5M2};

struct ScheduleCase {
  tidal_comm_t comm;
  int rank, size;
  tidal_schedule_t schedule;
  tidal_dtype_t dtype;
  size_t count;
  // Where the native reference runs: `comm` itself, or (for a backend with
  // no native collectives, UCX) another communicator over the same ranks.
  tidal_comm_t reference = nullptr;
  std::string where(const char* coll, tidal_op_t op = TIDAL_SUM) const {
    return std::string(coll) + " schedule=" + tidal_schedule_name(schedule) +
           " dtype=" + tidal_dtype_name(dtype) + " op=" + tidal_op_name(op) +
           " count=" + std::to_string(count) + " rank=" + std::to_string(rank) + "/" +
           std::to_string(size);
  }
};

// The number of ranks of a layout string ("2x3" -> 6).
inline int layout_world(const std::string& layout) {
  int world = 1;
  for (size_t i = 0, j; i < layout.size(); i = j + 1) {
    j = layout.find('x', i);
    if (j == std::string::npos) j = layout.size();
    world *= std::stoi(layout.substr(i, j - i));
  }
  return world;
}

// Buffers carry one guard byte past the end that no collective may touch.
constexpr unsigned char kGuard = 0xAB;

inline void expect_same(const std::vector<unsigned char>& got,
                        const std::vector<unsigned char>& want, const std::string& where) {
  ASSERT_EQ(got.size(), want.size()) << where;
  EXPECT_EQ(got.back(), kGuard) << where << ": wrote past the end";
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size()), 0)
      << where << ": differs from native";
}

// Calls fn(schedule, comm, out) for native (on the reference communicator)
// and for c.schedule (on c.comm), compares the outputs.
template <typename Fn>
void compare(const ScheduleCase& c, size_t out_elems, const std::string& where, Fn fn) {
  const size_t es = tidal_dtype_size(c.dtype);
  std::vector<unsigned char> native(out_elems * es + 1, kGuard), sched(native);
  ASSERT_EQ(fn(TIDAL_SCHEDULE_NATIVE, c.reference ? c.reference : c.comm, native.data()),
            TIDAL_SUCCESS) << where << " (native): " << tidal_last_error();
  ASSERT_EQ(fn(c.schedule, c.comm, sched.data()), TIDAL_SUCCESS)
      << where << ": " << tidal_last_error();
  expect_same(sched, native, where);
}

// Every dtype runs SUM; AVG, MAX and PROD run on one float, one 16-bit
// float and one integer type (the fold is the same code for the others).
inline std::vector<tidal_op_t> ops_for(tidal_dtype_t d) {
  if (d == TIDAL_F32 || d == TIDAL_BF16 || d == TIDAL_I32) {
    return {TIDAL_SUM, TIDAL_AVG, TIDAL_MAX, TIDAL_PROD};
  }
  return {TIDAL_SUM};
}

inline void check_reductions(const ScheduleCase& c) {
  const size_t n = static_cast<size_t>(c.size);
  for (tidal_op_t op : ops_for(c.dtype)) {
    auto rs_in = make_input(c.dtype, op, c.rank, c.count * n, c.size);
    compare(c, c.count, c.where("reduce_scatter", op), [&](tidal_schedule_t s, tidal_comm_t comm, void* out) {
      return tidal_reduce_scatter_ex(rs_in.data(), out, c.count, c.dtype, op, s, comm,
                                     nullptr);
    });
    auto ar_in = make_input(c.dtype, op, c.rank, c.count, c.size);
    compare(c, c.count, c.where("all_reduce", op), [&](tidal_schedule_t s, tidal_comm_t comm, void* out) {
      return tidal_all_reduce_ex(ar_in.data(), out, c.count, c.dtype, op, s, comm, nullptr);
    });
  }
}

inline void check_data_movement(const ScheduleCase& c) {
  const size_t n = static_cast<size_t>(c.size);
  auto mine = make_input(c.dtype, TIDAL_MAX, c.rank, c.count * n, c.size);
  compare(c, c.count * n, c.where("all_gather"), [&](tidal_schedule_t s, tidal_comm_t comm, void* out) {
    return tidal_all_gather_ex(mine.data(), out, c.count, c.dtype, s, comm, nullptr);
  });
  compare(c, c.count * n, c.where("all_to_all"), [&](tidal_schedule_t s, tidal_comm_t comm, void* out) {
    return tidal_all_to_all_ex(mine.data(), out, c.count, c.dtype, s, comm, nullptr);
  });
  for (int root : {c.size - 1, 0}) {
    if (root == 0 && c.dtype != TIDAL_F32) break;
    compare(c, c.count, c.where("broadcast"), [&](tidal_schedule_t s, tidal_comm_t comm, void* out) {
      return tidal_broadcast_ex(c.rank == root ? mine.data() : nullptr, out, c.count, c.dtype,
                                root, s, comm, nullptr);
    });
  }
}

// In-place layouts (NCCL's): all-gather from its own block of the output,
// reduce-scatter into its own block of the input, all-reduce in place.
inline void check_in_place(const ScheduleCase& c) {
  const size_t n = static_cast<size_t>(c.size), es = tidal_dtype_size(c.dtype);
  const size_t me = static_cast<size_t>(c.rank) * c.count * es;
  auto block = make_input(c.dtype, TIDAL_MAX, c.rank, c.count, c.size);
  compare(c, c.count * n, c.where("all_gather in-place"), [&](tidal_schedule_t s, tidal_comm_t comm, void* out) {
    std::memcpy(static_cast<char*>(out) + me, block.data(), c.count * es);
    return tidal_all_gather_ex(static_cast<char*>(out) + me, out, c.count, c.dtype, s, comm,
                               nullptr);
  });
  auto full = make_input(c.dtype, TIDAL_SUM, c.rank, c.count * n, c.size);
  compare(c, c.count, c.where("reduce_scatter in-place"), [&](tidal_schedule_t s, tidal_comm_t comm, void* out) {
    std::vector<unsigned char> buf(full);
    tidal_status_t rc = tidal_reduce_scatter_ex(buf.data(), buf.data() + me, c.count, c.dtype,
                                                TIDAL_SUM, s, comm, nullptr);
    std::memcpy(out, buf.data() + me, c.count * es);
    return rc;
  });
  compare(c, c.count, c.where("all_reduce in-place"), [&](tidal_schedule_t s, tidal_comm_t comm, void* out) {
    std::memcpy(out, full.data(), c.count * es);
    return tidal_all_reduce_ex(out, out, c.count, c.dtype, TIDAL_SUM, s, comm, nullptr);
  });
}

// Every non-native schedule x collective x dtype x count on `comm`.
inline void check_all_schedules(tidal_comm_t comm, const std::vector<tidal_dtype_t>& dtypes,
                                const std::vector<size_t>& counts,
                                const std::vector<tidal_schedule_t>& schedules = {
                                    TIDAL_SCHEDULE_RING, TIDAL_SCHEDULE_TORUS2D,
                                    TIDAL_SCHEDULE_NDRING},
                                tidal_comm_t reference = nullptr) {
  ScheduleCase c{comm, 0, 0, TIDAL_SCHEDULE_RING, TIDAL_F32, 0, reference};
  ASSERT_EQ(tidal_comm_rank(comm, &c.rank), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_comm_size(comm, &c.size), TIDAL_SUCCESS);
  for (tidal_schedule_t s : schedules) {
    c.schedule = s;
    for (tidal_dtype_t d : dtypes) {
      c.dtype = d;
      for (size_t count : counts) {
        c.count = count;
        check_reductions(c);
        check_data_movement(c);
      }
    }
    c.dtype = TIDAL_F32;
    c.count = counts.back();
    check_in_place(c);
  }
}

}  // namespace tidal_testing
