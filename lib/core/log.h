// log.h — NCCL_DEBUG-style logging with fmt: TIDAL_DEBUG=WARN|INFO|TRACE,
// each line prefixed "host:pid:rank tidal LEVEL". TIDAL_DEBUG_FILE sends
// it to a file instead of stderr ("%h" and "%p" expand to host and pid).
#pragma once

#include <string>

#include <fmt/format.h>

#include "lib/core/status.h"
#include "tidal/tidal.h"

namespace tidal {

int log_level();
void set_log_level(int level);
Status parse_log_level(const char* text, int* level);

// rank < 0 prints "-" for the rank.
void log_line(int level, int rank, const std::string& message);

template <typename... Args>
void log_warn(int rank, fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() >= TIDAL_LOG_WARN)
    log_line(TIDAL_LOG_WARN, rank, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_info(int rank, fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() >= TIDAL_LOG_INFO)
    log_line(TIDAL_LOG_INFO, rank, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_trace(int rank, fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() >= TIDAL_LOG_TRACE)
    log_line(TIDAL_LOG_TRACE, rank, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace tidal
