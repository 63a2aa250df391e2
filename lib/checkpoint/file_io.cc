// file_io.cc — pwrite loops, fsync, durable rename.
#include "lib/checkpoint/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace tidal {
namespace ckpt {

namespace {
std::atomic<uint64_t> g_temp_counter{0};

Status io_error(const std::string& what, const std::string& path, int err) {
  return Status(TIDAL_ERR_IO, fmt::format("{} '{}': {}", what, path, strerror(err)));
}
}  // namespace

std::string parent_directory(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string file_name_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string temp_path_for(const std::string& final_path) {
  std::string dir = parent_directory(final_path);
  return fmt::format("{}/.{}.tmp-{}-{}", dir, file_name_of(final_path), getpid(),
                     g_temp_counter.fetch_add(1));
}

bool is_temp_name(const std::string& file_name) {
  return !file_name.empty() && file_name[0] == '.' && file_name.find(".tmp-") != std::string::npos;
}

Status write_all_at(int fd, const void* data, uint64_t size, uint64_t offset, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(fmt::format("write of {} bytes at offset {} to", size, offset), path, errno);
    if (n == 0) return io_error("write made no progress on", path, EIO);
    p += n;
    size -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status();
}

Status fsync_fd(int fd, const std::string& path) {
  if (fsync(fd) != 0) return io_error("fsync of", path, errno);
  return Status();
}

Status fsync_directory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open directory", dir, errno);
  Status s = fsync_fd(fd, dir);
  close(fd);
  return s;
}

Status rename_durably(const std::string& from, const std::string& to) {
  if (rename(from.c_str(), to.c_str()) != 0)
    return Status(TIDAL_ERR_IO, fmt::format("rename '{}' -> '{}': {}", from, to, strerror(errno)));
  return fsync_directory(parent_directory(to));
}

Status write_file_atomically(const std::string& path, const std::string& contents) {
  std::string tmp = temp_path_for(path);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", tmp, errno);
  Status s = write_all_at(fd, contents.data(), contents.size(), 0, tmp);
  if (s.ok()) s = fsync_fd(fd, tmp);
  close(fd);
  if (s.ok()) s = rename_durably(tmp, path);
  if (!s.ok()) unlink(tmp.c_str());
  return s;
}

Status read_small_file(const std::string& path, std::string* contents) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open", path, errno ? errno : ENOENT);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return io_error("cannot read", path, EIO);
  *contents = buffer.str();
  return Status();
}

}  // namespace ckpt
}  // namespace tidal
