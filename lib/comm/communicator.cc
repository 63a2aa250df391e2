#include "lib/comm/communicator.h"

#include <fmt/format.h>

#include "lib/core/log.h"
#include "lib/engine/engine_factory.h"

namespace tidal {

Communicator::Communicator(std::unique_ptr<Transport> transport, const Config& config)
    : transport_(std::move(transport)),
      config_(config),
      rank_(transport_->rank()),
      size_(transport_->size()) {}

Status Communicator::create(std::unique_ptr<Transport> transport, const Config& config,
                            std::unique_ptr<Communicator>* out) {
  std::unique_ptr<Communicator> comm(new Communicator(std::move(transport), config));
  TIDAL_RETURN_IF_ERROR(make_engine(*comm->transport_, config, &comm->engine_));
  log_info(comm->rank_, "communicator: backend {} rank {}/{} timeout {}s schedule {}",
           comm->backend(), comm->rank_, comm->size_, config.timeout_s,
           schedule_name(config.schedule));
  *out = std::move(comm);
  return Status();
}

Communicator::~Communicator() {
  if (engine_) engine_->drain();
  engine_.reset();  // joins the progress thread before the transport goes
}

RequestPtr Communicator::submit(const char* name, WorkFn work) {
  return engine_->submit(name, std::move(work));
}

Status Communicator::run_native(Transport& t, const CollectiveCall& call,
                                const ExecContext& ctx) {
  switch (call.kind) {
    case CollKind::kAllGather:
      return t.all_gather(call.send, call.recv, call.count, call.dtype, ctx.deadline, ctx.stream);
    case CollKind::kReduceScatter:
      return t.reduce_scatter(call.send, call.recv, call.count, call.dtype, call.op,
                              ctx.deadline, ctx.stream);
    case CollKind::kAllReduce:
      return t.all_reduce(call.send, call.recv, call.count, call.dtype, call.op, ctx.deadline,
                          ctx.stream);
    case CollKind::kAllToAll:
      return t.all_to_all(call.send, call.recv, call.count, call.dtype, ctx.deadline, ctx.stream);
    case CollKind::kBroadcast:
      return t.broadcast(call.send, call.recv, call.count, call.dtype, call.root, ctx.deadline,
                         ctx.stream);
  }
  return Status(TIDAL_ERR_INTERNAL, "unknown collective kind");
}

RequestPtr Communicator::submit_native(const CollectiveCall& call) {
  const bool check = config_.check_args;
  Transport* t = transport_.get();
  return submit(coll_kind_name(call.kind), [t, call, check](const ExecContext& ctx) {
    if (check) TIDAL_RETURN_IF_ERROR(t->check_signature(signature_of(call), ctx.deadline));
    return run_native(*t, call, ctx);
  });
}

RequestPtr Communicator::submit_p2p(const char* name, const P2POp& op) {
  Transport* t = transport_.get();
  return submit(name, [t, op](const ExecContext& ctx) {
    return t->p2p(&op, 1, ctx.deadline, ctx.stream);
  });
}

Status Communicator::split(int color, int key, const tidal_config_t* user,
                           std::unique_ptr<Communicator>* out) {
  Config config;
  TIDAL_RETURN_IF_ERROR(resolve_config(user, config_, &config));
  auto result = std::make_shared<std::unique_ptr<Transport>>();
  Transport* t = transport_.get();
  RequestPtr r = submit("split", [t, color, key, result](const ExecContext& ctx) {
    return t->split(color, key, ctx.deadline, result.get());
  });
  TIDAL_RETURN_IF_ERROR(wait(r));
  out->reset();
  if (!*result) return Status();  // TIDAL_SPLIT_NOCOLOR
  return create(std::move(*result), config, out);
}

Status Communicator::wait(const RequestPtr& request) {
  // The item's own deadline bounds the running work; this one only guards
  // against a queue that never drains (it is generous on purpose).
  return engine_->wait(request, Deadline::never());
}

void Communicator::abort() {
  log_warn(rank_, "communicator: abort requested");
  engine_->abort();
  std::lock_guard<std::mutex> lock(abort_mu_);
  for (auto& entry : abort_hooks_) entry.second();
}

int Communicator::add_abort_hook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(abort_mu_);
  const int id = next_hook_id_++;
  abort_hooks_.emplace(id, std::move(hook));
  return id;
}

void Communicator::remove_abort_hook(int id) {
  std::lock_guard<std::mutex> lock(abort_mu_);
  abort_hooks_.erase(id);
}

void Communicator::set_last_error(const std::string& message) {
  std::lock_guard<std::mutex> lock(error_mu_);
  last_error_ = message;
}

const char* Communicator::last_error() {
  std::lock_guard<std::mutex> lock(error_mu_);
  return last_error_.c_str();
}

}  // namespace tidal
