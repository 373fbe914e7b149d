// 0-hub's /.startup.toml (declared in image_config.hpp): apart, so that what only needs the
// JSON form (the engine) does not link toml++.
#include <toml++/toml.h>

#include "flist/image_config.hpp"

namespace tiffin {

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
