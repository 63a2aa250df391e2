#include "collectives/kernels/copy_table.h"

#include <utility>

#include "collectives/kernels/cpu/pack_kernel.h"
#include "tidal/version.h"

#if TIDAL_HAVE_CUDA
#include "collectives/kernels/cuda/pack_kernel_cuda.h"
#endif

namespace tidal {

CopyTable::~CopyTable() {
#if TIDAL_HAVE_CUDA
  cuda_free_copy_table(device_);
#endif
}

CopyTable::CopyTable(CopyTable&& other) noexcept { *this = std::move(other); }

CopyTable& CopyTable::operator=(CopyTable&& other) noexcept {
  if (this != &other) {
    std::swap(descs_, other.descs_);
    std::swap(prefix_, other.prefix_);
    std::swap(device_, other.device_);
    std::swap(device_kind_, other.device_kind_);
  }
  return *this;
}

void CopyTable::add(const void* src, void* dst, size_t count) {
  if (count) descs_.push_back(CopyDesc{src, dst, count});
}

Status CopyTable::finalize(bool device) {
  prefix_.assign(descs_.size() + 1, 0);
  for (size_t i = 0; i < descs_.size(); ++i) prefix_[i + 1] = prefix_[i] + descs_[i].count;
  device_kind_ = device;
  if (!device) return Status();
#if TIDAL_HAVE_CUDA
  return cuda_upload_copy_table(descs_.data(), descs_.size(), &device_);
#else
  return Status(TIDAL_ERR_UNSUPPORTED, "device copy table in a build without CUDA");
#endif
}

Status CopyTable::run(const CopyOp& op, void* stream) const {
  if (descs_.empty()) return Status();
  if (!device_kind_) {
    cpu_run_copy_table(descs_.data(), prefix_.data(), descs_.size(), op);
    return Status();
  }
#if TIDAL_HAVE_CUDA
  return cuda_run_copy_table(device_, op, stream);
#else
  (void)stream;
  return Status(TIDAL_ERR_UNSUPPORTED, "device copy in a build without CUDA");
#endif
}

Status CopyTable::run_one(const CopyDesc& desc, const CopyOp& op, bool device, void* stream) {
  if (desc.count == 0) return Status();
  if (!device) {
    size_t prefix[2] = {0, desc.count};
    cpu_run_copy_table(&desc, prefix, 1, op);
    return Status();
  }
#if TIDAL_HAVE_CUDA
  return cuda_run_copy(desc, op, stream);
#else
  (void)stream;
  return Status(TIDAL_ERR_UNSUPPORTED, "device copy in a build without CUDA");
#endif
}

}  // namespace tidal
