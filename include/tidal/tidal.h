/*
 * tidal.h — the core C API of tidal: status codes, data types, reduce ops,
 * configuration, communicators, collectives and requests.
 *
 * C99-clean: no C++ or CUDA types. Backend-specific communicator creation
 * lives in its own header (tidal/local.h, tidal/mpi.h, tidal/nccl.h,
 * tidal/oob.h).
 *
 * Conventions (the same as NCCL and MPI):
 *  - Collective order: every rank of a communicator issues the same
 *    collectives in the same order. tidal runs them in issue order on one
 *    ordered queue per communicator, so requests complete in issue order.
 *  - Every function returns a tidal_status_t; TIDAL_SUCCESS is 0. On error
 *    a human-readable message is available from tidal_last_error() (this
 *    thread) and tidal_comm_last_error() (this communicator).
 *  - No function aborts the process.
 *  - Counts are element counts of the given data type.
 *  - In-place: all-gather with sendbuf == recvbuf + rank*sendcount,
 *    reduce-scatter with recvbuf == sendbuf + rank*recvcount, all-reduce and
 *    broadcast with sendbuf == recvbuf.
 */
#ifndef TIDAL_TIDAL_H
#define TIDAL_TIDAL_H

#include <stddef.h>
#include <stdint.h>

#include "tidal/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

typedef enum tidal_status {
  TIDAL_SUCCESS = 0,
  TIDAL_ERR_INVALID_ARGUMENT = 1, /* null pointer, bad count, unknown enum */
  TIDAL_ERR_INVALID_USAGE = 2,    /* wrong call order, use after destroy  */
  TIDAL_ERR_UNSUPPORTED = 3,      /* not built in, or not on this backend */
  TIDAL_ERR_MISMATCH = 4,         /* ranks disagree on a collective's args */
  TIDAL_ERR_TIMEOUT = 5,          /* an operation outlived its timeout    */
  TIDAL_ERR_ABORTED = 6,          /* the communicator was aborted         */
  TIDAL_ERR_TRANSPORT = 7,        /* the backend (MPI, NCCL, UCX) failed  */
  TIDAL_ERR_NO_MEMORY = 8,        /* an allocation failed                 */
  TIDAL_ERR_IO = 9,               /* a file operation failed              */
  TIDAL_ERR_CORRUPT = 10,         /* data failed validation (checksums)   */
  TIDAL_ERR_IN_PROGRESS = 11,     /* the operation has not completed yet  */
  TIDAL_ERR_INTERNAL = 12,        /* a bug in tidal: please report it     */
  TIDAL_STATUS_MAX_ENUM = 0x7fffffff /* keeps the enum int-sized */
} tidal_status_t;

/* A static, never-NULL English name for a status ("TIDAL_ERR_TIMEOUT: ..."). */
const char *tidal_status_string(tidal_status_t status);

/* The message of the last error raised on the calling thread, or "" when
 * none. The pointer stays valid until the next tidal call on this thread. */
const char *tidal_last_error(void);

/* ------------------------------------------------------------------ */
/* Data types and reduce ops                                           */
/* ------------------------------------------------------------------ */

typedef enum tidal_dtype {
  TIDAL_F32 = 0,
  TIDAL_F16 = 1,
  TIDAL_BF16 = 2,
  TIDAL_F64 = 3,
  TIDAL_I32 = 4,
  TIDAL_I64 = 5,
  TIDAL_U8 = 6,
  TIDAL_FP8_E4M3 = 7, /* OCP FP8 E4M3 (finite only, max 448, NaN 0x7f) */
  TIDAL_FP8_E5M2 = 8, /* OCP FP8 E5M2 (IEEE-like, max 57344)           */
  TIDAL_DTYPE_COUNT = 9,
  /* Not types: they make every int a valid value of the enum, so a wrong
   * value passed from C is reported as an error rather than being
   * undefined behaviour in C++. */
  TIDAL_DTYPE_INVALID = -1,
  TIDAL_DTYPE_MAX_ENUM = 0x7fffffff
} tidal_dtype_t;

/* Bytes per element, or 0 for an unknown type. */
size_t tidal_dtype_size(tidal_dtype_t dtype);
/* A static name ("f32", "bf16", "fp8_e4m3", ...) or "unknown". */
const char *tidal_dtype_name(tidal_dtype_t dtype);

typedef enum tidal_op {
  TIDAL_SUM = 0,
  TIDAL_PROD = 1,
  TIDAL_MAX = 2,
  TIDAL_MIN = 3,
  TIDAL_AVG = 4, /* sum divided by the communicator size */
  TIDAL_OP_COUNT = 5,
  TIDAL_OP_INVALID = -1,        /* not ops: see TIDAL_DTYPE_INVALID */
  TIDAL_OP_MAX_ENUM = 0x7fffffff
} tidal_op_t;

/* A static name ("sum", "prod", ...) or "unknown". */
const char *tidal_op_name(tidal_op_t op);

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

/* How a collective is executed (the schedules issue adds more). */
typedef enum tidal_schedule {
  TIDAL_SCHEDULE_UNSET = -1,
  TIDAL_SCHEDULE_NATIVE = 0, /* the backend's own collective */
  TIDAL_SCHEDULE_RING = 1,
  TIDAL_SCHEDULE_TORUS2D = 2,
  TIDAL_SCHEDULE_NDRING = 3,
  TIDAL_SCHEDULE_AUTO = 4,
  TIDAL_SCHEDULE_MAX_ENUM = 0x7fffffff
} tidal_schedule_t;

typedef enum tidal_log_level {
  TIDAL_LOG_UNSET = -1,
  TIDAL_LOG_NONE = 0,
  TIDAL_LOG_WARN = 1,
  TIDAL_LOG_INFO = 2,
  TIDAL_LOG_TRACE = 3,
  TIDAL_LOG_MAX_ENUM = 0x7fffffff
} tidal_log_level_t;

/* Communicator configuration. Always start from TIDAL_CONFIG_INITIALIZER
 * and set only the fields you need: unset fields take the value of the
 * documented environment variable if present, else the default. An
 * environment variable overrides a field set here (so a run can be tuned
 * without recompiling). The struct only grows at its end; `size` and
 * `version` let older binaries keep working with newer libraries. */
typedef struct tidal_config {
  size_t size;           /* sizeof(tidal_config_t), set by the initializer */
  unsigned int magic;    /* TIDAL_CONFIG_MAGIC                             */
  unsigned int version;  /* TIDAL_VERSION_CODE                             */
  double timeout_s;      /* TIDAL_TIMEOUT_S; default 300; <= 0: never      */
  int log_level;         /* TIDAL_DEBUG=WARN|INFO|TRACE; default WARN      */
  int schedule;          /* TIDAL_SCHEDULE=native|ring|...; default native */
  size_t bucket_bytes;   /* TIDAL_BUCKET_BYTES; default 25 MiB             */
  size_t first_bucket_bytes; /* TIDAL_FIRST_BUCKET_BYTES; default 1 MiB    */
  const char *topology;  /* TIDAL_TOPO, e.g. "8x16"; NULL = detect         */
  int check_args;        /* TIDAL_CHECK_ARGS=0|1: compare every collective's
                            arguments across ranks before running it
                            (default 0; the local backend always checks)   */
  int direct_buckets;    /* TIDAL_DIRECT_BUCKETS=0|1: on a backend whose
                            ranks read each other's memory (local threads)
                            a bucketed reduce-scatter reads the tensors and
                            an all-gather writes them where they live, with
                            no pack or unpack pass (default 1; 0 always
                            packs, for comparison)                          */
} tidal_config_t;

#define TIDAL_CONFIG_MAGIC 0x7d1a1c0fu
#define TIDAL_CONFIG_UNSET_SIZE ((size_t)-1)
#define TIDAL_CONFIG_UNSET_DOUBLE (-1.0e300)
#define TIDAL_CONFIG_UNSET_INT (-1)

#define TIDAL_CONFIG_INITIALIZER                                              \
  {                                                                           \
    sizeof(tidal_config_t), TIDAL_CONFIG_MAGIC, TIDAL_VERSION_CODE,           \
        TIDAL_CONFIG_UNSET_DOUBLE, TIDAL_LOG_UNSET, TIDAL_SCHEDULE_UNSET,     \
        TIDAL_CONFIG_UNSET_SIZE, TIDAL_CONFIG_UNSET_SIZE, NULL,               \
        TIDAL_CONFIG_UNSET_INT, TIDAL_CONFIG_UNSET_INT                        \
  }

/* ------------------------------------------------------------------ */
/* Communicators                                                       */
/* ------------------------------------------------------------------ */

/* An opaque communicator: a group of ranks and the backend that connects
 * them. Created by a backend header's function; destroyed here. */
typedef struct tidal_comm *tidal_comm_t;

/* An opaque handle to one queued operation. */
typedef struct tidal_request *tidal_request_t;

/* Rank and size of the calling rank in `comm`. */
tidal_status_t tidal_comm_rank(tidal_comm_t comm, int *rank);
tidal_status_t tidal_comm_size(tidal_comm_t comm, int *size);

/* 1 when `backend` ("local", "mpi", "ucx", "nccl") is built into this
 * libtidal, else 0. */
int tidal_backend_available(const char *backend);

/* The linked libtidal's version as TIDAL_VERSION_CODE (major*10000 +
 * minor*100 + patch) of its own build, like ncclGetVersion: a program
 * built against other headers, or one loading the library at run time
 * (Python's ctypes), compares it with the version it was written for.
 * Errors: TIDAL_ERR_INVALID_ARGUMENT (version is NULL). */
tidal_status_t tidal_get_version(int *version);

/* The name of the backend ("local", "mpi", "nccl", "ucx"). */
tidal_status_t tidal_comm_backend(tidal_comm_t comm, const char **name);

/* The message of the last error raised on `comm` ("" when none). Valid
 * until the communicator is destroyed or raises another error. Accepts a
 * NULL comm (returns ""). */
const char *tidal_comm_last_error(tidal_comm_t comm);

/* The effective configuration of `comm` (config and environment merged).
 * `config` must be initialised with TIDAL_CONFIG_INITIALIZER. */
tidal_status_t tidal_comm_get_config(tidal_comm_t comm, tidal_config_t *config);

/* Collective: every rank of `comm` calls it with its own color and key.
 * Ranks with the same color form a new communicator, ordered by key then by
 * old rank. color < 0 (TIDAL_SPLIT_NOCOLOR) returns *newcomm = NULL.
 * Blocks until the new communicator exists (bounded by the timeout).
 * `config` may be NULL (inherit the parent's). */
#define TIDAL_SPLIT_NOCOLOR (-1)
tidal_status_t tidal_comm_split(tidal_comm_t comm, int color, int key,
                                const tidal_config_t *config,
                                tidal_comm_t *newcomm);

/* Waits for every queued operation, then frees the communicator. Requests
 * of the communicator must still be freed with tidal_request_free. NULL is
 * accepted (a split's TIDAL_SPLIT_NOCOLOR result); a handle already
 * destroyed is TIDAL_ERR_INVALID_USAGE. */
tidal_status_t tidal_comm_destroy(tidal_comm_t comm);

/* Stops the communicator now: queued and running operations fail with
 * TIDAL_ERR_ABORTED and every waiter is released. Call it when a peer is
 * lost or a timeout struck; then destroy the communicator. Never blocks on
 * peers. */
tidal_status_t tidal_comm_abort(tidal_comm_t comm);

/* The first asynchronous error of `comm` (TIDAL_SUCCESS when none): a
 * failed or timed-out operation leaves the communicator broken, and later
 * operations fail fast with the same status. Non-blocking. */
tidal_status_t tidal_comm_get_async_error(tidal_comm_t comm,
                                          tidal_status_t *async_error);

/* ------------------------------------------------------------------ */
/* Collectives                                                         */
/* ------------------------------------------------------------------ */
/* Each collective validates its arguments, queues the operation and
 * returns at once with *request set; the operation runs in issue order.
 * Buffers must stay valid and unmodified until the request completes.
 * `request` may be NULL: the call then waits for completion and returns
 * the operation's status (a blocking call). */

/* recvbuf (size*sendcount elements) receives every rank's sendbuf, in rank
 * order. */
tidal_status_t tidal_all_gather(const void *sendbuf, void *recvbuf,
                                size_t sendcount, tidal_dtype_t dtype,
                                tidal_comm_t comm, tidal_request_t *request);

/* sendbuf holds size*recvcount elements; rank r receives in recvbuf the
 * reduction over ranks of block r. */
tidal_status_t tidal_reduce_scatter(const void *sendbuf, void *recvbuf,
                                    size_t recvcount, tidal_dtype_t dtype,
                                    tidal_op_t op, tidal_comm_t comm,
                                    tidal_request_t *request);

tidal_status_t tidal_all_reduce(const void *sendbuf, void *recvbuf,
                                size_t count, tidal_dtype_t dtype,
                                tidal_op_t op, tidal_comm_t comm,
                                tidal_request_t *request);

/* Block j of sendbuf (count elements) goes to rank j; block i of recvbuf
 * comes from rank i. Not in-place. */
tidal_status_t tidal_all_to_all(const void *sendbuf, void *recvbuf,
                                size_t count, tidal_dtype_t dtype,
                                tidal_comm_t comm, tidal_request_t *request);

/* root's sendbuf is copied to every rank's recvbuf (sendbuf is read on the
 * root only and may be NULL elsewhere). */
tidal_status_t tidal_broadcast(const void *sendbuf, void *recvbuf,
                               size_t count, tidal_dtype_t dtype, int root,
                               tidal_comm_t comm, tidal_request_t *request);

/* Point-to-point. A send matches the receive of the same peer and tag in
 * issue order; sizes must agree (TIDAL_ERR_MISMATCH otherwise). On host
 * backends a send completes once its data is buffered or delivered, never
 * waiting for the matching receive, so two ranks may both send first. On
 * NCCL the semantics are NCCL's (a send waits for its receive). peer must
 * differ from the caller's rank; 0 <= tag < TIDAL_TAG_RESERVED (tags from
 * there on carry tidal's own schedule traffic). */
#define TIDAL_TAG_RESERVED 32000
tidal_status_t tidal_send(const void *buf, size_t count, tidal_dtype_t dtype,
                          int peer, int tag, tidal_comm_t comm,
                          tidal_request_t *request);
tidal_status_t tidal_recv(void *buf, size_t count, tidal_dtype_t dtype,
                          int peer, int tag, tidal_comm_t comm,
                          tidal_request_t *request);

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

/* Non-blocking: *done = 1 when the request has completed (then returns the
 * operation's status), else *done = 0 and TIDAL_SUCCESS. */
tidal_status_t tidal_test(tidal_request_t request, int *done);

/* Blocks until the request completes; returns the operation's status. The
 * communicator's timeout bounds the wait. The request stays valid. */
tidal_status_t tidal_wait(tidal_request_t request);

/* Waits for all n requests (NULL entries are skipped); returns the first
 * failure in array order, or TIDAL_SUCCESS. */
tidal_status_t tidal_wait_all(size_t n, tidal_request_t *requests);

/* Frees a request. An incomplete request is detached: the operation still
 * runs to completion. NULL is accepted. */
tidal_status_t tidal_request_free(tidal_request_t request);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_TIDAL_H */
