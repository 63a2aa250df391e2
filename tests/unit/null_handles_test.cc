// Every public entry point, called with NULL handles and NULL output
// pointers, returns an error status and sets a message; it never crashes.
// The destroy/free/close functions accept NULL as free() does.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tidal/bucket.h"
#include "tidal/ckpt.h"
#include "tidal/fp8.h"
#include "tidal/local.h"
#include "tidal/oob.h"
#include "tidal/overlap.h"
#include "tidal/pinned.h"
#include "tidal/ring_attention.h"
#include "tidal/schedule.h"
#include "tidal/tidal.h"
#include "tidal/tune.h"

namespace {

struct Call {
  const char* text;
  std::function<tidal_status_t()> run;
};
// The call's text (for the failure message) and the call.
#define CALL(...) Call{#__VA_ARGS__, [] { return __VA_ARGS__; }}

TEST(NullHandles, EveryEntryPointRejectsNullWithAStatusAndAMessage) {
  const std::vector<Call> calls = {
      CALL(tidal_all_gather(nullptr, nullptr, 1, TIDAL_F32, nullptr, nullptr)),
      CALL(tidal_bucketed_all_gather(nullptr, nullptr, nullptr, nullptr)),
      CALL(tidal_bucketed_reduce_scatter(nullptr, nullptr, TIDAL_SUM, nullptr, nullptr)),
      CALL(tidal_ckpt_commit(nullptr, 0)),
      CALL(tidal_ckpt_find_latest(nullptr, nullptr, nullptr, 0)),
      CALL(tidal_ckpt_reader_find(nullptr, nullptr, nullptr)),
      CALL(tidal_ckpt_reader_metadata(nullptr, nullptr, nullptr)),
      CALL(tidal_ckpt_reader_num_tensors(nullptr, nullptr)),
      CALL(tidal_ckpt_reader_open(nullptr, 0, nullptr)),
      CALL(tidal_ckpt_reader_step(nullptr, nullptr)),
      CALL(tidal_ckpt_reader_tensor(nullptr, 0, nullptr)),
      CALL(tidal_ckpt_reader_verify(nullptr)),
      CALL(tidal_ckpt_retain(nullptr, 1)),
      CALL(tidal_ckpt_save_async(nullptr, nullptr, nullptr, 0, nullptr, nullptr)),
      CALL(tidal_ckpt_save_sync(nullptr, nullptr, 0, nullptr)),
      CALL(tidal_ckpt_save_test_durable(nullptr, nullptr)),
      CALL(tidal_ckpt_save_test_snapshot(nullptr, nullptr)),
      CALL(tidal_ckpt_save_wait_durable(nullptr)),
      CALL(tidal_ckpt_save_wait_snapshot(nullptr)),
      CALL(tidal_ckpt_shard_name(nullptr, 0, 1, nullptr, 0)),
      CALL(tidal_ckpt_step_dir(nullptr, 0, nullptr, 0)),
      CALL(tidal_ckpt_write_index(nullptr, nullptr, nullptr, 1)),
      CALL(tidal_ckpt_writer_create(nullptr, nullptr)),
      CALL(tidal_comm_abort(nullptr)),
      CALL(tidal_comm_backend(nullptr, nullptr)),
      CALL(tidal_comm_create_local(2, nullptr, nullptr)),
      CALL(tidal_comm_create_oob(nullptr, nullptr, nullptr, nullptr)),
      CALL(tidal_comm_get_async_error(nullptr, nullptr)),
      CALL(tidal_comm_get_config(nullptr, nullptr)),
      CALL(tidal_comm_get_layout(nullptr, nullptr, 4, nullptr)),
      {"tidal_comm_profile_add",
       [] {
         return tidal_comm_profile_add(nullptr, TIDAL_TUNE_REDUCE_SCATTER, nullptr, nullptr, 3);
       }},
      {"tidal_comm_profile_add_alone",
       [] {
         return tidal_comm_profile_add_alone(nullptr, TIDAL_TUNE_REDUCE_SCATTER, nullptr, nullptr,
                                             3);
       }},
      {"tidal_comm_profile_add_pack",
       [] {
         return tidal_comm_profile_add_pack(nullptr, TIDAL_TUNE_REDUCE_SCATTER, nullptr, nullptr,
                                            3);
       }},
      CALL(tidal_comm_profile_create(nullptr)),
      CALL(tidal_comm_profile_seconds(nullptr, TIDAL_TUNE_REDUCE_SCATTER, 1, nullptr)),
      CALL(tidal_comm_profile_set_alpha_beta(nullptr, TIDAL_TUNE_REDUCE_SCATTER, 0, 1)),
      CALL(tidal_comm_rank(nullptr, nullptr)),
      CALL(tidal_comm_size(nullptr, nullptr)),
      CALL(tidal_comm_split(nullptr, 0, 0, nullptr, nullptr)),
      CALL(tidal_fp8_decode(nullptr, nullptr, nullptr, 4, nullptr, TIDAL_F32)),
      CALL(tidal_fp8_encode(nullptr, nullptr, TIDAL_F32, 4, nullptr, nullptr)),
      CALL(tidal_get_version(nullptr)),
      CALL(tidal_grad_ready(nullptr, 0)),
      CALL(tidal_grad_reducer_create(nullptr, nullptr, nullptr)),
      CALL(tidal_grad_reducer_get_counters(nullptr, nullptr)),
      CALL(tidal_grad_reducer_set_sync(nullptr, 0)),
      CALL(tidal_grad_reducer_shard(nullptr, nullptr, nullptr)),
      CALL(tidal_grad_reducer_wait(nullptr)),
      CALL(tidal_grad_reducer_wait_stream(nullptr, nullptr)),
      {"tidal_measure_comm_profile",
       [] {
         return tidal_measure_comm_profile(nullptr, TIDAL_TUNE_REDUCE_SCATTER,
                                           TIDAL_SCHEDULE_NATIVE, nullptr, 3, nullptr, nullptr);
       }},
      CALL(tidal_param_gather_layer(nullptr, 0, 0)),
      CALL(tidal_param_gatherer_create(nullptr, nullptr, nullptr, nullptr)),
      CALL(tidal_param_gatherer_get_counters(nullptr, nullptr)),
      CALL(tidal_param_prefetch(nullptr, 0)),
      CALL(tidal_param_release(nullptr, 0)),
      CALL(tidal_param_wait(nullptr, 0)),
      CALL(tidal_param_wait_stream(nullptr, 0, nullptr)),
      CALL(tidal_pinned_alloc(nullptr, 1, nullptr)),
      CALL(tidal_pinned_fence_signal(nullptr)),
      CALL(tidal_pinned_free(nullptr, nullptr)),
      CALL(tidal_pinned_free_after_fence(nullptr, nullptr, nullptr)),
      CALL(tidal_pinned_free_after_stream(nullptr, nullptr, nullptr)),
      CALL(tidal_pinned_loader_create(nullptr, 1, 1, 1, nullptr, nullptr, nullptr)),
      CALL(tidal_pinned_loader_next(nullptr, nullptr, nullptr)),
      CALL(tidal_pinned_pool_create(nullptr, nullptr)),
      CALL(tidal_pinned_pool_stats(nullptr, nullptr)),
      CALL(tidal_recv(nullptr, 1, TIDAL_F32, 0, 0, nullptr, nullptr)),
      {"tidal_reduce_scatter",
       [] {
         return tidal_reduce_scatter(nullptr, nullptr, 1, TIDAL_F32, TIDAL_SUM, nullptr, nullptr);
       }},
      CALL(tidal_ring_rotation_accumulate(nullptr, nullptr)),
      {"tidal_ring_rotation_create",
       [] {
         return tidal_ring_rotation_create(nullptr, nullptr, 0, 1, TIDAL_F32, TIDAL_ROTATE_BLOCKS,
                                           nullptr);
       }},
      CALL(tidal_ring_rotation_current(nullptr, nullptr, nullptr, nullptr)),
      CALL(tidal_ring_rotation_finish(nullptr, nullptr)),
      CALL(tidal_ring_rotation_start(nullptr, nullptr)),
      CALL(tidal_ring_rotation_start_borrowed(nullptr, nullptr)),
      CALL(tidal_ring_rotation_steps(nullptr, nullptr)),
      CALL(tidal_ring_rotation_wait(nullptr)),
      CALL(tidal_schedule_from_name(nullptr, nullptr)),
      CALL(tidal_send(nullptr, 1, TIDAL_F32, 0, 0, nullptr, nullptr)),
      CALL(tidal_tensor_list_bucket_info(nullptr, 0, nullptr)),
      CALL(tidal_tensor_list_buckets_of(nullptr, 0, nullptr, nullptr)),
      CALL(tidal_tensor_list_create(nullptr, nullptr, 1, nullptr, nullptr)),
      CALL(tidal_tensor_list_data(nullptr, 0, nullptr)),
      CALL(tidal_tensor_list_get_counters(nullptr, nullptr)),
      CALL(tidal_tensor_list_num_buckets(nullptr, nullptr)),
      CALL(tidal_tensor_list_shard_bytes(nullptr, nullptr)),
      CALL(tidal_tensor_list_shard_segments(nullptr, 0, nullptr, 1, nullptr)),
      CALL(tidal_test(nullptr, nullptr)),
      CALL(tidal_tune_auto_bucket_bytes(nullptr, 1, 1, nullptr)),
      CALL(tidal_tune_bucket_size(nullptr, nullptr, nullptr)),
      CALL(tidal_tune_refine(nullptr, nullptr, nullptr)),
      CALL(tidal_tune_result_create(nullptr)),
      CALL(tidal_tune_result_num_points(nullptr, nullptr)),
      CALL(tidal_tune_result_point(nullptr, 0, nullptr)),
      CALL(tidal_tune_result_reasoning(nullptr, nullptr)),
      CALL(tidal_tune_result_recommended(nullptr, nullptr, nullptr, nullptr)),
      {"tidal_ulysses_all_to_all",
       [] {
         return tidal_ulysses_all_to_all(nullptr, nullptr, 1, 1, 1, TIDAL_F32,
                                         TIDAL_ULYSSES_SEQ_TO_HEADS, nullptr, nullptr);
       }},
      CALL(tidal_wait(nullptr)),
      CALL(tidal_wait_all(2, nullptr)),
  };
  EXPECT_GE(calls.size(), 95u);
  for (const Call& c : calls) {
    tidal_comm_create_local(0, nullptr, nullptr);  // leaves an unrelated message behind
    const std::string before = tidal_last_error();
    const tidal_status_t rc = c.run();
    EXPECT_EQ(rc, TIDAL_ERR_INVALID_ARGUMENT) << c.text << ": " << tidal_status_string(rc);
    const std::string message = tidal_last_error();
    EXPECT_FALSE(message.empty()) << c.text;
    EXPECT_NE(message, before) << c.text << " left the previous call's message";
  }
}

TEST(NullHandles, DestroyFreeAndCloseAcceptNull) {
  const std::vector<Call> calls = {
      CALL(tidal_ckpt_reader_close(nullptr)),      CALL(tidal_ckpt_save_free(nullptr)),
      CALL(tidal_ckpt_writer_destroy(nullptr)),    CALL(tidal_comm_destroy(nullptr)),
      CALL(tidal_comm_profile_destroy(nullptr)),   CALL(tidal_grad_reducer_destroy(nullptr)),
      CALL(tidal_param_gatherer_destroy(nullptr)), CALL(tidal_pinned_loader_destroy(nullptr)),
      CALL(tidal_pinned_pool_destroy(nullptr)),    CALL(tidal_request_free(nullptr)),
      CALL(tidal_ring_rotation_destroy(nullptr)),  CALL(tidal_tensor_list_destroy(nullptr)),
      CALL(tidal_tune_result_destroy(nullptr)),
  };
  for (const Call& c : calls) EXPECT_EQ(c.run(), TIDAL_SUCCESS) << c.text;
}

TEST(NullHandles, NameLookupsOfUnknownValuesReturnAString) {
  EXPECT_STREQ(tidal_dtype_name(static_cast<tidal_dtype_t>(999)), "unknown");
  EXPECT_EQ(tidal_dtype_size(static_cast<tidal_dtype_t>(999)), 0u);
  EXPECT_STREQ(tidal_op_name(static_cast<tidal_op_t>(999)), "unknown");
  EXPECT_STREQ(tidal_schedule_name(static_cast<tidal_schedule_t>(999)), "unknown");
  EXPECT_NE(std::string(tidal_status_string(static_cast<tidal_status_t>(999))).find("UNKNOWN"),
            std::string::npos);
  EXPECT_STREQ(tidal_comm_last_error(nullptr), "");
  EXPECT_EQ(tidal_backend_available(nullptr), 0);
  EXPECT_EQ(tidal_fp8_scale_count(4, 0), 0u);
  EXPECT_EQ(tidal_pinned_size_class(SIZE_MAX), 0u);
}

}  // namespace
