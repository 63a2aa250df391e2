// ckpt_list_verify.cc — `tidal-ckpt ls` and `tidal-ckpt verify` over a
// file, a step directory (files + manifest + shard indexes) or a checkpoint
// root (step directories).
#include <algorithm>
#include <map>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/ckpt/ckpt_commands.h"
#include "lib/checkpoint/checkpoint_dir.h"
#include "lib/checkpoint/safetensors_reader.h"

namespace tidal_ckpt_cli {

namespace fs = std::filesystem;
using tidal::Status;
using tidal::ckpt::SafetensorsReader;

namespace {

enum class PathKind { kFile, kStepDirectory, kRoot, kMissing };

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Regular files of `dir` whose names end with `suffix`, sorted, temp files skipped.
std::vector<std::string> files_with_suffix(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (e.is_regular_file(ec) && has_suffix(name, suffix) && name[0] != '.') out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> step_directories(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory(ec) && e.path().filename().string().rfind("step-", 0) == 0) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

PathKind kind_of(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return PathKind::kFile;
  if (!fs::is_directory(path, ec)) return PathKind::kMissing;
  return step_directories(path).empty() ? PathKind::kStepDirectory : PathKind::kRoot;
}

int exit_code_of(const Status& s) {
  if (s.ok()) return kExitOk;
  return s.code() == TIDAL_ERR_CORRUPT ? kExitFinding : kExitTrouble;
}

int report_failure(const std::string& path, const Status& s) {
  const char* label = s.code() == TIDAL_ERR_CORRUPT ? "CORRUPT" : "ERROR";
  if (s.message().rfind(path, 0) == 0)  // the message already names the file
    fmt::print(stderr, "{} {}\n", label, s.message());
  else
    fmt::print(stderr, "{} {}: {}\n", label, path, s.message());
  return exit_code_of(s);
}

std::string shape_text(const std::vector<uint64_t>& shape) { return nlohmann::json(shape).dump(); }

std::string metadata_text(const std::string& key, const std::string& value, bool full) {
  if (!full && key == tidal::ckpt::kChecksumKey) {
    auto table = nlohmann::json::parse(value, nullptr, false);
    return fmt::format("({} checksums; --full prints them)", table.is_object() ? table.size() : 0);
  }
  if (full || value.size() <= 96) return value;
  return value.substr(0, 93) + "...";
}

int list_file(const std::string& path, bool full) {
  std::unique_ptr<SafetensorsReader> reader;
  Status s = SafetensorsReader::open(path, &reader);
  if (!s.ok()) return report_failure(path, s);
  const auto& h = reader->header();
  fmt::print("{}: {} tensors, {} data bytes, {}-byte header{}{}\n", path, h.tensors.size(), h.data_bytes,
             h.json_bytes, reader->step() >= 0 ? fmt::format(", step {}", reader->step()) : "",
             reader->has_checksums() ? ", xxh3_64 checksums" : "");
  size_t width = 4;
  for (const auto& t : h.tensors) width = std::max(width, t.name.size());
  if (!h.tensors.empty()) fmt::print("  {:<{}}  {:<8} {:<20} {:>14}\n", "name", width, "dtype", "shape", "bytes");
  for (const auto& t : h.tensors)
    fmt::print("  {:<{}}  {:<8} {:<20} {:>14}\n", t.name, width, t.dtype, shape_text(t.shape), t.bytes());
  if (!h.metadata.empty()) fmt::print("  metadata:\n");
  for (const auto& kv : h.metadata) fmt::print("    {} = {}\n", kv.first, metadata_text(kv.first, kv.second, full));
  return kExitOk;
}

int list_step_directory(const std::string& dir, bool full) {
  Status complete = tidal::ckpt::check_checkpoint(dir, false);
  fmt::print("{}: {}\n", dir, complete.ok() ? "complete (manifest matches)" : "incomplete: " + complete.message());
  int worst = kExitOk;
  for (const std::string& file : files_with_suffix(dir, ".safetensors")) worst = std::max(worst, list_file(file, full));
  for (const std::string& index : files_with_suffix(dir, ".index.json")) {
    std::vector<std::pair<std::string, std::string>> map;
    Status s = tidal::ckpt::read_shard_index(index, &map);
    if (!s.ok()) worst = std::max(worst, report_failure(index, s));
    else fmt::print("{}: index of {} tensors\n", index, map.size());
  }
  return worst;
}

int list_root(const std::string& root, bool full) {
  int64_t latest = -1;
  std::string latest_dir;
  tidal::ckpt::find_latest_checkpoint(root, &latest, &latest_dir);
  fmt::print("{}: latest complete checkpoint: {}\n", root, latest >= 0 ? latest_dir : "none");
  int worst = kExitOk;
  for (const std::string& dir : step_directories(root)) worst = std::max(worst, list_step_directory(dir, full));
  return worst;
}

int verify_file(const std::string& path) {
  std::unique_ptr<SafetensorsReader> reader;
  Status s = SafetensorsReader::open(path, &reader);
  if (s.ok()) s = reader->verify_all();
  if (!s.ok()) return report_failure(path, s);
  const auto& h = reader->header();
  fmt::print("OK {}: {} tensors, {} data bytes, {}\n", path, h.tensors.size(), h.data_bytes,
             reader->has_checksums() ? fmt::format("{} checksums verified", h.tensors.size())
                                     : "no tidal checksums (header, offsets and sizes validated)");
  return kExitOk;
}

// Every entry of a shard index must name a file of `dir` holding that tensor.
int verify_index(const std::string& dir, const std::string& index) {
  std::vector<std::pair<std::string, std::string>> map;
  Status s = tidal::ckpt::read_shard_index(index, &map);
  if (!s.ok()) return report_failure(index, s);
  std::map<std::string, std::unique_ptr<SafetensorsReader>> opened;
  for (const auto& entry : map) {
    auto& reader = opened[entry.second];
    if (!reader) {
      s = SafetensorsReader::open(dir + "/" + entry.second, &reader);
      if (!s.ok()) return report_failure(index, s.with_context("shard of tensor '" + entry.first + "'"));
    }
    if (!reader->find(entry.first))
      return report_failure(index, Status(TIDAL_ERR_CORRUPT, fmt::format("tensor '{}' is not in '{}'",
                                                                          entry.first, entry.second)));
  }
  fmt::print("OK {}: {} tensors in {} shards\n", index, map.size(), opened.size());
  return kExitOk;
}

int verify_step_directory(const std::string& dir) {
  int worst = kExitOk;
  bool has_manifest = fs::exists(dir + "/" + tidal::ckpt::kManifestName);
  if (has_manifest) {
    Status s = tidal::ckpt::check_checkpoint(dir, false);
    if (!s.ok()) worst = std::max(worst, report_failure(dir, s));
    else fmt::print("OK {}: manifest matches its files\n", dir);
  }
  auto files = files_with_suffix(dir, ".safetensors");
  for (const std::string& file : files) worst = std::max(worst, verify_file(file));
  for (const std::string& index : files_with_suffix(dir, ".index.json")) worst = std::max(worst, verify_index(dir, index));
  if (!has_manifest && files.empty()) {
    fmt::print(stderr, "ERROR {}: no safetensors files and no manifest\n", dir);
    worst = kExitTrouble;
  }
  return worst;
}

// Complete steps must be sound; incomplete ones (no manifest) are reported
// but are not failures: a crash or a save in progress leaves them.
int verify_root(const std::string& root) {
  int worst = kExitOk;
  for (const std::string& dir : step_directories(root)) {
    if (!fs::exists(dir + "/" + tidal::ckpt::kManifestName)) {
      fmt::print("SKIP {}: incomplete (no manifest), never picked for resume\n", dir);
      continue;
    }
    worst = std::max(worst, verify_step_directory(dir));
  }
  return worst;
}

}  // namespace

int list_command(const std::string& path, bool full_metadata) {
  switch (kind_of(path)) {
    case PathKind::kFile: return list_file(path, full_metadata);
    case PathKind::kStepDirectory: return list_step_directory(path, full_metadata);
    case PathKind::kRoot: return list_root(path, full_metadata);
    case PathKind::kMissing: break;
  }
  fmt::print(stderr, "ERROR {}: no such file or directory\n", path);
  return kExitTrouble;
}

int verify_command(const std::string& path) {
  switch (kind_of(path)) {
    case PathKind::kFile: return verify_file(path);
    case PathKind::kStepDirectory: return verify_step_directory(path);
    case PathKind::kRoot: return verify_root(path);
    case PathKind::kMissing: break;
  }
  fmt::print(stderr, "ERROR {}: no such file or directory\n", path);
  return kExitTrouble;
}

}  // namespace tidal_ckpt_cli
