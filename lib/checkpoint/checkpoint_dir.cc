// checkpoint_dir.cc — manifests, latest-complete lookup, retention, shard
// indexes.
#include "lib/checkpoint/checkpoint_dir.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lib/checkpoint/file_io.h"
#include "lib/checkpoint/json_text.h"
#include "lib/checkpoint/safetensors_reader.h"

namespace tidal {
namespace ckpt {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kStepPrefix = "step-";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Parses "step-0000000042" -> 42.
bool parse_step_name(const std::string& name, int64_t* step) {
  if (name.rfind(kStepPrefix, 0) != 0 || name.size() == strlen(kStepPrefix)) return false;
  int64_t v = 0;
  for (size_t i = strlen(kStepPrefix); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (name[i] - '0');
  }
  *step = v;
  return true;
}

Status make_directory(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    return Status(TIDAL_ERR_IO, fmt::format("cannot create directory '{}': {}", path, strerror(errno)));
  return Status();
}

// Step directories under root, newest first.
std::vector<std::pair<int64_t, std::string>> list_steps(const std::string& root) {
  std::vector<std::pair<int64_t, std::string>> steps;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    int64_t step = 0;
    if (entry.is_directory(ec) && parse_step_name(entry.path().filename().string(), &step))
      steps.emplace_back(step, entry.path().string());
  }
  std::sort(steps.rbegin(), steps.rend());
  return steps;
}

Status parse_manifest(const std::string& dir, json* manifest) {
  std::string text;
  TIDAL_RETURN_IF_ERROR(read_small_file(dir + "/" + kManifestName, &text));
  *manifest = json::parse(text, nullptr, false);
  if (!manifest->is_object() || !manifest->contains("files") || !(*manifest)["files"].is_object())
    return Status(TIDAL_ERR_CORRUPT, fmt::format("'{}/{}' is not a tidal manifest", dir, kManifestName));
  return Status();
}

}  // namespace

std::string step_directory(const std::string& root, int64_t step) {
  return fmt::format("{}/{}{:010d}", root, kStepPrefix, step);
}

Status prepare_step_directory(const std::string& root, int64_t step, std::string* dir) {
  if (step < 0) return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("step {} is negative", step));
  TIDAL_RETURN_IF_ERROR(make_directory(root));
  *dir = step_directory(root, step);
  TIDAL_RETURN_IF_ERROR(make_directory(*dir));
  return fsync_directory(root);
}

Status commit_checkpoint(const std::string& dir, int64_t step) {
  json files = json::object();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || is_temp_name(name) || name == kManifestName) continue;
    if (ends_with(name, ".safetensors")) {
      std::unique_ptr<SafetensorsReader> reader;
      TIDAL_RETURN_IF_ERROR(SafetensorsReader::open(entry.path().string(), &reader));
    }
    files[name] = {{"bytes", entry.file_size(ec)}};
  }
  if (ec) return Status(TIDAL_ERR_IO, fmt::format("cannot list '{}': {}", dir, ec.message()));
  json manifest = {{"format", 1}, {"step", step}, {"files", files}};
  std::string text;
  TIDAL_RETURN_IF_ERROR(json_text(manifest, 1, fmt::format("file names in '{}'", dir).c_str(), &text));
  return write_file_atomically(dir + "/" + kManifestName, text + "\n");
}

Status check_checkpoint(const std::string& dir, bool verify_data) {
  json manifest;
  TIDAL_RETURN_IF_ERROR(parse_manifest(dir, &manifest));
  for (auto it = manifest["files"].begin(); it != manifest["files"].end(); ++it) {
    std::string path = dir + "/" + it.key();
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    if (ec) return Status(TIDAL_ERR_IO, fmt::format("checkpoint file '{}' is missing: {}", path, ec.message()));
    const json& bytes = it.value().is_object() ? it.value().value("bytes", json()) : json();
    if (!bytes.is_number_unsigned() || bytes.get<uint64_t>() != size)
      return Status(TIDAL_ERR_CORRUPT, fmt::format("'{}' has {} bytes; the manifest records {}", path,
                                                   size, bytes.dump()));
    if (verify_data && ends_with(it.key(), ".safetensors")) {
      std::unique_ptr<SafetensorsReader> reader;
      TIDAL_RETURN_IF_ERROR(SafetensorsReader::open(path, &reader));
      TIDAL_RETURN_IF_ERROR(reader->verify_all());
    }
  }
  return Status();
}

Status find_latest_checkpoint(const std::string& root, int64_t* step, std::string* dir) {
  *step = -1;
  dir->clear();
  for (const auto& candidate : list_steps(root)) {
    if (check_checkpoint(candidate.second, false).ok()) {
      *step = candidate.first;
      *dir = candidate.second;
      return Status();
    }
  }
  return Status();
}

Status retain_checkpoints(const std::string& root, int keep_last, std::vector<std::string>* removed) {
  if (keep_last < 1) return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("keep_last {} < 1", keep_last));
  int complete_seen = 0;
  bool newer_complete = false;
  for (const auto& candidate : list_steps(root)) {
    bool complete = check_checkpoint(candidate.second, false).ok();
    bool drop = complete ? ++complete_seen > keep_last : newer_complete;
    newer_complete |= complete;
    if (!drop) continue;
    std::error_code ec;
    // The manifest goes first, so a crash mid-removal leaves an incomplete
    // step (cleaned up next time), never a complete-looking partial one.
    fs::remove(candidate.second + "/" + kManifestName, ec);
    fs::remove_all(candidate.second, ec);
    if (ec) return Status(TIDAL_ERR_IO, fmt::format("cannot remove '{}': {}", candidate.second, ec.message()));
    if (removed) removed->push_back(candidate.second);
  }
  return fsync_directory(root);
}

std::string shard_file_name(const std::string& prefix, int rank, int world) {
  return fmt::format("{}-{:05d}-of-{:05d}.safetensors", prefix, rank + 1, world);
}

Status write_shard_index(const std::string& dir, const std::string& index_name,
                         const std::vector<std::string>& shard_files) {
  json weight_map = json::object();
  uint64_t total = 0;
  for (const std::string& file : shard_files) {
    std::unique_ptr<SafetensorsReader> reader;
    TIDAL_RETURN_IF_ERROR(SafetensorsReader::open(dir + "/" + file, &reader));
    for (const TensorEntry& t : reader->header().tensors) {
      if (weight_map.contains(t.name))
        return Status(TIDAL_ERR_CORRUPT, fmt::format("tensor '{}' is in both '{}' and '{}'", t.name,
                                                     weight_map[t.name].get<std::string>(), file));
      weight_map[t.name] = file;
    }
    total += reader->header().data_bytes;
  }
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  std::string text;
  TIDAL_RETURN_IF_ERROR(json_text(index, 2, "shard file names", &text));
  return write_file_atomically(dir + "/" + index_name, text + "\n");
}

Status read_shard_index(const std::string& index_path,
                        std::vector<std::pair<std::string, std::string>>* weight_map) {
  std::string text;
  TIDAL_RETURN_IF_ERROR(read_small_file(index_path, &text));
  json index = json::parse(text, nullptr, false);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    return Status(TIDAL_ERR_CORRUPT, fmt::format("'{}' is not a safetensors index", index_path));
  weight_map->clear();
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string())
      return Status(TIDAL_ERR_CORRUPT, fmt::format("'{}': tensor '{}' maps to a non-string", index_path, it.key()));
    weight_map->emplace_back(it.key(), it.value().get<std::string>());
  }
  return Status();
}

}  // namespace ckpt
}  // namespace tidal
