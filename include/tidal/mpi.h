/*
 * mpi.h — the MPI backend (MPICH). Include <mpi.h> before or through this
 * header. Available when TIDAL_HAVE_MPI is 1.
 *
 * tidal's progress threads call MPI, so MPI must be initialised with
 * MPI_Init_thread(..., MPI_THREAD_MULTIPLE, ...); creation fails with
 * TIDAL_ERR_UNSUPPORTED and says so otherwise.
 */
#ifndef TIDAL_MPI_H
#define TIDAL_MPI_H

#include <mpi.h>

#include "tidal/tidal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Collective over `mpi_comm`: creates a tidal communicator over a duplicate
 * of it (tidal never uses the caller's communicator directly, so the
 * caller may keep using it and free it at any time). `config` may be
 * NULL. Blocks until every rank of mpi_comm has called it. */
tidal_status_t tidal_comm_create_mpi(MPI_Comm mpi_comm,
                                     const tidal_config_t *config,
                                     tidal_comm_t *comm);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_MPI_H */
