// The local transport's collectives on runs of memory (BufferRuns): a
// reduce-scatter that reads each rank's input from scattered runs (padding
// as zeros), an all-gather that writes into them (padding dropped), an
// all-reduce in place on them, ranks
// that post different forms or cut their runs in different places, and
// the errors. Also what the schedule entry promises before queuing
// (queues_natively), which decides when a bucket may run direct.
#include <gtest/gtest.h>

#include <numeric>
#include <thread>

#include "collectives/schedules/schedule_entry.h"
#include "lib/transport/local/local_transport.h"
#include "tests/schedules/p2p_only_transport.h"

namespace {

using tidal::BufferRuns;
using tidal::Deadline;
using tidal::Status;
using tidal::Transport;

void run_group(int n, const std::function<void(Transport&, int)>& body) {
  auto group = tidal::LocalTransport::create_group(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) threads.emplace_back([&, r] { body(*group[r], r); });
  for (auto& t : threads) t.join();
}

// A logical buffer of `total` floats cut into runs of the given lengths,
// every third run padding (null); the data runs point into `storage`.
struct Runs {
  std::vector<float> storage;
  std::vector<void*> base;
  std::vector<size_t> prefix{0};
  BufferRuns view() const { return BufferRuns{base.data(), prefix.data(), base.size()}; }
};

Runs cut(const std::vector<size_t>& lengths, bool with_padding) {
  Runs r;
  size_t data = 0;
  for (size_t i = 0; i < lengths.size(); ++i) data += (with_padding && i % 3 == 2) ? 0 : lengths[i];
  r.storage.assign(data, 0.0f);
  size_t at = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    const bool pad = with_padding && i % 3 == 2;
    r.base.push_back(pad ? nullptr : r.storage.data() + at);
    if (!pad) at += lengths[i];
    r.prefix.push_back(r.prefix.back() + lengths[i]);
  }
  return r;
}

// Element e of rank `rank`'s logical input: 0 on padding, else a small
// integer (exact sums in any order).
float input_value(int rank, size_t e) { return static_cast<float>(1 + (rank * 7 + e) % 5); }

void fill(Runs* r, int rank) {
  for (size_t i = 0; i < r->base.size(); ++i) {
    if (!r->base[i]) continue;
    float* p = static_cast<float*>(r->base[i]);
    for (size_t e = r->prefix[i]; e < r->prefix[i + 1]; ++e) p[e - r->prefix[i]] = input_value(rank, e);
  }
}

bool is_padding(const Runs& r, size_t e) { return !r.base[r.view().run_at(e)]; }

TEST(LocalBufferRuns, ReduceScatterReadsRunsWithPaddingAsZeros) {
  const int n = 3;
  const size_t shard = 9000;  // several 16 KiB reduce blocks per shard
  // Rank 0 cuts its input differently from rank 1; rank 2 posts a plain
  // buffer. The padding runs sit at the same places on ranks 0 and 1 (as
  // on every rank of a bucket), and rank 2's buffer has zeros there.
  Runs a = cut({1, 4095, 2000, 5, 7000, 3000, 899, 10000}, true);
  const std::vector<size_t> lengths_b = {1, 4095, 2000, 5, 3000, 4000, 3000, 899, 10000};
  run_group(n, [&](Transport& t, int rank) {
    std::vector<float> out(shard, -1.0f);
    Status s;
    if (rank == 2) {
      std::vector<float> flat(shard * n);
      for (size_t e = 0; e < flat.size(); ++e) flat[e] = is_padding(a, e) ? 0.0f : input_value(rank, e);
      s = t.reduce_scatter(flat.data(), out.data(), shard, TIDAL_F32, TIDAL_SUM, Deadline::never(),
                           nullptr);
    } else {
      Runs mine = rank == 0 ? cut({1, 4095, 2000, 5, 7000, 3000, 899, 10000}, true) : Runs();
      if (rank == 1) {  // the same padding as rank 0, other data cuts
        mine.prefix = {0};
        size_t at = 0;
        for (size_t len : lengths_b) mine.prefix.push_back(mine.prefix.back() + len);
        mine.storage.assign(shard * n, 0.0f);
        for (size_t i = 0; i < lengths_b.size(); ++i) {
          const size_t first = mine.prefix[i];
          mine.base.push_back(is_padding(a, first) ? nullptr : mine.storage.data() + at);
          at += lengths_b[i];
        }
      }
      ASSERT_EQ(mine.view().elements(), shard * n);
      fill(&mine, rank);
      s = t.reduce_scatter_runs(mine.view(), out.data(), shard, TIDAL_F32, TIDAL_SUM,
                                Deadline::never());
    }
    ASSERT_TRUE(s.ok()) << s.message();
    for (size_t i = 0; i < shard; ++i) {
      const size_t e = rank * shard + i;
      float want = 0;
      if (!is_padding(a, e)) for (int k = 0; k < n; ++k) want += input_value(k, e);
      if (out[i] != want) {
        ADD_FAILURE() << "rank " << rank << " element " << e << ": " << out[i] << " != " << want;
        break;
      }
    }
  });
}

// Four ranks gather `count` floats each into runs cut as `lengths` (every
// third run padding).
void all_gather_into_runs(size_t count, const std::vector<size_t>& lengths) {
  const int n = 4;
  run_group(n, [&](Transport& t, int rank) {
    std::vector<float> send(count);
    for (size_t i = 0; i < count; ++i) send[i] = input_value(rank, i);
    Runs mine = cut(lengths, true);
    ASSERT_EQ(mine.view().elements(), count * n);
    std::fill(mine.storage.begin(), mine.storage.end(), -1.0f);
    Status s = t.all_gather_runs(send.data(), mine.view(), count, TIDAL_F32, Deadline::never());
    ASSERT_TRUE(s.ok()) << s.message();
    for (size_t i = 0; i < mine.base.size(); ++i) {
      if (!mine.base[i]) continue;
      const float* p = static_cast<const float*>(mine.base[i]);
      for (size_t e = mine.prefix[i]; e < mine.prefix[i + 1]; ++e) {
        const float want = input_value(static_cast<int>(e / count), e % count);
        if (p[e - mine.prefix[i]] != want) {
          ADD_FAILURE() << "rank " << rank << " element " << e;
          return;
        }
      }
    }
  });
}

TEST(LocalBufferRuns, AllGatherWritesRunsAndDropsPadding) {
  all_gather_into_runs(2500, {3, 2497, 1, 3000, 999, 2000, 1000, 0, 500});
}

// 9.6 MB gathered: the output is streamed (non-temporal stores), into runs
// that start off the 16-byte grid.
TEST(LocalBufferRuns, ALargeAllGatherStreamsIntoRunsAndDropsPadding) {
  std::vector<size_t> lengths = {3, 2497, 1, 3000, 999, 2000, 1000, 0, 500};
  for (size_t& len : lengths) len *= 240;
  lengths[0] += 1;
  lengths[1] -= 1;
  all_gather_into_runs(2500 * 240, lengths);
}

TEST(LocalBufferRuns, AllReduceRunsInPlaceWithAPlainRankAmongThem) {
  const int n = 3;
  const size_t count = 20001;  // not a multiple of the ranks: parts of 6667
  const std::vector<size_t> lengths = {5, 4096, 100, 7000, 3000, 800, 5000};  // padding at 2, 5
  run_group(n, [&](Transport& t, int rank) {
    Runs r = cut(lengths, true);
    ASSERT_EQ(r.view().elements(), count);
    auto want = [&](size_t e) {
      if (is_padding(r, e)) return 0.0f;
      float sum = 0;
      for (int k = 0; k < n; ++k) sum += input_value(k, e);
      return sum;
    };
    if (rank == 1) {  // a plain in-place all-reduce of the same logical buffer
      std::vector<float> flat(count);
      for (size_t e = 0; e < count; ++e) flat[e] = is_padding(r, e) ? 0.0f : input_value(rank, e);
      Status s = t.all_reduce(flat.data(), flat.data(), count, TIDAL_F32, TIDAL_SUM,
                              Deadline::never(), nullptr);
      ASSERT_TRUE(s.ok()) << s.message();
      for (size_t e = 0; e < count; ++e) {
        if (flat[e] != want(e)) {
          ADD_FAILURE() << "plain rank, element " << e;
          return;
        }
      }
      return;
    }
    fill(&r, rank);
    Status s = t.all_reduce_runs(r.view(), count, TIDAL_F32, TIDAL_SUM, Deadline::never());
    ASSERT_TRUE(s.ok()) << s.message();
    for (size_t i = 0; i < r.base.size(); ++i) {
      if (!r.base[i]) continue;
      const float* p = static_cast<const float*>(r.base[i]);
      for (size_t e = r.prefix[i]; e < r.prefix[i + 1]; ++e) {
        if (p[e - r.prefix[i]] != want(e)) {
          ADD_FAILURE() << "rank " << rank << " element " << e;
          return;
        }
      }
    }
  });
}

TEST(LocalBufferRuns, RunsThatDoNotCoverTheBufferAreRefusedBeforeTheRendezvous) {
  run_group(2, [&](Transport& t, int) {
    Runs r = cut({10, 5}, false);
    float out[8];
    Status s = t.reduce_scatter_runs(r.view(), out, 8, TIDAL_F32, TIDAL_SUM, Deadline::never());
    EXPECT_EQ(s.code(), TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(s.message().find("15 elements, not 2 x 8"), std::string::npos) << s.message();
    s = t.all_gather_runs(out, r.view(), 4, TIDAL_F32, Deadline::never());
    EXPECT_EQ(s.code(), TIDAL_ERR_INVALID_ARGUMENT);
    s = t.all_reduce_runs(r.view(), 16, TIDAL_F32, TIDAL_SUM, Deadline::never());
    EXPECT_EQ(s.code(), TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(s.message().find("15 elements, not 16"), std::string::npos) << s.message();
    // The group is still usable: nothing was posted.
    float in[2] = {1, 2}, got[4] = {};
    ASSERT_TRUE(t.all_gather(in, got, 2, TIDAL_F32, Deadline::never(), nullptr).ok());
    EXPECT_EQ(got[3], 2.0f);
  });
}

TEST(LocalBufferRuns, AMismatchedSignatureFailsEveryRank) {
  run_group(2, [&](Transport& t, int rank) {
    Runs r = cut({8}, false);
    float out[4];
    // Rank 1 asks for a max where rank 0 sums.
    Status s = t.reduce_scatter_runs(r.view(), out, 4, TIDAL_F32, rank ? TIDAL_MAX : TIDAL_SUM,
                                     Deadline::never());
    EXPECT_EQ(s.code(), TIDAL_ERR_MISMATCH) << s.message();
  });
}

TEST(LocalBufferRuns, ABackendThatDoesNotReadPeerMemoryRefusesRuns) {
  auto transports = tidal_testing::P2POnlyTransport::group(1);
  Transport& t = *transports[0];
  EXPECT_FALSE(t.reads_peer_memory());
  Runs r = cut({4}, false);
  float out[4];
  Status s = t.reduce_scatter_runs(r.view(), out, 4, TIDAL_F32, TIDAL_SUM, Deadline::never());
  EXPECT_EQ(s.code(), TIDAL_ERR_UNSUPPORTED);
  EXPECT_NE(s.message().find("reads_peer_memory"), std::string::npos) << s.message();
  s = t.all_gather_runs(out, r.view(), 4, TIDAL_F32, Deadline::never());
  EXPECT_EQ(s.code(), TIDAL_ERR_UNSUPPORTED);
  s = t.all_reduce_runs(r.view(), 4, TIDAL_F32, TIDAL_SUM, Deadline::never());
  EXPECT_EQ(s.code(), TIDAL_ERR_UNSUPPORTED);
}

TEST(LocalBufferRuns, RunAtFindsTheRunHoldingAnElementPastEmptyRuns) {
  std::vector<void*> base(4, nullptr);
  std::vector<size_t> prefix = {0, 3, 3, 3, 7};
  BufferRuns r{base.data(), prefix.data(), 4};
  EXPECT_EQ(r.elements(), 7u);
  EXPECT_EQ(r.run_at(0), 0u);
  EXPECT_EQ(r.run_at(2), 0u);
  EXPECT_EQ(r.run_at(3), 3u);  // runs 1 and 2 are empty
  EXPECT_EQ(r.run_at(6), 3u);
}

// What the schedule entry can promise before queuing.
TEST(QueuesNatively, NativeAndOneNodeAutoOnLocalRanksButNotRingsOrAForcedTopology) {
  auto check = [](const tidal::Config& config, int schedule, bool want) {
    auto group = tidal::LocalTransport::create_group(1);
    std::unique_ptr<tidal::Communicator> comm;
    ASSERT_TRUE(tidal::Communicator::create(std::move(group[0]), config, &comm).ok());
    tidal::CollectiveCall call{tidal::CollKind::kReduceScatter, nullptr, nullptr, 16,
                               TIDAL_F32, TIDAL_SUM, 0};
    EXPECT_EQ(tidal::queues_natively(*comm, call, schedule), want)
        << "schedule " << schedule << " topology '" << config.topology << "'";
  };
  tidal::Config plain;
  check(plain, TIDAL_SCHEDULE_UNSET, true);  // the default: native
  check(plain, TIDAL_SCHEDULE_NATIVE, true);
  check(plain, TIDAL_SCHEDULE_AUTO, true);   // one node: auto runs native
  check(plain, TIDAL_SCHEDULE_RING, false);
  check(plain, TIDAL_SCHEDULE_TORUS2D, false);
  tidal::Config ring;
  ring.schedule = TIDAL_SCHEDULE_RING;
  check(ring, TIDAL_SCHEDULE_UNSET, false);
  tidal::Config topo;
  topo.topology = "1";
  check(topo, TIDAL_SCHEDULE_AUTO, false);  // a forced layout may be several nodes
}

TEST(QueuesNatively, NeverOnABackendWithoutNativeCollectives) {
  auto transports = tidal_testing::P2POnlyTransport::group(1);
  std::unique_ptr<tidal::Communicator> comm;
  ASSERT_TRUE(tidal::Communicator::create(std::move(transports[0]), tidal::Config(), &comm).ok());
  tidal::CollectiveCall call{tidal::CollKind::kAllGather, nullptr, nullptr, 16, TIDAL_F32,
                             TIDAL_SUM, 0};
  EXPECT_FALSE(tidal::queues_natively(*comm, call, TIDAL_SCHEDULE_NATIVE));
  EXPECT_FALSE(tidal::queues_natively(*comm, call, TIDAL_SCHEDULE_AUTO));
}

}  // namespace
