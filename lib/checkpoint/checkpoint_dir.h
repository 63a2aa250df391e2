// checkpoint_dir.h — checkpoints as step directories under a root:
// root/step-0000000042/{*.safetensors, *.index.json, tidal-checkpoint.json}.
// A step is complete once its manifest (tidal-checkpoint.json) exists: the
// manifest is written last, crash-safely, and lists every file with its
// size, so a half-written step is never mistaken for a complete one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/core/status.h"

namespace tidal {
namespace ckpt {

constexpr const char* kManifestName = "tidal-checkpoint.json";

// "root/step-0000000042".
std::string step_directory(const std::string& root, int64_t step);
// Creates root (if needed) and its step directory, durably.
Status prepare_step_directory(const std::string& root, int64_t step, std::string* dir);

// Marks the step complete: every *.safetensors file in `dir` must have a
// valid header (TIDAL_ERR_CORRUPT otherwise); then the manifest is written
// crash-safely. Call it once all of the step's files are durable.
Status commit_checkpoint(const std::string& dir, int64_t step);

// Checks a committed step: manifest readable, each listed file present with
// its recorded size. With `verify_data`, each file's header and checksums
// are verified too. TIDAL_ERR_CORRUPT / TIDAL_ERR_IO with the reason.
Status check_checkpoint(const std::string& dir, bool verify_data);

// The newest complete step under root: *step = -1 and *dir = "" when there
// is none (not an error). Steps that fail check_checkpoint are skipped.
Status find_latest_checkpoint(const std::string& root, int64_t* step, std::string* dir);

// Keeps the newest `keep_last` complete steps; removes older complete ones
// and incomplete ones older than the newest complete step (left by crashes).
// Incomplete steps newer than it may be in progress and are kept.
Status retain_checkpoints(const std::string& root, int keep_last, std::vector<std::string>* removed);

// "model-00002-of-00004.safetensors" for rank 1 of 4 (1-based, like the
// Hugging Face convention).
std::string shard_file_name(const std::string& prefix, int rank, int world);

// Writes `dir/index_name` ({"metadata": {"total_size": N}, "weight_map":
// {tensor: file}}) from the headers of the given shard files (names
// relative to dir). A tensor in two shards is TIDAL_ERR_CORRUPT.
Status write_shard_index(const std::string& dir, const std::string& index_name,
                         const std::vector<std::string>& shard_files);

// Reads an index: tensor name -> shard file name.
Status read_shard_index(const std::string& index_path,
                        std::vector<std::pair<std::string, std::string>>* weight_map);

}  // namespace ckpt
}  // namespace tidal
