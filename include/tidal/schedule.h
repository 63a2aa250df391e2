/*
 * schedule.h — choosing how a collective runs.
 *
 * A schedule says how a collective moves its data:
 *   TIDAL_SCHEDULE_NATIVE   the backend's own collective (MPI, NCCL, local);
 *                           on a backend without collectives (UCX) the ring.
 *   TIDAL_SCHEDULE_RING     one ring over all ranks, chunked.
 *   TIDAL_SCHEDULE_TORUS2D  X ranks per node x Y nodes: reduce-scatter
 *                           inside the node, then across nodes on 1/X of
 *                           the data; all-gather in reverse; chunks
 *                           pipelined so the two phases overlap.
 *   TIDAL_SCHEDULE_NDRING   one ring phase per dim of the layout.
 *   TIDAL_SCHEDULE_AUTO     picked per call from the layout and the size
 *                           by tidal's cost model (docs/schedules.md).
 * Every schedule gives the native result: rank r holds block r, whatever
 * the layout; with exact inputs the bytes are identical. For a fixed
 * schedule, layout and size the result is bitwise reproducible.
 *
 * Three ways to choose, the most specific wins:
 *   1. per call: the tidal_*_ex functions below take a schedule;
 *      TIDAL_SCHEDULE_UNSET means "the communicator's";
 *   2. per communicator: tidal_config_t.schedule at creation or split;
 *   3. per process: TIDAL_SCHEDULE=native|ring|torus2d|ndring|auto.
 * The layout (ranks per node, nodes, more dims) comes from
 * tidal_config_t.topology or TIDAL_TOPO ("8x16": 8 ranks per node, 16
 * nodes; "2x2x4": three dims, innermost first), else it is detected
 * (see tidal_comm_get_layout).
 *
 * Schedules move host memory (local, MPI, UCX). On NCCL only NATIVE (and
 * AUTO, which then means native) is supported: the others return
 * TIDAL_ERR_UNSUPPORTED. Schedules use p2p tags 32000..32767 internally:
 * user sends and receives must not use those tags while a collective runs.
 */
#ifndef TIDAL_SCHEDULE_H
#define TIDAL_SCHEDULE_H

#include "tidal/tidal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A static name ("native", "ring", "torus2d", "ndring", "auto"), or
 * "unknown". */
const char *tidal_schedule_name(tidal_schedule_t schedule);

/* Parses a name as TIDAL_SCHEDULE does. TIDAL_ERR_INVALID_ARGUMENT for an
 * unknown name or NULL arguments. */
tidal_status_t tidal_schedule_from_name(const char *name, tidal_schedule_t *schedule);

/* The collectives of tidal.h with a per-call schedule. Same arguments,
 * in-place rules, ownership and blocking behaviour as tidal.h (request
 * NULL = blocking). Errors known at once (bad arguments, an unknown
 * schedule, a topology that does not match the communicator's size: all
 * TIDAL_ERR_INVALID_ARGUMENT; a schedule the backend cannot run:
 * TIDAL_ERR_UNSUPPORTED) are returned before anything is queued. Every
 * rank must pass the same schedule. */
tidal_status_t tidal_all_gather_ex(const void *sendbuf, void *recvbuf, size_t sendcount,
                                   tidal_dtype_t dtype, tidal_schedule_t schedule,
                                   tidal_comm_t comm, tidal_request_t *request);
tidal_status_t tidal_reduce_scatter_ex(const void *sendbuf, void *recvbuf, size_t recvcount,
                                       tidal_dtype_t dtype, tidal_op_t op,
                                       tidal_schedule_t schedule, tidal_comm_t comm,
                                       tidal_request_t *request);
tidal_status_t tidal_all_reduce_ex(const void *sendbuf, void *recvbuf, size_t count,
                                   tidal_dtype_t dtype, tidal_op_t op,
                                   tidal_schedule_t schedule, tidal_comm_t comm,
                                   tidal_request_t *request);
/* All-to-all runs as a pairwise exchange under every non-native schedule. */
tidal_status_t tidal_all_to_all_ex(const void *sendbuf, void *recvbuf, size_t count,
                                   tidal_dtype_t dtype, tidal_schedule_t schedule,
                                   tidal_comm_t comm, tidal_request_t *request);
/* Broadcast runs as pipelined chains, outermost dim first. */
tidal_status_t tidal_broadcast_ex(const void *sendbuf, void *recvbuf, size_t count,
                                  tidal_dtype_t dtype, int root, tidal_schedule_t schedule,
                                  tidal_comm_t comm, tidal_request_t *request);

/* The layout schedules use on `comm`: dims innermost first (dims[0] =
 * ranks per node). From config.topology / TIDAL_TOPO when set (local, no
 * communication), else detected: local ranks are one node; MPI splits by
 * shared memory; other host backends exchange hostname hashes. Detection
 * is collective (every rank calls; blocks up to the timeout). Nodes with
 * unequal or non-consecutive ranks give one flat dim. Writes up to
 * max_dims entries and the true count in *ndims (TIDAL_ERR_INVALID_ARGUMENT
 * when max_dims is too small, after setting *ndims). */
tidal_status_t tidal_comm_get_layout(tidal_comm_t comm, int *dims, int max_dims, int *ndims);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_SCHEDULE_H */
