// safetensors_header.cc — building and validating safetensors headers with
// nlohmann-json. Validation follows the reference implementation's rules
// and adds the checks that make a hostile file harmless (overflow, depth).
#include "lib/checkpoint/safetensors_header.h"

#include <algorithm>
#include <cstring>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lib/checkpoint/json_text.h"
#include "lib/core/dtype.h"

namespace tidal {
namespace ckpt {

using nlohmann::json;

namespace {

struct DtypeBits {
  const char* name;
  uint32_t bits;
};

// Every dtype of the safetensors spec (0.5+), so any file can be listed.
constexpr DtypeBits kDtypes[] = {
    {"BOOL", 8},     {"U8", 8},       {"I8", 8},      {"F8_E5M2", 8},  {"F8_E4M3", 8},
    {"F8_E8M0", 8},  {"I16", 16},     {"U16", 16},    {"F16", 16},     {"BF16", 16},
    {"I32", 32},     {"U32", 32},     {"F32", 32},    {"F64", 64},     {"I64", 64},
    {"U64", 64},     {"C64", 64},     {"F4", 4},      {"F6_E2M3", 6},  {"F6_E3M2", 6},
};

// Indexed by tidal_dtype_t.
constexpr const char* kTidalNames[TIDAL_DTYPE_COUNT] = {
    "F32", "F16", "BF16", "F64", "I32", "I64", "U8", "F8_E4M3", "F8_E5M2"};

Status corrupt(const std::string& message) { return Status(TIDAL_ERR_CORRUPT, message); }

// Multiplies with overflow detection.
bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > UINT64_MAX / a) return false;
  *out = a * b;
  return true;
}

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void store_le64(uint64_t v, char* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

Status parse_entry(const std::string& name, const json& value, TensorEntry* out) {
  const std::string where = fmt::format("tensor '{}'", name);
  if (!value.is_object()) return corrupt(where + ": entry is not an object");
  auto dtype = value.find("dtype");
  auto shape = value.find("shape");
  auto offsets = value.find("data_offsets");
  if (dtype == value.end() || !dtype->is_string())
    return corrupt(where + ": missing or non-string 'dtype'");
  if (shape == value.end() || !shape->is_array())
    return corrupt(where + ": missing or non-array 'shape'");
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2)
    return corrupt(where + ": 'data_offsets' is not a pair");
  out->name = name;
  out->dtype = dtype->get<std::string>();
  out->element_bits = safetensors_dtype_bits(out->dtype);
  if (out->element_bits == 0) return corrupt(fmt::format("{}: unknown dtype '{}'", where, out->dtype));
  for (const json& dim : *shape) {
    if (!dim.is_number_unsigned()) return corrupt(where + ": shape has a non-integer or negative dimension");
    out->shape.push_back(dim.get<uint64_t>());
  }
  for (const json& off : *offsets)
    if (!off.is_number_unsigned()) return corrupt(where + ": data_offsets are not non-negative integers");
  out->begin = (*offsets)[0].get<uint64_t>();
  out->end = (*offsets)[1].get<uint64_t>();
  if (out->end < out->begin) return corrupt(where + ": data_offsets end before they begin");
  uint64_t bits = out->element_bits;
  for (uint64_t dim : out->shape)
    if (!checked_mul(bits, dim, &bits)) return corrupt(where + ": shape overflows 64 bits");
  if (bits % 8 != 0) return corrupt(where + ": sub-byte tensor does not fill whole bytes");
  if (bits / 8 != out->bytes())
    return corrupt(fmt::format("{}: {} x {} needs {} bytes but data_offsets span {}", where,
                               out->dtype, json(out->shape).dump(), bits / 8, out->bytes()));
  return Status();
}

Status parse_metadata(const json& value, std::map<std::string, std::string>* out) {
  if (!value.is_object()) return corrupt("__metadata__ is not an object");
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!it.value().is_string())
      return corrupt(fmt::format("__metadata__ value of '{}' is not a string", it.key()));
    (*out)[it.key()] = it.value().get<std::string>();
  }
  return Status();
}

// Sorted by offset, the tensors must tile [0, data_bytes) exactly.
Status check_tiling(std::vector<TensorEntry>* tensors, uint64_t data_bytes) {
  std::stable_sort(tensors->begin(), tensors->end(), [](const TensorEntry& a, const TensorEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  for (const TensorEntry& t : *tensors) {
    if (t.begin < expected)
      return corrupt(fmt::format("tensor '{}': data_offsets [{}, {}) overlap the previous tensor",
                                 t.name, t.begin, t.end));
    if (t.begin > expected)
      return corrupt(fmt::format("tensor '{}': gap before data_offsets [{}, {}) (expected {})",
                                 t.name, t.begin, t.end, expected));
    if (t.end > data_bytes)
      return corrupt(fmt::format("tensor '{}': data_offsets end {} past the data region ({} bytes)",
                                 t.name, t.end, data_bytes));
    expected = t.end;
  }
  if (expected != data_bytes)
    return corrupt(fmt::format("data region holds {} bytes but the tensors cover {}", data_bytes,
                               expected));
  return Status();
}

}  // namespace

uint64_t TensorEntry::element_count() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

uint32_t safetensors_dtype_bits(const std::string& dtype) {
  for (const DtypeBits& d : kDtypes)
    if (dtype == d.name) return d.bits;
  return 0;
}

const char* safetensors_dtype_name(tidal_dtype_t dtype) {
  int i = static_cast<int>(dtype);
  return (i >= 0 && i < TIDAL_DTYPE_COUNT) ? kTidalNames[i] : "";
}

bool tidal_dtype_from_safetensors(const std::string& dtype, tidal_dtype_t* out) {
  for (int i = 0; i < TIDAL_DTYPE_COUNT; ++i) {
    if (dtype == kTidalNames[i]) {
      *out = static_cast<tidal_dtype_t>(i);
      return true;
    }
  }
  return false;
}

Status read_header_length(const uint8_t* prefix, uint64_t file_size, uint64_t* json_bytes) {
  if (file_size < 8) return corrupt(fmt::format("file of {} bytes is too short for a header", file_size));
  uint64_t n = load_le64(prefix);
  if (n > kMaxHeaderBytes)
    return corrupt(fmt::format("header length {} exceeds the limit of {} bytes", n, kMaxHeaderBytes));
  if (n > file_size - 8)
    return corrupt(fmt::format("header length {} runs past the end of the file ({} bytes)", n,
                               file_size));
  *json_bytes = n;
  return Status();
}

Status parse_header_json(const std::string& text, uint64_t file_size, Header* out) {
  *out = Header();
  out->json_bytes = text.size();
  out->data_start = 8 + text.size();
  out->data_bytes = file_size - out->data_start;
  if (text.empty() || text[0] != '{') return corrupt("header does not start with '{'");
  std::set<std::string> names;
  std::string duplicate;
  bool too_deep = false;
  // Top-level keys are recorded to catch duplicates (nlohmann keeps the last
  // one silently); nesting past the spec's depth is cut short.
  json::parser_callback_t watch = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 &&
        !names.insert(parsed.get<std::string>()).second && duplicate.empty())
      duplicate = parsed.get<std::string>();
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth > 3) {
      too_deep = true;
      return false;
    }
    return true;
  };
  json root;
  try {
    root = json::parse(text, watch);
  } catch (const json::exception& e) {
    return corrupt(std::string("header is not valid JSON: ") + e.what());
  }
  if (!duplicate.empty()) return corrupt(fmt::format("tensor '{}' appears twice in the header", duplicate));
  if (too_deep) return corrupt("header nests deeper than the format allows");
  if (!root.is_object()) return corrupt("header is not a JSON object");
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() == "__metadata__") {
      TIDAL_RETURN_IF_ERROR(parse_metadata(it.value(), &out->metadata));
      continue;
    }
    TensorEntry entry;
    TIDAL_RETURN_IF_ERROR(parse_entry(it.key(), it.value(), &entry));
    out->tensors.push_back(std::move(entry));
  }
  return check_tiling(&out->tensors, out->data_bytes);
}

Status parse_header(const uint8_t* file, uint64_t file_size, Header* out) {
  uint64_t n = 0;
  TIDAL_RETURN_IF_ERROR(read_header_length(file, file_size, &n));
  return parse_header_json(std::string(reinterpret_cast<const char*>(file) + 8, n), file_size, out);
}

std::string checksum_hex(uint64_t value) { return fmt::format("{:016x}", value); }

bool parse_checksum_hex(const std::string& text, uint64_t* value) {
  if (text.size() != 16) return false;
  uint64_t v = 0;
  for (char c : text) {
    int digit = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (digit < 0) return false;
    v = (v << 4) | static_cast<uint64_t>(digit);
  }
  *value = v;
  return true;
}

namespace {

Status layout_sizes(const std::vector<TensorLayout>& tensors, std::vector<uint64_t>* sizes) {
  std::set<std::string> names;
  for (const TensorLayout& t : tensors) {
    if (t.name == "__metadata__")
      return Status(TIDAL_ERR_INVALID_ARGUMENT, "a tensor may not be named '__metadata__'");
    if (!names.insert(t.name).second)
      return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("tensor '{}' is given twice", t.name));
    if (*safetensors_dtype_name(t.dtype) == '\0')
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("tensor '{}': unknown dtype {}", t.name, static_cast<int>(t.dtype)));
    uint64_t bytes = dtype_size(t.dtype);
    for (uint64_t d : t.shape)
      if (!checked_mul(bytes, d, &bytes))
        return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("tensor '{}': size overflows", t.name));
    sizes->push_back(bytes);
  }
  return Status();
}

}  // namespace

Status plan_header(const std::vector<TensorLayout>& tensors,
                   const std::map<std::string, std::string>& metadata,
                   const std::vector<uint64_t>& checksums, HeaderPlan* out) {
  *out = HeaderPlan();
  if (checksums.size() != tensors.size())
    return Status(TIDAL_ERR_INTERNAL, "plan_header: one checksum per tensor expected");
  TIDAL_RETURN_IF_ERROR(layout_sizes(tensors, &out->byte_sizes));
  out->order.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) out->order[i] = i;
  std::stable_sort(out->order.begin(), out->order.end(), [&](size_t a, size_t b) {
    return dtype_size(tensors[a].dtype) > dtype_size(tensors[b].dtype);
  });
  json root = json::object();
  json sums = json::object();
  std::vector<uint64_t> relative(tensors.size());
  uint64_t offset = 0;
  for (size_t i : out->order) {
    relative[i] = offset;
    root[tensors[i].name] = {{"dtype", safetensors_dtype_name(tensors[i].dtype)},
                             {"shape", tensors[i].shape},
                             {"data_offsets", {offset, offset + out->byte_sizes[i]}}};
    sums[tensors[i].name] = checksum_hex(checksums[i]);
    offset += out->byte_sizes[i];
  }
  json meta(metadata);
  std::string sums_text, text;
  TIDAL_RETURN_IF_ERROR(json_text(sums, -1, "tensor names", &sums_text));
  meta[kChecksumKey] = sums_text;
  meta[kFormatKey] = "1";
  root["__metadata__"] = meta;
  TIDAL_RETURN_IF_ERROR(json_text(root, -1, "tensor names and metadata", &text));
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kMaxHeaderBytes)
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("header of {} bytes exceeds the format's limit", text.size()));
  out->prefix.assign(8, '\0');
  store_le64(text.size(), &out->prefix[0]);
  out->prefix += text;
  out->file_offsets.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) out->file_offsets[i] = out->prefix.size() + relative[i];
  out->total_bytes = out->prefix.size() + offset;
  return Status();
}

}  // namespace ckpt
}  // namespace tidal
