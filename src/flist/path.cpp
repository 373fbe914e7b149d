#include "flist/path.hpp"

namespace tiffin {

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

Result<std::vector<std::string>> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (path.find('\0') != std::string_view::npos) return fail(Errc::invalid_input, "path contains a NUL byte");
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part == "..") return fail(Errc::invalid_input, "path '" + std::string(path) + "' contains '..'");
    if (!part.empty() && part != ".") {
      if (part.size() > 255) return fail(Errc::invalid_input, "path '" + std::string(path) + "' has a name longer than 255 bytes");
      out.emplace_back(part);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace tiffin
