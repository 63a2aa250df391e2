#include "lib/core/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace tidal {
namespace {

int level_from_env() {
  int level = TIDAL_LOG_WARN;
  if (const char* v = std::getenv("TIDAL_DEBUG")) {
    if (!parse_log_level(v, &level).ok()) level = TIDAL_LOG_WARN;
  }
  return level;
}

std::atomic<int>& level_ref() {
  static std::atomic<int> level{level_from_env()};
  return level;
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "?";
  if (char* dot = std::strchr(buf, '.')) *dot = '\0';
  return buf;
}

FILE* open_sink() {
  const char* path = std::getenv("TIDAL_DEBUG_FILE");
  if (!path || !*path) return stderr;
  std::string name;
  for (const char* p = path; *p; ++p) {
    if (p[0] == '%' && p[1] == 'h') { name += host_name(); ++p; }
    else if (p[0] == '%' && p[1] == 'p') { name += std::to_string(getpid()); ++p; }
    else name += *p;
  }
  FILE* f = std::fopen(name.c_str(), "a");
  return f ? f : stderr;
}

}  // namespace

int log_level() { return level_ref().load(std::memory_order_relaxed); }

void set_log_level(int level) { level_ref().store(level); }

Status parse_log_level(const char* text, int* level) {
  struct Name { const char* name; int level; };
  static const Name names[] = {{"NONE", TIDAL_LOG_NONE}, {"WARN", TIDAL_LOG_WARN},
                               {"INFO", TIDAL_LOG_INFO}, {"TRACE", TIDAL_LOG_TRACE}};
  for (const Name& n : names) {
    if (strcasecmp(text, n.name) == 0) {
      *level = n.level;
      return Status();
    }
  }
  return Status(TIDAL_ERR_INVALID_ARGUMENT,
                fmt::format("TIDAL_DEBUG='{}' (use NONE, WARN, INFO or TRACE)", text));
}

void log_line(int level, int rank, const std::string& message) {
  static const std::string host = host_name();
  static FILE* sink = open_sink();
  static std::mutex mu;
  static const char* const names[] = {"NONE", "WARN", "INFO", "TRACE"};
  std::string r = rank < 0 ? "-" : std::to_string(rank);
  std::lock_guard<std::mutex> lock(mu);
  fmt::print(sink, "{}:{}:{} tidal {} {}\n", host, getpid(), r,
             names[level < 0 || level > 3 ? 0 : level], message);
  std::fflush(sink);
}

}  // namespace tidal
