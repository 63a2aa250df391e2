// perf_report.h — what the perf tools print, exactly as nccl-tests prints
// it (the layout of nccl-tests 2.17: header lines, the "Using devices"
// block, the two-level column header, rows in the same printf widths, the
// footer), plus the -J JSON and --csv files. Only rank 0 reports.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/perf/perf_options.h"

namespace tidal_perf {

// One half of a row (out-of-place or in-place).
struct HalfResult {
  bool measured = false;  // false: the collective has no such form (N/A)
  double time_us = 0;
  double algbw = 0;       // GB/s, 1e9 bytes
  double busbw = 0;
  bool checked = false;   // false: -c 0 (#wrong is N/A)
  int64_t wrong = 0;
};

struct RowResult {
  size_t bytes = 0;
  size_t count = 0;
  std::string type;
  std::string redop;
  int root = -1;
  HalfResult out_of_place;
  HalfResult in_place;
};

// nccl-tests' number format: the widest precision that fits `width`.
std::string format_fixed_width(double value, int width);

class Reporter {
 public:
  Reporter(const PerfOptions& options, const std::string& program, const std::string& backend,
           int nranks, std::vector<std::string> args);

  // Header through the "Using devices" block (device_lines already "#  Rank ..").
  void print_header(const std::vector<std::string>& device_lines);
  void print_table_header();
  void print_row_start(const RowResult& row);
  void print_half(const HalfResult& half);
  void finish_row(const RowResult& row);
  void print_note(const std::string& text);  // "# text"
  // Counts one measured bus bandwidth into "Avg bus bandwidth" (the table
  // rows count theirs through print_half).
  void add_busbw(double busbw);
  // Footer lines; `wrong_halves` counts (rank, half) pairs with wrong data,
  // as nccl-tests' "Out of bounds values" does. Returns the average bus
  // bandwidth over the measured halves.
  double print_footer(int64_t wrong_halves);
  // Writes -J and --csv files; false with *error when one cannot be written.
  bool write_files(std::string* error) const;

 private:
  void add_half(const HalfResult& half);
  std::string json() const;
  std::string csv() const;

  const PerfOptions options_;
  const std::string program_;
  const std::string backend_;
  const int nranks_;
  const std::vector<std::string> args_;
  std::string start_time_;
  std::vector<std::string> devices_;
  std::vector<RowResult> rows_;
  double busbw_sum_ = 0;
  int busbw_count_ = 0;
  int64_t wrong_halves_ = 0;
  double average_busbw_ = 0;
};

}  // namespace tidal_perf
