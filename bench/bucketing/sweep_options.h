// sweep_options.h — the options every multi-rank DiT bucket-size sweep
// takes (where its ranks run, which model, which bucket sizes, how many
// interleaved rounds), their CLI flags, and the model lookup.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/bucketing/dit_models.h"

namespace tidal_bench {

struct SweepOptions {
  std::string backend = "local";
  int ranks = 4;
  std::string model = "DiT-S/2";
  std::vector<double> bucket_mib = {0.25, 1, 4, 16};
  int reps = 5;
};

inline void add_sweep_options(CLI::App& app, SweepOptions* o) {
  app.add_option("--backend", o->backend, "local or mpi (run under mpiexec)");
  app.add_option("--ranks", o->ranks, "local ranks (threads)");
  app.add_option("--model", o->model, "DiT-S/2, DiT-B/2 or DiT-XL/2");
  app.add_option("--bucket-mib", o->bucket_mib, "bucket sizes to sweep (MiB)")->delimiter(',');
  app.add_option("--reps", o->reps, "interleaved rounds per bucket size");
}

// The model named by the options; false (with a message) for an unknown name.
inline bool sweep_model(const SweepOptions& o, DiTConfig* model) {
  if (dit_by_name(o.model, model)) return true;
  std::fprintf(stderr, "unknown model %s\n", o.model.c_str());
  return false;
}

}  // namespace tidal_bench
