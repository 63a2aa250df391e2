/*
 * ckpt.h — checkpoints in the safetensors format, saved asynchronously.
 *
 * A writer owns a bounded ring of staging buffers and background threads.
 * tidal_ckpt_save_async() returns at once; a snapshot copies the tensors
 * into the ring (host memcpy, or D2H on a side stream for device memory)
 * while training continues, and writer threads stream the ring to a
 * temporary file that is fsynced and atomically renamed into place. A save
 * has two completion points:
 *   - snapshot complete: every tensor byte has been copied out; the caller
 *     may modify the tensors again (wait just before the optimizer step);
 *   - durable: the file is on disk under its final name.
 *
 * Files are plain safetensors (loadable by the `safetensors` Python
 * package). tidal adds to __metadata__ an xxHash3-64 checksum per tensor
 * ("tidal.xxh3_64", a JSON object of 16-hex-digit strings), the step
 * ("tidal.step") and "tidal.format". Keys starting "tidal." are reserved.
 *
 * Checkpoint directories: root/step-NNNNNNNNNN/ holds a step's files; the
 * step is complete once tidal_ckpt_commit() wrote its manifest
 * (tidal-checkpoint.json). tidal_ckpt_find_latest() only returns complete
 * steps, so a crash mid-save never hands back a half-written checkpoint.
 *
 * Every function returns a tidal_status_t; on error tidal_last_error()
 * holds a message (naming the file and tensor where there is one). No
 * function aborts the process. Handles are not usable after their
 * destroy/free/close call.
 *
 * C99-clean.
 */
#ifndef TIDAL_CKPT_H
#define TIDAL_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "tidal/tidal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

typedef struct tidal_ckpt_writer *tidal_ckpt_writer_t;
typedef struct tidal_ckpt_save *tidal_ckpt_save_t;

/* Writer configuration. Start from TIDAL_CKPT_WRITER_CONFIG_INITIALIZER;
 * 0 (sizes, threads) or -1 (flags) means "default", and the environment
 * variable named beside each field overrides it. */
typedef struct tidal_ckpt_writer_config {
  size_t size;          /* sizeof(tidal_ckpt_writer_config_t)                 */
  size_t staging_bytes; /* TIDAL_CKPT_STAGING_BYTES: the ring; default 256 MiB */
  size_t slot_bytes;    /* TIDAL_CKPT_SLOT_BYTES: one write, a multiple of
                           4096; default 16 MiB                               */
  int writer_threads;   /* TIDAL_CKPT_WRITER_THREADS; default 2               */
  int direct_io;        /* TIDAL_CKPT_DIRECT_IO=0|1: O_DIRECT writes (falls
                           back to buffered where refused); default 1         */
  int use_cuda;         /* 0|1: pinned staging and D2H side stream when a GPU
                           is usable; default 1                               */
} tidal_ckpt_writer_config_t;

#define TIDAL_CKPT_WRITER_CONFIG_INITIALIZER \
  { sizeof(tidal_ckpt_writer_config_t), 0, 0, 0, -1, -1 }

/* Allocates the staging ring (pinned when CUDA is usable) and starts the
 * snapshot thread and the writer threads. `config` may be NULL (defaults).
 * TIDAL_ERR_INVALID_ARGUMENT for a bad config, TIDAL_ERR_NO_MEMORY when
 * the ring cannot be allocated. Blocks only for the allocation. */
tidal_status_t tidal_ckpt_writer_create(const tidal_ckpt_writer_config_t *config,
                                        tidal_ckpt_writer_t *writer);

/* Waits until every queued save is durable or failed, stops the threads
 * and frees the ring. Save handles stay valid (free them separately).
 * NULL is accepted. Blocks. */
tidal_status_t tidal_ckpt_writer_destroy(tidal_ckpt_writer_t writer);

/* One tensor to save. `shape` has `ndim` non-negative entries (may be NULL
 * when ndim is 0: a scalar). `data` holds the C-order elements in host
 * memory or, in CUDA builds, device memory; it may be NULL for an empty
 * tensor. tidal does not take ownership. */
typedef struct tidal_ckpt_tensor {
  const char *name; /* UTF-8, unique within the file, not "__metadata__" */
  tidal_dtype_t dtype;
  int ndim;
  const int64_t *shape;
  const void *data;
} tidal_ckpt_tensor_t;

/* Options of one save. Start from TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER. */
typedef struct tidal_ckpt_save_options {
  size_t size;                        /* sizeof(tidal_ckpt_save_options_t)   */
  int64_t step;                       /* recorded as "tidal.step"; -1: none  */
  size_t num_metadata;                /* user __metadata__ entries           */
  const char *const *metadata_keys;   /* UTF-8 strings; values may be JSON   */
  const char *const *metadata_values; /* (optimizer hyper-parameters, RNG)   */
  void *cuda_stream; /* cudaStream_t that produced device tensors: the D2H
                        copies start after the work queued on it so far.
                        NULL: the legacy default stream.                     */
} tidal_ckpt_save_options_t;

#define TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER \
  { sizeof(tidal_ckpt_save_options_t), -1, 0, NULL, NULL, NULL }

/* Queues a save of `n` tensors to `path` and returns at once. Names, dtypes,
 * shapes, metadata and `path` are copied before the call returns; the
 * tensor data is read until the snapshot completes and must not change
 * until then. Errors that can be seen now are returned now
 * (TIDAL_ERR_INVALID_ARGUMENT: duplicate or reserved names, bad dtype or
 * shape, NULL data; TIDAL_ERR_IO: cannot create the temporary file next to
 * `path`); later errors (disk full) are returned by the waits. `options`
 * may be NULL. The caller owns *save and frees it with
 * tidal_ckpt_save_free. Saves run in issue order. */
tidal_status_t tidal_ckpt_save_async(tidal_ckpt_writer_t writer, const char *path,
                                     const tidal_ckpt_tensor_t *tensors, size_t n,
                                     const tidal_ckpt_save_options_t *options,
                                     tidal_ckpt_save_t *save);

/* Blocks until the snapshot is complete (the tensors may change again).
 * Returns TIDAL_SUCCESS, or the error that stopped the save early. */
tidal_status_t tidal_ckpt_save_wait_snapshot(tidal_ckpt_save_t save);

/* Non-blocking: *done = 1 when the snapshot is complete (then returns its
 * status), else *done = 0 and TIDAL_SUCCESS. */
tidal_status_t tidal_ckpt_save_test_snapshot(tidal_ckpt_save_t save, int *done);

/* Blocks until the file is durable under its final name; returns the
 * save's final status (e.g. TIDAL_ERR_IO on a full disk, in which case the
 * temporary file is removed and any older file at `path` is untouched). */
tidal_status_t tidal_ckpt_save_wait_durable(tidal_ckpt_save_t save);

/* Non-blocking form of tidal_ckpt_save_wait_durable. */
tidal_status_t tidal_ckpt_save_test_durable(tidal_ckpt_save_t save, int *done);

/* Frees the handle. An unfinished save is detached and still completes.
 * NULL is accepted. */
tidal_status_t tidal_ckpt_save_free(tidal_ckpt_save_t save);

/* Synchronous save of host tensors: returns once `path` is durable. The
 * same file as the async path; no writer needed. */
tidal_status_t tidal_ckpt_save_sync(const char *path, const tidal_ckpt_tensor_t *tensors, size_t n,
                               const tidal_ckpt_save_options_t *options);

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

typedef struct tidal_ckpt_reader *tidal_ckpt_reader_t;

/* Maps any safetensors file read-only and validates its header in full
 * (length, JSON, dtypes, shapes, offsets in range, contiguous and
 * non-overlapping, unique names, UTF-8) before touching data. With
 * `verify_checksums` set, every tensor carrying a tidal checksum is hashed
 * and compared. TIDAL_ERR_IO: cannot open or map; TIDAL_ERR_CORRUPT: invalid
 * file, the message naming the tensor. Blocks (reads the file when
 * verifying). The file must not be truncated while the reader is open. */
tidal_status_t tidal_ckpt_reader_open(const char *path, int verify_checksums,
                                      tidal_ckpt_reader_t *reader);

/* Unmaps the file; views from the reader become invalid. NULL accepted. */
tidal_status_t tidal_ckpt_reader_close(tidal_ckpt_reader_t reader);

/* A tensor of an open file. Every pointer is a view owned by the reader,
 * valid until it is closed. `data` is a zero-copy view into the mapping. */
typedef struct tidal_ckpt_tensor_info {
  const char *name;
  const char *dtype_name; /* the safetensors dtype: "F32", "BF16", ...      */
  int dtype;              /* the tidal_dtype_t, or -1 when tidal has none   */
  int ndim;
  const uint64_t *shape;
  size_t bytes;
  const void *data;
} tidal_ckpt_tensor_info_t;

tidal_status_t tidal_ckpt_reader_num_tensors(tidal_ckpt_reader_t reader, size_t *n);
/* The index-th tensor in file order; TIDAL_ERR_INVALID_ARGUMENT out of range. */
tidal_status_t tidal_ckpt_reader_tensor(tidal_ckpt_reader_t reader, size_t index,
                                        tidal_ckpt_tensor_info_t *info);
/* By name; TIDAL_ERR_INVALID_ARGUMENT when the file has no such tensor. */
tidal_status_t tidal_ckpt_reader_find(tidal_ckpt_reader_t reader, const char *name,
                                      tidal_ckpt_tensor_info_t *info);
/* A __metadata__ value (owned by the reader), or *value = NULL if absent. */
tidal_status_t tidal_ckpt_reader_metadata(tidal_ckpt_reader_t reader, const char *key,
                                          const char **value);
/* The recorded step, or -1 when the file has none. */
tidal_status_t tidal_ckpt_reader_step(tidal_ckpt_reader_t reader, int64_t *step);
/* Verifies every checksum now (TIDAL_ERR_CORRUPT naming the tensor). Blocks. */
tidal_status_t tidal_ckpt_reader_verify(tidal_ckpt_reader_t reader);

/* ------------------------------------------------------------------ */
/* Checkpoint directories, retention and shards                        */
/* ------------------------------------------------------------------ */

/* Creates root/step-NNNNNNNNNN (and root) durably and writes its path, NUL
 * terminated, to `dir` (`dir_len` bytes; TIDAL_ERR_INVALID_ARGUMENT when
 * too small). Blocks. */
tidal_status_t tidal_ckpt_step_dir(const char *root, int64_t step, char *dir, size_t dir_len);

/* Marks a step directory complete once all its files are durable: checks
 * each .safetensors header, then writes the manifest crash-safely. Blocks. */
tidal_status_t tidal_ckpt_commit(const char *dir, int64_t step);

/* The newest complete step under `root`: *step = -1 and dir = "" when none
 * (TIDAL_SUCCESS). `dir` may be NULL. Blocks (reads manifests). */
tidal_status_t tidal_ckpt_find_latest(const char *root, int64_t *step, char *dir, size_t dir_len);

/* Keeps the newest `keep_last` (>= 1) complete steps, removes older ones
 * and incomplete leftovers older than the newest complete step. Blocks. */
tidal_status_t tidal_ckpt_retain(const char *root, int keep_last);

/* Writes the shard file name of `rank` in `world` ranks, e.g.
 * "model-00002-of-00004.safetensors", to `name` (`name_len` bytes). */
tidal_status_t tidal_ckpt_shard_name(const char *prefix, int rank, int world, char *name,
                                     size_t name_len);

/* Writes dir/index_name ("model.safetensors.index.json" style:
 * {"metadata": {"total_size"}, "weight_map": {tensor: file}}) from the
 * headers of the `n` shard files (names relative to dir). One rank calls it
 * after every rank's shard is durable. Blocks. */
tidal_status_t tidal_ckpt_write_index(const char *dir, const char *index_name,
                                      const char *const *shard_files, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_CKPT_H */
