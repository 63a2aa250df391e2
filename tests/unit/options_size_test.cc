// The one rule for options structs (lib/core/options_struct.h), through the
// public C API: a struct from a newer tidal header (size larger than this
// library's) is TIDAL_ERR_UNSUPPORTED, since fields this library does not
// know would otherwise be ignored silently; one smaller than the first
// published size was not made with its initializer (INVALID_ARGUMENT);
// the initializer's own size works.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/core/options_struct.h"
#include "tidal/bucket.h"
#include "tidal/ckpt.h"
#include "tidal/local.h"
#include "tidal/overlap.h"
#include "tidal/pinned.h"
#include "tidal/tidal.h"
#include "tidal/tune.h"

namespace {

// What a caller built against a newer header would pass: this library's
// struct followed by one more field.
template <typename T>
struct Newer {
  T known;
  uint64_t added_field = 7;
  T* get() {
    known.size = sizeof(Newer<T>);
    return &known;
  }
};

void expect_newer_header(tidal_status_t status, const char* initializer) {
  EXPECT_EQ(status, TIDAL_ERR_UNSUPPORTED) << tidal_last_error();
  const std::string message = tidal_last_error();
  EXPECT_NE(message.find("newer tidal"), std::string::npos) << message;
  EXPECT_NE(message.find(initializer), std::string::npos) << message;
}

void expect_not_initialised(tidal_status_t status) {
  EXPECT_EQ(status, TIDAL_ERR_INVALID_ARGUMENT) << tidal_last_error();
}

TEST(OptionsSize, TheRuleItself) {
  using tidal::check_options_size;
  EXPECT_TRUE(check_options_size(40, 32, 40, "X").ok());  // this header
  EXPECT_TRUE(check_options_size(32, 32, 40, "X").ok());  // an older header
  EXPECT_EQ(check_options_size(48, 32, 40, "X").code(), TIDAL_ERR_UNSUPPORTED);
  EXPECT_EQ(check_options_size(31, 32, 40, "X").code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(check_options_size(0, 32, 40, "X").code(), TIDAL_ERR_INVALID_ARGUMENT);
}

TEST(OptionsSize, ReadOptionsKeepsDefaultsPastAnOlderCallersSize) {
  struct Opts {
    size_t size;
    int a;
    int added_later;
  };
  const Opts defaults{sizeof(Opts), 1, 42};
  Opts older{offsetof(Opts, added_later), 5, -1};  // an older header: no added_later
  Opts out{};
  ASSERT_TRUE(tidal::read_options(&older, defaults, "X", &out, offsetof(Opts, added_later)).ok());
  EXPECT_EQ(out.a, 5);
  EXPECT_EQ(out.added_later, 42);  // the default, not the caller's stray bytes
  ASSERT_TRUE(tidal::read_options<Opts>(nullptr, defaults, "X", &out).ok());
  EXPECT_EQ(out.a, 1);
}

TEST(OptionsSize, ConfigFromANewerHeaderIsUnsupported) {
  Newer<tidal_config_t> newer{TIDAL_CONFIG_INITIALIZER};
  tidal_comm_t comm = nullptr;
  expect_newer_header(tidal_comm_create_local(1, newer.get(), &comm), "TIDAL_CONFIG_INITIALIZER");
  EXPECT_EQ(comm, nullptr);
  tidal_config_t tiny = TIDAL_CONFIG_INITIALIZER;
  tiny.size = sizeof(size_t);
  expect_not_initialised(tidal_comm_create_local(1, &tiny, &comm));
  tidal_config_t ok = TIDAL_CONFIG_INITIALIZER;
  ASSERT_EQ(tidal_comm_create_local(1, &ok, &comm), TIDAL_SUCCESS) << tidal_last_error();
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

TEST(OptionsSize, CheckpointAndPinnedConfigsFromANewerHeaderAreUnsupported) {
  Newer<tidal_ckpt_writer_config_t> writer_config{TIDAL_CKPT_WRITER_CONFIG_INITIALIZER};
  tidal_ckpt_writer_t writer = nullptr;
  expect_newer_header(tidal_ckpt_writer_create(writer_config.get(), &writer),
                      "TIDAL_CKPT_WRITER_CONFIG_INITIALIZER");
  Newer<tidal_pinned_config_t> pool_config{TIDAL_PINNED_CONFIG_INITIALIZER};
  tidal_pinned_pool_t pool = nullptr;
  expect_newer_header(tidal_pinned_pool_create(pool_config.get(), &pool),
                      "TIDAL_PINNED_CONFIG_INITIALIZER");
  tidal_pinned_config_t small = TIDAL_PINNED_CONFIG_INITIALIZER;
  small.size = 1;
  expect_not_initialised(tidal_pinned_pool_create(&small, &pool));
}

TEST(OptionsSize, BucketAndReducerOptionsFromANewerHeaderAreUnsupported) {
  tidal_comm_t comm = nullptr;
  ASSERT_EQ(tidal_comm_create_local(1, nullptr, &comm), TIDAL_SUCCESS);
  std::vector<float> a(16), b(16);
  const tidal_tensor_desc_t tensors[] = {{a.data(), a.size(), TIDAL_F32},
                                         {b.data(), b.size(), TIDAL_F32}};
  tidal_tensor_list_t list = nullptr;
  Newer<tidal_bucket_options_t> bucket{TIDAL_BUCKET_OPTIONS_INITIALIZER};
  expect_newer_header(tidal_tensor_list_create(comm, tensors, 2, bucket.get(), &list),
                      "TIDAL_BUCKET_OPTIONS_INITIALIZER");
  ASSERT_EQ(tidal_tensor_list_create(comm, tensors, 2, nullptr, &list), TIDAL_SUCCESS)
      << tidal_last_error();
  Newer<tidal_grad_reducer_options_t> reducer_options{TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER};
  tidal_grad_reducer_t reducer = nullptr;
  expect_newer_header(tidal_grad_reducer_create(list, reducer_options.get(), &reducer),
                      "TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER");
  tidal_grad_reducer_options_t older = TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER;
  older.size = 4;
  expect_not_initialised(tidal_grad_reducer_create(list, &older, &reducer));
  EXPECT_EQ(reducer, nullptr);
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

TEST(OptionsSize, TuneInputsFromANewerHeaderAreUnsupported) {
  tidal_comm_profile_t profile = nullptr;
  tidal_tune_result_t result = nullptr;
  ASSERT_EQ(tidal_comm_profile_create(&profile), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_tune_result_create(&result), TIDAL_SUCCESS);
  const size_t bytes[] = {1 << 20, 4 << 20};
  const double seconds[] = {1e-3, 3e-3};
  ASSERT_EQ(tidal_comm_profile_add(profile, TIDAL_TUNE_REDUCE_SCATTER, bytes, seconds, 2),
            TIDAL_SUCCESS) << tidal_last_error();
  Newer<tidal_tune_inputs_t> inputs{TIDAL_TUNE_INPUTS_INITIALIZER};
  inputs.known.grad_bytes = 64 << 20;
  inputs.known.bwd_s = 0.1;
  expect_newer_header(tidal_tune_bucket_size(inputs.get(), profile, result),
                      "TIDAL_TUNE_INPUTS_INITIALIZER");
  inputs.known.size = sizeof(tidal_tune_inputs_t);
  EXPECT_EQ(tidal_tune_bucket_size(&inputs.known, profile, result), TIDAL_SUCCESS)
      << tidal_last_error();
  EXPECT_EQ(tidal_tune_result_destroy(result), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_comm_profile_destroy(profile), TIDAL_SUCCESS);
}

}  // namespace
