// docker's --user: name|uid[:group|gid], resolved against the container's /etc/passwd and
// /etc/group (their text, read by the caller without following symlinks out of the rootfs).
// A numeric uid needs no passwd entry; its primary group is the entry's when there is one, else
// 0. The user's supplementary groups are those of /etc/group that list its name; a user that
// none lists has its primary group as its one supplementary group (as runc gives it).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin::engine {

struct ResolvedUser {
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  bool operator==(const ResolvedUser&) const = default;
};

// Errc::invalid_input naming what is missing ("unable to find user x: no matching entries in
// passwd file", as docker says) or malformed.
Result<ResolvedUser> resolve_user(std::string_view spec, std::string_view passwd, std::string_view group);

}  // namespace tiffin::engine
