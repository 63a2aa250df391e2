// checkpoint_async_test.cc — the async writer: the snapshot really is a
// snapshot, saves queue and all land, a full disk is an error that leaves
// the previous checkpoint intact.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "tests/checkpoint/ckpt_test_util.h"
#include "tidal/ckpt.h"

using namespace ckpt_test;

namespace {

tidal_ckpt_writer_t make_writer(size_t staging, size_t slot) {
  tidal_ckpt_writer_config_t config = TIDAL_CKPT_WRITER_CONFIG_INITIALIZER;
  config.staging_bytes = staging;
  config.slot_bytes = slot;
  tidal_ckpt_writer_t writer = nullptr;
  EXPECT_EQ(tidal_ckpt_writer_create(&config, &writer), TIDAL_SUCCESS) << tidal_last_error();
  return writer;
}

bool file_holds_tensor(const std::string& path, const OwnedTensor& t) {
  tidal_ckpt_reader_t reader = nullptr;
  if (tidal_ckpt_reader_open(path.c_str(), 1, &reader) != TIDAL_SUCCESS) return false;
  tidal_ckpt_tensor_info_t info;
  bool same = tidal_ckpt_reader_find(reader, t.name.c_str(), &info) == TIDAL_SUCCESS &&
              info.bytes == t.bytes.size() && memcmp(info.data, t.bytes.data(), info.bytes) == 0;
  tidal_ckpt_reader_close(reader);
  return same;
}

size_t temp_files_in(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST(CheckpointAsync, ModifyingTensorsAfterSnapshotCompleteDoesNotChangeTheFile) {
  TempDir dir;
  // 8 MiB through a 64 KiB ring: when the snapshot completes, up to a
  // ring's worth of bytes still waits for the disk; those must come from
  // staging, not from the (since modified) tensor.
  OwnedTensor t = make_tensor("weights", TIDAL_F32, {2 * 1024 * 1024}, 7);
  const OwnedTensor original = t;
  tidal_ckpt_writer_t writer = make_writer(64 * 1024, 16 * 1024);
  tidal_ckpt_tensor_t view = t.view();
  tidal_ckpt_save_t save = nullptr;
  ASSERT_EQ(tidal_ckpt_save_async(writer, dir.file("w.safetensors").c_str(), &view, 1, nullptr, &save), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_ckpt_save_wait_snapshot(save), TIDAL_SUCCESS);
  memset(t.bytes.data(), 0xAB, t.bytes.size());  // the optimizer step
  ASSERT_EQ(tidal_ckpt_save_wait_durable(save), TIDAL_SUCCESS) << tidal_last_error();
  int done = 0;
  EXPECT_EQ(tidal_ckpt_save_test_durable(save, &done), TIDAL_SUCCESS);
  EXPECT_EQ(done, 1);
  tidal_ckpt_save_free(save);
  tidal_ckpt_writer_destroy(writer);
  EXPECT_TRUE(file_holds_tensor(dir.file("w.safetensors"), original));
}

TEST(CheckpointAsync, QueuedSavesOfModelEmaAndOptimizerAllBecomeDurable) {
  TempDir dir;
  std::vector<OwnedTensor> states = {make_tensor("model", TIDAL_BF16, {300, 500}, 1),
                                     make_tensor("ema", TIDAL_F32, {300, 500}, 2),
                                     make_tensor("exp_avg", TIDAL_F32, {300, 500}, 3),
                                     make_tensor("exp_avg_sq", TIDAL_F32, {300, 500}, 4)};
  tidal_ckpt_writer_t writer = make_writer(256 * 1024, 64 * 1024);
  std::vector<tidal_ckpt_save_t> saves(states.size());
  for (size_t i = 0; i < states.size(); ++i) {
    tidal_ckpt_tensor_t view = states[i].view();
    ASSERT_EQ(tidal_ckpt_save_async(writer, dir.file(states[i].name + ".safetensors").c_str(), &view, 1, nullptr,
                                    &saves[i]),
              TIDAL_SUCCESS);
  }
  for (tidal_ckpt_save_t s : saves) EXPECT_EQ(tidal_ckpt_save_wait_snapshot(s), TIDAL_SUCCESS);
  tidal_ckpt_writer_destroy(writer);  // waits for every queued save
  for (size_t i = 0; i < states.size(); ++i) {
    int done = 0;
    EXPECT_EQ(tidal_ckpt_save_test_durable(saves[i], &done), TIDAL_SUCCESS);
    EXPECT_EQ(done, 1);
    tidal_ckpt_save_free(saves[i]);
    EXPECT_TRUE(file_holds_tensor(dir.file(states[i].name + ".safetensors"), states[i])) << states[i].name;
  }
  EXPECT_EQ(temp_files_in(dir.path()), 0u);
}

// In a child process (the file-size limit must not leak into the test
// runner): save v1, cap the file size, try to save v2 over it.
TEST(CheckpointAsync, DiskFullSaveFailsAndKeepsThePreviousCheckpoint) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  OwnedTensor v1 = make_tensor("w", TIDAL_F32, {1024}, 1);
  OwnedTensor v2 = make_tensor("w", TIDAL_F32, {256 * 1024}, 2);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of death, like a full disk's ENOSPC
    tidal_ckpt_tensor_t view = v1.view();
    if (tidal_ckpt_save_sync(path.c_str(), &view, 1, nullptr) != TIDAL_SUCCESS) _exit(10);
    struct rlimit limit = {64 * 1024, 64 * 1024};
    setrlimit(RLIMIT_FSIZE, &limit);
    view = v2.view();
    tidal_ckpt_writer_t writer = make_writer(64 * 1024, 16 * 1024);
    tidal_ckpt_save_t save = nullptr;
    if (tidal_ckpt_save_async(writer, path.c_str(), &view, 1, nullptr, &save) != TIDAL_SUCCESS) _exit(11);
    if (tidal_ckpt_save_wait_durable(save) != TIDAL_ERR_IO) _exit(12);
    if (!strstr(tidal_last_error(), "model.safetensors")) _exit(13);
    tidal_ckpt_save_free(save);
    tidal_ckpt_writer_destroy(writer);
    if (tidal_ckpt_save_sync(path.c_str(), &view, 1, nullptr) != TIDAL_ERR_IO) _exit(14);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child failed at check " << WEXITSTATUS(status);
  EXPECT_TRUE(file_holds_tensor(path, v1));
  EXPECT_EQ(temp_files_in(dir.path()), 0u);
}

TEST(CheckpointAsync, BadWriterConfigIsRejected) {
  tidal_ckpt_writer_config_t config = TIDAL_CKPT_WRITER_CONFIG_INITIALIZER;
  config.slot_bytes = 1000;  // not a multiple of 4096
  tidal_ckpt_writer_t writer = nullptr;
  EXPECT_EQ(tidal_ckpt_writer_create(&config, &writer), TIDAL_ERR_INVALID_ARGUMENT);
  config.slot_bytes = 1 << 20;
  config.staging_bytes = 1 << 20;  // room for one slot only
  EXPECT_EQ(tidal_ckpt_writer_create(&config, &writer), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("two slots"), std::string::npos);
}
