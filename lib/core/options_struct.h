// options_struct.h — the one rule for reading every options struct of the
// C API (configs, options, inputs). Each begins with `size_t size`, which its
// TIDAL_*_INITIALIZER sets to sizeof the struct as the caller's header
// declares it. A library and a caller built against different tidal headers
// meet here:
//
//   * size < the struct's first published size: the struct was not made
//     with its initializer: TIDAL_ERR_INVALID_ARGUMENT naming it;
//   * first size <= size <= sizeof here (the same or an older header): the
//     caller's first `size` bytes are read over the library's defaults, so
//     a field added since keeps its default;
//   * size > sizeof here (a header newer than this library): fields this
//     library does not know cannot be honoured, and ignoring them silently
//     would change what the caller asked for: TIDAL_ERR_UNSUPPORTED.
#pragma once

#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "lib/core/status.h"

namespace tidal {

// Checks `size` against the rule above for a struct named by `initializer`
// ("TIDAL_CONFIG_INITIALIZER"), whose first published size is `first_size`
// and whose size in this build is `current_size`.
inline Status check_options_size(size_t size, size_t first_size, size_t current_size,
                                 const char* initializer) {
  if (size > current_size) {
    return Status(TIDAL_ERR_UNSUPPORTED,
                  fmt::format("options made with {} of a newer tidal ({} bytes; this library "
                              "knows {}): rebuild against this library's headers",
                              initializer, size, current_size));
  }
  if (size < first_size) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("options were not made with {} (size {}, expected {})",
                              initializer, size, current_size));
  }
  return Status();
}

// *out = the defaults, overlaid with the caller's struct when there is one.
template <typename T>
Status read_options(const T* user, const T& defaults, const char* initializer, T* out,
                    size_t first_size = sizeof(T)) {
  static_assert(std::is_trivially_copyable<T>::value, "options structs are plain C");
  *out = defaults;
  if (!user) return Status();
  TIDAL_RETURN_IF_ERROR(check_options_size(user->size, first_size, sizeof(T), initializer));
  std::memcpy(static_cast<void*>(out), user, user->size);
  return Status();
}

}  // namespace tidal
