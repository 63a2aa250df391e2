// checkpoint_validation_test.cc — hand-built files from the safetensors
// spec load; corrupted files are rejected with errors naming the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "tests/checkpoint/ckpt_test_util.h"
#include "tidal/ckpt.h"

using namespace ckpt_test;

namespace {

// Expects `path` to fail to open with `code` and a message containing `needle`.
void expect_rejected(const std::string& path, tidal_status_t code, const std::string& needle) {
  std::string message;
  EXPECT_EQ(open_status(path, &message), code) << message;
  EXPECT_NE(message.find(needle), std::string::npos) << "message: " << message;
}

// A tidal-written file with tensors "alpha" (f32 [64]) and "beta" (i64 [8]).
std::string write_good_file(const TempDir& dir) {
  std::vector<OwnedTensor> tensors = {make_tensor("alpha", TIDAL_F32, {64}, 1),
                                      make_tensor("beta", TIDAL_I64, {8}, 2)};
  auto v = views(tensors);
  std::string path = dir.file("good.safetensors");
  EXPECT_EQ(tidal_ckpt_save_sync(path.c_str(), v.data(), v.size(), nullptr), TIDAL_SUCCESS);
  return path;
}

}  // namespace

TEST(CheckpointSpecFiles, FileWithOnlyMetadataLoads) {
  TempDir dir;
  write_raw_safetensors(dir.file("m.safetensors"), R"({"__metadata__":{"format":"pt"}})", {});
  tidal_ckpt_reader_t reader = nullptr;
  ASSERT_EQ(tidal_ckpt_reader_open(dir.file("m.safetensors").c_str(), 1, &reader), TIDAL_SUCCESS) << tidal_last_error();
  size_t n = 1;
  tidal_ckpt_reader_num_tensors(reader, &n);
  EXPECT_EQ(n, 0u);
  const char* format = nullptr;
  tidal_ckpt_reader_metadata(reader, "format", &format);
  EXPECT_STREQ(format, "pt");
  tidal_ckpt_reader_close(reader);
}

TEST(CheckpointSpecFiles, EmptyHeaderObjectLoads) {
  TempDir dir;
  write_raw_safetensors(dir.file("e.safetensors"), "{}", {});
  EXPECT_EQ(open_status(dir.file("e.safetensors"), nullptr), TIDAL_SUCCESS);
}

TEST(CheckpointSpecFiles, ZeroDimTensorAndForeignDtypesLoad) {
  TempDir dir;
  // A 0-d F64 scalar, a BOOL vector, an I8 matrix, and a 0-element I16; no
  // padding (the spec allows unpadded headers) and no tidal checksums.
  std::vector<uint8_t> data = {0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 1, 0, 1, 0xff, 0x7f, 0x80, 0x01};
  write_raw_safetensors(dir.file("s.safetensors"),
                        R"({"scalar":{"dtype":"F64","shape":[],"data_offsets":[0,8]},)"
                        R"("flags":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]},)"
                        R"("small":{"dtype":"I8","shape":[2,2],"data_offsets":[11,15]},)"
                        R"("none":{"dtype":"I16","shape":[0,5],"data_offsets":[15,15]}})",
                        data, 1);
  tidal_ckpt_reader_t reader = nullptr;
  ASSERT_EQ(tidal_ckpt_reader_open(dir.file("s.safetensors").c_str(), 1, &reader), TIDAL_SUCCESS) << tidal_last_error();
  tidal_ckpt_tensor_info_t info;
  ASSERT_EQ(tidal_ckpt_reader_find(reader, "scalar", &info), TIDAL_SUCCESS);
  EXPECT_EQ(info.ndim, 0);
  EXPECT_EQ(info.dtype, TIDAL_F64);
  double scalar = 0;
  memcpy(&scalar, info.data, 8);
  EXPECT_EQ(scalar, 1.0);
  ASSERT_EQ(tidal_ckpt_reader_find(reader, "flags", &info), TIDAL_SUCCESS);
  EXPECT_EQ(info.dtype, -1);  // tidal has no BOOL, but lists it
  EXPECT_STREQ(info.dtype_name, "BOOL");
  ASSERT_EQ(tidal_ckpt_reader_find(reader, "none", &info), TIDAL_SUCCESS);
  EXPECT_EQ(info.bytes, 0u);
  int64_t step = 0;
  tidal_ckpt_reader_step(reader, &step);
  EXPECT_EQ(step, -1);
  tidal_ckpt_reader_close(reader);
}

TEST(CheckpointCorruption, FlippedDataByteIsAChecksumErrorNamingTheTensor) {
  TempDir dir;
  std::string path = write_good_file(dir);
  // Larger elements come first, so "beta" (i64) precedes "alpha" (f32) and
  // the file's last bytes are alpha's.
  auto bytes = read_file(path);
  bytes[bytes.size() - 3] ^= 0x10;
  write_file(path, bytes);
  expect_rejected(path, TIDAL_ERR_CORRUPT, "tensor 'alpha' fails its checksum");
  // The header is intact, so the file still opens without verification,
  // and verifying later reports the same tensor.
  tidal_ckpt_reader_t reader = nullptr;
  ASSERT_EQ(tidal_ckpt_reader_open(path.c_str(), 0, &reader), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_ckpt_reader_verify(reader), TIDAL_ERR_CORRUPT);
  EXPECT_NE(std::string(tidal_last_error()).find("'alpha'"), std::string::npos);
  tidal_ckpt_tensor_info_t beta;
  ASSERT_EQ(tidal_ckpt_reader_find(reader, "beta", &beta), TIDAL_SUCCESS);
  EXPECT_EQ(memcmp(beta.data, pattern_bytes(2, 64).data(), 64), 0);
  tidal_ckpt_reader_close(reader);
}

TEST(CheckpointCorruption, TruncatedFileIsRejected) {
  TempDir dir;
  std::string path = write_good_file(dir);
  auto bytes = read_file(path);
  bytes.resize(bytes.size() - 10);
  write_file(path, bytes);
  expect_rejected(path, TIDAL_ERR_CORRUPT, "past the data region");
}

TEST(CheckpointCorruption, HeaderLengthPastEndOfFileIsRejected) {
  TempDir dir;
  std::string path = write_good_file(dir);
  auto bytes = read_file(path);
  bytes.resize(100);
  write_file(path, bytes);
  expect_rejected(path, TIDAL_ERR_CORRUPT, "runs past the end of the file");
  write_file(path, {1, 2, 3});
  expect_rejected(path, TIDAL_ERR_CORRUPT, "too short for a header");
}

TEST(CheckpointCorruption, OverlappingOffsetsAreRejected) {
  TempDir dir;
  write_raw_safetensors(dir.file("o.safetensors"),
                        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        std::vector<uint8_t>(12));
  expect_rejected(dir.file("o.safetensors"), TIDAL_ERR_CORRUPT, "tensor 'b': data_offsets [4, 12) overlap");
}

TEST(CheckpointCorruption, DuplicateNamesAreRejected) {
  TempDir dir;
  write_raw_safetensors(dir.file("d.safetensors"),
                        R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                        R"("a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                        std::vector<uint8_t>(4));
  expect_rejected(dir.file("d.safetensors"), TIDAL_ERR_CORRUPT, "tensor 'a' appears twice");
}

TEST(CheckpointCorruption, HeaderOverTheLimitIsRejected) {
  TempDir dir;
  std::vector<uint8_t> bytes(16, ' ');
  uint64_t n = 100000001;
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>((n >> (8 * i)) & 0xff);
  write_file(dir.file("h.safetensors"), bytes);
  expect_rejected(dir.file("h.safetensors"), TIDAL_ERR_CORRUPT, "exceeds the limit");
}

TEST(CheckpointCorruption, MalformedHeadersAreRejectedWithTheReason) {
  TempDir dir;
  struct Case {
    std::string json;
    size_t data;
    std::string needle;
  } cases[] = {
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, "tensor 'a': F32 x [3] needs 12 bytes"},
      {R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,2]}})", 2, "tensor 'a': unknown dtype 'Q7'"},
      {R"({"a":{"dtype":"U8","shape":[-2],"data_offsets":[0,2]}})", 2, "tensor 'a': shape has a non-integer"},
      {R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", 4, "tensor 'a': gap before"},
      {R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 5, "data region holds 5 bytes"},
      {R"({"a":{"dtype":"U8","shape":[2]}})", 2, "tensor 'a': 'data_offsets' is not a pair"},
      {R"({"a":{"shape":[2],"data_offsets":[0,2]}})", 2, "tensor 'a': missing or non-string 'dtype'"},
      {R"({"a":{"dtype":"U8","shape":2,"data_offsets":[0,2]}})", 2, "tensor 'a': missing or non-array 'shape'"},
      {R"({"__metadata__":{"k":3}})", 0, "__metadata__ value of 'k' is not a string"},
      {R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}})", 0, "overflows"},
      {"{\"a\xff\":1}", 0, "not valid JSON"},
      {"[1, 2]", 0, "does not start with '{'"},
      {"{\"a\": ", 0, "not valid JSON"},
      {R"({"a":[[[[[[1]]]]]]})", 0, "nests deeper"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    write_raw_safetensors(dir.file("x.safetensors"), c.json, std::vector<uint8_t>(c.data));
    expect_rejected(dir.file("x.safetensors"), TIDAL_ERR_CORRUPT, c.needle);
  }
}

TEST(CheckpointCorruption, MissingFileIsAnIoError) {
  expect_rejected("/nonexistent/none.safetensors", TIDAL_ERR_IO, "cannot open");
}

TEST(CheckpointCorruption, ADirectoryIsAnIoErrorNotACrash) {
  TempDir dir;
  expect_rejected(dir.path(), TIDAL_ERR_IO, "is not a regular file");
}

// tidal's own __metadata__ entries (the step and the per-tensor xxh3
// checksums) are validated as strictly as the header: a file whose step or
// checksum table is damaged is corrupt, not silently unverified.
TEST(CheckpointCorruption, DamagedStepOrChecksumTablesAreRejectedWithTheReason) {
  TempDir dir;
  const std::string tensor = R"("a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]})";
  auto with_metadata = [&](const std::string& entries) {
    return "{\"__metadata__\":{" + entries + "}," + tensor + "}";
  };
  struct Case {
    std::string json;
    std::string needle;
  } cases[] = {
      {with_metadata(R"("tidal.step":"-3")"), "metadata 'tidal.step' is not a step: '-3'"},
      {with_metadata(R"("tidal.step":"12x")"), "is not a step"},
      {with_metadata(R"("tidal.xxh3_64":"[1,2]")"), "'tidal.xxh3_64' is not a JSON object"},
      {with_metadata(R"("tidal.xxh3_64":"{\"a\":\"xyz\"}")"), "tensor 'a': malformed checksum"},
      {with_metadata(R"("tidal.xxh3_64":"{\"a\":7}")"), "tensor 'a': malformed checksum"},
      {with_metadata(R"("tidal.xxh3_64":"{\"a\":\"0123456789abcdef\",\"b\":\"0123456789abcdef\"}")"),
       "checksum for tensor 'b' which the file lacks"},
      {"{\"__metadata__\":{\"tidal.xxh3_64\":\"{}\"}," + tensor + "}",
       "tensor 'a' has no checksum"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    write_raw_safetensors(dir.file("m.safetensors"), c.json, std::vector<uint8_t>(2));
    expect_rejected(dir.file("m.safetensors"), TIDAL_ERR_CORRUPT, c.needle);
  }
}
