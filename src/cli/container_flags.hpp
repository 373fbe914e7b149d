// What `run` and `create` share: docker's flags, turned into an engine::ContainerConfig.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/container_config.hpp"

namespace tiffin::cli {

struct ContainerFlags {
  engine::ContainerConfig c;
  std::vector<std::string> env_files, log_redis;
  std::string memory, entrypoint_text;
  std::string image;  // the command follows it (CLI11's remaining(), kept in order)
  bool entrypoint_set = false;

  void add_to(CLI::App* cmd);
  // `command`: what followed the image on the command line.
  Result<engine::ContainerConfig> finish(const std::vector<std::string>& command);
};

// "512m", "1g", "1048576" → bytes (docker's units: b, k, m, g, binary).
Result<int64_t> parse_size(const std::string& text);

}  // namespace tiffin::cli
