// api_status.cc — status strings, last errors, dtype and op names.
#include "lib/api/handles.h"
#include "lib/core/dtype.h"

namespace tidal {
namespace api {
const char* last_error_of_thread();
}
}  // namespace tidal

extern "C" {

const char* tidal_status_string(tidal_status_t status) {
  switch (status) {
    case TIDAL_SUCCESS: return "TIDAL_SUCCESS";
    case TIDAL_ERR_INVALID_ARGUMENT: return "TIDAL_ERR_INVALID_ARGUMENT";
    case TIDAL_ERR_INVALID_USAGE: return "TIDAL_ERR_INVALID_USAGE";
    case TIDAL_ERR_UNSUPPORTED: return "TIDAL_ERR_UNSUPPORTED";
    case TIDAL_ERR_MISMATCH: return "TIDAL_ERR_MISMATCH";
    case TIDAL_ERR_TIMEOUT: return "TIDAL_ERR_TIMEOUT";
    case TIDAL_ERR_ABORTED: return "TIDAL_ERR_ABORTED";
    case TIDAL_ERR_TRANSPORT: return "TIDAL_ERR_TRANSPORT";
    case TIDAL_ERR_NO_MEMORY: return "TIDAL_ERR_NO_MEMORY";
    case TIDAL_ERR_IO: return "TIDAL_ERR_IO";
    case TIDAL_ERR_CORRUPT: return "TIDAL_ERR_CORRUPT";
    case TIDAL_ERR_IN_PROGRESS: return "TIDAL_ERR_IN_PROGRESS";
    case TIDAL_ERR_INTERNAL: return "TIDAL_ERR_INTERNAL";
    default: break;
  }
  return "TIDAL_ERR_UNKNOWN";
}

const char* tidal_last_error(void) { return tidal::api::last_error_of_thread(); }

size_t tidal_dtype_size(tidal_dtype_t dtype) { return tidal::dtype_size(dtype); }

const char* tidal_dtype_name(tidal_dtype_t dtype) {
  static const char* const names[] = {"f32", "f16", "bf16", "f64", "i32",
                                      "i64", "u8",  "fp8_e4m3", "fp8_e5m2"};
  return tidal::dtype_valid(dtype) ? names[dtype] : "unknown";
}

const char* tidal_op_name(tidal_op_t op) {
  static const char* const names[] = {"sum", "prod", "max", "min", "avg"};
  return (static_cast<int>(op) >= 0 && op < TIDAL_OP_COUNT) ? names[op] : "unknown";
}

}  // extern "C"
