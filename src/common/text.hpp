// Small text helpers for the line- and field-based files the kernel and /etc keep.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tiffin {

// Splits on `sep`, keeping empty fields ("a::b" → "a", "", "b").
std::vector<std::string> split(std::string_view s, char sep);

}  // namespace tiffin
