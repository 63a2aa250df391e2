// checkpoint_interop_test.cc — files move both ways between tidal and the
// reference `safetensors` Python package, bit for bit, every dtype and
// shape. The Python side is tests/checkpoint/safetensors_interop.py.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "tests/checkpoint/ckpt_test_util.h"
#include "tidal/ckpt.h"

using namespace ckpt_test;

namespace {

int run_python(const std::string& command, const std::string& path) {
  std::string line = std::string(TIDAL_TEST_PYTHON_EXE) + " " + TIDAL_INTEROP_SCRIPT + " " + command + " " + path;
  int status = std::system(line.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST(CheckpointInterop, FileWrittenByTheReferenceLoadsInTidalBitwise) {
  TempDir dir;
  const std::string path = dir.file("from_python.safetensors");
  ASSERT_EQ(run_python("write", path), 0);
  expect_file_holds(path, every_dtype_and_shape());
  tidal_ckpt_reader_t reader = nullptr;
  ASSERT_EQ(tidal_ckpt_reader_open(path.c_str(), 1, &reader), TIDAL_SUCCESS);
  const char* source = nullptr;
  tidal_ckpt_reader_metadata(reader, "source", &source);
  EXPECT_STREQ(source, "python");
  tidal_ckpt_reader_close(reader);
}

TEST(CheckpointInterop, FileWrittenAsynchronouslyByTidalLoadsInTheReference) {
  TempDir dir;
  const std::string path = dir.file("from_tidal.safetensors");
  auto tensors = every_dtype_and_shape();
  auto v = views(tensors);
  const char* keys[] = {"source"};
  const char* values[] = {"tidal"};
  tidal_ckpt_save_options_t options = TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER;
  options.step = 7;
  options.num_metadata = 1;
  options.metadata_keys = keys;
  options.metadata_values = values;
  tidal_ckpt_writer_t writer = nullptr;
  ASSERT_EQ(tidal_ckpt_writer_create(nullptr, &writer), TIDAL_SUCCESS) << tidal_last_error();
  tidal_ckpt_save_t save = nullptr;
  ASSERT_EQ(tidal_ckpt_save_async(writer, path.c_str(), v.data(), v.size(), &options, &save), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_ckpt_save_wait_durable(save), TIDAL_SUCCESS) << tidal_last_error();
  tidal_ckpt_save_free(save);
  tidal_ckpt_writer_destroy(writer);
  EXPECT_EQ(run_python("check", path), 0);
}
