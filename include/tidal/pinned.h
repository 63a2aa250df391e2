/*
 * pinned.h — a pool of pinned host buffers for data loading and staging.
 *
 * The pool reserves its memory at creation (cudaHostAlloc when tidal is
 * built with CUDA and a GPU is usable, else page-aligned host memory,
 * optionally mlock'ed) and hands out blocks from size classes four per
 * power of two, so a block is at most 1.25x its request. A freed buffer is
 * reused only after the fence of its last reader: none (reuse at once), a
 * CPU fence the reader signals, or the CUDA stream that copies from it.
 * Counters report hits, misses, reservations, bytes in use and the
 * high-water mark, so a training loop can check it never allocates in
 * steady state.
 *
 * A loader stages batches through the pool with a prefetch depth: a
 * background thread fills the next batches while the loop uses the current
 * one.
 *
 * Every function returns a tidal_status_t (message in tidal_last_error()),
 * never aborts, and is thread-safe on one pool. C99-clean.
 */
#ifndef TIDAL_PINNED_H
#define TIDAL_PINNED_H

#include <stddef.h>
#include <stdint.h>

#include "tidal/tidal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tidal_pinned_pool *tidal_pinned_pool_t;
typedef struct tidal_pinned_fence *tidal_pinned_fence_t;
typedef struct tidal_pinned_loader *tidal_pinned_loader_t;

/* Pool configuration. Start from TIDAL_PINNED_CONFIG_INITIALIZER;
 * TIDAL_CONFIG_UNSET_SIZE / -1 mean "default"; the environment variable
 * beside a field overrides it. */
typedef struct tidal_pinned_config {
  size_t size;              /* sizeof(tidal_pinned_config_t)                */
  size_t preallocate_bytes; /* TIDAL_PINNED_BYTES; reserved at creation;
                               default 256 MiB                              */
  size_t growth_bytes;      /* later reservations when the first runs out;
                               0 = never grow (TIDAL_ERR_NO_MEMORY instead);
                               default 64 MiB                               */
  int use_cuda;             /* 0|1: cudaHostAlloc when usable; default 1    */
  int lock_memory;          /* 0|1: mlock plain host memory; default 0      */
} tidal_pinned_config_t;

#define TIDAL_PINNED_CONFIG_INITIALIZER \
  { sizeof(tidal_pinned_config_t), TIDAL_CONFIG_UNSET_SIZE, TIDAL_CONFIG_UNSET_SIZE, -1, -1 }

/* Creates a pool and reserves its memory. `config` may be NULL.
 * TIDAL_ERR_NO_MEMORY when the reservation fails. Blocks for the
 * reservation. */
tidal_status_t tidal_pinned_pool_create(const tidal_pinned_config_t *config,
                                        tidal_pinned_pool_t *pool);

/* Frees every reservation; buffers still handed out become invalid. Call it
 * after all copies from the pool's buffers have finished. NULL accepted. */
tidal_status_t tidal_pinned_pool_destroy(tidal_pinned_pool_t pool);

/* A buffer of at least `bytes` (256-byte aligned), owned by the pool, lent
 * to the caller until one of the free calls below. Never blocks.
 * TIDAL_ERR_NO_MEMORY when the reserve is spent and growth is off. */
tidal_status_t tidal_pinned_alloc(tidal_pinned_pool_t pool, size_t bytes, void **ptr);

/* Returns a buffer for reuse at once (no reader is still using it). */
tidal_status_t tidal_pinned_free(tidal_pinned_pool_t pool, void *ptr);

/* Returns a buffer that a reader still uses, and a fence for that reader:
 * the buffer is reused only after tidal_pinned_fence_signal(*fence). The
 * fence belongs to the pool; the reader must signal it exactly once and not
 * touch it afterwards. */
tidal_status_t tidal_pinned_free_after_fence(tidal_pinned_pool_t pool, void *ptr,
                                             tidal_pinned_fence_t *fence);

/* Signals that the reader of a buffer is done. Thread-safe, non-blocking. */
tidal_status_t tidal_pinned_fence_signal(tidal_pinned_fence_t fence);

/* Returns a buffer read by work queued on `cuda_stream` (a cudaStream_t;
 * NULL: the legacy default stream): an event is recorded there and the
 * buffer is reused only after it completes. TIDAL_ERR_UNSUPPORTED when no
 * GPU is usable. Non-blocking. */
tidal_status_t tidal_pinned_free_after_stream(tidal_pinned_pool_t pool, void *ptr,
                                              void *cuda_stream);

/* Usage counters. */
typedef struct tidal_pinned_stats {
  uint64_t hits;             /* allocations served by a cached block       */
  uint64_t misses;           /* allocations that carved a new block        */
  uint64_t host_allocations; /* reservations made (creation included)      */
  uint64_t fence_waits;      /* polls that found a freed block still fenced */
  uint64_t bytes_in_use;     /* block bytes lent out now                   */
  uint64_t requested_in_use; /* requested bytes lent out now               */
  uint64_t high_water;       /* max of bytes_in_use                        */
  uint64_t bytes_reserved;   /* all reservations                           */
  uint64_t bytes_carved;     /* reserved bytes made into blocks            */
  uint64_t pending_blocks;   /* freed blocks waiting for their fence       */
} tidal_pinned_stats_t;

tidal_status_t tidal_pinned_pool_stats(tidal_pinned_pool_t pool, tidal_pinned_stats_t *stats);

/* The block size that serves a request of `bytes` (<= 1.25x for requests
 * over 256 bytes; 256 below). */
size_t tidal_pinned_size_class(size_t bytes);

/* Fills batch `index` into `buffer` (`bytes` long). Runs on the loader's
 * thread. Return TIDAL_SUCCESS, or an error to stop the loader. */
typedef tidal_status_t (*tidal_pinned_fill_fn)(void *user, uint64_t index, void *buffer,
                                               size_t bytes);

/* Starts a loader that fills up to `depth` batches of `batch_bytes` ahead,
 * from `pool` (which must outlive it). `batch_count` 0 = endless. */
tidal_status_t tidal_pinned_loader_create(tidal_pinned_pool_t pool, size_t batch_bytes, int depth,
                                          uint64_t batch_count, tidal_pinned_fill_fn fill,
                                          void *user, tidal_pinned_loader_t *loader);

/* Blocks until the next batch is filled and lends it: *data (a pool buffer;
 * give it back with one of the tidal_pinned_free calls once read) and
 * *index. After the last batch, *data = NULL. Returns the fill function's
 * error if it failed. */
tidal_status_t tidal_pinned_loader_next(tidal_pinned_loader_t loader, void **data,
                                        uint64_t *index);

/* Stops the loader thread and returns undelivered batches to the pool.
 * NULL accepted. Blocks until the thread ends. */
tidal_status_t tidal_pinned_loader_destroy(tidal_pinned_loader_t loader);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_PINNED_H */
