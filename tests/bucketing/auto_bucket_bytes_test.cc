// TIDAL_BUCKET_BYTES=auto (bucket_bytes = 0): list creation asks the tuner,
// and every rank gets the same buckets.
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/local_ranks.h"
#include "tidal/bucket.h"

namespace {

TEST(AutoBucketBytes, TheTunerPicksOneSizeForEveryRank) {
  tidal_config_t cfg = TIDAL_CONFIG_INITIALIZER;
  cfg.bucket_bytes = 0;  // "auto"
  cfg.first_bucket_bytes = 0;
  std::vector<size_t> buckets(2, 0), first(2, 0);
  tidal_testing::run_local_ranks(
      2,
      [&](tidal_comm_t comm, int rank) {
        // 16 tensors of 1 MiB (f32): 16 MiB to communicate.
        std::vector<std::vector<float>> tensors(16, std::vector<float>(1 << 18, 1.0f));
        std::vector<tidal_tensor_desc_t> desc;
        for (auto& t : tensors) desc.push_back({t.data(), t.size(), TIDAL_F32});
        tidal_tensor_list_t list = nullptr;
        ASSERT_EQ(tidal_tensor_list_create(comm, desc.data(), desc.size(), nullptr, &list),
                  TIDAL_SUCCESS) << tidal_last_error();
        ASSERT_EQ(tidal_tensor_list_num_buckets(list, &buckets[rank]), TIDAL_SUCCESS);
        tidal_bucket_info_t info;
        ASSERT_EQ(tidal_tensor_list_bucket_info(list, 0, &info), TIDAL_SUCCESS);
        first[rank] = info.count * 4;
        EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
      },
      &cfg);
  EXPECT_EQ(buckets[0], buckets[1]);
  EXPECT_EQ(first[0], first[1]);
  EXPECT_GE(buckets[0], 1u);
  // A tuned size is a multiple of 64 KiB, so a bucket holds a whole number of them.
  EXPECT_EQ(first[0] % (64 << 10), 0u) << first[0];
}

}  // namespace
