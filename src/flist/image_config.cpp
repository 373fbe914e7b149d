#include "flist/image_config.hpp"

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

namespace tiffin {

std::string image_config_to_json(const ImageConfig& c) {
  // nlohmann::json sorts object keys, which makes the text canonical for signatures.
  nlohmann::json j = {{"entrypoint", c.entrypoint}, {"cmd", c.cmd}, {"env", c.env},
                      {"workdir", c.workdir},       {"user", c.user}, {"ports", c.ports}};
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
    if (e.find('=') == std::string::npos || e.front() == '=') return fail(Errc::invalid_input, "image config: env entry '" + e + "' is not KEY=value");
  return c;
}

Result<ImageConfig> image_config_from_startup_toml(std::string_view text) {
  toml::table t;
  try {
    t = toml::parse(text);  // Debian's toml++ is built to throw on parse errors
  } catch (const toml::parse_error& e) {
    return fail(Errc::invalid_input, std::string(".startup.toml: ") + std::string(e.description()));
  }
  const toml::node_view args = t["startup"]["entry"]["args"];
  if (!args.is_table()) return fail(Errc::invalid_input, ".startup.toml: no [startup.entry.args]");
  ImageConfig c;
  if (auto name = args["name"].value<std::string>()) c.entrypoint.push_back(*name);
  else return fail(Errc::invalid_input, ".startup.toml: [startup.entry.args] has no name");
  if (const toml::array* a = args["args"].as_array())
    for (const auto& v : *a)
      if (auto s = v.value<std::string>()) c.entrypoint.push_back(*s);
  if (auto dir = args["dir"].value<std::string>()) c.workdir = *dir;
  if (const toml::table* env = args["env"].as_table())
    for (const auto& [k, v] : *env)
      if (auto s = v.value<std::string>()) c.env.push_back(std::string(k.str()) + "=" + *s);
  return c;
}

}  // namespace tiffin
