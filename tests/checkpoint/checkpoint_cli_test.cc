// checkpoint_cli_test.cc — tidal-ckpt's exit codes and findings: verify is
// 0 only for a sound file or checkpoint, diff names what changed.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "tests/checkpoint/ckpt_test_util.h"
#include "tidal/ckpt.h"

using namespace ckpt_test;

namespace {

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

CliRun run_cli(const std::string& args) {
  std::string command = std::string(TIDAL_CKPT_CLI) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  CliRun run{-1, ""};
  if (!pipe) return run;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.output.append(buffer.data(), n);
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string save(const TempDir& dir, const std::string& name, const std::vector<OwnedTensor>& tensors) {
  auto v = views(tensors);
  std::string path = dir.file(name);
  EXPECT_EQ(tidal_ckpt_save_sync(path.c_str(), v.data(), v.size(), nullptr), TIDAL_SUCCESS);
  return path;
}

}  // namespace

TEST(TidalCkptCli, VerifyIsZeroForASoundFileAndOneNamingTheTensorForACorruptOne) {
  TempDir dir;
  std::string path = save(dir, "m.safetensors", {make_tensor("weight", TIDAL_F32, {100}, 1)});
  CliRun ok = run_cli("verify " + path);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("1 checksums verified"), std::string::npos) << ok.output;
  auto bytes = read_file(path);
  bytes.back() ^= 1;
  write_file(path, bytes);
  CliRun bad = run_cli("verify " + path);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("tensor 'weight' fails its checksum"), std::string::npos) << bad.output;
  EXPECT_EQ(run_cli("verify " + dir.file("missing.safetensors")).exit_code, 2);
  EXPECT_EQ(run_cli("frobnicate").exit_code, 2);
}

TEST(TidalCkptCli, DiffReportsChangedTensorsAndHowMuch) {
  TempDir dir;
  OwnedTensor w = make_tensor("w", TIDAL_F32, {4}, 1);
  for (int i = 0; i < 4; ++i) reinterpret_cast<float*>(w.bytes.data())[i] = static_cast<float>(i);
  std::string a = save(dir, "a.safetensors", {w, make_tensor("same", TIDAL_I32, {3}, 2)});
  reinterpret_cast<float*>(w.bytes.data())[2] = 2.5f;
  std::string b = save(dir, "b.safetensors", {w, make_tensor("same", TIDAL_I32, {3}, 2),
                                              make_tensor("extra", TIDAL_U8, {1}, 3)});
  CliRun diff = run_cli("diff " + a + " " + b);
  EXPECT_EQ(diff.exit_code, 1);
  EXPECT_NE(diff.output.find("differs: w: 1 of 4 elements, max |a-b| = 0.5 at element 2"), std::string::npos)
      << diff.output;
  EXPECT_NE(diff.output.find("only in B: extra"), std::string::npos) << diff.output;
  EXPECT_NE(diff.output.find("1 tensors identical"), std::string::npos) << diff.output;
  EXPECT_EQ(run_cli("diff " + a + " " + a).exit_code, 0);
}

TEST(TidalCkptCli, VerifyOfACheckpointRootSkipsIncompleteStepsAndChecksComplete) {
  TempDir root;
  char dir[4096];
  ASSERT_EQ(tidal_ckpt_step_dir(root.path().c_str(), 1, dir, sizeof dir), TIDAL_SUCCESS);
  std::vector<OwnedTensor> t = {make_tensor("w", TIDAL_BF16, {8, 8}, 1)};
  auto v = views(t);
  ASSERT_EQ(tidal_ckpt_save_sync((std::string(dir) + "/model.safetensors").c_str(), v.data(), 1, nullptr), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_ckpt_commit(dir, 1), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_ckpt_step_dir(root.path().c_str(), 2, dir, sizeof dir), TIDAL_SUCCESS);  // never committed
  CliRun verify = run_cli("verify " + root.path());
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find("SKIP"), std::string::npos) << verify.output;
  CliRun ls = run_cli("ls " + root.path());
  EXPECT_EQ(ls.exit_code, 0) << ls.output;
  EXPECT_NE(ls.output.find("latest complete checkpoint: " + root.path() + "/step-0000000001"), std::string::npos)
      << ls.output;
}
