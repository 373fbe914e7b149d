#include "flist/image_config.hpp"

#include <nlohmann/json.hpp>

namespace tiffin {

std::string image_config_to_json(const ImageConfig& c) {
  // nlohmann::json sorts object keys, which makes the text canonical for signatures.
  nlohmann::json j = {
      {"entrypoint", c.entrypoint}, {"cmd", c.cmd}, {"env", c.env}, {"workdir", c.workdir}, {"user", c.user}, {"ports", c.ports}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<ImageConfig> image_config_from_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid_input, "image config is not a JSON object");
  ImageConfig c;
  auto strings = [&](const char* key, std::vector<std::string>& out) -> Result<void> {
    if (!j.contains(key) || j[key].is_null()) return {};
    if (!j[key].is_array()) return fail(Errc::invalid_input, std::string("image config: '") + key + "' must be a list of strings");
    for (const auto& v : j[key]) {
      if (!v.is_string()) return fail(Errc::invalid_input, std::string("image config: '") + key + "' must be a list of strings");
      out.push_back(v.get<std::string>());
    }
    return {};
  };
  auto string = [&](const char* key, std::string& out) -> Result<void> {
    if (!j.contains(key) || j[key].is_null()) return {};
    if (!j[key].is_string()) return fail(Errc::invalid_input, std::string("image config: '") + key + "' must be a string");
    out = j[key].get<std::string>();
    return {};
  };
  TRY(strings("entrypoint", c.entrypoint));
  TRY(strings("cmd", c.cmd));
  TRY(strings("env", c.env));
  TRY(strings("ports", c.ports));
  TRY(string("workdir", c.workdir));
  TRY(string("user", c.user));
  for (const auto& e : c.env)
    if (e.find('=') == std::string::npos || e.front() == '=')
      return fail(Errc::invalid_input, "image config: env entry '" + e + "' is not KEY=value");
  return c;
}

}  // namespace tiffin
