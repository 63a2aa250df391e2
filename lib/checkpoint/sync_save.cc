// sync_save.cc — blocking crash-safe save.
#include "lib/checkpoint/sync_save.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "lib/checkpoint/file_io.h"
#include "lib/checkpoint/safetensors_reader.h"
#include "lib/core/memory_kind.h"

namespace tidal {
namespace ckpt {

namespace {

Status write_contents(int fd, const std::string& tmp, const SaveRequest& request, const HeaderPlan& plan) {
  TIDAL_RETURN_IF_ERROR(write_all_at(fd, plan.prefix.data(), plan.prefix.size(), 0, tmp));
  for (size_t i = 0; i < request.tensors.size(); ++i)
    TIDAL_RETURN_IF_ERROR(
        write_all_at(fd, request.tensors[i].data, plan.byte_sizes[i], plan.file_offsets[i], tmp));
  return fsync_fd(fd, tmp);
}

}  // namespace

Status save_file_sync(const SaveRequest& request) {
  HeaderPlan zero_plan;
  TIDAL_RETURN_IF_ERROR(plan_save(request, {}, &zero_plan));
  std::vector<uint64_t> checksums;
  for (size_t i = 0; i < request.tensors.size(); ++i) {
    const TensorSource& t = request.tensors[i];
    if (t.data && pointer_kind(t.data) == PointerKind::kDevice)
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("tensor '{}': the synchronous save takes host memory only", t.name));
    checksums.push_back(tensor_checksum(t.data, zero_plan.byte_sizes[i]));
  }
  HeaderPlan plan;
  TIDAL_RETURN_IF_ERROR(plan_save(request, checksums, &plan));
  std::string tmp = temp_path_for(request.path);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status(TIDAL_ERR_IO, fmt::format("cannot create '{}': {}", tmp, strerror(errno)));
  Status s = write_contents(fd, tmp, request, plan);
  close(fd);
  if (s.ok()) s = rename_durably(tmp, request.path);
  if (!s.ok()) unlink(tmp.c_str());
  return s;
}

}  // namespace ckpt
}  // namespace tidal
