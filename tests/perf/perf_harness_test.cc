// Unit tests of the perf harness's pieces that decide correctness: the
// exact test data (checked against tidal's own conversions and reduction
// kernels, in two fold orders), the flag parser and nccl-tests' number
// format.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "bench/perf/perf_options.h"
#include "bench/perf/perf_report.h"
#include "bench/perf/perf_values.h"
#include "lib/core/dtype.h"
#include "lib/core/reduce.h"

namespace tidal_perf {
namespace {

const tidal_dtype_t kAllDtypes[] = {TIDAL_F32, TIDAL_F16, TIDAL_BF16, TIDAL_F64, TIDAL_I32,
                                    TIDAL_I64, TIDAL_U8, TIDAL_FP8_E4M3, TIDAL_FP8_E5M2};

// tidal's own encoding of the float v, for the formats the harness encodes itself.
std::vector<unsigned char> tidal_encoding(tidal_dtype_t dtype, float v) {
  std::vector<unsigned char> out(tidal_dtype_size(dtype));
  uint16_t h = 0;
  switch (dtype) {
    case TIDAL_F16: h = tidal::float_to_f16(v); std::memcpy(out.data(), &h, 2); break;
    case TIDAL_BF16: h = tidal::float_to_bf16(v); std::memcpy(out.data(), &h, 2); break;
    case TIDAL_FP8_E4M3: out[0] = tidal::float_to_e4m3(v); break;
    case TIDAL_FP8_E5M2: out[0] = tidal::float_to_e5m2(v); break;
    default: ADD_FAILURE() << "not a narrow float";
  }
  return out;
}

TEST(PerfValues, EncodeIntegerMatchesTidalConversionsOverTheExactRange) {
  for (tidal_dtype_t dtype : {TIDAL_F16, TIDAL_BF16, TIDAL_FP8_E4M3, TIDAL_FP8_E5M2}) {
    for (uint64_t v = 0; v <= exact_integer_limit(dtype); ++v) {
      std::vector<unsigned char> mine(tidal_dtype_size(dtype));
      encode_integer(dtype, v, mine.data());
      ASSERT_EQ(mine, tidal_encoding(dtype, static_cast<float>(v)))
          << tidal_dtype_name(dtype) << " " << v;
    }
  }
}

// Folds every rank's input with tidal's kernel in the given rank order.
std::vector<unsigned char> fold(const DataPlan& plan, size_t count, bool reverse) {
  const size_t es = tidal_dtype_size(plan.dtype);
  std::vector<unsigned char> acc(count * es), in(count * es);
  const int first = reverse ? plan.nranks - 1 : 0;
  fill_reduction_input(plan, first, 0, count, acc.data());
  for (int i = 1; i < plan.nranks; ++i) {
    const int r = reverse ? plan.nranks - 1 - i : i;
    fill_reduction_input(plan, r, 0, count, in.data());
    tidal::reduce_into(acc.data(), in.data(), count, plan.dtype, plan.op);
  }
  if (plan.op == TIDAL_AVG) tidal::divide_by(acc.data(), count, plan.dtype, plan.nranks);
  return acc;
}

TEST(PerfValues, ReductionResultsAreExactInEitherFoldOrder) {
  const size_t count = 600;
  for (tidal_dtype_t dtype : kAllDtypes) {
    for (int op = 0; op < TIDAL_OP_COUNT; ++op) {
      for (int nranks : {1, 2, 3, 8, 24, 64}) {
        const DataPlan plan{dtype, static_cast<tidal_op_t>(op), nranks, 5};
        std::vector<unsigned char> want(count * tidal_dtype_size(dtype));
        fill_reduction_result(plan, 0, count, want.data());
        for (bool reverse : {false, true}) {
          ASSERT_EQ(count_wrong(fold(plan, count, reverse).data(), want.data(), count, dtype), 0)
              << tidal_dtype_name(dtype) << " " << tidal_op_name(plan.op) << " n=" << nranks;
        }
      }
    }
  }
}

TEST(PerfValues, CopyPatternsOfDifferentRanksDiffer) {
  for (tidal_dtype_t dtype : kAllDtypes) {
    const DataPlan plan{dtype, TIDAL_SUM, 4, 0};
    std::vector<unsigned char> a(64 * tidal_dtype_size(dtype)), b(a.size());
    fill_copy_input(plan, 0, 0, 64, a.data());
    fill_copy_input(plan, 1, 0, 64, b.data());
    EXPECT_EQ(count_wrong(a.data(), b.data(), 64, dtype), 64) << tidal_dtype_name(dtype);
  }
}

TEST(PerfValues, FillsLongerThanThePeriodRepeatThePattern) {
  const DataPlan plan{TIDAL_F32, TIDAL_SUM, 3, 7};
  const size_t count = 10000;
  std::vector<float> tiled(count);
  fill_reduction_input(plan, 2, 11, count, tiled.data());
  for (size_t k = 0; k < count; ++k) {
    ASSERT_EQ(tiled[k], static_cast<float>(reduction_input(plan, 2, 11 + k))) << k;
  }
}

TEST(PerfOptions, ParseSizeReadsPowersOf1024) {
  size_t bytes = 0;
  EXPECT_TRUE(parse_size("8", &bytes));
  EXPECT_EQ(bytes, 8u);
  EXPECT_TRUE(parse_size("64K", &bytes));
  EXPECT_EQ(bytes, 65536u);
  EXPECT_TRUE(parse_size("128M", &bytes));
  EXPECT_EQ(bytes, size_t{128} << 20);
  EXPECT_TRUE(parse_size("1G", &bytes));
  EXPECT_EQ(bytes, size_t{1} << 30);
  EXPECT_TRUE(parse_size("1.5k", &bytes));
  EXPECT_EQ(bytes, 1536u);
  for (const char* bad : {"", "12Q", "-1", "1MB", "K"}) EXPECT_FALSE(parse_size(bad, &bytes)) << bad;
}

ParseOutcome parse(std::vector<const char*> args, PerfOptions* o) {
  args.insert(args.begin(), "all_reduce_perf");
  std::vector<char*> argv;
  for (const char* a : args) argv.push_back(const_cast<char*>(a));
  std::FILE* saved = stderr;
  stderr = std::fopen("/dev/null", "w");
  ParseOutcome out = parse_options(static_cast<int>(argv.size()), argv.data(),
                                   CollectiveTraits{"all_reduce_perf", true, false}, o);
  std::fclose(stderr);
  stderr = saved;
  return out;
}

TEST(PerfOptions, DefaultsAreNcclTests) {
  PerfOptions o;
  ASSERT_EQ(parse({}, &o), ParseOutcome::kRun);
  EXPECT_EQ(o.min_bytes, size_t{32} << 20);
  EXPECT_EQ(o.max_bytes, size_t{32} << 20);
  EXPECT_EQ(o.iters, 20);
  EXPECT_EQ(o.warmup_iters, 1);
  EXPECT_EQ(o.check_iters, 1);
  EXPECT_EQ(o.average, 1);
  EXPECT_EQ(o.dtypes, std::vector<tidal_dtype_t>{TIDAL_F32});
  EXPECT_EQ(o.schedule, TIDAL_SCHEDULE_UNSET);
}

TEST(PerfOptions, ShortAndLongFormsAgree) {
  PerfOptions s, l;
  ASSERT_EQ(parse({"-t", "4", "-b", "8", "-e", "64M", "-f", "2", "-n", "5", "-w", "0", "-c",
                   "0", "-o", "max", "-d", "bfloat16", "-z", "1", "-a", "3"}, &s),
            ParseOutcome::kRun);
  ASSERT_EQ(parse({"--nthreads", "4", "--minbytes", "8", "--maxbytes", "64M", "--stepfactor",
                   "2", "--iters", "5", "--warmup_iters", "0", "--check", "0", "--op", "max",
                   "--datatype", "bf16", "--blocking", "1", "--average", "3"}, &l),
            ParseOutcome::kRun);
  for (const PerfOptions* o : {&s, &l}) {
    EXPECT_EQ(o->threads, 4);
    EXPECT_EQ(o->max_bytes, size_t{64} << 20);
    EXPECT_EQ(o->step_factor, 2u);
    EXPECT_EQ(o->ops, std::vector<tidal_op_t>{TIDAL_MAX});
    EXPECT_EQ(o->dtypes, std::vector<tidal_dtype_t>{TIDAL_BF16});
    EXPECT_EQ(o->average, 3);
  }
}

TEST(PerfOptions, AllExpandsToEveryDtypeAndOp) {
  PerfOptions o;
  ASSERT_EQ(parse({"-d", "all", "-o", "all"}, &o), ParseOutcome::kRun);
  EXPECT_EQ(o.dtypes.size(), 9u);
  EXPECT_EQ(o.ops.size(), 5u);
}

TEST(PerfOptions, TidalFlagsParse) {
  PerfOptions o;
  ASSERT_EQ(parse({"--backend", "mpi", "--schedule", "torus2d", "--topo", "2x4", "--csv", "x.csv"},
                  &o),
            ParseOutcome::kRun);
  EXPECT_EQ(o.backend, "mpi");
  EXPECT_EQ(o.schedule, TIDAL_SCHEDULE_TORUS2D);
  EXPECT_EQ(o.topology, "2x4");
  EXPECT_EQ(o.csv_path, "x.csv");
}

TEST(PerfOptions, BadFlagsAreErrors) {
  const std::vector<std::vector<const char*>> bad = {
      {"--bogus"}, {"-b", "1M", "-e", "1K"}, {"-f", "0"},      {"-d", "int8"},
      {"-o", "mulsum"}, {"-t", "0"},         {"-a", "4"},      {"-n", "x"},
      {"--backend", "gloo"}, {"--schedule", "tree"}, {"-i", "0", "-b", "8", "-e", "16"}, {"stray"}};
  for (const auto& args : bad) {
    PerfOptions o;
    EXPECT_EQ(parse(args, &o), ParseOutcome::kError) << args[0];
  }
}

TEST(PerfReport, NumbersUseNcclTestsWidths) {
  EXPECT_EQ(format_fixed_width(10.5, 7), "  10.50");
  EXPECT_EQ(format_fixed_width(1234.567, 7), "1234.57");
  EXPECT_EQ(format_fixed_width(12345.67, 7), "12345.7");
  EXPECT_EQ(format_fixed_width(123456.7, 7), " 123457");
  EXPECT_EQ(format_fixed_width(0.001, 6), "  0.00");
  EXPECT_EQ(format_fixed_width(123.456, 6), "123.46");
  EXPECT_EQ(format_fixed_width(1234.5, 6), "1234.5");
}

}  // namespace
}  // namespace tidal_perf
