// status.h — the internal error type: a tidal_status_t code plus a message.
#pragma once

#include <string>
#include <utility>

#include "tidal/tidal.h"

namespace tidal {

class Status {
 public:
  Status() = default;
  Status(tidal_status_t code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == TIDAL_SUCCESS; }
  tidal_status_t code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context ("all_gather: ...").
  Status with_context(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  tidal_status_t code_ = TIDAL_SUCCESS;
  std::string message_;
};

#define TIDAL_RETURN_IF_ERROR(expr)         \
  do {                                      \
    ::tidal::Status tidal_status_ = (expr); \
    if (!tidal_status_.ok()) return tidal_status_; \
  } while (0)

}  // namespace tidal
