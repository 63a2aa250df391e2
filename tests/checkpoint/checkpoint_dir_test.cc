// checkpoint_dir_test.cc — step directories: commit, latest complete,
// retention of the last K, shard names and the index.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lib/checkpoint/checkpoint_dir.h"
#include "tests/checkpoint/ckpt_test_util.h"
#include "tidal/ckpt.h"

using namespace ckpt_test;

namespace {

// Saves one small file into root's step directory and optionally commits.
std::string save_step(const std::string& root, int64_t step, bool commit) {
  char dir[4096];
  EXPECT_EQ(tidal_ckpt_step_dir(root.c_str(), step, dir, sizeof dir), TIDAL_SUCCESS);
  std::vector<OwnedTensor> tensors = {make_tensor("w", TIDAL_F32, {16}, static_cast<uint64_t>(step))};
  auto v = views(tensors);
  std::string path = std::string(dir) + "/model.safetensors";
  EXPECT_EQ(tidal_ckpt_save_sync(path.c_str(), v.data(), 1, nullptr), TIDAL_SUCCESS);
  if (commit) EXPECT_EQ(tidal_ckpt_commit(dir, step), TIDAL_SUCCESS) << tidal_last_error();
  return dir;
}

int64_t latest(const std::string& root) {
  int64_t step = -2;
  EXPECT_EQ(tidal_ckpt_find_latest(root.c_str(), &step, nullptr, 0), TIDAL_SUCCESS);
  return step;
}

}  // namespace

TEST(CheckpointDirectory, LatestIsTheNewestCommittedStepNeverAnUncommittedOne) {
  TempDir root;
  EXPECT_EQ(latest(root.path()), -1);  // nothing yet
  save_step(root.path(), 10, true);
  save_step(root.path(), 20, true);
  save_step(root.path(), 30, false);  // crashed before commit
  EXPECT_EQ(latest(root.path()), 20);
}

TEST(CheckpointDirectory, StepWithAMissingOrResizedFileIsNotComplete) {
  TempDir root;
  save_step(root.path(), 1, true);
  std::string dir2 = save_step(root.path(), 2, true);
  std::filesystem::resize_file(dir2 + "/model.safetensors", 10);
  EXPECT_EQ(latest(root.path()), 1);
  std::string dir3 = save_step(root.path(), 3, true);
  std::filesystem::remove(dir3 + "/model.safetensors");
  EXPECT_EQ(latest(root.path()), 1);
  EXPECT_EQ(tidal::ckpt::check_checkpoint(dir3, false).code(), TIDAL_ERR_IO);
}

TEST(CheckpointDirectory, RetentionKeepsTheLastKAndRemovesCrashLeftovers) {
  TempDir root;
  save_step(root.path(), 1, true);
  save_step(root.path(), 2, false);  // left by a crash, older than a complete step
  save_step(root.path(), 3, true);
  save_step(root.path(), 4, true);
  save_step(root.path(), 5, true);
  save_step(root.path(), 6, false);  // may be in progress: kept
  std::vector<std::string> removed;
  ASSERT_TRUE(tidal::ckpt::retain_checkpoints(root.path(), 2, &removed).ok());
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(root.path())) left.push_back(e.path().filename());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"step-0000000004", "step-0000000005", "step-0000000006"}));
  EXPECT_EQ(removed.size(), 3u);
  EXPECT_EQ(latest(root.path()), 5);
  EXPECT_EQ(tidal_ckpt_retain(root.path().c_str(), 0), TIDAL_ERR_INVALID_ARGUMENT);
}

TEST(CheckpointDirectory, ShardNamesAndIndexFollowTheHuggingFaceConvention) {
  TempDir dir;
  char name[256];
  ASSERT_EQ(tidal_ckpt_shard_name("model", 1, 4, name, sizeof name), TIDAL_SUCCESS);
  EXPECT_STREQ(name, "model-00002-of-00004.safetensors");
  EXPECT_EQ(tidal_ckpt_shard_name("model", 4, 4, name, sizeof name), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_ckpt_shard_name("model", 0, 4, name, 8), TIDAL_ERR_INVALID_ARGUMENT);
  std::vector<std::string> files;
  for (int rank = 0; rank < 2; ++rank) {
    std::vector<OwnedTensor> shard = {make_tensor("layer" + std::to_string(rank) + ".w", TIDAL_F32, {8}, 1),
                                      make_tensor("layer" + std::to_string(rank) + ".b", TIDAL_F32, {2}, 2)};
    auto v = views(shard);
    tidal_ckpt_shard_name("model", rank, 2, name, sizeof name);
    files.push_back(name);
    ASSERT_EQ(tidal_ckpt_save_sync(dir.file(name).c_str(), v.data(), v.size(), nullptr), TIDAL_SUCCESS);
  }
  const char* names[] = {files[0].c_str(), files[1].c_str()};
  ASSERT_EQ(tidal_ckpt_write_index(dir.path().c_str(), "model.safetensors.index.json", names, 2), TIDAL_SUCCESS)
      << tidal_last_error();
  std::vector<std::pair<std::string, std::string>> map;
  ASSERT_TRUE(tidal::ckpt::read_shard_index(dir.file("model.safetensors.index.json"), &map).ok());
  std::sort(map.begin(), map.end());
  ASSERT_EQ(map.size(), 4u);
  EXPECT_EQ(map[0], std::make_pair(std::string("layer0.b"), files[0]));
  EXPECT_EQ(map[3], std::make_pair(std::string("layer1.w"), files[1]));
  // The same shard twice puts every tensor in two files.
  const char* twice[] = {files[0].c_str(), files[0].c_str()};
  EXPECT_EQ(tidal_ckpt_write_index(dir.path().c_str(), "bad.json", twice, 2), TIDAL_ERR_CORRUPT);
}

// What the directory layer reads back is validated: a manifest that is not
// one, data damaged in place (the size still matches: only a verifying
// check finds it), and an index that is not one.
TEST(CheckpointDirectory, DamagedManifestsDataAndIndexesAreCorruptWithTheReason) {
  TempDir root;
  const std::string dir1 = save_step(root.path(), 1, true);
  const std::string dir2 = save_step(root.path(), 2, true);
  std::string manifest;
  for (const auto& e : std::filesystem::directory_iterator(dir2)) {
    if (e.path().extension() == ".json") manifest = e.path().string();
  }
  ASSERT_FALSE(manifest.empty());
  std::ofstream(manifest, std::ios::trunc) << "[1, 2]";
  tidal::Status s = tidal::ckpt::check_checkpoint(dir2, false);
  EXPECT_EQ(s.code(), TIDAL_ERR_CORRUPT);
  EXPECT_NE(s.message().find("is not a tidal manifest"), std::string::npos) << s.message();
  EXPECT_EQ(latest(root.path()), 1) << "the damaged step is skipped";

  {  // flip one data byte of step 1's file (the last byte: tensor data)
    std::fstream f(dir1 + "/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-1, std::ios::end);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x40);
    f.seekp(-1, std::ios::end);
    f.write(&c, 1);
  }
  EXPECT_TRUE(tidal::ckpt::check_checkpoint(dir1, false).ok()) << "sizes alone still match";
  s = tidal::ckpt::check_checkpoint(dir1, true);
  EXPECT_EQ(s.code(), TIDAL_ERR_CORRUPT);
  EXPECT_NE(s.message().find("tensor 'w' fails its checksum"), std::string::npos) << s.message();

  std::vector<std::pair<std::string, std::string>> map;
  const std::string index = root.file("index.json");
  std::ofstream(index, std::ios::trunc) << R"({"metadata": {}})";
  s = tidal::ckpt::read_shard_index(index, &map);
  EXPECT_EQ(s.code(), TIDAL_ERR_CORRUPT);
  EXPECT_NE(s.message().find("is not a safetensors index"), std::string::npos) << s.message();
  std::ofstream(index, std::ios::trunc) << R"({"weight_map": {"a": 3}})";
  s = tidal::ckpt::read_shard_index(index, &map);
  EXPECT_EQ(s.code(), TIDAL_ERR_CORRUPT);
  EXPECT_NE(s.message().find("tensor 'a' maps to a non-string"), std::string::npos) << s.message();
}
