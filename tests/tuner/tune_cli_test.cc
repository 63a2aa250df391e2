// tidal-tune's command line: impossible inputs exit non-zero with a message;
// an offline run prints the table and writes the CSV; a tiny live run on 2
// local ranks measures.
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace {

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CliRun run_tune(const std::string& args) {
  std::string command = std::string(TIDAL_TUNE_PATH) + " --quiet " + args + " 2>&1";
  CliRun r;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) r.output.append(buf, n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A directory of this process's own (two suites, a sanitizer build's and a
// plain one's, may run at once), removed when the process exits.
struct ProcessTempDir {
  std::string path;
  ProcessTempDir() {
    std::string pattern = ::testing::TempDir() + "tidal_tune_cli_XXXXXX";
    if (::mkdtemp(&pattern[0])) path = pattern + "/";
  }
  ~ProcessTempDir() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
};

std::string temp_path(const std::string& name) {
  static ProcessTempDir dir;
  return dir.path + name;
}

void expect_input_error(const std::string& args, const std::string& message) {
  CliRun r = run_tune(args);
  EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
}

const char* kOffline = " --alpha-us 20 --beta-GBps 5 --no-plot";

TEST(TuneCli, ZeroOrNegativeBackwardTimeExitsWithAnInputError) {
  expect_input_error(std::string("--model dit-s --bwd-ms 0") + kOffline, "--bwd-ms must be > 0");
  expect_input_error(std::string("--model dit-s --bwd-ms -5") + kOffline, "--bwd-ms must be > 0");
  expect_input_error(std::string("--model dit-s --bwd-ms 10 --fwd-ms 0 --zero 3") + kOffline,
                     "--fwd-ms");
}

TEST(TuneCli, ZeroPhiExitsWithAnInputError) {
  expect_input_error(std::string("--model-bytes 0 --bwd-ms 10") + kOffline, "phi");
}

TEST(TuneCli, UnknownModelExitsWithAnInputError) {
  expect_input_error(std::string("--model dit-q --bwd-ms 10") + kOffline, "unknown model");
}

TEST(TuneCli, EmptyProfileExitsWithAnInputError) {
  std::string path = temp_path("empty.csv");
  std::ofstream(path) << "# nothing measured\n";
  expect_input_error("--model dit-s --bwd-ms 10 --no-plot --profile " + path, "empty profile");
}

TEST(TuneCli, MissingBackwardTimeExitsNonZero) {
  CliRun r = run_tune("--model dit-s");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--bwd-ms"), std::string::npos) << r.output;
}

TEST(TuneCli, OfflineRunPrintsTheTableAndWritesTheCsv) {
  std::string csv = temp_path("offline.csv");
  std::remove(csv.c_str());
  CliRun r = run_tune(std::string("--model dit-b --bwd-ms 200") + kOffline + " --csv " + csv);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("recommended bucket size"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("<- recommended"), std::string::npos) << r.output;
  std::ifstream in(csv);
  std::string header, row;
  ASSERT_TRUE(std::getline(in, header));
  EXPECT_EQ(header.rfind("bucket_bytes,", 0), 0u);
  int rows = 0, recommended = 0;
  while (std::getline(in, row)) {
    ++rows;
    if (row.size() >= 2 && row.compare(row.size() - 2, 2, ",1") == 0) ++recommended;
  }
  EXPECT_GT(rows, 8);
  EXPECT_EQ(recommended, 1);
}

TEST(TuneCli, ProfileFileIsUsed) {
  std::string path = temp_path("profile.csv");
  std::ofstream(path) << "collective,bytes,seconds\nreduce_scatter,1048576,0.001\n"
                         "reduce_scatter,16777216,0.01\n";
  CliRun r = run_tune("--model-bytes 256M --bwd-ms 300 --no-plot --csv " + temp_path("p.csv") +
                   " --profile " + path);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("profile from"), std::string::npos) << r.output;
}

TEST(TuneCli, ProfileFileAloneColumnIsUsedAndChecked) {
  // The same queued curve with and without 0.5 s alone times: a compute-
  // bound step then ends 0.5 s after the backward instead of milliseconds.
  std::string queued = "reduce_scatter,1048576,0.001\nreduce_scatter,16777216,0.01\n";
  std::string with_alone = "reduce_scatter,1048576,0.001,0.5\nreduce_scatter,16777216,0.01,0.5\n";
  std::ofstream(temp_path("q.csv")) << queued;
  std::ofstream(temp_path("a.csv")) << with_alone;
  const std::string args = "--model-bytes 256M --bwd-ms 3000 --no-plot --csv /dev/null "
                           "--profile ";
  CliRun q = run_tune(args + temp_path("q.csv"));
  CliRun a = run_tune(args + temp_path("a.csv"));
  ASSERT_EQ(q.exit_code, 0) << q.output;
  ASSERT_EQ(a.exit_code, 0) << a.output;
  EXPECT_NE(a.output.find("predicted: 500.00 ms exposed"), std::string::npos) << a.output;
  EXPECT_EQ(q.output.find("predicted: 500.00 ms exposed"), std::string::npos) << q.output;
  std::ofstream(temp_path("bad.csv")) << "reduce_scatter,1048576,0.001,fast\n";
  expect_input_error(args + temp_path("bad.csv"), "alone_seconds");
}

TEST(TuneCli, ProfileFilePackColumnStretchesTheBackward) {
  // 256 MiB in 30 ms; packing a 16 MiB bucket takes 10 ms of the marking
  // thread, so 16+ buckets need 160+ ms whatever the collectives do.
  std::ofstream(temp_path("pack.csv")) << "reduce_scatter,1048576,0.0001,0.0001,0.000625\n"
                                          "reduce_scatter,16777216,0.001,0.001,0.01\n";
  CliRun r = run_tune("--model-bytes 256M --bwd-ms 30 --no-plot --csv /dev/null --profile " +
                      temp_path("pack.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const size_t at = r.output.find("predicted: ");
  ASSERT_NE(at, std::string::npos) << r.output;
  EXPECT_GT(std::stod(r.output.substr(at + 11)), 120.0) << r.output;
  std::ofstream(temp_path("badpack.csv")) << "reduce_scatter,1048576,0.001,0.001,-1\n";
  expect_input_error("--model-bytes 256M --bwd-ms 30 --no-plot --csv /dev/null --profile " +
                         temp_path("badpack.csv"), "pack_seconds");
}

TEST(TuneCli, LiveRunOnTwoLocalRanksMeasures) {
  std::string saved = temp_path("saved.csv");
  std::remove(saved.c_str());
  CliRun r = run_tune("--model-bytes 2M --bwd-ms 10 --backend local -t 2 --reps 1 --steps 1 "
                   "--profile-sizes 256K,1M --no-plot --csv " + temp_path("live.csv") +
                   " --save-profile " + saved);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Saved: collective, bytes, queued, alone and pack seconds; read back.
  std::ifstream in(saved);
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 4) << line;
    ++rows;
  }
  EXPECT_GE(rows, 2);  // the sizes asked for (and phi)
  CliRun again = run_tune("--model-bytes 2M --bwd-ms 10 --no-plot --csv /dev/null --profile " +
                          saved);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(r.output.find("profile and steps measured on local, 2 ranks"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("measured 5 sizes"), std::string::npos) << r.output;
}

}  // namespace
