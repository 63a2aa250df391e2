// tune_model.cc — DiT parameter lists from hyper-parameters, layer files.
#include "bench/tune/tune_model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace tidal {
namespace tune {

namespace {

struct DitConfig {
  const char* name;
  double hidden, depth, heads;
};

constexpr double kPatch = 2, kInChannels = 4, kOutChannels = 8, kClasses = 1000;
constexpr double kFreqDim = 256, kMlpRatio = 4, kTokens = 256;

double linear(double in, double out) { return in * out + out; }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Backward FLOPs per layer are ~2x forward; forward of a linear layer over
// T tokens is 2*T*params. Only ratios matter, so a layer's weight is
// tokens * params (+ attention's T^2 * hidden terms for the attention).
void add_block(ModelSpec* m, int i, double h) {
  auto name = [&](const char* part) { return fmt::format("blocks.{}.{}", i, part); };
  m->layers.push_back({name("attn.qkv"), linear(h, 3 * h), kTokens * 3 * h * h});
  // Attention scores and weighted sum: 2 * T^2 * h multiply-adds.
  m->layers.push_back({name("attn.proj"), linear(h, h), kTokens * h * h + 2 * kTokens * kTokens * h});
  m->layers.push_back({name("mlp.fc1"), linear(h, kMlpRatio * h), kTokens * kMlpRatio * h * h});
  m->layers.push_back({name("mlp.fc2"), linear(kMlpRatio * h, h), kTokens * kMlpRatio * h * h});
  // adaLN modulation runs on the one conditioning vector.
  m->layers.push_back({name("adaLN_modulation"), linear(h, 6 * h), 6 * h * h});
}

void build_dit(const DitConfig& c, ModelSpec* m) {
  const double h = c.hidden;
  m->name = c.name;
  m->layers.clear();
  double patch_params = kInChannels * kPatch * kPatch * h + h;
  m->layers.push_back({"x_embedder", patch_params, kTokens * patch_params});
  m->layers.push_back({"t_embedder", linear(kFreqDim, h) + linear(h, h), kFreqDim * h + h * h});
  m->layers.push_back({"y_embedder", (kClasses + 1) * h, h});  // a row lookup
  for (int i = 0; i < static_cast<int>(c.depth); ++i) add_block(m, i, h);
  double out = kPatch * kPatch * kOutChannels;
  m->layers.push_back({"final_layer.adaLN_modulation", linear(h, 2 * h), 2 * h * h});
  m->layers.push_back({"final_layer.linear", linear(h, out), kTokens * h * out});
}

}  // namespace

double ModelSpec::total_params() const {
  double total = 0;
  for (const auto& l : layers) total += l.params;
  return total;
}

Status dit_model(const std::string& name, ModelSpec* out) {
  static const DitConfig presets[] = {
      {"DiT-S/2", 384, 12, 6}, {"DiT-B/2", 768, 12, 12}, {"DiT-XL/2", 1152, 28, 16}};
  std::string key = lower(name);
  if (key.size() > 2 && key.compare(key.size() - 2, 2, "/2") == 0) key.resize(key.size() - 2);
  for (const auto& c : presets) {
    std::string preset = lower(c.name);
    preset.resize(preset.size() - 2);
    if (key == preset) {
      build_dit(c, out);
      return Status();
    }
  }
  return Status(TIDAL_ERR_INVALID_ARGUMENT,
                fmt::format("unknown model \"{}\" (dit-s, dit-b, dit-xl, or a layer file)", name));
}

Status load_model_file(const std::string& path, ModelSpec* out) {
  std::ifstream in(path);
  if (!in) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("unknown model \"{}\": not a preset (dit-s, dit-b, dit-xl) and "
                              "not a readable layer file", path));
  }
  ModelSpec m;
  m.name = path;
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    line = line.substr(0, line.find('#'));
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream fields(line);
    ModelLayer layer;
    if (!(fields >> layer.name)) continue;
    if (!(fields >> layer.params) || !std::isfinite(layer.params) || layer.params < 0) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("{}:{}: expected \"name params [bwd_weight]\"", path, lineno));
    }
    if (!(fields >> layer.bwd_weight)) layer.bwd_weight = layer.params;
    if (!std::isfinite(layer.bwd_weight) || layer.bwd_weight < 0) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("{}:{}: backward weight must be >= 0", path, lineno));
    }
    m.layers.push_back(layer);
  }
  if (m.total_params() <= 0) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("{}: no layer with parameters (phi would be 0)", path));
  }
  *out = std::move(m);
  return Status();
}

std::vector<tuning::GradLayer> grad_layers(const ModelSpec& model, double bytes_per_param) {
  std::vector<tuning::GradLayer> layers;
  for (auto it = model.layers.rbegin(); it != model.layers.rend(); ++it) {
    layers.push_back({it->params * bytes_per_param, it->bwd_weight});
  }
  return layers;
}

}  // namespace tune
}  // namespace tidal
