#include "common/fd.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

namespace tiffin {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<void> write_all(int fd, std::span<const uint8_t> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write");
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return {};
}

Result<void> pwrite_all(int fd, std::span<const uint8_t> data, off_t offset) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("pwrite");
    }
    data = data.subspan(static_cast<size_t>(n));
    offset += n;
  }
  return {};
}

namespace {
// Calls `op(dst, len, done)` until `buf` is full or it reports end of file, retrying on EINTR.
template <class Op>
Result<size_t> fill(std::span<uint8_t> buf, Op op, const char* what) {
  size_t total = 0;
  while (total < buf.size()) {
    ssize_t n = op(buf.data() + total, buf.size() - total, total);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(what);
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  return total;
}
}  // namespace

Result<size_t> read_full(int fd, std::span<uint8_t> buf) {
  return fill(
      buf, [fd](uint8_t* p, size_t n, size_t) { return ::read(fd, p, n); }, "read");
}

Result<size_t> read_full_at(int fd, std::span<uint8_t> buf, off_t offset) {
  return fill(
      buf, [fd, offset](uint8_t* p, size_t n, size_t done) { return ::pread(fd, p, n, offset + static_cast<off_t>(done)); }, "pread");
}

Result<Bytes> read_file(const std::string& path, size_t max_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return fail_errno("stat " + path);
  if (static_cast<uint64_t>(st.st_size) > max_size) return fail(Errc::invalid_input, path + ": file too large");
  Bytes out;
  uint8_t buf[65536];
  for (;;) {
    size_t n = TRY_CTX(read_full(fd.get(), buf), path);
    out.insert(out.end(), buf, buf + n);
    if (out.size() > max_size) return fail(Errc::invalid_input, path + ": file too large");
    if (n < sizeof buf) break;
  }
  return out;
}

namespace {

// The rename that publishes a finished file; with `sync`, the directory's entry made durable.
Result<void> rename_in_dir(const std::string& from, const std::string& path, bool sync) {
  if (::rename(from.c_str(), path.c_str()) < 0) return fail_errno("rename " + from + " to " + path);
  if (sync) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd) ::fsync(dfd.get());
  }
  return {};
}

}  // namespace

Result<void> write_file_atomic(const std::string& path, std::span<const uint8_t> data, int mode, bool durable) {
  static std::atomic<uint64_t> counter{0};
  // Plain string work, not std::filesystem: this is in the small static binaries (the shim).
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp = dir + "/.tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++) + "." + name;
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return fail_errno("create " + tmp);
  auto cleanup = [&] { ::unlink(tmp.c_str()); };
  if (auto r = write_all(fd.get(), data); !r) {
    cleanup();
    return std::unexpected(r.error().context(tmp));
  }
  if (durable && ::fsync(fd.get()) < 0) {
    cleanup();
    return fail_errno("fsync " + tmp);
  }
  fd.reset();
  auto moved = rename_in_dir(tmp, path, durable);
  if (!moved) cleanup();
  return moved;
}

Result<void> rename_durable(const std::string& from, const std::string& path) {
  UniqueFd fd(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + from);
  if (::fsync(fd.get()) < 0) return fail_errno("fsync " + from);
  return rename_in_dir(from, path, true);
}

Result<UniqueFd> open_in_root(const std::string& root, const std::string& rel, int flags) {
  UniqueFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return fail_errno("opening " + root);
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, dir.get(), rel.c_str(), &how, sizeof how)));
  if (!fd) return fail_errno("opening " + rel + " in " + root);
  return fd;
}

Result<std::string> read_file_in_root(const std::string& root, const std::string& rel, size_t max_size) {
  UniqueFd fd = TRY(open_in_root(root, rel, O_RDONLY));
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("reading " + rel + " in " + root);
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > max_size) return fail(Errc::invalid_input, rel + " in " + root + " is too large");
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<UniqueFd> lock_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return fail_errno("opening " + path);
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return fail_errno("locking " + path);
  return fd;
}

}  // namespace tiffin
