/*
 * overlap.h — the overlap hooks of sharded data-parallel training, built on
 * a tensor list (tidal/bucket.h):
 *
 *  - the grad reducer (backward): the framework calls tidal_grad_ready as
 *    each gradient is produced; as soon as a bucket is complete it is
 *    packed (fused; on host memory by the marking thread) and its
 *    reduce-scatter (ZeRO-2/3) or all-reduce (ZeRO-1) queued, so
 *    communication overlaps the rest of backward;
 *  - the param gatherer (forward): tidal_param_prefetch queues a bucket's
 *    all-gather and fused unpack into the full parameters early;
 *    tidal_param_wait waits for it just before the layer runs.
 *
 * Collective order: every rank launches buckets in the same fixed order
 * (the list's bucket order), whatever order its gradients arrive in: a
 * bucket completed early is held until all earlier buckets are launched.
 * Ranks must mark the same gradients (all of them) in every synchronising
 * step and make the same prefetch/wait calls.
 *
 * Counters (tidal_bucket_counters_t) tell what each hook did and how long
 * callers were blocked in waits (the exposed communication); with
 * TIDAL_DEBUG=INFO the reducer logs them at each step.
 *
 * C99-clean. Memory: hooks never own the tensors; the grad reducer owns
 * its shard buffer; the gatherer reads a shard buffer the caller owns.
 * Destroy hooks before their tensor list, and lists before their
 * communicator.
 */
#ifndef TIDAL_OVERLAP_H
#define TIDAL_OVERLAP_H

#include "tidal/bucket.h"
#include "tidal/tidal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Grad reducer                                                        */
/* ------------------------------------------------------------------ */

typedef struct tidal_grad_reducer *tidal_grad_reducer_t;

typedef struct tidal_grad_reducer_options {
  size_t size;      /* sizeof(tidal_grad_reducer_options_t)                   */
  int all_reduce;   /* 0: reduce-scatter (ZeRO-2/3); 1: all-reduce (ZeRO-1:
                       the tensors receive the full reduced gradients too)   */
  tidal_op_t op;    /* default TIDAL_SUM; TIDAL_AVG averages                 */
  float pre_scale;  /* fused into the pack (e.g. 1/world, before casting)    */
  float post_scale; /* fused into the unpack                                 */
  int schedule;     /* tidal_schedule_t; TIDAL_SCHEDULE_UNSET = the comm's   */
  int pack_on_progress_thread;
                    /* 0 (default): on host memory, the thread whose
                       tidal_grad_ready completes a bucket packs it, so the
                       pack of bucket k+1 overlaps the collective of bucket
                       k (DDP copies into its buckets in the hook the same
                       way); 1: every pack runs on the communicator's
                       progress thread, between the collectives. Device
                       memory always packs on the communication stream.   */
} tidal_grad_reducer_options_t;

#define TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER \
  { sizeof(tidal_grad_reducer_options_t), 0, TIDAL_SUM, 1.0f, 1.0f, TIDAL_SCHEDULE_UNSET, 0 }

/* Creates a reducer over `grads` (create that list with
 * TIDAL_BUCKET_ORDER_REVERSE so the first bucket holds the gradients
 * backward produces first). Allocates the flat shard buffer (host or
 * device memory, like the tensors). Not collective; non-blocking.
 * `options` may be NULL. Errors: TIDAL_ERR_INVALID_ARGUMENT,
 * TIDAL_ERR_UNSUPPORTED (a scale of an integer dtype), TIDAL_ERR_NO_MEMORY. */
tidal_status_t tidal_grad_reducer_create(tidal_tensor_list_t grads,
                                         const tidal_grad_reducer_options_t *options,
                                         tidal_grad_reducer_t *reducer);

/* Waits for queued work that writes the shard, then frees the reducer and
 * its shard buffer. NULL is accepted. */
tidal_status_t tidal_grad_reducer_destroy(tidal_grad_reducer_t reducer);

/* Marks gradient `index` ready for this step: its values must not change
 * until tidal_grad_reducer_wait returns. Thread-safe; call from any thread
 * in any order. Non-blocking (it may queue buckets). Errors:
 * TIDAL_ERR_INVALID_ARGUMENT (index out of range), TIDAL_ERR_INVALID_USAGE
 * (marked twice in one step); nothing changes on error. */
tidal_status_t tidal_grad_ready(tidal_grad_reducer_t reducer, size_t index);

/* sync = 0 makes the following steps no-sync steps (gradient accumulation,
 * like DDP's no_sync): gradients are still marked, but nothing is
 * communicated and the caller keeps accumulating into the tensors. sync = 1
 * makes the next step reduce. Applies from the next step when called
 * during a step. Non-blocking. */
tidal_status_t tidal_grad_reducer_set_sync(tidal_grad_reducer_t reducer, int sync);

/* Ends the step: blocks until every bucket's reduction has landed in the
 * shard buffer (ZeRO-1: also in the tensors), bounded by the communicator
 * timeout, and returns its status. Calling it before every gradient was
 * marked returns TIDAL_ERR_INVALID_USAGE at once, naming a missing
 * gradient; the step then continues (mark the rest and wait again). */
tidal_status_t tidal_grad_reducer_wait(tidal_grad_reducer_t reducer);

/* Like tidal_grad_reducer_wait, but on a CUDA communicator makes `stream`
 * (a cudaStream_t) wait for the reductions without blocking the host, so
 * the optimizer kernels queued on it run after them. On host communicators
 * (or with stream == NULL) it waits on the host. Ends the step either way. */
tidal_status_t tidal_grad_reducer_wait_stream(tidal_grad_reducer_t reducer, void *stream);

/* The flat shard buffer (owned by the reducer; valid until destroy) and
 * its size: see tidal_tensor_list_shard_segments for its layout. */
tidal_status_t tidal_grad_reducer_shard(tidal_grad_reducer_t reducer, void **shard,
                                        size_t *bytes);

tidal_status_t tidal_grad_reducer_get_counters(tidal_grad_reducer_t reducer,
                                               tidal_bucket_counters_t *counters);

/* ------------------------------------------------------------------ */
/* Param gatherer                                                      */
/* ------------------------------------------------------------------ */

typedef struct tidal_param_gatherer *tidal_param_gatherer_t;

typedef struct tidal_param_gatherer_options {
  size_t size;               /* sizeof(tidal_param_gatherer_options_t)          */
  size_t depth;              /* buckets in flight at most (default 2)           */
  size_t max_inflight_bytes; /* cap on bytes in flight (0 = none); a single
                                bucket larger than the cap still runs alone    */
  float pre_scale;
  float post_scale;
  int schedule;
} tidal_param_gatherer_options_t;

#define TIDAL_PARAM_GATHERER_OPTIONS_INITIALIZER \
  { sizeof(tidal_param_gatherer_options_t), 2, 0, 1.0f, 1.0f, TIDAL_SCHEDULE_UNSET }

/* Creates a gatherer that fills the tensors of `params` (create that list
 * with TIDAL_BUCKET_ORDER_FORWARD) from this rank's `shard` (the caller's,
 * tidal_tensor_list_shard_bytes bytes, e.g. what a sharded optimizer steps
 * on; it must outlive the gatherer). Not collective; non-blocking. */
tidal_status_t tidal_param_gatherer_create(tidal_tensor_list_t params, const void *shard,
                                           const tidal_param_gatherer_options_t *options,
                                           tidal_param_gatherer_t *gatherer);

/* Waits for queued gathers, then frees the gatherer. NULL is accepted. */
tidal_status_t tidal_param_gatherer_destroy(tidal_param_gatherer_t gatherer);

/* Starts gathering `bucket` unless it is gathered or in flight. Beyond the
 * depth or byte cap the gather is deferred, and launched in prefetch order
 * as earlier buckets are waited for. Non-blocking. */
tidal_status_t tidal_param_prefetch(tidal_param_gatherer_t gatherer, size_t bucket);

/* Blocks until `bucket`'s parameters are gathered into the tensors
 * (launching it, and deferred buckets before it, if needed). The bucket
 * then stays gathered until tidal_param_release. Returns the gather's
 * status. */
tidal_status_t tidal_param_wait(tidal_param_gatherer_t gatherer, size_t bucket);

/* Like tidal_param_wait, but on a CUDA communicator makes `stream` (a
 * cudaStream_t) wait for the gather instead of the host (the layer's
 * kernels queued on it then run after it). Host communicators or NULL
 * stream: waits on the host. */
tidal_status_t tidal_param_wait_stream(tidal_param_gatherer_t gatherer, size_t bucket,
                                       void *stream);

/* Layer helper: "about to run the layer made of tensors [first, last]".
 * Waits for every bucket holding them, then prefetches the next `depth`
 * buckets. Blocking like tidal_param_wait. */
tidal_status_t tidal_param_gather_layer(tidal_param_gatherer_t gatherer, size_t first_tensor,
                                        size_t last_tensor);

/* The bucket's full parameters were freed or are stale: the next
 * prefetch/wait gathers it again. TIDAL_ERR_INVALID_USAGE while it is in
 * flight. bucket == SIZE_MAX releases every gathered bucket (start of a
 * new forward or backward pass). Non-blocking. */
tidal_status_t tidal_param_release(tidal_param_gatherer_t gatherer, size_t bucket);

tidal_status_t tidal_param_gatherer_get_counters(tidal_param_gatherer_t gatherer,
                                                 tidal_bucket_counters_t *counters);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_OVERLAP_H */
