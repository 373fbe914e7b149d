#include "api/filters.hpp"

#include <nlohmann/json.hpp>

namespace tiffin::api {

Result<std::vector<std::string>> filter_pairs(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  auto bad = [&] { return fail(Errc::invalid_input, "invalid filter: " + text); };
  if (j.is_discarded() || !j.is_object()) return bad();
  for (const auto& [key, values] : j.items()) {
    if (values.is_array()) {
      for (const auto& v : values) {
        if (!v.is_string()) return bad();
        out.push_back(key + "=" + v.get<std::string>());
      }
    } else if (values.is_object()) {
      for (const auto& [v, on] : values.items()) {
        if (!on.is_boolean()) return bad();
        if (on.get<bool>()) out.push_back(key + "=" + v);
      }
    } else {
      return bad();
    }
  }
  return out;
}

}  // namespace tiffin::api
