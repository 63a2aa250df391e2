// communicator.h — a rank's view of a group: its transport, its async
// engine (the ordered queue every operation goes through) and its config.
//
// Everything a communicator does is a work item on its engine, so all
// operations, native collectives, schedules and bucketed work from the
// layers above, run in issue order.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lib/comm/collective_args.h"
#include "lib/core/config.h"
#include "lib/engine/engine.h"
#include "lib/transport/transport.h"

namespace tidal {

class Communicator {
 public:
  // Takes the transport; picks the engine for its memory kind.
  static Status create(std::unique_ptr<Transport> transport, const Config& config,
                       std::unique_ptr<Communicator>* out);
  ~Communicator();

  int rank() const { return rank_; }
  int size() const { return size_; }
  const Config& config() const { return config_; }
  Transport& transport() { return *transport_; }
  const char* backend() const { return transport_->name(); }

  // Queues a work item.
  RequestPtr submit(const char* name, WorkFn work);

  // Runs the transport's native collective for a validated call (inside a
  // work item); the one place that maps a CollectiveCall onto the transport.
  static Status run_native(Transport& t, const CollectiveCall& call, const ExecContext& ctx);

  // Queues the transport's native collective for a validated call.
  RequestPtr submit_native(const CollectiveCall& call);

  // Queues a point-to-point batch (already validated).
  RequestPtr submit_p2p(const char* name, const P2POp& op);

  // Blocking collective split (see tidal_comm_split).
  Status split(int color, int key, const tidal_config_t* config,
               std::unique_ptr<Communicator>* out);

  // Waits on a request, bounded by the timeout counted from now (a queued
  // item's own deadline starts when it runs, so allow for the queue).
  Status wait(const RequestPtr& request);

  // Fails queued work, wakes what runs (engine and transport), then runs
  // the abort hooks. Thread-safe.
  void abort();
  // Layers that own transports or communicators of their own (the
  // schedules' phase sub-communicators, a ring rotation's) register how to
  // abort them too, so an abort wakes a call blocked on them. Thread-safe.
  // Returns an id for remove_abort_hook, which an owner shorter-lived than
  // the communicator must call before its parts go (it waits for a running
  // abort to finish with them).
  int add_abort_hook(std::function<void()> hook);
  void remove_abort_hook(int id);
  void drain() { engine_->drain(); }
  Status async_error() { return engine_->async_error(); }

  // State a layer above keeps per communicator (e.g. the schedules' rank
  // layout, resolved once). Touch it only from work items: they run one at
  // a time, so no lock is needed.
  std::shared_ptr<void>& layer_state(const std::string& key) { return layer_state_[key]; }

  // The last error message raised on this communicator.
  void set_last_error(const std::string& message);
  const char* last_error();

 private:
  Communicator(std::unique_ptr<Transport> transport, const Config& config);

  std::unique_ptr<Transport> transport_;
  Config config_;
  int rank_;
  int size_;
  std::unique_ptr<Engine> engine_;
  std::map<std::string, std::shared_ptr<void>> layer_state_;
  std::mutex abort_mu_;  // held while hooks run: removal waits for them
  std::map<int, std::function<void()>> abort_hooks_;
  int next_hook_id_ = 0;
  std::mutex error_mu_;
  std::string last_error_;
};

}  // namespace tidal
