/*
 * tune.h — the bucket-size tuner (docs/tuning.md).
 *
 * Three steps, each usable alone:
 *  1. a communication profile: T_comm(b), the time of one bucket's
 *     collective of b bytes, per collective kind. Measure it on a live
 *     communicator (tidal_measure_comm_profile), load it from a file, or
 *     give an alpha-beta fit;
 *  2. the model: tidal_tune_bucket_size predicts each candidate bucket
 *     size's exposed communication and iteration time from phi (bytes per
 *     step), the backward (and forward) compute time and the profile, and
 *     recommends the best;
 *  3. refinement: tidal_tune_refine measures a few sizes around the pick
 *     with the real grad reducer and a synthetic backward that paces the
 *     gradients by sleeping (no CPU), and recommends the measured best.
 * tidal_tune_auto_bucket_bytes does all three in one collective call; it is
 * what TIDAL_BUCKET_BYTES=auto resolves to.
 *
 * Bytes follow nccl-tests: the whole bucket (reduce-scatter input,
 * all-gather output, all-reduce buffer). Times are seconds.
 *
 * C99-clean. Profiles and results are plain objects owned by the caller
 * (create/destroy); they are not thread-safe. Structs carry their size
 * first and only grow at the end: start from their initializer macros.
 */
#ifndef TIDAL_TUNE_H
#define TIDAL_TUNE_H

#include "tidal/tidal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The collective of one bucket. */
typedef enum tidal_tune_collective {
  TIDAL_TUNE_REDUCE_SCATTER = 0, /* gradients, ZeRO-2/3              */
  TIDAL_TUNE_ALL_GATHER = 1,     /* parameters, ZeRO-3 forward       */
  TIDAL_TUNE_ALL_REDUCE = 2,     /* gradients, ZeRO-1 / DDP          */
  TIDAL_TUNE_COLLECTIVE_MAX_ENUM = 0x7fffffff
} tidal_tune_collective_t;

/* ------------------------------------------------------------------ */
/* Communication profiles                                              */
/* ------------------------------------------------------------------ */

/* T_comm(b) per collective kind. A measured curve is interpolated
 * piecewise linearly in log(bytes)-log(seconds); below its smallest size it
 * keeps the smallest time, above its largest it keeps the largest size's
 * bandwidth. A kind without a curve borrows its partner's (reduce-scatter
 * <-> all-gather); all-reduce needs its own. */
typedef struct tidal_comm_profile *tidal_comm_profile_t;

/* Creates an empty profile. Errors: TIDAL_ERR_INVALID_ARGUMENT (NULL). */
tidal_status_t tidal_comm_profile_create(tidal_comm_profile_t *profile);
/* Frees a profile. NULL is accepted. */
tidal_status_t tidal_comm_profile_destroy(tidal_comm_profile_t profile);

/* Adds n measured points (bytes[i] > 0, seconds[i] > 0) to `collective`'s
 * curve (a point at an existing size replaces it; a curve that was an
 * alpha-beta fit becomes a measured one). Nothing is added on error
 * (TIDAL_ERR_INVALID_ARGUMENT: NULL, n == 0, a non-positive value). */
tidal_status_t tidal_comm_profile_add(tidal_comm_profile_t profile,
                                      tidal_tune_collective_t collective,
                                      const size_t *bytes, const double *seconds,
                                      size_t n);

/* Adds n points to `collective`'s ALONE curve: the time of one bucket with
 * nothing queued before it, from ready to done (pack, the collective's
 * start-up and the collective). The model charges it to a bucket launched
 * on an idle link, such as the last bucket after the backward; the curve of
 * tidal_comm_profile_add (a bucket queued behind others) stays the
 * throughput. Optional: without it the queued curve stands for both. Same
 * rules and errors as tidal_comm_profile_add. */
tidal_status_t tidal_comm_profile_add_alone(tidal_comm_profile_t profile,
                                            tidal_tune_collective_t collective,
                                            const size_t *bytes, const double *seconds,
                                            size_t n);

/* Adds n points to `collective`'s PACK curve: the time the thread that
 * marks gradients ready spends packing a bucket whose last gradient it
 * marked (a host list's grad reducer packs there; a CUDA list only
 * launches). The model delays the marks after it until it is done, so a
 * pack slower than the gap between gradients stretches the backward.
 * Optional: without it marking costs nothing. Same rules and errors as
 * tidal_comm_profile_add. */
tidal_status_t tidal_comm_profile_add_pack(tidal_comm_profile_t profile,
                                           tidal_tune_collective_t collective,
                                           const size_t *bytes, const double *seconds,
                                           size_t n);

/* Makes `collective`'s curve alpha_s + bytes / beta_Bps (alpha >= 0,
 * beta > 0), replacing measured points. */
tidal_status_t tidal_comm_profile_set_alpha_beta(tidal_comm_profile_t profile,
                                                 tidal_tune_collective_t collective,
                                                 double alpha_s, double beta_Bps);

/* T_comm(bytes) of `collective` as the model sees it. Errors:
 * TIDAL_ERR_INVALID_ARGUMENT (NULL, bytes == 0, no curve for it). */
tidal_status_t tidal_comm_profile_seconds(tidal_comm_profile_t profile,
                                          tidal_tune_collective_t collective,
                                          size_t bytes, double *seconds);

/* ------------------------------------------------------------------ */
/* Measuring a profile                                                 */
/* ------------------------------------------------------------------ */

typedef void (*tidal_tune_progress_fn)(void *user, size_t done, size_t total,
                                       size_t bucket_bytes);

typedef struct tidal_measure_options {
  size_t size;          /* sizeof(tidal_measure_options_t)                     */
  int repetitions;      /* timed runs per size; the median is kept (>= 1)      */
  int warmup;           /* untimed runs per size first (>= 0)                  */
  int include_pack;     /* 1: time the path buckets take in a step: for
                           reduce-scatter the grad reducer's own (a reducer
                           over one-bucket tensors, every gradient marked at
                           once: the marking thread packs, the progress
                           thread reduces); for all-gather the bucketed
                           all-gather of a one-bucket tensor list (collective
                           + fused unpack). 0: the bare collective.
                           All-reduce is always the bare one.                */
  tidal_tune_progress_fn progress; /* called on rank 0 after each size; may
                                      be NULL                               */
  void *progress_user;
  size_t stream_bytes;  /* bytes each size's stream of back-to-back buckets
                           covers (the working set the caches see); 0 = 64
                           MiB. Set it to the step's gradient bytes (capped
                           by memory: it allocates twice this per rank) so
                           the profile meets memory as a real step does.  */
  double *alone_seconds_out; /* NULL, or n entries: each size's time for ONE
                                bucket run alone on the same path (for
                                tidal_comm_profile_add_alone), median over
                                repetitions, max over ranks                */
  double *pack_seconds_out;  /* NULL, or n entries: each size's pack time per
                                bucket on the marking thread during the
                                stream (for tidal_comm_profile_add_pack),
                                max over ranks; 0 where the path packs
                                nothing there (bare collectives, all-gather,
                                direct buckets on local threads)           */
} tidal_measure_options_t;

#define TIDAL_MEASURE_OPTIONS_INITIALIZER \
  { sizeof(tidal_measure_options_t), 5, 1, 1, NULL, NULL, 0, NULL, NULL }

/* Collective: every rank of `comm` calls it with the same arguments. For
 * each of the n sizes (bytes, rounded up to a multiple of 4 * world), times
 * one bucket's `collective` of f32 data under `schedule`
 * (TIDAL_SCHEDULE_UNSET = the communicator's) the way the grad reducer's
 * queue runs buckets: a stream of back-to-back buckets (stream_bytes in
 * all, at most 4096), divided by its length; with alone_seconds_out set,
 * also one bucket alone per size. seconds_out[i] is the median over
 * repetitions on each rank, then the maximum over ranks, so every rank
 * gets the same value. Blocks for the whole sweep; allocates (and frees)
 * buffers of max(64 MiB, the largest size). `options` may be NULL. Errors:
 * TIDAL_ERR_INVALID_ARGUMENT (NULL, n == 0, a zero size, bad options),
 * TIDAL_ERR_NO_MEMORY, and any error of the collectives. */
tidal_status_t tidal_measure_comm_profile(tidal_comm_t comm,
                                          tidal_tune_collective_t collective,
                                          tidal_schedule_t schedule, const size_t *sizes,
                                          size_t n, const tidal_measure_options_t *options,
                                          double *seconds_out);

/* ------------------------------------------------------------------ */
/* The model                                                           */
/* ------------------------------------------------------------------ */

typedef struct tidal_tune_inputs {
  size_t size;              /* sizeof(tidal_tune_inputs_t)                      */
  double grad_bytes;        /* phi: gradient bytes reduced per step (> 0)       */
  int grad_collective;      /* TIDAL_TUNE_REDUCE_SCATTER or _ALL_REDUCE         */
  double bwd_s;             /* backward compute time of one step (> 0)          */
  double fwd_s;             /* forward compute time (>= 0; > 0 with a gather)   */
  double gather_bytes;      /* ZeRO-3: parameter bytes all-gathered in forward
                               (0: no gather)                                  */
  int prefetch_depth;       /* forward buckets gathered ahead (>= 0)            */
  int max_inflight;         /* bucket collectives the transport overlaps (>= 1;
                               tidal's engine runs one at a time: 1)           */
  size_t first_bucket_bytes;/* smaller first bucket (0: none)                   */
  /* Optional gradient production profile, in backward order: layer i
   * produces layer_grad_bytes[i] after layer_bwd_s[i] of compute. Only the
   * shape matters (scaled to grad_bytes and bwd_s). NULL/0: uniform. */
  const double *layer_grad_bytes;
  const double *layer_bwd_s;
  size_t num_layers;
  /* Candidates: a geometric sweep from min to max bucket bytes (max 0 = the
   * larger phi) with points_per_octave sizes per doubling, or the explicit
   * list `candidates` when num_candidates > 0. */
  size_t min_bucket_bytes;
  size_t max_bucket_bytes;
  int points_per_octave;
  const size_t *candidates;
  size_t num_candidates;
} tidal_tune_inputs_t;

#define TIDAL_TUNE_INPUTS_INITIALIZER                                          \
  { sizeof(tidal_tune_inputs_t), 0.0, TIDAL_TUNE_REDUCE_SCATTER, 0.0, 0.0, 0.0, \
    1, 1, 0, NULL, NULL, 0, 262144, 0, 2, NULL, 0 }

/* One bucket size's prediction (and measurement, after refinement). */
typedef struct tidal_tune_point {
  size_t size;                 /* sizeof(tidal_tune_point_t): set it before
                                  tidal_tune_result_point                      */
  size_t bucket_bytes;
  size_t grad_buckets;         /* gradient buckets per step                    */
  size_t gather_buckets;       /* forward gather buckets (ZeRO-3)              */
  double exposed_s;            /* predicted: backward tail + forward stalls    */
  double bwd_exposed_s;        /* end of last gradient bucket - end of backward */
  double fwd_exposed_s;        /* forward stalls on the all-gather prefetch    */
  double iteration_s;          /* predicted: fwd + bwd + exposed               */
  double measured_iteration_s; /* median measured step, max over ranks; < 0
                                  when this size was not measured              */
  int model_pick;              /* 1 on the model's pick                        */
  int recommended;             /* 1 on the recommendation (the measured best
                                  after refinement, else the model's pick)    */
} tidal_tune_point_t;

#define TIDAL_TUNE_POINT_INITIALIZER \
  { sizeof(tidal_tune_point_t), 0, 0, 0, 0.0, 0.0, 0.0, 0.0, -1.0, 0, 0 }

/* The tuner's output: the predicted (and measured) curve, the pick and an
 * explanation. Owned by the caller. */
typedef struct tidal_tune_result *tidal_tune_result_t;

tidal_status_t tidal_tune_result_create(tidal_tune_result_t *result);
/* NULL is accepted. */
tidal_status_t tidal_tune_result_destroy(tidal_tune_result_t result);

/* Predicts every candidate with the event-driven model and picks the size
 * of the lowest predicted iteration time (refined between the sweep's
 * neighbours, rounded to 64 KiB; among sizes within 1% of the lowest
 * exposed time, the largest).
 * Overwrites `result` (which keeps a copy of the inputs and the profile
 * for tidal_tune_refine). Non-blocking, no communication. Errors
 * (TIDAL_ERR_INVALID_ARGUMENT, with the reason in tidal_last_error()):
 * NULL arguments, phi <= 0, bwd_s <= 0, negative or non-finite times, a
 * gather without a forward time, an empty profile or one without the
 * needed curve, bad candidates. `result` is unchanged on error. */
tidal_status_t tidal_tune_bucket_size(const tidal_tune_inputs_t *inputs,
                                      tidal_comm_profile_t profile,
                                      tidal_tune_result_t result);

/* The recommendation; any output pointer may be NULL. The times are the
 * model's predictions for that size. TIDAL_ERR_INVALID_USAGE before a
 * successful tidal_tune_bucket_size. */
tidal_status_t tidal_tune_result_recommended(tidal_tune_result_t result, size_t *bucket_bytes,
                                             double *exposed_s, double *iteration_s);

/* Number of points on the curve (the candidates, plus the pick and any
 * refined size that is not one of them). */
tidal_status_t tidal_tune_result_num_points(tidal_tune_result_t result, size_t *n);

/* Point i (by increasing bucket size). point->size must be set (see
 * TIDAL_TUNE_POINT_INITIALIZER); fields beyond it are not written. */
tidal_status_t tidal_tune_result_point(tidal_tune_result_t result, size_t i,
                                       tidal_tune_point_t *point);

/* One paragraph that explains the pick (regime, keep-pace size, exposed
 * time against DDP's 25 MiB, measured refinement). Valid until the result
 * changes or is destroyed. */
tidal_status_t tidal_tune_result_reasoning(tidal_tune_result_t result, const char **text);

/* ------------------------------------------------------------------ */
/* Refinement on the real communicator                                 */
/* ------------------------------------------------------------------ */

typedef struct tidal_tune_refine_options {
  size_t size;            /* sizeof(tidal_tune_refine_options_t)                */
  int neighbours;         /* sizes measured on each side of the pick, a factor
                             of 2 apart (default 2: pick/4 .. pick*4); a
                             pick at phi measures pick/16 .. pick instead,
                             one at 64 KiB 64 KiB .. 1 MiB                     */
  const size_t *sizes;    /* measure these sizes (and the model's pick)
                             instead (num_sizes > 0)                          */
  size_t num_sizes;
  int steps;              /* rounds; each times one step of every size, and a
                             size's median over rounds is kept (>= 1)         */
  int warmup_steps;       /* untimed steps before each timed one (>= 0)       */
  int num_tensors;        /* gradient tensors of the synthetic model when the
                             inputs have no layer profile (>= 1)               */
  int schedule;           /* tidal_schedule_t; UNSET = the communicator's      */
  tidal_tune_progress_fn progress; /* rank 0, after each timed step (done of
                                      steps x sizes); may be NULL           */
  void *progress_user;
} tidal_tune_refine_options_t;

#define TIDAL_TUNE_REFINE_OPTIONS_INITIALIZER                                  \
  { sizeof(tidal_tune_refine_options_t), 2, NULL, 0, 5, 1, 64,                 \
    TIDAL_SCHEDULE_UNSET, NULL, NULL }

/* Collective: every rank calls it with a result tuned from the same inputs
 * and profile, and the same options. Measures in `steps` rounds; in each,
 * every size in turn gets a fresh gradient tensor list (f32, phi bytes,
 * bucketed at that size, reverse order) and the real grad reducer, then
 * warmup_steps untimed and one timed synthetic step: the forward (ZeRO-3:
 * the param gatherer gathers every bucket, prefetching, and sleeps each
 * bucket's share of fwd_s; else a sleep of fwd_s), then the gradients
 * marked ready at the pace of the backward (sleeping, so the CPU stays free
 * for communication), then the reducer's wait. A step's time is the
 * slowest rank's; a size's is its median over rounds. Adds the measured
 * points to `result` and recommends the measured best. Blocks for the
 * whole measurement; allocates about 2*phi bytes per rank (ZeRO-3: twice
 * that). Errors: TIDAL_ERR_INVALID_ARGUMENT,
 * TIDAL_ERR_INVALID_USAGE (the result was never tuned),
 * TIDAL_ERR_NO_MEMORY, and any communication error. */
tidal_status_t tidal_tune_refine(tidal_comm_t comm, const tidal_tune_refine_options_t *options,
                                 tidal_tune_result_t result);

/* Collective: the whole tuner for a grad reducer (what TIDAL_BUCKET_BYTES=
 * auto means). Measures a short reduce-scatter profile on `comm` (256 KiB
 * to min(model_bytes, 256 MiB), factors of 4, 3 repetitions) and tunes
 * with uniform gradient production over bwd_s. bwd_s <= 0 means unknown:
 * then TIDAL_TUNE_BWD_MS is read, and without it the smallest measured
 * size reaching 90% of the profile's peak bandwidth is chosen. Every rank
 * gets the same *bucket_bytes (a multiple of 64 KiB). Blocks for the
 * measurement (well under a second for small models on fast links). */
tidal_status_t tidal_tune_auto_bucket_bytes(tidal_comm_t comm, size_t model_bytes,
                                            double bwd_s, size_t *bucket_bytes);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_TUNE_H */
