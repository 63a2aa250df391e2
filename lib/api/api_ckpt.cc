// api_ckpt.cc — the C API of checkpoints: writer, saves, reader and step
// directories, as thin shims over lib/checkpoint.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "lib/api/handles.h"
#include "lib/checkpoint/async_writer.h"
#include "lib/checkpoint/checkpoint_dir.h"
#include "lib/checkpoint/safetensors_reader.h"
#include "lib/checkpoint/sync_save.h"
#include "lib/core/options_struct.h"
#include "tidal/ckpt.h"

using tidal::Status;
using tidal::api::report;
namespace ckpt = tidal::ckpt;

struct tidal_ckpt_writer {
  std::unique_ptr<ckpt::AsyncWriter> impl;
};
struct tidal_ckpt_save {
  ckpt::SaveJobPtr job;
};
struct tidal_ckpt_reader {
  std::unique_ptr<ckpt::SafetensorsReader> impl;
};

namespace {

constexpr int kMaxDims = 64;

Status null_argument(const char* function, const char* what) {
  return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("{}: {} is NULL", function, what));
}

// An environment override of a size or count, when set and well formed.
Status env_size(const char* name, size_t* value) {
  const char* env = getenv(name);
  if (!env) return Status();
  char* end = nullptr;
  unsigned long long v = strtoull(env, &end, 10);
  if (end == env || *end != '\0')
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("{}='{}' is not a number", name, env));
  *value = v;
  return Status();
}

Status resolve_writer_config(const tidal_ckpt_writer_config_t* c, ckpt::WriterConfig* out) {
  ckpt::WriterConfig r;
  r.direct_io = true;  // measured faster here (docs/benchmarks/checkpoint.md)
  if (c) {
    TIDAL_RETURN_IF_ERROR(tidal::check_options_size(
        c->size, sizeof(tidal_ckpt_writer_config_t), sizeof(tidal_ckpt_writer_config_t),
        "TIDAL_CKPT_WRITER_CONFIG_INITIALIZER"));
    if (c->staging_bytes) r.staging_bytes = c->staging_bytes;
    if (c->slot_bytes) r.slot_bytes = c->slot_bytes;
    if (c->writer_threads) r.writer_threads = c->writer_threads;
    if (c->direct_io >= 0) r.direct_io = c->direct_io != 0;
    if (c->use_cuda >= 0) r.use_cuda = c->use_cuda != 0;
  }
  size_t threads = static_cast<size_t>(r.writer_threads), direct = r.direct_io ? 1 : 0;
  TIDAL_RETURN_IF_ERROR(env_size("TIDAL_CKPT_STAGING_BYTES", &r.staging_bytes));
  TIDAL_RETURN_IF_ERROR(env_size("TIDAL_CKPT_SLOT_BYTES", &r.slot_bytes));
  TIDAL_RETURN_IF_ERROR(env_size("TIDAL_CKPT_WRITER_THREADS", &threads));
  TIDAL_RETURN_IF_ERROR(env_size("TIDAL_CKPT_DIRECT_IO", &direct));
  r.writer_threads = static_cast<int>(std::min<size_t>(threads, 1000));  // the writer rejects > 64
  r.direct_io = direct != 0;
  *out = r;
  return Status();
}

Status to_request(const char* path, const tidal_ckpt_tensor_t* tensors, size_t n,
                  const tidal_ckpt_save_options_t* options, ckpt::SaveRequest* out) {
  if (!path) return Status(TIDAL_ERR_INVALID_ARGUMENT, "path is NULL");
  if (n > 0 && !tensors) return Status(TIDAL_ERR_INVALID_ARGUMENT, "tensors is NULL");
  out->path = path;
  for (size_t i = 0; i < n; ++i) {
    const tidal_ckpt_tensor_t& t = tensors[i];
    if (!t.name) return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("tensor {}: name is NULL", i));
    if (t.ndim < 0 || t.ndim > kMaxDims || (t.ndim > 0 && !t.shape))
      return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("tensor '{}': bad ndim {} or NULL shape", t.name, t.ndim));
    ckpt::TensorSource source{t.name, t.dtype, {}, t.data};
    for (int d = 0; d < t.ndim; ++d) {
      if (t.shape[d] < 0)
        return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("tensor '{}': negative dimension {}", t.name, t.shape[d]));
      source.shape.push_back(static_cast<uint64_t>(t.shape[d]));
    }
    out->tensors.push_back(std::move(source));
  }
  if (!options) return Status();
  TIDAL_RETURN_IF_ERROR(tidal::check_options_size(
      options->size, sizeof(tidal_ckpt_save_options_t), sizeof(tidal_ckpt_save_options_t),
      "TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER"));
  out->step = options->step;
  out->cuda_stream = options->cuda_stream;
  if (options->num_metadata > 0 && (!options->metadata_keys || !options->metadata_values))
    return Status(TIDAL_ERR_INVALID_ARGUMENT, "metadata keys or values are NULL");
  for (size_t i = 0; i < options->num_metadata; ++i) {
    if (!options->metadata_keys[i] || !options->metadata_values[i])
      return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("metadata entry {} is NULL", i));
    out->metadata[options->metadata_keys[i]] = options->metadata_values[i];
  }
  return Status();
}

void fill_info(const ckpt::SafetensorsReader& reader, const ckpt::TensorEntry& t,
               tidal_ckpt_tensor_info_t* info) {
  tidal_dtype_t dtype;
  info->name = t.name.c_str();
  info->dtype_name = t.dtype.c_str();
  info->dtype = ckpt::tidal_dtype_from_safetensors(t.dtype, &dtype) ? static_cast<int>(dtype) : -1;
  info->ndim = static_cast<int>(t.shape.size());
  info->shape = t.shape.data();
  info->bytes = t.bytes();
  info->data = reader.data(t);
}

Status copy_out(const std::string& text, char* buffer, size_t length, const char* what) {
  if (!buffer) return Status();
  if (text.size() + 1 > length)
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("{} needs {} bytes, the buffer has {}", what, text.size() + 1, length));
  memcpy(buffer, text.c_str(), text.size() + 1);
  return Status();
}

}  // namespace

extern "C" {

tidal_status_t tidal_ckpt_writer_create(const tidal_ckpt_writer_config_t* config, tidal_ckpt_writer_t* writer) try {
  if (!writer) return report(null_argument("tidal_ckpt_writer_create", "writer"));
  ckpt::WriterConfig resolved;
  Status s = resolve_writer_config(config, &resolved);
  std::unique_ptr<ckpt::AsyncWriter> impl;
  if (s.ok()) s = ckpt::AsyncWriter::create(resolved, &impl);
  if (!s.ok()) return report(s.with_context("tidal_ckpt_writer_create"));
  *writer = new tidal_ckpt_writer{std::move(impl)};
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_writer_create");
}

tidal_status_t tidal_ckpt_writer_destroy(tidal_ckpt_writer_t writer) try {
  delete writer;
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_writer_destroy");
}

tidal_status_t tidal_ckpt_save_async(tidal_ckpt_writer_t writer, const char* path,
                                     const tidal_ckpt_tensor_t* tensors, size_t n,
                                     const tidal_ckpt_save_options_t* options, tidal_ckpt_save_t* save) try {
  const char* fn = "tidal_ckpt_save_async";
  if (!writer) return report(null_argument(fn, "writer"));
  if (!save) return report(null_argument(fn, "save"));
  ckpt::SaveRequest request;
  Status s = to_request(path, tensors, n, options, &request);
  ckpt::SaveJobPtr job;
  if (s.ok()) s = writer->impl->save_async(std::move(request), &job);
  if (!s.ok()) return report(s.with_context(fn));
  *save = new tidal_ckpt_save{job};
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_save_async");
}

tidal_status_t tidal_ckpt_save_wait_snapshot(tidal_ckpt_save_t save) try {
  if (!save) return report(null_argument("tidal_ckpt_save_wait_snapshot", "save"));
  return report(save->job->wait_snapshot());
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_save_wait_snapshot");
}

tidal_status_t tidal_ckpt_save_test_snapshot(tidal_ckpt_save_t save, int* done) try {
  if (!save || !done) return report(null_argument("tidal_ckpt_save_test_snapshot", "save or done"));
  Status s;
  *done = save->job->test_snapshot(&s) ? 1 : 0;
  return report(s);
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_save_test_snapshot");
}

tidal_status_t tidal_ckpt_save_wait_durable(tidal_ckpt_save_t save) try {
  if (!save) return report(null_argument("tidal_ckpt_save_wait_durable", "save"));
  return report(save->job->wait_durable());
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_save_wait_durable");
}

tidal_status_t tidal_ckpt_save_test_durable(tidal_ckpt_save_t save, int* done) try {
  if (!save || !done) return report(null_argument("tidal_ckpt_save_test_durable", "save or done"));
  Status s;
  *done = save->job->test_durable(&s) ? 1 : 0;
  return report(s);
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_save_test_durable");
}

tidal_status_t tidal_ckpt_save_free(tidal_ckpt_save_t save) try {
  delete save;
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_save_free");
}

tidal_status_t tidal_ckpt_save_sync(const char* path, const tidal_ckpt_tensor_t* tensors, size_t n,
                               const tidal_ckpt_save_options_t* options) try {
  ckpt::SaveRequest request;
  Status s = to_request(path, tensors, n, options, &request);
  if (s.ok()) s = ckpt::save_file_sync(request);
  return report(s.with_context("tidal_ckpt_save_sync"));
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_save_sync");
}

tidal_status_t tidal_ckpt_reader_open(const char* path, int verify_checksums, tidal_ckpt_reader_t* reader) try {
  const char* fn = "tidal_ckpt_reader_open";
  if (!path) return report(null_argument(fn, "path"));
  if (!reader) return report(null_argument(fn, "reader"));
  std::unique_ptr<ckpt::SafetensorsReader> impl;
  Status s = ckpt::SafetensorsReader::open(path, &impl);
  if (s.ok() && verify_checksums) s = impl->verify_all();
  if (!s.ok()) return report(s.with_context(fn));
  *reader = new tidal_ckpt_reader{std::move(impl)};
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_reader_open");
}

tidal_status_t tidal_ckpt_reader_close(tidal_ckpt_reader_t reader) try {
  delete reader;
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_reader_close");
}

tidal_status_t tidal_ckpt_reader_num_tensors(tidal_ckpt_reader_t reader, size_t* n) try {
  if (!reader || !n) return report(null_argument("tidal_ckpt_reader_num_tensors", "reader or n"));
  *n = reader->impl->header().tensors.size();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_reader_num_tensors");
}

tidal_status_t tidal_ckpt_reader_tensor(tidal_ckpt_reader_t reader, size_t index, tidal_ckpt_tensor_info_t* info) try {
  if (!reader || !info) return report(null_argument("tidal_ckpt_reader_tensor", "reader or info"));
  const auto& tensors = reader->impl->header().tensors;
  if (index >= tensors.size())
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT,
                         fmt::format("tidal_ckpt_reader_tensor: index {} >= {} tensors", index, tensors.size())));
  fill_info(*reader->impl, tensors[index], info);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_reader_tensor");
}

tidal_status_t tidal_ckpt_reader_find(tidal_ckpt_reader_t reader, const char* name, tidal_ckpt_tensor_info_t* info) try {
  if (!reader || !name || !info) return report(null_argument("tidal_ckpt_reader_find", "reader, name or info"));
  const ckpt::TensorEntry* t = reader->impl->find(name);
  if (!t)
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT,
                         fmt::format("{}: no tensor named '{}'", reader->impl->path(), name)));
  fill_info(*reader->impl, *t, info);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_reader_find");
}

tidal_status_t tidal_ckpt_reader_metadata(tidal_ckpt_reader_t reader, const char* key, const char** value) try {
  if (!reader || !key || !value) return report(null_argument("tidal_ckpt_reader_metadata", "reader, key or value"));
  const auto& metadata = reader->impl->header().metadata;
  auto it = metadata.find(key);
  *value = it == metadata.end() ? nullptr : it->second.c_str();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_reader_metadata");
}

tidal_status_t tidal_ckpt_reader_step(tidal_ckpt_reader_t reader, int64_t* step) try {
  if (!reader || !step) return report(null_argument("tidal_ckpt_reader_step", "reader or step"));
  *step = reader->impl->step();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_reader_step");
}

tidal_status_t tidal_ckpt_reader_verify(tidal_ckpt_reader_t reader) try {
  if (!reader) return report(null_argument("tidal_ckpt_reader_verify", "reader"));
  return report(reader->impl->verify_all());
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_reader_verify");
}

tidal_status_t tidal_ckpt_step_dir(const char* root, int64_t step, char* dir, size_t dir_len) try {
  if (!root || !dir) return report(null_argument("tidal_ckpt_step_dir", "root or dir"));
  std::string made;
  Status s = ckpt::prepare_step_directory(root, step, &made);
  if (s.ok()) s = copy_out(made, dir, dir_len, "the step directory");
  return report(s.with_context("tidal_ckpt_step_dir"));
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_step_dir");
}

tidal_status_t tidal_ckpt_commit(const char* dir, int64_t step) try {
  if (!dir) return report(null_argument("tidal_ckpt_commit", "dir"));
  return report(ckpt::commit_checkpoint(dir, step).with_context("tidal_ckpt_commit"));
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_commit");
}

tidal_status_t tidal_ckpt_find_latest(const char* root, int64_t* step, char* dir, size_t dir_len) try {
  if (!root || !step) return report(null_argument("tidal_ckpt_find_latest", "root or step"));
  std::string found;
  Status s = ckpt::find_latest_checkpoint(root, step, &found);
  if (s.ok()) s = copy_out(found, dir, dir_len, "the checkpoint directory");
  return report(s.with_context("tidal_ckpt_find_latest"));
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_find_latest");
}

tidal_status_t tidal_ckpt_retain(const char* root, int keep_last) try {
  if (!root) return report(null_argument("tidal_ckpt_retain", "root"));
  return report(ckpt::retain_checkpoints(root, keep_last, nullptr).with_context("tidal_ckpt_retain"));
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_retain");
}

tidal_status_t tidal_ckpt_shard_name(const char* prefix, int rank, int world, char* name, size_t name_len) try {
  if (!prefix || !name) return report(null_argument("tidal_ckpt_shard_name", "prefix or name"));
  if (world < 1 || rank < 0 || rank >= world)
    return report(Status(TIDAL_ERR_INVALID_ARGUMENT,
                         fmt::format("tidal_ckpt_shard_name: rank {} not in [0, {})", rank, world)));
  return report(copy_out(ckpt::shard_file_name(prefix, rank, world), name, name_len, "the shard name"));
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_shard_name");
}

tidal_status_t tidal_ckpt_write_index(const char* dir, const char* index_name, const char* const* shard_files, size_t n) try {
  if (!dir || !index_name || (n > 0 && !shard_files))
    return report(null_argument("tidal_ckpt_write_index", "dir, index_name or shard_files"));
  std::vector<std::string> files;
  for (size_t i = 0; i < n; ++i) {
    if (!shard_files[i]) return report(null_argument("tidal_ckpt_write_index", "a shard file name"));
    files.push_back(shard_files[i]);
  }
  return report(ckpt::write_shard_index(dir, index_name, files).with_context("tidal_ckpt_write_index"));
} catch (...) {
  return tidal::api::report_exception("tidal_ckpt_write_index");
}

}  // extern "C"
