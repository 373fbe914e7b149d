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
  std::string memory, entrypoint_text, shm_size;
  std::vector<std::string> labels;
  std::string health_cmd, health_interval, health_timeout, health_start_period, health_start_interval;
  int health_retries = 0;
  bool no_healthcheck = false;
  std::string image;  // the command follows it (CLI11's remaining(), kept in order)
  bool entrypoint_set = false;

  void add_to(CLI::App* cmd);
  // `command`: what followed the image on the command line.
  Result<engine::ContainerConfig> finish(const std::vector<std::string>& command);
};

// "512m", "1g", "1048576" → bytes (docker's units: b, k, m, g, binary).
Result<int64_t> parse_size(const std::string& text);
// Go's durations as docker takes them: "30s", "1m30s", "1.5h", "250ms", "0" → nanoseconds.
Result<int64_t> parse_duration(const std::string& text);

}  // namespace tiffin::cli
