#include "api/api_version.hpp"

#include "common/text.hpp"

namespace tiffin::api {
namespace {

std::optional<std::pair<unsigned, unsigned>> parse(std::string_view v) {
  size_t dot = v.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto major = parse_uint<unsigned>(v.substr(0, dot));
  auto minor = parse_uint<unsigned>(v.substr(dot + 1));
  if (!major || !minor) return std::nullopt;
  return std::pair{*major, *minor};
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
  auto x = parse(a).value_or(std::pair{0u, 0u}), y = parse(b).value_or(std::pair{0u, 0u});
  return x < y ? -1 : x > y ? 1 : 0;
}

Result<VersionedPath> split_version(std::string_view target) {
  if (!target.starts_with("/v")) return VersionedPath{std::string(kMaxApiVersion), std::string(target)};
  size_t slash = target.find('/', 1);
  std::string_view v = target.substr(2, slash == std::string_view::npos ? std::string_view::npos : slash - 2);
  if (!parse(v)) return VersionedPath{std::string(kMaxApiVersion), std::string(target)};  // not a version: a path
  if (compare_versions(v, kMaxApiVersion) > 0)
    return fail(Errc::invalid_input,
        "client version " + std::string(v) + " is too new. Maximum supported API version is " + std::string(kMaxApiVersion));
  if (compare_versions(v, kMinApiVersion) < 0)
    return fail(Errc::invalid_input, "client version " + std::string(v) + " is too old. Minimum supported API version is " +
                                         std::string(kMinApiVersion) + ", please upgrade your client to a newer version");
  return VersionedPath{std::string(v), slash == std::string_view::npos ? "/" : std::string(target.substr(slash))};
}

}  // namespace tiffin::api
