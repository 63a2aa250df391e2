#include "bench/sim/rank_group.h"

#include <algorithm>

#include <fmt/format.h>

#include "tidal/local.h"
#include "tidal/version.h"

#if TIDAL_HAVE_MPI
#include <mpi.h>

#include "lib/transport/mpi/mpi_transport.h"
#include "tidal/mpi.h"
#endif
#if TIDAL_HAVE_UCX
#include "lib/transport/ucx/ucx_transport.h"
#include "tidal/oob.h"
#endif

namespace tidal {
namespace sim {

void ThreadGroup::barrier() {
  std::unique_lock<std::mutex> lock(mu_);
  if (abandoned_) return;
  const long my_generation = generation_;
  if (++arrived_ == n_) {
    arrived_ = 0;
    ++generation_;
    cv_.notify_all();
    return;
  }
  cv_.wait(lock, [&] { return generation_ != my_generation || abandoned_; });
}

double ThreadGroup::max(int rank, double value) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    values_[rank] = value;
  }
  barrier();
  double result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    result = *std::max_element(values_.begin(), values_.end());
  }
  barrier();  // nobody overwrites values_ before everyone has read it
  return result;
}

void ThreadGroup::abandon() {
  std::lock_guard<std::mutex> lock(mu_);
  abandoned_ = true;
  cv_.notify_all();
}

tidal_config_t config_with_schedule(int schedule) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.schedule = schedule;
  return config;
}

Status create_local_comms(int n, std::vector<tidal_comm_t>* ring,
                          std::vector<tidal_comm_t>* native) {
  tidal_config_t ring_config = config_with_schedule(TIDAL_SCHEDULE_RING);
  tidal_config_t native_config = config_with_schedule(TIDAL_SCHEDULE_NATIVE);
  if (tidal_comm_create_local(n, &ring_config, ring->data()) != TIDAL_SUCCESS ||
      tidal_comm_create_local(n, &native_config, native->data()) != TIDAL_SUCCESS) {
    return Status(TIDAL_ERR_TRANSPORT, fmt::format("local ranks: {}", tidal_last_error()));
  }
  return Status();
}

void destroy_comms(const FitComms& comms) {
  if (comms.ring) tidal_comm_destroy(comms.ring);
  if (comms.native) tidal_comm_destroy(comms.native);
}

#if TIDAL_HAVE_MPI
namespace {

class MpiRank final : public RankGroup {
 public:
  MpiRank() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void barrier() override { MPI_Barrier(MPI_COMM_WORLD); }
  double max(double value) override {
    double result = value;
    MPI_Allreduce(&value, &result, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return result;
  }

 private:
  int rank_ = 0;
  int size_ = 1;
};

#if TIDAL_HAVE_UCX
int mpi_allgather(const void* send, void* recv, size_t bytes, void*) {
  return MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes),
                       MPI_BYTE, MPI_COMM_WORLD);
}

Status create_ucx(int rank, int size, std::unique_ptr<Transport>* transport,
                  FitComms* comms) {
  tidal_oob_t oob = TIDAL_OOB_INITIALIZER;
  oob.allgather = mpi_allgather;
  oob.rank = rank;
  oob.nranks = size;
  tidal_config_t config = config_with_schedule(TIDAL_SCHEDULE_RING);
  if (tidal_comm_create_oob(&oob, "ucx", &config, &comms->ring) != TIDAL_SUCCESS) {
    return Status(TIDAL_ERR_TRANSPORT, fmt::format("ucx: {}", tidal_last_error()));
  }
  return UcxTransport::create(rank, size, [](const void* s, void* r, size_t b) {
    return mpi_allgather(s, r, b, nullptr) == MPI_SUCCESS
               ? Status()
               : Status(TIDAL_ERR_TRANSPORT, "MPI_Allgather failed");
  }, transport);
}
#endif

}  // namespace
#endif

Status create_process_rank(const std::string& backend, std::unique_ptr<RankGroup>* group,
                           std::unique_ptr<Transport>* transport, FitComms* comms) {
#if TIDAL_HAVE_MPI
  auto rank = std::make_unique<MpiRank>();
  if (backend == "mpi") {
    tidal_config_t ring = config_with_schedule(TIDAL_SCHEDULE_RING);
    tidal_config_t native = config_with_schedule(TIDAL_SCHEDULE_NATIVE);
    if (tidal_comm_create_mpi(MPI_COMM_WORLD, &ring, &comms->ring) != TIDAL_SUCCESS ||
        tidal_comm_create_mpi(MPI_COMM_WORLD, &native, &comms->native) != TIDAL_SUCCESS) {
      return Status(TIDAL_ERR_TRANSPORT, fmt::format("mpi: {}", tidal_last_error()));
    }
    TIDAL_RETURN_IF_ERROR(MpiTransport::create(MPI_COMM_WORLD, transport));
  } else {
#if TIDAL_HAVE_UCX
    TIDAL_RETURN_IF_ERROR(create_ucx(rank->rank(), rank->size(), transport, comms));
#else
    return Status(TIDAL_ERR_UNSUPPORTED, "tidal is built without UCX");
#endif
  }
  *group = std::move(rank);
  return Status();
#else
  (void)group;
  (void)transport;
  (void)comms;
  return Status(TIDAL_ERR_UNSUPPORTED,
                fmt::format("backend {} needs MPI, and tidal is built without it", backend));
#endif
}

}  // namespace sim
}  // namespace tidal
