// /proc/<pid>/mountinfo parsed into its fields, with the kernel's octal escapes (\040 for a space)
// undone, for the code that must know what is mounted where (the writable root, cgroups).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin {

struct MountInfo {
  std::string root;           // the mount's root within its filesystem
  std::string mount_point;
  std::string options;        // per-mount options: "rw,nosuid"
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

}  // namespace tiffin
