/*
 * bucket.h — tensor lists and the bucketed collectives.
 *
 * A tensor list registers many tensors (a model's parameters or gradients)
 * once. tidal groups them into buckets (docs/bucketing.md gives the rules:
 * tensors are split at bucket boundaries, buckets are padded to divide by
 * the communicator size, one dtype per bucket, a small first bucket) and
 * builds the descriptor tables of the fused pack/unpack kernels. A bucketed
 * collective then runs, per bucket, ONE fused pack pass, ONE collective and
 * ONE fused unpack pass, all queued in order on the communicator.
 *
 * Every rank owns a flat shard buffer: the concatenation of its block of
 * every bucket (tidal_tensor_list_shard_bytes bytes, each bucket's block in
 * the tensors' storage dtype). Reduce-scatter writes it; all-gather reads
 * it. tidal_tensor_list_shard_segments says which tensor elements a rank
 * owns and where they sit in the shard buffer.
 *
 * C99-clean. Thread safety: calls on one list must not race with each
 * other (the overlap hooks in tidal/overlap.h are the exception: they are
 * made for concurrent use).
 */
#ifndef TIDAL_BUCKET_H
#define TIDAL_BUCKET_H

#include "tidal/tidal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One tensor: `count` elements of `dtype` at `data` (host memory on host
 * backends, device memory on NCCL). `data` is ignored in zero-copy mode. */
typedef struct tidal_tensor_desc {
  void *data;
  size_t count;
  tidal_dtype_t dtype;
} tidal_tensor_desc_t;

typedef enum tidal_bucket_order {
  TIDAL_BUCKET_ORDER_FORWARD = 0, /* bucket 0 holds the first tensors (params)   */
  TIDAL_BUCKET_ORDER_REVERSE = 1  /* bucket 0 holds the last tensors (gradients) */
} tidal_bucket_order_t;

/* How a list is bucketed. Start from TIDAL_BUCKET_OPTIONS_INITIALIZER. */
typedef struct tidal_bucket_options {
  size_t size;               /* sizeof(tidal_bucket_options_t)                 */
  size_t bucket_bytes;       /* capacity in communicated bytes; 0 = the comm's
                                config (TIDAL_BUCKET_BYTES, default 25 MiB)     */
  size_t first_bucket_bytes; /* capacity of the first bucket; TIDAL_CONFIG_UNSET_SIZE
                                = the comm's config (TIDAL_FIRST_BUCKET_BYTES,
                                default 1 MiB); 0 = no smaller first bucket     */
  size_t align_bytes;        /* tensor start alignment, a power of two; 0 = 16 */
  int order;                 /* tidal_bucket_order_t                            */
  int comm_dtype;            /* -1: communicate in the tensors' dtype;
                                TIDAL_BF16 or TIDAL_F16: f32 tensors are cast
                                for communication (fused into pack/unpack);
                                TIDAL_FP8_E4M3 or TIDAL_FP8_E5M2: f32, bf16
                                and f16 tensors travel as block-scaled FP8
                                (tidal/fp8.h; all-gather only, see below)     */
  int zero_copy;             /* 1: tidal allocates the tensors inside the
                                buckets (get them with tidal_tensor_list_data);
                                no pack/unpack pass is needed                   */
  /* Added in 0.1 after the fields above (an older caller's struct ends
   * before them and gets the defaults). */
  size_t fp8_block;          /* FP8 comm_dtype: elements per scale; 0 = 128    */
  int fp8_pow2_scales;       /* FP8 comm_dtype: 1 = power-of-two scales        */
} tidal_bucket_options_t;

#define TIDAL_BUCKET_OPTIONS_INITIALIZER                                      \
  { sizeof(tidal_bucket_options_t), 0, TIDAL_CONFIG_UNSET_SIZE, 0,            \
    TIDAL_BUCKET_ORDER_FORWARD, -1, 0, 0, 0 }

typedef struct tidal_tensor_list *tidal_tensor_list_t;

/* Collective over `comm`: registers n tensors. Every rank must pass the
 * same counts, dtypes and options (pointers differ); a rank that does not
 * makes every rank fail with TIDAL_ERR_MISMATCH. Blocks until all ranks
 * have registered. The tensors' memory stays the caller's and must outlive
 * the list; tidal allocates the bucket storage (the size of the model in
 * the communication dtype) and frees it in tidal_tensor_list_destroy.
 * `options` may be NULL (defaults). Errors: TIDAL_ERR_INVALID_ARGUMENT
 * (NULL, n == 0, a zero-element tensor, a NULL or wrong-memory-kind
 * pointer, bad options), TIDAL_ERR_UNSUPPORTED (a cast other than f32 to
 * bf16/f16 or to FP8; FP8 with zero-copy),
 * TIDAL_ERR_NO_MEMORY.
 *
 * FP8 communication (comm_dtype TIDAL_FP8_E4M3 / TIDAL_FP8_E5M2) is for
 * parameters, as FSDP's float8 all-gather: each rank encodes its block of
 * a bucket (one byte per element plus an f32 scale per fp8_block elements
 * of its block), ONE all-gather moves the bytes and scales of every rank,
 * and the unpack decodes them into the tensors (in their own dtype). A
 * bucket moves about a quarter of its f32 bytes. Host memory runs the CPU
 * codec; device memory (NCCL) its CUDA kernels, on the communication
 * stream, with the same bytes and scales. Reductions in FP8 lose too
 * much precision to be offered: reduce-scatter and all-reduce of such a
 * list (and a grad reducer over one) fail with TIDAL_ERR_UNSUPPORTED. */
tidal_status_t tidal_tensor_list_create(tidal_comm_t comm, const tidal_tensor_desc_t *tensors,
                                        size_t n, const tidal_bucket_options_t *options,
                                        tidal_tensor_list_t *list);

/* Waits for the communicator's queued work (which may use the buckets),
 * then frees the list. Destroy lists before their communicator. NULL is
 * accepted. */
tidal_status_t tidal_tensor_list_destroy(tidal_tensor_list_t list);

/* Number of buckets. Non-blocking. */
tidal_status_t tidal_tensor_list_num_buckets(tidal_tensor_list_t list, size_t *n);

/* One bucket, in launch order. */
typedef struct tidal_bucket_info {
  tidal_dtype_t dtype;      /* the tensors' (storage) dtype            */
  tidal_dtype_t comm_dtype; /* the dtype communicated                  */
  size_t count;             /* elements, padding included              */
  size_t shard_count;       /* count / communicator size               */
  size_t shard_offset;      /* bytes into the shard buffer             */
  size_t first_tensor;      /* lowest tensor index in the bucket       */
  size_t last_tensor;       /* highest tensor index in the bucket      */
} tidal_bucket_info_t;

tidal_status_t tidal_tensor_list_bucket_info(tidal_tensor_list_t list, size_t bucket,
                                             tidal_bucket_info_t *info);

/* Bytes of this rank's flat shard buffer. */
tidal_status_t tidal_tensor_list_shard_bytes(tidal_tensor_list_t list, size_t *bytes);

/* The tensor's memory: the registered pointer, or in zero-copy mode its
 * place inside the bucket storage (owned by the list). */
tidal_status_t tidal_tensor_list_data(tidal_tensor_list_t list, size_t tensor, void **data);

/* The first and last bucket (launch order) holding elements of `tensor`
 * (a tensor larger than a bucket spans several). With tensors of several
 * dtypes, buckets of another dtype may sit between the two. */
tidal_status_t tidal_tensor_list_buckets_of(tidal_tensor_list_t list, size_t tensor,
                                            size_t *first_bucket, size_t *last_bucket);

/* A run of a tensor that this rank owns: elements [tensor_offset,
 * tensor_offset + count) sit at byte `shard_offset` of the shard buffer. */
typedef struct tidal_shard_segment {
  size_t bucket;
  size_t tensor_offset;
  size_t shard_offset;
  size_t count;
} tidal_shard_segment_t;

/* Writes up to `max` runs of `tensor` owned by this rank into `segments`
 * (may be NULL when max is 0) and their total number into *n. */
tidal_status_t tidal_tensor_list_shard_segments(tidal_tensor_list_t list, size_t tensor,
                                                tidal_shard_segment_t *segments, size_t max,
                                                size_t *n);

/* Options of one bucketed collective. Start from the initializer. */
typedef struct tidal_bucketed_options {
  size_t size;      /* sizeof(tidal_bucketed_options_t)                          */
  float pre_scale;  /* multiply while packing into the communication dtype      */
  float post_scale; /* multiply while unpacking out of it (e.g. 1/world)        */
  int schedule;     /* tidal_schedule_t; TIDAL_SCHEDULE_UNSET = the comm's      */
  int passes_on_progress_thread;
                    /* 0 (default): on host memory the packs (reduce-scatter)
                       or unpacks (all-gather) run on the list's pack worker
                       thread, overlapping the other buckets' collectives;
                       1: on the progress thread, between the collectives.
                       Device memory: kernels on the stream, either way.      */
} tidal_bucketed_options_t;

#define TIDAL_BUCKETED_OPTIONS_INITIALIZER \
  { sizeof(tidal_bucketed_options_t), 1.0f, 1.0f, TIDAL_SCHEDULE_UNSET, 0 }

/* Reduce-scatters every tensor of the list with `op`: this rank's reduced
 * blocks land in `shard` (tidal_tensor_list_shard_bytes bytes, the
 * caller's). Per bucket: one fused pack (tensors -> bucket, with
 * pre_scale and the cast), one reduce-scatter through the schedule layer,
 * and, when casting or post-scaling, one fused unpack into `shard`.
 * Queues and returns at once with one *request for the whole list (NULL
 * request: blocks until done). The tensors must not change and `shard`
 * must not be read until the request completes. In zero-copy mode a
 * pre_scale other than 1 scales the tensors in place. Errors:
 * TIDAL_ERR_INVALID_ARGUMENT (NULL), TIDAL_ERR_UNSUPPORTED (a scale of an
 * integer dtype); a failing step fails the request. */
tidal_status_t tidal_bucketed_reduce_scatter(tidal_tensor_list_t list, void *shard,
                                             tidal_op_t op,
                                             const tidal_bucketed_options_t *options,
                                             tidal_request_t *request);

/* All-gathers the list: every rank's `shard` blocks are gathered into the
 * full tensors (one fused pack of the shard when casting or pre-scaling,
 * one all-gather, one fused unpack into the tensors per bucket; in
 * zero-copy mode the gather lands in the tensors directly). Same request,
 * ownership and error rules as tidal_bucketed_reduce_scatter. */
tidal_status_t tidal_bucketed_all_gather(tidal_tensor_list_t list, const void *shard,
                                         const tidal_bucketed_options_t *options,
                                         tidal_request_t *request);

/* What a list, grad reducer or param gatherer did since it was created. */
typedef struct tidal_bucket_counters {
  uint64_t buckets_launched;   /* bucket collectives queued                  */
  uint64_t collective_calls;   /* collectives queued (one per bucket)        */
  uint64_t pack_calls;         /* fused pack passes run                      */
  uint64_t unpack_calls;       /* fused unpack passes run                    */
  uint64_t bytes_communicated; /* bucket bytes handed to collectives         */
  uint64_t pack_ns;            /* host time in pack passes (GPU: launches)   */
  uint64_t unpack_ns;
  uint64_t wait_ns;            /* time callers were blocked waiting (exposed
                                  communication)                             */
  uint64_t steps;              /* completed reducer waits / gatherer rounds  */
  uint64_t overlapped_passes;  /* pack and unpack passes run off the progress
                                  thread (a grad reducer's marking thread,
                                  a host list's pack worker), overlapping
                                  the collectives                           */
  uint64_t direct_buckets;     /* bucket collectives that read (reduce-
                                  scatter) or wrote (all-gather) the tensors
                                  where they live, with no pack or unpack
                                  pass: local threads, plain buckets (see
                                  tidal_config_t.direct_buckets)            */
} tidal_bucket_counters_t;

/* Counters of the list's own bucketed collectives. Non-blocking. */
tidal_status_t tidal_tensor_list_get_counters(tidal_tensor_list_t list,
                                              tidal_bucket_counters_t *counters);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_BUCKET_H */
