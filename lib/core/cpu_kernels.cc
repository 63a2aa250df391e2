#include "lib/core/cpu_kernels.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "lib/core/log.h"

namespace tidal {
namespace {

constexpr int kUnread = -1;
std::atomic<int> g_portable{kUnread};

int from_environment() {
  const char* v = std::getenv("TIDAL_CPU_KERNELS");
  if (!v || !*v || std::strcmp(v, "native") == 0) return 0;
  if (std::strcmp(v, "portable") == 0) return 1;
  log_warn(-1, "TIDAL_CPU_KERNELS='{}' is neither 'native' nor 'portable': using native", v);
  return 0;
}

}  // namespace

bool portable_cpu_kernels() {
  int v = g_portable.load(std::memory_order_relaxed);
  if (v == kUnread) {
    int expected = kUnread;
    g_portable.compare_exchange_strong(expected, from_environment(), std::memory_order_relaxed);
    v = g_portable.load(std::memory_order_relaxed);
  }
  return v == 1;
}

void set_portable_cpu_kernels(bool portable) {
  g_portable.store(portable ? 1 : 0, std::memory_order_relaxed);
}

}  // namespace tidal
