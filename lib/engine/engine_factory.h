// engine_factory.h — picks the engine for a transport: a progress thread
// for host transports, a stream engine for CUDA transports.
#pragma once

#include <memory>

#include "lib/core/config.h"
#include "lib/engine/engine.h"
#include "lib/transport/transport.h"

namespace tidal {

Status make_engine(Transport& transport, const Config& config,
                   std::unique_ptr<Engine>* out);

}  // namespace tidal
