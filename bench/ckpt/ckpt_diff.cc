// ckpt_diff.cc — `tidal-ckpt diff A B`: tensors only in one file, dtype or
// shape changes, and for tensors present in both the number of differing
// elements and the largest absolute difference. Tensors decide the exit
// status; metadata differences are listed.
#include <cmath>
#include <cstring>
#include <memory>
#include <set>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/ckpt/ckpt_commands.h"
#include "lib/checkpoint/safetensors_reader.h"
#include "lib/core/dtype.h"

namespace tidal_ckpt_cli {

using tidal::Status;
using tidal::ckpt::SafetensorsReader;
using tidal::ckpt::TensorEntry;

namespace {

template <typename T>
double load_as(const uint8_t* p) {
  T v;
  memcpy(&v, p, sizeof v);
  return static_cast<double>(v);
}

// Element i of a tensor as a double; false for dtypes without a scalar
// value here (sub-byte floats, complex, E8M0), which are compared bytewise.
bool element_value(const std::string& dtype, const uint8_t* data, uint64_t i, double* out) {
  if (dtype == "F32") *out = load_as<float>(data + 4 * i);
  else if (dtype == "F64") *out = load_as<double>(data + 8 * i);
  else if (dtype == "F16") *out = tidal::f16_to_float(static_cast<uint16_t>(load_as<uint16_t>(data + 2 * i)));
  else if (dtype == "BF16") *out = tidal::bf16_to_float(static_cast<uint16_t>(load_as<uint16_t>(data + 2 * i)));
  else if (dtype == "F8_E4M3") *out = tidal::e4m3_to_float(data[i]);
  else if (dtype == "F8_E5M2") *out = tidal::e5m2_to_float(data[i]);
  else if (dtype == "I8") *out = load_as<int8_t>(data + i);
  else if (dtype == "U8" || dtype == "BOOL") *out = data[i];
  else if (dtype == "I16") *out = load_as<int16_t>(data + 2 * i);
  else if (dtype == "U16") *out = load_as<uint16_t>(data + 2 * i);
  else if (dtype == "I32") *out = load_as<int32_t>(data + 4 * i);
  else if (dtype == "U32") *out = load_as<uint32_t>(data + 4 * i);
  else if (dtype == "I64") *out = load_as<int64_t>(data + 8 * i);
  else if (dtype == "U64") *out = load_as<uint64_t>(data + 8 * i);
  else return false;
  return true;
}

struct Difference {
  uint64_t elements = 0;  // differing beyond the tolerance
  double max_abs = 0;
  uint64_t max_at = 0;
};

// Same dtype and shape: counts differing elements.
Difference compare_tensor(const TensorEntry& t, const uint8_t* a, const uint8_t* b, double tolerance) {
  Difference d;
  if (memcmp(a, b, t.bytes()) == 0) return d;
  double va = 0, vb = 0;
  uint64_t n = t.element_count();
  if (!element_value(t.dtype, a, 0, &va)) {  // bytewise
    for (uint64_t i = 0; i < t.bytes(); ++i) d.elements += a[i] != b[i];
    d.max_abs = NAN;
    return d;
  }
  for (uint64_t i = 0; i < n; ++i) {
    element_value(t.dtype, a, i, &va);
    element_value(t.dtype, b, i, &vb);
    if (std::isnan(va) && std::isnan(vb)) continue;
    double diff = (std::isnan(va) || std::isnan(vb)) ? INFINITY : std::fabs(va - vb);
    if (va == vb || diff <= tolerance) continue;
    d.elements++;
    if (diff > d.max_abs || d.elements == 1) d.max_abs = diff, d.max_at = i;
  }
  return d;
}

// Lists tensors of `x` that `y` lacks; true if any.
bool report_missing(const SafetensorsReader& x, const SafetensorsReader& y, const char* label) {
  bool any = false;
  for (const TensorEntry& t : x.header().tensors) {
    if (y.find(t.name)) continue;
    fmt::print("only in {}: {} {} {}\n", label, t.name, t.dtype, nlohmann::json(t.shape).dump());
    any = true;
  }
  return any;
}

void report_metadata(const SafetensorsReader& a, const SafetensorsReader& b) {
  std::set<std::string> keys;
  for (const auto& kv : a.header().metadata) keys.insert(kv.first);
  for (const auto& kv : b.header().metadata) keys.insert(kv.first);
  for (const std::string& key : keys) {
    auto ia = a.header().metadata.find(key), ib = b.header().metadata.find(key);
    bool in_a = ia != a.header().metadata.end(), in_b = ib != b.header().metadata.end();
    if (in_a && in_b && ia->second == ib->second) continue;
    fmt::print("metadata '{}': {}\n", key, !in_a ? "only in B" : !in_b ? "only in A" : "differs");
  }
}

}  // namespace

int diff_command(const std::string& path_a, const std::string& path_b, double tolerance) {
  std::unique_ptr<SafetensorsReader> a, b;
  Status s = SafetensorsReader::open(path_a, &a);
  if (s.ok()) s = SafetensorsReader::open(path_b, &b);
  if (!s.ok()) {
    fmt::print(stderr, "ERROR: {}\n", s.message());
    return kExitTrouble;
  }
  bool differ = report_missing(*a, *b, "A");
  differ |= report_missing(*b, *a, "B");
  uint64_t identical = 0;
  for (const TensorEntry& ta : a->header().tensors) {
    const TensorEntry* tb = b->find(ta.name);
    if (!tb) continue;
    if (ta.dtype != tb->dtype || ta.shape != tb->shape) {
      fmt::print("changed: {}: {} {} -> {} {}\n", ta.name, ta.dtype, nlohmann::json(ta.shape).dump(), tb->dtype,
                 nlohmann::json(tb->shape).dump());
      differ = true;
      continue;
    }
    Difference d = compare_tensor(ta, a->data(ta), b->data(*tb), tolerance);
    if (d.elements == 0) {
      identical++;
      continue;
    }
    differ = true;
    if (std::isnan(d.max_abs))
      fmt::print("differs: {}: {} of {} bytes\n", ta.name, d.elements, ta.bytes());
    else
      fmt::print("differs: {}: {} of {} elements, max |a-b| = {:g} at element {}\n", ta.name, d.elements,
                 ta.element_count(), d.max_abs, d.max_at);
  }
  report_metadata(*a, *b);
  fmt::print("{} tensors identical{}; {}\n", identical, tolerance > 0 ? fmt::format(" (tolerance {:g})", tolerance) : "",
             differ ? "files differ" : "no tensor differs");
  return differ ? kExitFinding : kExitOk;
}

}  // namespace tidal_ckpt_cli
