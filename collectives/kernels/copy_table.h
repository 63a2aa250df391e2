// copy_table.h — a descriptor table built once (when a bucket is planned)
// and run by the fused kernel of its memory kind: cpu_run_copy_table on
// host memory, one CUDA launch on device memory.
#pragma once

#include <cstddef>
#include <vector>

#include "collectives/kernels/copy_op.h"

namespace tidal {

struct DeviceCopyTable;

class CopyTable {
 public:
  CopyTable() = default;
  ~CopyTable();
  CopyTable(CopyTable&& other) noexcept;
  CopyTable& operator=(CopyTable&& other) noexcept;
  CopyTable(const CopyTable&) = delete;
  CopyTable& operator=(const CopyTable&) = delete;

  void add(const void* src, void* dst, size_t count);
  // Freezes the table; on device memory uploads it (blocking).
  Status finalize(bool device);

  size_t runs() const { return descs_.size(); }
  size_t elements() const { return prefix_.empty() ? 0 : prefix_.back(); }

  // One fused pass; on device, one launch on `stream` (non-blocking).
  Status run(const CopyOp& op, void* stream) const;

  // A single run (src/dst known only at call time), same kernels.
  static Status run_one(const CopyDesc& desc, const CopyOp& op, bool device, void* stream);

 private:
  std::vector<CopyDesc> descs_;
  std::vector<size_t> prefix_;
  DeviceCopyTable* device_ = nullptr;
  bool device_kind_ = false;
};

}  // namespace tidal
