/*
 * oob.h — framework-agnostic bootstrap (UCC style). A framework that has
 * its own way to exchange bytes between ranks (a key-value store, a
 * launcher's PMI, its own sockets) passes an out-of-band all-gather here and
 * tidal builds a communicator on it without MPI.
 */
#ifndef TIDAL_OOB_H
#define TIDAL_OOB_H

#include "tidal/tidal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Must gather `bytes` bytes from every rank into recvbuf (nranks*bytes, in
 * rank order) and return 0 on success, non-zero on failure. Called from
 * the thread that creates the communicator, collectively, only during
 * creation. */
typedef int (*tidal_oob_allgather_fn)(const void *sendbuf, void *recvbuf,
                                      size_t bytes, void *user);

typedef struct tidal_oob {
  size_t size;                      /* sizeof(tidal_oob_t)             */
  tidal_oob_allgather_fn allgather; /* required                        */
  void *user;                       /* passed to allgather             */
  int rank;                         /* this rank, 0 <= rank < nranks   */
  int nranks;                       /* number of ranks                 */
} tidal_oob_t;

#define TIDAL_OOB_INITIALIZER {sizeof(tidal_oob_t), NULL, NULL, -1, 0}

/* Collective: creates a communicator of oob->nranks ranks on `backend`:
 * "ucx" (host memory, any processes that can reach each other) or "nccl"
 * (one GPU per rank; the unique id travels through the OOB all-gather).
 * NULL picks "nccl" when a GPU is usable, else "ucx". Returns
 * TIDAL_ERR_UNSUPPORTED when the backend is not built in. */
tidal_status_t tidal_comm_create_oob(const tidal_oob_t *oob,
                                     const char *backend,
                                     const tidal_config_t *config,
                                     tidal_comm_t *comm);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_OOB_H */
