// Owning file descriptor and small helpers for whole-file I/O that retry on EINTR
// and short transfers.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "common/hex.hpp"  // Bytes

namespace tiffin {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

Result<void> write_all(int fd, std::span<const uint8_t> data);
Result<void> pwrite_all(int fd, std::span<const uint8_t> data, off_t offset);
// Reads up to buf.size() bytes, stopping early only at end of file. Returns bytes read.
Result<size_t> read_full(int fd, std::span<uint8_t> buf);
// The same at an offset (pread), leaving the file position alone.
Result<size_t> read_full_at(int fd, std::span<uint8_t> buf, off_t offset);
Result<Bytes> read_file(const std::string& path, size_t max_size = size_t(1) << 30);

// Writes `data` to `path` atomically: a temp file in the same directory, then rename. Readers see
// the old file or the new one, never a partial one. With `durable` the file and the directory are
// fsync'd too; without it (block stores and caches, which verify what they read and sync in bulk)
// a crash may lose the file but never leaves a partial one under its name.
Result<void> write_file_atomic(const std::string& path, std::span<const uint8_t> data, int mode = 0644, bool durable = true);
// Moves the finished file `from` to `path` (same file system) durably: `from`'s data is fsync'd
// before the rename and the directory after it. What write_file_atomic(durable) ends with.
Result<void> rename_durable(const std::string& from, const std::string& path);
// An exclusive flock on `path` (created 0600 if missing), waited for; held while the fd is open.
// For short critical sections across CLIs (mounting an image, rewriting the firewall).
Result<UniqueFd> lock_file(const std::string& path);
inline Result<void> write_file_atomic(const std::string& path, std::string_view text, int mode = 0644, bool durable = true) {
  return write_file_atomic(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, mode, durable);
}

// Opens `rel` in the tree `root` as if `root` were "/" (openat2 RESOLVE_IN_ROOT): ".." and
// symlinks in a container's root cannot lead out of it. `root` may be a /proc/<pid>/root.
Result<UniqueFd> open_in_root(const std::string& root, const std::string& rel, int flags);
// Reads `rel` in `root` that way.
Result<std::string> read_file_in_root(const std::string& root, const std::string& rel, size_t max_size = 4 << 20);

}  // namespace tiffin
