// handles.h — what the C handles point to, the registry that catches use
// after destroy, and the error plumbing of every C entry point.
#pragma once

#include <memory>

#include "lib/comm/communicator.h"
#include "lib/core/status.h"
#include "lib/engine/request.h"
#include "tidal/tidal.h"

struct tidal_comm {
  std::unique_ptr<tidal::Communicator> impl;
};

struct tidal_request {
  tidal::RequestPtr impl;
  tidal_comm* comm;  // for error messages; may be destroyed before the request
};

namespace tidal {
namespace api {

// Records `status` as this thread's (and `comm`'s, if given) last error and
// returns its code. OK clears nothing and returns TIDAL_SUCCESS.
tidal_status_t report(const Status& status, tidal_comm* comm = nullptr);

// The handler of every C entry point's function-try-block: whatever the
// body threw (an allocation sized by the caller's arguments, a thread that
// cannot start) becomes a status — TIDAL_ERR_NO_MEMORY for bad_alloc,
// TIDAL_ERR_INTERNAL otherwise, naming `function`. Nothing is ever thrown
// through the C API. Call it only from a catch handler.
tidal_status_t report_exception(const char* function) noexcept;

// Registry of live handles: lookups fail after destroy/free.
void register_comm(tidal_comm* comm);
void unregister_comm(tidal_comm* comm);
Status check_comm(tidal_comm* comm);
void register_request(tidal_request* request);
void unregister_request(tidal_request* request);
Status check_request(tidal_request* request);

// Wraps a communicator in a new registered handle.
tidal_comm* new_comm_handle(std::unique_ptr<Communicator> impl);

// Either hands out a request handle or, when `out` is NULL, waits for it.
tidal_status_t finish(tidal_comm* comm, RequestPtr request, tidal_request_t* out);

}  // namespace api
}  // namespace tidal
