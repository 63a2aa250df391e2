// config.h — the resolved configuration of a communicator: the user's
// tidal_config_t merged with TIDAL_* environment variables and defaults.
#pragma once

#include <string>
#include <vector>

#include "lib/core/status.h"
#include "tidal/tidal.h"

namespace tidal {

struct Config {
  double timeout_s = 300.0;
  int log_level = TIDAL_LOG_WARN;
  int schedule = TIDAL_SCHEDULE_NATIVE;
  size_t bucket_bytes = size_t(25) << 20;  // 0 = "auto" (tuner decides)
  size_t first_bucket_bytes = size_t(1) << 20;
  std::string topology;  // "" = detect
  bool check_args = false;
  // How the torus2d and ndring schedules run each phase
  // (TIDAL_SCHEDULE_PHASES): kPhasesAuto = the backend's native collective
  // on the dim's sub-communicator where that is faster than rings of its
  // messages (Transport::native_phases_faster: local threads below 2 MiB),
  // else rings;
  // kPhasesP2p = always rings; kPhasesNative = native wherever the backend
  // has native collectives.
  int schedule_phases = 0;
  // Bucketed collectives on a transport that reads peer memory take the
  // tensors as runs where they live, with no pack pass (TIDAL_DIRECT_BUCKETS).
  bool direct_buckets = true;
};

constexpr int kPhasesAuto = 0, kPhasesP2p = 1, kPhasesNative = 2;

// Merges `user` (may be NULL) over `base` (defaults or a parent's config),
// then applies the environment. Rejects a config that was not made with
// TIDAL_CONFIG_INITIALIZER, and malformed environment values.
Status resolve_config(const tidal_config_t* user, const Config& base,
                      Config* out);

// Writes `config` into a user struct (fields that exist in its size).
Status export_config(const Config& config, tidal_config_t* out);

// Parses "123", "64K", "25M", "1G" (powers of 1024) into bytes.
Status parse_bytes(const std::string& text, size_t* bytes);

// Parses a comma list of byte sizes ("256K,1M,4M"); "" is an empty list.
// A size of 0 or an unparsable item is TIDAL_ERR_INVALID_ARGUMENT naming it.
Status parse_bytes_list(const std::string& text, std::vector<size_t>* out);

// Parses a schedule name ("native", "ring", "torus2d", "ndring", "auto").
Status parse_schedule(const std::string& text, int* schedule);
const char* schedule_name(int schedule);

}  // namespace tidal
