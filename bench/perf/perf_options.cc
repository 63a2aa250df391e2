#include "bench/perf/perf_options.h"

#include <getopt.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

namespace tidal_perf {
namespace {

struct NamedDtype {
  const char* nccl_name;
  const char* tidal_name;
  tidal_dtype_t dtype;
};

// nccl-tests' names first (what its users type), tidal's second.
const NamedDtype kDtypes[] = {
    {"float", "f32", TIDAL_F32},         {"half", "f16", TIDAL_F16},
    {"bfloat16", "bf16", TIDAL_BF16},    {"double", "f64", TIDAL_F64},
    {"int32", "i32", TIDAL_I32},         {"int64", "i64", TIDAL_I64},
    {"uint8", "u8", TIDAL_U8},           {"f8e4m3", "fp8_e4m3", TIDAL_FP8_E4M3},
    {"f8e5m2", "fp8_e5m2", TIDAL_FP8_E5M2},
};

const char* const kOpNames[] = {"sum", "prod", "max", "min", "avg"};
const char* const kScheduleNames[] = {"native", "ring", "torus2d", "ndring", "auto"};

enum LongOnly { kBackend = 1000, kSchedule, kTopo, kCsv, kProgress, kBucketed, kBucketBytes, kMemcpyBound };

const option kLongOptions[] = {
    {"nthreads", required_argument, nullptr, 't'},
    {"ngpus", required_argument, nullptr, 'g'},
    {"minbytes", required_argument, nullptr, 'b'},
    {"maxbytes", required_argument, nullptr, 'e'},
    {"stepbytes", required_argument, nullptr, 'i'},
    {"stepfactor", required_argument, nullptr, 'f'},
    {"iters", required_argument, nullptr, 'n'},
    {"agg_iters", required_argument, nullptr, 'm'},
    {"warmup_iters", required_argument, nullptr, 'w'},
    {"check", required_argument, nullptr, 'c'},
    {"op", required_argument, nullptr, 'o'},
    {"datatype", required_argument, nullptr, 'd'},
    {"root", required_argument, nullptr, 'r'},
    {"blocking", required_argument, nullptr, 'z'},
    {"timeout", required_argument, nullptr, 'T'},
    {"average", required_argument, nullptr, 'a'},
    {"output_file", required_argument, nullptr, 'J'},
    {"help", no_argument, nullptr, 'h'},
    {"backend", required_argument, nullptr, kBackend},
    {"schedule", required_argument, nullptr, kSchedule},
    {"topo", required_argument, nullptr, kTopo},
    {"csv", required_argument, nullptr, kCsv},
    {"progress", required_argument, nullptr, kProgress},
    {"bucketed", required_argument, nullptr, kBucketed},
    {"bucket-bytes", required_argument, nullptr, kBucketBytes},
    {"memcpy-bound", required_argument, nullptr, kMemcpyBound},
    {nullptr, 0, nullptr, 0}};

// A whole non-negative decimal integer within [lo, hi].
bool parse_int(const char* text, long lo, long hi, long* value) {
  if (!text || !*text) return false;
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(text, &end, 0);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  *value = v;
  return true;
}

bool parse_dtypes(const char* text, std::vector<tidal_dtype_t>* out) {
  out->clear();
  for (const NamedDtype& d : kDtypes) {
    if (std::strcmp(text, "all") == 0) {
      out->push_back(d.dtype);
    } else if (std::strcmp(text, d.nccl_name) == 0 || std::strcmp(text, d.tidal_name) == 0) {
      out->push_back(d.dtype);
      return true;
    }
  }
  return !out->empty();
}

bool parse_ops(const char* text, std::vector<tidal_op_t>* out) {
  out->clear();
  for (int op = 0; op < TIDAL_OP_COUNT; ++op) {
    if (std::strcmp(text, "all") == 0) {
      out->push_back(static_cast<tidal_op_t>(op));
    } else if (std::strcmp(text, kOpNames[op]) == 0) {
      out->push_back(static_cast<tidal_op_t>(op));
      return true;
    }
  }
  return !out->empty();
}

bool parse_schedule(const char* text, int* schedule) {
  for (int s = 0; s < 5; ++s) {
    if (std::strcmp(text, kScheduleNames[s]) == 0) {
      *schedule = s;
      return true;
    }
  }
  return false;
}

bool parse_backend(const char* text, std::string* backend) {
  for (const char* b : {"local", "mpi", "ucx", "nccl"}) {
    if (std::strcmp(text, b) == 0) {
      *backend = b;
      return true;
    }
  }
  return false;
}

// One flag with its argument; returns an error message or "".
std::string apply_flag(int flag, const char* arg, PerfOptions* o) {
  long v = 0;
  const long kMaxInt = 1L << 30;
  switch (flag) {
    case 't': return parse_int(arg, 1, 4096, &v) ? (o->threads = int(v), "") : "-t needs 1..4096";
    case 'g': return parse_int(arg, 1, 64, &v) ? (o->gpus = int(v), "") : "-g needs 1..64";
    case 'b': return parse_size(arg, &o->min_bytes) ? "" : "invalid size specified for 'minbytes'";
    case 'e': return parse_size(arg, &o->max_bytes) ? "" : "invalid size specified for 'maxbytes'";
    case 'i': return parse_size(arg, &o->step_bytes) ? "" : "invalid size specified for 'stepbytes'";
    case 'f':
      return parse_int(arg, 1, kMaxInt, &v) ? (o->step_factor = size_t(v), "")
                                            : "-f needs an integer step factor >= 1";
    case 'n': return parse_int(arg, 1, kMaxInt, &v) ? (o->iters = int(v), "") : "-n needs >= 1";
    case 'w': return parse_int(arg, 0, kMaxInt, &v) ? (o->warmup_iters = int(v), "") : "-w needs >= 0";
    case 'm': return parse_int(arg, 1, kMaxInt, &v) ? (o->agg_iters = int(v), "") : "-m needs >= 1";
    case 'c': return parse_int(arg, 0, kMaxInt, &v) ? (o->check_iters = int(v), "") : "-c needs >= 0";
    case 'r': return parse_int(arg, 0, kMaxInt, &v) ? (o->root = int(v), "") : "-r needs a rank >= 0";
    case 'z': return parse_int(arg, 0, 1, &v) ? (o->blocking = int(v), "") : "-z needs 0 or 1";
    case 'a': return parse_int(arg, 0, 3, &v) ? (o->average = int(v), "") : "-a needs 0, 1, 2 or 3";
    case 'T': return parse_int(arg, 0, kMaxInt, &v) ? (o->timeout_s = int(v), "") : "-T needs seconds >= 0";
    case 'J': return (o->json_path = arg, "");
    case 'o':
      return parse_ops(arg, &o->ops) ? "" : std::string("unknown op '") + arg +
                                                "' (sum, prod, max, min, avg or all)";
    case 'd':
      return parse_dtypes(arg, &o->dtypes)
                 ? ""
                 : std::string("unknown datatype '") + arg +
                       "' (float, half, bfloat16, double, int32, int64, uint8, f8e4m3, "
                       "f8e5m2 or all)";
    case kBackend:
      return parse_backend(arg, &o->backend) ? "" : std::string("unknown backend '") + arg +
                                                        "' (local, mpi, ucx or nccl)";
    case kSchedule:
      return parse_schedule(arg, &o->schedule)
                 ? ""
                 : std::string("unknown schedule '") + arg +
                       "' (native, ring, torus2d, ndring or auto)";
    case kTopo: return (o->topology = arg, "");
    case kCsv: return (o->csv_path = arg, "");
    case kProgress:
      return parse_int(arg, 0, 1, &v) ? (o->progress = int(v), "") : "--progress needs 0 or 1";
    case kBucketed: return (o->bucketed_model = arg, "");
    case kMemcpyBound:
      return parse_int(arg, 0, 1, &v) ? (o->memcpy_bound = int(v), "") : "--memcpy-bound needs 0 or 1";
    case kBucketBytes:
      return parse_size(arg, &o->bucket_bytes) ? "" : "invalid size specified for '--bucket-bytes'";
    default: return "unknown option";
  }
}

std::string check_consistency(const PerfOptions& o) {
  if (o.min_bytes > o.max_bytes) {
    return "invalid sizes for 'minbytes' and 'maxbytes': " + std::to_string(o.min_bytes) +
           " > " + std::to_string(o.max_bytes);
  }
  if (o.step_factor <= 1 && o.step_bytes == 0 && o.min_bytes < o.max_bytes) {
    return "a step of 0 bytes with factor 1 never reaches 'maxbytes'";
  }
  return "";
}

}  // namespace

bool parse_size(const char* text, size_t* bytes) {
  if (!text || !*text) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text, &end);
  if (errno != 0 || end == text || !(v >= 0)) return false;
  double unit = 1;
  if (*end != '\0') {
    switch (*end) {
      case 'K': case 'k': unit = 1024.0; break;
      case 'M': case 'm': unit = 1024.0 * 1024; break;
      case 'G': case 'g': unit = 1024.0 * 1024 * 1024; break;
      default: return false;
    }
    if (end[1] != '\0') return false;
  }
  const double total = v * unit;
  if (total > 1e18) return false;
  *bytes = static_cast<size_t>(std::llround(total));
  return true;
}

ParseOutcome parse_options(int argc, char** argv, const CollectiveTraits& traits,
                           PerfOptions* options) {
  optind = 1;
  opterr = 0;  // we print our own messages
  while (true) {
    int index = 0;
    int flag = getopt_long(argc, argv, ":t:g:b:e:i:f:n:m:w:c:o:d:r:z:T:a:J:h", kLongOptions,
                           &index);
    if (flag == -1) break;
    std::string error;
    if (flag == 'h') {
      print_usage(traits.program, stdout);
      return ParseOutcome::kHelp;
    } else if (flag == '?') {
      error = optopt ? std::string("invalid option '-") + char(optopt) + "'"
                     : std::string("invalid option '") + argv[optind - 1] + "'";
    } else if (flag == ':') {
      error = std::string("option '") + argv[optind - 1] + "' needs an argument";
    } else {
      error = apply_flag(flag, optarg, options);
    }
    if (!error.empty()) {
      std::fprintf(stderr, "%s: %s\n", traits.program, error.c_str());
      print_usage(traits.program, stderr);
      return ParseOutcome::kError;
    }
  }
  std::string error = optind < argc ? std::string("unexpected argument '") + argv[optind] + "'"
                                    : check_consistency(*options);
  if (error.empty() && !traits.reduces && options->ops.size() > 1) options->ops = {TIDAL_SUM};
  if (error.empty() && !options->bucketed_model.empty() && !traits.bucketable) {
    error = "--bucketed applies to all_gather_perf and reduce_scatter_perf";
  }
  if (!error.empty()) {
    std::fprintf(stderr, "%s: %s\n", traits.program, error.c_str());
    print_usage(traits.program, stderr);
    return ParseOutcome::kError;
  }
  return ParseOutcome::kRun;
}

void print_usage(const char* program, FILE* out) {
  std::fprintf(out,
               "USAGE: %s \n\t"
               "[-t,--nthreads <num threads>] \n\t"
               "[-g,--ngpus <gpus per thread>] \n\t"
               "[-b,--minbytes <min size in bytes>] \n\t"
               "[-e,--maxbytes <max size in bytes>] \n\t"
               "[-i,--stepbytes <increment size>] \n\t"
               "[-f,--stepfactor <increment factor>] \n\t"
               "[-n,--iters <iteration count>] \n\t"
               "[-m,--agg_iters <aggregated iteration count>] \n\t"
               "[-w,--warmup_iters <warmup iteration count>] \n\t"
               "[-c,--check <check iteration count>] \n\t"
               "[-o,--op <sum/prod/min/max/avg/all>] \n\t"
               "[-d,--datatype <float/half/bfloat16/double/int32/int64/uint8/f8e4m3/f8e5m2/all>] \n\t"
               "[-r,--root <root>] \n\t"
               "[-z,--blocking <0/1>] \n\t"
               "[-T,--timeout <time in seconds>] \n\t"
               "[-a,--average <0/1/2/3> report average iteration time <0=RANK0/1=AVG/2=MIN/3=MAX>] \n\t"
               "[-J,--output_file <JSON file>] \n\t"
               "[--backend <local/mpi/ucx/nccl>] \n\t"
               "[--schedule <native/ring/torus2d/ndring/auto>] \n\t"
               "[--topo <XxY, e.g. 2x4>] \n\t"
               "[--csv <CSV file>] \n\t"
               "[--progress <0/1> progress line on stderr (default: after 5 s)] \n\t"
               "[--bucketed <dit-s/dit-b/dit-xl/FILE> bucketed vs per-tensor vs flat] \n\t"
               "[--bucket-bytes <bucket size, default TIDAL_BUCKET_BYTES>] \n\t"
               "[--memcpy-bound <0/1> measure memcpy on every rank at once, print it as the bound] \n\t"
               "[-h,--help]\n",
               program);
}

const char* dtype_display_name(tidal_dtype_t dtype) {
  for (const NamedDtype& d : kDtypes) {
    if (d.dtype == dtype) return d.nccl_name;
  }
  return "unknown";
}

const char* op_display_name(tidal_op_t op) {
  return op >= 0 && op < TIDAL_OP_COUNT ? kOpNames[op] : "unknown";
}

const char* schedule_display_name(int schedule) {
  return schedule >= 0 && schedule < 5 ? kScheduleNames[schedule] : "default";
}

}  // namespace tidal_perf
