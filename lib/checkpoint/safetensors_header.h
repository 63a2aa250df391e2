// safetensors_header.h — the safetensors file header: building it for a
// list of tensors and parsing + fully validating it before any tensor data
// is touched. Format: u64 little-endian header length N, then N bytes of
// UTF-8 JSON {name: {dtype, shape, data_offsets}, "__metadata__": {str:
// str}} padded with spaces to a multiple of 8, then the data region.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/core/status.h"
#include "tidal/tidal.h"

namespace tidal {
namespace ckpt {

// The spec's limit on the JSON header (the reference rejects larger ones).
constexpr uint64_t kMaxHeaderBytes = 100000000;

// Metadata keys tidal adds inside __metadata__.
constexpr const char* kChecksumKey = "tidal.xxh3_64";  // JSON {name: 16 hex}
constexpr const char* kStepKey = "tidal.step";
constexpr const char* kFormatKey = "tidal.format";

// Bits per element of a safetensors dtype string ("F32" -> 32), or 0 when
// the string is not a dtype of the spec.
uint32_t safetensors_dtype_bits(const std::string& dtype);
// "F32", "BF16", "F8_E4M3", ... for a tidal dtype; "" when invalid.
const char* safetensors_dtype_name(tidal_dtype_t dtype);
// The tidal dtype of a safetensors dtype string; false when tidal has none.
bool tidal_dtype_from_safetensors(const std::string& dtype, tidal_dtype_t* out);

// One tensor as the header describes it. Offsets are relative to the start
// of the data region, as in the file.
struct TensorEntry {
  std::string name;
  std::string dtype;
  uint32_t element_bits = 0;
  std::vector<uint64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;

  uint64_t bytes() const { return end - begin; }
  uint64_t element_count() const;
};

struct Header {
  std::vector<TensorEntry> tensors;  // in data-offset order
  std::map<std::string, std::string> metadata;
  uint64_t json_bytes = 0;   // N
  uint64_t data_start = 0;   // 8 + N
  uint64_t data_bytes = 0;   // size of the data region
};

// Parses and validates the header of a whole file held in memory
// (`file_size` bytes at `file`): length in range, valid UTF-8 JSON object,
// known dtypes, non-negative integer shapes, sizes = dtype x shape without
// overflow, offsets in range, contiguous and non-overlapping from 0 to the
// end of the file, unique names, string metadata. Errors are
// TIDAL_ERR_CORRUPT with a message naming the offending tensor.
Status parse_header(const uint8_t* file, uint64_t file_size, Header* out);

// Parses only the 8-byte length prefix: the number of bytes the caller must
// read before calling parse_header_json.
Status read_header_length(const uint8_t* prefix, uint64_t file_size, uint64_t* json_bytes);

// Validates a header whose JSON text is `json` for a file of `file_size`
// bytes (used by readers that do not map the whole file).
Status parse_header_json(const std::string& json, uint64_t file_size, Header* out);

// What a writer knows about a tensor before its data exists.
struct TensorLayout {
  std::string name;
  tidal_dtype_t dtype = TIDAL_F32;
  std::vector<uint64_t> shape;
};

// Lays the tensors out (stable order by element size, largest first, so every
// tensor is aligned to its element size like the reference writer does) and
// builds the full header prefix: 8-byte length + JSON + space padding.
// `checksums` (one per tensor, in `tensors` order) are written as 16 hex
// digits, so the header's length never depends on their values: a writer
// builds it once with zeros and rewrites it in place once the data is
// hashed. `order[i]` receives the index into `tensors` of the i-th tensor
// in the file; `offsets[i]` its absolute file offset.
struct HeaderPlan {
  std::string prefix;              // bytes [0, data_start)
  std::vector<size_t> order;       // file order -> index into the input
  std::vector<uint64_t> file_offsets;  // by input index
  std::vector<uint64_t> byte_sizes;    // by input index
  uint64_t total_bytes = 0;            // file size
};
Status plan_header(const std::vector<TensorLayout>& tensors,
                   const std::map<std::string, std::string>& metadata,
                   const std::vector<uint64_t>& checksums, HeaderPlan* out);

// Formats a checksum as 16 lower-case hex digits and back.
std::string checksum_hex(uint64_t value);
bool parse_checksum_hex(const std::string& text, uint64_t* value);

}  // namespace ckpt
}  // namespace tidal
