#include "lib/api/handles.h"

#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <unordered_set>

#include <fmt/format.h>

namespace tidal {
namespace api {
namespace {

thread_local std::string tls_last_error;

struct Registry {
  std::mutex mu;
  std::unordered_set<const void*> live;
};
Registry& comms() {
  static Registry* r = new Registry;  // never destroyed: safe in atexit paths
  return *r;
}
Registry& requests() {
  static Registry* r = new Registry;
  return *r;
}

void add(Registry& r, const void* p) {
  std::lock_guard<std::mutex> lock(r.mu);
  r.live.insert(p);
}
void remove(Registry& r, const void* p) {
  std::lock_guard<std::mutex> lock(r.mu);
  r.live.erase(p);
}
bool contains(Registry& r, const void* p) {
  std::lock_guard<std::mutex> lock(r.mu);
  return r.live.count(p) != 0;
}

}  // namespace

const char* last_error_of_thread() { return tls_last_error.c_str(); }

tidal_status_t report(const Status& status, tidal_comm* comm) {
  if (status.ok()) return TIDAL_SUCCESS;
  tls_last_error = fmt::format("{}: {}", tidal_status_string(status.code()), status.message());
  if (comm && contains(comms(), comm)) comm->impl->set_last_error(tls_last_error);
  return status.code();
}

tidal_status_t report_exception(const char* function) noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return report(Status(TIDAL_ERR_NO_MEMORY, fmt::format("{}: out of memory", function)));
  } catch (const std::exception& e) {
    return report(Status(TIDAL_ERR_INTERNAL, fmt::format("{}: {}", function, e.what())));
  } catch (...) {
    return report(Status(TIDAL_ERR_INTERNAL, fmt::format("{}: unknown exception", function)));
  }
}

void register_comm(tidal_comm* comm) { add(comms(), comm); }
void unregister_comm(tidal_comm* comm) { remove(comms(), comm); }
Status check_comm(tidal_comm* comm) {
  if (!comm) return Status(TIDAL_ERR_INVALID_ARGUMENT, "communicator is NULL");
  if (!contains(comms(), comm)) {
    return Status(TIDAL_ERR_INVALID_USAGE,
                  "communicator is not live (used after tidal_comm_destroy?)");
  }
  return Status();
}

void register_request(tidal_request* request) { add(requests(), request); }
void unregister_request(tidal_request* request) { remove(requests(), request); }
Status check_request(tidal_request* request) {
  if (!request) return Status(TIDAL_ERR_INVALID_ARGUMENT, "request is NULL");
  if (!contains(requests(), request)) {
    return Status(TIDAL_ERR_INVALID_USAGE,
                  "request is not live (used after tidal_request_free?)");
  }
  return Status();
}

tidal_comm* new_comm_handle(std::unique_ptr<Communicator> impl) {
  auto* handle = new tidal_comm{std::move(impl)};
  register_comm(handle);
  return handle;
}

tidal_status_t finish(tidal_comm* comm, RequestPtr request, tidal_request_t* out) {
  if (!out) return report(comm->impl->wait(request), comm);
  auto* handle = new tidal_request{std::move(request), comm};
  register_request(handle);
  *out = handle;
  return TIDAL_SUCCESS;
}

}  // namespace api
}  // namespace tidal
