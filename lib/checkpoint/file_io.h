// file_io.h — the POSIX steps of a crash-safe file write: write under a
// temporary name in the target's directory, fsync, rename into place, fsync
// the directory so the rename itself survives a power cut.
#pragma once

#include <cstdint>
#include <string>

#include "lib/core/status.h"

namespace tidal {
namespace ckpt {

// "dir/.name.tmp-<pid>-<n>": hidden, unique, in the same directory (rename
// is only atomic within one file system).
std::string temp_path_for(const std::string& final_path);
// True for names temp_path_for makes (so retention can clean them up).
bool is_temp_name(const std::string& file_name);
std::string parent_directory(const std::string& path);
std::string file_name_of(const std::string& path);

// pwrite until all `size` bytes are written (retrying short writes and
// EINTR). TIDAL_ERR_IO with strerror (ENOSPC, EFBIG, ...) naming `path`.
Status write_all_at(int fd, const void* data, uint64_t size, uint64_t offset, const std::string& path);
Status fsync_fd(int fd, const std::string& path);
Status fsync_directory(const std::string& dir);
// rename(from, to) then fsync of to's directory.
Status rename_durably(const std::string& from, const std::string& to);
// Writes `contents` to `path` crash-safely (temp, fsync, rename, dir fsync).
Status write_file_atomically(const std::string& path, const std::string& contents);
// Reads a whole (small) file.
Status read_small_file(const std::string& path, std::string* contents);

}  // namespace ckpt
}  // namespace tidal
