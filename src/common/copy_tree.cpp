#include "common/copy_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <map>
#include <memory>
#include <string>

#include "common/fd.hpp"

namespace tiffin {
namespace {

constexpr int kMaxDepth = 256;

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

// Extended attributes of an open file onto another. A filesystem without them (or a name the
// target refuses, such as another filesystem's security.* ones) loses nothing else.
Result<void> copy_xattrs(int from, int to, const std::string& what) {
  ssize_t size = ::flistxattr(from, nullptr, 0);
  if (size < 0) return (errno == ENOTSUP || errno == ENODATA) ? Result<void>{} : fail_errno("listing the attributes of " + what);
  std::string names(static_cast<size_t>(size), '\0');
  size = ::flistxattr(from, names.data(), names.size());
  if (size < 0) return fail_errno("listing the attributes of " + what);
  names.resize(static_cast<size_t>(size));
  for (size_t at = 0; at < names.size();) {
    std::string name = names.c_str() + at;
    at += name.size() + 1;
    ssize_t len = ::fgetxattr(from, name.c_str(), nullptr, 0);
    if (len < 0) continue;
    std::string value(static_cast<size_t>(len), '\0');
    len = ::fgetxattr(from, name.c_str(), value.data(), value.size());
    if (len < 0) continue;
    if (::fsetxattr(to, name.c_str(), value.data(), static_cast<size_t>(len), 0) != 0 && errno != ENOTSUP && errno != EPERM)
      return fail_errno("setting " + name + " on " + what);
  }
  return {};
}

Result<void> copy_contents(int from, int to, const std::string& what) {
  for (;;) {
    ssize_t n = ::copy_file_range(from, nullptr, to, nullptr, 1 << 30, 0);
    if (n == 0) return {};
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return fail_errno("copying " + what);
    break;  // this pair of filesystems cannot: read and write
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("reading " + what);
    if (n == 0) return {};
    TRY_CTX(write_all(to, {reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(n)}), "writing " + what);
  }
}

// Owner first, then the mode (a chown clears setuid bits), then the attributes.
Result<void> copy_metadata(int from, int to, const struct stat& st, const std::string& what) {
  if (::fchown(to, st.st_uid, st.st_gid) != 0) return fail_errno("chown " + what);
  if (::fchmod(to, st.st_mode & 07777) != 0) return fail_errno("chmod " + what);
  return copy_xattrs(from, to, what);
}

class Copier {
 public:
  explicit Copier(int to_root) : to_root_(to_root) {}

  Result<void> directory(int from, int to, const std::string& rel, int depth) {
    if (depth > kMaxDepth) return fail(Errc::invalid_input, "copying: the tree is deeper than " + std::to_string(kMaxDepth) + " at " + rel);
    int listing = ::openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (listing < 0) return fail_errno("opening " + rel);
    std::unique_ptr<DIR, DirCloser> dir(::fdopendir(listing));
    if (!dir) {
      ::close(listing);
      return fail_errno("listing " + rel);
    }
    while (dirent* e = ::readdir(dir.get())) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      TRY(entry(from, to, name, rel.empty() ? name : rel + "/" + name, depth));
    }
    return {};
  }

 private:
  Result<void> entry(int from, int to, const std::string& name, const std::string& rel, int depth) {
    struct stat st {};
    if (::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("stat " + rel);
    // A second name of a file copied already is a link to the copy.
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, first] = links_.try_emplace({st.st_dev, st.st_ino}, rel);
      if (!first) {
        if (::linkat(to_root_, it->second.c_str(), to, name.c_str(), 0) != 0) return fail_errno("linking " + rel);
        return {};
      }
    }
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(to, name.c_str(), 0700) != 0) return fail_errno("making " + rel);
      UniqueFd sub_from(::openat(from, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd sub_to(::openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub_from || !sub_to) return fail_errno("opening " + rel);
      TRY(directory(sub_from.get(), sub_to.get(), rel, depth + 1));
      TRY(copy_metadata(sub_from.get(), sub_to.get(), st, rel));
      if (::futimens(sub_to.get(), times) != 0) return fail_errno("setting the times of " + rel);
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd in(::openat(from, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!in) return fail_errno("opening " + rel);
      UniqueFd out(::openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!out) return fail_errno("making " + rel);
      TRY(copy_contents(in.get(), out.get(), rel));
      TRY(copy_metadata(in.get(), out.get(), st, rel));
      if (::futimens(out.get(), times) != 0) return fail_errno("setting the times of " + rel);
    } else if (S_ISLNK(st.st_mode)) {
      // st_size may be 0 (some FUSE filesystems): read into PATH_MAX, links are never longer.
      std::string target(PATH_MAX, '\0');
      ssize_t n = ::readlinkat(from, name.c_str(), target.data(), target.size());
      if (n < 0) return fail_errno("reading the link " + rel);
      if (static_cast<size_t>(n) >= target.size()) return fail(Errc::invalid_input, "the link " + rel + " is too long");
      target.resize(static_cast<size_t>(n));
      if (::symlinkat(target.c_str(), to, name.c_str()) != 0) return fail_errno("making the link " + rel);
      if (::fchownat(to, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("chown " + rel);
      if (::utimensat(to, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("setting the times of " + rel);
    } else {
      // Devices, fifos and sockets: made again (no descriptor to copy attributes through).
      if (::mknodat(to, name.c_str(), st.st_mode, st.st_rdev) != 0) return fail_errno("making " + rel);
      if (::fchownat(to, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("chown " + rel);
      if (::fchmodat(to, name.c_str(), st.st_mode & 07777, 0) != 0) return fail_errno("chmod " + rel);
      if (::utimensat(to, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("setting the times of " + rel);
    }
    return {};
  }

  int to_root_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // (device, inode) → its first copy, relative to to_root_
};

}  // namespace

Result<void> copy_tree(int from, int to) {
  Copier copier(to);
  TRY(copier.directory(from, to, "", 0));
  struct stat st {};
  if (::fstat(from, &st) != 0) return fail_errno("stat");
  return copy_metadata(from, to, st, "the top directory");
}

Result<bool> directory_is_empty(const std::string& path) {
  std::unique_ptr<DIR, DirCloser> dir(::opendir(path.c_str()));
  if (!dir) return fail_errno("listing " + path);
  while (dirent* e = ::readdir(dir.get())) {
    std::string_view name = e->d_name;
    if (name != "." && name != ".." && name != "lost+found") return false;
  }
  return true;
}

}  // namespace tiffin
