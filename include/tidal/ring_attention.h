/*
 * ring_attention.h — communication for sequence-parallel attention: the
 * ND-ring rotation of ring attention and the Ulysses all-to-all.
 *
 * ND-ring rotation. The ranks of a sequence-parallel group are laid out as
 * dims, innermost first (e.g. 8 GPUs per node x 4 nodes): nested rings, the
 * inner ring rotating blocks within a node and the outer rings moving them
 * across nodes. Each rank owns one block (its K and V, packed in one
 * buffer). Over steps() steps every rank holds every rank's block exactly
 * once; the transfer that brings step s+1's block is in flight while the
 * caller computes on step s's block (outer-ring transfers are started up to
 * D0 steps early, so they overlap that much compute). Correct for every
 * factorisation, including outer rings of a different size than the inner
 * ring. docs/schedules.md derives the order.
 *
 * Forward (TIDAL_ROTATE_BLOCKS):
 *     tidal_ring_rotation_start(rot, my_kv);
 *     for (s = 0; s < steps; ++s) {
 *       if (s > 0) tidal_ring_rotation_wait(rot);      // next block arrives
 *       tidal_ring_rotation_current(rot, &kv, &owner, NULL);
 *       attend(q, kv, owner);                          // overlaps transfers
 *     }
 * Backward (TIDAL_ROTATE_GRADIENTS): gradient blocks travel back to their
 * owners. The block ids at each step are the forward ones, so the caller
 * can pair the steps with a forward rotation of K/V:
 *     tidal_ring_rotation_start(grad_rot, NULL);
 *     for (s = 0; s < steps; ++s) {
 *       tidal_ring_rotation_current(grad_rot, NULL, &owner, NULL);
 *       compute_dkv(owner, partial);                   // overlaps transfers
 *       tidal_ring_rotation_accumulate(grad_rot, partial);
 *     }
 *     tidal_ring_rotation_finish(grad_rot, my_dkv);    // sum over all ranks
 * The sum is folded in a fixed order (the holders' order), so it is
 * bitwise reproducible.
 *
 * Host-memory backends (local, MPI, UCX). A rotation is used by one thread.
 */
#ifndef TIDAL_RING_ATTENTION_H
#define TIDAL_RING_ATTENTION_H

#include "tidal/tidal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tidal_ring_rotation *tidal_ring_rotation_t;

typedef enum tidal_rotation_direction {
  TIDAL_ROTATE_BLOCKS = 0,    /* forward: read-only blocks visit every rank */
  TIDAL_ROTATE_GRADIENTS = 1  /* backward: accumulators return to owners   */
} tidal_rotation_direction_t;

/* Collective over `comm` (it splits the communicator, so every rank must
 * call it, in the same order as other collectives). dims/ndims: the layout
 * of the group, innermost first, product = communicator size; NULL/0 =
 * the communicator's layout (see tidal_comm_get_layout). A block is `count`
 * elements of `dtype`. The rotation owns its buffers; destroy it before the
 * communicator. Errors: TIDAL_ERR_INVALID_ARGUMENT (bad dims, count 0,
 * unknown dtype or direction), TIDAL_ERR_UNSUPPORTED (device-memory
 * backend). Blocks until the sub-communicators exist. */
tidal_status_t tidal_ring_rotation_create(tidal_comm_t comm, const int *dims, int ndims,
                                          size_t count, tidal_dtype_t dtype,
                                          tidal_rotation_direction_t direction,
                                          tidal_ring_rotation_t *rotation);

/* Waits for transfers in flight, then frees the rotation. NULL is fine. */
tidal_status_t tidal_ring_rotation_destroy(tidal_ring_rotation_t rotation);

/* The number of steps of a cycle (the group size). */
tidal_status_t tidal_ring_rotation_steps(tidal_ring_rotation_t rotation, int *steps);

/* Begins a cycle. Blocks: `block` is this rank's block (copied; the caller
 * may reuse it at once); step 0 holds it. Gradients: `block` must be NULL.
 * Non-blocking: it starts the first transfers. TIDAL_ERR_INVALID_USAGE
 * while a cycle is unfinished. */
tidal_status_t tidal_ring_rotation_start(tidal_ring_rotation_t rotation, const void *block);

/* Blocks mode: like tidal_ring_rotation_start without the copy. The
 * rotation sends straight from `block`, which must stay valid and unchanged
 * until the cycle completes (steps() - 1 waits) or the rotation is
 * destroyed; step 0's current block is `block` itself. Saves one copy of
 * the block per cycle on the calling thread, which nothing can overlap
 * (docs/benchmarks/schedules.md). Errors as tidal_ring_rotation_start;
 * TIDAL_ERR_INVALID_USAGE on a gradient rotation. */
tidal_status_t tidal_ring_rotation_start_borrowed(tidal_ring_rotation_t rotation,
                                                  const void *block);

/* The current step: its block's data (blocks mode; read-only, valid until
 * the next wait; NULL in gradients mode), the id (owner rank) of that block
 * and the step number. Any output pointer may be NULL. Non-blocking. */
tidal_status_t tidal_ring_rotation_current(tidal_ring_rotation_t rotation, const void **block,
                                           int *block_id, int *step);

/* Blocks mode: moves to the next step, waiting (bounded by the timeout)
 * for its block, and starts the transfers that step begins.
 * TIDAL_ERR_INVALID_USAGE after the last step. */
tidal_status_t tidal_ring_rotation_wait(tidal_ring_rotation_t rotation);

/* Gradients mode: adds `partial` (count elements) to the accumulator of
 * the current block (waiting for it to arrive), sends the accumulator on
 * and moves to the next step. Returns once the send is queued. */
tidal_status_t tidal_ring_rotation_accumulate(tidal_ring_rotation_t rotation,
                                              const void *partial);

/* Gradients mode, after steps() accumulates: waits for this rank's own
 * block's accumulator (every rank's partial, summed) and copies it to
 * `result`. Ends the cycle. */
tidal_status_t tidal_ring_rotation_finish(tidal_ring_rotation_t rotation, void *result);

/* Ulysses all-to-all (DeepSpeed-Ulysses): re-shards attention inputs
 * between sequence-parallel and head-parallel. P = communicator size.
 *   TIDAL_ULYSSES_SEQ_TO_HEADS: in  [seq_local][heads][head_dim] (this
 *     rank's sequence shard, all heads) -> out [P*seq_local][heads/P]
 *     [head_dim] (the whole sequence, this rank's heads rank*heads/P ..).
 *   TIDAL_ULYSSES_HEADS_TO_SEQ: the inverse.
 * heads must be a multiple of P (TIDAL_ERR_INVALID_ARGUMENT otherwise);
 * in and out must not overlap. Queued like a collective (request NULL =
 * blocking); it runs the communicator's all-to-all schedule, plus a
 * pack (seq->heads) or unpack (heads->seq) pass on the queue. */
typedef enum tidal_ulysses_direction {
  TIDAL_ULYSSES_SEQ_TO_HEADS = 0,
  TIDAL_ULYSSES_HEADS_TO_SEQ = 1
} tidal_ulysses_direction_t;

tidal_status_t tidal_ulysses_all_to_all(const void *in, void *out, size_t seq_local,
                                        size_t heads, size_t head_dim, tidal_dtype_t dtype,
                                        tidal_ulysses_direction_t direction,
                                        tidal_comm_t comm, tidal_request_t *request);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_RING_ATTENTION_H */
