// memory_kind.h — is a pointer host or device memory? Uses the CUDA
// runtime when tidal is built with CUDA and a device is present; without
// one every pointer is host memory.
#pragma once

#include <string>

namespace tidal {

enum class PointerKind { kHost, kDevice };

PointerKind pointer_kind(const void* ptr);

// True when a CUDA device is usable; otherwise *why says why not.
bool cuda_device_usable(std::string* why);

}  // namespace tidal
