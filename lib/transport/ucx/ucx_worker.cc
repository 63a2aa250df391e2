#include "lib/transport/ucx/ucx_worker.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "lib/core/log.h"

namespace tidal {
namespace {

// What every rank publishes first: lets each rank check that the OOB
// all-gather really delivered rank order and size the address exchange.
struct AddressHeader {
  uint32_t magic;
  int32_t rank;
  uint32_t failed;  // this rank could not start UCX: every rank gives up
  uint32_t reserved;
  uint64_t address_bytes;
};
constexpr uint32_t kHeaderMagic = 0x7469dA1u;

// How long closing waits for unmatched eager sends and endpoint flushes.
constexpr double kCloseFlushSeconds = 10.0;

Status ucx_error(ucs_status_t status, const char* what) {
  return Status(TIDAL_ERR_TRANSPORT, fmt::format("ucx: {} failed: {}", what,
                                                 ucx_status_text(status)));
}

}  // namespace

const char* ucx_status_text(ucs_status_t status) { return ucs_status_string(status); }

UcxWorker::UcxWorker(int rank, int nranks) : rank_(rank) {
  endpoints_.assign(static_cast<size_t>(nranks), nullptr);
}

Status UcxWorker::create(int rank, int nranks, const OobAllGather& allgather,
                         std::shared_ptr<UcxWorker>* out) {
  if (nranks < 1 || nranks > kMaxRanks || rank < 0 || rank >= nranks) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("ucx: rank {} of {} ranks (need 0 <= rank < nranks <= {})",
                              rank, nranks, kMaxRanks));
  }
  std::shared_ptr<UcxWorker> w(new UcxWorker(rank, nranks));
  // A rank whose UCX fails to start still joins the address exchange, so
  // the others learn it instead of waiting in the OOB all-gather.
  Status started = w->init_context();
  TIDAL_RETURN_IF_ERROR(w->connect(allgather, started));
  w->comm_ids_.set(0);  // the world communicator
  *out = std::move(w);
  return Status();
}

Status UcxWorker::init_context() {
  ucp_config_t* config = nullptr;
  ucs_status_t st = ucp_config_read(nullptr, nullptr, &config);
  if (st != UCS_OK) return ucx_error(st, "ucp_config_read");
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_ESTIMATED_NUM_EPS;
  params.features = UCP_FEATURE_TAG;
  params.estimated_num_eps = endpoints_.size();
  st = ucp_init(&params, config, &context_);
  ucp_config_release(config);
  if (st != UCS_OK) return ucx_error(st, "ucp_init");

  ucp_context_attr_t attr{};
  attr.field_mask = UCP_ATTR_FIELD_MEMORY_TYPES;
  if (ucp_context_query(context_, &attr) == UCS_OK) {
    cuda_memory_ = (attr.memory_types & UCS_BIT(UCS_MEMORY_TYPE_CUDA)) != 0;
  }
  ucp_worker_params_t wp{};
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  wp.thread_mode = UCS_THREAD_MODE_SERIALIZED;  // mu_ serialises the callers
  st = ucp_worker_create(context_, &wp, &worker_);
  if (st != UCS_OK) return ucx_error(st, "ucp_worker_create");
  return Status();
}

Status UcxWorker::exchange_headers(const OobAllGather& allgather, bool failed,
                                   size_t address_bytes, size_t* widest) {
  const size_t n = endpoints_.size();
  AddressHeader mine{kHeaderMagic, rank_, failed ? 1u : 0u, 0u, address_bytes};
  std::vector<AddressHeader> headers(n);
  TIDAL_RETURN_IF_ERROR(allgather(&mine, headers.data(), sizeof(mine)));
  *widest = 0;
  for (size_t r = 0; r < n; ++r) {
    if (headers[r].magic != kHeaderMagic || headers[r].rank != static_cast<int>(r)) {
      return Status(TIDAL_ERR_TRANSPORT,
                    fmt::format("ucx: the OOB all-gather put rank {}'s bytes in slot {} (it "
                                "must gather in rank order, every rank the same size)",
                                headers[r].rank, r));
    }
    if (headers[r].failed) {
      return Status(TIDAL_ERR_TRANSPORT,
                    fmt::format("ucx: rank {} could not start UCX (see its error)", r));
    }
    *widest = std::max<size_t>(*widest, headers[r].address_bytes);
  }
  return Status();
}

Status UcxWorker::connect(const OobAllGather& allgather, const Status& started) {
  ucp_address_t* address = nullptr;
  size_t address_bytes = 0;
  Status local = started;
  if (local.ok()) {
    ucs_status_t st = ucp_worker_get_address(worker_, &address, &address_bytes);
    if (st != UCS_OK) local = ucx_error(st, "ucp_worker_get_address");
  }
  size_t widest = 0;
  Status s = exchange_headers(allgather, !local.ok(), address_bytes, &widest);
  const size_t n = endpoints_.size();
  std::vector<char> padded(widest, 0), all(widest * n, 0);
  if (s.ok() && local.ok()) {
    std::memcpy(padded.data(), address, address_bytes);
    s = allgather(padded.data(), all.data(), widest);
  }
  if (address) ucp_worker_release_address(worker_, address);
  TIDAL_RETURN_IF_ERROR(local);
  TIDAL_RETURN_IF_ERROR(s.with_context("ucx bootstrap"));
  Status connected = create_endpoints(all, widest);
  // Creating an endpoint attaches the peer's shared-memory segment: no rank
  // may leave (and free its segment) before every rank has connected. This
  // last exchange is that barrier, and tells everyone if one rank failed.
  const char mine = connected.ok() ? 1 : 0;
  std::vector<char> everyone(n);
  TIDAL_RETURN_IF_ERROR(allgather(&mine, everyone.data(), 1).with_context("ucx bootstrap"));
  TIDAL_RETURN_IF_ERROR(connected);
  for (size_t r = 0; r < n; ++r) {
    if (!everyone[r]) {
      return Status(TIDAL_ERR_TRANSPORT,
                    fmt::format("ucx: rank {} could not connect its endpoints", r));
    }
  }
  return Status();
}

Status UcxWorker::create_endpoints(const std::vector<char>& addresses, size_t stride) {
  for (size_t r = 0; r < endpoints_.size(); ++r) {
    ucp_ep_params_t ep{};
    ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE;
    ep.address = reinterpret_cast<const ucp_address_t*>(&addresses[r * stride]);
    // NONE, not PEER: UCX 1.13 has no peer-failure support on its shared-
    // memory transports, so PEER would force tcp over loopback between the
    // processes of one machine. A peer that hangs or dies surfaces as our
    // timeout instead.
    ep.err_mode = UCP_ERR_HANDLING_MODE_NONE;
    ucs_status_t st = ucp_ep_create(worker_, &ep, &endpoints_[r]);
    if (st != UCS_OK) return ucx_error(st, "ucp_ep_create");
  }
  return Status();
}

UcxWorker::~UcxWorker() {
  if (worker_) {
    flush_eager_sends(Deadline::after(skip_close_flush_.load() ? 1e-9 : kCloseFlushSeconds));
    close_endpoints();
    ucp_worker_destroy(worker_);
  }
  if (context_) ucp_cleanup(context_);
}

void UcxWorker::flush_eager_sends(const Deadline& deadline) {
  while (!deadline.expired()) {
    if (!progress().ok() || eager_.empty()) break;
    std::this_thread::yield();
  }
  if (!eager_.empty()) {
    log_warn(rank_, "ucx: {} eager sends were never received; closing anyway", eager_.size());
    std::vector<void*> pending;
    for (auto& e : eager_) pending.push_back(e->request);
    cancel(&pending);
    eager_.clear();
  }
}

void UcxWorker::close_endpoints() {
  std::vector<void*> closing;
  for (ucp_ep_h ep : endpoints_) {
    if (!ep) continue;
    // A flushing close (FORCE needs PEER error mode on both sides); bounded
    // below so a peer that went away cannot hold us.
    ucp_request_param_t p{};
    ucs_status_ptr_t r = ucp_ep_close_nbx(ep, &p);
    if (UCS_PTR_IS_PTR(r)) closing.push_back(r);
  }
  const Deadline deadline = Deadline::after(kCloseFlushSeconds);
  for (void* r : closing) {
    while (ucp_request_check_status(r) == UCS_INPROGRESS && !deadline.expired()) {
      ucp_worker_progress(worker_);
    }
    ucp_request_free(r);
  }
  endpoints_.clear();
}

uint64_t UcxWorker::make_tag(bool internal, int comm_id, int source_world_rank, int tag) {
  return (static_cast<uint64_t>(internal) << 63) |
         (static_cast<uint64_t>(comm_id & (kMaxComms - 1)) << 52) |
         (static_cast<uint64_t>(source_world_rank & (kMaxRanks - 1)) << 32) |
         static_cast<uint64_t>(static_cast<uint32_t>(tag));
}

Status UcxWorker::post_send(int world_peer, uint64_t tag, const void* buf, size_t bytes,
                            void** request) {
  std::lock_guard<std::mutex> lock(mu_);
  ucp_request_param_t p{};
  ucs_status_ptr_t r = ucp_tag_send_nbx(endpoints_[world_peer], buf, bytes, tag, &p);
  if (UCS_PTR_IS_ERR(r)) return ucx_error(UCS_PTR_STATUS(r), "ucp_tag_send_nbx");
  *request = r;  // nullptr: sent already
  return Status();
}

Status UcxWorker::post_recv(uint64_t tag, void* buf, size_t bytes, void** request) {
  std::lock_guard<std::mutex> lock(mu_);
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FLAG_NO_IMM_CMPL;  // always a request: its length is checked
  ucs_status_ptr_t r = ucp_tag_recv_nbx(worker_, buf, bytes, tag, ~uint64_t(0), &p);
  if (UCS_PTR_IS_ERR(r)) return ucx_error(UCS_PTR_STATUS(r), "ucp_tag_recv_nbx");
  *request = r;
  return Status();
}

Status UcxWorker::post_eager_send(int world_peer, uint64_t tag, const void* buf,
                                  size_t bytes) {
  auto e = std::make_unique<EagerSend>();
  const char* src = static_cast<const char*>(buf);
  e->data.assign(src, src + bytes);
  TIDAL_RETURN_IF_ERROR(post_send(world_peer, tag, e->data.data(), bytes, &e->request));
  if (e->request) {
    std::lock_guard<std::mutex> lock(mu_);
    eager_.push_back(std::move(e));
  }
  return Status();
}

Status UcxWorker::progress() {
  std::lock_guard<std::mutex> lock(mu_);
  while (ucp_worker_progress(worker_) != 0) {
  }
  for (size_t i = 0; i < eager_.size();) {
    ucs_status_t st = ucp_request_check_status(eager_[i]->request);
    if (st == UCS_INPROGRESS) {
      ++i;
      continue;
    }
    if (st != UCS_OK && eager_failure_.ok()) {
      eager_failure_ = ucx_error(st, "eager send");
    }
    ucp_request_free(eager_[i]->request);
    eager_[i] = std::move(eager_.back());
    eager_.pop_back();
  }
  Status failure = eager_failure_;
  eager_failure_ = Status();
  return failure;
}

ucs_status_t UcxWorker::test_and_release(void* request, bool is_recv, size_t* received_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  ucs_status_t st;
  if (is_recv) {
    ucp_tag_recv_info_t info{};
    st = ucp_tag_recv_request_test(request, &info);
    if (received_bytes) *received_bytes = info.length;
  } else {
    st = ucp_request_check_status(request);
  }
  if (st != UCS_INPROGRESS) ucp_request_free(request);
  return st;
}

void UcxWorker::cancel(std::vector<void*>* requests) {
  std::unique_lock<std::mutex> lock(mu_);
  for (void* r : *requests) {
    if (r && ucp_request_check_status(r) == UCS_INPROGRESS) ucp_request_cancel(worker_, r);
  }
  const Deadline deadline = Deadline::after(1.0);
  for (void* r : *requests) {
    if (!r) continue;
    while (ucp_request_check_status(r) == UCS_INPROGRESS && !deadline.expired()) {
      ucp_worker_progress(worker_);
    }
    ucp_request_free(r);  // UCP releases an unfinished one when it finishes
  }
  requests->clear();
}

UcxWorker::CommIds UcxWorker::used_comm_ids() {
  std::lock_guard<std::mutex> lock(mu_);
  return comm_ids_;
}

Status UcxWorker::claim_comm_id(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (id <= 0 || id >= kMaxComms || comm_ids_.test(static_cast<size_t>(id))) {
    return Status(TIDAL_ERR_INTERNAL,
                  fmt::format("ucx: communicator id {} is taken (were two splits run "
                              "concurrently in one process?)", id));
  }
  comm_ids_.set(static_cast<size_t>(id));
  return Status();
}

void UcxWorker::release_comm_id(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (id > 0 && id < kMaxComms) comm_ids_.reset(static_cast<size_t>(id));
}

}  // namespace tidal
