// /proc/<pid>/mountinfo parsed into its fields, with the kernel's octal escapes (\040 for a space)
// undone, for the code that must know what is mounted where (the writable root, cgroups, FUSE
// mounts whose process died).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin {

struct MountInfo {
  std::string root;  // the mount's root within its filesystem
  std::string mount_point;
  std::string options;  // per-mount options: "rw,nosuid"
  std::string fstype, source;
  std::string super_options;  // per-filesystem options: "rw,lowerdir=…"
};

// Lines that do not have the documented shape are skipped.
std::vector<MountInfo> parse_mountinfo(std::string_view text);
Result<std::vector<MountInfo>> read_mountinfo(const std::string& path = "/proc/self/mountinfo");

// The topmost mount on `path` (as mountinfo spells it: absolute, no trailing '/'), if any.
std::optional<MountInfo> mount_at(const std::string& path);

// Undoes the kernel's octal escapes (\040 → ' ') in a mountinfo field or an option value;
// a backslash not followed by three octal digits of a byte stays as it is.
std::string mountinfo_unescape(std::string_view s);
// An overlay's lower directories, top first, from its super options ("lowerdir=a:b,…"), unescaped;
// empty for a mount that is not an overlay.
std::vector<std::string> overlay_lower_dirs(const MountInfo& m);

enum class MountState {
  none,  // no FUSE filesystem is mounted on the path itself
  live,  // one is, and its process serves it
  dead,  // one is, but its process is gone: everything under it fails with ENOTCONN
};

// Is a FUSE filesystem mounted on `path` (the topmost mount there; symlinks are followed), and
// is its process alive? Liveness is asked with statfs, which always reaches the process, where
// stat may be answered from attributes the kernel cached. A dead mount must be detached
// (umount2 MNT_DETACH) before the path is mounted again. No mountinfo is read.
MountState fuse_mount_state(const std::string& path);

// Whether another filesystem is mounted on `path`: its device differs from its parent's (or it
// cannot be asked, as under a dead FUSE mount). Cheap, without mountinfo; blind to a bind mount
// of the parent's own filesystem, so for overlays, FUSE and loop mounts, not for binds.
bool mounted_over(const std::string& path);

}  // namespace tiffin
