#include "lib/core/config.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "lib/core/log.h"
#include "lib/core/options_struct.h"

namespace tidal {
namespace {

// The first version whose tidal_config_t has direct_buckets.
constexpr unsigned kDirectBucketsVersion = 200;

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

Status parse_double(const char* name, const char* text, double* out) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  if (errno || end == text || *end != '\0') {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("{}='{}' is not a number", name, text));
  }
  *out = v;
  return Status();
}

Status apply_env(Config* c) {
  if (const char* v = env("TIDAL_TIMEOUT_S")) {
    TIDAL_RETURN_IF_ERROR(parse_double("TIDAL_TIMEOUT_S", v, &c->timeout_s));
  }
  if (const char* v = env("TIDAL_DEBUG")) {
    TIDAL_RETURN_IF_ERROR(parse_log_level(v, &c->log_level));
  }
  if (const char* v = env("TIDAL_SCHEDULE")) {
    TIDAL_RETURN_IF_ERROR(parse_schedule(v, &c->schedule)
                              .with_context("TIDAL_SCHEDULE"));
  }
  if (const char* v = env("TIDAL_BUCKET_BYTES")) {
    if (std::strcmp(v, "auto") == 0) {
      c->bucket_bytes = 0;
    } else {
      TIDAL_RETURN_IF_ERROR(
          parse_bytes(v, &c->bucket_bytes).with_context("TIDAL_BUCKET_BYTES"));
    }
  }
  if (const char* v = env("TIDAL_FIRST_BUCKET_BYTES")) {
    TIDAL_RETURN_IF_ERROR(parse_bytes(v, &c->first_bucket_bytes)
                              .with_context("TIDAL_FIRST_BUCKET_BYTES"));
  }
  if (const char* v = env("TIDAL_TOPO")) c->topology = v;
  if (const char* v = env("TIDAL_SCHEDULE_PHASES")) {
    const std::string text = v;
    if (text == "auto") c->schedule_phases = kPhasesAuto;
    else if (text == "p2p") c->schedule_phases = kPhasesP2p;
    else if (text == "native") c->schedule_phases = kPhasesNative;
    else
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("TIDAL_SCHEDULE_PHASES='{}' must be auto, p2p or native", v));
  }
  if (const char* v = env("TIDAL_CHECK_ARGS")) {
    if (std::strcmp(v, "0") != 0 && std::strcmp(v, "1") != 0) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("TIDAL_CHECK_ARGS='{}' must be 0 or 1", v));
    }
    c->check_args = v[0] == '1';
  }
  if (const char* v = env("TIDAL_DIRECT_BUCKETS")) {
    if (std::strcmp(v, "0") != 0 && std::strcmp(v, "1") != 0) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("TIDAL_DIRECT_BUCKETS='{}' must be 0 or 1", v));
    }
    c->direct_buckets = v[0] == '1';
  }
  return Status();
}

}  // namespace

Status parse_bytes_list(const std::string& text, std::vector<size_t>* out) {
  out->clear();
  size_t start = 0;
  while (!text.empty() && start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    size_t bytes = 0;
    TIDAL_RETURN_IF_ERROR(parse_bytes(item, &bytes));
    if (bytes == 0) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("size \"{}\" is 0", item));
    }
    out->push_back(bytes);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return Status();
}

Status parse_bytes(const std::string& text, size_t* bytes) {
  if (text.empty()) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, "empty byte size");
  }
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno || end == text.c_str() || text[0] == '-') {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("'{}' is not a byte size", text));
  }
  unsigned shift = 0;
  switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; ++end; break;
    case 'm': case 'M': shift = 20; ++end; break;
    case 'g': case 'G': shift = 30; ++end; break;
    case 't': case 'T': shift = 40; ++end; break;
    default: end = nullptr;
  }
  if (end == nullptr || (*end != '\0' && !(end[0] == 'B' && end[1] == '\0') &&
                         !(end[0] == 'i' && end[1] == 'B' && end[2] == '\0'))) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("'{}' is not a byte size (use 64K, 25M, 1G)", text));
  }
  if (shift && (v >> (64 - shift)) != 0) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("byte size '{}' overflows", text));
  }
  *bytes = static_cast<size_t>(v << shift);
  return Status();
}

static const char* const kScheduleNames[] = {"native", "ring", "torus2d",
                                             "ndring", "auto"};

Status parse_schedule(const std::string& text, int* schedule) {
  for (int i = 0; i < 5; ++i) {
    if (text == kScheduleNames[i]) {
      *schedule = i;
      return Status();
    }
  }
  return Status(TIDAL_ERR_INVALID_ARGUMENT,
                fmt::format("unknown schedule '{}' (native, ring, torus2d, "
                            "ndring, auto)", text));
}

const char* schedule_name(int schedule) {
  return (schedule >= 0 && schedule < 5) ? kScheduleNames[schedule] : "unknown";
}

Status resolve_config(const tidal_config_t* user, const Config& base,
                      Config* out) {
  Config c = base;
  if (user) {
    if (user->magic != TIDAL_CONFIG_MAGIC) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    "config was not initialised with TIDAL_CONFIG_INITIALIZER");
    }
    // The first published tidal_config_t ends with check_args.
    TIDAL_RETURN_IF_ERROR(check_options_size(
        user->size, offsetof(tidal_config_t, check_args) + sizeof(int), sizeof(tidal_config_t),
        "TIDAL_CONFIG_INITIALIZER"));
    if (user->timeout_s != TIDAL_CONFIG_UNSET_DOUBLE) c.timeout_s = user->timeout_s;
    if (user->log_level != TIDAL_LOG_UNSET) {
      if (user->log_level < TIDAL_LOG_NONE || user->log_level > TIDAL_LOG_TRACE) {
        return Status(TIDAL_ERR_INVALID_ARGUMENT,
                      fmt::format("config.log_level {} out of range", user->log_level));
      }
      c.log_level = user->log_level;
    }
    if (user->schedule != TIDAL_SCHEDULE_UNSET) {
      if (user->schedule < TIDAL_SCHEDULE_NATIVE || user->schedule > TIDAL_SCHEDULE_AUTO) {
        return Status(TIDAL_ERR_INVALID_ARGUMENT,
                      fmt::format("config.schedule {} out of range", user->schedule));
      }
      c.schedule = user->schedule;
    }
    if (user->bucket_bytes != TIDAL_CONFIG_UNSET_SIZE) c.bucket_bytes = user->bucket_bytes;
    if (user->first_bucket_bytes != TIDAL_CONFIG_UNSET_SIZE) {
      c.first_bucket_bytes = user->first_bucket_bytes;
    }
    if (user->topology) c.topology = user->topology;
    if (user->check_args != TIDAL_CONFIG_UNSET_INT) c.check_args = user->check_args != 0;
    // direct_buckets (0.2.0) fills what was the struct's tail padding, so
    // the size cannot tell an older caller apart; the version can.
    if (user->version >= kDirectBucketsVersion &&
        user->size >= offsetof(tidal_config_t, direct_buckets) + sizeof(int) &&
        user->direct_buckets != TIDAL_CONFIG_UNSET_INT) {
      c.direct_buckets = user->direct_buckets != 0;
    }
  }
  TIDAL_RETURN_IF_ERROR(apply_env(&c));
  set_log_level(c.log_level);
  *out = c;
  return Status();
}

Status export_config(const Config& config, tidal_config_t* out) {
  if (!out || out->magic != TIDAL_CONFIG_MAGIC) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  "config was not initialised with TIDAL_CONFIG_INITIALIZER");
  }
  out->timeout_s = config.timeout_s;
  out->log_level = config.log_level;
  out->schedule = config.schedule;
  out->bucket_bytes = config.bucket_bytes;
  out->first_bucket_bytes = config.first_bucket_bytes;
  out->topology = nullptr;  // a pointer into the comm would dangle
  out->check_args = config.check_args ? 1 : 0;
  if (out->version >= kDirectBucketsVersion &&
      out->size >= offsetof(tidal_config_t, direct_buckets) + sizeof(int)) {
    out->direct_buckets = config.direct_buckets ? 1 : 0;
  }
  return Status();
}

}  // namespace tidal
