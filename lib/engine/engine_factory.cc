#include "lib/engine/engine_factory.h"

#include "lib/engine/cpu_engine.h"
#include "tidal/version.h"

#if TIDAL_HAVE_CUDA
#include "lib/engine/stream_engine.h"
#endif

namespace tidal {

Status make_engine(Transport& transport, const Config& config,
                   std::unique_ptr<Engine>* out) {
  Transport* t = &transport;
  if (transport.memory_kind() == MemoryKind::kDevice) {
#if TIDAL_HAVE_CUDA
    out->reset(new StreamEngine(config.timeout_s, transport.user_stream(),
                                transport.comm_stream(), [t] { t->abort(); },
                                transport.rank()));
    return Status();
#else
    return Status(TIDAL_ERR_UNSUPPORTED, "device transport in a build without CUDA");
#endif
  }
  out->reset(new CpuEngine(config.timeout_s, [t] { t->abort(); }, transport.rank()));
  return Status();
}

}  // namespace tidal
