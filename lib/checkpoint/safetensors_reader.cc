// safetensors_reader.cc — mmap, header validation, checksum verification.
#include "lib/checkpoint/safetensors_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <xxhash.h>

namespace tidal {
namespace ckpt {

uint64_t tensor_checksum(const void* data, uint64_t size) { return XXH3_64bits(data, size); }

SafetensorsReader::~SafetensorsReader() {
  if (mapping_) munmap(mapping_, mapping_size_);
}

Status SafetensorsReader::open(const std::string& path, std::unique_ptr<SafetensorsReader>* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(TIDAL_ERR_IO, fmt::format("cannot open '{}': {}", path, strerror(errno)));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status(TIDAL_ERR_IO, fmt::format("'{}' is not a regular file", path));
  }
  std::unique_ptr<SafetensorsReader> reader(new SafetensorsReader());
  reader->path_ = path;
  reader->size_ = static_cast<uint64_t>(st.st_size);
  if (reader->size_ > 0) {
    void* m = mmap(nullptr, reader->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return Status(TIDAL_ERR_IO, fmt::format("cannot map '{}': {}", path, strerror(err)));
    }
    reader->mapping_ = m;
    reader->mapping_size_ = reader->size_;
    reader->bytes_ = static_cast<const uint8_t*>(m);
  }
  ::close(fd);
  Status s = reader->load_header();
  if (!s.ok()) return s.with_context(path);
  *out = std::move(reader);
  return Status();
}

Status SafetensorsReader::open_memory(const uint8_t* bytes, uint64_t size,
                                      std::unique_ptr<SafetensorsReader>* out) {
  std::unique_ptr<SafetensorsReader> reader(new SafetensorsReader());
  reader->path_ = "<memory>";
  reader->bytes_ = bytes;
  reader->size_ = size;
  TIDAL_RETURN_IF_ERROR(reader->load_header());
  *out = std::move(reader);
  return Status();
}

Status SafetensorsReader::load_header() {
  static const uint8_t kEmpty[8] = {0};
  TIDAL_RETURN_IF_ERROR(parse_header(bytes_ ? bytes_ : kEmpty, size_, &header_));
  for (size_t i = 0; i < header_.tensors.size(); ++i) index_[header_.tensors[i].name] = i;
  return load_tidal_metadata();
}

// tidal's checksums and step live in __metadata__; a file without them is a
// plain safetensors file and loads without verification.
Status SafetensorsReader::load_tidal_metadata() {
  auto step = header_.metadata.find(kStepKey);
  if (step != header_.metadata.end()) {
    char* end = nullptr;
    errno = 0;
    long long v = strtoll(step->second.c_str(), &end, 10);
    if (errno != 0 || end == step->second.c_str() || *end != '\0' || v < 0)
      return Status(TIDAL_ERR_CORRUPT, fmt::format("metadata '{}' is not a step: '{}'", kStepKey, step->second));
    step_ = v;
  }
  auto sums = header_.metadata.find(kChecksumKey);
  if (sums == header_.metadata.end()) return Status();
  nlohmann::json table = nlohmann::json::parse(sums->second, nullptr, false);
  if (!table.is_object())
    return Status(TIDAL_ERR_CORRUPT, fmt::format("metadata '{}' is not a JSON object", kChecksumKey));
  for (auto it = table.begin(); it != table.end(); ++it) {
    uint64_t value = 0;
    if (!it.value().is_string() || !parse_checksum_hex(it.value().get<std::string>(), &value))
      return Status(TIDAL_ERR_CORRUPT, fmt::format("tensor '{}': malformed checksum", it.key()));
    if (!index_.count(it.key()))
      return Status(TIDAL_ERR_CORRUPT, fmt::format("checksum for tensor '{}' which the file lacks", it.key()));
    checksums_[it.key()] = value;
  }
  for (const TensorEntry& t : header_.tensors)
    if (!checksums_.count(t.name))
      return Status(TIDAL_ERR_CORRUPT, fmt::format("tensor '{}' has no checksum", t.name));
  return Status();
}

const TensorEntry* SafetensorsReader::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

Status SafetensorsReader::verify_tensor(const TensorEntry& tensor) const {
  auto it = checksums_.find(tensor.name);
  if (it == checksums_.end()) return Status();
  uint64_t actual = tensor_checksum(data(tensor), tensor.bytes());
  if (actual != it->second)
    return Status(TIDAL_ERR_CORRUPT,
                  fmt::format("{}: tensor '{}' fails its checksum (recorded {}, data hashes to {})",
                              path_, tensor.name, checksum_hex(it->second), checksum_hex(actual)));
  return Status();
}

Status SafetensorsReader::verify_all() const {
  for (const TensorEntry& t : header_.tensors) TIDAL_RETURN_IF_ERROR(verify_tensor(t));
  return Status();
}

}  // namespace ckpt
}  // namespace tidal
