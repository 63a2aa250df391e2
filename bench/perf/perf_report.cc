#include "bench/perf/perf_report.h"

#include <cmath>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <sstream>
#include <utility>

namespace tidal_perf {
namespace {

std::string now_string() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
  return text;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char text[64];
  std::snprintf(text, sizeof text, "%.6f", v);
  return text;
}

std::string json_half(const HalfResult& h) {
  if (!h.measured) return "null";
  std::ostringstream o;
  o << "{\"time\":" << json_number(h.time_us) << ",\"alg_bw\":" << json_number(h.algbw)
    << ",\"bus_bw\":" << json_number(h.busbw)
    << ",\"nwrong\":" << (h.checked ? std::to_string(h.wrong) : "null") << "}";
  return o.str();
}

std::string csv_half(const HalfResult& h) {
  if (!h.measured) return ",,,";
  std::ostringstream o;
  o << h.time_us << "," << h.algbw << "," << h.busbw << ","
    << (h.checked ? std::to_string(h.wrong) : "");
  return o.str();
}

}  // namespace

std::string format_fixed_width(double value, int width) {
  int digits = 0;  // digits before the decimal point
  for (double v = 1; value >= v && digits < 30; v *= 10) ++digits;
  char text[64];
  if (digits < width - 2) {
    std::snprintf(text, sizeof text, "%*.2f", width, value);
  } else if (digits < width - 1) {
    std::snprintf(text, sizeof text, "%*.1f", width, value);
  } else if (digits < width + 1) {
    std::snprintf(text, sizeof text, "%*.0f", width, value);
  } else {
    std::snprintf(text, sizeof text, "%*.1e", width, value);
  }
  return text;
}

Reporter::Reporter(const PerfOptions& options, const std::string& program,
                   const std::string& backend, int nranks, std::vector<std::string> args)
    : options_(options), program_(program), backend_(backend), nranks_(nranks),
      args_(std::move(args)), start_time_(now_string()) {}

void Reporter::print_header(const std::vector<std::string>& device_lines) {
  const PerfOptions& o = options_;
  std::printf("# tidal perf tests version %s (nccl-tests layout) tidal-headers=%d backend=%s\n",
              TIDAL_VERSION_STRING, TIDAL_VERSION_CODE, backend_.c_str());
  std::printf("# Collective test starting: %s\n", program_.c_str());
  std::printf("# nThread %d nGpus %d minBytes %zu maxBytes %zu step: %zu(%s) warmup iters: %d "
              "iters: %d agg iters: %d validation: %d graph: 0\n",
              o.threads, o.gpus, o.min_bytes, o.max_bytes,
              o.step_factor > 1 ? o.step_factor : o.step_bytes,
              o.step_factor > 1 ? "factor" : "bytes", o.warmup_iters, o.iters, o.agg_iters,
              o.check_iters > 0 ? 1 : 0);
  if (o.blocking) {
    std::printf("# Blocking Enabled: wait for completion and barrier after each collective \n");
  }
  if (o.schedule != TIDAL_SCHEDULE_UNSET || !o.topology.empty()) {
    std::printf("# tidal schedule: %s topology: %s\n", schedule_display_name(o.schedule),
                o.topology.empty() ? "detect" : o.topology.c_str());
  }
  std::printf("#\n# Using devices\n");
  for (const std::string& line : device_lines) std::printf("%s\n", line.c_str());
  devices_ = device_lines;
}

void Reporter::print_table_header() {
  std::printf("#\n");
  std::printf("# %10s  %12s  %8s  %6s  %6s           out-of-place                       "
              "in-place          \n", "", "", "", "", "");
  std::printf("# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s \n", "size",
              "count", "type", "redop", "root", "time", "algbw", "busbw", "#wrong", "time",
              "algbw", "busbw", "#wrong");
  std::printf("# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s \n", "(B)",
              "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)",
              "(GB/s)", "");
}

void Reporter::print_row_start(const RowResult& row) {
  std::printf("%12zu  %12zu  %8s  %6s  %6i", row.bytes, row.count, row.type.c_str(),
              row.redop.c_str(), row.root);
}

void Reporter::print_half(const HalfResult& h) {
  if (!h.measured) {
    std::printf("  %7s  %6s  %6s  %6s", "N/A", "N/A", "N/A", "N/A");
    return;
  }
  const std::string time = format_fixed_width(h.time_us, 7);
  const std::string alg = format_fixed_width(h.algbw, 6);
  const std::string bus = format_fixed_width(h.busbw, 6);
  if (h.checked) {
    std::printf("  %7s  %6s  %6s  %6g", time.c_str(), alg.c_str(), bus.c_str(),
                static_cast<double>(h.wrong));
  } else {
    std::printf("  %7s  %6s  %6s    N/A", time.c_str(), alg.c_str(), bus.c_str());
  }
  add_half(h);
}

void Reporter::add_half(const HalfResult& h) { add_busbw(h.busbw); }

void Reporter::add_busbw(double busbw) {
  busbw_sum_ += busbw;
  ++busbw_count_;
}

void Reporter::finish_row(const RowResult& row) {
  std::printf("\n");
  std::fflush(stdout);
  rows_.push_back(row);
}

void Reporter::print_note(const std::string& text) { std::printf("# %s\n", text.c_str()); }

double Reporter::print_footer(int64_t wrong_halves) {
  wrong_halves_ = wrong_halves;
  average_busbw_ = busbw_count_ ? busbw_sum_ / busbw_count_ : 0;
  std::printf("# %-20s : %lld %s\n", "Out of bounds values", static_cast<long long>(wrong_halves),
              wrong_halves ? "FAILED" : "OK");
  std::printf("# %-20s : %g \n", "Avg bus bandwidth", average_busbw_);
  std::printf("#\n# Collective test concluded: %s\n#\n", program_.c_str());
  std::fflush(stdout);
  return average_busbw_;
}

std::string Reporter::json() const {
  const PerfOptions& o = options_;
  std::ostringstream j;
  j << "{\"version\":1,\"start_time\":" << json_string(start_time_) << ",\"args\":[";
  for (size_t i = 0; i < args_.size(); ++i) j << (i ? "," : "") << json_string(args_[i]);
  j << "],\"tidal_version\":" << json_string(TIDAL_VERSION_STRING)
    << ",\"backend\":" << json_string(backend_) << ",\"nranks\":" << nranks_
    << ",\"config\":{\"nthreads\":" << o.threads << ",\"ngpus\":" << o.gpus
    << ",\"minimum_bytes\":" << o.min_bytes << ",\"maximum_bytes\":" << o.max_bytes
    << (o.step_factor > 1 ? ",\"step_factor\":" : ",\"step_bytes\":")
    << (o.step_factor > 1 ? o.step_factor : o.step_bytes)
    << ",\"warmup_iters\":" << o.warmup_iters << ",\"iterations\":" << o.iters
    << ",\"aggregated_iterations\":" << o.agg_iters << ",\"validation\":" << o.check_iters
    << ",\"blocking_collectives\":" << (o.blocking ? "true" : "false")
    << ",\"schedule\":" << json_string(schedule_display_name(o.schedule)) << ",\"devices\":[";
  for (size_t i = 0; i < devices_.size(); ++i) j << (i ? "," : "") << json_string(devices_[i]);
  j << "]},\"results\":[";
  for (size_t i = 0; i < rows_.size(); ++i) {
    const RowResult& r = rows_[i];
    j << (i ? "," : "") << "{\"size\":" << r.bytes << ",\"count\":" << r.count
      << ",\"type\":" << json_string(r.type) << ",\"redop\":" << json_string(r.redop)
      << ",\"root\":" << r.root << ",\"out_of_place\":" << json_half(r.out_of_place)
      << ",\"in_place\":" << json_half(r.in_place) << "}";
  }
  j << "],\"out_of_bounds\":{\"count\":" << wrong_halves_
    << ",\"okay\":" << (wrong_halves_ ? "false" : "true") << "},\"average_bus_bandwidth\":"
    << "{\"bandwidth\":" << json_number(average_busbw_) << ",\"okay\":\"unchecked\"}"
    << ",\"end_time\":" << json_string(now_string()) << "}\n";
  return j.str();
}

std::string Reporter::csv() const {
  std::ostringstream c;
  c << "collective,backend,nranks,size,count,type,redop,root,"
       "oop_time_us,oop_algbw,oop_busbw,oop_wrong,ip_time_us,ip_algbw,ip_busbw,ip_wrong\n";
  for (const RowResult& r : rows_) {
    c << program_ << "," << backend_ << "," << nranks_ << "," << r.bytes << "," << r.count << ","
      << r.type << "," << r.redop << "," << r.root << "," << csv_half(r.out_of_place) << ","
      << csv_half(r.in_place) << "\n";
  }
  return c.str();
}

bool Reporter::write_files(std::string* error) const {
  const std::pair<const std::string*, std::string> files[] = {
      {&options_.json_path, options_.json_path.empty() ? "" : json()},
      {&options_.csv_path, options_.csv_path.empty() ? "" : csv()}};
  for (const auto& f : files) {
    if (f.first->empty()) continue;
    std::ofstream out(*f.first, std::ios::trunc);
    out << f.second;
    if (!out.good()) {
      *error = "cannot write " + *f.first;
      return false;
    }
  }
  return true;
}

}  // namespace tidal_perf
