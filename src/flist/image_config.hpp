// How a container starts from an image: tiffin stores it in the flist (table tiffin_config, as
// JSON); flists converted by 0-hub carry it as /.startup.toml instead, which is read too.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace tiffin {

struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "KEY=value"
  std::string workdir;
  std::string user;
  std::vector<std::string> ports;  // "80/tcp"

  bool empty() const { return entrypoint.empty() && cmd.empty() && env.empty() && workdir.empty() && user.empty() && ports.empty(); }
  bool operator==(const ImageConfig&) const = default;
};

std::string image_config_to_json(const ImageConfig& c);  // canonical: fixed key order, no spaces
Result<ImageConfig> image_config_from_json(std::string_view json);
// 0-hub's .startup.toml: [startup.entry.args] name, args, dir, env.
Result<ImageConfig> image_config_from_startup_toml(std::string_view toml);

}  // namespace tiffin
