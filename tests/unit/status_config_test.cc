// Status strings, config initialisation, environment overrides.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/core/config.h"
#include "tidal/local.h"
#include "tidal/tidal.h"

namespace {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) { had_ = true; old_ = old; }
    setenv(name, value, 1);
  }
  ~ScopedEnv() { had_ ? setenv(name_, old_.c_str(), 1) : unsetenv(name_); }
 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

TEST(Status, EveryCodeHasItsOwnName) {
  EXPECT_STREQ(tidal_status_string(TIDAL_SUCCESS), "TIDAL_SUCCESS");
  EXPECT_STREQ(tidal_status_string(TIDAL_ERR_TIMEOUT), "TIDAL_ERR_TIMEOUT");
  EXPECT_STREQ(tidal_status_string(TIDAL_ERR_INTERNAL), "TIDAL_ERR_INTERNAL");
  EXPECT_STREQ(tidal_status_string(static_cast<tidal_status_t>(999)), "TIDAL_ERR_UNKNOWN");
  for (int a = 0; a <= TIDAL_ERR_INTERNAL; ++a) {
    for (int b = a + 1; b <= TIDAL_ERR_INTERNAL; ++b) {
      EXPECT_STRNE(tidal_status_string(static_cast<tidal_status_t>(a)),
                   tidal_status_string(static_cast<tidal_status_t>(b)));
    }
  }
}

TEST(Names, DtypesAndOpsHaveNamesAndSizes) {
  EXPECT_STREQ(tidal_dtype_name(TIDAL_BF16), "bf16");
  EXPECT_STREQ(tidal_dtype_name(TIDAL_FP8_E5M2), "fp8_e5m2");
  EXPECT_STREQ(tidal_dtype_name(static_cast<tidal_dtype_t>(42)), "unknown");
  EXPECT_EQ(tidal_dtype_size(TIDAL_F64), 8u);
  EXPECT_EQ(tidal_dtype_size(TIDAL_FP8_E4M3), 1u);
  EXPECT_EQ(tidal_dtype_size(static_cast<tidal_dtype_t>(-1)), 0u);
  EXPECT_STREQ(tidal_op_name(TIDAL_AVG), "avg");
  EXPECT_STREQ(tidal_op_name(static_cast<tidal_op_t>(77)), "unknown");
}

TEST(Config, InitializerLeavesEveryFieldUnsetSoDefaultsApply) {
  tidal_config_t user = TIDAL_CONFIG_INITIALIZER;
  EXPECT_EQ(user.size, sizeof(tidal_config_t));
  EXPECT_EQ(user.version, static_cast<unsigned>(TIDAL_VERSION_CODE));
  tidal::Config c;
  ASSERT_TRUE(tidal::resolve_config(&user, tidal::Config(), &c).ok());
  EXPECT_EQ(c.timeout_s, 300.0);
  EXPECT_EQ(c.schedule, TIDAL_SCHEDULE_NATIVE);
  EXPECT_EQ(c.bucket_bytes, size_t(25) << 20);
  EXPECT_EQ(c.first_bucket_bytes, size_t(1) << 20);
  EXPECT_FALSE(c.check_args);
  EXPECT_TRUE(c.direct_buckets);
}

TEST(Config, FieldsSetByTheCallerAreKept) {
  tidal_config_t user = TIDAL_CONFIG_INITIALIZER;
  user.timeout_s = 2.5;
  user.schedule = TIDAL_SCHEDULE_RING;
  user.bucket_bytes = 4096;
  user.topology = "2x2";
  user.check_args = 1;
  user.direct_buckets = 0;
  tidal::Config c;
  ASSERT_TRUE(tidal::resolve_config(&user, tidal::Config(), &c).ok());
  EXPECT_FALSE(c.direct_buckets);
  EXPECT_EQ(c.timeout_s, 2.5);
  EXPECT_EQ(c.schedule, TIDAL_SCHEDULE_RING);
  EXPECT_EQ(c.bucket_bytes, 4096u);
  EXPECT_EQ(c.topology, "2x2");
  EXPECT_TRUE(c.check_args);
}

TEST(Config, EnvironmentOverridesTheStruct) {
  ScopedEnv t("TIDAL_TIMEOUT_S", "7");
  ScopedEnv s("TIDAL_SCHEDULE", "torus2d");
  ScopedEnv b("TIDAL_BUCKET_BYTES", "64M");
  ScopedEnv f("TIDAL_FIRST_BUCKET_BYTES", "512K");
  ScopedEnv topo("TIDAL_TOPO", "8x16");
  ScopedEnv chk("TIDAL_CHECK_ARGS", "1");
  ScopedEnv direct("TIDAL_DIRECT_BUCKETS", "0");
  tidal_config_t user = TIDAL_CONFIG_INITIALIZER;
  user.timeout_s = 1;
  user.direct_buckets = 1;
  tidal::Config c;
  ASSERT_TRUE(tidal::resolve_config(&user, tidal::Config(), &c).ok());
  EXPECT_EQ(c.timeout_s, 7.0);
  EXPECT_EQ(c.schedule, TIDAL_SCHEDULE_TORUS2D);
  EXPECT_EQ(c.bucket_bytes, size_t(64) << 20);
  EXPECT_EQ(c.first_bucket_bytes, size_t(512) << 10);
  EXPECT_EQ(c.topology, "8x16");
  EXPECT_TRUE(c.check_args);
  EXPECT_FALSE(c.direct_buckets);
}

TEST(Config, BucketBytesAutoMeansZeroForTheTuner) {
  ScopedEnv b("TIDAL_BUCKET_BYTES", "auto");
  tidal::Config c;
  ASSERT_TRUE(tidal::resolve_config(nullptr, tidal::Config(), &c).ok());
  EXPECT_EQ(c.bucket_bytes, 0u);
}

TEST(Config, MalformedEnvironmentValuesAreRejectedWithTheirName) {
  const char* cases[][2] = {{"TIDAL_TIMEOUT_S", "soon"},  {"TIDAL_SCHEDULE", "spiral"},
                            {"TIDAL_BUCKET_BYTES", "12Q"}, {"TIDAL_BUCKET_BYTES", "-5"},
                            {"TIDAL_DEBUG", "LOUD"},       {"TIDAL_CHECK_ARGS", "yes"},
                            {"TIDAL_SCHEDULE_PHASES", "sometimes"},
                            {"TIDAL_DIRECT_BUCKETS", "on"}};
  for (auto& kv : cases) {
    ScopedEnv e(kv[0], kv[1]);
    tidal::Config c;
    tidal::Status s = tidal::resolve_config(nullptr, tidal::Config(), &c);
    EXPECT_EQ(s.code(), TIDAL_ERR_INVALID_ARGUMENT) << kv[0] << "=" << kv[1];
    EXPECT_NE(s.message().find(kv[0] + 6), std::string::npos) << s.message();
  }
}

TEST(Config, ACreateCallWithBadEnvironmentFailsCleanly) {
  ScopedEnv e("TIDAL_SCHEDULE", "spiral");
  tidal_comm_t comms[2] = {nullptr, nullptr};
  EXPECT_EQ(tidal_comm_create_local(2, nullptr, comms), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("spiral"), std::string::npos);
  EXPECT_EQ(comms[0], nullptr);
}

TEST(Config, StructFieldsOutOfTheirEnumsAreRejectedWithTheField) {
  for (int level : {-5, 99}) {  // -1 is TIDAL_LOG_UNSET
    tidal_config_t user = TIDAL_CONFIG_INITIALIZER;
    user.log_level = level;
    tidal::Config c;
    tidal::Status s = tidal::resolve_config(&user, tidal::Config(), &c);
    EXPECT_EQ(s.code(), TIDAL_ERR_INVALID_ARGUMENT) << level;
    EXPECT_NE(s.message().find("config.log_level"), std::string::npos) << s.message();
  }
  for (int schedule : {-7, 99}) {
    tidal_config_t user = TIDAL_CONFIG_INITIALIZER;
    user.schedule = schedule;
    tidal::Config c;
    tidal::Status s = tidal::resolve_config(&user, tidal::Config(), &c);
    EXPECT_EQ(s.code(), TIDAL_ERR_INVALID_ARGUMENT) << schedule;
    EXPECT_NE(s.message().find("config.schedule"), std::string::npos) << s.message();
  }
}

TEST(Config, AStructNotMadeByTheInitializerIsRejected) {
  tidal_config_t user;
  std::memset(&user, 0, sizeof(user));
  tidal::Config c;
  EXPECT_EQ(tidal::resolve_config(&user, tidal::Config(), &c).code(), TIDAL_ERR_INVALID_ARGUMENT);
}

TEST(Config, ParseBytesUnderstandsSuffixesAndRejectsOverflow) {
  size_t b = 0;
  ASSERT_TRUE(tidal::parse_bytes("25M", &b).ok());
  EXPECT_EQ(b, size_t(25) << 20);
  ASSERT_TRUE(tidal::parse_bytes("1GiB", &b).ok());
  EXPECT_EQ(b, size_t(1) << 30);
  ASSERT_TRUE(tidal::parse_bytes("4096", &b).ok());
  EXPECT_EQ(b, 4096u);
  EXPECT_FALSE(tidal::parse_bytes("99999999999999T", &b).ok());
  EXPECT_FALSE(tidal::parse_bytes("", &b).ok());
  EXPECT_FALSE(tidal::parse_bytes("M", &b).ok());
}

TEST(Config, ParseBytesListSplitsOnCommasAndNamesABadItem) {
  std::vector<size_t> sizes = {7};
  ASSERT_TRUE(tidal::parse_bytes_list("256K,1M,4096", &sizes).ok());
  EXPECT_EQ(sizes, (std::vector<size_t>{size_t(256) << 10, size_t(1) << 20, 4096}));
  ASSERT_TRUE(tidal::parse_bytes_list("", &sizes).ok());
  EXPECT_TRUE(sizes.empty());
  tidal::Status s = tidal::parse_bytes_list("1M,0", &sizes);
  EXPECT_EQ(s.code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("\"0\" is 0"), std::string::npos) << s.message();
  EXPECT_EQ(tidal::parse_bytes_list("1M,,2M", &sizes).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal::parse_bytes_list("1M,x", &sizes).code(), TIDAL_ERR_INVALID_ARGUMENT);
}

// direct_buckets (0.2.0) sits where an older struct had tail padding: a
// caller built against an older header (version < 0.2.0) never has those
// bytes read or written.
TEST(Config, DirectBucketsIsIgnoredInAStructFromAnOlderHeader) {
  tidal_config_t older = TIDAL_CONFIG_INITIALIZER;
  older.version = 100;       // 0.1.0
  older.direct_buckets = 0;  // stray padding bytes, not a choice
  tidal::Config c;
  ASSERT_TRUE(tidal::resolve_config(&older, tidal::Config(), &c).ok());
  EXPECT_TRUE(c.direct_buckets);
  older.direct_buckets = 77;
  ASSERT_TRUE(tidal::export_config(c, &older).ok());
  EXPECT_EQ(older.direct_buckets, 77);
  tidal_config_t current = TIDAL_CONFIG_INITIALIZER;
  current.direct_buckets = 0;
  ASSERT_TRUE(tidal::resolve_config(&current, tidal::Config(), &c).ok());
  EXPECT_FALSE(c.direct_buckets);
}

TEST(Config, TheCommunicatorReportsItsEffectiveConfig) {
  tidal_config_t user = TIDAL_CONFIG_INITIALIZER;
  user.timeout_s = 9;
  tidal_comm_t comm = nullptr;
  ASSERT_EQ(tidal_comm_create_local(1, &user, &comm), TIDAL_SUCCESS);
  tidal_config_t out = TIDAL_CONFIG_INITIALIZER;
  ASSERT_EQ(tidal_comm_get_config(comm, &out), TIDAL_SUCCESS);
  EXPECT_EQ(out.timeout_s, 9.0);
  EXPECT_EQ(out.schedule, TIDAL_SCHEDULE_NATIVE);
  EXPECT_EQ(out.direct_buckets, 1);
  tidal_config_t bad;
  std::memset(&bad, 0, sizeof(bad));
  EXPECT_EQ(tidal_comm_get_config(comm, &bad), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

}  // namespace
