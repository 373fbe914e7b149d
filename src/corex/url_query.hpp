// Request targets as coreX's API takes them: "/api/process/start?arg[]=sh&arg[]=-c" → the path
// and its parameters in order (repeatable: arg[] gives the argv). Values are percent-decoded
// ('+' is a space, as browsers encode forms).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace tiffin::corex {

struct Target {
  std::string path;
  std::vector<std::pair<std::string, std::string>> params;

  std::optional<std::string> get(std::string_view name) const;
  std::vector<std::string> all(std::string_view name) const;
};

// A malformed %XY escape is invalid_input.
Result<Target> parse_target(std::string_view target);
Result<std::string> percent_decode(std::string_view s, bool plus_is_space);
// The target without its token parameter (where the first page load is sent back to).
std::string target_without_token(const Target& t);

}  // namespace tiffin::corex
