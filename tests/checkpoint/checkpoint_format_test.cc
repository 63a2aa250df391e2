// checkpoint_format_test.cc — safetensors round trips, hand-built spec
// files and rejection of corrupted files, through the C API.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "tests/checkpoint/ckpt_test_util.h"
#include "tidal/ckpt.h"

using namespace ckpt_test;

namespace {

tidal_ckpt_writer_t small_slot_writer(int direct_io) {
  tidal_ckpt_writer_config_t config = TIDAL_CKPT_WRITER_CONFIG_INITIALIZER;
  config.staging_bytes = 4 * 8192;
  config.slot_bytes = 8192;  // tensors and the header straddle slots
  config.direct_io = direct_io;
  tidal_ckpt_writer_t writer = nullptr;
  EXPECT_EQ(tidal_ckpt_writer_create(&config, &writer), TIDAL_SUCCESS) << tidal_last_error();
  return writer;
}

tidal_status_t save_async_and_wait(tidal_ckpt_writer_t writer, const std::string& path,
                                   const std::vector<OwnedTensor>& tensors, const tidal_ckpt_save_options_t* options) {
  auto v = views(tensors);
  tidal_ckpt_save_t save = nullptr;
  tidal_status_t s = tidal_ckpt_save_async(writer, path.c_str(), v.data(), v.size(), options, &save);
  if (s != TIDAL_SUCCESS) return s;
  s = tidal_ckpt_save_wait_durable(save);
  tidal_ckpt_save_free(save);
  return s;
}

}  // namespace

TEST(CheckpointRoundTrip, SyncSaveOfEveryDtypeAndShapeIsBitwiseExact) {
  TempDir dir;
  auto tensors = every_dtype_and_shape();
  auto v = views(tensors);
  ASSERT_EQ(tidal_ckpt_save_sync(dir.file("a.safetensors").c_str(), v.data(), v.size(), nullptr), TIDAL_SUCCESS)
      << tidal_last_error();
  expect_file_holds(dir.file("a.safetensors"), tensors);
}

TEST(CheckpointRoundTrip, AsyncSaveAcrossSmallSlotsIsBitwiseExactBufferedAndDirect) {
  TempDir dir;
  auto tensors = every_dtype_and_shape();
  tensors.push_back(make_tensor("large", TIDAL_F32, {1000, 37}, 99));  // spans many slots
  for (int direct = 0; direct <= 1; ++direct) {
    tidal_ckpt_writer_t writer = small_slot_writer(direct);
    std::string path = dir.file("b" + std::to_string(direct) + ".safetensors");
    ASSERT_EQ(save_async_and_wait(writer, path, tensors, nullptr), TIDAL_SUCCESS) << tidal_last_error();
    tidal_ckpt_writer_destroy(writer);
    expect_file_holds(path, tensors);
  }
}

TEST(CheckpointRoundTrip, AsyncAndSyncSavesWriteIdenticalFiles) {
  TempDir dir;
  auto tensors = every_dtype_and_shape();
  auto v = views(tensors);
  tidal_ckpt_save_options_t options = TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER;
  options.step = 12;
  ASSERT_EQ(tidal_ckpt_save_sync(dir.file("s.safetensors").c_str(), v.data(), v.size(), &options), TIDAL_SUCCESS);
  tidal_ckpt_writer_t writer = small_slot_writer(1);
  ASSERT_EQ(save_async_and_wait(writer, dir.file("a.safetensors"), tensors, &options), TIDAL_SUCCESS);
  tidal_ckpt_writer_destroy(writer);
  EXPECT_EQ(read_file(dir.file("s.safetensors")), read_file(dir.file("a.safetensors")));
}

TEST(CheckpointRoundTrip, MetadataAndStepRoundTrip) {
  TempDir dir;
  std::vector<OwnedTensor> tensors = {make_tensor("w", TIDAL_BF16, {4, 4}, 3)};
  auto v = views(tensors);
  const char* keys[] = {"optimizer", "rng"};
  const char* values[] = {"{\"lr\": 0.0001, \"betas\": [0.9, 0.999]}", "{\"seed\": 42, \"offset\": 17}"};
  tidal_ckpt_save_options_t options = TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER;
  options.step = 12345;
  options.num_metadata = 2;
  options.metadata_keys = keys;
  options.metadata_values = values;
  ASSERT_EQ(tidal_ckpt_save_sync(dir.file("m.safetensors").c_str(), v.data(), v.size(), &options), TIDAL_SUCCESS);
  tidal_ckpt_reader_t reader = nullptr;
  ASSERT_EQ(tidal_ckpt_reader_open(dir.file("m.safetensors").c_str(), 1, &reader), TIDAL_SUCCESS);
  int64_t step = 0;
  tidal_ckpt_reader_step(reader, &step);
  EXPECT_EQ(step, 12345);
  const char* value = nullptr;
  tidal_ckpt_reader_metadata(reader, "optimizer", &value);
  ASSERT_NE(value, nullptr);
  EXPECT_STREQ(value, values[0]);
  tidal_ckpt_reader_metadata(reader, "absent", &value);
  EXPECT_EQ(value, nullptr);
  tidal_ckpt_reader_close(reader);
}

TEST(CheckpointSaveArguments, DuplicateReservedAndNegativeAreRejected) {
  TempDir dir;
  std::vector<OwnedTensor> dup = {make_tensor("x", TIDAL_F32, {2}, 1), make_tensor("x", TIDAL_F32, {2}, 2)};
  auto v = views(dup);
  EXPECT_EQ(tidal_ckpt_save_sync(dir.file("d.safetensors").c_str(), v.data(), v.size(), nullptr),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("'x' is given twice"), std::string::npos);
  std::vector<OwnedTensor> meta = {make_tensor("__metadata__", TIDAL_F32, {2}, 1)};
  v = views(meta);
  EXPECT_EQ(tidal_ckpt_save_sync(dir.file("d.safetensors").c_str(), v.data(), 1, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
  int64_t bad_shape[] = {-1};
  tidal_ckpt_tensor_t neg = {"n", TIDAL_F32, 1, bad_shape, nullptr};
  EXPECT_EQ(tidal_ckpt_save_sync(dir.file("d.safetensors").c_str(), &neg, 1, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
  const char* keys[] = {"tidal.step"};
  tidal_ckpt_save_options_t options = TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER;
  options.num_metadata = 1;
  options.metadata_keys = keys;
  options.metadata_values = keys;
  std::vector<OwnedTensor> ok = {make_tensor("ok", TIDAL_F32, {1}, 1)};
  v = views(ok);
  EXPECT_EQ(tidal_ckpt_save_sync(dir.file("d.safetensors").c_str(), v.data(), 1, &options), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_FALSE(std::filesystem::exists(dir.file("d.safetensors")));
}

TEST(CheckpointSaveArguments, MissingDirectoryIsAnIoErrorAtSaveTime) {
  tidal_ckpt_writer_t writer = small_slot_writer(0);
  std::vector<OwnedTensor> tensors = {make_tensor("w", TIDAL_F32, {4}, 1)};
  auto v = views(tensors);
  tidal_ckpt_save_t save = nullptr;
  EXPECT_EQ(tidal_ckpt_save_async(writer, "/nonexistent-dir/x.safetensors", v.data(), 1, nullptr, &save),
            TIDAL_ERR_IO);
  EXPECT_NE(std::string(tidal_last_error()).find("nonexistent-dir"), std::string::npos);
  tidal_ckpt_writer_destroy(writer);
}
