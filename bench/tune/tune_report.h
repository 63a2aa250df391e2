// tune_report.h — tidal-tune's output: the table, the recommendation, the
// CSV and the gnuplot PNG of predicted vs measured iteration time.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "lib/core/status.h"
#include "tidal/tune.h"

namespace tidal {
namespace tune {

// The result's points, read through the C API.
Status read_points(tidal_tune_result_t result, std::vector<tidal_tune_point_t>* points);

void print_table(const std::vector<tidal_tune_point_t>& points, std::FILE* out);

// "recommended: 16 MiB ..." and, when sizes were measured, how the pick
// compares with the measured best and with 25 MiB.
void print_recommendation(tidal_tune_result_t result,
                          const std::vector<tidal_tune_point_t>& points, std::FILE* out);

Status write_csv(const std::vector<tidal_tune_point_t>& points, const std::string& path);

// Writes `png` with gnuplot from the CSV at `csv` (gnuplot on PATH): the
// predicted curve, the measured points when there are any, the pick.
Status write_plot(const std::string& csv, const std::string& png, const std::string& title,
                  bool with_measured);

}  // namespace tune
}  // namespace tidal
