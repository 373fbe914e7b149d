// The Engine API's versions: which this server speaks, and how a request's path names one
// ("/v1.43/containers/json", or no prefix: the newest).
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace tiffin::api {

inline constexpr std::string_view kMinApiVersion = "1.24";
inline constexpr std::string_view kMaxApiVersion = "1.47";

struct VersionedPath {
  std::string version;  // "1.43"; kMaxApiVersion when the path has no prefix
  std::string path;     // the rest, from its '/'
};

// Errc::invalid_input (docker answers 400) for a version outside [min, max] or not "N.M".
Result<VersionedPath> split_version(std::string_view target_path);

// -1, 0, 1 as "1.41" compares with "1.9" numerically.
int compare_versions(std::string_view a, std::string_view b);

}  // namespace tiffin::api
