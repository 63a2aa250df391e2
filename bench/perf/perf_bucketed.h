// perf_bucketed.h — `--bucketed MODEL` for all_gather_perf and
// reduce_scatter_perf: times tidal's bucketed collective (tidal/bucket.h)
// over a real tensor list against two baselines run in the same process,
// interleaved (flat, bucketed, per-tensor, flat, ...):
//
//   flat        ONE collective over the whole model (the bound: no
//               per-call cost at all, but no per-tensor layout either)
//   bucketed    tidal_bucketed_{reduce_scatter,all_gather}: per bucket one
//               fused pack, one collective, one fused unpack
//   per-tensor  one collective per tensor (each padded to the rank count)
//
// Every path is checked exactly after timing. The table reports medians
// and each path's time relative to flat.
#pragma once

#include <string>
#include <vector>

#include "bench/perf/perf_options.h"
#include "bench/perf/perf_rank.h"
#include "bench/perf/perf_team.h"

namespace tidal_perf {

enum class BucketedKind { kNone, kReduceScatter, kAllGather };

// Element counts of MODEL: "dit-s", "dit-b", "dit-xl" (DiT-S/2, B/2, XL/2
// from their hyper-parameters) or a file with one count per line ('#'
// starts a comment). False with *error otherwise.
bool load_tensor_counts(const std::string& model, std::vector<size_t>* counts,
                        std::string* label, std::string* error);

// One rank's whole bucketed run (the harness calls it instead of the
// size sweep). False when this or another rank failed (message in team).
bool run_bucketed(const PerfOptions& options, BucketedKind kind, const char* program,
                  Team& team, const RankSetup& setup, RankTotals* totals);

}  // namespace tidal_perf
