#include "common/mountinfo.hpp"

#include <sys/vfs.h>

#include <algorithm>
#include <cerrno>

#include "common/fd.hpp"
#include "common/text.hpp"

namespace tiffin {
std::string mountinfo_unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto byte = s[i] == '\\' && s.size() - i > 3 ? parse_uint<uint8_t>(s.substr(i + 1, 3), 8) : std::nullopt;
    if (byte) {
      out += static_cast<char>(*byte);
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> overlay_lower_dirs(const MountInfo& m) {
  std::vector<std::string> out;
  size_t at = m.super_options.find("lowerdir=");
  if (m.fstype != "overlay" || at == std::string::npos) return out;
  at += 9;
  std::string_view lowers = std::string_view(m.super_options).substr(at, m.super_options.find(',', at) - at);
  for (const auto& dir : split(lowers, ':')) out.push_back(mountinfo_unescape(dir));
  return out;
}

std::vector<MountInfo> parse_mountinfo(std::string_view text) {
  std::vector<MountInfo> out;
  for (const auto& line : split(text, '\n')) {
    // id parent major:minor root mount-point options [optional fields…] - fstype source super-options
    auto f = split(line, ' ');
    auto dash = std::find(f.begin() + std::min<size_t>(f.size(), 6), f.end(), "-");
    if (f.size() < 10 || dash == f.end() || f.end() - dash < 4) continue;
    out.push_back({mountinfo_unescape(f[3]), mountinfo_unescape(f[4]), f[5], *(dash + 1), mountinfo_unescape(*(dash + 2)), *(dash + 3)});
  }
  return out;
}

Result<std::vector<MountInfo>> read_mountinfo(const std::string& path) {
  Bytes raw = TRY_CTX(read_file(path, size_t(16) << 20), "reading " + path);
  return parse_mountinfo(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

std::optional<MountInfo> mount_at(const std::string& path) {
  std::optional<MountInfo> top;
  for (auto& m : read_mountinfo().value_or(std::vector<MountInfo>{}))
    if (m.mount_point == path) top = std::move(m);  // later lines are mounted over earlier ones
  return top;
}

}  // namespace tiffin
