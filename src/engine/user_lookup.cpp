#include "engine/user_lookup.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "common/text.hpp"

namespace tiffin::engine {
namespace {

// The name:x:id:… line of /etc/passwd or /etc/group whose name (or id) is `key`.
std::optional<std::vector<std::string>> find_entry(std::string_view text, std::string_view key, size_t id_field) {
  for (const auto& line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto f = split(line, ':');
    if (f.size() > id_field && (f[0] == key || f[id_field] == key)) return f;
  }
  return std::nullopt;
}

}  // namespace

Result<ResolvedUser> resolve_user(std::string_view spec, std::string_view passwd, std::string_view group) {
  ResolvedUser u;
  if (spec.empty()) return u;
  size_t colon = spec.find(':');
  std::string_view user = spec.substr(0, colon);
  std::string_view grp = colon == std::string_view::npos ? std::string_view() : spec.substr(colon + 1);
  if (user.empty()) return fail(Errc::invalid_input, "invalid user '" + std::string(spec) + "'");
  auto pw = find_entry(passwd, user, 2);
  std::string name;
  if (auto numeric = parse_uint<uint32_t>(user)) {
    u.uid = *numeric;
    if (pw && pw->size() > 3) u.gid = parse_uint<uint32_t>((*pw)[3]).value_or(0), name = (*pw)[0];
  } else {
    auto uid = pw && pw->size() > 3 ? parse_uint<uint32_t>((*pw)[2]) : std::nullopt;
    auto gid = pw && pw->size() > 3 ? parse_uint<uint32_t>((*pw)[3]) : std::nullopt;
    if (!uid || !gid) return fail(Errc::invalid_input, "unable to find user " + std::string(user) + ": no matching entries in passwd file");
    u.uid = *uid;
    u.gid = *gid;
    name = (*pw)[0];
  }
  if (!grp.empty()) {
    if (auto gid = parse_uint<uint32_t>(grp)) {
      u.gid = *gid;
    } else {
      auto gr = find_entry(group, grp, 2);
      auto gid2 = gr ? parse_uint<uint32_t>((*gr)[2]) : std::nullopt;
      if (!gid2) return fail(Errc::invalid_input, "unable to find group " + std::string(grp) + ": no matching entries in group file");
      u.gid = *gid2;
    }
  }
  if (!name.empty()) {
    for (const auto& line : split(group, '\n')) {
      auto f = split(line, ':');
      if (f.size() < 4) continue;
      auto members = split(f[3], ',');
      auto gid = parse_uint<uint32_t>(f[2]);
      if (gid && *gid != u.gid && std::find(members.begin(), members.end(), name) != members.end() &&
          std::find(u.additional_gids.begin(), u.additional_gids.end(), *gid) == u.additional_gids.end())
        u.additional_gids.push_back(*gid);
    }
    // A user no group lists still has its own group as a supplementary one (runc's rule, so
    // `id` shows groups=1000 under docker too).
    if (u.additional_gids.empty()) u.additional_gids.push_back(u.gid);
  }
  return u;
}

}  // namespace tiffin::engine
