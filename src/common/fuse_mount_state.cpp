// fuse_mount_state and mounted_over (declared in mountinfo.hpp): answered with statfs and stat
// alone, because
// /proc/self/mountinfo grows with every container (an overlay, a network namespace each) and
// reading it is what made a busy node's every `run` slower.
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>
#include <string>

#include "common/mountinfo.hpp"

namespace tiffin {
namespace {

constexpr long kFuseMagic = 0x65735546;  // FUSE_SUPER_MAGIC

std::string parent_of(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

MountState fuse_mount_state(const std::string& path) {
  struct statfs fs {};
  if (::statfs(path.c_str(), &fs) == 0) {
    if (fs.f_type != kFuseMagic) return MountState::none;
    // A FUSE filesystem answers for `path`: its mount point, or somewhere inside one? A mount
    // point is on another device than its parent.
    struct stat self {
    }, parent{};
    if (::stat(path.c_str(), &self) != 0 || ::stat(parent_of(path).c_str(), &parent) != 0) return MountState::none;
    return self.st_dev != parent.st_dev ? MountState::live : MountState::none;
  }
  // A FUSE filesystem whose process died answers ENOTCONN to everything (statfs always reaches
  // the process, where stat may be answered from cached attributes). It is mounted on `path`
  // itself when the parent still answers.
  if (errno != ENOTCONN) return MountState::none;
  return ::statfs(parent_of(path).c_str(), &fs) == 0 ? MountState::dead : MountState::none;
}

bool mounted_over(const std::string& path) {
  struct stat self {
  }, parent{};
  if (::stat(path.c_str(), &self) != 0) return errno != ENOENT && errno != ENOTDIR;
  if (::stat(parent_of(path).c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev;
}

}  // namespace tiffin
