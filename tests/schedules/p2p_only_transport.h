// p2p_only_transport.h — a test transport shaped like UCX: it forwards
// point-to-point and split to a local transport and has no native
// collectives (they fail), so anything that runs on it went through p2p.
// memory_kind can be set to kDevice to stand in for a device backend.
#pragma once

#include <memory>

#include "lib/transport/local/local_transport.h"

namespace tidal_testing {

class P2POnlyTransport final : public tidal::Transport {
 public:
  explicit P2POnlyTransport(std::unique_ptr<tidal::Transport> inner,
                            tidal::MemoryKind memory = tidal::MemoryKind::kHost)
      : inner_(std::move(inner)), memory_(memory) {}

  const char* name() const override { return "p2p-only"; }
  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  tidal::MemoryKind memory_kind() const override { return memory_; }
  bool has_native_collectives() const override { return false; }

  tidal::Status all_gather(const void*, void*, size_t, tidal_dtype_t, const tidal::Deadline&,
                           void*) override { return none(); }
  tidal::Status reduce_scatter(const void*, void*, size_t, tidal_dtype_t, tidal_op_t,
                               const tidal::Deadline&, void*) override { return none(); }
  tidal::Status all_reduce(const void*, void*, size_t, tidal_dtype_t, tidal_op_t,
                           const tidal::Deadline&, void*) override { return none(); }
  tidal::Status all_to_all(const void*, void*, size_t, tidal_dtype_t, const tidal::Deadline&,
                           void*) override { return none(); }
  tidal::Status broadcast(const void*, void*, size_t, tidal_dtype_t, int,
                          const tidal::Deadline&, void*) override { return none(); }
  tidal::Status p2p(const tidal::P2POp* ops, size_t n, const tidal::Deadline& deadline,
                    void* stream) override {
    return inner_->p2p(ops, n, deadline, stream);
  }
  tidal::Status split(int color, int key, const tidal::Deadline& deadline,
                      std::unique_ptr<tidal::Transport>* out) override {
    std::unique_ptr<tidal::Transport> sub;
    TIDAL_RETURN_IF_ERROR(inner_->split(color, key, deadline, &sub));
    if (sub) out->reset(new P2POnlyTransport(std::move(sub), memory_));
    else out->reset();
    return tidal::Status();
  }
  tidal::Status check_signature(const tidal::CollSignature&, const tidal::Deadline&) override {
    return tidal::Status();
  }
  void abort() override { inner_->abort(); }

  // n wrapped local transports forming one group.
  static std::vector<std::unique_ptr<tidal::Transport>> group(
      int n, tidal::MemoryKind memory = tidal::MemoryKind::kHost) {
    std::vector<std::unique_ptr<tidal::Transport>> out;
    for (auto& t : tidal::LocalTransport::create_group(n)) {
      out.push_back(std::make_unique<P2POnlyTransport>(std::move(t), memory));
    }
    return out;
  }

 private:
  static tidal::Status none() {
    return tidal::Status(TIDAL_ERR_UNSUPPORTED, "p2p-only test transport: no collectives");
  }
  std::unique_ptr<tidal::Transport> inner_;
  tidal::MemoryKind memory_;
};

}  // namespace tidal_testing
