#include "bench/perf/perf_mpi.h"

#include <cstdlib>
#include <cstring>

#include "tidal/tidal.h"

#if TIDAL_HAVE_MPI
#include <mpi.h>
#endif

namespace tidal_perf {

int launcher_process_count() {
  for (const char* name : {"PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"}) {
    const char* v = std::getenv(name);
    if (v && std::atoi(v) > 0) return std::atoi(v);
  }
  return 1;
}

#if TIDAL_HAVE_MPI

namespace {
MPI_Comm g_world = MPI_COMM_WORLD;
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (active_ && !finalized) MPI_Finalize();
}

bool MpiSession::init(std::string* error) {
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
    *error = "MPI_Init_thread failed";
    return false;
  }
  active_ = true;
  if (provided < MPI_THREAD_MULTIPLE) {
    *error = "the MPI library does not provide MPI_THREAD_MULTIPLE, which tidal needs";
    return false;
  }
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_free(&node);
  return true;
}

CrossProcessReduce MpiSession::reducer() {
  if (!active_ || size_ == 1) return nullptr;
  return [](double* value, TeamReduce how) {
    if (how == TeamReduce::kRank0) {
      MPI_Bcast(value, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
      return;
    }
    MPI_Op op = how == TeamReduce::kSum ? MPI_SUM : how == TeamReduce::kMin ? MPI_MIN : MPI_MAX;
    MPI_Allreduce(MPI_IN_PLACE, value, 1, MPI_DOUBLE, op, MPI_COMM_WORLD);
  };
}

std::vector<std::string> MpiSession::gather_text(const std::string& mine) {
  if (!active_ || size_ == 1) return {mine};
  int length = static_cast<int>(mine.size());
  std::vector<int> lengths(rank_ == 0 ? size_ : 0);
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> offsets(lengths.size());
  int total = 0;
  for (size_t p = 0; p < lengths.size(); ++p) offsets[p] = total, total += lengths[p];
  std::string all(static_cast<size_t>(total), '\0');
  MPI_Gatherv(mine.data(), length, MPI_CHAR, &all[0], lengths.data(), offsets.data(), MPI_CHAR,
              0, MPI_COMM_WORLD);
  std::vector<std::string> texts;
  for (size_t p = 0; p < lengths.size(); ++p) texts.push_back(all.substr(offsets[p], lengths[p]));
  return texts;
}

void MpiSession::broadcast_bytes(void* data, size_t bytes) {
  if (active_ && size_ > 1) MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, 0, MPI_COMM_WORLD);
}

bool MpiSession::allgather_bytes(const void* send, void* recv, size_t bytes) {
  if (!active_ || size_ == 1) {
    std::memcpy(recv, send, bytes);
    return true;
  }
  return MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes),
                       MPI_BYTE, MPI_COMM_WORLD) == MPI_SUCCESS;
}

const void* MpiSession::world_handle() const { return active_ ? &g_world : nullptr; }

void MpiSession::abort_job(int code) {
  if (active_) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

#else  // !TIDAL_HAVE_MPI

MpiSession::~MpiSession() = default;

bool MpiSession::init(std::string* error) {
  *error = "this libtidal was built without MPI (TIDAL_HAVE_MPI is 0)";
  return false;
}

CrossProcessReduce MpiSession::reducer() { return nullptr; }
std::vector<std::string> MpiSession::gather_text(const std::string& mine) { return {mine}; }
void MpiSession::broadcast_bytes(void*, size_t) {}
bool MpiSession::allgather_bytes(const void* send, void* recv, size_t bytes) {
  std::memcpy(recv, send, bytes);
  return true;
}
const void* MpiSession::world_handle() const { return nullptr; }
void MpiSession::abort_job(int code) { std::exit(code); }

#endif

}  // namespace tidal_perf
