#include "bench/perf/perf_comms.h"

#include <cstdio>
#include <vector>

#include "bench/perf/perf_device.h"
#include "bench/perf/perf_oob.h"
#include "tidal/local.h"
#include "tidal/oob.h"

#if TIDAL_HAVE_MPI
#include "tidal/mpi.h"
#endif
#if TIDAL_HAVE_CUDA
#include "tidal/nccl.h"
#endif

namespace tidal_perf {
namespace {

std::string host_description(const std::string& backend, int slot) {
  return "device -1 [host] tidal " + backend + " backend, thread " + std::to_string(slot);
}

// All ranks are threads of this process: one group made up front.
class LocalFactory final : public CommFactory {
 public:
  bool init(int slots, const tidal_config_t& config, std::string* error) {
    comms_.resize(static_cast<size_t>(slots));
    tidal_status_t s = tidal_comm_create_local(slots, &config, comms_.data());
    if (s != TIDAL_SUCCESS) *error = std::string("tidal_comm_create_local: ") + tidal_last_error();
    return s == TIDAL_SUCCESS;
  }
  bool create(int slot, tidal_comm_t* comm, std::string*) override {
    *comm = comms_[static_cast<size_t>(slot)];
    return true;
  }
  std::string describe(int slot) const override { return host_description("local", slot); }

 private:
  std::vector<tidal_comm_t> comms_;
};

// Every rank thread of every process is a UCX rank; the bootstrap runs
// over ThreadProcessAllGather (threads, then MPI between processes).
class UcxFactory final : public CommFactory {
 public:
  UcxFactory(const Layout& layout, const tidal_config_t& config, MpiSession& mpi)
      : layout_(layout), config_(config), gather_(layout.slots, mpi),
        slots_(static_cast<size_t>(layout.slots)) {
    for (int s = 0; s < layout.slots; ++s) slots_[static_cast<size_t>(s)] = {this, s};
  }
  bool create(int slot, tidal_comm_t* comm, std::string* error) override {
    tidal_oob_t oob = TIDAL_OOB_INITIALIZER;
    oob.allgather = &UcxFactory::allgather;
    oob.user = &slots_[static_cast<size_t>(slot)];
    oob.rank = layout_.rank_of(slot);
    oob.nranks = layout_.nranks;
    tidal_status_t s = tidal_comm_create_oob(&oob, "ucx", &config_, comm);
    if (s != TIDAL_SUCCESS) *error = std::string("tidal_comm_create_oob: ") + tidal_last_error();
    return s == TIDAL_SUCCESS;
  }
  std::string describe(int slot) const override { return host_description("ucx", slot); }

 private:
  struct SlotRef {
    UcxFactory* factory;
    int slot;
  };
  static int allgather(const void* send, void* recv, size_t bytes, void* user) {
    auto* ref = static_cast<SlotRef*>(user);
    return ref->factory->gather_.gather(ref->slot, send, recv, bytes);
  }

  Layout layout_;
  tidal_config_t config_;
  ThreadProcessAllGather gather_;
  std::vector<SlotRef> slots_;
};

#if TIDAL_HAVE_MPI
// One rank per process over MPI_COMM_WORLD.
class MpiFactory final : public CommFactory {
 public:
  bool init(const MpiSession& mpi, const tidal_config_t& config, std::string* error) {
    MPI_Comm world = *static_cast<const MPI_Comm*>(mpi.world_handle());
    tidal_status_t s = tidal_comm_create_mpi(world, &config, &comm_);
    if (s != TIDAL_SUCCESS) *error = std::string("tidal_comm_create_mpi: ") + tidal_last_error();
    return s == TIDAL_SUCCESS;
  }
  bool create(int, tidal_comm_t* comm, std::string*) override {
    *comm = comm_;
    return true;
  }
  std::string describe(int slot) const override { return host_description("mpi", slot); }

 private:
  tidal_comm_t comm_ = nullptr;
};
#endif

#if TIDAL_HAVE_CUDA
// One GPU per rank thread; the unique id travels over MPI between processes.
class NcclFactory final : public CommFactory {
 public:
  NcclFactory(const Layout& layout, const tidal_config_t& config)
      : layout_(layout), config_(config), streams_(static_cast<size_t>(layout.slots)) {}

  bool init(MpiSession& mpi, std::string* error) {
    int count = 0;
    if (!device_count(&count, error)) return false;
    const int needed = (layout_.local_proc + 1) * layout_.slots;
    if (needed > count) {
      *error = "this needs " + std::to_string(needed) + " GPUs on this node but only " +
               std::to_string(count) + " were found (check -t, -g and the process count)";
      return false;
    }
    if (layout_.proc == 0 && tidal_nccl_get_unique_id(&id_) != TIDAL_SUCCESS) {
      *error = std::string("tidal_nccl_get_unique_id: ") + tidal_last_error();
      return false;
    }
    mpi.broadcast_bytes(&id_, sizeof id_);
    return true;
  }
  int device(int slot) const override { return layout_.local_proc * layout_.slots + slot; }
  bool create(int slot, tidal_comm_t* comm, std::string* error) override {
    if (!device_select(device(slot), error)) return false;
    cudaStream_t& stream = streams_[static_cast<size_t>(slot)];
    if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) {
      *error = "cudaStreamCreateWithFlags failed";
      return false;
    }
    tidal_status_t s = tidal_comm_create_nccl(id_, layout_.nranks, layout_.rank_of(slot), stream,
                                              &config_, comm);
    if (s != TIDAL_SUCCESS) *error = std::string("tidal_comm_create_nccl: ") + tidal_last_error();
    return s == TIDAL_SUCCESS;
  }
  void release(int slot) override {
    cudaStream_t stream = streams_[static_cast<size_t>(slot)];
    if (stream) cudaStreamDestroy(stream);
  }
  std::string describe(int slot) const override {
    char text[32];
    std::snprintf(text, sizeof text, "device %2d ", device(slot));
    return text + device_description(device(slot));
  }

 private:
  Layout layout_;
  tidal_config_t config_;
  ncclUniqueId id_{};
  std::vector<cudaStream_t> streams_;
};
#endif

}  // namespace

std::string default_backend(int threads) {
#if TIDAL_HAVE_CUDA
  if (tidal_cuda_device_available()) return "nccl";
#endif
  if (launcher_process_count() == 1) return "local";
  // Thread ranks across processes need UCX; MPI gives one rank per process.
  return threads > 1 && tidal_backend_available("ucx") ? "ucx" : "mpi";
}

bool plan_layout(const PerfOptions& o, const MpiSession& mpi, Layout* layout,
                 std::string* error) {
  Layout l;
  l.backend = o.backend.empty() ? default_backend(o.threads) : o.backend;
  l.nprocs = mpi.size();
  l.proc = mpi.rank();
  l.local_proc = mpi.local_rank();
  l.device_memory = l.backend == "nccl";
  l.slots = o.threads * (l.device_memory ? o.gpus : 1);
  l.nranks = l.nprocs * l.slots;
  if (!tidal_backend_available(l.backend.c_str())) {
    *error = "backend '" + l.backend + "' is not built into this libtidal";
  } else if (o.gpus > 1 && !l.device_memory) {
    *error = "-g applies to GPUs: use it with --backend nccl";
  } else if (l.backend == "local" && l.nprocs > 1) {
    *error = "local ranks are threads of one process; under mpiexec use --backend mpi";
  } else if (l.backend == "mpi" && o.threads > 1) {
    *error = "the mpi backend has one rank per process, so -t " + std::to_string(o.threads) +
             " cannot add thread ranks under it; run more processes (mpiexec -n N), or use "
             "--backend ucx, where every thread of every process is its own rank";
  } else if (l.backend == "ucx" && l.nprocs > 1 && !mpi.active()) {
    *error = "the ucx backend bootstraps over MPI between processes, and MPI is not running";
  } else if (l.backend == "mpi" && !mpi.active()) {
    *error = "the mpi backend needs MPI initialised (run under mpiexec)";
  } else {
    *layout = l;
    return true;
  }
  return false;
}

std::unique_ptr<CommFactory> make_comm_factory(const Layout& layout, const tidal_config_t& config,
                                               MpiSession& mpi, std::string* error) {
  if (layout.backend == "local") {
    auto f = std::make_unique<LocalFactory>();
    if (f->init(layout.slots, config, error)) return f;
    return nullptr;
  }
  if (layout.backend == "ucx") return std::make_unique<UcxFactory>(layout, config, mpi);
#if TIDAL_HAVE_MPI
  if (layout.backend == "mpi") {
    auto f = std::make_unique<MpiFactory>();
    if (f->init(mpi, config, error)) return f;
    return nullptr;
  }
#endif
#if TIDAL_HAVE_CUDA
  if (layout.backend == "nccl") {
    auto f = std::make_unique<NcclFactory>(layout, config);
    if (f->init(mpi, error)) return f;
    return nullptr;
  }
#endif
  (void)mpi;
  *error = "backend '" + layout.backend + "' is not available in this build of the perf tools";
  return nullptr;
}

}  // namespace tidal_perf
