// fuse_mount_state (declared in mountinfo.hpp): apart, because it resolves paths with
// std::filesystem, which the small static binaries that read mountinfo (the shim) must not carry.
#include <sys/statfs.h>

#include <cerrno>
#include <filesystem>

#include "common/mountinfo.hpp"

namespace tiffin {

namespace {

// `path` as mountinfo spells it: absolute, symlinks resolved, no trailing '/'. A dead mount cannot
// be resolved itself (ENOTCONN), but its parent can, and a link to it can be read.
std::string mount_point_spelling(const std::string& path, int links = 0) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(path, ec).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  if (auto whole = fs::canonical(p, ec); !ec) return whole;
  auto parent = fs::canonical(p.parent_path(), ec);
  if (ec) return p;
  if (auto target = fs::read_symlink(parent / p.filename(), ec); !ec && links < 40)
    return mount_point_spelling(parent / target, links + 1);
  return parent / p.filename();
}

}  // namespace

MountState fuse_mount_state(const std::string& path) {
  auto m = mount_at(mount_point_spelling(path));
  if (!m || !m->fstype.starts_with("fuse")) return MountState::none;
  struct statfs st;
  return ::statfs(path.c_str(), &st) != 0 && errno == ENOTCONN ? MountState::dead : MountState::live;
}

}  // namespace tiffin
