#include "cli/container_view.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <ctime>

namespace tiffin::cli {

nlohmann::json container_json(const engine::ContainerInfo& c) {
  using shim::ContainerStatus;
  const auto& s = c.state;
  return {{"Id", c.id}, {"Name", c.name}, {"Image", c.image}, {"ImageId", c.image_id}, {"Created", c.created},
      {"State", {{"Status", shim::status_name(s.status)},
                    {"Running", s.status == ContainerStatus::running || s.status == ContainerStatus::paused},
                    {"Paused", s.status == ContainerStatus::paused}, {"Restarting", s.status == ContainerStatus::restarting},
                    {"Pid", s.pid}, {"ExitCode", s.exit_code}, {"Error", s.error ? s.error->message : ""}, {"StartedAt", s.started_at},
                    {"FinishedAt", s.finished_at}}},
      {"RestartCount", s.restart_count}, {"Config", engine::container_config_to_json(c.config)}};
}

std::string time_ago(int64_t t) {
  int64_t s = std::max<int64_t>(0, ::time(nullptr) - t);
  if (s < 60) return fmt::format("{} seconds ago", s);
  if (s < 3600) return fmt::format("{} minutes ago", s / 60);
  if (s < 86400) return fmt::format("{} hours ago", s / 3600);
  return fmt::format("{} days ago", s / 86400);
}

std::string status_text(const engine::ContainerInfo& c) {
  switch (c.state.status) {
    case shim::ContainerStatus::exited: return fmt::format("Exited ({})", c.state.exit_code);
    case shim::ContainerStatus::running: return "Up";
    case shim::ContainerStatus::paused: return "Up (Paused)";
    case shim::ContainerStatus::restarting: return fmt::format("Restarting ({})", c.state.exit_code);
    case shim::ContainerStatus::created: return "Created";
  }
  return "Unknown";
}

std::string command_text(const engine::ContainerInfo& c) {
  std::string out;
  for (const auto& a : c.config.entrypoint.value_or(std::vector<std::string>{})) out += (out.empty() ? "" : " ") + a;
  for (const auto& a : c.config.cmd) out += (out.empty() ? "" : " ") + a;
  if (out.size() > 20) out = out.substr(0, 19) + "…";
  return "\"" + out + "\"";
}

}  // namespace tiffin::cli
