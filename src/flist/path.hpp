// Names and paths inside an flist. A name is one path component: non-empty, at most 255 bytes,
// no '/', no NUL, and not "." or "..". Paths from outside (tar entries, CLI arguments) are
// split into such names; ".." is refused, never resolved, so nothing can climb out of the tree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin {

bool valid_name(std::string_view name);

// "./a//b/" → {"a","b"}; a leading '/' is dropped (as tar does); "" and "/" → {} (the root).
// Errc::invalid_input for a ".." component or an over-long name.
Result<std::vector<std::string>> split_path(std::string_view path);

}  // namespace tiffin
