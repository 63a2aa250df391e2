// perf_options.h — the command line of the perf tools: nccl-tests' flags
// (same letters, same long names, same defaults) plus tidal's extra long
// flags, which are off by default so the default output stays identical.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "tidal/tidal.h"

namespace tidal_perf {

// What the collective being run accepts; the parser rejects the rest.
struct CollectiveTraits {
  const char* program;  // "all_gather_perf"
  bool reduces;         // -o is meaningful
  bool uses_root;       // -r is meaningful
  bool bucketable;      // --bucketed is meaningful
};

struct PerfOptions {
  // nccl-tests flags and defaults.
  int threads = 1;                       // -t: rank threads per process
  int gpus = 1;                          // -g: GPUs per thread (nccl backend)
  size_t min_bytes = 32u << 20;          // -b
  size_t max_bytes = 32u << 20;          // -e
  size_t step_bytes = 1u << 20;          // -i
  size_t step_factor = 1;                // -f (> 1: multiply; 1: add -i)
  int iters = 20;                        // -n
  int warmup_iters = 1;                  // -w
  int agg_iters = 1;                     // -m
  int check_iters = 1;                   // -c (0: no data check)
  std::vector<tidal_op_t> ops{TIDAL_SUM};        // -o (list when "all")
  std::vector<tidal_dtype_t> dtypes{TIDAL_F32};  // -d (list when "all")
  int root = 0;                          // -r
  int blocking = 0;                      // -z
  int average = 1;                       // -a: 0 rank 0, 1 avg, 2 min, 3 max
  int timeout_s = -1;                    // -T (-1: tidal's default)
  std::string json_path;                 // -J
  // tidal's extra long flags.
  std::string backend;                   // --backend ("" = choose)
  int schedule = TIDAL_SCHEDULE_UNSET;   // --schedule
  std::string topology;                  // --topo
  std::string csv_path;                  // --csv
  int progress = -1;                     // --progress 0|1 (-1: after 5 s)
  std::string bucketed_model;            // --bucketed dit-s|dit-b|dit-xl|FILE
  size_t bucket_bytes = 0;               // --bucket-bytes (0: the comm's config)
  int memcpy_bound = 0;                  // --memcpy-bound 0|1: print the bound
};

enum class ParseOutcome { kRun, kHelp, kError };

// Parses argv into *options. On kError a message and the usage are printed
// to stderr; on kHelp the usage is printed to stdout.
ParseOutcome parse_options(int argc, char** argv, const CollectiveTraits& traits,
                           PerfOptions* options);

void print_usage(const char* program, FILE* out);

// nccl-tests' names: "float", "half", "bfloat16", "f8e4m3", ...
const char* dtype_display_name(tidal_dtype_t dtype);
// nccl-tests' op names: "sum", "prod", "max", "min", "avg".
const char* op_display_name(tidal_op_t op);
// Sizes with K/M/G suffixes (powers of 1024), as nccl-tests reads them.
bool parse_size(const char* text, size_t* bytes);
const char* schedule_display_name(int schedule);

}  // namespace tidal_perf
