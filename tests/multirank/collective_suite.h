// collective_suite.h — every collective x dtype x op x count x in-place
// variant, checked exactly against a reference computed on the rank. Runs
// on any communicator (local threads or MPI processes).
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/exact_values.h"
#include "tidal/tidal.h"

namespace tidal_testing {

const tidal_dtype_t kAllDtypes[] = {TIDAL_F32, TIDAL_F16, TIDAL_BF16, TIDAL_F64, TIDAL_I32,
                                    TIDAL_I64, TIDAL_U8, TIDAL_FP8_E4M3, TIDAL_FP8_E5M2};
const tidal_op_t kAllOps[] = {TIDAL_SUM, TIDAL_PROD, TIDAL_MAX, TIDAL_MIN, TIDAL_AVG};
const size_t kCounts[] = {0, 1, 5, 1031};

struct SuiteContext {
  tidal_comm_t comm;
  int rank;
  int size;
  std::string where(const char* coll, tidal_dtype_t d, tidal_op_t op, size_t count,
                    bool in_place) const {
    return std::string(coll) + " dtype=" + tidal_dtype_name(d) + " op=" + tidal_op_name(op) +
           " count=" + std::to_string(count) + (in_place ? " in-place" : "") + " rank=" +
           std::to_string(rank) + "/" + std::to_string(size);
  }
};

// Compares `got` with `want` bytewise; reports the first differing element.
inline void expect_bytes(const unsigned char* got, const unsigned char* want, size_t count,
                         size_t es, const std::string& where) {
  for (size_t i = 0; i < count; ++i) {
    if (std::memcmp(got + i * es, want + i * es, es) != 0) {
      ADD_FAILURE() << where << ": first wrong element " << i << " of " << count;
      return;
    }
  }
}

inline void check_reduce_scatter(const SuiteContext& c, tidal_dtype_t d, tidal_op_t op,
                                 size_t count, bool in_place) {
  const size_t es = tidal_dtype_size(d), n = static_cast<size_t>(c.size);
  auto send = make_input(d, op, c.rank, count * n, c.size);
  std::vector<unsigned char> recv(count * es + 1, 0xAB);
  void* out = in_place ? send.data() + c.rank * count * es : recv.data();
  ASSERT_EQ(tidal_reduce_scatter(send.data(), out, count, d, op, c.comm, nullptr), TIDAL_SUCCESS)
      << c.where("reduce_scatter", d, op, count, in_place) << ": " << tidal_last_error();
  std::vector<unsigned char> want(count * es + 1);
  for (size_t i = 0; i < count; ++i) {
    expected_reduction(d, op, c.rank * count + i, c.size, &want[i * es]);
  }
  expect_bytes(static_cast<unsigned char*>(out), want.data(), count, es,
               c.where("reduce_scatter", d, op, count, in_place));
}

inline void check_all_reduce(const SuiteContext& c, tidal_dtype_t d, tidal_op_t op,
                             size_t count, bool in_place) {
  const size_t es = tidal_dtype_size(d);
  auto send = make_input(d, op, c.rank, count, c.size);
  std::vector<unsigned char> recv(count * es + 1, 0xAB);
  void* out = in_place ? send.data() : recv.data();
  ASSERT_EQ(tidal_all_reduce(send.data(), out, count, d, op, c.comm, nullptr), TIDAL_SUCCESS)
      << c.where("all_reduce", d, op, count, in_place) << ": " << tidal_last_error();
  std::vector<unsigned char> want(count * es + 1);
  for (size_t i = 0; i < count; ++i) expected_reduction(d, op, i, c.size, &want[i * es]);
  expect_bytes(static_cast<unsigned char*>(out), want.data(), count, es,
               c.where("all_reduce", d, op, count, in_place));
}

inline void check_all_gather(const SuiteContext& c, tidal_dtype_t d, size_t count,
                             bool in_place) {
  const size_t es = tidal_dtype_size(d), n = static_cast<size_t>(c.size);
  auto mine = make_input(d, TIDAL_MAX, c.rank, count, c.size);
  std::vector<unsigned char> recv(count * n * es + 1, 0xAB);
  const void* send = mine.data();
  if (in_place) {
    std::memcpy(recv.data() + c.rank * count * es, mine.data(), count * es);
    send = recv.data() + c.rank * count * es;
  }
  ASSERT_EQ(tidal_all_gather(send, recv.data(), count, d, c.comm, nullptr), TIDAL_SUCCESS)
      << c.where("all_gather", d, TIDAL_SUM, count, in_place) << ": " << tidal_last_error();
  for (int r = 0; r < c.size; ++r) {
    auto want = make_input(d, TIDAL_MAX, r, count, c.size);
    expect_bytes(recv.data() + r * count * es, want.data(), count, es,
                 c.where("all_gather", d, TIDAL_SUM, count, in_place) + " block " +
                     std::to_string(r));
  }
}

inline void check_all_to_all(const SuiteContext& c, tidal_dtype_t d, size_t count) {
  const size_t es = tidal_dtype_size(d), n = static_cast<size_t>(c.size);
  // Block j of rank r holds the values of "rank" r*n+j.
  std::vector<unsigned char> send(count * n * es + 1), recv(count * n * es + 1, 0xAB);
  for (int j = 0; j < c.size; ++j) {
    auto block = make_input(d, TIDAL_MAX, c.rank * c.size + j, count, c.size * c.size);
    std::memcpy(send.data() + j * count * es, block.data(), count * es);
  }
  ASSERT_EQ(tidal_all_to_all(send.data(), recv.data(), count, d, c.comm, nullptr),
            TIDAL_SUCCESS) << tidal_last_error();
  for (int i = 0; i < c.size; ++i) {
    auto want = make_input(d, TIDAL_MAX, i * c.size + c.rank, count, c.size * c.size);
    expect_bytes(recv.data() + i * count * es, want.data(), count, es,
                 c.where("all_to_all", d, TIDAL_SUM, count, false) + " block " +
                     std::to_string(i));
  }
}

inline void check_broadcast(const SuiteContext& c, tidal_dtype_t d, size_t count, int root,
                            bool in_place) {
  const size_t es = tidal_dtype_size(d);
  auto data = make_input(d, TIDAL_MAX, root, count, c.size);
  std::vector<unsigned char> recv(count * es + 1, 0xAB);
  const void* send = c.rank == root ? data.data() : nullptr;
  if (in_place && c.rank == root) {
    std::memcpy(recv.data(), data.data(), count * es);
    send = recv.data();
  }
  ASSERT_EQ(tidal_broadcast(send, recv.data(), count, d, root, c.comm, nullptr), TIDAL_SUCCESS)
      << tidal_last_error();
  expect_bytes(recv.data(), data.data(), count, es,
               c.where("broadcast", d, TIDAL_SUM, count, in_place) + " root " +
                   std::to_string(root));
}

// The whole matrix. Every rank runs the same sequence (collective order).
inline void run_collective_suite(tidal_comm_t comm) {
  SuiteContext c{comm, 0, 0};
  ASSERT_EQ(tidal_comm_rank(comm, &c.rank), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_comm_size(comm, &c.size), TIDAL_SUCCESS);
  for (tidal_dtype_t d : kAllDtypes) {
    for (size_t count : kCounts) {
      for (bool in_place : {false, true}) {
        for (tidal_op_t op : kAllOps) {
          check_reduce_scatter(c, d, op, count, in_place);
          check_all_reduce(c, d, op, count, in_place);
        }
        check_all_gather(c, d, count, in_place);
        check_broadcast(c, d, count, c.size - 1, in_place);
      }
      check_all_to_all(c, d, count);
      check_broadcast(c, d, count, 0, false);
    }
  }
}

// Point-to-point ring: each rank sends to rank+1 and receives from rank-1,
// both ranks sending first (sends must not wait for their receive).
inline void run_p2p_ring(tidal_comm_t comm) {
  int rank = 0, size = 0;
  tidal_comm_rank(comm, &rank);
  tidal_comm_size(comm, &size);
  if (size < 2) return;
  const size_t count = 4099;
  std::vector<int32_t> out(count), in(count, -1);
  for (size_t i = 0; i < count; ++i) out[i] = rank * 100000 + static_cast<int32_t>(i);
  const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
  tidal_request_t reqs[2];
  ASSERT_EQ(tidal_send(out.data(), count, TIDAL_I32, next, 7, comm, &reqs[0]), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_recv(in.data(), count, TIDAL_I32, prev, 7, comm, &reqs[1]), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_wait_all(2, reqs), TIDAL_SUCCESS) << tidal_last_error();
  for (auto r : reqs) tidal_request_free(r);
  for (size_t i = 0; i < count; ++i) {
    ASSERT_EQ(in[i], prev * 100000 + static_cast<int32_t>(i)) << "element " << i;
  }
}

// Non-exact float data: two runs of the same all-reduce and reduce-scatter
// must agree bitwise (determinism for a fixed rank count).
inline void run_reproducibility(tidal_comm_t comm) {
  int rank = 0, size = 0;
  tidal_comm_rank(comm, &rank);
  tidal_comm_size(comm, &size);
  const size_t count = 3000;
  std::vector<float> in(count * size);
  for (size_t i = 0; i < in.size(); ++i) in[i] = 1.0f / static_cast<float>(1 + (i * 7 + rank * 13) % 101);
  std::vector<float> a(count * size), b(count * size);
  ASSERT_EQ(tidal_all_reduce(in.data(), a.data(), in.size(), TIDAL_F32, TIDAL_SUM, comm, nullptr), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_all_reduce(in.data(), b.data(), in.size(), TIDAL_F32, TIDAL_SUM, comm, nullptr), TIDAL_SUCCESS);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0);
  ASSERT_EQ(tidal_reduce_scatter(in.data(), a.data(), count, TIDAL_F32, TIDAL_AVG, comm, nullptr), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_reduce_scatter(in.data(), b.data(), count, TIDAL_F32, TIDAL_AVG, comm, nullptr), TIDAL_SUCCESS);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), count * 4), 0);
}

}  // namespace tidal_testing
