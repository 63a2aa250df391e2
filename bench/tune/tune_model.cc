// tune_model.cc — DiT gradient layers (bench/bucketing's parameter lists
// with a backward-time weight per tensor), layer files.
#include "bench/tune/tune_model.h"

#include "bench/bucketing/dit_models.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace tidal {
namespace tune {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Relative backward time of one parameter tensor. Backward FLOPs are ~2x
// forward, and forward of a linear layer over T tokens is 2 * T * params,
// so only ratios matter: tokens * params for the patch embedding, the
// attention and MLP linears and the final linear (plus the attention's
// T^2 * hidden score and weighted-sum work, counted on attn.proj); params
// alone for the layers that run on the one conditioning vector (timestep
// MLP, adaLN modulation); one row for the label-embedding lookup.
double backward_weight(const tidal_bench::ParamTensor& t, double tokens, double hidden) {
  const std::string& n = t.name;
  double count = double(t.count());
  if (n.find("y_embedder") != std::string::npos) return hidden;
  if (n.find("adaLN_modulation") != std::string::npos ||
      n.find("t_embedder") != std::string::npos) {
    return count;
  }
  double weight = tokens * count;
  if (n.find("attn.proj.weight") != std::string::npos) weight += 2 * tokens * tokens * hidden;
  return weight;
}

}  // namespace

double ModelSpec::total_params() const {
  double total = 0;
  for (const auto& l : layers) total += l.params;
  return total;
}

Status dit_model(const std::string& name, ModelSpec* out) {
  std::string key = lower(name);
  if (key.size() > 2 && key.compare(key.size() - 2, 2, "/2") == 0) key.resize(key.size() - 2);
  if (key.rfind("dit-", 0) == 0) key = key.substr(4);
  tidal_bench::DiTConfig config;
  if ((key != "s" && key != "b" && key != "xl") || !tidal_bench::dit_by_name(key, &config)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("unknown model \"{}\" (dit-s, dit-b, dit-xl, or a layer file)",
                              name));
  }
  const double side = double(config.input_size) / config.patch;
  ModelSpec m;
  m.name = config.name;
  for (const auto& t : tidal_bench::dit_parameters(config)) {
    m.layers.push_back({t.name, double(t.count()), backward_weight(t, side * side,
                                                                  double(config.hidden))});
  }
  *out = std::move(m);
  return Status();
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
