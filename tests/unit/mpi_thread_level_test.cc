// MPI initialised below MPI_THREAD_MULTIPLE: creation must fail with a
// clear message (tidal's progress thread calls MPI). Own main: the thread
// level is fixed at MPI_Init.
#include <mpi.h>

#include <cstdio>
#include <cstring>

#include "tidal/mpi.h"

int main(int argc, char** argv) {
  int failures = 0;
  tidal_comm_t comm = nullptr;
  // Before MPI_Init: invalid usage.
  if (tidal_comm_create_mpi(MPI_COMM_WORLD, nullptr, &comm) != TIDAL_ERR_INVALID_USAGE) {
    std::fprintf(stderr, "before MPI_Init: got %s\n", tidal_last_error());
    ++failures;
  }
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  tidal_status_t rc = tidal_comm_create_mpi(MPI_COMM_WORLD, nullptr, &comm);
  if (provided < MPI_THREAD_MULTIPLE &&
      (rc != TIDAL_ERR_UNSUPPORTED || std::strstr(tidal_last_error(), "MPI_THREAD_MULTIPLE") == nullptr ||
       comm != nullptr)) {
    std::fprintf(stderr, "SERIALIZED: got %s (%s)\n", tidal_status_string(rc), tidal_last_error());
    ++failures;
  }
  MPI_Finalize();
  std::printf("mpi thread level checks: %s\n", failures ? "FAILED" : "ok");
  return failures;
}
