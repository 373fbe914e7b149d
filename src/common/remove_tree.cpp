#include "common/remove_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "common/mountinfo.hpp"

namespace tiffin {
namespace {

Result<void> empty_dir(int dirfd, dev_t dev, const std::string& where, int depth) {
  if (depth > 512) return fail(Errc::unsupported, "removing " + where + ": nested too deep");
  int dupfd = ::dup(dirfd);
  if (dupfd < 0) return fail_errno("dup");
  DIR* d = ::fdopendir(dupfd);
  if (!d) {
    ::close(dupfd);
    return fail_errno("reading " + where);
  }
  struct Closer {
    DIR* d;
    ~Closer() { ::closedir(d); }
  } closer{d};
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return fail_errno("stat " + where + "/" + name);
    }
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != dev) return fail(Errc::conflict, "not removing " + where + "/" + name + ": another filesystem is there");
      UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return fail_errno("opening " + where + "/" + name);
      TRY(empty_dir(sub.get(), dev, where + "/" + name, depth + 1));
    }
    if (::unlinkat(dirfd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT)
      return fail_errno("removing " + where + "/" + name);
  }
  return {};
}

}  // namespace

Result<void> remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail_errno("stat " + path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail_errno("removing " + path);
    return {};
  }
  std::string prefix = path;
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  for (const auto& m : read_mountinfo().value_or(std::vector<MountInfo>{}))
    if (m.mount_point == prefix || m.mount_point.starts_with(prefix + "/"))
      return fail(Errc::conflict, "not removing " + path + ": " + m.mount_point + " is still mounted");
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return fail_errno("opening " + path);
  TRY(empty_dir(dir.get(), st.st_dev, path, 0));
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return fail_errno("removing " + path);
  return {};
}

}  // namespace tiffin
