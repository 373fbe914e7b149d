// How a container starts from an image: tiffin stores it in the flist (table tiffin_config, as
// JSON); flists converted by 0-hub carry it as /.startup.toml instead, which is read too.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"

namespace tiffin {

// Docker's HEALTHCHECK: a test ("CMD", args… / "CMD-SHELL", line / "NONE") and its timings.
struct Healthcheck {
  std::vector<std::string> test;
  int64_t interval_ns = 0, timeout_ns = 0, start_period_ns = 0, start_interval_ns = 0;  // 0: docker's default
  int retries = 0;
  bool operator==(const Healthcheck&) const = default;
};

struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "KEY=value"
  std::string workdir;
  std::string user;
  std::vector<std::string> ports;  // "80/tcp"
  // From OCI images (absent from the JSON when empty, so older configs and their signatures
  // keep their exact text):
  std::vector<std::string> volumes;  // "/data": an anonymous volume per container
  std::map<std::string, std::string> labels;
  std::string stop_signal;  // "SIGQUIT", "3"
  Healthcheck healthcheck;
  // ONBUILD triggers (docker's OnBuild): instructions a build FROM this image runs first.
  std::vector<std::string> onbuild;
  // SHELL (docker's Shell): what shell forms of RUN, CMD and ENTRYPOINT run with in builds FROM it.
  std::vector<std::string> shell;
  std::string author;  // MAINTAINER (docker's image Author)

  bool empty() const {
    return entrypoint.empty() && cmd.empty() && env.empty() && workdir.empty() && user.empty() && ports.empty() && volumes.empty() &&
           labels.empty() && stop_signal.empty() && healthcheck.test.empty() && onbuild.empty() && shell.empty() && author.empty();
  }
  bool operator==(const ImageConfig&) const = default;
};

// docker's Healthcheck object ({"Test", "Interval", …}, durations in ns), as image configs and
// the Engine API's create bodies carry it; every field type-checked, nothing negative.
// `where` names the document in errors.
Result<Healthcheck> healthcheck_from_docker(const nlohmann::json& h, const std::string& where);

std::string image_config_to_json(const ImageConfig& c);  // canonical: fixed key order, no spaces
Result<ImageConfig> image_config_from_json(std::string_view json);
// 0-hub's .startup.toml: [startup.entry.args] name, args, dir, env.
Result<ImageConfig> image_config_from_startup_toml(std::string_view toml);

}  // namespace tiffin
