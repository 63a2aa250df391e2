// TIDAL_DEBUG logging: ctest runs this with TIDAL_DEBUG=INFO and
// TIDAL_DEBUG_FILE set (see CMakeLists.txt).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tidal/local.h"

namespace {

TEST(Log, InfoLinesArePrefixedWithHostPidAndRank) {
  const char* path = std::getenv("TIDAL_DEBUG_FILE");
  ASSERT_NE(path, nullptr) << "run through ctest (it sets TIDAL_DEBUG_FILE)";
  tidal_comm_t comms[2];
  ASSERT_EQ(tidal_comm_create_local(2, nullptr, comms), TIDAL_SUCCESS);
  for (auto c : comms) tidal_comm_destroy(c);
  std::string file(path);
  file.replace(file.find("%p"), 2, std::to_string(getpid()));
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  std::string h(host);
  h = h.substr(0, h.find('.'));
  std::string want = h + ":" + std::to_string(getpid()) + ":1 tidal INFO communicator: backend local rank 1/2";
  EXPECT_NE(text.str().find(want), std::string::npos) << "log was:\n" << text.str();
}

}  // namespace
