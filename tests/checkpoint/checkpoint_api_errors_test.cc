// The checkpoint C API's paths no other test reached (found with a
// coverage build): polling a snapshot with tidal_ckpt_save_test_snapshot,
// reading tensors by index, and the argument errors — a bad ndim, NULL
// shape or data, an unknown dtype, a size that overflows, a name that is
// not UTF-8, NULL metadata, malformed TIDAL_CKPT_* overrides, a writer thread
// count past 64, an unknown tensor name, NULL arguments. Each is a clear
// status and leaves no file behind.
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/checkpoint/ckpt_test_util.h"
#include "tidal/ckpt.h"

namespace {

using ckpt_test::make_tensor;
using ckpt_test::OwnedTensor;
using ckpt_test::TempDir;
using ckpt_test::views;

void expect_error(tidal_status_t rc, tidal_status_t want, const char* text) {
  EXPECT_EQ(rc, want) << tidal_last_error();
  EXPECT_NE(std::string(tidal_last_error()).find(text), std::string::npos)
      << "wanted '" << text << "' in: " << tidal_last_error();
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

TEST(CheckpointApi, TestSnapshotPollsUntilTheSnapshotIsDone) {
  TempDir dir;
  tidal_ckpt_writer_t writer = nullptr;
  ASSERT_EQ(tidal_ckpt_writer_create(nullptr, &writer), TIDAL_SUCCESS) << tidal_last_error();
  std::vector<OwnedTensor> tensors = {make_tensor("w", TIDAL_F32, {1 << 16}, 3)};
  auto v = views(tensors);
  const std::string path = dir.file("poll.safetensors");
  tidal_ckpt_save_t save = nullptr;
  ASSERT_EQ(tidal_ckpt_save_async(writer, path.c_str(), v.data(), 1, nullptr, &save),
            TIDAL_SUCCESS)
      << tidal_last_error();
  int done = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done && std::chrono::steady_clock::now() < give_up) {
    ASSERT_EQ(tidal_ckpt_save_test_snapshot(save, &done), TIDAL_SUCCESS) << tidal_last_error();
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(done, 1);
  expect_error(tidal_ckpt_save_test_snapshot(save, nullptr), TIDAL_ERR_INVALID_ARGUMENT, "NULL");
  expect_error(tidal_ckpt_save_test_snapshot(nullptr, &done), TIDAL_ERR_INVALID_ARGUMENT, "NULL");
  EXPECT_EQ(tidal_ckpt_save_wait_durable(save), TIDAL_SUCCESS) << tidal_last_error();
  EXPECT_EQ(tidal_ckpt_save_free(save), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_ckpt_writer_destroy(writer), TIDAL_SUCCESS);
  ckpt_test::expect_file_holds(path, tensors);
}

TEST(CheckpointApi, TensorsByIndexAreTheFileOrderAndAgreeWithFind) {
  TempDir dir;
  std::vector<OwnedTensor> tensors = {make_tensor("a", TIDAL_F32, {3, 2}, 1),
                                      make_tensor("b", TIDAL_BF16, {5}, 2)};
  auto v = views(tensors);
  const std::string path = dir.file("idx.safetensors");
  ASSERT_EQ(tidal_ckpt_save_sync(path.c_str(), v.data(), v.size(), nullptr), TIDAL_SUCCESS)
      << tidal_last_error();
  tidal_ckpt_reader_t reader = nullptr;
  ASSERT_EQ(tidal_ckpt_reader_open(path.c_str(), 1, &reader), TIDAL_SUCCESS) << tidal_last_error();
  size_t n = 0;
  ASSERT_EQ(tidal_ckpt_reader_num_tensors(reader, &n), TIDAL_SUCCESS);
  ASSERT_EQ(n, 2u);
  for (size_t i = 0; i < n; ++i) {
    tidal_ckpt_tensor_info_t by_index, by_name;
    ASSERT_EQ(tidal_ckpt_reader_tensor(reader, i, &by_index), TIDAL_SUCCESS) << tidal_last_error();
    ASSERT_EQ(tidal_ckpt_reader_find(reader, by_index.name, &by_name), TIDAL_SUCCESS);
    EXPECT_EQ(by_index.data, by_name.data);
    EXPECT_EQ(by_index.bytes, by_name.bytes);
    EXPECT_EQ(by_index.ndim, by_name.ndim);
    EXPECT_EQ(by_index.dtype, by_name.dtype);
  }
  tidal_ckpt_tensor_info_t info;
  ASSERT_EQ(tidal_ckpt_reader_tensor(reader, 1, &info), TIDAL_SUCCESS);
  EXPECT_STREQ(info.name, "b");
  EXPECT_STREQ(info.dtype_name, "BF16");
  EXPECT_EQ(info.bytes, 10u);
  expect_error(tidal_ckpt_reader_tensor(reader, 2, &info), TIDAL_ERR_INVALID_ARGUMENT,
               "index 2 >= 2 tensors");
  expect_error(tidal_ckpt_reader_tensor(reader, 0, nullptr), TIDAL_ERR_INVALID_ARGUMENT, "NULL");
  expect_error(tidal_ckpt_reader_tensor(nullptr, 0, &info), TIDAL_ERR_INVALID_ARGUMENT, "NULL");
  expect_error(tidal_ckpt_reader_find(reader, "c", &info), TIDAL_ERR_INVALID_ARGUMENT,
               "no tensor named 'c'");
  EXPECT_EQ(tidal_ckpt_reader_close(reader), TIDAL_SUCCESS);
}

TEST(CheckpointApi, BadShapesAndNullMetadataAreRejectedBeforeAnyFile) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  float x[4] = {};
  int64_t shape[] = {4};
  int64_t huge[] = {int64_t(1) << 40, int64_t(1) << 40};
  const struct {
    tidal_ckpt_tensor_t tensor;
    const char* reason;
  } bad[] = {
      {{"t", TIDAL_F32, 99, shape, x}, "bad ndim 99"},
      {{"t", TIDAL_F32, 1, nullptr, x}, "NULL shape"},
      {{"t", TIDAL_F32, 1, shape, nullptr}, "tensor 't': data is NULL"},
      {{"t", static_cast<tidal_dtype_t>(999), 1, shape, x}, "unknown dtype 999"},
      {{"t", TIDAL_F32, 2, huge, x}, "size overflows"},
      {{"t\xff", TIDAL_F32, 1, shape, x}, "must be UTF-8"},
  };
  for (const auto& c : bad) {
    expect_error(tidal_ckpt_save_sync(path.c_str(), &c.tensor, 1, nullptr),
                 TIDAL_ERR_INVALID_ARGUMENT, c.reason);
  }
  tidal_ckpt_tensor_t ok = {"t", TIDAL_F32, 1, shape, x};
  tidal_ckpt_save_options_t options = TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER;
  options.num_metadata = 1;
  expect_error(tidal_ckpt_save_sync(path.c_str(), &ok, 1, &options), TIDAL_ERR_INVALID_ARGUMENT,
               "metadata keys or values are NULL");
  const char* keys[] = {"lr", nullptr};
  const char* values[] = {"0.1", "x"};
  options.num_metadata = 2;
  options.metadata_keys = keys;
  options.metadata_values = values;
  expect_error(tidal_ckpt_save_sync(path.c_str(), &ok, 1, &options), TIDAL_ERR_INVALID_ARGUMENT,
               "metadata entry 1 is NULL");
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(CheckpointApi, MalformedEnvironmentOverridesAndTooManyWriterThreadsAreRejected) {
  tidal_ckpt_writer_t writer = nullptr;
  for (const char* name : {"TIDAL_CKPT_STAGING_BYTES", "TIDAL_CKPT_SLOT_BYTES",
                           "TIDAL_CKPT_WRITER_THREADS", "TIDAL_CKPT_DIRECT_IO"}) {
    for (const char* value : {"", "12abc", "lots"}) {
      ScopedEnv env(name, value);
      expect_error(tidal_ckpt_writer_create(nullptr, &writer), TIDAL_ERR_INVALID_ARGUMENT,
                   "is not a number");
      EXPECT_EQ(writer, nullptr) << name << "='" << value << "'";
    }
  }
  {
    ScopedEnv env("TIDAL_CKPT_WRITER_THREADS", "100");
    expect_error(tidal_ckpt_writer_create(nullptr, &writer), TIDAL_ERR_INVALID_ARGUMENT,
                 "writer_threads 100 not in [1, 64]");
  }
  tidal_ckpt_writer_config_t config = TIDAL_CKPT_WRITER_CONFIG_INITIALIZER;
  config.staging_bytes = size_t(1) << 50;  // staging that cannot be mapped: before the
  config.slot_bytes = 1 << 20;             // fix, the half-made writer joined no thread
  expect_error(tidal_ckpt_writer_create(&config, &writer), TIDAL_ERR_NO_MEMORY, "mmap");
  EXPECT_EQ(writer, nullptr);
  config = TIDAL_CKPT_WRITER_CONFIG_INITIALIZER;
  config.writer_threads = 65;
  expect_error(tidal_ckpt_writer_create(&config, &writer), TIDAL_ERR_INVALID_ARGUMENT,
               "writer_threads 65");
  EXPECT_EQ(writer, nullptr);
}

// Names that are not UTF-8 cannot go into a JSON header, manifest or
// index: a clear error from every writer (before the fix, the JSON library
// threw through the C API and ended the process).
TEST(CheckpointApi, NamesThatAreNotUtf8AreInvalidArgumentsEverywhere) {
  TempDir dir;
  float x[2] = {1, 2};
  int64_t shape[] = {2};
  tidal_ckpt_tensor_t t = {"w", TIDAL_F32, 1, shape, x};
  const char* keys[] = {"note"};
  const char* values[] = {"caf\xe9"};
  tidal_ckpt_save_options_t options = TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER;
  options.num_metadata = 1;
  options.metadata_keys = keys;
  options.metadata_values = values;
  expect_error(tidal_ckpt_save_sync(dir.file("m.safetensors").c_str(), &t, 1, &options),
               TIDAL_ERR_INVALID_ARGUMENT, "must be UTF-8");
  tidal_ckpt_writer_t writer = nullptr;
  ASSERT_EQ(tidal_ckpt_writer_create(nullptr, &writer), TIDAL_SUCCESS);
  tidal_ckpt_tensor_t bad_name = {"w\xc3", TIDAL_F32, 1, shape, x};
  tidal_ckpt_save_t save = nullptr;
  expect_error(tidal_ckpt_save_async(writer, dir.file("a.safetensors").c_str(), &bad_name, 1,
                                     nullptr, &save),
               TIDAL_ERR_INVALID_ARGUMENT, "must be UTF-8");
  EXPECT_EQ(save, nullptr);
  EXPECT_EQ(tidal_ckpt_writer_destroy(writer), TIDAL_SUCCESS);

  // A file whose name is not UTF-8, in a step directory and in an index.
  const std::string odd = "shard\xff.safetensors";
  ASSERT_EQ(tidal_ckpt_save_sync(dir.file(odd).c_str(), &t, 1, nullptr), TIDAL_SUCCESS)
      << tidal_last_error();
  expect_error(tidal_ckpt_commit(dir.path().c_str(), 7), TIDAL_ERR_INVALID_ARGUMENT,
               "must be UTF-8");
  const char* files[] = {odd.c_str()};
  expect_error(tidal_ckpt_write_index(dir.path().c_str(), "index.json", files, 1),
               TIDAL_ERR_INVALID_ARGUMENT, "shard file names must be UTF-8");
  EXPECT_FALSE(std::filesystem::exists(dir.file("index.json")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("tidal-checkpoint.json")));
}

TEST(CheckpointApi, WriteIndexRejectsNullArguments) {
  TempDir dir;
  const char* files[] = {"model-00001-of-00002.safetensors", nullptr};
  expect_error(tidal_ckpt_write_index(nullptr, "index.json", files, 1),
               TIDAL_ERR_INVALID_ARGUMENT, "NULL");
  expect_error(tidal_ckpt_write_index(dir.path().c_str(), nullptr, files, 1),
               TIDAL_ERR_INVALID_ARGUMENT, "NULL");
  expect_error(tidal_ckpt_write_index(dir.path().c_str(), "index.json", nullptr, 1),
               TIDAL_ERR_INVALID_ARGUMENT, "NULL");
  expect_error(tidal_ckpt_write_index(dir.path().c_str(), "index.json", files, 2),
               TIDAL_ERR_INVALID_ARGUMENT, "a shard file name");
  EXPECT_FALSE(std::filesystem::exists(dir.file("index.json")));
}

}  // namespace
