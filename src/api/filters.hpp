// docker's ?filters= query: JSON mapping each key to its values, as a list ({"label":["a=b"]})
// or, from older clients, as a set ({"label":{"a=b":true}}). Read as key=value pairs.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace tiffin::api {

// Errc::invalid_input for text that is not such a document.
Result<std::vector<std::string>> filter_pairs(const std::string& json_text);

}  // namespace tiffin::api
