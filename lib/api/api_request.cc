// api_request.cc — test, wait, wait_all, free.
#include "lib/api/handles.h"

using tidal::Status;
using tidal::api::check_request;
using tidal::api::report;

namespace {
tidal_comm* live_comm(tidal_request* r) {
  return tidal::api::check_comm(r->comm).ok() ? r->comm : nullptr;
}
}  // namespace

extern "C" {

tidal_status_t tidal_test(tidal_request_t request, int* done) try {
  Status s = check_request(request);
  if (s.ok() && !done) s = Status(TIDAL_ERR_INVALID_ARGUMENT, "done is NULL");
  if (!s.ok()) return report(s);
  Status result;
  *done = request->impl->test(&result) ? 1 : 0;
  return *done ? report(result, live_comm(request)) : TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_test");
}

tidal_status_t tidal_wait(tidal_request_t request) try {
  Status s = check_request(request);
  if (!s.ok()) return report(s);
  // Through the communicator when it is alive: its engine may run the
  // queue up to this request on this thread (lib/engine/cpu_engine.h).
  tidal_comm* comm = live_comm(request);
  return report(comm ? comm->impl->wait(request->impl)
                     : request->impl->wait(tidal::Deadline::never()),
                comm);
} catch (...) {
  return tidal::api::report_exception("tidal_wait");
}

tidal_status_t tidal_wait_all(size_t n, tidal_request_t* requests) try {
  if (n && !requests) {
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT, "requests is NULL"));
  }
  for (size_t i = 0; i < n; ++i) {
    if (requests[i]) {
      Status s = check_request(requests[i]);
      if (!s.ok()) return report(s);
    }
  }
  tidal_status_t first = TIDAL_SUCCESS;
  for (size_t i = 0; i < n; ++i) {
    if (!requests[i]) continue;
    tidal_status_t rc = tidal_wait(requests[i]);
    if (first == TIDAL_SUCCESS) first = rc;
  }
  return first;
} catch (...) {
  return tidal::api::report_exception("tidal_wait_all");
}

tidal_status_t tidal_request_free(tidal_request_t request) try {
  if (!request) return TIDAL_SUCCESS;
  Status s = check_request(request);
  if (!s.ok()) return report(s);
  tidal::api::unregister_request(request);
  delete request;  // the engine holds its own reference while running
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_request_free");
}

}  // extern "C"
