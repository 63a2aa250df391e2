// fuzz_safetensors_reader.cc — libFuzzer target over the safetensors header
// parser and reader (scripts/fuzz-ckpt.sh builds and runs it). Any input
// must either be rejected with a Status or yield tensor views that lie
// inside the input; AddressSanitizer catches the rest.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "lib/checkpoint/safetensors_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<tidal::ckpt::SafetensorsReader> reader;
  if (!tidal::ckpt::SafetensorsReader::open_memory(data, size, &reader).ok()) return 0;
  volatile uint8_t sink = 0;
  for (const auto& t : reader->header().tensors) {
    if (t.bytes() == 0) continue;
    const uint8_t* p = reader->data(t);
    sink ^= p[0];
    sink ^= p[t.bytes() - 1];
  }
  (void)reader->verify_all();
  (void)sink;
  return 0;
}
