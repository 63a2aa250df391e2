// json_text.h — JSON to text without exceptions: names that come from the
// caller or the file system (tensor names, metadata, file names) may not
// be UTF-8, and nlohmann::json::dump throws on those. Every checkpoint
// writer serialises through here so bad input becomes a status.
#pragma once

#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lib/core/status.h"

namespace tidal {
namespace ckpt {

// *out = j as text (indent < 0: compact). TIDAL_ERR_INVALID_ARGUMENT
// naming `what` when a string in j is not valid UTF-8.
inline Status json_text(const nlohmann::json& j, int indent, const char* what,
                        std::string* out) {
  try {
    *out = j.dump(indent);
  } catch (const nlohmann::json::exception& e) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("{} must be UTF-8: {}", what, e.what()));
  }
  return Status();
}

}  // namespace ckpt
}  // namespace tidal
