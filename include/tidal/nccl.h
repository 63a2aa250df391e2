/*
 * nccl.h — the NCCL backend (device memory, CUDA streams). Available when
 * TIDAL_HAVE_CUDA is 1.
 *
 * A tidal NCCL communicator owns a communication stream. Each operation is
 * ordered after the work already queued on the user stream given at
 * creation (an event is recorded there and the communication stream waits
 * on it), runs on the communication stream, and records a completion event
 * in its request. tidal_wait blocks the host; tidal_request_wait_stream
 * makes a stream wait without blocking the host.
 */
#ifndef TIDAL_NCCL_H
#define TIDAL_NCCL_H

#include <cuda_runtime_api.h>
#include <nccl.h>

#include "tidal/tidal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates a unique id on one rank; share it with the others out of band. */
tidal_status_t tidal_nccl_get_unique_id(ncclUniqueId *id);

/* Collective over nranks processes (or threads, one GPU each): creates an
 * NCCL communicator for `rank` on the current CUDA device. `user_stream` is
 * the stream the caller computes on (may be 0 for the legacy stream).
 * `config` may be NULL. */
tidal_status_t tidal_comm_create_nccl(ncclUniqueId id, int nranks, int rank,
                                      cudaStream_t user_stream,
                                      const tidal_config_t *config,
                                      tidal_comm_t *comm);

/* Wraps an existing NCCL communicator. tidal does not take ownership:
 * tidal_comm_destroy leaves nccl_comm alive, tidal_comm_abort aborts it. */
tidal_status_t tidal_comm_wrap_nccl(ncclComm_t nccl_comm,
                                    cudaStream_t user_stream,
                                    const tidal_config_t *config,
                                    tidal_comm_t *comm);

/* Makes `stream` wait for `request` without blocking the host. On a host
 * (non-CUDA) communicator it waits on the host instead. */
tidal_status_t tidal_request_wait_stream(tidal_request_t request,
                                         cudaStream_t stream);

/* 1 when a CUDA device is usable in this process, else 0 (and the reason
 * in tidal_last_error()). Never fails. */
int tidal_cuda_device_available(void);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_NCCL_H */
