// checkpoint_crash_test.cc — crash safety: a trainer process that saves,
// commits and prunes checkpoints in a loop is killed with SIGKILL at random
// moments; after every kill the latest complete checkpoint must load, pass
// its checksums and hold exactly the state of its step.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

#include "tests/checkpoint/ckpt_test_util.h"
#include "tidal/ckpt.h"

using namespace ckpt_test;

namespace {

// The state of a step: two files (model and optimizer), step-dependent bytes.
std::vector<OwnedTensor> model_state(int64_t step) {
  return {make_tensor("blocks.0.attn.qkv.weight", TIDAL_BF16, {384, 1152}, step * 10 + 1),
          make_tensor("blocks.0.mlp.fc1.weight", TIDAL_F32, {256, 1024}, step * 10 + 2)};
}
std::vector<OwnedTensor> optimizer_state(int64_t step) {
  return {make_tensor("exp_avg", TIDAL_F32, {300, 1000}, step * 10 + 3),
          make_tensor("exp_avg_sq", TIDAL_F32, {300, 1000}, step * 10 + 4)};
}

// The trainer: resume after the latest complete step, then save forever.
[[noreturn]] void trainer(const std::string& root) {
  int64_t step = -1;
  tidal_ckpt_find_latest(root.c_str(), &step, nullptr, 0);
  tidal_ckpt_writer_config_t config = TIDAL_CKPT_WRITER_CONFIG_INITIALIZER;
  config.staging_bytes = 512 * 1024;
  config.slot_bytes = 128 * 1024;
  tidal_ckpt_writer_t writer = nullptr;
  if (tidal_ckpt_writer_create(&config, &writer) != TIDAL_SUCCESS) _exit(2);
  for (++step;; ++step) {
    char dir[4096];
    if (tidal_ckpt_step_dir(root.c_str(), step, dir, sizeof dir) != TIDAL_SUCCESS) _exit(3);
    auto model = model_state(step), optimizer = optimizer_state(step);
    auto mv = views(model), ov = views(optimizer);
    tidal_ckpt_save_options_t options = TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER;
    options.step = step;
    tidal_ckpt_save_t saves[2];
    std::string model_path = std::string(dir) + "/model.safetensors";
    std::string optimizer_path = std::string(dir) + "/optimizer.safetensors";
    if (tidal_ckpt_save_async(writer, model_path.c_str(), mv.data(), mv.size(), &options, &saves[0]) ||
        tidal_ckpt_save_async(writer, optimizer_path.c_str(), ov.data(), ov.size(), &options, &saves[1]))
      _exit(4);
    for (tidal_ckpt_save_t s : saves) {
      if (tidal_ckpt_save_wait_durable(s) != TIDAL_SUCCESS) _exit(5);
      tidal_ckpt_save_free(s);
    }
    if (tidal_ckpt_commit(dir, step) != TIDAL_SUCCESS) _exit(6);
    if (tidal_ckpt_retain(root.c_str(), 2) != TIDAL_SUCCESS) _exit(7);
  }
}

// Loads every tensor of `file` with checksums and compares with `expected`.
void expect_state(const std::string& file, const std::vector<OwnedTensor>& expected, int64_t step) {
  tidal_ckpt_reader_t reader = nullptr;
  ASSERT_EQ(tidal_ckpt_reader_open(file.c_str(), 1, &reader), TIDAL_SUCCESS) << tidal_last_error();
  int64_t recorded = -1;
  tidal_ckpt_reader_step(reader, &recorded);
  EXPECT_EQ(recorded, step);
  for (const OwnedTensor& t : expected) {
    tidal_ckpt_tensor_info_t info;
    ASSERT_EQ(tidal_ckpt_reader_find(reader, t.name.c_str(), &info), TIDAL_SUCCESS);
    ASSERT_EQ(info.bytes, t.bytes.size());
    EXPECT_EQ(memcmp(info.data, t.bytes.data(), info.bytes), 0) << file << " " << t.name;
  }
  tidal_ckpt_reader_close(reader);
}

// Starts the trainer and kills it once it has committed its first step:
// returns how long that took (so kill times scale with the build's speed,
// e.g. under TSan), or a negative number if it never did within 20 s.
double first_commit_seconds(const std::string& root) {
  pid_t pid = fork();
  if (pid == 0) trainer(root);
  auto t0 = std::chrono::steady_clock::now();
  double elapsed = -1;
  for (;;) {
    int64_t step = -1;
    tidal_ckpt_find_latest(root.c_str(), &step, nullptr, 0);
    double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (step >= 0 || now > 20) {
      elapsed = step >= 0 ? now : -1;
      break;
    }
    usleep(2000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return elapsed;
}

}  // namespace

TEST(CheckpointCrashSafety, SigkillAtRandomPointsNeverBreaksTheLatestCompleteCheckpoint) {
  TempDir root;
  const double step_seconds = first_commit_seconds(root.path());
  ASSERT_GT(step_seconds, 0) << "the trainer never committed a checkpoint";
  // Kill points spread over about two saves; enough kills to hit every
  // phase (copy, write, fsync, rename, commit, retention) many times, but
  // bounded to ~10 s of trainer time.
  std::mt19937 rng(20261129);
  std::uniform_int_distribution<int> delay_us(0, static_cast<int>(2e6 * step_seconds));
  const int kills = std::max(10, std::min(40, static_cast<int>(10.0 / step_seconds)));
  int64_t last_seen = -1;
  for (int kill_index = 0; kill_index < kills; ++kill_index) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) trainer(root.path());
    usleep(static_cast<useconds_t>(delay_us(rng)));
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the trainer stopped by itself with " << WEXITSTATUS(status);
    int64_t step = -1;
    char dir[4096];
    ASSERT_EQ(tidal_ckpt_find_latest(root.path().c_str(), &step, dir, sizeof dir), TIDAL_SUCCESS);
    ASSERT_GE(step, 0) << "the first complete checkpoint went missing";
    EXPECT_GE(step, last_seen) << "a newer complete checkpoint went missing";
    last_seen = step;
    SCOPED_TRACE("step " + std::to_string(step) + " after kill " + std::to_string(kill_index));
    expect_state(std::string(dir) + "/model.safetensors", model_state(step), step);
    expect_state(std::string(dir) + "/optimizer.safetensors", optimizer_state(step), step);
  }
  RecordProperty("kills", kills);
  RecordProperty("last_step", static_cast<int>(last_seen));
}
